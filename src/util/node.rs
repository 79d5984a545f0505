//! A TOML document as a tree whose every key and value knows its [`Loc`], so that
//! validation can point at `file:line:col`. Built from `toml`'s spanned parser;
//! `--set` overrides graft values whose location is the override itself.

use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::util::error::{Loc, ScenarioError};

/// A value with its location.
#[derive(Clone, Debug)]
pub struct Node {
    /// Where the value is written.
    pub loc: Loc,
    /// The value.
    pub val: Val,
}

/// A TOML value.
#[derive(Clone, Debug)]
pub enum Val {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// An integer outside `i64` (its digits): refused, naming the key, where it is read,
    /// unless a key accepts it (a `u64` seed).
    BigInt(String),
    /// A float (may be NaN or infinite: validation rejects those).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An array.
    Array(Vec<Node>),
    /// A table: (key, location of the key, value) in document order.
    Table(Vec<Entry>),
    /// A datetime (no parameter accepts one).
    Datetime,
}

/// One key of a table.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is written.
    pub key_loc: Loc,
    /// Its value.
    pub node: Node,
}

impl Val {
    /// The TOML type name, for messages.
    pub fn type_str(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Int(_) | Val::BigInt(_) => "an integer",
            Val::Float(_) => "a float",
            Val::Bool(_) => "a boolean",
            Val::Array(_) => "an array",
            Val::Table(_) => "a table",
            Val::Datetime => "a datetime",
        }
    }
}

struct LineIndex {
    file: Arc<str>,
    starts: Vec<usize>,
    /// The last position located: (byte offset, its column in characters). Values are
    /// located in document order, so a long line (a list of 10⁵ numbers) is counted once,
    /// not from its start for every value.
    last: std::cell::Cell<(usize, usize)>,
}

impl LineIndex {
    fn new(file: Arc<str>, text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { file, starts, last: std::cell::Cell::new((0, 0)) }
    }
    fn loc(&self, text: &str, offset: usize) -> Loc {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let (at, col) = self.last.get();
        // (Offsets come from the parser's spans: character boundaries.)
        let col = if at >= start && at <= offset && text.is_char_boundary(at) && text.is_char_boundary(offset) {
            col + text[at..offset].chars().count()
        } else {
            text[start..offset].chars().count()
        };
        self.last.set((offset, col));
        Loc::File { file: self.file.clone(), line: line as u32 + 1, col: col as u32 + 1 }
    }
}

/// Where column `col` (from 0) of a one-line string value is, when the string is written
/// on one line without escapes (else the value's own position).
pub fn loc_in(n: &Node, col: usize) -> Loc {
    match (&n.loc, &n.val) {
        (Loc::File { file, line, col: c }, Val::Str(s)) if !s.contains('\n') => Loc::File { file: file.clone(), line: *line, col: c + 1 + col as u32 },
        (l, _) => l.clone(),
    }
}

/// Parses a TOML document; a syntax error names file:line:col.
pub fn parse_document(file: &str, text: &str) -> Result<Node, ScenarioError> {
    let idx = LineIndex::new(Arc::from(file), text);
    let table = DeTable::parse(text).map_err(|e| {
        let loc = idx.loc(text, e.span().map(|s| s.start).unwrap_or(0));
        ScenarioError { loc, key: "(document)".into(), message: format!("TOML syntax: {}", e.message().trim()) }
    })?;
    let loc = idx.loc(text, table.span().start);
    Ok(Node { loc, val: Val::Table(convert_table(&idx, text, table.get_ref())?) })
}

fn convert_table(idx: &LineIndex, text: &str, t: &DeTable<'_>) -> Result<Vec<Entry>, ScenarioError> {
    let mut out = Vec::with_capacity(t.len());
    for (k, v) in t.iter() {
        let node = convert_value(idx, text, v.get_ref(), idx.loc(text, v.span().start))?;
        out.push(Entry { key: k.get_ref().to_string(), key_loc: idx.loc(text, k.span().start), node });
    }
    // NOTE: toml's map is ordered by key; document order only matters for arrays, which keep it.
    Ok(out)
}

fn convert_value(idx: &LineIndex, text: &str, v: &DeValue<'_>, loc: Loc) -> Result<Node, ScenarioError> {
    let val = match v {
        DeValue::String(s) => Val::Str(s.to_string()),
        DeValue::Integer(i) => {
            let s = i.as_str().replace('_', "");
            match i64::from_str_radix(&s, i.radix()) {
                Ok(n) => Val::Int(n),
                // The key is not known here: the reader of the value names it.
                Err(_) => Val::BigInt(u64::from_str_radix(&s, i.radix()).map(|v| v.to_string()).unwrap_or(s)),
            }
        }
        DeValue::Float(f) => {
            let s = f.as_str().replace('_', "");
            Val::Float(s.parse::<f64>().unwrap_or(f64::NAN))
        }
        DeValue::Boolean(b) => Val::Bool(*b),
        DeValue::Datetime(_) => Val::Datetime,
        DeValue::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            for item in a.iter() {
                items.push(convert_value(idx, text, item.get_ref(), idx.loc(text, item.span().start))?);
            }
            Val::Array(items)
        }
        DeValue::Table(t) => Val::Table(convert_table(idx, text, t)?),
    };
    Ok(Node { loc, val })
}

/// Arrays of tables whose unnamed elements have a default name, the array's key and the
/// element's index (`projection2`: `scenario::parse`), which `--set` accepts as their name.
pub const DEFAULT_NAMED: &[&str] = &["projection"];

/// Applies `key.path=value` to the document. A path segment selects a table key, or in an
/// array of tables the element whose `name` is the segment (or whose index it is). The
/// value is read as TOML (`300`, `"0.2 ms"`, `[1, 2]`), or as a bare string if it is not
/// valid TOML (`--set population.P.model=lif`).
pub fn apply_override(doc: &mut Node, spec: &str) -> Result<(), ScenarioError> {
    let origin: Arc<str> = Arc::from(spec);
    let loc = Loc::Override(origin.clone());
    let err = |key: &str, message: String| ScenarioError { loc: loc.clone(), key: key.to_string(), message };
    let (path, value) = spec
        .split_once('=')
        .ok_or_else(|| err(spec, "expected KEY.PATH=VALUE".into()))?;
    let path = path.trim();
    if path.is_empty() {
        return Err(err(spec, "empty key path".into()));
    }
    let new = parse_override_value(value.trim(), &loc);
    let segments: Vec<&str> = path.split('.').collect();
    let mut cur = doc;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match &mut cur.val {
            Val::Table(entries) => {
                let pos = entries.iter().position(|e| e.key == *seg);
                match (pos, last) {
                    (Some(p), true) => {
                        entries[p].node = new;
                        return Ok(());
                    }
                    (Some(p), false) => cur = &mut entries[p].node,
                    (None, true) => {
                        entries.push(Entry { key: seg.to_string(), key_loc: loc.clone(), node: new });
                        return Ok(());
                    }
                    (None, false) => {
                        entries.push(Entry {
                            key: seg.to_string(),
                            key_loc: loc.clone(),
                            node: Node { loc: loc.clone(), val: Val::Table(Vec::new()) },
                        });
                        let n = entries.len() - 1;
                        cur = &mut entries[n].node;
                    }
                }
            }
            Val::Array(items) => {
                // An unnamed element of an array whose elements have default names (the
                // array's key and the index: `projection2`) answers to that name too.
                let default_named = i > 0 && DEFAULT_NAMED.contains(&segments[i - 1]);
                let by_name = items.iter().enumerate().position(|(k, it)| match &it.val {
                    Val::Table(es) => match es.iter().find(|e| e.key == "name") {
                        Some(e) => matches!(&e.node.val, Val::Str(s) if s == seg),
                        None => default_named && *seg == format!("{}{k}", segments[i - 1]),
                    },
                    _ => false,
                });
                let p = by_name
                    .or_else(|| seg.parse::<usize>().ok().filter(|&k| k < items.len()))
                    .ok_or_else(|| {
                        let names: Vec<String> = items
                            .iter()
                            .enumerate()
                            .map(|(k, it)| match &it.val {
                                Val::Table(es) => es
                                    .iter()
                                    .find(|e| e.key == "name")
                                    .and_then(|e| if let Val::Str(s) = &e.node.val { Some(s.clone()) } else { None })
                                    .unwrap_or_else(|| if default_named { format!("{}{k}", segments[i - 1]) } else { k.to_string() }),
                                _ => k.to_string(),
                            })
                            .collect();
                        err(&segments[..=i].join("."), format!("no element named `{seg}`; valid: {}", names.join(", ")))
                    })?;
                if last {
                    items[p] = new;
                    return Ok(());
                }
                cur = &mut items[p];
            }
            other => {
                return Err(err(
                    &segments[..i].join("."),
                    format!("is {}, cannot select `{seg}` in it", other.type_str()),
                ));
            }
        }
    }
    Ok(())
}

fn parse_override_value(text: &str, loc: &Loc) -> Node {
    let doc = format!("x = {text}");
    if let Ok(t) = DeTable::parse(&doc)
        && let Some(v) = t.get_ref().get("x")
    {
        let idx = LineIndex::new(Arc::from("--set"), &doc);
        if let Ok(mut n) = convert_value(&idx, &doc, v.get_ref(), loc.clone()) {
            relocate(&mut n, loc);
            return n;
        }
    }
    Node { loc: loc.clone(), val: Val::Str(text.to_string()) }
}

fn relocate(n: &mut Node, loc: &Loc) {
    n.loc = loc.clone();
    match &mut n.val {
        Val::Array(items) => items.iter_mut().for_each(|i| relocate(i, loc)),
        Val::Table(es) => es.iter_mut().for_each(|e| {
            e.key_loc = loc.clone();
            relocate(&mut e.node, loc)
        }),
        _ => {}
    }
}
