//! The synapse table's derived index by target, and the spike history a rule reads to
//! know when a delayed spike reaches its synapses.

mod common;
use common::*;

use spikeworld::prelude::*;

#[test]
fn the_target_index_lists_every_synapse_once_under_its_target_in_delivery_order() {
    let sim = build(load_file("delayed_recurrent.toml", &[], None), EngineKind::Cpu, 1);
    let mut checked = 0;
    for &e in &sim.projections {
        let t = sim.world.get::<SynapseTable>(e).unwrap();
        let idx = t.by_target();
        assert_eq!(idx.ptr.len(), t.target_size + 1);
        assert_eq!(idx.syn.len(), t.len());
        let mut seen = vec![false; t.len()];
        for tgt in 0..t.target_size {
            let syns = idx.of(tgt);
            assert!(syns.windows(2).all(|w| w[0] < w[1]), "ascending synapse order for target {tgt}");
            for &s in syns {
                assert_eq!(t.csr.col[s as usize] as usize, tgt, "synapse {s} is listed under the wrong target");
                assert!(!seen[s as usize], "synapse {s} listed twice");
                seen[s as usize] = true;
                // And its source row contains it.
                let src = t.source_of(s as usize);
                assert!(t.csr.row((src - t.src_start) as usize).contains(&(s as usize)));
            }
        }
        assert!(seen.iter().all(|&x| x), "every synapse is indexed");
        checked += t.len();
    }
    assert!(checked > 10_000, "a real network was checked ({checked} synapses)");
}

#[test]
fn the_spike_history_tells_when_each_delayed_spike_arrives() {
    // delayed_recurrent has per-synapse delays of 1-25 ms: at step t, the spikes that act
    // in this update through a synapse of delay d were emitted at t - 1 - d.
    let mut sim = build(load_file("delayed_recurrent.toml", &["simulation.t_stop=150ms"], None), EngineKind::Cpu, 1);
    let pop = sim.populations[0];
    let mut emitted: Vec<Vec<u32>> = Vec::new();
    let mut max_d = 0;
    for &e in &sim.projections {
        let t = sim.world.get::<SynapseTable>(e).unwrap();
        // Outgoing delays, and incoming ones (a plasticity rule with dendritic delays reads
        // the target's spikes that far back).
        if t.source == pop || t.target == pop {
            max_d = max_d.max(t.delay.max() as usize);
        }
    }
    let depth = sim.world.get::<SpikeHistory>(pop).unwrap().depth();
    assert_eq!(depth, max_d + 2, "the history spans the longest outgoing or incoming delay + 2 steps");
    let mut arrivals_checked = 0;
    while sim.step_count() < sim.end_step() {
        sim.step();
        let step = sim.step_count() - 1;
        let spikes = sim.world.get::<Spikes>(pop).unwrap().indices.clone();
        emitted.push(spikes.clone());
        let h = sim.world.get::<SpikeHistory>(pop).unwrap();
        assert_eq!(h.at(step).unwrap(), &spikes[..]);
        for &i in &spikes {
            assert_eq!(h.last_spike[i as usize], step);
        }
        // Every delay the history can answer for gives the spikes of that earlier step.
        for d in 0..=max_d as u64 {
            if let Some(back) = step.checked_sub(1 + d) {
                assert_eq!(h.at(back).unwrap(), &emitted[back as usize][..], "delay {d} at step {step}");
                arrivals_checked += emitted[back as usize].len();
            }
        }
        // Older than the history: gone, not wrong.
        if step >= depth as u64 {
            assert!(h.at(step - depth as u64).is_none());
        }
    }
    assert!(arrivals_checked > 1000, "{arrivals_checked} arrivals checked");
}

/// A constant weight on a projection without add-ons is held once (`SynapseTable::uniform`,
/// 4 bytes per synapse): the same spikes, state and weight monitor, bit for bit, as that
/// weight held per synapse, on one thread, on a pool whose threads split delivery by
/// target, in shards, and after a checkpoint taken in shards and resumed in others.
#[test]
fn a_constant_weight_held_once_gives_the_bits_of_the_weight_held_per_synapse() {
    // COBA at 10,000 neurons (two delivery parts of at least 4096 targets on a pool of 2),
    // with a weights monitor on the excitatory projection.
    let coba = std::fs::read_to_string(scenario_path("coba.toml")).unwrap();
    let mut text = coba.replace("size = 4000", "size = 10000").replace("P[:3200]", "P[:8000]").replace("P[3200:]", "P[8000:]").replace("p = 0.02", "p = 0.008").replace("t_stop = \"1 s\"", "t_stop = \"60 ms\"");
    text.push_str("\n[[monitor]]\nname = \"w\"\nkind = \"weights\"\nprojection = \"exc\"\nevery = \"10 ms\"\nsynapses = [0, 1000, 5000]\nbins = 4\n");
    // Drawn per synapse from distributions of one value: the same weights, each held.
    let per_synapse = text.replace("weight = \"6 nS\"", "weight = { dist = \"uniform\", low = \"6 nS\", high = \"6 nS\" }").replace("weight = \"67 nS\"", "weight = { dist = \"normal\", mean = \"67 nS\", std = \"0 nS\" }");
    assert!(text != coba && per_synapse != text && per_synapse.matches("dist").count() == 5, "the edits took");
    let state = |sim: &Sim| -> Vec<u64> {
        let pop = sim.world.get::<spikeworld::net::NeuronState>(sim.populations[0]).unwrap();
        (0..pop.vars.len()).flat_map(|k| pop.var_to_host(k)).map(f64::to_bits).collect()
    };
    let monitored = |sim: &Sim| -> Vec<u64> {
        let m = sim.monitors.iter().find_map(|&e| sim.world.get::<spikeworld::monitor::weights::WeightRecorder>(e)).expect("the weights monitor");
        m.t_ms.iter().chain(m.stats.iter().flatten()).chain(&m.values).map(|x| x.to_bits()).chain(m.hist.iter().copied()).collect()
    };
    let per = run_all(build(load(&per_synapse), EngineKind::Cpu, 1));
    for &e in &per.projections {
        let t = per.world.get::<SynapseTable>(e).unwrap();
        assert!(!t.uniform && t.weight.len() == t.len() && t.bytes_per_synapse() == 12);
    }
    let (reference, reference_state, reference_w) = (spikes(&per), state(&per), monitored(&per));
    assert!(reference.0.len() > 5_000, "an active network ({} spikes)", reference.0.len());
    assert!(reference_w.len() > 6 * 4, "the monitor sampled ({} values)", reference_w.len());
    let runs: [(&str, Sim); 3] = [("1 thread", build(load(&text), EngineKind::Cpu, 1)), ("a pool of 2", build(load(&text), EngineKind::Cpu, 2)), ("2 shards", shards::sharded(load(&text), 2))];
    for (what, sim) in runs {
        for &e in &sim.projections {
            let t = sim.world.get::<SynapseTable>(e).unwrap();
            assert!(t.uniform && t.weight.len() == 1 && t.bytes_per_synapse() == 4, "{what}: `{}` holds its weight once", t.name);
        }
        let sim = run_all(sim);
        assert!(spikes(&sim) == reference, "{what}: the spikes differ from the weights held per synapse");
        assert!(monitored(&sim) == reference_w, "{what}: the weights monitor differs");
        if what != "2 shards" {
            assert!(state(&sim) == reference_state, "{what}: the state differs");
        }
    }
    // Saved in 3 shards partway, resumed in 2: the same spikes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.swck");
    let mut a = shards::sharded(load(&text), 3);
    a.run_steps(300);
    a.save(&path).unwrap();
    let mut b = Sim::load_with(&path, &builder(), &RunOptions { shards: 2, ..Default::default() }, None, None).unwrap();
    b.run_to_end(u64::MAX, |_| {});
    assert!(spikes(&b) == reference, "resumed in other shards: the spikes differ");
}
