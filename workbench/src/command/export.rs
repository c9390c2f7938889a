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
    /// A Kaplan–Meier table (CSV or Parquet rows, one per patient) with its small risk
    /// sets handled: each curve ends where fewer than the minimum are at risk, and a
    /// group of fewer patients is not shown. Exit 0 on pass, 1 otherwise.
    Survival(SurvivalArgs),
    /// A least-squares model summary (CSV or Parquet rows) with its residual degrees of
    /// freedom counted in patients, and its 0/1 indicators' patients checked. Exit 0 on
    /// pass, 1 otherwise.
    Model(ModelArgs),
    /// Ask for an object (a table, figure, notebook or file) to leave: it is checked,
    /// frozen by its sha256 in the store's spool, and given two committee reviewers.
    Request(RequestArgs),
    /// A chosen reviewer's vote: approve, request-changes or reject, with a comment.
    Review(ReviewArgs),
    /// The author's report to the committee on a request flagged for re-identification
    /// (R38), which a publication needs before its release.
    Report(ReportArgs),
    /// A request, with the votes its viewer may see (blind until two are in).
    Show(ShowArgs),
    /// Release an approved, unchanged object into a new directory with a signed manifest.
    Release(ReleaseArgs),
    /// Verify a release offline: the manifest's signature and every file's sha256.
    Verify(VerifyArgs),
    /// Print the enclave's public release key (hex), which verifiers pin.
    Key(KeyArgs),
}

#[derive(clap::Args)]
pub(crate) struct SurvivalArgs {
    /// The rows: CSV with a header, or Parquet.
    #[arg(long)]
    data: PathBuf,
    /// The time column.
    #[arg(long)]
    time: String,
    /// The event column (1: the event, 0: censored).
    #[arg(long)]
    event: String,
    /// The column whose labels make the groups.
    #[arg(long)]
    group: Option<String>,
    /// The column naming each row's patient (checked: one row per patient).
    #[arg(long)]
    person: Option<String>,
    #[command(flatten)]
    parameters: ParameterArgs,
    /// Print JSON (`verdict`, `rows`, `groups`, `notes`).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct ModelArgs {
    /// The rows: CSV with a header, or Parquet.
    #[arg(long)]
    data: PathBuf,
    /// The outcome column.
    #[arg(long)]
    y: String,
    /// The predictor columns (an intercept is added).
    #[arg(long, value_delimiter = ',', required = true)]
    x: Vec<String>,
    /// The column naming each row's patient (degrees of freedom are counted in patients).
    #[arg(long)]
    person: Option<String>,
    /// Fewest residual degrees of freedom.
    #[arg(long, default_value_t = Parameters::default().dof)]
    dof: u64,
    #[command(flatten)]
    parameters: ParameterArgs,
    /// Write the summary (the object `export request` takes) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON (`verdict`, `terms`, `dof_resid`, `findings`).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct RequestArgs {
    /// The governance store.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// Who asks.
    #[arg(long)]
    pub(crate) user: String,
    /// The project the object comes from.
    #[arg(long)]
    pub(crate) project: String,
    /// The object.
    #[arg(long)]
    pub(crate) file: PathBuf,
    /// internal-use, publication, patent-filing or forum-notification.
    #[arg(long)]
    pub(crate) intent: String,
    /// Why it should leave.
    #[arg(long)]
    pub(crate) justification: String,
    /// The cancer types its data come from (an industry publication waits for each
    /// one's embargo to end, R34).
    #[arg(long, value_delimiter = ',')]
    pub(crate) cancer_types: Vec<String>,
    /// The author's word that individuals might be re-identified from the object (R38):
    /// a publication then needs a report to the committee (`export report`) before its
    /// release. Tables whose labels combine quasi-identifiers are flagged without it.
    #[arg(long)]
    pub(crate) reidentification_risk: bool,
    /// The author's notebook session the object was made in: its view is compared with
    /// the lake for consent withdrawn since (R31).
    #[arg(long)]
    pub(crate) session: Option<String>,
    /// An earlier request this changed object replaces (its reviews do not carry over).
    #[arg(long)]
    pub(crate) replaces: Option<String>,
    /// The day of the request (default: today), for the embargo clock.
    #[arg(long)]
    pub(crate) on: Option<chrono::NaiveDate>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct ReviewArgs {
    /// The governance store.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The request.
    #[arg(long)]
    pub(crate) request: String,
    /// The reviewer.
    #[arg(long)]
    pub(crate) user: String,
    /// approve, request-changes or reject.
    #[arg(long)]
    pub(crate) vote: String,
    /// The reviewer's comment.
    #[arg(long, default_value = "")]
    pub(crate) comment: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct ReportArgs {
    /// The governance store.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The request.
    #[arg(long)]
    pub(crate) request: String,
    /// The request's author.
    #[arg(long)]
    pub(crate) user: String,
    /// The report: who could be re-identified, how, and what was done about it.
    #[arg(long)]
    pub(crate) text: String,
}

#[derive(clap::Args)]
pub(crate) struct ShowArgs {
    /// The governance store.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The request.
    #[arg(long)]
    pub(crate) request: String,
    /// Who looks (reviewers see others' votes only once two are in).
    #[arg(long)]
    pub(crate) user: String,
}

#[derive(clap::Args)]
pub(crate) struct ReleaseArgs {
    /// The governance store.
    #[arg(long)]
    pub(crate) store: PathBuf,
    /// The approved request.
    #[arg(long)]
    pub(crate) request: String,
    /// The new release directory.
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    /// The release directory.
    pub(crate) dir: PathBuf,
    /// The enclave's public key (hex), as published by the programme.
    #[arg(long, required_unless_present = "store")]
    pub(crate) key: Option<String>,
    /// Or: the store whose key signed it.
    #[arg(long)]
    pub(crate) store: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct KeyArgs {
    /// The governance store.
    #[arg(long)]
    pub(crate) store: PathBuf,
}

/// The disclosure-control parameters a command may change.
#[derive(clap::Args)]
pub(crate) struct ParameterArgs {
    /// Fewest patients a cell may count.
    #[arg(long, default_value_t = Parameters::default().threshold)]
    pub(crate) threshold: u64,
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
    pub(crate) file: PathBuf,
    /// The columns holding counts (default: every integer column).
    #[arg(long, value_delimiter = ',')]
    pub(crate) counts: Option<Vec<String>>,
    #[command(flatten)]
    pub(crate) parameters: ParameterArgs,
    /// With --project: also compare with the project's earlier releases (differencing).
    #[arg(long, requires = "project")]
    pub(crate) store: Option<PathBuf>,
    /// The project whose releases to compare with.
    #[arg(long, requires = "store")]
    pub(crate) project: Option<String>,
    /// Print JSON (`verdict`, `findings`).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct TableArgs {
    /// The row-level data: CSV with a header, or Parquet.
    #[arg(long)]
    pub(crate) data: PathBuf,
    /// The columns whose labels make the rows.
    #[arg(long, value_delimiter = ',', required = true)]
    pub(crate) index: Vec<String>,
    /// The column whose labels make the columns.
    #[arg(long)]
    pub(crate) columns: Option<String>,
    /// The column the statistic is of.
    #[arg(long)]
    pub(crate) values: Option<String>,
    /// The statistic: count, sum, mean, median, min, max, mode or std.
    #[arg(long, default_value = "count")]
    pub(crate) agg: Agg,
    /// Add totals per row and column (`All`), computed from the rows.
    #[arg(long)]
    pub(crate) margins: bool,
    /// The column naming each row's patient (contributors are patients, not rows).
    #[arg(long)]
    pub(crate) person: Option<String>,
    /// Make it safe: suppress every cell a check failed, and the cells that would give
    /// those back from their rows, columns or totals; then check again.
    #[arg(long)]
    pub(crate) suppress: bool,
    /// With --suppress: round counts and sums to this base.
    #[arg(long, requires = "suppress")]
    pub(crate) round: Option<u64>,
    #[command(flatten)]
    pub(crate) parameters: ParameterArgs,
    /// Print JSON (`verdict`, `cells`, `findings`; `changes` with --suppress).
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(action: Action) -> Result<ExitCode> {
    match action {
        Action::Check(args) => check(&args),
        Action::Table(args) => table(&args),
        Action::Survival(args) => survival(&args),
        Action::Model(args) => model(&args),
        Action::Request(args) => super::airlock::request(&args),
        Action::Review(args) => super::airlock::review(&args),
        Action::Report(args) => super::airlock::report(&args),
        Action::Show(args) => super::airlock::show(&args),
        Action::Release(args) => super::airlock::release(&args),
        Action::Verify(args) => super::airlock::verify(&args),
        Action::Key(args) => super::airlock::key(&args),
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
    let parameters = args.parameters.parameters();
    let mut checked = export::check_csv(&bytes, args.counts.as_deref(), &parameters)
        .with_context(|| format!("checking {}", args.file.display()))?;
    if let (Some(dir), Some(project)) = (&args.store, &args.project) {
        let store = workbench_governance::store::Sqlite::open(dir)?;
        let earlier = super::airlock::released_tables(&store, dir, project)?;
        if let Some(found) =
            export::differencing(&bytes, &earlier, args.counts.as_deref(), &parameters)?
        {
            checked.findings.push(found);
            checked.verdict = export::verdict_of(&checked.findings);
        }
    }
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

fn survival(args: &SurvivalArgs) -> Result<ExitCode> {
    let df = read_data(&args.data)?;
    let table = export::survival::build(
        &df,
        &args.time,
        &args.event,
        args.group.as_deref(),
        args.person.as_deref(),
        &args.parameters.parameters(),
    )
    .with_context(|| format!("making the survival table from {}", args.data.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        println!("verdict: {}", table.verdict.as_str());
        println!("group\ttime\tat risk\tevents\tcensored\tsurvival");
        for r in &table.rows {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{:.4}",
                r.group, r.time, r.at_risk, r.events, r.censored, r.survival
            );
        }
        for note in &table.notes {
            println!("note: {note}");
        }
    }
    Ok(exit(table.verdict))
}

fn model(args: &ModelArgs) -> Result<ExitCode> {
    let df = read_data(&args.data)?;
    let parameters = Parameters {
        dof: args.dof,
        ..args.parameters.parameters()
    };
    let x: Vec<&str> = args.x.iter().map(String::as_str).collect();
    let model = export::ols(&df, &args.y, &x, args.person.as_deref(), &parameters)
        .with_context(|| format!("fitting {} on {}", args.y, args.data.display()))?;
    let text = serde_json::to_string_pretty(&model)?;
    if let Some(out) = &args.out {
        workbench::durable::write(out, text.as_bytes())?;
    }
    if args.json {
        println!("{text}");
    } else {
        println!(
            "{} ~ {}: {} rows, {} patients, residual dof {} (rows {}), R² {:.4}; verdict {}",
            model.outcome,
            x.join(" + "),
            model.rows,
            model.patients,
            model.dof_resid,
            model.dof_rows,
            model.r_squared,
            model.verdict.as_str()
        );
        println!("term\testimate\tstd_error\tt\tp");
        for t in &model.terms {
            println!(
                "{}\t{:.6}\t{:.6}\t{:.3}\t{:.4}",
                t.name, t.estimate, t.std_error, t.t, t.p_value
            );
        }
        for f in &model.findings {
            println!("{}", f.line());
        }
    }
    Ok(exit(model.verdict))
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
