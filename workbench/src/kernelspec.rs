//! The Jupyter kernelspec of the workbench kernel (`workbench kernel install`).

use std::fs;
use std::path::{Path, PathBuf};

/// The kernelspec's name: `jupyter kernelspec list` shows it, notebooks record it.
pub(crate) const NAME: &str = "workbench";

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<rect width="64" height="64" rx="12" fill="#0b3d5c"/>
<path d="M12 40 C20 16, 28 48, 36 24 S 48 30, 52 22" stroke="#f2a541" stroke-width="5" fill="none" stroke-linecap="round"/>
<text x="32" y="56" font-family="sans-serif" font-size="12" fill="#ffffff" text-anchor="middle">WB</text>
</svg>
"##;

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
        use anyhow::Context;
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
/// returns the directory. The spec is staged beside its target and renamed into
/// place, replacing an older one whole.
pub(crate) fn install(
    data_dir: &Path,
    kernel: &Path,
    prelude: Option<&Prelude>,
) -> std::io::Result<PathBuf> {
    let kernels = data_dir.join("kernels");
    fs::create_dir_all(&kernels)?;
    let target = kernels.join(NAME);
    let staging = kernels.join(format!(".{NAME}.partial-{}", std::process::id()));
    fs::create_dir_all(&staging)?;
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
    fs::write(staging.join("kernel.json"), text)?;
    fs::write(staging.join("logo-svg.svg"), LOGO)?;
    if target.exists() {
        fs::remove_dir_all(&target)?;
    }
    fs::rename(&staging, &target)?;
    Ok(target)
}
