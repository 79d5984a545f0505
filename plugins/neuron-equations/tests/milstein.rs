//! Brian2's derivative-free Milstein (`method = "milstein"`): its formula computed here
//! with the engine's draws, its strong order 1 against the exact solution of a
//! Stratonovich equation, and the refusals (non-diagonal noise), as in Brian2 (without noise
//! it is Euler's step: `tests/noise.rs`).

use spikeworld::prelude::*;

mod common;
use common::*;

/// Two variables, each with its own noise (diagonal), the second's factor reading both.
const PAIR: &str = "equations = '''
dx/dt = (a - x)/tau + s*x*xi_1*tau**-0.5 : 1
dy/dt = (x - y)/tau + r*x*y*xi_2*tau**-0.5 : 1
'''
method = \"milstein\"
params = { a = 1, s = 0.4, r = 0.3, tau = \"10 ms\" }";

/// Brian2's scheme, per noise `k` with its variable `j`: the support
/// `s = dt·f(x) + √dt·g_j(x) + x_j` (the other variables move by their drift only),
/// then `x_j ← dt·f_j + g_j·dW + c·(g_j(s) − g_j(x))·dW² + x_j`, `c = 1/(2√dt)`: the same
/// bits on the cpu and device engines, the tensor engine to rounding.
#[test]
fn milstein_is_its_formula() {
    let (n, steps, seed) = (3usize, 200usize, 17u64);
    let (a, s, r, tau, dt) = (1.0f64, 0.4f64, 0.3f64, 10.0f64, 0.1f64);
    let ct = tau.powf(-0.5);
    let c = 1.0 / (2.0 * dt.sqrt());
    let text = seeded(single(PAIR, n, "", "x = [0.5, 1.0, 2.0], y = [1.0, 0.2, 3.0]", "20 ms", "\"x\", \"y\""), seed);
    for engine in [EngineKind::Cpu, EngineKind::Device, EngineKind::Tensor] {
        let (_, st) = run_with(&text, &RunOptions { engine, ..Default::default() });
        for (i, (x0, y0)) in [(0.5f64, 1.0f64), (1.0, 0.2), (2.0, 3.0)].into_iter().enumerate() {
            let (mut x, mut y) = (x0, y0);
            let (gx, gy) = (|x: f64| s * x * ct, |x: f64, y: f64| r * x * y * ct);
            for k in 0..steps {
                let dw1 = dt.sqrt() * draw(seed, 0, k as u64, i as u64);
                let dw2 = dt.sqrt() * draw(seed, 1, k as u64, i as u64);
                let (fx, fy) = (dt * ((a - x) / tau), dt * ((x - y) / tau));
                let (g1, g2) = (gx(x), gy(x, y));
                // Noise 1 moves x's support by √dt·g; noise 2 y's.
                let s1 = fx + dt.sqrt() * g1 + x;
                let (s2x, s2y) = (fx + x, fy + dt.sqrt() * g2 + y);
                let nx = fx + g1 * dw1 + c * (gx(s1) - g1) * (dw1 * dw1) + x;
                let ny = fy + g2 * dw2 + c * (gy(s2x, s2y) - g2) * (dw2 * dw2) + y;
                (x, y) = (nx, ny);
                for (name, row, want) in [("x", &st[0][0], x), ("y", &st[0][1], y)] {
                    let got = of(row, i, n)[k];
                    if engine == EngineKind::Tensor {
                        assert!((got - want).abs() <= 1e-12 * want.abs(), "{engine:?}: {name}, neuron {i}, step {k}: {got} vs {want}");
                    } else {
                        assert_eq!(got.to_bits(), want.to_bits(), "{engine:?}: {name}, neuron {i}, step {k}: {got} vs {want}");
                    }
                }
            }
        }
    }
}

/// The mean relative error over 400 paths at 20 ms against the exact solution of
/// geometric Brownian motion in Stratonovich's sense, `dx = x/m dt + σ x ∘ dW`
/// (`σ = s/√tau`): `x0·exp(t/m + σ·W(t))`, computed from the run's own draws (`W` the sum
/// of their `√dt·n`), at dt = 0.1 and 0.025 ms. `None`: no drift.
fn gbm_errors(method: &str, m: Option<f64>) -> [f64; 2] {
    let drift = if m.is_some() { "x/m + " } else { "" };
    let m_param = m.map_or(String::new(), |m| format!("m = \"{m} ms\", "));
    let model = format!("equations = '''\ndx/dt = {drift}s*x*xi*tau**-0.5 : 1\n'''\nmethod = \"{method}\"\nparams = {{ {m_param}s = 0.5, tau = \"10 ms\" }}");
    let (n, seed, t_end) = (400usize, 5u64, 20.0f64);
    let sigma = 0.5 * 10f64.powf(-0.5);
    [0.1f64, 0.025].map(|dt| {
        let text = seeded(single(&model, n, "", "x = 1", "20 ms", "\"x\""), seed).replace("dt = \"0.1 ms\"", &format!("dt = \"{dt} ms\""));
        let (_, st) = run(&text);
        let steps = (t_end / dt).round() as usize;
        let mut err = 0.0;
        for i in 0..n {
            let w: f64 = (0..steps).map(|k| dt.sqrt() * draw(seed, 0, k as u64, i as u64)).sum();
            let exact = (m.map_or(0.0, |m| t_end / m) + sigma * w).exp();
            let got = of(&st[0][0], i, n);
            assert_eq!(got.len(), steps);
            err += (got[steps - 1] - exact).abs() / exact;
        }
        let e = err / n as f64;
        eprintln!("{method}, m = {m:?} ms: mean relative error {e:.3e} at dt = {dt} ms");
        e
    })
}

/// Strong convergence to the Stratonovich solution of geometric Brownian motion:
/// - without drift, `milstein` is the exact Milstein step (`g` is linear): its error
///   falls about fourfold from dt = 0.1 ms to 0.025 ms (strong order 1; order 1/2 would
///   halve it). An Itô correction (`dW² − dt`) converges to `x0·exp(σW − σ²t/2)`, 22 % off
///   here, and fails;
/// - with drift, Brian2's support point `dt·f + √dt·g + x` adds `g'·f·√dt·dW²/2` a step,
///   whose mean `g'·f·dt^1.5/2` does not cancel: the scheme then has strong order 1/2,
///   with the error `σ·(t/m)·√dt/2` (relative, for this equation) computed here, which
///   both runs meet within 15 %. `heun` converges with order 1 on the same equation.
#[test]
fn milstein_converges_to_the_stratonovich_solution() {
    let e = gbm_errors("milstein", None);
    assert!(e[1] < 1e-3 && e[0] / e[1] > 3.0, "milstein without drift: errors {e:?} (strong order 1: a fourfold fall)");
    let (m, t) = (50.0f64, 20.0f64);
    let sigma = 0.5 * 10f64.powf(-0.5);
    let e = gbm_errors("milstein", Some(m));
    for (e, dt) in e.iter().zip([0.1f64, 0.025]) {
        let bias = 0.5 * sigma * (t / m) * dt.sqrt();
        assert!((e / bias - 1.0).abs() < 0.15, "milstein with drift at dt = {dt} ms: error {e}, Brian2's scheme's {bias}");
    }
    let e = gbm_errors("heun", Some(m));
    assert!(e[1] < 1e-3 && e[0] / e[1] > 3.0, "heun with drift: errors {e:?} (strong order 1: a fourfold fall)");
}

/// Non-diagonal noise (two noises in one equation, one noise in two), which Brian2's
/// `milstein` refuses: refused at the equation, naming `heun`; both run by `heun`.
#[test]
fn non_diagonal_noise_is_refused() {
    let cases = [
        ("dx/dt = -x/tau + a*xi_1 : volt\ndy/dt = -y/tau + b*xi_1 + a*xi_2 : volt", "dy/dt has two white noises (`xi_1` and `xi_2`)"),
        ("dx/dt = -x/tau + a*xi : volt\ndy/dt = -y/tau + b*xi : volt", "the white noise `xi` is in dx/dt and dy/dt"),
    ];
    for (eqs, want) in cases {
        let model = |method: &str| format!("equations = '''\n{eqs}\n'''\nmethod = \"{method}\"\nparams = {{ tau = \"5 ms\", a = \"1 mV/ms**0.5\", b = \"2 mV/ms**0.5\" }}");
        let e = load_err(&single(&model("milstein"), 1, "", "", "1 ms", "\"x\""));
        assert!(e.contains(want) && e.contains("diagonal noise only") && e.contains("heun"), "{eqs}:\nwant `{want}` in: {e}");
        assert!(e.contains("eq.toml:") && e.contains("line 2"), "{eqs}: not located at the equation: {e}");
        let (_, st) = run(&single(&model("heun"), 1, "", "", "1 ms", "\"x\""));
        assert_eq!(st[0][0].len(), 10);
    }
}
