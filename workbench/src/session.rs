//! The notebook session: which lake (the project's data view) cells see.
//!
//! The kernel is started with `WORKBENCH_LAKE` naming the data view the session may read
//! (`workbench session start` writes it, see [`crate::enclave`]); the confinement of the
//! evaluation process makes anything else unreadable, so these functions are a
//! convenience and clear errors, not the enforcement.

use std::path::PathBuf;

use polars::prelude::DataFrame;

use crate::lake::{self, Lake, Table};

/// The environment variable naming the session's lake.
pub const LAKE_VAR: &str = "WORKBENCH_LAKE";

/// Why the session's data could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session has no lake configured.
    #[error("this session has no data view: {LAKE_VAR} is not set")]
    NoLake,
    /// No table of that name.
    #[error("unknown table {name:?}; tables are {}", Table::ALL.map(Table::name).join(", "))]
    UnknownTable {
        /// The name asked for.
        name: String,
    },
    /// The session's project has the overview tier: no rows at all.
    #[error(
        "this session's project has the overview tier (R33-tier): it gives no rows; ask the aggregate functions (counts, frequencies) instead"
    )]
    Overview,
    /// The table is not in the session's view.
    #[error("table {name} is not in this session's view ({rule}: {reason})")]
    NotInView {
        /// The table.
        name: String,
        /// The rule that left it out.
        rule: String,
        /// Why.
        reason: String,
    },
    /// The lake could not be opened or read.
    #[error(transparent)]
    Lake(#[from] lake::Error),
}

/// What a session's view says about itself (`enclave::start` writes it).
#[derive(Debug, serde::Deserialize)]
struct Marker {
    tier: String,
    tables: Vec<String>,
    #[serde(default)]
    left_out: Vec<LeftOut>,
}

#[derive(Debug, serde::Deserialize)]
struct LeftOut {
    table: String,
    rule: String,
    reason: String,
}

/// The view's marker, if the session's lake is a view.
fn marker(dir: &std::path::Path) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(lake::VIEW_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The lake of this session.
///
/// # Errors
///
/// [`Error::NoLake`] without `WORKBENCH_LAKE`, or the lake's own error.
pub fn lake() -> Result<Lake, Error> {
    lake_in(&session_dir()?)
}

fn session_dir() -> Result<PathBuf, Error> {
    std::env::var_os(LAKE_VAR)
        .map(PathBuf::from)
        .ok_or(Error::NoLake)
}

/// The lake of a session whose data is in `dir`.
fn lake_in(dir: &std::path::Path) -> Result<Lake, Error> {
    if marker(dir).is_some_and(|m| m.tier == "overview") {
        return Err(Error::Overview);
    }
    Ok(Lake::open(dir)?)
}

/// Reads the table called `name` (`cases`, `diagnoses`, `somatic_variants`, …) of the
/// session's lake.
///
/// # Errors
///
/// [`Error::UnknownTable`] naming the valid tables, or the lake's error.
pub fn table(name: &str) -> Result<DataFrame, Error> {
    table_in(&session_dir()?, name)
}

fn table_in(dir: &std::path::Path, name: &str) -> Result<DataFrame, Error> {
    let table = Table::from_name(name).ok_or_else(|| Error::UnknownTable {
        name: name.to_owned(),
    })?;
    if let Some(marker) = marker(dir)
        && marker.tier != "overview"
        && !marker.tables.iter().any(|t| t == name)
    {
        let left = marker.left_out.into_iter().find(|l| l.table == name);
        return Err(Error::NotInView {
            name: name.to_owned(),
            rule: left
                .as_ref()
                .map_or("R36-scope".to_owned(), |l| l.rule.clone()),
            reason: left.map_or("outside the project's scope".to_owned(), |l| l.reason),
        });
    }
    Ok(lake_in(dir)?.frame(table)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(marker: &serde_json::Value) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(lake::VIEW_FILE), marker.to_string()).expect("marker");
        dir
    }

    #[test]
    fn an_overview_session_gets_no_rows_and_says_which_rule() {
        let dir = view(&serde_json::json!({"tier": "overview", "tables": []}));
        for name in ["diagnoses", "cases"] {
            let err = table_in(dir.path(), name).expect_err("no rows");
            assert!(matches!(err, Error::Overview), "{err}");
            assert!(err.to_string().contains("R33-tier"), "{err}");
        }
        assert!(matches!(lake_in(dir.path()), Err(Error::Overview)));
    }

    #[test]
    fn a_table_outside_the_view_names_the_rule_that_left_it_out() {
        let dir = view(&serde_json::json!({
            "tier": "detailed", "tables": ["diagnoses"],
            "left_out": [{"table": "treatments", "rule": "R36-scope", "reason": "not in scope"}],
        }));
        let err = table_in(dir.path(), "treatments").expect_err("left out");
        assert!(err.to_string().contains("R36-scope: not in scope"), "{err}");
        let err = table_in(dir.path(), "adverse_events").expect_err("not listed");
        assert!(
            err.to_string().contains("not in this session's view"),
            "{err}"
        );
    }
}
