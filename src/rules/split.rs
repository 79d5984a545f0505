//! Exact uniform placement of a fixed number of synapses over the targets, by halves, so
//! that a range of targets is placed without placing the others.
//!
//! A rule that fixes a count on the side it does not split by (`fixed_outdegree`: `k`
//! targets per source; `fixed_total_number`: `n` pairs in all) places its synapses down
//! a binary tree over the targets. A node holding `c` synapses of a range of targets sends
//! a binomial (multapses allowed) or hypergeometric (not allowed) share of them to its
//! left half and the rest to its right, drawn from a stream of its own (purpose
//! [`purpose::CONNECT_SPLIT`], index = row · 2³² + node). A leaf (a node with at most
//! [`FEW`] synapses, or a single target) gives its synapses uniform slots in its range:
//! independent ones with multapses, distinct ones by Floyd's algorithm without. The
//! result is exactly a uniform draw (a multinomial, or a uniform subset of the slots), and
//! a shard that descends only into the nodes over its own targets sees the same counts at
//! every node it visits as a whole build: the same pairs, at the cost of its own synapses
//! plus the paths down to its range's two ends and the synapses of the (at most two)
//! leaves it shares with other shards. A row of at most [`FEW`] synapses is one leaf,
//! which every shard draws whole (cheap: [`FEW`] draws).
//!
//! "Exactly" is up to the samplers' floating point: `rand_distr`'s binomial (inversion or
//! BTPE) and hypergeometric (inversion or H2PE) draws, which use `libm`'s functions (the
//! crate is built without `std` math), so they are the same on every machine.

use std::collections::HashSet;
use std::ops::Range;

use rand_distr::{Binomial, Distribution, Hypergeometric};

use crate::util::rng::{Stream, purpose};

/// Synapses a node places itself rather than split: few enough that a shard holding part
/// of its targets loses little by placing them all, and enough that a row of `k`
/// synapses needs only about `k / FEW` splits (each a sampler's set-up).
const FEW: u64 = 32;

/// Targets in a row, each with its own number of slots (the pairs it may receive).
pub(crate) trait Line {
    /// Slots of targets `a..b` together (O(1): it is called at every node).
    fn slots(&self, a: usize, b: usize) -> u64;
    /// The target of `units` holding slot `x` (slots numbered target by target from
    /// `units.start`) and the number of that target's first slot: the last target whose
    /// first slot is at most `x`. By bisection unless the line knows better.
    fn locate(&self, units: &Range<usize>, x: u64) -> (usize, u64) {
        let first = |u: usize| self.slots(units.start, u);
        let (mut lo, mut hi) = (units.start, units.end); // first(lo) <= x < first(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if first(mid) <= x {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo, first(lo))
    }
}

/// A row's synapses to place over the `units` targets of a [`Line`].
pub(crate) struct Split<'a, L: Line> {
    pub seed: u64,
    pub entity: u32,
    /// Which placement this is (a source for `fixed_outdegree`, 0 for `fixed_total_number`).
    pub row: u32,
    /// Targets on the line.
    pub units: usize,
    pub line: &'a L,
    /// Every slot at most once (no multapses).
    pub unique: bool,
}

impl<L: Line> Split<'_, L> {
    /// Places `items` synapses (at most the line's slots when `unique`) and calls
    /// `emit(target, slot within the target)` for those on targets in `want`, in
    /// ascending order of target and slot.
    /// An error if a sampler refuses its arguments (which the rules' checks rule out).
    pub(crate) fn place(&self, items: u64, want: &Range<usize>, emit: &mut dyn FnMut(usize, u64)) -> Result<(), String> {
        if self.unique && items > self.line.slots(0, self.units) {
            return Err(format!("{items} synapses exceed the {} possible pairs without multapses", self.line.slots(0, self.units)));
        }
        self.node(1, 0..self.units, items, want, emit)
    }

    fn stream(&self, node: u64) -> Stream {
        debug_assert!(node < 1 << 32, "a tree over at most 2^31 targets has its node numbers below 2^32");
        Stream::new(self.seed, self.entity, purpose::CONNECT_SPLIT, (self.row as u64) << 32 | node)
    }

    fn node(&self, id: u64, units: Range<usize>, items: u64, want: &Range<usize>, emit: &mut dyn FnMut(usize, u64)) -> Result<(), String> {
        if items == 0 || units.end <= want.start || want.end <= units.start {
            return Ok(());
        }
        if items <= FEW || units.len() == 1 {
            self.leaf(id, units, items, want, emit);
            return Ok(());
        }
        let mid = units.start + units.len() / 2;
        let (left, all) = (self.line.slots(units.start, mid), self.line.slots(units.start, units.end));
        let mut rng = self.stream(id);
        // 0 or all of them go left in the edge cases. Otherwise left < all, items <= all
        // when unique and a probability in (0, 1): arguments the constructors accept (a
        // refusal would be a sampler's limit, reported rather than lose synapses).
        let refused = |e: &dyn std::fmt::Display| format!("the split of {items} synapses over {all} pairs ({left} on the left) failed: {e}");
        let to_left = if left == 0 {
            0
        } else if left == all {
            items
        } else if self.unique {
            Hypergeometric::new(all, left, items).map_err(|e| refused(&e))?.sample(&mut rng)
        } else {
            Binomial::new(items, left as f64 / all as f64).map_err(|e| refused(&e))?.sample(&mut rng)
        };
        if to_left > left.min(items) || self.unique && items - to_left > all - left {
            return Err(format!("the split of {items} synapses over {all} pairs gave {to_left} of {left} to the left (a sampler's fault)"));
        }
        self.node(2 * id, units.start..mid, to_left, want, emit)?;
        self.node(2 * id + 1, mid..units.end, items - to_left, want, emit)
    }

    fn leaf(&self, id: u64, units: Range<usize>, items: u64, want: &Range<usize>, emit: &mut dyn FnMut(usize, u64)) {
        let all = self.line.slots(units.start, units.end);
        let mut rng = self.stream(id);
        let mut picked: Vec<u64> = if !self.unique {
            (0..items).map(|_| rng.below(all)).collect()
        } else if items <= FEW {
            // Floyd's algorithm: `items` distinct slots in exactly `items` draws.
            let mut v = Vec::with_capacity(items as usize);
            for j in all - items..all {
                let x = rng.below(j + 1);
                v.push(if v.contains(&x) { j } else { x });
            }
            v
        } else {
            let mut set = HashSet::with_capacity(items as usize);
            for j in all - items..all {
                let x = rng.below(j + 1);
                if !set.insert(x) {
                    set.insert(j);
                }
            }
            set.into_iter().collect()
        };
        picked.sort_unstable();
        for x in picked {
            let (unit, first) = self.line.locate(&units, x);
            if want.contains(&unit) {
                emit(unit, x - first);
            }
        }
    }

}
