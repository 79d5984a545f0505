//! Input at `v` around the refractory period, as Brian2 2.9 runs it: a LIF driven above
//! threshold spikes at step 0 and is clamped for `timestep(t_ref) - 1` steps; Brian2's
//! `on_pre = 'v += w'` skips a neuron from its spike's step through its last refractory
//! step (`not_refractory` is false there), so of inputs whose `on_pre` runs at steps 18 to
//! 21 (here: acting at steps 19 to 22) the first two are dropped. Brian2's own run of this
//! case (forward Euler there, exact integration here) is quoted in
//! `plugins/neuron-equations/tests/equations.rs`.

use std::path::Path;

use spikeworld::monitor::{SpikeRecorder, StateRecorder};
use spikeworld::prelude::*;

fn run(model: &str, t_ref: &str, soft: bool) -> (Vec<f64>, Vec<f64>) {
    let reset = if soft { ", reset = \"soft\"" } else { "" };
    let text = format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"2.4 ms\"\n[[population]]\nname = \"n\"\nsize = 1\nmodel = \"{model}\"\nparams = {{ e_l = \"-60 mV\", tau_m = \"10 ms\", v_th = \"-50 mV\", v_reset = \"-65 mV\", t_ref = \"{t_ref}\"{reset} }}\ninit = {{ v = \"-40 mV\" }}\n\
        [[encoder]]\nname = \"g\"\nkind = \"spike_generator\"\nsize = 1\ntimes = [\"1.8 ms\", \"1.9 ms\", \"2.0 ms\", \"2.1 ms\"]\nindices = [0, 0, 0, 0]\n\
        [[projection]]\nfrom = \"g\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = \"0.9 mV\"\n\
        [[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [\"v\", \"refr\"]\n[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n"
    );
    let b = spikeworld_cli::builder();
    let sc = Scenario::from_str(&text, Path::new("refr.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_to_end(u64::MAX, |_| {});
    let st = sim.monitors.iter().find_map(|&e| sim.world.get::<StateRecorder>(e)).unwrap();
    let sp = sim.monitors.iter().find_map(|&e| sim.world.get::<SpikeRecorder>(e)).unwrap();
    assert_eq!(sp.t_ms().iter().map(|t| (t / 0.1).round() as u64).collect::<Vec<_>>(), vec![0], "{model}");
    (st.data[0].clone(), st.data[1].clone())
}

#[test]
fn input_at_v_is_dropped_from_the_spike_through_the_last_refractory_step() {
    let p22 = (-0.1f64 / 10.0).exp();
    let free = |v: f64| (v - -60.0) * p22 + -60.0;
    for model in ["lif"] {
        let (v, refr) = run(model, "2 ms", false);
        assert!(v[..20].iter().all(|&x| x == -65.0), "{model}: {:?}", &v[..20]);
        // The counter: timestep(t_ref) = 20 at the spike, clamped while above 1.
        assert_eq!((refr[0], refr[18], refr[19], refr[20]), (20.0, 2.0, 1.0, 0.0));
        assert_eq!(v[20], free(-65.0), "{model}: the input of step 20 (Brian2's on_pre of step 19) is dropped");
        assert_eq!(v[21], free(v[20] + 0.9), "{model}: that of step 21 acts");
        assert_eq!(v[22], free(v[21] + 0.9));
    }
    // With no refractory period, the input of the step after the spike is still dropped
    // (Brian2 sets not_refractory to false at the threshold, before `on_pre`).
    let (v, refr) = run("lif", "0 ms", true);
    assert_eq!(refr[0], 1.0);
    assert!(v.iter().take(19).all(|&x| x < -50.0));
}
