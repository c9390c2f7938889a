//! One session's governance (R18, R36): whether its next cell may run, and the audit
//! record of every cell, decided from the store's facts of the moment.
//!
//! Used in two places with the same code: inside a kernel that may read the store (tests,
//! a trainer's machine), and in the governance service ([`crate::service`]) that answers
//! kernels running as unprivileged session accounts, which may not read the store.
//! Any failure to decide or to record refuses the cell: nothing runs unaudited.

use std::path::Path;

use serde_json::json;

use crate::access::Facts;
use crate::session::{Session, still_allowed};
use crate::store::{Sqlite, Store};
use crate::{Decision, Rule, events};

/// A session found standing when it was opened, with its own connection to the store.
pub struct Governed {
    db: Sqlite,
    session: Session,
}

/// A cell as the audit knows it: the sha256 of its code (lowercase hex) and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// sha256 of the code.
    pub sha256: String,
    /// Length of the code in bytes.
    pub bytes: usize,
}

impl Cell {
    /// The cell whose code is `code`.
    pub fn of(code: &str) -> Cell {
        Cell {
            sha256: events::code_sha256(code),
            bytes: code.len(),
        }
    }

    /// Whether the hash is 64 lowercase hex digits (what a client must send).
    pub fn well_formed(&self) -> bool {
        self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl Governed {
    /// Opens the store in `store` and checks that session `id` stands today.
    ///
    /// # Errors
    ///
    /// The store cannot be read, the session does not exist, or it no longer stands: the
    /// reason names its rule.
    pub fn open(store: &Path, id: &str) -> Result<Governed, String> {
        let db = Sqlite::open(store).map_err(|e| format!("{}: {e}", Rule::Session.id()))?;
        let session = db
            .session(id)
            .map_err(|e| format!("{}: {e}", Rule::Session.id()))?
            .ok_or_else(|| {
                format!(
                    "{}: no session {id} in {}",
                    Rule::Session.id(),
                    store.display()
                )
            })?;
        let governed = Governed { db, session };
        let decision = governed.decide();
        if !decision.allowed {
            return Err(decision.to_string());
        }
        Ok(governed)
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The decision on the session from the store's facts of now.
    pub fn decide(&self) -> Decision {
        let (db, session) = (&self.db, &self.session);
        let facts = || -> Result<Decision, crate::store::Error> {
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

    /// Whether `cell` may run; the answer is in the audit chain before this returns.
    ///
    /// # Errors
    ///
    /// The reason the cell may not run (its rule first).
    pub fn before_cell(&mut self, cell: &Cell) -> Result<(), String> {
        let decision = self.decide();
        let s = &self.session;
        let mut event = events::cell_hashed(&s.user, &s.project, &s.id, &cell.sha256, cell.bytes);
        event["decision"] = json!(decision);
        if !decision.allowed {
            event["kind"] = json!("cell-refused");
        }
        match self.db.record(event) {
            Err(e) => Err(format!(
                "{}: the cell cannot be recorded, so it does not run: {e}",
                Rule::Audit.id()
            )),
            Ok(()) if decision.allowed => Ok(()),
            Ok(()) => Err(decision.to_string()),
        }
    }

    /// The policy in force.
    ///
    /// # Errors
    ///
    /// The store cannot be read.
    pub fn policy(&self) -> Result<crate::policy::Policy, String> {
        self.db
            .policy()
            .map(|(_, policy)| policy)
            .map_err(|e| format!("{}: reading the policy: {e}", Rule::Audit.id()))
    }

    /// Records `event` in the audit chain.
    ///
    /// # Errors
    ///
    /// The record cannot be written.
    pub fn record(&mut self, event: serde_json::Value) -> Result<(), String> {
        self.db
            .record(event)
            .map_err(|e| format!("{}: {e}", Rule::Audit.id()))
    }

    /// Records how `cell` ended (`outcome`: `ok`, `error`, `interrupted`…).
    ///
    /// # Errors
    ///
    /// The record cannot be written.
    pub fn after_cell(&mut self, cell: &Cell, outcome: &str, millis: u64) -> Result<(), String> {
        let s = &self.session;
        let event = json!({
            "kind": "cell-outcome", "user": s.user, "project": s.project,
            "session": s.id, "code_sha256": cell.sha256,
            "outcome": outcome, "millis": millis,
        });
        self.db
            .record(event)
            .map_err(|e| format!("{}: recording a cell's outcome: {e}", Rule::Audit.id()))
    }
}
