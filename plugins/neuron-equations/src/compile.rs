//! A model's equations, threshold and reset → one step as a [`Program`]: dimensions
//! checked, constants folded, the integration scheme written out operation by operation.

use spikeworld::api::program::{Op, Program};

use crate::eqs::{Assign, Statement};
use crate::terms::{B, Env, V, num};
use crate::expr::{Bin, Expr};
use crate::units::{self, D};

/// Where a piece of text comes from: an equation line, the threshold, a reset line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    Equation(usize),
    Threshold,
    Refractory,
    Reset(usize),
}

/// Most subexpressions reading one another in a chain.
pub const MAX_CHAIN: usize = 32;

/// An error at a column of a piece of text.
#[derive(Clone, Debug)]
pub struct CompileError {
    pub src: Src,
    pub col: usize,
    pub message: String,
}

/// Integration schemes, named as in Brian2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Euler,
    Rk2,
    Rk4,
    Exact,
    ExpEuler,
    /// Stochastic Heun (Stratonovich; Brian2's `heun`), for multiplicative noise.
    Heun,
    /// Brian2's derivative-free Milstein (Stratonovich, diagonal noise).
    Milstein,
}

/// A state variable: `dX/dt = eq`.
#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub dim: D,
    pub eq: Expr,
    pub src: Src,
    pub unless_refractory: bool,
}

/// Everything the step is made of.
#[derive(Clone, Debug)]
pub struct Spec {
    pub vars: Vec<Var>,
    /// Subexpressions: name, expression, declared dimension, line.
    pub subs: Vec<(String, Expr, D, Src)>,
    /// Parameters: name and dimension.
    pub params: Vec<(String, D)>,
    /// Injected currents (amp), one input each after the receptors.
    pub currents: Vec<String>,
    /// White noises (`xi`, `xi_1`, ...), one input each after the currents.
    pub noise: Vec<String>,
    /// Variables that spikes jump (one input each), by index into `vars`.
    pub receptors: Vec<usize>,
    pub threshold: Option<Expr>,
    pub reset: Vec<Statement>,
    /// Brian2's refractoriness, in steps clamped after the spike (`T − 1`), if any.
    pub refractory: bool,
    pub method: Method,
    /// Whether the model reads `t` (a state row counts the steps).
    pub uses_time: bool,
    /// Whether it reads `lastspike` (a state row holds it; implies `uses_time`).
    pub uses_lastspike: bool,
    /// Whether it reads Brian2's `i` (the neuron's index) and `N` (the population's size):
    /// constant state rows the core fills at build (`Placed`).
    pub uses_index: bool,
    pub uses_size: bool,
    /// The refractory period as an expression of time (Brian2's `refractory='tau_ref'`),
    /// evaluated at each spike; `None`: the constant given to [`program`].
    pub refractory_expr: Option<Expr>,
    /// Brian2's boolean refractoriness (`refractory='v > -40*mV'`): after a spike the
    /// neuron stays refractory until the condition, evaluated at the start of each step, is
    /// false (`not_refractory = not_refractory or not (cond)`); the `refr` row is then 1
    /// while refractory.
    pub refractory_cond: Option<Expr>,
    /// Subexpressions (by index into `subs`) computed into a state row at the end of each
    /// step, on the state after the reset, so that state monitors can record them (the
    /// model's `record` key; Brian2 records a subexpression with `StateMonitor`).
    pub recorded: Vec<usize>,
}

impl Spec {
    /// Whether a state row holds "spiked in the last step": an input at a variable the
    /// reset sets (`v = v_r`) in the step after the spike is dropped, as Brian2's reset
    /// (after `on_pre`) overwrites it.
    pub fn needs_flag(&self) -> bool {
        self.reset_sets().iter().any(|k| self.receptors.contains(k))
    }

    /// Variables the reset sets to a value that does not read them.
    pub fn reset_sets(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for s in &self.reset {
            let mut names = Vec::new();
            s.value.names(&mut names);
            if let Some(k) = self.vars.iter().position(|v| v.name == s.target) {
                if s.op == Assign::Set && !names.contains(&s.target) {
                    out.push(k);
                }
            }
        }
        out
    }

    /// Whether a state row holds Brian2's `not_refractory` as the last step left it (after
    /// its threshold): an input at a variable marked `(unless refractory)` is dropped
    /// unless it is 1, as Brian2's `on_pre` leaves such a variable alone while refractory.
    pub fn needs_not_refractory(&self) -> bool {
        self.refractory && self.receptors.iter().any(|&k| self.vars[k].unless_refractory)
    }

    /// Rows before the parameters': the variables, `refr`, `spiked`, `not_refractory`,
    /// `tstep`, `lastspike`, `i`, `N`, the recorded subexpressions.
    pub fn state_rows(&self) -> usize {
        self.recorded_row0() + self.recorded.len()
    }

    /// The first recorded subexpression's row (after those of the model's own state).
    fn recorded_row0(&self) -> usize {
        self.vars.len() + usize::from(self.refractory) + usize::from(self.needs_flag()) + usize::from(self.needs_not_refractory()) + usize::from(self.uses_time) + usize::from(self.uses_lastspike) + usize::from(self.uses_index) + usize::from(self.uses_size)
    }

    /// The row holding `not_refractory`, if [`Spec::needs_not_refractory`].
    pub fn not_refractory_row(&self) -> Option<usize> {
        self.needs_not_refractory().then(|| self.vars.len() + usize::from(self.refractory) + usize::from(self.needs_flag()))
    }

    /// The row counting the steps, if the model reads `t`.
    pub fn tstep_row(&self) -> Option<usize> {
        self.uses_time.then(|| self.placed_row0() - 1 - usize::from(self.uses_lastspike))
    }

    /// The row holding `lastspike` (ms), if the model reads it.
    pub fn lastspike_row(&self) -> Option<usize> {
        self.uses_lastspike.then(|| self.placed_row0() - 1)
    }

    /// The first of the rows of `i` and `N`.
    fn placed_row0(&self) -> usize {
        self.recorded_row0() - usize::from(self.uses_index) - usize::from(self.uses_size)
    }

    /// The row holding `i`, if the model reads it.
    pub fn index_row(&self) -> Option<usize> {
        self.uses_index.then(|| self.placed_row0())
    }

    /// The row holding `N`, if the model reads it.
    pub fn size_row(&self) -> Option<usize> {
        self.uses_size.then(|| self.placed_row0() + usize::from(self.uses_index))
    }

    /// Inputs: receptors, currents, white noises.
    pub fn inputs(&self) -> usize {
        self.receptors.len() + self.currents.len() + self.noise.len()
    }

    /// State rows: those of [`Spec::state_rows`], then the parameters held per neuron.
    pub fn rows(&self, params: &[PV]) -> usize {
        self.state_rows() + params.iter().filter(|p| matches!(p, PV::Row(_))).count()
    }
}

/// A parameter's value: a constant of the program (working units), or a constant state
/// row (one value per neuron, in the core's unit), with neuron 0's value in working units
/// (what `exact` computes its matrices with; such a parameter enters only `b`).
#[derive(Clone, Copy, Debug)]
pub enum PV {
    C(f64),
    Row(f64),
}

/// An error of `src` at column `col`.
pub(crate) fn err(src: Src, col: usize, message: impl Into<String>) -> CompileError {
    CompileError { src, col, message: message.into() }
}

/// The step of `spec` for steps of `dt` ms; `refr_steps` is `T − 1`.
pub fn program(spec: &Spec, pv: &[PV], dt: f64, refr_steps: f64) -> Result<Program, CompileError> {
    let nrows = spec.rows(pv);
    let nin = spec.inputs();
    let mut b = B::new((nrows + nin) as u32, 0);
    let nv = spec.vars.len();
    let refr_row = spec.refractory.then_some(nv as u32);
    let flag_row = spec.needs_flag().then_some((nv + usize::from(spec.refractory)) as u32);
    let nr_row = spec.not_refractory_row().map(|r| r as u32);
    let tstep_row = spec.tstep_row().map(|r| r as u32);
    let param_row0 = spec.state_rows();
    // Values enter in working units (rates: Hz → 1/ms).
    let load = |b: &mut B, id: u32, d: D| if d.from_core() == 1.0 { V::F(id) } else { b.bin(Bin::Mul, V::F(id), V::C(d.from_core())) };
    let mut row = param_row0 as u32;
    let params: Vec<V> = pv
        .iter()
        .zip(&spec.params)
        .map(|(p, (_, d))| match p {
            PV::C(x) => V::C(*x),
            PV::Row(_) => {
                row += 1;
                load(&mut b, row - 1, *d)
            }
        })
        .collect();
    let mut x: Vec<V> = spec.vars.iter().enumerate().map(|(k, v)| load(&mut b, k as u32, v.dim)).collect();
    let currents: Vec<V> = (0..spec.currents.len()).map(|c| V::F((nrows + spec.receptors.len() + c) as u32)).collect();
    let noise: Vec<V> = (0..spec.noise.len()).map(|k| V::F((nrows + spec.receptors.len() + spec.currents.len() + k) as u32)).collect();
    let mut refractory = refr_row.map(|r| {
        let h = b.f(V::C(0.5));
        b.op(Op::Gt(r, h))
    });
    // Input due now jumps its variable, except one the reset set in the step just after a
    // spike (Brian2: `on_pre` ran before that reset, which overwrote it).
    let just_spiked = flag_row.map(|r| {
        let h = b.f(V::C(0.5));
        b.op(Op::Gt(r, h))
    });
    // And one at a variable marked `(unless refractory)` while the neuron was refractory
    // (or spiked) in the last step: Brian2's `on_pre` leaves it alone then.
    let was_free = nr_row.map(|r| {
        let h = b.f(V::C(0.5));
        b.op(Op::Gt(r, h))
    });
    let sets = spec.reset_sets();
    for (r, &k) in spec.receptors.iter().enumerate() {
        let inp = load(&mut b, (nrows + r) as u32, spec.vars[k].dim);
        let jumped = b.bin(Bin::Add, x[k], inp);
        x[k] = match (was_free, just_spiked) {
            (Some(m), _) if spec.vars[k].unless_refractory => b.select(m, jumped, x[k]),
            (_, Some(m)) if sets.contains(&k) => b.select(m, x[k], jumped),
            _ => jumped,
        };
    }
    // `t` at the start of the step: the step count (a state row) times dt, as Brian2's clock.
    let time = tstep_row.map(|r| b.bin(Bin::Mul, V::F(r), V::C(dt)));
    let mut env = Env { params, currents, not_refractory: None, dt, t: time, lastspike: spec.lastspike_row().map(|r| V::F(r as u32)), place: (spec.index_row().map(|r| V::F(r as u32)), spec.size_row().map(|r| V::F(r as u32))), noise: None };
    if let (Some(cond), Some(m)) = (&spec.refractory_cond, refractory) {
        // Brian2: `not_refractory = not_refractory or not (cond)` before the update.
        let (v, _) = env.ctx(spec, x.clone()).expr(&mut b, cond, Src::Refractory)?;
        let V::M(held) = v else {
            return Err(err(Src::Refractory, cond.start(), "the refractory condition must be a condition (`v > -40*mV`)"));
        };
        refractory = Some(b.op(Op::And(m, held)));
    }
    let not_refr = refractory.map(|m| b.op(Op::Not(m)));
    env.not_refractory = not_refr;
    env.noise = Some(vec![V::C(0.0); spec.noise.len()]);
    let env = env;
    let nr = not_refr.map(|m| V::F(b.f(V::M(m))));
    let dtv = V::C(dt);
    // `dt*f + x`: the last stage of euler and rk2.
    let advance = |b: &mut B, f: &[V]| -> Vec<V> {
        (0..nv)
            .map(|k| {
                let s = b.bin(Bin::Mul, dtv, f[k]);
                b.bin(Bin::Add, s, x[k])
            })
            .collect()
    };
    let x1: Vec<V> = match spec.method {
        Method::Exact => {
            let probe: Vec<V> = pv.iter().map(|p| V::C(match p { PV::C(x) | PV::Row(x) => *x })).collect();
            let free = exact_step(&mut b, spec, &env, &probe, &x, nr.map(|_| V::C(1.0)))?;
            match refractory {
                Some(m) if spec.vars.iter().any(|v| v.unless_refractory) => {
                    let clamped = exact_step(&mut b, spec, &env, &probe, &x, Some(V::C(0.0)))?;
                    (0..nv).map(|k| b.select(m, clamped[k], free[k])).collect()
                }
                _ => free,
            }
        }
        Method::ExpEuler => crate::expeuler::step(&mut b, spec, &env, &x, refractory)?,
        Method::Euler if !spec.noise.is_empty() => {
            let f = env.derivs(&mut b, spec, &x, nr)?;
            crate::noise::step(&mut b, spec, &env, &x, &f, &noise, nr, crate::noise::Scheme::Euler)?
        }
        Method::Heun => {
            let f = env.derivs(&mut b, spec, &x, nr)?;
            crate::noise::step(&mut b, spec, &env, &x, &f, &noise, nr, crate::noise::Scheme::Heun)?
        }
        Method::Milstein => {
            let f = env.derivs(&mut b, spec, &x, nr)?;
            crate::noise::step(&mut b, spec, &env, &x, &f, &noise, nr, crate::noise::Scheme::Milstein)?
        }
        Method::Euler => {
            // Brian2: dt*f + x.
            let f = env.derivs(&mut b, spec, &x, nr)?;
            advance(&mut b, &f)
        }
        Method::Rk2 => {
            // Brian2: k = dt*f(x); dt*f(0.5*k + x) + x.
            let f1 = env.derivs(&mut b, spec, &x, nr)?;
            let k1: Vec<V> = f1.iter().map(|&f| b.bin(Bin::Mul, dtv, f)).collect();
            let mid: Vec<V> = (0..nv)
                .map(|k| {
                    let h = b.bin(Bin::Mul, V::C(0.5), k1[k]);
                    b.bin(Bin::Add, h, x[k])
                })
                .collect();
            let half = env.later(&mut b, 0.5);
            let f2 = half.derivs(&mut b, spec, &mid, nr)?;
            advance(&mut b, &f2)
        }
        Method::Rk4 => {
            let stage = |b: &mut B, k: &[V], w: f64| -> Vec<V> {
                (0..nv)
                    .map(|j| {
                        let h = if w == 1.0 { k[j] } else { b.bin(Bin::Mul, V::C(w), k[j]) };
                        b.bin(Bin::Add, h, x[j])
                    })
                    .collect()
            };
            let kf = |b: &mut B, f: Vec<V>| -> Vec<V> { f.into_iter().map(|f| b.bin(Bin::Mul, dtv, f)).collect() };
            let f1 = env.derivs(&mut b, spec, &x, nr)?;
            let k1 = kf(&mut b, f1);
            let s2 = stage(&mut b, &k1, 0.5);
            let half = env.later(&mut b, 0.5);
            let f2 = half.derivs(&mut b, spec, &s2, nr)?;
            let k2 = kf(&mut b, f2);
            let s3 = stage(&mut b, &k2, 0.5);
            let f3 = half.derivs(&mut b, spec, &s3, nr)?;
            let k3 = kf(&mut b, f3);
            let s4 = stage(&mut b, &k3, 1.0);
            let end = env.later(&mut b, 1.0);
            let f4 = end.derivs(&mut b, spec, &s4, nr)?;
            let k4 = kf(&mut b, f4);
            // Brian2's rk4: k1/6 + k2/3 + k3/3 + k4/6 + x.
            (0..nv)
                .map(|j| {
                    let a = b.bin(Bin::Div, k1[j], V::C(6.0));
                    let c = b.bin(Bin::Div, k2[j], V::C(3.0));
                    let s = b.bin(Bin::Add, a, c);
                    let c = b.bin(Bin::Div, k3[j], V::C(3.0));
                    let s = b.bin(Bin::Add, s, c);
                    let c = b.bin(Bin::Div, k4[j], V::C(6.0));
                    let s = b.bin(Bin::Add, s, c);
                    b.bin(Bin::Add, s, x[j])
                })
                .collect()
        }
    };
    finish(spec, b, x1, &env, refractory, refr_row, (flag_row, nr_row), refr_steps, nrows)
}

impl Spec {
    /// No variables, parameters or inputs (for constant expressions).
    pub fn bare() -> Spec {
        Spec { vars: Vec::new(), subs: Vec::new(), params: Vec::new(), currents: Vec::new(), noise: Vec::new(), receptors: Vec::new(), threshold: None, reset: Vec::new(), refractory: false, method: Method::Euler, uses_time: false, uses_lastspike: false, uses_index: false, uses_size: false, refractory_expr: None, refractory_cond: None, recorded: Vec::new() }
    }
}

/// A constant expression of numbers and unit names: its dimension and value in working
/// units.
pub fn constant(e: &Expr) -> Result<(D, f64), CompileError> {
    let spec = Spec::bare();
    let mut b = B::new(0, 0);
    let env = Env { params: Vec::new(), currents: Vec::new(), not_refractory: None, dt: f64::NAN, t: None, lastspike: None, place: (None, None), noise: None };
    let (v, d) = env.ctx(&spec, Vec::new()).expr(&mut b, e, Src::Threshold)?;
    match v {
        V::C(x) if x.is_finite() => Ok((d, x)),
        _ => Err(err(Src::Threshold, e.start(), "not a finite constant")),
    }
}

/// Checks every subexpression (names, dimensions), also those nothing reads: the step
/// evaluates only those it uses.
pub fn check_subexpressions(spec: &Spec, pv: &[PV], dt: f64) -> Result<(), CompileError> {
    let mut b = B::new(1 << 20, 0);
    let params = pv.iter().map(|p| if let PV::C(x) = p { V::C(*x) } else { V::F(0) }).collect();
    let env = Env { params, currents: vec![V::F(0); spec.currents.len()], not_refractory: None, dt, t: Some(V::F(0)), lastspike: Some(V::F(0)), place: (Some(V::F(0)), Some(V::F(0))), noise: Some(vec![V::F(0); spec.noise.len()]) };
    let mut c = env.ctx(spec, vec![V::F(0); spec.vars.len()]);
    for (name, _, _, at) in &spec.subs {
        c.name(&mut b, name, *at, 0)?;
    }
    Ok(())
}

/// `x ← Φ x + Γ b` for the linear system of `spec` (with `nr` the refractoriness factor):
/// `A` from the derivatives at scaled unit vectors, with currents and per-neuron
/// parameters at 0 (constants, folded here: `exact::linear` checked that those enter only
/// `b`); `b` the derivatives at 0, computed in the step.
fn exact_step(b: &mut B, spec: &Spec, env: &Env, probe_params: &[V], x: &[V], nr: Option<V>) -> Result<Vec<V>, CompileError> {
    let n = spec.vars.len();
    let zero = vec![V::C(0.0); n];
    let mut probe_env = env.clone();
    probe_env.params = probe_params.to_vec();
    probe_env.currents.iter_mut().for_each(|c| *c = V::C(0.0));
    // `i` and `N` enter only `b` (`exact::linear`); values off the integers, so that no
    // `1/i` or `1/(N - 1)` makes the constant part infinite here.
    let off = |v: Option<V>, x: f64| v.map(|_| V::C(x));
    probe_env.place = (off(env.place.0, 0.5), off(env.place.1, 1048576.5));
    let probe = |vals: &[V]| -> Result<Vec<f64>, CompileError> {
        let mut scratch = B::new(b.nf, b.nm);
        let f = probe_env.derivs(&mut scratch, spec, vals, nr)?;
        f.iter()
            .map(|v| if let V::C(c) = v { Some(*c) } else { None })
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| err(spec.vars[0].src, 0, "the linear system's coefficients are not constants (a bug: `exact::linear` accepted it)"))
    };
    // Column j: (f(s e_j) - f(0)) / s, s = 2^30: the constant part's rounding stays far
    // below A's last bit.
    let s = 2f64.powi(30);
    let f0 = probe(&zero)?;
    let mut a = vec![0.0; n * n];
    for j in 0..n {
        let mut e = zero.clone();
        e[j] = V::C(s);
        let fj = probe(&e)?;
        for i in 0..n {
            a[i * n + j] = (fj[i] - f0[i]) / s;
        }
    }
    if let Some(bad) = a.iter().position(|x| !x.is_finite()) {
        let v = &spec.vars[bad / n];
        return Err(err(v.src, v.eq.start(), format!("the coefficient of `{}` in d{}/dt is {} with these parameters: `exact` needs finite coefficients", spec.vars[bad % n].name, v.name, a[bad])));
    }
    let (phi, gam) = crate::exact::propagators(&a, n, env.dt);
    let bvec = env.derivs(b, spec, &zero, nr)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut acc: Option<V> = None;
        let terms = (0..n).map(|j| (phi[i * n + j], x[j])).chain((0..n).map(|j| (gam[i * n + j], bvec[j])));
        for (c, v) in terms {
            if c == 0.0 || matches!(v, V::C(z) if z == 0.0) {
                continue;
            }
            let t = if c == 1.0 { v } else { b.bin(Bin::Mul, V::C(c), v) };
            acc = Some(match acc {
                None => t,
                Some(a) => b.bin(Bin::Add, a, t),
            });
        }
        out.push(acc.unwrap_or(V::C(0.0)));
    }
    Ok(out)
}

/// Threshold, reset, refractory counter and outputs, from the integrated values `x1`.
#[allow(clippy::too_many_arguments)]
fn finish(spec: &Spec, mut b: B, x1: Vec<V>, env: &Env, refractory: Option<u32>, refr_row: Option<u32>, (flag_row, nr_row): (Option<u32>, Option<u32>), refr_steps: f64, rows: usize) -> Result<Program, CompileError> {
    let nv = spec.vars.len();
    let x1_kept = x1.clone();
    let mut cur = x1;
    let mut quiet = env.clone();
    quiet.noise = None;
    let spike = match &spec.threshold {
        Some(t) => {
            let (v, _) = quiet.ctx(spec, cur.clone()).expr(&mut b, t, Src::Threshold)?;
            let V::M(m) = v else {
                return Err(err(Src::Threshold, t.start(), "the threshold must be a condition (`v > -50*mV`)"));
            };
            match refractory {
                Some(r) => {
                    let nr = b.op(Op::Not(r));
                    b.op(Op::And(m, nr))
                }
                None => m,
            }
        }
        None => {
            let z = b.f(V::C(0.0));
            b.op(Op::Gt(z, z))
        }
    };
    // Brian2's thresholder sets `lastspike = t` before the reset runs.
    let mut env = env.clone();
    env.noise = None;
    if let (Some(l), Some(t)) = (env.lastspike, env.t) {
        env.lastspike = Some(b.select(spike, t, l));
    }
    let env = &env;
    for s in &spec.reset {
        let src = Src::Reset(s.line);
        let Some(k) = spec.vars.iter().position(|v| v.name == s.target) else {
            return Err(err(src, s.col, format!("the reset sets `{}`, which is not a state variable (`d{}/dt = ...`)", s.target, s.target)));
        };
        let (val, d) = env.ctx(spec, cur.clone()).expr(&mut b, &s.value, src)?;
        let val = num(&mut b, val);
        let new = match s.op {
            Assign::Set | Assign::Add | Assign::Sub if d != spec.vars[k].dim => {
                return Err(err(src, s.value.start(), format!("`{}` is in {} but the value is in {d}", s.target, spec.vars[k].dim)));
            }
            Assign::Mul | Assign::Div if d != units::ONE => return Err(err(src, s.value.start(), format!("`{}` is multiplied or divided by a value in {d}; it must be a number", s.target))),
            Assign::Set => val,
            Assign::Add => b.bin(Bin::Add, cur[k], val),
            Assign::Sub => b.bin(Bin::Sub, cur[k], val),
            Assign::Mul => b.bin(Bin::Mul, cur[k], val),
            Assign::Div => b.bin(Bin::Div, cur[k], val),
        };
        cur[k] = b.select(spike, new, cur[k]);
    }
    let mut outputs: Vec<u32> = Vec::new();
    let after = cur.clone();
    for (k, v) in cur.into_iter().enumerate() {
        let d = spec.vars[k].dim;
        let back = if d.from_core() == 1.0 { v } else { b.bin(Bin::Div, v, V::C(d.from_core())) };
        outputs.push(b.f(back));
    }
    if let (Some(_), Some(m), Some(_)) = (refr_row, refractory, &spec.refractory_cond) {
        // 1 from a spike on, while the condition holds.
        let held = b.op(Op::Or(spike, m));
        let o = b.select(held, V::C(1.0), V::C(0.0));
        outputs.push(b.f(o));
    } else if let (Some(r), Some(m)) = (refr_row, refractory) {
        let steps = match &spec.refractory_expr {
            None => V::C(refr_steps),
            Some(e) => {
                let (v, d) = env.ctx(spec, x1_kept.clone()).expr(&mut b, e, Src::Refractory)?;
                if d != units::SECOND {
                    return Err(err(Src::Refractory, e.start(), format!("the refractory period is in {d}: it must be a time (`5*ms`, or a parameter `tau_ref : second`) or a condition (`v > -40*mV`)")));
                }
                // `refractory_steps`: max(⌊(t_ref + 10⁻³ dt)/dt⌋ − 1, 0), in the step.
                let dt = env.dt;
                let a = b.bin(Bin::Add, v, V::C(1e-3 * dt));
                let q = b.bin(Bin::Div, a, V::C(dt));
                let fl = b.math(q, spikeworld::api::program::Fun::Floor);
                let t1 = b.bin(Bin::Sub, fl, V::C(1.0));
                let (ft, z) = (b.f(t1), b.f(V::C(0.0)));
                let neg = b.op(Op::Lt(ft, z));
                b.select(neg, V::C(0.0), t1)
            }
        };
        let dec = b.bin(Bin::Sub, V::F(r), V::C(1.0));
        let kept = b.select(m, dec, V::F(r));
        let o = b.select(spike, steps, kept);
        outputs.push(b.f(o));
    }
    if flag_row.is_some() {
        let o = b.select(spike, V::C(1.0), V::C(0.0));
        outputs.push(b.f(o));
    }
    if let (Some(_), Some(r)) = (nr_row, refractory) {
        // Brian2's `not_refractory` after the threshold: 0 if refractory or just spiked.
        let blocked = b.op(Op::Or(r, spike));
        let o = b.select(blocked, V::C(0.0), V::C(1.0));
        outputs.push(b.f(o));
    }
    if let Some(r) = spec.tstep_row() {
        let o = b.bin(Bin::Add, V::F(r as u32), V::C(1.0));
        outputs.push(b.f(o));
    }
    if let Some(l) = env.lastspike {
        outputs.push(b.f(l));
    }
    for &s in &spec.recorded {
        let (name, _, d, src) = &spec.subs[s];
        let (v, _) = env.ctx(spec, after.clone()).expr(&mut b, &Expr::Name(name.clone(), 0), *src)?;
        let v = num(&mut b, v);
        let back = if d.from_core() == 1.0 { v } else { b.bin(Bin::Div, v, V::C(d.from_core())) };
        outputs.push(b.f(back));
    }
    // Parameter rows are constant.
    outputs.extend(outputs.len() as u32..rows as u32);
    debug_assert_eq!(outputs.len(), rows);
    let _ = nv;
    Ok(Program { vars: rows as u32, inputs: spec.inputs() as u32, ops: b.ops, consts: b.consts, outputs, spike })
}
