//! Neuron models a scenario defines itself, in a language a plugin brings: a
//! `[neuron_models.NAME]` table (`language = "equations"` by default) becomes a
//! [`NeuronModel`] that populations name like a registered one.
//!
//! The language reads the table's keys (strictly: the core refuses any key it does not
//! list in [`ModelLanguage::keys`]) and returns the model; a step it builds as a
//! [`crate::api::program::Program`] runs on every engine through
//! [`crate::registry::prepared_program`].

use std::sync::Arc;

use super::model::NeuronModel;
use crate::util::error::ScenarioError;
use crate::util::table::Table;

/// A way to write a neuron model in a scenario (`equations`: Brian2's equation strings).
pub trait ModelLanguage: Send + Sync {
    /// The value of `language` that selects it.
    fn name(&self) -> &'static str;
    /// What a model table holds (shown by `spikeworld info`).
    fn doc(&self) -> &'static str;
    /// Every key a model table may hold (`language` aside).
    fn keys(&self) -> &'static [&'static str];
    /// The model `name` defined by `table`, for steps of `dt_ms`. Errors name the key and
    /// where it is written.
    fn define(&self, name: &'static str, table: &mut Table<'_>, dt_ms: f64) -> Result<Arc<dyn NeuronModel>, ScenarioError>;
}
