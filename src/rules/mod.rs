//! The core's connection rules, with NEST's names.
//!
//! Every rule draws from counter-based streams keyed by the projection, so the synapses
//! are the same whatever the thread count. Bernoulli connectivity skips over absent pairs
//! with geometric gaps (O(synapses), not O(pairs)), as Brian2 does; with `p` an expression
//! of the pair it visits every pair (O(pairs)), as Brian2 does then too.
//!
//! Every rule builds a range of targets ([`ConnectCtx::targets`], a shard's) alone, with
//! the pairs of a whole build and at the cost of its own synapses: `pairwise_bernoulli`
//! and `fixed_indegree` draw per target; `fixed_outdegree` (per source) and
//! `fixed_total_number` place their fixed counts over the targets by halves
//! ([`split`]), so a shard follows only the halves over its own targets.

mod split;

use std::collections::HashSet;

use crate::api::connect::{ConnectCtx, PairValue, Pairs, RuleSpec};
use crate::api::model::{ParamSpec, Params};
use crate::util::rng::{Stream, purpose};
use crate::util::units::Dim;
use split::{Line, Split};

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
        "pairwise_bernoulli" if c.pair_value("p").is_some() => expected_by_pair(c, c.pair_value("p").expect("just seen"))?,
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
            check_degree(c, k, fewest_partners(c, by_target), by_target)?;
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
/// geometric gaps: a range of targets costs only its own synapses. With `p` an expression
/// of the pair: [`bernoulli_by_pair`].
fn pairwise_bernoulli(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    if let Some(e) = c.pair_value("p") {
        return bernoulli_by_pair(c, e);
    }
    let prob = p.get("p");
    if !(0.0..=1.0).contains(&prob) {
        return Err(format!("`p` must be in [0, 1] (found {prob})"));
    }
    let mut out = Pairs::default();
    if prob == 0.0 {
        return Ok(out);
    }
    let ln_q = crate::util::rng::ln(1.0 - prob);
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

/// A probability an expression gave for the pair (s, t), if it is one; else the error.
fn probability(e: &PairValue, x: f64, s: usize, t: usize) -> Result<f64, String> {
    if (0.0..=1.0).contains(&x) {
        return Ok(x);
    }
    Err(format!("`{}` = `{}` is {x} for the pair from source {s} to target {t}: expected a probability in [0, 1]", e.name, e.text))
}

/// `pairwise_bernoulli` with `p` an expression of the pair (Brian2's
/// `S.connect(p='...')`): every pair (source ascending, per target) takes `p` from the
/// target's value stream and a uniform number from its connect stream, and is connected
/// when that is below `p`. O(pairs of the wanted targets); an excluded autapse draws as
/// well (so excluding it moves no other pair) and is not checked.
fn bernoulli_by_pair(c: &ConnectCtx, e: &PairValue) -> Result<Pairs, String> {
    let mut out = Pairs::default();
    let mut row = Row::new(c);
    for t in c.targets.clone() {
        let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, t as u64);
        row.each(c, e, t, |s, x| {
            if rng.uniform() < x && (c.allow_autapses || !c.is_autapse(s, t)) {
                out.push(s, t);
            }
        })?;
    }
    Ok(out)
}

/// Sources whose pairs' values are computed at once ([`PairValue::row`]): a part of a
/// row, so that what is held does not grow with the sources.
const ROW_PART: usize = 4096;

/// A row of pairs' values, a part at a time.
struct Row {
    sources: Vec<f64>,
    values: Vec<f64>,
}

impl Row {
    fn new(c: &ConnectCtx) -> Row {
        let n = c.n_src.min(ROW_PART);
        Row { sources: Vec::with_capacity(n), values: vec![0.0; n] }
    }

    /// Calls `f(s, p)` for every source `s` to target `t`, in order, `p` from the
    /// target's value stream (source after source, as [`PairValue::at`] takes them); or
    /// refuses the first pair (not an excluded autapse) whose `p` is not a probability,
    /// before `f` sees the part it is in.
    fn each(&mut self, c: &ConnectCtx, e: &PairValue, t: usize, mut f: impl FnMut(usize, f64)) -> Result<(), String> {
        let mut vr = Stream::new(c.seed, c.entity, purpose::CONNECT_VALUE, t as u64);
        for first in (0..c.n_src).step_by(ROW_PART) {
            let n = ROW_PART.min(c.n_src - first);
            self.sources.clear();
            self.sources.extend((first..first + n).map(|s| s as f64));
            let values = &mut self.values[..n];
            e.row(c, &self.sources, t, &mut vr, values);
            if let Some(k) = values.iter().enumerate().position(|(k, x)| !(0.0..=1.0).contains(x) && (c.allow_autapses || !c.is_autapse(first + k, t))) {
                probability(e, values[k], first + k, t)?;
            }
            for (k, &x) in values.iter().enumerate() {
                f(first + k, x);
            }
        }
        Ok(())
    }
}

/// Pairs whose `p` a validation evaluates (every source of evenly spread targets) to
/// estimate how many synapses an expression of the pair makes.
const SAMPLED_PAIRS: usize = 1 << 18;

/// The expected synapse count of [`bernoulli_by_pair`], from `p` over every source of
/// about [`SAMPLED_PAIRS`] / sources evenly spread targets (the values they will draw),
/// and the refusal of a `p` there that is no probability.
fn expected_by_pair(c: &ConnectCtx, e: &PairValue) -> Result<f64, String> {
    if c.n_tgt == 0 || c.n_src == 0 {
        return Ok(0.0);
    }
    let rows = (SAMPLED_PAIRS / c.n_src).clamp(1, c.n_tgt);
    let mut row = Row::new(c);
    let mut sum = 0.0;
    for r in 0..rows {
        let t = (2 * r + 1) * c.n_tgt / (2 * rows);
        row.each(c, e, t, |s, x| {
            if c.allow_autapses || !c.is_autapse(s, t) {
                sum += x;
            }
        })?;
    }
    Ok(sum / rows as f64 * c.n_tgt as f64)
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

/// Refuses a degree `k` that the `avail` partners of a neuron cannot take.
fn check_degree(c: &ConnectCtx, k: u64, avail: usize, by_target: bool) -> Result<(), String> {
    if k > 0 && avail == 0 || !c.allow_multapses && k as usize > avail {
        let (what, side) = if by_target { ("indegree", "sources") } else { ("outdegree", "targets") };
        return Err(format!("{what} {k} exceeds the {avail} possible {side} without multapses/autapses"));
    }
    Ok(())
}

/// Each target draws `indegree` sources uniformly from its own stream: a range of
/// targets draws only its own.
fn fixed_indegree(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let k = count_param(p, "indegree")?;
    let mut out = Pairs::default();
    let mut buf = Vec::new();
    for t in c.targets.clone() {
        check_degree(c, k, c.possible_sources(t), true)?;
        // The neuron itself, if it is also among the sources and autapses are excluded.
        let forbidden = (!c.allow_autapses && c.same_population)
            .then(|| (c.tgt_offset + t).checked_sub(c.src_offset).filter(|&s| s < c.n_src))
            .flatten();
        let mut rng = Stream::new(c.seed, c.entity, purpose::CONNECT, t as u64);
        draw_k(&mut rng, k, c.n_src, !c.allow_multapses, forbidden, &mut buf);
        for &s in &buf {
            out.push(s, t);
        }
    }
    Ok(out)
}

/// The split's node numbers (below 2³²) cover at most 2³¹ targets, and its rows (a
/// source each) number at most 2³².
fn split_limit(c: &ConnectCtx) -> Result<(), String> {
    if c.n_tgt > 1 << 31 || c.n_src > 1 << 32 {
        return Err(format!("{} sources and {} targets; this rule places synapses over at most 2^31 targets from at most 2^32 sources", c.n_src, c.n_tgt));
    }
    Ok(())
}

/// Each source places `outdegree` synapses uniformly over the targets, by halves
/// ([`Split`]): a range of targets costs its own synapses plus, per source, the paths to
/// the range's ends (a source of at most 32 synapses draws them all: one leaf).
fn fixed_outdegree(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let k = count_param(p, "outdegree")?;
    split_limit(c)?;
    let mut out = Pairs::default();
    for s in 0..c.n_src {
        check_degree(c, k, c.possible_targets(s), false)?;
        // The source itself, if it is also among the targets and autapses are excluded:
        // a target without a slot.
        let forbidden = (!c.allow_autapses && c.same_population)
            .then(|| (c.src_offset + s).checked_sub(c.tgt_offset).filter(|&t| t < c.n_tgt))
            .flatten();
        let line = OneSlotEach { forbidden };
        let split = Split { seed: c.seed, entity: c.entity, row: s as u32, units: c.n_tgt, line: &line, unique: !c.allow_multapses };
        split.place(k, &c.targets, &mut |t, _| out.push(s, t))?;
    }
    Ok(out)
}

/// `fixed_outdegree`'s targets: one slot each, none for the source itself when autapses
/// are excluded.
struct OneSlotEach {
    forbidden: Option<usize>,
}

impl Line for OneSlotEach {
    fn slots(&self, a: usize, b: usize) -> u64 {
        (b - a) as u64 - u64::from(self.forbidden.is_some_and(|f| (a..b).contains(&f)))
    }
    fn locate(&self, units: &std::ops::Range<usize>, x: u64) -> (usize, u64) {
        let u = units.start + x as usize;
        // Past the slotless target, every target is one further on.
        (if self.forbidden.is_some_and(|f| (units.start..=u).contains(&f)) { u + 1 } else { u }, x)
    }
}

/// `fixed_total_number`'s targets: one slot per source, less the target's own neuron when
/// autapses are excluded.
struct AllSources {
    n_src: i64,
    /// Target t is source `t + shift` when that is in the selection of sources.
    shift: i64,
    no_autapses: bool,
}

impl AllSources {
    /// The source that is target `t` itself, when that pair is excluded.
    fn own_source(&self, t: usize) -> Option<u64> {
        let s = t as i64 + self.shift;
        (self.no_autapses && (0..self.n_src).contains(&s)).then_some(s as u64)
    }
}

impl Line for AllSources {
    fn slots(&self, a: usize, b: usize) -> u64 {
        let autapses = if self.no_autapses { ((b as i64).min(self.n_src - self.shift) - (a as i64).max(-self.shift)).max(0) as u64 } else { 0 };
        (b - a) as u64 * self.n_src as u64 - autapses
    }
}

/// `n` synapses placed uniformly over all possible pairs, by halves of the targets
/// ([`Split`]; a target's slots are its possible sources, in order).
fn fixed_total_number(c: &ConnectCtx, p: &Params) -> Result<Pairs, String> {
    let n = count_param(p, "n")?;
    split_limit(c)?;
    let line = AllSources { n_src: c.n_src as i64, shift: c.tgt_offset as i64 - c.src_offset as i64, no_autapses: !c.allow_autapses && c.same_population };
    let possible = line.slots(0, c.n_tgt);
    if n > 0 && possible == 0 || !c.allow_multapses && n > possible {
        return Err(format!("n = {n} exceeds the {possible} possible pairs without multapses/autapses"));
    }
    let mut out = Pairs::default();
    let split = Split { seed: c.seed, entity: c.entity, row: 0, units: c.n_tgt, line: &line, unique: !c.allow_multapses };
    split.place(n, &c.targets, &mut |t, j| {
        let s = match line.own_source(t) {
            Some(x) if j >= x => j + 1,
            _ => j,
        };
        out.push(s as usize, t);
    })?;
    Ok(out)
}

/// NEST's six rules, registered by [`crate::registry::SimBuilder::new`] like a plugin's.
pub(crate) fn builtin_rules() -> Vec<RuleSpec> {
    let mut v = Vec::new();
    const P: &[ParamSpec] = &[ParamSpec::required("p", Dim::Dimensionless, "connection probability of each pair, in [0, 1]; or an expression of the pair (`i`, `j`, `N_pre`, `N_post`: \"0.3*exp(-(i - j)**2/200)\")")];
    const KIN: &[ParamSpec] = &[ParamSpec::required("indegree", Dim::Dimensionless, "sources per target")];
    const KOUT: &[ParamSpec] = &[ParamSpec::required("outdegree", Dim::Dimensionless, "targets per source")];
    const N: &[ParamSpec] = &[ParamSpec::required("n", Dim::Dimensionless, "total number of synapses")];
    v.push(RuleSpec::new("all_to_all", "every source to every target", &[], all_to_all));
    v.push(RuleSpec::new("one_to_one", "source i to target i (equal sizes)", &[], one_to_one));
    v.push(RuleSpec { pair_params: &["p"], ..RuleSpec::new("pairwise_bernoulli", "each pair independently with probability p", P, pairwise_bernoulli) });
    v.push(RuleSpec::new("fixed_indegree", "each target gets exactly `indegree` sources drawn uniformly", KIN, fixed_indegree));
    v.push(RuleSpec::new("fixed_outdegree", "each source gets exactly `outdegree` targets drawn uniformly", KOUT, fixed_outdegree));
    v.push(RuleSpec::new("fixed_total_number", "exactly `n` synapses between uniformly drawn pairs", N, fixed_total_number));
    v
}
