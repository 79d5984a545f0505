//! The fused layer ([`crate::fused`]) on burn's CubeCL backends: burn-cuda on a GPU, and
//! burn-wgpu, on which CI runs the same kernels without a GPU (Mesa's lavapipe,
//! `scripts/install-vulkan.sh`; `tests/cube.rs` compares them with the CPU form).
//!
//! A burn backend extension: [`SeqLif`] for `Autodiff<CubeBackend<R, f32, …>>`, with its
//! own autodiff node whose backward is one more launch. Forward: one launch over all T
//! steps, each thread one neuron of the batch, V in a register; it saves the charges H,
//! from which the backward recomputes S, σ and (PLIF) V. The backward runs the steps from
//! last to first with ε in a register; a PLIF layer's ∂L/∂k is each thread's f32 sum over
//! its steps, then burn's sum over the neurons.
//!
//! The arithmetic is the CPU form's, operation for operation, with two provisos. A GPU
//! compiler may contract `a·b + c` into one rounding (CUDA does by default): the PLIF
//! charge `v + (x − (v − v_r))·k` can then differ in the last bit, and a spike at a charge
//! within that bit of θ flip. The IF and LIF charges have no product to contract (the
//! resets multiply by S ∈ {0, 1}, which is exact), so their spikes are the CPU's wherever
//! f32 division is correctly rounded (CUDA's default, and lavapipe; Vulkan on other
//! hardware may be off by 2.5 ulp). σ is computed in f32 (the CPU form computes it in f64
//! and rounds), and ∂L/∂k is summed in f32 (in f64 on the CPU), so gradients agree to f32
//! rounding, not bit for bit.
//!
//! Outputs are allocated row-major (`empty_device_contiguous_dtype`; burn's default
//! allocation pads rows on CUDA), inputs made row-major by `into_contiguous`.

mod kernel;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::{DType, Shape, Tensor, TensorPrimitive};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, IntElement};
use cubecl::prelude::*;
use cubecl::calculate_cube_count_elemwise;

use crate::fused::{Form, LayerConsts, SeqLif};
use crate::surrogate::Surrogate;
use kernel::{ConstsLaunch, Grad};

/// A CubeCL backend in f32 under burn's autodiff.
pub type CubeTrain<R, I, BT> = Autodiff<CubeBackend<R, f32, I, BT>>;

/// burn-wgpu's backend (Vulkan, Metal, DirectX; Mesa's lavapipe on a CPU) under autodiff.
#[cfg(feature = "wgpu")]
pub type WgpuTrain = CubeTrain<burn_wgpu::WgpuRuntime, i32, u32>;

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> SeqLif for CubeTrain<R, I, BT> {
    const FUSED: bool = true;
    /// The kernels index in u32 (`m` and `t·m + i`).
    const FUSED_MAX: usize = u32::MAX as usize;
    fn lif_seq(x: Tensor<Self, 2>, steps: usize, c: &LayerConsts, k: Option<Tensor<Self, 1>>) -> Option<Tensor<Self, 2>> {
        if x.dtype() != DType::F32 || k.as_ref().is_some_and(|k| k.dtype() != DType::F32) || x.shape().num_elements() > Self::FUSED_MAX {
            return None;
        }
        Some(fused(x, k, steps, *c))
    }
}

/// `g'`'s kind and constants for the kernel (from [`Surrogate::grad`]'s formulas).
fn surrogate_consts(s: &Surrogate) -> (Grad, [f32; 3]) {
    use std::f64::consts::PI;
    let (g, p): (Grad, [f64; 3]) = match *s {
        Surrogate::Sigmoid { alpha } => (Grad::Sigmoid, [alpha, 0.0, 0.0]),
        Surrogate::ATan { alpha } => (Grad::ATan, [alpha / 2.0, PI / 2.0 * alpha, 0.0]),
        Surrogate::PiecewiseQuadratic { alpha } => (Grad::PiecewiseQuadratic, [alpha, alpha * alpha, 0.0]),
        Surrogate::PiecewiseExp { alpha } => (Grad::PiecewiseExp, [alpha / 2.0, alpha, 0.0]),
        Surrogate::SoftSign { alpha } => (Grad::SoftSign, [alpha / 2.0, alpha, 0.0]),
        Surrogate::Erf { alpha } => (Grad::Erf, [alpha / PI.sqrt(), alpha, 0.0]),
        Surrogate::PiecewiseLeakyReLU { w, c } => (Grad::Window, [1.0 / (2.0 * w), c, w]),
        Surrogate::FastSigmoid { alpha } => (Grad::FastSigmoid, [alpha, 0.0, 0.0]),
        Surrogate::Triangle { alpha } => (Grad::Triangle, [alpha, 0.0, 0.0]),
        Surrogate::BilinearLeakyReLU { a, b, c } => (Grad::Window, [a, b, c]),
        Surrogate::SignSwish { beta } => (Grad::SignSwish, [beta, 0.0, 0.0]),
        Surrogate::Stbp { alpha } => (Grad::Stbp, [1.0 / (2.0 * PI * alpha), 1.0 / (2.0 * alpha), 0.0]),
        Surrogate::Stca { alpha } => (Grad::Stca, [alpha, 0.0, 0.0]),
    };
    (g, p.map(|v| v as f32))
}

fn consts<R: CubeRuntime>(c: &LayerConsts) -> ConstsLaunch<R> {
    let (_, p) = surrogate_consts(&c.surrogate);
    let tau = c.lif.map_or(1.0, |l| l.0) as f32;
    ConstsLaunch::new(tau, c.v_reset.unwrap_or(0.0) as f32, c.v_th as f32, c.v0 as f32, p[0], p[1], p[2])
}

/// A new row-major tensor: the kernels index it as one flat array. (`empty_device_dtype`
/// asks for the runtime's optimized layout, which on CUDA pads each row to an alignment.)
fn empty<R: CubeRuntime>(like: &CubeTensor<R>, shape: Shape) -> CubeTensor<R> {
    let t = empty_device_contiguous_dtype(like.client.clone(), like.device.clone(), shape, DType::F32);
    assert!(t.is_contiguous(), "a contiguous buffer for the fused layer");
    t
}

/// Threads for `m` neurons.
fn grid<R: CubeRuntime>(like: &CubeTensor<R>, m: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new(&like.client, m);
    (calculate_cube_count_elemwise(&like.client, m, dim), dim)
}

/// Spikes and charges of inputs `x` (contiguous `[T·B, N]`); `k`: a PLIF layer's 1/τ.
fn forward<R: CubeRuntime>(x: &CubeTensor<R>, k: Option<&CubeTensor<R>>, steps: usize, c: &LayerConsts) -> (CubeTensor<R>, CubeTensor<R>) {
    let shape = x.meta.shape().clone();
    let m = shape.num_elements() / steps;
    let (s, h) = (empty(x, shape.clone()), empty(x, shape));
    let (count, dim) = grid(x, m);
    let plif = k.is_some();
    // Not a PLIF layer: the kernel does not read `k`; `x` stands in.
    let k = k.unwrap_or(x);
    kernel::lif_forward::launch::<R>(
        &x.client,
        count,
        dim,
        x.clone().into_tensor_arg(),
        k.clone().into_tensor_arg(),
        s.clone().into_tensor_arg(),
        h.clone().into_tensor_arg(),
        m as u32,
        steps as u32,
        consts::<R>(c),
        Form::of(c, plif),
        c.v_reset.is_some(),
    );
    (s, h)
}

/// `∂L/∂X` from `ds` and the saved charges `h`, and (PLIF: `xk` = the inputs and 1/τ) `∂L/∂k`.
fn backward<R: CubeRuntime, I: IntElement, BT: BoolElement>(ds: CubeTensor<R>, h: &CubeTensor<R>, xk: Option<(&CubeTensor<R>, &CubeTensor<R>)>, steps: usize, c: &LayerConsts) -> (CubeTensor<R>, Option<CubeTensor<R>>) {
    let ds = into_contiguous(ds);
    let shape = h.meta.shape().clone();
    let m = shape.num_elements() / steps;
    let dx = empty(h, shape);
    // Not a PLIF layer: the kernel neither reads `x` and `k` (`h` stands in) nor writes `dk`.
    let dk = empty(h, Shape::new([if xk.is_some() { m } else { 1 }]));
    let (x, k) = xk.unwrap_or((h, h));
    let (count, dim) = grid(h, m);
    kernel::lif_backward::launch::<R>(
        &h.client,
        count,
        dim,
        ds.into_tensor_arg(),
        h.clone().into_tensor_arg(),
        x.clone().into_tensor_arg(),
        k.clone().into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        dk.clone().into_tensor_arg(),
        m as u32,
        steps as u32,
        consts::<R>(c),
        Form::of(c, xk.is_some()),
        c.v_reset.is_some(),
        c.detach_reset,
        c.out_charges,
        surrogate_consts(&c.surrogate).0,
    );
    let dk = xk.map(|_| {
        let part = Tensor::<CubeBackend<R, f32, I, BT>, 1>::from_primitive(TensorPrimitive::Float(dk));
        sum_in_order(part).into_primitive().tensor()
    });
    (dx, dk)
}

/// The sum of `v` in an order that is the same every run: rows of [`ROW`] values, each
/// summed by one unit, then the row sums. (burn's `sum` of a whole tensor adds the parts of
/// its cubes with atomics on a GPU, in whatever order they finish; `sum_dim` reduces each
/// row in one unit, as long as burn-cubecl's `autotune` feature is off: see Cargo.toml.)
fn sum_in_order<B: burn::tensor::backend::Backend>(v: Tensor<B, 1>) -> Tensor<B, 1> {
    const ROW: usize = 1024;
    let m = v.dims()[0];
    let rows = m.div_ceil(ROW).max(1);
    let pad = rows * ROW - m;
    let v = if pad > 0 {
        let zeros = Tensor::<B, 1>::zeros([pad], (&v.device(), v.dtype()));
        Tensor::cat(vec![v, zeros], 0)
    } else {
        v
    };
    v.reshape([rows, ROW]).sum_dim(1).reshape([1, rows]).sum_dim(1).reshape([1])
}

/// The backward node of a LIF or IF layer: its state is the charges H.
#[derive(Debug)]
struct LifBackward {
    steps: usize,
    c: LayerConsts,
}

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<CubeBackend<R, f32, I, BT>, 1> for LifBackward {
    type State = CubeTensor<R>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let ds = grads.consume::<CubeBackend<R, f32, I, BT>>(&ops.node);
        let Some(parent) = parent else { return };
        let (dx, _) = backward::<R, I, BT>(ds, &ops.state, None, self.steps, &self.c);
        grads.register::<CubeBackend<R, f32, I, BT>>(parent.id, dx);
    }
}

/// A PLIF layer's backward node: its state is (H, X, k); parents (X, k).
#[derive(Debug)]
struct PlifBackward {
    steps: usize,
    c: LayerConsts,
}

impl<R: CubeRuntime, I: IntElement, BT: BoolElement> Backward<CubeBackend<R, f32, I, BT>, 2> for PlifBackward {
    type State = (CubeTensor<R>, CubeTensor<R>, CubeTensor<R>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [px, pk] = ops.parents;
        let ds = grads.consume::<CubeBackend<R, f32, I, BT>>(&ops.node);
        let (h, x, k) = &ops.state;
        let (dx, dk) = backward::<R, I, BT>(ds, h, Some((x, k)), self.steps, &self.c);
        if let Some(px) = px {
            grads.register::<CubeBackend<R, f32, I, BT>>(px.id, dx);
        }
        if let (Some(pk), Some(dk)) = (pk, dk) {
            grads.register::<CubeBackend<R, f32, I, BT>>(pk.id, dk);
        }
    }
}

fn fused<R: CubeRuntime, I: IntElement, BT: BoolElement>(x: Tensor<CubeTrain<R, I, BT>, 2>, k: Option<Tensor<CubeTrain<R, I, BT>, 1>>, steps: usize, c: LayerConsts) -> Tensor<CubeTrain<R, I, BT>, 2> {
    let x = x.into_primitive().tensor();
    let xin = into_contiguous(x.primitive.clone());
    let out = match k {
        None => {
            let (s, h) = forward(&xin, None, steps, &c);
            let out = if c.out_charges { h.clone() } else { s };
            match (LifBackward { steps, c }).prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish(h, out),
                OpsKind::UnTracked(prep) => prep.finish(out),
            }
        }
        Some(k) => {
            let k = k.into_primitive().tensor();
            let kin = into_contiguous(k.primitive.clone());
            let (s, h) = forward(&xin, Some(&kin), steps, &c);
            let out = if c.out_charges { h.clone() } else { s };
            match (PlifBackward { steps, c }).prepare::<NoCheckpointing>([x.node.clone(), k.node.clone()]).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish((h, xin, kin), out),
                OpsKind::UnTracked(prep) => prep.finish(out),
            }
        }
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}
