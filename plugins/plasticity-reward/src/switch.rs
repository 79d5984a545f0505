//! `reward_switch_stdp`: SPAIC's `RewardSwitchSTDP` (`spaic/Learning/RSTDP.py`, registry
//! `switch_rstdp`): nearest-spike STDP whose amplitudes switch with the sign of the
//! reward, applied in the same step, then a hard clamp.
//!
//! ```text
//! x_pre  = pre_decay  * x_pre  * (s_pre  <= 0) + s_pre          (per source: 1 on a spike)
//! x_post = post_decay * x_post * (s_post <= 0) + s_post         (per target)
//! Apost, Apre = R > 0 ? (apost_pos, apre_pos) : (apost_neg, apre_neg)
//! dw = s_post * (Apost * x_pre) + (Apre * x_post) * s_pre
//! W  = clamp(W + dw, w_min, w_max)                              (every weight, every step)
//! ```
//!
//! SPAIC's decays are fixed per-step factors (they do not depend on dt); its code clamps to
//! [0, 0.1] whatever its `w_min`/`w_max` kwargs say: here `w_min`/`w_max` are the clamp,
//! with the code's defaults.

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule, TraceRing};
use spikeworld::prelude::*;
use spikeworld_plasticity_stdp::{DELAY_KEY, Keys, TargetRange, finite};

use crate::{SIGNAL_KEY, Sparse, config, nearest, signal_name};

/// The `reward_switch_stdp` add-on.
pub struct Addon;

const E20: f64 = 0.951_229_424_500_714; // exp(-1/20), SPAIC's np.exp(-1/20.0)

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("apost_pos", Dim::Dimensionless, 5.0e-3, "amplitude of s_post * x_pre when R > 0 (SPAIC `Apost_pos`), in the weight's unit").in_weight_unit(),
    ParamSpec::new("apre_pos", Dim::Dimensionless, -4.0e-3, "amplitude of x_post * s_pre when R > 0 (SPAIC `Apre_pos`; the sign is built in)").in_weight_unit(),
    ParamSpec::new("apost_neg", Dim::Dimensionless, -5.0e-3, "amplitude of s_post * x_pre when R <= 0 (SPAIC `Apost_neg`)").in_weight_unit(),
    ParamSpec::new("apre_neg", Dim::Dimensionless, 4.0e-3, "amplitude of x_post * s_pre when R <= 0 (SPAIC `Apre_neg`)").in_weight_unit(),
    ParamSpec::new("pre_decay", Dim::Dimensionless, E20, "per-step decay factor of the presynaptic nearest trace, in (0, 1] (SPAIC `pre_decay`, exp(-1/20); it does not depend on dt)"),
    ParamSpec::new("post_decay", Dim::Dimensionless, E20, "per-step decay factor of the postsynaptic nearest trace (SPAIC `post_decay`)"),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower clamp of every weight, in the weight's unit (SPAIC's code: 0)").in_weight_unit(),
    ParamSpec::new("w_max", Dim::Dimensionless, 0.1, "upper clamp of every weight (SPAIC's code: 0.1, hard-coded; its `w_max` kwarg, 0.5, is ignored)").in_weight_unit(),
    SIGNAL_KEY,
    DELAY_KEY,
];

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Amplitudes when R > 0: (Apost, Apre).
    pub pos: (f64, f64),
    /// Amplitudes when R <= 0.
    pub neg: (f64, f64),
    /// Presynaptic decay per step.
    pub pre_decay: f64,
    /// Postsynaptic decay per step.
    pub post_decay: f64,
    /// Clamp.
    pub w_min: f64,
    /// Clamp.
    pub w_max: f64,
}

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "reward_switch_stdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC RewardSwitchSTDP: nearest traces; amplitudes (apost, apre) = pos if R > 0 else neg; W = clamp(W + s_post Apost x_pre + Apre x_post s_pre, w_min, w_max) in the same step"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let signal = signal_name(t, "signal", "reward")?;
        let mut k = Keys::new(t, ctx.receptor_dim);
        let apost_pos = k.num(&KEYS[0], finite, "finite")?;
        let apre_pos = k.num(&KEYS[1], finite, "finite")?;
        let apost_neg = k.num(&KEYS[2], finite, "finite")?;
        let apre_neg = k.num(&KEYS[3], finite, "finite")?;
        let unit = |x: f64| x > 0.0 && x <= 1.0;
        let pre_decay = k.num(&KEYS[4], unit, "in (0, 1]")?;
        let post_decay = k.num(&KEYS[5], unit, "in (0, 1]")?;
        let w_min = k.num(&KEYS[6], finite, "finite")?;
        let w_max = k.num(&KEYS[7], finite, "finite")?;
        if w_max < w_min {
            return Err(k.error("w_max", format!("must be >= w_min ({w_min}), found {w_max}")));
        }
        let site = k.site()?;
        let p = Params { pos: (apost_pos, apre_pos), neg: (apost_neg, apre_neg), pre_decay, post_decay, w_min, w_max };
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        Ok(config(
            move |tb: &SynapseTable| {
                let depth = tb.max_delay as usize + 1;
                RewardSwitchStdp {
                    p,
                    signal: signal.clone(),
                    site,
                    range,
                    x: TraceRing::new(n_src, depth, 0.0),
                    y: TraceRing::new(range.n, depth, 0.0),
                    clamped: false,
                    dw: Sparse::new(tb.weight.len()),
                    mark: Vec::new(),
                }
            },
            false,
        ).in_shards().into())
    }
}

/// `reward_switch_stdp` on one projection.
#[derive(Component)]
pub struct RewardSwitchStdp {
    p: Params,
    signal: String,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    /// Whether every weight has been clamped once (after that only the changed ones can
    /// leave the range).
    clamped: bool,
    dw: Sparse,
    mark: Vec<f64>,
}

impl Checkpoint for RewardSwitchStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)?;
        out.u64(self.clamped as u64)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)?;
        self.clamped = inp.u64("clamped flag")? != 0;
        Ok(())
    }
}

impl PlasticityRule for RewardSwitchStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let (p, range) = (self.p, self.range);
        let (a, b) = (s.table.src_start, s.table.src_end);
        nearest(&mut self.x, s.pre_now.iter().filter(|&&i| i >= a && i < b).map(|&i| (i - a) as usize), p.pre_decay, &mut self.mark);
        nearest(&mut self.y, s.post_now.iter().filter_map(|&j| range.rel(j)), p.post_decay, &mut self.mark);
        let r = s.modulators.get(&self.signal);
        // SPAIC: reward.gt(0) * pos + reward.le(0) * neg (a zero reward counts as negative).
        let (apost, apre) = if r > 0.0 { p.pos } else { p.neg };
        let (x, y, dw) = (&self.x, &self.y, &mut self.dw);
        s.events.post(s.table, |e| dw.add(e.k, apost * x.lagged(e.i as usize, e.pre_lag)));
        s.events.pre(s.table, |e| dw.add(e.k, apre * y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag)));
        let w = &mut s.table.weight;
        dw.drain(|k, d| w[k] = (w[k] + d).clamp(p.w_min, p.w_max));
        if !self.clamped {
            // SPAIC clamps every weight every step; the ones no step changes stay in range
            // once clamped (clamping twice is clamping once).
            for v in w.iter_mut() {
                *v = v.clamp(p.w_min, p.w_max);
            }
            self.clamped = true;
        }
    }
}
