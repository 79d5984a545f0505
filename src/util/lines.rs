//! [`Lines`]: `f64`s stored from the start of a 64-byte cache line.
//!
//! The cpu engine's fused loop reads and writes each state variable and input slot a block
//! of 8 neurons (64 bytes) at a time. From a `Vec<f64>` (16-byte aligned) half of the
//! 256-bit accesses, and every 512-bit one, straddle two cache lines; from whole lines
//! none does. Measured on the loop alone (COBA and CUBA neurons, 4000 and 64000, AVX2):
//! 8-12 % less time per neuron with lines; whole runs, interleaved: CUBA-64000 9 %, COBA-64000
//! 4 % less loop time, 4000 neurons unchanged (`benches/brian2_comparison.txt`, 2026-11-25).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One cache line of `f64`s.
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Line([f64; 8]);

/// A fixed-length array of `f64` whose first element starts a cache line; reads and
/// writes as a `[f64]`.
///
/// A large array (32 KiB or more) also starts at its own offset within a 4 KiB page:
/// successive ones step by 9 lines (576 bytes) modulo 64 lines. The allocator hands each
/// large array its own mapping, so without that every state variable and input ring of a
/// large population would start at one offset within a page, and the fused loop's
/// streams, all at one index, would contend for the same cache sets (and a load after a
/// store to another stream would look to the CPU like a load of the stored address).
/// Measured (whole runs, interleaved, 512-bit loop): COBA-64000 and CUBA-64000 1.35-1.6x
/// the loop time without the offsets, 0.95-0.98x of the 256-bit loop with them. Which
/// offset an array gets depends on the order of allocation; it moves addresses only,
/// never a result.
#[derive(Default)]
pub struct Lines {
    lines: Vec<Line>,
    /// The first line used.
    start: usize,
    len: usize,
}

/// Lines from which an array is large enough to be given its own offset in a page.
const SKEW_FROM: usize = 512;
/// Lines between the page offsets of successive large arrays (coprime with 64, so that
/// 64 successive arrays start at 64 different offsets).
const SKEW_STEP: usize = 9;

/// Large arrays allocated so far (their page offsets step with it).
static LARGE: AtomicUsize = AtomicUsize::new(0);

impl Lines {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let lines = len.div_ceil(8);
        let start = if lines >= SKEW_FROM { LARGE.fetch_add(1, Ordering::Relaxed) * SKEW_STEP % 64 } else { 0 };
        Lines { lines: vec![Line::default(); start + lines], start, len }
    }
}

impl Clone for Lines {
    /// A copy at an offset of its own (see [`Lines`]).
    fn clone(&self) -> Self {
        Lines::from(&self[..])
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
        &bytemuck::cast_slice::<Line, f64>(&self.lines[self.start..])[..self.len]
    }
}

impl DerefMut for Lines {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut bytemuck::cast_slice_mut::<Line, f64>(&mut self.lines[self.start..])[..self.len]
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
            let c = l.clone();
            assert_eq!(&c[..], &l[..]);
            assert_eq!(c.as_ptr() as usize % 64, 0, "n = {n}");
        }
    }

    #[test]
    fn large_arrays_start_at_different_offsets_in_a_page() {
        let a: Vec<Lines> = (0..8).map(|_| Lines::zeros(64000)).collect();
        let mut offsets: Vec<usize> = a.iter().map(|l| l.as_ptr() as usize % 4096).collect();
        offsets.sort_unstable();
        offsets.dedup();
        // Other tests allocate large arrays at the same time, so the steps here need not
        // be successive ones; the offsets still differ unless 64 allocations came between.
        assert!(offsets.len() >= 2, "{offsets:?}");
        assert!(a.iter().all(|l| l.len() == 64000 && l.iter().all(|x| x.to_bits() == 0)));
    }
}
