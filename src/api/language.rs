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
use crate::util::rng::Stream;
use crate::util::table::Table;
use crate::util::units::Dim;

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
    /// A value of one neuron written in the language (Brian2's `group.v = '-60*mV +
    /// 10*mV*rand()'`), for an `init` value or a per-neuron parameter in `dim` (its value
    /// in the core's unit of `dim`): `None` when the language has no such expressions,
    /// else the expression or why not (a column of `text`, from 0, and the message).
    fn neuron_expression(&self, text: &str, dim: Dim) -> Option<Result<Arc<dyn NeuronExpression>, (usize, String)>> {
        let _ = (text, dim);
        None
    }
}

/// A per-neuron value as an expression ([`ModelLanguage::neuron_expression`]).
pub trait NeuronExpression: Send + Sync {
    /// The value of neuron `i` of a population of `n`, in the core's unit; its random
    /// numbers come from `rng` (the neuron's own stream), in the order written.
    fn value(&self, i: usize, n: usize, rng: &mut Stream) -> f64;
}
