//! `run`'s checkpoints: when and where it saves its state (`--checkpoint-every`,
//! `--checkpoint-dir`, `--keep`), the directories checked before the run, and the save that
//! keeps the newest `--keep` files.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;

use crate::CheckpointArgs;

/// The output directory (and the checkpoint directory, if given) exist as directories or
/// can be created: checked before the run, not after it.
pub(crate) fn prepare_dirs(out: &Path, ckpt: &CheckpointArgs) -> Result<()> {
    let mut dirs = vec![("--out", out)];
    if let Some(d) = &ckpt.checkpoint_dir {
        dirs.push(("--checkpoint-dir", d));
    }
    for (flag, d) in dirs {
        if d.exists() && !d.is_dir() {
            return Err(Error::Input(format!("{flag} {}: exists and is not a directory; name a directory", d.display())));
        }
        std::fs::create_dir_all(d).map_err(|e| Error::Input(format!("{flag} {}: cannot create the directory: {e}", d.display())))?;
    }
    spikeworld::output::check_out_dir(out).map_err(|e| Error::Input(format!("--out {e}")))
}

/// A time given on the command line (`500ms`, `1.5 s`) as a whole number of steps.
pub(crate) fn time_steps(flag: &str, text: &str, dt: f64) -> Result<u64> {
    let ms = spikeworld::util::units::parse_quantity(text, Dim::Time).map_err(|m| Error::Input(format!("{flag} {text}: {m}")))?;
    if ms.is_nan() || ms < 0.0 {
        return Err(Error::Input(format!("{flag} {text}: must be a time >= 0")));
    }
    if ms / dt > spikeworld::scenario::MAX_STEPS as f64 {
        return Err(Error::Input(format!("{flag} {text}: {:e} steps of dt = {dt} ms; at most 2^53", ms / dt)));
    }
    spikeworld::scenario::steps_of(ms, dt)
        .ok_or_else(|| Error::Input(format!("{flag} {text}: not a whole number of steps of dt = {dt} ms")))
}

/// When and where a run saves its state, and how many checkpoints it keeps.
pub(crate) struct CheckpointPlan {
    pub(crate) every: Option<u64>,
    pub(crate) dir: PathBuf,
    pub(crate) keep: usize,
}

pub(crate) fn checkpoint_plan(a: &CheckpointArgs, out: &std::path::Path, dt: f64, stopping: bool) -> Result<Option<CheckpointPlan>> {
    if a.keep == 0 {
        return Err(Error::Input("--keep must be at least 1".into()));
    }
    let every = match &a.checkpoint_every {
        None => None,
        Some(t) => match time_steps("--checkpoint-every", t, dt)? {
            0 => return Err(Error::Input(format!("--checkpoint-every {t}: must be at least one step ({dt} ms)"))),
            k => Some(k),
        },
    };
    if every.is_none() && a.checkpoint_dir.is_none() && !stopping {
        return Ok(None);
    }
    let dir = a.checkpoint_dir.clone().unwrap_or_else(|| out.join("checkpoints"));
    Ok(Some(CheckpointPlan { every, dir, keep: a.keep }))
}

/// Where Ctrl-C saves the state: the checkpoint directory (default OUT/checkpoints).
pub(crate) fn interrupt_plan(a: &CheckpointArgs, out: &Path) -> CheckpointPlan {
    CheckpointPlan { every: None, dir: a.checkpoint_dir.clone().unwrap_or_else(|| out.join("checkpoints")), keep: a.keep.max(1) }
}

pub(crate) fn write_checkpoint(sim: &Sim, plan: &CheckpointPlan) -> Result<spikeworld::persist::Saved> {
    use spikeworld::persist as checkpoint;
    std::fs::create_dir_all(&plan.dir).map_err(|e| Error::io(&plan.dir, e))?;
    let saved = sim.save(&plan.dir.join(checkpoint::file_name(sim.step_count())))?;
    if !sim.writes_outputs() {
        // Under MPI, process 0 wrote the file and keeps the directory.
        return Ok(saved);
    }
    // Only once the new one is complete, the oldest beyond `keep` go; never the new one,
    // even when the directory holds later steps of an earlier run.
    let others: Vec<_> = checkpoint::list(&plan.dir).map_err(|e| Error::io(&plan.dir, e))?.into_iter().filter(|(_, p)| *p != saved.path).collect();
    let keep_others = plan.keep.saturating_sub(1);
    if others.len() > keep_others {
        for (_, p) in &others[..others.len() - keep_others] {
            std::fs::remove_file(p).map_err(|e| Error::io(p, e))?;
        }
    }
    for p in checkpoint::stale_temporaries(&plan.dir) {
        let _ = std::fs::remove_file(p);
    }
    Ok(saved)
}
