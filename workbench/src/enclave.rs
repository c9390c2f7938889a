//! The trusted side of a notebook session: `workbench session start` decides whether a
//! user may work in a project today (R18, R36), materialises the project's data view
//! (only the tables the tier and scope allow, only the rows that consent and the tier's
//! filter allow: R31, R33–R35) in a directory private to the session, and records the
//! session and its view in the governance store's audit chain.
//!
//! The kernel of the session reads nothing else: its cells see the view (the evaluation
//! child's confinement makes the lake and the store unreadable), and it asks the store
//! before every cell whether what the view was made on still stands
//! (`workbench_governance::session::still_allowed`).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use workbench_governance::access::{self, Action, Case, Facts, Request, Viewer};
use workbench_governance::consent::{self, Use};
use workbench_governance::embargo::Release;
use workbench_governance::project::Tier;
use workbench_governance::session::{Basis, Session};
use workbench_governance::store::{self, Change, Sqlite, Store};
use workbench_governance::{Decision, Rule, events};

use crate::lake::{self, CaseFacts, CaseVerdict, Lake, Table, VIEW_FILE};
use crate::overview;

/// Where a store keeps its sessions' views: `STORE/sessions/ID/view`.
pub const SESSIONS_DIR: &str = "sessions";

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy refused (the decision names the rule); the refusal is audited.
    #[error("session refused: {0}")]
    Refused(Decision),
    /// The governance store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The lake could not be read.
    #[error(transparent)]
    Lake(#[from] lake::Error),
    /// The view could not be written.
    #[error(transparent)]
    Durable(#[from] crate::durable::Error),
    /// The session's directory could not be made private.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// One table of a view.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ViewTable {
    /// The table.
    pub table: String,
    /// Its rows in the view.
    pub rows: u64,
    /// The distinct cases (or samples, for sample-keyed tables) they belong to.
    pub cases: u64,
}

/// A table the view leaves out, and the rule that left it out.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LeftOut {
    /// The table.
    pub table: String,
    /// The rule.
    pub rule: Rule,
    /// Why.
    pub reason: String,
}

/// A started session, as `workbench session start --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    /// The session id.
    pub session: String,
    /// The view's directory (a lake directory marked by [`VIEW_FILE`]).
    pub view: PathBuf,
    /// The user.
    pub user: String,
    /// The project.
    pub project: String,
    /// The tier.
    pub tier: Tier,
    /// The decision that let the session start.
    pub decision: Decision,
    /// The tables in the view.
    pub tables: Vec<ViewTable>,
    /// The tables left out, each with its rule.
    pub left_out: Vec<LeftOut>,
}

/// Starts a session of `user` in `project` on `on`: see the module documentation.
///
/// # Errors
///
/// [`Error::Refused`] with the deciding rule (audited), or the store's, the lake's or the
/// file system's error; nothing is recorded unless the whole view was written.
pub fn start(
    store_dir: &Path,
    lake_dir: &Path,
    user: &str,
    project: &str,
    on: NaiveDate,
) -> Result<Started, Error> {
    let mut store = Sqlite::open(store_dir)?;
    let refuse = |store: &mut Sqlite, decision: Decision| -> Error {
        let event = json!({"kind": "session-refused", "user": user, "project": project,
                           "decision": decision});
        match store.record(event) {
            Ok(()) => Error::Refused(decision),
            Err(e) => Error::Store(e),
        }
    };
    let Some(account) = store.user(user)? else {
        let decision = Decision::deny(Rule::Member, format!("no user {user}"));
        return Err(refuse(&mut store, decision));
    };
    let found = store.project(project)?;
    let approvals = store.approvals(project)?;
    let (_, policy) = store.policy()?;
    let lengths = store.embargo_lengths()?;
    let full = Lake::open(lake_dir)?;
    let clocks = full.embargo_clocks(&lengths, &policy, on)?;
    let facts = Facts {
        user: &account,
        project: found.as_ref(),
        approvals: &approvals,
        policy: &policy,
        clocks: Some(&clocks),
    };
    let request = |action: Action, table: &'static str| Request {
        action,
        table,
        cancer_type: None,
        acquirer: None,
        purpose: None,
        release: Release::Publication,
        on,
    };
    // The account and the licence first (R18, R36): an aggregate request asks exactly
    // those; the tier's own rules come per table below.
    let licence = access::check(facts, &request(Action::Aggregate, ""));
    let (Some(project_facts), true) = (found.as_ref(), licence.allowed) else {
        return Err(refuse(&mut store, licence));
    };
    let (mut tables, mut left_out) = (Vec::new(), Vec::new());
    for table in Table::ALL {
        let decision = match project_facts.tier {
            Tier::Overview => Decision::deny(
                Rule::Tier,
                "the overview tier gives aggregates only, no rows",
            ),
            Tier::Detailed | Tier::Public => {
                access::check(facts, &request(Action::Read, table.name()))
            }
        };
        if decision.allowed {
            tables.push(table);
        } else {
            left_out.push(LeftOut {
                table: table.name().to_owned(),
                rule: decision.rule,
                reason: decision.reason,
            });
        }
    }
    let Some(forum) = account.role.forum() else {
        // access::check refused roles without a forum already; kept as a guard.
        return Err(refuse(&mut store, Decision::deny(Rule::Role, "no forum")));
    };
    let data_use = Use {
        forum,
        research: project_facts.research(),
        on,
    };
    let viewer = Viewer {
        user: &account,
        project: project_facts,
        approvals: &approvals,
        clocks: &clocks,
        tier: project_facts.tier,
        on,
    };
    let restricted = full.restricted(&|case: &CaseFacts<'_>| {
        let decision = access::case_visible(
            &Case {
                consent: case.consent.clone(),
                cancer_type: case.cancer_type.unwrap_or_default(),
                acquirer: case.acquirer.unwrap_or_default(),
            },
            viewer,
        );
        let secondary_findings = decision.allowed
            && consent::decide_secondary_findings(&case.consent, &data_use).allowed;
        CaseVerdict {
            decision,
            secondary_findings,
        }
    })?;

    let id = store::new_id()?;
    let session_dir = store_dir.join(SESSIONS_DIR).join(&id);
    // Session accounts pass through `sessions/` to their own view; none can list it.
    private_dir(&store_dir.join(SESSIONS_DIR), 0o711)?;
    private_dir(&session_dir, 0o700)?;
    let view = session_dir.join("view");
    let staged = crate::durable::StagedDir::new(&view)?;
    let mut shown = Vec::new();
    for &table in &tables {
        let mut df = restricted.frame(table)?;
        let key = Lake::key_column(table);
        let cases = df
            .column(if df.column("case_id").is_ok() {
                "case_id"
            } else {
                key
            })
            .and_then(|c| c.n_unique())
            .map_err(|e| lake::Error::Schema {
                table,
                path: restricted.path(table),
                detail: e.to_string(),
            })?;
        shown.push(ViewTable {
            table: table.name().to_owned(),
            rows: df.height() as u64,
            cases: cases as u64,
        });
        lake::write_frame(&staged.path().join(table.file()), table, &mut df)?;
    }
    let basis = Basis::of(
        project_facts,
        &approvals,
        tables.iter().map(|t| t.name().to_owned()).collect(),
        on,
    );
    let marker = json!({
        "session": id, "user": user, "project": project, "tier": project_facts.tier,
        "on": on.to_string(), "tables": basis.tables, "left_out": left_out,
    });
    crate::durable::write(
        &staged.path().join(VIEW_FILE),
        serde_json::to_string_pretty(&marker)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let view = staged.commit()?;
    if project_facts.tier == Tier::Overview {
        let aggregated: Vec<Table> = Table::ALL
            .into_iter()
            .filter(|t| access::check(facts, &request(Action::Aggregate, t.name())).allowed)
            .collect();
        if let Err(e) = write_basis(store_dir, &id, &restricted, &aggregated) {
            let _ = std::fs::remove_dir_all(&session_dir);
            return Err(e);
        }
    }
    let decision = Decision::allow(
        licence.rule,
        format!(
            "{}; view of {} table(s) for the {} tier",
            licence.reason,
            tables.len(),
            project_facts.tier.as_str()
        ),
    );
    let session = Session {
        id: id.clone(),
        user: user.to_owned(),
        project: project.to_owned(),
        tier: project_facts.tier,
        view: view.to_string_lossy().into_owned(),
        started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ended: None,
        basis,
    };
    let mut event = events::session(user, project, &id, "start");
    event["tier"] = json!(project_facts.tier);
    event["decision"] = json!(decision);
    event["tables"] = json!(shown);
    event["left_out"] = json!(left_out);
    if let Err(e) = store.apply(&Change::StartSession(session), event) {
        // Not recorded, so not a session: its view (and aggregate basis) go too.
        let _ = std::fs::remove_dir_all(&session_dir);
        let _ = std::fs::remove_dir_all(overview::basis_dir(store_dir, &id));
        return Err(e.into());
    }
    Ok(Started {
        session: id,
        view,
        user: user.to_owned(),
        project: project.to_owned(),
        tier: project_facts.tier,
        decision,
        tables: shown,
        left_out,
    })
}

/// Ends session `id` (recorded once; a second end is refused by the store).
///
/// # Errors
///
/// The store's error.
pub fn end(store_dir: &Path, id: &str) -> Result<(), Error> {
    let mut store = Sqlite::open(store_dir)?;
    let Some(session) = store.session(id)? else {
        return Err(Error::Refused(Decision::deny(
            Rule::Session,
            format!("no session {id}"),
        )));
    };
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    store.apply(
        &Change::EndSession {
            id: id.to_owned(),
            at,
        },
        events::session(&session.user, &session.project, id, "stop"),
    )?;
    // An ended session asks nothing more; its aggregate basis is a copy of rows.
    let basis = overview::basis_dir(store_dir, id);
    if basis.exists() {
        std::fs::remove_dir_all(&basis).map_err(|source| Error::Io {
            path: basis,
            source,
        })?;
    }
    Ok(())
}

/// Writes the rows an overview session's aggregates count (`overview`): `tables` of
/// `restricted`, in `STORE/aggregates/ID`, readable by the store's owner only.
fn write_basis(
    store_dir: &Path,
    id: &str,
    restricted: &Lake,
    tables: &[Table],
) -> Result<(), Error> {
    private_dir(&store_dir.join(overview::AGGREGATES_DIR), 0o700)?;
    let staged = crate::durable::StagedDir::new(&overview::basis_dir(store_dir, id))?;
    for &table in tables {
        let mut df = restricted.frame(table)?;
        lake::write_frame(&staged.path().join(table.file()), table, &mut df)?;
    }
    let marker = json!({"session": id, "tier": "aggregate-basis",
                        "tables": tables.iter().map(|t| t.name()).collect::<Vec<_>>()});
    crate::durable::write(
        &staged.path().join(VIEW_FILE),
        marker.to_string().as_bytes(),
    )?;
    let basis = staged.commit()?;
    private_dir(&basis, 0o700)
}

/// Creates `dir` (if missing) with `mode` (no more than its owner may read it).
fn private_dir(dir: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .mode(mode)
            .create(dir)
            .map_err(io)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(io)
}
