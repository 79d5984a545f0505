//! The fused layer-by-layer path against the per-step path, on the CPU training backend
//! (f32): the same spikes, bit for bit, and the same gradients (to f32 rounding: the
//! backward sums in another order), for IF and LIF layers, hard and soft resets,
//! `detach_reset`, dropout masks, several surrogates, and losses on counts, first-spike
//! times and (read from the fused op's charges) membrane potentials.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexDevice;
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::config::Loss;
use spikeworld_train_surrogate::fused::{CpuTrain, SeqLif};
use spikeworld_train_surrogate::net::{EdgeOp, EdgeSpec, LayerSpec, Net, NetSpec, NeuronForm, Pass};
use spikeworld_train_surrogate::surrogate::Surrogate;
use spikeworld_train_surrogate::train::loss_of;

const T: usize = 12;
const B: usize = 5;
const SIZES: [usize; 4] = [20, 30, 25, 6]; // input, three layers

fn draws(n: usize, index: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = Stream::new(11, 0, purpose::TRAIN, index);
    (0..n).map(|_| lo + (hi - lo) * s.uniform()).collect()
}

/// `plif`: the two last layers PLIF (decay_input true, then false) instead of LIF.
fn spec(sizes: [usize; 4], plif: bool) -> NetSpec {
    let layer = |pop: usize, size: usize, form: NeuronForm, v_reset: Option<f64>| LayerSpec { pop, name: format!("l{pop}"), size, form, v_th: 1.0, v_reset, v0: v_reset.unwrap_or(0.0) };
    let edge = |proj: usize, from: Option<usize>, to: usize, n_src: usize, n_tgt: usize, lo: f64, hi: f64| EdgeSpec { proj, name: format!("e{proj}"), from, to, trainable: true, w0: draws(n_src * n_tgt, proj as u64 + 1, lo, hi), n_src, op: EdgeOp::Dense, filter: None };
    NetSpec {
        layers: vec![
            layer(0, sizes[1], NeuronForm::If, None),
            layer(1, sizes[2], if plif { NeuronForm::Plif { w0: 0.3, decay_input: true } } else { NeuronForm::Lif { tau: 2.0, decay_input: true } }, Some(-0.1)),
            layer(2, sizes[3], if plif { NeuronForm::Plif { w0: -0.5, decay_input: false } } else { NeuronForm::Lif { tau: 3.0, decay_input: false } }, Some(0.0)),
        ],
        edges: vec![
            edge(0, None, 0, sizes[0], sizes[1], -0.1, 0.3),
            edge(1, Some(0), 1, sizes[1], sizes[2], -0.2, 0.5),
            edge(2, None, 1, sizes[0], sizes[2], -0.1, 0.2), // a skip from the input
            edge(3, Some(1), 2, sizes[2], sizes[3], -0.3, 0.6),
            edge(4, Some(0), 2, sizes[1], sizes[3], -0.1, 0.2), // a skip over a layer
        ],
        n_in: sizes[0],
        output: 2,
    }
}

#[test]
fn fused_layers_give_the_per_step_spikes_and_gradients() {
    check(SIZES, false);
}

/// PLIF layers (1/τ = sigmoid(w), w trained) on the fused path: the same spikes, and the
/// gradients of the weights and of each layer's w.
#[test]
fn plif_layers_too() {
    check(SIZES, true);
}

/// The same with a hidden projection large enough for the spike matmul (`sparse.rs`),
/// which both paths then take.
#[test]
fn with_the_spike_matmul_too() {
    let sizes = [20, 300, 256, 6];
    assert!(sizes[1] * sizes[2] >= spikeworld_train_surrogate::sparse::MIN_WEIGHTS);
    check(sizes, false);
}

/// An f64 network on the CPU training backend takes the per-step path (the fused op is
/// f32 only): it runs, in f64, and its spikes are those of the f32 fused path here.
#[test]
fn f64_networks_take_the_per_step_path() {
    let device = FlexDevice;
    let sg = Surrogate::parse("atan", None).unwrap();
    let x = draws(T * B * SIZES[0], 0, 0.0, 1.0);
    let run = |dtype: DType| {
        let (net, params) = Net::<CpuTrain>::new(spec(SIZES, false), &device, dtype);
        let input = |t: usize| Tensor::<CpuTrain, 2>::from_data(TensorData::new(x[t * B * SIZES[0]..(t + 1) * B * SIZES[0]].to_vec(), [B, SIZES[0]]), (&device, dtype));
        let out = net.run(&params, input, &Pass::new(T, sg, false));
        assert_eq!(out.count.dtype(), dtype);
        out.count.into_data().convert::<f32>().to_vec::<f32>().unwrap()
    };
    let (c64, c32) = (run(DType::F64), run(DType::F32));
    assert!(c64.iter().sum::<f32>() > 10.0, "the output layer spikes");
    // Not bit for bit in general (other roundings); on this small network the counts agree.
    assert_eq!(c64, c32);
}

/// One run's recorded spikes (per layer, per step), output counts, and the gradients of
/// every weight and (PLIF) every layer's w.
type Outcome = (Vec<Vec<Vec<f32>>>, Vec<f32>, Vec<Vec<f32>>);

/// The network of `spec(sizes, plif)` on backend `Bk`, fused or per step, with its loss's
/// readout; `masked`: dropout on the first layer.
#[allow(clippy::too_many_arguments, reason = "one case of the test's grid")]
fn outcome<Bk: SeqLif + AutodiffBackend>(device: &Bk::Device, sizes: [usize; 4], plif: bool, sg: Surrogate, detach_reset: bool, loss: Loss, masked: bool, fused: bool) -> Outcome {
    let x = draws(T * B * sizes[0], 0, 0.0, 1.0);
    let input = |t: usize| Tensor::<Bk, 2>::from_data(TensorData::new(x[t * B * sizes[0]..(t + 1) * B * sizes[0]].iter().map(|&v| v as f32).collect::<Vec<_>>(), [B, sizes[0]]), device);
    let mask: Vec<f32> = draws(B * sizes[1], 9, 0.0, 1.0).iter().map(|&u| if u < 0.3 { 0.0 } else { 1.0 / 0.7 }).collect();
    let labels = [0, 3, 5, 1, 2];
    let host = |t: Tensor<Bk, 2>| -> Vec<f32> { t.into_data().convert::<f32>().to_vec().unwrap() };
    let (net, params) = Net::<Bk>::new(spec(sizes, plif), device, DType::F32);
    let m = Tensor::<Bk, 2>::from_data(TensorData::new(mask, [B, sizes[1]]), device);
    let masks = if masked { vec![Some(m), None, None] } else { Vec::new() };
    let pass = Pass { record: true, readout: loss.readout(), fused, ..Pass::new(T, sg, detach_reset) };
    assert!(net.layered(&pass));
    let out = net.run_masked(&params, input, &pass, &masks);
    let spikes: Vec<Vec<Vec<f32>>> = out.spikes.iter().map(|l| l.iter().map(|s| host(s.clone())).collect()).collect();
    let l = loss_of(loss, &out, &labels, T, 1.0, device);
    let grads = l.backward();
    let mut g: Vec<Vec<f32>> = params.weights.iter().map(|p| p.val().grad(&grads).expect("a gradient").into_data().convert::<f32>().to_vec().unwrap()).collect();
    assert_eq!(params.plif_w.len(), if plif { 2 } else { 0 });
    g.extend(params.plif_w.iter().map(|p| p.val().grad(&grads).expect("a gradient of w").into_data().convert::<f32>().to_vec().unwrap()));
    (spikes, host(out.count), g)
}

/// The grid of cases: surrogates × detach_reset × losses (with and without dropout).
fn cases() -> Vec<(Surrogate, bool, Loss, bool)> {
    let mut v = Vec::new();
    for sg in ["atan", "stbp", "triangle"] {
        for detach_reset in [false, true] {
            for (loss, masked) in [(Loss::MseRate, false), (Loss::CeFirstSpike, true), (Loss::CeRate, true), (Loss::MseMembrane, false), (Loss::CeMembrane, true)] {
                v.push((Surrogate::parse(sg, None).unwrap(), detach_reset, loss, masked));
            }
        }
    }
    v
}

/// `b` (the reference) against `a`: the same spikes and counts bit for bit, gradients within
/// `tol` of the largest.
fn compare(a: &Outcome, b: &Outcome, tol: f32, what: &str) {
    let ((s1, c1, g1), (s0, c0, g0)) = (a, b);
    assert_eq!(s1, s0, "{what}: spikes differ");
    assert_eq!(c1, c0, "{what}: counts differ");
    let active: usize = s0.iter().map(|l| l.iter().flatten().filter(|&&v| v == 1.0).count()).sum();
    assert!(active > 100, "{active} spikes: the test needs activity");
    let largest = g0.iter().flatten().fold(0.0f32, |a, &b| a.max(b.abs()));
    assert!(largest > 1e-4, "{what}: gradients vanish");
    for (e, (a, b)) in g1.iter().zip(g0).enumerate() {
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * largest, "{what}: edge {e} weight {k}: {x} vs reference {y} (largest {largest})");
        }
    }
}

fn check(sizes: [usize; 4], plif: bool) {
    let device = FlexDevice;
    let mut checked = 0;
    for (sg, detach_reset, loss, masked) in cases() {
        let per_step = outcome::<CpuTrain>(&device, sizes, plif, sg, detach_reset, loss, masked, false);
        let fused = outcome::<CpuTrain>(&device, sizes, plif, sg, detach_reset, loss, masked, true);
        compare(&fused, &per_step, 2e-5, &format!("{sg:?} detach {detach_reset} {loss:?}"));
        checked += 1;
    }
    assert_eq!(checked, 30);
}

/// The fused layer's CubeCL kernels (`src/cube/`) in whole networks, on burn-wgpu (Mesa's
/// lavapipe where there is no GPU: `scripts/install-vulkan.sh`) against the CPU's fused
/// path: the same spikes and counts, gradients to f32 rounding (σ in f32 on the GPU; matmuls
/// sum in another order).
#[cfg(feature = "wgpu")]
#[test]
fn the_cubecl_kernels_in_networks() {
    type Gpu = spikeworld_train_surrogate::cube::CubeTrain<burn_wgpu::WgpuRuntime, i32, u32>;
    let gpu = burn_wgpu::WgpuDevice::default();
    let mut checked = 0;
    for plif in [false, true] {
        for (sg, detach_reset, loss, masked) in cases() {
            let cpu = outcome::<CpuTrain>(&FlexDevice, SIZES, plif, sg, detach_reset, loss, masked, true);
            let got = outcome::<Gpu>(&gpu, SIZES, plif, sg, detach_reset, loss, masked, true);
            compare(&got, &cpu, 1e-4, &format!("plif {plif} {sg:?} detach {detach_reset} {loss:?}"));
            checked += 1;
        }
    }
    assert_eq!(checked, 60);
}
