#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! Neuron-steps per second of `lif`, `lif_curr_exp`, `lif_cond_exp` on the cpu engine (one
//! thread) at N = 10^5 and 10^6 — a `Sim` with one population held by a `constant_current`
//! (`sim.run_steps(1)`: encoder, input ring, fused update, spike bookkeeping) — next to a
//! plain loop written by hand for the same model over `Vec<f64>` (the ceiling: input read
//! from an array, update, refractory clamp, threshold, reset, spike indices pushed).
//!
//! Run: `cargo bench --workspace --bench throughput -- neuron_lif --warm-up-time 1 --measurement-time 3`.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use spikeworld::prelude::*;

const DT: f64 = 0.1;
/// (model, held current in pA): each fires regularly with it (defaults otherwise).
const MODELS: &[(&str, f64)] = &[("lif", 500.0), ("lif_curr_exp", 500.0), ("lif_cond_exp", 200.0)];

fn sim(model: &str, amp: f64, n: usize) -> Sim {
    let text = format!(
        "[simulation]\ndt = \"{DT} ms\"\nt_stop = \"1e9 ms\"\n[[population]]\nname = \"n\"\nsize = {n}\nmodel = \"{model}\"\n\
         [[encoder]]\nname = \"bias\"\nkind = \"constant_current\"\ntarget = \"n\"\namplitude = \"{amp} pA\"\n"
    );
    let b = spikeworld_cli::builder();
    let sc = Scenario::from_str(&text, Path::new("bench.toml"), b.registry(), &LoadOptions::default()).expect("scenario");
    let mut s = b.build(sc, &RunOptions { engine: EngineKind::Cpu, threads: 1, ..RunOptions::default() }).expect("build");
    s.run_steps(200);
    s
}

struct Arrays {
    v: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    refr: Vec<f64>,
    i: Vec<f64>,
    spikes: Vec<u32>,
}

/// One step of `model` with the plugin's default parameters, by hand.
fn hand_step(model: &str, x: &mut Arrays) {
    x.spikes.clear();
    let Arrays { v, a, b, refr, i, spikes } = x;
    match model {
        "lif" | "lif_curr_exp" => {
            // tau_m 10 ms, c_m 250 pF, e_l -70, v_th -55, v_reset -70, t_ref 2 ms; synaptic
            // currents (lif_curr_exp) stay 0 here but are still decayed.
            let (e_l, p22) = (-70.0, (-DT / 10.0f64).exp());
            let p20 = 10.0 / 250.0 * (1.0 - p22);
            let p11 = (-DT / 2.0f64).exp();
            let curr = model == "lif_curr_exp";
            for j in 0..v.len() {
                let vi = (v[j] - e_l) * p22 + e_l + i[j] * p20;
                if curr {
                    a[j] *= p11;
                    b[j] *= p11;
                }
                let r = refr[j] > 0.5;
                let vn = if r { v[j] } else { vi };
                let s = vn > -55.0 && !r;
                v[j] = if s { -70.0 } else { vn };
                refr[j] = if s { 19.0 } else if r { refr[j] - 1.0 } else { refr[j] };
                if s {
                    spikes.push(j as u32);
                }
            }
        }
        "lif_cond_exp" => {
            // COBA defaults: c_m 200, g_l 10, e_l -60, e_ex 0, e_in -80, v_th -50, reset -60, t_ref 5.
            let (dtc, de, di) = (DT / 200.0, 1.0 - DT / 5.0, 1.0 - DT / 10.0);
            for j in 0..v.len() {
                let vv = v[j];
                let cur = (vv + 60.0) * -10.0 + a[j] * -(vv - 0.0) + b[j] * -(vv + 80.0) + i[j];
                let vi = vv + cur * dtc;
                a[j] *= de;
                b[j] *= di;
                let r = refr[j] > 0.5;
                let vn = if r { vv } else { vi };
                let s = vn > -50.0 && !r;
                v[j] = if s { -60.0 } else { vn };
                refr[j] = if s { 49.0 } else if r { refr[j] - 1.0 } else { refr[j] };
                if s {
                    spikes.push(j as u32);
                }
            }
        }
        other => panic!("no hand loop for {other}"),
    }
}

fn bench(c: &mut Criterion) {
    for &n in &[100_000usize, 1_000_000] {
        let mut g = c.benchmark_group(format!("neuron_lif_n{n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        for &(model, amp) in MODELS {
            let mut s = sim(model, amp, n);
            g.bench_function(BenchmarkId::new("sim", model), |b| b.iter(|| s.run_steps(1)));
            drop(s);
            let mut x = Arrays { v: vec![-65.0; n], a: vec![0.0; n], b: vec![0.0; n], refr: vec![0.0; n], i: vec![amp; n], spikes: Vec::with_capacity(n) };
            g.bench_function(BenchmarkId::new("hand", model), |b| {
                b.iter(|| {
                    hand_step(model, &mut x);
                    std::hint::black_box(x.spikes.len())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
