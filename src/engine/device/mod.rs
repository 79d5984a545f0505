//! The device engine: the whole step resident on one device.
//!
//! Neuron state, delay rings, the synapse tables (by target) and the spikes of recent
//! steps live on the device for the whole run. A step is one fused update kernel per
//! population (the model's traced [`crate::api::program::Program`]: input, update,
//! threshold, reset, spike bits) and one delivery kernel per projection (each target
//! pulls its synapses in source order, so sums keep the cpu engine's order and the
//! spikes are bit-identical). Nothing comes back to the host inside a step: spikes come
//! back as bit words every [`layout::Layout::period`] steps and at the end of each
//! [`crate::sim::Sim::run_steps`], state when something reads it (checkpoints, state
//! monitors, [`crate::sim::Sim::state`]) through [`DeviceStore`].
//!
//! Backends: [`host::HostBackend`] (plain loops over the same arrays: every machine, CI)
//! and, with the `cuda` feature, kernels generated as CUDA C and compiled by NVRTC
//! ([`cuda`]).
//!
//! Between `run_steps` calls the world's `Spikes`, `SpikeHistory` and spike and rate
//! monitors are up to date; inside a run they are filled every `period` steps (only the
//! recorded populations' every step: [`decode_for`]). Plugin systems that read a
//! population's spikes every step see them only between `run_steps` calls; plasticity
//! rules, synapse models and shared-weight projections are refused at build, with the
//! reason. Spike encoders that are gap processes (Poisson: [`crate::api::encoder::GapProcess`])
//! run on the device, drawing the host's random numbers; other encoders run on the host,
//! their spikes and currents uploaded each step. The draws of noise receptors (`xi`) are
//! made on the device too (`random.rs`: the host's bits).
//!
//! In a shard of a partitioned network ([`ShardSources`]) the device updates the shard's
//! own neurons and hands each step's spikes to the host's exchange; at a window's end
//! [`propagate_shard`] delivers the window's merged spikes on the device.

#[cfg_attr(not(feature = "cuda"), allow(dead_code, reason = "used by the CUDA backend; built and unit-tested everywhere"))]
pub(crate) mod codegen;
#[cfg(feature = "cuda")]
pub(crate) mod cuda;
pub(crate) mod host;
pub(crate) mod layout;
#[cfg_attr(not(feature = "cuda"), allow(dead_code, reason = "used by the CUDA backend; built and unit-tested everywhere"))]
pub(crate) mod random;
mod records;

pub(crate) use records::{after_load, sample_for, sync};
#[cfg(feature = "cuda")]
mod profile;

use std::sync::{Arc, Mutex};

use bevy_ecs::prelude::*;

use crate::api::run::{Delivery, RunOptions, TensorDevice};
use crate::net::synapse::{Delays, SynapseTable};
use crate::net::{Clock, DeviceRef, DeviceStore, EncoderSlot, FlushedSpikes, InputRing, NeuronState, SpikeHistory, Spikes, StateStore};
use crate::{Error, Result};
use layout::{DelayLayout, GapLayout, Layout, PopLayout, ProjLayout, PushLayout, SourceLayout};

/// What a device engine backend does (the host emulation and CUDA implement it alike).
pub(crate) trait Backend: Send {
    /// Name, for logs.
    fn name(&self) -> &'static str;
    /// Host time spent on the engine's behalf (the flush's decoding), for a profile.
    fn host_time(&mut self, _label: &'static str, _secs: f64) {}
    /// Called before anything else of `step`.
    fn begin_step(&mut self, _step: u64) -> Result<(), String> {
        Ok(())
    }
    /// Population `p`'s update at `step`: reads and clears its ring slot, runs the
    /// program, sets its spike bits of `step`, the spiking neurons' last-spike step and
    /// its running spike count.
    fn update(&mut self, p: usize, step: u64) -> Result<(), String>;
    /// Projection `q`'s delivery of its source's spikes of `step`.
    fn deliver(&mut self, q: usize, step: u64) -> Result<(), String>;
    /// Adds `values` into population `p`'s input at `receptor` for `step`, neurons
    /// `start..start + values.len()` (current encoders, computed on the host).
    fn add_input(&mut self, p: usize, step: u64, receptor: usize, start: usize, values: &[f64]) -> Result<(), String>;
    /// Adds the standard normal draws of a noise receptor (Brian2's `xi`) into population
    /// `p`'s input at `receptor` for `step`: neuron `i` of its `n` gets
    /// [`crate::util::rng::xi`]`(key, entity, step, first + i)` (`first`: its population
    /// index; a shard holds a range). By default drawn on the host and added through
    /// [`Backend::add_input`]; the CUDA backend draws them in a kernel.
    fn noise(&mut self, p: usize, step: u64, receptor: usize, key: [u32; 2], entity: u32, first: u64, n: usize) -> Result<(), String> {
        let mut values = vec![0.0; n];
        crate::kernel::noise::xi_fill(crate::api::run::Simd::chosen(), key, entity, step, first, &mut values);
        self.add_input(p, step, receptor, 0, &values)
    }
    /// Sets source `s`'s spike bits of `step` (spike encoders, computed on the host).
    fn set_spikes(&mut self, s: usize, step: u64, words: &[u32]) -> Result<(), String>;
    /// Runs spike encoder `g` of the layout's `gaps` (a [`crate::api::encoder::GapProcess`]
    /// on the device) at `step`: its source's spike bits of `step`, and its list of them
    /// when a push projection reads it.
    fn gaps(&mut self, g: usize, step: u64) -> Result<(), String>;
    /// Encoder `g`'s stream positions and next spike steps.
    fn read_gaps(&mut self, g: usize) -> Result<(Vec<u64>, Vec<u64>), String>;
    /// Overwrites encoder `g`'s stream positions and next spike steps.
    fn write_gaps(&mut self, g: usize, position: &[u64], next: &[u64]) -> Result<(), String>;
    /// Adds a sampler of population `p` (a state monitor): variables `vars` of neurons
    /// `indices`, into a buffer of `cap` samples on the device. Returns its number.
    fn add_sampler(&mut self, p: usize, vars: &[u32], indices: &[u32], cap: usize) -> Result<usize, String>;
    /// Sampler `id` copies its values (per variable, per neuron) into sample `slot`.
    fn sample(&mut self, id: usize, slot: usize) -> Result<(), String>;
    /// Samples `0..count` of sampler `id`, one after the other.
    fn take_samples(&mut self, id: usize, count: usize) -> Result<Vec<f64>, String>;
    /// Each population's spikes since the backend was made (a running count on the device).
    fn read_totals(&mut self) -> Result<Vec<u64>, String>;
    /// The step of each neuron's last spike in population `p` ([`SpikeHistory::NEVER`]: none).
    fn read_last(&mut self, p: usize) -> Result<Vec<u64>, String>;
    /// Overwrites population `p`'s steps of last spikes.
    fn write_last(&mut self, p: usize, v: &[u64]) -> Result<(), String>;
    /// Copies slots `first..first + count` of source `s`'s spike-word ring to the host
    /// (each slot is overwritten by the update of its step; the range does not wrap).
    fn take_words(&mut self, s: usize, first: usize, count: usize) -> Result<Vec<u32>, String>;
    /// State variable `k` of population `p`. (The state accessors panic only when the
    /// device is lost: there is no state left to report.)
    fn read_var(&mut self, p: usize, k: usize) -> Vec<f64>;
    /// Overwrites state variable `k` of population `p`.
    fn write_var(&mut self, p: usize, k: usize, v: &[f64]);
    /// Population `p`'s delay ring.
    fn read_ring(&mut self, p: usize) -> Vec<f64>;
    /// Overwrites population `p`'s delay ring.
    fn write_ring(&mut self, p: usize, v: &[f64]);
}

struct Shared(Mutex<Box<dyn Backend>>, Vec<usize>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Box<dyn Backend>> {
        // NOTE: a panic while holding the lock leaves the state as the last completed
        // call made it; reading it is still sound.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DeviceStore for Shared {
    fn read_var(&self, pop: usize, k: usize) -> Vec<f64> {
        self.lock().read_var(pop, k)
    }
    fn write_var(&self, pop: usize, k: usize, v: &[f64]) {
        self.lock().write_var(pop, k, v)
    }
    fn read_ring(&self, pop: usize) -> Vec<f64> {
        self.lock().read_ring(pop)
    }
    fn write_ring(&self, pop: usize, v: &[f64]) {
        self.lock().write_ring(pop, v)
    }
    fn len(&self, pop: usize) -> usize {
        self.1[pop]
    }
}

/// The device engine's network: the backend and where each of its ids lives in the world.
#[derive(Resource)]
pub struct DeviceNet {
    shared: Arc<Shared>,
    pops: Vec<Entity>,
    pop_sizes: Vec<usize>,
    /// Spike encoders run on the host: (entity, source id, size).
    encoders: Vec<(Entity, usize, usize)>,
    /// Spike encoders run on the device (the layout's `gaps`, in order): (entity, source id).
    gaps: Vec<(Entity, usize)>,
    /// Their spikes of the last flushed step.
    gap_last: Vec<Vec<u32>>,
    /// Per device-run encoder: a spike or rate monitor records it, so a flush hands its
    /// spikes to them ([`FlushedSpikes`]).
    gap_decode: Vec<bool>,
    /// State monitors sampled on the device.
    samplers: Vec<Sampler>,
    /// Per population: the population index of its first neuron held (0 unless a shard).
    firsts: Vec<usize>,
    /// A shard of a partitioned network (`docs/sharding.md`): per population, the source
    /// that holds the whole population's spikes of a step, which delivery reads (the
    /// update writes the shard's own into the population's own source).
    shard: Option<ShardSources>,
    /// Current encoders: (entity, population, first neuron, receptor), in input order.
    currents: Vec<(Entity, usize, usize, usize)>,
    projs: usize,
    period: u64,
    /// Steps before this one have been copied to the host.
    flushed_to: u64,
    /// Per population: whether every flushed step's spikes are decoded (something
    /// records them: [`decode_for`]); otherwise a flush decodes only the steps its
    /// `SpikeHistory` holds, and takes spike counts and last-spike steps from the device.
    decode: Vec<bool>,
    /// Per population: `Spikes::total` minus the device's running count.
    count_base: Vec<u64>,
    /// Each population's spikes of the last flushed step, and that step.
    last: Vec<Vec<u32>>,
    last_step: Option<u64>,
    /// Device bytes: per neuron, per synapse, total.
    pub bytes: (u64, u64, u64),
    /// Backend name.
    pub backend: &'static str,
}

/// A shard's sources: for each population its whole-population source, and for each
/// source entity (populations and spike encoders) its source id and size, into which the
/// merged spikes of a window's steps are written before they are delivered.
#[derive(Clone, Debug)]
struct ShardSources {
    whole: Vec<(Entity, usize, usize)>,
}

/// A state monitor sampled on the device: the sampler's buffer holds `cap` samples, those
/// of the steps in `pending` taken and not yet copied to the host.
#[derive(Clone, Debug)]
struct Sampler {
    monitor: Entity,
    every: u64,
    cap: usize,
    /// Values per sample.
    width: usize,
    /// For each sample taken since the last copy, the step after the sampled one.
    pending: Vec<u64>,
}

/// Bytes of samples a state monitor holds on the device between copies to the host.
const SAMPLE_BYTES: usize = 64 << 20;

/// Projections of at least this many synapses push their spikes under `--delivery auto`;
/// smaller ones pull. Measured on an H200 (benches/gpu/results_2026-11-24_call1.txt): pull
/// reads every synapse each step, push costs two launches and work per spike; pull was
/// faster at 64k neurons (4.1 M synapses per projection: 0.31 vs 0.36 s per biological
/// second), push at 256k (16 M: 0.63 vs 1.14 s).
const AUTO_PUSH: usize = 1 << 22;

/// Steps of spike words held on the device between copies to the host: at most 1024,
/// and at most 64 MiB of words for the whole network.
fn period_for(words_per_step: usize) -> usize {
    (64 * 1024 * 1024 / 4 / words_per_step.max(1)).clamp(1, 1024)
}

/// Moves the built world's populations and tables onto the device (called once, after
/// build): checks that the network is one this engine runs, builds the layout, creates
/// the backend and makes the world's state read through it.
pub(crate) fn attach(world: &mut World, pops: &[Entity], projs: &[Entity], encoders: &[Entity], opts: &RunOptions) -> Result<()> {
    let refuse = |what: String| Error::Input(format!("the device engine {what}; run it on `--engine cpu` or `--engine tensor`"));
    if world.get_resource::<crate::net::plastic::ActiveRules>().is_some_and(|a| !a.is_empty()) {
        return Err(refuse("does not run plasticity rules yet".into()));
    }
    let mut layout = Layout::default();
    let mut source_of: Vec<(Entity, usize)> = Vec::new();
    // In a shard, delivery reads every population's spikes whole (the exchange merges
    // them), from sources of their own, after the shard's own and the encoders'.
    let sharded = opts.shards > 1;
    let mut firsts = Vec::new();
    let mut whole: Vec<(Entity, usize, usize)> = Vec::new();
    for (p, &e) in pops.iter().enumerate() {
        let st = world.get::<NeuronState>(e).ok_or_else(|| Error::Runtime("a population without state".into()))?;
        let ring = world.get::<InputRing>(e).ok_or_else(|| Error::Runtime("a population without a ring".into()))?;
        let name = world.get::<crate::net::Population>(e).map(|p| p.name.clone()).unwrap_or_default();
        let program = st.model.program().ok_or_else(|| refuse(format!("cannot run population `{name}`: its model is not written over `Lanes`")))?;
        layout.pops.push(PopLayout { n: ring.n, program, depth: ring.depth, receptors: ring.receptors, active: ring.active.clone(), source: p });
        layout.sources.push(SourceLayout { n: ring.n });
        let pop = world.get::<crate::net::Population>(e).ok_or_else(|| Error::Runtime("a population without its record".into()))?;
        firsts.push(pop.first);
        if sharded {
            whole.push((e, usize::MAX, pop.total)); // its source id is given below
        } else {
            source_of.push((e, p));
        }
    }
    let mut enc_sources = Vec::new();
    let mut gap_sources = Vec::new();
    let mut currents = Vec::new();
    for &e in encoders {
        let Some(slot) = world.get::<EncoderSlot>(e) else { continue };
        if let Some((target, start, receptor)) = slot.current_target {
            let p = pops.iter().position(|&x| x == target).ok_or_else(|| refuse(format!("cannot find the target of encoder `{}`", slot.name)))?;
            currents.push((e, p, start, receptor));
            continue;
        }
        if world.get::<Spikes>(e).is_some() {
            let (s, size) = (layout.sources.len(), slot.size);
            layout.sources.push(SourceLayout { n: size });
            source_of.push((e, s));
            if sharded {
                // (A shard's encoders go through the exchange's window like its populations.)
                whole.push((e, s, size));
                continue;
            }
            let process = slot.encoder.gaps().filter(|g| g.next.len() == size && g.position.len() == size && g.ln_q.len() == size);
            // (Only an encoder that takes its state back runs on the device: its checkpoints read it.)
            let process = process.filter(|g| world.get_mut::<EncoderSlot>(e).is_some_and(|mut x| x.encoder.set_gap_state(&g.position, &g.next)));
            match process {
                Some(process) => {
                    layout.gaps.push(GapLayout { source: s, process });
                    gap_sources.push((e, s));
                }
                None => enc_sources.push((e, s, size)),
            }
        }
    }
    for w in whole.iter_mut().filter(|w| w.1 == usize::MAX) {
        w.1 = layout.sources.len();
        layout.sources.push(SourceLayout { n: w.2 });
        source_of.push((w.0, w.1));
    }
    for &e in projs {
        let t = world.get::<SynapseTable>(e).ok_or_else(|| Error::Runtime("a projection without a table".into()))?;
        if t.dynamics.is_some() {
            return Err(refuse(format!("does not run synapse models yet (projection `{}`)", t.name)));
        }
        if t.kernel_index.is_some() {
            return Err(refuse(format!("does not run shared-weight (conv2d) projections yet (projection `{}`)", t.name)));
        }
        let source = source_of.iter().find(|(x, _)| *x == t.source).map(|x| x.1).ok_or_else(|| refuse(format!("cannot find the source of projection `{}`", t.name)))?;
        let target = pops.iter().position(|&x| x == t.target).ok_or_else(|| refuse(format!("cannot find the target of projection `{}`", t.name)))?;
        // Targets by their index in this world's ring (a shard's start at `target_first`).
        let n_target = layout.pops[target].n;
        let first = t.target_first;
        let col: Vec<u32> = if first == 0 { t.csr.col.clone() } else { t.csr.col.iter().map(|&c| c.wrapping_sub(first)).collect() };
        if let Some(c) = col.iter().find(|&&c| c as usize >= n_target) {
            return Err(Error::Runtime(format!("projection `{}`: a target ({}) outside this world's {n_target} neurons from {first}", t.name, c.wrapping_add(first))));
        }
        let (ptr, syn, row) = layout::by_target(&t.csr.row_ptr, &col, n_target);
        let src = row.iter().map(|&r| r + t.src_start).collect();
        let weight = syn.iter().map(|&k| t.weight_of(k as usize)).collect();
        let delay = match &t.delay {
            Delays::Const(d) => DelayLayout::Const(*d),
            Delays::Each(ds) => DelayLayout::Each(syn.iter().map(|&k| ds[k as usize]).collect()),
        };
        if t.csr.col.len() >= u32::MAX as usize {
            return Err(refuse(format!("holds at most 2^32 - 1 synapses per projection (projection `{}` has {})", t.name, t.csr.col.len())));
        }
        let push = match opts.delivery {
            Delivery::Pull => false,
            Delivery::Push { .. } => true,
            Delivery::Auto => t.csr.col.len() >= AUTO_PUSH,
        };
        let push = push.then(|| PushLayout {
            src_start: t.src_start,
            ptr: t.csr.row_ptr.iter().map(|&x| x as u32).collect(),
            col: col.clone(),
            weight: (0..t.len()).map(|k| t.weight_of(k)).collect(),
            delay: match &t.delay {
                Delays::Const(_) => None,
                Delays::Each(ds) => Some(ds.clone()),
            },
        });
        layout.projs.push(ProjLayout { source, target, receptor: t.receptor, ptr, src, weight, delay, push });
    }
    layout.capacity = match opts.delivery {
        Delivery::Push { capacity } if !(1..=32).contains(&capacity) => return Err(Error::Input(format!("push delivery's bucket capacity must be 1 to 32, not {capacity}"))),
        Delivery::Push { capacity } => capacity as usize,
        _ => 16,
    };
    layout.period = period_for(layout.sources.iter().map(|s| s.words()).sum());
    let bytes = layout.bytes();

    // Copy the built state before the backend owns the layout.
    let mut init: Vec<(Vec<Vec<f64>>, Vec<f64>)> = Vec::new();
    for &e in pops {
        let st = world.get::<NeuronState>(e).expect("checked above");
        let vars = (0..st.vars.len()).map(|k| st.var_to_host(k)).collect();
        let ring = world.get::<InputRing>(e).expect("checked above").to_host().into_owned();
        init.push((vars, ring));
    }
    let mut backend: Box<dyn Backend> = match &opts.device {
        TensorDevice::Flex => Box::new(host::HostBackend::new(layout.clone())),
        #[cfg(feature = "cuda")]
        TensorDevice::Cuda(_) => {
            let shard = world.get_resource::<crate::net::RunInfo>().map_or(0, |r| r.shard.0);
            match opts.device.for_shard(shard, opts.shards)? {
                TensorDevice::Cuda(i) => Box::new(cuda::CudaBackend::new(layout.clone(), i)?),
                TensorDevice::Flex => unreachable!("a CUDA device stays one"),
            }
        }
        #[cfg(not(feature = "cuda"))]
        TensorDevice::Cuda(_) => return Err(Error::Input("this build has no CUDA support: rebuild with `--features cuda`".into())),
    };
    for (p, (vars, ring)) in init.iter().enumerate() {
        for (k, v) in vars.iter().enumerate() {
            backend.write_var(p, k, v);
        }
        backend.write_ring(p, ring);
    }
    let name = backend.name();
    let shared = Arc::new(Shared(Mutex::new(backend), layout.pops.iter().map(|p| p.n).collect()));
    for (p, &e) in pops.iter().enumerate() {
        let dref = DeviceRef(shared.clone() as Arc<dyn DeviceStore>, p);
        world.get_mut::<NeuronState>(e).expect("checked above").store = StateStore::Device(dref.clone());
        let mut ring = world.get_mut::<InputRing>(e).expect("checked above");
        ring.data = crate::util::lines::Lines::default();
        ring.device = Some(dref);
    }
    for &(e, _) in &gap_sources {
        world.get_mut::<EncoderSlot>(e).expect("an encoder").on_device = true;
    }
    let step = world.resource::<Clock>().step;
    tracing::info!(backend = name, bytes_per_neuron_total = bytes.0, bytes_synapses = bytes.1, period = layout.period, "device engine");
    world.insert_resource(FlushedSpikes::default());
    world.insert_resource(DeviceNet {
        shared,
        pops: pops.to_vec(),
        pop_sizes: layout.pops.iter().map(|p| p.n).collect(),
        encoders: enc_sources,
        gap_last: vec![Vec::new(); gap_sources.len()],
        samplers: Vec::new(),
        firsts,
        shard: sharded.then_some(ShardSources { whole }),
        gaps: gap_sources,
        currents,
        projs: layout.projs.len(),
        period: layout.period as u64,
        flushed_to: step,
        decode: vec![true; pops.len()],
        gap_decode: Vec::new(),
        count_base: vec![0; pops.len()],
        last: vec![Vec::new(); pops.len()],
        last_step: None,
        bytes,
        backend: name,
    });
    records::continue_spike_record(world).map_err(|e| Error::Runtime(format!("device engine: {e}")))
}

/// The device engine's step (the `Integrate` and `Propagate` sets' work): encoder spikes
/// up, every population's update, every projection's delivery, and every `period` steps
/// the spikes down.
pub(crate) fn step_device(world: &mut World) {
    let step = world.resource::<Clock>().step;
    let Some(net) = world.get_resource::<DeviceNet>() else { return };
    let shared = net.shared.clone();
    let (pops, encoders, currents, projs) = (net.pops.clone(), net.encoders.clone(), net.currents.clone(), net.projs);
    let gaps = net.gaps.clone();
    // Each sampler's period and its next slot.
    let samplers: Vec<(u64, usize)> = net.samplers.iter().map(|s| (s.every, s.pending.len())).collect();
    let (firsts, sizes, sharded) = (net.firsts.clone(), net.pop_sizes.clone(), net.shard.is_some());
    let mut words = Vec::new();
    let mut result = Ok(());
    {
        let mut b = shared.lock();
        result = result.and(b.begin_step(step));
        // Current encoders add after this step's slot received its spikes, as on the host
        // (a shard adds the values of its own neurons).
        for &(e, p, start, receptor) in &currents {
            if let Some(mut slot) = world.get_mut::<EncoderSlot>(e) {
                let (lo, hi) = (start.max(firsts[p]), (start + slot.scratch.len()).min(firsts[p] + sizes[p]));
                if lo < hi {
                    result = result.and(b.add_input(p, step, receptor, lo - firsts[p], &slot.scratch[lo - start..hi - start]));
                }
                slot.scratch.fill(0.0);
            }
        }
        // Noise receptors: the same draws as every engine, made by the backend (on the
        // device with CUDA).
        for (p, &e) in pops.iter().enumerate() {
            let Some(noise) = world.get::<crate::net::NoiseInputs>(e) else { continue };
            for &(r, key) in &noise.rows {
                result = result.and(b.noise(p, step, r, key, noise.entity, firsts[p] as u64, sizes[p]));
            }
        }
        if sharded {
            // A shard: the update only; its spikes go to the exchange, and delivery waits
            // for the window's end ([`propagate_shard`]).
            for p in 0..pops.len() {
                result = result.and(b.update(p, step));
            }
            let period = world.resource::<DeviceNet>().period;
            for (p, &e) in pops.iter().enumerate() {
                let got = b.take_words(p, (step % period) as usize, 1);
                let w = match got {
                    Ok(w) => w,
                    Err(err) => {
                        result = Err(err);
                        break;
                    }
                };
                let idx = records::decode_words(&w, firsts[p] as u32);
                if let Some(mut sp) = world.get_mut::<Spikes>(e) {
                    sp.total += idx.len() as u64;
                    sp.indices = idx;
                }
            }
            drop(b);
            if let Err(e) = result {
                world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine at step {step}: {e}"));
            }
            return;
        }
        for &(e, s, n) in &encoders {
            records::encode_words(world.get::<Spikes>(e).map_or(&[][..], |sp| &sp.indices), n, &mut words);
            result = result.and(b.set_spikes(s, step, &words));
        }
        for g in 0..gaps.len() {
            result = result.and(b.gaps(g, step));
        }
        for p in 0..pops.len() {
            result = result.and(b.update(p, step));
        }
        // State monitors sample the updated state (as `record` does on the host).
        for (id, &(every, slot)) in samplers.iter().enumerate() {
            if (step + 1).is_multiple_of(every) {
                result = result.and(b.sample(id, slot));
            }
        }
        for q in 0..projs {
            result = result.and(b.deliver(q, step));
        }
    }
    if let Err(e) = result {
        world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine at step {step}: {e}"));
        return;
    }
    // Encoders' spikes enter their history here (the host's propagation does not run).
    for &(e, ..) in &encoders {
        let idx = world.get::<Spikes>(e).map(|s| s.indices.clone()).unwrap_or_default();
        if let Some(mut h) = world.get_mut::<SpikeHistory>(e) {
            h.record(step, &idx);
        }
    }
    for e in pops.iter().chain(gaps.iter().map(|(e, _)| e)) {
        if let Some(mut s) = world.get_mut::<Spikes>(*e) {
            s.indices.clear();
        }
    }
    let mut full = false;
    for s in &mut world.resource_mut::<DeviceNet>().samplers {
        if (step + 1).is_multiple_of(s.every) {
            s.pending.push(step + 1);
            full |= s.pending.len() == s.cap;
        }
    }
    if full {
        records::take_samples(world);
    }
    let net = world.resource::<DeviceNet>();
    if step + 1 - net.flushed_to >= net.period {
        records::flush(world, step + 1);
    }
}

/// A shard's delivery (`Propagate`): at the end of an exchange window, each of its steps
/// in order, with every source's merged spikes written into its whole-population source,
/// as the cpu engine's `propagate_spikes` replays a window (histories recorded, `Spikes`
/// left holding the last step's).
pub(crate) fn propagate_shard(world: &mut World) {
    let Some(net) = world.get_resource::<DeviceNet>() else { return };
    let Some(sh) = net.shard.clone() else { return };
    let (shared, projs) = (net.shared.clone(), net.projs);
    let steps = match world.get_resource_mut::<crate::net::WindowReplay>() {
        Some(mut r) if !r.defer && !r.steps.is_empty() => std::mem::take(&mut r.steps),
        _ => return,
    };
    let mut result = Ok(());
    let mut words = Vec::new();
    for (step, lists) in steps {
        for (e, idx) in &lists {
            if let Some(mut sp) = world.get_mut::<Spikes>(*e) {
                sp.indices.clone_from(idx);
            }
        }
        for (e, idx) in &lists {
            if let Some(mut h) = world.get_mut::<SpikeHistory>(*e) {
                h.record(step, idx);
            }
        }
        let mut b = shared.lock();
        // (The counters of a push delivery start from zero for each step.)
        result = result.and(b.begin_step(step));
        for &(e, s, n) in &sh.whole {
            records::encode_words(lists.iter().find(|(x, _)| *x == e).map_or(&[][..], |(_, idx)| idx), n, &mut words);
            result = result.and(b.set_spikes(s, step, &words));
        }
        for q in 0..projs {
            result = result.and(b.deliver(q, step));
        }
        drop(b);
        if let Err(e) = result {
            world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine at step {step}: {e}"));
            return;
        }
    }
}

/// Says which populations' spikes something records step by step (spike and rate
/// monitors): only theirs are decoded for every step at a flush. The others' flushes
/// decode only the steps their `SpikeHistory` holds (the last one at least) and take
/// spike counts and last-spike steps from the device, which is what a run that records
/// nothing needs. (Without a call, every population is decoded.)
pub(crate) fn decode_for(world: &mut World, recorded: &[Entity]) {
    if let Some(mut net) = world.get_resource_mut::<DeviceNet>() {
        net.decode = net.pops.iter().map(|e| recorded.contains(e)).collect();
        net.gap_decode = net.gaps.iter().map(|(e, _)| recorded.contains(e)).collect();
    }
}
