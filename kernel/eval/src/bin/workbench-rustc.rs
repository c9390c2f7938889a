//! The rustc wrapper of a session's cell builds: gives the cell crate the prelude library.
//!
//! cargo runs it as `workbench-rustc RUSTC ARGS…` (the session's `build.rustc-wrapper`);
//! see `kernel_eval::prelude` for why the library is not a cargo dependency.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let extern_arg = std::env::var_os(kernel_eval::prelude::EXTERN_VAR);
    let deps: Vec<_> = std::env::var_os(kernel_eval::prelude::DEPS_VAR)
        .map(|list| std::env::split_paths(&list).collect())
        .unwrap_or_default();
    let command = kernel_eval::prelude::wrap_rustc(&args, extern_arg.as_deref(), &deps);
    let Some((rustc, rest)) = command.split_first() else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("workbench-rustc: cargo runs this as `workbench-rustc RUSTC ARGS…`");
        }
        std::process::exit(2);
    };
    let err = std::process::Command::new(rustc).args(rest).exec();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "workbench-rustc: running {}: {err}",
            rustc.to_string_lossy()
        );
    }
    std::process::exit(1);
}
