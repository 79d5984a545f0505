#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! The cpu engine's fused update alone (update + threshold + reset of a whole population,
//! its input slots read and cleared), by each build of the loop this CPU has (portable,
//! AVX2, AVX-512), for the neurons of COBA and CUBA at 512, 4000 and 64000 neurons (in L1,
//! L2 and L3 here), in buffers that start cache lines as the engine's do (`Lines`: from a
//! `Vec<f64>` half the 256-bit accesses and every 512-bit one straddle two lines). Each
//! iteration adds a sparse input (one neuron in 20 on each receptor) first, as delivery would.
//! Every build gives the same bits (`tests/device.rs`); this shows what each costs.
//! `cargo bench --bench fused`.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use spikeworld::prelude::*;
use spikeworld::util::lines::Lines;

fn bench(c: &mut Criterion) {
    let b = spikeworld_cli::builder();
    for file in ["coba.toml", "cuba.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
        let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).expect("scenario");
        let pop = &sc.populations[0];
        let (nv, nr) = (pop.model.vars().len(), pop.model.receptors().len());
        let mut group = c.benchmark_group(format!("fused {}", pop.model.name()));
        for n in [512usize, 4000, 64000] {
            let init = pop.prepared.initial();
            // v spread over the interval of the scenarios' initial values, the rest at rest.
            let mut vars: Vec<Lines> = (0..nv).map(|k| Lines::from((0..n).map(|i| if k == 0 { -60.0 + 10.0 * ((i * 7919) % 1000) as f64 / 1000.0 } else { init[k] }).collect::<Vec<f64>>())).collect();
            let mut inputs: Vec<Lines> = (0..nr).map(|_| Lines::zeros(n)).collect();
            let mut spikes = Vec::new();
            let mut step = 0usize;
            for simd in Simd::available() {
                group.bench_with_input(BenchmarkId::new(format!("{simd:?}"), n), &n, |bch, &n| {
                    bch.iter(|| {
                        step += 1;
                        for (r, inp) in inputs.iter_mut().enumerate().take(2) {
                            for j in (step * 13 % 20..n).step_by(20) {
                                inp[j] += if r == 0 { 0.5 } else { 1.0 };
                            }
                        }
                        let mut v: Vec<&mut [f64]> = vars.iter_mut().map(|x| &mut x[..]).collect();
                        // The third receptor (injected current) receives nothing, as in the scenarios.
                        let mut i: Vec<&mut [f64]> = inputs.iter_mut().enumerate().map(|(r, x)| if r < 2 { &mut x[..] } else { &mut [] }).collect();
                        spikes.clear();
                        pop.prepared.step_cpu_with(simd, &mut v, &mut i, 0, &mut spikes);
                        spikes.len()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
