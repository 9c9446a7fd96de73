//! The crate's modules form layers (listed in `src/lib.rs`'s docs): each
//! imports only the layers below it. This test reads `src/**/*.rs` and
//! fails when code in one layer names a module of a higher one.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom up. Modules on one line are one layer and may not
/// use each other either. `util` is below everything.
const LAYERS: &[&[&str]] = &[
    &["util"],
    &["stack"],
    &["coro"],
    &["generator"],
    &["reactor"],
    &["rt", "task"],
    &["sync"],
    &["io"],
    &["net", "process"],
    &["procpool"],
    &["pipe"],
];

/// Items the crate root re-exports, by the module they come from, so that
/// `crate::spawn` counts as a use of `rt`.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("Co", "generator"),
    ("Generator", "generator"),
    ("GeneratorState", "generator"),
    ("Interrupt", "generator"),
    ("block_on", "rt"),
    ("run", "rt"),
    ("sleep", "rt"),
    ("sleep_until", "rt"),
    ("spawn", "rt"),
    ("spawn_local", "rt"),
    ("timeout", "rt"),
    ("yield_now", "rt"),
    ("JoinHandle", "rt"),
    ("Runtime", "rt"),
];

/// Uses of a higher layer that are allowed, each with its reason:
/// (file, the module it names, why).
const ALLOWED: &[(&str, &str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The modules (first path segments after `crate::`) that a line of code
/// names, including each item of a `crate::{a, b::c}` group.
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.push(ident_at(group[start..i].trim()).to_owned());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(ident_at(group[start..i].trim()).to_owned());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(ident_at(rest).to_owned());
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

#[test]
fn every_module_imports_only_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = BTreeSet::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        let own = match rel.components().next() {
            Some(first) if rel.components().count() > 1 => {
                first.as_os_str().to_string_lossy().into_owned()
            }
            _ => rel_str.trim_end_matches(".rs").to_owned(),
        };
        if own == "lib" {
            continue; // The crate root re-exports every layer.
        }
        let own_layer = layer_of(&own)
            .unwrap_or_else(|| panic!("{rel_str}: module `{own}` is not in LAYERS; add it"));
        for (n, line) in fs::read_to_string(file).unwrap().lines().enumerate() {
            // Comments (doc links included) may point anywhere.
            if line.trim_start().starts_with("//") {
                continue;
            }
            for named in crate_paths(line) {
                let module = ROOT_ITEMS
                    .iter()
                    .find(|(item, _)| *item == named)
                    .map_or(named.as_str(), |(_, m)| m);
                let Some(layer) = layer_of(module) else {
                    panic!("{rel_str}:{}: `crate::{named}` names no known layer", n + 1);
                };
                checked += 1;
                let allowed = ALLOWED
                    .iter()
                    .any(|(f, m, _)| *f == rel_str && *m == module);
                if module != own && layer >= own_layer && !allowed {
                    violations.insert(format!(
                        "{rel_str}:{}: `{own}` uses `{module}`, which is not below it",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "found only {checked} crate paths: is the parser broken?"
    );
    assert!(
        violations.is_empty(),
        "layer violations (order in src/lib.rs):\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_path_parser_finds_single_and_grouped_paths() {
    assert_eq!(crate_paths("use crate::rt::core;"), ["rt"]);
    assert_eq!(
        crate_paths("use crate::{io::Fd, rt::{self, WaitReason}, util};"),
        ["io", "rt", "util"]
    );
    assert_eq!(
        crate_paths("let x = crate::spawn(|| crate::sleep(d));"),
        ["spawn", "sleep"]
    );
    assert!(crate_paths("no paths here").is_empty());
}

#[test]
fn a_violation_would_be_found() {
    // `stack` naming `generator` is what the main test must reject.
    let stack = layer_of("stack").unwrap();
    let generator = layer_of("generator").unwrap();
    assert!(generator > stack);
    assert_eq!(crate_paths("use crate::generator::Co;"), ["generator"]);
}
