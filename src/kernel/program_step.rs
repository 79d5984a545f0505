//! [`ProgramStep`]: a model whose step is given as a [`Program`] (built by a plugin, not
//! traced from a [`crate::api::model::NeuronDynamics`]), run on every engine: the cpu
//! engine interprets it over chunks of neurons, the tensor engine one tensor operation per
//! program operation, the device engine compiles it like any traced step.
//!
//! Every engine runs the program's operations in order, as [`Program::run`] does for one
//! neuron, so the cpu engine and the device engine's host reference give the same bits;
//! the tensor engine's differ only where `exp` and `ln` do (burn's, not Rust's).

use std::cell::RefCell;
use std::sync::{Once, OnceLock};

use crate::api::model::{Col, ColMask, MAX_VARS, PreparedModel};
use crate::api::program::{Fun, Op, Program};
use crate::api::run::Simd;

use super::native::{NativeStep, enabled};
use super::program_plan::{CHUNK, Plan};

/// A prepared model given by its step program and its initial values.
pub(crate) struct ProgramStep {
    program: Program,
    consts: Vec<f64>,
    plan: Plan,
    /// The native build, made at the first cpu step (`None`: the interpreter runs).
    native: OnceLock<Option<NativeStep>>,
    initial: Vec<f64>,
}

impl ProgramStep {
    /// The model whose step is `program` (over `initial.len()` state variables).
    ///
    /// # Errors
    /// If the program is not well formed: an operand defined later than its use, a mask
    /// used as a float (or the reverse), a constant, output or spike mask out of range, or
    /// a different number of variables than `initial`. A plugin's bug, said in words.
    pub(crate) fn new(program: Program, initial: Vec<f64>) -> Result<ProgramStep, String> {
        check(&program)?;
        if initial.len() != program.vars as usize {
            return Err(format!("{} initial values for a program of {} variables", initial.len(), program.vars));
        }
        let consts = program.consts.iter().map(|&b| f64::from_bits(b)).collect();
        let plan = Plan::new(&program);
        Ok(ProgramStep { program, consts, plan, native: OnceLock::new(), initial })
    }
}

fn check(p: &Program) -> Result<(), String> {
    let mut floats = p.vars + p.inputs;
    let mut masks = 0u32;
    for (i, op) in p.ops.iter().enumerate() {
        if let Op::Const(k) = *op {
            if k as usize >= p.consts.len() {
                return Err(format!("operation {i}: constant {k} of {}", p.consts.len()));
            }
        }
        let (fs, ms) = op.operands();
        if let Some(f) = fs.iter().find(|&&f| f >= floats) {
            return Err(format!("operation {i} ({op:?}) reads float {f} before it is defined"));
        }
        if let Some(m) = ms.iter().find(|&&m| m >= masks) {
            return Err(format!("operation {i} ({op:?}) reads mask {m} before it is defined"));
        }
        if op.is_mask() {
            masks += 1;
        } else {
            floats += 1;
        }
    }
    if p.outputs.len() != p.vars as usize || p.outputs.iter().any(|&o| o >= floats) {
        return Err(format!("{} outputs for {} variables, or one past the {floats} floats", p.outputs.len(), p.vars));
    }
    if p.spike >= masks {
        return Err(format!("spike mask {} of {masks}", p.spike));
    }
    Ok(())
}

thread_local! {
    /// The interpreter's registers (floats, then masks): kept between calls so that a step
    /// allocates nothing.
    static SCRATCH: RefCell<(Vec<f64>, Vec<u64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// The native build's buffers: zeros standing for absent inputs (one per input: the
    /// kernel's pointers may not alias), and the spike flags.
    static NATIVE: RefCell<(Vec<Vec<f64>>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

static NO_NATIVE: Once = Once::new();

/// A float of the tensor interpreter: a program constant stays a number, so that it enters
/// tensor operations as a scalar.
#[derive(Clone)]
enum TVal {
    C(f64),
    T(Col),
}

impl TVal {
    fn col(&self, like: &Col) -> Col {
        match self {
            TVal::C(x) => Col(like.0.clone().full_like(*x)),
            TVal::T(c) => c.clone(),
        }
    }
}

impl PreparedModel for ProgramStep {
    fn initial(&self) -> Vec<f64> {
        self.initial.clone()
    }

    fn step_cpu_with(&self, simd: Simd, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
        let n = vars.first().map_or(0, |v| v.len());
        let native = self.native.get_or_init(|| {
            if !enabled() {
                return None;
            }
            NativeStep::build(&self.program)
                .map_err(|e| NO_NATIVE.call_once(|| eprintln!("note: models given as programs (`[neuron_models]`) are interpreted, not compiled: {e} (SPIKEWORLD_NATIVE=0 skips the attempt)")))
                .ok()
        });
        if let Some(native) = native {
            assert!(vars.iter().all(|v| v.len() == n) && inputs.iter().all(|i| i.is_empty() || i.len() == n), "a range's rows have one value per neuron");
            NATIVE.with(|b| {
                let mut b = b.borrow_mut();
                let (zeros, spiked) = &mut *b;
                zeros.resize_with(inputs.len(), Vec::new);
                spiked.resize(n.next_multiple_of(8), 0);
                let mut vp = [std::ptr::null_mut(); MAX_VARS];
                let mut ip = [std::ptr::null_mut(); MAX_VARS];
                for (p, v) in vp.iter_mut().zip(vars.iter_mut()) {
                    *p = v.as_mut_ptr();
                }
                for ((p, i), z) in ip.iter_mut().zip(inputs.iter_mut()).zip(zeros.iter_mut()) {
                    *p = if i.is_empty() {
                        z.resize(n, 0.0);
                        z.as_mut_ptr()
                    } else {
                        i.as_mut_ptr()
                    };
                }
                native.run(&vp[..vars.len()], &ip[..inputs.len()], n, &mut spiked[..n]);
                // Eight flags at a time: most are 0.
                for (c, w) in spiked.chunks_exact(8).enumerate() {
                    let mut bits = u64::from_le_bytes(w.try_into().expect("eight flags"));
                    while bits != 0 {
                        let j = c * 8 + bits.trailing_zeros() as usize / 8;
                        if j < n {
                            spikes.push(offset + j as u32);
                        }
                        bits &= !(0xffu64 << (bits.trailing_zeros() / 8 * 8));
                    }
                }
            });
            return;
        }
        let (nf, nm) = self.plan.sizes();
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let (f, m) = &mut *s;
            f.resize(nf, 0.0);
            m.resize(nm, 0);
            let mut lo = 0;
            while lo < n {
                let len = CHUNK.min(n - lo);
                self.plan.run(simd, &mut f[..nf], &mut m[..nm], vars, inputs, lo, len, offset, spikes);
                lo += len;
            }
        });
    }

    fn step_tensor(&self, vars: &mut [Col], inputs: &[Col]) -> ColMask {
        let p = &self.program;
        let like = vars[0].clone();
        let mut f: Vec<TVal> = vars.iter().chain(inputs).map(|c| TVal::T(c.clone())).collect();
        let mut m: Vec<ColMask> = Vec::new();
        for op in &p.ops {
            let t = |i: u32| f[i as usize].col(&like).0;
            let fv = |i: u32| &f[i as usize];
            let cmp = |a: u32, b: u32, tt: fn(Col, Col) -> ColMask, tc: fn(Col, f64) -> ColMask, ct: fn(Col, f64) -> ColMask| match (fv(a), fv(b)) {
                (TVal::T(x), TVal::C(y)) => tc(x.clone(), *y),
                (TVal::C(x), TVal::T(y)) => ct(y.clone(), *x),
                _ => tt(Col(t(a)), Col(t(b))),
            };
            match *op {
                Op::Gt(a, b) => m.push(cmp(a, b, |x, y| x.0.greater(y.0), |x, y| x.0.greater_elem(y), |y, x| y.0.lower_elem(x))),
                Op::Ge(a, b) => m.push(cmp(a, b, |x, y| x.0.greater_equal(y.0), |x, y| x.0.greater_equal_elem(y), |y, x| y.0.lower_equal_elem(x))),
                Op::Lt(a, b) => m.push(cmp(a, b, |x, y| x.0.lower(y.0), |x, y| x.0.lower_elem(y), |y, x| y.0.greater_elem(x))),
                Op::Le(a, b) => m.push(cmp(a, b, |x, y| x.0.lower_equal(y.0), |x, y| x.0.lower_equal_elem(y), |y, x| y.0.greater_equal_elem(x))),
                Op::And(a, b) => m.push(m[a as usize].clone().bool_and(m[b as usize].clone())),
                Op::Or(a, b) => m.push(m[a as usize].clone().bool_or(m[b as usize].clone())),
                Op::Not(a) => m.push(m[a as usize].clone().bool_not()),
                Op::Const(k) => f.push(TVal::C(self.consts[k as usize])),
                Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => {
                    let v = match (fv(a), fv(b)) {
                        (TVal::C(x), TVal::C(y)) => TVal::C(scalar(op, *x, *y)),
                        (TVal::T(x), TVal::C(y)) => TVal::T(match op {
                            Op::Add(..) => x.clone() + *y,
                            Op::Sub(..) => x.clone() - *y,
                            Op::Mul(..) => x.clone() * *y,
                            _ => x.clone() / *y,
                        }),
                        // x + t = t + x and x * t = t * x exactly; x - t = -(t - x) exactly
                        // (rounding to nearest is symmetric).
                        (TVal::C(x), TVal::T(y)) => TVal::T(match op {
                            Op::Add(..) => y.clone() + *x,
                            Op::Sub(..) => -(y.clone() - *x),
                            Op::Mul(..) => y.clone() * *x,
                            _ => Col(y.0.clone().full_like(*x) / y.0.clone()),
                        }),
                        (TVal::T(x), TVal::T(y)) => TVal::T(match op {
                            Op::Add(..) => x.clone() + y.clone(),
                            Op::Sub(..) => x.clone() - y.clone(),
                            Op::Mul(..) => x.clone() * y.clone(),
                            _ => x.clone() / y.clone(),
                        }),
                    };
                    f.push(v);
                }
                Op::Neg(a) | Op::Exp(a) | Op::Ln(a) | Op::Sqrt(a) | Op::Abs(a) => {
                    let v = match fv(a) {
                        TVal::C(x) => TVal::C(match op {
                            Op::Neg(_) => -x,
                            Op::Exp(_) => x.exp(),
                            Op::Ln(_) => x.ln(),
                            Op::Sqrt(_) => x.sqrt(),
                            _ => x.abs(),
                        }),
                        TVal::T(x) => TVal::T(Col(match op {
                            Op::Neg(_) => x.0.clone().neg(),
                            Op::Exp(_) => x.0.clone().exp(),
                            Op::Ln(_) => x.0.clone().log(),
                            Op::Sqrt(_) => x.0.clone().sqrt(),
                            _ => x.0.clone().abs(),
                        })),
                    };
                    f.push(v);
                }
                Op::Math(g, a) => f.push(match fv(a) {
                    TVal::C(x) => TVal::C(g.eval(*x)),
                    TVal::T(x) => TVal::T(Col(math_tensor(g, x.0.clone()))),
                }),
                Op::Select(c, a, b) => {
                    let mask = m[c as usize].clone();
                    let v = match (fv(a), fv(b)) {
                        (TVal::C(x), TVal::T(y)) => Col(y.0.clone().mask_fill(mask, *x)),
                        (TVal::T(x), TVal::C(y)) => Col(x.0.clone().mask_fill(mask.bool_not(), *y)),
                        _ => Col(t(b).mask_where(mask, t(a))),
                    };
                    f.push(TVal::T(v));
                }
            }
        }
        for (k, v) in vars.iter_mut().enumerate() {
            let o = p.outputs[k] as usize;
            if o != k {
                *v = f[o].col(&like);
            }
        }
        m[p.spike as usize].clone()
    }

    fn program(&self) -> Option<Program> {
        Some(self.program.clone())
    }
}

fn scalar(op: &Op, x: f64, y: f64) -> f64 {
    match op {
        Op::Add(..) => x + y,
        Op::Sub(..) => x - y,
        Op::Mul(..) => x * y,
        _ => x / y,
    }
}

/// `g` over a tensor: burn's function where it has one; `expm1` as Kahan's `(u - 1) x /
/// ln u` with `u = e^x` (exact to a few ulps, also near 0, where `e^x - 1` loses all its
/// digits), `log10` as `ln x / ln 10`.
fn math_tensor(g: Fun, x: burn::tensor::Tensor<crate::api::col::TensorBackend, 1>) -> burn::tensor::Tensor<crate::api::col::TensorBackend, 1> {
    match g {
        Fun::Sin => x.sin(),
        Fun::Cos => x.cos(),
        Fun::Tan => x.tan(),
        Fun::Sinh => x.sinh(),
        Fun::Cosh => x.cosh(),
        Fun::Tanh => x.tanh(),
        Fun::Asin => x.asin(),
        Fun::Acos => x.acos(),
        Fun::Atan => x.atan(),
        Fun::Log1p => x.log1p(),
        Fun::Log10 => x.log().div_scalar(std::f64::consts::LN_10),
        Fun::Floor => x.floor(),
        Fun::Ceil => x.ceil(),
        Fun::Expm1 => {
            let u = x.clone().exp();
            let um1 = u.clone().sub_scalar(1.0);
            let r = um1.clone() * (x.clone() / u.clone().log());
            let r = r.mask_where(u.clone().equal_elem(1.0), x);
            let r = r.mask_fill(um1.equal_elem(-1.0), -1.0);
            r.mask_fill(u.is_inf(), f64::INFINITY)
        }
    }
}
