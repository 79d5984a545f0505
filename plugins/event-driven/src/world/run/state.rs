//! The event network's checkpoint section (`event_driven.net`) and its exact outputs.
//!
//! In a partitioned network each shard holds a part ([`EventNet`]'s `own` ranges): its
//! neurons' states, tempotron cells and pending `V_max` entries are current, the others'
//! are not, and its queue holds the events for its own neurons only. A shard saves its
//! part in the section's format ([`Checkpoint::save_state`]); [`MergeParts::merge_parts`]
//! takes each neuron's entries from the shard that owns it and every shard's events, so
//! the checkpoint is one world's. Spike records and finished `V_max` rows are whole in
//! every shard (exchanged each step) and taken from shard 0. On load, every shard reads
//! the whole section and keeps the events of its own neurons.

use bevy_ecs::prelude::World;
use spikeworld::api::output::{OutputArray, OutputData};
use spikeworld::prelude::*;

use super::{EventNet, HORIZON_MS, own_range, tp};
use crate::buckets::BucketQueue;
use crate::queue::{Event, Origin, Target};
use crate::srm0::Srm0State;

/// A tempotron population's windows as saved.
struct TempoSnap {
    window: Vec<u64>,
    vmax: Vec<f64>,
    fired: Vec<u64>,
    done: u64,
    rows: Vec<f64>,
    pending: Vec<f64>,
}

/// One event population as saved.
struct PopSnap {
    name: String,
    states: Vec<f64>,
    counts: Vec<u64>,
    t_ms: Vec<f64>,
    index: Vec<i64>,
    tempo: Option<TempoSnap>,
}

/// The section: populations, pending events (sorted), the end of the last window.
struct Snap {
    pops: Vec<PopSnap>,
    events: Vec<Event>,
    t_done: f64,
}

impl Snap {
    fn of(net: &EventNet) -> Snap {
        let pops = net
            .pops
            .iter()
            .map(|p| {
                let states: Vec<Srm0State> = p.slots.iter().map(|s| s.st).collect();
                let (states, counts) = Srm0State::pack(&states);
                let tempo = p.tempo.as_ref().map(|w| TempoSnap {
                    window: w.cells.iter().map(|c| c.window).collect(),
                    vmax: w.cells.iter().map(|c| c.vmax).collect(),
                    fired: w.cells.iter().map(|c| u64::from(c.fired)).collect(),
                    done: w.done,
                    rows: w.rows.clone(),
                    pending: w.pending.clone(),
                });
                PopSnap { name: p.name.clone(), states, counts, t_ms: p.t_ms.clone(), index: p.index.clone(), tempo }
            })
            .collect();
        Snap { pops, events: net.queue.to_sorted_vec(), t_done: net.t_done }
    }

    fn write(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.pops.len() as u64)?;
        for p in &self.pops {
            out.str(&p.name)?;
            out.blob(&p.states)?;
            out.blob(&p.counts)?;
            out.blob(&p.t_ms)?;
            out.blob(&p.index)?;
            if let Some(w) = &p.tempo {
                out.blob(&w.window)?;
                out.blob(&w.vmax)?;
                out.blob(&w.fired)?;
                out.u64(w.done)?;
                out.blob(&w.rows)?;
                out.blob(&w.pending)?;
            }
        }
        let evs = &self.events;
        out.blob(&evs.iter().map(|e| e.time).collect::<Vec<f64>>())?;
        out.blob(&evs.iter().flat_map(|e| [e.origin.pop as u64, e.origin.idx as u64, e.origin.syn, e.origin.spike, e.target.pop as u64, e.target.idx as u64]).collect::<Vec<u64>>())?;
        out.blob(&evs.iter().map(|e| e.weight).collect::<Vec<f64>>())?;
        out.f64(self.t_done)
    }

    /// Reads a section of `net`'s scenario, checking its shape.
    fn read(net: &EventNet, inp: &mut StateReader<'_>) -> Result<Snap, StateError> {
        let n = inp.u64("event populations")?;
        if n != net.pops.len() as u64 {
            return Err(StateError(format!("{n} event populations stored, the scenario has {}", net.pops.len())));
        }
        let mut pops = Vec::with_capacity(net.pops.len());
        for p in &net.pops {
            inp.expect(&p.name, "event population")?;
            let states: Vec<f64> = inp.blob("srm0 states")?;
            let counts: Vec<u64> = inp.blob("srm0 spike counts")?;
            if counts.len() != p.slots.len() || states.len() != counts.len() * Srm0State::WORDS {
                return Err(StateError(format!("event population `{}`: {} neurons stored, {} in the scenario", p.name, counts.len(), p.slots.len())));
            }
            let t_ms = inp.blob("exact spike times")?;
            let index = inp.blob("exact spike indices")?;
            let tempo = match &p.tempo {
                None => None,
                Some(_) => {
                    let (window, vmax, fired): (Vec<u64>, Vec<f64>, Vec<u64>) = (inp.blob("tempotron windows")?, inp.blob("tempotron V_max")?, inp.blob("tempotron fired")?);
                    let n = p.slots.len();
                    if window.len() != n || vmax.len() != n || fired.len() != n {
                        return Err(StateError(format!("event population `{}`: tempotron windows of {} neurons stored, {n} in the scenario", p.name, window.len())));
                    }
                    let done = inp.u64("tempotron windows done")?;
                    let (rows, pending): (Vec<f64>, Vec<f64>) = (inp.blob("tempotron V_max rows")?, inp.blob("tempotron pending rows")?);
                    if rows.len() as u64 != done * n as u64 || pending.len() % n.max(1) != 0 {
                        return Err(StateError(format!("event population `{}`: tempotron V_max rows do not match {done} windows of {n}", p.name)));
                    }
                    Some(TempoSnap { window, vmax, fired, done, rows, pending })
                }
            };
            pops.push(PopSnap { name: p.name.clone(), states, counts, t_ms, index, tempo });
        }
        let times: Vec<f64> = inp.blob("event times")?;
        let keys: Vec<u64> = inp.blob("event origins and targets")?;
        let weights: Vec<f64> = inp.blob("event weights")?;
        if keys.len() != times.len() * 6 || weights.len() != times.len() {
            return Err(StateError("event queue: lengths differ".into()));
        }
        let events: Vec<Event> = times
            .iter()
            .zip(keys.chunks_exact(6))
            .zip(&weights)
            .map(|((&time, k), &weight)| Event {
                time,
                origin: Origin { pop: k[0] as u32, idx: k[1] as u32, syn: k[2], spike: k[3] },
                target: Target { pop: k[4] as u32, idx: k[5] as u32 },
                weight,
            })
            .collect();
        for e in &events {
            let ok = net.pops.get(e.target.pop as usize).is_some_and(|p| (e.target.idx as usize) < p.slots.len());
            if !ok {
                return Err(StateError(format!("event queue: an event for population {} neuron {} that the scenario does not have", e.target.pop, e.target.idx)));
            }
        }
        let t_done = inp.f64("end of the last window")?;
        Ok(Snap { pops, events, t_done })
    }
}

impl Checkpoint for EventNet {
    /// This shard's part (one world: the whole), in the section's format.
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        Snap::of(self).write(out)
    }

    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let snap = Snap::read(self, inp)?;
        let mut filed = Vec::new();
        for (pi, (p, s)) in self.pops.iter_mut().zip(snap.pops).enumerate() {
            let states = Srm0State::unpack(&s.states, &s.counts).map_err(|e| StateError(e.to_string()))?;
            (p.t_ms, p.index) = (s.t_ms, s.index);
            if let (Some(w), Some(t)) = (&mut p.tempo, s.tempo) {
                for (c, ((k, v), f)) in w.cells.iter_mut().zip(t.window.into_iter().zip(t.vmax).zip(t.fired)) {
                    *c = tp::Cell { window: k, vmax: v, fired: f != 0 };
                }
                (w.done, w.rows, w.pending) = (t.done, t.rows, t.pending);
            }
            // The snapshot holds every neuron's count (a sharded run's parts merged).
            p.total = states.iter().map(|st| st.n_spikes).sum();
            // Predictions are a function of the state: computed again, they are the same.
            // A shard files its own neurons' only (it steps no others).
            for (j, (slot, st)) in p.slots.iter_mut().zip(states).enumerate() {
                slot.st = st;
                let next = match &p.tempo {
                    None => p.model.next_spike(&st, st.t + HORIZON_MS),
                    Some(w) => tp::predict(&p.model, w, &st, &w.cells[j]),
                };
                slot.next = next.unwrap_or(f64::INFINITY);
                if slot.next.is_finite() && (p.own.0..p.own.1).contains(&(j as u32)) {
                    filed.push((slot.next, pi as u32, j as u32));
                }
            }
        }
        let own = |e: &Event| self.pops.get(e.target.pop as usize).is_some_and(|p| (p.own.0..p.own.1).contains(&e.target.idx));
        let evs: Vec<Event> = snap.events.into_iter().filter(own).collect();
        self.queue = BucketQueue::from_vec(self.dt, self.horizon, snap.t_done, evs).map_err(|e| StateError(e.to_string()))?;
        self.t_done = snap.t_done;
        self.crossings.reset(self.crossings.step_of(snap.t_done));
        for (t, p, j) in filed {
            self.crossings.push(t, p, j);
        }
        Ok(())
    }
}

impl MergeParts for EventNet {
    fn merge_parts(&self, parts: &[&[u8]], out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let bad = |k: usize, e: StateError| std::io::Error::other(format!("shard {k}'s part of the event network: {}", e.0));
        let mut snaps = Vec::with_capacity(parts.len());
        for (k, b) in parts.iter().enumerate() {
            let mut src = *b;
            let mut r = StateReader::new(&mut src, b.len() as u64);
            snaps.push(Snap::read(self, &mut r).map_err(|e| bad(k, e))?);
        }
        let count = snaps.len();
        let mut whole = snaps.remove(0);
        for (pi, p) in whole.pops.iter_mut().enumerate() {
            let n = p.counts.len();
            let width = Srm0State::WORDS;
            for (k, s) in snaps.iter().enumerate().map(|(k, s)| (k + 1, s)) {
                let (lo, hi) = own_range(n, k, count);
                let (lo, hi) = (lo as usize, hi as usize);
                let q = &s.pops[pi];
                p.states[lo * width..hi * width].copy_from_slice(&q.states[lo * width..hi * width]);
                p.counts[lo..hi].copy_from_slice(&q.counts[lo..hi]);
                if let (Some(w), Some(v)) = (&mut p.tempo, &q.tempo) {
                    w.window[lo..hi].copy_from_slice(&v.window[lo..hi]);
                    w.vmax[lo..hi].copy_from_slice(&v.vmax[lo..hi]);
                    w.fired[lo..hi].copy_from_slice(&v.fired[lo..hi]);
                    // Pending entries: each neuron's from its owner; the longest part's
                    // length (one world's: it grows with the neurons that need it).
                    if v.pending.len() > w.pending.len() {
                        w.pending.resize(v.pending.len(), f64::NAN);
                    }
                }
            }
            if let Some(w) = &mut p.tempo {
                let pending = w.pending.len();
                for (k, s) in snaps.iter().enumerate().map(|(k, s)| (k + 1, s)) {
                    let (lo, hi) = own_range(n, k, count);
                    let v = s.pops[pi].tempo.as_ref().expect("the same populations");
                    for row in (0..pending).step_by(n.max(1)) {
                        for j in lo as usize..hi as usize {
                            w.pending[row + j] = v.pending.get(row + j).copied().unwrap_or(f64::NAN);
                        }
                    }
                }
            }
        }
        for s in snaps {
            whole.events.extend(s.events);
        }
        whole.events.sort_unstable();
        whole.write(out)
    }
}

/// Every event population with its spikes since step 0, for the run's summary and the
/// manifest (`SimBuilder::add_population_report`).
pub fn population_report(world: &World) -> Vec<spikeworld::api::output::PluginPopulation> {
    let Some(net) = world.get_resource::<EventNet>() else { return Vec::new() };
    net.pops
        .iter()
        .map(|p| spikeworld::api::output::PluginPopulation {
            name: p.name.clone(),
            size: p.slots.len(),
            model: if p.tempo.is_some() { "tempotron" } else { "srm0" }.into(),
            spikes: p.total,
        })
        .collect()
}

/// The exact spike times of recorded event populations (`NAME.t_ms.npy`, `NAME.index.npy`).
pub fn exact_spikes_output(world: &World) -> Vec<OutputArray> {
    let Some(net) = world.get_resource::<EventNet>() else { return Vec::new() };
    let mut out = Vec::new();
    for p in &net.pops {
        if let Some(w) = &p.tempo {
            out.push(OutputArray { name: p.name.clone(), quantity: "v_max".into(), unit: "1".into(), data: OutputData::F64(w.rows.clone()), shape: vec![w.done, p.slots.len() as u64] });
        }
    }
    for p in net.pops.iter().filter(|p| p.record) {
        let n = p.t_ms.len() as u64;
        out.push(OutputArray { name: p.name.clone(), quantity: "t_ms".into(), unit: "ms".into(), data: OutputData::F64(p.t_ms.clone()), shape: vec![n] });
        out.push(OutputArray { name: p.name.clone(), quantity: "index".into(), unit: "1".into(), data: OutputData::I64(p.index.clone()), shape: vec![n] });
    }
    out
}
