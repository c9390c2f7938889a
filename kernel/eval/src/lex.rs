//! A small Rust lexer: words, brackets and punctuation outside strings, chars and
//! comments, with their byte offsets. Enough for `is_complete` and for placing interrupt
//! checks, neither of which may pay for a compile.

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

/// One token: its kind and its byte range in the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    /// The token's text in `code` (the code it was lexed from).
    pub(crate) fn text<'c>(&self, code: &'c str) -> &'c str {
        &code[self.start..self.end]
    }
}

/// The tokens of some code, and whether it ends inside a string or comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lexed {
    pub(crate) tokens: Vec<Token>,
    pub(crate) unterminated: bool,
}

/// Lexes `code`; never fails (unknown characters are punctuation).
pub(crate) fn lex(code: &str) -> Lexed {
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(code.len(), |&(o, _)| o);
    let mut tokens = Vec::new();
    let mut push = |kind, from: usize, to: usize| {
        tokens.push(Token {
            kind,
            start: offset(from),
            end: offset(to),
        });
    };
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
                            push(Kind::Literal, i, j + 1 + hashes);
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
                push(Kind::Literal, i, j + 1);
                i = j + 1;
            }
            '\'' if next == Some('\\') => {
                // An escaped char literal: '\n', '\'', '\u{1F600}'.
                let mut j = i + 3;
                while at(j).is_some_and(|c| c != '\'') {
                    j += 1;
                }
                push(Kind::Literal, i, j + 1);
                i = j + 1;
            }
            '\'' if at(i + 2) == Some('\'') => {
                push(Kind::Literal, i, i + 3);
                i += 3;
            }
            '\'' => {
                let mut j = i + 1;
                while at(j).is_some_and(is_word_char) {
                    j += 1;
                }
                push(Kind::Lifetime, i, j);
                i = j.max(i + 1);
            }
            '(' | '[' | '{' => {
                push(Kind::Open(c), i, i + 1);
                i += 1;
            }
            ')' | ']' | '}' => {
                push(Kind::Close(c), i, i + 1);
                i += 1;
            }
            _ if is_word_char(c) => {
                let mut j = i + 1;
                while at(j).is_some_and(is_word_char) {
                    j += 1;
                }
                push(Kind::Word, i, j);
                i = j;
            }
            _ => {
                push(Kind::Punct(c), i, i + 1);
                i += 1;
            }
        }
    }
    Lexed {
        tokens,
        unterminated: false,
    }
}

fn unterminated(tokens: Vec<Token>) -> Lexed {
    Lexed {
        tokens,
        unterminated: true,
    }
}

/// Whether the `r` at `i` starts a raw string (`r"`, `r#"`) rather than ending a word
/// (`for"`, `r#ident`).
fn raw_string_at(chars: &[(usize, char)], i: usize) -> bool {
    let before = i.checked_sub(1).and_then(|b| chars.get(b)).map(|&(_, c)| c);
    if before.is_some_and(is_word_char) {
        return false;
    }
    let mut j = i + 1;
    while chars.get(j).map(|&(_, c)| c) == Some('#') {
        j += 1;
    }
    chars.get(j).map(|&(_, c)| c) == Some('"')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(code: &str) -> Vec<(Kind, &str)> {
        lex(code)
            .tokens
            .iter()
            .map(|t| (t.kind, t.text(code)))
            .collect()
    }

    #[test]
    fn words_brackets_and_punctuation_with_offsets() {
        assert_eq!(
            kinds("let x = f(1);"),
            vec![
                (Kind::Word, "let"),
                (Kind::Word, "x"),
                (Kind::Punct('='), "="),
                (Kind::Word, "f"),
                (Kind::Open('('), "("),
                (Kind::Word, "1"),
                (Kind::Close(')'), ")"),
                (Kind::Punct(';'), ";"),
            ]
        );
    }

    #[test]
    fn literals_comments_and_lifetimes_hide_their_contents() {
        let code = "'a: loop { \"{\" ; r#\"}\"# ; '{' ; '\\'' ; /* { /* } */ */ // }\n 'é' }";
        let found = kinds(code);
        assert_eq!(found[0], (Kind::Lifetime, "'a"));
        let brackets: Vec<_> = found
            .iter()
            .filter(|(k, _)| matches!(k, Kind::Open(_) | Kind::Close(_)))
            .collect();
        assert_eq!(brackets.len(), 2, "{found:?}");
        assert_eq!(
            found.iter().filter(|(k, _)| *k == Kind::Literal).count(),
            5,
            "{found:?}"
        );
        assert!(!lex(code).unterminated);
    }

    #[test]
    fn unterminated_strings_and_comments_are_reported() {
        for code in ["\"open", "r#\"raw", "/* open /* */", "x = \"a\\\""] {
            assert!(lex(code).unterminated, "{code:?}");
        }
    }

    #[test]
    fn multibyte_text_keeps_byte_offsets() {
        let code = "let é = \"ü\"; {";
        let open = lex(code).tokens.last().copied().expect("tokens");
        assert_eq!(open.text(code), "{");
        assert_eq!(open.end, code.len());
    }
}
