//! Integration tests of kernel-eval: real evcxr evaluation through the child binary.
//!
//! These compile Rust cells with the local toolchain, so they take seconds each.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kernel_eval::{Error, Evaluator, Evcxr, Output};

fn no_input(_: &str, _: bool) -> String {
    String::new()
}

fn start() -> (Evcxr, Arc<Mutex<Vec<Output>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        Arc::new(move |output| seen.lock().expect("lock").push(output))
    };
    let child = std::path::Path::new(env!("CARGO_BIN_EXE_workbench-eval-child"));
    (Evcxr::start(child, sink).expect("evcxr starts"), seen)
}

fn text(outputs: &kernel_eval::Outputs) -> Option<&str> {
    outputs.mime_bundle.get("text/plain").map(String::as_str)
}

#[test]
fn values_and_state_persist_across_cells() {
    let (mut eval, _) = start();
    let outputs = eval.evaluate("let x = 40;", &no_input).expect("statement");
    assert!(outputs.mime_bundle.is_empty(), "{outputs:?}");
    let outputs = eval.evaluate("x + 2", &no_input).expect("expression");
    assert_eq!(text(&outputs), Some("42"));
    assert!(
        eval.variables()
            .iter()
            .any(|(name, ty)| name == "x" && ty == "i32"),
        "{:?}",
        eval.variables()
    );
}

#[test]
fn compile_errors_carry_rustc_codes() {
    let (mut eval, _) = start();
    match eval.evaluate("let s: String = 1;", &no_input) {
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
        text(&eval.evaluate("1 + 1", &no_input).expect("ok")),
        Some("2")
    );
}

#[test]
fn output_arrives_before_evaluate_returns_and_input_is_answered() {
    let (mut eval, seen) = start();
    let answer = |prompt: &str, password: bool| format!("{prompt}|{password}");
    eval.evaluate("println!(\"out\"); eprintln!(\"err\");", &answer)
        .expect("prints");
    let got = seen.lock().expect("lock").clone();
    assert!(
        got.contains(&Output::Stdout("out\n".into()))
            && got.contains(&Output::Stderr("err\n".into())),
        "{got:?}"
    );
    // The child's input protocol, as `evcxr_input::get_string` (and our prelude) speak it.
    let ask = "{ println!(\"EVCXR_INPUT_REQUEST:name? \"); let mut l = String::new(); \
               std::io::stdin().read_line(&mut l).expect(\"line\"); l.trim().to_owned() }";
    let outputs = eval.evaluate(ask, &answer).expect("input");
    assert_eq!(text(&outputs), Some("\"name? |false\""));
}

#[test]
fn completion_and_interrupt() {
    let (mut eval, _) = start();
    eval.evaluate("let my_value = 5;", &no_input)
        .expect("statement");
    let found = eval.complete("my_va", 5);
    assert!(found.matches.iter().any(|m| m == "my_value"), "{found:?}");
    let interrupter = eval.interrupter();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        interrupter.interrupt();
    });
    let started = Instant::now();
    let result = eval.evaluate(
        "loop { std::thread::sleep(std::time::Duration::from_millis(10)); }",
        &no_input,
    );
    stopper.join().expect("stopper");
    assert!(matches!(result, Err(Error::ChildEnded(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The context is usable again after the interrupt.
    assert_eq!(
        text(&eval.evaluate("2 * 3", &no_input).expect("ok")),
        Some("6")
    );
}
