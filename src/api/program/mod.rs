//! A model's step as a straight-line program: what the device engine compiles into one
//! fused kernel per population.
//!
//! A [`crate::api::model::NeuronDynamics`] is written once over [`Lanes`]. Running its
//! `step` on [`Sym`] lanes records every operation, in order, into a [`Program`]: the
//! same IEEE operations the cpu engine runs on `f64`, so a kernel that executes the
//! program operation by operation (with no fused multiply-add) gives the cpu engine's
//! bits. Branches a model takes on its coefficients are taken while tracing; the program
//! has none. Constants (coefficients, thresholds) go into [`Program::consts`].

use std::cell::RefCell;
use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::api::model::Lanes;

mod host;
pub use host::{Column, floor_exact};

/// One operation. Float results are numbered in order of definition (the state
/// variables first, then the inputs, then each float operation); masks likewise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Float: constant `consts[k]`.
    Const(u32),
    /// Float: `a + b`.
    Add(u32, u32),
    /// Float: `a - b`.
    Sub(u32, u32),
    /// Float: `a * b`.
    Mul(u32, u32),
    /// Float: `a / b`.
    Div(u32, u32),
    /// Float: `-a`.
    Neg(u32),
    /// Float: `e^a`.
    Exp(u32),
    /// Float: `ln a`.
    Ln(u32),
    /// Float: `sqrt a`.
    Sqrt(u32),
    /// Float: `|a|`.
    Abs(u32),
    /// Float: a function of `a` from C99's math library ([`Fun`]).
    Math(Fun, u32),
    /// Float: `if m { a } else { b }` (mask, float, float).
    Select(u32, u32, u32),
    /// Mask: `a > b` (floats).
    Gt(u32, u32),
    /// Mask: `a >= b`.
    Ge(u32, u32),
    /// Mask: `a < b`.
    Lt(u32, u32),
    /// Mask: `a <= b`.
    Le(u32, u32),
    /// Mask: `a && b` (masks).
    And(u32, u32),
    /// Mask: `a || b`.
    Or(u32, u32),
    /// Mask: `!a`.
    Not(u32),
}

impl Op {
    /// The floats and the masks the operation reads.
    pub fn operands(&self) -> (Vec<u32>, Vec<u32>) {
        match *self {
            Op::Const(_) => (vec![], vec![]),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) | Op::Gt(a, b) | Op::Ge(a, b) | Op::Lt(a, b) | Op::Le(a, b) => (vec![a, b], vec![]),
            Op::Neg(a) | Op::Exp(a) | Op::Ln(a) | Op::Sqrt(a) | Op::Abs(a) | Op::Math(_, a) => (vec![a], vec![]),
            Op::Select(m, a, b) => (vec![a, b], vec![m]),
            Op::And(a, b) | Op::Or(a, b) => (vec![], vec![a, b]),
            Op::Not(a) => (vec![], vec![a]),
        }
    }

    /// Whether the operation defines a mask (else a float).
    pub fn is_mask(&self) -> bool {
        matches!(self, Op::Gt(..) | Op::Ge(..) | Op::Lt(..) | Op::Le(..) | Op::And(..) | Op::Or(..) | Op::Not(..))
    }
}

/// A function of one float beyond `exp`, `ln`, `sqrt` and `|x|`: each is the C99 function
/// of [`Fun::c_name`], and [`Fun::eval`] calls the same function of the platform's math
/// library (Rust's `f64` methods do), so the cpu engine's interpreter and its native build
/// agree bit for bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fun {
    /// `sin x`.
    Sin,
    /// `cos x`.
    Cos,
    /// `tan x`.
    Tan,
    /// `sinh x`.
    Sinh,
    /// `cosh x`.
    Cosh,
    /// `tanh x`.
    Tanh,
    /// `arcsin x`.
    Asin,
    /// `arccos x`.
    Acos,
    /// `arctan x`.
    Atan,
    /// `e^x - 1`, exact near 0.
    Expm1,
    /// `ln(1 + x)`, exact near 0.
    Log1p,
    /// `log10 x`.
    Log10,
    /// `⌊x⌋`.
    Floor,
    /// `⌈x⌉`.
    Ceil,
}

impl Fun {
    /// Every function.
    pub const ALL: [Fun; 14] = [Fun::Sin, Fun::Cos, Fun::Tan, Fun::Sinh, Fun::Cosh, Fun::Tanh, Fun::Asin, Fun::Acos, Fun::Atan, Fun::Expm1, Fun::Log1p, Fun::Log10, Fun::Floor, Fun::Ceil];

    /// Its name in C99 (and CUDA).
    pub fn c_name(self) -> &'static str {
        match self {
            Fun::Sin => "sin",
            Fun::Cos => "cos",
            Fun::Tan => "tan",
            Fun::Sinh => "sinh",
            Fun::Cosh => "cosh",
            Fun::Tanh => "tanh",
            Fun::Asin => "asin",
            Fun::Acos => "acos",
            Fun::Atan => "atan",
            Fun::Expm1 => "expm1",
            Fun::Log1p => "log1p",
            Fun::Log10 => "log10",
            Fun::Floor => "floor",
            Fun::Ceil => "ceil",
        }
    }

    /// Its value at `x`.
    #[inline]
    pub fn eval(self, x: f64) -> f64 {
        self.func()(x)
    }

    /// The function itself (one dispatch for a loop over many values).
    pub fn func(self) -> fn(f64) -> f64 {
        match self {
            Fun::Sin => f64::sin,
            Fun::Cos => f64::cos,
            Fun::Tan => f64::tan,
            Fun::Sinh => f64::sinh,
            Fun::Cosh => f64::cosh,
            Fun::Tanh => f64::tanh,
            Fun::Asin => f64::asin,
            Fun::Acos => f64::acos,
            Fun::Atan => f64::atan,
            Fun::Expm1 => f64::exp_m1,
            Fun::Log1p => f64::ln_1p,
            Fun::Log10 => f64::log10,
            Fun::Floor => host::floor_exact,
            Fun::Ceil => f64::ceil,
        }
    }

    /// Whether every math library gives its correctly rounded value (`floor`, `ceil`);
    /// the others' last bit may differ between CPU and GPU libraries.
    pub fn is_exact(self) -> bool {
        matches!(self, Fun::Floor | Fun::Ceil)
    }
}

/// How a generator of C-like source (the device engine's CUDA kernels, the cpu engine's
/// native build) writes a program's values: float `k` is `f{k}{suffix}`, mask `k` is
/// `m{k}{suffix}` of type `mask`, constants by `konst` (from their bits).
pub struct CStyle<'a> {
    /// Appended to every value's name (`_0`: one of several neurons a thread updates).
    pub suffix: &'a str,
    /// The C type of a mask (`bool`, `int`).
    pub mask: &'a str,
    /// Mask conjunction and disjunction (`&&`/`||`, or `&`/`|` on `int` masks, which
    /// compilers vectorise without branches).
    pub and: &'a str,
    /// See `and`.
    pub or: &'a str,
    /// An exact literal of a constant, from its bits.
    pub konst: &'a dyn Fn(u64) -> String,
}

impl Op {
    /// The operation as one C statement defining float `f` or mask `m` (whichever it
    /// defines): one IEEE operation, so that a compiler with no contraction of `a * b + c`
    /// gives [`Program::run`]'s bits.
    pub fn c_statement(&self, consts: &[u64], f: usize, m: usize, st: &CStyle<'_>) -> String {
        let s = st.suffix;
        let (fl, mk) = (|i: u32| format!("f{i}{s}"), |i: u32| format!("m{i}{s}"));
        let rhs = match *self {
            Op::Const(k) => (st.konst)(consts[k as usize]),
            Op::Add(a, b) => format!("{} + {}", fl(a), fl(b)),
            Op::Sub(a, b) => format!("{} - {}", fl(a), fl(b)),
            Op::Mul(a, b) => format!("{} * {}", fl(a), fl(b)),
            Op::Div(a, b) => format!("{} / {}", fl(a), fl(b)),
            Op::Neg(a) => format!("-{}", fl(a)),
            Op::Exp(a) => format!("exp({})", fl(a)),
            Op::Ln(a) => format!("log({})", fl(a)),
            Op::Sqrt(a) => format!("sqrt({})", fl(a)),
            Op::Abs(a) => format!("fabs({})", fl(a)),
            Op::Math(g, a) => format!("{}({})", g.c_name(), fl(a)),
            Op::Select(c, a, b) => format!("{} ? {} : {}", mk(c), fl(a), fl(b)),
            Op::Gt(a, b) => format!("{} > {}", fl(a), fl(b)),
            Op::Ge(a, b) => format!("{} >= {}", fl(a), fl(b)),
            Op::Lt(a, b) => format!("{} < {}", fl(a), fl(b)),
            Op::Le(a, b) => format!("{} <= {}", fl(a), fl(b)),
            Op::And(a, b) => format!("{} {} {}", mk(a), st.and, mk(b)),
            Op::Or(a, b) => format!("{} {} {}", mk(a), st.or, mk(b)),
            Op::Not(a) => format!("!{}", mk(a)),
        };
        if self.is_mask() { format!("{} m{m}{s} = {rhs};", st.mask) } else { format!("double f{f}{s} = {rhs};") }
    }
}


/// A traced step. Floats `0..vars` are the state variables on entry, floats
/// `vars..vars + inputs` the inputs; each float op defines the next float, each mask op
/// the next mask.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    /// State variables.
    pub vars: u32,
    /// Inputs (receptors).
    pub inputs: u32,
    /// Operations in order.
    pub ops: Vec<Op>,
    /// Constants, as `f64` bits (so that the program can be hashed and compared).
    pub consts: Vec<u64>,
    /// The float holding each variable's new value.
    pub outputs: Vec<u32>,
    /// The mask that says who spiked.
    pub spike: u32,
}

impl Program {
    /// Floats the program defines (variables and inputs included).
    pub fn floats(&self) -> usize {
        (self.vars + self.inputs) as usize + self.ops.iter().filter(|o| !o.is_mask()).count()
    }

    /// Whether the program uses functions whose last bit differs between CPU and GPU math
    /// libraries (`exp`, `ln`, [`Fun`]s but `floor` and `ceil`); `sqrt` and the arithmetic
    /// are correctly rounded on both.
    pub fn uses_transcendentals(&self) -> bool {
        self.ops.iter().any(|o| match o {
            Op::Exp(_) | Op::Ln(_) => true,
            Op::Math(g, _) => !g.is_exact(),
            _ => false,
        })
    }

    /// Traces `step` over `vars` state variables and `inputs` receptors.
    pub fn trace(vars: usize, inputs: usize, step: impl FnOnce(&mut [Sym], &[Sym]) -> SymMask) -> Program {
        TRACE.with(|t| {
            *t.borrow_mut() = Some(Tape { ops: Vec::new(), consts: Vec::new(), floats: (vars + inputs) as u32, masks: 0 });
        });
        let mut st: Vec<Sym> = (0..vars as u32).map(Sym).collect();
        let inp: Vec<Sym> = (vars as u32..(vars + inputs) as u32).map(Sym).collect();
        let spike = step(&mut st, &inp);
        let tape = TRACE.with(|t| t.borrow_mut().take()).expect("a trace in progress");
        Program { vars: vars as u32, inputs: inputs as u32, ops: tape.ops, consts: tape.consts, outputs: st.iter().map(|s| s.0).collect(), spike: spike.0 }
    }
}

struct Tape {
    ops: Vec<Op>,
    consts: Vec<u64>,
    floats: u32,
    masks: u32,
}

thread_local! {
    static TRACE: RefCell<Option<Tape>> = const { RefCell::new(None) };
}

fn record(op: Op) -> u32 {
    TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let t = t.as_mut().expect("Sym lanes are used only inside Program::trace");
        t.ops.push(op);
        let id = if op.is_mask() { &mut t.masks } else { &mut t.floats };
        *id += 1;
        *id - 1
    })
}

fn konst(x: f64) -> Sym {
    let k = TRACE.with(|t| {
        let mut t = t.borrow_mut();
        let t = t.as_mut().expect("Sym lanes are used only inside Program::trace");
        let bits = x.to_bits();
        match t.consts.iter().position(|&c| c == bits) {
            Some(k) => k as u32,
            None => {
                t.consts.push(bits);
                t.consts.len() as u32 - 1
            }
        }
    });
    Sym(record(Op::Const(k)))
}

/// A traced float lane: the number of the float it holds.
#[derive(Clone, Copy, Debug)]
pub struct Sym(pub u32);

/// A traced mask lane.
#[derive(Clone, Copy, Debug)]
pub struct SymMask(pub u32);

macro_rules! sym_binop {
    ($tr:ident, $m:ident, $op:ident) => {
        impl $tr for Sym {
            type Output = Sym;
            fn $m(self, o: Sym) -> Sym {
                Sym(record(Op::$op(self.0, o.0)))
            }
        }
        impl $tr<f64> for Sym {
            type Output = Sym;
            fn $m(self, o: f64) -> Sym {
                let c = konst(o);
                Sym(record(Op::$op(self.0, c.0)))
            }
        }
    };
}
sym_binop!(Add, add, Add);
sym_binop!(Sub, sub, Sub);
sym_binop!(Mul, mul, Mul);
sym_binop!(Div, div, Div);

impl Neg for Sym {
    type Output = Sym;
    fn neg(self) -> Sym {
        Sym(record(Op::Neg(self.0)))
    }
}

impl Sym {
    fn un(self, op: fn(u32) -> Op) -> Sym {
        Sym(record(op(self.0)))
    }
    fn cmp(&self, o: Sym, op: fn(u32, u32) -> Op) -> SymMask {
        SymMask(record(op(self.0, o.0)))
    }
}

// NOTE: every method is written as the `f64` implementation computes it (in
// `api::model`), so that the traced program runs the same operations in the same order.
impl Lanes for Sym {
    type Mask = SymMask;
    fn gt(&self, x: f64) -> SymMask {
        self.cmp(konst(x), Op::Gt)
    }
    fn ge(&self, x: f64) -> SymMask {
        self.cmp(konst(x), Op::Ge)
    }
    fn lt(&self, x: f64) -> SymMask {
        self.cmp(konst(x), Op::Lt)
    }
    fn le(&self, x: f64) -> SymMask {
        self.cmp(konst(x), Op::Le)
    }
    fn gt_lanes(&self, o: &Sym) -> SymMask {
        self.cmp(*o, Op::Gt)
    }
    fn select(mask: &SymMask, a: Sym, b: Sym) -> Sym {
        Sym(record(Op::Select(mask.0, a.0, b.0)))
    }
    fn select_const(mask: &SymMask, x: f64, b: Sym) -> Sym {
        let c = konst(x);
        Sym(record(Op::Select(mask.0, c.0, b.0)))
    }
    fn and_not(a: &SymMask, b: &SymMask) -> SymMask {
        let nb = SymMask(record(Op::Not(b.0)));
        SymMask(record(Op::And(a.0, nb.0)))
    }
    fn and(a: &SymMask, b: &SymMask) -> SymMask {
        SymMask(record(Op::And(a.0, b.0)))
    }
    fn or(a: &SymMask, b: &SymMask) -> SymMask {
        SymMask(record(Op::Or(a.0, b.0)))
    }
    fn not(a: &SymMask) -> SymMask {
        SymMask(record(Op::Not(a.0)))
    }
    fn exp(self) -> Sym {
        self.un(Op::Exp)
    }
    fn ln(self) -> Sym {
        self.un(Op::Ln)
    }
    fn sqrt(self) -> Sym {
        self.un(Op::Sqrt)
    }
    fn abs(self) -> Sym {
        self.un(Op::Abs)
    }
    fn min_c(self, x: f64) -> Sym {
        // f64: `if x < self { x } else { self }`
        let c = konst(x);
        let m = c.cmp(self, Op::Lt);
        Sym(record(Op::Select(m.0, c.0, self.0)))
    }
    fn max_c(self, x: f64) -> Sym {
        // f64: `if x > self { x } else { self }`
        let c = konst(x);
        let m = c.cmp(self, Op::Gt);
        Sym(record(Op::Select(m.0, c.0, self.0)))
    }
    fn min(self, o: Sym) -> Sym {
        // f64: `if o < self { o } else { self }`
        let m = o.cmp(self, Op::Lt);
        Sym(record(Op::Select(m.0, o.0, self.0)))
    }
    fn max(self, o: Sym) -> Sym {
        // f64: `if o > self { o } else { self }`
        let m = o.cmp(self, Op::Gt);
        Sym(record(Op::Select(m.0, o.0, self.0)))
    }
    fn recip_mul(self, x: f64) -> Sym {
        // f64: `x / self`
        let c = konst(x);
        Sym(record(Op::Div(c.0, self.0)))
    }
}
