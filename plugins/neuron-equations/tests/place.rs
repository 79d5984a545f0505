//! Brian2's `i` (the neuron's index in its population) and `N` (the population's size) in
//! equations: constant rows the core fills from each neuron's place.

mod common;

use common::*;
use spikeworld::prelude::*;

/// Brian2's example `IF_curve_LIF`, with `v0` a subexpression of `i` and `N` in place of
/// Brian2's `group.v0 = '20*mV * i / (N - 1)'`.
const IF_CURVE: &str = "equations = '''\ndv/dt = (v0 - v)/tau : volt (unless refractory)\nv0 = i*v0_max/(N - 1) : volt\n'''\nthreshold = \"v > 10*mV\"\nreset = \"v = 0*mV\"\nrefractory = \"5 ms\"\nmethod = \"exact\"\nparams = { tau = \"10 ms\", v0_max = \"20 mV\" }";

/// The spike steps of one neuron driven towards `v0` (mV) over `steps` steps of 0.1 ms,
/// from the formula: `v ← v0 + (v − v0)·e^(−dt/τ)` while free, a spike when `v > 10`
/// after the update, then `v = 0` held for 5 ms (Brian2: free again when
/// `t − lastspike ≥ 5 ms`, so 49 steps held after the spike's).
fn if_curve_spikes(v0: f64, steps: u64) -> Vec<u64> {
    let decay = (-0.1f64 / 10.0).exp();
    let (mut v, mut held, mut out) = (0.0f64, 0u64, Vec::new());
    for s in 0..steps {
        if held > 0 {
            held -= 1;
            continue;
        }
        v = v0 + (v - v0) * decay;
        if v > 10.0 {
            out.push(s);
            v = 0.0;
            held = 49;
        }
    }
    out
}

#[test]
fn brian2s_if_curve_reads_i_and_n() {
    let n = 100;
    let steps = 10_000;
    let text = single(IF_CURVE, n, "", "v = \"0 mV\"", "1 s", "\"v\", \"i\", \"N\"").replace("[[monitor]]\nname = \"st\"", "[[monitor]]\nname = \"st\"\nevery = \"1 s\"");
    let (spikes, st) = run(&text);
    let mut firing = 0;
    for k in 0..n {
        let want = if_curve_spikes(20.0 * k as f64 / (n - 1) as f64, steps);
        let got: Vec<u64> = spikes.iter().filter(|s| s.1 == k as u32).map(|s| s.0).collect();
        assert_eq!(got, want, "neuron {k}");
        firing += usize::from(!want.is_empty());
    }
    // v0 > 10 mV from neuron 50 on: the curve's threshold, and rates that grow with i.
    assert_eq!(firing, 50);
    // The curve itself: rate 1/(t_ref + τ·ln(v0/(v0 − θ))), the period shorter by at most
    // a step of 0.1 ms on the grid.
    for k in 50..n {
        let v0 = 20.0 * k as f64 / (n - 1) as f64;
        let rate = 1000.0 / (5.0 + 10.0 * (v0 / (v0 - 10.0)).ln());
        let count = spikes.iter().filter(|s| s.1 == k as u32).count() as f64;
        assert!((count - rate).abs() <= 2.0 + 0.01 * rate, "neuron {k}: {count} spikes, the formula's rate {rate:.2} Hz");
    }
    // The rows as a state monitor records them (one sample: every = 1 s).
    assert_eq!(st[0][1], (0..n).map(|k| k as f64).collect::<Vec<_>>());
    assert_eq!(st[0][2], vec![n as f64; n]);
}

#[test]
fn shards_and_engines_see_each_neurons_own_index() {
    // `i` and `N` in the threshold, the reset and an `euler` equation too.
    let model = "equations = '''\ndv/dt = (v0 - v)/tau : volt\nv0 = (i + 1)*12*mV/N + 5*mV : volt\n'''\nthreshold = \"v > (10 + 0.5*i/N)*mV\"\nreset = \"v = -i*0.01*mV\"\nmethod = \"euler\"\nparams = { tau = \"10 ms\" }";
    let text = single(model, 40, "", "v = \"0 mV\"", "200 ms", "\"v\"");
    let (want, st) = run(&text);
    assert!(want.len() > 100, "{}", want.len());
    // The last neuron (v0 = 17 mV) fires, the first (v0 = 5.3 mV) does not.
    assert!(want.iter().any(|s| s.1 == 39) && !want.iter().any(|s| s.1 == 0));
    for shards in [2, 3] {
        let (got, st_got) = run_with(&text, &RunOptions { shards, ..Default::default() });
        assert_eq!(got, want, "{shards} shards");
        assert_eq!(st_got, st, "{shards} shards: v");
    }
    for engine in [EngineKind::Tensor, EngineKind::Device] {
        let (got, _) = run_with(&text, &RunOptions { engine, ..Default::default() });
        assert_eq!(got, want, "{engine:?}");
    }
}

#[test]
fn i_and_n_are_set_by_spikeworld_only() {
    let e = load_err(&single(IF_CURVE, 4, "", "i = \"2\"", "1 ms", "\"v\""));
    assert!(e.contains("init.i") && e.contains("index in its population (Brian2's `i`)") && e.contains("not by `init`"), "{e}");
    let e = load_err(&single(IF_CURVE, 4, "", "N = \"2\"", "1 ms", "\"v\""));
    assert!(e.contains("population's size (Brian2's `N`)"), "{e}");
    // Nor are they offered as what `init` may set.
    let e = load_err(&single(IF_CURVE, 4, "", "u = \"2 mV\"", "1 ms", "\"v\""));
    assert!(e.ends_with("valid: v, refr"), "{e}");
    // `exact` holds its coefficients per population; `i` is per neuron.
    let coeff = "equations = '''\ndv/dt = -v*(i + 1)/tau : volt\n'''\nmethod = \"exact\"\nparams = { tau = \"10 ms\" }";
    let e = load_err(&single(coeff, 4, "", "", "1 ms", "\"v\""));
    assert!(e.contains("`i` in a coefficient") && e.contains("exact"), "{e}");
    // Without a method the equations are then not linear: `euler`, as Brian2 would not
    // pick `exact` for them either; v decays faster with i.
    let (_, st) = run(&single(&coeff.replace("method = \"exact\"\n", ""), 4, "", "v = \"10 mV\"", "1 ms", "\"v\""));
    assert!(of(&st[0][0], 0, 4)[9] > of(&st[0][0], 3, 4)[9]);
    // A constant may not read them.
    let e = load_err(&single(IF_CURVE.replace("v0_max = \"20 mV\"", "v0_max = \"20*mV*N\"").as_str(), 4, "", "", "1 ms", "\"v\""));
    assert!(e.contains("`N` (Brian2's population size) is not a constant"), "{e}");
}
