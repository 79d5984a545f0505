//! `spike_generator`: explicit spikes (Brian2 `SpikeGeneratorGroup`, NEST `spike_generator`).

use std::sync::Arc;

use spikeworld::prelude::*;
use spikeworld::util::node::Val;
use spikeworld::util::table::{err_at, node_count, node_quantity_list};

pub(crate) struct SpikeGeneratorFactory;

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
                // At most 1 GiB of `t_ms,index` lines (~100 M spikes; each line becomes 16
                // bytes and more): a larger spike list belongs in several files.
                let text = spikeworld::util::fsio::read_text_limited(&path, 1 << 30, false)
                    .map_err(|e| t.err(fnode, "file", format!("cannot read {}: {e}", path.display())))?;
                for (ln, line) in text.lines().enumerate() {
                    let line = line.trim();
                    let parsed = line.split_once(',').and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<u64>().ok()?)));
                    // A header is a first line that is not a spike (`t_ms,index`; `nan,0` is
                    // a spike, and refused below).
                    if line.is_empty() || line.starts_with('#') || (ln == 0 && parsed.is_none() && line.chars().next().is_some_and(|c| c.is_alphabetic())) {
                        continue;
                    }
                    let loc = spikeworld::util::error::Loc::File { file: path.display().to_string().into(), line: ln as u32 + 1, col: 1 };
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
