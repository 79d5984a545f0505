//! `sf_stdp`: SpikingFlow's trace STDP (`SpikingFlow.learning.STDPModule` and
//! `STDPUpdater`), as its code does it: traces `x += -x/tau_pre + z_pre`,
//! `y += -y/tau_post + z_post`, and **every step, on every synapse** (the code applies the
//! update whatever spiked; the docstring's "on a pre spike" is what the traces make of it):
//!
//! - `variant = "module"` (STDPModule.forward): update x; `w -= lr*f(w)*y` (y of the last
//!   step); update y; `w += lr*f(w)*x`.
//! - `variant = "updater"` (STDPUpdater.update): update x and y; `w += lr*f(w)*x`;
//!   `w -= lr*f(w)*y` (f of the updated w); `inverse = true` swaps the signs (anti-STDP).
//!
//! `f_w`: `abs_eps` `|w| + 1e-6` (the default), `normalized` `|w| / (sum |w| + 1e-6)` (sum
//! over the projection's synapses, recomputed before each of the two updates, exactly and
//! rounded once: `util::exact`; the same in any number of shards),
//! `constant` `1`. The synapse sees the source's trace `d` steps back when the delay is
//! axonal, the target's when it is dendritic. Costs O(synapses) per step.

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, PlasticStep, PlasticityRule, Shards, TraceRing};
use spikeworld::util::exact::ExactSum;
use spikeworld::prelude::*;

use crate::{DELAY_KEY, Keys, TargetRange, config, finite, positive};

/// The `sf_stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::required("tau_pre", Dim::Dimensionless, "time constant of the presynaptic trace, in steps (SpikingFlow's tau_pre)"),
    ParamSpec::required("tau_post", Dim::Dimensionless, "time constant of the postsynaptic trace, in steps"),
    ParamSpec::required("learning_rate", Dim::Dimensionless, "lr"),
    ParamSpec::optional("f_w", Dim::Dimensionless, "weight function: \"abs_eps\" (|w| + 1e-6, the default), \"normalized\" (|w| / (sum|w| + 1e-6)), \"constant\" (1)"),
    ParamSpec::optional("variant", Dim::Dimensionless, "\"module\" (STDPModule's order, the default) or \"updater\" (STDPUpdater's)"),
    ParamSpec::optional("inverse", Dim::Dimensionless, "anti-STDP (STDPUpdater's inverse; variant \"updater\" only); false by default"),
    DELAY_KEY,
];

/// The weight function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fw {
    /// `|w| + 1e-6`.
    AbsEps,
    /// `|w| / (sum |w| + 1e-6)`.
    Normalized,
    /// `1`.
    Constant,
}

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "sf_stdp"
    }
    fn doc(&self) -> &'static str {
        "SpikingFlow STDPModule/STDPUpdater: x += -x/tau_pre + z_pre, y += -y/tau_post + z_post; every step w -= lr*f(w)*y, w += lr*f(w)*x (module or updater order, f_w, inverse)"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        let tau_pre = k.num(&KEYS[0], positive, "> 0")?;
        let tau_post = k.num(&KEYS[1], positive, "> 0")?;
        let lr = k.num(&KEYS[2], finite, "finite")?;
        let f_w = match k.choice("f_w", &["abs_eps", "normalized", "constant"])? {
            "normalized" => Fw::Normalized,
            "constant" => Fw::Constant,
            _ => Fw::AbsEps,
        };
        let updater = k.choice("variant", &["module", "updater"])? == "updater";
        let inverse = k.flag("inverse", false)?;
        if inverse && !updater {
            return Err(k.error("inverse", "SpikingFlow's STDPModule has no inverse; use variant = \"updater\""));
        }
        let site = k.site()?;
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        let p = Params { tau_pre, tau_post, lr, f_w, updater, inverse };
        let rule = config(
            move |tb: &SynapseTable| {
                let depth = tb.max_delay as usize + 1;
                SfStdp { p, site, range, x: TraceRing::new(n_src, depth, 0.0), y: TraceRing::new(range.n, depth, 0.0), f: Vec::new(), sum: ExactSum::new() }
            },
            false,
        );
        Ok(rule.in_shards().into())
    }
}

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Presynaptic trace time constant, steps.
    pub tau_pre: f64,
    /// Postsynaptic trace time constant, steps.
    pub tau_post: f64,
    /// Learning rate.
    pub lr: f64,
    /// Weight function.
    pub f_w: Fw,
    /// STDPUpdater's order.
    pub updater: bool,
    /// Anti-STDP.
    pub inverse: bool,
}

/// `sf_stdp` on one projection.
#[derive(Component)]
pub struct SfStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    f: Vec<f64>,
    sum: ExactSum,
}

impl Checkpoint for SfStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)
    }
}

/// `f(w)` of every synapse into `f`; the projection's `sum |w|` is exact, over every
/// shard's synapses (`sum`: its accumulator).
fn weight_fn(f_w: Fw, w: &[f64], f: &mut Vec<f64>, sum: &mut ExactSum, shards: Shards<'_>) {
    f.clear();
    match f_w {
        Fw::AbsEps => f.extend(w.iter().map(|x| x.abs() + 1e-6)),
        Fw::Constant => f.resize(w.len(), 1.0),
        Fw::Normalized => {
            w.iter().for_each(|x| sum.add(x.abs()));
            let total = shards.sum_exact_one(sum) + 1e-6;
            f.extend(w.iter().map(|x| x.abs() / total));
        }
    }
}

impl SfStdp {
    /// `w += sign * lr * f(w) * trace` on every synapse, with the trace of the source
    /// (`pre`) or of the target, as the synapse sees it (the target's ring's newest slot is
    /// the last step's until it is updated in this step).
    fn apply(&mut self, t: &mut SynapseTable, pre: bool, sign: f64, shards: Shards<'_>) {
        let (lr, range, site) = (self.p.lr, self.range, self.site);
        weight_fn(self.p.f_w, &t.weight, &mut self.f, &mut self.sum, shards);
        let rows = t.csr.row_ptr.len().saturating_sub(1);
        for i in 0..rows {
            for k in t.csr.row(i) {
                let d = t.delay.of(k);
                let (pre_lag, post_lag) = if site == DelaySite::Axonal { (d, 0) } else { (0, d) };
                let tr = if pre {
                    self.x.lagged(i, pre_lag)
                } else {
                    let j = range.rel(t.csr.col[k]).expect("target in the selection");
                    self.y.lagged(j, post_lag)
                };
                let dw = lr * self.f[k] * tr;
                t.weight[k] = if sign > 0.0 { t.weight[k] + dw } else { t.weight[k] - dw };
            }
        }
    }
}

impl PlasticityRule for SfStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let (a, b, range) = (s.table.src_start, s.table.src_end, self.range);
        let pre_spk = s.pre_now.iter().filter(|&&i| i >= a && i < b).map(|&i| (i - a) as usize);
        let mut mark = std::mem::take(&mut self.f);
        let tau = self.p.tau_pre;
        // SpikingFlow: trace += -trace/tau + spike, evaluated in its order.
        self.x.step(pre_spk, &mut mark, |v, z| v + (-v / tau + z));
        let post_spk = s.post_now.iter().filter_map(|&j| range.rel(j));
        let (t, shards) = (s.table, s.shards);
        if !self.p.updater {
            self.f = mark;
            // w -= lr f(w) y, with y of the last step (the post trace not yet updated).
            self.apply(t, false, -1.0, shards);
            let mut mark = std::mem::take(&mut self.f);
            let tau = self.p.tau_post;
            self.y.step(post_spk, &mut mark, |v, z| v + (-v / tau + z));
            self.f = mark;
            self.apply(t, true, 1.0, shards);
        } else {
            let tau = self.p.tau_post;
            self.y.step(post_spk, &mut mark, |v, z| v + (-v / tau + z));
            self.f = mark;
            let first = if self.p.inverse { -1.0 } else { 1.0 };
            self.apply(t, true, first, shards);
            self.apply(t, false, -first, shards);
        }
    }
}
