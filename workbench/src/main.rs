//! The `workbench` command: glue from the command line to the curated library.
//!
//! Each command family lives in its own module under `command/` with its arguments and a
//! short `run`; this file only parses and dispatches.

// A command-line tool reports on stdout (results) and stderr (progress, warnings).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod command;

use command::{cohort, export, governance, import, kernel, lake, qc, serve, session, synth, up};

#[derive(Parser)]
#[command(
    name = "workbench",
    version,
    about = "Research workbench of the cancer whole-genome programme"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a synthetic programme (deterministic per seed) into DIR/lake and DIR/raw.
    Synth(synth::Args),
    /// Import real-format data into a new lake.
    Import {
        #[command(subcommand)]
        format: import::Format,
    },
    /// Inspect a lake.
    Lake {
        #[command(subcommand)]
        action: lake::Action,
    },
    /// Prepare a local synthetic enclave and open JupyterLab with the workbench kernel.
    Up(up::Args),
    /// Serve the export airlock's review page: committee reviewers log in with password
    /// and second factor, read each request's object with its automatic findings marked
    /// on the cells, and vote (R37-R39).
    Serve(serve::Args),
    /// Select a cohort: print its size and case ids (`--json`: keys `n`, `cases`).
    Cohort(cohort::CohortArgs),
    /// Kaplan–Meier overall survival of a cohort, per group, with the log-rank test.
    Survival(cohort::SurvivalArgs),
    /// The cohort's clinical join: one row per case (wide) or per case × sample × call
    /// (`--long`), written as Parquet (or printed as JSON rows with --json).
    Join(cohort::JoinArgs),
    /// Mutated cases per gene among a cohort's profiled cases (protein-altering calls).
    Mutations(cohort::MutationsArgs),
    /// Co-occurrence and mutual exclusivity of gene pairs (Fisher's exact test).
    Interactions(cohort::InteractionsArgs),
    /// Quality control of deliveries: FASTQ metrics and contract verdicts (R4, R5).
    Qc {
        #[command(subcommand)]
        action: qc::Action,
    },
    /// The data-use policy: people, projects, approvals, decisions, embargo, committee,
    /// the public register (R18, R31–R39).
    Governance {
        #[command(subcommand)]
        action: governance::Action,
    },
    /// Notebook sessions of the enclave: access decision, data view, audit (R18, R36).
    Session {
        #[command(subcommand)]
        action: session::Action,
    },
    /// The audit chain of a governance store (R18).
    Audit {
        #[command(subcommand)]
        action: governance::AuditAction,
    },
    /// The export airlock's automatic disclosure checks (R33, R37–R39).
    Export {
        #[command(subcommand)]
        action: export::Action,
    },
    /// Manage the Jupyter kernelspec of the workbench kernel.
    Kernel {
        #[command(subcommand)]
        action: kernel::Action,
    },
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE before `main`, so a reader that stops early (`| head`) made
    // `println!` panic. The default action ends the process quietly, as it ends cat or
    // samtools.
    #[allow(unsafe_code)]
    // SAFETY: restores a signal's default disposition before any other thread exists;
    // no handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result: Result<()> = match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Import { format } => import::run(format),
        Command::Lake { action } => lake::run(action),
        Command::Up(args) => up::run(args),
        Command::Serve(args) => serve::run(&args).map(|_| ()),
        Command::Cohort(args) => cohort::run_cohort(args),
        Command::Survival(args) => cohort::run_survival(args),
        Command::Join(args) => cohort::run_join(args),
        Command::Mutations(args) => cohort::run_mutations(args),
        Command::Interactions(args) => cohort::run_interactions(args),
        Command::Qc { action } => qc::run(action),
        Command::Governance { action } => governance::run(action),
        Command::Session { action } => session::run(action),
        Command::Audit { action } => governance::run_audit(action),
        Command::Kernel { action } => kernel::run(action),
        // A verdict other than pass is an answer, not an error: exit 1 without "error:".
        Command::Export { action } => match export::run(action) {
            Ok(code) => return code,
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Print the whole cause chain: the outer context says what we were doing,
            // the inner causes say which file, row and field.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
