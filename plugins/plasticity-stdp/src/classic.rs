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
//! source's, delayed), decayed by `exp(-dt/tau)` per step.

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule, TraceRing};
use spikeworld::prelude::*;

use crate::{DELAY_KEY, Keys, TargetRange, config, finite, positive};

/// The `stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("tau_pre", Dim::Time, 20.0, "time constant of the presynaptic trace apre"),
    ParamSpec::new("tau_post", Dim::Time, 20.0, "time constant of the postsynaptic trace apost"),
    ParamSpec::required("a_pre", Dim::Dimensionless, "added to apre by a presynaptic spike, in the weight's unit (> 0 potentiates)"),
    ParamSpec::required("a_post", Dim::Dimensionless, "added to apost by a postsynaptic spike, in the weight's unit (< 0 depresses)"),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower bound of the weight, in the weight's unit"),
    ParamSpec::required("w_max", Dim::Dimensionless, "upper bound of the weight, in the weight's unit"),
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
        let tau_pre = k.num(&KEYS[0], false, positive, "> 0")?;
        let tau_post = k.num(&KEYS[1], false, positive, "> 0")?;
        let a_pre = k.num(&KEYS[2], true, finite, "finite")?;
        let a_post = k.num(&KEYS[3], true, finite, "finite")?;
        let w_min = k.num(&KEYS[4], true, finite, "finite")?;
        let w_max = k.num(&KEYS[5], true, finite, "finite")?;
        if w_max < w_min {
            return Err(k.error("w_max", format!("must be >= w_min ({w_min}), found {w_max}")));
        }
        let site = k.site()?;
        let (dt, n_src, range) = (ctx.dt_ms, ctx.n_src, TargetRange::of(ctx));
        let p = Params { decay_pre: (-dt / tau_pre).exp(), decay_post: (-dt / tau_post).exp(), a_pre, a_post, w_min, w_max };
        Ok(config(
            move |tb: &SynapseTable| {
                let depth = tb.delay.max() as usize + 1;
                PairStdp { p, site, range, x: TraceRing::new(n_src, depth, 0.0), y: TraceRing::new(range.n, depth, 0.0) }
            },
            false,
        ))
    }
}

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// `exp(-dt/tau_pre)`.
    pub decay_pre: f64,
    /// `exp(-dt/tau_post)`.
    pub decay_post: f64,
    /// Jump of apre.
    pub a_pre: f64,
    /// Jump of apost.
    pub a_post: f64,
    /// Lower bound.
    pub w_min: f64,
    /// Upper bound.
    pub w_max: f64,
}

/// `stdp` on one projection: the traces of sources and targets *before* this step's spikes
/// are added (a synapse adds the jump itself when the spike at that lag is one it already
/// saw).
#[derive(Component)]
pub struct PairStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
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

/// `ring(t) = (ring(t-1) + a * spiked(t-1)) * decay`, for the spikes `prev` of the last step.
fn advance_before(ring: &mut TraceRing, prev: impl Iterator<Item = usize>, a: f64, decay: f64) {
    ring.advance();
    let now = ring.now_mut();
    for i in prev {
        now[i] += a;
    }
    for v in now.iter_mut() {
        *v *= decay;
    }
}

impl PlasticityRule for PairStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let PlasticStep { table, events, .. } = s;
        let p = self.p;
        let (src_start, src_end, range) = (table.src_start, table.src_end, self.range);
        if events.step() > 0 {
            let prev_pre = events.pre_at(1).unwrap_or(&[]);
            let prev_post = events.post_at(1).unwrap_or(&[]);
            let rel_pre = prev_pre.iter().filter(|&&i| i >= src_start && i < src_end).map(|&i| (i - src_start) as usize);
            advance_before(&mut self.x, rel_pre, p.a_pre, p.decay_pre);
            advance_before(&mut self.y, prev_post.iter().filter_map(|&j| range.rel(j)), p.a_post, p.decay_post);
        }
        let (x, y) = (&self.x, &self.y);
        let mut w = std::mem::take(&mut table.weight);
        events.pre(table, |e| {
            // The postsynaptic spike reaching the synapse now comes after: not in apost.
            let apost = y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag);
            w[e.k] = (w[e.k] + apost).clamp(p.w_min, p.w_max);
        });
        events.post(table, |e| {
            let spiked = events.pre_spiked(e.i + src_start, e.pre_lag);
            let apre = x.lagged(e.i as usize, e.pre_lag) + if spiked { p.a_pre } else { 0.0 };
            w[e.k] = (w[e.k] + apre).clamp(p.w_min, p.w_max);
        });
        table.weight = w;
    }
}
