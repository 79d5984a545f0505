//! What a rule's `ProjectionAddon::parse` returns: [`Rule`], a parsed rule whose component
//! is made from the built synapse table, with what the core must know about it before the
//! network is built (shared kernels, per-synapse arrays, memory, shards).

use std::sync::Arc;

use bevy_ecs::component::Component;

use crate::api::addon::AddonConfig;
use crate::api::synapse::SynapseVarSpec;
use crate::net::synapse::SynapseTable;

/// A parsed rule: `f` makes its component from the projection's built synapse table (so
/// that trace rings can be sized from [`SynapseTable::max_delay`] and per-synapse scratch
/// from its length), inserted into the projection's entity. Built by [`rule`], then
/// described by its methods; `Arc::new(rule)` (or `.into()`) is what `parse` returns.
pub struct Rule<F> {
    f: F,
    shared_weights: bool,
    bytes_per_synapse: usize,
    synapse_vars: Vec<SynapseVarSpec>,
    in_shards: Result<(), &'static str>,
    kernel_in_shards: bool,
}

/// A rule whose component `f` makes from the built synapse table; by default it works on
/// a projection's own weights only, declares no per-synapse arrays, holds nothing per
/// synapse, and is refused in sharded networks until it says it can run there
/// ([`Rule::in_shards`]).
pub fn rule<C, F>(f: F) -> Rule<F>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync + 'static,
{
    Rule { f, shared_weights: false, bytes_per_synapse: 0, synapse_vars: Vec::new(), in_shards: Err(NOT_DECLARED), kernel_in_shards: false }
}

const NOT_DECLARED: &str = "does not say that it can run in shards (`Rule::in_shards`)";

impl<F> Rule<F> {
    /// It works on a `conv2d` kernel too (`AddonConfig::shared_weights`).
    pub fn shared_weights(mut self, yes: bool) -> Self {
        self.shared_weights = yes;
        self
    }
    /// What its component holds per synapse besides its declared arrays (pending updates,
    /// scratch), for the memory estimate; an upper bound is fine.
    pub fn bytes_per_synapse(mut self, bytes: usize) -> Self {
        self.bytes_per_synapse = bytes;
        self
    }
    /// A per-synapse array kept in the synapse table (found with [`SynapseTable::var`]):
    /// checkpointed with the table and, in a sharded network, gathered and split by row
    /// with it. A rule's per-synapse *state* must live here, not in its component.
    pub fn synapse_var(mut self, spec: SynapseVarSpec) -> Self {
        self.synapse_vars.push(spec);
        self
    }
    /// Several [`Rule::synapse_var`]s.
    pub fn synapse_vars(mut self, specs: impl IntoIterator<Item = SynapseVarSpec>) -> Self {
        self.synapse_vars.extend(specs);
        self
    }
    /// It gives one world's bits in a sharded network (`docs/sharding.md`): its
    /// component holds per-neuron state only (traces computed from one world's indices and
    /// spikes, the same in every shard), its per-synapse state lives in the table
    /// ([`Rule::synapse_var`]), nothing it computes sums over synapses of other targets,
    /// and nothing is keyed by a synapse's index in the table (a shard numbers its own
    /// synapses from 0).
    pub fn in_shards(mut self) -> Self {
        self.in_shards = Ok(());
        self
    }
    /// On a shared kernel it gives one world's bits in a sharded network: it sums each
    /// entry's changes over every shard's synapses (`net::plastic::EntrySums`), and its
    /// component's per-entry state is the same in every shard.
    pub fn kernel_in_shards(mut self) -> Self {
        self.kernel_in_shards = true;
        self
    }
    /// It cannot run in a sharded network, for `reason` (said after the rule's name:
    /// "sums over the whole projection").
    pub fn not_in_shards(mut self, reason: &'static str) -> Self {
        self.in_shards = Err(reason);
        self
    }
}

impl<C, F> AddonConfig for Rule<F>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync,
{
    fn synapse_vars(&self) -> Vec<SynapseVarSpec> {
        self.synapse_vars.clone()
    }
    fn attach(&self, e: &mut bevy_ecs::world::EntityWorldMut<'_>) {
        let c = e.get::<SynapseTable>().map(|t| (self.f)(t));
        if let Some(c) = c {
            e.insert(c);
        }
    }
    fn shared_weights(&self) -> bool {
        self.shared_weights
    }
    fn bytes_per_synapse(&self) -> usize {
        self.bytes_per_synapse
    }
    fn in_shards(&self) -> Result<(), &'static str> {
        self.in_shards
    }
    fn kernel_in_shards(&self) -> bool {
        self.kernel_in_shards
    }
}

impl<C, F> From<Rule<F>> for Arc<dyn AddonConfig>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync + 'static,
{
    fn from(r: Rule<F>) -> Self {
        Arc::new(r)
    }
}

/// [`rule`] in one call: `shared_weights` ([`Rule::shared_weights`]) and
/// `bytes_per_synapse` ([`Rule::bytes_per_synapse`]); refused in shards.
pub fn rule_config<C, F>(f: F, shared_weights: bool, bytes_per_synapse: usize) -> Arc<dyn AddonConfig>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync + 'static,
{
    Arc::new(rule(f).shared_weights(shared_weights).bytes_per_synapse(bytes_per_synapse))
}
