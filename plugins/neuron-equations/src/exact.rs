//! `method = "exact"` for linear equations (Brian2's `exact`/`linear`): `dx/dt = A x + b`
//! with `A` constant, stepped as `x ← e^{A dt} x + (∫₀^dt e^{A s} ds) b`, the matrices
//! computed once from the parameters.

use std::collections::{BTreeSet, HashMap};

use crate::compile::{Spec, Src};
use crate::expr::{Bin, Expr};

/// How an expression depends on the state: its degree (0 or 1; `None` when not linear),
/// the parameters it reads, and those multiplying a state variable (the coefficients of
/// `A`, which must be equal for every neuron).
#[derive(Clone)]
struct Lin {
    deg: u8,
    params: BTreeSet<String>,
    coeff: BTreeSet<String>,
}

/// Why the equations are not linear, or the parameters in `A`.
pub fn linear(spec: &Spec) -> Result<BTreeSet<String>, (Src, usize, String)> {
    let mut coeff = BTreeSet::new();
    let mut memo = HashMap::new();
    for v in &spec.vars {
        let l = lin(spec, &v.eq, v.src, &mut Vec::new(), &mut memo)?;
        coeff.extend(l.coeff);
    }
    Ok(coeff)
}

fn lin(spec: &Spec, e: &Expr, src: Src, seen: &mut Vec<String>, memo: &mut HashMap<String, Lin>) -> Result<Lin, (Src, usize, String)> {
    let none = |deg| Lin { deg, params: BTreeSet::new(), coeff: BTreeSet::new() };
    let nonlinear = |col: usize, why: &str| Err((src, col, format!("not linear in the state variables ({why}); `method = \"exact\"` needs linear equations: use \"euler\", \"rk2\" or \"rk4\"")));
    Ok(match e {
        Expr::Num(..) => none(0),
        Expr::Name(n, _) => {
            if spec.vars.iter().any(|v| &v.name == n) {
                none(1)
            } else if spec.params.iter().any(|p| &p.0 == n) || n == "i" || n == "N" {
                Lin { deg: 0, params: [n.clone()].into(), coeff: BTreeSet::new() }
            } else if let Some((_, se, _, at)) = spec.subs.iter().find(|s| &s.0 == n) {
                if let Some(l) = memo.get(n) {
                    return Ok(l.clone());
                }
                if seen.contains(n) {
                    return Err((*at, 0, format!("`{n}` is defined in terms of itself")));
                }
                if seen.len() >= crate::compile::MAX_CHAIN {
                    return Err((*at, 0, format!("subexpressions nested more than {} deep", crate::compile::MAX_CHAIN)));
                }
                seen.push(n.clone());
                let l = lin(spec, se, *at, seen, memo)?;
                seen.pop();
                memo.insert(n.clone(), l.clone());
                l
            } else if n == "t" {
                return nonlinear(e.col(), "it depends on the time `t`");
            } else if n == "not_refractory" {
                return nonlinear(e.col(), "`not_refractory`: write `(unless refractory)` after the unit instead");
            } else {
                none(0)
            }
        }
        Expr::Neg(a, _) => lin(spec, a, src, seen, memo)?,
        Expr::Not(_, c) => return nonlinear(*c, "a condition"),
        Expr::Call(f, args, c) => {
            let mut out = none(0);
            for a in args {
                let l = lin(spec, a, src, seen, memo)?;
                if l.deg > 0 {
                    return nonlinear(*c, &format!("`{f}` of a state variable"));
                }
                out.params.extend(l.params);
            }
            out
        }
        Expr::Bin(op, a, b, c) => {
            let (x, y) = (lin(spec, a, src, seen, memo)?, lin(spec, b, src, seen, memo)?);
            let mut params: BTreeSet<String> = x.params.union(&y.params).cloned().collect();
            let (deg, coeff): (u8, BTreeSet<String>) = match op {
                Bin::Add | Bin::Sub => (x.deg.max(y.deg), x.coeff.union(&y.coeff).cloned().collect()),
                Bin::Mul if x.deg + y.deg > 1 => return nonlinear(*c, "a product of state variables"),
                Bin::Mul if x.deg == 1 => (1, x.coeff.union(&y.params).cloned().collect()),
                Bin::Mul if y.deg == 1 => (1, y.coeff.union(&x.params).cloned().collect()),
                Bin::Mul => (0, BTreeSet::new()),
                Bin::Div if y.deg > 0 => return nonlinear(*c, "a division by a state variable"),
                Bin::Div if x.deg == 1 => (1, x.coeff.union(&y.params).cloned().collect()),
                Bin::Div => (0, BTreeSet::new()),
                Bin::Pow if x.deg + y.deg > 0 => match (x.deg, &**b) {
                    (1, Expr::Num(n, _)) if *n == 1.0 => (1, x.coeff),
                    _ => return nonlinear(*c, "a power of a state variable"),
                },
                Bin::Pow => (0, BTreeSet::new()),
                Bin::Mod | Bin::FloorDiv if x.deg + y.deg > 0 => return nonlinear(*c, "`%` or `//` of a state variable"),
                _ if x.deg + y.deg > 0 => return nonlinear(*c, "a condition on a state variable"),
                _ => (0, BTreeSet::new()),
            };
            if let Some(n) = coeff.iter().find(|n| *n == "i" || *n == "N") {
                // (The coefficients are the population's; `i` and `N` are rows.)
                return Err((src, *c, format!("`{n}` in a coefficient of the state variables: `method = \"exact\"` needs coefficients equal for every neuron; use \"euler\", \"rk2\", \"rk4\" or \"exponential_euler\"")));
            }
            params.extend(coeff.iter().cloned());
            Lin { deg, params, coeff }
        }
    })
}

/// `e^{A dt}` and `∫₀^dt e^{A s} ds` (row-major `n × n`), by the exponential of the
/// augmented matrix `[[A, I], [0, 0]] dt` (scaling and squaring of a Taylor series).
pub fn propagators(a: &[f64], n: usize, dt: f64) -> (Vec<f64>, Vec<f64>) {
    let m = 2 * n;
    let mut z = vec![0.0; m * m];
    for i in 0..n {
        for j in 0..n {
            z[i * m + j] = a[i * n + j] * dt;
        }
        z[i * m + n + i] = dt;
    }
    let e = expm(&z, m);
    let mut phi = vec![0.0; n * n];
    let mut gam = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            phi[i * n + j] = e[i * m + j];
            gam[i * n + j] = e[i * m + n + j];
        }
    }
    (phi, gam)
}

fn matmul(x: &[f64], y: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let xik = x[i * m + k];
            if xik != 0.0 {
                for j in 0..m {
                    out[i * m + j] += xik * y[k * m + j];
                }
            }
        }
    }
    out
}

fn expm(z: &[f64], m: usize) -> Vec<f64> {
    let norm = (0..m).map(|i| (0..m).map(|j| z[i * m + j].abs()).sum::<f64>()).fold(0.0, f64::max);
    // Scale to a norm below 1/2, sum 30 Taylor terms (far below 1e-17 of the norm), square back.
    let s = if norm > 0.5 { (norm / 0.5).log2().ceil() as i32 } else { 0 };
    let scale = 0.5f64.powi(s);
    let zs: Vec<f64> = z.iter().map(|x| x * scale).collect();
    let mut sum = vec![0.0; m * m];
    let mut term = vec![0.0; m * m];
    for i in 0..m {
        sum[i * m + i] = 1.0;
        term[i * m + i] = 1.0;
    }
    for k in 1..=30 {
        term = matmul(&term, &zs, m);
        term.iter_mut().for_each(|t| *t /= k as f64);
        sum.iter_mut().zip(&term).for_each(|(s, t)| *s += t);
    }
    for _ in 0..s {
        sum = matmul(&sum, &sum, m);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagators_of_a_decay_and_a_coupled_pair() {
        // dx/dt = -x/tau: e^{-dt/tau}, and tau (1 - e^{-dt/tau}).
        let (p, g) = propagators(&[-1.0 / 5.0], 1, 0.1);
        assert!((p[0] - (-0.1f64 / 5.0).exp()).abs() < 4e-16);
        assert!((g[0] - 5.0 * (1.0 - (-0.1f64 / 5.0).exp())).abs() < 1e-15);
        // CUBA's v (tau 20) driven by ge (tau 5): v(dt) from ge(0) = 1 is
        // tau_e/(tau_e - tau_m) ... the difference of exponentials over tau_m.
        let (tm, te, dt) = (20.0f64, 5.0f64, 0.1f64);
        let (p, _) = propagators(&[-1.0 / tm, 1.0 / tm, 0.0, -1.0 / te], 2, dt);
        let exact = te / (te - tm) * ((-dt / tm).exp() - (-dt / te).exp()) * -1.0;
        assert!((p[1] - exact).abs() < 1e-15, "{} {exact}", p[1]);
        assert!((p[3] - (-dt / te).exp()).abs() < 4e-16);
        // A larger step needs the squaring.
        let (p, _) = propagators(&[-1.0 / 5.0], 1, 20.0);
        assert!((p[0] / (-4.0f64).exp() - 1.0).abs() < 1e-14);
    }
}
