//! `lif` with per-neuron parameters: the model a `lif` population runs when its `params`
//! give a list, a distribution or a file for one of them (Brian2's `tau : second` per
//! neuron, NEST's `nest.random` values in `Create`). Each neuron's propagators are constant
//! rows of the state, computed once from its own parameters; the step reads them where
//! [`Lif`](crate::Lif) reads constants, operation for operation, so equal values give
//! equal bits (tested). Populations with one value per parameter keep running `Lif`.

use spikeworld::prelude::*;

use crate::{Lif, REFR, V, ref_steps};

/// `lif` reading `tau_m`, `c_m`, `e_l`, `v_th`, `v_reset`, `t_ref` and `i_e` per neuron.
pub struct LifEach;

/// Per population: only the kind of reset (the rest is per neuron).
#[derive(Clone, Debug)]
pub struct LifEachCoeffs {
    soft: bool,
}

/// `Lif`'s parameters, each marked per neuron.
const PARAMS: [ParamSpec; 7] = {
    let p = Lif::PARAMS;
    [p[0].per_neuron(), p[1].per_neuron(), p[2].per_neuron(), p[3].per_neuron(), p[4].per_neuron(), p[5].per_neuron(), p[6].per_neuron()]
};

const fn row(name: &'static str, dim: Dim, doc: &'static str) -> VarSpec {
    VarSpec { name, dim, doc }
}

impl NeuronDynamics for LifEach {
    const NAME: &'static str = Lif::NAME;
    const DOC: &'static str = Lif::DOC;
    const PARAMS: &'static [ParamSpec] = &PARAMS;
    const CHOICES: &'static [ChoiceSpec] = Lif::CHOICES;
    const VARS: &'static [VarSpec] = &[
        V,
        REFR,
        row("e_l", Dim::Voltage, "resting potential (constant)"),
        row("decay_m", Dim::Dimensionless, "e^(-dt/tau_m), the step's decay of v (constant)"),
        row("gain_m", Dim::Dimensionless, "tau_m/c_m (1 - decay_m), mV per pA held over the step (constant)"),
        row("i_e", Dim::Current, "constant external current (constant)"),
        row("v_th", Dim::Voltage, "threshold (constant)"),
        row("v_reset", Dim::Voltage, "reset potential (constant)"),
        row("refr_steps", Dim::Dimensionless, "the refractory counter at a spike: timestep(t_ref), at least 1 (constant)"),
    ];
    const CONSTANT_VARS: usize = 7;
    const RECEPTORS: &'static [ReceptorSpec] = Lif::RECEPTORS;
    type Coeffs = LifEachCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<LifEachCoeffs, String> {
        // The checks of `Lif`, for this neuron's values.
        Lif::coeffs(p, dt)?;
        Ok(LifEachCoeffs { soft: p.choice("reset") == "soft" })
    }

    fn initial(p: &Params) -> Vec<f64> {
        let mut v = Lif::initial(p);
        v.resize(Self::VARS.len(), f64::NAN);
        v
    }

    /// `Lif`'s coefficients, computed alike.
    fn constants(p: &Params, dt: f64) -> Vec<f64> {
        let tau = p.get("tau_m");
        let p22 = (-dt / tau).exp();
        vec![p.get("e_l"), p22, tau / p.get("c_m") * (1.0 - p22), p.get("i_e"), p.get("v_th"), p.get("v_reset"), ref_steps(p, dt).unwrap_or(f64::NAN)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &LifEachCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let (e_l, p22, p20, i_e) = (s[2].clone(), s[3].clone(), s[4].clone(), s[5].clone());
        let (v_th, v_reset, refr_steps) = (s[6].clone(), s[7].clone(), s[8].clone());
        let v = crate::jump(s[0].clone(), input[0].clone(), &s[1]);
        let v_int = (v - e_l.clone()) * p22 + e_l + (input[1].clone() + i_e) * p20;
        // `Lif`'s clamp, threshold and reset, with the neuron's own values.
        let r = s[1].clone();
        let refractory = r.gt(1.5);
        let v = L::select(&refractory, s[0].clone(), v_int);
        let crossed = v.gt_lanes(&v_th);
        let spike = L::and_not(&crossed, &refractory);
        s[0] = if c.soft { L::select(&spike, v.clone() - (v_th - v_reset), v) } else { L::select(&spike, v_reset, v) };
        let r_dec = L::select(&r.gt(0.5), r.clone() - 1.0, r);
        s[1] = L::select(&spike, refr_steps, r_dec);
        spike
    }
}
