//! Reading and writing lake files: atomic creation, table reads, `describe`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use serde::Serialize;
use workbench_governance::Rule;
use workbench_governance::consent::Use;

use crate::lake::view::{View, today};
use crate::lake::{Dataset, Error, Table};

/// An existing lake on disk, seen by one use of the data.
///
/// Every read passes the consent decisions for that use (see `lake::view`): rows of a
/// withdrawn case, or of a case whose consent does not cover the use, are never returned.
#[derive(Debug, Clone)]
pub struct Lake {
    pub(crate) root: PathBuf,
    pub(crate) view: Arc<View>,
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
        let staged = crate::durable::StagedDir::new(&root)?;
        write_tables(staged.path(), dataset)?;
        staged.commit()?;
        Ok(Lake::at(root, Use::overview(today())))
    }

    fn at(root: PathBuf, data_use: Use) -> Lake {
        // A session's view holds only what its session may see (`lake::VIEW_FILE`).
        let prefiltered = root.join(crate::lake::VIEW_FILE).is_file();
        Lake {
            root,
            view: Arc::new(View::new(data_use, prefiltered)),
        }
    }

    /// Opens the lake under `dir` (either `dir/lake` or `dir` itself) for an overview of
    /// all data by an academic-forum member today (R33), the use of a session without a
    /// project of its own.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when neither holds `registrations.parquet`.
    pub fn open(dir: &Path) -> Result<Lake, Error> {
        Lake::open_for(dir, Use::overview(today()))
    }

    /// Opens the lake under `dir` for `data_use`: reads return only the rows of cases
    /// whose consent covers that use.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when neither `dir/lake` nor `dir` holds `registrations.parquet`.
    pub fn open_for(dir: &Path, data_use: Use) -> Result<Lake, Error> {
        for root in [dir.join("lake"), dir.to_owned()] {
            if root.join(Table::Registrations.file()).is_file() {
                return Ok(Lake::at(root, data_use));
            }
        }
        Err(Error::NotFound {
            path: dir.to_owned(),
        })
    }

    /// The same lake seen by another use.
    pub fn for_use(&self, data_use: Use) -> Lake {
        Lake::at(self.root.clone(), data_use)
    }

    /// The use this lake is read for.
    pub fn data_use(&self) -> &Use {
        &self.view.data_use
    }

    /// How many cases consent withholds from this use, per rule (`R31-withdrawn`, …).
    ///
    /// # Errors
    ///
    /// I/O or Parquet errors reading the consent columns.
    pub fn withheld(&self) -> Result<BTreeMap<Rule, usize>, Error> {
        Ok(self.visible()?.withheld.clone())
    }

    /// Whether the use may see case `case_id`.
    ///
    /// # Errors
    ///
    /// I/O or Parquet errors reading the consent columns.
    pub fn is_visible(&self, case_id: &str) -> Result<bool, Error> {
        Ok(self.visible()?.cases.contains(case_id))
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
        let key = Lake::key_column(table);
        let df = match columns {
            None => self.read_all(table, None)?,
            Some(columns) if columns.contains(&key) => self.read_all(table, Some(columns))?,
            Some(columns) => {
                let mut with_key = columns.to_vec();
                with_key.push(key);
                let df = self.read_all(table, Some(&with_key))?;
                return self.keep_visible(table, df, false);
            }
        };
        self.keep_visible(table, df, true)
    }

    /// Reads `table` as stored, every row: only for deciding what the use may see.
    pub(crate) fn read_all(
        &self,
        table: Table,
        columns: Option<&[&str]>,
    ) -> Result<DataFrame, Error> {
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

    /// Name, row count (of the rows this use may see) and columns of every table present.
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
            let schema = reader.schema().map_err(parquet)?;
            // The rows this use may see, not the file's: a count is a result too.
            let rows = self.columns(table, &[Lake::key_column(table)])?.height();
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

/// Writes every table of `dataset` into `staging` (a directory not yet in place; its
/// commit syncs the files).
pub(crate) fn write_tables(staging: &Path, dataset: &Dataset) -> Result<(), Error> {
    for table in Table::ALL {
        write_frame(
            &staging.join(table.file()),
            table,
            &mut dataset.frame(table),
        )?;
    }
    Ok(())
}

/// Writes `df` as `table`'s Parquet file at `path`, creating its directory.
pub(crate) fn write_frame(path: &Path, table: Table, df: &mut DataFrame) -> Result<(), Error> {
    let parent = path.parent().expect("table files live in a directory");
    fs::create_dir_all(parent).map_err(|source| Error::Io {
        action: "creating",
        path: parent.to_owned(),
        source,
    })?;
    let file = File::create(path).map_err(|source| Error::Io {
        action: "creating",
        path: path.to_owned(),
        source,
    })?;
    // Default statistics (min, max, null count) serve predicate pushdown; the "full"
    // set adds distinct counts that cost more than the whole write.
    ParquetWriter::new(&file)
        .finish(df)
        .map_err(|source| Error::Parquet {
            action: "writing",
            table,
            path: path.to_owned(),
            source,
        })?;
    Ok(())
}
