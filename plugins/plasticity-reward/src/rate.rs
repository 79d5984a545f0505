//! `rate_modulation`: SPAIC's `Rate_Modulate` / `Modulation_method`
//! (`spaic/Learning/Rate_Modulation.py`, registry `rate_modulate`). Not a weight rule: it
//! counts the spikes of each target neuron of the projection and exposes
//!
//! ```text
//! count_j += s_post_j                          (every step, this step's spikes)
//! loss = alpha * sqrt(sum_j (count_j - m_r)^2)
//! ```
//!
//! as the modulator `output` (default `rate_loss`), written after every step (in
//! `SimSystems::Record`); projections naming the same output add up (SPAIC sums the loss
//! over its trainable connections). It never changes a weight.

use std::collections::BTreeMap;

use bevy_ecs::prelude::{Component, Query};
use spikeworld::net::plastic::{Modulators, PlasticStep, PlasticityRule};
use spikeworld::prelude::*;
use spikeworld_plasticity_stdp::{Keys, TargetRange, finite};

use crate::{config, signal_name};

/// The `rate_modulation` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::required("m_r", Dim::Dimensionless, "target spike count of each target neuron (SPAIC `m_r`)"),
    ParamSpec::new("alpha", Dim::Dimensionless, 0.001, "weight of the loss (SPAIC `alpha`)"),
    ParamSpec::optional("output", Dim::Dimensionless, "name of the modulator the loss is written to (default \"rate_loss\")"),
];

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "rate_modulation"
    }
    fn doc(&self) -> &'static str {
        "SPAIC Rate_Modulate (not a weight rule): counts each target neuron's spikes and writes alpha * ||count - m_r||_2 into the modulator `output` (rate_loss) after every step; weights are left alone"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let output = signal_name(t, "output", "rate_loss")?;
        let mut k = Keys::new(t, ctx.receptor_dim);
        let m_r = k.num(&KEYS[0], finite, "finite")?;
        let alpha = k.num(&KEYS[1], finite, "finite")?;
        let range = TargetRange::of(ctx);
        Ok(config(move |_: &SynapseTable| RateModulation { m_r, alpha, output: output.clone(), range, count: vec![0; range.n] }, true).in_shards().into())
    }
}

/// `rate_modulation` on one projection.
#[derive(Component)]
pub struct RateModulation {
    m_r: f64,
    alpha: f64,
    output: String,
    range: TargetRange,
    count: Vec<u64>,
}

impl RateModulation {
    /// Spikes of each target neuron of the projection so far.
    pub fn counts(&self) -> &[u64] {
        &self.count
    }
    /// `alpha * ||count - m_r||_2`.
    pub fn loss(&self) -> f64 {
        let mut sum = 0.0;
        for &c in &self.count {
            let d = c as f64 - self.m_r;
            sum += d * d;
        }
        self.alpha * sum.sqrt()
    }
    /// The modulator it writes.
    pub fn output(&self) -> &str {
        &self.output
    }
}

impl Checkpoint for RateModulation {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.blob(&self.count)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        inp.blob_into(&mut self.count, "spike counts")
    }
}

impl PlasticityRule for RateModulation {
    fn step(&mut self, s: PlasticStep<'_>) {
        for j in s.post_now.iter().filter_map(|&j| self.range.rel(j)) {
            self.count[j] += 1;
        }
    }
}

/// Writes every `rate_modulation` loss into its modulator (projections sharing an output
/// add up, in projection-name order so that the sum does not depend on entity order).
pub(crate) fn publish_rate_loss(q: &Query<(&SynapseTable, &RateModulation)>, modulators: &mut Modulators) {
    if q.is_empty() {
        return;
    }
    let mut by_output: BTreeMap<&str, Vec<(&str, f64)>> = BTreeMap::new();
    for (t, r) in q {
        by_output.entry(r.output.as_str()).or_default().push((t.name.as_str(), r.loss()));
    }
    for (name, mut parts) in by_output {
        parts.sort_by(|a, b| a.0.cmp(b.0));
        let total = parts.iter().fold(0.0, |acc, p| acc + p.1);
        modulators.set(name, total);
    }
}
