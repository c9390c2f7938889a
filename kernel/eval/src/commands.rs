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
        if command == ":dep" {
            let spec = trimmed[command.len()..].replace(' ', "");
            if [
                "path=",
                "git=",
                "registry=",
                "registry-index=",
                "branch=",
                "rev=",
            ]
            .iter()
            .any(|key| spec.contains(key))
            {
                return Some(format!(
                    ":dep may only name crates of the enclave's offline set, not paths, git or other registries: {:?}",
                    trimmed
                ));
            }
        }
    }
    None
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
        ] {
            let why = refusal(code).unwrap_or_else(|| panic!("{code} was allowed"));
            assert!(why.contains(needle), "{code}: {why}");
        }
    }
}
