//! Spike propagation: this step's spikes enter each source's history and, projection by
//! projection in scenario order ([`DeliveryOrder`]), source ascending, synapse by synapse,
//! the delay rings of their targets. Both engines share it (delivery sums on the host in
//! this one order, which is what keeps them bit-identical).

use bevy_ecs::prelude::*;

use crate::api::synapse::{PreSpike, SynapseStep};
use crate::net::synapse::{Delays, SynapseTable};
use crate::net::{Clock, DeliveryOrder, InputRing, SpikeHistory, Spikes};

// NOTE: one system, not two: at 10^4 steps per biological second, each system's fixed
// cost per run shows on small networks.
pub(crate) fn propagate_spikes(
    clock: Res<Clock>,
    order: Res<DeliveryOrder>,
    mut tables: Query<&mut SynapseTable>,
    sources: Query<&Spikes>,
    mut history: Query<(&Spikes, &mut SpikeHistory)>,
    mut rings: Query<&mut InputRing>,
) {
    for (s, mut h) in &mut history {
        h.record(clock.step, &s.indices);
    }
    for &e in &order.0 {
        let Ok(mut table) = tables.get_mut(e) else { continue };
        let Ok(spk) = sources.get(table.source) else { continue };
        if table.dynamics.as_ref().is_some_and(|d| d.continuous()) {
            let Ok(mut ring) = rings.get_mut(table.target) else { continue };
            step_continuous(clock.step, &mut table, &spk.indices, &mut ring);
            continue;
        }
        if spk.indices.is_empty() {
            continue;
        }
        let Ok(mut ring) = rings.get_mut(table.target) else { continue };
        let ring = &mut *ring;
        let (depth, stride, n) = (ring.depth as u64, ring.receptors * ring.n, ring.n);
        let SynapseTable { src_start, src_end, receptor, csr, weight, delay, vars, dynamics, dynamics_vars, effect, kernel_index, .. } = &mut *table;
        let base_r = *receptor * n;
        let lo = spk.indices.partition_point(|&i| i < *src_start);
        let hi = spk.indices.partition_point(|&i| i < *src_end);
        let slot_of = |d: u32| ((clock.step + 1 + d as u64) % depth) as usize * stride + base_r;
        for &i in &spk.indices[lo..hi] {
            let syn = csr.row((i - *src_start) as usize);
            let cols = &csr.col[syn.clone()];
            // What each synapse adds: its weight, or what the synapse model says.
            let add: &[f64] = match (dynamics.as_ref(), kernel_index.as_ref()) {
                (None, None) => &weight[syn.clone()],
                (None, Some(ix)) => {
                    let out = &mut effect[..syn.len()];
                    for (o, &k) in out.iter_mut().zip(&ix[syn.clone()]) {
                        *o = weight[k as usize];
                    }
                    out
                }
                (Some(dy), _) => {
                    let out = &mut effect[..syn.len()];
                    dy.on_pre(PreSpike { step: clock.step, synapses: syn.clone(), targets: &csr.col, weight, vars: &mut vars[dynamics_vars.clone()] }, out);
                    out
                }
            };
            scatter(&mut ring.data, n, &slot_of, delay, syn, cols, add);
        }
    }
}

/// Adds `add[k]` to the ring slot of synapse `syn.start + k`'s delay at its target `cols[k]`.
#[inline(always)]
fn scatter(data: &mut [f64], n: usize, slot_of: &impl Fn(u32) -> usize, delay: &Delays, syn: std::ops::Range<usize>, cols: &[u32], add: &[f64]) {
    match delay {
        Delays::Const(d) => {
            let off = slot_of(*d);
            let dst = &mut data[off..off + n];
            for (&t, &w) in cols.iter().zip(add) {
                dst[t as usize] += w;
            }
        }
        Delays::Each(ds) => {
            for ((&t, &w), &d) in cols.iter().zip(add).zip(&ds[syn]) {
                data[slot_of(d) + t as usize] += w;
            }
        }
    }
}

/// A continuous synapse model's step: every synapse says what it adds (after its delay),
/// every target what it receives besides (after the smallest delay).
fn step_continuous(step: u64, table: &mut SynapseTable, spikes: &[u32], ring: &mut InputRing) {
    let SynapseTable { src_start, src_end, receptor, csr, weight, delay, vars, dynamics, dynamics_vars, effect, direct, pre, .. } = table;
    let Some(dy) = dynamics else { return };
    let (depth, stride, n) = (ring.depth as u64, ring.receptors * ring.n, ring.n);
    let base_r = *receptor * n;
    let slot_of = |d: u32| ((step + 1 + d as u64) % depth) as usize * stride + base_r;
    let lo = spikes.partition_point(|&i| i < *src_start);
    let hi = spikes.partition_point(|&i| i < *src_end);
    pre.clear();
    pre.extend(spikes[lo..hi].iter().map(|&i| i - *src_start));
    effect.fill(0.0);
    direct.fill(0.0);
    dy.on_step(SynapseStep { step, pre, row_ptr: &csr.row_ptr, targets: &csr.col, weight, vars: &mut vars[dynamics_vars.clone()] }, effect, direct);
    scatter(&mut ring.data, n, &slot_of, delay, 0..csr.len(), &csr.col, effect);
    let first = match delay {
        Delays::Const(d) => *d,
        Delays::Each(ds) => ds.iter().copied().min().unwrap_or(0),
    };
    let off = slot_of(first);
    for (x, &w) in ring.data[off..off + n].iter_mut().zip(direct.iter()) {
        *x += w;
    }
}
