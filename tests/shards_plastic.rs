//! Learning rules, synapse models, the `[reward]` table and event-driven populations in a
//! sharded network give one world's bits: spikes, state, monitors, learned weights and per-synapse state, for any
//! number of shards, with checkpoints that are one world's and resume with another number.
//! What cannot run in shards is refused with the reason (`docs/sharding.md`).

mod common;
use common::shards::*;
use common::*;
use spikeworld::prelude::*;

fn every_weight(sim: &Sim) -> Vec<Vec<u64>> {
    (0..sim.scenario.projections.len()).map(|i| weights(sim, i)).collect()
}

/// Runs `sc` to the end after a checkpoint at `mid` that must be one world's (`want_ckpt`);
/// resumes that checkpoint with `k2` shards; returns both finished runs.
fn through_checkpoint(sc: Scenario, k: usize, mid: u64, want_ckpt: &[u8], k2: usize, name: &str) -> (Sim, Sim) {
    let mut sim = sharded(sc, k);
    sim.run_steps(mid);
    assert!(checkpoint_bytes(&sim) == want_ckpt, "{name}: {k} shards, step {mid}: the checkpoint differs from one world's");
    let path = tempfile_dir("plastic").join(format!("{name}.{k}.ckpt"));
    sim.save(&path).expect("save");
    let mut resumed = Sim::load_with(&path, &builder(), &RunOptions { shards: k2, ..Default::default() }, None, None).unwrap_or_else(|e| panic!("{name}: resume with {k2} shards: {e}"));
    let rest = sim.end_step() - sim.step_count();
    sim.run_steps(rest);
    resumed.run_steps(rest);
    (sim, resumed)
}

/// Pair STDP on the input projection (axonal delays drawn per synapse), on the recurrent
/// one (dendritic delays, a target selection that starts inside shard 0) and on one onto
/// the last 11 neurons only (the other shards hold none of its synapses, so their own
/// longest delay is 0 and the projection's must reach them): one world's spikes, state,
/// weight-monitor samples and learned weights for K = 2 to 4; the checkpoint is one
/// world's mid-run (trace rings sized from the projection's longest delay), and a
/// checkpoint written by 3 shards resumes with 2 to the same bits.
#[test]
fn learning_rules_in_shards_equal_one_world() {
    let one = run_all(sim_from_text(&builder(), PLASTIC, EngineKind::Cpu));
    let want = outcome(&one);
    assert!(want.0.1.len() > 1_000, "{} spikes", want.0.1.len());
    let learned = every_weight(&one);
    let start = every_weight(&sim_from_text(&builder(), PLASTIC, EngineKind::Cpu));
    for i in 0..2 {
        let changed = start[i].iter().zip(&learned[i]).filter(|(a, b)| a != b).count();
        assert!(changed * 4 > start[i].len(), "projection {i}: only {changed} of {} weights learned", start[i].len());
    }
    for k in [2, 3, 4] {
        let sim = run_all(sharded(load(PLASTIC), k));
        assert_eq!(sim.exchange_window(), Some(1), "learning: exchange every step");
        assert!(outcome(&sim) == want, "{k} shards differ from one world");
        assert!(every_weight(&sim) == learned, "{k} shards: the learned weights differ");
    }
    let mut mid = sim_from_text(&builder(), PLASTIC, EngineKind::Cpu);
    mid.run_steps(700);
    let (three, resumed) = through_checkpoint(load(PLASTIC), 3, 700, &checkpoint_bytes(&mid), 2, "stdp");
    for (sim, what) in [(&three, "3 shards through a checkpoint"), (&resumed, "written by 3 shards, resumed by 2")] {
        assert!(outcome(sim) == want, "{what}: differs from one world");
        assert!(every_weight(sim) == learned, "{what}: learned weights");
    }
}

/// Every scenario file whose rules, synapse models and tables run in shards, in 3 shards:
/// one world's bits, the checkpoint one world's mid-run (and at the end: rule, table and
/// event-network state included), resumed by 2 shards to the end.
#[test]
fn plastic_scenario_files_in_shards_equal_one_world() {
    let files: &[(&str, &str, bool)] = &[
        ("spaic_nearest_online_stdp.toml", "100 ms", true),
        ("spaic_full_online_stdp.toml", "100 ms", true),
        // Random draws keyed by one world's synapse index (`SynapseTable::global_index`).
        ("spaic_postpre_int_stdp.toml", "100 ms", true),
        ("reward_pathways.toml", "150 ms", true),
        ("reward_rate_difference.toml", "150 ms", true),
        ("reward_switch.toml", "150 ms", true),
        ("stdp_two_inputs.toml", "100 ms", true),
        ("syn_tsodyks_markram.toml", "100 ms", false),
        ("syn_alpha.toml", "100 ms", false),
        ("syn_exp_decay_current.toml", "100 ms", false),
        ("syn_low_pass.toml", "100 ms", false),
        ("syn_gaussian_linear.toml", "100 ms", false),
        ("spikingflow_chain.toml", "1002 ms", false),
        // Event-driven SRM0 populations beside clock-driven ones (each shard steps its own
        // event neurons; their spikes are exchanged; checkpoints merge the parts).
        ("cosim_mixed.toml", "150 ms", false),
        // Every target's initial mean weight gathered from the shards (`Shards::gather`).
        ("spaic_meta_nearest_online_stdp.toml", "100 ms", true),
        // Shared kernels: each entry's sums exact, over every shard (`EntrySums`).
        ("spaic_conv2d_stdp.toml", "100 ms", true),
        ("stdp_norse_conv2d.toml", "100 ms", true),
        ("reward_conv2d.toml", "150 ms", true),
    ];
    for &(file, stop, learns) in files {
        let set = format!("simulation.t_stop={stop}");
        let sc = || load_file(file, &[&set], None);
        let one = run_all(build(sc(), EngineKind::Cpu, 1));
        let want = outcome(&one);
        assert!(!want.0.1.is_empty(), "{file}: no spike to compare");
        let weights = every_weight(&one);
        if learns {
            let start = every_weight(&build(sc(), EngineKind::Cpu, 1));
            assert!(start != weights, "{file}: nothing learned");
        }
        let mid_step = one.end_step() / 2;
        let mut mid = build(sc(), EngineKind::Cpu, 1);
        mid.run_steps(mid_step);
        let (three, resumed) = through_checkpoint(sc(), 3, mid_step, &checkpoint_bytes(&mid), 2, file);
        for (sim, what) in [(&three, "3 shards"), (&resumed, "written by 3 shards, resumed by 2")] {
            assert!(outcome(sim) == want, "{file}: {what}: differs from one world ({} and {} spikes)", outcome(sim).0.1.len(), want.0.1.len());
            assert!(every_weight(sim) == weights, "{file}: {what}: weights differ");
        }
        assert!(checkpoint_bytes(&three) == checkpoint_bytes(&one), "{file}: 3 shards: the final checkpoint (per-synapse state too) differs");
    }
}

/// Rules whose step needs values that other shards hold (`net::plastic::Shards`): sums
/// over the whole projection, exact and rounded once (`sf_stdp` with `f_w = "normalized"`,
/// every shared-kernel rule) and every target's initial mean weight, gathered (`meta_*`),
/// in 2, 3 and 4 shards: one world's spikes and learned weights.
#[test]
fn rules_that_need_other_shards_values_equal_one_world() {
    let file_text = |f: &str| std::fs::read_to_string(scenario_path(f)).unwrap();
    // The plastic network of `plastic_rules_in_shards_equal_one_world`: `in` (axonal
    // delays) and `few` (onto 11 neurons that most shards do not hold) with `sf_stdp`
    // normalised, `rec` (targets from inside shard 0, dendritic delays) with
    // `meta_nearest_online_stdp`.
    let stdp = "plasticity = { rule = \"stdp\", tau_pre = \"20 ms\", tau_post = \"20 ms\", a_pre = \"0.05 mV\", a_post = \"-0.055 mV\", w_min = \"0 mV\", w_max = \"3 mV\" }";
    let dendritic = "plasticity = { rule = \"stdp\", delay = \"dendritic\", tau_pre = \"15 ms\", tau_post = \"25 ms\", a_pre = \"0.02 mV\", a_post = \"-0.021 mV\", w_min = \"0 mV\", w_max = \"1 mV\" }";
    assert!(PLASTIC.matches(stdp).count() == 2 && PLASTIC.contains(dendritic));
    let reducing = PLASTIC
        .replace(stdp, "plasticity = { rule = \"sf_stdp\", tau_pre = 200, tau_post = 150, learning_rate = 0.5, f_w = \"normalized\" }")
        .replace(dendritic, "plasticity = { rule = \"meta_nearest_online_stdp\", Apost = \"0.02 mV\", Apre = \"0.01 mV\", w_max = \"1 mV\", delay = \"dendritic\" }");
    let cases: Vec<(&str, Box<dyn Fn() -> Scenario>)> = vec![
        ("sf_stdp normalized and meta_nearest_online_stdp", Box::new(|| load(&reducing))),
        ("meta_nearest_online_stdp", Box::new(|| load_file("spaic_meta_nearest_online_stdp.toml", &["simulation.t_stop=60 ms"], None))),
        ("conv2d_stdp", Box::new(|| load_file("spaic_conv2d_stdp.toml", &["simulation.t_stop=60 ms"], None))),
        ("conv2d_rstdp", Box::new(|| load_file("reward_conv2d.toml", &["simulation.t_stop=60 ms"], None))),
        // Shard 0 holds no feature (the kernel's targets): it still holds the kernel and
        // takes part in every sum.
        ("conv2d_stdp, shard 0 without targets", Box::new(|| load(&file_text("spaic_conv2d_stdp.toml").replace("model = \"lif\"\nparams = { tau_m = \"10 ms\"", "shard_bounds = [0]\nmodel = \"lif\"\nparams = { tau_m = \"10 ms\"").replace("t_stop = \"300 ms\"", "t_stop = \"60 ms\"")))),
        // conv2d_stdp without a shared kernel: each synapse's eligibility in the table.
        ("conv2d_stdp per synapse", Box::new(|| load(&PLASTIC.replace(stdp, "plasticity = { rule = \"conv2d_stdp\", lr = 0.05, A_plus = \"0.05 mV\", A_minus = \"-0.06 mV\" }")))),
        // A selection that ends before the last shards' neurons.
        ("meta_nearest_online_stdp onto neurons[:8]", Box::new(|| load(&file_text("spaic_meta_nearest_online_stdp.toml").replacen("to = \"neurons\"\nrule = \"fixed_indegree\"", "to = \"neurons[:8]\"\nrule = \"fixed_indegree\"",  1).replace("synapses = [0, 57, 399]", "synapses = [0, 57, 159]")))),
    ];
    assert!(cases.iter().all(|(what, sc)| !what.contains("shard 0") || sc().text.contains("shard_bounds")), "the bounds were set");
    assert!(cases.iter().all(|(what, sc)| !what.contains("[:8]") || sc().text.contains("neurons[:8]")), "the selection was set");
    for (what, sc) in &cases {
        let shards: &[usize] = if what.contains("shard 0 without") { &[2] } else { &[2, 3, 4] };
        let one = run_all(build(sc(), EngineKind::Cpu, 1));
        let (want, weights) = (outcome(&one), every_weight(&one));
        assert!(every_weight(&build(sc(), EngineKind::Cpu, 1)) != weights, "{what}: nothing learned");
        for &k in shards {
            let sim = run_all(sharded(sc(), k));
            assert!(outcome(&sim) == want, "{what}: {k} shards differ from one world");
            assert!(every_weight(&sim) == weights, "{what}: {k} shards learned other weights");
        }
        // Through a checkpoint mid-run (the rules' state, and the per-synapse eligibility in
        // the table), written by the most shards and resumed by 2.
        let k = *shards.last().unwrap();
        let mid_step = one.end_step() / 2;
        let mut mid = build(sc(), EngineKind::Cpu, 1);
        mid.run_steps(mid_step);
        let (many, resumed) = through_checkpoint(sc(), k, mid_step, &checkpoint_bytes(&mid), 2, &what.replace([' ', '[', ']', ':', ','], "_"));
        for (sim, how) in [(&many, "straight on"), (&resumed, "resumed by 2 shards")] {
            assert!(outcome(sim) == want && every_weight(sim) == weights, "{what}: {k} shards through a checkpoint, {how}: differs from one world");
        }
    }
}

/// What a shard cannot give one world's bits for is refused with the reason, and a
/// network that learns exchanges every step.
#[test]
fn what_rules_cannot_do_in_shards_is_refused() {
    let refused = |sc: Scenario| builder().build(sc, &RunOptions { shards: 2, ..Default::default() }).err().expect("refused").to_string();
    for (file, why) in [("tempotron_patterns.toml", "[tempotron]")] {
        let e = refused(load_file(file, &[], None));
        assert!(e.contains(why) && e.contains("not sharded yet"), "{file}: {e}");
    }
    let e = builder().build(load(PLASTIC), &RunOptions { shards: 2, exchange_every: 2, ..Default::default() }).err().expect("refused").to_string();
    assert!(e.contains("projection `in` has a learning rule") && e.contains("exchange every step"), "{e}");
}

/// A continuous synapse model's direct input (`gaussian_linear`'s noise) arrives after the
/// projection's shortest delay, which a shard must take from all shards (each drew only
/// its own targets' delays); and moving the end of a sharded run (`resume --until`)
/// moves it in every shard (`full_online_stdp` normalises at the last step).
#[test]
fn delay_bounds_and_the_end_step_are_one_worlds_in_every_shard() {
    let text = std::fs::read_to_string(scenario_path("syn_gaussian_linear.toml")).unwrap();
    let text = text.replace("delay = \"1 ms\"", "delay = { dist = \"uniform\", low = \"1 ms\", high = \"20 ms\" }").replace("indegree = 10", "indegree = 2").replace("t_stop = \"200 ms\"", "t_stop = \"100 ms\"");
    assert!(text.contains("high = \"20 ms\""), "the delays are drawn per synapse");
    let sc = || load(&text);
    let one = run_all(build(sc(), EngineKind::Cpu, 1));
    for k in [2, 3, 4] {
        let sim = run_all(sharded(sc(), k));
        assert!(outcome(&sim) == outcome(&one), "gaussian_linear with per-synapse delays: {k} shards differ from one world");
    }
    let sc = || load_file("spaic_full_online_stdp.toml", &["simulation.t_stop=100 ms"], None);
    let mut one = build(sc(), EngineKind::Cpu, 1);
    let end = one.end_step() * 3 / 5;
    one.set_end(end);
    one.run_to_end(1000, |_| {});
    let mut three = sharded(sc(), 3);
    three.set_end(end);
    three.run_to_end(1000, |_| {});
    assert_eq!(three.step_count(), end);
    assert!(every_weight(&three) == every_weight(&one), "an end moved in 3 shards: the weights normalised at the end differ");
}
