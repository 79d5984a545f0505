//! The membrane potential between two events, and what can be decided about it exactly.
//!
//! Between events every neuron of this crate has
//!
//! ```text
//! f(s) = a·e^(−s/τ₁) + b·e^(−s/τ₂) + c,      s ≥ 0 (time since the segment's start)
//! f'(s) = −(a/τ₁)·e^(−s/τ₁) − (b/τ₂)·e^(−s/τ₂)
//! ```
//!
//! (`f = V − θ` for threshold questions, `f = V` for the maximum). `f'` is a sum of two
//! exponentials, so it has **at most one zero**, at
//!
//! ```text
//! s* = ln(−b·τ₁ / (a·τ₂)) / (1/τ₂ − 1/τ₁)      (when −b·τ₁/(a·τ₂) > 0)
//! ```
//!
//! and `f` is unimodal: if `f'(0) > 0` then `s*` is a maximum, otherwise a minimum. Hence:
//!
//! - **maximum** on `[0, Δ]`: the largest of `f(0)`, `f(Δ)` and `f(s*)` when `s* ∈ (0, Δ)`;
//! - **first crossing** of 0 on `[0, Δ]` (closed: a crossing exactly at `Δ` is reported):
//!   if `f(0) ≥ 0` it is 0; else if `s*` is a maximum inside, there is a crossing iff
//!   `f(s*) ≥ 0` and it lies on the increasing piece `[0, s*]`; else `f` is decreasing,
//!   then increasing (or monotone), and there is a crossing iff `f(Δ) ≥ 0`, on `[s*, Δ]`
//!   (or `[0, Δ]`). The decision is exact up to the rounding of `f` at one or two points.
//! - the root on a monotone bracket `[lo, hi]` with `f(lo) < 0 ≤ f(hi)` is found by a
//!   safeguarded Newton iteration (Newton from the last point, bisection when the step
//!   leaves the bracket, and a probe one tolerance to the other side so that the bracket
//!   itself shrinks), stopped when `hi − lo ≤ tol`. **The upper end is returned**, so
//!   `f(t) ≥ 0` holds at the reported time and the true crossing lies in `[t − tol, t]`.
//!
//! `tol` is [`TIME_TOL_MS`] or 4 ulp of the absolute time, whichever is larger
//! ([`time_tolerance`]).

/// Absolute tolerance of a crossing time, in ms.
pub const TIME_TOL_MS: f64 = 1e-12;

/// The tolerance used for a crossing near absolute time `t` (ms): `max(1e-12 ms, 4 ulp(t))`.
pub fn time_tolerance(t: f64) -> f64 {
    let ulp = f64::next_up(t.abs()) - t.abs();
    TIME_TOL_MS.max(4.0 * ulp)
}

/// `f(s) = a·e^(−s/τ₁) + b·e^(−s/τ₂) + c` on one inter-event segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoExp {
    /// Coefficient of the `τ₁` exponential.
    pub a: f64,
    /// Coefficient of the `τ₂` exponential.
    pub b: f64,
    /// Constant.
    pub c: f64,
    /// First time constant (ms, > 0).
    pub tau1: f64,
    /// Second time constant (ms, > 0, ≠ `tau1`).
    pub tau2: f64,
}

impl TwoExp {
    /// `f(s)`; `s = +∞` gives `c`.
    #[inline]
    pub fn value(&self, s: f64) -> f64 {
        if s == 0.0 {
            return self.a + self.b + self.c;
        }
        self.a * (-s / self.tau1).exp() + self.b * (-s / self.tau2).exp() + self.c
    }

    /// `f'(s)`.
    #[inline]
    pub fn slope(&self, s: f64) -> f64 {
        if s == 0.0 {
            return -(self.a / self.tau1) - (self.b / self.tau2);
        }
        -(self.a / self.tau1) * (-s / self.tau1).exp() - (self.b / self.tau2) * (-s / self.tau2).exp()
    }

    /// The zero `s* > 0` of `f'`, if any, and whether it is a maximum.
    pub fn extremum(&self) -> Option<(f64, bool)> {
        let ratio = -(self.b * self.tau1) / (self.a * self.tau2);
        if !(ratio > 0.0 && ratio.is_finite()) {
            return None;
        }
        let s = ratio.ln() / (1.0 / self.tau2 - 1.0 / self.tau1);
        if !(s > 0.0 && s.is_finite()) {
            return None;
        }
        // NOTE: f' changes sign at s* and only there, so the sign of f'(0) says which kind.
        Some((s, self.slope(0.0) > 0.0))
    }

    /// The maximum of `f` on `[0, delta]` (`delta` may be `+∞`): `(s, f(s))`, the earliest
    /// `s` on ties.
    pub fn max_on(&self, delta: f64) -> (f64, f64) {
        let mut best = (0.0, self.value(0.0));
        if let Some((s, true)) = self.extremum()
            && s < delta
        {
            let v = self.value(s);
            if v > best.1 {
                best = (s, v);
            }
        }
        if delta > 0.0 {
            let v = self.value(delta);
            if v > best.1 {
                best = (delta, v);
            }
        }
        best
    }

    /// The first `s ∈ [0, delta]` with `f(s) ≥ 0`, within `tol` (see the module docs):
    /// the returned `s` has `f(s) ≥ 0` and the true crossing is in `[s − tol, s]`.
    /// `delta` may be `+∞`.
    #[inline]
    pub fn first_crossing(&self, delta: f64, tol: f64) -> Option<f64> {
        if self.value(0.0) >= 0.0 {
            return Some(0.0);
        }
        if delta <= 0.0 || self.sup_bound() < 0.0 {
            return None;
        }
        self.search(delta, tol)
    }

    /// `first_crossing` past its quick answers (kept out of line so that they inline).
    #[inline(never)]
    fn search(&self, delta: f64, tol: f64) -> Option<f64> {
        let (lo, hi) = match self.extremum() {
            Some((s, true)) if s < delta => {
                if self.value(s) >= 0.0 {
                    (0.0, s)
                } else {
                    return None;
                }
            }
            Some((s, false)) if s < delta => (s, delta),
            _ => (0.0, delta),
        };
        let hi = if hi.is_finite() {
            hi
        } else {
            // f → c as s → ∞: reached in finite time only if c > 0; find a finite upper end.
            if self.c <= 0.0 {
                return None;
            }
            let mut h = lo.max(1.0);
            while self.value(h) < 0.0 {
                h *= 2.0;
            }
            h
        };
        if self.value(hi) < 0.0 {
            return None;
        }
        Some(self.root(lo, hi, tol))
    }

    /// An upper bound of every computed `f(s)`, `s ≥ 0`, with no transcendental function:
    /// below zero, `first_crossing`'s analysis would find no crossing either (so this
    /// shortcut changes no result, only the time it takes).
    ///
    /// Two bounds of `sup f`: each exponential term is at most its positive part; and at
    /// an interior extremum `s*`, `f' = 0` gives `b·e^(−s*/τ₂) = −(τ₂/τ₁)·a·e^(−s*/τ₁)`, so
    /// `f(s*) = a·(1 − τ₂/τ₁)·e^(−s*/τ₁) + c ≤ max(a·(1 − τ₂/τ₁), 0) + c`, while the ends
    /// give `f(0)` and `c`. The smaller bound is widened by 10⁻¹² of the terms' size,
    /// far more than the rounding of a computed `f(s)` (a few ulp of it).
    #[inline]
    pub fn sup_bound(&self) -> f64 {
        let (a, b) = (self.a, self.b);
        let parts = a.max(0.0) + b.max(0.0);
        let extremum = (a + b).max(a * (1.0 - self.tau2 / self.tau1)).max(0.0);
        parts.min(extremum) + self.c + 1e-12 * (a.abs() + b.abs() + self.c.abs())
    }

    /// The crossing on a bracket with `f(lo) < 0 ≤ f(hi)` on which `f` is monotone.
    fn root(&self, mut lo: f64, mut hi: f64, tol: f64) -> f64 {
        let mut x = lo;
        for _ in 0..100 {
            if hi - lo <= tol {
                return hi;
            }
            let d = self.slope(x);
            let mut next = x - self.value(x) / d;
            if !(next > lo && next < hi) {
                next = 0.5 * (lo + hi);
            }
            if next <= lo || next >= hi {
                return hi; // the bracket cannot be split any more in f64
            }
            x = next;
            if self.value(x) >= 0.0 {
                hi = x;
                let probe = x - tol;
                if probe > lo && self.value(probe) < 0.0 {
                    lo = probe;
                }
            } else {
                lo = x;
                let probe = x + tol;
                if probe < hi && self.value(probe) >= 0.0 {
                    hi = probe;
                }
            }
        }
        // Fallback: plain bisection, at most ~64 halvings of an f64 interval.
        while hi - lo > tol {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.value(mid) >= 0.0 { hi = mid } else { lo = mid }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: the first grid point with f ≥ 0, then 200 bisections on the formula.
    fn brute(f: &TwoExp, delta: f64) -> Option<f64> {
        let n = 200_000;
        let mut prev = 0.0;
        if f.value(0.0) >= 0.0 {
            return Some(0.0);
        }
        for k in 1..=n {
            let s = delta * k as f64 / n as f64;
            if f.value(s) >= 0.0 {
                let (mut lo, mut hi) = (prev, s);
                for _ in 0..200 {
                    let m = 0.5 * (lo + hi);
                    if f.value(m) >= 0.0 { hi = m } else { lo = m }
                }
                return Some(hi);
            }
            prev = s;
        }
        None
    }

    #[test]
    fn sup_bound_bounds_every_computed_value() {
        // Random shapes of both time-constant orders; the bound must be ≥ f on a fine grid
        // (and at the extremum); where it is negative, brute force finds no crossing.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut rejected = 0;
        for i in 0..1000 {
            let (tau1, tau2) = if i % 2 == 0 { (10.0, 2.5) } else { (3.0, 12.0) };
            let f = TwoExp { a: 4.0 * next() - 1.5, b: 4.0 * next() - 2.5, c: -1.0, tau1, tau2 };
            let bound = f.sup_bound();
            let mut max = f.value(0.0);
            for k in 1..=4000 {
                max = max.max(f.value(k as f64 * 0.02));
            }
            if let Some((s, true)) = f.extremum() {
                max = max.max(f.value(s));
            }
            assert!(bound >= max, "{f:?}: bound {bound} below a computed value {max}");
            if bound < 0.0 {
                rejected += 1;
                assert_eq!(brute(&f, 80.0), None, "{f:?}");
            }
        }
        assert!(rejected > 100, "the bound should reject a good share of these shapes ({rejected})");
    }

    #[test]
    fn crossing_matches_brute_force_on_all_shapes() {
        // rising then falling (excitatory PSP), falling then rising, monotone both ways.
        let shapes = [
            TwoExp { a: 2.0, b: -2.0, c: -0.5, tau1: 15.0, tau2: 3.75 },
            TwoExp { a: 2.0, b: -2.0, c: -0.9, tau1: 15.0, tau2: 3.75 },
            TwoExp { a: 2.0, b: -2.0, c: -1.2, tau1: 15.0, tau2: 3.75 },
            TwoExp { a: -2.0, b: 1.5, c: 0.3, tau1: 15.0, tau2: 3.75 },
            TwoExp { a: -0.5, b: -0.6, c: 0.8, tau1: 10.0, tau2: 2.0 },
            TwoExp { a: 0.5, b: 0.6, c: -0.8, tau1: 10.0, tau2: 2.0 },
            TwoExp { a: -1.0, b: 0.2, c: 0.5, tau1: 2.0, tau2: 10.0 },
        ];
        for f in shapes {
            for delta in [0.5, 3.0, 7.0, 40.0] {
                let got = f.first_crossing(delta, TIME_TOL_MS);
                let want = brute(&f, delta);
                match (got, want) {
                    (Some(g), Some(w)) => {
                        assert!((g - w).abs() <= 1e-9, "{f:?} Δ={delta}: {g} vs brute {w}");
                        assert!(f.value(g) >= 0.0, "reported time must be at or after the crossing");
                    }
                    (None, None) => {}
                    _ => panic!("{f:?} Δ={delta}: exact {got:?} vs brute {want:?}"),
                }
            }
        }
    }

    #[test]
    fn maximum_matches_a_fine_grid() {
        let f = TwoExp { a: 1.3, b: -0.7, c: 0.0, tau1: 15.0, tau2: 3.75 };
        for delta in [0.3, 2.0, 9.0, 100.0] {
            let (s, v) = f.max_on(delta);
            let grid = (0..=100_000).map(|k| f.value(delta * k as f64 / 1e5)).fold(f64::NEG_INFINITY, f64::max);
            assert!(v >= grid - 1e-15, "exact max {v} below grid max {grid}");
            assert!(v - grid <= 1e-8, "exact max {v} too far above grid max {grid}");
            assert!((0.0..=delta).contains(&s));
        }
    }
}
