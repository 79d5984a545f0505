//! The simulation: a bevy_ecs [`World`] of populations, projections, encoders and
//! monitors, stepped by a [`Schedule`] of systems in ordered sets.

use std::sync::Arc;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};

use crate::connect::{ConnectCtx, Csr};
use crate::encoder::{Encoder, EncoderOut};
use crate::model::Col;
use crate::monitor::{RateRecorder, SpikeRecorder, StateRecorder};
use crate::registry::{PreparedModel, SimBuilder};
use crate::rng::{Stream, purpose};
use crate::scenario::{MonitorKind, Scenario, SourceRef, ValueDist};
use crate::{Error, Result};

/// The ordered stages of a step (Brian2's schedule slots, in Bevy's style). Plugins put
/// their systems `in_set(...)`; the core chains the sets once.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Encoders produce spikes and currents for this step.
    Inputs,
    /// Spikes due now are taken from delay buffers (the cpu engine reads them inside the
    /// fused update).
    Deliver,
    /// Clock-driven populations advance by `dt` (cpu: update + threshold + reset fused).
    Integrate,
    /// Spikes of this step enter the delay buffers of their targets.
    Threshold,
    /// Event-driven neurons are updated at exact times (priority queue).
    EventWindow,
    /// Plasticity rules update weights.
    Plasticity,
    /// Monitors record.
    Record,
    /// The clock advances.
    Advance,
}

/// Which executor runs the clock-driven populations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Fused native loops (default).
    #[default]
    Cpu,
    /// burn tensors (flex CPU device, or CUDA with the `cuda` feature).
    Tensor,
}

/// The device the tensor engine uses.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TensorDevice {
    /// burn-flex on the CPU.
    #[default]
    Flex,
    /// CUDA device `n` (needs the `cuda` feature).
    Cuda(usize),
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Executor.
    pub engine: EngineKind,
    /// Device of the tensor engine.
    pub device: TensorDevice,
    /// Worker threads of the cpu engine (results do not depend on it).
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { engine: EngineKind::Cpu, device: TensorDevice::Flex, threads: 1 }
    }
}

/// Simulation time.
#[derive(Resource, Clone, Debug)]
pub struct Clock {
    /// The step being computed (steps completed so far).
    pub step: u64,
    /// Step, ms.
    pub dt_ms: f64,
}

/// A population of clock-driven neurons (one entity; neurons are indices).
#[derive(Component, Debug)]
pub struct Population {
    /// Name.
    pub name: String,
    /// Number of neurons.
    pub size: usize,
    /// Model name.
    pub model: &'static str,
}

/// Where a population's state lives.
pub enum StateStore {
    /// One `Vec<f64>` per state variable (cpu engine).
    Host(Vec<Vec<f64>>),
    /// One f64 tensor per state variable (tensor engine).
    Tensor(Vec<Col>),
}

/// A population's state variables (structure of arrays) and its prepared model.
#[derive(Component)]
pub struct NeuronState {
    /// The model with parameters fixed.
    pub model: Arc<dyn PreparedModel>,
    /// The state.
    pub store: StateStore,
}

impl NeuronState {
    /// Copies variable `k` to the host.
    pub fn var_to_host(&self, k: usize) -> Vec<f64> {
        match &self.store {
            StateStore::Host(v) => v[k].clone(),
            StateStore::Tensor(t) => t[k].0.to_data().to_vec::<f64>().expect("f64 state tensor"),
        }
    }
}

/// Input arriving at a population: a ring of `depth` slots, each holding one value per
/// (receptor, neuron). Spikes with delay `d` steps emitted at step `t` land in slot
/// `(t + 1 + d) % depth`: a zero delay acts in the next update, as in Brian2.
#[derive(Component, Clone, Debug)]
pub struct InputRing {
    pub(crate) depth: usize,
    receptors: usize,
    n: usize,
    pub(crate) data: Vec<f64>,
    /// Receptors something projects or injects into; the others are read as 0.
    active: Vec<bool>,
}

impl InputRing {
    fn new(depth: usize, receptors: usize, n: usize) -> Self {
        InputRing { depth, receptors, n, data: vec![0.0; depth * receptors * n], active: vec![false; receptors] }
    }
    /// The slot read at `step`: `receptors * n` values.
    pub fn slot_mut(&mut self, step: u64) -> &mut [f64] {
        let len = self.receptors * self.n;
        let s = (step % self.depth as u64) as usize;
        &mut self.data[s * len..(s + 1) * len]
    }
    /// Slots in the ring (the longest incoming delay in steps + 2).
    pub fn depth(&self) -> usize {
        self.depth
    }
    /// Values held: depth x receptors x neurons.
    pub fn values(&self) -> usize {
        self.data.len()
    }
    /// Nonzero inputs waiting in each slot: element `k` counts those read at step
    /// `step + k` (spikes in transit, for `k` up to `depth - 1`).
    pub fn pending(&self, step: u64) -> Vec<usize> {
        let len = self.receptors * self.n;
        (0..self.depth as u64)
            .map(|k| {
                let s = ((step + k) % self.depth as u64) as usize;
                self.data[s * len..(s + 1) * len].iter().filter(|x| **x != 0.0).count()
            })
            .collect()
    }
    /// One receptor of the slot read at `step`.
    pub fn receptor_mut(&mut self, step: u64, r: usize) -> &mut [f64] {
        let n = self.n;
        &mut self.slot_mut(step)[r * n..(r + 1) * n]
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

/// Delays of a projection, in steps.
#[derive(Clone, Debug)]
pub enum Delays {
    /// One delay for every synapse.
    Const(u32),
    /// One per synapse (CSR order).
    Each(Vec<u32>),
}

/// The synapses of one projection, by source row.
#[derive(Component)]
pub struct Projection {
    /// Name.
    pub name: String,
    /// Source entity (population or encoder).
    pub source: Entity,
    /// First selected source index.
    pub src_start: u32,
    /// One past the last selected source index.
    pub src_end: u32,
    /// Target population.
    pub target: Entity,
    /// Receptor index in the target.
    pub receptor: usize,
    /// Rows.
    pub csr: Csr,
    /// Weight per synapse.
    pub weight: Vec<f64>,
    /// Delay(s).
    pub delay: Delays,
}

/// An encoder and where its output goes.
#[derive(Component)]
pub struct EncoderSlot {
    /// Name.
    pub name: String,
    /// The encoder.
    pub encoder: Box<dyn Encoder>,
    /// Current target: (population, first index, receptor).
    pub current_target: Option<(Entity, usize, usize)>,
    scratch: Vec<f64>,
}

/// The cpu engine's worker threads.
#[derive(Resource)]
pub struct CpuPool {
    threads: usize,
    pool: Option<rayon::ThreadPool>,
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
    /// Total steps in the scenario.
    pub steps: u64,
    /// Engine.
    pub engine: EngineKind,
    /// Threads.
    pub threads: usize,
}

/// A built simulation.
pub struct Sim {
    /// The ECS world (public for plugins and tests).
    pub world: World,
    schedule: Schedule,
    /// Entities of populations, in scenario order.
    pub populations: Vec<Entity>,
    /// Entities of projections, in scenario order.
    pub projections: Vec<Entity>,
    /// Entities of encoders, in scenario order.
    pub encoders: Vec<Entity>,
    /// Entities of monitors, in scenario order.
    pub monitors: Vec<Entity>,
    /// The scenario it was built from (definitions only; state is in the world).
    pub scenario: Scenario,
}

fn draw(d: &ValueDist, rng: &mut Stream) -> f64 {
    match *d {
        ValueDist::Const(v) => v,
        ValueDist::Normal { mean, std } => mean + std * rng.normal(),
        ValueDist::Uniform { low, high } => low + (high - low) * rng.uniform(),
    }
}

fn make_device(d: &TensorDevice) -> Result<burn::DispatchDevice> {
    match d {
        TensorDevice::Flex => Ok(burn::DispatchDevice::Flex(Default::default())),
        #[cfg(feature = "cuda")]
        TensorDevice::Cuda(i) => Ok(burn::DispatchDevice::Cuda(burn::backend::cuda::CudaDevice::new(*i))),
        #[cfg(not(feature = "cuda"))]
        TensorDevice::Cuda(_) => Err(Error::Input("this build has no CUDA support: rebuild with `--features cuda`".into())),
    }
}

/// Uploads host values as an f64 tensor.
pub fn to_col(v: Vec<f64>, device: &burn::DispatchDevice) -> Col {
    let n = v.len();
    Col(burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, [n]), (device, burn::tensor::DType::F64)))
}

impl SimBuilder {
    /// Builds the world for `scenario`: draws connectivity, weights, delays and initial
    /// values from the seed's streams, and assembles the schedule.
    pub fn build(&self, scenario: Scenario, opts: &RunOptions) -> Result<Sim> {
        self.check()?;
        Sim::new(scenario, opts)
    }
}

impl Sim {
    fn new(mut scenario: Scenario, opts: &RunOptions) -> Result<Sim> {
        let mut world = World::new();
        let dt = scenario.dt_ms;
        let seed = scenario.seed;
        let tensor_device = match opts.engine {
            EngineKind::Tensor => Some(make_device(&opts.device)?),
            EngineKind::Cpu => None,
        };

        // Delay depth per population: max incoming delay + 2 slots.
        let mut built = Vec::new();
        let mut depth = vec![2usize; scenario.populations.len()];
        for p in &scenario.projections {
            let (n_src, src_offset, same) = match &p.from {
                SourceRef::Population(s) => (s.len(), s.start, s.index == p.to.index),
                SourceRef::Encoder(s) => (s.len(), s.start, false),
            };
            let ctx = ConnectCtx {
                seed,
                entity: p.key,
                n_src,
                n_tgt: p.to.len(),
                src_offset,
                tgt_offset: p.to.start,
                same_population: same,
                allow_autapses: p.allow_autapses,
                allow_multapses: p.allow_multapses,
            };
            let pairs = (p.rule.spec.connect)(&ctx, &p.rule.params)
                .map_err(|m| Error::Input(format!("{}: projection `{}`: {m}", scenario.path.display(), p.name)))?;
            let csr = Csr::from_pairs(&pairs, n_src, p.to.start);
            drop(pairs);
            let mut weight = Vec::with_capacity(csr.len());
            let mut delays = Vec::new();
            let const_delay = match p.delay_ms {
                ValueDist::Const(d) => Some((d / dt).round() as u32),
                _ => None,
            };
            for row in 0..n_src {
                let (a, b) = (csr.row_ptr[row] as usize, csr.row_ptr[row + 1] as usize);
                let mut wr = Stream::new(seed, p.key, purpose::WEIGHT, row as u64);
                let mut dr = Stream::new(seed, p.key, purpose::DELAY, row as u64);
                for _ in a..b {
                    weight.push(draw(&p.weight, &mut wr));
                    if const_delay.is_none() {
                        delays.push((draw(&p.delay_ms, &mut dr).max(0.0) / dt).round() as u32);
                    }
                }
            }
            let delay = match const_delay {
                Some(d) => Delays::Const(d),
                None => Delays::Each(delays),
            };
            let max_d = match &delay {
                Delays::Const(d) => *d as usize,
                Delays::Each(v) => v.iter().copied().max().unwrap_or(0) as usize,
            };
            depth[p.to.index] = depth[p.to.index].max(max_d + 2);
            built.push((csr, weight, delay));
        }

        let mut populations = Vec::new();
        for (pi, p) in scenario.populations.iter().enumerate() {
            let nv = p.model.vars().len();
            let init = p.prepared.initial();
            let mut vars = Vec::with_capacity(nv);
            for k in 0..nv {
                let dist = p.init.iter().rev().find(|(vi, _)| *vi == k).map(|(_, d)| d.clone());
                let col: Vec<f64> = match dist {
                    None => vec![init[k]; p.size],
                    Some(ValueDist::Const(v)) => vec![v; p.size],
                    Some(d) => (0..p.size)
                        .map(|i| {
                            let mut r = Stream::new(seed, p.key, purpose::INIT + k as u64, i as u64);
                            draw(&d, &mut r)
                        })
                        .collect(),
                };
                vars.push(col);
            }
            let store = match &tensor_device {
                None => StateStore::Host(vars),
                Some(dev) => StateStore::Tensor(vars.into_iter().map(|v| to_col(v, dev)).collect()),
            };
            let e = world
                .spawn((
                    Population { name: p.name.clone(), size: p.size, model: p.model.name() },
                    NeuronState { model: p.prepared.clone(), store },
                    InputRing::new(depth[pi], p.model.receptors().len(), p.size),
                    Spikes::default(),
                ))
                .id();
            populations.push(e);
        }

        for p in &scenario.projections {
            world.get_mut::<InputRing>(populations[p.to.index]).expect("ring").active[p.receptor] = true;
        }
        for e in &scenario.encoders {
            if let Some((sel, r)) = &e.target {
                world.get_mut::<InputRing>(populations[sel.index]).expect("ring").active[*r] = true;
            }
        }

        let mut encoders = Vec::new();
        for e in scenario.encoders.iter_mut() {
            // The encoder moves into the world; the definition keeps a placeholder.
            let enc = std::mem::replace(&mut e.encoder, Box::new(NoEncoder));
            let current_target = e.target.as_ref().map(|(sel, r)| (populations[sel.index], sel.start, *r));
            let mut ent = world.spawn(EncoderSlot { name: e.name.clone(), encoder: enc, current_target, scratch: vec![0.0; e.size] });
            if current_target.is_none() {
                ent.insert(Spikes::default());
            }
            encoders.push(ent.id());
        }

        let mut projections = Vec::new();
        for (p, (csr, weight, delay)) in scenario.projections.iter().zip(built) {
            let (source, sel) = match &p.from {
                SourceRef::Population(s) => (populations[s.index], s),
                SourceRef::Encoder(s) => (encoders[s.index], s),
            };
            let e = world
                .spawn(Projection {
                    name: p.name.clone(),
                    source,
                    src_start: sel.start as u32,
                    src_end: sel.end as u32,
                    target: populations[p.to.index],
                    receptor: p.receptor,
                    csr,
                    weight,
                    delay,
                })
                .id();
            projections.push(e);
        }

        let mut monitors = Vec::new();
        for m in &scenario.monitors {
            let target = populations[m.target.index];
            let (a, b) = (m.target.start as u32, m.target.end as u32);
            let e = match &m.kind {
                MonitorKind::Spikes => world.spawn(SpikeRecorder::new(&m.name, target, a, b)).id(),
                MonitorKind::State { vars, indices, every } => world
                    .spawn(StateRecorder::new(&m.name, target, vars.clone(), indices.clone(), *every))
                    .id(),
                MonitorKind::Rate { bin } => world.spawn(RateRecorder::new(&m.name, target, a, b, *bin)).id(),
            };
            monitors.push(e);
        }

        world.insert_resource(Clock { step: 0, dt_ms: dt });
        world.insert_resource(RunInfo { seed, steps: scenario.steps, engine: opts.engine, threads: opts.threads.max(1) });
        let threads = opts.threads.max(1);
        let pool = if threads > 1 && opts.engine == EngineKind::Cpu {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| Error::Runtime(format!("cannot start {threads} threads: {e}")))?,
            )
        } else {
            None
        };
        world.insert_resource(CpuPool { threads, pool });
        if let Some(dev) = tensor_device {
            world.insert_resource(TensorRuntime { device: dev });
        }

        let mut schedule = Schedule::default();
        schedule.set_build_settings(ScheduleBuildSettings {
            ambiguity_detection: LogLevel::Error,
            ..Default::default()
        });
        schedule.configure_sets(
            (
                SimSystems::Inputs,
                SimSystems::Deliver,
                SimSystems::Integrate,
                SimSystems::Threshold,
                SimSystems::EventWindow,
                SimSystems::Plasticity,
                SimSystems::Record,
                SimSystems::Advance,
            )
                .chain(),
        );
        schedule.add_systems(run_encoders.in_set(SimSystems::Inputs));
        match opts.engine {
            EngineKind::Cpu => schedule.add_systems(integrate_cpu.in_set(SimSystems::Integrate)),
            EngineKind::Tensor => schedule.add_systems(integrate_tensor.in_set(SimSystems::Integrate)),
        };
        schedule.add_systems(propagate_spikes.in_set(SimSystems::Threshold));
        schedule.add_systems(
            (crate::monitor::record_spikes, crate::monitor::record_states, crate::monitor::record_rates)
                .in_set(SimSystems::Record),
        );
        schedule.add_systems(advance_clock.in_set(SimSystems::Advance));
        schedule
            .initialize(&mut world)
            .map_err(|e| Error::Runtime(format!("schedule: {}", e.to_string(schedule.graph(), &world))))?;

        Ok(Sim { world, schedule, populations, projections, encoders, monitors, scenario })
    }

    /// Steps completed.
    pub fn step_count(&self) -> u64 {
        self.world.resource::<Clock>().step
    }

    /// Simulated time reached, ms.
    pub fn t_ms(&self) -> f64 {
        let c = self.world.resource::<Clock>();
        c.step as f64 * c.dt_ms
    }

    /// Advances one step.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
    }

    /// Advances `n` steps.
    pub fn run_steps(&mut self, n: u64) {
        for _ in 0..n {
            self.schedule.run(&mut self.world);
        }
    }

    /// The step the run ends at: the scenario's `t_stop`, unless [`Sim::set_end`] moved it.
    pub fn end_step(&self) -> u64 {
        self.world.resource::<RunInfo>().steps
    }

    /// Moves the end of the run (`spikeworld resume --until`).
    pub fn set_end(&mut self, steps: u64) {
        self.world.resource_mut::<RunInfo>().steps = steps;
    }

    /// Runs to [`Sim::end_step`], calling `progress(step)` every `every` steps.
    pub fn run_to_end(&mut self, every: u64, progress: impl FnMut(u64)) {
        self.run_until(self.end_step(), every, progress);
    }

    /// Runs until `end` steps are complete, calling `progress(step)` every `every` steps.
    pub fn run_until(&mut self, end: u64, every: u64, mut progress: impl FnMut(u64)) {
        while self.step_count() < end {
            let n = every.max(1).min(end - self.step_count());
            self.run_steps(n);
            progress(self.step_count());
        }
    }

    /// A population's entity by name.
    pub fn population(&self, name: &str) -> Option<Entity> {
        self.scenario.population(name).map(|i| self.populations[i])
    }

    /// A copy of a state variable of a population (by names).
    pub fn state(&self, population: &str, var: &str) -> Option<Vec<f64>> {
        let pi = self.scenario.population(population)?;
        let k = self.scenario.populations[pi].model.vars().iter().position(|v| v.name == var)?;
        Some(self.world.get::<NeuronState>(self.populations[pi])?.var_to_host(k))
    }

    /// Checks every state variable is finite; names the first bad one.
    pub fn check_finite(&self) -> Result<()> {
        for (pi, p) in self.scenario.populations.iter().enumerate() {
            let st = self.world.get::<NeuronState>(self.populations[pi]).expect("population state");
            for (k, v) in p.model.vars().iter().enumerate() {
                let col = st.var_to_host(k);
                if let Some(i) = col.iter().position(|x| !x.is_finite()) {
                    return Err(Error::Runtime(format!(
                        "population `{}` neuron {i}: `{}` became {} by t = {} ms (dt too large, or a parameter out of range?)",
                        p.name,
                        v.name,
                        col[i],
                        self.t_ms()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Spikes emitted so far by each population, in scenario order.
    pub fn spike_counts(&self) -> Vec<u64> {
        self.populations.iter().map(|&e| self.world.get::<Spikes>(e).map_or(0, |s| s.total)).collect()
    }

    /// Synapses of each projection, in scenario order.
    pub fn synapse_counts(&self) -> Vec<usize> {
        self.projections.iter().map(|&e| self.world.get::<Projection>(e).map_or(0, |p| p.csr.len())).collect()
    }
}

struct NoEncoder;
impl Encoder for NoEncoder {
    fn step(&mut self, _: u64, _: EncoderOut<'_>) {}
}
impl crate::checkpoint::Checkpoint for NoEncoder {
    fn save_state(&self, _: &mut crate::checkpoint::StateWriter<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn load_state(&mut self, _: &mut crate::checkpoint::StateReader<'_>) -> Result<(), crate::checkpoint::StateError> {
        Ok(())
    }
}

fn run_encoders(clock: Res<Clock>, mut encs: Query<(&mut EncoderSlot, Option<&mut Spikes>)>, mut rings: Query<&mut InputRing>) {
    for (mut slot, spikes) in &mut encs {
        let slot = &mut *slot;
        match (spikes, slot.current_target) {
            (Some(mut sp), _) => {
                sp.indices.clear();
                slot.encoder.step(clock.step, EncoderOut::Spikes(&mut sp.indices));
                sp.total += sp.indices.len() as u64;
            }
            (None, Some((target, start, receptor))) => {
                slot.scratch.fill(0.0);
                slot.encoder.step(clock.step, EncoderOut::Current(&mut slot.scratch));
                if let Ok(mut ring) = rings.get_mut(target) {
                    let dst = &mut ring.receptor_mut(clock.step, receptor)[start..start + slot.scratch.len()];
                    for (d, s) in dst.iter_mut().zip(&slot.scratch) {
                        *d += *s;
                    }
                }
            }
            (None, None) => {}
        }
    }
}

/// Splits `len` into at most `parts` contiguous chunks of at least `min` elements.
fn chunk_bounds(len: usize, parts: usize, min: usize) -> Vec<usize> {
    let parts = parts.min(len / min.max(1)).max(1);
    (0..=parts).map(|k| k * len / parts).collect()
}

fn integrate_cpu(clock: Res<Clock>, pool: Res<CpuPool>, mut pops: Query<(&mut NeuronState, &mut InputRing, &mut Spikes)>) {
    for (mut st, mut ring, mut spikes) in &mut pops {
        let st = &mut *st;
        let StateStore::Host(vars) = &mut st.store else { continue };
        let ring = &mut *ring;
        let n = ring.n;
        let len = ring.receptors * n;
        let s = (clock.step % ring.depth as u64) as usize;
        let slot = &mut ring.data[s * len..(s + 1) * len];
        let mut inputs: Vec<&mut [f64]> = slot.chunks_mut(n).zip(&ring.active).map(|(c, &a)| if a { c } else { &mut [] }).collect();
        spikes.indices.clear();
        let bounds = chunk_bounds(n, pool.threads, 4096);
        if bounds.len() == 2 || pool.pool.is_none() {
            let mut v: Vec<&mut [f64]> = vars.iter_mut().map(|v| v.as_mut_slice()).collect();
            st.model.step_cpu(&mut v, &mut inputs, 0, &mut spikes.indices);
        } else {
            // NOTE: neurons are independent within a step, so any split gives the same
            // bits; spikes are concatenated in chunk order, i.e. ascending index.
            let chunks = bounds.len() - 1;
            let mut parts: Vec<(Vec<&mut [f64]>, Vec<&mut [f64]>, Vec<u32>, u32)> =
                (0..chunks).map(|c| (Vec::new(), Vec::new(), Vec::new(), bounds[c] as u32)).collect();
            for v in vars.iter_mut() {
                let mut rest = v.as_mut_slice();
                for c in 0..chunks {
                    let (a, b) = rest.split_at_mut(bounds[c + 1] - bounds[c]);
                    parts[c].0.push(a);
                    rest = b;
                }
            }
            for r in inputs {
                if r.is_empty() {
                    for part in parts.iter_mut() {
                        part.1.push(&mut []);
                    }
                    continue;
                }
                let mut rest = r;
                for c in 0..chunks {
                    let (a, b) = rest.split_at_mut(bounds[c + 1] - bounds[c]);
                    parts[c].1.push(a);
                    rest = b;
                }
            }
            let model = &st.model;
            pool.pool.as_ref().expect("pool").scope(|s| {
                for part in parts.iter_mut() {
                    s.spawn(move |_| {
                        let (v, i, sp, off) = part;
                        model.step_cpu(v, i, *off, sp);
                    });
                }
            });
            for p in &parts {
                spikes.indices.extend_from_slice(&p.2);
            }
        }
        spikes.total += spikes.indices.len() as u64;
    }
}

fn integrate_tensor(clock: Res<Clock>, rt: Res<TensorRuntime>, mut pops: Query<(&mut NeuronState, &mut InputRing, &mut Spikes)>) {
    for (mut st, mut ring, mut spikes) in &mut pops {
        let st = &mut *st;
        let StateStore::Tensor(vars) = &mut st.store else { continue };
        let n = ring.n;
        let slot = ring.slot_mut(clock.step);
        let inputs: Vec<Col> = slot.chunks(n).map(|c| to_col(c.to_vec(), &rt.device)).collect();
        slot.fill(0.0);
        let mask = st.model.step_tensor(vars, &inputs);
        let bits = mask.int().into_data().convert::<i64>();
        spikes.indices.clear();
        spikes.indices.extend(bits.iter::<i64>().enumerate().filter(|(_, b)| *b != 0).map(|(i, _)| i as u32));
        spikes.total += spikes.indices.len() as u64;
    }
}

fn propagate_spikes(clock: Res<Clock>, projs: Query<&Projection>, sources: Query<&Spikes>, mut rings: Query<&mut InputRing>) {
    for p in &projs {
        let Ok(spk) = sources.get(p.source) else { continue };
        if spk.indices.is_empty() {
            continue;
        }
        let Ok(mut ring) = rings.get_mut(p.target) else { continue };
        let ring = &mut *ring;
        let (depth, stride, n) = (ring.depth as u64, ring.receptors * ring.n, ring.n);
        let base_r = p.receptor * n;
        let lo = spk.indices.partition_point(|&i| i < p.src_start);
        let hi = spk.indices.partition_point(|&i| i < p.src_end);
        for &i in &spk.indices[lo..hi] {
            let row = (i - p.src_start) as usize;
            let (a, b) = (p.csr.row_ptr[row] as usize, p.csr.row_ptr[row + 1] as usize);
            match &p.delay {
                Delays::Const(d) => {
                    let off = ((clock.step + 1 + *d as u64) % depth) as usize * stride + base_r;
                    let dst = &mut ring.data[off..off + n];
                    for (&t, &w) in p.csr.col[a..b].iter().zip(&p.weight[a..b]) {
                        dst[t as usize] += w;
                    }
                }
                Delays::Each(ds) => {
                    for k in a..b {
                        let off = ((clock.step + 1 + ds[k] as u64) % depth) as usize * stride + base_r;
                        ring.data[off + p.csr.col[k] as usize] += p.weight[k];
                    }
                }
            }
        }
    }
}

fn advance_clock(mut clock: ResMut<Clock>) {
    clock.step += 1;
}
