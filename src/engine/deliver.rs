//! Spike propagation: this step's spikes enter each source's history and, projection by
//! projection in scenario order ([`DeliveryOrder`]), source ascending, synapse by synapse,
//! the delay rings of their targets. Both engines share it (delivery sums on the host in
//! this one order, which is what keeps them bit-identical).
//!
//! On several threads, each target population's ring is split by target into one range
//! per thread ([`TargetPart`]): every thread walks all the spikes of all the projections
//! into that population, in the same order, and adds only into its own targets. Each
//! target therefore receives its inputs in exactly the serial order, whatever the number
//! of threads, and no two threads write one element.

use bevy_ecs::prelude::*;
use rayon::prelude::*;

use crate::api::synapse::{PreSpike, SynapseStep};
use crate::kernel::{TargetPart, prefetch, split_targets};
use crate::net::synapse::{Delays, SynapseTable};
use crate::net::{Clock, CpuPool, DeliveryOrder, EarlyTable, InputRing, SpikeHistory, Spikes, WindowReplay};

/// Most target ranges one ring is split into.
const MAX_PARTS: usize = 64;
/// Fewest targets in a range.
pub(crate) const MIN_PART: usize = 4096;
/// Fewest synapses a group's spikes reach in a step for threads to pay (below, the
/// hand-off to the pool costs more than the work).
const MIN_PARALLEL_EVENTS: usize = 1024;

/// Spikes ahead whose rows are fetched while delivering one.
const PREFETCH_AHEAD: usize = 4;
/// Spikes whose row offsets are read in one pass before their rows are delivered.
const ROW_CHUNK: usize = 64;

/// The projections grouped by target population, each group in scenario order: groups
/// are independent (they write different rings), so each can be split by target.
#[derive(Default)]
pub(crate) struct RingGroups {
    built_for: Option<usize>,
    groups: Vec<RingGroup>,
}

struct RingGroup {
    ring: Entity,
    tables: Vec<Entity>,
    /// Every table adds its weights (no synapse model whose `on_pre` has state to update).
    plain: bool,
    /// Per table, where each row's targets cross into the next part (`parts + 1` offsets
    /// per row, relative to the row), for tables whose rows list targets in ascending
    /// order: a thread then reads only its share of each row. `None`: a thread scans the
    /// whole row and skips the targets of other parts.
    splits: Vec<Option<Vec<u32>>>,
    /// The number of parts `splits` was made for.
    split_parts: usize,
}

impl RingGroup {
    fn ensure_splits(&mut self, parts: usize, n: usize, tables: &Query<&mut SynapseTable>) {
        if self.split_parts == parts {
            return;
        }
        let bound = |c: usize| (c * n / parts) as u32;
        self.splits = self
            .tables
            .iter()
            .map(|&e| {
                let t = tables.get(e).ok()?;
                let rows = t.csr.row_ptr.len().saturating_sub(1);
                let sorted = (0..rows).all(|r| t.csr.col[t.csr.row(r)].is_sorted());
                sorted.then(|| {
                    let mut off = Vec::with_capacity(rows * (parts + 1));
                    for r in 0..rows {
                        let cols = &t.csr.col[t.csr.row(r)];
                        let f = t.target_first;
                        off.extend((0..=parts).map(|c| if c == parts { cols.len() as u32 } else { cols.partition_point(|&x| x < bound(c) + f) as u32 }));
                    }
                    off
                })
            })
            .collect();
        self.split_parts = parts;
    }
}

impl RingGroups {
    fn refresh(&mut self, order: &[Entity], tables: &Query<&mut SynapseTable>) {
        if self.built_for == Some(order.len()) {
            return;
        }
        self.groups.clear();
        for &e in order {
            let Ok(t) = tables.get(e) else { continue };
            let plain = t.dynamics.is_none();
            match self.groups.iter_mut().find(|g| g.ring == t.target) {
                Some(g) => {
                    g.tables.push(e);
                    g.plain &= plain;
                }
                None => self.groups.push(RingGroup { ring: t.target, tables: vec![e], plain, splits: Vec::new(), split_parts: 0 }),
            }
        }
        self.built_for = Some(order.len());
    }
}

// NOTE: one system, not two: at 10^4 steps per biological second, each system's fixed
// cost per run shows on small networks.
#[expect(clippy::too_many_arguments, reason = "a bevy system's parameters")]
pub(crate) fn propagate_spikes(
    clock: Res<Clock>,
    order: Res<DeliveryOrder>,
    pool: Res<CpuPool>,
    mut groups: Local<RingGroups>,
    mut tables: Query<&mut SynapseTable>,
    mut sources: Query<&mut Spikes>,
    mut history: Query<(Entity, &mut SpikeHistory)>,
    mut rings: Query<&mut InputRing>,
    replay: Option<ResMut<WindowReplay>>,
) {
    let (order, groups) = (&order.0[..], &mut *groups);
    match replay {
        // A sharded run: within an exchange window nothing is delivered; at its end, the
        // window's steps in order, each with every source's merged spikes.
        Some(r) if r.defer => {}
        Some(mut r) if !r.steps.is_empty() => {
            let r = &mut *r;
            let steps = std::mem::take(&mut r.steps);
            // (Only ever with a window of one step: see `EarlyTable`.)
            let early = if std::mem::take(&mut r.early_done) { &r.early[..] } else { &[] };
            for (step, lists) in steps {
                for (e, idx) in lists {
                    if let Ok(mut s) = sources.get_mut(e) {
                        // (Copied in, keeping the list's room: see `exchange_spikes`.)
                        s.indices.clear();
                        s.indices.extend_from_slice(&idx);
                    }
                }
                deliver_step(step, order, &pool, groups, &mut tables, &sources.as_readonly(), &mut history, &mut rings, early);
            }
        }
        _ => deliver_step(clock.step, order, &pool, groups, &mut tables, &sources.as_readonly(), &mut history, &mut rings, &[]),
    }
}

/// Delivers the spikes of `step` that `sources` hold, but of the `early` tables only the
/// rows that the exchange did not deliver early (on one thread: the exchange delivers
/// early only where there is no pool).
#[expect(clippy::too_many_arguments, reason = "a system's parameters, handed down")]
fn deliver_step(
    step: u64,
    order: &[Entity],
    pool: &CpuPool,
    groups: &mut RingGroups,
    tables: &mut Query<&mut SynapseTable>,
    sources: &Query<&Spikes>,
    history: &mut Query<(Entity, &mut SpikeHistory)>,
    rings: &mut Query<&mut InputRing>,
    early: &[EarlyTable],
) {
    for (e, mut h) in history.iter_mut() {
        if let Ok(s) = sources.get(e) {
            h.record(step, &s.indices);
        }
    }
    let Some(workers) = pool.pool.as_ref() else {
        for &e in order {
            let from = early.iter().find(|t| t.table == e).map_or(0, |t| t.from);
            deliver_table(step, e, tables, sources, rings, from);
        }
        return;
    };
    debug_assert!(early.is_empty(), "no early delivery on a pool");
    deliver_pooled(step, order, pool, workers, groups, tables, sources, rings);
}

/// [`deliver_step`] on a pool of threads: each group's delivery split by target where it
/// pays. Apart (never inlined into it): its array of target parts takes a stack frame the
/// one-thread path would otherwise probe page by page on every step.
#[inline(never)]
#[expect(clippy::too_many_arguments, reason = "a system's parameters, handed down")]
fn deliver_pooled(step: u64, order: &[Entity], pool: &CpuPool, workers: &rayon::ThreadPool, groups: &mut RingGroups, tables: &mut Query<&mut SynapseTable>, sources: &Query<&Spikes>, rings: &mut Query<&mut InputRing>) {
    groups.refresh(order, tables);
    for g in &mut groups.groups {
        let Ok(mut ring) = rings.get_mut(g.ring) else { continue };
        let parts = pool.threads.min(ring.n / MIN_PART).clamp(1, MAX_PARTS);
        if !g.plain || parts < 2 || events(g, tables, sources) < MIN_PARALLEL_EVENTS {
            for &e in &g.tables {
                deliver_table(step, e, tables, sources, rings, 0);
            }
            continue;
        }
        g.ensure_splits(parts, ring.n, tables);
        let g = &*g;
        let ring = &mut *ring;
        let (depth, receptors, n) = (ring.depth, ring.receptors, ring.n);
        let mut split = split_targets::<MAX_PARTS>(&mut ring.data, n, parts);
        let (tables, sources) = (&*tables, sources);
        workers.install(|| {
            split[..parts].par_iter_mut().enumerate().for_each(|(c, part)| {
                for (&e, splits) in g.tables.iter().zip(&g.splits) {
                    let Ok(t) = tables.get(e) else { continue };
                    let Ok(spk) = sources.get(t.source) else { continue };
                    let share = splits.as_deref().map(|off| (off, c, parts));
                    deliver_part(step, depth, receptors, t, &spk.indices, share, part);
                }
            });
        });
    }
}

/// About how many synapses this step's spikes reach in a group (rows × mean row length).
fn events(g: &RingGroup, tables: &Query<&mut SynapseTable>, sources: &Query<&Spikes>) -> usize {
    let mut total = 0;
    for &e in &g.tables {
        let Ok(t) = tables.get(e) else { continue };
        let Ok(spk) = sources.get(t.source) else { continue };
        let rows = (t.src_end - t.src_start).max(1) as usize;
        let lo = spk.indices.partition_point(|&i| i < t.src_start);
        let hi = spk.indices.partition_point(|&i| i < t.src_end);
        total += (hi - lo) * t.len() / rows;
    }
    total
}

/// One thread's share of a plain projection's delivery: the synapses of this step's
/// spikes whose targets are in `part`'s range, in the serial order. With `share` = (row
/// offsets, this part, parts), only the part's stretch of each row is read.
fn deliver_part(step: u64, depth: usize, receptors: usize, t: &SynapseTable, spikes: &[u32], share: Option<(&[u32], usize, usize)>, part: &mut TargetPart<'_>) {
    let lo = spikes.partition_point(|&i| i < t.src_start);
    let hi = spikes.partition_point(|&i| i < t.src_end);
    let stretch = |i: u32| {
        let r = (i - t.src_start) as usize;
        let syn = t.csr.row(r);
        match share {
            Some((off, c, parts)) => {
                let o = &off[r * (parts + 1) + c..];
                syn.start + o[0] as usize..syn.start + o[1] as usize
            }
            None => syn,
        }
    };
    let mine = &spikes[lo..hi];
    let fetch = row_fetch(&t.csr.col, &t.weight, t.kernel_index.is_none() && !t.uniform);
    each_row(mine, stretch, fetch, |syn| add_row(step, depth, receptors, t, syn, part));
}

/// Adds one row's stretch `syn` of table `t` into a thread's part of the ring (targets are
/// population indices; the part's are relative to the ring, from `t.target_first`).
#[inline(always)]
fn add_row(step: u64, depth: usize, receptors: usize, t: &SynapseTable, syn: std::ops::Range<usize>, part: &mut TargetPart<'_>) {
    let first = t.target_first;
    let row_of = |d: u32| ((step + 1 + d as u64) % depth as u64) as usize * receptors + t.receptor;
    let cols = &t.csr.col[syn.clone()];
    match (&t.delay, &t.kernel_index) {
        (Delays::Const(d), _) if t.uniform => {
            let (row, w) = (row_of(*d), t.weight[0]);
            for &c in cols {
                part.add(row, c.wrapping_sub(first), w);
            }
        }
        (Delays::Each(ds), _) if t.uniform => {
            let w = t.weight[0];
            for (&c, &d) in cols.iter().zip(&ds[syn]) {
                part.add(row_of(d), c.wrapping_sub(first), w);
            }
        }
        (Delays::Const(d), None) => {
            let row = row_of(*d);
            for (&c, &w) in cols.iter().zip(&t.weight[syn]) {
                part.add(row, c.wrapping_sub(first), w);
            }
        }
        (Delays::Each(ds), None) => {
            for ((&c, &w), &d) in cols.iter().zip(&t.weight[syn.clone()]).zip(&ds[syn]) {
                part.add(row_of(d), c.wrapping_sub(first), w);
            }
        }
        (Delays::Const(d), Some(ix)) => {
            let row = row_of(*d);
            for (&c, &k) in cols.iter().zip(&ix[syn]) {
                part.add(row, c.wrapping_sub(first), t.weight[k as usize]);
            }
        }
        (Delays::Each(ds), Some(ix)) => {
            for ((&c, &k), &d) in cols.iter().zip(&ix[syn.clone()]).zip(&ds[syn]) {
                part.add(row_of(d), c.wrapping_sub(first), t.weight[k as usize]);
            }
        }
    }
}

/// A sharded run's early delivery (`exchange_spikes`, while it waits for the other
/// shards' spikes of a window of one step): the rows of this shard's own spikes (`own`,
/// per population of [`crate::net::ShardLink::populations`]) of every [`EarlyTable`].
pub(crate) fn deliver_early(step: u64, early: &[EarlyTable], own: &[Vec<u32>], tables: &mut Query<&mut SynapseTable>, rings: &mut Query<&mut InputRing>) {
    for t in early {
        let Ok(mut table) = tables.get_mut(t.table) else { continue };
        let Ok(mut ring) = rings.get_mut(table.target) else { continue };
        deliver_rows(step, &mut table, own.get(t.source).map_or(&[][..], |s| &s[..]), &mut ring, 0);
    }
}

/// One projection's delivery on this thread: the rows of its sources from `from` on (a
/// population index; 0: all).
fn deliver_table(step: u64, e: Entity, tables: &mut Query<&mut SynapseTable>, sources: &Query<&Spikes>, rings: &mut Query<&mut InputRing>, from: u32) {
    let Ok(mut table) = tables.get_mut(e) else { return };
    let Ok(spk) = sources.get(table.source) else { return };
    if table.dynamics.as_ref().is_some_and(|d| d.continuous()) {
        let Ok(mut ring) = rings.get_mut(table.target) else { return };
        step_continuous(step, &mut table, &spk.indices, &mut ring);
        return;
    }
    if spk.indices.is_empty() {
        return;
    }
    let Ok(mut ring) = rings.get_mut(table.target) else { return };
    deliver_rows(step, &mut table, &spk.indices, &mut ring, from);
}

/// The rows of `spikes` (ascending population indices) from source `from` on into `ring`.
fn deliver_rows(step: u64, table: &mut SynapseTable, spikes: &[u32], ring: &mut InputRing, from: u32) {
    let (depth, stride, n) = (ring.depth as u64, ring.receptors * ring.n, ring.n);
    let SynapseTable { src_start, src_end, receptor, csr, weight, delay, vars, dynamics, dynamics_vars, effect, kernel_index, target_first, uniform, .. } = table;
    let base_r = *receptor * n;
    let lo = spikes.partition_point(|&i| i < (*src_start).max(from));
    let hi = spikes.partition_point(|&i| i < *src_end);
    let slot_of = |d: u32| ((step + 1 + d as u64) % depth) as usize * stride + base_r;
    let mine = &spikes[lo..hi.max(lo)];
    let fetch = row_fetch(&csr.col, weight, kernel_index.is_none() && !*uniform);
    each_row(mine, |i| csr.row((i - *src_start) as usize), fetch, |syn| {
        let cols = &csr.col[syn.clone()];
        if *uniform {
            // (No synapse model: `SynapseTable::with_uniform_weight`.)
            scatter(&mut ring.data, n, *target_first, &slot_of, delay, syn, cols, std::iter::repeat(weight[0]));
            return;
        }
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
                dy.on_pre(PreSpike { step, synapses: syn.clone(), targets: &csr.col, weight, vars: &mut vars[dynamics_vars.clone()] }, out);
                out
            }
        };
        scatter(&mut ring.data, n, *target_first, &slot_of, delay, syn, cols, add.iter().copied());
    });
}

/// Prefetches a row's targets in `col`, and its weights when it has its own (`own`: not a
/// shared kernel or one uniform weight).
#[inline(always)]
fn row_fetch<'a>(col: &'a [u32], weight: &'a [f64], own: bool) -> impl Fn(&std::ops::Range<usize>) + 'a {
    move |s| {
        prefetch(&col[s.clone()]);
        if own {
            prefetch(&weight[s.clone()]);
        }
    }
}

/// Hands `deliver` the synapses of each spike's row (`row`), in spike order, a chunk of
/// spikes at a time in two passes: first every row's range (loads that do not wait for
/// one another, so that their misses overlap: the rows of a large table are far apart,
/// each its own miss), then the rows, each `fetch`ed [`PREFETCH_AHEAD`] rows ahead.
#[inline(always)]
fn each_row(spikes: &[u32], row: impl Fn(u32) -> std::ops::Range<usize>, fetch: impl Fn(&std::ops::Range<usize>), mut deliver: impl FnMut(std::ops::Range<usize>)) {
    let mut rows = [const { 0..0 }; ROW_CHUNK];
    for chunk in spikes.chunks(ROW_CHUNK) {
        for (r, &i) in rows.iter_mut().zip(chunk) {
            *r = row(i);
        }
        let rows = &rows[..chunk.len()];
        rows.iter().take(PREFETCH_AHEAD).for_each(&fetch);
        for (q, syn) in rows.iter().enumerate() {
            if let Some(s) = rows.get(q + PREFETCH_AHEAD) {
                fetch(s);
            }
            deliver(syn.clone());
        }
    }
}

/// Adds the `k`th of `add` to the ring slot of synapse `syn.start + k`'s delay at its
/// target `cols[k]` (a population index; the ring starts at target `first`).
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "the hot loop's inputs, unpacked")]
fn scatter(data: &mut [f64], n: usize, first: u32, slot_of: &impl Fn(u32) -> usize, delay: &Delays, syn: std::ops::Range<usize>, cols: &[u32], add: impl Iterator<Item = f64>) {
    match delay {
        // NOTE: one world (first = 0) keeps its loop without the subtraction.
        Delays::Const(d) if first == 0 => {
            let off = slot_of(*d);
            let dst = &mut data[off..off + n];
            for (&t, w) in cols.iter().zip(add) {
                dst[t as usize] += w;
            }
        }
        Delays::Const(d) => {
            let off = slot_of(*d);
            let dst = &mut data[off..off + n];
            for (&t, w) in cols.iter().zip(add) {
                dst[(t - first) as usize] += w;
            }
        }
        Delays::Each(ds) => {
            for ((&t, w), &d) in cols.iter().zip(add).zip(&ds[syn]) {
                data[slot_of(d) + (t - first) as usize] += w;
            }
        }
    }
}

/// A continuous synapse model's step: every synapse says what it adds (after its delay),
/// every target what it receives besides (after the smallest delay).
fn step_continuous(step: u64, table: &mut SynapseTable, spikes: &[u32], ring: &mut InputRing) {
    let SynapseTable { src_start, src_end, receptor, csr, weight, delay, vars, dynamics, dynamics_vars, effect, direct, pre, target_first, min_delay, .. } = table;
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
    scatter(&mut ring.data, n, *target_first, &slot_of, delay, 0..csr.len(), &csr.col, effect.iter().copied());
    let off = slot_of(*min_delay);
    // `direct` is by population index; the ring holds the targets from `target_first`.
    for (x, &w) in ring.data[off..off + n].iter_mut().zip(direct.iter().skip(*target_first as usize)) {
        *x += w;
    }
}
