//! `poisson`: independent Bernoulli-per-step spike trains, from a rate (Brian2 `PoissonGroup`)
//! or a probability per step (SpikingFlow `PoissonEncoder`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use spikeworld::prelude::*;
use spikeworld::util::rng::{self, Stream, purpose};

use spikeworld::util::table::err_at;

use crate::input::read_input;
use crate::{WINDOW_KEYS, per_index, window};

pub(crate) struct PoissonFactory;

/// Independent Poisson spike trains.
pub struct Poisson {
    ln_q: Vec<f64>,
    streams: Vec<Stream>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    stop: u64,
    seed: u64,
    entity: u32,
}

impl EncoderFactory for PoissonFactory {
    fn name(&self) -> &'static str {
        "poisson"
    }
    fn doc(&self) -> &'static str {
        "`size` independent Bernoulli spike trains: each step an output spikes with probability rate*dt (`rate`) or p (`p` or `file`, SpikingFlow PoissonEncoder)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::optional("rate", Dim::Rate, "rate, one value or one per index (rate form; or give `p` or `file`)"),
            ParamSpec::optional("p", Dim::Dimensionless, "spike probability per step in [0, 1], one value or one per index (SpikingFlow PoissonEncoder's x)"),
            ParamSpec::optional("file", Dim::Dimensionless, ".npy file of probabilities per step p (instead of `p`), relative to the scenario"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        if t.get("rate").is_none() {
            return parse_probability(t, ctx);
        }
        if let Some(n) = t.get("p").or_else(|| t.get("file")) {
            let key = if t.get("p").is_some() { "p" } else { "file" };
            return Err(t.err(n, key, format!("give either `rate` (Hz) or `{key}` (probability per step), not both")));
        }
        let rates = per_index(t, "rate", Dim::Rate, ctx.size)?;
        if let Some(r) = rates.iter().find(|r| **r < 0.0) {
            let n = t.get("rate").expect("read above");
            return Err(t.err(n, "rate", format!("rates must be >= 0 (found {r})")));
        }
        // At most one spike per output and step: a higher rate would be silently capped.
        let max_rate = 1000.0 / ctx.dt_ms;
        if let Some(r) = rates.iter().find(|r| **r * ctx.dt_ms / 1000.0 > 1.0) {
            let n = t.get("rate").expect("read above");
            return Err(t.err(n, "rate", format!("{r} Hz is more than one spike per step of {} ms: at most 1/dt = {max_rate} Hz", ctx.dt_ms)));
        }
        let (start, stop) = window(t, ctx.dt_ms)?;
        let ln_q: Vec<f64> = rates.iter().map(|r| rng::ln(1.0 - (r * ctx.dt_ms / 1000.0).min(1.0))).collect();
        Ok(Arc::new(PoissonConfig { ln_q, start, stop, seed: ctx.seed, entity: ctx.entity }))
    }
}

/// The per-step probability form: `p` inline or from `file` (a .npy), each in [0, 1]. An
/// output spikes in a step with probability p; as a Bernoulli process has geometric gaps
/// between spikes, it is the rate form with rate*dt = p (same streams, same state).
fn parse_probability(t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
    let input = read_input(t, ctx, "p")?
        .ok_or_else(|| err_at(t.loc(), t.key_path("rate"), "missing: give `rate` (Hz), `p` (probability per step) or `file` (.npy of p)"))?;
    input.check_range(t, 0.0, 1.0, "a probability per step")?;
    let p = input.per_output(t, ctx.size)?;
    let (start, stop) = window(t, ctx.dt_ms)?;
    let ln_q: Vec<f64> = p.iter().map(|p| rng::ln_1p(-p)).collect();
    Ok(Arc::new(PoissonConfig { ln_q, start, stop, seed: ctx.seed, entity: ctx.entity }))
}

/// A parsed `poisson` encoder.
struct PoissonConfig {
    ln_q: Vec<f64>,
    start: u64,
    stop: u64,
    seed: u64,
    entity: u32,
}

impl EncoderConfig for PoissonConfig {
    fn build(&self) -> Box<dyn Encoder> {
        let mut streams = Vec::with_capacity(self.ln_q.len());
        let mut heap = BinaryHeap::new();
        for (i, &lq) in self.ln_q.iter().enumerate() {
            let mut s = Stream::new(self.seed, self.entity, purpose::POISSON, i as u64);
            if lq < 0.0 {
                let next = self.start.saturating_add(s.geometric(lq));
                if next < self.stop {
                    heap.push(Reverse((next, i as u32)));
                }
            }
            streams.push(s);
        }
        Box::new(Poisson { ln_q: self.ln_q.clone(), streams, heap, stop: self.stop, seed: self.seed, entity: self.entity })
    }
}

impl Encoder for Poisson {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Spikes(out) = out else { return };
        while let Some(&Reverse((s, i))) = self.heap.peek() {
            if s > step {
                break;
            }
            self.heap.pop();
            if s == step {
                out.push(i);
            }
            let next = step.saturating_add(1).saturating_add(self.streams[i as usize].geometric(self.ln_q[i as usize]));
            if next < self.stop {
                self.heap.push(Reverse((next, i)));
            }
        }
    }

    /// The same process, for the device engine: outputs that spike at their scheduled
    /// step and draw the next gap from their own stream, as [`Encoder::step`] does.
    fn gaps(&self) -> Option<GapProcess> {
        Some(GapProcess {
            ln_q: self.ln_q.clone(),
            seed: self.seed,
            entity: self.entity,
            purpose: purpose::POISSON,
            stop: self.stop,
            position: self.streams.iter().map(|s| s.position()).collect(),
            next: self.next_steps(),
        })
    }

    fn set_gap_state(&mut self, position: &[u64], next: &[u64]) -> bool {
        self.set_state(position, next);
        true
    }
}

impl Poisson {
    /// Each output's next spike step (`u64::MAX`: none before `stop`).
    fn next_steps(&self) -> Vec<u64> {
        let mut next = vec![u64::MAX; self.streams.len()];
        for &Reverse((s, i)) in self.heap.iter() {
            next[i as usize] = s;
        }
        next
    }

    /// Moves every stream to `pos` and schedules each output's next spike from `next`.
    fn set_state(&mut self, pos: &[u64], next: &[u64]) {
        for (s, &p) in self.streams.iter_mut().zip(pos) {
            s.seek(p);
        }
        self.heap = next.iter().enumerate().filter(|(_, s)| **s != u64::MAX).map(|(i, &s)| Reverse((s, i as u32))).collect();
    }
}

/// Checkpointed: each output's stream position and the step of its next spike
/// (`u64::MAX`: none before `stop`). The heap is rebuilt from the latter.
impl Checkpoint for Poisson {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let pos: Vec<u64> = self.streams.iter().map(|s| s.position()).collect();
        out.blob(&pos)?;
        out.blob(&self.next_steps())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let mut pos = vec![0u64; self.streams.len()];
        inp.blob_into(&mut pos, "stream positions")?;
        let mut next = vec![0u64; self.streams.len()];
        inp.blob_into(&mut next, "next spike steps")?;
        self.set_state(&pos, &next);
        Ok(())
    }
}

