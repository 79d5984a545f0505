//! Checkpoints of a run split over MPI processes (one shard each): the file one process
//! would write, byte for byte, so that it resumes with any number of shards or processes.
//!
//! - **Saving** (every process calls [`Sim::save`] at the same step): the sections that a
//!   sharded run gathers (neuron state and rings by neuron range, synapse tables row by
//!   row) are sent to process 0 as each process's part ([`Transport::gather`]), one
//!   section at a time, as process 0 reaches it in the file; process 0 rebuilds the other
//!   shards' parts as components of their shape (their state loaded from the bytes) and
//!   writes them beside its own as one process writes its shards (`save_concat`). The other
//!   sections are the same in every shard (or live in process 0: monitors) and are
//!   process 0's.
//! - **Loading** (every process reads the file): each takes its stretch of the gathered
//!   sections (a table's row stretches read straight into its own part, the others'
//!   passed over, with the row lengths from an all-gather: `SynapseTable::load_own`;
//!   state and rings by `load_split` into its own part and stand-ins of the others'
//!   shapes, neuron ranges from the population's size) and a copy of the others;
//!   processes above 0 skip the monitors' sections.
//!
//! While saving, a process above 0 holds only its own part of a section (but every process
//! merges a resource split over the processes, small: the event network); process 0 holds
//! every part of one section as it arrives, then the others' parts rebuilt as components
//! (each part's bytes dropped once rebuilt), which it writes (twice: length, then
//! bytes, streamed) before the next gather. While loading, a process holds nothing of the others' parts of a table; of a
//! population's state or rings it holds stand-ins of the others' parts (8 bytes per neuron
//! variable and per ring value) and reads a variable or a ring whole before splitting it.

use bevy_ecs::prelude::*;

use crate::api::state::{StateError, StateReader, StateWriter};
use crate::registry::StateSection;
use crate::api::transport::Transport;
use crate::net::synapse::{Csr, Delays, SynapseTable};
use crate::net::{InputRing, NeuronState, StateStore};
use crate::sim::Sim;

/// What process 0 gathered of a section from the other processes.
pub(super) enum Gathered {
    /// A process above 0: nothing.
    Nothing,
    /// A resource split over the processes, merged: one world's section bytes.
    Merged(Vec<u8>),
    /// The other processes' parts of a population's state, rings or projection's table,
    /// rebuilt as components of their shapes (in process order, process 0's not included).
    States(Vec<NeuronState>),
    Rings(Vec<InputRing>),
    Tables(Vec<SynapseTable>),
}

/// The sections gathered from every shard, by name.
pub(super) const GATHERED: [&str; 3] = ["neuron_state", "input_ring", "synapse_table"];

/// Every process's `mine`, in rank order, through `all_gather`'s `u32` words: in rounds
/// of at most [`ROUND_BYTES`] ÷ processes from each (a collective carries fewer than 2³¹
/// words), as many rounds in every process (an `all_max` first).
fn gather_bytes(p: &dyn Transport, mine: &[u8]) -> Vec<Vec<u8>> {
    gather_bytes_in(p, mine, ROUND_BYTES, Gather::All)
}

/// Where [`gather_bytes_in`] brings the parts.
#[derive(Clone, Copy)]
enum Gather {
    /// To every process.
    All,
    /// To process 0 only ([`Transport::gather`]): the others get nothing back.
    Root,
}

fn gather_bytes_in(p: &dyn Transport, mine: &[u8], round_bytes: usize, to: Gather) -> Vec<Vec<u8>> {
    let chunk = (round_bytes / p.size().max(1)).max(4) & !3;
    let mut rounds = [mine.len().div_ceil(chunk) as u64];
    p.all_max(&mut rounds);
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); p.size()];
    for r in 0..rounds[0] as usize {
        let part = mine.get(r * chunk..mine.len().min((r + 1) * chunk)).unwrap_or(&[]);
        let mut words = Vec::with_capacity(1 + part.len().div_ceil(4));
        words.push(part.len() as u32);
        words.extend(part.chunks(4).map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        }));
        let got = match to {
            Gather::All => p.all_gather(&words),
            Gather::Root => p.gather(&words),
        };
        for (o, w) in out.iter_mut().zip(got) {
            let len = w.first().copied().unwrap_or(0) as usize;
            let start = o.len();
            o.extend(w.iter().skip(1).flat_map(|x| x.to_le_bytes()));
            o.truncate(start + len);
        }
    }
    out
}

/// Bytes one round of [`gather_bytes`] carries from all processes together (1 GiB, well
/// under a collective's 2³¹ words).
const ROUND_BYTES: usize = 1 << 30;

/// A stand-in of shard `k`'s part of a population's state (its shape, host values).
fn state_like(template: &NeuronState, n: usize) -> NeuronState {
    NeuronState { model: template.model.clone(), vars: template.vars, store: StateStore::Host(vec![crate::util::lines::Lines::zeros(n); template.vars.len()]) }
}

/// A stand-in of a shard's part of a synapse table with these row lengths.
fn table_like(template: &SynapseTable, rows: &[u32]) -> SynapseTable {
    let mut row_ptr = Vec::with_capacity(rows.len() + 1);
    row_ptr.push(0u64);
    for &r in rows {
        row_ptr.push(row_ptr.last().copied().unwrap_or(0) + r as u64);
    }
    let n = row_ptr.last().copied().unwrap_or(0) as usize;
    let csr = Csr { row_ptr, col: vec![0; n] };
    let weights = if template.kernel_index.is_some() || template.uniform { template.weight.len() } else { n };
    let t = SynapseTable::new(
        template.name.clone(),
        template.source,
        (template.src_start, template.src_end),
        template.target,
        template.target_size,
        template.receptor,
        csr,
        vec![0.0; weights],
        Delays::Const(0),
        template.var_specs.clone(),
        None,
    );
    t.with_kernel_index(template.kernel_index.as_ref().map(|_| vec![0; n])).with_uniform_weight(template.uniform)
}

fn as_u32s(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks(4).map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4]))).collect()
}

impl Sim {
    /// The sections a run split over processes gathers when it saves, in checkpoint
    /// order: each population's and projection's state, rings and table, and the
    /// resources split over the shards ([`crate::api::state::MergeParts`]). The same list
    /// in every process (every process holds these sections).
    pub(super) fn gathered_order(&self) -> Vec<(StateSection, Option<Entity>)> {
        let ours = |e: &Entity| self.populations.contains(e) || self.projections.contains(e);
        self.section_order()
            .into_iter()
            .filter(|(s, e)| match e {
                Some(e) => GATHERED.contains(&s.name) && ours(e),
                None => s.merge.is_some(),
            })
            .collect()
    }

    /// One gathered section (an entry of [`Self::gathered_order`]): every process sends
    /// its part, and process 0 gets the others' parts rebuilt as components of their
    /// shape (elsewhere [`Gathered::Nothing`]), which [`Self::write_gathered`] writes
    /// beside its own as one world's section. Every process calls it for the same sections
    /// in the same order, and takes part in the gather even when its own part failed (no
    /// process waits): the error comes after.
    pub(super) fn gather_section(&self, s: &StateSection, e: Option<Entity>, p: &dyn Transport) -> std::io::Result<Gathered> {
        let Some(e) = e else {
            let whole = self.merge_processes(s, p)?;
            return Ok(if p.rank() == 0 { Gathered::Merged(whole) } else { Gathered::Nothing });
        };
        let (name, w) = (s.name, &self.world);
        let mut mine = Vec::new();
        use crate::api::state::Checkpoint;
        let saved = (|| -> std::io::Result<()> {
            let mut sw = StateWriter::new(&mut mine);
            let missing = || std::io::Error::other(format!("section `{name}`: missing in process {}", p.rank()));
            match name {
                "neuron_state" => w.get::<NeuronState>(e).ok_or_else(missing)?.save_state(&mut sw),
                "input_ring" => w.get::<InputRing>(e).ok_or_else(missing)?.save_state(&mut sw),
                _ => {
                    let t = w.get::<SynapseTable>(e).ok_or_else(missing)?;
                    let rows = t.row_lengths();
                    sw.u64(rows.len() as u64)?;
                    sw.blob(&rows)?;
                    t.save_state(&mut sw)
                }
            }
        })();
        if saved.is_err() {
            mine.clear();
        }
        // Only process 0 writes: the parts go to it alone.
        let parts = gather_bytes_in(p, &mine, ROUND_BYTES, Gather::Root);
        drop(mine);
        saved?;
        if p.rank() != 0 {
            return Ok(Gathered::Nothing);
        }
        let bad = |k: usize, err: StateError| std::io::Error::other(format!("process {k}'s part of section `{name}`: {}", err.0));
        let missing = || std::io::Error::other(format!("section `{name}`: missing in process 0"));
        // Each part is dropped as soon as it is rebuilt.
        let parts = parts.into_iter().enumerate().skip(1);
        Ok(match name {
            "neuron_state" => {
                let (mine, pop) = w.get::<NeuronState>(e).zip(self.population_def(e)).ok_or_else(missing)?;
                let mut others = Vec::new();
                for (k, b) in parts {
                    let mut part = state_like(mine, pop.shard_range(k, p.size()).len());
                    part.load_state(&mut StateReader::new(&mut b.as_slice(), b.len() as u64)).map_err(|err| bad(k, err))?;
                    others.push(part);
                }
                Gathered::States(others)
            }
            "input_ring" => {
                let (mine, pop) = w.get::<InputRing>(e).zip(self.population_def(e)).ok_or_else(missing)?;
                let mut others = Vec::new();
                for (k, b) in parts {
                    let mut part = InputRing::new(mine.depth, mine.receptors, pop.shard_range(k, p.size()).len());
                    part.load_state(&mut StateReader::new(&mut b.as_slice(), b.len() as u64)).map_err(|err| bad(k, err))?;
                    others.push(part);
                }
                Gathered::Rings(others)
            }
            _ => {
                let mine = w.get::<SynapseTable>(e).ok_or_else(missing)?;
                let mut others = Vec::new();
                for (k, b) in parts {
                    let mut src = b.as_slice();
                    let mut r = StateReader::new(&mut src, b.len() as u64);
                    let _rows = r.u64("rows").map_err(|err| bad(k, err))?;
                    let rows: Vec<u32> = r.blob("row lengths").map_err(|err| bad(k, err))?;
                    let mut part = table_like(mine, &rows);
                    part.load_state(&mut r).map_err(|err| bad(k, err))?;
                    others.push(part);
                }
                Gathered::Tables(others)
            }
        })
    }

    /// Writes gathered section `g` of entity `e` (`None`: a merged resource) as one world's
    /// section: this process's part and the others' in process order. It writes the same
    /// bytes every time (the file's two passes: length, then bytes).
    pub(super) fn write_gathered(&self, e: Option<Entity>, g: &Gathered, w: &mut StateWriter<'_>) -> std::io::Result<()> {
        let missing = || std::io::Error::other("a gathered section is missing in process 0");
        let e = match (g, e) {
            (Gathered::Merged(bytes), _) => return w.inner().write_all(bytes),
            (Gathered::Nothing, _) | (_, None) => return Err(std::io::Error::other("no gathered section to write (a bug)")),
            (_, Some(e)) => e,
        };
        let world = &self.world;
        match g {
            Gathered::States(others) => {
                let all: Vec<&NeuronState> = std::iter::once(world.get::<NeuronState>(e).ok_or_else(missing)?).chain(others).collect();
                NeuronState::save_concat(&all, w)
            }
            Gathered::Rings(others) => {
                let all: Vec<&InputRing> = std::iter::once(world.get::<InputRing>(e).ok_or_else(missing)?).chain(others).collect();
                InputRing::save_concat(&all, w)
            }
            Gathered::Tables(others) => {
                let all: Vec<&SynapseTable> = std::iter::once(world.get::<SynapseTable>(e).ok_or_else(missing)?).chain(others).collect();
                SynapseTable::save_concat(&all, w)
            }
            Gathered::Merged(_) | Gathered::Nothing => Ok(()),
        }
    }

    /// One world's section of resource section `s` (a [`crate::api::state::MergeParts`]),
    /// merged in every process from every process's part. Every process calls it for the
    /// same sections in the same order.
    pub(super) fn merge_processes(&self, s: &StateSection, p: &dyn Transport) -> std::io::Result<Vec<u8>> {
        let mut mine = Vec::new();
        let saved = (s.save)(&self.world, Entity::PLACEHOLDER, &mut StateWriter::new(&mut mine));
        if !matches!(saved, Some(Ok(()))) {
            mine.clear(); // (no half-written part goes out)
        }
        // (Taking part in the gather even after a failure: no process waits.)
        let parts = gather_bytes(p, &mine);
        saved.unwrap_or_else(|| Err(std::io::Error::other(format!("section `{}`: missing", s.name))))?;
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let merge = s.merge.ok_or_else(|| std::io::Error::other(format!("section `{}` is not split", s.name)))?;
        let mut whole = Vec::new();
        merge(&self.world, &parts, &mut StateWriter::new(&mut whole)).unwrap_or_else(|| Err(std::io::Error::other(format!("section `{}`: missing", s.name))))?;
        Ok(whole)
    }

    /// The scenario's definition of population entity `e`.
    fn population_def(&self, e: Entity) -> Option<&crate::scenario::PopulationDef> {
        self.populations.iter().position(|&x| x == e).map(|i| &self.scenario.populations[i])
    }

    /// Loads a gathered section (read from `r`: the whole population's or projection's)
    /// into this process's shard: its stretch (a table's read alone, the others' values
    /// passed over; state and rings split beside stand-ins of the other processes'
    /// parts). Every process calls it for the same sections in the same order (a table's
    /// row lengths are all-gathered).
    pub(super) fn load_section_process(&mut self, name: &str, e: Entity, r: &mut StateReader<'_>, p: &dyn Transport) -> Result<(), StateError> {
        let (rank, size) = (p.rank(), p.size());
        let def = self.population_def(e).cloned();
        macro_rules! split {
            ($t:ty, $like:expr) => {{
                let Some(mut mine) = self.world.get_mut::<$t>(e) else { return Err(StateError("missing in the rebuilt network".into())) };
                let mut others: Vec<$t> = (0..size).filter(|&k| k != rank).map(|k| $like(&*mine, k)).collect();
                let mut refs: Vec<&mut $t> = others.iter_mut().collect();
                refs.insert(rank, &mut *mine);
                <$t>::load_split(&mut refs, r)?;
            }};
        }
        match name {
            "neuron_state" => {
                let pop = def.ok_or_else(|| StateError("not a population".into()))?;
                split!(NeuronState, |m: &NeuronState, k| state_like(m, pop.shard_range(k, size).len()))
            }
            "input_ring" => {
                let pop = def.ok_or_else(|| StateError("not a population".into()))?;
                split!(InputRing, |m: &InputRing, k| InputRing::new(m.depth, m.receptors, pop.shard_range(k, size).len()))
            }
            _ => {
                let mine = self.world.get::<SynapseTable>(e).map(SynapseTable::row_lengths).unwrap_or_default();
                let words: Vec<u8> = mine.iter().flat_map(|x| x.to_le_bytes()).collect();
                let rows: Vec<Vec<u32>> = gather_bytes(p, &words).iter().map(|b| as_u32s(b)).collect();
                // This process's stretches only: the others' values are passed over.
                let Some(mut mine) = self.world.get_mut::<SynapseTable>(e) else { return Err(StateError("missing in the rebuilt network".into())) };
                mine.load_own(&rows, rank, r)?;
            }
        }
        if r.remaining() != 0 {
            return Err(StateError(format!("{} of its bytes left unread", r.remaining())));
        }
        Ok(())
    }
}

/// Skips the sections left before the end marker (a process above 0 has no monitors,
/// whose sections come last).
pub(super) fn skip_to_end(r: &mut StateReader<'_>) -> Result<(), StateError> {
    loop {
        let name = r.str("section name")?;
        if name == "end" {
            return Ok(());
        }
        let _label = r.str("entity label")?;
        let len = r.u64("section length")?;
        let src = r.reserve(len, &format!("section `{name}`"))?;
        std::io::copy(&mut std::io::Read::take(src, len), &mut std::io::sink()).map_err(|err| StateError(format!("section `{name}`: {err}")))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two "processes" that send the same words (what this one sends, echoed).
    #[derive(Debug)]
    struct Echo;
    impl Transport for Echo {
        fn rank(&self) -> usize {
            0
        }
        fn size(&self) -> usize {
            2
        }
        fn all_gather(&self, mine: &[u32]) -> Vec<Vec<u32>> {
            vec![mine.to_vec(), mine.to_vec()]
        }
        fn all_max(&self, _: &mut [u64]) {}
        fn all_sum(&self, v: &mut [u64]) {
            v.iter_mut().for_each(|x| *x *= 2);
        }
    }

    /// Bytes of any length come back whole, in one round or in many (a round of 16 bytes
    /// over 2 processes: 8 bytes each), including empty and odd lengths.
    #[test]
    fn bytes_gather_in_rounds() {
        for len in [0usize, 1, 3, 7, 8, 9, 31, 100] {
            let mine: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            for round in [16, 1 << 30] {
                let got = gather_bytes_in(&Echo, &mine, round, Gather::All);
                assert_eq!(got, vec![mine.clone(), mine.clone()], "{len} bytes, rounds of {round}");
                let got = gather_bytes_in(&Echo, &mine, round, Gather::Root);
                assert_eq!(got, vec![mine.clone(), mine.clone()], "{len} bytes, rounds of {round}, to process 0");
            }
        }
    }
}
