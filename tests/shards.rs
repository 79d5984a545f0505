//! A network split into K shards (worlds on their own threads, exchanging spikes every
//! step) gives the bits of one world: the same spikes, the same state, for any K.

mod common;
use common::shards::*;
use common::*;
use spikeworld::prelude::*;
use bevy_ecs::prelude::{Query, Res, ResMut};

fn check(file: &str, overrides: &[&str], min_spikes: usize) {
    let one = run_all(build(load_file(file, overrides, None), EngineKind::Cpu, 1));
    let want = outcome(&one);
    assert!(want.0.1.len() >= min_spikes, "{file}: {} spikes, too few to compare", want.0.1.len());
    for k in [2, 3, 4] {
        let sim = run_all(sharded(load_file(file, overrides, None), k));
        assert_eq!(sim.shards(), k);
        assert_eq!(sim.synapse_counts(), one.synapse_counts(), "{file}: {k} shards hold every synapse once");
        let got = outcome(&sim);
        assert!(got.0 == want.0, "{file}: {k} shards: spike trains differ from one world's ({} and {} spikes)", got.0.1.len(), want.0.1.len());
        assert_eq!(got.1, want.1, "{file}: {k} shards: spike totals");
        assert!(got.2 == want.2, "{file}: {k} shards: the state differs from one world's");
    }
}

#[test]
fn coba_in_shards_equals_one_world() {
    check("coba.toml", &["simulation.t_stop=300 ms"], 10_000);
}

#[test]
fn cuba_in_shards_equals_one_world() {
    check("cuba.toml", &["simulation.t_stop=300 ms"], 3_000);
}

/// The delayed scenario: random delays up to 25 ms, a spike generator, a state monitor
/// of neurons spread over the shards (sampled by their shards, recorded by shard 0).
#[test]
fn the_delayed_scenario_in_shards_equals_one_world() {
    check("delayed_recurrent.toml", &[], 1_000);
}

/// A constant current into the first 10 neurons (a current encoder: each shard adds the
/// values of its own neurons), Poisson inputs with delays, state and rate monitors.
#[test]
fn currents_and_state_monitors_in_shards_equal_one_world() {
    check("lif_poisson.toml", &[], 50);
}

const DELAYED: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "200 ms"
seed = 5

[[population]]
name = "E"
size = 1003
model = "lif"
init.v = { dist = "uniform", low = "-70 mV", high = "-50 mV" }

[[population]]
name = "tiny"
size = 3
model = "lif"

[[encoder]]
name = "input"
kind = "poisson"
size = 200
rate = "40 Hz"

[[projection]]
name = "in"
from = "input"
to = "E"
rule = "fixed_indegree"
indegree = 20
receptor = "v"
weight = { dist = "uniform", low = "0.5 mV", high = "2.5 mV" }
delay = { dist = "uniform", low = "0.5 ms", high = "3 ms" }

[[projection]]
name = "rec"
from = "E[:800]"
to = "E"
rule = "pairwise_bernoulli"
p = 0.02
receptor = "v"
weight = { dist = "normal", mean = "0.4 mV", std = "0.2 mV" }
delay = { dist = "uniform", low = "0.1 ms", high = "5 ms" }

[[projection]]
name = "inh"
from = "E[800:]"
to = "E[100:900]"
rule = "fixed_outdegree"
outdegree = 30
receptor = "v"
weight = "-1 mV"
delay = "1 ms"

[[projection]]
name = "to_tiny"
from = "E"
to = "tiny"
rule = "fixed_total_number"
n = 300
receptor = "v"
weight = "3 mV"

[[monitor]]
name = "spikes"
kind = "spikes"
target = "E"

[[monitor]]
name = "tiny_rate"
kind = "rate"
target = "tiny"
bin = "10 ms"
"#;

/// Random weights and delays, every core rule, a Poisson encoder in every shard, selections
/// that cross shard bounds, a population smaller than the shard count (empty ranges), a
/// rate monitor.
#[test]
fn delayed_network_in_shards_equals_one_world() {
    let one = run_all(sim_from_text(&builder(), DELAYED, EngineKind::Cpu));
    let want = outcome(&one);
    assert!(want.0.1.len() > 2_000, "{} spikes", want.0.1.len());
    let rate = |s: &Sim| s.monitors.iter().find_map(|&e| s.world.get::<spikeworld::monitor::RateRecorder>(e).map(|m| m.counts.clone())).expect("rate monitor");
    assert!(rate(&one).iter().sum::<u64>() > 0, "the tiny population fires");
    for k in [2, 3, 4, 5] {
        let sim = run_all(sharded(load(DELAYED), k));
        assert_eq!(sim.synapse_counts(), one.synapse_counts());
        let got = outcome(&sim);
        assert!(got == want, "{k} shards differ from one world");
        assert_eq!(rate(&sim), rate(&one), "{k} shards: rate monitor");
    }
}

/// Runs stopped and continued in pieces (chunks of steps) give the same bits.
#[test]
fn stepping_in_pieces_changes_nothing() {
    let one = run_all(sim_from_text(&builder(), DELAYED, EngineKind::Cpu));
    let mut sim = sharded(load(DELAYED), 3);
    for n in [1, 7, 64, 65, 200, 1] {
        sim.run_steps(n);
    }
    sim.run_steps(sim.scenario.steps - sim.step_count());
    assert!(outcome(&sim) == outcome(&one));
}

/// Exchange windows: the delayed scenario's shortest delay (1 ms, 10 steps: a spike of
/// step t reaches its target's input at step t + 11) lets shards exchange every 11 steps;
/// any shorter window, and batches of steps that end windows
/// early, give the same bits; a longer window is refused.
#[test]
fn exchange_windows_change_nothing() {
    let file = "delayed_recurrent.toml";
    let stop = ["simulation.t_stop=200 ms"];
    let one = run_all(build(load_file(file, &stop, None), EngineKind::Cpu, 1));
    let want = outcome(&one);
    assert!(want.0.1.len() > 1_000, "{} spikes", want.0.1.len());
    let window = |every: u64| RunOptions { shards: 3, exchange_every: every, ..Default::default() };
    let longest = builder().build(load_file(file, &stop, None), &window(0)).expect("build").exchange_window().expect("sharded");
    assert_eq!(longest, 11, "1 ms at dt = 0.1 ms");
    for every in [1, 3, 11] {
        let sim = run_all(builder().build(load_file(file, &stop, None), &window(every)).expect("build"));
        assert_eq!(sim.exchange_window(), Some(every));
        assert!(outcome(&sim) == want, "a window of {every} steps");
    }
    let mut sim = builder().build(load_file(file, &stop, None), &window(0)).expect("build");
    for n in [1, 7, 64, 65, 13, 1] {
        sim.run_steps(n);
    }
    sim.run_steps(sim.scenario.steps - sim.step_count());
    assert!(outcome(&sim) == want, "batches that end windows early");
    let e = builder().build(load_file(file, &stop, None), &window(12)).err().expect("refused");
    assert!(e.to_string().contains("exchange window of 12 steps") && e.to_string().contains("at most 11"), "{e}");
}

/// The memory check counts the synapses of every shard a process holds: a network whose
/// drawn synapses exceed the limit (though the expected count passed the check at load)
/// is refused in K shards as in one world, although each shard's share alone would fit.
#[test]
fn the_memory_check_counts_every_shard() {
    let b = builder();
    let load = |seed: u64, limit: Option<u64>| {
        let opts = LoadOptions { overrides: vec!["simulation.t_stop=10 ms".into()], seed: Some(seed), max_memory: limit };
        Scenario::load(&scenario_path("coba.toml"), b.registry(), &opts)
    };
    // A seed whose pairwise_bernoulli draws more synapses than expected.
    let seed = (1..50)
        .find(|&s| {
            let sc = load(s, None).expect("coba loads");
            let drawn: usize = b.draw_synapses(&sc, None).expect("draws").iter().map(|d| d.csr.len()).sum();
            drawn as f64 > sc.estimate.synapses + 100.0
        })
        .expect("a seed that draws more than expected");
    let limit = load(seed, None).unwrap().estimate.total().ceil() as u64;
    let sc = || load(seed, Some(limit)).expect("the expected count fits the limit");
    let e = b.build(sc(), &RunOptions::default()).err().expect("one world: refused");
    assert!(e.to_string().contains("memory") || e.to_string().contains("limit"), "{e}");
    for k in [2, 3] {
        let e = b.build(sc(), &RunOptions { shards: k, ..Default::default() }).err().unwrap_or_else(|| panic!("{k} shards: refused as one world"));
        assert!(e.to_string().contains("limit"), "{e}");
    }
    // A limit that fits what was drawn builds in any number of shards.
    for k in [1, 2, 3] {
        let ok = load(seed, Some(limit + (1 << 20))).unwrap();
        b.build(ok, &RunOptions { shards: k, ..Default::default() }).unwrap_or_else(|e| panic!("{k} shards: {e}"));
    }
}

/// Weight monitors in shards: every shard sends shard 0 its weights at each sample, in one
/// world's order (statistics, histogram and chosen synapses are one world's bits), on
/// random weights and delays, a target selection that starts inside shard 0, K = 2 to 4;
/// the checkpoint is one world's mid-run and resumes with another K (learning rules:
/// `tests/shards_plastic.rs`).
#[test]
fn weight_monitors_in_shards_equal_one_world() {
    let text = PLASTIC.lines().filter(|l| !l.starts_with("plasticity")).collect::<Vec<_>>().join("\n");
    let one = run_all(sim_from_text(&builder(), &text, EngineKind::Cpu));
    let want = outcome(&one);
    assert!(want.0.1.len() > 1_000, "{} spikes", want.0.1.len());
    let samples = one.monitors.iter().filter_map(|&e| one.world.get::<spikeworld::monitor::weights::WeightRecorder>(e)).map(|m| m.t_ms.len()).collect::<Vec<_>>();
    assert_eq!(samples, [15, 6], "samples of the two weight monitors");
    let all: Vec<Vec<u64>> = (0..2).map(|i| weights(&one, i)).collect();
    for k in [2, 3, 4] {
        let sim = run_all(sharded(load(&text), k));
        assert!(outcome(&sim) == want, "{k} shards differ from one world");
        for (i, w) in all.iter().enumerate() {
            assert!(&weights(&sim, i) == w, "{k} shards: the weights of projection {i}");
        }
    }
    let mut one = sim_from_text(&builder(), &text, EngineKind::Cpu);
    let mut three = sharded(load(&text), 3);
    one.run_steps(700);
    three.run_steps(700);
    assert!(checkpoint_bytes(&three) == checkpoint_bytes(&one), "3 shards, step 700: the checkpoint differs");
    let path = tempfile_dir("weights").join("three.ckpt");
    three.save(&path).expect("save");
    let mut resumed = Sim::load_with(&path, &builder(), &RunOptions { shards: 2, ..Default::default() }, None, None).expect("resume with 2 shards");
    let rest = resumed.end_step() - resumed.step_count();
    resumed.run_steps(rest);
    assert!(outcome(&resumed) == want, "written by 3 shards, resumed by 2");
}

/// The device engine in shards (each shard's populations, rings and tables on its own
/// device: the host backend here, the same arrays and kernels as on CUDA): its own
/// neurons updated on the device, their spikes exchanged, every window's steps delivered
/// on the device from the merged spikes. The spikes, state and monitors of one world (cpu
/// engine: the device engine's bits) for K = 2, 3 and 4, with pull and push delivery
/// (push with buckets of one, so that targets overflow and pull); the checkpoint is one
/// world's mid-run and resumes with another K, and on the cpu engine, to the same bits.
/// A projection onto the first 10 neurons with delays up to 20 ms gives shard 0 a deeper
/// ring than the others hold: every shard's ring takes the deepest (as one world's).
#[test]
fn the_device_engine_in_shards_equals_one_world() {
    let far = "\n[[projection]]\nname = \"far\"\nfrom = \"E\"\nto = \"E[:10]\"\nrule = \"fixed_indegree\"\nindegree = 2\nreceptor = \"v\"\nweight = \"0.5 mV\"\ndelay = { dist = \"uniform\", low = \"0.1 ms\", high = \"20 ms\" }\n";
    let text = DELAYED.replace("t_stop = \"200 ms\"", "t_stop = \"60 ms\"") + far;
    let device = |k: usize, delivery: Delivery| builder().build(load(&text), &RunOptions { shards: k, engine: EngineKind::Device, delivery, ..Default::default() }).unwrap_or_else(|e| panic!("{k} shards: {e}"));
    let one = run_all(sim_from_text(&builder(), &text, EngineKind::Cpu));
    let want = outcome(&one);
    assert!(want.0.1.len() > 100, "{} spikes", want.0.1.len());
    for delivery in [Delivery::Pull, Delivery::Push { capacity: 1 }] {
        for k in [2, 3, 4] {
            let sim = run_all(device(k, delivery));
            assert_eq!(sim.shards(), k);
            assert!(outcome(&sim) == want, "device engine, {k} shards, {delivery:?}: differs from one world");
        }
    }
    let mut mid = sim_from_text(&builder(), &text, EngineKind::Cpu);
    mid.run_steps(250);
    let mut three = device(3, Delivery::Auto);
    three.run_steps(250);
    assert!(checkpoint_bytes(&three) == checkpoint_bytes(&mid), "device engine, 3 shards, step 250: the checkpoint differs from one world's");
    let path = tempfile_dir("device").join("three.ckpt");
    three.save(&path).expect("save");
    for opts in [RunOptions { shards: 2, engine: EngineKind::Device, ..Default::default() }, RunOptions::default()] {
        let mut resumed = Sim::load_with(&path, &builder(), &opts, None, None).expect("resume");
        let rest = resumed.end_step() - resumed.step_count();
        resumed.run_steps(rest);
        assert!(outcome(&resumed) == want, "device engine: written by 3 shards, resumed by {} on {:?}", opts.shards, opts.engine);
    }
    // A current encoder into some neurons (each shard adds its own neurons' values) and a
    // state monitor (sampled by the shard holding each neuron).
    let lif = |engine, k| builder().build(load_file("lif_poisson.toml", &[], None), &RunOptions { shards: k, engine, ..Default::default() }).expect("build");
    let want = outcome(&run_all(lif(EngineKind::Cpu, 1)));
    for k in [2, 3] {
        assert!(outcome(&run_all(lif(EngineKind::Device, k))) == want, "lif_poisson.toml, device engine, {k} shards");
    }
    // COBA (every step exchanged), in 2 shards.
    let coba = |engine, k| builder().build(load_file("coba.toml", &["simulation.t_stop=50 ms"], None), &RunOptions { shards: k, engine, ..Default::default() }).expect("build");
    let want = outcome(&run_all(coba(EngineKind::Cpu, 1)));
    assert!(outcome(&run_all(coba(EngineKind::Device, 2))) == want, "COBA, device engine, 2 shards");
}

/// A partition the user gives (`shard_bounds`: uneven ranges, an empty one) gives one
/// world's bits and checkpoint; bounds that do not match the number of shards, or are not
/// ascending, are refused at their file:line:col.
#[test]
fn a_partition_the_user_gives_equals_one_world() {
    let want = outcome(&run_all(sim_from_text(&builder(), DELAYED, EngineKind::Cpu)));
    let text = DELAYED.replacen("model = \"lif\"", "model = \"lif\"\nshard_bounds = [100, 900]", 1).replacen("size = 3\nmodel = \"lif\"", "size = 3\nmodel = \"lif\"\nshard_bounds = [0, 0]", 1);
    assert_eq!(text.matches("shard_bounds").count(), 2, "both populations split by hand");
    let mut sim = sharded(load(&text), 3);
    assert_eq!(sim.state("E", "v").unwrap().len(), 1003);
    // Projection `in` (20 inputs per neuron of E): shards of 100, 800 and 103 neurons.
    let held: Vec<usize> = sim.tables(0).iter().map(|t| t.len()).collect();
    assert_eq!(held, [100 * 20, 800 * 20, 103 * 20], "the user's ranges");
    sim.run_steps(700);
    let mut one = sim_from_text(&builder(), DELAYED, EngineKind::Cpu);
    one.run_steps(700);
    let (a, b) = (checkpoint_bytes(&sim), checkpoint_bytes(&one));
    // (The scenario text in the header differs, and so the checksum at the end: compare
    // the last 60 kB of the bodies.)
    assert_eq!(a.len() - text.len(), b.len() - DELAYED.len(), "the same body size");
    let body = |x: &[u8]| x[x.len() - 60_000..x.len() - 64].to_vec();
    assert!(body(&a) == body(&b), "the checkpoint's state differs from one world's");
    let rest = sim.end_step() - sim.step_count();
    sim.run_steps(rest);
    assert!(outcome(&sim) == want, "shard_bounds: differs from one world");
    let e = builder().build(load(&text), &RunOptions { shards: 2, ..Default::default() }).err().expect("refused").to_string();
    assert!(e.contains("test.toml:") && e.contains("population[0].shard_bounds") && e.contains("2 bounds make 3 shards; the run has 2"), "{e}");
    let bad = DELAYED.replacen("model = \"lif\"", "model = \"lif\"\nshard_bounds = [900, 100]", 1);
    let e = Scenario::from_str(&bad, std::path::Path::new("bad.toml"), builder().registry(), &LoadOptions::default()).err().expect("refused").to_string();
    assert!(e.contains("bad.toml:") && e.contains("shard_bounds") && e.contains("ascending"), "{e}");
}

/// The tensor engine in shards (each shard's populations as burn tensors on its own
/// device: flex here, several shards on one CPU): the spikes, state and monitors of one
/// tensor world for K = 2, 3 and 4 (4 leaves a shard without any neuron of `tiny`); the checkpoint is one tensor world's mid-run, and resumes
/// with another K to the same bits.
#[test]
fn the_tensor_engine_in_shards_equals_one_world() {
    let text = DELAYED.replace("t_stop = \"200 ms\"", "t_stop = \"60 ms\"");
    let tensor = |k: usize| builder().build(load(&text), &RunOptions { shards: k, engine: EngineKind::Tensor, ..Default::default() }).unwrap_or_else(|e| panic!("{k} shards: {e}"));
    let one = run_all(tensor(1));
    let want = outcome(&one);
    assert!(want.0.1.len() > 100, "{} spikes", want.0.1.len());
    for k in [2, 3, 4] {
        let sim = run_all(tensor(k));
        assert_eq!(sim.shards(), k);
        assert!(outcome(&sim) == want, "tensor engine, {k} shards: differs from one tensor world");
    }
    let mut mid = tensor(1);
    mid.run_steps(250);
    let mut three = tensor(3);
    three.run_steps(250);
    assert!(checkpoint_bytes(&three) == checkpoint_bytes(&mid), "tensor engine, 3 shards, step 250: the checkpoint differs from one world's");
    let path = tempfile_dir("tensor").join("three.ckpt");
    three.save(&path).expect("save");
    let mut resumed = Sim::load_with(&path, &builder(), &RunOptions { shards: 2, engine: EngineKind::Tensor, ..Default::default() }, None, None).expect("resume with 2 shards");
    let rest = resumed.end_step() - resumed.step_count();
    resumed.run_steps(rest);
    assert!(outcome(&resumed) == want, "tensor engine: written by 3 shards, resumed by 2");
}

/// A sharded run's checkpoint is byte for byte the one world's (state gathered from the
/// shards: the same file for any number of shards), at the start and in the middle.
#[test]
fn a_sharded_checkpoint_is_the_one_world_checkpoint() {
    let mut one = sim_from_text(&builder(), DELAYED, EngineKind::Cpu);
    let mut shards: Vec<Sim> = [2, 3, 5].iter().map(|&k| sharded(load(DELAYED), k)).collect();
    let at_start = checkpoint_bytes(&one);
    for s in &shards {
        assert!(checkpoint_bytes(s) == at_start, "{} shards, step 0: the checkpoint differs", s.shards());
    }
    one.run_steps(777);
    let mid = checkpoint_bytes(&one);
    for s in &mut shards {
        s.run_steps(777);
        assert!(checkpoint_bytes(s) == mid, "{} shards, step 777: the checkpoint differs", s.shards());
    }
}

/// A checkpoint resumes with any number of shards, written by any number: every
/// combination ends in the bits of a run that never stopped.
#[test]
fn a_checkpoint_resumes_with_any_number_of_shards() {
    let want = outcome(&run_all(sim_from_text(&builder(), DELAYED, EngineKind::Cpu)));
    let dir = tempfile_dir("resume");
    for (k, k2) in [(1, 3), (2, 1), (3, 2), (2, 4)] {
        let mut sim = sharded(load(DELAYED), k);
        sim.run_steps(900);
        let path = dir.join(format!("from{k}.ckpt"));
        sim.save(&path).expect("save");
        let mut resumed = Sim::load_with(&path, &builder(), &RunOptions { shards: k2, ..Default::default() }, None, None).unwrap_or_else(|e| panic!("{k} -> {k2}: {e}"));
        assert_eq!(resumed.shards(), k2);
        assert_eq!(resumed.step_count(), 900);
        let rest = resumed.end_step() - resumed.step_count();
        resumed.run_steps(rest);
        assert!(outcome(&resumed) == want, "written by {k} shards, resumed with {k2}: differs from a run that never stopped");
    }
}

/// `simulation.shards` splits the network as `--shards` does; a bad value is located.
#[test]
fn the_scenario_can_ask_for_shards() {
    let text = DELAYED.replace("seed = 5", "seed = 5\nshards = 3");
    let sim = run_all(builder().build(load(&text), &RunOptions::default()).expect("build"));
    assert_eq!(sim.shards(), 3);
    let one = run_all(builder().build(load(&text), &RunOptions { shards: 1, ..Default::default() }).expect("build"));
    assert_eq!(one.shards(), 1, "RunOptions::shards (--shards) overrides the scenario");
    assert!(outcome(&sim) == outcome(&one));
    let bad = DELAYED.replace("seed = 5", "seed = 5\nshards = 0");
    let e = Scenario::from_str(&bad, std::path::Path::new("bad.toml"), builder().registry(), &LoadOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("bad.toml:6:") && e.to_string().contains("shards"), "{e}");
}

/// A shard that panics (here in a plugin's system, in the shard holding the population's
/// neurons from 400 on, or in shard 0) stops the run at once: the panic reaches the caller
/// and no other shard is left waiting for it.
#[test]
fn a_panic_in_any_shard_reaches_the_caller_at_once() {
    use spikeworld::api::sets::SimSystems;
    fn bomb_above(clock: Res<Clock>, pops: Query<&Population>) {
        if clock.step == 50 && pops.iter().any(|p| p.name == "E" && p.first <= 400 && 400 < p.first + p.size) {
            panic!("bomb");
        }
    }
    fn bomb_first(clock: Res<Clock>, pops: Query<&Population>) {
        if clock.step == 50 && pops.iter().any(|p| p.name == "E" && p.first == 0) {
            panic!("bomb");
        }
    }
    for bomb in [0, 1] {
        let mut b = builder();
        match bomb {
            0 => b.add_systems(SimSystems::Record, bomb_above),
            _ => b.add_systems(SimSystems::Deliver, bomb_first),
        };
        let mut sim = b.build(load(DELAYED), &RunOptions { shards: 3, ..Default::default() }).expect("build");
        let t0 = std::time::Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run_steps(200)));
        assert!(r.is_err(), "bomb {bomb}: the panic reaches the caller");
        assert!(t0.elapsed().as_secs() < 60, "bomb {bomb}: took {:?}: a shard waited for the one that panicked", t0.elapsed());
    }
}

/// A fault (a contract violation recorded, not a panic) in one shard stops every shard in
/// the same step, and `Sim::fault` names the original fault, not the others' notes.
#[test]
fn a_fault_in_one_shard_stops_all_together() {
    use spikeworld::api::sets::SimSystems;
    fn fault_in_last(clock: Res<Clock>, pops: Query<&Population>, mut faults: ResMut<spikeworld::engine::Faults>) {
        if clock.step == 30 && pops.iter().any(|p| p.name == "E" && p.first + p.size == 1003 && p.first > 0) {
            faults.0.push("the last shard's test fault".into());
        }
    }
    let mut b = builder();
    b.add_systems(SimSystems::Deliver, fault_in_last);
    let mut sim = b.build(load(DELAYED), &RunOptions { shards: 3, ..Default::default() }).expect("build");
    sim.run_steps(200);
    assert_eq!(sim.fault(), Some("the last shard's test fault"));
    assert_eq!(sim.step_count(), 31, "shard 0 stops after the step of the fault, as one world would");
}

/// Threads inside shards (`--shards K --threads T`: each shard's world splits its update
/// and delivery over a pool of its own, as one world does; under MPI, processes times
/// threads). Each shard of 2 holds 10,000 neurons of E, enough for both parts to split
/// over 2 threads (`MIN_CHUNK`, `MIN_PART` = 4096); rows in ascending target order and in
/// random order, one delay and per-synapse delays. 2 shards of 2 and 3 threads end in one
/// world's spikes and state bits; 3 shards (6,667 of E each, too few to split) start no
/// pool.
#[test]
fn threads_inside_shards_equal_one_world() {
    // The network of the threaded-delivery test, with E large enough to split in 2 shards.
    let text = &TWO_POPULATIONS.replace("size = 6000", "size = 20000").replace("size = 3000", "size = 1000").replace("p = 0.01\nreceptor = \"exc\"\nweight = \"5 nS\"\ndelay", "p = 0.002\nreceptor = \"exc\"\nweight = \"5 nS\"\ndelay").replace("t_stop = \"60 ms\"", "t_stop = \"40 ms\"");
    for part in ["size = 20000", "size = 1000", "p = 0.002", "t_stop = \"40 ms\""] {
        assert!(text.contains(part), "the network lacks `{part}`");
    }
    let one = run_all(build(load(text), EngineKind::Cpu, 1));
    let want = outcome(&one);
    assert!(want.0.1.len() >= 2_000, "{} spikes, too few to compare", want.0.1.len());
    for (shards, threads, pool) in [(2, 2, 2), (2, 3, 3), (3, 2, 1), (2, 1, 1)] {
        let sim = builder().build(load(text), &RunOptions { shards, threads, ..Default::default() }).unwrap_or_else(|e| panic!("{shards} shards: {e}"));
        assert_eq!(sim.threads_per_shard(), pool, "{shards} shards of {threads} threads");
        let got = outcome(&run_all(sim));
        assert!(got.0 == want.0, "{shards} shards of {threads} threads: spike trains differ ({} and {} spikes)", got.0.1.len(), want.0.1.len());
        assert!(got.2 == want.2, "{shards} shards of {threads} threads: the state differs from one world's");
    }
}

/// `RunOptions::threads_as_shards` (the CLI's default): threads run as that many shards of
/// one thread where each gets at least `MIN_SHARD_NEURONS` of the largest population, the
/// cpu engine runs it in one process and it can be sharded; a pool otherwise.
#[test]
fn threads_run_as_shards_where_it_pays() {
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        return; // (no more threads than cores: nothing to decide on one core)
    }
    let net = |n: usize| format!("[simulation]\ndt = \"0.1 ms\"\nt_stop = \"5 ms\"\n\n[[population]]\nname = \"E\"\nsize = {n}\nmodel = \"lif\"\n\n[[projection]]\nname = \"ee\"\nfrom = \"E\"\nto = \"E\"\nrule = \"fixed_indegree\"\nindegree = 2\nreceptor = \"v\"\nweight = \"0.1 mV\"\n");
    let big = 2 * spikeworld::api::run::MIN_SHARD_NEURONS;
    let layout = |text: &str, opts: RunOptions| {
        let sim = builder().build(load(text), &opts).unwrap();
        (sim.shards(), sim.threads_per_shard())
    };
    let auto = RunOptions { threads: 2, threads_as_shards: true, ..Default::default() };
    assert_eq!(layout(&net(big), auto.clone()), (2, 1), "2 threads on {big} neurons: 2 shards");
    assert_eq!(layout(&net(big - 1), auto.clone()), (1, 1), "too few neurons per thread: one world (too small for a pool to split)");
    assert_eq!(layout(&net(big), RunOptions { threads_as_shards: false, ..auto.clone() }), (1, 2), "off: a pool");
    assert_eq!(layout(&net(big), RunOptions { shards: 1, ..auto.clone() }), (1, 2), "one shard asked for: a pool");
    assert_eq!(layout(&net(big), RunOptions { engine: EngineKind::Tensor, ..auto.clone() }), (1, 1), "the tensor engine: one world");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(layout(&net(big * (cores + 1)), RunOptions { threads: cores + 1, ..auto.clone() }).0, 1, "more threads than cores: no shards");
}

/// Which shard a world is (its populations' first index; 0 for shard 0).
fn first_of(pops: &Query<&Population>) -> usize {
    pops.iter().map(|p| p.first).max().unwrap_or(0)
}

/// A peer shard runs on one thread for the whole run, not on a new one per batch of steps
/// (those began on the core of the thread that started them: on 2 cores, 2 shards ran one
/// after the other); and a shard that panics ends the run with its panic, the others
/// no longer waiting for it, and the simulation can still be dropped.
#[test]
fn peer_shards_keep_their_threads_and_a_panic_in_one_ends_the_run() {
    static SEEN: std::sync::Mutex<Vec<(usize, std::thread::ThreadId)>> = std::sync::Mutex::new(Vec::new());
    fn note(pops: Query<&Population>) {
        SEEN.lock().expect("lock").push((first_of(&pops), std::thread::current().id()));
    }
    let mut b = builder();
    b.add_systems(SimSystems::Record, note);
    let mut sim = b.build(load_file("coba.toml", &["simulation.t_stop=100 ms"], None), &RunOptions { shards: 3, ..Default::default() }).expect("build");
    for _ in 0..5 {
        sim.run_steps(64);
    }
    let seen = std::mem::take(&mut *SEEN.lock().expect("lock"));
    assert_eq!(seen.len(), 3 * 5 * 64, "every shard, every step");
    let mut threads: Vec<(usize, std::thread::ThreadId)> = seen.clone();
    threads.sort_by_key(|&(f, _)| f);
    threads.dedup();
    assert_eq!(threads.len(), 3, "one thread per shard over 5 batches: {threads:?}");
    assert!(threads[0].1 == std::thread::current().id(), "shard 0 runs on the caller's thread");
    assert!(threads[1].1 != threads[2].1 && threads[1].1 != threads[0].1, "each peer has a thread of its own");

    fn boom(pops: Query<&Population>, clock: Res<Clock>) {
        if clock.step == 100 && first_of(&pops) > 0 {
            panic!("boom in a peer shard");
        }
    }
    let mut b = builder();
    b.add_systems(SimSystems::Record, boom);
    let mut sim = b.build(load_file("coba.toml", &["simulation.t_stop=100 ms"], None), &RunOptions { shards: 3, ..Default::default() }).expect("build");
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run_steps(500))).err().expect("the panic reaches the caller");
    let msg = e.downcast_ref::<&str>().copied().or(e.downcast_ref::<String>().map(String::as_str)).unwrap_or("");
    assert!(msg.contains("boom in a peer shard"), "the shard's own panic, got {msg:?}");
    drop(sim);
}
