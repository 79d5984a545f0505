//! The ordered stages of a step.

use bevy_ecs::schedule::SystemSet;

/// The ordered stages of a step (Brian2's schedule slots, in Bevy's style). Plugins put
/// their systems `in_set(...)` through [`crate::registry::SimBuilder::add_systems`]; the
/// core chains the sets once, and schedule ambiguity inside a set is an error.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Encoders produce spikes and currents for this step.
    Inputs,
    /// Input due now is in the populations' delay rings (the cpu engine reads it inside
    /// the fused update; nothing of the core runs here).
    Deliver,
    /// Clock-driven populations advance by `dt` (update, threshold and reset fused).
    Integrate,
    /// Spikes of this step enter the spike history and, through the synapse tables in
    /// scenario order, the delay rings of their targets.
    Propagate,
    /// Event-driven neurons are updated at exact times (priority queue).
    EventWindow,
    /// Plasticity rules update weights and per-synapse state.
    Plasticity,
    /// Monitors record.
    Record,
    /// The clock advances.
    Advance,
}
