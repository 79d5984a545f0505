//! Every rule against SPAIC's formula (spaic/Learning/RSTDP.py, Conv_RSTDP.py,
//! Rate_Modulation.py, as /work/notes/spaic_rules.md §6-§10 gives it), recomputed here per
//! synapse (each synapse with traces of its own, fed the spike trains it sees after its
//! delay), every weight at every step. Random spike trains on both sides, sparse and dense
//! projections, per-synapse delays, axonal and dendritic; the reward random, set between
//! steps by the program (partly closed-loop: from the last step's output) or by a
//! `[reward]` schedule of random values. Tolerance: bit-equal (`0.0`; a shared kernel's
//! sums are exact and rounded once); the dt = 0.1 ms cases within 1e-12 relative.

mod common;

use common::{Lcg, Syn, Trial, at_dt, run, scenario_text, shaped_text};
use spikeworld::testing::fsum;

const SPARSE: &str = "rule = \"pairwise_bernoulli\"\np = 0.5";
const DENSE: &str = "rule = \"all_to_all\"";
const DELAYS: &str = "{ dist = \"uniform\", low = \"0 ms\", high = \"3 ms\" }";
const STEPS: u64 = 300;

/// (pre lag, post lag) of a synapse.
fn lags(s: Syn, dendritic: bool) -> (u64, u64) {
    if dendritic { (0, s.d) } else { (s.d, 0) }
}

fn z(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// A random reward each step, set by the program.
fn random_rewards(seed: u64) -> impl FnMut(u64, &[bool]) -> Option<f64> {
    let mut g = Lcg(seed);
    move |_, _| Some(g.reward())
}

/// Closed loop: the reward depends on the network's last output (how many targets spiked)
/// plus noise.
fn closed_loop(seed: u64) -> impl FnMut(u64, &[bool]) -> Option<f64> {
    let mut g = Lcg(seed);
    move |_, last| {
        let n = last.iter().filter(|&&b| b).count() as f64;
        Some(0.5 * n - 0.6 + 0.3 * g.reward())
    }
}

#[derive(Clone, Copy)]
struct R {
    lr: f64,
    tau_plus: f64,
    tau_minus: f64,
    a_plus: f64,
    a_minus: f64,
}

impl R {
    fn toml(&self, rule: &str, extra: &str) -> String {
        format!(
            "{{ rule = \"{rule}\", lr = {}, tau_plus = \"{} ms\", tau_minus = \"{} ms\", a_plus = {}, a_minus = {}{extra} }}",
            self.lr, self.tau_plus, self.tau_minus, self.a_plus, self.a_minus
        )
    }
}

const RP: R = R { lr: 0.01, tau_plus: 10.0, tau_minus: 14.0, a_plus: 1.0, a_minus: -1.2 };

/// SPAIC RSTDP per synapse (§6.3): traces, e_new, W += lr R e_prev, e_prev = e_new. With
/// `et = Some((tau_e_trace, tau_e))`, RSTDPET (§7.3) instead: W += lr dt R E_prev,
/// E = exp(-dt/tau_e_trace) E + dt/tau_e e. `dt` and the taus in ms.
fn reference_rstdp(tr: &Trial, dt: f64, p: R, dendritic: bool, et: Option<(f64, f64)>) -> Vec<Vec<f64>> {
    let (dp, dm) = ((-dt / p.tau_plus).exp(), (-dt / p.tau_minus).exp());
    let n = tr.syn.len();
    let mut w = tr.w0.clone();
    let (mut pp, mut pm, mut prev) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        let r = tr.reward[t as usize];
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            let (zpre, zpost) = (z(tr.pre_at(s, t, pl)), z(tr.post_at(s, t, ql)));
            pp[k] = p.a_plus * zpre + dp * pp[k];
            pm[k] = p.a_minus * zpost + dm * pm[k];
            let e = zpost * pp[k] + pm[k] * zpre;
            match et {
                None => {
                    w[k] += p.lr * r * prev[k];
                    prev[k] = e;
                }
                Some((tau_e_trace, tau_e)) => {
                    w[k] += p.lr * dt * r * prev[k];
                    prev[k] = (-dt / tau_e_trace).exp() * prev[k] + (dt / tau_e) * e;
                }
            }
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn rstdp_sparse_axonal_delays_closed_loop() {
    let tr = run(&scenario_text(SPARSE, DELAYS, &RP.toml("rstdp", ""), STEPS, ""), closed_loop(5));
    assert!(tr.syn.iter().any(|s| s.d == 0) && tr.syn.iter().any(|s| s.d == 3));
    assert!(tr.reward.iter().any(|&r| r > 0.0) && tr.reward.iter().any(|&r| r < 0.0));
    tr.check(&reference_rstdp(&tr, 1.0, RP, false, None), 0.0, "rstdp sparse axonal");
}

#[test]
fn rstdp_dense_dendritic_defaults_random_reward() {
    let tr = run(&scenario_text(DENSE, DELAYS, "{ rule = \"rstdp\", lr = 0.002, delay = \"dendritic\" }", STEPS, ""), random_rewards(7));
    let p = R { lr: 0.002, tau_plus: 20.0, tau_minus: 20.0, a_plus: 1.0, a_minus: -1.0 };
    tr.check(&reference_rstdp(&tr, 1.0, p, true, None), 0.0, "rstdp dense dendritic");
}

/// A `[reward]` schedule of random values at random times, and what it must give at step t.
fn random_schedule(seed: u64, steps: u64) -> (String, Vec<f64>) {
    let mut g = Lcg(seed);
    let (mut times, mut values) = (Vec::new(), Vec::new());
    let mut t = 2;
    while t < steps {
        times.push(t);
        values.push(g.reward());
        t += 1 + (g.next() * 9.0) as u64;
    }
    let text = format!(
        "[reward]\nkind = \"schedule\"\ntimes = [{}]\nvalues = [{}]\n",
        times.iter().map(|t| format!("\"{t} ms\"")).collect::<Vec<_>>().join(", "),
        values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
    );
    let expect = (0..steps).map(|s| times.iter().rposition(|&t| t <= s).map_or(0.0, |i| values[i])).collect();
    (text, expect)
}

#[test]
fn rstdp_reward_from_a_schedule_of_random_values() {
    let (sched, expect) = random_schedule(3, STEPS);
    let tr = run(&scenario_text(SPARSE, DELAYS, &RP.toml("rstdp", ""), STEPS, &sched), |_, _| None);
    assert_eq!(tr.reward, expect, "the schedule's value at every step");
    tr.check(&reference_rstdp(&tr, 1.0, RP, false, None), 0.0, "rstdp with a [reward] schedule");
}

#[test]
fn rstdp_et_sparse_axonal_delays() {
    let rule = RP.toml("rstdp_et", ", tau_e_trace = \"30 ms\", tau_e = \"8 ms\"");
    let tr = run(&scenario_text(SPARSE, DELAYS, &rule, STEPS, ""), random_rewards(11));
    tr.check(&reference_rstdp(&tr, 1.0, RP, false, Some((30.0, 8.0))), 0.0, "rstdp_et sparse axonal");
}

#[test]
fn rstdp_et_dense_dendritic_defaults_closed_loop() {
    let tr = run(&scenario_text(DENSE, DELAYS, "{ rule = \"rstdp_et\", lr = 0.05, delay = \"dendritic\" }", STEPS, ""), closed_loop(13));
    let p = R { lr: 0.05, tau_plus: 20.0, tau_minus: 20.0, a_plus: 1.0, a_minus: -1.0 };
    tr.check(&reference_rstdp(&tr, 1.0, p, true, Some((25.0, 25.0))), 0.0, "rstdp_et dense dendritic");
}

#[derive(Clone, Copy)]
struct Sw {
    pos: (f64, f64),
    neg: (f64, f64),
    pre_decay: f64,
    post_decay: f64,
    w_min: f64,
    w_max: f64,
}

/// SPAIC RewardSwitchSTDP per synapse (§8.3), B = 1.
fn reference_switch(tr: &Trial, p: Sw, dendritic: bool) -> Vec<Vec<f64>> {
    let n = tr.syn.len();
    let mut w = tr.w0.clone();
    let (mut xp, mut xq) = (vec![0.0f64; n], vec![0.0f64; n]);
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        let r = tr.reward[t as usize];
        let (apost, apre) = if r > 0.0 { p.pos } else { p.neg };
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            let (zpre, zpost) = (z(tr.pre_at(s, t, pl)), z(tr.post_at(s, t, ql)));
            xp[k] = p.pre_decay * xp[k] * z(zpre <= 0.0) + zpre;
            xq[k] = p.post_decay * xq[k] * z(zpost <= 0.0) + zpost;
            let dw = (zpost * (apost * xp[k]) + (apre * xq[k]) * zpre) / 1.0;
            w[k] = (w[k] + dw).clamp(p.w_min, p.w_max);
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn reward_switch_defaults_sparse_delays() {
    // Initial weights 0.1..0.4: SPAIC's clamp to [0, 0.1] takes them all to 0.1 at once.
    let tr = run(&scenario_text(SPARSE, DELAYS, "{ rule = \"reward_switch_stdp\" }", STEPS, ""), random_rewards(17));
    assert!(tr.reward.contains(&0.0), "zero rewards count as negative");
    let e20 = (-1.0f64 / 20.0).exp();
    let p = Sw { pos: (5e-3, -4e-3), neg: (-5e-3, 4e-3), pre_decay: e20, post_decay: e20, w_min: 0.0, w_max: 0.1 };
    assert!(tr.w[0].iter().all(|&w| w <= 0.1));
    tr.check(&reference_switch(&tr, p, false), 0.0, "reward_switch_stdp defaults");
}

#[test]
fn reward_switch_custom_bounds_dense_dendritic() {
    let rule = "{ rule = \"reward_switch_stdp\", apost_pos = 0.02, apre_pos = -0.015, apost_neg = -0.01, apre_neg = 0.012, pre_decay = 0.9, post_decay = 0.8, w_min = 0.15, w_max = 0.35, delay = \"dendritic\" }";
    let tr = run(&scenario_text(DENSE, DELAYS, rule, STEPS, ""), closed_loop(19));
    let p = Sw { pos: (0.02, -0.015), neg: (-0.01, 0.012), pre_decay: 0.9, post_decay: 0.8, w_min: 0.15, w_max: 0.35 };
    tr.check(&reference_switch(&tr, p, true), 0.0, "reward_switch_stdp custom");
    let last = tr.w.last().unwrap();
    assert!(last.contains(&0.15) || last.contains(&0.35), "some weight reached a bound");
}

/// SPAIC Conv2d_RSTDP (§10.4): the per-synapse eligibility summed per kernel entry; traces
/// decaying by exp(-dt/tau) (`dt` and the taus in ms).
fn reference_conv(tr: &Trial, dt: f64, p: R) -> Vec<Vec<f64>> {
    let (dp, dm) = ((-dt / p.tau_plus).exp(), (-dt / p.tau_minus).exp());
    let n = tr.syn.len();
    let kernel = tr.kernel.as_ref().expect("a conv2d projection");
    let mut w = tr.w0.clone();
    let (mut pp, mut pm) = (vec![0.0f64; n], vec![0.0f64; n]);
    let mut prev = vec![0.0f64; w.len()];
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        let r = tr.reward[t as usize];
        // Each entry's terms, summed exactly (as the rule does, so that shards agree).
        let (mut plus, mut minus) = (vec![Vec::new(); w.len()], vec![Vec::new(); w.len()]);
        for (k, &s) in tr.syn.iter().enumerate() {
            let (zpre, zpost) = (z(tr.pre_at(s, t, s.d)), z(tr.post_at(s, t, 0)));
            pp[k] = p.a_plus * zpre + dp * pp[k];
            pm[k] = p.a_minus * zpost + dm * pm[k];
            plus[kernel[k]].push(zpost * pp[k]);
            minus[kernel[k]].push(pm[k] * zpre);
        }
        for c in 0..w.len() {
            w[c] += p.lr * r * prev[c];
            prev[c] = fsum(plus[c].iter().copied()) + fsum(minus[c].iter().copied());
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn conv2d_rstdp_shared_kernel() {
    let p = R { lr: 1e-3, ..RP };
    let text = shaped_text("shape = [1, 5, 5]", "shape = [2, 3, 3]", 18, "rule = \"conv2d\"\nkernel_size = 3", "\"1 ms\"", &p.toml("conv2d_rstdp", ""), STEPS, "");
    let tr = run(&text, random_rewards(23));
    assert_eq!(tr.w0.len(), 18, "2 kernels of 3 x 3");
    tr.check(&reference_conv(&tr, 1.0, p), 0.0, "conv2d_rstdp");
}

#[test]
fn rate_modulation_loss_every_step_and_no_weight_change() {
    let rule = "{ rule = \"rate_modulation\", m_r = 12, alpha = 0.01 }";
    let tr = run(&scenario_text(SPARSE, DELAYS, rule, STEPS, ""), |_, _| None);
    let mut count = [0u64; 6];
    for (t, post) in tr.post.iter().enumerate() {
        for (c, &s) in count.iter_mut().zip(post) {
            *c += s as u64;
        }
        let norm = count.iter().map(|&c| (c as f64 - 12.0).powi(2)).sum::<f64>().sqrt();
        let want = 0.01 * norm;
        assert!((tr.rate_loss[t] - want).abs() <= 1e-12 * want.max(1.0), "step {t}: loss {} vs {want}", tr.rate_loss[t]);
        assert_eq!(tr.w[t], tr.w0, "step {t}: rate_modulation changes no weight");
    }
    let r = tr.sim.world.get::<spikeworld_plasticity_reward::rate::RateModulation>(tr.sim.projections[1]).unwrap();
    assert_eq!(r.counts(), &count, "the counts a program can read");
}

#[test]
fn rate_modulation_projections_sharing_an_output_add_up() {
    // A second counting projection onto the same targets (the drive) under the same name:
    // the modulator is the sum of both losses (SPAIC sums over connections).
    let rule = "{ rule = \"rate_modulation\", m_r = 3, output = \"loss\" }";
    let text = scenario_text(SPARSE, "\"1 ms\"", rule, 100, "").replace(
        "weight = 5.0\n",
        "weight = 5.0\nplasticity = { rule = \"rate_modulation\", m_r = 5, alpha = 0.5, output = \"loss\" }\n",
    );
    let tr = run(&text, |_, _| None);
    let mut count = [0u64; 6];
    for post in &tr.post {
        for (c, &s) in count.iter_mut().zip(post) {
            *c += s as u64;
        }
    }
    let l = |m: f64, a: f64| a * count.iter().map(|&c| (c as f64 - m).powi(2)).sum::<f64>().sqrt();
    let want = l(5.0, 0.5) + l(3.0, 0.001);
    let got = tr.sim.modulator("loss");
    assert!((got - want).abs() <= 1e-12 * want, "summed loss {got} vs {want}");
}

// ---- dt = 0.1 ms -----------------------------------------------------------------------
//
// At dt = 1 ms, dt/tau == 1/tau and lr*dt == lr: a rule that dropped dt would pass every
// test above. The same network at dt = 0.1 ms (the same spike probability per step, delays of
// 0..3 steps), time constants in ms, the references with dt explicit; within 1e-12.
// reward_switch_stdp's decays are SPAIC's fixed per-step factors and rate_modulation counts
// spikes: at 0.1 ms they must do per step what they do at 1 ms.

/// The time step of the cases below, ms.
const DT: f64 = 0.1;
/// Delays of 0 to 3 steps of [`DT`].
const DELAYS_DT: &str = "{ dist = \"uniform\", low = \"0 ms\", high = \"0.3 ms\" }";

#[test]
fn rstdp_at_dt_0_1_traces_decay_by_exp_dt_over_tau() {
    // p_plus = a_plus*s_pre + exp(-dt/tau_plus)*p_plus with tau_plus = 1 ms (10 steps),
    // tau_minus = 1.4 ms (14 steps).
    let p = R { tau_plus: 1.0, tau_minus: 1.4, ..RP };
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, &p.toml("rstdp", ""), STEPS, ""), DT, STEPS), closed_loop(5));
    assert!(tr.syn.iter().any(|s| s.d == 0) && tr.syn.iter().any(|s| s.d == 3), "delays of 0..3 steps");
    tr.check(&reference_rstdp(&tr, DT, p, false, None), 1e-12, "rstdp at dt = 0.1 ms");
}

#[test]
fn rstdp_et_at_dt_0_1_scales_lr_and_eligibility_by_dt() {
    // W += lr*dt*R*E_prev; E = exp(-dt/tau_e_trace)*E + (dt/tau_e)*e, with tau_e_trace = 3 ms
    // and tau_e = 0.8 ms; traces as rstdp.
    let p = R { tau_plus: 1.0, tau_minus: 1.4, ..RP };
    let rule = p.toml("rstdp_et", ", tau_e_trace = \"3 ms\", tau_e = \"0.8 ms\"");
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, &rule, STEPS, ""), DT, STEPS), random_rewards(11));
    tr.check(&reference_rstdp(&tr, DT, p, false, Some((3.0, 0.8))), 1e-12, "rstdp_et at dt = 0.1 ms");
    // The defaults (every tau 20 or 25 ms), dense, dendritic, closed loop.
    let tr = run(&at_dt(&scenario_text(DENSE, DELAYS_DT, "{ rule = \"rstdp_et\", lr = 0.05, delay = \"dendritic\" }", STEPS, ""), DT, STEPS), closed_loop(13));
    let p = R { lr: 0.05, tau_plus: 20.0, tau_minus: 20.0, a_plus: 1.0, a_minus: -1.0 };
    tr.check(&reference_rstdp(&tr, DT, p, true, Some((25.0, 25.0))), 1e-12, "rstdp_et defaults at dt = 0.1 ms");
}

#[test]
fn conv2d_rstdp_at_dt_0_1_traces_decay_by_exp_dt_over_tau() {
    let p = R { lr: 1e-3, tau_plus: 1.0, tau_minus: 1.4, ..RP };
    let text = shaped_text("shape = [1, 5, 5]", "shape = [2, 3, 3]", 18, "rule = \"conv2d\"\nkernel_size = 3", "\"0.1 ms\"", &p.toml("conv2d_rstdp", ""), STEPS, "");
    let tr = run(&at_dt(&text, DT, STEPS), random_rewards(23));
    assert_eq!(tr.w0.len(), 18, "2 kernels of 3 x 3");
    assert!(tr.syn.iter().all(|s| s.d == 1), "0.1 ms is one step");
    tr.check(&reference_conv(&tr, DT, p), 1e-12, "conv2d_rstdp at dt = 0.1 ms");
}

#[test]
fn reward_switch_at_dt_0_1_decays_per_step_not_per_ms() {
    // Default decays: exp(-1/20) per step at any dt (SPAIC's np.exp(-1/20.0)).
    let rule = "{ rule = \"reward_switch_stdp\", w_min = 0.05, w_max = 0.45 }";
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, rule, STEPS, ""), DT, STEPS), random_rewards(17));
    let e20 = (-1.0f64 / 20.0).exp();
    let p = Sw { pos: (5e-3, -4e-3), neg: (-5e-3, 4e-3), pre_decay: e20, post_decay: e20, w_min: 0.05, w_max: 0.45 };
    tr.check(&reference_switch(&tr, p, false), 1e-12, "reward_switch_stdp at dt = 0.1 ms");
}

#[test]
fn rate_modulation_at_dt_0_1_counts_spikes_per_step() {
    // The loss is alpha*||count - m_r||: spike counts, not rates (no dt).
    let rule = "{ rule = \"rate_modulation\", m_r = 12, alpha = 0.01 }";
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, rule, STEPS, ""), DT, STEPS), |_, _| None);
    let mut count = [0u64; 6];
    for (t, post) in tr.post.iter().enumerate() {
        for (c, &s) in count.iter_mut().zip(post) {
            *c += s as u64;
        }
        let want = 0.01 * count.iter().map(|&c| (c as f64 - 12.0).powi(2)).sum::<f64>().sqrt();
        assert!((tr.rate_loss[t] - want).abs() <= 1e-12 * want.max(1.0), "step {t}: loss {} vs {want}", tr.rate_loss[t]);
        assert_eq!(tr.w[t], tr.w0, "step {t}: rate_modulation changes no weight");
    }
}
