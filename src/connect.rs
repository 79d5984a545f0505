//! Connection rules (NEST's names) and the compressed sparse rows that deliver spikes.
//!
//! Every rule draws from counter-based streams keyed by the projection, so the synapses
//! are the same whatever the thread count. Bernoulli connectivity skips over absent pairs
//! with geometric gaps (O(synapses), not O(pairs)), as Brian2 does.

use std::collections::HashSet;

use crate::model::{ParamSpec, Params};
use crate::registry::{RuleSpec, SimBuilder};
use crate::rng::{Stream, purpose};
use crate::units::Dim;

/// What a rule knows about the projection it connects.
#[derive(Clone, Debug)]
pub struct ConnectCtx {
    /// Run seed.
    pub seed: u64,
    /// The projection's stream key.
    pub entity: u32,
    /// Sources in the selection.
    pub n_src: usize,
    /// Targets in the selection.
    pub n_tgt: usize,
    /// Population index of the first selected source.
    pub src_offset: usize,
    /// Population index of the first selected target.
    pub tgt_offset: usize,
    /// Source and target are the same population (autapses are possible).
    pub same_population: bool,
    /// Whether a neuron may connect to itself.
    pub allow_autapses: bool,
    /// Whether a pair may be connected more than once.
    pub allow_multapses: bool,
}

impl ConnectCtx {
    fn is_autapse(&self, s: usize, t: usize) -> bool {
        self.same_population && self.src_offset + s == self.tgt_offset + t
    }
    fn possible_targets(&self, s: usize) -> usize {
        let self_in = self.same_population && (self.tgt_offset..self.tgt_offset + self.n_tgt).contains(&(self.src_offset + s));
        self.n_tgt - usize::from(self_in && !self.allow_autapses)
    }
    fn possible_sources(&self, t: usize) -> usize {
        let self_in = self.same_population && (self.src_offset..self.src_offset + self.n_src).contains(&(self.tgt_offset + t));
        self.n_src - usize::from(self_in && !self.allow_autapses)
    }
}

/// Connected pairs, relative to the selections, in generation order.
#[derive(Clone, Debug, Default)]
pub struct Pairs {
    /// Source index (relative).
    pub src: Vec<u32>,
    /// Target index (relative).
    pub tgt: Vec<u32>,
}

impl Pairs {
    fn push(&mut self, s: usize, t: usize) {
        self.src.push(s as u32);
        self.tgt.push(t as u32);
    }
}

/// Synapses by source row: row `s` holds `row_ptr[s]..row_ptr[s+1]`.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    /// Row starts, `n_src + 1` entries.
    pub row_ptr: Vec<u64>,
    /// Target index within the target population.
    pub col: Vec<u32>,
}

impl Csr {
    /// Sorts pairs into rows by a stable counting sort (the order within a row is the
    /// generation order, so it is deterministic).
    pub fn from_pairs(p: &Pairs, n_src: usize, tgt_offset: usize) -> Self {
        let mut row_ptr = vec![0u64; n_src + 1];
        for &s in &p.src {
            row_ptr[s as usize + 1] += 1;
        }
        for i in 0..n_src {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut next = row_ptr.clone();
        let mut col = vec![0u32; p.src.len()];
        for (&s, &t) in p.src.iter().zip(&p.tgt) {
            let k = &mut next[s as usize];
            col[*k as usize] = t + tgt_offset as u32;
            *k += 1;
        }
        Csr { row_ptr, col }
    }

    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.col.len()
    }

    /// True when there is no synapse.
    pub fn is_empty(&self) -> bool {
        self.col.is_empty()
    }
}

fn count_param(p: &Params, name: &str) -> Result<u64, String> {
    let v = p.get(name);
    if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
        return Err(format!("`{name}` must be a whole number >= 0 (found {v})"));
    }
    Ok(v as u64)
}

fn all_to_all(c: &ConnectCtx, _: &Params) -> Result<Pairs, String> {
    let mut out = Pairs::default();
    for s in 0..c.n_src {
        for t in 0..c.n_tgt {
            if c.allow_autapses || !c.is_autapse(s, t) {
                out.push(s, t);
            }
        }
    }
    Ok(out)
}

fn one_to_one(c: &ConnectCtx, _: &Params) -> Result<Pairs, String> {
    if c.n_src != c.n_tgt {
        return Err(format!("one_to_one needs equal sizes, found {} sources and {} targets", c.n_src, c.n_tgt));
    }
    let mut out = Pairs::default();
    for i in 0..c.n_src {
        if c.allow_autapses || !c.is_autapse(i, i) {
            out.push(i, i);
        }
    }
    Ok(out)
}

fn pairwise_bernoulli(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let prob = p.get("p");
    if !(0.0..=1.0).contains(&prob) {
        return Err(format!("`p` must be in [0, 1] (found {prob})"));
    }
    let mut out = Pairs::default();
    if prob == 0.0 {
        return Ok(out);
    }
    let ln_q = (1.0 - prob).ln();
    for s in 0..c.n_src {
        let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, s as u64);
        let mut t = rng.geometric(ln_q);
        while (t as usize) < c.n_tgt {
            let tu = t as usize;
            if c.allow_autapses || !c.is_autapse(s, tu) {
                out.push(s, tu);
            }
            t = t.saturating_add(1).saturating_add(rng.geometric(ln_q));
        }
    }
    Ok(out)
}

fn draw_k(rng: &mut Stream, k: u64, n: usize, unique: bool, forbidden: Option<usize>, out: &mut Vec<usize>) {
    out.clear();
    let mut seen = HashSet::new();
    while (out.len() as u64) < k {
        let x = rng.below(n as u64) as usize;
        if Some(x) == forbidden || (unique && !seen.insert(x)) {
            continue;
        }
        out.push(x);
    }
}

/// Fixed degree on one side: every neuron of the *fixed* side (targets for an in-degree,
/// sources for an out-degree) draws `k` partners uniformly from the other side.
fn fixed_degree(c: &ConnectCtx, k: u64, by_target: bool) -> Result<Pairs, String> {
    let (n_fixed, fixed_off, n_other, other_off) =
        if by_target { (c.n_tgt, c.tgt_offset, c.n_src, c.src_offset) } else { (c.n_src, c.src_offset, c.n_tgt, c.tgt_offset) };
    let mut out = Pairs::default();
    let mut buf = Vec::new();
    for f in 0..n_fixed {
        let avail = if by_target { c.possible_sources(f) } else { c.possible_targets(f) };
        if k > 0 && avail == 0 || !c.allow_multapses && k as usize > avail {
            let (what, side) = if by_target { ("indegree", "sources") } else { ("outdegree", "targets") };
            return Err(format!("{what} {k} exceeds the {avail} possible {side} without multapses/autapses"));
        }
        // The neuron itself, if it is also among the partners and autapses are excluded.
        let forbidden = (!c.allow_autapses && c.same_population)
            .then(|| (fixed_off + f).checked_sub(other_off).filter(|&o| o < n_other))
            .flatten();
        let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, f as u64);
        draw_k(&mut rng, k, n_other, !c.allow_multapses, forbidden, &mut buf);
        for &o in &buf {
            if by_target { out.push(o, f) } else { out.push(f, o) }
        }
    }
    Ok(out)
}

fn fixed_indegree(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    fixed_degree(c, count_param(p, "indegree")?, true)
}

fn fixed_outdegree(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    fixed_degree(c, count_param(p, "outdegree")?, false)
}

fn fixed_total_number(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let n = count_param(p, "n")?;
    let overlap = if c.same_population {
        let lo = c.src_offset.max(c.tgt_offset);
        let hi = (c.src_offset + c.n_src).min(c.tgt_offset + c.n_tgt);
        hi.saturating_sub(lo)
    } else {
        0
    };
    let possible = (c.n_src * c.n_tgt).saturating_sub(if c.allow_autapses { 0 } else { overlap });
    if n > 0 && possible == 0 || !c.allow_multapses && n as usize > possible {
        return Err(format!("n = {n} exceeds the {possible} possible pairs without multapses/autapses"));
    }
    let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, 0);
    let mut seen = HashSet::new();
    let mut out = Pairs::default();
    while (out.src.len() as u64) < n {
        let s = rng.below(c.n_src as u64) as usize;
        let t = rng.below(c.n_tgt as u64) as usize;
        if !c.allow_autapses && c.is_autapse(s, t) || !c.allow_multapses && !seen.insert((s, t)) {
            continue;
        }
        out.push(s, t);
    }
    Ok(out)
}

pub(crate) fn register_builtin_rules(b: &mut SimBuilder) {
    const P: &[ParamSpec] = &[ParamSpec { name: "p", dim: Dim::Dimensionless, default: None, doc: "connection probability of each pair, in [0, 1]" }];
    const KIN: &[ParamSpec] = &[ParamSpec { name: "indegree", dim: Dim::Dimensionless, default: None, doc: "sources per target" }];
    const KOUT: &[ParamSpec] = &[ParamSpec { name: "outdegree", dim: Dim::Dimensionless, default: None, doc: "targets per source" }];
    const N: &[ParamSpec] = &[ParamSpec { name: "n", dim: Dim::Dimensionless, default: None, doc: "total number of synapses" }];
    b.add_connection_rule(RuleSpec { name: "all_to_all", doc: "every source to every target", params: &[], connect: all_to_all });
    b.add_connection_rule(RuleSpec { name: "one_to_one", doc: "source i to target i (equal sizes)", params: &[], connect: one_to_one });
    b.add_connection_rule(RuleSpec {
        name: "pairwise_bernoulli",
        doc: "each pair independently with probability p",
        params: P,
        connect: pairwise_bernoulli,
    });
    b.add_connection_rule(RuleSpec {
        name: "fixed_indegree",
        doc: "each target gets exactly `indegree` sources drawn uniformly",
        params: KIN,
        connect: fixed_indegree,
    });
    b.add_connection_rule(RuleSpec {
        name: "fixed_outdegree",
        doc: "each source gets exactly `outdegree` targets drawn uniformly",
        params: KOUT,
        connect: fixed_outdegree,
    });
    b.add_connection_rule(RuleSpec {
        name: "fixed_total_number",
        doc: "exactly `n` synapses between uniformly drawn pairs",
        params: N,
        connect: fixed_total_number,
    });
}
