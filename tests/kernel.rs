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

/// Runs a unittest module from tests/python against a freshly installed kernelspec and
/// returns its combined output; fails on any failure or skipped test.
fn run_suite(module: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    workbench_ok(&[
        "kernel",
        "install",
        "--prefix",
        dir.path().to_str().expect("utf-8"),
    ]);
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
