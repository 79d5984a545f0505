//! The text of a model: Brian2's equation lines, and reset statements.
//!
//! ```text
//! dv/dt = (gl*(El - v) + ge*(Ee - v))/Cm : volt (unless refractory)
//! I_syn = ge*(Ee - v) : amp        # a subexpression
//! tau : second                     # a parameter
//! ```

use crate::expr::{Expr, parse};

/// What an equation line defines.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `dX/dt = expr`: a state variable.
    Diff(Expr),
    /// `X = expr`: a subexpression, computed where it is used.
    Sub(Expr),
    /// `X : unit`: a parameter.
    Param,
}

/// One equation line.
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub kind: Kind,
    /// The unit after `:`, parsed as an expression of unit names (`1` for none).
    pub unit: Expr,
    /// `(unless refractory)`.
    pub unless_refractory: bool,
    /// 1-based line in the text, and the line itself (for messages).
    pub line: usize,
    pub text: String,
}

/// An error in a multi-line text: 1-based line, 0-based column in that line, message.
#[derive(Clone, Debug)]
pub struct TextError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

fn text_err(line: usize, col: usize, message: impl Into<String>) -> TextError {
    TextError { line, col, message: message.into() }
}

/// Parses `text`, which starts at column `col` of its line: columns in the tree and in
/// errors are the line's.
fn parse_at(text: &str, col: usize) -> Result<Expr, crate::expr::SyntaxError> {
    parse(&format!("{}{text}", " ".repeat(col)))
}

fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Column (in characters) of byte offset `b` of `s`.
fn col_of(s: &str, b: usize) -> usize {
    s[..b].chars().count()
}

/// Parses equation lines (`#` starts a comment; blank lines are skipped).
/// The text's logical lines, comments removed: a line with a parenthesis left open goes
/// on with the next (Brian2 accepts equations written over several lines that way).
/// Each with the number of its first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = 0i64;
    for (i, raw) in text.lines().enumerate() {
        let code = raw.split('#').next().unwrap_or("");
        if open > 0 {
            let last = out.last_mut().expect("a line is open");
            last.1.push(' ');
            last.1.push_str(code.trim());
        } else {
            out.push((i + 1, code.to_string()));
        }
        open += code.matches('(').count() as i64 - code.matches(')').count() as i64;
        open = open.max(0);
    }
    out
}

pub fn parse_equations(text: &str) -> Result<Vec<Line>, TextError> {
    let mut out: Vec<Line> = Vec::new();
    for (ln, joined) in logical_lines(text) {
        let code = joined.as_str();
        let raw = code;
        if code.trim().is_empty() {
            continue;
        }
        let Some(colon) = code.rfind(':') else {
            return Err(text_err(ln, code.len() - code.trim_start().len(), "expected `dX/dt = expression : unit`, `X = expression : unit` or `X : unit`; the unit is missing (`: 1` for none)"));
        };
        let (lhs_all, unit_part) = (&code[..colon], &code[colon + 1..]);
        // Flags in parentheses at the end: `(unless refractory)`.
        let (unit_text, flags, flags_at) = match unit_part.rfind('(') {
            Some(p) if unit_part.trim_end().ends_with(')') && !unit_part[..p].trim().is_empty() => {
                let f = unit_part[p + 1..].trim_end().trim_end_matches(')');
                (&unit_part[..p], f.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>(), colon + 1 + p + 1)
            }
            _ => (unit_part, Vec::new(), 0),
        };
        let unit_col = colon + 1 + (unit_text.len() - unit_text.trim_start().len());
        let unit = parse_at(unit_text.trim(), col_of(code, unit_col)).map_err(|e| text_err(ln, e.col, format!("in the unit: {}", e.message)))?;
        let (lhs, rhs) = match lhs_all.find('=') {
            Some(e) => (&lhs_all[..e], Some((e + 1, &lhs_all[e + 1..]))),
            None => (lhs_all, None),
        };
        let lhs_t = lhs.trim();
        let lhs_col = col_of(code, lhs.len() - lhs.trim_start().len());
        let (name, kind) = match rhs {
            Some((at, r)) => {
                let r_col = col_of(code, at + (r.len() - r.trim_start().len()));
                let e = parse_at(r.trim(), r_col).map_err(|e| text_err(ln, e.col, e.message))?;
                match lhs_t.strip_prefix('d').and_then(|s| s.strip_suffix("/dt")).map(str::trim) {
                    Some(v) if is_name(v) => (v.to_string(), Kind::Diff(e)),
                    _ if is_name(lhs_t) => (lhs_t.to_string(), Kind::Sub(e)),
                    _ => return Err(text_err(ln, lhs_col, format!("`{lhs_t}` is neither `dX/dt` nor a name"))),
                }
            }
            None if is_name(lhs_t) => (lhs_t.to_string(), Kind::Param),
            None => return Err(text_err(ln, lhs_col, format!("`{lhs_t}` is not a name"))),
        };
        let mut unless_refractory = false;
        for f in &flags {
            match (f.as_str(), &kind) {
                ("unless refractory", Kind::Diff(_)) => unless_refractory = true,
                // Parameters are constant per population, or per neuron when the population
                // gives one value per neuron: Brian2's flags say as much.
                ("constant" | "shared", Kind::Param) => {}
                _ => return Err(text_err(ln, col_of(code, flags_at), format!("flag `{f}` is not supported here (supported: `unless refractory` on a differential equation; `constant`, `shared` on a parameter)"))),
            }
        }
        if let Some(prev) = out.iter().find(|l| l.name == name) {
            return Err(text_err(ln, lhs_col, format!("`{name}` is already defined on line {}", prev.line)));
        }
        out.push(Line { name, kind, unit, unless_refractory, line: ln, text: raw.trim().to_string() });
    }
    if !out.iter().any(|l| matches!(l.kind, Kind::Diff(_))) {
        return Err(text_err(1, 0, "no differential equation (`dv/dt = ... : volt`): a model needs at least one state variable"));
    }
    Ok(out)
}

/// How a reset statement changes its variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assign {
    Set,
    Add,
    Sub,
    Mul,
    Div,
}

/// `v = v_r`, `w += b`.
#[derive(Clone, Debug)]
pub struct Statement {
    pub target: String,
    pub op: Assign,
    pub value: Expr,
    pub line: usize,
    pub col: usize,
}

/// Parses reset statements, one per line or separated by `;`.
pub fn parse_statements(text: &str) -> Result<Vec<Statement>, TextError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let code = raw.split('#').next().unwrap_or("");
        let mut start = 0;
        for part in code.split(';') {
            let at = start;
            start += part.len() + 1;
            if part.trim().is_empty() {
                continue;
            }
            let lead = part.len() - part.trim_start().len();
            let Some(eq) = part.find('=') else {
                return Err(text_err(ln, col_of(code, at + lead), "expected `X = expression` (or `+=`, `-=`, `*=`, `/=`)"));
            };
            let (op, name_end) = match part[..eq].chars().last() {
                Some('+') => (Assign::Add, eq - 1),
                Some('-') => (Assign::Sub, eq - 1),
                Some('*') => (Assign::Mul, eq - 1),
                Some('/') => (Assign::Div, eq - 1),
                _ => (Assign::Set, eq),
            };
            let target = part[..name_end].trim();
            if !is_name(target) {
                return Err(text_err(ln, col_of(code, at + lead), format!("`{target}` is not a variable name")));
            }
            let rhs = &part[eq + 1..];
            let r_col = col_of(code, at + eq + 1 + (rhs.len() - rhs.trim_start().len()));
            let value = parse_at(rhs.trim(), r_col).map_err(|e| text_err(ln, e.col, e.message))?;
            out.push(Statement { target: target.to_string(), op, value, line: ln, col: col_of(code, at + lead) });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parenthesis_left_open_continues_the_line() {
        let l = parse_equations("dv/dt = (El -\n         v)/tau : volt  # a comment\ntau : second\n").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].line, l[1].line), (1, 3));
        assert_eq!(l[0].text, "dv/dt = (El - v)/tau : volt");
    }

    #[test]
    fn lines_of_every_kind() {
        let l = parse_equations("dv/dt = (El - v)/tau : volt (unless refractory)\n# a comment\n\nI = g*(E - v) : amp\ntau : second (constant)\n").unwrap();
        assert_eq!(l.len(), 3);
        assert!(matches!(l[0].kind, Kind::Diff(_)) && l[0].unless_refractory && l[0].name == "v");
        assert!(matches!(l[1].kind, Kind::Sub(_)) && l[1].line == 4);
        assert!(matches!(l[2].kind, Kind::Param) && l[2].name == "tau");
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse_equations("dv/dt = -v/tau : volt\ndx/dt = -x/ : 1").unwrap_err();
        assert_eq!((e.line, e.col), (2, 11));
        let e = parse_equations("dv/dt = -v/tau").unwrap_err();
        assert!(e.message.contains("unit is missing"), "{}", e.message);
        let e = parse_equations("dv/dt = -v/tau : volt (unless spiking)").unwrap_err();
        assert!(e.message.contains("unless spiking"), "{}", e.message);
        let e = parse_equations("dv/dt = -v/tau : volt\ndv/dt = 0 : volt").unwrap_err();
        assert!(e.message.contains("already defined on line 1"), "{}", e.message);
        assert!(parse_equations("tau : second").unwrap_err().message.contains("no differential"));
    }

    #[test]
    fn statements() {
        let s = parse_statements("v = v_r; w += b\nx *= 2").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!((s[1].target.as_str(), s[1].op, s[1].col), ("w", Assign::Add, 9));
        assert_eq!(s[2].line, 2);
        let e = parse_statements("v = ").unwrap_err();
        assert_eq!(e.col, 4);
    }
}
