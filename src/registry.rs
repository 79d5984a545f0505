//! Plugins and the registries they fill: neuron models, synapse models, connection rules,
//! encoders and monitors, each by snake_case name.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::connect::{ConnectCtx, Pairs};
use crate::encoder::EncoderFactory;
use crate::model::{ChoiceSpec, Col, ColMask, NeuronDynamics, ParamSpec, Params, ReceptorSpec, VarSpec};

/// A plugin: one function that registers what it brings.
pub trait Plugin {
    /// Registers models, encoders, rules... with the builder.
    fn build(&self, builder: &mut SimBuilder);
}

impl<F: Fn(&mut SimBuilder)> Plugin for F {
    fn build(&self, builder: &mut SimBuilder) {
        self(builder)
    }
}

/// A neuron model as the core sees it (object-safe; made from a [`NeuronDynamics`]).
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
    /// Checks parameters and precomputes the update for step `dt_ms`.
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String>;
}

/// A model with its parameters fixed: what the engines call every step.
pub trait PreparedModel: Send + Sync {
    /// Default initial values, one per state variable.
    fn initial(&self) -> Vec<f64>;
    /// The cpu engine's fused pass over neurons `offset..offset + n` (the slices hold
    /// exactly those neurons): reads and clears `inputs`, updates `vars`, pushes the
    /// (population-wide) index of each neuron that spiked onto `spikes`.
    fn step_cpu(&self, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>);
    /// The tensor engine's step over the whole population.
    fn step_tensor(&self, vars: &mut [Col], inputs: &[Col]) -> ColMask;
}

struct DynamicsModel<M: NeuronDynamics>(PhantomData<M>);

struct Prepared<M: NeuronDynamics> {
    coeffs: M::Coeffs,
    initial: Vec<f64>,
}

/// Most state variables and receptors a model may declare (a fixed bound keeps the fused
/// loop's per-neuron state in registers).
pub const MAX_VARS: usize = 16;



impl<M: NeuronDynamics> NeuronModel for DynamicsModel<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn doc(&self) -> &'static str {
        M::DOC
    }
    fn params(&self) -> &'static [ParamSpec] {
        M::PARAMS
    }
    fn choices(&self) -> &'static [ChoiceSpec] {
        M::CHOICES
    }
    fn vars(&self) -> &'static [VarSpec] {
        M::VARS
    }
    fn receptors(&self) -> &'static [ReceptorSpec] {
        M::RECEPTORS
    }
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String> {
        let coeffs = M::coeffs(params, dt_ms)?;
        Ok(Arc::new(Prepared::<M> { coeffs, initial: M::initial(params) }))
    }
}

impl<M: NeuronDynamics> PreparedModel for Prepared<M> {
    fn initial(&self) -> Vec<f64> {
        self.initial.clone()
    }

    fn step_cpu(&self, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
        crate::kernel::fused_step::<M>(&self.coeffs, vars, inputs, offset, spikes);
    }

    fn step_tensor(&self, vars: &mut [Col], inputs: &[Col]) -> ColMask {
        M::step::<Col>(&self.coeffs, vars, inputs)
    }
}

/// A connection rule: which (source, target) pairs exist.
#[derive(Clone)]
pub struct RuleSpec {
    /// NEST's name (`pairwise_bernoulli`).
    pub name: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// Its parameters (dimensionless).
    pub params: &'static [ParamSpec],
    /// Draws the pairs. The error names what is wrong with the parameters.
    pub connect: fn(&ConnectCtx, &Params) -> Result<Pairs, String>,
}

/// A synapse model (how a spike acts on its target).
#[derive(Clone)]
pub struct SynapseSpec {
    /// Name (`static`).
    pub name: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// A kind of monitor.
#[derive(Clone)]
pub struct MonitorSpec {
    /// Name (`spikes`, `state`, `rate`).
    pub name: &'static str,
    /// What it records and the keys it takes.
    pub doc: &'static str,
}

/// Everything that can be named in a scenario.
#[derive(Clone, Default)]
pub struct Registry {
    /// Neuron models by name.
    pub neuron_models: BTreeMap<&'static str, Arc<dyn NeuronModel>>,
    /// Encoders by name.
    pub encoders: BTreeMap<&'static str, Arc<dyn EncoderFactory>>,
    /// Connection rules by name.
    pub rules: BTreeMap<&'static str, RuleSpec>,
    /// Synapse models by name.
    pub synapse_models: BTreeMap<&'static str, SynapseSpec>,
    /// Monitor kinds by name.
    pub monitors: BTreeMap<&'static str, MonitorSpec>,
}

/// Names for messages: `a, b, c`.
pub fn names<V>(m: &BTreeMap<&'static str, V>) -> String {
    m.keys().copied().collect::<Vec<_>>().join(", ")
}

/// Collects plugins' registrations, then builds a [`crate::sim::Sim`] from a scenario.
pub struct SimBuilder {
    pub(crate) registry: Registry,
    errors: Vec<String>,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SimBuilder {
    /// A builder with the core's own rules, synapse model and monitors registered.
    pub fn new() -> Self {
        let mut b = SimBuilder { registry: Registry::default(), errors: Vec::new() };
        crate::connect::register_builtin_rules(&mut b);
        b.add_synapse_model(SynapseSpec {
            name: "static",
            doc: "Fixed weight: a spike adds the weight to the target's receptor after the delay.",
        });
        for m in crate::monitor::builtin_monitors() {
            b.add_monitor_kind(m);
        }
        b
    }

    /// Adds a plugin (registers what it brings).
    pub fn add_plugin(&mut self, plugin: impl Plugin) -> &mut Self {
        plugin.build(self);
        self
    }

    /// The names registered so far.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn dup(&mut self, what: &str, name: &str) {
        self.errors.push(format!("{what} `{name}` is registered twice"));
    }

    /// Registers a clock-driven neuron model.
    pub fn add_neuron_model<M: NeuronDynamics>(&mut self) -> &mut Self {
        if self.registry.neuron_models.contains_key(M::NAME) {
            self.dup("neuron model", M::NAME);
        } else {
            self.registry.neuron_models.insert(M::NAME, Arc::new(DynamicsModel::<M>(PhantomData)));
        }
        self
    }

    /// Registers an encoder.
    pub fn add_encoder(&mut self, f: impl EncoderFactory + 'static) -> &mut Self {
        let name = f.name();
        if self.registry.encoders.contains_key(name) {
            self.dup("encoder", name);
        } else {
            self.registry.encoders.insert(name, Arc::new(f));
        }
        self
    }

    /// Registers a connection rule.
    pub fn add_connection_rule(&mut self, r: RuleSpec) -> &mut Self {
        if self.registry.rules.contains_key(r.name) {
            self.dup("connection rule", r.name);
        } else {
            self.registry.rules.insert(r.name, r);
        }
        self
    }

    /// Registers a synapse model.
    pub fn add_synapse_model(&mut self, s: SynapseSpec) -> &mut Self {
        if self.registry.synapse_models.contains_key(s.name) {
            self.dup("synapse model", s.name);
        } else {
            self.registry.synapse_models.insert(s.name, s);
        }
        self
    }

    /// Registers a monitor kind.
    pub fn add_monitor_kind(&mut self, m: MonitorSpec) -> &mut Self {
        if self.registry.monitors.contains_key(m.name) {
            self.dup("monitor", m.name);
        } else {
            self.registry.monitors.insert(m.name, m);
        }
        self
    }

    /// Fails if any registration conflicted.
    pub fn check(&self) -> crate::Result<()> {
        match self.errors.first() {
            Some(e) => Err(crate::Error::Registry(e.clone())),
            None => Ok(()),
        }
    }
}
