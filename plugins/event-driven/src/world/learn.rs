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
//!
//! Or a labelled dataset (then `K` tempotrons, one per class, trained by the seed's
//! `mse_loss` on V_max with minibatch SGD and momentum: [`crate::class_task`]):
//!
//! ```toml
//! [tempotron]
//! x = "../data/digits/x.npy"   # features [P, n] → Gaussian tuning (relative to the scenario)
//! # spikes = "times.npy"       # or spike times [P, N] (ms; < 0 or NaN: no spike)
//! y = "../data/digits/y.npy"   # labels [P], 0 .. classes − 1
//! tuning = 6                   # neurons per feature (x only)
//! t_end = "50 ms"              # T: the tuning's spike times are in [0, T)
//! test_count = 297             # the last samples of the file, held out
//! batch_size = 16
//! lr = 0.05
//! momentum = 0.9
//! w_init_sigma = 0.01
//! epochs = 10
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy_ecs::prelude::{Resource, World};
use spikeworld::api::addon::{ScenarioTable, TableConfig, TableCtx};
use spikeworld::prelude::*;
use spikeworld::util::fsio::{read_blocks, write_blocks};
use spikeworld::util::table::{Table, node_count};

use crate::class_task::{ClassConfig, ClassTrainer, PatternSet, class_accuracy, feature_ranges, read_labels};
use crate::gaussian_tuning::GaussianTuning;
use crate::pattern_task::{PatternTaskConfig, Trainer};

/// Where a `[tempotron]` table's samples come from, when not from the pattern generator.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSpec {
    /// Features `[P, n]`, Gaussian-tuned (relative to the scenario's directory).
    pub x: Option<String>,
    /// Or spike times `[P, N]`.
    pub spikes: Option<String>,
    /// Labels `[P]`.
    pub y: String,
    /// Tuning neurons per feature.
    pub tuning: usize,
    /// Whether tuned spike times are rounded to whole ms (the seed's `round`).
    pub round_times: bool,
    /// Classes (default: the largest label + 1).
    pub classes: Option<usize>,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// The last samples of the file, held out for testing.
    pub test_count: usize,
    /// Where `test_count` is written (the table when it is not): its error, known once the
    /// file is read, is located there.
    pub test_count_at: spikeworld::util::error::Loc,
}

/// The parsed `[tempotron]` table (a resource of the built world): the kernel, learning
/// rate, momentum, initial weights, epochs and seed in `cfg`; `data` for a dataset
/// (`cfg`'s `n_afferents` and `n_patterns` then unused).
#[derive(Resource, Clone, Debug)]
pub struct TempotronTask {
    /// The task's parameters (the random-pattern task's, or the shared ones).
    pub cfg: PatternTaskConfig,
    /// A labelled dataset instead of random patterns.
    pub data: Option<DataSpec>,
}

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
    ParamSpec::optional("x", Dim::Dimensionless, "dataset: features .npy [P, n], Gaussian-tuned into spike times (relative to the scenario); K tempotrons trained by mse_loss"),
    ParamSpec::optional("spikes", Dim::Dimensionless, "dataset: spike times .npy [P, N] in ms (< 0 or NaN: no spike)"),
    ParamSpec::optional("y", Dim::Dimensionless, "dataset: labels .npy [P], 0 .. classes - 1"),
    ParamSpec::new("tuning", Dim::Dimensionless, 6.0, "dataset x: Gaussian tuning neurons per feature (> 2)"),
    ParamSpec::optional("round_times", Dim::Dimensionless, "dataset x: round tuned spike times to whole ms as the seed (default true)"),
    ParamSpec::optional("classes", Dim::Dimensionless, "dataset: classes (default: the largest label + 1)"),
    ParamSpec::new("batch_size", Dim::Dimensionless, 16.0, "dataset: samples per gradient step"),
    ParamSpec::new("test_count", Dim::Dimensionless, 0.0, "dataset: the last samples of the file, held out for testing"),
];

impl ScenarioTable for TempotronTable {
    fn name(&self) -> &'static str {
        "tempotron"
    }
    fn doc(&self) -> &'static str {
        "tempotrons trained by `spikeworld train` on exact V_max: Gütig & Sompolinsky's random-pattern task for one tempotron (GS rule), or a labelled dataset (x or spikes, and y) for one tempotron per class (SpikingFlow's mse_loss)"
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
        let x = t.opt_str("x")?.map(|(v, _)| v.to_string());
        let spikes = t.opt_str("spikes")?;
        let y = t.opt_str("y")?;
        let tuning = count(t, "tuning", 6, 3)? as usize;
        let round_times = t.opt_bool("round_times")?.unwrap_or(true);
        let classes = match t.get("classes") {
            None => None,
            Some(_) => Some(count(t, "classes", 2, 1)? as usize),
        };
        let batch_size = count(t, "batch_size", 16, 1)? as usize;
        let test_count = count(t, "test_count", 0, 0)? as usize;
        let test_count_at = t.get("test_count").map_or_else(|| t.loc().clone(), |n| n.loc.clone());
        let data = match (x, spikes, y) {
            (None, None, None) => {
                for key in ["tuning", "round_times", "classes", "batch_size", "test_count"] {
                    if let Some(n) = t.get(key) {
                        return Err(t.err(n, key, "belongs to a dataset (x or spikes, and y); the random-pattern task has none"));
                    }
                }
                None
            }
            (Some(_), Some((_, n)), _) => return Err(t.err(n, "spikes", "give either x (features) or spikes (spike times), not both")),
            (None, None, Some((_, n))) => return Err(t.err(n, "y", "labels need samples: x (features) or spikes (spike times)")),
            (x, _, None) => {
                let key = if x.is_some() { "x" } else { "spikes" };
                return Err(spikeworld::util::table::err_at(t.loc(), t.key_path("y"), format!("{key} needs its labels: y = \"labels.npy\"")));
            }
            (x, spikes, Some((y, _))) => {
                for key in ["n_afferents", "patterns"] {
                    if let Some(n) = t.get(key) {
                        return Err(t.err(n, key, "belongs to the random-pattern task; a dataset's samples set it"));
                    }
                }
                if spikes.is_some() && (t.get("tuning").is_some() || t.get("round_times").is_some()) {
                    let n = t.get("tuning").or(t.get("round_times")).expect("one is there");
                    return Err(t.err(n, "tuning", "Gaussian tuning applies to features (x), not to spike times"));
                }
                Some(DataSpec { x, spikes: spikes.map(|(v, _)| v.to_string()), y: y.to_string(), tuning, round_times, classes, batch_size, test_count, test_count_at })
            }
        };
        Ok(Arc::new(TempotronTask { cfg, data }))
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
    /// Mean minibatch loss (datasets; NaN for the random-pattern task's GS rule).
    pub loss: f64,
}

/// What a tempotron training run ends with.
#[derive(Clone, Debug, PartialEq)]
pub struct TempotronOutcome {
    /// Fraction of the training samples classified correctly with the final weights.
    pub final_accuracy: f64,
    /// The same on the held-out samples, if any.
    pub test_accuracy: Option<f64>,
    /// Random-pattern task: an epoch without an error was reached.
    pub solved: bool,
    /// Weights, row-major `shape`: `[N]` (one tempotron) or `[K, N]`.
    pub weights: Vec<f64>,
    /// The weights' shape.
    pub shape: Vec<u64>,
    /// Per epoch: accuracy while presented.
    pub curve: Vec<f64>,
    /// Per epoch: mean loss (datasets only).
    pub loss: Vec<f64>,
}

const MAGIC: &[u8; 8] = b"SWTEMPO3";
const MAGIC_CLASSES: &[u8; 8] = b"SWTEMPC3";

/// Trains the task; writes `checkpoint_dir/epoch_NNNN.swtt` after every epoch (the last
/// two kept) and resumes from `resume`. A dataset's paths are relative to `scenario`'s
/// directory.
pub fn train_tempotron(
    task: &TempotronTask,
    scenario: &Path,
    fingerprint: &str,
    checkpoint_dir: Option<&Path>,
    resume: Option<&Path>,
    progress: impl FnMut(TempotronEpoch),
) -> Result<TempotronOutcome, String> {
    match &task.data {
        None => train_patterns(&task.cfg, fingerprint, checkpoint_dir, resume, progress),
        Some(d) => train_classes(&task.cfg, d, scenario, fingerprint, checkpoint_dir, resume, progress),
    }
}

fn keep_last_two(dir: &Path, epoch: usize) {
    if epoch >= 3 {
        let _ = std::fs::remove_file(dir.join(format!("epoch_{:04}.swtt", epoch - 2)));
    }
}

fn train_patterns(cfg: &PatternTaskConfig, fingerprint: &str, checkpoint_dir: Option<&Path>, resume: Option<&Path>, mut progress: impl FnMut(TempotronEpoch)) -> Result<TempotronOutcome, String> {
    let (pats, labels) = cfg.patterns().map_err(|e| e.to_string())?;
    let mut tr = Trainer::new(cfg, &pats, &labels).map_err(|e| e.to_string())?;
    if let Some(path) = resume {
        let mut b = read_checkpoint(path, MAGIC, 3, fingerprint)?.into_iter();
        let mut next = || b.next().expect("three blocks");
        let (w, vel, acc) = (next(), next(), next());
        tr.resume(w, vel, acc).map_err(|e| format!("`{}`: {e}", path.display()))?;
    }
    let mut solved = tr.accuracy.last() == Some(&1.0);
    while !solved && tr.epoch < cfg.max_epochs {
        let errors = tr.run_epoch().map_err(|e| e.to_string())?;
        solved = errors == 0;
        progress(TempotronEpoch { epoch: tr.epoch, accuracy: *tr.accuracy.last().expect("an epoch ran"), errors, loss: f64::NAN });
        if let Some(dir) = checkpoint_dir {
            write_checkpoint(&dir.join(format!("epoch_{:04}.swtt", tr.epoch)), MAGIC, fingerprint, &[&tr.w, &tr.vel, &tr.accuracy])?;
            keep_last_two(dir, tr.epoch);
        }
    }
    let final_accuracy = tr.evaluate().map_err(|e| e.to_string())?;
    let n = tr.w.len() as u64;
    Ok(TempotronOutcome { final_accuracy, test_accuracy: None, solved, weights: tr.w, shape: vec![n], curve: tr.accuracy, loss: Vec::new() })
}

/// A dataset's samples as patterns: (all of them, afferents).
pub fn load_dataset(d: &DataSpec, t_end: f64, scenario: &Path) -> Result<PatternSet, String> {
    let dir = scenario.parent().unwrap_or(Path::new("."));
    let y = read_labels(&dir.join(&d.y))?;
    let read = |rel: &str| -> Result<spikeworld::util::npy::NpyArray, String> {
        let a = spikeworld::util::npy::read_npy_f64(&dir.join(rel), None)?;
        if a.shape.len() != 2 || a.shape[0] != y.len() || a.shape[1] == 0 {
            return Err(format!("`{}` has shape {:?}; expected [{}, width] (one row per label of `{}`)", dir.join(rel).display(), a.shape, y.len(), d.y));
        }
        Ok(a)
    };
    if let Some(x) = &d.x {
        let a = read(x)?;
        let n = a.shape[1];
        let (lo, hi) = feature_ranges(&a.values, n);
        let g = GaussianTuning::new(d.tuning, &lo, &hi).map_err(|e| format!("`{x}`: {e}"))?;
        PatternSet::from_features(&a.values, &g, t_end, d.round_times, y).map_err(|e| format!("`{x}`: {e}"))
    } else {
        let sp = d.spikes.as_deref().expect("x or spikes, checked at parse");
        let a = read(sp)?;
        let times: Vec<f64> = a.values.iter().map(|&v| if v.is_nan() { -1.0 } else { v }).collect();
        if let Some(v) = times.iter().find(|v| v.is_infinite()) {
            return Err(format!("`{sp}`: a spike time is {v}; expected a finite time, or < 0 / NaN for none"));
        }
        PatternSet::from_spike_times(&times, a.shape[1], y).map_err(|e| format!("`{sp}`: {e}"))
    }
}

fn train_classes(cfg: &PatternTaskConfig, d: &DataSpec, scenario: &Path, fingerprint: &str, checkpoint_dir: Option<&Path>, resume: Option<&Path>, mut progress: impl FnMut(TempotronEpoch)) -> Result<TempotronOutcome, String> {
    let (all, files) = spikeworld::util::inputs::collecting(|| load_dataset(d, cfg.t_end, scenario));
    let all = all?;
    // The dataset's files are part of what a checkpoint belongs to.
    let digests: Vec<&str> = files.iter().map(|(_, d)| d.as_str()).collect();
    let fingerprint = &format!("{fingerprint} data {}", digests.join(","));
    let max_label = all.labels.iter().copied().max().unwrap_or(0);
    let classes = d.classes.unwrap_or(max_label + 1);
    if max_label >= classes {
        return Err(format!("`{}`: label {max_label} with tempotron.classes = {classes}", d.y));
    }
    let n = all.n_afferents();
    let samples = all.labels.len();
    let (train, test) = all.split(d.test_count).map_err(|e| spikeworld::util::table::err_at(&d.test_count_at, "tempotron.test_count", format!("{e} (the dataset holds {samples} samples)")).to_string())?;
    let t = cfg.tempotron().map_err(|e| e.to_string())?;
    let cc = ClassConfig { classes, lr: cfg.lr, momentum: cfg.momentum, batch_size: d.batch_size, w_init_sigma: cfg.w_init_sigma, seed: cfg.seed };
    let mut tr = ClassTrainer::new(cc, t.clone(), &train).map_err(|e| e.to_string())?;
    let rows = |flat: Vec<f64>| -> Vec<Vec<f64>> { flat.chunks(n.max(1)).map(<[f64]>::to_vec).collect() };
    if let Some(path) = resume {
        let mut b = read_checkpoint(path, MAGIC_CLASSES, 4, fingerprint)?.into_iter();
        let mut next = || b.next().expect("four blocks");
        let (w, vel, loss, acc) = (rows(next()), rows(next()), next(), next());
        tr.resume(w, vel, loss, acc).map_err(|e| format!("`{}`: {e}", path.display()))?;
    }
    while tr.epoch() < cfg.max_epochs {
        let (loss, accuracy) = tr.run_epoch().map_err(|e| e.to_string())?;
        if !loss.is_finite() {
            return Err(format!("the loss became {loss} at epoch {} (lower tempotron.lr?)", tr.epoch()));
        }
        let errors = ((1.0 - accuracy) * train.labels.len() as f64).round() as usize;
        progress(TempotronEpoch { epoch: tr.epoch(), accuracy, errors, loss });
        if let Some(dir) = checkpoint_dir {
            let (w, vel): (Vec<f64>, Vec<f64>) = (tr.w.concat(), tr.vel.concat());
            write_checkpoint(&dir.join(format!("epoch_{:04}.swtt", tr.epoch())), MAGIC_CLASSES, fingerprint, &[&w, &vel, &tr.loss, &tr.accuracy])?;
            keep_last_two(dir, tr.epoch());
        }
    }
    let final_accuracy = class_accuracy(&t, &train, &tr.w).map_err(|e| e.to_string())?;
    let test_accuracy = if test.labels.is_empty() { None } else { Some(class_accuracy(&t, &test, &tr.w).map_err(|e| e.to_string())?) };
    let solved = final_accuracy == 1.0;
    Ok(TempotronOutcome { final_accuracy, test_accuracy, solved, weights: tr.w.concat(), shape: vec![classes as u64, n as u64], curve: tr.accuracy, loss: tr.loss })
}

fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn write_checkpoint(path: &Path, magic: &[u8; 8], fingerprint: &str, arrays: &[&[f64]]) -> Result<(), String> {
    let bytes: Vec<Vec<u8>> = arrays.iter().map(|a| f64_bytes(a)).collect();
    let mut blocks: Vec<&[u8]> = vec![fingerprint.as_bytes()];
    blocks.extend(bytes.iter().map(Vec::as_slice));
    write_blocks(path, magic, &blocks).map_err(|e| e.to_string())
}

/// The `n` f64 arrays of a checkpoint written for `fingerprint`.
fn read_checkpoint(path: &Path, magic: &[u8; 8], n: usize, fingerprint: &str) -> Result<Vec<Vec<f64>>, String> {
    let shown = path.display();
    let mut blocks = read_blocks(path, magic, n + 1)?.into_iter();
    let fp = String::from_utf8(blocks.next().expect("n + 1 blocks")).map_err(|_| format!("`{shown}`: bad header"))?;
    if fp != fingerprint {
        return Err(format!("`{shown}` was written for another scenario, other overrides, another seed or other input files ({fp}; this run: {fingerprint})"));
    }
    blocks
        .map(|b| {
            if b.len() % 8 != 0 {
                return Err(format!("`{shown}` is corrupt (a block of {} bytes is not f64s)", b.len()));
            }
            Ok(b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
        })
        .collect()
}

/// Writes `weights.npy` (`[N]` or `[K, N]`), `curve.csv` and `train.json`; returns their
/// paths.
pub fn write_tempotron_outputs(dir: &Path, o: &TempotronOutcome, task: &TempotronTask) -> Result<Vec<PathBuf>, String> {
    let p = dir.join("weights.npy");
    spikeworld::output::write_npy_f64(&p, &o.shape, &o.weights).map_err(|e| e.to_string())?;
    let mut csv = String::from(if o.loss.is_empty() { "epoch,accuracy\n" } else { "epoch,accuracy,loss\n" });
    for (e, a) in o.curve.iter().enumerate() {
        match o.loss.get(e) {
            Some(l) => csv.push_str(&format!("{},{a},{l}\n", e + 1)),
            None => csv.push_str(&format!("{},{a}\n", e + 1)),
        }
    }
    let c = dir.join("curve.csv");
    spikeworld::util::fsio::write_atomic(&c, |out| std::io::Write::write_all(out, csv.as_bytes())).map_err(|e| e.to_string())?;
    let cfg = &task.cfg;
    let mut json = serde_json::json!({
        "learner": "tempotron",
        "epochs": o.curve.len(),
        "final_accuracy": o.final_accuracy,
        "curve": o.curve,
    });
    match &task.data {
        None => {
            json["rule"] = "gs".into();
            json["n_afferents"] = cfg.n_afferents.into();
            json["patterns"] = cfg.n_patterns.into();
            json["alpha"] = (cfg.n_patterns as f64 / cfg.n_afferents as f64).into();
            json["solved"] = o.solved.into();
        }
        Some(d) => {
            json["rule"] = "mse_loss".into();
            json["weights_shape"] = o.shape.clone().into();
            json["test_count"] = d.test_count.into();
            json["test_accuracy"] = o.test_accuracy.into();
            json["loss"] = o.loss.clone().into();
        }
    }
    let bytes = serde_json::to_vec_pretty(&json).map_err(|e| e.to_string())?;
    let j = dir.join("train.json");
    spikeworld::util::fsio::write_atomic(&j, |out| std::io::Write::write_all(out, &bytes)).map_err(|e| e.to_string())?;
    Ok(vec![p, c, j])
}
