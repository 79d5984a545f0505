//! `postpre_int_stdp` (SPAIC `PostPreIntSTDP`, `STDP_Learner.py`): integer traces and
//! stochastically rounded integer weight changes, for integer (Loihi-like) networks.
//!
//! ```text
//! I_pre  = s_pre  ? trace_scale : (trace_decay * I_pre)  >> shift_spike_trace
//! I_post = s_post ? trace_scale : (trace_decay * I_post) >> shift_spike_trace
//! W += sround(nu0 * I_post) * s_pre            (term A, added as SPAIC's code does)
//! W += sround(nu1 * I_pre)  * s_post           (term B)
//! W = clamp(W, w_min, w_max)
//! sround(x) = (x >> shift) + [r < (x & (2^shift - 1))],  r uniform in [0, 2^shift)
//! ```
//!
//! (`trace_scale` is 1 when `shift_spike_trace` is 0, as in SPAIC.) SPAIC reads this
//! step's spikes (`O[updated]`), so our step `k` is its step `k`. SPAIC then halves the rows
//! of targets whose threshold `thresh` exceeds `max_threshold`; no spikeworld neuron model
//! has an adaptive integer threshold, so that part is left out (`max_threshold` is refused).
//!
//! # Random numbers
//! `r` of synapse `k` (its index in the projection's synapse table in one world:
//! `SynapseTable::global_index`, the same in a shard) in step `t` is the output number
//! `2k` (term A) or `2k + 1` (term B) of the stream `(seed, projection, PLASTICITY, t)`
//! (`spikeworld::util::rng::Stream`), masked to its low `shift` bits, drawn only where a
//! spike meets a nonzero remainder `x & (2^shift - 1)`. SPAIC draws from torch's global
//! MT19937 generator for every synapse every step, shared with every other torch user of
//! the network, so its draws cannot be reproduced here.

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule, TraceRing};
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, purpose};

use super::{clamp_all, reject, spikes};
use crate::{DELAY_KEY, Keys, TargetRange, config, finite};

/// The `postpre_int_stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("trace_decay", Dim::Dimensionless, 31169.0, "integer trace multiplier (31169 / 2^15 ~ exp(-1/20)); at most 2^shift_spike_trace"),
    ParamSpec::new("shift_spike_trace", Dim::Dimensionless, 15.0, "right shift after the multiplication (0..31)"),
    ParamSpec::new("trace_scale", Dim::Dimensionless, 127.0, "integer trace value on a spike (1 when shift_spike_trace = 0)"),
    ParamSpec::new("shift", Dim::Dimensionless, 14.0, "stochastic rounding shift (0..31): a change is x / 2^shift rounded at random"),
    ParamSpec::new("nu0", Dim::Dimensionless, 14.0, "integer factor of term A (post trace at a presynaptic spike)"),
    ParamSpec::new("nu1", Dim::Dimensionless, 141.0, "integer factor of term B (pre trace at a postsynaptic spike)"),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower clamp, in the weight's unit").in_weight_unit(),
    ParamSpec::new("w_max", Dim::Dimensionless, 109.0, "upper clamp, in the weight's unit").in_weight_unit(),
    DELAY_KEY,
];

fn shift_ok(x: f64) -> bool {
    x.fract() == 0.0 && (0.0..=31.0).contains(&x)
}
fn nonneg_int(x: f64) -> bool {
    x.fract() == 0.0 && (0.0..2147483648.0).contains(&x)
}
fn int(x: f64) -> bool {
    x.fract() == 0.0 && x.abs() < 2147483648.0
}

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Trace multiplier.
    pub trace_decay: i64,
    /// Trace shift.
    pub shift_spike_trace: u32,
    /// Trace on a spike (already 1 if the shift is 0).
    pub trace_scale: i64,
    /// Rounding shift.
    pub shift: u32,
    /// Term A factor.
    pub nu0: i64,
    /// Term B factor.
    pub nu1: i64,
    /// Clamp.
    pub w_min: f64,
    /// Clamp.
    pub w_max: f64,
}

impl Params {
    /// The trace after a step: `trace_scale` on a spike, else decayed.
    pub fn trace(&self, i: i64, spiked: bool) -> i64 {
        if spiked { self.trace_scale } else { (self.trace_decay * i) >> self.shift_spike_trace }
    }
    /// SPAIC's `stochastic_round(x)`, with `r` giving the random 32 bits when needed.
    pub fn sround(&self, x: i64, r: impl FnOnce() -> u32) -> i64 {
        let mask = (1i64 << self.shift) - 1;
        let low = x & mask;
        (x >> self.shift) + i64::from(low != 0 && (i64::from(r()) & mask) < low)
    }
}

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "postpre_int_stdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC PostPreIntSTDP: integer traces I = s ? 127 : (31169*I) >> 15; W += sround(nu0*I_post)*s_pre + sround(nu1*I_pre)*s_post (stochastic rounding by 2^shift); clamp [w_min, w_max]; no threshold-driven row halving"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        reject(&mut k, "max_threshold", "SPAIC halves the rows of targets whose `thresh` exceeds max_threshold; no spikeworld neuron model has that adaptive integer threshold, so postpre_int_stdp leaves the halving out")?;
        let trace_decay = k.num(&KEYS[0], nonneg_int, "an integer in [0, 2^31)")? as i64;
        let shift_spike_trace = k.num(&KEYS[1], shift_ok, "an integer in [0, 31]")? as u32;
        if trace_decay > 1i64 << shift_spike_trace {
            return Err(k.error("trace_decay", format!("must be at most 2^shift_spike_trace = {} (a decay, not a growth), found {trace_decay}", 1i64 << shift_spike_trace)));
        }
        let trace_scale = k.num(&KEYS[2], nonneg_int, "an integer in [0, 2^31)")? as i64;
        let shift = k.num(&KEYS[3], shift_ok, "an integer in [0, 31]")? as u32;
        let nu0 = k.num(&KEYS[4], int, "an integer, |nu0| < 2^31")? as i64;
        let nu1 = k.num(&KEYS[5], int, "an integer, |nu1| < 2^31")? as i64;
        let w_min = k.num(&KEYS[6], finite, "finite")?;
        let w_max = k.num(&KEYS[7], finite, "finite")?;
        if w_max < w_min {
            return Err(k.error("w_max", format!("must be >= w_min ({w_min}), found {w_max}")));
        }
        let site = k.site()?;
        let trace_scale = if shift_spike_trace > 0 { trace_scale } else { 1 };
        let p = Params { trace_decay, shift_spike_trace, trace_scale, shift, nu0, nu1, w_min, w_max };
        let (n_src, range, entity) = (ctx.n_src, TargetRange::of(ctx), ctx.entity);
        Ok(config(
            move |tb: &SynapseTable| {
                let depth = tb.max_delay as usize + 1;
                PostPreIntStdp { p, site, range, entity, x: TraceRing::new(n_src, depth, 0.0), y: TraceRing::new(range.n, depth, 0.0), touched: Vec::new(), mark: Vec::new() }
            },
            false,
        ).in_shards().into())
    }
}

/// `postpre_int_stdp` on one projection.
#[derive(Component)]
pub struct PostPreIntStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    /// The projection's stream key.
    entity: u32,
    /// Integer traces (exact in f64).
    x: TraceRing,
    y: TraceRing,
    touched: Vec<u32>,
    mark: Vec<f64>,
}

impl Checkpoint for PostPreIntStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)
    }
}

impl PlasticityRule for PostPreIntStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let p = self.p;
        let (pre, post) = spikes(&s, self.range);
        self.x.step(pre, &mut self.mark, |i, z| p.trace(i as i64, z > 0.0) as f64);
        self.y.step(post, &mut self.mark, |i, z| p.trace(i as i64, z > 0.0) as f64);
        let mut rng = Stream::new(s.seed, self.entity, purpose::PLASTICITY, s.step);
        let mut draw = |pos: u64| {
            rng.seek(pos);
            rng.next_u32()
        };
        let (t, ev, range) = (s.table, s.events, self.range);
        let (x, y, touched) = (&self.x, &self.y, &mut self.touched);
        touched.clear();
        let mut w = std::mem::take(&mut t.weight);
        // NOTE: SPAIC adds all of term A, then all of term B, then clamps.
        ev.pre(t, |e| {
            let i_post = y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag) as i64;
            w[e.k] += p.sround(p.nu0 * i_post, || draw(2 * t.global_index(e.k))) as f64;
            touched.push(e.k as u32);
        });
        ev.post(t, |e| {
            let i_pre = x.lagged(e.i as usize, e.pre_lag) as i64;
            w[e.k] += p.sround(p.nu1 * i_pre, || draw(2 * t.global_index(e.k) + 1)) as f64;
            touched.push(e.k as u32);
        });
        t.weight = w;
        if s.step == 0 {
            clamp_all(t, p.w_min, p.w_max);
        } else {
            // The others are within bounds since step 0.
            for &k in touched.iter() {
                t.weight[k as usize] = t.weight[k as usize].clamp(p.w_min, p.w_max);
            }
        }
    }
}
