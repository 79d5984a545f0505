//! The example plugin against its equations, through a scenario, and through checkpoints.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;
use spikeworld_example_stp::{StpPlugin, StpProjection, StpStats};

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(StpPlugin);
    b
}

fn scenario_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/stp.toml")
}

fn load(b: &SimBuilder, sets: &[&str]) -> Scenario {
    let opts = LoadOptions { overrides: sets.iter().map(|s| s.to_string()).collect(), seed: None, ..Default::default() };
    Scenario::load(&scenario_file(), b.registry(), &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn table<'a>(sim: &'a Sim, name: &str) -> &'a SynapseTable {
    let i = sim.scenario.projections.iter().position(|p| p.name == name).unwrap();
    sim.world.get::<SynapseTable>(sim.projections[i]).unwrap()
}

/// NEST's tsodyks2 recursion, written out again from its documentation.
fn reference(times_ms: &[f64], u0: f64, tau_rec: f64, tau_fac: f64) -> Vec<(f64, f64, f64)> {
    let (mut x, mut u, mut last) = (1.0f64, u0, 0.0f64);
    let mut out = Vec::new();
    for &t in times_ms {
        let h = t - last;
        x = 1.0 + (x - x * u - 1.0) * (-h / tau_rec).exp();
        u = u0 + u * (1.0 - u0) * if tau_fac > 0.0 { (-h / tau_fac).exp() } else { 0.0 };
        last = t;
        out.push((x, u, x * u));
    }
    out
}

#[test]
fn state_and_psps_follow_the_tsodyks2_recursion() {
    let b = builder();
    let sc = load(&b, &[]);
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    let times = [10.0, 60.0, 110.0, 160.0, 210.0, 215.0, 220.0, 225.0, 300.0];
    let expect = reference(&times, 0.5, 100.0, 0.0);
    // After each spike the 50 synapses of the train hold the recursion's state.
    let mut k = 0;
    while sim.step_count() < sim.end_step() {
        sim.step();
        let t_prev = (sim.step_count() - 1) as f64 * 0.1;
        if k < times.len() && (t_prev - times[k]).abs() < 1e-9 {
            let tb = table(&sim, "depressing");
            let (x, u, _) = expect[k];
            let (ix, iu, it) = (tb.var("x").unwrap(), tb.var("u").unwrap(), tb.var("t_last").unwrap());
            assert_eq!(tb.vars[ix].len(), 50);
            for s in 0..50 {
                assert!((tb.vars[ix][s] - x).abs() < 1e-12, "spike {k}: x = {} expected {x}", tb.vars[ix][s]);
                assert!((tb.vars[iu][s] - u).abs() < 1e-12, "spike {k}: u = {} expected {u}", tb.vars[iu][s]);
                assert!((tb.vars[it][s] - times[k]).abs() < 1e-9);
            }
            k += 1;
        }
    }
    assert_eq!(k, times.len(), "every spike of the train was seen");
    // Depression: the 4th spike of the 5 ms burst is much weaker than the first spike.
    assert!(expect[7].2 < 0.5 * expect[0].2, "the burst depresses: {expect:?}");
    // The system and the resource counted every presynaptic spike of both projections.
    let per: Vec<u64> = ["depressing", "facilitating"]
        .iter()
        .map(|n| {
            let i = sim.scenario.projections.iter().position(|p| p.name == *n).unwrap();
            sim.world.get::<StpProjection>(sim.projections[i]).unwrap().pre_spikes
        })
        .collect();
    assert_eq!(per[0], 9);
    let noise_total = sim.world.get::<Spikes>(sim.encoders[1]).unwrap().total;
    assert_eq!(per[1], noise_total);
    assert_eq!(sim.world.resource::<StpStats>().pre_spikes, 9 + noise_total);
    let static_i = sim.scenario.projections.iter().position(|p| p.name == "static").unwrap();
    assert!(sim.world.get::<StpProjection>(sim.projections[static_i]).is_none(), "the static projection has no STP component");
}

#[test]
fn a_single_synapse_delivers_w_u_x_after_its_delay() {
    // One train neuron to one LIF neuron with a huge tau_m: v rises by w*u*x per spike.
    let b = builder();
    let sc = load(&b, &["population.post.size=1", "population.post.params.tau_m=1e12ms", "population.post.params.v_th=100mV", "encoder.noise.rate=0Hz", "monitor.vm.indices=[0]"]);
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    let times = [10.0, 60.0, 110.0, 160.0, 210.0, 215.0, 220.0, 225.0, 300.0];
    let expect = reference(&times, 0.5, 100.0, 0.0);
    let mut v_prev = sim.state("post", "v").unwrap()[0];
    let mut seen = Vec::new();
    while sim.step_count() < sim.end_step() {
        sim.step();
        let v = sim.state("post", "v").unwrap()[0];
        if (v - v_prev).abs() > 1e-9 {
            seen.push(((sim.step_count() - 1) as f64 * 0.1, v - v_prev));
        }
        v_prev = v;
    }
    assert_eq!(seen.len(), times.len(), "one PSP per spike: {seen:?}");
    for (k, ((t, dv), (_, _, ux))) in seen.iter().zip(&expect).enumerate() {
        // Emitted at step s, a 1 ms (10-step) delay acts in the update of step s + 11.
        assert!((t - (times[k] + 1.1)).abs() < 1e-9, "PSP {k} at {t} ms");
        assert!((dv - 4.0 * ux).abs() < 1e-6, "PSP {k}: {dv} mV, expected {}", 4.0 * ux);
    }
}

#[test]
fn resumes_bit_exactly_through_the_free_check() {
    let b = builder();
    let tmp = tempfile::tempdir().unwrap();
    for split in [1, 1234, 2155, 3999] {
        spikeworld::testing::check_resume(&b, &scenario_file(), split, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    }
    // On two threads, and the tensor engine, too.
    let two = RunOptions { threads: 2, ..RunOptions::default() };
    spikeworld::testing::check_resume(&b, &scenario_file(), 2000, tmp.path(), &two).unwrap();
    let ten = RunOptions { engine: EngineKind::Tensor, ..RunOptions::default() };
    spikeworld::testing::check_resume(&b, &scenario_file(), 2000, tmp.path(), &ten).unwrap();
}

#[test]
fn bad_parameters_are_located_errors() {
    let b = builder();
    let text = std::fs::read_to_string(scenario_file()).unwrap();
    for (from, to, key) in [
        ("U = 0.5,", "U = 1.5,", "projection[0].synapse.U"),
        ("tau_rec = \"100 ms\"", "tau_rec = \"0 ms\"", "projection[0].synapse.tau_rec"),
        ("tau_rec = \"100 ms\"", "tau_rec = \"100 ms\", tau_d = 3", "projection[0].synapse.tau_d"),
        ("model = \"tsodyks2\", U = 0.5", "model = \"tsodyks\", U = 0.5", "projection[0].synapse.model"),
    ] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text);
        let e = Scenario::from_str(&bad, Path::new("stp.toml"), b.registry(), &LoadOptions::default()).err().expect("must be refused").to_string();
        assert!(e.starts_with("stp.toml:") && e.contains(key), "{e}");
    }
}

/// A plasticity add-on declaring its own per-synapse array, on the same projection as
/// the STP synapses: STP's `on_pre` must see its own three arrays only.
struct TraceAddon;
struct TraceConfig;
impl ProjectionAddon for TraceAddon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "trace_only"
    }
    fn doc(&self) -> &'static str {
        "declares a per-synapse trace (test)"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        &[]
    }
    fn parse(&self, _: &mut Table<'_>, _: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        Ok(std::sync::Arc::new(TraceConfig))
    }
}
impl AddonConfig for TraceConfig {
    fn synapse_vars(&self) -> Vec<SynapseVarSpec> {
        vec![SynapseVarSpec { name: "trace", initial: 7.0, doc: "" }]
    }
}

#[test]
fn stp_beside_another_add_on_with_state_sees_only_its_own_arrays() {
    let mut b = builder();
    b.add_projection_addon(TraceAddon);
    let text = std::fs::read_to_string(scenario_file()).unwrap().replacen(
        "synapse = { model = \"tsodyks2\", U = 0.5, tau_rec = \"100 ms\" }",
        "synapse = { model = \"tsodyks2\", U = 0.5, tau_rec = \"100 ms\" }\nplasticity = { rule = \"trace_only\" }",
        1,
    );
    let sc = Scenario::from_str(&text, &scenario_file(), b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_to_end(u64::MAX, |_| {});
    let tb = table(&sim, "depressing");
    assert_eq!(tb.var_specs.iter().map(|v| v.name).collect::<Vec<_>>(), ["trace", "x", "u", "t_last"], "plasticity sorts before synapse");
    let times = [10.0, 60.0, 110.0, 160.0, 210.0, 215.0, 220.0, 225.0, 300.0];
    let (x, u, _) = *reference(&times, 0.5, 100.0, 0.0).last().unwrap();
    assert!((tb.vars[tb.var("x").unwrap()][0] - x).abs() < 1e-12 && (tb.vars[tb.var("u").unwrap()][0] - u).abs() < 1e-12);
    assert!(tb.vars[tb.var("trace").unwrap()].iter().all(|&t| t == 7.0), "the other add-on's array is untouched");
}
