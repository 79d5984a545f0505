//! SPAIC's unsupervised STDP rules against their source's formulas (spec:
//! /work/notes/spaic_rules.md §1-5), recomputed here per synapse (each synapse with traces
//! of its own, fed the spike trains it sees after its delay), every weight at every step.
//! Random Poisson spike trains on both sides, sparse and dense, per-synapse delays, axonal
//! and dendritic. Our step t is SPAIC's learner step t+1 (step 0 first runs SPAIC's learner
//! step 0, which sees no spike); postpre_int_stdp's step t is SPAIC's step t.
//!
//! Tolerances: 0 (bit-equal): the arithmetic and the order of sums are the same (row sums
//! are taken in ascending synapse order on both sides), and a shared kernel entry's sum
//! over its synapses (conv2d_stdp) is exact on both sides (`common::fsum`). postpre_int_stdp
//! is integral and bit-equal, with the same random numbers drawn from the same stream.

mod common;

use std::path::Path;

use common::{Syn, Trial, at_dt, fsum, run, shaped_text};
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, entity_key, purpose};

const SPARSE: &str = "rule = \"pairwise_bernoulli\"\np = 0.5";
const DENSE: &str = "rule = \"all_to_all\"";
const DELAYS: &str = "{ dist = \"uniform\", low = \"0 ms\", high = \"3 ms\" }";
const STEPS: u64 = 300;
const EXP_M1_20: f64 = 0.951229424500714;

/// The test network of `common` (12 Poisson sources onto 6 randomly driven targets) with
/// a weight of our choice.
fn text(connect: &str, delay: &str, weight: &str, rule: &str) -> String {
    let t = shaped_text("size = 12", "size = 6", 6, connect, delay, rule, STEPS);
    let from = "weight = { dist = \"uniform\", low = 0.1, high = 0.4 }";
    assert!(t.contains(from));
    t.replace(from, &format!("weight = {weight}"))
}

fn lags(s: Syn, dendritic: bool) -> (u64, u64) {
    if dendritic { (0, s.d) } else { (s.d, 0) }
}

fn z(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The synapses of each target, ascending (SPAIC's rows of W).
fn rows(tr: &Trial) -> Vec<Vec<usize>> {
    let mut r = vec![Vec::new(); tr.post[0].len()];
    for (k, s) in tr.syn.iter().enumerate() {
        r[s.j].push(k);
    }
    r
}

/// `W[i] = w_norm * (W[i] / sum_j |W[i, j]|)` (a zero row left as it is).
fn normalise(w: &mut [f64], rows: &[Vec<usize>], w_norm: f64) {
    for r in rows {
        let sum: f64 = r.iter().fold(0.0, |a, &k| a + w[k].abs());
        if sum != 0.0 {
            for &k in r {
                w[k] = w_norm * (w[k] / sum);
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Online {
    a_post: f64,
    a_pre: f64,
    decay_pre: f64,
    decay_post: f64,
    spike: f64,
    w_norm: f64,
    norm_every: u64,
}

/// SPAIC nearest_online_STDP (`nearest`) or full_online_STDP (§1, §2), per synapse.
fn reference_online(tr: &Trial, p: Online, nearest: bool, dendritic: bool) -> Vec<Vec<f64>> {
    let rows = rows(tr);
    let n = tr.syn.len();
    let steps = tr.w.len() as u64;
    let mut w = tr.w0.clone();
    let (mut xp, mut xq, mut dw_prev) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let clamp = |w: &mut Vec<f64>| w.iter_mut().for_each(|x| *x = x.clamp(0.0, 1.0));
    let mut out = Vec::new();
    for t in 0..steps {
        let mut dw_new = vec![0.0; n];
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            let (sp, sq) = (z(tr.pre_at(s, t, pl)), z(tr.post_at(s, t, ql)));
            if nearest {
                xp[k] = (p.spike - sp) * (xp[k] * p.decay_pre) + sp;
                xq[k] = (p.spike - sq) * (xq[k] * p.decay_post) + sq;
            } else {
                xp[k] = sp + xp[k] * p.decay_pre;
                xq[k] = sq + xq[k] * p.decay_post;
            }
            dw_new[k] = p.a_post * (sq * xp[k]) - p.a_pre * (xq[k] * sp);
        }
        if t == 0 {
            // SPAIC's learner step 0: W += 0, normalise (nearest), clamp.
            if nearest {
                normalise(&mut w, &rows, p.w_norm);
            }
            clamp(&mut w);
        }
        for k in 0..n {
            w[k] += dw_prev[k];
        }
        let norm = nearest || t + 1 == steps || (p.norm_every > 0 && (t + 1) % p.norm_every == 0);
        if norm {
            normalise(&mut w, &rows, p.w_norm);
        }
        clamp(&mut w);
        dw_prev = dw_new;
        out.push(w.clone());
    }
    out
}

const NEAREST: Online = Online { a_post: 0.05, a_pre: 0.03, decay_pre: EXP_M1_20, decay_post: EXP_M1_20, spike: 1.0, w_norm: 3.0, norm_every: 0 };

#[test]
fn nearest_online_sparse_axonal_delays() {
    let rule = "{ rule = \"nearest_online_stdp\", Apost = 0.05, Apre = 0.03, w_norm = 3.0 }";
    let tr = run(&text(SPARSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    assert!(tr.syn.iter().any(|s| s.d == 0) && tr.syn.iter().any(|s| s.d == 3));
    tr.check(&reference_online(&tr, NEAREST, true, false), 0.0, "nearest_online_stdp sparse axonal");
}

#[test]
fn nearest_online_dense_dendritic_other_decays() {
    let rule = "{ rule = \"nearest_online_stdp\", Apost = 0.05, Apre = 0.03, trace_pre = 0.9, trace_post = 0.8, spike = 1.0, w_norm = 2.5, lr = 0.5, delay = \"dendritic\" }";
    let tr = run(&text(DENSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    let p = Online { decay_pre: 0.9, decay_post: 0.8, w_norm: 2.5, ..NEAREST };
    tr.check(&reference_online(&tr, p, true, true), 0.0, "nearest_online_stdp dense dendritic");
}

const FULL: Online = Online { a_post: 0.02, a_pre: 0.01, decay_pre: EXP_M1_20, decay_post: EXP_M1_20, spike: 1.0, w_norm: 3.0, norm_every: 0 };

#[test]
fn full_online_dense_axonal_normalised_at_the_end() {
    let rule = "{ rule = \"full_online_stdp\", Apost = 0.02, Apre = 0.01, w_norm = 3.0 }";
    let tr = run(&text(DENSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    let reference = reference_online(&tr, FULL, false, false);
    tr.check(&reference, 0.0, "full_online_stdp dense axonal");
    // Only the last step normalises: each row then sums to w_norm (no weight hit a bound).
    let last = tr.w.last().unwrap();
    for r in rows(&tr) {
        let sum: f64 = r.iter().map(|&k| last[k]).sum();
        if r.iter().all(|&k| last[k] > 0.0 && last[k] < 1.0) {
            assert!((sum - 3.0).abs() < 1e-12, "row sum {sum}");
        }
    }
    let before: f64 = rows(&tr)[0].iter().map(|&k| tr.w[STEPS as usize - 2][k]).sum();
    assert!((before - 3.0).abs() > 1e-3, "no normalisation before the last step");
}

#[test]
fn full_online_sparse_dendritic_norm_every() {
    let rule = "{ rule = \"full_online_stdp\", Apost = 0.02, Apre = 0.01, trace_decay = 0.9, w_norm = 2.0, norm_every = 50, delay = \"dendritic\" }";
    let tr = run(&text(SPARSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    let p = Online { decay_pre: 0.9, decay_post: 0.9, w_norm: 2.0, norm_every: 50, ..FULL };
    tr.check(&reference_online(&tr, p, false, true), 0.0, "full_online_stdp sparse dendritic norm_every");
}

#[derive(Clone, Copy)]
struct Meta {
    a_post: f64,
    a_pre: f64,
    pre_decay: f64,
    post_decay: f64,
    w_min: f64,
    w_max: f64,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { 0.0 } else { v.iter().fold(0.0, |a, x| a + x) / v.len() as f64 }
}

/// SPAIC Meta_nearest_online_STDP (§3), per synapse; the w_mean drift reads each target's
/// own (undelayed) trace.
fn reference_meta(tr: &Trial, p: Meta, dendritic: bool) -> Vec<Vec<f64>> {
    let rows = rows(tr);
    let (n, n_post) = (tr.syn.len(), tr.post[0].len());
    let mut w = tr.w0.clone();
    let (mut xp, mut xq, mut yn) = (vec![0.0; n], vec![0.0; n], vec![0.0; n_post]);
    let mut w_mean: Option<(Vec<f64>, f64)> = None;
    let le = |s: f64| if s <= 0.0 { 1.0 } else { 0.0 };
    let mut pass = |w: &mut Vec<f64>, dw: &[f64], y: &[f64]| {
        let (wm, aw) = w_mean.get_or_insert_with(|| {
            let wm: Vec<f64> = rows.iter().map(|r| mean(&r.iter().map(|&k| w[k]).collect::<Vec<_>>())).collect();
            let aw = mean(&wm);
            (wm, aw)
        });
        let my = mean(y);
        for i in 0..n_post {
            wm[i] -= 0.1 * p.a_pre * (y[i] - my);
        }
        let mw = mean(wm);
        for x in wm.iter_mut() {
            *x = *x * *aw / mw;
        }
        let rm: Vec<f64> = rows.iter().map(|r| mean(&r.iter().map(|&k| w[k]).collect::<Vec<_>>()).max(1e-6)).collect();
        for (k, s) in tr.syn.iter().enumerate() {
            let lt = if dw[k] < 0.0 { 1.0 } else { 0.0 };
            let gt = if dw[k] > 0.0 { 1.0 } else { 0.0 };
            let sc = lt * (-0.2 / (w[k] - p.w_min).max(1e-4)).exp() + gt * (-0.2 / (p.w_max - w[k]).max(1e-4)).exp();
            w[k] = w[k] * wm[s.j] / rm[s.j] + dw[k] * sc;
        }
    };
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        if t == 0 {
            pass(&mut w, &vec![0.0; n], &vec![0.0; n_post]);
        }
        let mut dw = vec![0.0; n];
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            let (sp, sq) = (z(tr.pre_at(s, t, pl)), z(tr.post_at(s, t, ql)));
            xp[k] = p.pre_decay * xp[k] * le(sp) + sp;
            xq[k] = p.post_decay * xq[k] * le(sq) + sq;
            dw[k] = p.a_post * (sq * xp[k]) - p.a_pre * (xq[k] * sp);
        }
        for (j, y) in yn.iter_mut().enumerate() {
            let sq = z(tr.post[t as usize][j]);
            *y = p.post_decay * *y * le(sq) + sq;
        }
        pass(&mut w, &dw, &yn);
        out.push(w.clone());
    }
    out
}

const META: Meta = Meta { a_post: 0.05, a_pre: 0.02, pre_decay: 0.9672161004820059, post_decay: 0.9950124791926823, w_min: 0.0, w_max: 1.0 };

#[test]
fn meta_nearest_online_sparse_axonal_delays() {
    let rule = "{ rule = \"meta_nearest_online_stdp\", Apost = 0.05, Apre = 0.02 }";
    let tr = run(&text(SPARSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    tr.check(&reference_meta(&tr, META, false), 0.0, "meta_nearest_online_stdp sparse axonal");
}

#[test]
fn meta_nearest_online_dense_dendritic_bounds() {
    let rule = "{ rule = \"meta_nearest_online_stdp\", Apost = 0.08, Apre = 0.05, pre_decay = 0.9, post_decay = 0.95, w_min = 0.05, w_max = 0.5, delay = \"dendritic\" }";
    let tr = run(&text(DENSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    let p = Meta { a_post: 0.08, a_pre: 0.05, pre_decay: 0.9, post_decay: 0.95, w_min: 0.05, w_max: 0.5 };
    tr.check(&reference_meta(&tr, p, true), 0.0, "meta_nearest_online_stdp dense dendritic");
}

#[derive(Clone, Copy)]
struct Int {
    trace_decay: i64,
    shift_trace: u32,
    trace_scale: i64,
    shift: u32,
    nu0: i64,
    nu1: i64,
    w_min: f64,
    w_max: f64,
}

/// SPAIC PostPreIntSTDP (§4, without the threshold halving), per synapse, in integers.
/// Synapse k's random number in step t is output 2k (term A) or 2k+1 (term B) of the stream
/// (seed, projection "plastic", PLASTICITY, t).
fn reference_int(tr: &Trial, p: Int, dendritic: bool) -> Vec<Vec<f64>> {
    reference_int_stream(tr, p, dendritic, entity_key("projection", "plastic"))
}

fn reference_int_stream(tr: &Trial, p: Int, dendritic: bool, entity: u32) -> Vec<Vec<f64>> {
    let n = tr.syn.len();
    let mut w = tr.w0.clone();
    let (mut ip, mut iq) = (vec![0i64; n], vec![0i64; n]);
    let mask = (1i64 << p.shift) - 1;
    let sround = |x: i64, stream: &mut Stream, pos: u64| {
        stream.seek(pos);
        let r = stream.next_u32() as i64 & mask;
        (x >> p.shift) + i64::from(r < (x & mask))
    };
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        let mut stream = Stream::new(11, entity, purpose::PLASTICITY, t);
        let mut spikes = Vec::with_capacity(n);
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            let (sp, sq) = (tr.pre_at(s, t, pl), tr.post_at(s, t, ql));
            ip[k] = if sp { p.trace_scale } else { (p.trace_decay * ip[k]) >> p.shift_trace };
            iq[k] = if sq { p.trace_scale } else { (p.trace_decay * iq[k]) >> p.shift_trace };
            spikes.push((sp, sq));
        }
        for k in 0..n {
            if spikes[k].0 {
                w[k] += sround(p.nu0 * iq[k], &mut stream, 2 * k as u64) as f64;
            }
        }
        for k in 0..n {
            if spikes[k].1 {
                w[k] += sround(p.nu1 * ip[k], &mut stream, 2 * k as u64 + 1) as f64;
            }
        }
        for x in w.iter_mut() {
            *x = x.clamp(p.w_min, p.w_max);
        }
        out.push(w.clone());
    }
    out
}

const INT: Int = Int { trace_decay: 31169, shift_trace: 15, trace_scale: 127, shift: 14, nu0: 14, nu1: 141, w_min: 0.0, w_max: 109.0 };

#[test]
fn postpre_int_sparse_axonal_delays() {
    let tr = run(&text(SPARSE, DELAYS, "20.0", "{ rule = \"postpre_int_stdp\" }"));
    let reference = reference_int(&tr, INT, false);
    tr.check(&reference, 0.0, "postpre_int_stdp sparse axonal");
    assert!(tr.w.iter().flatten().all(|w| w.fract() == 0.0), "integral weights");
    // The rounding is random, and its numbers are the stream's: another stream gives other
    // weights.
    let other = reference_int_stream(&tr, INT, false, entity_key("projection", "other"));
    assert!(other != reference, "the random numbers matter");
}

#[test]
fn postpre_int_dense_dendritic_clamped() {
    let rule = "{ rule = \"postpre_int_stdp\", trace_decay = 60000, shift_spike_trace = 16, trace_scale = 100, shift = 10, nu0 = -20, nu1 = 30, w_min = 5, w_max = 60, delay = \"dendritic\" }";
    let tr = run(&text(DENSE, DELAYS, "30.0", rule));
    let p = Int { trace_decay: 60000, shift_trace: 16, trace_scale: 100, shift: 10, nu0: -20, nu1: 30, w_min: 5.0, w_max: 60.0 };
    tr.check(&reference_int(&tr, p, true), 0.0, "postpre_int_stdp dense dendritic");
    let last = tr.w.last().unwrap();
    assert!(last.contains(&60.0) || last.contains(&5.0), "the clamp is reached");
}

#[derive(Clone, Copy)]
struct Conv {
    lr: f64,
    decay_plus: f64,
    decay_minus: f64,
    a_plus: f64,
    a_minus: f64,
}

/// SPAIC Conv2d_STDP (§5), per synapse; a kernel entry's eligibility sums its synapses.
fn reference_conv(tr: &Trial, p: Conv, dendritic: bool) -> Vec<Vec<f64>> {
    let n = tr.syn.len();
    let entry = |k: usize| tr.kernel.as_ref().map_or(k, |ix| ix[k]);
    let mut w = tr.w0.clone();
    let (mut xp, mut xq, mut e_prev) = (vec![0.0; n], vec![0.0; n], vec![0.0; w.len()]);
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        // Each entry's terms, summed exactly (the rule's sums are, so that shards agree).
        let (mut plus, mut minus) = (vec![Vec::new(); w.len()], vec![Vec::new(); w.len()]);
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            let (sp, sq) = (z(tr.pre_at(s, t, pl)), z(tr.post_at(s, t, ql)));
            xp[k] = (1.0 - sp) * (p.decay_plus * xp[k]) + sp;
            xq[k] = (1.0 - sq) * (p.decay_minus * xq[k]) + sq;
            plus[entry(k)].push(sq * xp[k]);
            minus[entry(k)].push(xq[k] * sp);
        }
        for c in 0..w.len() {
            w[c] += p.lr * e_prev[c];
            e_prev[c] = p.a_plus * fsum(plus[c].iter().copied()) + p.a_minus * fsum(minus[c].iter().copied());
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn conv2d_stdp_shared_kernel() {
    let rule = "{ rule = \"conv2d_stdp\", lr = 0.001, tau_plus = \"10 ms\", tau_minus = \"15 ms\", A_plus = 1.0, A_minus = -0.8 }";
    let text = shaped_text("shape = [1, 5, 5]", "shape = [2, 3, 3]", 18, "rule = \"conv2d\"\nkernel_size = 3", "\"1 ms\"", rule, STEPS);
    let tr = run(&text);
    assert_eq!(tr.w0.len(), 18, "2 kernels of 3 x 3");
    let p = Conv { lr: 0.001, decay_plus: (-0.1f64).exp(), decay_minus: (-1.0f64 / 15.0).exp(), a_plus: 1.0, a_minus: -0.8 };
    tr.check(&reference_conv(&tr, p, false), 0.0, "conv2d_stdp shared kernel");
}

#[test]
fn conv2d_stdp_unshared_sparse_dendritic_delays() {
    let rule = "{ rule = \"conv2d_stdp\", lr = 0.01, delay = \"dendritic\" }";
    let tr = run(&text(SPARSE, DELAYS, "{ dist = \"uniform\", low = 0.1, high = 0.4 }", rule));
    assert!(tr.kernel.is_none());
    let d = (-1.0f64 / 20.0).exp();
    let p = Conv { lr: 0.01, decay_plus: d, decay_minus: d, a_plus: 1.0, a_minus: -1.0 };
    tr.check(&reference_conv(&tr, p, true), 0.0, "conv2d_stdp unshared");
}

// ---- dt = 0.1 ms ----------------------------------------------------------------------
//
// SPAIC's online rules decay their traces by fixed factors per step (np.exp(-1/20) and the
// like: not a function of dt), and postpre_int_stdp is integral: at dt = 0.1 ms they must
// do per step exactly what they do at 1 ms. conv2d_stdp's decays are exp(-dt/tau): they must
// follow dt. The network of `text` at dt = 0.1 ms (the same spike probability per step,
// delays of 0..3 steps); within 1e-12.

/// The time step of the cases below, ms.
const DT: f64 = 0.1;
/// Delays of 0 to 3 steps of [`DT`].
const DELAYS_DT: &str = "{ dist = \"uniform\", low = \"0 ms\", high = \"0.3 ms\" }";
const W_RANDOM: &str = "{ dist = \"uniform\", low = 0.1, high = 0.4 }";

#[test]
fn nearest_online_at_dt_0_1_decays_per_step_not_per_ms() {
    // Default decays: exp(-1/20) per step at any dt (not exp(-dt/20 ms)).
    let rule = "{ rule = \"nearest_online_stdp\", Apost = 0.05, Apre = 0.03, w_norm = 3.0 }";
    let tr = run(&at_dt(&text(SPARSE, DELAYS_DT, W_RANDOM, rule), DT, STEPS));
    assert!(tr.syn.iter().any(|s| s.d == 0) && tr.syn.iter().any(|s| s.d == 3), "delays of 0..3 steps");
    let p = Online { decay_pre: (-1.0f64 / 20.0).exp(), decay_post: (-1.0f64 / 20.0).exp(), ..NEAREST };
    tr.check(&reference_online(&tr, p, true, false), 1e-12, "nearest_online_stdp at dt = 0.1 ms");
}

#[test]
fn full_online_at_dt_0_1_decays_per_step_not_per_ms() {
    let rule = "{ rule = \"full_online_stdp\", Apost = 0.02, Apre = 0.01, w_norm = 3.0, delay = \"dendritic\" }";
    let tr = run(&at_dt(&text(DENSE, DELAYS_DT, W_RANDOM, rule), DT, STEPS));
    let p = Online { decay_pre: (-1.0f64 / 20.0).exp(), decay_post: (-1.0f64 / 20.0).exp(), ..FULL };
    tr.check(&reference_online(&tr, p, false, true), 1e-12, "full_online_stdp at dt = 0.1 ms");
}

#[test]
fn meta_nearest_online_at_dt_0_1_decays_per_step_not_per_ms() {
    // Defaults: pre_decay exp(-1/30), post_decay exp(-1/200) per step.
    let rule = "{ rule = \"meta_nearest_online_stdp\", Apost = 0.05, Apre = 0.02 }";
    let tr = run(&at_dt(&text(SPARSE, DELAYS_DT, W_RANDOM, rule), DT, STEPS));
    let p = Meta { pre_decay: (-1.0f64 / 30.0).exp(), post_decay: (-1.0f64 / 200.0).exp(), ..META };
    tr.check(&reference_meta(&tr, p, false), 1e-12, "meta_nearest_online_stdp at dt = 0.1 ms");
}

#[test]
fn postpre_int_at_dt_0_1_is_per_step() {
    let tr = run(&at_dt(&text(SPARSE, DELAYS_DT, "20.0", "{ rule = \"postpre_int_stdp\" }"), DT, STEPS));
    tr.check(&reference_int(&tr, INT, false), 0.0, "postpre_int_stdp at dt = 0.1 ms");
}

#[test]
fn conv2d_stdp_at_dt_0_1_decays_by_exp_dt_over_tau() {
    // x = (1 - s)*(exp(-dt/tau)*x) + s with tau_plus = 1 ms, tau_minus = 1.5 ms (10 and 15
    // steps of 0.1 ms), on a shared kernel.
    let rule = "{ rule = \"conv2d_stdp\", lr = 0.001, tau_plus = \"1 ms\", tau_minus = \"1.5 ms\", A_plus = 1.0, A_minus = -0.8 }";
    let conv = shaped_text("shape = [1, 5, 5]", "shape = [2, 3, 3]", 18, "rule = \"conv2d\"\nkernel_size = 3", "\"0.1 ms\"", rule, STEPS);
    let tr = run(&at_dt(&conv, DT, STEPS));
    assert_eq!(tr.w0.len(), 18, "2 kernels of 3 x 3");
    assert!(tr.syn.iter().all(|s| s.d == 1), "0.1 ms is one step");
    let p = Conv { lr: 0.001, decay_plus: (-DT / 1.0f64).exp(), decay_minus: (-DT / 1.5f64).exp(), a_plus: 1.0, a_minus: -0.8 };
    tr.check(&reference_conv(&tr, p, false), 1e-12, "conv2d_stdp shared kernel at dt = 0.1 ms");
    // Unshared, the default taus (20 ms: exp(-dt/20 ms) per step), dendritic delays.
    let rule = "{ rule = \"conv2d_stdp\", lr = 0.01, delay = \"dendritic\" }";
    let tr = run(&at_dt(&text(SPARSE, DELAYS_DT, W_RANDOM, rule), DT, STEPS));
    let d = (-DT / 20.0f64).exp();
    let p = Conv { lr: 0.01, decay_plus: d, decay_minus: d, a_plus: 1.0, a_minus: -1.0 };
    tr.check(&reference_conv(&tr, p, true), 1e-12, "conv2d_stdp unshared at dt = 0.1 ms");
}

// ---- keys ----------------------------------------------------------------------------

fn parse_err(rule: &str) -> String {
    let b = common::builder();
    match Scenario::from_str(&text(DENSE, "\"1 ms\"", "0.2", rule), Path::new("plastic.toml"), b.registry(), &LoadOptions::default()) {
        Ok(_) => panic!("{rule} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_keys_are_refused_with_the_reason() {
    let e = parse_err("{ rule = \"nearest_online_stdp\", trace_decay = 0.9 }");
    assert!(e.contains("trace_decay") && e.contains("trace_pre"), "{e}");
    let e = parse_err("{ rule = \"postpre_int_stdp\", max_threshold = 4915 }");
    assert!(e.contains("max_threshold") && e.contains("thresh"), "{e}");
    let e = parse_err("{ rule = \"postpre_int_stdp\", trace_decay = 40000 }");
    assert!(e.contains("trace_decay") && e.contains("32768"), "{e}");
    let e = parse_err("{ rule = \"postpre_int_stdp\", nu1 = 1.5 }");
    assert!(e.contains("nu1") && e.contains("integer"), "{e}");
    let e = parse_err("{ rule = \"full_online_stdp\", norm_every = -2 }");
    assert!(e.contains("norm_every"), "{e}");
    let e = parse_err("{ rule = \"meta_nearest_online_stdp\", w_min = 1, w_max = 0.5 }");
    assert!(e.contains("w_max"), "{e}");
    let e = parse_err("{ rule = \"conv2d_stdp\", tau_plus = \"0 ms\" }");
    assert!(e.contains("tau_plus"), "{e}");
    let e = parse_err("{ rule = \"full_online_stdp\", Apst = 0.1 }");
    assert!(e.contains("Apst"), "{e}");
    // A decay factor above 1 makes a trace grow without bound; a norm <= 0 zeroes or flips
    // every weight.
    for (bad, key) in [
        ("{ rule = \"nearest_online_stdp\", trace_pre = 1.5 }", "trace_pre"),
        ("{ rule = \"nearest_online_stdp\", trace_post = 0 }", "trace_post"),
        ("{ rule = \"full_online_stdp\", trace_decay = 1.01 }", "trace_decay"),
        ("{ rule = \"meta_nearest_online_stdp\", pre_decay = -0.5 }", "pre_decay"),
        ("{ rule = \"nearest_online_stdp\", w_norm = -20 }", "w_norm"),
        ("{ rule = \"full_online_stdp\", w_norm = 0 }", "w_norm"),
    ] {
        let e = parse_err(bad);
        assert!(e.contains(key) && (e.contains("in (0, 1]") || e.contains("> 0")), "{bad}: {e}");
    }
}

// ---- checkpoints ---------------------------------------------------------------------

#[test]
fn spaic_scenarios_resume_exactly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let tmp = tempfile::tempdir().unwrap();
    let b = common::builder();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("spaic_") && name.ends_with(".toml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if !["nearest_online_stdp", "full_online_stdp", "meta_nearest_online_stdp", "postpre_int_stdp", "conv2d_stdp"].iter().any(|r| text.contains(&format!("rule = \"{r}\""))) {
            continue;
        }
        let steps = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}")).steps;
        for split in [1, steps / 3 + 1, steps - 1] {
            spikeworld::testing::check_resume(&b, &path, split, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        }
        n += 1;
    }
    assert!(n >= 5, "{n} scenarios with SPAIC's STDP rules");
}
