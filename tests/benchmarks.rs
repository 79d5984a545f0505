//! COBA and CUBA (Brette et al. 2007) firing statistics inside the acceptance band of
//! ../shared/bench/README.md, for three seeds.

mod common;
use common::*;
use spikeworld::prelude::*;

fn stats(file: &str, seed: u64) -> (f64, f64, f64) {
    let sim = run_all(build(load_file(file, &[], Some(seed)), EngineKind::Cpu, 1));
    let (t, idx) = spikes(&sim);
    let ne = idx.iter().filter(|&&i| i < 3200).count() as f64 / 3200.0;
    let ni = idx.iter().filter(|&&i| i >= 3200).count() as f64 / 800.0;
    (ne, ni, mean_cv_isi(&t, &idx, 4000))
}

#[test]
fn coba_statistics_in_band() {
    for seed in [1, 2, 3] {
        let (re, ri, cv) = stats("coba.toml", seed);
        assert!((17.0..=22.0).contains(&re), "seed {seed}: COBA E rate {re} Hz outside 17-22");
        assert!((17.0..=22.0).contains(&ri), "seed {seed}: COBA I rate {ri} Hz outside 17-22");
        assert!((cv - 1.50).abs() <= 0.05, "seed {seed}: COBA CV ISI {cv} outside 1.50 ± 0.05");
    }
}

#[test]
fn cuba_statistics_in_band() {
    for seed in [1, 2, 3] {
        let (re, ri, cv) = stats("cuba.toml", seed);
        assert!((5.3..=6.0).contains(&re), "seed {seed}: CUBA E rate {re} Hz outside 5.3-6.0");
        assert!((5.3..=6.0).contains(&ri), "seed {seed}: CUBA I rate {ri} Hz outside 5.3-6.0");
        assert!((cv - 0.52).abs() <= 0.02, "seed {seed}: CUBA CV ISI {cv} outside 0.52 ± 0.02");
    }
}
