//! The core's connection rules, with NEST's names.
//!
//! Every rule draws from counter-based streams keyed by the projection, so the synapses
//! are the same whatever the thread count. Bernoulli connectivity skips over absent pairs
//! with geometric gaps (O(synapses), not O(pairs)), as Brian2 does.
//!
//! Rules draw per target where the rule allows it (`pairwise_bernoulli`: one stream per
//! target, skipping over sources; `fixed_indegree`: one per target), so a shard asking for
//! a range of targets ([`ConnectCtx::targets`]) draws only its own synapses. A rule fixed
//! on the source side (`fixed_outdegree`) or drawing from one stream (`fixed_total_number`)
//! draws every pair and keeps those in range: O(all synapses) per shard, the same pairs.

use std::collections::HashSet;

use crate::api::connect::{ConnectCtx, Pairs, RuleSpec};
use crate::api::model::{ParamSpec, Params};
use crate::util::rng::{Stream, purpose};
use crate::util::units::Dim;

fn count_param(p: &Params, name: &str) -> Result<u64, String> {
    let v = p.get(name);
    if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
        return Err(format!("`{name}` must be a whole number >= 0 (found {v})"));
    }
    Ok(v as u64)
}

/// Sources and targets shared by the two selections (possible autapses).
fn overlap(c: &ConnectCtx) -> usize {
    if !c.same_population {
        return 0;
    }
    let lo = c.src_offset.max(c.tgt_offset);
    let hi = (c.src_offset + c.n_src).min(c.tgt_offset + c.n_tgt);
    hi.saturating_sub(lo)
}

/// The fewest partners a neuron of the fixed side may draw from.
fn fewest_partners(c: &ConnectCtx, by_target: bool) -> usize {
    let other = if by_target { c.n_src } else { c.n_tgt };
    other - usize::from(!c.allow_autapses && overlap(c) > 0)
}

/// Every refusal a core rule makes, without drawing anything (so that validation makes
/// them), and the number of synapses it will draw (expected, for `pairwise_bernoulli`).
/// `Ok(None)` for a rule that is not the core's.
pub(crate) fn precheck(name: &str, c: &ConnectCtx, p: &Params) -> Result<Option<f64>, String> {
    let pairs = c.n_src as f64 * c.n_tgt as f64 - if c.allow_autapses { 0.0 } else { overlap(c) as f64 };
    let n = match name {
        "all_to_all" => pairs,
        "one_to_one" => {
            if c.n_src != c.n_tgt {
                return Err(format!("one_to_one needs equal sizes, found {} sources and {} targets", c.n_src, c.n_tgt));
            }
            (c.n_src - if c.allow_autapses { 0 } else { overlap(c) }) as f64
        }
        "pairwise_bernoulli" => {
            let prob = p.get("p");
            if !(0.0..=1.0).contains(&prob) {
                return Err(format!("`p` must be in [0, 1] (found {prob})"));
            }
            prob * pairs
        }
        "fixed_indegree" | "fixed_outdegree" => {
            let by_target = name == "fixed_indegree";
            let key = if by_target { "indegree" } else { "outdegree" };
            let k = count_param(p, key)?;
            let avail = fewest_partners(c, by_target);
            if k > 0 && avail == 0 || !c.allow_multapses && k as usize > avail {
                let side = if by_target { "sources" } else { "targets" };
                return Err(format!("{key} {k} exceeds the {avail} possible {side} without multapses/autapses"));
            }
            k as f64 * if by_target { c.n_tgt } else { c.n_src } as f64
        }
        "fixed_total_number" => {
            let n = count_param(p, "n")?;
            if n > 0 && pairs == 0.0 || !c.allow_multapses && n as f64 > pairs {
                return Err(format!("n = {n} exceeds the {pairs} possible pairs without multapses/autapses"));
            }
            n as f64
        }
        _ => return Ok(None),
    };
    Ok(Some(n))
}

fn all_to_all(c: &ConnectCtx, _: &Params) -> Result<Pairs, String> {
    let mut out = Pairs::default();
    for s in 0..c.n_src {
        for t in c.targets.clone() {
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
    for i in c.targets.clone() {
        if c.allow_autapses || !c.is_autapse(i, i) {
            out.push(i, i);
        }
    }
    Ok(out)
}

/// Each target draws its sources from its own stream, skipping absent pairs with
/// geometric gaps: a range of targets costs only its own synapses.
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
    for t in c.targets.clone() {
        let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, t as u64);
        let mut s = rng.geometric(ln_q);
        while (s as usize) < c.n_src {
            let su = s as usize;
            if c.allow_autapses || !c.is_autapse(su, t) {
                out.push(su, t);
            }
            s = s.saturating_add(1).saturating_add(rng.geometric(ln_q));
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
    // Fixed targets: only those wanted draw. Fixed sources: every one draws (its stream
    // gives all its targets at once) and only the pairs in range are kept.
    let fixed = if by_target { c.targets.clone() } else { 0..n_fixed };
    for f in fixed {
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
            if by_target {
                out.push(o, f)
            } else if c.wants(o) {
                out.push(f, o)
            }
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
    let possible = (c.n_src * c.n_tgt).saturating_sub(if c.allow_autapses { 0 } else { overlap(c) });
    if n > 0 && possible == 0 || !c.allow_multapses && n as usize > possible {
        return Err(format!("n = {n} exceeds the {possible} possible pairs without multapses/autapses"));
    }
    let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, 0);
    let mut seen = HashSet::new();
    let mut out = Pairs::default();
    // One stream for all pairs: every shard draws them all and keeps those in range.
    let mut drawn = 0u64;
    while drawn < n {
        let s = rng.below(c.n_src as u64) as usize;
        let t = rng.below(c.n_tgt as u64) as usize;
        if !c.allow_autapses && c.is_autapse(s, t) || !c.allow_multapses && !seen.insert((s, t)) {
            continue;
        }
        drawn += 1;
        if c.wants(t) {
            out.push(s, t);
        }
    }
    Ok(out)
}

/// NEST's six rules, registered by [`crate::registry::SimBuilder::new`] like a plugin's.
pub(crate) fn builtin_rules() -> Vec<RuleSpec> {
    let mut v = Vec::new();
    const P: &[ParamSpec] = &[ParamSpec::required("p", Dim::Dimensionless, "connection probability of each pair, in [0, 1]")];
    const KIN: &[ParamSpec] = &[ParamSpec::required("indegree", Dim::Dimensionless, "sources per target")];
    const KOUT: &[ParamSpec] = &[ParamSpec::required("outdegree", Dim::Dimensionless, "targets per source")];
    const N: &[ParamSpec] = &[ParamSpec::required("n", Dim::Dimensionless, "total number of synapses")];
    v.push(RuleSpec::new("all_to_all", "every source to every target", &[], all_to_all));
    v.push(RuleSpec::new("one_to_one", "source i to target i (equal sizes)", &[], one_to_one));
    v.push(RuleSpec::new("pairwise_bernoulli", "each pair independently with probability p", P, pairwise_bernoulli));
    v.push(RuleSpec::new("fixed_indegree", "each target gets exactly `indegree` sources drawn uniformly", KIN, fixed_indegree));
    v.push(RuleSpec::new("fixed_outdegree", "each source gets exactly `outdegree` targets drawn uniformly", KOUT, fixed_outdegree));
    v.push(RuleSpec::new("fixed_total_number", "exactly `n` synapses between uniformly drawn pairs", N, fixed_total_number));
    v
}
