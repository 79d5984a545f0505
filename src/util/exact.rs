//! Exact sums of `f64`: many values added without rounding and rounded once, to nearest
//! (ties to even), so that the result does not depend on their order.
//!
//! A sum over a projection's synapses that several shards hold (each the synapses onto its
//! own targets, interleaved in one world's order) has one world's bits in every shard only
//! if its order does not matter: each shard sums its own exactly, sends the exact value as
//! a few terms ([`ExactSum::drain_terms`]), and every shard adds all the terms exactly and
//! rounds once (`net::plastic::Shards::sum_exact`, `docs/sharding.md`). One world rounds
//! the same exact value.
//!
//! The accumulator is a fixed-point integer in units of 2^-1074 (the smallest subnormal),
//! wide enough for any finite `f64` (2^1024 is 2098 bits above the unit), kept as 32-bit
//! digits in `i64` limbs whose carries wait until a value is read (a "small
//! superaccumulator", after R. M. Neal, arXiv:1505.05571). Adding a value touches three
//! limbs. NOTE: the `xsum` crate (0.1.6) was tried first and rounds negative sums wrongly
//! (a single value -2.561113868277883 came back as -2.5611138682778836).

/// 32-bit digits: bit 2098 of the largest sum lands in limb 65; one more holds the sign.
const LIMBS: usize = 67;
/// Adds between carry propagations: each changes a limb by less than 2^32, and a limb of
/// 32 bits plus 2^30 such changes stays well inside `i64`.
const ADDS_BEFORE_CARRY: u32 = 1 << 30;

/// An exact sum of `f64` values (see the module).
#[derive(Clone)]
pub struct ExactSum {
    limbs: [i64; LIMBS],
    /// Adds until the carries must be propagated.
    until_carry: u32,
    /// Nothing added since the last clear (the common case for a kernel entry no spike
    /// reached: no work to read or clear it).
    empty: bool,
    /// The infinities and NaNs added (IEEE sum of them; `None`: none).
    special: Option<f64>,
    /// The limbs that may be nonzero: `lo..=hi` (empty: `lo > hi`). Values of a few
    /// binades touch three or four limbs, which is all a read or a clear then visits.
    lo: usize,
    hi: usize,
}

/// Adds after which [`ExactSum::value`] no longer takes its short way (limbs then may
/// exceed 2^60, and three of them shifted no longer fit an `i128`).
const SHORT_WAY_ADDS: u32 = 1 << 27;

impl Default for ExactSum {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactSum").field("empty", &self.empty).finish_non_exhaustive()
    }
}

impl ExactSum {
    /// Zero.
    pub fn new() -> Self {
        ExactSum { limbs: [0; LIMBS], until_carry: ADDS_BEFORE_CARRY, empty: true, special: None, lo: LIMBS, hi: 0 }
    }

    /// Adds `x` exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.empty = false;
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        if exp == 0x7ff {
            self.special = Some(self.special.map_or(x, |s| s + x));
            return;
        }
        let frac = bits & ((1 << 52) - 1);
        // |x| = mant * 2^(shift - 1074): subnormals have exponent field 0 and no hidden bit.
        let (mant, shift) = if exp == 0 { (frac, 0) } else { (frac | (1 << 52), exp - 1) };
        if mant == 0 {
            return;
        }
        if self.until_carry == 0 {
            self.carry();
        }
        self.until_carry -= 1;
        let (q, r) = ((shift / 32) as usize, shift % 32);
        self.lo = self.lo.min(q);
        self.hi = self.hi.max(q + 2);
        let m = (mant as u128) << r;
        let digits = [(m & 0xffff_ffff) as i64, ((m >> 32) & 0xffff_ffff) as i64, (m >> 64) as i64];
        if bits >> 63 == 0 {
            for (l, d) in self.limbs[q..q + 3].iter_mut().zip(digits) {
                *l += d;
            }
        } else {
            for (l, d) in self.limbs[q..q + 3].iter_mut().zip(digits) {
                *l -= d;
            }
        }
    }

    /// Propagates the carries: every limb but the last in [0, 2^32), the last signed.
    fn carry(&mut self) {
        for i in 0..LIMBS - 1 {
            let c = self.limbs[i] >> 32;
            self.limbs[i] -= c << 32;
            self.limbs[i + 1] += c;
        }
        self.until_carry = ADDS_BEFORE_CARRY;
        // (A negative sum's digits reach the top limb.)
        (self.lo, self.hi) = (0, LIMBS - 1);
    }

    /// Whether nothing was added since the last clear.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// The sum, rounded once to nearest (ties to even); `+0.0` when it is exactly zero
    /// (whatever the zeros' signs), an infinity when it is beyond `f64`'s range, NaN when
    /// a NaN (or both infinities) was added.
    pub fn value(&mut self) -> f64 {
        if self.empty {
            return 0.0;
        }
        if let Some(s) = self.special {
            return s;
        }
        if let Some(v) = self.short_way() {
            return v;
        }
        self.carry();
        let negative = self.limbs[LIMBS - 1] < 0;
        // The magnitude's digits (the sum's negation, carried again, when it is negative).
        let mut mag = self.limbs;
        if negative {
            mag.iter_mut().for_each(|l| *l = -*l);
            for i in 0..LIMBS - 1 {
                let c = mag[i] >> 32;
                mag[i] -= c << 32;
                mag[i + 1] += c;
            }
        }
        let Some(h) = mag.iter().rposition(|&l| l != 0) else { return 0.0 };
        let magnitude = if h < 2 {
            // Below 2^64 units: the u64 → f64 conversion rounds to nearest, ties to even,
            // and the scaling by a power of two is exact (subnormal results need no more
            // than the 53 bits of a value below 2^53 units; larger ones are normal).
            let m = (mag[1] as u64) << 32 | mag[0] as u64;
            m as f64 * f64::from_bits(1)
        } else {
            // The top three digits (at least 65 bits), and whether anything lies below.
            let t = (mag[h] as u128) << 64 | (mag[h - 1] as u128) << 32 | mag[h - 2] as u128;
            let sticky = mag[..h - 2].iter().any(|&l| l != 0);
            let width = 128 - t.leading_zeros();
            let mut cut = width - 53;
            let mut mant = (t >> cut) as u64;
            let rest = t & ((1u128 << cut) - 1);
            let half = 1u128 << (cut - 1);
            if rest > half || (rest == half && (sticky || mant & 1 == 1)) {
                mant += 1;
                if mant == 1 << 53 {
                    mant >>= 1;
                    cut += 1;
                }
            }
            // mant * 2^(cut + 32 (h - 2) - 1074), mant in [2^52, 2^53): a normal number
            // (at least 2^64 units), or beyond the range.
            let biased = cut as i64 + 32 * (h as i64 - 2) - 1074 + 52 + 1023;
            if biased >= 0x7ff { f64::INFINITY } else { f64::from_bits((biased as u64) << 52 | (mant & ((1 << 52) - 1))) }
        };
        if negative { -magnitude } else { magnitude }
    }

    /// The sum when at most three limbs hold it, with few adds since the last carry, and
    /// its result is a normal number: the limbs as one `i128` (exact), rounded once by the
    /// conversion to `f64` (to nearest, ties to even), scaled by a power of two (exact in
    /// the normal range).
    fn short_way(&self) -> Option<f64> {
        let (lo, hi) = (self.lo, self.hi);
        if hi > lo + 2 || !(2..=60).contains(&lo) || ADDS_BEFORE_CARRY - self.until_carry > SHORT_WAY_ADDS {
            return None;
        }
        let total = (self.limbs[lo] as i128) + ((self.limbs[lo + 1] as i128) << 32) + ((self.limbs[lo + 2] as i128) << 64);
        if total == 0 {
            return Some(0.0);
        }
        // 2^(32 lo - 1074): at least 2^-1010 (so the result is normal) and at most
        // 2^846 (so a value below 2^127 of it stays finite).
        let scale = f64::from_bits(((32 * lo as i64 - 1074 + 1023) as u64) << 52);
        Some(total as f64 * scale)
    }

    /// Back to zero.
    pub fn clear(&mut self) {
        if !self.empty {
            if self.lo <= self.hi {
                self.limbs[self.lo..=self.hi].fill(0);
            }
            (self.lo, self.hi) = (LIMBS, 0);
            self.until_carry = ADDS_BEFORE_CARRY;
            self.special = None;
            self.empty = true;
        }
    }

    /// Appends to `out` a few nonzero terms (largest first) whose exact sum is this sum,
    /// and clears it: another accumulator that adds them holds this exact value. Each
    /// term takes at least 52 bits off the rest, so there are at most about 40 (one or two
    /// in practice). A sum beyond `f64`'s range (or NaN) gives one infinite (NaN) term.
    pub fn drain_terms(&mut self, out: &mut Vec<f64>) {
        if self.empty {
            return;
        }
        for _ in 0..64 {
            let s = self.value();
            if s == 0.0 {
                break;
            }
            out.push(s);
            if !s.is_finite() {
                break;
            }
            self.add(-s);
        }
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::ExactSum;

    /// A counter-based stream for the test's values (SplitMix64).
    fn values(seed: u64, n: usize, exp: std::ops::Range<i32>) -> Vec<f64> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        (0..n)
            .map(|_| {
                let r = next();
                let m = ((r >> 11) | (1 << 52)) as f64 / (1u64 << 53) as f64; // [0.5, 1), 53 bits
                let e = exp.start + (r % (exp.end - exp.start) as u64) as i32;
                let sign = if next() & 1 == 0 { 1.0 } else { -1.0 };
                sign * m * 2f64.powi(e)
            })
            .collect()
    }

    /// The exact sum of values whose bits all lie in [2^-92, 2^20), in i128 units of
    /// 2^-92, rounded once by the i128 → f64 conversion (round to nearest, ties to even).
    fn reference(v: &[f64]) -> f64 {
        let unit = 2f64.powi(-92);
        let total: i128 = v
            .iter()
            .map(|&x| {
                let q = x / unit;
                assert!(q == q.trunc() && q.abs() < 2f64.powi(126), "{x} is not a multiple of 2^-92 in range");
                q as i128
            })
            .sum();
        total as f64 * unit
    }

    #[test]
    fn exact_sums_equal_the_integer_reference_in_every_order() {
        for seed in 0..20 {
            // Exponents -39..20 with 53-bit mantissas: multiples of 2^-92, and sums that
            // cancel (both signs), so that naive sums in two orders differ.
            let mut v = values(seed, 2000, -39..20);
            let want = reference(&v);
            let mut acc = ExactSum::new();
            v.iter().for_each(|&x| acc.add(x));
            assert_eq!(acc.value().to_bits(), want.to_bits(), "seed {seed}");
            v.reverse();
            let mut acc = ExactSum::new();
            v.iter().for_each(|&x| acc.add(x));
            assert_eq!(acc.value().to_bits(), want.to_bits(), "seed {seed}, reversed");
            // Split in three parts, each drained to terms and added into a fourth.
            let mut terms = Vec::new();
            for part in v.chunks(700) {
                let mut a = ExactSum::new();
                part.iter().for_each(|&x| a.add(x));
                a.drain_terms(&mut terms);
                assert!(a.is_empty() && a.value() == 0.0);
            }
            let mut all = ExactSum::new();
            terms.iter().for_each(|&x| all.add(x));
            assert_eq!(all.value().to_bits(), want.to_bits(), "seed {seed}, through terms");
        }
        // The naive sum is order-dependent on these values (else the test shows nothing).
        let v = values(7, 2000, -39..20);
        let fwd: f64 = v.iter().sum();
        let back: f64 = v.iter().rev().sum();
        assert!(fwd != back || fwd != reference(&v), "naive sums agree with the exact one");
    }

    #[test]
    fn one_value_comes_back_unchanged_at_every_exponent() {
        // Random bit patterns: every exponent (subnormals included), both signs.
        let mut s = 0x1234_5678_9abc_def0u64;
        for i in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f64::from_bits(s);
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            let mut a = ExactSum::new();
            a.add(x);
            assert_eq!(a.value().to_bits(), x.to_bits(), "value {i}: {x:e}");
            a.add(-x);
            a.add(x);
            a.add(x);
            assert_eq!(a.value().to_bits(), (2.0 * x).to_bits(), "2 x {x:e}");
        }
        // What the xsum crate got wrong.
        for x in [-2.561113868277883, -2.233653034284121] {
            let mut a = ExactSum::new();
            a.add(x);
            assert_eq!(a.value().to_bits(), x.to_bits());
        }
    }

    #[test]
    fn ties_go_to_even_and_what_lies_below_breaks_them() {
        let e = |k: i32| 2f64.powi(k);
        let sum = |v: &[f64]| {
            let mut a = ExactSum::new();
            v.iter().for_each(|&x| a.add(x));
            a.value()
        };
        for sign in [1.0, -1.0] {
            assert_eq!(sum(&[sign, sign * e(-53)]), sign, "a tie to the even 1");
            assert_eq!(sum(&[sign, sign * e(-53), sign * e(-300)]), sign * (1.0 + e(-52)), "just above the tie");
            assert_eq!(sum(&[sign * (1.0 + e(-52)), sign * e(-53)]), sign * (1.0 + e(-51)), "a tie to the even 1 + 2^-51");
            assert_eq!(sum(&[sign * f64::MAX, sign * 1.0, -sign * f64::MAX]), sign, "cancellation at the top of the range");
            assert_eq!(sum(&[sign * f64::from_bits(1), sign * f64::from_bits(1)]), sign * f64::from_bits(2), "subnormals");
            assert_eq!(sum(&[sign * f64::MIN_POSITIVE, -sign * f64::from_bits(1)]), sign * f64::from_bits((1 << 52) - 1), "down into the subnormals");
        }
        // MAX's last bit is 2^971: half of it below rounds down, the tie goes up (MAX is
        // odd) and out of the range.
        assert_eq!(sum(&[f64::MAX, e(969)]), f64::MAX, "below the tie at the top");
        assert_eq!(sum(&[f64::MAX, e(970), -e(900)]), f64::MAX, "just below the tie at the top");
        assert_eq!(sum(&[f64::MAX, e(970)]), f64::INFINITY, "the tie at the top");
        assert_eq!(sum(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
    }

    #[test]
    fn the_short_way_rounds_as_the_long_way() {
        let e = |k: i32| 2f64.powi(k);
        for sign in [1.0, -1.0] {
            // All in limbs 31..=33 (values in [2^-30, 4)): the short way.
            let mut a = ExactSum::new();
            [1.0 + e(-52), 1.0].iter().for_each(|&x| a.add(sign * x));
            assert!(a.short_way().is_some());
            assert_eq!(a.value(), sign * 2.0, "a tie to the even 2");
            let mut a = ExactSum::new();
            [1.0 + e(-52), 1.0 + e(-51)].iter().for_each(|&x| a.add(sign * x));
            assert!(a.short_way().is_some());
            assert_eq!(a.value(), sign * (2.0 + e(-50)), "a tie to the even 2 + 2^-50");
        }
        // Random sets of a few binades anywhere: both ways agree.
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut short = 0;
        for _ in 0..20_000 {
            let base = next() % 2030;
            let mut a = ExactSum::new();
            for _ in 0..1 + next() % 30 {
                let r = next();
                a.add(f64::from_bits((base + r % 12) << 52 | next() >> 12 | (r & 1) << 63));
            }
            short += a.short_way().is_some() as u32;
            let mut long = a.clone();
            long.carry();
            assert!(long.short_way().is_none());
            assert_eq!(a.value().to_bits(), long.value().to_bits());
        }
        assert!(short > 10_000, "the short way was taken {short} times");
    }

    #[test]
    fn terms_keep_what_one_rounding_would_lose() {
        // 1 + 2^-60 - 1 is 2^-60 exactly; its two halves' rounded sums would give 0.
        let mut a = ExactSum::new();
        a.add(1.0);
        a.add(2f64.powi(-60));
        let mut terms = Vec::new();
        a.drain_terms(&mut terms);
        assert_eq!(terms, vec![1.0, 2f64.powi(-60)]);
        let mut b = ExactSum::new();
        terms.iter().for_each(|&x| b.add(x));
        b.add(-1.0);
        assert_eq!(b.value(), 2f64.powi(-60));
        // Zeros of either sign give +0; an empty sum is +0.
        let mut z = ExactSum::new();
        z.add(-0.0);
        assert_eq!(z.value().to_bits(), 0.0f64.to_bits());
        assert_eq!(ExactSum::new().value().to_bits(), 0.0f64.to_bits());
        // Beyond the range: infinite; NaN stays NaN.
        let mut big = ExactSum::new();
        big.add(f64::MAX);
        big.add(f64::MAX);
        assert_eq!(big.value(), f64::INFINITY);
        let mut nan = ExactSum::new();
        nan.add(1.0);
        nan.add(f64::NAN);
        assert!(nan.value().is_nan());
    }
}
