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
    use std::sync::{Arc, LazyLock, Mutex, Once};
    use std::thread::ThreadId;

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
        announce(STARTED);
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
        announce(STOPPED);
        std::panic::resume_unwind(Box::new(Interrupted));
    }

    /// Wraps the cell's last expression (by reference, so that a variable shown at the
    /// end of a cell is not moved), or runs after its last statement: the cell's code ran
    /// to its end, so it did not return early through `?`.
    pub fn finished<T: ?Sized>(value: &T) -> &T {
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
