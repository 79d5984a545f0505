//! What comes back from the device, and what goes back after a checkpoint: spikes (a
//! flush: histories, counts, spike and rate monitors), state samples, the state of
//! encoders run on the device.

use bevy_ecs::prelude::*;

use super::{DeviceNet, Sampler, Shared, SAMPLE_BYTES};
use crate::net::{Clock, EncoderSlot, FlushedSpikes, SpikeHistory, Spikes};
use crate::{Error, Result};

/// Makes the device sample state monitors (after [`super::attach`]): each monitor of a device
/// population, `(monitor, population, variables, neurons, every)`, records from samples
/// the device takes after each update and copies to the host in batches; the host's
/// `record` no longer reads device state for it.
pub(crate) fn sample_for(world: &mut World, monitors: &[(Entity, Entity, Vec<usize>, Vec<usize>, u64)]) -> Result<()> {
    // (A shard's state monitors are sampled by the exchange, as on the other engines.)
    let Some(net) = world.get_resource::<DeviceNet>().filter(|n| n.shard.is_none()) else { return Ok(()) };
    let (shared, pops, period) = (net.shared.clone(), net.pops.clone(), net.period as usize);
    let mut samplers = Vec::new();
    for (monitor, target, vars, indices, every) in monitors {
        let Some(p) = pops.iter().position(|e| e == target) else { continue };
        let every = (*every).max(1);
        let width = vars.len() * indices.len();
        let cap = (period.div_ceil(every as usize) + 1).min((SAMPLE_BYTES / 8 / width.max(1)).max(1));
        let vars: Vec<u32> = vars.iter().map(|&k| k as u32).collect();
        let indices: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
        let id = shared.lock().add_sampler(p, &vars, &indices, cap).map_err(|e| Error::Runtime(format!("device engine: {e}")))?;
        debug_assert_eq!(id, samplers.len());
        samplers.push(Sampler { monitor: *monitor, every, cap, width, pending: Vec::new() });
    }
    world.insert_resource(crate::net::FlushedSamples::default());
    world.resource_mut::<DeviceNet>().samplers = samplers;
    Ok(())
}

/// Copies the samples the device holds to the host ([`crate::net::FlushedSamples`]).
pub(super) fn take_samples(world: &mut World) {
    let net = world.resource::<DeviceNet>();
    let (shared, samplers) = (net.shared.clone(), net.samplers.clone());
    // (Cleared first: after a failed copy no sample is written past a buffer's end.)
    for s in &mut world.resource_mut::<DeviceNet>().samplers {
        s.pending.clear();
    }
    for (id, s) in samplers.iter().enumerate().filter(|(_, s)| !s.pending.is_empty()) {
        let got = shared.lock().take_samples(id, s.pending.len());
        let values = match got {
            Ok(v) => v,
            Err(e) => return world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine: {e}")),
        };
        let mut out = world.resource_mut::<crate::net::FlushedSamples>();
        for (k, &next) in s.pending.iter().enumerate() {
            out.0.push((s.monitor, next, values[k * s.width..(k + 1) * s.width].to_vec()));
        }
    }
}

/// Copies the spikes of the steps not yet copied (up to `upto`) to the host: spike
/// counts, histories, spike and rate monitors.
pub(super) fn flush(world: &mut World, upto: u64) {
    let Some(net) = world.get_resource::<DeviceNet>() else { return };
    let (from, period, shared, pops, sizes) = (net.flushed_to, net.period, net.shared.clone(), net.pops.clone(), net.pop_sizes.clone());
    let (decode, count_base, gaps) = (net.decode.clone(), net.count_base.clone(), net.gaps.clone());
    take_samples(world);
    if upto <= from {
        return;
    }
    let fault = |world: &mut World, e: String| world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine: {e}"));
    let totals = match shared.lock().read_totals() {
        Ok(t) => t,
        Err(e) => return fault(world, e),
    };
    let mut lasts = Vec::with_capacity(pops.len());
    for (p, &e) in pops.iter().enumerate() {
        // The steps to decode: all of them, or the last ones the history holds.
        let held = world.get::<SpikeHistory>(e).map_or(1, |h| h.depth() as u64);
        let first_step = if decode[p] { from } else { from.max(upto.saturating_sub(held)) };
        let w = match take_steps(&shared, p, first_step, upto, period) {
            Ok(w) => w,
            Err(e) => return fault(world, e),
        };
        let t0 = std::time::Instant::now();
        let idx = decode_steps(&w, sizes[p].div_ceil(32), first_step..upto, |step, idx| {
            if let Some(mut h) = world.get_mut::<SpikeHistory>(e) {
                h.record(step, idx);
            }
            if decode[p] && !idx.is_empty() {
                world.resource_mut::<FlushedSpikes>().0.push((e, step, idx.to_vec()));
            }
        });
        if !decode[p] && world.get::<SpikeHistory>(e).is_some() {
            // The steps not decoded set last-spike steps too: the device's are all of them.
            let got = shared.lock().read_last(p);
            match got {
                Ok(v) => world.get_mut::<SpikeHistory>(e).expect("checked").last_spike = v,
                Err(e) => return fault(world, e),
            }
        }
        if let Some(mut s) = world.get_mut::<Spikes>(e) {
            s.total = count_base[p].wrapping_add(totals[p]);
        }
        lasts.push(idx);
        shared.lock().host_time("host:flush", t0.elapsed().as_secs_f64());
    }
    // Encoders run on the device: every step decoded (their history and count, and the
    // monitors that record them).
    let gap_decode = world.resource::<DeviceNet>().gap_decode.clone();
    let mut gap_lasts = Vec::with_capacity(gaps.len());
    for (g, &(e, src)) in gaps.iter().enumerate() {
        let w = match take_steps(&shared, src, from, upto, period) {
            Ok(w) => w,
            Err(e) => return fault(world, e),
        };
        let n = world.get::<EncoderSlot>(e).map_or(0, |s| s.size);
        let mut count = 0u64;
        let idx = decode_steps(&w, n.div_ceil(32), from..upto, |step, idx| {
            if let Some(mut h) = world.get_mut::<SpikeHistory>(e) {
                h.record(step, idx);
            }
            count += idx.len() as u64;
            if gap_decode.get(g).copied().unwrap_or(false) && !idx.is_empty() {
                world.resource_mut::<FlushedSpikes>().0.push((e, step, idx.to_vec()));
            }
        });
        if let Some(mut s) = world.get_mut::<Spikes>(e) {
            s.total += count;
        }
        gap_lasts.push(idx);
    }
    let mut net = world.resource_mut::<DeviceNet>();
    net.flushed_to = upto;
    net.last = lasts;
    net.gap_last = gap_lasts;
    net.last_step = Some(upto - 1);
}

/// Source `s`'s spike words of steps `first_step..upto` (at most `period` steps, all still
/// on the device): their slots, in at most two runs (the ring may wrap).
fn take_steps(shared: &Shared, s: usize, first_step: u64, upto: u64, period: u64) -> Result<Vec<u32>, String> {
    let (first, count) = ((first_step % period) as usize, (upto - first_step) as usize);
    let head = count.min(period as usize - first);
    let mut b = shared.lock();
    let mut w = b.take_words(s, first, head)?;
    if count > head {
        w.extend(b.take_words(s, 0, count - head)?);
    }
    Ok(w)
}

/// The set bits of `w` (one step's words), each plus `first`, ascending.
pub(super) fn decode_words(w: &[u32], first: u32) -> Vec<u32> {
    let mut idx = Vec::new();
    for (wi, &word) in w.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            idx.push(first + (wi * 32) as u32 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
    idx
}

/// Decodes the words of `steps` (`nw` words a step), handing each step's spikes
/// (ascending) to `each`; returns the last step's.
fn decode_steps(w: &[u32], nw: usize, steps: std::ops::Range<u64>, mut each: impl FnMut(u64, &[u32])) -> Vec<u32> {
    let mut idx = Vec::new();
    for (at, step) in steps.enumerate() {
        idx = decode_words(&w[at * nw..(at + 1) * nw], 0);
        each(step, &idx);
    }
    idx
}

/// Sets bit `i` of `words` (`n` bits, cleared first) for every `i` of `idx`.
pub(super) fn encode_words(idx: &[u32], n: usize, words: &mut Vec<u32>) {
    words.clear();
    words.resize(n.div_ceil(32), 0);
    for &i in idx {
        words[i as usize / 32] |= 1 << (i % 32);
    }
}

/// Brings the host up to date with the device after a run of steps: spikes copied, and
/// each population's `Spikes` holding its last step's spikes, as on the other engines.
pub(crate) fn sync(world: &mut World) {
    // (A shard's spikes come to the host every step, through the exchange.)
    if world.get_resource::<DeviceNet>().is_none_or(|n| n.shard.is_some()) {
        return;
    }
    let step = world.resource::<Clock>().step;
    flush(world, step);
    let net = world.resource::<DeviceNet>();
    if step == 0 || net.last_step != Some(step - 1) {
        return; // nothing ran since the build or the load: `Spikes` are as built or loaded
    }
    let (pops, last) = (net.pops.clone(), net.last.clone());
    let (gaps, gap_last, shared) = (net.gaps.clone(), net.gap_last.clone(), net.shared.clone());
    for (e, l) in pops.into_iter().chain(gaps.iter().map(|g| g.0)).zip(last.into_iter().chain(gap_last)) {
        if let Some(mut s) = world.get_mut::<Spikes>(e) {
            s.indices = l;
        }
    }
    // Encoders run on the device take back their state (a checkpoint reads it there).
    for (g, &(e, _)) in gaps.iter().enumerate() {
        let got = shared.lock().read_gaps(g);
        match got {
            Ok((position, next)) => {
                world.get_mut::<EncoderSlot>(e).expect("an encoder").encoder.set_gap_state(&position, &next);
            }
            Err(err) => return world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine: {err}")),
        }
    }
}

/// After a checkpoint was loaded into the world (state already written through
/// [`crate::net::DeviceStore`]): spikes of earlier steps are on the host, none pending on the device.
pub(crate) fn after_load(world: &mut World) {
    let step = world.resource::<Clock>().step;
    let Some(mut net) = world.get_resource_mut::<DeviceNet>() else { return };
    net.flushed_to = step;
    net.last_step = None;
    for l in &mut net.gap_last {
        l.clear();
    }
    // Samples not yet copied belong to the run the checkpoint replaced.
    for s in &mut net.samplers {
        s.pending.clear();
    }
    if let Err(e) = continue_spike_record(world) {
        world.resource_mut::<crate::engine::Faults>().0.push(format!("device engine: {e}"));
    }
}

/// The device's last-spike steps and running spike counts continue from the world's
/// (after the build, or a checkpoint loaded into it).
pub(super) fn continue_spike_record(world: &mut World) -> Result<(), String> {
    let net = world.resource::<DeviceNet>();
    if net.shard.is_some() {
        return Ok(()); // a shard's record is kept on the host, through the exchange
    }
    let (shared, pops) = (net.shared.clone(), net.pops.clone());
    let mut base = Vec::with_capacity(pops.len());
    for (p, &e) in pops.iter().enumerate() {
        if let Some(h) = world.get::<SpikeHistory>(e) {
            shared.lock().write_last(p, &h.last_spike)?;
        }
        base.push(world.get::<Spikes>(e).map_or(0, |s| s.total));
    }
    // Encoders run on the device continue from the world's state of them.
    for (g, &(e, _)) in world.resource::<DeviceNet>().gaps.iter().enumerate() {
        let slot = world.get::<EncoderSlot>(e).ok_or("an encoder run on the device is gone")?;
        let process = slot.encoder.gaps().filter(|p| p.next.len() == slot.size && p.position.len() == slot.size).ok_or_else(|| format!("encoder `{}` no longer describes its process for its {} outputs", slot.name, slot.size))?;
        shared.lock().write_gaps(g, &process.position, &process.next)?;
    }
    let totals = shared.lock().read_totals()?;
    world.resource_mut::<DeviceNet>().count_base = base.iter().zip(&totals).map(|(b, t)| b.wrapping_sub(*t)).collect();
    Ok(())
}
