//! SpikingFlow's `event_driven.encoding.GaussianTuning` (Bohte et al. 2002 receptive
//! fields), one spike per (value, tuning neuron).
//!
//! For feature `i` with range `[x_min_i, x_max_i]` and `m > 2` neurons `j = 1..m`:
//!
//! ```text
//! μ_ij = x_min_i + ((2j − 3)/2)·(x_max_i − x_min_i)/(m − 2)
//! σ_i  = (1/β)·(x_max_i − x_min_i)/(m − 2),     β = 1.5
//! g_ij(x) = exp(−(x − μ_ij)² / (2σ_i²))
//! t_ij = round_ties_even(T·(1 − g_ij(x)))         (T = max_spike_time, default 50 ms)
//! ```
//!
//! and `t_ij ≥ T` means no spike (the seed's `−1`). `torch.round` rounds half to even,
//! hence `f64::round_ties_even`. With `round = false` the real time `T·(1 − g)` is kept
//! (an event-driven target can use it exactly).

use crate::error::{Error, Result, finite, positive};

/// SpikingFlow's `β`.
pub const BETA: f64 = 1.5;

/// The tuning curves of `n` features, `m` neurons each.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianTuning {
    n: usize,
    m: usize,
    mu: Vec<f64>,
    sigma: Vec<f64>,
}

impl GaussianTuning {
    /// `m > 2` neurons per feature; one `(x_min, x_max)` per feature with `x_max > x_min`.
    pub fn new(m: usize, x_min: &[f64], x_max: &[f64]) -> Result<Self> {
        if m <= 2 {
            return Err(Error::Parameter { name: "m", value: m as f64, reason: "must be > 2" });
        }
        if x_min.len() != x_max.len() {
            return Err(Error::Length { what: "x_max", got: x_max.len(), expected: x_min.len() });
        }
        let mut mu = Vec::with_capacity(x_min.len() * m);
        let mut sigma = Vec::with_capacity(x_min.len());
        for (&lo, &hi) in x_min.iter().zip(x_max) {
            let lo = finite("x_min", lo)?;
            let range = positive("x_max - x_min", finite("x_max", hi)? - lo)?;
            let step = range / (m - 2) as f64;
            mu.extend((1..=m).map(|j| lo + (2.0 * j as f64 - 3.0) / 2.0 * step));
            sigma.push(step / BETA);
        }
        Ok(Self { n: x_min.len(), m, mu, sigma })
    }

    /// Number of features `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Neurons per feature `m`.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Centre `μ_ij` (`j` from 0).
    pub fn mu(&self, i: usize, j: usize) -> f64 {
        self.mu[i * self.m + j]
    }

    /// Width `σ_i`.
    pub fn sigma(&self, i: usize) -> f64 {
        self.sigma[i]
    }

    /// Spike times for `x` laid out `[n][k]` (k values per feature): output `[n][k][m]`,
    /// `None` = no spike. `max_spike_time` T (ms, > 0); `round` as the seed.
    pub fn encode(&self, x: &[f64], max_spike_time: f64, round: bool) -> Result<Vec<Option<f64>>> {
        let t_max = positive("max_spike_time", max_spike_time)?;
        if self.n == 0 || x.len() % self.n != 0 {
            return Err(Error::Length { what: "x (n features × k values)", got: x.len(), expected: self.n.max(1) * (x.len() / self.n.max(1)).max(1) });
        }
        let k = x.len() / self.n;
        let mut out = Vec::with_capacity(x.len() * self.m);
        for (idx, &v) in x.iter().enumerate() {
            let v = finite("x", v)?;
            let i = idx / k;
            let s2 = self.sigma[i] * self.sigma[i];
            for j in 0..self.m {
                let d = v - self.mu[i * self.m + j];
                let g = (-(d * d) / 2.0 / s2).exp();
                out.push(spike_time(g, t_max, round));
            }
        }
        Ok(out)
    }
}

/// `T·(1 − g)` (rounded half to even if `round`), `None` when it is ≥ T.
pub fn spike_time(g: f64, max_spike_time: f64, round: bool) -> Option<f64> {
    let t = max_spike_time * (1.0 - g);
    let t = if round { t.round_ties_even() } else { t };
    if t >= max_spike_time { None } else { Some(t) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_example() {
        // m = 4 on [0, 1]: step 1/2, centres −0.25, 0.25, 0.75, 1.25, σ = 1/3.
        let g = GaussianTuning::new(4, &[0.0], &[1.0]).unwrap();
        for (j, mu) in [-0.25, 0.25, 0.75, 1.25].into_iter().enumerate() {
            assert!((g.mu(0, j) - mu).abs() < 1e-15);
        }
        assert!((g.sigma(0) - 1.0 / 3.0).abs() < 1e-15);
        let t = g.encode(&[0.25, 0.5], 50.0, true).unwrap();
        // x = 0.25: g = e^{-0.5²·4.5} = e^{-1.125}, 1, e^{-1.125}, e^{-4.5}
        let a = 50.0 * (1.0 - (-1.125f64).exp()); // 33.76...
        let b = 50.0 * (1.0 - (-4.5f64).exp()); // 49.44...
        assert_eq!(t[..4], [Some(a.round()), Some(0.0), Some(a.round()), Some(b.round())]);
        // x = 0.5: g = e^{-0.125·... } = e^{-(0.75)²·4.5}, e^{-0.25²·4.5} twice, e^{-0.75²·4.5}
        let c = (50.0 * (1.0 - (-0.28125f64).exp())).round();
        let d = (50.0 * (1.0 - (-2.53125f64).exp())).round();
        assert_eq!(t[4..], [Some(d), Some(c), Some(c), Some(d)]);
        let exact = g.encode(&[0.25], 50.0, false).unwrap();
        assert_eq!(exact[0], Some(a));
        // far away: g underflows to 0 → t = T → no spike
        assert_eq!(g.encode(&[100.0], 50.0, true).unwrap(), vec![None; 4]);
    }

    #[test]
    fn rounds_half_to_even_like_torch() {
        // T·(1 − g) exactly 2.5 and 3.5: torch.round gives 2 and 4 (f64::round would give 3).
        assert_eq!(spike_time(0.5, 5.0, true), Some(2.0));
        assert_eq!(spike_time(0.5, 7.0, true), Some(4.0));
        assert_eq!(spike_time(0.5, 5.0, false), Some(2.5));
        assert_eq!(spike_time(0.0, 5.0, true), None);
        assert_eq!(spike_time(0.05, 5.0, true), None, "4.75 rounds to 5 = T: no spike");
        assert!(GaussianTuning::new(2, &[0.0], &[1.0]).is_err());
        assert!(GaussianTuning::new(3, &[1.0], &[1.0]).is_err());
        assert!(GaussianTuning::new(3, &[0.0], &[1.0]).unwrap().encode(&[f64::NAN], 5.0, true).is_err());
    }
}
