//! The session directory: evcxr's build of the cells, its configuration and the temporary
//! files of the tools that build them, all in one place that is removed with the session.
//!
//! The kernel creates it before it starts any thread, because the tools that build cells
//! (cargo, rustc, rust-analyzer) take their temporary directory and toolchain from the
//! process environment, and the build confinement lets them write nowhere else.

use std::path::{Path, PathBuf};

/// Prefix of session directory names; the kernel's pid and a random part follow.
const PREFIX: &str = "workbench-session-";

/// A session directory, removed when dropped.
#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
}

impl Dir {
    /// Creates `parent/workbench-session-<pid>-<random>` (mode 0700, a name no other
    /// user can guess or create first) with its `tmp/`, after removing the directories
    /// of earlier kernels that ended without cleaning up (their pid is gone).
    ///
    /// # Errors
    ///
    /// The I/O error of creating the directory.
    pub fn create(parent: &Path) -> std::io::Result<Dir> {
        remove_stale(parent);
        // tempfile creates the directory exclusively, under a random name; 0700.
        use std::os::unix::fs::PermissionsExt;
        let path = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(parent)?
            .keep();
        std::fs::create_dir_all(path.join("tmp"))?;
        Ok(Dir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the build tools keep temporary files (`TMPDIR`).
    pub fn tmp(&self) -> PathBuf {
        self.path.join("tmp")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // Best effort: a leftover is removed by the next kernel's `remove_stale`.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes session directories in `parent` whose kernel process no longer exists.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The toolchain that `rustc` resolves to here (the name of its rustup toolchain
/// directory, e.g. `1.95.0-x86_64-unknown-linux-gnu`), or `None` without rustup.
pub fn active_toolchain() -> Option<String> {
    let output = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    let parent = sysroot.parent()?;
    (parent.file_name()? == "toolchains")
        .then(|| sysroot.file_name()?.to_str().map(str::to_owned))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_directories_are_removed_and_own_is_kept_until_drop() {
        let parent = tempfile::tempdir().expect("tempdir");
        // pid 0 is never a user process: its directory is stale.
        let stale = parent.path().join(format!("{PREFIX}0"));
        std::fs::create_dir_all(&stale).expect("stale");
        let other = parent.path().join("unrelated");
        std::fs::create_dir_all(&other).expect("other");
        let dir = Dir::create(parent.path()).expect("create");
        assert!(!stale.exists());
        assert!(other.exists());
        assert!(dir.tmp().is_dir());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let name = dir
            .path()
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let random = name
            .strip_prefix(&format!("{PREFIX}{}-", std::process::id()))
            .expect("prefix");
        assert!(random.len() >= 6, "{name}");
        let path = dir.path().to_owned();
        drop(dir);
        assert!(!path.exists());
    }
}
