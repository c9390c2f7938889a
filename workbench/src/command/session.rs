//! `workbench session`: notebook sessions of the enclave (start, end), run by the
//! spawner after a user logged in and picked a project.

use std::path::PathBuf;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum Action {
    /// Start a session of USER in PROJECT: decide access (R18, R36), write the project's
    /// data view (tier, scope and consent: R31, R33–R35) and record both in the audit
    /// chain. `--json` prints `session`, `view`, `tier`, `decision`, `tables`,
    /// `left_out`.
    Start {
        /// The governance store.
        #[arg(long)]
        store: PathBuf,
        /// The full lake the view is cut from.
        #[arg(long)]
        lake: PathBuf,
        /// The user (already logged in).
        #[arg(long)]
        user: String,
        /// The project.
        #[arg(long)]
        project: String,
        /// The date of the decision (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// End a session: its kernel refuses further cells (R18-session).
    End {
        /// The governance store.
        #[arg(long)]
        store: PathBuf,
        /// The session id.
        #[arg(long)]
        session: String,
    },
}

pub(crate) fn run(action: Action) -> Result<()> {
    match action {
        Action::Start {
            store,
            lake,
            user,
            project,
            on,
            json,
        } => {
            let on = on.unwrap_or_else(workbench::lake::today);
            let started = workbench::enclave::start(&store, &lake, &user, &project, on)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&started)?);
            } else {
                println!(
                    "session {} of {} in {} ({} tier): view {}",
                    started.session,
                    started.user,
                    started.project,
                    started.tier.as_str(),
                    started.view.display()
                );
                for table in &started.tables {
                    println!(
                        "  {}: {} rows, {} cases",
                        table.table, table.rows, table.cases
                    );
                }
                for left in &started.left_out {
                    println!(
                        "  {} left out by {}: {}",
                        left.table, left.rule, left.reason
                    );
                }
            }
            Ok(())
        }
        Action::End { store, session } => {
            workbench::enclave::end(&store, &session)?;
            eprintln!("session {session} ended");
            Ok(())
        }
    }
}
