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

/// Brunel (2000) model A, scaled (`scenarios/brunel.toml`), driven by `poisson_input`:
/// E rate and CV ISI over 100-1000 ms, mean of seeds 1-4, between the peers' on the same
/// network (measured 2026-11-26, seeds 1-4): Brian2 2.9 with PoissonInput 47.9 Hz (47.2-48.3),
/// CV 1.23-1.28; NEST 3.10 with poisson_generator 50.7 Hz (49.6-52.0), CV 1.26-1.31.
#[test]
fn brunel_statistics_between_brian2_and_nest() {
    let (mut rate, mut cv) = (0.0, 0.0);
    for seed in 1..=4 {
        let sim = run_all(build(load_file("brunel.toml", &[], Some(seed)), EngineKind::Cpu, 1));
        let (t, idx) = spikes(&sim);
        let keep: Vec<(f64, i64)> = t.iter().zip(&idx).filter(|(t, i)| **t >= 100.0 && **i < 2000).map(|(t, i)| (*t, *i)).collect();
        let r = keep.len() as f64 / 2000.0 / 0.9;
        let (kt, ki): (Vec<f64>, Vec<i64>) = keep.into_iter().unzip();
        let c = mean_cv_isi(&kt, &ki, 2000);
        assert!((40.0..=60.0).contains(&r) && (1.0..=1.5).contains(&c), "seed {seed}: E rate {r} Hz, CV {c}: not the AI regime of the peers");
        eprintln!("Brunel seed {seed}: E rate {r:.2} Hz, CV ISI {c:.3}");
        rate += r / 4.0;
        cv += c / 4.0;
    }
    assert!((46.0..=52.5).contains(&rate), "Brunel mean E rate {rate} Hz: Brian2 47.9, NEST 50.7");
    assert!((1.18..=1.36).contains(&cv), "Brunel mean CV ISI {cv}: Brian2 1.23-1.28, NEST 1.26-1.31");
}

/// Izhikevich (2003)'s network (`scenarios/izhikevich_network.toml`: (a, b, c, d) per
/// neuron from files, spikes as current at `i_syn`, thalamic `noise_current`): the paper's
/// code with the same parameter files gives E 7.37, 7.38, 7.44 Hz on seeds 1-3 (7.30-7.56
/// over seeds 1-8, mean 7.42; plugins/neuron-physical/tests/fixtures/izhikevich_2003.py,
/// 2026-11-26). Without the spread (every excitatory neuron regular spiking, every
/// inhibitory one fast spiking) the rate is 9.5-10 Hz, and spike input as a jump of v
/// before the step (receptor `v`) runs away to 150-170 Hz: this would catch either.
#[test]
fn izhikevich_network_rate_as_the_papers_code() {
    let mut rate = 0.0;
    for seed in 1..=3 {
        let sim = run_all(build(load_file("izhikevich_network.toml", &[], Some(seed)), EngineKind::Cpu, 1));
        let (t, _) = spikes(&sim);
        let r = t.len() as f64 / 800.0;
        eprintln!("Izhikevich network seed {seed}: E rate {r:.2} Hz");
        assert!((6.6..=8.2).contains(&r), "seed {seed}: E rate {r} Hz");
        rate += r / 3.0;
    }
    assert!((7.0..=7.8).contains(&rate), "mean E rate {rate} Hz; the paper's code with the same parameters 7.40 Hz (seeds 1-3)");
}
