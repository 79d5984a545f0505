//! Labelled datasets for tempotrons, and a layer of `K` tempotrons (one per class) trained
//! by SpikingFlow's `Tempotron.mse_loss` on the exact V_max with SGD and momentum.
//!
//! - Samples are either spike times (`[P, N]`, one spike per afferent at most; a negative
//!   or NaN time is no spike, as the seed's `in_spikes < 0`) or feature values (`[P, n]`)
//!   encoded by [`GaussianTuning`] with `m` neurons per feature into `N = n·m` afferents,
//!   spike times in `[0, T)` (the seed's `event_driven.encoding.GaussianTuning`; the
//!   feature ranges are those of the training samples, and a constant feature gets the
//!   range `[x, x + 1]` instead of the seed's division by zero).
//! - A sample's class is the tempotron with the largest V_max (ties: the lowest index),
//!   as SpikingFlow's example (`v_max.argmax(1) == label`).
//! - Per minibatch: `L` and `∂L/∂w` from [`mse_loss_and_grad`] (analytic: V_max is a sum of
//!   kernels at the time of the maximum, so `∂V_max/∂w_a = Σ_{t_a < t_max} K(t_max − t_a)`),
//!   then `v ← μ·v + ∂L/∂w`, `w ← w − λ·v` (PyTorch's SGD with momentum).
//! - The order of epoch `e` is a shuffle drawn from `(seed, e)`: a resumed trainer needs
//!   only the weights, velocities and the curve so far.

use std::path::Path;

use spikeworld::util::npy::read_npy_f64;
use spikeworld::util::rng::{Stream, entity_key};

use crate::error::{Error, Result};
use crate::gaussian_tuning::GaussianTuning;
use crate::tempotron::{Pattern, Spike, Tempotron, mse_loss_and_grad};

const PURPOSE_WEIGHTS: u64 = 1;
const PURPOSE_ORDER: u64 = 2;

fn entity() -> u32 {
    entity_key("tempotron", "classes")
}

/// Samples as patterns, with their labels.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    /// One pattern per sample.
    pub patterns: Vec<Pattern>,
    /// Class of each sample.
    pub labels: Vec<usize>,
}

impl PatternSet {
    /// Afferents of the patterns (0 when empty).
    pub fn n_afferents(&self) -> usize {
        self.patterns.first().map_or(0, |p| p.n_afferents())
    }

    /// Patterns from spike times `[P, N]` (row-major; `< 0` or NaN: no spike).
    pub fn from_spike_times(times: &[f64], n: usize, labels: Vec<usize>) -> Result<Self> {
        if n == 0 || times.len() != labels.len() * n {
            return Err(Error::Length { what: "spike times ([samples, afferents])", got: times.len(), expected: labels.len() * n.max(1) });
        }
        let patterns = times
            .chunks_exact(n)
            .map(|row| {
                let spikes = row.iter().enumerate().filter(|(_, t)| **t >= 0.0).map(|(a, &t)| Spike { time: t, afferent: a as u32 }).collect();
                Pattern::new(spikes, n)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { patterns, labels })
    }

    /// Patterns from features `[P, n]` through `tuning` (spike times in `[0, t_max)`,
    /// rounded to whole ms as the seed if `round`).
    pub fn from_features(x: &[f64], tuning: &GaussianTuning, t_max: f64, round: bool, labels: Vec<usize>) -> Result<Self> {
        let n = tuning.n();
        if n == 0 || x.len() != labels.len() * n {
            return Err(Error::Length { what: "features ([samples, features])", got: x.len(), expected: labels.len() * n.max(1) });
        }
        let width = n * tuning.m();
        let patterns = x
            .chunks_exact(n)
            .map(|row| {
                let times = tuning.encode(row, t_max, round)?;
                let spikes = times.iter().enumerate().filter_map(|(a, t)| t.map(|time| Spike { time, afferent: a as u32 })).collect();
                Pattern::new(spikes, width)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { patterns, labels })
    }

    /// Splits off the last `test` samples (file order) for testing: an
    /// `[[event_source]]` presenting the file from `first = P − test` shows exactly them.
    pub fn split(mut self, test: usize) -> Result<(PatternSet, PatternSet)> {
        let p = self.labels.len();
        if test >= p {
            return Err(Error::Parameter { name: "test_count", value: test as f64, reason: "leaves no training sample" });
        }
        let te = PatternSet { patterns: self.patterns.split_off(p - test), labels: self.labels.split_off(p - test) };
        Ok((self, te))
    }
}

/// Feature ranges of `x` `[P, n]`: per feature (min, max), a constant one widened to
/// `[x, x + 1]`.
pub fn feature_ranges(x: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![f64::INFINITY; n];
    let mut hi = vec![f64::NEG_INFINITY; n];
    for row in x.chunks_exact(n.max(1)) {
        for (i, &v) in row.iter().enumerate() {
            lo[i] = lo[i].min(v);
            hi[i] = hi[i].max(v);
        }
    }
    for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
        if !(*h > *l) {
            *h = *l + 1.0;
        }
    }
    (lo, hi)
}

/// Labels from a `.npy` of whole numbers `0 .. classes`.
pub fn read_labels(path: &Path) -> std::result::Result<Vec<usize>, String> {
    let a = read_npy_f64(path, None)?;
    if a.shape.len() != 1 {
        return Err(format!("`{}` has shape {:?}; expected [samples]", path.display(), a.shape));
    }
    a.values
        .iter()
        .enumerate()
        .map(|(i, &v)| if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64 { Ok(v as usize) } else { Err(format!("`{}`: label {i} is {v}; expected a whole number ≥ 0", path.display())) })
        .collect()
}

/// Hyper-parameters of [`ClassTrainer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassConfig {
    /// Classes `K` (one tempotron each).
    pub classes: usize,
    /// Learning rate λ.
    pub lr: f64,
    /// Momentum μ in `[0, 1)`.
    pub momentum: f64,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Standard deviation of the initial weights.
    pub w_init_sigma: f64,
    /// Seed of the weights and the order.
    pub seed: u64,
}

/// A layer of tempotrons in training (what a checkpoint holds: `w`, `vel`, and the curve).
#[derive(Debug, Clone)]
pub struct ClassTrainer<'a> {
    cfg: ClassConfig,
    tempotron: Tempotron,
    data: &'a PatternSet,
    /// Weights `[K][N]`.
    pub w: Vec<Vec<f64>>,
    /// Momentum velocities `[K][N]`.
    pub vel: Vec<Vec<f64>>,
    /// Per epoch: mean minibatch loss.
    pub loss: Vec<f64>,
    /// Per epoch: fraction of samples classified correctly when presented (before the
    /// step of their minibatch).
    pub accuracy: Vec<f64>,
}

impl<'a> ClassTrainer<'a> {
    /// A trainer at epoch 0.
    pub fn new(cfg: ClassConfig, tempotron: Tempotron, data: &'a PatternSet) -> Result<Self> {
        if cfg.classes == 0 || cfg.batch_size == 0 {
            return Err(Error::Parameter { name: "classes / batch_size", value: 0.0, reason: "must be at least 1" });
        }
        if let Some(&l) = data.labels.iter().find(|&&l| l >= cfg.classes) {
            return Err(Error::Index { what: "label", index: l, size: cfg.classes });
        }
        let n = data.n_afferents();
        let w = (0..cfg.classes)
            .map(|k| {
                let mut s = Stream::new(cfg.seed, entity(), PURPOSE_WEIGHTS, k as u64);
                (0..n).map(|_| cfg.w_init_sigma * s.normal()).collect()
            })
            .collect();
        Ok(Self { cfg, tempotron, data, w, vel: vec![vec![0.0; n]; cfg.classes], loss: Vec::new(), accuracy: Vec::new() })
    }

    /// Epochs done.
    pub fn epoch(&self) -> usize {
        self.loss.len()
    }

    /// Continues from a saved state.
    pub fn resume(&mut self, w: Vec<Vec<f64>>, vel: Vec<Vec<f64>>, loss: Vec<f64>, accuracy: Vec<f64>) -> Result<()> {
        let shape_ok = |m: &Vec<Vec<f64>>| m.len() == self.w.len() && m.iter().all(|r| r.len() == self.data.n_afferents());
        if !shape_ok(&w) || !shape_ok(&vel) || loss.len() != accuracy.len() {
            return Err(Error::Length { what: "saved tempotron weights", got: w.iter().map(Vec::len).sum(), expected: self.w.len() * self.data.n_afferents() });
        }
        (self.w, self.vel, self.loss, self.accuracy) = (w, vel, loss, accuracy);
        Ok(())
    }

    /// One epoch of minibatch steps; returns (mean loss, accuracy while presented).
    pub fn run_epoch(&mut self) -> Result<(f64, f64)> {
        let p = self.data.labels.len();
        let mut order: Vec<usize> = (0..p).collect();
        let mut s = Stream::new(self.cfg.seed, entity(), PURPOSE_ORDER, self.epoch() as u64);
        for i in (1..p).rev() {
            order.swap(i, s.below(i as u64 + 1) as usize);
        }
        let (mut loss_sum, mut batches, mut correct) = (0.0, 0usize, 0usize);
        for chunk in order.chunks(self.cfg.batch_size) {
            let pats: Vec<&Pattern> = chunk.iter().map(|&i| &self.data.patterns[i]).collect();
            let labels: Vec<usize> = chunk.iter().map(|&i| self.data.labels[i]).collect();
            for (pat, &l) in pats.iter().zip(&labels) {
                correct += usize::from(classify(&self.tempotron, pat, &self.w)? == l);
            }
            let (loss, grad) = mse_loss_and_grad(&self.tempotron, &pats, &labels, &self.w)?;
            for ((w, v), g) in self.w.iter_mut().zip(self.vel.iter_mut()).zip(&grad) {
                for ((wi, vi), gi) in w.iter_mut().zip(v.iter_mut()).zip(g) {
                    *vi = self.cfg.momentum * *vi + gi;
                    *wi -= self.cfg.lr * *vi;
                }
            }
            loss_sum += loss;
            batches += 1;
        }
        let r = (loss_sum / batches.max(1) as f64, correct as f64 / p.max(1) as f64);
        self.loss.push(r.0);
        self.accuracy.push(r.1);
        Ok(r)
    }
}

/// The class of `p`: the tempotron with the largest V_max (lowest index on ties).
pub fn classify(t: &Tempotron, p: &Pattern, w: &[Vec<f64>]) -> Result<usize> {
    let mut best = (0, f64::NEG_INFINITY);
    for (k, wk) in w.iter().enumerate() {
        let v = t.v_max(p, wk)?.v_max;
        if v > best.1 {
            best = (k, v);
        }
    }
    Ok(best.0)
}

/// Fraction of `data` that `w` classifies correctly.
pub fn class_accuracy(t: &Tempotron, data: &PatternSet, w: &[Vec<f64>]) -> Result<f64> {
    let mut ok = 0usize;
    for (p, &l) in data.patterns.iter().zip(&data.labels) {
        ok += usize::from(classify(t, p, w)? == l);
    }
    Ok(ok as f64 / data.labels.len().max(1) as f64)
}
