//! The standard library's source as rust-analyzer reads it in a session: the toolchain's
//! `library/` without what typing and completing a cell does not need.
//!
//! evcxr asks rust-analyzer about every cell, and rust-analyzer's first answer waits for
//! it to parse and expand the whole of `core`, `alloc` and `std` (seconds of CPU at every
//! kernel start, on the way to the first result). `prepare` writes a view of `library/`
//! to the template and the kernel points `RUST_SRC_PATH` at it:
//!
//! - `core`, `alloc` and `std` are copies (so that their `#[path]` modules resolve inside
//!   the view) with docs and non-`const` function bodies taken out (module `trim`);
//! - stdarch's `core_arch` (400,000 lines of SIMD intrinsics, more than the three crates
//!   together) is an empty `core::arch`; `portable-simd` (`core::simd`, unstable) and the
//!   `backtrace` crate that `std` includes for its own use are empty too;
//! - everything else links to the toolchain.
//!
//! Measured on this 2-core machine (docs/kernel.md): the kernel's CPU before the first
//! polars result 4.8 s with the whole library, 3.8 s without `core_arch`, 2.8 s with
//! the rest of this trimming.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory in the template.
const DIR: &str = "rust-src";

mod trim;

/// What `core_arch` becomes: `core::arch` exists and is empty.
const CORE_ARCH_STUB: &str = "pub mod arch {}\n";

/// What `core_simd` becomes: `core::simd` and `std::simd` exist and are empty.
const CORE_SIMD_STUB: &str = "pub mod simd {}\n";

/// The crates rust-analyzer reads whole, copied trimmed.
const TRIMMED: [&str; 3] = ["core", "alloc", "std"];

/// The library directory for `RUST_SRC_PATH` in `template`, if [`write()`] made it and
/// the toolchain it links to is still installed.
pub fn sources(template: &Path) -> Option<PathBuf> {
    let library = template.join(DIR).join("library");
    // The three copies, and a link into the toolchain that still leads somewhere.
    let complete = [
        "core/src/lib.rs",
        "alloc/src/lib.rs",
        "std/src/lib.rs",
        "proc_macro/src/lib.rs",
    ]
    .iter()
    .all(|file| library.join(file).is_file());
    // A view made before the sysroot lost its Cargo.toml is made again (see `write`).
    let stitched = !library.join("Cargo.toml").exists();
    (complete && stitched).then_some(library)
}

/// The active toolchain's `library/` source (the `rust-src` component), if installed.
pub fn toolchain_library() -> Option<PathBuf> {
    let output = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let library = sysroot.join("lib/rustlib/src/rust/library");
    library.join("core/src/lib.rs").is_file().then_some(library)
}

/// Writes the trimmed view of `library` into `template`, replacing an older one whole
/// (staged next to it, then renamed).
///
/// # Errors
///
/// Any failure to read `library` or to write the template.
pub fn write(template: &Path, library: &Path) -> std::io::Result<()> {
    let staging = template.join(format!(".{DIR}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    let view = staging.join("library");
    std::fs::create_dir_all(&view)?;
    for entry in std::fs::read_dir(library)? {
        let entry = entry?;
        let name = entry.file_name();
        let target = view.join(&name);
        match name.to_str() {
            Some(name) if TRIMMED.contains(&name) => copy_tree(&entry.path(), &target)?,
            // `core` and `std` include the docs by path.
            Some("stdarch") => {
                let docs = "crates/core_arch/src/core_arch_docs.md";
                stub(&target, "crates/core_arch/src/mod.rs", CORE_ARCH_STUB)?;
                copy_or_empty(&entry.path().join(docs), &target.join(docs))?;
                // The stitched sysroot looks for std_detect where it used to live.
                let std_detect = library.join("std_detect");
                if std_detect.is_dir() {
                    std::os::unix::fs::symlink(&std_detect, target.join("crates/std_detect"))?;
                }
            }
            Some("portable-simd") => {
                let docs = "crates/core_simd/src/core_simd_docs.md";
                stub(&target, "crates/core_simd/src/mod.rs", CORE_SIMD_STUB)?;
                copy_or_empty(&entry.path().join(docs), &target.join(docs))?;
                stub(&target, "crates/std_float/src/lib.rs", "")?;
            }
            Some("backtrace") => stub(&target, "src/lib.rs", "")?,
            // Without the sysroot's Cargo.toml rust-analyzer does not run `cargo metadata`
            // on it (which, offline in the build layer, waited 12 s for the network and
            // failed) but "stitches" core, alloc, std and the rest from their directories.
            Some("Cargo.toml" | "Cargo.lock") => {}
            _ => std::os::unix::fs::symlink(entry.path(), &target)?,
        }
    }
    let dir = template.join(DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&staging, &dir)
}

/// Copies `from` to `to`, Rust files trimmed.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if entry.path().extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(entry.path())?;
            std::fs::write(&target, trim::trim(&source))?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Writes `text` to `file` under `dir`, creating the directories between.
fn stub(dir: &Path, file: &str, text: &str) -> std::io::Result<()> {
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

fn copy_or_empty(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::read(from) {
        Ok(text) => std::fs::write(to, text),
        Err(_) => std::fs::write(to, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn crates_are_copied_trimmed_big_parts_emptied_and_the_rest_linked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let library = dir.path().join("toolchain/library");
        file(&library.join("Cargo.toml"), "[workspace]");
        file(&library.join("core/src/lib.rs"), "mod core_arch;");
        file(
            &library.join("core/src/num/mod.rs"),
            "/// Docs.\npub fn f() -> u8 { 1 }\n",
        );
        file(&library.join("core/src/num/notes.md"), "/// as is");
        file(&library.join("alloc/src/lib.rs"), "// alloc");
        file(&library.join("std/src/lib.rs"), "// std");
        file(&library.join("proc_macro/src/lib.rs"), "// proc_macro");
        file(
            &library.join("stdarch/crates/core_arch/src/mod.rs"),
            "// huge",
        );
        file(
            &library.join("stdarch/crates/core_arch/src/core_arch_docs.md"),
            "docs",
        );
        file(
            &library.join("portable-simd/crates/core_simd/src/mod.rs"),
            "// simd",
        );
        file(&library.join("backtrace/src/lib.rs"), "// backtrace");
        let template = dir.path().join("template");
        std::fs::create_dir_all(&template).expect("template");
        assert_eq!(sources(&template), None);

        write(&template, &library).expect("written");
        let view = sources(&template).expect("complete");
        let read = |path: &str| std::fs::read_to_string(view.join(path)).expect(path);
        for copied in TRIMMED {
            assert!(!view.join(copied).is_symlink(), "{copied}");
        }
        assert_eq!(
            read("core/src/num/mod.rs"),
            "\npub fn f() -> u8 { loop {} }\n"
        );
        assert_eq!(read("core/src/num/notes.md"), "/// as is");
        assert!(view.join("proc_macro").is_symlink());
        assert_eq!(read("stdarch/crates/core_arch/src/mod.rs"), CORE_ARCH_STUB);
        assert_eq!(
            read("stdarch/crates/core_arch/src/core_arch_docs.md"),
            "docs"
        );
        assert_eq!(
            read("portable-simd/crates/core_simd/src/mod.rs"),
            CORE_SIMD_STUB
        );
        assert_eq!(
            read("portable-simd/crates/core_simd/src/core_simd_docs.md"),
            ""
        );
        assert_eq!(read("portable-simd/crates/std_float/src/lib.rs"), "");
        assert_eq!(read("backtrace/src/lib.rs"), "");

        // Written again over the old one; gone when the toolchain's sources go.
        write(&template, &library).expect("rewritten");
        assert!(!template.join(DIR).join("library/Cargo.toml").exists());
        std::fs::remove_file(library.join("proc_macro/src/lib.rs")).expect("remove");
        assert_eq!(sources(&template), None);
    }
}
