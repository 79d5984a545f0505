//! The systems that advance a step: encoders (`Inputs`), the clock-driven update on the
//! cpu or tensor engine (`Integrate`), spike propagation through the synapse tables in
//! scenario order (`Propagate`), and the clock (`Advance`).

pub(crate) mod cpu;
pub(crate) mod deliver;
pub(crate) mod exchange;
pub mod device;
pub(crate) mod tensor;

use bevy_ecs::prelude::*;

use crate::api::encoder::EncoderOut;
use crate::net::{Clock, EncoderSlot, InputOrder, InputRing, Spikes};

/// Problems found while stepping that are nobody's input error: a plugin that broke its
/// contract. Stepping stops at the first; [`crate::sim::Sim::check`] reports it.
#[derive(Resource, Default, Debug)]
pub struct Faults(pub Vec<String>);

pub(crate) fn run_encoders(
    clock: Res<Clock>,
    mut faults: ResMut<Faults>,
    order: Res<InputOrder>,
    mut encs: Query<(&mut EncoderSlot, Option<&mut Spikes>)>,
    mut rings: Query<&mut InputRing>,
    pops: Query<&crate::net::Population>,
) {
    for &e in &order.0 {
        let Ok((mut slot, spikes)) = encs.get_mut(e) else { continue };
        let slot = &mut *slot;
        match (spikes, slot.current_target) {
            (Some(_), _) if slot.on_device => {}
            (Some(mut sp), _) => {
                sp.indices.clear();
                slot.encoder.step(clock.step, EncoderOut::Spikes(&mut sp.indices));
                // NOTE: delivery finds a projection's rows by binary search over ascending
                // indices; an encoder that breaks this would reach the wrong synapses.
                let sorted = sp.indices.windows(2).all(|w| w[0] < w[1]);
                let in_range = sp.indices.last().is_none_or(|&i| (i as usize) < slot.size);
                if !sorted || !in_range {
                    faults.0.push(format!(
                        "encoder `{}` emitted {} at step {}: indices must be strictly ascending and below its size {} (a bug in the plugin)",
                        slot.name,
                        if !sorted { "unsorted or repeated indices" } else { "an index out of range" },
                        clock.step,
                        slot.size
                    ));
                    sp.indices.clear();
                }
                sp.total += sp.indices.len() as u64;
            }
            (None, Some((target, start, receptor))) => {
                // NOTE: the scratch is all zeros here (at build, and cleared as it is added
                // below), so the encoder adds into zeros without a separate pass to clear it.
                if rings.get(target).is_ok_and(|r| r.device.is_some()) {
                    // The device engine adds the scratch into its ring (and clears it).
                    slot.encoder.step(clock.step, EncoderOut::Current(&mut slot.scratch));
                    continue;
                }
                // The neurons this world holds (a shard holds a range; the other shards add
                // the rest of the encoder's values into theirs): only those are drawn.
                let first = pops.get(target).map_or(0, |p| p.first);
                let held = rings.get(target).map_or(0, |r| r.n);
                let lo = start.max(first);
                let hi = (start + slot.scratch.len()).min(first + held);
                let len = slot.scratch.len();
                let a = (lo - start).min(len);
                let b = hi.saturating_sub(start).clamp(a, len);
                slot.encoder.step_range(clock.step, &mut slot.scratch, a..b);
                if let Ok(mut ring) = rings.get_mut(target)
                    && lo < hi
                {
                    let dst = &mut ring.receptor_mut(clock.step, receptor)[lo - first..hi - first];
                    for (d, s) in dst.iter_mut().zip(&slot.scratch[lo - start..hi - start]) {
                        *d += *s;
                    }
                }
                slot.scratch.fill(0.0);
            }
            (None, None) => {}
        }
    }
}

pub(crate) fn advance_clock(mut clock: ResMut<Clock>) {
    clock.step += 1;
}
