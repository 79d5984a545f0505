//! Brian2's `xi`: the standard normal draws of noise receptors, one neuron at a time
//! ([`xi`]) and a population's range at once ([`xi_fill`], the same bits).

use super::{M0, M1, Stream, W0, W1, ln, ln_reduced};

/// The standard normal draw of a noise receptor (Brian2's `xi`) for `neuron` at `step`,
/// by Marsaglia's polar method, which gives two independent draws per accepted attempt:
/// neurons `2p` and `2p + 1` share the stream `(key, entity, step · 2³² + p)` of the
/// receptor's key (`key(seed, purpose::XI + k)`). Attempt `a` takes block `a` (two
/// uniforms `u`, `v` in [−1, 1) of 53 bits each); the first with `0 < s = u² + v² < 1`
/// gives `f = √(−2 ln s / s)`, and neuron `2p` draws `u · f`, neuron `2p + 1` draws `v · f`.
/// Only `+ − × ÷`, `√` (correctly rounded everywhere) and [`ln`]: the same bits on every
/// platform and in a CUDA kernel. Neuron numbers wrap at 2³², steps at 2³² (at dt = 0.1 ms,
/// after 4.9 days of biological time).
#[inline]
pub fn xi(key: [u32; 2], entity: u32, step: u64, neuron: u64) -> f64 {
    let n = neuron & 0xffff_ffff;
    let mut s = Stream::with_key(key, entity, (step << 32) | (n >> 1));
    loop {
        let u = 2.0 * s.uniform() - 1.0;
        let v = 2.0 * s.uniform() - 1.0;
        let r = u * u + v * v;
        if r < 1.0 && r > 0.0 {
            let f = (-2.0 * ln(r) / r).sqrt();
            return if n & 1 == 0 { u * f } else { v * f };
        }
    }
}

/// Pairs of neurons drawn together by [`xi_fill`]: independent lanes that the compiler
/// turns into vector instructions, and whose latencies overlap (the logarithm's
/// polynomial is a chain of 22 dependent operations per lane).
const LANES: usize = 16;

/// A pair's number in its stream: neuron numbers wrap at 2³², so pairs at 2³¹.
const PAIR_MASK: u32 = 0x7fff_ffff;

/// Pairs of neurons whose rejected attempts [`xi_fill`] keeps track of at a time.
const CHUNK: usize = 256;

/// `out[i] = xi(key, entity, step, first + i)` for every `i`, the same bits, several
/// times faster: [`LANES`] pairs' attempts at once (Philox, the polar method's test and
/// its logarithm, lane by lane with no branch); the pairs whose first attempt was
/// rejected (one in 4.7) are gathered and make their next attempt together, and so on.
pub fn xi_fill(key: [u32; 2], entity: u32, step: u64, first: u64, out: &mut [f64]) {
    xi_fill_with::<false>(key, entity, step, first, out);
}

/// [`xi_fill`] with Philox's words in 64-bit lanes (`WIDE`: each product is then one
/// `vpmuludq`, with no widening and narrowing in every round) or in 32-bit lanes. The same
/// bits either way. Measured on `scenarios/noisy_lif_equations.toml`: 64-bit lanes take
/// 0.076 s of loop where 32-bit ones take 0.096 s in the AVX-512 build, but 0.124 s
/// against 0.116 s in the AVX2 build (`kernel::noise` picks accordingly).
/// `#[inline(always)]` so that a caller built for wider vectors (`kernel::noise`) gets
/// them here too.
#[inline(always)]
pub fn xi_fill_with<const WIDE: bool>(key: [u32; 2], entity: u32, step: u64, first: u64, out: &mut [f64]) {
    let mut out = out;
    if first & 1 == 1 && !out.is_empty() {
        // The second of its pair.
        out[0] = xi(key, entity, step, first);
        out = &mut out[1..];
    }
    let pair0 = (first + 1) >> 1;
    for (c, chunk) in out.chunks_mut(2 * CHUNK).enumerate() {
        pairs_fill::<WIDE>(key, entity, step, pair0.wrapping_add((c * CHUNK) as u64), chunk);
    }
}

/// The draws of the pairs from `pair0` on into `out` (neurons `2 · pair0 ..`; at most
/// `2 · CHUNK` of them: the last pair's second draw is left out when `out`'s length is
/// odd).
#[inline(always)]
fn pairs_fill<const WIDE: bool>(key: [u32; 2], entity: u32, step: u64, pair0: u64, out: &mut [f64]) {
    let pairs = out.len().div_ceil(2);
    let mut pending = [0u16; CHUNK];
    let mut np = 0;
    for base in (0..pairs).step_by(LANES) {
        let ids = std::array::from_fn(|l| pair0.wrapping_add((base + l) as u64) as u32 & PAIR_MASK);
        let (a, b, mut rejected) = attempt::<WIDE>(key, entity, step, &ids, 0);
        match out.get_mut(2 * base..2 * (base + LANES)) {
            Some(dst) => {
                for (l, d) in dst.chunks_exact_mut(2).enumerate() {
                    d[0] = a[l];
                    d[1] = b[l];
                }
            }
            None => {
                for (l, d) in out[2 * base..].iter_mut().enumerate() {
                    *d = if l & 1 == 0 { a[l / 2] } else { b[l / 2] };
                }
                rejected &= u32::MAX >> (32 - (pairs - base));
            }
        }
        while rejected != 0 {
            pending[np] = (base + rejected.trailing_zeros() as usize) as u16;
            np += 1;
            rejected &= rejected - 1;
        }
    }
    let mut block = 1u32;
    while np > 0 {
        let mut kept = 0;
        for g in (0..np).step_by(LANES) {
            let m = (np - g).min(LANES);
            let idx: [u16; LANES] = std::array::from_fn(|l| pending[g + l.min(m - 1)]);
            let ids = idx.map(|i| pair0.wrapping_add(i as u64) as u32 & PAIR_MASK);
            let (a, b, rejected) = attempt::<WIDE>(key, entity, step, &ids, block);
            for l in 0..m {
                let i = 2 * idx[l] as usize;
                if rejected >> l & 1 != 0 {
                    pending[kept] = idx[l];
                    kept += 1;
                } else {
                    out[i] = a[l];
                    if let Some(d) = out.get_mut(i + 1) {
                        *d = b[l];
                    }
                }
            }
        }
        np = kept;
        block = block.wrapping_add(1);
    }
}

/// Philox4x32-10 of each lane's counter (`c[word][lane]`) under `key`.
#[inline(always)]
fn philox_lanes<const WIDE: bool>(c: [[u32; LANES]; 4], key: [u32; 2]) -> [[u32; LANES]; 4] {
    if WIDE {
        const LO: u64 = 0xffff_ffff;
        let mut c = c.map(|w| w.map(u64::from));
        let mut k = key.map(u64::from);
        for round in 0..10 {
            if round > 0 {
                k[0] = (k[0] + W0 as u64) & LO;
                k[1] = (k[1] + W1 as u64) & LO;
            }
            for l in 0..LANES {
                let p0 = M0 as u64 * c[0][l];
                let p1 = M1 as u64 * c[2][l];
                let (c1, c3) = (c[1][l], c[3][l]);
                c[0][l] = (p1 >> 32) ^ c1 ^ k[0];
                c[1][l] = p1 & LO;
                c[2][l] = (p0 >> 32) ^ c3 ^ k[1];
                c[3][l] = p0 & LO;
            }
        }
        c.map(|w| w.map(|x| x as u32))
    } else {
        let mut c = c;
        let mut k = key;
        for round in 0..10 {
            if round > 0 {
                k[0] = k[0].wrapping_add(W0);
                k[1] = k[1].wrapping_add(W1);
            }
            for l in 0..LANES {
                let p0 = M0 as u64 * c[0][l] as u64;
                let p1 = M1 as u64 * c[2][l] as u64;
                let (c1, c3) = (c[1][l], c[3][l]);
                c[0][l] = (p1 >> 32) as u32 ^ c1 ^ k[0];
                c[1][l] = p1 as u32;
                c[2][l] = (p0 >> 32) as u32 ^ c3 ^ k[1];
                c[3][l] = p0 as u32;
            }
        }
        c
    }
}

/// Attempt `block` of the polar method for the pair of each lane (the pair's number,
/// its low 32 bits): both draws, and a bit set for each lane whose attempt was rejected
/// (its draws are then meaningless).
#[inline(always)]
fn attempt<const WIDE: bool>(key: [u32; 2], entity: u32, step: u64, pairs: &[u32; LANES], block: u32) -> ([f64; LANES], [f64; LANES], u32) {
    // Counter [block, pair, step, entity] (see `Stream`).
    let c = philox_lanes::<WIDE>([[block; LANES], *pairs, [step as u32; LANES], [entity; LANES]], key);
    // `Stream::uniform` of outputs (0, 1) and (2, 3); the shifted words are below 2^31, so
    // converting them through i32 is exact (and a vector instruction).
    let unif = |a: u32, b: u32| ((a >> 5) as i32 as f64 * 67_108_864.0 + (b >> 6) as i32 as f64) * (1.0 / 9_007_199_254_740_992.0);
    let (mut x, mut y) = ([0.0; LANES], [0.0; LANES]);
    let mut rejected = 0u32;
    for l in 0..LANES {
        let u = 2.0 * unif(c[0][l], c[1][l]) - 1.0;
        let v = 2.0 * unif(c[2][l], c[3][l]) - 1.0;
        let s = u * u + v * v;
        // `ln` for a positive normal `s` (u, v are multiples of 2^-52, so a nonzero `s`
        // is at least 2^-104): its reduction without branches.
        let bits = s.to_bits();
        let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | 0x3ff0_0000_0000_0000);
        let big = m > std::f64::consts::SQRT_2;
        let e = (bits >> 52) as i32 - 1023 + big as i32;
        let m = if big { m * 0.5 } else { m };
        let f = (-2.0 * ln_reduced(m, e as f64) / s).sqrt();
        x[l] = u * f;
        y[l] = v * f;
        rejected |= ((!(s < 1.0 && s > 0.0)) as u32) << l;
    }
    (x, y, rejected)
}

#[cfg(test)]
mod tests {
    use super::super::{key, philox4x32_10, purpose};
    use super::*;

    /// `xi` is the polar method over the Philox blocks of its stream, as documented:
    /// recomputed here from `philox4x32_10` directly, for both neurons of a pair; its
    /// draws are standard normal (mean, variance and the normal CDF at five points, within
    /// 4.5 standard errors of 200,000 draws, whose exact values are fixed by the seed), and
    /// the two draws of a pair are uncorrelated.
    #[test]
    fn xi_is_the_polar_method_on_its_stream_and_standard_normal() {
        let k = key(17, purpose::XI + 1);
        let (entity, step) = (0xdead_beef_u32, 123_456u64);
        for neuron in [4320u64, 4321, (1 << 32) + 4321] {
            let want = {
                let mut a = 0u32;
                loop {
                    let c = philox4x32_10([a, 2160, step as u32, entity], k);
                    let unif = |x: u32, y: u32| ((x >> 5) as f64 * 67_108_864.0 + (y >> 6) as f64) / 9_007_199_254_740_992.0;
                    let (u, v) = (2.0 * unif(c[0], c[1]) - 1.0, 2.0 * unif(c[2], c[3]) - 1.0);
                    let s = u * u + v * v;
                    if s < 1.0 && s > 0.0 {
                        break [u, v][neuron as usize % 2] * (-2.0 * ln(s) / s).sqrt();
                    }
                    a += 1;
                }
            };
            assert_eq!(xi(k, entity, step, neuron).to_bits(), want.to_bits(), "neuron {neuron}");
        }
        let neuron = 4321;
        let n = 200_000usize;
        let draws: Vec<f64> = (0..n).map(|i| xi(k, 9, (i / 1000) as u64, (i % 1000) as u64)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let se = 1.0 / (n as f64).sqrt();
        assert!(mean.abs() < 4.5 * se, "mean {mean}");
        assert!((var - 1.0).abs() < 4.5 * 2f64.sqrt() * se, "variance {var}");
        // Φ(x) at -2, -1, 0, 1, 2.
        for (x, phi) in [(-2.0, 0.022_750_131_948_179), (-1.0, 0.158_655_253_931_457), (0.0, 0.5), (1.0, 0.841_344_746_068_543), (2.0, 0.977_249_868_051_821)] {
            let frac = draws.iter().filter(|&&d| d < x).count() as f64 / n as f64;
            let sd = (phi * (1.0 - phi) / n as f64).sqrt();
            assert!((frac - phi).abs() < 4.5 * sd, "P(xi < {x}) = {frac}, want {phi}");
        }
        // The two neurons of a pair: correlation within 4.5 standard errors of 0.
        let r = draws.chunks_exact(2).map(|p| (p[0] - mean) * (p[1] - mean)).sum::<f64>() / (n / 2) as f64 / var;
        assert!(r.abs() < 4.5 / ((n / 2) as f64).sqrt(), "pair correlation {r}");
        // Other neurons, steps and receptors draw other numbers.
        assert_ne!(xi(k, entity, step, neuron + 1), xi(k, entity, step, neuron));
        assert_ne!(xi(k, entity, step + 1, neuron), xi(k, entity, step, neuron));
        assert_ne!(xi(key(17, purpose::XI), entity, step, neuron), xi(k, entity, step, neuron));
    }

    /// [`xi_fill`] gives [`xi`]'s bits for every neuron: lengths around the lane count
    /// (odd and even), starts not a multiple of it (odd and even), many steps (so that rejections fall in every lane),
    /// and neuron numbers past 2^32 (which wrap, as in `xi`); Philox in 32- and 64-bit
    /// lanes alike.
    #[test]
    fn xi_fill_is_xi_bit_for_bit() {
        let k = key(5, purpose::XI);
        let mut rejected = 0;
        for step in [0u64, 1, 77, 1 << 31, u32::MAX as u64, (1 << 32) + 3] {
            for (first, len) in [(0u64, 0usize), (0, 1), (3, 7), (0, 8), (5, 9), (0, 1000), (1, 33), (2, 31), (13, 4093), (0, 4096), ((1 << 32) - 5, 11)] {
                let mut out = vec![f64::NAN; len];
                xi_fill(k, 0xabcd, step, first, &mut out);
                let mut wide = vec![f64::NAN; len];
                xi_fill_with::<true>(k, 0xabcd, step, first, &mut wide);
                assert!(out.iter().zip(&wide).all(|(a, b)| a.to_bits() == b.to_bits()), "step {step}: 64-bit lanes differ");
                for (i, o) in out.iter().enumerate() {
                    let n = first + i as u64;
                    assert_eq!(o.to_bits(), xi(k, 0xabcd, step, n).to_bits(), "step {step}, neuron {n}");
                    let c = philox4x32_10([0, n as u32 / 2, step as u32, 0xabcd], k);
                    let unif = |x: u32, y: u32| ((x >> 5) as f64 * 67_108_864.0 + (y >> 6) as f64) / 9_007_199_254_740_992.0;
                    let (u, v) = (2.0 * unif(c[0], c[1]) - 1.0, 2.0 * unif(c[2], c[3]) - 1.0);
                    rejected += (u * u + v * v >= 1.0) as usize;
                }
            }
        }
        assert!(rejected > 1000, "only {rejected} first attempts were rejected");
    }
}
