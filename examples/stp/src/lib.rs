#![doc = include_str!("../README.md")]

use std::sync::Arc;

use bevy_ecs::prelude::{Component, Query, ResMut, Resource};
use spikeworld::prelude::*;

/// Registers the `tsodyks2` synapse model, its system, component and resource.
pub struct StpPlugin;

impl Plugin for StpPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_projection_addon(TsodyksMarkramAddon)
            .add_systems(SimSystems::Record, count_stp_spikes)
            .insert_resource(StpStats::default())
            .add_resource_state::<StpStats>("stp.stats")
            .add_component_state::<StpProjection>("stp.projection");
    }
}

/// Presynaptic spikes that reached Tsodyks–Markram synapses, over all projections.
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct StpStats {
    /// Presynaptic spikes (each counted once per projection).
    pub pre_spikes: u64,
}

/// On every projection with Tsodyks–Markram synapses: its presynaptic spikes so far.
#[derive(Component, Clone, Debug, Default, PartialEq, Eq)]
pub struct StpProjection {
    /// Presynaptic spikes of this projection.
    pub pre_spikes: u64,
}

impl Checkpoint for StpStats {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.pre_spikes)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.pre_spikes = inp.u64("pre_spikes")?;
        Ok(())
    }
}

impl Checkpoint for StpProjection {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        out.u64(self.pre_spikes)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.pre_spikes = inp.u64("pre_spikes")?;
        Ok(())
    }
}

/// Counts this step's presynaptic spikes of every Tsodyks–Markram projection.
fn count_stp_spikes(mut stats: ResMut<StpStats>, mut q: Query<(&SynapseTable, &mut StpProjection)>, spikes: Query<&Spikes>) {
    for (table, mut p) in &mut q {
        let Ok(s) = spikes.get(table.source) else { continue };
        let n = s.indices.iter().filter(|&&i| i >= table.src_start && i < table.src_end).count() as u64;
        p.pre_spikes += n;
        stats.pre_spikes += n;
    }
}

struct TsodyksMarkramAddon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("U", Dim::Dimensionless, 0.5, "utilisation increment, in (0, 1]"),
    ParamSpec::new("tau_rec", Dim::Time, 800.0, "recovery time constant of x (> 0)"),
    ParamSpec::new("tau_fac", Dim::Time, 0.0, "facilitation time constant of u (0: no facilitation)"),
];

impl ProjectionAddon for TsodyksMarkramAddon {
    fn table(&self) -> &'static str {
        "synapse"
    }
    fn name(&self) -> &'static str {
        "tsodyks2"
    }
    fn doc(&self) -> &'static str {
        "Tsodyks-Markram short-term depression and facilitation (NEST tsodyks2_synapse): a spike adds w*u*x"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<Arc<dyn AddonConfig>, ScenarioError> {
        let mut v = [0.0; 3];
        for (k, spec) in KEYS.iter().enumerate() {
            v[k] = match t.opt_quantity(spec.name, spec.dim)? {
                Some((x, n)) => {
                    let ok = match spec.name {
                        "U" => x > 0.0 && x <= 1.0,
                        "tau_rec" => x > 0.0,
                        _ => x >= 0.0,
                    };
                    if !ok {
                        return Err(t.err(n, spec.name, format!("{} (found {x})", spec.doc)));
                    }
                    x
                }
                None => spec.default.expect("every key has a default"),
            };
        }
        Ok(Arc::new(TsodyksMarkram { u0: v[0], tau_rec: v[1], tau_fac: v[2], dt_ms: ctx.dt_ms }))
    }
}

/// Parameters of one projection's Tsodyks–Markram synapses.
#[derive(Clone, Debug)]
pub struct TsodyksMarkram {
    u0: f64,
    tau_rec: f64,
    tau_fac: f64,
    dt_ms: f64,
}

impl AddonConfig for TsodyksMarkram {
    fn synapse_vars(&self) -> Vec<SynapseVarSpec> {
        vec![
            SynapseVarSpec { name: "x", initial: 1.0, doc: "available resources" },
            SynapseVarSpec { name: "u", initial: self.u0, doc: "utilisation" },
            SynapseVarSpec { name: "t_last", initial: 0.0, doc: "time of the last presynaptic spike, ms" },
        ]
    }
    fn dynamics(&self) -> Option<Arc<dyn SynapseDynamics>> {
        Some(Arc::new(self.clone()))
    }
    fn attach(&self, entity: &mut bevy_ecs::world::EntityWorldMut<'_>) {
        entity.insert(StpProjection::default());
    }
}

impl SynapseDynamics for TsodyksMarkram {
    fn on_pre(&self, row: PreSpike<'_>, effect: &mut [f64]) {
        let t = row.step as f64 * self.dt_ms;
        let [x, u, last] = row.vars else { unreachable!("the core gives the three declared arrays") };
        for (k, s) in row.synapses.enumerate() {
            let h = t - last[s];
            let x_decay = (-h / self.tau_rec).exp();
            let u_decay = if self.tau_fac < 1e-10 { 0.0 } else { (-h / self.tau_fac).exp() };
            x[s] = 1.0 + (x[s] - x[s] * u[s] - 1.0) * x_decay;
            u[s] = self.u0 + u[s] * (1.0 - self.u0) * u_decay;
            last[s] = t;
            effect[k] = row.weight[s] * u[s] * x[s];
        }
    }
}
