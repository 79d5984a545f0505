//! `[[event_population]]`: an event-driven population in the scenario, with its inputs
//! from clock-driven populations and encoders and its outputs to clock-driven or
//! event-driven populations.
//!
//! ```toml
//! [[event_population]]
//! name = "srm"
//! size = 40
//! model = "srm0"                       # or "tempotron" (then `window`; see below)
//! tau_m = "10 ms"                      # srm0's parameters (see `spikeworld info`)
//! tau_s = "2.5 ms"
//! theta = 1.0
//! record = true                        # exact spike times → srm.t_ms.npy, srm.index.npy
//! [[event_population.input]]           # clock → event: arrives at t·dt + delay, exactly
//! from = "lif"                         # a population or a spike encoder
//! rule = "fixed_indegree"              # all_to_all | one_to_one | fixed_indegree | pairwise_bernoulli
//! indegree = 10
//! weight = 0.4                         # or { file = "w.npy" }: [size, sources] (all_to_all)
//! delay = "1.37 ms"
//! [[event_population.output]]          # event → clock: at the first step boundary ≥ s + delay
//! to = "lif2"                          # a population (then `receptor`) or an event population
//! receptor = "exc"
//! rule = "all_to_all"
//! weight = "50 pA"                     # in the receptor's unit
//! delay = "1 ms"                       # at least one step (dt)
//! ```
//!
//! `model = "tempotron"` (Gütig & Sompolinsky; SpikingFlow's event-driven `Tempotron`):
//! `tau_m` (default 15 ms), `tau_s` (3.75 ms), `theta` (1), the peak-normalised kernel,
//! and `window = "T"`: the neurons start from rest at every multiple of T, fire at most
//! once per window (inputs after the spike are shunted), and their exact V_max of each
//! complete window is written to `NAME.v_max.npy` ([windows, size]); `from` may also name
//! an `[[event_source]]`.

use std::path::PathBuf;
use std::sync::Arc;

use bevy_ecs::prelude::{Resource, World};
use spikeworld::api::addon::{ScenarioTable, TableConfig, TableCtx};
use spikeworld::prelude::*;
use spikeworld::util::node::Val;
use spikeworld::util::table::{Table, node_count};

use crate::srm0::{PspNorm, ResetMode, Srm0Params};

/// How sources connect to targets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rule {
    /// Every source to every target.
    AllToAll,
    /// Source i to target i (equal sizes).
    OneToOne,
    /// Each target draws `k` sources uniformly (with replacement, as NEST's default).
    FixedIndegree(u64),
    /// Each pair independently with probability `p`.
    Bernoulli(f64),
}

/// Where an input comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A clock-driven population (scenario index).
    Population(usize),
    /// A spike encoder (scenario index).
    Encoder(usize),
    /// An `[[event_source]]`, by name (resolved when the network is built).
    Event(String),
}

/// The neuron model of an event population.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventModel {
    /// SRM0 (`Srm0Params` in `EventPopDef::params`).
    Srm0,
    /// Tempotrons restarted every `window_ms`.
    Tempotron {
        /// T (ms).
        window_ms: f64,
    },
}

/// Where an output goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Dest {
    /// A clock-driven population (scenario index) and its receptor index.
    Population(usize, usize),
    /// An event-driven population, by name (resolved when the network is built).
    Event(String),
}

/// One input or output connection.
#[derive(Clone, Debug)]
pub struct Conn<E> {
    /// Source (inputs) or destination (outputs).
    pub end: E,
    /// Size of the other side (source or destination), when known at parse time.
    pub size: Option<usize>,
    /// Connection rule.
    pub rule: Rule,
    /// Weight.
    pub weight: f64,
    /// Delay (ms), exact.
    pub delay_ms: f64,
    /// Weights from a file, `[targets, sources]` row-major (all_to_all), instead of `weight`.
    pub matrix: Option<Arc<(PathBuf, Vec<f64>, usize)>>,
}

/// One `[[event_population]]`.
#[derive(Clone, Debug)]
pub struct EventPopDef {
    /// Name.
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// The neurons' parameters.
    pub params: Srm0Params,
    /// The model.
    pub model: EventModel,
    /// Whether exact spike times are written.
    pub record: bool,
    /// Inputs from clock-driven populations and encoders.
    pub inputs: Vec<Conn<Source>>,
    /// Outputs.
    pub outputs: Vec<Conn<Dest>>,
}

/// The event populations of a scenario, in document order (filled by each table's
/// `insert`, read by the world hook that builds [`super::run::EventNet`]).
#[derive(Resource, Default, Clone, Debug)]
pub struct EventDefs(pub Vec<EventPopDef>);

const KEYS: &[ParamSpec] = &[
    ParamSpec::required("name", Dim::Dimensionless, "the population's name (unique among event populations)"),
    ParamSpec::required("size", Dim::Dimensionless, "neurons"),
    ParamSpec::optional("model", Dim::Dimensionless, "\"srm0\" (the default) or \"tempotron\" (needs window)"),
    ParamSpec::optional("window", Dim::Time, "tempotron: the window T (neurons restart from rest at every multiple of T; V_max per window)"),
    ParamSpec::new("tau_m", Dim::Time, 10.0, "membrane time constant τ_m (a tempotron: 15 ms, SpikingFlow's)"),
    ParamSpec::new("tau_s", Dim::Time, 2.5, "synaptic time constant τ_s (≠ τ_m; a tempotron: 3.75 ms, SpikingFlow's)"),
    ParamSpec::new("theta", Dim::Dimensionless, 1.0, "threshold θ"),
    ParamSpec::new("u_r", Dim::Dimensionless, 0.0, "srm0 only: reset potential u_r (the reset kernel is −(θ − u_r)·e^(−s/τ_m))"),
    ParamSpec::new("t_ref", Dim::Time, 0.0, "srm0 only: absolute refractory time"),
    ParamSpec::optional("norm", Dim::Dimensionless, "srm0 only: \"peak\" (a weight is the PSP's peak, default) or \"current\" (c = τ_m/(τ_m − τ_s))"),
    ParamSpec::optional("reset", Dim::Dimensionless, "srm0 only: \"cumulative\" (default, iaf_psc_exp) or \"last_spike\" (SRM0 proper, needs t_ref > 0)"),
    ParamSpec::optional("record", Dim::Dimensionless, "write exact spike times (NAME.t_ms.npy, NAME.index.npy); default false"),
    ParamSpec::optional("input", Dim::Dimensionless, "[[event_population.input]]: from (population, spike encoder or event source), rule, indegree | p, weight (or { file = \"w.npy\" }, [size, sources], all_to_all), delay"),
    ParamSpec::optional("output", Dim::Dimensionless, "[[event_population.output]]: to, receptor, rule, indegree | p, weight, delay (≥ dt)"),
];

/// The `[[event_population]]` table.
pub struct EventPopulationTable;

impl ScenarioTable for EventPopulationTable {
    fn name(&self) -> &'static str {
        "event_population"
    }
    fn doc(&self) -> &'static str {
        "an event-driven population of SRM0 neurons or tempotrons, computed at the exact times spikes reach them (priority queue), coupled to the clock-driven populations: inputs arrive at t·dt + delay exactly; outputs reach a clock-driven target at the first step boundary ≥ s + delay"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn after(&self) -> &'static [&'static str] {
        &["event_source"]
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &TableCtx) -> Result<Arc<dyn TableConfig>, ScenarioError> {
        let (name, name_node) = t.str("name")?;
        let size_node = t.req("size")?;
        let size = node_count(size_node, &t.key_path("size"))?;
        if size == 0 || size > u32::MAX as u64 {
            return Err(t.err(size_node, "size", "must be 1 to 2^32 - 1"));
        }
        let tempotron = match t.opt_str("model")? {
            None | Some(("srm0", _)) => false,
            Some(("tempotron", _)) => true,
            Some((m, n)) => return Err(t.err(n, "model", format!("unknown event model \"{m}\"; valid: \"srm0\", \"tempotron\""))),
        };
        let model = match (tempotron, t.opt_quantity("window", Dim::Time)?) {
            (false, None) => EventModel::Srm0,
            (false, Some((_, n))) => return Err(t.err(n, "window", "belongs to model = \"tempotron\"")),
            (true, None) => return Err(spikeworld::util::table::err_at(t.loc(), t.key_path("window"), "model = \"tempotron\" needs its window T (window = \"500 ms\")")),
            (true, Some((w, n))) if !(w.is_finite() && w > 0.0) => return Err(t.err(n, "window", format!("must be a positive time, found {w} ms"))),
            (true, Some((w, _))) => EventModel::Tempotron { window_ms: w },
        };
        if tempotron {
            for key in ["u_r", "t_ref", "norm", "reset"] {
                if let Some(n) = t.get(key) {
                    return Err(t.err(n, key, "belongs to srm0 (a tempotron has the peak-normalised kernel, no reset and no refractoriness: it fires at most once per window)"));
                }
            }
        }
        let mut params = Srm0Params::default();
        params.tau_m = t.opt_quantity("tau_m", Dim::Time)?.map_or(if tempotron { 15.0 } else { 10.0 }, |x| x.0);
        params.tau_s = t.opt_quantity("tau_s", Dim::Time)?.map_or(if tempotron { 3.75 } else { 2.5 }, |x| x.0);
        params.theta = t.opt_quantity("theta", Dim::Dimensionless)?.map_or(1.0, |x| x.0);
        params.u_r = t.opt_quantity("u_r", Dim::Dimensionless)?.map_or(0.0, |x| x.0);
        params.t_ref = t.opt_quantity("t_ref", Dim::Time)?.map_or(0.0, |x| x.0);
        if let Some((v, n)) = t.opt_str("norm")? {
            params.norm = match v {
                "peak" => PspNorm::Peak,
                "current" => PspNorm::Current,
                _ => return Err(t.err(n, "norm", format!("unknown \"{v}\"; valid: \"peak\", \"current\""))),
            };
        }
        if let Some((v, n)) = t.opt_str("reset")? {
            params.reset = match v {
                "cumulative" => ResetMode::Cumulative,
                "last_spike" => ResetMode::LastSpike,
                _ => return Err(t.err(n, "reset", format!("unknown \"{v}\"; valid: \"cumulative\", \"last_spike\""))),
            };
        }
        if let Err(e) = crate::srm0::Srm0Neuron::new(params) {
            // At the scenario key of the parameter the library names (its `tau` is
            // `tau_m`; `u_r` not below `theta` is the written one of the two), if the table
            // writes it; else at the population's name.
            let (key, message) = match &e {
                crate::error::Error::Parameter { name: "u_r", value, .. } if t.get("u_r").is_none() => ("theta", format!("theta = {} must be above u_r = {value}", params.theta)),
                crate::error::Error::Parameter { name, value, reason } => {
                    let key = if *name == "tau" { "tau_m" } else { name };
                    (key, format!("{key} = {value}: {reason}"))
                }
                _ => ("name", e.to_string()),
            };
            let (node, key) = t.get(key).map_or((name_node, "name"), |n| (n, key));
            return Err(t.err(node, key, format!("invalid srm0 parameters for this population: {message}")));
        }
        let record = t.opt_bool("record")?.unwrap_or(false);
        let size = size as usize;
        let mut inputs = Vec::new();
        for mut it in sub_tables(t, "input")? {
            let (from, fnode) = it.str("from")?;
            let (end, n_src) = if let Some(i) = ctx.populations.iter().position(|p| p == from) {
                (Source::Population(i), ctx.population_sizes[i])
            } else if let Some(i) = ctx.encoders.iter().position(|e| e == from) {
                if !ctx.encoder_sizes[i].1 {
                    return Err(it.err(fnode, "from", format!("encoder `{from}` injects a current; an event population takes spikes")));
                }
                (Source::Encoder(i), ctx.encoder_sizes[i].0)
            } else if let Some(d) = ctx.defined.iter().find(|d| d.table == "event_source" && d.name == from) {
                (Source::Event(from.to_string()), d.size)
            } else {
                return Err(it.err(fnode, "from", format!("no population, spike encoder or event source named `{from}` (event populations connect to each other through `output`)")));
            };
            let matrix = match it.get("weight") {
                Some(wn) if matches!(wn.val, Val::Table(_)) => {
                    let mut wt = Table::new(wn, it.key_path("weight"))?;
                    let (f, fnode) = wt.str("file")?;
                    let path = ctx.base_dir.join(f);
                    let a = spikeworld::util::npy::read_npy_f64(&path, None).map_err(|m| wt.err(fnode, "file", m))?;
                    let cols = a.shape.get(1).copied().unwrap_or(0);
                    if a.shape.len() != 2 || a.shape[0] != size || cols != n_src {
                        return Err(wt.err(fnode, "file", format!("`{}` has shape {:?}; expected [{size}, {n_src}] (targets, sources of `{from}`)", path.display(), a.shape)));
                    }
                    if let Some(v) = a.values.iter().find(|v| !v.is_finite()) {
                        return Err(wt.err(fnode, "file", format!("`{}` holds {v}; weights must be finite", path.display())));
                    }
                    wt.finish(&["file"])?;
                    Some(Arc::new((path, a.values, cols)))
                }
                _ => None,
            };
            let (rule, weight, delay_ms) = if matrix.is_some() {
                let (r, rnode) = it.str("rule")?;
                if r != "all_to_all" {
                    return Err(it.err(rnode, "rule", "weights from a file need rule = \"all_to_all\""));
                }
                let (d, dnode) = it.opt_quantity("delay", Dim::Time)?.unwrap_or((0.0, rnode));
                if !(d.is_finite() && d >= 0.0) {
                    return Err(it.err(dnode, "delay", format!("must be finite and not negative, found {d} ms")));
                }
                (Rule::AllToAll, 0.0, d)
            } else {
                rule_weight_delay(&mut it, n_src, size, Dim::Dimensionless, 0.0)?
            };
            it.finish(&["from", "rule", "indegree", "p", "weight", "delay"])?;
            inputs.push(Conn { end, size: Some(n_src), rule, weight, delay_ms, matrix });
        }
        let mut outputs = Vec::new();
        for mut it in sub_tables(t, "output")? {
            let (to, _) = it.str("to")?;
            let (end, n_dst, dim) = if let Some(i) = ctx.populations.iter().position(|p| p == to) {
                let (r, rnode) = it.str("receptor")?;
                let Some(ri) = ctx.population_receptors[i].iter().position(|x| *x == r) else {
                    return Err(it.err(rnode, "receptor", format!("population `{to}` has no receptor \"{r}\"; valid: {}", ctx.population_receptors[i].join(", "))));
                };
                (Dest::Population(i, ri), Some(ctx.population_sizes[i]), Dim::Dimensionless)
            } else {
                (Dest::Event(to.to_string()), None, Dim::Dimensionless)
            };
            let (rule, weight, delay_ms) = rule_weight_delay(&mut it, size, n_dst.unwrap_or(usize::MAX), dim, ctx.dt_ms)?;
            it.finish(&["to", "receptor", "rule", "indegree", "p", "weight", "delay"])?;
            outputs.push(Conn { end, size: n_dst, rule, weight, delay_ms, matrix: None });
        }
        Ok(Arc::new(EventPopDef { name: name.to_string(), size, params, model, record, inputs, outputs }))
    }
}

impl TableConfig for EventPopDef {
    fn insert(&self, world: &mut World) {
        world.get_resource_or_insert_with(EventDefs::default).0.push(self.clone());
    }
    fn defines(&self) -> Option<(String, usize)> {
        // (Its name among the scenario's: its outputs are files named after it.)
        Some((self.name.clone(), self.size))
    }
    fn in_shards(&self) -> Result<(), &'static str> {
        // Each shard steps its own range of every event population, from the whole
        // network's spikes (exchanged every step), and the event populations' spikes are
        // exchanged too (`run::exchange`); each shard adds only its own neurons' inputs.
        // Checkpoints merge the shards' parts (`MergeParts`).
        Ok(())
    }
}

/// The tables of `[[event_population.KEY]]`.
fn sub_tables<'a>(t: &mut Table<'a>, key: &str) -> Result<Vec<Table<'a>>, ScenarioError> {
    let Some(n) = t.get(key) else { return Ok(Vec::new()) };
    let Val::Array(items) = &n.val else {
        return Err(t.err(n, key, format!("expected an array of tables ([[event_population.{key}]]), found {}", n.val.type_str())));
    };
    let path = t.key_path(key);
    items.iter().enumerate().map(|(i, it)| Table::new(it, format!("{path}[{i}]"))).collect()
}

/// `rule` (+ `indegree` or `p`), `weight`, `delay` (at least `min_delay`).
fn rule_weight_delay(t: &mut Table<'_>, n_src: usize, n_dst: usize, wdim: Dim, min_delay: f64) -> Result<(Rule, f64, f64), ScenarioError> {
    let (rule, rnode) = t.str("rule")?;
    let rule = match rule {
        "all_to_all" => Rule::AllToAll,
        "one_to_one" => {
            if n_dst != usize::MAX && n_src != n_dst {
                return Err(t.err(rnode, "rule", format!("one_to_one needs equal sizes ({n_src} sources, {n_dst} targets)")));
            }
            Rule::OneToOne
        }
        "fixed_indegree" => {
            let (k, kn) = t.opt_count("indegree")?.ok_or_else(|| t.err(rnode, "indegree", "is required by fixed_indegree"))?;
            if k == 0 || k > 1 << 20 {
                return Err(t.err(kn, "indegree", "must be 1 to 2^20"));
            }
            Rule::FixedIndegree(k)
        }
        "pairwise_bernoulli" => {
            let (p, pn) = t.quantity("p", Dim::Dimensionless)?;
            if !(0.0..=1.0).contains(&p) {
                return Err(t.err(pn, "p", format!("must be in [0, 1], found {p}")));
            }
            Rule::Bernoulli(p)
        }
        other => return Err(t.err(rnode, "rule", format!("unknown rule \"{other}\"; valid: \"all_to_all\", \"one_to_one\", \"fixed_indegree\", \"pairwise_bernoulli\""))),
    };
    let (weight, wnode) = t.quantity("weight", wdim)?;
    if !weight.is_finite() {
        return Err(t.err(wnode, "weight", "must be finite"));
    }
    let (delay_ms, dnode) = t.opt_quantity("delay", Dim::Time)?.unwrap_or((min_delay, wnode));
    if !delay_ms.is_finite() || delay_ms < min_delay {
        let why = if min_delay > 0.0 { format!("must be at least one step ({min_delay} ms): a spike's output acts in a later step") } else { "must be finite and not negative".into() };
        return Err(t.err(dnode, "delay", format!("{why}, found {delay_ms} ms")));
    }
    Ok((rule, weight, delay_ms))
}
