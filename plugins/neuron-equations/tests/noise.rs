//! White noise `xi` (stochastic equations): Euler–Maruyama and Heun against their
//! formulas computed here with the same draws, statistics against the exact
//! Ornstein–Uhlenbeck process, every engine and split, resume, and the refusals.

use spikeworld::prelude::*;

mod common;
use common::*;

const OU: &str = "equations = '''
dv/dt = (mu - v)/tau + sigma*sqrt(2/tau)*xi : volt
'''
params = { mu = \"-60 mV\", tau = \"10 ms\", sigma = \"3 mV\" }";

/// Euler–Maruyama (the default for additive noise): `dt*f + g*sqrt(dt)*n + v` with the
/// engine's draws `n`, the same bits on the cpu and device engines; the tensor engine to
/// rounding.
#[test]
fn euler_maruyama_is_its_formula() {
    let (n, steps, seed) = (4usize, 300usize, 11u64);
    let text = seeded(single(OU, n, "", "v = \"-60 mV\"", "30 ms", "\"v\""), seed);
    let (mu, tau, sigma, dt) = (-60.0f64, 10.0f64, 3.0f64, 0.1f64);
    let g = sigma * (2.0 / tau).sqrt();
    let want: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut v = mu;
            (0..steps)
                .map(|k| {
                    let dw = dt.sqrt() * draw(seed, 0, k as u64, i as u64);
                    v = dt * ((mu - v) / tau) + g * dw + v;
                    v
                })
                .collect()
        })
        .collect();
    for engine in [EngineKind::Cpu, EngineKind::Device, EngineKind::Tensor] {
        let (_, st) = run_with(&text, &RunOptions { engine, ..Default::default() });
        for (i, w) in want.iter().enumerate() {
            let got = of(&st[0][0], i, n);
            assert_eq!(got.len(), steps);
            for (k, (g, w)) in got.iter().zip(w).enumerate() {
                if engine == EngineKind::Tensor {
                    assert!((g - w).abs() <= 1e-12 * w.abs(), "{engine:?}: neuron {i}, step {k}: {g} vs {w}");
                } else {
                    assert_eq!(g.to_bits(), w.to_bits(), "{engine:?}: neuron {i}, step {k}: {g} vs {w}");
                }
            }
        }
    }
}

/// The Ornstein–Uhlenbeck process by Euler–Maruyama has mean `mu` and, at steps of `dt`,
/// the variance `sigma² / (1 − dt/(2 tau))` (its discrete stationary value): both checked
/// over 4000 neurons at 6 times (within 4.5 standard errors; the draws are fixed by the
/// seed, so this cannot flake), and neighbouring neurons are uncorrelated.
#[test]
fn the_ou_process_has_its_stationary_statistics() {
    let n = 4000usize;
    let text = seeded(single(OU, n, "", "v = \"-60 mV\"", "300 ms", "\"v\""), 5);
    let text = text.replace("variables = [\"v\"]", "variables = [\"v\"]\nevery = \"50 ms\"");
    let (_, st) = run(&text);
    let rows = &st[0][0];
    let (mu, sigma, dt, tau) = (-60.0f64, 3.0f64, 0.1f64, 10.0f64);
    let var_want = sigma * sigma / (1.0 - dt / (2.0 * tau));
    let samples = rows.len() / n;
    assert!(samples >= 6, "{samples} samples");
    for s in 1..samples {
        let x = &rows[s * n..(s + 1) * n];
        let mean = x.iter().sum::<f64>() / n as f64;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        let se_mean = (var_want / n as f64).sqrt();
        assert!((mean - mu).abs() < 4.5 * se_mean, "sample {s}: mean {mean} mV");
        let se_var = var_want * (2.0 / (n - 1) as f64).sqrt();
        assert!((var - var_want).abs() < 4.5 * se_var, "sample {s}: variance {var} mV², want {var_want}");
        let cov = x.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / (n - 1) as f64;
        assert!(cov.abs() / var < 4.5 / (n as f64).sqrt(), "sample {s}: neighbours correlate {}", cov / var);
    }
}

const GEOMETRIC: &str = "equations = '''
dx/dt = (a - x)/tau + s*x*xi*tau**-0.5 : 1
'''
params = { a = 1, s = 0.4, tau = \"10 ms\" }";

/// Multiplicative noise is integrated by Heun's Stratonovich scheme (the default for it,
/// as in Brian2): `s = g(x)·dW + x`, `x ← dt·f(x) + 0.5·dW·(g(x) + g(s)) + x`, the same
/// bits as computed here; `euler` is refused for it.
#[test]
fn heun_is_its_formula_for_multiplicative_noise() {
    let (n, steps, seed) = (3usize, 200usize, 3u64);
    let (a, s, tau, dt) = (1.0f64, 0.4f64, 10.0f64, 0.1f64);
    let c = tau.powf(-0.5);
    let g = |x: f64| s * x * c;
    let f = |x: f64| (a - x) / tau;
    for method in ["", "method = \"heun\""] {
        let text = seeded(single(&format!("{GEOMETRIC}\n{method}"), n, "", "x = [0.5, 1.0, 2.0]", "20 ms", "\"x\""), seed);
        for engine in [EngineKind::Cpu, EngineKind::Device] {
            let (_, st) = run_with(&text, &RunOptions { engine, ..Default::default() });
            for (i, x0) in [0.5f64, 1.0, 2.0].iter().enumerate() {
                let mut x = *x0;
                let got = of(&st[0][0], i, n);
                for (k, got) in got.iter().enumerate().take(steps) {
                    let dw = dt.sqrt() * draw(seed, 0, k as u64, i as u64);
                    let sup = g(x) * dw + x;
                    x = dt * f(x) + (0.5 * dw) * (g(x) + g(sup)) + x;
                    assert_eq!(got.to_bits(), x.to_bits(), "{method} {engine:?}: neuron {i}, step {k}: {got} vs {x}");
                }
            }
        }
    }
    let e = load_err(&single(&format!("{GEOMETRIC}\nmethod = \"euler\""), 1, "", "", "1 ms", "\"x\""));
    assert!(e.contains("multiplicative") && e.contains("heun") && e.contains("eq.toml:"), "{e}");
}

const TWO: &str = "equations = '''
dx/dt = -x/tau + a*xi_1 : volt
dy/dt = -y/tau + b*xi_1 + c*xi_2 : volt
'''
params = { tau = \"5 ms\", a = \"1 mV/ms**0.5\", b = \"2 mV/ms**0.5\", c = \"0.5 mV/ms**0.5\" }";

/// Each noise symbol is its own stream (in order of first appearance), and one symbol in
/// two equations is one draw, as in Brian2.
#[test]
fn noises_are_shared_by_name_and_independent_across_names() {
    let seed = 8u64;
    let (tau, a, b, c, dt) = (5.0f64, 1.0f64, 2.0f64, 0.5f64, 0.1f64);
    let text = seeded(single(TWO, 2, "", "", "10 ms", "\"x\", \"y\""), seed);
    let (_, st) = run(&text);
    for i in 0..2usize {
        let (mut x, mut y) = (0.0f64, 0.0f64);
        for k in 0..100usize {
            let dw1 = dt.sqrt() * draw(seed, 0, k as u64, i as u64);
            let dw2 = dt.sqrt() * draw(seed, 1, k as u64, i as u64);
            x = dt * (-x / tau) + a * dw1 + x;
            y = dt * (-y / tau) + b * dw1 + c * dw2 + y;
            assert_eq!(of(&st[0][0], i, 2)[k].to_bits(), x.to_bits(), "x, neuron {i}, step {k}");
            assert_eq!(of(&st[0][1], i, 2)[k].to_bits(), y.to_bits(), "y, neuron {i}, step {k}");
        }
    }
}

const NOISY_LIF: &str = "equations = '''
dv/dt = (mu - v)/tau + sigma*sqrt(2/tau)*xi : volt (unless refractory)
'''
threshold = \"v > -50*mV\"
reset = \"v = -60*mV\"
refractory = \"2 ms\"
params = { mu = \"-52 mV\", tau = \"10 ms\", sigma = \"4 mV\" }";

/// Noise-driven spikes are the same bits on 1 and 2 threads, in 1, 2 and 3 shards, on the
/// cpu and device engines (each neuron's draws are keyed by its population index), and a
/// resumed run equals one that never stopped.
#[test]
fn any_split_and_a_resume_draw_the_same_noise() {
    let text = seeded(single(NOISY_LIF, 9000, "", "v = \"-60 mV\"", "40 ms", "\"v\"").replace("target = \"n\"\nvariables", "target = \"n[0:7]\"\nvariables"), 21);
    let base = run(&text);
    assert!(base.0.len() > 9000, "{} spikes", base.0.len());
    for opts in [
        RunOptions { threads: 2, threads_as_shards: false, ..Default::default() },
        RunOptions { threads: 2, ..Default::default() },
        RunOptions { shards: 3, ..Default::default() },
        RunOptions { engine: EngineKind::Device, ..Default::default() },
    ] {
        let got = run_with(&text, &opts);
        assert!(got.0 == base.0, "{opts:?}: {} spikes against {}", got.0.len(), base.0.len());
        assert!(got.1 == base.1, "{opts:?}: states differ");
    }
    let dir = std::env::temp_dir().join(format!("sw_eq_noise_resume_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("noise.toml");
    std::fs::write(&path, seeded(single(NOISY_LIF, 50, "", "v = \"-60 mV\"", "60 ms", "\"v\""), 4)).unwrap();
    spikeworld::testing::check_resume(&spikeworld_cli::builder(), &path, 277, &dir, &RunOptions::default()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without noise `heun` and `milstein` are Euler's step (as in Brian2).
#[test]
fn heun_and_milstein_without_noise_are_euler() {
    let m = "equations = \"dv/dt = (-65*mV - v)/(7*ms) : volt\"";
    let a = run(&single(&format!("{m}\nmethod = \"euler\""), 1, "", "v = \"-40 mV\"", "5 ms", "\"v\""));
    for method in ["heun", "milstein"] {
        let b = run(&single(&format!("{m}\nmethod = \"{method}\""), 1, "", "v = \"-40 mV\"", "5 ms", "\"v\""));
        assert_eq!(a.1, b.1, "{method}");
    }
}

/// What Brian2 refuses, and noise where it cannot be: refused, located, with the reason.
#[test]
fn misplaced_or_unsupported_noise_is_refused() {
    let cases = [
        (format!("{OU}\nmethod = \"rk4\""), "`rk4` cannot integrate stochastic equations"),
        (format!("{OU}\nmethod = \"exact\""), "`exact` cannot integrate stochastic equations"),
        (format!("{OU}\nmethod = \"exponential_euler\""), "cannot integrate stochastic equations"),
        ("equations = \"dv/dt = -v/ms + xi*xi*mV/ms : volt\"".to_string(), "not linear in the white noise `xi` (a product of it with itself)"),
        ("equations = \"dv/dt = -v/ms + exp(xi*ms**0.5)*mV/ms : volt\"".to_string(), "`exp` of it"),
        ("equations = \"dv/dt = -v/ms + xi*xi_2*mV : volt\"".to_string(), "multiplies the white noises"),
        ("equations = '''\ndv/dt = -v/ms + s*mV/ms : volt\ns = xi*ms**0.5 : 1\n'''".to_string(), "may appear only in differential equations"),
        (format!("{OU}\nthreshold = \"v > xi*mV*ms**0.5\""), "may appear only in differential equations"),
        (format!("{OU}\nthreshold = \"v > -50*mV\"\nreset = \"v = xi_2*mV*ms**0.5\""), "`xi_2` may appear only in differential equations"),
        ("equations = \"dv/dt = -v/ms + xi*mV/ms : volt\"".to_string(), "d v/dt"),
        ("equations = '''\ndv/dt = -v/ms : volt\ndxi_1/dt = -xi_1/ms : 1\n'''".to_string(), "reserves"),
        ("equations = '''\ndv/dt = -v/ms + w*xi : volt\nw : volt/second**0.5\n'''".to_string(), "a half power of a unit is for terms"),
    ];
    for (model, want) in cases {
        let e = load_err(&single(&model, 1, "", "", "1 ms", "\"v\""));
        if want == "d v/dt" {
            // A noise term in the wrong dimension: the equation's dimension error.
            assert!(e.contains("volt/second and volt·second^-1.5: the dimensions differ"), "{model}: {e}");
        } else {
            assert!(e.contains(want), "{model}:\nwant `{want}` in: {e}");
        }
        assert!(e.contains("eq.toml:"), "{model}: not located: {e}");
    }
}

/// Against Brian2 2.9 running the same stochastic equations (`tests/fixtures/
/// make_brian2_noise.py` writes `brian2_noise.json`): Brian2 draws its own numbers, so
/// the two agree in distribution. For a noise-driven LIF by Euler–Maruyama and a
/// multiplicative (Stratonovich) process by Heun and by Milstein: the mean and standard deviation over
/// the neurons of the variable at four times, and of the spike counts, within 4.5
/// combined standard errors (the standard deviation's taken as σ·√(2/(n−1)), doubled for
/// the skewed multiplicative cases). A wrong `√dt`, Itô for Stratonovich (a mean lower
/// by 0.08 here, 10 standard errors) or correlated draws fail it.
#[test]
fn statistics_match_brian2() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brian2_noise.json");
    let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let s = |k: &str| c[k].as_str().unwrap().to_string();
        let name = s("name");
        let n = c["n"].as_u64().unwrap() as usize;
        let var = s("var");
        let mut model = format!("equations = '''\n{}\n'''\nmethod = \"{}\"\n", s("equations"), s("method"));
        if !s("threshold").is_empty() {
            model += &format!("threshold = \"{}\"\nreset = \"{}\"\nrefractory = \"{} ms\"\n", s("threshold"), s("reset"), c["refractory_ms"]);
        }
        let params: Vec<String> = c["constants"].as_object().unwrap().iter().map(|(k, v)| format!("{k} = \"{}\"", v.as_str().unwrap())).collect();
        model += &format!("params = {{ {} }}", params.join(", "));
        let text = seeded(single(&model, n, "", &format!("{var} = \"{}\"", s("init")), &format!("{} ms", c["t_stop_ms"]), &format!("\"{var}\"")), 99);
        // No state monitor: the samples are read at their steps.
        let text = text[..text.find("[[monitor]]\nname = \"st\"").unwrap()].to_string() + "[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n";
        let b = spikeworld_cli::builder();
        let mut sim = b.build(load(&text).unwrap(), &RunOptions::default()).unwrap();
        let mut done = 0u64;
        for sample in c["samples"].as_array().unwrap() {
            let step = sample["step"].as_u64().unwrap();
            sim.run_steps(step + 1 - done);
            done = step + 1;
            let x = sim.state("n", &var).unwrap();
            let mean = x.iter().sum::<f64>() / n as f64;
            let sd = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt();
            let (bm, bs) = (sample["mean"].as_f64().unwrap(), sample["std"].as_f64().unwrap());
            let se_mean = ((sd * sd + bs * bs) / n as f64).sqrt();
            let skew = if name.starts_with("geometric") { 2.0 } else { 1.0 };
            let se_sd = skew * ((sd * sd + bs * bs) / (n - 1) as f64 / 2.0).sqrt();
            assert!((mean - bm).abs() < 4.5 * se_mean, "{name}, step {step}: mean {mean}, Brian2 {bm} (se {se_mean})");
            assert!((sd - bs).abs() < 4.5 * se_sd, "{name}, step {step}: std {sd}, Brian2 {bs} (se {se_sd})");
        }
        sim.run_to_end(u64::MAX, |_| {});
        let rec = sim.monitors.iter().find_map(|&e| sim.world.get::<spikeworld::monitor::SpikeRecorder>(e)).unwrap();
        let mut counts = vec![0f64; n];
        for i in rec.index() {
            counts[i as usize] += 1.0;
        }
        let mean = counts.iter().sum::<f64>() / n as f64;
        let sd = (counts.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt();
        let (bm, bs) = (c["count_mean"].as_f64().unwrap(), c["count_std"].as_f64().unwrap());
        let se = ((sd * sd + bs * bs) / n as f64).sqrt().max(1e-12);
        assert!((mean - bm).abs() < 4.5 * se, "{name}: {mean} spikes per neuron, Brian2 {bm} (se {se})");
        eprintln!("{name}: spikes per neuron {mean:.3} (Brian2 {bm:.3}), sd {sd:.3} ({bs:.3})");
    }
}
