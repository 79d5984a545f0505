//! `spikeworld train` on a GPU backend (`train_on`, `--device wgpu|cuda`) against the CPU:
//! run on burn-wgpu, which runs on Mesa's lavapipe where there is no GPU
//! (`scripts/install-vulkan.sh`); the same tests run on burn-cuda where there is one
//! (ignored elsewhere: `benches/gpu/sitting.sh cubetest`).
//!
//! - The digits task trains as on the CPU: the same per-epoch losses to f32 rounding of
//!   the sums (the matmuls add in another order), the same accuracies, nearby weights.
//! - A run resumed from its epoch-1 checkpoint gives the straight run's weights bit for
//!   bit, with Bernoulli input, dropout, a cosine schedule and AdamRewiring (whose state
//!   and noise carry over).
//! - The convolutional network (per-step path: conv2d and pooling on the device) trains an
//!   epoch as on the CPU, and twice to the same bits.
//! - A pipeline (`train.partitions`) is refused: it runs on the CPU only.
#![cfg(any(feature = "wgpu", feature = "cuda"))]

use std::path::Path;

use burn::module::Param;
use burn::tensor::Tensor;
use burn_flex::FlexDevice;
use spikeworld::prelude::*;
use spikeworld_train_surrogate::TrainPlugin;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::fused::{CpuTrain, TrainBackend};
use spikeworld_train_surrogate::net::Params;
use spikeworld_train_surrogate::train::{EpochStats, Progress, TrainOptions, train_on};

fn sim(sets: &[&str]) -> Sim {
    sim_of("train_digits.toml", sets)
}

fn sim_of(file: &str, sets: &[&str]) -> Sim {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin)
        .add_plugin(TrainPlugin);
    // SPIKEWORLD_ROOT: the repository, where the test binary runs away from its build tree
    // (benches/gpu/sitting.sh on the GPU host).
    let root = std::env::var_os("SPIKEWORLD_ROOT").map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."), std::path::PathBuf::from);
    let path = root.join("scenarios").join(file);
    let overrides = sets.iter().map(|s| s.to_string()).collect();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions { overrides, ..Default::default() }).unwrap();
    b.build(sc, &RunOptions::default()).unwrap()
}

fn weights<B: TrainBackend>(p: &Params<B>) -> Vec<Vec<f32>> {
    p.weights.iter().map(|w: &Param<Tensor<B, 2>>| w.val().into_data().convert::<f32>().to_vec::<f32>().unwrap()).collect()
}

fn fit<B: TrainBackend>(sets: &[&str], device: &B::Device, opts: &TrainOptions) -> (Vec<Vec<f32>>, Vec<EpochStats>) {
    fit_of::<B>("train_digits.toml", sets, device, opts)
}

fn fit_of<B: TrainBackend>(file: &str, sets: &[&str], device: &B::Device, opts: &TrainOptions) -> (Vec<Vec<f32>>, Vec<EpochStats>) {
    let sim = sim_of(file, sets);
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let (_, params, stats) = train_on::<B>(&sim, &cfg, opts, device, |_| {}).unwrap();
    (weights(&params), stats)
}

fn follows_the_cpu<B: TrainBackend>(device: &B::Device) {
    let sets = ["train.epochs=3"];
    let (w_cpu, s_cpu) = fit::<CpuTrain>(&sets, &FlexDevice, &TrainOptions::default());
    let (w_dev, s_dev) = fit::<B>(&sets, device, &TrainOptions::default());
    assert_eq!(s_dev.len(), 3);
    for (c, d) in s_cpu.iter().zip(&s_dev) {
        let rel = (c.loss - d.loss).abs() / c.loss;
        eprintln!("epoch {}: loss {} (cpu {}, rel {rel:.1e}); train accuracy {} (cpu {}); test {} (cpu {})", d.epoch, d.loss, c.loss, d.train_accuracy, c.train_accuracy, d.test_accuracy, c.test_accuracy);
        assert!(rel < 1e-5, "epoch {}: loss {} against the CPU's {}", d.epoch, d.loss, c.loss);
        // 1797 samples: a few may fall on the other side of a threshold.
        assert!((c.train_accuracy - d.train_accuracy).abs() <= 0.005, "epoch {}: train accuracy {} against {}", d.epoch, d.train_accuracy, c.train_accuracy);
        assert!((c.test_accuracy - d.test_accuracy).abs() <= 0.01, "epoch {}: test accuracy {} against {}", d.epoch, d.test_accuracy, c.test_accuracy);
    }
    assert!(s_dev[2].test_accuracy > 0.9, "it learns: test accuracy {}", s_dev[2].test_accuracy);
    for (c, d) in w_cpu.iter().zip(&w_dev) {
        let scale = c.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let diff = c.iter().zip(d).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        eprintln!("weights: largest difference {diff:.2e} of largest |w| {scale:.3}");
        assert!(diff <= 1e-3 * scale, "weights differ by {diff} (largest |w| {scale})");
    }
}

/// The convolutional digits network (`conv2d` → LIF → `pool2d` → dense → LIF), which takes
/// the per-step path (burn's conv2d and pooling on the device): an epoch as on the CPU, and
/// the same bits twice.
fn conv_follows_the_cpu<B: TrainBackend>(device: &B::Device) {
    let (file, sets, none) = ("train_digits_conv.toml", ["train.epochs=1"], TrainOptions::default());
    let (w_cpu, s_cpu) = fit_of::<CpuTrain>(file, &sets, &FlexDevice, &none);
    let (w_dev, s_dev) = fit_of::<B>(file, &sets, device, &none);
    let (w_again, _) = fit_of::<B>(file, &sets, device, &none);
    let (c, d) = (&s_cpu[0], &s_dev[0]);
    eprintln!("conv: loss {} (cpu {}); train accuracy {} (cpu {}); test {} (cpu {})", d.loss, c.loss, d.train_accuracy, c.train_accuracy, d.test_accuracy, c.test_accuracy);
    assert!((c.loss - d.loss).abs() / c.loss < 1e-4, "loss {} against the CPU's {}", d.loss, c.loss);
    assert!((c.test_accuracy - d.test_accuracy).abs() <= 0.02, "test accuracy {} against {}", d.test_accuracy, c.test_accuracy);
    for (c, d) in w_cpu.iter().zip(&w_dev) {
        let scale = c.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let diff = c.iter().zip(d).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        eprintln!("conv weights: largest difference {diff:.2e} of largest |w| {scale:.3}");
        assert!(diff <= 1e-3 * scale, "weights differ by {diff} (largest |w| {scale})");
    }
    assert!(w_dev == w_again, "two runs on the device trained other weights");
}

fn resumes_bit_for_bit<B: TrainBackend>(device: &B::Device) {
    let sets = ["train.epochs=2", "train.encoding=\"bernoulli\"", "train.schedule=\"cosine\"", "train.dropout.hidden=0.2", "train.optimizer=\"adam_rewiring\"", "train.rewiring_l1=0.01"];
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let (w_straight, s_straight) = fit::<B>(&sets, device, &TrainOptions { checkpoint_dir: Some(a.clone()), resume: None });
    let sim = sim(&sets);
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let mut seen = Vec::new();
    let opts = TrainOptions { checkpoint_dir: Some(b), resume: Some(a.join("epoch_0001.swtr")) };
    let (_, p, s_resumed) = train_on::<B>(&sim, &cfg, &opts, device, |p| {
        if let Progress::Epoch(s) = p {
            seen.push(s.epoch);
        }
    })
    .unwrap();
    assert_eq!(seen, vec![2], "only epoch 2 runs after resuming from epoch 1");
    let bits = |s: &[EpochStats]| s.iter().map(|s| s.loss.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&s_straight), bits(&s_resumed), "per-epoch losses");
    assert!(w_straight == weights(&p), "the resumed run's weights differ from the straight run's");
}

fn pipeline_is_refused<B: TrainBackend>(device: &B::Device) {
    let sim = sim(&["train.epochs=1", "train.partitions=2", "train.micro_batches=4"]);
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let e = train_on::<B>(&sim, &cfg, &TrainOptions::default(), device, |_| {}).err().expect("refused");
    assert!(e.contains("CPU only") && e.contains("train_digits.toml"), "{e}");
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use spikeworld_train_surrogate::cube::WgpuTrain;

    #[test]
    fn training_on_wgpu_follows_the_cpu() {
        super::follows_the_cpu::<WgpuTrain>(&Default::default());
    }

    #[test]
    fn a_training_on_wgpu_resumes_bit_for_bit() {
        super::resumes_bit_for_bit::<WgpuTrain>(&Default::default());
    }

    #[test]
    fn a_convolutional_network_on_wgpu_follows_the_cpu() {
        super::conv_follows_the_cpu::<WgpuTrain>(&Default::default());
    }

    #[test]
    fn a_pipeline_on_wgpu_is_refused() {
        super::pipeline_is_refused::<WgpuTrain>(&Default::default());
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use spikeworld_train_surrogate::fused::CudaTrain;

    #[test]
    #[ignore = "needs a CUDA device: benches/gpu/sitting.sh cubetest"]
    fn training_on_cuda_follows_the_cpu() {
        super::follows_the_cpu::<CudaTrain>(&Default::default());
    }

    #[test]
    #[ignore = "needs a CUDA device: benches/gpu/sitting.sh cubetest"]
    fn a_training_on_cuda_resumes_bit_for_bit() {
        super::resumes_bit_for_bit::<CudaTrain>(&Default::default());
    }

    #[test]
    #[ignore = "needs a CUDA device: benches/gpu/sitting.sh cubetest"]
    fn a_convolutional_network_on_cuda_follows_the_cpu() {
        super::conv_follows_the_cpu::<CudaTrain>(&Default::default());
    }

    #[test]
    #[ignore = "needs a CUDA device: benches/gpu/sitting.sh cubetest"]
    fn a_pipeline_on_cuda_is_refused() {
        super::pipeline_is_refused::<CudaTrain>(&Default::default());
    }
}
