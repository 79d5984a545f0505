//! SpikingFlow's clock-driven convention (`SpikingFlow.neuron.IFNode` / `LIFNode`):
//! `sf_if`, `sf_lif`.

use spikeworld::prelude::*;

use crate::{check, greater_than, input_x};

const SF_PARAMS_COMMON: [ParamSpec; 3] = [
    ParamSpec::new("r", Dim::Dimensionless, 1.0, "membrane resistance r: dv = r * i (> 0)"),
    ParamSpec::new("v_threshold", Dim::Dimensionless, 1.0, "threshold; v is clamped to [v_reset, v_threshold]"),
    ParamSpec::new("v_reset", Dim::Dimensionless, 0.0, "reset potential and lower clamp; also the initial v"),
];
const SF_VARS: &[VarSpec] = &[
    VarSpec { name: "v", dim: Dim::Dimensionless, doc: "membrane potential v, in [v_reset, v_threshold]" },
    VarSpec { name: "pending", dim: Dim::Dimensionless, doc: "1 when v reached v_threshold last step: the spike is sent (and v reset) this step" },
];
const SF_RECEPTORS: &[ReceptorSpec] = &[
    ReceptorSpec { name: "x", kind: ReceptorKind::Spike, dim: Dim::Dimensionless, doc: "each arriving spike adds its weight to the input current i" },
    ReceptorSpec { name: "i", kind: ReceptorKind::Current, dim: Dim::Dimensionless, doc: "input current i, held for the step" },
];

/// Constants of [`SfIf`] and [`SfLif`].
#[derive(Clone, Debug)]
pub struct SfCoeffs {
    r: f64,
    /// `None` for the IF neuron.
    tau: Option<f64>,
    v_th: f64,
    v_reset: f64,
}

fn sf_coeffs(p: &Params, tau: Option<f64>) -> Result<SfCoeffs, String> {
    let r = greater_than(p, "r", 0.0, "")?;
    let (v_th, v_reset) = (p.get("v_threshold"), p.get("v_reset"));
    check(v_th > v_reset, || format!("parameter `v_threshold` must be > `v_reset`: SpikingFlow clamps v to [v_reset, v_threshold] (found v_threshold = {v_th}, v_reset = {v_reset})"))?;
    Ok(SfCoeffs { r, tau, v_th, v_reset })
}

/// SpikingFlow's `forward(i)` (tutorial code of `SpikingFlow.neuron.LIFNode`):
/// ```text
/// out_spike = self.next_out_spike
/// self.v[out_spike] = self.v_reset                # reset the neurons that crossed last step
/// self.v += dv                                    # IF: r*i;  LIF: (r*i - (v - v_reset))/tau
/// self.next_out_spike = (self.v >= self.v_threshold)
/// self.v[self.next_out_spike] = self.v_threshold  # clamp to [v_reset, v_threshold]
/// self.v[self.v < self.v_reset] = self.v_reset
/// return out_spike                                # the spike is sent one step after the crossing
/// ```
#[inline(always)]
fn sf_step<L: Lanes>(c: &SfCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
    let pending = s[1].clone();
    let out = pending.gt(0.5);
    let v = L::select_const(&out, c.v_reset, s[0].clone());
    let ri = input_x(input) * c.r;
    let v = match c.tau {
        None => v + ri,
        Some(tau) => v.clone() + (ri - (v - c.v_reset)) / tau,
    };
    let next = v.ge(c.v_th);
    let v = L::select_const(&next, c.v_th, v);
    let below = v.lt(c.v_reset);
    s[0] = L::select_const(&below, c.v_reset, v);
    s[1] = L::select_const(&next, 1.0, pending * 0.0);
    out
}

/// `sf_if`: `SpikingFlow.neuron.IFNode` (clock-driven convention: resistance, clamp, spike
/// one step after the crossing).
pub struct SfIf;

impl NeuronDynamics for SfIf {
    const NAME: &'static str = "sf_if";
    const DOC: &'static str = "SpikingFlow.neuron.IFNode (dimensionless, one step per dt): at each step, a neuron that \
        reached v_threshold in the previous step spikes and is set to v_reset; then v += r*i; if v >= v_threshold it \
        is set to v_threshold and spikes in the next step; v is clamped below at v_reset. i = spike weights at `x` + \
        input at `i`.";
    const PARAMS: &'static [ParamSpec] = &SF_PARAMS_COMMON;
    const VARS: &'static [VarSpec] = SF_VARS;
    const RECEPTORS: &'static [ReceptorSpec] = SF_RECEPTORS;
    type Coeffs = SfCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SfCoeffs, String> {
        sf_coeffs(p, None)
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("v_reset"), 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SfCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        sf_step(c, s, input)
    }
}

/// `sf_lif`: `SpikingFlow.neuron.LIFNode` (clock-driven convention: resistance, clamp,
/// spike one step after the crossing).
pub struct SfLif;

impl NeuronDynamics for SfLif {
    const NAME: &'static str = "sf_lif";
    const DOC: &'static str = "SpikingFlow.neuron.LIFNode (dimensionless, one step per dt): at each step, a neuron that \
        reached v_threshold in the previous step spikes and is set to v_reset; then v += (r*i - (v - v_reset))/tau; \
        if v >= v_threshold it is set to v_threshold and spikes in the next step; v is clamped below at v_reset. \
        i = spike weights at `x` + input at `i`.";
    const PARAMS: &'static [ParamSpec] = &[
        SF_PARAMS_COMMON[0],
        SF_PARAMS_COMMON[1],
        SF_PARAMS_COMMON[2],
        ParamSpec::new("tau", Dim::Dimensionless, 1.0, "membrane time constant, in steps (> 0)"),
    ];
    const VARS: &'static [VarSpec] = SF_VARS;
    const RECEPTORS: &'static [ReceptorSpec] = SF_RECEPTORS;
    type Coeffs = SfCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SfCoeffs, String> {
        let tau = greater_than(p, "tau", 0.0, "")?;
        sf_coeffs(p, Some(tau))
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![p.get("v_reset"), 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SfCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        sf_step(c, s, input)
    }
}
