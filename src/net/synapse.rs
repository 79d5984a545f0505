//! A projection's synapse table: CSR by source (delivery touches only spiking rows),
//! weights, delays, per-synapse state arrays that plugins declare, and an index by target
//! derived on first use.

use std::sync::{Arc, OnceLock};

use bevy_ecs::prelude::*;

use crate::api::connect::Pairs;
use crate::api::state::{Checkpoint, Piece, StateError, StateReader, StateWriter};
use crate::api::synapse::{SynapseDynamics, SynapseVarSpec};

/// Synapses by source row: row `s` holds `row_ptr[s]..row_ptr[s+1]`.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    /// Row starts, `n_src + 1` entries.
    pub row_ptr: Vec<u64>,
    /// Target index within the target population.
    pub col: Vec<u32>,
}

impl Csr {
    /// Sorts pairs into rows by a stable counting sort, each row by target (pairs of one
    /// source and target, multapses, stay in generation order). Rows are therefore the
    /// same whatever order a rule generates in, and a shard's rows (its range of targets)
    /// are stretches of the whole network's.
    pub fn from_pairs(p: &Pairs, n_src: usize, tgt_offset: usize) -> Self {
        Self::from_pairs_with_kernel(p, n_src, tgt_offset).0
    }

    fn by_source(p: &Pairs, n_src: usize, tgt_offset: usize) -> Self {
        let mut row_ptr = vec![0u64; n_src + 1];
        for &s in &p.src {
            row_ptr[s as usize + 1] += 1;
        }
        for i in 0..n_src {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut next = row_ptr.clone();
        let mut col = vec![0u32; p.src.len()];
        for (&s, &t) in p.src.iter().zip(&p.tgt) {
            let k = &mut next[s as usize];
            col[*k as usize] = t + tgt_offset as u32;
            *k += 1;
        }
        Csr { row_ptr, col }
    }

    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.col.len()
    }

    /// [`Csr::from_pairs`], also putting the pairs' kernel entries (if any) in CSR order.
    pub fn from_pairs_with_kernel(p: &Pairs, n_src: usize, tgt_offset: usize) -> (Self, Option<Vec<u32>>) {
        let mut csr = Csr::by_source(p, n_src, tgt_offset);
        let mut index = (!p.kernel.is_empty()).then(|| {
            let mut next = csr.row_ptr.clone();
            let mut index = vec![0u32; p.src.len()];
            for (&s, &k) in p.src.iter().zip(&p.kernel) {
                let slot = &mut next[s as usize];
                index[*slot as usize] = k;
                *slot += 1;
            }
            index
        });
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for r in 0..n_src {
            let row = csr.row(r);
            if csr.col[row.clone()].is_sorted() {
                continue;
            }
            // Stable: multapses keep their order.
            pairs.clear();
            pairs.extend(row.clone().map(|k| (csr.col[k], index.as_ref().map_or(0, |ix| ix[k]))));
            pairs.sort_by_key(|&(t, _)| t);
            for (k, &(t, e)) in row.zip(&pairs) {
                csr.col[k] = t;
                if let Some(ix) = index.as_mut() {
                    ix[k] = e;
                }
            }
        }
        (csr, index)
    }

    /// True when there is no synapse.
    pub fn is_empty(&self) -> bool {
        self.col.is_empty()
    }

    /// The synapses of source row `row`.
    pub fn row(&self, row: usize) -> std::ops::Range<usize> {
        self.row_ptr[row] as usize..self.row_ptr[row + 1] as usize
    }
}

/// Delays of a projection, in steps.
#[derive(Clone, Debug)]
pub enum Delays {
    /// One delay for every synapse.
    Const(u32),
    /// One per synapse (CSR order).
    Each(Vec<u32>),
}

impl Delays {
    /// The longest delay.
    pub fn max(&self) -> u32 {
        match self {
            Delays::Const(d) => *d,
            Delays::Each(v) => v.iter().copied().max().unwrap_or(0),
        }
    }
    /// The shortest delay (`Const`: its one delay, whatever the number of synapses).
    pub fn min(&self) -> Option<u32> {
        match self {
            Delays::Const(d) => Some(*d),
            Delays::Each(v) => v.iter().copied().min(),
        }
    }
    /// The delay of synapse `k`.
    pub fn of(&self, k: usize) -> u32 {
        match self {
            Delays::Const(d) => *d,
            Delays::Each(v) => v[k],
        }
    }
}

/// The synapses of one projection as drawn from the seed's streams, before they are
/// spawned (or those onto one shard's range of targets; see `SimBuilder::draw_synapses`).
#[derive(Clone, Debug)]
pub struct DrawnSynapses {
    /// Pairs by source row; targets are population indices.
    pub csr: Csr,
    /// Per synapse (CSR order), the shared kernel when `kernel_index` is given, or the
    /// one weight of every synapse when `uniform` (read synapse `k`'s with `weight_of`).
    pub weight: Vec<f64>,
    /// Per synapse, its entry of the shared kernel (rules that share weights).
    pub kernel_index: Option<Vec<u32>>,
    /// Every synapse has the weight `weight[0]` ([`SynapseTable::uniform`]).
    pub uniform: bool,
    /// Delays in steps.
    pub delay: Delays,
}

impl DrawnSynapses {
    /// The weight of synapse `k` (its own, shared or uniform).
    pub fn weight_of(&self, k: usize) -> f64 {
        weight_at(&self.weight, self.kernel_index.as_deref(), self.uniform, k)
    }
}

/// Synapse `k`'s weight in `weight`: the one entry when `uniform`, its kernel entry with
/// a `kernel_index`, else its own.
fn weight_at(weight: &[f64], kernel_index: Option<&[u32]>, uniform: bool, k: usize) -> f64 {
    match kernel_index {
        _ if uniform => weight[0],
        Some(ix) => weight[ix[k] as usize],
        None => weight[k],
    }
}

/// The incoming synapses of each target neuron: those of neuron `t` (population-wide
/// index) are `syn[ptr[t]..ptr[t+1]]`, ascending (so in delivery order).
#[derive(Clone, Debug, Default)]
pub struct TargetIndex {
    /// Starts, one per target neuron of the population + 1.
    pub ptr: Vec<u64>,
    /// Synapse indices.
    pub syn: Vec<u32>,
    /// The source of each (relative to the projection's selection), beside `syn`.
    pub src: Vec<u32>,
}

impl TargetIndex {
    /// The synapses reaching target `t`.
    pub fn of(&self, t: usize) -> &[u32] {
        &self.syn[self.ptr[t] as usize..self.ptr[t + 1] as usize]
    }
}

/// The synapses of one projection.
#[derive(Component)]
pub struct SynapseTable {
    /// Name.
    pub name: String,
    /// Source entity (population or encoder).
    pub source: Entity,
    /// First selected source index.
    pub src_start: u32,
    /// One past the last selected source index.
    pub src_end: u32,
    /// Target population.
    pub target: Entity,
    /// Neurons in the target population.
    pub target_size: usize,
    /// The first target neuron this table's world holds: a shard's `Population::first`,
    /// 0 in one world. Targets (`csr.col`) are population indices, as in one world, so
    /// that learning rules and indexes by target see one world's numbers; delivery writes
    /// target `j` into the ring at `j - target_first`.
    pub target_first: u32,
    /// Receptor index in the target.
    pub receptor: usize,
    /// Rows by source.
    pub csr: Csr,
    /// Weight per synapse; the shared kernel when `kernel_index` is given; the one weight
    /// of every synapse when `uniform`. Read synapse `k`'s with [`SynapseTable::weight_of`]
    /// unless the table is known to hold one per synapse (an add-on's table always does).
    pub weight: Vec<f64>,
    /// Every synapse has the weight `weight[0]`, which is the only entry of `weight`: set
    /// by the build for a projection whose weight is one constant and that nothing
    /// changes (no add-on: no learning rule, no synapse model; no shared kernel), as
    /// NEST's `static_synapse_hom_w` and Brian2's `on_pre='ge += we'` do. Delivery then
    /// reads no weight per synapse: 4 bytes per synapse instead of 12, and a third of the
    /// memory traffic of a spike's row (measured in `benches/brian2_comparison.txt`). The
    /// same sums, bit for bit.
    pub uniform: bool,
    /// Delay(s), in steps.
    pub delay: Delays,
    /// The projection's longest delay, in steps: `delay.max()` in one world; in a shard,
    /// the longest over every shard's synapses (set when the shards are linked), so that
    /// what a rule sizes from it (trace rings) is one world's.
    pub max_delay: u32,
    /// The projection's shortest delay, in steps: `delay.min()` in one world (0 for
    /// delays drawn per synapse without any synapse); in a shard, the shortest over every
    /// shard's synapses (set when the shards are linked). A continuous synapse model's `direct` input arrives after it.
    pub min_delay: u32,
    /// Per-synapse state variables declared by the projection's add-ons.
    pub var_specs: Vec<SynapseVarSpec>,
    /// Their values, `vars[k][synapse]`.
    pub vars: Vec<Vec<f64>>,
    /// What a spike does at delivery (`None`: adds the weight).
    pub dynamics: Option<Arc<dyn SynapseDynamics>>,
    /// The per-synapse variables of the add-on that gave `dynamics` (indices into `vars`):
    /// the ones its `on_pre` sees.
    pub dynamics_vars: std::ops::Range<usize>,
    pub(crate) effect: Vec<f64>,
    /// Scratch of continuous synapse models: what each target receives besides its synapses.
    pub(crate) direct: Vec<f64>,
    /// Scratch of continuous synapse models: this step's spiking sources, relative.
    pub(crate) pre: Vec<u32>,
    /// Shared weights: the kernel entry of every synapse (then `weight` is the kernel).
    pub kernel_index: Option<Vec<u32>>,
    /// In a shard, for a projection with add-ons: one world's index of this table's first
    /// synapse of each row (the synapses of the rows before it, and of this row in the
    /// shards before this one), set when the shards are linked, so that
    /// [`SynapseTable::global_index`] gives a synapse one world's index. `None` in one world.
    pub global_row_start: Option<Vec<u64>>,
    by_target: OnceLock<TargetIndex>,
}

impl SynapseTable {
    /// A table; `vars` start at their declared initial values.
    #[expect(clippy::too_many_arguments, reason = "a plain constructor of a plain record")]
    pub fn new(
        name: String,
        source: Entity,
        src: (u32, u32),
        target: Entity,
        target_size: usize,
        receptor: usize,
        csr: Csr,
        weight: Vec<f64>,
        delay: Delays,
        var_specs: Vec<SynapseVarSpec>,
        dynamics: Option<(Arc<dyn SynapseDynamics>, std::ops::Range<usize>)>,
    ) -> Self {
        let (dynamics, dynamics_vars) = match dynamics {
            Some((d, r)) => (Some(d), r),
            None => (None, 0..0),
        };
        let n = csr.len();
        let vars = var_specs.iter().map(|v| vec![v.initial; n]).collect();
        let longest_row = (0..csr.row_ptr.len().saturating_sub(1)).map(|r| csr.row(r).len()).max().unwrap_or(0);
        let continuous = dynamics.as_ref().is_some_and(|d| d.continuous());
        let (effect, direct) = match &dynamics {
            Some(d) if d.continuous() => (vec![0.0; n], vec![0.0; target_size]),
            Some(_) => (vec![0.0; longest_row], Vec::new()),
            None => (Vec::new(), Vec::new()),
        };
        SynapseTable {
            max_delay: delay.max(),
            min_delay: delay.min().unwrap_or(0),
            name,
            source,
            src_start: src.0,
            src_end: src.1,
            target,
            target_size,
            receptor,
            csr,
            weight,
            delay,
            var_specs,
            vars,
            dynamics,
            dynamics_vars,
            effect,
            direct,
            kernel_index: None,
            uniform: false,
            global_row_start: None,
            pre: Vec::with_capacity(if continuous { (src.1 - src.0) as usize } else { 0 }),
            by_target: OnceLock::new(),
            target_first: 0,
        }
    }

    /// The table of a shard whose targets start at `first` (see
    /// [`SynapseTable::target_first`]).
    pub fn with_target_first(mut self, first: u32) -> Self {
        self.target_first = first;
        self
    }

    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.csr.len()
    }

    /// The number of synapses of each source row (what a shard sends so that rows can be
    /// put back together in one world's order).
    pub fn row_lengths(&self) -> Vec<u32> {
        self.csr.row_ptr.windows(2).map(|r| (r[1] - r[0]) as u32).collect()
    }

    /// One world's index of synapse `k` (its index in this table in one world; in a shard,
    /// where the table numbers its own synapses from 0, the index the synapse has in the
    /// whole projection's table): what a rule keys random streams by.
    pub fn global_index(&self, k: usize) -> u64 {
        match &self.global_row_start {
            None => k as u64,
            Some(g) => {
                let r = self.csr.row_ptr.partition_point(|&p| p <= k as u64) - 1;
                g[r] + (k as u64 - self.csr.row_ptr[r])
            }
        }
    }

    /// Makes the table share its weights: `weight` is then a kernel, and synapse `k`'s
    /// weight is `weight[kernel_index[k]]` (a convolution stores each weight once).
    pub fn with_kernel_index(mut self, index: Option<Vec<u32>>) -> Self {
        if let Some(ix) = &index {
            let longest_row = (0..self.csr.row_ptr.len().saturating_sub(1)).map(|r| self.csr.row(r).len()).max().unwrap_or(0);
            if self.effect.len() < longest_row {
                self.effect = vec![0.0; longest_row];
            }
            debug_assert_eq!(ix.len(), self.csr.len());
        }
        self.kernel_index = index;
        self
    }

    /// Makes every synapse's weight `weight[0]`, the table's only weight (see
    /// [`SynapseTable::uniform`]); `weight` must hold that one entry.
    pub fn with_uniform_weight(mut self, uniform: bool) -> Self {
        assert!(!uniform || (self.weight.len() == 1 && self.kernel_index.is_none() && self.dynamics.is_none()), "a uniform weight is one entry, not shared, without a synapse model");
        self.uniform = uniform;
        self
    }

    /// The weight of synapse `k` (its own, shared or uniform).
    pub fn weight_of(&self, k: usize) -> f64 {
        weight_at(&self.weight, self.kernel_index.as_deref(), self.uniform, k)
    }

    /// True when there is no synapse.
    pub fn is_empty(&self) -> bool {
        self.csr.is_empty()
    }

    /// The index of a per-synapse variable by name.
    pub fn var(&self, name: &str) -> Option<usize> {
        self.var_specs.iter().position(|v| v.name == name)
    }

    /// The source row (relative to the selection) of each synapse is implicit in the CSR;
    /// this gives it for synapse `k` by binary search.
    pub fn source_of(&self, k: usize) -> u32 {
        let r = self.csr.row_ptr.partition_point(|&p| p <= k as u64) - 1;
        self.src_start + r as u32
    }

    /// The index by target, built on first use (it is derived from the CSR, which never
    /// changes, so it is not checkpointed).
    pub fn by_target(&self) -> &TargetIndex {
        self.by_target.get_or_init(|| {
            let mut ptr = vec![0u64; self.target_size + 1];
            for &t in &self.csr.col {
                ptr[t as usize + 1] += 1;
            }
            for i in 0..self.target_size {
                ptr[i + 1] += ptr[i];
            }
            let mut next = ptr.clone();
            let mut syn = vec![0u32; self.csr.len()];
            let mut src = vec![0u32; self.csr.len()];
            for r in 0..self.csr.row_ptr.len().saturating_sub(1) {
                for k in self.csr.row(r) {
                    let slot = &mut next[self.csr.col[k] as usize];
                    syn[*slot as usize] = k as u32;
                    src[*slot as usize] = r as u32;
                    *slot += 1;
                }
            }
            TargetIndex { ptr, syn, src }
        })
    }

    /// Bytes held per synapse (weight: 8, 4 for a kernel index, 0 when `uniform`; target
    /// index, delay if per synapse, state arrays), not counting the row pointers and the
    /// index by target.
    pub fn bytes_per_synapse(&self) -> usize {
        (if self.uniform { 0 } else if self.kernel_index.is_some() { 4 } else { 8 }) + 4 + if matches!(self.delay, Delays::Each(_)) { 4 } else { 0 } + 8 * self.vars.len()
    }
}

/// Row by row, each part's stretch of the row's values (`of`), in part order.
fn stretches<'a>(parts: &'a [&'a SynapseTable], rows: usize, of: impl Fn(&'a SynapseTable) -> &'a [f64] + Copy + 'a) -> impl Iterator<Item = &'a [f64]> + 'a {
    (0..rows).flat_map(move |r| parts.iter().map(move |&p| &of(p)[p.csr.row(r)]))
}

impl SynapseTable {
    /// Saves the shards' tables of one projection (in shard order) as the whole table
    /// would be saved: row by row, the parts' stretches of each row concatenated (rows
    /// are sorted by target, so that is the whole row). A shared kernel or a uniform weight is
    /// saved once.
    pub(crate) fn save_concat(parts: &[&SynapseTable], out: &mut StateWriter<'_>) -> std::io::Result<()> {
        let Some(first) = parts.first() else { return Ok(()) };
        // Streamed, row by row, each shard's stretch in turn (never built whole).
        let rows = first.csr.row_ptr.len().saturating_sub(1);
        let n: usize = parts.iter().map(|p| p.len()).sum();
        if first.kernel_index.is_some() || first.uniform {
            out.blob(&first.weight)?;
        } else {
            out.blob_pieces(n, stretches(parts, rows, |p| &p.weight))?;
        }
        out.u64(first.vars.len() as u64)?;
        for (k, spec) in first.var_specs.iter().enumerate() {
            out.str(spec.name)?;
            out.blob_pieces(n, stretches(parts, rows, move |p| &p.vars[k]))?;
        }
        Ok(())
    }
    /// Loads a whole table's section into the shards' tables (in shard order): each takes
    /// its stretch of every row.
    pub(crate) fn load_split(parts: &mut [&mut SynapseTable], inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let Some(first) = parts.first() else { return Ok(()) };
        let (shared, nvars, rows) = (first.kernel_index.is_some() || first.uniform, first.vars.len(), first.csr.row_ptr.len().saturating_sub(1));
        let names: Vec<&'static str> = first.var_specs.iter().map(|v| v.name).collect();
        let total: usize = parts.iter().map(|p| p.len()).sum();
        // Each row's stretches in every shard, in the order of one world's values (row by
        // row, shards in order), one after another: the blob is read straight into them,
        // never held whole.
        fn stretches<'a>(mut rests: Vec<(&'a Csr, &'a mut [f64])>, rows: usize) -> impl Iterator<Item = Piece<'a, f64>> {
            let count = rests.len().max(1);
            (0..rows * rests.len()).map(move |i| {
                let (csr, rest) = &mut rests[i % count];
                let (head, tail) = std::mem::take(rest).split_at_mut(csr.row(i / count).len());
                *rest = tail;
                Piece::Fill(head)
            })
        }
        if shared {
            let mut kernel = vec![0.0; first.weight.len()];
            inp.blob_into(&mut kernel, "weights")?;
            for p in parts.iter_mut() {
                p.weight.copy_from_slice(&kernel);
            }
        } else {
            let of = parts.iter_mut().map(|p| (&p.csr, &mut p.weight[..])).collect();
            inp.blob_into_pieces(total, stretches(of, rows), "weights")?;
        }
        let k = inp.u64("synapse variable count")?;
        if k != nvars as u64 {
            return Err(StateError(format!("{k} per-synapse variables stored, the projection has {nvars}")));
        }
        for (i, name) in names.iter().enumerate() {
            let what = format!("synapse variable `{name}`");
            inp.expect(name, &what)?;
            let of = parts.iter_mut().map(|p| (&p.csr, &mut p.vars[i][..])).collect();
            inp.blob_into_pieces(total, stretches(of, rows), &what)?;
        }
        Ok(())
    }
}

impl SynapseTable {
    /// Loads this process's stretch of every row of a whole table's section, where
    /// `rows_of[k]` are process `k`'s row lengths (`own`: this one's), passing over the
    /// other processes' values without holding them.
    pub(crate) fn load_own(&mut self, rows_of: &[Vec<u32>], own: usize, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let rows = self.csr.row_ptr.len().saturating_sub(1);
        if rows_of.get(own).map(Vec::as_slice) != Some(&self.row_lengths()[..]) || rows_of.iter().any(|r| r.len() != rows) {
            return Err(StateError(format!("the processes' row lengths do not fit this table's {rows} rows (a bug)")));
        }
        let total: usize = rows_of.iter().flatten().map(|&n| n as usize).sum();
        // Row by row, processes in order: this one's stretch filled, the others' skipped.
        fn pieces<'a>(mut rest: &'a mut [f64], rows_of: &'a [Vec<u32>], own: usize, rows: usize) -> impl Iterator<Item = Piece<'a, f64>> {
            (0..rows).flat_map(move |r| (0..rows_of.len()).map(move |k| (r, k))).map(move |(r, k)| {
                let n = rows_of[k][r] as usize;
                if k != own {
                    return Piece::Skip(n);
                }
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
                rest = tail;
                Piece::Fill(head)
            })
        }
        if self.kernel_index.is_some() || self.uniform {
            inp.blob_into(&mut self.weight, "weights")?;
        } else {
            inp.blob_into_pieces(total, pieces(&mut self.weight, rows_of, own, rows), "weights")?;
        }
        self.load_vars(inp, |inp, v, what| inp.blob_into_pieces(total, pieces(v, rows_of, own, rows), what))
    }

    /// The per-synapse variables of a table's section, after its weights: their count,
    /// then each one's name and values, which `read` reads into the variable.
    fn load_vars(&mut self, inp: &mut StateReader<'_>, mut read: impl FnMut(&mut StateReader<'_>, &mut [f64], &str) -> Result<(), StateError>) -> Result<(), StateError> {
        let k = inp.u64("synapse variable count")?;
        if k != self.vars.len() as u64 {
            return Err(StateError(format!("{k} per-synapse variables stored, the projection has {}", self.vars.len())));
        }
        for (spec, v) in self.var_specs.iter().zip(self.vars.iter_mut()) {
            let what = format!("synapse variable `{}`", spec.name);
            inp.expect(spec.name, &what)?;
            read(inp, v, &what)?;
        }
        Ok(())
    }
}

impl Checkpoint for SynapseTable {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.weight)?;
        out.u64(self.vars.len() as u64)?;
        for (spec, v) in self.var_specs.iter().zip(&self.vars) {
            out.str(spec.name)?;
            out.blob(v)?;
        }
        Ok(())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        inp.blob_into(&mut self.weight, "weights")?;
        self.load_vars(inp, |inp, v, what| inp.blob_into(v, what))
    }
}
