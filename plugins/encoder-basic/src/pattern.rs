//! Spike patterns repeated with a period: `constant` (SpikingFlow `ConstantEncoder`) and
//! `periodic` (SpikingFlow `PeriodicEncoder`); `latency` and `gaussian_tuning` build one too.

use std::sync::Arc;

use spikeworld::prelude::*;

use crate::input::read_input;
use crate::{WINDOW_KEYS, window};

/// Spikes that repeat every `period` steps from `start` until `stop`: in step `s`, the
/// outputs whose phase is `(s − start) mod period`. Its own configuration: it has no state.
#[derive(Clone, Debug)]
pub struct Pattern {
    period: u64,
    /// (phase, output), sorted: the spikes of one period.
    events: Arc<[(u64, u32)]>,
    start: u64,
    stop: u64,
}

impl Pattern {
    /// A pattern from `(phase, output)` pairs (phase < period; sorted and deduplicated here).
    pub fn new(period: u64, mut events: Vec<(u64, u32)>, start: u64, stop: u64) -> Self {
        debug_assert!(period > 0 && events.iter().all(|e| e.0 < period));
        events.sort_unstable();
        events.dedup();
        Pattern { period, events: events.into(), start, stop }
    }

    /// The period in steps.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The spikes of one period, as sorted `(phase, output)` pairs.
    pub fn events(&self) -> &[(u64, u32)] {
        &self.events
    }
}

impl EncoderConfig for Pattern {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(self.clone())
    }
}

impl Encoder for Pattern {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Spikes(out) = out else { return };
        if step < self.start || step >= self.stop {
            return;
        }
        let phase = (step - self.start) % self.period;
        let lo = self.events.partition_point(|e| e.0 < phase);
        let hi = lo + self.events[lo..].partition_point(|e| e.0 == phase);
        out.extend(self.events[lo..hi].iter().map(|e| e.1));
    }
}

/// Stateless: the output depends on the step alone.
impl Checkpoint for Pattern {
    fn save_state(&self, _: &mut StateWriter<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn load_state(&mut self, _: &mut StateReader<'_>) -> Result<(), StateError> {
        Ok(())
    }
}

pub(crate) const FILE_KEY: ParamSpec = ParamSpec::optional("file", Dim::Dimensionless, ".npy file of the input values, relative to the scenario (instead of `values`)");
pub(crate) const VALUES_KEY: ParamSpec = ParamSpec::optional("values", Dim::Dimensionless, "input values x: one, or one per output (or give `file`)");

pub(crate) struct ConstantFactory;

impl EncoderFactory for ConstantFactory {
    fn name(&self) -> &'static str {
        "constant"
    }
    fn doc(&self) -> &'static str {
        "SpikingFlow ConstantEncoder: output i spikes in every step of [start, stop) where x_i > 0"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[VALUES_KEY, FILE_KEY, WINDOW_KEYS[0], WINDOW_KEYS[1]];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let x = read_input(t, ctx, "values")?
            .ok_or_else(|| spikeworld::util::table::err_at(t.loc(), t.key_path("values"), "missing: give `values` (inline) or `file` (.npy)"))?
            .per_output(t, ctx.size)?;
        let (start, stop) = window(t, ctx.dt_ms)?;
        let events = x.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(i, _)| (0, i as u32)).collect();
        Ok(Arc::new(Pattern::new(1, events, start, stop)))
    }
}

pub(crate) struct PeriodicFactory;

impl EncoderFactory for PeriodicFactory {
    fn name(&self) -> &'static str {
        "periodic"
    }
    fn doc(&self) -> &'static str {
        "SpikingFlow PeriodicEncoder: a [T, size] 0/1 pattern (`pattern` or `file`), row k mod T emitted in step start + k"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::optional("pattern", Dim::Dimensionless, "T rows of `size` 0/1 (or false/true) values: row k is step k of the period"),
            ParamSpec::optional("file", Dim::Dimensionless, ".npy file of shape [T, size] (0/1 or bool), relative to the scenario (instead of `pattern`)"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let p = read_input(t, ctx, "pattern")?
            .ok_or_else(|| spikeworld::util::table::err_at(t.loc(), t.key_path("pattern"), "missing: give `pattern` (T rows of 0/1) or `file` (.npy of shape [T, size])"))?;
        let n = ctx.size as u64;
        let rows = match p.shape[..] {
            [r, c] if c == n => r,
            // A single row may be written flat when the period is one step.
            [c] if c == n && p.file.is_none() => 1,
            _ => {
                let shape: Vec<String> = p.shape.iter().map(u64::to_string).collect();
                return Err(p.err(t, format!("expected shape [T, size] = [T, {n}] (one row of {n} values per step of the period), found [{}]", shape.join(", "))));
            }
        };
        if let Some(i) = p.x.iter().position(|v| *v != 0.0 && *v != 1.0) {
            return Err(p.err(t, format!("{} = {}: a pattern holds only 0 and 1 (or false and true)", p.what(i), p.x[i])));
        }
        if rows == 0 {
            return Err(p.err(t, "has no rows: the period T must be at least one step"));
        }
        let (start, stop) = window(t, ctx.dt_ms)?;
        let events = p.x.iter().enumerate().filter(|(_, v)| **v == 1.0).map(|(k, _)| ((k as u64) / n, (k as u64 % n) as u32)).collect();
        Ok(Arc::new(Pattern::new(rows, events, start, stop)))
    }
}
