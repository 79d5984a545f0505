//! The tensor engine: each population's update as burn tensor operations on the device.

use bevy_ecs::prelude::*;

use crate::api::model::Col;
use crate::net::{Clock, InputRing, NeuronState, NoiseInputs, Population, Spikes, StateStore, TensorRuntime};

pub(crate) fn integrate_tensor(clock: Res<Clock>, rt: Res<TensorRuntime>, mut pops: Query<(&Population, &mut NeuronState, &mut InputRing, &mut Spikes, Option<&NoiseInputs>)>) {
    for (pop, mut st, mut ring, mut spikes, noise) in &mut pops {
        // Spikes carry population indices: a shard's neurons start at `first`.
        let first = pop.first as u32;
        let st = &mut *st;
        let StateStore::Tensor(vars) = &mut st.store else { continue };
        let n = ring.n;
        if n == 0 {
            // A shard that holds none of the population's neurons.
            spikes.indices.clear();
            continue;
        }
        let slot = ring.slot_mut(clock.step);
        if let Some(x) = noise {
            for (j, &(r, _)) in x.rows.iter().enumerate() {
                x.fill(j, clock.step, first as u64, &mut slot[r * n..(r + 1) * n]);
            }
        }
        let inputs: Vec<Col> = slot.chunks(n).map(|c| Col::from_host(c.to_vec(), &rt.device)).collect();
        slot.fill(0.0);
        let mask = st.model.step_tensor(vars, &inputs);
        let bits = mask.int().into_data().convert::<i64>();
        spikes.indices.clear();
        spikes.indices.extend(bits.iter::<i64>().enumerate().filter(|(_, b)| *b != 0).map(|(i, _)| first + i as u32));
        spikes.total += spikes.indices.len() as u64;
    }
}
