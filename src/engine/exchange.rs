//! The spike exchange of a sharded run. After its update, a shard keeps each population's
//! spikes (population indices, ascending) in the open window and delivers nothing. At
//! the window's end it sends the window's spikes to every other shard over its
//! [`ShardLink`] and appends the others' in shard order. Shard `k`'s neurons all come
//! before shard `k + 1`'s, so each merged list is ascending, exactly the list one world
//! would have made; `Propagate` then delivers the window's steps in order, unchanged,
//! into the shard's own targets ([`WindowReplay`]). A window is at most the shortest
//! delay plus one step long, so no spike is due before it is delivered, and each target's
//! sums keep the one-world order (`docs/sharding.md`). In a window of one step, while it
//! waits for the others' spikes, a shard delivers the rows of its own that come first in
//! every sum they add to ([`crate::net::EarlyTable`]).

use bevy_ecs::prelude::*;

use crate::engine::Faults;
use crate::net::synapse::SynapseTable;
use crate::net::shard::{PATIENCE, receive};
use crate::net::{Clock, CpuPool, FlushedSpikes, InputRing, NeuronState, PendingStep, Population, ShardLink, ShardMessage, ShardSamples, ShardWeights, Spikes, StateStore, Watch, WindowReplay};

#[expect(clippy::too_many_arguments, reason = "a bevy system's parameters")]
pub(crate) fn exchange_spikes(
    clock: Res<Clock>,
    mut link: ResMut<ShardLink>,
    mut faults: ResMut<Faults>,
    mut samples: ResMut<ShardSamples>,
    mut replay: ResMut<WindowReplay>,
    mut flushed: ResMut<FlushedSpikes>,
    mut pops: Query<&mut Spikes>,
    states: Query<(&Population, &NeuronState)>,
    pool: Option<Res<CpuPool>>,
    mut tables: Query<&mut SynapseTable>,
    mut rings: Query<&mut InputRing>,
) {
    let link = &mut *link;
    samples.0.clear();
    replay.steps.clear();
    // NOTE: every window sends exactly one message on every live link and receives exactly
    // one from every live link, whatever goes wrong (a fault: the message says "stopped",
    // and a shard that stops ends its window there; a broken link is marked dead and
    // skipped from then on), so that no shard ever waits for a message that will not come.
    let stopped = !faults.0.is_empty();
    let step = clock.step;
    let due = |w: &Watch| (step + 1).is_multiple_of(w.every);
    if !stopped {
        // Recorded after this step's update, as `monitor::record` samples one world.
        let mut values = Vec::new();
        for w in link.watches.iter().filter(|w| due(w)) {
            let Ok((pop, st)) = states.get(w.population) else { continue };
            for &k in &w.vars {
                let host;
                let col: &[f64] = match &st.store {
                    StateStore::Host(v) => &v[k],
                    _ => {
                        host = st.var_to_host(k);
                        &host
                    }
                };
                let own = pop.first..pop.first + pop.size;
                values.extend(w.indices.iter().filter(|i| own.contains(i)).map(|&i| col[i - pop.first]));
            }
        }
        // The spikes wait in the window: nothing is delivered or recorded before its end.
        // (Copied out, not moved: the list keeps the room the fused loop reserves for a
        // whole population, which it would otherwise allocate anew every step.)
        let mut take = |e: &Entity| {
            pops.get_mut(*e).map_or_else(
                |_| Vec::new(),
                |mut s| {
                    let v = s.indices.clone();
                    s.indices.clear();
                    v
                },
            )
        };
        let spikes = link.populations.iter().map(&mut take).collect();
        let encoders = link.encoders.iter().map(&mut take).collect();
        link.pending.push(PendingStep { step, spikes, encoders, samples: values });
    }
    let end = stopped || (step + 1).is_multiple_of(link.window) || step + 1 >= link.flush_at;
    replay.defer = !end;
    if !end {
        return;
    }
    let pending = std::mem::take(&mut link.pending);
    // While the others' spikes are on their way, this shard's own rows that come first
    // in every sum they add to (`EarlyTable`): a window of one step, on one thread.
    let early = !stopped && pending.len() == 1 && !replay.early.is_empty() && pool.is_some_and(|p| p.pool.is_none());
    let mut deliver_early = || {
        if early {
            crate::engine::deliver::deliver_early(pending[0].step, &replay.early, &pending[0].spikes, &mut tables, &mut rings);
        }
    };
    let mut trouble: Vec<String> = Vec::new();
    // Another shard stopped: its fault is in its own world (`Sim::fault` reads them all);
    // this one only halts with it.
    let mut peer_stopped = false;
    let parts = match link.process.clone() {
        Some(process) => {
            // One shard per process: one all-gather of every shard's window.
            let steps = pending.iter().map(|p| (p.spikes.clone(), p.samples.clone())).collect();
            let message = ShardMessage { steps, stopped }.encode();
            deliver_early();
            let words = process.all_gather(&message);
            let mut parts = Vec::with_capacity(words.len());
            for (k, w) in words.iter().enumerate() {
                if k == link.index {
                    parts.push(None);
                    continue;
                }
                match ShardMessage::decode(w) {
                    Some(m) => {
                        if m.stopped {
                            // Its fault is in that process's world: this one names it.
                            peer_stopped = true;
                            if !stopped {
                                faults.0.push(format!("shard {k} (process {k}) stopped with a fault; its own output names it"));
                            }
                        }
                        parts.push(Some(m));
                    }
                    None => {
                        trouble.push(format!("shard {}: shard {k} sent a message that is not a window of spikes", link.index));
                        parts.push(None);
                    }
                }
            }
            parts
        }
        None => {
            for (k, to) in link.to.iter().enumerate() {
                let Some(tx) = to.as_ref().filter(|_| !link.dead[k]) else { continue };
                let steps = pending.iter().map(|p| (p.spikes.clone(), if k == 0 { p.samples.clone() } else { Vec::new() })).collect();
                if tx.send(ShardMessage { steps, stopped }).is_err() {
                    link.dead[k] = true;
                    trouble.push(format!("shard {}: shard {k} is gone (it failed)", link.index));
                }
            }
            deliver_early();
            let mut parts: Vec<Option<ShardMessage>> = Vec::with_capacity(link.from.len());
            for (k, from) in link.from.iter().enumerate() {
                let Some(rx) = from.as_ref().filter(|_| !link.dead[k]) else {
                    parts.push(None);
                    continue;
                };
                match receive(rx) {
                    Ok(m) => {
                        peer_stopped |= m.stopped;
                        parts.push(Some(m));
                    }
                    Err(_) => {
                        link.dead[k] = true;
                        trouble.push(format!("shard {}: no spikes from shard {k} within {} s (it failed)", link.index, PATIENCE.as_secs()));
                        parts.push(None);
                    }
                }
            }
            parts
        }
    };
    for (k, m) in parts.iter().enumerate() {
        let Some(m) = m.as_ref().filter(|m| !m.stopped) else { continue };
        if m.steps.len() != pending.len() {
            trouble.push(format!("shard {}: shard {k} sent a window of {} steps, not {}", link.index, m.steps.len(), pending.len()));
        } else if let Some(bad) = m.steps.iter().find(|s| s.0.len() != link.populations.len()) {
            trouble.push(format!("shard {}: shard {k} sent spikes of {} populations, not {}", link.index, bad.0.len(), link.populations.len()));
        }
    }
    if stopped || peer_stopped || !trouble.is_empty() {
        if !stopped {
            faults.0.extend(trouble);
        }
        link.halted = true;
        replay.defer = true;
        return;
    }
    replay.early_done = early;
    let mut parts: Vec<ShardMessage> = parts.into_iter().map(|p| p.unwrap_or_default()).collect();
    let last = pending.len() - 1;
    for (j, mine) in pending.into_iter().enumerate() {
        let mut lists = Vec::with_capacity(link.populations.len() + link.encoders.len());
        for (pi, (&e, own)) in link.populations.iter().zip(mine.spikes).enumerate() {
            let others: usize = parts.iter().map(|p| p.steps.get(j).map_or(0, |s| s.0[pi].len())).sum();
            let mut all = Vec::with_capacity(own.len() + others);
            for (k, p) in parts.iter_mut().enumerate() {
                if k == link.index {
                    all.extend_from_slice(&own);
                } else {
                    all.append(&mut p.steps[j].0[pi]);
                }
            }
            if let Ok(mut s) = pops.get_mut(e) {
                s.total += others as u64;
            }
            lists.push((e, all));
        }
        lists.extend(link.encoders.iter().copied().zip(mine.encoders));
        if link.index == 0 {
            // The window's earlier steps are recorded from the batch; the last one from
            // the spikes `Propagate` leaves in place, as in one world.
            if j < last {
                flushed.0.extend(lists.iter().map(|(e, idx)| (*e, mine.step, idx.clone())));
            }
            if !gather_samples(link, &parts, j, mine.step, mine.samples, &mut samples) {
                // (Every shard halts at the next window's exchange, which says "stopped".)
                faults.0.push(format!("shard 0: a shard sent too few state samples at step {}", mine.step));
                replay.defer = true;
                return;
            }
        }
        replay.steps.push((mine.step, lists));
    }
}

/// Shard 0 puts the samples of step `j` of the window from every shard in each monitor's
/// order; `false` if a shard sent too few.
fn gather_samples(link: &ShardLink, parts: &[ShardMessage], j: usize, step: u64, own: Vec<f64>, samples: &mut ShardSamples) -> bool {
    let due = |w: &Watch| (step + 1).is_multiple_of(w.every);
    let from: Vec<&[f64]> = parts.iter().enumerate().map(|(k, p)| if k == link.index { &own[..] } else { p.steps.get(j).map_or(&[][..], |s| &s.1[..]) }).collect();
    let mut next = vec![0usize; parts.len()];
    for w in link.watches.iter().filter(|w| due(w)) {
        let mut rows = Vec::with_capacity(w.vars.len());
        for _ in &w.vars {
            let mut row = Vec::with_capacity(w.indices.len());
            for &o in &w.owner {
                let o = o as usize;
                let Some(&x) = from[o].get(next[o]) else { return false };
                next[o] += 1;
                row.push(x);
            }
            rows.push(row);
        }
        samples.0.push((step, w.monitor, rows));
    }
    true
}

/// A sharded run's weight monitors (in `Record`, before `monitor::record`): in a step where
/// one samples, every shard sends shard 0 its synapses' weights of that projection with
/// its rows' lengths, and shard 0 puts them in one world's order (row by row, each shard's
/// stretch of the row in shard order: rows are sorted by target), for the monitor to
/// sample ([`ShardWeights`]). Every shard knows the same steps, so each sends and receives
/// in the same order as the exchange's messages on the same links.
pub(crate) fn gather_weights(clock: Res<Clock>, mut link: ResMut<ShardLink>, mut faults: ResMut<Faults>, mut out: ResMut<ShardWeights>, tables: Query<&SynapseTable>) {
    out.0.clear();
    let link = &mut *link;
    if link.halted {
        return;
    }
    let due: Vec<Entity> = link.weight_watches.iter().filter(|w| !w.shared && (clock.step + 1).is_multiple_of(w.every)).map(|w| w.projection).collect();
    if due.is_empty() {
        return;
    }
    let mut lens = Vec::with_capacity(due.len());
    let mut values = Vec::new();
    for &e in &due {
        let Ok(t) = tables.get(e) else {
            lens.push(Vec::new());
            continue;
        };
        lens.push(t.row_lengths());
        // CSR order is row order.
        match t.uniform {
            true => values.extend(std::iter::repeat_n(t.weight[0], t.len())),
            false => values.extend_from_slice(&t.weight),
        }
    }
    let mine = ShardMessage { steps: vec![(lens, values)], stopped: false };
    let count = link.count();
    let mut parts: Vec<Option<ShardMessage>> = (0..count).map(|_| None).collect();
    let mut trouble = Vec::new();
    match link.process.clone() {
        Some(p) => {
            // To process 0 alone (the monitors are its): the others get nothing back.
            let words = p.gather(&mine.encode());
            for (k, w) in words.iter().enumerate().filter(|&(k, _)| k != link.index) {
                match ShardMessage::decode(w) {
                    Some(m) => parts[k] = Some(m),
                    None => trouble.push(format!("shard {}: shard {k} sent weights that are not a message", link.index)),
                }
            }
        }
        None if link.index != 0 => {
            if let Some(tx) = link.to[0].as_ref().filter(|_| !link.dead[0])
                && tx.send(mine).is_err()
            {
                link.dead[0] = true;
                faults.0.push(format!("shard {}: shard 0 is gone (it failed)", link.index));
            }
            return;
        }
        None => {
            for k in 1..count {
                let Some(rx) = link.from[k].as_ref().filter(|_| !link.dead[k]) else { continue };
                match receive(rx) {
                    Ok(m) => parts[k] = Some(m),
                    Err(_) => {
                        link.dead[k] = true;
                        trouble.push(format!("shard 0: no weights from shard {k} within {} s (it failed)", PATIENCE.as_secs()));
                    }
                }
            }
        }
    }
    if link.index != 0 {
        faults.0.extend(trouble);
        return;
    }
    parts[0] = Some(mine);
    // Per shard: its lengths and values, and where it has got to in its values.
    let mut from: Vec<(&[Vec<u32>], &[f64], usize)> = Vec::with_capacity(count);
    for (k, p) in parts.iter().enumerate() {
        match p.as_ref().and_then(|m| m.steps.first()).filter(|s| s.0.len() == due.len()) {
            Some(s) => from.push((&s.0[..], &s.1[..], 0)),
            None => {
                trouble.push(format!("shard 0: shard {k} sent no weights of {} projections at step {}", due.len(), clock.step));
                from.push((&[], &[], 0));
            }
        }
    }
    if !trouble.is_empty() {
        faults.0.extend(trouble);
        return;
    }
    for (wi, &projection) in due.iter().enumerate() {
        let rows = from[0].0[wi].len();
        let mut all = Vec::new();
        for r in 0..rows {
            for (k, (lens, vals, at)) in from.iter_mut().enumerate() {
                let n = lens[wi].get(r).copied().unwrap_or(0) as usize;
                let Some(stretch) = vals.get(*at..*at + n) else {
                    faults.0.push(format!("shard 0: shard {k} sent too few weights at step {}", clock.step));
                    return;
                };
                all.extend_from_slice(stretch);
                *at += n;
            }
        }
        out.0.push((projection, all));
    }
}
