//! Selections (`P`, `P[a:b]`, `P[:b]`, `P[a:]`, `P[i]`) and times as whole steps.

use crate::api::encoder::EncoderKind;
use crate::scenario::{EncoderDef, PopulationDef, Selection, SourceRef};
use crate::util::error::ScenarioError;
use crate::util::node::Node;
use crate::util::table::err_at;

/// Most steps a run, a delay or a period may have: 2^53, the largest count a float of the
/// step times holds exactly.
pub const MAX_STEPS: u64 = 1 << 53;

/// A range as written: start, end, and whether it was a single index.
type RangeSpec = (Option<usize>, Option<usize>, bool);

/// Parses `P`, `P[a:b]`, `P[:b]`, `P[a:]`, `P[i]`.
fn parse_selector(text: &str) -> Result<(String, Option<RangeSpec>), String> {
    let text = text.trim();
    let Some(open) = text.find('[') else { return Ok((text.to_string(), None)) };
    let name = text[..open].trim().to_string();
    let inner = text[open + 1..].strip_suffix(']').ok_or_else(|| format!("`{text}`: missing `]`"))?;
    let num = |s: &str| -> Result<Option<usize>, String> {
        let s = s.trim();
        if s.is_empty() { Ok(None) } else { s.parse::<usize>().map(Some).map_err(|_| format!("`{s}` is not a non-negative index")) }
    };
    match inner.split_once(':') {
        Some((a, b)) => Ok((name, Some((num(a)?, num(b)?, false)))),
        None => {
            let i = num(inner)?.ok_or_else(|| format!("`{text}`: empty index"))?;
            let end = i.checked_add(1).ok_or_else(|| format!("`{text}`: index {i} is too large"))?;
            Ok((name, Some((Some(i), Some(end), true))))
        }
    }
}

fn resolve_range(spec: Option<RangeSpec>, name: &str, size: usize) -> Result<(usize, usize), String> {
    let (a, b, single) = match spec {
        None => (0, size, false),
        Some((a, b, single)) => (a.unwrap_or(0), b.unwrap_or(size), single),
    };
    if single && a >= size {
        return Err(format!("index {a} is outside `{name}`'s {size} neurons (valid: 0 to {})", size - 1));
    }
    if a > b {
        return Err(format!("range {a}:{b} is reversed (start {a} > end {b}); write `{name}[{b}:{a}]`"));
    }
    if b > size {
        return Err(format!("range {a}:{b} is outside 0:{size} (`{name}` has {size} neurons)"));
    }
    Ok((a, b))
}

/// `x` as a whole number of steps of `dt`, if it is one (and at most [`MAX_STEPS`]).
pub fn steps_of(x: f64, dt: f64) -> Option<u64> {
    let k = (x / dt).round();
    ((k * dt - x).abs() <= 1e-6 * dt && k >= 0.0 && k <= MAX_STEPS as f64).then_some(k as u64)
}

pub(super) fn select_population(text: &str, node: &Node, key: &str, pops: &[PopulationDef]) -> Result<Selection, ScenarioError> {
    let (name, range) = parse_selector(text).map_err(|m| err_at(&node.loc, key, m))?;
    let index = pops.iter().position(|p| p.name == name).ok_or_else(|| {
        let valid: Vec<&str> = pops.iter().map(|p| p.name.as_str()).collect();
        err_at(&node.loc, key, format!("no population named `{name}`; valid: {}", if valid.is_empty() { "(none defined)".into() } else { valid.join(", ") }))
    })?;
    let (start, end) = resolve_range(range, &name, pops[index].size).map_err(|m| err_at(&node.loc, key, m))?;
    if start == end {
        return Err(err_at(&node.loc, key, "selects no neuron"));
    }
    Ok(Selection { index, start, end })
}

pub(super) fn select_source(text: &str, node: &Node, key: &str, pops: &[PopulationDef], encs: &[EncoderDef]) -> Result<SourceRef, ScenarioError> {
    let (name, range) = parse_selector(text).map_err(|m| err_at(&node.loc, key, m))?;
    if pops.iter().any(|p| p.name == name) {
        return select_population(text, node, key, pops).map(SourceRef::Population);
    }
    if let Some(index) = encs.iter().position(|e| e.name == name) {
        if encs[index].output != EncoderKind::Source {
            return Err(err_at(&node.loc, key, format!("encoder `{name}` injects a current; only spike sources can be projected from")));
        }
        let (start, end) = resolve_range(range, &name, encs[index].size).map_err(|m| err_at(&node.loc, key, m))?;
        if start == end {
            return Err(err_at(&node.loc, key, "selects no output"));
        }
        return Ok(SourceRef::Encoder(Selection { index, start, end }));
    }
    let valid: Vec<&str> = pops.iter().map(|p| p.name.as_str()).chain(encs.iter().map(|e| e.name.as_str())).collect();
    Err(err_at(&node.loc, key, format!("no population or encoder named `{name}`; valid: {}", valid.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(resolve_range(parse_selector("P[8:2]").unwrap().1, "P", 10).unwrap_err().contains("reversed"));
        assert!(parse_selector("P[18446744073709551615]").unwrap_err().contains("too large"));
        assert!(resolve_range(parse_selector("P[10]").unwrap().1, "P", 10).unwrap_err().contains("outside"));
        assert_eq!(resolve_range(parse_selector("P[3:]").unwrap().1, "P", 10).unwrap(), (3, 10));
        assert_eq!(steps_of(1e300, 1e-300), None);
        assert_eq!(steps_of(1.0, 0.1), Some(10));
    }
}
