//! The device engine's data layout, built on the host from the world: what every
//! backend (the host emulation, CUDA) holds, in the same arrays.
//!
//! - A *source* is anything that spikes into a projection: a population or a spike
//!   encoder. Its spikes of step `s` are bits in words `[slot(s) * words .. + words]` of
//!   its spike-word ring of `period` slots (bit `i % 32` of word `i / 32` is neuron `i`).
//! - A population holds its state variables (`vars * n` values, variable-major) and its
//!   delay ring (the layout of [`crate::net::InputRing`]: slot, receptor, neuron).
//! - A projection is stored *by target* (pull): for target `j`, its synapses
//!   `ptr[j]..ptr[j + 1]` in source order (and synapse order within a source), each
//!   with its source index, weight and delay. A delivery that runs the projections in
//!   scenario order and each target's synapses in this order adds into every ring slot
//!   in the cpu engine's order, so the sums are bit-identical.

use crate::api::program::Program;

/// One population.
#[derive(Clone, Debug)]
pub(crate) struct PopLayout {
    /// Neurons.
    pub n: usize,
    /// The traced step.
    pub program: Program,
    /// Slots of the delay ring.
    pub depth: usize,
    /// Receptors.
    pub receptors: usize,
    /// Receptors something projects into (the others read 0).
    pub active: Vec<bool>,
    /// Its source id.
    pub source: usize,
}

/// A spike encoder that runs on the device: its source and its process (the state it
/// starts from).
#[derive(Clone, Debug)]
pub(crate) struct GapLayout {
    /// Its source id.
    pub source: usize,
    /// The process, at the step the device starts from.
    pub process: crate::api::encoder::GapProcess,
}

/// One spike source.
#[derive(Clone, Debug)]
pub(crate) struct SourceLayout {
    /// Neurons.
    pub n: usize,
}

impl SourceLayout {
    /// 32-bit words per step.
    pub fn words(&self) -> usize {
        self.n.div_ceil(32)
    }
}

/// One projection, by target.
#[derive(Clone, Debug)]
pub(crate) struct ProjLayout {
    /// Source id.
    pub source: usize,
    /// Target population.
    pub target: usize,
    /// Receptor in the target.
    pub receptor: usize,
    /// Per target: first synapse (`n_target + 1` entries).
    pub ptr: Vec<u32>,
    /// Per synapse: source neuron (population-wide index).
    pub src: Vec<u32>,
    /// Per synapse: weight.
    pub weight: Vec<f64>,
    /// Delay in steps: one for all, or one per synapse.
    pub delay: DelayLayout,
    /// Push delivery's by-source arrays, when this projection pushes.
    pub push: Option<PushLayout>,
}

/// A projection's synapses by source (the table's CSR order, whose index orders each
/// target's sums): what push delivery reads.
#[derive(Clone, Debug)]
pub(crate) struct PushLayout {
    /// First selected source index (rows are relative to it).
    pub src_start: u32,
    /// Rows: `rows + 1` synapse starts.
    pub ptr: Vec<u32>,
    /// Per synapse: target.
    pub col: Vec<u32>,
    /// Per synapse: weight.
    pub weight: Vec<f64>,
    /// Per synapse: delay, when delays differ.
    pub delay: Option<Vec<u32>>,
}

/// A projection's delays.
#[derive(Clone, Debug)]
pub(crate) enum DelayLayout {
    /// One for every synapse.
    Const(u32),
    /// One per synapse (by-target order).
    Each(Vec<u32>),
}

/// The whole network.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layout {
    /// Populations (scenario order).
    pub pops: Vec<PopLayout>,
    /// Sources: the populations first (same order), then the spike encoders.
    pub sources: Vec<SourceLayout>,
    /// Projections in delivery (scenario) order.
    pub projs: Vec<ProjLayout>,
    /// Spike encoders run on the device.
    pub gaps: Vec<GapLayout>,
    /// Slots of every source's spike-word ring: the steps held on the device between two
    /// copies to the host.
    pub period: usize,
    /// Bucket slots per target of push delivery.
    pub capacity: usize,
}

impl Layout {
    /// Device bytes: (per neuron, per synapse, total).
    pub fn bytes(&self) -> (u64, u64, u64) {
        let mut neuron = 0u64;
        let mut synapse = 0u64;
        for p in &self.pops {
            // state, ring, and the step of each neuron's last spike
            neuron += (p.n * (p.program.vars as usize + p.depth * p.receptors + 1) * 8) as u64;
        }
        for s in &self.sources {
            neuron += (s.words() * self.period * 4) as u64;
        }
        for s in &self.sources {
            neuron += (s.n * 4) as u64; // this step's spikes, as indices
        }
        for g in &self.gaps {
            neuron += (g.process.ln_q.len() * 24) as u64; // ln(1 - p), stream position, next spike
        }
        let mut push_targets = vec![false; self.pops.len()];
        for q in &self.projs {
            let each = matches!(q.delay, DelayLayout::Each(_));
            synapse += (q.src.len() * (4 + 8 + if each { 4 } else { 0 })) as u64;
            neuron += (q.ptr.len() * 4) as u64;
            if let Some(p) = &q.push {
                synapse += (p.col.len() * (4 + 8 + if each { 4 } else { 0 })) as u64;
                neuron += (p.ptr.len() * 4) as u64;
                push_targets[q.target] = true;
            }
        }
        for (p, _) in self.pops.iter().enumerate().filter(|(p, _)| push_targets[*p]) {
            // count, touched list and buckets
            neuron += (self.pops[p].n * (8 + 4 * self.capacity)) as u64;
        }
        (neuron, synapse, neuron + synapse)
    }
}

/// A projection's by-target order from its by-source rows (`row_ptr`, `col`): the
/// synapse numbers (CSR indices) for each target, sources ascending, and the row starts.
/// A stable counting sort: rows are visited in order, so ties keep synapse order.
pub(crate) fn by_target(row_ptr: &[u64], col: &[u32], n_target: usize) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut ptr = vec![0u32; n_target + 1];
    for &c in col {
        ptr[c as usize + 1] += 1;
    }
    for j in 0..n_target {
        ptr[j + 1] += ptr[j];
    }
    let mut fill = ptr.clone();
    let mut syn = vec![0u32; col.len()];
    let mut row_of = vec![0u32; col.len()];
    for r in 0..row_ptr.len().saturating_sub(1) {
        for k in row_ptr[r] as usize..row_ptr[r + 1] as usize {
            let j = col[k] as usize;
            let at = fill[j] as usize;
            syn[at] = k as u32;
            row_of[at] = r as u32;
            fill[j] += 1;
        }
    }
    (ptr, syn, row_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_target_keeps_source_then_synapse_order() {
        // rows: 0 -> [2, 0, 2], 1 -> [0], 2 -> [], 3 -> [2]
        let row_ptr = [0u64, 3, 4, 4, 5];
        let col = [2u32, 0, 2, 0, 2];
        let (ptr, syn, row) = by_target(&row_ptr, &col, 3);
        assert_eq!(ptr, vec![0, 2, 2, 5]);
        assert_eq!(syn, vec![1, 3, 0, 2, 4]);
        assert_eq!(row, vec![0, 1, 0, 0, 3]);
    }
}
