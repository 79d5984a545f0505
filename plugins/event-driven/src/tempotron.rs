//! The tempotron (Gütig & Sompolinsky 2006) without a time grid.
//!
//! ```text
//! V(t) = Σ_i w_{a(i)}·K(t − t_i)          (V_rest = 0, K from `kernel`)
//! ```
//!
//! over the input spikes `t_i` of a [`Pattern`] (afferent `a(i)`), on the window `[0, T]`.
//!
//! - **First crossing**: the first `t` with `V(t) ≥ θ`, exact up to the tolerance of
//!   [`crate::segment`] (the reported time has `V ≥ θ`, the true one is at most
//!   `max(1e-12 ms, 4 ulp)` earlier).
//! - **Shunting**: after the crossing `t_spike` the inputs are shunted (inputs with
//!   `t_i ≥ t_spike` do not count) and V decays freely; the neuron fires at most once.
//!   The shunted potential is `V_sh(t) = Σ_{t_i < t_spike} w_{a(i)}·K(t − t_i)`.
//! - **V_max**: the exact maximum of `V_sh` on `[0, T]` and the earliest time `t_max`
//!   where it is reached. Between two inputs V is `A·e^(−s/τ) + B·e^(−s/τ_s)`, whose only
//!   extremum is in closed form, so V_max is the largest of at most `2·n + 2` closed-form
//!   candidates: O(n) per pattern instead of the seed's O(n·T) grid. Up to the crossing
//!   `V_sh = V`, so `V_max ≥ θ` iff the unshunted V crosses θ in `[0, T]`: the decision is
//!   the seed's, but the value may be larger (the grid samples only integer times).
//! - **Learning rule** (GS): on a `+` pattern without a spike (miss)
//!   `Δw_a = +λ·Σ_{i: a(i)=a, t_i < t_max} K(t_max − t_i)`, on a `−` pattern with a spike
//!   (false alarm) the same with `−λ`, otherwise nothing. The sum is over the inputs that
//!   count in `V_sh` (shunted ones never touched V), which makes it exactly
//!   `∂V_max/∂w_a` (envelope theorem: `∂V/∂t = 0` at an interior `t_max`, and the shunted
//!   set is locally constant in `w`).

use crate::error::{Error, Result, finite, positive};
use crate::kernel::PspKernel;
use crate::segment::{TwoExp, time_tolerance};

/// One input spike: afferent `afferent` fires at `time` (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spike {
    /// Time (ms, finite, ≥ 0).
    pub time: f64,
    /// Index of the afferent.
    pub afferent: u32,
}

/// The input spikes of one sample, sorted by (time, afferent).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    spikes: Vec<Spike>,
    n_afferents: usize,
}

impl Pattern {
    /// Validates (finite times ≥ 0, afferents `< n_afferents`) and sorts `spikes`.
    pub fn new(mut spikes: Vec<Spike>, n_afferents: usize) -> Result<Self> {
        for s in &mut spikes {
            s.time = crate::error::finite_time("input spike", s.time)?;
            if s.time < 0.0 {
                return Err(Error::Parameter { name: "spike time", value: s.time, reason: "must be >= 0" });
            }
            if s.afferent as usize >= n_afferents {
                return Err(Error::Index { what: "afferent", index: s.afferent as usize, size: n_afferents });
            }
        }
        spikes.sort_unstable_by(|x, y| x.time.total_cmp(&y.time).then(x.afferent.cmp(&y.afferent)));
        Ok(Self { spikes, n_afferents })
    }

    /// The spikes in time order.
    pub fn spikes(&self) -> &[Spike] {
        &self.spikes
    }

    /// Number of afferents (the length of a weight vector).
    pub fn n_afferents(&self) -> usize {
        self.n_afferents
    }
}

/// The result of an exact V_max scan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VMax {
    /// `max_{t ∈ [0, T]} V_sh(t)`.
    pub v_max: f64,
    /// The earliest time it is reached (ms).
    pub t_max: f64,
    /// The threshold crossing (the output spike), if any.
    pub t_spike: Option<f64>,
    /// How many leading spikes of the pattern count in `V_sh` (those before `t_spike`).
    pub n_counted: usize,
}

impl VMax {
    /// Whether the neuron fired (`V_max ≥ θ`).
    pub fn fired(&self) -> bool {
        self.t_spike.is_some()
    }
}

/// One tempotron's parameters (the weights are passed to each call).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tempotron {
    kernel: PspKernel,
    theta: f64,
    t_end: f64,
}

impl Tempotron {
    /// `tau` (default 15 ms), `tau_s` (3.75 ms), threshold `theta` (1, > 0), window
    /// `t_end` = T (ms, > 0).
    pub fn new(tau: f64, tau_s: f64, theta: f64, t_end: f64) -> Result<Self> {
        let kernel = PspKernel::new(tau, tau_s)?;
        let theta = positive("theta", theta)?;
        let t_end = positive("t_end", t_end)?;
        Ok(Self { kernel, theta, t_end })
    }

    /// The PSP kernel.
    pub fn kernel(&self) -> &PspKernel {
        &self.kernel
    }

    /// The threshold θ.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// The window T (ms).
    pub fn t_end(&self) -> f64 {
        self.t_end
    }

    fn check(&self, p: &Pattern, w: &[f64]) -> Result<()> {
        if w.len() != p.n_afferents {
            return Err(Error::Length { what: "weights", got: w.len(), expected: p.n_afferents });
        }
        Ok(())
    }

    /// Unshunted `V(t) = Σ_{t_i ≤ t} w·K(t − t_i)` (O(n)).
    pub fn potential(&self, p: &Pattern, w: &[f64], t: f64) -> Result<f64> {
        self.check(p, w)?;
        let t = finite("t", t)?;
        Ok(p.spikes.iter().take_while(|s| s.time <= t).map(|s| w[s.afferent as usize] * self.kernel.eval(t - s.time)).sum())
    }

    /// Shunted `V_sh(t)`: only the first `vm.n_counted` spikes count.
    pub fn potential_shunted(&self, p: &Pattern, w: &[f64], vm: &VMax, t: f64) -> Result<f64> {
        self.check(p, w)?;
        Ok(p.spikes[..vm.n_counted.min(p.spikes.len())].iter().map(|s| w[s.afferent as usize] * self.kernel.eval(t - s.time)).sum())
    }

    /// The exact V_max scan with shunting (see the module docs).
    pub fn v_max(&self, p: &Pattern, w: &[f64]) -> Result<VMax> {
        self.check(p, w)?;
        let (tau, tau_s, v0) = (self.kernel.tau(), self.kernel.tau_s(), self.kernel.v0());
        let (mut a, mut b, mut t_cur) = (0.0f64, 0.0f64, 0.0f64);
        let (mut v_best, mut t_best) = (0.0f64, 0.0f64);
        let mut t_spike = None;
        let mut n_counted = 0;
        for s in &p.spikes {
            if s.time > self.t_end {
                break;
            }
            let delta = s.time - t_cur;
            let seg = TwoExp { a, b, c: 0.0, tau1: tau, tau2: tau_s };
            let (sm, vm) = seg.max_on(delta);
            if vm > v_best {
                (v_best, t_best) = (vm, t_cur + sm);
            }
            // NOTE: V(t_cur) < θ (else the previous piece crossed), so V crosses θ on this
            // piece iff its maximum reaches θ: the root search runs only then.
            if vm >= self.theta {
                let above = TwoExp { c: -self.theta, ..seg };
                if let Some(sc) = above.first_crossing(delta, time_tolerance(s.time)) {
                    t_spike = Some(t_cur + sc);
                    break; // shunted: this and later inputs do not count
                }
            }
            a = a * (-delta / tau).exp() + w[s.afferent as usize] * v0;
            b = b * (-delta / tau_s).exp() - w[s.afferent as usize] * v0;
            t_cur = s.time;
            n_counted += 1;
        }
        // The last piece, up to T, is free (no input counts any more).
        let delta = self.t_end - t_cur;
        let seg = TwoExp { a, b, c: 0.0, tau1: tau, tau2: tau_s };
        let (sm, vm) = seg.max_on(delta);
        if vm > v_best {
            (v_best, t_best) = (vm, t_cur + sm);
        }
        if t_spike.is_none() {
            let above = TwoExp { c: -self.theta, ..seg };
            t_spike = above.first_crossing(delta, time_tolerance(self.t_end)).map(|sc| t_cur + sc);
        }
        Ok(VMax { v_max: v_best, t_max: t_best, t_spike, n_counted })
    }

    /// The first threshold crossing in `[0, T]`, if any.
    pub fn first_crossing(&self, p: &Pattern, w: &[f64]) -> Result<Option<f64>> {
        Ok(self.v_max(p, w)?.t_spike)
    }

    /// `∂V_max/∂w_a = Σ_{counted i: a(i)=a} K(t_max − t_i)` into `out` (overwritten).
    pub fn kernel_sums(&self, p: &Pattern, vm: &VMax, out: &mut [f64]) -> Result<()> {
        if out.len() != p.n_afferents {
            return Err(Error::Length { what: "kernel sums", got: out.len(), expected: p.n_afferents });
        }
        out.fill(0.0);
        for s in p.spikes[..vm.n_counted.min(p.spikes.len())].iter().take_while(|s| s.time < vm.t_max) {
            out[s.afferent as usize] += self.kernel.eval(vm.t_max - s.time);
        }
        Ok(())
    }

    /// The GS rule's sign for a pattern labelled `label` (true = should fire): `+1` on a
    /// miss, `−1` on a false alarm, `0` when correct.
    pub fn gs_sign(vm: &VMax, label: bool) -> f64 {
        match (label, vm.fired()) {
            (true, false) => 1.0,
            (false, true) => -1.0,
            _ => 0.0,
        }
    }

    /// The GS update `Δw` (into `dw`, overwritten) for one pattern; returns whether the
    /// pattern was classified correctly (then `dw` is all zeros).
    pub fn gs_delta(&self, p: &Pattern, w: &[f64], label: bool, lr: f64, dw: &mut [f64]) -> Result<bool> {
        let vm = self.v_max(p, w)?;
        let sign = Self::gs_sign(&vm, label);
        if sign == 0.0 {
            if dw.len() != p.n_afferents {
                return Err(Error::Length { what: "dw", got: dw.len(), expected: p.n_afferents });
            }
            dw.fill(0.0);
            return Ok(true);
        }
        self.kernel_sums(p, &vm, dw)?;
        for d in dw.iter_mut() {
            *d *= sign * lr;
        }
        Ok(false)
    }
}

/// SpikingFlow's `Tempotron.mse_loss` (the fixed `num_classes` version):
/// `L = (1/B)·Σ_b Σ_j wrong[b,j]·(V_max[b,j] − θ)²` with
/// `wrong[b,j] = [V_max[b,j] ≥ θ] ≠ [label_b = j]`. `v_max` is `[B, J]` row-major.
pub fn mse_loss(v_max: &[f64], labels: &[usize], num_classes: usize, theta: f64) -> Result<f64> {
    if v_max.len() != labels.len() * num_classes {
        return Err(Error::Length { what: "v_max", got: v_max.len(), expected: labels.len() * num_classes });
    }
    if labels.is_empty() {
        return Ok(0.0);
    }
    let mut sum = 0.0;
    for (b, &l) in labels.iter().enumerate() {
        if l >= num_classes {
            return Err(Error::Index { what: "label", index: l, size: num_classes });
        }
        for j in 0..num_classes {
            let v = v_max[b * num_classes + j];
            if (v >= theta) != (l == j) {
                sum += (v - theta) * (v - theta);
            }
        }
    }
    Ok(sum / labels.len() as f64)
}

/// `mse_loss` of a layer of `J = weights.len()` tempotrons on `patterns`, and its gradient
/// `∂L/∂w[j][a] = (2/B)·Σ_b wrong[b,j]·(V_max[b,j] − θ)·∂V_max[b,j]/∂w[j][a]`.
pub fn mse_loss_and_grad<P: std::borrow::Borrow<Pattern>>(t: &Tempotron, patterns: &[P], labels: &[usize], weights: &[Vec<f64>]) -> Result<(f64, Vec<Vec<f64>>)> {
    if patterns.len() != labels.len() {
        return Err(Error::Length { what: "labels", got: labels.len(), expected: patterns.len() });
    }
    let j_n = weights.len();
    let mut v = Vec::with_capacity(patterns.len() * j_n);
    let mut grad: Vec<Vec<f64>> = weights.iter().map(|w| vec![0.0; w.len()]).collect();
    let scale = 2.0 / patterns.len().max(1) as f64;
    for (p, &l) in patterns.iter().zip(labels) {
        let p = p.borrow();
        for (j, w) in weights.iter().enumerate() {
            let vm = t.v_max(p, w)?;
            v.push(vm.v_max);
            if l < j_n && (vm.v_max >= t.theta) != (l == j) {
                let mut ks = vec![0.0; w.len()];
                t.kernel_sums(p, &vm, &mut ks)?;
                for (g, k) in grad[j].iter_mut().zip(ks) {
                    *g += scale * (vm.v_max - t.theta) * k;
                }
            }
        }
    }
    Ok((mse_loss(&v, labels, j_n, t.theta)?, grad))
}
