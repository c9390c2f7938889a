//! The notebook session: which lake (the project's data view) cells see.
//!
//! The kernel is started with `WORKBENCH_LAKE` naming the data view the session may read
//! (`workbench session start` writes it, see [`crate::enclave`]); the confinement of the
//! evaluation process makes anything else unreadable, so these functions are a
//! convenience and clear errors, not the enforcement.

use std::path::PathBuf;

use polars::prelude::{Column, DataFrame};

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
    /// An aggregate query was refused or could not be asked (the reason names the rule).
    #[error("aggregate refused: {0}")]
    Aggregate(String),
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

/// The prompt of an aggregate query as the kernel recognises it (`kernel` dispatch):
/// evcxr's input request, `AGGREGATE_PROMPT TABLE COLUMN,COLUMN…` (no `:`, which would
/// end evcxr's prompt).
pub const AGGREGATE_PROMPT: &str = "WORKBENCH_AGGREGATE";

/// Counts the patients of `table` per combination of the `by` columns (none: the total),
/// as the overview tier may see them: the trusted side answers from rows this cell cannot
/// read, every count below the policy's minimum (and any count that would give one back)
/// suppressed as null, and the query recorded in the audit chain (R33-disclosure).
///
/// One row per group, the `by` columns as text and `patients` (null when suppressed).
///
/// # Errors
///
/// [`Error::Aggregate`] with the rule that refused (an identifier or a date as a group,
/// an unknown table or column, a session that has ended), or outside a kernel cell.
pub fn aggregate(table: &str, by: &[&str]) -> Result<DataFrame, Error> {
    use std::io::{BufRead, Write};
    let named =
        |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !named(table) || !by.iter().all(|c| named(c)) {
        return Err(Error::Aggregate(format!(
            "R33-disclosure: table and column names are letters, digits and _ ({table:?}, {by:?})"
        )));
    }
    // Only the kernel answers: a program outside a cell would wait on its own stdin.
    if std::env::var("EVCXR_IS_RUNTIME").as_deref() != Ok("1") {
        return Err(Error::Aggregate(
            "aggregate queries are answered by the enclave's kernel, in a notebook cell".into(),
        ));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "EVCXR_INPUT_REQUEST:{AGGREGATE_PROMPT} {table} {}",
        by.join(",")
    )
    .and_then(|()| out.flush())
    .map_err(|e| Error::Aggregate(format!("asking the kernel: {e}")))?;
    drop(out);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::Aggregate(format!("reading the kernel's answer: {e}")))?;
    let answer: serde_json::Value = serde_json::from_str(line.trim())
        .map_err(|e| Error::Aggregate(format!("the kernel's answer is not JSON: {e}")))?;
    if answer["ok"] != serde_json::json!(true) {
        return Err(Error::Aggregate(
            answer["reason"]
                .as_str()
                .unwrap_or("refused by the kernel")
                .to_owned(),
        ));
    }
    let answer: crate::overview::Answer = serde_json::from_value(answer["answer"].clone())
        .map_err(|e| Error::Aggregate(format!("the kernel's answer: {e}")))?;
    let mut columns: Vec<Column> = by
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let labels: Vec<Option<String>> = answer
                .rows
                .iter()
                .map(|r| r.labels.get(i).cloned().flatten())
                .collect();
            Column::new((*name).into(), labels)
        })
        .collect();
    let counts: Vec<Option<u64>> = answer.rows.iter().map(|r| r.patients).collect();
    columns.push(Column::new("patients".into(), counts));
    DataFrame::new(answer.rows.len(), columns).map_err(|e| Error::Aggregate(e.to_string()))
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
