//! The event queue: pending synaptic events in an exact total order.
//!
//! # Order
//! An [`Event`] is ordered lexicographically by
//!
//! 1. `time`: f64 ms compared with [`f64::total_cmp`]. NaN and ±∞ are rejected at
//!    [`EventQueue::push`] and `−0.0` is stored as `+0.0` (total_cmp would put it first),
//!    so on stored times this is the ordinary numeric order. Exact root-found spike times
//!    keep full f64 precision (one ulp at 10⁶ ms is 1.2·10⁻¹⁰ ms).
//! 2. `origin`: (source population key, source index, synapse index, the source's spike
//!    count). It comes from the event's origin, not from an insertion counter, so it is the
//!    same however the events were produced (threads, shards). With unique origins no two
//!    pending events compare equal, and the pop order of **any** correct priority structure
//!    is the sorted order of the keys.
//! 3. `target`, then `weight` (total_cmp): they only matter for events with equal time and
//!    origin, which the caller should not produce; they make [`Ord`] agree with [`Eq`],
//!    so even then the order is deterministic (equal events are indistinguishable).
//!
//! # Checkpoints
//! [`EventQueue::to_sorted_vec`] gives the pending events in pop order, independent of the
//! heap's internal layout; [`EventQueue::from_vec`] validates and rebuilds. A run resumed
//! from it pops exactly the same sequence.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::error::{Result, finite_time};

/// Where an event comes from; it orders events of equal time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// Stable key of the source population (scenario order, not an ECS entity).
    pub pop: u32,
    /// Index of the source neuron in its population.
    pub idx: u32,
    /// The synapse's order key in the source's row: its target's index, or for a
    /// `fixed_indegree` connection target · in-degree + draw (`world/run/draw.rs`), so that
    /// a shard holding part of the row orders it as the whole row does.
    pub syn: u64,
    /// How many spikes the source had emitted before this one.
    pub spike: u64,
}

/// Which neuron receives an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// Key of the target population.
    pub pop: u32,
    /// Index of the target neuron.
    pub idx: u32,
}

/// One pending synaptic event.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// Arrival time (ms).
    pub time: f64,
    /// Origin, the tie-breaker of equal times.
    pub origin: Origin,
    /// Receiver.
    pub target: Target,
    /// Payload: the synaptic weight.
    pub weight: f64,
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time
            .total_cmp(&other.time)
            .then_with(|| self.origin.cmp(&other.origin))
            .then_with(|| self.target.cmp(&other.target))
            .then_with(|| self.weight.total_cmp(&other.weight))
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Event {}

/// A min-queue of [`Event`]s on `std::collections::BinaryHeap` (see the README for why
/// not the `priority-queue` crate).
#[derive(Debug, Clone, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Event>>,
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty queue with room for `n` events.
    pub fn with_capacity(n: usize) -> Self {
        Self { heap: BinaryHeap::with_capacity(n) }
    }

    /// Schedules `ev`. Errors if its time is NaN or infinite; `−0.0` becomes `+0.0`.
    pub fn push(&mut self, mut ev: Event) -> Result<()> {
        ev.time = finite_time("event", ev.time)?;
        self.heap.push(Reverse(ev));
        Ok(())
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<Event> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// The earliest event, without removing it.
    pub fn peek(&self) -> Option<&Event> {
        self.heap.peek().map(|Reverse(e)| e)
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<f64> {
        self.peek().map(|e| e.time)
    }

    /// Pops, in order, every event with `time < t_end` (the window is half-open: an event
    /// exactly at `t_end` stays). Events the iterator has not yielded stay queued.
    pub fn pop_before(&mut self, t_end: f64) -> PopBefore<'_> {
        PopBefore { queue: self, t_end }
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The pending events in pop order: the canonical checkpoint form.
    pub fn to_sorted_vec(&self) -> Vec<Event> {
        let mut v: Vec<Event> = self.heap.iter().map(|Reverse(e)| *e).collect();
        v.sort_unstable();
        v
    }

    /// A queue holding `events` (any order); errors on a non-finite time.
    pub fn from_vec(events: Vec<Event>) -> Result<Self> {
        let mut v = Vec::with_capacity(events.len());
        for mut e in events {
            e.time = finite_time("checkpointed event", e.time)?;
            v.push(Reverse(e));
        }
        Ok(Self { heap: BinaryHeap::from(v) })
    }
}

/// Iterator of [`EventQueue::pop_before`].
#[derive(Debug)]
pub struct PopBefore<'a> {
    queue: &'a mut EventQueue,
    t_end: f64,
}

impl Iterator for PopBefore<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        match self.queue.peek_time() {
            Some(t) if t < self.t_end => self.queue.pop(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(time: f64, idx: u32) -> Event {
        Event { time, origin: Origin { pop: 0, idx, syn: 0, spike: 0 }, target: Target { pop: 1, idx: 0 }, weight: 1.0 }
    }

    #[test]
    fn rejects_non_finite_times_and_normalises_negative_zero() {
        let mut q = EventQueue::new();
        assert!(q.push(ev(f64::NAN, 0)).is_err());
        assert!(q.push(ev(f64::INFINITY, 0)).is_err());
        assert!(EventQueue::from_vec(vec![ev(f64::NEG_INFINITY, 0)]).is_err());
        q.push(ev(-0.0, 1)).unwrap();
        q.push(ev(0.0, 0)).unwrap();
        let order: Vec<u32> = q.pop_before(1.0).map(|e| e.origin.idx).collect();
        assert_eq!(order, vec![0, 1], "−0.0 and +0.0 are the same time: the origin decides");
    }
}
