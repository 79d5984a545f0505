//! Each encoder against its definition (SpikingFlow.encoding): the reference spike times
//! are computed here from the formulas, in the test's own loops, and compared with what
//! the encoder emits step by step (exactly: the times are whole steps).

mod common;
use common::*;

use spikeworld::prelude::*;

/// Outputs spiking in each step of `0..steps` for a pattern of period `t_max` in which
/// output `i` spikes at phase `times[i]` (`None`: never).
fn periodic_reference(times: &[Option<u64>], t_max: u64, steps: u64) -> Vec<Vec<u32>> {
    (0..steps)
        .map(|s| (0..times.len() as u32).filter(|&i| times[i as usize] == Some(s % t_max)).collect())
        .collect()
}

fn list(x: &[f64]) -> String {
    let items: Vec<String> = x.iter().map(|v| format!("{v:?}")).collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------------------
// constant

#[test]
fn constant_spikes_every_step_where_x_is_positive() {
    let x = [0.5, 0.0, -1.0, 2.0, 1e-9, -0.0];
    let body = format!("kind = \"constant\"\nsize = 6\nvalues = {}\nstart = \"0.3 ms\"\nstop = \"1.5 ms\"", list(&x));
    let got = run_encoder(&body, 25);
    for (s, spikes) in got.iter().enumerate() {
        let want: Vec<u32> = if (3..15).contains(&s) { (0..6).filter(|&i| x[i as usize] > 0.0).collect() } else { vec![] };
        assert_eq!(spikes, &want, "step {s}: x > 0 spikes in every step of [3, 15)");
    }
    // A single value is for every output.
    let all = run_encoder("kind = \"constant\"\nsize = 4\nvalues = 1", 3);
    assert_eq!(all, vec![vec![0, 1, 2, 3]; 3]);
}

// ---------------------------------------------------------------------------------------
// periodic

#[test]
fn periodic_repeats_the_pattern_rows() {
    let pattern = [[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 1, 1]];
    let rows: Vec<String> = pattern.iter().map(|r| format!("[{}]", r.map(|v| v.to_string()).join(", "))).collect();
    let body = format!("kind = \"periodic\"\nsize = 4\npattern = [{}]\nstart = \"0.2 ms\"", rows.join(", "));
    let got = run_encoder(&body, 20);
    for (s, spikes) in got.iter().enumerate() {
        let want: Vec<u32> = if s < 2 { vec![] } else { (0..4).filter(|&i| pattern[(s - 2) % 3][i as usize] == 1).collect() };
        assert_eq!(spikes, &want, "step {s}: row (s - start) mod T of the pattern");
    }
}

#[test]
fn periodic_reads_a_bool_pattern_from_npy() {
    let dir = tempfile::tempdir().unwrap();
    let (t, n) = (5u64, 7u64);
    let bit = |k: u64, i: u64| (k * 3 + i * i) % 4 == 0;
    let values: Vec<f64> = (0..t).flat_map(|k| (0..n).map(move |i| if bit(k, i) { 1.0 } else { 0.0 })).collect();
    write_npy_f64(&dir.path().join("p.npy"), &[t, n], &values);
    let cfg = parse_encoder_in(dir.path(), "kind = \"periodic\"\nsize = 7\nfile = \"p.npy\"").expect("parse");
    let got = step_encoder(&mut *cfg.build(), 0, 17);
    for (s, spikes) in got.iter().enumerate() {
        let want: Vec<u32> = (0..n).filter(|&i| bit(s as u64 % t, i)).map(|i| i as u32).collect();
        assert_eq!(spikes, &want, "step {s}");
    }
}

// ---------------------------------------------------------------------------------------
// latency

/// SpikingFlow's LatencyEncoder with torch.round (halves to even).
fn latency_reference(x: f64, t_max: u64, log: bool) -> u64 {
    let last = (t_max - 1) as f64;
    let t = if log {
        let alpha = last.exp() - 1.0;
        last - (alpha * x + 1.0).ln()
    } else {
        last * (1.0 - x)
    };
    let r = t.round_ties_even();
    assert!((0.0..=last).contains(&r.abs()), "reference time {r} outside the period");
    r.abs() as u64
}

#[test]
fn latency_linear_and_log_match_their_formulas() {
    let x = [0.0, 0.001, 0.01, 0.1, 0.25, 0.333, 0.5, 0.6, 0.77, 0.9, 0.999, 1.0];
    for (function, log) in [("linear", false), ("log", true)] {
        for t_max in [2u64, 7, 20, 64] {
            let body = format!("kind = \"latency\"\nsize = {}\nvalues = {}\nt_max = {t_max}\nfunction_type = \"{function}\"", x.len(), list(&x));
            let times: Vec<Option<u64>> = x.iter().map(|&v| Some(latency_reference(v, t_max, log))).collect();
            let got = run_encoder(&body, 3 * t_max + 1);
            assert_eq!(got, periodic_reference(&times, t_max, 3 * t_max + 1), "{function}, t_max = {t_max}: times {times:?}");
        }
    }
}

#[test]
fn latency_known_values() {
    // linear, t_max = 20: t = 19 (1 - x); 9.5 rounds to even (10), 14.25 to 14.
    let lin = run_encoder("kind = \"latency\"\nsize = 4\nvalues = [1.0, 0.5, 0.25, 0.0]\nt_max = 20", 20);
    let first: Vec<u64> = (0..4).map(|i| lin.iter().position(|s| s.contains(&i)).unwrap() as u64).collect();
    assert_eq!(first, [0, 10, 14, 19]);
    // t_max = 22, x = 0.5: 21 / 2 = 10.5 rounds to even, 10 (torch.round), not 11.
    let tie = run_encoder("kind = \"latency\"\nsize = 1\nvalues = 0.5\nt_max = 22", 22);
    assert_eq!(tie.iter().position(|s| s.contains(&0)), Some(10));
    // log, t_max = 20: t = 19 - ln((e^19 - 1) x + 1) = 0, ln 2 = 0.69, 4.61, 6.91, 19.
    let log = run_encoder("kind = \"latency\"\nsize = 5\nvalues = [1.0, 0.5, 0.01, 0.001, 0.0]\nt_max = 20\nfunction_type = \"log\"", 20);
    let first: Vec<u64> = (0..5).map(|i| log.iter().position(|s| s.contains(&i)).unwrap() as u64).collect();
    assert_eq!(first, [0, 1, 5, 7, 19]);
    // Each output spikes exactly once per period.
    assert_eq!(log.iter().map(Vec::len).sum::<usize>(), 5);
}

#[test]
fn latency_log_at_the_largest_t_max() {
    // alpha = e^709 - 1 is the largest finite one.
    let got = run_encoder("kind = \"latency\"\nsize = 3\nvalues = [1.0, 0.5, 0.0]\nt_max = 710\nfunction_type = \"log\"", 710);
    let first: Vec<u64> = (0..3).map(|i| got.iter().position(|s| s.contains(&i)).unwrap() as u64).collect();
    assert_eq!(first, [0, latency_reference(0.5, 710, true), 709]);
    assert_eq!(first[1], 1, "709 - ln(0.5 e^709 + 0.5) = ln 2 rounds to 1");
}

// ---------------------------------------------------------------------------------------
// gaussian_tuning

/// Bohte et al. (2002) as the issue writes it (j = first..first + m; first = 1 for Bohte,
/// 0 for SpikingFlow's code): per output, its spike phase, or `None`.
fn gaussian_reference(x: &[f64], x_min: &[f64], x_max: &[f64], m: usize, t_max: u64, first: usize) -> Vec<Option<u64>> {
    let beta = 1.5;
    let mut out = Vec::new();
    for (v, &xv) in x.iter().enumerate() {
        let f = v % x_min.len();
        let (lo, hi) = (x_min[f], x_max[f]);
        let sigma = (hi - lo) / (beta * (m as f64 - 2.0));
        for j in first..first + m {
            let mu = lo + (2.0 * j as f64 - 3.0) / 2.0 * (hi - lo) / (m as f64 - 2.0);
            let g = (-(xv - mu).powi(2) / (2.0 * sigma.powi(2))).exp();
            let t = ((t_max - 1) as f64 * (1.0 - g)).round_ties_even();
            out.push(if t >= (t_max - 1) as f64 { None } else { Some(t as u64) });
        }
    }
    out
}

#[test]
fn gaussian_tuning_matches_bohte() {
    // Two samples of three features, each feature its own range.
    let x_min = [0.0, -1.0, 10.0];
    let x_max = [1.0, 3.0, 10.5];
    let x = [0.2, 2.5, 10.0, 1.0, -1.0, 10.37];
    for (m, t_max) in [(3usize, 11u64), (5, 10), (8, 50), (12, 7)] {
        for (centres, first) in [("bohte", 1usize), ("spikingflow", 0)] {
            let body = format!(
                "kind = \"gaussian_tuning\"\nsize = {}\nvalues = [{}, {}]\nx_min = {}\nx_max = {}\ncurves = {m}\nt_max = {t_max}\ncentres = \"{centres}\"",
                x.len() * m,
                list(&x[..3]),
                list(&x[3..]),
                list(&x_min),
                list(&x_max)
            );
            let times = gaussian_reference(&x, &x_min, &x_max, m, t_max, first);
            assert!(times.iter().any(Option::is_some) && times.iter().any(Option::is_none) || m == 3, "a useful case has spikes and silences: {times:?}");
            let got = run_encoder(&body, 2 * t_max + 3);
            assert_eq!(got, periodic_reference(&times, t_max, 2 * t_max + 3), "m = {m}, t_max = {t_max}, centres = {centres}: times {times:?}");
        }
    }
}

#[test]
fn gaussian_tuning_known_values() {
    // m = 3 on [0, 1]: centres -0.5, 0.5, 1.5, sigma = 1/1.5; t_max = 11.
    // x = 0.5: g = e^-1.125 = 0.325, 1, 0.325 -> t = round(10 (1 - g)) = 7, 0, 7.
    // x = 0:   g = 0.755, 0.755, 0.0796 -> 2, 2, 9.   x = 1: 9, 2, 2.
    let got = run_encoder("kind = \"gaussian_tuning\"\nsize = 9\nvalues = [0.5, 0.0, 1.0]\nx_min = 0\nx_max = 1\ncurves = 3\nt_max = 11", 11);
    let times: Vec<Option<u64>> = (0..9).map(|i| got.iter().position(|s| s.contains(&i)).map(|s| s as u64)).collect();
    let want = [7, 0, 7, 2, 2, 9, 9, 2, 2].map(Some);
    assert_eq!(times, want);
    // SpikingFlow's code (j = 0..m-1): centres -1.5, -0.5, 0.5. x = 0.5: g = e^-4.5 -> 9.89 -> 10 = t_max - 1: no spike.
    let got = run_encoder("kind = \"gaussian_tuning\"\nsize = 3\nvalues = 0.5\nx_min = 0\nx_max = 1\ncurves = 3\nt_max = 11\ncentres = \"spikingflow\"", 11);
    let times: Vec<Option<u64>> = (0..3).map(|i| got.iter().position(|s| s.contains(&i)).map(|s| s as u64)).collect();
    assert_eq!(times, [None, Some(7), Some(0)]);
}

#[test]
fn gaussian_tuning_reads_samples_from_npy() {
    let dir = tempfile::tempdir().unwrap();
    let x = [0.1, -1.5, 0.4, 0.0, 0.75, 1.2, 1.0, 2.0];
    write_npy_f64(&dir.path().join("x.npy"), &[4, 2], &x);
    let cfg = parse_encoder_in(dir.path(), "kind = \"gaussian_tuning\"\nsize = 48\nfile = \"x.npy\"\nx_min = [0, -2]\nx_max = [1, 2]\ncurves = 6\nt_max = 100").expect("parse");
    let got = step_encoder(&mut *cfg.build(), 0, 250);
    let times = gaussian_reference(&x, &[0.0, -2.0], &[1.0, 2.0], 6, 100, 1);
    assert_eq!(got, periodic_reference(&times, 100, 250));
}

// ---------------------------------------------------------------------------------------
// poisson, probability per step

/// A sum of Bernoulli(p) over `n` steps lies within 7 standard deviations (a chance below
/// 1e-11 per output of failing with a correct encoder).
fn within_binomial(k: u64, n: u64, p: f64) -> bool {
    let (n, k) = (n as f64, k as f64);
    (k - n * p).abs() <= 7.0 * (n * p * (1.0 - p)).sqrt()
}

#[test]
fn poisson_p_spikes_with_probability_p_per_step() {
    let p = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1.0];
    let steps = 40_000u64;
    let body = format!("kind = \"poisson\"\nsize = {}\np = {}", p.len(), list(&p));
    let got = run_encoder(&body, steps);
    for (i, &pi) in p.iter().enumerate() {
        let train: Vec<bool> = got.iter().map(|s| s.contains(&(i as u32))).collect();
        let k = train.iter().filter(|&&b| b).count() as u64;
        if pi == 0.0 {
            assert_eq!(k, 0, "p = 0 never spikes");
        } else if pi == 1.0 {
            assert_eq!(k, steps, "p = 1 spikes in every step");
        } else {
            assert!(within_binomial(k, steps, pi), "output {i}: {k} spikes in {steps} steps at p = {pi} (expected {})", steps as f64 * pi);
            // Steps are independent: both of two consecutive steps spike with probability p^2.
            let pairs = train.windows(2).filter(|w| w[0] && w[1]).count() as f64;
            let n = (steps - 1) as f64;
            let var = n * pi * pi * (1.0 - pi * pi) + 2.0 * n * (pi.powi(3) - pi.powi(4));
            assert!((pairs - n * pi * pi).abs() <= 7.0 * var.sqrt() + 1.0, "output {i}: {pairs} consecutive pairs at p = {pi} (expected {})", n * pi * pi);
        }
    }
    // The output is a pure function of (seed, encoder, output): a second build repeats it.
    assert_eq!(run_encoder(&body, 2000), got[..2000].to_vec());
}

#[test]
fn poisson_p_from_npy_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let p: Vec<f64> = (0..30).map(|i| i as f64 / 60.0).collect();
    write_npy_f64(&dir.path().join("p.npy"), &[30], &p);
    let cfg = parse_encoder_in(dir.path(), "kind = \"poisson\"\nsize = 30\nfile = \"p.npy\"\nstart = \"1 ms\"").expect("parse");
    let inline = parse_encoder(&format!("kind = \"poisson\"\nsize = 30\np = {}\nstart = \"1 ms\"", list(&p))).expect("parse");
    let mut a = cfg.build();
    let whole = step_encoder(&mut *a, 0, 3000);
    assert_eq!(step_encoder(&mut *inline.build(), 0, 3000), whole, "file and inline give the same spikes");
    assert!(whole[..10].iter().all(Vec::is_empty), "nothing before start");
    // Resume at any step continues exactly.
    for split in [10u64, 777, 2999] {
        let mut first = cfg.build();
        let head = step_encoder(&mut *first, 0, split);
        let mut resumed = resume(&cfg, &*first);
        let tail = step_encoder(&mut *resumed, split, 3000);
        assert_eq!([head, tail].concat(), whole, "resumed at step {split}");
    }
}

#[test]
fn poisson_rate_form_is_unchanged() {
    // The rate form still spikes with probability rate * dt (here 0.1 per step).
    let got = run_encoder("kind = \"poisson\"\nsize = 3\nrate = \"1000 Hz\"", 30_000);
    for i in 0..3u32 {
        let k = got.iter().filter(|s| s.contains(&i)).count() as u64;
        assert!(within_binomial(k, 30_000, 0.1), "output {i}: {k} spikes");
    }
}

// ---------------------------------------------------------------------------------------
// constant_current in the receptor's dimension

fn parse_current(body: &str, dim: Dim) -> Result<Vec<f64>, String> {
    let b = builder();
    let f = b.registry().encoders.get("constant_current").expect("registered").clone();
    let doc = spikeworld::util::node::parse_document("t.toml", body).map_err(|e| e.to_string())?;
    let mut t = Table::new(&doc, "encoder[c]").map_err(|e| e.to_string())?;
    let ctx = EncoderCtx { seed: 1, entity: 2, dt_ms: 0.1, size: 2, base_dir: ".".into(), receptor_dim: Some(dim) };
    let cfg = f.parse(&mut t, &ctx).map_err(|e| e.to_string())?;
    let mut enc = cfg.build();
    let mut out = vec![0.0; 2];
    enc.step(0, EncoderOut::Current(&mut out));
    Ok(out)
}

#[test]
fn constant_current_reads_the_receptor_dimension() {
    assert_eq!(parse_current("amplitude = 0.1", Dim::Dimensionless).unwrap(), [0.1, 0.1]);
    assert_eq!(parse_current("amplitude = [0.1, -0.25]", Dim::Dimensionless).unwrap(), [0.1, -0.25]);
    assert_eq!(parse_current("amplitude = \"200 pA\"", Dim::Current).unwrap(), [200.0, 200.0]);
    assert_eq!(parse_current("amplitude = \"0.2 nA\"", Dim::Current).unwrap(), [200.0, 200.0]);
    let e = parse_current("amplitude = \"200 pA\"", Dim::Dimensionless).unwrap_err();
    assert_mentions(&e, &["amplitude"]);
}

// ---------------------------------------------------------------------------------------
// errors

#[test]
fn bad_inputs_are_refused_with_the_key() {
    let cases: &[(&str, &[&str])] = &[
        // latency
        ("kind = \"latency\"\nsize = 2\nvalues = [0.5, 1.2]\nt_max = 10", &["values", "values[1] = 1.2", "[0, 1]"]),
        ("kind = \"latency\"\nsize = 2\nvalues = [-0.1, 0.5]\nt_max = 10", &["values[0] = -0.1"]),
        ("kind = \"latency\"\nsize = 1\nvalues = 0.5\nt_max = 711\nfunction_type = \"log\"", &["t_max", "overflow", "710"]),
        ("kind = \"latency\"\nsize = 1\nvalues = 0.5\nt_max = 1", &["t_max", "between 2"]),
        ("kind = \"latency\"\nsize = 1\nvalues = 0.5", &["t_max", "missing"]),
        ("kind = \"latency\"\nsize = 1\nvalues = 0.5\nt_max = 5\nfunction_type = \"exp\"", &["function_type", "linear, log"]),
        ("kind = \"latency\"\nsize = 3\nvalues = [0.5, 0.2]\nt_max = 5", &["size = 3", "2 values"]),
        ("kind = \"latency\"\nsize = 1\nt_max = 5", &["values", "missing"]),
        // poisson
        ("kind = \"poisson\"\nsize = 2\np = [0.5, 1.5]", &["p", "p[1] = 1.5", "probability"]),
        ("kind = \"poisson\"\nsize = 2\np = -0.5", &["`p` = -0.5"]),
        ("kind = \"poisson\"\nsize = 2\np = 0.5\nrate = \"5 Hz\"", &["not both"]),
        ("kind = \"poisson\"\nsize = 2", &["rate", "missing"]),
        ("kind = \"poisson\"\nsize = 4\np = [0.1, 0.2]", &["size = 4", "2 values"]),
        ("kind = \"poisson\"\nsize = 2\np = 0.5\nstart = \"2 ms\"\nstop = \"2 ms\"", &["stop", "must be after start (2 ms)"]),
        // constant
        ("kind = \"constant\"\nsize = 3\nvalues = [1, 0]", &["values", "size = 3", "2 values"]),
        ("kind = \"constant\"\nsize = 3\nvalues = \"x.npy\"", &["values"]),
        // periodic
        ("kind = \"periodic\"\nsize = 3\npattern = [[1, 0, 1], [0, 2, 0]]", &["pattern", "2", "only 0 and 1"]),
        ("kind = \"periodic\"\nsize = 3\npattern = [[1, 0], [0, 1]]", &["pattern", "[T, 3]", "[2, 2]"]),
        ("kind = \"periodic\"\nsize = 3\npattern = [[1, 0, 1], [0, 1]]", &["pattern", "row 1", "same length"]),
        // gaussian_tuning
        ("kind = \"gaussian_tuning\"\nsize = 10\nvalues = [0.5, 0.2]\nx_min = 0\nx_max = 1\ncurves = 4\nt_max = 10", &["size = 10", "2 values × 4 curves = 8"]),
        ("kind = \"gaussian_tuning\"\nsize = 4\nvalues = [0.5, 0.2]\nx_min = 0\nx_max = 1\ncurves = 2\nt_max = 10", &["curves", "at least 3"]),
        ("kind = \"gaussian_tuning\"\nsize = 6\nvalues = [0.5, 0.2]\nx_min = [0, 1]\nx_max = [1, 1]\ncurves = 3\nt_max = 10", &["x_max", "feature 1", "greater than x_min"]),
        ("kind = \"gaussian_tuning\"\nsize = 6\nvalues = [0.5, 1.2]\nx_min = 0\nx_max = 1\ncurves = 3\nt_max = 10", &["values[1] = 1.2", "[0, 1]"]),
        ("kind = \"gaussian_tuning\"\nsize = 9\nvalues = [0.5, 0.2, 0.1]\nx_min = [0, 0]\nx_max = [1, 1]\ncurves = 3\nt_max = 10", &["2 features"]),
        ("kind = \"gaussian_tuning\"\nsize = 6\nvalues = [0.5, 0.2]\nx_min = [0, 0]\nx_max = [1, 1, 1]\ncurves = 3\nt_max = 10", &["x_max", "3 values", "2 for x_min"]),
        ("kind = \"gaussian_tuning\"\nsize = 6\nvalues = [0.5, 0.2]\nx_min = 0\nx_max = 1\ncurves = 3\nt_max = 10\nbeta = 0", &["beta", "> 0"]),
        ("kind = \"gaussian_tuning\"\nsize = 6\nvalues = [0.5, 0.2]\nx_min = 0\nx_max = 1\ncurves = 3\nt_max = 10\ncentres = \"x\"", &["centres", "bohte, spikingflow"]),
        // files
        ("kind = \"latency\"\nsize = 2\nfile = \"no_such_file.npy\"\nt_max = 10", &["file", "cannot read", "no_such_file.npy"]),
        ("kind = \"latency\"\nsize = 2\nvalues = [0.1, 0.2]\nfile = \"x.npy\"\nt_max = 10", &["file", "not both"]),
        ("kind = \"latency\"\nsize = 2\nvalues = [0.1, 0.2]\nt_max = 10\nfoo = 1", &["foo", "unknown key"]),
    ];
    for (body, parts) in cases {
        let e = parse_error(body);
        assert_mentions(&e, parts);
    }
}

#[test]
fn bad_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.npy"), b"not an npy file at all").unwrap();
    write_npy_f64(&dir.path().join("nan.npy"), &[2], &[0.5, f64::NAN]);
    write_npy_f64(&dir.path().join("big.npy"), &[3], &[0.5, 0.1, 3.0]);
    write_npy_f64(&dir.path().join("flat.npy"), &[6], &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
    // A first line `nan,0` is a spike (refused), not a header; a device is not a file (it
    // was read until memory ran out).
    std::fs::write(dir.path().join("first_nan.csv"), "nan,0\n1.0,1\n").unwrap();
    std::fs::create_dir(dir.path().join("a_dir.csv")).unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("kind = \"spike_generator\"\nsize = 2\nfile = \"first_nan.csv\"", &["first_nan.csv:1:1", "NaN", "finite"]),
        ("kind = \"spike_generator\"\nsize = 2\nfile = \"a_dir.csv\"", &["encoder[0].file", "not a regular file"]),
        ("kind = \"spike_generator\"\nsize = 2\nfile = \"/dev/zero\"", &["encoder[0].file", "/dev/zero", "not a regular file"]),
        ("kind = \"latency\"\nsize = 2\nfile = \"junk.npy\"\nt_max = 10", &["file", "junk.npy", "not a readable .npy"]),
        ("kind = \"latency\"\nsize = 2\nfile = \"nan.npy\"\nt_max = 10", &["file", "element 1", "finite"]),
        ("kind = \"poisson\"\nsize = 3\nfile = \"big.npy\"", &["file", "element 2 (C order) of big.npy = 3", "probability"]),
        ("kind = \"periodic\"\nsize = 3\nfile = \"flat.npy\"", &["file", "[T, 3]", "[6]"]),
    ];
    for (body, parts) in cases {
        let e = match parse_encoder_in(dir.path(), body) {
            Ok(_) => panic!("should be refused:\n{body}"),
            Err(e) => e,
        };
        assert_mentions(&e, parts);
    }
}
