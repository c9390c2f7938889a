//! The kernel's half of the cell runtime: what an instrumented cell reports while it
//! runs, and interrupting it without losing the session's variables.
//!
//! An instrumented cell (see `instrument`) calls the prelude crate's `__kernel` module,
//! which prints marker lines on stdout: the cell started, finished, was stopped at a
//! check, or panicked. The output threads take them out of the user's output and record
//! them here. An interrupt is SIGINT, sent to the child once the cell has announced its
//! start (never during compilation, when the child is idle); the prelude's handler only
//! sets a flag that the next check turns into an unwind, which evcxr catches as it
//! catches panics, keeping the variables of earlier cells; the workbench library's long
//! loops watch the same flag and return an error, and polars' own abort, armed by the
//! prelude while a cell runs, unwinds a query at polars' next check. Code that reaches no
//! check for [`GRACE`] (a long `sleep`, one long sort) is stopped the old way: the child
//! is ended and the variables are lost.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Printed by the prologue once the cell's code runs.
pub(crate) const STARTED: &str = "WORKBENCH_CELL_STARTED";
/// Printed by a check that stops the cell.
pub(crate) const STOPPED: &str = "WORKBENCH_CELL_INTERRUPTED";
/// Printed, with a space and the escaped message, by the prelude's panic hook when the
/// cell's own thread panics.
pub(crate) const PANICKED: &str = "WORKBENCH_CELL_PANICKED";
/// Printed when the cell's code ran to its end (its last expression was evaluated); a
/// cell that started and did not finish, panic or stop returned early through `?`.
pub(crate) const FINISHED: &str = "WORKBENCH_CELL_FINISHED";
/// Printed on stderr with [`FINISHED`]: ends a line the cell left open there (evcxr
/// reads the child's stderr line by line, so `eprint!` without a newline would wait
/// for the next cell's stderr and be shown as part of it).
pub(crate) const STDERR_END: &str = "WORKBENCH_CELL_STDERR_END";

/// How many lines of a cell's stderr are kept for its error message.
const STDERR_KEPT: usize = 50;

/// How long running code has to reach a check before the child is ended.
pub(crate) const GRACE: Duration = Duration::from_millis(1000);

/// What the kernel knows about the cell being evaluated, shared by the evaluation, the
/// output threads (which read the markers) and interrupters.
#[derive(Debug, Default)]
pub(crate) struct CellState {
    /// A cell is being compiled or run.
    pub(crate) running: AtomicBool,
    /// An interrupt was asked for during this cell.
    pub(crate) interrupted: AtomicBool,
    /// The cell was instrumented, so SIGINT reaches a check.
    pub(crate) instrumented: AtomicBool,
    /// The instrumented cell's code has started running.
    pub(crate) started: AtomicBool,
    /// The instrumented cell's code ran to its end.
    pub(crate) finished: AtomicBool,
    /// A check stopped the cell.
    pub(crate) stopped: AtomicBool,
    /// The finished cell's end marker came through stderr: all it wrote there is in.
    pub(crate) stderr_ended: AtomicBool,
    /// The cell's thread panicked with this message.
    pub(crate) panicked: Mutex<Option<String>>,
    /// The last lines the cell wrote to stderr (where evcxr prints the error that `?`
    /// returned).
    pub(crate) stderr: Mutex<std::collections::VecDeque<String>>,
    /// The standard library's report of a failed allocation, if the cell made one (the
    /// child aborts after it, and its backtrace would push it out of `stderr`).
    pub(crate) failed_allocation: Mutex<Option<String>>,
}

impl CellState {
    /// Resets the state for a cell about to be evaluated.
    pub(crate) fn begin(&self, instrumented: bool) {
        self.interrupted.store(false, Ordering::SeqCst);
        self.started.store(false, Ordering::SeqCst);
        self.stopped.store(false, Ordering::SeqCst);
        self.finished.store(false, Ordering::SeqCst);
        self.stderr_ended.store(false, Ordering::SeqCst);
        *lock(&self.panicked) = None;
        lock(&self.stderr).clear();
        *lock(&self.failed_allocation) = None;
        self.instrumented.store(instrumented, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
    }

    /// Records a marker at the end of a line from the child's stdout; returns the text to
    /// show: a whole line with its newline, or what the cell printed without a newline
    /// before the marker, as it was printed.
    pub(crate) fn observe(&self, line: &str) -> Option<String> {
        if let Some(at) = line.find(PANICKED) {
            let message = line[at + PANICKED.len()..].trim_start_matches(' ');
            *lock(&self.panicked) = Some(unescape(message));
            return (at > 0).then(|| line[..at].to_owned());
        }
        for (marker, flag) in [
            (STARTED, &self.started),
            (STOPPED, &self.stopped),
            (FINISHED, &self.finished),
        ] {
            if let Some(before) = line.strip_suffix(marker) {
                flag.store(true, Ordering::SeqCst);
                return (!before.is_empty()).then(|| before.to_owned());
            }
        }
        Some(format!("{line}\n"))
    }

    /// A line from the child's stderr as [`CellState::observe`] does for stdout: the
    /// text to show, without [`STDERR_END`]; kept for the cell's error message.
    pub(crate) fn observe_stderr(&self, line: &str) -> Option<String> {
        let shown = match line.strip_suffix(STDERR_END) {
            Some(before) => {
                self.stderr_ended.store(true, Ordering::SeqCst);
                if before.is_empty() {
                    return None;
                }
                before.to_owned()
            }
            None => format!("{line}\n"),
        };
        self.stderr_line(shown.trim_end_matches('\n'));
        Some(shown)
    }

    /// Keeps a stderr line of the cell.
    fn stderr_line(&self, line: &str) {
        if line.starts_with("memory allocation of ") {
            *lock(&self.failed_allocation) = Some(line.to_owned());
        }
        let mut kept = lock(&self.stderr);
        if kept.len() == STDERR_KEPT {
            kept.pop_front();
        }
        kept.push_back(line.to_owned());
    }

    /// Asks the running cell to stop; whether a cell was running. Returns at once: a
    /// thread sends the request when the cell runs and ends the child if the cell does
    /// not stop within [`GRACE`].
    pub(crate) fn interrupt(self: &Arc<Self>, child: &Arc<Mutex<Child>>) -> bool {
        if !self.running.load(Ordering::SeqCst) {
            return false;
        }
        if self.interrupted.swap(true, Ordering::SeqCst) {
            return true;
        }
        let (state, child) = (Arc::clone(self), Arc::clone(child));
        std::thread::spawn(move || state.stop(&child));
        true
    }

    fn stop(&self, child: &Mutex<Child>) {
        let mut asked: Option<Instant> = None;
        while self.running.load(Ordering::SeqCst) && self.interrupted.load(Ordering::SeqCst) {
            let cooperative = self.instrumented.load(Ordering::SeqCst);
            if cooperative && !self.started.load(Ordering::SeqCst) {
                // Still compiling: the request goes to the cell once it runs.
            } else if cooperative && asked.is_none() {
                if let Ok(child) = child.lock() {
                    let _ = rustix::process::kill_process(
                        rustix::process::Pid::from_child(&child),
                        rustix::process::Signal::INT,
                    );
                }
                asked = Some(Instant::now());
            } else if !cooperative || asked.is_some_and(|at| at.elapsed() >= GRACE) {
                // Ending the child is the only stop left, once: evcxr restarts the child
                // within the same evaluation when it finds it ended, and a second kill
                // would end that fresh child and fail the next cell. A child ended while
                // an uninstrumented cell still compiles cannot run it: evcxr finds it
                // ended when it sends the cell.
                if let Ok(mut child) = child.lock() {
                    let _ = child.kill();
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The panic message as the prelude's hook escaped it (`\\` and `\n`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_consumed_and_recorded() {
        let state = CellState::default();
        state.begin(true);
        assert_eq!(state.observe("hello").as_deref(), Some("hello\n"));
        assert_eq!(state.observe(STARTED), None);
        assert!(state.started.load(Ordering::SeqCst));
        // Printed without a newline before the marker: shown as printed.
        assert_eq!(
            state.observe(&format!("partial{STOPPED}")).as_deref(),
            Some("partial")
        );
        assert_eq!(state.observe(FINISHED), None);
        assert!(state.finished.load(Ordering::SeqCst));
        assert!(state.stopped.load(Ordering::SeqCst));
        let line = format!("{PANICKED} index out of range\\nsecond line \\\\ end");
        assert_eq!(state.observe(&line), None);
        assert_eq!(
            lock(&state.panicked).as_deref(),
            Some("index out of range\nsecond line \\ end")
        );
        assert!(!state.stderr_ended.load(Ordering::SeqCst));
        assert_eq!(state.observe_stderr(STDERR_END), None);
        assert!(state.stderr_ended.load(Ordering::SeqCst));
        assert_eq!(
            state
                .observe_stderr(&format!("no newline{STDERR_END}"))
                .as_deref(),
            Some("no newline")
        );
        assert_eq!(
            state.observe_stderr("an error").as_deref(),
            Some("an error\n")
        );
        assert_eq!(
            lock(&state.stderr).iter().collect::<Vec<_>>(),
            ["no newline", "an error"]
        );
        state.begin(false);
        assert!(lock(&state.panicked).is_none());
        assert!(lock(&state.stderr).is_empty());
        assert!(!state.finished.load(Ordering::SeqCst));
        assert!(!state.started.load(Ordering::SeqCst));
        assert!(!state.stopped.load(Ordering::SeqCst));
        assert!(!state.stderr_ended.load(Ordering::SeqCst));
    }
}
