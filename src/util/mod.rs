//! The bottom layer: units, counter-based random numbers, errors, atomic file writes and
//! the located TOML tree. Imports nothing else of the crate.

pub mod error;
pub mod exact;
pub mod fsio;
pub mod inputs;
pub mod lines;
pub mod node;
pub mod npy;
pub mod rng;
pub mod sysmem;
pub mod table;
pub mod units;
