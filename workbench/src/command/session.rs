//! `workbench session`: notebook sessions of the enclave (start, end), run by the
//! spawner after a user logged in and picked a project.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
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
        /// Give the session's directory (its view) to this local account, the one its
        /// kernel runs as (`wb-USER` under the enclave's JupyterHub).
        #[arg(long)]
        account: Option<String>,
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
            account,
            json,
        } => {
            let owner = account.as_deref().map(account_ids).transpose()?;
            let on = on.unwrap_or_else(workbench::lake::today);
            let started = workbench::enclave::start(&store, &lake, &user, &project, on)?;
            if let (Some((uid, gid)), Some(dir)) = (owner, started.view.parent()) {
                chown_all(dir, uid, gid).with_context(|| {
                    format!(
                        "giving session {} to account {}",
                        started.session,
                        account.as_deref().unwrap_or_default()
                    )
                })?;
            }
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

/// The uid and gid of local account `name` (from `/etc/passwd`: session accounts are
/// local system accounts).
fn account_ids(name: &str) -> Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 4 && fields[0] == name {
            let id = |s: &str| {
                s.parse::<u32>()
                    .with_context(|| format!("/etc/passwd: {name}"))
            };
            return Ok((id(fields[2])?, id(fields[3])?));
        }
    }
    bail!("--account {name}: no such local account")
}

/// Gives `dir` and everything below it to `uid`:`gid` (symbolic links are not followed;
/// the view holds none).
fn chown_all(dir: &std::path::Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))
        .with_context(|| format!("chown {}", dir.display()))?;
    if dir.is_dir() && !dir.is_symlink() {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            chown_all(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
