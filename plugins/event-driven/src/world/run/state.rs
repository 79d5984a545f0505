//! The event network's checkpoint section (`event_driven.net`) and its exact outputs.

use bevy_ecs::prelude::World;
use spikeworld::api::output::{OutputArray, OutputData};
use spikeworld::prelude::*;

use super::{EventNet, HORIZON_MS, tp};
use crate::buckets::BucketQueue;
use crate::queue::{Event, Origin, Target};
use crate::srm0::Srm0State;

impl Checkpoint for EventNet {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.pops.len() as u64)?;
        for p in &self.pops {
            out.str(&p.name)?;
            let states: Vec<Srm0State> = p.slots.iter().map(|s| s.st).collect();
            let (f, c) = Srm0State::pack(&states);
            out.blob(&f)?;
            out.blob(&c)?;
            out.blob(&p.t_ms)?;
            out.blob(&p.index)?;
            if let Some(w) = &p.tempo {
                out.blob(&w.cells.iter().map(|c| c.window).collect::<Vec<u64>>())?;
                out.blob(&w.cells.iter().map(|c| c.vmax).collect::<Vec<f64>>())?;
                out.blob(&w.cells.iter().map(|c| u64::from(c.fired)).collect::<Vec<u64>>())?;
                out.u64(w.done)?;
                out.blob(&w.rows)?;
                out.blob(&w.pending)?;
            }
        }
        let evs = self.queue.to_sorted_vec();
        out.blob(&evs.iter().map(|e| e.time).collect::<Vec<f64>>())?;
        out.blob(&evs.iter().flat_map(|e| [e.origin.pop as u64, e.origin.idx as u64, e.origin.syn, e.origin.spike, e.target.pop as u64, e.target.idx as u64]).collect::<Vec<u64>>())?;
        out.blob(&evs.iter().map(|e| e.weight).collect::<Vec<f64>>())?;
        out.f64(self.t_done)
    }

    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let n = inp.u64("event populations")?;
        if n != self.pops.len() as u64 {
            return Err(StateError(format!("{n} event populations stored, the scenario has {}", self.pops.len())));
        }
        let mut filed = Vec::new();
        for (pi, p) in self.pops.iter_mut().enumerate() {
            inp.expect(&p.name, "event population")?;
            let f: Vec<f64> = inp.blob("srm0 states")?;
            let c: Vec<u64> = inp.blob("srm0 spike counts")?;
            if c.len() != p.slots.len() {
                return Err(StateError(format!("event population `{}`: {} neurons stored, {} in the scenario", p.name, c.len(), p.slots.len())));
            }
            let states = Srm0State::unpack(&f, &c).map_err(|e| StateError(e.to_string()))?;
            p.t_ms = inp.blob("exact spike times")?;
            p.index = inp.blob("exact spike indices")?;
            if let Some(w) = &mut p.tempo {
                let win: Vec<u64> = inp.blob("tempotron windows")?;
                let vmax: Vec<f64> = inp.blob("tempotron V_max")?;
                let fired: Vec<u64> = inp.blob("tempotron fired")?;
                let n = w.cells.len();
                if win.len() != n || vmax.len() != n || fired.len() != n {
                    return Err(StateError(format!("event population `{}`: tempotron windows of {} neurons stored, {n} in the scenario", p.name, win.len())));
                }
                for (c, ((k, v), f)) in w.cells.iter_mut().zip(win.into_iter().zip(vmax).zip(fired)) {
                    *c = tp::Cell { window: k, vmax: v, fired: f != 0 };
                }
                w.done = inp.u64("tempotron windows done")?;
                w.rows = inp.blob("tempotron V_max rows")?;
                w.pending = inp.blob("tempotron pending rows")?;
                if w.rows.len() as u64 != w.done * n as u64 || w.pending.len() % n.max(1) != 0 {
                    return Err(StateError(format!("event population `{}`: tempotron V_max rows do not match {} windows of {n}", p.name, w.done)));
                }
            }
            // Predictions are a function of the state: computed again, they are the same.
            for (j, (slot, st)) in p.slots.iter_mut().zip(states).enumerate() {
                slot.st = st;
                let next = match &p.tempo {
                    None => p.model.next_spike(&st, st.t + HORIZON_MS),
                    Some(w) => tp::predict(&p.model, w, &st, &w.cells[j]),
                };
                slot.next = next.unwrap_or(f64::INFINITY);
                if slot.next.is_finite() {
                    filed.push((slot.next, pi as u32, j as u32));
                }
            }
        }
        let times: Vec<f64> = inp.blob("event times")?;
        let keys: Vec<u64> = inp.blob("event origins and targets")?;
        let weights: Vec<f64> = inp.blob("event weights")?;
        if keys.len() != times.len() * 6 || weights.len() != times.len() {
            return Err(StateError("event queue: lengths differ".into()));
        }
        let evs: Vec<Event> = times
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
        let t_done = inp.f64("end of the last window")?;
        for e in &evs {
            let ok = self.pops.get(e.target.pop as usize).is_some_and(|p| (e.target.idx as usize) < p.slots.len());
            if !ok {
                return Err(StateError(format!("event queue: an event for population {} neuron {} that the scenario does not have", e.target.pop, e.target.idx)));
            }
        }
        self.queue = BucketQueue::from_vec(self.dt, self.horizon, t_done, evs).map_err(|e| StateError(e.to_string()))?;
        self.t_done = t_done;
        self.crossings.reset(self.crossings.step_of(t_done));
        for (t, p, j) in filed {
            self.crossings.push(t, p, j);
        }
        Ok(())
    }
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
