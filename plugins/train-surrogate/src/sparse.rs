//! A dense projection of spikes, `Y = X · Wᵀ`, as one autodiff operation that visits only
//! the spikes: in `X` (`[rows, n_src]`) every nonzero entry has the same value `c` (1 for
//! spikes; 1/(1 − p) under dropout), so
//! ```text
//! Y[r, t]  = c · Σ_{i : X[r, i] ≠ 0} W[t, i]          (i ascending)
//! ∂L/∂W[t, i] = c · Σ_{r : X[r, i] ≠ 0} ∂L/∂Y[r, t]   (r ascending)
//! ∂L/∂X = ∂L/∂Y · W                                     (dense; only when X needs it)
//! ```
//! Work in proportion to the spikes (a tenth of the entries in the anchor task) where
//! SpikingJelly and snnTorch multiply the dense matrices.
//!
//! The kernels keep a tile of 32 output columns in registers and add whole rows of a
//! packed tile of `Wᵀ` (or of `∂L/∂Y`) into it, a tile that stays in the core's cache
//! while every row of `X` passes over it; rows (or columns) are split over the threads
//! within a tile. Each output entry is its own sum in a fixed order, so it does not
//! depend on the other rows of the call (all steps at once or one step: the same bits), on
//! the thread count, or on the SIMD width [`pulp`] picks at run time (lane-wise additions
//! and one multiplication, no fused multiply-add).
//!
//! Used by [`crate::net::EdgeSpec::apply`] on the CPU training backend for every call whose
//! input is spike-like and whose weights number at least [`MIN_WEIGHTS`]. The choice
//! depends on the values and the shape of the weights only: when all steps at once are
//! spike-like, so is each step, and the per-step and the layered paths compute the same
//! sums (one step with no spikes at all may take this form where all steps took gemm's;
//! both give zeros). `tests/sparse.rs` checks both sums bit for bit against the formulas
//! computed in f32 in the same order, the input gradient against f64, and the same bits on
//! 1 and 3 threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use crate::fused::{CpuTrain, contiguous};

/// Output columns per tile (the accumulator: four AVX2 registers, two AVX-512 ones).
const TILE: usize = 32;
/// Rows (forward) or columns (weight gradient) per rayon task within a tile.
const TASK: usize = 64;

/// The value `c` shared by every nonzero entry of `x`, `Some(None)` if all are zero,
/// `None` if the nonzero entries differ (then `x` is not spike-like).
fn spike_value(x: &[f32]) -> Option<Option<f32>> {
    let one = |x: &[f32]| -> Option<Option<f32>> {
        let mut c = None;
        for &v in x {
            if v != 0.0 {
                match c {
                    None => c = Some(v),
                    Some(c) if f32::to_bits(c) == v.to_bits() => {}
                    Some(_) => return None,
                }
            }
        }
        Some(c)
    };
    let parts: Vec<Option<Option<f32>>> = x.par_chunks(1 << 16).map(one).collect();
    let mut c = None;
    for p in parts {
        match (c, p?) {
            (_, None) => {}
            (None, Some(v)) => c = Some(v),
            (Some(a), Some(b)) if f32::to_bits(a) == b.to_bits() => {}
            _ => return None,
        }
    }
    Some(c)
}

/// The nonzero positions of `x` (`[rows, n]`) by row: (row starts, columns).
fn by_row(x: &[f32], n: usize) -> (Vec<usize>, Vec<u32>) {
    // Each block of rows on its own thread, then joined in order.
    let blocks: Vec<(Vec<usize>, Vec<u32>)> = x
        .par_chunks(n * TASK)
        .map(|block| {
            let mut len = Vec::with_capacity(block.len() / n);
            let mut col = Vec::new();
            for row in block.chunks(n) {
                col.extend(row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(i, _)| i as u32));
                len.push(col.len());
            }
            (len, col)
        })
        .collect();
    let mut ptr = Vec::with_capacity(x.len() / n.max(1) + 1);
    ptr.push(0);
    let mut col = Vec::with_capacity(blocks.iter().map(|b| b.1.len()).sum());
    for (len, c) in blocks {
        let base = col.len();
        ptr.extend(len.iter().map(|l| base + l));
        col.extend_from_slice(&c);
    }
    (ptr, col)
}

/// The nonzero positions of `x` (`[rows, n]`) by column: (column starts, rows ascending).
fn by_col(x: &[f32], n: usize) -> (Vec<usize>, Vec<u32>) {
    let mut count = vec![0usize; n + 1];
    for row in x.chunks(n) {
        for (i, &v) in row.iter().enumerate() {
            count[i + 1] += usize::from(v != 0.0);
        }
    }
    for i in 0..n {
        count[i + 1] += count[i];
    }
    let mut next = count.clone();
    let mut rows = vec![0u32; count[n]];
    for (r, row) in x.chunks(n).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            if v != 0.0 {
                rows[next[i]] = r as u32;
                next[i] += 1;
            }
        }
    }
    (count, rows)
}

/// `m` (`[k, cols]` when `!transposed`, `[cols, k]` when `transposed`) as column tiles of
/// the `[k, cols]` matrix: tile `j` is `[k, TILE]` row-major, columns past `cols` zero.
fn pack(m: &[f32], k: usize, cols: usize, transposed: bool) -> Vec<f32> {
    let tiles = cols.div_ceil(TILE);
    let mut out = vec![0.0f32; tiles * k * TILE];
    out.par_chunks_mut(k * TILE).enumerate().for_each(|(j, tile)| {
        let c0 = j * TILE;
        let w = TILE.min(cols - c0);
        if transposed {
            // In blocks of BLOCK rows of the tile (BLOCK·TILE floats, in L1 while written).
            const BLOCK: usize = 128;
            for r0 in (0..k).step_by(BLOCK) {
                let r1 = (r0 + BLOCK).min(k);
                for c in 0..w {
                    let src = &m[(c0 + c) * k + r0..(c0 + c) * k + r1];
                    for (r, &v) in src.iter().enumerate() {
                        tile[(r0 + r) * TILE + c] = v;
                    }
                }
            }
        } else {
            for r in 0..k {
                tile[r * TILE..r * TILE + w].copy_from_slice(&m[r * cols + c0..r * cols + c0 + w]);
            }
        }
    });
    out
}

/// Σ over `rows` (ascending) of the packed tile's rows, times `c`: one tile of one output row.
#[inline(always)]
fn tile_sum(tile: &[f32], rows: &[u32], c: f32) -> [f32; TILE] {
    let mut acc = [0.0f32; TILE];
    for &i in rows {
        let src: &[f32; TILE] = tile[i as usize * TILE..][..TILE].try_into().expect("a whole tile row");
        for (a, &b) in acc.iter_mut().zip(src) {
            *a += b;
        }
    }
    acc.map(|a| a * c)
}

/// Output rows `first..` of one tile: row `k` of `out` (rows of `stride`) gets, at
/// `offset..offset + width`, [`tile_sum`] over the list `idx[ptr[first + k]..ptr[first + k + 1]]`.
/// A [`pulp::WithSimd`], so that the loop compiles for the SIMD width found at run time.
struct SumRows<'a> {
    tile: &'a [f32],
    ptr: &'a [usize],
    idx: &'a [u32],
    first: usize,
    out: &'a mut [f32],
    stride: usize,
    offset: usize,
    width: usize,
    c: f32,
}

impl pulp::WithSimd for SumRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let SumRows { tile, ptr, idx, first, out, stride, offset, width, c } = self;
        for (k, o) in out.chunks_mut(stride).enumerate() {
            let r = first + k;
            let acc = tile_sum(tile, &idx[ptr[r]..ptr[r + 1]], c);
            o[offset..offset + width].copy_from_slice(&acc[..width]);
        }
    }
}

/// `Y = c·(X ≠ 0)·Wᵀ` on the host: `w` is `[n_tgt, n_src]`, the result `[rows, n_tgt]`.
fn forward_host(ptr: &[usize], col: &[u32], c: f32, w: &[f32], n_src: usize, n_tgt: usize) -> Vec<f32> {
    let rows = ptr.len() - 1;
    let wt = pack(w, n_src, n_tgt, true);
    let mut y = vec![0.0f32; rows * n_tgt];
    let arch = pulp::Arch::new();
    for (j, tile) in wt.chunks(n_src * TILE).enumerate() {
        let (c0, width) = (j * TILE, TILE.min(n_tgt - j * TILE));
        y.par_chunks_mut(TASK * n_tgt).enumerate().for_each(|(task, out)| {
            arch.dispatch(SumRows { tile, ptr, idx: col, first: task * TASK, out, stride: n_tgt, offset: c0, width, c });
        });
    }
    y
}

/// `∂L/∂W = c·∂L/∂Yᵀ·(X ≠ 0)` on the host: `dy` is `[rows, n_tgt]`, the result `[n_tgt, n_src]`.
fn weight_grad_host(cptr: &[usize], crow: &[u32], c: f32, dy: &[f32], rows: usize, n_tgt: usize) -> Vec<f32> {
    let n_src = cptr.len() - 1;
    let tiles = n_tgt.div_ceil(TILE);
    let dyt = pack(dy, rows, n_tgt, false);
    // Tile-major ∂L/∂Wᵀ: tile j holds [n_src, TILE].
    let mut dwt = vec![0.0f32; tiles * n_src * TILE];
    let arch = pulp::Arch::new();
    for (tile, out) in dyt.chunks(rows * TILE).zip(dwt.chunks_mut(n_src * TILE)) {
        out.par_chunks_mut(TASK * TILE).enumerate().for_each(|(task, out)| {
            arch.dispatch(SumRows { tile, ptr: cptr, idx: crow, first: task * TASK, out, stride: TILE, offset: 0, width: TILE, c });
        });
    }
    // Each tile's TILE rows of ∂L/∂W at once, read a block of the tile at a time.
    let mut dw = vec![0.0f32; n_tgt * n_src];
    dw.par_chunks_mut(TILE * n_src).zip(dwt.par_chunks(n_src * TILE)).for_each(|(rows, tile)| {
        const BLOCK: usize = 128;
        for i0 in (0..n_src).step_by(BLOCK) {
            let i1 = (i0 + BLOCK).min(n_src);
            for (lane, row) in rows.chunks_mut(n_src).enumerate() {
                for i in i0..i1 {
                    row[i] = tile[i * TILE + lane];
                }
            }
        }
    });
    dw
}

/// The f32 values of `t`, row-major (a copy only where its layout is not).
fn host(t: &FlexTensor) -> FlexTensor {
    contiguous(t.clone())
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("f32 values")
}

/// The fewest weights (`n_tgt · n_src`) for which the spike matmul is used: below, packing
/// and threads cost more than gemm's dense product (the digits network, 64 → 128 → 10, was
/// twice as slow with it). A bound on the shape only, never on the rows, so that every call
/// of one edge takes the same form.
pub const MIN_WEIGHTS: usize = 1 << 16;

/// `x · wᵀ` (`x` `[rows, n_src]`, `w` `[n_tgt, n_src]`) through the spikes of `x`, when `x`
/// is spike-like, both are f32 and `w` has at least [`MIN_WEIGHTS`] entries; `None` otherwise.
pub fn spike_matmul(x: &Tensor<CpuTrain, 2>, w: &Tensor<CpuTrain, 2>) -> Option<Tensor<CpuTrain, 2>> {
    let [rows, n_src] = x.dims();
    let [n_tgt, n_src_w] = w.dims();
    if n_src != n_src_w || x.dtype() != DType::F32 || w.dtype() != DType::F32 || rows == 0 || n_src * n_tgt < MIN_WEIGHTS {
        return None;
    }
    let xa = x.clone().into_primitive().tensor();
    let xs = host(&xa.primitive);
    let c = spike_value(values(&xs))?.unwrap_or(0.0);
    let (ptr, col) = by_row(values(&xs), n_src);
    drop(xs);
    let wa = w.clone().into_primitive().tensor();
    let y = forward_host(&ptr, &col, c, values(&host(&wa.primitive)), n_src, n_tgt);
    let out = FlexTensor::from_data(TensorData::new(y, [rows, n_tgt]));
    let out = match (SpikeMatmulBackward { c }).prepare::<NoCheckpointing>([xa.node.clone(), wa.node.clone()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((xa.primitive.clone(), wa.primitive.clone()), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Some(Tensor::from_primitive(TensorPrimitive::Float(out)))
}

/// The backward node; its state is (X, W).
#[derive(Debug)]
struct SpikeMatmulBackward {
    c: f32,
}

impl Backward<Flex, 2> for SpikeMatmulBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [px, pw] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let (rows, n_src) = (x.layout().shape()[0], x.layout().shape()[1]);
        let n_tgt = w.layout().shape()[0];
        if let Some(pw) = pw {
            let (cptr, crow) = by_col(values(&host(&x)), n_src);
            let dw = weight_grad_host(&cptr, &crow, self.c, values(&host(&dy)), rows, n_tgt);
            grads.register::<Flex>(pw.id, FlexTensor::from_data(TensorData::new(dw, [n_tgt, n_src])));
        }
        if let Some(px) = px {
            let dy = Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(dy));
            let w = Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(w));
            grads.register::<Flex>(px.id, dy.matmul(w).into_primitive().tensor());
        }
    }
}
