//! The `weights` monitor: a projection's weights every `every` steps, as summary statistics
//! (mean, standard deviation, min, max, a histogram) and the values of chosen synapses.
//! It reads the table's stored weights: one per synapse, or the kernel of a projection
//! that shares its weights (`conv2d`), whose entries are then what `synapses` indexes; a
//! weight held once for all synapses (`SynapseTable::uniform`) is read as every synapse's.

use bevy_ecs::prelude::*;

use crate::api::state::{Checkpoint, StateError, StateReader, StateWriter};
use crate::net::Clock;
use crate::net::synapse::SynapseTable;

/// Records a projection's weights.
#[derive(Component, Debug, Clone)]
pub struct WeightRecorder {
    /// Monitor name.
    pub name: String,
    /// The projection's entity.
    pub projection: Entity,
    /// Period in steps.
    pub every: u64,
    /// Weights recorded one by one (synapse indices; kernel entries for a shared kernel).
    pub synapses: Vec<usize>,
    /// Histogram bins (0: none).
    pub bins: usize,
    /// Histogram range; `None` until the first sample sets it to that sample's [min, max]
    /// when the scenario gives none.
    pub range: Option<(f64, f64)>,
    /// Sample times, ms.
    pub t_ms: Vec<f64>,
    /// Per sample: mean, standard deviation, min, max.
    pub stats: Vec<[f64; 4]>,
    /// Per sample, `bins` counts (row-major).
    pub hist: Vec<u64>,
    /// Per sample, the chosen synapses' weights (row-major).
    pub values: Vec<f64>,
}

impl WeightRecorder {
    pub(crate) fn new(name: &str, projection: Entity, every: u64, synapses: Vec<usize>, bins: usize, range: Option<(f64, f64)>) -> Self {
        WeightRecorder { name: name.into(), projection, every, synapses, bins, range, t_ms: Vec::new(), stats: Vec::new(), hist: Vec::new(), values: Vec::new() }
    }

    /// Takes one sample of `w` at `t_ms`.
    pub fn sample(&mut self, t_ms: f64, w: &[f64]) {
        self.sample_each(t_ms, w.len(), || w.iter().copied(), |k| w[k]);
    }

    /// Takes one sample of `n` weights, which `all` lists in order and `at` reads one by
    /// one: a uniform weight (`SynapseTable::uniform`) is sampled as every synapse's, with
    /// the same sums in the same order, and no copy per synapse.
    fn sample_each<I: Iterator<Item = f64>>(&mut self, t_ms: f64, n: usize, all: impl Fn() -> I, at: impl Fn(usize) -> f64) {
        let n = n.max(1) as f64;
        let mean = all().sum::<f64>() / n;
        let var = all().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        self.t_ms.push(t_ms);
        self.stats.push([mean, var.sqrt(), lo, hi]);
        if self.bins > 0 {
            let (a, b) = *self.range.get_or_insert((lo, hi));
            let mut counts = vec![0u64; self.bins];
            let width = (b - a) / self.bins as f64;
            for x in all() {
                if !(x >= a && x <= b) {
                    continue;
                }
                let k = if width > 0.0 { (((x - a) / width) as usize).min(self.bins - 1) } else { 0 };
                counts[k] += 1;
            }
            self.hist.extend(counts);
        }
        self.values.extend(self.synapses.iter().map(|&k| at(k)));
    }

    /// Bin edges of the histogram (`bins + 1`), once a sample has fixed the range.
    pub fn edges(&self) -> Vec<f64> {
        match self.range {
            Some((a, b)) if self.bins > 0 => (0..=self.bins).map(|i| a + (b - a) * i as f64 / self.bins as f64).collect(),
            _ => Vec::new(),
        }
    }
}

pub(crate) fn record_weights(clock: &Clock, mut mons: Query<&mut WeightRecorder>, tables: Query<&SynapseTable>) {
    let next = clock.step + 1;
    for mut m in &mut mons {
        if !next.is_multiple_of(m.every) {
            continue;
        }
        let Ok(t) = tables.get(m.projection) else { continue };
        let t_ms = next as f64 * clock.dt_ms;
        match t.uniform {
            // Every synapse's weight, as if each held it (the same sums in the same order).
            true => {
                let (w, n) = (t.weight[0], t.len());
                m.sample_each(t_ms, n, || std::iter::repeat_n(w, n), |_| w);
            }
            false => m.sample(t_ms, &t.weight),
        }
    }
}

/// A sharded run's shard 0 samples the weights the shards sent ([`crate::net::ShardWeights`]);
/// a projection that shares a kernel (the same in every shard) is read from its own table.
pub(crate) fn record_shard_weights(clock: &Clock, mut mons: Query<&mut WeightRecorder>, tables: Query<&SynapseTable>, gathered: &crate::net::ShardWeights) {
    let next = clock.step + 1;
    for mut m in &mut mons {
        if !next.is_multiple_of(m.every) {
            continue;
        }
        let Ok(t) = tables.get(m.projection) else { continue };
        let w = match gathered.0.iter().find(|(p, _)| *p == m.projection) {
            Some((_, w)) => &w[..],
            None if t.kernel_index.is_some() => &t.weight[..],
            // (The gather failed: a fault says why, and the run stops.)
            None => continue,
        };
        m.sample(next as f64 * clock.dt_ms, w);
    }
}

impl Checkpoint for WeightRecorder {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.t_ms)?;
        let flat: Vec<f64> = self.stats.iter().flatten().copied().collect();
        out.blob(&flat)?;
        out.blob(&self.hist)?;
        out.blob(&self.values)?;
        match self.range {
            Some((a, b)) => out.blob(&[a, b]),
            None => out.blob::<f64>(&[]),
        }
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.t_ms = inp.blob("weight sample times")?;
        let flat: Vec<f64> = inp.blob("weight statistics")?;
        if flat.len() != 4 * self.t_ms.len() {
            return Err(StateError::new(format!("{} weight statistics stored for {} samples", flat.len(), self.t_ms.len())));
        }
        self.stats = flat.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
        self.hist = inp.blob("weight histograms")?;
        self.values = inp.blob("recorded weights")?;
        if self.hist.len() != self.bins * self.t_ms.len() || self.values.len() != self.synapses.len() * self.t_ms.len() {
            return Err(StateError::new("weight monitor data does not match its samples"));
        }
        let r: Vec<f64> = inp.blob("histogram range")?;
        self.range = match r[..] {
            [a, b] => Some((a, b)),
            [] => self.range,
            _ => return Err(StateError::new("histogram range must hold 2 values")),
        };
        Ok(())
    }
}
