//! Physical dimensions of equation terms, and the unit names equations may use.
//!
//! Terms are computed in one coherent system of units: ms, mV, pA, nS, pF (so that
//! `nS · mV = pA` and `pA / pF = mV/ms`), whose base scales are m = 1, kg = 10⁻²⁴, s = 10⁻³,
//! A = 10⁻¹². The core's canonical units coincide with it except for rates (Hz, here
//! 1/ms = kHz): a value is converted when it enters and leaves.

use spikeworld::util::units::Dim as CoreDim;

/// Exponents of metre, kilogram, second, ampere, each held doubled: white noise `xi` is
/// in second^-1/2, so half exponents occur (`sigma*sqrt(2/tau)*xi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct D([i8; 4]);

/// Decimal exponents of the working units' base scales (m, kg, s, A).
const BASE_EXP: [i32; 4] = [0, -24, -3, -12];

/// `10^e`, correctly rounded (`powi` is not).
pub fn pow10(e: i32) -> f64 {
    format!("1e{e}").parse().expect("a power of ten")
}

/// The dimension m^m kg^kg s^s A^a (whole exponents).
const fn d(m: i8, kg: i8, s: i8, a: i8) -> D {
    D([2 * m, 2 * kg, 2 * s, 2 * a])
}

pub const ONE: D = d(0, 0, 0, 0);
pub const SECOND: D = d(0, 0, 1, 0);
pub const VOLT: D = d(2, 1, -3, -1);
pub const AMP: D = d(0, 0, 0, 1);
pub const SIEMENS: D = d(-2, -1, 3, 2);
pub const FARAD: D = d(-2, -1, 4, 2);
pub const HERTZ: D = d(0, 0, -1, 0);
/// Brian2's `xi`: second^-1/2.
pub const PER_SQRT_SECOND: D = D([0, 0, -1, 0]);
const OHM: D = d(2, 1, -3, -2);
const METRE: D = d(1, 0, 0, 0);
const COULOMB: D = d(0, 0, 1, 1);

impl D {
    pub fn mul(self, o: D) -> D {
        D(std::array::from_fn(|i| self.0[i] + o.0[i]))
    }
    pub fn div(self, o: D) -> D {
        D(std::array::from_fn(|i| self.0[i] - o.0[i]))
    }
    /// `self^n`, `None` if an exponent is not a multiple of 1/2 or out of range.
    pub fn pow(self, n: f64) -> Option<D> {
        let mut out = [0i8; 4];
        for i in 0..4 {
            let e = self.0[i] as f64 * n;
            if e.fract() != 0.0 || e.abs() > 120.0 {
                return None;
            }
            out[i] = e as i8;
        }
        Some(D(out))
    }
    /// Whether every exponent is whole (the dimension of a unit name, a parameter or a
    /// state variable can be nothing else).
    pub fn is_whole(self) -> bool {
        self.0.iter().all(|e| e % 2 == 0)
    }
    /// The decimal exponent of the working unit's size in SI (mV: −3), for whole
    /// exponents ([`D::is_whole`]; a half exponent of a base scale is rounded down).
    pub fn scale_exp(self) -> i32 {
        self.scale_exp2().div_euclid(2)
    }
    /// Twice the decimal exponent of the working unit's size in SI (exact for half
    /// exponents too: ms^0.5 is 10^-1.5 s^0.5, -3).
    pub fn scale_exp2(self) -> i32 {
        (0..4).map(|i| BASE_EXP[i] * self.0[i] as i32).sum::<i32>()
    }
    /// Twice the decimal exponent of the core's canonical unit (the working unit, but
    /// Hz for rates).
    pub fn core_exp2(self) -> i32 {
        match self {
            HERTZ => 0,
            // µm.
            METRE => -12,
            _ => self.scale_exp2(),
        }
    }
    /// The working unit's size in SI (1 mV = 10⁻³ V).
    #[cfg(test)]
    pub fn scale(self) -> f64 {
        pow10(self.scale_exp())
    }
    /// The core's dimension, for a parameter or a state variable.
    pub fn core(self) -> Option<CoreDim> {
        [(ONE, CoreDim::Dimensionless), (SECOND, CoreDim::Time), (VOLT, CoreDim::Voltage), (AMP, CoreDim::Current), (SIEMENS, CoreDim::Conductance), (FARAD, CoreDim::Capacitance), (HERTZ, CoreDim::Rate), (METRE, CoreDim::Length)]
            .iter()
            .find(|(d, _)| *d == self)
            .map(|(_, c)| *c)
    }
    /// What a value in the core's canonical unit of this dimension is multiplied by to be
    /// in working units (1 except Hz → 1/ms and µm → m).
    pub fn from_core(self) -> f64 {
        match self {
            HERTZ => 1e-3,
            METRE => 1e-6,
            _ => 1.0,
        }
    }

    /// The dimension of the core's `dim`.
    pub fn of_core(dim: CoreDim) -> D {
        match dim {
            CoreDim::Dimensionless => ONE,
            CoreDim::Time => SECOND,
            CoreDim::Voltage => VOLT,
            CoreDim::Current => AMP,
            CoreDim::Conductance => SIEMENS,
            CoreDim::Capacitance => FARAD,
            CoreDim::Rate => HERTZ,
            CoreDim::Length => METRE,
        }
    }
}

impl std::fmt::Display for D {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let named = [(ONE, "1 (dimensionless)"), (SECOND, "second"), (VOLT, "volt"), (AMP, "amp"), (SIEMENS, "siemens"), (FARAD, "farad"), (HERTZ, "Hz"), (OHM, "ohm"), (METRE, "metre"), (COULOMB, "coulomb")];
        if let Some((_, n)) = named.iter().find(|(d, _)| d == self) {
            return f.write_str(n);
        }
        for (d, n) in [(VOLT, "volt"), (AMP, "amp"), (SIEMENS, "siemens"), (FARAD, "farad")] {
            if self.div(d).0 == SECOND.0 {
                return write!(f, "{n}·second");
            }
            if self.mul(SECOND).0 == d.0 {
                return write!(f, "{n}/second");
            }
        }
        // A named unit times a (half) power of second: `volt·second^-1.5`.
        for (d, n) in [(VOLT, "volt"), (AMP, "amp"), (SIEMENS, "siemens"), (FARAD, "farad"), (ONE, "")] {
            let r = self.div(d).0;
            if r[0] == 0 && r[1] == 0 && r[3] == 0 {
                let e = if r[2] % 2 == 0 { format!("{}", r[2] / 2) } else { format!("{}", r[2] as f64 / 2.0) };
                return if n.is_empty() { write!(f, "second^{e}") } else { write!(f, "{n}·second^{e}") };
            }
        }
        let names = ["m", "kg", "s", "A"];
        let exp = |e: i8| if e % 2 == 0 { format!("{}", e / 2) } else { format!("{}", e as f64 / 2.0) };
        let parts: Vec<String> = (0..4).filter(|&i| self.0[i] != 0).map(|i| if self.0[i] == 2 { names[i].to_string() } else { format!("{}^{}", names[i], exp(self.0[i])) }).collect();
        f.write_str(&parts.join("·"))
    }
}

const PREFIXES: &[(&str, i32)] = &[("", 0), ("f", -15), ("p", -12), ("n", -9), ("u", -6), ("m", -3), ("c", -2), ("k", 3), ("M", 6), ("G", 9)];

/// A unit name (`mV`, `nsiemens`, `pF`, `ms`, `Hz`, `Mohm`, `um2`): its dimension and the
/// decimal exponent of its size in SI (every unit is a power of ten of a base unit).
pub fn unit(name: &str) -> Option<(D, i32)> {
    const BASES: &[(&str, D)] = &[
        ("volt", VOLT),
        ("V", VOLT),
        ("amp", AMP),
        ("ampere", AMP),
        ("A", AMP),
        ("siemens", SIEMENS),
        ("S", SIEMENS),
        ("farad", FARAD),
        ("F", FARAD),
        ("second", SECOND),
        ("s", SECOND),
        ("hertz", HERTZ),
        ("Hz", HERTZ),
        ("ohm", OHM),
        ("metre", METRE),
        ("meter", METRE),
        ("m", METRE),
        ("coulomb", COULOMB),
        ("C", COULOMB),
    ];
    // `um2`, `cmetre2`: a length squared or cubed.
    let (stem, power) = match name.strip_suffix('2').or_else(|| name.strip_suffix('3')) {
        Some(s) => (s, if name.ends_with('2') { 2 } else { 3 }),
        None => (name, 1),
    };
    for (p, f) in PREFIXES {
        let Some(base) = stem.strip_prefix(p) else { continue };
        // `c` only before metre (cm), as in Brian2. A one-letter symbol is a unit only
        // with a prefix (`mV`, `nS`, `ms`, `um`): alone (`m`, `s`, `V`) it is a name the
        // equations may use, as in Brian2 (HH's gating variable `m`).
        if (*p == "c" && !matches!(base, "m" | "metre" | "meter")) || base.is_empty() || (p.is_empty() && base.len() == 1) {
            continue;
        }
        if let Some((_, d)) = BASES.iter().find(|(n, _)| *n == base) {
            if power > 1 && *d != METRE {
                continue;
            }
            return Some((d.pow(power as f64)?, f * power));
        }
    }
    None
}

/// A unit expression's dimension and twice the decimal exponent of its size in SI
/// (`ms**0.5` is 10^-1.5 s^0.5: -3).
pub fn unit_of(e: &crate::expr::Expr) -> Result<(D, i32), (usize, String)> {
    use crate::expr::{Bin, Expr};
    match e {
        Expr::Num(x, _) if *x == 1.0 => Ok((ONE, 0)),
        Expr::Name(n, c) => unit(n).map(|(d, k)| (d, 2 * k)).ok_or_else(|| (*c, format!("`{n}` is not a unit (volt, amp, siemens, farad, second, Hz, ohm, metre, with prefixes)"))),
        Expr::Bin(Bin::Mul, a, b, _) => {
            let ((da, fa), (db, fb)) = (unit_of(a)?, unit_of(b)?);
            Ok((da.mul(db), fa + fb))
        }
        Expr::Bin(Bin::Div, a, b, _) => {
            let ((da, fa), (db, fb)) = (unit_of(a)?, unit_of(b)?);
            Ok((da.div(db), fa - fb))
        }
        Expr::Bin(Bin::Pow, a, b, c) => {
            let n = match &**b {
                Expr::Num(n, _) => *n,
                Expr::Neg(x, _) if matches!(**x, Expr::Num(..)) => -x.as_num(),
                _ => return Err((*c, "a unit's power must be a number".into())),
            };
            let (d, f) = unit_of(a)?;
            let scaled = f as f64 * n;
            if scaled.fract() != 0.0 {
                return Err((*c, "not a unit".into()));
            }
            Ok((d.pow(n).ok_or((*c, "not a unit".to_string()))?, scaled as i32))
        }
        other => Err((other.col(), "expected a unit (`volt`, `siemens/metre**2`, `1`)".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_working_units_are_the_cores() {
        assert_eq!(VOLT.scale(), 1e-3);
        assert_eq!(SIEMENS.scale(), 1e-9);
        assert_eq!(FARAD.scale(), 1e-12);
        assert_eq!(AMP.scale(), 1e-12);
        assert_eq!(SECOND.scale(), 1e-3);
        // nS · mV = pA and pA / pF = mV / ms: the system is coherent.
        assert_eq!(SIEMENS.mul(VOLT), AMP);
        assert_eq!(AMP.div(FARAD), VOLT.div(SECOND));
    }

    #[test]
    fn unit_names() {
        assert_eq!(unit("mV"), Some((VOLT, -3)));
        assert_eq!(unit("nsiemens"), Some((SIEMENS, -9)));
        assert_eq!(unit("pF"), Some((FARAD, -12)));
        assert_eq!(unit("ms"), Some((SECOND, -3)));
        assert_eq!(unit("mS"), Some((SIEMENS, -3)));
        assert_eq!(unit("kHz"), Some((HERTZ, 3)));
        assert_eq!(unit("Mohm"), Some((OHM, 6)));
        assert_eq!(unit("um2"), Some((METRE.mul(METRE), -12)));
        assert_eq!(unit("cm"), Some((METRE, -2)));
        // Working values of unit names are exact: 1 for the working units themselves.
        assert_eq!(pow10(-3 - VOLT.scale_exp()), 1.0);
        assert_eq!(pow10(-9 - SIEMENS.scale_exp()), 1.0);
        assert_eq!(pow10(0 - VOLT.scale_exp()), 1000.0);
        assert_eq!(unit("cV"), None);
        assert_eq!(unit("mV2"), None);
        assert_eq!(unit("tau"), None);
        for bare in ["m", "s", "V", "A", "S", "F", "C"] {
            assert_eq!(unit(bare), None, "{bare}");
        }
        assert_eq!(unit("volt"), Some((VOLT, 0)));
    }
}
