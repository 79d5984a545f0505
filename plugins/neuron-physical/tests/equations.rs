//! Each model against its equations, computed independently here (a plain loop over the
//! formula, not the model's code) and compared step by step, bit for bit: the loop
//! evaluates the same IEEE operations in the same order as the model, so any difference
//! in the scheme (order of input, update, threshold, reset, refractoriness; which value of
//! v a term sees) shows as a mismatch. Also: bad parameters are refused with a message
//! that names the parameter.

mod common;
use common::*;
use spikeworld::prelude::*;

const DT: f64 = 0.1;

/// Input spikes `(receptor, emission time ms, weight)`; each reaches every neuron.
type Inputs<'a> = &'a [(&'a str, f64, f64)];

/// Reference states `[var][step][neuron]` and spikes `(step, neuron)`.
type Reference = (Vec<Vec<Vec<f64>>>, Vec<(u64, i64)>);

/// An Izhikevich case: (what, params, (a, b, c, d), half steps, v_min).
type IzhCase = (String, String, [f64; 4], bool, Option<f64>);

/// Runs `n` neurons of `model` with `params` (TOML inline-table body), a constant current
/// per neuron, and `inputs`; returns `(recorded state per variable per step, spike steps)`.
fn simulate(model: &str, params: &str, amps: &[f64], inputs: Inputs<'_>, vars: &[&str], t_stop: f64) -> (Vec<Vec<f64>>, Vec<(u64, i64)>) {
    let amps_s: Vec<String> = amps.iter().map(|a| format!("{a:?}")).collect();
    let vars_s: Vec<String> = vars.iter().map(|v| format!("\"{v}\"")).collect();
    let mut text = format!(
        "[simulation]\ndt = {DT:?}\nt_stop = {t_stop:?}\n[[population]]\nname = \"n\"\nsize = {n}\nmodel = \"{model}\"\nparams = {{ {params} }}\n\
         [[encoder]]\nname = \"dc\"\nkind = \"constant_current\"\ntarget = \"n\"\namplitude = [{a}]\n",
        n = amps.len(),
        a = amps_s.join(", ")
    );
    for (k, (r, t, w)) in inputs.iter().enumerate() {
        text += &format!(
            "[[encoder]]\nname = \"g{k}\"\nkind = \"spike_generator\"\nsize = 1\ntimes = [{t:?}]\nindices = [0]\n\
             [[projection]]\nfrom = \"g{k}\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"{r}\"\nweight = {w:?}\n"
        );
    }
    text += &format!(
        "[[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [{}]\n[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n",
        vars_s.join(", ")
    );
    let b = builder();
    let sim = run(&b, load(&b, &text), EngineKind::Cpu);
    let (_, data) = state_series(&sim, 0);
    (data, spike_steps(&sim, 1, DT))
}

/// The input arriving at `receptor` in the update of `step`: spikes emitted at step - 1.
fn arriving(inputs: Inputs<'_>, receptor: &str, step: usize) -> f64 {
    inputs.iter().filter(|(r, t, _)| *r == receptor && step >= 1 && ((t / DT + 1e-6).floor() as usize) == step - 1).map(|x| x.2).sum::<f64>() + 0.0
}

/// Compares recorded state with the reference `want[var][step][neuron]` bit for bit.
fn assert_bit_equal(what: &str, vars: &[&str], got: &[Vec<f64>], want: &[Vec<Vec<f64>>], spikes: &[(u64, i64)], want_spikes: &[(u64, i64)]) {
    assert!(!want_spikes.is_empty(), "{what}: the reference should spike (the test would prove little)");
    assert_eq!(spikes, want_spikes, "{what}: spike steps differ from the equations");
    for (k, name) in vars.iter().enumerate() {
        let n = want[k][0].len();
        for (step, row) in want[k].iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                let y = got[k][step * n + j];
                assert!(x.to_bits() == y.to_bits(), "{what}: `{name}` of neuron {j} at step {step}: model {y}, equations {x}");
            }
        }
    }
}

// ------------------------------------------------------------------------------------
// izhikevich

const PRESETS: &[(&str, [f64; 4])] = &[
    ("regular_spiking", [0.02, 0.2, -65.0, 8.0]),
    ("intrinsically_bursting", [0.02, 0.2, -55.0, 4.0]),
    ("chattering", [0.02, 0.2, -50.0, 2.0]),
    ("fast_spiking", [0.1, 0.2, -65.0, 2.0]),
    ("low_threshold_spiking", [0.02, 0.25, -65.0, 2.0]),
];

/// Izhikevich (2003): v' = 0.04 v^2 + 5 v + 140 - u + I, u' = a (b v - u); v >= 30: v = c, u += d.
fn izhikevich_reference(abcd: [f64; 4], half_steps: bool, v_min: Option<f64>, amps: &[f64], inputs: Inputs<'_>, steps: usize) -> Reference {
    let [a, b, c, d] = abcd;
    let n = amps.len();
    let mut v = vec![-65.0; n];
    let mut u = vec![b * -65.0; n];
    let (mut tv, mut tu, mut spikes) = (Vec::new(), Vec::new(), Vec::new());
    for step in 0..steps {
        for j in 0..n {
            let x = v[j] + arriving(inputs, "v", step);
            let i = amps[j] + arriving(inputs, "i_syn", step) + 0.0;
            let f = |x: f64, u: f64| x * x * 0.04 + x * 5.0 + 140.0 - u + i;
            let (mut nv, nu) = if half_steps {
                let x1 = x + f(x, u[j]) * (DT * 0.5);
                let x2 = x1 + f(x1, u[j]) * (DT * 0.5);
                (x2, u[j] + (x2 * b - u[j]) * (DT * a))
            } else {
                (x + f(x, u[j]) * DT, u[j] + (x * b - u[j]) * (DT * a))
            };
            if let Some(m) = v_min {
                nv = nv.max(m);
            }
            if nv >= 30.0 {
                spikes.push((step as u64, j as i64));
                v[j] = c;
                u[j] = nu + d;
            } else {
                v[j] = nv;
                u[j] = nu;
            }
        }
        tv.push(v.clone());
        tu.push(u.clone());
    }
    (vec![tv, tu], spikes)
}

#[test]
fn izhikevich_follows_its_equations_for_every_preset_and_override() {
    let amps = [4.0, 10.0, 15.0];
    let inputs: Inputs<'_> = &[("v", 20.0, 6.0), ("v", 50.0, -10.0), ("v", 50.5, 25.0), ("v", 120.0, 14.0), ("i_syn", 80.0, 300.0), ("i_syn", 80.0, 150.0), ("i_syn", 150.0, -200.0)];
    let vars = ["v", "u"];
    let steps = 2000;
    let mut cases: Vec<IzhCase> =
        PRESETS.iter().map(|(p, abcd)| (p.to_string(), format!("preset = \"{p}\""), *abcd, false, None)).collect();
    cases.push(("rs, a and d overridden".into(), "preset = \"regular_spiking\", a = 0.03, d = 6.0".into(), [0.03, 0.2, -65.0, 6.0], false, None));
    cases.push(("every one of a, b, c, d given".into(), "a = 0.05, b = 0.22, c = -58.0, d = 3.0".into(), [0.05, 0.22, -58.0, 3.0], false, None));
    cases.push(("chattering, paper's half steps".into(), "preset = \"chattering\", integration = \"izhikevich_2003\"".into(), [0.02, 0.2, -50.0, 2.0], true, None));
    cases.push(("fast spiking, v_min".into(), "preset = \"fast_spiking\", v_min = -66.0".into(), [0.1, 0.2, -65.0, 2.0], false, Some(-66.0)));
    for (what, params, abcd, half, v_min) in cases {
        let (got, spikes) = simulate("izhikevich", &params, &amps, inputs, &vars, steps as f64 * DT);
        let (want, want_spikes) = izhikevich_reference(abcd, half, v_min, &amps, inputs, steps);
        assert_bit_equal(&format!("izhikevich {what}"), &vars, &got, &want, &spikes, &want_spikes);
    }
}

/// `a`, `b`, `c`, `d` per neuron (the paper's network spreads them): each neuron follows
/// the equations with its own values, bit for bit, and records them as constant rows.
#[test]
fn izhikevich_takes_a_b_c_d_per_neuron() {
    // (Eleven neurons: a full block of the fused loop and a short one.)
    let base = [PRESETS[0].1, PRESETS[3].1, PRESETS[2].1, [0.05, 0.22, -58.0, 3.0]];
    let sets: Vec<[f64; 4]> = (0..11).map(|j| base[j % 4]).collect();
    let n = sets.len();
    let col = |k: usize| sets.iter().map(|s| format!("{:?}", s[k])).collect::<Vec<_>>().join(", ");
    let params = format!("a = [{}], b = [{}], c = [{}], d = [{}], integration = \"izhikevich_2003\"", col(0), col(1), col(2), col(3));
    let amps = vec![10.0; n];
    let inputs: Inputs<'_> = &[("v", 20.0, 6.0), ("i_syn", 80.0, 300.0), ("i_syn", 150.0, -200.0)];
    let vars = ["v", "u", "a", "b", "c", "d"];
    let steps = 2000;
    let (got, spikes) = simulate("izhikevich", &params, &amps, inputs, &vars, steps as f64 * DT);
    let mut trains = Vec::new();
    for (j, abcd) in sets.iter().enumerate() {
        let (want, want_spikes) = izhikevich_reference(*abcd, true, None, &amps[j..j + 1], inputs, steps);
        let mine: Vec<Vec<f64>> = got[..2].iter().map(|g| g.iter().skip(j).step_by(n).copied().collect()).collect();
        let my_spikes: Vec<(u64, i64)> = spikes.iter().filter(|s| s.1 == j as i64).map(|&(t, _)| (t, 0)).collect();
        assert_bit_equal(&format!("izhikevich neuron {j} {abcd:?}"), &vars[..2], &mine, &want, &my_spikes, &want_spikes);
        for (k, name) in vars[2..].iter().enumerate() {
            let row: Vec<f64> = got[2 + k].iter().skip(j).step_by(n).copied().collect();
            assert!(row.iter().all(|&x| x == abcd[k]), "neuron {j}: constant row `{name}` should hold {} throughout", abcd[k]);
        }
        trains.push(my_spikes);
    }
    assert!(trains.windows(2).all(|w| w[0] != w[1]), "neighbouring parameter sets should give different spike trains");
}

#[test]
fn izhikevich_presets_differ_as_the_paper_describes() {
    // Same drive (10 pA, as the paper's I = 10) for 500 ms: fast spiking fires far more
    // than regular spiking (no adaptation to speak of), and regular spiking adapts (its
    // first interval is shorter than its last).
    let steps = 5000;
    let count = |preset: &str| {
        let (_, s) = simulate("izhikevich", &format!("preset = \"{preset}\""), &[10.0], &[], &["v"], steps as f64 * DT);
        s.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
    };
    let (rs, fs) = (count("regular_spiking"), count("fast_spiking"));
    assert!(fs.len() > 2 * rs.len(), "fast spiking {} spikes vs regular spiking {}", fs.len(), rs.len());
    let isi: Vec<u64> = rs.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(isi.len() >= 3 && isi[0] < *isi.last().unwrap(), "regular spiking should adapt: intervals {isi:?}");
    // Intrinsically bursting: a burst first (two spikes closer than 10 ms), then tonic.
    let ib = count("intrinsically_bursting");
    assert!(ib.len() >= 3 && ib[1] - ib[0] < 100 && ib[2] - ib[1] > ib[1] - ib[0], "intrinsically bursting should burst first: {ib:?}");
}

// ------------------------------------------------------------------------------------
// aeif_cond_exp / aeif_curr_exp

struct Adex {
    c_m: f64,
    g_l: f64,
    e_l: f64,
    v_th: f64,
    delta_t: f64,
    v_peak: f64,
    v_reset: f64,
    t_ref: f64,
    a: f64,
    b: f64,
    tau_w: f64,
    tau_ex: f64,
    tau_in: f64,
    /// `Some((e_ex, e_in))`: conductances; `None`: currents.
    reversal: Option<(f64, f64)>,
}

/// Forward Euler of C v' = -g_l (v - e_l) + g_l Δ exp((v - v_th)/Δ) + I_syn - w + I and
/// τ_w w' = a (v - e_l) - w with v bounded by v_peak on the right; exact decay of the
/// synaptic variables; v >= v_peak: v = v_reset, w += b, then Brian2's timestep(t_ref) - 1
/// clamped steps (the counter: T = timestep(t_ref), at least 1, at the spike; clamped while
/// above 1).
fn adex_reference(p: &Adex, amps: &[f64], inputs: Inputs<'_>, steps: usize) -> Reference {
    let n = amps.len();
    let (mut v, mut w, mut xe, mut xi, mut refr) = (vec![p.e_l; n], vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let ref_steps = (((p.t_ref + 1e-3 * DT) / DT).floor() - 1.0).max(0.0) + 1.0; // Brian2: timestep(t_ref), at least 1
    let mut out = vec![Vec::new(); 5];
    let mut spikes = Vec::new();
    for step in 0..steps {
        for j in 0..n {
            let ge = xe[j] + arriving(inputs, "exc", step);
            let gi = xi[j] + arriving(inputs, "inh", step);
            let vb = v[j].min(p.v_peak);
            let mut current = (vb - p.e_l) * -p.g_l;
            if p.delta_t > 0.0 {
                current += ((vb - p.v_th) / p.delta_t).exp() * (p.g_l * p.delta_t);
            }
            let syn = match p.reversal {
                Some((e_ex, e_in)) => ge * -(vb - e_ex) + gi * -(vb - e_in),
                None => ge + gi,
            };
            let current = current + syn - w[j] + (amps[j] + 0.0);
            let w_new = w[j] + ((vb - p.e_l) * p.a - w[j]) * (DT / p.tau_w);
            xe[j] = ge * (-DT / p.tau_ex).exp();
            xi[j] = gi * (-DT / p.tau_in).exp();
            let refractory = refr[j] > 1.5;
            let vn = if refractory { v[j] } else { v[j] + current * (DT / p.c_m) };
            let threshold = if p.delta_t > 0.0 { p.v_peak } else { p.v_th };
            if !refractory && vn >= threshold {
                spikes.push((step as u64, j as i64));
                v[j] = p.v_reset;
                w[j] = w_new + p.b;
                refr[j] = ref_steps;
            } else {
                v[j] = vn;
                w[j] = w_new;
                if refr[j] > 0.5 {
                    refr[j] -= 1.0;
                }
            }
        }
        for (k, x) in [&v, &w, &xe, &xi, &refr].iter().enumerate() {
            out[k].push((*x).clone());
        }
    }
    (out, spikes)
}

fn nest_defaults(reversal: Option<(f64, f64)>) -> Adex {
    Adex {
        c_m: 281.0,
        g_l: 30.0,
        e_l: -70.6,
        v_th: -50.4,
        delta_t: 2.0,
        v_peak: 0.0,
        v_reset: -60.0,
        t_ref: 0.0,
        a: 4.0,
        b: 80.5,
        tau_w: 144.0,
        tau_ex: 0.2,
        tau_in: 2.0,
        reversal,
    }
}

#[test]
fn aeif_cond_exp_follows_its_equations() {
    let amps = [500.0, 800.0, 1200.0];
    let inputs: Inputs<'_> = &[("exc", 10.0, 150.0), ("exc", 10.0, 50.0), ("inh", 40.0, 30.0), ("exc", 80.0, 300.0), ("inh", 120.0, 80.0)];
    let vars = ["v", "w", "g_ex", "g_in", "refr"];
    let steps = 2000;
    // NEST defaults; then a refractory, bursting set with other reversal potentials; then
    // delta_t = 0 (integrate-and-fire, threshold v_th).
    let mut p2 = nest_defaults(Some((5.0, -75.0)));
    (p2.t_ref, p2.a, p2.b, p2.tau_w, p2.v_reset, p2.tau_ex, p2.tau_in) = (2.5, 2.0, 40.0, 60.0, -48.0, 1.0, 5.0);
    let mut p3 = nest_defaults(Some((0.0, -85.0)));
    p3.delta_t = 0.0;
    let cases = [
        ("NEST defaults", String::new(), nest_defaults(Some((0.0, -85.0)))),
        ("bursting, t_ref", "e_ex = 5.0, e_in = -75.0, t_ref = 2.5, a = 2.0, b = 40.0, tau_w = 60.0, v_reset = -48.0, tau_syn_ex = 1.0, tau_syn_in = 5.0".to_string(), p2),
        ("delta_t = 0", "delta_t = 0.0".to_string(), p3),
    ];
    for (what, params, p) in cases {
        let (got, spikes) = simulate("aeif_cond_exp", &params, &amps, inputs, &vars, steps as f64 * DT);
        let (want, want_spikes) = adex_reference(&p, &amps, inputs, steps);
        assert_bit_equal(&format!("aeif_cond_exp {what}"), &vars, &got, &want, &spikes, &want_spikes);
    }
}

#[test]
fn aeif_curr_exp_follows_its_equations() {
    let amps = [500.0, 800.0, 1200.0];
    let inputs: Inputs<'_> = &[("exc", 10.0, 2000.0), ("inh", 40.0, -1500.0), ("exc", 80.0, 3000.0), ("exc", 80.0, 500.0)];
    let vars = ["v", "w", "i_ex", "i_in", "refr"];
    let steps = 2000;
    let mut p2 = nest_defaults(None);
    (p2.t_ref, p2.b, p2.tau_ex, p2.tau_in, p2.delta_t) = (1.0, 20.0, 1.0, 3.0, 3.0);
    let cases = [
        ("NEST defaults", String::new(), nest_defaults(None)),
        ("t_ref, slower currents", "t_ref = 1.0, b = 20.0, tau_syn_ex = 1.0, tau_syn_in = 3.0, delta_t = 3.0".to_string(), p2),
    ];
    for (what, params, p) in cases {
        let (got, spikes) = simulate("aeif_curr_exp", &params, &amps, inputs, &vars, steps as f64 * DT);
        let (want, want_spikes) = adex_reference(&p, &amps, inputs, steps);
        assert_bit_equal(&format!("aeif_curr_exp {what}"), &vars, &got, &want, &spikes, &want_spikes);
    }
}

// ------------------------------------------------------------------------------------
// eif / qif

/// One-variable IF with right-hand side `f(v, I)`: v += jump, Euler, v >= v_peak:
/// v = v_reset and Brian2's timestep(t_ref) - 1 clamped steps; a jump is dropped from the
/// spike through the step after the last clamped one (Brian2's `on_pre` skips a neuron
/// from its spike's step through its last refractory step, and spikeworld applies a step's
/// `on_pre` in the next).
#[expect(clippy::too_many_arguments, reason = "the reference spells out every constant")]
fn one_var_reference(f: &dyn Fn(f64, f64) -> f64, v0: f64, v_peak: f64, v_reset: f64, t_ref: f64, amps: &[f64], inputs: Inputs<'_>, steps: usize) -> Reference {
    let n = amps.len();
    let (mut v, mut refr) = (vec![v0; n], vec![0.0; n]);
    let ref_steps = (((t_ref + 1e-3 * DT) / DT).floor() - 1.0).max(0.0) + 1.0; // Brian2: timestep(t_ref), at least 1
    let (mut tv, mut tr, mut spikes) = (Vec::new(), Vec::new(), Vec::new());
    for step in 0..steps {
        for j in 0..n {
            if refr[j] > 1.5 {
                refr[j] -= 1.0;
                continue;
            }
            let dropped = refr[j] > 0.5;
            let x = if dropped { v[j] } else { v[j] + arriving(inputs, "v", step) };
            if dropped {
                refr[j] -= 1.0;
            }
            let vn = x + f(x, amps[j] + 0.0);
            if vn >= v_peak {
                spikes.push((step as u64, j as i64));
                v[j] = v_reset;
                refr[j] = ref_steps;
            } else {
                v[j] = vn;
            }
        }
        tv.push(v.clone());
        tr.push(refr.clone());
    }
    (vec![tv, tr], spikes)
}

#[test]
fn eif_follows_its_equations() {
    let amps = [400.0, 700.0, 1000.0];
    let inputs: Inputs<'_> = &[("v", 20.0, 8.0), ("v", 60.0, 15.0), ("v", 60.0, 4.0), ("v", 150.0, -5.0)];
    let vars = ["v", "refr"];
    let steps = 2000;
    for (params, c_m, g_l, e_l, v_t, dlt, v_peak, v_reset, t_ref) in [
        (String::new(), 1000.0, 30.0, -70.0, -50.0, 2.0, -20.0, -70.0, 0.0),
        ("c_m = 200.0, g_l = 10.0, e_l = -65.0, v_t = -55.0, delta_t = 3.5, v_peak = 0.0, v_reset = -68.0, t_ref = 1.7".to_string(), 200.0, 10.0, -65.0, -55.0, 3.5, 0.0, -68.0, 1.7),
    ] {
        let f = move |x: f64, i: f64| {
            let vb = x.min(v_peak);
            ((vb - e_l) * -g_l + ((vb - v_t) / dlt).exp() * (g_l * dlt) + i) * (DT / c_m)
        };
        let (got, spikes) = simulate("eif", &params, &amps, inputs, &vars, steps as f64 * DT);
        let (want, want_spikes) = one_var_reference(&f, e_l, v_peak, v_reset, t_ref, &amps, inputs, steps);
        assert_bit_equal(&format!("eif {{{params}}}"), &vars, &got, &want, &spikes, &want_spikes);
    }
}

#[test]
fn qif_follows_its_equations() {
    let amps = [300.0, 600.0, 900.0];
    let inputs: Inputs<'_> = &[("v", 20.0, 8.0), ("v", 60.0, 15.0), ("v", 150.0, -5.0)];
    let vars = ["v", "refr"];
    let steps = 2000;
    for (params, c_m, a0, v_rest, v_c, v_peak, v_reset, t_ref) in [
        (String::new(), 1000.0, 5.0, -70.0, -50.0, -20.0, -70.0, 0.0),
        ("c_m = 250.0, a0 = 1.5, v_rest = -65.0, v_c = -52.0, v_peak = 10.0, v_reset = -60.0, t_ref = 2.0".to_string(), 250.0, 1.5, -65.0, -52.0, 10.0, -60.0, 2.0),
    ] {
        let f = move |x: f64, i: f64| ((x - v_rest) * (x - v_c) * a0 + i) * (DT / c_m);
        let (got, spikes) = simulate("qif", &params, &amps, inputs, &vars, steps as f64 * DT);
        let (want, want_spikes) = one_var_reference(&f, v_rest, v_peak, v_reset, t_ref, &amps, inputs, steps);
        assert_bit_equal(&format!("qif {{{params}}}"), &vars, &got, &want, &spikes, &want_spikes);
    }
}

// ------------------------------------------------------------------------------------
// Bad parameters

#[test]
fn bad_parameters_are_refused_with_the_parameter_named() {
    let b = builder();
    let cases: &[(&str, &str, &str)] = &[
        ("izhikevich", "c = 35.0", "`c`"),
        ("izhikevich", "a = -0.1", "`a`"),
        ("izhikevich", "v_min = 40.0", "`v_min`"),
        ("izhikevich", "preset = \"bursty\"", "regular_spiking"),
        ("aeif_cond_exp", "v_peak = -60.0", "`v_peak`"),
        ("aeif_cond_exp", "v_reset = 5.0", "`v_reset`"),
        ("aeif_cond_exp", "delta_t = -1.0", "`delta_t`"),
        ("aeif_cond_exp", "delta_t = 0.01, v_peak = 20.0", "overflow"),
        ("aeif_curr_exp", "c_m = 0.0", "`c_m`"),
        ("aeif_curr_exp", "tau_w = 0.05", "tau_w"),
        ("aeif_curr_exp", "t_ref = -1.0", "`t_ref`"),
        ("aeif_curr_exp", "tau_syn_in = 0.0", "`tau_syn_in`"),
        ("eif", "delta_t = 0.0", "`delta_t`"),
        ("eif", "v_peak = -60.0", "`v_peak`"),
        ("eif", "delta_t = 0.001", "overflow"),
        ("qif", "v_rest = -40.0", "`v_rest`"),
        ("qif", "a0 = 0.0", "`a0`"),
        ("qif", "v_reset = 0.0", "`v_reset`"),
    ];
    for (model, params, needle) in cases {
        let text = format!("[simulation]\ndt = 0.1\nt_stop = 1.0\n[[population]]\nname = \"n\"\nsize = 1\nmodel = \"{model}\"\nparams = {{ {params} }}\n");
        let err = build_error(&b, &text);
        assert!(err.contains(needle), "{model} {{ {params} }}: the error should mention {needle}: {err}");
    }
}
