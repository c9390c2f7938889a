//! Interrupting a running cell without losing the session's variables.
//!
//! evcxr cannot stop code inside its child safely: ending the child is its only stop, and
//! every variable lives in the child. So the kernel instruments each cell before evcxr
//! compiles it (when the prelude library is there to call): a prologue that announces
//! the start of the run (a line on stdout) and clears a stale request, and a check at the
//! top of every loop body and block closure that unwinds the cell when an interrupt was
//! requested. The request is SIGINT, sent to the child once the cell has announced its
//! start (never during compilation, when the child is idle); the prelude's handler only
//! sets a flag. evcxr catches the unwind as it catches panics and keeps the variables of
//! earlier cells. Code that checks nothing for [`GRACE`] (a long `sleep`, one long
//! library call) is stopped the old way: the child is ended and the variables are lost.
//!
//! The runtime half lives in the prelude crate (`kernel/prelude`, module `__kernel`); the
//! two halves meet in the marker lines and function names below.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::lex::{Kind, Token, lex};

/// Printed by the prologue once the cell's code runs.
pub(crate) const STARTED: &str = "WORKBENCH_CELL_STARTED";
/// Printed by a check that stops the cell.
pub(crate) const STOPPED: &str = "WORKBENCH_CELL_INTERRUPTED";
/// Printed, with a space and the escaped message, by the prelude's panic hook when the
/// cell's own thread panics.
pub(crate) const PANICKED: &str = "WORKBENCH_CELL_PANICKED";

/// The runtime's path as cells name it (the prelude crate is linked as `workbench`).
const RUNTIME: &str = "workbench::__kernel::";
// Not `::workbench`: evcxr takes a line that starts with `:` for a command.
const PROLOGUE: &str = "workbench::__kernel::cell_started(); ";
const CHECK: &str = " ::workbench::__kernel::check();";

/// How long running code has to reach a check before the child is ended.
pub(crate) const GRACE: Duration = Duration::from_millis(1000);

/// `code` with the prologue and a check at the top of every loop body and block closure,
/// or `None` when it holds evcxr commands (`:dep …`, which must stay at the start of
/// their lines) or cannot be lexed. Everything is inserted within existing lines, so
/// line numbers do not move.
pub(crate) fn instrument(code: &str) -> Option<String> {
    if code.lines().any(|l| l.trim_start().starts_with(':')) {
        return None;
    }
    let lexed = lex(code);
    if lexed.unterminated {
        return None;
    }
    let tokens = &lexed.tokens;
    let word = |t: &Token, w: &str| t.kind == Kind::Word && t.text(code) == w;
    let mut checks = Vec::new();
    // Between `impl` and its block, `for` names the implemented trait, not a loop.
    let mut impl_header = false;
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        match token.kind {
            Kind::Word if word(token, "impl") => impl_header = true,
            Kind::Word if word(token, "loop") => {
                if let Some(open) = next.filter(|t| t.kind == Kind::Open('{')) {
                    checks.push(open.end);
                }
            }
            Kind::Word if word(token, "while") => checks.extend(body_of(tokens, i + 1)),
            Kind::Word if word(token, "for") => {
                // `for<'a>` is a higher-ranked bound.
                let bound = next.is_some_and(|t| t.kind == Kind::Punct('<'));
                if !impl_header && !bound {
                    checks.extend(body_of(tokens, i + 1));
                }
            }
            Kind::Open('{') => {
                impl_header = false;
                // A closure's block body; `a | { b }` is a block too, where a check is
                // just as valid.
                if i > 0 && tokens[i - 1].kind == Kind::Punct('|') {
                    checks.push(token.end);
                }
            }
            Kind::Punct(';') => impl_header = false,
            _ => {}
        }
    }
    checks.sort_unstable();
    checks.dedup();
    let mut out = String::with_capacity(code.len() + PROLOGUE.len() + CHECK.len() * checks.len());
    out.push_str(PROLOGUE);
    let mut from = 0;
    for at in checks {
        out.push_str(&code[from..at]);
        out.push_str(CHECK);
        from = at;
    }
    out.push_str(&code[from..]);
    Some(out)
}

/// The end of the `{` that opens the body of the loop whose header starts at `from`:
/// the first `{` outside brackets, unless a `;` or a closing bracket comes first.
fn body_of(tokens: &[Token], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for token in &tokens[from..] {
        match token.kind {
            Kind::Open('{') if depth == 0 => return Some(token.end),
            Kind::Open(_) => depth += 1,
            Kind::Close(_) if depth == 0 => return None,
            Kind::Close(_) => depth -= 1,
            Kind::Punct(';') if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// Whether a compiler message is about the instrumentation rather than the user's code
/// (then the cell is compiled again as written, for the user's own diagnostics).
pub(crate) fn mentions_instrumentation(text: &str) -> bool {
    text.contains(RUNTIME)
}

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
    /// A check stopped the cell.
    pub(crate) stopped: AtomicBool,
    /// The cell's thread panicked with this message.
    pub(crate) panicked: Mutex<Option<String>>,
}

impl CellState {
    /// Resets the state for a cell about to be evaluated.
    pub(crate) fn begin(&self, instrumented: bool) {
        self.interrupted.store(false, Ordering::SeqCst);
        self.started.store(false, Ordering::SeqCst);
        self.stopped.store(false, Ordering::SeqCst);
        *lock(&self.panicked) = None;
        self.instrumented.store(instrumented, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
    }

    /// Records a marker at the end of a line from the child's stdout; returns the
    /// user's text on the line, if any (a marker follows whatever the cell printed
    /// without a newline before it).
    pub(crate) fn observe<'l>(&self, line: &'l str) -> Option<&'l str> {
        if let Some(at) = line.find(PANICKED) {
            let message = line[at + PANICKED.len()..].trim_start_matches(' ');
            *lock(&self.panicked) = Some(unescape(message));
            return (at > 0).then(|| &line[..at]);
        }
        for (marker, flag) in [(STARTED, &self.started), (STOPPED, &self.stopped)] {
            if let Some(before) = line.strip_suffix(marker) {
                flag.store(true, Ordering::SeqCst);
                return (!before.is_empty()).then_some(before);
            }
        }
        Some(line)
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
                // Ending the child is the only stop left. An interrupt during the
                // compilation of an uninstrumented cell must also stop the child that
                // evcxr starts to run it, so keep ending whichever child holds the
                // handle until the evaluation returns.
                if let Ok(mut child) = child.lock() {
                    let _ = child.kill();
                }
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

    fn checks(code: &str) -> usize {
        instrument(code)
            .expect("instrumented")
            .matches(CHECK.trim())
            .count()
    }

    #[test]
    fn loops_and_block_closures_get_a_check_at_the_top() {
        let code = "let mut n = 0;\n'outer: loop { n += 1; if n > 3 { break 'outer; } }\n\
                    while n < 10 { n += 1; }\nfor i in v.iter().map(|x| { x + 1 }) { n += i; }";
        let out = instrument(code).expect("instrumented");
        assert!(out.starts_with(PROLOGUE), "{out}");
        assert_eq!(out.lines().count(), code.lines().count(), "{out}");
        assert!(
            out.contains("loop { ::workbench::__kernel::check(); n += 1;"),
            "{out}"
        );
        assert!(
            out.contains("while n < 10 { ::workbench::__kernel::check(); n"),
            "{out}"
        );
        assert!(
            out.contains("|x| { ::workbench::__kernel::check(); x + 1 }"),
            "{out}"
        );
        assert!(
            out.contains(") { ::workbench::__kernel::check(); n += i; }"),
            "{out}"
        );
        assert_eq!(checks(code), 4);
    }

    #[test]
    fn non_loop_braces_are_left_alone() {
        for code in [
            "impl Display for Row { fn fmt(&self) {} }",
            "fn f<F>(f: F) where F: for<'a> Fn(&'a str) { }",
            "struct S { a: u8 }\nlet s = S { a: 1 };",
            "let s = \"loop { }\"; // while x {\nmatch x { _ => {} }",
            "let x = (|| 1)();",
            "if a || b { c }",
        ] {
            assert_eq!(checks(code), 0, "{code}");
        }
    }

    #[test]
    fn while_let_and_nested_brackets_in_headers() {
        let code = "while let Some(x) = it.next() { }\nfor (a, b) in [(1, 2)] { }";
        assert_eq!(checks(code), 2);
    }

    #[test]
    fn commands_and_unterminated_code_are_not_instrumented() {
        assert_eq!(instrument(":dep serde\nloop {}"), None);
        assert_eq!(instrument("let s = \"open"), None);
    }

    #[test]
    fn markers_are_consumed_and_recorded() {
        let state = CellState::default();
        state.begin(true);
        assert_eq!(state.observe("hello"), Some("hello"));
        assert_eq!(state.observe(STARTED), None);
        assert!(state.started.load(Ordering::SeqCst));
        assert_eq!(state.observe(&format!("partial{STOPPED}")), Some("partial"));
        assert!(state.stopped.load(Ordering::SeqCst));
        let line = format!("{PANICKED} index out of range\\nsecond line \\\\ end");
        assert_eq!(state.observe(&line), None);
        assert_eq!(
            lock(&state.panicked).as_deref(),
            Some("index out of range\nsecond line \\ end")
        );
        state.begin(false);
        assert!(lock(&state.panicked).is_none());
        assert!(!state.started.load(Ordering::SeqCst));
        assert!(!state.stopped.load(Ordering::SeqCst));
    }

    #[test]
    fn instrumentation_is_recognised_in_messages() {
        let out = instrument("loop { x }").expect("instrumented");
        assert!(mentions_instrumentation(&out));
        assert!(!mentions_instrumentation("loop { x }"));
    }
}
