#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

/// Registers this crate's models.
pub struct HhPlugin;

impl Plugin for HhPlugin {
    fn build(&self, _b: &mut SimBuilder) {}
}
