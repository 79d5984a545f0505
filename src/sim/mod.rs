//! The simulation facade: a bevy_ecs [`World`] built from a scenario, stepped by a
//! [`Schedule`] of systems in the ordered [`SimSystems`] sets.

mod link;
mod workers;

use std::sync::Arc;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};

use crate::api::run::{EngineKind, RunOptions};
use crate::api::sets::SimSystems;
use crate::engine::Faults;
use crate::net::synapse::SynapseTable;
use crate::net::{Clock, CpuPool, NeuronState, RunInfo, ShardLink, Spikes};
use crate::registry::{SimBuilder, StateSection};
use crate::scenario::Scenario;
use crate::{Error, Result};

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
    /// The other shards of a sharded run (`RunOptions::shards`); `world` is shard 0.
    peers: Vec<Peer>,
    /// Plugins' checkpointed state, in registration order.
    pub(crate) plugin_sections: Arc<Vec<StateSection>>,
    /// Plugins' output arrays.
    pub(crate) plugin_outputs: Arc<Vec<crate::registry::OutputHook>>,
    /// Plugins' populations (summary and manifest).
    pub(crate) plugin_populations: Arc<Vec<crate::registry::PopulationHook>>,
    /// The threads of the peers, kept from batch to batch.
    workers: workers::ShardWorkers,
}

impl SimBuilder {
    /// The synapses of every projection (scenario order), drawn from the seed's streams as
    /// a build draws them; with `ranges` (one range of neuron indices per population, in
    /// scenario order), only those onto the targets in the ranges: a shard's share, equal
    /// to the whole build's synapses onto those targets, in the same order.
    pub fn draw_synapses(&self, scenario: &Scenario, ranges: Option<&[std::ops::Range<usize>]>) -> Result<Vec<crate::net::synapse::DrawnSynapses>> {
        if let Some(r) = ranges
            && (r.len() != scenario.populations.len() || r.iter().zip(&scenario.populations).any(|(r, p)| r.start > r.end || r.end > p.size))
        {
            return Err(Error::Input(format!("{}: a shard needs one range of neurons per population, within its size", scenario.path.display())));
        }
        crate::build::draw_synapses(scenario, ranges)
    }

    /// Builds the world for `scenario`: draws connectivity, weights, delays and initial
    /// values from the seed's streams, and assembles the schedule with the core's systems
    /// and every plugin's. With `opts.shards = K > 1`, K worlds (shards), each holding a
    /// range of every population, linked to exchange spikes every step; the `Sim` is
    /// shard 0 (which records) and steps the others beside it on their own threads.
    pub fn build(&self, scenario: Scenario, opts: &RunOptions) -> Result<Sim> {
        self.check()?;
        crate::api::run::Simd::from_env()?;
        let process = opts.processes.as_ref().map(|p| p.0.clone());
        let count = match &process {
            Some(p) => {
                let wanted = if opts.shards == 0 { scenario.shards } else { opts.shards };
                if wanted > 1 && wanted != p.size() {
                    return Err(Error::Input(format!("{}: {wanted} shards asked for, but {} processes run it (one shard per process)", scenario.path.display(), p.size())));
                }
                p.size()
            }
            None if opts.shards == 0 => scenario.shards,
            None => opts.shards,
        };
        let opts = &match crate::build::threads_as_shards(&scenario, opts, count) {
            Some(k) => RunOptions { shards: k, threads: 1, ..opts.clone() },
            None => RunOptions { shards: count, ..opts.clone() },
        };
        let count = opts.shards;
        if count as u64 > crate::scenario::MAX_SHARDS {
            return Err(Error::Input(format!("{}: {count} shards; at most {}", scenario.path.display(), crate::scenario::MAX_SHARDS)));
        }
        // The shards this process holds: all, or its rank's one.
        let local: Vec<usize> = match &process {
            Some(p) if count > 1 => vec![p.rank()],
            _ => (0..count).collect(),
        };
        // The shards of this process are built side by side, as many at once as there are
        // cores (each draws its own synapses; a rule that ignores the range draws them
        // all); the first error in shard order is the build's.
        let held = std::sync::Mutex::new(Vec::new());
        let at_once = std::thread::available_parallelism().map_or(1, usize::from).max(1);
        let mut worlds = Vec::with_capacity(local.len());
        for group in local.chunks(at_once) {
            let built: Vec<Result<_>> = if group.len() == 1 {
                vec![self.assemble(&scenario, opts, group[0], &held)]
            } else {
                std::thread::scope(|s| {
                    let handles: Vec<_> = group.iter().map(|&k| {
                        let (scenario, held) = (&scenario, &held);
                        s.spawn(move || self.assemble(scenario, opts, k, held))
                    }).collect();
                    handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
                })
            };
            for b in built {
                worlds.push(b?);
            }
        }
        if count > 1 {
            link::link_shards(&mut worlds, &local, count, &scenario, process.clone(), opts.exchange_every, opts.engine != EngineKind::Device)?;
        }
        if opts.engine == EngineKind::Device {
            // After linking: the shards' rings and histories have their common depths.
            for (world, _, built) in &mut worlds {
                attach_device(world, built, opts)?;
            }
        }
        let mut shards = worlds.into_iter();
        let (world, schedule, built) = shards.next().expect("one shard at least");
        let peers = shards
            .map(|(world, schedule, b)| Peer { world, schedule, populations: b.populations, projections: b.projections, encoders: b.encoders })
            .collect();
        tracing::info!(
            populations = built.populations.len(),
            projections = built.projections.len(),
            shards = count,
            "network built from {}",
            scenario.path.display()
        );
        let reg = self.registry();
        Ok(Sim {
            world,
            schedule,
            peers,
            populations: built.populations,
            projections: built.projections,
            encoders: built.encoders,
            monitors: built.monitors,
            scenario,
            plugin_sections: Arc::new(reg.sections.clone()),
            plugin_outputs: Arc::new(reg.outputs.clone()),
            plugin_populations: Arc::new(reg.population_reports.clone()),
            workers: workers::ShardWorkers::default(),
        })
    }

    /// One world (shard `shard` of `opts.shards`) and its initialised schedule.
    fn assemble(&self, scenario: &Scenario, opts: &RunOptions, shard: usize, held: &std::sync::Mutex<Vec<crate::scenario::estimate::DrawnSize>>) -> Result<(World, Schedule, crate::build::Built)> {
        let reg = self.registry();
        let mut built = crate::build::build_world(scenario, opts, reg, shard, held)?;
        let mut world = std::mem::take(&mut built.world);
        world.insert_resource(Faults::default());

        let mut schedule = Schedule::default();
        schedule.set_build_settings(ScheduleBuildSettings { ambiguity_detection: LogLevel::Error, shuffle_seed: self.shuffle_seed, ..Default::default() });
        schedule.configure_sets(
            (
                SimSystems::Inputs,
                SimSystems::Deliver,
                SimSystems::Integrate,
                SimSystems::Propagate,
                SimSystems::EventWindow,
                SimSystems::Plasticity,
                SimSystems::Record,
                SimSystems::Advance,
            )
                .chain(),
        );
        // Systems with nothing to do in this world stay out of its schedule (each costs
        // ~45 ns a step even when it returns at once): encoders and plasticity rules are
        // fixed once the network is built.
        if !world.resource::<crate::net::InputOrder>().0.is_empty() {
            schedule.add_systems(crate::engine::run_encoders.in_set(SimSystems::Inputs));
        }
        match opts.engine {
            EngineKind::Cpu => schedule.add_systems(crate::engine::cpu::integrate_cpu.in_set(SimSystems::Integrate)),
            EngineKind::Tensor => schedule.add_systems(crate::engine::tensor::integrate_tensor.in_set(SimSystems::Integrate)),
            // (The network moves onto the device in `build`, once the shards are linked.)
            EngineKind::Device => schedule.add_systems(crate::engine::device::step_device.in_set(SimSystems::Integrate)),
        };
        if opts.shards > 1 {
            // After the update (the tensor engine's or the cpu engine's: shards run on one).
            match opts.engine {
                EngineKind::Tensor => schedule.add_systems(crate::engine::exchange::exchange_spikes.in_set(SimSystems::Integrate).after(crate::engine::tensor::integrate_tensor)),
                EngineKind::Device => {
                    schedule.add_systems(crate::engine::device::propagate_shard.in_set(SimSystems::Propagate));
                    schedule.add_systems(crate::engine::exchange::exchange_spikes.in_set(SimSystems::Integrate).after(crate::engine::device::step_device))
                }
                _ => schedule.add_systems(crate::engine::exchange::exchange_spikes.in_set(SimSystems::Integrate).after(crate::engine::cpu::integrate_cpu)),
            };
            schedule.add_systems(crate::engine::exchange::gather_weights.in_set(SimSystems::Record).before(crate::monitor::record));
        }
        if opts.engine != EngineKind::Device {
            schedule.add_systems(crate::engine::deliver::propagate_spikes.in_set(SimSystems::Propagate));
        }
        if world.get_resource::<crate::net::plastic::ActiveRules>().is_some_and(|a| !a.is_empty()) {
            schedule.add_systems(crate::net::plastic::run_rules.in_set(SimSystems::Plasticity));
        }
        schedule.add_systems(crate::monitor::record.in_set(SimSystems::Record));
        schedule.add_systems(crate::engine::advance_clock.in_set(SimSystems::Advance));
        for add in &reg.systems {
            add(&mut schedule, &mut world);
        }
        schedule
            .initialize(&mut world)
            .map_err(|e| Error::Runtime(format!("schedule: {}", e.to_string(schedule.graph(), &world))))?;
        Ok((world, schedule, built))
    }
}

/// Moves a built world onto the device engine's device, with what its monitors record.
fn attach_device(world: &mut World, built: &crate::build::Built, opts: &RunOptions) -> Result<()> {
    crate::engine::device::attach(world, &built.populations, &built.projections, &built.encoders, opts)?;
    let mut recorded: Vec<Entity> = world.query::<&crate::monitor::SpikeRecorder>().iter(world).map(|m| m.target).collect();
    recorded.extend(world.query::<&crate::monitor::RateRecorder>().iter(world).map(|m| m.target));
    crate::engine::device::decode_for(world, &recorded);
    let sampled: Vec<_> = world.query::<(Entity, &crate::monitor::StateRecorder)>().iter(world).map(|(e, m)| (e, m.target, m.vars.clone(), m.indices.clone(), m.every)).collect();
    crate::engine::device::sample_for(world, &sampled)
}

/// A shard other than the first: its world and schedule, stepped on a thread of its own
/// beside shard 0's, and its entities (scenario order; it has no monitors).
struct Peer {
    world: World,
    schedule: Schedule,
    populations: Vec<Entity>,
    projections: Vec<Entity>,
    encoders: Vec<Entity>,
}

/// Steps a sharded run takes between two checks of `go` and of faults.
pub(crate) const SHARD_CHUNK: u64 = 64;

impl Sim {
    /// Steps completed.
    pub fn step_count(&self) -> u64 {
        self.world.resource::<Clock>().step
    }

    /// Simulated time reached, ms.
    pub fn t_ms(&self) -> f64 {
        let c = self.world.resource::<Clock>();
        c.step as f64 * c.dt_ms
    }

    /// Sets the neuromodulatory signal `name` (`"reward"`) that plasticity rules read from
    /// the next step on: closed-loop learning from a program, between steps.
    pub fn set_modulator(&mut self, name: &str, value: f64) {
        // Every shard's rules read it.
        for w in std::iter::once(&mut self.world).chain(self.peers.iter_mut().map(|p| &mut p.world)) {
            if let Some(mut m) = w.get_resource_mut::<crate::net::plastic::Modulators>() {
                m.set(name, value);
            }
        }
    }

    /// The current value of the neuromodulatory signal `name` (0 if never set).
    pub fn modulator(&self, name: &str) -> f64 {
        self.world.resource::<crate::net::plastic::Modulators>().get(name)
    }

    /// Advances one step (none once a plugin has broken its contract: see [`Sim::check`]).
    pub fn step(&mut self) {
        self.run_steps(1);
    }

    /// Advances `n` steps, stopping early if a plugin breaks its contract (see
    /// [`Sim::check`]).
    pub fn run_steps(&mut self, n: u64) {
        self.run_steps_while(n, || true);
    }

    /// Advances up to `n` steps, checking `go` before each (a Ctrl-C flag, say): the steps
    /// run as one batch, so the device engine copies spikes to the host once, at the end.
    /// A sharded run checks `go` and faults every [`SHARD_CHUNK`] steps: all shards run
    /// the same steps, since each waits for the others' spikes.
    pub fn run_steps_while(&mut self, n: u64, mut go: impl FnMut() -> bool + Send) {
        let _span = tracing::debug_span!("run_steps", from = self.step_count(), n).entered();
        if self.process().is_some() {
            // One shard of several processes: every process runs the same steps (each
            // waits for the others' spikes), so `go` is not asked (a process that stopped
            // alone would leave the others waiting); a fault anywhere halts all.
            let mut done = 0;
            while done < n && !self.world.resource::<ShardLink>().halted {
                let chunk = (n - done).min(self.shard_chunk());
                let end = self.step_count() + chunk;
                self.world.resource_mut::<ShardLink>().flush_at = end;
                // (On a pool worker only where the transport may be called from another
                // thread: MPI_THREAD_SERIALIZED.)
                if self.process().is_some_and(|p| p.any_thread()) {
                    in_pool(&mut self.world, &mut self.schedule, |w, s| steps_until_halted(w, s, chunk));
                } else {
                    steps_until_halted(&mut self.world, &mut self.schedule, chunk);
                }
                done += chunk;
            }
            return;
        }
        if !self.peers.is_empty() {
            let mut done = 0;
            while done < n && self.fault().is_none() && go() {
                let chunk = (n - done).min(self.shard_chunk());
                self.run_shards(chunk);
                done += chunk;
            }
            return;
        }
        in_pool(&mut self.world, &mut self.schedule, |world, schedule| {
            for _ in 0..n {
                if !world.resource::<Faults>().0.is_empty() || !go() {
                    break;
                }
                schedule.run(world);
            }
        });
        crate::engine::device::sync(&mut self.world);
        crate::monitor::record_flushed_now(&mut self.world);
    }

    /// Runs `n` steps of every shard, each on its own thread (shard 0 on this one).
    fn run_shards(&mut self, n: u64) {
        // A window ends with the batch, so that between batches every shard holds one
        // world's state (for checkpoints, outputs and reads).
        let end = self.step_count() + n;
        for w in std::iter::once(&mut self.world).chain(self.peers.iter_mut().map(|p| &mut p.world)) {
            if let Some(mut l) = w.get_resource_mut::<ShardLink>() {
                l.flush_at = end;
            }
        }
        let peers = std::mem::take(&mut self.peers);
        let (world, schedule) = (&mut self.world, &mut self.schedule);
        // NOTE: the peers move into their threads and come back: one that panics drops
        // its world, and with it its channels, so the others stop waiting for it.
        // A shard stops stepping once an exchange said that some shard stopped: all
        // learn it in the same step, so none waits for another.
        let (mine, peers) = self.workers.run(peers, n, || {
            let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| in_pool(world, schedule, |w, s| steps_until_halted(w, s, n))));
            if mine.is_err() {
                // Shard 0's world outlives its panic: dropping its links tells the others.
                world.remove_resource::<ShardLink>();
            }
            mine
        });
        let mut panic = mine.err();
        for j in peers {
            match j {
                Ok(p) => self.peers.push(p),
                Err(e) => panic = panic.or(Some(e)),
            }
        }
        if let Some(e) = panic {
            // NOTE: the run cannot go on (a shard's world is gone or broken): the panic
            // goes on to the caller, as it would from one world.
            std::panic::resume_unwind(e);
        }
    }

    /// Steps per spike exchange of a sharded run (`None`: one world). A batch of steps
    /// ([`Sim::run_steps`]) also ends a window: batches that are multiples of it keep every
    /// window whole.
    pub fn exchange_window(&self) -> Option<u64> {
        self.world.get_resource::<ShardLink>().map(|l| l.window)
    }

    /// Per shard this process holds (shard 0's first), the projections whose rows of the
    /// shard's own spikes it delivers while it waits for the other shards' (in a window
    /// of one step, on one thread: `docs/sharding.md`); none in one world.
    pub fn early_projections(&self) -> Vec<Vec<String>> {
        let names = |w: &World, projections: &[Entity]| -> Vec<String> {
            let Some(r) = w.get_resource::<crate::net::WindowReplay>() else { return Vec::new() };
            r.early.iter().filter_map(|t| projections.iter().position(|&p| p == t.table)).map(|i| self.scenario.projections[i].name.clone()).collect()
        };
        std::iter::once(names(&self.world, &self.projections)).chain(self.peers.iter().map(|p| names(&p.world, &p.projections))).collect()
    }

    /// Steps a sharded run takes between two checks of `go` and of faults: about
    /// [`SHARD_CHUNK`], a whole number of windows.
    fn shard_chunk(&self) -> u64 {
        let w = self.exchange_window().unwrap_or(1).max(1);
        (SHARD_CHUNK / w).max(1) * w
    }

    /// Shards the run is split into (1: one world), in this process or over processes.
    pub fn shards(&self) -> usize {
        self.world.get_resource::<ShardLink>().map_or(1, ShardLink::count)
    }

    /// Threads that split a world's update and delivery (`--threads`), the fewest of any
    /// shard this process holds: 1 where no pool was started (nothing large enough to split).
    pub fn threads_per_shard(&self) -> usize {
        let threads = |w: &World| w.get_resource::<CpuPool>().and_then(|p| p.pool.as_ref().map(|p| p.current_num_threads())).unwrap_or(1);
        self.peers.iter().map(|p| threads(&p.world)).fold(threads(&self.world), usize::min)
    }

    /// The processes a run is split over (one shard each; `None`: this process holds
    /// every shard).
    pub fn process(&self) -> Option<Arc<dyn crate::api::transport::Transport>> {
        self.world.get_resource::<ShardLink>().and_then(|l| l.process.clone())
    }

    /// Whether this process writes the outputs: it holds shard 0, which records.
    pub fn writes_outputs(&self) -> bool {
        self.world.get_resource::<ShardLink>().is_none_or(|l| l.index == 0)
    }

    /// Shard `k`'s counterpart of shard 0's entity `e` (a population, projection or
    /// encoder; monitors live in shard 0 only).
    fn counterpart(&self, k: usize, e: Entity) -> Option<Entity> {
        if k == 0 {
            return Some(e);
        }
        let p = &self.peers[k - 1];
        let find = |mine: &[Entity], theirs: &[Entity]| mine.iter().position(|&x| x == e).map(|i| theirs[i]);
        find(&self.populations, &p.populations).or_else(|| find(&self.projections, &p.projections)).or_else(|| find(&self.encoders, &p.encoders))
    }

    /// Every shard's world (shard 0 first) with its counterpart of shard 0's entity `e`
    /// (`None` where it has none); for `e = None` (a resource), every world.
    pub(crate) fn shard_worlds(&self, e: Option<Entity>) -> Vec<(&World, Option<Entity>)> {
        let es: Vec<Option<Entity>> = (0..self.shards()).map(|k| e.map_or(Some(Entity::PLACEHOLDER), |e| self.counterpart(k, e))).collect();
        self.worlds().zip(es).collect()
    }

    /// [`Sim::shard_worlds`], mutable.
    pub(crate) fn shard_worlds_mut(&mut self, e: Option<Entity>) -> Vec<(&mut World, Option<Entity>)> {
        let es: Vec<Option<Entity>> = (0..self.shards()).map(|k| e.map_or(Some(Entity::PLACEHOLDER), |e| self.counterpart(k, e))).collect();
        std::iter::once(&mut self.world).chain(self.peers.iter_mut().map(|p| &mut p.world)).zip(es).collect()
    }

    /// Shard `k`'s world (0: this `Sim`'s own), to read what a plugin keeps per shard;
    /// `None` past the shards this process holds.
    pub fn shard_world(&self, k: usize) -> Option<&World> {
        self.worlds().nth(k)
    }

    /// Every shard's world, shard 0 first.
    fn worlds(&self) -> impl Iterator<Item = &World> {
        std::iter::once(&self.world).chain(self.peers.iter().map(|p| &p.world))
    }

    /// The first contract violation of a plugin found while stepping, if any (in any
    /// shard: the others halt with it, without a fault of their own).
    pub fn fault(&self) -> Option<&str> {
        self.worlds().find_map(|w| w.resource::<Faults>().0.first().map(String::as_str))
    }

    /// The step the run ends at: the scenario's `t_stop`, unless [`Sim::set_end`] moved it.
    pub fn end_step(&self) -> u64 {
        self.world.resource::<RunInfo>().end_step
    }

    /// Moves the end of the run (`spikeworld resume --until`), in every shard (rules read
    /// it: `PlasticStep::end_step`).
    pub fn set_end(&mut self, steps: u64) {
        for w in std::iter::once(&mut self.world).chain(self.peers.iter_mut().map(|p| &mut p.world)) {
            w.resource_mut::<RunInfo>().end_step = steps;
        }
    }

    /// Runs to [`Sim::end_step`], calling `progress(step)` every `every` steps.
    pub fn run_to_end(&mut self, every: u64, progress: impl FnMut(u64)) {
        self.run_until(self.end_step(), every, progress);
    }

    /// Runs until `end` steps are complete, calling `progress(step)` every `every` steps.
    pub fn run_until(&mut self, end: u64, every: u64, mut progress: impl FnMut(u64)) {
        while self.step_count() < end && self.fault().is_none() {
            let n = every.max(1).min(end - self.step_count());
            self.run_steps(n);
            progress(self.step_count());
        }
    }

    /// A population's entity by name.
    pub fn population(&self, name: &str) -> Option<Entity> {
        self.scenario.population(name).map(|i| self.populations[i])
    }

    /// A copy of a state variable of a population (by names); of a sharded run, the
    /// shards' ranges in order.
    pub fn state(&self, population: &str, var: &str) -> Option<Vec<f64>> {
        let pi = self.scenario.population(population)?;
        let k = self.scenario.populations[pi].model.vars().iter().position(|v| v.name == var)?;
        let mut out = self.world.get::<NeuronState>(self.populations[pi])?.var_to_host(k);
        for p in &self.peers {
            let e = p.world.get_resource::<ShardLink>()?.populations[pi];
            out.extend(p.world.get::<NeuronState>(e)?.var_to_host(k));
        }
        Some(out)
    }

    /// Checks that no plugin broke its contract while stepping and that every state
    /// variable is finite; names the first problem.
    pub fn check(&self) -> Result<()> {
        if let Some(f) = self.fault() {
            return Err(Error::Runtime(format!("stopped at t = {} ms: {f}", crate::util::units::fmt_ms(self.t_ms()))));
        }
        self.check_finite()
    }

    /// Checks every state variable is finite; names the first bad one.
    pub fn check_finite(&self) -> Result<()> {
        for p in &self.scenario.populations {
            for v in p.model.vars() {
                let Some(col) = self.state(&p.name, v.name) else { continue };
                if let Some(i) = col.iter().position(|x| !x.is_finite()) {
                    return Err(Error::Runtime(format!(
                        "population `{}` neuron {i}: `{}` became {} by t = {} ms (dt too large, or a parameter out of range?)",
                        p.name,
                        v.name,
                        col[i],
                        crate::util::units::fmt_ms(self.t_ms())
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

    /// Synapses of each projection, in scenario order (of all shards).
    pub fn synapse_counts(&self) -> Vec<usize> {
        (0..self.projections.len()).map(|i| self.tables(i).iter().map(|t| t.len()).sum()).collect()
    }

    /// The synapse tables of projection `i` (scenario order): one, or one per shard.
    pub fn tables(&self, i: usize) -> Vec<&SynapseTable> {
        let name = &self.scenario.projections[i].name;
        let mut out: Vec<&SynapseTable> = self.world.get::<SynapseTable>(self.projections[i]).into_iter().collect();
        for p in &self.peers {
            // Projections spawn in scenario order in every shard; found by name to be safe.
            if let Some(mut q) = p.world.try_query::<&SynapseTable>() {
                out.extend(q.iter(&p.world).filter(|t| &t.name == name));
            }
        }
        out
    }
}

/// Up to `n` steps of a shard, none after an exchange said that some shard stopped (or
/// once its links are gone).
fn steps_until_halted(world: &mut World, schedule: &mut Schedule, n: u64) {
    for _ in 0..n {
        if world.get_resource::<ShardLink>().is_none_or(|l| l.halted) {
            break;
        }
        schedule.run(world);
    }
}

/// Runs `steps` on a worker of the world's thread pool when it has one (`--threads` above
/// 1), on this thread otherwise. Each shard has a pool of its own.
// NOTE: on a worker, the parallel parts of a step are forks of that worker, which its
// idle siblings take up while still spinning; called from outside the pool, every part
// would be injected and the caller woken through a lock, tens of microseconds per
// hand-off here.
fn in_pool<R: Send>(world: &mut World, schedule: &mut Schedule, steps: impl FnOnce(&mut World, &mut Schedule) -> R + Send) -> R {
    match world.get_resource::<CpuPool>().and_then(|p| p.pool.clone()) {
        Some(pool) => pool.install(|| steps(world, schedule)),
        None => steps(world, schedule),
    }
}
