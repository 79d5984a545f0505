//! The cpu and tensor engines run the same model definition: over 100 ms of COBA and
//! CUBA they must give the same spike trains and bit-identical state. Both evaluate the
//! same IEEE operations in the same order (the model's `step` is generic over lanes), and
//! synaptic input is summed on the host in the same order for both, so equality is exact.

mod common;
use common::*;
use spikeworld::prelude::*;

fn compare(file: &str) {
    let sets = ["simulation.t_stop=100ms"];
    let cpu = run_all(build(load_file(file, &sets, None), EngineKind::Cpu, 1));
    let ten = run_all(build(load_file(file, &sets, None), EngineKind::Tensor, 1));
    let (tc, ic) = spikes(&cpu);
    let (tt, it) = spikes(&ten);
    assert!(tc.len() > 500, "{file}: the network should be active ({} spikes)", tc.len());
    assert_eq!(tc, tt, "{file}: spike times differ between engines");
    assert_eq!(ic, it, "{file}: spike indices differ between engines");
    let pop = &cpu.scenario.populations[0];
    for v in pop.model.vars() {
        let a = cpu.state("P", v.name).unwrap();
        let b = ten.state("P", v.name).unwrap();
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f64, f64::max);
        assert_eq!(worst, 0.0, "{file}: `{}` differs between engines by up to {worst}", v.name);
    }
}

#[test]
fn engines_agree_on_coba() {
    compare("coba.toml");
}

#[test]
fn engines_agree_on_cuba() {
    compare("cuba.toml");
}

#[test]
fn engines_agree_on_lif_with_inputs() {
    compare_small();
}

fn compare_small() {
    let cpu = run_all(build(load_file("lif_poisson.toml", &[], None), EngineKind::Cpu, 1));
    let ten = run_all(build(load_file("lif_poisson.toml", &[], None), EngineKind::Tensor, 1));
    assert_eq!(spikes(&cpu), spikes(&ten));
    assert_eq!(cpu.state("neurons", "v"), ten.state("neurons", "v"));
}
