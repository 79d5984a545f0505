//! Shared test helpers.

pub mod grid;
