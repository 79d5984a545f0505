//! Spike and rate monitors that record a spike-source encoder (Brian2's `SpikeMonitor` of a
//! `PoissonGroup`): they record exactly what the encoder emits, stepped on its own, on every
//! engine, in any number of shards, and through a resume.

mod common;
use common::*;

use spikeworld::monitor::{RateRecorder, SpikeRecorder};
use spikeworld::prelude::*;

/// The header `parse_encoder_in` uses (so that the encoder `e` draws the same numbers),
/// the encoder table `body`, a population it drives, and monitors of `e[2:7]` and `e`.
fn scenario(body: &str) -> String {
    format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"10 ms\"\nseed = 11\n\n[[population]]\nname = \"P\"\nsize = 3\nmodel = \"lif\"\n\n[[encoder]]\nname = \"e\"\n{body}\n\n\
         [[projection]]\nname = \"drive\"\nfrom = \"e\"\nto = \"P\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = \"2 mV\"\n\n\
         [[monitor]]\nname = \"part\"\nkind = \"spikes\"\ntarget = \"e[2:7]\"\n\n[[monitor]]\nname = \"rate\"\nkind = \"rate\"\ntarget = \"e\"\nbin = \"2 ms\"\n\n\
         [[monitor]]\nname = \"neurons\"\nkind = \"spikes\"\ntarget = \"P\"\n"
    )
}

fn run(text: &str, opts: &RunOptions) -> Sim {
    let b = builder();
    let sc = Scenario::from_str(text, std::path::Path::new("test.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("should load: {e}"));
    let mut sim = b.build(sc, opts).expect("build");
    sim.run_to_end(u64::MAX, |_| {});
    sim
}

fn recorded(sim: &Sim) -> ((Vec<f64>, Vec<i64>), Vec<u64>) {
    let spikes = sim.monitors.iter().find_map(|&e| sim.world.get::<SpikeRecorder>(e).filter(|m| m.name == "part")).expect("monitor `part`");
    let rate = sim.monitors.iter().find_map(|&e| sim.world.get::<RateRecorder>(e)).expect("monitor `rate`");
    ((spikes.t_ms(), spikes.index()), rate.counts.clone())
}

/// What the monitors must hold: the encoder stepped directly, its outputs 2..7 for `part`
/// and every output's spikes counted in 2 ms bins (20 steps) for `rate`.
fn expected(body: &str) -> ((Vec<f64>, Vec<i64>), Vec<u64>) {
    let steps = run_encoder(body, 100);
    let (mut t, mut i) = (Vec::new(), Vec::new());
    for (s, out) in steps.iter().enumerate() {
        let mut mine: Vec<u32> = out.iter().copied().filter(|&k| (2..7).contains(&k)).collect();
        mine.sort_unstable();
        t.extend(mine.iter().map(|_| s as f64 * 0.1));
        i.extend(mine.iter().map(|&k| i64::from(k)));
    }
    let counts = steps.chunks(20).map(|c| c.iter().map(|o| o.len() as u64).sum()).collect();
    ((t, i), counts)
}

const GENERATOR: &str = "kind = \"spike_generator\"\nsize = 8\ntimes = [\"0.05 ms\", \"1 ms\", \"1 ms\", \"1 ms\", \"2.37 ms\", \"9.99 ms\"]\nindices = [3, 1, 2, 6, 4, 5]";
const POISSON: &str = "kind = \"poisson\"\nsize = 8\nrate = \"900 Hz\"";

#[test]
fn monitors_record_an_encoder_as_it_emits_on_every_engine_and_shard_count() {
    // The generator's list by hand: steps 0, 10 (outputs 2 and 6: 1 is outside 2..7), 23, 99.
    let (want, counts) = expected(GENERATOR);
    assert_eq!(want.1, vec![3, 2, 6, 4, 5]);
    assert_eq!(want.0.iter().map(|t| (t * 10.0).round() as u64).collect::<Vec<_>>(), vec![0, 10, 10, 23, 99]);
    assert_eq!(counts, vec![4, 1, 0, 0, 1]);
    for body in [GENERATOR, POISSON] {
        let text = scenario(body);
        let want = expected(body);
        assert!(want.0.0.len() >= 5, "the encoder should emit in the recorded range");
        for engine in [EngineKind::Cpu, EngineKind::Tensor, EngineKind::Device] {
            for shards in [1, 2] {
                if engine == EngineKind::Tensor && shards > 1 {
                    continue; // (the tensor engine runs one world)
                }
                let sim = run(&text, &RunOptions { engine, shards, ..RunOptions::default() });
                assert_eq!(recorded(&sim), want, "{body}: {engine:?}, {shards} shard(s)");
            }
        }
    }
}

#[test]
fn an_encoder_monitor_resumes_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enc_monitor.toml");
    std::fs::write(&path, scenario(POISSON)).unwrap();
    for engine in [EngineKind::Cpu, EngineKind::Device] {
        for split in [1u64, 37, 99] {
            spikeworld::testing::check_resume(&builder(), &path, split, dir.path(), &RunOptions { engine, ..RunOptions::default() }).unwrap_or_else(|e| panic!("{engine:?}, split {split}: {e}"));
        }
    }
}

#[test]
fn monitors_of_encoders_that_cannot_be_recorded_say_why() {
    let err = |text: &str| {
        let b = builder();
        match Scenario::from_str(text, std::path::Path::new("test.toml"), b.registry(), &LoadOptions::default()) {
            Ok(_) => panic!("should be refused:\n{text}"),
            Err(e) => e.to_string(),
        }
    };
    let base = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"10 ms\"\nseed = 1\n\n[[population]]\nname = \"P\"\nsize = 3\nmodel = \"lif\"\n\n\
                [[encoder]]\nname = \"src\"\nkind = \"poisson\"\nsize = 4\nrate = \"10 Hz\"\n\n\
                [[encoder]]\nname = \"bias\"\nkind = \"constant_current\"\ntarget = \"P\"\namplitude = \"10 pA\"\n\n[[monitor]]\nname = \"m\"\n";
    let e = err(&format!("{base}kind = \"spikes\"\ntarget = \"bias\"\n"));
    assert!(e.contains("test.toml:26:10") && e.contains("monitor[0].target") && e.contains("injects a current"), "{e}");
    let e = err(&format!("{base}kind = \"state\"\ntarget = \"src\"\nvariables = [\"v\"]\n"));
    assert!(e.contains("monitor[0].target") && e.contains("no state variables"), "{e}");
    let e = err(&format!("{base}kind = \"spikes\"\ntarget = \"src[2:9]\"\n"));
    assert!(e.contains("monitor[0].target") && e.contains("src"), "{e}");
    let e = err(&format!("{base}kind = \"rate\"\ntarget = \"nothing\"\nbin = \"1 ms\"\n"));
    assert!(e.contains("no population or encoder named `nothing`"), "{e}");
}
