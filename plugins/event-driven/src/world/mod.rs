//! Event-driven populations living in the same world as the clock-driven ones:
//! `[[event_population]]` ([`config`]) and the event window that runs them ([`run`]).
//! The timing of the coupling is drawn in `docs/event-driven.md`.

pub mod config;
mod crossings;
pub mod sources;
pub mod tempotron_pop;
pub mod learn;
pub mod run;

use spikeworld::prelude::*;

/// Registers `[[event_population]]`, its world hook, the event window, its checkpoint
/// section and its exact spike outputs.
pub struct EventDrivenPlugin;

impl Plugin for EventDrivenPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_scenario_table(sources::EventSourceTable)
            .add_scenario_table(config::EventPopulationTable)
            .add_scenario_table(learn::TempotronTable)
            .add_world_hook(run::build_event_net)
            .add_split_resource_state::<run::EventNet>("event_driven.net")
            // Only in worlds with event-driven populations (the hook above builds the net).
            .add_systems_when(SimSystems::EventWindow, run::event_window, |w| w.contains_resource::<run::EventNet>())
            .add_output(run::exact_spikes_output)
            .add_population_report(run::population_report);
    }
}
