//! Models written as equations against Brian2 2.9 running the same equations
//! (`tests/fixtures/make_brian2_equations.py` writes `brian2_equations.json`): AdEx by
//! forward Euler with per-neuron currents and a two-statement reset (also with two of its
//! terms as subexpressions, recorded through `record`), a quadratic model by
//! RK4, a coupled linear system by `exact` with `(unless refractory)`, Brian2's COBAHH
//! neuron (Hodgkin–Huxley with `exprel`) by `exponential_euler`, the same with Brian2's
//! boolean refractoriness (`refractory = "v > -86.8*mV"`: one neuron's
//! afterhyperpolarisation never gets below it, so it spikes once), Brian2's IF curve
//! example with its drive written in the neuron's index `i` and the group's size `N`, and a model reading the
//! time `t` through most of C99's functions by RK4. Brian2 computes in
//! SI units with the expressions sympy rearranged, so values agree to rounding, not to the
//! bit: every spike must fall on the same step and every sample within a tolerance.

use std::path::Path;

use serde_json::Value;
use spikeworld::monitor::{SpikeRecorder, StateRecorder};
use spikeworld::prelude::*;

fn cases() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brian2_equations.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    v["cases"].as_array().unwrap().clone()
}

fn list(v: &Value, unit: &str) -> String {
    let q = |x: f64| if unit == "1" { format!("{x}") } else { format!("\"{x} {unit}\"") };
    v.as_array().unwrap().iter().map(|x| q(x.as_f64().unwrap())).collect::<Vec<_>>().join(", ")
}

/// The case as a scenario: the model table from the case's keys, one population.
fn scenario(c: &Value) -> String {
    let s = |k: &str| c[k].as_str().unwrap().to_string();
    let mut t = format!("[simulation]\ndt = \"{} ms\"\nt_stop = \"{} ms\"\n[neuron_models.m]\nequations = '''{}'''\nthreshold = \"{}\"\nmethod = \"{}\"\n", c["dt_ms"], c["t_stop_ms"], s("equations"), s("threshold"), s("method"));
    if !s("reset").is_empty() {
        t += &format!("reset = \"{}\"\n", s("reset"));
    }
    if let Some(r) = c["refractory_ms"].as_f64() {
        t += &format!("refractory = \"{r} ms\"\n");
    }
    if let Some(r) = c["refractory"].as_str() {
        t += &format!("refractory = \"{r}\"\n");
    }
    if let Some(r) = c["record"].as_array() {
        t += &format!("record = [{}]\n", r.iter().map(|x| format!("\"{}\"", x.as_str().unwrap())).collect::<Vec<_>>().join(", "));
    }
    t += "[neuron_models.m.params]\n";
    for (k, v) in c["constants"].as_object().unwrap() {
        t += &format!("{k} = \"{}\"\n", v.as_str().unwrap());
    }
    let per: Vec<String> = c["per_neuron"].as_object().unwrap().iter().map(|(k, v)| format!("{k} = [{}]", list(v, c["per_neuron_units"][k].as_str().unwrap()))).collect();
    let init: Vec<String> = c["init"].as_object().unwrap().iter().map(|(k, v)| format!("{k} = [{}]", list(v, c["init_units"][k].as_str().unwrap()))).collect();
    let vars: Vec<String> = c["recorded"].as_object().unwrap().keys().map(|k| format!("\"{k}\"")).collect();
    t += &format!("[[population]]\nname = \"n\"\nsize = {}\nmodel = \"m\"\nparams = {{ {} }}\ninit = {{ {} }}\n", c["n"], per.join(", "), init.join(", "));
    t + &format!("[[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [{}]\n[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n", vars.join(", "))
}

#[test]
fn equations_match_brian2() {
    let cases = cases();
    assert_eq!(cases.len(), 8);
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let n = c["n"].as_u64().unwrap() as usize;
        let dt = c["dt_ms"].as_f64().unwrap();
        let b = spikeworld_cli::builder();
        let sc = Scenario::from_str(&scenario(c), Path::new("brian2_case.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut sim = b.build(sc, &RunOptions::default()).expect("build");
        sim.run_to_end(u64::MAX, |_| {});
        let state = sim.monitors.iter().find_map(|&e| sim.world.get::<StateRecorder>(e)).unwrap();
        let spikes = sim.monitors.iter().find_map(|&e| sim.world.get::<SpikeRecorder>(e)).unwrap();
        let (t, idx) = (spikes.t_ms(), spikes.index());
        let mut total = 0;
        for i in 0..n {
            let ours: Vec<u64> = t.iter().zip(&idx).filter(|(_, k)| **k == i as i64).map(|(t, _)| (t / dt).round() as u64).collect();
            let want: Vec<u64> = c["spikes"][i].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
            assert_eq!(ours, want, "{name}: neuron {i}: spike steps");
            total += want.len();
        }
        assert!(total >= 5, "{name}: {total} spikes");
        let tolerance = if name.starts_with("hh") { HH_TOLERANCE } else { TOLERANCE };
        let mut worst = 0.0f64;
        for (r, (var, rows)) in c["recorded"].as_object().unwrap().iter().enumerate() {
            let ours = &state.data[r];
            for i in 0..n {
                let want: Vec<f64> = rows[i].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
                let mine: Vec<f64> = ours.iter().skip(i).step_by(n).copied().collect();
                assert_eq!(mine.len(), want.len(), "{name}: {var}: samples");
                for (k, (a, w)) in mine.iter().zip(&want).enumerate() {
                    let err = (a - w).abs() / w.abs().max(1.0);
                    worst = worst.max(err);
                    assert!(err < tolerance, "{name}: {var} of neuron {i} at step {k}: spikeworld {a}, Brian2 {w}");
                }
            }
        }
        eprintln!("{name}: {total} spikes, the same steps; largest relative difference of a sample {worst:.1e}");
    }
}

/// Relative to the value (or absolute below 1 mV / 1 pA).
const TOLERANCE: f64 = 1e-9;

/// Hodgkin–Huxley's upstroke (dv/dt of hundreds of mV/ms) magnifies rounding: samples
/// agree to 1e-14 between spikes and to 3.3e-9 mV at worst during one (the
/// differences shrink again after it: the rounding does not accumulate).
const HH_TOLERANCE: f64 = 1e-8;
