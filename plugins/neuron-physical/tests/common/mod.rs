#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]
//! Helpers shared by this crate's tests.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;

/// This crate's models and the basic encoders.
pub fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_physical::PhysicalPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin);
    b
}

/// Loads scenario text (panics with the error if it is invalid).
pub fn load(b: &SimBuilder, text: &str) -> Scenario {
    Scenario::from_str(text, Path::new("test.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("scenario should load: {e}\n{text}"))
}

/// The error of scenario text that must not build.
pub fn build_error(b: &SimBuilder, text: &str) -> String {
    match Scenario::from_str(text, Path::new("test.toml"), b.registry(), &LoadOptions::default()) {
        Err(e) => e.to_string(),
        Ok(sc) => match b.build(sc, &RunOptions::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("scenario should be refused:\n{text}"),
        },
    }
}

/// Builds and runs to the end on `engine`.
pub fn run(b: &SimBuilder, sc: Scenario, engine: EngineKind) -> Sim {
    let mut sim = b.build(sc, &RunOptions { engine, ..RunOptions::default() }).expect("build");
    let n = sim.scenario.steps;
    sim.run_steps(n);
    assert!(sim.fault().is_none(), "fault: {:?}", sim.fault());
    sim
}

/// The repository's `scenarios/` folder.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name)
}

/// Loads a scenario file of the repository.
pub fn load_file(b: &SimBuilder, name: &str, overrides: &[&str]) -> Scenario {
    let opts = LoadOptions { overrides: overrides.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    Scenario::load(&scenario_path(name), b.registry(), &opts).unwrap_or_else(|e| panic!("{name} should load: {e}"))
}

/// `(times, data[var][k * n_indices + j])` of state monitor number `monitor`.
pub fn state_series(sim: &Sim, monitor: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let m = sim.world.get::<spikeworld::monitor::StateRecorder>(sim.monitors[monitor]).expect("state monitor");
    (m.t_ms.clone(), m.data.clone())
}

/// `(step, index)` of every spike of spike monitor number `monitor`.
pub fn spike_steps(sim: &Sim, monitor: usize, dt: f64) -> Vec<(u64, i64)> {
    let m = sim.world.get::<spikeworld::monitor::SpikeRecorder>(sim.monitors[monitor]).expect("spike monitor");
    m.iter().map(|(t, i)| ((t / dt).round() as u64, i64::from(i))).collect()
}

/// Reads a little-endian float64 `.npy` file.
pub fn npy_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{} is not a .npy file", path.display());
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + hlen]);
    assert!(header.contains("'<f8'"), "{}: expected little-endian float64, header {header}", path.display());
    bytes[10 + hlen..].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}
