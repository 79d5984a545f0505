//! Every model against reference traces simulated by Brian2 with the same integration
//! scheme (`tests/fixtures/make_brian2_traces.py`, which regenerates the fixtures).
//!
//! Brian2 computes in SI units (volts, seconds) with its own arrangement of the
//! arithmetic, and numpy's `exp`; spikeworld in mV/ms/pA. The schemes are the same, so
//! the traces differ only by rounding: we require identical spike steps and
//! |v - v_brian2| <= 1e-4 mV at every step. Measured: <= 6.2e-10 mV for every case but
//! `izh_fs` (1.4e-5 mV, in the fast upstroke before a spike, where rounding is amplified).

mod common;
use std::path::Path;

use common::*;
use serde_json::Value;
use spikeworld::prelude::*;

/// Largest allowed difference of v at any step, mV.
const TOLERANCE_MV: f64 = 1e-4;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn scenario_of(case: &Value) -> String {
    let model = case["model"].as_str().unwrap();
    let dt = case["dt_ms"].as_f64().unwrap();
    let t_stop = case["t_stop_ms"].as_f64().unwrap();
    let params: Vec<String> = case["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} = \"{s}\""),
            other => format!("{k} = {:?}", other.as_f64().unwrap()),
        })
        .collect();
    let mut text = format!(
        "[simulation]\ndt = {dt:?}\nt_stop = {t_stop:?}\n[[population]]\nname = \"n\"\nsize = 1\nmodel = \"{model}\"\nparams = {{ {} }}\n",
        params.join(", ")
    );
    // One generator and one projection per input spike: each has its own weight.
    for (k, input) in case["inputs"].as_array().unwrap().iter().enumerate() {
        let (t, r, w) = (input["t_ms"].as_f64().unwrap(), input["receptor"].as_str().unwrap(), input["weight"].as_f64().unwrap());
        text += &format!(
            "[[encoder]]\nname = \"g{k}\"\nkind = \"spike_generator\"\nsize = 1\ntimes = [{t:?}]\nindices = [0]\n\
             [[projection]]\nfrom = \"g{k}\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"{r}\"\nweight = {w:?}\n"
        );
    }
    text += "[[monitor]]\nname = \"v\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [\"v\"]\n[[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"n\"\n";
    text
}

#[test]
fn every_model_matches_brian2_reference_traces() {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("brian2_traces.json")).expect("fixture index")).expect("json");
    let b = builder();
    let cases = index["cases"].as_array().unwrap();
    assert!(cases.len() >= 14, "fixture index lists {} cases", cases.len());
    let mut models = std::collections::BTreeSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        models.insert(case["model"].as_str().unwrap().to_string());
        let dt = case["dt_ms"].as_f64().unwrap();
        let sim = run(&b, load(&b, &scenario_of(case)), EngineKind::Cpu);
        let mut want_v = npy_f64(&fixtures().join(case["v"].as_str().unwrap()));
        // Brian2's `on_pre='v += w'` runs in the synapses slot of the emission step k, so its
        // `end`-slot record of step k already shows the jump; spikeworld adds it at the start
        // of step k + 1. Both integrate step k + 1 from the same v + w: only the sample of
        // step k differs, by exactly w.
        for input in case["inputs"].as_array().unwrap().iter().filter(|i| i["receptor"] == "v") {
            let k = (input["t_ms"].as_f64().unwrap() / dt + 1e-6).floor() as usize;
            want_v[k] -= input["weight"].as_f64().unwrap();
        }
        let (_, data) = state_series(&sim, 0);
        assert_eq!(data[0].len(), want_v.len(), "{name}: trace length");
        let want_spikes: Vec<u64> = case["spike_steps"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
        let got_spikes: Vec<u64> = spike_steps(&sim, 1, dt).into_iter().map(|(s, _)| s).collect();
        assert!(!want_spikes.is_empty(), "{name}: the reference should spike");
        assert_eq!(got_spikes, want_spikes, "{name}: spike steps differ from Brian2's");
        let (worst, at) = data[0].iter().zip(&want_v).enumerate().map(|(k, (a, b))| ((a - b).abs(), k)).fold((0.0f64, 0), |m, x| if x.0 > m.0 { x } else { m });
        eprintln!("{name:20} {} spikes, max |v - v_brian2| = {worst:.3e} mV (step {at})", got_spikes.len());
        assert!(worst <= TOLERANCE_MV, "{name}: v differs from Brian2's by {worst} mV at step {at} ({} vs {})", data[0][at], want_v[at]);
    }
    let want: std::collections::BTreeSet<String> = ["izhikevich", "aeif_cond_exp", "aeif_curr_exp", "eif", "qif"].iter().map(|s| s.to_string()).collect();
    assert_eq!(models, want, "every model has reference traces");
}

/// Twenty Izhikevich neurons, each with its own `(a, b, c, d)` given as lists, against
/// Brian2 with the same values as neuron variables (`tests/fixtures/izhikevich_per_neuron_brian2.py`,
/// dimensionless, forward Euler, dt = 0.1 ms, 1 s): the same spikes, to the step.
#[test]
fn per_neuron_izhikevich_spikes_as_brian2() {
    let n = 20;
    let r: Vec<f64> = (0..n).map(|i| i as f64 / (n - 1) as f64).collect();
    let list = |f: &dyn Fn(f64) -> f64| r.iter().map(|&r| format!("{:?}", f(r))).collect::<Vec<_>>().join(", ");
    let amps: Vec<String> = (0..n).map(|i| format!("{:?}", 5.0 + 0.5 * i as f64)).collect();
    let text = format!(
        "[simulation]\ndt = 0.1\nt_stop = 1000.0\n[[population]]\nname = \"n\"\nsize = {n}\nmodel = \"izhikevich\"\n\
         params = {{ a = [{}], b = [{}], c = [{}], d = [{}] }}\n\
         [[encoder]]\nname = \"dc\"\nkind = \"constant_current\"\ntarget = \"n\"\namplitude = [{}]\n\
         [[monitor]]\nname = \"v\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [\"v\"]\nindices = [0]\n\
         [[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"n\"\n",
        list(&|r| 0.02 + 0.08 * (1.0 - r)),
        list(&|r| 0.25 - 0.05 * r),
        list(&|r| -65.0 + 15.0 * (r * r)),
        list(&|r| 8.0 - 6.0 * (r * r)),
        amps.join(", ")
    );
    let b = builder();
    let sim = run(&b, load(&b, &text), EngineKind::Cpu);
    let mut got = spike_steps(&sim, 1, 0.1);
    got.sort_unstable();
    let flat = npy_f64(&fixtures().join("izh_per_neuron_spikes.npy"));
    let mut want: Vec<(u64, i64)> = flat.chunks_exact(2).map(|c| (c[0] as u64, c[1] as i64)).collect();
    want.sort_unstable();
    assert_eq!(want.len(), 1444, "the fixture's spikes");
    // Measured: 19 trains identical over the second; neuron 14 (period sensitive to the
    // last bit: Brian2 computes dt·(x/ms) in seconds, spikeworld x·dt in ms) identical to
    // 449 ms, then the same spikes up to 11 steps later (68 spikes both).
    let mut identical = 0;
    for j in 0..n as i64 {
        let a: Vec<u64> = got.iter().filter(|s| s.1 == j).map(|s| s.0).collect();
        let w: Vec<u64> = want.iter().filter(|s| s.1 == j).map(|s| s.0).collect();
        assert_eq!(a.len(), w.len(), "neuron {j}: spike count");
        let early = |x: &[u64]| x.iter().filter(|&&s| s < 4000).copied().collect::<Vec<_>>();
        assert_eq!(early(&a), early(&w), "neuron {j}: spikes of the first 400 ms");
        identical += usize::from(a == w);
    }
    assert!(identical >= 19, "only {identical} of {n} spike trains identical to Brian2's over 1 s");
}
