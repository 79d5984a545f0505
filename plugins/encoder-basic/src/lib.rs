#![doc = include_str!("../README.md")]

mod current;
mod drive;
mod generator;
mod input;
mod pattern;
mod poisson;
mod temporal;
mod timed;

use spikeworld::prelude::*;
use spikeworld::util::table::node_quantity_list;

pub use current::ConstantCurrent;
pub use drive::{NoiseCurrent, PoissonInput, chunk_cdf};
pub use generator::SpikeGenerator;
pub use pattern::Pattern;
pub use poisson::Poisson;
pub use timed::TimedCurrent;

/// Registers `poisson`, `constant_current`, `spike_generator`, `constant`, `periodic`,
/// `latency`, `gaussian_tuning`, `poisson_input`, `noise_current` and `timed_current`.
pub struct EncoderPlugin;

impl Plugin for EncoderPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_encoder(poisson::PoissonFactory)
            .add_encoder(current::ConstantCurrentFactory)
            .add_encoder(generator::SpikeGeneratorFactory)
            .add_encoder(pattern::ConstantFactory)
            .add_encoder(pattern::PeriodicFactory)
            .add_encoder(temporal::LatencyFactory)
            .add_encoder(temporal::GaussianTuningFactory)
            .add_encoder(drive::PoissonInputFactory)
            .add_encoder(drive::NoiseCurrentFactory)
            .add_encoder(timed::TimedCurrentFactory);
    }
}

/// Reads `start`/`stop` (ms) as a step window `[start, stop)`.
fn window(t: &mut Table<'_>, dt: f64) -> Result<(u64, u64), ScenarioError> {
    let start = match t.opt_quantity("start", Dim::Time)? {
        Some((v, n)) if v < 0.0 => return Err(t.err(n, "start", "must be >= 0")),
        Some((v, _)) => (v / dt).round() as u64,
        None => 0,
    };
    let stop = match t.opt_quantity("stop", Dim::Time)? {
        Some((v, n)) if v < 0.0 => return Err(t.err(n, "stop", "must be >= 0")),
        // An empty window is a mistake (nothing would ever come out), not a quiet encoder.
        Some((v, n)) if (v / dt).round() as u64 <= start => return Err(t.err(n, "stop", format!("{v} ms: must be after start ({} ms)", spikeworld::util::units::fmt_ms(start as f64 * dt)))),
        Some((v, _)) => (v / dt).round() as u64,
        None => u64::MAX,
    };
    Ok((start, stop))
}

fn per_index(t: &mut Table<'_>, key: &str, dim: Dim, size: usize) -> Result<Vec<f64>, ScenarioError> {
    let n = t.req(key)?;
    let v = node_quantity_list(n, dim, &t.key_path(key))?;
    match v.len() {
        1 => Ok(vec![v[0]; size]),
        k if k == size => Ok(v),
        k => Err(t.err(n, key, format!("expected one value or {size} values (one per index), found {k}"))),
    }
}

/// Steps in an interval given in `(value ms, node)` (`every`): a positive whole number of
/// steps of `dt` (the default, none given, is one step).
fn every_steps(t: &Table<'_>, given: Option<(f64, &spikeworld::util::node::Node)>, dt: f64) -> Result<u64, ScenarioError> {
    let Some((e, n)) = given else { return Ok(1) };
    let k = e / dt;
    if !(k.is_finite() && k >= 0.5 && (k - k.round()).abs() < 1e-6 * k.max(1.0)) {
        return Err(t.err(n, "every", format!("must be a positive whole number of steps of {dt} ms, found {e} ms")));
    }
    Ok(k.round() as u64)
}

/// A [`Checkpoint`] that saves nothing, for an encoder whose output depends on the step
/// alone.
macro_rules! stateless {
    ($t:ty) => {
        /// Stateless: the output depends on the step alone.
        impl Checkpoint for $t {
            fn save_state(&self, _: &mut StateWriter<'_>) -> std::io::Result<()> {
                Ok(())
            }
            fn load_state(&mut self, _: &mut StateReader<'_>) -> Result<(), StateError> {
                Ok(())
            }
        }
    };
}
pub(crate) use stateless;

const WINDOW_KEYS: [ParamSpec; 2] = [
    ParamSpec::new("start", Dim::Time, 0.0, "first time of output"),
    ParamSpec::optional("stop", Dim::Time, "end of output (exclusive; default: never)"),
];
