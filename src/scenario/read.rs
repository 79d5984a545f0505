//! Readers shared by the scenario parser: arrays of tables, names, distributions,
//! parameter lists, projection sub-tables.

use crate::api::addon::AddonCtx;
use crate::api::connect::PairValue;
use crate::api::connect::Positions;
use crate::api::language::{PlaceName, neuron_names};
use crate::api::model::{ChoiceSpec, ParamSpec, Params};
use crate::registry::Registry;
use crate::scenario::estimate::max_delay_steps;
use crate::scenario::{AddonDef, DelayDef, MAX_DELAY_STEPS, NeuronValues, ValueDist, ValueExpr, WeightDef};
use crate::util::npy::read_npy_f64;
use std::path::Path;
use std::sync::Arc;
use crate::util::error::ScenarioError;
use crate::util::node::{Node, Val, loc_in};
use crate::util::table::{Table, err_at, node_quantity, node_quantity_list};
use crate::util::units::{Dim, parse_quantity};

pub(super) fn array_of_tables<'a>(root: &mut Table<'a>, key: &str) -> Result<Vec<(Table<'a>, &'a Node)>, ScenarioError> {
    let Some(n) = root.get(key) else { return Ok(Vec::new()) };
    let Val::Array(items) = &n.val else {
        return Err(err_at(&n.loc, key, format!("expected an array of tables ([[{key}]]), found {}", n.val.type_str())));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| Ok((Table::new(it, format!("{key}[{i}]"))?, it)))
        .collect()
}

/// Longest name of a population, encoder, projection or monitor.
pub const MAX_NAME: usize = 128;

pub(super) fn check_name(name: &str, node: &Node, key: &str, taken: &[String]) -> Result<(), ScenarioError> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !ok {
        return Err(err_at(&node.loc, key, format!("`{name}` is not a valid name (letters, digits, `_`, `-`; starting with a letter)")));
    }
    // Output files are named after it (`NAME.VAR.npy`): a file name holds 255 bytes.
    if name.len() > MAX_NAME {
        return Err(err_at(&node.loc, key, format!("a name of {} characters is too long: at most {MAX_NAME} (output files are named after it)", name.len())));
    }
    if taken.iter().any(|t| t == name) {
        return Err(err_at(&node.loc, key, format!("the name `{name}` is already used")));
    }
    Ok(())
}

pub(super) fn value_dist(n: &Node, dim: Dim, key: &str) -> Result<ValueDist, ScenarioError> {
    // (A weight's matrix and file are read before this; elsewhere they are not offered.)
    let not_here = || {
        let also = if key.ends_with(".weight") { "; a weight also takes `{ matrix = [[...]] }` or `{ file = \"w.npy\" }`" } else { ", not a list or a file" };
        err_at(&n.loc, key, format!("takes one value or a distribution (`{{ dist = \"normal\", mean, std }}` or `{{ dist = \"uniform\", low, high }}`){also}"))
    };
    match &n.val {
        Val::Array(_) => Err(not_here()),
        Val::Table(es) if es.iter().any(|e| e.key == "file" || e.key == "values") && !es.iter().any(|e| e.key == "dist") => Err(not_here()),
        Val::Table(_) => {
            let mut t = Table::new(n, key)?;
            let (dist, dn) = t.str("dist")?;
            let d = match dist {
                "normal" => {
                    let (mean, _) = t.quantity("mean", dim)?;
                    let (std, sn) = t.quantity("std", dim)?;
                    if std < 0.0 {
                        return Err(t.err(sn, "std", "must be >= 0"));
                    }
                    // (A draw is mean + std·z with |z| < 8.6: beyond f64 it is infinite.)
                    if !(mean.abs() + 9.0 * std).is_finite() {
                        return Err(t.err(sn, "std", format!("draws of mean {mean:e} ± 9 std ({std:e}) go beyond the largest number")));
                    }
                    t.finish(&["dist", "mean", "std"])?;
                    ValueDist::Normal { mean, std }
                }
                "uniform" => {
                    let (low, _) = t.quantity("low", dim)?;
                    let (high, hn) = t.quantity("high", dim)?;
                    if high < low {
                        return Err(t.err(hn, "high", "must be >= low"));
                    }
                    // (Draws are low + (high - low)·u: a span beyond f64 gives infinities.)
                    if !(high - low).is_finite() {
                        return Err(t.err(hn, "high", format!("high - low = {:e} is not a finite number", high - low)));
                    }
                    t.finish(&["dist", "low", "high"])?;
                    ValueDist::Uniform { low, high }
                }
                other => return Err(t.err(dn, "dist", format!("unknown distribution `{other}`; valid: normal, uniform"))),
            };
            Ok(d)
        }
        _ => Ok(ValueDist::Const(node_quantity(n, dim, key)?)),
    }
}

/// One value per neuron of a population of `size` (an `init` value, a per-neuron
/// parameter): what [`value_dist`] reads (drawn per neuron), a list of `size` values, or
/// `{ file = "x.npy" }` holding `size` values in the key's canonical unit (mV, ms, pA, nS),
/// relative to the scenario's directory, or an expression a model language reads
/// ([`neuron_expression`]).
pub(super) fn neuron_values(n: &Node, dim: Dim, key: &str, (base_dir, size, own, reg): (&Path, usize, Option<&Arc<Positions>>, &Registry)) -> Result<NeuronValues, ScenarioError> {
    if let Some(e) = neuron_expression(n, dim, key, (size, own), reg) {
        return e;
    }
    let one_each = |v: Vec<f64>, at: &Node| -> Result<NeuronValues, ScenarioError> {
        if v.len() != size {
            return Err(err_at(&at.loc, key, format!("has {} values; expected {size}, one per neuron", v.len())));
        }
        if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(err_at(&at.loc, key, format!("neuron {i}'s value is {x}: expected a finite number")));
        }
        Ok(NeuronValues::Each(Arc::new(v)))
    };
    match &n.val {
        Val::Array(_) => one_each(node_quantity_list(n, dim, key)?, n),
        Val::Table(es) if es.iter().any(|e| e.key == "file") && !es.iter().any(|e| e.key == "dist") => {
            let mut t = Table::new(n, key)?;
            let (f, fnode) = t.str("file")?;
            let path = base_dir.join(f);
            let a = read_npy_f64(&path, Some(&[size])).map_err(|m| t.err(fnode, "file", format!("{m} (one value per neuron)")))?;
            t.finish(&["file"])?;
            one_each(a.values, fnode)
        }
        Val::Table(es) if !es.iter().any(|e| e.key == "dist") => Err(err_at(
            &n.loc,
            key,
            "expected one value, a list of one per neuron, a distribution `{ dist = \"normal\", mean, std }` or `{ dist = \"uniform\", low, high }`, or a file `{ file = \"x.npy\" }`",
        )),
        _ => Ok(NeuronValues::Dist(value_dist(n, dim, key)?)),
    }
}

/// A string value that is not a plain quantity (`"-60 mV"`), as an expression of the
/// neuron's index, the population's size and random numbers, when a model language reads
/// such expressions (the equations' Brian2 syntax: `"-60*mV + 10*mV*rand()"`); `None` for
/// anything else.
fn neuron_expression(n: &Node, dim: Dim, key: &str, (size, own): (usize, Option<&Arc<Positions>>), reg: &Registry) -> Option<Result<NeuronValues, ScenarioError>> {
    Some(value_expression(n, dim, key, &neuron_names(own.is_some()), reg)?.map(|e| NeuronValues::Expr(e, size, own.cloned())))
}

/// A string value as an expression reading `names`, by the first language that reads
/// such expressions (`None`: none does, or the value is no string or a quantity:
/// [`is_expression`]).
fn value_expression(n: &Node, dim: Dim, key: &str, names: &[PlaceName], reg: &Registry) -> Option<Result<ValueExpr, ScenarioError>> {
    let Val::Str(text) = &n.val else { return None };
    if !is_expression(text, dim) {
        return None;
    }
    let r = reg.model_languages.values().find_map(|l| l.value_expression(text, dim, names))?;
    Some(match r {
        Ok(f) => Ok(ValueExpr { text: text.clone(), f }),
        Err((col, m)) => Err(err_at(&loc_in(n, col), key, m)),
    })
}

/// Whether a string value is meant as an expression: neither a quantity nor written like
/// one (a number, a space and a word: `"10 parsecs"` gets the quantity's error).
pub(super) fn is_expression(text: &str, dim: Dim) -> bool {
    let t = text.trim();
    let quantity_form = t.split_once(char::is_whitespace).is_some_and(|(a, b)| a.parse::<f64>().is_ok() && b.trim_start().starts_with(char::is_alphabetic));
    !quantity_form && parse_quantity(t, dim).is_err()
}

/// A projection's `delay`: a quantity or a distribution ([`value_dist`], not below 0, at
/// most [`MAX_DELAY_STEPS`] steps of `dt_ms` at its longest), or an expression of the
/// synapse's place, where a language reads them (checked per synapse when they are made).
pub(super) fn delay_def(n: &Node, key: &str, dt_ms: f64, (names, reg): (&[PlaceName], &Registry)) -> Result<DelayDef, ScenarioError> {
    if let Some(e) = value_expression(n, Dim::Time, key, names, reg) {
        return Ok(DelayDef::Expr(e?));
    }
    let d = value_dist(n, Dim::Time, key)?;
    let bad = match d {
        ValueDist::Const(v) => v < 0.0,
        ValueDist::Uniform { low, .. } => low < 0.0,
        ValueDist::Normal { .. } => false,
    };
    if bad {
        return Err(err_at(&n.loc, key, "must be >= 0"));
    }
    let longest = max_delay_steps(&d, dt_ms);
    if longest.is_nan() || longest > MAX_DELAY_STEPS as f64 {
        return Err(err_at(&n.loc, key, format!("{longest:e} steps of dt ({dt_ms} ms); at most {MAX_DELAY_STEPS} steps")));
    }
    Ok(DelayDef::Dist(d))
}

/// A rule's parameters ([`read_params`]), those it reads per pair
/// ([`crate::api::connect::RuleSpec::pair_params`]) also as expressions of the pair where
/// a language reads them; such a parameter reads NaN in the [`Params`].
pub(super) fn read_rule_params(t: &mut Table<'_>, spec: &crate::api::connect::RuleSpec, (names, reg): (&[PlaceName], &Registry)) -> Result<(Params, Vec<PairValue>), ScenarioError> {
    let mut pair_values = Vec::new();
    for p in spec.params.iter().filter(|p| spec.pair_params.contains(&p.name)) {
        let Some(n) = t.peek_all().find(|(name, _)| *name == p.name).map(|(_, n)| n) else { continue };
        if let Some(e) = value_expression(n, p.dim, &t.key_path(p.name), names, reg) {
            let e = e?;
            t.get(p.name);
            pair_values.push(PairValue { name: p.name, text: e.text, f: e.f });
        }
    }
    let rest: Vec<ParamSpec> = spec.params.iter().filter(|s| !pair_values.iter().any(|v| v.name == s.name)).copied().collect();
    let read = read_params(t, &rest, &[], &format!("rule `{}`", spec.name))?;
    let values = spec.params.iter().map(|s| (s.name, if pair_values.iter().any(|v| v.name == s.name) { f64::NAN } else { read.get(s.name) })).collect();
    Ok((Params::new(values, Vec::new()), pair_values))
}

/// A population's `params`: [`read_params`], except that a parameter the model reads per
/// neuron ([`ParamSpec::per_neuron`]) may take a list, a distribution or a file
/// ([`neuron_values`]). Returns the parameters with neuron 0's values (drawn from stream
/// (`seed`, `key`, `PARAM` + index, 0)) and the per-neuron ones with their nodes.
pub(super) fn read_population_params<'a>(
    t: &mut Table<'a>,
    model: &dyn crate::api::model::NeuronModel,
    what: &str,
    (seed, key, size, base_dir, own, reg): (u64, u32, usize, &Path, Option<&Arc<Positions>>, &Registry),
) -> Result<(Params, Vec<(usize, NeuronValues, &'a Node)>), ScenarioError> {
    let specs = model.params();
    let mut per = Vec::new();
    for (k, p) in specs.iter().enumerate() {
        let Some(n) = t.peek_all().find(|(name, _)| *name == p.name).map(|(_, n)| n) else { continue };
        let expression = matches!(&n.val, Val::Str(s) if is_expression(s, p.dim)) && !reg.model_languages.is_empty();
        if !matches!(n.val, Val::Array(_) | Val::Table(_)) && !expression {
            continue;
        }
        if !p.per_neuron {
            let takers: Vec<&str> = specs.iter().filter(|s| s.per_neuron).map(|s| s.name).collect();
            let which = if takers.is_empty() { format!("{what} has none") } else { format!("{what} takes them for {}", takers.join(", ")) };
            return Err(t.err(n, p.name, format!("takes one value for the whole population, not a list, a distribution, a file or an expression (per-neuron parameters: {which}; or split the population)")));
        }
        let v = neuron_values(n, p.dim, &t.key_path(p.name), (base_dir, size, own, reg))?;
        t.get(p.name);
        per.push((k, v, n));
    }
    let rest: Vec<ParamSpec> = specs.iter().filter(|s| !per.iter().any(|(k, ..)| specs[*k].name == s.name)).copied().collect();
    let read = read_params(t, &rest, model.choices(), what)?;
    let values = specs
        .iter()
        .enumerate()
        .map(|(k, s)| match per.iter().find(|(pk, ..)| *pk == k) {
            Some((_, v, _)) => (s.name, v.at(seed, key, crate::util::rng::purpose::PARAM + k as u64, 0)),
            None => (s.name, read.get(s.name)),
        })
        .collect();
    let choices = model.choices().iter().map(|c| (c.name, read.choice(c.name).to_string())).collect();
    Ok((Params::new(values, choices), per))
}

/// A projection's `weight`: what [`value_dist`] reads, or a dense matrix `[targets, sources]`
/// given inline (`{ matrix = [[...], ...] }`) or from a `.npy` file (`{ file = "w.npy" }`,
/// relative to the scenario's directory).
///
/// `shape` is the expected shape of a file: `[targets, sources]`, or a shared kernel's shape
/// (`[c_out, c_in, kh, kw]`) for a rule that shares weights, whose inline `matrix` then has
/// `shape[0]` rows of the rest's product. A string that is not a quantity is an
/// expression of the synapse's place (`WeightDef::Expr`), where a language reads them.
pub(super) fn weight_def(n: &Node, dim: Dim, key: &str, (base_dir, shape, names, reg): (&Path, &[usize], &[PlaceName], &Registry)) -> Result<WeightDef, ScenarioError> {
    if let Some(e) = value_expression(n, dim, key, names, reg) {
        if shape.len() != 2 {
            return Err(err_at(&n.loc, key, "a shared kernel's weights take a value, a distribution, a matrix or a file, not an expression"));
        }
        return Ok(WeightDef::Expr(e?));
    }
    let Val::Table(_) = &n.val else { return Ok(WeightDef::Dist(value_dist(n, dim, key)?)) };
    let targets = shape[0];
    let sources: usize = shape[1..].iter().product();
    let mut t = Table::new(n, key)?;
    if let Some(mn) = t.get("matrix") {
        let Val::Array(rows) = &mn.val else {
            return Err(t.err(mn, "matrix", format!("expected an array of {targets} rows (one per target) of {sources} values, found {}", mn.val.type_str())));
        };
        if rows.len() != targets {
            return Err(t.err(mn, "matrix", format!("has {} rows; expected {targets}", rows.len())));
        }
        let mut values = Vec::with_capacity(targets * sources);
        for (i, r) in rows.iter().enumerate() {
            let row = node_quantity_list(r, dim, &format!("{}.matrix[{i}]", t.path()))?;
            if row.len() != sources {
                return Err(err_at(&r.loc, format!("{}.matrix[{i}]", t.path()), format!("has {} values; expected {sources}", row.len())));
            }
            values.extend(row);
        }
        t.finish(&["matrix"])?;
        return Ok(WeightDef::Matrix { targets, sources, values: Arc::new(values) });
    }
    if t.get("file").is_some() {
        let (f, fnode) = t.str("file")?;
        let path = base_dir.join(f);
        let a = read_npy_f64(&path, Some(shape)).map_err(|m| t.err(fnode, "file", format!("{m} ({})", if shape.len() == 2 { "[targets, sources] of the selections" } else { "the rule's kernel shape" })))?;
        a.check_finite().map_err(|m| t.err(fnode, "file", format!("`{}`: {m}", path.display())))?;
        t.finish(&["file"])?;
        return Ok(WeightDef::Matrix { targets, sources, values: Arc::new(a.values) });
    }
    if t.get("dist").is_none() {
        return Err(err_at(&n.loc, key, "expected a value, a distribution `{ dist = ... }`, a matrix `{ matrix = [[...]] }` or a file `{ file = \"w.npy\" }`"));
    }
    Ok(WeightDef::Dist(value_dist(n, dim, key)?))
}

/// The `size` and optional `shape` of a population or a source encoder: `shape = [c, h, w]`
/// (any rank) lays the neurons out in C order; `size` may then be left out, and if given
/// must equal the shape's product.
pub(super) fn size_and_shape(t: &mut Table<'_>) -> Result<(u64, Option<Vec<usize>>), ScenarioError> {
    let shape = match t.get("shape") {
        None => None,
        Some(sn) => {
            let Val::Array(items) = &sn.val else {
                return Err(t.err(sn, "shape", format!("expected an array of sizes such as [2, 28, 28], found {}", sn.val.type_str())));
            };
            let mut dims = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                let d = crate::util::table::node_count(it, &format!("{}.shape[{i}]", t.path()))?;
                if d == 0 {
                    return Err(err_at(&it.loc, format!("{}.shape[{i}]", t.path()), "must be >= 1"));
                }
                dims.push(d as usize);
            }
            if dims.is_empty() {
                return Err(t.err(sn, "shape", "must have at least one dimension"));
            }
            let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64)).filter(|&n| n <= u32::MAX as u64);
            let Some(n) = n else { return Err(t.err(sn, "shape", format!("{dims:?} holds more than {} neurons", u32::MAX))) };
            Some((dims, n, sn))
        }
    };
    match (t.get("size"), shape) {
        (Some(sn), shape) => {
            let size = crate::util::table::node_count(sn, &t.key_path("size"))?;
            if size == 0 || size > u32::MAX as u64 {
                return Err(t.err(sn, "size", format!("must be between 1 and {} (found {size})", u32::MAX)));
            }
            if let Some((dims, n, shn)) = &shape
                && *n != size
            {
                return Err(t.err(shn, "shape", format!("{dims:?} holds {n} neurons but size = {size}")));
            }
            Ok((size, shape.map(|(d, _, _)| d)))
        }
        (None, Some((dims, n, _))) => Ok((n, Some(dims))),
        (None, None) => Err(t.req("size").err().unwrap_or_else(|| err_at(t.loc(), t.key_path("size"), "missing"))),
    }
}

pub(super) fn read_params(
    t: &mut Table<'_>,
    specs: &[ParamSpec],
    choices: &[ChoiceSpec],
    what: &str,
) -> Result<Params, ScenarioError> {
    let mut values = Vec::with_capacity(specs.len());
    for p in specs {
        let v = match t.opt_quantity(p.name, p.dim)? {
            Some((v, _)) => v,
            // NOTE: an optional parameter without a default reads as NaN when absent.
            None => match p.default {
                Some(d) => d,
                None if p.is_required() => return Err(err_at(t.loc(), t.key_path(p.name), format!("missing required parameter of {what} ({})", p.doc))),
                None => f64::NAN,
            },
        };
        values.push((p.name, v));
    }
    let mut chosen = Vec::new();
    for c in choices {
        let v = match t.opt_str(c.name)? {
            Some((s, n)) => {
                if !c.options.contains(&s) {
                    return Err(t.err(n, c.name, format!("unknown choice `{s}`; valid: {}", c.options.join(", "))));
                }
                s.to_string()
            }
            None => c.options[0].to_string(),
        };
        chosen.push((c.name, v));
    }
    Ok(Params::new(values, chosen))
}

/// Reads a projection's sub-tables (`synapse = "model"` or `synapse = { model = ... }`,
/// `plasticity = { rule = ... }`, and those plugins declare), in key order.
pub(super) fn parse_addons(t: &mut Table<'_>, reg: &Registry, ctx: &AddonCtx) -> Result<Vec<AddonDef>, ScenarioError> {
    let mut out = Vec::new();
    let mut dynamics = 0;
    for (key, table) in &reg.addon_tables {
        let Some(node) = t.get(key) else { continue };
        let path = t.key_path(key);
        let choices = || {
            let v: Vec<&str> = reg.addons_of(key).iter().map(|a| a.name()).collect();
            let mut v = if *key == "synapse" { std::iter::once("static").chain(v).collect::<Vec<_>>() } else { v };
            v.sort_unstable();
            if v.is_empty() { "(none registered: add the plugin that provides one)".to_string() } else { v.join(", ") }
        };
        // `synapse = "name"` is short for `synapse = { model = "name" }`.
        let (name, name_node, sub) = match &node.val {
            Val::Str(s) => (s.as_str(), node, None),
            Val::Table(_) => {
                let mut sub = Table::new(node, path.clone())?;
                let (n, nn) = sub.str(table.selector)?;
                (n, nn, Some(sub))
            }
            other => {
                return Err(err_at(&node.loc, path, format!("expected a table with `{}` (or a name), found {}", table.selector, other.type_str())));
            }
        };
        if *key == "synapse" && name == "static" {
            if let Some(sub) = sub {
                sub.finish(&[table.selector])?;
            }
            continue;
        }
        let Some(addon) = reg.addons.get(&(*key, name)) else {
            let at = if sub.is_some() { format!("{path}.{}", table.selector) } else { path.clone() };
            // NEST's plastic synapse models are learning rules here.
            let hint = if *key == "synapse" && name.contains("stdp") { " (a learning rule is `plasticity = { rule = ... }`: docs/plasticity.md)" } else { "" };
            return Err(err_at(&name_node.loc, at, format!("unknown {key} `{name}`{hint}; valid: {}", choices())));
        };
        let config = match sub {
            Some(mut sub) => {
                let c = addon.parse(&mut sub, ctx)?;
                let mut valid = vec![table.selector];
                valid.extend(addon.keys().iter().map(|k| k.name));
                sub.finish(&valid)?;
                c
            }
            None => {
                let empty = Node { loc: node.loc.clone(), val: Val::Table(Vec::new()) };
                let mut sub = Table::new(&empty, path.clone())?;
                addon.parse(&mut sub, ctx)?
            }
        };
        if config.dynamics().is_some() {
            dynamics += 1;
            if dynamics > 1 {
                return Err(err_at(&node.loc, path, "a second add-on of this projection defines synapse dynamics; at most one may"));
            }
        }
        out.push(AddonDef { table: key, name: addon.name(), config });
    }
    Ok(out)
}
