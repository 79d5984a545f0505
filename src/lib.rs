#![doc = include_str!("../README.md")]

// Layers, bottom to top; each module imports only from the layers below it (the
// `layering` test reads `src/` and fails otherwise). See docs/architecture.md.
pub mod util; // units, rng, errors, atomic files, the located TOML tree
pub mod api; // every trait a plugin implements, the system sets
mod kernel; // the fused cpu loop of a model (the only `unsafe`)
mod rules; // NEST's connection rules
pub mod registry; // Plugin, SimBuilder: what is registered
pub mod scenario; // TOML → definitions
pub mod net; // components and resources: the network as data
pub mod engine; // the systems of a step: inputs, cpu/tensor update, propagation
pub mod monitor; // recorders
mod build; // definitions → world
pub mod sim; // the facade: Sim
pub mod persist; // checkpoints
pub mod output; // manifest, .npy, plots
pub mod testing; // checks every plugin gets for free

pub use util::error::{Error, Result};

/// Performance hints for plugins' own loops (no effect on results).
pub mod hint {
    /// Asks the CPU to bring the cache lines of `data` into L1 ahead of use (`prefetcht0`
    /// on x86_64, nothing elsewhere). A plugin walking an array in an order it knows ahead
    /// (an event queue's targets, say) calls it a few items early so that the misses
    /// overlap.
    #[inline(always)]
    pub fn prefetch<T>(data: &[T]) {
        crate::kernel::prefetch(data)
    }
}

/// The names most programs and plugins need.
pub mod prelude {
    pub use crate::api::addon::{AddonConfig, AddonCtx, AddonTable, ProjectionAddon};
    pub use crate::api::encoder::{Encoder, EncoderConfig, EncoderCtx, EncoderFactory, EncoderKind, EncoderOut, GapProcess};
    pub use crate::api::model::{ChoiceSpec, Col, Lanes, NeuronDynamics, ParamSpec, Params, ReceptorKind, ReceptorSpec, VarSpec, refractory_steps};
    pub use crate::api::run::{Delivery, EngineKind, RunOptions, Simd, TensorDevice};
    pub use crate::api::transport::{Processes, Transport};
    pub use crate::api::sets::SimSystems;
    pub use crate::api::state::{Checkpoint, MergeParts, StateError, StateReader, StateWriter};
    pub use crate::api::synapse::{PreSpike, SpikeFilter, SynapseDynamics, SynapseStep, SynapseVarSpec};
    pub use crate::net::synapse::SynapseTable;
    pub use crate::net::{Clock, EntityLabel, Population, SpikeHistory, Spikes};
    pub use crate::registry::{Plugin, SimBuilder};
    pub use crate::scenario::{LoadOptions, Scenario};
    pub use crate::sim::Sim;
    pub use crate::util::error::{Error, Result, ScenarioError};
    pub use crate::util::table::Table;
    pub use crate::util::units::Dim;
}
