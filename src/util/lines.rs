//! [`Lines`]: `f64`s stored from the start of a 64-byte cache line.
//!
//! The cpu engine's fused loop reads and writes each state variable and input slot a block
//! of 8 neurons (64 bytes) at a time. From a `Vec<f64>` (16-byte aligned) half of the
//! 256-bit accesses, and every 512-bit one, straddle two cache lines; from whole lines
//! none does. Measured on the loop alone (COBA and CUBA neurons, 4000 and 64000, AVX2):
//! 8-12 % less time per neuron with lines; whole runs, interleaved: CUBA-64000 9 %, COBA-64000
//! 4 % less loop time, 4000 neurons unchanged (`benches/brian2_comparison.txt`, 2026-11-25).

use std::ops::{Deref, DerefMut};

/// One cache line of `f64`s.
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Line([f64; 8]);

/// A fixed-length array of `f64` whose first element starts a cache line; reads and
/// writes as a `[f64]`.
#[derive(Clone, Default)]
pub struct Lines {
    lines: Vec<Line>,
    len: usize,
}

impl Lines {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        Lines { lines: vec![Line::default(); len.div_ceil(8)], len }
    }
}

impl From<&[f64]> for Lines {
    fn from(v: &[f64]) -> Self {
        let mut l = Lines::zeros(v.len());
        l.copy_from_slice(v);
        l
    }
}

impl From<Vec<f64>> for Lines {
    fn from(v: Vec<f64>) -> Self {
        Lines::from(&v[..])
    }
}

impl Deref for Lines {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &bytemuck::cast_slice::<Line, f64>(&self.lines)[..self.len]
    }
}

impl DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut bytemuck::cast_slice_mut::<Line, f64>(&mut self.lines)[..self.len]
    }
}

impl PartialEq for Lines {
    fn eq(&self, o: &Lines) -> bool {
        **self == **o
    }
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_start_a_cache_line_and_hold_exactly_their_values() {
        for n in [0, 1, 7, 8, 9, 4000, 4001] {
            let v: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 3.0).collect();
            let mut l = Lines::from(v.clone());
            assert_eq!(l.len(), n);
            assert_eq!(&l[..], &v[..]);
            assert_eq!(l.as_ptr() as usize % 64, 0, "n = {n}");
            if n > 0 {
                l[n - 1] = 7.0;
                assert_eq!(l[n - 1], 7.0);
            }
            assert_eq!(Lines::zeros(n).iter().filter(|x| x.to_bits() == 0).count(), n);
        }
    }
}
