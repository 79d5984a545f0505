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
use super::program::Column;
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
    /// A value of one neuron or one synapse written in the language (Brian2's `group.v =
    /// '-60*mV + 10*mV*rand()'`, `syn.w = 'rand()*w_max'`), in `dim` (its value in the
    /// core's unit of `dim`), reading `names` (the place of what it is the value of, each
    /// in its dimension: [`NEURON_NAMES`], [`synapse_names`]): `None` when the language has no such
    /// expressions, else the expression or why not (a column of `text`, from 0, and the
    /// message).
    fn value_expression(&self, text: &str, dim: Dim, names: &[PlaceName]) -> Option<Result<Arc<dyn ValueExpression>, (usize, String)>> {
        let _ = (text, dim, names);
        None
    }
}

/// A name a value reads of its place, and its dimension (its value is in the core's unit
/// of it).
pub type PlaceName = (&'static str, Dim);

/// What a value per neuron reads of its place: Brian2's `i` (its index in the
/// population), `N` (the population's size).
pub const NEURON_NAMES: &[PlaceName] = &[("i", Dim::Dimensionless), ("N", Dim::Dimensionless)];

/// A neuron's position (µm), which a value per neuron reads when its population has
/// `positions` (Brian2's `G.v = 'x/mm*mV'` of a `x : metre` parameter).
pub const NEURON_POSITION_NAMES: &[PlaceName] = &[("x", Dim::Length), ("y", Dim::Length), ("z", Dim::Length)];

/// What a value per neuron reads: [`NEURON_NAMES`], then [`NEURON_POSITION_NAMES`] when its
/// population has positions.
pub fn neuron_names(positions: bool) -> Vec<PlaceName> {
    let mut v = NEURON_NAMES.to_vec();
    if positions {
        v.extend_from_slice(NEURON_POSITION_NAMES);
    }
    v
}

/// What a weight per synapse reads of its place: Brian2's `i` (the source's index in the
/// projection's source selection), `j` (the target's in the target selection), `N_pre`,
/// `N_post` (the selections' sizes).
pub const SYNAPSE_NAMES: &[PlaceName] = &[("i", Dim::Dimensionless), ("j", Dim::Dimensionless), ("N_pre", Dim::Dimensionless), ("N_post", Dim::Dimensionless)];

/// The source's position (µm), which a value per synapse reads when the source
/// population has `positions` (Brian2's `x_pre` of a `x : metre` parameter).
pub const PRE_POSITION_NAMES: &[PlaceName] = &[("x_pre", Dim::Length), ("y_pre", Dim::Length), ("z_pre", Dim::Length)];

/// The target's position (µm), when the target population has `positions`.
pub const POST_POSITION_NAMES: &[PlaceName] = &[("x_post", Dim::Length), ("y_post", Dim::Length), ("z_post", Dim::Length)];

/// The distance between a synapse's ends (µm; NEST's `nest.spatial.distance`), when both
/// have positions: Euclidean, each axis's difference wrapped into `[-P/2, P/2)` where the
/// source population has a `period` `P` on it (NEST's `edge_wrap` of the source layer).
pub const DISTANCE_NAME: PlaceName = ("distance", Dim::Length);

/// Most names a place has: a synapse's, with both ends' positions and their distance.
pub const MAX_PLACE: usize = 11;

/// What a value per synapse reads: [`SYNAPSE_NAMES`], then [`PRE_POSITION_NAMES`] when
/// the source has positions (`pre`), then [`POST_POSITION_NAMES`] when the target has
/// (`post`), then [`DISTANCE_NAME`] when both have: the order of
/// [`crate::api::connect::ConnectCtx::place`].
pub fn synapse_names(pre: bool, post: bool) -> Vec<PlaceName> {
    let mut v = SYNAPSE_NAMES.to_vec();
    if pre {
        v.extend_from_slice(PRE_POSITION_NAMES);
    }
    if post {
        v.extend_from_slice(POST_POSITION_NAMES);
    }
    if pre && post {
        v.push(DISTANCE_NAME);
    }
    v
}

/// A value as an expression ([`ModelLanguage::value_expression`]).
pub trait ValueExpression: Send + Sync {
    /// The value where its names take `place` (in the order compiled), in the core's
    /// unit; its random numbers come from `rng` (the neuron's or the target's own
    /// stream), in the order written.
    fn value(&self, place: &[f64], rng: &mut Stream) -> f64;

    /// Whether the value reads name `k` of its place (a place's value it does not read
    /// need not be computed: [`ValueExpression::values`] may then get anything for it).
    /// The default says it reads every name.
    fn reads(&self, k: usize) -> bool {
        let _ = k;
        true
    }

    /// The values at `out.len()` places that take their random numbers from one stream
    /// in turn (a target's synapses, source after source): name `k`'s values are
    /// `place[k]`, and `out[e]` has the bits of the `e`th of as many calls of
    /// [`ValueExpression::value`]. The default makes those calls; a language may compute
    /// them as a batch.
    fn values(&self, place: &[Column<'_>], rng: &mut Stream, out: &mut [f64]) {
        let mut at = vec![0.0; place.len()];
        for (e, o) in out.iter_mut().enumerate() {
            for (a, c) in at.iter_mut().zip(place) {
                *a = match c {
                    Column::All(x) => *x,
                    Column::Each(v) => v[e],
                };
            }
            *o = self.value(&at, rng);
        }
    }
}
