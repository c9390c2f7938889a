//! Aggregates of the overview tier (R33/R34): counts of patients that the trusted side
//! answers from data the session's account cannot read, with the disclosure rule
//! (`R33-disclosure`) applied to every number it returns.
//!
//! An overview session's view holds no rows. When it starts, `workbench session start`
//! writes the rows an aggregate may count (every case the tier's filter and consent allow,
//! the tables the licence lets it aggregate) into `STORE/aggregates/ID/`, private to the
//! store's owner. A cell asks `session::aggregate`; the kernel passes the question to the
//! governance service, which answers it here from that basis and records the query in
//! the audit chain before it answers.
//!
//! Each cell of the answer counts distinct patients (a patient with three samples is one),
//! never rows. A count below the policy's minimum is suppressed (primary), and so is the
//! smallest other count of every line of the table (cells sharing all labels but one) that
//! would otherwise hold a single suppressed cell, repeated until no line does (secondary),
//! so that the total of a line, asked for by another query, does not give a suppressed
//! count back by subtraction. What this does not do: compare a query with the session's
//! earlier queries (differencing across queries with other groupings); the export
//! airlock does that for anything that leaves the enclave.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use polars::prelude::DataType;
use serde::{Deserialize, Serialize};

use crate::lake::{Lake, Table};

/// Where a store keeps the basis of its overview sessions' aggregates: `STORE/aggregates/ID`.
pub const AGGREGATES_DIR: &str = "aggregates";

/// Most grouping columns a query may name.
pub const MAX_BY: usize = 3;

/// Most cells an answer may have (a grouping finer than this is not an overview).
pub const MAX_CELLS: usize = 10_000;

/// The rule every answer is made under.
pub const RULE: &str = "R33-disclosure";

/// A question: the count of patients of `table`, per combination of the `by` columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// The table (`diagnoses`, `cases`, …).
    pub table: String,
    /// The grouping columns (none: one total).
    #[serde(default)]
    pub by: Vec<String>,
}

/// The answer: one row per group present in the data, its patients counted or suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The question.
    pub query: Query,
    /// Group labels (`null` for a missing value) and the count (`null` when suppressed).
    pub rows: Vec<Row>,
    /// The policy's minimum count.
    pub threshold: u32,
    /// How many counts were suppressed because they were below it.
    pub primary: usize,
    /// How many more were suppressed so that those cannot be recovered.
    pub secondary: usize,
    /// [`RULE`].
    pub rule: String,
}

/// One group of an [`Answer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The labels, one per `by` column.
    pub labels: Vec<Option<String>>,
    /// Patients, or `None` when suppressed.
    pub patients: Option<u64>,
}

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The question itself is wrong (the message says how).
    #[error("{RULE}: {0}")]
    Query(String),
    /// The basis could not be read.
    #[error(transparent)]
    Lake(#[from] crate::lake::Error),
    /// The basis is missing: the session is not an overview session, or it has ended.
    #[error(
        "{RULE}: session {0} has no aggregate basis (it is not an overview session, or it ended)"
    )]
    NoBasis(String),
}

/// The basis directory of session `id` in the store at `store`.
pub fn basis_dir(store: &Path, id: &str) -> PathBuf {
    store.join(AGGREGATES_DIR).join(id)
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Query {
    /// Checks the names before anything is read.
    ///
    /// # Errors
    ///
    /// [`Error::Query`] naming what is wrong.
    pub fn validate(&self) -> Result<Table, Error> {
        let table = Table::from_name(&self.table).ok_or_else(|| {
            Error::Query(format!(
                "unknown table {:?}; tables are {}",
                self.table,
                Table::ALL.map(Table::name).join(", ")
            ))
        })?;
        if self.by.len() > MAX_BY {
            return Err(Error::Query(format!(
                "at most {MAX_BY} grouping columns, not {}",
                self.by.len()
            )));
        }
        if let Some(bad) = self.by.iter().find(|c| !is_name(c)) {
            return Err(Error::Query(format!("{bad:?} is not a column name")));
        }
        // Identifiers would list the patients themselves as group labels.
        if let Some(id) = self.by.iter().find(|c| c.ends_with("_id")) {
            return Err(Error::Query(format!(
                "{id} is an identifier: an overview groups by categories, never by patient, sample or specimen"
            )));
        }
        let distinct: BTreeSet<&String> = self.by.iter().collect();
        if distinct.len() != self.by.len() {
            return Err(Error::Query("a grouping column is named twice".into()));
        }
        Ok(table)
    }
}

/// Answers `query` from the basis in `basis` with `threshold` as the minimum count.
///
/// # Errors
///
/// [`Error::Query`] for an unknown table or column, or a grouping finer than
/// [`MAX_CELLS`]; the basis's read errors.
pub fn answer(basis: &Path, query: &Query, threshold: u32) -> Result<Answer, Error> {
    let table = query.validate()?;
    if !basis.is_dir() {
        return Err(Error::NoBasis(
            basis
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ));
    }
    let lake = Lake::open(basis)?;
    if !lake.path(table).is_file() {
        return Err(Error::Query(format!(
            "table {} is not open to this project's aggregates (R35-clinical-detail: detailed clinical data needs its own approval)",
            query.table
        )));
    }
    // Contributors are patients: the case of each row.
    let patient = "case_id";
    let mut columns: Vec<&str> = query.by.iter().map(String::as_str).collect();
    if !columns.contains(&patient) {
        columns.push(patient);
    }
    let df = lake.columns(table, &columns).map_err(|e| {
        Error::Query(format!(
            "table {} has no such column ({e}); its columns are {}",
            query.table,
            lake.frame(table)
                .map(|f| {
                    f.get_column_names()
                        .iter()
                        .map(|n| n.as_str().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        ))
    })?;
    // Dates are as identifying as ids (a diagnosis date and a hospital name one patient).
    if let Some(dated) = query.by.iter().find(|c| {
        df.column(c)
            .is_ok_and(|c| matches!(c.dtype(), DataType::Date | DataType::Datetime(..)))
    }) {
        return Err(Error::Query(format!(
            "{dated} is a date: group by a category or a year-free measure instead"
        )));
    }
    let text = |name: &str| -> Result<Vec<Option<String>>, Error> {
        let column = df
            .column(name)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(|e| Error::Query(format!("column {name}: {e}")))?;
        let strings = column
            .str()
            .map_err(|e| Error::Query(format!("column {name}: {e}")))?;
        Ok(crate::hash::strs(strings)
            .map(|v| v.map(str::to_owned))
            .collect())
    };
    let patients = text(patient)?;
    let labels: Vec<Vec<Option<String>>> =
        query.by.iter().map(|c| text(c)).collect::<Result<_, _>>()?;
    let mut groups: BTreeMap<Vec<Option<String>>, BTreeSet<&str>> = BTreeMap::new();
    for (i, patient) in patients.iter().enumerate() {
        let Some(patient) = patient else { continue };
        let key: Vec<Option<String>> = labels.iter().map(|l| l[i].clone()).collect();
        if !groups.contains_key(&key) && groups.len() == MAX_CELLS {
            return Err(Error::Query(format!(
                "more than {MAX_CELLS} groups: group by fewer or coarser columns"
            )));
        }
        groups.entry(key).or_default().insert(patient.as_str());
    }
    let mut rows: Vec<Row> = groups
        .into_iter()
        .map(|(labels, set)| Row {
            labels,
            patients: Some(set.len() as u64),
        })
        .collect();
    if query.by.is_empty() && rows.is_empty() {
        rows.push(Row {
            labels: Vec::new(),
            patients: Some(0),
        });
    }
    let (primary, secondary) = suppress(&mut rows, query.by.len(), u64::from(threshold));
    Ok(Answer {
        query: query.clone(),
        rows,
        threshold,
        primary,
        secondary,
        rule: RULE.to_owned(),
    })
}

/// Suppresses counts below `threshold` (a zero stays: an absent group is a zero anyway),
/// then the smallest other count of every line holding exactly one suppressed count.
/// Returns (primary, secondary) suppressions.
fn suppress(rows: &mut [Row], dims: usize, threshold: u64) -> (usize, usize) {
    let mut primary = 0;
    for row in rows.iter_mut() {
        if row.patients.is_some_and(|n| n > 0 && n < threshold) {
            row.patients = None;
            primary += 1;
        }
    }
    if dims == 0 {
        return (primary, 0);
    }
    let labels: Vec<Vec<Option<String>>> = rows.iter().map(|r| r.labels.clone()).collect();
    let mut hidden: Vec<bool> = rows.iter().map(|r| r.patients.is_none()).collect();
    let sizes: Vec<f64> = rows
        .iter()
        .map(|r| r.patients.map_or(0.0, |n| n as f64))
        .collect();
    let secondary =
        crate::export::suppress::secondary(&labels, &mut hidden, &|i| sizes[i], &|_| false);
    for (row, h) in rows.iter_mut().zip(hidden) {
        if h {
            row.patients = None;
        }
    }
    (primary, secondary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(cells: &[(&[&str], u64)]) -> Vec<Row> {
        cells
            .iter()
            .map(|(labels, n)| Row {
                labels: labels.iter().map(|l| Some((*l).to_owned())).collect(),
                patients: Some(*n),
            })
            .collect()
    }

    fn hidden(rows: &[Row]) -> Vec<Vec<Option<String>>> {
        rows.iter()
            .filter(|r| r.patients.is_none())
            .map(|r| r.labels.clone())
            .collect()
    }

    #[test]
    fn one_small_count_takes_the_smallest_other_of_its_line_with_it() {
        let mut r = rows(&[(&["A"], 3), (&["B"], 40), (&["C"], 12)]);
        assert_eq!(suppress(&mut r, 1, 10), (1, 1));
        assert_eq!(
            hidden(&r),
            [vec![Some("A".to_owned())], vec![Some("C".to_owned())]]
        );
    }

    #[test]
    fn no_line_of_a_two_way_table_keeps_a_single_suppressed_cell() {
        // rows × columns: a 2 in (x, p) must not be recoverable from either margin.
        let mut r = rows(&[
            (&["x", "p"], 2),
            (&["x", "q"], 30),
            (&["x", "r"], 15),
            (&["y", "p"], 25),
            (&["y", "q"], 40),
            (&["y", "r"], 50),
        ]);
        let (primary, secondary) = suppress(&mut r, 2, 10);
        assert_eq!(primary, 1);
        assert!(secondary >= 3, "{secondary}");
        for dim in 0..2 {
            let mut lines: BTreeMap<Vec<Option<String>>, usize> = BTreeMap::new();
            for row in r.iter().filter(|r| r.patients.is_none()) {
                let mut key = row.labels.clone();
                key.remove(dim);
                *lines.entry(key).or_default() += 1;
            }
            assert!(lines.values().all(|&n| n != 1), "{dim}: {lines:?}");
        }
    }

    #[test]
    fn counts_at_the_threshold_and_totals_stand() {
        let mut r = rows(&[(&["A"], 10), (&["B"], 11)]);
        assert_eq!(suppress(&mut r, 1, 10), (0, 0));
        let mut total = rows(&[(&[], 4)]);
        assert_eq!(suppress(&mut total, 0, 10), (1, 0));
    }

    #[test]
    fn names_are_checked_before_anything_is_read() {
        let q = |table: &str, by: &[&str]| Query {
            table: table.into(),
            by: by.iter().map(|s| (*s).to_owned()).collect(),
        };
        assert!(q("diagnoses", &["cancer_type"]).validate().is_ok());
        for bad in [
            q("nope", &[]),
            q("diagnoses", &["../x"]),
            q("diagnoses", &["a", "a"]),
            q("diagnoses", &["a", "b", "c", "d"]),
            q("samples", &["sample_id"]),
        ] {
            let err = bad.validate().expect_err("refused").to_string();
            assert!(err.starts_with("R33-disclosure"), "{err}");
        }
    }
}
