//! `timed_current`: a current that changes over time, piecewise constant: Brian2's
//! `TimedArray(values, dt)` used as an input current (`I = stimulus(t)`, or
//! `stimulus(t, i)` with one column per neuron), or NEST's `step_current_generator`
//! (`amplitude_times`, `amplitude_values`).

use std::sync::Arc;

use spikeworld::prelude::*;
use spikeworld::util::table::node_quantity_list;

pub(crate) struct TimedCurrentFactory;

/// A piecewise-constant current: `values[k]` (or row `k` of a `[bins, targets]` file)
/// from `change[k]` to the next change; before the first change 0 (NEST) or the first
/// value (Brian2, whose array starts at t = 0), after the last the last value (both).
#[derive(Clone, Debug)]
pub struct TimedCurrent {
    /// Steps at which each value starts, ascending.
    change: Vec<u64>,
    /// Values, `[change.len()]` (all targets) or `[change.len(), targets]`.
    values: Vec<f64>,
    /// Values per change: 1 (the same for every target) or the targets.
    width: usize,
}

impl EncoderFactory for TimedCurrentFactory {
    fn name(&self) -> &'static str {
        "timed_current"
    }
    fn doc(&self) -> &'static str {
        "a piecewise-constant current into `target` (receptor `i` by default): Brian2 TimedArray(values, dt) (values every `every`, from t = 0; the last value held) or NEST step_current_generator (`times`: value k from times[k], 0 before the first)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Current
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::optional("values", Dim::Current, "the currents, in the receptor's dimension (pA, or plain numbers for a dimensionless model); one per bin, the same for every target"),
            ParamSpec::optional("file", Dim::Dimensionless, ".npy of the currents instead of `values`, in the receptor's canonical unit (pA): [bins] for every target, or [bins, targets] (Brian2's TimedArray of two dimensions)"),
            ParamSpec::optional("every", Dim::Time, "Brian2's TimedArray dt: bin k holds from k*every (a whole number of steps; default dt)"),
            ParamSpec::optional("times", Dim::Time, "NEST's amplitude_times: value k from times[k] (ascending; rounded to the nearest step); instead of `every`"),
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let dim = ctx.receptor_dim.unwrap_or(Dim::Current);
        let (values, width, vkey, vnode) = match (t.get("values"), t.opt_str("file")?) {
            (Some(_), Some((_, fnode))) => return Err(t.err(fnode, "file", "give either `values` or `file`, not both")),
            (None, None) => return Err(spikeworld::util::table::err_at(t.loc(), t.key_path("values"), "missing: give `values` (a list of currents) or `file` (.npy)")),
            (Some(node), None) => (node_quantity_list(node, dim, &t.key_path("values"))?, 1, "values", node),
            (None, Some((name, node))) => {
                let a = spikeworld::util::npy::read_npy_f64(&ctx.base_dir.join(name), None).map_err(|m| t.err(node, "file", m))?;
                a.check_finite().map_err(|m| t.err(node, "file", format!("{name}: {m}")))?;
                let width = match a.shape.as_slice() {
                    [_] => 1,
                    [_, n] if *n == ctx.size => ctx.size,
                    s => return Err(t.err(node, "file", format!("{name} has shape {s:?}; expected [bins] or [bins, {}] (one column per target)", ctx.size))),
                };
                (a.values, width, "file", node)
            }
        };
        if values.is_empty() {
            return Err(t.err(vnode, vkey, "holds no values"));
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(t.err(vnode, vkey, format!("{v}: currents must be finite")));
        }
        let bins = values.len() / width;
        let change = match (t.opt_quantity("every", Dim::Time)?, t.get("times")) {
            (Some((_, n)), Some(_)) => return Err(t.err(n, "every", "give either `every` (Brian2's TimedArray) or `times` (NEST's step_current_generator), not both")),
            (None, Some(tn)) => {
                let times = node_quantity_list(tn, Dim::Time, &t.key_path("times"))?;
                if times.len() != bins {
                    return Err(t.err(tn, "times", format!("{} times for {bins} values: one time per value", times.len())));
                }
                let steps: Vec<u64> = times.iter().map(|&x| (x / ctx.dt_ms).round().max(0.0) as u64).collect();
                if let Some(k) = times.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
                    return Err(t.err(tn, "times", format!("time {k} is {} ms: times must be finite and >= 0", times[k])));
                }
                if let Some(k) = steps.windows(2).position(|w| w[1] <= w[0]) {
                    return Err(t.err(tn, "times", format!("times {k} and {} fall on the same step or go back: they must increase by at least one step ({} ms)", k + 1, ctx.dt_ms)));
                }
                steps
            }
            (every, None) => {
                let k = crate::every_steps(t, every, ctx.dt_ms)?;
                (0..bins as u64).map(|b| b * k).collect()
            }
        };
        Ok(Arc::new(TimedCurrent { change, values, width }))
    }
}

impl TimedCurrent {
    /// The bin in force at `step` (`None`: before the first change).
    fn bin(&self, step: u64) -> Option<usize> {
        self.change.partition_point(|&c| c <= step).checked_sub(1)
    }
}

impl EncoderConfig for TimedCurrent {
    fn build(&self) -> Box<dyn Encoder> {
        Box::new(self.clone())
    }
}

impl Encoder for TimedCurrent {
    fn step(&mut self, step: u64, out: EncoderOut<'_>) {
        let EncoderOut::Current(out) = out else { return };
        let Some(b) = self.bin(step) else { return };
        if self.width == 1 {
            let v = self.values[b];
            for o in out.iter_mut() {
                *o += v;
            }
        } else {
            for (o, v) in out.iter_mut().zip(&self.values[b * self.width..(b + 1) * self.width]) {
                *o += *v;
            }
        }
    }
}

crate::stateless!(TimedCurrent);
