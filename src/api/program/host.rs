//! The host's interpreters of a [`Program`]: one element ([`Program::eval`], the reference
//! the device kernels are tested against) or a batch over columns
//! ([`Program::eval_columns`]), each operation's meaning written once (`float_of`,
//! `mask_of`).

use super::{Fun, Op, Program};

/// One first float's values over a batch ([`Program::eval_columns`]): the same for every
/// element, or one each.
#[derive(Clone, Copy, Debug)]
pub enum Column<'a> {
    /// The same value for all.
    All(f64),
    /// One value per element (at least the batch's length).
    Each(&'a [f64]),
}

/// The mask `op` defines, from the floats `x` and masks `b` defined before it.
#[inline(always)]
fn mask_of(op: &Op, x: impl Fn(u32) -> f64, b: impl Fn(u32) -> bool) -> bool {
    match *op {
        Op::Gt(a, c) => x(a) > x(c),
        Op::Ge(a, c) => x(a) >= x(c),
        Op::Lt(a, c) => x(a) < x(c),
        Op::Le(a, c) => x(a) <= x(c),
        Op::And(a, c) => b(a) && b(c),
        Op::Or(a, c) => b(a) || b(c),
        Op::Not(a) => !b(a),
        _ => unreachable!("a float operation"),
    }
}

impl Program {
    /// Runs the step of one neuron on the host: updates `vars`, returns whether it spiked.
    /// The reference the device kernels are tested against.
    pub fn run(&self, vars: &mut [f64], inputs: &[f64], f: &mut Vec<f64>, m: &mut Vec<bool>) -> bool {
        self.eval(vars, inputs, f, m);
        for (v, &o) in vars.iter_mut().zip(&self.outputs) {
            *v = f[o as usize];
        }
        m[self.spike as usize]
    }

    /// Runs the operations on the host from `vars` and `inputs`, leaving every float the
    /// program defines in `f` (variables and inputs first) and every mask in `m`: [`run`]
    /// without the outputs, for a program that computes values rather than a step (a
    /// value written as an expression).
    ///
    /// [`run`]: Program::run
    pub fn eval(&self, vars: &[f64], inputs: &[f64], f: &mut Vec<f64>, m: &mut Vec<bool>) {
        f.clear();
        m.clear();
        f.extend_from_slice(vars);
        f.extend_from_slice(inputs);
        for op in &self.ops {
            if op.is_mask() {
                let v = mask_of(op, |a| f[a as usize], |a| m[a as usize]);
                m.push(v);
            } else {
                let v = self.float_of(op, |a| f[a as usize], |a| m[a as usize]);
                f.push(v);
            }
        }
    }

    /// [`eval`] over a batch of `n`: float `k` of element `e` is `f[k * n + e]`, mask `k`'s
    /// `m[k * n + e]`; the first floats (variables, then inputs) are `columns`. Each
    /// element's values are those [`eval`] gives it, bit for bit (the same operations).
    ///
    /// [`eval`]: Program::eval
    pub fn eval_columns(&self, columns: &[Column<'_>], n: usize, f: &mut Vec<f64>, m: &mut Vec<bool>) {
        debug_assert_eq!(columns.len(), (self.vars + self.inputs) as usize);
        let masks = self.ops.iter().filter(|o| o.is_mask()).count();
        // (Every float and mask is written before it is read: what the buffers held is
        // left, not cleared.)
        f.resize(self.floats() * n, 0.0);
        m.resize(masks * n, false);
        for (c, col) in f.chunks_exact_mut(n.max(1)).zip(columns) {
            match col {
                Column::All(x) => c.fill(*x),
                Column::Each(v) => c.copy_from_slice(&v[..n]),
            }
        }
        let (mut fi, mut mi) = (columns.len() * n, 0);
        // One loop per operation over the batch (the operation picked once, not per
        // element), each element's value by `float_of` / `mask_of` of the same variant,
        // whose operands are the loop's: the meaning stays written once.
        macro_rules! each {
            ($d:expr, $op:expr, [$a:expr], $kind:ident) => {{
                for (d, &x) in $d.iter_mut().zip($a) {
                    *d = each!(@$kind $op, |_: u32| x);
                }
            }};
            ($d:expr, $op:expr, [$a:expr, $b:expr], $kind:ident) => {{
                for (d, (&x, &y)) in $d.iter_mut().zip($a.iter().zip($b)) {
                    *d = each!(@$kind $op, |k: u32| if k == 0 { x } else { y });
                }
            }};
            (@fl $op:expr, $x:expr) => { self.float_of(&$op, $x, |_| unreachable!()) };
            (@cmp $op:expr, $x:expr) => { mask_of(&$op, $x, |_| unreachable!()) };
            (@bo $op:expr, $b:expr) => { mask_of(&$op, |_| unreachable!(), $b) };
        }
        for op in &self.ops {
            if op.is_mask() {
                let (done, next) = m.split_at_mut(mi);
                let (d, fc, mc) = (&mut next[..n], |a: u32| &f[a as usize * n..][..n], |a: u32| &done[a as usize * n..][..n]);
                match *op {
                    Op::Gt(a, c) => each!(d, Op::Gt(0, 1), [fc(a), fc(c)], cmp),
                    Op::Ge(a, c) => each!(d, Op::Ge(0, 1), [fc(a), fc(c)], cmp),
                    Op::Lt(a, c) => each!(d, Op::Lt(0, 1), [fc(a), fc(c)], cmp),
                    Op::Le(a, c) => each!(d, Op::Le(0, 1), [fc(a), fc(c)], cmp),
                    Op::And(a, c) => each!(d, Op::And(0, 1), [mc(a), mc(c)], bo),
                    Op::Or(a, c) => each!(d, Op::Or(0, 1), [mc(a), mc(c)], bo),
                    Op::Not(a) => each!(d, Op::Not(0), [mc(a)], bo),
                    _ => unreachable!("a float operation"),
                }
                mi += n;
            } else {
                let (done, next) = f.split_at_mut(fi);
                let (d, fc) = (&mut next[..n], |a: u32| &done[a as usize * n..][..n]);
                match *op {
                    Op::Const(_) => d.fill(self.float_of(op, |_| unreachable!(), |_| unreachable!())),
                    Op::Add(a, c) => each!(d, Op::Add(0, 1), [fc(a), fc(c)], fl),
                    Op::Sub(a, c) => each!(d, Op::Sub(0, 1), [fc(a), fc(c)], fl),
                    Op::Mul(a, c) => each!(d, Op::Mul(0, 1), [fc(a), fc(c)], fl),
                    Op::Div(a, c) => each!(d, Op::Div(0, 1), [fc(a), fc(c)], fl),
                    Op::Neg(a) => each!(d, Op::Neg(0), [fc(a)], fl),
                    Op::Exp(a) => each!(d, Op::Exp(0), [fc(a)], fl),
                    Op::Ln(a) => each!(d, Op::Ln(0), [fc(a)], fl),
                    Op::Sqrt(a) => each!(d, Op::Sqrt(0), [fc(a)], fl),
                    Op::Abs(a) => each!(d, Op::Abs(0), [fc(a)], fl),
                    // (`floor` inlined: `%` and `//` are made of it.)
                    Op::Math(Fun::Floor, a) => each!(d, Op::Math(Fun::Floor, 0), [fc(a)], fl),
                    Op::Math(g, a) => each!(d, Op::Math(g, 0), [fc(a)], fl),
                    Op::Select(c, a, b) => {
                        let (cm, x, y) = (&m[c as usize * n..][..n], fc(a), fc(b));
                        for (e, d) in d.iter_mut().enumerate() {
                            *d = self.float_of(&Op::Select(0, 0, 1), |k| if k == 0 { x[e] } else { y[e] }, |_| cm[e]);
                        }
                    }
                    _ => unreachable!("a mask operation"),
                }
                fi += n;
            }
        }
    }

    /// The float `op` defines, from the floats `x` and masks `b` defined before it: the
    /// operations' meaning on the host, for [`Program::eval`] and
    /// [`Program::eval_columns`].
    #[inline(always)]
    fn float_of(&self, op: &Op, x: impl Fn(u32) -> f64, b: impl Fn(u32) -> bool) -> f64 {
        match *op {
            Op::Const(k) => f64::from_bits(self.consts[k as usize]),
            Op::Add(a, c) => x(a) + x(c),
            Op::Sub(a, c) => x(a) - x(c),
            Op::Mul(a, c) => x(a) * x(c),
            Op::Div(a, c) => x(a) / x(c),
            Op::Neg(a) => -x(a),
            Op::Exp(a) => x(a).exp(),
            Op::Ln(a) => x(a).ln(),
            Op::Sqrt(a) => x(a).sqrt(),
            Op::Abs(a) => x(a).abs(),
            Op::Math(g, a) => g.eval(x(a)),
            Op::Select(c, a, d) => {
                if b(c) {
                    x(a)
                } else {
                    x(d)
                }
            }
            _ => unreachable!("a mask operation"),
        }
    }
}

/// `x.floor()`, exactly (−0, NaN and infinities included), in arithmetic the baseline
/// x86-64 build has instructions for (`f64::floor` is a call into the C library there,
/// a sixth of an expression `p`'s build on a 2-D distance wrapped with `%`).
#[inline]
pub fn floor_exact(x: f64) -> f64 {
    // Towards zero, exactly where |x| < 2^52 (it fits an i64), then down for a negative
    // fraction; beyond 2^52 every float is whole, and NaN, ±∞, ±0 are their own floor.
    // (Selects, not branches: a loop of them vectorises.)
    let t = x as i64 as f64;
    let f = if t > x { t - 1.0 } else { t };
    if x.abs() < 4_503_599_627_370_496.0 && x != 0.0 { f } else { x }
}

#[cfg(test)]
mod tests {
    use super::floor_exact;

    #[test]
    fn floor_exact_is_floor_bit_for_bit() {
        let mut xs = vec![0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 1e-300, -1e-300, 0.999_999_999_999_999_9, -0.999_999_999_999_999_9, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN, 4_503_599_627_370_495.5, -4_503_599_627_370_495.5, 4_503_599_627_370_496.0, -4_503_599_627_370_497.0, 9_007_199_254_740_993.0];
        // And a spread of magnitudes and fractions (a fixed LCG: no dependency).
        let mut u: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            u = u.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let bits = u >> 11;
            let mag = (bits % 60) as i32 - 8;
            let frac = (bits >> 6) as f64 / (1u64 << 47) as f64;
            let x = frac * 2f64.powi(mag);
            xs.push(if bits & 1 == 0 { x } else { -x });
            xs.push(f64::from_bits(u));
        }
        for x in xs {
            assert_eq!(floor_exact(x).to_bits(), x.floor().to_bits(), "floor({x:e})");
        }
    }
}
