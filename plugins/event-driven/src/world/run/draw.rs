//! The synapses of the event network's connections, drawn for a range of targets only:
//! a shard draws the synapses onto its own neurons, the same pairs and draws as a whole
//! build, and nothing else.
//!
//! Every rule draws per target or skips to a target's draws: `fixed_indegree` from one
//! stream per target, `pairwise_bernoulli` from one stream per source with one uniform per
//! target (a range seeks to its first target's), `all_to_all`, `one_to_one` and a weight
//! matrix loop over the range. Each synapse gets an *order key* that sorts a source's
//! synapses as its whole row does, without the rest of the row: the target index, or for
//! `fixed_indegree` (which may give one target a source several times) the target index
//! times the in-degree plus the draw. The key is the synapse part of an event's origin,
//! the queue's tie-breaker (`crate::queue::Origin::syn`), so events of equal time are
//! taken in one order in one world and in any number of shards.

use spikeworld::util::rng::{Stream, purpose};

use super::Rows;
use crate::world::config::Rule;

/// A connection's synapses onto a range of targets, by source row, and their order keys.
pub(crate) struct Drawn {
    /// Per source: (target, weight, delay ms), in the whole row's order.
    pub rows: Rows,
    /// Per source and synapse, its order key; `None`: the target index is the key (no
    /// row holds a target twice).
    pub keys: Option<Vec<Vec<u64>>>,
}

impl Drawn {
    /// The order key of synapse `e` of source `i`.
    #[inline]
    pub fn key(&self, i: usize, e: usize) -> u64 {
        match &self.keys {
            Some(k) => k[i][e],
            None => u64::from(self.rows[i][e].0),
        }
    }
}

/// `rule`'s synapses from `n_src` sources onto targets `targets.0..targets.1` of `n_dst`.
#[expect(clippy::too_many_arguments, reason = "a rule's parameters and the range")]
pub(crate) fn draw(rule: Rule, n_src: usize, n_dst: usize, seed: u64, key: u32, weight: f64, delay: f64, targets: (u32, u32)) -> Drawn {
    let (lo, hi) = (targets.0.min(n_dst as u32), targets.1.min(n_dst as u32));
    let mut rows: Rows = vec![Vec::new(); n_src];
    let mut keys = None;
    match rule {
        Rule::AllToAll => {
            for r in rows.iter_mut() {
                r.extend((lo..hi).map(|j| (j, weight, delay)));
            }
        }
        Rule::OneToOne => {
            for i in lo..hi.min(n_src as u32) {
                rows[i as usize].push((i, weight, delay));
            }
        }
        Rule::FixedIndegree(k) => {
            let mut kk: Vec<Vec<u64>> = vec![Vec::new(); n_src];
            for j in lo..hi {
                let mut s = Stream::new(seed, key, purpose::CONNECT, j as u64);
                for d in 0..k {
                    let i = s.below(n_src as u64) as usize;
                    rows[i].push((j, weight, delay));
                    kk[i].push(u64::from(j) * k + d);
                }
            }
            keys = Some(kk);
        }
        Rule::Bernoulli(p) => {
            for (i, r) in rows.iter_mut().enumerate() {
                let mut s = Stream::new(seed, key, purpose::CONNECT, i as u64);
                s.seek(2 * u64::from(lo)); // one uniform (two outputs) per target before the range
                r.extend((lo..hi).filter(|_| s.uniform() < p).map(|j| (j, weight, delay)));
            }
        }
    }
    Drawn { rows, keys }
}

/// An all_to_all connection with weights `[targets, sources]` from a file, onto targets
/// `targets.0..targets.1`.
pub(crate) fn draw_matrix(m: &[f64], n_src: usize, n_dst: usize, delay: f64, targets: (u32, u32)) -> Drawn {
    let (lo, hi) = (targets.0.min(n_dst as u32) as usize, targets.1.min(n_dst as u32) as usize);
    let rows = (0..n_src).map(|i| (lo..hi).map(|j| (j as u32, m[j * n_src + i], delay)).collect()).collect();
    Drawn { rows, keys: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole build as it was written before ranges (each rule's draws in their plain
    /// form): per target for `fixed_indegree`, per source with a uniform per target for
    /// `pairwise_bernoulli`.
    fn reference(rule: Rule, n_src: usize, n_dst: usize, seed: u64, key: u32) -> Vec<Vec<u32>> {
        let mut rows = vec![Vec::new(); n_src];
        match rule {
            Rule::AllToAll => rows.iter_mut().for_each(|r| r.extend(0..n_dst as u32)),
            Rule::OneToOne => (0..n_src.min(n_dst)).for_each(|i| rows[i].push(i as u32)),
            Rule::FixedIndegree(k) => {
                for j in 0..n_dst {
                    let mut s = Stream::new(seed, key, purpose::CONNECT, j as u64);
                    for _ in 0..k {
                        rows[s.below(n_src as u64) as usize].push(j as u32);
                    }
                }
            }
            Rule::Bernoulli(p) => {
                for (i, r) in rows.iter_mut().enumerate() {
                    let mut s = Stream::new(seed, key, purpose::CONNECT, i as u64);
                    r.extend((0..n_dst as u32).filter(|_| s.uniform() < p));
                }
            }
        }
        rows
    }

    /// Ranges that cut the targets anywhere draw exactly the whole build's synapses onto
    /// them, in its order, and the order keys sort each row as the whole row's positions do.
    #[test]
    fn a_range_draws_the_whole_builds_synapses_with_keys_in_row_order() {
        let rules = [Rule::AllToAll, Rule::OneToOne, Rule::FixedIndegree(7), Rule::FixedIndegree(1), Rule::Bernoulli(0.3), Rule::Bernoulli(1.0)];
        let (n_src, n_dst) = (23, 41);
        let m: Vec<f64> = (0..n_src * n_dst).map(|x| x as f64 * 0.5).collect();
        for (r, rule) in rules.into_iter().enumerate() {
            let whole = draw(rule, n_src, n_dst, 9, 77 + r as u32, 1.5, 2.0, (0, n_dst as u32));
            let plain = reference(rule, n_src, n_dst, 9, 77 + r as u32);
            assert_eq!(whole.rows.iter().map(|x| x.iter().map(|s| s.0).collect::<Vec<_>>()).collect::<Vec<_>>(), plain, "{rule:?}: the whole build");
            let count: usize = whole.rows.iter().map(|x| x.len()).sum();
            assert!(count >= n_dst.min(n_src), "{rule:?}: {count} synapses");
            for i in 0..n_src {
                // The keys of a row ascend strictly with the position in the row.
                let k: Vec<u64> = (0..whole.rows[i].len()).map(|e| whole.key(i, e)).collect();
                assert!(k.windows(2).all(|w| w[0] < w[1]), "{rule:?}: row {i} keys {k:?}");
            }
            for cuts in [vec![0, 41], vec![0, 20, 41], vec![0, 1, 2, 17, 17, 40, 41], vec![0, 13, 30, 41]] {
                let mut got: Vec<Vec<(u32, u64)>> = vec![Vec::new(); n_src];
                for w in cuts.windows(2) {
                    let part = draw(rule, n_src, n_dst, 9, 77 + r as u32, 1.5, 2.0, (w[0], w[1]));
                    for i in 0..n_src {
                        assert!(part.rows[i].iter().all(|s| (w[0]..w[1]).contains(&s.0)), "{rule:?}: a synapse outside the range");
                        got[i].extend((0..part.rows[i].len()).map(|e| (part.rows[i][e].0, part.key(i, e))));
                    }
                }
                for i in 0..n_src {
                    let want: Vec<(u32, u64)> = (0..whole.rows[i].len()).map(|e| (whole.rows[i][e].0, whole.key(i, e))).collect();
                    assert_eq!(got[i], want, "{rule:?}, cuts {cuts:?}: row {i}");
                }
            }
        }
        let whole = draw_matrix(&m, n_src, n_dst, 1.0, (0, n_dst as u32));
        let parts: Vec<Drawn> = [(0, 10), (10, 41)].iter().map(|&t| draw_matrix(&m, n_src, n_dst, 1.0, t)).collect();
        for i in 0..n_src {
            let got: Vec<_> = parts.iter().flat_map(|p| p.rows[i].iter().copied()).collect();
            assert_eq!(got, whole.rows[i]);
        }
    }
}
