//! Predicted threshold crossings by step: a calendar with O(1) insertion and no removal.
//!
//! Every time a neuron's state changes, the event window predicts its next crossing and
//! files `(time, population, index)` in the bucket of the step whose window holds that
//! time. An earlier prediction of the same neuron is not looked for: when its bucket
//! comes up it no longer equals the neuron's current prediction and is dropped. The
//! bucket of a time `t` is the step `s` with `s·dt ≤ t < (s+1)·dt`, computed with the
//! same expression `(s + 1) as f64 * dt` as the window's end, so no rounding can file a
//! crossing one window late.
//!
//! The calendar is not checkpointed: it is a function of the neurons' predictions, which
//! are a function of their states, and is filled again on load.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The `k` with `k·w ≤ x < (k+1)·w` (`x` ≥ 0, finite), the bounds computed as
/// `k as f64 * w` exactly as the windows' ends are (so no rounding puts `x` one window off).
pub fn window_of(x: f64, w: f64) -> u64 {
    let mut k = (x / w) as u64; // floor for x ≥ 0, without a libm call
    while (k + 1) as f64 * w <= x {
        k += 1;
    }
    while k > 0 && x < k as f64 * w {
        k -= 1;
    }
    k
}

/// One filed prediction: time (ms), population, neuron.
pub type Filed = (f64, u32, u32);

/// Predictions by step: a ring of at least `horizon` buckets (a power of two) and a heap for those further ahead.
#[derive(Debug)]
pub struct Crossings {
    dt: f64,
    ring: Vec<Vec<Filed>>,
    /// The first step not yet taken; the ring holds steps `next .. next + horizon`.
    next: u64,
    far: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
}

impl Crossings {
    /// An empty calendar whose first window is step `next`.
    pub fn new(dt: f64, horizon: usize, next: u64) -> Self {
        Crossings { dt, ring: vec![Vec::new(); horizon.max(1).next_power_of_two()], next, far: BinaryHeap::new() }
    }

    /// The step whose window `[s·dt, (s+1)·dt)` holds `t` (≥ 0, finite).
    pub fn step_of(&self, t: f64) -> u64 {
        window_of(t, self.dt)
    }

    /// Files a prediction (a time before the next window joins the next window).
    pub fn push(&mut self, t: f64, pop: u32, idx: u32) {
        let s = self.step_of(t).max(self.next);
        let h = self.ring.len() as u64;
        if s < self.next + h {
            self.ring[(s & (h - 1)) as usize].push((t, pop, idx));
        } else {
            self.far.push(Reverse((s, t.to_bits(), pop, idx)));
        }
    }

    /// Moves every prediction filed for steps up to `step` into `out` (in filing order for
    /// the ring, then time order for the far ones; the caller must not depend on it).
    pub fn take(&mut self, step: u64, out: &mut Vec<Filed>) {
        let h = self.ring.len() as u64;
        while self.next <= step {
            out.append(&mut self.ring[(self.next & (h - 1)) as usize]);
            self.next += 1;
        }
        while let Some(&Reverse((s, bits, p, j))) = self.far.peek() {
            if s > step {
                break;
            }
            self.far.pop();
            out.push((f64::from_bits(bits), p, j));
        }
    }

    /// Forgets everything and makes `next` the first window.
    pub fn reset(&mut self, next: u64) {
        self.ring.iter_mut().for_each(Vec::clear);
        self.far.clear();
        self.next = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_lands_in_the_window_that_holds_it() {
        let c = Crossings::new(0.1, 8, 0);
        for s in 0..100_000u64 {
            for t in [s as f64 * 0.1, f64::next_down((s + 1) as f64 * 0.1), f64::next_up(s as f64 * 0.1)] {
                let k = c.step_of(t);
                assert!(k as f64 * 0.1 <= t && t < (k + 1) as f64 * 0.1, "t = {t:e} filed in step {k}");
            }
        }
    }

    #[test]
    fn ring_and_far_predictions_come_out_in_their_step() {
        let mut c = Crossings::new(1.0, 4, 0);
        c.push(0.5, 0, 1);
        c.push(2.5, 0, 2);
        c.push(9.5, 0, 3); // beyond the ring
        c.push(3.0, 0, 4);
        let mut out = Vec::new();
        c.take(0, &mut out);
        assert_eq!(out, [(0.5, 0, 1)]);
        out.clear();
        c.take(2, &mut out);
        assert_eq!(out, [(2.5, 0, 2)]);
        out.clear();
        c.push(1.0, 0, 5); // overdue: joins the next window
        c.take(3, &mut out);
        assert_eq!(out, [(3.0, 0, 4), (1.0, 0, 5)]);
        out.clear();
        c.take(8, &mut out);
        assert!(out.is_empty());
        c.take(9, &mut out);
        assert_eq!(out, [(9.5, 0, 3)]);
    }
}
