//! `[[event_source]]`: spikes at exact times, from data, for event populations.
//!
//! ```toml
//! [[event_source]]
//! name = "digits"
//! kind = "gaussian_tuning"     # SpikingFlow's event_driven.encoding.GaussianTuning
//! x = "../data/digits/x.npy"   # features [P, n] (relative to the scenario)
//! tuning = 6                   # m neurons per feature: n·m afferents
//! window = "50 ms"             # sample k is presented in [k·T, (k+1)·T), spike times in it
//! first = 0                    # first sample presented (default 0)
//! count = 100                  # samples presented (default: the rest of the file)
//! round_times = true           # whole-ms spike times, as the seed (default true)
//! ```
//!
//! Feature ranges are those of the whole file (as `[tempotron]` training); a constant
//! feature gets `[x, x + 1]`. An `[[event_population.input]]` names the source in `from`.
//! Nothing of a source is checkpointed: which spikes were sent is a function of the time.

use std::path::PathBuf;
use std::sync::Arc;

use bevy_ecs::prelude::{Resource, World};
use spikeworld::api::addon::{ScenarioTable, TableConfig, TableCtx};
use spikeworld::prelude::*;
use spikeworld::util::table::Table;

use crate::class_task::feature_ranges;
use crate::gaussian_tuning::GaussianTuning;

/// One `[[event_source]]`.
#[derive(Clone, Debug)]
pub struct EventSourceDef {
    /// Name.
    pub name: String,
    /// The file, for messages.
    pub path: PathBuf,
    /// Features `[P, n]`, row-major.
    pub x: Arc<Vec<f64>>,
    /// Features per sample.
    pub n: usize,
    /// Tuning neurons per feature.
    pub m: usize,
    /// T (ms).
    pub window_ms: f64,
    /// First sample presented.
    pub first: usize,
    /// Samples presented.
    pub count: usize,
    /// Whole-ms spike times.
    pub round: bool,
}

impl EventSourceDef {
    /// Afferents (`n·m`).
    pub fn size(&self) -> usize {
        self.n * self.m
    }
}

/// The event sources of a scenario, in document order.
#[derive(Resource, Default, Clone, Debug)]
pub struct SourceDefs(pub Vec<EventSourceDef>);

impl TableConfig for EventSourceDef {
    fn insert(&self, world: &mut World) {
        world.get_resource_or_insert_with(SourceDefs::default).0.push(self.clone());
    }
    fn defines(&self) -> Option<(String, usize)> {
        Some((self.name.clone(), self.size()))
    }
    fn in_shards(&self) -> Result<(), &'static str> {
        // Every shard draws the sources' spikes whole (the same in each) and sends them
        // to its own event neurons.
        Ok(())
    }
}

const KEYS: &[ParamSpec] = &[
    ParamSpec::required("name", Dim::Dimensionless, "the source's name (what [[event_population.input]] names in `from`)"),
    ParamSpec::required("kind", Dim::Dimensionless, "\"gaussian_tuning\" (SpikingFlow's event-driven GaussianTuning)"),
    ParamSpec::required("x", Dim::Dimensionless, "features .npy [samples, n] (relative to the scenario)"),
    ParamSpec::new("tuning", Dim::Dimensionless, 6.0, "m neurons per feature (> 2): n·m afferents"),
    ParamSpec::required("window", Dim::Time, "T: sample k is presented in [k·T, (k+1)·T)"),
    ParamSpec::new("first", Dim::Dimensionless, 0.0, "first sample presented"),
    ParamSpec::optional("count", Dim::Dimensionless, "samples presented (default: the rest of the file)"),
    ParamSpec::optional("round_times", Dim::Dimensionless, "round spike times to whole ms as the seed (default true)"),
];

/// The `[[event_source]]` table.
pub struct EventSourceTable;

impl ScenarioTable for EventSourceTable {
    fn name(&self) -> &'static str {
        "event_source"
    }
    fn doc(&self) -> &'static str {
        "spikes at exact times from data for event populations: kind = \"gaussian_tuning\" presents the rows of a features file one per window, Gaussian-tuned into spike times"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &TableCtx) -> Result<Arc<dyn TableConfig>, ScenarioError> {
        let (name, _) = t.str("name")?;
        let (kind, knode) = t.str("kind")?;
        if kind != "gaussian_tuning" {
            return Err(t.err(knode, "kind", format!("unknown event source \"{kind}\"; valid: \"gaussian_tuning\"")));
        }
        let (file, fnode) = t.str("x")?;
        let path = ctx.base_dir.join(file);
        let a = spikeworld::util::npy::read_npy_f64(&path, None).map_err(|m| t.err(fnode, "x", m))?;
        if a.shape.len() != 2 || a.shape[0] == 0 || a.shape[1] == 0 {
            return Err(t.err(fnode, "x", format!("`{}` has shape {:?}; expected [samples, features]", path.display(), a.shape)));
        }
        if let Some(v) = a.values.iter().find(|v| !v.is_finite()) {
            return Err(t.err(fnode, "x", format!("`{}` holds {v}; features must be finite", path.display())));
        }
        let (p, n) = (a.shape[0], a.shape[1]);
        let m = match t.opt_count("tuning")? {
            None => 6,
            Some((v, node)) if !(3..=1 << 16).contains(&v) => return Err(t.err(node, "tuning", "must be 3 to 65536 (GaussianTuning needs m > 2)")),
            Some((v, _)) => v as usize,
        };
        if n.checked_mul(m).is_none_or(|s| s > u32::MAX as usize) {
            return Err(t.err(fnode, "x", "features × tuning exceed 2^32 afferents"));
        }
        let (w, wnode) = t.quantity("window", Dim::Time)?;
        if !(w.is_finite() && w > 0.0) {
            return Err(t.err(wnode, "window", format!("must be a positive time, found {w} ms")));
        }
        let first = match t.opt_count("first")? {
            None => 0,
            Some((v, node)) if v as usize >= p => return Err(t.err(node, "first", format!("is {v}; the file has {p} samples"))),
            Some((v, _)) => v as usize,
        };
        let count = match t.opt_count("count")? {
            None => p - first,
            Some((v, node)) if v == 0 || first + v as usize > p => return Err(t.err(node, "count", format!("must be 1 to {} (samples from `first` on)", p - first))),
            Some((v, _)) => v as usize,
        };
        let round = t.opt_bool("round_times")?.unwrap_or(true);
        Ok(Arc::new(EventSourceDef { name: name.to_string(), path, x: Arc::new(a.values), n, m, window_ms: w, first, count, round }))
    }
}

/// A source at run time: the tuning and the current sample's spikes.
#[derive(Debug)]
pub struct EventSource {
    /// The definition.
    pub def: EventSourceDef,
    tuning: GaussianTuning,
    /// The last two presentations k and their spikes (time in the window, afferent),
    /// sorted.
    cached: Vec<(u64, Vec<(f64, u32)>)>,
}

impl EventSource {
    /// Builds the tuning from the file's ranges.
    pub fn new(def: EventSourceDef) -> Result<Self, String> {
        let (lo, hi) = feature_ranges(&def.x, def.n);
        let tuning = GaussianTuning::new(def.m, &lo, &hi).map_err(|e| format!("event source `{}`: {e}", def.name))?;
        Ok(EventSource { def, tuning, cached: Vec::new() })
    }

    /// Spikes `(absolute time, afferent, presentation)` in `[t0, t_end)`, in (time,
    /// afferent) order.
    pub fn spikes_in(&mut self, t0: f64, t_end: f64, out: &mut Vec<(f64, u32, u64)>) -> Result<(), String> {
        out.clear();
        let t = self.def.window_ms;
        let first_k = (t0 / t) as u64;
        let mut k = first_k.saturating_sub(1);
        while (k as f64) * t < t_end && (k as usize) < self.def.count {
            let start = k as f64 * t;
            if !self.cached.iter().any(|c| c.0 == k) {
                let s = self.def.first + k as usize;
                let row = &self.def.x[s * self.def.n..(s + 1) * self.def.n];
                let times = self.tuning.encode(row, t, self.def.round).map_err(|e| format!("event source `{}`: sample {s}: {e}", self.def.name))?;
                let mut v: Vec<(f64, u32)> = times.iter().enumerate().filter_map(|(a, x)| x.map(|x| (x, a as u32))).collect();
                v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                if self.cached.len() == 2 {
                    self.cached.remove(0);
                }
                self.cached.push((k, v));
            }
            let (_, v) = self.cached.iter().find(|c| c.0 == k).expect("cached above");
            out.extend(v.iter().map(|&(x, a)| (start + x, a, k)).filter(|s| s.0 >= t0 && s.0 < t_end));
            k += 1;
        }
        Ok(())
    }
}
