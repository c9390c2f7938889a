//! The notebook session: which lake (the project's data view) cells see.
//!
//! The kernel is started with `WORKBENCH_LAKE` naming the data view the session may read;
//! the confinement of the evaluation process makes anything else unreadable, so these
//! functions are a convenience, not the enforcement.

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
    /// The lake could not be opened or read.
    #[error(transparent)]
    Lake(#[from] lake::Error),
}

/// The lake of this session.
///
/// # Errors
///
/// [`Error::NoLake`] without `WORKBENCH_LAKE`, or the lake's own error.
pub fn lake() -> Result<Lake, Error> {
    let dir = std::env::var_os(LAKE_VAR)
        .map(PathBuf::from)
        .ok_or(Error::NoLake)?;
    Ok(Lake::open(&dir)?)
}

/// Reads the table called `name` (`cases`, `diagnoses`, `somatic_variants`, …) of the
/// session's lake.
///
/// # Errors
///
/// [`Error::UnknownTable`] naming the valid tables, or the lake's error.
pub fn table(name: &str) -> Result<DataFrame, Error> {
    let table = Table::from_name(name).ok_or_else(|| Error::UnknownTable {
        name: name.to_owned(),
    })?;
    Ok(lake()?.frame(table)?)
}
