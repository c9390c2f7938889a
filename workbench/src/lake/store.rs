//! Reading and writing lake files: atomic creation, table reads, `describe`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::Serialize;

use crate::lake::{Dataset, Error, Table};

/// An existing lake on disk.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

/// Shape of one table, as `workbench lake describe` reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// File relative to the lake root.
    pub file: String,
    /// Row count.
    pub rows: usize,
    /// Columns in file order.
    pub columns: Vec<ColumnInfo>,
}

/// One column of a table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Polars data type.
    pub dtype: String,
}

impl Lake {
    /// Validates `dataset` and writes it as a new lake at `dir/lake`.
    ///
    /// The tables are written into a temporary directory beside the target and renamed
    /// into place in one step, so either the whole lake appears or nothing does.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for the first invalid row (nothing is written),
    /// [`Error::Exists`] if `dir/lake` exists, and I/O or Parquet errors.
    pub fn create(dir: &Path, dataset: &Dataset) -> Result<Lake, Error> {
        dataset.validate()?;
        let root = dir.join("lake");
        if root.exists() {
            return Err(Error::Exists { path: root });
        }
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "creating",
            path: dir.to_owned(),
            source,
        })?;
        let staging = dir.join(format!(".lake.partial-{}", std::process::id()));
        let result = write_tables(&staging, dataset).and_then(|()| {
            fs::rename(&staging, &root).map_err(|source| Error::Io {
                action: "renaming into place",
                path: root.clone(),
                source,
            })
        });
        if result.is_err() {
            // Best effort: the staging directory is ours alone and holds nothing else.
            let _ = fs::remove_dir_all(&staging);
        }
        result.map(|()| Lake { root })
    }

    /// Opens the lake under `dir` (either `dir/lake` or `dir` itself).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when neither holds `registrations.parquet`.
    pub fn open(dir: &Path) -> Result<Lake, Error> {
        for root in [dir.join("lake"), dir.to_owned()] {
            if root.join(Table::Registrations.file()).is_file() {
                return Ok(Lake { root });
            }
        }
        Err(Error::NotFound {
            path: dir.to_owned(),
        })
    }

    /// The lake root (the directory holding `registrations.parquet`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of `table`'s file.
    pub fn path(&self, table: Table) -> PathBuf {
        self.root.join(table.file())
    }

    /// Reads `table` into a DataFrame.
    ///
    /// # Errors
    ///
    /// I/O or Parquet errors naming the table and file.
    pub fn frame(&self, table: Table) -> Result<DataFrame, Error> {
        self.read(table, None)
    }

    /// Reads only `columns` of `table` (Parquet is columnar: the others are not decoded).
    ///
    /// # Errors
    ///
    /// I/O or Parquet errors naming the table and file (a missing column among them).
    pub fn columns(&self, table: Table, columns: &[&str]) -> Result<DataFrame, Error> {
        self.read(table, Some(columns))
    }

    fn read(&self, table: Table, columns: Option<&[&str]>) -> Result<DataFrame, Error> {
        let path = self.path(table);
        let file = File::open(&path).map_err(|source| Error::Io {
            action: "opening",
            path: path.clone(),
            source,
        })?;
        ParquetReader::new(file)
            .with_columns(columns.map(|c| c.iter().map(|c| (*c).into()).collect()))
            .finish()
            .map_err(|source| Error::Parquet {
                action: "reading",
                table,
                path,
                source,
            })
    }

    /// Name, row count and columns of every table present, from the Parquet footers only.
    ///
    /// # Errors
    ///
    /// I/O or Parquet errors naming the table and file.
    pub fn describe(&self) -> Result<Vec<TableInfo>, Error> {
        let mut out = Vec::new();
        for table in Table::ALL {
            let path = self.path(table);
            if !path.exists() {
                continue;
            }
            let file = File::open(&path).map_err(|source| Error::Io {
                action: "opening",
                path: path.clone(),
                source,
            })?;
            let parquet = |source| Error::Parquet {
                action: "reading",
                table,
                path: path.clone(),
                source,
            };
            let mut reader = ParquetReader::new(file);
            let rows = reader.num_rows().map_err(parquet)?;
            let schema = reader.schema().map_err(parquet)?;
            let columns = schema
                .iter_values()
                .map(|field| ColumnInfo {
                    name: field.name.to_string(),
                    dtype: DataType::from_arrow_field(field).to_string(),
                })
                .collect();
            out.push(TableInfo {
                name: table.name().to_owned(),
                file: table.file().to_owned(),
                rows,
                columns,
            });
        }
        Ok(out)
    }
}

fn write_tables(staging: &Path, dataset: &Dataset) -> Result<(), Error> {
    for table in Table::ALL {
        let path = staging.join(table.file());
        let parent = path.parent().expect("table files live in a directory");
        fs::create_dir_all(parent).map_err(|source| Error::Io {
            action: "creating",
            path: parent.to_owned(),
            source,
        })?;
        let mut df = dataset.frame(table);
        let file = File::create(&path).map_err(|source| Error::Io {
            action: "creating",
            path: path.clone(),
            source,
        })?;
        // Default statistics (min, max, null count) serve predicate pushdown; the "full"
        // set adds distinct counts that cost more than the whole write.
        ParquetWriter::new(&file)
            .finish(&mut df)
            .map_err(|source| Error::Parquet {
                action: "writing",
                table,
                path: path.clone(),
                source,
            })?;
        file.sync_all().map_err(|source| Error::Io {
            action: "syncing",
            path,
            source,
        })?;
    }
    Ok(())
}
