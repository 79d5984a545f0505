#![doc = include_str!("../README.md")]

pub mod checkpoint;
pub mod connect;
pub mod encoder;
pub mod error;
mod kernel;
pub mod model;
pub mod monitor;
pub mod node;
pub mod output;
pub mod plot;
pub mod registry;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod table;
pub mod testing;
pub mod units;

pub use error::{Error, Result};

/// The names most programs need.
pub mod prelude {
    pub use crate::checkpoint::{Checkpoint, StateError, StateReader, StateWriter};
    pub use crate::encoder::{Encoder, EncoderCtx, EncoderFactory, EncoderKind, EncoderOut};
    pub use crate::error::{Error, Result, ScenarioError};
    pub use crate::model::{ChoiceSpec, Col, Lanes, NeuronDynamics, ParamSpec, Params, ReceptorKind, ReceptorSpec, VarSpec};
    pub use crate::registry::{Plugin, SimBuilder};
    pub use crate::scenario::{LoadOptions, Scenario};
    pub use crate::sim::{EngineKind, RunOptions, Sim, SimSystems, TensorDevice};
    pub use crate::table::Table;
    pub use crate::units::Dim;
}
