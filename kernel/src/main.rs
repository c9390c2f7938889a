//! `workbench-kernel`: the workbench's Jupyter kernel.
//!
//! Started by a Jupyter front end with `--connection-file FILE` (the kernelspec's argv).
//! The async side (`server`) owns the ZeroMQ sockets; the kernel thread (`dispatch`)
//! owns the evaluator and handles shell requests one at a time.

mod connection;
mod dispatch;
mod inspect;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

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

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut connection_file: Option<PathBuf> = None;
    let mut child: Option<PathBuf> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connection-file" | "-f" => connection_file = args.next().map(PathBuf::from),
            "--eval-child" => child = args.next().map(PathBuf::from),
            other => {
                bail!("unknown argument {other:?}; usage: workbench-kernel --connection-file FILE")
            }
        }
    }
    let connection_file = connection_file.context("missing --connection-file FILE")?;
    let info = connection::Info::read(&connection_file)?;
    // The evaluation child sits next to the kernel binary unless told otherwise.
    let child = match child {
        Some(path) => path,
        None => std::env::current_exe()
            .context("locating the kernel binary")?
            .with_file_name("workbench-eval-child"),
    };
    // The session workspace is the only place user code may write: the directory named
    // by WORKBENCH_WORKSPACE, else the directory Jupyter started us in (the notebook's).
    let workspace = match std::env::var_os(kernel_eval::confine::WORKSPACE_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir().context("reading the current directory")?,
    };
    server::serve(info, child, workspace)
}
