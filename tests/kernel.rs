//! The kernel through real Jupyter clients: jupyter_kernel_test's conformance suite,
//! our own jupyter_client checks (signatures, interrupt, restart, stdin, leaks), every
//! notebook under nbclient with its numbers checked independently, and JupyterLab in
//! Chromium.
//!
//! These start the kernel and compile Rust cells, so they take minutes; to run the rest
//! locally, filter them out by name with nextest (`-E 'not test(/kernel::/)'`).

use std::process::Command;

use crate::support::{python_path, root, workbench_ok};

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
    // Inside a governed session, as the enclave runs every kernel.
    let enclave = crate::enclave::Enclave::new();
    let output = Command::new(python_path())
        .envs(enclave.session_env())
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
    run_suite("kernel_client_checks");
}

#[test]
fn every_notebook_runs_on_the_kernel() {
    let dir = kernelspec();
    // The notebooks run in a session (an analyst's detailed project over a synthetic
    // programme of 2,000 cases) and read its view.
    let enclave = crate::enclave::Enclave::for_notebooks();
    let started = enclave.start("ana", "notebooks");
    let session = started["session"].as_str().expect("session").to_owned();
    let view = std::path::PathBuf::from(started["view"].as_str().expect("view"));
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut notebooks: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("notebooks"))
        .expect("notebooks/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    notebooks.sort();
    assert!(notebooks.len() >= 5, "{notebooks:?}");
    let bundles = scratch.path().join("outputs.json");
    let output = Command::new(python_path())
        .arg(root().join("tests/python/run_notebooks.py"))
        .arg("--outputs")
        .arg(&bundles)
        .args(&notebooks)
        .env("JUPYTER_PATH", dir.path().join("share/jupyter"))
        .env("JUPYTER_RUNTIME_DIR", dir.path().join("runtime"))
        .env("WORKBENCH_STORE", enclave.store())
        .env("WORKBENCH_SESSION", &session)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let outputs = |name: &str| -> Vec<serde_json::Value> {
        let path = root().join("notebooks").join(name);
        report[path.to_str().expect("utf-8")]
            .as_array()
            .unwrap_or_else(|| panic!("{name} missing from {report}"))
            .clone()
    };
    let json = |v: &[&str]| serde_json::json!(v);
    let tour = outputs("00-kernel-tour.ipynb");
    // Value, streamed prints, an HTML display, and the final value.
    assert_eq!(tour[0], json(&["execute_result/text/plain"]), "{report}");
    assert_eq!(tour[1], json(&["stream"]), "{report}");
    assert_eq!(
        tour[2],
        json(&["display_data/text/html+text/plain"]),
        "{report}"
    );
    assert_eq!(tour[3], json(&["execute_result/text/plain"]), "{report}");
    // DataFrames render as HTML tables with a text alternative.
    let table = json(&["execute_result/text/html+text/plain"]);
    let cohort = outputs("01-cohort-overview.ipynb");
    assert_eq!(cohort[0], json(&["execute_result/text/plain"]), "{report}");
    for cell in &cohort[1..] {
        assert_eq!(*cell, table, "{report}");
    }
    for cell in outputs("03-clinical-join.ipynb") {
        assert_eq!(cell, table, "03: {report}");
    }
    // QC: two tables of a hand-written query, then the curated trend and SOP charts.
    let svg = json(&["execute_result/image/png+image/svg+xml+text/plain"]);
    assert_eq!(
        outputs("02-qc-of-a-delivery.ipynb"),
        vec![table.clone(), table.clone(), svg.clone(), svg.clone()],
        "{report}"
    );
    // The survival figure is SVG; its table is HTML.
    let survival = outputs("04-survival-plot.ipynb");
    assert_eq!(
        survival[1],
        json(&["execute_result/image/png+image/svg+xml+text/plain"]),
        "{report}"
    );
    assert_eq!(survival[2], table, "{report}");
    // The curated analyses: a cohort card, tables and figures.
    let mutations = outputs("05-mutations-of-a-cohort.ipynb");
    assert_eq!(
        mutations,
        vec![
            table.clone(),
            table.clone(),
            svg.clone(),
            svg.clone(),
            table.clone(),
            table.clone(),
            table.clone(),
            svg
        ],
        "{report}"
    );
    // Every code cell ran in the session and is in its audit chain.
    let code_cells: usize = notebooks
        .iter()
        .map(|path| {
            let notebook: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).expect("notebook"))
                    .expect("notebook JSON");
            notebook["cells"]
                .as_array()
                .expect("cells")
                .iter()
                .filter(|c| c["cell_type"] == "code")
                .count()
        })
        .sum();
    let audited = enclave
        .audit()
        .iter()
        .filter(|r| r["event"]["kind"] == "cell" && r["event"]["session"] == session.as_str())
        .count();
    assert_eq!(audited, code_cells, "cells audited in session {session}");
    // The numbers in those outputs, against pyarrow, lifelines and SciPy, over the view.
    let values = Command::new(python_path())
        .arg(root().join("tests/python/notebook_values.py"))
        .arg(&view)
        .arg(&bundles)
        .output()
        .expect("python runs");
    assert!(
        values.status.success(),
        "notebook values differ:\n{}{}",
        String::from_utf8_lossy(&values.stdout),
        String::from_utf8_lossy(&values.stderr)
    );
}

#[test]
fn workbench_up_opens_jupyterlab_and_runs_the_cohort_notebook_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let screenshot = dir.path().join("cohort-overview.png");
    let output = Command::new(python_path())
        .arg(root().join("tests/python/jupyterlab_screenshot.py"))
        .arg(crate::support::binary("workbench"))
        .arg(&screenshot)
        .output()
        .expect("python runs");
    let log =
        std::fs::read_to_string(dir.path().join("cohort-overview.png.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "{}\nworkbench up said:\n{log}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    // Every code cell of the notebook ran; its three frames rendered as HTML tables.
    assert_eq!(summary["code_cells"], 4, "{summary}");
    assert!(summary["tables"].as_u64() >= Some(3), "{summary}");
    assert_eq!(summary["error_outputs"], 0, "{summary}");
    // The number on the page is the one pyarrow counts in the enclave (consent applied).
    let shown = summary["first_output"].as_str().expect("first output");
    let expected = format!(
        "{} cases, {} registrations",
        summary["expected"]["cases"], summary["expected"]["registrations"]
    );
    assert!(
        shown.contains(&expected),
        "page shows {shown:?}, expected {expected:?}"
    );
    let png = std::fs::read(&screenshot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
}

#[test]
fn the_enclave_logs_in_with_totp_gives_each_project_its_view_and_keeps_jupyterlab_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let screenshot = dir.path().join("enclave.png");
    let output = Command::new(python_path())
        .arg(root().join("tests/python/hub_e2e.py"))
        .arg(crate::support::binary("workbench"))
        .arg(&screenshot)
        .output()
        .expect("python runs");
    let log = std::fs::read_to_string(dir.path().join("enclave.png.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "{}\nworkbench up said:\n{log}",
        String::from_utf8_lossy(&output.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
    // Logins: a wrong second factor and a locked-out account are refused, naming the rule.
    assert!(text("wrong_totp_page").contains("R18-second-factor"), "{s}");
    assert!(text("locked_page").contains("R18-locked-out"), "{s}");
    assert!(!text("locked_url").contains("/user/"), "{s}");
    // ana's notebook in kyoto ran, and its count is the independent one of the view.
    assert_eq!(s["error_outputs"], 0, "{s}");
    assert!(s["tables"].as_u64() >= Some(3), "{s}");
    let lake = root().join(".work/enclave/lake");
    let kyoto =
        crate::enclave::reference_of(&lake, "Kyoto University Hospital", "COAD,LUAD,STAD", "");
    let expected = format!(
        "{} cases, {} registrations",
        kyoto["visible_cases"], kyoto["registrations"]
    );
    assert!(
        text("first_output").contains(&expected),
        "page {:?}, expected {expected:?}",
        s["first_output"]
    );
    // kei's project (all types, Osaka agreeing) sees a different count, equally right.
    let keio = crate::enclave::reference_of(
        &lake,
        "Keio University Hospital",
        "all",
        "Osaka University Hospital",
    );
    assert_eq!(
        text("kei_cell").trim(),
        format!("rows {}", keio["diagnoses"]),
        "{s}"
    );
    assert_ne!(keio["diagnoses"], kyoto["diagnoses"]);
    // The kernel has a network namespace of its own.
    assert!(text("kernel_netns").trim().starts_with("net:["), "{s}");
    assert_ne!(text("kernel_netns").trim(), text("host_netns"), "{s}");
    // The session's tree: no /var, /srv, /opt, /sys, /mnt, cargo credentials or host
    // keys, and /etc/shadow empty.
    assert!(
        text("tree_cell").contains("present [] shadow 0"),
        "{:?}",
        s["tree_cell"]
    );
    // The overview tier gets no rows.
    assert!(text("tra_cell").contains("R33-tier"), "{s}");
    // A script in an output never ran; the sanitised rest is shown.
    assert_eq!(s["title_before"], s["title_after"], "{s}");
    assert!(text("script_cell_output").contains("shown"), "{s}");
    // No terminal launcher, no download or export entries.
    let launcher = s["launcher"].to_string();
    assert!(
        !launcher.contains("Terminal") && !launcher.contains("Python"),
        "{launcher}"
    );
    let file_menu = text("file_menu");
    assert!(
        !file_menu.contains("Download") && !file_menu.contains("Save and Export"),
        "{file_menu}"
    );
    // The server refuses what the menus no longer offer.
    let status = |k: &str| s["probes"][k]["status"].as_u64().unwrap_or(0);
    for refused in [
        "terminal",
        "python3_kernel",
        "python3_session",
        "files",
        "view",
        "nbconvert",
        "raw_text",
        "raw_notebook",
    ] {
        assert!(
            [403, 404].contains(&status(refused)),
            "{refused}: {}",
            s["probes"][refused]
        );
    }
    assert_eq!(status("notebook"), 200, "{}", s["probes"]);
    assert_eq!(status("workbench_kernel"), 201, "{}", s["probes"]);
    let specs: serde_json::Value =
        serde_json::from_str(s["probes"]["kernelspecs"]["body"].as_str().unwrap_or("{}"))
            .unwrap_or_default();
    let names: Vec<&String> = specs["kernelspecs"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(names, ["workbench"], "{}", s["probes"]["kernelspecs"]);
    let png = std::fs::read(&screenshot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
}
