//! `izhikevich`: the simple model of Izhikevich (2003), NEST `izhikevich`.

use spikeworld::prelude::*;

use crate::{I_RECEPTOR, V, V_RECEPTOR, given};

/// The named parameter sets of Izhikevich (2003), Fig. 2: `(preset, a, b, c, d)` with `a`
/// and `b` in 1/ms, `c` in mV, `d` in mV/ms.
pub const IZHIKEVICH_PRESETS: &[(&str, f64, f64, f64, f64)] = &[
    ("regular_spiking", 0.02, 0.2, -65.0, 8.0),
    ("intrinsically_bursting", 0.02, 0.2, -55.0, 4.0),
    ("chattering", 0.02, 0.2, -50.0, 2.0),
    ("fast_spiking", 0.1, 0.2, -65.0, 2.0),
    ("low_threshold_spiking", 0.02, 0.25, -65.0, 2.0),
];

/// A spike that enters as current for the step it arrives in: Izhikevich (2003)'s network
/// adds the weights of the neurons that fired to `I` (`I = I + sum(S(:, fired), 2)`), which
/// both half steps then see. A jump of `v` before the step (receptor `v`) feeds the
/// quadratic term at once: with the paper's synchronous volleys at dt = 1 ms that network
/// runs away (150-170 Hz instead of ~8 Hz).
const I_SYN_RECEPTOR: ReceptorSpec = ReceptorSpec {
    name: "i_syn",
    kind: ReceptorKind::Spike,
    dim: Dim::Current,
    doc: "a spike adds its weight (pA, as mV/ms) to the current of the step it arrives in (Izhikevich 2003's I += S)",
};

/// `izhikevich`: `dv/dt = 0.04 v² + 5 v + 140 − u + I`, `du/dt = a (b v − u)`; spike at
/// `v >= v_th`, then `v = c`, `u += d` (Izhikevich 2003; NEST `izhikevich`).
pub struct Izhikevich;

/// How [`Izhikevich`] advances one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IzhikevichMethod {
    /// Forward Euler on `(v, u)` with the old values (NEST's default
    /// `consistent_integration = true`, Brian2 `method='euler'`).
    Euler,
    /// The paper's code: two half steps for `v`, then `u` from the new `v`
    /// (NEST `consistent_integration = false`).
    HalfSteps,
}

/// Precomputed constants of [`Izhikevich`].
#[derive(Clone, Debug)]
pub struct IzhikevichCoeffs {
    /// dt, ms.
    pub dt: f64,
    /// `dt * a`.
    pub dt_a: f64,
    /// b, 1/ms.
    pub b: f64,
    /// Reset value of v, mV.
    pub c: f64,
    /// Increment of u at a spike, mV/ms.
    pub d: f64,
    /// Threshold, mV.
    pub v_th: f64,
    /// Lower bound of v, mV (none when not given).
    pub v_min: Option<f64>,
    /// Constant current, pA (= mV/ms here).
    pub i_e: f64,
    /// Integration scheme.
    pub method: IzhikevichMethod,
}

/// `(a, b, c, d)` of a population: the preset's, each replaced by the value given.
pub(crate) fn abcd(p: &Params) -> Result<[f64; 4], String> {
    let preset = p.choice("preset");
    let &(_, a, b, c, d) = IZHIKEVICH_PRESETS
        .iter()
        .find(|(n, ..)| *n == preset)
        .ok_or_else(|| format!("unknown preset `{preset}`"))?;
    Ok([given(p, "a").unwrap_or(a), given(p, "b").unwrap_or(b), given(p, "c").unwrap_or(c), given(p, "d").unwrap_or(d)])
}

impl NeuronDynamics for Izhikevich {
    const NAME: &'static str = "izhikevich";
    const DOC: &'static str = "dv/dt = 0.04 v^2 + 5 v + 140 - u + i_e + i (v in mV, t in ms, currents in pA taken as mV/ms: \
        an implicit 1 pF, as NEST's izhikevich);  du/dt = a (b v - u). Spike when v >= v_th, then v = c, u += d. \
        `preset` picks (a, b, c, d) of Izhikevich (2003); a, b, c, d given explicitly override the preset's. \
        `integration = \"euler\"` (default): forward Euler from the old (v, u), as NEST (consistent_integration) and \
        Brian2 method='euler'; `\"izhikevich_2003\"`: the paper's two half steps for v, then u from the new v. \
        A spike at `v` adds its weight (mV) to v at the start of the step (Brian2's on_pre v += w); a spike at `i_syn` \
        adds its weight (pA, as mV/ms) to the current I of the step it arrives in (the paper's I += sum(S(:, fired))).";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::optional("a", Dim::Dimensionless, "time scale of u, 1/ms (default: the preset's)"),
        ParamSpec::optional("b", Dim::Dimensionless, "sensitivity of u to v, 1/ms (default: the preset's)"),
        ParamSpec::optional("c", Dim::Voltage, "reset value of v (default: the preset's)"),
        ParamSpec::optional("d", Dim::Dimensionless, "increment of u at a spike, mV/ms (default: the preset's)"),
        ParamSpec::new("v_th", Dim::Voltage, 30.0, "spike cut-off (peak)"),
        ParamSpec::optional("v_min", Dim::Voltage, "lower bound of v (default: none)"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current (pA, enters as mV/ms)"),
    ];
    const CHOICES: &'static [ChoiceSpec] = &[
        ChoiceSpec {
            name: "preset",
            options: &["regular_spiking", "intrinsically_bursting", "chattering", "fast_spiking", "low_threshold_spiking"],
            doc: "parameter set (a, b, c, d) of Izhikevich (2003)",
        },
        ChoiceSpec {
            name: "integration",
            options: &["euler", "izhikevich_2003"],
            doc: "euler: forward Euler (NEST default, Brian2 'euler'); izhikevich_2003: the paper's two half steps for v",
        },
    ];
    const VARS: &'static [VarSpec] = &[V, VarSpec { name: "u", dim: Dim::Dimensionless, doc: "recovery variable, mV/ms" }];
    const RECEPTORS: &'static [ReceptorSpec] = &[V_RECEPTOR, I_SYN_RECEPTOR, I_RECEPTOR];
    type Coeffs = IzhikevichCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<IzhikevichCoeffs, String> {
        let [a, b, c, d] = abcd(p)?;
        if a <= 0.0 {
            return Err(format!("parameter `a` must be > 0 (found {a})"));
        }
        let v_th = p.get("v_th");
        if c >= v_th {
            return Err(format!("parameter `c` (reset, {c} mV) must be below `v_th` ({v_th} mV)"));
        }
        let v_min = given(p, "v_min");
        if let Some(m) = v_min
            && m >= v_th
        {
            return Err(format!("parameter `v_min` ({m} mV) must be below `v_th` ({v_th} mV)"));
        }
        if dt * a >= 1.0 {
            return Err(format!("forward Euler needs dt < 1/a (dt = {dt} ms, `a` = {a} /ms): use a smaller dt"));
        }
        let method = match p.choice("integration") {
            "izhikevich_2003" => IzhikevichMethod::HalfSteps,
            _ => IzhikevichMethod::Euler,
        };
        Ok(IzhikevichCoeffs { dt, dt_a: dt * a, b, c, d, v_th, v_min, i_e: p.get("i_e"), method })
    }

    /// `v = -65 mV`, `u = b v` (the paper's initial condition; NEST starts at `u = 0`).
    fn initial(p: &Params) -> Vec<f64> {
        let b = abcd(p).map_or(0.2, |x| x[1]);
        vec![-65.0, b * -65.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &IzhikevichCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone() + input[0].clone();
        let u = s[1].clone();
        let drive = input[2].clone() + input[1].clone() + c.i_e;
        let (v_new, u_new) = match c.method {
            IzhikevichMethod::Euler => {
                let du = v.clone() * c.b - u.clone();
                (v.clone() + dv(v, u.clone(), drive) * c.dt, u + du * c.dt_a)
            }
            IzhikevichMethod::HalfSteps => {
                let v2 = half_steps(v, u.clone(), drive, c.dt);
                let du = v2.clone() * c.b - u.clone();
                (v2, u + du * c.dt_a)
            }
        };
        let spike = threshold(c, &mut s[0], v_new);
        s[1] = L::select(&spike, u_new.clone() + c.d, u_new);
        spike
    }
}

/// `dv/dt = 0.04 v² + 5 v + 140 − u + I`.
#[inline(always)]
pub(crate) fn dv<L: Lanes>(v: L, u: L, drive: L) -> L {
    v.clone() * v.clone() * 0.04 + v * 5.0 + 140.0 - u + drive
}

/// The paper's two half steps of `v` (u held).
#[inline(always)]
pub(crate) fn half_steps<L: Lanes>(v: L, u: L, drive: L, dt: f64) -> L {
    let h = dt * 0.5;
    let v1 = v.clone() + dv(v, u.clone(), drive.clone()) * h;
    v1.clone() + dv(v1, u, drive) * h
}

/// `v_min`, then the threshold: returns the spike mask; `v` gets the new value, or the
/// reset value `c.c` where the neuron spiked.
#[inline(always)]
pub(crate) fn threshold<L: Lanes>(c: &IzhikevichCoeffs, v: &mut L, v_new: L) -> L::Mask {
    let v_new = match c.v_min {
        Some(m) => v_new.max_c(m),
        None => v_new,
    };
    let spike = v_new.ge(c.v_th);
    *v = L::select_const(&spike, c.c, v_new);
    spike
}
