#![doc = include_str!("../README.md")]

use spikeworld::prelude::*;

/// Registers the reward-modulated rules and the `[reward]` scenario table.
pub struct RewardPlugin;

impl Plugin for RewardPlugin {
    fn build(&self, _b: &mut SimBuilder) {}
}
