//! Linking the shards of a partitioned network: channels (or a [`Transport`] between
//! processes), the monitors' watches, one world's ring and history depths, and the
//! exchange window (`docs/sharding.md`).

use std::sync::Arc;

use bevy_ecs::prelude::*;

use super::SHARD_CHUNK;
use crate::api::transport::Transport;
use crate::net::synapse::SynapseTable;
use crate::net::{DeliveryOrder, EarlyTable, FlushedSpikes, InputRing, ShardLink, ShardSamples, SpikeHistory, Watch, WindowReplay};
use crate::scenario::Scenario;
use crate::{Error, Result};

/// Links the shards this process built (`worlds`, shard `local[i]` of `count`): one
/// channel per ordered pair of shards (none between processes), each shard's
/// [`ShardLink`] with the state and weight monitors' watches, the exchange's resources,
/// one world's ring and history depths, and the exchange window. `host_delivery`: the
/// shards deliver spikes into rings on the host (`Propagate`), so the exchange may deliver
/// some early ([`EarlyTable`]).
pub(super) fn link_shards(
    worlds: &mut [(World, Schedule, crate::build::Built)],
    local: &[usize],
    count: usize,
    scenario: &Scenario,
    process: Option<Arc<dyn Transport>>,
    exchange_every: u64,
    host_delivery: bool,
) -> Result<()> {
    // One channel per ordered pair of shards (none between processes).
    type Channels<T> = Vec<Vec<Option<T>>>;
    let mut to: Channels<crossbeam_channel::Sender<crate::net::ShardMessage>> = (0..count).map(|_| (0..count).map(|_| None).collect()).collect();
    let mut from: Channels<crossbeam_channel::Receiver<crate::net::ShardMessage>> = (0..count).map(|_| (0..count).map(|_| None).collect()).collect();
    // And one per ordered pair for the rules' collectives (`net::plastic::Shards`).
    let mut values_to: Channels<crossbeam_channel::Sender<Vec<f64>>> = (0..count).map(|_| (0..count).map(|_| None).collect()).collect();
    let mut values_from: Channels<crossbeam_channel::Receiver<Vec<f64>>> = (0..count).map(|_| (0..count).map(|_| None).collect()).collect();
    if process.is_none() {
        for a in 0..count {
            for b in (0..count).filter(|&b| b != a) {
                let (tx, rx) = crossbeam_channel::unbounded();
                to[a][b] = Some(tx);
                from[b][a] = Some(rx);
                let (tx, rx) = crossbeam_channel::unbounded();
                values_to[a][b] = Some(tx);
                values_from[b][a] = Some(rx);
            }
        }
    }
    // Shard 0's recorders (another process's shard has none: it only sends).
    let monitors = if local[0] == 0 { worlds[0].2.monitors.clone() } else { Vec::new() };
    let (mut to, mut from) = (to.into_iter().map(Some).collect::<Vec<_>>(), from.into_iter().map(Some).collect::<Vec<_>>());
    for ((w, _, built), &k) in worlds.iter_mut().zip(local) {
        let (to, from) = (to[k].take().unwrap_or_default(), from[k].take().unwrap_or_default());
        let watches = scenario
            .monitors
            .iter()
            .enumerate()
            .filter_map(|(mi, m)| match &m.kind {
                crate::scenario::MonitorKind::State { vars, indices, every } => {
                    let target = m.target.population().expect("a state monitor records a population");
                    let pop = &scenario.populations[target.index];
                    // The shard whose range holds i: the last whose range starts at or
                    // before it (empty ranges start where the next one does).
                    let starts: Vec<usize> = (0..count).map(|s| pop.shard_range(s, count).start).collect();
                    let owner = indices.iter().map(|&i| (starts.partition_point(|&x| x <= i) - 1) as u32).collect();
                    let monitor = monitors.get(mi).copied().unwrap_or(Entity::PLACEHOLDER);
                    Some(Watch { population: built.populations[target.index], vars: vars.clone(), indices: indices.clone(), owner, every: *every, monitor })
                }
                _ => None,
            })
            .collect();
        let mut link = ShardLink::new(k, built.populations.clone(), built.encoders.clone(), to, from, watches);
        link.process = process.clone();
        link.values_to = std::mem::take(&mut values_to[k]);
        link.values_from = std::mem::take(&mut values_from[k]);
        link.weight_watches = scenario
            .monitors
            .iter()
            .filter_map(|m| match &m.kind {
                crate::scenario::MonitorKind::Weights { projection, every, .. } => {
                    let e = built.projections[*projection];
                    let shared = w.get::<SynapseTable>(e).is_some_and(|t| t.kernel_index.is_some());
                    Some(crate::net::WeightWatch { projection: e, every: *every, shared })
                }
                _ => None,
            })
            .collect();
        // (A shard on a pool delivers on the pool, after the exchange.)
        let one_thread = w.get_resource::<crate::net::CpuPool>().is_some_and(|p| p.pool.is_none());
        let early = if host_delivery && one_thread { early_tables(w, k, count, scenario, &built.populations) } else { Vec::new() };
        w.insert_resource(link);
        w.insert_resource(ShardSamples::default());
        w.insert_resource(WindowReplay { early, ..Default::default() });
        w.insert_resource(FlushedSpikes::default());
        w.insert_resource(crate::net::ShardWeights::default());
    }
    common_depths(worlds, process.as_deref());
    common_delay_bounds(worlds, scenario, process.as_deref());
    global_rows(worlds, local, scenario, process.as_deref());
    let window = exchange_window(worlds, exchange_every, scenario, process.as_deref())?;
    check_weight_monitors(worlds, scenario, process.as_deref())?;
    for (w, _, _) in worlds.iter_mut() {
        w.resource_mut::<ShardLink>().window = window;
    }
    Ok(())
}

/// Gives every shard's delay rings and spike histories the depth one world would have
/// (the largest of the shards': each drew only its own targets' delays), so that state
/// and checkpoints do not depend on the number of shards. Before the first step, when
/// rings and histories are empty.
fn common_depths(worlds: &mut [(World, Schedule, crate::build::Built)], process: Option<&dyn Transport>) {
    let n_pop = worlds[0].2.populations.len();
    let mut rings: Vec<u64> = (0..n_pop).map(|pi| worlds.iter().filter_map(|(w, _, b)| w.get::<InputRing>(b.populations[pi]).map(|r| r.depth as u64)).max().unwrap_or(0)).collect();
    let sources: Vec<Vec<Entity>> = worlds.iter().map(|(_, _, b)| b.populations.iter().chain(&b.encoders).copied().collect()).collect();
    let mut histories: Vec<u64> =
        (0..sources[0].len()).map(|i| worlds.iter().zip(&sources).filter_map(|((w, _, _), s)| w.get::<SpikeHistory>(s[i]).map(|h| h.depth() as u64)).max().unwrap_or(0)).collect();
    if let Some(p) = process {
        p.all_max(&mut rings);
        p.all_max(&mut histories);
    }
    for (pi, &depth) in rings.iter().enumerate() {
        for (w, _, b) in worlds.iter_mut() {
            let e = b.populations[pi];
            let Some(mut r) = w.get_mut::<InputRing>(e) else { continue };
            if r.grow_to(depth as usize) {
                // The grown ring's rows start at other lines: the variables move away from them.
                crate::net::place_state(w, e);
            }
        }
    }
    for (i, &depth) in histories.iter().enumerate() {
        for ((w, _, _), s) in worlds.iter_mut().zip(&sources) {
            if let Some(mut h) = w.get_mut::<SpikeHistory>(s[i])
                && (h.depth() as u64) < depth
            {
                *h = SpikeHistory::new(h.last_spike.len(), depth as usize);
            }
        }
    }
}

/// Gives every shard's synapse tables the projection's longest and shortest delays over
/// all shards (`SynapseTable::max_delay`, `min_delay`: one world's), and attaches the
/// add-ons again where the longest grew: a rule sizes its trace rings from it, which must
/// not depend on the shards (nor must its checkpoint); a continuous synapse model's direct
/// input arrives after the shortest. Before the first step.
fn common_delay_bounds(worlds: &mut [(World, Schedule, crate::build::Built)], scenario: &Scenario, process: Option<&dyn Transport>) {
    let n = scenario.projections.len();
    let tables = |i: usize| worlds.iter().filter_map(move |(w, _, b)| w.get::<SynapseTable>(b.projections[i]));
    let mut longest: Vec<u64> = (0..n).map(|i| tables(i).map(|t| t.max_delay as u64).max().unwrap_or(0)).collect();
    // The shortest, as `u64::MAX - d` so that the maximum is the shortest; a shard
    // without synapses of delays drawn per synapse has none (0 here: no bound).
    let mut shortest: Vec<u64> = (0..n)
        .map(|i| tables(i).filter(|t| matches!(t.delay, crate::net::synapse::Delays::Const(_)) || !t.is_empty()).map(|t| u64::MAX - t.min_delay as u64).max().unwrap_or(0))
        .collect();
    if let Some(p) = process {
        p.all_max(&mut longest);
        p.all_max(&mut shortest);
    }
    for (w, _, b) in worlds.iter_mut() {
        for i in 0..n {
            let e = b.projections[i];
            let Some(mut t) = w.get_mut::<SynapseTable>(e) else { continue };
            t.min_delay = if shortest[i] == 0 { 0 } else { (u64::MAX - shortest[i]) as u32 };
            if t.max_delay as u64 == longest[i] {
                continue;
            }
            t.max_delay = longest[i] as u32;
            let mut ent = w.entity_mut(e);
            for a in &scenario.projections[i].addons {
                a.config.attach(&mut ent);
            }
        }
    }
}

/// Gives every shard's synapse tables of projections with add-ons one world's index of
/// each row's first synapse (`SynapseTable::global_row_start`), from every shard's row
/// lengths (an all-gather between processes): rows are sorted by target, so a row's
/// stretches in shard order are the whole row.
fn global_rows(worlds: &mut [(World, Schedule, crate::build::Built)], local: &[usize], scenario: &Scenario, process: Option<&dyn Transport>) {
    for (i, p) in scenario.projections.iter().enumerate() {
        if p.addons.is_empty() {
            continue;
        }
        let lengths = |w: &World, b: &crate::build::Built| -> Vec<u32> {
            w.get::<SynapseTable>(b.projections[i]).map_or_else(Vec::new, SynapseTable::row_lengths)
        };
        // Every shard's row lengths, in shard order.
        let all: Vec<Vec<u32>> = match process {
            Some(p) => p.all_gather(&lengths(&worlds[0].0, &worlds[0].2)),
            None => {
                let mut by_shard: Vec<(usize, Vec<u32>)> = worlds.iter().zip(local).map(|((w, _, b), &k)| (k, lengths(w, b))).collect();
                by_shard.sort_by_key(|x| x.0);
                by_shard.into_iter().map(|x| x.1).collect()
            }
        };
        let rows = all.iter().map(Vec::len).max().unwrap_or(0);
        let len = |k: usize, r: usize| all[k].get(r).copied().unwrap_or(0) as u64;
        for ((w, _, b), &k) in worlds.iter_mut().zip(local) {
            let Some(mut t) = w.get_mut::<SynapseTable>(b.projections[i]) else { continue };
            let mut starts = Vec::with_capacity(rows);
            let mut before = 0u64;
            for r in 0..rows {
                starts.push(before + (0..k).map(|k2| len(k2, r)).sum::<u64>());
                before += (0..all.len()).map(|k2| len(k2, r)).sum::<u64>();
            }
            t.global_row_start = Some(starts);
        }
    }
}

/// Weight monitors' synapse indices against the weights of every shard (of every process):
/// the sum of the shards' synapses, or one shared kernel.
fn check_weight_monitors(worlds: &[(World, Schedule, crate::build::Built)], scenario: &Scenario, process: Option<&dyn Transport>) -> Result<()> {
    let n = scenario.projections.len();
    let (mut sums, mut kernels) = (vec![0u64; n], vec![0u64; n]);
    for (w, _, b) in worlds {
        for (i, &e) in b.projections.iter().enumerate() {
            let Some(t) = w.get::<SynapseTable>(e) else { continue };
            match t.kernel_index {
                Some(_) => kernels[i] = kernels[i].max(t.weight.len() as u64),
                None => sums[i] += t.len() as u64,
            }
        }
    }
    if let Some(p) = process {
        p.all_sum(&mut sums);
        p.all_max(&mut kernels);
    }
    for (mi, m) in scenario.monitors.iter().enumerate() {
        if let crate::scenario::MonitorKind::Weights { projection, synapses, .. } = &m.kind {
            crate::build::check_weight_indices(scenario, mi, *projection, synapses, (sums[*projection] + kernels[*projection]) as usize)?;
        }
    }
    Ok(())
}

/// The steps of an exchange window: the shortest delay of any synapse in any shard (a
/// spike of step `t` with delay `d` reaches its target's input at step `t + 1 + d`), plus
/// one step, so that the spikes of a window are all due after its end; or `every`, when
/// asked for (at most that). With no synapse at all, [`SHARD_CHUNK`].
fn exchange_window(worlds: &mut [(World, Schedule, crate::build::Built)], every: u64, scenario: &Scenario, process: Option<&dyn Transport>) -> Result<u64> {
    // The longest window each synapse allows, as `u64::MAX - window` so that the
    // processes' maximum is the shortest window.
    let mut slack = [0u64];
    for (w, _, b) in worlds.iter() {
        for &e in &b.projections {
            let Some(t) = w.get::<SynapseTable>(e) else { continue };
            if t.len() > 0
                && let Some(d) = t.delay.min()
            {
                slack[0] = slack[0].max(u64::MAX - (d as u64 + 1));
            }
        }
    }
    if let Some(p) = process {
        p.all_max(&mut slack);
    }
    let mut longest = if slack[0] == 0 { SHARD_CHUNK } else { u64::MAX - slack[0] };
    // A learning rule changes weights every step, and a spike must be delivered with the
    // weights of its own step; a plugin table's systems see the whole network's spikes of
    // each step: no window.
    let every_step = scenario.projections.iter().find(|p| !p.addons.is_empty()).map(|p| format!("projection `{}` has a learning rule or a synapse model", p.name));
    if let Some(why) = every_step.or_else(|| scenario.tables.first().map(|(n, _)| format!("the plugin table `[{n}]` reads every step's spikes"))) {
        if every > 1 {
            return Err(Error::Input(format!("{}: an exchange window of {every} steps: {why}, so its spikes must be exchanged in their own step (exchange every step)", scenario.path.display())));
        }
        longest = 1;
    }
    if every > longest {
        return Err(Error::Input(format!(
            "{}: an exchange window of {every} steps: the shortest synaptic delay allows at most {longest} (spikes would be due before their window ends)",
            scenario.path.display()
        )));
    }
    Ok(if every == 0 { longest } else { every })
}

/// The tables shard `k` of `count` may deliver before it has the other shards' spikes
/// ([`EarlyTable`]). In the one-world order a target's sums in a receptor of a ring come
/// table by table in delivery order, and within a table source by source, i.e. shard by
/// shard. Walking the tables in that order, a (ring, receptor) is closed at the first
/// table that adds to it rows of another shard's sources before this shard's, or after
/// them (the tables after it wait for those), or that is not a plain sum (a synapse model
/// with state, an encoder's rows): a table is early while its (ring, receptor) is open.
fn early_tables(w: &World, k: usize, count: usize, scenario: &Scenario, populations: &[Entity]) -> Vec<EarlyTable> {
    let Some(order) = w.get_resource::<DeliveryOrder>() else { return Vec::new() };
    let mut closed: Vec<(Entity, usize)> = Vec::new();
    let mut early = Vec::new();
    for &e in &order.0 {
        let Some(t) = w.get::<SynapseTable>(e) else { continue };
        let key = (t.target, t.receptor);
        if closed.contains(&key) {
            continue;
        }
        let source = populations.iter().position(|&p| p == t.source);
        let (Some(pi), None) = (source, t.dynamics.as_ref()) else {
            closed.push(key);
            continue;
        };
        let def = &scenario.populations[pi];
        let rows = t.src_start as usize..t.src_end as usize;
        let meets = |j: usize| {
            let r = def.shard_range(j, count);
            r.start.max(rows.start) < r.end.min(rows.end)
        };
        if (0..k).any(meets) {
            closed.push(key);
            continue;
        }
        if meets(k) {
            early.push(EarlyTable { table: e, source: pi, from: def.shard_range(k, count).end as u32 });
        }
        if (k + 1..count).any(meets) {
            closed.push(key);
        }
    }
    early
}
