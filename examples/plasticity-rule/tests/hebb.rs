//! The example rule, used by a scenario file through the public API only, against its
//! formula recomputed here per synapse at every step.

use std::path::Path;

use spikeworld::prelude::*;
use spikeworld_example_plasticity::CoincidenceHebbPlugin;

#[test]
fn coincidence_hebb_follows_its_formula() {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(CoincidenceHebbPlugin);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hebb.toml");
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let steps = sc.steps as usize;
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    let proj = sim.projections[1];
    let tb = sim.world.get::<SynapseTable>(proj).unwrap();
    let syn: Vec<(usize, usize, usize)> = (0..tb.len()).map(|k| ((tb.source_of(k) - tb.src_start) as usize, tb.csr.col[k] as usize, tb.delay.of(k) as usize)).collect();
    let mut w = tb.weight.clone();
    let (pre_e, post_e) = (sim.encoders[0], sim.populations[0]);
    let (mut pre, mut post) = (Vec::new(), Vec::new());
    let decay = (-1.0f64 / 50.0).exp();
    let mut coincidences = 0;
    for t in 0..steps {
        sim.step();
        pre.push(sim.world.get::<Spikes>(pre_e).unwrap().indices.clone());
        post.push(sim.world.get::<Spikes>(post_e).unwrap().indices.clone());
        for (k, &(i, j, d)) in syn.iter().enumerate() {
            w[k] = 0.1 + (w[k] - 0.1) * decay;
            if t >= d && pre[t - d].contains(&(i as u32)) && post[t].contains(&(j as u32)) {
                w[k] = (w[k] + 0.02f64).min(0.5);
                coincidences += 1;
            }
        }
        assert_eq!(sim.world.get::<SynapseTable>(proj).unwrap().weight, w, "step {t}");
    }
    assert!(coincidences > 100, "the trial needs coincidences ({coincidences})");
}
