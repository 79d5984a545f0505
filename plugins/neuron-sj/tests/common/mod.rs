#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]
//! Helpers shared by this crate's tests: scenarios built from text with the CLI's plugins.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;

pub fn builder() -> SimBuilder {
    spikeworld_cli::builder()
}

/// Loads scenario text; the error message if it does not load.
pub fn try_load(text: &str) -> Result<Scenario> {
    Scenario::from_str(text, Path::new("test.toml"), builder().registry(), &LoadOptions::default())
}

pub fn sim_from_text(text: &str, engine: EngineKind) -> Sim {
    let sc = try_load(text).unwrap_or_else(|e| panic!("scenario should load: {e}"));
    builder().build(sc, &RunOptions { engine, ..RunOptions::default() }).expect("build")
}

pub fn repo_scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name)
}

pub fn sim_from_file(name: &str, engine: EngineKind) -> Sim {
    let b = builder();
    let sc = Scenario::load(&repo_scenario(name), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{name} should load: {e}"));
    b.build(sc, &RunOptions { engine, ..RunOptions::default() }).expect("build")
}

pub fn run_all(mut sim: Sim) -> Sim {
    let n = sim.scenario.steps;
    sim.run_steps(n);
    sim
}

/// (times ms, indices) of the first spike monitor.
pub fn spikes(sim: &Sim) -> (Vec<f64>, Vec<i64>) {
    for &e in &sim.monitors {
        if let Some(m) = sim.world.get::<spikeworld::monitor::SpikeRecorder>(e) {
            return (m.t_ms(), m.index());
        }
    }
    panic!("no spike monitor")
}

/// Per variable, the samples of the first state monitor (time-major: step × neuron).
pub fn states(sim: &Sim) -> Vec<Vec<f64>> {
    for &e in &sim.monitors {
        if let Some(m) = sim.world.get::<spikeworld::monitor::StateRecorder>(e) {
            return m.data.clone();
        }
    }
    panic!("no state monitor")
}
