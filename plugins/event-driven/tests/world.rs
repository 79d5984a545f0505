//! Event-driven populations in the world: the coupling rule in a hand-built case (a clock
//! spike at step 10 reaches an SRM0 neuron at exactly 10·dt + 1.37 ms; its spike at exact
//! time s reaches a LIF neuron in the update of step ⌈(s + d)/dt⌉), checked against the
//! neuron computed on its own; and a checkpoint with events pending resumes bit for bit.

use std::path::Path;

use spikeworld::prelude::*;
use spikeworld_event_driven::srm0::{Srm0Neuron, Srm0Params};
use spikeworld_event_driven::world::EventDrivenPlugin;
use spikeworld_event_driven::world::run::EventNet;

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(EventDrivenPlugin);
    b
}

const HAND_BUILT: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "20 ms"
seed = 3

[[encoder]]
name = "gen"
kind = "spike_generator"
size = 1
times = ["1 ms"]
indices = [0]

[[population]]
name = "out"
size = 1
model = "lif"
[population.params]
tau_m = "10 ms"
c_m = "250 pF"
e_l = "-70 mV"
v_th = "-55 mV"
v_reset = "-70 mV"
t_ref = "2 ms"

[[event_population]]
name = "srm"
size = 1
tau_m = "10 ms"
tau_s = "2.5 ms"
theta = 0.5
t_ref = "30 ms"
record = true

[[event_population.input]]
from = "gen"
rule = "all_to_all"
weight = 1.0
delay = "1.37 ms"

[[event_population.output]]
to = "out"
receptor = "v"
rule = "all_to_all"
weight = 30.0
delay = "0.5 ms"

[[monitor]]
name = "spikes"
kind = "spikes"
target = "out"
"#;

#[test]
fn the_coupling_rule_holds_exactly_in_a_hand_built_case() {
    let b = builder();
    let sc = Scenario::from_str(HAND_BUILT, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    let n = sim.end_step();
    sim.run_steps(n);
    sim.check().unwrap();
    let net = sim.world.resource::<EventNet>();
    let (t, i) = net.recorded("srm").unwrap();
    assert_eq!(i, &[0], "one spike of the SRM0 neuron");
    // The same neuron on its own, given the input at exactly 1 ms (step 10) + 1.37 ms.
    let p = Srm0Params { tau_m: 10.0, tau_s: 2.5, theta: 0.5, t_ref: 30.0, ..Default::default() };
    let mut alone = Srm0Neuron::new(p).unwrap();
    let mut out = Vec::new();
    let mut one_go = alone.clone();
    alone.receive(10.0 * 0.1 + 1.37, 1.0, &mut out).unwrap();
    // The world leaves a neuron at its last input until its predicted crossing's window,
    // then evolves it to that window's end.
    let predicted = alone.next_spike(1e6).unwrap();
    alone.advance(((predicted / 0.1).floor() + 1.0) * 0.1, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(t[0].to_bits(), out[0].to_bits(), "exact arrival and crossing: {} vs {}", t[0], out[0]);
    // In one go the root is found from another start: equal within the documented
    // tolerance (max(1e-12 ms, 4 ulp)).
    let mut out1 = Vec::new();
    one_go.receive(10.0 * 0.1 + 1.37, 1.0, &mut out1).unwrap();
    one_go.advance(20.0, &mut out1).unwrap();
    assert!((out1[0] - t[0]).abs() <= 1e-12, "{} vs {}", out1[0], t[0]);
    assert!((t[0] / 0.1 - (t[0] / 0.1).round()).abs() > 1e-6, "off the grid: {}", t[0]);
    // The LIF neuron gets the 30 mV jump in the update of step ceil((s + 0.5) / dt), and
    // spikes in it.
    let k = ((t[0] + 0.5) / 0.1).ceil();
    let mon = sim.monitors.iter().find_map(|&e| sim.world.get::<spikeworld::monitor::SpikeRecorder>(e)).unwrap();
    assert_eq!(mon.t_ms(), vec![k * 0.1], "the LIF spike is at the first step boundary after s + d");
}

#[test]
fn cosim_scenario_resumes_bit_for_bit_with_events_pending() {
    let b = builder();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/cosim_mixed.toml");
    let tmp = tempfile::tempdir().unwrap();
    // Pending events at the split: check that there are some.
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_steps(1234);
    assert!(sim.world.resource::<EventNet>().pending() > 0, "events in flight at the split");
    for split in [1234, 2001] {
        spikeworld::testing::check_resume(&b, &path, split, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn bad_event_tables_are_refused_with_the_key() {
    let b = builder();
    let bad = HAND_BUILT.replace("delay = \"0.5 ms\"", "delay = \"0.05 ms\"");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("a delay below dt is refused");
    assert!(e.to_string().contains("delay") && e.to_string().contains("at least one step"), "{e}");
    let bad = HAND_BUILT.replace("from = \"gen\"", "from = \"nobody\"");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("an unknown source is refused");
    assert!(e.to_string().contains("nobody"), "{e}");
    let bad = format!("{HAND_BUILT}\n[[monitor]]\nname = \"m\"\nkind = \"spikes\"\ntarget = \"srm\"\n");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("a monitor of an event population is refused");
    assert!(e.to_string().contains("hand.toml:") && e.to_string().contains("[[event_population]]"), "the error says where `srm` is: {e}");
    let bad = HAND_BUILT.replace("receptor = \"v\"", "receptor = \"q\"");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("an unknown receptor is refused");
    assert!(e.to_string().contains("no receptor"), "{e}");
    // A parameter the model refuses is located at its own key.
    let bad = HAND_BUILT.replace("tau_s = \"2.5 ms\"", "tau_s = \"10 ms\"");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("tau_s = tau_m is refused").to_string();
    assert!(e.contains("hand.toml:") && e.contains("event_population[0].tau_s`") && e.contains("must differ"), "{e}");
    // Named by the scenario's keys, not the library's (`tau`, `u_r` that nobody wrote).
    let bad = HAND_BUILT.replace("tau_m = \"10 ms\"\ntau_s = \"2.5 ms\"\ntheta = 0.5", "tau_m = \"0 ms\"\ntau_s = \"2.5 ms\"\ntheta = 0.5");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("tau_m = 0 is refused").to_string();
    assert!(e.contains("event_population[0].tau_m`") && e.contains("tau_m = 0") && !e.contains("`tau`"), "{e}");
    let bad = HAND_BUILT.replace("theta = 0.5", "theta = -1.0");
    let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().expect("theta below u_r is refused").to_string();
    assert!(e.contains("event_population[0].theta`") && e.contains("theta = -1 must be above u_r = 0"), "{e}");
    // One name space with the scenario's populations, encoders and monitors (its outputs
    // are files named after it), refused where the name is written.
    for (other, what) in [("out", "population"), ("gen", "encoder"), ("spk", "monitor")] {
        let bad = format!("{HAND_BUILT}\n[[monitor]]\nname = \"spk\"\nkind = \"spikes\"\ntarget = \"out\"\n").replace("name = \"srm\"", &format!("name = \"{other}\""));
        let e = Scenario::from_str(&bad, Path::new("hand.toml"), b.registry(), &LoadOptions::default()).err().unwrap_or_else(|| panic!("`{other}` twice is refused")).to_string();
        assert!(e.contains("hand.toml:") && e.contains("event_population[0].name") && e.contains(&format!("`{other}` is already the name of a {what}")), "{e}");
    }
}
