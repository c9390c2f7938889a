//! `workbench synth`: the synthetic programme.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

/// Arguments of `workbench synth`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Number of cases.
    #[arg(long, default_value_t = 1000)]
    cases: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (must not hold a lake or raw files yet).
    #[arg(long)]
    out: PathBuf,
    /// Cases that also get tiny raw FASTQ pairs.
    #[arg(long, default_value_t = 3)]
    raw_cases: usize,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    eprintln!(
        "generating {} synthetic cases (seed {}) into {}",
        args.cases,
        args.seed,
        args.out.display()
    );
    let mut config = workbench::synth::Config::new(args.cases, args.seed);
    config.raw_cases = args.raw_cases;
    let summary =
        workbench::synth::write(&config, &args.out).context("writing the synthetic programme")?;
    for (table, rows) in &summary.rows {
        eprintln!("  {:<18} {rows:>9} rows", table.name());
    }
    eprintln!("  raw FASTQ pairs    {:>9} samples", summary.raw.len());
    eprintln!(
        "done in {:.2} s: {}",
        started.elapsed().as_secs_f64(),
        summary.lake.root().display()
    );
    Ok(())
}
