//! SpikingFlow's `softbp.functional` helpers that training code relies on (seed `003_*`):
//! `redundant_one_hot`, `first_spike_index`, `kernel_dot_product`, `spike_similar_loss`.
//! Differentiable where the original is (burn tensor ops throughout).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};

/// `[batch, num_classes · n]`: class `c` coded as `n` ones at columns `c·n .. (c+1)·n`.
pub fn redundant_one_hot<B: Backend>(labels: &[usize], num_classes: usize, n: usize, device: &B::Device) -> Tensor<B, 2> {
    let width = num_classes * n;
    let mut v = vec![0.0f32; labels.len() * width];
    for (r, &l) in labels.iter().enumerate() {
        assert!(l < num_classes, "label {l} is not below num_classes = {num_classes}");
        v[r * width + l * n..r * width + (l + 1) * n].fill(1.0);
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), width]), device)
}

/// For spikes `[neurons, T]` (0/1), true exactly where each neuron spikes for the first
/// time: `spikes == 1` and the running count along T equals 1.
pub fn first_spike_index<B: Backend>(spikes: Tensor<B, 2>) -> Tensor<B, 2, Bool> {
    let on = spikes.clone().equal_elem(1.0);
    let count = spikes.cumsum(1);
    on.bool_and(count.equal_elem(1.0))
}

/// The kernel of [`kernel_dot_product`] (SpikingFlow's `kernel` argument and its `args[0]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kernel {
    /// `xᵀy`.
    Linear,
    /// `(xᵀy)^d`.
    Polynomial(i32),
    /// `sigmoid(α xᵀy)`.
    Sigmoid(f64),
    /// `exp(−‖x − y‖² / (2σ²))`.
    Gaussian(f64),
}

/// `[N, N]`: entry `(i, j)` is the kernel of rows `x[i]` and `y[j]` (`[N, M]` each).
pub fn kernel_dot_product<B: Backend>(x: Tensor<B, 2>, y: Tensor<B, 2>, kernel: Kernel) -> Tensor<B, 2> {
    let dot = x.clone().matmul(y.clone().transpose());
    match kernel {
        Kernel::Linear => dot,
        Kernel::Polynomial(d) => dot.powi_scalar(d),
        Kernel::Sigmoid(alpha) => burn::tensor::activation::sigmoid(dot * alpha),
        Kernel::Gaussian(sigma) => {
            // ‖x_i − y_j‖² = ‖x_i‖² + ‖y_j‖² − 2 x_iᵀ y_j
            let xx = x.powi_scalar(2).sum_dim(1); // [N, 1]
            let yy = y.powi_scalar(2).sum_dim(1).transpose(); // [1, N]
            let d2 = xx + yy - dot * 2.0;
            (d2 / (-2.0 * sigma * sigma)).exp()
        }
    }
}

/// How [`spike_similar_loss`] compares the similarity matrices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimilarLoss {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    L1,
    /// Binary cross-entropy of `sim_p` against `sim`.
    Bce,
}

/// SpikingFlow's `spike_similar_loss`: spikes `[N, M, T]` flattened to `[N, M·T]`; `sim[i][j]
/// = 1` when the label rows `i` and `j` (`[N, C]`, multi-label 0/1) share a label; `sim_p`
/// the kernel of the spike vectors (the linear kernel divided by `‖x_i‖ ‖x_j‖`, so in [0, 1]);
/// the loss between `sim` and `sim_p`.
pub fn spike_similar_loss<B: Backend>(spikes: Tensor<B, 3>, labels: Tensor<B, 2>, kernel: Kernel, loss: SimilarLoss) -> Tensor<B, 1> {
    let [n, m, t] = spikes.dims();
    let x = spikes.reshape([n, m * t]);
    let sim = labels.clone().matmul(labels.transpose()).clamp_max(1.0);
    let mut sim_p = kernel_dot_product(x.clone(), x.clone(), kernel);
    if kernel == Kernel::Linear {
        let norm = x.powi_scalar(2).sum_dim(1).sqrt(); // [N, 1]
        sim_p = sim_p / (norm.clone().matmul(norm.transpose()) + 1e-8);
    }
    match loss {
        SimilarLoss::Mse => (sim_p - sim).powi_scalar(2).mean(),
        SimilarLoss::L1 => (sim_p - sim).abs().mean(),
        SimilarLoss::Bce => {
            let p = sim_p.clamp(1e-7, 1.0 - 1e-7);
            (sim.clone() * p.clone().log() + (sim.neg() + 1.0) * (p.neg() + 1.0).log()).mean().neg()
        }
    }
}

