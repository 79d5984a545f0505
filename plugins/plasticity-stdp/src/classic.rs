//! `stdp`: pair-based additive STDP with exponential traces, as Brian2 users write it
//! (Song, Miller & Abbott 2000; Brian2's `examples/synapses/STDP.py`):
//!
//! ```text
//! dapre/dt = -apre/tau_pre, dapost/dt = -apost/tau_post       (exact between steps)
//! on a presynaptic spike reaching the synapse:  apre += a_pre;  w = clip(w + apost, w_min, w_max)
//! on a postsynaptic spike reaching the synapse: apost += a_post; w = clip(w + apre, w_min, w_max)
//! ```
//!
//! In one step, presynaptic events come first (Brian2's `pre` pathway before `post`): a
//! presynaptic spike sees the postsynaptic trace without the postsynaptic spike that
//! reaches the synapse in the same step; a postsynaptic spike sees the presynaptic trace
//! with it. Traces are per neuron (exact for all-to-all pairing: a synapse's trace is its
//! source's, delayed) and lazy, as Brian2's event-driven ones: a trace is stored at its
//! neuron's spikes and read as `a_s * exp(-(t - s)*dt/tau)` (nothing is touched in steps
//! without spikes; the factors come from a table of `exp(-n*dt/tau)`).

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule};
use spikeworld::prelude::*;

use crate::{DELAY_KEY, Keys, TargetRange, config, finite, positive};

/// The `stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("tau_pre", Dim::Time, 20.0, "time constant of the presynaptic trace apre"),
    ParamSpec::new("tau_post", Dim::Time, 20.0, "time constant of the postsynaptic trace apost"),
    ParamSpec::required("a_pre", Dim::Dimensionless, "added to apre by a presynaptic spike, in the weight's unit (> 0 potentiates)").in_weight_unit(),
    ParamSpec::required("a_post", Dim::Dimensionless, "added to apost by a postsynaptic spike, in the weight's unit (< 0 depresses)").in_weight_unit(),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower bound of the weight, in the weight's unit").in_weight_unit(),
    ParamSpec::required("w_max", Dim::Dimensionless, "upper bound of the weight, in the weight's unit").in_weight_unit(),
    DELAY_KEY,
];

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "stdp"
    }
    fn doc(&self) -> &'static str {
        "pair-based additive STDP (Song et al. 2000, Brian2's STDP example): pre spike apre += a_pre, w = clip(w + apost); post spike apost += a_post, w = clip(w + apre); exponential traces"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        let tau_pre = k.num(&KEYS[0], positive, "> 0")?;
        let tau_post = k.num(&KEYS[1], positive, "> 0")?;
        let a_pre = k.num(&KEYS[2], finite, "finite")?;
        let a_post = k.num(&KEYS[3], finite, "finite")?;
        let w_min = k.num(&KEYS[4], finite, "finite")?;
        let w_max = k.num(&KEYS[5], finite, "finite")?;
        if w_max < w_min {
            return Err(k.error("w_max", format!("must be >= w_min ({w_min}), found {w_max}")));
        }
        let site = k.site()?;
        let (dt, n_src, range) = (ctx.dt_ms, ctx.n_src, TargetRange::of(ctx));
        let p = Params { k_pre: dt / tau_pre, k_post: dt / tau_post, a_pre, a_post, w_min, w_max };
        Ok(config(
            move |tb: &SynapseTable| {
                let slots = tb.max_delay as usize + 2;
                PairStdp { p, site, range, x: LazyTrace::new(n_src, slots, p.k_pre), y: LazyTrace::new(range.n, slots, p.k_post) }
            },
            false,
        ).in_shards().into())
    }
}

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// `dt/tau_pre`.
    pub k_pre: f64,
    /// `dt/tau_post`.
    pub k_post: f64,
    /// Jump of apre.
    pub a_pre: f64,
    /// Jump of apost.
    pub a_post: f64,
    /// Lower bound.
    pub w_min: f64,
    /// Upper bound.
    pub w_max: f64,
}

/// Decay factors `exp(-n*k)` for the first [`TABLE`] step counts (computed by the same
/// expression beyond it, so a value does not depend on whether it came from the table).
const TABLE: usize = 4096;

/// A per-neuron trace stored at its spikes: the last `slots` (spike step, value just after
/// the spike) of each neuron, newest last. `slots` = longest delay + 2 covers every read
/// (reads go back at most the longest delay).
#[derive(Clone, Debug)]
pub struct LazyTrace {
    slots: usize,
    k: f64,
    table: Vec<f64>,
    step: Vec<u64>,
    value: Vec<f64>,
    /// Per neuron: index of its newest entry.
    head: Vec<u32>,
}

impl LazyTrace {
    fn new(n: usize, slots: usize, k: f64) -> Self {
        let table = (0..TABLE).map(|i| (-(i as f64) * k).exp()).collect();
        LazyTrace { slots, k, table, step: vec![u64::MAX; n * slots], value: vec![0.0; n * slots], head: vec![0; n] }
    }
    #[inline]
    fn factor(&self, n: u64) -> f64 {
        match self.table.get(n as usize) {
            Some(&f) => f,
            None => (-(n as f64) * self.k).exp(),
        }
    }
    /// The trace of neuron `i` at step `t`, with its spike at `t` if `with_now`, else without.
    #[inline]
    fn at(&self, i: usize, t: u64, with_now: bool) -> f64 {
        let base = i * self.slots;
        let h = self.head[i] as usize;
        for back in 0..self.slots {
            let e = base + (h + self.slots - back) % self.slots;
            let s = self.step[e];
            if s == u64::MAX {
                return 0.0;
            }
            if s < t || (with_now && s == t) {
                return self.value[e] * self.factor(t - s);
            }
        }
        0.0
    }
    /// Neuron `i` spikes at step `t`: its trace jumps by `a`.
    fn spike(&mut self, i: usize, t: u64, a: f64) {
        let v = self.at(i, t, false) + a;
        let h = (self.head[i] as usize + 1) % self.slots;
        self.head[i] = h as u32;
        self.step[i * self.slots + h] = t;
        self.value[i * self.slots + h] = v;
    }
}

impl Checkpoint for LazyTrace {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.step)?;
        out.blob(&self.value)?;
        out.blob(&self.head)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        inp.blob_into(&mut self.step, "trace spike steps")?;
        inp.blob_into(&mut self.value, "trace values")?;
        inp.blob_into(&mut self.head, "trace heads")?;
        if self.head.iter().any(|&h| h as usize >= self.slots) {
            return Err(StateError::new("trace head out of range"));
        }
        Ok(())
    }
}

/// `stdp` on one projection.
#[derive(Component)]
pub struct PairStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: LazyTrace,
    y: LazyTrace,
}

impl Checkpoint for PairStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)
    }
}

impl PlasticityRule for PairStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let PlasticStep { step: t, table, events, pre_now, post_now, .. } = s;
        let p = self.p;
        let (src_start, src_end, range) = (table.src_start, table.src_end, self.range);
        for &i in pre_now.iter().filter(|&&i| i >= src_start && i < src_end) {
            self.x.spike((i - src_start) as usize, t, p.a_pre);
        }
        for j in post_now.iter().filter_map(|&j| range.rel(j)) {
            self.y.spike(j, t, p.a_post);
        }
        let (x, y) = (&self.x, &self.y);
        let mut w = std::mem::take(&mut table.weight);
        events.pre(table, |e| {
            // The postsynaptic spike reaching the synapse now comes after: not in apost.
            let apost = y.at(range.rel(e.j).expect("target in the selection"), t - e.post_lag as u64, false);
            w[e.k] = (w[e.k] + apost).clamp(p.w_min, p.w_max);
        });
        events.post(table, |e| {
            let apre = x.at(e.i as usize, t - e.pre_lag as u64, true);
            w[e.k] = (w[e.k] + apre).clamp(p.w_min, p.w_max);
        });
        table.weight = w;
    }
}
