//! Strict, located reading of scenario tables: every key is either read or reported as
//! unknown, with the valid choices.

use crate::util::error::{Loc, ScenarioError};
use crate::util::node::{Entry, Node, Val};
use crate::util::units::{Dim, check_finite, parse_quantity};

/// Reads the keys of one TOML table, remembering which were used.
pub struct Table<'a> {
    path: String,
    loc: Loc,
    entries: &'a [Entry],
    used: Vec<bool>,
}

/// Makes an error at a node.
pub fn err_at(loc: &Loc, key: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError { loc: loc.clone(), key: key.into(), message: message.into() }
}

impl<'a> Table<'a> {
    /// Opens `node` as a table whose dotted path is `path`.
    pub fn new(node: &'a Node, path: impl Into<String>) -> Result<Self, ScenarioError> {
        let path = path.into();
        match &node.val {
            Val::Table(entries) => Ok(Table { path, loc: node.loc.clone(), entries, used: vec![false; entries.len()] }),
            other => Err(err_at(&node.loc, path, format!("expected a table, found {}", other.type_str()))),
        }
    }

    /// The table's dotted path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the table starts.
    pub fn loc(&self) -> &Loc {
        &self.loc
    }

    /// The dotted path of one of its keys.
    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    /// An error about `key` at `node`.
    pub fn err(&self, node: &Node, key: &str, message: impl Into<String>) -> ScenarioError {
        err_at(&node.loc, self.key_path(key), message)
    }

    /// The value of `key`, if present.
    pub fn get(&mut self, key: &str) -> Option<&'a Node> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.used[i] = true;
        Some(&self.entries[i].node)
    }

    /// Every key and value, without marking any as read (for hints in error messages).
    pub fn peek_all(&self) -> impl Iterator<Item = (&'a str, &'a Node)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.node))
    }

    /// The value of a required `key`.
    pub fn req(&mut self, key: &str) -> Result<&'a Node, ScenarioError> {
        self.get(key)
            .ok_or_else(|| err_at(&self.loc, self.key_path(key), "missing required key"))
    }

    /// Keys not read yet, with their locations (for tables of free-form parameters).
    pub fn remaining(&mut self) -> Vec<(&'a str, &'a Loc, &'a Node)> {
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if !self.used[i] {
                self.used[i] = true;
                out.push((e.key.as_str(), &e.key_loc, &e.node));
            }
        }
        out
    }

    /// Fails on the first key that was never read, listing the valid keys.
    pub fn finish(self, valid: &[&str]) -> Result<(), ScenarioError> {
        for (i, e) in self.entries.iter().enumerate() {
            if !self.used[i] {
                return Err(err_at(
                    &e.key_loc,
                    self.key_path(&e.key),
                    format!("unknown key; valid keys here: {}", valid.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// An optional string.
    pub fn opt_str(&mut self, key: &str) -> Result<Option<(&'a str, &'a Node)>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) => match &n.val {
                Val::Str(s) => Ok(Some((s.as_str(), n))),
                other => Err(self.err(n, key, format!("expected a string, found {}", other.type_str()))),
            },
        }
    }

    /// A required string.
    pub fn str(&mut self, key: &str) -> Result<(&'a str, &'a Node), ScenarioError> {
        match self.opt_str(key)? {
            Some(v) => Ok(v),
            None => Err(err_at(&self.loc, self.key_path(key), "missing required key (a string)")),
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) => match &n.val {
                Val::Bool(b) => Ok(Some(*b)),
                other => Err(self.err(n, key, format!("expected true or false, found {}", other.type_str()))),
            },
        }
    }

    /// An optional non-negative integer.
    pub fn opt_count(&mut self, key: &str) -> Result<Option<(u64, &'a Node)>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) => Ok(Some((node_count(n, &self.key_path(key))?, n))),
        }
    }

    /// An optional quantity of dimension `dim`, in its canonical unit.
    pub fn opt_quantity(&mut self, key: &str, dim: Dim) -> Result<Option<(f64, &'a Node)>, ScenarioError> {
        match self.get(key) {
            None => Ok(None),
            Some(n) => Ok(Some((node_quantity(n, dim, &self.key_path(key))?, n))),
        }
    }

    /// A required quantity.
    pub fn quantity(&mut self, key: &str, dim: Dim) -> Result<(f64, &'a Node), ScenarioError> {
        match self.opt_quantity(key, dim)? {
            Some(v) => Ok(v),
            None => Err(err_at(
                &self.loc,
                self.key_path(key),
                format!("missing required key (a {dim} in {})", dim.unit()),
            )),
        }
    }
}

/// Reads a quantity (number in the canonical unit, or a string with a unit).
pub fn node_quantity(n: &Node, dim: Dim, key: &str) -> Result<f64, ScenarioError> {
    let r = match &n.val {
        Val::Int(i) => Ok(*i as f64),
        Val::BigInt(s) => Err(format!("integer `{s}` is out of range (at most {}); write it as a float if you mean it", i64::MAX)),
        Val::Float(f) => check_finite(*f),
        Val::Str(s) => parse_quantity(s, dim),
        other => Err(format!(
            "expected a {dim} (a number in {} or a string like \"1 {}\"), found {}",
            dim.unit(),
            dim.unit(),
            other.type_str()
        )),
    };
    r.map_err(|m| err_at(&n.loc, key, m))
}

/// Reads a non-negative integer.
pub fn node_count(n: &Node, key: &str) -> Result<u64, ScenarioError> {
    match &n.val {
        Val::Int(i) if *i >= 0 => Ok(*i as u64),
        Val::Int(i) => Err(err_at(&n.loc, key, format!("must not be negative (found {i})"))),
        Val::BigInt(s) => match s.parse::<u64>() {
            Ok(v) => Ok(v),
            Err(_) if s.starts_with('-') => Err(err_at(&n.loc, key, format!("must not be negative (found {s})"))),
            Err(_) => Err(err_at(&n.loc, key, format!("integer `{s}` is out of range (at most {})", u64::MAX))),
        },
        other => Err(err_at(&n.loc, key, format!("expected a non-negative integer, found {}", other.type_str()))),
    }
}

/// Reads a scalar quantity or an array of them (one per index).
pub fn node_quantity_list(n: &Node, dim: Dim, key: &str) -> Result<Vec<f64>, ScenarioError> {
    match &n.val {
        Val::Array(items) => items.iter().map(|i| node_quantity(i, dim, key)).collect(),
        _ => Ok(vec![node_quantity(n, dim, key)?]),
    }
}
