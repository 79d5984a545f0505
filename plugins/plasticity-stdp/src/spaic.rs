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

use spikeworld::net::plastic::{PlasticStep, SparseAccum, SynapseEvents, TraceRing};
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

/// This step's spikes of the source's selection (relative) and of the target selection
/// (relative).
pub(crate) fn spikes<'s>(s: &'s PlasticStep<'_>, range: TargetRange) -> (impl Iterator<Item = usize> + 's, impl Iterator<Item = usize> + 's) {
    let (a, b) = (s.table.src_start, s.table.src_end);
    (s.pre_now.iter().filter(move |&&i| i >= a && i < b).map(move |&i| (i - a) as usize), s.post_now.iter().filter_map(move |&j| range.rel(j)))
}

/// SPAIC's `dw = Apost * s_post^T x_pre - Apre * x_post^T s_pre`, per synapse, into `dw`:
/// the postsynaptic arrivals first, then the presynaptic ones, each with the other side's
/// trace as the synapse sees it (already including this step's spikes). `traces` are
/// (pre, post), `amp` is (Apost, Apre).
pub(crate) fn stdp_dw(dw: &mut SparseAccum, t: &SynapseTable, ev: &SynapseEvents<'_>, traces: (&TraceRing, &TraceRing), range: TargetRange, amp: (f64, f64)) {
    let ((x, y), (a_post, a_pre)) = (traces, amp);
    ev.post(t, |e| dw.add(e.k, a_post * x.lagged(e.i as usize, e.pre_lag)));
    ev.pre(t, |e| dw.sub(e.k, a_pre * y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag)));
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
