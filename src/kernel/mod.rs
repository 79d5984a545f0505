//! A [`NeuronDynamics`] made into the object-safe [`NeuronModel`] the core stores, with
//! the cpu engine's fused loop for it; the one place that selects CPU features at run time.
//!
//! `unsafe` is allowed here only: calling the AVX2 and AVX-512 builds of the loop after
//! checking that the CPU has those features, and reaching the loop's full blocks through
//! pointers made once per call from slices whose lengths it has checked. Every build runs
//! the same IEEE operations (Rust never contracts `a * b + c` into an FMA, and `exp`/`ln`
//! stay calls of the same scalar functions), so results are bit-identical whichever runs
//! ([`Simd`] names them; `tests/device.rs` runs every model through each one the CPU has).
//! The draws of white noise (`noise`) are built for the same CPU features.
//! It also holds [`TargetPart`]: threads that deliver spikes into one population's delay
//! ring side by side, each writing only the targets of its own range.
#![expect(unsafe_code, reason = "the AVX2 and AVX-512 builds of the fused loop are called after a run-time feature check; its blocks are reached through pointers into slices of checked length; delivery threads write disjoint target ranges of one buffer")]

mod block;
pub(crate) mod native;
pub(crate) mod noise;
pub(crate) mod program_plan;
pub(crate) mod program_step;

use std::marker::PhantomData;
use std::sync::Arc;

use block::{Block, BlockMask};

use crate::api::program::{Program, Sym};
use crate::api::run::Simd;
use crate::api::model::{ChoiceSpec, Col, ColMask, MAX_VARS, NeuronDynamics, NeuronModel, ParamSpec, Params, PreparedModel, ReceptorSpec, VarSpec};

/// Neurons per block of the fused loop.
const BLOCK: usize = 8;

/// Update + threshold + reset of neurons `offset..offset + n` in one pass, by the build
/// `simd`, or the highest build below it that the CPU supports (never an instruction the
/// CPU lacks). `inputs[r]` is empty for a receptor that receives nothing (read as 0).
pub(crate) fn fused_step_with<M: NeuronDynamics>(simd: Simd, coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    // The last receptor is most often a model's injected current, which few scenarios
    // feed: a loop of its own reads it as a constant 0, so its terms fold away
    // (`(0 + i_e) * p20` once per call instead of twice per block: `benches/fused.rs` at
    // 4000 neurons, AVX-512, CUBA 7 % and COBA 2 % less time).
    if inputs.last().is_some_and(|i| i.is_empty()) {
        fused_dispatch::<M, true>(simd, coeffs, vars, inputs, offset, spikes);
    } else {
        fused_dispatch::<M, false>(simd, coeffs, vars, inputs, offset, spikes);
    }
}

#[inline(always)]
fn fused_dispatch<M: NeuronDynamics, const LAST_ABSENT: bool>(simd: Simd, coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    #[cfg(target_arch = "x86_64")]
    {
        if simd >= Simd::Avx512 && Simd::Avx512.supported() {
            // SAFETY: the CPU supports AVX2, AVX-512 F, VL and DQ (`Simd::supported`).
            unsafe { fused_avx512::<M, LAST_ABSENT>(coeffs, vars, inputs, offset, spikes) };
            return;
        }
        if simd >= Simd::Avx2 && Simd::Avx2.supported() {
            // SAFETY: the CPU supports AVX2 (`Simd::supported`).
            unsafe { fused_avx2::<M, LAST_ABSENT>(coeffs, vars, inputs, offset, spikes) };
            return;
        }
    }
    let _ = simd;
    fused_block_loop::<M, Portable, LAST_ABSENT>(coeffs, vars, inputs, offset, spikes);
}

/// How a block's spike mask becomes bits: lane by lane, or one `vmovmskpd` per four lanes
/// (a sixth of the loop's instructions when done lane by lane).
trait MaskBits {
    fn bits(m: &BlockMask<BLOCK>) -> u32;
    /// Whether any lane is true (tested on every block, so it must be cheap; most blocks
    /// have no spike).
    fn any(m: &BlockMask<BLOCK>) -> bool {
        m.any()
    }
}

struct Portable;

impl MaskBits for Portable {
    #[inline(always)]
    fn bits(m: &BlockMask<BLOCK>) -> u32 {
        m.bits()
    }
}

#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl MaskBits for Avx2 {
    #[inline(always)]
    fn bits(m: &BlockMask<BLOCK>) -> u32 {
        // SAFETY: `Avx2` is used only by `fused_avx2`, which runs after the AVX2 check.
        unsafe { movemask_avx2(m) }
    }
    #[inline(always)]
    fn any(m: &BlockMask<BLOCK>) -> bool {
        // SAFETY: as above.
        unsafe { any_avx2(m) }
    }
}

/// The AVX-512 build: a mask's bits by `vpmovq2m`, which LLVM takes straight from the mask
/// register the compares wrote, so the test of a block costs a few instructions (the
/// generic OR of the lanes took 9).
#[cfg(target_arch = "x86_64")]
struct Avx512;

#[cfg(target_arch = "x86_64")]
impl MaskBits for Avx512 {
    #[inline(always)]
    fn bits(m: &BlockMask<BLOCK>) -> u32 {
        // SAFETY: `Avx512` is used only by `fused_avx512`, which runs after the AVX-512
        // check (F, VL and DQ).
        unsafe { movemask_avx512(m) }
    }
    #[inline(always)]
    fn any(m: &BlockMask<BLOCK>) -> bool {
        Self::bits(m) != 0
    }
}

/// The sign bits of the mask's lanes, four lanes per `vpmovq2m`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
#[inline]
fn movemask_avx512(m: &BlockMask<BLOCK>) -> u32 {
    use std::arch::x86_64::{_mm256_loadu_si256, _mm256_movepi64_mask};
    let mut bits = 0u32;
    for (q, lanes) in m.0.chunks_exact(4).enumerate() {
        let lanes = <&[u64; 4]>::try_from(lanes).expect("four lanes");
        // SAFETY: `lanes` is 32 readable bytes; the load is unaligned.
        let v = unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) };
        bits |= u32::from(_mm256_movepi64_mask(v)) << (4 * q);
    }
    bits
}

/// The lanes ORed and tested with one `vptest`: LLVM turns the generic OR of the lanes
/// into the dozen instructions of a movemask, measured 5-17 % more loop time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn any_avx2(m: &BlockMask<BLOCK>) -> bool {
    use std::arch::x86_64::{_mm256_loadu_si256, _mm256_or_si256, _mm256_testz_si256};
    // SAFETY: `m.0` is 64 readable bytes; the loads are unaligned.
    let (a, b) = unsafe { (_mm256_loadu_si256(m.0.as_ptr().cast()), _mm256_loadu_si256(m.0[4..].as_ptr().cast())) };
    let o = _mm256_or_si256(a, b);
    _mm256_testz_si256(o, o) == 0
}

/// The sign bits of the mask's lanes (all ones or zero), four lanes per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn movemask_avx2(m: &BlockMask<BLOCK>) -> u32 {
    use std::arch::x86_64::{_mm256_castsi256_pd, _mm256_loadu_si256, _mm256_movemask_pd};
    const _: () = assert!(BLOCK.is_multiple_of(4), "whole 256-bit vectors");
    let mut bits = 0u32;
    for (q, lanes) in m.0.chunks_exact(4).enumerate() {
        let lanes = <&[u64; 4]>::try_from(lanes).expect("four lanes");
        // SAFETY: `lanes` is 32 readable bytes; the load is unaligned.
        let v = unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) };
        bits |= (_mm256_movemask_pd(_mm256_castsi256_pd(v)) as u32) << (4 * q);
    }
    bits
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fused_avx2<M: NeuronDynamics, const LAST_ABSENT: bool>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    fused_block_loop::<M, Avx2, LAST_ABSENT>(coeffs, vars, inputs, offset, spikes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
fn fused_avx512<M: NeuronDynamics, const LAST_ABSENT: bool>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    fused_block_loop::<M, Avx512, LAST_ABSENT>(coeffs, vars, inputs, offset, spikes);
}

/// The fused loop: `M::step` once per block of [`BLOCK`] neurons, on `Block<BLOCK>` lanes
/// (in the AVX-512 build one 512-bit vector per variable). Two 256-bit halves per block
/// there, in AVX-512's 32 registers, measured 10-15 % more time per step of COBA-4000 and
/// CUBA-4000 (`benches/step_comparison.txt`, 2026-11-25), although Zen 4 executes a
/// 512-bit operation as two 256-bit ones: twice the instructions, mask operations and
/// branches per neuron. Lane for lane the operations are the same.
/// `LAST_ABSENT`: the last receptor's input is empty (the caller checked), read as a
/// constant 0 on full blocks.
#[inline(always)]
fn fused_block_loop<M: NeuronDynamics, K: MaskBits, const LAST_ABSENT: bool>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    let nv = M::VARS.len();
    let evolving = nv - M::CONSTANT_VARS;
    let nr = M::RECEPTORS.len();
    let n = vars.first().map_or(0, |v| v.len());
    assert!(vars.len() == nv && inputs.len() == nr && vars.iter().all(|v| v.len() == n) && inputs.iter().all(|v| v.len() == n || v.is_empty()));
    assert!(!LAST_ABSENT || inputs.last().is_some_and(|i| i.is_empty()));
    // NOTE: update, threshold and reset happen in one pass, a block of neurons at a
    // time: the block is copied into fixed-size arrays and the model's `step` runs once
    // per block on `Block` lanes (each operation applied lane by lane, as on `f64`), so
    // that its branches on coefficients are taken once per block and its math compiles to
    // SIMD without bounds checks. The last, short block has arrays of its own (sharing
    // them with the full blocks makes LLVM split the vectors unevenly, and the loads then
    // straddle the copies' stores, a store-forwarding stall per block); its lanes past
    // the end compute on zeros and are discarded.
    let full = n - n % BLOCK;
    // Full blocks are reached through these pointers: every slice has `n` elements
    // (asserted above), so a block needs no bounds check and no reload of the slices'
    // addresses. A receptor nothing projects to has a null pointer, and so, known at
    // compile time, has the last one when `LAST_ABSENT` (its reads fold to a constant 0).
    let var_at: [*mut [f64; BLOCK]; MAX_VARS] = std::array::from_fn(|k| if k < nv { vars[k].as_mut_ptr().cast() } else { std::ptr::null_mut() });
    let input_at: [*mut [f64; BLOCK]; MAX_VARS] = std::array::from_fn(|r| if r < nr && !inputs[r].is_empty() && !(LAST_ABSENT && r + 1 == nr) { inputs[r].as_mut_ptr().cast() } else { std::ptr::null_mut() });
    // Spikes are written into room reserved for all `n`, with no call inside the loop: a
    // call (`Vec::push` growing) would make LLVM keep the model's constants on the stack,
    // since it clobbers every vector register.
    let start = spikes.len();
    spikes.reserve(n);
    let mut count = 0;
    let room = &mut spikes.spare_capacity_mut()[..n];
    for b in 0..full / BLOCK {
        // Fresh arrays per block, not hoisted out of the loop: carried from one block to
        // the next, LLVM keeps them in memory (a store and a reload of every input block,
        // measured 15-20 % of the loop).
        let mut inp = [Block([0.0; BLOCK]); MAX_VARS];
        let mut st = [Block([0.0; BLOCK]); MAX_VARS];
        // Every input of the block is read before any is cleared: rows of one ring often
        // start at one offset within a page, where a load after a store to another row
        // would wait for the store (`util::lines`).
        for r in 0..nr {
            if !input_at[r].is_null() {
                // SAFETY: `input_at[r]` starts a slice of `n >= (b + 1) * BLOCK` elements,
                // which stays mutably borrowed for the whole call (f64 alignment suffices).
                inp[r].0 = unsafe { *input_at[r].add(b) };
            }
        }
        for &at in &input_at[..nr] {
            if !at.is_null() {
                // SAFETY: as above.
                unsafe { *at.add(b) = [0.0; BLOCK] };
            }
        }
        for k in 0..nv {
            // SAFETY: as above, for the variable's slice.
            st[k].0 = unsafe { *var_at[k].add(b) };
        }
        let spk = M::step::<Block<BLOCK>>(coeffs, &mut st[..nv], &inp[..nr]);
        // (Constant rows, per-neuron parameters, are not written: `step` leaves them.)
        for k in 0..evolving {
            // SAFETY: as above.
            unsafe { *var_at[k].add(b) = st[k].0 };
        }
        // Most blocks have no spike: a test of all lanes at once skips turning the mask
        // into bits.
        if K::any(&spk) {
            write_spikes(K::bits(&spk), offset + (b * BLOCK) as u32, room, &mut count);
        }
    }
    if full < n {
        let (base, len) = (full, n - full);
        let mut st = [Block([0.0; BLOCK]); MAX_VARS];
        let mut inp = [Block([0.0; BLOCK]); MAX_VARS];
        for k in 0..nv {
            st[k].0[..len].copy_from_slice(&vars[k][base..]);
        }
        for r in 0..nr {
            if inputs[r].is_empty() {
                continue;
            }
            let src = &mut inputs[r][base..];
            inp[r].0[..len].copy_from_slice(src);
            src.fill(0.0);
        }
        let spk = M::step::<Block<BLOCK>>(coeffs, &mut st[..nv], &inp[..nr]);
        for k in 0..evolving {
            vars[k][base..].copy_from_slice(&st[k].0[..len]);
        }
        write_spikes(K::bits(&spk) & ((1 << len) - 1), offset + base as u32, room, &mut count);
    }
    // SAFETY: `write_spikes` wrote `room[..count]`, the `count` elements after `start`.
    unsafe { spikes.set_len(start + count) };
}

/// Writes `first + i` for each bit `i` set in `bits`, ascending, at `room[*count..]`.
/// `room` holds one element per neuron, so it never runs out (an index past it would
/// panic, a call that never returns, so it costs the loop no registers).
#[inline(always)]
fn write_spikes(mut bits: u32, first: u32, room: &mut [std::mem::MaybeUninit<u32>], count: &mut usize) {
    while bits != 0 {
        room[*count].write(first + bits.trailing_zeros());
        *count += 1;
        bits &= bits - 1;
    }
}

/// The object-safe model the registry stores for `M` (with the model that runs its
/// populations given per-neuron values, if it has one). The caller has checked that `M`
/// declares at most [`MAX_VARS`] variables and receptors.
pub(crate) fn neuron_model<M: NeuronDynamics>(variant: Option<Arc<dyn NeuronModel>>) -> Arc<dyn NeuronModel> {
    Arc::new(DynamicsModel::<M> { variant, _model: PhantomData })
}

struct DynamicsModel<M: NeuronDynamics> {
    variant: Option<Arc<dyn NeuronModel>>,
    _model: PhantomData<M>,
}

/// Every state variable's initial value: `initial`'s, the constant rows from `constants`.
fn initial_of<M: NeuronDynamics>(params: &Params, dt_ms: f64) -> Result<Vec<f64>, String> {
    let mut initial = M::initial(params);
    let constants = M::constants(params, dt_ms);
    if initial.len() != M::VARS.len() || constants.len() != M::CONSTANT_VARS {
        return Err(format!(
            "model `{}` gives {} initial values for {} state variables and {} constants for {} constant rows (a bug in the plugin)",
            M::NAME,
            initial.len(),
            M::VARS.len(),
            constants.len(),
            M::CONSTANT_VARS
        ));
    }
    initial[M::VARS.len() - M::CONSTANT_VARS..].copy_from_slice(&constants);
    Ok(initial)
}

struct Prepared<M: NeuronDynamics> {
    coeffs: M::Coeffs,
    initial: Vec<f64>,
}

impl<M: NeuronDynamics> NeuronModel for DynamicsModel<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn doc(&self) -> &'static str {
        M::DOC
    }
    fn params(&self) -> &'static [ParamSpec] {
        M::PARAMS
    }
    fn choices(&self) -> &'static [ChoiceSpec] {
        M::CHOICES
    }
    fn vars(&self) -> &'static [VarSpec] {
        M::VARS
    }
    fn receptors(&self) -> &'static [ReceptorSpec] {
        M::RECEPTORS
    }
    fn constant_vars(&self) -> usize {
        M::CONSTANT_VARS
    }
    fn per_neuron_variant(&self) -> Option<Arc<dyn NeuronModel>> {
        self.variant.clone()
    }
    fn neuron_initial(&self, params: &Params, dt_ms: f64) -> Result<Vec<f64>, String> {
        M::coeffs(params, dt_ms)?;
        initial_of::<M>(params, dt_ms)
    }
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String> {
        let coeffs = M::coeffs(params, dt_ms)?;
        let initial = initial_of::<M>(params, dt_ms)?;
        // The fused loop does not store constant rows back: a step that wrote one would
        // give other results there than on the tensor engine.
        if M::CONSTANT_VARS > 0 {
            let p = Program::trace(M::VARS.len(), M::RECEPTORS.len(), |st, inp| M::step::<Sym>(&coeffs, st, inp));
            if let Some(k) = (M::VARS.len() - M::CONSTANT_VARS..M::VARS.len()).find(|&k| p.outputs[k] as usize != k) {
                return Err(format!("model `{}` changes its constant row `{}` in its step (a bug in the plugin)", M::NAME, M::VARS[k].name));
            }
        }
        Ok(Arc::new(Prepared::<M> { coeffs, initial }))
    }
}

impl<M: NeuronDynamics> PreparedModel for Prepared<M> {
    fn initial(&self) -> Vec<f64> {
        self.initial.clone()
    }

    fn step_cpu_with(&self, simd: Simd, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
        fused_step_with::<M>(simd, &self.coeffs, vars, inputs, offset, spikes);
    }

    fn step_tensor(&self, vars: &mut [Col], inputs: &[Col]) -> ColMask {
        M::step::<Col>(&self.coeffs, vars, inputs)
    }

    fn program(&self) -> Option<Program> {
        Some(Program::trace(M::VARS.len(), M::RECEPTORS.len(), |st, inp| M::step::<Sym>(&self.coeffs, st, inp)))
    }
}

/// The targets `lo..hi` of every row of a `[row][target]` buffer (a delay ring: row = slot ×
/// receptors + receptor, `n` targets per row), for one delivery thread. The parts that
/// [`split_targets`] makes from one buffer have disjoint ranges, so no element is reachable
/// from two of them: threads may write their parts at the same time.
pub(crate) struct TargetPart<'a> {
    ptr: *mut f64,
    len: usize,
    n: usize,
    lo: u32,
    hi: u32,
    _data: PhantomData<&'a mut [f64]>,
}

// SAFETY: a part only reaches the elements of its own target range (checked in `add`),
// disjoint from every other part of the same buffer, which stays mutably borrowed for 'a.
unsafe impl Send for TargetPart<'_> {}

impl TargetPart<'_> {
    /// Adds `w` to target `t` of row `row` if `t` is in this part's range (else nothing).
    #[inline(always)]
    pub(crate) fn add(&mut self, row: usize, t: u32, w: f64) {
        if t >= self.lo && t < self.hi {
            let i = row * self.n + t as usize;
            assert!(i < self.len, "row {row} is past the end of the buffer");
            // SAFETY: `i` is in bounds (checked above) and its target is in this part's
            // range, which no other part of the buffer reaches.
            unsafe { *self.ptr.add(i) += w };
        }
    }
}

/// Splits `data` (rows of `n` targets) into `parts` parts by target: part `c` holds
/// targets `bound(c)..bound(c + 1)` of every row, with `bound(c) = c * n / parts`.
pub(crate) fn split_targets<const MAX: usize>(data: &mut [f64], n: usize, parts: usize) -> [TargetPart<'_>; MAX] {
    assert!(parts <= MAX && n > 0 && data.len().is_multiple_of(n) && u32::try_from(n).is_ok());
    let (ptr, len) = (data.as_mut_ptr(), data.len());
    std::array::from_fn(|c| {
        let c = c.min(parts);
        TargetPart { ptr, len, n, lo: (c * n / parts.max(1)) as u32, hi: ((c + 1).min(parts) * n / parts.max(1)) as u32, _data: PhantomData }
    })
}

/// Asks the CPU to bring the cache lines of `data` into L1 ahead of use: a hint, with no
/// effect on results. Delivery calls it on the rows of spikes it will reach shortly, so
/// that the misses of several rows overlap instead of coming one row at a time.
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        // Every cache line the slice touches, the last one too when it starts mid-line.
        let start = data.as_ptr().cast::<i8>();
        let lead = start as usize & 63;
        let first = start.wrapping_sub(lead);
        for off in (0..lead + size_of_val(data)).step_by(64) {
            // SAFETY: SSE is part of the x86_64 baseline, and a prefetch never faults.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(first.wrapping_add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
