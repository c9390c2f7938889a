//! Whether a cell's code is complete, still open, or cannot become valid: the answer
//! to `is_complete_request`, from a small Rust lexer (strings, chars, lifetimes,
//! nested comments, brackets; see `lex`) rather than a compile.

use crate::lex::{Kind, lex};

/// The verdict on a piece of code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// Ready to run.
    Complete,
    /// Needs more lines; the indent for the next one.
    Incomplete(String),
    /// A closing bracket that matches nothing: no continuation can fix it.
    Invalid,
}

/// Classifies `code` as a console front end needs it.
pub fn completeness(code: &str) -> Completeness {
    let trimmed = code.trim();
    // evcxr commands (`:dep …`) are one line each.
    if trimmed.is_empty() || trimmed.lines().all(|l| l.trim_start().starts_with(':')) {
        return Completeness::Complete;
    }
    let lexed = lex(code);
    let mut stack: Vec<char> = Vec::new();
    for token in &lexed.tokens {
        match *token {
            Kind::Open(c) => stack.push(c),
            Kind::Close(c) => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
    }
    if lexed.unterminated {
        return Completeness::Incomplete(String::new());
    }
    if !stack.is_empty() {
        return Completeness::Incomplete("    ".repeat(stack.len()));
    }
    // A dangling operator or `let x =` continues on the next line.
    match trimmed.chars().last() {
        Some('=' | '+' | '-' | '*' | '/' | ',' | '.' | '&' | '|' | '<')
            if !trimmed.ends_with("->") =>
        {
            Completeness::Incomplete(String::new())
        }
        _ => Completeness::Complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_code() {
        for code in [
            "1 + 1",
            "let x = 1;",
            "fn f() -> i32 { 1 }",
            "let s = \"}\";",
            "let c = '{';",
            "fn f<'a>(x: &'a str) -> &'a str { x }",
            "let r = r#\"a \" { b\"#;",
            "// comment with {\nlet x = 1;",
            "/* nested /* { */ */ 1",
            ":dep serde",
            "let e = '\\n';",
            "let var = 2; var",
            "",
        ] {
            assert_eq!(completeness(code), Completeness::Complete, "{code:?}");
        }
    }

    #[test]
    fn incomplete_code() {
        for code in [
            "fn f() {",
            "let v = vec![1,",
            "\"unterminated",
            "let x =",
            "/* open comment",
            "let s = r#\"raw",
            "foo(\n  1,",
        ] {
            assert!(
                matches!(completeness(code), Completeness::Incomplete(_)),
                "{code:?}"
            );
        }
        assert_eq!(
            completeness("fn f() {\n    if x {"),
            Completeness::Incomplete("        ".into())
        );
    }

    #[test]
    fn invalid_code() {
        for code in ["fn f() }", "let x = (1];", "}", "vec![1, 2)"] {
            assert_eq!(completeness(code), Completeness::Invalid, "{code:?}");
        }
    }
}
