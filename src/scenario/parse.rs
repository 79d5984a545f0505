//! Scenario text → definitions: every key read, checked and located.

use std::path::{Path, PathBuf};

use crate::api::addon::{AddonCtx, TableCtx};
use crate::api::connect::ConnectCtx;
use crate::api::language::synapse_names;
use crate::api::encoder::{EncoderCtx, EncoderKind};
use crate::api::model::ReceptorKind;
use crate::registry::{Registry, names};
use crate::scenario::estimate::{Estimate, KeyLocs, MemoryLimit, encoder_item, estimate, population_item};
use crate::scenario::read::{array_of_tables, check_name, delay_def, is_expression, neuron_values, parse_addons, read_params, read_population_params, read_rule_params, size_and_shape, weight_def};
use crate::scenario::monitors::parse_monitors;
use crate::scenario::positions::{positions_item, read_positions};
use crate::scenario::select::{MAX_STEPS, select_population, select_source};
use crate::scenario::{DelayDef, EncoderDef, LoadOptions, NeuronValues, PopulationDef, ProjectionDef, RuleDef, Scenario, SourceRef, ValueDist, WeightDef};
use crate::util::error::ScenarioError;
use crate::util::node::{Node, Val};
use crate::util::rng::entity_key;
use crate::util::table::{Table, err_at, node_count};
use crate::util::units::Dim;

/// The longest delay, in steps (synapse delays are stored as `u32`, and the delay ring and
/// spike history hold two steps more).
pub const MAX_DELAY_STEPS: u64 = u32::MAX as u64 - 2;
/// Most shards a network is split into (shards are threads of one process; each holds
/// copies of the encoders and population-wide spike histories, and K² channels link them).
pub const MAX_SHARDS: u64 = 256;

/// Refuses when what is counted so far is above the limit (before a large allocation).
fn check_so_far(items: &[crate::scenario::estimate::Item], limit: &MemoryLimit) -> Result<(), ScenarioError> {
    Estimate { items: items.to_vec(), partial: true, ..Default::default() }.check(limit)
}

/// NEST's names of the models the shipped plugins bring, for the error that meets a user
/// who writes them.
const PEER_MODEL_NAMES: &[(&str, &str)] = &[
    ("iaf_psc_delta", "lif"),
    ("iaf_psc_exp", "lif_curr_exp"),
    ("iaf_cond_exp", "lif_cond_exp"),
    ("aeif_psc_exp", "aeif_curr_exp"),
];

pub(super) fn parse(doc: &Node, reg: &Registry, opts: &LoadOptions, base_dir: &Path, limit: &MemoryLimit) -> Result<Scenario, ScenarioError> {
    let mut root = Table::new(doc, "")?;
    let mut locs = KeyLocs::default();
    locs.root = Some(doc.loc.clone());
    let mut so_far = Vec::new();

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
    if steps_f.is_nan() || steps_f > MAX_STEPS as f64 {
        return Err(sim.err(tn, "t_stop", format!("{t_stop_ms} ms / dt ({dt_ms} ms) = {steps_f:e} steps; at most 2^53 = {MAX_STEPS} steps")));
    }
    locs.insert("simulation.t_stop".into(), tn.loc.clone());
    if (steps_f * dt_ms - t_stop_ms).abs() > 1e-6 * dt_ms.max(1.0) {
        return Err(sim.err(tn, "t_stop", format!("{t_stop_ms} ms is not a whole number of steps of {dt_ms} ms")));
    }
    let seed = match (opts.seed, sim.opt_count("seed")?) {
        (Some(s), _) => s,
        (None, Some((s, _))) => s,
        (None, None) => 0,
    };
    let shards = match sim.opt_count("shards")? {
        None => 1,
        Some((k, n)) if !(1..=MAX_SHARDS).contains(&k) => return Err(sim.err(n, "shards", format!("must be from 1 to {MAX_SHARDS} (found {k})"))),
        Some((k, _)) => k as usize,
    };
    sim.opt_str("description")?;
    sim.finish(&["dt", "t_stop", "seed", "shards", "description"])?;

    // [neuron_models.NAME], before the populations that name them
    let defined = crate::scenario::models::defined_models(&mut root, reg, dt_ms)?;

    // [[population]]
    let mut populations: Vec<PopulationDef> = Vec::new();
    let mut pop_names: Vec<String> = Vec::new();
    for (mut t, _) in array_of_tables(&mut root, "population")? {
        let (name, nn) = t.str("name")?;
        check_name(name, nn, &t.key_path("name"), &pop_names)?;
        let (size, shape) = size_and_shape(&mut t)?;
        let sloc = t.get("size").or(t.get("shape")).map_or_else(|| t.loc().clone(), |n| n.loc.clone());
        locs.insert(t.key_path("size"), sloc);
        let (model_name, mn) = t.str("model")?;
        let model = defined.get(model_name).or_else(|| reg.neuron_models.get(model_name)).ok_or_else(|| {
            let hint = PEER_MODEL_NAMES.iter().find(|(peer, _)| *peer == model_name).map_or(String::new(), |(_, ours)| format!(" (NEST's `{model_name}` is `{ours}` here: docs/from-brian2-nest.md)"));
            let own = defined.keys().map(|k| format!(", {k}")).collect::<String>();
            t.err(mn, "model", format!("unknown neuron model `{model_name}`{hint}; valid: {}{own}", names(&reg.neuron_models)))
        })?;
        // A model that holds its parameters per population may have a form that reads some
        // per neuron: a population given any value as a list, a distribution or a file
        // runs that one.
        let varying: Vec<&str> = match t.get("params").map(|n| &n.val) {
            Some(Val::Table(es)) => es
                .iter()
                .filter(|e| match &e.node.val {
                    Val::Array(_) | Val::Table(_) => true,
                    // An expression (not a plain quantity), where a language reads them.
                    Val::Str(s) => !reg.model_languages.is_empty() && model.params().iter().find(|p| p.name == e.key).is_some_and(|p| is_expression(s, p.dim)),
                    _ => false,
                })
                .map(|e| e.key.as_str())
                .collect(),
            _ => Vec::new(),
        };
        let model = match (varying.is_empty(), model.per_neuron_variant_for(&varying)) {
            (false, Some(v)) => v,
            _ => model.clone(),
        };
        let key = entity_key("population", name);
        // Positions first: values per neuron may read them (`x`, `y`, `z`).
        let positions = match read_positions(&mut t, (base_dir, size as usize, reg))? {
            Some(pd) => {
                let (k, loc) = pd.loc();
                locs.insert(format!("population[{}].positions", populations.len()), loc.clone());
                so_far.push(positions_item(name, size as usize, k, loc));
                check_so_far(&so_far, limit)?;
                Some(pd.compute(seed, key, size as usize)?)
            }
            None => None,
        };
        let (params, per_neuron) = match t.get("params") {
            Some(pn) => {
                let mut pt = Table::new(pn, t.key_path("params"))?;
                let p = read_population_params(&mut pt, model.as_ref(), &format!("`{model_name}`"), (seed, key, size as usize, base_dir, positions.as_ref(), reg))?;
                let valid: Vec<&str> = model.params().iter().map(|p| p.name).chain(model.choices().iter().map(|c| c.name)).collect();
                pt.finish(&valid)?;
                p
            }
            None => {
                let empty = Node { loc: t.loc().clone(), val: Val::Table(Vec::new()) };
                let mut pt = Table::new(&empty, t.key_path("params"))?;
                (read_params(&mut pt, model.params(), model.choices(), &format!("`{model_name}`"))?, Vec::new())
            }
        };
        let prepared = model.prepare(&params, dt_ms).map_err(|m| {
            // Point at the parameter the model complains about (named as a word of its
            // message, `tau_m` or tau_m), when the file sets it.
            let names_word = |name: &str| {
                m.match_indices(name).any(|(i, _)| {
                    let before = m[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    let after = m[i + name.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    before && after
                })
            };
            let at = match t.get("params").map(|n| &n.val) {
                Some(Val::Table(es)) => {
                    // A per-neuron key the message names first (neuron 0's value is the
                    // culprit more likely than a constant it is compared with).
                    let per = |k: &str| per_neuron.iter().any(|(i, ..)| model.params()[*i].name == k);
                    let named = |e: &&crate::util::node::Entry| model.params().iter().any(|p| p.name == e.key) && names_word(&e.key);
                    es.iter().filter(named).find(|e| per(&e.key)).or_else(|| es.iter().find(named)).map(|e| (e.node.loc.clone(), e.key.as_str()))
                }
                _ => None,
            };
            match at {
                // Neuron 0's values of per-neuron parameters are the population's here.
                Some((loc, name)) if per_neuron.iter().any(|(k, ..)| model.params()[*k].name == name) => err_at(&loc, format!("{}.{name}", t.key_path("params")), format!("neuron 0: {m}")),
                Some((loc, name)) => err_at(&loc, format!("{}.{name}", t.key_path("params")), m),
                None => err_at(t.loc(), t.key_path("params"), m),
            }
        })?;
        // (The per-neuron values as the population holds them, without their nodes.)
        let per: Vec<(usize, NeuronValues)> = per_neuron.iter().map(|(k, v, _)| (*k, v.clone())).collect();
        let mut init = Vec::new();
        let constant_from = model.vars().len() - model.constant_vars();
        if let Some(inode) = t.get("init") {
            let mut it = Table::new(inode, t.key_path("init"))?;
            for (k, kloc, vn) in it.remaining() {
                let Some(vi) = model.vars().iter().position(|v| v.name == k) else {
                    if model.params().iter().any(|p| p.name == k) {
                        let each = if model.params().iter().any(|p| p.name == k && p.per_neuron) || model.per_neuron_variant().is_some_and(|v| v.params().iter().any(|p| p.name == k && p.per_neuron)) { " (it takes one value per neuron too)" } else { "" };
                        return Err(err_at(kloc, it.key_path(k), format!("`{k}` of `{model_name}` is a parameter, constant for the run: set it in `params`{each}")));
                    }
                    let placed = model.placed_rows();
                    let valid: Vec<&str> = model.vars()[..constant_from].iter().enumerate().filter(|(r, _)| !placed.iter().any(|p| p.0 == *r)).map(|(_, v)| v.name).collect();
                    return Err(err_at(kloc, it.key_path(k), format!("`{model_name}` has no state variable `{k}`; valid: {}", valid.join(", "))));
                };
                if let Some((_, what)) = model.placed_rows().into_iter().find(|(r, _)| *r == vi) {
                    let what = match what {
                        crate::api::model::Placed::Index => "the neuron's index in its population (Brian2's `i`)",
                        crate::api::model::Placed::Size => "the population's size (Brian2's `N`)",
                    };
                    return Err(err_at(kloc, it.key_path(k), format!("`{k}` of `{model_name}` is {what}, set by spikeworld, not by `init`")));
                }
                if vi >= constant_from {
                    let what = if model.params().iter().any(|p| p.name == k) { "a parameter, constant for the run: set it in `params` (it takes one value per neuron too)" } else { "computed from the parameters, constant for the run: set those in `params`" };
                    return Err(err_at(kloc, it.key_path(k), format!("`{k}` of `{model_name}` is {what}")));
                }
                let v = neuron_values(vn, model.vars()[vi].dim, &it.key_path(k), (base_dir, size as usize, positions.as_ref(), reg))?;
                check_expression(&v, (seed, key, crate::util::rng::purpose::INIT + vi as u64), vn, &it.key_path(k))?;
                init.push((vi, v));
            }
        }
        let shard_bounds = match t.get("shard_bounds") {
            None => None,
            Some(n) => {
                let what = "an array of ascending neuron indices, where shards 1, 2, ... start (one fewer than the shards)";
                let Val::Array(items) = &n.val else { return Err(t.err(n, "shard_bounds", format!("expected {what}"))) };
                let mut b: Vec<usize> = Vec::with_capacity(items.len());
                for it in items {
                    let v = node_count(it, &t.key_path("shard_bounds"))? as usize;
                    if v > size as usize || b.last().is_some_and(|&l| v < l) {
                        return Err(err_at(&it.loc, t.key_path("shard_bounds"), format!("{v}: expected {what}, each at most the size ({size})")));
                    }
                    b.push(v);
                }
                Some((b, n.loc.clone(), t.key_path("shard_bounds")))
            }
        };
        let params_key = t.key_path("params");
        t.finish(&["name", "size", "shape", "model", "params", "init", "shard_bounds", "positions"])?;
        pop_names.push(name.to_string());
        populations.push(PopulationDef {
            name: name.to_string(),
            size: size as usize,
            shape,
            model: model.clone(),
            params,
            prepared,
            init,
            per_neuron: per,
            key,
            shard_bounds,
            positions,
        });
        so_far.push(population_item(populations.len() - 1, populations.last().expect("just pushed"), &locs));
        check_so_far(&so_far, limit)?;
        // Every neuron's own parameters, checked as the model checks a population's, once
        // the population is known to fit: drawn values are drawn again when the network is
        // built (nothing is held here), so the cost is time only.
        let p = populations.last().expect("just pushed");
        let mut own = p.params.clone();
        for (k, v, at) in &per_neuron {
            check_expression(v, (seed, key, crate::util::rng::purpose::PARAM + *k as u64), at, &format!("{params_key}.{}", model.params()[*k].name))?;
        }
        let checked = if p.per_neuron.is_empty() { 1..1 } else { 1..p.size };
        for i in checked {
            p.set_neuron_params(&mut own, seed, i);
            if let Err(m) = model.neuron_initial(&own, dt_ms) {
                // At the per-neuron parameter the message names, else the first.
                let (k, _, at) = per_neuron.iter().find(|(k, ..)| m.contains(&format!("`{}`", model.params()[*k].name))).unwrap_or(&per_neuron[0]);
                return Err(err_at(&at.loc, format!("{params_key}.{}", model.params()[*k].name), format!("neuron {i}: {m}")));
            }
        }
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
        let mut enc_shape = None;
        let (size, target) = match f.kind() {
            EncoderKind::Source => {
                let (size, shape) = size_and_shape(&mut t)?;
                let sloc = t.get("size").or(t.get("shape")).map_or_else(|| t.loc().clone(), |n| n.loc.clone());
                locs.insert(t.key_path("size"), sloc);
                enc_shape = shape;
                (size as usize, None)
            }
            EncoderKind::Current => {
                let (sel, sn) = t.str("target")?;
                let target = select_population(sel, sn, &t.key_path("target"), &populations)?;
                locs.insert(t.key_path("target"), sn.loc.clone());
                let model = &populations[target.index].model;
                let want = f.receptor_kind();
                let valid: Vec<&str> = model.receptors().iter().filter(|r| r.kind == want).map(|r| r.name).collect();
                let what = if want == ReceptorKind::Current { "current" } else { "spike" };
                let (rname, rn) = match t.opt_str("receptor")? {
                    Some(r) => r,
                    None if want == ReceptorKind::Current => ("i", sn),
                    None if valid.len() == 1 => (valid[0], sn),
                    None => return Err(err_at(t.loc(), t.key_path("receptor"), format!("`{kind}` into `{}` needs its spike receptor; valid: {}", model.name(), valid.join(", ")))),
                };
                let r = model
                    .receptors()
                    .iter()
                    .position(|r| r.name == rname && r.kind == want)
                    .ok_or_else(|| t.err(rn, "receptor", format!("`{}` has no {what} receptor `{rname}`; valid: {}", model.name(), valid.join(", "))))?;
                (target.len(), Some((target, r)))
            }
        };
        let receptor_dim = target.as_ref().map(|(t, r)| populations[t.index].model.receptors()[*r].dim);
        let ctx = EncoderCtx { seed, entity: entity_key("encoder", name), dt_ms, size, base_dir: base_dir.to_path_buf(), receptor_dim };
        // Its per-output state is allocated now: check the size first.
        so_far.push(encoder_item(encoders.len(), name, size, target.is_none(), &locs));
        check_so_far(&so_far, limit)?;
        let config = f.parse(&mut t, &ctx)?;
        let mut valid = vec!["name", "kind"];
        valid.extend(match f.kind() {
            EncoderKind::Source => &["size", "shape"][..],
            EncoderKind::Current => &["target", "receptor"][..],
        });
        valid.extend(f.keys().iter().map(|k| k.name));
        t.finish(&valid)?;
        enc_names.push(name.to_string());
        encoders.push(EncoderDef { name: name.to_string(), kind: kind.to_string(), output: f.kind(), size, shape: enc_shape, target, config });
    }

    // [[projection]]
    let mut expected_synapses = Vec::new();
    let mut projections: Vec<ProjectionDef> = Vec::new();
    let mut proj_names: Vec<String> = Vec::new();
    for (i, (mut t, _)) in array_of_tables(&mut root, "projection")?.into_iter().enumerate() {
        let name = match t.opt_str("name")? {
            Some((n, nn)) => {
                check_name(n, nn, &t.key_path("name"), &proj_names)?;
                n.to_string()
            }
            None => {
                // (`util::node::DEFAULT_NAMED`: `--set` reaches it by this name.)
                let n = format!("projection{i}");
                if proj_names.contains(&n) {
                    return Err(err_at(t.loc(), t.key_path("name"), format!("this projection has no name, and its default name `{n}` is taken by another; give it a `name`")));
                }
                n
            }
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
        // What values of its synapses read: the ends' positions where they have them.
        let src_positions = match &from {
            SourceRef::Population(s) => populations[s.index].positions.clone(),
            SourceRef::Encoder(_) => None,
        };
        let tgt_positions = populations[to.index].positions.clone();
        let names = synapse_names(src_positions.is_some(), tgt_positions.is_some());
        let (rule_params, pair_values) = read_rule_params(&mut t, &spec, (&names, reg))?;
        if let Some(pv) = rule_params.values().iter().find(|(n, _)| *n == "p").map(|(_, v)| *v)
            && !(0.0..=1.0).contains(&pv)
            && pair_values.is_empty()
        {
            let pn = t.get("p").unwrap_or(rn);
            return Err(t.err(pn, "p", format!("must be in [0, 1] (found {pv})")));
        }
        let allow_autapses = t.opt_bool("allow_autapses")?.unwrap_or(true);
        let allow_multapses = t.opt_bool("allow_multapses")?.unwrap_or(true);
        // Every refusal the rule would make when drawing, made now; and how many synapses.
        let (n_src, src_offset, same) = match &from {
            SourceRef::Population(s) => (s.len(), s.start, s.index == to.index),
            SourceRef::Encoder(s) => (s.len(), s.start, false),
        };
        let whole = |shape: &Option<Vec<usize>>, start: usize, len: usize, size: usize| if start == 0 && len == size { shape.clone() } else { None };
        let src_shape = match &from {
            SourceRef::Population(s) => whole(&populations[s.index].shape, s.start, s.len(), populations[s.index].size),
            SourceRef::Encoder(s) => whole(&encoders[s.index].shape, s.start, s.len(), encoders[s.index].size),
        };
        let tgt_shape = whole(&populations[to.index].shape, to.start, to.len(), populations[to.index].size);
        // (The projection's stream key: a rule's check draws what the build will.)
        let key = entity_key("projection", &name);
        let cctx = ConnectCtx { seed, entity: key, n_src, n_tgt: to.len(), src_offset, tgt_offset: to.start, same_population: same, allow_autapses, allow_multapses, targets: 0..to.len(), src_shape: src_shape.clone(), tgt_shape: tgt_shape.clone(), pair_values: pair_values.clone(), src_positions, tgt_positions };
        // A rule's refusal at the parameter it names (in backticks), if written; else at `rule`.
        let rule_err = |t: &mut Table<'_>, m: String| match spec.params.iter().find_map(|p| t.get(p.name).filter(|_| m.contains(&format!("`{}`", p.name))).map(|n| (p.name, n))) {
            Some((key, node)) => t.err(node, key, m),
            None => t.err(rn, "rule", m),
        };
        let kernel = match spec.kernel {
            Some(k) => Some(k(&cctx, &rule_params).map_err(|m| rule_err(&mut t, m))?),
            None => None,
        };
        if let Some(check) = spec.check {
            check(&cctx, &rule_params).map_err(|m| rule_err(&mut t, m))?;
        }
        let (rule_key, rule_node) = spec.params.iter().find_map(|p| t.get(p.name).map(|n| (p.name, n))).unwrap_or(("rule", rn));
        locs.insert(t.key_path("rule"), rn.loc.clone());
        locs.insert(t.key_path(rule_key), rule_node.loc.clone());
        locs.insert(t.key_path("from"), fnode.loc.clone());
        locs.insert(t.key_path("to"), tnode.loc.clone());
        let expected = crate::rules::precheck(spec.name, &cctx, &rule_params).map_err(|m| t.err(rule_node, rule_key, m))?;
        if let Some(n) = expected
            && n > u32::MAX as f64
        {
            let (sn, tn) = (cctx.n_src, cctx.n_tgt);
            return Err(t.err(rule_node, rule_key, format!("`{rule_name}` from {sn} sources to {tn} targets makes {n:.0} synapses; at most {} per projection (split it into several)", u32::MAX)));
        }
        expected_synapses.push(expected.unwrap_or(0.0));
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
        let weight = weight_def(wn, wdim, &t.key_path("weight"), (base_dir, kernel.as_deref().unwrap_or(&[to.len(), n_src]), &names, reg))?;
        // A conductance only grows at a spike: a negative weight (NEST's habit for
        // inhibition, where `iaf_cond_*` routes it to the inhibitory conductance) would make
        // it negative and drive the neuron towards the reversal potential it should pull
        // away from. (A normal distribution's tail is the user's to clip.)
        let lowest = match &weight {
            WeightDef::Dist(ValueDist::Const(w)) | WeightDef::Dist(ValueDist::Uniform { low: w, .. }) => Some(*w),
            // (An expression's values are checked where the synapses are made.)
            WeightDef::Dist(ValueDist::Normal { .. }) | WeightDef::Expr(_) => None,
            WeightDef::Matrix { values, .. } => values.iter().copied().reduce(f64::min),
        };
        if wdim == Dim::Conductance
            && let Some(w) = lowest.filter(|&w| w < 0.0)
        {
            return Err(t.err(wn, "weight", format!("{w} nS: a conductance increment must be >= 0; inhibition is a positive weight at an inhibitory receptor (`{}` has {})", target_model.name(), target_model.receptors().iter().filter(|r| r.kind == ReceptorKind::Spike).map(|r| format!("`{}`", r.name)).collect::<Vec<_>>().join(", "))));
        }
        let delay_ms = match t.get("delay") {
            Some(dn) => {
                locs.insert(t.key_path("delay"), dn.loc.clone());
                delay_def(dn, &t.key_path("delay"), dt_ms, (&names, reg))?
            }
            None => DelayDef::Dist(ValueDist::Const(0.0)),
        };
        let actx = AddonCtx { seed, entity: key, projection: name.clone(), dt_ms, n_src, n_tgt: to.len(), tgt_start: to.start, receptor_dim: wdim, shared_kernel: kernel.is_some() };
        let addons = parse_addons(&mut t, reg, &actx)?;
        let synapse = addons.iter().find(|a| a.table == "synapse").map_or("static", |a| a.name).to_string();
        if kernel.is_some()
            && let Some(a) = addons.iter().find(|a| !a.config.shared_weights() || !a.config.synapse_vars().is_empty())
        {
            return Err(t.err(rn, "rule", format!("`{rule_name}` shares its weights between synapses; `{}.{}` needs weights of its own (not supported on shared weights yet)", a.table, a.name)));
        }
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
            rule: RuleDef { spec, params: rule_params, pair_values },
            allow_autapses,
            allow_multapses,
            receptor,
            weight,
            kernel,
            src_shape,
            tgt_shape,
            delay_ms,
            synapse,
            addons,
        });
    }

    // [[monitor]]
    let monitors = parse_monitors(&mut root, reg, &populations, &encoders, &projections, dt_ms, &mut locs)?;

    // Plugins' top-level tables, after everything they may name.
    let mut ctx = TableCtx {
        seed,
        dt_ms,
        steps: steps_f as u64,
        populations: populations.iter().map(|p| p.name.clone()).collect(),
        projections: projections.iter().map(|p| p.name.clone()).collect(),
        encoders: encoders.iter().map(|e| e.name.clone()).collect(),
        population_sizes: populations.iter().map(|p| p.size).collect(),
        population_receptors: populations.iter().map(|p| p.model.receptors().iter().map(|r| r.name).collect()).collect(),
        encoder_sizes: encoders.iter().map(|e| (e.size, e.target.is_none())).collect(),
        base_dir: base_dir.to_path_buf(),
        defined: Vec::new(),
    };
    let mut tables = Vec::new();
    // Key order, except that a table comes after those it names (`ScenarioTable::after`).
    let mut order: Vec<&'static str> = Vec::new();
    while order.len() < reg.scenario_tables.len() {
        let before = order.len();
        for (key, f) in &reg.scenario_tables {
            if !order.contains(key) && f.after().iter().all(|a| order.contains(a) || !reg.scenario_tables.contains_key(a)) {
                order.push(key);
            }
        }
        if order.len() == before {
            // A cycle of `after`: the rest in key order.
            order.extend(reg.scenario_tables.keys().filter(|k| !order.contains(k)).copied().collect::<Vec<_>>());
        }
    }
    for key in &order {
        let f = &reg.scenario_tables[key];
        let Some(node) = root.get(key) else { continue };
        // `[key]` once, or `[[key]]`: each table parsed on its own, in document order.
        let items: Vec<(&Node, String)> = match &node.val {
            Val::Array(a) => a.iter().enumerate().map(|(i, n)| (n, format!("{key}[{i}]"))).collect(),
            _ => vec![(node, key.to_string())],
        };
        for (n, path) in items {
            let mut t = Table::new(n, path.clone())?;
            let config = f.parse(&mut t, &ctx)?;
            t.finish(&f.keys().iter().map(|k| k.name).collect::<Vec<_>>())?;
            if let Some((name, size)) = config.defines() {
                // The core's rule for names (its outputs are files named after it).
                let name_node = match &n.val {
                    Val::Table(es) => es.iter().find(|e| e.key == "name").map_or(n, |e| &e.node),
                    _ => n,
                };
                check_name(&name, name_node, &format!("{path}.name"), &[])?;
                // One name space: `from`/`target` find it by name, and its outputs are
                // files named after it beside the monitors'.
                let taken = [("population", &ctx.populations), ("encoder", &ctx.encoders), ("projection", &ctx.projections)]
                    .into_iter()
                    .find_map(|(what, names)| names.contains(&name).then(|| what.to_string()))
                    .or_else(|| monitors.iter().any(|m| m.name == name).then(|| "monitor".to_string()))
                    .or_else(|| ctx.defined.iter().find(|d| d.name == name).map(|d| format!("[[{}]] table", d.table)));
                if let Some(what) = taken {
                    let loc = match &n.val {
                        Val::Table(es) => es.iter().find(|e| e.key == "name").map_or(&n.loc, |e| &e.node.loc),
                        _ => &n.loc,
                    };
                    return Err(err_at(loc, format!("{path}.name"), format!("`{name}` is already the name of a {what}; names must differ")));
                }
                ctx.defined.push(crate::api::addon::Defined { table: key, name, size });
            }
            tables.push((*key, config));
        }
    }
    let mut valid = crate::registry::CORE_TABLES.to_vec();
    valid.extend(reg.scenario_tables.keys().copied());
    root.finish(&valid)?;
    let steps = steps_f as u64;
    let est = estimate((&populations, &encoders, &projections, &monitors), steps, dt_ms, &expected_synapses, None, &locs);
    est.check(limit)?;
    Ok(Scenario {
        path: PathBuf::new(),
        sha256: String::new(),
        inputs: Vec::new(),
        text: String::new(),
        overrides: Vec::new(),
        dt_ms,
        t_stop_ms,
        steps,
        seed,
        shards,
        populations,
        projections,
        encoders,
        monitors,
        tables,
        limit: limit.clone(),
        estimate: est,
        expected_synapses,
        locs,
    })
}

/// An expression's value for every neuron is a finite number (with the scenario's seed:
/// `log(rand())` may give −∞): else the first neuron's that is not, at the value.
fn check_expression(v: &NeuronValues, (seed, key, purpose): (u64, u32, u64), at: &Node, path: &str) -> Result<(), ScenarioError> {
    let NeuronValues::Expr(e, size, _) = v else { return Ok(()) };
    match (0..*size).map(|i| (i, v.at(seed, key, purpose, i))).find(|(_, x)| !x.is_finite()) {
        Some((i, x)) => Err(err_at(&at.loc, path, format!("`{}` is {x} for neuron {i}: expected a finite number", e.text))),
        None => Ok(()),
    }
}
