//! `[[monitor]]` tables.

use crate::registry::{Registry, names};
use crate::scenario::estimate::KeyLocs;
use crate::scenario::read::{array_of_tables, check_name};
use crate::scenario::select::{select_population, select_source, steps_of};
use crate::scenario::{EncoderDef, EncoderKind, MonitorDef, MonitorKind, PopulationDef, ProjectionDef, SourceRef};
use crate::util::error::ScenarioError;
use crate::util::node::{Node, Val};
use crate::util::table::{Table, node_count};
use crate::util::units::Dim;

pub(super) fn parse_monitors(root: &mut Table<'_>, reg: &Registry, populations: &[PopulationDef], encoders: &[EncoderDef], projections: &[ProjectionDef], dt_ms: f64, locs: &mut KeyLocs) -> Result<Vec<MonitorDef>, ScenarioError> {
    let mut monitors = Vec::new();
    let mut mon_names: Vec<String> = Vec::new();
    for (mut t, _) in array_of_tables(root, "monitor")? {
        let (name, nn) = t.str("name")?;
        check_name(name, nn, &t.key_path("name"), &mon_names)?;
        let (kind, kn) = t.str("kind")?;
        if !reg.monitors.contains_key(kind) {
            return Err(t.err(kn, "kind", format!("unknown monitor `{kind}`; valid: {}", names(&reg.monitors))));
        }
        if kind == "weights" {
            let (pname, pn) = t.str("projection")?;
            let projection = projections.iter().position(|p| p.name == pname).ok_or_else(|| {
                let valid: Vec<&str> = projections.iter().map(|p| p.name.as_str()).collect();
                t.err(pn, "projection", format!("no projection `{pname}`; valid: {}", if valid.is_empty() { "none".into() } else { valid.join(", ") }))
            })?;
            locs.insert(t.key_path("projection"), pn.loc.clone());
            let every = match t.opt_quantity("every", Dim::Time)? {
                None => 1,
                Some((e, en)) => steps_of(e, dt_ms).filter(|&k| k >= 1).ok_or_else(|| t.err(en, "every", format!("must be a positive whole number of steps of dt ({dt_ms} ms), at most 2^53")))?,
            };
            let synapses = match t.get("synapses") {
                None => Vec::new(),
                Some(n) => match &n.val {
                    Val::Array(a) => {
                        // (Checked against the table when it is built: located here.)
                        locs.insert(t.key_path("synapses"), n.loc.clone());
                        a.iter().map(|x| node_count(x, &t.key_path("synapses")).map(|k| k as usize)).collect::<Result<Vec<_>, _>>()?
                    }
                    other => return Err(t.err(n, "synapses", format!("expected an array of synapse indices, found {}", other.type_str()))),
                },
            };
            let bins = match t.opt_count("bins")? {
                None => 20,
                Some((b, bn)) if b > 10_000 => return Err(t.err(bn, "bins", format!("at most 10000 bins (found {b})"))),
                Some((b, _)) => b as usize,
            };
            let wdim = populations[projections[projection].to.index].model.receptors()[projections[projection].receptor].dim;
            let range = match t.get("range") {
                None => None,
                Some(n) => {
                    let v = crate::util::table::node_quantity_list(n, wdim, &t.key_path("range"))?;
                    match v[..] {
                        [a, b] if a < b && a.is_finite() && b.is_finite() => Some((a, b)),
                        _ => return Err(t.err(n, "range", "expected [low, high] with low < high, finite")),
                    }
                }
            };
            t.finish(&["name", "kind", "projection", "every", "synapses", "bins", "range"])?;
            mon_names.push(name.to_string());
            monitors.push(MonitorDef { name: name.to_string(), target: SourceRef::Population(projections[projection].to.clone()), kind: MonitorKind::Weights { projection, every, synapses, bins, range } });
            continue;
        }
        let (sel, sn) = t.str("target")?;
        // `spikes` and `rate` record a spike-source encoder too (Brian2's SpikeMonitor of a
        // PoissonGroup); `state` records a population's variables.
        let enc_named = |name: &str| encoders.iter().find(|e| e.name == name.split('[').next().unwrap_or(name).trim());
        let hint = |e: ScenarioError| match defined_elsewhere(root, sel) {
            Some(table) => ScenarioError { message: format!("{} (`{sel}` is defined in [[{table}]], not a clock-driven population: that table's own keys record it; see `spikeworld info`)", e.message), ..e },
            None => e,
        };
        let target = match (kind, enc_named(sel)) {
            ("spikes" | "rate", Some(enc)) if enc.output == EncoderKind::Current => {
                return Err(t.err(sn, "target", format!("encoder `{}` injects a current and emits no spikes: record the population it drives", enc.name)));
            }
            ("spikes" | "rate", _) => select_source(sel, sn, &t.key_path("target"), populations, encoders).map_err(hint)?,
            (_, Some(enc)) => {
                return Err(t.err(sn, "target", format!("`{}` is an encoder: it has no state variables (a `spikes` or `rate` monitor records its spikes); record the population it drives", enc.name)));
            }
            _ => SourceRef::Population(select_population(sel, sn, &t.key_path("target"), populations).map_err(hint)?),
        };
        locs.insert(t.key_path("target"), sn.loc.clone());
        let kind = match kind {
            "spikes" => {
                t.finish(&["name", "kind", "target"])?;
                MonitorKind::Spikes
            }
            "state" => {
                let target = target.population().expect("a state monitor's target is a population");
                let model = &populations[target.index].model;
                let vn = t.req("variables")?;
                let items: Vec<&Node> = match &vn.val {
                    Val::Array(a) => a.iter().collect(),
                    _ => vec![vn],
                };
                let mut vars = Vec::new();
                for it in items {
                    let Val::Str(v) = &it.val else {
                        return Err(t.err(it, "variables", format!("expected variable names, found {}", it.val.type_str())));
                    };
                    let vi = model.vars().iter().position(|x| x.name == v).ok_or_else(|| {
                        let valid: Vec<&str> = model.vars().iter().map(|v| v.name).collect();
                        t.err(it, "variables", format!("`{}` has no state variable `{v}`; valid: {}", model.name(), valid.join(", ")))
                    })?;
                    // (Its file would be written twice and listed twice.)
                    if vars.contains(&vi) {
                        return Err(t.err(it, "variables", format!("`{v}` is listed twice")));
                    }
                    vars.push(vi);
                }
                if let Some(n) = t.get("indices") {
                    locs.insert(t.key_path("indices"), n.loc.clone());
                }
                let indices = match t.get("indices") {
                    None => (target.start..target.end).collect(),
                    Some(n) => match &n.val {
                        Val::Str(s) if s == "all" => (target.start..target.end).collect(),
                        Val::Array(a) => {
                            let mut out = Vec::new();
                            for x in a {
                                let i = node_count(x, &t.key_path("indices"))? as usize;
                                if i >= target.len() {
                                    return Err(t.err(x, "indices", format!("index {i} is outside the target's {} neurons", target.len())));
                                }
                                out.push(target.start + i);
                            }
                            out
                        }
                        other => return Err(t.err(n, "indices", format!("expected \"all\" or an array of indices, found {}", other.type_str()))),
                    },
                };
                let every = match t.opt_quantity("every", Dim::Time)? {
                    None => 1,
                    Some((e, en)) => steps_of(e, dt_ms).filter(|&k| k >= 1).ok_or_else(|| t.err(en, "every", format!("must be a positive whole number of steps of dt ({dt_ms} ms), at most 2^53")))?,
                };
                t.finish(&["name", "kind", "target", "variables", "indices", "every"])?;
                MonitorKind::State { vars, indices, every }
            }
            "rate" => {
                let (b, bn) = t.quantity("bin", Dim::Time)?;
                let bin = steps_of(b, dt_ms).filter(|&k| k >= 1).ok_or_else(|| t.err(bn, "bin", format!("must be a positive whole number of steps of dt ({dt_ms} ms), at most 2^53")))?;
                locs.insert(t.key_path("bin"), bn.loc.clone());
                t.finish(&["name", "kind", "target", "bin"])?;
                MonitorKind::Rate { bin }
            }
            other => return Err(t.err(kn, "kind", format!("monitor `{other}` is registered but not implemented by the core"))),
        };
        mon_names.push(name.to_string());
        monitors.push(MonitorDef { name: name.to_string(), target, kind });
    }
    Ok(monitors)
}

/// The plugin table (`[[event_population]]`, say) that defines an item
/// named `name`, if one does: a hint for a monitor that names it.
fn defined_elsewhere(root: &Table<'_>, name: &str) -> Option<String> {
    // (The selector's name: `in` of `in[:10]`.)
    let name = name.split('[').next().unwrap_or(name).trim();
    root.peek_all().find_map(|(key, node)| {
        if crate::registry::CORE_TABLES.contains(&key) {
            return None;
        }
        let Val::Array(items) = &node.val else { return None };
        let named = items.iter().any(|it| match &it.val {
            Val::Table(entries) => entries.iter().any(|e| e.key == "name" && matches!(&e.node.val, Val::Str(s) if s == name)),
            _ => false,
        });
        named.then(|| key.to_string())
    })
}
