//! Brian2's expressions for one value per neuron (`group.v = '-60*mV + 10*mV*rand()'`):
//! an `init` value or a per-neuron parameter of any population (not only an equations
//! one) written as an expression of numbers, units, `i` (the neuron's index), `N` (the
//! population's size), `rand()` (uniform on [0, 1)), `randn()` (standard normal), `pi`,
//! `e` and Brian2's functions. Each `rand()` and `randn()` is a draw of its own, taken in
//! the order written from the neuron's stream (`NeuronExpression::value`).

use std::sync::Arc;

use spikeworld::api::language::NeuronExpression;
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
    /// Per draw, in order: a normal one (`randn()`), else uniform.
    normal: Vec<bool>,
    spec: Spec,
    /// Working units per core unit of the value's dimension.
    from_core: f64,
    /// The value, when it reads neither `i`, `N` nor random numbers.
    constant: Option<f64>,
}

impl Compiled {
    fn eval(&self, i: usize, n: usize, draws: &[f64]) -> Result<(V, D), crate::compile::CompileError> {
        let mut b = B::new(0, 0);
        let env = Env { params: draws.iter().map(|&x| V::C(x)).collect(), currents: Vec::new(), not_refractory: None, dt: f64::NAN, t: None, lastspike: None, place: (Some(V::C(i as f64)), Some(V::C(n as f64))), noise: None };
        env.ctx(&self.spec, Vec::new()).expr(&mut b, &self.e, Src::Threshold)
    }
}

impl NeuronExpression for Compiled {
    fn value(&self, i: usize, n: usize, rng: &mut Stream) -> f64 {
        if let Some(x) = self.constant {
            return x;
        }
        let draws: Vec<f64> = self.normal.iter().map(|&z| if z { rng.normal() } else { rng.uniform() }).collect();
        match self.eval(i, n, &draws) {
            Ok((V::C(x), _)) => x / self.from_core,
            // (Checked when compiled: every value is a number of the same dimension.)
            _ => f64::NAN,
        }
    }
}

/// `e` with each `rand()`/`randn()` call replaced by the name of its draw (in the order
/// written), or the column of a misused one or of a name the expression may not read.
fn bind(e: &Expr, normal: &mut Vec<bool>) -> Result<Expr, (usize, String)> {
    Ok(match e {
        Expr::Call(f, args, c) if f == "rand" || f == "randn" => {
            if !args.is_empty() {
                return Err((*c, format!("`{f}()` takes no arguments")));
            }
            normal.push(f == "randn");
            Expr::Name(draw_name(normal.len() - 1), *c)
        }
        Expr::Call(f, args, c) => Expr::Call(f.clone(), args.iter().map(|a| bind(a, normal)).collect::<Result<_, _>>()?, *c),
        Expr::Name(n, c) => {
            if !matches!(n.as_str(), "i" | "N" | "pi" | "e") && units::unit(n).is_none() {
                return Err((*c, format!("unknown name `{n}`: a value per neuron reads numbers, units, `i` (the neuron's index), `N` (the population's size), `pi`, `e`, `rand()`, `randn()` and Brian2's functions")));
            }
            e.clone()
        }
        Expr::Num(..) => e.clone(),
        Expr::Neg(a, c) => Expr::Neg(Box::new(bind(a, normal)?), *c),
        Expr::Not(a, c) => Expr::Not(Box::new(bind(a, normal)?), *c),
        Expr::Bin(op, a, b, c) => {
            let a = bind(a, normal)?;
            Expr::Bin(*op, Box::new(a), Box::new(bind(b, normal)?), *c)
        }
    })
}

/// `text` as a value per neuron in `want` (the core's dimension), or why not (a column of
/// `text` and the message).
pub fn compile(text: &str, want: Dim) -> Result<Arc<dyn NeuronExpression>, (usize, String)> {
    let parsed = expr::parse(text).map_err(|e| (e.col, e.message))?;
    let mut normal = Vec::new();
    let e = bind(&parsed, &mut normal)?;
    let mut spec = Spec::bare();
    spec.params = (0..normal.len()).map(|k| (draw_name(k), units::ONE)).collect();
    let mut names = Vec::new();
    e.names(&mut names);
    let reads_place = names.iter().any(|n| n == "i" || n == "N");
    let mut c = Compiled { e, normal, spec, from_core: 1.0, constant: None };
    // Its dimension, with draws that give no infinities (1 and 0.5).
    let probe: Vec<f64> = c.normal.iter().map(|&z| if z { 1.0 } else { 0.5 }).collect();
    let (v, d) = c.eval(0, 1, &probe).map_err(|e| (e.col, e.message))?;
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
