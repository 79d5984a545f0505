//! What a neuron model is: its parameters, state variables, receptors, and its update
//! written once, generically over [`Lanes`], so that both engines execute the same math.
//!
//! A plugin implements [`NeuronDynamics`] for a type; the core wraps it (see
//! [`crate::registry::SimBuilder::add_neuron_model`]) and runs it:
//!
//! - on the `cpu` engine with `L = f64`, one neuron at a time inside a fused loop
//!   (input, update, threshold and reset in one pass over the population's buffers);
//! - on the `tensor` engine with `L = `[`Col`], one burn tensor per state variable, the
//!   whole population at once.
//!
//! Both engines evaluate the same sequence of IEEE operations, so their states agree bit
//! for bit (tested).

use std::ops::{Add, Mul, Neg, Sub};

use crate::units::Dim;

/// A parameter a model, encoder or rule accepts, with its default and unit.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Name in scenario files.
    pub name: &'static str,
    /// Dimension (and so the canonical unit).
    pub dim: Dim,
    /// Default in the canonical unit; `None` means the parameter is required.
    pub default: Option<f64>,
    /// One line: what it means.
    pub doc: &'static str,
}

impl ParamSpec {
    /// A parameter with a default.
    pub const fn new(name: &'static str, dim: Dim, default: f64, doc: &'static str) -> Self {
        ParamSpec { name, dim, default: Some(default), doc }
    }
}

/// A state variable: evolves, can be initialised and recorded.
#[derive(Clone, Debug)]
pub struct VarSpec {
    /// Name in scenario files and outputs.
    pub name: &'static str,
    /// Dimension of the variable.
    pub dim: Dim,
    /// One line: what it is.
    pub doc: &'static str,
}

/// How input arriving at a receptor is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceptorKind {
    /// Spikes arrive through projections; each adds its weight (in `dim`).
    Spike,
    /// A current held for the step (from `constant_current` encoders), in pA.
    Current,
}

/// A named input of a model (`exc`, `inh`, `v`, `i`).
#[derive(Clone, Debug)]
pub struct ReceptorSpec {
    /// Name used as `receptor = "..."` in projections and encoders.
    pub name: &'static str,
    /// Spike or current input.
    pub kind: ReceptorKind,
    /// Dimension of a weight arriving here.
    pub dim: Dim,
    /// One line: what an input does.
    pub doc: &'static str,
}

/// Validated parameter values of one population, in canonical units.
#[derive(Clone, Debug, Default)]
pub struct Params {
    values: Vec<(&'static str, f64)>,
    choices: Vec<(&'static str, String)>,
}

impl Params {
    /// Builds from (name, value) pairs (all of a model's parameters).
    pub fn new(values: Vec<(&'static str, f64)>, choices: Vec<(&'static str, String)>) -> Self {
        Params { values, choices }
    }

    /// The value of a declared parameter.
    ///
    /// # Panics
    /// If `name` is not one of the model's declared parameters: that is a bug in the
    /// model, not bad input, because the core fills every declared parameter.
    pub fn get(&self, name: &str) -> f64 {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("model asked for undeclared parameter `{name}`"))
    }

    /// The value of a declared choice parameter.
    pub fn choice(&self, name: &str) -> &str {
        self.choices
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("model asked for undeclared choice `{name}`"))
    }

    /// All numeric values, in declaration order.
    pub fn values(&self) -> &[(&'static str, f64)] {
        &self.values
    }
}

/// A parameter that takes one of a few words (`reset = "hard" | "soft"`).
#[derive(Clone, Debug)]
pub struct ChoiceSpec {
    /// Name in scenario files.
    pub name: &'static str,
    /// The words accepted; the first is the default.
    pub options: &'static [&'static str],
    /// One line: what it selects.
    pub doc: &'static str,
}

/// Arithmetic over "one value per neuron": `f64` (one neuron, cpu engine) or [`Col`]
/// (a whole population as a tensor, tensor engine).
pub trait Lanes:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Neg<Output = Self>
{
    /// One boolean per neuron.
    type Mask: Clone;
    /// `self > x`, lane by lane.
    fn gt(&self, x: f64) -> Self::Mask;
    /// `if mask { a } else { b }`, lane by lane.
    fn select(mask: &Self::Mask, a: Self, b: Self) -> Self;
    /// `if mask { x } else { b }`, lane by lane.
    fn select_const(mask: &Self::Mask, x: f64, b: Self) -> Self;
    /// Lane-wise `a && !b`.
    fn and_not(a: &Self::Mask, b: &Self::Mask) -> Self::Mask;
}

impl Lanes for f64 {
    type Mask = bool;
    #[inline(always)]
    fn gt(&self, x: f64) -> bool {
        *self > x
    }
    #[inline(always)]
    fn select(mask: &bool, a: f64, b: f64) -> f64 {
        if *mask { a } else { b }
    }
    #[inline(always)]
    fn select_const(mask: &bool, x: f64, b: f64) -> f64 {
        if *mask { x } else { b }
    }
    #[inline(always)]
    fn and_not(a: &bool, b: &bool) -> bool {
        *a && !*b
    }
}

/// The tensor type the tensor engine computes with: burn's run-time dispatched backend,
/// so one build serves the `flex` CPU device and (feature `cuda`) a CUDA device.
pub type TensorBackend = burn::Dispatch;

/// One state variable of a whole population, as a float64 burn tensor.
#[derive(Clone, Debug)]
pub struct Col(pub burn::tensor::Tensor<TensorBackend, 1>);

/// A lane-wise boolean for [`Col`].
pub type ColMask = burn::tensor::Tensor<TensorBackend, 1, burn::tensor::Bool>;

impl Add for Col {
    type Output = Col;
    fn add(self, o: Col) -> Col {
        Col(self.0 + o.0)
    }
}
impl Sub for Col {
    type Output = Col;
    fn sub(self, o: Col) -> Col {
        Col(self.0 - o.0)
    }
}
impl Mul for Col {
    type Output = Col;
    fn mul(self, o: Col) -> Col {
        Col(self.0 * o.0)
    }
}
impl Add<f64> for Col {
    type Output = Col;
    fn add(self, o: f64) -> Col {
        Col(self.0.add_scalar(o))
    }
}
impl Sub<f64> for Col {
    type Output = Col;
    fn sub(self, o: f64) -> Col {
        Col(self.0.sub_scalar(o))
    }
}
impl Mul<f64> for Col {
    type Output = Col;
    fn mul(self, o: f64) -> Col {
        Col(self.0.mul_scalar(o))
    }
}
impl Neg for Col {
    type Output = Col;
    fn neg(self) -> Col {
        Col(self.0.neg())
    }
}

impl Lanes for Col {
    type Mask = ColMask;
    fn gt(&self, x: f64) -> ColMask {
        self.0.clone().greater_elem(x)
    }
    fn select(mask: &ColMask, a: Col, b: Col) -> Col {
        Col(b.0.mask_where(mask.clone(), a.0))
    }
    fn select_const(mask: &ColMask, x: f64, b: Col) -> Col {
        Col(b.0.mask_fill(mask.clone(), x))
    }
    fn and_not(a: &ColMask, b: &ColMask) -> ColMask {
        a.clone().bool_and(b.clone().bool_not())
    }
}

/// A clock-driven neuron model, defined once for both engines.
///
/// `step` receives the state variables (in [`NeuronDynamics::VARS`] order) and the input
/// of this step at each receptor (in [`NeuronDynamics::RECEPTORS`] order: the sum of the
/// weights of spikes arriving now, or the injected current), updates the state in place,
/// and returns which neurons spiked. Threshold and reset belong in `step`: the cpu engine
/// fuses them into one pass.
pub trait NeuronDynamics: Send + Sync + 'static {
    /// snake_case name used in scenarios (`lif_cond_exp`).
    const NAME: &'static str;
    /// One paragraph: equations and references (shown by `spikeworld info`).
    const DOC: &'static str;
    /// Numeric parameters.
    const PARAMS: &'static [ParamSpec];
    /// Word-valued parameters.
    const CHOICES: &'static [ChoiceSpec] = &[];
    /// State variables.
    const VARS: &'static [VarSpec];
    /// Inputs.
    const RECEPTORS: &'static [ReceptorSpec];
    /// Precomputed per-population constants (propagators), from parameters and `dt`.
    type Coeffs: Clone + Send + Sync + 'static;

    /// Checks parameters and precomputes constants. The error says which parameter is wrong.
    fn coeffs(params: &Params, dt_ms: f64) -> Result<Self::Coeffs, String>;

    /// Default initial value of each state variable (in `VARS` order).
    fn initial(params: &Params) -> Vec<f64>;

    /// Advances one step of `dt`.
    fn step<L: Lanes>(c: &Self::Coeffs, state: &mut [L], input: &[L]) -> L::Mask;
}
