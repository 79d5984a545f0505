//! The cpu engine's interpreter of a [`Program`]: operations resolved once into steps over
//! registers of [`CHUNK`] neurons, constants kept as numbers (never filled into
//! registers), registers reused once their value is dead, every loop of a fixed length so
//! that it compiles to vector instructions. Each lane computes exactly what
//! [`Program::run`] computes for one neuron.
//!
//! `unsafe` here: calling the AVX2 and AVX-512 builds of the interpreter after checking
//! that the CPU has those features (as the fused loop does); every build runs the same
//! IEEE operations, so they give the same bits.
#![expect(unsafe_code, reason = "the AVX2 and AVX-512 builds of the interpreter are called after a run-time feature check")]

use crate::api::program::{Fun, Op, Program};
use crate::api::run::Simd;

/// Neurons one pass of the plan covers.
pub(crate) const CHUNK: usize = 128;

type Reg = [f64; CHUNK];
/// A mask register: all ones (true) or zero per lane, as wide as a lane, so that compares
/// and selects compile to vector compares and blends.
type MReg = [u64; CHUNK];

#[derive(Clone, Copy, Debug)]
enum Arg {
    R(u32),
    K(f64),
}

#[derive(Clone, Copy, Debug)]
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Copy, Debug)]
enum Un {
    Neg,
    Exp,
    Ln,
    Sqrt,
    Abs,
    Math(Fun),
}

#[derive(Clone, Copy, Debug)]
enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Bin(Bin, Arg, Arg, u32),
    Un(Un, u32, u32),
    Sel(u32, Arg, Arg, u32),
    Cmp(Cmp, Arg, Arg, u32),
    And(u32, u32, u32),
    Or(u32, u32, u32),
    Not(u32, u32),
}

/// A program resolved for the interpreter.
pub(crate) struct Plan {
    steps: Vec<Step>,
    regs: usize,
    mregs: usize,
    /// Register of each variable and input on entry.
    vars: usize,
    inputs: usize,
    /// Where each variable's new value is (`None`: unchanged), and the spike mask.
    outputs: Vec<Option<Arg>>,
    spike: Option<u32>,
}

impl Plan {
    pub(crate) fn new(p: &Program) -> Plan {
        let nf0 = (p.vars + p.inputs) as usize;
        let nfloats = p.floats();
        // Float k's constant value, if it is a constant.
        let mut konst: Vec<Option<f64>> = vec![None; nfloats];
        let mut mask_op = Vec::new();
        let mut fi = nf0;
        for (i, op) in p.ops.iter().enumerate() {
            if op.is_mask() {
                mask_op.push(i);
            } else {
                if let Op::Const(k) = op {
                    konst[fi] = Some(f64::from_bits(p.consts[*k as usize]));
                }
                fi += 1;
            }
        }
        let _ = fi;
        // Last use (operation index) of each float and mask; outputs live to the end.
        let end = p.ops.len();
        let mut last_f = vec![0usize; nfloats];
        let mut last_m = vec![0usize; mask_op.len()];
        for (i, op) in p.ops.iter().enumerate() {
            let (fs, ms) = op.operands();
            fs.iter().for_each(|&f| last_f[f as usize] = last_f[f as usize].max(i));
            ms.iter().for_each(|&m| last_m[m as usize] = last_m[m as usize].max(i));
        }
        for &o in &p.outputs {
            last_f[o as usize] = end;
        }
        if (p.spike as usize) < last_m.len() {
            last_m[p.spike as usize] = end;
        }
        // Registers: variables and inputs first (in order), then allocated as defined,
        // freed after their last use.
        let mut reg = vec![u32::MAX; nfloats];
        let mut free: Vec<u32> = Vec::new();
        let mut regs = nf0;
        for (f, r) in reg.iter_mut().enumerate().take(nf0) {
            *r = f as u32;
        }
        let mut mreg = vec![u32::MAX; mask_op.len()];
        let mut mfree: Vec<u32> = Vec::new();
        let mut mregs = 0usize;
        let arg = |f: u32, reg: &[u32], konst: &[Option<f64>]| match konst[f as usize] {
            Some(x) => Arg::K(x),
            None => Arg::R(reg[f as usize]),
        };
        let mut steps = Vec::new();
        let (mut fi, mut mi) = (nf0, 0usize);
        let _ = &mask_op;
        for (i, op) in p.ops.iter().enumerate() {
            // A float operation of constants only is computed here, once (the same IEEE
            // operation the step would run).
            if !op.is_mask() {
                let k = |a: u32| konst[a as usize];
                let folded = match *op {
                    Op::Add(a, b) => k(a).zip(k(b)).map(|(x, y)| x + y),
                    Op::Sub(a, b) => k(a).zip(k(b)).map(|(x, y)| x - y),
                    Op::Mul(a, b) => k(a).zip(k(b)).map(|(x, y)| x * y),
                    Op::Div(a, b) => k(a).zip(k(b)).map(|(x, y)| x / y),
                    Op::Neg(a) => k(a).map(|x| -x),
                    Op::Exp(a) => k(a).map(f64::exp),
                    Op::Ln(a) => k(a).map(f64::ln),
                    Op::Sqrt(a) => k(a).map(f64::sqrt),
                    Op::Abs(a) => k(a).map(f64::abs),
                    Op::Math(g, a) => k(a).map(|x| g.eval(x)),
                    _ => None,
                };
                if let Some(x) = folded {
                    konst[fi] = Some(x);
                }
            }
            // Operands are read before this op's result is placed: a register freed by this
            // op's last use may hold its result (every step reads a lane before writing it).
            let step = match *op {
                Op::Const(_) => None,
                Op::Add(a, b) => Some(Step::Bin(Bin::Add, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Sub(a, b) => Some(Step::Bin(Bin::Sub, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Mul(a, b) => Some(Step::Bin(Bin::Mul, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Div(a, b) => Some(Step::Bin(Bin::Div, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Neg(a) => Some(Step::Un(Un::Neg, reg[a as usize], 0)),
                Op::Exp(a) => Some(Step::Un(Un::Exp, reg[a as usize], 0)),
                Op::Ln(a) => Some(Step::Un(Un::Ln, reg[a as usize], 0)),
                Op::Sqrt(a) => Some(Step::Un(Un::Sqrt, reg[a as usize], 0)),
                Op::Abs(a) => Some(Step::Un(Un::Abs, reg[a as usize], 0)),
                Op::Math(g, a) => Some(Step::Un(Un::Math(g), reg[a as usize], 0)),
                Op::Select(m, a, b) => Some(Step::Sel(mreg[m as usize], arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Gt(a, b) => Some(Step::Cmp(Cmp::Gt, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Ge(a, b) => Some(Step::Cmp(Cmp::Ge, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Lt(a, b) => Some(Step::Cmp(Cmp::Lt, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::Le(a, b) => Some(Step::Cmp(Cmp::Le, arg(a, &reg, &konst), arg(b, &reg, &konst), 0)),
                Op::And(a, b) => Some(Step::And(mreg[a as usize], mreg[b as usize], 0)),
                Op::Or(a, b) => Some(Step::Or(mreg[a as usize], mreg[b as usize], 0)),
                Op::Not(a) => Some(Step::Not(mreg[a as usize], 0)),
            };
            if op.is_mask() {
                let r = mfree.pop().unwrap_or_else(|| {
                    mregs += 1;
                    mregs as u32 - 1
                });
                mreg[mi] = r;
                mi += 1;
                if let Some(mut s) = step {
                    set_out(&mut s, r);
                    steps.push(s);
                }
            } else {
                let f = fi;
                fi += 1;
                if konst[f].is_none() {
                    let r = free.pop().unwrap_or_else(|| {
                        regs += 1;
                        regs as u32 - 1
                    });
                    reg[f] = r;
                    if let Some(mut s) = step {
                        set_out(&mut s, r);
                        steps.push(s);
                    }
                }
            }
            // Free what dies here, after the result has its register: a result never shares
            // one with its operands. (Variables' registers live to the end when they are
            // outputs.)
            let (fs, ms) = op.operands();
            for f in fs {
                if last_f[f as usize] == i && konst[f as usize].is_none() && !free.contains(&reg[f as usize]) {
                    free.push(reg[f as usize]);
                }
            }
            for m in ms {
                if last_m[m as usize] == i && !mfree.contains(&mreg[m as usize]) {
                    mfree.push(mreg[m as usize]);
                }
            }
        }
        let outputs = p.outputs.iter().enumerate().map(|(k, &o)| if o as usize == k { None } else { Some(arg(o, &reg, &konst)) }).collect();
        Plan { steps, regs, mregs: mregs.max(1), vars: p.vars as usize, inputs: p.inputs as usize, outputs, spike: Some(mreg[p.spike as usize]) }
    }

    /// Registers needed (floats, masks).
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.regs * CHUNK, self.mregs * CHUNK)
    }

    /// Runs neurons `lo..lo + n` (`n` ≤ [`CHUNK`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(&self, simd: Simd, f: &mut [f64], m: &mut [u64], vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], lo: usize, n: usize, offset: u32, spikes: &mut Vec<u32>) {
        #[cfg(target_arch = "x86_64")]
        {
            if simd >= Simd::Avx512 && Simd::Avx512.supported() {
                // SAFETY: the CPU supports AVX2, AVX-512 F, VL and DQ (`Simd::supported`).
                unsafe { self.run_avx512(f, m, vars, inputs, lo, n, offset, spikes) };
                return;
            }
            if simd >= Simd::Avx2 && Simd::Avx2.supported() {
                // SAFETY: the CPU supports AVX2 (`Simd::supported`).
                unsafe { self.run_avx2(f, m, vars, inputs, lo, n, offset, spikes) };
                return;
            }
        }
        let _ = simd;
        self.run_any(f, m, vars, inputs, lo, n, offset, spikes);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_avx2(&self, f: &mut [f64], m: &mut [u64], vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], lo: usize, n: usize, offset: u32, spikes: &mut Vec<u32>) {
        self.run_any(f, m, vars, inputs, lo, n, offset, spikes);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,avx512f,avx512vl,avx512dq")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_avx512(&self, f: &mut [f64], m: &mut [u64], vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], lo: usize, n: usize, offset: u32, spikes: &mut Vec<u32>) {
        self.run_any(f, m, vars, inputs, lo, n, offset, spikes);
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn run_any(&self, f: &mut [f64], m: &mut [u64], vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], lo: usize, n: usize, offset: u32, spikes: &mut Vec<u32>) {
        let f: &mut [Reg] = as_regs(f);
        let m: &mut [MReg] = as_mregs(m);
        let full = n == CHUNK;
        for (k, v) in vars.iter().enumerate().take(self.vars) {
            if full {
                f[k] = *<&Reg>::try_from(&v[lo..lo + CHUNK]).expect("a chunk");
            } else {
                f[k][..n].copy_from_slice(&v[lo..lo + n]);
            }
        }
        for (r, i) in inputs.iter_mut().enumerate().take(self.inputs) {
            let dst = &mut f[self.vars + r];
            if i.is_empty() {
                dst.fill(0.0);
            } else if full {
                let src = <&mut Reg>::try_from(&mut i[lo..lo + CHUNK]).expect("a chunk");
                *dst = *src;
                *src = [0.0; CHUNK];
            } else {
                dst[..n].copy_from_slice(&i[lo..lo + n]);
                i[lo..lo + n].fill(0.0);
            }
        }
        for s in &self.steps {
            match *s {
                Step::Bin(op, a, b, o) => match op {
                    Bin::Add => bin(f, a, b, o, |x, y| x + y),
                    Bin::Sub => bin(f, a, b, o, |x, y| x - y),
                    Bin::Mul => bin(f, a, b, o, |x, y| x * y),
                    Bin::Div => bin(f, a, b, o, |x, y| x / y),
                },
                Step::Un(op, a, o) => match op {
                    Un::Neg => unary(f, a, o, |x| -x),
                    Un::Exp => unary(f, a, o, f64::exp),
                    Un::Ln => unary(f, a, o, f64::ln),
                    Un::Sqrt => unary(f, a, o, f64::sqrt),
                    Un::Abs => unary(f, a, o, f64::abs),
                    Un::Math(g) => unary(f, a, o, g.func()),
                },
                Step::Sel(c, a, b, o) => select(f, &m[c as usize], a, b, o),
                Step::Cmp(op, a, b, o) => match op {
                    Cmp::Gt => compare(f, &mut m[o as usize], a, b, |x, y| x > y),
                    Cmp::Ge => compare(f, &mut m[o as usize], a, b, |x, y| x >= y),
                    Cmp::Lt => compare(f, &mut m[o as usize], a, b, |x, y| x < y),
                    Cmp::Le => compare(f, &mut m[o as usize], a, b, |x, y| x <= y),
                },
                Step::And(a, b, o) => logic(m, a, b, o, |x, y| x & y),
                Step::Or(a, b, o) => logic(m, a, b, o, |x, y| x | y),
                Step::Not(a, o) => logic(m, a, a, o, |x, _| !x),
            }
        }
        for (k, v) in vars.iter_mut().enumerate().take(self.vars) {
            match self.outputs[k] {
                None => {}
                Some(Arg::R(r)) if full => *<&mut Reg>::try_from(&mut v[lo..lo + CHUNK]).expect("a chunk") = f[r as usize],
                Some(Arg::R(r)) => v[lo..lo + n].copy_from_slice(&f[r as usize][..n]),
                Some(Arg::K(x)) => v[lo..lo + n].fill(x),
            }
        }
        if let Some(s) = self.spike {
            let s = &m[s as usize][..n];
            if s.iter().any(|&b| b != 0) {
                spikes.extend(s.iter().enumerate().filter(|(_, b)| **b != 0).map(|(j, _)| offset + (lo + j) as u32));
            }
        }
    }
}

fn set_out(s: &mut Step, r: u32) {
    match s {
        Step::Bin(.., o) | Step::Un(.., o) | Step::Sel(.., o) | Step::Cmp(.., o) | Step::And(.., o) | Step::Or(.., o) | Step::Not(.., o) => *o = r,
    }
}

/// The output register and the operand registers, which never coincide with it.
macro_rules! regs {
    ($f:expr, $o:expr, $($r:expr),+) => {
        $f.get_disjoint_mut([$o as usize, $($r as usize),+]).expect("a result has its own register")
    };
}

#[inline(always)]
fn bin(f: &mut [Reg], a: Arg, b: Arg, o: u32, g: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Arg::R(x), Arg::R(y)) if x == y => {
            let [out, x] = regs!(f, o, x);
            (0..CHUNK).for_each(|j| out[j] = g(x[j], x[j]));
        }
        (Arg::R(x), Arg::R(y)) => {
            let [out, x, y] = regs!(f, o, x, y);
            (0..CHUNK).for_each(|j| out[j] = g(x[j], y[j]));
        }
        (Arg::R(x), Arg::K(k)) => {
            let [out, x] = regs!(f, o, x);
            (0..CHUNK).for_each(|j| out[j] = g(x[j], k));
        }
        (Arg::K(k), Arg::R(y)) => {
            let [out, y] = regs!(f, o, y);
            (0..CHUNK).for_each(|j| out[j] = g(k, y[j]));
        }
        (Arg::K(k), Arg::K(l)) => f[o as usize].fill(g(k, l)),
    }
}

#[inline(always)]
fn unary(f: &mut [Reg], a: u32, o: u32, g: impl Fn(f64) -> f64) {
    let [out, x] = regs!(f, o, a);
    (0..CHUNK).for_each(|j| out[j] = g(x[j]));
}

#[inline(always)]
fn select(f: &mut [Reg], mask: &MReg, a: Arg, b: Arg, o: u32) {
    match (a, b) {
        (Arg::R(x), Arg::R(y)) if x == y => {
            let [out, x] = regs!(f, o, x);
            out.copy_from_slice(x);
        }
        (Arg::R(x), Arg::R(y)) => {
            let [out, x, y] = regs!(f, o, x, y);
            (0..CHUNK).for_each(|j| out[j] = blend(mask[j], x[j], y[j]));
        }
        (Arg::R(x), Arg::K(k)) => {
            let [out, x] = regs!(f, o, x);
            (0..CHUNK).for_each(|j| out[j] = blend(mask[j], x[j], k));
        }
        (Arg::K(k), Arg::R(y)) => {
            let [out, y] = regs!(f, o, y);
            (0..CHUNK).for_each(|j| out[j] = blend(mask[j], k, y[j]));
        }
        (Arg::K(k), Arg::K(l)) => {
            let out = &mut f[o as usize];
            (0..CHUNK).for_each(|j| out[j] = blend(mask[j], k, l));
        }
    }
}

/// `if mask { x } else { y }` on the bits (a blend, not a branch).
#[inline(always)]
fn blend(mask: u64, x: f64, y: f64) -> f64 {
    f64::from_bits((x.to_bits() & mask) | (y.to_bits() & !mask))
}

/// A comparison's lane: all ones or zero.
#[inline(always)]
fn lane(b: bool) -> u64 {
    u64::from(b).wrapping_neg()
}

#[inline(always)]
fn compare(f: &[Reg], out: &mut MReg, a: Arg, b: Arg, g: impl Fn(f64, f64) -> bool) {
    match (a, b) {
        (Arg::R(x), Arg::R(y)) => {
            let (x, y) = (&f[x as usize], &f[y as usize]);
            (0..CHUNK).for_each(|j| out[j] = lane(g(x[j], y[j])));
        }
        (Arg::R(x), Arg::K(k)) => {
            let x = &f[x as usize];
            (0..CHUNK).for_each(|j| out[j] = lane(g(x[j], k)));
        }
        (Arg::K(k), Arg::R(y)) => {
            let y = &f[y as usize];
            (0..CHUNK).for_each(|j| out[j] = lane(g(k, y[j])));
        }
        (Arg::K(k), Arg::K(l)) => out.fill(lane(g(k, l))),
    }
}

#[inline(always)]
fn logic(m: &mut [MReg], a: u32, b: u32, o: u32, g: impl Fn(u64, u64) -> u64) {
    if a == b {
        let [out, x] = regs!(m, o, a);
        (0..CHUNK).for_each(|j| out[j] = g(x[j], x[j]));
    } else {
        let [out, x, y] = regs!(m, o, a, b);
        (0..CHUNK).for_each(|j| out[j] = g(x[j], y[j]));
    }
}

fn as_regs(f: &mut [f64]) -> &mut [Reg] {
    let (regs, rest) = f.as_chunks_mut::<CHUNK>();
    debug_assert!(rest.is_empty());
    regs
}

fn as_mregs(m: &mut [u64]) -> &mut [MReg] {
    let (regs, rest) = m.as_chunks_mut::<CHUNK>();
    debug_assert!(rest.is_empty());
    regs
}
