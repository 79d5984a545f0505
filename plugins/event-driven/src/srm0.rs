//! SRM0 (Gerstner & Kistler 2002, §4.2), exact and event-driven.
//!
//! ```text
//! u(t) = Σ_f η(t − t̂_f) + Σ_i w_i·ε(t − t_i)
//! ε(s) = c·(e^(−s/τ_m) − e^(−s/τ_s))·H(s)
//! η(s) = −(θ − u_r)·e^(−s/τ_m)·H(s)
//! ```
//!
//! - `c` ([`PspNorm`]): `Peak` → `V0` of [`crate::kernel::PspKernel`] (ε peaks at 1, so a
//!   weight is the PSP's peak in units of V); `Current` → `τ_m/(τ_m − τ_s)` (GK's
//!   normalisation: a weight `w` is the current jump `J` of `iaf_psc_exp` with
//!   `w = J·τ_s/C`).
//! - [`ResetMode::Cumulative`] sums η over every past output spike: with the reset kernel
//!   sharing `τ_m` this is exactly NEST's `iaf_psc_exp` with `E_L = 0`, `V_reset = u_r`,
//!   `V_th = θ` (the reset is a jump of `−(θ − u_r)` that then decays with `τ_m`).
//!   [`ResetMode::LastSpike`] is SRM0 proper: only the last spike's η counts; it needs
//!   `t_ref > 0` (an error otherwise), because a drive above `θ + (θ − u_r)` would put V
//!   back above θ at once after every reset and the model would fire without bound.
//! - `t_ref`: absolute refractory time; no spike in `(t̂, t̂ + t_ref)`, inputs still add.
//!   A spike at the end of the refractory time is emitted if V is then ≥ θ. At most one
//!   spike per instant.
//!
//! State (at the neuron's clock `t`): `u(t + s) = (a + r)·e^(−s/τ_m) + b·e^(−s/τ_s)` for
//! the free evolution; an input of weight `w` adds `w·c` to `a` and `−w·c` to `b`; a spike
//! adds (`Cumulative`) or sets (`LastSpike`) `r = −(θ − u_r)`. Between events the
//! crossing is found by [`crate::segment::TwoExp::first_crossing`] (exact decision, root
//! within `max(1e-12 ms, 4 ulp)`, reported at or after the true crossing).

use crate::error::{Error, Result, finite, finite_time};
use crate::kernel::{PspKernel, ResetKernel};
use crate::segment::{TwoExp, time_tolerance};

/// The PSP normalisation `c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PspNorm {
    /// `c = V0`: the PSP peaks at 1 (the tempotron's kernel).
    #[default]
    Peak,
    /// `c = τ_m/(τ_m − τ_s)` (Gerstner & Kistler).
    Current,
}

/// Which past spikes' reset kernels count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetMode {
    /// All of them (LIF-equivalent, `iaf_psc_exp`).
    #[default]
    Cumulative,
    /// Only the last one (SRM0 proper).
    LastSpike,
}

/// Parameters, with defaults (`Srm0Params::default()`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Srm0Params {
    /// Membrane time constant `τ_m` (ms, default 10).
    pub tau_m: f64,
    /// Synaptic time constant `τ_s` (ms, default 2, ≠ τ_m).
    pub tau_s: f64,
    /// Threshold `θ` (default 1).
    pub theta: f64,
    /// Reset potential `u_r` (default 0, < θ).
    pub u_r: f64,
    /// Absolute refractory time (ms, default 0).
    pub t_ref: f64,
    /// PSP normalisation (default `Peak`).
    pub norm: PspNorm,
    /// Reset mode (default `Cumulative`).
    pub reset: ResetMode,
}

impl Default for Srm0Params {
    fn default() -> Self {
        Self { tau_m: 10.0, tau_s: 2.0, theta: 1.0, u_r: 0.0, t_ref: 0.0, norm: PspNorm::Peak, reset: ResetMode::Cumulative }
    }
}

impl Srm0Params {
    /// The PSP scale `c`, validating the parameters.
    pub fn psp_scale(&self) -> Result<f64> {
        let k = PspKernel::new(self.tau_m, self.tau_s)?;
        ResetKernel::new(self.theta, self.u_r, self.tau_m, self.t_ref)?;
        if self.reset == ResetMode::LastSpike && self.t_ref <= 0.0 {
            // NOTE: with only the last η, an input drive above θ + (θ − u_r) puts V back
            // above θ right after the reset: the model would fire at an unbounded rate.
            return Err(Error::Parameter { name: "t_ref", value: self.t_ref, reason: "must be > 0 with reset = LastSpike (SRM0 proper needs absolute refractoriness)" });
        }
        Ok(match self.norm {
            PspNorm::Peak => k.v0(),
            PspNorm::Current => self.tau_m / (self.tau_m - self.tau_s),
        })
    }

    /// `ε(s)`.
    pub fn epsilon(&self, s: f64) -> Result<f64> {
        let c = self.psp_scale()?;
        Ok(if s >= 0.0 { c * ((-s / self.tau_m).exp() - (-s / self.tau_s).exp()) } else { 0.0 })
    }

    /// The analytic `u(t)` from the definition: every input `(t_i, w_i)` with `t_i ≤ t`
    /// and the reset kernels of `outputs` (all of them with `t̂ ≤ t`, or the last one).
    pub fn potential(&self, inputs: &[(f64, f64)], outputs: &[f64], t: f64) -> Result<f64> {
        let c = self.psp_scale()?;
        let eta = ResetKernel::new(self.theta, self.u_r, self.tau_m, self.t_ref)?;
        let mut u: f64 = inputs.iter().filter(|x| x.0 <= t).map(|&(ti, w)| w * c * ((-(t - ti) / self.tau_m).exp() - (-(t - ti) / self.tau_s).exp())).sum();
        let past = outputs.iter().filter(|&&s| s <= t);
        u += match self.reset {
            ResetMode::Cumulative => past.map(|&s| eta.eval(t - s)).sum(),
            ResetMode::LastSpike => past.last().map_or(0.0, |&s| eta.eval(t - s)),
        };
        Ok(u)
    }

    /// Output spike times for `inputs` (`(time, weight)`, in non-decreasing time order)
    /// on `[0, t_end]`.
    pub fn run(&self, inputs: &[(f64, f64)], t_end: f64) -> Result<Vec<f64>> {
        let mut n = Srm0Neuron::new(*self)?;
        let mut out = Vec::new();
        for &(t, w) in inputs.iter().take_while(|x| x.0 <= t_end) {
            n.receive(t, w, &mut out)?;
        }
        n.advance(t_end, &mut out)?;
        Ok(out)
    }
}

/// The checkpointable state of one neuron.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Srm0State {
    /// The neuron's clock (ms): the state below is at this time.
    pub t: f64,
    /// PSP part with `τ_m`.
    pub a: f64,
    /// Reset part (`τ_m`).
    pub r: f64,
    /// PSP part with `τ_s`.
    pub b: f64,
    /// Last output spike (ms), `−∞` if none.
    pub last_spike: f64,
    /// Output spikes so far.
    pub n_spikes: u64,
}

impl Default for Srm0State {
    fn default() -> Self {
        Self { t: 0.0, a: 0.0, r: 0.0, b: 0.0, last_spike: f64::NEG_INFINITY, n_spikes: 0 }
    }
}

impl Srm0State {
    /// Number of f64 words per neuron in [`Srm0State::pack`].
    pub const WORDS: usize = 5;

    /// Columns for a checkpoint: 5 f64 per neuron (`t, a, r, b, last_spike`) and the spike
    /// counts.
    pub fn pack(states: &[Srm0State]) -> (Vec<f64>, Vec<u64>) {
        let f = states.iter().flat_map(|s| [s.t, s.a, s.r, s.b, s.last_spike]).collect();
        (f, states.iter().map(|s| s.n_spikes).collect())
    }

    /// Inverse of [`Srm0State::pack`]; validates lengths and values.
    pub fn unpack(f: &[f64], counts: &[u64]) -> Result<Vec<Srm0State>> {
        if f.len() != counts.len() * Self::WORDS {
            return Err(Error::Length { what: "srm0 state words", got: f.len(), expected: counts.len() * Self::WORDS });
        }
        f.chunks_exact(Self::WORDS)
            .zip(counts)
            .map(|(w, &n)| {
                let s = Srm0State { t: w[0], a: w[1], r: w[2], b: w[3], last_spike: w[4], n_spikes: n };
                s.validate().map(|_| s)
            })
            .collect()
    }

    /// Checks that the values are finite and the last spike is not after the clock.
    pub fn validate(&self) -> Result<()> {
        finite_time("srm0 clock", self.t)?;
        finite("a", self.a)?;
        finite("r", self.r)?;
        finite("b", self.b)?;
        if self.last_spike.is_nan() || self.last_spike == f64::INFINITY || self.last_spike > self.t {
            return Err(Error::Parameter { name: "last_spike", value: self.last_spike, reason: "must be -inf or a finite time <= t" });
        }
        Ok(())
    }
}

/// The shared part of a population of SRM0 neurons: its parameters and PSP scale. The
/// dynamics are methods on a [`Srm0State`], so a population stores one model and a
/// compact array of states (what the world's event window does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Srm0Model {
    params: Srm0Params,
    c: f64,
}

impl Srm0Model {
    /// Validates the parameters.
    pub fn new(params: Srm0Params) -> Result<Self> {
        Ok(Self { params, c: params.psp_scale()? })
    }

    /// The parameters.
    pub fn params(&self) -> &Srm0Params {
        &self.params
    }

    /// The PSP scale `c` (an input of weight `w` adds `w·c` to `a`, `−w·c` to `b`).
    pub fn psp_scale(&self) -> f64 {
        self.c
    }

    #[inline]
    fn decay_to(&self, s: &mut Srm0State, t: f64) {
        let d = t - s.t;
        if d > 0.0 {
            let em = (-d / self.params.tau_m).exp();
            s.a *= em;
            s.r *= em;
            s.b *= (-d / self.params.tau_s).exp();
            s.t = t;
        }
    }

    /// Free evolution up to `t` (≥ the clock), stopping at the first spike if there is
    /// one (returned; the state is then just after its reset). Without `settle`, a
    /// free evolution that reaches no spike leaves the state where it stopped looking
    /// (a probe's answer is the same, without decaying to a far `t`).
    fn step(&self, st: &mut Srm0State, t: f64, settle: bool) -> Option<f64> {
        loop {
            let start = st.t.max(st.last_spike + self.params.t_ref);
            if start > t {
                if settle {
                    self.decay_to(st, t);
                }
                return None;
            }
            self.decay_to(st, start);
            let f = TwoExp { a: st.a + st.r, b: st.b, c: -self.params.theta, tau1: self.params.tau_m, tau2: self.params.tau_s };
            let Some(s) = f.first_crossing(t - st.t, time_tolerance(t)) else {
                if settle {
                    self.decay_to(st, t);
                }
                return None;
            };
            let ts = (st.t + s).min(t);
            if ts <= st.last_spike {
                // NOTE: at most one spike per instant; look again one ulp later.
                let next = f64::next_up(ts);
                if next > t {
                    return None;
                }
                self.decay_to(st, next);
                continue;
            }
            self.decay_to(st, ts);
            let jump = -(self.params.theta - self.params.u_r);
            match self.params.reset {
                ResetMode::Cumulative => st.r += jump,
                ResetMode::LastSpike => st.r = jump,
            }
            st.last_spike = ts;
            st.n_spikes += 1;
            return Some(ts);
        }
    }

    /// Free evolution of `st` to `t` (finite, ≥ its clock): every output spike in
    /// `[clock, t]` is appended to `out`.
    pub fn advance(&self, st: &mut Srm0State, t: f64, out: &mut Vec<f64>) -> Result<()> {
        let t = finite_time("srm0 advance", t)?;
        if t < st.t {
            return Err(Error::OutOfOrder { what: "srm0 advance", value: t, previous: st.t });
        }
        while let Some(s) = self.step(st, t, true) {
            out.push(s);
        }
        Ok(())
    }

    /// An input of weight `w` at `t`: evolves to `t` (spikes into `out`), then adds it.
    pub fn receive(&self, st: &mut Srm0State, t: f64, w: f64, out: &mut Vec<f64>) -> Result<()> {
        let w = finite("weight", w)?;
        self.advance(st, t, out)?;
        st.a += w * self.c;
        st.b -= w * self.c;
        Ok(())
    }

    /// [`Srm0Model::receive`] for a state whose free evolution is known not to reach θ
    /// before `quiet_until` (its [`Srm0Model::next_spike`], or `+∞` for none): an input
    /// earlier than that by more than [`QUIET_MARGIN_MS`] only decays the state (the same
    /// operations, so the same bits, as `receive` finding no crossing); a later one takes
    /// the full path.
    #[inline]
    pub fn receive_quiet(&self, st: &mut Srm0State, quiet_until: f64, t: f64, w: f64, out: &mut Vec<f64>) -> Result<()> {
        if !(t + QUIET_MARGIN_MS < quiet_until && t >= st.t && w.is_finite()) {
            return self.receive(st, t, w, out);
        }
        let start = st.t.max(st.last_spike + self.params.t_ref);
        if start <= t {
            self.decay_to(st, start);
        }
        self.decay_to(st, t);
        st.a += w * self.c;
        st.b -= w * self.c;
        Ok(())
    }

    /// When `st` would spike next if no input arrived before `t_limit` (may be `+∞`):
    /// what a scheduler puts in its queue. The state is not changed.
    #[inline]
    pub fn next_spike(&self, st: &Srm0State, t_limit: f64) -> Option<f64> {
        if t_limit.is_nan() || t_limit < st.t {
            return None;
        }
        // The free evolution from now bounds every later part of it (a refractory start
        // included), so a bound below θ answers as the search would: no crossing.
        let f = TwoExp { a: st.a + st.r, b: st.b, c: -self.params.theta, tau1: self.params.tau_m, tau2: self.params.tau_s };
        if f.sup_bound() < 0.0 {
            return None;
        }
        let mut probe = *st;
        self.step(&mut probe, t_limit, false)
    }
}

/// How far before its predicted crossing an input still takes
/// [`Srm0Model::receive_quiet`]'s short path (ms): far above the crossing's tolerance,
/// so a crossing the prediction placed a few ulp late is still found by the full path.
pub const QUIET_MARGIN_MS: f64 = 1e-6;

/// One SRM0 neuron driven by time-ordered input events (what a scheduler drives).
#[derive(Debug, Clone, PartialEq)]
pub struct Srm0Neuron {
    model: Srm0Model,
    state: Srm0State,
}

impl Srm0Neuron {
    /// A neuron at rest at time 0.
    pub fn new(params: Srm0Params) -> Result<Self> {
        Self::from_state(params, Srm0State::default())
    }

    /// A neuron resumed from a checkpointed state.
    pub fn from_state(params: Srm0Params, state: Srm0State) -> Result<Self> {
        let model = Srm0Model::new(params)?;
        state.validate()?;
        Ok(Self { model, state })
    }

    /// The state (for checkpoints).
    pub fn state(&self) -> Srm0State {
        self.state
    }

    /// The parameters.
    pub fn params(&self) -> &Srm0Params {
        &self.model.params
    }

    /// `u` at the neuron's clock.
    pub fn potential(&self) -> f64 {
        self.state.a + self.state.r + self.state.b
    }

    /// Free evolution to `t` (finite, ≥ the clock): every output spike in `[clock, t]` is
    /// appended to `out`.
    pub fn advance(&mut self, t: f64, out: &mut Vec<f64>) -> Result<()> {
        self.model.advance(&mut self.state, t, out)
    }

    /// An input of weight `w` at `t`: evolves to `t` (spikes into `out`), then adds it.
    pub fn receive(&mut self, t: f64, w: f64, out: &mut Vec<f64>) -> Result<()> {
        self.model.receive(&mut self.state, t, w, out)
    }

    /// When the neuron would spike next if no input arrived before `t_limit` (may be
    /// `+∞`): what a scheduler puts in its queue. The neuron is not changed.
    pub fn next_spike(&self, t_limit: f64) -> Option<f64> {
        self.model.next_spike(&self.state, t_limit)
    }
}
