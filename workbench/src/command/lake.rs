//! `workbench lake`: inspecting a lake.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use workbench::Lake;

#[derive(Subcommand)]
pub(crate) enum Action {
    /// Print every table's name, row count (of the rows consent lets this use see) and
    /// columns.
    Describe {
        /// The directory holding `lake/` (or the lake itself).
        dir: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(action: Action) -> Result<()> {
    let Action::Describe { dir, json } = action;
    let lake = Lake::open(&dir)?;
    let tables = lake.describe()?;
    let withheld: serde_json::Map<String, serde_json::Value> = lake
        .withheld()?
        .into_iter()
        .map(|(rule, n)| (rule.id().to_owned(), n.into()))
        .collect();
    if json {
        let value = serde_json::json!({
            "root": lake.root(),
            "tables": tables,
            "withheld_cases": withheld,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("lake at {}", lake.root().display());
    for table in &tables {
        println!("{:<18} {:>9} rows  {}", table.name, table.rows, table.file);
        for column in &table.columns {
            println!("    {:<28} {}", column.name, column.dtype);
        }
    }
    for (rule, n) in &withheld {
        println!("{n} cases withheld by {rule}");
    }
    Ok(())
}
