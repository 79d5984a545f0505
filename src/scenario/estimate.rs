//! An up-front estimate of the memory and work of a scenario, from its definitions alone,
//! checked against a limit before anything large is allocated: by validation (so
//! `spikeworld validate` refuses what `run` could not finish) and again by the build, with
//! the synapses actually drawn, before the network is spawned.
//!
//! What is counted (bytes): per neuron, 8 per state variable + 16 (spike history, scratch);
//! per synapse 12 (target index, weight; 4 when one constant weight is held for all, see
//! `ProjectionDef::uniform_weight`) + 4 with per-synapse delays + 8 per add-on
//! variable and what the add-ons' components hold (`AddonConfig::bytes_per_synapse`) (+ 8
//! for the target index of projections with add-ons), and 8 per synapse of
//! the largest projection while it is drawn; delay rings `depth × receptors × neurons × 8`
//! with `depth` = longest delay in steps + 2 (delays written as expressions count from
//! what the build draws); spike-history slots `depth × 32` per source;
//! per spike-source encoder output 96, per current-encoder target 16; state monitors
//! `samples × neurons × variables × 8` over the whole run; rate monitors 8 per bin. Spike
//! monitors grow with the activity and are not counted.
//!
//! The limit: `LoadOptions::max_memory` (`--max-memory SIZE`), else the environment
//! variable `SPIKEWORLD_MAX_MEMORY`, else 80 % of the memory available (`MemAvailable`
//! of `/proc/meminfo`, or the address-space limit `ulimit -v` if smaller); none where
//! neither is known.

use std::collections::HashMap;

use crate::scenario::{DelayDef, EncoderDef, MonitorDef, MonitorKind, PopulationDef, ProjectionDef, SourceRef, ValueDist};
use crate::util::error::{Loc, ScenarioError};
use crate::util::sysmem::{address_space_limit, available_memory, fmt_bytes, parse_size};
use crate::{Error, Result};

/// The environment variable that sets the memory limit.
pub const ENV_VAR: &str = "SPIKEWORLD_MAX_MEMORY";
/// The share of the available memory a scenario may use by default.
pub const DEFAULT_FRACTION: f64 = 0.8;

/// Bytes per source-encoder output (rate, random stream, queue entry, scratch, history).
pub const ENCODER_OUTPUT_BYTES: f64 = 96.0;
/// Bytes per current-encoder target (amplitude, scratch).
pub const CURRENT_TARGET_BYTES: f64 = 16.0;

/// Where a limit comes from: what the refusal says to raise it.
#[derive(Clone, Debug, PartialEq)]
pub enum LimitSource {
    /// `--max-memory`.
    Flag,
    /// `SPIKEWORLD_MAX_MEMORY`.
    Env,
    /// A share of the memory available (`what`: which measure, `of`: its bytes).
    Available {
        /// `available memory` or `address-space limit (ulimit -v)`.
        what: &'static str,
        /// Its value, bytes.
        of: u64,
    },
    /// Given by a program.
    Explicit,
}

/// How much memory a scenario may need.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryLimit {
    /// Bytes (`u64::MAX`: no limit).
    pub bytes: u64,
    /// Where it comes from.
    pub source: LimitSource,
}

impl MemoryLimit {
    /// A fixed limit.
    pub fn fixed(bytes: u64) -> Self {
        MemoryLimit { bytes, source: LimitSource::Explicit }
    }

    /// No limit.
    pub fn unlimited() -> Self {
        Self::fixed(u64::MAX)
    }

    /// The limit in force: `flag` (`--max-memory`), else `SPIKEWORLD_MAX_MEMORY`, else 80 %
    /// of the memory available (or of `ulimit -v`, if smaller).
    pub fn resolve(flag: Option<u64>) -> Result<Self> {
        if let Some(flag) = flag {
            return Ok(MemoryLimit { bytes: flag, source: LimitSource::Flag });
        }
        if let Some(v) = std::env::var_os(ENV_VAR) {
            let text = v.to_string_lossy();
            let bytes = parse_size(&text).map_err(|m| Error::Input(format!("{ENV_VAR}={text}: {m}")))?;
            return Ok(MemoryLimit { bytes, source: LimitSource::Env });
        }
        let avail = available_memory().map(|b| (b, "available memory"));
        let rlimit = address_space_limit().map(|b| (b, "address-space limit (ulimit -v)"));
        let smallest = match (avail, rlimit) {
            (Some(a), Some(r)) => Some(if r.0 < a.0 { r } else { a }),
            (a, r) => a.or(r),
        };
        Ok(match smallest {
            Some((of, what)) => MemoryLimit { bytes: (of as f64 * DEFAULT_FRACTION) as u64, source: LimitSource::Available { what, of } },
            None => Self::unlimited(),
        })
    }

    /// `6.6 GB (80% of the 8.2 GB address-space limit (ulimit -v))`.
    pub fn describe(&self) -> String {
        if self.bytes == u64::MAX {
            return "unlimited".into();
        }
        let b = fmt_bytes(self.bytes as f64);
        match &self.source {
            LimitSource::Flag => format!("{b} (--max-memory)"),
            LimitSource::Env => format!("{b} ({ENV_VAR})"),
            LimitSource::Available { what, of } => format!("{b} ({:.0}% of the {} {what})", DEFAULT_FRACTION * 100.0, fmt_bytes(*of as f64)),
            LimitSource::Explicit => b,
        }
    }
}

/// One contribution to the estimate, with the key that causes it.
#[derive(Clone, Debug)]
pub struct Item {
    /// What it is (`state monitor `v`: 100000 samples × 100000 neurons × 1 variable`).
    pub what: String,
    /// The key that sets its size (`monitor[0].indices`).
    pub key: String,
    /// Where that key is written.
    pub loc: Loc,
    /// Bytes.
    pub bytes: f64,
}

/// The memory and work of a scenario.
#[derive(Clone, Debug, Default)]
pub struct Estimate {
    /// Contributions in scenario order.
    pub items: Vec<Item>,
    /// Neuron updates over the run (steps × neurons).
    pub neuron_updates: f64,
    /// Synapses (expected, for random rules).
    pub synapses: f64,
    /// Only the parts read so far (a check made while reading, before anything of a later
    /// part is built): the whole scenario needs at least this.
    pub partial: bool,
}

impl Estimate {
    /// Total bytes.
    pub fn total(&self) -> f64 {
        self.items.iter().map(|i| i.bytes).sum()
    }

    /// The largest contribution.
    pub fn largest(&self) -> Option<&Item> {
        self.items.iter().max_by(|a, b| a.bytes.total_cmp(&b.bytes))
    }

    /// Refuses an estimate above the limit, naming the largest contribution's key.
    pub fn check(&self, limit: &MemoryLimit) -> Result<(), ScenarioError> {
        let total = self.total();
        if total <= limit.bytes as f64 {
            return Ok(());
        }
        let top = self.largest().expect("a total above a limit has items");
        let raise = match limit.source {
            LimitSource::Explicit => "raise the limit given to the program".to_string(),
            _ => format!("raise it with --max-memory SIZE or {ENV_VAR}=SIZE (e.g. 64GiB) if the machine has the memory"),
        };
        let need = if self.partial {
            format!("the parts read up to here would need an estimated {} of memory (the whole scenario more)", fmt_bytes(total))
        } else {
            format!("the run would need an estimated {} of memory", fmt_bytes(total))
        };
        Err(ScenarioError {
            loc: top.loc.clone(),
            key: top.key.clone(),
            message: format!(
                "{need}, above the limit of {}; largest part: {} = {}; {raise}",
                limit.describe(),
                top.what,
                fmt_bytes(top.bytes)
            ),
        })
    }
}

/// Where each key that sizes something is written (`population[0].size` → file:line:col).
#[derive(Clone, Debug, Default)]
pub struct KeyLocs {
    map: HashMap<String, Loc>,
    /// The document itself, for keys not written (defaults).
    pub root: Option<Loc>,
}

impl KeyLocs {
    /// Records where `key` is written.
    pub fn insert(&mut self, key: String, loc: Loc) {
        self.map.insert(key, loc);
    }
    /// The first of `keys` that is written, with its location (or the last key at the
    /// document's location).
    pub fn pick(&self, keys: &[String]) -> (String, Loc) {
        for k in keys {
            if let Some(l) = self.map.get(k) {
                return (k.clone(), l.clone());
            }
        }
        let k = keys.last().cloned().unwrap_or_default();
        let loc = self.root.clone().unwrap_or(Loc::Override("(no location)".into()));
        (k, loc)
    }
}

/// What the build actually drew for a projection.
#[derive(Clone, Copy, Debug)]
pub struct DrawnSize {
    /// Synapses.
    pub synapses: u64,
    /// Longest delay, steps.
    pub max_delay: u64,
}

/// Longest delay of a distribution in steps (normal: mean + 6 std), before the build
/// draws it.
pub fn max_delay_steps(d: &ValueDist, dt: f64) -> f64 {
    let ms = match *d {
        ValueDist::Const(v) => v,
        ValueDist::Uniform { high, .. } => high,
        ValueDist::Normal { mean, std } => mean + 6.0 * std,
    };
    (ms.max(0.0) / dt).round()
}

/// Bytes of one population's state (without its delay ring).
pub fn population_item(i: usize, p: &PopulationDef, locs: &KeyLocs) -> Item {
    let nv = p.model.vars().len();
    let (key, loc) = locs.pick(&[format!("population[{i}].size")]);
    Item { what: format!("population `{}`: {} neurons × {nv} variables", p.name, p.size), key, loc, bytes: p.size as f64 * (nv as f64 * 8.0 + 16.0) }
}

/// Bytes of an encoder of `size` outputs (or targets), before it is built.
pub fn encoder_item(i: usize, name: &str, size: usize, source: bool, locs: &KeyLocs) -> Item {
    let (key, loc) = locs.pick(&[format!("encoder[{i}].size"), format!("encoder[{i}].target")]);
    let per = if source { ENCODER_OUTPUT_BYTES } else { CURRENT_TARGET_BYTES };
    Item { what: format!("encoder `{name}`: {size} outputs × {per} B"), key, loc, bytes: size as f64 * per }
}

/// The whole estimate. `synapses[k]` is projection k's synapse count (expected, from the
/// rule) and `drawn` what the build drew, when it has.
pub fn estimate(
    sc: (&[PopulationDef], &[EncoderDef], &[ProjectionDef], &[MonitorDef]),
    steps: u64,
    dt: f64,
    synapses: &[f64],
    drawn: Option<&[DrawnSize]>,
    locs: &KeyLocs,
) -> Estimate {
    let (pops, encs, projs, mons) = sc;
    let mut items = Vec::new();
    for (i, p) in pops.iter().enumerate() {
        items.push(population_item(i, p, locs));
        if p.positions.is_some() {
            let (key, loc) = locs.pick(&[format!("population[{i}].positions")]);
            items.push(crate::scenario::positions::positions_item(&p.name, p.size, key, loc));
        }
    }
    for (i, e) in encs.iter().enumerate() {
        items.push(encoder_item(i, &e.name, e.size, e.target.is_none(), locs));
    }
    // Synapses, and the longest delay into each target and out of each source.
    let mut depth_in = vec![(0.0f64, None::<usize>); pops.len()];
    let mut depth_out_pop = vec![0.0f64; pops.len()];
    let mut depth_out_enc = vec![0.0f64; encs.len()];
    let mut total_syn = 0.0;
    let mut largest: Option<(usize, f64)> = None;
    for (k, p) in projs.iter().enumerate() {
        let (n, delay) = match drawn {
            Some(d) => (d[k].synapses as f64, d[k].max_delay as f64),
            // (An expression's delays are known once drawn: the build checks again then.)
            None => (synapses[k], match &p.delay_ms {
                DelayDef::Dist(d) => max_delay_steps(d, dt),
                DelayDef::Expr(_) => 0.0,
            }),
        };
        total_syn += n;
        let per_delay = if p.delay_ms.constant().is_some() { 0.0 } else { 4.0 };
        // With add-ons: the index by target (synapse and source, 4 B each) and what the
        // add-ons' components hold per synapse.
        let addon = if p.addons.is_empty() { 0.0 } else { 8.0 };
        let vars: usize = p.addons.iter().map(|a| a.config.synapse_vars().len()).sum();
        let own: usize = p.addons.iter().map(|a| a.config.bytes_per_synapse()).sum();
        // The target index, and the weight unless one is held for all (`uniform_weight`).
        let own_weight = if p.uniform_weight().is_some() { 0.0 } else { 8.0 };
        let per = 4.0 + own_weight + per_delay + addon + 8.0 * vars as f64 + own as f64;
        let keys: Vec<String> = ["indegree", "outdegree", "n", "p", "rule"].iter().map(|x| format!("projection[{k}].{x}")).collect();
        let (key, loc) = locs.pick(&keys);
        items.push(Item { what: format!("projection `{}`: {n:.0} synapses × {per} B", p.name), key, loc, bytes: n * per });
        if largest.is_none_or(|(_, m)| n > m) {
            largest = Some((k, n));
        }
        if delay >= depth_in[p.to.index].0 {
            depth_in[p.to.index] = (delay, Some(k));
        }
        match &p.from {
            SourceRef::Population(s) => depth_out_pop[s.index] = depth_out_pop[s.index].max(delay),
            SourceRef::Encoder(s) => depth_out_enc[s.index] = depth_out_enc[s.index].max(delay),
        }
    }
    if let Some((k, n)) = largest {
        let (key, loc) = locs.pick(&["indegree", "outdegree", "n", "p", "rule"].iter().map(|x| format!("projection[{k}].{x}")).collect::<Vec<_>>());
        items.push(Item { what: format!("drawing projection `{}`: {n:.0} pairs × 8 B held while drawn", projs[k].name), key, loc, bytes: n * 8.0 });
    }
    for (i, p) in pops.iter().enumerate() {
        let (delay, by) = depth_in[i];
        let depth = delay + 2.0;
        let r = p.model.receptors().len();
        let (key, loc) = match by {
            Some(k) => locs.pick(&[format!("projection[{k}].delay"), format!("projection[{k}].to")]),
            None => locs.pick(&[format!("population[{i}].size")]),
        };
        items.push(Item { what: format!("delay ring of `{}`: {depth:.0} steps × {r} receptors × {} neurons × 8 B", p.name, p.size), key, loc, bytes: depth * r as f64 * p.size as f64 * 8.0 });
    }
    for (k, p) in projs.iter().enumerate() {
        // Spike-history slots of the source, charged to its longest delay's projection.
        let d = match &p.from {
            SourceRef::Population(s) => std::mem::take(&mut depth_out_pop[s.index]),
            SourceRef::Encoder(s) => std::mem::take(&mut depth_out_enc[s.index]),
        };
        if d > 0.0 {
            let (key, loc) = locs.pick(&[format!("projection[{k}].delay"), format!("projection[{k}].from")]);
            items.push(Item { what: format!("spike history of the sources of `{}`: {:.0} steps × 32 B", p.name, d + 2.0), key, loc, bytes: (d + 2.0) * 32.0 });
        }
    }
    for (i, m) in mons.iter().enumerate() {
        match &m.kind {
            MonitorKind::Spikes => {}
            MonitorKind::State { vars, indices, every } => {
                let samples = (steps / every) as f64;
                let (key, loc) = locs.pick(&[format!("monitor[{i}].indices"), format!("monitor[{i}].target")]);
                let what = format!("state monitor `{}`: {samples:.0} samples × {} neurons × {} variables × 8 B", m.name, indices.len(), vars.len());
                items.push(Item { what, key, loc, bytes: samples * (indices.len() * vars.len()) as f64 * 8.0 + samples * 8.0 + indices.len() as f64 * 8.0 });
            }
            MonitorKind::Weights { every, synapses, bins, .. } => {
                let samples = (steps / every) as f64;
                let (key, loc) = locs.pick(&[format!("monitor[{i}].projection")]);
                let per = (5 + bins + synapses.len()) as f64 * 8.0;
                items.push(Item { what: format!("weights monitor `{}`: {samples:.0} samples × {per:.0} B", m.name), key, loc, bytes: samples * per });
            }
            MonitorKind::Rate { bin } => {
                let bins = steps.div_ceil(*bin) as f64;
                let (key, loc) = locs.pick(&[format!("monitor[{i}].bin")]);
                items.push(Item { what: format!("rate monitor `{}`: {bins:.0} bins × 8 B", m.name), key, loc, bytes: bins * 8.0 });
            }
        }
    }
    let neurons: f64 = pops.iter().map(|p| p.size as f64).sum();
    Estimate { items, neuron_updates: neurons * steps as f64, synapses: total_syn, partial: false }
}
