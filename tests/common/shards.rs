//! Helpers of the sharded-network tests: runs, what they must agree on, and a plastic
//! network.

use spikeworld::prelude::*;

use super::*;

pub fn sharded(sc: Scenario, shards: usize) -> Sim {
    builder().build(sc, &RunOptions { shards, ..Default::default() }).unwrap_or_else(|e| panic!("{shards} shards: {e}"))
}

/// Spikes (times, indices), spike totals, the bits of every state variable, and what
/// every state monitor recorded (bits).
pub fn outcome(sim: &Sim) -> ((Vec<f64>, Vec<i64>), Vec<u64>, Vec<Vec<u64>>) {
    let mut states = Vec::new();
    for p in &sim.scenario.populations {
        for v in p.model.vars() {
            states.push(sim.state(&p.name, v.name).expect("state").iter().map(|x| x.to_bits()).collect());
        }
    }
    for &e in &sim.monitors {
        if let Some(m) = sim.world.get::<spikeworld::monitor::StateRecorder>(e) {
            states.push(m.t_ms.iter().map(|x| x.to_bits()).collect());
            for d in &m.data {
                states.push(d.iter().map(|x| x.to_bits()).collect());
            }
        }
        if let Some(m) = sim.world.get::<spikeworld::monitor::weights::WeightRecorder>(e) {
            states.push(m.t_ms.iter().map(|x| x.to_bits()).collect());
            states.push(m.stats.iter().flatten().map(|x| x.to_bits()).collect());
            states.push(m.hist.clone());
            states.push(m.values.iter().map(|x| x.to_bits()).collect());
        }
    }
    (spikes(sim), sim.spike_counts(), states)
}

pub const PLASTIC: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "150 ms"
seed = 11

[[population]]
name = "E"
size = 401
model = "lif"
init.v = { dist = "uniform", low = "-70 mV", high = "-52 mV" }

[[encoder]]
name = "input"
kind = "poisson"
size = 200
rate = "30 Hz"

[[projection]]
name = "in"
from = "input"
to = "E"
rule = "fixed_indegree"
indegree = 25
receptor = "v"
weight = { dist = "uniform", low = "0.5 mV", high = "2.5 mV" }
delay = { dist = "uniform", low = "0.5 ms", high = "3 ms" }
plasticity = { rule = "stdp", tau_pre = "20 ms", tau_post = "20 ms", a_pre = "0.05 mV", a_post = "-0.055 mV", w_min = "0 mV", w_max = "3 mV" }

[[projection]]
name = "rec"
from = "E[:320]"
to = "E[40:]"
rule = "pairwise_bernoulli"
p = 0.05
receptor = "v"
weight = { dist = "normal", mean = "0.3 mV", std = "0.1 mV" }
delay = { dist = "uniform", low = "0.1 ms", high = "4 ms" }
plasticity = { rule = "stdp", delay = "dendritic", tau_pre = "15 ms", tau_post = "25 ms", a_pre = "0.02 mV", a_post = "-0.021 mV", w_min = "0 mV", w_max = "1 mV" }

[[projection]]
name = "inh"
from = "E[320:]"
to = "E"
rule = "fixed_outdegree"
outdegree = 40
receptor = "v"
weight = "-1.5 mV"
delay = "1 ms"

[[projection]]
name = "few"
from = "input"
to = "E[390:]"
rule = "fixed_indegree"
indegree = 2
receptor = "v"
weight = "1 mV"
delay = { dist = "uniform", low = "0.1 ms", high = "6 ms" }
plasticity = { rule = "stdp", tau_pre = "20 ms", tau_post = "20 ms", a_pre = "0.05 mV", a_post = "-0.055 mV", w_min = "0 mV", w_max = "3 mV" }

[[monitor]]
name = "spikes"
kind = "spikes"
target = "E"

[[monitor]]
name = "v"
kind = "state"
target = "E"
variables = ["v"]
indices = [0, 150, 399]

[[monitor]]
name = "w_in"
kind = "weights"
projection = "in"
every = "10 ms"
synapses = [0, 7, 3000, 9999]
bins = 12
range = ["0 mV", "3 mV"]

[[monitor]]
name = "w_rec"
kind = "weights"
projection = "rec"
every = "25 ms"
synapses = [1, 2000]
"#;

/// Every weight of projection `i` (bits), in one world's order: row by row, each shard's
/// stretch of the row in shard order; a shared kernel once (every shard's copy checked).
pub fn weights(sim: &Sim, i: usize) -> Vec<u64> {
    let tables = sim.tables(i);
    if tables[0].kernel_index.is_some() {
        // A shared kernel: every shard holds (and must have learned) the same.
        let kernel: Vec<u64> = tables[0].weight.iter().map(|w| w.to_bits()).collect();
        for (k, t) in tables.iter().enumerate() {
            assert!(t.weight.iter().map(|w| w.to_bits()).eq(kernel.iter().copied()), "shard {k}'s copy of the kernel of `{}` differs from shard 0's", t.name);
        }
        return kernel;
    }
    let rows = tables[0].csr.row_ptr.len() - 1;
    let mut out = Vec::new();
    for r in 0..rows {
        for t in &tables {
            out.extend(t.csr.row(r).map(|k| t.weight_of(k).to_bits()));
        }
    }
    out
}

pub fn checkpoint_bytes(sim: &Sim) -> Vec<u8> {
    let mut bytes = Vec::new();
    sim.write_checkpoint(&mut bytes).expect("checkpoint");
    bytes
}

pub fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("spikeworld-shards-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

