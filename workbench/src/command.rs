//! The command families of `workbench`, one module each, and what they share.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::{AnyValue, DataFrame};

pub(crate) mod airlock;
pub(crate) mod cohort;
pub(crate) mod export;
pub(crate) mod governance;
pub(crate) mod import;
pub(crate) mod kernel;
mod kernelspec;
pub(crate) mod lake;
pub(crate) mod qc;
pub(crate) mod serve;
pub(crate) mod session;
pub(crate) mod synth;
pub(crate) mod up;

/// Prints a result frame: JSON rows (`--json`) or polars' table.
pub(crate) fn print_frame(df: &DataFrame, json: bool) -> Result<()> {
    if !json {
        println!("{df}");
        return Ok(());
    }
    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut row = serde_json::Map::new();
        for column in df.columns() {
            let json = match column.get(i)? {
                AnyValue::Null => serde_json::Value::Null,
                AnyValue::Boolean(b) => b.into(),
                AnyValue::String(s) => s.into(),
                AnyValue::StringOwned(s) => s.as_str().into(),
                AnyValue::UInt32(v) => v.into(),
                AnyValue::UInt64(v) => v.into(),
                AnyValue::Int32(v) => v.into(),
                AnyValue::Int64(v) => v.into(),
                // JSON has no infinity: an infinite odds ratio is written as null.
                AnyValue::Float64(v) => serde_json::Number::from_f64(v)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                other => other.to_string().into(),
            };
            row.insert(column.name().to_string(), json);
        }
        rows.push(serde_json::Value::Object(row));
    }
    println!("{}", serde_json::to_string_pretty(&rows)?);
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all, and says so on stderr.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    workbench::durable::write(path, bytes)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// A sample or file-name part given on the command line: a plain name, so that the file
/// it names stays in the directory it was asked for.
pub(crate) fn plain_name(flag: &str, name: &str) -> Result<String> {
    anyhow::ensure!(
        workbench::durable::is_plain_name(name, 200),
        "{flag} {name:?}: use letters, digits, '.', '_' and '-' (not starting with '.'), so the file stays in its directory"
    );
    Ok(name.to_owned())
}

/// The workbench checkout: the one we are run from, else the one holding our binary.
pub(crate) fn workspace_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    up::find_root(&cwd)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| up::find_root(&exe))
        })
        .context(
            "run this inside the workbench checkout (its notebooks/ and workbench/ are needed)",
        )
}
