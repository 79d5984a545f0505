//! The encoders inside a simulation: each `scenarios/enc_*.toml` drives its LIF neurons,
//! runs fast, gives the same spikes and state on both engines, and resumes from a
//! checkpoint bit-identically. An encoder's spikes reach the neurons at the step the
//! delay says.

mod common;
use common::*;

use std::time::Instant;

use spikeworld::prelude::*;

const SCENARIOS: [&str; 5] = ["enc_constant.toml", "enc_periodic.toml", "enc_poisson_p.toml", "enc_latency.toml", "enc_gaussian_tuning.toml"];

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
fn scenarios_drive_their_neurons_on_both_engines() {
    for file in SCENARIOS {
        let (cpu, secs) = run(file, EngineKind::Cpu);
        let (ten, _) = run(file, EngineKind::Tensor);
        let (t, i) = spikes(&cpu);
        let active = {
            let mut n: Vec<i64> = i.clone();
            n.sort_unstable();
            n.dedup();
            n.len()
        };
        println!("{file}: {} spikes from {active} neurons, cpu run {secs:.3} s", t.len());
        assert!(t.len() >= 50 && active >= 5, "{file}: the encoder should make the neurons fire ({} spikes, {active} neurons)", t.len());
        assert!(secs < 0.5, "{file}: a scenario for the resume tests should run in well under a second (took {secs:.3} s)");
        assert_eq!(spikes(&cpu), spikes(&ten), "{file}: spikes differ between engines");
        assert_eq!(cpu.state("neurons", "v"), ten.state("neurons", "v"), "{file}: v differs between engines");
    }
}

#[test]
fn scenarios_resume_bit_identically() {
    let b = builder();
    let dir = tempfile::tempdir().unwrap();
    for file in SCENARIOS {
        for split in [1u64, 777, 1234] {
            spikeworld::testing::check_resume(&b, &scenarios_dir().join(file), split, dir.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// The constant encoder's neurons are exactly those with x > 0.
#[test]
fn constant_scenario_silences_x_le_zero() {
    let (sim, _) = run("enc_constant.toml", EngineKind::Cpu);
    let x = [0.9, 0.0, 0.3, 1.0, -0.2, 0.5, 0.0, 0.7, 0.1, 0.8, 1.0, 0.0, 0.4, 0.6, -1.0, 0.2, 0.9, 0.0, 0.35, 0.05];
    let (_, idx) = spikes(&sim);
    for (n, &xn) in x.iter().enumerate() {
        let k = idx.iter().filter(|&&i| i == n as i64).count();
        assert_eq!(k > 0, xn > 0.0, "neuron {n} (x = {xn}) fired {k} times");
    }
}

/// Latency spikes through a one-to-one projection with a 16 mV weight: each makes its
/// neuron fire in the update of step s + 1 + delay (docs/architecture.md), so the neurons'
/// spike steps are the encoder's, computed here from the formula, shifted by 1 + 5.
#[test]
fn latency_spikes_reach_the_neurons_on_time() {
    let (sim, _) = run("enc_latency.toml", EngineKind::Cpu);
    let x: Vec<f64> = (0..20).map(|i| if i == 19 { 1.0 } else { i as f64 * 0.05 }).collect();
    let (t_max, last) = (50u64, 49.0f64);
    let alpha = last.exp() - 1.0;
    let mut want: Vec<(u64, i64)> = Vec::new();
    for (n, &xn) in x.iter().enumerate() {
        let phase = (last - (alpha * xn + 1.0).ln()).round_ties_even().abs() as u64;
        let mut s = phase;
        while s + 6 < sim.scenario.steps {
            want.push((s + 6, n as i64));
            s += t_max;
        }
    }
    want.sort_unstable();
    let (t, idx) = spikes(&sim);
    let mut got: Vec<(u64, i64)> = t.iter().zip(&idx).map(|(&tm, &i)| ((tm / 0.1).round() as u64, i)).collect();
    got.sort_unstable();
    assert_eq!(got, want);
}
