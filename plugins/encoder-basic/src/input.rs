//! Input values `x` of the SpikingFlow-style encoders: inline (`values = [..]`, a number, an
//! array, or an array of equal-length arrays) or from a `.npy` file (`file = "x.npy"`,
//! relative to the scenario's directory; C order; float, integer or bool dtype).

use std::path::Path;

use spikeworld::prelude::*;
use spikeworld::util::node::{Node, Val};
use spikeworld::util::table::node_quantity;

/// Values read from a scenario key or a file, flattened in C order.
pub(crate) struct Input<'a> {
    /// The values.
    pub x: Vec<f64>,
    /// Their shape (`[n]` for a flat list, `[rows, cols]` for nested arrays, the array's
    /// shape for a file; `[]` for a single number).
    pub shape: Vec<u64>,
    /// The key they came from (`values`, `p`, `pattern` or `file`) and its node.
    pub key: &'static str,
    pub node: &'a Node,
    /// The file's path as the scenario gives it, for messages.
    pub file: Option<String>,
}

impl Input<'_> {
    /// An error about these values.
    pub fn err(&self, t: &Table<'_>, message: impl Into<String>) -> ScenarioError {
        t.err(self.node, self.key, message)
    }

    /// How a message names value `i`.
    pub fn what(&self, i: usize) -> String {
        match &self.file {
            Some(f) => format!("element {i} (C order) of {f}"),
            None if self.shape.is_empty() => format!("`{}`", self.key),
            None => format!("{}[{i}]", self.key),
        }
    }

    /// Fails on the first value outside `[lo, hi]`, saying what the values mean.
    pub fn check_range(&self, t: &Table<'_>, lo: f64, hi: f64, meaning: &str) -> Result<(), ScenarioError> {
        match self.x.iter().position(|v| !(lo..=hi).contains(v)) {
            None => Ok(()),
            Some(i) => Err(self.err(t, format!("{} = {} is outside [{lo}, {hi}] ({meaning})", self.what(i), self.x[i]))),
        }
    }

    /// One value per output: a single value is repeated `size` times.
    pub fn per_output(self, t: &Table<'_>, size: usize) -> Result<Vec<f64>, ScenarioError> {
        match self.x.len() {
            1 => Ok(vec![self.x[0]; size]),
            k if k == size => Ok(self.x),
            k => Err(self.err(t, format!("size = {size} outputs, but {k} values are given: give one value (for all) or one per output"))),
        }
    }
}

/// Reads `inline_key` or `file` (exactly one may be given; `None` when neither is).
pub(crate) fn read_input<'a>(t: &mut Table<'a>, ctx: &EncoderCtx, inline_key: &'static str) -> Result<Option<Input<'a>>, ScenarioError> {
    let inline = t.get(inline_key);
    let file = t.opt_str("file")?;
    match (inline, file) {
        (Some(_), Some((_, fnode))) => Err(t.err(fnode, "file", format!("give either `{inline_key}` or `file`, not both"))),
        (None, None) => Ok(None),
        (Some(node), None) => {
            let path = t.key_path(inline_key);
            let (x, shape) = flatten(node, &path)?;
            if x.is_empty() {
                return Err(t.err(node, inline_key, "is empty: give at least one value"));
            }
            Ok(Some(Input { x, shape, key: inline_key, node, file: None }))
        }
        (None, Some((name, node))) => {
            let (x, shape) = load_npy(&ctx.base_dir.join(name)).map_err(|m| t.err(node, "file", m))?;
            if x.is_empty() {
                return Err(t.err(node, "file", format!("{name} holds no values")));
            }
            if let Some(i) = x.iter().position(|v| !v.is_finite()) {
                return Err(t.err(node, "file", format!("element {i} (C order) of {name} is {}: values must be finite", x[i])));
            }
            Ok(Some(Input { x, shape, key: "file", node, file: Some(name.to_string()) }))
        }
    }
}

fn scalar(n: &Node, key: &str) -> Result<f64, ScenarioError> {
    match n.val {
        Val::Bool(b) => Ok(if b { 1.0 } else { 0.0 }),
        _ => node_quantity(n, Dim::Dimensionless, key),
    }
}

/// A number, an array of numbers, or an array of equal-length arrays of numbers.
fn flatten(n: &Node, key: &str) -> Result<(Vec<f64>, Vec<u64>), ScenarioError> {
    let Val::Array(rows) = &n.val else {
        return Ok((vec![scalar(n, key)?], Vec::new()));
    };
    if !rows.iter().any(|r| matches!(r.val, Val::Array(_))) {
        let x = rows.iter().map(|r| scalar(r, key)).collect::<Result<Vec<_>, _>>()?;
        let len = x.len() as u64;
        return Ok((x, vec![len]));
    }
    let mut x = Vec::new();
    let mut cols = None;
    for (i, r) in rows.iter().enumerate() {
        let Val::Array(items) = &r.val else {
            return Err(spikeworld::util::table::err_at(&r.loc, key, format!("row {i} is not an array: give all rows as arrays of the same length")));
        };
        match cols {
            None => cols = Some(items.len()),
            Some(c) if c != items.len() => {
                return Err(spikeworld::util::table::err_at(&r.loc, key, format!("row {i} has {} values, row 0 has {c}: rows must have the same length", items.len())));
            }
            Some(_) => {}
        }
        for it in items {
            x.push(scalar(it, key)?);
        }
    }
    Ok((x, vec![rows.len() as u64, cols.unwrap_or(0) as u64]))
}

/// Reads a `.npy` file as f64 values in C order, with its shape (the core's reader).
pub(crate) fn load_npy(path: &Path) -> Result<(Vec<f64>, Vec<u64>), String> {
    let a = spikeworld::util::npy::read_npy_f64(path, None)?;
    Ok((a.values, a.shape.into_iter().map(|d| d as u64).collect()))
}
