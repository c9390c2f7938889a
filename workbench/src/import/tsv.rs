//! Tab-separated tables as MAF and cBioPortal write them: `#` comment lines, one
//! header row, optional gzip, and missing-value markers such as `[Not Available]`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::import::Error;

/// Values that mean "no value" in MAF and cBioPortal files.
const MISSING: &[&str] = &[
    "",
    "NA",
    "N/A",
    "na",
    ".",
    "[Not Available]",
    "[Not Applicable]",
    "[Unknown]",
    "[Not Evaluated]",
    "[Discrepancy]",
    "[Pending]",
];

/// A whole table read into memory: header plus rows with their line numbers.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) path: PathBuf,
    header: Vec<String>,
    index: HashMap<String, usize>,
    pub(crate) rows: Vec<Row>,
    // Non-finite numbers seen so far, as (line, column): reported once per file.
    non_finite: RefCell<Vec<(usize, String)>>,
}

/// One data row.
#[derive(Debug)]
pub(crate) struct Row {
    /// 1-based line number in the file.
    pub(crate) line: usize,
    fields: Vec<String>,
}

impl Table {
    /// Reads `path`, decompressing gzip (or BGZF) when the file starts with its magic.
    pub(crate) fn read(path: &Path) -> Result<Table, Error> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(io)?;
        let file = File::open(path).map_err(io)?;
        let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::new(MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut header: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(io)?;
            let line = line.trim_end_matches('\r');
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<String> = line.split('\t').map(|f| f.trim().to_owned()).collect();
            if header.is_none() {
                header = Some(fields);
            } else {
                rows.push(Row {
                    line: i + 1,
                    fields,
                });
            }
        }
        let header = header.ok_or_else(|| Error::Format {
            path: path.to_owned(),
            line: 0,
            detail: "no header row".into(),
        })?;
        let index = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_ascii_lowercase(), i))
            .collect();
        Ok(Table {
            path: path.to_owned(),
            header,
            index,
            rows,
            non_finite: RefCell::new(Vec::new()),
        })
    }

    /// Column index of `name` (case-insensitive), if present.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.index.get(&name.to_ascii_lowercase()).copied()
    }

    /// Column index of the first of `names` that is present.
    pub(crate) fn any_column(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.column(n))
    }

    /// Column index of `name`, or an error naming the file and the columns it has.
    pub(crate) fn require(&self, name: &str) -> Result<usize, Error> {
        self.column(name).ok_or_else(|| Error::MissingColumn {
            path: self.path.clone(),
            column: name.to_owned(),
            found: self.header.clone(),
        })
    }

    /// The trimmed value at `column` of `row`, or `None` for a missing-value marker
    /// or a short row.
    pub(crate) fn get<'a>(&self, row: &'a Row, column: Option<usize>) -> Option<&'a str> {
        let value = row.fields.get(column?)?.as_str();
        (!MISSING.contains(&value)).then_some(value)
    }

    /// A required text value, or an error naming file, line and column.
    pub(crate) fn text<'a>(&self, row: &'a Row, column: usize) -> Result<&'a str, Error> {
        self.get(row, Some(column))
            .ok_or_else(|| self.field_error(row, column, "", "expected a value"))
    }

    /// An optional number. `Inf`, `-Inf` and `NaN` (R writes them for unknown times)
    /// become missing and are reported by [`Table::warnings`]; text that is not a number
    /// is an error.
    pub(crate) fn number(&self, row: &Row, column: Option<usize>) -> Result<Option<f64>, Error> {
        let Some(value) = self.get(row, column) else {
            return Ok(None);
        };
        let column = column.expect("a value implies a column");
        match value.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            Ok(_) => {
                self.non_finite
                    .borrow_mut()
                    .push((row.line, self.header[column].clone()));
                Ok(None)
            }
            Err(_) => Err(self.field_error(row, column, value, "expected a number")),
        }
    }

    /// Warnings about values read so far that were repaired (non-finite numbers).
    pub(crate) fn warnings(&self) -> Vec<String> {
        let seen = self.non_finite.borrow();
        if seen.is_empty() {
            return Vec::new();
        }
        let lines: Vec<String> = seen
            .iter()
            .take(5)
            .map(|(line, column)| format!("line {line} ({column})"))
            .collect();
        vec![format!(
            "{}: {} non-finite numbers read as missing: {}{}",
            self.path.display(),
            seen.len(),
            lines.join(", "),
            if seen.len() > 5 { ", …" } else { "" }
        )]
    }

    /// An error about one field.
    pub(crate) fn field_error(&self, row: &Row, column: usize, value: &str, detail: &str) -> Error {
        Error::Field {
            path: self.path.clone(),
            line: row.line,
            column: self.header.get(column).cloned().unwrap_or_default(),
            value: value.to_owned(),
            detail: detail.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_comments_header_and_missing_markers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.tsv");
        std::fs::write(
            &path,
            "#version 2.4\n#x\nA\tb\r\n1\t[Not Available]\n2.5\tx\n\nnan\n-Inf\n",
        )
        .expect("write");
        let table = Table::read(&path).expect("read");
        assert_eq!(table.rows.len(), 4);
        let (a, b) = (table.column("a"), table.require("B").expect("b"));
        assert_eq!(table.get(&table.rows[0], Some(b)), None);
        assert_eq!(table.get(&table.rows[1], Some(b)), Some("x"));
        assert_eq!(table.number(&table.rows[1], a).expect("number"), Some(2.5));
        assert!(table.warnings().is_empty());
        assert_eq!(
            table.number(&table.rows[2], a).expect("NaN is missing"),
            None
        );
        assert_eq!(table.rows[1].line, 5);
        assert_eq!(
            table
                .number(&table.rows[3], a)
                .expect("non-finite is missing"),
            None
        );
        let warnings = table.warnings();
        assert!(
            warnings.len() == 1
                && warnings[0].contains("2 non-finite")
                && warnings[0].contains("line 8 (A)"),
            "{warnings:?}"
        );
        let err = table.require("C").expect_err("no C").to_string();
        assert!(err.contains("t.tsv") && err.contains("\"C\""), "{err}");
    }

    #[test]
    fn non_numeric_value_names_file_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n.tsv");
        std::fs::write(&path, "days\nabc\n").expect("write");
        let table = Table::read(&path).expect("read");
        let err = table
            .number(&table.rows[0], table.column("days"))
            .expect_err("bad")
            .to_string();
        assert!(
            err.contains("n.tsv")
                && err.contains("line 2")
                && err.contains("days")
                && err.contains("abc"),
            "{err}"
        );
    }

    #[test]
    fn empty_file_has_no_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.tsv");
        std::fs::write(&path, "#only comments\n").expect("write");
        assert!(
            Table::read(&path)
                .expect_err("empty")
                .to_string()
                .contains("no header row")
        );
    }
}
