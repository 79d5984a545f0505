//! The event network split over the shards of a partitioned network: each shard steps its
//! own range of every event population, with the events for those neurons only, and the
//! shards exchange the event populations' spikes (and finished tempotron `V_max` rows)
//! every step. Any number of shards gives one world's bits: clock-driven spikes and
//! state, exact event spike times, `V_max` rows, and checkpoints (merged from the
//! shards' parts) that resume with another number of shards. Each input event is
//! processed once, in the shard that owns its neuron.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;
use spikeworld_event_driven::world::EventDrivenPlugin;
use spikeworld_event_driven::world::run::{EventNet, exact_spikes_output, population_report};

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(EventDrivenPlugin);
    b
}

/// `cosim_mixed.toml` (clock → SRM0, SRM0 → SRM0 one to one, SRM0 → clock) with a
/// tempotron population of 13 (windows of 20 ms, fed by a clock population and a
/// Gaussian-tuning event source, sending to a clock population and to SRM0 neurons that
/// other shards hold), 150 ms.
fn scenario(dir: &Path) -> PathBuf {
    let x: Vec<f64> = (0..8 * 3).map(|i| ((i * 37 + 11) % 23) as f64 * 0.5).collect();
    spikeworld::output::write_npy_f64(&dir.join("x.npy"), &[8, 3], &x).unwrap();
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/cosim_mixed.toml")).unwrap();
    let text = format!(
        r#"{base}
[[event_source]]
name = "feat"
kind = "gaussian_tuning"
x = "x.npy"
tuning = 4
window = "20 ms"
round_times = false

[[event_population]]
name = "tempo"
size = 13
model = "tempotron"
window = "20 ms"
record = true

[[event_population.input]]
from = "feat"
rule = "all_to_all"
weight = 0.09

[[event_population.input]]
from = "lif"
rule = "fixed_indegree"
indegree = 30
weight = 0.11
delay = "0.8 ms"

[[event_population.output]]
to = "lif2"
receptor = "v"
rule = "fixed_indegree"
indegree = 3
weight = 0.7
delay = "1.2 ms"

[[event_population.output]]
to = "srm2"
rule = "fixed_indegree"
indegree = 4
weight = 0.45
delay = "1.5 ms"
"#
    )
    .replace("t_stop = \"300 ms\"", "t_stop = \"150 ms\"");
    let p = dir.join("events.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn build(path: &Path, shards: usize) -> Sim {
    let b = builder();
    let sc = Scenario::load(path, b.registry(), &LoadOptions::default()).unwrap();
    b.build(sc, &RunOptions { shards, ..Default::default() }).unwrap_or_else(|e| panic!("{shards} shards: {e}"))
}

fn checkpoint(sim: &Sim) -> Vec<u8> {
    let mut bytes = Vec::new();
    sim.write_checkpoint(&mut bytes).expect("checkpoint");
    bytes
}

/// The event populations' outputs (exact spike times and indices, `V_max` rows) as bits.
fn event_outputs(sim: &Sim) -> Vec<(String, Vec<u64>)> {
    exact_spikes_output(&sim.world)
        .into_iter()
        .map(|a| {
            let bits = match a.data {
                spikeworld::api::output::OutputData::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
                spikeworld::api::output::OutputData::I64(v) => v.iter().map(|&x| x as u64).collect(),
            };
            (format!("{}.{}", a.name, a.quantity), bits)
        })
        .collect()
}

/// Input events processed by every shard together.
fn processed(sim: &Sim) -> Vec<u64> {
    (0..sim.shards()).map(|k| sim.shard_world(k).unwrap().resource::<EventNet>().processed()).collect()
}

#[test]
fn the_event_network_split_over_shards_equals_one_world() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(tmp.path());
    let mut one = build(&path, 1);
    let mid = one.end_step() / 2 + 37;
    one.run_steps(mid);
    let mid_ckpt = checkpoint(&one);
    one.run_steps(one.end_step() - mid);
    let (want, want_out, work) = (checkpoint(&one), event_outputs(&one), processed(&one)[0]);
    for (name, bits) in &want_out {
        assert!(bits.len() > 10, "{name}: {} values, too few to compare", bits.len());
    }
    assert!(one.world.resource::<EventNet>().recorded("tempo").is_some_and(|r| r.0.len() >= 5), "the tempotrons fire too little to compare");
    // The summary's spike counts are the recorded spikes' (every event population records).
    let want_report = population_report(&one.world);
    assert_eq!(want_report.len(), 3);
    for p in &want_report {
        let recorded = want_out.iter().find(|(n, _)| *n == format!("{}.t_ms", p.name)).map(|(_, b)| b.len() as u64);
        assert_eq!(Some(p.spikes), recorded, "{}: reported spikes", p.name);
    }
    // 14 shards: some hold none of the tempotrons (13).
    for k in [2, 3, 14] {
        let mut sim = build(&path, k);
        sim.run_steps(mid);
        assert!(checkpoint(&sim) == mid_ckpt, "{k} shards: the checkpoint at step {mid} differs from one world's");
        sim.run_steps(sim.end_step() - mid);
        assert!(event_outputs(&sim) == want_out, "{k} shards: the event populations' outputs differ from one world's");
        assert_eq!(population_report(&sim.world), want_report, "{k} shards: the reported populations");
        assert!(checkpoint(&sim) == want, "{k} shards: the final checkpoint differs from one world's");
        let parts = processed(&sim);
        assert_eq!(parts.iter().sum::<u64>(), work, "{k} shards: input events processed {parts:?}, one world {work}");
        assert!(parts.iter().all(|&p| p < work), "{k} shards: a shard processed every input event ({parts:?})");
    }
    // Written by 3 shards mid-run, resumed by 2 and by one world.
    let mut three = build(&path, 3);
    three.run_steps(mid);
    let file = tmp.path().join("three.swck");
    three.save(&file).expect("save");
    for k in [2, 1] {
        let mut sim = Sim::load_with(&file, &builder(), &RunOptions { shards: k, ..Default::default() }, None, None).unwrap_or_else(|e| panic!("resume with {k} shards: {e}"));
        sim.run_steps(sim.end_step() - sim.step_count());
        assert!(event_outputs(&sim) == want_out, "written by 3 shards, resumed by {k}: the event outputs differ");
        assert_eq!(population_report(&sim.world), want_report, "written by 3 shards, resumed by {k}: the reported populations");
        assert!(checkpoint(&sim) == want, "written by 3 shards, resumed by {k}: the final checkpoint differs");
    }
}
