//! `workbench export`: the airlock's automatic checks on the command line (`check` a
//! finished table, make a safe `table` from row-level data).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use polars::prelude::{Column, DataFrame, ParquetReader, SerReader};
use workbench::export::{self, Agg, Parameters, Spec, Verdict};

#[derive(clap::Subcommand)]
pub(crate) enum Action {
    /// Check a finished table (CSV): small and empty counts, identifiers, dates, free
    /// text, row-level data. Exit 0 on pass, 1 otherwise.
    Check(CheckArgs),
    /// Make a frequency or magnitude table from row-level data (CSV or Parquet), keeping
    /// each cell's contributors for the checks, and check every cell. Exit 0 on pass, 1
    /// otherwise.
    Table(TableArgs),
}

/// The disclosure-control parameters a command may change.
#[derive(clap::Args)]
pub(crate) struct ParameterArgs {
    /// Fewest patients a cell may count.
    #[arg(long, default_value_t = Parameters::default().threshold)]
    threshold: u64,
}

impl ParameterArgs {
    fn parameters(&self) -> Parameters {
        Parameters {
            threshold: self.threshold,
            ..Parameters::default()
        }
    }
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// The table, as CSV with a header.
    file: PathBuf,
    /// The columns holding counts (default: every integer column).
    #[arg(long, value_delimiter = ',')]
    counts: Option<Vec<String>>,
    #[command(flatten)]
    parameters: ParameterArgs,
    /// Print JSON (`verdict`, `findings`).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct TableArgs {
    /// The row-level data: CSV with a header, or Parquet.
    #[arg(long)]
    data: PathBuf,
    /// The columns whose labels make the rows.
    #[arg(long, value_delimiter = ',', required = true)]
    index: Vec<String>,
    /// The column whose labels make the columns.
    #[arg(long)]
    columns: Option<String>,
    /// The column the statistic is of.
    #[arg(long)]
    values: Option<String>,
    /// The statistic: count, sum, mean, median, min, max, mode or std.
    #[arg(long, default_value = "count")]
    agg: Agg,
    /// Add totals per row and column (`All`), computed from the rows.
    #[arg(long)]
    margins: bool,
    /// The column naming each row's patient (contributors are patients, not rows).
    #[arg(long)]
    person: Option<String>,
    /// Make it safe: suppress every cell a check failed, and the cells that would give
    /// those back from their rows, columns or totals; then check again.
    #[arg(long)]
    suppress: bool,
    /// With --suppress: round counts and sums to this base.
    #[arg(long, requires = "suppress")]
    round: Option<u64>,
    #[command(flatten)]
    parameters: ParameterArgs,
    /// Print JSON (`verdict`, `cells`, `findings`; `changes` with --suppress).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(action: Action) -> Result<ExitCode> {
    match action {
        Action::Check(args) => check(&args),
        Action::Table(args) => table(&args),
    }
}

fn exit(verdict: Verdict) -> ExitCode {
    if verdict == Verdict::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn check(args: &CheckArgs) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let checked = export::check_csv(
        &bytes,
        args.counts.as_deref(),
        &args.parameters.parameters(),
    )
    .with_context(|| format!("checking {}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checked)?);
    } else {
        println!(
            "{}: {} ({} rows; counts in {})",
            args.file.display(),
            checked.verdict.as_str(),
            checked.rows,
            if checked.counts.is_empty() {
                "no column".to_owned()
            } else {
                checked.counts.join(", ")
            }
        );
        print_findings(&checked.findings);
    }
    Ok(exit(checked.verdict))
}

fn table(args: &TableArgs) -> Result<ExitCode> {
    let df = read_data(&args.data)?;
    let spec = Spec {
        index: args.index.clone(),
        columns: args.columns.clone(),
        values: args.values.clone(),
        agg: args.agg,
        margins: args.margins,
        person: args.person.clone(),
    };
    let parameters = args.parameters.parameters();
    let mut table = export::build(&df, &spec, &parameters)
        .with_context(|| format!("making the table from {}", args.data.display()))?;
    let mut changes = None;
    if args.suppress {
        let (safe, changed) = export::suppress(&table, args.round, &parameters);
        table = safe;
        changes = Some(changed);
    }
    if args.json {
        let mut value = serde_json::to_value(&table)?;
        if let (Some(changes), Some(object)) = (&changes, value.as_object_mut()) {
            object.insert("changes".into(), serde_json::to_value(changes)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for line in changes.iter().flat_map(|c| &c.report) {
            println!("{line}");
        }
        println!("verdict: {}", table.verdict.as_str());
        for cell in &table.cells {
            let value = match (cell.value, cell.suppressed) {
                (_, Some(how)) => format!("suppressed ({how})"),
                (Some(v), None) => format!("{v}"),
                (None, None) => "-".to_owned(),
            };
            println!(
                "{}{}\t{value}\t{} patients\t{}",
                cell.index.join(" / "),
                cell.column
                    .as_deref()
                    .map(|c| format!(" × {c}"))
                    .unwrap_or_default(),
                cell.contributors,
                cell.rules.join(",")
            );
        }
        print_findings(&table.findings);
        for note in &table.notes {
            println!("note: {note}");
        }
    }
    Ok(exit(table.verdict))
}

fn print_findings(findings: &[export::Finding]) {
    for f in findings {
        println!(
            "{} {} ({}): {}; fix: {}",
            f.verdict.as_str(),
            f.check,
            f.rule,
            f.message,
            f.fix
        );
    }
}

/// Row-level data from CSV (every column as text; the values column is read as numbers
/// by the table) or Parquet.
fn read_data(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "parquet") {
        return ParquetReader::new(file)
            .finish()
            .with_context(|| format!("reading {} as Parquet", path.display()));
    }
    let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("{}: reading the header", path.display()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); headers.len()];
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: record {}", path.display(), i + 2))?;
        for (c, value) in record.iter().enumerate() {
            let value = value.trim();
            columns[c].push((!value.is_empty() && value != "NA").then(|| value.to_owned()));
        }
    }
    if headers.is_empty() {
        bail!("{}: no columns", path.display());
    }
    DataFrame::new_infer_height(
        headers
            .iter()
            .zip(columns)
            .map(|(name, values)| Column::new(name.as_str().into(), values))
            .collect(),
    )
    .with_context(|| format!("{}: building the table", path.display()))
}
