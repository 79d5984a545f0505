//! Every model against its equations, step by step: the reference below is written from
//! SpikingJelly's / SpikingFlow's code (one line per model, in their operation order) and
//! run here on its own; the simulator's recorded state must equal it bit for bit (both
//! evaluate the same IEEE operations; Rust never fuses `a * b + c`). Then the cpu and
//! tensor engines must agree: bit for bit, except `sj_eif` whose `exp` comes from
//! different libraries (tolerance stated there).

mod common;
use common::*;
use spikeworld::prelude::*;

/// Held input per neuron at receptor `i`.
const AMPS: [f64; 4] = [0.0, 0.15, 0.6, 1.5];
/// Input spikes (one source, all-to-all, zero delay): emitted at these steps, they arrive
/// at receptor `x` one step later with weight `W_IN`.
const SPIKE_STEPS: [usize; 5] = [5, 20, 21, 60, 61];
const W_IN: f64 = 0.7;
const STEPS: usize = 150;

fn scenario(model: &str, params: &str, vars: &[&str]) -> String {
    let times: Vec<String> = SPIKE_STEPS.iter().map(|s| format!("{s}.0")).collect();
    let zeros = vec!["0"; SPIKE_STEPS.len()].join(", ");
    let vars: Vec<String> = vars.iter().map(|v| format!("\"{v}\"")).collect();
    format!(
        r#"
        [simulation]
        dt = "1 ms"
        t_stop = "{STEPS} ms"
        [[population]]
        name = "n"
        size = {n}
        model = "{model}"
        params = {{ {params} }}
        [[encoder]]
        name = "bias"
        kind = "constant_current"
        target = "n"
        amplitude = {amps:?}
        [[encoder]]
        name = "g"
        kind = "spike_generator"
        size = 1
        times = [{times}]
        indices = [{zeros}]
        [[projection]]
        from = "g"
        to = "n"
        rule = "all_to_all"
        receptor = "x"
        weight = {W_IN:?}
        delay = "0 ms"
        [[monitor]]
        name = "s"
        kind = "spikes"
        target = "n"
        [[monitor]]
        name = "v"
        kind = "state"
        target = "n"
        variables = [{vars}]
        "#,
        n = AMPS.len(),
        amps = AMPS,
        times = times.join(", "),
        vars = vars.join(", "),
    )
}

/// X[k] of neuron `j`: the input spike arriving at step k (sent at k − 1) plus the held input.
fn input(k: usize, j: usize) -> f64 {
    let spike = if k > 0 && SPIKE_STEPS.contains(&(k - 1)) { W_IN } else { 0.0 };
    spike + AMPS[j]
}

/// Runs the scenario and the reference side by side; returns the number of spikes.
fn check_model(model: &str, params: &str, vars: &[&str], init: &[f64], reference: impl Fn(&mut [f64], f64) -> bool) -> usize {
    let sim = run_all(sim_from_text(&scenario(model, params, vars), EngineKind::Cpu));
    let data = states(&sim);
    let (t, idx) = spikes(&sim);
    let n = AMPS.len();
    let mut want_spikes = Vec::new();
    for j in 0..n {
        let mut s = init.to_vec();
        for k in 0..STEPS {
            if reference(&mut s, input(k, j)) {
                want_spikes.push((k, j));
            }
            for (var, series) in vars.iter().zip(&data) {
                let got = series[k * n + j];
                let want = s[vars.iter().position(|v| v == var).unwrap()];
                assert!(got.to_bits() == want.to_bits(), "{model} {{{params}}}: `{var}` of neuron {j} after step {k} is {got}, the equation gives {want}");
            }
        }
    }
    want_spikes.sort();
    let got_spikes: Vec<(usize, usize)> = t.iter().zip(&idx).map(|(&t, &i)| (t.round() as usize, i as usize)).collect();
    assert_eq!(got_spikes, want_spikes, "{model} {{{params}}}: spikes (step, neuron) differ from the equation's");
    assert!(!want_spikes.is_empty(), "{model} {{{params}}}: the case should make some neuron spike");
    assert!(want_spikes.iter().any(|&(_, j)| j == 0) || want_spikes.len() < STEPS * n, "{model}: every neuron spiking every step tests nothing");
    want_spikes.len()
}

/// Hard reset `V = v_reset` or soft `V = H − v_th`, after `S = H >= v_th` (SpikingJelly's
/// heaviside is `x >= 0`).
fn fire(h: f64, v_th: f64, v_reset: Option<f64>) -> (f64, bool) {
    let s = h >= v_th;
    match (s, v_reset) {
        (false, _) => (h, false),
        (true, Some(r)) => (r, true),
        (true, None) => (h - v_th, true),
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn sj_if_matches_its_equation() {
    check_model("sj_if", "", &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] + x, 1.0, Some(0.0));
        s[0] = v;
        f
    });
    check_model("sj_if", r#"reset = "soft", v_threshold = 0.9"#, &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] + x, 0.9, None);
        s[0] = v;
        f
    });
}

#[test]
fn sj_lif_matches_its_four_charge_equations() {
    // decay_input, v_reset = 0: SpikingJelly's `v + (x - v) / tau`.
    check_model("sj_lif", "", &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] + (x - s[0]) / 2.0, 1.0, Some(0.0));
        s[0] = v;
        f
    });
    // decay_input: `v + (x - (v - v_reset)) / tau`.
    check_model("sj_lif", "tau = 3.5, v_reset = -0.2", &["v"], &[-0.2], |s, x| {
        let (v, f) = fire(s[0] + (x - (s[0] - -0.2)) / 3.5, 1.0, Some(-0.2));
        s[0] = v;
        f
    });
    // no decay_input, v_reset = 0: `v * (1. - 1. / tau) + x`.
    check_model("sj_lif", r#"decay_input = "false", tau = 3.0"#, &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] * (1.0 - 1.0 / 3.0) + x, 1.0, Some(0.0));
        s[0] = v;
        f
    });
    // no decay_input: `v - (v - v_reset) / tau + x`.
    check_model("sj_lif", r#"decay_input = "false", tau = 3.5, v_reset = -0.2, v_threshold = 1.2"#, &["v"], &[-0.2], |s, x| {
        let (v, f) = fire(s[0] - (s[0] - -0.2) / 3.5 + x, 1.2, Some(-0.2));
        s[0] = v;
        f
    });
    // soft reset (v_reset = None): charges towards 0, V = H - v_th after a spike.
    check_model("sj_lif", r#"decay_input = "false", tau = 3.0, reset = "soft", v_reset = 0.5"#, &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] * (1.0 - 1.0 / 3.0) + x, 1.0, None);
        s[0] = v;
        f
    });
    check_model("sj_lif", r#"reset = "soft", tau = 1.5"#, &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] + (x - s[0]) / 1.5, 1.0, None);
        s[0] = v;
        f
    });
}

#[test]
fn sj_plif_matches_its_equation_with_sigmoid_of_w() {
    // init_tau = 2: w = -ln(1) = 0, 1/tau = sigmoid(0) = 0.5.
    check_model("sj_plif", "", &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] + (x - s[0]) * 0.5, 1.0, Some(0.0));
        s[0] = v;
        f
    });
    let k = sigmoid(-(3.0f64 - 1.0).ln());
    assert!((k - 1.0 / 3.0).abs() < 1e-15);
    check_model("sj_plif", "init_tau = 3.0, v_reset = 0.1", &["v"], &[0.1], |s, x| {
        let (v, f) = fire(s[0] + (x - (s[0] - 0.1)) * k, 1.0, Some(0.1));
        s[0] = v;
        f
    });
    check_model("sj_plif", r#"init_tau = 3.0, decay_input = "false", v_reset = 0.1"#, &["v"], &[0.1], |s, x| {
        let (v, f) = fire(s[0] - (s[0] - 0.1) * k + x, 1.0, Some(0.1));
        s[0] = v;
        f
    });
    check_model("sj_plif", r#"init_tau = 3.0, decay_input = "false", reset = "soft""#, &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] * (1.0 - k) + x, 1.0, None);
        s[0] = v;
        f
    });
}

#[test]
fn sj_rif_matches_its_equation() {
    // SpikingFlow.softbp RIFNode: `self.v += (self.v - self.v_reset) * self.g + dv`.
    check_model("sj_rif", "", &["v"], &[0.0], |s, x| {
        let (v, f) = fire(s[0] + ((s[0] - 0.0) * -1e-3 + x), 1.0, Some(0.0));
        s[0] = v;
        f
    });
    // With a bound: w = (sigmoid(g) * 2 - 1) * amplitude, g = ln((a + init_w) / (a - init_w)).
    let (a, w0) = (0.5f64, 0.05f64);
    let w = (sigmoid(((a + w0) / (a - w0)).ln()) * 2.0 - 1.0) * a;
    assert!((w - w0).abs() < 1e-15, "the bound keeps w = init_w at the start");
    check_model("sj_rif", "init_w = 0.05, amplitude = 0.5, v_reset = -0.1", &["v"], &[-0.1], |s, x| {
        let (v, f) = fire(s[0] + ((s[0] - -0.1) * w + x), 1.0, Some(-0.1));
        s[0] = v;
        f
    });
}

#[test]
fn sj_qif_matches_its_equation() {
    // `v + (x + a0 * (v - v_rest) * (v - v_c)) / tau`; defaults v_reset = -0.1 (initial V).
    let n = check_model("sj_qif", "", &["v"], &[-0.1], |s, x| {
        let h = s[0] + (x + 1.0 * (s[0] - 0.0) * (s[0] - 0.8)) / 2.0;
        let (v, f) = fire(h, 1.0, Some(-0.1));
        s[0] = v;
        f
    });
    assert!(n > 3);
    check_model("sj_qif", r#"reset = "soft", tau = 4.0, a0 = 2.0, v_rest = 0.1, v_c = 0.6"#, &["v"], &[0.0], |s, x| {
        let h = s[0] + (x + 2.0 * (s[0] - 0.1) * (s[0] - 0.6)) / 4.0;
        let (v, f) = fire(h, 1.0, None);
        s[0] = v;
        f
    });
}

#[test]
fn sj_eif_matches_its_equation() {
    // `v + (x + v_rest - v + delta_T * exp((v - theta_rh) / delta_T)) / tau`.
    check_model("sj_eif", "", &["v"], &[-0.1], |s, x| {
        let h = s[0] + (x + 0.0 - s[0] + 1.0 * ((s[0] - 0.8) / 1.0).exp()) / 2.0;
        let (v, f) = fire(h, 1.0, Some(-0.1));
        s[0] = v;
        f
    });
    check_model("sj_eif", "tau = 3.0, delta_t = 0.5, theta_rh = 0.6, v_rest = -0.05, v_threshold = 1.5, v_reset = -0.1", &["v"], &[-0.1], |s, x| {
        let h = s[0] + (x + -0.05 - s[0] + 0.5 * ((s[0] - 0.6) / 0.5).exp()) / 3.0;
        let (v, f) = fire(h, 1.5, Some(-0.1));
        s[0] = v;
        f
    });
}

#[test]
fn sj_izhikevich_matches_its_equations() {
    // charge: `v + (x + a0 * (v - v_rest) * (v - v_c) - w) / tau`;
    // adaptation (from the charged v): `w + 1. / tau_w * (a * (v - v_rest) - w)`;
    // reset: v as the others, `w + b * spike`.
    let (tau, v_c, a0, v_rest, tau_w, a, b) = (2.0f64, 0.8f64, 1.0f64, -0.1f64, 3.0f64, 0.2f64, 0.3f64);
    let params = "tau_w = 3.0, a = 0.2, b = 0.3";
    check_model("sj_izhikevich", params, &["v", "w"], &[0.0, 0.0], |s, x| {
        let h = s[0] + (x + a0 * (s[0] - v_rest) * (s[0] - v_c) - s[1]) / tau;
        let w = s[1] + 1.0 / tau_w * (a * (h - v_rest) - s[1]);
        let (v, f) = fire(h, 1.0, Some(0.0));
        s[0] = v;
        s[1] = if f { w + b } else { w };
        f
    });
    check_model("sj_izhikevich", r#"reset = "soft", w_rest = 0.05, a = -0.1, b = 0.1"#, &["v", "w"], &[0.0, 0.05], |s, x| {
        let h = s[0] + (x + 1.0 * (s[0] - v_rest) * (s[0] - v_c) - s[1]) / 2.0;
        let w = s[1] + 1.0 / 2.0 * (-0.1 * (h - v_rest) - s[1]);
        let (v, f) = fire(h, 1.0, None);
        s[0] = v;
        s[1] = if f { w + 0.1 } else { w };
        f
    });
}

/// SpikingFlow's `forward(i)`, transcribed: reset last step's crossers, integrate, mark
/// and clamp the new crossers at v_th, clamp below at v_reset, send last step's spikes.
fn sf_reference(r: f64, tau: Option<f64>, v_th: f64, v_reset: f64) -> impl Fn(&mut [f64], f64) -> bool {
    move |s, i| {
        let out = s[1] == 1.0;
        if out {
            s[0] = v_reset;
        }
        match tau {
            None => s[0] += r * i,
            Some(tau) => {
                let v_decay = -(s[0] - v_reset);
                s[0] += (r * i + v_decay) / tau;
            }
        }
        let next = s[0] >= v_th;
        if next {
            s[0] = v_th;
        }
        if s[0] < v_reset {
            s[0] = v_reset;
        }
        s[1] = if next { 1.0 } else { 0.0 };
        out
    }
}

#[test]
fn sf_if_and_sf_lif_match_spikingflow_forward() {
    check_model("sf_if", "r = 0.5", &["v", "pending"], &[0.0, 0.0], sf_reference(0.5, None, 1.0, 0.0));
    check_model("sf_if", "r = 2.0, v_threshold = 1.5, v_reset = -0.3", &["v", "pending"], &[-0.3, 0.0], sf_reference(2.0, None, 1.5, -0.3));
    check_model("sf_lif", "r = 9.0, tau = 20.0", &["v", "pending"], &[0.0, 0.0], sf_reference(9.0, Some(20.0), 1.0, 0.0));
    check_model("sf_lif", "r = 3.0, tau = 4.0, v_reset = 0.2", &["v", "pending"], &[0.2, 0.0], sf_reference(3.0, Some(4.0), 1.0, 0.2));
}

#[test]
fn spikingflow_spike_comes_one_step_after_the_crossing() {
    // Neuron 2 (i = 0.6, r = 1): v = 0.6 after step 0, 1.2 >= 1 at step 1 (clamped to 1),
    // so the spike is sent at step 2 (when v is reset and integrates again).
    let sim = run_all(sim_from_text(&scenario("sf_if", "", &["v", "pending"]), EngineKind::Cpu));
    let (t, idx) = spikes(&sim);
    let first_of_2 = t.iter().zip(&idx).find(|&(_, &i)| i == 2).map(|(t, _)| *t);
    assert_eq!(first_of_2, Some(2.0), "sf_if: the spike is sent in the step after v reaches v_threshold");
    let v = states(&sim);
    assert_eq!((v[0][2], v[0][4 + 2]), (0.6, 1.0), "v is clamped to v_threshold in the crossing step");
}

// ---------------------------------------------------------------------------------------
// cpu vs tensor engine

/// (model, params, variables, largest allowed difference).
const ENGINE_CASES: &[(&str, &str, &[&str], f64)] = &[
    ("sj_if", "", &["v"], 0.0),
    ("sj_if", r#"reset = "soft""#, &["v"], 0.0),
    ("sj_lif", "", &["v"], 0.0),
    ("sj_lif", "tau = 3.5, v_reset = -0.2", &["v"], 0.0),
    ("sj_lif", r#"decay_input = "false", tau = 3.0"#, &["v"], 0.0),
    ("sj_lif", r#"decay_input = "false", tau = 3.5, v_reset = -0.2"#, &["v"], 0.0),
    ("sj_lif", r#"reset = "soft""#, &["v"], 0.0),
    ("sj_plif", "init_tau = 3.0", &["v"], 0.0),
    ("sj_plif", r#"init_tau = 3.0, decay_input = "false", v_reset = 0.1"#, &["v"], 0.0),
    ("sj_rif", "init_w = 0.05, amplitude = 0.5", &["v"], 0.0),
    ("sj_qif", "", &["v"], 0.0),
    ("sj_qif", r#"reset = "soft""#, &["v"], 0.0),
    // exp: Rust's libm on the cpu engine, burn-flex's on the tensor engine (a few ulp apart).
    ("sj_eif", "", &["v"], 1e-12),
    ("sj_eif", r#"reset = "soft", delta_t = 0.5"#, &["v"], 1e-12),
    ("sj_izhikevich", "tau_w = 3.0, a = 0.2, b = 0.3", &["v", "w"], 0.0),
    ("sf_if", "r = 0.5", &["v", "pending"], 0.0),
    ("sf_lif", "r = 9.0, tau = 20.0", &["v", "pending"], 0.0),
];

#[test]
fn engines_agree_on_every_model() {
    for &(model, params, vars, tol) in ENGINE_CASES {
        let text = scenario(model, params, vars);
        let cpu = run_all(sim_from_text(&text, EngineKind::Cpu));
        let ten = run_all(sim_from_text(&text, EngineKind::Tensor));
        assert!(!spikes(&cpu).0.is_empty(), "{model} {{{params}}}: should spike");
        assert_eq!(spikes(&cpu), spikes(&ten), "{model} {{{params}}}: spike trains differ between engines");
        for (var, (a, b)) in vars.iter().zip(states(&cpu).iter().zip(&states(&ten))) {
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f64, f64::max);
            assert!(worst <= tol, "{model} {{{params}}}: `{var}` differs between engines by {worst} (allowed {tol})");
            if tol == 0.0 {
                assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "{model} {{{params}}}: `{var}` not bit-identical");
            }
        }
    }
}
