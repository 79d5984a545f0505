//! What a neuron model is: its parameters, state variables, receptors, and its update
//! written once, generically over [`Lanes`], so that both engines execute the same math.
//!
//! A plugin implements [`NeuronDynamics`] for a type; the core wraps it (see
//! [`crate::registry::SimBuilder::add_neuron_model`]) and runs it:
//!
//! - on the `cpu` engine on blocks of 8 neurons (a lane type whose every operation is the
//!   `f64` one, lane by lane) inside a fused loop (input, update, threshold and reset in
//!   one pass over the population's buffers);
//! - on the `tensor` engine with `L = `[`Col`], one burn tensor per state variable, the
//!   whole population at once.
//!
//! Both engines evaluate the same sequence of IEEE operations, so their states agree bit
//! for bit (tested).

use std::ops::{Add, Div, Mul, Neg, Sub};
use std::sync::Arc;

pub use super::col::{Col, ColMask, TensorBackend};

use crate::util::units::Dim;

/// A parameter a model, encoder or rule accepts, with its default and unit.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// Name in scenario files.
    pub name: &'static str,
    /// Dimension (and so the canonical unit).
    pub dim: Dim,
    /// Default in the canonical unit; `None` when it has none (see `required`).
    pub default: Option<f64>,
    /// Whether the key must be given (only meaningful when `default` is `None`: a key with
    /// neither a default nor `required` is optional, such as an encoder's `stop`).
    pub required: bool,
    /// One line: what it means.
    pub doc: &'static str,
    /// Read in the unit of the projection's weight (its target receptor's: nS, pA, mV, or a
    /// plain number for a dimensionless model) rather than `dim`: a learning rule's
    /// amplitudes and bounds ([`ParamSpec::in_weight_unit`]).
    pub weight_unit: bool,
    /// May take one value per neuron (a list, a distribution or a `.npy` file in the
    /// scenario): the model reads it from a constant state row
    /// ([`NeuronDynamics::CONSTANT_VARS`]), never from its coefficients.
    pub per_neuron: bool,
}

impl ParamSpec {
    /// A parameter with a default.
    pub const fn new(name: &'static str, dim: Dim, default: f64, doc: &'static str) -> Self {
        ParamSpec { name, dim, default: Some(default), required: false, doc, weight_unit: false, per_neuron: false }
    }

    /// A parameter that must be given.
    pub const fn required(name: &'static str, dim: Dim, doc: &'static str) -> Self {
        ParamSpec { name, dim, default: None, required: true, doc, weight_unit: false, per_neuron: false }
    }

    /// A key that may be left out and has no default value (an encoder's `stop`: never;
    /// the alternatives `times`/`indices`/`file` of `spike_generator`). The plugin reads it
    /// with `Table::opt_*`; `spikeworld info` shows it as optional.
    pub const fn optional(name: &'static str, dim: Dim, doc: &'static str) -> Self {
        ParamSpec { name, dim, default: None, required: false, doc, weight_unit: false, per_neuron: false }
    }

    /// The same key, read in the unit of the projection's weight (`spikeworld info` says so).
    pub const fn in_weight_unit(self) -> Self {
        ParamSpec { weight_unit: true, ..self }
    }

    /// The same key, which may take one value per neuron (`spikeworld info` says so). Only
    /// for a neuron model that reads it from a constant state row.
    pub const fn per_neuron(self) -> Self {
        ParamSpec { per_neuron: true, ..self }
    }

    /// Whether the key must be given.
    pub fn is_required(&self) -> bool {
        self.default.is_none() && self.required
    }

    /// Its default value, if it has one.
    pub fn default_value(&self) -> Option<f64> {
        self.default
    }
}

/// What the core writes into a state row from each neuron's place in its population
/// ([`NeuronModel::placed_rows`]), in place of the model's initial value: Brian2's `i` and
/// `N`, which a model written as equations may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placed {
    /// The neuron's index in its population (0-based, the population's order; a shard's
    /// neurons keep theirs).
    Index,
    /// The number of neurons in the population (all shards').
    Size,
}

/// A state variable: evolves, can be initialised and recorded.
#[derive(Clone, Copy, Debug)]
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
    /// White noise (Brian2's `xi`): every step each neuron's input here is a fresh
    /// standard normal draw, [`crate::util::rng::xi`] of its population's `k`-th noise
    /// receptor (stream key `purpose::XI + k`, index step · 2³² + neuron / 2), the same bits
    /// on every engine, thread count and shard split. Nothing projects or injects into it.
    Noise,
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

    /// Sets the value at `index` (in declaration order): one neuron's value of a
    /// per-neuron parameter.
    pub fn set_value(&mut self, index: usize, value: f64) {
        self.values[index].1 = value;
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
///
/// `+ - * /` and the functions below are IEEE operations on both engines. The cpu engine
/// and burn's flex device give the same bits for `+ - * /`, `min`, `max`, `abs`, `sqrt`
/// and the comparisons; `exp` and `ln` are computed by different libraries (Rust's libm
/// and the device's), so models that use them agree between engines within a tolerance
/// (the engine comparison test states it per model).
pub trait Lanes:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + Neg<Output = Self>
{
    /// One boolean per neuron.
    type Mask: Clone;
    /// `self > x`, lane by lane.
    fn gt(&self, x: f64) -> Self::Mask;
    /// `self >= x`, lane by lane.
    fn ge(&self, x: f64) -> Self::Mask;
    /// `self < x`, lane by lane.
    fn lt(&self, x: f64) -> Self::Mask;
    /// `self <= x`, lane by lane.
    fn le(&self, x: f64) -> Self::Mask;
    /// `self > other`, lane by lane.
    fn gt_lanes(&self, other: &Self) -> Self::Mask;
    /// `if mask { a } else { b }`, lane by lane.
    fn select(mask: &Self::Mask, a: Self, b: Self) -> Self;
    /// `if mask { x } else { b }`, lane by lane.
    fn select_const(mask: &Self::Mask, x: f64, b: Self) -> Self;
    /// Lane-wise `a && !b`.
    fn and_not(a: &Self::Mask, b: &Self::Mask) -> Self::Mask;
    /// Lane-wise `a && b`.
    fn and(a: &Self::Mask, b: &Self::Mask) -> Self::Mask;
    /// Lane-wise `a || b`.
    fn or(a: &Self::Mask, b: &Self::Mask) -> Self::Mask;
    /// Lane-wise `!a`.
    fn not(a: &Self::Mask) -> Self::Mask;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Lane-wise minimum with a constant (`x` if either is NaN is not specified).
    fn min_c(self, x: f64) -> Self;
    /// Lane-wise maximum with a constant.
    fn max_c(self, x: f64) -> Self;
    /// Lane-wise minimum.
    fn min(self, o: Self) -> Self;
    /// Lane-wise maximum.
    fn max(self, o: Self) -> Self;
    /// `x / self`, lane by lane.
    fn recip_mul(self, x: f64) -> Self;
}

impl Lanes for f64 {
    type Mask = bool;
    #[inline(always)]
    fn gt(&self, x: f64) -> bool {
        *self > x
    }
    #[inline(always)]
    fn ge(&self, x: f64) -> bool {
        *self >= x
    }
    #[inline(always)]
    fn lt(&self, x: f64) -> bool {
        *self < x
    }
    #[inline(always)]
    fn le(&self, x: f64) -> bool {
        *self <= x
    }
    #[inline(always)]
    fn gt_lanes(&self, o: &f64) -> bool {
        *self > *o
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
    #[inline(always)]
    fn and(a: &bool, b: &bool) -> bool {
        *a && *b
    }
    #[inline(always)]
    fn or(a: &bool, b: &bool) -> bool {
        *a || *b
    }
    #[inline(always)]
    fn not(a: &bool) -> bool {
        !*a
    }
    #[inline(always)]
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> f64 {
        f64::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
    #[inline(always)]
    fn min_c(self, x: f64) -> f64 {
        if x < self { x } else { self }
    }
    #[inline(always)]
    fn max_c(self, x: f64) -> f64 {
        if x > self { x } else { self }
    }
    #[inline(always)]
    fn min(self, o: f64) -> f64 {
        if o < self { o } else { self }
    }
    #[inline(always)]
    fn max(self, o: f64) -> f64 {
        if o > self { o } else { self }
    }
    #[inline(always)]
    fn recip_mul(self, x: f64) -> f64 {
        x / self
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
    /// How many of the last [`NeuronDynamics::VARS`] are constant rows: one value per
    /// neuron that `step` reads and never changes (per-neuron parameters, those marked
    /// [`ParamSpec::per_neuron`]). Their values come from [`NeuronDynamics::initial`], called
    /// with each neuron's parameters; `init` cannot set them (the parameter is set instead).
    /// They are state like any other: checkpointed, recordable, moved between shards.
    const CONSTANT_VARS: usize = 0;
    /// Precomputed per-population constants (propagators), from parameters and `dt`.
    type Coeffs: Clone + Send + Sync + 'static;

    /// Checks parameters and precomputes constants. The error says which parameter is wrong.
    fn coeffs(params: &Params, dt_ms: f64) -> Result<Self::Coeffs, String>;

    /// Default initial value of each state variable (in `VARS` order; a constant row's
    /// value is replaced by [`NeuronDynamics::constants`]'). For a population with
    /// per-neuron parameters it is called once per neuron, with that neuron's values, after
    /// [`NeuronDynamics::coeffs`] has accepted them.
    fn initial(params: &Params) -> Vec<f64>;

    /// One neuron's constant rows (the last [`NeuronDynamics::CONSTANT_VARS`] values) from
    /// its parameters and `dt`: what the step reads, such as a propagator `e^(-dt/tau)`.
    /// By default the values `initial` gives for them.
    fn constants(params: &Params, dt_ms: f64) -> Vec<f64> {
        let _ = dt_ms;
        let all = Self::initial(params);
        all[all.len().saturating_sub(Self::CONSTANT_VARS)..].to_vec()
    }

    /// Advances one step of `dt`.
    fn step<L: Lanes>(c: &Self::Coeffs, state: &mut [L], input: &[L]) -> L::Mask;
}

/// Most state variables and receptors a model may declare (a fixed bound keeps the fused
/// loop's per-neuron state in registers). A model that declares more is refused when it
/// is registered.
pub const MAX_VARS: usize = 16;

/// A neuron model as the core sees it (object-safe; the core makes one from a
/// [`NeuronDynamics`]).
pub trait NeuronModel: Send + Sync {
    /// snake_case name.
    fn name(&self) -> &'static str;
    /// Equations and references.
    fn doc(&self) -> &'static str;
    /// Numeric parameters.
    fn params(&self) -> &'static [ParamSpec];
    /// Word-valued parameters.
    fn choices(&self) -> &'static [ChoiceSpec];
    /// State variables.
    fn vars(&self) -> &'static [VarSpec];
    /// Inputs.
    fn receptors(&self) -> &'static [ReceptorSpec];
    /// How many of the last `vars` are constant rows ([`NeuronDynamics::CONSTANT_VARS`]).
    fn constant_vars(&self) -> usize {
        0
    }
    /// State rows the core fills at build from each neuron's place ([`Placed`]) rather
    /// than from [`PreparedModel::initial`]: (row, what). The model keeps them as they are
    /// (they are constant); `init` may not set them.
    fn placed_rows(&self) -> Vec<(usize, Placed)> {
        Vec::new()
    }
    /// The model that runs a population given per-neuron values of parameters this one
    /// holds per population (`SimBuilder::add_neuron_model_varying`): same name, keys and
    /// receptors, the parameters in constant rows.
    fn per_neuron_variant(&self) -> Option<Arc<dyn NeuronModel>> {
        None
    }
    /// The model that runs a population giving per-neuron values of the parameters `keys`
    /// (a model may hold only those in constant rows); by default
    /// [`NeuronModel::per_neuron_variant`].
    fn per_neuron_variant_for(&self, keys: &[&str]) -> Option<Arc<dyn NeuronModel>> {
        let _ = keys;
        self.per_neuron_variant()
    }
    /// Checks parameters and precomputes the update for step `dt_ms`.
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String>;
    /// One neuron's initial values (constant rows included) from its own parameters, after
    /// checking them as [`NeuronModel::prepare`] does.
    fn neuron_initial(&self, params: &Params, dt_ms: f64) -> Result<Vec<f64>, String> {
        Ok(self.prepare(params, dt_ms)?.initial())
    }
}

/// A model with its parameters fixed: what the engines call every step.
pub trait PreparedModel: Send + Sync {
    /// Default initial values, one per state variable.
    fn initial(&self) -> Vec<f64>;
    /// The cpu engine's fused pass over one range of neurons: `vars[k]` and `inputs[r]`
    /// hold exactly those neurons (an input is empty when nothing arrives at that
    /// receptor: read as 0); reads and clears `inputs`, updates `vars`, pushes
    /// `offset + i` for each neuron `i` of the range that spiked onto `spikes`.
    fn step_cpu(&self, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
        self.step_cpu_with(crate::api::run::Simd::chosen(), vars, inputs, offset, spikes);
    }
    /// [`PreparedModel::step_cpu`] by the build `simd` of the loop (a lower one where the
    /// CPU lacks it): every build gives the same bits.
    fn step_cpu_with(&self, simd: crate::api::run::Simd, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>);
    /// The tensor engine's step over the whole population.
    fn step_tensor(&self, vars: &mut [Col], inputs: &[Col]) -> ColMask;
    /// The step as a straight-line program (the device engine's fused kernel), if the
    /// model can be traced; every [`NeuronDynamics`] can.
    fn program(&self) -> Option<crate::api::program::Program> {
        None
    }
}

/// Brian2's refractoriness in steps (`timestep(t_ref)` = ⌊(t_ref + 10⁻³ dt)/dt⌋, which
/// `timestep(t - lastspike) >= timestep(refractory)` compares with): after a spike at step
/// k the neuron integrates again from step k + T. A model's refractory counter holds the
/// T − 1 steps in between, which this returns (0 when `t_ref` < 2 dt). An off-grid `t_ref`
/// rounds down, as in Brian2 (2.07 ms at dt = 0.1 ms is 20 steps, not 21).
pub fn refractory_steps(t_ref: f64, dt: f64) -> f64 {
    (((t_ref + 1e-3 * dt) / dt).floor() - 1.0).max(0.0)
}

#[cfg(test)]
mod refractory_tests {
    #[test]
    fn refractory_steps_is_brian2s_timestep_less_one() {
        use super::refractory_steps as r;
        assert_eq!(r(2.0, 0.1), 19.0);
        assert_eq!(r(2.07, 0.1), 19.0);
        assert_eq!(r(2.0999, 0.1), 20.0); // (2.0999 + 1e-4)/0.1 = 21.0: within Brian2's 10⁻³ dt margin
        assert_eq!(r(0.3, 0.1), 2.0); // 0.3/0.1 = 2.9999999999999996: the margin makes it 3 steps
        assert_eq!(r(0.0, 0.1), 0.0);
        assert_eq!(r(0.1, 0.1), 0.0);
    }
}
