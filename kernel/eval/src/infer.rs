//! Types of new variables, from rustc.
//!
//! evcxr persists each top-level `let` between cells and needs its type, which it asks
//! rust-analyzer for; rust-analyzer does not see the prelude library (see `prelude`).
//! The compiler always knows: annotating the variable with `()` makes rustc report the
//! real type ("expected `()`, found `DataFrame`") in a `cargo check`, and the kernel
//! writes it into the cell before evcxr compiles and runs it. These are the text
//! operations of that: finding untyped bindings, annotating them, reading the type.

use ra_ap_syntax::AstNode;

use crate::syntax;

/// `code` with `: ty` after the name of the last top-level `let [mut] name = …;` without
/// a type, or `None` when there is none (patterns, tuples, a typed binding, a binding
/// inside a block or function, code that does not parse).
pub(crate) fn annotate(code: &str, name: &str, ty: &str) -> Option<String> {
    let body = syntax::body(code)?;
    let (_, pat) = syntax::untyped_lets(&body)
        .into_iter()
        .filter(|(found, _)| found == name)
        .last()?;
    let at = syntax::position(pat.syntax().text_range().end())?;
    Some(format!("{}: {ty}{}", &code[..at], &code[at..]))
}

/// `code` with each `(name, type)` of `types` written into its binding.
pub(crate) fn annotate_all(code: &str, types: &[(String, String)]) -> String {
    types.iter().fold(code.to_owned(), |code, (name, ty)| {
        annotate(&code, name, ty).unwrap_or(code)
    })
}

/// Names bound by the cell's top-level `let [mut] NAME = …;` statements without a type,
/// in order of first appearance.
pub(crate) fn untyped_bindings(code: &str) -> Vec<String> {
    let Some(body) = syntax::body(code) else {
        return Vec::new();
    };
    let mut names: Vec<String> = Vec::new();
    for (name, _) in syntax::untyped_lets(&body) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The type rustc found where `()` was expected, from a rendered E0308 diagnostic.
pub(crate) fn found_type(message: &str) -> Option<String> {
    // rustc says "expected `()`, found `T`" in the label, or "found struct `T`" /
    // "found enum `T`" in the note; the first backticked text after "found" is the type.
    // Only the mismatch of the `()` annotation itself: other mismatches on the same
    // line (an argument that was itself annotated `()`) name other types.
    let start = message
        .find("expected `()`")
        .or_else(|| message.find("expected unit type `()`"))?;
    let mut rest = &message[start..];
    while let Some(at) = rest.find("found ") {
        rest = &rest[at + "found ".len()..];
        // An unsuffixed literal: Rust's default types.
        if rest.starts_with("integer") {
            return Some("i32".to_owned());
        }
        if rest.starts_with("floating-point number") {
            return Some("f64".to_owned());
        }
        let Some(open) = rest.find('`') else { break };
        // Only the words between "found" and the backtick (struct, enum, type…).
        if rest[..open].split_whitespace().count() > 1 {
            continue;
        }
        let after = &rest[open + 1..];
        let close = after.find('`')?;
        let ty = after[..close].trim();
        if !ty.is_empty() && ty != "()" {
            // Unsuffixed literals take Rust's default types.
            let ty = ty.replace("{integer}", "i32").replace("{float}", "f64");
            // Closures, opaque and unknown types have no name a cell could write.
            if ty.contains('{') || ty.contains("impl ") {
                return None;
            }
            return Some(ty);
        }
    }
    None
}

/// `ty` with every whole-segment occurrence of `name` (not already part of a path)
/// replaced by `path`.
pub(crate) fn qualify(ty: &str, name: &str, path: &str) -> String {
    let mut out = String::new();
    let mut rest = ty;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + name.len()..].chars().next();
        let joined =
            |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        out.push_str(&rest[..at]);
        out.push_str(if joined(before) || joined(after) {
            name
        } else {
            path
        });
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// The paths rustc suggests for types it cannot find (`cannot find type `Child` in
/// this scope`, with `use std::process::Child;` as help): rustc names a type by its bare
/// name in "found" messages when that name is unique among all crates, also when the
/// cell does not import it. Pairs of (bare name, path).
pub(crate) fn suggested_paths(rendered: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, _) in rendered.match_indices("cannot find type `") {
        let rest = &rendered[at + "cannot find type `".len()..];
        let Some(name) = rest.split('`').next() else {
            continue;
        };
        let wanted = format!("::{name};");
        let path = rest.lines().find_map(|line| {
            let line = line.trim_start_matches(|c: char| {
                c.is_ascii_digit() || c == ' ' || c == '+' || c == '|'
            });
            line.strip_prefix("use ")
                .filter(|l| l.ends_with(&wanted))
                .map(|l| l.trim_end_matches(';').to_owned())
        });
        if let Some(path) = path
            && !found.iter().any(|(n, _): &(String, String)| n == name)
        {
            found.push((name.to_owned(), path));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustcs_suggested_imports_name_the_types_it_could_not_find() {
        let rendered = "error[E0425]: cannot find type `Child` in this scope\n   --> src/lib.rs:104:11\n    |\n104 | let kept: Child = x;\n    |           ^^^^^ not found in this scope\n    |\nhelp: consider importing this struct\n    |\n  3 +             use std::process::Child;\n    |\n";
        assert_eq!(
            suggested_paths(rendered),
            vec![("Child".to_owned(), "std::process::Child".to_owned())]
        );
        assert!(suggested_paths("error[E0308]: mismatched types").is_empty());
    }

    #[test]
    fn annotates_the_last_simple_binding() {
        let code = "let x = 1;\nlet y = 2;\n  let mut x = vec![1];\nx.len()";
        assert_eq!(
            annotate(code, "x", "Vec<i32>").as_deref(),
            Some("let x = 1;\nlet y = 2;\n  let mut x: Vec<i32> = vec![1];\nx.len()")
        );
        assert_eq!(
            annotate("let xs = 1;", "x", "()"),
            None,
            "a longer name is another variable"
        );
        assert_eq!(annotate("let (a, b) = (1, 2);", "a", "()"), None);
        assert_eq!(annotate("let x == 1;", "x", "()"), None);
        assert_eq!(
            annotate("let v: Vec<i32> = vec![1]; let w = v.clone();", "w", "()").as_deref(),
            Some("let v: Vec<i32> = vec![1]; let w: () = v.clone();")
        );
        assert_eq!(annotate("outlet x = 1;", "x", "()"), None);
        // A binding inside a function or block is not the cell's: rustc's type for it
        // would change the function (an `i32` where `u8` was inferred).
        assert_eq!(
            annotate("fn g() -> u8 { let mut i = 0; i }\ng()", "i", "i32"),
            None
        );
    }

    #[test]
    fn lists_untyped_bindings_in_order() {
        assert_eq!(
            untyped_bindings(
                "let a = 1; let b: i32 = 2;\nlet mut c = x == y;\nlet _ = 3; let a = 4;"
            ),
            vec!["a".to_owned(), "c".to_owned()]
        );
    }

    #[test]
    fn qualifies_whole_segments() {
        assert_eq!(
            qualify("Option<Status>", "Status", "a::Status"),
            "Option<a::Status>"
        );
        assert_eq!(qualify("StatusCode", "Status", "a::Status"), "StatusCode");
        assert_eq!(qualify("x::Status", "Status", "a::Status"), "x::Status");
    }

    #[test]
    fn finds_the_type_rustc_reports() {
        assert_eq!(
            found_type("mismatched types\nexpected `()`, found `DataFrame`").as_deref(),
            Some("DataFrame")
        );
        assert_eq!(
            found_type("expected unit type `()`\n   found struct `Vec<i32>`").as_deref(),
            Some("Vec<i32>")
        );
        assert_eq!(found_type("expected `()`, found `()`"), None);
        assert_eq!(
            found_type("expected `()`, found `Vec<{integer}>`").as_deref(),
            Some("Vec<i32>")
        );
        assert_eq!(found_type("no type here"), None);
        assert_eq!(
            found_type("expected `&Contract`, found `&()`\nlet trends: () = f(&contract)?;"),
            None
        );
        assert_eq!(
            found_type("expected `()`, found closure `{closure@src/lib.rs:3:9}`"),
            None
        );
        assert_eq!(found_type("expected `()`, found `impl Fn()`"), None);
        assert_eq!(
            found_type("expected `()`, found integer").as_deref(),
            Some("i32")
        );
    }
}
