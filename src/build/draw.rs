//! Stage 1 of the build: every projection's pairs (from its connection rule), weights
//! and delays, from the seed's streams, before anything is spawned.

use crate::api::connect::{ConnectCtx, Pairs};
use crate::net::synapse::{Csr, Delays, DrawnSynapses as Drawn};
use crate::scenario::{DelayDef, MAX_DELAY_STEPS, Scenario, SourceRef, WeightDef};
use crate::util::rng::{Stream, purpose};
use crate::{Error, Result};

/// Stage 1: every projection's pairs, weights and delays, from the seed's streams.
///
/// `ranges`: the neurons of each population this build holds (a shard's), or `None` for
/// all; only the synapses onto those targets are drawn, with the draws of a whole build.
/// Weights and delays drawn from a distribution come from one stream per target, in the
/// order of its synapses (source ascending), so any range of targets draws them alone.
pub(crate) fn draw_synapses(scenario: &Scenario, ranges: Option<&[std::ops::Range<usize>]>) -> Result<Vec<Drawn>> {
    let (seed, dt) = (scenario.seed, scenario.dt_ms);
    let mut out = Vec::with_capacity(scenario.projections.len());
    for p in &scenario.projections {
        let (n_src, src_offset, same) = match &p.from {
            SourceRef::Population(s) => (s.len(), s.start, s.index == p.to.index),
            SourceRef::Encoder(s) => (s.len(), s.start, false),
        };
        // The wanted targets, relative to the projection's selection.
        let targets = match ranges {
            None => 0..p.to.len(),
            Some(r) => {
                let r = &r[p.to.index];
                let lo = r.start.clamp(p.to.start, p.to.end);
                let hi = r.end.clamp(lo, p.to.end);
                lo - p.to.start..hi - p.to.start
            }
        };
        let ctx = ConnectCtx {
            seed,
            entity: p.key,
            n_src,
            n_tgt: p.to.len(),
            src_offset,
            tgt_offset: p.to.start,
            same_population: same,
            allow_autapses: p.allow_autapses,
            allow_multapses: p.allow_multapses,
            targets: targets.clone(),
            src_shape: p.src_shape.clone(),
            tgt_shape: p.tgt_shape.clone(),
            pair_values: p.rule.pair_values.clone(),
            src_positions: match &p.from {
                SourceRef::Population(s) => scenario.populations[s.index].positions.clone(),
                SourceRef::Encoder(_) => None,
            },
            tgt_positions: scenario.populations[p.to.index].positions.clone(),
        };
        let mut pairs = (p.rule.spec.connect)(&ctx, &p.rule.params)
            .map_err(|m| Error::Input(format!("{}: projection `{}`: {m}", scenario.path.display(), p.name)))?;
        // A rule is plugin code: what it returns is checked before it is trusted.
        let bad_rule = |m: String| Error::Runtime(format!("{}: projection `{}`: connection rule `{}` {m} (a bug in the rule)", scenario.path.display(), p.name, p.rule.spec.name));
        if pairs.src.len() != pairs.tgt.len() {
            return Err(bad_rule(format!("returned {} sources but {} targets", pairs.src.len(), pairs.tgt.len())));
        }
        if let Some((s, t)) = pairs.src.iter().zip(&pairs.tgt).find(|(s, t)| **s as usize >= n_src || **t as usize >= p.to.len()) {
            return Err(bad_rule(format!("returned the pair ({s}, {t}) outside its {n_src} sources and {} targets", p.to.len())));
        }
        if pairs.src.len() > u32::MAX as usize {
            return Err(Error::Input(format!("{}: projection `{}`: {} synapses; at most {} per projection", scenario.path.display(), p.name, pairs.src.len(), u32::MAX)));
        }
        if let Some(shape) = &p.kernel {
            let len: usize = shape.iter().product();
            if pairs.kernel.len() != pairs.src.len() {
                return Err(bad_rule(format!("shares weights but gave {} kernel entries for {} pairs", pairs.kernel.len(), pairs.src.len())));
            }
            if let Some(k) = pairs.kernel.iter().find(|&&k| k as usize >= len) {
                return Err(bad_rule(format!("returned kernel entry {k} of a kernel of {len}")));
            }
        } else if !pairs.kernel.is_empty() {
            return Err(bad_rule(format!("gave kernel entries for its pairs but declared no kernel ({} entries)", pairs.kernel.len())));
        }
        keep_targets(&mut pairs, &targets);
        let (csr, kernel_index) = Csr::from_pairs_with_kernel(&pairs, n_src, p.to.start);
        // A shard that holds none of a kernel's targets (or a rule that made no pair) still
        // holds the whole kernel, as every shard does.
        let kernel_index = kernel_index.or_else(|| p.kernel.is_some().then(Vec::new));
        drop(pairs);
        let const_delay = p.delay_ms.constant().map(|d| (d / dt).round() as u32);
        let mut delays = vec![0u32; if const_delay.is_some() { 0 } else { csr.len() }];
        // One constant weight that no add-on changes is held once (`SynapseTable::uniform`).
        let uniform = p.uniform_weight().filter(|_| kernel_index.is_none());
        let weight_dist = match (&p.weight, &kernel_index) {
            (WeightDef::Dist(d), None) if uniform.is_none() => Some(d),
            _ => None,
        };
        let mut weight = match uniform {
            Some(w) => vec![w],
            None => vec![0.0; if kernel_index.is_none() { csr.len() } else { 0 }],
        };
        let weight_expr = match (&p.weight, &kernel_index) {
            (WeightDef::Expr(e), None) => Some(e),
            _ => None,
        };
        let (delay_dist, delay_expr) = match &p.delay_ms {
            DelayDef::Dist(d) => (const_delay.is_none().then_some(d), None),
            DelayDef::Expr(e) => (None, Some(e)),
        };
        // An expression reads each synapse's source (its CSR row) and target.
        let mut row_of = Vec::new();
        if weight_expr.is_some() || delay_expr.is_some() {
            row_of = vec![0u32; csr.len()];
            for row in 0..n_src {
                row_of[csr.row(row)].fill(row as u32);
            }
        }
        // The first synapse (in CSR order) whose expression gave no delay, its value and why.
        let mut bad_delay: Option<(usize, f64, String)> = None;
        if delay_dist.is_some() || delay_expr.is_some() || weight_dist.is_some() || weight_expr.is_some() {
            for_each_by_target(&csr, p.to.start + targets.start, targets.len(), |t, syn| {
                let t = (targets.start + t) as u64;
                let mut wr = Stream::new(seed, p.key, purpose::WEIGHT, t);
                let mut dr = Stream::new(seed, p.key, purpose::DELAY, t);
                for &k in syn {
                    let k = k as usize;
                    let place = |f: &dyn crate::api::language::ValueExpression| ctx.place(row_of[k] as usize, t as usize, f);
                    if let Some(d) = weight_dist {
                        weight[k] = d.draw(&mut wr);
                    }
                    if let Some(e) = weight_expr {
                        let (v, n) = place(e.f.as_ref());
                        weight[k] = e.f.value(&v[..n], &mut wr);
                    }
                    if let Some(d) = delay_dist {
                        delays[k] = (d.draw(&mut dr).max(0.0) / dt).round() as u32;
                    }
                    if let Some(e) = delay_expr {
                        let (v, n) = place(e.f.as_ref());
                        let ms = e.f.value(&v[..n], &mut dr);
                        match delay_steps(ms, dt) {
                            Ok(d) => delays[k] = d,
                            Err(why) if bad_delay.as_ref().is_none_or(|b| k < b.0) => bad_delay = Some((k, ms, why)),
                            Err(_) => {}
                        }
                    }
                }
            });
        }
        if let Some(e) = weight_expr {
            check_weights(scenario, p, e, &csr, &weight, &row_of)?;
        }
        if let (Some(e), Some((k, ms, why))) = (delay_expr, bad_delay) {
            return Err(Error::Input(format!("{}: projection `{}`: `delay` = `{}` is {ms} ms for the synapse from source {} to target {}: {why}", scenario.path.display(), p.name, e.text, row_of[k], csr.col[k] as usize - p.to.start)));
        }
        drop(row_of);
        let delay = match const_delay {
            Some(d) => Delays::Const(d),
            None => Delays::Each(delays),
        };
        if let Some(index) = kernel_index {
            let len: usize = p.kernel.as_ref().map_or(0, |s| s.iter().product());
            let kernel = match &p.weight {
                WeightDef::Matrix { values, .. } => values.as_ref().clone(),
                WeightDef::Dist(d) => {
                    let mut wr = Stream::new(seed, p.key, purpose::WEIGHT, 0);
                    (0..len).map(|_| d.draw(&mut wr)).collect()
                }
                // (Reading the scenario refuses an expression for a shared kernel.)
                WeightDef::Expr(e) => return Err(Error::Input(format!("{}: projection `{}`: a shared kernel's weights take no expression (`{}`)", scenario.path.display(), p.name, e.text))),
            };
            out.push(Drawn { csr, weight: kernel, kernel_index: Some(index), uniform: false, delay });
            continue;
        }
        if let WeightDef::Matrix { sources, values, .. } = &p.weight {
            for row in 0..n_src {
                for k in csr.row(row) {
                    weight[k] = values[(csr.col[k] as usize - p.to.start) * sources + row];
                }
            }
        }
        out.push(Drawn { csr, weight, kernel_index: None, uniform: uniform.is_some(), delay });
    }
    Ok(out)
}

/// `ms` in whole steps of `dt` (rounded), or why it is no delay: not finite, below 0, or
/// more than [`MAX_DELAY_STEPS`] steps.
fn delay_steps(ms: f64, dt: f64) -> std::result::Result<u32, String> {
    let steps = (ms / dt).round();
    if !ms.is_finite() {
        Err("expected a finite number".into())
    } else if ms < 0.0 {
        Err("a delay must be >= 0".into())
    } else if steps > MAX_DELAY_STEPS as f64 {
        Err(format!("{steps:e} steps of dt ({dt} ms); at most {MAX_DELAY_STEPS} steps"))
    } else {
        Ok(steps as u32)
    }
}

/// The weights an expression gave: finite numbers, and no negative conductance (an error
/// names the first synapse that is not, by its source and target in the selections).
fn check_weights(scenario: &Scenario, p: &crate::scenario::ProjectionDef, e: &crate::scenario::ValueExpr, csr: &Csr, weight: &[f64], row_of: &[u32]) -> Result<()> {
    let conductance = scenario.populations[p.to.index].model.receptors()[p.receptor].dim == crate::util::units::Dim::Conductance;
    let Some(k) = weight.iter().position(|w| !w.is_finite() || (conductance && *w < 0.0)) else { return Ok(()) };
    let why = if weight[k].is_finite() { "a conductance increment must be >= 0; inhibition is a positive weight at an inhibitory receptor" } else { "expected a finite number" };
    Err(Error::Input(format!("{}: projection `{}`: `weight` = `{}` is {} for the synapse from source {} to target {}: {why}", scenario.path.display(), p.name, e.text, weight[k], row_of[k], csr.col[k] as usize - p.to.start)))
}

/// Drops the pairs whose target is outside `targets` (a rule may ignore the range).
fn keep_targets(pairs: &mut Pairs, targets: &std::ops::Range<usize>) {
    let shared = !pairs.kernel.is_empty();
    let mut kept = 0;
    for i in 0..pairs.tgt.len() {
        if targets.contains(&(pairs.tgt[i] as usize)) {
            pairs.src[kept] = pairs.src[i];
            pairs.tgt[kept] = pairs.tgt[i];
            if shared {
                pairs.kernel[kept] = pairs.kernel[i];
            }
            kept += 1;
        }
    }
    pairs.src.truncate(kept);
    pairs.tgt.truncate(kept);
    if shared {
        pairs.kernel.truncate(kept);
    }
}

/// Calls `f(t, synapses)` for each of the `n` targets from population index `first`, with
/// that target's synapses (CSR positions) in CSR order: source ascending.
fn for_each_by_target(csr: &Csr, first: usize, n: usize, mut f: impl FnMut(usize, &[u32])) {
    let mut ptr = vec![0usize; n + 1];
    for &c in &csr.col {
        ptr[c as usize - first + 1] += 1;
    }
    for i in 0..n {
        ptr[i + 1] += ptr[i];
    }
    let mut next = ptr.clone();
    let mut syn = vec![0u32; csr.len()];
    for (k, &c) in csr.col.iter().enumerate() {
        let slot = &mut next[c as usize - first];
        syn[*slot] = k as u32;
        *slot += 1;
    }
    for t in 0..n {
        f(t, &syn[ptr[t]..ptr[t + 1]]);
    }
}
