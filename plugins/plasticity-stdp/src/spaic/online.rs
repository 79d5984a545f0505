//! `nearest_online_stdp` and `full_online_stdp` (SPAIC `nearest_online_STDP`,
//! `full_online_STDP`, `STDP_Learner.py`):
//!
//! ```text
//! nearest: x_pre = (spike - s_pre) * (x_pre * trace_pre) + s_pre      (same for x_post)
//! full:    x_pre = s_pre + x_pre * trace_decay                        (same for x_post)
//! dw_new = Apost * s_post^T x_pre - Apre * x_post^T s_pre
//! W += dw_prev                                  (the dw of the previous step)
//! nearest: W = w_norm * W / rowsum|W| every step; full: at the run's last step (and every
//!          norm_every steps if set)
//! W = clamp(W, w_min, w_max)
//! dw_prev = dw_new
//! ```
//!
//! Rows are target neurons, over the synapses that exist.

use bevy_ecs::prelude::Component;
use spikeworld::api::synapse::SynapseVarSpec;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule, SparseAccum, TableAccum, TraceRing};
use spikeworld::prelude::*;

use super::{stdp_dw, EXP_M1_20, clamp_all, normalise_rows, reject, spikes};
use crate::{DELAY_KEY, Keys, TargetRange, config, decay_factor, finite, positive};

/// The `nearest_online_stdp` add-on.
pub struct NearestAddon;
/// The `full_online_stdp` add-on.
pub struct FullAddon;

const NEAREST_KEYS: &[ParamSpec] = &[
    ParamSpec::new("Apost", Dim::Dimensionless, 1e-2, "LTP amplitude, in the weight's unit: a postsynaptic spike adds Apost * x_pre (one step later)").in_weight_unit(),
    ParamSpec::new("Apre", Dim::Dimensionless, 1e-4, "LTD amplitude, in the weight's unit: a presynaptic spike subtracts Apre * x_post (one step later)").in_weight_unit(),
    ParamSpec::new("trace_pre", Dim::Dimensionless, EXP_M1_20, "per-step decay factor of the presynaptic trace (SPAIC: np.exp(-1/20); it does not depend on dt)"),
    ParamSpec::new("trace_post", Dim::Dimensionless, EXP_M1_20, "per-step decay factor of the postsynaptic trace"),
    ParamSpec::new("spike", Dim::Dimensionless, 1.0, "SPAIC's `spike` constant in x = (spike - s) * (x * decay) + s"),
    ParamSpec::new("w_norm", Dim::Dimensionless, 78.4, "L1 norm each target's incoming weights are set to every step, in the weight's unit (SPAIC: hard-coded 78.4)").in_weight_unit(),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower clamp, in the weight's unit (SPAIC: hard-coded 0)").in_weight_unit(),
    ParamSpec::new("w_max", Dim::Dimensionless, 1.0, "upper clamp, in the weight's unit (SPAIC: hard-coded 1)").in_weight_unit(),
    ParamSpec::new("lr", Dim::Dimensionless, 0.01, "accepted and unused, as in SPAIC"),
    DELAY_KEY,
];

const FULL_KEYS: &[ParamSpec] = &[
    ParamSpec::new("Apost", Dim::Dimensionless, 1e-2, "LTP amplitude, in the weight's unit: a postsynaptic spike adds Apost * x_pre (one step later)").in_weight_unit(),
    ParamSpec::new("Apre", Dim::Dimensionless, 1e-4, "LTD amplitude, in the weight's unit: a presynaptic spike subtracts Apre * x_post (one step later)").in_weight_unit(),
    ParamSpec::new("trace_decay", Dim::Dimensionless, EXP_M1_20, "per-step decay factor of both traces (SPAIC: np.exp(-1/20); it does not depend on dt)"),
    ParamSpec::new("w_norm", Dim::Dimensionless, 78.4, "L1 norm each target's incoming weights are set to at the run's last step, in the weight's unit (SPAIC: hard-coded 78.4)").in_weight_unit(),
    ParamSpec::new("norm_every", Dim::Dimensionless, 0.0, "also normalise at every step t with (t + 1) % norm_every == 0 (the last step of each sample of norm_every steps); 0: only at the run's last step"),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower clamp, in the weight's unit (SPAIC: hard-coded 0)").in_weight_unit(),
    ParamSpec::new("w_max", Dim::Dimensionless, 1.0, "upper clamp, in the weight's unit (SPAIC: hard-coded 1)").in_weight_unit(),
    ParamSpec::new("lr", Dim::Dimensionless, 0.01, "accepted and unused, as in SPAIC"),
    DELAY_KEY,
];

fn count(x: f64) -> bool {
    x >= 0.0 && x.fract() == 0.0 && x < 1e15
}

/// What the two rules share.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// LTP amplitude.
    pub a_post: f64,
    /// LTD amplitude.
    pub a_pre: f64,
    /// Pre trace decay per step.
    pub decay_pre: f64,
    /// Post trace decay per step.
    pub decay_post: f64,
    /// `spike` (nearest only).
    pub spike: f64,
    /// Row norm.
    pub w_norm: f64,
    /// Also normalise every this many steps (full only; 0: never but at the end).
    pub norm_every: u64,
    /// Clamp.
    pub w_min: f64,
    /// Clamp.
    pub w_max: f64,
}

fn read_bounds(k: &mut Keys<'_, '_>, keys: &'static [ParamSpec], i: usize) -> Result<(f64, f64), ScenarioError> {
    let w_min = k.num(&keys[i], finite, "finite")?;
    let w_max = k.num(&keys[i + 1], finite, "finite")?;
    if w_max < w_min {
        return Err(k.error("w_max", format!("must be >= w_min ({w_min}), found {w_max}")));
    }
    Ok((w_min, w_max))
}

impl ProjectionAddon for NearestAddon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "nearest_online_stdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC nearest_online_STDP: nearest traces x = (1-s)*x*decay + s; dw = Apost*s_post*x_pre - Apre*x_post*s_pre applied one step later; every step each target's weights normalised to L1 norm w_norm, then clamped to [0, 1]"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        NEAREST_KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        reject(&mut k, "trace_decay", "SPAIC's nearest_online_STDP ignores trace_decay; set trace_pre and trace_post")?;
        let a_post = k.num(&NEAREST_KEYS[0], finite, "finite")?;
        let a_pre = k.num(&NEAREST_KEYS[1], finite, "finite")?;
        let decay_pre = k.num(&NEAREST_KEYS[2], decay_factor, "in (0, 1] (a per-step decay factor)")?;
        let decay_post = k.num(&NEAREST_KEYS[3], decay_factor, "in (0, 1] (a per-step decay factor)")?;
        let spike = k.num(&NEAREST_KEYS[4], finite, "finite")?;
        let w_norm = k.num(&NEAREST_KEYS[5], positive, "> 0 (the L1 norm each target's weights are scaled to)")?;
        let (w_min, w_max) = read_bounds(&mut k, NEAREST_KEYS, 6)?;
        k.num(&NEAREST_KEYS[8], finite, "finite")?;
        let site = k.site()?;
        let p = Params { a_post, a_pre, decay_pre, decay_post, spike, w_norm, norm_every: 0, w_min, w_max };
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        Ok(config(move |tb: &SynapseTable| NearestOnlineStdp(Online::new(p, site, range, n_src, tb)), false).synapse_vars(Online::VARS).in_shards().into())
    }
}

impl ProjectionAddon for FullAddon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "full_online_stdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC full_online_STDP: all-to-all traces x = s + x*trace_decay; dw = Apost*s_post*x_pre - Apre*x_post*s_pre applied one step later; each target's weights normalised to L1 norm w_norm at the run's last step (and every norm_every steps); clamped to [0, 1] every step"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        FULL_KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        let a_post = k.num(&FULL_KEYS[0], finite, "finite")?;
        let a_pre = k.num(&FULL_KEYS[1], finite, "finite")?;
        let decay = k.num(&FULL_KEYS[2], decay_factor, "in (0, 1] (a per-step decay factor)")?;
        let w_norm = k.num(&FULL_KEYS[3], positive, "> 0 (the L1 norm each target's weights are scaled to)")?;
        let norm_every = k.num(&FULL_KEYS[4], count, "a whole number of steps >= 0")? as u64;
        let (w_min, w_max) = read_bounds(&mut k, FULL_KEYS, 5)?;
        k.num(&FULL_KEYS[7], finite, "finite")?;
        let site = k.site()?;
        let p = Params { a_post, a_pre, decay_pre: decay, decay_post: decay, spike: 1.0, w_norm, norm_every, w_min, w_max };
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        Ok(config(move |tb: &SynapseTable| FullOnlineStdp(Online::new(p, site, range, n_src, tb)), false).synapse_vars(Online::VARS).in_shards().into())
    }
}

/// The state of either rule.
pub struct Online {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    /// The dw computed last step (applied now), in the table (`pending_dw`).
    prev: TableAccum,
    /// The dw of this step.
    new: SparseAccum,
    mark: Vec<f64>,
}

impl Online {
    /// The per-synapse arrays the rules declare: the pending dw.
    const VARS: [SynapseVarSpec; 2] = [
        SynapseVarSpec { name: "pending_dw", initial: 0.0, doc: "the dw computed in the last step, applied in this one" },
        SynapseVarSpec { name: "pending_dw_set", initial: 0.0, doc: "1 where pending_dw is set" },
    ];

    fn new(p: Params, site: DelaySite, range: TargetRange, n_src: usize, tb: &SynapseTable) -> Self {
        let depth = tb.max_delay as usize + 1;
        Online {
            p,
            site,
            range,
            x: TraceRing::new(n_src, depth, 0.0),
            y: TraceRing::new(range.n, depth, 0.0),
            prev: TableAccum::new(tb, "pending_dw", "pending_dw_set"),
            new: SparseAccum::new(tb.len()),
            mark: Vec::new(),
        }
    }

    /// Traces updated with this step's spikes by `f(old, s, decay)`, then `dw_new`.
    fn traces_and_dw(&mut self, s: &PlasticStep<'_>, f: impl Fn(f64, f64, f64) -> f64) {
        let p = self.p;
        let (pre, post) = spikes(s, self.range);
        self.x.step(pre, &mut self.mark, |x, z| f(x, z, p.decay_pre));
        self.y.step(post, &mut self.mark, |y, z| f(y, z, p.decay_post));
        self.new.clear();
        stdp_dw(&mut self.new, s.table, &s.events, (&self.x, &self.y), self.range, (p.a_post, p.a_pre));
    }

    /// `W += dw_prev` on the synapses it touches (the caller then normalises and clamps).
    fn add_prev(&mut self, t: &mut SynapseTable) {
        self.prev.apply(t, |w, dw| *w += dw);
    }

    /// Clamps the synapses `dw_prev` touched.
    fn clamp_prev(&mut self, t: &mut SynapseTable) {
        let (lo, hi) = (self.p.w_min, self.p.w_max);
        self.prev.apply(t, |w, _| *w = w.clamp(lo, hi));
    }

    /// This step's dw becomes the pending one.
    fn shift(&mut self, t: &mut SynapseTable) {
        self.prev.replace(t, &self.new);
        self.new.clear();
    }
}

impl Checkpoint for Online {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        // (The pending dw is saved with the table.)
        self.x.save_state(out)?;
        self.y.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)?;
        self.prev.reloaded();
        Ok(())
    }
}

/// `nearest_online_stdp` on one projection.
#[derive(Component)]
pub struct NearestOnlineStdp(Online);

/// `full_online_stdp` on one projection.
#[derive(Component)]
pub struct FullOnlineStdp(Online);

impl Checkpoint for NearestOnlineStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.0.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.0.load_state(inp)
    }
}

impl Checkpoint for FullOnlineStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.0.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.0.load_state(inp)
    }
}

impl PlasticityRule for NearestOnlineStdp {
    fn delay_site(&self) -> DelaySite {
        self.0.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let r = &mut self.0;
        let p = r.p;
        // SPAIC: x = (spike - s) * (x * decay) + s ('minus', 'var_mult', 'var_linear').
        r.traces_and_dw(&s, |x, z, d| (p.spike - z) * (x * d) + z);
        let t = s.table;
        if s.step == 0 {
            // SPAIC's learner step 0 (no spike yet, dw = 0).
            normalise_rows(t, p.w_norm);
            clamp_all(t, p.w_min, p.w_max);
        }
        r.add_prev(t);
        normalise_rows(t, p.w_norm);
        clamp_all(t, p.w_min, p.w_max);
        r.shift(t);
    }
}

impl PlasticityRule for FullOnlineStdp {
    fn delay_site(&self) -> DelaySite {
        self.0.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let r = &mut self.0;
        let p = r.p;
        // SPAIC: x = s + x * trace_decay ('var_mult', 'add').
        r.traces_and_dw(&s, |x, z, d| z + x * d);
        let t = s.table;
        if s.step == 0 {
            // SPAIC's learner step 0 only clamps (no dw, before its normalisation step).
            clamp_all(t, p.w_min, p.w_max);
        }
        r.add_prev(t);
        let last = s.step + 1 == s.end_step || (p.norm_every > 0 && (s.step + 1).is_multiple_of(p.norm_every));
        if last {
            normalise_rows(t, p.w_norm);
            clamp_all(t, p.w_min, p.w_max);
        } else {
            // The others are within bounds since step 0.
            r.clamp_prev(t);
        }
        r.shift(t);
    }
}
