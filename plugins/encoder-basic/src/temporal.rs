//! Temporal codes: `latency` (SpikingFlow `LatencyEncoder`) and `gaussian_tuning`
//! (SpikingFlow `GaussianTuningCurveEncoder`, Bohte et al. 2002). Each encodes its input
//! once into spike times within a period of `t_max` steps, and the pattern repeats every
//! `t_max` steps (SpikingFlow's `step()` wraps its index to 0 at `max_spike_time`).

use std::sync::Arc;

use spikeworld::prelude::*;
use spikeworld::util::node::Node;
use spikeworld::util::table::{err_at, node_quantity_list};

use crate::input::{Input, read_input};
use crate::pattern::{FILE_KEY, Pattern, VALUES_KEY};
use crate::{WINDOW_KEYS, window};

/// Largest `t_max`: step numbers stay exact in f64.
const T_MAX_LIMIT: u64 = 1 << 53;

/// Reads `t_max` (a whole number of steps, at least 2).
fn read_t_max<'a>(t: &mut Table<'a>) -> Result<(u64, &'a Node), ScenarioError> {
    match t.opt_count("t_max")? {
        None => Err(err_at(t.loc(), t.key_path("t_max"), "missing required key (the period in steps, SpikingFlow's max_spike_time; at least 2)")),
        Some((v, n)) if !(2..=T_MAX_LIMIT).contains(&v) => Err(t.err(n, "t_max", format!("must be between 2 and 2^53 steps (found {v})"))),
        Some((v, n)) => Ok((v, n)),
    }
}

fn missing_values(t: &Table<'_>) -> ScenarioError {
    err_at(t.loc(), t.key_path("values"), "missing: give `values` (inline) or `file` (.npy)")
}

const T_MAX_KEY: ParamSpec = ParamSpec::required("t_max", Dim::Dimensionless, "period in steps (SpikingFlow's max_spike_time), at least 2");

pub(crate) struct LatencyFactory;

/// The latency code's spike step of `x` in [0, 1]: `alpha` is `None` for `linear`.
fn latency_step(x: f64, t_max: u64, alpha: Option<f64>) -> u64 {
    let last = (t_max - 1) as f64;
    let t = match alpha {
        None => last * (1.0 - x),
        Some(a) => last - (a * x + 1.0).ln(),
    };
    // NOTE: torch's round() rounds halves to even. At x = 1 the log form gives
    // last − ln(e^last) = ±a few ulps, which rounds to 0; the clamp only guards that.
    t.round_ties_even().clamp(0.0, last) as u64
}

impl EncoderFactory for LatencyFactory {
    fn name(&self) -> &'static str {
        "latency"
    }
    fn doc(&self) -> &'static str {
        "SpikingFlow LatencyEncoder: x in [0, 1] spikes once per period of t_max steps, at round((t_max-1)(1-x)) (linear) or round((t_max-1) - ln(alpha x + 1)) (log)"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            VALUES_KEY,
            FILE_KEY,
            T_MAX_KEY,
            ParamSpec::optional("function_type", Dim::Dimensionless, "\"linear\" (default) or \"log\""),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let input = read_input(t, ctx, "values")?.ok_or_else(|| missing_values(t))?;
        input.check_range(t, 0.0, 1.0, "latency inputs are intensities normalised to [0, 1]")?;
        let x = input.per_output(t, ctx.size)?;
        let (t_max, t_node) = read_t_max(t)?;
        let alpha = match t.opt_str("function_type")? {
            None | Some(("linear", _)) => None,
            Some(("log", _)) => {
                // alpha solves (t_max − 1) − ln(alpha + 1) = 0.
                let alpha = ((t_max - 1) as f64).exp() - 1.0;
                if !alpha.is_finite() {
                    return Err(t.err(t_node, "t_max", format!("function_type = \"log\" needs alpha = e^(t_max - 1) - 1, which overflows for t_max = {t_max}: at most 710 steps")));
                }
                Some(alpha)
            }
            Some((other, fnode)) => return Err(t.err(fnode, "function_type", format!("unknown function type `{other}`; valid: linear, log"))),
        };
        let (start, stop) = window(t, ctx.dt_ms)?;
        let events = x.iter().enumerate().map(|(i, &v)| (latency_step(v, t_max, alpha), i as u32)).collect();
        Ok(Arc::new(Pattern::new(t_max, events, start, stop)))
    }
}

pub(crate) struct GaussianTuningFactory;

/// Per-feature ranges: one value for all features, or one per feature.
fn read_range(t: &mut Table<'_>, key: &str) -> Result<Vec<f64>, ScenarioError> {
    let n = t.req(key)?;
    let v = node_quantity_list(n, Dim::Dimensionless, &t.key_path(key))?;
    if v.is_empty() {
        return Err(t.err(n, key, "is empty: give one value, or one per feature"));
    }
    Ok(v)
}

impl EncoderFactory for GaussianTuningFactory {
    fn name(&self) -> &'static str {
        "gaussian_tuning"
    }
    fn doc(&self) -> &'static str {
        "SpikingFlow GaussianTuningCurveEncoder (Bohte et al. 2002): each value x spikes on `curves` outputs at round((t_max-1)(1-g_j(x))); the last step of the period means no spike"
    }
    fn kind(&self) -> EncoderKind {
        EncoderKind::Source
    }
    fn keys(&self) -> &'static [ParamSpec] {
        const K: &[ParamSpec] = &[
            ParamSpec::optional("values", Dim::Dimensionless, "input values x (features of one sample, or samples × features in C order); size = values × curves"),
            FILE_KEY,
            ParamSpec::required("x_min", Dim::Dimensionless, "smallest value of each feature: one, or one per feature"),
            ParamSpec::required("x_max", Dim::Dimensionless, "largest value of each feature: one, or one per feature"),
            ParamSpec::required("curves", Dim::Dimensionless, "tuning curves per value (SpikingFlow's tuning_curve_num), at least 3"),
            T_MAX_KEY,
            ParamSpec::new("beta", Dim::Dimensionless, 1.5, "width factor: sigma = (x_max - x_min) / (beta (curves - 2))"),
            ParamSpec::optional("centres", Dim::Dimensionless, "\"bohte\" (default: j = 1..m) or \"spikingflow\" (its code's j = 0..m-1)"),
            WINDOW_KEYS[0],
            WINDOW_KEYS[1],
        ];
        K
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &EncoderCtx) -> Result<Arc<dyn EncoderConfig>, ScenarioError> {
        let input = read_input(t, ctx, "values")?.ok_or_else(|| missing_values(t))?;
        let x_min = read_range(t, "x_min")?;
        let x_max = read_range(t, "x_max")?;
        let xmax_node = t.get("x_max").expect("read above");
        let features = x_min.len().max(x_max.len());
        if x_min.len() != x_max.len() && x_min.len() > 1 && x_max.len() > 1 {
            return Err(t.err(xmax_node, "x_max", format!("{} values for x_max but {} for x_min: give one for all features, or one per feature", x_max.len(), x_min.len())));
        }
        let range = |f: usize| (x_min[if x_min.len() == 1 { 0 } else { f }], x_max[if x_max.len() == 1 { 0 } else { f }]);
        for f in 0..features {
            let (lo, hi) = range(f);
            if hi <= lo {
                return Err(t.err(xmax_node, "x_max", format!("feature {f}: x_max = {hi} must be greater than x_min = {lo}")));
            }
        }
        let (m, mnode) = t.opt_count("curves")?.ok_or_else(|| err_at(t.loc(), t.key_path("curves"), "missing required key (tuning curves per value, at least 3)"))?;
        if m < 3 {
            return Err(t.err(mnode, "curves", format!("must be at least 3 (the centres are spaced by (x_max - x_min)/(curves - 2)); found {m}")));
        }
        let (t_max, _) = read_t_max(t)?;
        let beta = match t.opt_quantity("beta", Dim::Dimensionless)? {
            None => 1.5,
            Some((b, n)) if b <= 0.0 => return Err(t.err(n, "beta", format!("must be > 0 (found {b})"))),
            Some((b, _)) => b,
        };
        let first = match t.opt_str("centres")? {
            None | Some(("bohte", _)) => 1,
            Some(("spikingflow", _)) => 0,
            Some((other, n)) => return Err(t.err(n, "centres", format!("unknown centres `{other}`; valid: bohte, spikingflow"))),
        };
        check_layout(t, &input, features, m, ctx.size)?;
        for (i, &v) in input.x.iter().enumerate() {
            let (lo, hi) = range(i % features);
            if !(lo..=hi).contains(&v) {
                return Err(input.err(t, format!("{} = {v} is outside its feature's range [x_min, x_max] = [{lo}, {hi}]", input.what(i))));
            }
        }
        let (start, stop) = window(t, ctx.dt_ms)?;
        let last = (t_max - 1) as f64;
        let mut events = Vec::new();
        for (i, &v) in input.x.iter().enumerate() {
            let (lo, hi) = range(i % features);
            let sigma = (hi - lo) / (beta * (m - 2) as f64);
            for j in 0..m {
                let k = (j + first) as f64;
                let mu = lo + (2.0 * k - 3.0) / 2.0 * (hi - lo) / (m - 2) as f64;
                let g = (-(v - mu) * (v - mu) / (2.0 * sigma * sigma)).exp();
                // NOTE: SpikingFlow zeroes the last step of the period: "too late" means none.
                let tf = (last * (1.0 - g)).round_ties_even();
                if tf < last {
                    events.push((tf as u64, (i as u64 * m + j) as u32));
                }
            }
        }
        Ok(Arc::new(Pattern::new(t_max, events, start, stop)))
    }
}

/// Values are `samples × features` in C order; the outputs `values × curves`.
fn check_layout(t: &Table<'_>, input: &Input<'_>, features: usize, m: u64, size: usize) -> Result<(), ScenarioError> {
    let n = input.x.len();
    if features > 1 {
        let last = input.shape.last().copied().unwrap_or(1) as usize;
        if n % features != 0 || (input.shape.len() > 1 && last != features) {
            let shape: Vec<String> = input.shape.iter().map(u64::to_string).collect();
            return Err(input.err(t, format!("x_min/x_max give {features} features, but the values (shape [{}]) are not samples × {features} features", shape.join(", "))));
        }
    }
    let outputs = n as u128 * m as u128;
    if outputs != size as u128 {
        return Err(input.err(t, format!("size = {size}, but {n} values × {m} curves = {outputs} outputs: size must be values × curves")));
    }
    Ok(())
}
