//! `lif` and `lif_curr_exp` against traces simulated by Brian2 (`tests/fixtures/make_brian2_lif.py`
//! regenerates `brian2_lif.json`): delta-synapse PSPs with zero and non-zero delays, and an
//! off-grid refractory period. Spike steps must be equal and v within 1e-9 mV at every step,
//! except the sample of a delta input's arrival step: Brian2 adds the jump after that step's
//! update (its sample shows it), spikeworld before the next update's decay (the same
//! trajectory from the next step on).

use std::path::Path;

use serde_json::Value;
use spikeworld::monitor::{SpikeRecorder, StateRecorder};
use spikeworld::prelude::*;

const TOLERANCE_MV: f64 = 1e-9;

fn cases() -> (f64, Vec<Value>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brian2_lif.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    (v["dt_ms"].as_f64().unwrap(), v["cases"].as_array().unwrap().clone())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// The case as a scenario: one neuron, the Brian2 script's parameters, a state and a spike
/// monitor, and one generator output and projection per input spike.
fn scenario(case: &Value, dt: f64) -> String {
    let params: Vec<String> = case["params"].as_object().unwrap().iter().map(|(k, v)| format!("{k} = {:?}", f(v))).collect();
    let mut text = format!(
        "[simulation]\ndt = {dt:?}\nt_stop = {:?}\n[[population]]\nname = \"n\"\nsize = 1\nmodel = \"{}\"\nparams = {{ {} }}\n",
        f(&case["t_stop_ms"]),
        case["model"].as_str().unwrap(),
        params.join(", ")
    );
    let inputs = case["inputs"].as_array().unwrap();
    if !inputs.is_empty() {
        let times: Vec<String> = inputs.iter().map(|i| format!("{:?}", f(&i[0]))).collect();
        let idx: Vec<String> = (0..inputs.len()).map(|k| k.to_string()).collect();
        text += &format!("[[encoder]]\nname = \"g\"\nkind = \"spike_generator\"\nsize = {}\ntimes = [{}]\nindices = [{}]\n", inputs.len(), times.join(", "), idx.join(", "));
        for (k, i) in inputs.iter().enumerate() {
            text += &format!("[[projection]]\nfrom = \"g[{k}]\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = {:?}\ndelay = {:?}\n", f(&i[1]), f(&i[2]));
        }
    }
    text + "[[monitor]]\nname = \"v\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [\"v\"]\n[[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"n\"\n"
}

#[test]
fn lif_models_match_brian2_traces() {
    let (dt, cases) = cases();
    assert_eq!(cases.len(), 3);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let b = spikeworld_cli::builder();
        let sc = Scenario::from_str(&scenario(case, dt), Path::new("brian2_case.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut sim = b.build(sc, &RunOptions::default()).expect("build");
        sim.run_to_end(u64::MAX, |_| {});
        let state = sim.monitors.iter().find_map(|&e| sim.world.get::<StateRecorder>(e)).unwrap();
        let spikes = sim.monitors.iter().find_map(|&e| sim.world.get::<SpikeRecorder>(e)).unwrap();
        let steps: Vec<u64> = spikes.t_ms().iter().map(|t| (t / dt).round() as u64).collect();
        let want: Vec<u64> = case["spike_steps"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
        assert_eq!(steps, want, "{name}: spike steps");
        // The arrival step of each delta input: spike step + 1 + delay steps, less the one
        // the jump is applied in (Brian2 applies it in the synapses slot of the step before).
        let arrivals: Vec<usize> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| ((f(&i[0]) / dt).round() + (f(&i[2]) / dt).round()) as usize)
            .collect();
        let brian: Vec<f64> = case["v"].as_array().unwrap().iter().map(f).collect();
        let ours = &state.data[0];
        assert_eq!(ours.len(), brian.len(), "{name}: samples");
        let mut compared = 0;
        for (k, (a, b)) in ours.iter().zip(&brian).enumerate() {
            if arrivals.contains(&k) {
                // Held in the ring: the sample lacks exactly the jump.
                let w: f64 = case["inputs"].as_array().unwrap().iter().filter(|i| ((f(&i[0]) / dt).round() + (f(&i[2]) / dt).round()) as usize == k).map(|i| f(&i[1])).sum();
                assert!((a + w - b).abs() <= TOLERANCE_MV, "{name}: step {k}: spikeworld {a} + jump {w} vs Brian2 {b}");
                continue;
            }
            assert!((a - b).abs() <= TOLERANCE_MV, "{name}: step {k}: spikeworld {a} mV, Brian2 {b} mV");
            compared += 1;
        }
        assert!(compared + arrivals.len() == brian.len() && compared > 50, "{name}: {compared} samples compared");
    }
}

/// Forty LIF neurons, each with its own `tau_m`, `c_m`, `e_l`, `v_th`, `v_reset`, `t_ref`
/// (0 to 5 ms, off-grid values among them) and `i_e`, given as lists (`lif`'s per-neuron
/// form), against Brian2 with the same values as neuron variables
/// (`tests/fixtures/lif_per_neuron_brian2.py`, exact integration, dt = 0.1 ms, 1 s): every
/// spike at the same step, with hard and soft reset.
#[test]
fn per_neuron_lif_spikes_as_brian2() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let p = spikeworld::util::npy::read_npy_f64(&dir.join("lif_per_neuron_params.npy"), None).expect("parameters");
    assert_eq!(p.shape, vec![7, 40]);
    let n = p.shape[1];
    let keys = ["tau_m", "c_m", "e_l", "v_th", "v_reset", "t_ref", "i_e"];
    let params: Vec<String> = keys.iter().enumerate().map(|(k, key)| format!("{key} = [{}]", p.values[k * n..(k + 1) * n].iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", "))).collect();
    let b = spikeworld_cli::builder();
    for reset in ["hard", "soft"] {
        let text = format!(
            "[simulation]\ndt = 0.1\nt_stop = 1000.0\n[[population]]\nname = \"n\"\nsize = {n}\nmodel = \"lif\"\nparams = {{ {}, reset = \"{reset}\" }}\n\
             init = {{ v = [{}] }}\n[[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"n\"\n",
            params.join(", "),
            p.values[2 * n..3 * n].iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
        );
        let sc = Scenario::from_str(&text, Path::new("t.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = b.build(sc, &RunOptions::default()).unwrap();
        sim.run_steps(10_000);
        let m = sim.world.get::<SpikeRecorder>(sim.monitors[0]).unwrap();
        let mut got: Vec<(u64, u32)> = m.iter().map(|(t, i)| ((t / 0.1).round() as u64, i)).collect();
        let want_flat = spikeworld::util::npy::read_npy_f64(&dir.join(format!("lif_per_neuron_{reset}.npy")), None).expect("reference");
        let mut want: Vec<(u64, u32)> = want_flat.values.chunks_exact(2).map(|c| (c[0] as u64, c[1] as u32)).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert!(want.len() > 2000 && (0..n as u32).all(|i| want.iter().any(|w| w.1 == i)), "{reset}: every reference neuron spikes");
        assert_eq!(got, want, "{reset}: spikes differ from Brian2's");
    }
}
