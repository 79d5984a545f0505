//! `spikeworld train SCENARIO`: surrogate-gradient training of a scenario's network (its
//! `[train]` table), with a progress bar, the trained weights as `.npy`, the learning curve
//! and `train.json`.

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use spikeworld::prelude::*;
use spikeworld::{Error, Result};
use spikeworld_event_driven::world::learn::{TempotronTask, train_tempotron, write_tempotron_outputs};
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::train::{Progress, TrainOptions, train, write_outputs};

/// Trains `sim`'s network into `out`; prints one line per epoch unless `quiet`.
pub fn run_train(sim: &Sim, out: &Path, quiet: bool, resume: Option<std::path::PathBuf>) -> Result<i32> {
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
    std::fs::create_dir_all(&checkpoints).map_err(|e| Error::Input(format!("--out {}: cannot create `{}`: {e}", out.display(), checkpoints.display())))?;
    let fingerprint = sim.scenario.fingerprint();
    if let Some(task) = tempotron {
        let c = &task.cfg;
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(c.max_epochs as u64) };
        let o = train_tempotron(&task, &sim.scenario.path, &fingerprint, Some(&checkpoints), resume.as_deref(), |e| {
            bar.inc(1);
            let loss = if e.loss.is_nan() { String::new() } else { format!(", loss {:.4}", e.loss) };
            bar.set_message(format!("epoch {}: {} errors, accuracy {:.2}%{loss}", e.epoch, e.errors, 100.0 * e.accuracy));
        })
        .map_err(Error::Input)?;
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
            println!(
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
    let (spec, params, stats) = train(sim, &cfg, &opts, |p| match p {
        Progress::Batch(e, b, n, loss) => bar.set_message(format!("batch {b}/{n} loss {loss:.4} (epoch {e})")),
        Progress::Epoch(s) => {
            bar.inc(1);
            bar.println(format!(
                "epoch {:>3}: loss {:.4}, train accuracy {:.2}%, test accuracy {:.2}%, lr {:.2e}, {:.0} samples/s",
                s.epoch,
                s.loss,
                100.0 * s.train_accuracy,
                100.0 * s.test_accuracy,
                s.lr,
                s.samples_per_s
            ));
        }
    })
    .map_err(Error::Input)?;
    bar.finish_and_clear();
    std::fs::create_dir_all(out).map_err(|e| {
        Error::Input(format!(
            "--out {}: cannot create the directory: {e}",
            out.display()
        ))
    })?;
    let files = write_outputs(out, &spec, &params, &stats, &cfg).map_err(Error::Runtime)?;
    if !quiet {
        let last = stats.last().expect("at least one epoch");
        println!(
            "{}: {} epochs in {:.1} s; test accuracy {:.2}%; outputs: {}",
            sim.scenario.path.display(),
            stats.len(),
            t0.elapsed().as_secs_f64(),
            100.0 * last.test_accuracy,
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(0)
}
