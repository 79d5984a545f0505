#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]
//! Helpers shared by the integration tests.

pub mod shards;

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;

pub fn builder() -> SimBuilder {
    spikeworld_cli::builder()
}

pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

pub fn load(text: &str) -> Scenario {
    let b = builder();
    Scenario::from_str(text, Path::new("test.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("scenario should load: {e}"))
}

pub fn load_file(name: &str, overrides: &[&str], seed: Option<u64>) -> Scenario {
    let b = builder();
    let opts = LoadOptions { overrides: overrides.iter().map(|s| s.to_string()).collect(), seed, ..Default::default() };
    Scenario::load(&scenario_path(name), b.registry(), &opts).unwrap_or_else(|e| panic!("{name} should load: {e}"))
}

/// Builds a simulation from scenario text with `b`'s plugins (the text must be valid).
pub fn sim_from_text(b: &SimBuilder, text: &str, engine: EngineKind) -> Sim {
    let sc = Scenario::from_str(text, Path::new("test.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("scenario should load: {e}"));
    b.build(sc, &RunOptions { engine, ..RunOptions::default() }).expect("build")
}

pub fn build(sc: Scenario, engine: EngineKind, threads: usize) -> Sim {
    builder().build(sc, &RunOptions { engine, device: TensorDevice::Flex, threads, ..Default::default() }).expect("build")
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

/// Mean CV of inter-spike intervals over neurons with >= 3 spikes (as bench_brian2.py).
pub fn mean_cv_isi(t: &[f64], idx: &[i64], n: usize) -> f64 {
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); n];
    for (&ti, &i) in t.iter().zip(idx) {
        per[i as usize].push(ti);
    }
    let mut cvs = Vec::new();
    for ts in per.iter().filter(|ts| ts.len() >= 3) {
        let isi: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
        let m = isi.iter().sum::<f64>() / isi.len() as f64;
        let var = isi.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / isi.len() as f64;
        if m > 0.0 {
            cvs.push(var.sqrt() / m);
        }
    }
    cvs.iter().sum::<f64>() / cvs.len() as f64
}

/// Reads a little-endian .npy file's raw payload (after the header).
pub fn npy_payload(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read npy");
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{} is not a .npy file", path.display());
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + hlen..].to_vec()
}

pub fn npy_f64(path: &Path) -> Vec<f64> {
    npy_payload(path).chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

/// Two `lif_cond_exp` populations (E 6000, I 3000) driven by Poisson inputs, with rows
/// in ascending target order (`pairwise_bernoulli`) and in random order
/// (`fixed_outdegree`), one delay and per-synapse delays: the network of the tests that
/// split delivery by target (threads, shards with threads).
pub const TWO_POPULATIONS: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "60 ms"
seed = 11

[[population]]
name = "E"
size = 6000
model = "lif_cond_exp"
[population.init]
v = { dist = "normal", mean = "-60 mV", std = "5 mV" }
g_ex = { dist = "normal", mean = "40 nS", std = "15 nS" }

[[population]]
name = "I"
size = 3000
model = "lif_cond_exp"
[population.init]
v = { dist = "normal", mean = "-60 mV", std = "5 mV" }

[[encoder]]
name = "bg"
kind = "poisson"
size = 1000
rate = "100 Hz"

[[projection]]
name = "bg_e"
from = "bg"
to = "E"
rule = "fixed_outdegree"
outdegree = 120
receptor = "exc"
weight = { dist = "uniform", low = "2 nS", high = "6 nS" }
delay = { dist = "uniform", low = "0.1 ms", high = "2 ms" }

[[projection]]
name = "ee"
from = "E"
to = "E"
rule = "pairwise_bernoulli"
p = 0.01
receptor = "exc"
weight = "5 nS"
delay = "1 ms"

[[projection]]
name = "ei"
from = "E"
to = "I"
rule = "pairwise_bernoulli"
p = 0.01
receptor = "exc"
weight = "5 nS"

[[projection]]
name = "ie"
from = "I"
to = "E"
rule = "fixed_outdegree"
outdegree = 80
receptor = "inh"
weight = { dist = "uniform", low = "40 nS", high = "80 nS" }
delay = { dist = "uniform", low = "0.5 ms", high = "3 ms" }

[[monitor]]
name = "spikes"
kind = "spikes"
target = "E"
"#;
