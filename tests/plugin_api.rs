//! The plugin API from a plugin author's side: systems, world hooks, checkpointed
//! components and resources, projection sub-tables; and an author's mistakes reported as
//! errors, never as panics or silent misbehaviour.

mod common;
use common::*;

use std::path::Path;
use std::sync::Arc;

use bevy_ecs::prelude::{Component, Query, Res, ResMut, Resource, World};
use spikeworld::prelude::*;

/// A model with 17 state variables: one more than the fused loop holds.
struct TooBig;

const SEVENTEEN: [VarSpec; 17] = {
    const V: VarSpec = VarSpec { name: "x", dim: Dim::Dimensionless, doc: "" };
    [V; 17]
};

impl NeuronDynamics for TooBig {
    const NAME: &'static str = "too_big";
    const DOC: &'static str = "";
    const PARAMS: &'static [ParamSpec] = &[];
    const VARS: &'static [VarSpec] = &SEVENTEEN;
    const RECEPTORS: &'static [ReceptorSpec] = &[];
    type Coeffs = ();
    fn coeffs(_: &Params, _: f64) -> Result<(), String> {
        Ok(())
    }
    fn initial(_: &Params) -> Vec<f64> {
        vec![0.0; 17]
    }
    fn step<L: Lanes>(_: &(), s: &mut [L], _: &[L]) -> L::Mask {
        s[0].gt(1.0)
    }
}

#[test]
fn a_model_with_too_many_variables_is_refused_at_registration() {
    let mut b = builder();
    b.add_neuron_model::<TooBig>();
    let e = b.check().expect_err("17 variables must be refused").to_string();
    assert!(e.contains("`too_big`") && e.contains("17 state variables") && e.contains("at most 16"), "{e}");
}

/// An encoder that emits its outputs in descending order (a plugin bug).
struct Backwards;
impl Encoder for Backwards {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        if let EncoderOut::Spikes(v) = out
            && step >= 5
        {
            v.extend([3, 1]);
        }
    }
}
impl Checkpoint for Backwards {
    fn save_state(&self, _: &mut StateWriter<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn load_state(&mut self, _: &mut StateReader<'_>) -> Result<(), StateError> {
        Ok(())
    }
}
struct BackwardsFactory;
impl EncoderFactory for BackwardsFactory {
    fn name(&self) -> &'static str {
        "backwards"
    }
    fn doc(&self) -> &'static str {
        ""
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn parse(&self, _: &mut Table<'_>, _: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        Ok(Arc::new(BackwardsFactory))
    }
}
impl EncoderConfig for BackwardsFactory {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(Backwards)
    }
}

const SMALL: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "10 ms"
[[population]]
name = "P"
size = 10
model = "lif"
[[encoder]]
name = "bad"
kind = "backwards"
size = 4
[[projection]]
name = "in"
from = "bad"
to = "P"
rule = "all_to_all"
receptor = "v"
weight = "1 mV"
"#;

#[test]
fn an_encoder_emitting_unsorted_indices_stops_the_run_with_an_error() {
    let mut b = builder();
    b.add_encoder(BackwardsFactory);
    let mut sim = sim_from_text(&b, SMALL, EngineKind::Cpu);
    sim.run_to_end(10, |_| {});
    assert_eq!(sim.step_count(), 6, "stepping stops after the step with the fault");
    let e = sim.check().expect_err("must be reported").to_string();
    assert!(e.contains("encoder `bad`") && e.contains("unsorted") && e.contains("step 5"), "{e}");
    // Nothing was delivered from the bad step.
    assert!(sim.state("P", "v").unwrap().iter().all(|&v| v == -70.0));
}

#[derive(Resource, Clone, Default)]
struct Tally(u64);
impl Checkpoint for Tally {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.0)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.0 = inp.u64("tally")?;
        Ok(())
    }
}

#[test]
fn duplicate_or_reserved_section_names_are_refused() {
    let mut b = builder();
    b.insert_resource(Tally(0)).add_resource_state::<Tally>("x.tally").add_resource_state::<Tally>("x.tally");
    let e = b.check().expect_err("a duplicate section").to_string();
    assert!(e.contains("checkpoint section `x.tally` is registered twice"), "{e}");
    let mut b = builder();
    b.add_resource_state::<Tally>("clock");
    assert!(b.check().is_err(), "`clock` is the core's");
}

/// A per-projection component whose `load_state` forgets to read what it saved.
#[derive(Component, Default)]
struct Forgetful(u64);
impl Checkpoint for Forgetful {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.0)
    }
    fn load_state(&mut self, _: &mut StateReader<'_>) -> Result<(), StateError> {
        Ok(())
    }
}

/// A per-projection component whose `load_state` reads but does not restore.
#[derive(Component, Default)]
struct Lossy(u64);
impl Checkpoint for Lossy {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.0)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        inp.u64("n")?;
        Ok(())
    }
}

fn count_spikes_into<C: Component<Mutability = bevy_ecs::component::Mutable>>(f: fn(&mut C) -> &mut u64) -> impl Fn(Query<(&SynapseTable, &mut C)>, Query<&Spikes>) + Clone {
    move |mut q: Query<(&SynapseTable, &mut C)>, s: Query<&Spikes>| {
        for (t, mut c) in &mut q {
            *f(&mut c) += s.get(t.source).map_or(0, |s| s.indices.len() as u64);
        }
    }
}

#[test]
fn every_section_is_checked_to_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let file = common::scenario_path("lif_poisson.toml");
    let attach = |w: &mut World| {
        let es: Vec<_> = w.query::<(bevy_ecs::entity::Entity, &SynapseTable)>().iter(w).map(|(e, _)| e).collect();
        for e in es {
            w.entity_mut(e).insert((Forgetful::default(), Lossy::default()));
        }
        Ok(())
    };
    // Forgetful: reads nothing of its bytes.
    let mut b = builder();
    b.add_world_hook(attach).add_component_state::<Forgetful>("t.forgetful").add_systems(SimSystems::Record, count_spikes_into::<Forgetful>(|c| &mut c.0));
    let e = spikeworld::testing::check_resume(&b, &file, 2000, tmp.path(), &RunOptions::default()).expect_err("must fail");
    assert!(e.contains("t.forgetful") && e.contains("left") && e.contains("unread"), "{e}");
    // Lossy: reads its bytes but keeps 0: saving again gives other bytes.
    let mut b = builder();
    b.add_world_hook(attach).add_component_state::<Lossy>("t.lossy").add_systems(SimSystems::Record, count_spikes_into::<Lossy>(|c| &mut c.0));
    let e = spikeworld::testing::check_resume(&b, &file, 2000, tmp.path(), &RunOptions::default()).expect_err("must fail");
    assert!(e.contains("t.lossy") && e.contains("does not round-trip"), "{e}");
}

/// A plugin with its own sub-table `[projection.gain]`: scales weights once, at build.
struct GainAddon;
struct Gain(f64);
#[derive(Component)]
struct GainOf(f64);
impl ProjectionAddon for GainAddon {
    fn table(&self) -> &'static str {
        "gain"
    }
    fn name(&self) -> &'static str {
        "scale"
    }
    fn doc(&self) -> &'static str {
        "multiplies every weight by `factor` at the start"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[ParamSpec::required("factor", Dim::Dimensionless, "the factor")];
        K
    }
    fn parse(&self, t: &mut Table<'_>, _: &AddonCtx) -> Result<Arc<dyn AddonConfig>, ScenarioError> {
        let (f, n) = t.quantity("factor", Dim::Dimensionless)?;
        if f < 0.0 {
            return Err(t.err(n, "factor", "must be >= 0"));
        }
        Ok(Arc::new(Gain(f)))
    }
}
impl AddonConfig for Gain {
    fn attach(&self, e: &mut bevy_ecs::world::EntityWorldMut<'_>) {
        e.insert(GainOf(self.0));
        let f = self.0;
        for w in e.get_mut::<SynapseTable>().expect("the table is there").weight.iter_mut() {
            *w *= f;
        }
    }
}

#[derive(Resource, Default, Clone)]
struct Steps(u64);

fn tick(mut s: ResMut<Steps>, _clock: Res<Clock>) {
    s.0 += 1;
}

fn reset_clock(mut c: ResMut<Clock>) {
    c.step = 0;
}

#[test]
fn a_system_racing_the_core_is_a_build_error_naming_both() {
    // Writing the clock in `Advance`, beside the core's `advance_clock`: ambiguous order.
    let mut b = builder();
    b.add_systems(SimSystems::Advance, reset_clock);
    let sc = load_file("lif_poisson.toml", &[], None);
    let e = b.build(sc, &RunOptions::default()).err().expect("ambiguity must be an error").to_string();
    assert!(e.contains("reset_clock") && e.contains("advance_clock"), "{e}");
}

#[derive(Resource)]
struct Marked;

#[test]
fn systems_added_when_a_world_needs_them_run_there_only() {
    // The condition is asked of the built world, after every world hook: here a hook's
    // resource decides. Without it the system is not in the schedule at all.
    let run = |mark: bool| {
        let mut b = builder();
        b.insert_resource(Steps(0)).add_world_hook(move |w: &mut World| {
            if mark {
                w.insert_resource(Marked);
            }
            Ok(())
        });
        b.add_systems_when(SimSystems::Record, tick, |w| w.contains_resource::<Marked>());
        let mut sim = b.build(load_file("lif_poisson.toml", &[], None), &RunOptions::default()).unwrap();
        sim.run_steps(7);
        sim.world.resource::<Steps>().0
    };
    assert_eq!(run(true), 7, "the system ran every step where its condition held");
    assert_eq!(run(false), 0, "and never where it did not");
}

#[test]
fn a_plugin_declares_its_own_sub_table_and_it_is_strict() {
    let mut b = builder();
    b.add_addon_table(AddonTable { table: "gain", selector: "kind", doc: "weight scaling" })
        .add_projection_addon(GainAddon)
        .insert_resource(Steps(0))
        .add_systems(SimSystems::Record, tick);
    let base = std::fs::read_to_string(common::scenario_path("lif_poisson.toml")).unwrap();
    let with = base.replace("delay = \"1.5 ms\"", "delay = \"1.5 ms\"\ngain = { kind = \"scale\", factor = 2.0 }");
    assert_ne!(with, base);
    let load = |text: &str| Scenario::from_str(text, Path::new("g.toml"), b.registry(), &LoadOptions::default());
    let plain = b.build(load(&base).unwrap(), &RunOptions::default()).unwrap();
    let mut scaled = b.build(load(&with).unwrap(), &RunOptions::default()).unwrap();
    let (t0, t1) = (plain.world.get::<SynapseTable>(plain.projections[0]).unwrap(), scaled.world.get::<SynapseTable>(scaled.projections[0]).unwrap());
    assert!(t0.len() == t1.len() && t0.len() > 0);
    assert!((0..t0.len()).all(|k| t1.weight_of(k) == 2.0 * t0.weight_of(k)));
    assert_eq!(scaled.world.get::<GainOf>(scaled.projections[0]).unwrap().0, 2.0);
    scaled.run_steps(7);
    assert_eq!(scaled.world.resource::<Steps>().0, 7, "the plugin's system ran every step");
    // Strict: unknown key, unknown add-on, missing selector, a wrong type.
    for (bad, key, says) in [
        ("gain = { kind = \"scale\", factor = 2.0, boost = 1 }", "projection[0].gain.boost", "valid keys here: kind, factor"),
        ("gain = { kind = \"shift\", factor = 2.0 }", "projection[0].gain.kind", "valid: scale"),
        ("gain = { factor = 2.0 }", "projection[0].gain.kind", "missing required key"),
        ("gain = 3", "projection[0].gain", "expected a table"),
        ("gain = { kind = \"scale\", factor = -1.0 }", "projection[0].gain.factor", "must be >= 0"),
    ] {
        let text = base.replace("delay = \"1.5 ms\"", &format!("delay = \"1.5 ms\"\n{bad}"));
        let e = load(&text).err().expect("must be refused").to_string();
        assert!(e.starts_with("g.toml:") && e.contains(key) && e.contains(says), "{bad}: {e}");
    }
    // A sub-table nobody declared is an unknown key.
    let e = Scenario::from_str(&with, Path::new("g.toml"), builder().registry(), &LoadOptions::default()).err().unwrap().to_string();
    assert!(e.contains("projection[0].gain") && e.contains("unknown key"), "{e}");
    // `synapse = "static"` is the default and accepted; an unknown model lists the valid ones.
    let e = load(&base.replace("delay = \"1.5 ms\"", "delay = \"1.5 ms\"\nsynapse = \"stdp\"")).err().unwrap().to_string();
    assert!(e.contains("projection[0].synapse") && e.contains("unknown synapse `stdp`") && e.contains("`plasticity = { rule = ... }`") && e.contains("; valid: ") && e.contains(" static,"), "{e}");
    load(&base.replace("delay = \"1.5 ms\"", "delay = \"1.5 ms\"\nsynapse = \"static\"")).unwrap();
}

/// A plugin's top-level table `[probe]`: names a population, inserts a resource.
struct ProbeTable;
#[derive(Resource, Clone, Debug, PartialEq)]
struct ProbeConfig {
    population: usize,
    every: f64,
}
impl spikeworld::api::addon::TableConfig for ProbeConfig {
    fn insert(&self, world: &mut World) {
        world.insert_resource(self.clone());
    }
}
impl spikeworld::api::addon::ScenarioTable for ProbeTable {
    fn name(&self) -> &'static str {
        "probe"
    }
    fn doc(&self) -> &'static str {
        "test table"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::required("population", Dim::Dimensionless, "a population name"),
            ParamSpec::new("every", Dim::Time, 1.0, "period"),
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &spikeworld::api::addon::TableCtx) -> Result<Arc<dyn spikeworld::api::addon::TableConfig>, ScenarioError> {
        let (name, n) = t.str("population")?;
        let population = ctx.populations.iter().position(|p| p == name).ok_or_else(|| t.err(n, "population", format!("no population `{name}`; valid: {}", ctx.populations.join(", "))))?;
        let every = t.opt_quantity("every", Dim::Time)?.map_or(1.0, |(v, _)| v);
        Ok(Arc::new(ProbeConfig { population, every }))
    }
}

#[test]
fn a_plugin_top_level_table_is_parsed_strictly_and_reaches_the_world() {
    let mut b = builder();
    b.add_scenario_table(ProbeTable);
    let base = std::fs::read_to_string(common::scenario_path("lif_poisson.toml")).unwrap();
    let load = |extra: &str| Scenario::from_str(&format!("{base}\n{extra}\n"), Path::new("p.toml"), b.registry(), &LoadOptions::default());
    let sim = b.build(load("[probe]\npopulation = \"neurons\"\nevery = \"2 ms\"").unwrap(), &RunOptions::default()).unwrap();
    assert_eq!(*sim.world.resource::<ProbeConfig>(), ProbeConfig { population: 0, every: 2.0 });
    for (extra, key, says) in [
        ("[probe]\npopulation = \"nope\"", "probe.population", "valid: neurons"),
        ("[probe]\npopulation = \"neurons\"\nevry = 1", "probe.evry", "valid keys here: population, every"),
        ("[probe]\nevery = 1", "probe.population", "missing required key"),
        ("[prob]\npopulation = \"neurons\"", "prob", "valid keys here: simulation, neuron_models, population, projection, encoder, monitor, event_population, event_source, probe"),
    ] {
        let e = load(extra).err().expect("must be refused").to_string();
        assert!(e.starts_with("p.toml:") && e.contains(key) && e.contains(says), "{extra}: {e}");
    }
    let mut b = builder();
    b.add_scenario_table(ProbeTable).add_scenario_table(ProbeTable);
    assert!(b.check().is_err(), "twice");
}

fn bad_rule(_: &spikeworld::api::connect::ConnectCtx, _: &Params) -> Result<spikeworld::api::connect::Pairs, String> {
    let mut p = spikeworld::api::connect::Pairs::default();
    p.push(0, 0);
    p.push(1, 99_999); // far outside the target population
    Ok(p)
}

#[test]
fn a_rule_returning_pairs_outside_its_populations_is_an_error() {
    let mut b = builder();
    b.add_connection_rule(spikeworld::api::connect::RuleSpec::new("broken", "", &[], bad_rule));
    let base = std::fs::read_to_string(common::scenario_path("lif_poisson.toml")).unwrap();
    let text = base.replace("rule = \"fixed_indegree\"\nindegree = 30", "rule = \"broken\"");
    assert_ne!(text, base);
    let sc = Scenario::from_str(&text, Path::new("r.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let e = b.build(sc, &RunOptions::default()).err().expect("must be refused").to_string();
    assert!(e.contains("connection rule `broken`") && e.contains("(1, 99999)") && e.contains("projection `drive`"), "{e}");
    // Kernel entries from a rule that declared no kernel (its weights would be read as a
    // kernel's).
    b.add_connection_rule(spikeworld::api::connect::RuleSpec::new("stray_kernel", "", &[], stray_kernel));
    let sc = Scenario::from_str(&base.replace("rule = \"fixed_indegree\"\nindegree = 30", "rule = \"stray_kernel\""), Path::new("r.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let e = b.build(sc, &RunOptions::default()).err().expect("must be refused").to_string();
    assert!(e.contains("connection rule `stray_kernel`") && e.contains("declared no kernel"), "{e}");
}

fn stray_kernel(_: &spikeworld::api::connect::ConnectCtx, _: &Params) -> Result<spikeworld::api::connect::Pairs, String> {
    let mut p = spikeworld::api::connect::Pairs::default();
    p.push_shared(0, 0, 0);
    Ok(p)
}

/// A resource whose saved bytes change between two calls (it counts its saves).
#[derive(Resource, Default)]
struct Fickle(std::sync::atomic::AtomicU64);
impl Checkpoint for Fickle {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for _ in 0..=n {
            out.u64(n)?;
        }
        Ok(())
    }
    fn load_state(&mut self, _: &mut StateReader<'_>) -> Result<(), StateError> {
        Ok(())
    }
}

#[test]
fn a_section_that_writes_different_bytes_each_time_fails_the_save_by_name() {
    let mut b = builder();
    b.add_world_hook(|w: &mut World| {
        w.insert_resource(Fickle::default());
        Ok(())
    })
    .add_resource_state::<Fickle>("t.fickle");
    let sim = b.build(load_file("lif_poisson.toml", &[], None), &RunOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.swck");
    let e = sim.save(&path).expect_err("must fail").to_string();
    assert!(e.contains("t.fickle") && e.contains("same bytes every time"), "{e}");
    assert!(!path.exists(), "no checkpoint is left behind");
}

#[test]
fn a_default_projection_name_that_is_taken_is_an_error() {
    let b = builder();
    let base = std::fs::read_to_string(common::scenario_path("lif_poisson.toml")).unwrap();
    // projection[0] named `projection1`, then an unnamed projection[1] (default `projection1`).
    let second = "\n[[projection]]\nfrom = \"input\"\nto = \"neurons\"\nrule = \"one_to_one\"\nreceptor = \"v\"\nweight = \"1 mV\"\n";
    let text = base.replace("name = \"drive\"", "name = \"projection1\"").replace("[[monitor]]", &format!("{second}\n[[monitor]]"));
    let text = text.replacen("[[projection]]\nfrom = \"input\"\nto = \"neurons\"\nrule = \"one_to_one\"", "[[projection]]\nfrom = \"input[:20]\"\nto = \"neurons\"\nrule = \"one_to_one\"", 1);
    let e = Scenario::from_str(&text, Path::new("n.toml"), b.registry(), &LoadOptions::default()).err().expect("must be refused").to_string();
    assert!(e.starts_with("n.toml:") && e.contains("projection[1].name") && e.contains("`projection1` is taken"), "{e}");
}

#[test]
fn an_addon_for_an_undeclared_sub_table_is_a_registry_error() {
    let mut b = builder();
    b.add_projection_addon(GainAddon); // its table `gain` was never declared
    let e = b.check().expect_err("must be refused").to_string();
    assert!(e.contains("`scale`") && e.contains("`gain`") && e.contains("add_addon_table"), "{e}");
}

/// A plugin's output arrays are written beside the monitors' files and listed in the
/// manifest; a name that another output already took is an error, not an overwrite.
#[test]
fn plugin_outputs_are_written_and_listed() {
    use spikeworld::api::output::{OutputArray, OutputData};
    let array = |name: &str| OutputArray { name: name.into(), quantity: "values".into(), unit: "1".into(), data: OutputData::I64(vec![1, 2, 3, 4, 5, 6]), shape: vec![2, 3] };
    let mut b = builder();
    b.add_output(move |w: &World| vec![array(&format!("steps{}", w.resource::<spikeworld::net::Clock>().step))]);
    let mut sim = sim_from_text(&b, &std::fs::read_to_string(scenario_path("lif_poisson.toml")).unwrap(), EngineKind::Cpu);
    sim.run_steps(10);
    let dir = tempfile::tempdir().unwrap();
    let m = sim.write_outputs(dir.path(), spikeworld::output::Timings::default()).unwrap();
    let f = m.files.iter().find(|f| f.path == "steps10.values.npy").expect("listed in the manifest");
    assert_eq!((f.shape.clone(), f.dtype.as_str()), (vec![2, 3], "<i8"));
    let payload = npy_payload(&dir.path().join("steps10.values.npy"));
    let values: Vec<i64> = payload.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(values, [1, 2, 3, 4, 5, 6]);

    // The name of a monitor's file is taken.
    let monitor = sim.scenario.monitors[0].name.clone();
    let mut b = builder();
    b.add_output(move |_: &World| vec![OutputArray { name: monitor.clone(), quantity: "t_ms".into(), unit: "ms".into(), data: OutputData::F64(vec![]), shape: vec![0] }]);
    let sim = sim_from_text(&b, &std::fs::read_to_string(scenario_path("lif_poisson.toml")).unwrap(), EngineKind::Cpu);
    let e = sim.write_outputs(dir.path(), spikeworld::output::Timings::default()).err().expect("a taken name is refused").to_string();
    assert!(e.contains("overwrite"), "{e}");
}
