//! `workbench kernel`: the Jupyter kernelspec.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use super::kernelspec;

#[derive(Subcommand)]
pub(crate) enum Action {
    /// Write the kernelspec (`kernels/workbench/kernel.json`) so Jupyter finds the kernel.
    Install {
        /// Install for the current user (~/.local/share/jupyter); the default.
        #[arg(long, conflicts_with = "prefix")]
        user: bool,
        /// Install under PREFIX/share/jupyter (e.g. a virtualenv).
        #[arg(long)]
        prefix: Option<PathBuf>,
        /// Skip the workbench prelude: cells get plain Rust, no template is built.
        #[arg(long)]
        no_prelude: bool,
    },
}

pub(crate) fn run(action: Action) -> Result<()> {
    let Action::Install {
        user: _,
        prefix,
        no_prelude,
    } = action;
    let data_dir = match prefix {
        Some(prefix) => prefix.join("share/jupyter"),
        None => match std::env::var_os("XDG_DATA_HOME") {
            Some(data) => PathBuf::from(data).join("jupyter"),
            None => {
                PathBuf::from(std::env::var_os("HOME").context("HOME is not set; pass --prefix")?)
                    .join(".local/share/jupyter")
            }
        },
    };
    let kernel = kernelspec::kernel_binary()?;
    let prelude = if no_prelude {
        None
    } else {
        let root = super::workspace_root()?;
        let prelude = kernelspec::Prelude::of_workspace(&root);
        eprintln!(
            "preparing the workbench prelude in {} (first time: several minutes)",
            prelude.template.display()
        );
        prelude.prepare(&kernel)?;
        Some(prelude)
    };
    let dir = kernelspec::install(&data_dir, &kernel, prelude.as_ref())
        .context("installing the kernelspec")?;
    eprintln!(
        "installed kernelspec {} in {}",
        kernelspec::NAME,
        dir.display()
    );
    Ok(())
}
