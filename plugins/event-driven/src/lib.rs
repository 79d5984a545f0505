#![doc = include_str!("../README.md")]

pub mod buckets;
pub mod class_task;
pub mod error;
pub mod gaussian_tuning;
pub mod kernel;
pub mod pattern_task;
pub mod queue;
pub mod segment;
pub mod srm0;
pub mod tempotron;
pub mod world;

pub use error::{Error, Result};

/// The types a caller usually needs.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::gaussian_tuning::GaussianTuning;
    pub use crate::kernel::{PspKernel, ResetKernel};
    pub use crate::pattern_task::{PatternTaskConfig, TrainReport};
    pub use crate::buckets::BucketQueue;
    pub use crate::queue::{Event, EventQueue, Origin, Target};
    pub use crate::srm0::{PspNorm, ResetMode, Srm0Model, Srm0Neuron, Srm0Params, Srm0State};
    pub use crate::tempotron::{Pattern, Spike, Tempotron, VMax};
    pub use crate::world::EventDrivenPlugin;
}
