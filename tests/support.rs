//! Helpers: where the binaries, the Python environment and the test data are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// A binary built by `cargo build --workspace --bins` in the same profile as this test.
pub(crate) fn binary(name: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/; binaries in target/<profile>/.
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (./x test does)",
        path.display()
    );
    path
}

/// The real test data in the repository (`datasets/`: `sequencing/` and `clinical/`, each
/// with a MANIFEST.md giving origin, licence and checksums).
pub(crate) fn datasets() -> PathBuf {
    root().join("datasets")
}

/// Runs `workbench` with `args`.
pub(crate) fn workbench(args: &[&str]) -> Output {
    Command::new(binary("workbench"))
        .args(args)
        .output()
        .expect("workbench runs")
}

/// Runs `workbench` and requires success, returning stdout.
pub(crate) fn workbench_ok(args: &[&str]) -> String {
    let output = workbench(args);
    assert!(
        output.status.success(),
        "workbench {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

/// The project's Python (`$WORKBENCH_PYTHON`, relative to the workspace root, or
/// `.venv/bin/python`), which `./x test` prepares.
pub(crate) fn python_path() -> PathBuf {
    root().join(
        std::env::var_os("WORKBENCH_PYTHON")
            .map_or_else(|| ".venv/bin/python".into(), PathBuf::from),
    )
}

/// Runs a script from tests/python with the project's Python and parses its JSON output.
pub(crate) fn python(script: &str, args: &[&Path]) -> serde_json::Value {
    let python = python_path();
    assert!(
        Path::new(&python).is_file(),
        "{} is missing: run ./x test, which prepares .venv",
        python.display()
    );
    let output = Command::new(&python)
        .arg(root().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("script prints JSON")
}

/// Every regular file under `dir`, relative, sorted.
pub(crate) fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("under dir").to_owned());
            }
        }
    }
    out.sort();
    out
}

/// `workbench lake describe DIR --json`, parsed.
pub(crate) fn describe(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&workbench_ok(&[
        "lake",
        "describe",
        dir.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("describe prints JSON")
}

/// maftools' TCGA-LAML MAF and annotation imported into `out` (registered 2026-01-15);
/// returns the two source files.
pub(crate) fn import_laml(out: &Path) -> (PathBuf, PathBuf) {
    let data = datasets().join("clinical/maftools_tcga_laml");
    let (maf, annot) = (
        data.join("tcga_laml.maf.gz"),
        data.join("tcga_laml_annot.tsv"),
    );
    workbench_ok(&[
        "import",
        "maf",
        maf.to_str().expect("utf-8"),
        "--clinical",
        annot.to_str().expect("utf-8"),
        "--registered-on",
        "2026-01-15",
        "--consent-scope",
        "GRU",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    (maf, annot)
}

/// Every BAM in the sequencing test data (all indexed), sorted by path.
pub(crate) fn bams() -> Vec<PathBuf> {
    let data = datasets().join("sequencing");
    let mut out = Vec::new();
    for dir in [
        "derived",
        "icgc_argo_hcc1143",
        "manta_demo_hcc1954",
        "strelka_demo",
        "mosdepth_tests",
    ] {
        for entry in std::fs::read_dir(data.join(dir)).expect("dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "bam") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Runs samtools with `args`; it must succeed.
pub(crate) fn samtools(args: &[&str]) {
    let output = Command::new("samtools")
        .args(args)
        .output()
        .expect("samtools runs (./x test installs it)");
    assert!(
        output.status.success(),
        "samtools {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
