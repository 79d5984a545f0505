//! What training refuses before it trains, located at the key to fix: a dataset with a
//! NaN, Bernoulli inputs that are not probabilities, a trainable projection that is not
//! dense, a batch of steps larger than the memory limit, a checkpoint of another seed; and
//! what it writes that a run needs (a PLIF layer's trained time constant), and a learning
//! curve with an infinite loss (which had made the plot loop forever); weights gone NaN.

mod common;
use common::*;

use spikeworld::prelude::*;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::train::{EpochStats, TrainOptions, train, write_outputs};


fn digits() -> std::path::PathBuf {
    scenario_path("train_digits.toml")
}

/// Builds `text` (as the digits scenario's file, so that its data paths resolve) with
/// `sets`, and trains it; the error, if any.
fn train_text(text: &str, sets: &[&str], opts: &TrainOptions, max_memory: Option<u64>) -> Result<Vec<EpochStats>, String> {
    let b = builder();
    let lo = LoadOptions { overrides: sets.iter().map(|s| s.to_string()).collect(), max_memory, ..Default::default() };
    let sc = Scenario::from_str(text, &digits(), b.registry(), &lo).map_err(|e| e.to_string())?;
    let sim = b.build(sc, &RunOptions::default()).map_err(|e| e.to_string())?;
    let cfg = sim.world.resource::<TrainConfig>().clone();
    train(&sim, &cfg, opts, |_| {}).map(|(_, _, stats)| stats)
}

fn base() -> String {
    std::fs::read_to_string(digits()).unwrap()
}

#[test]
fn a_dataset_with_a_nan_is_refused_at_train_x() {
    let tmp = tempfile::tempdir().unwrap();
    let x = spikeworld::util::npy::read_npy_f64(&digits().parent().unwrap().join("../data/digits/x.npy"), None).unwrap();
    let mut values = x.values.clone();
    values[5 * 64 + 3] = f64::NAN;
    let p = tmp.path().join("x_nan.npy");
    let shape: Vec<u64> = x.shape.iter().map(|&d| d as u64).collect();
    spikeworld::output::write_npy_f64(&p, &shape, &values).unwrap();
    let err = train_text(&base(), &[&format!("train.x=\"{}\"", p.display()), "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train.x") && err.contains("[5, 3]") && err.contains("NaN"), "{err}");
}

#[test]
fn bernoulli_inputs_must_be_probabilities() {
    // Pixels 0..16 times 0.125: up to 2.
    let err = train_text(&base(), &["train.encoding=\"bernoulli\"", "train.scale=0.125", "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train.x") && err.contains("firing probability") && err.contains("[0, 1]"), "{err}");
    let err = train_text(&base(), &["train.encoding=\"bernoulli\"", "train.scale=-0.0625", "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("firing probability"), "{err}");
    // The scenario's own scale (1/16) makes probabilities.
    assert!(train_text(&base(), &["train.encoding=\"bernoulli\"", "train.epochs=1"], &TrainOptions::default(), None).is_ok());
}

#[test]
fn a_trainable_projection_must_be_dense() {
    let text = base().replace("rule = \"all_to_all\"", "rule = \"fixed_indegree\"\nindegree = 5");
    assert!(text.contains("fixed_indegree"));
    let err = train_text(&text, &["train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train_digits.toml:") && err.contains(".rule`") && err.contains("trainable projection connects every source to every target once"), "{err}");
}

#[test]
fn training_larger_than_the_memory_limit_is_refused_before_it_allocates() {
    // Located at the override that set it (or at the file's line when the file does).
    let err = train_text(&base(), &["train.steps=20000"], &TrainOptions::default(), Some(500_000_000)).unwrap_err();
    assert!(err.contains("--set train.steps=20000") && err.contains("`train.steps`") && err.contains("more than the limit of 500.0 MB"), "{err}");
    let err = train_text(&base().replace("steps = 8", "steps = 20000"), &[], &TrainOptions::default(), Some(500_000_000)).unwrap_err();
    assert!(err.contains("train_digits.toml:72:") && err.contains("more than the limit"), "{err}");
}

#[test]
fn a_checkpoint_of_another_seed_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = TrainOptions { checkpoint_dir: Some(tmp.path().to_path_buf()), resume: None };
    train_text(&base(), &["train.epochs=2"], &opts, None).unwrap();
    let ck = tmp.path().join("epoch_0001.swtr");
    assert!(ck.exists());
    let again = TrainOptions { checkpoint_dir: None, resume: Some(ck.clone()) };
    // The same file and overrides, another seed: refused (and with the same seed, resumed).
    let with_seed = |seed: Option<u64>| {
        let b = builder();
        let lo = LoadOptions { overrides: vec!["train.epochs=2".into()], seed, ..Default::default() };
        let sc = Scenario::from_str(&base(), &digits(), b.registry(), &lo).unwrap();
        let sim = b.build(sc, &RunOptions::default()).unwrap();
        let cfg = sim.world.resource::<TrainConfig>().clone();
        train(&sim, &cfg, &again, |_| {}).map(|(_, _, stats)| stats)
    };
    let err = with_seed(Some(5)).err().expect("another seed's checkpoint must be refused");
    assert!(err.contains("another seed") && err.contains("seed 5"), "{err}");
    assert_eq!(with_seed(None).expect("the same seed resumes").len(), 2);
    // A damaged checkpoint is refused too (its checksum), and so is one a byte shorter.
    let mut bytes = std::fs::read(&ck).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&ck, &bytes).unwrap();
    let err = train_text(&base(), &["train.epochs=2"], &again, None).unwrap_err();
    assert!(err.contains("damaged"), "{err}");
    bytes[at] ^= 1;
    std::fs::write(&ck, &bytes[..bytes.len() - 1]).unwrap();
    let err = train_text(&base(), &["train.epochs=2"], &again, None).unwrap_err();
    assert!(err.contains("damaged or truncated"), "{err}");
}

#[test]
fn a_plif_layers_trained_time_constant_is_written() {
    let text = base().replace("model = \"sj_lif\"\n[population.params]\ntau = 2.0", "model = \"sj_plif\"\n[population.params]\ninit_tau = 2.0");
    assert!(text.contains("sj_plif"));
    let b = builder();
    let sc = Scenario::from_str(&text, &digits(), b.registry(), &LoadOptions { overrides: vec!["train.epochs=1".into()], ..Default::default() }).unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let (spec, params, stats) = train(&sim, &cfg, &TrainOptions::default(), |_| {}).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_outputs(tmp.path(), &spec, &params, &stats, &cfg, "flex").unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(tmp.path().join("train.json")).unwrap()).unwrap();
    assert_eq!(json["seed"].as_u64(), Some(cfg.seed));
    for (layer, w) in ["hidden", "out"].into_iter().zip(&params.plif_w) {
        let w = w.val().into_data().convert::<f64>().to_vec::<f64>().unwrap()[0];
        let entry = &json["plif"][layer];
        assert_eq!(entry["w"].as_f64(), Some(w), "{layer}: {json}");
        // tau = 1/sigmoid(w): what a run scenario sets as init_tau.
        let tau = entry["init_tau"].as_f64().unwrap();
        assert!((1.0 / (1.0 + (-w).exp()) - 1.0 / tau).abs() < 1e-15 && (tau - 2.0).abs() > 1e-6, "{layer}: tau {tau}, w {w}");
    }
}

#[test]
fn a_curve_with_an_infinite_loss_is_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let stats: Vec<EpochStats> = [1.0, f64::INFINITY, f64::NAN]
        .iter()
        .enumerate()
        .map(|(e, &loss)| EpochStats { epoch: e as u64 + 1, loss, train_accuracy: 0.5, test_accuracy: f64::NAN, lr: 1e-3, samples_per_s: 1.0 })
        .collect();
    let p = tmp.path().join("curve.svg");
    spikeworld_train_surrogate::plot::curve_svg(&p, &stats).unwrap();
    assert!(std::fs::read_to_string(&p).unwrap().contains("<svg"));
}

#[test]
fn nothing_to_train_and_a_multistep_without_milestones_are_refused() {
    let err = train_text(&base(), &["train.trainable=[]", "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("--set train.trainable=[]") && err.contains("nothing to train"), "{err}");
    let err = train_text(&base(), &["train.schedule=\"multistep\""], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train.schedule") && err.contains("needs `milestones`"), "{err}");
    assert!(train_text(&base(), &["train.schedule=\"multistep\"", "train.milestones=[1]", "train.epochs=2"], &TrainOptions::default(), None).is_ok());
}

/// The memory check counts the dataset from its files' sizes before reading them: an
/// N-MNIST folder's event files as `steps` frames of the input's width each.
#[test]
fn the_memory_check_counts_the_dataset() {
    use spikeworld_train_surrogate::train::Dataset;
    let tmp = tempfile::tempdir().unwrap();
    for d in ["0", "3", "7"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        for f in ["a.bin", "b.bin"] {
            std::fs::write(tmp.path().join(d).join(f), [0u8; 5]).unwrap();
        }
    }
    std::fs::write(tmp.path().join("7").join("notes.txt"), b"not an event file").unwrap();
    let b = builder();
    let sc = Scenario::from_str(&base(), &digits(), b.registry(), &LoadOptions::default()).unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let mut cfg = sim.world.resource::<TrainConfig>().clone();
    cfg.x = tmp.path().display().to_string();
    assert_eq!(Dataset::estimate_bytes(&cfg, &sim.scenario.path, 2312), 6.0 * cfg.steps as f64 * 2312.0 * 4.0);
    // The digits' .npy (1797 × 64 values, one byte each on file): read as f64, kept as f32.
    cfg.x = "../data/digits/x.npy".into();
    assert_eq!(Dataset::estimate_bytes(&cfg, &sim.scenario.path, 64), 1797.0 * 64.0 * 12.0);
}

/// A learning rate beyond f32 is refused where it is written; one that sends the weights
/// to NaN stops training with the projection's name (the loss of spike counts stays
/// finite over NaN weights: nothing spikes), and nothing of that epoch is written.
#[test]
fn weights_gone_nan_stop_training_and_lr_beyond_f32_is_refused() {
    let err = train_text(&base(), &["train.lr=1e39", "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train.lr") && err.contains("f32"), "{err}");
    let err = train_text(&base(), &["train.lr=3e38", "train.optimizer=\"sgd\"", "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("weights of `") && err.contains("NaN") && err.contains("epoch 1") && err.contains("train.lr"), "{err}");
}

/// A training checkpoint belongs to the dataset's bytes too: after `y.npy` changed, the
/// resume is refused (it would not continue the same training).
#[test]
fn a_checkpoint_of_other_data_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("scenarios")).unwrap();
    std::fs::create_dir_all(root.join("data/digits")).unwrap();
    let data = digits().parent().unwrap().join("../data/digits");
    for f in ["x.npy", "y.npy"] {
        std::fs::copy(data.join(f), root.join("data/digits").join(f)).unwrap();
    }
    let sc_path = root.join("scenarios/train_digits.toml");
    std::fs::write(&sc_path, base()).unwrap();
    let b = builder();
    let load = || {
        let lo = LoadOptions { overrides: vec!["train.epochs=2".into()], ..Default::default() };
        let sim = b.build(Scenario::load(&sc_path, b.registry(), &lo).unwrap(), &RunOptions::default()).unwrap();
        let cfg = sim.world.resource::<TrainConfig>().clone();
        (sim, cfg)
    };
    let (sim, cfg) = load();
    let cks = root.join("ck");
    std::fs::create_dir_all(&cks).unwrap();
    train(&sim, &cfg, &TrainOptions { checkpoint_dir: Some(cks.clone()), resume: None }, |_| {}).unwrap();
    // Two labels swapped.
    let y = spikeworld::util::npy::read_npy_f64(&root.join("data/digits/y.npy"), None).unwrap();
    let mut v = y.values.clone();
    let j = v.iter().position(|&l| l != v[0]).unwrap();
    v.swap(0, j);
    spikeworld::output::write_npy_f64(&root.join("data/digits/y.npy"), &[v.len() as u64], &v).unwrap();
    let (sim, cfg) = load();
    let err = train(&sim, &cfg, &TrainOptions { checkpoint_dir: None, resume: Some(cks.join("epoch_0001.swtr")) }, |_| {}).unwrap_err();
    assert!(err.contains("other input files"), "{err}");
}

/// A dataset file that is damaged is named as such, at `train.x`: a header claiming 10^12
/// samples in a small file (it was taken for a training too large for the memory), and an
/// x with no samples (it was blamed on y).
#[test]
fn a_damaged_or_empty_x_is_refused_at_train_x() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x_huge.npy");
    // A valid header for [10^12, 64] f8 followed by a few values.
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 64), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(h.as_bytes());
    bytes.extend([0u8; 64 * 8]);
    std::fs::write(&p, bytes).unwrap();
    let err = train_text(&base(), &[&format!("train.x=\"{}\"", p.display()), "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train.x") && err.contains("shorter than its header"), "{err}");
    let p = tmp.path().join("x_empty.npy");
    spikeworld::output::write_npy_f64(&p, &[0, 64], &[]).unwrap();
    let err = train_text(&base(), &[&format!("train.x=\"{}\"", p.display()), "train.epochs=1"], &TrainOptions::default(), None).unwrap_err();
    assert!(err.contains("train.x") && err.contains("holds no samples"), "{err}");
}
