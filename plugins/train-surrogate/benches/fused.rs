#![allow(missing_docs, reason = "criterion macros generate undocumented items")]
//! One LIF layer (N = 1024, fed by a dense projection from 256 inputs) trained over
//! T = 100 steps, batch 16: forward + backward, step by step against the fused layer
//! (`src/fused.rs`, `src/layered.rs`).
//! `cargo bench -p spikeworld-train-surrogate --bench fused`

use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexDevice;
use criterion::{Criterion, criterion_group, criterion_main};
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::fused::CpuTrain;
use spikeworld_train_surrogate::net::{EdgeOp, EdgeSpec, LayerSpec, Net, NetSpec, NeuronForm, Pass};
use spikeworld_train_surrogate::surrogate::Surrogate;

const T: usize = 100;
const B: usize = 16;
const N_IN: usize = 256;
const N: usize = 1024;

fn bench(c: &mut Criterion) {
    let mut s = Stream::new(1, 0, purpose::TRAIN, 0);
    let w0: Vec<f64> = (0..N * N_IN).map(|_| s.uniform() * 0.1 - 0.02).collect();
    let spec = NetSpec {
        layers: vec![LayerSpec { pop: 0, name: "lif".into(), size: N, form: NeuronForm::Lif { tau: 2.0, decay_input: true }, v_th: 1.0, v_reset: Some(0.0), v0: 0.0 }],
        edges: vec![EdgeSpec { proj: 0, name: "fc".into(), from: None, to: 0, trainable: true, w0, n_src: N_IN, op: EdgeOp::Dense, filter: None }],
        n_in: N_IN,
        output: 0,
    };
    let device = FlexDevice;
    let (net, params) = Net::<CpuTrain>::new(spec, &device, DType::F32);
    let x: Vec<Tensor<CpuTrain, 2>> = (0..T).map(|_| Tensor::from_data(TensorData::new((0..B * N_IN).map(|_| if s.uniform() < 0.2 { 1.0f32 } else { 0.0 }).collect::<Vec<_>>(), [B, N_IN]), &device)).collect();
    let sg = Surrogate::parse("atan", None).unwrap();
    let mut g = c.benchmark_group("lif_layer_fwd_bwd");
    g.sample_size(10);
    for (name, fused) in [("per_step", false), ("fused", true)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = net.run(&params, |t| x[t].clone(), &Pass { fused, ..Pass::new(T, sg, false) });
                let grads = out.count.sum().backward();
                params.weights[0].val().grad(&grads).expect("a gradient")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
