//! The library every session starts with, built once as a shared library and linked by
//! every cell.
//!
//! evcxr builds each cell as a crate (`ctx`) with cargo. Declaring the workbench library
//! as that crate's cargo dependency (`:dep`) has three costs on every cell: cargo checks
//! the fingerprints of the ~350 crates under it (0.3 s), the cell's library links its own
//! copy of polars (104 MB, 1–2 s), and rust-analyzer, which evcxr runs in the kernel to
//! type variables, indexes polars (about 13 s at start and 15 s on the first polars
//! cell). So the library is not a cargo dependency of the cell crate. Instead:
//!
//! - [`prepare`] takes the `workbench-prelude` package (the library as a Rust `dylib`,
//!   polars inside it) from the workspace's build, at install time, into the template
//!   directory.
//! - Each session's cargo configuration names a rustc wrapper (`workbench-rustc`, see
//!   [`wrap_rustc`]) that adds `--extern workbench=…/libworkbench_prelude.so` to the
//!   cell crate's compilation only, so cells say `use workbench::prelude::*;` as usual
//!   and link to the one shared library, which the evaluation child loads once.
//! - rust-analyzer sees a cell crate without dependencies; the kernel asks rustc for the
//!   types of new variables instead (see `infer`).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The library cells get without `:dep`, and where its build lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prelude {
    /// The template directory: the build (`target/`) and what names it.
    pub template: PathBuf,
    /// The crate's name in cells (`workbench`).
    pub name: String,
    /// The package that provides it (`workbench-prelude`, the library as a `dylib`).
    pub package: String,
    /// The package's source directory.
    pub source: PathBuf,
    /// Code run before the first cell (`use workbench::prelude::*;`).
    pub code: String,
}

/// The environment variable that tells the rustc wrapper which library to add:
/// `NAME=PATH` of the shared library.
pub const EXTERN_VAR: &str = "WORKBENCH_PRELUDE_EXTERN";

/// The environment variable that tells the rustc wrapper where the crates inside the
/// library are (a path list: the target's `deps/`, then the host's, where the proc macros
/// live).
pub const DEPS_VAR: &str = "WORKBENCH_PRELUDE_DEPS";

/// The cell crate's name in evcxr's build directory.
const CELL_CRATE: &str = "ctx";

/// The file in the template that names the built shared library.
const DYLIB_FILE: &str = "dylib";

/// The file in the template that lists the library's public types: `Name\tpath` lines.
const TYPES_FILE: &str = "types.tsv";

impl Prelude {
    /// The workbench library as the `dylib` package at `source` (`ROOT/kernel/prelude`),
    /// with its template in `template`.
    pub fn workbench(source: &Path, template: &Path) -> Prelude {
        Prelude {
            template: template.to_owned(),
            name: "workbench".to_owned(),
            package: "workbench-prelude".to_owned(),
            source: source.to_owned(),
            code: "use workbench::prelude::*;".to_owned(),
        }
    }

    /// The built shared library, as [`prepare`] recorded it.
    ///
    /// # Errors
    ///
    /// [`Error::Template`] when the template is not prepared or its library is gone.
    pub fn dylib(&self) -> Result<PathBuf, Error> {
        let missing = |detail: String| Error::Template {
            template: self.template.clone(),
            detail,
        };
        let text = std::fs::read_to_string(self.template.join(DYLIB_FILE))
            .map_err(|_| missing("not prepared; run `workbench kernel install`".to_owned()))?;
        let dylib = PathBuf::from(text.trim());
        if !dylib.is_file() {
            return Err(missing(format!(
                "{} is missing; run `workbench kernel install` again",
                dylib.display()
            )));
        }
        Ok(dylib)
    }

    /// Full paths of the library's public types by bare name, for the names that are
    /// unique (see [`index_types`]); empty when the template has no index.
    pub fn type_paths(&self) -> std::collections::HashMap<String, String> {
        let text = std::fs::read_to_string(self.template.join(TYPES_FILE)).unwrap_or_default();
        let mut paths = std::collections::HashMap::new();
        let mut ambiguous = std::collections::HashSet::new();
        for (name, path) in text.lines().filter_map(|line| line.split_once('\t')) {
            if paths.insert(name.to_owned(), path.to_owned()).is_some() {
                ambiguous.insert(name.to_owned());
            }
        }
        paths.retain(|name, _| !ambiguous.contains(name));
        paths
    }

    /// The cargo configuration of a session's cell crate: see [`CELL_PROFILE`], the rustc
    /// wrapper at `wrapper` and the library it adds.
    ///
    /// # Errors
    ///
    /// As [`Prelude::dylib`].
    pub fn cargo_config(&self, wrapper: &Path) -> Result<String, Error> {
        let dylib = self.dylib()?;
        let extern_arg = format!("{}={}", self.name, dylib.display());
        // The snapshot holds the library and the crates inside it (see `snapshot`).
        let deps = dylib.parent().unwrap_or(&dylib).to_owned();
        let deps = std::env::join_paths([deps]).map_err(|e| Error::Template {
            template: self.template.clone(),
            detail: format!("a library path cannot be passed on: {e}"),
        })?;
        Ok(format!(
            "{CELL_PROFILE}\n[build]\nrustc-wrapper = {}\n\n[env]\n{EXTERN_VAR} = {}\n{DEPS_VAR} = {}\n",
            toml_string(&wrapper.to_string_lossy()),
            toml_string(&extern_arg),
            toml_string(&deps.to_string_lossy()),
        ))
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Takes the template's lock file (exclusive for a build, shared for a session start).
fn lock(template: &Path, exclusive: bool) -> Result<File, Error> {
    let failed = |e: std::io::Error| Error::Template {
        template: template.to_owned(),
        detail: format!("locking: {e}"),
    };
    // A session of another account reads a template it cannot write (the enclave's
    // session accounts): a shared lock needs only a read-only descriptor.
    let existing = if exclusive {
        None
    } else {
        File::open(template.join(".lock")).ok()
    };
    let file = match existing {
        Some(file) => file,
        None => {
            std::fs::create_dir_all(template).map_err(failed)?;
            File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(template.join(".lock"))
                .map_err(failed)?
        }
    };
    if exclusive {
        file.lock().map_err(failed)?;
    } else {
        file.lock_shared().map_err(failed)?;
    }
    Ok(file)
}

/// Cells compile unoptimised; the library under them is optimised. evcxr's `[profile.dev]`
/// sets one level for every crate; a profile override in a cargo configuration file
/// outranks the manifest for the one package it names (`ctx`, evcxr's cell crate).
/// Measured in docs/kernel.md: the first polars cell took 28.7 s to compile at evcxr's
/// level 2 and 1.6 s at level 0. The work that matters runs inside the library.
pub const CELL_PROFILE: &str = "# Written by workbench-kernel for every session.\n\
    [profile.dev.package.ctx]\n\
    opt-level = 0\n    codegen-units = 1\n    incremental = false\n";

/// The evcxr configuration of a session whose build directory is `build` (offline, so
/// that cargo never reaches a registry, with the build where we put it) and the cargo
/// configuration `cargo` of its cell crate.
pub(crate) fn write_config(session: &Path, build: &Path, cargo: &str) -> Result<(), Error> {
    let failed = |what: &str, e: std::io::Error| Error::Session {
        dir: session.to_owned(),
        detail: format!("writing {what}: {e}"),
    };
    let text = format!(
        "[evcxr]\ntmpdir = {}\noffline_mode = true\n",
        toml_string(&build.to_string_lossy())
    );
    std::fs::write(session.join("evcxr.toml"), text).map_err(|e| failed("evcxr.toml", e))?;
    // cargo reads `.cargo/config.toml` from every directory above the one it runs in;
    // evcxr rewrites the one in the build directory, so ours sits in the session.
    let dir = session.join(".cargo");
    std::fs::create_dir_all(&dir).map_err(|e| failed(".cargo", e))?;
    std::fs::write(dir.join("config.toml"), cargo).map_err(|e| failed(".cargo/config.toml", e))
}

/// The command line of the rustc wrapper: `args` is what cargo passes (rustc's path, then
/// its arguments); `extern_arg` is `NAME=PATH` of the prelude's shared library and
/// `deps` the directories of the crates inside it. The cell crate gets the library as an
/// extern crate, those directories for the crates' metadata, and a run path to the
/// library's directory so that the evaluation child finds it; every other crate (`:dep`
/// dependencies, cargo's probes) compiles unchanged.
pub fn wrap_rustc(
    args: &[OsString],
    extern_arg: Option<&OsStr>,
    deps: &[PathBuf],
) -> Vec<OsString> {
    let mut out = args.to_vec();
    let is_cell = args
        .windows(2)
        .any(|pair| pair[0] == "--crate-name" && pair[1] == CELL_CRATE);
    let Some(extern_arg) = extern_arg.filter(|_| is_cell) else {
        return out;
    };
    out.push("--extern".into());
    out.push(extern_arg.to_owned());
    for dir in deps {
        let mut dependency = OsString::from("dependency=");
        dependency.push(dir);
        out.push("-L".into());
        out.push(dependency);
    }
    let library_dir = Path::new(extern_arg)
        .to_str()
        .and_then(|text| text.split_once('='))
        .and_then(|(_, path)| Path::new(path).parent().map(Path::to_owned));
    if let Some(dir) = library_dir {
        let mut rpath = OsString::from("link-arg=-Wl,-rpath,");
        rpath.push(&dir);
        out.push("-C".into());
        out.push(rpath);
    }
    out
}

/// The public types (`pub struct|enum|type|trait`) declared at the top of each module of
/// the library whose sources are in `src`, as `(Name, crate::module::Name)`, the crate
/// being `krate`. rustc names a type by its bare name in diagnostics; a cell that cannot
/// see that name needs the full path, which this index gives without rust-analyzer.
pub fn index_types(src: &Path, krate: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![src.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let Ok(relative) = path.strip_prefix(src) else {
                continue;
            };
            // src/lib.rs is the crate root, src/a/mod.rs and src/a.rs are module `a`.
            let mut module: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("lib" | "mod" | "main")
            ) {
                module.pop();
            }
            // Only modules public all the way down (`pub mod` in each parent): a type in a
            // private module is re-exported elsewhere, under a path this cannot know.
            let public = (0..module.len()).all(|depth| {
                let parent = if depth == 0 {
                    vec![src.join("lib.rs")]
                } else {
                    let dir = module[..depth]
                        .iter()
                        .fold(src.to_owned(), |p, m| p.join(m));
                    vec![dir.with_extension("rs"), dir.join("mod.rs")]
                };
                let declaration = format!("pub mod {};", module[depth]);
                parent.iter().any(|file| {
                    std::fs::read_to_string(file)
                        .is_ok_and(|text| text.lines().any(|l| l.trim() == declaration))
                })
            });
            if !public || module.iter().any(|part| part == "bin") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for line in text.lines() {
                let Some(rest) = ["pub struct ", "pub enum ", "pub type ", "pub trait "]
                    .iter()
                    .find_map(|kind| line.strip_prefix(kind))
                else {
                    continue;
                };
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    let path = std::iter::once(krate.to_owned())
                        .chain(module.iter().cloned())
                        .chain(std::iter::once(name.clone()))
                        .collect::<Vec<_>>()
                        .join("::");
                    found.push((name, path));
                }
            }
        }
    }
    found.sort();
    found
}

/// The template's directories that hold a snapshot of the built library: `lib-KEY`.
const SNAPSHOT_PREFIX: &str = "lib-";

/// Runs cargo with `args`, diagnostics and progress on stderr, and returns the JSON
/// values it prints on stdout.
fn cargo_json(args: &[&OsStr]) -> Result<Vec<serde_json::Value>, String> {
    let output = Command::new("cargo")
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo {}` failed ({})",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            output.status
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).map_err(|e| format!("cargo printed bad JSON: {e}")))
        .collect()
}

/// The package ids that `package` (a workspace member) needs at run time: itself and its
/// normal dependencies, transitively, from `cargo metadata`'s resolve graph.
fn runtime_closure(
    metadata: &serde_json::Value,
    package: &str,
) -> Result<std::collections::HashSet<String>, String> {
    let root = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == package && p["source"].is_null())
        .and_then(|p| p["id"].as_str())
        .ok_or_else(|| format!("the workspace has no package {package}"))?;
    let nodes: std::collections::HashMap<&str, &serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|node| Some((node["id"].as_str()?, node)))
        .collect();
    let mut seen = std::collections::HashSet::from([root.to_owned()]);
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let deps = nodes.get(id).and_then(|node| node["deps"].as_array());
        for dep in deps.into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()));
            if let Some(pkg) = dep["pkg"].as_str().filter(|_| normal)
                && seen.insert(pkg.to_owned())
            {
                stack.push(pkg);
            }
        }
    }
    Ok(seen)
}

/// Takes the prelude's shared library from the workspace's own build and copies it into
/// the template, with what compiling a cell against it needs: the metadata (`.rmeta`) of
/// the crates inside it and the proc macros they export. Returns the copied library.
///
/// The build is the workspace's (`cargo build --workspace --all-targets`, the one `./x`
/// runs; here it is up to date and takes seconds): cargo unifies features over the
/// packages a command selects, so building `-p workbench-prelude` alone would build
/// polars a second time with other features, and a target directory of its own would
/// build all of it again (20 minutes on 2 cores). The repository's `.cargo/config.toml`
/// links the standard library dynamically (`-C prefer-dynamic`), as in evcxr's cells, so
/// that the process has one copy of it. The copy keeps a session's library and the
/// metadata its cells compile against together when the workspace is rebuilt later.
fn snapshot(
    prelude: &Prelude,
    workspace: &Path,
    progress: &dyn Fn(&str),
) -> Result<PathBuf, String> {
    let manifest = workspace.join("Cargo.toml");
    let messages = cargo_json(&[
        OsStr::new("build"),
        OsStr::new("--workspace"),
        OsStr::new("--all-targets"),
        OsStr::new("--locked"),
        OsStr::new("--message-format"),
        OsStr::new("json-render-diagnostics"),
        OsStr::new("--manifest-path"),
        manifest.as_os_str(),
    ])?;
    let metadata = cargo_json(&[
        OsStr::new("metadata"),
        OsStr::new("--format-version"),
        OsStr::new("1"),
        OsStr::new("--locked"),
        OsStr::new("--manifest-path"),
        manifest.as_os_str(),
    ])?;
    let closure = runtime_closure(
        metadata.first().ok_or("cargo metadata printed nothing")?,
        &prelude.package,
    )?;
    let library_name = format!("lib{}.so", prelude.package.replace('-', "_"));
    let (mut files, mut dylib) = (Vec::new(), None);
    for message in &messages {
        let in_closure = message["package_id"]
            .as_str()
            .is_some_and(|id| closure.contains(id));
        if message["reason"] != "compiler-artifact"
            || message["profile"]["test"] != false
            || !in_closure
        {
            continue;
        }
        let kinds: Vec<&str> = message["target"]["kind"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .collect();
        for file in message["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .map(PathBuf::from)
        {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let extension = file.extension().and_then(OsStr::to_str);
            if name.as_deref() == Some(library_name.as_str()) {
                dylib = Some(file);
            } else if extension == Some("rmeta")
                || (kinds.contains(&"proc-macro") && extension == Some("so"))
            {
                files.push(file);
            }
        }
    }
    let dylib = dylib.ok_or_else(|| format!("cargo built no {library_name}"))?;
    let bytes = std::fs::read(&dylib).map_err(|e| format!("reading {}: {e}", dylib.display()))?;
    if memchr::memmem::find(&bytes, b"libstd-").is_none() {
        return Err(format!(
            "{} links the standard library statically; cells need it shared: build with \
             the repository's .cargo/config.toml (`-C prefer-dynamic`) and no RUSTFLAGS \
             that replace it",
            dylib.display()
        ));
    }
    drop(bytes);
    files.push(dylib.clone());
    files.sort();
    files.dedup();

    // The snapshot's name changes with any file's size or time, so a rebuilt library
    // never replaces one that a running session compiles against.
    let mut key = std::hash::DefaultHasher::new();
    for file in &files {
        let meta =
            std::fs::metadata(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
        std::hash::Hash::hash(&(file, meta.len(), meta.modified().ok()), &mut key);
    }
    let key = format!("{SNAPSHOT_PREFIX}{:016x}", std::hash::Hasher::finish(&key));
    let dir = prelude.template.join(&key);
    if !dir.is_dir() {
        progress(&format!(
            "copying the library and the metadata of {} crates into the template",
            files.len() - 1
        ));
        let staging = prelude.template.join(format!(".{key}.partial"));
        let io = |what: &Path, e: std::io::Error| format!("copying {}: {e}", what.display());
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| io(&staging, e))?;
        for file in &files {
            let name = file.file_name().unwrap_or(file.as_os_str());
            std::fs::copy(file, staging.join(name)).map_err(|e| io(file, e))?;
        }
        // Renamed whole: a snapshot directory is complete or absent. It is a cache that
        // `prepare` rebuilds, so it is not synced.
        std::fs::rename(&staging, &dir).map_err(|e| io(&dir, e))?;
    }
    // Older snapshots go, except the one recorded until now (a running session may still
    // compile against it), and the separate build of earlier versions (`target/`).
    let recorded = prelude
        .dylib()
        .ok()
        .and_then(|d| d.parent().map(Path::to_owned));
    let entries = std::fs::read_dir(&prelude.template)
        .map_err(|e| format!("listing {}: {e}", prelude.template.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let old_snapshot = name.starts_with(SNAPSHOT_PREFIX)
            && path != dir
            && recorded.as_deref() != Some(path.as_path());
        if old_snapshot || name == "target" {
            // Best effort: what cannot be removed now is removed by the next prepare.
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    Ok(dir.join(library_name))
}

/// Takes the prelude's shared library from the workspace's build into the template (see
/// `snapshot`), then checks that a session can use it, in the session directory `session` (outside any cargo workspace, with the
/// `TMPDIR` of the process in it: the confined build may write nowhere else).
/// Cargo may fetch crates: this is the install step, the one that may use the network.
/// `child` is the evaluation process; `progress` hears about each step.
///
/// # Errors
///
/// [`Error::Template`] when the build fails, or the evaluation error of the check.
pub fn prepare(
    prelude: &Prelude,
    child: &Path,
    session: &Path,
    progress: &dyn Fn(&str),
) -> Result<(), Error> {
    let failed = |detail: String| Error::Template {
        template: prelude.template.clone(),
        detail,
    };
    {
        let _lock = lock(&prelude.template, true)?;
        let workspace = prelude
            .source
            .ancestors()
            .find(|dir| dir.join("Cargo.lock").is_file())
            .ok_or_else(|| {
                failed(format!(
                    "{} is in no cargo workspace (no Cargo.lock above it)",
                    prelude.source.display()
                ))
            })?
            .to_owned();
        progress("taking the library from the workspace's build (cargo)");
        let dylib = snapshot(prelude, &workspace, progress).map_err(&failed)?;
        // The library's types, for cells that bind values the cell cannot name.
        let index: String = index_types(&workspace.join("workbench/src"), &prelude.name)
            .iter()
            .map(|(name, path)| format!("{name}\t{path}\n"))
            .collect();
        let staged = prelude.template.join(format!(".{TYPES_FILE}.partial"));
        std::fs::write(&staged, index)
            .and_then(|()| std::fs::rename(&staged, prelude.template.join(TYPES_FILE)))
            .map_err(|e| failed(format!("recording the library's types: {e}")))?;
        match crate::analyzer::toolchain_library() {
            Some(library) => {
                progress("writing the standard library's source for rust-analyzer");
                crate::analyzer::write(&prelude.template, &library).map_err(|e| {
                    failed(format!("writing rust-analyzer's standard library: {e}"))
                })?;
            }
            None => progress("no rust-src in the toolchain: rust-analyzer will not know std"),
        }
        // Written whole and renamed: a session never reads half a path.
        let staged = prelude.template.join(format!(".{DYLIB_FILE}.partial"));
        std::fs::write(&staged, dylib.to_string_lossy().as_bytes())
            .and_then(|()| std::fs::rename(&staged, prelude.template.join(DYLIB_FILE)))
            .map_err(|e| failed(format!("recording the library: {e}")))?;
    }
    progress("checking the library in a confined session");
    let workspace = session.join("workspace");
    std::fs::create_dir_all(&workspace).map_err(|e| failed(format!("creating: {e}")))?;
    let config = crate::Config {
        child: child.to_owned(),
        workspace,
        prelude: Some(prelude.clone()),
        view: Vec::new(),
        session: Some(session.to_owned()),
    };
    let sink: crate::Sink = std::sync::Arc::new(|_| {});
    let mut evcxr = crate::Evcxr::start(&config, sink)?;
    let outputs = crate::Evaluator::evaluate(
        &mut evcxr,
        "df!(\"a\" => [1i64, 2, 3])?.height()",
        &|_: &str, _: bool| String::new(),
    )?;
    drop(evcxr);
    match outputs.mime_bundle.get("text/plain").map(String::as_str) {
        Some("3") => {
            progress("template ready");
            Ok(())
        }
        other => Err(failed(format!("a polars cell gave {other:?} instead of 3"))),
    }
}

/// Takes a shared lock on the template for as long as the returned file lives, so that
/// [`prepare`] does not replace the library while a session starts.
///
/// # Errors
///
/// [`Error::Template`] when the lock cannot be taken.
pub(crate) fn lock_shared(prelude: &Prelude) -> Result<File, Error> {
    lock(&prelude.template, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_the_cell_crate_gets_the_library() {
        let extern_arg = OsString::from("workbench=/t/target/x/debug/deps/libworkbench_prelude.so");
        let cell = args(&["rustc", "--crate-name", "ctx", "src/lib.rs"]);
        let deps = [
            PathBuf::from("/t/target/x/debug/deps"),
            PathBuf::from("/t/target/debug/deps"),
        ];
        assert_eq!(
            wrap_rustc(&cell, Some(&extern_arg), &deps),
            args(&[
                "rustc",
                "--crate-name",
                "ctx",
                "src/lib.rs",
                "--extern",
                "workbench=/t/target/x/debug/deps/libworkbench_prelude.so",
                "-L",
                "dependency=/t/target/x/debug/deps",
                "-L",
                "dependency=/t/target/debug/deps",
                "-C",
                "link-arg=-Wl,-rpath,/t/target/x/debug/deps",
            ])
        );
        let dep = args(&["rustc", "--crate-name", "ctxx", "lib.rs"]);
        assert_eq!(wrap_rustc(&dep, Some(&extern_arg), &deps), dep);
        let probe = args(&["rustc", "-vV"]);
        assert_eq!(wrap_rustc(&probe, Some(&extern_arg), &deps), probe);
        assert_eq!(wrap_rustc(&cell, None, &deps), cell);
    }

    #[test]
    fn the_cargo_config_quotes_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let so = dir.path().join("lib\"x.so");
        std::fs::write(&so, b"").expect("so");
        std::fs::write(dir.path().join(DYLIB_FILE), so.to_string_lossy().as_bytes())
            .expect("record");
        let prelude = Prelude::workbench(Path::new("/src"), dir.path());
        let config = prelude
            .cargo_config(Path::new("/bin/w\\rap"))
            .expect("config");
        assert!(
            config.contains("rustc-wrapper = \"/bin/w\\\\rap\""),
            "{config}"
        );
        assert!(config.contains("lib\\\"x.so\""), "{config}");
        assert!(config.contains("[profile.dev.package.ctx]"), "{config}");
    }

    #[test]
    fn indexes_public_types_by_module() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path();
        std::fs::create_dir_all(src.join("qc")).expect("dirs");
        std::fs::write(
            src.join("lib.rs"),
            "pub struct Root;\nstruct Private;\npub mod qc;\nmod hidden;\n",
        )
        .expect("lib");
        std::fs::write(src.join("hidden.rs"), "pub struct Inner;\n").expect("hidden");
        std::fs::write(src.join("qc.rs"), "pub mod contract;\n").expect("qc");
        std::fs::write(
            src.join("qc/contract.rs"),
            "pub enum Status { Pass }\npub(crate) struct Hidden;\npub struct Contract {}\n",
        )
        .expect("contract");
        assert_eq!(
            index_types(src, "workbench"),
            vec![
                (
                    "Contract".to_owned(),
                    "workbench::qc::contract::Contract".to_owned()
                ),
                ("Root".to_owned(), "workbench::Root".to_owned()),
                (
                    "Status".to_owned(),
                    "workbench::qc::contract::Status".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn missing_template_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prelude = Prelude::workbench(Path::new("/src/workbench"), &dir.path().join("none"));
        let err = prelude.dylib().expect_err("no template");
        assert!(err.to_string().contains("not prepared"), "{err}");
    }
}
