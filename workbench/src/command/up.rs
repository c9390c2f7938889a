//! `workbench up`: prepare a local enclave and open JupyterLab with the workbench kernel.
//!
//! Steps, each reported as it runs: a Python virtualenv with JupyterLab (from PyPI, pinned
//! in `tools/requirements-up.txt`), the kernelspec inside it, a synthetic demo enclave, then
//! JupyterLab on 127.0.0.1 over `notebooks/`. Steps already done are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use workbench::synth;

use super::kernelspec;

/// Arguments of `workbench up`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Port for JupyterLab on 127.0.0.1.
    #[arg(long, default_value_t = 8888)]
    port: u16,
    /// Cases in the synthetic demo enclave (made once).
    #[arg(long, default_value_t = 10_000)]
    cases: usize,
}

pub(crate) fn run(args: Args) -> Result<()> {
    let root = super::workspace_root()?;
    up(&Layout { root }, args.port, args.cases)
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

/// Prepares everything and runs JupyterLab until it is stopped.
fn up(layout: &Layout, port: u16, cases: usize) -> Result<()> {
    let total = 4;
    let started = Instant::now();
    let venv = layout.venv();
    let python = venv.join("bin/python");
    let stamp = venv.join(".requirements");
    let requirements = std::fs::read_to_string(layout.requirements())
        .context("reading tools/requirements-up.txt")?;
    step(
        1,
        total,
        "Python environment with JupyterLab (.work/jupyter-venv)",
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
        "kernelspec `workbench` and its prelude (first time: several minutes)",
    );
    let kernel = kernelspec::kernel_binary()?;
    let prelude = kernelspec::Prelude::of_workspace(&layout.root);
    prelude.prepare(&kernel)?;
    kernelspec::install(&venv.join("share/jupyter"), &kernel, Some(&prelude))
        .context("installing the kernelspec")?;
    step(
        3,
        total,
        &format!("synthetic demo enclave ({cases} cases, .work/enclave)"),
    );
    if !layout.enclave().join("lake").exists() {
        synth::write(&synth::Config::new(cases, 1), &layout.enclave())
            .context("writing the demo enclave")?;
    }
    step(
        4,
        total,
        &format!(
            "JupyterLab on http://127.0.0.1:{port}/ (ready after {:.1} s; Ctrl-C stops it)",
            started.elapsed().as_secs_f64()
        ),
    );
    let jupyter = venv.join("bin/jupyter");
    let notebooks = layout.root.join("notebooks");
    let mut lab = Command::new(jupyter);
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
