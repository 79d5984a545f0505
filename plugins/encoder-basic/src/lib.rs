#![doc = include_str!("../README.md")]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use spikeworld::util::node::Val;
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, purpose};
use spikeworld::util::table::{err_at, node_count, node_quantity_list};

/// Registers `poisson`, `constant_current` and `spike_generator`.
pub struct EncoderPlugin;

impl Plugin for EncoderPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_encoder(PoissonFactory).add_encoder(ConstantCurrentFactory).add_encoder(SpikeGeneratorFactory);
    }
}

/// Reads `start`/`stop` (ms) as a step window `[start, stop)`.
fn window(t: &mut Table<'_>, dt: f64) -> Result<(u64, u64), ScenarioError> {
    let start = match t.opt_quantity("start", Dim::Time)? {
        Some((v, n)) if v < 0.0 => return Err(t.err(n, "start", "must be >= 0")),
        Some((v, _)) => (v / dt).round() as u64,
        None => 0,
    };
    let stop = match t.opt_quantity("stop", Dim::Time)? {
        Some((v, n)) if v < 0.0 => return Err(t.err(n, "stop", "must be >= 0")),
        Some((v, _)) => (v / dt).round() as u64,
        None => u64::MAX,
    };
    Ok((start, stop))
}

fn per_index(t: &mut Table<'_>, key: &str, dim: Dim, size: usize) -> Result<Vec<f64>, ScenarioError> {
    let n = t.req(key)?;
    let v = node_quantity_list(n, dim, &t.key_path(key))?;
    match v.len() {
        1 => Ok(vec![v[0]; size]),
        k if k == size => Ok(v),
        k => Err(t.err(n, key, format!("expected one value or {size} values (one per index), found {k}"))),
    }
}

const WINDOW_KEYS: [ParamSpec; 2] = [
    ParamSpec::new("start", Dim::Time, 0.0, "first time of output"),
    ParamSpec::optional("stop", Dim::Time, "end of output (exclusive; default: never)"),
];

struct PoissonFactory;

/// Independent Poisson spike trains.
pub struct Poisson {
    ln_q: Vec<f64>,
    streams: Vec<Stream>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
    stop: u64,
}

impl EncoderFactory for PoissonFactory {
    fn name(&self) -> &'static str {
        "poisson"
    }
    fn doc(&self) -> &'static str {
        "`size` independent Poisson spike trains; each step an output spikes with probability rate*dt"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::required("rate", Dim::Rate, "rate, one value or one per index"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
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
        let ln_q: Vec<f64> = rates.iter().map(|r| (1.0 - (r * ctx.dt_ms / 1000.0).min(1.0)).ln()).collect();
        Ok(Arc::new(PoissonConfig { ln_q, start, stop, seed: ctx.seed, entity: ctx.entity }))
    }
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
        Box::new(Poisson { ln_q: self.ln_q.clone(), streams, heap, stop: self.stop })
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
}

/// Checkpointed: each output's stream position and the step of its next spike
/// (`u64::MAX`: none before `stop`). The heap is rebuilt from the latter.
impl Checkpoint for Poisson {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let mut next = vec![u64::MAX; self.streams.len()];
        for &Reverse((s, i)) in self.heap.iter() {
            next[i as usize] = s;
        }
        let pos: Vec<u64> = self.streams.iter().map(|s| s.position()).collect();
        out.blob(&pos)?;
        out.blob(&next)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let mut pos = vec![0u64; self.streams.len()];
        inp.blob_into(&mut pos, "stream positions")?;
        let mut next = vec![0u64; self.streams.len()];
        inp.blob_into(&mut next, "next spike steps")?;
        for (s, p) in self.streams.iter_mut().zip(pos) {
            s.seek(p);
        }
        self.heap = next.iter().enumerate().filter(|(_, s)| **s != u64::MAX).map(|(i, &s)| Reverse((s, i as u32))).collect();
        Ok(())
    }
}

struct ConstantCurrentFactory;

/// A step current (its own configuration: it has no state).
#[derive(Clone)]
pub struct ConstantCurrent {
    amplitude: Vec<f64>,
    start: u64,
    stop: u64,
}

impl EncoderFactory for ConstantCurrentFactory {
    fn name(&self) -> &'static str {
        "constant_current"
    }
    fn doc(&self) -> &'static str {
        "a constant current into `target` (receptor `i` by default) during [start, stop)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Current
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::required("amplitude", Dim::Current, "current, one value or one per target neuron"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let amplitude = per_index(t, "amplitude", Dim::Current, ctx.size)?;
        let (start, stop) = window(t, ctx.dt_ms)?;
        Ok(Arc::new(ConstantCurrent { amplitude, start, stop }))
    }
}

impl EncoderConfig for ConstantCurrent {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(self.clone())
    }
}

impl Encoder for ConstantCurrent {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Current(out) = out else { return };
        if step >= self.start && step < self.stop {
            for (o, a) in out.iter_mut().zip(&self.amplitude) {
                *o += *a;
            }
        }
    }
}

/// Stateless: the output depends on the step alone.
impl Checkpoint for ConstantCurrent {
    fn save_state(&self, _: &mut StateWriter<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn load_state(&mut self, _: &mut StateReader<'_>) -> Result<(), StateError> {
        Ok(())
    }
}

struct SpikeGeneratorFactory;

/// Explicit spikes, sorted by (step, index); as parsed, at position 0.
#[derive(Clone)]
pub struct SpikeGenerator {
    spikes: Vec<(u64, u32)>,
    next: usize,
}

impl EncoderFactory for SpikeGeneratorFactory {
    fn name(&self) -> &'static str {
        "spike_generator"
    }
    fn doc(&self) -> &'static str {
        "explicit spikes: `times` (ms) with `indices`, or `file` (CSV `t_ms,index`, relative to the scenario)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::optional("times", Dim::Time, "spike times (with `indices`; or give `file`)"),
            ParamSpec::optional("indices", Dim::Dimensionless, "output index of each spike (with `times`)"),
            ParamSpec::optional("file", Dim::Dimensionless, "CSV file of `t_ms,index` lines (instead of `times`/`indices`)"),
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let mut raw: Vec<(f64, u64, spikeworld::util::error::Loc)> = Vec::new();
        match (t.get("times"), t.get("indices"), t.opt_str("file")?) {
            (Some(tn), Some(inode), None) => {
                let times = node_quantity_list(tn, Dim::Time, &t.key_path("times"))?;
                let idx: Vec<u64> = match &inode.val {
                    Val::Array(a) => a.iter().map(|x| node_count(x, &t.key_path("indices"))).collect::<Result<_, _>>()?,
                    _ => vec![node_count(inode, &t.key_path("indices"))?],
                };
                if times.len() != idx.len() {
                    return Err(t.err(inode, "indices", format!("{} indices for {} times", idx.len(), times.len())));
                }
                raw.extend(times.into_iter().zip(idx).map(|(a, b)| (a, b, tn.loc.clone())));
            }
            (None, None, Some((file, fnode))) => {
                let path = ctx.base_dir.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| t.err(fnode, "file", format!("cannot read {}: {e}", path.display())))?;
                for (ln, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') || (ln == 0 && line.chars().next().is_some_and(|c| c.is_alphabetic())) {
                        continue;
                    }
                    let loc = spikeworld::util::error::Loc::File { file: path.display().to_string().into(), line: ln as u32 + 1, col: 1 };
                    let parsed = line.split_once(',').and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<u64>().ok()?)));
                    let (tm, i) = parsed.ok_or_else(|| err_at(&loc, t.key_path("file"), format!("expected `t_ms,index`, found `{line}`")))?;
                    raw.push((tm, i, loc));
                }
            }
            _ => {
                return Err(err_at(t.loc(), t.path(), "give either `times` and `indices`, or `file`"));
            }
        }
        let mut spikes = Vec::with_capacity(raw.len());
        for (tm, i, loc) in &raw {
            if !tm.is_finite() || *tm < 0.0 {
                return Err(err_at(loc, t.key_path("times"), format!("spike time {tm} ms must be finite and >= 0")));
            }
            if *i as usize >= ctx.size {
                return Err(err_at(loc, t.key_path("indices"), format!("index {i} is outside 0..{}", ctx.size)));
            }
            spikes.push(((tm / ctx.dt_ms + 1e-6).floor() as u64, *i as u32));
        }
        spikes.sort_unstable();
        if let Some(w) = spikes.windows(2).find(|w| w[0] == w[1]) {
            return Err(err_at(t.loc(), t.path(), format!("output {} spikes twice in step {} (dt = {} ms)", w[0].1, w[0].0, ctx.dt_ms)));
        }
        Ok(Arc::new(SpikeGenerator { spikes, next: 0 }))
    }
}

impl EncoderConfig for SpikeGenerator {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(SpikeGenerator { spikes: self.spikes.clone(), next: 0 })
    }
}

impl Encoder for SpikeGenerator {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Spikes(out) = out else { return };
        while self.next < self.spikes.len() && self.spikes[self.next].0 <= step {
            if self.spikes[self.next].0 == step {
                out.push(self.spikes[self.next].1);
            }
            self.next += 1;
        }
    }
}

/// Checkpointed: the position in the spike list.
impl Checkpoint for SpikeGenerator {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.next as u64)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let next = inp.u64("position")?;
        if next > self.spikes.len() as u64 {
            return Err(StateError::new(format!("position {next} is past the {} spikes", self.spikes.len())));
        }
        self.next = next as usize;
        Ok(())
    }
}
