//! Kernels of the spike response model: the tempotron/SRM PSP kernel and SRM0's reset.
//!
//! PSP kernel (Gütig & Sompolinsky 2006; SpikingFlow `event_driven.neuron.Tempotron`):
//!
//! ```text
//! K(s) = V0·(e^(−s/τ) − e^(−s/τ_s))   for s ≥ 0,   0 for s < 0
//! t_peak = τ·τ_s·ln(τ/τ_s) / (τ − τ_s)
//! V0 = 1 / (e^(−t_peak/τ) − e^(−t_peak/τ_s))        (peak value 1)
//! ```
//!
//! The seed's SpikingFlow version computed `v_th / exp(−t_peak/τ) − exp(−t_peak/τ_s)`
//! (operator precedence; fixed upstream in spikingjelly 31e40e63): for the defaults its
//! `v0` is 1.4299 instead of 2.1165 and its kernel peaks at 0.6756. [`seed_v0`] gives that
//! value for comparisons; [`PspKernel`] uses the fixed formula.
//!
//! `τ = τ_s` (the alpha-function limit) is rejected with an error, and so is any pair with
//! `|τ − τ_s| < 1e-9·max(τ, τ_s)`, where `V0` loses all its digits to cancellation.
//! `τ < τ_s` is allowed: the formula is symmetric in the two and still peaks at 1.
//!
//! Reset kernel of SRM0 in its LIF-equivalent form (notes §4.1 (b)):
//!
//! ```text
//! η(s) = −(θ − u_r)·e^(−s/τ_m)   for s ≥ 0,   0 for s < 0
//! ```
//!
//! plus an optional absolute refractory time `t_ref` during which no spike is emitted
//! (inputs still add). Summed over all past spikes it makes SRM0 exactly `iaf_psc_exp`.

use crate::error::{Error, Result, finite, positive};

/// The normalised PSP kernel `K`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PspKernel {
    tau: f64,
    tau_s: f64,
    v0: f64,
    t_peak: f64,
}

/// Peak time `τ·τ_s·ln(τ/τ_s)/(τ − τ_s)` of `e^(−s/τ) − e^(−s/τ_s)` (ms).
pub fn peak_time(tau: f64, tau_s: f64) -> f64 {
    tau * tau_s * (tau / tau_s).ln() / (tau - tau_s)
}

/// The seed's (buggy) `v0 = v_th / exp(−t_peak/τ) − exp(−t_peak/τ_s)`, for comparisons.
pub fn seed_v0(tau: f64, tau_s: f64, v_threshold: f64) -> f64 {
    let t = peak_time(tau, tau_s);
    v_threshold / (-t / tau).exp() - (-t / tau_s).exp()
}

impl PspKernel {
    /// SpikingFlow's defaults: `τ = 15 ms`, `τ_s = 3.75 ms`.
    pub fn spikingflow() -> Self {
        Self::new(15.0, 15.0 / 4.0).expect("valid defaults")
    }

    /// The kernel for `tau`, `tau_s` (ms, finite, > 0, not (nearly) equal).
    pub fn new(tau: f64, tau_s: f64) -> Result<Self> {
        let tau = positive("tau", tau)?;
        let tau_s = positive("tau_s", tau_s)?;
        if (tau - tau_s).abs() < 1e-9 * tau.max(tau_s) {
            return Err(Error::Parameter { name: "tau_s", value: tau_s, reason: "must differ from the membrane time constant tau_m (the alpha-function limit τ_m = τ_s is not supported)" });
        }
        let t_peak = peak_time(tau, tau_s);
        let v0 = 1.0 / ((-t_peak / tau).exp() - (-t_peak / tau_s).exp());
        Ok(Self { tau, tau_s, v0, t_peak })
    }

    /// `K(s)`.
    #[inline]
    pub fn eval(&self, s: f64) -> f64 {
        if s >= 0.0 { self.v0 * ((-s / self.tau).exp() - (-s / self.tau_s).exp()) } else { 0.0 }
    }

    /// The normalisation `V0`.
    pub fn v0(&self) -> f64 {
        self.v0
    }

    /// The analytic peak time (ms).
    pub fn peak_time(&self) -> f64 {
        self.t_peak
    }

    /// Membrane time constant `τ` (ms).
    pub fn tau(&self) -> f64 {
        self.tau
    }

    /// Synaptic time constant `τ_s` (ms).
    pub fn tau_s(&self) -> f64 {
        self.tau_s
    }
}

/// SRM0's reset kernel `η(s) = −(θ − u_r)·e^(−s/τ_m)` and absolute refractory time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResetKernel {
    /// Threshold `θ`.
    pub theta: f64,
    /// Reset potential `u_r` (< θ).
    pub u_r: f64,
    /// Membrane time constant `τ_m` (ms).
    pub tau_m: f64,
    /// Absolute refractory time (ms, ≥ 0): no spike in `(t̂, t̂ + t_ref)`.
    pub t_ref: f64,
}

impl ResetKernel {
    /// Validated kernel: `θ`, `u_r` finite with `u_r < θ`, `τ_m > 0`, `t_ref ≥ 0`.
    pub fn new(theta: f64, u_r: f64, tau_m: f64, t_ref: f64) -> Result<Self> {
        let theta = finite("theta", theta)?;
        let u_r = finite("u_r", u_r)?;
        if u_r >= theta {
            return Err(Error::Parameter { name: "u_r", value: u_r, reason: "must be below theta" });
        }
        let tau_m = positive("tau_m", tau_m)?;
        if !(t_ref.is_finite() && t_ref >= 0.0) {
            return Err(Error::Parameter { name: "t_ref", value: t_ref, reason: "must be finite and >= 0" });
        }
        Ok(Self { theta, u_r, tau_m, t_ref })
    }

    /// `η(s)`.
    #[inline]
    pub fn eval(&self, s: f64) -> f64 {
        if s >= 0.0 { -(self.theta - self.u_r) * (-s / self.tau_m).exp() } else { 0.0 }
    }

    /// Whether a spike at `t` is allowed after a spike at `t_hat`.
    pub fn allows_spike(&self, t_hat: f64, t: f64) -> bool {
        t - t_hat >= self.t_ref
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_one_at_the_analytic_peak_time() {
        for (tau, tau_s) in [(15.0, 3.75), (10.0, 2.0), (20.0, 5.0), (2.0, 10.0)] {
            let k = PspKernel::new(tau, tau_s).unwrap();
            let tp = k.peak_time();
            assert!((k.eval(tp) - 1.0).abs() <= 1e-14, "K(t_peak) = {}", k.eval(tp));
            for d in [1e-3, 1e-2, 0.1, 1.0] {
                assert!(k.eval(tp - d) < k.eval(tp) && k.eval(tp + d) < k.eval(tp), "not a maximum at ±{d}");
            }
            // the peak found by a fine grid lies at t_peak (grid step 1e-4 ms)
            let (mut best, mut at) = (f64::NEG_INFINITY, 0.0);
            for i in 0..400_000 {
                let s = i as f64 * 1e-4;
                if k.eval(s) > best {
                    (best, at) = (k.eval(s), s);
                }
            }
            assert!((at - tp).abs() <= 1e-4, "grid peak {at} vs analytic {tp}");
            assert_eq!(k.eval(0.0), 0.0);
            assert_eq!(k.eval(-1.0), 0.0);
        }
    }

    #[test]
    fn spikingflow_defaults_and_the_seed_bug() {
        let k = PspKernel::spikingflow();
        assert!((k.peak_time() - 5.0 * 4f64.ln()).abs() < 1e-14);
        assert!((k.v0() - 2.116534735957599).abs() < 1e-14, "{}", k.v0());
        let seed = seed_v0(15.0, 3.75, 1.0);
        assert!((seed - 1.4299109207313403).abs() < 1e-14, "{seed}");
        let seed_peak = seed / k.v0();
        assert!((seed_peak - 0.6756).abs() < 1e-4, "{seed_peak}");
    }

    #[test]
    fn equal_time_constants_are_rejected() {
        assert!(PspKernel::new(5.0, 5.0).is_err());
        assert!(PspKernel::new(5.0, 5.0 * (1.0 + 1e-12)).is_err());
        assert!(PspKernel::new(0.0, 1.0).is_err());
        assert!(PspKernel::new(f64::NAN, 1.0).is_err());
    }

    #[test]
    fn reset_kernel() {
        let r = ResetKernel::new(1.0, 0.2, 10.0, 2.0).unwrap();
        assert_eq!(r.eval(-0.1), 0.0);
        assert!((r.eval(0.0) + 0.8).abs() < 1e-15);
        assert!((r.eval(10.0) + 0.8 * (-1f64).exp()).abs() < 1e-15);
        assert!(!r.allows_spike(5.0, 6.9) && r.allows_spike(5.0, 7.0));
        assert!(ResetKernel::new(1.0, 1.0, 10.0, 0.0).is_err());
        assert!(ResetKernel::new(1.0, 0.0, 10.0, -1.0).is_err());
    }
}
