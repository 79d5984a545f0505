#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! Neuron-steps per second of `hh_cond_exp_traub` on the cpu engine (1 thread) at
//! N = 10^5 and 10^6, next to a hand-written fused loop of the same arithmetic over plain
//! arrays (the ceiling: no engine, no input rings, no spike lists beyond a Vec).
//! Run: cargo bench -p spikeworld-neuron-hh --bench throughput

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spikeworld::prelude::*;

/// The neurons get 200 pA (they fire at ~40 Hz) and a spread of initial v.
fn sim(n: usize) -> Sim {
    let text = format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"100000 ms\"\n[[population]]\nname = \"p\"\nsize = {n}\nmodel = \"hh_cond_exp_traub\"\n\
         params = {{ i_e = \"200 pA\" }}\ninit = {{ v = {{ dist = \"uniform\", low = \"-70 mV\", high = \"-50 mV\" }} }}\n"
    );
    let b = spikeworld_cli::builder();
    let sc = Scenario::from_str(&text, Path::new("bench.toml"), b.registry(), &LoadOptions::default()).expect("scenario");
    b.build(sc, &RunOptions { engine: EngineKind::Cpu, threads: 1, ..RunOptions::default() }).expect("build")
}

/// The plain loop: one pass, state in separate arrays, same formulas and constants.
struct Plain {
    v: Vec<f64>,
    m: Vec<f64>,
    h: Vec<f64>,
    n: Vec<f64>,
    ge: Vec<f64>,
    gi: Vec<f64>,
    refr: Vec<f64>,
    spikes: Vec<u32>,
}

#[inline(always)]
fn inv_exprel(x: f64, e: f64) -> f64 {
    if x.abs() < 1e-3 { 1.0 - x * 0.5 + x * x * (1.0 / 12.0 - x * x / 720.0) } else { x / (e - 1.0) }
}

impl Plain {
    fn new(n: usize) -> Self {
        let v = (0..n).map(|i| -70.0 + 20.0 * (i as f64 * 0.618_033_988_7).fract()).collect();
        Plain { v, m: vec![0.05; n], h: vec![0.6; n], n: vec![0.3; n], ge: vec![0.0; n], gi: vec![0.0; n], refr: vec![0.0; n], spikes: Vec::new() }
    }

    fn step(&mut self) {
        const DT: f64 = 0.1;
        const VT: f64 = -63.0;
        let (dex, din) = ((-DT / 5.0f64).exp(), (-DT / 10.0f64).exp());
        let i_leak = 10.0 * -60.0 + 200.0;
        self.spikes.clear();
        for i in 0..self.v.len() {
            let v = self.v[i];
            let (m, h, n, ge, gi) = (self.m[i], self.h[i], self.n[i], self.ge[i], self.gi[i]);
            let xm = (13.0 + VT - v) * 0.25;
            let am = 1.28 * inv_exprel(xm, xm.exp());
            let xb = (v - (VT + 40.0)) * 0.2;
            let eb = xb.exp();
            let bm = 1.4 * inv_exprel(xb, eb);
            let eb = eb.min(1e300);
            let bh = 4.0 * eb / (eb + 1.0);
            let ah = 0.128 * ((17.0 + VT - v) * (1.0 / 18.0)).exp();
            let xn = (15.0 + VT - v) * 0.2;
            let an = 0.16 * inv_exprel(xn, xn.exp());
            let bn = 0.5 * ((10.0 + VT - v) * (1.0 / 40.0)).exp();
            let gna = m * m * m * h * 20000.0;
            let n2 = n * n;
            let gk = n2 * n2 * 6000.0;
            let g = gna + gk + ge + gi + 10.0;
            let vinf = (gna * 50.0 + gk * -90.0 + ge * 0.0 + gi * -80.0 + i_leak) / g;
            let vn = vinf + (v - vinf) * (g * (-DT / 200.0)).exp();
            let gate = |x: f64, a: f64, b: f64| {
                let s = a + b;
                let inf = a / s;
                inf + (x - inf) * (-DT * s).exp()
            };
            self.m[i] = gate(m, am, bm);
            self.h[i] = gate(h, ah, bh);
            self.n[i] = gate(n, an, bn);
            self.ge[i] = ge * dex;
            self.gi[i] = gi * din;
            let r = self.refr[i];
            let refractory = r > 0.5;
            let spike = vn > -20.0 && !refractory;
            self.refr[i] = if spike { 29.0 } else if refractory { r - 1.0 } else { r };
            self.v[i] = vn;
            if spike {
                self.spikes.push(i as u32);
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("hh_cond_exp_traub");
    g.sample_size(10);
    for n in [100_000usize, 1_000_000] {
        g.throughput(Throughput::Elements(n as u64));
        let mut s = sim(n);
        s.run_steps(20);
        g.bench_function(format!("cpu engine N={n}"), |b| b.iter(|| s.step()));
        let mut p = Plain::new(n);
        for _ in 0..20 {
            p.step();
        }
        g.bench_function(format!("plain fused loop N={n}"), |b| {
            b.iter(|| {
                p.step();
                black_box(p.spikes.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
