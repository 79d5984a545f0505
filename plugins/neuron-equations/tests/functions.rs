//! C99's functions, Brian2's `exprel`, `sign` and `int`, the time `t`, and
//! `method = "exponential_euler"`: each against its formula computed here.

use std::f64::consts::PI;

use spikeworld::prelude::*;

mod common;
use common::*;

/// Brian2's `exprel` (its C++ implementation).
fn exprel(x: f64) -> f64 {
    if x.abs() < 1e-16 {
        1.0
    } else if x > 717.0 {
        f64::INFINITY
    } else {
        x.exp_m1() / x
    }
}

/// Brian2's `sign`: `(0 < x) - (x < 0)`.
fn sign(x: f64) -> f64 {
    ((0.0 < x) as i32 - (x < 0.0) as i32) as f64
}

const FUNCTIONS: &str = "equations = '''
dx/dt = (sin(x) + cos(2*x) + tan(x/4) + sinh(x/3) + cosh(x/5) + tanh(x) + arcsin(x/10) + arccos(x/10) + arctan(x) + expm1(x/7) + log1p(x*x) + log10(x*x + 1) + floor(3*x) + ceil(2*x) + sign(x - 0.25) + exprel(x - 0.25) + int(4*x) + int(x > 0))/tau : 1
'''
method = \"euler\"
params = { tau = \"200 ms\" }";

/// Every function, by forward Euler, on every engine: the cpu and device engines give the
/// bits of the formula computed here with Rust's `f64` functions (the C library's), the
/// tensor engine (burn's functions) agrees to rounding.
#[test]
fn functions_are_c99s_and_brian2s() {
    let x0 = [0.3, 0.25, -0.7, 0.05, 0.6];
    let init = format!("x = [{}]", x0.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "));
    let text = single(FUNCTIONS, x0.len(), "", &init, "15 ms", "\"x\"");
    let f = |x: f64| {
        (x.sin() + (2.0 * x).cos() + (x / 4.0).tan() + (x / 3.0).sinh() + (x / 5.0).cosh() + x.tanh() + (x / 10.0).asin() + (x / 10.0).acos() + x.atan() + (x / 7.0).exp_m1() + (x * x).ln_1p() + (x * x + 1.0).log10()
            + (3.0 * x).floor()
            + (2.0 * x).ceil()
            + sign(x - 0.25)
            + exprel(x - 0.25)
            + (4.0 * x).trunc()
            + if x > 0.0 { 1.0 } else { 0.0 })
            / 200.0
    };
    let want: Vec<Vec<f64>> = x0
        .iter()
        .map(|&x| {
            let mut x = x;
            (0..150)
                .map(|_| {
                    x = 0.1 * f(x) + x;
                    x
                })
                .collect()
        })
        .collect();
    // Finite, and crossing the functions' kinks (floor, ceil, sign, int).
    assert!(want.iter().flatten().all(|x| x.is_finite()), "{:?}", want.iter().map(|w| (w[0], w[149])).collect::<Vec<_>>());
    for kink in [0.25, 1.0 / 3.0, 0.5, 1.0] {
        assert!(want.iter().any(|w| w[0] < kink && w[149] > kink), "{kink}: {:?}", want.iter().map(|w| (w[0], w[149])).collect::<Vec<_>>());
    }
    for engine in [EngineKind::Cpu, EngineKind::Device, EngineKind::Tensor] {
        let (_, st) = run_with(&text, &RunOptions { engine, ..Default::default() });
        for (i, w) in want.iter().enumerate() {
            let got = of(&st[0][0], i, x0.len());
            assert_eq!(got.len(), w.len());
            for (k, (g, w)) in got.iter().zip(w).enumerate() {
                if engine == EngineKind::Tensor {
                    assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{engine:?}: neuron {i}, step {k}: {g} vs {w}");
                } else {
                    assert_eq!(g.to_bits(), w.to_bits(), "{engine:?}: neuron {i}, step {k}: {g} vs {w}");
                }
            }
        }
    }
}

const DRIVEN: &str = "equations = '''
dv/dt = (A*sin(2*pi*t/P) - v)/tau : volt
'''
params = { A = \"10 mV\", P = \"20 ms\", tau = \"5 ms\" }";

/// `t` is the clock's time at the start of the step (`t + dt/2`, `t + dt` in Runge–Kutta
/// stages, as Brian2's), the same bits as the formula with `t = k dt`.
#[test]
fn time_is_the_clocks() {
    let (a, p, tau, dt) = (10.0f64, 20.0f64, 5.0f64, 0.1f64);
    let f = |v: f64, t: f64| (a * (2.0 * PI * t / p).sin() - v) / tau;
    for method in ["euler", "rk2", "rk4", ""] {
        let model = if method.is_empty() { DRIVEN.to_string() } else { format!("{DRIVEN}\nmethod = \"{method}\"") };
        let (_, st) = run(&single(&model, 1, "", "v = \"-3 mV\"", "50 ms", "\"v\", \"tstep\""));
        let mut v = -3.0f64;
        for k in 0..500 {
            let t = k as f64 * dt;
            v = match method {
                "rk2" => {
                    let k1 = dt * f(v, t);
                    dt * f(0.5 * k1 + v, t + 0.5 * dt) + v
                }
                "rk4" => {
                    let k1 = dt * f(v, t);
                    let k2 = dt * f(0.5 * k1 + v, t + 0.5 * dt);
                    let k3 = dt * f(0.5 * k2 + v, t + 0.5 * dt);
                    let k4 = dt * f(k3 + v, t + dt);
                    k1 / 6.0 + k2 / 3.0 + k3 / 3.0 + k4 / 6.0 + v
                }
                // Euler, also the default: `exact` does not take time-dependent equations.
                _ => dt * f(v, t) + v,
            };
            assert_eq!(st[0][0][k].to_bits(), v.to_bits(), "{method}: step {k}: {} vs {v}", st[0][0][k]);
            assert_eq!(st[0][1][k], (k + 1) as f64);
        }
    }
    let e = load_err(&single(&format!("{DRIVEN}\nmethod = \"exact\""), 1, "", "", "1 ms", "\"v\""));
    assert!(e.contains("not linear") && e.contains("time `t`"), "{e}");
}

/// A resumed run of a model reading `t` equals one that never stopped.
#[test]
fn a_resumed_run_keeps_the_time() {
    let dir = std::env::temp_dir().join(format!("sw_eq_time_resume_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = format!("{DRIVEN}\nthreshold = \"v > 4*mV\"\nreset = \"v = 0*mV\"\nmethod = \"rk4\"");
    let text = single(&model, 3, "A = [\"9 mV\", \"10 mV\", \"12 mV\"]", "", "80 ms", "\"v\"");
    let path = dir.join("time.toml");
    std::fs::write(&path, &text).unwrap();
    let (spikes, _) = run(&text);
    assert!(spikes.len() >= 4, "{spikes:?}");
    spikeworld::testing::check_resume(&spikeworld_cli::builder(), &path, 333, &dir, &RunOptions::default()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

const CONDITIONALLY_LINEAR: &str = "equations = '''
dv/dt = (gl*(El - v) + gk*n*(Ek - v) + I)/C : volt (unless refractory)
dn/dt = alpha*(1 - n) - beta*n : 1
alpha = 0.1/ms*exprel(-(v + 55*mV)/(10*mV)) : Hz
beta = 0.125/ms*exp(-(v + 65*mV)/(80*mV)) : Hz
dg/dt = -g/tg : 1
dc/dt = 0.5/ms : 1
I : amp
'''
threshold = \"v > -45*mV\"
reset = \"v = -65*mV\"
refractory = \"2 ms\"
method = \"exponential_euler\"
params = { gl = \"10 nS\", El = \"-65 mV\", gk = \"50 nS\", Ek = \"-90 mV\", C = \"200 pF\", tg = \"7 ms\" }";

/// Brian2's exponential Euler: `x ← (x + B/A) e^{A dt} − B/A` for `dx/dt = A x + B`,
/// `x e^{A dt}` where `B` is 0, `x + dt B` where `A` is 0, every variable from the state at
/// the start of the step; an `(unless refractory)` variable stays at its reset.
#[test]
fn exponential_euler_is_brian2s_formula() {
    let (gl, el, gk, ek, c, tg, dt) = (10.0f64, -65.0f64, 50.0f64, -90.0f64, 200.0f64, 7.0f64, 0.1f64);
    let currents = [1400.0f64, 2000.0];
    let text = single(CONDITIONALLY_LINEAR, 2, "I = [\"1400 pA\", \"2000 pA\"]", "v = \"-65 mV\", n = 0.3, g = 1, c = 0", "100 ms", "\"v\", \"n\", \"g\", \"c\"");
    let (spikes, st) = run(&text);
    let step = |x: f64, a: f64, b: f64| {
        let ba = b / a;
        (x + ba) * (a * dt).exp() - ba
    };
    let mut want_spikes = Vec::new();
    let mut worst = 0.0f64;
    for (i, &cur) in currents.iter().enumerate() {
        let (mut v, mut n, mut g, mut cc, mut last): (f64, f64, f64, f64, Option<u64>) = (-65.0, 0.3, 1.0, 0.0, None);
        for k in 0..1000u64 {
            let refractory = last.is_some_and(|s| k < s + 20);
            let alpha = 0.1 * exprel(-(v + 55.0) / 10.0);
            let beta = 0.125 * (-(v + 65.0) / 80.0).exp();
            let v1 = if refractory { v } else { step(v, -(gl + gk * n) / c, (gl * el + gk * n * ek + cur) / c) };
            n = step(n, -(alpha + beta), alpha);
            g *= (-dt / tg).exp();
            cc += dt * 0.5;
            v = v1;
            if !refractory && v > -45.0 {
                want_spikes.push((k, i as u32));
                v = -65.0;
                last = Some(k);
            }
            for (r, want) in [v, n, g, cc].into_iter().enumerate() {
                let got = of(&st[0][r], i, 2)[k as usize];
                let err = (got - want).abs() / want.abs().max(1.0);
                worst = worst.max(err);
                assert!(err < 1e-11, "neuron {i}, step {k}, row {r}: {got} vs {want}");
            }
        }
    }
    want_spikes.sort();
    let mut spikes = spikes;
    spikes.sort();
    assert_eq!(spikes, want_spikes);
    assert!(spikes.len() >= 4 && spikes.iter().any(|s| s.1 == 0), "{spikes:?}");
    eprintln!("exponential_euler: {} spikes, largest relative difference {worst:.1e}", spikes.len());
}

#[test]
fn what_exponential_euler_and_the_functions_refuse() {
    let cases: &[(&str, &str)] = &[
        ("equations = \"dv/dt = -v*v/(mV*ms) : volt\"\nmethod = \"exponential_euler\"", "dv/dt is not linear in `v` (a product of it with itself)"),
        ("equations = \"dv/dt = exp(v/mV)*mV/ms : volt\"\nmethod = \"exponential_euler\"", "(`exp` of it)"),
        ("equations = '''\ndv/dt = -s*mV/ms : volt\ns = (v/mV)**2 : 1\n'''\nmethod = \"exponential_euler\"", "(a power of it)"),
        ("equations = \"dv/dt = mV/(v*ms)*mV : volt\"\nmethod = \"exponential_euler\"", "(a division by it)"),
        ("equations = \"dv/dt = sin(v)/ms : volt\"", "`sin` of a value in volt"),
        ("equations = \"dv/dt = floor(v)/ms : volt\"", "divide it by a unit first (`floor(x/mV)`)"),
        ("equations = \"dv/dt = exprel(t)*mV/ms : volt\"", "`exprel` of a value in second"),
        ("equations = \"dv/dt = clip(v)/ms : volt\"", "`clip` takes 3 arguments, not 1"),
        ("equations = \"dv/dt = -v/ms : volt\"\nmethod = \"rk3\"", "valid: euler, rk2, rk4, exponential_euler, exact, heun, milstein"),
        ("equations = \"dtstep/dt = 0/ms : 1\"", "reserves"),
    ];
    for (model, want) in cases {
        let e = load_err(&single(model, 1, "", "", "1 ms", "\"v\""));
        assert!(e.contains(want), "{model}\n  gave: {e}\n  want: {want}");
        assert!(e.starts_with("eq.toml:"), "{e}");
    }
}

/// Brian2's COBAHH example with its neuron written as its equations (`exprel` rates,
/// `exponential_euler`) gives the spikes of the built-in `hh_cond_exp_traub`
/// (`scenarios/cobahh.toml`), bit for bit, on the cpu and device engines.
#[test]
fn brian2s_cobahh_as_equations_gives_the_built_in_models_spikes() {
    let short = |t: &str| t.replace("t_stop = \"50 ms\"", "t_stop = \"30 ms\"");
    let eq = short(&std::fs::read_to_string(repo().join("scenarios/cobahh_equations.toml")).unwrap());
    let built_in = short(&std::fs::read_to_string(repo().join("scenarios/cobahh.toml")).unwrap());
    let (want, _) = run(&built_in);
    assert!(want.len() > 1000, "{}", want.len());
    for engine in [EngineKind::Cpu, EngineKind::Device] {
        let (got, _) = run_with(&eq, &RunOptions { engine, ..Default::default() });
        assert_eq!(got, want, "{engine:?}");
    }
}

/// `lastspike` is `t` at the neuron's last spike (Brian2's -10000 s before any): a
/// threshold written as Brian2 users write a refractory period by hand.
#[test]
fn lastspike_is_the_time_of_the_last_spike() {
    let model = "equations = \"dv/dt = (vd - v)/tau : volt\"\nthreshold = \"v > -50*mV and t - lastspike >= 3*ms\"\nreset = \"v = -70*mV\"\nmethod = \"euler\"\nparams = { vd = \"-40 mV\", tau = \"1 ms\" }";
    let (spikes, st) = run(&single(model, 1, "", "v = \"-70 mV\"", "30 ms", "\"v\", \"lastspike\""));
    let (mut v, mut last, dt) = (-70.0f64, -1e7f64, 0.1f64);
    let mut want = Vec::new();
    for k in 0..300u64 {
        let t = k as f64 * dt;
        v = dt * ((-40.0 - v) / 1.0) + v;
        if v > -50.0 && t - last >= 3.0 {
            want.push((k, 0u32));
            v = -70.0;
            last = t;
        }
        assert_eq!(st[0][0][k as usize].to_bits(), v.to_bits(), "step {k}");
        assert_eq!(st[0][1][k as usize], last, "step {k}");
    }
    assert_eq!(spikes, want);
    // Spikes 3 ms apart, not the 1.1 ms v needs to climb back.
    assert!(want.len() >= 8 && want.windows(2).all(|w| w[1].0 - w[0].0 >= 30), "{want:?}");
}

/// Brian2's `refractory = 'tau_ref'`: the period as an expression of time, here a
/// parameter with one value per neuron: each neuron as a population of one with that
/// constant period, bit for bit; a period that is not a time is refused.
#[test]
fn a_refractory_period_may_be_an_expression_per_neuron() {
    let model = |refr: &str| format!("equations = '''\ndv/dt = (vd - v)/tau : volt (unless refractory)\ntau_ref : second\n'''\nthreshold = \"v > -50*mV\"\nreset = \"v = -70*mV\"\nrefractory = \"{refr}\"\nmethod = \"euler\"\nparams = {{ vd = \"-40 mV\", tau = \"2 ms\" }}");
    let periods = ["0 ms", "0.3 ms", "2.5 ms", "4 ms"];
    let list = periods.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ");
    let (spikes, st) = run(&single(&model("tau_ref"), periods.len(), &format!("tau_ref = [{list}]"), "v = \"-70 mV\"", "40 ms", "\"v\""));
    for (i, p) in periods.iter().enumerate() {
        let (want_spikes, want) = run(&single(&model(p), 1, &format!("tau_ref = \"{p}\""), "v = \"-70 mV\"", "40 ms", "\"v\""));
        let mine: Vec<u64> = spikes.iter().filter(|s| s.1 == i as u32).map(|s| s.0).collect();
        let theirs: Vec<u64> = want_spikes.iter().map(|s| s.0).collect();
        assert_eq!(mine, theirs, "tau_ref = {p}");
        assert_eq!(of(&st[0][0], i, periods.len()), want[0][0], "tau_ref = {p}");
    }
    // Longer periods, fewer spikes.
    let count = |i: u32| spikes.iter().filter(|s| s.1 == i).count();
    assert!(count(0) > count(2) && count(2) > count(3) && count(3) >= 5, "{:?}", (0..4).map(count).collect::<Vec<_>>());
    let e = load_err(&single(&model("tau_ref*mV/ms"), 1, "tau_ref = \"1 ms\"", "", "1 ms", "\"v\""));
    assert!(e.contains("refractory") && e.contains("must be a time"), "{e}");
}
