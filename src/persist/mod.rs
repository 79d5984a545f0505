//! Checkpoints: the file format ([`format`]) and the simulation's state as sections
//! ([`sections`]): the core's components and resources and every plugin's, through one
//! registry, each checked to round-trip on load.

pub mod format;
mod processes;
pub mod sections;

pub use format::{CheckpointFile, EXTENSION, FORMAT_VERSION, Header, file_name, list, stale_temporaries};
pub use sections::Saved;
