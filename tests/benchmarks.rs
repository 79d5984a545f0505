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

/// Mean E rate, I rate and CV ISI over `seeds`; each seed must stay in a sanity band.
fn mean_over_seeds(file: &str, seeds: std::ops::RangeInclusive<u64>, rates: std::ops::RangeInclusive<f64>, cvs: std::ops::RangeInclusive<f64>) -> (f64, f64, f64) {
    let n = seeds.clone().count() as f64;
    let (mut me, mut mi, mut mcv) = (0.0, 0.0, 0.0);
    for seed in seeds {
        let (re, ri, cv) = stats(file, seed);
        assert!(rates.contains(&re) && rates.contains(&ri), "seed {seed}: {file} rates {re}/{ri} Hz are implausible");
        assert!(cvs.contains(&cv), "seed {seed}: {file} CV ISI {cv} is implausible");
        me += re / n;
        mi += ri / n;
        mcv += cv / n;
    }
    (me, mi, mcv)
}

/// COBA sits near a regime change, and its per-seed statistics spread widely: Brian2
/// 2.9 itself gives CV ISI 1.561 (seed 1) and 1.565 (seed 7), outside 1.50 ± 0.05, and
/// rates from 17.4 to 20.8 Hz over seeds 1-8. The band is therefore checked on the mean
/// over ten seeds; each seed must still be in a sanity band.
#[test]
fn coba_statistics_in_band() {
    let (me, mi, mcv) = mean_over_seeds("coba.toml", 1..=10, 12.0..=26.0, 1.35..=1.70);
    assert!((17.0..=22.0).contains(&me), "COBA mean E rate {me} Hz outside 17-22");
    assert!((17.0..=22.0).contains(&mi), "COBA mean I rate {mi} Hz outside 17-22");
    assert!((mcv - 1.50).abs() <= 0.05, "COBA mean CV ISI {mcv} outside 1.50 ± 0.05");
}

/// CUBA's per-seed statistics spread too, so the band is checked on the mean over ten
/// seeds, as for COBA. Measured 2026-11-23 over seeds 1-12 (1 s each): with synapses
/// drawn per source row (before shards), E rates 4.97-5.93 Hz and CV 0.511-0.531, mean CV
/// 0.5215; drawn per target (today), E rates 5.23-6.11 Hz and CV 0.504-0.545, mean CV
/// 0.5238. Both are in the band on the mean; each draw has seeds outside it.
#[test]
fn cuba_statistics_in_band() {
    let (me, mi, mcv) = mean_over_seeds("cuba.toml", 1..=10, 4.5..=6.8, 0.47..=0.57);
    assert!((5.3..=6.0).contains(&me), "CUBA mean E rate {me} Hz outside 5.3-6.0");
    assert!((5.3..=6.0).contains(&mi), "CUBA mean I rate {mi} Hz outside 5.3-6.0");
    assert!((mcv - 0.52).abs() <= 0.02, "CUBA mean CV ISI {mcv} outside 0.52 ± 0.02");
}
