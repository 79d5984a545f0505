#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

/// Registers this crate's models.
pub struct PhysicalPlugin;

impl Plugin for PhysicalPlugin {
    fn build(&self, _b: &mut SimBuilder) {}
}
