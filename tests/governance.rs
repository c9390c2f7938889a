//! Governance (R18, R31–R39) through the command line, trying to break every rule:
//! second factors checked against pyotp, lock-out, every access rule refused by name,
//! committee composition and conflicts, the embargo clock against pandas, the audit chain
//! tampered with, and processes killed in the middle of a decision.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::support::{binary, python, python_path, workbench_ok};

/// A store in a temporary directory and the commands run against it.
struct Gov {
    _dir: tempfile::TempDir,
    store: PathBuf,
    /// Each user's otpauth:// URI, as `user` returned it.
    uris: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
}

impl Gov {
    fn new() -> Gov {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        let gov = Gov {
            _dir: dir,
            store,
            uris: Default::default(),
        };
        gov.ok(&["governance", "init"], "");
        gov
    }

    /// A store whose decisions read `lake`'s registrations (the embargo clocks).
    fn with_lake(lake: &Path) -> Gov {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        let gov = Gov {
            _dir: dir,
            store,
            uris: Default::default(),
        };
        gov.ok(
            &[
                "governance",
                "init",
                "--lake",
                lake.to_str().expect("utf-8"),
            ],
            "",
        );
        gov
    }

    fn store(&self) -> &str {
        self.store.to_str().expect("utf-8")
    }

    /// Runs `workbench ARGS --store DIR` with `stdin`.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with(args, Some(self.store()), stdin, &[])
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "workbench {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs a command that must be refused (exit 1) by `rule`.
    fn refused(&self, args: &[&str], stdin: &str, rule: &str) -> String {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {stderr}");
        assert!(
            stderr.contains(rule),
            "{args:?}: expected {rule} in {stderr}"
        );
        stderr
    }

    /// Adds a user and returns their otpauth:// URI.
    fn user(&self, name: &str, role: &str, institution: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "governance",
            "user",
            "add",
            "--user",
            name,
            "--role",
            role,
            "--institution",
            institution,
        ];
        args.extend_from_slice(extra);
        let uri = self
            .ok(&args, &format!("{name}-password-long\n"))
            .trim()
            .to_owned();
        self.uris.borrow_mut().insert(name.to_owned(), uri.clone());
        uri
    }

    fn check(&self, user: &str, project: &str, action: &str, table: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "governance",
            "check",
            "--user",
            user,
            "--project",
            project,
            "--action",
            action,
            "--table",
            table,
            "--on",
            "2026-12-01",
            "--json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&self.ok(&args, "")).expect("check prints JSON")
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.store.join("audit.jsonl"))
            .expect("audit chain")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    fn verify(&self) -> (Option<i32>, Value) {
        let out = self.run(&["audit", "verify", "--json"], "");
        let report = serde_json::from_slice(&out.stdout).expect("verify prints JSON");
        (out.status.code(), report)
    }
}

fn run_with(args: &[&str], store: Option<&str>, stdin: &str, env: &[(&str, &str)]) -> Output {
    spawn_with(args, store, stdin, env)
        .wait_with_output()
        .expect("workbench ends")
}

/// Starts `workbench ARGS [--store DIR]` with `stdin` written, without waiting for it.
fn spawn_with(
    args: &[&str],
    store: Option<&str>,
    stdin: &str,
    env: &[(&str, &str)],
) -> std::process::Child {
    let mut command = Command::new(binary("workbench"));
    command.args(args);
    if let Some(store) = store {
        command.args(["--store", store]);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("workbench runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child
}

/// pyotp's codes for an otpauth URI.
fn pyotp(uri: &str) -> Value {
    let output = Command::new(python_path())
        .arg(crate::support::root().join("tests/python/totp_codes.py"))
        .arg(uri)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "totp_codes.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn code<'a>(codes: &'a Value, key: &str) -> &'a str {
    codes[key].as_str().expect("a code")
}

fn kinds(gov: &Gov) -> Vec<String> {
    gov.audit()
        .iter()
        .map(|r| r["event"]["kind"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn logins_need_both_factors_as_pyotp_computes_them_and_refuse_replays() {
    let gov = Gov::new();
    let uri = gov.user("ana", "analyst", "Hospital A", &[]);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let codes = pyotp(&uri);
    assert_eq!(
        (codes["digits"].as_u64(), codes["interval"].as_u64()),
        (Some(6), Some(30))
    );
    assert_eq!(codes["name"], "ana");
    let password = "ana-password-long\n";
    let login = |totp: Option<&str>, stdin: &str| {
        let mut args = vec!["governance", "login", "--user", "ana"];
        if let Some(code) = totp {
            args.extend(["--totp", code]);
        }
        gov.run(&args, stdin)
    };
    let refused = |out: Output, rule: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(rule), "expected {rule}: {stderr}");
    };
    // Wrong password with the right code; no code; a code three steps old; not digits.
    refused(
        login(Some(code(&codes, "now")), "wrong-password\n"),
        "R18-credentials",
    );
    refused(login(None, password), "R18-second-factor");
    refused(
        login(Some(code(&codes, "stale")), password),
        "R18-second-factor",
    );
    refused(login(Some("12a456"), password), "R18-second-factor");
    // Unknown user: the same answer as a wrong password.
    let out = gov.run(
        &[
            "governance",
            "login",
            "--user",
            "nobody",
            "--totp",
            "123456",
        ],
        password,
    );
    refused(out, "R18-credentials");

    // pyotp's current code logs in (one step of drift either side is accepted).
    let fresh = pyotp(&uri);
    let out = login(Some(code(&fresh, "now")), password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("R18-login"));
    // The same code again is a replay.
    refused(
        login(Some(code(&fresh, "now")), password),
        "R18-totp-replay",
    );
    // So is the previous step's (or, had a step boundary just passed, it is out of the
    // window): either way it is refused.
    let out = login(Some(code(&fresh, "previous")), password);
    assert_eq!(out.status.code(), Some(1));

    let kinds = kinds(&gov);
    assert_eq!(
        kinds.iter().filter(|k| *k == "login-failure").count(),
        7,
        "{kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|k| *k == "login").count(), 1);
    let (code, report) = gov.verify();
    assert_eq!(
        (code, &report["ok"]),
        (Some(0), &Value::Bool(true)),
        "{report}"
    );
}

#[test]
fn repeated_failures_lock_the_account_until_an_admin_unlocks_it() {
    let gov = Gov::new();
    let uri = gov.user("ben", "analyst", "Hospital A", &[]);
    gov.user("root", "admin", "Programme office", &[]);
    gov.user("cat", "analyst", "Hospital A", &[]);
    let password = "ben-password-long\n";
    for _ in 0..5 {
        gov.refused(
            &["governance", "login", "--user", "ben", "--totp", "000000"],
            "bad\n",
            "R18-credentials",
        );
    }
    assert!(kinds(&gov).contains(&"lock-out".to_owned()));
    // The right password and code no longer help.
    let codes = pyotp(&uri);
    gov.refused(
        &[
            "governance",
            "login",
            "--user",
            "ben",
            "--totp",
            code(&codes, "now"),
        ],
        password,
        "R18-locked-out",
    );
    // Only an admin unlocks.
    gov.refused(
        &[
            "governance",
            "user",
            "unlock",
            "--user",
            "ben",
            "--by",
            "cat",
        ],
        "",
        "R18-role",
    );
    gov.ok(
        &[
            "governance",
            "user",
            "unlock",
            "--user",
            "ben",
            "--by",
            "root",
        ],
        "",
    );
    // A code of now, not of before the lock-out: however slow the machine, it is in its
    // window.
    let codes = pyotp(&uri);
    gov.ok(
        &[
            "governance",
            "login",
            "--user",
            "ben",
            "--totp",
            code(&codes, "now"),
        ],
        password,
    );
    // A disabled account cannot log in.
    gov.ok(
        &[
            "governance",
            "user",
            "disable",
            "--user",
            "ben",
            "--by",
            "root",
        ],
        "",
    );
    gov.refused(
        &[
            "governance",
            "login",
            "--user",
            "ben",
            "--totp",
            code(&codes, "next"),
        ],
        password,
        "R18-disabled",
    );
}

/// The programme's parties: two hospitals, a company, a committee.
fn programme() -> Gov {
    programme_of(Gov::new())
}

/// The programme's parties in `gov`'s store.
fn programme_of(gov: Gov) -> Gov {
    gov.user("acq_a", "acquirer", "Hospital A", &[]);
    gov.user("ana_a", "analyst", "Hospital A", &[]);
    gov.user("acq_b", "acquirer", "Hospital B", &[]);
    gov.user("ind", "industry", "Pharma Tokyo", &["--company", "PharmaX"]);
    gov.user("trainer", "trainer", "University T", &[]);
    gov.user("com_f", "committee", "University C", &["--sex", "female"]);
    gov.user("com_m", "committee", "University D", &["--sex", "male"]);
    gov.user("com_x", "committee", "University E", &["--sex", "male"]);
    gov.user("com_a", "committee", "Hospital A", &["--sex", "female"]);
    gov.user("root", "admin", "Programme office", &[]);
    gov.ok(
        &[
            "governance",
            "conflict",
            "--user",
            "com_x",
            "--company",
            "PharmaX",
        ],
        "",
    );
    let project = |id: &str,
                   forum: &str,
                   purpose: &str,
                   inst: &str,
                   types: &str,
                   tier: &str,
                   extra: &[&str]| {
        let mut args = vec![
            "governance",
            "project",
            "add",
            "--project",
            id,
            "--forum",
            forum,
            "--purpose",
            purpose,
            "--institution",
            inst,
            "--cancer-types",
            types,
            "--tier",
            tier,
            "--expires",
            "2027-12-31",
            "--on",
            "2026-01-10",
        ];
        args.extend_from_slice(extra);
        gov.ok(&args, "");
    };
    project(
        "acad",
        "academic",
        "academic-research",
        "Hospital A",
        "LUAD,BRCA",
        "detailed",
        &[],
    );
    project(
        "overview",
        "academic",
        "academic-research",
        "University T",
        "all",
        "overview",
        &[],
    );
    project(
        "indus",
        "industry",
        "drug-development",
        "Pharma Tokyo",
        "all",
        "detailed",
        &["--paid-plan"],
    );
    project(
        "unpaid",
        "industry",
        "drug-development",
        "Pharma Tokyo",
        "all",
        "detailed",
        &[],
    );
    project(
        "scoped",
        "academic",
        "prevention",
        "Hospital A",
        "LUAD",
        "detailed",
        &["--tables", "diagnoses,samples"],
    );
    for (p, u) in [
        ("acad", "ana_a"),
        ("overview", "trainer"),
        ("indus", "ind"),
        ("unpaid", "ind"),
        ("scoped", "ana_a"),
    ] {
        gov.ok(
            &[
                "governance",
                "project",
                "member",
                "--project",
                p,
                "--user",
                u,
            ],
            "",
        );
    }
    gov
}

fn assert_decision(decision: &Value, allowed: bool, rule: &str) {
    assert_eq!(decision["allowed"], Value::Bool(allowed), "{decision}");
    assert_eq!(decision["rule"], rule, "{decision}");
    assert!(
        decision["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{decision}"
    );
}

#[test]
fn academic_rules_refuse_other_acquirers_rows_without_agreement_and_every_breach_of_the_licence() {
    let gov = programme();
    // R33: own rows; another acquirer's rows only with its agreement and a committee report.
    assert_decision(
        &gov.check(
            "ana_a",
            "acad",
            "read",
            "treatments",
            &["--acquirer", "Hospital A"],
        ),
        true,
        "R33-own-data",
    );
    let b = ["--acquirer", "Hospital B"];
    assert_decision(
        &gov.check("ana_a", "acad", "read", "treatments", &b),
        false,
        "R33-acquirer-agreement",
    );
    // Hospital A's own acquirer cannot agree for Hospital B, nor a committee member.
    gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "acad",
            "--by",
            "acq_a",
            "--what",
            "acquirer-agreement",
            "--on",
            "2026-02-01",
        ],
        "",
        "R33-own-data",
    );
    gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "acad",
            "--by",
            "com_f",
            "--what",
            "acquirer-agreement",
            "--on",
            "2026-02-01",
        ],
        "",
        "R18-role",
    );
    gov.ok(
        &[
            "governance",
            "approve",
            "--project",
            "acad",
            "--by",
            "acq_b",
            "--what",
            "acquirer-agreement",
            "--on",
            "2026-02-01",
        ],
        "",
    );
    assert_decision(
        &gov.check("ana_a", "acad", "read", "treatments", &b),
        true,
        "R33-acquirer-agreement",
    );
    assert!(kinds(&gov).contains(&"approval".to_owned()));
    // Overview for all forum members; rows not on an overview tier.
    assert_decision(
        &gov.check("trainer", "overview", "aggregate", "diagnoses", &[]),
        true,
        "R33-overview",
    );
    assert_decision(
        &gov.check("trainer", "overview", "read", "diagnoses", &[]),
        false,
        "R33-tier",
    );
    // R36: members only, the licensed purpose, the scope, the dates.
    assert_decision(
        &gov.check("trainer", "acad", "read", "diagnoses", &[]),
        false,
        "R36-member",
    );
    assert_decision(
        &gov.check(
            "ana_a",
            "acad",
            "read",
            "diagnoses",
            &["--purpose", "drug-development"],
        ),
        false,
        "R36-purpose",
    );
    assert_decision(
        &gov.check(
            "ana_a",
            "acad",
            "read",
            "diagnoses",
            &["--cancer-type", "PAAD"],
        ),
        false,
        "R36-scope",
    );
    assert_decision(
        &gov.check("ana_a", "scoped", "read", "treatments", &[]),
        false,
        "R36-scope",
    );
    assert_decision(
        &gov.check(
            "ana_a",
            "scoped",
            "read",
            "diagnoses",
            &["--cancer-type", "LUAD"],
        ),
        true,
        "R33-own-data",
    );
    let late = gov.ok(
        &[
            "governance",
            "check",
            "--user",
            "ana_a",
            "--project",
            "acad",
            "--action",
            "read",
            "--table",
            "diagnoses",
            "--on",
            "2028-01-01",
            "--json",
        ],
        "",
    );
    assert_decision(
        &serde_json::from_str(&late).expect("json"),
        false,
        "R36-expired",
    );
    // Roles that see no data, and unknown users.
    assert_decision(
        &gov.check("com_f", "acad", "read", "diagnoses", &[]),
        false,
        "R18-role",
    );
    assert_decision(
        &gov.check("ghost", "acad", "read", "diagnoses", &[]),
        false,
        "R36-member",
    );
    // Revocation ends access on the next decision.
    gov.refused(
        &[
            "governance",
            "project",
            "revoke",
            "--project",
            "acad",
            "--by",
            "ana_a",
            "--on",
            "2026-11-01",
        ],
        "",
        "R18-role",
    );
    gov.ok(
        &[
            "governance",
            "project",
            "revoke",
            "--project",
            "acad",
            "--by",
            "root",
            "--on",
            "2026-11-01",
        ],
        "",
    );
    assert_decision(
        &gov.check("ana_a", "acad", "read", "diagnoses", &[]),
        false,
        "R36-revoked",
    );
    // R36: no licence outside Japan and equivalent countries; forums do not mix.
    gov.refused(
        &[
            "governance",
            "project",
            "add",
            "--project",
            "abroad",
            "--forum",
            "academic",
            "--purpose",
            "academic-research",
            "--institution",
            "Univ US",
            "--country",
            "US",
            "--cancer-types",
            "all",
            "--tier",
            "overview",
            "--expires",
            "2027-01-01",
        ],
        "",
        "R36-country",
    );
    gov.ok(
        &[
            "governance",
            "project",
            "add",
            "--project",
            "eu",
            "--forum",
            "academic",
            "--purpose",
            "academic-research",
            "--institution",
            "Univ FR",
            "--country",
            "FR",
            "--cancer-types",
            "all",
            "--tier",
            "overview",
            "--expires",
            "2027-01-01",
        ],
        "",
    );
    gov.refused(
        &[
            "governance",
            "project",
            "member",
            "--project",
            "overview",
            "--user",
            "ind",
        ],
        "",
        "R36-forum",
    );
    gov.refused(
        &[
            "governance",
            "project",
            "member",
            "--project",
            "overview",
            "--user",
            "root",
        ],
        "",
        "R18-role",
    );
    // A committee member may be a project's member: still no data, and no approving it.
    gov.ok(
        &[
            "governance",
            "project",
            "member",
            "--project",
            "overview",
            "--user",
            "com_m",
        ],
        "",
    );
    assert_decision(
        &gov.check("com_m", "overview", "aggregate", "cases", &[]),
        false,
        "R18-role",
    );
    let stderr = gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "overview",
            "--by",
            "com_m",
            "--on",
            "2026-03-01",
        ],
        "",
        "R37-conflict",
    );
    assert!(stderr.contains("member of project overview"), "{stderr}");
    gov.refused(
        &[
            "governance",
            "project",
            "add",
            "--project",
            "ind_acad",
            "--forum",
            "industry",
            "--purpose",
            "academic-research",
            "--institution",
            "Pharma Tokyo",
            "--cancer-types",
            "all",
            "--tier",
            "detailed",
            "--expires",
            "2027-01-01",
            "--paid-plan",
        ],
        "",
        "R36-purpose",
    );
}

#[test]
fn industry_needs_payment_committee_approval_and_clinical_detail_approval_from_an_unconflicted_committee()
 {
    let gov = programme();
    assert_decision(
        &gov.check("ind", "unpaid", "aggregate", "diagnoses", &[]),
        false,
        "R34-paid-plan",
    );
    assert_decision(
        &gov.check("ind", "indus", "aggregate", "diagnoses", &[]),
        true,
        "R34-overview",
    );
    assert_decision(
        &gov.check("ind", "indus", "read", "diagnoses", &[]),
        false,
        "R34-committee-approval",
    );
    // An industry user is not in the academic project, whatever they ask.
    assert_decision(
        &gov.check("ind", "acad", "read", "diagnoses", &[]),
        false,
        "R36-member",
    );
    // Reviewers: the declared conflict and the same institution are excluded, with reasons.
    let reviewers: Value = serde_json::from_str(&gov.ok(
        &[
            "governance",
            "reviewers",
            "--project",
            "indus",
            "--author",
            "ind",
            "--json",
        ],
        "",
    ))
    .expect("json");
    let candidate = |name: &str| {
        reviewers["candidates"]
            .as_array()
            .expect("list")
            .iter()
            .find(|c| c["user"] == name)
            .cloned()
            .expect("listed")
    };
    assert_eq!(candidate("com_f")["decision"]["allowed"], true);
    assert_eq!(candidate("com_x")["decision"]["allowed"], false);
    assert!(
        candidate("com_x")["decision"]["reason"]
            .as_str()
            .expect("reason")
            .contains("PharmaX")
    );
    let acad: Value = serde_json::from_str(&gov.ok(
        &[
            "governance",
            "reviewers",
            "--project",
            "acad",
            "--author",
            "ana_a",
            "--json",
        ],
        "",
    ))
    .expect("json");
    let com_a = acad["candidates"]
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["user"] == "com_a")
        .expect("listed")
        .clone();
    assert_eq!(com_a["decision"]["rule"], "R37-conflict");
    assert!(
        com_a["decision"]["reason"]
            .as_str()
            .expect("reason")
            .contains("Hospital A"),
        "{com_a}"
    );
    // The conflicted member and a non-member cannot approve; an unconflicted one can.
    gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "indus",
            "--by",
            "com_x",
            "--on",
            "2026-03-01",
        ],
        "",
        "R37-conflict",
    );
    gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "acad",
            "--by",
            "com_a",
            "--on",
            "2026-03-01",
        ],
        "",
        "R37-conflict",
    );
    gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "indus",
            "--by",
            "ind",
            "--on",
            "2026-03-01",
        ],
        "",
        "R18-role",
    );
    gov.ok(
        &[
            "governance",
            "approve",
            "--project",
            "indus",
            "--by",
            "com_f",
            "--on",
            "2026-03-01",
        ],
        "",
    );
    assert_decision(
        &gov.check("ind", "indus", "read", "diagnoses", &[]),
        true,
        "R34-committee-approval",
    );
    // Detailed clinical data needs its own approval (R35).
    assert_decision(
        &gov.check("ind", "indus", "read", "treatments", &[]),
        false,
        "R35-clinical-detail",
    );
    gov.ok(
        &[
            "governance",
            "approve",
            "--project",
            "indus",
            "--by",
            "com_m",
            "--what",
            "clinical-detail",
            "--on",
            "2026-03-02",
        ],
        "",
    );
    assert_decision(
        &gov.check("ind", "indus", "read", "treatments", &[]),
        true,
        "R34-committee-approval",
    );
    // A committee of one sex approves nothing.
    gov.ok(
        &[
            "governance",
            "user",
            "disable",
            "--user",
            "com_f",
            "--by",
            "root",
        ],
        "",
    );
    gov.ok(
        &[
            "governance",
            "user",
            "disable",
            "--user",
            "com_a",
            "--by",
            "root",
        ],
        "",
    );
    gov.refused(
        &[
            "governance",
            "approve",
            "--project",
            "unpaid",
            "--by",
            "com_m",
            "--on",
            "2026-03-03",
        ],
        "",
        "R37-both-sexes",
    );
    let composition: Value =
        serde_json::from_str(&gov.ok(&["governance", "committee", "--json"], "")).expect("json");
    assert_eq!(composition["composition"]["allowed"], false);
    // A project member can never approve their own project.
    let gov2 = Gov::new();
    gov2.user("cf", "committee", "U1", &["--sex", "female"]);
    gov2.user("cm", "committee", "U2", &["--sex", "male"]);
    gov2.user("ia", "industry", "I", &["--company", "C"]);
    gov2.ok(
        &[
            "governance",
            "project",
            "add",
            "--project",
            "p",
            "--forum",
            "industry",
            "--purpose",
            "drug-development",
            "--institution",
            "I",
            "--cancer-types",
            "all",
            "--tier",
            "detailed",
            "--expires",
            "2030-01-01",
            "--paid-plan",
        ],
        "",
    );
    // (committee members cannot join projects, so membership is checked on an author's request)
    let r: Value = serde_json::from_str(&gov2.ok(
        &[
            "governance",
            "reviewers",
            "--project",
            "p",
            "--author",
            "cf",
            "--json",
        ],
        "",
    ))
    .expect("json");
    let cf = r["candidates"]
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["user"] == "cf")
        .expect("cf")
        .clone();
    assert_eq!(cf["decision"]["rule"], "R37-conflict");
    assert!(
        cf["decision"]["reason"]
            .as_str()
            .expect("reason")
            .contains("author")
    );
}

/// A synthetic programme of `cases` cases in a temporary directory.
fn synthetic_lake(cases: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    workbench_ok(&[
        "synth",
        "--cases",
        cases,
        "--seed",
        "13",
        "--raw-cases",
        "0",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    dir
}

fn embargo(lake: &Path, on: &str, store: Option<&str>) -> Vec<Value> {
    let mut args = vec![
        "governance",
        "embargo",
        "--lake",
        lake.to_str().expect("utf-8"),
        "--on",
        on,
        "--json",
    ];
    if let Some(store) = store {
        args.extend(["--store", store]);
    }
    let text = workbench_ok(&args);
    serde_json::from_str::<Value>(&text)
        .expect("json")
        .as_array()
        .expect("list")
        .clone()
}

fn compare_with_reference(ours: &[Value], reference: &Value, what: &str) {
    let reference = reference.as_array().expect("list");
    assert_eq!(ours.len(), reference.len(), "{what}: cancer types");
    for (o, r) in ours.iter().zip(reference) {
        for key in ["cancer_type", "start", "end", "status", "cases"] {
            assert_eq!(o[key], r[key], "{what}: {key} of {}", r["cancer_type"]);
        }
    }
}

#[test]
fn the_embargo_clock_equals_pandas_on_a_synthetic_programme_with_industry_exports_held_until_it_ends()
 {
    let lake = synthetic_lake("1500");
    let lake_path = lake.path();
    let on_dates = ["2025-06-30", "2026-12-01", "2027-09-15", "2028-11-30"];
    let mut statuses = std::collections::BTreeSet::new();
    for on in on_dates {
        let ours = embargo(lake_path, on, None);
        let reference = python("embargo_reference.py", &[lake_path, Path::new(on)]);
        compare_with_reference(&ours, &reference, on);
        statuses.extend(
            ours.iter()
                .map(|c| c["status"].as_str().expect("status").to_owned()),
        );
    }
    assert_eq!(
        statuses.len(),
        3,
        "the dates cover every status: {statuses:?}"
    );
    assert!(
        embargo(lake_path, "2026-12-01", None)
            .iter()
            .any(|c| c["rare"] == true),
        "a rare cancer type"
    );

    // A recorded length applies; shortening needs an acquirer and an analyst.
    let gov = programme();
    let ours = embargo(lake_path, "2026-12-01", None);
    let started = ours
        .iter()
        .find(|c| c["status"] == "embargoed")
        .expect("an embargoed type");
    let cancer_type = started["cancer_type"].as_str().expect("type");
    gov.refused(
        &[
            "governance",
            "embargo-length",
            "--cancer-type",
            cancer_type,
            "--months",
            "12",
            "--by",
            "com_f",
        ],
        "",
        "R34-embargo-shortened",
    );
    gov.refused(
        &[
            "governance",
            "embargo-length",
            "--cancer-type",
            cancer_type,
            "--months",
            "40",
            "--by",
            "com_f",
        ],
        "",
        "R34-embargo",
    );
    gov.refused(
        &[
            "governance",
            "embargo-length",
            "--cancer-type",
            cancer_type,
            "--months",
            "30",
            "--by",
            "ana_a",
        ],
        "",
        "R18-role",
    );
    gov.ok(
        &[
            "governance",
            "embargo-length",
            "--cancer-type",
            cancer_type,
            "--months",
            "36",
            "--by",
            "com_f",
            "--on",
            "2025-01-01",
        ],
        "",
    );
    for on in on_dates {
        let with_store: Vec<Value> = embargo(lake_path, on, Some(gov.store()))
            .into_iter()
            .filter(|c| c["cancer_type"] == cancer_type)
            .collect();
        let reference = python(
            "embargo_reference.py",
            &[lake_path, Path::new(on), Path::new("36")],
        );
        let reference: Vec<Value> = reference
            .as_array()
            .expect("list")
            .iter()
            .filter(|c| c["cancer_type"] == cancer_type)
            .cloned()
            .collect();
        compare_with_reference(
            &with_store,
            &Value::Array(reference),
            &format!("36 months on {on}"),
        );
    }
    gov.ok(
        &[
            "governance",
            "embargo-length",
            "--cancer-type",
            cancer_type,
            "--months",
            "6",
            "--by",
            "com_f",
            "--agreed-by",
            "acq_a,ana_a",
            "--on",
            "2026-11-01",
        ],
        "",
    );
    // A decision does not rewrite the dates before it: on 2026-10-31 the 36 months held.
    let before = embargo(lake_path, "2026-10-31", Some(gov.store()));
    let clock = before
        .iter()
        .find(|c| c["cancer_type"] == cancer_type)
        .expect("clock");
    assert_eq!(clock["months"].as_u64(), Some(36));
    let shortened = embargo(lake_path, "2026-12-01", Some(gov.store()));
    let clock = shortened
        .iter()
        .find(|c| c["cancer_type"] == cancer_type)
        .expect("clock");
    assert_eq!(
        (clock["months"].as_u64(), &clock["shortened"]),
        (Some(6), &Value::Bool(true))
    );

    // Industry exports wait for the embargo; patents never do; academic exports are free.
    gov.ok(
        &[
            "governance",
            "approve",
            "--project",
            "indus",
            "--by",
            "com_f",
            "--on",
            "2026-03-01",
        ],
        "",
    );
    let lake_arg = ["--lake", lake_path.to_str().expect("utf-8")];
    let still = ours
        .iter()
        .find(|c| c["status"] == "embargoed" && c["cancer_type"] != cancer_type)
        .expect("another embargoed type");
    let still_type = still["cancer_type"].as_str().expect("type");
    let mut args = vec!["--cancer-type", still_type];
    args.extend(lake_arg);
    assert_decision(
        &gov.check("ind", "indus", "export", "diagnoses", &args),
        false,
        "R34-embargo",
    );
    let mut patent = args.clone();
    patent.extend(["--release", "patent"]);
    assert_decision(
        &gov.check("ind", "indus", "export", "diagnoses", &patent),
        true,
        "R34-patent",
    );
    assert_decision(
        &gov.check(
            "ind",
            "indus",
            "export",
            "diagnoses",
            &["--cancer-type", still_type],
        ),
        false,
        "R34-embargo",
    );
    assert_decision(
        &gov.check(
            "ana_a",
            "acad",
            "export",
            "diagnoses",
            &["--cancer-type", "LUAD"],
        ),
        true,
        "R33-overview",
    );
    // An export is no way around the read rules: detailed clinical data without its
    // approval, another acquirer's rows without agreement.
    let mut patent_treatments = vec!["--release", "patent"];
    patent_treatments.extend(lake_arg);
    assert_decision(
        &gov.check("ind", "indus", "export", "treatments", &patent_treatments),
        false,
        "R35-clinical-detail",
    );
    assert_decision(
        &gov.check("ind", "indus", "aggregate", "treatments", &[]),
        false,
        "R35-clinical-detail",
    );
    assert_decision(
        &gov.check(
            "ana_a",
            "acad",
            "export",
            "diagnoses",
            &["--acquirer", "Hospital B"],
        ),
        false,
        "R33-acquirer-agreement",
    );

    // The store's own lake (init --lake) serves decisions that name none.
    let dir = tempfile::tempdir().expect("tempdir");
    let store2 = dir.path().join("store");
    let store2 = store2.to_str().expect("utf-8");
    workbench_ok(&[
        "governance",
        "init",
        "--store",
        store2,
        "--lake",
        lake_path.to_str().expect("utf-8"),
    ]);
    let with_lake = Gov {
        _dir: dir,
        store: PathBuf::from(store2),
        uris: Default::default(),
    };
    with_lake.user(
        "ind2",
        "industry",
        "Pharma Tokyo",
        &["--company", "PharmaX"],
    );
    with_lake.ok(
        &[
            "governance",
            "project",
            "add",
            "--project",
            "i2",
            "--forum",
            "industry",
            "--purpose",
            "drug-development",
            "--institution",
            "Pharma Tokyo",
            "--cancer-types",
            "all",
            "--tier",
            "overview",
            "--expires",
            "2030-01-01",
            "--paid-plan",
            "--on",
            "2026-01-10",
        ],
        "",
    );
    with_lake.ok(
        &[
            "governance",
            "project",
            "member",
            "--project",
            "i2",
            "--user",
            "ind2",
        ],
        "",
    );
    assert_decision(
        &with_lake.check(
            "ind2",
            "i2",
            "export",
            "diagnoses",
            &["--cancer-type", still_type],
        ),
        false,
        "R34-embargo",
    );
    let ended = with_lake.ok(
        &[
            "governance",
            "check",
            "--user",
            "ind2",
            "--project",
            "i2",
            "--action",
            "export",
            "--table",
            "diagnoses",
            "--cancer-type",
            still_type,
            "--on",
            "2029-06-01",
            "--json",
        ],
        "",
    );
    assert_decision(
        &serde_json::from_str(&ended).expect("json"),
        true,
        "R34-embargo",
    );
}

#[test]
fn policy_changes_only_by_a_recorded_decision_within_r34s_bounds() {
    let gov = programme();
    let shown: Value =
        serde_json::from_str(&gov.ok(&["governance", "policy", "show"], "")).expect("json");
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["policy"]["embargo_trigger_cases"], 100);
    gov.refused(
        &[
            "governance",
            "policy",
            "set",
            "--by",
            "ana_a",
            "--reason",
            "x",
            "min_cell_count=3",
        ],
        "",
        "R37-policy",
    );
    let out = gov.run(
        &[
            "governance",
            "policy",
            "set",
            "--by",
            "com_f",
            "--reason",
            "x",
            "embargo_months_min=12",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    gov.ok(
        &[
            "governance",
            "policy",
            "set",
            "--by",
            "com_f",
            "--reason",
            "rare sarcoma rule",
            "rare_cancer_trigger_cases=30",
        ],
        "",
    );
    let shown: Value =
        serde_json::from_str(&gov.ok(&["governance", "policy", "show"], "")).expect("json");
    assert_eq!(
        (
            shown["version"].as_u64(),
            shown["policy"]["rare_cancer_trigger_cases"].as_u64()
        ),
        (Some(2), Some(30))
    );
    assert!(kinds(&gov).contains(&"policy-changed".to_owned()));
}

#[test]
fn the_register_lists_licensees_as_json_and_a_static_page() {
    let gov = programme();
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("register.html");
    let entries: Value = serde_json::from_str(&gov.ok(
        &[
            "governance",
            "register",
            "--json",
            "--html",
            page.to_str().expect("utf-8"),
        ],
        "",
    ))
    .expect("json");
    let entries = entries.as_array().expect("list");
    assert_eq!(entries.len(), 5);
    let indus = entries
        .iter()
        .find(|e| e["project_title"] == "indus")
        .expect("indus");
    assert_eq!(indus["institution"], "Pharma Tokyo");
    assert_eq!(indus["purpose"], "drug-development");
    assert_eq!(
        (indus["from"].as_str(), indus["until"].as_str()),
        (Some("2026-01-10"), Some("2027-12-31"))
    );
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(html.contains("<td>Pharma Tokyo</td>") && html.contains("drug-development"));
    assert!(!html.to_lowercase().contains("<script"), "a static page");
}

#[test]
fn the_audit_chain_detects_a_changed_byte_a_removed_swapped_or_forged_line() {
    let gov = programme();
    gov.check("ana_a", "acad", "read", "diagnoses", &[]);
    let (code, report) = gov.verify();
    assert_eq!(
        (code, &report["ok"], &report["first_bad_line"]),
        (Some(0), &Value::Bool(true), &Value::Null),
        "{report}"
    );
    let path = gov.store.join("audit.jsonl");
    let original = std::fs::read_to_string(&path).expect("chain");
    let lines: Vec<&str> = original.lines().collect();
    assert!(lines.len() > 20, "{} records", lines.len());
    let write = |lines: &[String]| std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let owned: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    let expect_bad = |line: u64| {
        let (code, report) = gov.verify();
        assert_eq!(code, Some(1), "{report}");
        assert_eq!(
            (report["ok"].as_bool(), report["first_bad_line"].as_u64()),
            (Some(false), Some(line)),
            "{report}"
        );
    };
    // One byte: a user's name in record 5.
    let mut changed = owned.clone();
    let at = changed[4].find("\"name\":\"").expect("a name field") + 8;
    changed[4].replace_range(at..at + 1, "X");
    write(&changed);
    expect_bad(5);
    let mut removed = owned.clone();
    removed.remove(9);
    write(&removed);
    expect_bad(10);
    let mut swapped = owned.clone();
    swapped.swap(11, 12);
    write(&swapped);
    expect_bad(12);
    // The last line removed: the store's head knows it was there.
    write(&owned[..owned.len() - 1]);
    expect_bad(owned.len() as u64);
    // A line appended by hand, in the format, chained to the last mac by plain sha256.
    let mut forged = owned.clone();
    let last: Value = serde_json::from_str(owned.last().expect("last")).expect("json");
    forged.push(format!(
        "{{\"seq\":{},\"id\":\"f\",\"time\":\"2026-12-03T00:00:00.000Z\",\"prev\":{},\"event\":{{\"kind\":\"approval\"}},\"mac\":\"{}\"}}",
        owned.len() + 1,
        last["mac"],
        "0f".repeat(32)
    ));
    write(&forged);
    expect_bad(owned.len() as u64 + 1);
    write(&owned);
    assert_eq!(gov.verify().0, Some(0));

    // Cut the last record, then let any command write: it must refuse, and the cut stays
    // visible, so a deletion cannot be covered by the next record.
    write(&owned[..owned.len() - 2]);
    let out = gov.run(
        &[
            "governance",
            "check",
            "--user",
            "ana_a",
            "--project",
            "acad",
            "--action",
            "aggregate",
            "--table",
            "cases",
            "--json",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a write after a cut must be refused"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("audit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect_bad(owned.len() as u64 - 1);
    // The final newline stripped: damage, not a crashed writer's partial line.
    std::fs::write(&path, original.trim_end_matches('\n')).expect("write");
    expect_bad(owned.len() as u64);
    let out = gov.run(
        &[
            "governance",
            "check",
            "--user",
            "ana_a",
            "--project",
            "acad",
            "--action",
            "aggregate",
            "--table",
            "cases",
            "--json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    expect_bad(owned.len() as u64);
    // A last line that is no longer JSON still gets a report.
    let mut broken = owned.clone();
    let last = broken.len() - 1;
    broken[last] = broken[last].replacen('"', "", 1);
    write(&broken);
    expect_bad(owned.len() as u64);
    write(&owned);
    assert_eq!(gov.verify().0, Some(0));
}

#[test]
fn a_process_killed_during_a_decision_leaves_the_decision_whole_or_absent_and_the_chain_intact() {
    for (point, recorded) in [
        ("before-commit", false),
        ("after-commit", true),
        ("after-append", true),
    ] {
        let gov = programme();
        let before = gov.audit().len();
        let out = run_with(
            &[
                "governance",
                "approve",
                "--project",
                "indus",
                "--by",
                "com_f",
                "--on",
                "2026-03-01",
            ],
            Some(gov.store()),
            "",
            &[("WORKBENCH_GOVERNANCE_CRASH_AT", point)],
        );
        assert!(
            !out.status.success(),
            "{point}: the process should have died"
        );
        let (code, report) = gov.verify();
        assert_eq!(code, Some(0), "{point}: {report}");
        let decision = gov.check("ind", "indus", "read", "diagnoses", &[]);
        assert_eq!(decision["allowed"], recorded, "{point}: {decision}");
        let approvals = gov
            .audit()
            .iter()
            .filter(|r| r["event"]["kind"] == "approval")
            .count();
        assert_eq!(
            approvals,
            usize::from(recorded),
            "{point}: the chain holds the approval iff the store does"
        );
        // The check added one record after the recovered one (verify writes nothing), and
        // nothing was written twice.
        assert_eq!(
            gov.audit().len(),
            before + usize::from(recorded) + 1,
            "{point}"
        );
    }
    // Killed at random moments while many decisions run: the chain always verifies.
    let gov = programme();
    for i in 0..16u64 {
        let mut child = Command::new(binary("workbench"))
            .args([
                "governance",
                "approve",
                "--project",
                "indus",
                "--by",
                "com_f",
                "--on",
                "2026-03-01",
                "--store",
                gov.store(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // From before the store opens to after the decision: 0 to 75 ms.
        std::thread::sleep(std::time::Duration::from_millis(5 * i));
        let _ = child.kill();
        let _ = child.wait();
    }
    let (code, report) = gov.verify();
    assert_eq!(code, Some(0), "{report}");
    let approvals = gov
        .audit()
        .iter()
        .filter(|r| r["event"]["kind"] == "approval")
        .count();
    let projects: Value =
        serde_json::from_str(&gov.ok(&["governance", "register", "--json"], "")).expect("json");
    let recorded = projects
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["project_title"] == "indus")
        .expect("indus")["approvals"]
        .as_array()
        .expect("approvals")
        .len();
    assert_eq!(
        approvals, recorded,
        "every approval in the store is in the chain and no other"
    );
}

#[test]
fn concurrent_writers_keep_one_chain() {
    let gov = programme();
    let before = gov.audit().len();
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(binary("workbench"))
                .args([
                    "governance",
                    "check",
                    "--user",
                    "ana_a",
                    "--project",
                    "acad",
                    "--action",
                    "aggregate",
                    "--table",
                    "cases",
                    "--json",
                    "--store",
                    gov.store(),
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    assert_eq!(gov.audit().len(), before + 6);
    assert_eq!(gov.verify().0, Some(0));
}

#[test]
fn own_data_is_the_users_institution_and_revocations_only_come_earlier() {
    let gov = programme();
    // An analyst of Hospital B in Hospital A's project: A's cases need A's agreement.
    gov.user("ana_b", "analyst", "Hospital B", &[]);
    gov.ok(
        &[
            "governance",
            "project",
            "member",
            "--project",
            "scoped",
            "--user",
            "ana_b",
        ],
        "",
    );
    assert_decision(
        &gov.check(
            "ana_b",
            "scoped",
            "read",
            "diagnoses",
            &["--acquirer", "Hospital A"],
        ),
        false,
        "R33-acquirer-agreement",
    );
    assert_decision(
        &gov.check(
            "ana_b",
            "scoped",
            "read",
            "diagnoses",
            &["--acquirer", "Hospital B"],
        ),
        true,
        "R33-own-data",
    );
    gov.ok(
        &[
            "governance",
            "approve",
            "--project",
            "scoped",
            "--by",
            "acq_a",
            "--what",
            "acquirer-agreement",
            "--on",
            "2026-02-01",
        ],
        "",
    );
    assert_decision(
        &gov.check(
            "ana_b",
            "scoped",
            "read",
            "diagnoses",
            &["--acquirer", "Hospital A"],
        ),
        true,
        "R33-acquirer-agreement",
    );
    // A revocation set far ahead is brought forward by a later, earlier one, and an even
    // later one does not push it back.
    gov.ok(
        &[
            "governance",
            "project",
            "revoke",
            "--project",
            "scoped",
            "--by",
            "root",
            "--on",
            "2099-01-01",
        ],
        "",
    );
    assert_decision(
        &gov.check(
            "ana_b",
            "scoped",
            "read",
            "diagnoses",
            &["--acquirer", "Hospital B"],
        ),
        true,
        "R33-own-data",
    );
    gov.ok(
        &[
            "governance",
            "project",
            "revoke",
            "--project",
            "scoped",
            "--by",
            "root",
            "--on",
            "2026-11-15",
        ],
        "",
    );
    assert_decision(
        &gov.check("ana_b", "scoped", "read", "diagnoses", &[]),
        false,
        "R36-revoked",
    );
    gov.ok(
        &[
            "governance",
            "project",
            "revoke",
            "--project",
            "scoped",
            "--by",
            "root",
            "--on",
            "2030-01-01",
        ],
        "",
    );
    assert_decision(
        &gov.check("ana_b", "scoped", "read", "diagnoses", &[]),
        false,
        "R36-revoked",
    );
}

#[test]
fn one_code_logs_in_once_even_when_logins_race() {
    let gov = Gov::new();
    let uri = gov.user("dan", "analyst", "Hospital A", &[]);
    let codes = pyotp(&uri);
    let now = code(&codes, "now").to_owned();
    let children: Vec<_> = (0..6)
        .map(|_| {
            spawn_with(
                &["governance", "login", "--user", "dan", "--totp", &now],
                Some(gov.store()),
                "dan-password-long\n",
                &[],
            )
        })
        .collect();
    let successes = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait").status.success())
        .filter(|ok| *ok)
        .count();
    assert_eq!(successes, 1, "the code was taken {successes} times");
    assert_eq!(gov.verify().0, Some(0));
}

#[test]
fn parallel_wrong_passwords_lock_the_account_at_the_policys_count() {
    let gov = Gov::new();
    gov.user("eve", "analyst", "Hospital A", &[]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            spawn_with(
                &["governance", "login", "--user", "eve", "--totp", "000000"],
                Some(gov.store()),
                "guess\n",
                &[],
            )
        })
        .collect();
    for child in children {
        assert!(!child.wait_with_output().expect("wait").status.success());
    }
    let users: Value =
        serde_json::from_str(&gov.ok(&["governance", "user", "list"], "")).expect("json");
    let eve = users
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["name"] == "eve")
        .expect("eve")
        .clone();
    assert_eq!(
        (eve["failures"].as_u64(), &eve["locked"]),
        (Some(8), &Value::Bool(true)),
        "{eve}"
    );
}

/// `workbench export request` of `file` by `user` in `project`, as JSON.
fn export_request(
    gov: &Gov,
    user: &str,
    project: &str,
    file: &Path,
    intent: &str,
    extra: &[&str],
) -> Value {
    let mut args = vec![
        "export",
        "request",
        "--user",
        user,
        "--project",
        project,
        "--file",
        file.to_str().expect("utf-8"),
        "--intent",
        intent,
        "--justification",
        "counts for the project's annual report",
        "--on",
        "2026-12-04",
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&gov.ok(&args, "")).expect("JSON")
}

fn vote(gov: &Gov, request: &str, user: &str, vote: &str) -> Value {
    serde_json::from_str(&gov.ok(
        &[
            "export",
            "review",
            "--request",
            request,
            "--user",
            user,
            "--vote",
            vote,
            "--comment",
            "read it",
            "--json",
        ],
        "",
    ))
    .expect("JSON")
}

#[test]
fn the_airlock_takes_two_unconflicted_blind_reviewers_and_releases_only_what_they_approved_unchanged()
 {
    let lake = synthetic_lake("800");
    let gov = programme_of(Gov::with_lake(&lake.path().join("lake")));
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("file");
        path
    };
    let safe = write("counts.csv", "cancer_type,patients\nLUAD,30\nBRCA,40\n");
    // Only a project's member asks, and the object is checked at once.
    gov.refused(
        &[
            "export",
            "request",
            "--user",
            "ind",
            "--project",
            "acad",
            "--file",
            safe.to_str().expect("utf-8"),
            "--intent",
            "publication",
            "--justification",
            "x",
        ],
        "",
        "R36-member",
    );
    let r = export_request(&gov, "ana_a", "acad", &safe, "publication", &[]);
    assert_eq!(r["verdict"], "pass", "{r}");
    let id = r["request"].as_str().expect("id").to_owned();
    let reviewers: Vec<String> = r["reviewers"]
        .as_array()
        .expect("reviewers")
        .iter()
        .map(|v| v.as_str().expect("name").to_owned())
        .collect();
    // Never the author's institution (com_a is Hospital A's); two of both sexes first.
    assert!(!reviewers.contains(&"com_a".to_owned()), "{r}");
    assert_eq!(reviewers.len(), 3, "{r}");
    assert_eq!(&reviewers[..2], ["com_f", "com_m"], "{r}");
    // The author is no reviewer; a conflicted member neither; nor one who was not chosen.
    gov.refused(
        &[
            "export",
            "review",
            "--request",
            &id,
            "--user",
            "ana_a",
            "--vote",
            "approve",
        ],
        "",
        "R18-role",
    );
    gov.refused(
        &[
            "export",
            "review",
            "--request",
            &id,
            "--user",
            "com_a",
            "--vote",
            "approve",
        ],
        "",
        "R37-conflict",
    );
    // The tie-breaker waits for a tie.
    gov.refused(
        &[
            "export",
            "review",
            "--request",
            &id,
            "--user",
            &reviewers[2],
            "--vote",
            "approve",
        ],
        "",
        "R39-export",
    );
    // One approval is not enough to release.
    assert_eq!(vote(&gov, &id, "com_f", "approve")["state"], "submitted");
    let out = dir.path().join("release");
    gov.refused(
        &[
            "export",
            "release",
            "--request",
            &id,
            "--out",
            out.to_str().expect("utf-8"),
        ],
        "",
        "R39-export",
    );
    // Blind: the second reviewer sees no vote yet, the first sees their own.
    let shown: Value =
        serde_json::from_str(&gov.ok(&["export", "show", "--request", &id, "--user", "com_m"], ""))
            .expect("JSON");
    assert_eq!(shown["reviews"], serde_json::json!([]), "{shown}");
    assert_eq!(shown["votes"], 1, "{shown}");
    let shown: Value =
        serde_json::from_str(&gov.ok(&["export", "show", "--request", &id, "--user", "com_f"], ""))
            .expect("JSON");
    assert_eq!(
        shown["reviews"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    // The second approval decides; a decided request takes no more votes.
    assert_eq!(vote(&gov, &id, "com_m", "approve")["state"], "approved");
    gov.refused(
        &[
            "export",
            "review",
            "--request",
            &id,
            "--user",
            &reviewers[2],
            "--vote",
            "reject",
        ],
        "",
        "R39-export",
    );
    let released: Value = serde_json::from_str(&gov.ok(
        &[
            "export",
            "release",
            "--request",
            &id,
            "--out",
            out.to_str().expect("utf-8"),
            "--json",
        ],
        "",
    ))
    .expect("JSON");
    assert_eq!(released["state"], "released", "{released}");
    assert_eq!(
        std::fs::read_to_string(out.join("counts.csv")).expect("released file"),
        std::fs::read_to_string(&safe).expect("file")
    );
    let key = gov.ok(&["export", "key"], "").trim().to_owned();
    let verified: Value = serde_json::from_str(&workbench_ok(&[
        "export",
        "verify",
        out.to_str().expect("utf-8"),
        "--key",
        &key,
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(verified["ok"], true, "{verified}");
    assert_eq!(
        verified["manifest"]["reviews"].as_array().map(Vec::len),
        Some(2)
    );
    // A tampered manifest no longer verifies.
    let manifest = out.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("com_m", "com_x")).expect("tamper");
    let bad = crate::support::workbench(&[
        "export",
        "verify",
        out.to_str().expect("utf-8"),
        "--key",
        &key,
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("does not verify"));
    // Two releases whose difference reveals a small group: LUAD 30 out, then LUAD 33.
    let close = write("close.csv", "cancer_type,patients\nLUAD,33\nBRCA,40\n");
    let r = export_request(&gov, "ana_a", "acad", &close, "internal-use", &[]);
    assert_eq!(r["verdict"], "fail", "{r}");
    let found = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "differencing")
        .unwrap_or_else(|| panic!("no differencing finding: {r}"));
    assert_eq!(found["cells"][0]["difference"], 3, "{r}");
    assert_eq!(found["cells"][0]["earlier_request"], id.as_str(), "{r}");
    let checked = gov.run(
        &[
            "export",
            "check",
            close.to_str().expect("utf-8"),
            "--project",
            "acad",
            "--json",
        ],
        "",
    );
    assert!(!checked.status.success());
    assert!(String::from_utf8_lossy(&checked.stdout).contains("differencing"));
    // A small count fails its checks and cannot be approved.
    let small = write("small.csv", "cancer_type,patients\nLUAD,3\nBRCA,40\n");
    let r = export_request(&gov, "ana_a", "acad", &small, "internal-use", &[]);
    assert_eq!(r["verdict"], "fail", "{r}");
    let small_id = r["request"].as_str().expect("id").to_owned();
    gov.refused(
        &[
            "export",
            "review",
            "--request",
            &small_id,
            "--user",
            "com_f",
            "--vote",
            "approve",
        ],
        "",
        "R33-disclosure",
    );
    // A model summary of 12 patients and 2 parameters (10 residual degrees of freedom)
    // passes at the request; edited to disagree with itself, it fails.
    let mut rows = String::from("patient,age,y\n");
    for i in 0..12 {
        rows.push_str(&format!("P{i},{},{}\n", 40 + i * 3 % 7, i * 5 % 9));
    }
    let data = write("rows.csv", &rows);
    let summary = dir.path().join("model.json");
    let fitted = crate::support::workbench(&[
        "export",
        "model",
        "--data",
        data.to_str().expect("utf-8"),
        "--y",
        "y",
        "--x",
        "age",
        "--person",
        "patient",
        "--out",
        summary.to_str().expect("utf-8"),
    ]);
    assert!(
        fitted.status.success(),
        "{}",
        String::from_utf8_lossy(&fitted.stderr)
    );
    let r = export_request(&gov, "ana_a", "acad", &summary, "publication", &[]);
    assert_eq!(r["verdict"], "pass", "10 degrees of freedom pass: {r}");
    let text = std::fs::read_to_string(&summary).expect("summary");
    // The same summary edited to claim more patients than its dof says is caught.
    let edited = write(
        "edited.json",
        &text.replace("\"patients\": 12", "\"patients\": 11"),
    );
    let r = export_request(&gov, "ana_a", "acad", &edited, "publication", &[]);
    assert_eq!(r["verdict"], "fail", "{r}");
    assert!(
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "dof"),
        "{r}"
    );
    // Two reviewers who disagree: the third decides.
    let other = write("other.csv", "cancer_type,patients\nLUAD,60\nBRCA,80\n");
    let r = export_request(&gov, "ana_a", "acad", &other, "internal-use", &[]);
    let tie = r["request"].as_str().expect("id").to_owned();
    vote(&gov, &tie, "com_f", "approve");
    assert_eq!(vote(&gov, &tie, "com_m", "reject")["state"], "submitted");
    assert_eq!(
        vote(&gov, &tie, &reviewers[2], "approve")["state"],
        "approved"
    );
    // An object changed in the spool after its review is not released.
    let spool = gov
        .store
        .join("spool")
        .join(r["sha256"].as_str().expect("sha"));
    std::fs::write(&spool, "cancer_type,patients\nLUAD,3\n").expect("tamper");
    gov.refused(
        &[
            "export",
            "release",
            "--request",
            &tie,
            "--out",
            dir.path().join("tampered").to_str().expect("utf-8"),
        ],
        "",
        "R39-export",
    );
    assert!(!dir.path().join("tampered").exists());
    // Industry: a publication drawing on a cancer type in embargo fails; the same
    // table as a patent filing does not wait.
    let r = export_request(
        &gov,
        "ind",
        "indus",
        &safe,
        "publication",
        &["--cancer-types", "LUAD"],
    );
    assert_eq!(r["verdict"], "fail", "{r}");
    assert!(
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "embargo" && f["rule"] == "R34-embargo"),
        "{r}"
    );
    let r = export_request(
        &gov,
        "ind",
        "indus",
        &safe,
        "patent-filing",
        &["--cancer-types", "LUAD"],
    );
    assert_eq!(r["verdict"], "pass", "{r}");
    // PharmaX's declared conflict keeps com_x off the industry project's requests.
    assert!(
        !r["reviewers"]
            .as_array()
            .expect("reviewers")
            .iter()
            .any(|v| v == "com_x"),
        "{r}"
    );
    // Every step is in the chain, and the chain holds.
    let audit: Vec<Value> = std::fs::read_to_string(gov.store.join("audit.jsonl"))
        .expect("audit")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    for kind in [
        "export-request",
        "export-review",
        "export-release",
        "forum-notification",
        "export-review-refused",
        "export-release-refused",
        "export-request-refused",
    ] {
        assert!(
            audit.iter().any(|r| r["event"]["kind"] == kind),
            "no {kind} record"
        );
    }
    let verified = gov.ok(&["audit", "verify", "--json"], "");
    assert!(verified.contains("\"ok\": true"), "{verified}");
}

/// A `workbench serve` process, killed when dropped.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the review page on a free port and reads its address from standard error.
fn serve(gov: &Gov) -> Served {
    use std::io::BufRead;
    let mut child = Command::new(binary("workbench"))
        .args(["serve", "--store", gov.store(), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("workbench serve runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr
        .read_line(&mut line)
        .expect("serve says where it listens");
    // Keep draining what the server prints so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Served { child, url }
}

#[test]
fn reviewers_log_in_with_their_second_factor_see_the_flagged_cells_and_approve_on_the_web_page() {
    let lake = synthetic_lake("800");
    let gov = programme_of(Gov::with_lake(&lake.path().join("lake")));
    let dir = tempfile::tempdir().expect("tempdir");
    // An earlier release of the project, which the page shows beside the new object.
    let earlier = dir.path().join("counts.csv");
    std::fs::write(&earlier, "cancer_type,patients\nLUAD,30\nBRCA,40\n").expect("file");
    let r = export_request(&gov, "ana_a", "acad", &earlier, "internal-use", &[]);
    let earlier_id = r["request"].as_str().expect("id").to_owned();
    for reviewer in r["reviewers"].as_array().expect("reviewers").iter().take(2) {
        vote(
            &gov,
            &earlier_id,
            reviewer.as_str().expect("name"),
            "approve",
        );
    }
    let earlier_out = dir.path().join("earlier");
    gov.ok(
        &[
            "export",
            "release",
            "--request",
            &earlier_id,
            "--out",
            earlier_out.to_str().expect("utf-8"),
        ],
        "",
    );
    // Two suppressed cells (a blank and a marker) and a label that is markup: the page
    // must mark the first two and show the third as text.
    let csv = "cancer_type,stage,patients\n<b>LUAD</b>,I,31\nLUAD,II,\nBRCA,I,45\nBRCA,II,*\n";
    let file = dir.path().join("stage.csv");
    std::fs::write(&file, csv).expect("file");
    let r = export_request(&gov, "ana_a", "acad", &file, "publication", &[]);
    assert_eq!(r["verdict"], "review", "{r}");
    let id = r["request"].as_str().expect("id").to_owned();
    let reviewers: Vec<String> = r["reviewers"]
        .as_array()
        .expect("reviewers")
        .iter()
        .take(2)
        .map(|v| v.as_str().expect("name").to_owned())
        .collect();
    // The suppressed cells as read from the CSV itself: (data row, column).
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let expected: Vec<(u64, String)> = csv
        .lines()
        .skip(1)
        .enumerate()
        .flat_map(|(r, line)| {
            let cells: Vec<&str> = line.split(',').collect();
            let header = &header;
            (0..cells.len())
                .filter(move |&c| header[c] == "patients" && cells[c].parse::<u64>().is_err())
                .map(move |c| (r as u64 + 1, header[c].to_owned()))
        })
        .collect();
    assert_eq!(expected.len(), 2);

    let served = serve(&gov);
    let person = |name: &str| {
        serde_json::json!({
            "user": name,
            "password": format!("{name}-password-long"),
            "uri": gov.uris.borrow()[name],
        })
    };
    let people = dir.path().join("people.json");
    std::fs::write(
        &people,
        serde_json::json!({
            "reviewers": [person(&reviewers[0]), person(&reviewers[1])],
            "author": person("ana_a"),
            "outsider": person("ind"),
        })
        .to_string(),
    )
    .expect("people");
    let shots = crate::support::root().join("target/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let output = Command::new(python_path())
        .arg(crate::support::root().join("tests/python/review_page.py"))
        .args([served.url.as_str(), id.as_str()])
        .arg(&people)
        .arg(&shots)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "review_page.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let text = |key: &str| page[key].as_str().unwrap_or_default().to_owned();
    // The doors: no session, a wrong code, a replayed code.
    assert!(text("anonymous_url").ends_with("/login"), "{page}");
    assert!(text("wrong_code_url").ends_with("/login"), "{page}");
    assert!(
        text("wrong_code_page").contains("R18-second-factor"),
        "{page}"
    );
    assert!(text("replay_page").contains("R18-totp-replay"), "{page}");
    assert!(text("replay_url").ends_with("/login"), "{page}");
    assert!(!text("first_after_login_url").ends_with("/login"), "{page}");
    assert!(text("first_list").contains(&id), "{page}");
    // Votes from another site or without the page's token are refused.
    assert_eq!(page["cross_site_vote"][0], 403, "{page}");
    assert_eq!(page["forged_vote"][0], 403, "{page}");
    // The flagged cells are exactly the suppressed ones, marked as missing.
    let flagged: Vec<(u64, String)> = page["first_flagged"]
        .as_array()
        .expect("flagged")
        .iter()
        .map(|f| {
            assert!(f[2].as_str().expect("rules").contains("missing"), "{f}");
            (
                f[0].as_u64().expect("row"),
                f[1].as_str().expect("column").to_owned(),
            )
        })
        .collect();
    assert_eq!(flagged, expected, "{page}");
    assert_eq!(page["second_flagged"], page["first_flagged"], "{page}");
    assert!(
        page["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f == "missing"),
        "{page}"
    );
    // Nothing the object holds runs or renders as markup.
    assert_eq!(page["scripts_on_page"], 0, "{page}");
    assert_eq!(page["object_elements"], 0, "{page}");
    assert!(text("object_text").contains("<b>LUAD</b>"), "{page}");
    // The project's approval is beside the object.
    assert!(text("project_text").contains("acad"), "{page}");
    assert!(text("releases_text").contains(&earlier_id), "{page}");
    // The author cannot vote; an outsider cannot see the request.
    assert_eq!(page["author_has_form"], 0, "{page}");
    assert_eq!(page["author_vote"][0], 403, "{page}");
    assert!(
        page["author_vote"][1]
            .as_str()
            .unwrap_or_default()
            .contains("R18-role"),
        "{page}"
    );
    assert_eq!(page["outsider"][0], 404, "{page}");
    assert!(
        !page["outsider"][1]
            .as_str()
            .unwrap_or_default()
            .contains("31"),
        "{page}"
    );
    // Blind: the second reviewer does not see the first's vote until theirs is in.
    assert!(text("first_state").contains("submitted"), "{page}");
    assert!(
        !text("second_reviews_before").contains("suppression holds"),
        "{page}"
    );
    assert!(
        !text("second_page_before").contains("suppression holds"),
        "{page}"
    );
    assert!(text("second_state").contains("approved"), "{page}");
    assert!(
        text("second_reviews_after").contains("suppression holds"),
        "{page}"
    );
    assert!(text("after_logout_url").ends_with("/login"), "{page}");
    drop(served);
    // The store agrees: two web votes in the audit chain, and the release verifies.
    let web_votes: Vec<String> = gov
        .audit()
        .iter()
        .filter(|r| r["event"]["kind"] == "export-review" && r["event"]["via"] == "web")
        .map(|r| r["event"]["user"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(web_votes, reviewers);
    let out = dir.path().join("release");
    let released: Value = serde_json::from_str(&gov.ok(
        &[
            "export",
            "release",
            "--request",
            &id,
            "--out",
            out.to_str().expect("utf-8"),
            "--json",
        ],
        "",
    ))
    .expect("JSON");
    assert_eq!(released["state"], "released", "{released}");
    let key = gov.ok(&["export", "key"], "").trim().to_owned();
    let verified: Value = serde_json::from_str(&workbench_ok(&[
        "export",
        "verify",
        out.to_str().expect("utf-8"),
        "--key",
        &key,
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(verified["ok"], true, "{verified}");
    let (code, report) = gov.verify();
    assert_eq!(code, Some(0), "{report}");
}

#[test]
fn a_request_is_held_to_its_projects_purpose_scope_and_tier_and_a_notebooks_outputs_are_read() {
    let lake = synthetic_lake("800");
    let gov = programme_of(Gov::with_lake(&lake.path().join("lake")));
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("file");
        path
    };
    let safe = write("counts.csv", "cancer_type,patients\nLUAD,30\nBRCA,40\n");
    // A justification that says nothing is refused (R36-purpose).
    gov.refused(
        &[
            "export",
            "request",
            "--user",
            "ana_a",
            "--project",
            "acad",
            "--file",
            safe.to_str().expect("utf-8"),
            "--intent",
            "internal-use",
            "--justification",
            "x",
        ],
        "",
        "R36-purpose",
    );
    let findings = |r: &Value, check: &str| -> Vec<Value> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["check"] == check)
            .cloned()
            .collect()
    };
    // acad is licensed for LUAD and BRCA: a table naming COAD, or a request saying it
    // draws on COAD, is out of scope (R36-scope).
    let coad = write("coad.csv", "cancer_type,patients\nLUAD,30\nCOAD,40\n");
    let r = export_request(&gov, "ana_a", "acad", &coad, "internal-use", &[]);
    assert_eq!(r["verdict"], "fail", "{r}");
    let scope = findings(&r, "scope");
    assert_eq!(scope.len(), 1, "{r}");
    assert_eq!(scope[0]["rule"], "R36-scope", "{r}");
    assert_eq!(scope[0]["cells"], serde_json::json!(["COAD"]), "{r}");
    let r = export_request(
        &gov,
        "ana_a",
        "acad",
        &safe,
        "internal-use",
        &["--cancer-types", "LUAD,COAD"],
    );
    assert_eq!(
        findings(&r, "scope")[0]["cells"],
        serde_json::json!(["COAD"]),
        "{r}"
    );
    let r = export_request(&gov, "ana_a", "acad", &safe, "internal-use", &[]);
    assert_eq!(r["verdict"], "pass", "{r}");
    // A mean table in the form a cell's safe table leaves in: its patients are the
    // counts, not its means.
    let mean = write(
        "mean.csv",
        "cancer_type,value,patients\nLUAD,4.8,30\nBRCA,5.1,40\n",
    );
    let r = export_request(&gov, "ana_a", "acad", &mean, "internal-use", &[]);
    assert_eq!(r["verdict"], "pass", "{r}");
    let few = write(
        "few.csv",
        "cancer_type,value,patients\nLUAD,48.5,3\nBRCA,5.1,40\n",
    );
    let r = export_request(&gov, "ana_a", "acad", &few, "internal-use", &[]);
    assert_eq!(
        findings(&r, "threshold")[0]["cells"][0]["column"],
        "patients",
        "{r}"
    );
    // An overview project takes out tables only (R33-tier).
    let notes = write("notes.txt", "LUAD looks different this year\n");
    let r = export_request(&gov, "trainer", "overview", &notes, "internal-use", &[]);
    assert_eq!(r["verdict"], "fail", "{r}");
    assert_eq!(findings(&r, "tier")[0]["rule"], "R33-tier", "{r}");
    // A notebook is read output by output: a sample id and a date fail; clean, it goes
    // to the reviewers whole.
    let notebook = |output: &str| {
        serde_json::json!({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": ["# Stage by type"]},
                {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["cohort()"],
                 "outputs": [{"output_type": "stream", "name": "stdout", "text": [output]}]},
            ]
        })
        .to_string()
    };
    let leaky = write(
        "leaky.ipynb",
        &notebook("first case JCGP-000123-T1 diagnosed 2026-05-11\n"),
    );
    let r = export_request(&gov, "ana_a", "acad", &leaky, "internal-use", &[]);
    assert_eq!(r["verdict"], "fail", "{r}");
    let ids = findings(&r, "identifier");
    assert_eq!(ids[0]["cells"][0]["cell"], 2, "{r}");
    assert_eq!(ids[0]["cells"][0]["output"], 1, "{r}");
    assert_eq!(ids[0]["cells"][0]["value"], "JCGP-000123-T1", "{r}");
    assert_eq!(findings(&r, "date").len(), 1, "{r}");
    let clean = write("clean.ipynb", &notebook("LUAD 31 patients, BRCA 45\n"));
    let r = export_request(&gov, "ana_a", "acad", &clean, "internal-use", &[]);
    assert_eq!(r["verdict"], "review", "{r}");
    assert_eq!(findings(&r, "notebook").len(), 1, "{r}");
}

#[test]
fn a_publication_that_might_re_identify_waits_for_its_authors_report_to_the_committee() {
    let lake = synthetic_lake("800");
    let gov = programme_of(Gov::with_lake(&lake.path().join("lake")));
    let dir = tempfile::tempdir().expect("tempdir");
    // Age group and sex together narrow cells to few people: flagged without being told.
    let path = dir.path().join("age_sex.csv");
    std::fs::write(
        &path,
        "cancer_type,age_group,sex,patients\nLUAD,40-49,F,30\nLUAD,40-49,M,40\nBRCA,50-59,F,35\n",
    )
    .expect("file");
    let r = export_request(&gov, "ana_a", "acad", &path, "publication", &[]);
    assert_eq!(r["verdict"], "review", "{r}");
    let id = r["request"].as_str().expect("id").to_owned();
    let found = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "reidentification")
        .unwrap_or_else(|| panic!("no R38 flag: {r}"))
        .clone();
    assert_eq!(found["rule"], "R38-report", "{r}");
    assert_eq!(
        found["cells"],
        serde_json::json!(["age_group", "sex"]),
        "{r}"
    );
    for reviewer in r["reviewers"].as_array().expect("reviewers").iter().take(2) {
        vote(&gov, &id, reviewer.as_str().expect("name"), "approve");
    }
    // Approved, but not released until the author has reported to the committee.
    let out = dir.path().join("release");
    let release = [
        "export",
        "release",
        "--request",
        &id,
        "--out",
        out.to_str().expect("utf-8"),
    ];
    gov.refused(&release, "", "R38-report");
    // Too late once decided: the reviewers were to read it. A new request, reported on
    // before the votes, is released.
    let text = "age group and sex by type: each cell counts 30 or more patients";
    gov.refused(
        &[
            "export",
            "report",
            "--request",
            &id,
            "--user",
            "ana_a",
            "--text",
            text,
        ],
        "",
        "R39-export",
    );
    let r = export_request(&gov, "ana_a", "acad", &path, "publication", &[]);
    let id = r["request"].as_str().expect("id").to_owned();
    // Only the author reports.
    gov.refused(
        &[
            "export",
            "report",
            "--request",
            &id,
            "--user",
            "com_f",
            "--text",
            text,
        ],
        "",
        "R18-role",
    );
    gov.ok(
        &[
            "export",
            "report",
            "--request",
            &id,
            "--user",
            "ana_a",
            "--text",
            text,
        ],
        "",
    );
    for reviewer in r["reviewers"].as_array().expect("reviewers").iter().take(2) {
        vote(&gov, &id, reviewer.as_str().expect("name"), "approve");
    }
    let release = [
        "export",
        "release",
        "--request",
        &id,
        "--out",
        out.to_str().expect("utf-8"),
    ];
    gov.ok(&release, "");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(manifest["report"]["text"], text, "{manifest}");
    assert!(kinds(&gov).contains(&"export-report".to_owned()));
    // The same table for internal use needs no report; a declared risk is flagged too.
    let r = export_request(&gov, "ana_a", "acad", &path, "internal-use", &[]);
    let internal = r["request"].as_str().expect("id").to_owned();
    for reviewer in r["reviewers"].as_array().expect("reviewers").iter().take(2) {
        vote(&gov, &internal, reviewer.as_str().expect("name"), "approve");
    }
    let out2 = dir.path().join("internal");
    gov.ok(
        &[
            "export",
            "release",
            "--request",
            &internal,
            "--out",
            out2.to_str().expect("utf-8"),
        ],
        "",
    );
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "cancer_type,patients\nLUAD,31\nBRCA,45\n").expect("file");
    let r = export_request(
        &gov,
        "ana_a",
        "acad",
        &plain,
        "publication",
        &["--reidentification-risk"],
    );
    assert_eq!(r["verdict"], "review", "{r}");
}

#[test]
fn an_output_made_before_a_patient_withdrew_does_not_leave() {
    let lake = synthetic_lake("800");
    let lake_dir = lake.path().join("lake");
    let gov = programme_of(Gov::with_lake(&lake_dir));
    // An analyst of a hospital the synthetic programme has cases from: their view holds
    // their own hospital's cases.
    let hospital = "Kyoto University Hospital";
    gov.user("ana_k", "analyst", hospital, &[]);
    gov.ok(
        &[
            "governance",
            "project",
            "add",
            "--project",
            "kyoto",
            "--forum",
            "academic",
            "--purpose",
            "academic-research",
            "--institution",
            hospital,
            "--cancer-types",
            "COAD,LUAD,STAD",
            "--tier",
            "detailed",
            "--expires",
            "2027-12-31",
            "--on",
            "2026-01-10",
        ],
        "",
    );
    gov.ok(
        &[
            "governance",
            "project",
            "member",
            "--project",
            "kyoto",
            "--user",
            "ana_k",
        ],
        "",
    );
    let start = |user: &str, project: &str| -> Value {
        serde_json::from_str(&gov.ok(
            &[
                "session",
                "start",
                "--lake",
                lake_dir.to_str().expect("utf-8"),
                "--user",
                user,
                "--project",
                project,
                "--on",
                "2026-12-04",
                "--json",
            ],
            "",
        ))
        .expect("JSON")
    };
    let session = start("ana_k", "kyoto");
    let id = session["session"].as_str().expect("session").to_owned();
    let view = std::path::PathBuf::from(session["view"].as_str().expect("view"));
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("counts.csv");
    std::fs::write(&table, "cancer_type,patients\nLUAD,30\nCOAD,40\n").expect("file");
    let consent = |r: &Value| -> Vec<Value> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["check"] == "consent")
            .cloned()
            .collect()
    };
    let r = export_request(
        &gov,
        "ana_k",
        "kyoto",
        &table,
        "internal-use",
        &["--session", &id],
    );
    assert!(consent(&r).is_empty(), "{r}");
    // Someone else's session, or one of another project, is refused.
    let other = start("ind", "indus");
    gov.refused(
        &[
            "export",
            "request",
            "--user",
            "ana_k",
            "--project",
            "kyoto",
            "--file",
            table.to_str().expect("utf-8"),
            "--intent",
            "internal-use",
            "--justification",
            "counts for the project's annual report",
            "--session",
            other["session"].as_str().expect("session"),
        ],
        "",
        "R18-session",
    );
    // A patient of the view withdraws; the lake's next delivery says so.
    let cases = "clinical/cases.parquet";
    let withdrew = crate::support::python(
        "withdraw_case.py",
        &[
            &lake_dir.join(cases),
            &view.join(cases),
            Path::new("2026-12-03"),
        ],
    );
    assert!(withdrew["case"].is_string(), "{withdrew}");
    let r = export_request(
        &gov,
        "ana_k",
        "kyoto",
        &table,
        "internal-use",
        &["--session", &id],
    );
    assert_eq!(r["verdict"], "fail", "{r}");
    let found = consent(&r);
    assert_eq!(found.len(), 1, "{r}");
    assert_eq!(found[0]["rule"], "R31-withdrawn", "{r}");
    assert_eq!(found[0]["cells"][0]["patients"], 1, "{r}");
    // No id of the patient is told to the cell.
    assert!(
        !r.to_string()
            .contains(withdrew["case"].as_str().expect("id")),
        "{r}"
    );
    // A session started after the withdrawal no longer counts them.
    let fresh = start("ana_k", "kyoto");
    let r = export_request(
        &gov,
        "ana_k",
        "kyoto",
        &table,
        "internal-use",
        &["--session", fresh["session"].as_str().expect("session")],
    );
    assert!(consent(&r).is_empty(), "{r}");
}
