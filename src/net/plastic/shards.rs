//! [`Shards`]: what a rule sees of the other shards of a partitioned network, for the few
//! rules whose step needs values from synapses or neurons that other shards hold (a
//! projection-wide sum, every target's mean) — `docs/sharding.md`.

use std::ops::Range;

use crate::net::ShardLink;
use crate::util::exact::ExactSum;

/// The shards of a partitioned network as a rule's step sees them; one world is one shard.
///
/// A collective ([`Shards::gather`], [`Shards::sum_exact`]) must be called by every shard
/// at the same point of the same step: a rule that calls it does so in every step it
/// calls it in one world, whatever this shard holds (no synapse, no target), with nothing
/// shard-dependent deciding whether. Each call is checked against the projection it was
/// made for in every shard.
#[derive(Clone, Copy)]
pub struct Shards<'a> {
    pub(crate) link: Option<&'a ShardLink>,
    /// The target population's neurons this world holds.
    pub(crate) own: (u32, u32),
    /// The projection's tag (its name's hash; 0 in one world): every shard's call must
    /// carry the same.
    pub(crate) tag: u64,
}

impl Shards<'_> {
    /// Shards of the network (1: one world).
    pub fn count(&self) -> usize {
        self.link.map_or(1, ShardLink::count)
    }

    /// The target population's neurons this shard holds, as population indices (in one
    /// world, all of them). Shard `k`'s all come before shard `k + 1`'s.
    pub fn own_targets(&self) -> Range<u32> {
        self.own.0..self.own.1
    }

    /// Every shard's `mine`, concatenated in shard order (one world: `mine`). Values per
    /// own target, in target order, thus give one world's vector over the targets.
    pub fn gather(&self, mine: &[f64]) -> Vec<f64> {
        let Some(link) = self.link else { return mine.to_vec() };
        link.all_gather(self.tag, mine).concat()
    }

    /// [`Shards::sum_exact`] of one sum.
    pub fn sum_exact_one(&self, sum: &mut ExactSum) -> f64 {
        if self.count() == 1 {
            let v = sum.value();
            sum.clear();
            return v;
        }
        let mut out = Vec::with_capacity(1);
        self.sum_exact(std::slice::from_mut(sum), &mut out);
        out[0]
    }

    /// Each `sums[i]` over every shard, rounded once (one world: `sums[i]`'s value): one
    /// world's bits for a sum over the whole projection, whatever the number of shards
    /// (`util::exact`). Clears `sums`; the values replace `out`'s.
    pub fn sum_exact(&self, sums: &mut [ExactSum], out: &mut Vec<f64>) {
        out.clear();
        let Some(link) = self.link.filter(|l| l.count() > 1) else {
            out.extend(sums.iter_mut().map(|s| {
                let v = s.value();
                s.clear();
                v
            }));
            return;
        };
        // Per sum: its number of terms, then the terms (`ExactSum::drain_terms`).
        let mut msg = Vec::new();
        let mut terms = Vec::new();
        for s in sums.iter_mut() {
            terms.clear();
            s.drain_terms(&mut terms);
            msg.push(terms.len() as f64);
            msg.extend_from_slice(&terms);
        }
        let parts = link.all_gather(self.tag, &msg);
        let mut at: Vec<usize> = vec![0; parts.len()];
        let mut acc = ExactSum::new();
        for _ in 0..sums.len() {
            // (A shard that is gone gives nothing: its panic ends the run after this step.)
            for (part, at) in parts.iter().zip(at.iter_mut()).filter(|(part, _)| !part.is_empty()) {
                let n = part[*at] as usize;
                part[*at + 1..*at + 1 + n].iter().for_each(|&x| acc.add(x));
                *at += 1 + n;
            }
            out.push(acc.value());
            acc.clear();
        }
    }
}

/// A step's exact sums per kernel entry (`n` entries, two sums each: a rule's LTP and LTD
/// parts), over every shard: a rule on a shared kernel learns each entry from every
/// synapse that uses it, and each shard holds its own targets' synapses only. Rounded
/// once, so one world and any number of shards give the same bits.
pub struct EntrySums {
    n: usize,
    sums: Vec<ExactSum>,
    out: Vec<f64>,
}

impl EntrySums {
    /// `n` entries, every sum zero.
    pub fn new(n: usize) -> Self {
        EntrySums { n, sums: (0..2 * n).map(|_| ExactSum::new()).collect(), out: vec![0.0; 2 * n] }
    }

    /// Adds `v` to entry `c`'s first (LTP) sum.
    #[inline]
    pub fn add_plus(&mut self, c: usize, v: f64) {
        self.sums[c].add(v);
    }

    /// Adds `v` to entry `c`'s second (LTD) sum.
    #[inline]
    pub fn add_minus(&mut self, c: usize, v: f64) {
        self.sums[self.n + c].add(v);
    }

    /// Every entry's two sums over every shard, rounded once (`plus`, `minus`), and the
    /// accumulators back to zero. Every shard calls it in the same steps (a collective).
    pub fn finish(&mut self, shards: Shards<'_>) -> (&[f64], &[f64]) {
        shards.sum_exact(&mut self.sums, &mut self.out);
        self.out.split_at(self.n)
    }
}
