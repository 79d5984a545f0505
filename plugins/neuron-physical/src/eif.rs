//! `eif` and `qif`: one-variable integrate-and-fire models with a spike-generating
//! nonlinearity, in physical units, forward Euler (as Brian2 users write them).

use spikeworld::prelude::*;

use crate::{I_RECEPTOR, REFR, V, V_RECEPTOR, check_exp_overflow, clamp_threshold_reset, euler_stable, positive, ref_steps};

/// `eif`: exponential integrate-and-fire (Fourcaud-Trocmé et al. 2003).
pub struct Eif;

/// Precomputed constants of [`Eif`].
#[derive(Clone, Debug)]
pub struct EifCoeffs {
    /// Leak conductance, nS.
    pub g_l: f64,
    /// Resting potential, mV.
    pub e_l: f64,
    /// `g_l * delta_t`, pA.
    pub g_l_delta_t: f64,
    /// Slope factor, mV.
    pub delta_t: f64,
    /// Threshold of the exponential term, mV.
    pub v_t: f64,
    /// Spike cut-off, mV (also the bound of v in the right-hand side).
    pub v_peak: f64,
    /// Reset, mV.
    pub v_reset: f64,
    /// `dt / c_m`.
    pub dt_over_c: f64,
    /// Constant current, pA.
    pub i_e: f64,
    /// Refractory steps after the spike step.
    pub ref_steps: f64,
}

fn peak_reset(p: &Params, threshold: &str) -> Result<(f64, f64), String> {
    let (v_t, v_peak, v_reset) = (p.get(threshold), p.get("v_peak"), p.get("v_reset"));
    if v_peak <= v_t {
        return Err(format!("parameter `v_peak` ({v_peak} mV) must be above `{threshold}` ({v_t} mV)"));
    }
    if v_reset >= v_peak {
        return Err(format!("parameter `v_reset` ({v_reset} mV) must be below `v_peak` ({v_peak} mV)"));
    }
    Ok((v_peak, v_reset))
}

impl NeuronDynamics for Eif {
    const NAME: &'static str = "eif";
    const DOC: &'static str = "c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_t)/delta_t) + i_e + i \
        (Fourcaud-Trocmé et al. 2003; Brian's exp_IF). Forward Euler; the right-hand side sees min(v, v_peak) so exp \
        cannot overflow. Spike when v >= v_peak, then v = v_reset, clamped for t_ref. A spike at `v` adds its weight \
        (mV) to v at the start of the step (discarded while refractory). Defaults: Brian's exp_IF library model.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("c_m", Dim::Capacitance, 1000.0, "membrane capacitance"),
        ParamSpec::new("g_l", Dim::Conductance, 30.0, "leak conductance"),
        ParamSpec::new("e_l", Dim::Voltage, -70.0, "resting potential"),
        ParamSpec::new("v_t", Dim::Voltage, -50.0, "threshold of the exponential term"),
        ParamSpec::new("delta_t", Dim::Voltage, 2.0, "slope factor"),
        ParamSpec::new("v_peak", Dim::Voltage, -20.0, "spike cut-off"),
        ParamSpec::new("v_reset", Dim::Voltage, -70.0, "reset potential"),
        ParamSpec::new("t_ref", Dim::Time, 0.0, "absolute refractory period"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
    ];
    const VARS: &'static [VarSpec] = &[V, REFR];
    const RECEPTORS: &'static [ReceptorSpec] = &[V_RECEPTOR, I_RECEPTOR];
    type Coeffs = EifCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<EifCoeffs, String> {
        positive(p, &["c_m", "g_l", "delta_t"])?;
        let (v_peak, v_reset) = peak_reset(p, "v_t")?;
        let (c_m, g_l, delta_t, v_t) = (p.get("c_m"), p.get("g_l"), p.get("delta_t"), p.get("v_t"));
        check_exp_overflow(v_peak, v_t, delta_t, "v_t")?;
        euler_stable("c_m/g_l", c_m / g_l, dt)?;
        Ok(EifCoeffs {
            g_l,
            e_l: p.get("e_l"),
            g_l_delta_t: g_l * delta_t,
            delta_t,
            v_t,
            v_peak,
            v_reset,
            dt_over_c: dt / c_m,
            i_e: p.get("i_e"),
            ref_steps: ref_steps(p, dt)?,
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("e_l"), 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &EifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let refractory = s[1].gt(1.5);
        // Input at `v` dropped while the counter is above 0 (`lif`'s rule, Brian2's).
        let v0 = L::select(&s[1].gt(0.5), s[0].clone(), s[0].clone() + input[0].clone());
        let v = v0.clone().min_c(c.v_peak);
        let current = (v.clone() - c.e_l) * (-c.g_l) + ((v - c.v_t) / c.delta_t).exp() * c.g_l_delta_t + (input[1].clone() + c.i_e);
        let v_int = v0 + current * c.dt_over_c;
        clamp_threshold_reset(s, 0, 1, &refractory, v_int, c.v_peak, c.v_reset, c.ref_steps)
    }
}

/// `qif`: quadratic integrate-and-fire in physical units (Latham et al. 2000; Brian's
/// quadratic_IF).
pub struct Qif;

/// Precomputed constants of [`Qif`].
#[derive(Clone, Debug)]
pub struct QifCoeffs {
    /// Curvature, nS/mV.
    pub a0: f64,
    /// Resting potential, mV.
    pub v_rest: f64,
    /// Critical potential, mV.
    pub v_c: f64,
    /// Spike cut-off, mV.
    pub v_peak: f64,
    /// Reset, mV.
    pub v_reset: f64,
    /// `dt / c_m`.
    pub dt_over_c: f64,
    /// Constant current, pA.
    pub i_e: f64,
    /// Refractory steps after the spike step.
    pub ref_steps: f64,
}

impl NeuronDynamics for Qif {
    const NAME: &'static str = "qif";
    const DOC: &'static str = "c_m dv/dt = a0 (v - v_rest)(v - v_c) + i_e + i (Latham et al. 2000; Brian's quadratic_IF), \
        forward Euler. Spike when v >= v_peak, then v = v_reset, clamped for t_ref. A spike at `v` adds its weight (mV) \
        to v at the start of the step (discarded while refractory). Defaults: Brian's quadratic_IF library model.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("c_m", Dim::Capacitance, 1000.0, "membrane capacitance"),
        ParamSpec::new("a0", Dim::Dimensionless, 5.0, "curvature, nS/mV"),
        ParamSpec::new("v_rest", Dim::Voltage, -70.0, "resting potential (stable fixed point)"),
        ParamSpec::new("v_c", Dim::Voltage, -50.0, "critical potential (unstable fixed point)"),
        ParamSpec::new("v_peak", Dim::Voltage, -20.0, "spike cut-off"),
        ParamSpec::new("v_reset", Dim::Voltage, -70.0, "reset potential"),
        ParamSpec::new("t_ref", Dim::Time, 0.0, "absolute refractory period"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
    ];
    const VARS: &'static [VarSpec] = &[V, REFR];
    const RECEPTORS: &'static [ReceptorSpec] = &[V_RECEPTOR, I_RECEPTOR];
    type Coeffs = QifCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<QifCoeffs, String> {
        positive(p, &["c_m", "a0"])?;
        let (v_peak, v_reset) = peak_reset(p, "v_c")?;
        let (c_m, a0, v_rest, v_c) = (p.get("c_m"), p.get("a0"), p.get("v_rest"), p.get("v_c"));
        if v_rest >= v_c {
            return Err(format!("parameter `v_rest` ({v_rest} mV) must be below `v_c` ({v_c} mV)"));
        }
        // Near rest the equation is a leak with conductance a0 (v_c - v_rest).
        euler_stable("c_m/(a0 (v_c - v_rest))", c_m / (a0 * (v_c - v_rest)), dt)?;
        Ok(QifCoeffs { a0, v_rest, v_c, v_peak, v_reset, dt_over_c: dt / c_m, i_e: p.get("i_e"), ref_steps: ref_steps(p, dt)? })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("v_rest"), 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &QifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let refractory = s[1].gt(1.5);
        let v = L::select(&s[1].gt(0.5), s[0].clone(), s[0].clone() + input[0].clone());
        let current = (v.clone() - c.v_rest) * (v.clone() - c.v_c) * c.a0 + (input[1].clone() + c.i_e);
        let v_int = v + current * c.dt_over_c;
        clamp_threshold_reset(s, 0, 1, &refractory, v_int, c.v_peak, c.v_reset, c.ref_steps)
    }
}
