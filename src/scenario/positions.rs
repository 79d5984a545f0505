//! A population's `positions` (NEST's spatial positions; Brian2's `x : metre` parameters
//! set by `G.x = '...'`): per axis `x`, `y`, `z` one length per neuron, as any per-neuron
//! value is given (a constant, a list, a distribution, a `.npy` file or an expression of
//! `i` and `N`), drawn from the neuron's own stream with purpose `POSITION` + the axis.
//! An axis not given is 0. `period = { x = "1.5 mm", y = "1.5 mm" }` makes the edges wrap
//! round on those axes (a torus, NEST's `edge_wrap`) for the `distance` of synapses from
//! the population. They are computed when the scenario is read, once, and values of
//! synapses read them (`x_pre`, `y_post`, `distance`, ...:
//! [`crate::api::language::synapse_names`]), the population's own values `x`, `y`, `z`.

use std::path::Path;
use std::sync::Arc;

use crate::api::connect::Positions;
use crate::registry::Registry;
use crate::scenario::NeuronValues;
use crate::scenario::estimate::Item;
use crate::scenario::read::neuron_values;
use crate::util::error::ScenarioError;
use crate::util::node::Node;
use crate::util::rng::purpose;
use crate::util::table::{Table, err_at};
use crate::util::units::Dim;

/// The axes, in order.
pub const AXES: [&str; 3] = ["x", "y", "z"];

/// What a population's `positions` table gives: per axis its values and where they are
/// written (before any is computed).
pub(super) struct PositionsDef<'a> {
    axes: [Option<(NeuronValues, &'a Node, String)>; 3],
    /// Per axis, the period where the edges wrap round.
    period: [Option<f64>; 3],
}

/// Reads `positions` of the population table `t` (of `size` neurons), if given.
pub(super) fn read_positions<'a>(t: &mut Table<'a>, (base_dir, size, reg): (&Path, usize, &Registry)) -> Result<Option<PositionsDef<'a>>, ScenarioError> {
    let Some(n) = t.get("positions") else { return Ok(None) };
    let mut pt = Table::new(n, t.key_path("positions"))?;
    let mut axes = [None, None, None];
    for (a, name) in axes.iter_mut().zip(AXES) {
        if let Some(vn) = pt.get(name) {
            let key = pt.key_path(name);
            let v = neuron_values(vn, Dim::Length, &key, (base_dir, size, None, reg)).map_err(|mut e| {
                // (The language's word for `x` where positions are missing.)
                if e.message.contains("is the neuron's position") {
                    e.message = "a position does not read the positions (`x`, `y`, `z`): write each axis of `i`, `N` and random numbers".into();
                }
                e
            })?;
            *a = Some((v, vn, key));
        }
    }
    let mut period = [None; 3];
    if let Some(pn) = pt.get("period") {
        let mut tt = Table::new(pn, pt.key_path("period"))?;
        for (p, name) in period.iter_mut().zip(AXES) {
            if let Some((v, vn)) = tt.opt_quantity(name, Dim::Length)? {
                if v <= 0.0 {
                    return Err(tt.err(vn, name, format!("{v} um: a period must be > 0")));
                }
                *p = Some(v);
            }
        }
        tt.finish(&AXES)?;
    }
    pt.finish(&["x", "y", "z", "period"])?;
    if axes.iter().all(Option::is_none) {
        return Err(err_at(&n.loc, t.key_path("positions"), "expected a table of the neurons' coordinates `x`, `y` and/or `z` (lengths: `x = \"(i % 20)*50*um\"`); an axis not given is 0"));
    }
    Ok(Some(PositionsDef { axes, period }))
}

/// The bytes the positions of `size` neurons take (3 axes of f64), counted before they are
/// computed.
pub fn positions_item(name: &str, size: usize, key: String, loc: crate::util::error::Loc) -> Item {
    Item { what: format!("population `{name}`: positions, {size} neurons × 3 axes"), key, loc, bytes: size as f64 * 24.0 }
}

impl PositionsDef<'_> {
    /// Where the table is written (for the memory check's item).
    pub(super) fn loc(&self) -> (String, crate::util::error::Loc) {
        let (_, n, k) = self.axes.iter().flatten().next().expect("an axis is given");
        (k.clone(), n.loc.clone())
    }

    /// Every neuron's position, from the population's streams (`seed`, `key`); a value that
    /// is not a finite number (an expression's `log(rand())`) is refused at its axis,
    /// naming the neuron.
    pub(super) fn compute(&self, seed: u64, key: u32, size: usize) -> Result<Arc<Positions>, ScenarioError> {
        let mut out = Positions { period: self.period, ..Default::default() };
        for (k, (axis, def)) in out.axes.iter_mut().zip(&self.axes).enumerate() {
            let Some((v, node, path)) = def else {
                *axis = vec![0.0; size];
                continue;
            };
            *axis = (0..size).map(|i| v.at(seed, key, purpose::POSITION + k as u64, i)).collect();
            if let Some((i, x)) = axis.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                let what = match v {
                    NeuronValues::Expr(e, ..) => format!("`{}` is {x}", e.text),
                    _ => format!("{x}"),
                };
                return Err(err_at(&node.loc, path.clone(), format!("{what} for neuron {i}: expected a finite length")));
            }
        }
        Ok(Arc::new(out))
    }
}
