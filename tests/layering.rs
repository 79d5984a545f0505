//! The core's layers import only downward. This test reads every file under `src/`, finds
//! each `crate::MODULE` it names in code (comments and doc links are not imports), and
//! fails if a module names one of a layer above its own, or a sibling of the same layer.
//! The layers are listed in `src/lib.rs` and drawn in `docs/architecture.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layer of each top-level module of `src/`, bottom first. Modules on one layer may not
/// import each other.
const LAYERS: &[&[&str]] = &[
    &["util"],
    &["api"],
    &["kernel", "rules"],
    &["registry"],
    &["scenario"],
    &["net"],
    &["engine", "monitor"],
    &["build"],
    &["sim"],
    &["persist", "output"],
    &["testing"],
];

fn rank(module: &str) -> Option<usize> {
    match module {
        // Re-exported at the crate root from `util::error`.
        "Error" | "Result" => Some(0),
        m => LAYERS.iter().position(|l| l.contains(&m)),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a line of code names through `crate::`.
fn named_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // `crate::{a::b, c}`: the first segment of each top-level item.
            let mut depth = 0;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(ch);
            }
            if !item.trim().is_empty() {
                out.push(first_segment(&item));
            }
        } else {
            out.push(first_segment(after));
        }
        rest = after;
    }
    out
}

fn first_segment(s: &str) -> String {
    s.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

fn code_part(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

#[test]
fn modules_import_only_from_layers_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if top == "lib" {
            continue;
        }
        let own = rank(&top).unwrap_or_else(|| panic!("src/{}: module `{top}` is in no layer; add it to LAYERS here and to docs/architecture.md", rel.display()));
        *seen.entry(top.clone()).or_default() += 1;
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for m in named_modules(code_part(line)) {
                if m.is_empty() || m == top {
                    continue;
                }
                let Some(r) = rank(&m) else {
                    violations.push(format!("src/{}:{}: names `crate::{m}`, which is in no layer", rel.display(), n + 1));
                    continue;
                };
                if r >= own {
                    violations.push(format!("src/{}:{}: `{top}` (layer {own}) imports `{m}` (layer {r}): {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "imports against the layering:\n{}", violations.join("\n"));
    // The test must actually have looked at the layers it guards.
    for l in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(seen.contains_key(*l), "no file of module `{l}` found under src/");
    }
}

#[test]
fn the_import_finder_finds_grouped_and_nested_paths() {
    assert_eq!(named_modules("use crate::{Error, net::synapse::{Csr, Delays}, util::rng};"), ["Error", "net", "util"]);
    assert_eq!(named_modules("let x = crate::sim::Sim::new(); crate::api::model::Col::from_host(v, d)"), ["sim", "api"]);
    assert_eq!(code_part("use crate::util; // see crate::sim"), "use crate::util; ");
}
