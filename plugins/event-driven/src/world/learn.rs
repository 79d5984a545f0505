//! `[tempotron]`: Gütig & Sompolinsky's random-pattern task as a scenario, trained by
//! `spikeworld train` with the GS rule on exact (event-driven) V_max, a checkpoint per
//! epoch that resumes bit for bit, and the same outputs as the surrogate-gradient learner
//! (`weights.npy`, `curve.csv`, `train.json`).
//!
//! ```toml
//! [tempotron]
//! n_afferents = 500      # N
//! patterns = 500         # P (α = P/N)
//! t_end = "500 ms"       # T: each afferent fires once, uniformly in [0, T)
//! tau = "15 ms"
//! tau_s = "3.75 ms"
//! theta = 1.0
//! lr = 1e-3              # λ (GS rule)
//! momentum = 0.99        # μ (0: plain GS rule)
//! w_init_sigma = 1e-3
//! epochs = 200           # at most; training stops after an epoch without an error
//! seed = 1               # default: the scenario's
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy_ecs::prelude::{Resource, World};
use spikeworld::api::addon::{ScenarioTable, TableConfig, TableCtx};
use spikeworld::prelude::*;
use spikeworld::util::fsio::{read_blocks, write_blocks};
use spikeworld::util::table::{Table, node_count};

use crate::pattern_task::{PatternTaskConfig, Trainer};

/// The parsed `[tempotron]` table (a resource of the built world).
#[derive(Resource, Clone, Debug)]
pub struct TempotronTask(pub PatternTaskConfig);

impl TableConfig for TempotronTask {
    fn insert(&self, world: &mut World) {
        world.insert_resource(self.clone());
    }
}

/// The `[tempotron]` table.
pub struct TempotronTable;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("n_afferents", Dim::Dimensionless, 500.0, "N afferents (each fires once per pattern)"),
    ParamSpec::new("patterns", Dim::Dimensionless, 500.0, "P random patterns (α = P/N), labels ± with probability 1/2"),
    ParamSpec::new("t_end", Dim::Time, 500.0, "T: spike times uniform in [0, T)"),
    ParamSpec::new("tau", Dim::Time, 15.0, "membrane time constant of the kernel"),
    ParamSpec::new("tau_s", Dim::Time, 3.75, "synaptic time constant of the kernel"),
    ParamSpec::new("theta", Dim::Dimensionless, 1.0, "threshold (the kernel's peak is 1)"),
    ParamSpec::new("lr", Dim::Dimensionless, 1e-3, "λ of the GS rule"),
    ParamSpec::new("momentum", Dim::Dimensionless, 0.99, "μ in [0, 1) (0: plain GS rule)"),
    ParamSpec::new("w_init_sigma", Dim::Dimensionless, 1e-3, "standard deviation of the initial weights"),
    ParamSpec::new("epochs", Dim::Dimensionless, 200.0, "most epochs (training stops after an epoch without an error)"),
    ParamSpec::new("seed", Dim::Dimensionless, 0.0, "seed of the patterns, labels, weights and order (default: the scenario's)"),
];

impl ScenarioTable for TempotronTable {
    fn name(&self) -> &'static str {
        "tempotron"
    }
    fn doc(&self) -> &'static str {
        "Gütig & Sompolinsky's random-pattern task for one tempotron, trained by `spikeworld train` (GS rule, exact V_max)"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &TableCtx) -> Result<Arc<dyn TableConfig>, ScenarioError> {
        let d = PatternTaskConfig::default();
        let count = |t: &mut Table<'_>, key: &str, default: u64, min: u64| -> Result<u64, ScenarioError> {
            match t.get(key) {
                None => Ok(default),
                Some(n) => {
                    let v = node_count(n, &t.key_path(key))?;
                    if v < min || v > u32::MAX as u64 {
                        return Err(t.err(n, key, format!("must be {min} to 2^32 - 1")));
                    }
                    Ok(v)
                }
            }
        };
        let n_afferents = count(t, "n_afferents", d.n_afferents as u64, 1)? as usize;
        let n_patterns = count(t, "patterns", d.n_patterns as u64, 1)? as usize;
        let max_epochs = count(t, "epochs", d.max_epochs as u64, 1)? as usize;
        let seed = match t.get("seed") {
            None => ctx.seed,
            Some(n) => node_count(n, &t.key_path("seed"))?,
        };
        let num = |t: &mut Table<'_>, key: &str, dim: Dim, default: f64, ok: fn(f64) -> bool, what: &str| -> Result<f64, ScenarioError> {
            match t.opt_quantity(key, dim)? {
                None => Ok(default),
                Some((v, _)) if ok(v) => Ok(v),
                Some((_, n)) => Err(t.err(n, key, format!("must be {what}"))),
            }
        };
        let pos = |v: f64| v.is_finite() && v > 0.0;
        let cfg = PatternTaskConfig {
            n_afferents,
            n_patterns,
            t_end: num(t, "t_end", Dim::Time, d.t_end, pos, "a positive time")?,
            tau: num(t, "tau", Dim::Time, d.tau, pos, "a positive time")?,
            tau_s: num(t, "tau_s", Dim::Time, d.tau_s, pos, "a positive time")?,
            theta: num(t, "theta", Dim::Dimensionless, d.theta, pos, "positive")?,
            lr: num(t, "lr", Dim::Dimensionless, d.lr, pos, "positive")?,
            momentum: num(t, "momentum", Dim::Dimensionless, d.momentum, |v| (0.0..1.0).contains(&v), "in [0, 1)")?,
            w_init_sigma: num(t, "w_init_sigma", Dim::Dimensionless, d.w_init_sigma, |v| v.is_finite() && v >= 0.0, "at least 0")?,
            max_epochs,
            seed,
        };
        // The kernel needs tau != tau_s: checked here, at the key.
        if let Err(e) = cfg.tempotron() {
            return Err(spikeworld::util::table::err_at(t.loc(), t.key_path("tau_s"), e.to_string()));
        }
        Ok(Arc::new(TempotronTask(cfg)))
    }
}

/// One epoch's numbers.
#[derive(Clone, Copy, Debug)]
pub struct TempotronEpoch {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Fraction classified correctly while presented.
    pub accuracy: f64,
    /// Errors in the epoch.
    pub errors: usize,
}

const MAGIC: &[u8; 8] = b"SWTEMPO1";

/// Trains the task; writes `checkpoint_dir/epoch_NNNN.swtt` after every epoch (the last
/// two kept) and resumes from `resume`. Returns the final accuracy (all patterns with the
/// final weights), whether an error-free epoch was reached, the weights and the curve.
pub fn train_tempotron(
    task: &TempotronTask,
    fingerprint: &str,
    checkpoint_dir: Option<&Path>,
    resume: Option<&Path>,
    mut progress: impl FnMut(TempotronEpoch),
) -> Result<(f64, bool, Vec<f64>, Vec<f64>), String> {
    let cfg = &task.0;
    let (pats, labels) = cfg.patterns().map_err(|e| e.to_string())?;
    let mut tr = Trainer::new(cfg, &pats, &labels).map_err(|e| e.to_string())?;
    if let Some(path) = resume {
        let (fp, w, vel, acc) = read_checkpoint(path)?;
        if fp != fingerprint {
            return Err(format!("`{}` was written for another scenario or other overrides ({fp}; this run: {fingerprint})", path.display()));
        }
        tr.resume(w, vel, acc).map_err(|e| format!("`{}`: {e}", path.display()))?;
    }
    let mut solved = tr.accuracy.last() == Some(&1.0);
    while !solved && tr.epoch < cfg.max_epochs {
        let errors = tr.run_epoch().map_err(|e| e.to_string())?;
        solved = errors == 0;
        progress(TempotronEpoch { epoch: tr.epoch, accuracy: *tr.accuracy.last().expect("an epoch ran"), errors });
        if let Some(dir) = checkpoint_dir {
            write_checkpoint(&dir.join(format!("epoch_{:04}.swtt", tr.epoch)), fingerprint, &tr.w, &tr.vel, &tr.accuracy)?;
            if tr.epoch >= 3 {
                let _ = std::fs::remove_file(dir.join(format!("epoch_{:04}.swtt", tr.epoch - 2)));
            }
        }
    }
    let final_accuracy = tr.evaluate().map_err(|e| e.to_string())?;
    Ok((final_accuracy, solved, tr.w, tr.accuracy))
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn write_checkpoint(path: &Path, fingerprint: &str, w: &[f64], vel: &[f64], acc: &[f64]) -> Result<(), String> {
    write_blocks(path, MAGIC, &[fingerprint.as_bytes(), &f64_bytes(w), &f64_bytes(vel), &f64_bytes(acc)]).map_err(|e| e.to_string())
}

type Saved = (String, Vec<f64>, Vec<f64>, Vec<f64>);

/// (fingerprint, weights, velocities, accuracies) of a checkpoint.
fn read_checkpoint(path: &Path) -> Result<Saved, String> {
    let shown = path.display();
    let mut blocks = read_blocks(path, MAGIC, 4)?.into_iter();
    let fp = String::from_utf8(blocks.next().expect("four blocks")).map_err(|_| format!("`{shown}`: bad header"))?;
    let mut floats = || -> Result<Vec<f64>, String> {
        let b = blocks.next().expect("four blocks");
        if b.len() % 8 != 0 {
            return Err(format!("`{shown}` is corrupt (a block of {} bytes is not f64s)", b.len()));
        }
        Ok(b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    };
    Ok((fp, floats()?, floats()?, floats()?))
}

/// Writes `weights.npy` ([N]), `curve.csv` and `train.json`; returns their paths.
pub fn write_tempotron_outputs(dir: &Path, w: &[f64], curve: &[f64], final_accuracy: f64, solved: bool, cfg: &PatternTaskConfig) -> Result<Vec<PathBuf>, String> {
    let p = dir.join("weights.npy");
    spikeworld::output::write_npy_f64(&p, &[w.len() as u64], w).map_err(|e| e.to_string())?;
    let mut csv = String::from("epoch,accuracy\n");
    for (e, a) in curve.iter().enumerate() {
        csv.push_str(&format!("{},{a}\n", e + 1));
    }
    let c = dir.join("curve.csv");
    spikeworld::util::fsio::write_atomic(&c, |o| std::io::Write::write_all(o, csv.as_bytes())).map_err(|e| e.to_string())?;
    let json = serde_json::to_vec_pretty(&serde_json::json!({
        "learner": "tempotron",
        "n_afferents": cfg.n_afferents,
        "patterns": cfg.n_patterns,
        "alpha": cfg.n_patterns as f64 / cfg.n_afferents as f64,
        "epochs": curve.len(),
        "solved": solved,
        "final_accuracy": final_accuracy,
        "curve": curve,
    }))
    .map_err(|e| e.to_string())?;
    let j = dir.join("train.json");
    spikeworld::util::fsio::write_atomic(&j, |o| std::io::Write::write_all(o, &json)).map_err(|e| e.to_string())?;
    Ok(vec![p, c, j])
}
