//! What rust-analyzer need not read of the standard library's source: documentation and
//! the bodies of functions that are not `const`.
//!
//! rust-analyzer answers evcxr's first question only after it has parsed `core`, `alloc`
//! and `std` and expanded their item macros (a profile of the kernel's start is half
//! parsing: `rowan`, `ra_ap_parser`, `ra_ap_tt`). For typing and completing a cell it
//! needs names, signatures and impls, not docs or what a function does. Bodies of
//! `const fn` stay: rust-analyzer evaluates constants such as `u32::BITS`. Most of the
//! saving is inside `macro_rules!` transcribers (the integer types' methods, impls for
//! every primitive), so the trimming works on tokens, not on the syntax tree, and keeps
//! what must not change: macro matchers and the arguments of macro calls are copied
//! verbatim, and a `$( … )` repetition keeps everything when trimming would leave it
//! without a metavariable (an empty repetition does not expand). Newlines are kept, so
//! that lines keep their numbers.

use ra_ap_rustc_lexer::{FrontmatterAllowed, TokenKind, tokenize};

/// What a function body becomes: it type-checks as any return type.
const BODY: &str = " loop {} ";

/// A significant token (no whitespace, no plain comments) and its place in the source.
#[derive(Debug, Clone, Copy)]
struct Token {
    kind: TokenKind,
    start: usize,
    end: usize,
}

/// A piece of the source to replace: `start..end` becomes `with`, followed by the
/// newlines of what it replaces.
#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    with: &'static str,
}

/// `source` without docs and non-`const` function bodies; unchanged when its delimiters
/// do not balance (nothing is trimmed that is not understood).
pub(crate) fn trim(source: &str) -> String {
    let mut tokens = Vec::new();
    let mut at = 0;
    for token in tokenize(source, FrontmatterAllowed::No) {
        let end = at + token.len as usize;
        let significant = match token.kind {
            TokenKind::Whitespace => false,
            TokenKind::LineComment { doc_style } | TokenKind::BlockComment { doc_style, .. } => {
                doc_style.is_some()
            }
            _ => true,
        };
        if significant {
            tokens.push(Token {
                kind: token.kind,
                start: at,
                end,
            });
        }
        at = end;
    }
    let Some(close) = matching(&tokens) else {
        return source.to_owned();
    };
    let scanner = Scanner {
        source,
        tokens: &tokens,
        close: &close,
    };
    let mut edits = Vec::new();
    scanner.items(0, tokens.len(), &mut edits);
    apply(source, edits)
}

/// For each opening delimiter, the index of its closing one; `None` if they do not
/// balance.
fn matching(tokens: &[Token]) -> Option<Vec<usize>> {
    let mut close = vec![usize::MAX; tokens.len()];
    let mut open: Vec<(usize, TokenKind)> = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        match token.kind {
            TokenKind::OpenParen | TokenKind::OpenBrace | TokenKind::OpenBracket => {
                open.push((index, token.kind));
            }
            TokenKind::CloseParen | TokenKind::CloseBrace | TokenKind::CloseBracket => {
                let (at, kind) = open.pop()?;
                let pair = matches!(
                    (kind, token.kind),
                    (TokenKind::OpenParen, TokenKind::CloseParen)
                        | (TokenKind::OpenBrace, TokenKind::CloseBrace)
                        | (TokenKind::OpenBracket, TokenKind::CloseBracket)
                );
                if !pair {
                    return None;
                }
                close[at] = index;
            }
            _ => {}
        }
    }
    open.is_empty().then_some(close)
}

fn apply(source: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(source.len());
    let mut copied = 0;
    for edit in edits {
        if edit.start < copied {
            // Overlaps one already made (cannot happen: the scanner moves past each).
            continue;
        }
        out.push_str(&source[copied..edit.start]);
        out.push_str(edit.with);
        let removed = &source[edit.start..edit.end];
        out.extend(std::iter::repeat_n('\n', removed.matches('\n').count()));
        copied = edit.end;
    }
    out.push_str(&source[copied..]);
    out
}

struct Scanner<'a> {
    source: &'a str,
    tokens: &'a [Token],
    close: &'a [usize],
}

impl Scanner<'_> {
    fn kind(&self, index: usize) -> Option<TokenKind> {
        self.tokens.get(index).map(|t| t.kind)
    }

    fn text(&self, index: usize) -> &str {
        self.tokens
            .get(index)
            .map_or("", |t| &self.source[t.start..t.end])
    }

    fn is_ident(&self, index: usize, text: &str) -> bool {
        self.kind(index) == Some(TokenKind::Ident) && self.text(index) == text
    }

    fn is_open(&self, index: usize) -> bool {
        matches!(
            self.kind(index),
            Some(TokenKind::OpenParen | TokenKind::OpenBrace | TokenKind::OpenBracket)
        )
    }

    /// Trims the tokens `from..to` as items and statements.
    fn items(&self, from: usize, to: usize, edits: &mut Vec<Edit>) {
        let mut index = from;
        while index < to {
            index = self.item(index, edits);
        }
    }

    /// Trims what starts at `index`; returns where to go on.
    fn item(&self, index: usize, edits: &mut Vec<Edit>) -> usize {
        let token = self.tokens[index];
        match token.kind {
            TokenKind::LineComment { .. } | TokenKind::BlockComment { .. } => {
                edits.push(Edit {
                    start: token.start,
                    end: token.end,
                    with: "",
                });
                index + 1
            }
            TokenKind::Pound if self.is_doc_attribute(index) => {
                let end = self.close[index + 1];
                edits.push(Edit {
                    start: token.start,
                    end: self.tokens[end].end,
                    with: "",
                });
                end + 1
            }
            TokenKind::Dollar if self.kind(index + 1) == Some(TokenKind::OpenParen) => {
                let end = self.close[index + 1];
                let mut inner = Vec::new();
                self.items(index + 2, end, &mut inner);
                if self.keeps_a_metavariable(index + 2, end, &inner) {
                    edits.extend(inner);
                }
                end + 1
            }
            TokenKind::Ident => self.after_ident(index, edits),
            _ => index + 1,
        }
    }

    fn after_ident(&self, index: usize, edits: &mut Vec<Edit>) -> usize {
        let text = self.text(index);
        let bang = self.kind(index + 1) == Some(TokenKind::Bang);
        if text == "macro_rules" && bang && self.is_open(index + 3) {
            self.rules(index + 3, edits);
            return self.close[index + 3] + 1;
        }
        if text == "macro" && self.kind(index + 1) == Some(TokenKind::Ident) {
            match self.kind(index + 2) {
                // `macro name(matcher) { transcriber }`
                Some(TokenKind::OpenParen)
                    if self.kind(self.close[index + 2] + 1) == Some(TokenKind::OpenBrace) =>
                {
                    let body = self.close[index + 2] + 1;
                    self.items(body + 1, self.close[body], edits);
                    return self.close[body] + 1;
                }
                Some(TokenKind::OpenBrace) => {
                    self.rules(index + 2, edits);
                    return self.close[index + 2] + 1;
                }
                _ => return index + 1,
            }
        }
        if bang && self.is_open(index + 2) {
            // A macro call: its arguments are whatever its matcher expects.
            return self.close[index + 2] + 1;
        }
        if text == "fn"
            && matches!(
                self.kind(index + 1),
                Some(TokenKind::Ident | TokenKind::Dollar)
            )
            && let Some(next) = self.function(index, edits)
        {
            return next;
        }
        index + 1
    }

    /// `#[doc = …]` (an outer attribute: `#![doc = …]` stays).
    fn is_doc_attribute(&self, index: usize) -> bool {
        self.kind(index + 1) == Some(TokenKind::OpenBracket)
            && self.is_ident(index + 2, "doc")
            && self.kind(index + 3) == Some(TokenKind::Eq)
    }

    /// The rules of a `macro_rules!` (or `macro name { … }`) whose braces open at `open`:
    /// matchers are kept, transcribers trimmed.
    fn rules(&self, open: usize, edits: &mut Vec<Edit>) {
        let end = self.close[open];
        let mut index = open + 1;
        while index < end {
            // matcher `=>` transcriber, then `;` or `,`.
            if !self.is_open(index) {
                return;
            }
            let arrow = self.close[index] + 1;
            let arrow_ok = self.kind(arrow) == Some(TokenKind::Eq)
                && self.kind(arrow + 1) == Some(TokenKind::Gt);
            let transcriber = arrow + 2;
            if !arrow_ok || !self.is_open(transcriber) {
                return;
            }
            self.items(transcriber + 1, self.close[transcriber], edits);
            index = self.close[transcriber] + 1;
            if matches!(self.kind(index), Some(TokenKind::Semi | TokenKind::Comma)) {
                index += 1;
            }
        }
    }

    /// Whether `from..to` still names a metavariable (`$name`, not `$crate`) outside
    /// `edits`.
    fn keeps_a_metavariable(&self, from: usize, to: usize, edits: &[Edit]) -> bool {
        (from..to).any(|index| {
            let token = self.tokens[index];
            token.kind == TokenKind::Dollar
                && self.kind(index + 1) == Some(TokenKind::Ident)
                && self.text(index + 1) != "crate"
                && !edits
                    .iter()
                    .any(|e| e.start <= token.start && token.end <= e.end)
        })
    }

    /// The function whose `fn` is at `index`: replaces its body unless it is `const`;
    /// returns where to go on (after the body), or `None` when there is no body to
    /// replace (a declaration, a `$body` metavariable, a `const fn`).
    fn function(&self, index: usize, edits: &mut Vec<Edit>) -> Option<usize> {
        if self.is_const(index) {
            return None;
        }
        let mut depth = 0usize;
        // From the name: a metavariable expression there is skipped below.
        let mut at = index + 1;
        while at < self.tokens.len() {
            let kind = self.tokens[at].kind;
            if kind == TokenKind::Dollar && self.kind(at + 1) == Some(TokenKind::OpenBrace) {
                // A metavariable expression (`fn ${concat($name, _small)}(…)`), not a body.
                at = self.close[at + 1] + 1;
                continue;
            }
            match kind {
                TokenKind::OpenParen | TokenKind::OpenBracket => depth += 1,
                TokenKind::CloseParen | TokenKind::CloseBracket => {
                    depth = depth.checked_sub(1)?;
                }
                TokenKind::OpenBrace if depth == 0 => {
                    let end = self.close[at];
                    edits.push(Edit {
                        start: self.tokens[at].end,
                        end: self.tokens[end].start,
                        with: BODY,
                    });
                    return Some(end + 1);
                }
                TokenKind::Semi | TokenKind::CloseBrace | TokenKind::Pound if depth == 0 => {
                    return None;
                }
                TokenKind::Dollar
                    if depth == 0 && self.kind(at + 1) == Some(TokenKind::OpenParen) =>
                {
                    return None;
                }
                TokenKind::Ident if depth == 0 && self.starts_an_item(at) => return None,
                _ => {}
            }
            at += 1;
        }
        None
    }

    /// An item keyword (or a macro call) where a signature cannot go on: after `)`,
    /// `]`, `}`, `;` or a metavariable. The function before had its body in a
    /// metavariable (`fn $name() $body`), and the next braces are not its body.
    fn starts_an_item(&self, index: usize) -> bool {
        const ITEMS: [&str; 13] = [
            "impl", "fn", "struct", "enum", "union", "mod", "trait", "type", "const", "static",
            "use", "pub", "unsafe",
        ];
        if self.kind(index + 1) == Some(TokenKind::Bang) {
            return true;
        }
        if !ITEMS.contains(&self.text(index)) {
            return false;
        }
        let previous = index.checked_sub(1).map(|p| self.tokens[p].kind);
        let after_metavariable = index >= 2 && self.kind(index - 2) == Some(TokenKind::Dollar);
        after_metavariable
            || matches!(
                previous,
                Some(
                    TokenKind::CloseParen
                        | TokenKind::CloseBracket
                        | TokenKind::CloseBrace
                        | TokenKind::Semi
                )
            )
    }

    /// Whether the `fn` at `index` is a `const fn`: its qualifiers (`pub(crate) const
    /// unsafe extern "C"`) read backwards up to what ends the item before.
    fn is_const(&self, index: usize) -> bool {
        let mut at = index;
        while let Some(previous) = at.checked_sub(1) {
            match self.tokens[previous].kind {
                TokenKind::Ident if self.text(previous) == "const" => return true,
                TokenKind::Ident | TokenKind::Literal { .. } => at = previous,
                // `pub(crate)`, `pub(in path)`
                TokenKind::CloseParen => {
                    let Some(open) = (0..previous).rev().find(|&o| self.close[o] == previous)
                    else {
                        return false;
                    };
                    at = open;
                }
                _ => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> usize {
        text.matches('\n').count()
    }

    #[test]
    fn docs_go_and_lines_keep_their_numbers() {
        let source = "//! Crate docs\n/// A thing.\n/** more */\n#[doc = concat!(\"a\", \"b\")]\n#[doc(hidden)]\n#[derive(Debug)]\n// plain\npub struct S;\n";
        let trimmed = trim(source);
        assert_eq!(
            trimmed,
            "\n\n\n\n#[doc(hidden)]\n#[derive(Debug)]\n// plain\npub struct S;\n"
        );
        assert_eq!(lines(&trimmed), lines(source));
        // Inner doc attributes stay (an `include_str!` of a file that is there).
        assert_eq!(trim("#![doc = \"x\"]\n"), "#![doc = \"x\"]\n");
    }

    #[test]
    fn bodies_go_unless_const() {
        let source = "impl S {\n    pub fn a(&self) -> u8 {\n        1\n    }\n    pub const fn b() -> u8 { 2 }\n    pub(crate) const unsafe fn c() {}\n    fn d(x: [u8; 2]) -> *const u8 where u8: Copy { x.as_ptr() }\n    fn e() -> impl Iterator<Item = u8> { None.into_iter() }\n}\ntrait T { fn f(&self); fn g(&self) -> u8 { 0 } }\n";
        let trimmed = trim(source);
        assert_eq!(
            trimmed,
            "impl S {\n    pub fn a(&self) -> u8 { loop {} \n\n}\n    pub const fn b() -> u8 { 2 }\n    pub(crate) const unsafe fn c() {}\n    fn d(x: [u8; 2]) -> *const u8 where u8: Copy { loop {} }\n    fn e() -> impl Iterator<Item = u8> { loop {} }\n}\ntrait T { fn f(&self); fn g(&self) -> u8 { loop {} } }\n"
        );
        assert_eq!(lines(&trimmed), lines(source));
    }

    #[test]
    fn macro_matchers_and_calls_are_kept_transcribers_trimmed() {
        let source = "macro_rules! m {\n    ($(#[doc = $d:expr])* fn $n:ident() $b:block) => {\n        #[doc = concat!(\"x\", stringify!($n))]\n        pub fn $n() -> u8 { $b }\n    };\n}\nm! { #[doc = \"kept\"] fn f() { 1 } }\n";
        assert_eq!(
            trim(source),
            "macro_rules! m {\n    ($(#[doc = $d:expr])* fn $n:ident() $b:block) => {\n        \n        pub fn $n() -> u8 { loop {} }\n    };\n}\nm! { #[doc = \"kept\"] fn f() { 1 } }\n"
        );
        let decl = "pub macro m($x:expr) { fn g() { $x } }";
        assert_eq!(trim(decl), "pub macro m($x:expr) { fn g() { loop {} } }");
    }

    #[test]
    fn repetitions_keep_a_metavariable() {
        // The only metavariable of the repetition is in the body: kept whole.
        let only_in_body = "macro_rules! m { ($($x:expr),*) => { $( fn f() { $x } )* }; }";
        assert_eq!(trim(only_in_body), only_in_body);
        // `$t` stays outside the body: the body goes.
        let outside = "macro_rules! m { ($($t:ty),*) => { $( impl A for $t { fn f(&self) -> u8 { 1 } } )* }; }";
        assert_eq!(
            trim(outside),
            "macro_rules! m { ($($t:ty),*) => { $( impl A for $t { fn f(&self) -> u8 { loop {} } } )* }; }"
        );
        // A doc attribute that is all the repetition holds besides its metavariable.
        let doc = "macro_rules! m { ($($d:expr)*) => { $(#[doc = $d])* pub struct S; }; }";
        assert_eq!(trim(doc), doc);
    }

    #[test]
    fn a_body_in_a_metavariable_is_not_taken_from_the_next_item() {
        let source =
            "macro_rules! m { ($n:ident $b:block) => { fn $n() $b impl X { fn k(&self) {} } }; }";
        assert_eq!(
            trim(source),
            "macro_rules! m { ($n:ident $b:block) => { fn $n() $b impl X { fn k(&self) { loop {} } } }; }"
        );
        let then_call = "macro_rules! m { ($b:block) => { fn f() $b other!{} }; }";
        assert_eq!(trim(then_call), then_call);
    }

    #[test]
    fn metavariable_expressions_are_not_bodies() {
        let source = "macro_rules! m { ($f:ident, $T:ty) => { fn ${concat($f, _small)}(n: $T) -> ${ignore($f)} usize { n } }; }";
        assert_eq!(
            trim(source),
            "macro_rules! m { ($f:ident, $T:ty) => { fn ${concat($f, _small)}(n: $T) -> ${ignore($f)} usize { loop {} } }; }"
        );
    }

    #[test]
    fn unbalanced_source_is_left_alone() {
        let source = "fn a() { (1 }\n/// doc\n";
        assert_eq!(trim(source), source);
    }
}
