//! `workbench governance` and `workbench audit`: the policy's store and decisions.
//!
//! Run by the governance service and the enclave's administrators on the host, never from
//! a session: the store directory (its database, its audit key) is readable only by the
//! account that runs these commands. Every decision printed names its rule; every change
//! and every decision lands in the audit chain.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use workbench::Lake;
use workbench_governance::access;
use workbench_governance::committee::{self, Conflict, Member};
use workbench_governance::embargo::{self, Length, Release};
use workbench_governance::people::{self, Role, Sex, User};
use workbench_governance::project::{self, Approval, Grant, Project, Purpose, Tier};
use workbench_governance::store::{Change, Sqlite, Store};
use workbench_governance::{Decision, Rule, register, totp};

/// The TOTP issuer shown in authenticator apps.
const ISSUER: &str = "Cancer Genome Workbench";

#[derive(Subcommand)]
pub(crate) enum Action {
    /// Create a governance store (SQLite database, audit chain and its key) in DIR.
    Init {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The lake whose registrations decisions use (embargo, public release) when a
        /// command names none.
        #[arg(long)]
        lake: Option<PathBuf>,
    },
    /// Users: add (password on stdin; prints the TOTP URI once), disable, enable, unlock, list.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Log in: password on stdin, the authenticator's code as --totp. Exit 0 on success.
    Login {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The user.
        #[arg(long)]
        user: String,
        /// The 6-digit code of the user's authenticator.
        #[arg(long)]
        totp: Option<String>,
    },
    /// Projects: add, add a member, revoke, list.
    Project {
        #[command(subcommand)]
        action: ProjectAction,
    },
    /// Record a committee approval (or a data acquirer's agreement) for a project.
    Approve {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// Who decides: a committee member (or, for an agreement, the data acquirer).
        #[arg(long)]
        by: String,
        /// What is approved.
        #[arg(long, default_value = "detailed", value_parser = ["detailed", "clinical-detail", "acquirer-agreement"])]
        what: String,
        /// Date of the decision (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Decide whether a user may read, aggregate or export a table in a project.
    Check(CheckArgs),
    /// The industry forum's embargo clock per cancer type (R34).
    Embargo {
        /// The directory holding `lake/` (or the lake itself).
        #[arg(long)]
        lake: PathBuf,
        /// The date (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
        /// A store whose recorded lengths and policy apply (default: the default policy).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record a cancer type's embargo length (24–36 months; shorter with agreement), by a
    /// committee member.
    EmbargoLength {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// OncoTree code.
        #[arg(long)]
        cancer_type: String,
        /// Months.
        #[arg(long)]
        months: u32,
        /// Who records it (a committee member).
        #[arg(long)]
        by: String,
        /// Data acquirers and analysts who agreed to a length below the minimum.
        #[arg(long, value_delimiter = ',')]
        agreed_by: Vec<String>,
        /// Date of the decision (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Declare a committee member's conflict of interest.
    Conflict {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The committee member.
        #[arg(long)]
        user: String,
        /// Conflict with an institution.
        #[arg(long, group = "with")]
        institution: Option<String>,
        /// Conflict with a company.
        #[arg(long, group = "with")]
        company: Option<String>,
        /// Conflict with a project.
        #[arg(long, group = "with")]
        project: Option<String>,
    },
    /// The committee's composition (R37: both sexes).
    Committee {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Committee members eligible to review a request of a project, and why others are not.
    Reviewers {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// The request's author.
        #[arg(long)]
        author: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The policy's parameters: show them, or set some by a recorded decision.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// The governance service: answers kernels that run as session accounts (which may
    /// not read the store) on a Unix socket, until stopped.
    Serve {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The socket to listen on (a stale one is replaced).
        #[arg(long)]
        socket: PathBuf,
    },
    /// The public register of licensees (R39), as JSON or a static HTML page.
    Register {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// Write the HTML page here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum UserAction {
    /// Add a user; the password is read from standard input, the TOTP URI printed once.
    Add {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// Login name.
        #[arg(long)]
        user: String,
        /// Role.
        #[arg(long, value_parser = ["acquirer", "analyst", "industry", "trainer", "pipeline", "committee", "admin"])]
        role: String,
        /// Institution.
        #[arg(long)]
        institution: String,
        /// Company (industry users).
        #[arg(long)]
        company: Option<String>,
        /// Sex (required for committee members, R37).
        #[arg(long, value_parser = ["female", "male"])]
        sex: Option<String>,
    },
    /// Disable an account.
    Disable(AccountArgs),
    /// Enable a disabled account.
    Enable(AccountArgs),
    /// Unlock an account locked after failed logins.
    Unlock(AccountArgs),
    /// List users.
    List {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
    },
}

#[derive(Args)]
pub(crate) struct AccountArgs {
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
    /// The user.
    #[arg(long)]
    user: String,
    /// The admin making the change.
    #[arg(long)]
    by: String,
}

#[derive(Subcommand)]
pub(crate) enum ProjectAction {
    /// Register a project and its licence.
    Add {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// Project id.
        #[arg(long)]
        project: String,
        /// Title for the public register (default: the id).
        #[arg(long)]
        title: Option<String>,
        /// Forum.
        #[arg(long, value_parser = ["academic", "industry"])]
        forum: String,
        /// Licensed purpose.
        #[arg(long, value_parser = ["academic-research", "drug-development", "prevention"])]
        purpose: String,
        /// Licensee institution.
        #[arg(long)]
        institution: String,
        /// The institution's country (ISO 3166 alpha-2).
        #[arg(long, default_value = "JP")]
        country: String,
        /// Cancer types in scope (OncoTree codes, comma-separated; `all` for every type).
        #[arg(long, value_delimiter = ',', required = true)]
        cancer_types: Vec<String>,
        /// Tables in scope (default: every table).
        #[arg(long, value_delimiter = ',')]
        tables: Vec<String>,
        /// Tier.
        #[arg(long, value_parser = ["overview", "detailed", "public"])]
        tier: String,
        /// Last day of the licence.
        #[arg(long)]
        expires: NaiveDate,
        /// The industry forum's fee is paid.
        #[arg(long)]
        paid_plan: bool,
        /// Registration date (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Add a member to a project.
    Member {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// The user.
        #[arg(long)]
        user: String,
    },
    /// Revoke a project's licence and approvals from a date.
    Revoke {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// The project.
        #[arg(long)]
        project: String,
        /// Who decides (committee member or admin).
        #[arg(long)]
        by: String,
        /// From this date (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// List projects as JSON.
    List {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum PolicyAction {
    /// Print the policy in force and its version.
    Show {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
    },
    /// Make a new policy version: NAME=VALUE pairs, by a committee member.
    Set {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// Who decides.
        #[arg(long)]
        by: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
        /// Parameters, `NAME=VALUE`.
        #[arg(required = true)]
        set: Vec<String>,
    },
}

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The store directory.
    #[arg(long)]
    store: PathBuf,
    /// The user.
    #[arg(long)]
    user: String,
    /// The project.
    #[arg(long)]
    project: String,
    /// What the user wants to do.
    #[arg(long, value_parser = ["read", "aggregate", "export"])]
    action: String,
    /// The lake table.
    #[arg(long)]
    table: String,
    /// Limit to one cancer type.
    #[arg(long)]
    cancer_type: Option<String>,
    /// Whose cases: the data-acquiring institution.
    #[arg(long)]
    acquirer: Option<String>,
    /// The purpose the use is for (must be the licensed one).
    #[arg(long, value_parser = ["academic-research", "drug-development", "prevention"])]
    purpose: Option<String>,
    /// For exports: a publication or a patent filing.
    #[arg(long, default_value = "publication", value_parser = ["publication", "patent"])]
    release: String,
    /// The lake, for the embargo clock and public release dates (default: the store's,
    /// from `init --lake`).
    #[arg(long)]
    lake: Option<PathBuf>,
    /// The date (default: today).
    #[arg(long)]
    on: Option<NaiveDate>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(action: Action) -> Result<()> {
    match action {
        Action::Init { store, lake } => {
            let mut store = Sqlite::init(&store)?;
            if let Some(lake) = lake {
                let lake = Lake::open(&lake)?.root().to_owned();
                let lake = lake.canonicalize().unwrap_or(lake);
                let value = lake.to_string_lossy().into_owned();
                store.apply(
                    &Change::Setting {
                        key: "lake".into(),
                        value: value.clone(),
                    },
                    json!({"kind": "setting", "key": "lake", "value": value}),
                )?;
            }
            eprintln!(
                "created a governance store in {} (policy version 1)",
                store.dir().display()
            );
            Ok(())
        }
        Action::User { action } => user(action),
        Action::Login { store, user, totp } => login(&store, &user, totp.as_deref()),
        Action::Project { action } => project_action(action),
        Action::Approve {
            store,
            project,
            by,
            what,
            on,
        } => approve(&store, &project, &by, &what, day(on)),
        Action::Check(args) => check(args),
        Action::Embargo {
            lake,
            on,
            store,
            json,
        } => embargo_report(&lake, day(on), store.as_deref(), json),
        Action::EmbargoLength {
            store,
            cancer_type,
            months,
            by,
            agreed_by,
            on,
        } => embargo_length(&store, cancer_type, months, &by, agreed_by, day(on)),
        Action::Conflict {
            store,
            user,
            institution,
            company,
            project,
        } => {
            let conflict = match (institution, company, project) {
                (Some(i), _, _) => Conflict::Institution(i),
                (_, Some(c), _) => Conflict::Company(c),
                (_, _, Some(p)) => Conflict::Project(p),
                _ => bail!("name the conflict: --institution, --company or --project"),
            };
            let mut store = Sqlite::open(&store)?;
            let member = known_user(&store, &user)?;
            if member.role != Role::Committee {
                bail!("{user} is not a committee member (R37): conflicts are declared by members");
            }
            store.apply(
                &Change::AddConflict {
                    user: user.clone(),
                    conflict: conflict.clone(),
                },
                json!({"kind": "conflict-declared", "user": user, "conflict": conflict}),
            )?;
            eprintln!("recorded {user}'s conflict");
            Ok(())
        }
        Action::Committee { store, json } => {
            let store = Sqlite::open(&store)?;
            let members = committee_members(&store)?;
            let decision = committee::composition(&members);
            if json {
                let list: Vec<Value> = members
                    .iter()
                    .map(|m| {
                        json!({"user": m.user.name, "sex": m.user.sex, "institution": m.user.institution,
                               "disabled": m.user.disabled, "conflicts": m.conflicts})
                    })
                    .collect();
                print_json(&json!({"composition": decision, "members": list}))?;
            } else {
                println!("{decision}");
            }
            Ok(())
        }
        Action::Reviewers {
            store,
            project,
            author,
            json,
        } => reviewers(&store, &project, author.as_deref(), json),
        Action::Policy { action } => policy(action),
        Action::Serve { store, socket } => {
            // Fail at start, not at the first kernel: the store must open.
            drop(Sqlite::open(&store)?);
            let listener = workbench_governance::service::bind(&socket)
                .with_context(|| format!("listening on {}", socket.display()))?;
            eprintln!(
                "governance service for {} listening on {}",
                store.display(),
                socket.display()
            );
            let aggregate: std::sync::Arc<workbench_governance::service::Aggregator> =
                std::sync::Arc::new(
                    |store: &std::path::Path,
                     session: &workbench_governance::session::Session,
                     threshold: u32,
                     query: &serde_json::Value| {
                        let query: workbench::overview::Query =
                            serde_json::from_value(query.clone())
                                .map_err(|e| format!("{}: {e}", workbench::overview::RULE))?;
                        let basis = workbench::overview::basis_dir(store, &session.id);
                        workbench::overview::answer(&basis, &query, threshold)
                            .map_err(|e| e.to_string())
                            .and_then(|a| serde_json::to_value(a).map_err(|e| e.to_string()))
                    },
                );
            let export: std::sync::Arc<workbench_governance::service::Exporter> =
                std::sync::Arc::new(super::airlock::export_for_session);
            workbench_governance::service::serve(&listener, &store, &aggregate, &export);
            Ok(())
        }
        Action::Register { store, html, json } => {
            let store = Sqlite::open(&store)?;
            let mut projects = Vec::new();
            for p in store.projects()? {
                let approvals = store.approvals(&p.id)?;
                projects.push((p, approvals));
            }
            let entries = register::entries(&projects);
            if let Some(path) = html {
                super::write_file(&path, register::html(&entries, day(None)).as_bytes())?;
            }
            if json {
                print_json(&serde_json::to_value(&entries)?)?;
            }
            Ok(())
        }
    }
}

/// Audit verification: `workbench audit verify`.
#[derive(Subcommand)]
pub(crate) enum AuditAction {
    /// Verify the audit chain: every record's keyed hash, order and the store's head.
    Verify {
        /// The store directory.
        #[arg(long)]
        store: PathBuf,
        /// Print JSON (`ok`, `first_bad_line`, `records`, `reason`).
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run_audit(action: AuditAction) -> Result<()> {
    let AuditAction::Verify { store, json } = action;
    // As the chain is: verification changes nothing, not even a crashed writer's traces.
    let mut store = Sqlite::open_for_audit(&store)?;
    let report = store.verify_audit()?;
    if json {
        print_json(&serde_json::to_value(&report)?)?;
    } else if report.ok {
        println!("audit chain intact: {} records", report.records);
    }
    if !report.ok {
        bail!(
            "the audit chain is broken at line {} (R18-audit): {}",
            report.first_bad_line.unwrap_or(0),
            report.reason.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

fn day(on: Option<NaiveDate>) -> NaiveDate {
    on.unwrap_or_else(workbench::lake::today)
}

fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub(crate) fn known_user(store: &Sqlite, name: &str) -> Result<User> {
    store
        .user(name)?
        .with_context(|| format!("no user {name:?} in the store"))
}

pub(crate) fn known_project(store: &Sqlite, id: &str) -> Result<Project> {
    store
        .project(id)?
        .with_context(|| format!("no project {id:?} in the store"))
}

/// Reads a password: typed at the terminal without echo, or the first line of standard
/// input when that is a pipe (scripts, the hub's authenticator).
fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let password = rpassword::prompt_password("password: ").context("reading the password")?;
        anyhow::ensure!(!password.is_empty(), "no password given");
        return Ok(password);
    }
    let mut line = String::new();
    // A password is a line, not a file: at most 4 KiB are read.
    std::io::Read::take(stdin.lock(), 4096)
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

fn user(action: UserAction) -> Result<()> {
    match action {
        UserAction::Add {
            store,
            user,
            role,
            institution,
            company,
            sex,
        } => {
            anyhow::ensure!(
                workbench::durable::is_plain_name(&user, 64),
                "--user {user:?}: use letters, digits, '.', '_' and '-'"
            );
            let role = Role::parse(&role).context("unknown role")?;
            let sex = sex.as_deref().and_then(Sex::parse);
            if role == Role::Committee && sex.is_none() {
                bail!("committee members need --sex (R37: the committee must have both sexes)");
            }
            if role == Role::Industry && company.is_none() {
                bail!("industry users need --company (R34, R37 conflicts)");
            }
            let password = read_password()?;
            anyhow::ensure!(
                password.chars().count() >= 12,
                "the password must have at least 12 characters"
            );
            let mut store = Sqlite::open(&store)?;
            if store.user(&user)?.is_some() {
                bail!("user {user} exists already");
            }
            let secret = totp::new_secret().context("making the TOTP secret")?;
            let phc = people::hash_password(&password).map_err(anyhow::Error::msg)?;
            let record = User {
                name: user.clone(),
                role,
                institution,
                company,
                sex,
                disabled: false,
                failures: 0,
                locked: false,
                last_totp_step: None,
            };
            store
                .apply(
                    &Change::AddUser {
                        user: record.clone(),
                        password: phc,
                        secret: secret.to_vec(),
                    },
                    json!({"kind": "user-added", "user": record}),
                )
                .with_context(|| format!("adding user {user}"))?;
            eprintln!("added {user}; the TOTP secret below is shown once: enrol it now");
            println!("{}", totp::uri(&secret, ISSUER, &user));
            Ok(())
        }
        UserAction::Disable(a) => account(a, Some(true), false, "user-disabled"),
        UserAction::Enable(a) => account(a, Some(false), false, "user-enabled"),
        UserAction::Unlock(a) => account(a, None, true, "user-unlocked"),
        UserAction::List { store } => {
            let store = Sqlite::open(&store)?;
            print_json(&serde_json::to_value(store.users()?)?)
        }
    }
}

fn account(args: AccountArgs, disabled: Option<bool>, unlock: bool, kind: &str) -> Result<()> {
    let mut store = Sqlite::open(&args.store)?;
    let admin = known_user(&store, &args.by)?;
    known_user(&store, &args.user)?;
    if admin.role != Role::Admin {
        let decision = Decision::deny(Rule::Role, format!("{} is not an admin", admin.name));
        store.record(json!({"kind": format!("{kind}-refused"), "by": args.by, "user": args.user, "decision": decision}))?;
        bail!("{decision}");
    }
    store.apply(
        &Change::Account {
            name: args.user.clone(),
            disabled,
            unlock,
        },
        json!({"kind": kind, "by": args.by, "user": args.user}),
    )?;
    eprintln!("{kind}: {}", args.user);
    Ok(())
}

fn login(dir: &Path, name: &str, code: Option<&str>) -> Result<()> {
    let password = read_password()?;
    let decision = authenticate(dir, name, &password, code)?;
    println!("{decision}");
    Ok(())
}

/// Decides and records a login with `password` and the TOTP `code` (R18): the same
/// decision, lock-out and replay protection for the command line and the review page.
///
/// # Errors
///
/// The login is refused (the error is the decision, naming its rule), or the store fails.
pub(crate) fn authenticate(
    dir: &Path,
    name: &str,
    password: &str,
    code: Option<&str>,
) -> Result<Decision> {
    let mut store = Sqlite::open(dir)?;
    let (_, policy) = store.policy()?;
    let user = store.user(name)?;
    let credentials = store.credentials(name)?;
    let password_ok = match &credentials {
        Some((phc, _)) => people::password_matches(password, phc),
        None => {
            // An unknown user costs the same argon2 work as a known one: the time taken
            // does not tell which names exist.
            let _ = people::hash_password(password);
            false
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    let verified = match (code, &credentials, &user) {
        (Some(code), Some((_, secret)), Some(user)) => Some(totp::verify(
            secret,
            code,
            totp::step_of(now),
            policy.totp_window_steps,
            user.last_totp_step,
        )),
        (Some(_), _, _) => Some(totp::Verified::Wrong),
        (None, _, _) => None,
    };
    let (decision, effect) = people::login(user.as_ref(), password_ok, verified, &policy);
    let kind = match effect {
        people::Effect::Success { .. } => "login",
        people::Effect::Failure { locks: true } => "lock-out",
        _ => "login-failure",
    };
    let change = |effect| Change::Login {
        name: name.to_owned(),
        effect,
        lockout_failures: policy.lockout_failures,
    };
    match store.apply(
        &change(effect),
        json!({"kind": kind, "user": name, "decision": decision}),
    ) {
        Ok(()) => {}
        // Another login took this code (or locked the account) between our reading and
        // our write: refused, and counted as a failure.
        Err(workbench_governance::store::Error::Stale(why)) => {
            let refused = Decision::deny(Rule::TotpReplay, why);
            store.apply(
                &change(people::Effect::Failure { locks: false }),
                json!({"kind": "login-failure", "user": name, "decision": refused}),
            )?;
            bail!("{refused}");
        }
        Err(e) => return Err(e.into()),
    }
    if !decision.allowed {
        bail!("{decision}");
    }
    Ok(decision)
}

fn project_action(action: ProjectAction) -> Result<()> {
    match action {
        ProjectAction::Add {
            store,
            project,
            title,
            forum,
            purpose,
            institution,
            country,
            cancer_types,
            tables,
            tier,
            expires,
            paid_plan,
            on,
        } => {
            anyhow::ensure!(
                workbench::durable::is_plain_name(&project, 64),
                "--project {project:?}: use letters, digits, '.', '_' and '-'"
            );
            let mut store = Sqlite::open(&store)?;
            let (_, policy) = store.policy()?;
            let country = country.to_uppercase();
            anyhow::ensure!(
                country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()),
                "--country {country:?}: an ISO 3166 alpha-2 code such as JP"
            );
            for table in &tables {
                anyhow::ensure!(
                    workbench::lake::Table::from_name(table).is_some(),
                    "--tables: no lake table {table:?}"
                );
            }
            let cancer_types: BTreeSet<String> = if cancer_types.iter().any(|c| c == "all") {
                BTreeSet::new()
            } else {
                cancer_types.into_iter().collect()
            };
            let on = day(on);
            let record = Project {
                title: title.unwrap_or_else(|| project.clone()),
                id: project.clone(),
                forum: project::parse_forum(&forum).context("forum")?,
                purpose: Purpose::parse(&purpose).context("purpose")?,
                institution,
                country,
                cancer_types,
                tables: tables.into_iter().collect(),
                tier: Tier::parse(&tier).context("tier")?,
                created_on: on,
                expires,
                paid_plan,
                revoked_on: None,
                members: BTreeSet::new(),
            };
            if record.forum == workbench_governance::consent::Forum::Industry
                && record.purpose == Purpose::AcademicResearch
            {
                let decision = Decision::deny(
                    Rule::Purpose,
                    "academic research is licensed non-commercial (DUO NCU): an industry project is for drug development or prevention",
                );
                store.record(
                    json!({"kind": "project-refused", "project": project, "decision": decision}),
                )?;
                bail!("{decision}");
            }
            if !policy.equivalent_countries.contains(&record.country) {
                let decision = Decision::deny(
                    Rule::Country,
                    format!(
                        "{} is in {}: licences go to institutions in Japan or countries with equivalent personal-data protection",
                        record.institution, record.country
                    ),
                );
                store.record(
                    json!({"kind": "project-refused", "project": project, "decision": decision}),
                )?;
                bail!("{decision}");
            }
            anyhow::ensure!(expires >= on, "--expires {expires} is before {on}");
            store.apply(
                &Change::AddProject(record.clone()),
                json!({"kind": "project-added", "project": project_json(&record)}),
            )?;
            eprintln!("added project {project}");
            Ok(())
        }
        ProjectAction::Member {
            store,
            project,
            user,
        } => {
            let mut store = Sqlite::open(&store)?;
            let p = known_project(&store, &project)?;
            let u = known_user(&store, &user)?;
            // A committee member may belong to a project (a researcher who also sits on
            // the committee): the role still sees no data, and the membership bars them
            // from reviewing it (R37). Admins run the enclave and join none.
            let refused = match u.role.forum() {
                None if u.role == Role::Committee => None,
                None => Some(Decision::deny(
                    Rule::Role,
                    format!(
                        "{user} is a {}: that role joins no project",
                        u.role.as_str()
                    ),
                )),
                Some(forum) if forum != p.forum => Some(Decision::deny(
                    Rule::Forum,
                    format!(
                        "{user} belongs to the {} forum, project {project} to the {}",
                        project::forum_name(forum),
                        project::forum_name(p.forum)
                    ),
                )),
                Some(_) => None,
            };
            if let Some(decision) = refused {
                store.record(json!({"kind": "member-refused", "project": project, "user": user, "decision": decision}))?;
                bail!("{decision}");
            }
            if p.members.contains(&user) {
                eprintln!("{user} is a member of {project} already");
                return Ok(());
            }
            store.apply(
                &Change::AddMember {
                    project: project.clone(),
                    user: user.clone(),
                },
                json!({"kind": "member-added", "project": project, "user": user}),
            )?;
            eprintln!("{user} is a member of {project}");
            Ok(())
        }
        ProjectAction::Revoke {
            store,
            project,
            by,
            on,
        } => {
            let mut store = Sqlite::open(&store)?;
            known_project(&store, &project)?;
            let decider = known_user(&store, &by)?;
            if !matches!(decider.role, Role::Committee | Role::Admin) {
                let decision = Decision::deny(
                    Rule::Role,
                    format!("{by} is neither a committee member nor an admin"),
                );
                store.record(json!({"kind": "revoke-refused", "project": project, "by": by, "decision": decision}))?;
                bail!("{decision}");
            }
            let on = day(on);
            store.apply(
                &Change::Revoke {
                    project: project.clone(),
                    on,
                },
                json!({"kind": "project-revoked", "project": project, "by": by, "on": on.to_string(), "rule": Rule::Revoked}),
            )?;
            eprintln!("revoked {project} from {on}");
            Ok(())
        }
        ProjectAction::List { store } => {
            let store = Sqlite::open(&store)?;
            let list: Vec<Value> = store.projects()?.iter().map(project_json).collect();
            print_json(&Value::Array(list))
        }
    }
}

fn project_json(p: &Project) -> Value {
    json!({
        "project": p.id, "title": p.title, "forum": project::forum_name(p.forum),
        "purpose": p.purpose, "duo": p.purpose.duo(), "institution": p.institution,
        "country": p.country, "cancer_types": p.cancer_types, "tables": p.tables,
        "tier": p.tier, "created_on": p.created_on.to_string(), "expires": p.expires.to_string(),
        "paid_plan": p.paid_plan, "revoked_on": p.revoked_on.map(|d| d.to_string()),
        "members": p.members,
    })
}

pub(crate) fn committee_members(store: &Sqlite) -> Result<Vec<Member>> {
    let mut members = Vec::new();
    for user in store.users()? {
        if user.role == Role::Committee {
            let conflicts = store.conflicts(&user.name)?;
            members.push(Member { user, conflicts });
        }
    }
    Ok(members)
}

pub(crate) fn member_users(store: &Sqlite, project: &Project) -> Result<Vec<User>> {
    project
        .members
        .iter()
        .map(|name| known_user(store, name))
        .collect()
}

fn approve(dir: &Path, project_id: &str, by: &str, what: &str, on: NaiveDate) -> Result<()> {
    let mut store = Sqlite::open(dir)?;
    let project = known_project(&store, project_id)?;
    let approver = known_user(&store, by)?;
    let grant = Grant::parse(what).context("--what")?;
    let members = member_users(&store, &project)?;
    let decision = approval_decision(&store, &project, &approver, &members, grant, on)?;
    let event = json!({"kind": if decision.allowed { "approval" } else { "approval-refused" },
        "project": project_id, "by": by, "what": grant, "on": on.to_string(), "decision": decision});
    if !decision.allowed {
        store.record(event)?;
        bail!("{decision}");
    }
    let approval = Approval {
        project: project_id.to_owned(),
        grant,
        by: by.to_owned(),
        institution: approver.institution.clone(),
        on,
        // R33: an acquirer's agreement goes to the committee as a report; recording it
        // here, in the same transaction, is the report (the committee reads the register
        // of approvals and the audit chain).
        reported_to_committee: grant == Grant::AcquirerAgreement,
        revoked_on: None,
    };
    store.apply(&Change::Approve(approval), event)?;
    println!("{decision}");
    Ok(())
}

fn approval_decision(
    store: &Sqlite,
    project: &Project,
    approver: &User,
    members: &[User],
    grant: Grant,
    on: NaiveDate,
) -> Result<Decision> {
    if let Some(revoked) = project.revoked_on
        && revoked <= on
    {
        return Ok(Decision::deny(
            Rule::Revoked,
            format!("project {} was revoked on {revoked}", project.id),
        ));
    }
    if on > project.expires {
        return Ok(Decision::deny(
            Rule::Expired,
            format!(
                "project {}'s licence expired on {}",
                project.id, project.expires
            ),
        ));
    }
    if approver.disabled || approver.locked {
        return Ok(Decision::deny(
            Rule::Disabled,
            format!("{} is disabled or locked", approver.name),
        ));
    }
    if grant == Grant::AcquirerAgreement {
        if approver.role != Role::Acquirer {
            return Ok(Decision::deny(
                Rule::Role,
                format!(
                    "{} is not a data acquirer: only acquirers agree to the use of their cases",
                    approver.name
                ),
            ));
        }
        if project.forum != workbench_governance::consent::Forum::Academic {
            return Ok(Decision::deny(
                Rule::CommitteeApproval,
                "industry projects need the committee's approval, not an acquirer's agreement (R34)",
            ));
        }
        // Members read their own institution's cases without agreement; an agreement
        // helps only when some member is from elsewhere. Refused when it can open
        // nothing: the project's institution and every member are the acquirer's own.
        if approver.institution == project.institution
            && members
                .iter()
                .all(|m| m.institution == approver.institution)
        {
            return Ok(Decision::deny(
                Rule::OwnData,
                format!(
                    "{} is the institution of the project and of all its members: its cases need no agreement",
                    approver.institution
                ),
            ));
        }
        return Ok(Decision::allow(
            Rule::AcquirerAgreement,
            format!(
                "{} agrees, for {}, to detailed analysis of its cases; the committee is sent the report",
                approver.institution, project.id
            ),
        ));
    }
    if approver.role != Role::Committee {
        return Ok(Decision::deny(
            Rule::Role,
            format!("{} is not a committee member", approver.name),
        ));
    }
    let committee = committee_members(store)?;
    let composition = committee::composition(&committee);
    if !composition.allowed {
        return Ok(composition);
    }
    let member = committee
        .iter()
        .find(|m| m.user.name == approver.name)
        .cloned()
        .context("the approver is a committee member")?;
    let eligible = committee::eligibility(
        &member,
        committee::Request {
            author: None,
            project,
            members,
        },
    );
    if !eligible.allowed {
        return Ok(eligible);
    }
    let rule = match grant {
        Grant::ClinicalDetail => Rule::ClinicalDetail,
        _ => Rule::CommitteeApproval,
    };
    Ok(Decision::allow(
        rule,
        format!(
            "the committee ({}) approves {} for project {}",
            approver.name,
            grant.as_str(),
            project.id
        ),
    ))
}

fn check(args: CheckArgs) -> Result<()> {
    let mut store = Sqlite::open(&args.store)?;
    let (version, policy) = store.policy()?;
    let on = day(args.on);
    anyhow::ensure!(
        workbench::lake::Table::from_name(&args.table).is_some(),
        "--table: no lake table {:?}",
        args.table
    );
    let lake = match args.lake.clone() {
        Some(lake) => Some(lake),
        None => store.setting("lake")?.map(PathBuf::from),
    };
    let clocks = match &lake {
        Some(lake) => Some(
            Lake::open(lake)?
                .embargo_clocks(&store.embargo_lengths()?, &policy, on)
                .with_context(|| format!("computing the embargo clocks of {}", lake.display()))?,
        ),
        None => None,
    };
    let project = store.project(&args.project)?;
    let approvals = store.approvals(&args.project)?;
    let decision = match store.user(&args.user)? {
        None => Decision::deny(Rule::Member, format!("no user {:?}", args.user)),
        Some(user) => access::check(
            access::Facts {
                user: &user,
                project: project.as_ref(),
                approvals: &approvals,
                policy: &policy,
                clocks: clocks.as_deref(),
            },
            &access::Request {
                action: access::Action::parse(&args.action).context("--action")?,
                table: &args.table,
                cancer_type: args.cancer_type.as_deref(),
                acquirer: args.acquirer.as_deref(),
                purpose: args.purpose.as_deref().and_then(Purpose::parse),
                release: if args.release == "patent" {
                    Release::Patent
                } else {
                    Release::Publication
                },
                on,
            },
        ),
    };
    store.record(json!({
        "kind": "decision", "user": args.user, "project": args.project, "action": args.action,
        "table": args.table, "cancer_type": args.cancer_type, "acquirer": args.acquirer,
        "on": on.to_string(), "policy_version": version, "decision": decision,
    }))?;
    if args.json {
        print_json(&serde_json::to_value(&decision)?)?;
    } else {
        println!("{decision}");
    }
    Ok(())
}

fn embargo_report(lake: &Path, on: NaiveDate, store: Option<&Path>, json: bool) -> Result<()> {
    let (policy, lengths) = match store {
        Some(dir) => {
            let store = Sqlite::open(dir)?;
            (store.policy()?.1, store.embargo_lengths()?)
        }
        None => (workbench_governance::Policy::default(), Vec::new()),
    };
    let clocks = Lake::open(lake)?.embargo_clocks(&lengths, &policy, on)?;
    if json {
        return print_json(&serde_json::to_value(&clocks)?);
    }
    println!(
        "{:<10} {:>6} {:>8} {:<12} {:<12} {:>6}  status on {on}",
        "type", "cases", "trigger", "start", "end", "months"
    );
    let date = |d: Option<NaiveDate>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
    for c in &clocks {
        println!(
            "{:<10} {:>6} {:>8} {:<12} {:<12} {:>6}  {}",
            c.cancer_type,
            c.cases,
            c.trigger,
            date(c.start),
            date(c.end),
            c.months,
            serde_json::to_value(c.status)?.as_str().unwrap_or("")
        );
    }
    Ok(())
}

fn embargo_length(
    dir: &Path,
    cancer_type: String,
    months: u32,
    by: &str,
    agreed_by: Vec<String>,
    on: NaiveDate,
) -> Result<()> {
    let mut store = Sqlite::open(dir)?;
    let (_, policy) = store.policy()?;
    let decider = known_user(&store, by)?;
    let mut acquirers = 0;
    let mut analysts = 0;
    for name in &agreed_by {
        match known_user(&store, name)?.role {
            Role::Acquirer => acquirers += 1,
            Role::Analyst => analysts += 1,
            other => bail!(
                "--agreed-by {name}: a {} is neither a data acquirer nor a data analyst (R34)",
                other.as_str()
            ),
        }
    }
    let decision = if decider.role == Role::Committee {
        embargo::decide_length(months, acquirers, analysts, &policy)
    } else {
        Decision::deny(
            Rule::Role,
            format!("{by} is not a committee member: embargo lengths are the committee's records"),
        )
    };
    let event = json!({"kind": if decision.allowed { "embargo-length" } else { "embargo-length-refused" },
        "cancer_type": cancer_type, "months": months, "by": by, "agreed_by": agreed_by, "decision": decision});
    if !decision.allowed {
        store.record(event)?;
        bail!("{decision}");
    }
    store.apply(
        &Change::EmbargoLength(Length {
            cancer_type,
            months,
            agreed_by,
            by: by.to_owned(),
            on,
        }),
        event,
    )?;
    println!("{decision}");
    Ok(())
}

fn reviewers(dir: &Path, project_id: &str, author: Option<&str>, json: bool) -> Result<()> {
    let store = Sqlite::open(dir)?;
    let project = known_project(&store, project_id)?;
    let author = author.map(|a| known_user(&store, a)).transpose()?;
    let members = member_users(&store, &project)?;
    let committee = committee_members(&store)?;
    let candidates = committee::reviewers(
        &committee,
        committee::Request {
            author: author.as_ref(),
            project: &project,
            members: &members,
        },
    );
    if json {
        return print_json(&json!({
            "composition": committee::composition(&committee),
            "candidates": candidates,
        }));
    }
    for c in &candidates {
        println!("{:<16} {}", c.user, c.decision);
    }
    Ok(())
}

fn policy(action: PolicyAction) -> Result<()> {
    match action {
        PolicyAction::Show { store } => {
            let store = Sqlite::open(&store)?;
            let (version, policy) = store.policy()?;
            print_json(&json!({"version": version, "policy": policy}))
        }
        PolicyAction::Set {
            store,
            by,
            reason,
            set,
        } => {
            let mut store = Sqlite::open(&store)?;
            let decider = known_user(&store, &by)?;
            let (version, mut policy) = store.policy()?;
            // The policy is the committee's (R37): an admin runs the enclave, not the rules.
            if decider.role != Role::Committee {
                let decision = Decision::deny(
                    Rule::PolicyChange,
                    format!("{by} is not a committee member: the policy is the committee's"),
                );
                store.record(json!({"kind": "policy-refused", "by": by, "decision": decision}))?;
                bail!("{decision}");
            }
            for pair in &set {
                let (name, value) = pair
                    .split_once('=')
                    .with_context(|| format!("{pair:?}: write NAME=VALUE"))?;
                policy.set(name, value)?;
            }
            store.apply(
                &Change::Policy {
                    policy: policy.clone(),
                    by: by.clone(),
                    reason: reason.clone(),
                },
                json!({"kind": "policy-changed", "by": by, "reason": reason, "from_version": version,
                       "to_version": version + 1, "set": set, "rule": Rule::PolicyChange}),
            )?;
            println!("policy version {} in force", version + 1);
            Ok(())
        }
    }
}
