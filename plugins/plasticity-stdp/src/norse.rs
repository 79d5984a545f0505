//! `norse_stdp`: Norse's `stdp_step_linear` / `stdp_step_conv2d`
//! (`norse.torch.functional.stdp`):
//!
//! ```text
//! x += dt/tau_pre  * (-x + a_pre  * z_pre)        (per source)
//! y += dt/tau_post * (-y + a_post * z_post)       (per target)
//! dw+ = A+(w) * z_post * x,  dw- = A-(w) * y * z_pre
//! w = bound(w + (dw+ - dw-))
//! ```
//!
//! `algorithm`: `additive` (A+ = eta_plus, A- = eta_minus), `additive_step`
//! (eta * H(w_max - w), eta * H(w - w_min), H(0) = 0), `multiplicative_pow`
//! (eta * (w_max - w)^mu, eta * (w - w_min)^mu), `multiplicative_relu`
//! (eta * relu(w_max - w), eta * relu(w - w_min)); `hardbound` clips to [w_min, w_max]
//! (Norse clips every weight every step; here the weights a step changes, and all of them
//! in the first step). On a `conv2d` projection (shared kernel) the kernel entry's change
//! sums over every synapse that shares it (Norse's unfold + einsum), with A(w) of the
//! entry. Traces updated first, with this step's spikes; z_pre is a presynaptic spike
//! reaching the synapse, z_post a postsynaptic one.

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{DelaySite, EntrySums, PlasticStep, PlasticityRule, TraceRing};
use spikeworld::prelude::*;

use crate::{DELAY_KEY, Keys, TargetRange, config, finite, positive};

/// The `norse_stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("a_pre", Dim::Dimensionless, 1.0, "contribution of a presynaptic spike to its trace"),
    ParamSpec::new("a_post", Dim::Dimensionless, 1.0, "contribution of a postsynaptic spike to its trace"),
    ParamSpec::new("tau_pre", Dim::Time, 50.0, "presynaptic trace time constant (Norse: 1/tau_pre_inv)"),
    ParamSpec::new("tau_post", Dim::Time, 50.0, "postsynaptic trace time constant (Norse: 1/tau_post_inv)"),
    ParamSpec::new("w_min", Dim::Dimensionless, 0.0, "lower weight bound, in the weight's unit").in_weight_unit(),
    ParamSpec::new("w_max", Dim::Dimensionless, 1.0, "upper weight bound, in the weight's unit").in_weight_unit(),
    ParamSpec::new("eta_plus", Dim::Dimensionless, 1e-3, "potentiation rate, in the weight's unit").in_weight_unit(),
    ParamSpec::new("eta_minus", Dim::Dimensionless, 1e-3, "depression rate, in the weight's unit").in_weight_unit(),
    ParamSpec::optional("algorithm", Dim::Dimensionless, "\"additive\" (the default), \"additive_step\", \"multiplicative_pow\", \"multiplicative_relu\""),
    ParamSpec::new("mu", Dim::Dimensionless, 0.0, "exponent of multiplicative_pow (0 <= mu <= 1)"),
    ParamSpec::optional("hardbound", Dim::Dimensionless, "clip weights to [w_min, w_max] (true by default)"),
    DELAY_KEY,
];

/// Norse's `stdp_algorithm`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Algorithm {
    /// Constant rates.
    Additive,
    /// Rates switched off at the bounds.
    AdditiveStep,
    /// Rates times the distance to the bound to the power mu.
    MultiplicativePow(f64),
    /// Rates times the positive distance to the bound.
    MultiplicativeRelu,
}

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "norse_stdp"
    }
    fn doc(&self) -> &'static str {
        "Norse stdp_step_linear/conv2d: x += dt/tau*(-x + a*z); w = bound(w + A+(w) z_post x - A-(w) y z_pre); additive, additive_step, multiplicative_pow, multiplicative_relu; dense, sparse or conv2d"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        let a_pre = k.num(&KEYS[0], finite, "finite")?;
        let a_post = k.num(&KEYS[1], finite, "finite")?;
        let tau_pre = k.num(&KEYS[2], positive, "> 0")?;
        let tau_post = k.num(&KEYS[3], positive, "> 0")?;
        let w_min = k.num(&KEYS[4], finite, "finite")?;
        let w_max = k.num(&KEYS[5], finite, "finite")?;
        if w_max <= w_min {
            return Err(k.error("w_max", format!("must be > w_min ({w_min}), found {w_max}")));
        }
        let eta_plus = k.num(&KEYS[6], finite, "finite")?;
        let eta_minus = k.num(&KEYS[7], finite, "finite")?;
        let alg = k.choice("algorithm", &["additive", "additive_step", "multiplicative_pow", "multiplicative_relu"])?;
        let mu = k.num(&KEYS[9], |m| (0.0..=1.0).contains(&m), "in [0, 1]")?;
        let algorithm = match alg {
            "additive_step" => Algorithm::AdditiveStep,
            "multiplicative_pow" => Algorithm::MultiplicativePow(mu),
            "multiplicative_relu" => Algorithm::MultiplicativeRelu,
            _ => Algorithm::Additive,
        };
        let hardbound = k.flag("hardbound", true)?;
        let site = k.site()?;
        let dt = ctx.dt_ms;
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        let p = Params { k_pre: dt / tau_pre, k_post: dt / tau_post, a_pre, a_post, w_min, w_max, eta_plus, eta_minus, algorithm, hardbound };
        Ok(config(
            move |tb: &SynapseTable| {
                let depth = tb.max_delay as usize + 1;
                let n = tb.weight.len();
                let shared = tb.kernel_index.is_some();
                NorseStdp {
                    p,
                    site,
                    range,
                    x: TraceRing::new(n_src, depth, 0.0),
                    y: TraceRing::new(range.n, depth, 0.0),
                    plus: if shared { Vec::new() } else { vec![0.0; n] },
                    sums: shared.then(|| EntrySums::new(n)),
                    touched: Vec::new(),
                    mark: Vec::new(),
                }
            },
            true,
        )
        .in_shards()
        .kernel_in_shards()
        .into())
    }
}

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// `dt / tau_pre`.
    pub k_pre: f64,
    /// `dt / tau_post`.
    pub k_post: f64,
    /// Presynaptic trace jump factor.
    pub a_pre: f64,
    /// Postsynaptic trace jump factor.
    pub a_post: f64,
    /// Lower bound.
    pub w_min: f64,
    /// Upper bound.
    pub w_max: f64,
    /// Potentiation rate.
    pub eta_plus: f64,
    /// Depression rate.
    pub eta_minus: f64,
    /// How the rates depend on w.
    pub algorithm: Algorithm,
    /// Clip.
    pub hardbound: bool,
}

impl Params {
    /// Norse's `A_plus(w)`.
    pub fn a_plus(&self, w: f64) -> f64 {
        match self.algorithm {
            Algorithm::Additive => self.eta_plus,
            Algorithm::AdditiveStep => self.eta_plus * heaviside(self.w_max - w),
            Algorithm::MultiplicativePow(mu) => self.eta_plus * (self.w_max - w).powf(mu),
            Algorithm::MultiplicativeRelu => self.eta_plus * (self.w_max - w).max(0.0),
        }
    }
    /// Norse's `A_minus(w)`.
    pub fn a_minus(&self, w: f64) -> f64 {
        match self.algorithm {
            Algorithm::Additive => self.eta_minus,
            Algorithm::AdditiveStep => self.eta_minus * heaviside(w - self.w_min),
            Algorithm::MultiplicativePow(mu) => self.eta_minus * (w - self.w_min).powf(mu),
            Algorithm::MultiplicativeRelu => self.eta_minus * (w - self.w_min).max(0.0),
        }
    }
    fn bound(&self, w: f64) -> f64 {
        if self.hardbound { w.clamp(self.w_min, self.w_max) } else { w }
    }
}

/// Norse's heaviside: 1 where x > 0, else 0.
fn heaviside(x: f64) -> f64 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// `norse_stdp` on one projection.
#[derive(Component)]
pub struct NorseStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    /// Per synapse: z_post * x this step (no shared kernel).
    plus: Vec<f64>,
    /// Per shared kernel entry: this step's sums of z_post * x and z_pre * y, exact and
    /// over every shard.
    sums: Option<EntrySums>,
    touched: Vec<u32>,
    mark: Vec<f64>,
}

impl Checkpoint for NorseStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)
    }
}

impl PlasticityRule for NorseStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let p = self.p;
        let (a, b, range) = (s.table.src_start, s.table.src_end, self.range);
        // Norse: x = x + dt*tau_inv*(-x + a*z), in its order.
        self.x.step(s.pre_now.iter().filter(|&&i| i >= a && i < b).map(|&i| (i - a) as usize), &mut self.mark, |v, z| v + p.k_pre * (-v + p.a_pre * z));
        self.y.step(s.post_now.iter().filter_map(|&j| range.rel(j)), &mut self.mark, |v, z| v + p.k_post * (-v + p.a_post * z));
        let (t, ev) = (s.table, s.events);
        let (x, y) = (&self.x, &self.y);
        if s.step == 0 && p.hardbound {
            for w in t.weight.iter_mut() {
                *w = p.bound(*w);
            }
        }
        match t.kernel_index.take() {
            None => {
                // dw+ of the synapses a postsynaptic spike reaches, then every presynaptic
                // arrival applies w + (dw+ - dw-) with both from the old w; then the rest.
                let (plus, touched) = (&mut self.plus, &mut self.touched);
                touched.clear();
                let w = &t.weight;
                ev.post(t, |e| {
                    plus[e.k] = p.a_plus(w[e.k]) * x.lagged(e.i as usize, e.pre_lag);
                    touched.push(e.k as u32);
                });
                let mut w = std::mem::take(&mut t.weight);
                ev.pre(t, |e| {
                    let minus = p.a_minus(w[e.k]) * y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag);
                    w[e.k] = p.bound(w[e.k] + (plus[e.k] - minus));
                    plus[e.k] = 0.0;
                });
                // The synapses a postsynaptic spike reached and no presynaptic one (the
                // others now add 0).
                for &k in touched.iter() {
                    let k = k as usize;
                    w[k] = p.bound(w[k] + (plus[k] - 0.0));
                    plus[k] = 0.0;
                }
                t.weight = w;
            }
            Some(ix) => {
                let sums = self.sums.as_mut().expect("entry sums on a shared kernel");
                ev.post(t, |e| sums.add_plus(ix[e.k] as usize, x.lagged(e.i as usize, e.pre_lag)));
                ev.pre(t, |e| sums.add_minus(ix[e.k] as usize, y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag)));
                let (plus, minus) = sums.finish(s.shards);
                for ((w, pl), mi) in t.weight.iter_mut().zip(plus).zip(minus) {
                    *w = p.bound(*w + (p.a_plus(*w) * *pl - p.a_minus(*w) * *mi));
                }
                t.kernel_index = Some(ix);
            }
        }
    }
}
