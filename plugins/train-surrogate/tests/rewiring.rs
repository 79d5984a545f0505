//! SpikingFlow's AdamRewiring: steps against the formula computed here (with the noise
//! drawn from the documented stream), dormant parameters stay at 0, no parameter changes
//! sign, and a training run on the digits keeps every weight's initial sign.

use std::path::Path;

use burn::module::Param;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::{Tensor, TensorData};
use burn_flex::FlexDevice;
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::TrainPlugin;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::fused::CpuTrain;
use spikeworld_train_surrogate::net::{NetSpec, Params};
use spikeworld_train_surrogate::rewiring::AdamRewiring;
use spikeworld_train_surrogate::train::{TrainOptions, train};

const P0: [f32; 6] = [0.02, -0.5, 0.0, 0.3, -0.001, 1.0];
const C: [f32; 6] = [3.0, -1.0, 2.0, 0.5, 4.0, -0.2]; // loss = Σ c·p: gradient c

/// The formula, step by step, in f32 (SpikingFlow's order of operations).
fn reference(steps: u64, lr: f32, t: f32, l1: f32, seed: u64) -> Vec<Vec<f32>> {
    let mut p = P0.to_vec();
    let sign: Vec<f32> = p.iter().map(|&x| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { 0.0 }).collect();
    let mut dormant: Vec<f32> = p.iter().map(|&x| if x != 0.0 { 1.0 } else { 0.0 }).collect();
    let (mut m, mut v) = (vec![0.0f32; 6], vec![0.0f32; 6]);
    let mut out = Vec::new();
    for k in 1..=steps {
        let bc1 = 1.0 - 0.9f32.powi(k as i32);
        let bc2 = 1.0 - 0.999f32.powi(k as i32);
        let s = lr / bc1;
        let mut noise = Stream::new(seed, 0, purpose::REWIRING, k);
        for j in 0..6 {
            m[j] = m[j] * 0.9 + C[j] * (1.0 - 0.9);
            v[j] = v[j] * 0.999 + C[j] * C[j] * (1.0 - 0.999);
            let denom = v[j].sqrt() / bc2.sqrt() + 1e-8;
            let mut x = p[j] - s * (m[j] / denom);
            x -= l1 * s * sign[j];
            x += noise.normal() as f32 * t * s;
            x = (x * dormant[j] * sign[j]).max(0.0) * sign[j];
            dormant[j] = if x != 0.0 { 1.0 } else { 0.0 };
            p[j] = x;
        }
        out.push(p.clone());
    }
    out
}

#[test]
fn steps_follow_the_formula_and_dormant_parameters_stay_zero() {
    let device = FlexDevice;
    let (lr, t, l1, seed) = (0.01f32, 0.5f32, 0.05f32, 3u64);
    let want = reference(40, lr, t, l1, seed);
    let mut opt = AdamRewiring::new(f64::from(t), f64::from(l1), 0.0, seed);
    let mut params = Params::<CpuTrain> { weights: vec![Param::from_tensor(Tensor::from_data(TensorData::new(P0.to_vec(), [2, 3]), &device).require_grad())], plif_w: Vec::new() };
    let c = Tensor::<CpuTrain, 2>::from_data(TensorData::new(C.to_vec(), [2, 3]), &device);
    for (k, want) in want.iter().enumerate() {
        let loss = (params.weights[0].val() * c.clone()).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &params);
        params = opt.step(f64::from(lr), params, grads);
        let got: Vec<f32> = params.weights[0].val().into_data().convert::<f32>().to_vec().unwrap();
        for j in 0..6 {
            assert!((got[j] - want[j]).abs() <= 1e-6 * (1.0 + want[j].abs()), "step {}: p[{j}] = {} vs {}", k + 1, got[j], want[j]);
            assert!(got[j] * P0[j] >= 0.0, "step {}: p[{j}] changed sign", k + 1);
        }
        assert_eq!(got[2], 0.0, "a zero parameter is dormant from the start");
    }
    // The gradient pushes p[0] (0.02, gradient +3), p[3] (0.3, +0.5) and p[4] (−0.001, +4)
    // across zero: they die and stay dead; p[1] (−0.5, gradient −1) has not reached zero
    // yet, p[5] (1.0, gradient −0.2) grows.
    let last = want.last().unwrap();
    assert_eq!((last[0], last[3], last[4]), (0.0, 0.0, 0.0), "{last:?}");
    assert!(last[1] < 0.0 && last[1] > -0.5 && last[5] > 1.0, "{last:?}");
    assert_eq!(opt.dormant_fraction(), vec![4.0 / 6.0]);
    // Its state round-trips through a record.
    // (The optimizer runs on any training backend: name the CPU's.)
    let record = <AdamRewiring as Optimizer<Params<CpuTrain>, CpuTrain>>::to_record(&opt);
    let again = <AdamRewiring as Optimizer<Params<CpuTrain>, CpuTrain>>::load_record(AdamRewiring::new(f64::from(t), f64::from(l1), 0.0, seed), record);
    assert_eq!((again.step, &again.state), (opt.step, &opt.state));
}

#[test]
fn training_with_rewiring_keeps_every_initial_sign() {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(TrainPlugin);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/train_digits.toml");
    let sets = ["train.optimizer=\"adam_rewiring\"", "train.rewiring_l1=0.02", "train.epochs=4", "train.schedule=\"constant\""].map(String::from).to_vec();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions { overrides: sets, ..Default::default() }).unwrap();
    let sim = b.build(sc, &RunOptions::default()).unwrap();
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let spec = NetSpec::from_sim(&sim, &cfg).unwrap();
    let (_, params, stats) = train(&sim, &cfg, &TrainOptions::default(), |_| {}).unwrap();
    let (mut dead, mut total) = (0, 0);
    for (e, w) in spec.edges.iter().zip(&params.weights) {
        let got: Vec<f32> = w.val().into_data().convert::<f32>().to_vec().unwrap();
        for (k, (&g, &w0)) in got.iter().zip(&e.w0).enumerate() {
            assert!(f64::from(g) * w0 >= 0.0, "{}[{k}]: {w0} became {g}", e.name);
            dead += usize::from(g == 0.0);
            total += 1;
        }
    }
    let acc = stats.last().unwrap().test_accuracy;
    assert!(dead > total / 20, "{dead} of {total} weights dormant: the L1 penalty should prune some");
    assert!(acc > 0.85, "test accuracy {acc} with {dead} of {total} weights pruned");
}
