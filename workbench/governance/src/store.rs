//! The governance store: the facts decisions rest on, in a directory (`--store DIR`).
//!
//! [`Store`] is what the rest of the workbench uses; [`Sqlite`] is the embedded one:
//! `DIR/governance.sqlite3` (WAL, `synchronous = FULL`, foreign keys, numbered
//! migrations) beside the audit chain `DIR/audit.jsonl`. Each change is one SQLite
//! transaction that also writes its audit event into an outbox table; the event is then
//! appended to the chain and the outbox row removed, all under the chain's lock. A crash
//! at any point leaves the change whole or absent, and a committed change whose event did
//! not reach the chain is appended by the next process that takes the lock, before
//! anything else. So the chain and the store never disagree for longer than a crash.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use crate::Policy;
use crate::airlock::{ExportRequest, Review, State};
use crate::audit::{self, Chain, Head};
use crate::committee::Conflict;
use crate::embargo::Length;
use crate::people::{Effect, Role, Sex, User};
use crate::project::{self, Approval, Grant, Project, Purpose, Tier};
use crate::session::Session;

/// The database's file name in the store directory.
pub const DATABASE: &str = "governance.sqlite3";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory holds no store.
    #[error(
        "{0}: no governance store here; create one with `workbench governance init --store {0}`"
    )]
    NotAStore(PathBuf),
    /// The directory already holds one.
    #[error("{0}: a governance store exists already")]
    Exists(PathBuf),
    /// A database error.
    #[error("{path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The audit chain.
    #[error(transparent)]
    Audit(#[from] audit::Error),
    /// A request the store's facts refuse (duplicate user, unknown project).
    #[error("{0}")]
    Refused(String),
    /// The facts changed between the decision and its write; nothing was written.
    #[error("{0}")]
    Stale(String),
    /// A stored value this version cannot read.
    #[error("{path}: {what}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What.
        what: String,
    },
}

/// A change to the store's facts, applied with its audit event in one transaction.
#[derive(Debug, Clone)]
pub enum Change {
    /// Nothing changes; only the event is recorded (a refusal, a check, a cell run).
    None,
    /// A new user with their password hash and TOTP secret.
    AddUser {
        /// The user.
        user: User,
        /// The argon2id PHC string.
        password: String,
        /// The TOTP secret.
        secret: Vec<u8>,
    },
    /// The outcome of a login.
    Login {
        /// The user.
        name: String,
        /// What it changes.
        effect: Effect,
        /// The policy's lock-out count, applied to the stored count.
        lockout_failures: u32,
    },
    /// A store setting (`lake`: the lake decisions read registrations from).
    Setting {
        /// The setting.
        key: String,
        /// Its value.
        value: String,
    },
    /// An admin's change to an account.
    Account {
        /// The user.
        name: String,
        /// Disabled from now on (or enabled again).
        disabled: Option<bool>,
        /// Unlocked (failures reset).
        unlock: bool,
    },
    /// A new project.
    AddProject(Project),
    /// A new member of a project.
    AddMember {
        /// Project.
        project: String,
        /// User.
        user: String,
    },
    /// A project's licence revoked.
    Revoke {
        /// Project.
        project: String,
        /// From this date.
        on: NaiveDate,
    },
    /// An approval or an acquirer's agreement (with its committee report).
    Approve(Approval),
    /// A committee member's declared conflict.
    AddConflict {
        /// The member.
        user: String,
        /// The conflict.
        conflict: Conflict,
    },
    /// An embargo length for a cancer type.
    EmbargoLength(Length),
    /// A notebook session started, with its data view.
    StartSession(Session),
    /// A session ended (its kernel stopped, or an admin ended it).
    EndSession {
        /// The session.
        id: String,
        /// When.
        at: String,
    },
    /// A request to take an object out (its object already frozen in the spool); the
    /// request it replaces, if still undecided, is superseded.
    ExportRequest(ExportRequest),
    /// A reviewer's vote on a request in `from`; the state after it is made from every
    /// stored vote in the same transaction (`to` is what the caller expects, for its
    /// message).
    ExportReview {
        /// The vote.
        review: Review,
        /// The state the vote was decided in.
        from: State,
        /// The state the caller expects after it.
        to: State,
    },
    /// A request moved from `from` to `to` (released).
    ExportState {
        /// The request.
        request: String,
        /// The state the move was decided in.
        from: State,
        /// The state after it.
        to: State,
    },
    /// A new policy version.
    Policy {
        /// The parameters.
        policy: Policy,
        /// Who decided.
        by: String,
        /// Why.
        reason: String,
    },
}

/// The facts decisions rest on, and the one way to change them.
pub trait Store {
    /// The policy in force and its version.
    fn policy(&self) -> Result<(u32, Policy), Error>;
    /// A user.
    fn user(&self, name: &str) -> Result<Option<User>, Error>;
    /// Every user.
    fn users(&self) -> Result<Vec<User>, Error>;
    /// A user's password hash and TOTP secret.
    fn credentials(&self, name: &str) -> Result<Option<(String, Vec<u8>)>, Error>;
    /// A project.
    fn project(&self, id: &str) -> Result<Option<Project>, Error>;
    /// Every project.
    fn projects(&self) -> Result<Vec<Project>, Error>;
    /// A project's approvals, oldest first.
    fn approvals(&self, project: &str) -> Result<Vec<Approval>, Error>;
    /// A user's declared conflicts.
    fn conflicts(&self, user: &str) -> Result<Vec<Conflict>, Error>;
    /// The recorded embargo lengths, oldest first.
    fn embargo_lengths(&self) -> Result<Vec<Length>, Error>;
    /// A store setting.
    fn setting(&self, key: &str) -> Result<Option<String>, Error>;
    /// A notebook session.
    fn session(&self, id: &str) -> Result<Option<Session>, Error>;
    /// An export request.
    fn export_request(&self, id: &str) -> Result<Option<ExportRequest>, Error>;
    /// A project's export requests, oldest first.
    fn export_requests(&self, project: &str) -> Result<Vec<ExportRequest>, Error>;
    /// The votes on an export request, in the order cast.
    fn export_reviews(&self, request: &str) -> Result<Vec<Review>, Error>;
    /// Applies `change` and records `event` in the audit chain, both or neither.
    fn apply(&mut self, change: &Change, event: Value) -> Result<(), Error>;
    /// Verifies the audit chain against what the store knows was written.
    fn verify_audit(&mut self) -> Result<audit::Report, Error>;
}

/// The embedded store.
pub struct Sqlite {
    dir: PathBuf,
    db: Connection,
    chain: Chain,
}

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
    CREATE TABLE policy (
        version INTEGER PRIMARY KEY,
        params TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('acquirer','analyst','industry','trainer','pipeline','committee','admin')),
        institution TEXT NOT NULL,
        company TEXT,
        sex TEXT CHECK (sex IN ('female','male')),
        password TEXT NOT NULL,
        totp_secret BLOB NOT NULL,
        last_totp_step INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        locked INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        forum TEXT NOT NULL CHECK (forum IN ('academic','industry')),
        purpose TEXT NOT NULL CHECK (purpose IN ('academic-research','drug-development','prevention')),
        institution TEXT NOT NULL,
        country TEXT NOT NULL,
        cancer_types TEXT NOT NULL,
        tables TEXT NOT NULL,
        tier TEXT NOT NULL CHECK (tier IN ('overview','detailed','public')),
        created_on TEXT NOT NULL,
        expires TEXT NOT NULL,
        paid_plan INTEGER NOT NULL,
        revoked_on TEXT
    );
    CREATE TABLE members (
        project TEXT NOT NULL REFERENCES projects(id),
        user TEXT NOT NULL REFERENCES users(name),
        PRIMARY KEY (project, user)
    );
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        project TEXT NOT NULL REFERENCES projects(id),
        kind TEXT NOT NULL CHECK (kind IN ('detailed','clinical-detail','acquirer-agreement')),
        by_user TEXT NOT NULL REFERENCES users(name),
        institution TEXT NOT NULL,
        on_date TEXT NOT NULL,
        reported_to_committee INTEGER NOT NULL,
        revoked_on TEXT
    );
    CREATE TABLE conflicts (
        user TEXT NOT NULL REFERENCES users(name),
        kind TEXT NOT NULL CHECK (kind IN ('institution','company','project')),
        name TEXT NOT NULL,
        PRIMARY KEY (user, kind, name)
    );
    CREATE TABLE embargo_lengths (
        id INTEGER PRIMARY KEY,
        cancer_type TEXT NOT NULL,
        months INTEGER NOT NULL,
        agreed_by TEXT NOT NULL,
        by_user TEXT NOT NULL REFERENCES users(name),
        on_date TEXT NOT NULL
    );
    CREATE TABLE audit_outbox (
        id TEXT PRIMARY KEY,
        time TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE TABLE audit_head (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        seq INTEGER NOT NULL,
        mac TEXT NOT NULL,
        id TEXT NOT NULL
    );
    ",
    // 2: store settings (the default lake of decisions that need registrations).
    r"
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    ",
    // 3: notebook sessions and what their data views were made on.
    r"
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(name),
        project TEXT NOT NULL REFERENCES projects(id),
        tier TEXT NOT NULL CHECK (tier IN ('overview','detailed','public')),
        view TEXT NOT NULL,
        started TEXT NOT NULL,
        ended TEXT,
        basis TEXT NOT NULL
    );
    ",
    // 4: the export airlock: requests (frozen objects, by sha256) and their reviews. The
    // body is the request as JSON; the state is its own column so that a transition is
    // written only from the state it was decided in.
    r"
    CREATE TABLE export_requests (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL REFERENCES projects(id),
        state TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE export_reviews (
        request TEXT NOT NULL REFERENCES export_requests(id),
        reviewer TEXT NOT NULL REFERENCES users(name),
        body TEXT NOT NULL,
        PRIMARY KEY (request, reviewer)
    );
    ",
];

/// Where a test may make the process die, to prove a crash leaves the store consistent.
/// `WORKBENCH_GOVERNANCE_CRASH_AT` names the point; unset in production.
fn crash_point(point: &str) {
    if std::env::var_os("WORKBENCH_GOVERNANCE_CRASH_AT").is_some_and(|p| p == point) {
        std::process::abort();
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Makes `dir` traversable but not listable by others (session accounts reach their
/// views below it) and its database readable by the owner only, before SQLite opens it:
/// SQLite gives the journal files the database's mode.
fn private(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| audit::Error::Io { path, source }
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).map_err(io(dir))?;
    let db = dir.join(DATABASE);
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&db)
        .map_err(io(&db))?;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).map_err(io(&db))?;
    Ok(())
}

/// A fresh random id: 128 bits from the operating system, as 32 hex digits.
pub fn new_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Refused(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sqlite {
    /// Creates a store in `dir` (made if missing; must not hold one) with the default
    /// policy as version 1, recorded in the chain.
    pub fn init(dir: &Path) -> Result<Sqlite, Error> {
        std::fs::create_dir_all(dir).map_err(|source| audit::Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let chain_exists = dir.join(audit::FILE).exists();
        if dir.join(DATABASE).exists() && chain_exists {
            return Err(Error::Exists(dir.to_owned()));
        }
        // No chain yet: an init killed before its first record left at most a key and a
        // database that nothing used (every other command needs the first record): start
        // again.
        if !chain_exists {
            for stale in [
                audit::KEY,
                DATABASE,
                "governance.sqlite3-wal",
                "governance.sqlite3-shm",
            ] {
                let _ = std::fs::remove_file(dir.join(stale));
            }
        }
        private(dir)?;
        Chain::create_key(dir)?;
        let mut store = Self::connect(dir)?;
        let policy = Policy::default();
        store.apply(
            &Change::Policy {
                policy: policy.clone(),
                by: "init".into(),
                reason: "the programme's published parameters".into(),
            },
            json!({"kind": "store-created", "policy_version": 1}),
        )?;
        Ok(store)
    }

    /// Opens the store in `dir`, bringing its schema up to date and finishing any audit
    /// append a crashed process left.
    pub fn open(dir: &Path) -> Result<Sqlite, Error> {
        if !dir.join(DATABASE).is_file() {
            return Err(Error::NotAStore(dir.to_owned()));
        }
        let mut store = Self::connect(dir)?;
        let chain = store.chain.clone();
        let mut guard = chain.lock()?;
        store.flush_outbox(&mut guard)?;
        Ok(store)
    }

    /// Opens the store in `dir` without finishing anything a crashed process left, for
    /// reading the audit chain as it is.
    pub fn open_for_audit(dir: &Path) -> Result<Sqlite, Error> {
        if !dir.join(DATABASE).is_file() {
            return Err(Error::NotAStore(dir.to_owned()));
        }
        Self::connect(dir)
    }

    fn connect(dir: &Path) -> Result<Sqlite, Error> {
        let path = dir.join(DATABASE);
        let db_err = database_error(&path);
        let db = Connection::open(&path).map_err(&db_err)?;
        db.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(&db_err)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(&db_err)?;
        let mut store = Sqlite {
            dir: dir.to_owned(),
            db,
            chain: Chain::open(dir)?,
        };
        store.migrate()?;
        Ok(store)
    }

    fn db_err(&self) -> impl Fn(rusqlite::Error) -> Error + use<> {
        database_error(&self.dir.join(DATABASE))
    }

    fn corrupt(&self, what: String) -> Error {
        Error::Corrupt {
            path: self.dir.join(DATABASE),
            what,
        }
    }

    fn migrate(&mut self) -> Result<(), Error> {
        let db_err = database_error(&self.dir.join(DATABASE));
        let version: i64 = self
            .db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&db_err)?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(self.corrupt(format!(
                "schema version {version} is newer than this workbench's {}",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            // IMMEDIATE: two processes opening an old store at once migrate it once.
            let tx = self
                .db
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(&db_err)?;
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(&db_err)?;
            if usize::try_from(now).unwrap_or(usize::MAX) > i {
                continue;
            }
            tx.execute_batch(sql).map_err(&db_err)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )
            .map_err(&db_err)?;
            tx.commit().map_err(&db_err)?;
        }
        Ok(())
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn head(&self) -> Result<Option<Head>, Error> {
        self.db
            .query_row("SELECT seq, mac, id FROM audit_head", [], |r| {
                Ok(Head {
                    seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    mac: r.get(1)?,
                    id: r.get(2)?,
                })
            })
            .optional()
            .map_err(self.db_err())
    }

    fn pending(&self) -> Result<Vec<(String, String, String)>, Error> {
        let mut stmt = self
            .db
            .prepare("SELECT id, time, event FROM audit_outbox ORDER BY rowid")
            .map_err(self.db_err())?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())
    }

    /// Appends what the outbox holds (committed changes whose events are not yet in the
    /// chain), under the chain's lock. First the chain's last record must be the one the
    /// store recorded, or the one right after it when that is the first pending event (a
    /// writer killed between the append and the bookkeeping): anything else means the
    /// chain was cut or edited, and nothing more is written to it.
    fn flush_outbox(&mut self, guard: &mut audit::Guard<'_>) -> Result<Option<Head>, Error> {
        let pending = self.pending()?;
        let mut head = guard.head(!pending.is_empty())?;
        let stored = self.head()?;
        let first_pending = pending.first().map(|p| p.0.as_str());
        let consistent = match (&stored, &head) {
            (None, None) => true,
            (Some(s), Some(f)) => {
                (f.seq == s.seq && f.mac == s.mac)
                    || (f.seq == s.seq + 1 && first_pending == Some(f.id.as_str()))
            }
            (None, Some(f)) => f.seq == 1 && first_pending == Some(f.id.as_str()),
            (Some(_), None) => false,
        };
        if !consistent {
            return Err(audit::Error::Damaged {
                path: self.chain.path(),
                why: format!(
                    "its last record ({}) is not the one the store recorded ({}); nothing more is written until `workbench audit verify` is clean",
                    head.as_ref().map_or_else(|| "none".to_owned(), |h| format!("#{}", h.seq)),
                    stored.as_ref().map_or_else(|| "none".to_owned(), |h| format!("#{}", h.seq)),
                ),
            }
            .into());
        }
        for (id, time, event) in pending {
            let written = head.as_ref().is_some_and(|h| h.id == id);
            if !written {
                let event: Value = serde_json::from_str(&event)
                    .map_err(|e| self.corrupt(format!("audit outbox event {id}: {e}")))?;
                head = Some(guard.append(head.as_ref(), &id, &time, &event)?);
            }
            crash_point("after-append");
            self.finish_append(&id, head.as_ref())?;
        }
        Ok(head)
    }

    fn finish_append(&mut self, id: &str, head: Option<&Head>) -> Result<(), Error> {
        let db_err = database_error(&self.dir.join(DATABASE));
        let tx = self.db.transaction().map_err(&db_err)?;
        tx.execute("DELETE FROM audit_outbox WHERE id = ?1", [id])
            .map_err(&db_err)?;
        if let Some(h) = head {
            tx.execute(
                "INSERT INTO audit_head (one, seq, mac, id) VALUES (1, ?1, ?2, ?3)
                 ON CONFLICT (one) DO UPDATE SET seq = ?1, mac = ?2, id = ?3",
                params![sql_int(h.seq), h.mac, h.id],
            )
            .map_err(&db_err)?;
        }
        tx.commit().map_err(&db_err)
    }

    /// Moves export request `id` from `from` to `to` (its column and its body); false
    /// when it is not in `from` (any more).
    fn move_request(
        tx: &rusqlite::Transaction<'_>,
        id: &str,
        from: State,
        to: State,
    ) -> rusqlite::Result<bool> {
        let body: Option<String> = tx
            .query_row(
                "SELECT body FROM export_requests WHERE id = ?1 AND state = ?2",
                params![id, from.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(body) = body else {
            return Ok(false);
        };
        let mut request: ExportRequest = serde_json::from_str(&body).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
        })?;
        request.state = to;
        let body = serde_json::to_string(&request)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        tx.execute(
            "UPDATE export_requests SET state = ?2, body = ?3 WHERE id = ?1",
            params![id, to.as_str(), body],
        )?;
        Ok(true)
    }

    /// Writes `change`; `Ok(Some(why))` when the facts changed under the caller since it
    /// decided (a TOTP step used meanwhile, a revocation already earlier), so nothing is
    /// written.
    fn write_change(
        tx: &rusqlite::Transaction<'_>,
        change: &Change,
    ) -> rusqlite::Result<Option<String>> {
        match change {
            Change::None => {}
            Change::AddUser {
                user,
                password,
                secret,
            } => {
                tx.execute(
                    "INSERT INTO users (name, role, institution, company, sex, password, totp_secret)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        user.name,
                        user.role.as_str(),
                        user.institution,
                        user.company,
                        user.sex.map(Sex::as_str),
                        password,
                        secret
                    ],
                )?;
            }
            Change::Login {
                name,
                effect,
                lockout_failures,
            } => match effect {
                Effect::None => {}
                Effect::Failure { locks } => {
                    // The count is the database's, not the caller's reading of it: parallel
                    // guesses lock the account at the same count as sequential ones.
                    tx.execute(
                        "UPDATE users SET failures = failures + 1,
                            locked = (locked OR ?2 OR failures + 1 >= ?3) WHERE name = ?1",
                        params![name, locks, lockout_failures],
                    )?;
                }
                Effect::Success { step } => {
                    // Only if no login took this step (or a later one) meanwhile, and the
                    // account is still open: a code is accepted once, even when two
                    // logins race.
                    let changed = tx.execute(
                        "UPDATE users SET failures = 0, last_totp_step = ?2
                         WHERE name = ?1 AND locked = 0 AND disabled = 0
                           AND (last_totp_step IS NULL OR last_totp_step < ?2)",
                        params![name, sql_int(*step)],
                    )?;
                    if changed != 1 {
                        return Ok(Some(
                            "R18-totp-replay: this code was used by another login at the same time, or the account was locked meanwhile".into(),
                        ));
                    }
                }
            },
            Change::Account {
                name,
                disabled,
                unlock,
            } => {
                if let Some(disabled) = disabled {
                    tx.execute(
                        "UPDATE users SET disabled = ?2 WHERE name = ?1",
                        params![name, disabled],
                    )?;
                }
                if *unlock {
                    tx.execute(
                        "UPDATE users SET locked = 0, failures = 0 WHERE name = ?1",
                        [name],
                    )?;
                }
            }
            Change::AddProject(p) => {
                tx.execute(
                    "INSERT INTO projects (id, title, forum, purpose, institution, country, cancer_types,
                        tables, tier, created_on, expires, paid_plan, revoked_on)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    params![
                        p.id,
                        p.title,
                        project::forum_name(p.forum),
                        p.purpose.as_str(),
                        p.institution,
                        p.country,
                        join(&p.cancer_types),
                        join(&p.tables),
                        p.tier.as_str(),
                        p.created_on.to_string(),
                        p.expires.to_string(),
                        p.paid_plan,
                        p.revoked_on.map(|d| d.to_string()),
                    ],
                )?;
                for member in &p.members {
                    tx.execute(
                        "INSERT INTO members (project, user) VALUES (?1, ?2)",
                        params![p.id, member],
                    )?;
                }
            }
            Change::AddMember { project, user } => {
                tx.execute(
                    "INSERT OR IGNORE INTO members (project, user) VALUES (?1, ?2)",
                    params![project, user],
                )?;
            }
            Change::Revoke { project, on } => {
                // The earliest revocation stands: a later decision can bring the date
                // forward, never push it back.
                tx.execute(
                    "UPDATE projects SET revoked_on = CASE
                        WHEN revoked_on IS NULL OR revoked_on > ?2 THEN ?2 ELSE revoked_on END
                     WHERE id = ?1",
                    params![project, on.to_string()],
                )?;
                tx.execute(
                    "UPDATE approvals SET revoked_on = CASE
                        WHEN revoked_on IS NULL OR revoked_on > ?2 THEN ?2 ELSE revoked_on END
                     WHERE project = ?1",
                    params![project, on.to_string()],
                )?;
            }
            Change::Approve(a) => {
                tx.execute(
                    "INSERT INTO approvals (project, kind, by_user, institution, on_date,
                        reported_to_committee, revoked_on)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        a.project,
                        a.grant.as_str(),
                        a.by,
                        a.institution,
                        a.on.to_string(),
                        a.reported_to_committee,
                        a.revoked_on.map(|d| d.to_string())
                    ],
                )?;
            }
            Change::AddConflict { user, conflict } => {
                let (kind, name) = match conflict {
                    Conflict::Institution(n) => ("institution", n),
                    Conflict::Company(n) => ("company", n),
                    Conflict::Project(n) => ("project", n),
                };
                tx.execute(
                    "INSERT OR IGNORE INTO conflicts (user, kind, name) VALUES (?1, ?2, ?3)",
                    params![user, kind, name],
                )?;
            }
            Change::EmbargoLength(l) => {
                tx.execute(
                    "INSERT INTO embargo_lengths (cancer_type, months, agreed_by, by_user, on_date)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        l.cancer_type,
                        l.months,
                        l.agreed_by.join(","),
                        l.by,
                        l.on.to_string()
                    ],
                )?;
            }
            Change::Policy { policy, by, reason } => {
                let params_json = serde_json::to_string(policy).expect("a policy serialises");
                tx.execute(
                    "INSERT INTO policy (version, params, decided_by, decided_at, reason)
                     VALUES ((SELECT COALESCE(MAX(version), 0) + 1 FROM policy), ?1, ?2, ?3, ?4)",
                    params![params_json, by, now(), reason],
                )?;
            }
            Change::Setting { key, value } => {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = ?2",
                    params![key, value],
                )?;
            }
            Change::StartSession(session) => {
                let basis = serde_json::to_string(&session.basis)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                tx.execute(
                    "INSERT INTO sessions (id, user, project, tier, view, started, ended, basis)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        session.id,
                        session.user,
                        session.project,
                        session.tier.as_str(),
                        session.view,
                        session.started,
                        session.ended,
                        basis
                    ],
                )?;
            }
            Change::ExportRequest(request) => {
                let body = serde_json::to_string(request)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                tx.execute(
                    "INSERT INTO export_requests (id, project, state, body) VALUES (?1, ?2, ?3, ?4)",
                    params![request.id, request.project, request.state.as_str(), body],
                )?;
                if let Some(old) = &request.replaces {
                    Self::move_request(tx, old, State::Submitted, State::Superseded)?;
                }
            }
            Change::ExportReview { review, from, .. } => {
                let body = serde_json::to_string(review)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                let inserted = tx.execute(
                    "INSERT INTO export_reviews (request, reviewer, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (request, reviewer) DO NOTHING",
                    params![review.request, review.reviewer, body],
                )?;
                if inserted == 0 {
                    return Ok(Some(format!(
                        "{} has already voted on request {}",
                        review.reviewer, review.request
                    )));
                }
                // The state follows from every vote stored, this one included, so two
                // reviewers voting at once cannot both decide from a stale count.
                let mut stmt = tx
                    .prepare("SELECT body FROM export_reviews WHERE request = ?1 ORDER BY rowid")?;
                let votes: Vec<crate::airlock::Vote> = stmt
                    .query_map([&review.request], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?
                    .iter()
                    .filter_map(|b| serde_json::from_str::<Review>(b).ok())
                    .map(|r| r.vote)
                    .collect();
                drop(stmt);
                let to = crate::airlock::state_after(&votes);
                if !Self::move_request(tx, &review.request, *from, to)? {
                    return Ok(Some(format!(
                        "request {} is no longer {}",
                        review.request,
                        from.as_str()
                    )));
                }
            }
            Change::ExportState { request, from, to } => {
                if !Self::move_request(tx, request, *from, *to)? {
                    return Ok(Some(format!(
                        "request {request} is no longer {}",
                        from.as_str()
                    )));
                }
            }
            Change::EndSession { id, at } => {
                // The first end stands.
                let ended = tx.execute(
                    "UPDATE sessions SET ended = ?2 WHERE id = ?1 AND ended IS NULL",
                    params![id, at],
                )?;
                if ended == 0 {
                    return Ok(Some(format!("session {id} is unknown or already ended")));
                }
            }
        }
        Ok(None)
    }

    fn read_user(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
        let role: String = r.get("role")?;
        let sex: Option<String> = r.get("sex")?;
        Ok(User {
            name: r.get("name")?,
            // An unreadable role is an error, never a default: the default would be a role.
            role: Role::parse(&role).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    format!("user role {role:?}").into(),
                )
            })?,
            institution: r.get("institution")?,
            company: r.get("company")?,
            sex: sex.as_deref().and_then(Sex::parse),
            disabled: r.get("disabled")?,
            failures: r.get("failures")?,
            locked: r.get("locked")?,
            last_totp_step: r
                .get::<_, Option<i64>>("last_totp_step")?
                .map(i64::unsigned_abs),
        })
    }

    fn read_project(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Project, String>> {
        let text = |name: &str| r.get::<_, String>(name);
        let date = |name: &str, value: String| {
            value.parse::<NaiveDate>().map_err(|e| {
                format!(
                    "project {}: {name} {value:?}: {e}",
                    text("id").unwrap_or_default()
                )
            })
        };
        let id = text("id")?;
        let forum = project::parse_forum(&text("forum")?);
        let purpose = Purpose::parse(&text("purpose")?);
        let tier = Tier::parse(&text("tier")?);
        let (Some(forum), Some(purpose), Some(tier)) = (forum, purpose, tier) else {
            return Ok(Err(format!(
                "project {id}: forum, purpose or tier unreadable"
            )));
        };
        let revoked: Option<String> = r.get("revoked_on")?;
        let built = (|| {
            Ok(Project {
                id: id.clone(),
                title: text("title").map_err(|e| e.to_string())?,
                forum,
                purpose,
                institution: text("institution").map_err(|e| e.to_string())?,
                country: text("country").map_err(|e| e.to_string())?,
                cancer_types: split(&text("cancer_types").map_err(|e| e.to_string())?),
                tables: split(&text("tables").map_err(|e| e.to_string())?),
                tier,
                created_on: date("created_on", text("created_on").map_err(|e| e.to_string())?)?,
                expires: date("expires", text("expires").map_err(|e| e.to_string())?)?,
                paid_plan: r.get("paid_plan").map_err(|e| e.to_string())?,
                revoked_on: revoked.map(|d| date("revoked_on", d)).transpose()?,
                members: BTreeSet::new(),
            })
        })();
        Ok(built)
    }

    fn members(&self, project: &str) -> Result<BTreeSet<String>, Error> {
        let mut stmt = self
            .db
            .prepare("SELECT user FROM members WHERE project = ?1 ORDER BY user")
            .map_err(self.db_err())?;
        stmt.query_map([project], |r| r.get(0))
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())
    }

    fn load_projects(&self, filter: Option<&str>) -> Result<Vec<Project>, Error> {
        let sql = if filter.is_some() {
            "SELECT * FROM projects WHERE id = ?1"
        } else {
            "SELECT * FROM projects WHERE ?1 IS NULL ORDER BY id"
        };
        let mut stmt = self.db.prepare(sql).map_err(self.db_err())?;
        let rows: Vec<Result<Project, String>> = stmt
            .query_map([filter], |r| self.read_project(r))
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())?;
        let mut projects = Vec::with_capacity(rows.len());
        for row in rows {
            let mut p = row.map_err(|what| self.corrupt(what))?;
            p.members = self.members(&p.id)?;
            projects.push(p);
        }
        Ok(projects)
    }
}

/// Maps a SQLite error to one naming the database file. It owns its path, so it can be
/// held across a mutable borrow of the store (a transaction).
fn database_error(path: &Path) -> impl Fn(rusqlite::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| Error::Database {
        path: path.clone(),
        source,
    }
}

/// SQLite integers are signed 64-bit; steps and sequence numbers stay far below.
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(",")
}

fn split(text: &str) -> BTreeSet<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store for Sqlite {
    fn policy(&self) -> Result<(u32, Policy), Error> {
        let (version, params): (u32, String) = self
            .db
            .query_row(
                "SELECT version, params FROM policy ORDER BY version DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.db_err())?;
        let policy = serde_json::from_str(&params)
            .map_err(|e| self.corrupt(format!("policy version {version}: {e}")))?;
        Ok((version, policy))
    }

    fn user(&self, name: &str) -> Result<Option<User>, Error> {
        self.db
            .query_row("SELECT * FROM users WHERE name = ?1", [name], |r| {
                self.read_user(r)
            })
            .optional()
            .map_err(self.db_err())
    }

    fn users(&self) -> Result<Vec<User>, Error> {
        let mut stmt = self
            .db
            .prepare("SELECT * FROM users ORDER BY name")
            .map_err(self.db_err())?;
        stmt.query_map([], |r| self.read_user(r))
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())
    }

    fn credentials(&self, name: &str) -> Result<Option<(String, Vec<u8>)>, Error> {
        self.db
            .query_row(
                "SELECT password, totp_secret FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.db_err())
    }

    fn project(&self, id: &str) -> Result<Option<Project>, Error> {
        Ok(self.load_projects(Some(id))?.pop())
    }

    fn projects(&self) -> Result<Vec<Project>, Error> {
        self.load_projects(None)
    }

    fn approvals(&self, project: &str) -> Result<Vec<Approval>, Error> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT project, kind, by_user, institution, on_date, reported_to_committee, revoked_on
                 FROM approvals WHERE project = ?1 ORDER BY id",
            )
            .map_err(self.db_err())?;
        type Row = (String, String, String, String, String, bool, Option<String>);
        let rows: Vec<Row> = stmt
            .query_map([project], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())?;
        rows.into_iter()
            .map(|(project, kind, by, institution, on, reported, revoked)| {
                let date = |s: &str| {
                    s.parse::<NaiveDate>()
                        .map_err(|e| self.corrupt(format!("approval of {project}: {s:?}: {e}")))
                };
                Ok(Approval {
                    grant: Grant::parse(&kind)
                        .ok_or_else(|| self.corrupt(format!("approval kind {kind:?}")))?,
                    on: date(&on)?,
                    revoked_on: revoked.as_deref().map(date).transpose()?,
                    project,
                    by,
                    institution,
                    reported_to_committee: reported,
                })
            })
            .collect()
    }

    fn conflicts(&self, user: &str) -> Result<Vec<Conflict>, Error> {
        let mut stmt = self
            .db
            .prepare("SELECT kind, name FROM conflicts WHERE user = ?1 ORDER BY kind, name")
            .map_err(self.db_err())?;
        let rows: Vec<(String, String)> = stmt
            .query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())?;
        rows.into_iter()
            .map(|(kind, name)| match kind.as_str() {
                "institution" => Ok(Conflict::Institution(name)),
                "company" => Ok(Conflict::Company(name)),
                "project" => Ok(Conflict::Project(name)),
                other => Err(self.corrupt(format!("conflict kind {other:?} of {user}"))),
            })
            .collect()
    }

    fn embargo_lengths(&self) -> Result<Vec<Length>, Error> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT cancer_type, months, agreed_by, by_user, on_date FROM embargo_lengths ORDER BY id",
            )
            .map_err(self.db_err())?;
        let rows: Vec<(String, u32, String, String, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(self.db_err())?
            .collect::<Result<_, _>>()
            .map_err(self.db_err())?;
        rows.into_iter()
            .map(|(cancer_type, months, agreed, by, on)| {
                Ok(Length {
                    on: on.parse().map_err(|e| {
                        self.corrupt(format!("embargo length of {cancer_type}: {e}"))
                    })?,
                    cancer_type,
                    months,
                    agreed_by: split(&agreed).into_iter().collect(),
                    by,
                })
            })
            .collect()
    }

    fn export_request(&self, id: &str) -> Result<Option<ExportRequest>, Error> {
        let body: Option<String> = self
            .db
            .query_row(
                "SELECT body FROM export_requests WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err())?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|e| self.corrupt(format!("export request {id}: {e}")))
        })
        .transpose()
    }

    fn export_requests(&self, project: &str) -> Result<Vec<ExportRequest>, Error> {
        let mut stmt = self
            .db
            .prepare("SELECT body FROM export_requests WHERE project = ?1 ORDER BY rowid")
            .map_err(self.db_err())?;
        let bodies: Vec<String> = stmt
            .query_map([project], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(self.db_err())?;
        bodies
            .iter()
            .map(|b| {
                serde_json::from_str(b)
                    .map_err(|e| self.corrupt(format!("an export request of {project}: {e}")))
            })
            .collect()
    }

    fn export_reviews(&self, request: &str) -> Result<Vec<Review>, Error> {
        let mut stmt = self
            .db
            .prepare("SELECT body FROM export_reviews WHERE request = ?1 ORDER BY rowid")
            .map_err(self.db_err())?;
        let bodies: Vec<String> = stmt
            .query_map([request], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(self.db_err())?;
        bodies
            .iter()
            .map(|b| {
                serde_json::from_str(b)
                    .map_err(|e| self.corrupt(format!("a review of {request}: {e}")))
            })
            .collect()
    }

    fn session(&self, id: &str) -> Result<Option<Session>, Error> {
        let row = self
            .db
            .query_row(
                "SELECT id, user, project, tier, view, started, ended, basis
                 FROM sessions WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ),
                        (
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, String>(7)?,
                        ),
                    ))
                },
            )
            .optional()
            .map_err(self.db_err())?;
        let Some(((id, user, project, tier), (view, started, ended, basis))) = row else {
            return Ok(None);
        };
        let tier = Tier::parse(&tier)
            .ok_or_else(|| self.corrupt(format!("session {id} has the unknown tier {tier:?}")))?;
        let basis = serde_json::from_str(&basis)
            .map_err(|e| self.corrupt(format!("session {id}'s basis: {e}")))?;
        Ok(Some(Session {
            id,
            user,
            project,
            tier,
            view,
            started,
            ended,
            basis,
        }))
    }

    fn setting(&self, key: &str) -> Result<Option<String>, Error> {
        self.db
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.db_err())
    }

    fn apply(&mut self, change: &Change, event: Value) -> Result<(), Error> {
        let chain = self.chain.clone();
        let mut guard = chain.lock()?;
        // Whatever a crashed writer left goes first, so the chain keeps commit order.
        self.flush_outbox(&mut guard)?;
        let id = new_id()?;
        let time = now();
        let db_err = database_error(&self.dir.join(DATABASE));
        // IMMEDIATE: the write lock is taken before anything is read, so the conditional
        // updates below see the facts as they are when the change commits.
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&db_err)?;
        let stale = Self::write_change(&tx, change).map_err(|source| match source {
            rusqlite::Error::SqliteFailure(e, ref message)
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Error::Refused(format!(
                    "the store refused the change: {}",
                    message.as_deref().unwrap_or("a constraint failed")
                ))
            }
            source => db_err(source),
        })?;
        if let Some(why) = stale {
            // Rolled back with the transaction; the caller records the refusal.
            return Err(Error::Stale(why));
        }
        tx.execute(
            "INSERT INTO audit_outbox (id, time, event) VALUES (?1, ?2, ?3)",
            params![id, time, event.to_string()],
        )
        .map_err(&db_err)?;
        crash_point("before-commit");
        tx.commit().map_err(&db_err)?;
        crash_point("after-commit");
        self.flush_outbox(&mut guard)?;
        Ok(())
    }

    fn verify_audit(&mut self) -> Result<audit::Report, Error> {
        let chain = self.chain.clone();
        // Under the lock, so that no append is read half-written; nothing is changed.
        let _guard = chain.lock()?;
        let head = self.head()?;
        let pending = !self.pending()?.is_empty();
        Ok(audit::verify(&chain, head.as_ref(), pending)?)
    }
}

impl Sqlite {
    /// Records an event that changes no fact (a check, a cell run, a data view).
    pub fn record(&mut self, event: Value) -> Result<(), Error> {
        self.apply(&Change::None, event)
    }
}
