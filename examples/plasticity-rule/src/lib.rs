//! A complete learning rule in a crate of its own: `coincidence_hebb`, a Hebbian rule that
//! potentiates a synapse whenever a presynaptic spike reaches it in the same step as its
//! target fires, and lets every weight decay towards `w_rest`:
//!
//! ```text
//! every step:             w ← w_rest + (w − w_rest)·exp(−dt/tau_decay)
//! pre arrives ∧ post now: w ← min(w + eta, w_max)
//! ```
//!
//! What a rule crate writes: a [`ProjectionAddon`] for the `plasticity` sub-table (its keys,
//! parsed strictly), a component holding the rule's parameters and state, its
//! [`PlasticityRule::step`], its [`Checkpoint`] (here nothing evolves but the weights, which
//! the core saves), and one line in [`Plugin::build`]. The core does the rest: it calls the
//! rule after each step's propagation on every projection that uses it, hands it the
//! spikes that reach each synapse (with delays), and saves its state in checkpoints.

use std::sync::Arc;

use bevy_ecs::prelude::Component;
use spikeworld::net::plastic::{PlasticStep, PlasticityRule, register_rule, rule_config};
use spikeworld::prelude::*;

/// Registers `coincidence_hebb`.
pub struct CoincidenceHebbPlugin;

impl Plugin for CoincidenceHebbPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_projection_addon(Addon);
        register_rule::<CoincidenceHebb>(b, "example.coincidence_hebb");
    }
}

const KEYS: &[ParamSpec] = &[
    ParamSpec::required("eta", Dim::Dimensionless, "added to w on a coincidence, in the weight's unit"),
    ParamSpec::required("w_max", Dim::Dimensionless, "upper bound, in the weight's unit"),
    ParamSpec::new("w_rest", Dim::Dimensionless, 0.0, "what weights decay towards, in the weight's unit"),
    ParamSpec::new("tau_decay", Dim::Time, 1000.0, "decay time constant (> 0)"),
];

struct Addon;

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "coincidence_hebb"
    }
    fn doc(&self) -> &'static str {
        "example rule: w += eta when a presynaptic spike arrives in the step its target fires; w decays to w_rest"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<Arc<dyn AddonConfig>, ScenarioError> {
        let (eta, _) = t.quantity("eta", ctx.receptor_dim)?;
        let (w_max, _) = t.quantity("w_max", ctx.receptor_dim)?;
        let w_rest = t.opt_quantity("w_rest", ctx.receptor_dim)?.map_or(0.0, |x| x.0);
        let tau = match t.opt_quantity("tau_decay", Dim::Time)? {
            None => 1000.0,
            Some((x, _)) if x > 0.0 && x.is_finite() => x,
            Some((x, n)) => return Err(t.err(n, "tau_decay", format!("must be > 0 (found {x})"))),
        };
        let rule = CoincidenceHebb { eta, w_max, w_rest, decay: (-ctx.dt_ms / tau).exp() };
        // The component is inserted into the projection's entity when the network is built;
        // the rule keeps nothing per synapse (0 bytes for the memory estimate).
        Ok(rule_config(move |_table: &SynapseTable| rule.clone(), false, 0))
    }
}

/// The rule on one projection.
#[derive(Component, Clone, Debug)]
pub struct CoincidenceHebb {
    eta: f64,
    w_max: f64,
    w_rest: f64,
    decay: f64,
}

impl Checkpoint for CoincidenceHebb {
    // Parameters come from the scenario; the weights are the core's to save.
    fn save_state(&self, _out: &mut StateWriter<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn load_state(&mut self, _inp: &mut StateReader<'_>) -> Result<(), StateError> {
        Ok(())
    }
}

impl PlasticityRule for CoincidenceHebb {
    fn step(&mut self, s: PlasticStep<'_>) {
        let p = self.clone();
        for w in s.table.weight.iter_mut() {
            *w = p.w_rest + (*w - p.w_rest) * p.decay;
        }
        let mut w = std::mem::take(&mut s.table.weight);
        s.events.pre(&*s.table, |e| {
            if s.events.post_spiked(e.j, e.post_lag) {
                w[e.k] = (w[e.k] + p.eta).min(p.w_max);
            }
        });
        s.table.weight = w;
    }
}
