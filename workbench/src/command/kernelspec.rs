//! The Jupyter kernelspec of the workbench kernel (`workbench kernel install`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use workbench::durable;

/// The kernelspec's name: `jupyter kernelspec list` shows it, notebooks record it.
pub(crate) const NAME: &str = "workbench";

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<rect width="64" height="64" rx="12" fill="#0b3d5c"/>
<path d="M12 40 C20 16, 28 48, 36 24 S 48 30, 52 22" stroke="#f2a541" stroke-width="5" fill="none" stroke-linecap="round"/>
<text x="32" y="56" font-family="sans-serif" font-size="12" fill="#ffffff" text-anchor="middle">WB</text>
</svg>
"##;

/// The `workbench-kernel` binary beside this one.
pub(crate) fn kernel_binary() -> anyhow::Result<PathBuf> {
    let kernel = std::env::current_exe()
        .context("locating the workbench binary")?
        .with_file_name("workbench-kernel");
    anyhow::ensure!(
        kernel.is_file(),
        "{} not found; build it with `cargo build --workspace --bins`",
        kernel.display()
    );
    Ok(kernel)
}

/// The prelude a kernel starts with: its prepared template and the crate's source.
pub(crate) struct Prelude {
    pub(crate) template: PathBuf,
    pub(crate) source: PathBuf,
}

impl Prelude {
    /// The workspace's own library, with its template under `.work/`.
    pub(crate) fn of_workspace(root: &Path) -> Prelude {
        Prelude {
            template: root.join(".work/kernel-template"),
            source: root.join("kernel/prelude"),
        }
    }

    /// Builds the template (or checks that it is up to date) with `kernel prepare`;
    /// progress goes to stderr.
    pub(crate) fn prepare(&self, kernel: &Path) -> anyhow::Result<()> {
        let status = std::process::Command::new(kernel)
            .arg("prepare")
            .arg("--template")
            .arg(&self.template)
            .arg("--source")
            .arg(&self.source)
            .status()
            .with_context(|| format!("starting {}", kernel.display()))?;
        anyhow::ensure!(
            status.success(),
            "preparing the prelude template failed ({status})"
        );
        Ok(())
    }
}

/// Writes `data_dir/kernels/workbench/` with `kernel.json` pointing at `kernel`, and
/// returns the directory. Each file is replaced whole ([`workbench::durable`]), the logo
/// first and `kernel.json` last, so a failed reinstall leaves the earlier spec working.
pub(crate) fn install(
    data_dir: &Path,
    kernel: &Path,
    prelude: Option<&Prelude>,
) -> anyhow::Result<PathBuf> {
    let target = data_dir.join("kernels").join(NAME);
    fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let mut env = serde_json::Map::new();
    if let Some(prelude) = prelude {
        env.insert(
            "WORKBENCH_TEMPLATE".into(),
            prelude.template.to_string_lossy().into(),
        );
        env.insert(
            "WORKBENCH_PRELUDE_SOURCE".into(),
            prelude.source.to_string_lossy().into(),
        );
    }
    let spec = serde_json::json!({
        "argv": [kernel, "--connection-file", "{connection_file}"],
        "display_name": "Workbench (Rust)",
        "language": "rust",
        // Interrupts go over the control channel, so they work the same when the
        // kernel runs under another process (a sandbox, a container).
        "interrupt_mode": "message",
        "metadata": {"debugger": false},
        "env": env,
    });
    let text = serde_json::to_string_pretty(&spec).expect("a JSON value serialises");
    durable::write(&target.join("logo-svg.svg"), LOGO.as_bytes())?;
    durable::write(&target.join("kernel.json"), text.as_bytes())?;
    Ok(target)
}
