//! Brian2's expressions for one value per neuron or per synapse (`group.v = '-60*mV +
//! 10*mV*rand()'`, `syn.w = 'rand()*w_max'`): an `init` value or a per-neuron parameter of
//! any population (not only an equations one), or a projection's weight, written as an
//! expression of numbers, units, the names of its place (`i`, `N` for a neuron; `i`, `j`,
//! `N_pre`, `N_post` for a synapse, and the ends' positions `x_pre`, ..., `z_post` in
//! metres where their populations have them: `spikeworld::api::language::NEURON_NAMES`,
//! `synapse_names`), `rand()` (uniform on [0, 1)), `randn()` (standard normal), `pi`, `e`
//! and Brian2's functions. Each `rand()` and `randn()` is a draw of its own, taken in the
//! order written from the stream the core gives (`ValueExpression::value`).

use std::sync::Arc;

use spikeworld::api::language::{NEURON_POSITION_NAMES, POST_POSITION_NAMES, PRE_POSITION_NAMES, PlaceName, ValueExpression};
use spikeworld::api::program::{Column, Program};
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

/// A compiled expression: a program over the place's names and the draws (`rand()` and
/// `randn()` bound in the order written), run by the core's host interpreter
/// ([`Program::eval`]), or the value itself when it reads neither.
struct Compiled {
    /// Inputs: the place's names, then the draws; its one output, the value in working
    /// units.
    program: Program,
    /// The names of the place.
    places: usize,
    /// Per draw, in order: a normal one (`randn()`), else uniform.
    normal: Vec<bool>,
    /// Working units per core unit of the value's dimension.
    from_core: f64,
    /// The value, when it reads neither its place nor random numbers.
    constant: Option<f64>,
    /// Which of the place's names it reads.
    reads: Vec<bool>,
}

thread_local! {
    /// The interpreter's floats, masks and inputs (one value, or a batch's columns).
    static SCRATCH: std::cell::RefCell<(Vec<f64>, Vec<bool>, Vec<f64>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Values a batch computes at once ([`Compiled::values`]): its columns stay in cache.
const BATCH: usize = 256;

/// `e` evaluated into a program under construction whose first floats are `bound`, with
/// the names of `spec`: its value and dimension.
fn evaluate(b: &mut B, spec: &Spec, e: &Expr, bound: Vec<V>) -> Result<(V, D), crate::compile::CompileError> {
    let env = Env { params: bound, currents: Vec::new(), not_refractory: None, dt: f64::NAN, t: None, lastspike: None, place: (None, None), noise: None };
    env.ctx(spec, Vec::new()).expr(b, e, Src::Threshold)
}

impl ValueExpression for Compiled {
    fn reads(&self, k: usize) -> bool {
        self.reads.get(k).copied().unwrap_or(false)
    }

    fn value(&self, place: &[f64], rng: &mut Stream) -> f64 {
        if let Some(x) = self.constant {
            return x;
        }
        SCRATCH.with_borrow_mut(|(f, m, inputs)| {
            inputs.clear();
            inputs.extend(place.iter().take(self.places));
            inputs.extend(self.normal.iter().map(|&z| if z { rng.normal() } else { rng.uniform() }));
            self.program.eval(&[], inputs, f, m);
            f[self.program.outputs[0] as usize] / self.from_core
        })
    }

    fn values(&self, place: &[Column<'_>], rng: &mut Stream, out: &mut [f64]) {
        if let Some(x) = self.constant {
            out.fill(x);
            return;
        }
        let o = self.program.outputs[0] as usize;
        let draws = self.normal.len();
        SCRATCH.with_borrow_mut(|(f, m, drawn)| {
            for (b, out) in out.chunks_mut(BATCH).enumerate() {
                let (start, n) = (b * BATCH, out.len());
                // Each value's draws in turn, as one call after another takes them.
                drawn.clear();
                drawn.resize(draws * n, 0.0);
                for e in 0..n {
                    for (d, &z) in self.normal.iter().enumerate() {
                        drawn[d * n + e] = if z { rng.normal() } else { rng.uniform() };
                    }
                }
                let columns: Vec<Column<'_>> = place
                    .iter()
                    .take(self.places)
                    .map(|c| match *c {
                        Column::All(x) => Column::All(x),
                        Column::Each(v) => Column::Each(&v[start..start + n]),
                    })
                    .chain(drawn.chunks_exact(n).map(Column::Each))
                    .collect();
                self.program.eval_columns(&columns, n, f, m);
                for (d, x) in out.iter_mut().zip(&f[o * n..(o + 1) * n]) {
                    *d = x / self.from_core;
                }
            }
        })
    }
}

/// `e` with each `rand()`/`randn()` call replaced by the name of its draw (in the order
/// written), or the column of a misused one or of a name the expression may not read.
fn bind(e: &Expr, names: &[PlaceName], normal: &mut Vec<bool>) -> Result<Expr, (usize, String)> {
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
            if !names.iter().any(|(m, _)| m == n) && !matches!(n.as_str(), "pi" | "e") && units::unit(n).is_none() {
                let end = |all: &[PlaceName]| all.iter().any(|(m, _)| m == n);
                if n == "distance" && names.iter().any(|(m, _)| *m == "j") {
                    return Err((*c, "`distance` is the distance between the synapse's ends, but the source or the target population has no `positions` (an encoder has none)".to_string()));
                }
                if end(PRE_POSITION_NAMES) || end(POST_POSITION_NAMES) {
                    let (which, pop) = if end(PRE_POSITION_NAMES) { ("source", "source population") } else { ("target", "target population") };
                    return Err((*c, format!("`{n}` is the {which}'s position, but the {pop} has no `positions` (give it `positions = {{ x = ..., y = ... }}`; an encoder has none)")));
                }
                let synapse = names.iter().any(|(m, _)| *m == "j");
                if !synapse && end(NEURON_POSITION_NAMES) {
                    return Err((*c, format!("`{n}` is the neuron's position, but its population has no `positions` (give it `positions = {{ x = ..., y = ... }}`)")));
                }
                let what = if synapse { "a value per synapse reads numbers, units, `i` (the source's index), `j` (the target's), `N_pre`, `N_post`" } else { "a value per neuron reads numbers, units, `i` (the neuron's index), `N` (the population's size)" };
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

/// `text` as a value in `want` (the core's dimension) reading the place `names` (each in
/// the core's unit of its dimension), or why not (a column of `text` and the message).
pub fn compile(text: &str, want: Dim, names: &[PlaceName]) -> Result<Arc<dyn ValueExpression>, (usize, String)> {
    let parsed = expr::parse(text).map_err(|e| (e.col, e.message))?;
    let mut normal = Vec::new();
    let e = bind(&parsed, names, &mut normal)?;
    let mut spec = Spec::bare();
    spec.params = names.iter().map(|(n, d)| (n.to_string(), D::of_core(*d))).chain((0..normal.len()).map(|k| (draw_name(k), units::ONE))).collect();
    let mut read = Vec::new();
    e.names(&mut read);
    let reads: Vec<bool> = names.iter().map(|(m, _)| read.iter().any(|n| n == m)).collect();
    let reads_place = reads.iter().any(|r| *r);
    // Its dimension, with a place of 0 and 1s and draws that give no infinities (1, 0.5).
    let probe: Vec<V> = (0..names.len()).map(|k| V::C(if k == 0 { 0.0 } else { 1.0 })).chain(normal.iter().map(|&z| V::C(if z { 1.0 } else { 0.5 }))).collect();
    let (v, d) = evaluate(&mut B::new(0, 0), &spec, &e, probe).map_err(|e| (e.col, e.message))?;
    // (A condition is a number where it is an operand, `0.1*(i != j)`; alone, it is not.)
    if matches!(v, V::M(_)) {
        return Err((0, "a condition, not a number (`1.0*(i != j)` is one)".to_string()));
    }
    let ok = match d.core() {
        Some(core) => core == want,
        // A unit the core cannot name (volt/second) is a number in working units.
        None => want == Dim::Dimensionless,
    };
    if !ok {
        return Err((0, format!("`{text}` is in {d}; expected {}", if want == Dim::Dimensionless { "a number".to_string() } else { format!("a {want} (in {})", want.unit()) })));
    }
    let from_core = d.from_core();
    let constant = match (normal.is_empty(), reads_place, v) {
        (true, false, V::C(x)) => Some(x / from_core),
        _ => None,
    };
    // The program: the place's names and the draws as its inputs, folded as far as
    // constants go (the same operations, in the same order, as folding them all).
    let inputs = (names.len() + normal.len()) as u32;
    let mut b = B::new(inputs, 0);
    // (A name in a core unit that is not the working one, a position in µm, is converted.)
    let bound = (0..inputs)
        .map(|k| match names.get(k as usize).map(|(_, d)| D::of_core(*d).from_core()) {
            Some(f) if f != 1.0 => b.bin(crate::expr::Bin::Mul, V::F(k), V::C(f)),
            _ => V::F(k),
        })
        .collect();
    let (v, _) = evaluate(&mut b, &spec, &e, bound).map_err(|e| (e.col, e.message))?;
    let out = b.f(v);
    let program = Program { vars: 0, inputs, ops: b.ops, consts: b.consts, outputs: vec![out], spike: 0 };
    Ok(Arc::new(Compiled { program, places: names.len(), normal, from_core, constant, reads }))
}
