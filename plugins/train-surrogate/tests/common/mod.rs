#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]
//! Helpers shared by this crate's tests: the plugins a training scenario needs, and the
//! repository's scenarios.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;
use spikeworld_train_surrogate::TrainPlugin;

/// SpikingJelly's neurons, the encoders, the synapse models and `[train]`.
pub fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin)
        .add_plugin(TrainPlugin);
    b
}

/// `scenarios/NAME`.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name)
}
