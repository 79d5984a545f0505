//! Delivery order is the scenario's, not the ECS's storage order. Three projections sum
//! into the same receptor; a plugin that puts a component on one of them moves it to
//! another archetype (and so changes the order in which an ECS query would visit them),
//! and the bits do not change. Swapping two projections in the file does change them,
//! which shows that the order matters in this network (float sums are not associative).

mod common;
use common::*;

use bevy_ecs::prelude::*;
use spikeworld::prelude::*;

const SCENARIO: &str = r#"
[simulation]
dt = "0.1 ms"
t_stop = "200 ms"
seed = 7

[[population]]
name = "P"
size = 200
model = "lif"
params = { tau_m = "20 ms", v_th = "-50 mV" }

[[encoder]]
name = "A"
kind = "poisson"
size = 400
rate = "40 Hz"

[[encoder]]
name = "B"
kind = "poisson"
size = 400
rate = "40 Hz"

[[projection]]
name = "first"
from = "A"
to = "P"
rule = "fixed_indegree"
indegree = 40
receptor = "v"
weight = { dist = "uniform", low = "0.1 mV", high = "0.7 mV" }

[[projection]]
name = "second"
from = "B"
to = "P"
rule = "fixed_indegree"
indegree = 40
receptor = "v"
weight = { dist = "normal", mean = "0.3 mV", std = "0.2 mV" }

[[projection]]
name = "third"
from = "A"
to = "P"
rule = "fixed_indegree"
indegree = 10
receptor = "v"
weight = { dist = "uniform", low = "-0.3 mV", high = "0.1 mV" }

[[monitor]]
name = "spikes"
kind = "spikes"
target = "P"
"#;

#[derive(Component)]
struct Marked;

fn final_state(b: &SimBuilder, text: &str) -> (Vec<u8>, Vec<f64>) {
    let mut sim = sim_from_text(b, text, EngineKind::Cpu);
    sim.run_to_end(u64::MAX, |_| {});
    let mut bytes = Vec::new();
    sim.write_checkpoint(&mut bytes).unwrap();
    // The header holds the scenario text: compare the state only (v of every neuron).
    (bytes, sim.state("P", "v").unwrap())
}

#[test]
fn a_plugin_component_on_some_projections_does_not_change_the_bits() {
    let plain = builder();
    let mut marking = builder();
    marking.add_world_hook(|w: &mut World| {
        let mut q = w.query::<(Entity, &SynapseTable)>();
        let first: Vec<Entity> = q.iter(w).filter(|(_, t)| t.name == "first").map(|(e, _)| e).collect();
        assert_eq!(first.len(), 1);
        w.entity_mut(first[0]).insert(Marked);
        Ok(())
    });
    // A query now visits the projections in another order than the file's.
    {
        let mut sim = sim_from_text(&marking, SCENARIO, EngineKind::Cpu);
        let mut q = sim.world.query::<&SynapseTable>();
        let visited: Vec<String> = q.iter(&sim.world).map(|t| t.name.clone()).collect();
        assert_ne!(visited, ["first", "second", "third"], "the marker should move `first` to another archetype");
    }
    let (a_bytes, a_v) = final_state(&plain, SCENARIO);
    let (b_bytes, b_v) = final_state(&marking, SCENARIO);
    assert_eq!(a_v, b_v);
    assert_eq!(a_bytes, b_bytes, "the final checkpoints differ");
    // The file's order does matter: swapping `first` and `second` changes the sums.
    let swapped = SCENARIO.replacen("name = \"first\"\nfrom = \"A\"", "name = \"TMP\"\nfrom = \"A\"", 1);
    let i = swapped.find("[[projection]]\nname = \"second\"").unwrap();
    let j = swapped.find("[[projection]]\nname = \"third\"").unwrap();
    let k = swapped.find("[[projection]]\nname = \"TMP\"").unwrap();
    let swapped = format!("{}{}{}{}", &swapped[..k], &swapped[i..j], &swapped[k..i], &swapped[j..]).replace("\"TMP\"", "\"first\"");
    assert_ne!(swapped, SCENARIO);
    let (_, s_v) = final_state(&plain, &swapped);
    assert_ne!(a_v, s_v, "swapping two projections in the file should change the float sums");
}
