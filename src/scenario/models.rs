//! `[neuron_models.NAME]`: neuron models the scenario defines itself, in a language a
//! plugin brings (`language = "equations"`, the default), read before the populations
//! that name them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::model::NeuronModel;
use crate::registry::{Registry, names};
use crate::scenario::read::check_name;
use crate::util::error::ScenarioError;
use crate::util::node::Val;
use crate::util::table::{Table, err_at};

/// The language a model table uses when it does not say.
const DEFAULT_LANGUAGE: &str = "equations";

/// The models the scenario defines, by name (none without a `[neuron_models]` table).
pub(super) fn defined_models(root: &mut Table<'_>, reg: &Registry, dt_ms: f64) -> Result<BTreeMap<String, Arc<dyn NeuronModel>>, ScenarioError> {
    let mut out = BTreeMap::new();
    let Some(node) = root.get("neuron_models") else { return Ok(out) };
    let Val::Table(entries) = &node.val else {
        return Err(err_at(&node.loc, "neuron_models", format!("must be a table of models (`[neuron_models.NAME]`), not {}", node.val.type_str())));
    };
    let mut taken: Vec<String> = Vec::new();
    for e in entries {
        let path = format!("neuron_models.{}", e.key);
        let key_node = crate::util::node::Node { loc: e.key_loc.clone(), val: Val::Str(e.key.clone()) };
        check_name(&e.key, &key_node, &path, &taken)?;
        if reg.neuron_models.contains_key(e.key.as_str()) {
            return Err(err_at(&e.key_loc, path, format!("`{}` is the name of a registered neuron model; a model the scenario defines needs its own name", e.key)));
        }
        let mut t = Table::new(&e.node, path.clone())?;
        let language = match t.opt_str("language")? {
            Some((l, _)) if reg.model_languages.contains_key(l) => reg.model_languages[l].clone(),
            Some((l, n)) => return Err(t.err(n, "language", format!("unknown model language `{l}`; valid: {}", languages(reg)))),
            None => match reg.model_languages.get(DEFAULT_LANGUAGE) {
                Some(l) => l.clone(),
                None => return Err(err_at(t.loc(), path, format!("no plugin brings the model language `{DEFAULT_LANGUAGE}`; give `language` (valid: {})", languages(reg)))),
            },
        };
        // Named for as long as the process runs, as registered models are.
        let name: &'static str = Box::leak(e.key.clone().into_boxed_str());
        let model = language.define(name, &mut t, dt_ms)?;
        let mut valid = language.keys().to_vec();
        valid.push("language");
        t.finish(&valid)?;
        taken.push(e.key.clone());
        out.insert(e.key.clone(), model);
    }
    Ok(out)
}

fn languages(reg: &Registry) -> String {
    if reg.model_languages.is_empty() { "none (no plugin brings one)".into() } else { names(&reg.model_languages) }
}
