//! The network as ECS data: components of populations, projections and encoders, and the
//! world's resources. Every component that evolves implements [`Checkpoint`], and the
//! core saves it through the same section registry as a plugin's state.

pub mod plastic;
mod ring;
pub use ring::{InputRing, NoiseInputs, place_state};
pub(crate) mod shard;
pub use shard::{ShardLink, ShardSamples, ShardWeights, WindowReplay};
pub(crate) use shard::{EarlyTable, PendingStep, ShardMessage, Watch, WeightWatch};
pub mod synapse;

use std::sync::Arc;

use bevy_ecs::prelude::*;

use crate::api::encoder::Encoder;
use crate::api::model::{Col, PreparedModel, VarSpec};
use crate::api::run::EngineKind;
use crate::api::state::{Checkpoint, StateError, StateReader, StateWriter};

/// Simulation time.
#[derive(Resource, Clone, Debug)]
pub struct Clock {
    /// The step being computed (steps completed so far).
    pub step: u64,
    /// Step, ms.
    pub dt_ms: f64,
}

impl Checkpoint for Clock {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.step)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.step = inp.u64("clock step")?;
        Ok(())
    }
}

/// What an entity is, for messages and checkpoint sections (`population \`exc\``).
#[derive(Component, Clone, Debug)]
pub struct EntityLabel(pub String);

/// A population of clock-driven neurons (one entity; neurons are indices).
#[derive(Component, Debug)]
pub struct Population {
    /// Name.
    pub name: String,
    /// Number of neurons this world holds (the whole population, or one shard's range).
    pub size: usize,
    /// Number of neurons in the whole population (`size` unless the world is a shard).
    pub total: usize,
    /// Population index of the first neuron held (0 unless the world is a shard): spikes,
    /// histories and monitors use population indices, state and rings local ones.
    pub first: usize,
    /// Model name.
    pub model: &'static str,
}

/// Where a population's state lives.
pub enum StateStore {
    /// One array per state variable, each from the start of a cache line (cpu engine).
    Host(Vec<crate::util::lines::Lines>),
    /// One f64 tensor per state variable (tensor engine).
    Tensor(Vec<Col>),
    /// On the device engine's device (read and written through it).
    Device(DeviceRef),
}

/// State the device engine keeps on its device, read and written through this trait by
/// checkpoints, monitors and [`crate::sim::Sim::state`] (each call copies).
pub trait DeviceStore: Send + Sync {
    /// State variable `k` of population `pop`.
    fn read_var(&self, pop: usize, k: usize) -> Vec<f64>;
    /// Overwrites state variable `k` of population `pop`.
    fn write_var(&self, pop: usize, k: usize, v: &[f64]);
    /// The whole delay ring of population `pop` (the layout of [`InputRing`]).
    fn read_ring(&self, pop: usize) -> Vec<f64>;
    /// Overwrites the delay ring of population `pop`.
    fn write_ring(&self, pop: usize, v: &[f64]);
    /// Neurons of population `pop` held on the device (no copy).
    fn len(&self, pop: usize) -> usize;
}

/// A population's state on the device engine's device.
#[derive(Clone)]
pub struct DeviceRef(pub Arc<dyn DeviceStore>, pub usize);

impl std::fmt::Debug for DeviceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceRef(population {})", self.1)
    }
}

/// A population's state variables (structure of arrays) and its prepared model.
#[derive(Component)]
pub struct NeuronState {
    /// The model with parameters fixed.
    pub model: Arc<dyn PreparedModel>,
    /// The model's state variables.
    pub vars: &'static [VarSpec],
    /// The state.
    pub store: StateStore,
}

impl NeuronState {
    /// Copies variable `k` to the host.
    pub fn var_to_host(&self, k: usize) -> Vec<f64> {
        match &self.store {
            StateStore::Host(v) => v[k].to_vec(),
            StateStore::Tensor(t) => t[k].to_host(),
            StateStore::Device(d) => d.0.read_var(d.1, k),
        }
    }
}

impl NeuronState {
    /// Saves the shards' parts of one population (in shard order) as [`Checkpoint::save_state`]
    /// of the whole population would: each variable's columns concatenated.
    pub(crate) fn save_concat(parts: &[&NeuronState], out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let Some(first) = parts.first() else { return Ok(()) };
        out.u64(first.vars.len() as u64)?;
        for (k, v) in first.vars.iter().enumerate() {
            out.str(v.name)?;
            let col: Vec<f64> = parts.iter().flat_map(|p| p.var_to_host(k)).collect();
            out.blob(&col)?;
        }
        Ok(())
    }
    /// Loads a whole population's section into the shards' parts (host, tensor or device
    /// stores, in shard order): each takes its stretch of every column.
    pub(crate) fn load_split(parts: &mut [&mut NeuronState], inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let Some(first) = parts.first() else { return Ok(()) };
        let vars = first.vars;
        let n: usize = parts.iter().map(|p| p.len()).sum();
        let nv = inp.u64("variable count")?;
        if nv != vars.len() as u64 {
            return Err(StateError(format!("{nv} variables stored, the model has {} ({}): the checkpoint was written by another version of the model; run the scenario again from the start", vars.len(), names(vars))));
        }
        let mut col = vec![0.0; n];
        for (k, v) in vars.iter().enumerate() {
            let what = format!("variable `{}`", v.name);
            inp.expect(v.name, &what)?;
            inp.blob_into(&mut col, &what)?;
            let mut at = 0;
            for p in parts.iter_mut() {
                match &mut p.store {
                    StateStore::Host(cols) => {
                        let len = cols[k].len();
                        cols[k].copy_from_slice(&col[at..at + len]);
                        at += len;
                    }
                    StateStore::Tensor(cols) => {
                        let len = cols[k].0.dims()[0];
                        let device = cols[k].0.device();
                        cols[k] = Col::from_host(col[at..at + len].to_vec(), &device);
                        at += len;
                    }
                    StateStore::Device(d) => {
                        let len = d.0.len(d.1);
                        d.0.write_var(d.1, k, &col[at..at + len]);
                        at += len;
                    }
                }
            }
        }
        Ok(())
    }
    /// Neurons held.
    fn len(&self) -> usize {
        match &self.store {
            StateStore::Host(cols) => cols.first().map_or(0, |c| c.len()),
            StateStore::Device(d) => d.0.len(d.1),
            StateStore::Tensor(_) => self.var_to_host(0).len(),
        }
    }
}

/// The names of `vars`, comma-separated.
fn names(vars: &[VarSpec]) -> String {
    vars.iter().map(|v| v.name).collect::<Vec<_>>().join(", ")
}

impl Checkpoint for NeuronState {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.vars.len() as u64)?;
        for (k, v) in self.vars.iter().enumerate() {
            out.str(v.name)?;
            match &self.store {
                StateStore::Host(cols) => out.blob(&cols[k])?,
                StateStore::Tensor(_) | StateStore::Device(_) => out.blob(&self.var_to_host(k))?,
            }
        }
        Ok(())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let nv = inp.u64("variable count")?;
        if nv != self.vars.len() as u64 {
            return Err(StateError(format!("{nv} variables stored, the model has {} ({}): the checkpoint was written by another version of the model; run the scenario again from the start", self.vars.len(), names(self.vars))));
        }
        for (k, v) in self.vars.iter().enumerate() {
            let what = format!("variable `{}`", v.name);
            inp.expect(v.name, &what)?;
            match &mut self.store {
                StateStore::Host(cols) => inp.blob_into(&mut cols[k], &what)?,
                StateStore::Tensor(cols) => {
                    let mut host = vec![0.0; cols[k].0.dims()[0]];
                    inp.blob_into(&mut host, &what)?;
                    let device = cols[k].0.device();
                    cols[k] = Col::from_host(host, &device);
                }
                StateStore::Device(d) => {
                    let mut host = d.0.read_var(d.1, k);
                    inp.blob_into(&mut host, &what)?;
                    d.0.write_var(d.1, k, &host);
                }
            }
        }
        Ok(())
    }
}

/// The spikes an entity (population or source encoder) emitted in the current step.
#[derive(Component, Default, Debug)]
pub struct Spikes {
    /// Indices, ascending.
    pub indices: Vec<u32>,
    /// Spikes since the start.
    pub total: u64,
}

impl Checkpoint for Spikes {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.total)?;
        out.blob(&self.indices)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.total = inp.u64("spike count")?;
        self.indices = inp.blob("last spikes")?;
        Ok(())
    }
}

/// The recent spikes of a spike source (population or source encoder): each neuron's
/// last spike step, and the spikes of each of the last `depth` steps, where `depth` is
/// the longest outgoing delay in steps + 2. A spike emitted at step `s` through a synapse
/// of delay `d` steps acts on its target in the update of step `s + 1 + d`; a rule
/// running at step `t` finds the spikes that reach such synapses now in
/// [`SpikeHistory::arriving`]`(t, d)`.
#[derive(Component, Clone, Debug)]
pub struct SpikeHistory {
    /// Step of each neuron's last spike, or [`SpikeHistory::NEVER`].
    pub last_spike: Vec<u64>,
    slots: Vec<Vec<u32>>,
    slot_step: Vec<u64>,
}

impl SpikeHistory {
    /// `last_spike` of a neuron that never spiked.
    pub const NEVER: u64 = u64::MAX;

    /// An empty history of `n` neurons over `depth` steps.
    pub fn new(n: usize, depth: usize) -> Self {
        let depth = depth.max(1);
        SpikeHistory { last_spike: vec![Self::NEVER; n], slots: vec![Vec::new(); depth], slot_step: vec![Self::NEVER; depth] }
    }

    /// Steps held.
    pub fn depth(&self) -> usize {
        self.slots.len()
    }

    /// Records the spikes of `step` (ascending indices).
    pub fn record(&mut self, step: u64, indices: &[u32]) {
        let s = (step % self.slots.len() as u64) as usize;
        self.slots[s].clear();
        self.slots[s].extend_from_slice(indices);
        self.slot_step[s] = step;
        for &i in indices {
            self.last_spike[i as usize] = step;
        }
    }

    /// The spikes that act in the update of step `step` through synapses of delay `delay`
    /// steps (emitted at `step - 1 - delay`), if still held; `Some(&[])` before the start.
    pub fn arriving(&self, step: u64, delay: u64) -> Option<&[u32]> {
        match step.checked_sub(1 + delay) {
            Some(s) => self.at(s),
            None => Some(&[]),
        }
    }

    /// The spikes of `step` (ascending), if it is still held; empty if none spiked.
    pub fn at(&self, step: u64) -> Option<&[u32]> {
        let s = (step % self.slots.len() as u64) as usize;
        (self.slot_step[s] == step).then_some(&self.slots[s][..])
    }
}

impl Checkpoint for SpikeHistory {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.last_spike)?;
        out.blob(&self.slot_step)?;
        for s in &self.slots {
            out.blob(s)?;
        }
        Ok(())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        inp.blob_into(&mut self.last_spike, "last spike steps")?;
        inp.blob_into(&mut self.slot_step, "history steps")?;
        for s in self.slots.iter_mut() {
            *s = inp.blob("history spikes")?;
        }
        Ok(())
    }
}

/// An encoder and where its output goes.
#[derive(Component)]
pub struct EncoderSlot {
    /// Name.
    pub name: String,
    /// The encoder.
    pub encoder: Box<dyn Encoder>,
    /// Outputs (source) or target neurons (current).
    pub size: usize,
    /// Current target: (population, first index, receptor).
    pub current_target: Option<(Entity, usize, usize)>,
    pub(crate) scratch: Vec<f64>,
    /// The device engine runs it ([`crate::api::encoder::GapProcess`]): `step` is not
    /// called, its spikes come from the device.
    pub(crate) on_device: bool,
}

impl Checkpoint for EncoderSlot {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.encoder.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.encoder.load_state(inp)
    }
}

/// The cpu engine's worker threads, and per-chunk scratch reused every step.
#[derive(Resource)]
pub struct CpuPool {
    pub(crate) threads: usize,
    pub(crate) pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

/// The tensor engine's device.
#[derive(Resource, Clone)]
pub struct TensorRuntime {
    /// The burn device.
    pub device: burn::DispatchDevice,
}

/// Run-wide facts kept for outputs.
#[derive(Resource, Clone, Debug)]
pub struct RunInfo {
    /// Seed.
    pub seed: u64,
    /// The step the run ends at (the scenario's `t_stop`, or `--until`).
    pub end_step: u64,
    /// Engine.
    pub engine: EngineKind,
    /// Threads.
    pub threads: usize,
    /// This world's shard and the number of shards (0 and 1: one world), known before the
    /// plugins' world hooks run, for a plugin that splits its own work
    /// (`docs/sharding.md`, "Plugins in shards").
    pub shard: (usize, usize),
}

/// Spikes of past steps handed over in a batch (the device engine copies spikes from its
/// device every few hundred steps): (population, step, ascending indices), for the spike
/// and rate monitors, which take them in their next `record`.
#[derive(Resource, Default, Debug)]
pub struct FlushedSpikes(pub Vec<(Entity, u64, Vec<u32>)>);

/// State samples taken on a device and handed over in a batch (the device engine's state
/// monitors): (monitor, the step after the sampled one, the values: per recorded variable,
/// one per recorded neuron), for the state monitors, which take them in their next
/// `record`.
#[derive(Resource, Default, Debug)]
pub struct FlushedSamples(pub Vec<(Entity, u64, Vec<f64>)>);

/// The projections in scenario order: the order in which spikes are delivered (so that
/// sums into one target keep one order, whatever the ECS's storage order).
#[derive(Resource, Clone, Debug, Default)]
pub struct DeliveryOrder(pub Vec<Entity>);

/// The encoders in scenario order: the order in which they run (two current encoders on
/// one receptor sum in this order, whatever the ECS's storage order).
#[derive(Resource, Clone, Debug, Default)]
pub struct InputOrder(pub Vec<Entity>);

/// Scratch of the cpu engine for one population, reused every step (no allocation on
/// the hot path once the vectors have grown): the spikes of each thread's chunk.
#[derive(Component, Default, Debug)]
pub struct CpuScratch {
    pub(crate) chunk_spikes: Vec<Vec<u32>>,
}
