//! Integration tests of kernel-eval: real evcxr evaluation through the child binary.
//!
//! These compile Rust cells with the local toolchain, so they take seconds each.

use kernel_eval::{Error, Evaluator, Evcxr};

fn start() -> Evcxr {
    Evcxr::start(std::path::Path::new(env!(
        "CARGO_BIN_EXE_workbench-eval-child"
    )))
    .expect("evcxr starts")
}

#[test]
fn values_and_state_persist_across_cells() {
    let mut eval = start();
    let outputs = eval.evaluate("let x = 40;").expect("statement");
    assert!(outputs.mime_bundle.is_empty(), "{outputs:?}");
    let outputs = eval.evaluate("x + 2").expect("expression");
    assert_eq!(
        outputs.mime_bundle.get("text/plain").map(String::as_str),
        Some("42")
    );
}

#[test]
fn compile_errors_carry_rustc_codes() {
    let mut eval = start();
    match eval.evaluate("let s: String = 1;") {
        Err(Error::Compilation(diagnostics)) => {
            assert!(
                diagnostics
                    .iter()
                    .any(|d| d.code.as_deref() == Some("E0308")),
                "{diagnostics:?}"
            );
        }
        other => panic!("expected a compilation error, got {other:?}"),
    }
    // The context survives a failed cell.
    assert_eq!(
        eval.evaluate("1 + 1")
            .expect("ok")
            .mime_bundle
            .get("text/plain")
            .map(String::as_str),
        Some("2")
    );
}
