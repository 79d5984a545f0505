#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

/// Registers `hh_cond_exp_traub`.
pub struct HhPlugin;

impl Plugin for HhPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_neuron_model::<HhCondExpTraub>();
    }
}

/// `x/(e^x − 1) = 1/exprel(x)`, 1 at x = 0 (Brian2 writes the rates with `exprel`, which
/// calls `expm1`), given `e = e^x`.
///
/// `Lanes` has no `expm1`: `e^x − 1` loses `eps/|x|` of relative precision near 0, so
/// below |x| = 1e-3 the series `1 − x/2 + x²/12 − x⁴/720` is used instead (truncation
/// error < x⁶/30240 < 1e-22); above, the direct form's relative error is < 2.3e-13. Both
/// branches are computed and one selected, so the tensor engine needs no branch.
#[inline(always)]
pub fn inv_exprel_with<L: Lanes>(x: L, e: L) -> L {
    let small = x.clone().abs().lt(1e-3);
    let x2 = x.clone() * x.clone();
    let series = (x2.clone() * (-1.0 / 720.0) + 1.0 / 12.0) * x2 - x.clone() * 0.5 + 1.0;
    // NOTE: at x = 0 this is 0/0 = NaN, discarded by the select below.
    let direct = x / (e - 1.0);
    L::select(&small, series, direct)
}

/// `x/(e^x − 1)`: see [`inv_exprel_with`].
#[inline(always)]
pub fn inv_exprel<L: Lanes>(x: L) -> L {
    let e = x.clone().exp();
    inv_exprel_with(x, e)
}


/// `hh_cond_exp_traub`: Hodgkin–Huxley neuron with Traub–Miles sodium and potassium
/// channels and exponentially decaying synaptic conductances (NEST `hh_cond_exp_traub`;
/// Brian2's COBAHH example, benchmark 3 of Brette et al. 2007), integrated with Brian2's
/// exponential Euler.
pub struct HhCondExpTraub;

/// The Traub–Miles rate functions, shifted by `v_t`: the offsets `13 mV + v_t` (α_m),
/// `v_t + 40 mV` (β_m, β_h), `17 mV + v_t` (α_h), `15 mV + v_t` (α_n), `10 mV + v_t` (β_n).
#[derive(Clone, Debug)]
pub struct TraubRates {
    c13: f64,
    c40: f64,
    c17: f64,
    c15: f64,
    c10: f64,
}

impl TraubRates {
    /// The rates of a cell with offset `v_t` (mV).
    pub fn new(v_t: f64) -> Self {
        TraubRates { c13: 13.0 + v_t, c40: v_t + 40.0, c17: 17.0 + v_t, c15: 15.0 + v_t, c10: 10.0 + v_t }
    }

    /// The opening and closing rates (1/ms) at membrane potential `v` (mV):
    /// `[α_m, β_m, α_h, β_h, α_n, β_n]`.
    #[inline(always)]
    pub fn at<L: Lanes>(&self, v: &L) -> [L; 6] {
        let am = inv_exprel((-v.clone() + self.c13) * 0.25) * 1.28;
        // β_m and β_h share one exponential: with x = (v − v_t − 40)/5,
        // β_m = 1.4 x/(e^x − 1) and β_h = 4/(1 + e^−x) = 4 e^x/(e^x + 1) (capped so that
        // e^x = ∞ gives 4, not ∞/∞).
        let x = (v.clone() - self.c40) * 0.2;
        let e = x.clone().exp();
        let bm = inv_exprel_with(x, e.clone()) * 1.4;
        let e = e.min_c(1e300);
        let bh = e.clone() * 4.0 / (e + 1.0);
        let ah = ((-v.clone() + self.c17) * (1.0 / 18.0)).exp() * 0.128;
        let an = inv_exprel((-v.clone() + self.c15) * 0.2) * 0.16;
        let bn = ((-v.clone() + self.c10) * (1.0 / 40.0)).exp() * 0.5;
        [am, bm, ah, bh, an, bn]
    }
}

/// Precomputed constants of [`HhCondExpTraub`].
#[derive(Clone, Debug)]
pub struct HhCoeffs {
    rates: TraubRates,
    neg_dt: f64,
    neg_dt_over_c: f64,
    g_l: f64,
    /// `g_l e_l + i_e`.
    i_leak: f64,
    g_na: f64,
    e_na: f64,
    g_k: f64,
    e_k: f64,
    e_ex: f64,
    e_in: f64,
    decay_ex: f64,
    decay_in: f64,
    v_th: f64,
    ref_steps: f64,
}

/// Exponential Euler for `dx/dt = α(1 − x) − βx`: `x∞ + (x − x∞) e^{−dt(α+β)}`, `x∞ = α/(α+β)`.
#[inline(always)]
fn gate<L: Lanes>(x: L, a: L, b: L, neg_dt: f64) -> L {
    let s = a.clone() + b;
    let x_inf = a / s.clone();
    let decay = (s * neg_dt).exp();
    x_inf.clone() + (x - x_inf) * decay
}

fn check(p: &Params, name: &str, ok: impl Fn(f64) -> bool, expected: &str) -> Result<f64, String> {
    let v = p.get(name);
    if ok(v) { Ok(v) } else { Err(format!("parameter `{name}` must be {expected} (found {v})")) }
}

impl NeuronDynamics for HhCondExpTraub {
    const NAME: &'static str = "hh_cond_exp_traub";
    const DOC: &'static str = "c_m dv/dt = g_l (e_l - v) + g_ex (e_ex - v) + g_in (e_in - v) - g_na m³h (v - e_na) - g_k n⁴ (v - e_k) + i_e + i; \
        dx/dt = α_x(v)(1 - x) - β_x(v) x for x = m, h, n with Traub-Miles rates (u = v - v_t, mV, 1/ms): \
        α_m = 0.32(13 - u)/(e^((13-u)/4) - 1), β_m = 0.28(u - 40)/(e^((u-40)/5) - 1), α_h = 0.128 e^((17-u)/18), \
        β_h = 4/(1 + e^((40-u)/5)), α_n = 0.032(15 - u)/(e^((15-u)/5) - 1), β_n = 0.5 e^((10-u)/40); dg_x/dt = -g_x/tau_syn_x. \
        Exponential Euler as Brian2 (every variable from the old values). A spike at `exc`/`inh` adds its weight (nS) to g_ex/g_in. \
        Spike when v > v_th and the last spike is at least t_ref ago (no reset). Defaults: the COBAHH benchmark cell \
        (Brette et al. 2007, benchmark 3; NEST hh_cond_exp_traub; Brian2 example COBAHH).";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::new("c_m", Dim::Capacitance, 200.0, "membrane capacitance (1 uF/cm² × 20000 um²)"),
        ParamSpec::new("g_l", Dim::Conductance, 10.0, "leak conductance (5e-5 S/cm² × 20000 um²)"),
        ParamSpec::new("e_l", Dim::Voltage, -60.0, "leak reversal potential"),
        ParamSpec::new("g_na", Dim::Conductance, 20000.0, "maximal sodium conductance (100 mS/cm² × 20000 um²)"),
        ParamSpec::new("e_na", Dim::Voltage, 50.0, "sodium reversal potential"),
        ParamSpec::new("g_k", Dim::Conductance, 6000.0, "maximal delayed-rectifier potassium conductance (30 mS/cm² × 20000 um²)"),
        ParamSpec::new("e_k", Dim::Voltage, -90.0, "potassium reversal potential"),
        ParamSpec::new("v_t", Dim::Voltage, -63.0, "offset of the rate functions (Traub's V_T)"),
        ParamSpec::new("e_ex", Dim::Voltage, 0.0, "excitatory reversal potential"),
        ParamSpec::new("e_in", Dim::Voltage, -80.0, "inhibitory reversal potential"),
        ParamSpec::new("tau_syn_ex", Dim::Time, 5.0, "excitatory conductance time constant"),
        ParamSpec::new("tau_syn_in", Dim::Time, 10.0, "inhibitory conductance time constant"),
        ParamSpec::new("v_th", Dim::Voltage, -20.0, "spike detection threshold (v > v_th)"),
        ParamSpec::new("t_ref", Dim::Time, 3.0, "time after a spike during which no new spike is emitted (v is not clamped)"),
        ParamSpec::new("i_e", Dim::Current, 0.0, "constant external current"),
    ];
    const VARS: &'static [VarSpec] = &[
        VarSpec { name: "v", dim: Dim::Voltage, doc: "membrane potential" },
        VarSpec { name: "m", dim: Dim::Dimensionless, doc: "sodium activation" },
        VarSpec { name: "h", dim: Dim::Dimensionless, doc: "sodium inactivation" },
        VarSpec { name: "n", dim: Dim::Dimensionless, doc: "potassium activation" },
        VarSpec { name: "g_ex", dim: Dim::Conductance, doc: "excitatory conductance" },
        VarSpec { name: "g_in", dim: Dim::Conductance, doc: "inhibitory conductance" },
        VarSpec { name: "refr", dim: Dim::Dimensionless, doc: "steps left during which no spike is emitted (0 = free)" },
    ];
    const RECEPTORS: &'static [ReceptorSpec] = &[
        ReceptorSpec { name: "exc", kind: ReceptorKind::Spike, dim: Dim::Conductance, doc: "adds to g_ex" },
        ReceptorSpec { name: "inh", kind: ReceptorKind::Spike, dim: Dim::Conductance, doc: "adds to g_in" },
        ReceptorSpec { name: "i", kind: ReceptorKind::Current, dim: Dim::Current, doc: "injected current, held for the step" },
    ];
    type Coeffs = HhCoeffs;

    fn coeffs(p: &Params, dt: f64) -> Result<HhCoeffs, String> {
        let pos = |x: f64| x > 0.0;
        let nonneg = |x: f64| x >= 0.0;
        let c_m = check(p, "c_m", pos, "> 0")?;
        // NOTE: v's update divides by the total conductance; a positive leak keeps it > 0
        // whenever the synaptic conductances are >= 0.
        let g_l = check(p, "g_l", pos, "> 0 (the update divides by the total conductance)")?;
        let g_na = check(p, "g_na", nonneg, ">= 0")?;
        let g_k = check(p, "g_k", nonneg, ">= 0")?;
        let tau_ex = check(p, "tau_syn_ex", pos, "> 0")?;
        let tau_in = check(p, "tau_syn_in", pos, "> 0")?;
        let t_ref = check(p, "t_ref", nonneg, ">= 0")?;
        let v_t = p.get("v_t");
        Ok(HhCoeffs {
            rates: TraubRates::new(v_t),
            neg_dt: -dt,
            neg_dt_over_c: -dt / c_m,
            g_l,
            i_leak: g_l * p.get("e_l") + p.get("i_e"),
            g_na,
            e_na: p.get("e_na"),
            g_k,
            e_k: p.get("e_k"),
            e_ex: p.get("e_ex"),
            e_in: p.get("e_in"),
            decay_ex: (-dt / tau_ex).exp(),
            decay_in: (-dt / tau_in).exp(),
            v_th: p.get("v_th"),
            ref_steps: refractory_steps(t_ref, dt),
        })
    }

    /// v = e_l, gates at their steady state there (as NEST), no conductance.
    fn initial(p: &Params) -> Vec<f64> {
        let e_l = p.get("e_l");
        let [am, bm, ah, bh, an, bn] = TraubRates::new(p.get("v_t")).at::<f64>(&e_l);
        vec![e_l, am / (am + bm), ah / (ah + bh), an / (an + bn), 0.0, 0.0, 0.0]
    }

    #[inline(always)]
    fn step<L: Lanes>(c: &HhCoeffs, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone();
        let ge = s[4].clone() + input[0].clone();
        let gi = s[5].clone() + input[1].clone();
        let [am, bm, ah, bh, an, bn] = c.rates.at(&v);
        let (m, h, n) = (s[1].clone(), s[2].clone(), s[3].clone());
        // v is linear in v given the old gates and conductances:
        // c_m dv/dt = I - G v  ->  v∞ = I/G, v ← v∞ + (v − v∞) e^{−dt G/c_m}.
        let g_na = m.clone() * m.clone() * m.clone() * h.clone() * c.g_na;
        let n2 = n.clone() * n.clone();
        let g_k = n2.clone() * n2 * c.g_k;
        let g_tot = g_na.clone() + g_k.clone() + ge.clone() + gi.clone() + c.g_l;
        let i_tot = g_na * c.e_na + g_k * c.e_k + ge.clone() * c.e_ex + gi.clone() * c.e_in + input[2].clone() + c.i_leak;
        let v_inf = i_tot / g_tot.clone();
        let v_new = v_inf.clone() + (v - v_inf) * (g_tot * c.neg_dt_over_c).exp();
        s[1] = gate(m, am, bm, c.neg_dt);
        s[2] = gate(h, ah, bh, c.neg_dt);
        s[3] = gate(n, an, bn, c.neg_dt);
        s[4] = ge * c.decay_ex;
        s[5] = gi * c.decay_in;
        // Brian2: `v > v_th` while not refractory; refractoriness only blocks the threshold.
        let r = s[6].clone();
        let refractory = r.gt(0.5);
        let spike = L::and_not(&v_new.gt(c.v_th), &refractory);
        let r_dec = L::select(&refractory, r.clone() - 1.0, r);
        s[6] = L::select_const(&spike, c.ref_steps, r_dec);
        s[0] = v_new;
        spike
    }
}
