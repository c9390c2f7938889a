//! Integration tests of kernel-eval: real evcxr evaluation through the child binary.
//!
//! These compile Rust cells with the local toolchain, so they take seconds each.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kernel_eval::{Config, Error, Evaluator, Evcxr, Output};

fn no_input(_: &str, _: bool) -> String {
    String::new()
}

fn start() -> (Evcxr, Arc<Mutex<Vec<Output>>>) {
    start_in(&tempfile_dir("eval"))
}

fn start_in(workspace: &std::path::Path) -> (Evcxr, Arc<Mutex<Vec<Output>>>) {
    start_with_view(workspace, Vec::new())
}

fn start_with_view(
    workspace: &std::path::Path,
    view: Vec<std::path::PathBuf>,
) -> (Evcxr, Arc<Mutex<Vec<Output>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        Arc::new(move |output| seen.lock().expect("lock").push(output))
    };
    let child = std::path::Path::new(env!("CARGO_BIN_EXE_workbench-eval-child"));
    let session = session_dir();
    (
        Evcxr::start(
            &Config {
                child: child.to_owned(),
                workspace: workspace.to_owned(),
                prelude: None,
                view,
                session: Some(session),
            },
            sink,
        )
        .expect("evcxr starts"),
        seen,
    )
}

/// A session directory whose `tmp/` is this process's TMPDIR, as the kernel's `main`
/// arranges it: the confined build (rustc, the linker, rust-analyzer) may write nowhere
/// else. nextest runs every test in a process of its own.
#[allow(unsafe_code)]
fn session_dir() -> std::path::PathBuf {
    let dir = kernel_eval::session::Dir::create(&std::env::temp_dir()).expect("session dir");
    let path = dir.path().to_owned();
    // SAFETY: set before the evaluator starts any thread; the test harness's other
    // threads do not read the environment while a test runs.
    unsafe { std::env::set_var("TMPDIR", dir.tmp()) };
    // The directory outlives the test; the next run removes it (its pid is gone).
    std::mem::forget(dir);
    path
}

fn text(outputs: &kernel_eval::Outputs) -> Option<&str> {
    outputs.mime_bundle.get("text/plain").map(String::as_str)
}

#[test]
fn a_cell_writes_temporary_files_inside_its_workspace() {
    // The `tempfile` crate and polars' spilling use `std::env::temp_dir()`; the confined
    // child may write only its workspace, so that is where the directory must be.
    let (mut eval, _) = start();
    let outputs = eval
        .evaluate(
            "{\n\
                 let dir = std::env::temp_dir();\n\
                 let path = dir.join(format!(\"probe-{}\", std::process::id()));\n\
                 std::fs::write(&path, \"spilled\").unwrap();\n\
                 let back = std::fs::read_to_string(&path).unwrap();\n\
                 std::fs::remove_file(&path).unwrap();\n\
                 format!(\"{} {}\", dir.ends_with(\".tmp\"), back)\n\
             }",
            &no_input,
        )
        .expect("the cell writes its temporary file");
    assert_eq!(text(&outputs), Some("\"true spilled\""));
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
fn types_found_for_a_cell_are_reused_until_they_no_longer_fit() {
    let (mut eval, _) = start();
    eval.evaluate("fn make() -> i32 { 7 }", &no_input)
        .expect("item");
    // Run twice: the second run, in the state the first left, is remembered.
    for _ in 0..2 {
        eval.evaluate("let made = make();", &no_input)
            .expect("binding");
    }
    let typed = |eval: &Evcxr| {
        eval.variables()
            .into_iter()
            .find(|(name, _)| name == "made")
            .map(|(_, ty)| ty)
    };
    assert_eq!(typed(&eval).as_deref(), Some("i32"));
    // The same cell in the same state but `make` now returns a String: the remembered
    // `i32` fails to compile and the type is found afresh.
    eval.evaluate("fn make() -> String { \"seven\".into() }", &no_input)
        .expect("redefined item");
    eval.evaluate("let made = make();", &no_input)
        .expect("binding after the change");
    assert_eq!(typed(&eval).as_deref(), Some("String"));
    let outputs = eval.evaluate("made.len()", &no_input).expect("use");
    assert_eq!(text(&outputs), Some("5"));
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

/// Runs `code` (a block evaluating to `bool`) and returns its value.
fn check(eval: &mut Evcxr, code: &str) -> bool {
    let outputs = eval.evaluate(code, &no_input).expect("cell runs");
    match text(&outputs) {
        Some("true") => true,
        Some("false") => false,
        other => panic!("{code} gave {other:?}"),
    }
}

#[test]
fn cells_cannot_write_outside_the_workspace_or_use_tcp() {
    let workspace = tempfile_dir("confined");
    // Our own sockets first: starting the evaluator confines this thread too.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    // A file outside the child's reads, written before the confinement.
    let secret = std::path::Path::new("/tmp").join(format!("wb-secret-{}", std::process::id()));
    std::fs::write(&secret, "secret").expect("secret written by the test");
    let (mut eval, _) = start_in(&workspace);
    let outside = std::env::temp_dir().join(format!("wb-outside-{}", std::process::id()));
    let _ = std::fs::remove_file(&outside);
    // Writing inside the workspace works; anywhere else is denied, also to a shell.
    let inside = workspace.join("result.txt");
    assert!(check(
        &mut eval,
        &format!("std::fs::write({inside:?}, \"ok\").is_ok()")
    ));
    assert_eq!(std::fs::read_to_string(&inside).expect("written"), "ok");
    assert!(check(
        &mut eval,
        &format!("std::fs::write({outside:?}, \"x\").is_err()")
    ));
    assert!(check(
        &mut eval,
        "std::fs::write(\"/tmp/x\", \"x\").is_err()"
    ));
    let shell = format!(
        "std::process::Command::new(\"sh\").arg(\"-c\").arg(\"echo x > {}\").status().map(|s| !s.success()).unwrap_or(true)",
        outside.display()
    );
    assert!(check(&mut eval, &shell));
    assert!(
        !outside.exists(),
        "a confined cell wrote {}",
        outside.display()
    );
    // TCP: a listener of ours on 127.0.0.1 is unreachable from a cell.
    assert!(check(
        &mut eval,
        &format!("std::net::TcpStream::connect((\"127.0.0.1\", {port})).is_err()")
    ));
    assert!(check(
        &mut eval,
        "std::net::TcpListener::bind(\"127.0.0.1:0\").is_err()"
    ));
    // Reading system files still works (libraries, compiled cells need it); a file
    // outside the reads the child was given does not.
    assert!(check(
        &mut eval,
        "std::fs::read_to_string(\"/etc/os-release\").is_ok_and(|t| t.contains(\"ID=\"))"
    ));
    assert!(check(
        &mut eval,
        &format!("std::fs::read_to_string({secret:?}).is_err()")
    ));
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wb-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

#[test]
fn escaping_commands_are_refused_before_anything_runs() {
    let (mut eval, _) = start();
    for code in [
        "!touch /tmp/wb-shell",
        ":env FOO=1",
        ":dep x = { path = \"/etc\" }",
    ] {
        assert!(
            matches!(eval.evaluate(code, &no_input), Err(Error::Refused(_))),
            "{code}"
        );
    }
    assert!(!std::path::Path::new("/tmp/wb-shell").exists());
    assert_eq!(
        text(&eval.evaluate("5 + 5", &no_input).expect("still usable")),
        Some("10")
    );
}

#[test]
fn missing_workspace_refuses_to_start() {
    // As evcxr's runtime, the child exits with status 3 before running anything when it
    // cannot confine itself.
    let child = std::path::Path::new(env!("CARGO_BIN_EXE_workbench-eval-child"));
    let missing = std::env::temp_dir().join("wb-no-such-workspace-dir");
    let output = std::process::Command::new(child)
        .env("EVCXR_IS_RUNTIME", "1")
        .env("WORKBENCH_WORKSPACE", &missing)
        .output()
        .expect("child runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot confine user code"));
}

#[test]
fn cells_read_only_their_view_and_reach_no_socket() {
    let workspace = tempfile_dir("view-ws");
    let view = tempfile_dir("view-data");
    let secret_dir = tempfile_dir("view-secret");
    std::fs::write(view.join("allowed.txt"), "in view").expect("write");
    std::fs::write(secret_dir.join("secret.txt"), "not in view").expect("write");
    // Our own socket first: starting the evaluator confines this thread too.
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    listener
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let port = listener.local_addr().expect("addr").port();
    // A Unix socket outside the sandbox, as D-Bus, docker or an ssh agent would listen.
    let socket_path = secret_dir.join("daemon.sock");
    let daemon = std::os::unix::net::UnixListener::bind(&socket_path).expect("unix listener");
    daemon.set_nonblocking(true).expect("nonblocking");
    let (mut eval, _) = start_with_view(&workspace, vec![view.clone()]);
    assert!(check(
        &mut eval,
        &format!(
            "std::fs::read_to_string({:?}).map(|s| s == \"in view\").unwrap_or(false)",
            view.join("allowed.txt")
        )
    ));
    assert!(check(
        &mut eval,
        &format!(
            "std::fs::read_to_string({:?}).is_err()",
            secret_dir.join("secret.txt")
        )
    ));
    // A shell started by the cell cannot read it either.
    assert!(check(
        &mut eval,
        &format!(
            "std::process::Command::new(\"cat\").arg({:?}).output().map(|o| !o.status.success()).unwrap_or(true)",
            secret_dir.join("secret.txt")
        )
    ));
    // UDP: a datagram to our listener on 127.0.0.1 never arrives; the socket itself is
    // refused (only Unix sockets may be created).
    assert!(check(
        &mut eval,
        &format!(
            "std::net::UdpSocket::bind(\"127.0.0.1:0\").and_then(|s| s.send_to(b\"leak\", (\"127.0.0.1\", {port}))).is_err()"
        )
    ));
    let mut buffer = [0u8; 16];
    assert!(
        listener.recv_from(&mut buffer).is_err(),
        "a datagram arrived"
    );
    // No Unix socket either: the daemon's is not reached.
    assert!(check(
        &mut eval,
        &format!("std::os::unix::net::UnixStream::connect({socket_path:?}).is_err()")
    ));
    assert!(
        daemon.accept().is_err(),
        "a cell reached a Unix socket outside the sandbox"
    );
    // A connected pair (cargo uses one) reaches nothing but itself.
    assert!(check(
        &mut eval,
        "std::os::unix::net::UnixStream::pair().is_ok()"
    ));
}

#[test]
fn build_scripts_run_confined() {
    // A crate whose build script tries to reach the network and write outside the
    // session: the build runs under the build layer, so every attempt fails. The crate
    // sits in the workspace because the build layer reads nothing else of the user's.
    let workspace = tempfile_dir("build-ws");
    let krate = workspace.join("probe");
    std::fs::create_dir_all(krate.join("src")).expect("dir");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp");
    tcp.set_nonblocking(true).expect("nonblocking");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let outside = std::env::temp_dir().join(format!("wb-build-outside-{}", std::process::id()));
    let _ = std::fs::remove_file(&outside);
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .expect("manifest");
    std::fs::write(krate.join("src/lib.rs"), "pub const PROBE: u8 = 1;\n").expect("lib");
    std::fs::write(
        krate.join("build.rs"),
        format!(
            "fn main() {{\n\
             let _ = std::net::TcpStream::connect((\"127.0.0.1\", {tcp_port}));\n\
             let _ = std::net::UdpSocket::bind(\"127.0.0.1:0\").and_then(|s| s.send_to(b\"x\", (\"127.0.0.1\", {udp_port})));\n\
             let _ = std::fs::write({outside:?}, \"x\");\n\
             }}\n",
            tcp_port = tcp.local_addr().expect("addr").port(),
            udp_port = udp.local_addr().expect("addr").port(),
        ),
    )
    .expect("build.rs");
    let (mut eval, _) = start_in(&workspace);
    let outputs = eval
        .run_trusted(
            &format!(":dep probe = {{ path = {:?} }}\nprobe::PROBE", krate),
            &no_input,
        )
        .expect("the probe builds");
    assert_eq!(text(&outputs), Some("1"));
    assert!(tcp.accept().is_err(), "the build script connected over TCP");
    let mut buffer = [0u8; 4];
    assert!(udp.recv_from(&mut buffer).is_err(), "a datagram arrived");
    assert!(
        !outside.exists(),
        "the build script wrote {}",
        outside.display()
    );
}

#[test]
fn bindings_inside_functions_keep_their_own_types() {
    // Only the cell's top-level `let`s get rustc's types written in; the `i` of `g` is
    // inferred as `u8` from the return type and must stay so.
    let (mut eval, _) = start();
    let outputs = eval
        .evaluate(
            "fn g() -> u8 { let mut i = 0; while i < 3 { i += 1; } i }\nlet r = g();\nr",
            &no_input,
        )
        .expect("compiles and runs");
    assert_eq!(text(&outputs), Some("3"));
}

/// Completions of `probes` in a session whose rust-analyzer reads the standard library
/// from `library` (readable through `view`), each sorted.
#[allow(unsafe_code)]
fn completions_with(
    library: &std::path::Path,
    view: Vec<std::path::PathBuf>,
    probes: &'static [&'static str],
    tmp: &std::path::Path,
) -> Vec<Vec<String>> {
    let (library, tmp) = (library.to_owned(), tmp.to_owned());
    // Its own thread: starting a session confines the thread that starts it.
    std::thread::spawn(move || {
        // SAFETY: the other session of this test has ended; no thread of this process
        // reads the environment meanwhile (rust-analyzer reads it when the session starts).
        // The session directory goes into the process's own temporary directory, not
        // into the previous session's (whose cargo configuration cargo would read).
        unsafe {
            std::env::set_var("RUST_SRC_PATH", &library);
            std::env::set_var("TMPDIR", &tmp);
        }
        let (mut eval, _) = start_with_view(&tempfile_dir("completion"), view);
        probes
            .iter()
            .map(|code| {
                let mut found = eval.complete(code, code.len()).matches;
                found.sort();
                found
            })
            .collect()
    })
    .join()
    .expect("session thread")
}

fn rust_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            total += rust_bytes(&path);
        } else if path.extension().is_some_and(|e| e == "rs") {
            total += entry.metadata().expect("metadata").len();
        }
    }
    total
}

#[test]
fn the_trimmed_standard_library_completes_as_the_whole_one() {
    // What notebooks complete most: methods of std types, of integers and floats (from
    // the integer macros that trimming touches most), iterator adapters, module paths.
    const PROBES: &[&str] = &[
        "let s = String::new();\ns.",
        "let v = vec![1u8, 2];\nv.iter().",
        "let n = 5u64;\nn.",
        "let i = -3i32;\ni.",
        "let x = 1.5f64;\nx.",
        "let o = Some(1);\no.",
        "let m = std::collections::HashMap::<u8, u8>::new();\nm.",
        "let z = std::num::NonZeroU32::new(3).unwrap();\nz.",
        "let t = std::time::Instant::now();\nt.",
        "let w = std::num::Wrapping(3u8);\nw.",
        "\"abc\".",
        "std::fs::",
        "std::collections::",
    ];
    let library = kernel_eval::analyzer::toolchain_library()
        .expect("the toolchain's rust-src component (./x installs it)");
    let template = tempfile_dir("trimmed-std");
    kernel_eval::analyzer::write(&template, &library).expect("trimmed view written");
    let trimmed = kernel_eval::analyzer::sources(&template).expect("trimmed view complete");
    let (whole_bytes, trimmed_bytes) = (
        rust_bytes(&library.join("core/src")),
        rust_bytes(&trimmed.join("core/src")),
    );
    assert!(
        trimmed_bytes * 10 < whole_bytes * 6,
        "core trimmed to {trimmed_bytes} of {whole_bytes} bytes"
    );

    let tmp = std::env::temp_dir();
    // The trimmed session first: rust-analyzer's file loading runs on threads that the
    // first session starts, confined as that session's thread was; the first may read the
    // trimmed view (its view) and the toolchain (a system read), the second only the
    // toolchain. (A kernel runs one session per process.)
    // The whole library is read the same way as the trimmed one, stitched from its
    // directories without the sysroot's Cargo.toml (see `analyzer::write`), so that only
    // the trimming differs between the two.
    let whole_view = template.join("whole/library");
    std::fs::create_dir_all(&whole_view).expect("whole view");
    for entry in std::fs::read_dir(&library).expect("library").flatten() {
        let name = entry.file_name();
        if name != "Cargo.toml" && name != "Cargo.lock" {
            std::os::unix::fs::symlink(entry.path(), whole_view.join(&name)).expect("link");
        }
    }
    let trimmed = completions_with(&trimmed, vec![template.clone()], PROBES, &tmp);
    let whole = completions_with(&whole_view, vec![template.clone()], PROBES, &tmp);
    for ((probe, whole), trimmed) in PROBES.iter().zip(&whole).zip(&trimmed) {
        assert!(whole.len() > 5, "{probe:?}: only {whole:?}");
        let missing: Vec<_> = whole.iter().filter(|c| !trimmed.contains(c)).collect();
        let extra: Vec<_> = trimmed.iter().filter(|c| !whole.contains(c)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{probe:?}: missing {missing:?}, extra {extra:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&template);
}

#[test]
fn cells_and_their_programs_make_no_namespace() {
    // Outside the sandbox this test may make a network namespace (it runs as root, as
    // CI does), so a refusal inside is the filter's and not the machine's.
    let outside = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .status();
    assert!(
        outside.is_ok_and(|s| s.success()),
        "unshare --net must work outside the sandbox for this test to mean anything (run as root)"
    );
    let workspace = tempfile_dir("allow-list");
    let (mut eval, _) = start_in(&workspace);
    // A FIFO may be made in the workspace, a device node (root could, outside) not.
    let fifo = workspace.join("pipe");
    let device = workspace.join("null-device");
    assert!(check(
        &mut eval,
        &format!(
            "std::process::Command::new(\"mkfifo\").arg({fifo:?}).status().is_ok_and(|s| s.success())"
        )
    ));
    assert!(check(
        &mut eval,
        &format!(
            "std::process::Command::new(\"mknod\").arg({device:?}).args([\"c\", \"1\", \"3\"]).status().map(|s| !s.success()).unwrap_or(true)"
        )
    ));
    assert!(!device.exists(), "a cell made a device node");
    // A program the cell starts: unshare(2) is not on the allow-list.
    assert!(check(
        &mut eval,
        "std::process::Command::new(\"unshare\").args([\"--net\", \"true\"]).status().map(|s| !s.success()).unwrap_or(true)"
    ));
    // The cell itself: clone with a namespace flag is refused (EPERM), unshare(2) is an
    // unknown call (ENOSYS).
    assert!(check(
        &mut eval,
        "std::process::Command::new(\"unshare\").args([\"--user\", \"--map-root-user\", \"true\"]).status().map(|s| !s.success()).unwrap_or(true)"
    ));
    // Ordinary work goes on: processes, threads, files.
    assert!(check(
        &mut eval,
        "std::thread::spawn(|| 2 + 2).join().map(|v| v == 4).unwrap_or(false) && std::process::Command::new(\"true\").status().is_ok_and(|s| s.success())"
    ));
}

#[test]
#[allow(unsafe_code)]
fn a_cell_past_its_memory_limit_ends_its_process_and_the_kernel_says_which_limit() {
    // 6 GiB for this test's child and build (the default is half the machine); set
    // before the evaluator starts any thread.
    // SAFETY: no other thread of this test process reads the environment now.
    unsafe { std::env::set_var("WORKBENCH_MEMORY_MIB", "6144") };
    let (mut eval, seen) = start();
    assert_eq!(
        text(&eval.evaluate("1 + 1", &no_input).expect("runs")),
        Some("2")
    );
    // 64 GiB: more than the limit, and more than this machine has.
    let err = eval
        .evaluate("let v = vec![1u8; 64 << 30];\nv.len()", &no_input)
        .expect_err("the allocation cannot succeed");
    match &err {
        Error::ChildEnded(message) => assert!(
            message.contains("memory limit of 6.0 GiB") && message.contains("WORKBENCH_MEMORY_MIB"),
            "{message}; the cell's output: {:?}",
            seen.lock().expect("lock")
        ),
        other => panic!("expected the child's end, got {other:?}"),
    }
    // The kernel goes on with a new process.
    assert_eq!(
        text(
            &eval
                .evaluate("2 + 2", &no_input)
                .expect("a new process runs")
        ),
        Some("4")
    );
}

/// Processes whose command line holds `marker` (a `sleep` of an unusual length).
fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let state = std::fs::read_to_string(e.path().join("status")).ok()?;
            // A zombie has ended; only its entry waits for its parent.
            (cmdline.contains(marker) && !state.contains("State:\tZ")).then_some(cmdline)
        })
        .collect()
}

#[test]
fn what_a_cell_leaves_running_ends_with_the_cell_and_the_user_is_told() {
    let (mut eval, seen) = start();
    // One job in the background of a shell that returns, one whose parent ended at once
    // (re-parented, it no longer descends from the child), and one kept by the cell (its
    // type, `std::process::Child`, is one rustc names bare: the kernel adds the path).
    let outputs = eval
        .evaluate(
            "let kept = std::process::Command::new(\"sleep\").arg(\"6173\").spawn()?;\n\
             std::process::Command::new(\"sh\").args([\"-c\", \"sleep 6171 >/dev/null 2>&1 & (sleep 6172 >/dev/null 2>&1 &)\"]).status()?.success()",
            &no_input,
        )
        .expect("the cell runs");
    assert_eq!(text(&outputs), Some("true"));
    for marker in ["sleep 6171", "sleep 6172", "sleep 6173"] {
        assert_eq!(
            processes_with(marker),
            Vec::<String>::new(),
            "{marker} outlived its cell"
        );
    }
    let told = seen.lock().expect("lock").iter().any(|o| {
        matches!(o, Output::Stderr(text) if text.contains("3 process(es) this cell started were still running at its end and were ended"))
    });
    assert!(told, "{:?}", seen.lock().expect("lock"));
    // The session goes on, with its variables.
    assert!(check(&mut eval, "kept.id() > 0"));
}
