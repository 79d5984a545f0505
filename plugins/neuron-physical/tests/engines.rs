//! The cpu and tensor engines run each model's scenario (`scenarios/<model>.toml`) and
//! agree. `izhikevich` and `qif` use only `+ - * /`, comparisons and selects: their spike
//! trains and states are bit-identical. `aeif_*` and `eif` use `exp`, which the two
//! engines take from different libraries (a few ulp apart): spike trains must agree within
//! 1% of the spike count, and at least 97% of the final values of every state variable
//! within 1e-6 (of its unit) — a neuron whose spike moved by a step may differ more.
//! Each scenario also resumes bit-identically from a checkpoint taken half-way.

mod common;
use common::*;
use spikeworld::prelude::*;

fn compare(file: &str, exact: bool) {
    let b = builder();
    let cpu = run(&b, load_file(&b, file, &[]), EngineKind::Cpu);
    let ten = run(&b, load_file(&b, file, &[]), EngineKind::Tensor);
    let mut total = 0;
    for (k, &e) in cpu.monitors.iter().enumerate() {
        let Some(m) = cpu.world.get::<spikeworld::monitor::SpikeRecorder>(e) else { continue };
        let m2 = ten.world.get::<spikeworld::monitor::SpikeRecorder>(ten.monitors[k]).expect("same monitors");
        total += m.len();
        if exact {
            assert_eq!((m.t_ms(), m.index()), (m2.t_ms(), m2.index()), "{file}: spike monitor `{}` differs between engines", m.name);
        } else {
            let rel = (m.len() as f64 - m2.len() as f64).abs() / m.len().max(1) as f64;
            assert!(rel <= 0.01, "{file}: `{}` spike counts {} (cpu) vs {} (tensor)", m.name, m.len(), m2.len());
        }
    }
    eprintln!("{file}: {total} spikes on the cpu engine");
    assert!(total >= 100, "{file}: the scenario should be active ({total} spikes)");
    for (p, pop) in cpu.scenario.populations.iter().enumerate() {
        for v in pop.model.vars() {
            let a = cpu.state(&pop.name, v.name).unwrap();
            let c = ten.state(&pop.name, v.name).unwrap();
            if exact {
                assert!(a.iter().zip(&c).all(|(x, y)| x.to_bits() == y.to_bits()), "{file}: population {p} `{}` differs between engines", v.name);
            } else {
                let close = a.iter().zip(&c).filter(|(x, y)| (*x - *y).abs() <= 1e-6).count();
                let worst = a.iter().zip(&c).map(|(x, y)| (x - y).abs()).fold(0.0f64, f64::max);
                eprintln!("{file}: `{}` max |cpu - tensor| = {worst:.3e}, {close}/{} within 1e-6", v.name, a.len());
                assert!(close as f64 >= 0.97 * a.len() as f64, "{file}: only {close} of {} `{}` agree within 1e-6", a.len(), v.name);
            }
        }
    }
}

#[test]
fn engines_agree_on_izhikevich_bit_for_bit() {
    compare("izhikevich.toml", true);
}

/// Izhikevich (2003)'s network: (a, b, c, d) per neuron, from files.
#[test]
fn engines_agree_on_the_izhikevich_network_bit_for_bit() {
    compare("izhikevich_network.toml", true);
}

#[test]
fn engines_agree_on_qif_bit_for_bit() {
    compare("qif.toml", true);
}

#[test]
fn engines_agree_on_aeif_cond_exp() {
    compare("aeif_cond_exp.toml", false);
}

#[test]
fn engines_agree_on_aeif_curr_exp() {
    compare("aeif_curr_exp.toml", false);
}

#[test]
fn engines_agree_on_eif() {
    compare("eif.toml", false);
}

#[test]
fn every_scenario_resumes_bit_identically() {
    let b = builder();
    for file in ["izhikevich.toml", "izhikevich_network.toml", "aeif_cond_exp.toml", "aeif_curr_exp.toml", "eif.toml", "qif.toml"] {
        let dir = std::env::temp_dir().join(format!("spikeworld-neuron-physical-resume-{}-{file}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = spikeworld::testing::check_resume(&b, &scenario_path(file), 1000, &dir, &RunOptions::default());
        let _ = std::fs::remove_dir_all(&dir);
        r.unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}
