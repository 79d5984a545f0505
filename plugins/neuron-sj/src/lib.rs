#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

mod nonlinear;
mod sf;
pub use nonlinear::{SjEif, SjEifCoeffs, SjIzhikevich, SjIzhikevichCoeffs, SjQif, SjQifCoeffs};
pub use sf::{SfCoeffs, SfIf, SfLif};

/// Registers the SpikingJelly family (`sj_if`, `sj_lif`, `sj_plif`, `sj_rif`, `sj_qif`,
/// `sj_eif`, `sj_izhikevich`) and SpikingFlow's clock-driven convention (`sf_if`, `sf_lif`).
pub struct SjPlugin;

impl Plugin for SjPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_neuron_model::<SjIf>()
            .add_neuron_model::<SjLif>()
            .add_neuron_model::<SjPlif>()
            .add_neuron_model::<SjRif>()
            .add_neuron_model::<SjQif>()
            .add_neuron_model::<SjEif>()
            .add_neuron_model::<SjIzhikevich>()
            .add_neuron_model::<SfIf>()
            .add_neuron_model::<SfLif>();
    }
}

// ---------------------------------------------------------------------------------------
// What the SpikingJelly models share: input X[t], fire S = Θ(H − V_th), hard or soft reset.

/// How `v` is reset after a spike (SpikingJelly's `v_reset` = a number or `None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SjReset {
    /// `V = V_reset` (`v_reset` a number).
    Hard(f64),
    /// `V = H − V_th` (SpikingJelly's `v_reset=None`).
    Soft,
}

impl SjReset {
    fn from_params(p: &Params) -> SjReset {
        match p.choice("reset") {
            "soft" => SjReset::Soft,
            _ => SjReset::Hard(p.get("v_reset")),
        }
    }

    /// The reset potential the charge equations use: `v_reset`, or 0 under a soft reset
    /// (SpikingJelly's LIF family charges towards 0 when `v_reset is None`).
    fn leak_target(self) -> f64 {
        match self {
            SjReset::Hard(v) => v,
            SjReset::Soft => 0.0,
        }
    }

    /// SpikingJelly's initial potential: `v_reset`, or 0 when `v_reset is None`.
    fn initial_v(p: &Params) -> f64 {
        Self::from_params(p).leak_target()
    }
}

/// `S = Θ(H − V_th)` with `Θ(x) = 1 for x >= 0` (SpikingJelly's `heaviside`: `x >= 0`), then
/// the reset: `V = (1 − S) H + S V_reset` (hard) or `V = H − S V_th` (soft).
/// Returns the new `V` and `S`.
#[inline(always)]
fn fire_and_reset<L: Lanes>(h: L, v_th: f64, reset: SjReset) -> (L, L::Mask) {
    let spike = h.ge(v_th);
    let v = match reset {
        SjReset::Hard(v_reset) => L::select_const(&spike, v_reset, h),
        SjReset::Soft => L::select(&spike, h.clone() - v_th, h),
    };
    (v, spike)
}

/// `X[t]`: the summed spike weights at `x` plus the held input at `i`.
#[inline(always)]
fn input_x<L: Lanes>(input: &[L]) -> L {
    input[0].clone() + input[1].clone()
}

const RESET_CHOICE: ChoiceSpec = ChoiceSpec {
    name: "reset",
    options: &["hard", "soft"],
    doc: "hard: V = v_reset after a spike; soft: V = H - v_threshold (SpikingJelly's v_reset=None)",
};
const DECAY_INPUT_CHOICE: ChoiceSpec = ChoiceSpec {
    name: "decay_input",
    options: &["true", "false"],
    doc: "true: H = V + (X - (V - v_reset))/tau; false: H = V - (V - v_reset)/tau + X",
};
const V_THRESHOLD: ParamSpec = ParamSpec::new("v_threshold", Dim::Dimensionless, 1.0, "threshold V_th: spike when H >= V_th");
const V_RESET: ParamSpec = ParamSpec::new("v_reset", Dim::Dimensionless, 0.0, "reset potential (hard reset); also the initial V");
const TAU: ParamSpec = ParamSpec::new("tau", Dim::Dimensionless, 2.0, "membrane time constant, in steps (> 1)");
const V: VarSpec = VarSpec { name: "v", dim: Dim::Dimensionless, doc: "membrane potential V (after reset)" };
const SJ_RECEPTORS: &[ReceptorSpec] = &[
    ReceptorSpec { name: "x", kind: ReceptorKind::Spike, dim: Dim::Dimensionless, doc: "each arriving spike adds its weight to X[t]" },
    ReceptorSpec { name: "i", kind: ReceptorKind::Current, dim: Dim::Dimensionless, doc: "held input, added to X[t]" },
];

fn check(ok: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(msg()) }
}

fn greater_than(p: &Params, name: &str, bound: f64, why: &str) -> Result<f64, String> {
    let v = p.get(name);
    check(v > bound, || format!("parameter `{name}` must be > {bound} (found {v}){why}"))?;
    Ok(v)
}

/// SpikingJelly's QIF and EIF assert `v_threshold > v_reset` and `v_rest >= v_reset` when
/// `v_reset` is a number.
fn check_rest_order(p: &Params, reset: SjReset) -> Result<(), String> {
    if let SjReset::Hard(v_reset) = reset {
        let (v_th, v_rest) = (p.get("v_threshold"), p.get("v_rest"));
        check(v_th > v_reset, || format!("parameter `v_threshold` must be > `v_reset` with a hard reset (found v_threshold = {v_th}, v_reset = {v_reset})"))?;
        check(v_rest >= v_reset, || format!("parameter `v_rest` must be >= `v_reset` with a hard reset (found v_rest = {v_rest}, v_reset = {v_reset})"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------

/// `sj_if`: SpikingJelly's `IFNode`, `H[t] = V[t−1] + X[t]`.
pub struct SjIf;

/// Constants of [`SjIf`].
#[derive(Clone, Debug)]
pub struct SjIfCoeffs {
    v_th: f64,
    reset: SjReset,
}

impl NeuronDynamics for SjIf {
    const NAME: &'static str = "sj_if";
    const DOC: &'static str = "SpikingJelly IFNode (dimensionless, one step per dt): H[t] = V[t-1] + X[t]; \
        S = (H >= v_threshold); hard reset V = v_reset, soft reset V = H - v_threshold. \
        X[t] = spike weights at `x` + input at `i`.";
    const PARAMS: &'static [ParamSpec] = &[V_THRESHOLD, V_RESET];
    const CHOICES: &'static [ChoiceSpec] = &[RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjIfCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjIfCoeffs, String> {
        Ok(SjIfCoeffs { v_th: p.get("v_threshold"), reset: SjReset::from_params(p) })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjIfCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let h = s[0].clone() + input_x(input);
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        spike
    }
}

/// The four charge equations of SpikingJelly's `LIFNode` / `ParametricLIFNode`, each in the
/// exact operation order of SpikingJelly's code (it takes a shortcut when
/// `v_reset is None or v_reset == 0`, which rounds differently without decay of the input).
#[derive(Clone, Copy, Debug, PartialEq)]
enum LeakForm {
    /// `decay_input`, reset potential 0: `V + (X − V)·k`.
    DecayZero,
    /// `decay_input`: `V + (X − (V − V_reset))·k`.
    Decay,
    /// no `decay_input`, reset potential 0: `V·(1 − k) + X`.
    NoDecayZero,
    /// no `decay_input`: `V − (V − V_reset)·k + X`.
    NoDecay,
}

impl LeakForm {
    fn from_params(p: &Params, reset: SjReset) -> LeakForm {
        let zero = reset.leak_target() == 0.0;
        match (p.choice("decay_input") == "true", zero) {
            (true, true) => LeakForm::DecayZero,
            (true, false) => LeakForm::Decay,
            (false, true) => LeakForm::NoDecayZero,
            (false, false) => LeakForm::NoDecay,
        }
    }
}

/// `sj_lif`: SpikingJelly's `LIFNode`.
pub struct SjLif;

/// Constants of [`SjLif`].
#[derive(Clone, Debug)]
pub struct SjLifCoeffs {
    tau: f64,
    /// `1 − 1/τ` (SpikingJelly's `v * (1. - 1. / tau) + x`).
    keep: f64,
    v_reset: f64,
    form: LeakForm,
    v_th: f64,
    reset: SjReset,
}

impl NeuronDynamics for SjLif {
    const NAME: &'static str = "sj_lif";
    const DOC: &'static str = "SpikingJelly LIFNode (dimensionless, one step per dt): decay_input = true: \
        H[t] = V[t-1] + (X[t] - (V[t-1] - v_reset))/tau; false: H[t] = V[t-1] - (V[t-1] - v_reset)/tau + X[t] \
        (v_reset read as 0 under a soft reset); S = (H >= v_threshold); hard reset V = v_reset, soft V = H - v_threshold. \
        Requires tau > 1 as SpikingJelly does.";
    const PARAMS: &'static [ParamSpec] = &[TAU, V_THRESHOLD, V_RESET];
    const CHOICES: &'static [ChoiceSpec] = &[DECAY_INPUT_CHOICE, RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjLifCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjLifCoeffs, String> {
        let tau = greater_than(p, "tau", 1.0, " (SpikingJelly's LIFNode asserts tau > 1)")?;
        let reset = SjReset::from_params(p);
        Ok(SjLifCoeffs {
            tau,
            keep: 1.0 - 1.0 / tau,
            v_reset: reset.leak_target(),
            form: LeakForm::from_params(p, reset),
            v_th: p.get("v_threshold"),
            reset,
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjLifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        let x = input_x(input);
        let h = match c.form {
            LeakForm::DecayZero => v.clone() + (x - v) / c.tau,
            LeakForm::Decay => v.clone() + (x - (v - c.v_reset)) / c.tau,
            LeakForm::NoDecayZero => v * c.keep + x,
            LeakForm::NoDecay => v.clone() - (v - c.v_reset) / c.tau + x,
        };
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        spike
    }
}

/// `sj_plif`: SpikingJelly's `ParametricLIFNode` with its learnable `w` held fixed at its
/// initial value `w = −ln(init_tau − 1)`, `1/τ = sigmoid(w)`.
pub struct SjPlif;

/// Constants of [`SjPlif`].
#[derive(Clone, Debug)]
pub struct SjPlifCoeffs {
    /// `sigmoid(w)` (= 1/τ).
    k: f64,
    /// `1 − sigmoid(w)`.
    keep: f64,
    v_reset: f64,
    form: LeakForm,
    v_th: f64,
    reset: SjReset,
}

/// `sigmoid(x) = 1 / (1 + e^{−x})`, as torch computes it.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl NeuronDynamics for SjPlif {
    const NAME: &'static str = "sj_plif";
    const DOC: &'static str = "SpikingJelly ParametricLIFNode (dimensionless; w fixed at its initial value): \
        k = 1/tau = sigmoid(w), w = -ln(init_tau - 1); decay_input = true: H = V + (X - (V - v_reset))*k; \
        false: H = V - (V - v_reset)*k + X (v_reset read as 0 under a soft reset); S = (H >= v_threshold); \
        hard reset V = v_reset, soft V = H - v_threshold. Requires init_tau > 1.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("init_tau", Dim::Dimensionless, 2.0, "initial membrane time constant (> 1); w = -ln(init_tau - 1)"),
        V_THRESHOLD,
        V_RESET,
    ];
    const CHOICES: &'static [ChoiceSpec] = &[DECAY_INPUT_CHOICE, RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjPlifCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjPlifCoeffs, String> {
        let init_tau = greater_than(p, "init_tau", 1.0, " (SpikingJelly's ParametricLIFNode asserts init_tau > 1: w = -ln(init_tau - 1))")?;
        let k = sigmoid(-(init_tau - 1.0).ln());
        let reset = SjReset::from_params(p);
        Ok(SjPlifCoeffs {
            k,
            keep: 1.0 - k,
            v_reset: reset.leak_target(),
            form: LeakForm::from_params(p, reset),
            v_th: p.get("v_threshold"),
            reset,
        })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjPlifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        let x = input_x(input);
        let h = match c.form {
            LeakForm::DecayZero => v.clone() + (x - v) * c.k,
            LeakForm::Decay => v.clone() + (x - (v - c.v_reset)) * c.k,
            LeakForm::NoDecayZero => v * c.keep + x,
            LeakForm::NoDecay => v.clone() - (v - c.v_reset) * c.k + x,
        };
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        spike
    }
}

/// `sj_rif`: the recurrent IF neuron (`SpikingFlow.softbp.neuron.RIFNode`, SpikingJelly's
/// `clock_driven.neuron.RIFNode`) with its learnable self-connection weight held fixed.
pub struct SjRif;

/// Constants of [`SjRif`].
#[derive(Clone, Debug)]
pub struct SjRifCoeffs {
    w: f64,
    v_reset: f64,
    v_th: f64,
    reset: SjReset,
}

impl NeuronDynamics for SjRif {
    const NAME: &'static str = "sj_rif";
    const DOC: &'static str = "Recurrent IF (SpikingFlow.softbp.neuron.RIFNode / SpikingJelly RIFNode, dimensionless; \
        w fixed): dV/dt = w (V - v_reset) + X, H = V + ((V - v_reset)*w + X) (v_reset read as 0 under a soft reset); \
        S = (H >= v_threshold); hard reset V = v_reset, soft V = H - v_threshold. amplitude = 0: w = init_w; \
        amplitude = a > 0: w = (2 sigmoid(g) - 1) a with g = ln((a + init_w)/(a - init_w)), needs |init_w| < a.";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("init_w", Dim::Dimensionless, -1e-3, "self-connection weight w (the learnable value, fixed here)"),
        ParamSpec::new("amplitude", Dim::Dimensionless, 0.0, "0: no bound on w; a > 0: w bounded to (-a, a) through a sigmoid"),
        V_THRESHOLD,
        V_RESET,
    ];
    const CHOICES: &'static [ChoiceSpec] = &[RESET_CHOICE];
    const VARS: &'static [VarSpec] = &[V];
    const RECEPTORS: &'static [ReceptorSpec] = SJ_RECEPTORS;
    type Coeffs = SjRifCoeffs;

    fn coeffs(p: &Params, _dt: f64) -> Result<SjRifCoeffs, String> {
        let (init_w, a) = (p.get("init_w"), p.get("amplitude"));
        check(a >= 0.0, || format!("parameter `amplitude` must be >= 0 (0: no bound; found {a})"))?;
        let w = if a == 0.0 {
            init_w
        } else {
            check(init_w.abs() < a, || format!("parameter `init_w` must lie in (-amplitude, amplitude) when `amplitude` > 0 (found init_w = {init_w}, amplitude = {a})"))?;
            let g = ((a + init_w) / (a - init_w)).ln();
            (sigmoid(g) * 2.0 - 1.0) * a
        };
        let reset = SjReset::from_params(p);
        Ok(SjRifCoeffs { w, v_reset: reset.leak_target(), v_th: p.get("v_threshold"), reset })
    }

    fn initial(p: &Params) -> Vec<f64> {
        vec![SjReset::initial_v(p)]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &SjRifCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        // SpikingFlow: `self.v += (self.v - self.v_reset) * self.g + dv`.
        let h = v.clone() + ((v - c.v_reset) * c.w + input_x(input));
        let (v, spike) = fire_and_reset(h, c.v_th, c.reset);
        s[0] = v;
        spike
    }
}
