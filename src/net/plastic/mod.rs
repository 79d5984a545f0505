//! What plasticity rules build on: the spike events a projection's synapses see in a step
//! (with axonal or dendritic delays), per-neuron traces kept over the last few steps, the
//! neuromodulators (reward) a rule may read, and a generic system that runs a rule on
//! every projection that carries it.
//!
//! A rule is a [`PlasticityRule`] component on the projection's entity (inserted by its
//! add-on's `attach`), registered with [`register_rule`]. In step `t`, after propagation,
//! [`apply_rule`] hands it a [`PlasticStep`]: the synapse table (weights and the rule's
//! per-synapse arrays), this step's spikes of both sides, and [`SynapseEvents`]:
//!
//! - a presynaptic spike emitted at step `s` through a synapse of delay `d` *arrives* at
//!   the synapse at step `s + d` (it acts on the target in the update of `s + d + 1`) when
//!   the delay is axonal (the default); with a dendritic delay it is at the synapse at `s`
//!   and the postsynaptic spike, emitted at the soma at `s`, reaches the synapse at
//!   `s + d` (NEST's convention for STDP synapses);
//! - traces are per neuron (one value per source and one per target, updated every step,
//!   O(neurons)); a synapse reads the trace of the side its delay lies on `d` steps back
//!   ([`TraceRing::lagged`]), which is exactly the trace of the delayed spike train.

use std::collections::BTreeMap;

mod config;
mod pending;
mod shards;

pub use config::{Rule, rule, rule_config};
pub use pending::TableAccum;
pub use shards::{EntrySums, Shards};

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemState;

use crate::api::state::{Checkpoint, StateError, StateReader, StateWriter};
use crate::net::synapse::{Delays, SynapseTable};
use crate::net::{Clock, Population, RunInfo, ShardLink, SpikeHistory, Spikes};
use crate::registry::SimBuilder;

/// Where a projection's delay lies, for its plasticity rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelaySite {
    /// Between the source and the synapse: a presynaptic spike counts when it arrives, a
    /// postsynaptic spike as it happens.
    Axonal,
    /// Between the synapse and the soma: a presynaptic spike counts as it is emitted, a
    /// postsynaptic spike when it has travelled back to the synapse (NEST).
    Dendritic,
}

impl DelaySite {
    /// From the key's value (`"axonal"` or `"dendritic"`).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "axonal" => Some(DelaySite::Axonal),
            "dendritic" => Some(DelaySite::Dendritic),
            _ => None,
        }
    }
}

/// A per-neuron quantity (a trace) over the last `depth` steps: the newest slot is the
/// current step's; [`TraceRing::lagged`] reads older ones. `depth` is the longest delay
/// that reads it + 1 (one slot, no copy, when there is no delay).
#[derive(Clone, Debug)]
pub struct TraceRing {
    n: usize,
    depth: usize,
    head: usize,
    data: Vec<f64>,
}

impl TraceRing {
    /// `n` neurons over `depth` steps (at least 1), all `initial`.
    pub fn new(n: usize, depth: usize, initial: f64) -> Self {
        let depth = depth.max(1);
        TraceRing { n, depth, head: 0, data: vec![initial; n * depth] }
    }
    /// Neurons.
    pub fn len(&self) -> usize {
        self.n
    }
    /// True when it holds no neuron.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Starts a new step: the new current slot starts as a copy of the previous one (the
    /// rule then decays it and adds this step's spikes in [`TraceRing::now_mut`]).
    pub fn advance(&mut self) {
        if self.depth == 1 {
            return;
        }
        let old = self.head;
        self.head = (self.head + 1) % self.depth;
        let (n, h) = (self.n, self.head);
        self.data.copy_within(old * n..(old + 1) * n, h * n);
    }
    /// This step's values.
    pub fn now(&self) -> &[f64] {
        &self.data[self.head * self.n..(self.head + 1) * self.n]
    }
    /// This step's values, to update.
    pub fn now_mut(&mut self) -> &mut [f64] {
        &mut self.data[self.head * self.n..(self.head + 1) * self.n]
    }
    /// Starts a new step: advances, then sets every neuron's value to `f(previous value,
    /// z)`, `z` = 1 for the neurons in `spikes` (indices into the ring) and 0 for the
    /// others. `mark` is scratch (kept by the caller so that a step allocates nothing).
    pub fn step(&mut self, spikes: impl Iterator<Item = usize>, mark: &mut Vec<f64>, f: impl Fn(f64, f64) -> f64) {
        self.advance();
        mark.clear();
        mark.resize(self.n, 0.0);
        for i in spikes {
            mark[i] = 1.0;
        }
        for (v, &z) in self.now_mut().iter_mut().zip(mark.iter()) {
            *v = f(*v, z);
        }
    }
    /// The value of neuron `i` `lag` steps ago (`lag < depth`).
    #[inline]
    pub fn lagged(&self, i: usize, lag: u32) -> f64 {
        debug_assert!((lag as usize) < self.depth);
        let s = (self.head + self.depth - lag as usize) % self.depth;
        self.data[s * self.n + i]
    }
}

impl Checkpoint for TraceRing {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.head as u64)?;
        out.blob(&self.data)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let head = inp.u64("trace ring head")?;
        if head >= self.depth as u64 {
            return Err(StateError::new(format!("trace ring head {head} out of {} slots", self.depth)));
        }
        self.head = head as usize;
        inp.blob_into(&mut self.data, "trace ring")
    }
}

/// A per-synapse (or per-weight) value built from one step's events and kept sparse: the
/// entries an event reached, in the order first reached (a rule's pending `dw`, an
/// eligibility). Checkpointed as (entries, values).
#[derive(Clone, Debug, Default)]
pub struct SparseAccum {
    val: Vec<f64>,
    hit: Vec<bool>,
    list: Vec<u32>,
}

impl SparseAccum {
    /// `n` entries, all 0.
    pub fn new(n: usize) -> Self {
        SparseAccum { val: vec![0.0; n], hit: vec![false; n], list: Vec::new() }
    }
    #[inline]
    fn touch(&mut self, k: usize) {
        if !self.hit[k] {
            self.hit[k] = true;
            self.val[k] = 0.0;
            self.list.push(k as u32);
        }
    }
    /// `value[k] += v` (from 0 the first time in a step).
    #[inline]
    pub fn add(&mut self, k: usize, v: f64) {
        self.touch(k);
        self.val[k] += v;
    }
    /// `value[k] -= v` (from 0 the first time in a step).
    #[inline]
    pub fn sub(&mut self, k: usize, v: f64) {
        self.touch(k);
        self.val[k] -= v;
    }
    /// The value at `k` (0 where nothing reached it).
    #[inline]
    pub fn get(&self, k: usize) -> f64 {
        self.val[k]
    }
    /// The entries reached and their values, in first-reached order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.list.iter().map(|&k| (k as usize, self.val[k as usize]))
    }
    /// Back to all zero.
    pub fn clear(&mut self) {
        for &k in &self.list {
            self.val[k as usize] = 0.0;
            self.hit[k as usize] = false;
        }
        self.list.clear();
    }
    /// Calls `f(k, value)` for each entry reached, in order, then clears.
    pub fn drain(&mut self, mut f: impl FnMut(usize, f64)) {
        for (k, v) in self.iter() {
            f(k, v);
        }
        self.clear();
    }
}

impl Checkpoint for SparseAccum {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.list)?;
        let v: Vec<f64> = self.iter().map(|(_, x)| x).collect();
        out.blob(&v)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.clear();
        let list: Vec<u32> = inp.blob("pending entries")?;
        let v: Vec<f64> = inp.blob("pending values")?;
        if list.len() != v.len() || list.iter().any(|&k| k as usize >= self.val.len()) {
            return Err(StateError::new(format!("pending values: {} entries and {} values stored for {} entries", list.len(), v.len(), self.val.len())));
        }
        for (&k, &x) in list.iter().zip(&v) {
            if self.hit[k as usize] {
                return Err(StateError::new(format!("pending values: entry {k} stored twice")));
            }
            self.hit[k as usize] = true;
            self.val[k as usize] = x;
        }
        self.list = list;
        Ok(())
    }
}

/// Named neuromodulatory signals (`reward`, dopamine, ...), set between steps by a program
/// ([`Modulators::set`]) or by a plugin's system in `SimSystems::Inputs`, and read by
/// rules in `SimSystems::Plasticity`. Checkpointed; names in sorted order.
#[derive(Resource, Clone, Debug, Default, PartialEq)]
pub struct Modulators(pub BTreeMap<String, f64>);

impl Modulators {
    /// The signal `name` (0 when never set).
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }
    /// Sets signal `name`.
    pub fn set(&mut self, name: &str, v: f64) {
        self.0.insert(name.to_string(), v);
    }
}

impl Checkpoint for Modulators {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.0.len() as u64)?;
        for (k, v) in &self.0 {
            out.str(k)?;
            out.f64(*v)?;
        }
        Ok(())
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let n = inp.u64("modulator count")?;
        self.0.clear();
        for _ in 0..n {
            let k = inp.str("modulator name")?;
            let v = inp.f64("modulator value")?;
            self.0.insert(k, v);
        }
        Ok(())
    }
}

/// One synapse seeing a spike this step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynEvent {
    /// The synapse (index into the table's arrays).
    pub k: usize,
    /// Its source, relative to the projection's selection (index into a pre [`TraceRing`]).
    pub i: u32,
    /// Its target (population-wide index, into a post [`TraceRing`]).
    pub j: u32,
    /// How many steps back the synapse sees the source's trace now (its delay if axonal).
    pub pre_lag: u32,
    /// How many steps back the synapse sees the target's trace now (its delay if dendritic).
    pub post_lag: u32,
}

/// The spikes that reach a projection's synapses in one step.
pub struct SynapseEvents<'a> {
    step: u64,
    site: DelaySite,
    pre: &'a SpikeHistory,
    post: &'a SpikeHistory,
}

impl<'a> SynapseEvents<'a> {
    /// The step.
    pub fn step(&self) -> u64 {
        self.step
    }
    /// Where the delays lie.
    pub fn site(&self) -> DelaySite {
        self.site
    }
    /// The source's spikes (ascending, its own indices) `lag` steps ago; empty before the
    /// start, `None` if no longer held (the history holds the longest delay + 2 steps).
    pub fn pre_at(&self, lag: u32) -> Option<&'a [u32]> {
        match self.step.checked_sub(lag as u64) {
            Some(s) => self.pre.at(s),
            None => Some(&[]),
        }
    }
    /// The target population's spikes `lag` steps ago, as [`SynapseEvents::pre_at`].
    pub fn post_at(&self, lag: u32) -> Option<&'a [u32]> {
        match self.step.checked_sub(lag as u64) {
            Some(s) => self.post.at(s),
            None => Some(&[]),
        }
    }
    /// Whether source `src` (its own index) spiked `lag` steps ago.
    pub fn pre_spiked(&self, src: u32, lag: u32) -> bool {
        self.pre_at(lag).is_some_and(|s| s.binary_search(&src).is_ok())
    }
    /// Whether target `j` spiked `lag` steps ago.
    pub fn post_spiked(&self, j: u32, lag: u32) -> bool {
        self.post_at(lag).is_some_and(|s| s.binary_search(&j).is_ok())
    }

    fn lags(&self, d: u32) -> (u32, u32) {
        match self.site {
            DelaySite::Axonal => (d, 0),
            DelaySite::Dendritic => (0, d),
        }
    }
    fn delay_range(t: &SynapseTable) -> (u32, u32) {
        match &t.delay {
            Delays::Const(d) => (*d, *d),
            Delays::Each(v) => (v.iter().copied().min().unwrap_or(0), v.iter().copied().max().unwrap_or(0)),
        }
    }

    /// Calls `f` for every synapse at which a presynaptic spike arrives in this step, source
    /// ascending (by delay first when delays differ), synapses in CSR order.
    pub fn pre(&self, t: &SynapseTable, mut f: impl FnMut(SynEvent)) {
        let (lo, hi) = match self.site {
            DelaySite::Axonal => Self::delay_range(t),
            DelaySite::Dendritic => (0, 0),
        };
        for lag in lo..=hi {
            let Some(s) = self.step.checked_sub(lag as u64) else { break };
            let Some(spk) = self.pre.at(s) else { continue };
            let a = spk.partition_point(|&x| x < t.src_start);
            let b = spk.partition_point(|&x| x < t.src_end);
            for &src in &spk[a..b] {
                let i = src - t.src_start;
                for k in t.csr.row(i as usize) {
                    let d = t.delay.of(k);
                    if self.site == DelaySite::Axonal && d != lag {
                        continue;
                    }
                    let (pre_lag, post_lag) = self.lags(d);
                    f(SynEvent { k, i, j: t.csr.col[k], pre_lag, post_lag });
                }
            }
        }
    }

    /// Calls `f` for every synapse at which a postsynaptic spike arrives in this step,
    /// target ascending (by delay first when delays differ), synapses ascending.
    pub fn post(&self, t: &SynapseTable, mut f: impl FnMut(SynEvent)) {
        let (lo, hi) = match self.site {
            DelaySite::Dendritic => Self::delay_range(t),
            DelaySite::Axonal => (0, 0),
        };
        let ix = t.by_target();
        for lag in lo..=hi {
            let Some(s) = self.step.checked_sub(lag as u64) else { break };
            let Some(spk) = self.post.at(s) else { continue };
            for &j in spk {
                if j as usize >= t.target_size {
                    continue;
                }
                let r = ix.ptr[j as usize] as usize..ix.ptr[j as usize + 1] as usize;
                for (&k, &i) in ix.syn[r.clone()].iter().zip(&ix.src[r]) {
                    let d = t.delay.of(k as usize);
                    if self.site == DelaySite::Dendritic && d != lag {
                        continue;
                    }
                    let (pre_lag, post_lag) = self.lags(d);
                    f(SynEvent { k: k as usize, i, j, pre_lag, post_lag });
                }
            }
        }
    }
}

/// What a rule is given in a step.
pub struct PlasticStep<'a> {
    /// The step (its spikes are known, its propagation done).
    pub step: u64,
    /// Step, ms.
    pub dt_ms: f64,
    /// The step the run ends at (its last step is `end_step - 1`).
    pub end_step: u64,
    /// The run's seed (for a rule's random streams: `util::rng::Stream`).
    pub seed: u64,
    /// The projection's synapses: weights and per-synapse arrays (the rule's are found by
    /// name, [`SynapseTable::var`]).
    pub table: &'a mut SynapseTable,
    /// This step's spikes of the source (ascending, population-wide; the selection is
    /// `table.src_start..table.src_end`).
    pub pre_now: &'a [u32],
    /// This step's spikes of the target population (ascending).
    pub post_now: &'a [u32],
    /// The spikes reaching synapses now.
    pub events: SynapseEvents<'a>,
    /// Neuromodulators (reward).
    pub modulators: &'a Modulators,
    /// The other shards of a partitioned network (one world: none), for a rule that needs
    /// values they hold.
    pub shards: Shards<'a>,
}

impl PlasticStep<'_> {
    /// The longest delay of the projection, in steps (trace rings need that + 1 slots):
    /// [`SynapseTable::max_delay`].
    pub fn max_delay(&self) -> u32 {
        self.table.max_delay
    }
    /// This step's spikes of the source's selection, relative to it.
    pub fn pre_relative(&self) -> impl Iterator<Item = u32> + '_ {
        let (a, b) = (self.table.src_start, self.table.src_end);
        self.pre_now.iter().copied().filter(move |&x| x >= a && x < b).map(move |x| x - a)
    }
}

/// A learning rule: a component on a projection's entity, holding the rule's parameters and
/// per-neuron state (its per-synapse state lives in the synapse table). Checkpointed under
/// the name given to [`register_rule`].
pub trait PlasticityRule: Component<Mutability = bevy_ecs::component::Mutable> + Checkpoint + Send + Sync {
    /// Where the projection's delays lie for this rule (its `delay` key, usually).
    fn delay_site(&self) -> DelaySite {
        DelaySite::Axonal
    }
    /// Updates traces and weights for step `s.step`.
    fn step(&mut self, s: PlasticStep<'_>);
}

/// Runs every projection's rule `R` (projections are independent: the order does not
/// matter to the bits; every shard visits them in the same order, as they spawn alike,
/// which the collectives of [`Shards`] check by the projection's tag).
fn apply_rule<R: PlasticityRule>(
    (clock, info, modulators, link): (Res<Clock>, Res<RunInfo>, Res<Modulators>, Option<Res<ShardLink>>),
    mut q: Query<(&mut SynapseTable, &mut R)>,
    (hist, pops): (Query<(&Spikes, &SpikeHistory)>, Query<&Population>),
) {
    for (mut table, mut rule) in &mut q {
        let (Ok((pre_now, pre)), Ok((post_now, post))) = (hist.get(table.source), hist.get(table.target)) else { continue };
        let site = rule.delay_site();
        // (A target is a population; its size otherwise.)
        let own = pops.get(table.target).map_or((0, table.target_size as u32), |p| (p.first as u32, (p.first + p.size) as u32));
        let link = link.as_deref();
        let tag = link.map_or(0, |_| xxhash_rust::xxh3::xxh3_64(table.name.as_bytes()));
        let shards = Shards { link, own, tag };
        let step = PlasticStep {
            step: clock.step,
            dt_ms: clock.dt_ms,
            end_step: info.end_step,
            seed: info.seed,
            table: &mut table,
            pre_now: &pre_now.indices,
            post_now: &post_now.indices,
            events: SynapseEvents { step: clock.step, site, pre, post },
            modulators: &modulators,
            shards,
        };
        rule.step(step);
    }
}

type RuleParams<R> = (
    (Res<'static, Clock>, Res<'static, RunInfo>, Res<'static, Modulators>, Option<Res<'static, ShardLink>>),
    Query<'static, 'static, (&'static mut SynapseTable, &'static mut R)>,
    (Query<'static, 'static, (&'static Spikes, &'static SpikeHistory)>, Query<'static, 'static, &'static Population>),
);

/// The rules some projection of this world uses, each with its cached system state, in the
/// order their plugins registered them. One core system ([`run_rules`]) runs them: a rule
/// no projection uses costs nothing per step (a system per registered rule would cost
/// each step whether used or not).
#[derive(Resource, Default)]
pub struct ActiveRules(Vec<Box<dyn FnMut(&mut World) + Send + Sync>>);

impl ActiveRules {
    /// Whether no projection of this world uses a rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Runs the active rules (the core's system in `SimSystems::Plasticity`).
pub(crate) fn run_rules(world: &mut World) {
    let Some(mut active) = world.get_resource_mut::<ActiveRules>() else { return };
    if active.0.is_empty() {
        return;
    }
    let mut runners = std::mem::take(&mut active.0);
    for r in runners.iter_mut() {
        r(world);
    }
    world.resource_mut::<ActiveRules>().0 = runners;
}

/// Registers rule component `R`: its state in checkpoints under `section`, and, in every
/// world where some projection holds an `R`, its place among the [`ActiveRules`].
pub fn register_rule<R: PlasticityRule>(b: &mut SimBuilder, section: &'static str) {
    b.add_component_state::<R>(section).add_world_hook(|w: &mut World| {
        if w.query_filtered::<(), With<R>>().iter(w).next().is_none() {
            return Ok(());
        }
        let mut state: SystemState<RuleParams<R>> = SystemState::new(w);
        w.get_resource_or_insert_with(ActiveRules::default).0.push(Box::new(move |w: &mut World| {
            // The parameters are the core's resources and components, always present.
            if let Ok((res, q, hist)) = state.get_mut(w) {
                apply_rule::<R>(res, q, hist);
            }
        }));
        Ok(())
    });
}
