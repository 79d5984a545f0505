//! The spike exchange of a sharded run: after its update, every shard sends each
//! population's spikes (population indices, ascending) to every other shard over its
//! [`ShardLink`], and appends the others' in shard order. Shard `k`'s neurons all come
//! before shard `k + 1`'s, so the merged list is ascending, exactly the list one world
//! would have made; `Propagate` then delivers it unchanged into the shard's own targets,
//! and each target's sums keep the one-world order (`docs/sharding.md`).

use std::time::Duration;

use bevy_ecs::prelude::*;

use crate::engine::Faults;
use crate::net::{Clock, NeuronState, Population, ShardLink, ShardMessage, ShardSamples, Spikes, StateStore, Watch};

/// How long a shard waits for another's spikes before it reports that shard as gone (a
/// step never takes this long; a shard that panicked or stopped never sends).
const PATIENCE: Duration = Duration::from_secs(600);

/// Waiting for another shard's spikes: the shards of a step usually finish within
/// microseconds of each other, and waking a sleeping thread costs tens of microseconds
/// per step on a VM. So a shard first spins briefly, then yields its core (to the shard it
/// waits for, when there are more shards than cores), and sleeps only after that.
const SPINS: u32 = 1 << 8;
const YIELDS: u32 = 1 << 12;

fn receive(rx: &crossbeam_channel::Receiver<ShardMessage>) -> Result<ShardMessage, crossbeam_channel::RecvTimeoutError> {
    for i in 0..SPINS + YIELDS {
        match rx.try_recv() {
            Ok(m) => return Ok(m),
            Err(crossbeam_channel::TryRecvError::Disconnected) => return Err(crossbeam_channel::RecvTimeoutError::Disconnected),
            Err(crossbeam_channel::TryRecvError::Empty) if i < SPINS => std::hint::spin_loop(),
            Err(crossbeam_channel::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv_timeout(PATIENCE)
}

pub(crate) fn exchange_spikes(
    clock: Res<Clock>,
    mut link: ResMut<ShardLink>,
    mut faults: ResMut<Faults>,
    mut samples: ResMut<ShardSamples>,
    mut pops: Query<&mut Spikes>,
    states: Query<(&Population, &NeuronState)>,
) {
    let link = &mut *link;
    samples.0.clear();
    // NOTE: every step sends exactly one message on every live link and receives exactly
    // one from every live link, whatever goes wrong (a fault: the message says "stopped";
    // a broken link is marked dead and skipped from then on), so that no shard ever waits
    // for a message that will not come.
    let stopped = !faults.0.is_empty();
    let due = |w: &Watch| (clock.step + 1).is_multiple_of(w.every);
    let mut mine_values = Vec::new();
    let mut mine: Vec<Vec<u32>> = Vec::new();
    if !stopped {
        // Recorded after this step's update, as `monitor::record` samples one world.
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
                mine_values.extend(w.indices.iter().filter(|i| own.contains(i)).map(|&i| col[i - pop.first]));
            }
        }
        mine = link.populations.iter().map(|&e| pops.get(e).map_or_else(|_| Vec::new(), |s| s.indices.clone())).collect();
    }
    let mut trouble: Vec<String> = Vec::new();
    // Another shard stopped: its fault is in its own world (`Sim::fault` reads them all);
    // this one only halts with it.
    let mut peer_stopped = false;
    for (k, to) in link.to.iter().enumerate() {
        let Some(tx) = to.as_ref().filter(|_| !link.dead[k]) else { continue };
        let values = if k == 0 { std::mem::take(&mut mine_values) } else { Vec::new() };
        if tx.send((mine.clone(), values, stopped)).is_err() {
            link.dead[k] = true;
            trouble.push(format!("shard {}: shard {k} is gone (it failed)", link.index));
        }
    }
    let mut parts: Vec<Option<ShardMessage>> = Vec::with_capacity(link.from.len());
    for (k, from) in link.from.iter().enumerate() {
        let Some(rx) = from.as_ref().filter(|_| !link.dead[k]) else {
            parts.push((k == link.index).then(|| (Vec::new(), std::mem::take(&mut mine_values), stopped)));
            continue;
        };
        match receive(rx) {
            Ok(m) => {
                if m.2 {
                    peer_stopped = true;
                } else if m.0.len() != link.populations.len() {
                    trouble.push(format!("shard {}: shard {k} sent spikes of {} populations, not {}", link.index, m.0.len(), link.populations.len()));
                }
                parts.push(Some(m));
            }
            Err(_) => {
                link.dead[k] = true;
                trouble.push(format!("shard {}: no spikes from shard {k} within {} s (it failed)", link.index, PATIENCE.as_secs()));
                parts.push(None);
            }
        }
    }
    if stopped || peer_stopped || !trouble.is_empty() {
        if !stopped {
            faults.0.extend(trouble);
        }
        link.halted = true;
        return;
    }
    let parts: Vec<ShardMessage> = parts.into_iter().map(|p| p.unwrap_or_default()).collect();
    for (pi, &e) in link.populations.iter().enumerate() {
        let Ok(mut s) = pops.get_mut(e) else { continue };
        let own = std::mem::take(&mut s.indices);
        let others: usize = parts.iter().map(|p| p.0.get(pi).map_or(0, Vec::len)).sum();
        let mut all = Vec::with_capacity(own.len() + others);
        for (k, p) in parts.iter().enumerate() {
            if k == link.index {
                all.extend_from_slice(&own);
            } else {
                all.extend_from_slice(&p.0[pi]);
            }
        }
        s.total += others as u64;
        s.indices = all;
    }
    // Shard 0 puts the samples of every shard in each monitor's order.
    if link.index == 0 {
        let mut next = vec![0usize; parts.len()];
        for w in link.watches.iter().filter(|w| due(w)) {
            let mut rows = Vec::with_capacity(w.vars.len());
            for _ in &w.vars {
                let mut row = Vec::with_capacity(w.indices.len());
                for &o in &w.owner {
                    let o = o as usize;
                    let Some(&x) = parts[o].1.get(next[o]) else {
                        // (Every shard halts at the next step's exchange, which says "stopped".)
                        faults.0.push(format!("shard 0: shard {o} sent too few state samples at step {}", clock.step));
                        return;
                    };
                    next[o] += 1;
                    row.push(x);
                }
                rows.push(row);
            }
            samples.0.push((w.monitor, rows));
        }
    }
}
