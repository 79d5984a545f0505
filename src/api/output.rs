//! Arrays a plugin writes beside the monitors' files (a reward's history, a learner's
//! curve): registered with `SimBuilder::add_output`, called when the outputs are written,
//! saved as `NAME.QUANTITY.npy` (atomically) and listed in the manifest.

/// The values of an output array.
#[derive(Clone, Debug, PartialEq)]
pub enum OutputData {
    /// Float64 values.
    F64(Vec<f64>),
    /// Int64 values.
    I64(Vec<i64>),
}

impl OutputData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            OutputData::F64(v) => v.len(),
            OutputData::I64(v) => v.len(),
        }
    }
    /// True when it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One array: written to `NAME.QUANTITY.npy`, C order, with `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputArray {
    /// File stem, and the name the manifest lists it under (like a monitor's name).
    pub name: String,
    /// What it holds (`t_ms`, `values`).
    pub quantity: String,
    /// Unit of the values (`"1"` for none).
    pub unit: String,
    /// The values.
    pub data: OutputData,
    /// Shape (its product must be the number of values).
    pub shape: Vec<u64>,
}

/// A population a plugin runs beside the clock-driven ones (an event-driven population):
/// registered with `SimBuilder::add_population_report`, listed in the run's summary and in
/// the manifest's `populations` with them.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginPopulation {
    /// Its name in the scenario.
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// Model name.
    pub model: String,
    /// Spikes emitted since step 0.
    pub spikes: u64,
}
