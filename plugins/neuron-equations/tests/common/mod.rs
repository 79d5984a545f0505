//! What the equations tests share: loading and running a scenario text.
#![allow(dead_code)]

use std::path::Path;

use spikeworld::monitor::{SpikeRecorder, StateRecorder};
use spikeworld::prelude::*;

pub fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn load(text: &str) -> Result<Scenario, String> {
    Scenario::from_str(text, Path::new("eq.toml"), spikeworld_cli::builder().registry(), &LoadOptions::default()).map_err(|e| e.to_string())
}

pub fn load_err(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// Runs `text`; returns (spike (step, neuron) pairs, every state monitor's rows).
pub fn run_with(text: &str, opts: &RunOptions) -> (Vec<(u64, u32)>, Vec<Vec<Vec<f64>>>) {
    let b = spikeworld_cli::builder();
    let sc = load(text).unwrap_or_else(|e| panic!("{e}"));
    let dt = sc.dt_ms;
    let mut sim = b.build(sc, opts).expect("build");
    sim.run_to_end(u64::MAX, |_| {});
    let mut spikes = Vec::new();
    let mut states = Vec::new();
    for &e in &sim.monitors {
        if let Some(s) = sim.world.get::<SpikeRecorder>(e) {
            spikes.extend(s.t_ms().iter().zip(s.index()).map(|(t, i)| ((t / dt).round() as u64, i as u32)));
        }
        if let Some(s) = sim.world.get::<StateRecorder>(e) {
            states.push(s.data.clone());
        }
    }
    (spikes, states)
}

/// Neuron `i`'s samples of a state row recorded from `n` neurons (step-major).
pub fn of(row: &[f64], i: usize, n: usize) -> Vec<f64> {
    row.iter().skip(i).step_by(n).copied().collect()
}

pub fn run(text: &str) -> (Vec<(u64, u32)>, Vec<Vec<Vec<f64>>>) {
    run_with(text, &RunOptions::default())
}

/// One population `n` of `size` neurons of model `m` defined by `model` (the table's keys),
/// `params` and `init` inline tables, v recorded.
pub fn single(model: &str, size: usize, params: &str, init: &str, t_stop: &str, vars: &str) -> String {
    format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"{t_stop}\"\n[neuron_models.m]\n{model}\n[[population]]\nname = \"n\"\nsize = {size}\nmodel = \"m\"\nparams = {{ {params} }}\ninit = {{ {init} }}\n[[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [{vars}]\n[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n"
    )
}


/// The white-noise draw of noise receptor `k` of population `n` (seed `seed`) for
/// `neuron` at `step`.
pub fn draw(seed: u64, k: u64, step: u64, neuron: u64) -> f64 {
    use spikeworld::util::rng;
    rng::xi(rng::key(seed, rng::purpose::XI + k), rng::entity_key("population", "n"), step, neuron)
}

/// `text` with `seed` in its `[simulation]`.
pub fn seeded(text: String, seed: u64) -> String {
    text.replacen("[simulation]\n", &format!("[simulation]\nseed = {seed}\n"), 1)
}
