//! BPTT through burn autodiff against finite differences: a two-layer network (LIF with a
//! hard reset, then IF with a soft reset) over T = 5 steps whose spikes are the surrogate's
//! smooth primitive `g` (forward and backward), so that the loss is a differentiable
//! function of the weights. Every weight's autodiff gradient must equal the central
//! difference of the loss, for every loss.

use burn::tensor::{DType, Tensor, TensorData};
use burn::{Dispatch, DispatchDevice};
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::config::Loss;
use spikeworld_train_surrogate::net::{EdgeOp, EdgeSpec, LayerSpec, Net, NetSpec, NeuronForm, Pass};
use spikeworld_train_surrogate::surrogate::Surrogate;
use spikeworld_train_surrogate::train::loss_of;

const T: usize = 5;
const BATCH: usize = 3;
const N_IN: usize = 4;
const N_HID: usize = 5;
const N_OUT: usize = 3;
const LABELS: [usize; BATCH] = [0, 2, 1];

fn spec(w1: &[f64], w2: &[f64]) -> NetSpec {
    NetSpec {
        layers: vec![
            LayerSpec { pop: 0, name: "hidden".into(), size: N_HID, form: NeuronForm::Lif { tau: 2.0, decay_input: true }, v_th: 1.0, v_reset: Some(0.0), v0: 0.0 },
            LayerSpec { pop: 1, name: "out".into(), size: N_OUT, form: NeuronForm::If, v_th: 1.0, v_reset: None, v0: 0.0 },
        ],
        edges: vec![
            EdgeSpec { proj: 0, name: "fc1".into(), from: None, to: 0, trainable: true, w0: w1.to_vec(), n_src: N_IN, op: EdgeOp::Dense, filter: None },
            EdgeSpec { proj: 1, name: "fc2".into(), from: Some(0), to: 1, trainable: true, w0: w2.to_vec(), n_src: N_HID, op: EdgeOp::Dense, filter: None },
        ],
        n_in: N_IN,
        output: 1,
    }
}

fn draws(n: usize, index: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = Stream::new(7, 0, purpose::TRAIN, index);
    (0..n).map(|_| lo + (hi - lo) * s.uniform()).collect()
}

/// The loss of the smooth network with weights `w1`, `w2` on `device`, and the network's params.
fn loss(w1: &[f64], w2: &[f64], which: Loss, sg: Surrogate, device: &DispatchDevice) -> (Tensor<Dispatch, 1>, spikeworld_train_surrogate::net::Params<Dispatch>) {
    smooth_loss(spec(w1, w2), which, sg, device)
}

fn smooth_loss(spec: NetSpec, which: Loss, sg: Surrogate, device: &DispatchDevice) -> (Tensor<Dispatch, 1>, spikeworld_train_surrogate::net::Params<Dispatch>) {
    let n_in = spec.n_in;
    let (net, params) = Net::<Dispatch>::new(spec, device, DType::F64);
    let x = draws(T * BATCH * n_in, 0, 0.0, 1.5);
    let input = |t: usize| Tensor::<Dispatch, 2>::from_data(TensorData::new(x[t * BATCH * n_in..(t + 1) * BATCH * n_in].to_vec(), [BATCH, n_in]), (device, DType::F64));
    let pass = Pass { smooth: true, readout: which.readout(), ..Pass::new(T, sg, false) };
    let out = net.run(&params, input, &pass);
    (loss_of(which, &out, &LABELS, T, 1.0, device), params)
}

fn scalar(t: Tensor<Dispatch, 1>) -> f64 {
    t.into_data().convert::<f64>().to_vec::<f64>().unwrap()[0]
}

/// Compares autodiff gradients `ad[e]` (one per weight tensor) with central differences
/// of `loss_at(weights)`, perturbing each entry of `base[e]` by ±1e-6; returns (largest
/// difference, largest gradient).
fn finite_differences(ad: &[Vec<f64>], base: &[Vec<f64>], loss_at: impl Fn(&[Vec<f64>]) -> f64) -> (f64, f64) {
    let h = 1e-6;
    let (mut worst, mut largest) = (0.0f64, 0.0f64);
    for (e, g) in ad.iter().enumerate() {
        for i in 0..g.len() {
            let (mut plus, mut minus) = (base.to_vec(), base.to_vec());
            plus[e][i] += h;
            minus[e][i] -= h;
            let fd = (loss_at(&plus) - loss_at(&minus)) / (2.0 * h);
            worst = worst.max((fd - g[i]).abs());
            largest = largest.max(g[i].abs());
        }
    }
    (worst, largest)
}

#[test]
fn bptt_gradient_equals_finite_differences_of_the_smooth_network() {
    let w1 = draws(N_HID * N_IN, 1, -0.4, 1.2);
    let w2 = draws(N_OUT * N_HID, 2, -0.6, 1.4);
    let ad_dev = DispatchDevice::autodiff(DispatchDevice::Flex(Default::default()));
    let fd_dev = DispatchDevice::Flex(Default::default());
    let losses = [Loss::MseRate, Loss::CeRate, Loss::CeFirstSpike, Loss::MseFirstSpike, Loss::CeMembrane, Loss::MseMembrane];
    for sg in [Surrogate::parse("sigmoid", None).unwrap(), Surrogate::parse("atan", None).unwrap(), Surrogate::parse("stbp", None).unwrap()] {
        for which in losses {
            let (l, params) = loss(&w1, &w2, which, sg, &ad_dev);
            let grads = l.backward();
            let ad: Vec<Vec<f64>> = params.weights.iter().map(|p| p.val().grad(&grads).expect("a gradient").into_data().convert::<f64>().to_vec().unwrap()).collect();
            let (worst, largest) = finite_differences(&ad, &[w1.clone(), w2.clone()], |w| scalar(loss(&w[0], &w[1], which, sg, &fd_dev).0));
            assert!(largest > 1e-3, "{sg:?} {which:?}: gradients vanish ({largest}); the test needs a live network");
            assert!(worst <= 1e-7 * largest.max(1.0), "{sg:?} {which:?}: autodiff and finite differences differ by {worst} (largest gradient {largest})");
        }
    }
}

/// With the Heaviside forward, the readouts are exact: counts are whole numbers, the first
/// spike is the first step with a spike (T when none), and the membrane readout is the mean
/// of the charge, computed here step by step from the recorded spikes.
#[test]
fn readouts_of_the_spiking_network_are_exact() {
    let w1 = draws(N_HID * N_IN, 1, -0.4, 1.2);
    let w2 = draws(N_OUT * N_HID, 2, -0.6, 1.4);
    let device = DispatchDevice::Flex(Default::default());
    let sg = Surrogate::parse("atan", None).unwrap();
    let x = draws(T * BATCH * N_IN, 0, 0.0, 1.5);
    let input = |t: usize| Tensor::<Dispatch, 2>::from_data(TensorData::new(x[t * BATCH * N_IN..(t + 1) * BATCH * N_IN].to_vec(), [BATCH, N_IN]), (&device, DType::F64));
    let (net, params) = Net::<Dispatch>::new(spec(&w1, &w2), &device, DType::F64);
    let host = |t: Tensor<Dispatch, 2>| -> Vec<f64> { t.into_data().convert::<f64>().to_vec().unwrap() };
    let first = net.run(&params, input, &Pass { record: true, readout: spikeworld_train_surrogate::net::Readout::FirstSpike, ..Pass::new(T, sg, false) });
    let mem = net.run(&params, input, &Pass { readout: spikeworld_train_surrogate::net::Readout::Membrane, ..Pass::new(T, sg, false) });
    let spikes: Vec<Vec<f64>> = first.spikes[1].iter().map(|s| host(s.clone())).collect();
    let hidden: Vec<Vec<f64>> = first.spikes[0].iter().map(|s| host(s.clone())).collect();
    let f = host(first.first_spike.clone().unwrap());
    let m = host(mem.membrane.clone().unwrap());
    let mut fired = 0;
    for b in 0..BATCH {
        let mut v = [0.0f64; N_OUT];
        let mut hsum = [0.0f64; N_OUT];
        for o in 0..N_OUT {
            let expect = (0..T).find(|&t| spikes[t][b * N_OUT + o] == 1.0).unwrap_or(T);
            fired += usize::from(expect < T);
            assert_eq!(f[b * N_OUT + o], expect as f64, "sample {b}, output {o}: first spike");
        }
        // IF with a soft reset: H = V + W2 · S_hidden[t − 1]; V = H − S.
        for t in 0..T {
            for o in 0..N_OUT {
                let x: f64 = if t == 0 { 0.0 } else { (0..N_HID).map(|j| w2[o * N_HID + j] * hidden[t - 1][b * N_HID + j]).sum() };
                let h = v[o] + x;
                hsum[o] += h;
                v[o] = h - spikes[t][b * N_OUT + o];
            }
        }
        for o in 0..N_OUT {
            assert!((m[b * N_OUT + o] - hsum[o] / T as f64).abs() < 1e-12, "sample {b}, output {o}: mean membrane {} vs {}", m[b * N_OUT + o], hsum[o] / T as f64);
        }
    }
    assert!(fired > 0 && fired < BATCH * N_OUT, "{fired} outputs fire: the test needs some that do and some that don't");
}

/// The same check through a convolution (conv2d, 3×3, two channels), a fixed pooling edge
/// (2×2 windows, stride 1) into IF relays, and a dense readout.
#[test]
fn bptt_through_conv_and_pool_equals_finite_differences() {
    let conv_spec = |kernel: &[f64], dense: &[f64]| NetSpec {
        layers: vec![
            LayerSpec { pop: 0, name: "conv".into(), size: 18, form: NeuronForm::Lif { tau: 2.0, decay_input: true }, v_th: 1.0, v_reset: Some(0.0), v0: 0.0 },
            LayerSpec { pop: 1, name: "pool".into(), size: 8, form: NeuronForm::If, v_th: 1.0, v_reset: Some(0.0), v0: 0.0 },
            LayerSpec { pop: 2, name: "out".into(), size: N_OUT, form: NeuronForm::Lif { tau: 2.0, decay_input: false }, v_th: 1.0, v_reset: None, v0: 0.0 },
        ],
        edges: vec![
            EdgeSpec { proj: 0, name: "conv1".into(), from: None, to: 0, trainable: true, w0: kernel.to_vec(), n_src: 25, op: EdgeOp::Conv { src: [1, 5, 5], tgt: [2, 3, 3], k: 3, stride: 1, pad: 0 }, filter: None },
            EdgeSpec { proj: 1, name: "pool1".into(), from: Some(0), to: 1, trainable: false, w0: Vec::new(), n_src: 18, op: EdgeOp::Pool { src: [2, 3, 3], k: 2, stride: 1, weight: 0.7 }, filter: None },
            EdgeSpec { proj: 2, name: "fc".into(), from: Some(1), to: 2, trainable: true, w0: dense.to_vec(), n_src: 8, op: EdgeOp::Dense, filter: None },
        ],
        n_in: 25,
        output: 2,
    };
    let kernel = draws(18, 3, -0.3, 0.9);
    let dense = draws(N_OUT * 8, 4, -0.5, 1.5);
    let ad_dev = DispatchDevice::autodiff(DispatchDevice::Flex(Default::default()));
    let fd_dev = DispatchDevice::Flex(Default::default());
    let sg = Surrogate::parse("sigmoid", None).unwrap();
    for which in [Loss::MseRate, Loss::CeFirstSpike, Loss::CeMembrane] {
        let (l, params) = smooth_loss(conv_spec(&kernel, &dense), which, sg, &ad_dev);
        let grads = l.backward();
        let ad: Vec<Vec<f64>> = params.weights.iter().map(|p| p.val().grad(&grads).expect("a gradient").into_data().convert::<f64>().to_vec().unwrap()).collect();
        assert_eq!((ad[0].len(), ad[1].len()), (18, N_OUT * 8), "the kernel and the dense weights are trained; the pool is not");
        let (worst, largest) = finite_differences(&ad, &[kernel.clone(), dense.clone()], |w| scalar(smooth_loss(conv_spec(&w[0], &w[1]), which, sg, &fd_dev).0));
        assert!(largest > 1e-3, "{which:?}: gradients vanish ({largest})");
        assert!(worst <= 1e-7 * largest.max(1.0), "{which:?}: autodiff and finite differences differ by {worst} (largest gradient {largest})");
    }
}

/// Time-shared dropout: a mask on the hidden layer's spikes is the same as scaling the
/// columns of the next weights by it (exactly, in f64), in every step.
#[test]
fn a_dropout_mask_scales_the_columns_of_the_next_weights() {
    let w1 = draws(N_HID * N_IN, 1, -0.4, 1.2);
    let w2 = draws(N_OUT * N_HID, 2, -0.6, 1.4);
    let mask = [2.0, 0.0, 2.0, 0.0, 2.0]; // p = 0.5: neurons 1 and 3 dropped, the rest × 2
    let device = DispatchDevice::Flex(Default::default());
    let sg = Surrogate::parse("atan", None).unwrap();
    let x = draws(T * BATCH * N_IN, 0, 0.0, 1.5);
    let input = |t: usize| Tensor::<Dispatch, 2>::from_data(TensorData::new(x[t * BATCH * N_IN..(t + 1) * BATCH * N_IN].to_vec(), [BATCH, N_IN]), (&device, DType::F64));
    let m: Vec<f64> = (0..BATCH).flat_map(|_| mask).collect();
    let m = Tensor::<Dispatch, 2>::from_data(TensorData::new(m, [BATCH, N_HID]), (&device, DType::F64));
    let pass = Pass { record: true, ..Pass::new(T, sg, false) };
    let (net, params) = Net::<Dispatch>::new(spec(&w1, &w2), &device, DType::F64);
    let dropped = net.run_masked(&params, input, &pass, &[Some(m), None]);
    let w2m: Vec<f64> = w2.iter().enumerate().map(|(k, w)| w * mask[k % N_HID]).collect();
    let (net2, params2) = Net::<Dispatch>::new(spec(&w1, &w2m), &device, DType::F64);
    let scaled = net2.run(&params2, input, &pass);
    let host = |t: &Tensor<Dispatch, 2>| -> Vec<f64> { t.clone().into_data().convert::<f64>().to_vec().unwrap() };
    let (a, b) = (host(&dropped.count), host(&scaled.count));
    assert_eq!(a, b, "output counts");
    for t in 0..T {
        assert_eq!(host(&dropped.spikes[1][t]), host(&scaled.spikes[1][t]), "output spikes of step {t}");
    }
    let unmasked = host(&net.run(&params, input, &pass).count);
    assert_ne!(a, unmasked, "the mask should change the output; the test needs it to");
}
