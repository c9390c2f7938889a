//! The kernel through real Jupyter clients: jupyter_kernel_test's conformance suite
//! and our own jupyter_client checks (signatures, interrupt, restart, stdin, leaks).
//!
//! These start the kernel and compile Rust cells, so they take a minute; set
//! `WORKBENCH_SKIP_SLOW=1` to skip them locally (CI always runs them).

use std::process::Command;

use crate::support::{python_path, root, workbench_ok};

fn skip() -> bool {
    std::env::var_os("WORKBENCH_SKIP_SLOW").is_some() && std::env::var_os("CI").is_none()
}

/// A temporary JUPYTER_PATH holding the workbench kernelspec.
fn kernelspec() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    workbench_ok(&[
        "kernel",
        "install",
        "--prefix",
        dir.path().to_str().expect("utf-8"),
    ]);
    dir
}

/// Runs a unittest module from tests/python against a freshly installed kernelspec and
/// returns its combined output; fails on any failure or skipped test.
fn run_suite(module: &str) -> String {
    let dir = kernelspec();
    let output = Command::new(python_path())
        .args(["-m", "unittest", "-v", module])
        .current_dir(root().join("tests/python"))
        .env("JUPYTER_PATH", dir.path().join("share/jupyter"))
        .env("JUPYTER_RUNTIME_DIR", dir.path().join("runtime"))
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{module} failed:\n{text}");
    assert!(!text.contains("skipped"), "{module} skipped tests:\n{text}");
    text
}

#[test]
fn jupyter_kernel_test_conformance() {
    if skip() {
        return;
    }
    let text = run_suite("kernel_conformance");
    for test in [
        "test_completion",
        "test_is_complete",
        "test_history",
        "test_inspect",
        "test_display_data",
        "test_clear_output",
        "test_error",
        "test_execute_result",
        "test_execute_stdout",
        "test_execute_stderr",
    ] {
        assert!(
            text.contains(&format!("{test} "))
                && !text.contains(&format!(
                    "{test} (kernel_conformance.WorkbenchKernelTests.{test}) ... skipped"
                )),
            "{test} did not run:\n{text}"
        );
    }
}

#[test]
fn jupyter_client_behaviour() {
    if skip() {
        return;
    }
    run_suite("kernel_client_checks");
}

#[test]
fn every_notebook_runs_on_the_kernel() {
    if skip() {
        return;
    }
    let dir = kernelspec();
    let notebooks: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("notebooks"))
        .expect("notebooks/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    assert!(!notebooks.is_empty());
    let output = Command::new(python_path())
        .arg(root().join("tests/python/run_notebooks.py"))
        .args(&notebooks)
        .env("JUPYTER_PATH", dir.path().join("share/jupyter"))
        .env("JUPYTER_RUNTIME_DIR", dir.path().join("runtime"))
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let tour = &report[root()
        .join("notebooks/00-kernel-tour.ipynb")
        .to_str()
        .expect("utf-8")];
    // Value, streamed prints, an HTML display, and the final value.
    assert_eq!(
        tour[0],
        serde_json::json!(["execute_result/text/plain"]),
        "{report}"
    );
    assert_eq!(tour[1], serde_json::json!(["stream"]), "{report}");
    assert_eq!(
        tour[2],
        serde_json::json!(["display_data/text/html+text/plain"]),
        "{report}"
    );
    assert_eq!(
        tour[3],
        serde_json::json!(["execute_result/text/plain"]),
        "{report}"
    );
}
