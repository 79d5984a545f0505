//! `spikeworld train SCENARIO`: surrogate-gradient training of a scenario's network (its
//! `[train]` table), with a progress bar, the trained weights as `.npy`, the learning curve
//! and `train.json`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use spikeworld::prelude::*;
use spikeworld::{Error, Result};
use spikeworld_event_driven::world::learn::{TempotronTask, train_tempotron, write_tempotron_outputs};
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::fused::TrainBackend;
use spikeworld_train_surrogate::train::{EpochStats, Progress, TrainOptions, train_on, write_outputs};

/// Where `[train]` runs (`--device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TrainDevice {
    /// burn's flex backend on the CPU.
    Flex,
    /// burn-cuda, GPU 0 (a build with `--features cuda`).
    Cuda,
    /// burn-wgpu's default device (a build with `--features wgpu`).
    Wgpu,
}

impl TrainDevice {
    fn name(self) -> &'static str {
        match self {
            TrainDevice::Flex => "flex",
            TrainDevice::Cuda => "cuda",
            TrainDevice::Wgpu => "wgpu",
        }
    }

    /// Whether this build has the device's backend (its Cargo feature).
    fn built(self) -> bool {
        match self {
            TrainDevice::Flex => true,
            TrainDevice::Cuda => cfg!(feature = "cuda"),
            TrainDevice::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    fn not_built(self) -> Error {
        Error::Input(format!("--device {0}: this build has no {0} backend: rebuild with `--features {0}`", self.name()))
    }
}

/// While `train` trains: the folder of its checkpoints, the command that resumes from one,
/// and when training started (older checkpoints there are an earlier run's).
struct Training {
    dir: PathBuf,
    command: String,
    since: std::time::SystemTime,
}

static TRAINING: Mutex<Option<Training>> = Mutex::new(None);

/// From now until [`training_done`], Ctrl-C, SIGTERM and SIGHUP stop training at once,
/// naming the last epoch's checkpoint in `out`/checkpoints and `command --resume` it.
pub(crate) fn on_interrupt_resume(out: &Path, command: String) {
    let t = Training { dir: out.join("checkpoints"), command, since: std::time::SystemTime::now() };
    *TRAINING.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(t);
}

/// Training is over (its outputs are being written): an interrupt is a run's again.
pub(crate) fn training_done() {
    *TRAINING.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}

/// `spikeworld train` with the arguments that make the same run (seed, overrides, device,
/// memory limit, outputs), each quoted for a POSIX shell where it needs it.
pub(crate) fn resume_command(scenario: &Path, out: &Path, seed: Option<u64>, set: &[String], device: TrainDevice, max_memory: Option<&str>) -> String {
    let quote = |a: &str| {
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c)) { a.to_string() } else { format!("'{}'", a.replace('\'', "'\\''")) }
    };
    let mut c = format!("spikeworld train {} --out {}", quote(&scenario.display().to_string()), quote(&out.display().to_string()));
    if let Some(s) = seed {
        c += &format!(" --seed {s}");
    }
    for s in set {
        c += &format!(" --set {}", quote(s));
    }
    if device != TrainDevice::Flex {
        c += &format!(" --device {}", device.name());
    }
    if let Some(m) = max_memory {
        c += &format!(" --max-memory {}", quote(m));
    }
    c
}

/// The epoch of a checkpoint's file name (`epoch_0012.swtr`: 12).
fn epoch_of(name: &str) -> Option<u64> {
    name.strip_prefix("epoch_")?.strip_suffix(".swtr").or_else(|| name.strip_prefix("epoch_")?.strip_suffix(".swtt"))?.parse().ok()
}

/// Called by the interrupt handler: during training, says where training can resume from
/// (a checkpoint holds whole epochs: the epoch under way is lost), removes a checkpoint
/// being written, and ends the process with 130 at once (`_exit`: no destructor or exit
/// handler runs beside the training threads); otherwise returns.
#[cfg_attr(unix, expect(unsafe_code, reason = "libc's _exit: ends the process without running exit handlers while other threads still train"))]
pub(crate) fn stop_training() {
    let guard = TRAINING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(t) = guard.as_ref() else { return };
    let entries: Vec<(String, Option<std::time::SystemTime>)> = std::fs::read_dir(&t.dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().and_then(|m| m.modified()).ok())).collect())
        .unwrap_or_default();
    // A checkpoint being written (`.epoch_N.swtr.tmp-PID`) would stay behind.
    let tmp = format!(".tmp-{}", std::process::id());
    for (name, _) in entries.iter().filter(|(n, _)| n.starts_with(".epoch_") && n.ends_with(&tmp)) {
        let _ = std::fs::remove_file(t.dir.join(name));
    }
    // The newest finished checkpoint of this training (written whole, then renamed: never
    // a partial file), not one an earlier run left in the folder.
    let newest = entries.iter().filter(|(_, m)| m.is_some_and(|m| m >= t.since)).filter_map(|(n, _)| epoch_of(n).map(|e| (e, n))).max();
    match newest {
        Some((_, name)) => {
            let p = t.dir.join(name);
            warn_user!("\ninterrupted: training stopped (the epoch under way is not kept); the last finished epoch is {}; continue with: {} --resume {}", p.display(), t.command, p.display());
        }
        None => warn_user!("\ninterrupted before this training finished an epoch: nothing to resume from"),
    }
    #[cfg(unix)]
    // SAFETY: `_exit` ends the process; it has no precondition.
    unsafe {
        libc::_exit(crate::EXIT_INTERRUPTED)
    }
    #[cfg(not(unix))]
    std::process::exit(crate::EXIT_INTERRUPTED);
}

/// Trains `sim`'s network into `out` on `device`; prints one line per epoch unless `quiet`.
pub fn run_train(sim: &Sim, out: &Path, quiet: bool, resume: Option<std::path::PathBuf>, device: TrainDevice) -> Result<i32> {
    let t0 = Instant::now();
    let checkpoints = out.join("checkpoints");
    let tempotron = sim.world.get_resource::<TempotronTask>().cloned();
    let cfg = sim.world.get_resource::<TrainConfig>().cloned();
    if tempotron.is_none() && cfg.is_none() {
        return Err(Error::Input(format!(
            "{}: no [train] (surrogate gradients) or [tempotron] table: nothing to train (see plugins/train-surrogate/README.md)",
            sim.scenario.path.display()
        )));
    }
    if tempotron.is_some() && cfg.is_some() {
        return Err(Error::Input(format!("{}: both [train] and [tempotron]: one learner per scenario", sim.scenario.path.display())));
    }
    if tempotron.is_some() && device != TrainDevice::Flex {
        return Err(Error::Input(format!("{}: --device {}: the tempotron (event-driven) trains on the CPU only", sim.scenario.path.display(), device.name())));
    }
    if !device.built() {
        return Err(device.not_built());
    }
    let fingerprint = sim.scenario.fingerprint();
    if let Some(task) = tempotron {
        std::fs::create_dir_all(&checkpoints).map_err(|e| Error::Input(format!("--out {}: cannot create `{}`: {e}", out.display(), checkpoints.display())))?;
        let c = &task.cfg;
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(c.max_epochs as u64) };
        let o = train_tempotron(&task, &sim.scenario.path, &fingerprint, Some(&checkpoints), resume.as_deref(), |e| {
            bar.inc(1);
            let loss = if e.loss.is_nan() { String::new() } else { format!(", loss {:.4}", e.loss) };
            bar.set_message(format!("epoch {}: {} errors, accuracy {:.2}%{loss}", e.epoch, e.errors, 100.0 * e.accuracy));
        })
        .map_err(Error::Input)?;
        training_done();
        bar.finish_and_clear();
        let mut files = write_tempotron_outputs(out, &o, &task).map_err(Error::Runtime)?;
        // The learning curve: the GS rule's loss is the fraction of errors while presented.
        let stats: Vec<spikeworld_train_surrogate::train::EpochStats> = o
            .curve
            .iter()
            .enumerate()
            .map(|(e, &a)| spikeworld_train_surrogate::train::EpochStats {
                epoch: e as u64 + 1,
                loss: o.loss.get(e).copied().unwrap_or(1.0 - a),
                train_accuracy: a,
                test_accuracy: if e + 1 == o.curve.len() { o.test_accuracy.unwrap_or(f64::NAN) } else { f64::NAN },
                lr: c.lr,
                samples_per_s: f64::NAN,
            })
            .collect();
        let svg = out.join("curve.svg");
        spikeworld_train_surrogate::plot::curve_svg(&svg, &stats).map_err(Error::Runtime)?;
        files.push(svg);
        if !quiet {
            let what = match &task.data {
                None => format!(
                    "tempotron, N = {}, P = {} (α = {}): {} after {} epochs",
                    c.n_afferents,
                    c.n_patterns,
                    c.n_patterns as f64 / c.n_afferents as f64,
                    if o.solved { "solved" } else { "not solved" },
                    o.curve.len()
                ),
                Some(_) => format!("{} tempotrons × {} afferents (mse_loss), {} epochs", o.shape[0], o.shape[1], o.curve.len()),
            };
            let test = o.test_accuracy.map(|a| format!(", test {:.2}%", 100.0 * a)).unwrap_or_default();
            say!(
                "{}: {what} in {:.1} s; accuracy {:.2}%{test}; outputs: {}",
                sim.scenario.path.display(),
                t0.elapsed().as_secs_f64(),
                100.0 * o.final_accuracy,
                files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        return Ok(0);
    }
    let cfg = cfg.expect("checked above");
    let opts = TrainOptions { checkpoint_dir: Some(checkpoints), resume };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(cfg.epochs)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Epochs trained by this command (a resumed run's curve also holds the earlier ones).
    let ran = std::cell::Cell::new(0u64);
    let report = |p: Progress| match p {
        Progress::Batch(e, b, n, loss) => bar.set_message(format!("batch {b}/{n} loss {loss:.4} (epoch {e})")),
        Progress::Epoch(s) => {
            bar.inc(1);
            ran.set(ran.get() + 1);
            let line = format!(
                "epoch {:>3}: loss {:.4}, train accuracy {:.2}%, {}, lr {:.2e}, {:.0} samples/s",
                s.epoch,
                s.loss,
                100.0 * s.train_accuracy,
                test_text(s.test_accuracy),
                s.lr,
                s.samples_per_s
            );
            // (A bar not drawn, stderr not a terminal: the lines still go to stdout, a log.)
            if !bar.is_hidden() {
                bar.println(line);
            } else if !quiet {
                say!("{line}");
            }
        }
    };
    // Nothing is written before training starts (a refused pipeline, an unusable device):
    // the checkpoints' folder comes with the first checkpoint, the rest with the outputs.
    let (files, stats) = match device {
        TrainDevice::Flex => fit::<spikeworld_train_surrogate::fused::CpuTrain>(sim, &cfg, &opts, &Default::default(), report, out, device)?,
        #[cfg(feature = "cuda")]
        TrainDevice::Cuda => fit::<spikeworld_train_surrogate::fused::CudaTrain>(sim, &cfg, &opts, &Default::default(), report, out, device)?,
        #[cfg(feature = "wgpu")]
        TrainDevice::Wgpu => fit::<spikeworld_train_surrogate::cube::WgpuTrain>(sim, &cfg, &opts, &Default::default(), report, out, device)?,
        #[cfg(not(feature = "cuda"))]
        TrainDevice::Cuda => return Err(device.not_built()),
        #[cfg(not(feature = "wgpu"))]
        TrainDevice::Wgpu => return Err(device.not_built()),
    };
    bar.finish_and_clear();
    if !quiet {
        let last = stats.last().expect("at least one epoch");
        let epochs = if ran.get() as usize == stats.len() { format!("{} epochs", stats.len()) } else { format!("{} epochs (to epoch {})", ran.get(), stats.len()) };
        say!(
            "{}: {epochs} in {:.1} s; {}; outputs: {}",
            sim.scenario.path.display(),
            t0.elapsed().as_secs_f64(),
            test_text(last.test_accuracy),
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(0)
}

/// Trains on backend `B` and writes the outputs; returns their paths and the curve.
fn fit<B: TrainBackend>(sim: &Sim, cfg: &TrainConfig, opts: &TrainOptions, device: &B::Device, report: impl FnMut(Progress), out: &Path, which: TrainDevice) -> Result<(Vec<std::path::PathBuf>, Vec<EpochStats>)> {
    let trained = train_on::<B>(sim, cfg, opts, device, report);
    training_done();
    let (spec, params, stats) = trained.map_err(Error::Input)?;
    let files = write_outputs(out, &spec, &params, &stats, cfg, which.name()).map_err(Error::Runtime)?;
    Ok((files, stats))
}

/// `test accuracy 96.94%`, or what stands in for it without a test split (`test_count = 0`).
fn test_text(accuracy: f64) -> String {
    if accuracy.is_finite() { format!("test accuracy {:.2}%", 100.0 * accuracy) } else { "no test split (train.test_count = 0)".into() }
}
