//! Scenario text → definitions: every key read, checked and located.

use std::path::{Path, PathBuf};

use crate::api::addon::{AddonCtx, TableCtx};
use crate::api::encoder::{EncoderCtx, EncoderKind};
use crate::api::model::{ChoiceSpec, ParamSpec, Params, ReceptorKind};
use crate::registry::{Registry, names};
use crate::scenario::{AddonDef, EncoderDef, LoadOptions, MonitorDef, MonitorKind, PopulationDef, ProjectionDef, RuleDef, Scenario, Selection, SourceRef, ValueDist};
use crate::util::error::ScenarioError;
use crate::util::node::{Node, Val};
use crate::util::rng::entity_key;
use crate::util::table::{Table, err_at, node_count, node_quantity};
use crate::util::units::Dim;

fn array_of_tables<'a>(root: &mut Table<'a>, key: &str) -> Result<Vec<(Table<'a>, &'a Node)>, ScenarioError> {
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

fn check_name(name: &str, node: &Node, key: &str, taken: &[String]) -> Result<(), ScenarioError> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !ok {
        return Err(err_at(&node.loc, key, format!("`{name}` is not a valid name (letters, digits, `_`, `-`; starting with a letter)")));
    }
    if taken.iter().any(|t| t == name) {
        return Err(err_at(&node.loc, key, format!("the name `{name}` is already used")));
    }
    Ok(())
}

/// Parses `P`, `P[a:b]`, `P[:b]`, `P[a:]`, `P[i]`.
fn parse_selector(text: &str) -> Result<(String, Option<(Option<usize>, Option<usize>, bool)>), String> {
    let text = text.trim();
    let Some(open) = text.find('[') else { return Ok((text.to_string(), None)) };
    let name = text[..open].trim().to_string();
    let inner = text[open + 1..].strip_suffix(']').ok_or_else(|| format!("`{text}`: missing `]`"))?;
    let num = |s: &str| -> Result<Option<usize>, String> {
        let s = s.trim();
        if s.is_empty() { Ok(None) } else { s.parse::<usize>().map(Some).map_err(|_| format!("`{s}` is not a non-negative index")) }
    };
    match inner.split_once(':') {
        Some((a, b)) => Ok((name, Some((num(a)?, num(b)?, false)))),
        None => {
            let i = num(inner)?.ok_or_else(|| format!("`{text}`: empty index"))?;
            Ok((name, Some((Some(i), Some(i + 1), true))))
        }
    }
}

fn resolve_range(spec: Option<(Option<usize>, Option<usize>, bool)>, size: usize) -> Result<(usize, usize), String> {
    let (a, b) = match spec {
        None => (0, size),
        Some((a, b, _)) => (a.unwrap_or(0), b.unwrap_or(size)),
    };
    if a > b || b > size {
        return Err(format!("range {a}:{b} is outside 0:{size}"));
    }
    Ok((a, b))
}

fn value_dist(n: &Node, dim: Dim, key: &str) -> Result<ValueDist, ScenarioError> {
    match &n.val {
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
                    t.finish(&["dist", "mean", "std"])?;
                    ValueDist::Normal { mean, std }
                }
                "uniform" => {
                    let (low, _) = t.quantity("low", dim)?;
                    let (high, hn) = t.quantity("high", dim)?;
                    if high < low {
                        return Err(t.err(hn, "high", "must be >= low"));
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

fn read_params(
    t: &mut Table<'_>,
    specs: &[ParamSpec],
    choices: &[ChoiceSpec],
    what: &str,
) -> Result<Params, ScenarioError> {
    let mut values = Vec::with_capacity(specs.len());
    for p in specs {
        let v = match t.opt_quantity(p.name, p.dim)? {
            Some((v, _)) => v,
            None => p.default.ok_or_else(|| err_at(t.loc(), t.key_path(p.name), format!("missing required parameter of {what} ({})", p.doc)))?,
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

pub(super) fn parse(doc: &Node, reg: &Registry, opts: &LoadOptions, base_dir: &Path) -> Result<Scenario, ScenarioError> {
    let mut root = Table::new(doc, "")?;

    // [simulation]
    let sim_node = root.req("simulation")?;
    let mut sim = Table::new(sim_node, "simulation")?;
    let (dt_ms, dtn) = sim.quantity("dt", Dim::Time)?;
    if dt_ms <= 0.0 {
        return Err(sim.err(dtn, "dt", "must be > 0"));
    }
    let (t_stop_ms, tn) = sim.quantity("t_stop", Dim::Time)?;
    if t_stop_ms < 0.0 {
        return Err(sim.err(tn, "t_stop", "must be >= 0"));
    }
    let steps_f = (t_stop_ms / dt_ms).round();
    if (steps_f * dt_ms - t_stop_ms).abs() > 1e-6 * dt_ms.max(1.0) {
        return Err(sim.err(tn, "t_stop", format!("{t_stop_ms} ms is not a whole number of steps of {dt_ms} ms")));
    }
    let seed = match (opts.seed, sim.opt_count("seed")?) {
        (Some(s), _) => s,
        (None, Some((s, _))) => s,
        (None, None) => 0,
    };
    sim.opt_str("description")?;
    sim.finish(&["dt", "t_stop", "seed", "description"])?;

    // [[population]]
    let mut populations: Vec<PopulationDef> = Vec::new();
    let mut pop_names: Vec<String> = Vec::new();
    for (mut t, _) in array_of_tables(&mut root, "population")? {
        let (name, nn) = t.str("name")?;
        check_name(name, nn, &t.key_path("name"), &pop_names)?;
        let sn = t.req("size")?;
        let size = node_count(sn, &t.key_path("size"))?;
        if size == 0 || size > u32::MAX as u64 {
            return Err(t.err(sn, "size", format!("must be between 1 and {} (found {size})", u32::MAX)));
        }
        let (model_name, mn) = t.str("model")?;
        let model = reg.neuron_models.get(model_name).ok_or_else(|| {
            t.err(mn, "model", format!("unknown neuron model `{model_name}`; valid: {}", names(&reg.neuron_models)))
        })?;
        let params = match t.get("params") {
            Some(pn) => {
                let mut pt = Table::new(pn, t.key_path("params"))?;
                let p = read_params(&mut pt, model.params(), model.choices(), &format!("`{model_name}`"))?;
                let valid: Vec<&str> = model.params().iter().map(|p| p.name).chain(model.choices().iter().map(|c| c.name)).collect();
                pt.finish(&valid)?;
                p
            }
            None => {
                let empty = Node { loc: t.loc().clone(), val: Val::Table(Vec::new()) };
                let mut pt = Table::new(&empty, t.key_path("params"))?;
                read_params(&mut pt, model.params(), model.choices(), &format!("`{model_name}`"))?
            }
        };
        let prepared = model.prepare(&params, dt_ms).map_err(|m| {
            // Point at the parameter the model complains about, when the file sets it.
            let named = model.params().iter().find(|p| m.contains(&format!("`{}`", p.name)));
            let at = named.and_then(|p| {
                let Val::Table(es) = &t.get("params")?.val else { return None };
                es.iter().find(|e| e.key == p.name).map(|e| (e.node.loc.clone(), p.name))
            });
            match at {
                Some((loc, name)) => err_at(&loc, format!("{}.{name}", t.key_path("params")), m),
                None => err_at(t.loc(), t.key_path("params"), m),
            }
        })?;
        let mut init = Vec::new();
        if let Some(inode) = t.get("init") {
            let mut it = Table::new(inode, t.key_path("init"))?;
            for (k, kloc, vn) in it.remaining() {
                let Some(vi) = model.vars().iter().position(|v| v.name == k) else {
                    let valid: Vec<&str> = model.vars().iter().map(|v| v.name).collect();
                    return Err(err_at(kloc, it.key_path(k), format!("`{model_name}` has no state variable `{k}`; valid: {}", valid.join(", "))));
                };
                init.push((vi, value_dist(vn, model.vars()[vi].dim, &it.key_path(k))?));
            }
        }
        t.finish(&["name", "size", "model", "params", "init"])?;
        pop_names.push(name.to_string());
        populations.push(PopulationDef {
            name: name.to_string(),
            size: size as usize,
            model: model.clone(),
            params,
            prepared,
            init,
            key: entity_key("population", name),
        });
    }

    // [[encoder]] (before projections: they may be sources)
    let mut encoders: Vec<EncoderDef> = Vec::new();
    let mut enc_names: Vec<String> = Vec::new();
    for (mut t, _) in array_of_tables(&mut root, "encoder")? {
        let (name, nn) = t.str("name")?;
        let mut taken = pop_names.clone();
        taken.extend(enc_names.iter().cloned());
        check_name(name, nn, &t.key_path("name"), &taken)?;
        let (kind, kn) = t.str("kind")?;
        let f = reg
            .encoders
            .get(kind)
            .ok_or_else(|| t.err(kn, "kind", format!("unknown encoder `{kind}`; valid: {}", names(&reg.encoders))))?;
        let (size, target) = match f.kind() {
            EncoderKind::Source => {
                let sn = t.req("size")?;
                let size = node_count(sn, &t.key_path("size"))?;
                if size == 0 || size > u32::MAX as u64 {
                    return Err(t.err(sn, "size", format!("must be between 1 and {}", u32::MAX)));
                }
                (size as usize, None)
            }
            EncoderKind::Current => {
                let (sel, sn) = t.str("target")?;
                let target = select_population(sel, sn, &t.key_path("target"), &populations)?;
                let (rname, rn) = t.opt_str("receptor")?.unwrap_or(("i", sn));
                let model = &populations[target.index].model;
                let r = model
                    .receptors()
                    .iter()
                    .position(|r| r.name == rname && r.kind == ReceptorKind::Current)
                    .ok_or_else(|| {
                        let valid: Vec<&str> = model.receptors().iter().filter(|r| r.kind == ReceptorKind::Current).map(|r| r.name).collect();
                        t.err(rn, "receptor", format!("`{}` has no current receptor `{rname}`; valid: {}", model.name(), valid.join(", ")))
                    })?;
                (target.len(), Some((target, r)))
            }
        };
        let ctx = EncoderCtx { seed, entity: entity_key("encoder", name), dt_ms, size, base_dir: base_dir.to_path_buf() };
        let encoder = f.build(&mut t, &ctx)?;
        let mut valid = vec!["name", "kind"];
        valid.extend(match f.kind() {
            EncoderKind::Source => &["size"][..],
            EncoderKind::Current => &["target", "receptor"][..],
        });
        valid.extend(f.keys().iter().map(|k| k.name));
        t.finish(&valid)?;
        enc_names.push(name.to_string());
        encoders.push(EncoderDef { name: name.to_string(), kind: kind.to_string(), output: f.kind(), size, target, encoder });
    }

    // [[projection]]
    let mut projections: Vec<ProjectionDef> = Vec::new();
    let mut proj_names: Vec<String> = Vec::new();
    for (i, (mut t, _)) in array_of_tables(&mut root, "projection")?.into_iter().enumerate() {
        let name = match t.opt_str("name")? {
            Some((n, nn)) => {
                check_name(n, nn, &t.key_path("name"), &proj_names)?;
                n.to_string()
            }
            None => format!("projection{i}"),
        };
        let (from_s, fnode) = t.str("from")?;
        let from = select_source(from_s, fnode, &t.key_path("from"), &populations, &encoders)?;
        let (to_s, tnode) = t.str("to")?;
        let to = select_population(to_s, tnode, &t.key_path("to"), &populations)?;
        let (rule_name, rn) = t.str("rule")?;
        let spec = reg
            .rules
            .get(rule_name)
            .ok_or_else(|| t.err(rn, "rule", format!("unknown connection rule `{rule_name}`; valid: {}", names(&reg.rules))))?
            .clone();
        let rule_params = read_params(&mut t, spec.params, &[], &format!("rule `{rule_name}`"))?;
        if let Some(pv) = rule_params.values().iter().find(|(n, _)| *n == "p").map(|(_, v)| *v) {
            if !(0.0..=1.0).contains(&pv) {
                let pn = t.get("p").unwrap_or(rn);
                return Err(t.err(pn, "p", format!("must be in [0, 1] (found {pv})")));
            }
        }
        let allow_autapses = t.opt_bool("allow_autapses")?.unwrap_or(true);
        let allow_multapses = t.opt_bool("allow_multapses")?.unwrap_or(true);
        let target_model = &populations[to.index].model;
        let (rec_name, recn) = t.str("receptor")?;
        let receptor = target_model
            .receptors()
            .iter()
            .position(|r| r.name == rec_name && r.kind == ReceptorKind::Spike)
            .ok_or_else(|| {
                let valid: Vec<&str> = target_model.receptors().iter().filter(|r| r.kind == ReceptorKind::Spike).map(|r| r.name).collect();
                t.err(recn, "receptor", format!("`{}` has no spike receptor `{rec_name}`; valid: {}", target_model.name(), valid.join(", ")))
            })?;
        let wdim = target_model.receptors()[receptor].dim;
        let wn = t.req("weight")?;
        let weight = value_dist(wn, wdim, &t.key_path("weight"))?;
        let delay_ms = match t.get("delay") {
            Some(dn) => {
                let d = value_dist(dn, Dim::Time, &t.key_path("delay"))?;
                let bad = match d {
                    ValueDist::Const(v) => v < 0.0,
                    ValueDist::Uniform { low, .. } => low < 0.0,
                    ValueDist::Normal { .. } => false,
                };
                if bad {
                    return Err(t.err(dn, "delay", "must be >= 0"));
                }
                d
            }
            None => ValueDist::Const(0.0),
        };
        let (n_src, key) = (from.len(), entity_key("projection", &name));
        let actx = AddonCtx { seed, entity: key, projection: name.clone(), dt_ms, n_src, n_tgt: to.len() };
        let addons = parse_addons(&mut t, reg, &actx)?;
        let synapse = addons.iter().find(|a| a.table == "synapse").map_or("static", |a| a.name).to_string();
        let mut valid = vec!["name", "from", "to", "rule", "receptor", "weight", "delay", "allow_autapses", "allow_multapses"];
        valid.extend(reg.addon_tables.keys().copied());
        valid.extend(spec.params.iter().map(|p| p.name));
        if let Some(other) = ["p", "indegree", "outdegree", "n"].iter().find(|k| !valid.contains(k) && t.get(k).is_some()) {
            let n = t.get(other).expect("just seen");
            return Err(t.err(n, other, format!("rule `{rule_name}` takes no `{other}`; it takes: {}", if spec.params.is_empty() { "no parameter".into() } else { spec.params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ") })));
        }
        t.finish(&valid)?;
        proj_names.push(name.clone());
        projections.push(ProjectionDef {
            key,
            name,
            from,
            to,
            rule: RuleDef { spec, params: rule_params },
            allow_autapses,
            allow_multapses,
            receptor,
            weight,
            delay_ms,
            synapse,
            addons,
        });
    }

    // [[monitor]]
    let mut monitors = Vec::new();
    let mut mon_names: Vec<String> = Vec::new();
    for (mut t, _) in array_of_tables(&mut root, "monitor")? {
        let (name, nn) = t.str("name")?;
        check_name(name, nn, &t.key_path("name"), &mon_names)?;
        let (kind, kn) = t.str("kind")?;
        if !reg.monitors.contains_key(kind) {
            return Err(t.err(kn, "kind", format!("unknown monitor `{kind}`; valid: {}", names(&reg.monitors))));
        }
        let (sel, sn) = t.str("target")?;
        let target = select_population(sel, sn, &t.key_path("target"), &populations)?;
        let kind = match kind {
            "spikes" => {
                t.finish(&["name", "kind", "target"])?;
                MonitorKind::Spikes
            }
            "state" => {
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
                    vars.push(vi);
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
                    Some((e, en)) => steps_of(e, dt_ms).filter(|&k| k >= 1).ok_or_else(|| t.err(en, "every", format!("must be a positive multiple of dt ({dt_ms} ms)")))?,
                };
                t.finish(&["name", "kind", "target", "variables", "indices", "every"])?;
                MonitorKind::State { vars, indices, every }
            }
            "rate" => {
                let (b, bn) = t.quantity("bin", Dim::Time)?;
                let bin = steps_of(b, dt_ms).filter(|&k| k >= 1).ok_or_else(|| t.err(bn, "bin", format!("must be a positive multiple of dt ({dt_ms} ms)")))?;
                t.finish(&["name", "kind", "target", "bin"])?;
                MonitorKind::Rate { bin }
            }
            other => return Err(t.err(kn, "kind", format!("monitor `{other}` is registered but not implemented by the core"))),
        };
        mon_names.push(name.to_string());
        monitors.push(MonitorDef { name: name.to_string(), target, kind });
    }

    // Plugins' top-level tables, after everything they may name.
    let ctx = TableCtx {
        seed,
        dt_ms,
        steps: steps_f as u64,
        populations: populations.iter().map(|p| p.name.clone()).collect(),
        projections: projections.iter().map(|p| p.name.clone()).collect(),
        encoders: encoders.iter().map(|e| e.name.clone()).collect(),
    };
    let mut tables = Vec::new();
    for (key, f) in &reg.scenario_tables {
        let Some(node) = root.get(key) else { continue };
        let mut t = Table::new(node, *key)?;
        let config = f.parse(&mut t, &ctx)?;
        t.finish(&f.keys().iter().map(|k| k.name).collect::<Vec<_>>())?;
        tables.push((*key, config));
    }
    let mut valid = crate::registry::CORE_TABLES.to_vec();
    valid.extend(reg.scenario_tables.keys().copied());
    root.finish(&valid)?;
    Ok(Scenario {
        path: PathBuf::new(),
        sha256: String::new(),
        text: String::new(),
        overrides: Vec::new(),
        dt_ms,
        t_stop_ms,
        steps: steps_f as u64,
        seed,
        populations,
        projections,
        encoders,
        monitors,
        tables,
    })
}

/// `x` as a whole number of steps of `dt`, if it is one.
pub fn steps_of(x: f64, dt: f64) -> Option<u64> {
    let k = (x / dt).round();
    ((k * dt - x).abs() <= 1e-6 * dt && k >= 0.0).then_some(k as u64)
}

fn select_population(text: &str, node: &Node, key: &str, pops: &[PopulationDef]) -> Result<Selection, ScenarioError> {
    let (name, range) = parse_selector(text).map_err(|m| err_at(&node.loc, key, m))?;
    let index = pops.iter().position(|p| p.name == name).ok_or_else(|| {
        let valid: Vec<&str> = pops.iter().map(|p| p.name.as_str()).collect();
        err_at(&node.loc, key, format!("no population named `{name}`; valid: {}", if valid.is_empty() { "(none defined)".into() } else { valid.join(", ") }))
    })?;
    let (start, end) = resolve_range(range, pops[index].size).map_err(|m| err_at(&node.loc, key, m))?;
    if start == end {
        return Err(err_at(&node.loc, key, "selects no neuron"));
    }
    Ok(Selection { index, start, end })
}

fn select_source(text: &str, node: &Node, key: &str, pops: &[PopulationDef], encs: &[EncoderDef]) -> Result<SourceRef, ScenarioError> {
    let (name, range) = parse_selector(text).map_err(|m| err_at(&node.loc, key, m))?;
    if pops.iter().any(|p| p.name == name) {
        return select_population(text, node, key, pops).map(SourceRef::Population);
    }
    if let Some(index) = encs.iter().position(|e| e.name == name) {
        if encs[index].output != EncoderKind::Source {
            return Err(err_at(&node.loc, key, format!("encoder `{name}` injects a current; only spike sources can be projected from")));
        }
        let (start, end) = resolve_range(range, encs[index].size).map_err(|m| err_at(&node.loc, key, m))?;
        return Ok(SourceRef::Encoder(Selection { index, start, end }));
    }
    let valid: Vec<&str> = pops.iter().map(|p| p.name.as_str()).chain(encs.iter().map(|e| e.name.as_str())).collect();
    Err(err_at(&node.loc, key, format!("no population or encoder named `{name}`; valid: {}", valid.join(", "))))
}


/// Reads a projection's sub-tables (`synapse = "model"` or `synapse = { model = ... }`,
/// `plasticity = { rule = ... }`, and those plugins declare), in key order.
fn parse_addons(t: &mut Table<'_>, reg: &Registry, ctx: &AddonCtx) -> Result<Vec<AddonDef>, ScenarioError> {
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
            return Err(err_at(&name_node.loc, at, format!("unknown {key} `{name}`; valid: {}", choices())));
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
