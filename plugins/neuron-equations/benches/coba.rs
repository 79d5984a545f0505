#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! One step of COBA-4000 (update, threshold, reset, delivery) with its neuron written as
//! equations (`scenarios/coba_equations.toml`: the program compiled by the C compiler, or
//! interpreted where there is none) next to the built-in `lif_cond_exp`
//! (`scenarios/coba.toml`): the same spikes, bit for bit.
//!
//! `cargo bench -p spikeworld-neuron-equations --bench coba`

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use spikeworld::prelude::*;

fn sim(file: &str) -> Sim {
    let b = spikeworld_cli::builder();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(file);
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).expect("scenario");
    let mut sim = b.build(sc, &RunOptions::default()).expect("build");
    sim.run_steps(500); // past the initial transient (and the native build)
    sim
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("coba4000_step");
    g.measurement_time(Duration::from_secs(5));
    for (name, file) in [("equations", "coba_equations.toml"), ("lif_cond_exp", "coba.toml")] {
        let mut s = sim(file);
        g.bench_function(name, |b| b.iter(|| s.run_steps(1)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
