//! `workbench cohort`, `survival`, `join`, `mutations`, `interactions`: a cohort and
//! the analyses over it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use polars::prelude::BooleanChunked;
use workbench::Lake;
use workbench::cohort::{Cohort, Criteria, Query};

use super::{print_frame, write_file};

/// The lake and the criteria of a cohort (one include group; all must hold).
#[derive(clap::Args)]
pub(crate) struct Select {
    /// The directory holding `lake/` (or the lake itself).
    #[arg(long)]
    lake: PathBuf,
    #[command(flatten)]
    criteria: Criteria,
    /// A query file (JSON: {"include": [criteria…], "exclude": [criteria…]}) for
    /// include/exclude groups; not combined with the criteria flags.
    #[arg(long)]
    query: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl Select {
    fn query(&self) -> Result<Query> {
        let Some(path) = &self.query else {
            return Ok(Query::from(self.criteria.clone()));
        };
        if self.criteria != Criteria::default() {
            bail!(
                "--query {} and criteria flags cannot be combined: put the criteria in the file",
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the query file {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("query file {}: not a cohort query", path.display()))
    }

    fn cohort(&self) -> Result<(Lake, Cohort)> {
        let lake = Lake::open(&self.lake)?;
        let cohort =
            workbench::cohort::select(&lake, &self.query()?).context("selecting the cohort")?;
        Ok((lake, cohort))
    }
}

#[derive(clap::Args)]
pub(crate) struct CohortArgs {
    #[command(flatten)]
    select: Select,
    /// Save the cohort (criteria and members) as NAME.cohort.json in --save-dir.
    #[arg(long)]
    save: Option<String>,
    /// Where saved cohorts live (default: the lake's directory).
    #[arg(long)]
    save_dir: Option<PathBuf>,
}

pub(crate) fn run_cohort(args: CohortArgs) -> Result<()> {
    let (_, mut cohort) = args.select.cohort()?;
    if let Some(name) = &args.save {
        let dir = args.save_dir.unwrap_or_else(|| args.select.lake.clone());
        let path = cohort.save(&dir, name)?;
        eprintln!("saved {}", path.display());
    }
    if args.select.json {
        let value = serde_json::json!({
            "n": cohort.len(),
            "cases": cohort.cases(),
            "by_cancer_type": cohort.by_cancer_type(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{} cases", cohort.len());
        for (code, n) in cohort.by_cancer_type() {
            println!("  {code:<10} {n:>7}");
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct SurvivalArgs {
    #[command(flatten)]
    select: Select,
    /// Group by a field of the cases: stage (group I–IV), cancer_type, sex,
    /// institution, vital_status, or `gene:SYMBOL` (mutated vs not).
    #[arg(long)]
    by: Option<String>,
}

pub(crate) fn run_survival(args: SurvivalArgs) -> Result<()> {
    let (lake, cohort) = args.select.cohort()?;
    let survival = workbench::survival::of_cohort(&lake, &cohort, args.by.as_deref())
        .context("estimating survival")?;
    if args.select.json {
        println!("{}", serde_json::to_string_pretty(&survival.to_json())?);
    } else {
        println!("{}", survival.table().text);
    }
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct JoinArgs {
    #[command(flatten)]
    select: Select,
    /// One row per case × sample × somatic call instead of one per case.
    #[arg(long)]
    long: bool,
    /// Write the frame as Parquet (whole or not at all).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub(crate) fn run_join(args: JoinArgs) -> Result<()> {
    let (lake, cohort) = args.select.cohort()?;
    let mut df = if args.long {
        workbench::clinical::long(&lake, &cohort)
    } else {
        workbench::clinical::wide(&lake, &cohort)
    }
    .context("joining the clinical tables")?;
    let Some(path) = &args.out else {
        return print_frame(&df, args.select.json);
    };
    workbench::durable::write_with(path, |file| {
        polars::prelude::ParquetWriter::new(file)
            .finish(&mut df)
            .map(drop)
            .map_err(std::io::Error::other)
    })?;
    eprintln!(
        "wrote {} rows × {} columns to {}",
        df.height(),
        df.width(),
        path.display()
    );
    Ok(())
}

#[derive(clap::Args)]
pub(crate) struct MutationsArgs {
    #[command(flatten)]
    select: Select,
    /// Per group of a field (subtype, stage, cancer_type, sex, …).
    #[arg(long)]
    by: Option<String>,
    /// Show only the most frequently mutated genes (default: all).
    #[arg(long)]
    top: Option<usize>,
    /// Write the frequency bars (ungrouped) as an SVG figure.
    #[arg(long)]
    svg: Option<PathBuf>,
}

pub(crate) fn run_mutations(args: MutationsArgs) -> Result<()> {
    let (lake, cohort) = args.select.cohort()?;
    let mut df = workbench::analysis::mutation_frequency(&lake, &cohort, args.by.as_deref())
        .context("counting mutated cases")?;
    if let Some(path) = &args.svg {
        let ungrouped = if args.by.is_some() {
            workbench::analysis::mutation_frequency(&lake, &cohort, None)?
        } else {
            df.clone()
        };
        let figure = workbench::figures::mutation_frequency(&ungrouped, args.top.unwrap_or(20))?;
        write_file(path, figure.svg.as_bytes())?;
    }
    if let Some(top) = args.top {
        let keep = workbench::analysis::top_genes(&lake, &cohort, top)?;
        let genes = df.column("gene")?.str()?.clone();
        let mask: BooleanChunked = genes
            .iter()
            .map(|g| Some(g.is_some_and(|g| keep.iter().any(|k| k == g))))
            .collect();
        df = df.filter(&mask)?;
    }
    print_frame(&df, args.select.json)
}

#[derive(clap::Args)]
pub(crate) struct InteractionsArgs {
    #[command(flatten)]
    select: Select,
    /// Genes to test pairwise (comma-separated); default: the --top most mutated.
    #[arg(long = "genes", id = "pair_genes", value_delimiter = ',')]
    pair_genes: Vec<String>,
    /// How many of the most frequently mutated genes to test without --genes.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Write an oncoprint of the genes as an SVG figure.
    #[arg(long)]
    oncoprint: Option<PathBuf>,
}

pub(crate) fn run_interactions(args: InteractionsArgs) -> Result<()> {
    let (lake, cohort) = args.select.cohort()?;
    let genes = if args.pair_genes.is_empty() {
        workbench::analysis::top_genes(&lake, &cohort, args.top)?
    } else {
        args.pair_genes
    };
    if let Some(path) = &args.oncoprint {
        let figure = workbench::figures::oncoprint(&lake, &cohort, &genes)?;
        write_file(path, figure.svg.as_bytes())?;
    }
    let df =
        workbench::analysis::co_occurrence(&lake, &cohort, &genes).context("testing gene pairs")?;
    print_frame(&df, args.select.json)
}
