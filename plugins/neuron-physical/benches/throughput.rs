#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! Neuron-steps per second of each model on the cpu engine (one thread) at N = 10^5 and
//! 10^6, next to a plain fused loop written by hand for that model over `Vec<f64>` arrays
//! (the ceiling). The population is driven by a constant current (`i_e`) that makes it
//! fire, and nothing else: the time is the integration step (input, update, threshold,
//! reset, spike list) plus the core's per-step overhead.
//!
//! `cargo bench -p spikeworld-neuron-physical --bench throughput`

use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use spikeworld::prelude::*;

const STEPS: u64 = 10;
const DT: f64 = 0.1;

fn sim(model: &str, params: &str, n: usize) -> Sim {
    let text = format!("[simulation]\ndt = {DT}\nt_stop = 100000.0\n[[population]]\nname = \"p\"\nsize = {n}\nmodel = \"{model}\"\nparams = {{ {params} }}\n");
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_physical::PhysicalPlugin);
    let sc = Scenario::from_str(&text, Path::new("bench.toml"), b.registry(), &LoadOptions::default()).expect("scenario");
    let mut sim = b.build(sc, &RunOptions::default()).expect("build");
    sim.run_steps(200); // past the first spikes
    sim
}

/// State of the hand-written loops: one `Vec<f64>` per variable, the (zero) input
/// current per neuron as the engine reads it, and the spike list.
struct Hand {
    vars: Vec<Vec<f64>>,
    i: Vec<f64>,
    spikes: Vec<u32>,
}

impl Hand {
    fn new(init: &[f64], n: usize) -> Hand {
        Hand { vars: init.iter().map(|&x| vec![x; n]).collect(), i: vec![0.0; n], spikes: Vec::with_capacity(n) }
    }
}

fn izhikevich_hand(h: &mut Hand, i_e: f64) {
    let (a, b, c, d) = (0.02, 0.2, -65.0, 8.0);
    let dta = DT * a;
    h.spikes.clear();
    let [v, u] = &mut h.vars[..] else { unreachable!() };
    for (k, ((v, u), i)) in v.iter_mut().zip(u.iter_mut()).zip(&h.i).enumerate() {
        let x = *v;
        let nv = x + (x * x * 0.04 + x * 5.0 + 140.0 - *u + (*i + i_e)) * DT;
        let nu = *u + (x * b - *u) * dta;
        if nv >= 30.0 {
            *v = c;
            *u = nu + d;
            h.spikes.push(k as u32);
        } else {
            *v = nv;
            *u = nu;
        }
    }
}

fn aeif_hand(h: &mut Hand, i_e: f64, cond: bool) {
    let (c_m, g_l, e_l, v_th, dlt, v_peak, v_reset, a, b, tau_w) = (281.0, 30.0, -70.6, -50.4, 2.0, 0.0, -60.0, 4.0, 80.5, 144.0);
    let (p_ex, p_in) = ((-DT / 0.2f64).exp(), (-DT / 2.0f64).exp());
    let (dtc, dtw, gld) = (DT / c_m, DT / tau_w, g_l * dlt);
    h.spikes.clear();
    let [v, w, xe, xi, r] = &mut h.vars[..] else { unreachable!() };
    for k in 0..v.len() {
        let vb = v[k].min(v_peak);
        let syn = if cond { xe[k] * -(vb - 0.0) + xi[k] * -(vb + 85.0) } else { xe[k] + xi[k] };
        let cur = (vb - e_l) * -g_l + ((vb - v_th) / dlt).exp() * gld + syn - w[k] + (h.i[k] + i_e);
        let wn = w[k] + ((vb - e_l) * a - w[k]) * dtw;
        xe[k] *= p_ex;
        xi[k] *= p_in;
        if r[k] > 0.5 {
            r[k] -= 1.0;
            w[k] = wn;
            continue;
        }
        let vn = v[k] + cur * dtc;
        if vn >= v_peak {
            v[k] = v_reset;
            w[k] = wn + b;
            h.spikes.push(k as u32);
        } else {
            v[k] = vn;
            w[k] = wn;
        }
    }
}

fn one_var_hand(h: &mut Hand, f: impl Fn(f64, f64) -> f64, v_peak: f64, v_reset: f64) {
    h.spikes.clear();
    let [v, r] = &mut h.vars[..] else { unreachable!() };
    for k in 0..v.len() {
        if r[k] > 0.5 {
            r[k] -= 1.0;
            continue;
        }
        let vn = v[k] + f(v[k], h.i[k]);
        if vn >= v_peak {
            v[k] = v_reset;
            h.spikes.push(k as u32);
        } else {
            v[k] = vn;
        }
    }
}

type HandFn = Box<dyn Fn(&mut Hand)>;

fn bench(c: &mut Criterion) {
    let models: Vec<(&str, &str, Vec<f64>, HandFn)> = vec![
        ("izhikevich", "i_e = 10.0", vec![-65.0, -13.0], Box::new(|h| izhikevich_hand(h, 10.0))),
        ("aeif_cond_exp", "i_e = 800.0", vec![-70.6, 0.0, 0.0, 0.0, 0.0], Box::new(|h| aeif_hand(h, 800.0, true))),
        ("aeif_curr_exp", "i_e = 800.0", vec![-70.6, 0.0, 0.0, 0.0, 0.0], Box::new(|h| aeif_hand(h, 800.0, false))),
        (
            "eif",
            "i_e = 900.0",
            vec![-70.0, 0.0],
            Box::new(|h| {
                let (dtc, gld) = (DT / 1000.0, 30.0 * 2.0);
                let f = |v: f64, i: f64| {
                    let vb = v.min(-20.0);
                    ((vb + 70.0) * -30.0 + ((vb + 50.0) / 2.0).exp() * gld + (i + 900.0)) * dtc
                };
                one_var_hand(h, f, -20.0, -70.0)
            }),
        ),
        (
            "qif",
            "i_e = 800.0",
            vec![-70.0, 0.0],
            Box::new(|h| one_var_hand(h, |v, i| ((v + 70.0) * (v + 50.0) * 5.0 + (i + 800.0)) * (DT / 1000.0), -20.0, -70.0)),
        ),
    ];
    for (name, params, init, hand) in &models {
        let mut g = c.benchmark_group(*name);
        g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for n in [100_000usize, 1_000_000] {
            g.throughput(Throughput::Elements(n as u64 * STEPS));
            let mut s = sim(name, params, n);
            g.bench_function(BenchmarkId::new("spikeworld_cpu", n), |b| b.iter(|| s.run_steps(STEPS)));
            drop(s);
            let mut h = Hand::new(init, n);
            for _ in 0..200 {
                hand(&mut h);
            }
            g.bench_function(BenchmarkId::new("hand_loop", n), |b| {
                b.iter(|| {
                    for _ in 0..STEPS {
                        hand(&mut h);
                    }
                    std::hint::black_box(h.spikes.len())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
