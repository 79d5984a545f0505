//! A [`NeuronDynamics`] made into the object-safe [`NeuronModel`] the core stores, with
//! the cpu engine's fused loop for it; the one place that selects CPU features at run time.
//!
//! `unsafe` is allowed here only: calling the AVX2 and AVX-512 builds of the loop after
//! checking that the CPU has those features, and reaching the loop's full blocks through
//! pointers made once per call from slices whose lengths it has checked. Every build runs
//! the same IEEE operations (Rust never contracts `a * b + c` into an FMA, and `exp`/`ln`
//! stay calls of the same scalar functions), so results are bit-identical whichever runs
//! ([`Simd`] names them; `tests/device.rs` runs every model through each one the CPU has).
//! It also holds [`TargetPart`]: threads that deliver spikes into one population's delay
//! ring side by side, each writing only the targets of its own range.
#![expect(unsafe_code, reason = "the AVX2 and AVX-512 builds of the fused loop are called after a run-time feature check; its blocks are reached through pointers into slices of checked length; delivery threads write disjoint target ranges of one buffer")]

use std::marker::PhantomData;
use std::sync::Arc;

use crate::api::program::{Program, Sym};
use crate::api::run::Simd;
use crate::api::model::{ChoiceSpec, Col, ColMask, Lanes, MAX_VARS, NeuronDynamics, NeuronModel, ParamSpec, Params, PreparedModel, ReceptorSpec, VarSpec};

/// Neurons per block of the fused loop.
const BLOCK: usize = 8;
const _: () = assert!(BLOCK <= 32, "a block's spikes are the bits of a u32");

/// Update + threshold + reset of neurons `offset..offset + n` in one pass, by the build
/// `simd`, or the highest build below it that the CPU supports (never an instruction the
/// CPU lacks). `inputs[r]` is empty for a receptor that receives nothing (read as 0).
pub(crate) fn fused_step_with<M: NeuronDynamics>(simd: Simd, coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    #[cfg(target_arch = "x86_64")]
    {
        if simd >= Simd::Avx512 && Simd::Avx512.supported() {
            // SAFETY: the CPU supports AVX2, AVX-512 F, VL and DQ (`Simd::supported`).
            unsafe { fused_avx512::<M>(coeffs, vars, inputs, offset, spikes) };
            return;
        }
        if simd >= Simd::Avx2 && Simd::Avx2.supported() {
            // SAFETY: the CPU supports AVX2 (`Simd::supported`).
            unsafe { fused_avx2::<M>(coeffs, vars, inputs, offset, spikes) };
            return;
        }
    }
    let _ = simd;
    fused_block_loop::<M, Portable>(coeffs, vars, inputs, offset, spikes);
}

/// How a block's spike mask becomes bits: lane by lane, or one `vmovmskpd` per four lanes
/// (a sixth of the loop's instructions when done lane by lane).
trait MaskBits {
    fn bits(m: &BlockMask) -> u32;
    /// Whether any lane is true (tested on every block, so it must be cheap; most blocks
    /// have no spike).
    fn any(m: &BlockMask) -> bool {
        m.any()
    }
}

struct Portable;

impl MaskBits for Portable {
    #[inline(always)]
    fn bits(m: &BlockMask) -> u32 {
        m.bits()
    }
}

#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl MaskBits for Avx2 {
    #[inline(always)]
    fn bits(m: &BlockMask) -> u32 {
        // SAFETY: `Avx2` (and `Avx512`, which calls this) is used only by `fused_avx2` and
        // `fused_avx512`, which run after the AVX2 check.
        unsafe { movemask_avx2(m) }
    }
    #[inline(always)]
    fn any(m: &BlockMask) -> bool {
        // SAFETY: as above.
        unsafe { any_avx2(m) }
    }
}

/// The AVX-512 build: its mask bits as AVX2's, its test of all lanes the generic one,
/// which measured 5-14 % less loop time there than `any_avx2` (AVX2's is the other way).
#[cfg(target_arch = "x86_64")]
struct Avx512;

#[cfg(target_arch = "x86_64")]
impl MaskBits for Avx512 {
    #[inline(always)]
    fn bits(m: &BlockMask) -> u32 {
        Avx2::bits(m)
    }
}

/// The lanes ORed and tested with one `vptest`: LLVM turns the generic OR of the lanes
/// into the dozen instructions of a movemask, measured 5-17 % more loop time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn any_avx2(m: &BlockMask) -> bool {
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
fn movemask_avx2(m: &BlockMask) -> u32 {
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
fn fused_avx2<M: NeuronDynamics>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    fused_block_loop::<M, Avx2>(coeffs, vars, inputs, offset, spikes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
fn fused_avx512<M: NeuronDynamics>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    fused_block_loop::<M, Avx512>(coeffs, vars, inputs, offset, spikes);
}

#[inline(always)]
fn fused_block_loop<M: NeuronDynamics, K: MaskBits>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    let nv = M::VARS.len();
    let nr = M::RECEPTORS.len();
    let n = vars.first().map_or(0, |v| v.len());
    assert!(vars.len() == nv && inputs.len() == nr && vars.iter().all(|v| v.len() == n) && inputs.iter().all(|v| v.len() == n || v.is_empty()));
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
    // addresses. A receptor nothing projects to has a null pointer.
    let var_at: [*mut [f64; BLOCK]; MAX_VARS] = std::array::from_fn(|k| if k < nv { vars[k].as_mut_ptr().cast() } else { std::ptr::null_mut() });
    let input_at: [*mut [f64; BLOCK]; MAX_VARS] = std::array::from_fn(|r| if r < nr && !inputs[r].is_empty() { inputs[r].as_mut_ptr().cast() } else { std::ptr::null_mut() });
    for b in 0..full / BLOCK {
        // Fresh arrays per block, not hoisted out of the loop: carried from one block to
        // the next, LLVM keeps them in memory (a store and a reload of every input block,
        // measured 15-20 % of the loop).
        let mut st = [Block([0.0; BLOCK]); MAX_VARS];
        let mut inp = [Block([0.0; BLOCK]); MAX_VARS];
        for k in 0..nv {
            // SAFETY: `var_at[k]` starts a slice of `n >= (b + 1) * BLOCK` elements, which
            // stays mutably borrowed for the whole call (f64 alignment suffices).
            st[k].0 = unsafe { *var_at[k].add(b) };
        }
        for r in 0..nr {
            if !input_at[r].is_null() {
                // SAFETY: as above, for the receptor's input slice.
                let src = unsafe { &mut *input_at[r].add(b) };
                inp[r].0 = *src;
                *src = [0.0; BLOCK];
            }
        }
        let spk = M::step::<Block>(coeffs, &mut st[..nv], &inp[..nr]);
        for k in 0..nv {
            // SAFETY: as above.
            unsafe { *var_at[k].add(b) = st[k].0 };
        }
        let base = b * BLOCK;
        // Most blocks have no spike: a test of all lanes at once (an OR and a `vptest`)
        // skips turning the mask into bits, which takes a dozen instructions.
        if K::any(&spk) {
            push_spikes(K::bits(&spk), offset + base as u32, spikes);
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
        let spk = M::step::<Block>(coeffs, &mut st[..nv], &inp[..nr]);
        for k in 0..nv {
            vars[k][base..].copy_from_slice(&st[k].0[..len]);
        }
        push_spikes(K::bits(&spk) & ((1 << len) - 1), offset + base as u32, spikes);
    }
}

/// Pushes `first + i` for each bit `i` set in `bits`, ascending.
#[inline(always)]
fn push_spikes(mut bits: u32, first: u32, spikes: &mut Vec<u32>) {
    while bits != 0 {
        spikes.push(first + bits.trailing_zeros());
        bits &= bits - 1;
    }
}

/// [`BLOCK`] neurons' values of one variable: the lanes of the cpu engine. Every operation
/// is the `f64` one applied lane by lane, so results are those of `L = f64`, bit for bit.
#[derive(Clone, Copy)]
struct Block([f64; BLOCK]);

impl Block {
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Block {
        Block(std::array::from_fn(|i| f(self.0[i])))
    }
    #[inline(always)]
    fn zip(self, o: Block, f: impl Fn(f64, f64) -> f64) -> Block {
        Block(std::array::from_fn(|i| f(self.0[i], o.0[i])))
    }
}

macro_rules! block_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl std::ops::$tr for Block {
            type Output = Block;
            #[inline(always)]
            fn $m(self, o: Block) -> Block {
                self.zip(o, |a, b| a $op b)
            }
        }
        impl std::ops::$tr<f64> for Block {
            type Output = Block;
            #[inline(always)]
            fn $m(self, o: f64) -> Block {
                self.map(|a| a $op o)
            }
        }
    )*};
}
block_ops!(Add add +, Sub sub -, Mul mul *, Div div /);

impl std::ops::Neg for Block {
    type Output = Block;
    #[inline(always)]
    fn neg(self) -> Block {
        self.map(|a| -a)
    }
}

/// A lane-wise boolean of [`Block`]: all ones (true) or zero, as wide as a lane, so that
/// comparisons and selects compile to vector compares and blends.
#[derive(Clone, Copy)]
struct BlockMask([u64; BLOCK]);

impl BlockMask {
    #[inline(always)]
    fn from_fn(f: impl Fn(usize) -> bool) -> BlockMask {
        BlockMask(std::array::from_fn(|i| u64::from(f(i)).wrapping_neg()))
    }
    /// Lane `i` true ⇔ bit `i` set.
    #[inline(always)]
    fn bits(&self) -> u32 {
        let mut b = 0;
        for i in 0..BLOCK {
            b |= ((self.0[i] >> 63) as u32) << i;
        }
        b
    }
    /// Whether any lane is true.
    #[inline(always)]
    fn any(&self) -> bool {
        self.0.iter().fold(0, |a, &l| a | l) != 0
    }
    #[inline(always)]
    fn lane(&self, i: usize) -> bool {
        self.0[i] != 0
    }
}

/// Each lane delegates to `<f64 as Lanes>`, so both agree by construction.
impl Lanes for Block {
    type Mask = BlockMask;
    #[inline(always)]
    fn gt(&self, x: f64) -> BlockMask {
        BlockMask::from_fn(|i| <f64 as Lanes>::gt(&self.0[i], x))
    }
    #[inline(always)]
    fn ge(&self, x: f64) -> BlockMask {
        BlockMask::from_fn(|i| <f64 as Lanes>::ge(&self.0[i], x))
    }
    #[inline(always)]
    fn lt(&self, x: f64) -> BlockMask {
        BlockMask::from_fn(|i| <f64 as Lanes>::lt(&self.0[i], x))
    }
    #[inline(always)]
    fn le(&self, x: f64) -> BlockMask {
        BlockMask::from_fn(|i| <f64 as Lanes>::le(&self.0[i], x))
    }
    #[inline(always)]
    fn gt_lanes(&self, o: &Block) -> BlockMask {
        BlockMask::from_fn(|i| self.0[i].gt_lanes(&o.0[i]))
    }
    #[inline(always)]
    fn select(mask: &BlockMask, a: Block, b: Block) -> Block {
        Block(std::array::from_fn(|i| f64::select(&mask.lane(i), a.0[i], b.0[i])))
    }
    #[inline(always)]
    fn select_const(mask: &BlockMask, x: f64, b: Block) -> Block {
        Block(std::array::from_fn(|i| f64::select_const(&mask.lane(i), x, b.0[i])))
    }
    #[inline(always)]
    fn and_not(a: &BlockMask, b: &BlockMask) -> BlockMask {
        BlockMask::from_fn(|i| f64::and_not(&a.lane(i), &b.lane(i)))
    }
    #[inline(always)]
    fn and(a: &BlockMask, b: &BlockMask) -> BlockMask {
        BlockMask::from_fn(|i| f64::and(&a.lane(i), &b.lane(i)))
    }
    #[inline(always)]
    fn or(a: &BlockMask, b: &BlockMask) -> BlockMask {
        BlockMask::from_fn(|i| f64::or(&a.lane(i), &b.lane(i)))
    }
    #[inline(always)]
    fn not(a: &BlockMask) -> BlockMask {
        BlockMask::from_fn(|i| f64::not(&a.lane(i)))
    }
    #[inline(always)]
    fn exp(self) -> Block {
        self.map(<f64 as Lanes>::exp)
    }
    #[inline(always)]
    fn ln(self) -> Block {
        self.map(<f64 as Lanes>::ln)
    }
    #[inline(always)]
    fn sqrt(self) -> Block {
        self.map(<f64 as Lanes>::sqrt)
    }
    #[inline(always)]
    fn abs(self) -> Block {
        self.map(<f64 as Lanes>::abs)
    }
    #[inline(always)]
    fn min_c(self, x: f64) -> Block {
        self.map(|a| a.min_c(x))
    }
    #[inline(always)]
    fn max_c(self, x: f64) -> Block {
        self.map(|a| a.max_c(x))
    }
    #[inline(always)]
    fn min(self, o: Block) -> Block {
        self.zip(o, <f64 as Lanes>::min)
    }
    #[inline(always)]
    fn max(self, o: Block) -> Block {
        self.zip(o, <f64 as Lanes>::max)
    }
    #[inline(always)]
    fn recip_mul(self, x: f64) -> Block {
        self.map(|a| a.recip_mul(x))
    }
}

/// The object-safe model the registry stores for `M`. The caller has checked that `M`
/// declares at most [`MAX_VARS`] variables and receptors.
pub(crate) fn neuron_model<M: NeuronDynamics>() -> Arc<dyn NeuronModel> {
    Arc::new(DynamicsModel::<M>(PhantomData))
}

struct DynamicsModel<M: NeuronDynamics>(PhantomData<M>);

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
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String> {
        let coeffs = M::coeffs(params, dt_ms)?;
        let initial = M::initial(params);
        if initial.len() != M::VARS.len() {
            return Err(format!("model `{}` gives {} initial values for {} state variables (a bug in the plugin)", M::NAME, initial.len(), M::VARS.len()));
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
    for line in data.chunks(64 / size_of::<T>().max(1)) {
        // SAFETY: SSE is part of the x86_64 baseline, and a prefetch never faults.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}
