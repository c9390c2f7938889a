//! The enclave's sessions (R18, R31, R33–R36) as the spawner and a user drive them:
//! `workbench session start` for users of projects with different scopes, each view's
//! rows against an independent pyarrow reading of the full lake; then a kernel serving a
//! session, whose cells see their view and nothing else (the full lake, the store, Unix
//! and TCP sockets outside, files outside the workspace, `include_bytes!` of secrets,
//! `:dep` tricks, script in outputs), every cell audited with the sha256 of its code,
//! and a revocation that ends access at the next cell.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::support::{binary, python, python_path, root, workbench_ok};

/// A synthetic programme, its governance store and the people and projects of the tests.
pub(crate) struct Enclave {
    dir: tempfile::TempDir,
    store: PathBuf,
    lake: PathBuf,
}

const KYOTO: &str = "Kyoto University Hospital";
const KEIO: &str = "Keio University Hospital";
const OSAKA: &str = "Osaka University Hospital";

impl Enclave {
    pub(crate) fn new() -> Enclave {
        let dir = tempfile::tempdir().expect("tempdir");
        workbench_ok(&[
            "synth",
            "--cases",
            "800",
            "--seed",
            "13",
            "--raw-cases",
            "0",
            "--out",
            dir.path().to_str().expect("utf-8"),
        ]);
        let enclave = Enclave {
            store: dir.path().join("store"),
            lake: dir.path().join("lake"),
            dir,
        };
        enclave.ok(&["governance", "init", "--lake", enclave.lake_str()], "");
        for (user, role, institution) in [
            ("ana", "analyst", KYOTO),
            ("kei", "analyst", KEIO),
            ("osa", "acquirer", OSAKA),
            ("tra", "trainer", "University T"),
            ("root", "admin", "Programme office"),
        ] {
            enclave.ok(
                &[
                    "governance",
                    "user",
                    "add",
                    "--user",
                    user,
                    "--role",
                    role,
                    "--institution",
                    institution,
                ],
                &format!("{user}-password-long\n"),
            );
        }
        let project = |id: &str, institution: &str, types: &str, tier: &str, extra: &[&str]| {
            let mut args = vec![
                "governance",
                "project",
                "add",
                "--project",
                id,
                "--forum",
                "academic",
                "--purpose",
                "academic-research",
                "--institution",
                institution,
                "--cancer-types",
                types,
                "--tier",
                tier,
                "--expires",
                "2030-12-31",
                "--on",
                "2026-01-10",
            ];
            args.extend_from_slice(extra);
            enclave.ok(&args, "");
        };
        project("kyoto", KYOTO, "COAD,LUAD,STAD", "detailed", &[]);
        project(
            "keio",
            KEIO,
            "all",
            "detailed",
            &["--tables", "registrations,cases,diagnoses,samples"],
        );
        project("lesson", "University T", "all", "overview", &[]);
        for (project, user) in [("kyoto", "ana"), ("keio", "kei"), ("lesson", "tra")] {
            enclave.ok(
                &[
                    "governance",
                    "project",
                    "member",
                    "--project",
                    project,
                    "--user",
                    user,
                ],
                "",
            );
        }
        // Osaka's acquirer agrees to Keio's project reading Osaka's cases (R33).
        enclave.ok(
            &[
                "governance",
                "approve",
                "--project",
                "keio",
                "--by",
                "osa",
                "--what",
                "acquirer-agreement",
                "--on",
                "2026-02-01",
            ],
            "",
        );
        enclave
    }

    /// A synthetic programme of 2,000 cases (raw files included) whose analyst `ana`
    /// of Kyoto has project `notebooks` (Kyoto's cases, every cancer type, detailed
    /// tier): the notebooks run in a session of it.
    pub(crate) fn for_notebooks() -> Enclave {
        let dir = tempfile::tempdir().expect("tempdir");
        workbench_ok(&[
            "synth",
            "--cases",
            "2000",
            "--out",
            dir.path().to_str().expect("utf-8"),
        ]);
        let enclave = Enclave {
            store: dir.path().join("store"),
            lake: dir.path().join("lake"),
            dir,
        };
        enclave.ok(&["governance", "init", "--lake", enclave.lake_str()], "");
        enclave.ok(
            &[
                "governance",
                "user",
                "add",
                "--user",
                "ana",
                "--role",
                "analyst",
                "--institution",
                KYOTO,
            ],
            "ana-password-long\n",
        );
        enclave.ok(
            &[
                "governance",
                "project",
                "add",
                "--project",
                "notebooks",
                "--forum",
                "academic",
                "--purpose",
                "academic-research",
                "--institution",
                KYOTO,
                "--cancer-types",
                "all",
                "--tier",
                "detailed",
                "--expires",
                "2030-12-31",
                "--on",
                "2026-01-10",
            ],
            "",
        );
        enclave.ok(
            &[
                "governance",
                "project",
                "member",
                "--project",
                "notebooks",
                "--user",
                "ana",
            ],
            "",
        );
        enclave
    }

    /// The store, for a kernel's `WORKBENCH_STORE`.
    pub(crate) fn store(&self) -> &std::path::Path {
        &self.store
    }

    fn store_str(&self) -> &str {
        self.store.to_str().expect("utf-8")
    }

    fn lake_str(&self) -> &str {
        self.lake.to_str().expect("utf-8")
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(binary("workbench"))
            .args(args)
            .args(["--store", self.store_str()])
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
            .expect("stdin");
        child.wait_with_output().expect("workbench ends")
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "workbench {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// The environment of a kernel serving a new session of analyst `ana` in project
    /// `kyoto` (its view: Kyoto's cases of three cancer types), as the spawner sets it.
    pub(crate) fn session_env(&self) -> Vec<(&'static str, PathBuf)> {
        let started = self.start("ana", "kyoto");
        vec![
            ("WORKBENCH_STORE", self.store.clone()),
            (
                "WORKBENCH_SESSION",
                PathBuf::from(started["session"].as_str().expect("session")),
            ),
        ]
    }

    /// `workbench session start` for `user` in `project`, as JSON.
    pub(crate) fn start(&self, user: &str, project: &str) -> Value {
        let out = self.ok(
            &[
                "session",
                "start",
                "--lake",
                self.lake_str(),
                "--user",
                user,
                "--project",
                project,
                "--json",
            ],
            "",
        );
        serde_json::from_str(&out).expect("session start prints JSON")
    }

    /// Runs `cells` on a freshly installed workbench kernel in `workspace`
    /// (`tests/python/run_cells.py`) with `env` (its session), the full lake as the
    /// kernelspec's `WORKBENCH_LAKE`; the per-cell results.
    fn run_cells(
        &self,
        cells: &Value,
        workspace: &std::path::Path,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Vec<Value> {
        let cells_file = self.dir.path().join("cells.json");
        std::fs::write(&cells_file, cells.to_string()).expect("cells");
        let spec = tempfile::tempdir().expect("kernelspec");
        workbench_ok(&[
            "kernel",
            "install",
            "--prefix",
            spec.path().to_str().expect("utf-8"),
        ]);
        let output = Command::new(python_path())
            .arg(root().join("tests/python/run_cells.py"))
            .arg(&cells_file)
            .arg(workspace)
            .env("JUPYTER_PATH", spec.path().join("share/jupyter"))
            .env("JUPYTER_RUNTIME_DIR", spec.path().join("runtime"))
            .env("WORKBENCH_LAKE", &self.lake)
            .envs(env.iter().copied())
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON")
    }

    pub(crate) fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.store.join("audit.jsonl"))
            .expect("audit chain")
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON record"))
            .collect()
    }
}

fn today() -> String {
    let out = Command::new("date").arg("+%F").output().expect("date runs");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// The rows of `table` in a started session's JSON.
fn rows(started: &Value, table: &str) -> Option<u64> {
    started["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == table)
        .and_then(|t| t["rows"].as_u64())
}

fn reference(enclave: &Enclave, institution: &str, types: &str, agreeing: &str) -> Value {
    reference_of(&enclave.lake, institution, types, agreeing)
}

/// The rows a session may see of the lake in `lake`, today, by pyarrow with the rules
/// re-implemented (`tests/python/session_view_reference.py`).
pub(crate) fn reference_of(
    lake: &std::path::Path,
    institution: &str,
    types: &str,
    agreeing: &str,
) -> Value {
    let output = Command::new(python_path())
        .arg(root().join("tests/python/session_view_reference.py"))
        .arg(lake)
        .args([&today(), institution, types, agreeing])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[test]
fn each_session_sees_only_its_projects_rows_as_an_independent_reading_counts_them() {
    let enclave = Enclave::new();
    let kyoto = enclave.start("ana", "kyoto");
    let keio = enclave.start("kei", "keio");
    let want_kyoto = reference(&enclave, KYOTO, "COAD,LUAD,STAD", "");
    let want_keio = reference(&enclave, KEIO, "all", OSAKA);
    for table in ["registrations", "cases", "diagnoses", "samples"] {
        assert_eq!(
            rows(&kyoto, table),
            want_kyoto[table].as_u64(),
            "kyoto {table}: {kyoto}"
        );
        assert_eq!(
            rows(&keio, table),
            want_keio[table].as_u64(),
            "keio {table}: {keio}"
        );
    }
    assert_eq!(
        rows(&kyoto, "treatments"),
        want_kyoto["treatments"].as_u64(),
        "{kyoto}"
    );
    // Different scopes, different counts; and the views are not empty.
    assert_ne!(rows(&kyoto, "cases"), rows(&keio, "cases"));
    assert!(rows(&kyoto, "cases").is_some_and(|n| n > 0), "{kyoto}");
    // Keio's project is scoped to four tables: the rest is left out by R36-scope, and
    // not written.
    assert_eq!(
        keio["tables"].as_array().expect("tables").len(),
        4,
        "{keio}"
    );
    let left: Vec<&Value> = keio["left_out"]
        .as_array()
        .expect("left_out")
        .iter()
        .collect();
    assert!(
        left.iter()
            .any(|l| l["table"] == "treatments" && l["rule"] == "R36-scope"),
        "{keio}"
    );
    let view = PathBuf::from(keio["view"].as_str().expect("view"));
    assert!(view.join("clinical/diagnoses.parquet").is_file());
    assert!(!view.join("clinical/treatments.parquet").exists());
    // The session's directory is its own (0700) and its id is not guessable.
    let session_dir = view.parent().expect("session dir");
    let mode = std::fs::metadata(session_dir)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    assert_eq!(keio["session"].as_str().map(str::len), Some(32), "{keio}");
    // The views' rows, read back with pyarrow, are what the session reported.
    let shapes = python("parquet_shapes.py", &[&view]);
    assert_eq!(
        shapes["clinical/diagnoses.parquet"]["rows"].as_u64(),
        rows(&keio, "diagnoses"),
        "{shapes}"
    );
    // Overview: no rows at all (R33-tier), each table left out by name.
    let lesson = enclave.start("tra", "lesson");
    assert_eq!(lesson["tier"], "overview");
    assert!(
        lesson["tables"].as_array().expect("tables").is_empty(),
        "{lesson}"
    );
    assert!(
        lesson["left_out"]
            .as_array()
            .expect("left_out")
            .iter()
            .all(|l| l["rule"] == "R33-tier"),
        "{lesson}"
    );
    // Someone else's project is refused by name, and the refusal is audited.
    let out = enclave.run(
        &[
            "session",
            "start",
            "--lake",
            enclave.lake_str(),
            "--user",
            "ana",
            "--project",
            "keio",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("R36-member"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = enclave.audit();
    let kinds: Vec<&str> = audit
        .iter()
        .filter_map(|r| r["event"]["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"session-refused"), "{kinds:?}");
    let start = audit
        .iter()
        .find(|r| r["event"]["kind"] == "session" && r["event"]["session"] == keio["session"])
        .expect("the session's start is audited");
    assert_eq!(start["event"]["tables"], keio["tables"]);
    let verified = enclave.ok(&["audit", "verify", "--json"], "");
    assert!(verified.contains("\"ok\": true"), "{verified}");
}

/// The sha256 of `text`, by coreutils.
fn sha256(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("sha256sum ends");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .split_whitespace()
        .next()
        .expect("hash")
        .to_owned()
}

#[test]
fn a_session_kernel_sees_its_view_and_nothing_else_and_every_cell_is_audited() {
    let enclave = Enclave::new();
    let kyoto = enclave.start("ana", "kyoto");
    let session = kyoto["session"].as_str().expect("session").to_owned();
    let want = reference(&enclave, KYOTO, "COAD,LUAD,STAD", "");
    // Listeners outside the sandbox that no cell may reach.
    let outside = enclave.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside");
    let socket = outside.join("daemon.sock");
    let daemon = std::os::unix::net::UnixListener::bind(&socket).expect("unix listener");
    daemon.set_nonblocking(true).expect("nonblocking");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp");
    tcp.set_nonblocking(true).expect("nonblocking");
    let port = tcp.local_addr().expect("addr").port();
    let escape = outside.join("written-by-a-cell");
    let workspace = enclave.dir.path().join("workspace");
    std::fs::create_dir_all(&workspace).expect("workspace");
    let store = enclave.store.clone();
    let lake = enclave.lake.clone();
    let revoke: Vec<String> = [
        binary("workbench").to_string_lossy().into_owned(),
        "governance".into(),
        "project".into(),
        "revoke".into(),
        "--store".into(),
        enclave.store_str().into(),
        "--project".into(),
        "kyoto".into(),
        "--by".into(),
        "root".into(),
    ]
    .into();
    let cells = json!([
        {"code": "table(\"diagnoses\")?.height()"},
        {"code": format!("std::fs::read({:?}).is_err()", lake.join("registrations.parquet"))},
        {"code": format!("std::fs::read({:?}).is_err() && std::fs::read({:?}).is_err()",
                         store.join("governance.sqlite3"), store.join("audit.key"))},
        {"code": format!("include_bytes!({:?}).len()", store.join("audit.key"))},
        {"code": "include_bytes!(\"/etc/shadow\").len()"},
        {"code": format!("std::os::unix::net::UnixStream::connect({socket:?}).is_err()")},
        {"code": format!("std::net::TcpStream::connect((\"127.0.0.1\", {port})).is_err()")},
        {"code": format!("std::fs::write({escape:?}, b\"x\").is_err()")},
        {"code": ":dep evil = { \"path\" = \"/etc\" }"},
        {"code": ":dep evil = {\tpath\t= \"/etc\" }"},
        {"code": DISPLAY_SCRIPT},
        // The airlock's safe table in a cell: patients per cancer type of the view.
        {"code": "let safe = export::table(&table(\"registrations\")?, &[\"cancer_type\"]).make()?;\nsafe.cells.iter().map(|c| format!(\"{}={}\", c.index[0], c.contributors)).collect::<Vec<_>>().join(\";\")"},
        {"code": "1 + 1", "before": revoke},
    ]);
    // The kernelspec's lake would be the full one: the session's view replaces it.
    let results = enclave.run_cells(
        &cells,
        &workspace,
        &[
            ("WORKBENCH_STORE", enclave.store.as_os_str()),
            ("WORKBENCH_SESSION", session.as_ref()),
        ],
    );
    let plain = |i: usize| results[i]["plain"].as_str().unwrap_or("").to_owned();
    // The view's rows, as the independent reading counts them.
    assert_eq!(
        plain(0),
        want["diagnoses"].to_string(),
        "cell 0: {:?}",
        results[0]
    );
    for i in [1, 2, 5, 6, 7] {
        assert_eq!(plain(i), "true", "cell {i} escaped: {:?}", results[i]);
    }
    for i in [3, 4] {
        assert_eq!(
            results[i]["status"], "error",
            "cell {i} compiled: {:?}",
            results[i]
        );
    }
    assert!(daemon.accept().is_err(), "a cell reached the Unix socket");
    assert!(tcp.accept().is_err(), "a cell reached the TCP listener");
    assert!(!escape.exists(), "a cell wrote outside its workspace");
    for i in [8, 9] {
        assert_eq!(results[i]["status"], "error", "{:?}", results[i]);
        assert!(
            results[i]["evalue"]
                .as_str()
                .is_some_and(|e| e.contains(":dep may only")),
            "{:?}",
            results[i]
        );
    }
    // Script in an output never reaches the page; the rest of it does.
    let html = results[10]["html"].as_array().expect("html");
    assert_eq!(html.len(), 1, "{:?}", results[10]);
    let html = html[0].as_str().expect("text");
    assert!(html.contains("<b>ok</b>"), "{html}");
    assert!(
        !html.contains("script") && !html.contains("onclick"),
        "{html}"
    );
    assert!(
        !results[10]["mimes"]
            .as_array()
            .expect("mimes")
            .iter()
            .any(|m| m == "application/javascript"),
        "{:?}",
        results[10]
    );
    // Contributors are the view's patients, as the independent reading counts them.
    let mut counted: Vec<(String, u64)> = plain(11)
        .trim_matches('"')
        .split(';')
        .map(|c| {
            let (t, n) = c
                .split_once('=')
                .unwrap_or_else(|| panic!("{:?}", results[11]));
            (t.to_owned(), n.parse().expect("count"))
        })
        .collect();
    counted.sort();
    let mut expected: Vec<(String, u64)> = want["patients_by_cancer_type"]
        .as_object()
        .expect("per type")
        .iter()
        .map(|(t, n)| (t.clone(), n.as_u64().expect("count")))
        .collect();
    expected.sort();
    assert_eq!(counted, expected, "{:?}", results[11]);
    // Revoked between cells: the next cell is refused by the rule.
    assert_eq!(results[12]["status"], "error", "{:?}", results[12]);
    assert!(
        results[12]["evalue"]
            .as_str()
            .is_some_and(|e| e.contains("R36-revoked")),
        "{:?}",
        results[12]
    );
    // Every cell is in the chain by the sha256 of its code, the refused one too.
    let audit = enclave.audit();
    let cell_events: Vec<&Value> = audit
        .iter()
        .map(|r| &r["event"])
        .filter(|e| e["session"] == session.as_str())
        .filter(|e| e["kind"] == "cell" || e["kind"] == "cell-refused")
        .collect();
    let codes: Vec<&str> = cells
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c["code"].as_str().expect("code"))
        .collect();
    assert_eq!(cell_events.len(), codes.len(), "{cell_events:?}");
    for (event, code) in cell_events.iter().zip(&codes) {
        assert_eq!(event["code_sha256"], sha256(code), "{event}");
        assert_eq!(event["user"], "ana");
        assert_eq!(event["project"], "kyoto");
    }
    assert_eq!(cell_events.last().expect("last")["kind"], "cell-refused");
    assert_eq!(
        cell_events.last().expect("last")["decision"]["rule"],
        "R36-revoked"
    );
    let outcomes = audit
        .iter()
        .filter(|r| r["event"]["kind"] == "cell-outcome")
        .count();
    assert_eq!(outcomes, codes.len(), "every cell's outcome is recorded");
    let verified = enclave.ok(&["audit", "verify", "--json"], "");
    assert!(verified.contains("\"ok\": true"), "{verified}");
}

/// A cell that prints the kernel's display marker itself, as hostile code would: HTML
/// with a script and an event handler, and a JavaScript output.
const DISPLAY_SCRIPT: &str = r##"println!("WORKBENCH_DISPLAY {}", r#"{"text/html": "<script>document.title='x'</script><b onclick=\"x()\">ok</b>", "application/javascript": "alert(1)"}"#);"##;

/// The governance service of a test, on a socket every account may reach; stopped when
/// dropped.
struct Service {
    child: std::process::Child,
    socket: PathBuf,
}

impl Service {
    fn start(enclave: &Enclave) -> Service {
        let run = enclave.dir.path().join("run");
        std::fs::create_dir_all(&run).expect("run dir");
        // Accounts other than root pass through to the socket (the service checks who).
        for dir in [enclave.dir.path(), run.as_path()] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("mode");
        }
        let socket = run.join("governance.sock");
        let child = Command::new(binary("workbench"))
            .args([
                "governance",
                "serve",
                "--store",
                enclave.store_str(),
                "--socket",
            ])
            .arg(&socket)
            .stderr(Stdio::null())
            .spawn()
            .expect("the service runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        while !socket.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "no socket at {}",
                socket.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Service { child, socket }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_overview_session_counts_through_the_service_with_small_counts_suppressed_and_audited() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .expect("id runs")
        .stdout;
    assert_eq!(
        String::from_utf8_lossy(&uid).trim(),
        "0",
        "this test switches to another account (setpriv): run it as root, as CI does"
    );
    let enclave = Enclave::new();
    let lesson = enclave.start("tra", "lesson");
    let session = lesson["session"].as_str().expect("session").to_owned();
    let service = Service::start(&enclave);
    // Overview counts every consented case, whatever its acquirer (the reference's `*`).
    let want = reference(&enclave, "*", "all", "");
    let by_type = want["patients_by_cancer_type"]
        .as_object()
        .expect("per type");
    let threshold = 10;
    assert!(
        by_type.values().any(|n| n.as_u64() < Some(threshold)),
        "the synthetic programme has no cancer type below {threshold}: {by_type:?}"
    );
    let cells = json!([
        {"code": "table(\"diagnoses\").map(|d| d.height()).map_err(|e| e.to_string())"},
        {"code": "let counts = aggregate(\"registrations\", &[\"cancer_type\"])?;\ncounts.height()"},
        {"code": "{ let (t, n) = (counts.column(\"cancer_type\")?.str()?.clone(), counts.column(\"patients\")?.u64()?.clone());\n(0..counts.height()).map(|i| format!(\"{}={}\", t.get(i).unwrap_or(\"\"), n.get(i).map_or(\"-\".to_string(), |n| n.to_string()))).collect::<Vec<_>>().join(\";\") }"},
        {"code": "aggregate(\"registrations\", &[])?.column(\"patients\")?.u64()?.get(0).map_or(0, |n| n)"},
        {"code": "aggregate(\"samples\", &[\"case_id\"]).map(|_| ()).map_err(|e| e.to_string()).unwrap_err()"},
        {"code": "aggregate(\"registrations\", &[\"registered_on\"]).map(|_| ()).map_err(|e| e.to_string()).unwrap_err()"},
        {"code": "std::fs::read_link(\"/proc/self/ns/net\")?.display().to_string()"},
    ]);
    let workspace = enclave.dir.path().join("workspace");
    std::fs::create_dir_all(&workspace).expect("workspace");
    let results = enclave.run_cells(
        &cells,
        &workspace,
        &[
            ("WORKBENCH_GOVERNOR", service.socket.as_os_str()),
            ("WORKBENCH_SESSION", session.as_ref()),
        ],
    );
    let plain = |i: usize| {
        results[i]["plain"]
            .as_str()
            .unwrap_or("")
            .trim_matches('"')
            .to_owned()
    };
    // No rows for the overview tier.
    assert!(plain(0).contains("R33-tier"), "{:?}", results[0]);
    // One row per registered cancer type; each count is the reference's or suppressed.
    assert_eq!(plain(1), by_type.len().to_string(), "{:?}", results[1]);
    let cells: Vec<(String, Option<u64>)> = plain(2)
        .split(';')
        .map(|c| {
            let (t, n) = c
                .split_once('=')
                .unwrap_or_else(|| panic!("{c:?} is no type=count: {results:?}"));
            (t.to_owned(), n.parse().ok())
        })
        .collect();
    let mut suppressed = 0;
    for (cancer_type, shown) in &cells {
        let truth = by_type[cancer_type].as_u64().expect("count");
        match shown {
            Some(n) => {
                assert_eq!(*n, truth, "{cancer_type}");
                assert!(*n >= threshold, "{cancer_type} shown below the threshold");
            }
            None => suppressed += 1,
        }
        if truth < threshold {
            assert_eq!(*shown, None, "{cancer_type}: {truth} shown");
        }
    }
    // Never one suppressed count alone: the total would give it back.
    assert!(suppressed >= 2, "{cells:?}");
    let total: u64 = by_type.values().filter_map(Value::as_u64).sum();
    assert_eq!(plain(3), total.to_string(), "{:?}", results[3]);
    // Identifiers and dates are no categories.
    assert!(
        plain(4).contains("R33-disclosure") && plain(4).contains("identifier"),
        "{:?}",
        results[4]
    );
    assert!(
        plain(5).contains("R33-disclosure") && plain(5).contains("date"),
        "{:?}",
        results[5]
    );
    // The kernel (and so every cell) has a network namespace of its own.
    let ours = std::fs::read_link("/proc/self/ns/net").expect("own namespace");
    assert!(plain(6).starts_with("net:["), "{:?}", results[6]);
    assert_ne!(
        plain(6),
        ours.display().to_string(),
        "the kernel shares the host's network"
    );
    // Every query is in the audit chain, answered or refused, with its rule.
    let audit = enclave.audit();
    let queries: Vec<&Value> = audit
        .iter()
        .map(|r| &r["event"])
        .filter(|e| e["kind"] == "aggregate" && e["session"] == session.as_str())
        .collect();
    let outcomes: Vec<&str> = queries
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["answered", "answered", "refused", "refused"],
        "{queries:?}"
    );
    assert!(
        queries
            .iter()
            .all(|e| e["rule"] == "R33-disclosure" && e["user"] == "tra")
    );
    assert_eq!(queries[0]["threshold"], threshold);
    assert_eq!(queries[0]["query"]["by"], json!(["cancer_type"]));
    // The rows the counts come from are the store owner's only.
    let basis = enclave.store.join("aggregates").join(&session);
    let mode = std::fs::metadata(&basis)
        .expect("basis")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    // A kernel running as another account may not serve the session, and the service
    // says so (and records it), whatever the kernel claims.
    // perl-base is essential in Debian: a client any account can run.
    let probe = r#"my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!";
print $s "{\"op\":\"open\",\"session\":\"$ARGV[1]\"}\n"; print scalar <$s>;"#;
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "perl",
            "-MIO::Socket::UNIX",
            "-e",
            probe,
        ])
        .arg(&service.socket)
        .arg(&session)
        .output()
        .expect("setpriv runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON answer");
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .is_some_and(|r| r.contains("R18-session") && r.contains("uid 65534")),
        "{answer}"
    );
    let refused = enclave
        .audit()
        .into_iter()
        .any(|r| r["event"]["kind"] == "session-refused" && r["event"]["peer_uid"] == 65534);
    assert!(refused, "the refusal is audited");
    // An ended session's basis goes.
    enclave.ok(&["session", "end", "--session", &session], "");
    assert!(!basis.exists());
}

/// Live processes whose command line holds `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            (cmdline.contains(marker) && !status.contains("State:\tZ")).then_some(cmdline)
        })
        .collect()
}

#[test]
fn fork_and_thread_bombs_meet_the_sessions_process_limit_and_the_kernel_goes_on() {
    let enclave = Enclave::new();
    let kyoto = enclave.start("ana", "kyoto");
    let session = kyoto["session"].as_str().expect("session").to_owned();
    // Under the service the kernel has a user namespace of its own, where the process
    // limit counts this session's processes alone and holds for root too.
    let service = Service::start(&enclave);
    let cells = json!([
        // The shell's classic, churning in the background while the cell waits.
        {"code": "std::process::Command::new(\"sh\").args([\"-c\", \"wbbomb() { wbbomb | wbbomb & }; wbbomb; sleep 3\"]).status().map(|s| s.success()).unwrap_or(false)"},
        // Processes kept by the cell until one cannot start.
        {"code": "let mut kept = Vec::new();\nlet why = loop { match std::process::Command::new(\"sleep\").arg(\"6174\").spawn() { Ok(c) => kept.push(c), Err(e) => break e.to_string() } };\nformat!(\"{} started, then: {why}\", kept.len())"},
        {"code": "1 + 1"},
        // Threads count as processes.
        {"code": "let mut held = Vec::new();\nlet why = loop { match std::thread::Builder::new().spawn(|| std::thread::sleep(std::time::Duration::from_secs(6175))) { Ok(h) => held.push(h), Err(e) => break e.to_string() } };\nformat!(\"{} threads, then: {why}\", held.len())"},
        {"code": "2 + 2"},
    ]);
    let workspace = enclave.dir.path().join("workspace");
    std::fs::create_dir_all(&workspace).expect("workspace");
    let results = enclave.run_cells(
        &cells,
        &workspace,
        &[
            ("WORKBENCH_GOVERNOR", service.socket.as_os_str()),
            ("WORKBENCH_SESSION", session.as_ref()),
        ],
    );
    for marker in ["wbbomb", "sleep 6174"] {
        assert_eq!(
            processes_with(marker),
            Vec::<String>::new(),
            "{marker} outlived its cell"
        );
    }
    for i in [1, 3] {
        assert_eq!(results[i]["status"], "error", "cell {i}: {:?}", results[i]);
        let said = results[i]["evalue"].as_str().unwrap_or("");
        assert!(
            said.contains("process limit of 512") && said.contains("RLIMIT_NPROC"),
            "cell {i}: {:?}",
            results[i]
        );
    }
    assert_eq!(results[2]["plain"], "2", "{:?}", results[2]);
    assert_eq!(results[4]["plain"], "4", "{:?}", results[4]);
    // Each bomb is in the chain with its outcome.
    let outcomes: Vec<String> = enclave
        .audit()
        .iter()
        .map(|r| &r["event"])
        .filter(|e| e["kind"] == "cell-outcome" && e["session"] == session.as_str())
        .map(|e| e["outcome"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    // The child that held them was replaced, and the record says so.
    assert_eq!(outcomes[1], "child-ended", "{outcomes:?}");
    assert_eq!(outcomes[3], "child-ended", "{outcomes:?}");
}

#[test]
fn a_cell_asks_for_a_safe_table_to_leave_and_gets_its_request_at_once() {
    let enclave = Enclave::new();
    // The committee the airlock chooses reviewers from.
    for (user, sex, institution) in [
        ("com_f", "female", "University C"),
        ("com_m", "male", "University D"),
    ] {
        enclave.ok(
            &[
                "governance",
                "user",
                "add",
                "--user",
                user,
                "--role",
                "committee",
                "--institution",
                institution,
                "--sex",
                sex,
            ],
            &format!("{user}-password-long\n"),
        );
    }
    let kyoto = enclave.start("ana", "kyoto");
    let session = kyoto["session"].as_str().expect("session").to_owned();
    let service = Service::start(&enclave);
    let workspace = enclave.dir.path().join("workspace");
    std::fs::create_dir_all(workspace.join(".workbench-export")).expect("workspace");
    // A hand-made request naming a link to a file outside: the kernel refuses it.
    let link = r##"std::os::unix::fs::symlink("/etc/passwd", ".workbench-export/evil.txt")?;
let ask: String = "{\"name\":\"evil.txt\",\"intent\":\"internal-use\",\"justification\":\"x\"}".bytes().map(|b| format!("{b:02x}")).collect();
println!("EVCXR_INPUT_REQUEST:WORKBENCH_EXPORT {ask}");
let mut line = String::new();
std::io::stdin().read_line(&mut line)?;
line.trim().to_string()"##;
    let cells = json!([
        {"code": "let t = export::table(&table(\"registrations\")?, &[\"cancer_type\"]).make_safe(None)?;\nlet r = export::request(&t, \"internal-use\", \"patients per type for the annual report\")?;\nformat!(\"{} {} {}\", r.request, r.verdict, r.sha256)"},
        {"code": "std::fs::write(\"notes.txt\", \"free text for a colleague\")?;\nexport::request(std::path::Path::new(\"notes.txt\"), \"internal-use\", \"notes for a colleague at the hospital\")?.verdict"},
        {"code": link},
    ]);
    let results = enclave.run_cells(
        &cells,
        &workspace,
        &[
            ("WORKBENCH_GOVERNOR", service.socket.as_os_str()),
            ("WORKBENCH_SESSION", session.as_ref()),
        ],
    );
    let plain = |i: usize| {
        results[i]["plain"]
            .as_str()
            .unwrap_or("")
            .trim_matches('"')
            .to_owned()
    };
    let answer = plain(0);
    let parts: Vec<&str> = answer.split(' ').collect();
    assert_eq!(parts.len(), 3, "{:?}", results[0]);
    let (id, verdict, sha) = (parts[0], parts[1], parts[2]);
    assert_eq!(verdict, "pass", "{:?}", results[0]);
    // Frozen in the spool under its sha256, and the request is the session's.
    let frozen = std::fs::read(enclave.store.join("spool").join(sha)).expect("frozen object");
    assert_eq!(sha256_bytes(&frozen), sha);
    let audit = enclave.audit();
    let made = audit
        .iter()
        .map(|r| &r["event"])
        .find(|e| e["kind"] == "export-request" && e["request"] == id)
        .unwrap_or_else(|| panic!("no export-request record for {id}"));
    assert_eq!(made["user"], "ana");
    assert_eq!(made["project"], "kyoto");
    assert_eq!(made["session"], session.as_str());
    // A workspace file that is not a table goes to the reviewers.
    assert_eq!(plain(1), "review", "{:?}", results[1]);
    // The kernel never follows a link out of the export directory.
    assert!(
        plain(2).contains("R39-export") && plain(2).contains("evil.txt"),
        "{:?}",
        results[2]
    );
}

fn sha256_bytes(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("stdin");
    let out = child.wait_with_output().expect("sha256sum ends");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
