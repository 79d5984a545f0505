//! Outputs: `OUT/manifest.json`, one `.npy` file per recorded quantity,
//! `OUT/raster.svg` (when there are spike monitors) and `OUT/traces.svg` (when there are
//! state monitors; see [`plot`]). Every file is written atomically (temporary file in the same
//! directory, fsync, rename), so a reader never sees half a file. Writing into a directory
//! that holds an earlier run's outputs replaces them: the files its `manifest.json` listed
//! that this run does not write are removed (other files are left alone). While a run
//! writes, the earlier manifest is set aside ([`PREVIOUS_MANIFEST`]): a directory whose
//! writing failed has no `manifest.json`, so it is never taken for a complete run.
//!
//! # Files
//! - spikes monitor `M`: `M.t_ms.npy` (float64, spike times in ms) and `M.index.npy`
//!   (int64, neuron index within the population), both of shape `(n_spikes,)`, sorted by
//!   time, then index.
//! - state monitor `M`: `M.t_ms.npy` (float64, `(T,)`), `M.indices.npy` (int64, `(K,)`)
//!   and `M.VAR.npy` (float64, `(T, K)`: time × recorded neuron) for each variable.
//! - rate monitor `M`: `M.t_ms.npy` (float64, bin starts) and `M.rate_hz.npy`
//!   (float64, `(bins,)`).
//! - a population `P` with `positions`: `P.positions.npy` (float64, `(N, 3)`: x, y, z of
//!   each neuron, µm).

pub mod plot;
pub mod weights_plot;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::monitor::weights::WeightRecorder;
use crate::monitor::{RateRecorder, SpikeRecorder, StateRecorder};
use crate::net::RunInfo;
use crate::sim::Sim;
use crate::util::fsio::write_atomic;
use crate::{Error, Result};

/// Writes a float64 `.npy` of `shape` atomically (C order).
pub fn write_npy_f64(path: &Path, shape: &[u64], data: &[f64]) -> Result<()> {
    use npyz::WriterBuilder;
    write_atomic(path, |w| {
        let mut npy = npyz::WriteOptions::new().default_dtype().shape(shape).writer(w).begin_nd()?;
        npy.extend(data.iter().copied())?;
        npy.finish()
    })
}

fn write_npy_i64(path: &Path, shape: &[u64], data: &[i64]) -> Result<()> {
    use npyz::WriterBuilder;
    write_atomic(path, |w| {
        let mut npy = npyz::WriteOptions::new().default_dtype().shape(shape).writer(w).begin_nd()?;
        npy.extend(data.iter().copied())?;
        npy.finish()
    })
}

/// One output file, as listed in the manifest.
#[derive(Serialize, Clone, Debug)]
pub struct FileEntry {
    /// Path relative to OUT.
    pub path: String,
    /// The monitor that recorded it.
    pub monitor: String,
    /// What it holds (`t_ms`, `index`, a variable name, `rate_hz`).
    pub quantity: String,
    /// Unit of the values.
    pub unit: String,
    /// NumPy dtype.
    pub dtype: String,
    /// Array shape.
    pub shape: Vec<u64>,
}

/// Per-population summary.
#[derive(Serialize, Clone, Debug)]
pub struct PopulationSummary {
    /// Neurons.
    pub size: usize,
    /// Model.
    pub model: String,
    /// Spikes emitted during the run.
    pub spikes: u64,
    /// Mean rate, Hz.
    pub rate_hz: f64,
}

/// Per-projection summary.
#[derive(Serialize, Clone, Debug)]
pub struct ProjectionSummary {
    /// Source (as written).
    pub from: String,
    /// Target (as written).
    pub to: String,
    /// Synapses created.
    pub synapses: usize,
    /// Host bytes per synapse: weight (8; 4 for a kernel index into shared weights; 0 for
    /// a weight held once for all, `SynapseTable::uniform`),
    /// target index (4), per-synapse delay (4) and state variables (8 each); the row
    /// pointers (8 per source) are in `bytes`.
    pub bytes_per_synapse: usize,
    /// Host bytes of the table: synapses and row pointers.
    pub bytes: u64,
}

/// `manifest.json`.
#[derive(Serialize, Clone, Debug)]
pub struct Manifest {
    /// spikeworld's version.
    pub spikeworld_version: String,
    /// The scenario file.
    pub scenario: String,
    /// SHA-256 of the scenario file.
    pub scenario_sha256: String,
    /// `--set` overrides.
    pub overrides: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Step, ms.
    pub dt_ms: f64,
    /// Steps computed.
    pub steps: u64,
    /// Simulated time, ms.
    pub t_stop_ms: f64,
    /// Threads of the cpu engine.
    pub threads: usize,
    /// Shards the network was split into (1: one world).
    pub shards: usize,
    /// Engine.
    pub engine: crate::api::run::EngineKind,
    /// The build of the cpu engine's fused loop that ran (`portable`, `avx2`, `avx512`;
    /// every build gives the same bits): what its loop time was measured with.
    pub simd: crate::api::run::Simd,
    /// Whole command, s.
    pub wall_time_s: f64,
    /// Time building the network, s.
    pub build_time_s: f64,
    /// Time inside the stepping loop only, s.
    pub loop_time_s: f64,
    /// Populations by name.
    pub populations: std::collections::BTreeMap<String, PopulationSummary>,
    /// Projections by name.
    pub projections: std::collections::BTreeMap<String, ProjectionSummary>,
    /// The checkpoint this run was resumed from, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<String>,
    /// The device engine's memory on its device, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceSummary>,
    /// Output files.
    pub files: Vec<FileEntry>,
}

/// The device engine's backend and memory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceSummary {
    /// `cuda` or `host`.
    pub backend: String,
    /// Bytes of neuron-sized arrays (state, rings, spike words, indices, buckets).
    pub neuron_bytes: u64,
    /// Bytes of synapse-sized arrays.
    pub synapse_bytes: u64,
    /// Neuron bytes per neuron.
    pub bytes_per_neuron: f64,
    /// Synapse bytes per synapse.
    pub bytes_per_synapse: f64,
}

/// Timings measured by the caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Whole command, s.
    pub wall_time_s: f64,
    /// Building, s.
    pub build_time_s: f64,
    /// Stepping loop, s.
    pub loop_time_s: f64,
}

fn sel_text(name: &str, start: usize, end: usize, size: usize) -> String {
    if start == 0 && end == size { name.to_string() } else { format!("{name}[{start}:{end}]") }
}

impl Sim {
    /// Writes every monitor's data, the raster plot and `manifest.json` into `dir`.
    pub fn write_outputs(&self, dir: &Path, timings: Timings) -> Result<Manifest> {
        self.write_outputs_with(dir, timings, None)
    }

    /// [`Sim::write_outputs`], naming in the manifest the checkpoint the run resumed from.
    /// The outputs hold everything recorded since step 0: those of a resumed run equal
    /// those of a run that never stopped (except the timings and `resumed_from`).
    pub fn write_outputs_with(&self, dir: &Path, timings: Timings, resumed_from: Option<String>) -> Result<Manifest> {
        // First, before any file: a run split over processes sums its projections over
        // them (every process takes part; only the one holding shard 0 writes).
        let projections = self.projection_summaries();
        if !self.writes_outputs() {
            return Ok(self.manifest(timings, resumed_from, projections, Vec::new()));
        }
        check_out_dir(dir)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let sc = &self.scenario;
        let mut files = Vec::new();
        let add = |files: &mut Vec<FileEntry>, rel: String, monitor: &str, quantity: &str, unit: &str, dtype: &str, shape: Vec<u64>| {
            files.push(FileEntry { path: rel, monitor: monitor.into(), quantity: quantity.into(), unit: unit.into(), dtype: dtype.into(), shape });
        };
        let previous = previous_files(dir);
        let current = dir.join("manifest.json");
        if current.exists() {
            // (check_out_dir: it is spikeworld's.)
            std::fs::rename(&current, dir.join(PREVIOUS_MANIFEST)).map_err(|e| Error::io(&current, e))?;
        }
        let mut raster: Vec<plot::RasterSpikes<'_>> = Vec::new();
        let mut traces: Vec<plot::TracePanel> = Vec::new();
        let mut weights: Vec<(&WeightRecorder, &str)> = Vec::new();
        for (mi, &e) in self.monitors.iter().enumerate() {
            // (A state or weights monitor's target is a population.)
            let pop = || sc.monitors[mi].target.population().map(|s| &sc.populations[s.index]).expect("a population");
            if let Some(m) = self.world.get::<SpikeRecorder>(e) {
                let n = m.len() as u64;
                write_npy_f64(&dir.join(format!("{}.t_ms.npy", m.name)), &[n], &m.t_ms())?;
                write_npy_i64(&dir.join(format!("{}.index.npy", m.name)), &[n], &m.index())?;
                add(&mut files, format!("{}.t_ms.npy", m.name), &m.name, "t_ms", "ms", "<f8", vec![n]);
                add(&mut files, format!("{}.index.npy", m.name), &m.name, "index", "1", "<i8", vec![n]);
                raster.push(plot::RasterSpikes::Monitor(m));
            } else if let Some(m) = self.world.get::<StateRecorder>(e) {
                let t = m.t_ms.len() as u64;
                let k = m.indices.len() as u64;
                write_npy_f64(&dir.join(format!("{}.t_ms.npy", m.name)), &[t], &m.t_ms)?;
                let idx: Vec<i64> = m.indices.iter().map(|&i| i as i64).collect();
                write_npy_i64(&dir.join(format!("{}.indices.npy", m.name)), &[k], &idx)?;
                add(&mut files, format!("{}.t_ms.npy", m.name), &m.name, "t_ms", "ms", "<f8", vec![t]);
                add(&mut files, format!("{}.indices.npy", m.name), &m.name, "indices", "1", "<i8", vec![k]);
                for (slot, &vi) in m.vars.iter().enumerate() {
                    let var = &pop().model.vars()[vi];
                    let rel = format!("{}.{}.npy", m.name, var.name);
                    write_npy_f64(&dir.join(&rel), &[t, k], &m.data[slot])?;
                    add(&mut files, rel, &m.name, var.name, var.dim.unit(), "<f8", vec![t, k]);
                    traces.push(plot::TracePanel { monitor: m, slot, var: var.name, dim: var.dim });
                }
            } else if let Some(m) = self.world.get::<WeightRecorder>(e) {
                let unit = match &sc.monitors[mi].kind {
                    crate::scenario::MonitorKind::Weights { projection, .. } => pop().model.receptors()[sc.projections[*projection].receptor].dim.unit(),
                    _ => "1",
                };
                let t = m.t_ms.len() as u64;
                let name = &m.name;
                write_npy_f64(&dir.join(format!("{name}.t_ms.npy")), &[t], &m.t_ms)?;
                add(&mut files, format!("{name}.t_ms.npy"), name, "t_ms", "ms", "<f8", vec![t]);
                for (i, q) in ["mean", "std", "min", "max"].into_iter().enumerate() {
                    let col: Vec<f64> = m.stats.iter().map(|s| s[i]).collect();
                    write_npy_f64(&dir.join(format!("{name}.{q}.npy")), &[t], &col)?;
                    add(&mut files, format!("{name}.{q}.npy"), name, q, unit, "<f8", vec![t]);
                }
                let edges = m.edges();
                if !edges.is_empty() {
                    let b = m.bins as u64;
                    let counts: Vec<i64> = m.hist.iter().map(|&c| c as i64).collect();
                    write_npy_i64(&dir.join(format!("{name}.hist.npy")), &[t, b], &counts)?;
                    write_npy_f64(&dir.join(format!("{name}.hist_edges.npy")), &[b + 1], &edges)?;
                    add(&mut files, format!("{name}.hist.npy"), name, "hist", "1", "<i8", vec![t, b]);
                    add(&mut files, format!("{name}.hist_edges.npy"), name, "hist_edges", unit, "<f8", vec![b + 1]);
                }
                if !m.synapses.is_empty() {
                    let k = m.synapses.len() as u64;
                    let idx: Vec<i64> = m.synapses.iter().map(|&s| s as i64).collect();
                    write_npy_i64(&dir.join(format!("{name}.synapses.npy")), &[k], &idx)?;
                    write_npy_f64(&dir.join(format!("{name}.values.npy")), &[t, k], &m.values)?;
                    add(&mut files, format!("{name}.synapses.npy"), name, "synapses", "1", "<i8", vec![k]);
                    add(&mut files, format!("{name}.values.npy"), name, "values", unit, "<f8", vec![t, k]);
                }
                weights.push((m, unit));
            } else if let Some(m) = self.world.get::<RateRecorder>(e) {
                let bins = self.step_count().div_ceil(m.bin) as usize;
                let mut counts = m.counts.clone();
                counts.resize(bins, 0);
                let n = (m.end - m.start) as f64;
                // Each bin over the steps it holds: the last one may be cut short.
                let steps = self.step_count();
                let width_s = |b: usize| (m.bin.min(steps - b as u64 * m.bin)) as f64 * sc.dt_ms / 1000.0;
                let rate: Vec<f64> = counts.iter().enumerate().map(|(b, &c)| c as f64 / n / width_s(b)).collect();
                let t: Vec<f64> = (0..bins).map(|b| b as f64 * m.bin as f64 * sc.dt_ms).collect();
                write_npy_f64(&dir.join(format!("{}.t_ms.npy", m.name)), &[bins as u64], &t)?;
                write_npy_f64(&dir.join(format!("{}.rate_hz.npy", m.name)), &[bins as u64], &rate)?;
                add(&mut files, format!("{}.t_ms.npy", m.name), &m.name, "t_ms", "ms", "<f8", vec![bins as u64]);
                add(&mut files, format!("{}.rate_hz.npy", m.name), &m.name, "rate_hz", "Hz", "<f8", vec![bins as u64]);
            }
        }
        // Populations' positions (µm), a row per neuron: `POP.positions.npy`, `(N, 3)`.
        for p in &sc.populations {
            let Some(pos) = &p.positions else { continue };
            let rel = format!("{}.positions.npy", p.name);
            if files.iter().any(|f: &FileEntry| f.path == rel) {
                return Err(Error::Runtime(format!("population `{}`'s positions `{rel}` would overwrite a monitor's output of the same name: rename the monitor", p.name)));
            }
            let rows: Vec<f64> = (0..p.size).flat_map(|i| pos.axes.iter().map(move |a| a[i])).collect();
            write_npy_f64(&dir.join(&rel), &[p.size as u64, 3], &rows)?;
            add(&mut files, rel, &p.name, "positions", "um", "<f8", vec![p.size as u64, 3]);
        }
        // Plugins' arrays, made once: written here, and their exact spikes drawn below.
        let arrays: Vec<crate::api::output::OutputArray> = self.plugin_outputs.iter().flat_map(|h| h(&self.world)).collect();
        for a in &arrays {
            let rel = format!("{}.{}.npy", a.name, a.quantity);
            let ok_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
            if !ok_name(&a.name) || !ok_name(&a.quantity) {
                return Err(Error::Runtime(format!("a plugin's output `{rel}`: names must be ASCII letters, digits, `_`, `-`")));
            }
            if files.iter().any(|f: &FileEntry| f.path == rel) {
                return Err(Error::Runtime(format!("a plugin's output `{rel}` would overwrite another output of the same name")));
            }
            if a.shape.iter().product::<u64>() != a.data.len() as u64 {
                return Err(Error::Runtime(format!("a plugin's output `{rel}`: shape {:?} does not hold its {} values", a.shape, a.data.len())));
            }
            let dtype = match &a.data {
                crate::api::output::OutputData::F64(v) => {
                    write_npy_f64(&dir.join(&rel), &a.shape, v)?;
                    "<f8"
                }
                crate::api::output::OutputData::I64(v) => {
                    write_npy_i64(&dir.join(&rel), &a.shape, v)?;
                    "<i8"
                }
            };
            add(&mut files, rel, &a.name, &a.quantity, &a.unit, dtype, a.shape.clone());
        }
        // Plugins' populations that write exact spikes (`NAME.t_ms` and `NAME.index`) join
        // the raster below the monitors.
        let reported: Vec<crate::api::output::PluginPopulation> = self.plugin_populations.iter().flat_map(|h| h(&self.world)).collect();
        for p in &reported {
            let find = |q: &str| arrays.iter().find(|a| a.name == p.name && a.quantity == q).map(|a| &a.data);
            if let (Some(crate::api::output::OutputData::F64(t)), Some(crate::api::output::OutputData::I64(i))) = (find("t_ms"), find("index"))
                && t.len() == i.len()
                && u32::try_from(p.size).is_ok()
            {
                raster.push(plot::RasterSpikes::Arrays(&p.name, p.size as u32, t, i));
            }
        }
        if !raster.is_empty() {
            plot::raster_svg(&dir.join("raster.svg"), &raster, self.step_count() as f64 * sc.dt_ms)?;
        }
        if !traces.is_empty() {
            plot::traces_svg(&dir.join("traces.svg"), &traces, self.step_count() as f64 * sc.dt_ms)?;
        }
        if !weights.is_empty() {
            weights_plot::weights_svg(&dir.join("weights.svg"), &weights, self.step_count() as f64 * sc.dt_ms)?;
        }

        let manifest = self.manifest(timings, resumed_from, projections, files);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Runtime(e.to_string()))?;
        write_atomic(&dir.join("manifest.json"), |w| std::io::Write::write_all(w, &json))?;
        // What an earlier run wrote here and this one did not: removed, so that the
        // directory holds one run (the manifest lists its files).
        for old in previous.into_iter().chain([PREVIOUS_MANIFEST.to_string()]) {
            let stale = match old.as_str() {
                "raster.svg" => raster.is_empty(),
                "traces.svg" => traces.is_empty(),
                "weights.svg" => weights.is_empty(),
                _ => !manifest.files.iter().any(|f| f.path == old),
            };
            if stale {
                let p = dir.join(&old);
                if p.is_file() {
                    std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                }
            }
        }
        Ok(manifest)
    }

    /// Each projection's synapses and bytes, of every shard (collective over processes).
    fn projection_summaries(&self) -> std::collections::BTreeMap<String, ProjectionSummary> {
        let sc = &self.scenario;
        // Of every shard's table (one unless the run is sharded), over every process.
        let mut totals: Vec<u64> = (0..sc.projections.len())
            .flat_map(|i| {
                let tables = self.tables(i);
                let per = tables.first().map_or(0, |t| t.bytes_per_synapse());
                [tables.iter().map(|t| t.len() as u64).sum(), tables.iter().map(|t| (t.len() * per + 8 * t.csr.row_ptr.len()) as u64).sum()]
            })
            .collect();
        if let Some(p) = self.process() {
            p.all_sum(&mut totals);
        }
        sc.projections
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let per = self.tables(i).first().map_or(0, |t| t.bytes_per_synapse());
                let (n, bytes) = (totals[2 * i] as usize, totals[2 * i + 1]);
                let from = match &p.from {
                    crate::scenario::SourceRef::Population(s) => {
                        sel_text(&sc.populations[s.index].name, s.start, s.end, sc.populations[s.index].size)
                    }
                    crate::scenario::SourceRef::Encoder(s) => sel_text(&sc.encoders[s.index].name, s.start, s.end, sc.encoders[s.index].size),
                };
                let to = sel_text(&sc.populations[p.to.index].name, p.to.start, p.to.end, sc.populations[p.to.index].size);
                (p.name.clone(), ProjectionSummary { from, to, synapses: n, bytes_per_synapse: per, bytes })
            })
            .collect()
    }

    /// The manifest of the run so far.
    fn manifest(&self, timings: Timings, resumed_from: Option<String>, projections: std::collections::BTreeMap<String, ProjectionSummary>, files: Vec<FileEntry>) -> Manifest {
        let sc = &self.scenario;
        let info = self.world.resource::<RunInfo>().clone();
        let t_s = self.step_count() as f64 * sc.dt_ms / 1000.0;
        let counts = self.spike_counts();
        let rate = |c: u64, size: usize| if t_s > 0.0 && size > 0 { c as f64 / size as f64 / t_s } else { 0.0 };
        let mut populations: std::collections::BTreeMap<String, PopulationSummary> = sc
            .populations
            .iter()
            .zip(&counts)
            .map(|(p, &c)| (p.name.clone(), PopulationSummary { size: p.size, model: p.model.name().into(), spikes: c, rate_hz: rate(c, p.size) }))
            .collect();
        // Plugins' populations (event-driven ones), beside them.
        for hook in self.plugin_populations.iter() {
            for p in hook(&self.world) {
                populations.entry(p.name).or_insert(PopulationSummary { size: p.size, model: p.model, spikes: p.spikes, rate_hz: rate(p.spikes, p.size) });
            }
        }
        Manifest {
            spikeworld_version: env!("CARGO_PKG_VERSION").into(),
            scenario: sc.path.display().to_string(),
            scenario_sha256: sc.sha256.clone(),
            overrides: sc.overrides.clone(),
            seed: info.seed,
            dt_ms: sc.dt_ms,
            steps: self.step_count(),
            t_stop_ms: self.step_count() as f64 * sc.dt_ms,
            threads: info.threads,
            shards: self.shards(),
            engine: info.engine,
            simd: crate::api::run::Simd::chosen(),
            wall_time_s: timings.wall_time_s,
            build_time_s: timings.build_time_s,
            loop_time_s: timings.loop_time_s,
            populations,
            projections,
            resumed_from,
            device: self.world.get_resource::<crate::engine::device::DeviceNet>().map(|d| {
                let neurons: usize = self.populations.iter().filter_map(|&e| self.world.get::<crate::net::Population>(e)).map(|p| p.size).sum();
                let synapses: usize = self.synapse_counts().iter().sum();
                DeviceSummary {
                    backend: d.backend.to_string(),
                    neuron_bytes: d.bytes.0,
                    synapse_bytes: d.bytes.1,
                    bytes_per_neuron: d.bytes.0 as f64 / neurons.max(1) as f64,
                    bytes_per_synapse: d.bytes.1 as f64 / synapses.max(1) as f64,
                }
            }),
            files,
        }
    }
}

/// Whether outputs may be written into `dir`: not if it holds a `manifest.json` that
/// spikeworld did not write (one naming no `spikeworld_version`), which writing the run's
/// own would replace. The command line asks before a run starts, [`Sim::write_outputs`]
/// again before it writes.
pub fn check_out_dir(dir: &Path) -> Result<()> {
    let path = dir.join("manifest.json");
    if !path.exists() || our_manifest(&path).is_some() {
        return Ok(());
    }
    Err(Error::Input(format!("{}: a manifest.json that spikeworld did not write; outputs would replace it: name another output directory", path.display())))
}

/// The files an earlier run listed in `dir/manifest.json` (plain names in `dir` only), and
/// its plots (`raster.svg`, `traces.svg`, `weights.svg`). Nothing if that manifest is not
/// one that spikeworld wrote (it names no `spikeworld_version`): a directory the user
/// keeps other data in loses none of it.
fn previous_files(dir: &Path) -> Vec<String> {
    // Also those of a run whose writing failed after it set the manifest aside.
    let manifests: Vec<serde_json::Value> = ["manifest.json", PREVIOUS_MANIFEST].iter().filter_map(|m| our_manifest(&dir.join(m))).collect();
    if manifests.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<String> = manifests
        .iter()
        .flat_map(|v| v["files"].as_array().into_iter().flatten().filter_map(|f| f["path"].as_str()).filter(|p| is_plain_name(p)).map(str::to_string))
        .collect();
    out.extend(["raster.svg", "traces.svg", "weights.svg"].map(String::from));
    out.sort();
    out.dedup();
    out
}

/// Where an earlier run's `manifest.json` is moved while a run writes its outputs: the
/// directory has no manifest until the new one is complete (a reader never takes a
/// half-written directory for a run), and a later run still finds what to remove.
pub const PREVIOUS_MANIFEST: &str = ".manifest-previous.json";

/// The manifest at `path` if spikeworld wrote it (it names a `spikeworld_version`).
fn our_manifest(path: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok().filter(|v| v["spikeworld_version"].is_string())
}

fn is_plain_name(p: &str) -> bool {
    !p.is_empty() && p != "." && p != ".." && p != "manifest.json" && !p.contains(['/', '\\'])
}

/// The default output directory for a scenario: `out/<file stem>`.
pub fn default_out_dir(scenario: &Path) -> PathBuf {
    let stem = scenario.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "run".into());
    PathBuf::from("out").join(stem)
}
