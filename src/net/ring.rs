//! The delay ring a population's input arrives in ([`InputRing`]), and where its
//! variables lie next to it ([`place_state`]).

use bevy_ecs::prelude::*;

use super::{DeviceRef, NeuronState, StateStore};
use crate::api::state::{Checkpoint, StateError, StateReader, StateWriter};

/// Input arriving at a population: a ring of `depth` slots, each holding one value per
/// (receptor, neuron). Spikes with delay `d` steps emitted at step `t` land in slot
/// `(t + 1 + d) % depth`: a zero delay acts in the next update, as in Brian2.
#[derive(Component, Clone, Debug)]
pub struct InputRing {
    pub(crate) depth: usize,
    pub(crate) receptors: usize,
    pub(crate) n: usize,
    pub(crate) data: crate::util::lines::Lines,
    /// Receptors something projects or injects into; the others are read as 0.
    pub(crate) active: Vec<bool>,
    /// Set when the ring lives on the device engine's device (`data` is then empty).
    pub(crate) device: Option<DeviceRef>,
}

/// A population's noise receptors ([`crate::api::model::ReceptorKind::Noise`]): before
/// each update the engine sets their rows of the ring's slot to fresh standard normal
/// draws ([`crate::util::rng::xi`]), each neuron's by its population index, so that any
/// split into threads or shards draws the same numbers.
#[derive(Component, Clone, Debug)]
pub struct NoiseInputs {
    /// (receptor, stream key) of each noise receptor, in receptor order.
    pub(crate) rows: Vec<(usize, [u32; 2])>,
    /// The population's stream entity.
    pub(crate) entity: u32,
}

impl NoiseInputs {
    /// The noise receptors of a population of `model` (`None` without any), keyed by
    /// the run's `seed` and the population's `entity`.
    pub(crate) fn of(model: &dyn crate::api::model::NeuronModel, seed: u64, entity: u32) -> Option<NoiseInputs> {
        let rows: Vec<(usize, [u32; 2])> = model
            .receptors()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == crate::api::model::ReceptorKind::Noise)
            .enumerate()
            .map(|(k, (r, _))| (r, crate::util::rng::key(seed, crate::util::rng::purpose::XI + k as u64)))
            .collect();
        (!rows.is_empty()).then_some(NoiseInputs { rows, entity })
    }

    /// Sets `out` to noise receptor `j`'s draws at `step` for the neurons from population
    /// index `first` on.
    pub(crate) fn fill(&self, j: usize, step: u64, first: u64, out: &mut [f64]) {
        let key = self.rows[j].1;
        crate::kernel::noise::xi_fill(crate::api::run::Simd::chosen(), key, self.entity, step, first, out);
    }
}

impl InputRing {
    /// A ring of `depth` slots of `receptors × n` zeros.
    pub fn new(depth: usize, receptors: usize, n: usize) -> Self {
        InputRing { depth, receptors, n, data: crate::util::lines::Lines::zeros(depth * receptors * n), active: vec![false; receptors], device: None }
    }
    /// The line of its page at which each row (slot, receptor) of a receptor that
    /// receives input starts (the ring itself starts a page).
    pub(crate) fn active_row_lines(&self) -> Vec<usize> {
        let line_of = |row: usize| (row * self.n * size_of::<f64>() / 64) % crate::util::lines::PAGE_LINES;
        (0..self.depth).flat_map(|s| (0..self.receptors).filter(|&r| self.active[r]).map(move |r| s * self.receptors + r)).map(line_of).collect()
    }
    /// The slot read at `step`: `receptors * n` values.
    pub fn slot_mut(&mut self, step: u64) -> &mut [f64] {
        let len = self.receptors * self.n;
        let s = (step % self.depth as u64) as usize;
        &mut self.data[s * len..(s + 1) * len]
    }
    /// Slots in the ring (the longest incoming delay in steps + 2).
    pub fn depth(&self) -> usize {
        self.depth
    }
    /// Values held: depth x receptors x neurons.
    pub fn values(&self) -> usize {
        self.depth * self.receptors * self.n
    }

    /// The ring's values (copied from the device on the device engine).
    pub fn to_host(&self) -> std::borrow::Cow<'_, [f64]> {
        match &self.device {
            Some(d) => std::borrow::Cow::Owned(d.0.read_ring(d.1)),
            None => std::borrow::Cow::Borrowed(&self.data),
        }
    }
    /// Nonzero inputs waiting in each slot: element `k` counts those read at step
    /// `step + k` (spikes in transit, for `k` up to `depth - 1`).
    pub fn pending(&self, step: u64) -> Vec<usize> {
        let len = self.receptors * self.n;
        let data = self.to_host();
        (0..self.depth as u64)
            .map(|k| {
                let s = ((step + k) % self.depth as u64) as usize;
                data[s * len..(s + 1) * len].iter().filter(|x| **x != 0.0).count()
            })
            .collect()
    }
    /// One receptor of the slot read at `step`.
    pub fn receptor_mut(&mut self, step: u64, r: usize) -> &mut [f64] {
        let n = self.n;
        &mut self.slot_mut(step)[r * n..(r + 1) * n]
    }
    /// Marks receptor `r` as receiving input.
    pub fn activate(&mut self, r: usize) {
        self.active[r] = true;
    }

    /// Grows the ring to at least `depth` slots (at build, before any input: a plugin that
    /// delivers further ahead than the core's projections, such as an event-driven
    /// population's output). An error once input is pending.
    pub fn ensure_depth(&mut self, depth: usize) -> Result<(), String> {
        if depth <= self.depth {
            return Ok(());
        }
        if self.device.is_some() || self.data.iter().any(|&x| x != 0.0) {
            return Err("the delay ring can only grow before the run starts (on the cpu or tensor engine)".into());
        }
        self.depth = depth;
        self.data = crate::util::lines::Lines::zeros(depth * self.receptors * self.n);
        Ok(())
    }

    /// Adds `w` to neuron `i`'s receptor `r` for the update of step `at`, from step `now`
    /// (`now < at < now + depth`: a slot already read, or one beyond the ring, is an error).
    pub fn add_at(&mut self, now: u64, at: u64, r: usize, i: usize, w: f64) -> Result<(), String> {
        if at <= now || at - now >= self.depth as u64 || r >= self.receptors || i >= self.n {
            return Err(format!("input for step {at} (receptor {r}, neuron {i}) cannot be added at step {now} to a ring of {} slots, {} receptors, {} neurons", self.depth, self.receptors, self.n));
        }
        if self.device.is_some() {
            return Err("the device engine does not take input from plugins yet".into());
        }
        self.receptor_mut(at, r)[i] += w;
        Ok(())
    }
}

impl InputRing {
    /// Saves the shards' rings of one population (in shard order) as the whole
    /// population's ring would be saved: slot by slot, receptor by receptor, the parts'
    /// neurons concatenated.
    pub(crate) fn save_concat(parts: &[&InputRing], out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let Some(first) = parts.first() else { return Ok(()) };
        out.u64(first.depth as u64)?;
        // (A ring on a device is copied to the host once.)
        let data: Vec<std::borrow::Cow<'_, [f64]>> = parts.iter().map(|p| p.to_host()).collect();
        let mut all = Vec::with_capacity(data.iter().map(|d| d.len()).sum());
        for s in 0..first.depth {
            for r in 0..first.receptors {
                for (p, d) in parts.iter().zip(&data) {
                    let at = (s * p.receptors + r) * p.n;
                    all.extend_from_slice(&d[at..at + p.n]);
                }
            }
        }
        out.blob(&all)
    }
    /// Loads a whole population's ring into the shards' rings (in shard order).
    pub(crate) fn load_split(parts: &mut [&mut InputRing], inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let Some(first) = parts.first() else { return Ok(()) };
        let (depth, receptors) = (first.depth, first.receptors);
        let stored = inp.u64("ring depth")?;
        if stored != depth as u64 || parts.iter().any(|p| p.depth != depth) {
            return Err(StateError(format!("delay ring of {stored} slots stored, the network has {depth}")));
        }
        let n: usize = parts.iter().map(|p| p.n).sum();
        let mut all = vec![0.0; depth * receptors * n];
        inp.blob_into(&mut all, "spikes in transit")?;
        // (A ring on a device is filled on the host and copied there once.)
        let mut data: Vec<Vec<f64>> = parts.iter().map(|p| if p.device.is_some() { vec![0.0; depth * receptors * p.n] } else { Vec::new() }).collect();
        let mut src = all.iter();
        for s in 0..depth {
            for r in 0..receptors {
                for (p, host) in parts.iter_mut().zip(data.iter_mut()) {
                    let at = (s * p.receptors + r) * p.n;
                    let dst = if p.device.is_some() { &mut host[at..at + p.n] } else { &mut p.data[at..at + p.n] };
                    for (d, &x) in dst.iter_mut().zip(src.by_ref()) {
                        *d = x;
                    }
                }
            }
        }
        for (p, host) in parts.iter().zip(&data) {
            if let Some(d) = &p.device {
                d.0.write_ring(d.1, host);
            }
        }
        Ok(())
    }
    /// Grows the ring to `depth` slots (a shard's rings take the whole network's depth, so
    /// that checkpoints are the same for any number of shards). Only before the first step.
    pub(crate) fn grow_to(&mut self, depth: usize) -> bool {
        debug_assert!(self.device.is_none(), "a ring grows before the device engine takes it");
        if depth > self.depth {
            self.depth = depth;
            self.data = crate::util::lines::Lines::zeros(depth * self.receptors * self.n);
            return true;
        }
        false
    }
}

impl Checkpoint for InputRing {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.depth as u64)?;
        out.blob(&self.to_host())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let depth = inp.u64("ring depth")?;
        if depth != self.depth as u64 {
            return Err(StateError(format!("delay ring of {depth} slots stored, the network has {}", self.depth)));
        }
        match &self.device {
            Some(d) => {
                let mut host = vec![0.0; self.values()];
                inp.blob_into(&mut host, "spikes in transit")?;
                d.0.write_ring(d.1, &host);
                Ok(())
            }
            None => inp.blob_into(&mut self.data, "spikes in transit"),
        }
    }
}

/// Moves population `e`'s host variables away from the cache lines its ring's active
/// rows start at (`util::lines::placed`), after the ring grew or a receptor became active
/// once the population was built: where a variable starts at the same offset within a
/// page as a row, the fused update's loads wait for its stores to the other. Only speed
/// depends on it; the values are the same.
pub fn place_state(world: &mut World, e: Entity) {
    let Some(rows) = world.get::<InputRing>(e).filter(|r| r.device.is_none()).map(|r| r.active_row_lines()) else { return };
    if let Some(mut st) = world.get_mut::<NeuronState>(e)
        && let StateStore::Host(vars) = &mut st.store
    {
        *vars = crate::util::lines::placed(&rows, vars.iter().map(|v| &v[..]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{Col, ColMask, PreparedModel};
    use crate::util::lines::Lines;

    /// A model that is never stepped: only its state is placed.
    struct Idle;
    impl PreparedModel for Idle {
        fn initial(&self) -> Vec<f64> {
            vec![0.0; 3]
        }
        fn step_cpu_with(&self, _: crate::api::run::Simd, _: &mut [&mut [f64]], _: &mut [&mut [f64]], _: u32, _: &mut Vec<u32>) {
            unreachable!("not stepped")
        }
        fn step_tensor(&self, _: &mut [Col], _: &[Col]) -> ColMask {
            unreachable!("not stepped")
        }
    }

    #[test]
    fn placed_state_keeps_its_values_away_from_a_grown_rings_rows() {
        let n = 5000;
        let vars: Vec<Vec<f64>> = (0..3).map(|k| (0..n).map(|i| (i * 3 + k) as f64 * 0.25).collect()).collect();
        let mut world = World::new();
        let mut ring = InputRing::new(2, 2, n);
        ring.activate(0);
        let store = StateStore::Host(vars.iter().map(|v| Lines::from_at(v, 0)).collect());
        let e = world.spawn((ring, NeuronState { model: std::sync::Arc::new(Idle), vars: &[], store })).id();
        // A plugin deepens the ring and feeds a second receptor after the build.
        let mut ring = world.get_mut::<InputRing>(e).unwrap();
        ring.ensure_depth(7).unwrap();
        ring.activate(1);
        let rows = ring.active_row_lines();
        place_state(&mut world, e);
        let StateStore::Host(placed) = &world.get::<NeuronState>(e).unwrap().store else { panic!("host state") };
        for (p, v) in placed.iter().zip(&vars) {
            assert_eq!(&p[..], &v[..]);
            assert!(!rows.contains(&p.page_line()), "a variable at line {} of {rows:?}", p.page_line());
        }
        assert_eq!(placed.iter().map(Lines::page_line).collect::<Vec<_>>(), crate::util::lines::spread(&rows, 3));
    }
}
