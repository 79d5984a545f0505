#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! Event-queue throughput (hold model: pop the earliest event, push one later, at a
//! constant number of live events) and one tempotron V_max, exact against the seed's grid.
//!
//! `cargo bench --workspace --bench event_driven -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/grid.rs"]
mod grid;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use spikeworld::util::rng::Stream;
use spikeworld_event_driven::pattern_task::PatternTaskConfig;
use spikeworld_event_driven::buckets::BucketQueue;
use spikeworld_event_driven::queue::{Event, EventQueue, Origin, Target};

fn event(s: &mut Stream, t0: f64, i: u64) -> Event {
    Event {
        time: t0 + 10.0 * s.uniform(),
        origin: Origin { pop: 0, idx: s.below(1000) as u32, syn: s.below(100), spike: i },
        target: Target { pop: 1, idx: s.below(1000) as u32 },
        weight: 0.1,
    }
}

fn queue(c: &mut Criterion) {
    for log2 in [10u32, 16, 20] {
        let mut s = Stream::new(1, 1, 1, log2 as u64);
        let mut q = EventQueue::with_capacity(1 << log2);
        for i in 0..(1u64 << log2) {
            q.push(event(&mut s, 0.0, i)).unwrap();
        }
        let mut i = 1u64 << log2;
        c.bench_function(&format!("queue hold pop+push, 2^{log2} live"), |b| {
            b.iter(|| {
                let e = q.pop().unwrap();
                i += 1;
                q.push(event(&mut s, e.time, i)).unwrap();
            })
        });
    }
    let mut s = Stream::new(2, 2, 2, 2);
    let window: Vec<Event> = (0..10_000).map(|i| event(&mut s, 0.0, i)).collect();
    c.bench_function("queue window: push 10^4 then pop_before", |b| {
        b.iter_batched(
            || window.clone(),
            |w| {
                let mut q = EventQueue::with_capacity(w.len());
                for e in w {
                    q.push(e).unwrap();
                }
                q.pop_before(f64::INFINITY).count()
            },
            BatchSize::SmallInput,
        )
    });
}

fn tempotron(c: &mut Criterion) {
    let cfg = PatternTaskConfig { n_patterns: 8, ..Default::default() };
    let t = cfg.tempotron().unwrap();
    let (pats, _) = cfg.patterns().unwrap();
    let w: Vec<f64> = (0..500).map(|i| 0.02 * ((i * 37 % 100) as f64 / 100.0 - 0.4)).collect();
    c.bench_function("tempotron V_max exact (N = 500, T = 500 ms)", |b| b.iter(|| t.v_max(&pats[0], &w).unwrap().v_max));
    let mut buf = Vec::new();
    c.bench_function("tempotron V_max seed grid (N = 500, T = 500 steps)", |b| b.iter(|| grid::grid_v_max(&t, &pats[0], &w, &mut buf).0));
}

/// A clock-driven world's load: 10^5 events spread over 100 steps of 0.1 ms, popped window
/// by window; the heap queue against the step buckets (time per event = total / 10^5).
fn windows(c: &mut Criterion) {
    let mut s = Stream::new(3, 3, 3, 3);
    let events: Vec<Event> = (0..100_000u64)
        .map(|i| Event { time: 10.0 * s.uniform(), origin: Origin { pop: 0, idx: s.below(1000) as u32, syn: s.below(100), spike: i }, target: Target { pop: 1, idx: s.below(1000) as u32 }, weight: 0.1 })
        .collect();
    c.bench_function("10^5 events over 100 steps: heap", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| {
                let mut q = EventQueue::with_capacity(ev.len());
                for e in ev {
                    q.push(e).unwrap();
                }
                (0..100).map(|k| q.pop_before((k + 1) as f64 * 0.1).count()).sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
    c.bench_function("10^5 events over 100 steps: step buckets", |b| {
        b.iter_batched(
            || events.clone(),
            |ev| {
                let mut q = BucketQueue::new(0.1, 256).unwrap();
                for e in ev {
                    q.push(e).unwrap();
                }
                (0..100).map(|k| q.pop_before((k + 1) as f64 * 0.1).count()).sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
}

/// 10^5 SRM0 neurons, 100 Poisson inputs each (1000 sources at 10 Hz), in the world:
/// input events delivered per second of loop (20 ms of network time per iteration).
fn world(c: &mut Criterion) {
    use spikeworld::prelude::*;
    let text = r#"
[simulation]
dt = "0.1 ms"
t_stop = "1000 ms"
seed = 5
[[encoder]]
name = "in"
kind = "poisson"
size = 1000
rate = "10 Hz"
[[event_population]]
name = "srm"
size = 100000
tau_m = "10 ms"
tau_s = "2.5 ms"
theta = 1.0
[[event_population.input]]
from = "in"
rule = "fixed_indegree"
indegree = 100
weight = 0.05
delay = "1 ms"
"#;
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(spikeworld_event_driven::world::EventDrivenPlugin);
    let sc = Scenario::from_str(text, std::path::Path::new("bench.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_steps(100); // past the first delay
    let mut g = c.benchmark_group("world");
    g.sample_size(10);
    let before = sim.world.resource::<spikeworld_event_driven::world::run::EventNet>().processed();
    sim.run_steps(200);
    let per_iter = sim.world.resource::<spikeworld_event_driven::world::run::EventNet>().processed() - before;
    g.throughput(criterion::Throughput::Elements(per_iter));
    g.bench_function("srm0_1e5_x100_inputs_20ms", |bch| bch.iter(|| sim.run_steps(200)));
    g.finish();
}

criterion_group!(benches, queue, windows, tempotron, world);
criterion_main!(benches);
