//! A small Rust lexer: words, brackets and punctuation outside strings, chars and
//! comments. Enough for `is_complete`, which must not pay for a compile and must cope
//! with code that is not finished (rust-analyzer's parser, used by `instrument`, wants
//! whole code).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An identifier, keyword or number.
    Word,
    /// `(`, `[` or `{`.
    Open(char),
    /// `)`, `]` or `}`.
    Close(char),
    /// Any other single character outside literals and comments.
    Punct(char),
    /// A string, raw string or char literal.
    Literal,
    /// A lifetime or loop label (`'a`).
    Lifetime,
}

/// The tokens of some code, and whether it ends inside a string or comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lexed {
    pub(crate) tokens: Vec<Kind>,
    pub(crate) unterminated: bool,
}

/// Lexes `code`; never fails (unknown characters are punctuation).
pub(crate) fn lex(code: &str) -> Lexed {
    let chars: Vec<char> = code.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut tokens = Vec::new();
    let mut push = |kind| tokens.push(kind);
    let mut i = 0;
    while let Some(c) = at(i) {
        let next = at(i + 1);
        match c {
            _ if c.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while depth > 0 {
                    match (at(i), at(i + 1)) {
                        (None, _) => return unterminated(tokens),
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
            }
            'r' if matches!(next, Some('"' | '#')) && raw_string_at(&chars, i) => {
                // r"…" or r#"…"#: ends at a quote followed by as many `#`.
                let mut hashes = 0;
                let mut j = i + 1;
                while at(j) == Some('#') {
                    hashes += 1;
                    j += 1;
                }
                j += 1;
                loop {
                    match at(j) {
                        None => return unterminated(tokens),
                        Some('"') if (1..=hashes).all(|k| at(j + k) == Some('#')) => {
                            push(Kind::Literal);
                            i = j + 1 + hashes;
                            break;
                        }
                        _ => j += 1,
                    }
                }
            }
            '"' => {
                let mut j = i + 1;
                loop {
                    match at(j) {
                        None => return unterminated(tokens),
                        Some('\\') => j += 2,
                        Some('"') => break,
                        _ => j += 1,
                    }
                }
                push(Kind::Literal);
                i = j + 1;
            }
            '\'' if next == Some('\\') => {
                // An escaped char literal: '\n', '\'', '\u{1F600}'.
                let mut j = i + 3;
                while at(j).is_some_and(|c| c != '\'') {
                    j += 1;
                }
                push(Kind::Literal);
                i = j + 1;
            }
            '\'' if at(i + 2) == Some('\'') => {
                push(Kind::Literal);
                i += 3;
            }
            '\'' => {
                let mut j = i + 1;
                while at(j).is_some_and(is_word_char) {
                    j += 1;
                }
                push(Kind::Lifetime);
                i = j.max(i + 1);
            }
            '(' | '[' | '{' => {
                push(Kind::Open(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                push(Kind::Close(c));
                i += 1;
            }
            _ if is_word_char(c) => {
                let mut j = i + 1;
                while at(j).is_some_and(is_word_char) {
                    j += 1;
                }
                push(Kind::Word);
                i = j;
            }
            _ => {
                push(Kind::Punct(c));
                i += 1;
            }
        }
    }
    Lexed {
        tokens,
        unterminated: false,
    }
}

fn unterminated(tokens: Vec<Kind>) -> Lexed {
    Lexed {
        tokens,
        unterminated: true,
    }
}

/// Whether the `r` at `i` starts a raw string (`r"`, `r#"`) rather than ending a word
/// (`for"`, `r#ident`).
fn raw_string_at(chars: &[char], i: usize) -> bool {
    let before = i.checked_sub(1).and_then(|b| chars.get(b)).copied();
    if before.is_some_and(is_word_char) {
        return false;
    }
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_brackets_and_punctuation() {
        assert_eq!(
            lex("let x = f(1);").tokens,
            vec![
                Kind::Word,
                Kind::Word,
                Kind::Punct('='),
                Kind::Word,
                Kind::Open('('),
                Kind::Word,
                Kind::Close(')'),
                Kind::Punct(';'),
            ]
        );
    }

    #[test]
    fn literals_comments_and_lifetimes_hide_their_contents() {
        let code = "'a: loop { \"{\" ; r#\"}\"# ; '{' ; '\\'' ; /* { /* } */ */ // }\n 'é' }";
        let found = lex(code);
        assert_eq!(found.tokens[0], Kind::Lifetime);
        let brackets = found
            .tokens
            .iter()
            .filter(|k| matches!(k, Kind::Open(_) | Kind::Close(_)))
            .count();
        assert_eq!(brackets, 2, "{found:?}");
        let literals = found.tokens.iter().filter(|k| **k == Kind::Literal).count();
        assert_eq!(literals, 5, "{found:?}");
        assert!(!found.unterminated);
    }

    #[test]
    fn unterminated_strings_and_comments_are_reported() {
        for code in ["\"open", "r#\"raw", "/* open /* */", "x = \"a\\\""] {
            assert!(lex(code).unterminated, "{code:?}");
        }
    }
}
