//! Event-driven populations in the world: the network built from [`EventDefs`], the
//! event window (`SimSystems::EventWindow`), checkpoints and the exact spike outputs.
//!
//! In step `s` (window `[s·dt, (s+1)·dt)`, after the clock-driven populations updated
//! and propagated):
//! 1. every spike of a clock-driven source in this step (time `s·dt`) becomes, for each
//!    synapse, an input event at `s·dt + delay` (exact);
//! 2. input events before `(s+1)·dt` are popped in the queue's total order (time, then
//!    origin: source, index, synapse, spike) and given to their neurons, which evolve
//!    exactly up to each input (emitting the spikes they reach on the way);
//!    After every input the neuron's next crossing is predicted (the first time its free
//!    evolution reaches θ) and filed by step ([`super::crossings`]); an input well before
//!    the prediction only decays the state ([`Srm0Model::receive_quiet`]);
//! 3. every neuron whose current prediction falls in this window evolves to the window's
//!    end (spiking on the way) and is predicted again;
//! 4. this window's output spikes, sorted by (time, population, index), are recorded
//!    (exact times) and sent: to event populations as input events at `t + delay`, to
//!    clock-driven populations into the ring slot of the first step boundary `≥ t + delay`.
//!
//! Outputs have delays of at least one step, so nothing sent in a window acts within it:
//! the neurons of a window are independent and the order of step 3 does not matter.

use bevy_ecs::prelude::{Entity, Query, Res, ResMut, Resource, World};
use spikeworld::engine::Faults;
use spikeworld::net::{Clock, EncoderSlot, InputRing, Population, RunInfo, ShardLink, Spikes};
use spikeworld::prelude::*;
use spikeworld::util::rng::entity_key;

use super::config::{Dest, EventDefs, EventModel, Rule, Source};
use super::crossings::{Crossings, Filed};
use super::sources::{EventSource, SourceDefs};
use super::tempotron_pop::{self as tp, Windows};

mod draw;
mod exchange;
mod state;
use draw::{Drawn, draw, draw_matrix};
use exchange::{exchange, finish_rows};
pub use state::{exact_spikes_output, population_report};
use crate::buckets::BucketQueue;
use crate::queue::{Event, Origin, Target};
use crate::srm0::{Srm0Model, Srm0State};

/// How far ahead a threshold crossing is looked for (ms); a neuron's free evolution
/// either crosses within this or decays away.
const HORIZON_MS: f64 = 1e6;

/// Steps of the crossing calendar's ring (predictions further ahead wait in a heap).
const CROSSING_RING: usize = 1024;

/// Events ahead of the one being delivered whose neuron is prefetched.
const PREFETCH_AHEAD: usize = 8;

/// One neuron's state and its predicted next crossing (`+∞`: none within the horizon),
/// on one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Slot {
    st: Srm0State,
    next: f64,
}

/// A connection's synapses by source row: (target index, weight, delay ms).
type Rows = Vec<Vec<(u32, f64, f64)>>;

/// Where an input connection's spikes come from.
enum From {
    /// A clock-driven population or an encoder: its spikes of the step.
    Clock(Entity),
    /// An `[[event_source]]` (index into `EventNet::sources`): its exact spikes.
    Source(usize),
}

struct ClockInput {
    source: From,
    key: u32,
    target: u32,
    /// The connection's delay (every synapse of `rows` has it).
    delay_ms: f64,
    /// The synapses onto this world's neurons (all, or a shard's own), with the order
    /// keys their events carry as origin.
    syn: Drawn,
}

enum OutTarget {
    /// A clock-driven population's receptor; this world holds its neurons `first..first +
    /// held` (all of them, or a shard's range: the event network runs whole in every
    /// shard, and each adds only its own neurons' inputs).
    Clock { entity: Entity, receptor: usize, first: u32, held: u32 },
    Event(u32),
}

struct Output {
    target: OutTarget,
    /// The synapses onto this world's neurons of the target (all, or a shard's range).
    syn: Drawn,
}

struct EventPop {
    name: String,
    key: u32,
    /// The neurons this shard steps (`own_range`; one world: all).
    own: (u32, u32),
    model: Srm0Model,
    slots: Vec<Slot>,
    /// Tempotrons: their windows (`None`: SRM0).
    tempo: Option<Windows>,
    outputs: Vec<Output>,
    record: bool,
    t_ms: Vec<f64>,
    index: Vec<i64>,
    /// Spikes of the whole population since step 0 (every shard sees every spike in
    /// `send`; a checkpoint's counts give it back at load).
    total: u64,
}

/// Every event-driven population of the world, their pending input events and their
/// predicted threshold crossings.
#[derive(Resource)]
pub struct EventNet {
    pops: Vec<EventPop>,
    inputs: Vec<ClockInput>,
    sources: Vec<EventSource>,
    /// Scratch: each source's spikes of the step.
    source_spikes: Vec<Vec<(f64, u32, u64)>>,
    /// Pending input events in step buckets (`BucketQueue`: the same order as the heap
    /// `EventQueue`, 4× faster per event).
    queue: BucketQueue,
    dt: f64,
    horizon: usize,
    /// End of the last window processed (ms).
    t_done: f64,
    /// Predicted crossings by step (stale ones are dropped when their step comes).
    crossings: Crossings,
    /// Input events delivered so far (not checkpointed: a measure of work).
    processed: u64,
    /// Scratch of a window: due predictions, spikes (time, population, index, the
    /// neuron's spike count after the window), one neuron's spikes, and per population
    /// the tempotron window its neurons finished the windows before (`None`: none).
    due: Vec<Filed>,
    out: Vec<Fired>,
    buf: Vec<f64>,
    finished: Vec<Option<u64>>,
}

/// A spike of a window: time, population, index, the neuron's spike count after the window.
type Fired = (f64, u32, u32, u64);

/// The neurons of an event population of `n` that shard `k` of `count` steps: an even
/// split, shard `k`'s before shard `k + 1`'s.
pub(super) fn own_range(n: usize, k: usize, count: usize) -> (u32, u32) {
    let at = |k: usize| (n as u128 * k as u128 / count.max(1) as u128) as u32;
    (at(k), at(k + 1))
}

impl EventPop {
    /// Predicts neuron `j`'s next crossing from its current state and files it.
    #[inline]
    fn predict(&mut self, p: u32, j: u32, crossings: &mut Crossings) {
        let slot = &mut self.slots[j as usize];
        let next = match &self.tempo {
            None => self.model.next_spike(&slot.st, slot.st.t + HORIZON_MS),
            Some(w) => tp::predict(&self.model, w, &slot.st, &w.cells[j as usize]),
        };
        slot.next = match next {
            Some(t) => {
                crossings.push(t, p, j);
                t
            }
            None => f64::INFINITY,
        };
    }
}

/// World hook: builds the [`EventNet`] from the scenario's `[[event_population]]` tables.
pub fn build_event_net(world: &mut World) -> Result<(), String> {
    let Some(defs) = world.get_resource::<EventDefs>().cloned() else { return Ok(()) };
    if world.resource::<RunInfo>().engine == EngineKind::Device {
        return Err("event populations run beside the cpu or tensor engine (the device engine does not hand its spikes over every step)".into());
    }
    let (seed, shard) = (world.resource::<RunInfo>().seed, world.resource::<RunInfo>().shard);
    let dt = world.resource::<Clock>().dt_ms;
    let mut pops_by_name: Vec<(String, Entity)> = world.query::<(Entity, &Population)>().iter(world).map(|(e, p)| (p.name.clone(), e)).collect();
    pops_by_name.sort();
    let mut encs: Vec<(String, Entity)> = world.query::<(Entity, &EncoderSlot)>().iter(world).map(|(e, s)| (s.name.clone(), e)).collect();
    encs.sort();
    let names: Vec<&str> = defs.0.iter().map(|d| d.name.as_str()).collect();
    let max_delay = defs.0.iter().flat_map(|d| d.inputs.iter().map(|c| c.delay_ms).chain(d.outputs.iter().map(|c| c.delay_ms))).fold(0.0f64, f64::max);
    let horizon = ((max_delay / dt).ceil() as usize + 2).min(1 << 16);
    let queue = BucketQueue::new(dt, horizon).map_err(|e| e.to_string())?;
    let step = world.resource::<Clock>().step;
    let t_done = step as f64 * dt;
    let crossings = Crossings::new(dt, CROSSING_RING.max(horizon), step);
    let source_defs = world.get_resource::<SourceDefs>().cloned().unwrap_or_default();
    let mut source_names: Vec<&str> = Vec::new();
    for d in &source_defs.0 {
        if source_names.contains(&d.name.as_str()) || names.contains(&d.name.as_str()) {
            return Err(format!("event source `{}`: the name is taken", d.name));
        }
        source_names.push(&d.name);
    }
    let sources = source_defs.0.iter().cloned().map(EventSource::new).collect::<Result<Vec<_>, _>>()?;
    let mut net = EventNet { pops: Vec::new(), inputs: Vec::new(), source_spikes: vec![Vec::new(); sources.len()], sources, queue, dt, horizon, t_done, crossings, processed: 0, due: Vec::new(), out: Vec::new(), buf: Vec::new(), finished: Vec::new() };
    for (pi, d) in defs.0.iter().enumerate() {
        if names[..pi].contains(&d.name.as_str()) {
            return Err(format!("two event populations are named `{}`", d.name));
        }
        let key = entity_key("event_population", &d.name);
        let model = Srm0Model::new(d.params).map_err(|e| e.to_string())?;
        let slots = vec![Slot { st: Srm0State::default(), next: f64::INFINITY }; d.size];
        let own = own_range(d.size, shard.0, shard.1);
        let mut outputs = Vec::new();
        for (oi, o) in d.outputs.iter().enumerate() {
            let okey = key ^ (0x9E37_79B9u32.wrapping_mul(oi as u32 + 1));
            let (target, n_dst, range) = match &o.end {
                Dest::Population(..) => {
                    let name = population_name(world, &o.end)?;
                    let e = pops_by_name.iter().find(|x| x.0 == name).map(|x| x.1).ok_or_else(|| format!("no population `{name}`"))?;
                    let Dest::Population(_, r) = o.end else { unreachable!() };
                    let steps = (o.delay_ms / dt).ceil() as usize + 2;
                    let (first, held) = world.get::<Population>(e).map(|p| (p.first as u32, p.size as u32)).ok_or_else(|| format!("`{name}` is not a population"))?;
                    let mut ring = world.get_mut::<InputRing>(e).ok_or_else(|| format!("population `{name}` has no input ring"))?;
                    ring.ensure_depth(steps)?;
                    ring.activate(r);
                    // (The ring's rows may have moved: the variables move away from them.)
                    spikeworld::net::place_state(world, e);
                    (OutTarget::Clock { entity: e, receptor: r, first, held }, o.size.unwrap_or(0), (first, first + held))
                }
                Dest::Event(name) => {
                    let q = defs.0.iter().position(|x| &x.name == name).ok_or_else(|| format!("event population `{}`: output to `{name}`: no population or event population of that name", d.name))?;
                    if let super::config::Rule::OneToOne = o.rule
                        && defs.0[q].size != d.size
                    {
                        return Err(format!("event population `{}`: one_to_one output to `{name}` needs equal sizes", d.name));
                    }
                    (OutTarget::Event(q as u32), defs.0[q].size, own_range(defs.0[q].size, shard.0, shard.1))
                }
            };
            // Only the synapses onto this world's neurons (a shard adds only its own).
            outputs.push(Output { target, syn: draw(o.rule, d.size, n_dst, seed, okey, o.weight, o.delay_ms, range) });
        }
        for (ii, c) in d.inputs.iter().enumerate() {
            let ikey = key ^ (0x85EB_CA6Bu32.wrapping_mul(ii as u32 + 1));
            let (source, skey, n_src) = match &c.end {
                Source::Population(_) | Source::Encoder(_) => {
                    let name = source_name(world, &c.end)?;
                    let e = pops_by_name.iter().chain(encs.iter()).find(|x| x.0 == name).map(|x| x.1).ok_or_else(|| format!("no source `{name}`"))?;
                    (From::Clock(e), entity_key("source", &name), c.size.unwrap_or(0))
                }
                Source::Event(name) => {
                    let Some(si) = source_defs.0.iter().position(|s| &s.name == name) else {
                        return Err(format!("event population `{}`: input from `{name}`: no population, spike encoder or event source of that name", d.name));
                    };
                    let n = source_defs.0[si].size();
                    if c.rule == Rule::OneToOne && n != d.size {
                        return Err(format!("event population `{}`: one_to_one input from `{name}` needs equal sizes ({n} sources, {} targets)", d.name, d.size));
                    }
                    (From::Source(si), entity_key("event_source", name), n)
                }
            };
            // A shard draws the synapses onto its own neurons only.
            let syn = match &c.matrix {
                Some(m) if m.2 != n_src => return Err(format!("event population `{}`: `{}` has {} columns; its source has {n_src} neurons", d.name, m.0.display(), m.2)),
                Some(m) => draw_matrix(&m.1, n_src, d.size, c.delay_ms, own),
                None => draw(c.rule, n_src, d.size, seed, ikey, c.weight, c.delay_ms, own),
            };
            net.inputs.push(ClockInput { source, key: skey, target: pi as u32, delay_ms: c.delay_ms, syn });
        }
        let tempo = match d.model {
            EventModel::Srm0 => None,
            EventModel::Tempotron { window_ms } => Some(Windows::new(window_ms, d.size, Windows::new(window_ms, 0, 0).of(t_done))),
        };
        net.pops.push(EventPop { name: d.name.clone(), key, own, model, slots, tempo, outputs, record: d.record, t_ms: Vec::new(), index: Vec::new(), total: 0 });
    }
    net.finished = vec![None; net.pops.len()];
    world.insert_resource(net);
    Ok(())
}

/// The name of the clock population an output names (scenario index → name).
fn population_name(world: &mut World, d: &Dest) -> Result<String, String> {
    let Dest::Population(i, _) = d else { return Err("not a population".into()) };
    scenario_names(world).0.get(*i).cloned().ok_or_else(|| format!("no population {i}"))
}

fn source_name(world: &mut World, s: &Source) -> Result<String, String> {
    let (pops, encs) = scenario_names(world);
    match s {
        Source::Population(i) => pops.get(*i).cloned(),
        Source::Encoder(i) => encs.get(*i).cloned(),
        Source::Event(name) => Some(name.clone()),
    }
    .ok_or_else(|| "a source the scenario does not have".into())
}

/// Clock populations' names in scenario order (the core spawns them in that order into a
/// fresh world, so entity indices ascend with it) and encoders' (`InputOrder`).
fn scenario_names(world: &mut World) -> (Vec<String>, Vec<String>) {
    let mut p: Vec<(Entity, String)> = world.query::<(Entity, &Population)>().iter(world).map(|(e, x)| (e, x.name.clone())).collect();
    p.sort_by_key(|x| x.0.index());
    let order = world.resource::<spikeworld::net::InputOrder>().0.clone();
    let e = order.iter().filter_map(|&e| world.get::<EncoderSlot>(e).map(|s| s.name.clone())).collect();
    (p.into_iter().map(|x| x.1).collect(), e)
}

/// The event window (`SimSystems::EventWindow`; see the module docs).
///
/// In a partitioned network each shard steps its own neurons (`own_range`), with the
/// events for them; the window's spikes and finished `V_max` rows are then exchanged
/// ([`exchange`]), so that every shard records and sends the whole network's.
pub fn event_window(clock: Res<Clock>, net: Option<ResMut<EventNet>>, spikes: Query<&Spikes>, mut rings: Query<&mut InputRing>, mut faults: ResMut<Faults>, link: Option<Res<ShardLink>>) {
    let Some(mut net) = net else { return };
    let mut done = window(clock.step, clock.dt_ms, &mut net, &spikes);
    // Every shard takes part in the exchange, failed or not: none waits for another.
    if let Some(link) = link.filter(|l| l.position().1 > 1) {
        done = exchange(&mut net, &link, done);
    } else {
        finish_rows(&mut net);
    }
    if let Err(e) = done.and_then(|()| send(clock.step, clock.dt_ms, &mut net, &mut rings)) {
        faults.0.push(format!("event-driven populations at step {}: {e}", clock.step));
    }
}

/// Steps 1 to 3 of a window for this shard's neurons: their spikes into `net.out`
/// (sorted), their finished `V_max` rows into `net.finished`.
fn window(step: u64, dt: f64, net: &mut EventNet, spikes: &Query<&Spikes>) -> Result<(), String> {
    let (t0, t_end) = (step as f64 * dt, (step + 1) as f64 * dt);
    // (Cleared first: after an early error nothing of the last window is sent.)
    net.out.clear();
    net.finished.iter_mut().for_each(|f| *f = None);
    // 1. Clock-driven spikes of this step.
    for (si, src) in net.sources.iter_mut().enumerate() {
        src.spikes_in(t0, t_end, &mut net.source_spikes[si])?;
    }
    for inp in &net.inputs {
        if let From::Source(si) = inp.source {
            for &(t, i, k) in &net.source_spikes[si] {
                let row = inp.syn.rows.get(i as usize).map(|r| r.as_slice()).unwrap_or(&[]);
                let make = |e: usize| Event { time: 0.0, origin: Origin { pop: inp.key, idx: i, syn: inp.syn.key(i as usize, e), spike: k }, target: Target { pop: inp.target, idx: row[e].0 }, weight: row[e].1 };
                net.queue.push_fan(t + inp.delay_ms, row.len(), make).map_err(|e| e.to_string())?;
            }
            continue;
        }
        let From::Clock(entity) = inp.source else { continue };
        let Ok(sp) = spikes.get(entity) else { continue };
        for &i in &sp.indices {
            let row = inp.syn.rows.get(i as usize).map(|r| r.as_slice()).unwrap_or(&[]);
            // Every synapse of a connection has its delay: one fan-out at one time.
            let make = |e: usize| Event { time: 0.0, origin: Origin { pop: inp.key, idx: i, syn: inp.syn.key(i as usize, e), spike: step }, target: Target { pop: inp.target, idx: row[e].0 }, weight: row[e].1 };
            net.queue.push_fan(t0 + inp.delay_ms, row.len(), make).map_err(|e| e.to_string())?;
        }
    }
    // 2. Inputs of this window, in order; each touched neuron is predicted again.
    let mut out = std::mem::take(&mut net.out);
    let mut buf = std::mem::take(&mut net.buf);
    let mut due = std::mem::take(&mut net.due);
    {
        let EventNet { queue, pops, processed, crossings, .. } = &mut *net;
        let mut failed = None;
        let mut window = queue.pop_before(t_end);
        while let Some(ev) = window.next() {
            if failed.is_some() {
                continue; // drain the window
            }
            if let Some(ahead) = window.peek_target(PREFETCH_AHEAD)
                && let Some(s) = pops.get(ahead.pop as usize).and_then(|p| p.slots.get(ahead.idx as usize))
            {
                spikeworld::hint::prefetch(std::slice::from_ref(s));
            }
            let (p, j) = (ev.target.pop, ev.target.idx);
            let pop = &mut pops[p as usize];
            let slot = &mut pop.slots[j as usize];
            buf.clear();
            if let Some(w) = &mut pop.tempo {
                tempotron_input(&pop.model, w, slot, j as usize, ev.time, ev.weight, &mut buf);
            } else if let Err(e) = pop.model.receive_quiet(&mut slot.st, slot.next, ev.time, ev.weight, &mut buf) {
                failed = Some(e.to_string());
                continue;
            }
            out.extend(buf.iter().map(|&s| (s, p, j, 0)));
            pop.predict(p, j, crossings);
            *processed += 1;
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    net.t_done = t_end;
    // 3. Neurons whose current prediction falls in this window evolve to its end.
    due.clear();
    net.crossings.take(step, &mut due);
    for &(t, p, j) in &due {
        let EventNet { pops, crossings, .. } = &mut *net;
        let pop = &mut pops[p as usize];
        let slot = &mut pop.slots[j as usize];
        if slot.next.to_bits() != t.to_bits() {
            continue; // superseded by a later prediction
        }
        buf.clear();
        match &mut pop.tempo {
            None => pop.model.advance(&mut slot.st, t_end, &mut buf).map_err(|e| e.to_string())?,
            Some(w) => tp::due(&mut slot.st, &mut w.cells[j as usize], t, &mut buf),
        }
        out.extend(buf.iter().map(|&s| (s, p, j, 0)));
        pop.predict(p, j, crossings);
    }
    // 3b. Tempotron windows that end by this step's end: finished for every neuron.
    for (p, pop) in net.pops.iter_mut().enumerate() {
        let Some(w) = &mut pop.tempo else { continue };
        let k = w.of(t_end);
        if k <= w.done {
            continue;
        }
        for j in pop.own.0 as usize..pop.own.1 as usize {
            if w.cells[j].window >= k {
                continue;
            }
            buf.clear();
            tempotron_to_window(&pop.model, w, &mut pop.slots[j], j, k, &mut buf);
            out.extend(buf.iter().map(|&s| (s, p as u32, j as u32, 0)));
            pop.slots[j].next = f64::INFINITY; // at rest in its new window: no crossing
        }
        // Windows done .. k are now finished by every neuron: their rows are taken once
        // the step's exchange succeeded (`exchange::finish_rows`, `exchange::exchange`).
        net.finished[p] = Some(k);
    }
    // The window's spikes in (time, population, index) order, with their neurons' counts.
    for f in &mut out {
        f.3 = net.pops[f.1 as usize].slots[f.2 as usize].st.n_spikes;
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    (net.out, net.buf, net.due) = (out, buf, due);
    Ok(())
}

/// Step 4 of a window: the whole network's spikes of the window, in (time, population,
/// index) order, recorded and sent (a shard sends only to its own neurons).
fn send(step: u64, dt: f64, net: &mut EventNet, rings: &mut Query<&mut InputRing>) -> Result<(), String> {
    let t_end = (step + 1) as f64 * dt;
    let out = std::mem::take(&mut net.out);
    let owns: Vec<(u32, u32)> = net.pops.iter().map(|p| p.own).collect();
    for &(s, p, j, spike) in &out {
        let pop = &mut net.pops[p as usize];
        pop.total += 1;
        if pop.record {
            pop.t_ms.push(s);
            pop.index.push(j as i64);
        }
        for o in &pop.outputs {
            for (e, &(k, w, d)) in o.syn.rows[j as usize].iter().enumerate() {
                match o.target {
                    OutTarget::Event(q) => {
                        let own = owns[q as usize];
                        if !(own.0..own.1).contains(&k) {
                            continue; // (Another shard's neuron: that shard adds it.)
                        }
                        // NOTE: d >= dt puts s + d at or after this window's end; the max
                        // only guards the last ulp of `s + d` against `(step + 1) * dt`.
                        let ev = Event { time: (s + d).max(t_end), origin: Origin { pop: pop.key, idx: j, syn: o.syn.key(j as usize, e), spike }, target: Target { pop: q, idx: k }, weight: w };
                        net.queue.push(ev).map_err(|e| e.to_string())?;
                    }
                    OutTarget::Clock { entity, receptor, first, held } => {
                        // (Another shard's neuron: that shard adds it.)
                        let Some(local) = k.checked_sub(first).filter(|&l| l < held) else { continue };
                        let at = (((s + d) / dt).ceil() as u64).max(step + 1);
                        let mut ring = rings.get_mut(entity).map_err(|_| "a target population without an input ring")?;
                        ring.add_at(step, at, receptor, local as usize, w)?;
                    }
                }
            }
        }
    }
    net.out = out;
    Ok(())
}

/// Brings tempotron `j` to window `k`, finishing the windows before (their `V_max` into
/// the pending rows).
fn tempotron_to_window(model: &Srm0Model, w: &mut Windows, slot: &mut Slot, j: usize, k: u64, buf: &mut Vec<f64>) {
    let n = w.cells.len();
    let (t, done) = (w.t, w.done);
    let Windows { cells, pending, .. } = w;
    tp::to_window(model, t, &mut slot.st, &mut cells[j], k, buf, |win, vmax| {
        let at = (win - done) as usize * n + j;
        if pending.len() <= at {
            pending.resize((win - done + 1) as usize * n, f64::NAN);
        }
        pending[at] = vmax;
    });
}

/// An input to tempotron `j` at `t` (its window first).
fn tempotron_input(model: &Srm0Model, w: &mut Windows, slot: &mut Slot, j: usize, t: f64, weight: f64, buf: &mut Vec<f64>) {
    let k = w.of(t);
    if w.cells[j].window < k {
        tempotron_to_window(model, w, slot, j, k, buf);
        slot.next = f64::INFINITY; // at rest: no crossing before this input
    }
    tp::receive(model, &mut slot.st, &mut w.cells[j], slot.next, t, weight, buf);
}

impl EventNet {
    /// Pending input events (in a shard: those of its own neurons).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Input events delivered since the network was built or loaded (in a shard: to its
    /// own neurons).
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Exact spikes recorded so far of event population `name`: (times ms, indices).
    pub fn recorded(&self, name: &str) -> Option<(&[f64], &[i64])> {
        self.pops.iter().find(|p| p.name == name).map(|p| (p.t_ms.as_slice(), p.index.as_slice()))
    }
}
