//! The cpu engine's hot path allocates nothing per step: after a warm-up (scratch vectors
//! grow to their working size), whole steps of COBA (update, threshold, reset,
//! propagation, spike history) on one and two threads make no heap allocation. Monitors
//! are left out: recording grows their buffers by design. On several threads the only
//! allocations are rayon's job-queue blocks (one per 63 steps).

mod common;
use common::*;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use spikeworld::prelude::*;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only counts calls.
#[expect(unsafe_code, reason = "a counting global allocator needs `unsafe impl GlobalAlloc`")]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_per_step(sets: &[&str], threads: usize) -> (u64, u64) {
    let mut sc = load_file("coba.toml", sets, None);
    sc.monitors.clear();
    let mut sim = build(sc, EngineKind::Cpu, threads);
    sim.run_steps(1000);
    let spikes0: u64 = sim.spike_counts().iter().sum();
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    sim.run_steps(500);
    COUNTING.store(false, Ordering::SeqCst);
    let spikes: u64 = sim.spike_counts().iter().sum::<u64>() - spikes0;
    (ALLOCS.load(Ordering::SeqCst), spikes)
}

// One test function: the counter is global, and tests of one binary run in parallel.
#[test]
fn steps_allocate_nothing_on_one_and_two_threads() {
    let (a, spikes) = allocations_per_step(&[], 1);
    assert!(spikes > 1000, "the network must be active to exercise propagation ({spikes} spikes)");
    assert_eq!(a, 0, "500 steps of COBA-4000 on one thread made {a} heap allocations");
    let big = [
        "population.P.size=16384",
        "projection.exc.from=\"P[:13107]\"",
        "projection.inh.from=\"P[13107:]\"",
        "projection.exc.p=0.0048828125",
        "projection.inh.p=0.0048828125",
    ];
    let (a, spikes) = allocations_per_step(&big, 2);
    assert!(spikes > 1000, "{spikes} spikes");
    // NOTE: our code allocates nothing here either; rayon hands each step's job to its
    // pool through crossbeam's injector queue, which allocates one block per 63 jobs
    // (one job per population and step): 500 steps give 8 such blocks.
    assert!(a <= 500 / 63 + 1, "500 steps of COBA-16384 on two threads (2 ranges of 8192 neurons) made {a} heap allocations");
}
