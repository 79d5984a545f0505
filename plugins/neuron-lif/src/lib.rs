#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

mod each;
pub use each::{LifEach, LifEachCoeffs};

/// Registers `lif`, `lif_curr_exp` and `lif_cond_exp`.
pub struct LifPlugin;

impl Plugin for LifPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_neuron_model_varying::<Lif, LifEach>().add_neuron_model::<LifCurrExp>().add_neuron_model::<LifCondExp>();
    }
}

fn positive(p: &Params, names: &[&str]) -> Result<(), String> {
    for n in names {
        let v = p.get(n);
        if v <= 0.0 {
            return Err(format!("parameter `{n}` must be > 0 (found {v})"));
        }
    }
    Ok(())
}

/// The refractory counter's value at a spike: Brian2's `T = timestep(t_ref)`, at least 1.
/// It counts down by one a step: the neuron is clamped while it is above 1 (the `T − 1`
/// steps after the spike), and input at `v` is dropped while it is above 0 (one step more:
/// Brian2's `on_pre` of the last clamped step skips the neuron, and spikeworld applies a
/// step's `on_pre` in the next step).
fn ref_steps(p: &Params, dt: f64) -> Result<f64, String> {
    let t = p.get("t_ref");
    if t < 0.0 {
        return Err(format!("parameter `t_ref` must be >= 0 (found {t})"));
    }
    Ok(refractory_steps(t, dt) + 1.0)
}

/// `v` with the input due now, unless the refractory counter `r` drops it ([`ref_steps`]).
#[inline(always)]
fn jump<L: Lanes>(v: L, input: L, r: &L) -> L {
    L::select(&r.gt(0.5), v.clone(), v + input)
}

/// How `v` is reset after a spike.
#[derive(Clone, Copy, Debug)]
pub enum Reset {
    /// `v = v_reset`.
    Hard(f64),
    /// `v -= jump` with `jump = v_th - v_reset` (SpikingJelly's `v_reset=None`).
    Soft(f64),
}

/// What every LIF shares: clamp while refractory, threshold, reset, refractory counter.
/// `v_int` is the freely integrated potential; returns the spike mask.
#[inline(always)]
fn clamp_threshold_reset<L: Lanes>(state: &mut [L], v_idx: usize, r_idx: usize, v_int: L, v_th: f64, reset: Reset, ref_steps: f64) -> L::Mask {
    let r = state[r_idx].clone();
    let refractory = r.gt(1.5);
    let v = L::select(&refractory, state[v_idx].clone(), v_int);
    let crossed = v.gt(v_th);
    let spike = L::and_not(&crossed, &refractory);
    state[v_idx] = match reset {
        Reset::Hard(v_reset) => L::select_const(&spike, v_reset, v),
        Reset::Soft(jump) => L::select(&spike, v.clone() - jump, v),
    };
    let r_dec = L::select(&r.gt(0.5), r.clone() - 1.0, r);
    state[r_idx] = L::select_const(&spike, ref_steps, r_dec);
    spike
}

/// Exact propagator of a current with time constant `tau_s` onto `v` (NEST's P21):
/// `tau_s tau_m / (c_m (tau_s - tau_m)) (e^{-h/tau_s} - e^{-h/tau_m})`, written as
/// `e^{-h/tau_m} expm1(h a) / (a c_m)` with `a = 1/tau_m - 1/tau_s`, which keeps its
/// precision as `tau_s` approaches `tau_m` (the difference of exponentials loses it) and
/// tends to the limit `h e^{-h/tau_m} / c_m`.
fn p21(tau_s: f64, tau_m: f64, c_m: f64, h: f64) -> f64 {
    let a = 1.0 / tau_m - 1.0 / tau_s;
    if a == 0.0 {
        h / c_m * (-h / tau_m).exp()
    } else {
        (-h / tau_m).exp() * (h * a).exp_m1() / (a * c_m)
    }
}

const REFR: VarSpec = VarSpec { name: "refr", dim: Dim::Dimensionless, doc: "refractory counter: timestep(t_ref) at a spike, down by one a step; clamped while > 1, input at v dropped while > 0" };
const V: VarSpec = VarSpec { name: "v", dim: Dim::Voltage, doc: "membrane potential" };
const I_RECEPTOR: ReceptorSpec = ReceptorSpec { name: "i", kind: ReceptorKind::Current, dim: Dim::Current, doc: "injected current, held for the step" };

/// `lif`: leaky integrate-and-fire with delta synapses (NEST `iaf_psc_delta`,
/// SpikingJelly `LIFNode` with physical units).
pub struct Lif;

/// Precomputed constants of [`Lif`].
#[derive(Clone, Debug)]
pub struct LifCoeffs {
    e_l: f64,
    p22: f64,
    p20: f64,
    i_e: f64,
    v_th: f64,
    reset: Reset,
    ref_steps: f64,
}

impl NeuronDynamics for Lif {
    const NAME: &'static str = "lif";
    const DOC: &'static str = "dv/dt = -(v - e_l)/tau_m + (i_e + i)/c_m, integrated exactly over each step \
        (i held constant); a spike arriving at receptor `v` adds its weight (mV) to v before the step's decay, \
        as Brian2's `on_pre = 'v += w'` (discarded while refractory). \
        Spike when v > v_th; reset `hard` sets v = v_reset, `soft` subtracts v_th - v_reset.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("tau_m", Dim::Time, 10.0, "membrane time constant"),
        ParamSpec::new("c_m", Dim::Capacitance, 250.0, "membrane capacitance"),
        ParamSpec::new("e_l", Dim::Voltage, -70.0, "resting potential"),
        ParamSpec::new("v_th", Dim::Voltage, -55.0, "threshold"),
        ParamSpec::new("v_reset", Dim::Voltage, -70.0, "reset potential"),
        ParamSpec::new("t_ref", Dim::Time, 2.0, "absolute refractory period"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
    ];
    const CHOICES: &'static [ChoiceSpec] = &[ChoiceSpec { name: "reset", options: &["hard", "soft"], doc: "hard: v = v_reset; soft: v -= v_th - v_reset" }];
    const VARS: &'static [VarSpec] = &[V, REFR];
    const RECEPTORS: &'static [ReceptorSpec] = &[
        ReceptorSpec { name: "v", kind: ReceptorKind::Spike, dim: Dim::Voltage, doc: "jump of v (delta synapse)" },
        I_RECEPTOR,
    ];
    type Coeffs = LifCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<LifCoeffs, String> {
        positive(p, &["tau_m", "c_m"])?;
        let tau = p.get("tau_m");
        let p22 = (-dt / tau).exp();
        let reset = match p.choice("reset") {
            "soft" => Reset::Soft(p.get("v_th") - p.get("v_reset")),
            _ => Reset::Hard(p.get("v_reset")),
        };
        Ok(LifCoeffs {
            e_l: p.get("e_l"),
            p22,
            p20: tau / p.get("c_m") * (1.0 - p22),
            i_e: p.get("i_e"),
            v_th: p.get("v_th"),
            reset,
            ref_steps: ref_steps(p, dt)?,
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("e_l"), 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &LifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        // The jump enters before the step's decay: Brian2's `on_pre = 'v += w'` runs after
        // the update of the spike's step, and the next update decays it.
        let v = jump(s[0].clone(), input[0].clone(), &s[1]);
        let v_int = (v - c.e_l) * c.p22 + c.e_l + (input[1].clone() + c.i_e) * c.p20;
        clamp_threshold_reset(s, 0, 1, v_int, c.v_th, c.reset, c.ref_steps)
    }
}

/// `lif_curr_exp`: LIF with exponentially decaying synaptic currents, integrated
/// exactly (NEST `iaf_psc_exp`; the CUBA benchmark).
pub struct LifCurrExp;

/// Precomputed propagators of [`LifCurrExp`].
#[derive(Clone, Debug)]
pub struct LifCurrExpCoeffs {
    e_l: f64,
    p22: f64,
    p21e: f64,
    p21i: f64,
    p20: f64,
    p11e: f64,
    p11i: f64,
    i_e: f64,
    v_th: f64,
    v_reset: f64,
    ref_steps: f64,
}

impl NeuronDynamics for LifCurrExp {
    const NAME: &'static str = "lif_curr_exp";
    const DOC: &'static str = "c_m dv/dt = -(c_m/tau_m)(v - e_l) + i_ex + i_in + i_e + i;  di_x/dt = -i_x/tau_syn_x. \
        Integrated exactly (exponential propagators, NEST iaf_psc_exp / Brian2 method='exact'); a spike at `exc`/`inh` \
        adds its weight (pA) to i_ex/i_in. Spike when v > v_th, then v = v_reset.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("c_m", Dim::Capacitance, 250.0, "membrane capacitance"),
        ParamSpec::new("tau_m", Dim::Time, 10.0, "membrane time constant"),
        ParamSpec::new("e_l", Dim::Voltage, -70.0, "resting potential"),
        ParamSpec::new("v_th", Dim::Voltage, -55.0, "threshold"),
        ParamSpec::new("v_reset", Dim::Voltage, -70.0, "reset potential"),
        ParamSpec::new("t_ref", Dim::Time, 2.0, "absolute refractory period"),
        ParamSpec::new("tau_syn_ex", Dim::Time, 2.0, "excitatory current time constant"),
        ParamSpec::new("tau_syn_in", Dim::Time, 2.0, "inhibitory current time constant"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
    ];
    const VARS: &'static [VarSpec] = &[
        V,
        VarSpec { name: "i_ex", dim: Dim::Current, doc: "excitatory synaptic current" },
        VarSpec { name: "i_in", dim: Dim::Current, doc: "inhibitory synaptic current" },
        REFR,
    ];
    const RECEPTORS: &'static [ReceptorSpec] = &[
        ReceptorSpec { name: "exc", kind: ReceptorKind::Spike, dim: Dim::Current, doc: "adds to i_ex" },
        ReceptorSpec { name: "inh", kind: ReceptorKind::Spike, dim: Dim::Current, doc: "adds to i_in (use a negative weight to inhibit)" },
        I_RECEPTOR,
    ];
    type Coeffs = LifCurrExpCoeffs;

    fn coeffs(p: &Params, h: f64) -> Result<LifCurrExpCoeffs, String> {
        positive(p, &["c_m", "tau_m", "tau_syn_ex", "tau_syn_in"])?;
        let (c, tm, te, ti) = (p.get("c_m"), p.get("tau_m"), p.get("tau_syn_ex"), p.get("tau_syn_in"));
        let p22 = (-h / tm).exp();
        Ok(LifCurrExpCoeffs {
            e_l: p.get("e_l"),
            p22,
            p21e: p21(te, tm, c, h),
            p21i: p21(ti, tm, c, h),
            p20: tm / c * (1.0 - p22),
            p11e: (-h / te).exp(),
            p11i: (-h / ti).exp(),
            i_e: p.get("i_e"),
            v_th: p.get("v_th"),
            v_reset: p.get("v_reset"),
            ref_steps: ref_steps(p, h)?,
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("e_l"), 0.0, 0.0, 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &LifCurrExpCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let ie = s[1].clone() + input[0].clone();
        let ii = s[2].clone() + input[1].clone();
        let v_int = (s[0].clone() - c.e_l) * c.p22 + c.e_l + ie.clone() * c.p21e + ii.clone() * c.p21i + (input[2].clone() + c.i_e) * c.p20;
        s[1] = ie * c.p11e;
        s[2] = ii * c.p11i;
        clamp_threshold_reset(s, 0, 3, v_int, c.v_th, Reset::Hard(c.v_reset), c.ref_steps)
    }
}

/// `lif_cond_exp`: LIF with exponentially decaying conductances and reversal
/// potentials, forward Euler (the COBA benchmark of Brette et al. 2007; NEST
/// `iaf_cond_exp` integrates the same equations with an adaptive solver).
pub struct LifCondExp;

/// Precomputed constants of [`LifCondExp`].
#[derive(Clone, Debug)]
pub struct LifCondExpCoeffs {
    g_l: f64,
    e_l: f64,
    e_ex: f64,
    e_in: f64,
    dt_over_c: f64,
    decay_ex: f64,
    decay_in: f64,
    i_e: f64,
    v_th: f64,
    v_reset: f64,
    ref_steps: f64,
}

impl NeuronDynamics for LifCondExp {
    const NAME: &'static str = "lif_cond_exp";
    const DOC: &'static str = "c_m dv/dt = g_l (e_l - v) + g_ex (e_ex - v) + g_in (e_in - v) + i_e + i;  \
        dg_x/dt = -g_x/tau_syn_x. Forward Euler for v and g (Brette et al. 2007, benchmark 1; needs dt < tau_syn). \
        A spike at `exc`/`inh` adds its weight (nS) to g_ex/g_in. Spike when v > v_th, then v = v_reset. \
        Defaults are the COBA benchmark's.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("c_m", Dim::Capacitance, 200.0, "membrane capacitance"),
        ParamSpec::new("g_l", Dim::Conductance, 10.0, "leak conductance"),
        ParamSpec::new("e_l", Dim::Voltage, -60.0, "leak reversal potential"),
        ParamSpec::new("e_ex", Dim::Voltage, 0.0, "excitatory reversal potential"),
        ParamSpec::new("e_in", Dim::Voltage, -80.0, "inhibitory reversal potential"),
        ParamSpec::new("v_th", Dim::Voltage, -50.0, "threshold"),
        ParamSpec::new("v_reset", Dim::Voltage, -60.0, "reset potential"),
        ParamSpec::new("t_ref", Dim::Time, 5.0, "absolute refractory period"),
        ParamSpec::new("tau_syn_ex", Dim::Time, 5.0, "excitatory conductance time constant"),
        ParamSpec::new("tau_syn_in", Dim::Time, 10.0, "inhibitory conductance time constant"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
    ];
    const VARS: &'static [VarSpec] = &[
        V,
        VarSpec { name: "g_ex", dim: Dim::Conductance, doc: "excitatory conductance" },
        VarSpec { name: "g_in", dim: Dim::Conductance, doc: "inhibitory conductance" },
        REFR,
    ];
    const RECEPTORS: &'static [ReceptorSpec] = &[
        ReceptorSpec { name: "exc", kind: ReceptorKind::Spike, dim: Dim::Conductance, doc: "adds to g_ex" },
        ReceptorSpec { name: "inh", kind: ReceptorKind::Spike, dim: Dim::Conductance, doc: "adds to g_in" },
        I_RECEPTOR,
    ];
    type Coeffs = LifCondExpCoeffs;

    fn coeffs(p: &Params, h: f64) -> Result<LifCondExpCoeffs, String> {
        positive(p, &["c_m", "g_l", "tau_syn_ex", "tau_syn_in"])?;
        for tau in ["tau_syn_ex", "tau_syn_in"] {
            if h >= p.get(tau) {
                return Err(format!("forward Euler needs dt < {tau} (dt = {h} ms, {tau} = {} ms)", p.get(tau)));
            }
        }
        Ok(LifCondExpCoeffs {
            g_l: p.get("g_l"),
            e_l: p.get("e_l"),
            e_ex: p.get("e_ex"),
            e_in: p.get("e_in"),
            dt_over_c: h / p.get("c_m"),
            decay_ex: 1.0 - h / p.get("tau_syn_ex"),
            decay_in: 1.0 - h / p.get("tau_syn_in"),
            i_e: p.get("i_e"),
            v_th: p.get("v_th"),
            v_reset: p.get("v_reset"),
            ref_steps: ref_steps(p, h)?,
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("e_l"), 0.0, 0.0, 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &LifCondExpCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        let ge = s[1].clone() + input[0].clone();
        let gi = s[2].clone() + input[1].clone();
        let leak = (v.clone() - c.e_l) * (-c.g_l);
        // g (e - v), subtracted as g (v - e): the same bits (IEEE's `a + -b` is `a - b`,
        // and a product's sign is its factors'), two negations fewer per neuron.
        let syn_e = ge.clone() * (v.clone() - c.e_ex);
        let syn_i = gi.clone() * (v.clone() - c.e_in);
        let current = leak - syn_e - syn_i + (input[2].clone() + c.i_e);
        let v_int = v + current * c.dt_over_c;
        s[1] = ge * c.decay_ex;
        s[2] = gi * c.decay_in;
        clamp_threshold_reset(s, 0, 3, v_int, c.v_th, Reset::Hard(c.v_reset), c.ref_steps)
    }
}

#[cfg(test)]
mod tests {
    use super::p21;

    /// P21 against its series in `x = h (1/tau_m - 1/tau_s)`, `(h/c) e^{-h/tau_m} Σ x^k/(k+1)!`,
    /// near `tau_s = tau_m` (where the difference of exponentials loses digits), and against
    /// NEST's formula where the time constants are far apart.
    #[test]
    fn p21_is_exact_near_equal_time_constants() {
        let (tau_m, c, h) = (10.0, 250.0, 0.1);
        for eps in [0.0, 1e-12, 2e-9, 1e-7, 1e-5, 1e-3] {
            let tau_s = tau_m * (1.0 + eps);
            let x = h * (1.0 / tau_m - 1.0 / tau_s);
            let (mut term, mut sum) = (1.0, 1.0);
            for k in 1..12 {
                term *= x / (k + 1) as f64;
                sum += term;
            }
            let series = h / c * (-h / tau_m).exp() * sum;
            let got = p21(tau_s, tau_m, c, h);
            assert!(((got - series) / series).abs() < 1e-14, "eps {eps}: {got} vs series {series}");
        }
        for tau_s in [0.5, 2.0, 5.0, 40.0] {
            let nest = tau_s * tau_m / (c * (tau_s - tau_m)) * ((-h / tau_s).exp() - (-h / tau_m).exp());
            let got = p21(tau_s, tau_m, c, h);
            assert!(((got - nest) / nest).abs() < 1e-12, "tau_s {tau_s}: {got} vs {nest}");
        }
    }
}
