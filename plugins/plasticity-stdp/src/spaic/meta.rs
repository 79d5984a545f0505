//! `meta_nearest_online_stdp` (SPAIC `Meta_nearest_online_STDP`, `STDP_Learner.py`):
//!
//! ```text
//! x_pre  = pre_decay  * x_pre  * (s_pre  <= 0) + s_pre
//! x_post = post_decay * x_post * (s_post <= 0) + s_post
//! dw = Apost * s_post^T x_pre - Apre * x_post^T s_pre
//! w_mean_i -= 0.1 * Apre * (x_post_i - mean(x_post))
//! w_mean   *= aw_mean / mean(w_mean)
//! sc = (dw < 0) exp(-0.2 / max(W - w_min, 1e-4)) + (dw > 0) exp(-0.2 / max(w_max - W, 1e-4))
//! W = W * w_mean_i / max(rowmean(W_i), 1e-6) + dw * sc          (same step, no lag)
//! ```
//!
//! `w_mean` (one per target neuron of the selection) and `aw_mean` are set at the first
//! step from the weights (`w_mean_i` = the mean of target `i`'s weights, 0 for a target
//! without synapses; `aw_mean` = the mean of `w_mean`) and checkpointed.

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule, Shards, SparseAccum, TraceRing};
use spikeworld::prelude::*;

use super::{stdp_dw, EXP_M1_30, EXP_M1_200, load_flag, save_flag, spikes};
use crate::{DELAY_KEY, Keys, TargetRange, config, decay_factor, finite};

/// The `meta_nearest_online_stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("Apost", Dim::Dimensionless, 1e-2, "LTP amplitude, in the weight's unit").in_weight_unit(),
    ParamSpec::new("Apre", Dim::Dimensionless, 1e-4, "LTD amplitude, in the weight's unit (also the rate of the w_mean drift)").in_weight_unit(),
    ParamSpec::new("pre_decay", Dim::Dimensionless, EXP_M1_30, "per-step decay factor of the presynaptic trace (SPAIC: np.exp(-1/30); it does not depend on dt)"),
    ParamSpec::new("post_decay", Dim::Dimensionless, EXP_M1_200, "per-step decay factor of the postsynaptic trace (SPAIC: np.exp(-1/200))"),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "soft lower bound, in the weight's unit").in_weight_unit(),
    ParamSpec::new("w_max", Dim::Dimensionless, 1.0, "soft upper bound, in the weight's unit").in_weight_unit(),
    ParamSpec::new("lr", Dim::Dimensionless, 0.01, "accepted and unused, as in SPAIC"),
    DELAY_KEY,
];

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// LTP amplitude.
    pub a_post: f64,
    /// LTD amplitude.
    pub a_pre: f64,
    /// Pre trace decay per step.
    pub pre_decay: f64,
    /// Post trace decay per step.
    pub post_decay: f64,
    /// Soft bound.
    pub w_min: f64,
    /// Soft bound.
    pub w_max: f64,
}

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "meta_nearest_online_stdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC Meta_nearest_online_STDP: nearest traces; dw = Apost*s_post*x_pre - Apre*x_post*s_pre; per-target target mean w_mean with a homeostatic drift; W = W*w_mean/rowmean(W) + dw*soft_bound(W) in the same step"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        let a_post = k.num(&KEYS[0], finite, "finite")?;
        let a_pre = k.num(&KEYS[1], finite, "finite")?;
        let pre_decay = k.num(&KEYS[2], decay_factor, "in (0, 1] (a per-step decay factor)")?;
        let post_decay = k.num(&KEYS[3], decay_factor, "in (0, 1] (a per-step decay factor)")?;
        let w_min = k.num(&KEYS[4], finite, "finite")?;
        let w_max = k.num(&KEYS[5], finite, "finite")?;
        if w_max < w_min {
            return Err(k.error("w_max", format!("must be >= w_min ({w_min}), found {w_max}")));
        }
        k.num(&KEYS[6], finite, "finite")?;
        let site = k.site()?;
        let p = Params { a_post, a_pre, pre_decay, post_decay, w_min, w_max };
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        Ok(config(
            move |tb: &SynapseTable| {
                let depth = tb.max_delay as usize + 1;
                MetaNearestOnlineStdp {
                    p,
                    site,
                    range,
                    x: TraceRing::new(n_src, depth, 0.0),
                    y: TraceRing::new(range.n, depth, 0.0),
                    w_mean: vec![0.0; range.n],
                    aw_mean: 0.0,
                    started: false,
                    dw: SparseAccum::new(tb.len()),
                    mark: Vec::new(),
                }
            },
            false,
        ).in_shards().into())
    }
}

/// `meta_nearest_online_stdp` on one projection.
#[derive(Component)]
pub struct MetaNearestOnlineStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    /// Each target's mean weight to rescale to.
    w_mean: Vec<f64>,
    /// The mean of `w_mean` at the first step.
    aw_mean: f64,
    /// Whether `w_mean` and `aw_mean` are set.
    started: bool,
    dw: SparseAccum,
    mark: Vec<f64>,
}

impl Checkpoint for MetaNearestOnlineStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)?;
        save_flag(out, self.started)?;
        out.f64(self.aw_mean)?;
        out.blob(&self.w_mean)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)?;
        self.started = load_flag(inp, "w_mean set")?;
        self.aw_mean = inp.f64("aw_mean")?;
        inp.blob_into(&mut self.w_mean, "w_mean")
    }
}

/// The mean of `v`, summed in order (0 for none).
fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for x in v {
        sum += x;
        n += 1;
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

impl MetaNearestOnlineStdp {
    /// The w_mean drift and renormalisation, and the row rescale with `self.dw`, given the
    /// postsynaptic traces `y` (of the selection, now).
    fn update(&mut self, t: &mut SynapseTable, y: &[f64], shards: Shards<'_>) {
        let p = self.p;
        let mut w = std::mem::take(&mut t.weight);
        let ix = t.by_target();
        let range = self.range;
        let row = move |i: usize| {
            let j = range.start as usize + i;
            &ix.syn[ix.ptr[j] as usize..ix.ptr[j + 1] as usize]
        };
        if !self.started {
            // Each shard holds its own targets' synapses: their means, gathered in target
            // order, are one world's `w_mean` (the same in every shard from then on: it
            // changes by one world's traces only).
            let own = shards.own_targets();
            // (A shard wholly before or after the selection holds none of it.)
            let first = ((own.start.max(range.start) - range.start) as usize).min(range.n);
            let end = (own.end.saturating_sub(range.start) as usize).clamp(first, range.n);
            let mine: Vec<f64> = (first..end).map(|i| mean(row(i).iter().map(|&k| w[k as usize]))).collect();
            self.w_mean = shards.gather(&mine);
            assert_eq!(self.w_mean.len(), range.n, "every target's mean weight, from the shards");
            self.aw_mean = mean(self.w_mean.iter().copied());
            self.started = true;
        }
        let my = mean(y.iter().copied());
        let c = 0.1 * p.a_pre;
        for (wm, &yi) in self.w_mean.iter_mut().zip(y) {
            *wm -= c * (yi - my);
        }
        let mw = mean(self.w_mean.iter().copied());
        for wm in self.w_mean.iter_mut() {
            *wm = *wm * self.aw_mean / mw;
        }
        for i in 0..range.n {
            let r = row(i);
            let rm = mean(r.iter().map(|&k| w[k as usize])).max(1e-6);
            let wm = self.w_mean[i];
            for &k in r {
                let k = k as usize;
                let dw = self.dw.get(k);
                let sc = if dw < 0.0 {
                    (-0.2 / (w[k] - p.w_min).max(1e-4)).exp()
                } else if dw > 0.0 {
                    (-0.2 / (p.w_max - w[k]).max(1e-4)).exp()
                } else {
                    0.0
                };
                w[k] = w[k] * wm / rm + dw * sc;
            }
        }
        t.weight = w;
    }
}

impl PlasticityRule for MetaNearestOnlineStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let p = self.p;
        let le = |z: f64| if z <= 0.0 { 1.0 } else { 0.0 };
        if s.step == 0 {
            // SPAIC's learner step 0: no spike, zero traces and dw, but w_mean is set and
            // every row rescaled.
            let zeros = vec![0.0; self.range.n];
            self.dw.clear();
            self.update(s.table, &zeros, s.shards);
        }
        let (pre, post) = spikes(&s, self.range);
        self.x.step(pre, &mut self.mark, |x, z| p.pre_decay * x * le(z) + z);
        self.y.step(post, &mut self.mark, |y, z| p.post_decay * y * le(z) + z);
        self.dw.clear();
        stdp_dw(&mut self.dw, s.table, &s.events, (&self.x, &self.y), self.range, (p.a_post, p.a_pre));
        let y = std::mem::replace(&mut self.y, TraceRing::new(0, 1, 0.0));
        self.update(s.table, y.now(), s.shards);
        self.y = y;
    }
}
