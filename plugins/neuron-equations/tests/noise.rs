//! White noise `xi` (stochastic equations): Euler–Maruyama and Heun against their
//! formulas computed here with the same draws, statistics against the exact
//! Ornstein–Uhlenbeck process, every engine and split, resume, and the refusals.

use spikeworld::prelude::*;
use spikeworld::util::rng;

mod common;
use common::*;

/// The draw of noise receptor `k` of population `n` (seed `seed`) for `neuron` at `step`.
fn draw(seed: u64, k: u64, step: u64, neuron: u64) -> f64 {
    rng::xi(rng::key(seed, rng::purpose::XI + k), rng::entity_key("population", "n"), step, neuron)
}

fn seeded(text: String, seed: u64) -> String {
    text.replacen("[simulation]\n", &format!("[simulation]\nseed = {seed}\n"), 1)
}

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
