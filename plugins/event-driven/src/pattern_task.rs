//! Gütig & Sompolinsky's random-pattern task: can one tempotron classify `P = α·N` random
//! latency patterns?
//!
//! - `N` afferents, each fires **exactly once** at a time drawn uniformly in `[0, T)`
//!   (real-valued, not on a grid), per pattern; `P` patterns with labels ± drawn with
//!   probability 1/2.
//! - Initial weights `w ~ N(0, σ_w²)`.
//! - Each epoch presents the patterns in a fresh random order; each presentation computes
//!   the exact shunted V_max ([`crate::tempotron`]) and, on an error, applies the GS rule
//!   with momentum `μ`: `v ← Δw_GS + μ·v`, `w ← w + v` (μ = 0: plain GS rule). Errors only
//!   update; `v` persists across patterns and epochs.
//! - Training stops after the first epoch without an error (then the weights did not change
//!   during that epoch, so every pattern is classified correctly) or after `max_epochs`.
//!
//! Random numbers come from spikeworld's counter-based [`Stream`] under the entity
//! `"task/gs_random_patterns"`: times (`index` = pattern), labels, initial weights,
//! presentation order (`index` = epoch), each its own purpose, so each is a pure function
//! of `seed`.

use spikeworld::util::rng::{Stream, entity_key};

use crate::error::{Error, Result, finite, positive};
use crate::tempotron::{Pattern, Spike, Tempotron};

const PURPOSE_TIMES: u64 = 1;
const PURPOSE_LABELS: u64 = 2;
const PURPOSE_WEIGHTS: u64 = 3;
const PURPOSE_ORDER: u64 = 4;

fn entity() -> u32 {
    entity_key("task", "gs_random_patterns")
}

/// The task's parameters, with defaults (`PatternTaskConfig::default()`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternTaskConfig {
    /// Afferents `N` (default 500).
    pub n_afferents: usize,
    /// Patterns `P` (default 500, α = 1).
    pub n_patterns: usize,
    /// Pattern duration `T` (ms, default 500).
    pub t_end: f64,
    /// Membrane time constant `τ` (ms, default 15).
    pub tau: f64,
    /// Synaptic time constant `τ_s` (ms, default 3.75).
    pub tau_s: f64,
    /// Threshold θ (default 1; V_rest = 0, the PSP peak is 1).
    pub theta: f64,
    /// Learning rate λ (default 1e-3 of θ per unit kernel).
    pub lr: f64,
    /// Momentum μ in `[0, 1)` (default 0.99; 0 is the plain GS rule).
    pub momentum: f64,
    /// Standard deviation of the initial weights σ_w (default 1e-3).
    pub w_init_sigma: f64,
    /// Epoch budget (default 200).
    pub max_epochs: usize,
    /// Seed of every random draw (default 1).
    pub seed: u64,
}

impl Default for PatternTaskConfig {
    fn default() -> Self {
        Self { n_afferents: 500, n_patterns: 500, t_end: 500.0, tau: 15.0, tau_s: 3.75, theta: 1.0, lr: 1e-3, momentum: 0.99, w_init_sigma: 1e-3, max_epochs: 200, seed: 1 }
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Per epoch: the fraction of patterns classified correctly when presented (online).
    pub accuracy: Vec<f64>,
    /// Fraction correct with the final weights (all patterns evaluated after training).
    pub final_accuracy: f64,
    /// Whether an epoch without an error was reached.
    pub solved: bool,
    /// The final weights.
    pub weights: Vec<f64>,
}

impl PatternTaskConfig {
    /// The tempotron of this task.
    pub fn tempotron(&self) -> Result<Tempotron> {
        Tempotron::new(self.tau, self.tau_s, self.theta, self.t_end)
    }

    fn validate(&self) -> Result<()> {
        if self.n_afferents == 0 || self.n_afferents > u32::MAX as usize {
            return Err(Error::Parameter { name: "n_afferents", value: self.n_afferents as f64, reason: "must be in 1..=2^32-1" });
        }
        positive("lr", self.lr)?;
        if !(self.momentum >= 0.0 && self.momentum < 1.0) {
            return Err(Error::Parameter { name: "momentum", value: self.momentum, reason: "must be in [0, 1)" });
        }
        if !(finite("w_init_sigma", self.w_init_sigma)? >= 0.0) {
            return Err(Error::Parameter { name: "w_init_sigma", value: self.w_init_sigma, reason: "must be >= 0" });
        }
        self.tempotron().map(|_| ())
    }

    /// The `P` patterns and their labels (true = should fire).
    pub fn patterns(&self) -> Result<(Vec<Pattern>, Vec<bool>)> {
        self.validate()?;
        let e = entity();
        let mut pats = Vec::with_capacity(self.n_patterns);
        let mut labels = Vec::with_capacity(self.n_patterns);
        for p in 0..self.n_patterns {
            let mut s = Stream::new(self.seed, e, PURPOSE_TIMES, p as u64);
            let spikes = (0..self.n_afferents).map(|a| Spike { time: self.t_end * s.uniform(), afferent: a as u32 }).collect();
            pats.push(Pattern::new(spikes, self.n_afferents)?);
            labels.push(Stream::new(self.seed, e, PURPOSE_LABELS, p as u64).next_u32() & 1 == 1);
        }
        Ok((pats, labels))
    }

    /// The initial weights.
    pub fn initial_weights(&self) -> Vec<f64> {
        let mut s = Stream::new(self.seed, entity(), PURPOSE_WEIGHTS, 0);
        (0..self.n_afferents).map(|_| self.w_init_sigma * s.normal()).collect()
    }

    /// Generates the patterns and trains (see the module docs).
    pub fn train(&self) -> Result<TrainReport> {
        let (pats, labels) = self.patterns()?;
        self.train_on(&pats, &labels)
    }

    /// Trains on given patterns and labels.
    pub fn train_on(&self, pats: &[Pattern], labels: &[bool]) -> Result<TrainReport> {
        let mut tr = Trainer::new(self, pats, labels)?;
        let mut solved = false;
        while tr.epoch < self.max_epochs {
            if tr.run_epoch()? == 0 {
                solved = true;
                break;
            }
        }
        let final_accuracy = evaluate(&tr.tempotron, pats, labels, &tr.w)?;
        Ok(TrainReport { accuracy: tr.accuracy, final_accuracy, solved, weights: tr.w })
    }
}

/// The training state, an epoch at a time (what a checkpoint holds: weights, momentum
/// velocities, epochs done and their accuracies; the presentation order of epoch `e` is
/// drawn from (seed, e), so a resumed trainer continues exactly).
#[derive(Debug, Clone)]
pub struct Trainer<'a> {
    cfg: PatternTaskConfig,
    tempotron: Tempotron,
    pats: &'a [Pattern],
    labels: &'a [bool],
    /// Weights.
    pub w: Vec<f64>,
    /// Momentum velocities.
    pub vel: Vec<f64>,
    /// Epochs done.
    pub epoch: usize,
    /// Per epoch: the fraction classified correctly when presented.
    pub accuracy: Vec<f64>,
    dw: Vec<f64>,
    order: Vec<usize>,
    /// The epochs whose shuffles `order` holds.
    shuffled: usize,
}

impl<'a> Trainer<'a> {
    /// A trainer at epoch 0 with the task's initial weights.
    pub fn new(cfg: &PatternTaskConfig, pats: &'a [Pattern], labels: &'a [bool]) -> Result<Self> {
        cfg.validate()?;
        if pats.len() != labels.len() {
            return Err(Error::Length { what: "labels", got: labels.len(), expected: pats.len() });
        }
        if let Some(p) = pats.iter().find(|p| p.n_afferents() != cfg.n_afferents) {
            return Err(Error::Length { what: "afferents of a pattern", got: p.n_afferents(), expected: cfg.n_afferents });
        }
        let w = cfg.initial_weights();
        let n = w.len();
        Ok(Trainer { cfg: *cfg, tempotron: cfg.tempotron()?, pats, labels, w, vel: vec![0.0; n], epoch: 0, accuracy: Vec::new(), dw: vec![0.0; n], order: (0..pats.len()).collect(), shuffled: 0 })
    }

    /// Continues from a saved state (weights, velocities, epochs done, their accuracies).
    pub fn resume(&mut self, w: Vec<f64>, vel: Vec<f64>, accuracy: Vec<f64>) -> Result<()> {
        if w.len() != self.w.len() || vel.len() != self.w.len() {
            return Err(Error::Length { what: "saved weights", got: w.len().min(vel.len()), expected: self.w.len() });
        }
        self.w = w;
        self.vel = vel;
        self.epoch = accuracy.len();
        self.accuracy = accuracy;
        Ok(())
    }

    /// One epoch: every pattern once, in the order drawn for this epoch; an error updates
    /// the weights (GS rule with momentum). Returns the number of errors.
    pub fn run_epoch(&mut self) -> Result<usize> {
        // NOTE: the order is reshuffled from the previous epoch's order, as `train_on`
        // always did: the identity at epoch 0, then one shuffle per epoch. A resumed
        // trainer replays the shuffles of the epochs done to reach the same order.
        if self.order_epoch() != self.epoch {
            self.replay_order();
        }
        let mut s = Stream::new(self.cfg.seed, entity(), PURPOSE_ORDER, self.epoch as u64);
        for i in (1..self.order.len()).rev() {
            self.order.swap(i, s.below(i as u64 + 1) as usize);
        }
        let mut errors = 0usize;
        for &k in &self.order {
            if !self.tempotron.gs_delta(&self.pats[k], &self.w, self.labels[k], self.cfg.lr, &mut self.dw)? {
                errors += 1;
                for ((wi, vi), di) in self.w.iter_mut().zip(self.vel.iter_mut()).zip(&self.dw) {
                    *vi = di + self.cfg.momentum * *vi;
                    *wi += *vi;
                }
            }
        }
        self.accuracy.push(1.0 - errors as f64 / self.pats.len().max(1) as f64);
        self.epoch += 1;
        self.shuffled = self.epoch;
        Ok(errors)
    }

    fn order_epoch(&self) -> usize {
        self.shuffled
    }

    fn replay_order(&mut self) {
        self.order = (0..self.pats.len()).collect();
        for e in 0..self.epoch {
            let mut s = Stream::new(self.cfg.seed, entity(), PURPOSE_ORDER, e as u64);
            for i in (1..self.order.len()).rev() {
                self.order.swap(i, s.below(i as u64 + 1) as usize);
            }
        }
        self.shuffled = self.epoch;
    }

    /// Fraction classified correctly with the current weights.
    pub fn evaluate(&self) -> Result<f64> {
        evaluate(&self.tempotron, self.pats, self.labels, &self.w)
    }
}

/// Fraction of `pats` that `w` classifies correctly (fires iff the label is true).
pub fn evaluate(t: &Tempotron, pats: &[Pattern], labels: &[bool], w: &[f64]) -> Result<f64> {
    let mut ok = 0usize;
    for (p, &l) in pats.iter().zip(labels) {
        if t.v_max(p, w)?.fired() == l {
            ok += 1;
        }
    }
    Ok(ok as f64 / pats.len().max(1) as f64)
}
