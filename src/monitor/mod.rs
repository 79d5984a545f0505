//! Monitors: `spikes` (every spike), `state` (variables of chosen neurons every k steps),
//! `rate` (population rate in bins). They record in [`crate::api::sets::SimSystems::Record`].

pub mod weights;

use bevy_ecs::prelude::*;

use crate::api::state::{Checkpoint, StateError, StateReader, StateWriter};
use crate::net::{Clock, FlushedSamples, FlushedSpikes, NeuronState, Spikes, StateStore};

/// Records every spike of a population range.
///
/// Stored compactly while the run goes on: each spike's neuron index (4 bytes) and, per
/// step with spikes, its time and where its spikes end. Recording the `t_ms` and `index`
/// arrays of the output files directly (16 bytes a spike) cost COBA-64000 ~3 us a step,
/// most of it the kernel handing out fresh pages for the growing arrays (one world's 2 %
/// of a step; a sharded run's shard 0, which records for all, 8 %, which the other shards
/// waited for). [`SpikeRecorder::t_ms`] and [`SpikeRecorder::index`] give those arrays.
#[derive(Component, Debug, Clone)]
pub struct SpikeRecorder {
    /// Monitor name.
    pub name: String,
    /// Population entity.
    pub target: Entity,
    /// First recorded index.
    pub start: u32,
    /// One past the last recorded index.
    pub end: u32,
    /// Neuron indices (population-wide), step by step.
    indices: Vec<u32>,
    /// Per step with a recorded spike: its time (ms, step × dt) and the end of its
    /// spikes in `indices`.
    steps: Vec<(f64, usize)>,
}

impl SpikeRecorder {
    pub(crate) fn new(name: &str, target: Entity, start: u32, end: u32) -> Self {
        SpikeRecorder { name: name.into(), target, start, end, indices: Vec::new(), steps: Vec::new() }
    }

    /// Records the spikes among `idx` (population indices) in this recorder's range, at `t_ms`.
    fn push(&mut self, t_ms: f64, idx: &[u32]) {
        let (a, b, before) = (self.start, self.end, self.indices.len());
        self.indices.extend(idx.iter().copied().filter(|&i| i >= a && i < b));
        if self.indices.len() > before {
            self.steps.push((t_ms, self.indices.len()));
        }
    }

    /// Spikes recorded.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// No spike recorded.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The recorded spikes' neuron indices (population-wide), in the order of
    /// [`SpikeRecorder::iter`].
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Every recorded spike as (time in ms, neuron index): by time, and within a step in
    /// the order the population's spike list has (ascending index).
    pub fn iter(&self) -> impl Iterator<Item = (f64, u32)> + '_ {
        let mut from = 0;
        self.steps.iter().flat_map(move |&(t, end)| {
            let run = &self.indices[from..end];
            from = end;
            run.iter().map(move |&i| (t, i))
        })
    }

    /// Spike times in ms, one per spike (the `NAME.t_ms.npy` array).
    pub fn t_ms(&self) -> Vec<f64> {
        let mut t = Vec::with_capacity(self.indices.len());
        let mut from = 0;
        for &(s, end) in &self.steps {
            t.extend(std::iter::repeat_n(s, end - from));
            from = end;
        }
        t
    }

    /// Neuron indices as int64, one per spike (the `NAME.index.npy` array).
    pub fn index(&self) -> Vec<i64> {
        self.indices.iter().map(|&i| i64::from(i)).collect()
    }
}

/// Records state variables of some neurons.
#[derive(Component, Debug, Clone)]
pub struct StateRecorder {
    /// Monitor name.
    pub name: String,
    /// Population entity.
    pub target: Entity,
    /// Variable indices.
    pub vars: Vec<usize>,
    /// Neuron indices.
    pub indices: Vec<usize>,
    /// Period in steps.
    pub every: u64,
    /// Sample times, ms.
    pub t_ms: Vec<f64>,
    /// Per variable: samples, row-major (time × index).
    pub data: Vec<Vec<f64>>,
}

impl StateRecorder {
    pub(crate) fn new(name: &str, target: Entity, vars: Vec<usize>, indices: Vec<usize>, every: u64) -> Self {
        let data = vec![Vec::new(); vars.len()];
        StateRecorder { name: name.into(), target, vars, indices, every, t_ms: Vec::new(), data }
    }
}

/// Counts spikes of a population range in bins.
#[derive(Component, Debug, Clone)]
pub struct RateRecorder {
    /// Monitor name.
    pub name: String,
    /// Population entity.
    pub target: Entity,
    /// First counted index.
    pub start: u32,
    /// One past the last counted index.
    pub end: u32,
    /// Bin width, steps.
    pub bin: u64,
    /// Spike count per bin.
    pub counts: Vec<u64>,
}

impl RateRecorder {
    pub(crate) fn new(name: &str, target: Entity, start: u32, end: u32, bin: u64) -> Self {
        RateRecorder { name: name.into(), target, start, end, bin, counts: Vec::new() }
    }
}

/// Every monitor records (one system, not four: each system costs every step, and most
/// scenarios have few monitors).
#[expect(clippy::too_many_arguments, reason = "a bevy system's parameters")]
pub(crate) fn record(
    clock: Res<Clock>,
    spike_mons: Query<&mut SpikeRecorder>,
    state_mons: Query<&mut StateRecorder>,
    rate_mons: Query<&mut RateRecorder>,
    weight_mons: Query<&mut weights::WeightRecorder>,
    spikes: Query<&Spikes>,
    states: Query<&NeuronState>,
    tables: Query<&crate::net::synapse::SynapseTable>,
    flushed: Option<ResMut<FlushedSpikes>>,
    samples: Option<ResMut<FlushedSamples>>,
    shard_samples: Option<Res<crate::net::ShardSamples>>,
    shard_weights: Option<Res<crate::net::ShardWeights>>,
) {
    let (mut spike_mons, mut rate_mons, mut state_mons) = (spike_mons, rate_mons, state_mons);
    if let Some(mut f) = flushed {
        record_flushed(clock.dt_ms, &mut f, spike_mons.reborrow(), rate_mons.reborrow());
    }
    if let Some(mut s) = samples {
        record_samples(clock.dt_ms, &mut s, state_mons.reborrow());
    }
    record_spikes(&clock, spike_mons, &spikes);
    match shard_samples {
        Some(s) => record_shard_samples(&clock, state_mons, &s),
        None => record_states(&clock, state_mons, states),
    }
    record_rates(&clock, rate_mons, &spikes);
    match shard_weights {
        Some(w) => weights::record_shard_weights(&clock, weight_mons, tables, &w),
        None => weights::record_weights(&clock, weight_mons, tables),
    }
}

/// Records spikes of past steps handed over in a batch ([`FlushedSpikes`]), and empties it.
fn record_flushed(dt_ms: f64, flushed: &mut FlushedSpikes, mut spike_mons: Query<&mut SpikeRecorder>, mut rate_mons: Query<&mut RateRecorder>) {
    for (e, step, idx) in flushed.0.drain(..) {
        let t = step as f64 * dt_ms;
        for mut m in spike_mons.iter_mut().filter(|m| m.target == e) {
            m.push(t, &idx);
        }
        for mut m in rate_mons.iter_mut().filter(|m| m.target == e) {
            let bin = (step / m.bin) as usize;
            if m.counts.len() <= bin {
                m.counts.resize(bin + 1, 0);
            }
            let (a, b) = (m.start, m.end);
            m.counts[bin] += idx.iter().filter(|&&i| i >= a && i < b).count() as u64;
        }
    }
}

/// Records state samples taken on a device ([`FlushedSamples`]), and empties it.
fn record_samples(dt_ms: f64, samples: &mut FlushedSamples, mut mons: Query<&mut StateRecorder>) {
    for (e, next, row) in samples.0.drain(..) {
        let Ok(mut m) = mons.get_mut(e) else { continue };
        let m = &mut *m;
        m.t_ms.push(next as f64 * dt_ms);
        for (slot, values) in row.chunks_exact(m.indices.len().max(1)).take(m.vars.len()).enumerate() {
            m.data[slot].extend_from_slice(&values[..m.indices.len()]);
        }
    }
}

/// Records what a batch copy left in [`FlushedSpikes`] and [`FlushedSamples`] outside a
/// step (after [`crate::sim::Sim::run_steps`]).
pub(crate) fn record_flushed_now(world: &mut World) {
    let dt = world.resource::<Clock>().dt_ms;
    if let Some(mut f) = world.get_resource_mut::<FlushedSpikes>().filter(|f| !f.0.is_empty()) {
        let mut batch = FlushedSpikes(std::mem::take(&mut f.0));
        let mut state: bevy_ecs::system::SystemState<(Query<&mut SpikeRecorder>, Query<&mut RateRecorder>)> = bevy_ecs::system::SystemState::new(world);
        if let Ok((s, r)) = state.get_mut(world) {
            record_flushed(dt, &mut batch, s, r);
        }
    }
    if let Some(mut f) = world.get_resource_mut::<FlushedSamples>().filter(|f| !f.0.is_empty()) {
        let mut batch = FlushedSamples(std::mem::take(&mut f.0));
        let mut state: bevy_ecs::system::SystemState<Query<&mut StateRecorder>> = bevy_ecs::system::SystemState::new(world);
        if let Ok(q) = state.get_mut(world) {
            record_samples(dt, &mut batch, q);
        }
    }
}

fn record_spikes(clock: &Clock, mut mons: Query<&mut SpikeRecorder>, spikes: &Query<&Spikes>) {
    let t = clock.step as f64 * clock.dt_ms;
    for mut m in &mut mons {
        let Ok(s) = spikes.get(m.target) else { continue };
        m.push(t, &s.indices);
    }
}

/// A sharded run's shard 0 records the samples the exchange gathered from every shard.
fn record_shard_samples(clock: &Clock, mut mons: Query<&mut StateRecorder>, samples: &crate::net::ShardSamples) {
    for (step, e, rows) in &samples.0 {
        let next = step + 1;
        let Ok(mut m) = mons.get_mut(*e) else { continue };
        m.t_ms.push(next as f64 * clock.dt_ms);
        for (slot, row) in rows.iter().enumerate() {
            m.data[slot].extend_from_slice(row);
        }
    }
}

fn record_states(clock: &Clock, mut mons: Query<&mut StateRecorder>, states: Query<&NeuronState>) {
    let next = clock.step + 1;
    for mut m in &mut mons {
        if !next.is_multiple_of(m.every) {
            continue;
        }
        let Ok(st) = states.get(m.target) else { continue };
        if matches!(st.store, StateStore::Device(_)) {
            continue; // the device engine samples on the device ([`FlushedSamples`])
        }
        let m = &mut *m;
        m.t_ms.push(next as f64 * clock.dt_ms);
        for (slot, &k) in m.vars.iter().enumerate() {
            match &st.store {
                StateStore::Host(v) => {
                    let col = &v[k];
                    m.data[slot].extend(m.indices.iter().map(|&i| col[i]));
                }
                StateStore::Tensor(_) => {
                    let col = st.var_to_host(k);
                    m.data[slot].extend(m.indices.iter().map(|&i| col[i]));
                }
                StateStore::Device(_) => unreachable!("skipped above"),
            }
        }
    }
}

fn record_rates(clock: &Clock, mut mons: Query<&mut RateRecorder>, spikes: &Query<&Spikes>) {
    for mut m in &mut mons {
        let bin = (clock.step / m.bin) as usize;
        if m.counts.len() <= bin {
            m.counts.resize(bin + 1, 0);
        }
        let Ok(s) = spikes.get(m.target) else { continue };
        let (a, b) = (m.start, m.end);
        let c = s.indices.iter().filter(|&&i| i >= a && i < b).count() as u64;
        m.counts[bin] += c;
    }
}

// NOTE: stored as the output files' arrays (times and int64 indices), as before the
// recorder became compact: checkpoints keep their format.
impl Checkpoint for SpikeRecorder {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob_values(self.len(), self.iter().map(|(t, _)| t))?;
        out.blob_values(self.len(), self.indices.iter().map(|&i| i64::from(i)))
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let t_ms: Vec<f64> = inp.blob("spike times")?;
        let index: Vec<i64> = inp.blob("spike indices")?;
        if t_ms.len() != index.len() {
            return Err(StateError(format!("{} times but {} indices", t_ms.len(), index.len())));
        }
        let mut indices = Vec::with_capacity(index.len());
        let mut steps: Vec<(f64, usize)> = Vec::new();
        for (k, (&t, &i)) in t_ms.iter().zip(&index).enumerate() {
            let Some(i) = u32::try_from(i).ok().filter(|&i| i >= self.start && i < self.end) else {
                return Err(StateError(format!("spike {k}: neuron {i} is outside the recorded range {}..{}", self.start, self.end)));
            };
            indices.push(i);
            match steps.last_mut() {
                Some(last) if last.0.to_bits() == t.to_bits() => last.1 = k + 1,
                _ => steps.push((t, k + 1)),
            }
        }
        (self.indices, self.steps) = (indices, steps);
        Ok(())
    }
}

impl Checkpoint for StateRecorder {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.t_ms)?;
        out.u64(self.data.len() as u64)?;
        for d in &self.data {
            out.blob(d)?;
        }
        Ok(())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.t_ms = inp.blob("sample times")?;
        let k = inp.u64("variable count")?;
        if k != self.data.len() as u64 {
            return Err(StateError(format!("{k} variables stored, {} recorded", self.data.len())));
        }
        for d in 0..self.data.len() {
            self.data[d] = inp.blob("samples")?;
            if self.data[d].len() != self.t_ms.len() * self.indices.len() {
                return Err(StateError("a sample array of the wrong size".into()));
            }
        }
        Ok(())
    }
}

impl Checkpoint for RateRecorder {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.counts)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.counts = inp.blob("rate counts")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> SpikeRecorder {
        let mut m = SpikeRecorder::new("s", Entity::PLACEHOLDER, 2, 6);
        m.push(0.0, &[0, 2, 5, 6]); // 0 and 6 are outside 2..6
        m.push(0.1, &[]);
        m.push(0.2, &[1, 7]); // none inside: no step entry
        m.push(0.30000000000000004, &[3, 4]);
        m
    }

    #[test]
    fn spike_recorder_gives_the_output_arrays() {
        let m = recorder();
        assert_eq!((m.len(), m.indices()), (4, &[2, 5, 3, 4][..]));
        assert_eq!(m.t_ms(), vec![0.0, 0.0, 0.30000000000000004, 0.30000000000000004]);
        assert_eq!(m.index(), vec![2i64, 5, 3, 4]);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![(0.0, 2), (0.0, 5), (0.30000000000000004, 3), (0.30000000000000004, 4)]);
        assert!(SpikeRecorder::new("e", Entity::PLACEHOLDER, 0, 1).t_ms().is_empty());
    }

    #[test]
    fn spike_recorder_checkpoint_is_the_arrays_and_round_trips() {
        let m = recorder();
        let mut bytes = Vec::new();
        m.save_state(&mut StateWriter::new(&mut bytes)).unwrap();
        // The format of the recorder that stored the arrays themselves.
        let mut arrays = Vec::new();
        let mut w = StateWriter::new(&mut arrays);
        w.blob(&m.t_ms()).unwrap();
        w.blob(&m.index()).unwrap();
        assert_eq!(bytes, arrays);
        let mut back = SpikeRecorder::new("s", Entity::PLACEHOLDER, 2, 6);
        back.load_state(&mut StateReader::new(&mut bytes.as_slice(), bytes.len() as u64)).unwrap();
        assert_eq!((back.t_ms(), back.index()), (m.t_ms(), m.index()));
        back.push(0.4, &[2]);
        assert_eq!(back.iter().last(), Some((0.4, 2)));

        let mut outside = SpikeRecorder::new("s", Entity::PLACEHOLDER, 2, 5);
        let err = outside.load_state(&mut StateReader::new(&mut bytes.as_slice(), bytes.len() as u64)).unwrap_err();
        assert!(err.0.contains("neuron 5 is outside the recorded range 2..5"), "{}", err.0);
    }
}
