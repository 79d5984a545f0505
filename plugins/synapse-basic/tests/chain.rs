//! SpikingFlow's Simulator test chain (`scenarios/spikingflow_chain.toml`) against a
//! transcription, in this test, of `SpikingFlow.simulating.Simulator` and of the modules
//! of the chain (`ConstantEncoder`, `SpikeCurrent`, `IFNode`, `ExpDecayCurrent`,
//! `LIFNode`, as SpikingFlow's source and tutorials write their `forward`):
//!
//! ```text
//! ConstantEncoder -> SpikeCurrent(0.01) -> IFNode(r=0.5) -> SpikeCurrent(0.4)
//!   -> IFNode(r=2) -> ExpDecayCurrent(tau=5, amplitude=1) -> LIFNode(r=5, tau=10)
//! ```
//!
//! 1000 calls of `step`, input True for the first 800; `v` of the three neurons after each.
//! The mapping (plugins/synapse-basic/README.md, "SpikingFlow's Simulator as a scenario"):
//! every transform is a one-step-delay projection; with `fast = True` (the default, the
//! file) spikeworld step `t` is Simulator step `t - 2` and the encoder spikes in steps
//! `[0, 802)`; with `fast = False` step `t` is step `t` and the encoder spikes in
//! `[0, 800)`. The arithmetic is the same (f64, same operations in the same order), so
//! the traces are compared bit for bit. (SpikingFlow itself computes in float32; the
//! transcription here is in f64, as spikeworld.)

use std::path::Path;

use spikeworld::prelude::*;

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin);
    b
}

// ---------------------------------------------------------------------------------------
// SpikingFlow, transcribed.

/// What flows between modules: spikes (`torch.bool`) or currents (`torch.float`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Data {
    Spike(bool),
    Current(f64),
}

impl Data {
    fn spike(self) -> bool {
        match self {
            Data::Spike(s) => s,
            Data::Current(_) => panic!("a transform expects spikes"),
        }
    }
    fn current(self) -> f64 {
        match self {
            Data::Current(i) => i,
            Data::Spike(_) => panic!("a neuron expects a current"),
        }
    }
    /// `in_spike.float()`
    fn float(self) -> f64 {
        if self.spike() { 1.0 } else { 0.0 }
    }
}

enum Module {
    /// `encoding.ConstantEncoder`: `x.bool()`.
    ConstantEncoder,
    /// `connection.transform.SpikeCurrent`: `in_spike.float() * self.amplitude`.
    SpikeCurrent { amplitude: f64 },
    /// `connection.transform.ExpDecayCurrent`.
    ExpDecayCurrent { tau: f64, amplitude: f64, i: f64 },
    /// `neuron.IFNode` (`tau = None`) or `neuron.LIFNode`.
    Node { r: f64, v_threshold: f64, v_reset: f64, tau: Option<f64>, v: f64, next_out_spike: bool },
}

impl Module {
    fn if_node(r: f64, v_threshold: f64) -> Module {
        Module::Node { r, v_threshold, v_reset: 0.0, tau: None, v: 0.0, next_out_spike: false }
    }
    fn lif_node(r: f64, v_threshold: f64, tau: f64) -> Module {
        Module::Node { r, v_threshold, v_reset: 0.0, tau: Some(tau), v: 0.0, next_out_spike: false }
    }

    fn forward(&mut self, x: Data) -> Data {
        match self {
            Module::ConstantEncoder => Data::Spike(x.spike()),
            Module::SpikeCurrent { amplitude } => Data::Current(x.float() * *amplitude),
            Module::ExpDecayCurrent { tau, amplitude, i } => {
                // in_spike_float = in_spike.float()
                // i_decay = -self.i / self.tau
                // self.i += i_decay * (1 - in_spike_float) + self.amplitude * in_spike_float
                let in_spike_float = x.float();
                let i_decay = -*i / *tau;
                *i += i_decay * (1.0 - in_spike_float) + *amplitude * in_spike_float;
                Data::Current(*i)
            }
            Module::Node { r, v_threshold, v_reset, tau, v, next_out_spike } => {
                // The tutorial's forward: reset the neurons that crossed in the previous
                // step, integrate, clamp at v_threshold (spike in the next step), clamp
                // below at v_reset; return the previous step's crossing.
                let i = x.current();
                let out_spike = *next_out_spike;
                if out_spike {
                    *v = *v_reset;
                }
                match tau {
                    None => *v += *r * i,
                    Some(tau) => {
                        let v_decay = -(*v - *v_reset);
                        *v += (*r * i + v_decay) / *tau;
                    }
                }
                *next_out_spike = *v >= *v_threshold;
                if *next_out_spike {
                    *v = *v_threshold;
                }
                if *v < *v_reset {
                    *v = *v_reset;
                }
                Data::Spike(out_spike)
            }
        }
    }

    fn v(&self) -> f64 {
        match self {
            Module::Node { v, .. } => *v,
            _ => panic!("not a neuron"),
        }
    }
}

/// `simulating.Simulator`.
struct Simulator {
    module_list: Vec<Module>,
    pipeline: Vec<Option<Data>>,
    simulated_steps: u64,
    fast: bool,
}

impl Simulator {
    fn new(fast: bool) -> Self {
        Simulator { module_list: Vec::new(), pipeline: vec![None], simulated_steps: 0, fast }
    }

    fn append(&mut self, m: Module) {
        self.module_list.push(m);
        self.pipeline.push(None);
    }

    fn step(&mut self, input_data: Data) -> Option<Data> {
        let n = self.module_list.len();
        self.pipeline[0] = Some(input_data);
        if self.simulated_steps == 0 && self.fast {
            // The first call runs the whole pipeline on input_data.
            for i in 0..n {
                let x = self.pipeline[i].expect("filled in this loop");
                self.pipeline[i + 1] = Some(self.module_list[i].forward(x));
            }
        } else {
            // x[n] = module[n-1](x[n-1]), ..., x[1] = module[0](x[0]): from the end, so
            // each module consumes what its predecessor produced in the previous step.
            for i in (1..=n).rev() {
                self.pipeline[i] = self.pipeline[i - 1].map(|x| self.module_list[i - 1].forward(x));
            }
        }
        self.simulated_steps += 1;
        self.pipeline[n]
    }
}

const STEPS: usize = 1000;
const INPUT_STEPS: usize = 800;

/// The seed's test code: per neuron (module 2, 4, 6), `v` after each call, and the calls
/// in which it returned a spike.
fn spikingflow(fast: bool) -> ([Vec<f64>; 3], [Vec<usize>; 3]) {
    let mut sim = Simulator::new(fast);
    sim.append(Module::ConstantEncoder);
    sim.append(Module::SpikeCurrent { amplitude: 0.01 });
    sim.append(Module::if_node(0.5, 1.0));
    sim.append(Module::SpikeCurrent { amplitude: 0.4 });
    sim.append(Module::if_node(2.0, 1.0));
    sim.append(Module::ExpDecayCurrent { tau: 5.0, amplitude: 1.0, i: 0.0 });
    sim.append(Module::lif_node(5.0, 1.0, 10.0));
    let mut v: [Vec<f64>; 3] = Default::default();
    let mut spikes: [Vec<usize>; 3] = Default::default();
    for i in 0..STEPS {
        sim.step(Data::Spike(i < INPUT_STEPS));
        for j in 0..3 {
            v[j].push(sim.module_list[2 * j + 2].v());
            if sim.pipeline[2 * j + 3] == Some(Data::Spike(true)) {
                spikes[j].push(i);
            }
        }
    }
    (v, spikes)
}

// ---------------------------------------------------------------------------------------
// spikeworld.

const POPS: [&str; 3] = ["if1", "if2", "lif"];

fn chain_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/spikingflow_chain.toml")).expect("scenarios/spikingflow_chain.toml")
}

/// The file with `fast = False`'s mapping: input in [0, 800), 1000 steps.
fn not_fast_text() -> String {
    let text = chain_text();
    assert!(text.contains("stop = \"802 ms\"") && text.contains("t_stop = \"1002 ms\""), "the scenario's window changed: update this test");
    text.replace("stop = \"802 ms\"", "stop = \"800 ms\"").replace("t_stop = \"1002 ms\"", "t_stop = \"1000 ms\"")
}

/// Per population: the recorded `v` (one per step) and the steps of its spikes.
fn run(text: &str, engine: EngineKind) -> ([Vec<f64>; 3], [Vec<usize>; 3]) {
    let b = builder();
    let sc = Scenario::from_str(text, Path::new("spikingflow_chain.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = b.build(sc, &RunOptions { engine, ..RunOptions::default() }).expect("build");
    sim.run_to_end(u64::MAX, |_| {});
    let mut v: [Vec<f64>; 3] = Default::default();
    let mut spikes: [Vec<usize>; 3] = Default::default();
    for &e in &sim.monitors {
        if let Some(m) = sim.world.get::<spikeworld::monitor::StateRecorder>(e) {
            let j = POPS.iter().position(|p| m.name == format!("{p}_v")).expect("a monitor of the chain");
            assert_eq!(m.indices.len(), 1);
            v[j] = m.data[0].clone();
        }
        if let Some(m) = sim.world.get::<spikeworld::monitor::SpikeRecorder>(e) {
            let j = POPS.iter().position(|p| m.name == format!("{p}_spikes")).expect("a monitor of the chain");
            spikes[j] = m.iter().map(|(t, _)| t as usize).collect(); // dt = 1 ms
        }
    }
    (v, spikes)
}

/// spikeworld step `t` = Simulator step `t - offset`; before `offset`, spikeworld's
/// neurons are still at their initial `v` (0): nothing has reached them.
fn compare(text: &str, fast: bool, offset: usize) {
    let (want_v, want_spikes) = spikingflow(fast);
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        let (got_v, got_spikes) = run(text, engine);
        for j in 0..3 {
            let name = POPS[j];
            assert_eq!(got_v[j].len(), STEPS + offset, "{name} ({engine:?}, fast = {fast}): one sample per step");
            for (t, g) in got_v[j][..offset].iter().enumerate() {
                assert!(g.to_bits() == 0.0f64.to_bits(), "{name} ({engine:?}): v after step {t} is {g}, not its initial 0");
            }
            for (k, w) in want_v[j].iter().enumerate() {
                let g = got_v[j][k + offset];
                assert!(g.to_bits() == w.to_bits(), "{name} ({engine:?}, fast = {fast}): v after spikeworld step {} is {g}, SpikingFlow's after step {k} is {w}", k + offset);
            }
            let shifted: Vec<usize> = want_spikes[j].iter().map(|k| k + offset).collect();
            assert_eq!(got_spikes[j], shifted, "{name} ({engine:?}, fast = {fast}): spike steps (Simulator's + {offset})");
        }
    }
    // Not trivial: every neuron of the chain spikes, and v moves.
    for j in 0..3 {
        assert!(!want_spikes[j].is_empty(), "{}: the chain's neuron {j} should spike", POPS[j]);
        assert!(want_v[j].iter().any(|&v| v > 0.5), "{}: v should charge", POPS[j]);
    }
}

#[test]
fn chain_matches_spikingflow_simulator_fast_mode() {
    compare(&chain_text(), true, 2);
}

#[test]
fn chain_matches_spikingflow_simulator_without_fast_mode() {
    compare(&not_fast_text(), false, 0);
}

/// The numbers of the chain (fast mode, as the seed's test code): four spikes of the
/// first IF neuron (0.005 per step, 200 steps to the threshold, then one step to send),
/// every second of them makes the second IF neuron (0.8 per input spike) fire, and each of
/// those makes the LIF neuron fire through the decaying current. Computed by the
/// transcription above; the scenario must give the same (checked by the tests above).
#[test]
fn chain_spike_times() {
    let (_, spikes) = spikingflow(true);
    assert_eq!(spikes, [vec![200, 400, 600, 800], vec![403, 803], vec![408, 808]]);
    // Fast mode only moves the front by two steps: the first IF neuron gets input[0] at
    // the Simulator's steps 0 and 1 too.
    let (_, slow) = spikingflow(false);
    assert_eq!(slow, [vec![202, 402, 602, 802], vec![405, 805], vec![410, 810]]);
}
