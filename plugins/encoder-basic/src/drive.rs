//! Drives drawn afresh every step for each target neuron: `poisson_input` (Brian2's
//! `PoissonInput`, NEST's `poisson_generator` into each target) and `noise_current`
//! (NEST's `noise_generator`).
//!
//! Both are stateless: the values of step `s` come from the stream `(seed, encoder,
//! purpose, s)`, read in target order, so a resumed run, any shard or thread count, and the
//! device engine (which adds them on the host) see the same numbers.

use std::sync::Arc;

use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, purpose};

use crate::{WINDOW_KEYS, every_steps, window};

/// Largest mean count drawn by one inversion: a larger mean is the sum of several chunks
/// (exact in distribution; the work per draw stays O(mean)). Each chunk takes one 32-bit
/// uniform, `(u + 1/2)/2^32`.
const CHUNK_MEAN: f64 = 16.0;

pub(crate) struct PoissonInputFactory;

/// `poisson_input`: each step, target `j` receives `weight × k_j` at a spike receptor, `k_j`
/// drawn independently per target and step: Binomial(`n`, rate·dt) when `n` is given
/// (Brian2's `PoissonInput(target, var, N, rate, weight)`: `n` independent Poisson
/// sources of `rate`, at most one spike each per step), else Poisson(rate·dt) (NEST's
/// `poisson_generator` connected to each target: one Poisson train of `rate`, any rate).
#[derive(Clone, Debug)]
pub struct PoissonInput {
    /// Binomial trials per step (`None`: a Poisson count).
    pub n: Option<u64>,
    /// Spike probability per source and step (binomial) or mean count per step (Poisson).
    pub p: f64,
    /// Added per counted spike, in the receptor's unit.
    pub weight: f64,
    /// Chunks per draw (each one uniform).
    chunks: u64,
    /// [`chunk_cdf`] of a chunk: binomial chunks of `n / chunks` and `n / chunks + 1`
    /// trials, or a Poisson chunk (both entries).
    cdf: [Vec<f64>; 2],
    /// Targets.
    size: usize,
    seed: u64,
    entity: u32,
    start: u64,
    stop: u64,
}

impl EncoderFactory for PoissonInputFactory {
    fn name(&self) -> &'static str {
        "poisson_input"
    }
    fn doc(&self) -> &'static str {
        "Brian2 PoissonInput / NEST poisson_generator into each target: every step, each target neuron j receives weight*k_j at a spike receptor, k_j ~ Binomial(n, rate*dt) (n sources) or Poisson(rate*dt) (no n; any rate), independent per target and step"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Current
    }
    fn receptor_kind(&self) -> ReceptorKind {
        ReceptorKind::Spike
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::required("rate", Dim::Rate, "rate of each source (with n: at most 1/dt) or of the Poisson train (without n)"),
            ParamSpec::optional("n", Dim::Dimensionless, "number of independent sources per target (Brian2's N): the count is Binomial(n, rate*dt); without it, Poisson(rate*dt)"),
            ParamSpec::required("weight", Dim::Dimensionless, "added per spike, in the receptor's unit (as a projection's weight)").in_weight_unit(),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let dim = ctx.receptor_dim.unwrap_or(Dim::Dimensionless);
        let (rate, rn) = t.quantity("rate", Dim::Rate)?;
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(t.err(rn, "rate", format!("must be a finite rate >= 0, found {rate} Hz")));
        }
        let p = rate * ctx.dt_ms * 1e-3;
        let n = match t.get("n") {
            None => None,
            Some(node) => {
                let n = spikeworld::util::table::node_count(node, &t.key_path("n"))?;
                if n == 0 {
                    return Err(t.err(node, "n", "must be at least 1 source"));
                }
                if p > 1.0 {
                    return Err(t.err(rn, "rate", format!("{rate} Hz is more than one spike per step of {} ms for each of the n sources: at most 1/dt = {} Hz (leave out `n` for a Poisson count of any rate)", ctx.dt_ms, 1e3 / ctx.dt_ms)));
                }
                Some(n)
            }
        };
        let (weight, wn) = t.quantity("weight", dim)?;
        if !weight.is_finite() {
            return Err(t.err(wn, "weight", "must be finite"));
        }
        // As a projection's: a conductance only grows at a spike.
        if dim == Dim::Conductance && weight < 0.0 {
            return Err(t.err(wn, "weight", format!("{weight} nS: a conductance increment must be >= 0; inhibition is a positive weight at an inhibitory receptor")));
        }
        let mean = n.map_or(p, |n| n as f64 * p);
        let chunks = ((mean / CHUNK_MEAN).ceil() as u64).max(1);
        if chunks.saturating_mul(ctx.size as u64) > 1 << 34 || n.is_some_and(|n| chunks > n) {
            return Err(t.err(rn, "rate", format!("a mean of {mean} spikes per step for each of {} targets needs more random numbers per step than one stream holds (2^34)", ctx.size)));
        }
        let (start, stop) = window(t, ctx.dt_ms)?;
        let cdf = match n {
            Some(n) => [0, 1].map(|extra| chunk_cdf(Some(n / chunks + extra), p)),
            None => [0, 1].map(|_| chunk_cdf(None, p / chunks as f64)),
        };
        Ok(Arc::new(PoissonInput { n, p, weight, chunks, cdf, size: ctx.size, seed: ctx.seed, entity: ctx.entity, start, stop }))
    }
}

impl PoissonInput {
    /// The counts of the targets `range` at `step`, in order: `f(j, k_j)`. Target `j`
    /// reads the stream from position `j·chunks`, so any range is drawn alone.
    pub fn counts(&self, step: u64, range: std::ops::Range<usize>, mut f: impl FnMut(usize, u64)) {
        let mut s = Stream::new(self.seed, self.entity, purpose::POISSON, step);
        s.seek(range.start as u64 * self.chunks);
        let extra = self.n.map_or(0, |n| n % self.chunks);
        for j in range {
            let mut k = 0;
            for c in 0..self.chunks {
                let cdf = &self.cdf[usize::from(c < extra)];
                let u = (s.next_u32() as f64 + 0.5) * (1.0 / 4_294_967_296.0);
                k += cdf.iter().take_while(|&&x| x <= u).count() as u64;
            }
            f(j, k);
        }
    }
}

/// The cumulative distribution of a chunk, `P(X ≤ k)` for k = 0, 1, ... until it no longer
/// grows (it then stands within rounding of 1): Binomial(`n`, `p`) (`Some(n)`), or Poisson
/// with mean `p`. A draw is the number of entries at or below a uniform `u` in (0, 1).
pub fn chunk_cdf(n: Option<u64>, p: f64) -> Vec<f64> {
    let mut cdf = Vec::new();
    if p <= 0.0 || n == Some(0) {
        return cdf;
    }
    if let Some(n) = n
        && p >= 1.0
    {
        return vec![0.0; n as usize];
    }
    let mut pk = match n {
        Some(n) => (n as f64 * (-p).ln_1p()).exp(),
        None => (-p).exp(),
    };
    let mut total = pk;
    let mut k = 0u64;
    loop {
        cdf.push(total);
        if n.is_some_and(|n| k + 1 > n) {
            break;
        }
        pk *= match n {
            Some(n) => (n - k) as f64 / (k + 1) as f64 * (p / (1.0 - p)),
            None => p / (k + 1) as f64,
        };
        k += 1;
        let next = total + pk;
        if next == total && total > 0.5 {
            break;
        }
        total = next;
    }
    cdf
}

impl EncoderConfig for PoissonInput {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(self.clone())
    }
}

impl Encoder for PoissonInput {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Current(out) = out else { return };
        let n = out.len();
        self.step_range(step, out, 0..n);
    }
    fn step_range(&mut self, step: u64, out: &mut [f64], range: std::ops::Range<usize>) {
        if step < self.start || step >= self.stop || self.p == 0.0 {
            return;
        }
        let w = self.weight;
        self.counts(step, range.start.min(self.size)..range.end.min(self.size), |j, k| {
            if k > 0 {
                out[j] += w * k as f64;
            }
        });
    }
}

crate::stateless!(PoissonInput);

pub(crate) struct NoiseCurrentFactory;

/// `noise_current`: a Gaussian current into each target, `mean + std·ξ`, ξ standard normal,
/// drawn independently per target every `every` (NEST's `noise_generator` with its `dt`)
/// and held in between.
#[derive(Clone, Debug)]
pub struct NoiseCurrent {
    /// Mean, in the receptor's unit.
    pub mean: f64,
    /// Standard deviation, in the receptor's unit.
    pub std: f64,
    /// Steps each draw is held.
    pub every: u64,
    /// Targets.
    size: usize,
    seed: u64,
    entity: u32,
    start: u64,
    stop: u64,
}

impl EncoderFactory for NoiseCurrentFactory {
    fn name(&self) -> &'static str {
        "noise_current"
    }
    fn doc(&self) -> &'static str {
        "NEST noise_generator: a current mean + std*xi into `target` (receptor `i` by default), xi ~ N(0, 1) drawn independently per target every `every` and held in between, during [start, stop)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Current
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::new("mean", Dim::Current, 0.0, "mean current (in the receptor's dimension: pA, or a plain number for a dimensionless model)"),
            ParamSpec::required("std", Dim::Current, "standard deviation of the current, in the receptor's dimension"),
            ParamSpec::optional("every", Dim::Time, "interval between draws, a whole number of steps (NEST's dt; default: every step)"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let dim = ctx.receptor_dim.unwrap_or(Dim::Current);
        let mean = match t.opt_quantity("mean", dim)? {
            Some((m, n)) if !m.is_finite() => return Err(t.err(n, "mean", "must be finite")),
            Some((m, _)) => m,
            None => 0.0,
        };
        let (std, sn) = t.quantity("std", dim)?;
        if !(std.is_finite() && std >= 0.0) {
            return Err(t.err(sn, "std", format!("must be finite and >= 0, found {std}")));
        }
        let given = t.opt_quantity("every", Dim::Time)?;
        let every = every_steps(t, given, ctx.dt_ms)?;
        let (start, stop) = window(t, ctx.dt_ms)?;
        Ok(Arc::new(NoiseCurrent { mean, std, every, size: ctx.size, seed: ctx.seed, entity: ctx.entity, start, stop }))
    }
}

impl NoiseCurrent {
    /// The currents of the targets `range` at `step` (at or after `start`), in order:
    /// `f(j, I_j)`. Targets `2m` and `2m + 1` take the two values of one Box-Muller pair
    /// (cos, sin), drawn from the stream's block `m`, so any range is drawn alone (from
    /// the even target at or before its start).
    pub fn values(&self, step: u64, range: std::ops::Range<usize>, mut f: impl FnMut(usize, f64)) {
        let mut s = Stream::new(self.seed, self.entity, purpose::NOISE, step.saturating_sub(self.start) / self.every);
        let end = range.end.min(self.size);
        let mut j = range.start & !1;
        s.seek(j as u64 * 2);
        while j < end {
            let r = (-2.0 * s.uniform_open0().ln()).sqrt();
            let (sin, cos) = (std::f64::consts::TAU * s.uniform()).sin_cos();
            if j >= range.start {
                f(j, self.mean + self.std * r * cos);
            }
            if j + 1 < end {
                f(j + 1, self.mean + self.std * r * sin);
            }
            j += 2;
        }
    }
}

impl EncoderConfig for NoiseCurrent {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(RunningNoise { cfg: self.clone(), held: Vec::new(), draw: u64::MAX, range: 0..0 })
    }
}

/// A running [`NoiseCurrent`]: the values of the current draw for the targets read, kept
/// while it is held (recomputed from the step alone when missing, so nothing needs saving).
struct RunningNoise {
    cfg: NoiseCurrent,
    held: Vec<f64>,
    draw: u64,
    range: std::ops::Range<usize>,
}

impl Encoder for RunningNoise {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Current(out) = out else { return };
        let n = out.len();
        self.step_range(step, out, 0..n);
    }
    fn step_range(&mut self, step: u64, out: &mut [f64], range: std::ops::Range<usize>) {
        let c = &self.cfg;
        if step < c.start || step >= c.stop {
            return;
        }
        let range = range.start.min(c.size)..range.end.min(c.size);
        let draw = (step - c.start) / c.every;
        if draw != self.draw || range != self.range {
            self.held.resize(c.size, 0.0);
            let held = &mut self.held;
            c.values(step, range.clone(), |j, x| held[j] = x);
            self.draw = draw;
            self.range = range.clone();
        }
        for (o, x) in out[range.clone()].iter_mut().zip(&self.held[range]) {
            *o += *x;
        }
    }
}

crate::stateless!(RunningNoise);
