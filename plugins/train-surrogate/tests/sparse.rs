//! The spike matmul (`sparse.rs`) against its formulas computed here on the host: the
//! product `c·Σ_{i: X[r,i]≠0} W[t,i]` and the weight gradient `c·Σ_{r: X[r,i]≠0} G[r,t]`,
//! each summed in ascending order from 0 in f32 (the kernel's order: the same bits), the
//! input gradient `G·W` to f32 rounding; rows computed apart give the bits of rows computed
//! together; inputs that are not spike-like are left to the dense matmul.

use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexDevice;
use spikeworld::util::rng::{Stream, purpose};
use spikeworld_train_surrogate::fused::CpuTrain;
use spikeworld_train_surrogate::sparse::{MIN_WEIGHTS, spike_matmul};

fn uniform(n: usize, index: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = Stream::new(5, 0, purpose::TRAIN, index);
    (0..n).map(|_| lo + (hi - lo) * s.uniform() as f32).collect()
}

/// `rows × n` spikes of value `c`, each on with probability `p`.
fn spikes(rows: usize, n: usize, p: f64, c: f32, index: u64) -> Vec<f32> {
    let mut s = Stream::new(5, 1, purpose::TRAIN, index);
    (0..rows * n).map(|_| if s.uniform() < p { c } else { 0.0 }).collect()
}

fn tensor(v: &[f32], shape: [usize; 2]) -> Tensor<CpuTrain, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), &FlexDevice)
}

fn host(t: Tensor<CpuTrain, 2>) -> Vec<f32> {
    t.into_data().convert::<f32>().to_vec().unwrap()
}

#[test]
fn product_and_gradients_follow_their_formulas() {
    // 70 targets: two whole tiles of 32 and a partial one.
    let (rows, n_src, n_tgt) = (150, 300, 230); // rows in three blocks of the kernel; 230 = 7 tiles + 6
    for (c, p) in [(1.0f32, 0.1), (1.0 / 0.7, 0.3), (1.0, 0.0)] {
        let x = spikes(rows, n_src, p, c, 1);
        let w = uniform(n_tgt * n_src, 2, -0.5, 0.5);
        let g = uniform(rows * n_tgt, 3, -1.0, 1.0);
        let xt = tensor(&x, [rows, n_src]).require_grad();
        let wt = tensor(&w, [n_tgt, n_src]).require_grad();
        let y = spike_matmul(&xt, &wt).expect("spike-like input");
        assert_eq!(y.dims(), [rows, n_tgt]);
        let grads = (y.clone() * tensor(&g, [rows, n_tgt])).sum().backward();
        let y = host(y);
        for r in 0..rows {
            for t in 0..n_tgt {
                let mut acc = 0.0f32;
                for i in 0..n_src {
                    if x[r * n_src + i] != 0.0 {
                        acc += w[t * n_src + i];
                    }
                }
                assert_eq!(y[r * n_tgt + t].to_bits(), (acc * c).to_bits(), "c {c}: y[{r}, {t}]");
            }
        }
        let dw: Vec<f32> = wt.grad(&grads).expect("a weight gradient").into_data().convert::<f32>().to_vec().unwrap();
        for t in 0..n_tgt {
            for i in 0..n_src {
                let mut acc = 0.0f32;
                for r in 0..rows {
                    if x[r * n_src + i] != 0.0 {
                        acc += g[r * n_tgt + t];
                    }
                }
                assert_eq!(dw[t * n_src + i].to_bits(), (acc * c).to_bits(), "c {c}: dW[{t}, {i}]");
            }
        }
        let dx: Vec<f32> = xt.grad(&grads).expect("an input gradient").into_data().convert::<f32>().to_vec().unwrap();
        for r in 0..rows {
            for i in 0..n_src {
                let exact: f64 = (0..n_tgt).map(|t| f64::from(g[r * n_tgt + t]) * f64::from(w[t * n_src + i])).sum();
                assert!((f64::from(dx[r * n_src + i]) - exact).abs() <= 1e-5, "dX[{r}, {i}]: {} vs {exact}", dx[r * n_src + i]);
            }
        }
    }
}

#[test]
fn rows_apart_give_the_bits_of_rows_together() {
    let (rows, n_src, n_tgt) = (300, 300, 256); // more entries than one block of the spike-like check
    let x = spikes(rows, n_src, 0.15, 1.0, 4);
    let w = uniform(n_tgt * n_src, 5, -1.0, 1.0);
    let wt = tensor(&w, [n_tgt, n_src]);
    let all = host(spike_matmul(&tensor(&x, [rows, n_src]), &wt).unwrap());
    let mut parts = Vec::new();
    for r in (0..rows).step_by(16) {
        let k = 16.min(rows - r);
        parts.extend(host(spike_matmul(&tensor(&x[r * n_src..(r + k) * n_src], [k, n_src]), &wt).unwrap()));
    }
    assert_eq!(all.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), parts.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    // And it is the product, to f32 rounding.
    let dense = host(tensor(&x, [rows, n_src]).matmul(wt.transpose()));
    for (a, b) in all.iter().zip(&dense) {
        assert!((a - b).abs() <= 1e-4, "{a} vs {b}");
    }
}

#[test]
fn inputs_that_are_not_spikes_are_left_to_the_dense_product() {
    let n = 256; // n·n = MIN_WEIGHTS
    assert_eq!(n * n, MIN_WEIGHTS);
    let w = tensor(&uniform(n * n, 6, -1.0, 1.0), [n, n]);
    let mut x = spikes(3, n, 0.2, 1.0, 7);
    assert!(spike_matmul(&tensor(&x, [3, n]), &w).is_some(), "spikes take the spike matmul");
    x[5] = 0.5;
    assert!(spike_matmul(&tensor(&x, [3, n]), &w).is_none(), "one other value: not spike-like");
    x[5] = 1.0;
    assert!(spike_matmul(&tensor(&x, [3, n]).cast(DType::F64), &w.clone().cast(DType::F64)).is_none(), "f64 (the engines' exact mode) keeps the dense product");
    let small = tensor(&uniform(n * (n - 1), 8, -1.0, 1.0), [n - 1, n]);
    assert!(spike_matmul(&tensor(&x, [3, n]), &small).is_none(), "below MIN_WEIGHTS: the dense product");
}

#[test]
fn the_same_bits_on_any_number_of_threads() {
    let (rows, n_src, n_tgt) = (300, 300, 256);
    let x = spikes(rows, n_src, 0.1, 1.0, 9);
    let w = uniform(n_tgt * n_src, 10, -1.0, 1.0);
    let g = uniform(rows * n_tgt, 11, -1.0, 1.0);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            let wt = tensor(&w, [n_tgt, n_src]).require_grad();
            let y = spike_matmul(&tensor(&x, [rows, n_src]), &wt).unwrap();
            let grads = (y.clone() * tensor(&g, [rows, n_tgt])).sum().backward();
            let dw: Vec<f32> = wt.grad(&grads).unwrap().into_data().convert::<f32>().to_vec().unwrap();
            (host(y).iter().map(|v| v.to_bits()).collect::<Vec<_>>(), dw.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        })
    };
    assert_eq!(run(1), run(3));
}
