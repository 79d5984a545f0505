//! SpikingJelly's nonlinear integrate-and-fire family: `sj_qif`, `sj_eif`, `sj_izhikevich`.

use spikeworld::prelude::*;

use crate::{RESET_CHOICE, SJ_RECEPTORS, SjReset, TAU, V, V_RESET, V_THRESHOLD, check_rest_order, fire_and_reset, greater_than, input_x};

/// `sj_qif`: SpikingJelly's `QIFNode`.
pub struct SjQif;

/// Constants of [`SjQif`].
#[derive(Clone, Debug)]
pub struct SjQifCoeffs {
    tau: f64,
    v_c: f64,
    a0: f64,
    v_rest: f64,
    v_th: f64,
    reset: SjReset,
}

impl NeuronDynamics for SjQif {
    const NAME: &'static str = "sj_qif";
    const DOC: &'static str = "SpikingJelly QIFNode (dimensionless, one step per dt): \
        H[t] = V[t-1] + (X[t] + a0 (V[t-1] - v_rest)(V[t-1] - v_c))/tau; S = (H >= v_threshold); \
        hard reset V = v_reset, soft V = H - v_threshold. Requires tau > 1, a0 > 0 and, with a hard reset, \
        v_threshold > v_reset and v_rest >= v_reset (SpikingJelly's assertions).";
    const PARAMS: &'static [ParamSpec] = &[
        TAU,
        ParamSpec::new("v_c", Dim::Dimensionless, 0.8, "critical voltage v_c"),
        ParamSpec::new("a0", Dim::Dimensionless, 1.0, "sharpness a0 of the quadratic (> 0)"),
        V_THRESHOLD,
        ParamSpec::new("v_rest", Dim::Dimensionless, 0.0, "resting potential"),
        ParamSpec::new("v_reset", Dim::Dimensionless, -0.1, "reset potential (hard reset); also the initial V"),
    ];
    const CHOICES: &'static [ChoiceSpec] = &[RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjQifCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjQifCoeffs, String> {
        let tau = greater_than(p, "tau", 1.0, " (SpikingJelly's QIFNode asserts tau > 1)")?;
        let a0 = greater_than(p, "a0", 0.0, "")?;
        let reset = SjReset::from_params(p);
        check_rest_order(p, reset)?;
        Ok(SjQifCoeffs { tau, v_c: p.get("v_c"), a0, v_rest: p.get("v_rest"), v_th: p.get("v_threshold"), reset })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjQifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        // SpikingJelly: `v + (x + a0 * (v - v_rest) * (v - v_c)) / tau` (products left to right).
        let quad = (v.clone() - c.v_rest) * c.a0 * (v.clone() - c.v_c);
        let h = v + (input_x(input) + quad) / c.tau;
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        spike
    }
}

/// `sj_eif`: SpikingJelly's `EIFNode`.
pub struct SjEif;

/// Constants of [`SjEif`].
#[derive(Clone, Debug)]
pub struct SjEifCoeffs {
    tau: f64,
    delta_t: f64,
    theta_rh: f64,
    v_rest: f64,
    v_th: f64,
    reset: SjReset,
}

impl NeuronDynamics for SjEif {
    const NAME: &'static str = "sj_eif";
    const DOC: &'static str = "SpikingJelly EIFNode (dimensionless, one step per dt): \
        H[t] = V[t-1] + (X[t] - (V[t-1] - v_rest) + delta_T exp((V[t-1] - theta_rh)/delta_T))/tau; \
        S = (H >= v_threshold); hard reset V = v_reset, soft V = H - v_threshold. Requires tau > 1, delta_T > 0 and, \
        with a hard reset, v_threshold > v_reset and v_rest >= v_reset (SpikingJelly's assertions).";
    const PARAMS: &'static [ParamSpec] = &[
        TAU,
        ParamSpec::new("delta_t", Dim::Dimensionless, 1.0, "sharpness delta_T of the exponential (> 0)"),
        ParamSpec::new("theta_rh", Dim::Dimensionless, 0.8, "rheobase threshold theta_rh"),
        V_THRESHOLD,
        ParamSpec::new("v_rest", Dim::Dimensionless, 0.0, "resting potential"),
        ParamSpec::new("v_reset", Dim::Dimensionless, -0.1, "reset potential (hard reset); also the initial V"),
    ];
    const CHOICES: &'static [ChoiceSpec] = &[RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjEifCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjEifCoeffs, String> {
        let tau = greater_than(p, "tau", 1.0, " (SpikingJelly's EIFNode asserts tau > 1)")?;
        let delta_t = greater_than(p, "delta_t", 0.0, "")?;
        let reset = SjReset::from_params(p);
        check_rest_order(p, reset)?;
        Ok(SjEifCoeffs { tau, delta_t, theta_rh: p.get("theta_rh"), v_rest: p.get("v_rest"), v_th: p.get("v_threshold"), reset })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjEifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        // SpikingJelly: `v + (x + v_rest - v + delta_T * exp((v - theta_rh) / delta_T)) / tau`.
        let spike_current = ((v.clone() - c.theta_rh) / c.delta_t).exp() * c.delta_t;
        let h = v.clone() + (input_x(input) + c.v_rest - v + spike_current) / c.tau;
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        spike
    }
}

/// `sj_izhikevich`: SpikingJelly's `IzhikevichNode` (an `AdaptBaseNode`).
pub struct SjIzhikevich;

/// Constants of [`SjIzhikevich`].
#[derive(Clone, Debug)]
pub struct SjIzhikevichCoeffs {
    tau: f64,
    v_c: f64,
    a0: f64,
    v_rest: f64,
    /// `1/τ_w` (SpikingJelly's `w + 1. / tau_w * (...)`).
    inv_tau_w: f64,
    a: f64,
    b: f64,
    v_th: f64,
    reset: SjReset,
}

impl NeuronDynamics for SjIzhikevich {
    const NAME: &'static str = "sj_izhikevich";
    const DOC: &'static str = "SpikingJelly IzhikevichNode (dimensionless, one step per dt): \
        H[t] = V[t-1] + (X[t] + a0 (V[t-1] - v_rest)(V[t-1] - v_c) - W[t-1])/tau; \
        W' = W[t-1] + (a (H[t] - v_rest) - W[t-1])/tau_w; S = (H >= v_threshold); \
        hard reset V = v_reset, soft V = H - v_threshold; W[t] = W' + b S. Requires tau > 1, a0 > 0, tau_w > 0.";
    const PARAMS: &'static [ParamSpec] = &[
        TAU,
        ParamSpec::new("v_c", Dim::Dimensionless, 0.8, "critical voltage v_c"),
        ParamSpec::new("a0", Dim::Dimensionless, 1.0, "sharpness a0 of the quadratic (> 0)"),
        V_THRESHOLD,
        V_RESET,
        ParamSpec::new("v_rest", Dim::Dimensionless, -0.1, "resting potential"),
        ParamSpec::new("w_rest", Dim::Dimensionless, 0.0, "initial adaptation W"),
        ParamSpec::new("tau_w", Dim::Dimensionless, 2.0, "adaptation time constant, in steps (> 0)"),
        ParamSpec::new("a", Dim::Dimensionless, 0.0, "subthreshold coupling a of W to V"),
        ParamSpec::new("b", Dim::Dimensionless, 0.0, "jump b of W at each spike"),
    ];
    const CHOICES: &'static [ChoiceSpec] = &[RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V, VarSpec { name: "w", dim: Dim::Dimensionless, doc: "adaptation W" }];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjIzhikevichCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjIzhikevichCoeffs, String> {
        let tau = greater_than(p, "tau", 1.0, " (SpikingJelly's IzhikevichNode asserts tau > 1)")?;
        let a0 = greater_than(p, "a0", 0.0, "")?;
        let tau_w = greater_than(p, "tau_w", 0.0, "")?;
        Ok(SjIzhikevichCoeffs {
            tau,
            v_c: p.get("v_c"),
            a0,
            v_rest: p.get("v_rest"),
            inv_tau_w: 1.0 / tau_w,
            a: p.get("a"),
            b: p.get("b"),
            v_th: p.get("v_threshold"),
            reset: SjReset::from_params(p),
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p), p.get("w_rest")]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjIzhikevichCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let (v, w) = (s[0].clone(), s[1].clone());
        let quad = (v.clone() - c.v_rest) * c.a0 * (v.clone() - c.v_c);
        let h = v + (input_x(input) + quad - w.clone()) / c.tau;
        // NOTE: SpikingJelly adapts W from the charged H, before firing and reset.
        let w = w.clone() + ((h.clone() - c.v_rest) * c.a - w) * c.inv_tau_w;
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        s[1] = L::select(&spike, w.clone() + c.b, w);
        spike
    }
}
