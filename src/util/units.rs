//! Physical quantities in scenario files.
//!
//! Every parameter has a *dimension* and a documented canonical unit. A scenario may write
//! a bare number (taken in the canonical unit) or a string with a unit (`"0.1 ms"`,
//! `"6 nS"`); a string with a unit of the wrong dimension is an error.
//!
//! | dimension | canonical unit | accepted units |
//! |---|---|---|
//! | time | ms | s, ms, us (µs) |
//! | voltage | mV | V, mV, uV (µV) |
//! | conductance | nS | S, mS, uS (µS), nS, pS |
//! | current | pA | A, mA, uA (µA), nA, pA |
//! | capacitance | pF | F, mF, uF (µF), nF, pF |
//! | rate | Hz | Hz, kHz |
//! | length | um (µm) | m, mm, um (µm), nm |
//! | dimensionless | 1 | (none) |

use std::fmt;

/// The physical dimension of a quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// Time, canonical unit ms.
    Time,
    /// Voltage, canonical unit mV.
    Voltage,
    /// Conductance, canonical unit nS.
    Conductance,
    /// Current, canonical unit pA.
    Current,
    /// Capacitance, canonical unit pF.
    Capacitance,
    /// Rate (frequency), canonical unit Hz.
    Rate,
    /// Length (neurons' positions), canonical unit µm.
    Length,
    /// A pure number.
    Dimensionless,
}

impl Dim {
    /// The canonical unit every value of this dimension is stored in.
    pub fn unit(self) -> &'static str {
        match self {
            Dim::Time => "ms",
            Dim::Voltage => "mV",
            Dim::Conductance => "nS",
            Dim::Current => "pA",
            Dim::Capacitance => "pF",
            Dim::Rate => "Hz",
            Dim::Length => "um",
            Dim::Dimensionless => "1",
        }
    }

    fn accepted(self) -> &'static str {
        match self {
            Dim::Time => "s, ms, us",
            Dim::Voltage => "V, mV, uV",
            Dim::Conductance => "S, mS, uS, nS, pS",
            Dim::Current => "A, mA, uA, nA, pA",
            Dim::Capacitance => "F, mF, uF, nF, pF",
            Dim::Rate => "Hz, kHz",
            Dim::Length => "m, mm, um, nm",
            Dim::Dimensionless => "no unit",
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Dim::Time => "time",
            Dim::Voltage => "voltage",
            Dim::Conductance => "conductance",
            Dim::Current => "current",
            Dim::Capacitance => "capacitance",
            Dim::Rate => "rate",
            Dim::Length => "length",
            Dim::Dimensionless => "dimensionless",
        };
        f.write_str(s)
    }
}

/// Looks a unit symbol up: its dimension and its factor to the canonical unit.
fn unit_factor(unit: &str) -> Option<(Dim, f64)> {
    let u = unit.replace('µ', "u");
    Some(match u.as_str() {
        "s" => (Dim::Time, 1e3),
        "ms" => (Dim::Time, 1.0),
        "us" => (Dim::Time, 1e-3),
        "V" => (Dim::Voltage, 1e3),
        "mV" => (Dim::Voltage, 1.0),
        "uV" => (Dim::Voltage, 1e-3),
        "S" => (Dim::Conductance, 1e9),
        "mS" => (Dim::Conductance, 1e6),
        "uS" => (Dim::Conductance, 1e3),
        "nS" => (Dim::Conductance, 1.0),
        "pS" => (Dim::Conductance, 1e-3),
        "A" => (Dim::Current, 1e12),
        "mA" => (Dim::Current, 1e9),
        "uA" => (Dim::Current, 1e6),
        "nA" => (Dim::Current, 1e3),
        "pA" => (Dim::Current, 1.0),
        "F" => (Dim::Capacitance, 1e12),
        "mF" => (Dim::Capacitance, 1e9),
        "uF" => (Dim::Capacitance, 1e6),
        "nF" => (Dim::Capacitance, 1e3),
        "pF" => (Dim::Capacitance, 1.0),
        "Hz" => (Dim::Rate, 1.0),
        "kHz" => (Dim::Rate, 1e3),
        "m" => (Dim::Length, 1e6),
        "mm" => (Dim::Length, 1e3),
        "um" => (Dim::Length, 1.0),
        "nm" => (Dim::Length, 1e-3),
        _ => return None,
    })
}

/// Parses `"6 nS"`, `"-65mV"`, `"1 s"` or a plain number string into a value in the
/// canonical unit of `expected`. The message of the error says what was expected.
pub fn parse_quantity(text: &str, expected: Dim) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .char_indices()
        .find(|&(i, c)| {
            c.is_alphabetic() && c != 'e' && c != 'E' || (c == 'e' || c == 'E') && !next_is_numeric(t, i)
        })
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number with a unit (expected {expected} in {})", expected.accepted()))?;
    let unit = unit.trim();
    let value = if unit.is_empty() {
        value
    } else {
        let (dim, factor) = unit_factor(unit)
            .ok_or_else(|| format!("unknown unit `{unit}` (expected {expected} in {})", expected.accepted()))?;
        if dim != expected {
            return Err(format!(
                "`{text}` is a {dim}, expected a {expected} (units: {})",
                expected.accepted()
            ));
        }
        value * factor
    };
    check_finite(value)
}

fn next_is_numeric(t: &str, i: usize) -> bool {
    let rest = &t[i + 1..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    rest.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// A time in ms as printed to the user: at most 9 decimals, without the tail that a step
/// count times `dt` leaves in floating point (`47858.6`, not `47858.600000000006`).
pub fn fmt_ms(ms: f64) -> String {
    let s = format!("{ms:.9}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Rejects NaN and infinities, which TOML allows but no parameter means.
pub fn check_finite(v: f64) -> Result<f64, String> {
    if v.is_finite() { Ok(v) } else { Err(format!("{v} is not a finite number")) }
}

/// Converts a TOML value (number or string with unit) into the canonical unit.
pub fn quantity_from_toml(v: &toml::Value, expected: Dim) -> Result<f64, String> {
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) => check_finite(*f),
        toml::Value::String(s) => parse_quantity(s, expected),
        other => Err(format!(
            "expected a {expected} (a number in {} or a string like \"1 {}\"), found {}",
            expected.unit(),
            expected.unit(),
            other.type_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_ms;

    #[test]
    fn times_print_without_the_floats_tail() {
        assert_eq!(fmt_ms(478586.0 * 0.1), "47858.6");
        assert_eq!(fmt_ms(3.0 * 0.1), "0.3");
        assert_eq!(fmt_ms(1000.0), "1000");
        assert_eq!(fmt_ms(0.0), "0");
        assert_eq!(fmt_ms(0.125), "0.125");
        assert_eq!(fmt_ms(f64::INFINITY), "inf");
    }

    use super::*;

    #[test]
    fn parses_units_and_rejects_wrong_dimensions() {
        assert_eq!(parse_quantity("0.1 ms", Dim::Time).unwrap(), 0.1);
        assert_eq!(parse_quantity("1 s", Dim::Time).unwrap(), 1000.0);
        assert_eq!(parse_quantity("-65mV", Dim::Voltage).unwrap(), -65.0);
        assert!((parse_quantity("6 nS", Dim::Conductance).unwrap() - 6.0).abs() < 1e-12);
        assert!((parse_quantity("0.2 nA", Dim::Current).unwrap() - 200.0).abs() < 1e-9);
        assert_eq!(parse_quantity("1e-3 s", Dim::Time).unwrap(), 1.0);
        assert_eq!(parse_quantity("2.5", Dim::Voltage).unwrap(), 2.5);
        assert!(parse_quantity("6 nS", Dim::Time).unwrap_err().contains("conductance"));
        assert!(parse_quantity("6 furlongs", Dim::Time).is_err());
        assert!(parse_quantity("nan", Dim::Time).is_err());
        assert_eq!(parse_quantity("50 um", Dim::Length).unwrap(), 50.0);
        assert_eq!(parse_quantity("0.2 mm", Dim::Length).unwrap(), 200.0);
        assert_eq!(parse_quantity("1 µm", Dim::Length).unwrap(), 1.0);
        assert_eq!(parse_quantity("1e-6 m", Dim::Length).unwrap(), 1.0);
        assert!(parse_quantity("5 m", Dim::Time).unwrap_err().contains("length"));
    }
}
