#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

mod aeif;
mod eif;
mod izhikevich;
mod izhikevich_each;

pub use aeif::{AeifCondExp, AeifCoeffs, AeifCurrExp};
pub use eif::{Eif, EifCoeffs, Qif, QifCoeffs};
pub use izhikevich::{IZHIKEVICH_PRESETS, Izhikevich, IzhikevichCoeffs};
pub use izhikevich_each::IzhikevichEach;

/// The crate's public items in one import.
pub mod prelude {
    pub use crate::{AeifCondExp, AeifCurrExp, Eif, Izhikevich, PhysicalPlugin, Qif};
}

/// Registers `izhikevich`, `aeif_cond_exp`, `aeif_curr_exp`, `eif` and `qif`.
pub struct PhysicalPlugin;

impl Plugin for PhysicalPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_neuron_model_varying::<Izhikevich, IzhikevichEach>()
            .add_neuron_model::<AeifCondExp>()
            .add_neuron_model::<AeifCurrExp>()
            .add_neuron_model::<Eif>()
            .add_neuron_model::<Qif>();
    }
}

/// An optional parameter's value, `None` when the scenario left it out.
///
/// NOTE: the core reads an absent optional parameter (declared with
/// [`ParamSpec::optional`]) as NaN, and refuses NaN written in a scenario (values must be
/// finite), so NaN here means "not given" and nothing else.
fn given(p: &Params, name: &str) -> Option<f64> {
    let v = p.get(name);
    (!v.is_nan()).then_some(v)
}

/// Errors unless every named parameter is > 0.
fn positive(p: &Params, names: &[&str]) -> Result<(), String> {
    for n in names {
        let v = p.get(n);
        if v.is_nan() || v <= 0.0 {
            return Err(format!("parameter `{n}` must be > 0 (found {v})"));
        }
    }
    Ok(())
}

/// Forward Euler is only stable (and monotone) for a linear decay with time constant
/// `tau` when `dt < tau`: refuse larger steps with a message naming the constant.
fn euler_stable(name: &str, tau: f64, dt: f64) -> Result<(), String> {
    if dt >= tau {
        return Err(format!("forward Euler needs dt < {name} (dt = {dt} ms, {name} = {tau} ms): use a smaller dt"));
    }
    Ok(())
}

/// The refractory counter's value at a spike: Brian2's `T = timestep(t_ref)`
/// ([`refractory_steps`] + 1), at least 1; clamped while above 1, input at `v` dropped
/// while above 0 (as `lif`: Brian2's `on_pre` skips a refractory neuron).
fn ref_steps(p: &Params, dt: f64) -> Result<f64, String> {
    let t = p.get("t_ref");
    if t < 0.0 {
        return Err(format!("parameter `t_ref` must be >= 0 (found {t})"));
    }
    Ok(refractory_steps(t, dt) + 1.0)
}

/// Largest argument the exponential term may receive: NEST's check in `aeif_cond_exp`
/// (`log(DBL_MAX / 1e20)`, a 1e20 margin for the arithmetic that follows).
fn max_exp_arg() -> f64 {
    (f64::MAX / 1e20).ln()
}

/// Errors unless `(v_peak - v_t)/delta_t` stays below [`max_exp_arg`], so that the
/// exponential term evaluated at `min(v, v_peak)` is finite.
fn check_exp_overflow(v_peak: f64, v_t: f64, delta_t: f64, v_t_name: &str) -> Result<(), String> {
    if delta_t > 0.0 && (v_peak - v_t) / delta_t >= max_exp_arg() {
        return Err(format!(
            "(v_peak - {v_t_name})/delta_t = {} would overflow exp at the spike (at most {:.1}): increase `delta_t` or lower `v_peak`",
            (v_peak - v_t) / delta_t,
            max_exp_arg()
        ));
    }
    Ok(())
}

/// Refractory clamp, threshold `v >= v_peak`, reset and refractory counter, shared by the
/// integrate-and-fire models here. `v_int` is the freely integrated potential; while
/// refractory `v` keeps its value (`v_reset`). Returns the spike mask.
#[expect(clippy::too_many_arguments, reason = "one call per model, each argument a plain value of the step")]
#[inline(always)]
fn clamp_threshold_reset<L: Lanes>(state: &mut [L], v_idx: usize, r_idx: usize, refractory: &L::Mask, v_int: L, v_peak: f64, v_reset: f64, ref_steps: f64) -> L::Mask {
    let r = state[r_idx].clone();
    let v = L::select(refractory, state[v_idx].clone(), v_int);
    let crossed = v.ge(v_peak);
    let spike = L::and_not(&crossed, refractory);
    state[v_idx] = L::select_const(&spike, v_reset, v);
    let r_dec = L::select(&r.gt(0.5), r.clone() - 1.0, r);
    state[r_idx] = L::select_const(&spike, ref_steps, r_dec);
    spike
}

const REFR: VarSpec = VarSpec { name: "refr", dim: Dim::Dimensionless, doc: "refractory counter: timestep(t_ref) at a spike, down by one a step; clamped while > 1, input at v dropped while > 0" };
const V: VarSpec = VarSpec { name: "v", dim: Dim::Voltage, doc: "membrane potential" };
const I_RECEPTOR: ReceptorSpec = ReceptorSpec { name: "i", kind: ReceptorKind::Current, dim: Dim::Current, doc: "injected current, held for the step" };
const V_RECEPTOR: ReceptorSpec = ReceptorSpec {
    name: "v",
    kind: ReceptorKind::Spike,
    dim: Dim::Voltage,
    doc: "jump of v at the start of the step (Brian2 `on_pre='v += w'`)",
};
