#![doc = include_str!("../README.md")]


use bevy_ecs::prelude::Component;
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
            // Only in worlds with a `[reward]` table or a `rate_modulation` rule: elsewhere
            // they would return at once, at a cost every step.
            .add_systems_when(SimSystems::Inputs, signal::set_reward, |w| w.contains_resource::<RewardSignal>())
            .add_systems_when(SimSystems::Record, record_signals, |w| w.contains_resource::<RewardHistory>() || w.query::<&rate::RateModulation>().iter(w).next().is_some())
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

/// What the rules of this crate hold per synapse at most (eligibility and its trace,
/// pending updates and their marks), for the memory estimate.
const BYTES_PER_SYNAPSE: usize = 24;

/// A rule's parse result (`shared_ok`: it works on conv2d kernels): its component, made
/// from the built synapse table.
pub(crate) fn config<C, F>(f: F, shared_ok: bool) -> spikeworld::net::plastic::Rule<F>
where
    C: Component,
    F: Fn(&SynapseTable) -> C + Send + Sync + 'static,
{
    spikeworld::net::plastic::rule(f).shared_weights(shared_ok).bytes_per_synapse(BYTES_PER_SYNAPSE)
}

/// Starts a new step of a per-neuron trace: `x = a * z + decay * x` for every neuron
/// (`z` = 1 for those in `spikes`, else 0): SPAIC's all-to-all `var_linear(A, s, tau * p)`.
pub(crate) fn accumulate(ring: &mut TraceRing, spikes: impl Iterator<Item = usize>, a: f64, decay: f64, mark: &mut Vec<f64>) {
    ring.step(spikes, mark, |v, z| a * z + decay * v);
}

/// Starts a new step of a "nearest" trace: `x = decay * x * (z <= 0) + z` (SPAIC's
/// `trace * decay * s.le(0) + s`: 1 on a spike, otherwise decayed).
pub(crate) fn nearest(ring: &mut TraceRing, spikes: impl Iterator<Item = usize>, decay: f64, mark: &mut Vec<f64>) {
    ring.step(spikes, mark, |v, z| decay * v * if z <= 0.0 { 1.0 } else { 0.0 } + z);
}

/// A per-weight sum built from this step's events (the core's sparse accumulator).
pub(crate) use spikeworld::net::plastic::SparseAccum as Sparse;
