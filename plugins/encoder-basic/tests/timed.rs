//! `timed_current` (Brian2's `TimedArray` as an input current, NEST's
//! `step_current_generator`): the current of every step and target from its definition,
//! a 2-D file with a column per target, refusals, and a LIF membrane driven by it against
//! the exact solution of its equation.

mod common;
use common::*;

use spikeworld::prelude::*;

fn scenario(n: usize, body: &str) -> String {
    format!("[simulation]\ndt = \"0.1 ms\"\nt_stop = \"5 ms\"\nseed = 5\n\n[[population]]\nname = \"P\"\nsize = {n}\nmodel = \"lif\"\n\n[[encoder]]\nname = \"e\"\nkind = \"timed_current\"\ntarget = \"P\"\n{body}\n")
}

fn currents(text: &str, n: usize, steps: u64, dir: &std::path::Path) -> Result<Vec<Vec<f64>>, String> {
    let b = builder();
    let sc = Scenario::from_str(text, &dir.join("test.toml"), b.registry(), &LoadOptions::default()).map_err(|e| e.to_string())?;
    let mut enc = sc.encoders[0].config.build();
    Ok((0..steps)
        .map(|s| {
            let mut out = vec![0.0; n];
            enc.step(s, EncoderOut::Current(&mut out));
            out
        })
        .collect())
}

#[test]
fn brian2s_timed_array_holds_each_value_for_every_and_the_last_for_ever() {
    let dir = std::path::Path::new(".");
    let out = currents(&scenario(3, "values = [\"100 pA\", \"-50 pA\", \"0.2 nA\"]\nevery = \"0.3 ms\""), 3, 15, dir).unwrap();
    for (s, row) in out.iter().enumerate() {
        let want = [100.0, -50.0, 200.0][(s / 3).min(2)];
        assert_eq!(row, &vec![want; 3], "step {s}");
    }
    // Default `every`: one value per step.
    let out = currents(&scenario(1, "values = [\"1 pA\", \"2 pA\"]"), 1, 4, dir).unwrap();
    assert_eq!(out, vec![vec![1.0], vec![2.0], vec![2.0], vec![2.0]]);
}

#[test]
fn nests_step_current_generator_is_zero_before_the_first_time() {
    let dir = std::path::Path::new(".");
    let out = currents(&scenario(2, "values = [\"30 pA\", \"0 pA\", \"45 pA\"]\ntimes = [\"0.2 ms\", \"0.5 ms\", \"0.61 ms\"]"), 2, 10, dir).unwrap();
    let want = |s: usize| match s {
        0..=1 => 0.0,
        2..=4 => 30.0,
        5 => 0.0,
        _ => 45.0,
    };
    for (s, row) in out.iter().enumerate() {
        assert_eq!(row, &vec![want(s); 2], "step {s}");
    }
}

#[test]
fn a_file_with_a_column_per_target_gives_each_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    write_npy_f64(&tmp.path().join("i.npy"), &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let out = currents(&scenario(3, "file = \"i.npy\"\nevery = \"0.2 ms\""), 3, 5, tmp.path()).unwrap();
    assert_eq!(out, vec![vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0], vec![4.0, 5.0, 6.0], vec![4.0, 5.0, 6.0]]);
    write_npy_f64(&tmp.path().join("bad.npy"), &[2, 4], &[0.0; 8]);
    let e = currents(&scenario(3, "file = \"bad.npy\""), 3, 1, tmp.path()).unwrap_err();
    assert_mentions(&e, &["encoder[0].file", "[bins] or [bins, 3]"]);
}

#[test]
fn bad_timed_currents_are_refused_at_their_key() {
    let dir = std::path::Path::new(".");
    for (body, parts) in [
        ("", &["encoder[0].values", "give `values`"][..]),
        ("values = [\"1 pA\"]\ntimes = [\"1 ms\", \"2 ms\"]", &["encoder[0].times", "2 times for 1 values"]),
        ("values = [\"1 pA\", \"2 pA\"]\ntimes = [\"1 ms\", \"1.01 ms\"]", &["encoder[0].times", "same step"]),
        ("values = [\"1 pA\"]\nevery = \"0.25 ms\"", &["encoder[0].every", "whole number of steps"]),
        ("values = [\"1 pA\"]\nevery = \"1 ms\"\ntimes = [\"1 ms\"]", &["encoder[0].every", "not both"]),
        ("values = [\"1 mV\"]", &["encoder[0].values", "current"]),
        ("values = []", &["encoder[0].values", "no values"]),
    ] {
        let e = currents(&scenario(2, body), 2, 1, dir).err().unwrap_or_else(|| panic!("should be refused: {body}"));
        assert_mentions(&e, parts);
    }
}

/// A `lif` neuron (no spike: threshold out of reach) driven by a step current: between
/// changes v relaxes exactly to e_l + R·I with the propagators of the step.
#[test]
fn a_lif_membrane_follows_the_exact_solution_under_the_current() {
    let text = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"30 ms\"\n\n[[population]]\nname = \"P\"\nsize = 1\nmodel = \"lif\"\nparams = { tau_m = \"10 ms\", c_m = \"250 pF\", e_l = \"-70 mV\", v_th = \"100 mV\" }\ninit = { v = \"-70 mV\" }\n\n\
        [[encoder]]\nname = \"e\"\nkind = \"timed_current\"\ntarget = \"P\"\nvalues = [\"0 pA\", \"500 pA\", \"-200 pA\"]\nevery = \"10 ms\"\n\n\
        [[monitor]]\nname = \"v\"\nkind = \"state\"\ntarget = \"P\"\nvariables = [\"v\"]\n";
    let b = builder();
    let sc = Scenario::from_str(text, std::path::Path::new("t.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_to_end(u64::MAX, |_| {});
    let rec = sim.monitors.iter().find_map(|&e| sim.world.get::<spikeworld::monitor::StateRecorder>(e)).unwrap();
    let v = &rec.data[0];
    // R = tau_m / c_m = 40 MΩ: 500 pA → 20 mV, -200 pA → -8 mV. Exact: v(t) = v_inf +
    // (v0 - v_inf) e^{-(t - t0)/tau} within each 10 ms piece (samples at the end of each step).
    let mut v0 = -70.0;
    for (piece, i_pa) in [0.0, 500.0, -200.0].iter().enumerate() {
        let v_inf = -70.0 + 40.0 * i_pa * 1e-3;
        for k in 1..=100 {
            let want = v_inf + (v0 - v_inf) * (-(k as f64) * 0.1 / 10.0).exp();
            let got = v[piece * 100 + k - 1];
            assert!((got - want).abs() < 1e-9, "piece {piece}, step {k}: v {got}, exact {want}");
        }
        v0 = v_inf + (v0 - v_inf) * (-1.0f64).exp();
    }
}
