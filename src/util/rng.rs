//! Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, "Parallel random
//! numbers: as easy as 1, 2, 3").
//!
//! # Key scheme
//! Every random number in spikeworld is a pure function of
//! `(seed, entity, purpose, index, draw)`:
//!
//! - the Philox **key** (64 bits) is `splitmix64(seed ^ splitmix64(purpose))`, so every
//!   purpose (connectivity, weights, initial values, Poisson input, ...) has its own key;
//! - the Philox **counter** (128 bits) is `[draw, index_lo, index_hi, entity]`, where
//!   `entity` is the 32-bit FNV-1a hash of the object's kind and name (`"population/P"`),
//!   `index` is what the stream is for (a neuron, a source row, a step), and `draw`
//!   counts blocks of four 32-bit outputs within the stream.
//!
//! No stream depends on thread count, iteration order or wall-clock time, which is what
//! makes results identical for any `--threads` and any split into shards. A CUDA kernel
//! can reproduce every draw bit for bit.

/// Purposes: each is a separate key, so streams for different uses never overlap.
pub mod purpose {
    /// Which synapses exist (connection rules).
    pub const CONNECT: u64 = 1;
    /// Synaptic weights drawn from a distribution.
    pub const WEIGHT: u64 = 2;
    /// Synaptic delays drawn from a distribution.
    pub const DELAY: u64 = 3;
    /// Initial values of state variables (the variable's index is added).
    pub const INIT: u64 = 0x100;
    /// Per-neuron parameters drawn from a distribution (the parameter's index among the
    /// model's parameters is added; index = neuron).
    pub const PARAM: u64 = 0x200;
    /// Poisson encoders.
    pub const POISSON: u64 = 4;
    /// Noise injected into neurons.
    pub const NOISE: u64 = 5;
    /// Plasticity rules that draw (stochastic rounding): index = step, counter within it.
    pub const PLASTICITY: u64 = 6;
    /// Training: the order of the samples (entity 0, index = epoch) and input spikes drawn
    /// from them (entity = sample, index = step).
    pub const TRAIN: u64 = 7;
    /// Training's dropout masks: entity = sample, index = epoch · 2¹⁶ + layer.
    pub const DROPOUT: u64 = 8;
    /// Training's AdamRewiring noise: entity = parameter tensor, index = optimizer step.
    pub const REWIRING: u64 = 9;
    /// Connection rules that place a fixed number of synapses over the targets by halves
    /// (`fixed_outdegree`, `fixed_total_number`): index = row · 2³² + node of the split.
    pub const CONNECT_SPLIT: u64 = 10;
    /// Random numbers of a rule parameter written as an expression of the pair
    /// (`pairwise_bernoulli`'s `p = "..."` reading `rand()`): index = target.
    pub const CONNECT_VALUE: u64 = 11;
    /// White noise of a neuron model (Brian2's `xi`, `xi_1`, ...): the model's `k`-th noise
    /// receptor is `XI + k`; entity = population, index = step · 2³² + neuron / 2 (the
    /// polar method's two draws go to the two neurons of a pair: [`xi`]).
    pub const XI: u64 = 0x300;
    /// Neurons' positions drawn per neuron (a population's `positions`: the axis, 0 for
    /// `x`, is added; entity = population, index = neuron).
    pub const POSITION: u64 = 0x400;
}

mod xi;
pub use xi::{xi, xi_fill, xi_fill_with};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// The Philox4x32 bijection with 10 rounds.
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// SplitMix64 finaliser, used to derive keys.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 32-bit FNV-1a of an object's kind and name: the `entity` word of a stream.
pub fn entity_key(kind: &str, name: &str) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for b in kind.bytes().chain(std::iter::once(b'/')).chain(name.bytes()) {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The Philox key of a `(seed, purpose)`: `splitmix64(seed ^ splitmix64(purpose))`, low
/// word first.
pub fn key(seed: u64, purpose: u64) -> [u32; 2] {
    let k = splitmix64(seed ^ splitmix64(purpose));
    [k as u32, (k >> 32) as u32]
}

/// One random stream, `(seed, entity, purpose, index)`; draws advance its counter.
#[derive(Clone, Debug)]
pub struct Stream {
    key: [u32; 2],
    index: u64,
    entity: u32,
    draw: u32,
    buf: [u32; 4],
    used: usize,
}

impl Stream {
    /// Opens the stream for `(seed, entity, purpose, index)` at its first draw.
    pub fn new(seed: u64, entity: u32, purpose: u64, index: u64) -> Self {
        Stream { key: key(seed, purpose), index, entity, draw: 0, buf: [0; 4], used: 4 }
    }

    /// Opens the stream of Philox key `key` ([`key`]), `entity` and `index`.
    pub fn with_key(key: [u32; 2], entity: u32, index: u64) -> Self {
        Stream { key, index, entity, draw: 0, buf: [0; 4], used: 4 }
    }

    /// Opens the stream at block `draw` (four 32-bit outputs per block).
    pub fn at_block(seed: u64, entity: u32, purpose: u64, index: u64, draw: u32) -> Self {
        let mut s = Self::new(seed, entity, purpose, index);
        s.draw = draw;
        s
    }

    /// The next block number this stream will use.
    pub fn block(&self) -> u32 {
        self.draw
    }

    /// How many 32-bit outputs this stream has produced: its whole position, for
    /// checkpoints ([`Stream::seek`] restores it).
    pub fn position(&self) -> u64 {
        if self.used == 4 { self.draw as u64 * 4 } else { (self.draw as u64 - 1) * 4 + self.used as u64 }
    }

    /// Moves the stream to `position` (a value of [`Stream::position`]): the next output
    /// is the one a stream that produced `position` outputs would give.
    pub fn seek(&mut self, position: u64) {
        self.draw = (position / 4) as u32;
        self.used = 4;
        let within = (position % 4) as usize;
        if within != 0 {
            self.refill();
            self.used = within;
        }
    }

    #[inline]
    fn refill(&mut self) {
        self.buf = philox4x32_10(
            [self.draw, self.index as u32, (self.index >> 32) as u32, self.entity],
            self.key,
        );
        self.draw = self.draw.wrapping_add(1);
        self.used = 0;
    }

    /// The next 32 random bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            self.refill();
        }
        let v = self.buf[self.used];
        self.used += 1;
        v
    }

    /// Uniform in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    #[inline]
    pub fn uniform_open0(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Standard normal by the Box-Muller transform (one value per two uniforms).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform_open0();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Uniform integer in `0..n` (n > 0), by Lemire's nearly-divisionless method.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        if n <= u32::MAX as u64 {
            let n32 = n as u32;
            let mut m = (self.next_u32() as u64) * (n32 as u64);
            if (m as u32) < n32 {
                let t = n32.wrapping_neg() % n32;
                while (m as u32) < t {
                    m = (self.next_u32() as u64) * (n32 as u64);
                }
            }
            m >> 32
        } else {
            // Rare: populations beyond 4 G neurons. Rejection on 64 bits.
            let zone = u64::MAX - (u64::MAX % n);
            loop {
                let r = ((self.next_u32() as u64) << 32) | self.next_u32() as u64;
                if r < zone {
                    return r % n;
                }
            }
        }
    }

    /// Number of failures before the first success of a Bernoulli(p) process (p in (0, 1]),
    /// `floor(ln u / ln(1 - p))` with `u` uniform in (0, 1] and [`ln`] (not the platform's:
    /// the device engine draws the same numbers on a GPU). No draw when `ln_1mp` is -inf
    /// (p = 1).
    #[inline]
    pub fn geometric(&mut self, ln_1mp: f64) -> u64 {
        if ln_1mp == f64::NEG_INFINITY {
            return 0;
        }
        let g = (ln(self.uniform_open0()) / ln_1mp).floor();
        if g >= 1.8e19 { u64::MAX } else { g as u64 }
    }
}

/// `ln 2` split so that `k · LN2_HI` is exact for any binary exponent `k` (|k| < 2^21):
/// its low 21 mantissa bits are zero, and `LN2_LO` holds the rest of the `f64` `ln 2`.
pub(crate) const LN2_HI: f64 = f64::from_bits(std::f64::consts::LN_2.to_bits() & !((1u64 << 21) - 1));
pub(crate) const LN2_LO: f64 = std::f64::consts::LN_2 - LN2_HI;

/// Coefficients of `ln((1 + s) / (1 - s)) = 2s + s · Σ_k c_k z^k`, `z = s²`: `c_k = 2 / (2k + 1)`
/// (the atanh series), `k = 1..=11`: for `|s| ≤ 0.1716` the first term left out is below
/// 2^-64 of the result.
pub(crate) const LN_SERIES: [f64; 11] = [
    2.0 / 3.0, 2.0 / 5.0, 2.0 / 7.0, 2.0 / 9.0, 2.0 / 11.0, 2.0 / 13.0,
    2.0 / 15.0, 2.0 / 17.0, 2.0 / 19.0, 2.0 / 21.0, 2.0 / 23.0,
];

/// The natural logarithm of a positive finite `x` (measured within 1 ulp of glibc's `log`;
/// the test allows 2), from `+ − × ÷`, one
/// comparison and bit operations only, in a fixed order: the CUDA kernels of the device
/// engine compute it with the same operations (`engine/device/random.rs`, compiled
/// without contraction), so geometric draws ([`Stream::geometric`], with `ln(1 − p)` from
/// [`ln`] or [`ln_1p`]) are the same bits on every platform and on a GPU, whatever the C
/// library's `log`. ([`Stream::normal`] still takes the platform's `ln` and `cos`.)
///
/// `x = 2^k · m` with `m` in `[√½, √2)`; `f = m − 1` (exact); `s = f / (2 + f)`;
/// `ln m = 2 atanh s = 2s + sR = f − s (f − R)` (as `2s = f − sf`), `R = Σ c_k z^k` by
/// Horner; `ln x = k · LN2_HI + (ln m + k · LN2_LO)`. Negative, infinite or NaN input
/// gives NaN, 0 gives −inf (neither reached by the draws: `u` is in (0, 1]).
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 || x == f64::INFINITY {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut bits, mut k) = (x.to_bits(), 0i64);
    if bits >> 52 == 0 {
        // subnormal: scale by 2^54 (exact)
        bits = (x * f64::from_bits(0x4350_0000_0000_0000)).to_bits();
        k = -54;
    }
    k += (bits >> 52) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m = f64::from_bits(m.to_bits() - (1u64 << 52)); // m / 2, exact
        k += 1;
    }
    ln_reduced(m, k as f64)
}

/// `ln(m · 2^k)` for `m` in [√2/2, √2]: the part of [`ln`] after the reduction, shared
/// with the lane-wise logarithm of [`xi_fill`].
#[inline(always)]
fn ln_reduced(m: f64, kf: f64) -> f64 {
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r = LN_SERIES[10];
    for c in LN_SERIES[..10].iter().rev() {
        r = r * z + c;
    }
    let r = r * z;
    let lm = f - s * (f - r);
    kf * LN2_HI + (lm + kf * LN2_LO)
}

/// `ln(1 + x)` for `x > −1` from [`ln`] alone (portable like it): `ln(u) · x / (u − 1)`
/// with `u = 1 + x` rounded, which cancels the rounding of `u` (D. Goldberg, "What every
/// computer scientist should know about floating-point arithmetic", 1991, theorem 4);
/// `x` itself when `u` rounds to 1. Within a few ulp of the platform's `ln_1p`.
pub fn ln_1p(x: f64) -> f64 {
    let u = 1.0 + x;
    if u == 1.0 { x } else { ln(u) * (x / (u - 1.0)) }
}

/// A [`Stream`] is a `rand_core` generator too, for samplers from `rand_distr` (exact
/// binomial and hypergeometric draws): `next_u64` is two `next_u32`, low word first.
impl rand_core::TryRng for Stream {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(Stream::next_u32(self))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let lo = Stream::next_u32(self) as u64;
        Ok(lo | (Stream::next_u32(self) as u64) << 32)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(4) {
            chunk.copy_from_slice(&Stream::next_u32(self).to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream moved to any position continues exactly like the original.
    #[test]
    fn seek_resumes_exactly() {
        for consumed in 0..13u64 {
            let mut a = Stream::new(7, 3, purpose::POISSON, 11);
            for _ in 0..consumed {
                a.next_u32();
            }
            assert_eq!(a.position(), consumed);
            let mut b = Stream::new(7, 3, purpose::POISSON, 11);
            b.seek(a.position());
            let xa: Vec<u32> = (0..9).map(|_| a.next_u32()).collect();
            let xb: Vec<u32> = (0..9).map(|_| b.next_u32()).collect();
            assert_eq!(xa, xb, "after {consumed} outputs");
        }
    }

    /// Known-answer vectors of the Random123 distribution (kat_vectors, philox4x32 10).
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn streams_are_pure_functions_of_their_keys() {
        let a: Vec<f64> = { let mut s = Stream::new(7, 3, purpose::INIT, 11); (0..9).map(|_| s.uniform()).collect() };
        let b: Vec<f64> = { let mut s = Stream::new(7, 3, purpose::INIT, 11); (0..9).map(|_| s.uniform()).collect() };
        let c: Vec<f64> = { let mut s = Stream::new(7, 3, purpose::INIT, 12); (0..9).map(|_| s.uniform()).collect() };
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut s = Stream::new(1, 2, 3, 4);
        s.next_u32();
        s.next_u32();
        s.next_u32();
        s.next_u32();
        s.next_u32();
        let mut r = Stream::at_block(1, 2, 3, 4, 1);
        let mut q = Stream::new(1, 2, 3, 4);
        for _ in 0..4 { q.next_u32(); }
        assert_eq!(r.next_u32(), q.next_u32());
    }

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// The portable `ln` against the platform's, within 2 ulp: the draws' inputs (uniform
    /// in (0, 1]), every binade from subnormals to the largest, and the values around 1
    /// and around `√2 · 2^k` where the reduction changes `k`.
    #[test]
    fn portable_ln_is_within_two_ulp_of_the_platforms() {
        let mut worst = 0;
        let mut check = |x: f64| {
            let (a, b) = (ln(x), x.ln());
            let d = ulps(a, b);
            assert!(d <= 2, "ln({x:e}) = {a:e}, the platform's {b:e}: {d} ulp apart");
            worst = worst.max(d);
        };
        let mut s = Stream::new(3, 1, purpose::POISSON, 0);
        for _ in 0..200_000 {
            check(s.uniform_open0());
        }
        for e in -1074..1024 {
            let x = 2f64.powi(e.max(-1022)) * if e < -1022 { 2f64.powi(e + 1022) } else { 1.0 };
            for f in [1.0, 1.25, std::f64::consts::SQRT_2, 1.5, 1.999_999_999] {
                if (x * f).is_finite() && x * f > 0.0 {
                    check(x * f);
                }
            }
        }
        for i in 1..5000u64 {
            check(f64::from_bits(1.0f64.to_bits() - i));
            check(f64::from_bits(1.0f64.to_bits() + i));
            check(f64::from_bits(std::f64::consts::SQRT_2.to_bits() - 2500 + i));
            check(f64::from_bits(i * 0x0000_0123_4567_89ab)); // subnormals and tiny normals
        }
        assert_eq!(ln(1.0), 0.0);
        check(std::f64::consts::E);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan() && ln(f64::INFINITY).is_nan());
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        eprintln!("portable ln: at most {worst} ulp from the platform's");
    }

    /// The portable `ln_1p` against the platform's: tiny, small and large arguments, and
    /// the probabilities per step the draws use.
    #[test]
    fn portable_ln_1p_is_within_four_ulp_of_the_platforms() {
        let mut worst = 0;
        let mut s = Stream::new(5, 1, purpose::POISSON, 0);
        let mut xs: Vec<f64> = (0..100_000).map(|_| -s.uniform()).collect();
        xs.extend((0..100_000).map(|_| s.uniform() * 1e3));
        xs.extend((-60..10).map(|e| 2f64.powi(e) * 1.3));
        xs.extend((-60..0).map(|e| -(2f64.powi(e) * 1.3)));
        xs.extend([0.0, -0.0, 1e-300, -1e-300, 5e-324, -0.5, -0.999_999_999_999]);
        for x in xs {
            let (a, b) = (ln_1p(x), x.ln_1p());
            let d = ulps(a, b);
            assert!(d <= 4 || a == b, "ln_1p({x:e}) = {a:e}, the platform's {b:e}: {d} ulp apart");
            worst = worst.max(d);
        }
        assert_eq!(ln_1p(-1.0), f64::NEG_INFINITY);
        eprintln!("portable ln_1p: at most {worst} ulp from the platform's");
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut s = Stream::new(42, 1, purpose::NOISE, 0);
        let n = 200_000;
        let (mut su, mut sn, mut sn2) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            su += s.uniform();
            let z = s.normal();
            sn += z;
            sn2 += z * z;
        }
        let n = n as f64;
        assert!((su / n - 0.5).abs() < 4.0 * (1.0 / 12.0f64).sqrt() / n.sqrt(), "uniform mean {}", su / n);
        assert!((sn / n).abs() < 4.0 / n.sqrt(), "normal mean {}", sn / n);
        assert!((sn2 / n - 1.0).abs() < 4.0 * 2f64.sqrt() / n.sqrt(), "normal var {}", sn2 / n);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 { counts[s.below(7) as usize] += 1; }
        for c in counts { assert!((c as f64 - 10_000.0).abs() < 4.0 * (10_000.0f64 * 6.0 / 7.0).sqrt()); }
    }
}

