#![doc = include_str!("../README.md")]

use std::sync::Arc;

use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, purpose};

pub mod conv;

/// Registers `delta`, `exp_decay_current`, `low_pass`, `alpha`, `tsodyks_markram` (SpikingFlow's
/// STPTransformer) and `gaussian_linear` as synapse models (`synapse = { model = ... }`),
/// and the connection rules `conv2d` (shared kernel) and `pool2d` (pooling windows).
pub struct SynapsePlugin;

impl Plugin for SynapsePlugin {
    fn build(&self, b: &mut SimBuilder) {
        for kind in [Kind::Delta, Kind::ExpDecay, Kind::LowPass, Kind::Alpha, Kind::Stp, Kind::GaussianLinear] {
            b.add_projection_addon(Addon(kind));
        }
        b.add_connection_rule(conv::conv2d_rule());
        b.add_connection_rule(conv::pool2d_rule());
    }
}

/// Which synapse model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Delta,
    ExpDecay,
    LowPass,
    Alpha,
    Stp,
    GaussianLinear,
}

struct Addon(Kind);

const DELTA_KEYS: &[ParamSpec] = &[ParamSpec::new("amplitude", Dim::Dimensionless, 1.0, "factor of the weight a spike adds")];
const EXP_KEYS: &[ParamSpec] = &[
    ParamSpec::required("tau", Dim::Time, "decay time constant of the current (> 0)"),
    ParamSpec::new("amplitude", Dim::Dimensionless, 1.0, "what a spike adds to the current i"),
];
const LOW_PASS_KEYS: &[ParamSpec] = &[ParamSpec::new("tau", Dim::Time, 100.0, "decay time constant (> 0)")];
const ALPHA_KEYS: &[ParamSpec] = &[ParamSpec::required("tau", Dim::Time, "time to peak of the alpha function (> 0)")];
const STP_KEYS: &[ParamSpec] = &[
    ParamSpec::new("v_base", Dim::Dimensionless, 0.5, "baseline of the facilitation variable v, in (0, 1]"),
    ParamSpec::required("tau_f", Dim::Time, "time constant of v's return to v_base (> 0)"),
    ParamSpec::required("tau_d", Dim::Time, "time constant of x's recovery to 1 (> 0)"),
    ParamSpec::optional("order", Dim::Dimensionless, "\"tsodyks_markram\" (default): recover, then facilitate v, release v*x, deplete x; \"spikingflow\": SpikingFlow's code (recovery and depletion with the old v and x in one Euler step, then release the new v*x)"),
];
const GAUSS_KEYS: &[ParamSpec] = &[ParamSpec::required("std", Dim::Dimensionless, "standard deviation of the noise added to each target every step, in the receptor's unit (>= 0)")];

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "synapse"
    }
    fn name(&self) -> &'static str {
        match self.0 {
            Kind::Delta => "delta",
            Kind::ExpDecay => "exp_decay_current",
            Kind::LowPass => "low_pass",
            Kind::Alpha => "alpha",
            Kind::Stp => "tsodyks_markram",
            Kind::GaussianLinear => "gaussian_linear",
        }
    }
    fn doc(&self) -> &'static str {
        match self.0 {
            Kind::Delta => "SpikingFlow SpikeCurrent: a spike adds amplitude * w (event-driven)",
            Kind::ExpDecay => "SpikingFlow ExpDecayCurrent: per synapse i += -i*dt/tau*(1 - s) + amplitude*s every step; the target receives w*i every step",
            Kind::LowPass => "SpikingFlow LowPassSynapse: I = I - (1 - S)*I*dt/tau + S every step; the target receives w*I",
            Kind::Alpha => "alpha-function current: after a lone spike the target receives w*(t/tau)*exp(1 - t/tau) (peak w at t = tau), exact per step",
            Kind::Stp => "the equations of SpikingFlow's STPTransformer (Tsodyks-Markram): dx/dt = (1-x)/tau_d - v*x*spike, dv/dt = (v_base-v)/tau_f + v_base*(1-v)*spike; a spike facilitates v, delivers w*v*x, then depletes x (SpikingFlow's code orders these differently: its numbers differ; README)",
            Kind::GaussianLinear => "SpikingFlow GaussianLinear: a spike adds w; every target of the selection also receives N(0, std^2) every step (y = x W^T + e)",
        }
    }
    fn keys(&self) -> &'static [ParamSpec] {
        match self.0 {
            Kind::Delta => DELTA_KEYS,
            Kind::ExpDecay => EXP_KEYS,
            Kind::LowPass => LOW_PASS_KEYS,
            Kind::Alpha => ALPHA_KEYS,
            Kind::Stp => STP_KEYS,
            Kind::GaussianLinear => GAUSS_KEYS,
        }
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<Arc<dyn AddonConfig>, ScenarioError> {
        // Reads a key (with its spec's default) and checks it.
        let mut key = |spec: &ParamSpec, dim: Dim, ok: fn(f64) -> bool, what: &str| -> Result<f64, ScenarioError> {
            match t.opt_quantity(spec.name, dim)? {
                Some((x, n)) if !ok(x) => Err(t.err(n, spec.name, format!("must be {what} (found {x})"))),
                Some((x, _)) => Ok(x),
                None => match spec.default_value() {
                    Some(d) => Ok(d),
                    None => Err(t.req(spec.name).err().expect("an absent key is an error")),
                },
            }
        };
        let pos = |x: f64| x > 0.0 && x.is_finite();
        let finite = |x: f64| x.is_finite();
        let dt = ctx.dt_ms;
        let config = match self.0 {
            Kind::Delta => Config::Delta { amplitude: key(&DELTA_KEYS[0], Dim::Dimensionless, finite, "finite")? },
            Kind::ExpDecay | Kind::LowPass => {
                let specs = if self.0 == Kind::ExpDecay { EXP_KEYS } else { LOW_PASS_KEYS };
                let tau = key(&specs[0], Dim::Time, pos, "> 0")?;
                let amplitude = if self.0 == Kind::ExpDecay { key(&EXP_KEYS[1], Dim::Dimensionless, finite, "finite")? } else { 1.0 };
                Config::ExpDecay { tau_steps: tau / dt, amplitude }
            }
            Kind::Alpha => {
                let tau = key(&ALPHA_KEYS[0], Dim::Time, pos, "> 0")?;
                let p = (-dt / tau).exp();
                Config::Alpha { p, kick: dt * std::f64::consts::E / tau * p }
            }
            Kind::Stp => {
                let v_base = key(&STP_KEYS[0], Dim::Dimensionless, |x| x > 0.0 && x <= 1.0, "in (0, 1]")?;
                let tau_f = key(&STP_KEYS[1], Dim::Time, pos, "> 0")?;
                let tau_d = key(&STP_KEYS[2], Dim::Time, pos, "> 0")?;
                let spikingflow = match t.opt_str("order")? {
                    None => false,
                    Some(("tsodyks_markram", _)) => false,
                    Some(("spikingflow", _)) => true,
                    Some((other, n)) => return Err(t.err(n, "order", format!("unknown order `{other}`; valid: tsodyks_markram, spikingflow"))),
                };
                Config::Stp { v_base, kf: dt / tau_f, kd: dt / tau_d, spikingflow }
            }
            Kind::GaussianLinear => {
                let std = key(&GAUSS_KEYS[0], ctx.receptor_dim, |x| x >= 0.0 && x.is_finite(), ">= 0")?;
                Config::Gauss { std, seed: ctx.seed, entity: ctx.entity, tgt: ctx.tgt_start..ctx.tgt_start + ctx.n_tgt }
            }
        };
        Ok(Arc::new(config))
    }
}

/// A parsed synapse model: its constants (per step of `dt`).
#[derive(Clone, Debug)]
enum Config {
    Delta { amplitude: f64 },
    /// `tau_steps = tau/dt`.
    ExpDecay { tau_steps: f64, amplitude: f64 },
    /// `p = exp(-dt/tau)`, `kick = dt*e/tau * p`.
    Alpha { p: f64, kick: f64 },
    /// `spikingflow`: SpikingFlow's code order (see `on_step`).
    Stp { v_base: f64, kf: f64, kd: f64, spikingflow: bool },
    Gauss { std: f64, seed: u64, entity: u32, tgt: std::ops::Range<usize> },
}

impl AddonConfig for Config {
    fn synapse_vars(&self) -> Vec<SynapseVarSpec> {
        match self {
            Config::Delta { .. } | Config::Gauss { .. } => Vec::new(),
            Config::ExpDecay { .. } => vec![SynapseVarSpec { name: "i", initial: 0.0, doc: "the synapse's current (times w at the target)" }],
            Config::Alpha { .. } => vec![
                SynapseVarSpec { name: "g", initial: 0.0, doc: "the alpha function's value (times w at the target)" },
                SynapseVarSpec { name: "h", initial: 0.0, doc: "its driving variable (spikes add 1)" },
            ],
            Config::Stp { v_base, .. } => vec![
                SynapseVarSpec { name: "x", initial: 1.0, doc: "available resources" },
                SynapseVarSpec { name: "v", initial: *v_base, doc: "facilitation (utilisation)" },
            ],
        }
    }
    fn dynamics(&self) -> Option<Arc<dyn SynapseDynamics>> {
        Some(Arc::new(self.clone()))
    }
    fn in_shards(&self) -> Result<(), &'static str> {
        // Each model's state is per synapse (in the table); `gaussian_linear` draws every
        // target's noise of a step from one stream, in every shard alike.
        Ok(())
    }
}

/// Calls `f(k)` for each synapse of the rows that spiked.
fn each_spiking(pre: &[u32], row_ptr: &[u64], mut f: impl FnMut(usize)) {
    for &r in pre {
        for k in row_ptr[r as usize] as usize..row_ptr[r as usize + 1] as usize {
            f(k);
        }
    }
}

impl SynapseDynamics for Config {
    fn spike_filter(&self) -> Option<SpikeFilter> {
        match *self {
            Config::ExpDecay { tau_steps, amplitude } => Some(SpikeFilter { tau_steps, amplitude }),
            _ => None,
        }
    }

    fn on_pre(&self, row: PreSpike<'_>, effect: &mut [f64]) {
        let w = &row.weight[row.synapses];
        match self {
            Config::Delta { amplitude } => {
                for (e, &w) in effect.iter_mut().zip(w) {
                    *e = w * amplitude;
                }
            }
            _ => effect.copy_from_slice(w),
        }
    }

    fn continuous(&self) -> bool {
        !matches!(self, Config::Delta { .. })
    }

    fn on_step(&self, s: SynapseStep<'_>, effect: &mut [f64], direct: &mut [f64]) {
        let SynapseStep { step, pre, row_ptr, weight, vars, .. } = s;
        match self {
            Config::Delta { .. } => {}
            &Config::ExpDecay { tau_steps, amplitude } => {
                // SpikingFlow: i += -i/tau * (1 - s) + amplitude * s: a synapse that
                // receives a spike adds `amplitude` and does not decay this step.
                let [i] = vars else { unreachable!("the core gives the one declared array") };
                each_spiking(pre, row_ptr, |k| effect[k] = i[k] + amplitude);
                for x in i.iter_mut() {
                    *x += -*x / tau_steps;
                }
                each_spiking(pre, row_ptr, |k| i[k] = effect[k]);
                for ((e, &x), &w) in effect.iter_mut().zip(i.iter()).zip(weight) {
                    *e = w * x;
                }
            }
            &Config::Alpha { p, kick } => {
                let [g, h] = vars else { unreachable!("the core gives the two declared arrays") };
                for (g, h) in g.iter_mut().zip(h.iter_mut()) {
                    *g = *g * p + *h * kick;
                    *h *= p;
                }
                each_spiking(pre, row_ptr, |k| h[k] += 1.0);
                for ((e, &g), &w) in effect.iter_mut().zip(g.iter()).zip(weight) {
                    *e = w * g;
                }
            }
            &Config::Stp { v_base, kf, kd, spikingflow: true } => {
                // SpikingFlow's STPTransformer.forward, one Euler step from the old x and v:
                //   x += (1 - x)/tau_d - v*x*s;  v += (v_base - v)/tau_f + v_base*(1 - v)*s;
                //   release v*x*s with the new values.
                // The rows of the sources that spiked are contiguous and ascending: walk the
                // table once, the spiking rows with the spike's terms.
                let [x, v] = vars else { unreachable!("the core gives the two declared arrays") };
                let mut from = 0;
                for &r in pre.iter().chain(std::iter::once(&u32::MAX)) {
                    let (a, b) = if r == u32::MAX { (x.len(), x.len()) } else { (row_ptr[r as usize] as usize, row_ptr[r as usize + 1] as usize) };
                    for k in from..a {
                        x[k] += (1.0 - x[k]) * kd;
                        v[k] += (v_base - v[k]) * kf;
                    }
                    for k in a..b {
                        let (x0, v0) = (x[k], v[k]);
                        x[k] = x0 + (1.0 - x0) * kd - v0 * x0;
                        v[k] = v0 + (v_base - v0) * kf + v_base * (1.0 - v0);
                        effect[k] = weight[k] * (v[k] * x[k]);
                    }
                    from = b;
                }
            }
            &Config::Stp { v_base, kf, kd, spikingflow: false } => {
                // Recovery (forward Euler), then the spike: facilitation, release of v*x,
                // depletion, as Tsodyks and Markram order them.
                let [x, v] = vars else { unreachable!("the core gives the two declared arrays") };
                for (x, v) in x.iter_mut().zip(v.iter_mut()) {
                    *x += (1.0 - *x) * kd;
                    *v += (v_base - *v) * kf;
                }
                each_spiking(pre, row_ptr, |k| {
                    v[k] += v_base * (1.0 - v[k]);
                    let released = v[k] * x[k];
                    x[k] -= released;
                    effect[k] = weight[k] * released;
                });
            }
            Config::Gauss { std, seed, entity, tgt } => {
                each_spiking(pre, row_ptr, |k| effect[k] = weight[k]);
                let mut r = Stream::new(*seed, *entity, purpose::NOISE, step);
                for d in &mut direct[tgt.clone()] {
                    *d = std * r.normal();
                }
            }
        }
    }
}
