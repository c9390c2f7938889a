//! The library every session starts with, built once into a template and copied per session.
//!
//! evcxr builds a cell crate in its own directory and compiles that crate's dependencies
//! there with cargo. Building the workbench library (and polars under it) takes minutes,
//! so it is done once, at install time, into a *template*: an evcxr build directory whose
//! `target/` already holds every dependency. Each kernel copies the template into its
//! session directory; cargo then finds everything fresh and only the cells compile.
//!
//! The template is built by evcxr itself ([`prepare`]) with the same `:dep` line a session
//! uses, so the generated `Cargo.toml`, the flags and the profile are identical and
//! cargo's fingerprints match. Dependency versions come from the workspace's
//! `Cargo.lock`, resolved offline.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The library cells get without `:dep`, and where its build lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prelude {
    /// The template directory (its `evcxr/` holds the build).
    pub template: PathBuf,
    /// The crate's name as a dependency (`workbench`).
    pub name: String,
    /// The crate's source directory.
    pub source: PathBuf,
    /// Code run before the first cell (`use workbench::prelude::*;`).
    pub code: String,
    /// What cargo must read to check the crate is fresh: its source, its workspace's
    /// manifest (inherited fields) and the files it embeds.
    pub reads: Vec<PathBuf>,
}

impl Prelude {
    /// The workbench library at `source` (`ROOT/workbench`), with its template in
    /// `template`.
    pub fn workbench(source: &Path, template: &Path) -> Prelude {
        let root = source.parent().unwrap_or(source);
        // cargo loads the library's whole workspace (members' manifests, inherited
        // fields) and checks the files it embeds; the data under `.work/` stays out.
        let reads = [
            "Cargo.toml",
            "Cargo.lock",
            "rust-toolchain.toml",
            "kernel",
            "workbench",
            "tests",
            "datasets",
        ]
        .iter()
        .map(|name| root.join(name))
        .collect();
        Prelude {
            reads,
            template: template.to_owned(),
            name: "workbench".to_owned(),
            source: source.to_owned(),
            code: "use workbench::prelude::*;".to_owned(),
        }
    }

    /// The evcxr command that adds the library to a session.
    pub fn dep_command(&self) -> String {
        // TOML basic strings take the path as JSON would write it (quotes and
        // backslashes escaped).
        let path = serde_json_like_escape(&self.source.to_string_lossy());
        format!(":dep {} = {{ path = \"{path}\" }}", self.name)
    }

    /// The template's lock file: the versions every session builds with.
    pub fn lockfile(&self) -> PathBuf {
        self.template.join("Cargo.lock")
    }

    /// Puts the template's lock file into the build directory `build`. evcxr's first
    /// evaluation (a context without dependencies) prunes the lock file; without this,
    /// adding the prelude would resolve versions afresh and rebuild everything.
    ///
    /// # Errors
    ///
    /// [`Error::Template`] when the lock file cannot be copied.
    pub fn restore_lockfile(&self, build: &Path) -> Result<(), Error> {
        std::fs::copy(self.lockfile(), build.join("Cargo.lock"))
            .map(|_| ())
            .map_err(|e| Error::Template {
                template: self.template.clone(),
                detail: format!("restoring the lock file: {e}"),
            })
    }

    /// The build directory inside the template.
    pub fn build_dir(&self) -> PathBuf {
        self.template.join("evcxr")
    }

    /// Copies the template's build into `target` (which must not exist), keeping
    /// modification times so that cargo sees every dependency as fresh.
    ///
    /// # Errors
    ///
    /// [`Error::Template`] when the template is missing or the copy fails.
    pub fn copy_to(&self, target: &Path) -> Result<(), Error> {
        let build = self.build_dir();
        if !build.join("Cargo.toml").is_file() {
            return Err(Error::Template {
                template: self.template.clone(),
                detail: "not prepared; run `workbench kernel install`".to_owned(),
            });
        }
        // A shared lock: a concurrent `prepare` must not change the build mid-copy.
        let _lock = lock(&self.template, false)?;
        // `cp -a` keeps times, and `--reflink=auto` makes the copy nearly free on file
        // systems that share extents.
        let status = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(&build)
            .arg(target)
            .status()
            .map_err(|e| Error::Template {
                template: self.template.clone(),
                detail: format!("running cp: {e}"),
            })?;
        if !status.success() {
            return Err(Error::Template {
                template: self.template.clone(),
                detail: format!("copying {} failed ({status})", build.display()),
            });
        }
        Ok(())
    }
}

fn serde_json_like_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Takes the template's lock file (exclusive for a build, shared for a copy).
fn lock(template: &Path, exclusive: bool) -> Result<File, Error> {
    let failed = |e: std::io::Error| Error::Template {
        template: template.to_owned(),
        detail: format!("locking: {e}"),
    };
    std::fs::create_dir_all(template).map_err(failed)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(template.join(".lock"))
        .map_err(failed)?;
    if exclusive {
        file.lock().map_err(failed)?;
    } else {
        file.lock_shared().map_err(failed)?;
    }
    Ok(file)
}

/// The evcxr configuration of a session whose build directory is `build`: offline, so
/// that cargo never reaches a registry, with the build where we put it.
pub(crate) fn write_config(session: &Path, build: &Path) -> Result<(), Error> {
    let build = serde_json_like_escape(&build.to_string_lossy());
    let text = format!("[evcxr]\ntmpdir = \"{build}\"\noffline_mode = true\n");
    std::fs::write(session.join("evcxr.toml"), text).map_err(|e| Error::Session {
        dir: session.to_owned(),
        detail: format!("writing evcxr.toml: {e}"),
    })
}

/// Fetches every crate the prelude needs into the cargo home (all platforms, as
/// `cargo metadata` wants them), pinned by `lockfile` (the workspace's `Cargo.lock`), and
/// records the resolved versions as the template's lock file. This is the one step that
/// uses the network: it runs unconfined, at install time, before [`prepare`].
///
/// # Errors
///
/// [`Error::Template`] when cargo cannot fetch.
pub fn fetch(prelude: &Prelude, lockfile: Option<&Path>) -> Result<(), Error> {
    let failed = |detail: String| Error::Template {
        template: prelude.template.clone(),
        detail,
    };
    let dir = prelude.template.join("fetch");
    std::fs::create_dir_all(dir.join("src")).map_err(|e| failed(format!("creating: {e}")))?;
    let path = serde_json_like_escape(&prelude.source.to_string_lossy());
    let manifest = format!(
        "[package]\nname = \"prelude-fetch\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [lib]\npath = \"src/lib.rs\"\n\n[dependencies]\n{} = {{ path = \"{path}\" }}\n",
        prelude.name
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)
        .map_err(|e| failed(format!("writing: {e}")))?;
    std::fs::write(dir.join("src/lib.rs"), "").map_err(|e| failed(format!("writing: {e}")))?;
    if let Some(lockfile) = lockfile {
        std::fs::copy(lockfile, dir.join("Cargo.lock"))
            .map_err(|e| failed(format!("copying {}: {e}", lockfile.display())))?;
    }
    let output = Command::new("cargo")
        .arg("fetch")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .output()
        .map_err(|e| failed(format!("running cargo fetch: {e}")))?;
    if !output.status.success() {
        return Err(failed(format!(
            "cargo fetch failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    std::fs::copy(dir.join("Cargo.lock"), prelude.lockfile())
        .map_err(|e| failed(format!("recording the lock file: {e}")))?;
    Ok(())
}

/// Builds (or brings up to date) the template of `prelude` with evcxr, confined like a
/// session, offline, with the versions [`fetch`] recorded; `child` is the evaluation
/// process. Prints nothing; `progress` hears about each step.
///
/// # Errors
///
/// [`Error::Template`] for file problems, or the evaluation error of the build.
pub fn prepare(prelude: &Prelude, child: &Path, progress: &dyn Fn(&str)) -> Result<(), Error> {
    let _lock = lock(&prelude.template, true)?;
    let build = prelude.build_dir();
    let failed = |detail: String| Error::Template {
        template: prelude.template.clone(),
        detail,
    };
    std::fs::create_dir_all(&build).map_err(|e| failed(format!("creating: {e}")))?;
    std::fs::create_dir_all(prelude.template.join("tmp"))
        .map_err(|e| failed(format!("creating: {e}")))?;
    let workspace = prelude.template.join("workspace");
    std::fs::create_dir_all(&workspace).map_err(|e| failed(format!("creating: {e}")))?;
    progress("starting evcxr");
    let config = crate::Config {
        child: child.to_owned(),
        workspace,
        prelude: Some(prelude.clone()),
        view: Vec::new(),
        session: Some(prelude.template.clone()),
    };
    let sink: crate::Sink = std::sync::Arc::new(|_| {});
    let mut evcxr = crate::Evcxr::start_in(&config, &prelude.template, &build, sink)?;
    prelude.restore_lockfile(&build)?;
    progress(&format!(
        "building {} and its dependencies (first time: several minutes)",
        prelude.name
    ));
    evcxr.run(
        &format!("{}\n{}", prelude.dep_command(), prelude.code),
        &|_: &str, _: bool| String::new(),
    )?;
    progress("template ready");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_command_quotes_the_path() {
        let prelude = Prelude::workbench(Path::new("/src/work\"bench"), Path::new("/t"));
        assert_eq!(
            prelude.dep_command(),
            ":dep workbench = { path = \"/src/work\\\"bench\" }"
        );
    }

    #[test]
    fn missing_template_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prelude = Prelude::workbench(Path::new("/src/workbench"), &dir.path().join("none"));
        let err = prelude
            .copy_to(&dir.path().join("copy"))
            .expect_err("no template");
        assert!(err.to_string().contains("not prepared"), "{err}");
    }
}
