//! What the shards of a partitioned network share: the links over which they exchange
//! spikes and state samples every step (`engine::exchange`, `docs/sharding.md`).

use bevy_ecs::prelude::*;

/// A shard's links to the other shards of its network: one channel to and from each.
/// After its update, a shard sends its populations' spikes (population indices) to every
/// other shard and appends theirs in shard order, so that every shard delivers and
/// records the whole network's spikes (`engine::exchange`).
#[derive(Resource)]
pub struct ShardLink {
    /// This shard's index.
    pub(crate) index: usize,
    /// Populations in scenario order (the order of a message's lists).
    pub(crate) populations: Vec<Entity>,
    /// To shard `k` (`None` at this shard's own index).
    pub(crate) to: Vec<Option<crossbeam_channel::Sender<ShardMessage>>>,
    /// From shard `k` (`None` at this shard's own index).
    pub(crate) from: Vec<Option<crossbeam_channel::Receiver<ShardMessage>>>,
    /// The network's state monitors, in scenario order: every shard samples the neurons
    /// it holds and sends them to shard 0, which records them.
    pub(crate) watches: Vec<Watch>,
    /// Links found broken (the other shard panicked, or never answered): skipped after.
    pub(crate) dead: Vec<bool>,
    /// Set by the exchange of a step in which some shard had stopped (a fault): every
    /// shard learns it in that same step and steps no further, so all stop together,
    /// where one world would (for faults raised before the exchange).
    pub(crate) halted: bool,
}

/// What one shard sends another each step: each population's spikes (population
/// indices, ascending); to shard 0, the state samples of its neurons that the state
/// monitors ask for this step ([`Watch`] order, variable by variable, index by index);
/// and whether it has stopped (a fault): a stopped shard still sends every step of the
/// batch, so that no shard waits for it.
pub(crate) type ShardMessage = (Vec<Vec<u32>>, Vec<f64>, bool);

/// A state monitor as every shard sees it.
pub(crate) struct Watch {
    /// The population (this world's entity).
    pub(crate) population: Entity,
    /// Variable indices.
    pub(crate) vars: Vec<usize>,
    /// Neuron indices (population indices), in the monitor's order.
    pub(crate) indices: Vec<usize>,
    /// The shard holding each of `indices`.
    pub(crate) owner: Vec<u32>,
    /// Period in steps.
    pub(crate) every: u64,
    /// The recorder (shard 0's entity).
    pub(crate) monitor: Entity,
}

/// Shard 0's state samples of this step, per recorder: per variable, the values in the
/// monitor's index order (gathered by the exchange; `monitor::record` takes them in place
/// of its own world's state, which holds only shard 0's neurons).
#[derive(Resource, Default)]
pub struct ShardSamples(pub(crate) Vec<(Entity, Vec<Vec<f64>>)>);
