//! Tidy checks of the workspace's shape: the dependency arrows between our crates (from
//! `cargo metadata`), module cycles inside the `workbench` library, who may print and who
//! may write the lake, and the `//!` line every module starts with.
//!
//! ARCHITECTURE.md states these invariants; a wrong arrow added by accident fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::root;

/// Our crates and the only workspace crates each may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("workbench-governance", &[]),
    ("workbench", &["workbench-governance"]),
    ("kernel-protocol", &[]),
    ("kernel-eval", &[]),
    ("workbench-prelude", &["workbench"]),
    (
        "workbench-kernel",
        &["kernel-protocol", "kernel-eval", "workbench-governance"],
    ),
    ("tests", &[]),
];

/// External crates a crate must not reach, even through others: what keeps each crate's
/// build and its reasons to change small.
const FORBIDDEN: &[(&str, &[&str])] = &[
    // Policy is pure: no data frames, no I/O stack, no kernel.
    (
        "workbench-governance",
        &["polars", "evcxr", "tokio", "zeromq"],
    ),
    // The curated library never depends on the kernel's evaluator or its sockets. (It does
    // reach tokio and an HTTP client: polars-stream turns on polars-io's cloud readers
    // whatever features we choose; the confinement refuses their connections.)
    ("workbench", &["evcxr", "zeromq"]),
    // The protocol is bytes in, types out: no sockets.
    ("kernel-protocol", &["zeromq", "tokio", "evcxr", "polars"]),
    // The evaluator knows no Jupyter types and no data frames of its own.
    ("kernel-eval", &["kernel-protocol", "zeromq", "polars"]),
];

/// Files of the `workbench` package that may print: the command line, and `display`,
/// whose stdout lines in a cell are the display protocol the kernel reads.
fn may_print(relative: &str) -> bool {
    relative == "src/main.rs" || relative.starts_with("src/command") || relative == "src/display.rs"
}

/// The host's target triple (`rustc -vV`): metadata is resolved for it alone, so that
/// packages of other platforms need not be downloaded (the check runs offline).
fn host() -> String {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// One package of `cargo metadata`: its name and resolved normal dependencies.
struct Graph {
    /// Package name → names of its normal (non-dev, non-build) dependencies.
    deps: BTreeMap<String, BTreeSet<String>>,
    /// Names of the workspace's own packages.
    members: BTreeSet<String>,
}

fn metadata() -> Graph {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .args(["--filter-platform", &host()])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let name_of: BTreeMap<&str, &str> = value["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let members = value["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|id| name_of[id.as_str().expect("id")].to_owned())
        .collect();
    let mut deps = BTreeMap::new();
    for node in value["resolve"]["nodes"].as_array().expect("resolve") {
        let name = name_of[node["id"].as_str().expect("id")].to_owned();
        let normal: BTreeSet<String> = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep_kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| name_of[d["pkg"].as_str().expect("pkg")].to_owned())
            .collect();
        deps.entry(name)
            .or_insert_with(BTreeSet::new)
            .extend(normal);
    }
    Graph { deps, members }
}

impl Graph {
    /// Every package `name` reaches through normal dependencies.
    fn closure(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![name.to_owned()];
        while let Some(next) = stack.pop() {
            for dep in self.deps.get(&next).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen
    }
}

/// Checks the graph against the rules; returns every broken rule.
fn broken_rules(graph: &Graph) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut broken = Vec::new();
    for member in &graph.members {
        let Some(ok) = allowed.get(member.as_str()) else {
            broken.push(format!(
                "crate {member} is not listed in tests/tidy.rs ALLOWED: decide its arrows"
            ));
            continue;
        };
        for dep in graph.deps.get(member).into_iter().flatten() {
            if graph.members.contains(dep) && !ok.contains(&dep.as_str()) {
                broken.push(format!("{member} must not depend on {dep}"));
            }
        }
    }
    for (name, forbidden) in FORBIDDEN {
        let reach = graph.closure(name);
        for f in *forbidden {
            if reach.contains(*f) {
                broken.push(format!("{name} must not reach {f}, even indirectly"));
            }
        }
    }
    broken
}

#[test]
fn crate_dependencies_point_one_way() {
    let graph = metadata();
    assert!(
        graph.members.contains("workbench-governance"),
        "the governance crate is a workspace member"
    );
    let broken = broken_rules(&graph);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn a_wrong_arrow_is_caught() {
    // The check itself must fail on a wrong arrow: add governance → workbench (which
    // brings polars) and kernel-eval → kernel-protocol to the real graph.
    let mut graph = metadata();
    graph
        .deps
        .get_mut("workbench-governance")
        .expect("governance")
        .insert("workbench".into());
    graph
        .deps
        .get_mut("kernel-eval")
        .expect("kernel-eval")
        .insert("kernel-protocol".into());
    let broken = broken_rules(&graph);
    for expected in [
        "workbench-governance must not depend on workbench",
        "workbench-governance must not reach polars, even indirectly",
        "kernel-eval must not depend on kernel-protocol",
        "kernel-eval must not reach kernel-protocol, even indirectly",
    ] {
        assert!(
            broken.iter().any(|b| b == expected),
            "missing {expected:?} in {broken:?}"
        );
    }
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module of the `workbench` library a file belongs to (`qc` for
/// `src/qc/fastq.rs`), or `None` for the crate root and the binary's files.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "command")).then(|| name.to_owned())
}

/// Edges between the library's top-level modules, from `crate::name` paths in code
/// (comments and `#[cfg(test)]` modules at the end of a file are left out: tests may
/// use anything).
fn module_edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let Some(from) = top_module(src, &file) else {
            continue;
        };
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let code = without_tests(&text);
        // Inside a `use crate::{` group that rustfmt spread over several lines.
        let mut open_group = false;
        for line in code.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if open_group {
                let (names, closed) = match line.split_once('}') {
                    Some((names, _)) => (names, true),
                    None => (line, false),
                };
                for name in names.split(',') {
                    if let Some(to) = module_name(name)
                        && to != from
                    {
                        edges.entry(from.clone()).or_default().insert(to);
                    }
                }
                open_group = !closed;
                continue;
            }
            for (i, _) in line.match_indices("crate::") {
                let before = line[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                let rest = &line[i + "crate::".len()..];
                // `use crate::{a, b::C}` names several modules at once (on one line; a
                // group rustfmt spreads over lines has one name per line, read below).
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => {
                        open_group = !group.contains('}');
                        group.split(['}', ',']).collect()
                    }
                    None => vec![rest],
                };
                for name in names {
                    if let Some(to) = module_name(name)
                        && to != from
                    {
                        edges.entry(from.clone()).or_default().insert(to);
                    }
                }
            }
        }
    }
    edges
}

/// The library module a path segment names: `lake` for `lake::Table`, and for the types
/// the crate root re-exports from `lake` (`Lake`, `Table`, `Dataset`).
fn module_name(path: &str) -> Option<String> {
    let name: String = path
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    match name.as_str() {
        "" | "self" => None,
        "Lake" | "Table" | "Dataset" => Some("lake".to_owned()),
        _ => Some(name),
    }
}

/// `text` without its `#[cfg(test)] mod tests { … }` blocks, wherever they sit (tests
/// may use anything), found by matching braces.
fn without_tests(text: &str) -> String {
    const MARK: &str = "#[cfg(test)]\nmod tests {";
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(MARK) {
        out.push_str(&rest[..start]);
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A cycle in `edges`, if any, as the list of modules around it.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|p| p == next).expect("on the path");
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node)
            && let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn library_modules_have_no_cycles() {
    let src = root().join("workbench/src");
    let edges = module_edges(&src);
    assert!(
        edges.get("figures").is_some_and(|e| e.contains("query")),
        "the scan sees figures → query: {edges:?}"
    );
    if let Some(cycle) = find_cycle(&edges) {
        panic!("module cycle: {}", cycle.join(" → "));
    }
    // Analyses never depend on figures (figures draw analyses; both draw through chart).
    for module in [
        "analysis", "survival", "query", "clinical", "cohort", "lake", "qc", "chart", "display",
        "synth", "import", "vocab", "session",
    ] {
        assert!(
            !edges.get(module).is_some_and(|e| e.contains("figures")),
            "{module} must not depend on figures"
        );
    }
    // The check finds a cycle when there is one.
    let mut with_cycle = edges.clone();
    with_cycle
        .entry("lake".into())
        .or_default()
        .insert("figures".into());
    assert!(find_cycle(&with_cycle).is_some());
}

#[test]
fn only_the_command_line_prints_and_only_the_lake_writes_tables() {
    let package = root().join("workbench");
    let mut problems = Vec::new();
    for file in rust_files(&package.join("src")) {
        let relative = file
            .strip_prefix(&package)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&file).expect("read");
        let code = without_tests(&text);
        if !may_print(&relative)
            && ["println!(", "eprintln!(", "print!(", "eprint!("]
                .iter()
                .any(|m| code.contains(m))
        {
            problems.push(format!("{relative} prints; only the command line may"));
        }
        let writes_tables = code.contains("write_tables(");
        if writes_tables && !matches!(relative.as_str(), "src/lake/store.rs" | "src/synth.rs") {
            problems.push(format!(
                "{relative} writes lake tables; only lake::store and synth may (through a staged directory)"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut missing = Vec::new();
    for dir in ["workbench", "kernel", "tests"] {
        for file in rust_files(&root().join(dir)) {
            let relative = file.strip_prefix(root()).expect("inside");
            if relative.starts_with("workbench/fuzz/target") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("read");
            if !text.starts_with("//!") {
                missing.push(relative.display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a leading //! line:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_module_scan_sees_grouped_uses_and_code_after_a_tests_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "//! Root.\n").expect("lib");
    std::fs::write(
        src.join("a.rs"),
        "//! A.\nuse crate::{\n    b,\n    c::X,\n};\nuse crate::Lake;\n",
    )
    .expect("a");
    std::fs::write(
        src.join("b.rs"),
        "//! B.\n#[cfg(test)]\nmod tests {\n    fn t() { crate::a::f(); }\n}\n\nfn g() { crate::c::h(); }\n",
    )
    .expect("b");
    let edges = module_edges(src);
    let names = |m: &str| -> Vec<&str> {
        edges
            .get(m)
            .map(|e| e.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };
    assert_eq!(names("a"), ["b", "c", "lake"]);
    assert_eq!(
        names("b"),
        ["c"],
        "tests may use anything; code after them counts"
    );
}
