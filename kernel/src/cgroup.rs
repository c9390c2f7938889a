//! The kernel's own pids cgroup: a bound on the processes and threads of the kernel, its
//! builds, its evaluation child and everything a cell starts, together.
//!
//! RLIMIT_NPROC (see `kernel_eval::confine`) counts the processes of an account and is
//! not enforced for root, which runs kernels in tests and in a trainer's single-user
//! mode; a cgroup's `pids.max` holds whoever the kernel runs as, and counts this kernel's
//! tree alone. The kernel makes `workbench-kernel-PID` below its own cgroup of the pids
//! controller (v1 `/sys/fs/cgroup/pids`, or v2 where it offers `pids`), writes the limit,
//! and moves itself in while it is the only thread; everything it starts inherits it.
//! Empty cgroups of ended kernels are removed by the next kernel that starts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The cgroup the kernel placed itself in.
#[derive(Debug)]
pub(crate) struct Placed {
    /// Its directory.
    pub(crate) dir: PathBuf,
}

/// Places this process in a new pids cgroup limited to `max` tasks.
///
/// # Errors
///
/// No pids controller is mounted, or this account may not make or join a cgroup there.
pub(crate) fn limit_processes(max: u64) -> Result<Placed> {
    let own = std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
    let parent = pids_cgroup(&own, Path::new("/sys/fs/cgroup"))
        .context("no cgroup of the pids controller is mounted")?;
    remove_ended(&parent);
    let dir = parent.join(format!("workbench-kernel-{}", std::process::id()));
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Err(err) = join(&dir, max) {
        let _ = std::fs::remove_dir(&dir);
        return Err(err);
    }
    Ok(Placed { dir })
}

/// Limits the new cgroup `dir` to `max` tasks and moves this process in.
fn join(dir: &Path, max: u64) -> Result<()> {
    std::fs::write(dir.join("pids.max"), max.to_string())
        .with_context(|| format!("writing {}", dir.join("pids.max").display()))?;
    std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
        .with_context(|| format!("joining {}", dir.display()))
}

/// The directory of this process's pids cgroup, from `/proc/self/cgroup` (`text`) and
/// the cgroup mount `root`: a v1 line `N:pids:/PATH`, else the v2 line `0::/PATH` when
/// that cgroup hands the `pids` controller to its children (`cgroup.subtree_control`;
/// enabling it here would break v2's rule that a cgroup with children holds no
/// processes).
fn pids_cgroup(text: &str, root: &Path) -> Option<PathBuf> {
    let relative = |path: &str| path.trim_start_matches('/').to_owned();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "pids") {
            let dir = root.join("pids").join(relative(path));
            if dir.is_dir() {
                return Some(dir);
            }
        }
    }
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    for mount in [root.to_owned(), root.join("unified")] {
        let dir = mount.join(relative(path));
        let offered =
            std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        if offered.split_whitespace().any(|c| c == "pids") {
            return Some(dir);
        }
    }
    None
}

/// Removes the cgroups of kernels that have ended (no process left in them).
fn remove_ended(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("workbench-kernel-") {
            continue;
        }
        let procs = std::fs::read_to_string(entry.path().join("cgroup.procs")).unwrap_or_default();
        if procs.trim().is_empty() {
            // Busy (a process joined meanwhile) or gone: left for later.
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// Fails unless the running account is bound by RLIMIT_NPROC (not root), for when no
/// cgroup could be made: then nothing would bound the processes of a cell.
///
/// # Errors
///
/// The kernel runs as root.
pub(crate) fn require_bound(why: &anyhow::Error) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    if euid == 0 {
        bail!(
            "confinement layer `process limit`: root is not bound by RLIMIT_NPROC and no pids cgroup could be made ({why:#}); refusing to start"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pids_cgroup_is_found_in_v1_and_v2_layouts() {
        let root = tempfile::tempdir().expect("tempdir");
        let v1 = root.path().join("pids/session");
        std::fs::create_dir_all(&v1).expect("v1");
        let text = "9:name=systemd:/\n8:pids:/session\n0::/\n";
        assert_eq!(pids_cgroup(text, root.path()), Some(v1));
        let v2 = root.path().join("user.slice");
        std::fs::create_dir_all(&v2).expect("v2");
        std::fs::write(v2.join("cgroup.subtree_control"), "cpu memory pids\n")
            .expect("controllers");
        assert_eq!(pids_cgroup("0::/user.slice\n", root.path()), Some(v2));
        std::fs::write(
            root.path().join("user.slice/cgroup.subtree_control"),
            "cpu memory\n",
        )
        .expect("controllers");
        assert_eq!(pids_cgroup("0::/user.slice\n", root.path()), None);
    }
}
