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
    /// Values added into one receptor of `target` each step: a current receptor
    /// (`receptor`, default `i`), or a spike receptor for an encoder whose
    /// [`EncoderFactory::receptor_kind`] says so (Brian2's `PoissonInput`).
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
    /// Per target neuron, added to this step's input at the receptor (a current in pA, or
    /// a spike receptor's weight unit).
    Current(&'a mut [f64]),
}

/// A built encoder. Its state between steps (random-stream positions, the next spike of
/// each output, ...) goes into checkpoints through [`Checkpoint`], which every encoder
/// implements (a stateless one writes nothing).
pub trait Encoder: Checkpoint + Send + Sync {
    /// Produces this step's output. `step` is the step being computed.
    fn step(&mut self, step: u64, out: EncoderOut<'_>);

    /// A current encoder's step when only the targets `range` of `out` are read (a shard
    /// holds part of the target population; the others draw theirs): an encoder whose
    /// values per target can be drawn alone may fill just those. The default steps every
    /// target. The values in `range` must be those [`Encoder::step`] gives.
    fn step_range(&mut self, step: u64, out: &mut [f64], range: std::ops::Range<usize>) {
        let _ = range;
        self.step(step, EncoderOut::Current(out));
    }

    /// This encoder as a [`GapProcess`], if it is one (its `step` then gives the spikes of
    /// [`GapProcess::step_output`], bit for bit): the device engine runs it on the device
    /// instead of calling `step`, from this state. `None` (the default): the encoder runs
    /// on the host and its output is uploaded each step.
    fn gaps(&self) -> Option<GapProcess> {
        None
    }

    /// Takes back the state a run on the device reached (the `position` and `next` of the
    /// [`GapProcess`] that [`Encoder::gaps`] gave), before a checkpoint reads the encoder;
    /// returns whether it did. An encoder that gives [`Encoder::gaps`] must take its state
    /// back: one that does not (the default, `false`) runs on the host.
    fn set_gap_state(&mut self, _position: &[u64], _next: &[u64]) -> bool {
        false
    }
}

/// Independent Bernoulli processes drawn by their gaps: output `i` spikes at step
/// `next[i]`, and then draws its next spike `1 + Stream(seed, entity, purpose, i).geometric(ln_q[i])`
/// steps later, kept while before `stop` (Brian2's `PoissonGroup`, SpikingFlow's
/// `PoissonEncoder`, from geometric gaps). An encoder that is one describes itself so
/// ([`Encoder::gaps`]), and the device engine draws the same numbers on the device: the
/// Philox stream and the portable [`crate::util::rng::ln`] are written in its kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct GapProcess {
    /// Per output: `ln(1 − p)`, p the spike probability per step (−inf: every step, with
    /// no draws).
    pub ln_q: Vec<f64>,
    /// The streams' seed, entity and purpose; output `i` draws from stream index `i`.
    pub seed: u64,
    /// See `seed`.
    pub entity: u32,
    /// See `seed`.
    pub purpose: u64,
    /// No spike at or after this step.
    pub stop: u64,
    /// Per output: its stream's position ([`crate::util::rng::Stream::position`]).
    pub position: Vec<u64>,
    /// Per output: the step of its next spike ([`GapProcess::NONE`]: none).
    pub next: Vec<u64>,
}

impl GapProcess {
    /// No further spike.
    pub const NONE: u64 = u64::MAX;

    /// Output `i` at `step`: whether it spikes; when its spike is due (or past), the gap
    /// to its next one is drawn.
    pub fn step_output(&mut self, i: usize, step: u64) -> bool {
        let due = self.next[i];
        if due > step {
            return false;
        }
        let mut s = crate::util::rng::Stream::new(self.seed, self.entity, self.purpose, i as u64);
        s.seek(self.position[i]);
        let next = step.saturating_add(1).saturating_add(s.geometric(self.ln_q[i]));
        self.next[i] = if next < self.stop { next } else { Self::NONE };
        self.position[i] = s.position();
        due == step
    }
}

/// Builds encoders of one kind from scenario tables.
pub trait EncoderFactory: Send + Sync {
    /// snake_case name (`poisson`).
    fn name(&self) -> &'static str;
    /// What it does.
    fn doc(&self) -> &'static str;
    /// Source or current.
    fn kind(&self) -> EncoderKind;
    /// The kind of receptor a [`EncoderKind::Current`] encoder writes into: a current
    /// receptor (the default: held for the step, receptor `i` unless the scenario names
    /// another), or a spike receptor (its values add to the weights of the spikes arriving
    /// that step; the scenario's `receptor`, or the model's only spike receptor).
    fn receptor_kind(&self) -> crate::api::model::ReceptorKind {
        crate::api::model::ReceptorKind::Current
    }
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
