//! CPU speed of surrogate-gradient training on the anchor task of
//! `shared/bench/train_anchor.py` (the Open Neuromorphic SNN-library benchmark shape, scaled
//! for a 2-core CPU): one Linear(N → N, no bias) + one LIF layer (SpikingJelly's `LIFNode`
//! defaults: τ = 2, V_th = 1, hard reset to 0, decay_input), batch 16, T = 100, input spikes
//! with p = 0.1, loss = output.sum(); forward and backward timed separately.
//!
//! Usage: `target/release/examples/anchor N [RUNS] [T] [cuda|wgpu]` (RUNS defaults to 5, T
//! to 100; 2 warm-ups first). Prints `RESULT {...}` with the medians (and min, max) in
//! seconds. `cuda` (a build with `--features cuda`) runs the same on burn's CUDA backend
//! under autodiff, layer by layer with the fused layer's CubeCL kernels (`src/cube/`): the
//! GPU anchor's shape is `N 5 500 cuda` (`shared/bench/gpu/train_anchor_gpu.py`, T = 500).
//! `wgpu` (`--features wgpu`) runs those kernels on burn-wgpu (on lavapipe, a check, not a
//! speed).
//!
//! The network is a scenario (encoder → `fc` → `out`) read through the training plugin
//! exactly as `spikeworld train` reads it, and run on burn's Flex CPU backend under autodiff
//! in f32. Note: spikeworld's layer has the simulation's one-step delivery delay (the input
//! of step t acts at step t + 1, so the last step's input is unused and step 0 sees none);
//! the work per step is the same as SpikingJelly's (one [T·B, N] × [N, N] matmul for the
//! whole input, then T LIF steps), only shifted by one step.

use std::path::Path;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexDevice;
use spikeworld_train_surrogate::fused::{CpuTrain, SeqLif};
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::TrainPlugin;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::net::{Net, NetSpec};

const B: usize = 16;
const P: f64 = 0.1;

fn scenario_text(n: usize, steps: usize) -> String {
    // torch.nn.Linear's default init: U(−1/sqrt(fan_in), 1/sqrt(fan_in)).
    let bound = 1.0 / (n as f64).sqrt();
    format!(
        r#"
[simulation]
dt = "1 ms"
t_stop = "{steps} ms"
seed = 1

[[population]]
name = "out"
size = {n}
model = "sj_lif"
[population.params]
tau = 2.0
v_threshold = 1.0
v_reset = 0.0
reset = "hard"
decay_input = "true"

[[encoder]]
name = "input"
kind = "poisson"
size = {n}
rate = "0 Hz"

[[projection]]
name = "fc"
from = "input"
to = "out"
rule = "all_to_all"
receptor = "x"
weight = {{ dist = "uniform", low = {lo:e}, high = {bound:e} }}

[train]
input = "input"
output = "out"
trainable = ["fc"]
x = "none.npy"
y = "none.npy"
steps = {steps}
batch_size = {B}
surrogate = "sigmoid"
alpha = 4.0
"#,
        lo = -bound,
    )
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len();
    let med = if m % 2 == 1 {
        s[m / 2]
    } else {
        0.5 * (s[m / 2 - 1] + s[m / 2])
    };
    (med, s[0], s[m - 1])
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse().expect("N: a positive integer"))
        .unwrap_or(4096);
    let runs: usize = args
        .next()
        .map(|a| a.parse().expect("RUNS: a positive integer"))
        .unwrap_or(5);
    let steps: usize = args
        .next()
        .map(|a| a.parse().expect("T: a positive integer"))
        .unwrap_or(100);
    assert!(n > 0 && runs > 0 && steps > 0, "N, RUNS and T must be positive");
    match args.next().as_deref() {
        None | Some("cpu") => bench::<CpuTrain>(n, runs, steps, &FlexDevice, "flex"),
        #[cfg(feature = "cuda")]
        Some("cuda") => bench::<spikeworld_train_surrogate::fused::CudaTrain>(n, runs, steps, &Default::default(), "cuda"),
        #[cfg(feature = "wgpu")]
        Some("wgpu") => bench::<spikeworld_train_surrogate::cube::CubeTrain<burn_wgpu::WgpuRuntime, i32, u32>>(n, runs, steps, &Default::default(), "wgpu"),
        Some(other) => panic!("unknown device {other}: cpu, cuda in a build with --features cuda, wgpu with --features wgpu"),
    }
}

fn bench<D: SeqLif + AutodiffBackend>(n: usize, runs: usize, steps: usize, device: &D::Device, name: &str) {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(TrainPlugin);
    let sc = Scenario::from_str(
        &scenario_text(n, steps),
        Path::new("anchor.toml"),
        b.registry(),
        &LoadOptions::default(),
    )
    .expect("anchor scenario");
    let sim = b.build(sc, &RunOptions::default()).expect("build");
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let spec = NetSpec::from_sim(&sim, &cfg).expect("net spec");
    drop(sim);
    let (net, params) = Net::<D>::new(spec, device, DType::F32);

    // A fixed input raster [T][B][N] with p = 0.1, made (and put on the device) before timing.
    let mut rng = Stream::new(12345, 0, purpose::TRAIN, 0);
    let xs: Vec<Tensor<D, 2>> = (0..steps)
        .map(|_| {
            let v: Vec<f32> = (0..B * n)
                .map(|_| if rng.uniform() < P { 1.0 } else { 0.0 })
                .collect();
            Tensor::from_data(TensorData::new(v, [B, n]), device)
        })
        .collect();

    let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
    let mut out_spikes = 0.0f32;
    for rep in 0..2 + runs {
        let t0 = Instant::now();
        let (count, _) = net.forward(
            &params,
            steps,
            |t| xs[t].clone(),
            cfg.surrogate,
            cfg.detach_reset,
            false,
        );
        let loss = count.sum();
        // Force completion: read the loss back to the host.
        out_spikes = loss
            .clone()
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("f32")[0];
        let t1 = Instant::now();
        let grads = loss.backward();
        let g = params.weights[0]
            .val()
            .grad(&grads)
            .expect("fc has a gradient");
        let g0: f32 = g
            .slice([0..1, 0..1])
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("f32")[0];
        let t2 = Instant::now();
        std::hint::black_box(g0);
        if rep >= 2 {
            fwd.push((t1 - t0).as_secs_f64());
            bwd.push((t2 - t1).as_secs_f64());
        }
    }
    let (f, fmin, fmax) = stats(&fwd);
    let (bk, bmin, bmax) = stats(&bwd);
    eprintln!("output spikes (last run): {out_spikes}");
    println!(
        "RESULT {{\"lib\":\"spikeworld\",\"N\":{n},\"B\":{B},\"T\":{steps},\"device\":\"{name}\",\"fwd_s\":{f:.4},\"bwd_s\":{bk:.4},\"fwd_min\":{fmin:.4},\"fwd_max\":{fmax:.4},\"bwd_min\":{bmin:.4},\"bwd_max\":{bmax:.4}}}"
    );
}
