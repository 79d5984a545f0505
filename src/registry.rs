//! Plugins and the registries they fill: neuron models, encoders, connection rules,
//! projection add-ons (synapse models, plasticity rules), monitors, systems, resources and
//! checkpointed state, each by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{IntoScheduleConfigs, Schedule};
use bevy_ecs::system::ScheduleSystem;

use crate::api::addon::{AddonTable, ProjectionAddon, ScenarioTable};
use crate::api::connect::RuleSpec;
use crate::api::encoder::EncoderFactory;
use crate::api::model::{MAX_VARS, NeuronDynamics, NeuronModel};
use crate::api::sets::SimSystems;
use crate::api::state::{Checkpoint, MergeParts, StateError, StateReader, StateWriter};

/// A plugin: one function that registers what it brings.
pub trait Plugin {
    /// Registers models, encoders, rules, systems... with the builder.
    fn build(&self, builder: &mut SimBuilder);
}

impl<F: Fn(&mut SimBuilder)> Plugin for F {
    fn build(&self, builder: &mut SimBuilder) {
        self(builder)
    }
}

/// A kind of monitor.
#[derive(Clone)]
pub struct MonitorSpec {
    /// Name (`spikes`, `state`, `rate`).
    pub name: &'static str,
    /// What it records.
    pub doc: &'static str,
    /// Its keys besides `name`, `kind` and `target`: (key, required, meaning).
    pub keys: &'static [(&'static str, bool, &'static str)],
}

/// The monitors the core implements.
const BUILTIN_MONITORS: &[MonitorSpec] = &[
    MonitorSpec { name: "spikes", doc: "every spike of `target` (a population or a spike-source encoder): times in ms and neuron indices", keys: &[] },
    MonitorSpec {
        name: "state",
        doc: "state variables of some neurons of `target`, after each step's update",
        keys: &[
            ("variables", true, "a variable name or an array of them"),
            ("indices", false, "\"all\" (default) or an array of indices within the target"),
            ("every", false, "sampling period, a multiple of dt (default dt)"),
        ],
    },
    MonitorSpec { name: "rate", doc: "population rate of `target` (a population or a spike-source encoder) in Hz", keys: &[("bin", true, "bin width, a multiple of dt")] },
    MonitorSpec {
        name: "weights",
        doc: "the weights of `projection` (not `target`): mean, std, min, max and a histogram, and chosen synapses, every `every`; plotted in weights.svg",
        keys: &[
            ("projection", true, "the projection's name"),
            ("every", false, "sampling period, a multiple of dt (default dt)"),
            ("synapses", false, "indices of weights recorded one by one (into the stored weights: synapses, or kernel entries of a conv2d projection)"),
            ("bins", false, "histogram bins (default 20; 0: none)"),
            ("range", false, "histogram range [low, high] in the weight's unit (default: the first sample's min and max)"),
        ],
    },
];

/// The core's top-level scenario tables; a plugin's must differ.
pub const CORE_TABLES: &[&str] = &["simulation", "neuron_models", "population", "projection", "encoder", "monitor"];

/// Section names the core uses for its own state; a plugin's must differ.
pub const CORE_SECTIONS: &[&str] =
    &["clock", "modulators", "neuron_state", "input_ring", "spikes", "spike_history", "synapse_table", "encoder", "spike_recorder", "state_recorder", "rate_recorder", "weight_recorder", "end"];

/// Writes the state of one component of an entity; `None` when the entity has none.
pub(crate) type SaveFn = fn(&World, Entity, &mut StateWriter<'_>) -> Option<std::io::Result<()>>;
/// Loads the state of one component of an entity; `None` when the entity has none.
pub(crate) type LoadFn = fn(&mut World, Entity, &mut StateReader<'_>) -> Option<Result<(), StateError>>;

/// State the core saves into checkpoints: one component type (saved for every entity of
/// the simulation that holds it, in the simulation's entity order) or one resource.
#[derive(Clone)]
pub struct StateSection {
    /// Section name, unique (`neuron_state`, `my_plugin.counter`).
    pub name: &'static str,
    /// A component (per entity) or a resource (once).
    pub per_entity: bool,
    pub(crate) has: HasFn,
    pub(crate) save: SaveFn,
    pub(crate) load: LoadFn,
    /// A resource split over shards: one world's section from the shards' parts.
    pub(crate) merge: Option<MergeFn>,
}

/// [`MergeParts::merge_parts`] of a world's resource; `None` when the world has none.
pub(crate) type MergeFn = fn(&World, &[&[u8]], &mut StateWriter<'_>) -> Option<std::io::Result<()>>;

/// Whether an entity (or the world, for a resource) holds the section's state.
pub(crate) type HasFn = fn(&World, Entity) -> bool;

impl StateSection {
    /// Component `C`, saved for every entity of the simulation that holds it.
    pub(crate) fn component<C: Component<Mutability = bevy_ecs::component::Mutable> + Checkpoint>(name: &'static str) -> Self {
        StateSection { name, per_entity: true, has: has_component::<C>, save: save_component::<C>, load: load_component::<C>, merge: None }
    }

    /// Resource `R`, saved once.
    pub(crate) fn resource<R: Resource<Mutability = bevy_ecs::component::Mutable> + Checkpoint>(name: &'static str) -> Self {
        StateSection { name, per_entity: false, has: has_resource::<R>, save: save_resource::<R>, load: load_resource::<R>, merge: None }
    }

    /// Resource `R`, split over shards: saved once, as one world's section merged from
    /// every shard's part.
    pub(crate) fn split_resource<R: Resource<Mutability = bevy_ecs::component::Mutable> + MergeParts>(name: &'static str) -> Self {
        StateSection { merge: Some(merge_resource::<R>), ..Self::resource::<R>(name) }
    }
}

fn has_component<C: Component>(w: &World, e: Entity) -> bool {
    w.get::<C>(e).is_some()
}

fn has_resource<R: Resource>(w: &World, _: Entity) -> bool {
    w.contains_resource::<R>()
}

fn save_component<C: Component + Checkpoint>(w: &World, e: Entity, out: &mut StateWriter<'_>) -> Option<std::io::Result<()>> {
    w.get::<C>(e).map(|c| c.save_state(out))
}

fn load_component<C: Component<Mutability = bevy_ecs::component::Mutable> + Checkpoint>(
    w: &mut World,
    e: Entity,
    inp: &mut StateReader<'_>,
) -> Option<Result<(), StateError>> {
    w.get_mut::<C>(e).map(|mut c| c.load_state(inp))
}

fn save_resource<R: Resource + Checkpoint>(w: &World, _: Entity, out: &mut StateWriter<'_>) -> Option<std::io::Result<()>> {
    w.get_resource::<R>().map(|r| r.save_state(out))
}

fn merge_resource<R: Resource + MergeParts>(w: &World, parts: &[&[u8]], out: &mut StateWriter<'_>) -> Option<std::io::Result<()>> {
    w.get_resource::<R>().map(|r| r.merge_parts(parts, out))
}

fn load_resource<R: Resource<Mutability = bevy_ecs::component::Mutable> + Checkpoint>(w: &mut World, _: Entity, inp: &mut StateReader<'_>) -> Option<Result<(), StateError>> {
    w.get_resource_mut::<R>().map(|mut r| r.load_state(inp))
}

/// Adds a plugin's systems to a world's schedule (or not: see `SimBuilder::add_systems_when`).
pub(crate) type SystemsHook = Arc<dyn Fn(&mut Schedule, &mut World) + Send + Sync>;
/// Runs on the built world (resources, components of the plugin); an error aborts the build.
pub(crate) type WorldHook = Arc<dyn Fn(&mut World) -> Result<(), String> + Send + Sync>;
/// Arrays a plugin writes with the outputs.
pub(crate) type OutputHook = Arc<dyn Fn(&World) -> Vec<crate::api::output::OutputArray> + Send + Sync>;
/// Populations a plugin runs, for the summary and the manifest.
pub(crate) type PopulationHook = Arc<dyn Fn(&World) -> Vec<crate::api::output::PluginPopulation> + Send + Sync>;

/// Everything that can be named in a scenario, and everything plugins add to a world.
#[derive(Clone, Default)]
pub struct Registry {
    /// Neuron models by name.
    pub neuron_models: BTreeMap<&'static str, Arc<dyn NeuronModel>>,
    /// Encoders by name.
    pub encoders: BTreeMap<&'static str, Arc<dyn EncoderFactory>>,
    /// Connection rules by name.
    pub rules: BTreeMap<&'static str, RuleSpec>,
    /// Monitor kinds by name.
    pub monitors: BTreeMap<&'static str, MonitorSpec>,
    /// Projection sub-tables by key.
    pub addon_tables: BTreeMap<&'static str, AddonTable>,
    /// Projection add-ons by (sub-table, name).
    pub addons: BTreeMap<(&'static str, &'static str), Arc<dyn ProjectionAddon>>,
    /// Languages a scenario's `[neuron_models.NAME]` tables are written in, by name.
    pub model_languages: BTreeMap<&'static str, Arc<dyn crate::api::language::ModelLanguage>>,
    /// Plugins' top-level scenario tables by key.
    pub scenario_tables: BTreeMap<&'static str, Arc<dyn ScenarioTable>>,
    /// Checkpointed state, in registration order (which is the order in checkpoints).
    pub sections: Vec<StateSection>,
    pub(crate) systems: Vec<SystemsHook>,
    pub(crate) world_hooks: Vec<WorldHook>,
    pub(crate) outputs: Vec<OutputHook>,
    pub(crate) population_reports: Vec<PopulationHook>,
}

impl Registry {
    /// The add-ons registered for sub-table `table`, by name.
    pub fn addons_of(&self, table: &str) -> Vec<&Arc<dyn ProjectionAddon>> {
        self.addons.iter().filter(|((t, _), _)| *t == table).map(|(_, a)| a).collect()
    }
}

/// A model whose step is given as a [`crate::api::program::Program`] (a model language
/// builds one; a traced [`NeuronDynamics`] is one), with its initial values: the cpu
/// engine interprets it over chunks of neurons, the tensor engine runs it as tensor
/// operations, the device engine compiles it. Every engine runs the program's operations
/// in order, so the cpu engine and the device engine's host reference give the same bits.
///
/// # Errors
/// If the program is not well formed (an operand used before it is defined, a constant,
/// output or spike mask out of range, a different number of variables than `initial`).
pub fn prepared_program(program: crate::api::program::Program, initial: Vec<f64>) -> Result<Arc<dyn crate::api::model::PreparedModel>, String> {
    Ok(Arc::new(crate::kernel::program_step::ProgramStep::new(program, initial)?))
}

/// Names for messages: `a, b, c`.
pub fn names<V>(m: &BTreeMap<&'static str, V>) -> String {
    m.keys().copied().collect::<Vec<_>>().join(", ")
}

/// Collects plugins' registrations, then builds a `Sim` from a scenario.
pub struct SimBuilder {
    pub(crate) registry: Registry,
    errors: Vec<String>,
    pub(crate) shuffle_seed: Option<u64>,
}

impl Default for SimBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SimBuilder {
    /// A builder with the core's own rules, sub-tables and monitors registered.
    pub fn new() -> Self {
        let mut b = SimBuilder { registry: Registry::default(), errors: Vec::new(), shuffle_seed: None };
        for r in crate::rules::builtin_rules() {
            b.add_connection_rule(r);
        }
        b.add_addon_table(AddonTable {
            table: "synapse",
            selector: "model",
            doc: "what a spike does at delivery; `synapse = \"static\"` (the default) adds the weight",
        });
        b.add_addon_table(AddonTable { table: "plasticity", selector: "rule", doc: "a learning rule that changes the projection's weights" });
        for m in BUILTIN_MONITORS {
            b.add_monitor_kind(m.clone());
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

    /// Records a registration mistake; [`SimBuilder::check`] (called by every build)
    /// reports the first one.
    pub fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    fn insert_unique<V>(errors: &mut Vec<String>, map: &mut BTreeMap<&'static str, V>, what: &str, name: &'static str, v: V) {
        if map.contains_key(name) {
            errors.push(format!("{what} `{name}` is registered twice"));
        } else {
            map.insert(name, v);
        }
    }

    /// Registers a clock-driven neuron model.
    pub fn add_neuron_model<M: NeuronDynamics>(&mut self) -> &mut Self {
        if let Some(e) = Self::model_error::<M>() {
            self.error(e);
            return self;
        }
        Self::insert_unique(&mut self.errors, &mut self.registry.neuron_models, "neuron model", M::NAME, crate::kernel::neuron_model::<M>(None));
        self
    }

    /// Registers a clock-driven neuron model `M` that holds its parameters per population,
    /// with `E`, the same model reading some of them per neuron (constant rows): a
    /// population given per-neuron values of those runs `E`, every other one `M`, whose
    /// fused loop keeps them as constants. `E` has `M`'s name, parameters (the same keys,
    /// some marked [`ParamSpec::per_neuron`](crate::api::model::ParamSpec::per_neuron)),
    /// choices and receptors, and gives the same bits for the same values.
    pub fn add_neuron_model_varying<M: NeuronDynamics, E: NeuronDynamics>(&mut self) -> &mut Self {
        if let Some(e) = Self::model_error::<M>().or_else(Self::model_error::<E>) {
            self.error(e);
            return self;
        }
        // The same keys with the same dimensions and defaults: a population switching to `E`
        // when one value becomes a list must read every other one alike.
        let names = |p: &[crate::api::model::ParamSpec]| p.iter().map(|p| (p.name, p.dim, p.default.map(f64::to_bits), p.required, p.weight_unit)).collect::<Vec<_>>();
        let evolving = |v: &[crate::api::model::VarSpec], constant: usize| v[..v.len() - constant].iter().map(|v| (v.name, v.dim)).collect::<Vec<_>>();
        let receptors = |r: &[crate::api::model::ReceptorSpec]| r.iter().map(|r| (r.name, r.kind)).collect::<Vec<_>>();
        let choices = |c: &[crate::api::model::ChoiceSpec]| c.iter().map(|c| (c.name, c.options)).collect::<Vec<_>>();
        if E::NAME != M::NAME
            || names(E::PARAMS) != names(M::PARAMS)
            || choices(E::CHOICES) != choices(M::CHOICES)
            || receptors(E::RECEPTORS) != receptors(M::RECEPTORS)
            || evolving(E::VARS, E::CONSTANT_VARS) != evolving(M::VARS, M::CONSTANT_VARS)
            || M::PARAMS.iter().any(|p| p.per_neuron)
            || !E::PARAMS.iter().any(|p| p.per_neuron)
        {
            self.error(format!(
                "neuron model `{}`: its per-neuron form `{}` must have the same name, parameters (dimensions, defaults), choices, receptors and evolving state variables, and be the only one with per-neuron parameters",
                M::NAME,
                E::NAME
            ));
            return self;
        }
        let variant = crate::kernel::neuron_model::<E>(None);
        Self::insert_unique(&mut self.errors, &mut self.registry.neuron_models, "neuron model", M::NAME, crate::kernel::neuron_model::<M>(Some(variant)));
        self
    }

    /// Why model `M` cannot be registered, if it cannot.
    fn model_error<M: NeuronDynamics>() -> Option<String> {
        if M::VARS.len() > MAX_VARS || M::RECEPTORS.len() > MAX_VARS {
            return Some(format!(
                "neuron model `{}` declares {} state variables and {} receptors; at most {MAX_VARS} of each are supported",
                M::NAME,
                M::VARS.len(),
                M::RECEPTORS.len()
            ));
        }
        if M::VARS.is_empty() {
            return Some(format!("neuron model `{}` declares no state variable", M::NAME));
        }
        // Per-neuron parameters live in constant rows, after at least one evolving variable.
        if M::CONSTANT_VARS >= M::VARS.len() || (M::CONSTANT_VARS == 0 && M::PARAMS.iter().any(|p| p.per_neuron)) {
            return Some(format!(
                "neuron model `{}` declares {} constant rows among {} state variables: it needs at least one evolving variable, and one constant row to hold per-neuron parameters",
                M::NAME,
                M::CONSTANT_VARS,
                M::VARS.len()
            ));
        }
        None
    }

    /// Registers a language in which scenarios define neuron models
    /// (`[neuron_models.NAME]`, `language = "..."`).
    pub fn add_model_language(&mut self, l: impl crate::api::language::ModelLanguage + 'static) -> &mut Self {
        let name = l.name();
        Self::insert_unique(&mut self.errors, &mut self.registry.model_languages, "model language", name, Arc::new(l) as Arc<dyn crate::api::language::ModelLanguage>);
        self
    }

    /// Registers an encoder.
    pub fn add_encoder(&mut self, f: impl EncoderFactory + 'static) -> &mut Self {
        let name = f.name();
        Self::insert_unique(&mut self.errors, &mut self.registry.encoders, "encoder", name, Arc::new(f) as Arc<dyn EncoderFactory>);
        self
    }

    /// Registers a connection rule.
    pub fn add_connection_rule(&mut self, r: RuleSpec) -> &mut Self {
        let name = r.name;
        Self::insert_unique(&mut self.errors, &mut self.registry.rules, "connection rule", name, r);
        self
    }

    /// Registers a monitor kind. The core implements `spikes`, `state` and `rate`.
    pub(crate) fn add_monitor_kind(&mut self, m: MonitorSpec) -> &mut Self {
        let name = m.name;
        Self::insert_unique(&mut self.errors, &mut self.registry.monitors, "monitor", name, m);
        self
    }

    /// Declares a sub-table of projections (`[projection.TABLE]`) whose `selector` key names
    /// an add-on. The core declares `synapse` (selector `model`) and `plasticity` (`rule`).
    pub fn add_addon_table(&mut self, t: AddonTable) -> &mut Self {
        const CORE_KEYS: &[&str] = &["name", "from", "to", "rule", "receptor", "weight", "delay", "allow_autapses", "allow_multapses", "p", "indegree", "outdegree", "n"];
        if CORE_KEYS.contains(&t.table) {
            self.error(format!("projection sub-table `{}` would hide the core's key of that name", t.table));
            return self;
        }
        let name = t.table;
        Self::insert_unique(&mut self.errors, &mut self.registry.addon_tables, "projection sub-table", name, t);
        self
    }

    /// Registers a projection add-on (a synapse model, a plasticity rule...) in its table.
    pub fn add_projection_addon(&mut self, a: impl ProjectionAddon + 'static) -> &mut Self {
        let key = (a.table(), a.name());
        if a.table() == "synapse" && a.name() == "static" {
            self.error("synapse model `static` is the core's (no dynamics); choose another name");
            return self;
        }
        match self.registry.addons.entry(key) {
            std::collections::btree_map::Entry::Occupied(_) => self.errors.push(format!("`{}` add-on `{}` is registered twice", key.0, key.1)),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Arc::new(a));
            }
        }
        self
    }

    /// Registers a top-level scenario table of the plugin's (`[train]`).
    pub fn add_scenario_table(&mut self, t: impl ScenarioTable + 'static) -> &mut Self {
        let name = t.name();
        if CORE_TABLES.contains(&name) {
            self.error(format!("scenario table `{name}` is the core's"));
            return self;
        }
        Self::insert_unique(&mut self.errors, &mut self.registry.scenario_tables, "scenario table", name, Arc::new(t) as Arc<dyn ScenarioTable>);
        self
    }

    /// Adds systems into one of the ordered sets. They run on every simulation this builder
    /// makes; a system that must act only on some projections or populations queries for
    /// a component the plugin attaches to them.
    pub fn add_systems<M>(&mut self, set: SimSystems, systems: impl IntoScheduleConfigs<ScheduleSystem, M> + Clone + Send + Sync + 'static) -> &mut Self {
        self.add_systems_when(set, systems, |_| true)
    }

    /// Adds systems as [`SimBuilder::add_systems`] does, to the worlds for which `when`
    /// holds once the network is built (after every world hook and scenario table): the
    /// systems of a feature a scenario does not use stay out of its schedule. Every system
    /// run costs ~45 ns a step, even one that returns at once; at 4000 neurons a step is
    /// ~4.5 us. `when` must hold wherever the systems have work in any step of the run: a
    /// world never gains the resources or components it is asked about later.
    pub fn add_systems_when<M>(&mut self, set: SimSystems, systems: impl IntoScheduleConfigs<ScheduleSystem, M> + Clone + Send + Sync + 'static, when: impl Fn(&mut World) -> bool + Send + Sync + 'static) -> &mut Self {
        self.registry.systems.push(Arc::new(move |s: &mut Schedule, w: &mut World| {
            if when(w) {
                s.add_systems(systems.clone().in_set(set));
            }
        }));
        self
    }

    /// Runs `hook` on every world this builder makes, once the network is built (all
    /// entities and the core's resources exist): to insert resources, or components on
    /// populations and projections. An error aborts the build with the plugin's message.
    pub fn add_world_hook(&mut self, hook: impl Fn(&mut World) -> Result<(), String> + Send + Sync + 'static) -> &mut Self {
        self.registry.world_hooks.push(Arc::new(hook));
        self
    }

    /// Writes the arrays `hook` returns (from the world at the end of the run, or when
    /// outputs are written) as `NAME.QUANTITY.npy` beside the monitors' files, listed in
    /// the manifest. A name taken by a monitor or another array is an error at writing.
    pub fn add_output(&mut self, hook: impl Fn(&World) -> Vec<crate::api::output::OutputArray> + Send + Sync + 'static) -> &mut Self {
        self.registry.outputs.push(Arc::new(hook));
        self
    }

    /// Lists the populations `hook` returns (from the world when the outputs are written)
    /// in the run's summary and the manifest's `populations`, beside the clock-driven ones:
    /// for a plugin that runs neurons of its own (event-driven populations).
    pub fn add_population_report(&mut self, hook: impl Fn(&World) -> Vec<crate::api::output::PluginPopulation> + Send + Sync + 'static) -> &mut Self {
        self.registry.population_reports.push(Arc::new(hook));
        self
    }

    /// Inserts a clone of `resource` into every world this builder makes.
    pub fn insert_resource<R: Resource + Clone + Send + Sync>(&mut self, resource: R) -> &mut Self {
        self.add_world_hook(move |w: &mut World| {
            w.insert_resource(resource.clone());
            Ok(())
        })
    }

    fn add_section(&mut self, s: StateSection) -> &mut Self {
        if self.registry.sections.iter().any(|x| x.name == s.name) || CORE_SECTIONS.contains(&s.name) {
            self.error(format!("checkpoint section `{}` is registered twice", s.name));
        } else if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            self.error(format!("checkpoint section name `{}` must be non-empty ASCII letters, digits, `_`, `.`, `-`", s.name));
        } else {
            self.registry.sections.push(s);
        }
        self
    }

    /// Saves component `C` into checkpoints, for every entity of the simulation that holds
    /// it, under section `name` (unique; prefix it with the plugin's name). On load, the
    /// core checks that `C` read all its bytes and that saving it again gives them back.
    pub fn add_component_state<C: Component<Mutability = bevy_ecs::component::Mutable> + Checkpoint>(&mut self, name: &'static str) -> &mut Self {
        self.add_section(StateSection::component::<C>(name))
    }

    /// Saves resource `R` into checkpoints under section `name`, with the same checks.
    pub fn add_resource_state<R: Resource<Mutability = bevy_ecs::component::Mutable> + Checkpoint>(&mut self, name: &'static str) -> &mut Self {
        self.add_section(StateSection::resource::<R>(name))
    }

    /// Saves resource `R`, which each shard of a partitioned network holds a part of, into
    /// checkpoints under section `name`: one world's section, merged from the shards'
    /// parts ([`MergeParts`]), with the same checks.
    pub fn add_split_resource_state<R: Resource<Mutability = bevy_ecs::component::Mutable> + MergeParts>(&mut self, name: &'static str) -> &mut Self {
        self.add_section(StateSection::split_resource::<R>(name))
    }

    /// For tests: the schedules this builder makes order the systems that no constraint
    /// orders (those of one set) by a shuffle with this seed. Results must not change: a
    /// system whose effect depends on its place within a set is a bug.
    pub fn shuffle_systems(&mut self, seed: Option<u64>) -> &mut Self {
        self.shuffle_seed = seed;
        self
    }

    /// Fails if any registration was a mistake (a duplicate name, a model too large, an
    /// add-on for a sub-table nobody declared).
    pub fn check(&self) -> crate::Result<()> {
        if let Some(e) = self.errors.first() {
            return Err(crate::Error::Registry(e.clone()));
        }
        if let Some((t, n)) = self.registry.addons.keys().find(|(t, _)| !self.registry.addon_tables.contains_key(t)) {
            return Err(crate::Error::Registry(format!("add-on `{n}` is registered for the projection sub-table `{t}`, which no plugin declares (add_addon_table)")));
        }
        Ok(())
    }
}
