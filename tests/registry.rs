//! Plugins and registries: duplicate names are errors, a third-party plugin plugs in with
//! no change to the core, and encoders/monitors do what they say.

mod common;
use common::*;
use spikeworld::prelude::*;

#[test]
fn duplicate_registration_is_an_error_not_a_panic() {
    let mut b = builder();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin);
    let err = b.check().expect_err("registering lif twice must fail");
    assert!(err.to_string().contains("neuron model `lif` is registered twice"), "{err}");
}

/// A model defined outside the core: a non-leaky integrator that fires at 1.0.
struct Integrator;

impl NeuronDynamics for Integrator {
    const NAME: &'static str = "integrator";
    const DOC: &'static str = "dv/dt = i / c (no leak); spike at v > 1, then v = 0";
    const PARAMS: &'static [ParamSpec] = &[ParamSpec::new("c_m", Dim::Capacitance, 1.0, "capacitance")];
    const VARS: &'static [VarSpec] = &[VarSpec { name: "v", dim: Dim::Voltage, doc: "potential" }];
    const RECEPTORS: &'static [ReceptorSpec] = &[ReceptorSpec { name: "i", kind: ReceptorKind::Current, dim: Dim::Current, doc: "current" }];
    type Coeffs = f64;
    fn coeffs(p: &Params, dt: f64) -> Result<f64, String> {
        Ok(dt / p.get("c_m"))
    }
    fn initial(_: &Params) -> Vec<f64> {
        vec![0.0]
    }
    fn step<L: Lanes>(k: &f64, s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone() + input[0].clone() * *k;
        let spike = v.gt(1.0);
        s[0] = L::select_const(&spike, 0.0, v);
        spike
    }
}

#[test]
fn a_third_party_model_runs_on_both_engines() {
    let mut b = builder();
    b.add_plugin(|b: &mut SimBuilder| {
        b.add_neuron_model::<Integrator>();
    });
    b.check().unwrap();
    let text = r#"
        [simulation]
        dt = "1 ms"
        t_stop = "100 ms"
        [[population]]
        name = "x"
        size = 3
        model = "integrator"
        [[encoder]]
        name = "dc"
        kind = "constant_current"
        target = "x"
        amplitude = [0.0625, 0.125, 0.25]
        [[monitor]]
        name = "s"
        kind = "spikes"
        target = "x"
        [[monitor]]
        name = "r"
        kind = "rate"
        target = "x"
        bin = "50 ms"
    "#;
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        let mut sim = sim_from_text(&b, text, engine);
        sim.run_steps(100);
        // Input i adds i*dt/c per step (exact binary fractions): the neuron spikes when the
        // sum exceeds 1, i.e. every 1/i + 1 steps: 17, 9 and 5 steps.
        let (_, idx) = spikes(&sim);
        let counts: Vec<usize> = (0..3).map(|n| idx.iter().filter(|&&i| i == n).count()).collect();
        assert_eq!(counts, vec![100 / 17, 100 / 9, 100 / 5], "{engine:?}");
        let r = sim.world.get::<spikeworld::monitor::RateRecorder>(sim.monitors[1]).unwrap();
        assert_eq!(r.counts.iter().sum::<u64>() as usize, idx.len(), "rate monitor counts every spike");
    }
}

#[test]
fn spike_generator_reads_a_csv_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "t_ms,index\n1.0,0\n2.5,1\n2.5,0\n").unwrap();
    let text = r#"
        [simulation]
        dt = "0.5 ms"
        t_stop = "5 ms"
        [[population]]
        name = "n"
        size = 2
        model = "lif"
        [[encoder]]
        name = "g"
        kind = "spike_generator"
        size = 2
        file = "in.csv"
    "#;
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let b = builder();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    let mut seen = Vec::new();
    for step in 0..10 {
        sim.step();
        let s = sim.world.get::<spikeworld::net::Spikes>(sim.encoders[0]).unwrap();
        for &i in &s.indices {
            seen.push((step, i));
        }
    }
    assert_eq!(seen, vec![(2, 0), (5, 0), (5, 1)]);
    std::fs::write(dir.path().join("in.csv"), "1.0,0\nbad line\n").unwrap();
    let err = Scenario::load(&path, b.registry(), &LoadOptions::default()).err().unwrap().to_string();
    assert!(err.contains("in.csv:2:1") && err.contains("expected `t_ms,index`"), "{err}");
}
