//! The session's governance inside the kernel (R18, R36): whether the next cell may run,
//! and the audit record of every cell, written by the kernel, never by user code.
//!
//! The store is read and written on a thread of its own, started before the kernel thread
//! confines itself: the build layer (which the kernel thread and everything it starts
//! inherit) cannot read the store, by design, so the thread that runs cells asks this one.
//! Any failure to decide or to record refuses the cell: nothing runs unaudited.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};

use serde_json::json;
use workbench_governance::access::Facts;
use workbench_governance::session::{Session, still_allowed};
use workbench_governance::store::{Sqlite, Store};
use workbench_governance::{Decision, Rule, events};

/// Environment of the kernel: the governance store of its session.
pub(crate) const STORE_VAR: &str = "WORKBENCH_STORE";
/// Environment of the kernel: the session it serves.
pub(crate) const SESSION_VAR: &str = "WORKBENCH_SESSION";
/// Environment of the kernel: `1` runs cells without a session (a trainer's own machine:
/// `workbench up --single-user`); nothing else does.
pub(crate) const SINGLE_USER_VAR: &str = "WORKBENCH_SINGLE_USER";

/// How a kernel serves cells.
pub(crate) enum Mode {
    /// A governed session: every cell asks and is audited.
    Session(Governor),
    /// No session, by explicit choice ([`SINGLE_USER_VAR`]).
    SingleUser,
    /// No valid session: every cell is refused with this reason.
    Refused(String),
}

/// A session found valid at start, whose thread is not started yet: the kernel sets its
/// environment (the view) first, while it has no other thread.
pub(crate) struct Opened {
    /// The session.
    pub(crate) session: Session,
    db: Sqlite,
}

impl Opened {
    /// Starts the thread that answers the kernel thread.
    ///
    /// # Errors
    ///
    /// The thread cannot be started.
    pub(crate) fn start(self) -> Result<Governor, String> {
        let (asks, requests) = channel::<Ask>();
        let Opened { session, db } = self;
        std::thread::Builder::new()
            .name("governor".into())
            .spawn(move || serve(db, &session, &requests))
            .map_err(|e| format!("R18-session: starting the governor thread: {e}"))?;
        Ok(Governor { asks })
    }
}

/// What the environment asks for, before any thread exists.
pub(crate) enum Plan {
    /// A session that stands (boxed: it holds the store's connection).
    Session(Box<Opened>),
    /// Single-user mode.
    SingleUser,
    /// Every cell refused, with this reason.
    Refused(String),
}

impl Plan {
    /// The mode the kernel thread serves in (the session's thread started).
    pub(crate) fn start(self) -> Mode {
        match self {
            Plan::Session(opened) => match opened.start() {
                Ok(governor) => Mode::Session(governor),
                Err(reason) => Mode::Refused(reason),
            },
            Plan::SingleUser => Mode::SingleUser,
            Plan::Refused(reason) => Mode::Refused(reason),
        }
    }
}

enum Ask {
    Before {
        code: String,
        reply: Sender<Result<(), String>>,
    },
    After {
        code: String,
        outcome: &'static str,
        millis: u128,
    },
}

/// The handle the kernel thread asks through.
#[derive(Clone)]
pub(crate) struct Governor {
    asks: Sender<Ask>,
}

/// The mode the environment asks for: a session when [`STORE_VAR`] and [`SESSION_VAR`]
/// name a valid one (it must exist, be open and still stand), single-user mode only when
/// [`SINGLE_USER_VAR`] is `1`, refusal otherwise.
pub(crate) fn from_env() -> Plan {
    let store = std::env::var_os(STORE_VAR).map(PathBuf::from);
    let session = std::env::var(SESSION_VAR).ok();
    match (store, session) {
        (Some(store), Some(id)) => match open(&store, &id) {
            Ok(opened) => Plan::Session(Box::new(opened)),
            Err(reason) => Plan::Refused(reason),
        },
        (None, None) if std::env::var(SINGLE_USER_VAR).is_ok_and(|v| v == "1") => Plan::SingleUser,
        (None, None) => Plan::Refused(format!(
            "R18-session: this kernel serves no session: it runs cells only when the enclave starts it with {STORE_VAR} and {SESSION_VAR} (or, on a trainer's own machine, with {SINGLE_USER_VAR}=1)"
        )),
        _ => Plan::Refused(format!(
            "R18-session: {STORE_VAR} and {SESSION_VAR} must be given together"
        )),
    }
}

/// Opens the store and checks that session `id` stands today.
fn open(store: &Path, id: &str) -> Result<Opened, String> {
    let db = Sqlite::open(store).map_err(|e| format!("R18-session: {e}"))?;
    let session = db
        .session(id)
        .map_err(|e| format!("R18-session: {e}"))?
        .ok_or_else(|| format!("R18-session: no session {id} in {}", store.display()))?;
    let decision = decide(&db, &session);
    if !decision.allowed {
        return Err(decision.to_string());
    }
    Ok(Opened { session, db })
}

impl Governor {
    /// Whether the next cell, `code`, may run; the answer is recorded in the audit
    /// chain before this returns.
    pub(crate) fn before_cell(&self, code: &str) -> Result<(), String> {
        let (reply, answer) = channel();
        self.asks
            .send(Ask::Before {
                code: code.to_owned(),
                reply,
            })
            .map_err(|_| "R18-audit: the governor has stopped; no cell runs".to_owned())?;
        answer
            .recv()
            .unwrap_or_else(|_| Err("R18-audit: the governor has stopped; no cell runs".into()))
    }

    /// Records how the cell ended.
    pub(crate) fn after_cell(&self, code: &str, outcome: &'static str, millis: u128) {
        let _ = self.asks.send(Ask::After {
            code: code.to_owned(),
            outcome,
            millis,
        });
    }
}

/// The decision on `session` from the store's facts of today.
fn decide(db: &Sqlite, session: &Session) -> Decision {
    let facts = || -> Result<Decision, workbench_governance::store::Error> {
        let Some(user) = db.user(&session.user)? else {
            return Ok(Decision::deny(
                Rule::Session,
                format!("user {} is gone", session.user),
            ));
        };
        // The session as the store has it now (an end recorded since counts).
        let now = db.session(&session.id)?.unwrap_or_else(|| session.clone());
        let project = db.project(&session.project)?;
        let approvals = db.approvals(&session.project)?;
        let (_, policy) = db.policy()?;
        Ok(still_allowed(
            Facts {
                user: &user,
                project: project.as_ref(),
                approvals: &approvals,
                policy: &policy,
                clocks: None,
            },
            &now,
            chrono::Local::now().date_naive(),
        ))
    };
    facts().unwrap_or_else(|e| Decision::deny(Rule::Audit, format!("reading the store: {e}")))
}

fn serve(mut db: Sqlite, session: &Session, requests: &std::sync::mpsc::Receiver<Ask>) {
    while let Ok(ask) = requests.recv() {
        match ask {
            Ask::Before { code, reply } => {
                let decision = decide(&db, session);
                let mut event = events::cell(&session.user, &session.project, &session.id, &code);
                event["decision"] = json!(decision);
                if !decision.allowed {
                    event["kind"] = json!("cell-refused");
                }
                let answer = match db.record(event) {
                    Err(e) => Err(format!(
                        "R18-audit: the cell cannot be recorded, so it does not run: {e}"
                    )),
                    Ok(()) if decision.allowed => Ok(()),
                    Ok(()) => Err(format!("{decision}")),
                };
                let _ = reply.send(answer);
            }
            Ask::After {
                code,
                outcome,
                millis,
            } => {
                let event = json!({
                    "kind": "cell-outcome", "user": session.user, "project": session.project,
                    "session": session.id, "code_sha256": events::code_sha256(&code),
                    "outcome": outcome, "millis": millis as u64,
                });
                if let Err(e) = db.record(event) {
                    // The front end shows the kernel's stderr in its log.
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("workbench-kernel: recording a cell's outcome: {e}");
                    }
                }
            }
        }
    }
}
