//! spikeworld plugin: neuron models written in the scenario as Brian2's equations.
//!
//! ```toml
//! [neuron_models.coba]
//! equations = '''
//! dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v))/Cm : volt (unless refractory)
//! dge/dt = -ge/taue : siemens
//! dgi/dt = -gi/taui : siemens
//! '''
//! threshold = "v > -50*mV"
//! reset = "v = -60*mV"
//! refractory = "5 ms"
//! method = "euler"
//! receptors = ["ge", "gi"]
//! [neuron_models.coba.params]
//! Cm = "200 pF"
//! gl = "10 nS"
//! # ...
//! ```
//!
//! The model is compiled into one straight-line program per population
//! ([`spikeworld::api::program::Program`]): the cpu engine interprets it over chunks of
//! neurons, the tensor engine runs it as tensor operations, the device engine compiles it
//! into its fused kernel. Order within a step is the other models' (Brian2's as seen by the
//! next step): input due now is added, the state is integrated, the threshold tested, the
//! reset applied.

mod compile;
mod eqs;
mod exact;
mod expeuler;
mod expr;
mod model;
mod noise;
mod terms;
mod units;
mod value;

use std::sync::Arc;

use spikeworld::api::language::{ModelLanguage, ValueExpression};
use spikeworld::api::model::{MAX_VARS, NeuronModel, ParamSpec, ReceptorKind, ReceptorSpec, VarSpec};
use spikeworld::registry::{Plugin, SimBuilder};
use spikeworld::util::error::{Loc, ScenarioError};
use spikeworld::util::node::{Node, Val, loc_in};
use spikeworld::util::table::{Table, err_at};
use spikeworld::util::units::Dim;

use compile::{CompileError, Method, PV, Spec, Src, Var};
use eqs::{Kind, TextError};
use model::{Def, EqModel};
use units::D;

/// Registers the `equations` model language.
pub struct EquationsPlugin;

impl Plugin for EquationsPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_model_language(Equations);
    }
}

/// Brian2's equations as a model language.
pub struct Equations;

const KEYS: &[&str] = &["equations", "threshold", "reset", "refractory", "method", "receptors", "currents", "record", "params"];

/// Names the step uses for its own rows.
const RESERVED: &[&str] = &["refr", "spiked", "dt", "t", "i", "N", "xi", "not_refractory", "lastspike", "tstep"];

const DOC: &str = "Brian2's equations: `equations` (lines `dX/dt = expr : unit (unless refractory)`, `X = expr : unit` \
    subexpressions, `X : unit` parameters), `threshold` (a condition), `reset` (statements `v = ...; w += ...`), `refractory` \
    (a time, or an expression of time: a parameter per neuron), `method` (euler, rk2, rk4, exponential_euler, exact; default exact for linear equations that do not read t, else euler), `receptors` (variables a \
    spike jumps by its weight), `currents` (names of injected currents, in amp), `params` (values of parameters: declared \
    ones, or constants named here with their unit). Every parameter may take one value per neuron (with `exact`, those in \
    the linear coefficients stay per population).";

impl ModelLanguage for Equations {
    fn name(&self) -> &'static str {
        "equations"
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn keys(&self) -> &'static [&'static str] {
        KEYS
    }
    fn define(&self, name: &'static str, t: &mut Table<'_>, dt_ms: f64) -> Result<Arc<dyn NeuronModel>, ScenarioError> {
        define(name, t, dt_ms).map(|d| Arc::new(EqModel::new(d)) as Arc<dyn NeuronModel>)
    }
    fn value_expression(&self, text: &str, dim: Dim, names: &[spikeworld::api::language::PlaceName]) -> Option<Result<Arc<dyn ValueExpression>, (usize, String)>> {
        Some(value::compile(text, dim, names))
    }
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn text_error(n: &Node, key: &str, text: &str, e: TextError) -> ScenarioError {
    let line = text.lines().nth(e.line - 1).unwrap_or("").trim();
    if text.contains('\n') {
        err_at(&n.loc, key, format!("line {} (`{line}`), column {}: {}", e.line, e.col + 1, e.message))
    } else {
        err_at(&loc_in(n, e.col), key, e.message)
    }
}


/// A quantity written for a constant the equations do not declare (`"-60 mV"`,
/// `"0.2 nS/um2"`, `5`): its dimension and its value in the core's unit.
fn quantity(n: &Node) -> Result<(D, f64), String> {
    let text = match &n.val {
        Val::Int(i) => return Ok((units::ONE, *i as f64)),
        Val::Float(f) if f.is_finite() => return Ok((units::ONE, *f)),
        Val::Str(s) => s.trim(),
        other => return Err(format!("expected a number or a string like \"-60 mV\", found {}", other.type_str())),
    };
    let end = text.find(|c: char| c.is_alphabetic() && c != 'e' && c != 'E').unwrap_or(text.len());
    // `1e-3 ms`: the number ends where the unit starts (an `e` followed by a digit or sign
    // belongs to the number).
    let mut cut = end;
    while cut > 0 && text[..cut].ends_with(|c: char| c.is_whitespace()) {
        cut -= 1;
    }
    let Ok(value) = text[..cut].trim().parse::<f64>() else {
        // Brian2's form: an expression of numbers and units (`-40*mV`, `0.02/ms`).
        return constant(text).map_err(|m| format!("`{text}` is neither a number followed by a unit nor an expression of numbers and units ({m})"));
    };
    if !value.is_finite() {
        return Err(format!("{value} is not a finite number"));
    }
    let unit = text[end..].trim();
    if unit.is_empty() {
        return Ok((units::ONE, value));
    }
    let e = expr::parse(unit).map_err(|e| format!("in the unit `{unit}`: {}", e.message))?;
    let (d, k) = match units::unit_of(&e) {
        Ok(x) => x,
        Err((_, m)) => return constant(text).map_err(|_| format!("in `{text}`: {m}")),
    };
    // In the core's unit (a power of ten away: exact when it is 1).
    let k2 = k - d.core_exp2();
    if k2 % 2 != 0 {
        return Err(format!("in `{text}`: `{unit}` is not a power of ten of the working units (mV, ms, pA, nS, pF)"));
    }
    let f = units::pow10(k2 / 2);
    Ok((d, if f == 1.0 { value } else { value * f }))
}

/// An expression of numbers and unit names (`-40*mV`, `0.02/ms`, `10*nS/mV`): its
/// dimension and value in the core's unit.
fn constant(text: &str) -> Result<(D, f64), String> {
    let e = expr::parse(text).map_err(|e| e.message)?;
    let (d, working) = compile::constant(&e).map_err(|e| e.message)?;
    Ok((d, if d.from_core() == 1.0 { working } else { working / d.from_core() }))
}

/// The `record` key: subexpressions to compute into state rows, by index among them.
fn recorded(t: &mut Table<'_>, lines: &[eqs::Line]) -> Result<Vec<usize>, ScenarioError> {
    let subs: Vec<&str> = lines.iter().filter(|l| matches!(l.kind, Kind::Sub(_))).map(|l| l.name.as_str()).collect();
    let mut out = Vec::new();
    for (name, loc) in names_list(t, "record")? {
        match subs.iter().position(|s| *s == name) {
            Some(k) if !out.contains(&k) => out.push(k),
            Some(_) => return Err(err_at(&loc, t.key_path("record"), format!("`{name}` is listed twice"))),
            None => return Err(err_at(&loc, t.key_path("record"), format!("`{name}` is not a subexpression of the equations (`{name} = expression : unit`); state variables are recorded without it"))),
        }
    }
    Ok(out)
}

/// The core's dimension of a parameter or state variable; one in a unit the core cannot
/// name (volt/second) is a number in the working units (mV/ms).
fn core_dim(d: D) -> Dim {
    d.core().unwrap_or(Dim::Dimensionless)
}

fn names_list(t: &mut Table<'_>, key: &str) -> Result<Vec<(String, Loc)>, ScenarioError> {
    let Some(n) = t.get(key) else { return Ok(Vec::new()) };
    let Val::Array(items) = &n.val else {
        return Err(err_at(&n.loc, t.key_path(key), format!("expected a list of names, found {}", n.val.type_str())));
    };
    items
        .iter()
        .map(|it| match &it.val {
            Val::Str(s) => Ok((s.clone(), it.loc.clone())),
            other => Err(err_at(&it.loc, t.key_path(key), format!("expected a name, found {}", other.type_str()))),
        })
        .collect()
}

fn define(name: &'static str, t: &mut Table<'_>, dt_ms: f64) -> Result<Def, ScenarioError> {
    let (text, en) = t.str("equations")?;
    let eq_key = t.key_path("equations");
    let lines = eqs::parse_equations(text).map_err(|e| text_error(en, &eq_key, text, e))?;
    let line_err = |line: usize, col: usize, m: String| text_error(en, &eq_key, text, TextError { line, col, message: m });
    for l in &lines {
        if RESERVED.contains(&l.name.as_str()) || noise::is_noise(&l.name) {
            return Err(line_err(l.line, 0, format!("`{}` is a name spikeworld reserves (refr, spiked, dt, t, i, N, xi, not_refractory, lastspike, tstep)", l.name)));
        }
        if units::unit(&l.name).is_some() || ["pi", "e"].contains(&l.name.as_str()) {
            return Err(line_err(l.line, 0, format!("`{}` is the name of a unit or a constant; choose another", l.name)));
        }
    }
    let mut vars = Vec::new();
    let mut subs = Vec::new();
    let mut params: Vec<(String, D, Option<f64>)> = Vec::new();
    let mut fixed: Vec<(String, D, f64)> = Vec::new();
    // Constants named only in `params`, where: each must be used (else it is a typo).
    let mut constants: Vec<(String, Loc, String)> = Vec::new();
    for l in &lines {
        let (d, _) = units::unit_of(&l.unit).map_err(|(c, m)| line_err(l.line, c, m))?;
        if !d.is_whole() {
            return Err(line_err(l.line, l.unit.start(), format!("`{}` is declared in {d}: a half power of a unit is for terms (`xi` is in second^-0.5), not for a declaration", l.name)));
        }
        match &l.kind {
            Kind::Diff(e) => {
                vars.push(Var { name: l.name.clone(), dim: d, eq: e.clone(), src: Src::Equation(l.line), unless_refractory: l.unless_refractory });
            }
            Kind::Sub(e) => subs.push((l.name.clone(), e.clone(), d, Src::Equation(l.line))),
            Kind::Param => {
                params.push((l.name.clone(), d, None));
            }
        }
    }
    // Values of parameters: declared ones (in their unit) and constants named only here.
    if let Some(pn) = t.get("params") {
        let mut pt = Table::new(pn, t.key_path("params"))?;
        for (key, node) in pt.peek_all().collect::<Vec<_>>() {
            let key_path = pt.key_path(key);
            if let Some(p) = params.iter_mut().find(|p| p.0 == key) {
                p.2 = Some(match p.1.core() {
                    Some(dim) => spikeworld::util::table::node_quantity(node, dim, &key_path)?,
                    None => {
                        let (d, v) = quantity(node).map_err(|m| err_at(&node.loc, &key_path, m))?;
                        if d != p.1 && d != units::ONE {
                            return Err(err_at(&node.loc, key_path, format!("`{key}` is declared in {} but this value is in {d}", p.1)));
                        }
                        v
                    }
                });
            } else if lines.iter().any(|l| l.name == key) || RESERVED.contains(&key) {
                return Err(err_at(&node.loc, key_path, format!("`{key}` is a state variable, a subexpression or a reserved name, not a parameter")));
            } else {
                if !(key.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && key.chars().all(|c| c.is_alphanumeric() || c == '_')) {
                    return Err(err_at(&node.loc, key_path, format!("`{key}` is not a name the equations can use")));
                }
                if units::unit(key).is_some() || ["pi", "e"].contains(&key) {
                    return Err(err_at(&node.loc, key_path, format!("`{key}` is the name of a unit or a constant; choose another")));
                }
                constants.push((key.to_string(), node.loc.clone(), key_path.clone()));
                let (d, v) = quantity(node).map_err(|m| err_at(&node.loc, &key_path, m))?;
                // A constant in a unit the core has no name for (nS/mV) is the model's own:
                // populations cannot set it.
                if d.core().is_none() {
                    fixed.push((key.to_string(), d, v));
                } else {
                    params.push((key.to_string(), d, Some(v)));
                }
            }
            pt.get(key);
        }
        pt.finish(&[])?;
    }
    let receptors = names_list(t, "receptors")?;
    let currents = names_list(t, "currents")?;
    let mut receptor_idx = Vec::new();
    for (r, loc) in &receptors {
        match vars.iter().position(|v| &v.name == r) {
            Some(k) if !receptor_idx.contains(&k) => receptor_idx.push(k),
            Some(_) => return Err(err_at(loc, t.key_path("receptors"), format!("`{r}` is listed twice"))),
            None => return Err(err_at(loc, t.key_path("receptors"), format!("`{r}` is not a state variable (`d{r}/dt = ...`): a spike jumps a state variable by its weight"))),
        }
    }
    let mut current_names: Vec<String> = Vec::new();
    for (c, loc) in &currents {
        let valid = c.chars().next().is_some_and(|ch| ch.is_alphabetic() || ch == '_') && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_');
        if !valid || lines.iter().any(|l| &l.name == c) || params.iter().any(|p| &p.0 == c) || RESERVED.contains(&c.as_str()) || current_names.contains(c) || units::unit(c).is_some() {
            return Err(err_at(loc, t.key_path("currents"), format!("`{c}` must be a new name (the equations read it as the injected current, in amp), not one already used")));
        }
        current_names.push(c.clone());
    }
    let threshold_node = t.opt_str("threshold")?.map(|(_, n)| n);
    let threshold = match t.opt_str("threshold")? {
        Some((s, n)) => Some(expr::parse(s).map_err(|e| err_at(&loc_in(n, e.col), t.key_path("threshold"), e.message))?),
        None => None,
    };
    let (reset, reset_node) = match t.opt_str("reset")? {
        Some((s, n)) => (eqs::parse_statements(s).map_err(|e| text_error(n, &t.key_path("reset"), s, e))?, Some((s, n))),
        None => (Vec::new(), None),
    };
    if let (Some((_, n)), None) = (reset_node, &threshold) {
        return Err(err_at(&n.loc, t.key_path("reset"), "a reset without a `threshold` never runs: give the threshold"));
    }
    let mut used = Vec::new();
    for l in &lines {
        if let Kind::Diff(e) | Kind::Sub(e) = &l.kind {
            e.names(&mut used);
        }
    }
    threshold.iter().for_each(|e| e.names(&mut used));
    reset.iter().for_each(|s| s.value.names(&mut used));
    // A time (`"5 ms"`), or Brian2's string form: an expression of time (`"tau_ref"`, a
    // parameter that may differ per neuron), evaluated at each spike.
    let (refractory, refractory_expr, refractory_node) = match t.get("refractory") {
        None => (None, None, None),
        Some(n) => match (spikeworld::util::table::node_quantity(n, Dim::Time, &t.key_path("refractory")), &n.val) {
            (Ok(r), _) if r < 0.0 => return Err(err_at(&n.loc, t.key_path("refractory"), "must be >= 0")),
            (Ok(r), _) => (Some(r), None, Some(n)),
            (Err(e), Val::Str(text)) => match expr::parse(text) {
                Ok(x) if matches!(x, expr::Expr::Name(..) | expr::Expr::Bin(..) | expr::Expr::Call(..) | expr::Expr::Neg(..) | expr::Expr::Not(..)) => (None, Some(x), Some(n)),
                _ => return Err(e),
            },
            (Err(e), _) => return Err(e),
        },
    };
    if let Some(e) = &refractory_expr {
        e.names(&mut used);
    }
    if let Some((name, loc, path)) = constants.iter().find(|c| !used.contains(&c.0)) {
        return Err(err_at(loc, path, format!("`{name}` is not used by the equations, the threshold, the reset or the refractory period (a misspelt name?)")));
    }
    let method_given = t.opt_str("method")?;
    let mut spec = Spec {
        vars,
        subs,
        // The populations' parameters first (in `ParamSpec` order), then fixed constants.
        params: params.iter().map(|p| (p.0.clone(), p.1)).chain(fixed.iter().map(|f| (f.0.clone(), f.1))).collect(),
        currents: current_names,
        noise: Vec::new(),
        receptors: receptor_idx,
        threshold,
        reset,
        refractory: refractory.is_some() || refractory_expr.is_some(),
        refractory_cond: refractory_expr.clone().filter(expr::Expr::is_condition),
        refractory_expr: refractory_expr.filter(|e| !e.is_condition()),
        recorded: recorded(t, &lines)?,
        method: Method::Euler,
        uses_time: used.iter().any(|n| n == "t" || n == "lastspike"),
        uses_lastspike: used.iter().any(|n| n == "lastspike"),
        uses_index: used.iter().any(|n| n == "i"),
        uses_size: used.iter().any(|n| n == "N"),
    };
    let located = |e: CompileError| -> ScenarioError {
        match e.src {
            Src::Equation(l) => line_err(l, e.col, e.message),
            Src::Threshold => err_at(&threshold_node.map_or_else(|| t.loc().clone(), |n| loc_in(n, e.col)), format!("{}.threshold", t.path()), e.message),
            Src::Refractory => err_at(&refractory_node.map_or_else(|| t.loc().clone(), |n| loc_in(n, e.col)), format!("{}.refractory", t.path()), e.message),
            Src::Reset(l) => match reset_node {
                Some((s, n)) => text_error(n, &format!("{}.reset", t.path()), s, TextError { line: l, col: e.col, message: e.message }),
                None => err_at(t.loc(), format!("{}.reset", t.path()), e.message),
            },
        }
    };
    spec.noise = noise::symbols(&spec.vars);
    let stochastic = noise::stochastic(&spec, method_given).map_err(|e| match e {
        noise::Refusal::At(e) => located(e),
        noise::Refusal::Method(n, m) => err_at(&n.loc, t.key_path("method"), m),
    })?;
    let linear = exact::linear(&spec);
    spec.method = match (stochastic, method_given) {
        (Some(m), _) => m,
        (None, None) => if linear.is_ok() { Method::Exact } else { Method::Euler },
        (None, Some(("heun", _))) => Method::Heun,
        // Without noise Brian2's `milstein` is Euler's step too.
        (None, Some(("milstein", _))) => Method::Milstein,
        (None, Some(("euler", _))) => Method::Euler,
        (None, Some(("rk2", _))) => Method::Rk2,
        (None, Some(("rk4", _))) => Method::Rk4,
        (None, Some(("exponential_euler", _))) => {
            expeuler::check(&spec).map_err(located)?;
            Method::ExpEuler
        }
        (None, Some(("exact" | "linear", _))) => match &linear {
            Ok(_) => Method::Exact,
            Err((src, col, m)) => return Err(located(CompileError { src: *src, col: *col, message: m.clone() })),
        },
        (None, Some((m, n))) => return Err(err_at(&n.loc, t.key_path("method"), format!("unknown method `{m}`; valid: {}", noise::METHODS))),
    };
    // With `exact`, parameters in the linear coefficients stay per population.
    let in_coeffs = if spec.method == Method::Exact { linear.unwrap_or_default() } else { Default::default() };
    let hidden = spec.state_rows();
    if hidden > MAX_VARS || spec.inputs() > MAX_VARS {
        return Err(err_at(t.loc(), t.path(), format!("{} state rows (variables, `refr`, `spiked`) and {} inputs (receptors, currents, noises): at most {MAX_VARS} of each", hidden, spec.inputs())));
    }
    let may_vary: Vec<bool> = params.iter().map(|p| !in_coeffs.contains(&p.0)).collect();
    // Compile once now with the defaults (1 where none), so that names, dimensions and
    // the reset are checked where they are written; again with every parameter that may
    // vary in a row.
    let fixed_values: Vec<PV> = fixed.iter().map(|f| PV::C(f.2)).collect();
    let probe: Vec<PV> = params.iter().map(|p| PV::C(p.2.unwrap_or(1.0) * p.1.from_core())).chain(fixed_values.iter().copied()).collect();
    compile::program(&spec, &probe, dt_ms, 0.0).map_err(located)?;
    compile::check_subexpressions(&spec, &probe, dt_ms).map_err(located)?;
    let rows: Vec<PV> = may_vary.iter().chain(std::iter::repeat(&false)).zip(&probe).map(|(v, p)| match p {
        PV::C(x) if *v => PV::Row(*x),
        p => *p,
    }).collect();
    compile::program(&spec, &rows, dt_ms, 0.0).map_err(located)?;
    let param_specs: Vec<ParamSpec> = params
        .iter()
        .map(|p| {
            let dim = core_dim(p.1);
            let doc = if p.2.is_some() { "a constant of the equations (its default: the model's `params`)" } else { "a parameter the equations declare (`X : unit`)" };
            match p.2 {
                Some(v) => ParamSpec::new(leak_str(&p.0), dim, v, doc),
                None => ParamSpec::required(leak_str(&p.0), dim, doc),
            }
        })
        .collect();
    let mut var_specs: Vec<VarSpec> = spec.vars.iter().map(|v| VarSpec { name: leak_str(&v.name), dim: core_dim(v.dim), doc: if v.dim.core().is_some() { "a state variable of the equations" } else { "a state variable of the equations, as a number in the working units (mV, ms, pA, nS, pF: volt/second in mV/ms)" } }).collect();
    if spec.refractory {
        let doc = if spec.refractory_cond.is_some() { "1 while refractory (from a spike until the refractory condition is false)" } else { "refractory steps left (0 = free)" };
        var_specs.push(VarSpec { name: "refr", dim: Dim::Dimensionless, doc });
    }
    if spec.needs_flag() {
        var_specs.push(VarSpec { name: "spiked", dim: Dim::Dimensionless, doc: "1 in the step after a spike (input to a variable the reset sets is dropped, as in Brian2)" });
    }
    if spec.needs_not_refractory() {
        var_specs.push(VarSpec { name: "not_refractory", dim: Dim::Dimensionless, doc: "Brian2's not_refractory after the last step's threshold (input to an `(unless refractory)` variable is dropped while 0)" });
    }
    if spec.uses_time {
        var_specs.push(VarSpec { name: "tstep", dim: Dim::Dimensionless, doc: "steps taken (`t` = tstep*dt at the start of a step)" });
    }
    if spec.uses_lastspike {
        var_specs.push(VarSpec { name: "lastspike", dim: Dim::Time, doc: "Brian2's lastspike: `t` at the neuron's last spike (-10000 s before any)" });
    }
    if spec.uses_index {
        var_specs.push(VarSpec { name: "i", dim: Dim::Dimensionless, doc: "Brian2's `i`: the neuron's index in its population (constant, set by spikeworld)" });
    }
    if spec.uses_size {
        var_specs.push(VarSpec { name: "N", dim: Dim::Dimensionless, doc: "Brian2's `N`: the population's size (constant, set by spikeworld)" });
    }
    var_specs.extend(spec.recorded.iter().map(|&s| VarSpec { name: leak_str(&spec.subs[s].0), dim: core_dim(spec.subs[s].2), doc: "a recorded subexpression (`record`): its value at the end of the last step" }));
    let mut receptor_specs: Vec<ReceptorSpec> = spec.receptors.iter().map(|&k| ReceptorSpec { name: var_specs[k].name, kind: ReceptorKind::Spike, dim: var_specs[k].dim, doc: "jump of the variable at the start of the step (Brian2 `on_pre='x += w'`)" }).collect();
    receptor_specs.extend(spec.currents.iter().map(|c| ReceptorSpec { name: leak_str(c), kind: ReceptorKind::Current, dim: Dim::Current, doc: "injected current, held for the step" }));
    receptor_specs.extend(spec.noise.iter().map(|x| ReceptorSpec { name: leak_str(x), kind: ReceptorKind::Noise, dim: Dim::Dimensionless, doc: "white noise: a standard normal draw per neuron and step (dW = sqrt(dt)*draw)" }));
    let doc = leak_str(&format!(
        "defined in the scenario (`equations`, method {}): {}",
        match spec.method {
            Method::Euler => "euler",
            Method::Rk2 => "rk2",
            Method::Rk4 => "rk4",
            Method::Exact => "exact",
            Method::ExpEuler => "exponential_euler",
            Method::Heun => "heun",
            Method::Milstein => "milstein",
        },
        lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("; ")
    ));
    Ok(Def {
        name,
        doc,
        param_dims: params.iter().map(|p| p.1).collect(),
        fixed: fixed_values,
        spec,
        params: leak(param_specs),
        receptors: leak(receptor_specs),
        vars: leak(var_specs),
        may_vary,
        refractory_ms: refractory.unwrap_or(0.0),
    })
}
