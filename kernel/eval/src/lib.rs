//! Evaluation of notebook cells with evcxr, behind the [`Evaluator`] trait.
//!
//! The kernel speaks Jupyter; this crate only turns code into outputs. It knows no
//! Jupyter types, so the kernel's dispatch can be tested with a fake evaluator and
//! this crate can be tested without sockets.
//!
//! evcxr compiles each cell into a shared library and loads it into a child process.
//! The child is our own small binary (`workbench-eval-child`), not the kernel itself,
//! so that it can confine itself before it runs any user code.

pub mod analyzer;
mod commands;
mod completeness;
pub mod confine;
mod infer;
mod instrument;
mod lex;
pub mod prelude;
mod reap;
pub mod relay;
mod runtime;
pub mod session;
mod syntax;

/// The directory inside the workspace that is a cell's `TMPDIR`.
pub const CELL_TMP: &str = ".tmp";

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

pub use commands::refusal;
pub use completeness::{Completeness, completeness};
pub use prelude::Prelude;

/// What a session needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The evaluation child binary (calls `evcxr::runtime_hook` after confining itself).
    pub child: PathBuf,
    /// The session workspace: the only place user code may write.
    pub workspace: PathBuf,
    /// The library every cell has in scope, if any.
    pub prelude: Option<Prelude>,
    /// The data the session may read (the project's data view).
    pub view: Vec<PathBuf>,
    /// The session directory (see [`session::Dir`]); `None` makes a fresh one that the
    /// evaluator removes when dropped.
    pub session: Option<PathBuf>,
}

/// Outputs of one evaluation, keyed by MIME type (`text/plain`, `text/html`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Rich representations of the cell's value, if it had one.
    pub mime_bundle: BTreeMap<String, String>,
}

/// An evaluation failure that the user must see.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cell did not compile; one entry per rustc diagnostic.
    #[error("{}", .0.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("\n"))]
    Compilation(Vec<Diagnostic>),
    /// The cell uses an evcxr command the enclave refuses (shell, build changes, `:dep`
    /// from outside the offline set); nothing of it ran.
    #[error("{0}")]
    Refused(String),
    /// The cell was interrupted before it ran or stopped at a check; the variables of
    /// earlier cells are kept.
    #[error("interrupted")]
    Interrupted,
    /// The cell's code panicked (the message, and the library's location if the panic
    /// came from a library); the variables of earlier cells are kept.
    #[error("panicked: {0}")]
    Panicked(String),
    /// The cell's code returned early with an error through `?`; the lines it wrote to
    /// stderr, which end with that error. The variables of earlier cells are kept.
    #[error("{}", .0.join("\n"))]
    Returned(Vec<String>),
    /// The child process died (panic, abort, interrupt, out of memory).
    #[error("the evaluation process ended: {0}")]
    ChildEnded(String),
    /// Starting the evaluation context failed.
    #[error("starting the evaluation context with {}: {source}", child.display())]
    Start {
        /// The child binary.
        child: PathBuf,
        /// The cause.
        #[source]
        source: evcxr::Error,
    },
    /// The prelude's template is missing or cannot be copied or built.
    #[error("prelude template {}: {detail}", template.display())]
    Template {
        /// The template directory.
        template: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The session could not be confined; no user code ran.
    #[error("confining the {layer} layer")]
    Confine {
        /// `build` (the kernel thread) or `child`.
        layer: &'static str,
        /// The cause.
        #[source]
        source: confine::Error,
    },
    /// The session directory could not be prepared.
    #[error("session directory {}: {detail}", dir.display())]
    Session {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The prelude did not load in the new session.
    #[error("loading the prelude ({code})")]
    Prelude {
        /// The prelude code.
        code: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
    /// The kernel could not become the subreaper of what cells start, so it could not
    /// end a cell's processes with the cell; no user code ran.
    #[error("making the kernel the subreaper of the processes cells start: {0}")]
    Subreaper(#[source] std::io::Error),
    /// Any other evcxr failure.
    #[error("{0}")]
    Other(#[source] evcxr::Error),
}

/// One compiler diagnostic, rendered for a notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rustc error code (`E0308`), if any.
    pub code: Option<String>,
    /// The message with the user's code spans.
    pub message: String,
    /// rustc's full rendering (labels, notes, help).
    pub rendered: String,
}

/// What a running cell writes, delivered while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Text on stdout.
    Stdout(String),
    /// Text on stderr.
    Stderr(String),
}

/// Receives a cell's output as it happens; called from evaluator threads.
pub type Sink = Arc<dyn Fn(Output) + Send + Sync>;

/// Completions at a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completions {
    /// Candidate texts.
    pub matches: Vec<String>,
    /// Byte offset where the replaced text starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
}

/// Something that evaluates cells and keeps their state between calls.
pub trait Evaluator {
    /// Evaluates `code`. Output goes to the evaluator's [`Sink`] while it runs and is
    /// all delivered before this returns. `input` answers the cell's requests for
    /// input: `(prompt, is_password) → text`.
    ///
    /// # Errors
    ///
    /// Compilation errors, or the end of the child process.
    fn evaluate(
        &mut self,
        code: &str,
        input: &dyn Fn(&str, bool) -> String,
    ) -> Result<Outputs, Error>;

    /// Completions of `code` at byte offset `cursor`.
    fn complete(&mut self, code: &str, cursor: usize) -> Completions;

    /// Variables defined so far and their types.
    fn variables(&self) -> Vec<(String, String)>;

    /// A handle that stops the running cell from another thread.
    fn interrupter(&self) -> Interrupter;

    /// Prepares, while the kernel is idle, what the first cell would otherwise wait for.
    fn warm_up(&mut self) {}
}

/// Stops a running cell from another thread.
#[derive(Clone)]
pub struct Interrupter(Arc<dyn Fn() -> bool + Send + Sync>);

impl Interrupter {
    /// An interrupter that calls `stop`, which says whether a cell was running.
    pub fn new(stop: impl Fn() -> bool + Send + Sync + 'static) -> Interrupter {
        Interrupter(Arc::new(stop))
    }

    /// Stops the running cell; returns false when no cell was running.
    pub fn interrupt(&self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for Interrupter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Interrupter")
    }
}

/// evcxr behind [`Evaluator`].
pub struct Evcxr {
    context: evcxr::CommandContext,
    // Held while a line is being forwarded, so that `evaluate` can drain what is left
    // and know that no line is still on its way to the sink.
    forwarding: Arc<Mutex<()>>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    sink: Sink,
    // The cell being evaluated: running, interrupted, instrumented, started, stopped.
    cell: Arc<runtime::CellState>,
    // Whether cells can call the prelude's runtime, and so be instrumented.
    instrument: bool,
    // Full paths of the prelude library's types by bare name.
    type_paths: std::collections::HashMap<String, String>,
    // Types found for cells, by what they depend on (see `type_key`).
    types_seen: std::collections::HashMap<String, Vec<(String, String)>>,
    // Dropped after the context (fields drop in order), so the child has ended before
    // its build directory is removed.
    _session: Option<session::Dir>,
}

impl Evcxr {
    /// Starts a session: a fresh session directory (removed when the evaluator is
    /// dropped), an evaluation context whose cells link the prelude's library and whose
    /// user code runs in `config.child`, and the prelude loaded. Output goes to `sink`.
    ///
    /// # Errors
    ///
    /// [`Error::Start`] when the context cannot be created (no toolchain, the child
    /// binary missing, confinement refused), [`Error::Template`] when the template is
    /// missing, [`Error::Prelude`] when the prelude does not load.
    pub fn start(config: &Config, sink: Sink) -> Result<Evcxr, Error> {
        let owned =
            match &config.session {
                Some(_) => None,
                None => Some(session::Dir::create(&std::env::temp_dir()).map_err(|e| {
                    Error::Session {
                        dir: std::env::temp_dir(),
                        detail: format!("creating: {e}"),
                    }
                })?),
            };
        let session = match (&config.session, &owned) {
            (Some(path), _) => path.clone(),
            (None, Some(dir)) => dir.path().to_owned(),
            (None, None) => unreachable!("a session directory was just made"),
        };
        let build = session.join("evcxr");
        let started = std::time::Instant::now();
        let mut evcxr = Evcxr::start_in(config, &session, &build, sink)?;
        timing("evcxr started", started);
        evcxr._session = owned;
        if let Some(prelude) = &config.prelude {
            evcxr
                .run(&prelude.code, &|_: &str, _: bool| String::new())
                .map_err(|source| Error::Prelude {
                    code: prelude.code.clone(),
                    source: Box::new(source),
                })?;
            timing("prelude loaded", started);
        }
        Ok(evcxr)
    }

    /// Starts an evaluation context whose evcxr configuration lives in `session` and
    /// whose cell crate is built in `build`.
    pub(crate) fn start_in(
        config: &Config,
        session: &Path,
        build: &Path,
        sink: Sink,
    ) -> Result<Evcxr, Error> {
        // The rustc wrapper sits next to the evaluation child.
        let wrapper = config.child.with_file_name("workbench-rustc");
        let cargo = match &config.prelude {
            Some(prelude) => prelude.cargo_config(&wrapper)?,
            None => prelude::CELL_PROFILE.to_owned(),
        };
        // Held until the context has started: `prepare` must not replace the library
        // while this session reads it.
        let _lock = config
            .prelude
            .as_ref()
            .map(prelude::lock_shared)
            .transpose()?;
        prelude::write_config(session, build, &cargo)?;
        std::fs::create_dir_all(build).map_err(|e| Error::Session {
            dir: build.to_owned(),
            detail: format!("creating: {e}"),
        })?;
        // Orphans of what a cell starts come back to the kernel, which ends them with
        // the cell (see `reap`).
        reap::become_subreaper().map_err(Error::Subreaper)?;
        // The build layer: this thread, and so cargo, rustc, build scripts, proc macros
        // and the evaluation child, which all start from it.
        let mut read = confine::system_reads();
        read.extend(confine::cargo_home_reads());
        read.extend(confine::user_config_reads());
        // The evaluation child binary itself.
        read.extend(config.child.parent().map(Path::to_owned));
        read.extend(config.view.iter().cloned());
        if let Some(prelude) = &config.prelude {
            read.push(prelude.template.clone());
        }
        let mut write = vec![
            session.to_owned(),
            config.workspace.clone(),
            PathBuf::from("/dev/null"),
        ];
        write.extend(confine::cargo_home_writes());
        let policy = confine::Policy {
            read,
            write,
            limits: confine::Limits::for_build(),
        };
        confine::apply(&policy).map_err(|source| Error::Confine {
            layer: "build",
            source,
        })?;
        // What the child may read besides the system: the compiled cells and the view.
        let child_reads = std::env::join_paths(
            std::iter::once(build.to_owned())
                .chain(config.prelude.iter().map(|p| p.template.clone()))
                .chain(config.view.iter().cloned()),
        )
        .map_err(|e| Error::Session {
            dir: build.to_owned(),
            detail: format!("a path cannot be passed to the child: {e}"),
        })?;
        // evcxr reads `evcxr.toml` from the current directory first. Ours must win over
        // one a user could write into the workspace (it could name a compiler wrapper
        // that runs outside the confinement), so the kernel works from the session
        // directory, which user code cannot write.
        std::env::set_current_dir(session).map_err(|e| Error::Session {
            dir: session.to_owned(),
            detail: format!("entering: {e}"),
        })?;
        // Cells' temporary files (the `tempfile` crate, polars spilling to disk) go inside
        // the workspace, the only place the child may write.
        let cell_tmp = config.workspace.join(CELL_TMP);
        std::fs::create_dir_all(&cell_tmp).map_err(|e| Error::Session {
            dir: cell_tmp.clone(),
            detail: format!("creating: {e}"),
        })?;
        // The child confines itself to the workspace before it runs any cell.
        let mut command = Command::new(&config.child);
        command
            .env("TMPDIR", &cell_tmp)
            .env("POLARS_TEMP_DIR", &cell_tmp)
            .env(confine::WORKSPACE_VAR, &config.workspace)
            .env(confine::READ_VAR, child_reads)
            .current_dir(&config.workspace);
        let (eval_context, outputs) = evcxr::EvalContext::with_subprocess_command(command)
            .map_err(|source| Error::Start {
                child: config.child.clone(),
                source,
            })?;
        let mut context = evcxr::CommandContext::with_eval_context(eval_context);
        // Cells must never reach the network: dependencies come from the offline set.
        context.execute(":offline 1").map_err(Error::Other)?;

        let forwarding = Arc::new(Mutex::new(()));
        let cell = Arc::new(runtime::CellState::default());
        for (receiver, stream) in [
            (outputs.stdout.clone(), Stream::Stdout),
            (outputs.stderr.clone(), Stream::Stderr),
        ] {
            let (forwarding, sink, cell) = (
                Arc::clone(&forwarding),
                Arc::clone(&sink),
                Arc::clone(&cell),
            );
            std::thread::Builder::new()
                .name("eval-output".into())
                .spawn(move || forward(&receiver, &forwarding, &sink, &cell, stream))
                .expect("spawning an output thread");
        }
        Ok(Evcxr {
            context,
            forwarding,
            stdout: outputs.stdout,
            stderr: outputs.stderr,
            sink,
            cell,
            instrument: config.prelude.is_some(),
            type_paths: config
                .prelude
                .as_ref()
                .map(Prelude::type_paths)
                .unwrap_or_default(),
            types_seen: std::collections::HashMap::new(),
            _session: None,
        })
    }

    fn drain(&self) {
        let _guard = self
            .forwarding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Ok(line) = self.stdout.try_recv() {
            Stream::Stdout.deliver(line, &self.sink, &self.cell);
        }
        // stdout reaches evcxr inside its evaluation loop, so all of it is queued by now;
        // stderr comes through evcxr's own reader thread, which may lag the end of the
        // cell. A finished cell ends its stderr with a marker: wait for it (a loaded
        // machine can hold it back longer than any quiet period). Then, and for cells
        // that did not finish, wait until stderr has been quiet for a moment. Every line
        // goes through the marker handling: a late marker must not be shown.
        let deadline = std::time::Instant::now() + STDERR_END_WAIT;
        while self.cell.finished.load(Ordering::SeqCst)
            && !self.cell.stderr_ended.load(Ordering::SeqCst)
        {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => Stream::Stderr.deliver(line, &self.sink, &self.cell),
                Err(_) => break,
            }
        }
        while let Ok(line) = self.stderr.recv_timeout(STDERR_QUIET) {
            Stream::Stderr.deliver(line, &self.sink, &self.cell);
        }
    }
}

/// Start-up phases go to the kernel's stderr (the front end's log), for diagnosis.
fn timing(what: &str, since: std::time::Instant) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "workbench-kernel: {what} after {:.2} s",
            since.elapsed().as_secs_f64()
        );
    }
}

/// How many cells' variable types a session remembers (cleared when full).
const TYPES_SEEN_MAX: usize = 512;

/// How long stderr must stay quiet after a cell before its output counts as complete.
const STDERR_QUIET: Duration = Duration::from_millis(25);

/// How long a finished cell's stderr end marker is waited for (it comes at once unless
/// the machine is very busy; past this, the cell's reply is not held back further).
const STDERR_END_WAIT: Duration = Duration::from_secs(2);

/// Which of the child's output streams a line came from.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// Passes a line to the sink; on stdout, the kernel's marker lines are taken out
    /// first (see `interrupt`).
    fn deliver(self, line: String, sink: &Sink, cell: &runtime::CellState) {
        match self {
            Stream::Stdout => {
                if let Some(text) = cell.observe(&line) {
                    sink(Output::Stdout(text));
                }
            }
            Stream::Stderr => {
                // Kept until the next cell begins: the error of a `?` may come after
                // evcxr has returned, and `drain` waits for it.
                if let Some(text) = cell.observe_stderr(&line) {
                    sink(Output::Stderr(text));
                }
            }
        }
    }
}

fn forward(
    receiver: &Receiver<String>,
    forwarding: &Mutex<()>,
    sink: &Sink,
    cell: &runtime::CellState,
    stream: Stream,
) {
    loop {
        let guard = forwarding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match receiver.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => stream.deliver(line, sink, cell),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        drop(guard);
        // Let `drain` take the lock between lines.
        std::thread::yield_now();
    }
}

impl Evcxr {
    /// Evaluates `code` without the enclave's command checks (`:dep` from a path, …):
    /// for the kernel's own set-up, such as loading the prelude, never for user cells.
    /// The confinement applies all the same.
    ///
    /// # Errors
    ///
    /// As [`Evaluator::evaluate`].
    pub fn run_trusted(
        &mut self,
        code: &str,
        input: &dyn Fn(&str, bool) -> String,
    ) -> Result<Outputs, Error> {
        self.run(code, input)
    }

    fn run(&mut self, code: &str, input: &dyn Fn(&str, bool) -> String) -> Result<Outputs, Error> {
        // A cell run again in the same state (the same code, variables and items) gets
        // the types found last time without asking rustc again. If they no longer fit
        // (an item changed its signature), the cell fails to compile, nothing of it has
        // run, and the types are found afresh.
        let bindings = infer::untyped_bindings(code);
        if bindings.is_empty() {
            return self.run_once(code, input);
        }
        let key = self.type_key(code);
        let mut stale = None;
        if let Some(found) = self.types_seen.get(&key).cloned() {
            let result = self.run_once(&infer::annotate_all(code, &found), input);
            if !matches!(result, Err(Error::Compilation(_))) {
                return result;
            }
            stale = Some((found, result));
        }
        let found = self.inferred_types(code, &bindings);
        // The same types again: the cell's own error, already reported by that run.
        if let Some((seen, result)) = stale
            && seen == found
        {
            return result;
        }
        let typed = infer::annotate_all(code, &found);
        if self.types_seen.len() >= TYPES_SEEN_MAX {
            self.types_seen.clear();
        }
        let result = self.run_once(&typed, input);
        // A type rustc named bare that the cell cannot see (`Child` of `std::process`):
        // written with the path rustc suggests, once. Nothing ran: it did not compile.
        if let Err(Error::Compilation(diagnostics)) = &result {
            let suggested: Vec<(String, String)> = diagnostics
                .iter()
                .flat_map(|d| infer::suggested_paths(&d.rendered))
                .filter(|(name, _)| found.iter().any(|(_, ty)| ty.contains(name.as_str())))
                .collect();
            if !suggested.is_empty() {
                let found: Vec<(String, String)> = found
                    .into_iter()
                    .map(|(binding, ty)| {
                        let ty = suggested
                            .iter()
                            .fold(ty, |ty, (name, path)| infer::qualify(&ty, name, path));
                        (binding, ty)
                    })
                    .collect();
                let typed = infer::annotate_all(code, &found);
                self.types_seen.insert(key, found);
                return self.run_once(&typed, input);
            }
        }
        self.types_seen.insert(key, found);
        result
    }

    /// What the types of a cell's new variables depend on: its code and the session's
    /// variables (with their types) and items.
    fn type_key(&self, code: &str) -> String {
        let mut variables: Vec<String> = self
            .context
            .variables_and_types()
            .map(|(name, ty)| format!("{name}: {ty}"))
            .collect();
        variables.sort();
        let mut items: Vec<&str> = self.context.defined_item_names().collect();
        items.sort_unstable();
        format!("{code}\0{}\0{}", variables.join("\n"), items.join("\n"))
    }

    /// The types rustc finds for the new top-level variables of `code`, by name.
    ///
    /// rust-analyzer, which evcxr asks, does not see the prelude library (see
    /// [`prelude`]), so it cannot type a variable that holds one of its values. One
    /// `cargo check` of the cell with every untyped binding annotated `()` makes rustc
    /// name each real type ("expected `()`, found `DataFrame`"); nothing runs. A
    /// binding rustc does not report (it is `()`, or the cell has other errors) stays as
    /// written, for evcxr to type or to report.
    fn inferred_types(&mut self, code: &str, bindings: &[String]) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        // A binding computed from an earlier one of the same cell is typed only once the
        // earlier one has its type: a further round then, while rounds find new types
        // (each round types at least one binding, or it is the last).
        loop {
            let remaining: Vec<&String> = bindings
                .iter()
                .filter(|name| !found.iter().any(|(n, _)| n == *name))
                .collect();
            if remaining.is_empty() {
                break;
            }
            let mut probe = infer::annotate_all(code, &found);
            for name in &remaining {
                probe = infer::annotate(&probe, name, "()").unwrap_or(probe);
            }
            let Ok(errors) = self.context.check(&probe) else {
                break;
            };
            let before = found.len();
            for name in remaining {
                let marker = format!("{name}: ()");
                let ty = errors
                    .iter()
                    .filter(|e| e.code() == Some("E0308") && e.rendered().contains(&marker))
                    .find_map(|e| infer::found_type(&e.rendered()));
                if let Some(ty) = ty {
                    found.push((name.clone(), self.qualified(&ty)));
                }
            }
            if found.len() == before {
                break;
            }
        }
        found
    }

    /// `ty` with the prelude library's types written as full paths: rustc names a type by
    /// its bare name when that is unique among all crates, also when the cell cannot see
    /// it (`Status` of `workbench::qc::contract`).
    fn qualified(&self, ty: &str) -> String {
        let mut out = ty.to_owned();
        for segment in ty.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if let Some(path) = self.type_paths.get(segment) {
                out = infer::qualify(&out, segment, path);
            }
        }
        out
    }

    /// Runs `code` once, instrumented for interrupts when the prelude's runtime is there
    /// (see `interrupt`). If the instrumented code does not compile because of the
    /// instrumentation (a loop in a `const fn`, a check where rustc's message shows it),
    /// the code is compiled as written: nothing of it has run yet.
    fn run_once(
        &mut self,
        code: &str,
        input: &dyn Fn(&str, bool) -> String,
    ) -> Result<Outputs, Error> {
        if self.instrument
            && let Some(instrumented) = instrument::instrument(code)
        {
            let result = self.run_compiled(&instrumented, true, input);
            let about_instrumentation = matches!(&result, Err(Error::Compilation(diagnostics))
            if diagnostics.iter().any(|d| {
                instrument::mentions_instrumentation(&d.rendered)
                    || instrument::mentions_instrumentation(&d.message)
            }));
            if !about_instrumentation {
                return result;
            }
        }
        self.run_compiled(code, false, input)
    }

    fn run_compiled(
        &mut self,
        code: &str,
        instrumented: bool,
        input: &dyn Fn(&str, bool) -> String,
    ) -> Result<Outputs, Error> {
        // evcxr does not export its request type; the closure's signature comes from
        // the `&dyn Fn` field it is coerced into.
        let mut callbacks = evcxr::EvalCallbacks {
            input_reader: &|request| input(&request.prompt, request.is_password),
        };
        self.cell.begin(instrumented);
        let result = self.context.execute_with_callbacks(code, &mut callbacks);
        self.cell.running.store(false, Ordering::SeqCst);
        let interrupted = self.cell.interrupted.swap(false, Ordering::SeqCst);
        self.drain();
        if let Some(why) = self.end_strays() {
            return Err(Error::ChildEnded(why));
        }
        if self.cell.stopped.swap(false, Ordering::SeqCst) && result.is_ok() {
            // A check unwound the cell; evcxr kept the earlier variables.
            return Err(Error::Interrupted);
        }
        if let Some(message) = runtime::lock(&self.cell.panicked).take()
            && result.is_ok()
        {
            // evcxr caught the panic, kept the earlier variables and reports success.
            return Err(Error::Panicked(message));
        }
        if instrumented
            && result.is_ok()
            && self.cell.started.load(Ordering::SeqCst)
            && !self.cell.finished.load(Ordering::SeqCst)
        {
            // Started and neither finished, stopped nor panicked: a `?` returned early,
            // and evcxr printed the error on stderr. After an interrupt, that is a
            // library loop that saw the request and returned its `Interrupted` error.
            let lines = runtime::lock(&self.cell.stderr).drain(..).collect();
            return Err(if interrupted {
                Error::Interrupted
            } else {
                Error::Returned(lines)
            });
        }
        if interrupted && !instrumented && result.is_ok() {
            // The interrupt landed while rustc compiled the cell; evcxr then ran it in a
            // fresh child that was ended in turn.
            return Err(Error::ChildEnded("interrupted".into()));
        }
        match result {
            Ok(outputs) => Ok(Outputs {
                mime_bundle: outputs.content_by_mime_type.into_iter().collect(),
            }),
            Err(evcxr::Error::CompilationErrors(errors)) => Err(Error::Compilation(
                errors
                    .iter()
                    .map(|e| Diagnostic {
                        code: e.code().map(str::to_owned),
                        message: e.message(),
                        rendered: e.rendered(),
                    })
                    .collect(),
            )),
            Err(evcxr::Error::SubprocessTerminated(message)) => {
                Err(Error::ChildEnded(self.why_ended(&message)))
            }
            Err(other) => Err(Error::Other(other)),
        }
    }
}

impl Evcxr {
    /// Ends what the cell left running (see `reap`). When the cell's processes and
    /// threads filled the process limit, the child is replaced too (its threads or the
    /// zombies of its own children would keep the limit full, and the next build could
    /// not start): the message says so.
    fn end_strays(&mut self) -> Option<String> {
        let handle = self.context.process_handle();
        let child = runtime::lock(&handle).id();
        let ended = reap::end_strays(child);
        let limit = confine::Limits::from_env().processes?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // Forks fail at the limit; a churning bomb is stopped a little below it.
        if ended.tasks + limit / 8 < limit {
            if ended.processes > 0 {
                Stream::Stderr.deliver(
                    format!(
                        "workbench: {} process(es) this cell started were still running at its end and were ended (a cell's processes end with the cell)",
                        ended.processes
                    ),
                    &self.sink,
                    &self.cell,
                );
            }
            return None;
        }
        {
            let mut child = runtime::lock(&handle);
            let _ = child.kill();
            let _ = child.wait();
        }
        ended.reap_again();
        // evcxr restarts a child it finds ended when it next runs code (keeping the
        // session's items); a unit expression makes it find out now, not at the user's
        // next cell.
        let _ = self.context.execute("()");
        Some(format!(
            "the cell's processes and threads reached the session's process limit of {limit} (the kernel's pids cgroup, and RLIMIT_NPROC; {} counted); its {} process(es) were ended, and a new process serves the next cell, without the earlier cells' variables",
            ended.tasks, ended.processes
        ))
    }

    /// evcxr's word on the child's end, with the limit it most likely reached: a failed
    /// allocation (the address-space limit) prints its size on stderr before the abort;
    /// SIGXCPU is the CPU-time limit; otherwise the limits are listed.
    fn why_ended(&self, message: &str) -> String {
        let limits = confine::Limits::from_env();
        // The child's last words come through evcxr's stderr reader, which may lag its
        // end (more so on a loaded machine): take what arrives for a while, stopping at
        // once when the report of a failed allocation is in. Only a child's end waits.
        let deadline = Instant::now() + Duration::from_secs(3);
        while runtime::lock(&self.cell.failed_allocation).is_none()
            && let Some(left) = deadline.checked_duration_since(Instant::now())
        {
            if let Ok(line) = self.stderr.recv_timeout(left) {
                Stream::Stderr.deliver(line, &self.sink, &self.cell);
            }
        }
        if let Some(line) = runtime::lock(&self.cell.failed_allocation).take() {
            let limit = limits.memory.map_or_else(
                || "its memory limit".to_owned(),
                |m| {
                    format!(
                        "its memory limit of {:.1} GiB",
                        m as f64 / f64::from(1u32 << 30)
                    )
                },
            );
            return format!(
                "{message}: the cell reached {limit} ({}: {line}); a new process serves the next cell, without the earlier cells' variables",
                confine::MEMORY_VAR
            );
        }
        if message.contains("SIGXCPU") || message.contains("signal: 24") {
            return format!(
                "{message}: the cell's process reached its CPU time limit of {} s ({}); a new process serves the next cell, without the earlier cells' variables",
                limits.cpu_seconds.unwrap_or_default(),
                confine::CPU_VAR
            );
        }
        format!(
            "{message} (the cell's process has these limits: {}); a new process serves the next cell, without the earlier cells' variables",
            limits.describe()
        )
    }
}

impl Evaluator for Evcxr {
    fn evaluate(
        &mut self,
        code: &str,
        input: &dyn Fn(&str, bool) -> String,
    ) -> Result<Outputs, Error> {
        if let Some(why) = commands::refusal(code) {
            return Err(Error::Refused(why));
        }
        self.run(code, input)
    }

    fn complete(&mut self, code: &str, cursor: usize) -> Completions {
        match self.context.completions(code, cursor) {
            Ok(found) => Completions {
                matches: found.completions.into_iter().map(|c| c.code).collect(),
                start: found.start_offset,
                end: found.end_offset,
            },
            // Completion is a convenience: a failure means no suggestions.
            Err(_) => Completions {
                matches: Vec::new(),
                start: cursor,
                end: cursor,
            },
        }
    }

    fn variables(&self) -> Vec<(String, String)> {
        self.context
            .variables_and_types()
            .map(|(n, t)| (n.to_owned(), t.to_owned()))
            .collect()
    }

    fn warm_up(&mut self) {
        // rust-analyzer (evcxr's completion engine) reads and resolves the standard
        // library the first time a cell asks it anything: about 3 s of CPU here, which the
        // first cell would wait for. A completion request does the same work now. Its
        // result does not matter; a failure only means the first cell pays instead.
        let code = "let warm_up = String::new();\nwarm_up.";
        let _ = self.context.completions(code, code.len());
    }

    fn interrupter(&self) -> Interrupter {
        let (cell, child) = (Arc::clone(&self.cell), self.context.process_handle());
        Interrupter::new(move || cell.interrupt(&child))
    }
}
