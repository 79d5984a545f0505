#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! Checkpoint write and restore for COBA at N = 64000 (5.1 M synapses; 80 inputs per
//! neuron, as in `docs/scenarios.md`), after 100 ms so that spikes are recorded and in
//! transit. `SPIKEWORLD_BENCH_N` changes N.
//!
//! - `encode`: the whole checkpoint into memory (format + checksum, no disk);
//! - `save`: `sim.save(path)`: encode, write, fsync, rename;
//! - `restore`: `sim.restore(path)` from the page cache: verify the checksum, decode,
//!   write into the simulation's buffers (no rebuild of the network).
//!
//! Prints the file size next to the raw size of the state it holds.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spikeworld::prelude::*;

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("SPIKEWORLD_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(64000);
    let n_exc = n * 4 / 5;
    let p = 80.0 / n as f64;
    let b = spikeworld_cli::builder();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join("coba.toml");
    let set = vec![
        format!("population.P.size={n}"),
        format!("projection.exc.from=\"P[:{n_exc}]\""),
        format!("projection.inh.from=\"P[{n_exc}:]\""),
        format!("projection.exc.p={p}"),
        format!("projection.inh.p={p}"),
    ];
    let sc = Scenario::load(&path, b.registry(), &LoadOptions { overrides: set, seed: None, ..Default::default() }).expect("scenario");
    let mut sim = b.build(sc, &RunOptions::default()).expect("build");
    sim.run_steps(1000);

    let synapses: usize = sim.synapse_counts().iter().sum();
    // The weights stored: COBA's constant weights once per projection (`SynapseTable::uniform`).
    let weights: usize = sim.projections.iter().map(|&e| sim.world.get::<spikeworld::net::synapse::SynapseTable>(e).expect("table").weight.len()).sum();
    let ring = sim.world.get::<spikeworld::net::InputRing>(sim.populations[0]).expect("ring").values();
    let vars = sim.scenario.populations[0].model.vars().len();
    let recorded = sim
        .monitors
        .iter()
        .filter_map(|&e| sim.world.get::<spikeworld::monitor::SpikeRecorder>(e))
        .map(|m| m.len())
        .sum::<usize>();
    // State, ring, weights, each neuron's last spike step (the spike history), spikes recorded.
    let raw = 8 * (n * vars + ring + weights + n) + 16 * recorded;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("coba.swck");
    let saved = sim.save(&file).expect("save");
    println!(
        "COBA N={n}: {synapses} synapses, {recorded} recorded spikes; checkpoint {} bytes, raw state {raw} bytes, ratio {:.4}",
        saved.bytes,
        saved.bytes as f64 / raw as f64
    );

    let mut g = c.benchmark_group(format!("checkpoint coba-{n}"));
    g.sample_size(10);
    g.throughput(Throughput::Bytes(saved.bytes));
    let mut buf = Vec::with_capacity(saved.bytes as usize);
    g.bench_function("encode", |bch| {
        bch.iter(|| {
            buf.clear();
            sim.write_checkpoint(&mut buf).expect("encode")
        })
    });
    g.bench_function("save", |bch| bch.iter(|| sim.save(&file).expect("save")));
    g.bench_function("restore", |bch| bch.iter(|| sim.restore(&file).expect("restore")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
