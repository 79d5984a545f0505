//! Early delivery in a sharded run (`docs/sharding.md`): while a shard waits for the
//! others' spikes of a one-step window, it delivers the rows of its own spikes that come
//! first in every sum they add to. Which tables those are, and that the bits stay one
//! world's where projections from several populations, shards and an encoder add to one
//! receptor. And a shard whose ring grows at linking keeps its values when its variables
//! move away from the grown ring's rows.

mod common;
use common::shards::*;
use common::*;
use spikeworld::prelude::*;

/// Two populations that fire by themselves (rest above threshold, as CUBA), no delays
/// (a window of one step). In delivery order, per (target, receptor):
/// - (A, exc): the encoder first, so nothing of `aa` is early;
/// - (A, inh): `ai` from A[500:], which only the last shards hold;
/// - (B, exc): `ab` from all of A, then `bb`, which waits for every shard's `ab`;
/// - (B, inh): `bi` from B[250:].
const SHARED: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "300 ms"
seed = 9

[[population]]
name = "A"
size = 700
model = "lif_curr_exp"
params = { c_m = "200 pF", tau_m = "20 ms", e_l = "-49 mV", v_th = "-50 mV", v_reset = "-60 mV", t_ref = "5 ms", tau_syn_ex = "5 ms", tau_syn_in = "10 ms" }
init.v = { dist = "uniform", low = "-60 mV", high = "-50 mV" }

[[population]]
name = "B"
size = 500
model = "lif_curr_exp"
params = { c_m = "200 pF", tau_m = "20 ms", e_l = "-49 mV", v_th = "-50 mV", v_reset = "-60 mV", t_ref = "5 ms", tau_syn_ex = "5 ms", tau_syn_in = "10 ms" }
init.v = { dist = "uniform", low = "-60 mV", high = "-50 mV" }

[[encoder]]
name = "drive"
kind = "poisson"
size = 50
rate = "20 Hz"

[[projection]]
name = "in"
from = "drive"
to = "A"
rule = "fixed_indegree"
indegree = 5
receptor = "exc"
weight = "10 pA"

[[projection]]
name = "aa"
from = "A[:500]"
to = "A"
rule = "pairwise_bernoulli"
p = 0.05
receptor = "exc"
weight = "13.7 pA"

[[projection]]
name = "ai"
from = "A[500:]"
to = "A"
rule = "pairwise_bernoulli"
p = 0.05
receptor = "inh"
weight = "-60.3 pA"

[[projection]]
name = "ab"
from = "A"
to = "B"
rule = "pairwise_bernoulli"
p = 0.9
receptor = "exc"
weight = "1.37 pA"

[[projection]]
name = "bb"
from = "B"
to = "B"
rule = "pairwise_bernoulli"
p = 0.9
receptor = "exc"
weight = "0.0937 pA"

[[projection]]
name = "bi"
from = "B[250:]"
to = "B"
rule = "pairwise_bernoulli"
p = 0.05
receptor = "inh"
weight = "-41.9 pA"

[[monitor]]
name = "spikes"
kind = "spikes"
target = "A"

[[monitor]]
name = "b_spikes"
kind = "spikes"
target = "B"

# Every step's input currents (a sum's order shows in its last bits, which the decay
# of the current may round away before the end).
[[monitor]]
name = "b_currents"
kind = "state"
target = "B"
variables = ["i_ex", "i_in"]
"#;

#[test]
fn the_early_tables_are_the_ones_whose_rows_come_first() {
    let names = |k: usize| sharded(load(SHARED), k).early_projections();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // 2 shards: A 0..350 | 350..700, B 0..250 | 250..500.
    assert_eq!(names(2), vec![v(&["ab"]), v(&["ai", "bi"])]);
    // 3 shards: A 0..233 | 233..466 | 466..700 (A[500:] in the last only), B 0..166 |
    // 166..333 | 333..500 (B[250:] from the middle one, which comes first there).
    assert_eq!(names(3), vec![v(&["ab"]), v(&["bi"]), v(&["ai"])]);
    // One world: no exchange.
    assert_eq!(build(load(SHARED), EngineKind::Cpu, 1).early_projections(), vec![v(&[])]);
}

#[test]
fn shared_receptors_in_shards_equal_one_world() {
    let one = run_all(build(load(SHARED), EngineKind::Cpu, 1));
    let want = outcome(&one);
    assert!(want.0.1.len() > 1_500, "{} spikes", want.0.1.len());
    for k in [2, 3, 4] {
        let sim = run_all(sharded(load(SHARED), k));
        assert!(sim.early_projections().iter().any(|s| !s.is_empty()), "{k} shards deliver something early");
        let got = outcome(&sim);
        assert!(got == want, "{k} shards differ from one world");
    }
}

/// A long delay into the first neurons of A only: the shards without them deepen their
/// ring of A to one world's when they are linked (`sim::link::common_depths`), and move
/// A's variables away from the grown ring's rows, values and all.
#[test]
fn rings_deepened_when_linked_keep_one_worlds_bits() {
    let text = format!("{SHARED}\n[[projection]]\nname = \"late\"\nfrom = \"B\"\nto = \"A[:10]\"\nrule = \"all_to_all\"\nreceptor = \"exc\"\nweight = \"0.5 pA\"\ndelay = {{ dist = \"uniform\", low = \"0.1 ms\", high = \"10 ms\" }}\n");
    let one = run_all(build(load(&text), EngineKind::Cpu, 1));
    let want = outcome(&one);
    for k in [2, 3] {
        let got = outcome(&run_all(sharded(load(&text), k)));
        assert!(got == want, "{k} shards differ from one world");
    }
}
