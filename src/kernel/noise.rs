//! Brian2's `xi` over a population's range ([`crate::util::rng::xi_fill`]) in the build of
//! the vector instructions that [`Simd`] names: the same bits in each (integer operations
//! and correctly rounded `+ − × ÷ √`, lane by lane), 256- or 512-bit wide where the CPU
//! has them instead of the baseline's 128.

use crate::api::run::Simd;
use crate::util::rng;

/// `out[i] = rng::xi(key, entity, step, first + i)`, by the build `simd` or the highest
/// below it that the CPU supports.
pub(crate) fn xi_fill(simd: Simd, key: [u32; 2], entity: u32, step: u64, first: u64, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if simd >= Simd::Avx512 && Simd::Avx512.supported() {
            // SAFETY: the CPU supports AVX2, AVX-512 F, VL and DQ (`Simd::supported`).
            unsafe { xi_avx512(key, entity, step, first, out) };
            return;
        }
        if simd >= Simd::Avx2 && Simd::Avx2.supported() {
            // SAFETY: the CPU supports AVX2 (`Simd::supported`).
            unsafe { xi_avx2(key, entity, step, first, out) };
            return;
        }
    }
    let _ = simd;
    rng::xi_fill(key, entity, step, first, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xi_avx2(key: [u32; 2], entity: u32, step: u64, first: u64, out: &mut [f64]) {
    rng::xi_fill_with::<false>(key, entity, step, first, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
fn xi_avx512(key: [u32; 2], entity: u32, step: u64, first: u64, out: &mut [f64]) {
    rng::xi_fill_with::<true>(key, entity, step, first, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every build this CPU has gives `rng::xi`'s bits.
    #[test]
    fn every_build_draws_the_same_bits() {
        let k = rng::key(11, rng::purpose::XI + 2);
        for simd in Simd::available() {
            for (step, first, len) in [(0u64, 0u64, 1000usize), (9, 4091, 37), (1 << 33, 7, 520)] {
                let mut out = vec![f64::NAN; len];
                xi_fill(simd, k, 77, step, first, &mut out);
                for (i, o) in out.iter().enumerate() {
                    assert_eq!(o.to_bits(), rng::xi(k, 77, step, first + i as u64).to_bits(), "{simd:?}, step {step}, neuron {}", first + i as u64);
                }
            }
        }
    }
}
