//! A neuron layer over all T steps as one autodiff operation: the forward pass loops over
//! the steps in one pass over memory, the backward pass runs BPTT in one reverse loop,
//! instead of recording ~10 tensor operations per step (measured: about 10× less time at
//! T = 100, B = 16, N = 4096; `benches/train_cpu_comparison.txt`).
//!
//! It is written for burn's `Autodiff<Flex>` (the CPU backend; `Dispatch` keeps its
//! tensors sealed in burn 0.21, so a custom backward cannot reach them) with burn-autodiff's
//! `Backward` trait, and it computes exactly what [`crate::net::Net`]'s per-step path
//! computes, in the same f32 operations, so the spikes are the same bits
//! (`tests/fused.rs`). Backends without it ([`SeqLif::FUSED`] false) take the per-step path.
//!
//! The layer, for inputs `X[t]` (what the edges deliver in step t), `V[−1] = v0`:
//! ```text
//! H[t] = V + X (IF) | V + (X − (V − v_r))/τ (LIF, decay_input) | V − (V − v_r)/τ + X (LIF)
//!        (PLIF: the same with ·k for /τ, k = sigmoid(w) an input of the op)
//! S[t] = H(H[t] − θ)
//! V[t] = H[t]·(1 − S[t]) + S[t]·v_r (hard reset) | H[t] − θ·S[t] (soft reset)
//! ```
//! and the backward, with `σ[t] = g'(H[t] − θ)` (the surrogate), `ρ = σ` (0 with
//! `detach_reset`), `a = dH/dV` (1 for IF, 1 − 1/τ for LIF), `b = dH/dX` (1/τ with
//! decay_input, else 1), `ε[T−1] = 0`:
//! ```text
//! δ[t]   = ∂L/∂S[t]·σ[t] + ε[t]·((1 − S[t]) + (v_r − H[t])·ρ[t])   (hard)
//!        = ∂L/∂S[t]·σ[t] + ε[t]·(1 − θ·ρ[t])                       (soft)
//!          (with `out_charges`, the op gives H and receives ∂L/∂H[t]: δ[t] = ∂L/∂H[t] + ε[t]·…)
//! ∂L/∂X[t] = b·δ[t],   ε[t − 1] = a·δ[t]
//! ∂L/∂k    = Σ_t Σ_n δ[t]·(X[t] − (V[t−1] − v_r))   (PLIF, decay_input; −(V[t−1] − v_r) without)
//! ```
//! (for PLIF, a = 1 − k and b = k with decay_input, else 1).

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use crate::surrogate::Surrogate;

/// The training backend on CPU: burn's autodiff over flex.
pub type CpuTrain = Autodiff<Flex>;

/// The training backend on a CUDA GPU (the `cuda` feature): burn's autodiff over
/// burn-cuda, with the fused layer as CubeCL kernels ([`crate::cube`]).
#[cfg(feature = "cuda")]
pub type CudaTrain = Autodiff<burn::backend::Cuda>;

/// One layer's constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerConsts {
    /// 1/τ's place: `None` for IF; `Some((tau, decay_input))` for LIF.
    pub lif: Option<(f64, bool)>,
    /// Threshold θ.
    pub v_th: f64,
    /// Reset value (`None`: soft reset).
    pub v_reset: Option<f64>,
    /// Initial V.
    pub v0: f64,
    /// The surrogate.
    pub surrogate: Surrogate,
    /// Leave the reset out of the gradient.
    pub detach_reset: bool,
    /// The op gives the charges H `[T·B, N]` instead of the spikes (a membrane readout;
    /// the gradient it receives is then ∂L/∂H[t], added to δ[t] in place of ∂L/∂S[t]·σ[t]).
    pub out_charges: bool,
}

/// A backend `spikeworld train` runs on: autodiff over a backend with [`SeqLif`] ([`CpuTrain`]
/// on the CPU, `CudaTrain` and `cube::CubeTrain` on a GPU).
pub trait TrainBackend: SeqLif + AutodiffBackend {}

impl<B: SeqLif + AutodiffBackend> TrainBackend for B {}

/// Backends that can run a layer over all steps as one operation.
pub trait SeqLif: Backend {
    /// Whether [`SeqLif::lif_seq`] is implemented (for f32).
    const FUSED: bool = false;
    /// The most values (T·B·N) a layer may have for [`SeqLif::lif_seq`]; larger layers
    /// take the per-step path.
    const FUSED_MAX: usize = usize::MAX;
    /// Whether a pipeline (`train.partitions`, `train.micro_batches`: threads handing
    /// tensors to each other) may run on this backend: the CPU's only. On burn-wgpu, two
    /// partitions trained other weights than one when other GPU work ran in the same
    /// process (tests/train_device.rs), so a GPU refuses it rather than lose determinism.
    const PIPELINE: bool = false;
    /// The spikes `[T·B, N]` of a layer for its inputs `x` (`[T·B, N]`, step-major), or
    /// `None` where the backend (or the float type) has no fused form. `k` (`[1]`): a PLIF
    /// layer's 1/τ = sigmoid(w), a tensor the gradient flows back into (then `c.lif`'s τ
    /// is not used, only its decay_input).
    fn lif_seq(_x: Tensor<Self, 2>, _steps: usize, _c: &LayerConsts, _k: Option<Tensor<Self, 1>>) -> Option<Tensor<Self, 2>> {
        None
    }
    /// `x · wᵀ` through the spikes of `x` ([`crate::sparse`]), or `None` where the backend
    /// has no such form or `x` is not spike-like.
    fn spike_matmul(_x: &Tensor<Self, 2>, _w: &Tensor<Self, 2>) -> Option<Tensor<Self, 2>> {
        None
    }
}

impl SeqLif for burn::Dispatch {}
impl SeqLif for Flex {}

impl SeqLif for CpuTrain {
    const FUSED: bool = true;
    const PIPELINE: bool = true;
    fn lif_seq(x: Tensor<Self, 2>, steps: usize, c: &LayerConsts, k: Option<Tensor<Self, 1>>) -> Option<Tensor<Self, 2>> {
        if x.dtype() != DType::F32 || k.as_ref().is_some_and(|k| k.dtype() != DType::F32) {
            return None;
        }
        Some(match k {
            None => fused_lif(x, steps, *c),
            Some(k) => fused_plif(x, k, steps, *c),
        })
    }
    fn spike_matmul(x: &Tensor<Self, 2>, w: &Tensor<Self, 2>) -> Option<Tensor<Self, 2>> {
        crate::sparse::spike_matmul(x, w)
    }
}

/// Neurons per rayon task (elementwise work: the split changes no result).
const CHUNK: usize = 4096;

/// The per-element arithmetic, in the f32 operations of the per-step tensor path.
#[derive(Clone, Copy)]
struct Consts {
    form: Form,
    tau: f32,
    /// PLIF's 1/τ.
    k: f32,
    vr: f32,
    v_th: f32,
    hard: bool,
}

/// A layer's charge equation (the CubeCL kernels are compiled per form too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Form {
    If,
    LifDecayInput,
    Lif,
    PlifDecayInput,
    Plif,
}

impl Form {
    /// The form of a layer with constants `c`; `plif`: its 1/τ is an input of the op.
    pub(crate) fn of(c: &LayerConsts, plif: bool) -> Form {
        match (c.lif, plif) {
            (None, _) => Form::If,
            (Some((_, true)), false) => Form::LifDecayInput,
            (Some((_, false)), false) => Form::Lif,
            (Some((_, true)), true) => Form::PlifDecayInput,
            (Some((_, false)), true) => Form::Plif,
        }
    }
}

impl Consts {
    /// `k`: a PLIF layer's 1/τ (then `c.lif` gives only decay_input).
    fn of(c: &LayerConsts, k: Option<f32>) -> Consts {
        let form = Form::of(c, k.is_some());
        Consts { form, tau: c.lif.map_or(1.0, |l| l.0 as f32), k: k.unwrap_or(0.0), vr: c.v_reset.unwrap_or(0.0) as f32, v_th: c.v_th as f32, hard: c.v_reset.is_some() }
    }

    #[inline(always)]
    fn charge(&self, v: f32, x: f32) -> f32 {
        match self.form {
            Form::If => v + x,
            Form::LifDecayInput => v + (x - (v - self.vr)) / self.tau,
            Form::Lif => v - (v - self.vr) / self.tau + x,
            Form::PlifDecayInput => v + (x - (v - self.vr)) * self.k,
            Form::Plif => v - (v - self.vr) * self.k + x,
        }
    }

    /// ∂H/∂V, ∂H/∂X.
    fn slopes(&self) -> (f32, f32) {
        match self.form {
            Form::If => (1.0, 1.0),
            Form::LifDecayInput => (1.0 - 1.0 / self.tau, 1.0 / self.tau),
            Form::Lif => (1.0 - 1.0 / self.tau, 1.0),
            Form::PlifDecayInput => (1.0 - self.k, self.k),
            Form::Plif => (1.0 - self.k, 1.0),
        }
    }

    /// ∂H/∂k of a PLIF layer, for the potential `v` before the step and its input `x`.
    #[inline(always)]
    fn dk(&self, v: f32, x: f32) -> f32 {
        match self.form {
            Form::PlifDecayInput => x - (v - self.vr),
            Form::Plif => -(v - self.vr),
            _ => 0.0,
        }
    }

    #[inline(always)]
    fn reset(&self, h: f32, s: f32) -> f32 {
        if self.hard { h * (-s + 1.0) + s * self.vr } else { h - s * self.v_th }
    }
}

fn forward_chunk(x: &[f32], s: &mut [f32], h: &mut [f32], v: &mut [f32], k: Consts) {
    for i in 0..x.len() {
        let hh = k.charge(v[i], x[i]);
        let sp = if hh - k.v_th >= 0.0 { 1.0 } else { 0.0 };
        h[i] = hh;
        s[i] = sp;
        v[i] = k.reset(hh, sp);
    }
}

/// Spikes and charges `[T, M]` of inputs `x` `[T, M]`.
fn forward_host(x: &[f32], steps: usize, m: usize, k: Consts, v0: f64) -> (Vec<f32>, Vec<f32>) {
    let mut s = vec![0.0f32; steps * m];
    let mut h = vec![0.0f32; steps * m];
    let mut v = vec![v0 as f32; m];
    for t in 0..steps {
        let r = t * m..(t + 1) * m;
        let (xr, sr, hr) = (&x[r.clone()], &mut s[r.clone()], &mut h[r]);
        sr.par_chunks_mut(CHUNK).zip(hr.par_chunks_mut(CHUNK)).zip(v.par_chunks_mut(CHUNK)).zip(xr.par_chunks(CHUNK)).for_each(|(((sc, hc), vc), xc)| forward_chunk(xc, sc, hc, vc, k));
    }
    (s, h)
}

/// One chunk of step t's backward. `h_prev` (H of step t − 1; `None` at t = 0, when V was
/// `v0`) and `x` (the step's input) serve PLIF's ∂H/∂k; returns Σ δ·∂H/∂k over the chunk.
#[expect(clippy::too_many_arguments, reason = "the slices of one chunk")]
fn backward_chunk(ds: &[f32], h: &[f32], h_prev: Option<&[f32]>, x: Option<&[f32]>, dx: &mut [f32], eps: &mut [f32], k: Consts, c: &LayerConsts) -> f64 {
    let (a, b) = k.slopes();
    let plif = matches!(k.form, Form::PlifDecayInput | Form::Plif);
    let mut dk = 0.0f64;
    for i in 0..ds.len() {
        let hh = h[i];
        let u = hh - k.v_th;
        let sigma = c.surrogate.grad(f64::from(u)) as f32;
        let rho = if c.detach_reset { 0.0 } else { sigma };
        let sp = if u >= 0.0 { 1.0 } else { 0.0 };
        let dvdh = if k.hard { (1.0 - sp) + (k.vr - hh) * rho } else { 1.0 - k.v_th * rho };
        let delta = if c.out_charges { ds[i] } else { ds[i] * sigma } + eps[i] * dvdh;
        dx[i] = b * delta;
        eps[i] = a * delta;
        if plif {
            // V before the step: the reset of the previous step's charge (as the forward).
            let v = match h_prev {
                Some(hp) => k.reset(hp[i], if hp[i] - k.v_th >= 0.0 { 1.0 } else { 0.0 }),
                None => c.v0 as f32,
            };
            dk += f64::from(delta) * f64::from(k.dk(v, x.map_or(0.0, |x| x[i])));
        }
    }
    dk
}

/// `∂L/∂X` `[T, M]` from `∂L/∂S` and the saved charges, and (PLIF) `∂L/∂k`, summed in f64
/// over the chunks in order, the steps from last to first.
fn backward_host(ds: &[f32], h: &[f32], x: Option<&[f32]>, steps: usize, m: usize, k: Consts, c: &LayerConsts) -> (Vec<f32>, f64) {
    let mut dx = vec![0.0f32; steps * m];
    let mut eps = vec![0.0f32; m];
    let mut dk = 0.0f64;
    let none: &[f32] = &[];
    for t in (0..steps).rev() {
        let r = t * m..(t + 1) * m;
        let (dsr, hr, dxr) = (&ds[r.clone()], &h[r.clone()], &mut dx[r.clone()]);
        let hp = if t > 0 { &h[(t - 1) * m..t * m] } else { none };
        let xr = x.map_or(none, |x| &x[r]);
        let parts: Vec<f64> = dxr
            .par_chunks_mut(CHUNK)
            .zip(eps.par_chunks_mut(CHUNK))
            .zip(dsr.par_chunks(CHUNK))
            .zip(hr.par_chunks(CHUNK))
            .enumerate()
            .map(|(j, (((dxc, ec), dsc), hc))| {
                let span = j * CHUNK..j * CHUNK + hc.len();
                let (hpc, xc) = ((!hp.is_empty()).then(|| &hp[span.clone()]), (!xr.is_empty()).then(|| &xr[span]));
                backward_chunk(dsc, hc, hpc, xc, dxc, ec, k, c)
            })
            .collect();
        dk += parts.iter().sum::<f64>();
    }
    (dx, dk)
}

/// The backward node: its state is the charges H (S is recomputed from them).
#[derive(Debug)]
struct LifBackward {
    steps: usize,
    c: LayerConsts,
}

impl Backward<Flex, 1> for LifBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let ds = contiguous(grads.consume::<Flex>(&ops.node));
        let Some(parent) = parent else { return };
        let h = ops.state;
        let shape = h.layout().shape().clone();
        let m = shape.num_elements() / self.steps;
        let (dx, _) = backward_host(ds.as_slice::<f32>().expect("f32 gradients"), h.as_slice::<f32>().expect("f32 charges"), None, self.steps, m, Consts::of(&self.c, None), &self.c);
        grads.register::<Flex>(parent.id, FlexTensor::from_data(TensorData::new(dx, shape)));
    }
}

/// `t` in a row-major layout (itself where it already is).
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() { t } else { t.to_contiguous() }
}

/// The saved charges and what the op gives: its spikes, or (`charges`) the charges again.
fn output(h: Vec<f32>, s: Vec<f32>, shape: &burn::tensor::Shape, charges: bool) -> (FlexTensor, FlexTensor) {
    let h = FlexTensor::from_data(TensorData::new(h, shape.clone()));
    let out = if charges { h.clone() } else { FlexTensor::from_data(TensorData::new(s, shape.clone())) };
    (h, out)
}

fn fused_lif(x: Tensor<CpuTrain, 2>, steps: usize, c: LayerConsts) -> Tensor<CpuTrain, 2> {
    let x = x.into_primitive().tensor();
    let shape = x.primitive.layout().shape().clone();
    let m = shape.num_elements() / steps;
    let xin = contiguous(x.primitive.clone());
    let (s, h) = forward_host(xin.as_slice::<f32>().expect("f32 inputs"), steps, m, Consts::of(&c, None), c.v0);
    let (h, s) = output(h, s, &shape, c.out_charges);
    let out = match (LifBackward { steps, c }).prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(h, s),
        OpsKind::UnTracked(prep) => prep.finish(s),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

/// A PLIF layer's backward node: its state is (H, X, k); parents (X, k).
#[derive(Debug)]
struct PlifBackward {
    steps: usize,
    c: LayerConsts,
    k: f32,
}

impl Backward<Flex, 2> for PlifBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [px, pk] = ops.parents;
        let ds = contiguous(grads.consume::<Flex>(&ops.node));
        let (h, x) = ops.state;
        let shape = h.layout().shape().clone();
        let m = shape.num_elements() / self.steps;
        let x = contiguous(x);
        let k = Consts::of(&self.c, Some(self.k));
        let (dx, dk) = backward_host(ds.as_slice::<f32>().expect("f32 gradients"), h.as_slice::<f32>().expect("f32 charges"), x.as_slice::<f32>(), self.steps, m, k, &self.c);
        if let Some(px) = px {
            grads.register::<Flex>(px.id, FlexTensor::from_data(TensorData::new(dx, shape)));
        }
        if let Some(pk) = pk {
            grads.register::<Flex>(pk.id, FlexTensor::from_data(TensorData::new(vec![dk as f32], [1])));
        }
    }
}

/// A PLIF layer over all steps: as [`fused_lif`] with 1/τ = `k` (`[1]`), differentiable in `k`.
fn fused_plif(x: Tensor<CpuTrain, 2>, k: Tensor<CpuTrain, 1>, steps: usize, c: LayerConsts) -> Tensor<CpuTrain, 2> {
    let kv: f32 = k.clone().into_data().convert::<f32>().to_vec::<f32>().expect("k as f32")[0];
    let x = x.into_primitive().tensor();
    let k = k.into_primitive().tensor();
    let shape = x.primitive.layout().shape().clone();
    let m = shape.num_elements() / steps;
    let xin = contiguous(x.primitive.clone());
    let (s, h) = forward_host(xin.as_slice::<f32>().expect("f32 inputs"), steps, m, Consts::of(&c, Some(kv)), c.v0);
    let (h, s) = output(h, s, &shape, c.out_charges);
    let out = match (PlifBackward { steps, c, k: kv }).prepare::<NoCheckpointing>([x.node.clone(), k.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((h, xin), s),
        OpsKind::UnTracked(prep) => prep.finish(s),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}
