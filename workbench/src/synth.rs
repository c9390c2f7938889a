//! Synthetic programme data: a realistic, deterministic enclave to develop and teach on.
//!
//! `generate` draws every case from its own random stream (seeded by the seed and
//! the case number), so the same seed always yields byte-identical tables, and a
//! larger `cases` only appends cases. `docs/datasets.md` describes the model.
//!
//! # Examples
//!
//! ```
//! use workbench::{Lake, synth};
//!
//! let dataset = synth::generate(&synth::Config::new(20, 7));
//! assert_eq!(dataset.registrations.len(), 20);
//! let dir = tempfile::tempdir()?;
//! let lake = Lake::create(dir.path(), &dataset)?;
//! let tables = lake.describe()?;
//! assert_eq!(tables.iter().find(|t| t.name == "cases").map(|t| t.rows), Some(20));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod case;
mod catalogue;
mod fastq;
mod rng;

use std::path::Path;

use chrono::NaiveDate;

use crate::lake::{self, Dataset, Lake};

pub use fastq::{CONTIG, RawSample, reference};

/// Settings of a synthetic programme.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of cases.
    pub cases: usize,
    /// Random seed.
    pub seed: u64,
    /// First day of registration.
    pub start: NaiveDate,
    /// Data cut-off: the last day of registration and follow-up.
    pub cutoff: NaiveDate,
    /// Number of cases that also get tiny raw FASTQ pairs under `raw/`.
    pub raw_cases: usize,
    /// Read pairs per raw sample.
    pub raw_pairs: usize,
}

impl Config {
    /// `cases` cases from `seed`, registered from 2025-04-01 to the 2026-10-31 cut-off.
    pub fn new(cases: usize, seed: u64) -> Config {
        Config {
            cases,
            seed,
            start: NaiveDate::from_ymd_opt(2025, 4, 1).expect("valid date"),
            cutoff: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
            raw_cases: 3,
            raw_pairs: 2000,
        }
    }
}

/// Generates the programme's tables in memory.
pub fn generate(config: &Config) -> Dataset {
    let mut dataset = Dataset::default();
    for index in 0..config.cases {
        case::generate(config, index, &mut dataset);
    }
    dataset
}

/// What [`write()`] produced.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The lake.
    pub lake: Lake,
    /// Rows per table.
    pub rows: Vec<(lake::Table, usize)>,
    /// Raw FASTQ samples written.
    pub raw: Vec<RawSample>,
}

/// An error writing a synthetic programme.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the lake failed.
    #[error(transparent)]
    Lake(#[from] lake::Error),
    /// Writing raw files failed.
    #[error("writing raw file {}", path.display())]
    Raw {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `out/raw` exists already.
    #[error("{} already exists; write the programme to a new directory", path.display())]
    RawExists {
        /// The existing directory.
        path: std::path::PathBuf,
    },
    /// Staging or committing the output failed.
    #[error(transparent)]
    Durable(#[from] crate::durable::Error),
}

/// Generates the programme and writes it to `out/lake/` and its raw files to `out/raw/`.
///
/// Both are built under hidden names and renamed into place at the end, raw files first:
/// a failure or a kill half-way leaves neither (a kill between the two renames, a window
/// of one system call, leaves `raw/` without `lake/`, which the next run reports).
///
/// # Errors
///
/// Lake errors (an invalid dataset, an existing lake at `out`), [`Error::RawExists`],
/// and I/O errors.
pub fn write(config: &Config, out: &Path) -> Result<Summary, Error> {
    let dataset = generate(config);
    dataset.validate()?;
    let lake_dir = out.join("lake");
    if lake_dir.exists() {
        return Err(lake::Error::Exists { path: lake_dir }.into());
    }
    let raw_dir = out.join("raw");
    if raw_dir.exists() {
        return Err(Error::RawExists { path: raw_dir });
    }
    let raw_stage = crate::durable::StagedDir::new(&raw_dir)?;
    let mut raw = fastq::write_raw(config, &dataset, raw_stage.path())?;
    // The samples name their files where they will be once committed.
    for sample in &mut raw {
        for path in [&mut sample.r1, &mut sample.r2] {
            if let Ok(inside) = path.strip_prefix(raw_stage.path()) {
                *path = raw_dir.join(inside);
            }
        }
    }
    let lake_stage = crate::durable::StagedDir::new(&lake_dir)?;
    lake::write_tables(lake_stage.path(), &dataset)?;
    raw_stage.commit()?;
    lake_stage.commit()?;
    let lake = Lake::open(out)?;
    let rows = lake::Table::ALL
        .iter()
        .map(|&t| (t, dataset.rows(t)))
        .collect();
    Ok(Summary { lake, rows, raw })
}

#[cfg(test)]
mod tests;
