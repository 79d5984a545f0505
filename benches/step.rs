#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! One step of COBA-4000 and CUBA-4000 on the cpu engine (after 100 ms of warm-up, so
//! the network is in its asynchronous irregular state), and of the noise-driven
//! `noisy_lif_equations` (1000 neurons, one white-noise draw per neuron and step).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use spikeworld::prelude::*;

fn sim(file: &str) -> Sim {
    let b = spikeworld_cli::builder();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file);
    let sc = Scenario::load(&path, b.registry(), &LoadOptions { overrides: vec!["simulation.t_stop=100000ms".into()], seed: None, ..Default::default() }).expect("scenario");
    let mut s = b.build(sc, &RunOptions::default()).expect("build");
    s.run_steps(1000);
    s
}

fn bench(c: &mut Criterion) {
    for (file, n) in [("coba.toml", 4000), ("cuba.toml", 4000), ("noisy_lif_equations.toml", 1000)] {
        let mut s = sim(file);
        c.bench_function(&format!("step {}-{n}", file.trim_end_matches(".toml")), |b| b.iter(|| s.step()));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
