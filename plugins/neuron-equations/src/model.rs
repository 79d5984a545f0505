//! The model a scenario's equations define, as the core sees it: its definition
//! ([`Def`], read by `define`), and the form a population runs ([`EqModel`]: parameters
//! per population, or some of them per neuron in constant rows).

use std::sync::Arc;

use spikeworld::api::model::{ChoiceSpec, MAX_VARS, NeuronModel, ParamSpec, Params, Placed, PreparedModel, ReceptorSpec, VarSpec, refractory_steps};

use crate::compile::{self, PV, Spec};
use crate::leak;
use crate::units::D;

/// A model's definition, shared by its per-population and per-neuron forms.
pub(crate) struct Def {
    pub(crate) name: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) spec: Spec,
    pub(crate) params: &'static [ParamSpec],
    pub(crate) receptors: &'static [ReceptorSpec],
    /// The per-population form's rows (a per-neuron form appends its parameters').
    pub(crate) vars: &'static [VarSpec],
    /// Which parameters may take one value per neuron (with `exact`, not those in `A`).
    pub(crate) may_vary: Vec<bool>,
    /// Dimension of each parameter, for the conversion into working units.
    pub(crate) param_dims: Vec<D>,
    /// Constants in units the core has no name for, after the parameters (working units).
    pub(crate) fixed: Vec<PV>,
    pub(crate) refractory_ms: f64,
}

/// The rows of a per-neuron form: which parameters it holds per neuron.
struct Rows {
    params: &'static [ParamSpec],
    vars: &'static [VarSpec],
    /// Why it cannot run (more rows than a model may have).
    too_many: Option<String>,
}

/// The model a population runs: its parameters per population, or (`rows`) some of them
/// per neuron, in constant rows.
pub(crate) struct EqModel {
    def: Arc<Def>,
    rows: Option<Arc<Rows>>,
}

impl EqModel {
    /// The per-population form of `def`.
    pub(crate) fn new(def: Def) -> EqModel {
        EqModel { def: Arc::new(def), rows: None }
    }

    /// The form holding the parameters `keys` (those that may vary) per neuron.
    fn with_rows(&self, keys: &[&str]) -> Option<EqModel> {
        let d = &self.def;
        let held: Vec<bool> = d.params.iter().zip(&d.may_vary).map(|(p, v)| *v && keys.contains(&p.name)).collect();
        let n = held.iter().filter(|h| **h).count();
        if n == 0 {
            return None;
        }
        let params: Vec<ParamSpec> = d.params.iter().zip(&held).map(|(p, h)| if *h { p.per_neuron() } else { *p }).collect();
        let mut vars = d.vars.to_vec();
        vars.extend(params.iter().filter(|p| p.per_neuron).map(|p| VarSpec { name: p.name, dim: p.dim, doc: "a per-neuron parameter (constant)" }));
        let too_many = (vars.len() > MAX_VARS).then(|| {
            format!("{} per-neuron parameters and {} state rows: a model holds at most {MAX_VARS} rows; give fewer parameters per neuron (split the population)", n, d.vars.len())
        });
        Some(EqModel { def: d.clone(), rows: Some(Arc::new(Rows { params: leak(params), vars: leak(vars), too_many })) })
    }

    fn held(&self) -> &'static [ParamSpec] {
        self.rows.as_ref().map_or(self.def.params, |r| r.params)
    }

    fn values(&self, params: &Params) -> Vec<PV> {
        self.held()
            .iter()
            .zip(&self.def.param_dims)
            .map(|(p, d)| {
                let x = params.get(p.name) * d.from_core();
                if p.per_neuron { PV::Row(x) } else { PV::C(x) }
            })
            .chain(self.def.fixed.iter().copied())
            .collect()
    }

    fn initial(&self, params: &Params) -> Vec<f64> {
        let d = &self.def;
        let mut v = vec![0.0; d.spec.state_rows()];
        if let Some(r) = d.spec.not_refractory_row() {
            // Free at the start.
            v[r] = 1.0;
        }
        if let Some(r) = d.spec.lastspike_row() {
            // Brian2's: -10000 s.
            v[r] = -1e7;
        }
        v.extend(self.held().iter().filter(|p| p.per_neuron).map(|p| params.get(p.name)));
        v
    }
}

impl NeuronModel for EqModel {
    fn name(&self) -> &'static str {
        self.def.name
    }
    fn doc(&self) -> &'static str {
        self.def.doc
    }
    fn params(&self) -> &'static [ParamSpec] {
        self.held()
    }
    fn choices(&self) -> &'static [ChoiceSpec] {
        &[]
    }
    fn vars(&self) -> &'static [VarSpec] {
        self.rows.as_ref().map_or(self.def.vars, |r| r.vars)
    }
    fn receptors(&self) -> &'static [ReceptorSpec] {
        self.def.receptors
    }
    fn constant_vars(&self) -> usize {
        self.vars().len() - self.def.vars.len()
    }
    fn placed_rows(&self) -> Vec<(usize, Placed)> {
        let s = &self.def.spec;
        s.index_row().map(|r| (r, Placed::Index)).into_iter().chain(s.size_row().map(|r| (r, Placed::Size))).collect()
    }
    fn per_neuron_variant(&self) -> Option<Arc<dyn NeuronModel>> {
        // Every parameter that may vary (what `spikeworld info` shows).
        let all: Vec<&str> = self.def.params.iter().map(|p| p.name).collect();
        self.per_neuron_variant_for(&all)
    }
    fn per_neuron_variant_for(&self, keys: &[&str]) -> Option<Arc<dyn NeuronModel>> {
        if self.rows.is_some() {
            return None;
        }
        self.with_rows(keys).map(|m| Arc::new(m) as Arc<dyn NeuronModel>)
    }
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String> {
        if let Some(e) = self.rows.as_ref().and_then(|r| r.too_many.clone()) {
            return Err(e);
        }
        let steps = refractory_steps(self.def.refractory_ms, dt_ms);
        let program = compile::program(&self.def.spec, &self.values(params), dt_ms, steps).map_err(|e| e.message)?;
        spikeworld::registry::prepared_program(program, self.initial(params)).map_err(|e| format!("model `{}`: {e} (a bug in the equations compiler)", self.def.name))
    }
    fn neuron_initial(&self, params: &Params, _dt_ms: f64) -> Result<Vec<f64>, String> {
        if let Some(e) = self.rows.as_ref().and_then(|r| r.too_many.clone()) {
            return Err(e);
        }
        Ok(self.initial(params))
    }
}
