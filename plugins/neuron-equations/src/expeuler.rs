//! `method = "exponential_euler"` (Brian2's, GENESIS's default): every `dX/dt = A X + B`
//! with `A` and `B` free of `X` but not of the other variables ("conditionally linear",
//! as Hodgkin–Huxley's gates and membrane), stepped as `X ← (X + B/A) e^{A dt} − B/A`
//! (`X e^{A dt}` where `B` is 0, `X + dt B` where `A` is 0), each variable from the state
//! at the start of the step.
//!
//! `A` and `B` are split out of the written expression (subexpressions that read `X`
//! substituted, those that do not kept by name, so they are computed once), not by
//! Brian2's sympy rearrangement: the same values up to rounding.

use std::collections::HashMap;

use crate::compile::{CompileError, Spec, Src, err};
use crate::expr::{Bin, Expr};
use crate::terms::{B, Env, V};
use crate::units;

/// `A X + B` (`None`: 0).
#[derive(Clone, Debug)]
pub(crate) struct Split {
    pub(crate) a: Option<Expr>,
    pub(crate) b: Option<Expr>,
}

fn one() -> Expr {
    Expr::Num(1.0, 0)
}

fn is_one(e: &Expr) -> bool {
    matches!(e, Expr::Num(x, _) if *x == 1.0)
}

fn bin(op: Bin, l: Expr, r: Expr) -> Expr {
    Expr::Bin(op, Box::new(l), Box::new(r), 0)
}

fn neg(e: Expr) -> Expr {
    Expr::Neg(Box::new(e), 0)
}

/// `l op r` of optional terms (`None` is 0).
fn sum(op: Bin, l: Option<Expr>, r: Option<Expr>) -> Option<Expr> {
    match (l, r) {
        (None, None) => None,
        (Some(l), None) => Some(l),
        (None, Some(r)) => Some(if op == Bin::Sub { neg(r) } else { r }),
        (Some(l), Some(r)) => Some(bin(op, l, r)),
    }
}

/// `t * k` (`t / k`), dropping a factor 1.
fn scale(op: Bin, t: Option<Expr>, k: &Expr) -> Option<Expr> {
    t.map(|t| if op == Bin::Mul && is_one(&t) { k.clone() } else { bin(op, t, k.clone()) })
}

/// Why an equation is not linear in `var`: for `exponential_euler` (`var` is its own
/// variable), or in white noise (`var` is `xi`; `eq` names the equation).
fn nonlinear(src: Src, col: usize, var: &str, eq: Option<&str>, why: &str) -> CompileError {
    match eq {
        None => err(src, col, format!("d{var}/dt is not linear in `{var}` ({why}); `exponential_euler` needs each dX/dt = A*X + B with A and B free of X: use \"euler\", \"rk2\" or \"rk4\"")),
        Some(x) => err(src, col, format!("d{x}/dt is not linear in the white noise `{var}` ({why}): a stochastic equation is dX/dt = f + g*{var}, with g free of `{var}`")),
    }
}

/// Splits expressions into `A var + B`.
pub(crate) struct Splitter<'a> {
    pub(crate) spec: &'a Spec,
    pub(crate) var: &'a str,
    /// The equation's variable where `var` is white noise (for messages).
    pub(crate) noise_of: Option<&'a str>,
    /// Subexpressions already split (`a` is `None` where they do not read `var`).
    pub(crate) memo: HashMap<String, Split>,
    pub(crate) depth: usize,
}

impl Splitter<'_> {
    pub(crate) fn split(&mut self, e: &Expr, src: Src) -> Result<Split, CompileError> {
        let free = |e: &Expr| Split { a: None, b: Some(e.clone()) };
        Ok(match e {
            Expr::Num(..) => free(e),
            Expr::Name(n, _) if n == self.var => Split { a: Some(one()), b: None },
            Expr::Name(n, _) => match self.spec.subs.iter().find(|s| &s.0 == n) {
                Some((_, se, _, at)) => {
                    let s = match self.memo.get(n) {
                        Some(s) => s.clone(),
                        None => {
                            if self.depth >= crate::compile::MAX_CHAIN {
                                return Err(err(*at, 0, format!("subexpressions nested more than {} deep", crate::compile::MAX_CHAIN)));
                            }
                            self.depth += 1;
                            let s = self.split(se, *at)?;
                            self.depth -= 1;
                            self.memo.insert(n.clone(), s.clone());
                            s
                        }
                    };
                    // One that does not read the variable stays a name (computed once).
                    if s.a.is_none() { free(e) } else { s }
                }
                None => free(e),
            },
            Expr::Neg(x, _) => {
                let s = self.split(x, src)?;
                Split { a: s.a.map(neg), b: s.b.map(neg) }
            }
            Expr::Not(x, c) => {
                let s = self.split(x, src)?;
                if s.a.is_some() {
                    return Err(nonlinear(src, *c, self.var, self.noise_of, "a condition on it"));
                }
                free(e)
            }
            Expr::Call(f, args, c) => {
                for a in args {
                    if self.split(a, src)?.a.is_some() {
                        return Err(nonlinear(src, *c, self.var, self.noise_of, &format!("`{f}` of it")));
                    }
                }
                free(e)
            }
            Expr::Bin(op, l, r, c) => {
                let (x, y) = (self.split(l, src)?, self.split(r, src)?);
                match op {
                    Bin::Add | Bin::Sub => Split { a: sum(*op, x.a, y.a), b: sum(*op, x.b, y.b) },
                    Bin::Mul => match (x.a.is_some(), y.a.is_some()) {
                        (true, true) => return Err(nonlinear(src, *c, self.var, self.noise_of, "a product of it with itself")),
                        (true, false) => Split { a: scale(Bin::Mul, x.a, r), b: scale(Bin::Mul, x.b, r) },
                        (false, true) => Split { a: scale(Bin::Mul, y.a, l), b: scale(Bin::Mul, y.b, l) },
                        (false, false) => free(e),
                    },
                    Bin::Div => match (x.a.is_some(), y.a.is_some()) {
                        (_, true) => return Err(nonlinear(src, *c, self.var, self.noise_of, "a division by it")),
                        (true, false) => Split { a: scale(Bin::Div, x.a, r), b: scale(Bin::Div, x.b, r) },
                        (false, false) => free(e),
                    },
                    Bin::Pow => match (x.a.is_some() || y.a.is_some(), &**r) {
                        (false, _) => free(e),
                        (true, Expr::Num(n, _)) if *n == 1.0 && x.a.is_some() => x,
                        _ => return Err(nonlinear(src, *c, self.var, self.noise_of, "a power of it")),
                    },
                    Bin::Mod | Bin::FloorDiv if x.a.is_some() || y.a.is_some() => return Err(nonlinear(src, *c, self.var, self.noise_of, "`%` or `//` of it")),
                    _ if x.a.is_some() || y.a.is_some() => return Err(nonlinear(src, *c, self.var, self.noise_of, "a condition on it")),
                    _ => free(e),
                }
            }
        })
    }
}

/// Checks that every equation is conditionally linear in its variable.
pub fn check(spec: &Spec) -> Result<(), CompileError> {
    for v in &spec.vars {
        Splitter { spec, var: &v.name, noise_of: None, memo: HashMap::new(), depth: 0 }.split(&v.eq, v.src)?;
    }
    Ok(())
}

/// The new state from `x` (working units); `refractory`: the mask of neurons whose
/// `(unless refractory)` variables stay as they are.
pub(crate) fn step(b: &mut B, spec: &Spec, env: &Env, x: &[V], refractory: Option<u32>) -> Result<Vec<V>, CompileError> {
    // Dimensions of the equations as written, first (the split keeps them).
    env.derivs(&mut B::new(b.nf, b.nm), spec, x, None)?;
    let mut ctx = env.ctx(spec, x.to_vec());
    let dt = V::C(env.dt);
    let mut out = Vec::with_capacity(x.len());
    for (k, v) in spec.vars.iter().enumerate() {
        let s = Splitter { spec, var: &v.name, noise_of: None, memo: HashMap::new(), depth: 0 }.split(&v.eq, v.src)?;
        let mut coeff = |e: &Option<Expr>, want: units::D| -> Result<Option<V>, CompileError> {
            let Some(e) = e else { return Ok(None) };
            let (val, d) = ctx.expr(b, e, v.src)?;
            if d != want {
                return Err(err(v.src, v.eq.start(), format!("d{}/dt split as A*{} + B gives A in {d} (a bug in spikeworld's exponential_euler)", v.name, v.name)));
            }
            Ok(Some(val))
        };
        let a = coeff(&s.a, units::ONE.div(units::SECOND))?;
        let bb = coeff(&s.b, v.dim.div(units::SECOND))?;
        let new = match (a, bb) {
            (None, None) => x[k],
            (None, Some(bv)) => {
                let d = b.bin(Bin::Mul, dt, bv);
                b.bin(Bin::Add, x[k], d)
            }
            (Some(av), bv) => {
                let adt = b.bin(Bin::Mul, av, dt);
                let e = b.un(adt, spikeworld::api::program::Op::Exp, f64::exp);
                match bv {
                    None => b.bin(Bin::Mul, x[k], e),
                    Some(bv) => {
                        let ba = b.bin(Bin::Div, bv, av);
                        let s = b.bin(Bin::Add, x[k], ba);
                        let p = b.bin(Bin::Mul, s, e);
                        b.bin(Bin::Sub, p, ba)
                    }
                }
            }
        };
        out.push(match refractory {
            Some(m) if v.unless_refractory => b.select(m, x[k], new),
            _ => new,
        });
    }
    Ok(out)
}
