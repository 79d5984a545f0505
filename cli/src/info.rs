//! `spikeworld info`: every registered name with its keys, defaults and units.

use spikeworld::prelude::*;

/// The text of `spikeworld info`.
pub fn info_text(b: &SimBuilder) -> String {
    use std::fmt::Write;
    let r = b.registry();
    let mut s = String::new();
    let param_line = |s: &mut String, p: &ParamSpec| {
        // A learning rule's key read in the unit of the projection's weight (its receptor's:
        // nS, pA, mV): its declared dimension does not apply.
        let weight_unit = p.weight_unit;
        let d = match (p.is_required(), p.default_value()) {
            (true, _) => "required".to_string(),
            (false, Some(v)) if weight_unit => format!("{v}"),
            (false, Some(v)) => format!("{v} {}", p.dim.unit()),
            (false, None) => "optional".to_string(),
        };
        let dim = if weight_unit { "weight's unit".to_string() } else { p.dim.to_string() };
        // (A neuron model's parameter that takes a list, a distribution or a file.)
        let each = if p.per_neuron { "[per neuron] " } else { "" };
        let _ = writeln!(s, "      {:<14} {:<16} {:<14} {each}{}", p.name, d, dim, p.doc);
    };
    let _ = writeln!(s, "NEURON MODELS");
    for (name, m) in &r.neuron_models {
        let _ = writeln!(s, "  {name}\n    {}", m.doc());
        let _ = writeln!(s, "    parameters (name, default, dimension, meaning):");
        // (A model with a per-neuron form: its keys are the same, some marked per neuron.)
        let each = m.per_neuron_variant();
        for p in each.as_ref().map_or(m.params(), |e| e.params()) {
            param_line(&mut s, p);
        }
        for c in m.choices() {
            let _ = writeln!(s, "      {:<14} {:<16} {:<14} {}", c.name, format!("\"{}\"", c.options[0]), c.options.join("|"), c.doc);
        }
        let _ = writeln!(s, "    state:");
        if m.params().iter().any(|p| p.per_neuron) {
            let _ = writeln!(s, "      ([per neuron] parameters take a list, a distribution or a file; the last {} state variables hold them, constant)", m.constant_vars());
        }
        for v in m.vars() {
            let _ = writeln!(s, "      {:<14} {:<16} {}", v.name, v.dim.unit(), v.doc);
        }
        if let Some(e) = &each {
            let _ = writeln!(s, "      (with a list, a distribution or a file for a [per neuron] parameter, also these constant rows:)");
            for v in &e.vars()[e.vars().len() - e.constant_vars()..] {
                let _ = writeln!(s, "      {:<14} {:<16} {}", v.name, v.dim.unit(), v.doc);
            }
        }
        let _ = writeln!(s, "    receptors:");
        for rc in m.receptors() {
            let _ = writeln!(s, "      {:<14} {:<16} {:?}, {}", rc.name, rc.dim.unit(), rc.kind, rc.doc);
        }
    }
    for (name, l) in &r.model_languages {
        let _ = writeln!(s, "\nMODEL LANGUAGE `{name}` (a scenario's own neuron models: `[neuron_models.NAME]`, `language = \"{name}\"`)\n  {}", l.doc());
    }
    for (table, t) in &r.addon_tables {
        let _ = writeln!(s, "\nPROJECTION SUB-TABLE `{table}` ({}; selected by `{}`)", t.doc, t.selector);
        if *table == "synapse" {
            let _ = writeln!(s, "  {:<20} fixed weight: a spike adds the weight to the target's receptor after the delay (default)", "static");
        }
        for a in r.addons_of(table) {
            let _ = writeln!(s, "  {:<20} {}", a.name(), a.doc());
            for p in a.keys() {
                param_line(&mut s, p);
            }
        }
    }
    let _ = writeln!(s, "\nCONNECTION RULES (projection keys: from, to, rule, receptor, weight, delay, allow_autapses, allow_multapses)");
    for (name, rule) in &r.rules {
        let _ = writeln!(s, "  {name:<20} {}", rule.doc);
        for p in rule.params {
            param_line(&mut s, p);
        }
    }
    let _ = writeln!(s, "\nENCODERS (keys: name, kind; sources: size or shape; currents: target, receptor)");
    for (name, e) in &r.encoders {
        let _ = writeln!(s, "  {name:<20} {:?}: {}", e.kind(), e.doc());
        for p in e.keys() {
            param_line(&mut s, p);
        }
    }
    let _ = writeln!(s, "\nMONITORS");
    for (name, m) in &r.monitors {
        // (A monitor that names a `projection` key takes it in place of `target`.)
        let common = if m.keys.iter().any(|(k, ..)| *k == "projection") { "name, kind" } else { "name, kind, target" };
        let _ = writeln!(s, "  {name:<20} {} (keys: {common})", m.doc);
        for (k, required, doc) in m.keys {
            let _ = writeln!(s, "      {:<14} {:<16} {}", k, if *required { "required" } else { "optional" }, doc);
        }
    }
    if !r.scenario_tables.is_empty() {
        let _ = writeln!(s, "\nPLUGIN TABLES");
        for (name, t) in &r.scenario_tables {
            let _ = writeln!(s, "  [{name}]{:<14} {}", "", t.doc());
            for p in t.keys() {
                param_line(&mut s, p);
            }
        }
    }
    s
}
