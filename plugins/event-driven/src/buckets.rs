//! A calendar queue for a clock-driven world: pending events in buckets of one step each
//! (a ring of `horizon` steps, plus a heap for anything further ahead), a bucket sorted
//! once when its window opens. Same events, same order as [`EventQueue`]: the key of
//! [`Event`] (time, then origin, ...). Pushing is O(1) and a window costs a sort of its
//! own events instead of a heap operation per event, which is what makes 10⁷ events/s
//! reachable (see the crate README for the numbers).
//!
//! Windows are `[t_start, t_end)`, opened in increasing order by
//! [`BucketQueue::pop_before`]. A bucket is only a hint (`floor(time/dt)`); which window an
//! event belongs to is decided by comparing its time with `t_end`, so float rounding at a
//! step boundary never moves an event to the wrong window. An event pushed while a window
//! is open and due before its end (an output spike's effect within the same step) joins
//! that window in key order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::{Error, Result, finite_time, positive};
use crate::queue::{Event, EventQueue};

/// Pending events in step buckets.
#[derive(Debug, Clone)]
pub struct BucketQueue {
    dt: f64,
    /// `ring[s & mask]` holds the events of step `s` for `base <= s < base + ring.len()`
    /// (the horizon rounded up to a power of two).
    ring: Vec<Vec<Event>>,
    mask: u64,
    /// First step the ring holds.
    base: u64,
    /// Events at or beyond step `base + horizon`.
    far: BinaryHeap<Reverse<Event>>,
    /// The open window: its events sorted descending (popped from the back), and the end.
    window: Vec<Event>,
    late: BinaryHeap<Reverse<Event>>,
    t_end: f64,
    len: usize,
}

impl BucketQueue {
    /// A queue for steps of `dt` ms, with a ring of `horizon` steps (events further ahead
    /// wait in a heap until the ring reaches them).
    pub fn new(dt: f64, horizon: usize) -> Result<Self> {
        let dt = positive("dt", dt)?;
        if horizon == 0 {
            return Err(Error::Parameter { name: "horizon", value: 0.0, reason: "must be at least 1 step" });
        }
        let n = horizon.next_power_of_two();
        Ok(BucketQueue { dt, ring: vec![Vec::new(); n], mask: n as u64 - 1, base: 0, far: BinaryHeap::new(), window: Vec::new(), late: BinaryHeap::new(), t_end: f64::NEG_INFINITY, len: 0 })
    }

    /// Events pending.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn step_of(&self, t: f64) -> u64 {
        // NOTE: `as` truncates toward zero and saturates below at 0: `floor` for t ≥ 0,
        // and 0 for t < 0, without a libm call.
        (t / self.dt) as u64
    }

    /// Adds an event. One due before the open window's end joins that window.
    pub fn push(&mut self, mut ev: Event) -> Result<()> {
        ev.time = finite_time("event", ev.time)?;
        self.len += 1;
        if ev.time < self.t_end {
            self.late.push(Reverse(ev));
            return Ok(());
        }
        let s = self.step_of(ev.time).max(self.base);
        if s <= self.base + self.mask {
            self.ring[(s & self.mask) as usize].push(ev);
        } else {
            self.far.push(Reverse(ev));
        }
        Ok(())
    }

    /// Adds the events of one fan-out, all at `time` (one spike through one row of
    /// synapses): `make(k)` is the `k`-th of `n`. The same as `n` pushes, with one bucket
    /// lookup.
    pub fn push_fan(&mut self, time: f64, n: usize, mut make: impl FnMut(usize) -> Event) -> Result<()> {
        let time = finite_time("event", time)?;
        if n == 0 {
            return Ok(());
        }
        let s = self.step_of(time).max(self.base);
        if time < self.t_end || s > self.base + self.mask {
            for k in 0..n {
                let mut ev = make(k);
                ev.time = time;
                self.push(ev)?;
            }
            return Ok(());
        }
        self.len += n;
        let b = &mut self.ring[(s & self.mask) as usize];
        b.extend((0..n).map(|k| Event { time, ..make(k) }));
        Ok(())
    }

    /// Opens the window ending at `t_end` (the previous one must be empty) and returns its
    /// events in key order, including those pushed while it is open.
    pub fn pop_before(&mut self, t_end: f64) -> BucketWindow<'_> {
        debug_assert!(self.window.is_empty() && self.late.is_empty(), "the previous window was not drained");
        let last = self.step_of(t_end);
        let h = self.ring.len() as u64;
        let mask = self.mask;
        // Every bucket up to the one holding t_end (an event at t < t_end may sit in the
        // bucket of t_end's step, or in the next one through rounding).
        let mut w = std::mem::take(&mut self.window);
        let mut keep = Vec::new();
        while self.base <= last + 1 {
            let b = &mut self.ring[(self.base & mask) as usize];
            if self.base == last + 1 {
                // The next step's bucket: only what rounding put there and is due now
                // leaves it (in place: the rest stays for the next window).
                b.retain(|e| {
                    let due = e.time < t_end;
                    if due {
                        w.push(*e);
                    }
                    !due
                });
                break;
            }
            if w.is_empty() {
                // The usual case, one bucket: take it whole (the bucket gets the window's
                // empty buffer, capacity kept) and move out what is not due.
                std::mem::swap(&mut w, b);
                w.retain(|e| {
                    let due = e.time < t_end;
                    if !due {
                        keep.push(*e);
                    }
                    due
                });
            } else {
                for e in b.drain(..) {
                    if e.time < t_end { w.push(e) } else { keep.push(e) }
                }
            }
            self.base += 1;
            // The ring moved on: events from the far heap now within reach come in.
            while let Some(Reverse(e)) = self.far.peek().copied() {
                if self.step_of(e.time) >= self.base + h {
                    break;
                }
                self.far.pop();
                if e.time < t_end { w.push(e) } else { keep.push(e) }
            }
        }
        for e in keep {
            let s = self.step_of(e.time).max(self.base);
            if s < self.base + h {
                self.ring[(s & mask) as usize].push(e);
            } else {
                self.far.push(Reverse(e));
            }
        }
        while let Some(Reverse(e)) = self.far.peek().copied() {
            if e.time >= t_end {
                break;
            }
            self.far.pop();
            w.push(e);
        }
        w.sort_unstable_by(|a, b| b.cmp(a));
        self.window = w;
        self.t_end = t_end;
        BucketWindow { q: self }
    }

    /// Every pending event in pop order (for checkpoints; independent of the layout).
    pub fn to_sorted_vec(&self) -> Vec<Event> {
        let mut v: Vec<Event> = self.ring.iter().flatten().copied().chain(self.far.iter().map(|r| r.0)).chain(self.window.iter().copied()).chain(self.late.iter().map(|r| r.0)).collect();
        v.sort_unstable();
        v
    }

    /// A queue holding `events`, the next window to open after `t_done` (the end of the
    /// last window the checkpointed run processed).
    pub fn from_vec(dt: f64, horizon: usize, t_done: f64, events: Vec<Event>) -> Result<Self> {
        let mut q = BucketQueue::new(dt, horizon)?;
        q.base = q.step_of(t_done).saturating_sub(1);
        for e in events {
            q.push(e)?;
        }
        Ok(q)
    }

    /// The same events in an [`EventQueue`].
    pub fn to_heap(&self) -> Result<EventQueue> {
        EventQueue::from_vec(self.to_sorted_vec())
    }
}

/// The events of an open window, in key order.
pub struct BucketWindow<'a> {
    q: &'a mut BucketQueue,
}

impl BucketWindow<'_> {
    /// Pushes an event while the window is open (it joins it if due before its end).
    pub fn push(&mut self, ev: Event) -> Result<()> {
        self.q.push(ev)
    }

    /// The receiver of the event `k` places after the next one among those the window
    /// opened with (events pushed since are not counted): a hint for prefetching.
    #[inline]
    pub fn peek_target(&self, k: usize) -> Option<crate::queue::Target> {
        let w = &self.q.window;
        w.len().checked_sub(k + 1).map(|i| w[i].target)
    }
}

impl Iterator for BucketWindow<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let q = &mut *self.q;
        let take_late = match (q.window.last(), q.late.peek()) {
            (None, None) => return None,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(Reverse(b))) => b < a,
        };
        q.len -= 1;
        if take_late { q.late.pop().map(|r| r.0) } else { q.window.pop() }
    }
}
