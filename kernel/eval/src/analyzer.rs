//! The standard library's source as rust-analyzer reads it in a session: the toolchain's
//! `library/` without the 400,000 lines of `core::arch` intrinsics.
//!
//! evcxr asks rust-analyzer about every cell, and rust-analyzer's first answer waits for
//! it to parse and expand the whole of `core`, `alloc` and `std` (seconds of CPU at every
//! kernel start). `core` pulls in stdarch's `core_arch` by a `#[path]` module, more source
//! than `core`, `alloc` and `std` together, and of no use in a notebook. `prepare` writes
//! a copy of `library/` to the template in which `core` is a real copy (so that its
//! `#[path]` resolves next to it), `core_arch` is an empty `arch` module and everything
//! else links to the toolchain; the kernel points `RUST_SRC_PATH` at it. Measured on
//! this 2-core machine: start → first polars result 7.0 → 6.0 s, later cells unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory in the template.
const DIR: &str = "rust-src";

/// What `core_arch` becomes: `core::arch` exists and is empty.
const CORE_ARCH_STUB: &str = "pub mod arch {}\n";

/// The library directory for `RUST_SRC_PATH` in `template`, if [`write()`] made it and
/// the toolchain it links to is still installed.
pub fn sources(template: &Path) -> Option<PathBuf> {
    let library = template.join(DIR).join("library");
    let complete = ["core/src/lib.rs", "alloc/src/lib.rs", "std/src/lib.rs"]
        .iter()
        .all(|file| library.join(file).is_file());
    complete.then_some(library)
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
            Some("core") => copy_tree(&entry.path(), &target)?,
            Some("stdarch") => {
                let src = target.join("crates/core_arch/src");
                std::fs::create_dir_all(&src)?;
                std::fs::write(src.join("mod.rs"), CORE_ARCH_STUB)?;
                // `std` includes these docs by path.
                let docs = entry.path().join("crates/core_arch/src/core_arch_docs.md");
                match std::fs::read(&docs) {
                    Ok(text) => std::fs::write(src.join("core_arch_docs.md"), text)?,
                    Err(_) => std::fs::write(src.join("core_arch_docs.md"), "")?,
                }
            }
            _ => std::os::unix::fs::symlink(entry.path(), &target)?,
        }
    }
    let dir = template.join(DIR);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::rename(&staging, &dir)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn core_is_copied_core_arch_emptied_and_the_rest_linked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let library = dir.path().join("toolchain/library");
        file(&library.join("core/src/lib.rs"), "mod core_arch;");
        file(&library.join("core/src/num/mod.rs"), "// num");
        file(&library.join("alloc/src/lib.rs"), "// alloc");
        file(&library.join("std/src/lib.rs"), "// std");
        file(
            &library.join("stdarch/crates/core_arch/src/mod.rs"),
            "// huge",
        );
        file(
            &library.join("stdarch/crates/core_arch/src/core_arch_docs.md"),
            "docs",
        );
        let template = dir.path().join("template");
        std::fs::create_dir_all(&template).expect("template");
        assert_eq!(sources(&template), None);

        write(&template, &library).expect("written");
        let view = sources(&template).expect("complete");
        assert!(!view.join("core").is_symlink());
        assert_eq!(
            std::fs::read_to_string(view.join("core/src/num/mod.rs")).expect("copied"),
            "// num"
        );
        assert!(view.join("std").is_symlink());
        let stub = view.join("stdarch/crates/core_arch/src");
        assert_eq!(
            std::fs::read_to_string(stub.join("mod.rs")).expect("stub"),
            CORE_ARCH_STUB
        );
        assert_eq!(
            std::fs::read_to_string(stub.join("core_arch_docs.md")).expect("docs"),
            "docs"
        );

        // Written again over the old one; gone when the toolchain's sources go.
        write(&template, &library).expect("rewritten");
        std::fs::remove_dir_all(library.join("std")).expect("remove");
        assert_eq!(sources(&template), None);
    }
}
