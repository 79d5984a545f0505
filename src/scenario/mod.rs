//! Scenario files: TOML describing a whole experiment. See `docs/scenarios.md`.
//!
//! Parsing is strict: unknown keys, unknown names, dangling references, negative sizes,
//! probabilities outside [0, 1] and non-finite numbers are errors that name
//! `file:line:col`, the key, and the valid choices.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::api::addon::{AddonConfig, TableConfig};
use crate::api::connect::RuleSpec;
use crate::api::encoder::{EncoderConfig, EncoderKind};
use crate::api::model::{NeuronModel, Params, PreparedModel};
use crate::registry::Registry;
use crate::util::node::{apply_override, parse_document};

pub mod estimate;
mod models;
mod monitors;
mod parse;
mod positions;
mod read;
mod select;
pub use estimate::{Estimate, MemoryLimit};
pub use parse::{MAX_DELAY_STEPS, MAX_SHARDS};
pub use select::{MAX_STEPS, steps_of};

/// A population's neurons `start..end` (Brian2's `P[a:b]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Index into [`Scenario::populations`] or [`Scenario::encoders`].
    pub index: usize,
    /// First neuron.
    pub start: usize,
    /// One past the last neuron.
    pub end: usize,
}

impl Selection {
    /// Number of neurons selected.
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// What a projection's `from` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceRef {
    /// A population.
    Population(Selection),
    /// A spike-source encoder.
    Encoder(Selection),
}

impl SourceRef {
    /// Number of sources selected.
    pub fn len(&self) -> usize {
        match self {
            SourceRef::Population(s) | SourceRef::Encoder(s) => s.len(),
        }
    }
    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The selection, of a population or an encoder.
    pub fn selection(&self) -> &Selection {
        match self {
            SourceRef::Population(s) | SourceRef::Encoder(s) => s,
        }
    }
    /// The selection when it is a population's.
    pub fn population(&self) -> Option<&Selection> {
        match self {
            SourceRef::Population(s) => Some(s),
            SourceRef::Encoder(_) => None,
        }
    }
}

/// A constant or a distribution (weights, delays, initial values).
#[derive(Clone, Debug, PartialEq)]
pub enum ValueDist {
    /// The same value everywhere.
    Const(f64),
    /// Normal with mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform on [low, high).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
}

impl ValueDist {
    /// One draw from `rng` (a constant draws nothing).
    pub fn draw(&self, rng: &mut crate::util::rng::Stream) -> f64 {
        match *self {
            ValueDist::Const(v) => v,
            ValueDist::Normal { mean, std } => mean + std * rng.normal(),
            ValueDist::Uniform { low, high } => low + (high - low) * rng.uniform(),
        }
    }
}

/// One value per neuron of a population: a constant or a distribution drawn neuron by
/// neuron, or the values themselves (a list or a `.npy` file), as `init` and per-neuron
/// parameters take them.
#[derive(Clone, Debug, PartialEq)]
pub enum NeuronValues {
    /// Drawn per neuron: neuron `i` from stream (seed, population, purpose, `i`), so any
    /// range of neurons draws alone the values of a whole build.
    Dist(ValueDist),
    /// Given, one per neuron.
    Each(Arc<Vec<f64>>),
    /// An expression of the neuron's index, the population's size (the second field), its
    /// position where the population has `positions` (the third: `x`, `y`, `z`) and
    /// random numbers (`"-60*mV + 10*mV*rand()"`), as a model language reads it: neuron
    /// `i`'s random numbers from stream (seed, population, purpose, `i`), like a
    /// distribution's.
    Expr(ValueExpr, usize, Option<Arc<crate::api::connect::Positions>>),
}

/// A value written as an expression ([`NeuronValues::Expr`], [`WeightDef::Expr`]).
#[derive(Clone)]
pub struct ValueExpr {
    /// As written.
    pub text: String,
    /// As the language compiled it.
    pub f: Arc<dyn crate::api::language::ValueExpression>,
}

impl std::fmt::Debug for ValueExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueExpr({:?})", self.text)
    }
}

impl PartialEq for ValueExpr {
    fn eq(&self, o: &Self) -> bool {
        self.text == o.text
    }
}

impl NeuronValues {
    /// Neuron `i`'s value, drawn from stream (`seed`, `key`, `purpose`, `i`).
    pub fn at(&self, seed: u64, key: u32, purpose: u64, i: usize) -> f64 {
        match self {
            NeuronValues::Dist(ValueDist::Const(v)) => *v,
            NeuronValues::Dist(d) => d.draw(&mut crate::util::rng::Stream::new(seed, key, purpose, i as u64)),
            NeuronValues::Each(v) => v[i],
            NeuronValues::Expr(e, n, own) => {
                let mut rng = crate::util::rng::Stream::new(seed, key, purpose, i as u64);
                match own {
                    None => e.f.value(&[i as f64, *n as f64], &mut rng),
                    Some(p) => e.f.value(&[i as f64, *n as f64, p.axes[0][i], p.axes[1][i], p.axes[2][i]], &mut rng),
                }
            }
        }
    }
}

/// A projection's weights: drawn synapse by synapse, or read from a dense matrix.
#[derive(Clone, Debug, PartialEq)]
pub enum WeightDef {
    /// A constant or a distribution, drawn per synapse from the projection's streams (a
    /// constant on a projection without add-ons is held once: `uniform_weight`).
    Dist(ValueDist),
    /// A dense matrix of shape `[targets, sources]` of the selections (the layout of
    /// SpikingFlow's `Linear.w` and PyTorch's `nn.Linear.weight`): the synapse from source
    /// `s` to target `t` (relative) gets `values[t * sources + s]`. Given inline
    /// (`weight = { matrix = [[...], ...] }`) or from a file (`weight = { file = "w.npy" }`).
    Matrix {
        /// Targets in the selection (rows).
        targets: usize,
        /// Sources in the selection (columns).
        sources: usize,
        /// Row-major values.
        values: Arc<Vec<f64>>,
    },
    /// An expression of the synapse's place ([`crate::api::language::SYNAPSE_NAMES`]:
    /// Brian2's `i`, `j`, `N_pre`, `N_post`) and random numbers (`"rand()*2*nS"`), drawn
    /// per synapse from the target's weight stream in source order, as a distribution is.
    Expr(ValueExpr),
}

/// A projection's delays (ms, rounded to whole steps of dt when the synapses are made).
#[derive(Clone, Debug, PartialEq)]
pub enum DelayDef {
    /// A constant (held once) or a distribution drawn per synapse from the target's delay
    /// stream in source order; a normal distribution's negative draws are 0.
    Dist(ValueDist),
    /// An expression of the synapse's place ([`crate::api::language::SYNAPSE_NAMES`]) and
    /// random numbers (Brian2's `S.delay = 'rand()*5*ms'`: `"rand()*5*ms"`), drawn per
    /// synapse from the target's delay stream in source order, as a distribution is.
    Expr(ValueExpr),
}

impl DelayDef {
    /// Whether every synapse has one delay, held once.
    pub fn constant(&self) -> Option<f64> {
        match self {
            DelayDef::Dist(ValueDist::Const(d)) => Some(*d),
            _ => None,
        }
    }
}

/// A population.
#[derive(Clone)]
pub struct PopulationDef {
    /// Name.
    pub name: String,
    /// Number of neurons.
    pub size: usize,
    /// Layout of the neurons (`shape = [c, h, w]`, C order), when the scenario gives one.
    pub shape: Option<Vec<usize>>,
    /// The model.
    pub model: Arc<dyn NeuronModel>,
    /// Parameters, canonical units.
    pub params: Params,
    /// The model with parameters fixed.
    pub prepared: Arc<dyn PreparedModel>,
    /// Initial values given in the scenario: (variable index, values; drawn with purpose
    /// `INIT` + the index).
    pub init: Vec<(usize, NeuronValues)>,
    /// Per-neuron parameters given in the scenario: (parameter index, values; drawn with
    /// purpose `PARAM` + the index). `params` holds neuron 0's.
    pub per_neuron: Vec<(usize, NeuronValues)>,
    /// Stream key.
    pub key: u32,
    /// Where shards 1, 2, ... of a sharded run start (`shard_bounds = [..]`: a partition
    /// the user gives, ascending neuron indices), with where the key is written; `None`:
    /// even ranges ([`PopulationDef::shard_range`]).
    pub shard_bounds: Option<(Vec<usize>, crate::util::error::Loc, String)>,
    /// Where its neurons are (`positions`), computed when the scenario is read; values of
    /// synapses read them (`x_pre`, `x_post`, ...).
    pub positions: Option<Arc<crate::api::connect::Positions>>,
}

impl PopulationDef {
    /// Neuron `i`'s parameters: `params` with its own value of each per-neuron parameter.
    pub fn neuron_params(&self, seed: u64, i: usize) -> Params {
        let mut p = self.params.clone();
        self.set_neuron_params(&mut p, seed, i);
        p
    }

    /// Sets neuron `i`'s value of each per-neuron parameter in `params` (drawn from stream
    /// (seed, population key, `PARAM` + the parameter's index, `i`)); the others are left.
    pub fn set_neuron_params(&self, params: &mut Params, seed: u64, i: usize) {
        for (k, v) in &self.per_neuron {
            params.set_value(*k, v.at(seed, self.key, crate::util::rng::purpose::PARAM + *k as u64, i));
        }
    }

    /// Shard `k` of `count`'s range of neurons: from `shard_bounds` when given (checked
    /// against `count` when the network is built), else `k·n/count .. (k+1)·n/count`.
    pub fn shard_range(&self, k: usize, count: usize) -> std::ops::Range<usize> {
        match &self.shard_bounds {
            Some((b, _, _)) if b.len() + 1 == count => {
                let at = |i: usize| if i == 0 { 0 } else if i == count { self.size } else { b[i - 1] };
                at(k)..at(k + 1)
            }
            _ => k * self.size / count..(k + 1) * self.size / count,
        }
    }
}

/// A connection rule with its parameters.
#[derive(Clone)]
pub struct RuleDef {
    /// The rule.
    pub spec: RuleSpec,
    /// Its parameters (one written as an expression of the pair reads NaN here).
    pub params: Params,
    /// Its parameters written as expressions of the pair (`RuleSpec::pair_params`).
    pub pair_values: Vec<crate::api::connect::PairValue>,
}

/// A projection.
#[derive(Clone)]
pub struct ProjectionDef {
    /// Name.
    pub name: String,
    /// Sources.
    pub from: SourceRef,
    /// Targets (a population).
    pub to: Selection,
    /// Connection rule.
    pub rule: RuleDef,
    /// Whether a neuron may connect to itself.
    pub allow_autapses: bool,
    /// Whether a pair may be connected more than once.
    pub allow_multapses: bool,
    /// Receptor index in the target model.
    pub receptor: usize,
    /// Weights (unit of the receptor).
    pub weight: WeightDef,
    /// The shared kernel's shape, for a rule that shares weights (`conv2d`).
    pub kernel: Option<Vec<usize>>,
    /// The sources' layout, when the projection selects the whole of a shaped source.
    pub src_shape: Option<Vec<usize>>,
    /// The targets' layout, likewise.
    pub tgt_shape: Option<Vec<usize>>,
    /// Delays in ms (rounded to steps).
    pub delay_ms: DelayDef,
    /// Synapse model name (`static`, or the `model` of `[projection.synapse]`).
    pub synapse: String,
    /// The projection's sub-tables (`synapse`, `plasticity`, ...), in key order.
    pub addons: Vec<AddonDef>,
    /// Stream key.
    pub key: u32,
}

impl ProjectionDef {
    /// The one weight of every synapse when it is held once (`SynapseTable::uniform`): a
    /// constant weight on a projection that nothing changes (no add-on, no shared kernel).
    pub fn uniform_weight(&self) -> Option<f64> {
        match self.weight {
            WeightDef::Dist(ValueDist::Const(w)) if self.addons.is_empty() && self.kernel.is_none() => Some(w),
            _ => None,
        }
    }
}

/// A projection sub-table, parsed by its add-on.
#[derive(Clone)]
pub struct AddonDef {
    /// The sub-table (`plasticity`).
    pub table: &'static str,
    /// The add-on that parsed it (`stdp`).
    pub name: &'static str,
    /// Its configuration.
    pub config: Arc<dyn AddonConfig>,
}

/// An encoder.
pub struct EncoderDef {
    /// Name.
    pub name: String,
    /// Registered kind.
    pub kind: String,
    /// Source or current.
    pub output: EncoderKind,
    /// Outputs (source) or targets (current).
    pub size: usize,
    /// Layout of a source's outputs (`shape = [c, h, w]`), when given.
    pub shape: Option<Vec<usize>>,
    /// For current encoders: the target and the receptor index.
    pub target: Option<(Selection, usize)>,
    /// Its parsed configuration (the running encoder is made when the network is built).
    pub config: Arc<dyn EncoderConfig>,
}

/// What a monitor records.
#[derive(Clone, Debug)]
pub enum MonitorKind {
    /// Every spike of the selection.
    Spikes,
    /// State variables of some neurons every `every` steps.
    State {
        /// Variable indices.
        vars: Vec<usize>,
        /// Neuron indices (population-wide).
        indices: Vec<usize>,
        /// Record every this many steps.
        every: u64,
    },
    /// Population rate in bins of `bin` steps.
    Rate {
        /// Bin width in steps.
        bin: u64,
    },
    /// A projection's weights every `every` steps (the monitor's `target` is then the
    /// projection's target selection).
    Weights {
        /// Index into [`Scenario::projections`].
        projection: usize,
        /// Record every this many steps.
        every: u64,
        /// Weights recorded one by one (checked against the table when it is built).
        synapses: Vec<usize>,
        /// Histogram bins.
        bins: usize,
        /// Histogram range.
        range: Option<(f64, f64)>,
    },
}

/// A monitor.
#[derive(Clone, Debug)]
pub struct MonitorDef {
    /// Name (used in output file names).
    pub name: String,
    /// Recorded population (and neurons), or spike-source encoder (and outputs): a
    /// `spikes` or `rate` monitor may record an encoder, as Brian2's `SpikeMonitor` a
    /// `PoissonGroup`; `state` and `weights` monitors record populations.
    pub target: SourceRef,
    /// What to record.
    pub kind: MonitorKind,
}

/// A validated scenario.
pub struct Scenario {
    /// The file as the user named it.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes (before overrides).
    pub sha256: String,
    /// The file's text (before overrides).
    pub text: String,
    /// The input files it read (weights, encoder values, spike lists), with their digests
    /// ([`crate::util::inputs`]), in the order read.
    pub inputs: Vec<crate::util::inputs::InputFile>,
    /// Overrides applied (`--set`).
    pub overrides: Vec<String>,
    /// Step, ms.
    pub dt_ms: f64,
    /// Duration, ms.
    pub t_stop_ms: f64,
    /// Number of steps (`round(t_stop / dt)`).
    pub steps: u64,
    /// Seed.
    pub seed: u64,
    /// Shards to split the network into (`simulation.shards`, default 1; `--shards`
    /// overrides it).
    pub shards: usize,
    /// Populations in file order.
    pub populations: Vec<PopulationDef>,
    /// Projections in file order (this is also their delivery order).
    pub projections: Vec<ProjectionDef>,
    /// Encoders in file order.
    pub encoders: Vec<EncoderDef>,
    /// Monitors in file order.
    pub monitors: Vec<MonitorDef>,
    /// Plugins' top-level tables, in key order: (key, configuration).
    pub tables: Vec<(&'static str, Arc<dyn TableConfig>)>,
    /// The memory limit it was validated against (the build checks the drawn network
    /// against it too).
    pub limit: MemoryLimit,
    /// Memory and work, estimated from the definitions (checked against the limit).
    pub estimate: Estimate,
    /// Synapses each projection's rule will draw (expected for random rules; 0 when the
    /// rule is a plugin's).
    pub(crate) expected_synapses: Vec<f64>,
    /// Where the keys that size things are written.
    pub(crate) locs: estimate::KeyLocs,
}

/// Options from outside the file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `--set key.path=value`, in order.
    pub overrides: Vec<String>,
    /// `--seed`: replaces `simulation.seed`.
    pub seed: Option<u64>,
    /// `--max-memory` in bytes: the limit the memory estimate is checked against (default:
    /// `SPIKEWORLD_MAX_MEMORY`, else 80 % of the memory available; see [`MemoryLimit`]).
    pub max_memory: Option<u64>,
}

impl Scenario {
    /// `message` located at the first of `keys` (`projection[2].rule`, `monitor[0].target`)
    /// the file wrote, else at the file: for errors found after parsing (a plugin's checks
    /// at build time) that still name the line to fix.
    pub fn error_at(&self, keys: &[String], message: impl Into<String>) -> crate::util::error::ScenarioError {
        let (key, loc) = self.locs.pick(keys);
        crate::util::error::ScenarioError { loc, key, message: message.into() }
    }

    /// What ties a learner's checkpoint to this run: the file's SHA-256, the overrides, the
    /// seed and the digests of the input files it read.
    pub fn fingerprint(&self) -> String {
        let inputs: Vec<&str> = self.inputs.iter().map(|(_, d)| d.as_str()).collect();
        format!("{} {:?} seed {} inputs {}", self.sha256, self.overrides, self.seed, inputs.join(","))
    }

    /// Reads, overrides and validates a scenario file, with the memory limit of `opts`
    /// ([`MemoryLimit::resolve`]).
    pub fn load(path: &Path, registry: &Registry, opts: &LoadOptions) -> crate::Result<Scenario> {
        Self::load_with_limit(path, registry, opts, &MemoryLimit::resolve(opts.max_memory)?)
    }

    /// [`Scenario::load`] with a given memory limit.
    pub fn load_with_limit(path: &Path, registry: &Registry, opts: &LoadOptions, limit: &MemoryLimit) -> crate::Result<Scenario> {
        // NOTE: a scenario is a few kB; 64 MiB holds any written by hand or by a script
        // (a weight matrix belongs in a .npy).
        let text = crate::util::fsio::read_text_limited(path, 64 << 20, true)
            .map_err(|e| crate::Error::Input(format!("{}: cannot read scenario: {e}", path.display())))?;
        Self::from_str_with_limit(&text, path, registry, opts, limit)
    }

    /// Validates scenario text; `path` names it in messages and anchors relative paths.
    pub fn from_str(text: &str, path: &Path, registry: &Registry, opts: &LoadOptions) -> crate::Result<Scenario> {
        Self::from_str_with_limit(text, path, registry, opts, &MemoryLimit::resolve(opts.max_memory)?)
    }

    /// [`Scenario::from_str`] with a given memory limit.
    pub fn from_str_with_limit(text: &str, path: &Path, registry: &Registry, opts: &LoadOptions, limit: &MemoryLimit) -> crate::Result<Scenario> {
        let sha256 = hex(&Sha256::digest(text.as_bytes()));
        let mut doc = parse_document(&path.display().to_string(), text)?;
        for o in &opts.overrides {
            apply_override(&mut doc, o)?;
        }
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let (parsed, inputs) = crate::util::inputs::collecting(|| parse::parse(&doc, registry, opts, &base_dir, limit));
        let mut s = parsed?;
        // Relative to the scenario's directory where they are in it (so that a checkpoint
        // names them the same however the scenario was reached).
        s.inputs = inputs
            .into_iter()
            .map(|(p, d)| (Path::new(&p).strip_prefix(&base_dir).map_or(p.clone(), |r| r.display().to_string()), d))
            .collect();
        s.path = path.to_path_buf();
        s.sha256 = sha256;
        s.text = text.to_string();
        s.overrides = opts.overrides.clone();
        s.limit = limit.clone();
        Ok(s)
    }

    /// The estimate for a run of `steps` steps (`resume --until` moves the end).
    pub fn estimate_for(&self, steps: u64) -> Estimate {
        estimate::estimate((&self.populations, &self.encoders, &self.projections, &self.monitors), steps, self.dt_ms, &self.expected_synapses, None, &self.locs)
    }

    /// The estimate with what the build drew.
    pub(crate) fn estimate_drawn(&self, drawn: &[estimate::DrawnSize]) -> Estimate {
        estimate::estimate((&self.populations, &self.encoders, &self.projections, &self.monitors), self.steps, self.dt_ms, &self.expected_synapses, Some(drawn), &self.locs)
    }

    /// Looks a population up by name.
    pub fn population(&self, name: &str) -> Option<usize> {
        self.populations.iter().position(|p| p.name == name)
    }
}

/// Lower-case hexadecimal.
pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
