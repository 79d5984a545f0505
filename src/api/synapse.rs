//! Synapses as a plugin sees them: what a spike does at delivery, and per-synapse state.
//!
//! Every projection keeps a synapse table (`net::synapse::SynapseTable`): CSR by source,
//! weights, delays, a derived index by target, and the per-synapse state arrays that
//! plugins declare ([`SynapseVarSpec`]). The core checkpoints all of it. A projection
//! without [`SynapseDynamics`] (`synapse = "static"`) adds the weight of each synapse to
//! its target's receptor; one with dynamics lets the plugin say what each synapse adds.

use std::ops::Range;

/// A synapse model that is a gated first-order filter of its source's spikes, the same for
/// every synapse of a source: every step `i ← i − (1 − s)·i/tau_steps + amplitude·s`
/// (computed as `i + amplitude` where `s = 1`, `i + (−i/tau_steps)` where `s = 0`), and the
/// target receives `w·i` (SpikingFlow's `ExpDecayCurrent` and `LowPassSynapse`). Tools that
/// re-implement a network on tensors (surrogate-gradient training) read it from
/// [`SynapseDynamics::spike_filter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpikeFilter {
    /// Time constant, in steps.
    pub tau_steps: f64,
    /// What a spike adds.
    pub amplitude: f64,
}

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

/// Every synapse of a table, once per step, for a synapse model whose output lasts beyond
/// the spike (a decaying current, a filter, noise): see [`SynapseDynamics::continuous`].
pub struct SynapseStep<'a> {
    /// The step being computed.
    pub step: u64,
    /// Sources (relative to the projection's selection, ascending) that spiked this step.
    pub pre: &'a [u32],
    /// CSR offsets: the synapses of relative source `s` are `row_ptr[s]..row_ptr[s + 1]`.
    pub row_ptr: &'a [u64],
    /// Target neuron of every synapse (population-wide index).
    pub targets: &'a [u32],
    /// Weight of every synapse.
    pub weight: &'a [f64],
    /// The per-synapse state arrays this add-on declared, in its order.
    pub vars: &'a mut [Vec<f64>],
}

/// What a presynaptic spike does when it reaches its synapses: Tsodyks–Markram depression,
/// facilitation, or anything that keeps state per synapse. Stateless itself: its state is
/// in the per-synapse arrays it declares, which the core stores and checkpoints.
///
/// Two kinds: an *event* model (the default) is called only for the rows of sources that
/// spiked ([`SynapseDynamics::on_pre`]); a *continuous* model ([`SynapseDynamics::continuous`]
/// returns true) is called every step for the whole table ([`SynapseDynamics::on_step`]),
/// which costs O(synapses) per step: meant for SpikingFlow-style transforms (decaying
/// currents, low-pass filters, noise), not for 10^8-synapse networks.
pub trait SynapseDynamics: Send + Sync {
    /// Event models: called for each spiking source row, in delivery order (projection by
    /// projection in scenario order, source ascending). Writes into `effect[k]` what synapse
    /// `row.synapses.start + k` adds to its target's receptor after its delay, and updates
    /// the synapses' state. The default adds the weight (a static synapse).
    fn on_pre(&self, row: PreSpike<'_>, effect: &mut [f64]) {
        effect.copy_from_slice(&row.weight[row.synapses]);
    }

    /// Whether the model is continuous: `on_step` every step instead of `on_pre`.
    fn continuous(&self) -> bool {
        false
    }

    /// Continuous models: called once per step (in delivery order, after this step's spikes
    /// are known), with the sources that spiked this step. Writes into `effect[k]` what
    /// synapse `k` adds to its target's receptor after its delay (every synapse, every step:
    /// `0.0` for nothing), and into `direct[t]` what target neuron `t` (population-wide)
    /// receives besides (noise drawn per target): `direct` arrives after the projection's
    /// smallest delay. Both buffers come zeroed. Whatever `effect` or `direct` carry at step
    /// `t` with delay `d` acts in the update of step `t + 1 + d`, as a spike would.
    fn on_step(&self, _s: SynapseStep<'_>, _effect: &mut [f64], _direct: &mut [f64]) {}

    /// `Some` when the model is a [`SpikeFilter`] (a continuous model whose state follows
    /// the filter's update exactly), so that tools that re-implement the network on tensors
    /// can take it; `None` (the default) for every other model.
    fn spike_filter(&self) -> Option<SpikeFilter> {
        None
    }
}
