#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

/// Registers this crate's models.
pub struct SjPlugin;

impl Plugin for SjPlugin {
    fn build(&self, _b: &mut SimBuilder) {}
}
