//! SPAIC's unsupervised STDP learners (`spaic/Learning/STDP_Learner.py`, `Conv_STDP.py`,
//! zju-bmi-lab/SPAIC): `nearest_online_stdp`, `full_online_stdp`,
//! `meta_nearest_online_stdp`, `postpre_int_stdp`, `conv2d_stdp`. The README gives each
//! rule's equations in SPAIC's order, its keys and its deviations.
//!
//! # Timing
//! SPAIC's learner in its step `k` consumes the spikes emitted in step `k-1` (and delivers
//! them with the weights from before step `k`'s learner). Our rule at step `t` consumes the
//! spikes of step `t`, so our step `t` is SPAIC's learner step `t+1`: the weights used for
//! transmission are then the same. SPAIC's learner step 0 sees no spike at all; the rules
//! that do something in it (the normalisation of `nearest_online_stdp`, the clamp of
//! `full_online_stdp`, the rescale of `meta_nearest_online_stdp`) run it at our step 0,
//! before the step itself. `postpre_int_stdp` reads SPAIC's `O[updated]` (the spikes of
//! its own step), so its step `k` is our step `k`.
//!
//! SPAIC's "one-step lag" (the `dw` or eligibility computed in a step applied in the next)
//! is kept: the pending value is part of the rule's state (checkpointed). With delays, a
//! presynaptic spike counts when it reaches the synapse and a synapse reads the traces
//! of the side its delay lies on `d` steps back (`delay = "axonal"` or `"dendritic"`).
//!
//! SPAIC works in f32; these rules compute in f64. SPAIC resets traces and pending `dw` at
//! each `run()` (one per sample); a spikeworld run is one continuous run, with no reset.
//! Batch size 1.

use spikeworld::net::plastic::{PlasticStep, SynapseEvents, TraceRing};
use spikeworld::prelude::*;

use crate::TargetRange;

pub mod conv;
pub mod meta;
pub mod online;
pub mod postpre_int;

/// `exp(-1/20)`: SPAIC's default per-step trace decay (`np.exp(-1/20)`).
pub const EXP_M1_20: f64 = 0.951229424500714;
/// `exp(-1/30)`: `meta_nearest_online_stdp`'s default `pre_decay`.
pub const EXP_M1_30: f64 = 0.9672161004820059;
/// `exp(-1/200)`: `meta_nearest_online_stdp`'s default `post_decay`.
pub const EXP_M1_200: f64 = 0.9950124791926823;

/// Advances `ring` one step and sets each neuron's value to `f(old value, spike)` (spike 0
/// or 1), `spikes` being the indices of the neurons that spiked.
pub(crate) fn update_trace(ring: &mut TraceRing, spikes: impl Iterator<Item = usize>, mark: &mut Vec<f64>, f: impl Fn(f64, f64) -> f64) {
    ring.advance();
    mark.clear();
    mark.resize(ring.len(), 0.0);
    for i in spikes {
        mark[i] = 1.0;
    }
    for (v, &s) in ring.now_mut().iter_mut().zip(mark.iter()) {
        *v = f(*v, s);
    }
}

/// This step's spikes of the source's selection (relative) and of the target selection
/// (relative).
pub(crate) fn spikes<'s>(s: &'s PlasticStep<'_>, range: TargetRange) -> (impl Iterator<Item = usize> + 's, impl Iterator<Item = usize> + 's) {
    let (a, b) = (s.table.src_start, s.table.src_end);
    (s.pre_now.iter().filter(move |&&i| i >= a && i < b).map(move |&i| (i - a) as usize), s.post_now.iter().filter_map(move |&j| range.rel(j)))
}

/// A per-synapse value built from this step's events, kept sparse: the synapses an event
/// reached, in the order they were first reached.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pending {
    val: Vec<f64>,
    hit: Vec<bool>,
    list: Vec<u32>,
}

impl Pending {
    pub(crate) fn new(n: usize) -> Self {
        Pending { val: vec![0.0; n], hit: vec![false; n], list: Vec::new() }
    }
    /// `v` at `k` (the first term of the value: post events come first).
    #[inline]
    pub(crate) fn set(&mut self, k: usize, v: f64) {
        debug_assert!(!self.hit[k], "one postsynaptic event per synapse and step");
        self.hit[k] = true;
        self.val[k] = v;
        self.list.push(k as u32);
    }
    /// `value - v` at `k` (0 - v if nothing was set: SPAIC's `pre_post - post_pre`).
    #[inline]
    pub(crate) fn sub(&mut self, k: usize, v: f64) {
        if !self.hit[k] {
            self.hit[k] = true;
            self.val[k] = 0.0;
            self.list.push(k as u32);
        }
        self.val[k] -= v;
    }
    /// The value at `k` (0 where no event reached it).
    #[inline]
    pub(crate) fn get(&self, k: usize) -> f64 {
        self.val[k]
    }
    /// The synapses reached, and their values.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.list.iter().map(|&k| (k as usize, self.val[k as usize]))
    }
    /// Back to all zero.
    pub(crate) fn clear(&mut self) {
        for &k in &self.list {
            self.val[k as usize] = 0.0;
            self.hit[k as usize] = false;
        }
        self.list.clear();
    }
    /// SPAIC's `dw = Apost * s_post^T x_pre - Apre * x_post^T s_pre`, per synapse: the
    /// postsynaptic arrivals first, then the presynaptic ones, each with the other side's
    /// trace as the synapse sees it (already including this step's spikes).
    /// `traces` are (pre, post), `amp` is (Apost, Apre).
    pub(crate) fn stdp(&mut self, t: &SynapseTable, ev: &SynapseEvents<'_>, traces: (&TraceRing, &TraceRing), range: TargetRange, amp: (f64, f64)) {
        let ((x, y), (a_post, a_pre)) = (traces, amp);
        ev.post(t, |e| self.set(e.k, a_post * x.lagged(e.i as usize, e.pre_lag)));
        ev.pre(t, |e| self.sub(e.k, a_pre * y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag)));
    }
}

impl Checkpoint for Pending {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.list)?;
        let v: Vec<f64> = self.list.iter().map(|&k| self.val[k as usize]).collect();
        out.blob(&v)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.clear();
        let list: Vec<u32> = inp.blob("pending synapses")?;
        let v: Vec<f64> = inp.blob("pending values")?;
        if list.len() != v.len() || list.iter().any(|&k| k as usize >= self.val.len()) {
            return Err(StateError::new(format!("pending values: {} synapses and {} values stored for {} synapses", list.len(), v.len(), self.val.len())));
        }
        for (&k, &x) in list.iter().zip(&v) {
            if self.hit[k as usize] {
                return Err(StateError::new(format!("pending values: synapse {k} stored twice")));
            }
            self.hit[k as usize] = true;
            self.val[k as usize] = x;
        }
        self.list = list;
        Ok(())
    }
}

/// SPAIC's row normalisation `W = w_norm * W / sum_j |W[i, j]|` for every target neuron `i`
/// (over the synapses that exist, in ascending synapse order). A row summing to 0 is left
/// as it is (SPAIC divides by 0 and gets NaN).
pub(crate) fn normalise_rows(t: &mut SynapseTable, w_norm: f64) {
    let mut w = std::mem::take(&mut t.weight);
    let ix = t.by_target();
    for j in 0..t.target_size {
        let row = &ix.syn[ix.ptr[j] as usize..ix.ptr[j + 1] as usize];
        let mut sum = 0.0;
        for &k in row {
            sum += w[k as usize].abs();
        }
        if sum == 0.0 {
            continue;
        }
        for &k in row {
            w[k as usize] = w_norm * (w[k as usize] / sum);
        }
    }
    t.weight = w;
}

/// Clamps every weight to `[lo, hi]`.
pub(crate) fn clamp_all(t: &mut SynapseTable, lo: f64, hi: f64) {
    for w in t.weight.iter_mut() {
        *w = w.clamp(lo, hi);
    }
}

/// A rule's flag in a checkpoint.
pub(crate) fn save_flag(out: &mut StateWriter<'_>, b: bool) -> std::io::Result<()> {
    out.u64(b as u64)
}

/// See [`save_flag`].
pub(crate) fn load_flag(inp: &mut StateReader<'_>, what: &str) -> Result<bool, StateError> {
    match inp.u64(what)? {
        0 => Ok(false),
        1 => Ok(true),
        x => Err(StateError::new(format!("{what}: {x} is not a flag"))),
    }
}

/// Fails on `key` if the table has it (a key SPAIC takes and ignores, or that needs what
/// spikeworld does not have), saying `why`.
pub(crate) fn reject(k: &mut crate::Keys<'_, '_>, key: &str, why: &str) -> Result<(), ScenarioError> {
    match k.t.get(key) {
        Some(n) => Err(k.t.err(n, key, why)),
        None => Ok(()),
    }
}
