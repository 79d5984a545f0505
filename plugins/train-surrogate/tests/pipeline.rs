//! The training pipeline (SpikingFlow's `ModelPipeline`): the digits network split into two
//! partitions on two threads, micro-batches flowing through them, gives the gradients of
//! one partition bit for bit, and trains to the same weights.

use std::path::Path;

use burn::module::Param;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use burn_flex::FlexDevice;
use spikeworld::prelude::*;
use spikeworld_train_surrogate::TrainPlugin;
use spikeworld_train_surrogate::config::TrainConfig;
use spikeworld_train_surrogate::fused::CpuTrain;
use spikeworld_train_surrogate::net::{Net, NetSpec, Params, Pass};
use spikeworld_train_surrogate::pipeline::{Pipeline, batch_gradients};
use spikeworld_train_surrogate::train::{Dataset, TrainOptions, dropout_masks, input_at, loss_of, train};

type Inner = <CpuTrain as AutodiffBackend>::InnerBackend;

fn sim(overrides: &[&str]) -> Sim {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(spikeworld_synapse_basic::SynapsePlugin).add_plugin(TrainPlugin);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/train_digits.toml");
    let sc = Scenario::load(&path, b.registry(), &LoadOptions { overrides: overrides.iter().map(|s| s.to_string()).collect(), ..Default::default() }).unwrap();
    b.build(sc, &RunOptions::default()).unwrap()
}

/// Every parameter's gradient (bits), in parameter order.
fn grad_bits(params: &Params<CpuTrain>, g: &GradientsParams) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = params.weights.iter().map(|w: &Param<Tensor<CpuTrain, 2>>| g.get::<Inner, 2>(w.id).expect("a gradient").into_data().convert::<f32>().to_vec::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()).collect();
    out.extend(params.plif_w.iter().map(|w| g.get::<Inner, 1>(w.id).map_or(Vec::new(), |t| t.into_data().convert::<f32>().to_vec::<f32>().unwrap().iter().map(|x| x.to_bits()).collect())));
    out
}

/// One batch of 32 digits (with time-shared dropout on the hidden layer): the unsplit
/// network's gradients; two partitions with one micro-batch give them bit for bit; with
/// four micro-batches, one and two partitions give the same bits, within rounding of the
/// whole batch's.
#[test]
fn two_partitions_give_the_gradients_of_one() {
    gradients_of_one(&["train.dropout.hidden=0.2"], true);
}

/// The same when the first partition has nothing to train (`fc1` fixed): it receives
/// gradients it cannot use, and hands nothing back.
#[test]
fn a_first_partition_without_parameters_passes() {
    gradients_of_one(&["train.trainable=[\"fc2\"]"], false);
}

fn gradients_of_one(overrides: &[&str], dropout: bool) {
    let sim = sim(overrides);
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let spec = NetSpec::from_sim(&sim, &cfg).unwrap();
    let classes = spec.layers[spec.output].size;
    let data = Dataset::load(&cfg, &sim.scenario.path, spec.n_in, classes).unwrap();
    let device = FlexDevice;
    let (net, params) = Net::<CpuTrain>::new(spec.clone(), &device, burn::tensor::DType::F32);
    assert_eq!(net.spec.layers.len(), 2, "hidden and output layers");
    let idx: Vec<usize> = (0..32).map(|i| i * 7 % 1400).collect();
    let labels: Vec<usize> = idx.iter().map(|&i| data.y[i]).collect();
    let masks = dropout_masks(&net, &cfg, &idx, 0, &device);
    assert_eq!(masks.iter().any(Option::is_some), dropout, "dropout masks");
    let steps = cfg.steps as usize;
    let v_th = net.spec.layers[net.spec.output].v_th;
    let pass = Pass { readout: cfg.loss.readout(), ..Pass::new(steps, cfg.surrogate, cfg.detach_reset) };
    let out = net.run_masked(&params, |t| input_at(&data, &idx, &cfg, t, &device), &pass, &masks);
    let whole = grad_bits(&params, &GradientsParams::from_grads(loss_of(cfg.loss, &out, &labels, steps, v_th, &device).backward(), &params));
    let input = |rows: std::ops::Range<usize>, t: usize| input_at(&data, &idx[rows], &cfg, t, &device);
    let loss = |out: &spikeworld_train_surrogate::net::Output<CpuTrain>, rows: std::ops::Range<usize>| loss_of(cfg.loss, out, &labels[rows], steps, v_th, &device);
    let piped = |parts: usize, micro: usize| {
        let pipe = Pipeline::split(&net.spec, parts, micro).unwrap();
        assert_eq!(pipe.partitions.len(), parts);
        let (results, g) = batch_gradients(&net, &params, &pipe, idx.len(), &input, &masks, &pass, &loss);
        assert_eq!(results.len(), micro);
        grad_bits(&params, &g)
    };
    assert!(piped(2, 1) == whole, "two partitions, one micro-batch: the gradients differ from the unsplit network's");
    let one = piped(1, 4);
    let two = piped(2, 4);
    assert!(two == one, "four micro-batches: two partitions differ from one");
    for (a, b) in one.iter().zip(&whole) {
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f32::from_bits(x), f32::from_bits(y));
            assert!((x - y).abs() <= 1e-5 + 1e-3 * y.abs(), "micro-batches: {x} against the whole batch's {y}");
        }
    }
    assert!(one != whole, "micro-batches sum in another order (else this test shows nothing)");
    let e = Pipeline::split(&net.spec, 3, 1).err().expect("3 partitions of 2 layers");
    assert!(e.contains("2 layers"), "{e}");
}

/// `train.partitions = 2` with `train.micro_batches = 4` trains to the bits of one
/// partition with four micro-batches, and learns; a bad value is refused with the key.
#[test]
fn a_pipelined_training_equals_one_partition() {
    let weights = |p: &Params<CpuTrain>| -> Vec<Vec<u32>> { p.weights.iter().map(|w| w.val().into_data().convert::<f32>().to_vec::<f32>().unwrap().iter().map(|x| x.to_bits()).collect()).collect() };
    let run = |parts: &str| {
        let sim = sim(&["train.epochs=2", parts, "train.micro_batches=4"]);
        let cfg = sim.world.resource::<TrainConfig>().clone();
        train(&sim, &cfg, &TrainOptions::default(), |_| {}).unwrap()
    };
    let (_, p1, s1) = run("train.partitions=1");
    let (_, p2, s2) = run("train.partitions=2");
    assert!(weights(&p1) == weights(&p2), "two partitions trained other weights than one");
    assert_eq!(s1.iter().map(|s| s.loss.to_bits()).collect::<Vec<_>>(), s2.iter().map(|s| s.loss.to_bits()).collect::<Vec<_>>(), "per-epoch losses");
    assert!(s2[1].test_accuracy > 0.8, "it learns: test accuracy {}", s2[1].test_accuracy);
    let sim = sim(&["train.partitions=3"]);
    let cfg = sim.world.resource::<TrainConfig>().clone();
    let e = train(&sim, &cfg, &TrainOptions::default(), |_| {}).err().expect("refused");
    assert!(e.contains("train.partitions = 3") && e.contains("train_digits.toml"), "{e}");
}
