//! The terms of a model: expressions evaluated into a program under construction, with
//! their dimensions checked and constants folded, over the names of a [`Spec`].

use std::collections::HashMap;

use spikeworld::api::program::{Fun, Op};

use crate::compile::{CompileError, MAX_CHAIN, Spec, Src, err};
use crate::expr::{Bin, Expr};
use crate::units::{self, D};

#[derive(Clone, Copy, Debug)]
pub(crate) enum V {
    F(u32),
    C(f64),
    M(u32),
}

/// A program under construction: floats `0..nf` and masks `0..nm` defined so far.
pub(crate) struct B {
    pub(crate) ops: Vec<Op>,
    pub(crate) consts: Vec<u64>,
    pub(crate) konst: HashMap<u64, u32>,
    pub(crate) nf: u32,
    pub(crate) nm: u32,
    /// Each operation already emitted, with the value it defines: operations are pure, so
    /// one met again (`m*m*m` in both `A` and `B` of an exponential Euler split, a rate in
    /// two equations) is the same value, not computed twice.
    seen: HashMap<Op, u32>,
}

impl B {
    /// A program whose first `nf` floats (state rows and inputs) and `nm` masks exist.
    pub(crate) fn new(nf: u32, nm: u32) -> B {
        B { ops: Vec::new(), consts: Vec::new(), konst: HashMap::new(), nf, nm, seen: HashMap::new() }
    }

    pub(crate) fn op(&mut self, op: Op) -> u32 {
        if let Some(&id) = self.seen.get(&op) {
            return id;
        }
        self.ops.push(op);
        let c = if op.is_mask() { &mut self.nm } else { &mut self.nf };
        *c += 1;
        self.seen.insert(op, *c - 1);
        *c - 1
    }
    pub(crate) fn f(&mut self, v: V) -> u32 {
        match v {
            V::F(i) => i,
            V::C(x) => {
                if let Some(&i) = self.konst.get(&x.to_bits()) {
                    return i;
                }
                let k = match self.consts.iter().position(|&c| c == x.to_bits()) {
                    Some(k) => k,
                    None => {
                        self.consts.push(x.to_bits());
                        self.consts.len() - 1
                    }
                };
                let i = self.op(Op::Const(k as u32));
                self.konst.insert(x.to_bits(), i);
                i
            }
            V::M(m) => {
                let (one, zero) = (self.f(V::C(1.0)), self.f(V::C(0.0)));
                self.op(Op::Select(m, one, zero))
            }
        }
    }
    pub(crate) fn bin(&mut self, op: Bin, a: V, b: V) -> V {
        let (a, b) = (num(self, a), num(self, b));
        if let (V::C(x), V::C(y)) = (a, b) {
            return V::C(match op {
                Bin::Add => x + y,
                Bin::Sub => x - y,
                Bin::Mul => x * y,
                _ => x / y,
            });
        }
        // Exact identities of IEEE arithmetic (every value, NaN, infinities and -0
        // included): x*1 = 1*x = x/1 = x - 0 = x + (-0) = x.
        match (op, a, b) {
            (Bin::Mul, x, V::C(c)) | (Bin::Mul, V::C(c), x) if c == 1.0 => return x,
            (Bin::Div, x, V::C(c)) if c == 1.0 => return x,
            (Bin::Sub, x, V::C(c)) if c == 0.0 && c.is_sign_positive() => return x,
            (Bin::Add, x, V::C(c)) | (Bin::Add, V::C(c), x) if c == 0.0 && c.is_sign_negative() => return x,
            _ => {}
        }
        let (a, b) = (self.f(a), self.f(b));
        V::F(self.op(match op {
            Bin::Add => Op::Add(a, b),
            Bin::Sub => Op::Sub(a, b),
            Bin::Mul => Op::Mul(a, b),
            _ => Op::Div(a, b),
        }))
    }
    pub(crate) fn un(&mut self, a: V, op: fn(u32) -> Op, fold: fn(f64) -> f64) -> V {
        match num(self, a) {
            V::C(x) => V::C(fold(x)),
            _ => {
                let a = self.f(a);
                V::F(self.op(op(a)))
            }
        }
    }
    pub(crate) fn math(&mut self, a: V, g: Fun) -> V {
        match num(self, a) {
            V::C(x) => V::C(g.eval(x)),
            a => {
                let a = self.f(a);
                V::F(self.op(Op::Math(g, a)))
            }
        }
    }
    pub(crate) fn mask(&mut self, v: V) -> u32 {
        match v {
            V::M(m) => m,
            // A number as a condition: nonzero.
            _ => {
                let (a, z) = (self.f(v), self.f(V::C(0.0)));
                let eq = self.op(Op::Ge(a, z));
                let le = self.op(Op::Le(a, z));
                let both = self.op(Op::And(eq, le));
                self.op(Op::Not(both))
            }
        }
    }
    pub(crate) fn select(&mut self, m: u32, a: V, b: V) -> V {
        let (a, b) = (self.f(a), self.f(b));
        V::F(self.op(Op::Select(m, a, b)))
    }
}

/// Names an expression is evaluated with.
pub(crate) struct Ctx<'a> {
    spec: &'a Spec,
    /// Each variable's value here (working units).
    vars: Vec<V>,
    params: Vec<V>,
    currents: Vec<V>,
    not_refractory: Option<u32>,
    dt: f64,
    t: Option<V>,
    lastspike: Option<V>,
    place: (Option<V>, Option<V>),
    noise: Option<Vec<V>>,
    memo: HashMap<String, (V, D)>,
    visiting: Vec<String>,
}


impl Ctx<'_> {
    pub(crate) fn name(&mut self, b: &mut B, n: &str, src: Src, col: usize) -> Result<(V, D), CompileError> {
        let s = self.spec;
        if let Some(k) = s.vars.iter().position(|v| v.name == n) {
            return Ok((self.vars[k], s.vars[k].dim));
        }
        if let Some(k) = s.params.iter().position(|p| p.0 == n) {
            return Ok((self.params[k], s.params[k].1));
        }
        if let Some(k) = s.currents.iter().position(|c| c == n) {
            return Ok((self.currents[k], units::AMP));
        }
        if let Some(k) = s.noise.iter().position(|x| x == n) {
            // White noise: in differential equations only, not through a subexpression.
            return match &self.noise {
                Some(v) if self.visiting.is_empty() => Ok((v[k], units::PER_SQRT_SECOND)),
                _ => Err(crate::noise::misplaced_error(src, n, col)),
            };
        }
        if crate::noise::is_noise(n) {
            return Err(crate::noise::misplaced_error(src, n, col));
        }
        if let Some(&v) = self.memo.get(n) {
            return Ok(v);
        }
        if let Some((name, e, d, at)) = s.subs.iter().find(|x| x.0 == n) {
            if self.visiting.iter().any(|v| v == name) {
                return Err(err(*at, 0, format!("`{name}` is defined in terms of itself ({} → {name})", self.visiting.join(" → "))));
            }
            if self.visiting.len() >= MAX_CHAIN {
                return Err(err(*at, 0, format!("subexpressions nested more than {MAX_CHAIN} deep ({} → ...)", self.visiting[..3].join(" → "))));
            }
            self.visiting.push(name.clone());
            let (v, got) = self.expr(b, e, *at)?;
            self.visiting.pop();
            if got != *d {
                return Err(err(*at, e.start(), format!("`{name}` is declared in {d} but its expression is in {got}")));
            }
            self.memo.insert(n.to_string(), (v, *d));
            return Ok((v, *d));
        }
        let time = match n {
            "t" => self.t,
            "lastspike" => self.lastspike,
            _ => None,
        };
        if let Some(v) = time {
            return Ok((v, units::SECOND));
        }
        let place = match n {
            "i" => self.place.0,
            "N" => self.place.1,
            _ => None,
        };
        if let Some(v) = place {
            return Ok((v, units::ONE));
        }
        match n {
            "dt" => return Ok((V::C(self.dt), units::SECOND)),
            "pi" => return Ok((V::C(std::f64::consts::PI), units::ONE)),
            "e" => return Ok((V::C(std::f64::consts::E), units::ONE)),
            "not_refractory" => return Ok(self.not_refractory.map_or((V::C(1.0), units::ONE), |m| (V::M(m), units::ONE))),
            // (Read by the equations, these have rows; a constant may not read them.)
            "t" | "i" | "N" | "lastspike" => return Err(err(src, col, format!("`{n}` ({}) is not a constant: a value in `params` may not read it", match n {
                "t" => "Brian2's time",
                "i" => "Brian2's neuron index",
                "N" => "Brian2's population size",
                _ => "Brian2's time of the last spike",
            }))),
            "refr" | "spiked" | "tstep" => return Err(err(src, col, format!("`{n}` (a state row of the step itself) is not available in spikeworld's equations"))),
            _ => {}
        }
        if let Some((d, e)) = units::unit(n) {
            return Ok((V::C(units::pow10(e - d.scale_exp())), d));
        }
        Err(err(src, col, format!("unknown name `{n}`: not a state variable, parameter, subexpression or unit; declare it as a parameter in the equations (`{n} : <unit>`) or give it a value in `params`")))
    }

    pub(crate) fn expr(&mut self, b: &mut B, e: &Expr, src: Src) -> Result<(V, D), CompileError> {
        match e {
            Expr::Num(x, _) => Ok((V::C(*x), units::ONE)),
            Expr::Name(n, c) => self.name(b, n, src, *c),
            Expr::Neg(a, _) => {
                let (v, d) = self.expr(b, a, src)?;
                Ok((b.un(v, Op::Neg, |x| -x), d))
            }
            Expr::Not(a, _) => {
                let (v, _) = self.expr(b, a, src)?;
                let m = b.mask(v);
                Ok((V::M(b.op(Op::Not(m))), units::ONE))
            }
            Expr::Bin(op, l, r, col) => {
                let (x, dx) = self.expr(b, l, src)?;
                let (y, dy) = self.expr(b, r, src)?;
                match op {
                    Bin::Add | Bin::Sub => {
                        if dx != dy {
                            return Err(err(src, *col, format!("`{}` of {dx} and {dy}: the dimensions differ", if *op == Bin::Add { "+" } else { "-" })));
                        }
                        Ok((b.bin(*op, x, y), dx))
                    }
                    Bin::Mul => Ok((b.bin(Bin::Mul, x, y), dx.mul(dy))),
                    Bin::Div => Ok((b.bin(Bin::Div, x, y), dx.div(dy))),
                    Bin::FloorDiv | Bin::Mod => {
                        let sym = if *op == Bin::Mod { "%" } else { "//" };
                        if dx != dy {
                            return Err(err(src, *col, format!("`{sym}` of {dx} and {dy}: the dimensions differ")));
                        }
                        // (Of a ratio: the same number in any unit.)
                        let q = b.bin(Bin::Div, x, y);
                        let f = b.math(q, Fun::Floor);
                        if *op == Bin::FloorDiv {
                            return Ok((f, units::ONE));
                        }
                        let m = b.bin(Bin::Mul, y, f);
                        Ok((b.bin(Bin::Sub, x, m), dx))
                    }
                    Bin::Pow => self.pow(b, x, dx, y, dy, src, *col),
                    Bin::And | Bin::Or => {
                        let (mx, my) = (b.mask(x), b.mask(y));
                        Ok((V::M(b.op(if *op == Bin::And { Op::And(mx, my) } else { Op::Or(mx, my) })), units::ONE))
                    }
                    _ => {
                        if dx != dy {
                            return Err(err(src, *col, format!("comparison of {dx} with {dy}: the dimensions differ")));
                        }
                        let (fx, fy) = (b.f(x), b.f(y));
                        let m = match op {
                            Bin::Lt => b.op(Op::Lt(fx, fy)),
                            Bin::Le => b.op(Op::Le(fx, fy)),
                            Bin::Gt => b.op(Op::Gt(fx, fy)),
                            Bin::Ge => b.op(Op::Ge(fx, fy)),
                            _ => {
                                let ge = b.op(Op::Ge(fx, fy));
                                let le = b.op(Op::Le(fx, fy));
                                let eq = b.op(Op::And(ge, le));
                                if *op == Bin::Eq { eq } else { b.op(Op::Not(eq)) }
                            }
                        };
                        Ok((V::M(m), units::ONE))
                    }
                }
            }
            Expr::Call(f, args, col) => self.call(b, f, args, src, *col),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pow(&mut self, b: &mut B, x: V, dx: D, y: V, dy: D, src: Src, col: usize) -> Result<(V, D), CompileError> {
        let V::C(n) = y else {
            if dx != units::ONE || dy != units::ONE {
                return Err(err(src, col, "`**` with a variable exponent needs a dimensionless base and exponent"));
            }
            // x**y = exp(y ln x)
            let l = b.un(x, Op::Ln, f64::ln);
            let p = b.bin(Bin::Mul, y, l);
            return Ok((b.un(p, Op::Exp, f64::exp), units::ONE));
        };
        if dy != units::ONE {
            return Err(err(src, col, format!("the exponent of `**` is in {dy}: it must be a number")));
        }
        let d = dx.pow(n).ok_or_else(|| err(src, col, format!("{dx} to the power {n} is not a unit")))?;
        if let V::C(a) = x {
            return Ok((V::C(a.powf(n)), d));
        }
        let r = if n.fract() == 0.0 && n.abs() <= 16.0 && n != 0.0 {
            let mut p = x;
            for _ in 1..n.abs() as u32 {
                p = b.bin(Bin::Mul, p, x);
            }
            if n < 0.0 { b.bin(Bin::Div, V::C(1.0), p) } else { p }
        } else if n == 0.0 {
            V::C(1.0)
        } else if n == 0.5 {
            b.un(x, Op::Sqrt, f64::sqrt)
        } else if n == -0.5 {
            let s = b.un(x, Op::Sqrt, f64::sqrt);
            b.bin(Bin::Div, V::C(1.0), s)
        } else {
            let l = b.un(x, Op::Ln, f64::ln);
            let p = b.bin(Bin::Mul, V::C(n), l);
            b.un(p, Op::Exp, f64::exp)
        };
        Ok((r, d))
    }

    fn call(&mut self, b: &mut B, f: &str, args: &[Expr], src: Src, col: usize) -> Result<(V, D), CompileError> {
        let arity = match f {
            "clip" => 3,
            _ if FUNCTIONS.contains(&f) => 1,
            _ => return Err(err(src, col, format!("unknown function `{f}`; supported: {}, clip", FUNCTIONS.join(", ")))),
        };
        if args.len() != arity {
            return Err(err(src, col, format!("`{f}` takes {arity} argument{}, not {}", if arity == 1 { "" } else { "s" }, args.len())));
        }
        let mut vals = Vec::new();
        for a in args {
            vals.push(self.expr(b, a, src)?);
        }
        let (x, dx) = vals[0];
        let dimensionless = |what: &str| if dx == units::ONE { Ok(()) } else { Err(err(src, col, format!("`{what}` of a value in {dx}: its argument must be dimensionless"))) };
        let fun = match f {
            "sin" => Some(Fun::Sin),
            "cos" => Some(Fun::Cos),
            "tan" => Some(Fun::Tan),
            "sinh" => Some(Fun::Sinh),
            "cosh" => Some(Fun::Cosh),
            "tanh" => Some(Fun::Tanh),
            "arcsin" => Some(Fun::Asin),
            "arccos" => Some(Fun::Acos),
            "arctan" => Some(Fun::Atan),
            "expm1" => Some(Fun::Expm1),
            "log1p" => Some(Fun::Log1p),
            "log10" => Some(Fun::Log10),
            _ => None,
        };
        if let Some(g) = fun {
            dimensionless(f)?;
            return Ok((b.math(x, g), units::ONE));
        }
        match f {
            "exp" => {
                dimensionless("exp")?;
                Ok((b.un(x, Op::Exp, f64::exp), units::ONE))
            }
            "log" => {
                dimensionless("log")?;
                Ok((b.un(x, Op::Ln, f64::ln), units::ONE))
            }
            "exprel" => {
                dimensionless("exprel")?;
                Ok((exprel(b, x), units::ONE))
            }
            "floor" | "ceil" => {
                // Brian2 rounds the value in SI units; in working units that would be another
                // number, so a dimensioned argument is refused rather than rounded differently.
                if dx != units::ONE {
                    return Err(err(src, col, format!("`{f}` of a value in {dx}: divide it by a unit first (`{f}(x/mV)`)")));
                }
                Ok((b.math(x, if f == "floor" { Fun::Floor } else { Fun::Ceil }), units::ONE))
            }
            "sign" => Ok((sign(b, x), units::ONE)),
            "sqrt" => {
                let d = dx.pow(0.5).ok_or_else(|| err(src, col, format!("the square root of {dx} is not a unit")))?;
                Ok((b.un(x, Op::Sqrt, f64::sqrt), d))
            }
            "abs" => Ok((b.un(x, Op::Abs, f64::abs), dx)),
            "int" => match x {
                V::M(_) => Ok((V::F(b.f(x)), units::ONE)),
                _ => {
                    dimensionless("int")?;
                    // Brian2's `int` truncates towards zero.
                    if let V::C(c) = x {
                        return Ok((V::C(c.trunc()), units::ONE));
                    }
                    let (fl, ce) = (b.math(x, Fun::Floor), b.math(x, Fun::Ceil));
                    let (fx, z) = (b.f(x), b.f(V::C(0.0)));
                    let neg = b.op(Op::Lt(fx, z));
                    Ok((b.select(neg, ce, fl), units::ONE))
                }
            },
            _ => {
                let ((lo, dl), (hi, dh)) = (vals[1], vals[2]);
                if dl != dx || dh != dx {
                    return Err(err(src, col, format!("`clip` of {dx} between {dl} and {dh}: the dimensions differ")));
                }
                // np.clip: min(max(x, lo), hi).
                let (fx, flo) = (b.f(x), b.f(lo));
                let below = b.op(Op::Lt(fx, flo));
                let m = b.select(below, V::F(flo), V::F(fx));
                let (fm, fhi) = (b.f(m), b.f(hi));
                let above = b.op(Op::Gt(fm, fhi));
                Ok((b.select(above, V::F(fhi), V::F(fm)), dx))
            }
        }
    }
}

/// The functions of one argument an expression may call (and `clip` of three).
pub(crate) const FUNCTIONS: [&str; 21] = [
    "exp", "log", "log10", "sqrt", "abs", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "expm1", "log1p", "exprel", "floor", "ceil", "sign", "int",
];

/// Brian2's `exprel` (its C++ implementation): 1 where `|x| < 1e-16`, infinity above 717,
/// else `expm1(x)/x`.
fn exprel(b: &mut B, x: V) -> V {
    if let V::C(c) = num(b, x) {
        return V::C(if c.abs() < 1e-16 { 1.0 } else if c > 717.0 { f64::INFINITY } else { c.exp_m1() / c });
    }
    let e = b.math(x, Fun::Expm1);
    let r = b.bin(Bin::Div, e, x);
    let fx = b.f(x);
    let (big, inf) = (b.f(V::C(717.0)), b.f(V::C(f64::INFINITY)));
    let above = b.op(Op::Gt(fx, big));
    let r = b.select(above, V::F(inf), r);
    let a = b.un(x, Op::Abs, f64::abs);
    let (fa, tiny) = (b.f(a), b.f(V::C(1e-16)));
    let small = b.op(Op::Lt(fa, tiny));
    b.select(small, V::C(1.0), r)
}

/// Brian2's `sign`: `(0 < x) - (x < 0)`, so 0 at ±0 and NaN.
fn sign(b: &mut B, x: V) -> V {
    if let V::C(c) = num(b, x) {
        return V::C(((0.0 < c) as i32 - (c < 0.0) as i32) as f64);
    }
    let (fx, z) = (b.f(x), b.f(V::C(0.0)));
    let pos = b.op(Op::Lt(z, fx));
    let neg = b.op(Op::Lt(fx, z));
    let r = b.select(neg, V::C(-1.0), V::C(0.0));
    b.select(pos, V::C(1.0), r)
}

/// A condition used as a number: 1 or 0.
pub(crate) fn num(b: &mut B, v: V) -> V {
    match v {
        V::M(_) => V::F(b.f(v)),
        v => v,
    }
}

/// What the derivatives are evaluated with, besides the state.
#[derive(Clone)]
pub(crate) struct Env {
    pub(crate) params: Vec<V>,
    pub(crate) currents: Vec<V>,
    pub(crate) not_refractory: Option<u32>,
    pub(crate) dt: f64,
    /// The time (ms) the derivatives are evaluated at, where the model reads `t`.
    pub(crate) t: Option<V>,
    /// The time (ms) of the neuron's last spike, where the model reads `lastspike`.
    pub(crate) lastspike: Option<V>,
    /// Brian2's `i` and `N` (the neuron's index, the population's size), where the model
    /// reads them.
    pub(crate) place: (Option<V>, Option<V>),
    /// The value of each white noise (`Spec::noise`) where it may be read: 0 in the
    /// derivatives (which are then the drift `f`); `None` outside differential equations.
    pub(crate) noise: Option<Vec<V>>,
}

impl Env {
    pub(crate) fn ctx<'a>(&self, spec: &'a Spec, vals: Vec<V>) -> Ctx<'a> {
        Ctx { spec, vars: vals, params: self.params.clone(), currents: self.currents.clone(), not_refractory: self.not_refractory, dt: self.dt, t: self.t, lastspike: self.lastspike, place: self.place, noise: self.noise.clone(), memo: HashMap::new(), visiting: Vec::new() }
    }

    /// This environment at `frac` of the step later (`t + frac*dt`: Brian2's `t + dt/2`
    /// of its Runge–Kutta stages).
    pub(crate) fn later(&self, b: &mut B, frac: f64) -> Env {
        let mut e = self.clone();
        e.t = self.t.map(|t| b.bin(Bin::Add, t, V::C(frac * self.dt)));
        e
    }

    /// The derivatives at `vals`, `(unless refractory)` ones times `nr`
    /// (int(not_refractory)), dimensions checked.
    pub(crate) fn derivs(&self, b: &mut B, spec: &Spec, vals: &[V], nr: Option<V>) -> Result<Vec<V>, CompileError> {
        let mut c = self.ctx(spec, vals.to_vec());
        let mut out = Vec::new();
        for v in &spec.vars {
            let (f, d) = c.expr(b, &v.eq, v.src)?;
            let want = v.dim.div(units::SECOND);
            if d != want {
                return Err(err(v.src, v.eq.start(), format!("d{}/dt is in {d}; `{}` is in {}, so its derivative must be in {want}", v.name, v.name, v.dim)));
            }
            let f = f;
            out.push(match nr {
                Some(nr) if v.unless_refractory => b.bin(Bin::Mul, f, nr),
                _ => f,
            });
        }
        Ok(out)
    }
}
