//! The architecture, checked: what docs/architecture.md says about dependencies holds.
//!
//! - Inside the binary, modules depend one way: every `crate::` path in `src/` (comments
//!   aside) goes from a module to one on a lower layer, so there are no import cycles and
//!   nothing below `web` knows of HTTP.
//! - The pure crates (vision, clock, types) have no async runtime, database, HTTP or mail in
//!   their dependency graphs, so they stay plain functions to call and test.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The binary's top-level modules by layer: a module may use only modules on lower layers
/// (docs/architecture.md, "Inside the binary").
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("time", 0),
    ("config", 1),
    ("db", 2),
    ("vision", 2),
    ("delivery", 3),
    ("profiles", 3),
    ("calibration", 4),
    ("notifier", 4),
    ("session", 5),
    ("web", 6),
    ("cli", 6),
    ("startup", 7),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/session/mod.rs` -> `session`; `src/time.rs` -> `time`; the crate root -> `None`.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// Every `crate::module` a line names outside comments.
fn crate_paths(line: &str) -> impl Iterator<Item = &str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::").filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return None; // e.g. `focus_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

/// (from, to) -> the first place that uses it, e.g. `src/web/api.rs:17`.
fn module_edges() -> BTreeMap<(String, String), String> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges = BTreeMap::new();
    for file in files {
        let Some(from) = top_module(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for to in crate_paths(line) {
                if to != from {
                    let place =
                        format!("{}:{}", file.strip_prefix(root()).unwrap().display(), n + 1);
                    edges.entry((from.clone(), to.to_owned())).or_insert(place);
                }
            }
        }
    }
    edges
}

#[test]
fn the_paths_are_read_from_code_not_comments() {
    assert_eq!(
        crate_paths("use crate::db::{Db, DbError}; // see crate::web").collect::<Vec<_>>(),
        ["db"]
    );
    assert_eq!(
        crate_paths("let x = crate::time::now(crate::config::X);").collect::<Vec<_>>(),
        ["time", "config"]
    );
    assert_eq!(crate_paths("//! [`crate::web::error`]").count(), 0);
    assert_eq!(crate_paths("use focus_crate::thing;").count(), 0);
}

#[test]
fn modules_depend_only_on_lower_layers() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let edges = module_edges();
    assert!(
        edges
            .keys()
            .any(|(from, to)| from == "web" && to == "session"),
        "the scan finds the binary's imports: {edges:?}"
    );
    let mut wrong = Vec::new();
    for ((from, to), place) in &edges {
        // A module not in the table yet is held only to having no cycle (below).
        if let (Some(f), Some(t)) = (layer.get(from.as_str()), layer.get(to.as_str()))
            && f <= t
        {
            wrong.push(format!(
                "{place}: `{from}` (layer {f}) uses `{to}` (layer {t})"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "a module may use only modules on lower layers (docs/architecture.md):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn there_are_no_import_cycles() {
    let edges = module_edges();
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        graph.entry(from).or_default().insert(to);
    }
    // Depth-first search; a grey node met again closes a cycle.
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        grey: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if done.contains(node) {
            return None;
        }
        if let Some(at) = grey.iter().position(|n| *n == node) {
            let mut cycle = grey[at..].to_vec();
            cycle.push(node);
            return Some(cycle);
        }
        grey.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, grey, done) {
                return Some(cycle);
            }
        }
        grey.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            let places: Vec<&String> = cycle
                .windows(2)
                .map(|w| &edges[&(w[0].to_owned(), w[1].to_owned())])
                .collect();
            panic!("import cycle {} via {places:?}", cycle.join(" -> "));
        }
    }
}

/// The normal (not dev or build) dependencies of every workspace crate, by package name,
/// transitively, from `cargo metadata`.
fn runtime_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // This machine's platform only: the build has downloaded its crates already, so the
    // check needs no network (other platforms' crates are never downloaded).
    let rustc = Command::new("rustc").arg("-vV").output().unwrap();
    let rustc = String::from_utf8(rustc.stdout).unwrap();
    let host = rustc
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or_else(|| panic!("a host line in {rustc}"));
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", host])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut direct: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().unwrap() {
        let runtime = node["deps"].as_array().unwrap().iter().filter(|dep| {
            dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null())
        });
        direct.insert(
            node["id"].as_str().unwrap(),
            runtime.map(|d| d["pkg"].as_str().unwrap()).collect(),
        );
    }
    let mut all = BTreeMap::new();
    for member in metadata["workspace_members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        let mut seen = BTreeSet::new();
        let mut stack = vec![member];
        while let Some(id) = stack.pop() {
            for dep in direct.get(id).into_iter().flatten() {
                if seen.insert(name_of[dep].to_owned()) {
                    stack.push(dep);
                }
            }
        }
        all.insert(name_of[member].to_owned(), seen);
    }
    all
}

#[test]
fn the_pure_crates_have_no_runtime_database_or_network() {
    let deps = runtime_dependencies();
    assert!(
        deps["focus-sentry"].contains("tokio") && deps["focus-store"].contains("rusqlite"),
        "the dependency graph is read: {:?}",
        deps.keys()
    );
    let forbidden = [
        "tokio", "rusqlite", "axum", "hyper", "reqwest", "lettre", "rustls",
    ];
    for pure in ["focus-vision", "focus-clock", "focus-types"] {
        let found: Vec<&str> = forbidden
            .iter()
            .copied()
            .filter(|f| deps[pure].contains(*f))
            .collect();
        assert!(found.is_empty(), "{pure} depends on {found:?}");
    }
}
