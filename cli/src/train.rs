//! `spikeworld train SCENARIO`: surrogate-gradient training of a scenario's network (its
//! `[train]` table), with a progress bar, the trained weights as `.npy`, the learning curve
//! and `train.json`.

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use spikeworld::prelude::*;
use spikeworld::{Error, Result};
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::train::{Progress, TrainOptions, train, write_outputs};

/// Trains `sim`'s network into `out`; prints one line per epoch unless `quiet`.
pub fn run_train(sim: &Sim, out: &Path, quiet: bool, resume: Option<std::path::PathBuf>) -> Result<i32> {
    let Some(cfg) = sim.world.get_resource::<TrainConfig>().cloned() else {
        return Err(Error::Input(format!(
            "{}: no [train] table: nothing to train (see plugins/train-surrogate/README.md)",
            sim.scenario.path.display()
        )));
    };
    let t0 = Instant::now();
    let checkpoints = out.join("checkpoints");
    std::fs::create_dir_all(&checkpoints).map_err(|e| Error::Input(format!("--out {}: cannot create `{}`: {e}", out.display(), checkpoints.display())))?;
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
