//! `aeif_cond_exp` and `aeif_curr_exp`: the adaptive exponential integrate-and-fire model
//! (Brette & Gerstner 2005) with exponential conductances or currents, NEST's names and
//! defaults, forward Euler.

use spikeworld::prelude::*;

use crate::{I_RECEPTOR, REFR, V, check_exp_overflow, clamp_threshold_reset, euler_stable, positive, ref_steps};

/// `aeif_cond_exp`: AdEx with exponentially decaying conductances (NEST `aeif_cond_exp`).
pub struct AeifCondExp;

/// `aeif_curr_exp`: AdEx with exponentially decaying currents (NEST `aeif_curr_exp`).
pub struct AeifCurrExp;

/// Precomputed constants of [`AeifCondExp`] and [`AeifCurrExp`].
#[derive(Clone, Debug)]
pub struct AeifCoeffs {
    /// Leak conductance, nS.
    pub g_l: f64,
    /// Leak reversal, mV.
    pub e_l: f64,
    /// `g_l * delta_t`, pA; 0 when `delta_t = 0` (no exponential term).
    pub g_l_delta_t: f64,
    /// Slope factor, mV.
    pub delta_t: f64,
    /// Exponential threshold, mV.
    pub v_th: f64,
    /// Bound of v in the right-hand side (NEST: `min(V, V_peak)`), mV.
    pub v_peak: f64,
    /// Spike detection: `v_peak`, or `v_th` when `delta_t = 0` (as NEST).
    pub v_spike: f64,
    /// Reset potential, mV.
    pub v_reset: f64,
    /// Subthreshold adaptation, nS.
    pub a: f64,
    /// Spike-triggered adaptation, pA.
    pub b: f64,
    /// `dt / c_m`, ms/pF.
    pub dt_over_c: f64,
    /// `dt / tau_w`.
    pub dt_over_tau_w: f64,
    /// Excitatory reversal, mV (conductance model only).
    pub e_ex: f64,
    /// Inhibitory reversal, mV (conductance model only).
    pub e_in: f64,
    /// Decay of the excitatory synaptic variable over one step, `exp(-dt/tau_syn_ex)`.
    pub p_ex: f64,
    /// Decay of the inhibitory synaptic variable over one step, `exp(-dt/tau_syn_in)`.
    pub p_in: f64,
    /// Constant external current, pA.
    pub i_e: f64,
    /// Refractory steps after the spike step.
    pub ref_steps: f64,
}

fn aeif_coeffs(p: &Params, dt: f64, cond: bool) -> Result<AeifCoeffs, String> {
    positive(p, &["c_m", "tau_w", "tau_syn_ex", "tau_syn_in"])?;
    let (g_l, delta_t, v_th, v_peak, v_reset) = (p.get("g_l"), p.get("delta_t"), p.get("v_th"), p.get("v_peak"), p.get("v_reset"));
    if g_l < 0.0 {
        return Err(format!("parameter `g_l` must be >= 0 (found {g_l})"));
    }
    if delta_t < 0.0 {
        return Err(format!("parameter `delta_t` must be >= 0 (found {delta_t})"));
    }
    if v_peak < v_th {
        return Err(format!("parameter `v_peak` ({v_peak} mV) must be >= `v_th` ({v_th} mV)"));
    }
    if v_reset >= v_peak {
        return Err(format!("parameter `v_reset` ({v_reset} mV) must be below `v_peak` ({v_peak} mV)"));
    }
    check_exp_overflow(v_peak, v_th, delta_t, "v_th")?;
    let c_m = p.get("c_m");
    euler_stable("tau_w", p.get("tau_w"), dt)?;
    if g_l > 0.0 {
        euler_stable("c_m/g_l", c_m / g_l, dt)?;
    }
    Ok(AeifCoeffs {
        g_l,
        e_l: p.get("e_l"),
        g_l_delta_t: g_l * delta_t,
        delta_t,
        v_th,
        v_peak,
        v_spike: if delta_t > 0.0 { v_peak } else { v_th },
        v_reset,
        a: p.get("a"),
        b: p.get("b"),
        dt_over_c: dt / c_m,
        dt_over_tau_w: dt / p.get("tau_w"),
        e_ex: if cond { p.get("e_ex") } else { 0.0 },
        e_in: if cond { p.get("e_in") } else { 0.0 },
        p_ex: (-dt / p.get("tau_syn_ex")).exp(),
        p_in: (-dt / p.get("tau_syn_in")).exp(),
        i_e: p.get("i_e"),
        ref_steps: ref_steps(p, dt)?,
    })
}

/// One forward-Euler step of AdEx given the synaptic current `syn` (pA, a function of
/// the bounded potential). State: `[v, w, x_ex, x_in, refr]`.
#[inline(always)]
fn aeif_step<L: Lanes>(c: &AeifCoeffs, s: &mut [L], input: &[L], syn: impl FnOnce(&L, L, L) -> L) -> L::Mask {
    let x_ex = s[2].clone() + input[0].clone();
    let x_in = s[3].clone() + input[1].clone();
    let refractory = s[4].gt(1.5);
    let w = s[1].clone();
    // NOTE: the right-hand side sees v bounded by v_peak (NEST's `min(V, V_peak)`), so the
    // exponential stays finite whatever the state (checked at set-up: (v_peak - v_th)/delta_t
    // is below log(DBL_MAX/1e20)).
    let v = s[0].clone().min_c(c.v_peak);
    let leak = (v.clone() - c.e_l) * (-c.g_l);
    let intrinsic = if c.g_l_delta_t != 0.0 { leak + ((v.clone() - c.v_th) / c.delta_t).exp() * c.g_l_delta_t } else { leak };
    let i_syn = syn(&v, x_ex.clone(), x_in.clone());
    let current = intrinsic + i_syn - w.clone() + (input[2].clone() + c.i_e);
    let v_int = s[0].clone() + current * c.dt_over_c;
    let w_new = w.clone() + ((v - c.e_l) * c.a - w) * c.dt_over_tau_w;
    s[2] = x_ex * c.p_ex;
    s[3] = x_in * c.p_in;
    let spike = clamp_threshold_reset(s, 0, 4, &refractory, v_int, c.v_spike, c.v_reset, c.ref_steps);
    s[1] = L::select(&spike, w_new.clone() + c.b, w_new);
    spike
}

macro_rules! aeif_params {
    ($($extra:expr),* $(,)?) => {
        &[
            ParamSpec::new("c_m", Dim::Capacitance, 281.0, "membrane capacitance"),
            ParamSpec::new("g_l", Dim::Conductance, 30.0, "leak conductance"),
            ParamSpec::new("e_l", Dim::Voltage, -70.6, "leak reversal potential"),
            ParamSpec::new("v_th", Dim::Voltage, -50.4, "spike initiation threshold (exponential term)"),
            ParamSpec::new("delta_t", Dim::Voltage, 2.0, "slope factor (0: integrate-and-fire, threshold v_th)"),
            ParamSpec::new("v_peak", Dim::Voltage, 0.0, "spike detection threshold"),
            ParamSpec::new("v_reset", Dim::Voltage, -60.0, "reset potential"),
            ParamSpec::new("t_ref", Dim::Time, 0.0, "absolute refractory period"),
            ParamSpec::new("a", Dim::Conductance, 4.0, "subthreshold adaptation"),
            ParamSpec::new("b", Dim::Current, 80.5, "spike-triggered adaptation"),
            ParamSpec::new("tau_w", Dim::Time, 144.0, "adaptation time constant"),
            $($extra,)*
            ParamSpec::new("tau_syn_ex", Dim::Time, 0.2, "excitatory synaptic time constant"),
            ParamSpec::new("tau_syn_in", Dim::Time, 2.0, "inhibitory synaptic time constant"),
            ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
        ]
    };
}

const W: VarSpec = VarSpec { name: "w", dim: Dim::Current, doc: "adaptation current" };

impl NeuronDynamics for AeifCondExp {
    const NAME: &'static str = "aeif_cond_exp";
    const DOC: &'static str = "c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_th)/delta_t) - g_ex (v - e_ex) - g_in (v - e_in) - w + i_e + i;  \
        tau_w dw/dt = a (v - e_l) - w;  dg_x/dt = -g_x/tau_syn_x. Spike when v >= v_peak: v = v_reset, w += b, \
        clamped for t_ref. Brette & Gerstner (2005), NEST aeif_cond_exp names and defaults. Forward Euler for v and w \
        (NEST: adaptive RKF45), exact decay of g; the right-hand side sees min(v, v_peak) as NEST, so exp cannot \
        overflow. A spike at `exc`/`inh` adds its weight (nS) to g_ex/g_in.";
    const PARAMS: &'static [ParamSpec] = aeif_params![
        ParamSpec::new("e_ex", Dim::Voltage, 0.0, "excitatory reversal potential"),
        ParamSpec::new("e_in", Dim::Voltage, -85.0, "inhibitory reversal potential"),
    ];
    const VARS: &'static [VarSpec] = &[
        V,
        W,
        VarSpec { name: "g_ex", dim: Dim::Conductance, doc: "excitatory conductance" },
        VarSpec { name: "g_in", dim: Dim::Conductance, doc: "inhibitory conductance" },
        REFR,
    ];
    const RECEPTORS: &'static [ReceptorSpec] = &[
        ReceptorSpec { name: "exc", kind: ReceptorKind::Spike, dim: Dim::Conductance, doc: "adds to g_ex" },
        ReceptorSpec { name: "inh", kind: ReceptorKind::Spike, dim: Dim::Conductance, doc: "adds to g_in" },
        I_RECEPTOR,
    ];
    type Coeffs = AeifCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<AeifCoeffs, String> {
        aeif_coeffs(p, dt, true)
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("e_l"), 0.0, 0.0, 0.0, 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &AeifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        aeif_step(c, s, input, |v, g_ex, g_in| g_ex * -(v.clone() - c.e_ex) + g_in * -(v.clone() - c.e_in))
    }
}

impl NeuronDynamics for AeifCurrExp {
    const NAME: &'static str = "aeif_curr_exp";
    const DOC: &'static str = "c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_th)/delta_t) + i_ex + i_in - w + i_e + i;  \
        tau_w dw/dt = a (v - e_l) - w;  di_x/dt = -i_x/tau_syn_x. Spike when v >= v_peak: v = v_reset, w += b, \
        clamped for t_ref. Brette & Gerstner (2005), NEST aeif_psc_exp names and defaults. Forward Euler for v and w \
        (NEST: adaptive RKF45), exact decay of the currents; the right-hand side sees min(v, v_peak). A spike at \
        `exc`/`inh` adds its weight (pA) to i_ex/i_in (inhibition: negative weights at `inh`).";
    const PARAMS: &'static [ParamSpec] = aeif_params![];
    const VARS: &'static [VarSpec] = &[
        V,
        W,
        VarSpec { name: "i_ex", dim: Dim::Current, doc: "excitatory synaptic current" },
        VarSpec { name: "i_in", dim: Dim::Current, doc: "inhibitory synaptic current" },
        REFR,
    ];
    const RECEPTORS: &'static [ReceptorSpec] = &[
        ReceptorSpec { name: "exc", kind: ReceptorKind::Spike, dim: Dim::Current, doc: "adds to i_ex" },
        ReceptorSpec { name: "inh", kind: ReceptorKind::Spike, dim: Dim::Current, doc: "adds to i_in (use a negative weight to inhibit)" },
        I_RECEPTOR,
    ];
    type Coeffs = AeifCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<AeifCoeffs, String> {
        aeif_coeffs(p, dt, false)
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("e_l"), 0.0, 0.0, 0.0, 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &AeifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        aeif_step(c, s, input, |_, i_ex, i_in| i_ex + i_in)
    }
}
