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

/// `Integrator` with `c_m` per neuron: its constant row holds `dt / c_m`, from `constants`.
struct IntegratorEach<const WRITES_ROW: bool, const DEFAULT: u8>;

const EACH_PARAMS: [ParamSpec; 2] = [ParamSpec::new("c_m", Dim::Capacitance, 1.0, "capacitance").per_neuron(), ParamSpec::new("c_m", Dim::Capacitance, 2.0, "capacitance").per_neuron()];

impl<const WRITES_ROW: bool, const DEFAULT: u8> NeuronDynamics for IntegratorEach<WRITES_ROW, DEFAULT> {
    const NAME: &'static str = "integrator";
    const DOC: &'static str = Integrator::DOC;
    const PARAMS: &'static [ParamSpec] = std::slice::from_ref(&EACH_PARAMS[DEFAULT as usize]);
    const VARS: &'static [VarSpec] = &[Integrator::VARS[0], VarSpec { name: "k", dim: Dim::Dimensionless, doc: "dt / c_m (constant)" }];
    const CONSTANT_VARS: usize = 1;
    const RECEPTORS: &'static [ReceptorSpec] = Integrator::RECEPTORS;
    type Coeffs = ();
    fn coeffs(p: &Params, _: f64) -> Result<(), String> {
        if p.get("c_m") <= 0.0 { Err(format!("parameter `c_m` must be > 0 (found {})", p.get("c_m"))) } else { Ok(()) }
    }
    fn initial(_: &Params) -> Vec<f64> {
        vec![0.0, f64::NAN]
    }
    fn constants(p: &Params, dt: f64) -> Vec<f64> {
        vec![dt / p.get("c_m")]
    }
    fn step<L: Lanes>(_: &(), s: &mut [L], input: &[L]) -> L::Mask {
        let v = s[0].clone() + input[0].clone() * s[1].clone();
        let spike = v.gt(1.0);
        s[0] = L::select_const(&spike, 0.0, v);
        if WRITES_ROW {
            s[1] = s[1].clone() * 2.0;
        }
        spike
    }
}

/// A third-party model with a per-neuron form: a population given `c_m` per neuron runs
/// it (with its constant row from `constants`), one with a single `c_m` the plain model; a
/// form whose defaults differ, or whose step writes its constant row, is refused.
#[test]
fn a_third_party_model_with_a_per_neuron_form() {
    let mut b = builder();
    b.add_plugin(|b: &mut SimBuilder| {
        b.add_neuron_model_varying::<Integrator, IntegratorEach<false, 0>>();
    });
    b.check().unwrap();
    let text = |c_m: &str| format!("[simulation]\ndt = 1.0\nt_stop = 100.0\n[[population]]\nname = \"x\"\nsize = 3\nmodel = \"integrator\"\nparams = {{ c_m = {c_m} }}\n[[encoder]]\nname = \"dc\"\nkind = \"constant_current\"\ntarget = \"x\"\namplitude = 0.0625\n[[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"x\"\n");
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        // k = dt/c_m = 1, 2, 4: the sum exceeds 1 after 17, 9 and 5 steps, as above.
        let mut sim = sim_from_text(&b, &text("[1.0, 0.5, 0.25]"), engine);
        assert_eq!(sim.state("x", "k").unwrap(), vec![1.0, 2.0, 4.0], "{engine:?}");
        sim.run_steps(100);
        let (_, idx) = spikes(&sim);
        let counts: Vec<usize> = (0..3).map(|n| idx.iter().filter(|&&i| i == n).count()).collect();
        assert_eq!(counts, vec![100 / 17, 100 / 9, 100 / 5], "{engine:?}");
        let plain = sim_from_text(&b, &text("0.5"), engine);
        assert!(plain.state("x", "k").is_none(), "one value: the plain model, no constant row");
    }
    let mut b = builder();
    b.add_plugin(|b: &mut SimBuilder| {
        b.add_neuron_model_varying::<Integrator, IntegratorEach<false, 1>>();
    });
    let err = b.check().expect_err("another default").to_string();
    assert!(err.contains("per-neuron form") && err.contains("defaults"), "{err}");
    let mut b = builder();
    b.add_plugin(|b: &mut SimBuilder| {
        b.add_neuron_model_varying::<Integrator, IntegratorEach<true, 0>>();
    });
    b.check().unwrap();
    let err = Scenario::from_str(&text("[1.0, 0.5, 0.25]"), std::path::Path::new("t.toml"), b.registry(), &LoadOptions::default()).err().expect("a step that writes its constant row").to_string();
    assert!(err.contains("changes its constant row `k`"), "{err}");
}
