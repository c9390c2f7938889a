//! Durable writes: a file or directory appears whole or not at all, and survives a crash.
//!
//! Every file the workbench writes for a user goes through here: it is written under a
//! hidden temporary name in the target's own directory (so the rename cannot cross file
//! systems), flushed to disk with `fsync`, renamed over the target, and then the directory
//! is synced so the rename itself is on disk. A failure or a kill half-way leaves the
//! earlier file (or nothing) in place; only a hidden `.NAME.partial-PID-N` can remain,
//! which the next write of the same target removes when its process is gone.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A write that failed: what was being done, to which path.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", path.display())]
pub struct Error {
    /// What was being done (`creating`, `writing`, `syncing`, `renaming into place`).
    pub action: &'static str,
    /// The path.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

fn fail<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Distinguishes staging names of one process (threads may write beside each other).
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The directory holding `path` (`.` for a bare file name) and its file name.
fn split(path: &Path) -> Result<(&Path, &std::ffi::OsStr), Error> {
    let name = path.file_name().ok_or_else(|| Error {
        action: "writing",
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((dir, name))
}

/// A hidden name beside `path` for staging it.
fn staging_name(path: &Path) -> Result<PathBuf, Error> {
    let (dir, name) = split(path)?;
    remove_stale(dir, name);
    Ok(dir.join(format!(
        ".{}.partial-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )))
}

/// Removes staging leftovers of `name` whose writing process no longer runs (a kill
/// half-way leaves them). Best effort: a leftover is hidden and harmless.
fn remove_stale(dir: &Path, name: &std::ffi::OsStr) {
    let prefix = format!(".{}.partial-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        // /proc/PID exists while the process runs (Linux, where the enclave runs).
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let path = entry.path();
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// Whether `name` is a plain file name of at most `max` bytes: letters, digits, `.`, `_`
/// and `-`, not starting with `.`. A file named after user input (a cohort, a sample) must
/// stay in the directory it was asked for, and not be hidden.
pub fn is_plain_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Syncs directory `dir`, so that renames and creations inside it are on disk.
///
/// # Errors
///
/// [`Error`] when the directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail("syncing", dir))
}

/// Writes `path` whole or not at all: `fill` writes the content into a buffered
/// temporary file beside it, which is synced and renamed over `path`.
///
/// # Errors
///
/// [`Error`] naming the step and path; `fill`'s error appears as the cause of a
/// `writing` error. The earlier `path`, if any, is untouched.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), Error> {
    let staging = staging_name(path)?;
    let result = (|| {
        // A new file, never an existing one: a symbolic link planted at the staging name
        // in a shared directory is refused rather than followed.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staging)
            .map_err(fail("creating", &staging))?;
        // A replaced file keeps its permissions (a private report stays private).
        if let Ok(earlier) = fs::metadata(path) {
            file.set_permissions(earlier.permissions())
                .map_err(fail("creating", &staging))?;
        }
        let mut writer = BufWriter::new(file);
        fill(&mut writer).map_err(fail("writing", &staging))?;
        let file = writer
            .into_inner()
            .map_err(|e| fail("writing", &staging)(e.into_error()))?;
        file.sync_all().map_err(fail("syncing", &staging))?;
        fs::rename(&staging, path).map_err(fail("renaming into place", path))?;
        sync_dir(split(path)?.0)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&staging);
    }
    result
}

/// Writes `bytes` to `path` whole or not at all (see [`write_with`]).
///
/// # Errors
///
/// As [`write_with`].
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_with(path, |w| w.write_all(bytes))
}

/// A directory built under a hidden name beside its target and renamed into place by
/// [`commit`](StagedDir::commit); dropped without a commit, it is removed.
#[derive(Debug)]
pub struct StagedDir {
    staging: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Starts building `target`, which must not exist yet.
    ///
    /// # Errors
    ///
    /// [`Error`] when `target` exists (kind `AlreadyExists`) or the staging directory
    /// cannot be created.
    pub fn new(target: &Path) -> Result<StagedDir, Error> {
        if target.exists() {
            return Err(Error {
                action: "creating",
                path: target.to_owned(),
                source: io::Error::new(io::ErrorKind::AlreadyExists, "already exists"),
            });
        }
        let (dir, _) = split(target)?;
        fs::create_dir_all(dir).map_err(fail("creating", dir))?;
        let staging = staging_name(target)?;
        fs::create_dir(&staging).map_err(fail("creating", &staging))?;
        Ok(StagedDir {
            staging,
            target: target.to_owned(),
            committed: false,
        })
    }

    /// Where to write the directory's content until it is committed.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Syncs every file and directory written inside, renames the directory into place
    /// and syncs its parent.
    ///
    /// # Errors
    ///
    /// [`Error`] naming the step; the staging directory is removed.
    pub fn commit(mut self) -> Result<PathBuf, Error> {
        sync_tree(&self.staging)?;
        if self.target.exists() {
            return Err(Error {
                action: "renaming into place",
                path: self.target.clone(),
                source: io::Error::new(io::ErrorKind::AlreadyExists, "appeared meanwhile"),
            });
        }
        fs::rename(&self.staging, &self.target)
            .map_err(fail("renaming into place", &self.target))?;
        self.committed = true;
        sync_dir(split(&self.target)?.0)?;
        Ok(self.target.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the staging directory is ours alone and holds nothing else.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Syncs every regular file and directory under `dir` (the directory last).
fn sync_tree(dir: &Path) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(fail("reading", dir))? {
        let entry = entry.map_err(fail("reading", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(fail("reading", &path))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(fail("syncing", &path))?;
        }
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("figure.svg");
        write(&path, b"first").expect("write");
        write(&path, b"second").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["figure.svg"]);
    }

    #[test]
    fn a_failed_fill_keeps_the_earlier_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("report.html");
        write(&path, b"earlier").expect("write");
        let err = write_with(&path, |w| {
            w.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        })
        .expect_err("the fill failed");
        assert_eq!(err.action, "writing");
        assert_eq!(fs::read(&path).expect("read"), b"earlier");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cohort.json");
        write(&path, b"first").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        write(&path, b"second").expect("write");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn leftovers_of_a_dead_process_are_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        // PIDs above the kernel's maximum (4194304) never run.
        let dead = dir.path().join(".a.svg.partial-99999999-0");
        let live = dir
            .path()
            .join(format!(".a.svg.partial-{}-77", std::process::id()));
        fs::write(&dead, "x").expect("dead");
        fs::write(&live, "x").expect("live");
        write(&dir.path().join("a.svg"), b"ok").expect("write");
        assert!(!dead.exists());
        assert!(live.exists());
    }

    #[test]
    fn a_staged_directory_appears_only_when_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("lake");
        let staged = StagedDir::new(&target).expect("staged");
        fs::create_dir(staged.path().join("clinical")).expect("subdir");
        fs::write(staged.path().join("clinical/cases.parquet"), "x").expect("file");
        assert!(!target.exists());
        drop(staged);
        assert!(!target.exists());
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);

        let staged = StagedDir::new(&target).expect("staged");
        fs::write(staged.path().join("a"), "x").expect("file");
        staged.commit().expect("commit");
        assert_eq!(fs::read(target.join("a")).expect("read"), b"x");
        let err = StagedDir::new(&target).expect_err("exists");
        assert_eq!(err.source.kind(), io::ErrorKind::AlreadyExists);
    }
}
