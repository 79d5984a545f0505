//! The top-level `[reward]` table: sets a modulator (the reward the rules read) at the
//! start of every step, in `SimSystems::Inputs`, and records its history.
//!
//! ```toml
//! [reward]
//! kind = "schedule"            # piecewise constant
//! times = ["0 ms", "100 ms"]
//! values = [1.0, -1.0]
//! period = "200 ms"            # optional: repeat
//!
//! [reward]
//! kind = "rate_difference"     # gain * (rate of `plus` - rate of `minus`), Hz, over the last `window`
//! plus = "left"
//! minus = "right"
//! window = "50 ms"
//! gain = 0.01
//!
//! [reward]
//! kind = "external"            # a program sets it (Sim::set_modulator); only the history is kept
//! ```

use std::sync::Arc;

use bevy_ecs::prelude::{Entity, Query, Res, ResMut, Resource, World};
use spikeworld::api::addon::{ScenarioTable, TableConfig, TableCtx};
use spikeworld::net::plastic::Modulators;
use spikeworld::net::EncoderSlot;
use spikeworld::prelude::*;
use spikeworld::util::table::node_quantity_list;

use crate::signal_name;

/// The `[reward]` table.
pub struct RewardTable;

const KEYS: &[ParamSpec] = &[
    ParamSpec::required("kind", Dim::Dimensionless, "\"schedule\" (piecewise constant values), \"rate_difference\" (gain * (rate of `plus` - rate of `minus`)) or \"external\" (set by a program; only recorded)"),
    ParamSpec::optional("signal", Dim::Dimensionless, "name of the modulator it sets (default \"reward\")"),
    ParamSpec::new("record_every", Dim::Dimensionless, 1.0, "keep the signal's value every this many steps in the checkpointed history (0: keep none)"),
    ParamSpec::optional("times", Dim::Time, "schedule: start time of each value, ascending (each rounded to the nearest step); before the first the signal is 0"),
    ParamSpec::optional("values", Dim::Dimensionless, "schedule: the value from each time on"),
    ParamSpec::optional("period", Dim::Time, "schedule: repeat the schedule with this period (longer than the last time); default: no repeat, the last value holds"),
    ParamSpec::optional("plus", Dim::Dimensionless, "rate_difference: the population (or spike encoder) whose rate counts positively"),
    ParamSpec::optional("minus", Dim::Dimensionless, "rate_difference: the population (or spike encoder) whose rate counts negatively"),
    ParamSpec::new("window", Dim::Time, 100.0, "rate_difference: the rates are mean rates per neuron over the last `window` (rounded to whole steps, at least one)"),
    ParamSpec::new("gain", Dim::Dimensionless, 1.0, "rate_difference: reward per Hz of rate difference"),
];

const SCHEDULE_KEYS: &[&str] = &["times", "values", "period"];
const RATE_KEYS: &[&str] = &["plus", "minus", "window", "gain"];

/// How the signal is made.
#[derive(Clone, Debug)]
pub enum SignalKind {
    /// Piecewise constant: `values[i]` from step `steps[i]` on (0 before the first),
    /// repeating every `period` steps if given.
    Schedule {
        /// Start step of each value, ascending.
        steps: Vec<u64>,
        /// The values.
        values: Vec<f64>,
        /// Repeat period in steps.
        period: Option<u64>,
    },
    /// `gain * (rate(plus) - rate(minus))`.
    RateDifference(RateDifference),
    /// Set by a program.
    External,
}

/// The state of a `rate_difference` signal: each side's spike count in each of the last
/// `window` steps.
#[derive(Clone, Debug)]
pub struct RateDifference {
    /// Names of the two groups.
    pub names: [String; 2],
    /// Their entities and sizes (found once the network is built).
    pub groups: Option<[(Entity, usize); 2]>,
    /// Window, steps.
    pub window: usize,
    /// Reward per Hz.
    pub gain: f64,
    /// Counts per step, `counts[side][slot]`.
    counts: [Vec<u64>; 2],
    sums: [u64; 2],
    head: usize,
}

impl RateDifference {
    /// Mean rates per neuron over the window, Hz (steps before the start count as silent).
    pub fn rates(&self, dt_ms: f64) -> [f64; 2] {
        let secs = self.window as f64 * dt_ms / 1000.0;
        let groups = self.groups.expect("groups resolved at build");
        [self.sums[0] as f64 / (groups[0].1 as f64 * secs), self.sums[1] as f64 / (groups[1].1 as f64 * secs)]
    }
    fn push(&mut self, c: [u64; 2]) {
        for (side, &n) in c.iter().enumerate() {
            self.sums[side] = self.sums[side] - self.counts[side][self.head] + n;
            self.counts[side][self.head] = n;
        }
        self.head = (self.head + 1) % self.window;
    }
}

/// The signal a `[reward]` table sets each step (and, for `rate_difference`, its spike
/// counts: checkpointed).
#[derive(Resource, Clone, Debug)]
pub struct RewardSignal {
    /// The modulator it sets.
    pub signal: String,
    /// How.
    pub kind: SignalKind,
}

impl RewardSignal {
    /// The scheduled value at step `t` (`Schedule` only).
    pub fn scheduled(steps: &[u64], values: &[f64], period: Option<u64>, t: u64) -> f64 {
        let t = period.map_or(t, |p| t % p);
        match steps.partition_point(|&s| s <= t) {
            0 => 0.0,
            i => values[i - 1],
        }
    }
}

impl Checkpoint for RewardSignal {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        if let SignalKind::RateDifference(r) = &self.kind {
            out.u64(r.head as u64)?;
            out.blob(&r.counts[0])?;
            out.blob(&r.counts[1])?;
        }
        Ok(())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        if let SignalKind::RateDifference(r) = &mut self.kind {
            let head = inp.u64("rate window head")?;
            if head >= r.window as u64 {
                return Err(StateError::new(format!("rate window head {head} out of {} steps", r.window)));
            }
            r.head = head as usize;
            inp.blob_into(&mut r.counts[0], "rate window counts (plus)")?;
            inp.blob_into(&mut r.counts[1], "rate window counts (minus)")?;
            r.sums = [r.counts[0].iter().sum(), r.counts[1].iter().sum()];
        }
        Ok(())
    }
}

/// The value of the signal at every `every`-th step (step 0, every, 2 every, ...): what the
/// rules read in that step. Checkpointed.
#[derive(Resource, Clone, Debug, Default)]
pub struct RewardHistory {
    /// The modulator recorded.
    pub signal: String,
    /// Steps between records.
    pub every: u64,
    /// The values.
    pub values: Vec<f64>,
}

impl Checkpoint for RewardHistory {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.values)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.values = inp.blob("reward history")?;
        Ok(())
    }
}

struct Parsed {
    signal: RewardSignal,
    every: u64,
}

impl TableConfig for Parsed {
    fn insert(&self, world: &mut World) {
        world.insert_resource(self.signal.clone());
        if self.every > 0 {
            world.insert_resource(RewardHistory { signal: self.signal.signal.clone(), every: self.every, values: Vec::new() });
        }
    }
    fn in_shards(&self) -> Result<(), &'static str> {
        // Every shard computes the same signal: a schedule, or spike counts from the
        // whole network's spike histories (exchanged every step); `Sim::set_modulator`
        // sets every shard.
        Ok(())
    }
}

impl ScenarioTable for RewardTable {
    fn name(&self) -> &'static str {
        "reward"
    }
    fn doc(&self) -> &'static str {
        "the reward signal (a modulator) that reward-modulated plasticity reads, set at the start of every step: a schedule, a rate difference of two groups, or external (a program's); its history is checkpointed"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &TableCtx) -> Result<Arc<dyn TableConfig>, ScenarioError> {
        let (kind, kind_node) = t.str("kind")?;
        let signal = signal_name(t, "signal", "reward")?;
        let every = t.opt_count("record_every")?.map_or(1, |(n, _)| n);
        let foreign: &[&str] = match kind {
            "schedule" => RATE_KEYS,
            "rate_difference" => SCHEDULE_KEYS,
            "external" => &["times", "values", "period", "plus", "minus", "window", "gain"],
            _ => return Err(t.err(kind_node, "kind", format!("unknown kind \"{kind}\"; valid: \"schedule\", \"rate_difference\", \"external\""))),
        };
        for &key in foreign {
            if let Some(n) = t.get(key) {
                return Err(t.err(n, key, format!("is not a key of kind = \"{kind}\"")));
            }
        }
        let step_of = |ms: f64| (ms / ctx.dt_ms).round();
        let kind = match kind {
            "schedule" => {
                let tn = t.req("times")?;
                let times = node_quantity_list(tn, Dim::Time, &t.key_path("times"))?;
                let vn = t.req("values")?;
                let values = node_quantity_list(vn, Dim::Dimensionless, &t.key_path("values"))?;
                if times.is_empty() || times.len() != values.len() {
                    return Err(t.err(vn, "values", format!("must have one value per time ({} times, {} values)", times.len(), values.len())));
                }
                let mut steps = Vec::with_capacity(times.len());
                for &ms in &times {
                    let s = step_of(ms);
                    if s < 0.0 {
                        return Err(t.err(tn, "times", format!("must not be negative (found {ms} ms)")));
                    }
                    if steps.last().is_some_and(|&l| s as u64 <= l) {
                        return Err(t.err(tn, "times", format!("must be ascending, at least one step ({} ms) apart (found {ms} ms)", ctx.dt_ms)));
                    }
                    steps.push(s as u64);
                }
                let period = match t.opt_quantity("period", Dim::Time)? {
                    None => None,
                    Some((ms, n)) => {
                        let p = step_of(ms);
                        let last = *steps.last().expect("not empty");
                        if p <= last as f64 {
                            return Err(t.err(n, "period", format!("must be longer than the last time ({} ms), found {ms} ms", last as f64 * ctx.dt_ms)));
                        }
                        Some(p as u64)
                    }
                };
                SignalKind::Schedule { steps, values, period }
            }
            "rate_difference" => {
                let mut group = |key: &str| -> Result<String, ScenarioError> {
                    let (name, n) = t.str(key)?;
                    if ctx.populations.iter().chain(&ctx.encoders).any(|p| p == name) {
                        Ok(name.to_string())
                    } else {
                        Err(t.err(n, key, format!("no population or encoder `{name}`; valid: {}", ctx.populations.iter().chain(&ctx.encoders).cloned().collect::<Vec<_>>().join(", "))))
                    }
                };
                let names = [group("plus")?, group("minus")?];
                let (ms, wn) = t.opt_quantity("window", Dim::Time)?.map_or((KEYS[8].default_value().expect("default"), None), |(v, n)| (v, Some(n)));
                let window = step_of(ms);
                if window < 1.0 {
                    let msg = format!("must be at least one step ({} ms), found {ms} ms", ctx.dt_ms);
                    return Err(match wn {
                        Some(n) => t.err(n, "window", msg),
                        None => spikeworld::util::table::err_at(t.loc(), t.key_path("window"), msg),
                    });
                }
                let gain = t.opt_quantity("gain", Dim::Dimensionless)?.map_or(1.0, |(g, _)| g);
                let window = window as usize;
                SignalKind::RateDifference(RateDifference { names, groups: None, window, gain, counts: [vec![0; window], vec![0; window]], sums: [0, 0], head: 0 })
            }
            _ => SignalKind::External,
        };
        Ok(Arc::new(Parsed { signal: RewardSignal { signal, kind }, every }))
    }
}

/// Finds the groups of a `rate_difference` signal (world hook): a population, or an
/// encoder that emits spikes.
pub(crate) fn resolve_sources(w: &mut World) -> Result<(), String> {
    let Some(sig) = w.get_resource::<RewardSignal>() else { return Ok(()) };
    let SignalKind::RateDifference(r) = &sig.kind else { return Ok(()) };
    let names = r.names.clone();
    let mut found = Vec::with_capacity(2);
    for name in &names {
        let pop = w.query::<(Entity, &Population)>().iter(w).find(|(_, p)| &p.name == name).map(|(e, p)| (e, p.total));
        let enc = || w.query::<(Entity, &EncoderSlot)>().iter(w).find(|(_, s)| &s.name == name).map(|(e, s)| (e, s.size));
        let Some((e, n)) = pop.or_else(enc) else { return Err(format!("[reward]: no population or encoder `{name}`")) };
        if w.get::<SpikeHistory>(e).is_none() {
            return Err(format!("[reward]: `{name}` emits no spikes (an encoder that drives a current): rate_difference needs spiking groups"));
        }
        if n == 0 {
            return Err(format!("[reward]: `{name}` has no neuron"));
        }
        found.push((e, n));
    }
    let mut sig = w.resource_mut::<RewardSignal>();
    if let SignalKind::RateDifference(r) = &mut sig.kind {
        r.groups = Some([found[0], found[1]]);
    }
    Ok(())
}

/// Sets the signal for this step (`SimSystems::Inputs`): the schedule's value at this step,
/// or the rate difference over the `window` steps before it.
pub fn set_reward(clock: Res<Clock>, sig: Option<ResMut<RewardSignal>>, modulators: Option<ResMut<Modulators>>, hist: Query<&SpikeHistory>) {
    let (Some(mut sig), Some(mut modulators)) = (sig, modulators) else { return };
    let sig = &mut *sig;
    let t = clock.step;
    let v = match &mut sig.kind {
        SignalKind::Schedule { steps, values, period } => RewardSignal::scheduled(steps, values, *period, t),
        SignalKind::RateDifference(r) => {
            let groups = r.groups.expect("groups resolved at build");
            if t > 0 {
                let count = |e: Entity| hist.get(e).ok().and_then(|h| h.at(t - 1)).map_or(0, |s| s.len() as u64);
                r.push([count(groups[0].0), count(groups[1].0)]);
            }
            let [a, b] = r.rates(clock.dt_ms);
            r.gain * (a - b)
        }
        SignalKind::External => return,
    };
    modulators.set(&sig.signal, v);
}

/// Records the signal's value of this step (`SimSystems::Record`).
pub(crate) fn record_reward(clock: &Clock, history: Option<ResMut<RewardHistory>>, m: &Modulators) {
    let Some(mut h) = history else { return };
    if clock.step.is_multiple_of(h.every) {
        let v = m.get(&h.signal);
        h.values.push(v);
    }
}

/// The recorded signal as output arrays: `SIGNAL_history.t_ms.npy` (the step's start) and
/// `SIGNAL_history.values.npy`, when the scenario has a `[reward]` table.
pub fn history_output(w: &bevy_ecs::world::World) -> Vec<spikeworld::api::output::OutputArray> {
    use spikeworld::api::output::{OutputArray, OutputData};
    let (Some(h), Some(clock)) = (w.get_resource::<RewardHistory>(), w.get_resource::<Clock>()) else { return Vec::new() };
    let n = h.values.len() as u64;
    let name = format!("{}_history", h.signal);
    let t: Vec<f64> = (0..n).map(|k| (k * h.every) as f64 * clock.dt_ms).collect();
    vec![
        OutputArray { name: name.clone(), quantity: "t_ms".into(), unit: "ms".into(), data: OutputData::F64(t), shape: vec![n] },
        OutputArray { name, quantity: "values".into(), unit: "1".into(), data: OutputData::F64(h.values.clone()), shape: vec![n] },
    ]
}
