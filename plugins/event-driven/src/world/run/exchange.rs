//! The event network's exchange between shards (`docs/sharding.md`, "The event network
//! in shards"): each shard steps its own neurons; after steps 1 to 3 of a window, every
//! shard gets the whole window's spikes and finished `V_max` rows.

use spikeworld::net::ShardLink;

use super::tp::Windows;
use super::{EventNet, own_range};

/// Tempotron windows `done .. k` finished in this step: their `V_max` rows out of the
/// pending ones (NaN where a neuron wrote nothing: another shard's), `done` moved on.
fn take_rows(w: &mut Windows, k: u64, n: usize) -> Vec<f64> {
    let finished = (k - w.done) as usize * n;
    if w.pending.len() < finished {
        w.pending.resize(finished, f64::NAN); // (a shard holding none of its neurons)
    }
    w.done = k;
    w.pending.drain(..finished).collect()
}

/// One world: the finished `V_max` rows as they are.
pub(super) fn finish_rows(net: &mut EventNet) {
    for (pop, k) in net.pops.iter_mut().zip(&mut net.finished) {
        if let (Some(w), Some(k)) = (&mut pop.tempo, k.take()) {
            let r = take_rows(w, k, pop.slots.len());
            w.rows.extend(r);
        }
    }
}

/// A window's exchange between shards: each sends whether it failed, its spikes (with
/// their neurons' counts) and its own neurons' entries of the finished `V_max` rows;
/// every shard then holds the whole network's spikes in order and whole rows. After a
/// failure anywhere nothing is taken (every shard keeps its `done`: the next exchange, if
/// any, has the same layout in every shard).
pub(super) fn exchange(net: &mut EventNet, link: &ShardLink, done: Result<(), String>) -> Result<(), String> {
    /// The event network's collective (`ShardLink::all_gather`'s tag).
    const TAG: u64 = 0x6576_656E_745F_6E65; // "event_ne"
    let (k, count) = link.position();
    let mut mine = vec![f64::from(u8::from(done.is_err()))];
    if done.is_ok() {
        mine.push(net.out.len() as f64);
        for &(t, p, j, c) in &net.out {
            mine.extend([t, f64::from(p), f64::from(j), c as f64]);
        }
        for (pop, finished) in net.pops.iter().zip(&net.finished) {
            let (Some(w), Some(to)) = (&pop.tempo, finished) else { continue };
            let n = pop.slots.len();
            for row in 0..(to - w.done) as usize {
                mine.extend((pop.own.0..pop.own.1).map(|j| w.pending.get(row * n + j as usize).copied().unwrap_or(f64::NAN)));
            }
        }
    }
    let parts = link.all_gather(TAG, &mine);
    done?;
    if let Some(bad) = parts.iter().position(|m| m.first() != Some(&0.0)) {
        return Err(format!("shard {bad}'s event populations failed in this step (shard {k} stops with it)"));
    }
    // Every part's length, checked before it is read: spikes, then its rows' columns.
    let mut at = Vec::with_capacity(count);
    for (s, m) in parts.iter().enumerate() {
        let spikes = m.get(1).map_or(0, |&n| n as usize);
        let columns: usize = net.pops.iter().zip(&net.finished).filter_map(|(p, f)| Some((p.tempo.as_ref()?, (*f)?, p.slots.len()))).map(|(w, to, n)| (to - w.done) as usize * { let (lo, hi) = own_range(n, s, count); (hi - lo) as usize }).sum();
        if m.len() != 2 + 4 * spikes + columns {
            return Err(format!("shard {s}'s event message has {} values, {} expected (shards out of step)", m.len(), 2 + 4 * spikes + columns));
        }
        at.push(2 + 4 * spikes);
    }
    net.out.clear();
    for m in &parts {
        let n = m[1] as usize;
        net.out.extend(m[2..2 + 4 * n].chunks_exact(4).map(|f| (f[0], f[1] as u32, f[2] as u32, f[3] as u64)));
    }
    net.out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (pop, finished) in net.pops.iter_mut().zip(&mut net.finished) {
        let (Some(w), Some(to)) = (&mut pop.tempo, finished.take()) else { continue };
        let n = pop.slots.len();
        let mut r = take_rows(w, to, n);
        for (s, m) in parts.iter().enumerate() {
            let (lo, hi) = own_range(n, s, count);
            let width = (hi - lo) as usize;
            for row in r.chunks_exact_mut(n.max(1)) {
                row[lo as usize..hi as usize].copy_from_slice(&m[at[s]..at[s] + width]);
                at[s] += width;
            }
        }
        w.rows.extend(r);
    }
    Ok(())
}
