//! A plugin's sub-table of a projection: `[projection.synapse]` (a synapse model),
//! `[projection.plasticity]` (a learning rule), or a table a plugin declares itself.
//!
//! ```toml
//! [[projection]]
//! name = "ee"
//! # ...
//! plasticity = { rule = "my_rule", a_plus = 0.01 }
//! ```
//!
//! The table's selector key (`rule` for `plasticity`, `model` for `synapse`) names a
//! registered [`ProjectionAddon`]; the add-on reads its keys from the [`Table`], which then
//! fails on any key it did not read, with `file:line:col`, the key and the valid keys, as
//! for the core's own keys. Parsing builds only a plain [`AddonConfig`]; the core calls it
//! again when it builds the network, to attach components to the projection's entity and
//! to declare per-synapse state.

use std::sync::Arc;

use bevy_ecs::world::EntityWorldMut;

use crate::api::model::ParamSpec;
use crate::api::synapse::{SynapseDynamics, SynapseVarSpec};
use crate::util::error::ScenarioError;
use crate::util::table::Table;

/// What an add-on is told about the projection whose table it reads.
#[derive(Clone, Debug)]
pub struct AddonCtx {
    /// The run's seed.
    pub seed: u64,
    /// The projection's stream key.
    pub entity: u32,
    /// The projection's name.
    pub projection: String,
    /// Step, ms.
    pub dt_ms: f64,
    /// Sources in the projection's selection.
    pub n_src: usize,
    /// Targets in the projection's selection.
    pub n_tgt: usize,
    /// Population index of the first selected target.
    pub tgt_start: usize,
    /// Dimension of the target receptor (the unit of weights and of what synapses add).
    pub receptor_dim: crate::util::units::Dim,
    /// The projection shares a kernel (`rule = "conv2d"`): its weights are the kernel's
    /// entries, each used by many synapses (`SynapseTable::kernel_index`).
    pub shared_kernel: bool,
}

/// One kind of sub-table entry, registered by a plugin.
pub trait ProjectionAddon: Send + Sync {
    /// The sub-table it belongs to (`plasticity`, `synapse`, or one the plugin declared).
    fn table(&self) -> &'static str;
    /// The selector value that picks it (`rule = "stdp"` → `stdp`).
    fn name(&self) -> &'static str;
    /// What it does (shown by `spikeworld info`).
    fn doc(&self) -> &'static str;
    /// Its keys, documented.
    fn keys(&self) -> &'static [ParamSpec];
    /// Reads its keys and returns its configuration. Must not allocate anything that
    /// grows with the network: that happens in [`AddonConfig::attach`].
    fn parse(&self, table: &mut Table<'_>, ctx: &AddonCtx) -> Result<Arc<dyn AddonConfig>, ScenarioError>;
}

/// A parsed sub-table: what it adds to its projection when the network is built.
pub trait AddonConfig: Send + Sync {
    /// Per-synapse state arrays it needs (stored in the synapse table, checkpointed).
    fn synapse_vars(&self) -> Vec<SynapseVarSpec> {
        Vec::new()
    }
    /// What a spike does at delivery, if not `+= w` (a synapse model). At most one add-on
    /// of a projection may return one.
    fn dynamics(&self) -> Option<Arc<dyn SynapseDynamics>> {
        None
    }
    /// Bytes per synapse its components hold besides `synapse_vars` (a rule's pending
    /// updates, eligibility, scratch): counted in the memory estimate checked before the
    /// network is built. An upper bound is fine.
    fn bytes_per_synapse(&self) -> usize {
        0
    }
    /// Whether it works on projections whose synapses share weights (a `conv2d` kernel:
    /// the synapse table's `kernel_index`). Such add-ons must update `weight[kernel_index[k]]`
    /// for synapse `k`, and may not declare per-synapse arrays.
    fn shared_weights(&self) -> bool {
        false
    }
    /// Inserts the add-on's components into the projection's entity (which already holds
    /// its `SynapseTable`).
    fn attach(&self, _entity: &mut EntityWorldMut<'_>) {}
    /// Whether it gives one world's bits in a sharded network (`--shards K`,
    /// `docs/sharding.md`), or why not (said after its name: "does not ..."). A shard's
    /// table holds the synapses onto its own targets, with one world's indices for targets
    /// and sources, the whole network's spikes, and the projection's longest delay
    /// (`SynapseTable::max_delay`); its synapses are numbered from 0, and a component is
    /// saved from shard 0 alone. Refused unless the add-on says so.
    fn in_shards(&self) -> Result<(), &'static str> {
        Err("does not say that it can run in shards (`AddonConfig::in_shards`)")
    }
    /// On a projection that shares a kernel (`conv2d`), whether it gives one world's bits
    /// in a sharded network: every shard holds the whole kernel and the synapses onto its
    /// own targets, so a rule must sum each entry's changes over every shard's synapses
    /// (`net::plastic::EntrySums`) for every shard's copy to learn the same. Refused unless
    /// the add-on says so.
    fn kernel_in_shards(&self) -> bool {
        false
    }
}

/// A sub-table of projections and the key that selects an add-on in it.
#[derive(Clone, Debug)]
pub struct AddonTable {
    /// The key in `[[projection]]` (`plasticity`).
    pub table: &'static str,
    /// The key inside it that names the add-on (`rule`).
    pub selector: &'static str,
    /// What it is for.
    pub doc: &'static str,
}

/// What a top-level table is told about the scenario it belongs to.
#[derive(Clone, Debug)]
pub struct TableCtx {
    /// The run's seed.
    pub seed: u64,
    /// Step, ms.
    pub dt_ms: f64,
    /// Steps of the run.
    pub steps: u64,
    /// Population names, in scenario order.
    pub populations: Vec<String>,
    /// Projection names, in scenario order.
    pub projections: Vec<String>,
    /// Encoder names, in scenario order.
    pub encoders: Vec<String>,
    /// Population sizes (as `populations`).
    pub population_sizes: Vec<usize>,
    /// Each population's receptor names.
    pub population_receptors: Vec<Vec<&'static str>>,
    /// Encoder sizes (as `encoders`), and whether each emits spikes (else a current).
    pub encoder_sizes: Vec<(usize, bool)>,
    /// The scenario file's directory: files a table names are relative to it.
    pub base_dir: std::path::PathBuf,
    /// What the plugin tables parsed before this one define ([`TableConfig::defines`]),
    /// in parse order: tables are parsed after those they name ([`ScenarioTable::after`]).
    pub defined: Vec<Defined>,
}

/// A named thing a plugin table defines (an event source, say), for later tables to name.
#[derive(Clone, Debug, PartialEq)]
pub struct Defined {
    /// The defining table's key.
    pub table: &'static str,
    /// The thing's name.
    pub name: String,
    /// Its size (neurons, channels).
    pub size: usize,
}

/// A top-level table of scenarios that belongs to a plugin (`[train]`, `[event_queue]`):
/// parsed as strictly as the core's tables (the core fails on any key the plugin did not
/// read), after every population, projection, encoder and monitor.
pub trait ScenarioTable: Send + Sync {
    /// The table's key (`train`).
    fn name(&self) -> &'static str;
    /// What it is for (shown by `spikeworld info`).
    fn doc(&self) -> &'static str;
    /// Its keys, documented.
    fn keys(&self) -> &'static [ParamSpec];
    /// Reads its keys; returns its configuration (nothing large is built here).
    fn parse(&self, table: &mut Table<'_>, ctx: &TableCtx) -> Result<Arc<dyn TableConfig>, ScenarioError>;

    /// Keys of the plugin tables whose definitions this one names: they are parsed first.
    fn after(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A parsed top-level table: what it puts into the world when the network is built.
pub trait TableConfig: Send + Sync {
    /// Inserts resources (or components) into the built world, before plugins' world hooks
    /// run.
    fn insert(&self, world: &mut bevy_ecs::world::World);

    /// Names (and sizes) this item defines for tables parsed after it
    /// ([`TableCtx::defined`]).
    fn defines(&self) -> Option<(String, usize)> {
        None
    }

    /// Whether what it inserts gives one world's bits in every shard of a sharded network,
    /// or why not (said after the table's name). Every shard holds its own copy of what it
    /// inserts and runs its systems; such a network exchanges spikes every step, so that
    /// `Spikes` and `SpikeHistory` after `SimSystems::Integrate` hold the whole network's
    /// spikes each step, as in one world. Resources are saved from shard 0. Refused unless
    /// the table says so.
    fn in_shards(&self) -> Result<(), &'static str> {
        Err("does not say that it can run in shards (`TableConfig::in_shards`)")
    }
}
