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
///
/// An array of [`PLACED_FROM`] lines or more also starts at a chosen line of a 4 KiB page
/// ([`Lines::zeros_at`]; [`spread`] chooses them). The fused loop reads and writes a
/// population's variables and input rows at one index at a time, and a load from one of
/// them shortly after a store to another at the same offset within a page (the same low
/// 12 address bits) waits for the store: the CPU takes it for a load of the stored
/// address. The allocator gives each large array its own mapping, so without placement
/// they all start at one offset. Measured (whole runs, interleaved, 512-bit loop):
/// COBA-64000 and CUBA-64000 1.35-1.6x the loop time without placement; a C kernel of the
/// COBA update, 32000 neurons, 2.0 cycles per neuron with the six streams 9-11 lines
/// apart, 2.9-6.0 with two of them 0-4 lines apart. The placement moves addresses only,
/// never a result.
#[derive(Default)]
pub struct Lines {
    lines: Vec<Line>,
    /// The first line used.
    start: usize,
    len: usize,
}

/// Lines from which an array is placed in its page.
pub const PLACED_FROM: usize = 256;
/// Cache lines in a 4 KiB page.
pub const PAGE_LINES: usize = 64;

impl Lines {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        Lines::zeros_at(len, 0)
    }

    /// `len` zeros, starting at line `line % 64` of a page if the array takes at least
    /// [`PLACED_FROM`] lines (a smaller one starts wherever its line falls).
    pub fn zeros_at(len: usize, line: usize) -> Self {
        let lines = len.div_ceil(8);
        if lines < PLACED_FROM {
            return Lines { lines: vec![Line::default(); lines], start: 0, len };
        }
        let buf = vec![Line::default(); lines + PAGE_LINES - 1];
        let at = (buf.as_ptr() as usize / size_of::<Line>()) % PAGE_LINES;
        Lines { lines: buf, start: (line % PAGE_LINES + PAGE_LINES - at) % PAGE_LINES, len }
    }

    /// A copy of `v` placed as [`Lines::zeros_at`].
    pub fn from_at(v: &[f64], line: usize) -> Self {
        let mut l = Lines::zeros_at(v.len(), line);
        l.copy_from_slice(v);
        l
    }

    /// The line of its page this array starts at.
    pub fn page_line(&self) -> usize {
        (self.as_ptr() as usize / size_of::<Line>()) % PAGE_LINES
    }
}

impl Clone for Lines {
    /// A copy at the same line of its page.
    fn clone(&self) -> Self {
        Lines::from_at(self, self.page_line())
    }
}

/// `k` lines of a page for new arrays, chosen one by one, each as far as can be (around
/// the page) from the lines in `taken` and those chosen before it; ties go to the lowest
/// line. With nothing taken, `k` arrays are spread evenly.
pub fn spread(taken: &[usize], k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = taken.iter().map(|l| l % PAGE_LINES).collect();
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        let dist = |c: usize| {
            all.iter()
                .map(|&t| {
                    let d = (c + PAGE_LINES - t) % PAGE_LINES;
                    d.min(PAGE_LINES - d)
                })
                .min()
                .unwrap_or(PAGE_LINES)
        };
        let best = (0..PAGE_LINES).max_by_key(|&c| (dist(c), std::cmp::Reverse(c))).unwrap_or(0);
        all.push(best);
        out.push(best);
    }
    out
}

/// Copies of `arrays`, each starting at a line of a page chosen by [`spread`] away from
/// `taken` and from each other (a population's variables, away from its input rows).
pub fn placed<'a>(taken: &[usize], arrays: impl ExactSizeIterator<Item = &'a [f64]>) -> Vec<Lines> {
    let at = spread(taken, arrays.len());
    arrays.zip(at).map(|(v, line)| Lines::from_at(v, line)).collect()
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
    use super::{Lines, placed, spread};

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
    fn large_arrays_start_at_the_line_of_a_page_asked_for() {
        for line in [0, 1, 9, 63, 64 + 5] {
            let l = Lines::zeros_at(64000, line);
            assert_eq!(l.page_line(), line % 64);
            assert_eq!(l.as_ptr() as usize % 4096, (line % 64) * 64);
            assert!(l.len() == 64000 && l.iter().all(|x| x.to_bits() == 0));
            let v: Vec<f64> = (0..3000).map(|i| i as f64).collect();
            let f = Lines::from_at(&v, line);
            assert_eq!((&f[..], f.page_line()), (&v[..], line % 64));
            assert_eq!(f.clone().page_line(), line % 64);
        }
    }

    #[test]
    fn spread_keeps_new_arrays_away_from_taken_lines_and_each_other() {
        assert_eq!(spread(&[], 4), vec![0, 32, 16, 48]);
        assert_eq!(spread(&[0], 1), vec![32]);
        // Ring rows at lines 0 and 32 (rows of 256000 bytes): four variables between them.
        let v = spread(&[0, 32], 4);
        assert_eq!(v, vec![16, 48, 8, 24]);
        let dist = |a: usize, b: usize| ((a + 64 - b) % 64).min((b + 64 - a) % 64);
        let all: Vec<usize> = [0, 32].into_iter().chain(v.iter().copied()).collect();
        for (i, &a) in all.iter().enumerate() {
            for &b in &all[i + 1..] {
                assert!(dist(a, b) >= 8, "{all:?}");
            }
        }
    }

    #[test]
    fn placed_arrays_keep_their_values_at_the_spread_lines() {
        let a: Vec<f64> = (0..4000).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..4000).map(|i| -(i as f64)).collect();
        // The lines where the rows of a grown ring start.
        let taken = [0, 61, 58];
        let out = placed(&taken, [&a[..], &b[..]].into_iter());
        assert_eq!((&out[0][..], &out[1][..]), (&a[..], &b[..]));
        assert_eq!(out.iter().map(Lines::page_line).collect::<Vec<_>>(), spread(&taken, 2));
        assert!(out.iter().all(|l| !taken.contains(&l.page_line())));
    }
}
