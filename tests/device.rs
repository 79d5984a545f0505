//! The device engine (on the flex device: its host backend, the same arrays and kernels as
//! on CUDA) against the cpu engine: every model's traced program runs the cpu loop's
//! operations bit for bit (every build of the loop the CPU has: portable, AVX2, AVX-512), and whole networks give the same spikes and state; checkpoints
//! taken from device state resume bit for bit, and cross between engines.

mod common;
use common::*;
use spikeworld::api::program::Program;
use spikeworld::prelude::*;

fn device(sc: Scenario) -> Sim {
    device_with(sc, Delivery::Auto)
}

fn device_with(sc: Scenario, delivery: Delivery) -> Sim {
    builder().build(sc, &RunOptions { engine: EngineKind::Device, device: TensorDevice::Flex, threads: 1, delivery, ..Default::default() }).expect("device build")
}

/// A small deterministic generator for test inputs.
fn lcg(x: &mut u64) -> f64 {
    *x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*x >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn every_model_program_matches_every_build_of_the_cpu_loop_bit_for_bit() {
    let b = builder();
    let mut checked = 0;
    for (name, model) in &b.registry().neuron_models {
        let specs = model.params();
        for choice_pick in 0..model.choices().iter().map(|c| c.options.len()).max().unwrap_or(1) {
            let values = specs.iter().map(|p| (p.name, p.default.unwrap_or(1.0))).collect();
            let choices = model.choices().iter().map(|c| (c.name, c.options[choice_pick.min(c.options.len() - 1)].to_string())).collect();
            let Ok(prep) = model.prepare(&Params::new(values, choices), 0.1) else { continue };
            let prog: Program = prep.program().unwrap_or_else(|| panic!("`{name}` should trace"));
            let (nv, nr, n) = (model.vars().len(), model.receptors().len(), 37);
            let mut seed = 0x5eed_u64 + checked as u64;
            let init = prep.initial();
            let start: Vec<Vec<f64>> = (0..nv).map(|k| (0..n).map(|_| init[k] + (lcg(&mut seed) - 0.5) * (init[k].abs() * 0.3 + 1.0)).collect()).collect();
            let mut dev: Vec<Vec<f64>> = start.clone();
            // One state per build of the fused loop this CPU has (portable, AVX2, AVX-512).
            let builds = Simd::available();
            let mut cpu: Vec<Vec<Vec<f64>>> = vec![start; builds.len()];
            let (mut f, mut m) = (Vec::new(), Vec::new());
            for step in 0..200 {
                // On odd steps the last receptor receives nothing and is passed as an empty
                // slice, as the engine does for a receptor no projection targets.
                let absent = |r: usize| step % 2 == 1 && r + 1 == nr;
                let inputs: Vec<Vec<f64>> = (0..nr).map(|r| (0..n).map(|_| if !absent(r) && lcg(&mut seed) < 0.3 { lcg(&mut seed) * 5.0 } else { 0.0 }).collect()).collect();
                let mut dev_sp = Vec::new();
                for j in 0..n {
                    let mut v: Vec<f64> = (0..nv).map(|k| dev[k][j]).collect();
                    let inp: Vec<f64> = (0..nr).map(|r| inputs[r][j]).collect();
                    if prog.run(&mut v, &inp, &mut f, &mut m) {
                        dev_sp.push(j as u32);
                    }
                    for k in 0..nv {
                        dev[k][j] = v[k];
                    }
                }
                for (&simd, cpu) in builds.iter().zip(cpu.iter_mut()) {
                    let mut cpu_in = inputs.clone();
                    // Spikes are appended after what the vector holds, numbered from `offset`.
                    let (held, offset) = (vec![7u32; step % 3], 1000);
                    let mut sp = held.clone();
                    {
                        let mut v: Vec<&mut [f64]> = cpu.iter_mut().map(|x| x.as_mut_slice()).collect();
                        let mut i: Vec<&mut [f64]> = cpu_in.iter_mut().enumerate().map(|(r, x)| if absent(r) { &mut [][..] } else { x.as_mut_slice() }).collect();
                        prep.step_cpu_with(simd, &mut v, &mut i, offset, &mut sp);
                    }
                    let want: Vec<u32> = held.iter().copied().chain(dev_sp.iter().map(|&j| j + offset)).collect();
                    assert_eq!(sp, want, "`{name}` (choice {choice_pick}, {simd:?}): spikes differ at step {step}");
                    assert!(cpu_in.iter().all(|r| r.iter().all(|x| x.to_bits() == 0)), "`{name}` ({simd:?}): inputs not cleared");
                    for k in 0..nv {
                        for j in 0..n {
                            assert_eq!(cpu[k][j].to_bits(), dev[k][j].to_bits(), "`{name}` `{}` of neuron {j} at step {step} ({simd:?}): {} vs {}", model.vars()[k].name, cpu[k][j], dev[k][j]);
                        }
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} model configurations checked");
}

fn compare(file: &str, sets: &[&str]) {
    compare_with(file, sets, Delivery::Auto);
}

fn compare_with(file: &str, sets: &[&str], delivery: Delivery) {
    let cpu = run_all(build(load_file(file, sets, None), EngineKind::Cpu, 1));
    let dev = run_all(device_with(load_file(file, sets, None), delivery));
    let (tc, ic) = spikes(&cpu);
    let (td, id) = spikes(&dev);
    assert!(tc.len() > 100, "{file}: the network should be active ({} spikes)", tc.len());
    assert_eq!(tc, td, "{file}: spike times differ between the cpu and device engines");
    assert_eq!(ic, id, "{file}: spike indices differ");
    assert_eq!(cpu.spike_counts(), dev.spike_counts(), "{file}: spike totals differ");
    // Every monitor: rates and state traces too.
    for (&a, &b) in cpu.monitors.iter().zip(&dev.monitors) {
        use spikeworld::monitor::{RateRecorder, StateRecorder};
        if let (Some(x), Some(y)) = (cpu.world.get::<RateRecorder>(a), dev.world.get::<RateRecorder>(b)) {
            assert!(x.counts.iter().sum::<u64>() > 0 && x.counts == y.counts, "{file}: rate monitor `{}` differs", x.name);
        }
        if let (Some(x), Some(y)) = (cpu.world.get::<StateRecorder>(a), dev.world.get::<StateRecorder>(b)) {
            assert!(x.t_ms == y.t_ms && x.data == y.data, "{file}: state monitor `{}` differs", x.name);
        }
    }
    for (pi, pop) in cpu.scenario.populations.iter().enumerate() {
        for v in pop.model.vars() {
            let a = cpu.state(&pop.name, v.name).unwrap();
            let b = dev.state(&pop.name, v.name).unwrap();
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{file}: population {pi} `{}` differs", v.name);
        }
    }
}

#[test]
fn device_engine_equals_cpu_on_coba() {
    compare("coba.toml", &["simulation.t_stop=100ms"]);
}

#[test]
fn device_engine_equals_cpu_on_cuba() {
    compare("cuba.toml", &["simulation.t_stop=100ms"]);
}

#[test]
fn device_engine_equals_cpu_with_poisson_inputs_and_delays() {
    compare("lif_poisson.toml", &[]);
    compare("delayed_recurrent.toml", &[]);
}

#[test]
fn device_engine_equals_cpu_on_adaptive_and_quadratic_models() {
    // Models with `exp` in their step: the host backend uses the same libm as the cpu
    // engine (CUDA's `exp` may differ in the last bit: see docs/device-engine.md).
    for f in ["aeif_cond_exp.toml", "eif.toml", "qif.toml", "izhikevich.toml", "izhikevich_network.toml"] {
        compare(f, &[]);
    }
}

#[test]
fn push_delivery_equals_pull_and_the_cpu_engine_even_when_buckets_overflow() {
    for capacity in [16, 1] {
        compare_with("coba.toml", &["simulation.t_stop=60ms"], Delivery::Push { capacity });
        compare_with("delayed_recurrent.toml", &["simulation.t_stop=150ms"], Delivery::Push { capacity });
        compare_with("lif_poisson.toml", &[], Delivery::Push { capacity });
    }
}

#[test]
fn device_engine_resumes_bit_for_bit_and_crosses_engines() {
    let b = builder();
    let tmp = tempfile::tempdir().unwrap();
    let dev = RunOptions { engine: EngineKind::Device, device: TensorDevice::Flex, threads: 1, ..Default::default() };
    for file in ["coba.toml", "delayed_recurrent.toml"] {
        spikeworld::testing::check_resume(&b, &scenario_path(file), 317, tmp.path(), &dev).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    // A checkpoint written by the cpu engine resumes on the device engine, and the run ends
    // as the cpu engine's does.
    let sets = ["simulation.t_stop=60ms"];
    let mut cpu = build(load_file("coba.toml", &sets, None), EngineKind::Cpu, 1);
    cpu.run_steps(250);
    let ck = tmp.path().join("cpu.ckpt");
    cpu.save(&ck).unwrap();
    cpu.run_steps(350);
    let mut d = device(load_file("coba.toml", &sets, None));
    d.restore(&ck).unwrap();
    d.run_steps(350);
    assert_eq!(spikes(&cpu), spikes(&d));
    assert_eq!(cpu.state("P", "v"), d.state("P", "v"));
    // And the other way.
    let mut d = device(load_file("coba.toml", &sets, None));
    d.run_steps(250);
    let ck = tmp.path().join("dev.ckpt");
    d.save(&ck).unwrap();
    d.run_steps(350);
    let mut c = build(load_file("coba.toml", &sets, None), EngineKind::Cpu, 1);
    c.restore(&ck).unwrap();
    c.run_steps(350);
    assert_eq!(spikes(&c), spikes(&d));
    assert_eq!(c.state("P", "g_ex"), d.state("P", "g_ex"));
}

#[test]
fn device_engine_refuses_what_it_does_not_run_with_the_reason() {
    let sc = load_file("stdp_two_inputs.toml", &[], None);
    let e = builder().build(sc, &RunOptions { engine: EngineKind::Device, ..RunOptions::default() }).err().expect("plasticity is refused");
    assert!(e.to_string().contains("plasticity rules"), "{e}");
    let sc = load_file("syn_tsodyks_markram.toml", &[], None);
    let e = builder().build(sc, &RunOptions { engine: EngineKind::Device, ..RunOptions::default() }).err().expect("synapse models are refused");
    assert!(e.to_string().contains("synapse models"), "{e}");
}

/// The two runs' populations `net` hold the same counts, last-spike steps, history (every
/// step it holds, the oldest included) and last step's spikes.
fn same_spike_record(cpu: &Sim, dev: &Sim, now: u64) {
    assert_eq!(cpu.spike_counts(), dev.spike_counts(), "spike counts at step {now}");
    let (ec, ed) = (cpu.population("net").unwrap(), dev.population("net").unwrap());
    let (hc, hd) = (cpu.world.get::<SpikeHistory>(ec).unwrap(), dev.world.get::<SpikeHistory>(ed).unwrap());
    assert_eq!(hc.last_spike, hd.last_spike, "last-spike steps differ at step {now}");
    for step in now - hc.depth() as u64..now {
        assert!(hc.at(step).is_some(), "the cpu history holds step {step}");
        assert_eq!(hc.at(step), hd.at(step), "the history of step {step} differs at step {now}");
    }
    assert_eq!(cpu.world.get::<Spikes>(ec).unwrap().indices, dev.world.get::<Spikes>(ed).unwrap().indices, "last step's spikes at step {now}");
}

#[test]
fn a_network_that_records_nothing_keeps_history_and_counts_from_the_device() {
    // Without monitors a flush decodes only the steps a population's history holds (302
    // here: delays up to 30 ms) and takes its spike count and last-spike steps from the
    // device. The spike words come back every 1024 steps (32 words a step): 100 steps
    // (fewer than the history: all decoded), then 2400 steps, flushed at 1124 (the
    // history's window 822..1124 wraps around the word ring), 2148 and 2500 (352 steps
    // pending, more than the history: only its window decoded).
    let path = scenario_path("delayed_recurrent.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = &text[..text.find("[[monitor]]").expect("the scenario has monitors")];
    let load = || Scenario::from_str(text, &path, builder().registry(), &LoadOptions::default()).unwrap();
    let mut cpu = build(load(), EngineKind::Cpu, 1);
    let mut dev = device(load());
    assert!(dev.monitors.is_empty());
    for n in [100, 2400] {
        for s in [&mut cpu, &mut dev] {
            s.run_steps(n);
        }
    }
    assert!(cpu.spike_counts()[0] > 1000, "the network should be active: {:?}", cpu.spike_counts());
    let depth = cpu.world.get::<SpikeHistory>(cpu.population("net").unwrap()).unwrap().depth();
    assert!((253..=1024).contains(&depth), "the test needs a history deeper than the last flush: {depth}");
    same_spike_record(&cpu, &dev, 2500);
    // A checkpoint of each continues alike on the other engine, loaded into a fresh world
    // and into one that has run (the device's running count and last spikes replaced).
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("cpu.ckpt"), tmp.path().join("dev.ckpt"));
    cpu.run_steps(300);
    cpu.save(&a).unwrap();
    dev.save(&b).unwrap();
    let mut c2 = build(load(), EngineKind::Cpu, 1);
    c2.restore(&b).unwrap();
    let mut d2 = device(load());
    d2.restore(&a).unwrap();
    dev.restore(&a).unwrap();
    c2.run_steps(300);
    for s in [&mut cpu, &mut c2, &mut d2, &mut dev] {
        s.run_steps(700);
    }
    for other in [&c2, &d2, &dev] {
        same_spike_record(&cpu, other, 3500);
    }
    assert_eq!(cpu.state("net", "v"), d2.state("net", "v"));
    assert_eq!(cpu.state("net", "v"), dev.state("net", "v"));
    assert_eq!(cpu.state("net", "v"), c2.state("net", "v"));
}

/// Poisson encoders run on the device (a gap process: the Philox streams and the portable
/// `ln` in its kernel) and give the cpu engine's spikes: outputs of rate 0, of one spike
/// every step, ordinary rates, a window that starts and stops, an output count that is
/// not a multiple of 32, and the probability form; each encoder's count, last-spike steps
/// and history, the network's monitors; pull and push delivery from them; checkpoints
/// both ways and mid-window.
#[test]
fn poisson_encoders_run_on_the_device_with_the_cpu_engines_draws() {
    let rates: Vec<String> = (0..90).map(|i| match i {
        3 | 40 => "0 Hz".to_string(),
        7 => "10000 Hz".to_string(),
        _ => format!("{} Hz", 20 + (i * 37) % 180),
    }).collect();
    let text = format!(
        r#"
[simulation]
dt = "0.1 ms"
t_stop = "150 ms"
seed = 11

[[population]]
name = "net"
size = 70
model = "lif"
[population.params]
tau_m = "10 ms"
t_ref = "2 ms"

[[encoder]]
name = "drive"
kind = "poisson"
size = 90
rate = [{}]
start = "20 ms"
stop = "120 ms"

[[encoder]]
name = "noise"
kind = "poisson"
size = 40
p = 0.01

[[projection]]
name = "in"
from = "drive"
to = "net"
rule = "fixed_indegree"
indegree = 30
receptor = "v"
weight = "0.4 mV"
delay = "1 ms"

[[projection]]
name = "bg"
from = "noise"
to = "net"
rule = "all_to_all"
receptor = "v"
weight = "0.3 mV"
delay = "0.5 ms"

[[monitor]]
name = "net_spikes"
kind = "spikes"
target = "net"

[[monitor]]
name = "net_rate"
kind = "rate"
target = "net"
bin = "5 ms"
"#,
        rates.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ")
    );
    let path = std::path::Path::new("poisson_device.toml");
    let load = || Scenario::from_str(&text, path, builder().registry(), &LoadOptions::default()).unwrap();
    let monitors = |s: &Sim| {
        use spikeworld::monitor::{RateRecorder, SpikeRecorder};
        let sp: Vec<_> = s.monitors.iter().filter_map(|&e| s.world.get::<SpikeRecorder>(e)).map(|m| (m.t_ms(), m.index())).collect();
        let rt: Vec<_> = s.monitors.iter().filter_map(|&e| s.world.get::<RateRecorder>(e)).map(|m| m.counts.clone()).collect();
        (sp, rt)
    };
    // An encoder's spike record: its count, last step's spikes, each output's last spike
    // step and the steps its history holds.
    let encoder = |s: &Sim, name: &str| {
        let mut q = s.world.try_query::<(bevy_ecs::entity::Entity, &spikeworld::net::EncoderSlot)>().unwrap();
        let e = q.iter(&s.world).find(|(_, x)| x.name == name).map(|(e, _)| e).unwrap();
        let sp = s.world.get::<Spikes>(e).unwrap();
        let h = s.world.get::<SpikeHistory>(e).unwrap();
        let now = s.step_count();
        let held: Vec<Option<Vec<u32>>> = (now.saturating_sub(h.depth() as u64)..now).map(|st| h.at(st).map(|x| x.to_vec())).collect();
        (sp.total, sp.indices.clone(), h.last_spike.clone(), held)
    };
    let record = |s: &Sim| (monitors(s), s.spike_counts(), encoder(s, "drive"), encoder(s, "noise"), s.state("net", "v"));
    let mut cpu = build(load(), EngineKind::Cpu, 1);
    cpu.run_steps(1500);
    let (sp, _) = monitors(&cpu);
    assert!(sp[0].0.len() > 200, "the network should fire ({} spikes)", sp[0].0.len());
    let (total, _, last, held) = encoder(&cpu, "drive");
    assert!(total > 1500, "the drive spikes ({total})");
    assert_eq!(last[7], 1199, "output 7 spikes every step of its window, to the last");
    assert!(last[3] == SpikeHistory::NEVER && last[40] == SpikeHistory::NEVER, "rate 0 never spikes");
    assert!(held.iter().all(|h| h.is_some()), "the encoder keeps a history");
    assert!(encoder(&cpu, "noise").0 > 400, "the probability form spikes");
    for delivery in [Delivery::Pull, Delivery::Push { capacity: 16 }, Delivery::Push { capacity: 1 }] {
        let mut dev = device_with(load(), delivery);
        dev.run_steps(1500);
        assert!(record(&cpu) == record(&dev), "{delivery:?}: the device run differs from the cpu engine's");
    }
    // Checkpoints mid-window: device to device, device to cpu, cpu to device; the
    // encoders' draws continue where they were.
    let tmp = tempfile::tempdir().unwrap();
    let mut d = device(load());
    d.run_steps(555);
    let ck = tmp.path().join("dev.ckpt");
    d.save(&ck).unwrap();
    d.run_steps(945);
    let mut c = build(load(), EngineKind::Cpu, 1);
    c.restore(&ck).unwrap();
    c.run_steps(945);
    let mut d2 = device(load());
    d2.restore(&ck).unwrap();
    d2.run_steps(945);
    let mut c0 = build(load(), EngineKind::Cpu, 1);
    c0.run_steps(800);
    let ck = tmp.path().join("cpu.ckpt");
    c0.save(&ck).unwrap();
    let mut d3 = device(load());
    d3.restore(&ck).unwrap();
    d3.run_steps(700);
    for (k, s) in [&d, &c, &d2, &d3].into_iter().enumerate() {
        assert!(record(&cpu) == record(s), "run {k} after a checkpoint differs from the uninterrupted cpu run");
    }
    let dev = RunOptions { engine: EngineKind::Device, device: TensorDevice::Flex, threads: 1, ..Default::default() };
    for file in ["lif_poisson.toml", "enc_poisson_p.toml"] {
        spikeworld::testing::check_resume(&builder(), &scenario_path(file), 777, tmp.path(), &dev).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}
