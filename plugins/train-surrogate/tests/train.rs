//! Training end to end: the digits scenario reaches 95 % test accuracy; the training
//! forward pass (in f64) gives exactly the spikes the cpu engine gives for the same input
//! spikes and weights; a malformed `[train]` table is a located error.

mod common;
use common::*;

use std::path::Path;

use burn::tensor::{DType, Tensor, TensorData};
use burn::{Dispatch, DispatchDevice};
use spikeworld::monitor::SpikeRecorder;
use spikeworld::prelude::*;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::net::{Net, NetSpec};
use spikeworld_train_surrogate::train::{Progress, TrainOptions, train};
use spikeworld_train_surrogate::surrogate::Surrogate;



#[test]
fn digits_reach_95_percent_test_accuracy() {
    let b = builder();
    let sc = Scenario::load(
        &scenario_path("train_digits.toml"),
        b.registry(),
        &LoadOptions::default(),
    )
    .unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let mut epochs = 0;
    let (_, _, stats) = train(&sim, &cfg, &TrainOptions::default(), |p| {
        if let Progress::Epoch(_) = p {
            epochs += 1;
        }
    })
    .unwrap();
    assert_eq!(epochs, cfg.epochs);
    let (first, last) = (stats.first().unwrap(), stats.last().unwrap());
    assert!(
        last.loss < 0.5 * first.loss,
        "the loss should fall: {} → {}",
        first.loss,
        last.loss
    );
    assert!(
        last.test_accuracy >= 0.95,
        "test accuracy {:.4} after {} epochs",
        last.test_accuracy,
        stats.len()
    );
}

/// Two layers (sj_lif with a hard reset, sj_if with a soft reset) fed by 24 input spike
/// trains: the f64 training forward pass and the cpu engine give the same spikes, step by
/// step, including the engines' one-step delivery delay.
#[test]
fn training_forward_equals_the_engine() {
    forward_equals_the_engine("", "");
}

/// The same with spike filters: SpikingFlow's ExpDecayCurrent on the input edge and its
/// LowPassSynapse on the hidden → out edge (`plugins/synapse-basic`).
#[test]
fn training_forward_with_filtered_synapses_equals_the_engine() {
    forward_equals_the_engine("synapse = { model = \"exp_decay_current\", tau = \"4 ms\", amplitude = 0.5 }", "synapse = { model = \"low_pass\", tau = \"3 ms\" }");
}

fn forward_equals_the_engine(synapse1: &str, synapse2: &str) {
    let (n_in, steps) = (24usize, 40usize);
    // A fixed input raster: input i spikes at step t when (i * 7 + t * 3) % 5 < 2.
    let raster: Vec<Vec<bool>> = (0..steps)
        .map(|t| (0..n_in).map(|i| (i * 7 + t * 3) % 5 < 2).collect())
        .collect();
    let mut times = Vec::new();
    let mut indices = Vec::new();
    for (t, row) in raster.iter().enumerate() {
        for (i, &on) in row.iter().enumerate() {
            if on {
                times.push(format!("\"{t} ms\""));
                indices.push(i.to_string());
            }
        }
    }
    let text = format!(
        r#"
[simulation]
dt = "1 ms"
t_stop = "{steps} ms"
seed = 5

[[population]]
name = "hidden"
size = 30
model = "sj_lif"
[population.params]
tau = 3.0
v_threshold = 1.0

[[population]]
name = "out"
size = 6
model = "sj_if"
[population.params]
v_threshold = 1.0
reset = "soft"

[[encoder]]
name = "input"
kind = "spike_generator"
size = {n_in}
times = [{}]
indices = [{}]

[[projection]]
name = "fc1"
from = "input"
to = "hidden"
rule = "all_to_all"
receptor = "x"
weight = {{ dist = "uniform", low = -0.3, high = 0.6 }}
{synapse1}

[[projection]]
name = "fc2"
from = "hidden"
to = "out"
rule = "all_to_all"
receptor = "x"
weight = {{ dist = "uniform", low = -0.2, high = 0.5 }}
{synapse2}

[[monitor]]
name = "h"
kind = "spikes"
target = "hidden"

[[monitor]]
name = "o"
kind = "spikes"
target = "out"

[train]
input = "input"
output = "out"
trainable = ["fc1"]
x = "none.npy"
y = "none.npy"
"#,
        times.join(", "),
        indices.join(", ")
    );
    let b = builder();
    let sc = Scenario::from_str(
        &text,
        Path::new("eq.toml"),
        b.registry(),
        &LoadOptions::default(),
    )
    .unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let spec = NetSpec::from_sim(&sim, &cfg).unwrap();
    let device = DispatchDevice::Flex(Default::default());
    let (net, params) = Net::<Dispatch>::new(spec, &device, DType::F64);
    let input = |t: usize| {
        Tensor::<Dispatch, 2>::from_data(
            TensorData::new(
                raster[t]
                    .iter()
                    .map(|&on| if on { 1.0f64 } else { 0.0 })
                    .collect::<Vec<_>>(),
                [1, n_in],
            ),
            &device,
        )
    };
    let (_, rec) = net.forward(&params, steps, input, cfg.surrogate, false, true);
    sim.run_steps(steps as u64);
    let mut total = 0;
    for (layer, name) in [(0, "h"), (1, "o")] {
        let mon = sim
            .monitors
            .iter()
            .find_map(|&e| sim.world.get::<SpikeRecorder>(e).filter(|m| m.name == name))
            .unwrap();
        let mut engine: Vec<(usize, i64)> = mon.iter().map(|(t, i)| (t.round() as usize, i64::from(i))).collect();
        engine.sort();
        let mut trained = Vec::new();
        for (t, s) in rec[layer].iter().enumerate() {
            let v: Vec<f64> = s.clone().into_data().convert::<f64>().to_vec().unwrap();
            trained.extend(
                v.iter()
                    .enumerate()
                    .filter(|(_, x)| **x == 1.0)
                    .map(|(i, _)| (t, i as i64)),
            );
            assert!(v.iter().all(|&x| x == 0.0 || x == 1.0), "spikes are 0 or 1");
        }
        assert_eq!(
            trained, engine,
            "layer {name}: training forward and cpu engine differ"
        );
        total += engine.len();
        assert!(!engine.is_empty(), "layer {name} should spike");
    }
    assert!(total > 50, "{total} spikes: the test needs activity");
}

#[test]
fn a_malformed_train_table_is_a_located_error() {
    let base = std::fs::read_to_string(scenario_path("train_digits.toml")).unwrap();
    for (bad, key) in [
        ("loss = \"mse_rate\"", "loss = \"hinge\""),
        ("surrogate = \"atan\"", "surrogate = \"nope\""),
        (
            "trainable = [\"fc1\", \"fc2\"]",
            "trainable = [\"fc1\", \"fc9\"]",
        ),
        ("epochs = 30", "epochs = 0"),
        ("lr = 0.005", "lr = -1.0"),
        ("input = \"pixels\"", "input = \"hidden\""),
        ("surrogate = \"atan\"", "learner = \"stca\"\nsurrogate = \"atan\""),
        ("surrogate = \"atan\"", "learner = \"stdp\""),
        ("loss = \"mse_rate\"", "loss = \"mse_first\""),
        ("schedule = \"cosine\"", "schedule = \"cosine\"\ndropout = { out = 0.5 }"),
        ("schedule = \"cosine\"", "schedule = \"cosine\"\ndropout = { hidden = 1.0 }"),
        ("schedule = \"cosine\"", "schedule = \"cosine\"\ndropout = { hiden = 0.2 }"),
    ] {
        let text = base.replace(bad, key);
        assert_ne!(text, base, "{bad} should be in the scenario");
        let line = text
            .lines()
            .position(|l| l.starts_with(key.lines().last().unwrap().split(" =").next().unwrap()))
            .unwrap()
            + 1;
        let b = builder();
        let err = match Scenario::from_str(
            &text,
            // (In the scenarios' folder: the data paths are relative to it.)
            &scenario_path("t.toml"),
            b.registry(),
            &LoadOptions::default(),
        ) {
            Ok(_) => panic!("`{key}` should be refused"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(&format!("t.toml:{line}:")),
            "`{key}`: error should point at line {line}: {err}"
        );
        assert!(
            err.contains("train."),
            "`{key}`: error should name the key: {err}"
        );
    }
}

/// A run stopped after epoch 2 and resumed from its checkpoint ends with the same weights,
/// bit for bit, as a run that never stopped (weights, Adam's moments, the data order, the
/// input draws, the dropout masks and the schedule all carried over or recomputed from (seed, epoch)).
#[test]
fn a_resumed_training_equals_one_that_never_stopped() {
    resumed_equals_straight("adam");
}

/// The same with AdamRewiring, whose state (moments, signs, dormant masks, step) and noise
/// stream must carry over too.
#[test]
fn a_resumed_rewiring_training_equals_one_that_never_stopped() {
    resumed_equals_straight("adam_rewiring");
}

fn resumed_equals_straight(optimizer: &str) {
    use burn::module::Param;
    let b = builder();
    let sets = ["train.epochs=4".to_string(), "train.encoding=\"bernoulli\"".to_string(), "train.schedule=\"cosine\"".to_string(), "train.dropout.hidden=0.2".to_string(), format!("train.optimizer=\"{optimizer}\""), "train.rewiring_l1=0.01".to_string()];
    let sc = Scenario::load(&scenario_path("train_digits.toml"), b.registry(), &LoadOptions { overrides: sets.to_vec(), ..Default::default() }).unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let tmp = tempfile::tempdir().unwrap();
    let weights = |p: &spikeworld_train_surrogate::net::Params<spikeworld_train_surrogate::fused::CpuTrain>| -> Vec<Vec<f32>> {
        p.weights.iter().map(|w: &Param<Tensor<spikeworld_train_surrogate::fused::CpuTrain, 2>>| w.val().into_data().convert::<f32>().to_vec::<f32>().unwrap()).collect()
    };
    let straight = TrainOptions { checkpoint_dir: Some(tmp.path().join("a")), resume: None };
    std::fs::create_dir_all(tmp.path().join("a")).unwrap();
    let (_, p_straight, s_straight) = train(&sim, &cfg, &straight, |_| {}).unwrap();
    // Epochs 1-4 were checkpointed; the last two are kept.
    assert!(!tmp.path().join("a/epoch_0002.swtr").exists() && tmp.path().join("a/epoch_0004.swtr").exists());
    let ck = tmp.path().join("a/epoch_0003.swtr");
    let resumed = TrainOptions { checkpoint_dir: Some(tmp.path().join("b")), resume: Some(ck) };
    std::fs::create_dir_all(tmp.path().join("b")).unwrap();
    let mut seen = Vec::new();
    let (_, p_resumed, s_resumed) = train(&sim, &cfg, &resumed, |p| {
        if let Progress::Epoch(s) = p {
            seen.push(s.epoch);
        }
    })
    .unwrap();
    assert_eq!(seen, vec![4], "only epoch 4 runs after resuming from epoch 3");
    assert_eq!(s_resumed.len(), 4);
    assert_eq!(s_straight.iter().map(|s| s.loss.to_bits()).collect::<Vec<_>>(), s_resumed.iter().map(|s| s.loss.to_bits()).collect::<Vec<_>>(), "per-epoch losses");
    assert!(weights(&p_straight) == weights(&p_resumed), "the resumed run's weights differ from the straight run's");
    // A checkpoint of another scenario (other overrides) is refused.
    let other = Scenario::load(&scenario_path("train_digits.toml"), b.registry(), &LoadOptions { overrides: vec!["train.epochs=5".into(), format!("train.optimizer=\"{optimizer}\"")], ..Default::default() }).unwrap();
    let sim2 = b.build(other, &RunOptions::default()).unwrap();
    let cfg2 = sim2.world.resource::<TrainConfig>().clone();
    let again = TrainOptions { checkpoint_dir: None, resume: Some(tmp.path().join("a/epoch_0003.swtr")) };
    let err = train(&sim2, &cfg2, &again, |_| {}).expect_err("another scenario's checkpoint must be refused");
    assert!(err.contains("another scenario, other overrides, another seed or other input files"), "{err}");
}

/// MNIST's IDX files are read as the same samples as the `.npy` of the same data; a
/// truncated IDX file is a clear error.
#[test]
fn idx_files_read_like_npy() {
    use spikeworld_train_surrogate::train::Dataset;
    let b = builder();
    let sc = Scenario::load(&scenario_path("train_digits.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let from_npy = Dataset::load(&cfg, &sim.scenario.path, 64, 10).unwrap();
    // The same digits as IDX: images [1797, 8, 8] and labels [1797], unsigned bytes.
    let x = spikeworld::util::npy::read_npy_f64(&scenario_path("../data/digits/x.npy"), None).unwrap();
    let y = spikeworld::util::npy::read_npy_f64(&scenario_path("../data/digits/y.npy"), None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let idx = |dims: &[u32], values: &[f64]| {
        let mut v = vec![0u8, 0, 0x08, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend(values.iter().map(|&x| x as u8));
        v
    };
    std::fs::write(tmp.path().join("images-idx3-ubyte"), idx(&[1797, 8, 8], &x.values)).unwrap();
    std::fs::write(tmp.path().join("labels-idx1-ubyte"), idx(&[1797], &y.values)).unwrap();
    let mut c2 = cfg.clone();
    c2.x = tmp.path().join("images-idx3-ubyte").display().to_string();
    c2.y = tmp.path().join("labels-idx1-ubyte").display().to_string();
    let from_idx = Dataset::load(&c2, &sim.scenario.path, 64, 10).unwrap();
    assert!(from_idx.x == from_npy.x && from_idx.y == from_npy.y, "IDX and .npy give other samples");
    let mut bad = idx(&[1797, 8, 8], &x.values);
    bad.truncate(bad.len() - 5);
    std::fs::write(tmp.path().join("short"), bad).unwrap();
    c2.x = tmp.path().join("short").display().to_string();
    let err = Dataset::load(&c2, &sim.scenario.path, 64, 10).err().unwrap_or_else(|| panic!("a truncated IDX file must be refused"));
    assert!(err.contains("need 115008 bytes of data; the file has 115003"), "{err}");
}

/// A PLIF layer's `w` (1/τ = sigmoid(w)) is a trained parameter: it starts at
/// −ln(init_tau − 1), receives a gradient and moves, and the network still learns.
#[test]
fn plif_time_constants_are_trained() {
    let b = builder();
    let text = std::fs::read_to_string(scenario_path("train_digits.toml")).unwrap().replace("model = \"sj_lif\"\n[population.params]\ntau = 2.0", "model = \"sj_plif\"\n[population.params]\ninit_tau = 2.0");
    assert!(text.contains("sj_plif"));
    let sc = Scenario::from_str(&text, &scenario_path("train_digits.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let mut cfg = sim.world.resource::<TrainConfig>().clone();
    cfg.epochs = 3;
    let (_, params, stats) = train(&sim, &cfg, &TrainOptions::default(), |_| {}).unwrap();
    assert_eq!(params.plif_w.len(), 2, "both populations are PLIF");
    for w in &params.plif_w {
        let v: Vec<f32> = w.val().into_data().convert::<f32>().to_vec().unwrap();
        // init_tau = 2 → w0 = −ln(1) = 0.
        assert!(v[0].abs() > 1e-4, "w should move from 0 (found {})", v[0]);
    }
    assert!(stats.last().unwrap().test_accuracy > 0.8, "{:?}", stats.last());
}

/// burn-flex runs large matmuls on rayon threads: the trained weights must not depend on
/// how many (a 2048-neuron hidden layer and batches of 128 take that path). Trained for one
/// epoch inside pools of 1 and 2 threads: byte-identical weight files.
#[test]
fn training_gives_the_same_bits_on_any_number_of_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let dir = tmp.path().join(format!("t{threads}"));
        pool.install(|| {
            let b = builder();
            let opts = LoadOptions {
                overrides: vec!["population.hidden.size=2048".into(), "train.epochs=1".into(), "train.batch_size=128".into()],
                ..Default::default()
            };
            let sc = Scenario::load(&scenario_path("train_digits.toml"), b.registry(), &opts).unwrap();
            let sim = b.build(sc, &RunOptions::default()).unwrap();
            let cfg = sim.world.resource::<TrainConfig>().clone();
            let (spec, params, stats) = train(&sim, &cfg, &TrainOptions::default(), |_| {}).unwrap();
            spikeworld_train_surrogate::train::write_outputs(&dir, &spec, &params, &stats, &cfg, "flex").unwrap();
        });
        let mut w: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("weights")).unwrap().map(|e| e.unwrap().path()).map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect();
        w.sort();
        assert_eq!(w.len(), 2, "fc1 and fc2");
        files.push(w);
    }
    assert!(files[0] == files[1], "the weights differ between 1 and 2 rayon threads");
}

/// The dataset is read when training starts; what is wrong with it is located at the key
/// that names the file.
#[test]
fn dataset_errors_point_at_their_key() {
    let base = std::fs::read_to_string(scenario_path("train_digits.toml")).unwrap();
    for (bad, key, line) in [("x = \"../data/digits/x.npy\"", "train.x", 67), ("y = \"../data/digits/y.npy\"", "train.y", 68)] {
        let text = base.replace(bad, &bad.replace(".npy", "_missing.npy"));
        let b = builder();
        let sc = Scenario::from_str(&text, &scenario_path("t.toml"), b.registry(), &LoadOptions::default()).expect("read: the files are read when training starts");
        let sim = b.build(sc, &RunOptions::default()).unwrap();
        let cfg = sim.world.resource::<TrainConfig>().clone();
        let err = train(&sim, &cfg, &TrainOptions::default(), |_| {}).err().expect("a missing file is an error").to_string();
        assert!(err.contains(&format!("t.toml:{line}:")) && err.contains(&format!("`{key}`")) && err.contains("_missing.npy"), "{err}");
    }
}

/// SPAIC's learner names choose the surrogate: `stbp` and `stca` their own windows (with
/// the scenario's alpha), `sbp` the `surrogate` key's function.
#[test]
fn learners_choose_their_surrogate() {
    let base = std::fs::read_to_string(scenario_path("train_digits.toml")).unwrap();
    let cfg_of = |text: &str| {
        let b = builder();
        let sc = Scenario::from_str(text, &scenario_path("t.toml"), b.registry(), &LoadOptions::default()).unwrap();
        let sim = b.build(sc, &RunOptions::default()).unwrap();
        sim.world.resource::<TrainConfig>().clone()
    };
    let stbp = cfg_of(&base.replace("surrogate = \"atan\"", "learner = \"stbp\""));
    assert_eq!(stbp.surrogate, Surrogate::Stbp { alpha: 2.0 });
    let stca = cfg_of(&base.replace("surrogate = \"atan\"", "learner = \"stca\"\nsurrogate = \"stca\""));
    assert_eq!(stca.surrogate, Surrogate::Stca { alpha: 2.0 });
    let sbp = cfg_of(&base.replace("surrogate = \"atan\"", "learner = \"sbp\"\nsurrogate = \"erf\""));
    assert_eq!(sbp.surrogate, Surrogate::Erf { alpha: 2.0 });
}
