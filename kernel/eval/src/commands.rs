//! evcxr commands a cell may not use in the enclave: shell lines, changes to the build
//! environment, and dependencies from outside the offline crate set.
//!
//! Lines are classified as evcxr classifies them: a line starting with `!` is a shell
//! command, a line whose first non-blank character is `:` is an evcxr command.

/// Commands that change how or where cells are built, or turn offline mode off.
const REFUSED: &[&str] = &[
    ":env",
    ":build_env",
    ":toolchain",
    ":linker",
    ":sccache",
    ":offline",
    ":allow_static_linking",
    ":cache",
];

/// Why `code` may not run, naming the first offending line; `None` when it may.
pub fn refusal(code: &str) -> Option<String> {
    for line in code.lines() {
        if line.starts_with('!') {
            return Some(format!(
                "shell commands are not available in the enclave: {:?}",
                line.trim()
            ));
        }
        let trimmed = line.trim_start();
        if !trimmed.starts_with(':') {
            continue;
        }
        let command = trimmed.split_whitespace().next().unwrap_or_default();
        if REFUSED.contains(&command) {
            return Some(format!(
                "{command} is not available in the enclave: it would change how cells are built"
            ));
        }
        if command == ":dep"
            && let Err(why) = dependency(&trimmed[command.len()..])
        {
            return Some(format!(
                ":dep may only name crates of the enclave's offline set, not paths, git or other registries ({why}): {trimmed:?}"
            ));
        }
    }
    None
}

/// Keys a `:dep` table may have: which version and which features of a crate from the
/// offline set; nothing that says where the crate comes from.
const DEPENDENCY_KEYS: [&str; 4] = [
    "version",
    "features",
    "default-features",
    "default_features",
];

/// Checks a `:dep` specification as cargo will read it: evcxr writes `NAME = VALUE` into
/// the cell crate's manifest, so the text is parsed as TOML (quoted and dotted keys,
/// tabs, escapes and all), not matched as a string. A bare name is a crate name.
fn dependency(spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    if !spec.contains('=') {
        let plain = !spec.is_empty()
            && spec
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        return if plain {
            Ok(())
        } else {
            Err("not a crate name".into())
        };
    }
    let table: toml::Table =
        toml::from_str(spec).map_err(|e| format!("not TOML: {}", e.message()))?;
    if table.len() != 1 {
        return Err("one crate per :dep".into());
    }
    for (_, value) in table {
        match value {
            toml::Value::String(_) => {}
            toml::Value::Table(keys) => {
                if let Some(key) = keys.keys().find(|k| !DEPENDENCY_KEYS.contains(&k.as_str())) {
                    return Err(format!("the key {key:?}"));
                }
            }
            other => {
                return Err(format!(
                    "a {} where a version or a table goes",
                    other.type_str()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_and_allowed_commands_pass() {
        for code in [
            "1 + 1",
            "let done = true;\nlet x = !done;",
            ":vars",
            ":timing",
            ":dep serde = \"1\"",
            ":dep regex",
            ":dep serde = { version = \"1\", features = [\"derive\"] }",
            "let s = \":env\";",
        ] {
            assert_eq!(refusal(code), None, "{code}");
        }
    }

    #[test]
    fn escapes_are_refused_with_the_offending_line() {
        for (code, needle) in [
            ("!curl http://example.org", "shell"),
            ("let x = 1;\n:env SECRET=1", ":env"),
            ("  :linker lld", ":linker"),
            (":toolchain nightly", ":toolchain"),
            (":offline 0", ":offline"),
            (":dep evil = { path = \"/etc\" }", "paths, git"),
            (
                ":dep evil = { git = \"https://example.org/x\" }",
                "paths, git",
            ),
            // What a string match let through: quoted keys, tabs, dotted keys, escapes.
            (":dep evil = { \"path\" = \"/etc\" }", "\"path\""),
            (":dep evil = {\tpath\t= \"/etc\" }", "\"path\""),
            (":dep evil.path = \"/etc\"", "\"path\""),
            (":dep evil = { \"p\\u0061th\" = \"/etc\" }", "\"path\""),
            (
                ":dep evil = { registry-index = \"file:///x\" }",
                "registry-index",
            ),
            (":dep ../evil", "not a crate name"),
        ] {
            let why = refusal(code).unwrap_or_else(|| panic!("{code} was allowed"));
            assert!(why.contains(needle), "{code}: {why}");
        }
    }
}
