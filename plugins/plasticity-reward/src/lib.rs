#![doc = include_str!("../README.md")]

use std::sync::Arc;

use bevy_ecs::prelude::Component;
use bevy_ecs::world::EntityWorldMut;
use spikeworld::net::plastic::{TraceRing, register_rule};
use spikeworld::prelude::*;

pub mod rate;
pub mod rstdp;
pub mod signal;
pub mod switch;

pub use signal::{RewardHistory, RewardSignal};

/// The names a program using this plugin needs.
pub mod prelude {
    pub use crate::RewardPlugin;
    pub use crate::rate::RateModulation;
    pub use crate::signal::{RewardHistory, RewardSignal};
}

/// Registers the reward-modulated rules as `plasticity = { rule = ... }` add-ons (`rstdp`,
/// `rstdp_et`, `reward_switch_stdp`, `rate_modulation`, `conv2d_rstdp`: SPAIC's `RSTDP`,
/// `RSTDPET`, `RewardSwitchSTDP`, `Rate_Modulate`, `Conv2d_RSTDP`) and the top-level
/// `[reward]` table that sets the reward signal each step.
pub struct RewardPlugin;

impl Plugin for RewardPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_projection_addon(rstdp::RstdpAddon)
            .add_projection_addon(rstdp::RstdpEtAddon)
            .add_projection_addon(rstdp::Conv2dRstdpAddon)
            .add_projection_addon(switch::Addon)
            .add_projection_addon(rate::Addon);
        register_rule::<rstdp::Rstdp>(b, "plasticity.rstdp");
        register_rule::<rstdp::RstdpEt>(b, "plasticity.rstdp_et");
        register_rule::<rstdp::Conv2dRstdp>(b, "plasticity.conv2d_rstdp");
        register_rule::<switch::RewardSwitchStdp>(b, "plasticity.reward_switch_stdp");
        register_rule::<rate::RateModulation>(b, "plasticity.rate_modulation");
        b.add_world_hook(rstdp::check_conv2d_projections);
        b.add_scenario_table(signal::RewardTable)
            .add_resource_state::<RewardSignal>("reward.signal")
            .add_resource_state::<RewardHistory>("reward.history")
            .add_world_hook(signal::resolve_sources)
            .add_systems(SimSystems::Inputs, signal::set_reward)
            .add_systems(SimSystems::Record, record_signals)
            .add_output(signal::history_output);
    }
}

/// After the step (`SimSystems::Record`): the history first (it records the signal the
/// rules of this step read, before a `rate_modulation` writing under the same name could
/// change it), then the rate losses. One system: the order is fixed without a chain.
pub fn record_signals(
    clock: bevy_ecs::prelude::Res<Clock>,
    history: Option<bevy_ecs::prelude::ResMut<RewardHistory>>,
    rates: bevy_ecs::prelude::Query<(&SynapseTable, &rate::RateModulation)>,
    mut modulators: Option<bevy_ecs::prelude::ResMut<spikeworld::net::plastic::Modulators>>,
) {
    let Some(m) = modulators.as_deref_mut() else { return };
    signal::record_reward(&clock, history, m);
    rate::publish_rate_loss(&rates, m);
}

/// The key every rule of this crate takes for the modulator it reads.
pub const SIGNAL_KEY: ParamSpec = ParamSpec::optional("signal", Dim::Dimensionless, "name of the modulator the rule reads as its reward (default \"reward\": set by a `[reward]` table or by a program with Sim::set_modulator)");

/// Reads an optional string key naming a signal (`default` when absent; not empty).
pub(crate) fn signal_name(t: &mut Table<'_>, key: &str, default: &str) -> Result<String, ScenarioError> {
    match t.opt_str(key)? {
        None => Ok(default.to_string()),
        Some(("", n)) => Err(t.err(n, key, "must not be empty")),
        Some((s, _)) => Ok(s.to_string()),
    }
}

/// A parsed rule: a component to insert into the projection's entity, built once the
/// synapse table (and so the delays) exists (the pattern of `spikeworld-plasticity-stdp`).
pub(crate) struct RuleConfig<F>(pub F, pub bool);

impl<C, F> AddonConfig for RuleConfig<F>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync,
{
    fn attach(&self, e: &mut EntityWorldMut<'_>) {
        let c = e.get::<SynapseTable>().map(|t| (self.0)(t));
        if let Some(c) = c {
            e.insert(c);
        }
    }
    fn shared_weights(&self) -> bool {
        self.1
    }
    fn bytes_per_synapse(&self) -> usize {
        // The most a rule of this crate keeps per synapse (pending updates and their
        // marks, eligibility and its trace, scratch): 24 bytes.
        24
    }
}

/// A rule config as an add-on's parse result (`shared_ok`: it works on conv2d kernels).
pub(crate) fn config<C, F>(f: F, shared_ok: bool) -> Arc<dyn AddonConfig>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync + 'static,
{
    Arc::new(RuleConfig(f, shared_ok))
}

/// Starts a new step of a per-neuron trace: `x = a * z + decay * x` for every neuron
/// (`z` = 1 for those in `spikes`, else 0): SPAIC's all-to-all `var_linear(A, s, tau * p)`.
pub(crate) fn accumulate(ring: &mut TraceRing, spikes: impl Iterator<Item = usize>, a: f64, decay: f64, mark: &mut Vec<f64>) {
    ring.advance();
    marks(mark, ring.len(), spikes);
    for (v, &z) in ring.now_mut().iter_mut().zip(mark.iter()) {
        *v = a * z + decay * *v;
    }
}

/// Starts a new step of a "nearest" trace: `x = decay * x * (z <= 0) + z` (SPAIC's
/// `trace * decay * s.le(0) + s`: 1 on a spike, otherwise decayed).
pub(crate) fn nearest(ring: &mut TraceRing, spikes: impl Iterator<Item = usize>, decay: f64, mark: &mut Vec<f64>) {
    ring.advance();
    marks(mark, ring.len(), spikes);
    for (v, &z) in ring.now_mut().iter_mut().zip(mark.iter()) {
        let keep = if z <= 0.0 { 1.0 } else { 0.0 };
        *v = decay * *v * keep + z;
    }
}

fn marks(mark: &mut Vec<f64>, n: usize, spikes: impl Iterator<Item = usize>) {
    mark.clear();
    mark.resize(n, 0.0);
    for i in spikes {
        mark[i] = 1.0;
    }
}

/// A per-weight sum built from this step's events: which entries it touched, to apply or
/// clear only those.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sparse {
    pub val: Vec<f64>,
    hit: Vec<bool>,
    pub touched: Vec<u32>,
}

impl Sparse {
    pub fn new(n: usize) -> Self {
        Sparse { val: vec![0.0; n], hit: vec![false; n], touched: Vec::new() }
    }
    /// `val[k] += v` (from 0 the first time in a step).
    #[inline]
    pub fn add(&mut self, k: usize, v: f64) {
        if !self.hit[k] {
            self.hit[k] = true;
            self.touched.push(k as u32);
        }
        self.val[k] += v;
    }
    /// Calls `f(k, val[k])` for each touched entry (in first-touch order) and clears them.
    pub fn drain(&mut self, mut f: impl FnMut(usize, f64)) {
        for &k in &self.touched {
            let k = k as usize;
            f(k, self.val[k]);
            self.val[k] = 0.0;
            self.hit[k] = false;
        }
        self.touched.clear();
    }
}

impl Checkpoint for Sparse {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.touched)?;
        let vals: Vec<f64> = self.touched.iter().map(|&k| self.val[k as usize]).collect();
        out.blob(&vals)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        let touched: Vec<u32> = inp.blob("touched entries")?;
        let vals: Vec<f64> = inp.blob("their values")?;
        if vals.len() != touched.len() || touched.iter().any(|&k| k as usize >= self.val.len()) {
            return Err(StateError::new(format!("{} touched entries with {} values, of {} weights", touched.len(), vals.len(), self.val.len())));
        }
        self.val.iter_mut().for_each(|v| *v = 0.0);
        self.hit.iter_mut().for_each(|h| *h = false);
        for (&k, &v) in touched.iter().zip(&vals) {
            self.val[k as usize] = v;
            self.hit[k as usize] = true;
        }
        self.touched = touched;
        Ok(())
    }
}
