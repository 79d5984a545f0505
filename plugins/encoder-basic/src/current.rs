//! `constant_current`: a step current (NEST `dc_generator`).

use std::sync::Arc;

use spikeworld::prelude::*;

use crate::{WINDOW_KEYS, per_index, window};

pub(crate) struct ConstantCurrentFactory;

/// A step current (its own configuration: it has no state).
#[derive(Clone)]
pub struct ConstantCurrent {
    amplitude: Vec<f64>,
    start: u64,
    stop: u64,
}

impl EncoderFactory for ConstantCurrentFactory {
    fn name(&self) -> &'static str {
        "constant_current"
    }
    fn doc(&self) -> &'static str {
        "a constant current into `target` (receptor `i` by default) during [start, stop)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Current
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::required("amplitude", Dim::Current, "current, one value or one per target neuron (in the receptor's dimension: pA, or a plain number for a dimensionless model)"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        // The receptor's own dimension: pA for a model in physical units, a plain number for
        // a dimensionless (SpikingJelly-style) model.
        let dim = ctx.receptor_dim.unwrap_or(Dim::Current);
        let amplitude = per_index(t, "amplitude", dim, ctx.size)?;
        let (start, stop) = window(t, ctx.dt_ms)?;
        Ok(Arc::new(ConstantCurrent { amplitude, start, stop }))
    }
}

impl EncoderConfig for ConstantCurrent {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(self.clone())
    }
}

impl Encoder for ConstantCurrent {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Current(out) = out else { return };
        if step >= self.start && step < self.stop {
            for (o, a) in out.iter_mut().zip(&self.amplitude) {
                *o += *a;
            }
        }
    }
}

crate::stateless!(ConstantCurrent);

