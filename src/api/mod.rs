//! The plugin contract: every trait a plugin implements and every type it is handed.
//! A plugin author reads this module (and [`crate::registry`], where the traits are
//! registered) to learn the whole contract.
//!
//! - [`model`]: clock-driven neuron models, written once over [`model::Lanes`] for both
//!   engines;
//! - [`encoder`]: inputs from outside the network;
//! - [`connect`]: connection rules;
//! - [`synapse`]: what a spike does at delivery ([`synapse::SynapseDynamics`]) and the
//!   per-synapse state arrays a plugin declares;
//! - [`addon`]: a plugin's own sub-table of a projection (`[projection.plasticity]`,
//!   `[projection.synapse]`), parsed as strictly as the core's keys;
//! - [`state`]: [`state::Checkpoint`], the state every plugin component or resource saves
//!   ([`state::MergeParts`]: a resource split over shards);
//! - [`output`]: arrays a plugin writes beside the monitors' files;
//! - [`sets`]: the ordered system sets a plugin's systems go into;
//! - [`run`]: engines and devices;
//! - [`program`]: a model's step traced into the straight-line program the device engine
//!   compiles (a model given as such a program runs on every engine:
//!   [`crate::registry::prepared_program`]);
//! - [`language`]: neuron models a scenario defines itself (`[neuron_models.NAME]`).

pub mod addon;
pub mod col;
pub mod connect;
pub mod encoder;
pub mod language;
pub mod model;
pub mod output;
pub mod program;
pub mod run;
pub mod sets;
pub mod state;
pub mod synapse;
pub mod transport;
