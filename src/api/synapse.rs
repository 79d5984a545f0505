//! Synapses as a plugin sees them: what a spike does at delivery, and per-synapse state.
//!
//! Every projection keeps a synapse table (`net::synapse::SynapseTable`): CSR by source,
//! weights, delays, a derived index by target, and the per-synapse state arrays that
//! plugins declare ([`SynapseVarSpec`]). The core checkpoints all of it. A projection
//! without [`SynapseDynamics`] (`synapse = "static"`) adds the weight of each synapse to
//! its target's receptor; one with dynamics lets the plugin say what each synapse adds.

use std::ops::Range;

/// A per-synapse state variable a plugin declares (an STDP trace, an STP resource).
#[derive(Clone, Debug, PartialEq)]
pub struct SynapseVarSpec {
    /// Name (unique within the projection; recorded and checkpointed under it).
    pub name: &'static str,
    /// Value of every synapse at the start.
    pub initial: f64,
    /// One line: what it is.
    pub doc: &'static str,
}

/// One source row of a synapse table, handed to [`SynapseDynamics::on_pre`].
pub struct PreSpike<'a> {
    /// The step at which the source spiked (the effect arrives after each synapse's delay).
    pub step: u64,
    /// The synapses of the row (indices into the table's arrays, CSR order).
    pub synapses: Range<usize>,
    /// Target neuron of every synapse of the table (population-wide index).
    pub targets: &'a [u32],
    /// Weight of every synapse of the table.
    pub weight: &'a [f64],
    /// The per-synapse state arrays this add-on declared, in its order (other add-ons'
    /// arrays of the same projection are not here).
    pub vars: &'a mut [Vec<f64>],
}

/// What a presynaptic spike does when it reaches its synapses: Tsodyks–Markram depression,
/// facilitation, or anything that keeps state per synapse. Stateless itself: its state is
/// in the per-synapse arrays it declares, which the core stores and checkpoints.
pub trait SynapseDynamics: Send + Sync {
    /// Called for each spiking source row, in delivery order (projection by projection in
    /// scenario order, source ascending). Writes into `effect[k]` what synapse
    /// `row.synapses.start + k` adds to its target's receptor after its delay, and updates
    /// the synapses' state.
    fn on_pre(&self, row: PreSpike<'_>, effect: &mut [f64]);
}
