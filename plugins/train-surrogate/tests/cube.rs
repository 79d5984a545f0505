//! The fused layer's CubeCL kernels (`src/cube/`) against its CPU form (`src/fused.rs`):
//! run on burn-wgpu, which runs them on Mesa's lavapipe where there is no GPU
//! (`scripts/install-vulkan.sh`). The same kernels run on burn-cuda.
//!
//! For every form (IF, LIF and PLIF, with and without decay_input), hard and soft resets,
//! `detach_reset`, spikes or charges out, and every surrogate: the same spikes bit for bit,
//! the same charges, and ∂L/∂X (and a PLIF layer's ∂L/∂k) to f32 rounding (the kernel
//! computes σ in f32, the CPU form in f64).
#![cfg(any(feature = "wgpu", feature = "cuda"))]

use burn::tensor::{Tensor, TensorData};
use burn_flex::FlexDevice;
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::fused::{CpuTrain, LayerConsts, SeqLif};
use spikeworld_train_surrogate::surrogate::Surrogate;


const T: usize = 17;
const B: usize = 3;
const N: usize = 45; // m = 135 threads: not a multiple of a cube

fn draws(n: usize, index: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = Stream::new(5, 0, purpose::TRAIN, index);
    (0..n).map(|_| lo + (hi - lo) * s.uniform() as f32).collect()
}

/// The op's output, ∂L/∂X and ∂L/∂k for L = Σ out·g.
struct Run {
    out: Vec<f32>,
    dx: Vec<f32>,
    dk: Option<f32>,
}

fn run<Bk: SeqLif + burn::tensor::backend::AutodiffBackend>(dev: &Bk::Device, x: &[f32], g: &[f32], k: Option<f32>, c: &LayerConsts) -> Run {
    run_dims::<Bk>(dev, (T, B, N), x, g, k, c)
}

/// [`run`] with T, B and N given.
fn run_dims<Bk: SeqLif + burn::tensor::backend::AutodiffBackend>(dev: &Bk::Device, (t, b, n): (usize, usize, usize), x: &[f32], g: &[f32], k: Option<f32>, c: &LayerConsts) -> Run {
    let x = Tensor::<Bk, 2>::from_data(TensorData::new(x.to_vec(), [t * b, n]), dev).require_grad();
    let g = Tensor::<Bk, 2>::from_data(TensorData::new(g.to_vec(), [t * b, n]), dev);
    let k = k.map(|k| Tensor::<Bk, 1>::from_data(TensorData::new(vec![k], [1]), dev).require_grad());
    let out = Bk::lif_seq(x.clone(), t, c, k.clone()).expect("a fused backend");
    let grads = (out.clone() * g).sum().backward();
    let vec = |t: Tensor<Bk::InnerBackend, 2>| t.into_data().to_vec::<f32>().unwrap();
    Run {
        out: out.into_data().to_vec::<f32>().unwrap(),
        dx: vec(x.grad(&grads).expect("∂L/∂X")),
        dk: k.map(|k| k.grad(&grads).expect("∂L/∂k").into_data().to_vec::<f32>().unwrap()[0]),
    }
}

/// Largest |a − b| over the largest |b| (or 1).
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(1.0f64, |m, v| m.max(f64::from(v.abs())));
    a.iter().zip(b).map(|(a, b)| f64::from((a - b).abs())).fold(0.0, f64::max) / scale
}

fn surrogates() -> Vec<Surrogate> {
    Surrogate::NAMES.iter().map(|n| Surrogate::parse(n, None).unwrap()).chain([Surrogate::parse("sigmoid", Some(2.5)).unwrap(), Surrogate::parse("stca", Some(0.3)).unwrap()]).collect()
}

/// On burn-wgpu (lavapipe in CI).
#[cfg(feature = "wgpu")]
#[test]
fn the_kernels_give_the_cpu_forms_spikes_and_gradients() {
    compare::<spikeworld_train_surrogate::cube::CubeTrain<burn_wgpu::WgpuRuntime, i32, u32>>(&Default::default());
}

/// A PLIF layer's ∂L/∂k over B·N = 1, 1024 (one whole row of the kernel's fixed-order
/// sum) and 2055 (two rows and a padded third) neurons: the CPU form's value, and the same
/// bits on a second run.
#[cfg(feature = "wgpu")]
#[test]
fn plif_dk_sums_over_any_number_of_neurons_in_a_fixed_order() {
    dk_over_rows::<spikeworld_train_surrogate::cube::CubeTrain<burn_wgpu::WgpuRuntime, i32, u32>>(&Default::default());
}

/// The same on burn-cuda (ignored without a GPU: `benches/gpu/sitting.sh cubetest`).
#[cfg(feature = "cuda")]
#[test]
#[ignore = "needs a CUDA device"]
fn plif_dk_on_cuda_too() {
    dk_over_rows::<spikeworld_train_surrogate::fused::CudaTrain>(&Default::default());
}

fn dk_over_rows<Gpu: SeqLif + burn::tensor::backend::AutodiffBackend>(gpu: &Gpu::Device) {
    let c = LayerConsts { lif: Some((2.0, true)), v_th: 0.5, v_reset: Some(0.0), v0: 0.0, surrogate: Surrogate::parse("atan", None).unwrap(), detach_reset: false, out_charges: false };
    for (b, n) in [(1, 1), (1, 1024), (3, 685)] {
        let dims = (5, b, n);
        let x = draws(5 * b * n, 3, -0.4, 0.9);
        let g = draws(5 * b * n, 4, -1.0, 1.0);
        let want = run_dims::<CpuTrain>(&FlexDevice, dims, &x, &g, Some(0.4), &c).dk.unwrap();
        let got = run_dims::<Gpu>(gpu, dims, &x, &g, Some(0.4), &c).dk.unwrap();
        let again = run_dims::<Gpu>(gpu, dims, &x, &g, Some(0.4), &c).dk.unwrap();
        assert!(want != 0.0, "B·N = {}: a zero ∂L/∂k tests nothing", b * n);
        assert!(f64::from((got - want).abs()) <= 1e-5 * f64::from(want.abs()).max(1.0), "B·N = {}: ∂L/∂k {got} against the CPU's {want}", b * n);
        assert_eq!(got.to_bits(), again.to_bits(), "B·N = {}: ∂L/∂k differs between runs", b * n);
    }
}

/// On burn-cuda: needs a CUDA device (`--features cuda`; ignored unless asked for, as
/// `cargo test --features cuda --test cube -- --ignored`, or the built test binary with
/// `--ignored` on the GPU host: `benches/gpu/sitting.sh cubetest`).
#[cfg(feature = "cuda")]
#[test]
#[ignore = "needs a CUDA device"]
fn on_cuda_too() {
    compare::<spikeworld_train_surrogate::fused::CudaTrain>(&Default::default());
}

fn compare<Gpu: SeqLif + burn::tensor::backend::AutodiffBackend>(gpu: &Gpu::Device) {
    let cpu = FlexDevice;
    let x = draws(T * B * N, 1, -0.4, 0.9);
    let g = draws(T * B * N, 2, -1.0, 1.0);
    let mut cases = 0;
    let (mut spikes, mut elems) = (0usize, 0usize);
    let (mut worst_dx, mut worst_dk) = (0.0f64, 0.0f64);
    for (lif, plif) in [(None, None), (Some((2.0, true)), None), (Some((3.0, false)), None), (Some((2.0, true)), Some(0.4f32)), (Some((2.0, false)), Some(0.3f32))] {
        for v_reset in [Some(-0.1), None] {
            for (s_i, surrogate) in surrogates().into_iter().enumerate() {
                // detach_reset and charges out on a rotating share of the cases.
                let detach_reset = s_i % 2 == 1;
                let out_charges = s_i % 3 == 2;
                let c = LayerConsts { lif, v_th: 0.5, v_reset, v0: v_reset.unwrap_or(0.05), surrogate, detach_reset, out_charges };
                let want = run::<CpuTrain>(&cpu, &x, &g, plif, &c);
                let got = run::<Gpu>(gpu, &x, &g, plif, &c);
                let what = format!("{c:?}, k {plif:?}");
                if out_charges {
                    let e = rel_err(&got.out, &want.out);
                    assert!(e <= 1e-6, "{what}: charges {e:e} apart");
                } else {
                    assert!(got.out == want.out, "{what}: other spikes");
                    spikes += want.out.iter().filter(|&&s| s > 0.0).count();
                    elems += want.out.len();
                }
                let e = rel_err(&got.dx, &want.dx);
                assert!(e <= 1e-5, "{what}: ∂L/∂X {e:e} apart");
                worst_dx = worst_dx.max(e);
                assert!(want.dx.iter().any(|&d| d != 0.0), "{what}: a zero gradient tests nothing");
                if let (Some(a), Some(b)) = (got.dk, want.dk) {
                    let e = f64::from((a - b).abs()) / f64::from(b.abs()).max(1.0);
                    assert!(e <= 1e-4, "{what}: ∂L/∂k {a} against {b}");
                    worst_dk = worst_dk.max(e);
                }
                cases += 1;
            }
        }
    }
    // The inputs make neurons spike, and not always.
    assert!(spikes > elems / 20 && spikes < elems / 2, "{spikes} spikes of {elems}");
    assert_eq!(cases, 5 * 2 * surrogates().len());
    eprintln!("{cases} cases, {spikes} spikes of {elems}; largest differences: ∂L/∂X {worst_dx:e} (of the largest), ∂L/∂k {worst_dk:e}");
}
