#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! Neuron-steps per second of each model on the cpu engine (one thread), at N = 10^5 and
//! 10^6: a `Sim` with one population driven by a `constant_current` (`sim.run_steps(1)`
//! per iteration: encoder, input ring, fused update, spike bookkeeping), next to a plain
//! loop written by hand for the same model over `Vec<f64>` arrays (the ceiling: input
//! read from an array, update, threshold, reset, spike indices pushed).
//!
//! Run: `cargo bench -p spikeworld-neuron-sj -- --warm-up-time 1 --measurement-time 3`.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use spikeworld::prelude::*;

/// Held input of every neuron; each model spikes regularly with it.
const AMP: f64 = 0.3;

/// (model, params) as benchmarked; the hand loops below use the same values.
const MODELS: &[(&str, &str)] = &[
    ("sj_if", ""),
    ("sj_lif", ""),
    ("sj_plif", ""),
    ("sj_rif", ""),
    ("sj_qif", ""),
    ("sj_eif", ""),
    ("sj_izhikevich", "a = 0.1, b = 0.2"),
    ("sf_if", ""),
    ("sf_lif", "r = 4.0, tau = 2.0"),
];

fn sim(model: &str, params: &str, n: usize) -> Sim {
    let text = format!(
        r#"
        [simulation]
        dt = "1 ms"
        t_stop = "100000000 ms"
        [[population]]
        name = "n"
        size = {n}
        model = "{model}"
        params = {{ {params} }}
        [[encoder]]
        name = "bias"
        kind = "constant_current"
        target = "n"
        amplitude = {AMP:?}
        "#
    );
    let b = spikeworld_cli::builder();
    let sc = Scenario::from_str(&text, Path::new("bench.toml"), b.registry(), &LoadOptions::default()).expect("scenario");
    let mut s = b.build(sc, &RunOptions { engine: EngineKind::Cpu, threads: 1, ..RunOptions::default() }).expect("build");
    s.run_steps(20);
    s
}

/// State of the hand-written loops.
struct Arrays {
    v: Vec<f64>,
    w: Vec<f64>,
    i: Vec<f64>,
    spikes: Vec<u32>,
}

impl Arrays {
    fn new(n: usize, v0: f64) -> Self {
        Arrays { v: vec![v0; n], w: vec![0.0; n], i: vec![AMP; n], spikes: Vec::with_capacity(n) }
    }
}

#[inline(always)]
fn hard(h: f64, v_th: f64, v_reset: f64) -> (f64, bool) {
    let s = h >= v_th;
    (if s { v_reset } else { h }, s)
}

/// One step of `model` (with the parameters in `MODELS`) over all neurons.
fn hand_step(model: &str, a: &mut Arrays) {
    a.spikes.clear();
    let Arrays { v, w, i, spikes } = a;
    macro_rules! each {
        (|$v:ident, $x:ident| $h:expr) => {
            for (j, ($v, &$x)) in v.iter_mut().zip(i.iter()).enumerate() {
                let (nv, s) = hard($h, 1.0, 0.0);
                *$v = nv;
                if s {
                    spikes.push(j as u32);
                }
            }
        };
    }
    match model {
        "sj_if" => each!(|vv, x| *vv + x),
        "sj_lif" => each!(|vv, x| *vv + (x - *vv) / 2.0),
        "sj_plif" => each!(|vv, x| *vv + (x - *vv) * 0.5),
        "sj_rif" => each!(|vv, x| *vv + (*vv * -1e-3 + x)),
        "sj_qif" => {
            for (j, (vv, &x)) in v.iter_mut().zip(i.iter()).enumerate() {
                let h = *vv + (x + (*vv - 0.0) * (*vv - 0.8)) / 2.0;
                let (nv, s) = hard(h, 1.0, -0.1);
                *vv = nv;
                if s {
                    spikes.push(j as u32);
                }
            }
        }
        "sj_eif" => {
            for (j, (vv, &x)) in v.iter_mut().zip(i.iter()).enumerate() {
                let h = *vv + (x + 0.0 - *vv + ((*vv - 0.8) / 1.0).exp() * 1.0) / 2.0;
                let (nv, s) = hard(h, 1.0, -0.1);
                *vv = nv;
                if s {
                    spikes.push(j as u32);
                }
            }
        }
        "sj_izhikevich" => {
            for (j, ((vv, ww), &x)) in v.iter_mut().zip(w.iter_mut()).zip(i.iter()).enumerate() {
                let h = *vv + (x + (*vv + 0.1) * (*vv - 0.8) - *ww) / 2.0;
                let wn = *ww + ((h + 0.1) * 0.1 - *ww) * 0.5;
                let (nv, s) = hard(h, 1.0, 0.0);
                *vv = nv;
                *ww = if s { wn + 0.2 } else { wn };
                if s {
                    spikes.push(j as u32);
                }
            }
        }
        "sf_if" | "sf_lif" => {
            // `w` holds the pending flag.
            let is_if = model == "sf_if";
            for (j, ((vv, pend), &x)) in v.iter_mut().zip(w.iter_mut()).zip(i.iter()).enumerate() {
                let out = *pend > 0.5;
                let mut u = if out { 0.0 } else { *vv };
                u = if is_if { u + x } else { u + (x * 4.0 - u) / 2.0 };
                let next = u >= 1.0;
                u = if next { 1.0 } else { u };
                *vv = if u < 0.0 { 0.0 } else { u };
                *pend = if next { 1.0 } else { 0.0 };
                if out {
                    spikes.push(j as u32);
                }
            }
        }
        other => panic!("no hand loop for {other}"),
    }
}

fn bench(c: &mut Criterion) {
    for &n in &[100_000usize, 1_000_000] {
        let mut g = c.benchmark_group(format!("neuron_steps_n{n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        for &(model, params) in MODELS {
            let mut s = sim(model, params, n);
            g.bench_function(BenchmarkId::new("sim", model), |b| b.iter(|| s.run_steps(1)));
            drop(s);
            let v0 = if matches!(model, "sj_qif" | "sj_eif") { -0.1 } else { 0.0 };
            let mut a = Arrays::new(n, v0);
            g.bench_function(BenchmarkId::new("hand", model), |b| {
                b.iter(|| {
                    hand_step(model, &mut a);
                    std::hint::black_box(a.spikes.len())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
