//! Surrogate-gradient training of spiking networks: the spike's Heaviside step in the
//! forward pass, a smooth surrogate's derivative in the backward pass (BPTT through burn
//! autodiff, on the flex CPU backend or CUDA).

pub mod checkpoint;
pub mod config;
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub mod cube;
pub mod data;
pub mod functional;
pub mod fused;
pub mod keys;
pub mod layered;
pub mod net;
pub mod nmnist;
pub mod pipeline;
pub mod plot;
pub mod rewiring;
pub mod sparse;
pub mod spec;
pub mod surrogate;
pub mod train;

use spikeworld::registry::{Plugin, SimBuilder};

/// Registers the `[train]` table.
pub struct TrainPlugin;

impl Plugin for TrainPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_scenario_table(config::TrainTable);
    }
}
