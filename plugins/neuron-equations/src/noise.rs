//! Stochastic equations: Brian2's white noise `xi` (and `xi_1`, `xi_name`, ... for
//! independent ones), in second^-1/2, in differential equations `dX/dt = f + g*xi`.
//!
//! Each noise symbol is an input of the model, a [`ReceptorKind::Noise`] receptor: every
//! step the engine gives each neuron a fresh standard normal draw `n` there, so that
//! `dW = √dt · n` (Brian2: `xi = dt**.5 * randn()`). The equation is split into `f` (the
//! equation with every `xi` at 0) and each `g` (its factor, split out of the written
//! expression as [`crate::expeuler`] splits a variable's), and stepped as Brian2 does:
//!
//! - `euler` (Euler–Maruyama; additive noise only, as in Brian2):
//!   `x ← dt·f(x, t) + Σ_k g_k·dW_k + x`;
//! - `heun` (Stratonovich, any noise): per noise `k`, `s_k = g_k(x, t)·dW_k + x` (every
//!   variable), then `x ← dt·f(x, t) + Σ_k 0.5·dW_k·(g_k(x, t) + g_k(s_k, t + dt)) + x`;
//! - `milstein` (Brian2's derivative-free Milstein; Stratonovich, diagonal noise): per
//!   noise `k`, `s_k = dt·f(x, t) + √dt·g_k(x, t) + x` (every variable), then
//!   `x ← dt·f + Σ_k g_k·dW_k + Σ_k c·(g_k(s_k, t) − g_k(x, t))·dW_k² + x`, `c = 1/(2√dt)`.
//!
//! Noise is additive when no `g` reads a state variable, `t` or `lastspike` (through
//! subexpressions too). `xi` may appear only in differential equations, linearly, and
//! two noises never multiply each other.
//!
//! [`ReceptorKind::Noise`]: spikeworld::api::model::ReceptorKind::Noise

use std::collections::HashMap;

use crate::compile::{CompileError, Spec, Src, Var, err};
use crate::expeuler::Splitter;
use crate::expr::{Bin, Expr};
use crate::terms::{B, Env, V};
use crate::units;

/// Whether `n` names white noise: `xi`, or `xi_` followed by a name.
pub fn is_noise(n: &str) -> bool {
    n == "xi" || n.strip_prefix("xi_").is_some_and(|r| !r.is_empty())
}

/// The noise symbols the differential equations read, in order of first appearance.
pub fn symbols(vars: &[Var]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in vars {
        let mut names = Vec::new();
        v.eq.names(&mut names);
        for n in names {
            if is_noise(&n) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Each variable's factor of each noise (`g[var][noise]`, `None`: 0), checking that the
/// equations are linear in the noise and that no two noises multiply.
pub fn factors(spec: &Spec) -> Result<Vec<Vec<Option<Expr>>>, CompileError> {
    let mut out = Vec::with_capacity(spec.vars.len());
    for v in &spec.vars {
        let mut rest = Some(v.eq.clone());
        let mut g = Vec::with_capacity(spec.noise.len());
        for xi in &spec.noise {
            let Some(r) = rest.take() else {
                g.push(None);
                continue;
            };
            let s = Splitter { spec, var: xi, noise_of: Some(&v.name), memo: HashMap::new(), depth: 0 }.split(&r, v.src)?;
            g.push(s.a);
            rest = s.b;
        }
        for (k, gk) in g.iter().enumerate() {
            let mut names = Vec::new();
            if let Some(e) = gk {
                e.names(&mut names);
            }
            if let Some(other) = names.iter().find(|n| is_noise(n)) {
                return Err(err(v.src, v.eq.start(), format!("d{}/dt multiplies the white noises `{}` and `{other}`: each noise term must be g*xi with g free of noise", v.name, spec.noise[k])));
            }
        }
        out.push(g);
    }
    Ok(out)
}

/// Whether `e` reads a state variable, `t` or `lastspike`, itself or through
/// subexpressions.
fn reads_state(spec: &Spec, e: &Expr, depth: usize) -> bool {
    let mut names = Vec::new();
    e.names(&mut names);
    names.iter().any(|n| {
        spec.vars.iter().any(|v| &v.name == n)
            || n == "t"
            || n == "lastspike"
            || (depth < crate::compile::MAX_CHAIN && spec.subs.iter().find(|s| &s.0 == n).is_some_and(|s| reads_state(spec, &s.1, depth + 1)))
    })
}

/// The first equation whose noise is multiplicative: (variable, noise).
pub fn multiplicative(spec: &Spec, g: &[Vec<Option<Expr>>]) -> Option<(usize, usize)> {
    g.iter().enumerate().find_map(|(j, gj)| gj.iter().position(|e| e.as_ref().is_some_and(|e| reads_state(spec, e, 0))).map(|k| (j, k)))
}

/// The noise factors at `x` with `env` (working units), `(unless refractory)` ones times
/// `nr`, dimensions checked: `g[var][noise]`.
fn eval(b: &mut B, spec: &Spec, env: &Env, g: &[Vec<Option<Expr>>], x: &[V], nr: Option<V>) -> Result<Vec<Vec<Option<V>>>, CompileError> {
    let mut c = env.ctx(spec, x.to_vec());
    let mut out = Vec::with_capacity(g.len());
    for (v, gv) in spec.vars.iter().zip(g) {
        let want = v.dim.div(units::SECOND).div(units::PER_SQRT_SECOND);
        let mut row = Vec::with_capacity(gv.len());
        for e in gv {
            row.push(match e {
                None => None,
                Some(e) => {
                    let (val, d) = c.expr(b, e, v.src)?;
                    if d != want {
                        return Err(err(v.src, v.eq.start(), format!("the factor of the white noise in d{}/dt is in {d}; it must be in {want} (`xi` is in second^-0.5)", v.name)));
                    }
                    Some(match nr {
                        Some(nr) if v.unless_refractory => b.bin(Bin::Mul, val, nr),
                        _ => val,
                    })
                }
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// `dW_k = √dt · n_k` of each noise input `n_k`.
fn increments(b: &mut B, env: &Env, inputs: &[V]) -> Vec<V> {
    inputs.iter().map(|&n| b.bin(Bin::Mul, V::C(env.dt.sqrt()), n)).collect()
}

/// The stochastic schemes, as Brian2 writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Euler–Maruyama (additive noise).
    Euler,
    /// Stochastic Heun (Stratonovich, any noise).
    Heun,
    /// Derivative-free Milstein (Stratonovich, diagonal noise).
    Milstein,
}

/// One step by `scheme` from `x`; `inputs` are the noise inputs, `f` the derivatives at
/// `x` with every noise at 0.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step(b: &mut B, spec: &Spec, env: &Env, x: &[V], f: &[V], inputs: &[V], nr: Option<V>, scheme: Scheme) -> Result<Vec<V>, CompileError> {
    let g = factors(spec)?;
    let dw = increments(b, env, inputs);
    let g0 = eval(b, spec, env, &g, x, nr)?;
    let drift: Vec<V> = f.iter().map(|&fj| b.bin(Bin::Mul, V::C(env.dt), fj)).collect();
    let mut acc = drift.clone();
    if scheme != Scheme::Heun {
        // dt·f + Σ_k g_k·dW_k.
        for (j, a) in acc.iter_mut().enumerate() {
            for (k, gk) in g0[j].iter().enumerate() {
                if let Some(gk) = gk {
                    let t = b.bin(Bin::Mul, *gk, dw[k]);
                    *a = b.bin(Bin::Add, *a, t);
                }
            }
        }
    }
    let used = |k: usize| g0.iter().any(|gj| gj[k].is_some());
    match scheme {
        Scheme::Euler => {}
        Scheme::Heun => {
            let end = env.later(b, 1.0);
            for (k, &dwk) in dw.iter().enumerate() {
                if !used(k) {
                    continue;
                }
                // The support point of this noise: g_k(x)·dW_k + x, every variable.
                let support: Vec<V> = (0..x.len())
                    .map(|j| match g0[j][k] {
                        Some(gk) => {
                            let t = b.bin(Bin::Mul, gk, dwk);
                            b.bin(Bin::Add, t, x[j])
                        }
                        None => x[j],
                    })
                    .collect();
                let gs = eval(b, spec, &end, &g, &support, nr)?;
                let half = b.bin(Bin::Mul, V::C(0.5), dwk);
                for (j, a) in acc.iter_mut().enumerate() {
                    if let (Some(g0k), Some(gsk)) = (g0[j][k], gs[j][k]) {
                        let s = b.bin(Bin::Add, g0k, gsk);
                        let t = b.bin(Bin::Mul, half, s);
                        *a = b.bin(Bin::Add, *a, t);
                    }
                }
            }
        }
        Scheme::Milstein => {
            // Brian2's: s = dt·f(x) + √dt·g(x) + x (every variable, each with its own
            // noise's factor), then + (g(s, t) − g(x, t))·dW²/(2√dt). The noise is
            // diagonal (`diagonal`): each variable has at most one noise, so the support of
            // noise k moves only its variable's √dt·g term; the others' drift still moves.
            let c = 1.0 / (2.0 * env.dt.sqrt());
            for (k, &dwk) in dw.iter().enumerate() {
                if !used(k) {
                    continue;
                }
                let support: Vec<V> = (0..x.len())
                    .map(|j| {
                        let d = match g0[j][k] {
                            Some(gk) => {
                                let t = b.bin(Bin::Mul, V::C(env.dt.sqrt()), gk);
                                b.bin(Bin::Add, drift[j], t)
                            }
                            None => drift[j],
                        };
                        b.bin(Bin::Add, d, x[j])
                    })
                    .collect();
                let gs = eval(b, spec, env, &g, &support, nr)?;
                let sq = b.bin(Bin::Mul, dwk, dwk);
                for (j, a) in acc.iter_mut().enumerate() {
                    if let (Some(g0k), Some(gsk)) = (g0[j][k], gs[j][k]) {
                        let d = b.bin(Bin::Sub, gsk, g0k);
                        let t = b.bin(Bin::Mul, V::C(c), d);
                        let t = b.bin(Bin::Mul, t, sq);
                        *a = b.bin(Bin::Add, *a, t);
                    }
                }
            }
        }
    }
    Ok(acc.into_iter().zip(x).map(|(a, &xj)| b.bin(Bin::Add, a, xj)).collect())
}

/// Brian2's condition for `milstein`: diagonal noise, each equation with at most one
/// noise and each noise in at most one equation (through subexpressions too).
pub fn diagonal(spec: &Spec) -> Result<(), CompileError> {
    let g = factors(spec)?;
    for (j, gj) in g.iter().enumerate() {
        let v = &spec.vars[j];
        let mine: Vec<usize> = (0..gj.len()).filter(|&k| gj[k].is_some()).collect();
        if mine.len() > 1 {
            return Err(err(v.src, v.eq.start(), format!("d{}/dt has two white noises (`{}` and `{}`): `milstein` integrates diagonal noise only (each equation its own noise), as in Brian2; use method = \"heun\"", v.name, spec.noise[mine[0]], spec.noise[mine[1]])));
        }
        if let Some(&k) = mine.first() {
            if let Some(i) = (0..j).find(|&i| g[i][k].is_some()) {
                return Err(err(v.src, v.eq.start(), format!("the white noise `{}` is in d{}/dt and d{}/dt: `milstein` integrates diagonal noise only (each equation its own noise), as in Brian2; use method = \"heun\"", spec.noise[k], spec.vars[i].name, v.name)));
            }
        }
    }
    Ok(())
}

/// The error for white noise outside a differential equation.
pub fn misplaced_error(src: Src, name: &str, col: usize) -> CompileError {
    err(src, col, format!("the white noise `{name}` may appear only in differential equations (`dv/dt = ... + sigma*sqrt(2/tau)*{name}`), as in Brian2"))
}

/// The methods a model may name.
pub const METHODS: &str = "euler, rk2, rk4, exponential_euler, exact, heun, milstein";

/// Why stochastic equations cannot be integrated as asked.
pub enum Refusal<'n> {
    /// At an equation.
    At(CompileError),
    /// At the `method` key.
    Method(&'n spikeworld::util::node::Node, String),
}

/// The method for equations with white noise (`None`: without), as Brian2 chooses and
/// allows it: `heun` if given or the noise is multiplicative, else `euler`; `milstein` if
/// given and the noise is diagonal; `euler` given for multiplicative noise, and every
/// other method, refused.
pub fn stochastic<'n>(spec: &Spec, given: Option<(&str, &'n spikeworld::util::node::Node)>) -> Result<Option<crate::compile::Method>, Refusal<'n>> {
    use crate::compile::Method;
    if spec.noise.is_empty() {
        return Ok(None);
    }
    let g = factors(spec).map_err(Refusal::At)?;
    let mult = multiplicative(spec, &g);
    match (given, mult) {
        (Some(("heun", _)), _) | (None, Some(_)) => Ok(Some(Method::Heun)),
        (Some(("milstein", _)), _) => diagonal(spec).map(|()| Some(Method::Milstein)).map_err(Refusal::At),
        (Some(("euler", _)) | None, None) => Ok(Some(Method::Euler)),
        (Some(("euler", _)), Some((j, k))) => {
            let v = &spec.vars[j];
            Err(Refusal::At(err(v.src, v.eq.start(), format!("the noise of d{}/dt is multiplicative (the factor of `{}` reads a state variable or the time): `euler` integrates additive noise only, as in Brian2; use method = \"heun\" (Stratonovich)", v.name, spec.noise[k]))))
        }
        (Some((m, n)), _) if METHODS.split(", ").any(|x| x == m) || m == "linear" => Err(Refusal::Method(
            n,
            format!("`{m}` cannot integrate stochastic equations (the white noise `{}`), nor can it in Brian2: use \"euler\" (additive noise), \"heun\" or \"milstein\"", spec.noise[0]),
        )),
        (Some((m, n)), _) => Err(Refusal::Method(n, format!("unknown method `{m}`; valid: {METHODS}"))),
    }
}
