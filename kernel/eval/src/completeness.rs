//! Whether a cell's code is complete, still open, or cannot become valid: the answer
//! to `is_complete_request`, from a small Rust lexer (strings, chars, lifetimes,
//! nested comments, brackets) rather than a compile.

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
    let chars: Vec<char> = code.chars().collect();
    let mut stack: Vec<char> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while depth > 0 {
                    match (chars.get(i), chars.get(i + 1)) {
                        (None, _) => return Completeness::Incomplete(String::new()),
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                continue;
            }
            'r' if matches!(next, Some('"' | '#'))
                && !is_ident(chars.get(i.wrapping_sub(1)).copied()) =>
            {
                // Raw string r"…" or r#"…"#: ends at a quote followed by as many #.
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    match chars.get(j) {
                        None => return Completeness::Incomplete(String::new()),
                        Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                            i = j + 1 + hashes;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                continue;
            }
            '"' => {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Completeness::Incomplete(String::new()),
                        Some('\\') => i += 2,
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                continue;
            }
            '\'' => {
                // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
                if next == Some('\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                    continue;
                }
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
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
        i += 1;
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

fn is_ident(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
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
