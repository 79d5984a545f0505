//! `poisson_input` (Brian2's `PoissonInput`, NEST's `poisson_generator` per target) and
//! `noise_current` (NEST's `noise_generator`): the distribution of what they add against
//! the binomial, Poisson and normal laws computed here, their timing (window, `every`),
//! and the same bits on every engine, shard count and through a resume.

mod common;
use common::*;

use spikeworld::prelude::*;
use spikeworld_encoder_basic::chunk_cdf;

/// A scenario (dt = 1 ms) with `n` neurons `P` of `model` and the encoder `e` (`body`:
/// the lines after `name`).
fn scenario(model: &str, n: usize, body: &str) -> String {
    format!("[simulation]\ndt = \"1 ms\"\nt_stop = \"50 ms\"\nseed = 5\n\n[[population]]\nname = \"P\"\nsize = {n}\nmodel = \"{model}\"\n\n[[encoder]]\nname = \"e\"\n{body}\n")
}

/// The encoder of `text`, stepped directly over `steps` steps: what it adds to each of the
/// `n` targets, per step.
fn outputs(text: &str, n: usize, steps: u64) -> Vec<Vec<f64>> {
    let b = builder();
    let sc = Scenario::from_str(text, std::path::Path::new("test.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("should load: {e}"));
    let mut enc = sc.encoders[0].config.build();
    (0..steps)
        .map(|s| {
            let mut out = vec![0.0; n];
            enc.step(s, EncoderOut::Current(&mut out));
            out
        })
        .collect()
}

fn load_error(text: &str) -> String {
    let b = builder();
    match Scenario::from_str(text, std::path::Path::new("test.toml"), b.registry(), &LoadOptions::default()) {
        Ok(_) => panic!("should be refused:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn binomial_pmf(n: u64, p: f64, k: u64) -> f64 {
    // C(n, k) p^k (1-p)^(n-k) as a product of ratios (no factorials).
    (0..k).map(|i| (n - i) as f64 / (k - i) as f64).product::<f64>() * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32)
}

fn poisson_pmf(lambda: f64, k: u64) -> f64 {
    (1..=k).fold((-lambda).exp(), |acc, i| acc * lambda / i as f64)
}

#[test]
fn chunk_cdf_is_the_binomial_and_poisson_law() {
    for (n, p) in [(10u64, 0.3), (200, 0.01), (25, 0.64)] {
        let cdf = chunk_cdf(Some(n), p);
        let mut want = 0.0;
        for (k, &c) in cdf.iter().enumerate() {
            want += binomial_pmf(n, p, k as u64);
            assert!((c - want).abs() < 1e-12, "Binomial({n}, {p}): P(X <= {k}) = {c}, law {want}");
        }
        assert!(cdf.len() as u64 <= n + 1 && *cdf.last().unwrap() > 1.0 - 1e-12, "Binomial({n}, {p}) covers the law: {cdf:?}");
    }
    for lambda in [0.02, 1.0, 16.0] {
        let cdf = chunk_cdf(None, lambda);
        let mut want = 0.0;
        for (k, &c) in cdf.iter().enumerate() {
            want += poisson_pmf(lambda, k as u64);
            assert!((c - want).abs() < 1e-12, "Poisson({lambda}): P(X <= {k}) = {c}, law {want}");
        }
        assert!(*cdf.last().unwrap() > 1.0 - 1e-12);
    }
}

/// Mean, variance and the frequency of each count against the law (a chi-square over the
/// counts the law gives at least 20 expected samples; 0.1 % critical values).
fn check_counts(what: &str, samples: &[u64], mean: f64, var: f64, pmf: impl Fn(u64) -> f64) {
    let m = samples.len() as f64;
    let got_mean = samples.iter().sum::<u64>() as f64 / m;
    let got_var = samples.iter().map(|&k| (k as f64 - got_mean).powi(2)).sum::<f64>() / (m - 1.0);
    // Standard errors of the mean and (roughly) of the variance.
    assert!((got_mean - mean).abs() < 5.0 * (var / m).sqrt(), "{what}: mean {got_mean}, law {mean}");
    assert!((got_var - var).abs() < 5.0 * var * (2.0 / m).sqrt() + 1e-9, "{what}: variance {got_var}, law {var}");
    let kmax = *samples.iter().max().unwrap();
    let mut freq = vec![0u64; kmax as usize + 1];
    for &k in samples {
        freq[k as usize] += 1;
    }
    let (mut chi2, mut dof) = (0.0, 0usize);
    for (k, &f) in freq.iter().enumerate() {
        let e = m * pmf(k as u64);
        if e >= 20.0 {
            chi2 += (f as f64 - e).powi(2) / e;
            dof += 1;
        }
    }
    // 99.9 % quantile of chi-square with dof - 1 degrees of freedom (Wilson-Hilferty).
    let d = (dof.max(2) - 1) as f64;
    let crit = d * (1.0 - 2.0 / (9.0 * d) + 3.09 * (2.0 / (9.0 * d)).sqrt()).powi(3);
    assert!(chi2 < crit, "{what}: chi-square {chi2} over {dof} counts (critical {crit})");
}

#[test]
fn poisson_input_counts_follow_brian2s_binomial_and_nests_poisson() {
    // (body, binomial n or none, probability or mean per step): small means, and means
    // above one chunk (16), which are sums of chunks.
    let cases: [(&str, Option<u64>, f64); 4] = [
        ("n = 1000\nrate = \"2 Hz\"", Some(1000), 0.002),
        ("n = 100\nrate = \"400 Hz\"", Some(100), 0.4),
        ("rate = \"500 Hz\"", None, 0.5),
        ("rate = \"50 kHz\"", None, 50.0),
    ];
    for (body, n, p) in cases {
        let text = scenario("lif", 200, &format!("kind = \"poisson_input\"\ntarget = \"P\"\nweight = \"1 mV\"\n{body}"));
        let out = outputs(&text, 200, 300);
        let samples: Vec<u64> = out.iter().flatten().map(|&x| {
            assert_eq!(x, x.round(), "{body}: weight 1 mV times a count");
            x as u64
        }).collect();
        match n {
            Some(n) => check_counts(body, &samples, n as f64 * p, n as f64 * p * (1.0 - p), |k| if k <= n { binomial_pmf(n, p, k) } else { 0.0 }),
            None => check_counts(body, &samples, p, p, |k| poisson_pmf(p, k)),
        }
        // Independent between targets and steps: neighbouring targets and steps uncorrelated.
        let corr = |a: &[f64], b: &[f64]| {
            let (ma, mb) = (a.iter().sum::<f64>() / a.len() as f64, b.iter().sum::<f64>() / b.len() as f64);
            let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
            cov / (a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() * b.iter().map(|y| (y - mb).powi(2)).sum::<f64>()).sqrt()
        };
        let col = |j: usize| out.iter().map(|r| r[j]).collect::<Vec<_>>();
        let (c0, c1) = (col(0), col(1));
        assert!(corr(&c0, &c1).abs() < 0.25, "{body}: targets 0 and 1 correlate");
        assert!(corr(&c0[1..], &c0[..299]).abs() < 0.25, "{body}: steps correlate");
    }
}

#[test]
fn poisson_input_weights_units_window_and_refusals() {
    // A conductance receptor takes nS; the window holds it to [start, stop).
    let text = scenario("lif_cond_exp", 50, "kind = \"poisson_input\"\ntarget = \"P\"\nreceptor = \"exc\"\nn = 10\nrate = \"500 Hz\"\nweight = \"0.5 nS\"\nstart = \"10 ms\"\nstop = \"20 ms\"");
    let out = outputs(&text, 50, 30);
    for (s, row) in out.iter().enumerate() {
        let total: f64 = row.iter().sum();
        if (10..20).contains(&s) {
            assert!(total > 0.0, "step {s}: inside the window");
            assert!(row.iter().all(|&x| (x / 0.5).fract() == 0.0), "step {s}: multiples of 0.5 nS");
        } else {
            assert_eq!(total, 0.0, "step {s}: outside the window");
        }
    }
    // Two spike receptors: `receptor` is needed; a current receptor is not a spike receptor.
    let err = load_error(&scenario("lif_cond_exp", 5, "kind = \"poisson_input\"\ntarget = \"P\"\nrate = \"5 Hz\"\nweight = \"1 nS\""));
    assert_mentions(&err, &["test.toml:", "encoder[0].receptor", "exc, inh"]);
    let err = load_error(&scenario("lif", 5, "kind = \"poisson_input\"\ntarget = \"P\"\nreceptor = \"i\"\nrate = \"5 Hz\"\nweight = \"1 mV\""));
    assert_mentions(&err, &["no spike receptor `i`", "valid: v"]);
    // The weight in the receptor's unit; with n, at most one spike per source per step.
    let err = load_error(&scenario("lif", 5, "kind = \"poisson_input\"\ntarget = \"P\"\nrate = \"5 Hz\"\nweight = \"1 nS\""));
    assert_mentions(&err, &["encoder[0].weight", "voltage"]);
    let err = load_error(&scenario("lif", 5, "kind = \"poisson_input\"\ntarget = \"P\"\nn = 3\nrate = \"2 kHz\"\nweight = \"1 mV\""));
    assert_mentions(&err, &["encoder[0].rate", "at most 1/dt", "leave out `n`"]);
    let err = load_error(&scenario("lif_cond_exp", 5, "kind = \"poisson_input\"\ntarget = \"P\"\nreceptor = \"inh\"\nrate = \"5 Hz\"\nweight = \"-2 nS\""));
    assert_mentions(&err, &["encoder[0].weight", "conductance increment must be >= 0"]);
    let err = load_error(&scenario("lif", 5, "kind = \"poisson_input\"\ntarget = \"P\"\nn = 0\nrate = \"2 Hz\"\nweight = \"1 mV\""));
    assert_mentions(&err, &["encoder[0].n", "at least 1"]);
}

#[test]
fn noise_current_is_normal_held_every_and_refuses_bad_values() {
    let text = scenario("lif", 101, "kind = \"noise_current\"\ntarget = \"P\"\nmean = \"20 pA\"\nstd = \"5 pA\"\nevery = \"4 ms\"");
    let out = outputs(&text, 101, 400);
    for s in 0..400 {
        assert_eq!(out[s], out[s - s % 4], "step {s}: held for 4 steps from the last draw");
    }
    assert_ne!(out[0], out[4], "a new draw every 4 steps");
    let xs: Vec<f64> = out.iter().step_by(4).flatten().copied().collect();
    let m = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / m;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt();
    assert!((mean - 20.0).abs() < 5.0 * 5.0 / m.sqrt(), "mean {mean}");
    assert!((sd - 5.0).abs() < 5.0 * 5.0 / (2.0 * m).sqrt(), "std {sd}");
    // The normal law's mass within 1 and 2 standard deviations (both values of each
    // Box-Muller pair are used: odd and even targets alike).
    for (k, want) in [(1.0, 0.682_689), (2.0, 0.954_500)] {
        for parity in [0, 1] {
            let sel: Vec<f64> = out.iter().step_by(4).flat_map(|r| r.iter().skip(parity).step_by(2).copied()).collect();
            let f = sel.iter().filter(|&&x| (x - 20.0).abs() < 5.0 * k).count() as f64 / sel.len() as f64;
            assert!((f - want).abs() < 5.0 * (want * (1.0 - want) / sel.len() as f64).sqrt(), "within {k} sd (targets of parity {parity}): {f}, law {want}");
        }
    }
    let err = load_error(&scenario("lif", 5, "kind = \"noise_current\"\ntarget = \"P\"\nstd = \"-1 pA\""));
    assert_mentions(&err, &["encoder[0].std", ">= 0"]);
    let err = load_error(&scenario("lif", 5, "kind = \"noise_current\"\ntarget = \"P\"\nstd = \"1 pA\"\nevery = \"1.5 ms\""));
    assert_mentions(&err, &["encoder[0].every", "whole number of steps"]);
}

/// A shard draws only the targets it holds (`Encoder::step_range`): any range, odd starts
/// and ends included, gives the values the whole step gives there, and nothing elsewhere.
#[test]
fn a_range_of_targets_is_drawn_alone_with_the_whole_steps_values() {
    for body in ["kind = \"poisson_input\"\ntarget = \"P\"\nweight = \"1 mV\"\nn = 100\nrate = \"400 Hz\"", "kind = \"noise_current\"\ntarget = \"P\"\nstd = \"5 pA\"\nevery = \"2 ms\""] {
        let text = scenario("lif", 37, body);
        let whole = outputs(&text, 37, 6);
        let b = builder();
        let sc = Scenario::from_str(&text, std::path::Path::new("test.toml"), b.registry(), &LoadOptions::default()).unwrap();
        for range in [0..37, 0..1, 1..2, 3..10, 10..37, 36..37, 5..5] {
            let mut enc = sc.encoders[0].config.build();
            for (s, want) in whole.iter().enumerate() {
                let mut out = vec![0.0; 37];
                enc.step_range(s as u64, &mut out, range.clone());
                for j in 0..37 {
                    let w = if range.contains(&j) { want[j] } else { 0.0 };
                    assert_eq!(out[j].to_bits(), w.to_bits(), "{body}: range {range:?}, step {s}, target {j}");
                }
            }
        }
    }
}

#[test]
fn drives_give_the_same_bits_on_every_engine_shard_count_and_resume() {
    let text = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"40 ms\"\nseed = 3\n\n[[population]]\nname = \"P\"\nsize = 301\nmodel = \"lif_cond_exp\"\n\n\
        [[encoder]]\nname = \"exc\"\nkind = \"poisson_input\"\ntarget = \"P\"\nreceptor = \"exc\"\nn = 400\nrate = \"9 Hz\"\nweight = \"1 nS\"\n\n\
        [[encoder]]\nname = \"poisson\"\nkind = \"poisson_input\"\ntarget = \"P[100:]\"\nreceptor = \"inh\"\nrate = \"3 kHz\"\nweight = \"0.8 nS\"\n\n\
        [[encoder]]\nname = \"noise\"\nkind = \"noise_current\"\ntarget = \"P\"\nmean = \"250 pA\"\nstd = \"150 pA\"\nevery = \"0.5 ms\"\n\n\
        [[monitor]]\nname = \"spikes\"\nkind = \"spikes\"\ntarget = \"P\"\n";
    let b = builder();
    let spikes = |opts: &RunOptions| {
        let sc = Scenario::from_str(text, std::path::Path::new("test.toml"), b.registry(), &LoadOptions::default()).expect("load");
        let mut sim = b.build(sc, opts).expect("build");
        sim.run_to_end(u64::MAX, |_| {});
        let rec = sim.monitors.iter().find_map(|&e| sim.world.get::<spikeworld::monitor::SpikeRecorder>(e)).expect("spike monitor");
        (rec.t_ms(), rec.index())
    };
    let one = spikes(&RunOptions::default());
    assert!(one.0.len() > 100, "the drives make the population fire ({} spikes)", one.0.len());
    for (what, opts) in [
        ("2 shards", RunOptions { shards: 2, ..RunOptions::default() }),
        ("3 shards", RunOptions { shards: 3, ..RunOptions::default() }),
        ("tensor engine", RunOptions { engine: EngineKind::Tensor, ..RunOptions::default() }),
        ("device engine (host backend)", RunOptions { engine: EngineKind::Device, ..RunOptions::default() }),
    ] {
        assert_eq!(spikes(&opts), one, "{what}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("drive.toml");
    std::fs::write(&path, text).expect("write scenario");
    spikeworld::testing::check_resume(&b, &path, 170, dir.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("resume: {e}"));
}
