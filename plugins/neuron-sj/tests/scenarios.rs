//! The scenarios of this crate (`scenarios/sj_*.toml`, the SpikingFlow tutorial) load,
//! run, spike, and give the same spikes on both engines.

mod common;
use common::*;
use spikeworld::prelude::*;

const FILES: &[(&str, &str)] = &[
    ("sj_if.toml", "sj_if"),
    ("sj_lif.toml", "sj_lif"),
    ("sj_plif.toml", "sj_plif"),
    ("sj_rif.toml", "sj_rif"),
    ("sj_qif.toml", "sj_qif"),
    ("sj_eif.toml", "sj_eif"),
    ("sj_izhikevich.toml", "sj_izhikevich"),
    ("sj_sf_if.toml", "sf_if"),
    ("sj_sf_lif.toml", "sf_lif"),
    ("spikingflow_lif_tutorial.toml", "sf_lif"),
];

#[test]
fn every_scenario_runs_and_spikes_on_both_engines() {
    for &(file, model) in FILES {
        let cpu = run_all(sim_from_file(file, EngineKind::Cpu));
        assert_eq!(cpu.scenario.populations[0].model.name(), model, "{file} should use {model}");
        cpu.check().unwrap_or_else(|e| panic!("{file}: {e}"));
        let (t, _) = spikes(&cpu);
        let n = cpu.scenario.populations[0].size as f64;
        let rate = t.len() as f64 / n / cpu.scenario.steps as f64;
        println!("{file}: {} spikes, {rate:.3} per neuron per step", t.len());
        assert!(!t.is_empty(), "{file}: no spike");
        assert!(rate < 0.5, "{file}: {rate} spikes per neuron per step is saturated");
        let ten = run_all(sim_from_file(file, EngineKind::Tensor));
        assert_eq!(spikes(&cpu), spikes(&ten), "{file}: spikes differ between engines");
    }
}
