//! Definitions → world, in named stages: draw every projection's synapses, spawn
//! populations, encoders, projections (with their add-ons) and monitors, insert the run's
//! resources, then run the plugins' world hooks.

use bevy_ecs::prelude::*;

use crate::api::model::{Col, Placed};
use crate::api::run::{EngineKind, RunOptions};
use crate::api::synapse::SynapseVarSpec;
use crate::monitor::weights::WeightRecorder;
use crate::monitor::{RateRecorder, SpikeRecorder, StateRecorder};
use crate::net::synapse::{DrawnSynapses as Drawn, SynapseTable};
use crate::net::{Clock, CpuPool, CpuScratch, DeliveryOrder, EncoderSlot, EntityLabel, InputOrder, InputRing, NeuronState, Population, RunInfo, SpikeHistory, Spikes, StateStore, TensorRuntime};
use crate::registry::Registry;
use crate::scenario::estimate::DrawnSize;
use crate::scenario::{MonitorKind, NeuronValues, Scenario, SourceRef, ValueDist};
use crate::util::rng::purpose;
use crate::{Error, Result};

mod draw;

pub(crate) use draw::draw_synapses;

/// A built world and its entities, each list in scenario order.
pub(crate) struct Built {
    pub(crate) world: World,
    pub(crate) populations: Vec<Entity>,
    pub(crate) projections: Vec<Entity>,
    pub(crate) encoders: Vec<Entity>,
    pub(crate) monitors: Vec<Entity>,
}

/// The shards that `opts.threads` runs as (`RunOptions::threads_as_shards`), or `None`:
/// one world with a pool (`count`: the shards asked for otherwise).
pub(crate) fn threads_as_shards(scenario: &Scenario, opts: &RunOptions, count: usize) -> Option<usize> {
    let t = opts.threads;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let largest = scenario.populations.iter().map(|p| p.size).max().unwrap_or(0);
    let pays = t > 1 && t <= cores.min(crate::scenario::MAX_SHARDS as usize) && largest >= t * crate::api::run::MIN_SHARD_NEURONS;
    // (`--exchange-every` is for shards asked for: it may refuse a network one world runs.)
    let asked = opts.threads_as_shards && opts.shards == 0 && count <= 1 && opts.processes.is_none() && opts.engine == EngineKind::Cpu && opts.exchange_every == 0;
    (asked && pays && check_shardable(scenario, &RunOptions { shards: t, threads: 1, ..opts.clone() }).is_ok()).then_some(t)
}

/// What a sharded run cannot do yet, named (`docs/sharding.md`).
fn check_shardable(scenario: &Scenario, opts: &RunOptions) -> Result<()> {
    let refuse = |what: String| Err(Error::Input(format!("{}: split into {} shards: {what} (not sharded yet; see docs/sharding.md)", scenario.path.display(), opts.shards)));
    for p in &scenario.populations {
        if let Some((b, loc, key)) = &p.shard_bounds
            && b.len() + 1 != opts.shards
        {
            let msg = format!("{} bounds make {} shards; the run has {} (--shards, simulation.shards or mpirun -n)", b.len(), b.len() + 1, opts.shards);
            return Err(crate::util::table::err_at(loc, key.clone(), msg).into());
        }
    }
    // Each add-on says whether it gives one world's bits in a shard (its per-synapse state
    // in the table, per-neuron state from one world's indices and spikes, no sums over
    // other targets' synapses, nothing keyed by a synapse's index).
    for p in &scenario.projections {
        for a in &p.addons {
            // A kernel is shared by all the projection's synapses, in every shard: a rule
            // that did not sum each entry over every shard would learn each shard's copy
            // from that shard's synapses alone.
            if p.kernel.is_some() {
                if !a.config.kernel_in_shards() {
                    return refuse(format!("projection `{}`: its `{}` learns a shared kernel from one shard's synapses", p.name, a.name));
                }
            } else if let Err(why) = a.config.in_shards() {
                return refuse(format!("projection `{}`: its `{}` {why}", p.name, a.name));
            }
        }
    }
    if let Some((name, why)) = scenario.tables.iter().find_map(|(n, t)| t.in_shards().err().map(|w| (n, w))) {
        return refuse(format!("the plugin table `[{name}]` {why}"));
    }
    Ok(())
}

/// Builds the world of `scenario` (which is left as it was: it can build again); with
/// `opts.shards > 1`, the world of shard `shard`: every population's range of neurons
/// (`PopulationDef::shard_range`), their incoming synapses (targets as population indices, the ring
/// from `SynapseTable::target_first`), and the
/// monitors in shard 0 only (after the exchange every shard sees every spike).
/// `held`: the synapses of the shards this process built before (each projection's count
/// and longest delay), to which this one's are added: the memory check counts every
/// shard a process holds.
pub(crate) fn build_world(scenario: &Scenario, opts: &RunOptions, registry: &Registry, shard: usize, held: &std::sync::Mutex<Vec<DrawnSize>>) -> Result<Built> {
    let mut world = World::new();
    let device = match opts.engine {
        EngineKind::Tensor => Some(opts.device.for_shard(shard, opts.shards)?.to_burn()?),
        EngineKind::Cpu | EngineKind::Device => None,
    };
    let ranges: Option<Vec<std::ops::Range<usize>>> = if opts.shards > 1 {
        check_shardable(scenario, opts)?;
        Some(scenario.populations.iter().map(|p| p.shard_range(shard, opts.shards)).collect())
    } else {
        None
    };
    // Targets stay population indices (`SynapseTable::target_first` says where the
    // shard's ring starts).
    let drawn = draw_synapses(scenario, ranges.as_deref())?;
    // The synapses and delays actually drawn (with those of the shards built before in
    // this process), checked before the network is spawned.
    // (Shards built side by side add theirs in turn: the last to add checks the total.)
    let mut held = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    held.resize_with(drawn.len(), || DrawnSize { synapses: 0, max_delay: 0 });
    for (h, d) in held.iter_mut().zip(&drawn) {
        h.synapses += d.csr.len() as u64;
        h.max_delay = h.max_delay.max(d.delay.max() as u64);
    }
    scenario.estimate_drawn(&held).check(&scenario.limit)?;
    drop(held);
    let populations = spawn_populations(&mut world, scenario, &drawn, device.as_ref(), ranges.as_deref())?;
    let encoders = spawn_encoders(&mut world, scenario, &populations, &drawn);
    let projections = spawn_projections(&mut world, scenario, &populations, &encoders, drawn, ranges.as_deref())?;
    // (A shard holds part of each projection: `SimBuilder::build` checks weight monitors'
    // synapse indices against the whole.)
    let monitors = if shard == 0 { spawn_monitors(&mut world, scenario, &populations, &encoders, &projections, ranges.is_none())? } else { Vec::new() };
    insert_resources(&mut world, scenario, opts, shard, device, &projections, &encoders)?;
    for (_, t) in &scenario.tables {
        t.insert(&mut world);
    }
    for hook in &registry.world_hooks {
        hook(&mut world).map_err(|m| Error::Runtime(format!("{}: a plugin refused to build the network: {m}", scenario.path.display())))?;
    }
    Ok(Built { world, populations, projections, encoders, monitors })
}

/// Steps a source's spike history holds: its longest outgoing delay + 2 (a population's
/// also covers its longest incoming delay + 2).
fn history_depth(scenario: &Scenario, drawn: &[Drawn], is_source: impl Fn(&SourceRef) -> bool) -> usize {
    scenario.projections.iter().zip(drawn).filter(|(p, _)| is_source(&p.from)).map(|(_, d)| d.delay.max() as usize + 2).max().unwrap_or(2)
}

/// Stage 2: populations with their state, delay ring, spikes and spike history.
fn spawn_populations(world: &mut World, scenario: &Scenario, drawn: &[Drawn], device: Option<&burn::DispatchDevice>, ranges: Option<&[std::ops::Range<usize>]>) -> Result<Vec<Entity>> {
    let seed = scenario.seed;
    let mut depth = vec![2usize; scenario.populations.len()];
    for (p, d) in scenario.projections.iter().zip(drawn) {
        depth[p.to.index] = depth[p.to.index].max(d.delay.max() as usize + 2);
    }
    let mut out = Vec::with_capacity(scenario.populations.len());
    for (pi, p) in scenario.populations.iter().enumerate() {
        let nv = p.model.vars().len();
        // The neurons held: all, or the shard's range (values drawn by population index).
        let held = ranges.map_or(0..p.size, |r| r[pi].clone());
        let init = p.prepared.initial();
        // With per-neuron parameters, each neuron's defaults (its constant rows among
        // them) come from its own parameters, which reading the scenario checked.
        // (Reading the scenario checked them for its seed and dt; a program that changed
        // either since gets an error here.)
        let mut own: Option<Vec<Vec<f64>>> = None;
        if !p.per_neuron.is_empty() {
            let mut cols = vec![Vec::with_capacity(held.len()); nv];
            let mut params = p.params.clone();
            for i in held.clone() {
                p.set_neuron_params(&mut params, seed, i);
                let v = p.model.neuron_initial(&params, scenario.dt_ms).map_err(|m| Error::Input(format!("population `{}`, neuron {i}: {m}", p.name)))?;
                for (col, x) in cols.iter_mut().zip(v) {
                    col.push(x);
                }
            }
            own = Some(cols);
        }
        let mut vars = Vec::with_capacity(nv);
        for (k, &init_k) in init.iter().enumerate().take(nv) {
            let given = p.init.iter().rev().find(|(vi, _)| *vi == k).map(|(_, d)| d);
            let col: Vec<f64> = match (given, &mut own) {
                (None, None) => vec![init_k; held.len()],
                (None, Some(own)) => std::mem::take(&mut own[k]),
                (Some(NeuronValues::Dist(ValueDist::Const(v))), _) => vec![*v; held.len()],
                (Some(d), _) => held.clone().map(|i| d.at(seed, p.key, purpose::INIT + k as u64, i)).collect(),
            };
            // (An expression was checked with the scenario's seed; a program may run another.)
            if let (Some(NeuronValues::Expr(e, ..)), Some(j)) = (given, col.iter().position(|x| !x.is_finite())) {
                return Err(Error::Input(format!("population `{}`: `init.{}` = `{}` is {} for neuron {}: expected a finite number", p.name, p.model.vars()[k].name, e.text, col[j], held.start + j)));
            }
            vars.push(col);
        }
        for (k, what) in p.model.placed_rows() {
            if let Some(col) = vars.get_mut(k) {
                *col = match what {
                    Placed::Index => held.clone().map(|i| i as f64).collect(),
                    Placed::Size => vec![p.size as f64; held.len()],
                };
            }
        }
        // Outgoing delays, and incoming ones (plasticity with dendritic delays reads the
        // target's spikes that far back).
        let hist = history_depth(scenario, drawn, |s| matches!(s, SourceRef::Population(x) if x.index == pi)).max(depth[pi]);
        let mut ring = InputRing::new(depth[pi], p.model.receptors().len(), held.len());
        for proj in scenario.projections.iter().filter(|x| x.to.index == pi) {
            ring.activate(proj.receptor);
        }
        for e in &scenario.encoders {
            if let Some((sel, r)) = &e.target
                && sel.index == pi
            {
                ring.activate(*r);
            }
        }
        let noise = crate::net::NoiseInputs::of(&*p.model, seed, p.key);
        for &(r, _) in noise.iter().flat_map(|n| &n.rows) {
            ring.activate(r);
        }
        let store = match device {
            None => {
                // Each variable at its own line of a page, away from the input rows the
                // fused loop reads (`util::lines`).
                StateStore::Host(crate::util::lines::placed(&ring.active_row_lines(), vars.iter().map(|v| &v[..])))
            }
            Some(dev) => StateStore::Tensor(vars.into_iter().map(|v| Col::from_host(v, dev)).collect()),
        };
        let e = world
            .spawn((
                EntityLabel(format!("population `{}`", p.name)),
                Population { name: p.name.clone(), size: held.len(), total: p.size, first: held.start, model: p.model.name() },
                NeuronState { model: p.prepared.clone(), vars: p.model.vars(), store },
                ring,
                Spikes::default(),
                SpikeHistory::new(p.size, hist),
                CpuScratch::default(),
            ))
            .id();
        if let Some(noise) = noise {
            world.entity_mut(e).insert(noise);
        }
        out.push(e);
    }
    Ok(out)
}

/// Stage 3: encoders (they move out of the scenario; it keeps a placeholder).
fn spawn_encoders(world: &mut World, scenario: &Scenario, populations: &[Entity], drawn: &[Drawn]) -> Vec<Entity> {
    let mut out = Vec::with_capacity(scenario.encoders.len());
    for ei in 0..scenario.encoders.len() {
        let hist = history_depth(scenario, drawn, |s| matches!(s, SourceRef::Encoder(x) if x.index == ei));
        let e = &scenario.encoders[ei];
        let enc = e.config.build();
        let current_target = e.target.as_ref().map(|(sel, r)| (populations[sel.index], sel.start, *r));
        let mut ent = world.spawn((
            EntityLabel(format!("encoder `{}`", e.name)),
            EncoderSlot { name: e.name.clone(), encoder: enc, size: e.size, current_target, scratch: vec![0.0; e.size], on_device: false },
        ));
        if current_target.is_none() {
            ent.insert((Spikes::default(), SpikeHistory::new(e.size, hist)));
        }
        out.push(ent.id());
    }
    out
}

/// Stage 4: synapse tables, with the add-ons' state arrays, dynamics and components.
fn spawn_projections(
    world: &mut World,
    scenario: &Scenario,
    populations: &[Entity],
    encoders: &[Entity],
    drawn: Vec<Drawn>,
    ranges: Option<&[std::ops::Range<usize>]>,
) -> Result<Vec<Entity>> {
    let mut out = Vec::with_capacity(scenario.projections.len());
    for (p, d) in scenario.projections.iter().zip(drawn) {
        let (source, sel) = match &p.from {
            SourceRef::Population(s) => (populations[s.index], s),
            SourceRef::Encoder(s) => (encoders[s.index], s),
        };
        let mut var_specs: Vec<SynapseVarSpec> = Vec::new();
        let mut dynamics = None;
        for a in &p.addons {
            let first = var_specs.len();
            for v in a.config.synapse_vars() {
                if var_specs.iter().any(|x| x.name == v.name) {
                    return Err(Error::Input(format!(
                        "{}: projection `{}`: two add-ons declare the per-synapse variable `{}`",
                        scenario.path.display(),
                        p.name,
                        v.name
                    )));
                }
                var_specs.push(v);
            }
            if let Some(d) = a.config.dynamics() {
                dynamics = Some((d, first..var_specs.len()));
            }
        }
        let target_size = scenario.populations[p.to.index].size;
        let target_first = ranges.map_or(0, |r| r[p.to.index].start as u32);
        let table = SynapseTable::new(
            p.name.clone(),
            source,
            (sel.start as u32, sel.end as u32),
            populations[p.to.index],
            target_size,
            p.receptor,
            d.csr,
            d.weight,
            d.delay,
            var_specs,
            dynamics,
        )
        .with_kernel_index(d.kernel_index)
        .with_uniform_weight(d.uniform)
        .with_target_first(target_first);
        let mut ent = world.spawn((EntityLabel(format!("projection `{}`", p.name)), table));
        for a in &p.addons {
            a.config.attach(&mut ent);
        }
        out.push(ent.id());
    }
    Ok(out)
}

/// Stage 5: monitors.
fn spawn_monitors(world: &mut World, scenario: &Scenario, populations: &[Entity], encoders: &[Entity], projections: &[Entity], whole: bool) -> Result<Vec<Entity>> {
    let mut out = Vec::with_capacity(scenario.monitors.len());
    for (mi, m) in scenario.monitors.iter().enumerate() {
        let target = match &m.target {
            SourceRef::Population(s) => populations[s.index],
            SourceRef::Encoder(s) => encoders[s.index],
        };
        let sel = m.target.selection();
        let (a, b) = (sel.start as u32, sel.end as u32);
        let label = EntityLabel(format!("monitor `{}`", m.name));
        let e = match &m.kind {
            MonitorKind::Spikes => world.spawn((label, SpikeRecorder::new(&m.name, target, a, b))).id(),
            MonitorKind::State { vars, indices, every } => world.spawn((label, StateRecorder::new(&m.name, target, vars.clone(), indices.clone(), *every))).id(),
            MonitorKind::Rate { bin } => world.spawn((label, RateRecorder::new(&m.name, target, a, b, *bin))).id(),
            MonitorKind::Weights { projection, every, synapses, bins, range } => {
                let pe = projections[*projection];
                let n = world.get::<SynapseTable>(pe).map_or(0, |t| if t.kernel_index.is_some() { t.weight.len() } else { t.len() });
                if whole {
                    check_weight_indices(scenario, mi, *projection, synapses, n)?;
                }
                world.spawn((label, WeightRecorder::new(&m.name, pe, *every, synapses.clone(), *bins, *range))).id()
            }
        };
        out.push(e);
    }
    Ok(out)
}

/// A weight monitor's chosen synapses are indices into the `n` weights it records: one per
/// synapse of every shard (also when one weight is held for all), or a shared kernel's.
pub(crate) fn check_weight_indices(scenario: &Scenario, monitor: usize, projection: usize, synapses: &[usize], n: usize) -> Result<()> {
    match synapses.iter().find(|&&k| k >= n) {
        Some(&k) => Err(Error::Scenario(scenario.error_at(
            &[format!("monitor[{monitor}].synapses"), format!("monitor[{monitor}].projection")],
            format!(
                "synapse index {k} is out of range: projection `{}` has {n} weights (one per synapse, or per entry of a shared kernel)",
                scenario.projections[projection].name
            ),
        ))),
        None => Ok(()),
    }
}

/// Stage 6: clock, run facts, delivery and input orders, threads, device.
fn insert_resources(world: &mut World, scenario: &Scenario, opts: &RunOptions, shard: usize, device: Option<burn::DispatchDevice>, projections: &[Entity], encoders: &[Entity]) -> Result<()> {
    let threads = opts.threads.max(1);
    world.insert_resource(Clock { step: 0, dt_ms: scenario.dt_ms });
    world.insert_resource(crate::net::plastic::Modulators::default());
    world.insert_resource(RunInfo { seed: scenario.seed, end_step: scenario.steps, engine: opts.engine, threads, shard: (shard, opts.shards.max(1)) });
    world.insert_resource(DeliveryOrder(projections.to_vec()));
    world.insert_resource(InputOrder(encoders.to_vec()));
    // NOTE: a pool only where some population is large enough to be split (its update or
    // its delivery): idle pool threads cost this VM about 10 % on COBA-4000 even when no
    // work is ever handed to them (measured, cause not found), so none are started for
    // networks that would never use them.
    let smallest_split = 2 * crate::engine::cpu::MIN_CHUNK.min(crate::engine::deliver::MIN_PART);
    // (A shard's own neurons: a shard splits its part only.)
    let splittable = scenario.populations.iter().any(|p| p.shard_range(shard, opts.shards.max(1)).len() >= smallest_split);
    let pool = if threads > 1 && opts.engine == EngineKind::Cpu && splittable {
        Some(std::sync::Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| Error::Runtime(format!("cannot start {threads} threads: {e}")))?,
        ))
    } else {
        None
    };
    world.insert_resource(CpuPool { threads, pool });
    if let Some(dev) = device {
        world.insert_resource(TensorRuntime { device: dev });
    }
    Ok(())
}
