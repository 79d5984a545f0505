//! Brian2's expressions for one value per neuron or per synapse (`group.v = '-60*mV +
//! 10*mV*rand()'`, `syn.w = 'rand()*w_max'`): an `init` value or a per-neuron parameter of
//! any population (not only an equations one), or a projection's weight, written as an
//! expression of numbers, units, the names of its place (`i`, `N` for a neuron; `i`, `j`,
//! `N_pre`, `N_post` for a synapse: `spikeworld::api::language::NEURON_NAMES`,
//! `SYNAPSE_NAMES`), `rand()` (uniform on [0, 1)), `randn()` (standard normal), `pi`, `e`
//! and Brian2's functions. Each `rand()` and `randn()` is a draw of its own, taken in the
//! order written from the stream the core gives (`ValueExpression::value`).

use std::sync::Arc;

use spikeworld::api::language::ValueExpression;
use spikeworld::util::rng::Stream;
use spikeworld::util::units::Dim;

use crate::compile::{Spec, Src};
use crate::expr::{self, Expr};
use crate::terms::{B, Env, V};
use crate::units::{self, D};

/// The random numbers' stand-in names (no name written in an expression has a `#`).
fn draw_name(k: usize) -> String {
    format!("rand#{k}")
}

/// A compiled expression: `rand()`/`randn()` replaced by names bound to the draws.
struct Compiled {
    e: Expr,
    /// The names of the place, bound first (then the draws).
    places: usize,
    /// Per draw, in order: a normal one (`randn()`), else uniform.
    normal: Vec<bool>,
    spec: Spec,
    /// Working units per core unit of the value's dimension.
    from_core: f64,
    /// The value, when it reads neither its place nor random numbers.
    constant: Option<f64>,
}

impl Compiled {
    /// Its value with the place and the draws bound (`bound`: both, in that order).
    fn eval(&self, bound: Vec<V>) -> Result<(V, D), crate::compile::CompileError> {
        let mut b = B::new(0, 0);
        let env = Env { params: bound, currents: Vec::new(), not_refractory: None, dt: f64::NAN, t: None, lastspike: None, place: (None, None), noise: None };
        env.ctx(&self.spec, Vec::new()).expr(&mut b, &self.e, Src::Threshold)
    }
}

impl ValueExpression for Compiled {
    fn value(&self, place: &[f64], rng: &mut Stream) -> f64 {
        if let Some(x) = self.constant {
            return x;
        }
        let mut bound: Vec<V> = place.iter().take(self.places).map(|&x| V::C(x)).collect();
        bound.extend(self.normal.iter().map(|&z| V::C(if z { rng.normal() } else { rng.uniform() })));
        match self.eval(bound) {
            Ok((V::C(x), _)) => x / self.from_core,
            // (Checked when compiled: every value is a number of the same dimension.)
            _ => f64::NAN,
        }
    }
}

/// `e` with each `rand()`/`randn()` call replaced by the name of its draw (in the order
/// written), or the column of a misused one or of a name the expression may not read.
fn bind(e: &Expr, names: &[&str], normal: &mut Vec<bool>) -> Result<Expr, (usize, String)> {
    Ok(match e {
        Expr::Call(f, args, c) if f == "rand" || f == "randn" => {
            if !args.is_empty() {
                return Err((*c, format!("`{f}()` takes no arguments")));
            }
            normal.push(f == "randn");
            Expr::Name(draw_name(normal.len() - 1), *c)
        }
        Expr::Call(f, args, c) => Expr::Call(f.clone(), args.iter().map(|a| bind(a, names, normal)).collect::<Result<_, _>>()?, *c),
        Expr::Name(n, c) => {
            if !names.contains(&n.as_str()) && !matches!(n.as_str(), "pi" | "e") && units::unit(n).is_none() {
                let what = if names.contains(&"j") { "a value per synapse reads numbers, units, `i` (the source's index), `j` (the target's), `N_pre`, `N_post`" } else { "a value per neuron reads numbers, units, `i` (the neuron's index), `N` (the population's size)" };
                return Err((*c, format!("unknown name `{n}`: {what}, `pi`, `e`, `rand()`, `randn()` and Brian2's functions")));
            }
            e.clone()
        }
        Expr::Num(..) => e.clone(),
        Expr::Neg(a, c) => Expr::Neg(Box::new(bind(a, names, normal)?), *c),
        Expr::Not(a, c) => Expr::Not(Box::new(bind(a, names, normal)?), *c),
        Expr::Bin(op, a, b, c) => {
            let a = bind(a, names, normal)?;
            Expr::Bin(*op, Box::new(a), Box::new(bind(b, names, normal)?), *c)
        }
    })
}

/// `text` as a value in `want` (the core's dimension) reading the place `names`
/// (dimensionless), or why not (a column of `text` and the message).
pub fn compile(text: &str, want: Dim, names: &[&str]) -> Result<Arc<dyn ValueExpression>, (usize, String)> {
    let parsed = expr::parse(text).map_err(|e| (e.col, e.message))?;
    let mut normal = Vec::new();
    let e = bind(&parsed, names, &mut normal)?;
    let mut spec = Spec::bare();
    spec.params = names.iter().map(|n| (n.to_string(), units::ONE)).chain((0..normal.len()).map(|k| (draw_name(k), units::ONE))).collect();
    let mut read = Vec::new();
    e.names(&mut read);
    let reads_place = read.iter().any(|n| names.contains(&n.as_str()));
    let mut c = Compiled { e, places: names.len(), normal, spec, from_core: 1.0, constant: None };
    // Its dimension, with a place of 0 and 1s and draws that give no infinities (1, 0.5).
    let probe: Vec<V> = (0..names.len()).map(|k| V::C(if k == 0 { 0.0 } else { 1.0 })).chain(c.normal.iter().map(|&z| V::C(if z { 1.0 } else { 0.5 }))).collect();
    let (v, d) = c.eval(probe).map_err(|e| (e.col, e.message))?;
    if !matches!(v, V::C(_)) {
        return Err((0, "not a number (a condition?)".to_string()));
    }
    let ok = match d.core() {
        Some(core) => core == want,
        // A unit the core cannot name (volt/second) is a number in working units.
        None => want == Dim::Dimensionless,
    };
    if !ok {
        return Err((0, format!("`{text}` is in {d}; expected {}", if want == Dim::Dimensionless { "a number".to_string() } else { format!("a {want} (in {})", want.unit()) })));
    }
    c.from_core = d.from_core();
    if let (true, false, V::C(x)) = (c.normal.is_empty(), reads_place, v) {
        c.constant = Some(x / c.from_core);
    }
    Ok(Arc::new(c))
}
