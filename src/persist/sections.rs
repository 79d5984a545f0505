//! The simulation's state as checkpoint sections: save, load and restore.

// ---------------------------------------------------------------------------------------
// The simulation's state.

use std::io::Write;
use std::path::{Path, PathBuf};

use bevy_ecs::prelude::*;

use crate::api::run::RunOptions;
use sha2::{Digest, Sha256};

use crate::api::state::{CountingWriter, StateError, StateReader, StateWriter};
use crate::monitor::{RateRecorder, SpikeRecorder, StateRecorder};
use crate::net::synapse::SynapseTable;
use crate::monitor::weights::WeightRecorder;
use crate::net::plastic::Modulators;
use crate::net::{Clock, EncoderSlot, EntityLabel, InputRing, NeuronState, SpikeHistory, Spikes};
use crate::persist::format::{CheckpointFile, Header, cerr, short, write_file};
use crate::registry::{SimBuilder, StateSection};
use crate::scenario::{LoadOptions, Scenario};
use crate::sim::Sim;
use crate::Result;

/// Passes bytes on and counts them.
/// Hashes what is read through it (a section, as it is loaded).
struct HashingReader<'a> {
    inner: &'a mut dyn std::io::Read,
    hash: Sha256,
}

impl std::io::Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.hash.update(&buf[..k]);
        Ok(k)
    }
}

/// Hashes and counts what is written to it (a loaded section saved again).
struct HashingWriter {
    n: u64,
    hash: Sha256,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.update(buf);
        self.n += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct CountingTee<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for CountingTee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The core's own sections, in checkpoint order (their names are
/// [`crate::registry::CORE_SECTIONS`]).
fn core_sections() -> Vec<StateSection> {
    vec![
        StateSection::resource::<Clock>("clock"),
        StateSection::resource::<Modulators>("modulators"),
        StateSection::component::<NeuronState>("neuron_state"),
        StateSection::component::<InputRing>("input_ring"),
        StateSection::component::<Spikes>("spikes"),
        StateSection::component::<SpikeHistory>("spike_history"),
        StateSection::component::<SynapseTable>("synapse_table"),
        StateSection::component::<EncoderSlot>("encoder"),
        StateSection::component::<SpikeRecorder>("spike_recorder"),
        StateSection::component::<StateRecorder>("state_recorder"),
        StateSection::component::<RateRecorder>("rate_recorder"),
        StateSection::component::<WeightRecorder>("weight_recorder"),
    ]
}

/// What [`Sim::save`] wrote.
#[derive(Clone, Debug)]
pub struct Saved {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The step it holds.
    pub step: u64,
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()))
}

impl Sim {
    /// The header a checkpoint of the current state gets.
    pub fn checkpoint_header(&self) -> Header {
        let sc = &self.scenario;
        Header {
            spikeworld_version: env!("CARGO_PKG_VERSION").into(),
            scenario_sha256: sc.sha256.clone(),
            scenario_path: sc.path.display().to_string(),
            scenario_abs_path: absolute(&sc.path).display().to_string(),
            scenario_text: sc.text.clone(),
            overrides: sc.overrides.clone(),
            seed: sc.seed,
            dt_ms: sc.dt_ms,
            step: self.step_count(),
            inputs: sc.inputs.clone(),
        }
    }

    /// Writes a checkpoint of the current state to `path`, atomically (temporary file,
    /// fsync, rename: an interrupted write leaves any previous file at `path` intact).
    pub fn save(&self, path: &Path) -> Result<Saved> {
        if let Some(p) = self.process() {
            return self.save_processes(path, &*p);
        }
        let mut bytes = 0;
        crate::util::fsio::write_atomic(path, |w| {
            bytes = self.write_checkpoint(w)?;
            Ok(())
        })?;
        tracing::debug!(bytes, step = self.step_count(), "checkpoint written to {}", path.display());
        Ok(Saved { path: path.to_path_buf(), bytes, step: self.step_count() })
    }

    /// Writes a whole checkpoint to `w` (streamed from the simulation's buffers); returns
    /// the bytes written.
    pub fn write_checkpoint(&self, w: &mut dyn Write) -> std::io::Result<u64> {
        if self.process().is_some() {
            return Err(std::io::Error::other("a run split over processes writes its checkpoint with Sim::save, in every process"));
        }
        write_file(w, &self.checkpoint_header(), |w| self.write_body(w, &mut |_, _| None))
    }

    /// [`Sim::save`] of a run split over processes: every process sends its parts, and
    /// process 0 writes the file one process would write (`persist::processes`), one
    /// gathered section at a time.
    fn save_processes(&self, path: &Path, p: &dyn crate::api::transport::Transport) -> Result<Saved> {
        let order = self.gathered_order();
        // Every process must gather the same sections: another list would pair one
        // process's collective with another's and hang, so the count and a hash of the
        // names are compared first (their maximum and minimum over the processes).
        let names = order.iter().fold(Vec::new(), |mut v, (s, e)| {
            v.extend_from_slice(s.name.as_bytes());
            v.push(0);
            v.extend_from_slice(self.label(*e).as_bytes());
            v.push(0);
            v
        });
        let mine = [order.len() as u64, xxhash_rust::xxh3::xxh3_64(&names)];
        let mut all = [mine[0], u64::MAX - mine[0], mine[1], u64::MAX - mine[1]];
        p.all_max(&mut all);
        if all != [mine[0], u64::MAX - mine[0], mine[1], u64::MAX - mine[1]] {
            return Err(crate::Error::Runtime(format!(
                "{}: the processes hold different sections to gather ({} here, {} to {} in all, or other names): a plugin's split resource missing in some process",
                path.display(),
                order.len(),
                u64::MAX - all[1],
                all[0]
            )));
        }
        let same = |(s, e): &(StateSection, Option<Entity>), t: &StateSection, f: Option<Entity>| s.name == t.name && *e == f;
        let mut next = 0usize;
        let mut bytes = [0u64];
        let mut written = Ok(());
        if p.rank() == 0 {
            let mut gather = |s: &StateSection, e: Option<Entity>| -> Option<std::io::Result<super::processes::Gathered>> {
                if order.get(next).is_some_and(|x| same(x, s, e)) {
                    next += 1;
                    Some(self.gather_section(s, e, p))
                } else if order.iter().any(|x| same(x, s, e)) {
                    Some(Err(std::io::Error::other(format!("section `{}` reached out of the gathering order (a bug)", s.name))))
                } else {
                    None
                }
            };
            written = crate::util::fsio::write_atomic(path, |w| {
                bytes[0] = write_file(w, &self.checkpoint_header(), |w| self.write_body(w, &mut gather))?;
                Ok(())
            });
        }
        // The gathers process 0 did not reach (after a failure), and every gather in the
        // other processes: each process takes part in all of them.
        let mut own_error = None;
        for (s, e) in &order[next..] {
            if let Err(err) = self.gather_section(s, *e, p) {
                own_error.get_or_insert(err);
            }
        }
        // Every process learns whether the file was written, and its size.
        let mut failed = [u64::from(written.is_err() || own_error.is_some())];
        p.all_max(&mut failed);
        p.all_max(&mut bytes);
        written?;
        if let Some(err) = own_error {
            return Err(crate::Error::Runtime(format!("{}: {err}", path.display())));
        }
        if failed[0] != 0 {
            return Err(crate::Error::Runtime(format!("{}: a process failed while the checkpoint was gathered or written (its output says why); do not resume from this file", path.display())));
        }
        Ok(Saved { path: path.to_path_buf(), bytes: bytes[0], step: self.step_count() })
    }

    /// Every section with the entity it is saved for (`None` for a resource), in
    /// checkpoint order.
    pub(super) fn section_order(&self) -> Vec<(StateSection, Option<Entity>)> {
        let all: Vec<StateSection> = core_sections().into_iter().chain(self.plugin_sections.iter().cloned()).collect();
        let mut out: Vec<(StateSection, Option<Entity>)> =
            all.iter().filter(|s| !s.per_entity && (s.has)(&self.world, Entity::PLACEHOLDER)).map(|s| (s.clone(), None)).collect();
        let entities = self.populations.iter().chain(&self.projections).chain(&self.encoders).chain(&self.monitors);
        for &e in entities {
            for s in all.iter().filter(|s| s.per_entity) {
                if (s.has)(&self.world, e) {
                    out.push((s.clone(), Some(e)));
                }
            }
        }
        out
    }

    fn label(&self, e: Option<Entity>) -> String {
        match e {
            None => "(resource)".into(),
            Some(e) => self.world.get::<EntityLabel>(e).map_or_else(|| format!("{e:?}"), |l| l.0.clone()),
        }
    }

    /// Section `s` of shard 0's entity `e` (`None`: a resource) as one world would save
    /// it. A sharded run's populations and projections are gathered from every shard's
    /// part (state and rings by neuron range, synapse tables row by row); the rest is the
    /// same in every shard (clock, spikes, histories, encoders) or lives in shard 0
    /// (monitors), and is shard 0's. Checkpoints are therefore the same for any number of
    /// shards, and resume with any number.
    fn save_section(&self, s: &StateSection, e: Option<Entity>, w: &mut StateWriter<'_>) -> Option<std::io::Result<()>> {
        // A resource split over shards: one world's section merged from every shard's part
        // (under MPI, `gather_section` merged it through `merge_processes`).
        if let Some(merge) = s.merge
            && e.is_none()
            && self.shards() > 1
            && self.process().is_none()
        {
            let mut parts = Vec::new();
            for (w, _) in self.shard_worlds(None) {
                let mut bytes = Vec::new();
                if let Some(Err(err)) = (s.save)(w, Entity::PLACEHOLDER, &mut StateWriter::new(&mut bytes)) {
                    return Some(Err(err));
                }
                parts.push(bytes);
            }
            let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            return merge(&self.world, &parts, w);
        }
        // (Under MPI this process holds one shard: `gather_section` gathered these.)
        if self.shards() > 1
            && e.is_some()
            && self.process().is_none()
        {
            let ws = self.shard_worlds(e);
            macro_rules! gather {
                ($t:ty) => {{
                    let parts: Option<Vec<&$t>> = ws.iter().map(|(w, e)| w.get::<$t>((*e)?)).collect();
                    return parts.map(|p| <$t>::save_concat(&p, w));
                }};
            }
            match s.name {
                "neuron_state" => gather!(NeuronState),
                "input_ring" => gather!(InputRing),
                "synapse_table" => gather!(SynapseTable),
                _ => {}
            }
        }
        (s.save)(&self.world, e.unwrap_or(Entity::PLACEHOLDER), w)
    }

    /// Splits a gathered section (neuron state, rings, a synapse table: each shard takes
    /// its stretch) as it reads it from `r` (a table's arrays go straight into the
    /// shards; a state variable or a ring is read whole, then split); `false` for any
    /// other section (which every shard loads whole: [`Self::load_section_sharded`]).
    fn load_split_sharded(&mut self, name: &str, e: Entity, r: &mut StateReader<'_>) -> Result<bool, StateError> {
        let mut ws = self.shard_worlds_mut(Some(e));
        macro_rules! split {
            ($t:ty) => {{
                let mut parts: Vec<Mut<'_, $t>> = ws.iter_mut().filter_map(|(w, e)| w.get_mut::<$t>((*e)?)).collect();
                let mut refs: Vec<&mut $t> = parts.iter_mut().map(|m| &mut **m).collect();
                <$t>::load_split(&mut refs, r)?;
                Ok(true)
            }};
        }
        match name {
            "neuron_state" => split!(NeuronState),
            "input_ring" => split!(InputRing),
            "synapse_table" => split!(SynapseTable),
            _ => Ok(false),
        }
    }

    /// Loads a section that is the same in every shard (or only in shard 0: monitors)
    /// into each shard's world from its bytes.
    fn load_section_sharded(&mut self, s: &StateSection, e: Option<Entity>, bytes: &[u8]) -> Result<(), StateError> {
        let len = bytes.len() as u64;
        let ws = self.shard_worlds_mut(e);
        for (k, (w, we)) in ws.into_iter().enumerate() {
            // Monitors have no counterpart in shards above 0.
            let Some(we) = we else { continue };
            let mut src = bytes;
            let mut r = StateReader::new(&mut src, len);
            match (s.load)(w, we, &mut r) {
                None if k == 0 => return Err(StateError("missing in the rebuilt network".into())),
                None => continue,
                Some(res) => res?,
            }
            if r.remaining() != 0 {
                return Err(StateError(format!("its load_state left {} of its {len} bytes unread (a bug in the component)", r.remaining())));
            }
        }
        Ok(())
    }

    /// The body: every section; `gathered` gives what process 0 gathered of a section from
    /// the processes (`None` for a section this process saves itself).
    fn write_body(&self, w: &mut StateWriter<'_>, gathered: &mut dyn FnMut(&StateSection, Option<Entity>) -> Option<std::io::Result<super::processes::Gathered>>) -> std::io::Result<()> {
        for (s, e) in self.section_order() {
            w.str(s.name)?;
            if e.is_some() {
                w.str(&self.label(e))?;
            }
            // Two passes: the length first (written before the section, as a MessagePack
            // unsigned integer: a section may be larger than a `bin`), then the bytes,
            // streamed; a section is never held in memory (a run split over processes holds
            // the others' parts of the one it gathered).
            let from_processes = match gathered(&s, e) {
                Some(g) => Some(g?),
                None => None,
            };
            let save = |w: &mut StateWriter<'_>| match &from_processes {
                Some(g) => Some(self.write_gathered(e, g, w)),
                None => self.save_section(&s, e, w),
            };
            let mut count = CountingWriter::default();
            save(&mut StateWriter::new(&mut count)).unwrap_or_else(|| Err(std::io::Error::other(format!("section `{}` vanished", s.name))))?;
            w.u64(count.0)?;
            let mut second = CountingTee { inner: w.inner(), n: 0 };
            save(&mut StateWriter::new(&mut second)).unwrap_or(Ok(()))?;
            if second.n != count.0 {
                return Err(std::io::Error::other(format!(
                    "section `{}` of {}: save_state wrote {} bytes, then {} (it must write the same bytes every time: a bug in the component)",
                    s.name,
                    self.label(e),
                    count.0,
                    second.n
                )));
            }
        }
        w.str("end")
    }

    /// Rebuilds the simulation a checkpoint was taken from, with the scenario stored in it,
    /// and restores its state (cpu engine, one thread). Its end is the scenario's `t_stop`.
    pub fn load(path: &Path, builder: &SimBuilder) -> Result<Sim> {
        Self::load_with(path, builder, &RunOptions::default(), None, None)
    }

    /// [`Sim::load`] with run options, optionally the scenario file to rebuild from (it must
    /// be the checkpoint's scenario: its SHA-256 is checked), and a memory limit in bytes
    /// (`--max-memory`; default as [`LoadOptions::max_memory`]).
    pub fn load_with(path: &Path, builder: &SimBuilder, opts: &RunOptions, scenario: Option<&Path>, max_memory: Option<u64>) -> Result<Sim> {
        let file = CheckpointFile::open(path)?;
        let h = file.header.clone();
        let lo = LoadOptions { overrides: h.overrides.clone(), seed: Some(h.seed), max_memory };
        let sc = match scenario {
            Some(s) => {
                let sc = Scenario::load(s, builder.registry(), &lo)?;
                if sc.sha256 != h.scenario_sha256 {
                    return Err(cerr(
                        path,
                        format!(
                            "written for scenario {} (sha256 {}), but {} has sha256 {}: another scenario, or an edited one",
                            h.scenario_path,
                            short(&h.scenario_sha256),
                            s.display(),
                            short(&sc.sha256)
                        ),
                    ));
                }
                sc
            }
            None => {
                let given = PathBuf::from(&h.scenario_path);
                let at = if absolute(&given).display().to_string() == h.scenario_abs_path { given } else { PathBuf::from(&h.scenario_abs_path) };
                let sc = Scenario::from_str(&h.scenario_text, &at, builder.registry(), &lo)?;
                if sc.sha256 != h.scenario_sha256 {
                    return Err(cerr(path, "the stored scenario text does not match its SHA-256"));
                }
                sc
            }
        };
        if sc.dt_ms.to_bits() != h.dt_ms.to_bits() || sc.seed != h.seed {
            return Err(cerr(path, format!("its header says dt = {} ms, seed {}; its scenario gives dt = {} ms, seed {}: a damaged or altered checkpoint", h.dt_ms, h.seed, sc.dt_ms, sc.seed)));
        }
        // The same scenario reads the same files in the same order; other bytes would give
        // another run (checkpoints written before the digests were kept have none).
        if let Some((p, then, now)) = crate::util::inputs::first_change(&h.inputs, &sc.inputs) {
            return Err(cerr(path, format!("the input file `{p}` has changed since the checkpoint was written (digest {} then, {} now): resuming would not give the run that never stopped; restore the file or start a new run", &then[..12.min(then.len())], &now[..12.min(now.len())])));
        }
        let mut sim = builder.build(sc, opts)?;
        sim.restore_from(file)?;
        Ok(sim)
    }

    /// Restores the state of a checkpoint of this same simulation (same scenario file,
    /// overrides and seed) into `self`, like Brian2's `restore()`: the network is not
    /// rebuilt.
    pub fn restore(&mut self, path: &Path) -> Result<()> {
        let file = CheckpointFile::open(path)?;
        let h = &file.header;
        let sc = &self.scenario;
        if h.scenario_sha256 != sc.sha256 || h.overrides != sc.overrides || h.seed != sc.seed {
            return Err(cerr(
                path,
                format!(
                    "written for scenario {} (sha256 {}, seed {}, {} overrides), not for this simulation's {} (sha256 {}, seed {}, {} overrides)",
                    h.scenario_path,
                    short(&h.scenario_sha256),
                    h.seed,
                    h.overrides.len(),
                    sc.path.display(),
                    short(&sc.sha256),
                    sc.seed,
                    sc.overrides.len()
                ),
            ));
        }
        if let Some((p, then, now)) = crate::util::inputs::first_change(&h.inputs, &sc.inputs) {
            return Err(cerr(path, format!("written with the input file `{p}` at digest {}; this simulation read it at {}", &then[..12.min(then.len())], &now[..12.min(now.len())])));
        }
        self.restore_from(file)
    }

    fn restore_from(&mut self, file: CheckpointFile) -> Result<()> {
        let step = file.header.step;
        file.read_body(|r| self.read_body(r, step))?;
        crate::engine::device::after_load(&mut self.world);
        // A resumed run ends where the scenario does (`t_stop`), or at once if the
        // checkpoint is already past it; `resume --until` moves it.
        let end = self.scenario.steps.max(step);
        self.set_end(end);
        Ok(())
    }

    fn read_body(&mut self, r: &mut StateReader<'_>, step: u64) -> Result<(), StateError> {
        let dummy = Entity::PLACEHOLDER;
        for (s, e) in self.section_order() {
            let label = self.label(e);
            let what = if e.is_some() { format!("{label}: section `{}`", s.name) } else { format!("section `{}`", s.name) };
            r.expect(s.name, "section name")?;
            if e.is_some() {
                r.expect(&label, &format!("the entity of section `{}`", s.name))?;
            }
            // The section is read straight from the file (never held whole), hashed as it is
            // read; saving the loaded component again must give the same bytes (hash and
            // length): the round-trip check, in constant memory.
            let len = r.u64(&what)?;
            let process = self.process();
            if let (Some(p), Some(e)) = (&process, e)
                && super::processes::GATHERED.contains(&s.name)
            {
                // This process's stretch of a gathered section (every process reads it, as
                // it reads it from the file).
                let mut sub = StateReader::new(r.reserve(len, &what)?, len);
                self.load_section_process(s.name, e, &mut sub, &**p).map_err(|err| StateError(format!("{what}: {err}")))?;
                continue;
            }
            if let (Some(p), None, Some(_)) = (&process, e, s.merge) {
                // A resource split over processes: every process loads the whole section
                // and keeps its own part; the parts, merged again, must give the same bytes.
                let src = r.reserve(len, &what)?;
                let mut bytes = vec![0u8; usize::try_from(len).map_err(|_| StateError(format!("{what}: {len} bytes")))?];
                std::io::Read::read_exact(src, &mut bytes).map_err(|err| StateError(format!("{what}: {err}")))?;
                let mut src = bytes.as_slice();
                let mut sub = StateReader::new(&mut src, len);
                let loaded = (s.load)(&mut self.world, dummy, &mut sub).unwrap_or_else(|| Err(StateError(format!("{what}: missing in the rebuilt network"))));
                let left = sub.remaining();
                // (Every process takes part in the merge, even one whose load failed: none
                // waits for another.)
                let again = self.merge_processes(&s, &**p);
                loaded.map_err(|err| StateError(format!("{what}: {err}")))?;
                if left != 0 {
                    return Err(StateError(format!("{what}: its load_state left {left} of its {len} bytes unread (a bug in the component)")));
                }
                let again = again.map_err(|err| StateError(format!("{what}: {err}")))?;
                if again != bytes {
                    return Err(StateError(format!("{what}: state does not round-trip over the processes (merged again, it differs from what was loaded)")));
                }
                continue;
            }
            if self.shards() > 1
                && process.is_none()
                && let Some(e) = e
                && super::processes::GATHERED.contains(&s.name)
            {
                // Split over the shards as it is read (each takes its stretch; a table's
                // arrays are never held whole), hashed as it is read; saved again
                // (gathered from the shards), it must give the same bytes.
                let mut hashed = HashingReader { inner: r.reserve(len, &what)?, hash: Sha256::new() };
                let mut sub = StateReader::new(&mut hashed, len);
                let split = self.load_split_sharded(s.name, e, &mut sub).map_err(|err| StateError(format!("{what}: {err}")))?;
                if !split {
                    return Err(StateError(format!("{what}: not a section the shards split (a bug)")));
                }
                if sub.remaining() != 0 {
                    return Err(StateError(format!("{what}: {} of its {len} bytes left unread", sub.remaining())));
                }
                let digest = hashed.hash.finalize();
                let mut again = HashingWriter { n: 0, hash: Sha256::new() };
                self.save_section(&s, Some(e), &mut StateWriter::new(&mut again)).unwrap_or(Ok(())).map_err(|err| StateError(err.to_string()))?;
                if again.n != len || again.hash.finalize() != digest {
                    return Err(StateError(format!("{what}: state does not round-trip over the shards (saved again, it differs from what was loaded)")));
                }
                continue;
            }
            if self.shards() > 1 && process.is_none() {
                // A sharded run holds a section every shard loads whole in memory, to load
                // it into each. (`reserve` checks the length against the file before
                // anything is allocated.)
                let src = r.reserve(len, &what)?;
                let mut bytes = vec![0u8; usize::try_from(len).map_err(|_| StateError(format!("{what}: {len} bytes")))?];
                std::io::Read::read_exact(src, &mut bytes).map_err(|err| StateError(format!("{what}: {err}")))?;
                self.load_section_sharded(&s, e, &bytes).map_err(|err| StateError(format!("{what}: {err}")))?;
                let mut again = HashingWriter { n: 0, hash: Sha256::new() };
                self.save_section(&s, e, &mut StateWriter::new(&mut again)).unwrap_or(Ok(())).map_err(|err| StateError(err.to_string()))?;
                if again.n != len || again.hash.finalize() != Sha256::digest(&bytes) {
                    return Err(StateError(format!("{what}: state does not round-trip over the shards (saved again, it differs from what was loaded)")));
                }
                continue;
            }
            let mut hashed = HashingReader { inner: r.reserve(len, &what)?, hash: Sha256::new() };
            let mut sub = StateReader::new(&mut hashed, len);
            (s.load)(&mut self.world, e.unwrap_or(dummy), &mut sub)
                .unwrap_or_else(|| Err(StateError(format!("{what}: missing in the rebuilt network"))))
                .map_err(|err| StateError(format!("{what}: {err}")))?;
            if sub.remaining() != 0 {
                return Err(StateError(format!("{what}: its load_state left {} of its {len} bytes unread (a bug in the component)", sub.remaining())));
            }
            let loaded = hashed.hash.finalize();
            let mut again = HashingWriter { n: 0, hash: Sha256::new() };
            (s.save)(&self.world, e.unwrap_or(dummy), &mut StateWriter::new(&mut again)).unwrap_or(Ok(())).map_err(|err| StateError(err.to_string()))?;
            if again.n != len || again.hash.finalize() != loaded {
                return Err(StateError(format!(
                    "{what}: state does not round-trip (save_state after load_state differs from what was loaded): a bug in the component"
                )));
            }
        }
        match self.process() {
            // A process above 0 has no monitors (their sections come last).
            Some(p) if p.rank() > 0 => super::processes::skip_to_end(r)?,
            _ => r.expect("end", "section name")?,
        }
        let s = self.step_count();
        if s != step {
            return Err(StateError(format!("the clock says step {s}, the header step {step}")));
        }
        Ok(())
    }
}
