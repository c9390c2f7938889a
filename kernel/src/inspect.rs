//! Answers to `inspect_request`: the token under the cursor, looked up among the
//! session's variables and a short table of standard items.

/// Summaries of items every notebook uses, shown when the token is not a variable.
const KNOWN: &[(&str, &str)] = &[
    (
        "Vec",
        "std::vec::Vec<T>: a contiguous growable array type, written `Vec<T>`.",
    ),
    (
        "String",
        "std::string::String: a UTF-8 encoded, growable string.",
    ),
    ("HashMap", "std::collections::HashMap<K, V>: a hash map."),
    (
        "BTreeMap",
        "std::collections::BTreeMap<K, V>: an ordered map based on a B-tree.",
    ),
    (
        "Option",
        "std::option::Option<T>: an optional value, `Some(T)` or `None`.",
    ),
    (
        "Result",
        "std::result::Result<T, E>: `Ok(T)` for success or `Err(E)` for failure.",
    ),
    (
        "println",
        "std::println!: prints to stdout, with a newline.",
    ),
    (
        "format",
        "std::format!: creates a String using interpolation of runtime expressions.",
    ),
    (
        "iter",
        "Iterator: `.iter()` borrows each element of a collection in turn.",
    ),
];

/// The identifier at byte offset `cursor` (or just before it).
pub(crate) fn token_at(code: &str, cursor: usize) -> Option<&str> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let cursor = cursor.min(code.len());
    let start = code[..cursor]
        .rfind(|c: char| !is_ident(c))
        .map_or(0, |i| i + 1);
    let end = code[cursor..]
        .find(|c: char| !is_ident(c))
        .map_or(code.len(), |i| cursor + i);
    let token = &code[start..end];
    (!token.is_empty()).then_some(token)
}

/// What to show for the token at `cursor`, if anything.
pub(crate) fn inspect(code: &str, cursor: usize, variables: &[(String, String)]) -> Option<String> {
    let token = token_at(code, cursor)?;
    if let Some((name, ty)) = variables.iter().find(|(name, _)| name == token) {
        return Some(format!("{name}: {ty}"));
    }
    KNOWN
        .iter()
        .find(|(name, _)| *name == token)
        .map(|(_, doc)| (*doc).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_around_the_cursor() {
        assert_eq!(token_at("let v = Vec::new();", 9), Some("Vec"));
        assert_eq!(token_at("abc", 3), Some("abc"));
        assert_eq!(token_at("a + ", 4), None);
    }

    #[test]
    fn variables_then_known_items() {
        let vars = vec![("cohort".to_owned(), "Cohort".to_owned())];
        assert_eq!(
            inspect("cohort", 2, &vars).as_deref(),
            Some("cohort: Cohort")
        );
        assert!(
            inspect("String", 6, &vars)
                .expect("known")
                .contains("UTF-8")
        );
        assert_eq!(inspect("zzz", 1, &vars), None);
    }
}
