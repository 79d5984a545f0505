//! `izhikevich` with `a`, `b`, `c`, `d` per neuron: the model an `izhikevich` population
//! runs when its `params` give a list, a distribution or a file for one of them, as
//! Izhikevich (2003)'s network spreads them. The four values are constant rows of the
//! state; the step reads them where [`Izhikevich`] reads constants, operation for
//! operation (`dt · a` as `a · dt`: the same product), so equal values give equal bits
//! (tested). Populations with one value each keep running `Izhikevich`.

use spikeworld::prelude::*;

use crate::V;
use crate::izhikevich::{Izhikevich, IzhikevichCoeffs, IzhikevichMethod, abcd, dv, half_steps};

/// `izhikevich` reading `a`, `b`, `c`, `d` per neuron.
pub struct IzhikevichEach;

/// `Izhikevich`'s parameters, `a`, `b`, `c`, `d` marked per neuron.
const PARAMS: [ParamSpec; 7] = {
    let p = Izhikevich::PARAMS;
    [p[0].per_neuron(), p[1].per_neuron(), p[2].per_neuron(), p[3].per_neuron(), p[4], p[5], p[6]]
};

impl NeuronDynamics for IzhikevichEach {
    const NAME: &'static str = Izhikevich::NAME;
    const DOC: &'static str = Izhikevich::DOC;
    const PARAMS: &'static [ParamSpec] = &PARAMS;
    const CHOICES: &'static [ChoiceSpec] = Izhikevich::CHOICES;
    const VARS: &'static [VarSpec] = &[
        V,
        VarSpec { name: "u", dim: Dim::Dimensionless, doc: "recovery variable, mV/ms" },
        VarSpec { name: "a", dim: Dim::Dimensionless, doc: "parameter a, 1/ms (constant)" },
        VarSpec { name: "b", dim: Dim::Dimensionless, doc: "parameter b, 1/ms (constant)" },
        VarSpec { name: "c", dim: Dim::Voltage, doc: "parameter c, the reset value of v (constant)" },
        VarSpec { name: "d", dim: Dim::Dimensionless, doc: "parameter d, mV/ms (constant)" },
    ];
    const CONSTANT_VARS: usize = 4;
    const RECEPTORS: &'static [ReceptorSpec] = Izhikevich::RECEPTORS;
    /// `Izhikevich`'s, of which the step uses what is per population (`dt`, `v_th`,
    /// `v_min`, `i_e`, the method).
    type Coeffs = IzhikevichCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<IzhikevichCoeffs, String> {
        Izhikevich::coeffs(p, dt)
    }

    /// `Izhikevich`'s `v`, `u = b v`, and the neuron's `a`, `b`, `c`, `d`.
    fn initial(p: &Params) -> Vec<f64> {
        let [a, b, c, d] = abcd(p).unwrap_or([f64::NAN; 4]);
        let mut v = Izhikevich::initial(p);
        v.extend([a, b, c, d]);
        v
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &IzhikevichCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone() + input[0].clone();
        let u = s[1].clone();
        let (dt_a, b, reset, d) = (s[2].clone() * c.dt, s[3].clone(), s[4].clone(), s[5].clone());
        let drive = input[2].clone() + input[1].clone() + c.i_e;
        let (v_new, u_new) = match c.method {
            IzhikevichMethod::Euler => {
                let du = v.clone() * b - u.clone();
                (v.clone() + dv(v, u.clone(), drive) * c.dt, u + du * dt_a)
            }
            IzhikevichMethod::HalfSteps => {
                let v2 = half_steps(v, u.clone(), drive, c.dt);
                let du = v2.clone() * b - u.clone();
                (v2, u + du * dt_a)
            }
        };
        let v_new = match c.v_min {
            Some(m) => v_new.max_c(m),
            None => v_new,
        };
        let spike = v_new.ge(c.v_th);
        s[0] = L::select(&spike, reset, v_new);
        s[1] = L::select(&spike, u_new.clone() + d, u_new);
        spike
    }
}
