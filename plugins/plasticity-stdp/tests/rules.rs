//! Every rule against its source's formula, recomputed here per synapse (each synapse with
//! traces of its own, fed the spike trains it sees after its delay), every weight at every
//! step. Random spike trains on both sides, sparse and dense projections, per-synapse
//! delays, axonal and dendritic. Tolerance: bit-equal (`0.0`; a shared kernel's sums are
//! exact and rounded once); the dt = 0.1 ms cases within 1e-12 relative.

mod common;

use common::{Syn, Trial, at_dt, fsum, run, scenario_text, shaped_text};

const SPARSE: &str = "rule = \"pairwise_bernoulli\"\np = 0.5";
const DENSE: &str = "rule = \"all_to_all\"";
const DELAYS: &str = "{ dist = \"uniform\", low = \"0 ms\", high = \"3 ms\" }";
const STEPS: u64 = 300;

/// (pre lag, post lag) of a synapse.
fn lags(s: Syn, dendritic: bool) -> (u64, u64) {
    if dendritic { (0, s.d) } else { (s.d, 0) }
}

/// Brian2's STDP example per synapse, its traces event-driven: each side's trace is kept
/// as (value just after the last spike that reached the synapse, that step) and read as
/// `value * exp(-(t - step)*dt/tau)` (`dt` and the taus in ms); presynaptic pathway first,
/// then postsynaptic.
#[expect(clippy::too_many_arguments, reason = "a reference's parameters")]
fn reference_stdp(tr: &Trial, dt: f64, tau_pre: f64, tau_post: f64, a_pre: f64, a_post: f64, w_max: f64, dendritic: bool) -> Vec<Vec<f64>> {
    let read = |v: (f64, u64), t: u64, tau: f64| if v.1 == u64::MAX { 0.0 } else { v.0 * (-((t - v.1) as f64) * (dt / tau)).exp() };
    let mut w = tr.w0.clone();
    let (mut apre, mut apost) = (vec![(0.0f64, u64::MAX); w.len()], vec![(0.0f64, u64::MAX); w.len()]);
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            if tr.pre_at(s, t, pl) {
                apre[k] = (read(apre[k], t, tau_pre) + a_pre, t);
                w[k] = (w[k] + read(apost[k], t, tau_post)).clamp(0.0, w_max);
            }
            if tr.post_at(s, t, ql) {
                apost[k] = (read(apost[k], t, tau_post) + a_post, t);
                w[k] = (w[k] + read(apre[k], t, tau_pre)).clamp(0.0, w_max);
            }
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn stdp_sparse_axonal_delays() {
    let rule = "{ rule = \"stdp\", tau_pre = \"10 ms\", tau_post = \"12 ms\", a_pre = 0.01, a_post = -0.0105, w_max = 0.5 }";
    let tr = run(&scenario_text(SPARSE, DELAYS, rule, STEPS));
    assert!(tr.syn.iter().any(|s| s.d == 0) && tr.syn.iter().any(|s| s.d == 3));
    tr.check(&reference_stdp(&tr, 1.0, 10.0, 12.0, 0.01, -0.0105, 0.5, false), 0.0, "stdp sparse axonal");
}

#[test]
fn stdp_dense_dendritic_delays() {
    let rule = "{ rule = \"stdp\", tau_pre = \"10 ms\", tau_post = \"12 ms\", a_pre = 0.01, a_post = -0.0105, w_max = 0.5, delay = \"dendritic\" }";
    let tr = run(&scenario_text(DENSE, DELAYS, rule, STEPS));
    tr.check(&reference_stdp(&tr, 1.0, 10.0, 12.0, 0.01, -0.0105, 0.5, true), 0.0, "stdp dense dendritic");
}

#[derive(Clone, Copy, PartialEq)]
enum Fw {
    AbsEps,
    Normalized,
    Constant,
}

fn f_w(fw: Fw, w: &[f64]) -> Vec<f64> {
    match fw {
        Fw::AbsEps => w.iter().map(|x| x.abs() + 1e-6).collect(),
        Fw::Constant => vec![1.0; w.len()],
        Fw::Normalized => {
            // Exact, rounded once (the rule's sum is the same in any number of shards).
            let sum = fsum(w.iter().map(|x| x.abs()));
            w.iter().map(|x| x.abs() / (sum + 1e-6)).collect()
        }
    }
}

/// SpikingFlow's STDPModule.forward / STDPUpdater.update, per synapse.
fn reference_sf(tr: &Trial, tau_pre: f64, tau_post: f64, lr: f64, fw: Fw, updater: bool, inverse: bool, dendritic: bool) -> Vec<Vec<f64>> {
    let mut w = tr.w0.clone();
    let (mut x, mut y) = (vec![0.0f64; w.len()], vec![0.0f64; w.len()]);
    let z = |b: bool| if b { 1.0 } else { 0.0 };
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        for (k, &s) in tr.syn.iter().enumerate() {
            x[k] += -x[k] / tau_pre + z(tr.pre_at(s, t, lags(s, dendritic).0));
        }
        let post_update = |y: &mut Vec<f64>| {
            for (k, &s) in tr.syn.iter().enumerate() {
                y[k] += -y[k] / tau_post + z(tr.post_at(s, t, lags(s, dendritic).1));
            }
        };
        if !updater {
            let f = f_w(fw, &w);
            for k in 0..w.len() {
                w[k] += -(lr * f[k] * y[k]);
            }
            post_update(&mut y);
            let f = f_w(fw, &w);
            for k in 0..w.len() {
                w[k] += lr * f[k] * x[k];
            }
        } else {
            post_update(&mut y);
            let f = f_w(fw, &w);
            for k in 0..w.len() {
                if inverse { w[k] -= lr * f[k] * x[k] } else { w[k] += lr * f[k] * x[k] }
            }
            let f = f_w(fw, &w);
            for k in 0..w.len() {
                if inverse { w[k] += lr * f[k] * y[k] } else { w[k] -= lr * f[k] * y[k] }
            }
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn sf_stdp_module_dense() {
    let rule = "{ rule = \"sf_stdp\", tau_pre = 10, tau_post = 10, learning_rate = 1e-3 }";
    let tr = run(&scenario_text(DENSE, "\"2 ms\"", rule, STEPS));
    tr.check(&reference_sf(&tr, 10.0, 10.0, 1e-3, Fw::AbsEps, false, false, false), 0.0, "sf_stdp module");
}

#[test]
fn sf_stdp_updater_normalized_sparse_delays() {
    let rule = "{ rule = \"sf_stdp\", tau_pre = 5, tau_post = 8, learning_rate = 0.1, f_w = \"normalized\", variant = \"updater\" }";
    let tr = run(&scenario_text(SPARSE, DELAYS, rule, STEPS));
    tr.check(&reference_sf(&tr, 5.0, 8.0, 0.1, Fw::Normalized, true, false, false), 0.0, "sf_stdp updater normalized");
}

#[test]
fn sf_stdp_updater_inverse_constant_dendritic() {
    let rule = "{ rule = \"sf_stdp\", tau_pre = 5, tau_post = 8, learning_rate = 1e-3, f_w = \"constant\", variant = \"updater\", inverse = true, delay = \"dendritic\" }";
    let tr = run(&scenario_text(SPARSE, DELAYS, rule, STEPS));
    tr.check(&reference_sf(&tr, 5.0, 8.0, 1e-3, Fw::Constant, true, true, true), 0.0, "sf_stdp inverse dendritic");
}

#[derive(Clone, Copy)]
struct Norse {
    k_pre: f64,
    k_post: f64,
    a_pre: f64,
    a_post: f64,
    w_min: f64,
    w_max: f64,
    eta_plus: f64,
    eta_minus: f64,
    alg: &'static str,
    mu: f64,
    hardbound: bool,
}

impl Norse {
    fn a_plus(&self, w: f64) -> f64 {
        let h = |x: f64| if x > 0.0 { 1.0 } else { 0.0 };
        match self.alg {
            "additive" => self.eta_plus,
            "additive_step" => self.eta_plus * h(self.w_max - w),
            "multiplicative_pow" => self.eta_plus * (self.w_max - w).powf(self.mu),
            _ => self.eta_plus * (self.w_max - w).max(0.0),
        }
    }
    fn a_minus(&self, w: f64) -> f64 {
        let h = |x: f64| if x > 0.0 { 1.0 } else { 0.0 };
        match self.alg {
            "additive" => self.eta_minus,
            "additive_step" => self.eta_minus * h(w - self.w_min),
            "multiplicative_pow" => self.eta_minus * (w - self.w_min).powf(self.mu),
            _ => self.eta_minus * (w - self.w_min).max(0.0),
        }
    }
    fn bound(&self, w: f64) -> f64 {
        if self.hardbound { w.clamp(self.w_min, self.w_max) } else { w }
    }
    fn toml(&self, extra: &str) -> String {
        format!(
            "{{ rule = \"norse_stdp\", tau_pre = \"{}ms\", tau_post = \"{}ms\", a_pre = {}, a_post = {}, w_min = {}, w_max = {}, eta_plus = {}, eta_minus = {}, algorithm = \"{}\", mu = {}, hardbound = {}{extra} }}",
            1.0 / self.k_pre,
            1.0 / self.k_post,
            self.a_pre,
            self.a_post,
            self.w_min,
            self.w_max,
            self.eta_plus,
            self.eta_minus,
            self.alg,
            self.mu,
            self.hardbound
        )
    }
}

const NORSE: Norse = Norse { k_pre: 0.2, k_post: 0.125, a_pre: 1.0, a_post: 1.5, w_min: 0.05, w_max: 0.45, eta_plus: 0.02, eta_minus: 0.025, alg: "additive", mu: 0.0, hardbound: true };

/// Norse's stdp_step_linear per synapse (or, with a kernel, stdp_step_conv2d: the
/// changes of the synapses sharing a kernel entry summed).
fn reference_norse(tr: &Trial, p: Norse, dendritic: bool) -> Vec<Vec<f64>> {
    let mut w = tr.w0.clone();
    let n = tr.syn.len();
    let (mut x, mut y) = (vec![0.0f64; n], vec![0.0f64; n]);
    let z = |b: bool| if b { 1.0 } else { 0.0 };
    let mut out = Vec::new();
    for t in 0..tr.w.len() as u64 {
        let (mut zpre, mut zpost) = (vec![0.0; n], vec![0.0; n]);
        for (k, &s) in tr.syn.iter().enumerate() {
            let (pl, ql) = lags(s, dendritic);
            zpre[k] = z(tr.pre_at(s, t, pl));
            zpost[k] = z(tr.post_at(s, t, ql));
            x[k] = x[k] + p.k_pre * (-x[k] + p.a_pre * zpre[k]);
            y[k] = y[k] + p.k_post * (-y[k] + p.a_post * zpost[k]);
        }
        match &tr.kernel {
            None => {
                for k in 0..n {
                    let dwp = p.a_plus(w[k]) * (zpost[k] * x[k]);
                    let dwm = p.a_minus(w[k]) * (y[k] * zpre[k]);
                    w[k] = p.bound(w[k] + (dwp - dwm));
                }
            }
            Some(kernel) => {
                // Each entry's terms, summed exactly (as the rule does, so that shards agree).
                let (mut plus, mut minus) = (vec![Vec::new(); w.len()], vec![Vec::new(); w.len()]);
                for k in 0..n {
                    plus[kernel[k]].push(zpost[k] * x[k]);
                    minus[kernel[k]].push(y[k] * zpre[k]);
                }
                for c in 0..w.len() {
                    let (pl, mi) = (fsum(plus[c].iter().copied()), fsum(minus[c].iter().copied()));
                    w[c] = p.bound(w[c] + (p.a_plus(w[c]) * pl - p.a_minus(w[c]) * mi));
                }
            }
        }
        out.push(w.clone());
    }
    out
}

#[test]
fn norse_additive_sparse_axonal_delays() {
    let tr = run(&scenario_text(SPARSE, DELAYS, &NORSE.toml(""), STEPS));
    tr.check(&reference_norse(&tr, NORSE, false), 0.0, "norse additive");
}

#[test]
fn norse_additive_step_dense_dendritic() {
    let p = Norse { alg: "additive_step", ..NORSE };
    let tr = run(&scenario_text(DENSE, DELAYS, &p.toml(", delay = \"dendritic\""), STEPS));
    tr.check(&reference_norse(&tr, p, true), 0.0, "norse additive_step dendritic");
}

#[test]
fn norse_multiplicative_pow() {
    let p = Norse { alg: "multiplicative_pow", mu: 0.5, ..NORSE };
    let tr = run(&scenario_text(SPARSE, DELAYS, &p.toml(""), STEPS));
    tr.check(&reference_norse(&tr, p, false), 0.0, "norse multiplicative_pow");
}

#[test]
fn norse_multiplicative_relu_unbounded() {
    let p = Norse { alg: "multiplicative_relu", hardbound: false, eta_plus: 0.05, eta_minus: 0.05, ..NORSE };
    let tr = run(&scenario_text(DENSE, "\"1 ms\"", &p.toml(""), STEPS));
    tr.check(&reference_norse(&tr, p, false), 0.0, "norse multiplicative_relu");
}

#[test]
fn norse_conv2d_shared_kernel() {
    let p = Norse { eta_plus: 0.002, eta_minus: 0.0025, ..NORSE };
    let text = shaped_text("shape = [1, 5, 5]", "shape = [2, 3, 3]", 18, "rule = \"conv2d\"\nkernel_size = 3", "\"1 ms\"", &p.toml(""), STEPS);
    let tr = run(&text);
    assert_eq!(tr.w0.len(), 18, "2 kernels of 3 x 3");
    tr.check(&reference_norse(&tr, p, false), 0.0, "norse conv2d");
}

// ---- dt = 0.1 ms -----------------------------------------------------------------------
//
// At dt = 1 ms, dt/tau == 1/tau: a rule that dropped dt from a decay would pass every test
// above. The same network at dt = 0.1 ms (the same spike probability per step, delays of
// 0..3 steps), time constants in ms, each reference with dt explicit; within 1e-12.

/// The time step of the cases below, ms.
const DT: f64 = 0.1;
/// Delays of 0 to 3 steps of [`DT`].
const DELAYS_DT: &str = "{ dist = \"uniform\", low = \"0 ms\", high = \"0.3 ms\" }";

#[test]
fn stdp_at_dt_0_1_traces_decay_by_dt_over_tau() {
    // tau_pre = 1 ms, tau_post = 1.2 ms: 10 and 12 steps; the traces decay by
    // exp(-n*dt/tau) over n steps.
    let rule = "{ rule = \"stdp\", tau_pre = \"1 ms\", tau_post = \"1.2 ms\", a_pre = 0.01, a_post = -0.0105, w_max = 0.5 }";
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, rule, STEPS), DT, STEPS));
    assert!(tr.syn.iter().any(|s| s.d == 0) && tr.syn.iter().any(|s| s.d == 3), "delays of 0..3 steps");
    tr.check(&reference_stdp(&tr, DT, 1.0, 1.2, 0.01, -0.0105, 0.5, false), 1e-12, "stdp at dt = 0.1 ms");
}

#[test]
fn stdp_at_dt_0_1_dense_dendritic() {
    let rule = "{ rule = \"stdp\", tau_pre = \"0.7 ms\", tau_post = \"2.5 ms\", a_pre = 0.01, a_post = -0.0105, w_max = 0.5, delay = \"dendritic\" }";
    let tr = run(&at_dt(&scenario_text(DENSE, DELAYS_DT, rule, STEPS), DT, STEPS));
    tr.check(&reference_stdp(&tr, DT, 0.7, 2.5, 0.01, -0.0105, 0.5, true), 1e-12, "stdp dense dendritic at dt = 0.1 ms");
}

#[test]
fn sf_stdp_at_dt_0_1_keeps_its_taus_in_steps() {
    // SpikingFlow's tau_pre/tau_post are in steps (dimensionless keys): the traces decay by
    // 1/tau per step whatever dt is (x += -x/tau + z, no dt).
    let rule = "{ rule = \"sf_stdp\", tau_pre = 5, tau_post = 8, learning_rate = 0.1, f_w = \"normalized\", variant = \"updater\" }";
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, rule, STEPS), DT, STEPS));
    tr.check(&reference_sf(&tr, 5.0, 8.0, 0.1, Fw::Normalized, true, false, false), 1e-12, "sf_stdp updater at dt = 0.1 ms");
    let rule = "{ rule = \"sf_stdp\", tau_pre = 10, tau_post = 10, learning_rate = 1e-3 }";
    let tr = run(&at_dt(&scenario_text(DENSE, "\"0.2 ms\"", rule, STEPS), DT, STEPS));
    tr.check(&reference_sf(&tr, 10.0, 10.0, 1e-3, Fw::AbsEps, false, false, false), 1e-12, "sf_stdp module at dt = 0.1 ms");
}

#[test]
fn norse_at_dt_0_1_traces_step_by_dt_over_tau() {
    // Norse: x += dt/tau_pre*(-x + a_pre*z_pre), y += dt/tau_post*(-y + a_post*z_post), with
    // tau_pre = 0.5 ms and tau_post = 0.8 ms (k = 0.2 and 0.125 per step, as NORSE at 1 ms).
    let (tau_pre, tau_post) = (0.5, 0.8);
    let p = Norse { k_pre: DT / tau_pre, k_post: DT / tau_post, ..NORSE };
    let rule = format!(
        "{{ rule = \"norse_stdp\", tau_pre = \"{tau_pre} ms\", tau_post = \"{tau_post} ms\", a_pre = {}, a_post = {}, w_min = {}, w_max = {}, eta_plus = {}, eta_minus = {} }}",
        p.a_pre, p.a_post, p.w_min, p.w_max, p.eta_plus, p.eta_minus
    );
    let tr = run(&at_dt(&scenario_text(SPARSE, DELAYS_DT, &rule, STEPS), DT, STEPS));
    tr.check(&reference_norse(&tr, p, false), 1e-12, "norse additive at dt = 0.1 ms");
    // Multiplicative, dendritic, other taus.
    let (tau_pre, tau_post) = (1.5, 0.3);
    let p = Norse { k_pre: DT / tau_pre, k_post: DT / tau_post, alg: "multiplicative_relu", eta_plus: 0.05, eta_minus: 0.05, ..NORSE };
    let rule = format!(
        "{{ rule = \"norse_stdp\", tau_pre = \"{tau_pre} ms\", tau_post = \"{tau_post} ms\", a_pre = {}, a_post = {}, w_min = {}, w_max = {}, eta_plus = {}, eta_minus = {}, algorithm = \"multiplicative_relu\", delay = \"dendritic\" }}",
        p.a_pre, p.a_post, p.w_min, p.w_max, p.eta_plus, p.eta_minus
    );
    let tr = run(&at_dt(&scenario_text(DENSE, DELAYS_DT, &rule, STEPS), DT, STEPS));
    tr.check(&reference_norse(&tr, p, true), 1e-12, "norse multiplicative_relu dendritic at dt = 0.1 ms");
}

/// The rules' exact sums (`util::exact`, a superaccumulator) against CPython's `fsum`
/// (Shewchuk's partials, `spikeworld::testing::fsum`), two independent exact algorithms:
/// both signs, cancellation, magnitudes from 2^-1074 to 2^1000.
#[test]
fn exact_sums_agree_with_fsum() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for trial in 0..20_000 {
        let n = 1 + (next() % 40) as usize;
        // A few binades per trial (values that interact), somewhere in the whole range.
        // (Exponent fields 0, subnormal, to 2023, 2^1000.)
        let base = next() % 2000;
        let v: Vec<f64> = (0..n)
            .map(|_| {
                let r = next();
                let field = (base + r % 60).min(2023);
                f64::from_bits(field << 52 | next() >> 12 | (r & 1) << 63)
            })
            .collect();
        let mut acc = spikeworld::util::exact::ExactSum::new();
        v.iter().for_each(|&x| acc.add(x));
        let want = fsum(v.iter().copied());
        let want = if want == 0.0 { 0.0 } else { want };
        assert_eq!(acc.value().to_bits(), want.to_bits(), "trial {trial}: {v:?}");
    }
}
