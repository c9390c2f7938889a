//! `workbench up`: the governed enclave on the synthetic programme, on this machine.
//!
//! Steps, each reported as it runs: a Python virtualenv with JupyterHub and JupyterLab
//! (PyPI, pinned in `tools/requirements-up.txt`), the proxy (npm, pinned in
//! `hub/package-lock.json`), the kernelspec and its prelude, a synthetic programme with a
//! governance store of demo users and projects, then the governance service and JupyterHub
//! on 127.0.0.1. Steps already done are skipped. `--single-user` instead opens one
//! JupyterLab without logins or sessions, for a trainer's own machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use workbench::synth;

use super::kernelspec;

/// Arguments of `workbench up`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Port on 127.0.0.1 (JupyterHub; JupyterLab with `--single-user`).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Cases in the synthetic demo programme (made once).
    #[arg(long, default_value_t = 10_000)]
    cases: usize,
    /// One JupyterLab for a trainer's own machine: no logins, no sessions, no governance.
    #[arg(long)]
    single_user: bool,
    /// Print the current TOTP code of a demo user (demo users only) and exit.
    #[arg(long, value_name = "USER")]
    demo_code: Option<String>,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let layout = Layout {
        root: super::workspace_root()?,
    };
    if let Some(user) = &args.demo_code {
        println!("{:06}", demo_code(&layout, user)?);
        return Ok(());
    }
    up(&layout, &args)
}

/// Where `up` keeps its state, relative to the workspace root.
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
}

impl Layout {
    fn venv(&self) -> PathBuf {
        self.root.join(".work/jupyter-venv")
    }
    fn enclave(&self) -> PathBuf {
        self.root.join(".work/enclave")
    }
    fn store(&self) -> PathBuf {
        self.enclave().join("store")
    }
    fn demo_users(&self) -> PathBuf {
        self.enclave().join("demo-users.json")
    }
    fn proxy(&self) -> PathBuf {
        self.root.join(".work/hub-proxy")
    }
    fn requirements(&self) -> PathBuf {
        self.root.join("tools/requirements-up.txt")
    }
}

fn step(n: usize, total: usize, what: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("[{n}/{total}] {what}");
    }
}

fn run_step(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// A demo user: name, role, institution, the projects they are a member of.
struct Demo {
    user: &'static str,
    role: &'static str,
    institution: &'static str,
    sex: &'static str,
}

const KYOTO: &str = "Kyoto University Hospital";
const KEIO: &str = "Keio University Hospital";
const OSAKA: &str = "Osaka University Hospital";

/// One user of every role.
const DEMO: [Demo; 8] = [
    Demo {
        user: "ana",
        role: "analyst",
        institution: KYOTO,
        sex: "female",
    },
    Demo {
        user: "kei",
        role: "analyst",
        institution: KEIO,
        sex: "male",
    },
    Demo {
        user: "osa",
        role: "acquirer",
        institution: OSAKA,
        sex: "female",
    },
    Demo {
        user: "tra",
        role: "trainer",
        institution: "University T",
        sex: "male",
    },
    Demo {
        user: "pia",
        role: "pipeline",
        institution: KYOTO,
        sex: "female",
    },
    Demo {
        user: "ind",
        role: "industry",
        institution: "Pharma K.K.",
        sex: "male",
    },
    Demo {
        user: "com",
        role: "committee",
        institution: "National Cancer Center",
        sex: "female",
    },
    Demo {
        user: "adm",
        role: "admin",
        institution: "Programme office",
        sex: "male",
    },
];

/// Prepares everything and runs the enclave until it is stopped.
fn up(layout: &Layout, args: &Args) -> Result<()> {
    let total = if args.single_user { 4 } else { 6 };
    let started = Instant::now();
    if !args.single_user {
        preflight()?;
    }
    let venv = layout.venv();
    let python = venv.join("bin/python");
    let stamp = venv.join(".requirements");
    let requirements = std::fs::read_to_string(layout.requirements())
        .context("reading tools/requirements-up.txt")?;
    step(
        1,
        total,
        "Python environment with JupyterHub and JupyterLab (.work/jupyter-venv)",
    );
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(requirements.as_str()) {
        run_step(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
        run_step(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
                .arg(layout.requirements()),
            "pip install (PyPI)",
        )?;
        workbench::durable::write(&stamp, requirements.as_bytes())
            .context("recording the installed requirements")?;
    }
    step(
        2,
        total,
        "kernelspec `workbench` and its prelude (first time: a minute)",
    );
    let kernel = kernelspec::kernel_binary()?;
    let prelude = kernelspec::Prelude::of_workspace(&layout.root);
    prelude.prepare(&kernel)?;
    kernelspec::install(&venv.join("share/jupyter"), &kernel, Some(&prelude))
        .context("installing the kernelspec")?;
    step(
        3,
        total,
        &format!("synthetic programme ({} cases, .work/enclave)", args.cases),
    );
    if !layout.enclave().join("lake").exists() {
        synth::write(&synth::Config::new(args.cases, 1), &layout.enclave())
            .context("writing the demo programme")?;
    }
    if args.single_user {
        return single_user(layout, args.port, started, total);
    }
    step(
        4,
        total,
        "governance store with demo users and projects (.work/enclave/store)",
    );
    if !layout
        .store()
        .join(workbench_governance::store::DATABASE)
        .exists()
        || !layout.demo_users().exists()
    {
        demo_store(layout).context("making the demo governance store")?;
    }
    close_enclave(layout)?;
    step(5, total, "the proxy (configurable-http-proxy, npm)");
    let chp = proxy(layout)?;
    step(
        6,
        total,
        &format!(
            "the governance service and JupyterHub on http://127.0.0.1:{} (ready after {:.1} s; Ctrl-C stops both)",
            args.port,
            started.elapsed().as_secs_f64()
        ),
    );
    print_logins(layout, args.port)?;
    hub(layout, &chp, args.port)
}

/// The governed enclave starts session servers as other accounts inside namespaces: it
/// needs root and the tools that do it, and refuses to start without them.
fn preflight() -> Result<()> {
    if !is_root() {
        bail!(
            "the governed enclave runs each session's JupyterLab as its own system account in a bubblewrap namespace, which needs root: run `./x up` as root (or `workbench up --single-user` for one JupyterLab without governance)"
        );
    }
    for (tool, package) in [
        ("bwrap", "bubblewrap"),
        ("setpriv", "util-linux"),
        ("useradd", "passwd"),
        ("node", "nodejs"),
        ("npm", "npm"),
    ] {
        if which(tool).is_none() {
            bail!("`{tool}` is missing (Debian package {package}); `./x up` installs it");
        }
    }
    Ok(())
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    })
}

/// Runs this binary with `args`, `stdin` on its standard input; returns its stdout.
fn workbench(args: &[&str], stdin: &str) -> Result<String> {
    use std::io::Write;
    let exe = std::env::current_exe().context("locating the workbench binary")?;
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running workbench")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "workbench {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The demo store: every role, three academic projects (two scopes and an overview-tier
/// course) and an industry one, with the approvals they need. Passwords and TOTP secrets
/// go to `demo-users.json` (mode 0600), for the demo only.
fn demo_store(layout: &Layout) -> Result<()> {
    let store = layout.store();
    if store.exists() {
        std::fs::remove_dir_all(&store).context("removing an unfinished demo store")?;
    }
    let store_s = store.to_string_lossy().into_owned();
    let lake_s = layout.enclave().join("lake").to_string_lossy().into_owned();
    workbench(
        &["governance", "init", "--store", &store_s, "--lake", &lake_s],
        "",
    )?;
    let mut users = serde_json::Map::new();
    for demo in &DEMO {
        let password = format!("{}-demo-password", demo.user);
        let mut add = vec![
            "governance",
            "user",
            "add",
            "--store",
            &store_s,
            "--user",
            demo.user,
            "--role",
            demo.role,
            "--institution",
            demo.institution,
            "--sex",
            demo.sex,
        ];
        if demo.role == "industry" {
            add.extend(["--company", demo.institution]);
        }
        let uri = workbench(&add, &format!("{password}\n"))?;
        let secret = uri
            .trim()
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("secret="))
            .context("the TOTP URI has no secret")?
            .to_owned();
        users.insert(
            demo.user.into(),
            json!({"role": demo.role, "institution": demo.institution,
                   "password": password, "totp_secret": secret, "totp_uri": uri.trim()}),
        );
    }
    let today = workbench::lake::today();
    let on = today.format("%Y-%m-%d").to_string();
    let expires = (today + chrono::Duration::days(3 * 365))
        .format("%Y-%m-%d")
        .to_string();
    let project = |id: &str,
                   forum: &str,
                   purpose: &str,
                   institution: &str,
                   types: &str,
                   tier: &str,
                   extra: &[&str]| {
        let mut a = vec![
            "governance",
            "project",
            "add",
            "--store",
            &store_s,
            "--project",
            id,
            "--forum",
            forum,
            "--purpose",
            purpose,
            "--institution",
            institution,
            "--cancer-types",
            types,
            "--tier",
            tier,
            "--expires",
            &expires,
            "--on",
            &on,
        ];
        a.extend_from_slice(extra);
        workbench(&a, "").map(drop)
    };
    project(
        "kyoto",
        "academic",
        "academic-research",
        KYOTO,
        "COAD,LUAD,STAD",
        "detailed",
        &[],
    )?;
    project(
        "keio",
        "academic",
        "academic-research",
        KEIO,
        "all",
        "detailed",
        &["--tables", "registrations,cases,diagnoses,samples"],
    )?;
    project(
        "lesson",
        "academic",
        "academic-research",
        "University T",
        "all",
        "overview",
        &[],
    )?;
    project(
        "pharma",
        "industry",
        "drug-development",
        "Pharma K.K.",
        "all",
        "overview",
        &["--paid-plan"],
    )?;
    for (project, user) in [
        ("kyoto", "ana"),
        ("kyoto", "pia"),
        ("keio", "kei"),
        ("lesson", "tra"),
        ("lesson", "ana"),
        ("pharma", "ind"),
    ] {
        workbench(
            &[
                "governance",
                "project",
                "member",
                "--store",
                &store_s,
                "--project",
                project,
                "--user",
                user,
            ],
            "",
        )?;
    }
    workbench(
        &[
            "governance",
            "approve",
            "--store",
            &store_s,
            "--project",
            "keio",
            "--by",
            "osa",
            "--what",
            "acquirer-agreement",
            "--on",
            &on,
        ],
        "",
    )?;
    let file = layout.demo_users();
    workbench::durable::write(
        &file,
        serde_json::to_string_pretty(&Value::Object(users))?.as_bytes(),
    )?;
    set_mode(&file, 0o600)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

/// File modes of the enclave: the full lake is root's only; session accounts pass
/// through the store to their own view and reach the service's socket.
fn close_enclave(layout: &Layout) -> Result<()> {
    let enclave = layout.enclave();
    set_mode(&enclave, 0o711)?;
    set_mode(&enclave.join("lake"), 0o700)?;
    if enclave.join("raw").exists() {
        set_mode(&enclave.join("raw"), 0o700)?;
    }
    set_mode(&layout.store(), 0o711)?;
    for dir in ["run", "workspaces", "hub"] {
        std::fs::create_dir_all(enclave.join(dir))?;
    }
    set_mode(&enclave.join("run"), 0o755)?;
    set_mode(&enclave.join("workspaces"), 0o711)?;
    set_mode(&enclave.join("hub"), 0o700)
}

/// configurable-http-proxy from the npm registry, as `hub/package-lock.json` pins it.
fn proxy(layout: &Layout) -> Result<PathBuf> {
    let dir = layout.proxy();
    let chp = dir.join("node_modules/.bin/configurable-http-proxy");
    let lock = std::fs::read(layout.root.join("hub/package-lock.json"))
        .context("reading hub/package-lock.json")?;
    if chp.exists() && std::fs::read(dir.join("package-lock.json")).ok() == Some(lock.clone()) {
        return Ok(chp);
    }
    std::fs::create_dir_all(&dir)?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(layout.root.join("hub").join(file), dir.join(file))
            .with_context(|| format!("copying hub/{file}"))?;
    }
    run_step(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--omit=dev"])
            .current_dir(&dir),
        "npm ci (configurable-http-proxy)",
    )?;
    Ok(chp)
}

fn print_logins(layout: &Layout, port: u16) -> Result<()> {
    let users: Value = serde_json::from_slice(
        &std::fs::read(layout.demo_users()).context("reading demo-users.json")?,
    )?;
    let exe = std::env::current_exe()?;
    let mut text = format!(
        "\nThe enclave: http://127.0.0.1:{port}/ — log in with a demo user's password and the current code of their authenticator.\n\n"
    );
    for demo in &DEMO {
        text.push_str(&format!(
            "  {:<4} {:<10} password {}\n",
            demo.user,
            demo.role,
            users[demo.user]["password"].as_str().unwrap_or("?")
        ));
    }
    text.push_str(&format!(
        "\nDemo projects: kyoto (ana, pia), keio (kei), lesson (tra, ana; overview tier), pharma (ind; overview tier).\nThe current code of a demo user (demo only; real users enrol the TOTP URI in their authenticator app):\n  {} up --demo-code ana\nTheir TOTP URIs are in {}.\n",
        exe.display(),
        layout.demo_users().display()
    ));
    #[allow(clippy::print_stderr)]
    {
        eprintln!("{text}");
    }
    Ok(())
}

/// The current code of demo user `user`, from `demo-users.json`.
fn demo_code(layout: &Layout, user: &str) -> Result<u32> {
    let users: Value =
        serde_json::from_slice(&std::fs::read(layout.demo_users()).with_context(|| {
            format!(
                "reading {} (run `./x up` first)",
                layout.demo_users().display()
            )
        })?)?;
    let secret = users[user]["totp_secret"]
        .as_str()
        .with_context(|| format!("{user} is not a demo user"))?;
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret.trim_end_matches('=').as_bytes())
        .context("a demo TOTP secret that is not base32")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    Ok(workbench_governance::totp::code(
        &secret,
        workbench_governance::totp::step_of(now),
    ))
}

/// Kills the child when dropped: the service does not outlive the hub.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The governance service, then JupyterHub until it stops.
fn hub(layout: &Layout, chp: &Path, port: u16) -> Result<()> {
    let enclave = layout.enclave();
    let socket = enclave.join("run/governor.sock");
    let exe = std::env::current_exe()?;
    let _service = Service(
        Command::new(&exe)
            .args(["governance", "serve", "--store"])
            .arg(layout.store())
            .arg("--socket")
            .arg(&socket)
            .spawn()
            .context("starting the governance service")?,
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        if Instant::now() > deadline {
            bail!(
                "the governance service did not listen on {}",
                socket.display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let hub_dir = enclave.join("hub");
    let venv = layout.venv();
    run_step(
        Command::new(venv.join("bin/jupyterhub"))
            .arg("-f")
            .arg(layout.root.join("hub/jupyterhub_config.py"))
            .current_dir(&hub_dir)
            .env("WORKBENCH_BIN", &exe)
            .env("WORKBENCH_ROOT", &layout.root)
            .env("WORKBENCH_ENCLAVE", &enclave)
            .env("WORKBENCH_VENV", &venv)
            .env("WORKBENCH_HUB_DIR", &hub_dir)
            .env("WORKBENCH_CHP", chp)
            .env("WORKBENCH_HUB_URL", format!("http://127.0.0.1:{port}"))
            // The hub's API and the proxy's, on the two ports after the public one.
            .env("WORKBENCH_HUB_API_PORT", (port + 1).to_string())
            .env("WORKBENCH_PROXY_API_PORT", (port + 2).to_string())
            .env("PYTHONPATH", layout.root.join("hub"))
            .env("PYTHONNOUSERSITE", "1")
            .env_remove("WORKBENCH_SINGLE_USER"),
        "jupyterhub",
    )
}

/// One JupyterLab without governance (a trainer's own machine).
fn single_user(layout: &Layout, port: u16, started: Instant, total: usize) -> Result<()> {
    let venv = layout.venv();
    step(
        4,
        total,
        &format!(
            "JupyterLab on http://127.0.0.1:{port}/ without governance (ready after {:.1} s; Ctrl-C stops it)",
            started.elapsed().as_secs_f64()
        ),
    );
    let notebooks = layout.root.join("notebooks");
    let mut lab = Command::new(venv.join("bin/jupyter"));
    lab.arg("lab");
    // Jupyter refuses to run as root unless told; containers and CI machines often are root.
    if is_root() {
        lab.arg("--allow-root");
    }
    run_step(
        lab.args(["--no-browser", "--ServerApp.ip=127.0.0.1"])
            .arg(format!("--ServerApp.port={port}"))
            .arg(format!("--ServerApp.root_dir={}", notebooks.display()))
            .env("JUPYTER_PATH", venv.join("share/jupyter"))
            .env("WORKBENCH_LAKE", layout.enclave().join("lake"))
            // One user on their own machine: the kernel runs cells without a governed
            // session (the enclave's JupyterHub gives each one a session instead).
            .env("WORKBENCH_SINGLE_USER", "1"),
        "jupyter lab",
    )
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// The workspace root: the nearest ancestor of `start` with `notebooks/` and `Cargo.toml`.
pub(crate) fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("notebooks").is_dir() && d.join("Cargo.toml").is_file())
        .map(Path::to_owned)
}
