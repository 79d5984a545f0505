//! Encoders: inputs from outside the network. A *source* encoder emits spikes (it can be
//! the `from` of a projection, like Brian2's `PoissonGroup`); a *current* encoder injects
//! a current into a population's current receptor.

use std::path::PathBuf;
use std::sync::Arc;

use crate::api::state::Checkpoint;
use crate::util::error::ScenarioError;
use crate::api::model::ParamSpec;
use crate::util::units::Dim;
use crate::util::table::Table;

/// What an encoder produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncoderKind {
    /// Spikes from `size` outputs; connect it with projections.
    Source,
    /// A current into `target`'s current receptor (`receptor`, default `i`).
    Current,
}

/// What an encoder is told when it is built.
#[derive(Clone, Debug)]
pub struct EncoderCtx {
    /// The run's seed.
    pub seed: u64,
    /// The encoder's stream key ([`crate::util::rng::entity_key`]).
    pub entity: u32,
    /// Step in ms.
    pub dt_ms: f64,
    /// Outputs (sources) or target neurons (currents).
    pub size: usize,
    /// Directory of the scenario file, for relative paths.
    pub base_dir: PathBuf,
    /// Dimension of the target receptor (current encoders: `Dim::Current` for a model in
    /// physical units, `Dim::Dimensionless` for SpikingJelly-style models); `None` for
    /// sources. An encoder reads its amplitudes in this dimension.
    pub receptor_dim: Option<Dim>,
}

/// Where an encoder writes in one step.
pub enum EncoderOut<'a> {
    /// Indices (0..size) that spike this step, ascending.
    Spikes(&'a mut Vec<u32>),
    /// Current (pA) per target neuron, added to this step's input.
    Current(&'a mut [f64]),
}

/// A built encoder. Its state between steps (random-stream positions, the next spike of
/// each output, ...) goes into checkpoints through [`Checkpoint`], which every encoder
/// implements (a stateless one writes nothing).
pub trait Encoder: Checkpoint + Send + Sync {
    /// Produces this step's output. `step` is the step being computed.
    fn step(&mut self, step: u64, out: EncoderOut<'_>);
}

/// Builds encoders of one kind from scenario tables.
pub trait EncoderFactory: Send + Sync {
    /// snake_case name (`poisson`).
    fn name(&self) -> &'static str;
    /// What it does.
    fn doc(&self) -> &'static str;
    /// Source or current.
    fn kind(&self) -> EncoderKind;
    /// Its own keys, documented (the core handles `name`, `kind`, `size`, `target`,
    /// `receptor`).
    fn keys(&self) -> &'static [ParamSpec];
    /// Reads and checks its keys from `table` (at validation: nothing that grows with the
    /// encoder's size beyond the values the file gives is built here).
    fn parse(&self, table: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError>;
}

/// A parsed encoder: plain configuration, kept in the scenario definitions; the network
/// build makes the running encoder from it (as many times as a scenario is built).
pub trait EncoderConfig: Send + Sync {
    /// The encoder at step 0.
    fn build(&self) -> Box<dyn Encoder>;
}
