//! The spike exchange of a sharded run: after its update, every shard sends each
//! population's spikes (population indices, ascending) to every other shard over its
//! [`ShardLink`], and appends the others' in shard order. Shard `k`'s neurons all come
//! before shard `k + 1`'s, so the merged list is ascending, exactly the list one world
//! would have made; `Propagate` then delivers it unchanged into the shard's own targets,
//! and each target's sums keep the one-world order (`docs/sharding.md`).

use std::time::Duration;

use bevy_ecs::prelude::*;

use crate::engine::Faults;
use crate::net::{ShardLink, Spikes};

/// How long a shard waits for another's spikes before it reports that shard as gone (a
/// step never takes this long; a shard that panicked or stopped never sends).
const PATIENCE: Duration = Duration::from_secs(600);

/// Waiting for another shard's spikes: the shards of a step usually finish within
/// microseconds of each other, and waking a sleeping thread costs tens of microseconds
/// per step on a VM. So a shard first spins briefly, then yields its core (to the shard it
/// waits for, when there are more shards than cores), and sleeps only after that.
const SPINS: u32 = 1 << 8;
const YIELDS: u32 = 1 << 12;

fn receive(rx: &crossbeam_channel::Receiver<Vec<Vec<u32>>>) -> Result<Vec<Vec<u32>>, crossbeam_channel::RecvTimeoutError> {
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

pub(crate) fn exchange_spikes(link: Res<ShardLink>, mut faults: ResMut<Faults>, mut pops: Query<&mut Spikes>) {
    if !faults.0.is_empty() {
        return;
    }
    let mine: Vec<Vec<u32>> = link.populations.iter().map(|&e| pops.get(e).map_or_else(|_| Vec::new(), |s| s.indices.clone())).collect();
    for (k, to) in link.to.iter().enumerate() {
        if let Some(tx) = to
            && tx.send(mine.clone()).is_err()
        {
            faults.0.push(format!("shard {}: shard {k} is gone (it stopped or failed)", link.index));
            return;
        }
    }
    let mut parts: Vec<Vec<Vec<u32>>> = Vec::with_capacity(link.from.len());
    for (k, from) in link.from.iter().enumerate() {
        match from {
            None => parts.push(Vec::new()),
            Some(rx) => match receive(rx) {
                Ok(m) if m.len() == link.populations.len() => parts.push(m),
                Ok(m) => {
                    faults.0.push(format!("shard {}: shard {k} sent spikes of {} populations, not {}", link.index, m.len(), link.populations.len()));
                    return;
                }
                Err(_) => {
                    faults.0.push(format!("shard {}: no spikes from shard {k} within {} s (it stopped or failed)", link.index, PATIENCE.as_secs()));
                    return;
                }
            },
        }
    }
    for (pi, &e) in link.populations.iter().enumerate() {
        let Ok(mut s) = pops.get_mut(e) else { continue };
        let own = std::mem::take(&mut s.indices);
        let others: usize = parts.iter().map(|p| p.get(pi).map_or(0, Vec::len)).sum();
        let mut all = Vec::with_capacity(own.len() + others);
        for (k, p) in parts.iter().enumerate() {
            if k == link.index {
                all.extend_from_slice(&own);
            } else {
                all.extend_from_slice(&p[pi]);
            }
        }
        s.total += others as u64;
        s.indices = all;
    }
}
