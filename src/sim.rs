//! The simulation facade: a bevy_ecs [`World`] built from a scenario, stepped by a
//! [`Schedule`] of systems in the ordered [`SimSystems`] sets.

use std::sync::Arc;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};

use crate::api::run::{EngineKind, RunOptions};
use crate::api::sets::SimSystems;
use crate::engine::Faults;
use crate::net::synapse::SynapseTable;
use crate::net::{Clock, CpuPool, NeuronState, RunInfo, Spikes};
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
    /// Plugins' checkpointed state, in registration order.
    pub(crate) plugin_sections: Arc<Vec<StateSection>>,
    /// Plugins' output arrays.
    pub(crate) plugin_outputs: Arc<Vec<crate::registry::OutputHook>>,
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
    /// and every plugin's.
    pub fn build(&self, scenario: Scenario, opts: &RunOptions) -> Result<Sim> {
        self.check()?;
        let reg = self.registry();
        let built = crate::build::build_world(&scenario, opts, reg)?;
        let mut world = built.world;
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
        schedule.add_systems(crate::engine::run_encoders.in_set(SimSystems::Inputs));
        match opts.engine {
            EngineKind::Cpu => schedule.add_systems(crate::engine::cpu::integrate_cpu.in_set(SimSystems::Integrate)),
            EngineKind::Tensor => schedule.add_systems(crate::engine::tensor::integrate_tensor.in_set(SimSystems::Integrate)),
            EngineKind::Device => {
                crate::engine::device::attach(&mut world, &built.populations, &built.projections, &built.encoders, opts)?;
                schedule.add_systems(crate::engine::device::step_device.in_set(SimSystems::Integrate))
            }
        };
        if opts.engine != EngineKind::Device {
            schedule.add_systems(crate::engine::deliver::propagate_spikes.in_set(SimSystems::Propagate));
        }
        schedule.add_systems(crate::net::plastic::run_rules.in_set(SimSystems::Plasticity));
        schedule.add_systems(crate::monitor::record.in_set(SimSystems::Record));
        schedule.add_systems(crate::engine::advance_clock.in_set(SimSystems::Advance));
        for add in &reg.systems {
            add(&mut schedule);
        }
        schedule
            .initialize(&mut world)
            .map_err(|e| Error::Runtime(format!("schedule: {}", e.to_string(schedule.graph(), &world))))?;

        tracing::info!(
            populations = built.populations.len(),
            projections = built.projections.len(),
            plugin_systems = reg.systems.len(),
            "network built from {}",
            scenario.path.display()
        );
        Ok(Sim {
            world,
            schedule,
            populations: built.populations,
            projections: built.projections,
            encoders: built.encoders,
            monitors: built.monitors,
            scenario,
            plugin_sections: Arc::new(reg.sections.clone()),
            plugin_outputs: Arc::new(reg.outputs.clone()),
        })
    }
}

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
        self.world.resource_mut::<crate::net::plastic::Modulators>().set(name, value);
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
    pub fn run_steps_while(&mut self, n: u64, mut go: impl FnMut() -> bool + Send) {
        let _span = tracing::debug_span!("run_steps", from = self.step_count(), n).entered();
        let pool = self.world.get_resource::<CpuPool>().and_then(|p| p.pool.clone());
        let (world, schedule) = (&mut self.world, &mut self.schedule);
        let mut steps = || {
            for _ in 0..n {
                if !world.resource::<Faults>().0.is_empty() || !go() {
                    break;
                }
                schedule.run(world);
            }
        };
        // NOTE: on several threads the steps run on a worker of the pool: the parallel
        // parts of a step are then forks of that worker, which its idle siblings take up
        // while still spinning; called from outside the pool, every part would be injected
        // and the caller woken through a lock, tens of microseconds per hand-off here.
        match pool {
            Some(pool) => pool.install(steps),
            None => steps(),
        }
        crate::engine::device::sync(&mut self.world);
        crate::monitor::record_flushed_now(&mut self.world);
    }

    /// The first contract violation of a plugin found while stepping, if any.
    pub fn fault(&self) -> Option<&str> {
        self.world.resource::<Faults>().0.first().map(String::as_str)
    }

    /// The step the run ends at: the scenario's `t_stop`, unless [`Sim::set_end`] moved it.
    pub fn end_step(&self) -> u64 {
        self.world.resource::<RunInfo>().end_step
    }

    /// Moves the end of the run (`spikeworld resume --until`).
    pub fn set_end(&mut self, steps: u64) {
        self.world.resource_mut::<RunInfo>().end_step = steps;
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

    /// A copy of a state variable of a population (by names).
    pub fn state(&self, population: &str, var: &str) -> Option<Vec<f64>> {
        let pi = self.scenario.population(population)?;
        let k = self.scenario.populations[pi].model.vars().iter().position(|v| v.name == var)?;
        Some(self.world.get::<NeuronState>(self.populations[pi])?.var_to_host(k))
    }

    /// Checks that no plugin broke its contract while stepping and that every state
    /// variable is finite; names the first problem.
    pub fn check(&self) -> Result<()> {
        if let Some(f) = self.fault() {
            return Err(Error::Runtime(format!("stopped at t = {} ms: {f}", self.t_ms())));
        }
        self.check_finite()
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
        self.projections.iter().map(|&e| self.world.get::<SynapseTable>(e).map_or(0, |p| p.len())).collect()
    }
}
