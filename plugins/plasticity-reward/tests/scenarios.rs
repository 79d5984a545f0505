//! The shipped `scenarios/reward_*.toml` files: the reward-modulated pathway experiment's
//! outcome, and every one of them through a checkpoint (bit-identical resume).

mod common;

use std::path::{Path, PathBuf};

use common::{builder, table};
use spikeworld::prelude::*;
use spikeworld_plasticity_reward::{RewardHistory, rstdp, switch};

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name)
}

fn build(name: &str) -> Sim {
    let b = builder();
    let sc = Scenario::load(&scenario(name), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    b.build(sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn reward_pathways_the_rewarded_pathway_grows_the_other_shrinks() {
    let mut sim = build("reward_pathways.toml");
    let (a0, b0) = (mean(&table(&sim, "a_target").weight), mean(&table(&sim, "b_target").weight));
    let mut trace = Vec::new();
    for epoch in 0..4 {
        sim.run_steps(100);
        let (a, b) = (mean(&table(&sim, "a_target").weight), mean(&table(&sim, "b_target").weight));
        trace.push((epoch, a, b));
    }
    sim.check().unwrap();
    let (a1, b1) = (mean(&table(&sim, "a_target").weight), mean(&table(&sim, "b_target").weight));
    let msg = format!("mean weights A {a0} -> {a1}, B {b0} -> {b1}; per epoch {trace:?}");
    eprintln!("{msg}");
    assert!(a1 > a0 + 0.01, "the rewarded pathway A must grow: {msg}");
    assert!(b1 < b0 - 0.01, "the punished pathway B must shrink: {msg}");
    // Epoch by epoch: A changes in its own (rewarded) epochs only, B in its (punished) ones.
    let mut last = (a0, b0);
    for &(epoch, a, b) in &trace {
        if epoch % 2 == 0 {
            assert!(a > last.0, "A grows in its epoch {epoch}: {msg}");
        } else {
            assert!(b < last.1, "B shrinks in its epoch {epoch}: {msg}");
        }
        last = (a, b);
    }
    // The reward the rules read, every step: +1 in A's epochs, -1 in B's.
    let h = sim.world.resource::<RewardHistory>();
    assert_eq!(h.values.len(), 400);
    for (t, &v) in h.values.iter().enumerate() {
        assert_eq!(v, if (t / 100) % 2 == 0 { 1.0 } else { -1.0 }, "reward at step {t}");
    }
}

fn reward_scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenario(""))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| (n.starts_with("reward_") || n.starts_with("spaic_reward_")) && n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_reward_scenario_resumes_bit_identically_and_every_rule_is_used() {
    let names = reward_scenarios();
    let mut text = String::new();
    for name in &names {
        let tmp = tempfile::tempdir().unwrap();
        let mut sim = build(name);
        let end = sim.end_step();
        // It learns: every weight rule changes weights, and the reward is not always 0.
        let w0: Vec<Vec<f64>> = sim.projections.iter().map(|&e| sim.world.get::<SynapseTable>(e).unwrap().weight.clone()).collect();
        sim.run_to_end(u64::MAX, |_| {});
        sim.check().unwrap_or_else(|e| panic!("{name}: {e}"));
        for (pi, &e) in sim.projections.iter().enumerate() {
            let learns = sim.world.get::<rstdp::Rstdp>(e).is_some()
                || sim.world.get::<rstdp::RstdpEt>(e).is_some()
                || sim.world.get::<rstdp::Conv2dRstdp>(e).is_some()
                || sim.world.get::<switch::RewardSwitchStdp>(e).is_some();
            let w = &sim.world.get::<SynapseTable>(e).unwrap().weight;
            let changed = w.iter().zip(&w0[pi]).filter(|(a, b)| a != b).count();
            if learns {
                assert!(changed * 2 > w.len(), "{name}: projection `{}` changed only {changed} of {} weights", sim.scenario.projections[pi].name, w.len());
            }
        }
        let h = sim.world.resource::<RewardHistory>();
        assert!(h.values.iter().any(|&v| v != 0.0), "{name}: the reward was always 0");
        assert!(sim.spike_counts().iter().all(|&c| c > 0), "{name}: a population is silent ({:?})", sim.spike_counts());
        for split in [1, end / 2 + 7, end - 1] {
            spikeworld::testing::check_resume(&builder(), &scenario(name), split, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{name} split at {split}: {e}"));
        }
        text.push_str(&std::fs::read_to_string(scenario(name)).unwrap());
    }
    for rule in ["rstdp", "rstdp_et", "reward_switch_stdp", "rate_modulation", "conv2d_rstdp"] {
        assert!(text.contains(&format!("plasticity = {{ rule = \"{rule}\"")), "no reward scenario uses `{rule}` ({names:?})");
    }
    for kind in ["schedule", "rate_difference"] {
        assert!(text.contains(&format!("kind = \"{kind}\"")), "no reward scenario uses a `{kind}` reward");
    }
}
