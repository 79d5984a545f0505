//! The synapse models inside a simulation: each `scenarios/syn_*.toml` makes its LIF
//! neurons fire, runs fast, gives the same spikes and state on the cpu and tensor engines,
//! and resumes from a checkpoint bit-identically (as the CLI's resume test does with every
//! scenario). `spikingflow_chain.toml` resumes bit-identically too.

use std::path::{Path, PathBuf};
use std::time::Instant;

use spikeworld::prelude::*;

/// One scenario per synapse model of the crate.
const SCENARIOS: [&str; 6] = ["syn_delta.toml", "syn_exp_decay_current.toml", "syn_low_pass.toml", "syn_alpha.toml", "syn_tsodyks_markram.toml", "syn_gaussian_linear.toml"];

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin)
        .add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin);
    b
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn run(file: &str, engine: EngineKind) -> (Sim, f64) {
    let b = builder();
    let sc = Scenario::load(&scenarios_dir().join(file), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{file} should load: {e}"));
    let mut sim = b.build(sc, &RunOptions { engine, ..RunOptions::default() }).expect("build");
    let t0 = Instant::now();
    sim.run_to_end(u64::MAX, |_| {});
    (sim, t0.elapsed().as_secs_f64())
}

fn spikes(sim: &Sim) -> (Vec<f64>, Vec<i64>) {
    for &e in &sim.monitors {
        if let Some(m) = sim.world.get::<spikeworld::monitor::SpikeRecorder>(e) {
            return (m.t_ms(), m.index());
        }
    }
    panic!("no spike monitor")
}

#[test]
fn every_synapse_model_has_a_scenario() {
    // Every synapse model registered (this crate's; `static` is the core's default) has
    // its scenario, and the scenario uses it.
    let b = builder();
    let models: Vec<&str> = b.registry().addons_of("synapse").iter().map(|a| a.name()).filter(|&n| n != "static").collect();
    for model in ["delta", "exp_decay_current", "low_pass", "alpha", "tsodyks_markram", "gaussian_linear"] {
        assert!(models.contains(&model), "{model} is not registered ({models:?})");
    }
    for model in models {
        let name = format!("syn_{model}.toml");
        assert!(SCENARIOS.contains(&name.as_str()), "no scenario for {model}: add scenarios/{name} and list it here");
        let file = std::fs::read_to_string(scenarios_dir().join(&name)).unwrap();
        assert!(file.contains(&format!("model = \"{model}\"")), "{name} should use {model}");
    }
}

#[test]
fn scenarios_drive_their_neurons_on_both_engines() {
    for file in SCENARIOS {
        let (cpu, secs) = run(file, EngineKind::Cpu);
        let (ten, _) = run(file, EngineKind::Tensor);
        let (t, i) = spikes(&cpu);
        let active = {
            let mut n = i.clone();
            n.sort_unstable();
            n.dedup();
            n.len()
        };
        println!("{file}: {} spikes from {active} neurons, cpu run {secs:.3} s", t.len());
        assert!(t.len() >= 50 && active >= 10, "{file}: the synapses should make the neurons fire ({} spikes, {active} neurons)", t.len());
        assert!(secs < 0.2, "{file}: a scenario for the resume tests should run fast (took {secs:.3} s)");
        assert_eq!(spikes(&cpu), spikes(&ten), "{file}: spikes differ between engines");
        let (vc, vt) = (cpu.state("neurons", "v").unwrap(), ten.state("neurons", "v").unwrap());
        assert!(vc.iter().zip(&vt).all(|(a, b)| a.to_bits() == b.to_bits()), "{file}: v differs between engines");
    }
}

#[test]
fn scenarios_resume_bit_identically() {
    let b = builder();
    let dir = std::env::temp_dir().join(format!("spikeworld-synapse-basic-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in SCENARIOS {
        for split in [1u64, 777, 1234] {
            spikeworld::testing::check_resume(&b, &scenarios_dir().join(file), split, &dir, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // The chain: splits while the exponential current of the last synapse is decaying
    // (407: one step after the second IF neuron's first spike) and while a neuron's spike
    // is pending.
    for split in [1u64, 407, 801] {
        spikeworld::testing::check_resume(&b, &scenarios_dir().join("spikingflow_chain.toml"), split, &dir, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::remove_dir_all(&dir).ok();
}
