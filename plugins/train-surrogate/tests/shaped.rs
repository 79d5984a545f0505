//! Shaped networks and inputs: a conv2d → LIF → pool2d → IF relays → dense → IF network
//! trains on the engines' spikes (the f64 training forward equals the cpu engine, layer by
//! layer, step by step), its written weights load back into `spikeworld run`; and an N-MNIST
//! folder trains with one frame per step.

mod common;
use common::*;

use std::path::Path;

use burn::tensor::{DType, Tensor, TensorData};
use burn::{Dispatch, DispatchDevice};
use spikeworld::monitor::SpikeRecorder;
use spikeworld::prelude::*;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::net::{EdgeOp, Net, NetSpec};
use spikeworld_train_surrogate::train::{Dataset, EpochStats, TrainOptions, train, write_outputs};


const STEPS: usize = 30;
const SIDE: usize = 6;

fn raster() -> Vec<Vec<bool>> {
    (0..STEPS).map(|t| (0..SIDE * SIDE).map(|i| (i * 7 + t * 3) % 5 < 2).collect()).collect()
}

fn conv_scenario(conv_weight: &str, fc_weight: &str) -> String {
    let mut times = Vec::new();
    let mut indices = Vec::new();
    for (t, row) in raster().iter().enumerate() {
        for (i, &on) in row.iter().enumerate() {
            if on {
                times.push(format!("\"{t} ms\""));
                indices.push(i.to_string());
            }
        }
    }
    format!(
        r#"
[simulation]
dt = "1 ms"
t_stop = "{STEPS} ms"
seed = 3

[[population]]
name = "conv"
shape = [3, 6, 6]
model = "sj_lif"
params = {{ tau = 3.0, v_threshold = 1.0 }}

[[population]]
name = "pool"
shape = [3, 3, 3]
model = "sj_if"
params = {{ v_threshold = 1.0 }}

[[population]]
name = "out"
size = 4
model = "sj_if"
params = {{ v_threshold = 1.0, reset = "soft" }}

[[encoder]]
name = "input"
kind = "spike_generator"
shape = [1, {SIDE}, {SIDE}]
times = [{}]
indices = [{}]

[[projection]]
name = "conv1"
from = "input"
to = "conv"
rule = "conv2d"
kernel_size = 3
padding = 1
receptor = "x"
weight = {conv_weight}

[[projection]]
name = "pool1"
from = "conv"
to = "pool"
rule = "pool2d"
kernel_size = 2
receptor = "x"
weight = 1.0

[[projection]]
name = "fc"
from = "pool"
to = "out"
rule = "all_to_all"
receptor = "x"
weight = {fc_weight}

[[monitor]]
name = "conv"
kind = "spikes"
target = "conv"

[[monitor]]
name = "pool"
kind = "spikes"
target = "pool"

[[monitor]]
name = "out"
kind = "spikes"
target = "out"

[train]
input = "input"
output = "out"
trainable = ["conv1", "fc"]
x = "none.npy"
y = "none.npy"
"#,
        times.join(", "),
        indices.join(", ")
    )
}

fn build(text: &str) -> Sim {
    let b = builder();
    let sc = Scenario::from_str(text, Path::new("conv.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    b.build(sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// (step, neuron) of every spike of monitor `name` after running `sim`.
fn engine_spikes(sim: &Sim, name: &str) -> Vec<(usize, i64)> {
    let mon = sim.monitors.iter().find_map(|&e| sim.world.get::<SpikeRecorder>(e).filter(|m| m.name == name)).unwrap();
    let mut v: Vec<(usize, i64)> = mon.iter().map(|(t, i)| (t.round() as usize, i64::from(i))).collect();
    v.sort();
    v
}

#[test]
fn conv_pool_training_forward_equals_the_engine_and_its_weights_load_back() {
    let text = conv_scenario("{ dist = \"uniform\", low = -0.3, high = 0.9 }", "{ dist = \"uniform\", low = -0.2, high = 0.5 }");
    let mut sim = build(&text);
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let spec = NetSpec::from_sim(&sim, &cfg).unwrap();
    assert!(matches!(spec.edges[0].op, EdgeOp::Conv { k: 3, stride: 1, pad: 1, .. }), "{:?}", spec.edges[0].op);
    assert!(matches!(spec.edges[1].op, EdgeOp::Pool { k: 2, stride: 2, .. }), "{:?}", spec.edges[1].op);
    assert_eq!(spec.edges[0].w0.len(), 3 * 9, "the kernel, stored once");
    let device = DispatchDevice::Flex(Default::default());
    let (net, params) = Net::<Dispatch>::new(spec.clone(), &device, DType::F64);
    let r = raster();
    let input = |t: usize| Tensor::<Dispatch, 2>::from_data(TensorData::new(r[t].iter().map(|&on| if on { 1.0f64 } else { 0.0 }).collect::<Vec<_>>(), [1, SIDE * SIDE]), (&device, DType::F64));
    let (_, rec) = net.forward(&params, STEPS, input, cfg.surrogate, false, true);
    sim.run_steps(STEPS as u64);
    let mut engine_all = Vec::new();
    for (layer, name) in [(0, "conv"), (1, "pool"), (2, "out")] {
        let engine = engine_spikes(&sim, name);
        let mut trained = Vec::new();
        for (t, s) in rec[layer].iter().enumerate() {
            let v: Vec<f64> = s.clone().into_data().convert::<f64>().to_vec().unwrap();
            trained.extend(v.iter().enumerate().filter(|(_, x)| **x == 1.0).map(|(i, _)| (t, i as i64)));
        }
        assert!(engine.len() > 10, "layer {name}: {} spikes; the test needs activity", engine.len());
        assert_eq!(trained, engine, "layer {name}: training forward and cpu engine differ");
        engine_all.push(engine);
    }
    // The written weights (kernel [3, 1, 3, 3], dense [4, 27]) load into the same
    // projections of a `run` scenario and give the same spikes.
    let dir = tempfile::tempdir().unwrap();
    let stats = [EpochStats { epoch: 1, loss: 0.0, train_accuracy: 0.0, test_accuracy: 0.0, lr: 0.0, samples_per_s: 0.0 }];
    // f32 weights would round: write the f64 network's own weights.
    write_outputs(dir.path(), &spec, &params, &stats, &cfg, "flex").unwrap();
    let conv = spikeworld::util::npy::read_npy_f64(&dir.path().join("weights/conv1.npy"), None).unwrap();
    assert_eq!(conv.shape, [3, 1, 3, 3]);
    let file = |n: &str| format!("{{ file = \"{}\" }}", dir.path().join(format!("weights/{n}.npy")).display());
    let mut again = build(&conv_scenario(&file("conv1"), &file("fc")));
    again.run_steps(STEPS as u64);
    for (i, name) in ["conv", "pool", "out"].iter().enumerate() {
        let got = engine_spikes(&again, name);
        // The written weights are f32 (training's precision): the spikes may only differ
        // where a charge is within f32 rounding of the threshold; none is here.
        assert_eq!(got, engine_all[i], "layer {name}: the written weights run differently");
    }
}

/// Writes an N-MNIST-like folder: `per_class` samples of digits 0 and 1; class 0's events
/// fall on a patch at the left edge of the sensor, class 1's at the right edge.
fn nmnist_folder(root: &Path, per_class: usize) {
    for label in 0..2u8 {
        let d = root.join(label.to_string());
        std::fs::create_dir_all(&d).unwrap();
        for s in 0..per_class {
            let mut bytes = Vec::new();
            for e in 0..40u32 {
                let x = e % 4 + 30 * u32::from(label);
                let y = (e + s as u32) % 8 + 13;
                let ts = e * 1000;
                let p = (e % 2) as u8;
                bytes.extend([x as u8, y as u8, (p << 7) | ((ts >> 16) & 0x7f) as u8, (ts >> 8) as u8, ts as u8]);
            }
            std::fs::write(d.join(format!("{s:05}.bin")), bytes).unwrap();
        }
    }
}

fn nmnist_scenario(x: &str, y: &str) -> String {
    format!(
        r#"
[simulation]
dt = "1 ms"
t_stop = "20 ms"

[[population]]
name = "out"
size = 2
model = "sj_lif"
params = {{ tau = 2.0, v_threshold = 1.0 }}

[[encoder]]
name = "dvs"
kind = "poisson"
shape = [2, 34, 34]
rate = "10 Hz"

[[projection]]
name = "fc"
from = "dvs"
to = "out"
rule = "all_to_all"
receptor = "x"
weight = {{ dist = "uniform", low = 0.0, high = 0.2 }}

[train]
input = "dvs"
output = "out"
trainable = ["fc"]
x = "{x}"
{y}
test_count = 4
steps = 4
epochs = 10
batch_size = 4
loss = "ce_rate"
lr = 0.05
"#
    )
}

#[test]
fn an_nmnist_folder_trains_with_one_frame_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Train");
    nmnist_folder(&root, 10);
    let path = dir.path().join("nmnist.toml");
    std::fs::write(&path, nmnist_scenario("Train", "")).unwrap();
    let b = builder();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    // Every sample's step-t input is frame t of SpikingJelly's integration by number.
    let data = Dataset::load(&cfg, &sim.scenario.path, 2 * 34 * 34, 2).unwrap();
    assert_eq!((data.frames, data.y.len()), (4, 20));
    for (i, &row) in data.rows.iter().enumerate() {
        let label = row / 10;
        assert_eq!(data.y[i], label, "folder order: ten of digit 0, then ten of digit 1");
        let ev = spikeworld_train_surrogate::nmnist::read_bin(&root.join(label.to_string()).join(format!("{:05}.bin", row % 10))).unwrap();
        let frames = spikeworld_train_surrogate::nmnist::frames_by_number(&ev, 4, 34, 34);
        for t in 0..4 {
            assert_eq!(data.frame(i, t), &frames[t * 2312..(t + 1) * 2312], "sample {i}, step {t}");
        }
    }
    let (_, _, stats) = train(&sim, &cfg, &TrainOptions::default(), |_| {}).unwrap();
    let last = stats.last().unwrap();
    assert!(last.train_accuracy == 1.0 && last.test_accuracy == 1.0, "left against right should be learnt: {last:?}");
    // A folder brings its labels: `y` beside it is an error, as is a missing `y` without one.
    for (text, want) in [(nmnist_scenario("Train", "y = \"labels.npy\""), "leave y out"), (nmnist_scenario("nowhere.npy", ""), "train.y")] {
        std::fs::write(&path, text).unwrap();
        let e = Scenario::load(&path, b.registry(), &LoadOptions::default()).err().unwrap_or_else(|| panic!("should be refused: {want}")).to_string();
        assert!(e.contains(want) && e.contains("nmnist.toml:"), "expected `{want}` in: {e}");
    }
}
