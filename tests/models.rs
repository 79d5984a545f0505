//! Each model against its equations: exact solutions where they exist, and the update
//! rule computed independently here otherwise.

mod common;
use common::*;
use spikeworld::prelude::*;

/// One neuron driven by a single input spike: the scenario most model tests need.
/// `population` is the TOML body of the population after its name and size.
#[expect(clippy::too_many_arguments, reason = "each case spells out its whole scenario")]
fn one_spike_scenario(dt: &str, t_stop: &str, population: &str, spike_ms: f64, receptor: &str, weight: &str, delay: &str, variables: &str) -> String {
    format!(
        r#"
        [simulation]
        dt = "{dt}"
        t_stop = "{t_stop}"
        [[population]]
        name = "n"
        size = 1
        {population}
        [[encoder]]
        name = "g"
        kind = "spike_generator"
        size = 1
        times = [{spike_ms:?}]
        indices = [0]
        [[projection]]
        from = "g"
        to = "n"
        rule = "all_to_all"
        receptor = "{receptor}"
        weight = "{weight}"
        delay = "{delay}"
        [[monitor]]
        name = "v"
        kind = "state"
        target = "n"
        variables = {variables}
        "#
    )
}

fn state_series(sim: &Sim, monitor: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let m = sim.world.get::<spikeworld::monitor::StateRecorder>(sim.monitors[monitor]).expect("state monitor");
    (m.t_ms.clone(), m.data.clone())
}

#[test]
fn lif_subthreshold_matches_exact_solution() {
    // v(t) = e_l + R I (1 - exp(-(t - t0)/tau)) for t > t0 (current switched on at t0).
    let sc = load(
        r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "50 ms"
        [[population]]
        name = "n"
        size = 2
        model = "lif"
        params = { tau_m = "10 ms", c_m = "250 pF", e_l = "-70 mV", v_th = "0 mV" }
        [[encoder]]
        name = "dc"
        kind = "constant_current"
        target = "n"
        amplitude = [300.0, 100.0]
        start = "5 ms"
        [[monitor]]
        name = "v"
        kind = "state"
        target = "n"
        variables = ["v"]
        "#,
    );
    let sim = run_all(build(sc, EngineKind::Cpu, 1));
    let (t, data) = state_series(&sim, 0);
    let (tau, c, el) = (10.0f64, 250.0f64, -70.0f64);
    let mut worst: f64 = 0.0;
    for (k, &tk) in t.iter().enumerate() {
        for (j, &amp) in [300.0f64, 100.0].iter().enumerate() {
            let expected = if tk <= 5.0 { el } else { el + amp * tau / c * (1.0 - (-(tk - 5.0) / tau).exp()) };
            worst = worst.max((data[0][k * 2 + j] - expected).abs());
        }
    }
    assert!(worst < 1e-9, "LIF deviates from the exact solution by {worst} mV");
    // 50 ms after onset the 300 pA neuron is at e_l + 12 mV (1 - e^-4.5) ~ -58.13 mV.
    assert!((data[0][(t.len() - 1) * 2] - (-70.0 + 12.0 * (1.0 - (-4.5f64).exp()))).abs() < 1e-9);
}

#[test]
fn lif_fires_regularly_with_the_analytic_period() {
    // Suprathreshold current: time to threshold T = -tau ln(1 - (v_th - e_l)/(R I)); the
    // period is t_ref + T rounded to the grid. Checks threshold, reset and refractoriness.
    let sc = load(
        r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "200 ms"
        [[population]]
        name = "n"
        size = 1
        model = "lif"
        params = { tau_m = "10 ms", c_m = "250 pF", e_l = "-70 mV", v_th = "-55 mV", v_reset = "-70 mV", t_ref = "2 ms", i_e = "500 pA" }
        [[monitor]]
        name = "s"
        kind = "spikes"
        target = "n"
        "#,
    );
    let sim = run_all(build(sc, EngineKind::Cpu, 1));
    let (t, _) = spikes(&sim);
    let ri: f64 = 500.0 * 10.0 / 250.0;
    let t_th: f64 = -10.0 * (1.0 - 15.0 / ri).ln(); // 8.109 ms
    // First spike: first grid time after t_th at which v > v_th.
    let first = ((t_th / 0.1).ceil() - 1.0) * 0.1;
    assert!((t[0] - first).abs() < 1e-9, "first spike at {} ms, expected {first}", t[0]);
    // Then: clamped until step 20 after the spike, then integration from v_reset restarts at
    // (spike + 1.9 ms), crossing after another t_th rounded up to the grid.
    let isi = 1.9 + (t_th / 0.1).ceil() * 0.1;
    for w in t.windows(2) {
        assert!((w[1] - w[0] - isi).abs() < 1e-9, "ISI {} ms, expected {isi}", w[1] - w[0]);
    }
}

#[test]
fn lif_soft_reset_subtracts_the_threshold_gap() {
    let sc = load(&one_spike_scenario(
        "1 ms",
        "3 ms",
        r#"model = "lif"
        params = { reset = "soft", e_l = "0 mV", v_th = "1 mV", v_reset = "0 mV", t_ref = "0 ms", tau_m = "1e9 ms" }"#,
        0.0,
        "v",
        "2.5 mV",
        "0 ms",
        r#"["v"]"#,
    ));
    let sim = run_all(build(sc, EngineKind::Cpu, 1));
    let (_, d) = state_series(&sim, 0);
    // Spike emitted at step 0 arrives at step 1, where the jump enters before the step's
    // decay: v = 2.5 e^{-dt/tau} > 1 -> spike, soft reset subtracts 1 (about 1.5 mV left).
    let expected = 2.5 * (-1.0f64 / 1e9).exp() - 1.0;
    assert!((d[0][0] - 0.0).abs() < 1e-12, "{:?}", d[0]);
    assert!((d[0][1] - expected).abs() < 1e-12, "soft reset should leave {expected} mV, got {:?}", d[0]);
}

#[test]
fn lif_curr_exp_psp_matches_the_analytic_kernel() {
    // One input spike of weight w at t_s: i(t) = w e^{-(t-t_s)/tau_s},
    // v(t) - e_l = w tau_s tau_m / (c (tau_s - tau_m)) (e^{-(t-t_s)/tau_s} - e^{-(t-t_s)/tau_m}).
    let sc = load(&one_spike_scenario(
        "0.1 ms",
        "60 ms",
        r#"model = "lif_curr_exp"
        params = { c_m = "200 pF", tau_m = "20 ms", tau_syn_ex = "5 ms", e_l = "-65 mV", v_th = "0 mV" }"#,
        9.9,
        "exc",
        "100 pA",
        "0 ms",
        r#"["v", "i_ex"]"#,
    ));
    let sim = run_all(build(sc, EngineKind::Cpu, 1));
    let (t, d) = state_series(&sim, 0);
    // Emitted at step 99 (9.9 ms), added to i_ex at the start of step 100; the state
    // recorded after step k is at t = (k+1) dt, so the current starts acting at t_s = 10 ms.
    let ts = 10.0;
    let (c, tm, tsyn, w) = (200.0f64, 20.0f64, 5.0f64, 100.0f64);
    let mut worst: f64 = 0.0;
    for (k, &tk) in t.iter().enumerate() {
        let s = tk - ts;
        let (v_exp, i_exp) = if s < 1e-9 {
            (0.0, 0.0)
        } else {
            (w * tsyn * tm / (c * (tsyn - tm)) * ((-s / tsyn).exp() - (-s / tm).exp()), w * (-s / tsyn).exp())
        };
        worst = worst.max((d[0][k] + 65.0 - v_exp).abs()).max((d[1][k] - i_exp).abs() / 100.0);
    }
    assert!(worst < 1e-9, "PSP deviates from the exact kernel by {worst}");
    let peak = d[0].iter().cloned().fold(f64::MIN, f64::max) + 65.0;
    assert!(peak > 0.5 && peak < 5.0, "PSP peak {peak} mV is implausible");
}

#[test]
fn lif_cond_exp_follows_forward_euler() {
    // Independent Euler recursion of the COBA equations for one neuron with an input spike.
    let sc = load(&one_spike_scenario(
        "0.1 ms",
        "30 ms",
        r#"model = "lif_cond_exp"
        init = { v = "-60 mV", g_ex = "5 nS", g_in = "20 nS" }"#,
        2.0,
        "exc",
        "6 nS",
        "0 ms",
        r#"["v", "g_ex", "g_in"]"#,
    ));
    let sim = run_all(build(sc, EngineKind::Cpu, 1));
    let (_, d) = state_series(&sim, 0);
    let (dt, c, gl, el, ee, ei, te, ti) = (0.1, 200.0, 10.0, -60.0, 0.0, -80.0, 5.0, 10.0);
    let (mut v, mut ge, mut gi) = (-60.0f64, 5.0f64, 20.0f64);
    #[expect(clippy::needless_range_loop, reason = "k is the step number of three parallel series")]
    for k in 0..300 {
        if k == 21 {
            ge += 6.0; // emitted at step 20, delivered at step 21
        }
        let dv = (gl * (el - v) + ge * (ee - v) + gi * (ei - v)) / c;
        v += dt * dv;
        ge -= dt * ge / te;
        gi -= dt * gi / ti;
        assert!((d[0][k] - v).abs() < 1e-9 && (d[1][k] - ge).abs() < 1e-9 && (d[2][k] - gi).abs() < 1e-9, "step {k}: v {} vs {v}, ge {} vs {ge}", d[0][k], d[1][k]);
    }
}

#[test]
fn delays_shift_arrival_by_whole_steps() {
    let text = |delay: &str| {
        one_spike_scenario(
            "0.1 ms",
            "10 ms",
            r#"model = "lif"
            params = { tau_m = "1e9 ms", e_l = "0 mV", v_th = "100 mV" }"#,
            1.0,
            "v",
            "1 mV",
            delay,
            r#"["v"]"#,
        )
    };
    for (delay, first_step) in [("0 ms", 11usize), ("0.1 ms", 12), ("2.5 ms", 36)] {
        let sim = run_all(build(load(&text(delay)), EngineKind::Cpu, 1));
        let (_, d) = state_series(&sim, 0);
        let k = d[0].iter().position(|&v| v > 0.5).expect("input arrives");
        assert_eq!(k, first_step, "delay {delay}: input should act in step {first_step}");
    }
}
