#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

/// Registers this crate's synapse models and connection forms.
pub struct SynapsePlugin;

impl Plugin for SynapsePlugin {
    fn build(&self, _b: &mut SimBuilder) {}
}
