//! Checkpoints through the library: `sim.save(path)`, `Sim::load(path, plugins)`, the
//! state contract of plugins ([`Checkpoint`]) and the free resume check
//! ([`spikeworld::testing::check_resume`]) catching a plugin that forgets its state.

mod common;
use common::*;
use spikeworld::prelude::*;
use spikeworld::testing::check_resume;

fn final_bytes(sim: &Sim) -> Vec<u8> {
    let mut v = Vec::new();
    sim.write_checkpoint(&mut v).unwrap();
    v
}

#[test]
fn save_then_load_gives_back_the_same_state() {
    let tmp = tempfile::tempdir().unwrap();
    let b = builder();
    let mut sim = b.build(load_file("lif_poisson.toml", &[], None), &RunOptions::default()).unwrap();
    sim.run_steps(2345);
    let path = tmp.path().join("a.swck");
    let saved = sim.save(&path).unwrap();
    assert_eq!(saved.bytes, std::fs::metadata(&path).unwrap().len());
    let loaded = Sim::load(&path, &b).unwrap();
    assert_eq!(loaded.step_count(), 2345);
    assert_eq!(loaded.state("neurons", "v"), sim.state("neurons", "v"));
    assert_eq!(loaded.spike_counts(), sim.spike_counts());
    assert_eq!(final_bytes(&loaded), final_bytes(&sim), "saving what was loaded gives the same bytes");
    // And both continue identically.
    let (mut a, mut c) = (sim, loaded);
    a.run_to_end(u64::MAX, |_| {});
    c.run_to_end(u64::MAX, |_| {});
    assert_eq!(spikes(&a), spikes(&c));
    assert_eq!(final_bytes(&a), final_bytes(&c));
}

/// A checkpoint keeps the digests of the files its scenario read: resuming after one of
/// them changed is refused, naming it (the run would not be the one that never stopped);
/// with the file restored it resumes.
#[test]
fn a_resume_that_would_read_a_changed_input_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let probs = dir.join("p.npy");
    spikeworld::output::write_npy_f64(&probs, &[4], &[0.1, 0.2, 0.3, 0.4]).unwrap();
    let text = "[simulation]\ndt = \"1 ms\"\nt_stop = \"50 ms\"\n\n[[population]]\nname = \"P\"\nsize = 4\nmodel = \"lif\"\n\n\
        [[encoder]]\nname = \"in\"\nkind = \"poisson\"\nsize = 4\nfile = \"p.npy\"\n\n\
        [[projection]]\nfrom = \"in\"\nto = \"P\"\nrule = \"one_to_one\"\nreceptor = \"v\"\nweight = \"20 mV\"\n";
    let path = dir.join("s.toml");
    std::fs::write(&path, text).unwrap();
    let b = builder();
    let mut sim = b.build(Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap(), &RunOptions::default()).unwrap();
    assert_eq!(sim.scenario.inputs.len(), 1, "{:?}", sim.scenario.inputs);
    assert_eq!(sim.scenario.inputs[0].0, "p.npy");
    sim.run_steps(20);
    let ck = dir.join("a.swck");
    sim.save(&ck).unwrap();
    spikeworld::output::write_npy_f64(&probs, &[4], &[0.1, 0.2, 0.3, 0.5]).unwrap();
    let err = Sim::load(&ck, &b).err().expect("a changed input file is refused").to_string();
    assert!(err.contains("`p.npy` has changed since the checkpoint") && err.contains("a.swck"), "{err}");
    spikeworld::output::write_npy_f64(&probs, &[4], &[0.1, 0.2, 0.3, 0.4]).unwrap();
    assert_eq!(Sim::load(&ck, &b).unwrap().step_count(), 20);
}

#[test]
fn the_file_is_close_to_the_raw_state_size() {
    // COBA: 4000 neurons x 4 variables, the delay ring, the weights (its two constant
    // weights are held, and saved, once per projection), each neuron's last spike step
    // (the spike history), and the spikes recorded so far (16 bytes each).
    let tmp = tempfile::tempdir().unwrap();
    let b = builder();
    let mut sim = b.build(load_file("coba.toml", &[], None), &RunOptions::default()).unwrap();
    sim.run_steps(1000);
    let saved = sim.save(&tmp.path().join("c.swck")).unwrap();
    let weights: usize = sim.projections.iter().map(|&e| sim.world.get::<spikeworld::net::synapse::SynapseTable>(e).unwrap().weight.len()).sum();
    assert_eq!(weights, 2, "one weight per projection");
    let spikes = spikes(&sim).0.len();
    let ring = sim.world.get::<spikeworld::net::InputRing>(sim.populations[0]).unwrap().values();
    let vars = sim.scenario.populations[0].model.vars().len();
    let raw = 8 * (4000 * vars + ring + weights + 4000) + 16 * spikes;
    let ratio = saved.bytes as f64 / raw as f64;
    assert!((1.0..1.01).contains(&ratio), "checkpoint {} bytes vs raw state {raw} bytes: ratio {ratio}", saved.bytes);
}

#[test]
fn every_shipped_scenario_passes_the_free_resume_check() {
    let tmp = tempfile::tempdir().unwrap();
    let b = builder();
    for name in ["lif_poisson.toml", "delayed_recurrent.toml", "cuba.toml"] {
        let sc = scenario_path(name);
        let steps = load_file(name, &[], None).steps;
        for split in [1, steps / 3 + 1, steps - 1] {
            check_resume(&b, &sc, split, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Every stateful component the shipped plugins register (neuron models, encoders, monitor
/// kinds) is used by some scenario in `scenarios/`, so the automatic resume test (which runs
/// them all) covers it. A plugin added without a scenario fails here.
#[test]
fn every_registered_component_is_covered_by_a_resume_scenario() {
    let b = builder();
    let r = b.registry();
    let mut text = String::new();
    for e in std::fs::read_dir(scenario_path("")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            text += &std::fs::read_to_string(p).unwrap();
        }
    }
    let uses = |key: &str, name: &str| text.contains(&format!("{key} = \"{name}\""));
    for name in r.neuron_models.keys() {
        assert!(uses("model", name), "neuron model `{name}` is in no scenario of scenarios/");
    }
    for name in r.encoders.keys() {
        assert!(uses("kind", name), "encoder `{name}` is in no scenario of scenarios/");
    }
    for name in r.monitors.keys() {
        assert!(uses("kind", name), "monitor `{name}` is in no scenario of scenarios/");
    }
    for name in r.rules.keys() {
        assert!(uses("rule", name), "connection rule `{name}` is in no scenario of scenarios/");
    }
    for ((table, name), _) in &r.addons {
        let sel = &r.addon_tables[table].selector;
        let inline = text.contains(&format!("{table} = {{ {sel} = \"{name}\"")) || text.contains(&format!("{table} = \"{name}\""));
        assert!(inline || uses(sel, name), "`{table}` add-on `{name}` is in no scenario of scenarios/");
    }
}

// ---- plugins that get their state wrong -------------------------------------------------

/// A source that spikes output `k mod size` every `period` steps, counting its own spikes:
/// state the step number alone does not give.
#[derive(Clone, Copy, PartialEq)]
enum Bug {
    None,
    SaveForgets,
    LoadForgets,
    LoadReadsTooLittle,
}

struct Counter {
    size: u32,
    emitted: u64,
    bug: Bug,
}

impl Encoder for Counter {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Spikes(out) = out else { return };
        // Spikes on a schedule that depends on how many came before.
        if step.is_multiple_of(3 + self.emitted % 5) {
            out.push((self.emitted % self.size as u64) as u32);
            self.emitted += 1;
        }
    }
}

impl Checkpoint for Counter {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        match self.bug {
            Bug::SaveForgets => Ok(()),
            Bug::LoadReadsTooLittle => {
                out.u64(self.emitted)?;
                out.u64(7)
            }
            _ => out.u64(self.emitted),
        }
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        match self.bug {
            Bug::SaveForgets => Ok(()),
            Bug::LoadForgets => inp.u64("emitted").map(|_| ()),
            _ => {
                self.emitted = inp.u64("emitted")?;
                Ok(())
            }
        }
    }
}

struct CounterFactory(Bug);

impl EncoderFactory for CounterFactory {
    fn name(&self) -> &'static str {
        "counter"
    }
    fn doc(&self) -> &'static str {
        "test source with a spike counter"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn parse(&self, _: &mut Table<'_>, ctx: &EncoderCtx) -> Result<std::sync::Arc<dyn EncoderConfig>, ScenarioError> {
        Ok(std::sync::Arc::new(CounterConfig(ctx.size as u32, self.0)))
    }
}

struct CounterConfig(u32, Bug);

impl EncoderConfig for CounterConfig {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(Counter { size: self.0, emitted: 0, bug: self.1 })
    }
}

const COUNTER_SCENARIO: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "50 ms"
[[population]]
name = "p"
size = 10
model = "lif"
[[encoder]]
name = "c"
kind = "counter"
size = 10
[[projection]]
name = "drive"
from = "c"
to = "p"
rule = "one_to_one"
receptor = "v"
weight = "20 mV"
delay = "3 ms"
[[monitor]]
name = "spikes"
kind = "spikes"
target = "p"
"#;

fn with_counter(bug: Bug) -> SimBuilder {
    let mut b = builder();
    b.add_plugin(move |b: &mut SimBuilder| {
        b.add_encoder(CounterFactory(bug));
    });
    b
}

#[test]
fn a_plugin_that_forgets_its_state_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("counter.toml");
    std::fs::write(&sc, COUNTER_SCENARIO).unwrap();
    let split = 123;
    // Correct plugin: passes.
    check_resume(&with_counter(Bug::None), &sc, split, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    // Saves nothing: loads fine, but the resumed run differs, and the check says so.
    let e = check_resume(&with_counter(Bug::SaveForgets), &sc, split, tmp.path(), &RunOptions::default()).unwrap_err();
    assert!(e.contains("final state differs"), "{e}");
    // Reads its state but does not restore it: the load itself fails (round trip).
    let e = check_resume(&with_counter(Bug::LoadForgets), &sc, split, tmp.path(), &RunOptions::default()).unwrap_err();
    assert!(e.contains("does not round-trip"), "{e}");
    // Reads less than it wrote: the load fails.
    let e = check_resume(&with_counter(Bug::LoadReadsTooLittle), &sc, split, tmp.path(), &RunOptions::default()).unwrap_err();
    assert!(e.contains("unread"), "{e}");
}

#[test]
fn load_needs_the_plugins_the_scenario_uses() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("counter.toml");
    std::fs::write(&sc, COUNTER_SCENARIO).unwrap();
    let b = with_counter(Bug::None);
    let mut sim = b.build(Scenario::load(&sc, b.registry(), &LoadOptions::default()).unwrap(), &RunOptions::default()).unwrap();
    sim.run_steps(10);
    let ck = tmp.path().join("c.swck");
    sim.save(&ck).unwrap();
    let err = Sim::load(&ck, &builder()).err().expect("the counter plugin is missing");
    assert!(err.to_string().contains("counter"), "{err}");
    assert!(err.is_user_error());
}
