//! The workbench library as notebook cells see it: the same items, linked as a `dylib`.
//!
//! The kernel's rustc wrapper gives every cell this crate as `workbench`
//! (`--extern workbench=…/libworkbench_prelude.so`), so cells write
//! `use workbench::prelude::*;` as anywhere else. Being a Rust `dylib`, it carries polars
//! and every other dependency in one shared object: each cell's own library then holds
//! only the cell's code and links to this one dynamically.

pub use workbench::*;

/// The kernel's runtime inside the evaluation child: the child's half of interrupting a
/// cell without ending the child (the kernel's half is `kernel_eval::interrupt`). The
/// kernel inserts the calls into cells; they are not for users.
#[doc(hidden)]
pub mod __kernel {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::sync::{Arc, LazyLock, Mutex, Once};
    use std::thread::{JoinHandle, ThreadId};

    use polars::error::abort;

    /// Printed when a cell starts running (the kernel then may send SIGINT).
    const STARTED: &str = "WORKBENCH_CELL_STARTED";
    /// Printed when a check stops a cell.
    const STOPPED: &str = "WORKBENCH_CELL_INTERRUPTED";
    /// Printed when the cell's code ran to its end.
    const FINISHED: &str = "WORKBENCH_CELL_FINISHED";
    /// Printed, followed by a space and the escaped message, when the cell panics.
    const PANICKED: &str = "WORKBENCH_CELL_PANICKED";
    /// Printed on stderr when the cell finished: ends a line the cell left open there.
    const STDERR_END: &str = "WORKBENCH_CELL_STDERR_END";

    /// The thread that runs the current cell: its panics are the cell's error; other
    /// threads' panics are reported as Rust reports them.
    static CELL_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);
    static PANIC_HOOK: Once = Once::new();

    /// Set by SIGINT (the kernel sends it only while a cell runs). The library's own flag,
    /// so that its long loops stop too (`workbench::interrupt`).
    static REQUESTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| {
        let flag = workbench::interrupt::flag();
        // Without the handler SIGINT ends the child, which is what the kernel falls
        // back to anyway: a registration failure costs the variables, nothing else.
        let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag));
        flag
    });

    /// What a stopped cell unwinds with (not a panic message: the panic hook is not
    /// run, so nothing is printed).
    #[derive(Debug)]
    pub struct Interrupted;

    /// Run first in every instrumented cell: installs the handler, forgets a request
    /// that came after the previous cell's last check, and tells the kernel that the
    /// cell runs.
    pub fn cell_started() {
        PANIC_HOOK.call_once(|| {
            // polars' own stop (see `arm_polars_abort`): its SIGINT action and its panic
            // hook, which keeps an abort that unwinds a polars worker thread quiet. Ours
            // wraps it, so a cell's own panics are still reported by us.
            abort::register_polars_abort_mechanism();
            let default = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !on_cell_thread() {
                    return default(info);
                }
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "Box<dyn Any>".to_owned());
                if message.starts_with(POLARS_ABORT) {
                    // polars saw the interrupt at one of its checks: a stop, not a bug.
                    disarm_polars_abort();
                    announce(STOPPED);
                    return;
                }
                // The cell's own code is evcxr's generated `src/lib.rs`, whose lines
                // mean nothing to the user; a library's location does.
                let location = info
                    .location()
                    .filter(|l| l.file() != "src/lib.rs")
                    .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                    .unwrap_or_default();
                announce(&format!("{PANICKED} {}", escape(&(message + &location))));
            }));
        });
        *CELL_THREAD.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current().id());
        REQUESTED.store(false, Ordering::SeqCst);
        arm_polars_abort();
        announce(STARTED);
    }

    /// What polars panics with when its abort flag is set (`polars_error::abort`).
    const POLARS_ABORT: &str = "__POLARS_ABORT_";

    /// The thread that holds polars' abort catcher while a cell runs, and the sender
    /// whose drop lets it go.
    static CATCHER: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>> = Mutex::new(None);

    /// Arms polars' cooperative stop for the cell about to run.
    ///
    /// polars checks an abort flag at the start of every in-memory plan node, after a
    /// join has built its hash tables, after group-by's grouping and on every task poll
    /// of its streaming engine, and panics with a fixed payload when the flag is set. Its
    /// SIGINT action sets the flag only while a "catcher" (`catch_polars_abort`) is
    /// registered, and the last catcher to leave clears it. Rather than wrap every
    /// `collect()` a user writes, a helper thread stays inside a catcher for the whole
    /// cell: an interrupt then unwinds the query at polars' next check, evcxr catches the
    /// unwind as it catches a panic, and the earlier variables survive. The previous
    /// cell's catcher leaves first, which clears a flag that an interrupted query left
    /// set (the kernel only signals while a cell runs, so no request is lost).
    fn arm_polars_abort() {
        disarm_polars_abort();
        let mut slot = CATCHER.lock().unwrap_or_else(|e| e.into_inner());
        // A flag still set when registering (a request that came with no catcher left
        // to clear it) makes the catcher return at once, clearing it: then once more.
        for _ in 0..2 {
            let (leave, stay) = mpsc::channel::<()>();
            let (ready, armed) = mpsc::channel::<()>();
            let thread = std::thread::Builder::new()
                .name("polars-abort".into())
                .spawn(move || {
                    // Nothing here can be left half-done by an unwind: it only waits.
                    let _ = abort::catch_polars_abort(std::panic::AssertUnwindSafe(move || {
                        let _ = ready.send(());
                        // Until the cell ends and the sender is dropped.
                        let _ = stay.recv();
                    }));
                });
            // Without the thread a long query is stopped the old way (the kernel ends
            // the evaluation process after its grace period).
            let Ok(thread) = thread else { return };
            if armed.recv().is_ok() {
                *slot = Some((leave, thread));
                return;
            }
            let _ = thread.join();
        }
    }

    /// Lets the cell's catcher go: the last one to leave clears polars' abort flag, so
    /// code that runs before the next cell's start (evcxr's own, or a cell that is not
    /// instrumented) does not see an old request.
    fn disarm_polars_abort() {
        let taken = CATCHER.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((leave, thread)) = taken {
            drop(leave);
            let _ = thread.join();
        }
    }

    fn on_cell_thread() -> bool {
        let cell = *CELL_THREAD.lock().unwrap_or_else(|e| e.into_inner());
        cell == Some(std::thread::current().id())
    }

    /// One line for a message of any length: `\` and newlines escaped.
    fn escape(message: &str) -> String {
        message.replace('\\', "\\\\").replace('\n', "\\n")
    }

    /// Run at the top of every loop body and block closure of an instrumented cell:
    /// unwinds the cell if an interrupt was requested. evcxr catches the unwind and
    /// keeps the variables of earlier cells.
    #[inline]
    pub fn check() {
        if REQUESTED.load(Ordering::Relaxed) && !std::thread::panicking() {
            stop();
        }
    }

    #[cold]
    fn stop() {
        disarm_polars_abort();
        announce(STOPPED);
        std::panic::resume_unwind(Box::new(Interrupted));
    }

    /// Wraps the cell's last expression (by reference, so that a variable shown at the
    /// end of a cell is not moved), or runs after its last statement: the cell's code ran
    /// to its end, so it did not return early through `?`.
    pub fn finished<T: ?Sized>(value: &T) -> &T {
        disarm_polars_abort();
        announce(FINISHED);
        // evcxr reads stderr by lines too: without this, an `eprint!` with no newline
        // would wait for the next cell's stderr.
        let _ = writeln!(std::io::stderr().lock(), "{STDERR_END}");
        value
    }

    fn announce(marker: &str) {
        // evcxr reads the child's stdout line by line; the marker must be a line of its
        // own and arrive before anything the cell prints next.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{marker}");
        let _ = out.flush();
    }
}
