//! The demonstration scenarios, run from their files, with their qualitative
//! outcome asserted.

mod common;

use std::path::{Path, PathBuf};

use spikeworld::monitor::weights::WeightRecorder;
use spikeworld::prelude::*;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name)
}

fn run(name: &str) -> Sim {
    let b = common::builder();
    let sc = Scenario::load(&scenario(name), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_to_end(u64::MAX, |_| {});
    sim
}

fn recorder<'a>(sim: &'a Sim, name: &str) -> &'a WeightRecorder {
    let i = sim.scenario.monitors.iter().position(|m| m.name == name).unwrap();
    sim.world.get::<WeightRecorder>(sim.monitors[i]).unwrap()
}

/// SpikingFlow's demo: in the first 100 steps both weights rise; in the next 100, with
/// input 0 silent and input 1 firing every step, w0 falls and w1 ends above where it was.
#[test]
fn stdp_two_inputs_w0_falls_w1_rises() {
    let sim = run("stdp_two_inputs.toml");
    let w = recorder(&sim, "w");
    assert_eq!(w.t_ms.len(), 200);
    let at = |step: usize, k: usize| w.values[step * 2 + k];
    for k in 0..2 {
        assert!(at(99, k) > at(0, k) + 1e-3, "w{k} rises in the first phase: {} -> {}", at(0, k), at(99, k));
    }
    assert!(at(199, 0) < at(99, 0) - 0.1, "w0 falls in the second phase: {} -> {}", at(99, 0), at(199, 0));
    assert!(at(199, 1) > at(99, 1), "w1 ends above its level at the switch: {} -> {}", at(99, 1), at(199, 1));
}

/// Song et al. (2000): from uniform weights, 100 s of Poisson input make the distribution
/// bimodal: most weights in the outer 20% of [0, gmax] (4 of 20 bins at each end), against
/// 40% at the start.
#[test]
fn stdp_song2000_becomes_bimodal() {
    let sim = run("stdp_song2000.toml");
    let w = recorder(&sim, "w");
    let bins = w.bins;
    let hist = |s: usize| &w.hist[s * bins..(s + 1) * bins];
    let outer = |h: &[u64]| (h[..4].iter().sum::<u64>() + h[bins - 4..].iter().sum::<u64>()) as f64 / h.iter().sum::<u64>() as f64;
    let (first, last) = (outer(hist(0)), outer(hist(w.t_ms.len() - 1)));
    assert!(first < 0.5, "starts uniform: {first}");
    assert!(last > 0.6, "ends bimodal: {last} of the weights in the outer 20%");
    let h = hist(w.t_ms.len() - 1);
    let middle = h[8..12].iter().sum::<u64>() as f64 / 4.0;
    assert!(h[0] as f64 > 2.0 * middle && h[bins - 1] as f64 > 2.0 * middle, "a peak at each end: {h:?}");
}

/// Rules run on the host after propagation, on either engine: the same weights at the end
/// (the engines give the same spikes for these models).
#[test]
fn plastic_scenarios_learn_the_same_on_both_engines() {
    for name in ["stdp_two_inputs.toml", "stdp_norse_conv2d.toml", "spaic_nearest_online_stdp.toml"] {
        let b = common::builder();
        let weights = |engine: EngineKind| {
            let sc = Scenario::load(&scenario(name), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            let mut sim = b.build(sc, &RunOptions { engine, ..Default::default() }).unwrap();
            sim.run_to_end(u64::MAX, |_| {});
            let i = sim.scenario.projections.iter().position(|p| p.addons.iter().any(|a| a.table == "plasticity")).unwrap();
            sim.world.get::<SynapseTable>(sim.projections[i]).unwrap().weight.clone()
        };
        let (cpu, tensor) = (weights(EngineKind::Cpu), weights(EngineKind::Tensor));
        assert!(!cpu.is_empty());
        assert_eq!(cpu, tensor, "{name}: weights differ between the engines");
    }
}
