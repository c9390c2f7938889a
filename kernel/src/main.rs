//! `workbench-kernel`: the workbench's Jupyter kernel.
//!
//! Started by a Jupyter front end with `--connection-file FILE` (the kernelspec's argv);
//! `workbench-kernel prepare` builds the prelude's template once, at install time.
//! The async side (`server`) owns the ZeroMQ sockets; the kernel thread (`dispatch`)
//! owns the evaluator and handles shell requests one at a time.

mod cgroup;
mod connection;
mod dispatch;
mod governor;
mod inspect;
mod isolate;
mod sanitise;
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

// rust-analyzer, inside this process, allocates and frees millions of small syntax and
// query objects; with jemalloc the kernel spends about 10 % less CPU before its first
// result and a third of it on a trivial cell (docs/kernel.md, "Allocator"). jemalloc is
// linked unprefixed, so it is the process's malloc (std is a shared library here, which a
// `#[global_allocator]` would not cover: allocations from inside libstd.so went to glibc).
use tikv_jemalloc_sys as _;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The front end shows the kernel's stderr when a start fails.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("workbench-kernel: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Environment of the kernel (set in the kernelspec): the prelude's template directory.
const TEMPLATE_VAR: &str = "WORKBENCH_TEMPLATE";
/// Environment of the kernel (set in the kernelspec): the prelude crate's source.
const PRELUDE_SOURCE_VAR: &str = "WORKBENCH_PRELUDE_SOURCE";

const USAGE: &str = "usage: workbench-kernel --connection-file FILE [--eval-child BIN]\n       \
     workbench-kernel prepare --template DIR --source DIR";

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("prepare") {
        args.next();
        return prepare(args);
    }
    let mut connection_file: Option<PathBuf> = None;
    let mut child: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connection-file" | "-f" => connection_file = args.next().map(PathBuf::from),
            "--eval-child" => child = args.next().map(PathBuf::from),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let connection_file =
        connection_file.with_context(|| format!("missing --connection-file FILE\n{USAGE}"))?;
    let info = connection::Info::read(&connection_file)?;
    // A kernel of the enclave (served through the governance service) runs in a network
    // namespace of its own, made while this is the only thread; its front end reaches it
    // over Unix sockets. Confinement fails closed: no namespace, no kernel.
    let enclave = std::env::var_os(governor::GOVERNOR_VAR).is_some();
    // Every process and thread of this kernel's tree counts against one bound, also when
    // it runs as root (whom RLIMIT_NPROC does not bind). An enclave kernel without any
    // bound refuses to start; elsewhere it says so and goes on.
    let processes = kernel_eval::confine::Limits::for_build()
        .processes
        .unwrap_or(512);
    match cgroup::limit_processes(processes) {
        Ok(placed) => log(&format!(
            "at most {processes} processes and threads (pids cgroup {})",
            placed.dir.display()
        )),
        Err(why) if enclave => cgroup::require_bound(&why)?,
        Err(why) => log(&format!(
            "no pids cgroup ({why:#}): RLIMIT_NPROC alone bounds processes"
        )),
    }
    match (info.transport.as_str(), enclave) {
        ("ipc", _) => isolate::network().context(
            "confinement layer `network namespace` cannot be applied; refusing to start",
        )?,
        (transport, true) => bail!(
            "confinement layer `network namespace`: an enclave kernel is reached over ZeroMQ ipc (jupyter_server's KernelManager.transport = \"ipc\"), not {transport}; refusing to start"
        ),
        _ => {}
    }
    let child = match child {
        Some(path) => path,
        None => default_child()?,
    };
    // The session workspace is the only place user code may write: the directory named
    // by WORKBENCH_WORKSPACE, else the directory Jupyter started us in (the notebook's).
    let workspace = match std::env::var_os(kernel_eval::confine::WORKSPACE_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    let _ = dispatch::EXPORT_DIR.set(workspace.join(".workbench-export"));
    // Without a template the kernel still runs Rust, but cells lack the workbench
    // library; say so where the front end's log shows it.
    let prelude = match (
        std::env::var_os(TEMPLATE_VAR),
        std::env::var_os(PRELUDE_SOURCE_VAR),
    ) {
        (Some(template), Some(source)) => Some(kernel_eval::Prelude::workbench(
            Path::new(&source),
            Path::new(&template),
        )),
        _ => {
            log(&format!(
                "{TEMPLATE_VAR} or {PRELUDE_SOURCE_VAR} not set: cells start without the workbench prelude"
            ));
            None
        }
    };
    // The session directory, and the environment the build tools read, are set up
    // before any thread exists (see `set_build_env`).
    let session = kernel_eval::session::Dir::create(&std::env::temp_dir())
        .context("creating the session directory")?;
    let toolchain = prelude
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p.template.join(TOOLCHAIN_FILE)).ok());
    let analyzer_sources = prelude
        .as_ref()
        .and_then(|p| kernel_eval::analyzer::sources(&p.template));
    set_build_env(
        &session.tmp(),
        toolchain.as_deref().map(str::trim),
        analyzer_sources.as_deref(),
    );
    // The session (R18, R36): its view is the only data cells see. Decided, and the
    // environment set, while this is the only thread.
    let plan = governor::from_env();
    let view: Vec<PathBuf> = match &plan {
        governor::Plan::Session(opened) => {
            let view = opened.view.clone();
            // SAFETY: no other thread exists yet (see `set_build_env`).
            #[allow(unsafe_code)]
            unsafe {
                std::env::set_var(LAKE_VAR, &view)
            };
            vec![view]
        }
        governor::Plan::SingleUser => std::env::var_os(LAKE_VAR)
            .map(PathBuf::from)
            .into_iter()
            .collect(),
        governor::Plan::Refused(reason) => {
            log(&format!("every cell will be refused: {reason}"));
            // SAFETY: as above.
            #[allow(unsafe_code)]
            unsafe {
                std::env::remove_var(LAKE_VAR)
            };
            Vec::new()
        }
    };
    server::serve(
        info,
        kernel_eval::Config {
            child,
            workspace,
            prelude,
            view,
            session: Some(session.path().to_owned()),
        },
        session,
        plan,
    )
}

/// The environment variable that names the lake cells read (`workbench::session`).
const LAKE_VAR: &str = "WORKBENCH_LAKE";

/// The file in the template that names the toolchain it was built with.
const TOOLCHAIN_FILE: &str = "toolchain";

/// Points the build tools' temporary files at `tmp` (the only place the confined build
/// may write besides the session), pins the rustup toolchain, so that every session
/// compiles with the toolchain the template was built with, wherever it runs, and shows
/// rust-analyzer the template's trimmed standard library (`kernel_eval::analyzer`)
/// unless `RUST_SRC_PATH` is set already.
#[allow(unsafe_code)]
fn set_build_env(tmp: &Path, toolchain: Option<&str>, analyzer_sources: Option<&Path>) {
    // SAFETY: called from `main` before the runtime, the kernel thread or any other
    // thread starts, so nothing reads the environment concurrently.
    unsafe {
        // Build scripts ask cargo to rebuild when variables they read change
        // (`rerun-if-env-changed`), among them cargo's per-package ones. Inherited from
        // a parent run by cargo (a test harness, `cargo run`), they would differ from
        // the template's and make every session rebuild polars: drop them.
        for (name, _) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if (name.starts_with("CARGO_") && name != "CARGO_HOME")
                || name == "CARGO"
                || name == "OUT_DIR"
            {
                std::env::remove_var(name);
            }
        }
        std::env::set_var("TMPDIR", tmp);
        if let Some(toolchain) = toolchain.filter(|t| !t.is_empty()) {
            std::env::set_var("RUSTUP_TOOLCHAIN", toolchain);
        }
        if let Some(sources) = analyzer_sources
            && std::env::var_os("RUST_SRC_PATH").is_none()
        {
            std::env::set_var("RUST_SRC_PATH", sources);
        }
    }
}

/// The evaluation child sits next to the kernel binary.
fn default_child() -> Result<PathBuf> {
    Ok(std::env::current_exe()
        .context("locating the kernel binary")?
        .with_file_name("workbench-eval-child"))
}

/// `prepare`: builds the prelude's template, reporting each step on stderr.
fn prepare(mut args: impl Iterator<Item = String>) -> Result<()> {
    let (mut template, mut source) = (None, None);
    while let Some(arg) = args.next() {
        let value = args.next().map(PathBuf::from);
        match arg.as_str() {
            "--template" => template = value,
            "--source" => source = value,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let template = template.with_context(|| format!("missing --template DIR\n{USAGE}"))?;
    let source = source.with_context(|| format!("missing --source DIR\n{USAGE}"))?;
    // Absolute paths: they end up in the template and in the kernelspec.
    let absolute = |p: PathBuf| -> Result<PathBuf> {
        Ok(std::env::current_dir()
            .context("reading the current directory")?
            .join(p))
    };
    let (template, source) = (absolute(template)?, absolute(source)?);
    let prelude = kernel_eval::Prelude::workbench(&source, &template);
    // The session that checks the library, where a kernel's would be: outside any cargo
    // workspace (cargo reads the manifests above a build, and the confinement lets it
    // read no workspace the template may sit in).
    let session = kernel_eval::session::Dir::create(&std::env::temp_dir())
        .context("creating the check session")?;
    // The toolchain of this checkout (its rust-toolchain.toml) becomes the template's.
    let toolchain = kernel_eval::session::active_toolchain();
    std::fs::create_dir_all(&template)
        .with_context(|| format!("creating {}", template.display()))?;
    if let Some(toolchain) = &toolchain {
        std::fs::write(template.join(TOOLCHAIN_FILE), toolchain)
            .with_context(|| format!("writing {}", template.display()))?;
    }
    set_build_env(&session.tmp(), toolchain.as_deref(), None);
    let started = std::time::Instant::now();
    let progress = |step: &str| {
        log(&format!(
            "[{:.0} s] {step}",
            started.elapsed().as_secs_f64()
        ));
    };
    kernel_eval::prelude::prepare(&prelude, &default_child()?, session.path(), &progress)
        .with_context(|| format!("preparing the prelude template in {}", template.display()))
}

fn log(message: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("workbench-kernel: {message}");
    }
}
