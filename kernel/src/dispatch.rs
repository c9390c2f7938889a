//! The kernel thread: shell requests in, replies and broadcasts out, one request at a
//! time. Owns the evaluator; knows nothing about sockets, so it is tested with a fake
//! evaluator and plain channels.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kernel_eval::{Completeness, Error as EvalError, Evaluator, Interrupter, Output};
use kernel_protocol::message::{
    ClearOutput, CommInfoReply, CompleteReply, Content, DisplayData, ErrorContent, ExecuteInput,
    ExecuteReply, ExecuteRequest, ExecuteResult, HelpLink, HistoryReply, HistoryRequest,
    InputRequest, InspectReply, IsCompleteReply, KernelInfoReply, LanguageInfo, Message, Status,
    Stream,
};
use serde_json::{Map, Value, json};

use crate::governor::Mode;
use crate::inspect;

/// Where an outgoing message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Shell,
    IoPub,
    Stdin,
}

/// An outgoing message with the routing identities it answers.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub(crate) channel: Channel,
    pub(crate) identities: Vec<Vec<u8>>,
    pub(crate) message: Message,
}

/// An incoming shell request.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    pub(crate) identities: Vec<Vec<u8>>,
    pub(crate) message: Message,
    /// When the shell socket delivered it: `stop_on_error` aborts only requests that came
    /// before the failed cell's reply left, not the ones a client sent after reading it.
    pub(crate) received: Instant,
}

/// The request being handled, shared with output threads so streams get its parent.
pub(crate) type Current = Arc<Mutex<Option<Message>>>;

/// Interrupt state shared by the control channel, SIGINT and the kernel thread.
#[derive(Default)]
pub(crate) struct Interrupts {
    /// The evaluator's interrupter, once the evaluator runs.
    interrupter: Mutex<Option<Interrupter>>,
    /// Execute requests received and not yet answered.
    in_flight: AtomicUsize,
    /// An interrupt arrived while executions were queued but none was running (the
    /// evaluator still starting): the next one is stopped before it starts.
    pending: AtomicBool,
}

impl Interrupts {
    /// Records that the shell received an execute request.
    pub(crate) fn queued(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// Makes the evaluator's interrupter available.
    pub(crate) fn set(&self, interrupter: Interrupter) {
        *self
            .interrupter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(interrupter);
    }

    /// Interrupts the running cell, or the next queued one if none runs yet.
    pub(crate) fn interrupt(&self) {
        let stopped = self
            .interrupter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(Interrupter::interrupt);
        if !stopped && self.in_flight.load(Ordering::SeqCst) > 0 {
            self.pending.store(true, Ordering::SeqCst);
        }
    }
}

/// One executed cell in the history.
#[derive(Debug, Clone)]
struct Entry {
    line: u32,
    input: String,
    output: Option<String>,
}

/// The session number we report in history (one kernel process, one session).
const SESSION: i64 = 1;

/// How long the kernel waits without a request before the evaluator warms up.
const WARM_UP_WHEN_IDLE: Duration = Duration::from_millis(300);

/// Kernel state owned by the kernel thread.
pub(crate) struct Dispatcher<E> {
    evaluator: E,
    outbound: Sender<Outbound>,
    input_replies: Receiver<String>,
    current: Current,
    interrupts: Arc<Interrupts>,
    execution_count: u32,
    history: Vec<Entry>,
    /// Whether cells may run, and who records them (R18).
    mode: Mode,
}

/// The reply to `kernel_info_request`, also answered on the control channel.
pub(crate) fn kernel_info() -> Content {
    Content::KernelInfoReply(Box::new(KernelInfoReply {
        status: "ok".into(),
        protocol_version: kernel_protocol::PROTOCOL_VERSION.into(),
        implementation: "workbench-kernel".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "rust".into(),
            version: "1.95".into(),
            mimetype: "text/rust".into(),
            file_extension: ".rs".into(),
            pygments_lexer: "rust".into(),
            codemirror_mode: "rust".into(),
        },
        banner: "Workbench Rust kernel (evcxr) for the cancer whole-genome programme".into(),
        help_links: vec![HelpLink {
            text: "Rust standard library".into(),
            url: "https://doc.rust-lang.org/std/".into(),
        }],
        debugger: false,
    }))
}

/// A stdout line `WORKBENCH_DISPLAY {"text/html": …}` from a cell is a rich display:
/// the display protocol between the prelude's display functions and the kernel. One
/// line of JSON per display, since evcxr forwards the child's stdout line by line.
pub(crate) const DISPLAY_MARKER: &str = "WORKBENCH_DISPLAY ";
/// A stdout line `WORKBENCH_CLEAR_OUTPUT` clears the cell's output (`wait` after a space).
pub(crate) const CLEAR_MARKER: &str = "WORKBENCH_CLEAR_OUTPUT";
/// The prompt of a cell's aggregate query (`workbench::session::AGGREGATE_PROMPT`):
/// `WORKBENCH_AGGREGATE TABLE COLUMN,COLUMN…`.
const AGGREGATE_PROMPT: &str = "WORKBENCH_AGGREGATE";

/// The prompt of a cell's export request (`workbench::export::ask::EXPORT_PROMPT`):
/// `WORKBENCH_EXPORT HEX`, the request as hex-encoded JSON.
const EXPORT_PROMPT: &str = "WORKBENCH_EXPORT";

/// Where cells write the objects they ask to take out (`workbench::export::ask`):
/// `WORKSPACE/.workbench-export`, set by `main` before the kernel serves.
pub(crate) static EXPORT_DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The answer line to a cell's export request. The kernel reads the object itself, as
/// the session's account and inside its confinement (a link out of the workspace reads
/// nothing the cell could not), and passes it to the governance service.
fn export(mode: &Mode, hex: &str) -> Value {
    let refuse = |reason: String| json!({"ok": false, "reason": reason});
    let governor = match mode {
        Mode::Session(governor) => governor,
        Mode::SingleUser => {
            return refuse(
                "R39-export: export requests need a governed session; on a trainer's machine use `workbench export request`".into(),
            );
        }
        Mode::Refused(reason) => return refuse(reason.clone()),
    };
    let decoded = workbench_governance::events::from_hex(hex);
    let Some(mut ask) = decoded.and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        return refuse("R39-export: the request is not hex-encoded JSON".into());
    };
    let name = ask["name"].as_str().unwrap_or_default().to_owned();
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if !plain {
        return refuse(format!("R39-export: {name:?} is not a plain file name"));
    }
    let Some(dir) = EXPORT_DIR.get() else {
        return refuse("R39-export: the kernel has no workspace".into());
    };
    let limit = workbench_governance::service::MAX_EXPORT;
    // The directory, then the file in it, neither followed if a link, and the file a
    // plain one with no other name: a cell cannot point the kernel elsewhere.
    let read = || -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::MetadataExt;
        let dir_name = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
        let file_name = std::ffi::CString::new(name.as_bytes())?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated path and flags; the descriptor is owned below.
        #[allow(unsafe_code)]
        let dfd = unsafe { libc::open(dir_name.as_ptr(), flags | libc::O_DIRECTORY) };
        if dfd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `dfd` is a fresh descriptor that nothing else owns.
        #[allow(unsafe_code)]
        let dir_file = unsafe { std::fs::File::from_raw_fd(dfd) };
        // SAFETY: `dfd` is open for as long as `dir_file` lives; the name is a plain one.
        #[allow(unsafe_code)]
        let fd = unsafe { libc::openat(dfd, file_name.as_ptr(), flags | libc::O_NONBLOCK) };
        drop(dir_file);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        #[allow(unsafe_code)]
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        let meta = file.metadata()?;
        if !meta.is_file() || meta.nlink() != 1 {
            return Err(std::io::Error::other("not a plain file with one name"));
        }
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let bytes = match read() {
        Ok(b) if b.len() as u64 > limit => {
            return refuse(format!(
                "R39-export: {name} is larger than {} MiB; ask for it from the command line",
                limit >> 20
            ));
        }
        Ok(b) => b,
        Err(e) => return refuse(format!("R39-export: reading {name}: {e}")),
    };
    ask["hex"] = json!(workbench_governance::events::to_hex(&bytes));
    match governor.export(ask) {
        Ok(answer) => json!({"ok": true, "answer": answer}),
        Err(reason) => refuse(reason),
    }
}

/// The answer line to a cell's aggregate query: `{"ok":true,"answer":…}` or
/// `{"ok":false,"reason":…}`. Only a governed session asks the service; the query's
/// text is the cell's, so it is parsed here and only names pass.
fn aggregate(mode: &Mode, query: &str) -> Value {
    let mut words = query.split_whitespace();
    let table = words.next().unwrap_or_default();
    let by: Vec<&str> = words
        .next()
        .map(|b| b.split(',').filter(|c| !c.is_empty()).collect())
        .unwrap_or_default();
    let refuse = |reason: String| json!({"ok": false, "reason": reason});
    if words.next().is_some() {
        return refuse(
            "R33-disclosure: an aggregate query is a table and its grouping columns".into(),
        );
    }
    let governor = match mode {
        Mode::Session(governor) => governor,
        Mode::SingleUser => {
            return refuse(
                "R33-disclosure: aggregate queries need a governed session; on a trainer's machine read table() directly".into(),
            );
        }
        Mode::Refused(reason) => return refuse(reason.clone()),
    };
    match governor.aggregate(json!({"table": table, "by": by})) {
        Ok(answer) => json!({"ok": true, "answer": answer}),
        Err(reason) => refuse(reason),
    }
}

/// The iopub content for one piece of a cell's output.
fn output_content(output: Output) -> Content {
    match output {
        Output::Stdout(text) => {
            let line = text.trim_end_matches('\n');
            if let Some(json) = line.strip_prefix(DISPLAY_MARKER)
                && let Ok(Value::Object(data)) = serde_json::from_str::<Value>(json)
            {
                return Content::DisplayData(DisplayData {
                    data: crate::sanitise::bundle(data),
                    metadata: Map::new(),
                    transient: Map::new(),
                });
            }
            if let Some(rest) = line.strip_prefix(CLEAR_MARKER)
                && (rest.is_empty() || rest == " wait")
            {
                return Content::ClearOutput(ClearOutput {
                    wait: !rest.is_empty(),
                });
            }
            Content::Stream(Stream {
                name: "stdout".into(),
                text,
            })
        }
        Output::Stderr(text) => Content::Stream(Stream {
            name: "stderr".into(),
            text,
        }),
    }
}

/// A sink that broadcasts a cell's output on iopub under the request being handled.
pub(crate) fn output_sink(outbound: Sender<Outbound>, current: Current) -> kernel_eval::Sink {
    Arc::new(move |output: Output| {
        let parent = current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(parent) = parent {
            let message = parent.child(output_content(output));
            let _ = outbound.send(Outbound {
                channel: Channel::IoPub,
                identities: Vec::new(),
                message,
            });
        }
    })
}

impl<E: Evaluator> Dispatcher<E> {
    pub(crate) fn new(
        evaluator: E,
        outbound: Sender<Outbound>,
        input_replies: Receiver<String>,
        current: Current,
        interrupts: Arc<Interrupts>,
    ) -> Self {
        interrupts.set(evaluator.interrupter());
        Dispatcher {
            evaluator,
            outbound,
            input_replies,
            current,
            interrupts,
            execution_count: 0,
            history: Vec::new(),
            mode: Mode::Refused("R18-session: the kernel was started without a mode".into()),
        }
    }

    /// Serves cells in `mode`; until this is called every cell is refused.
    pub(crate) fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    fn answered(&self) {
        // Saturating: requests handed to the dispatcher directly (tests) were never counted.
        let _ = self
            .interrupts
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    fn send(&self, channel: Channel, identities: &[Vec<u8>], message: Message) {
        // The server side only goes away when the kernel shuts down.
        let _ = self.outbound.send(Outbound {
            channel,
            identities: identities.to_vec(),
            message,
        });
    }

    fn broadcast(&self, parent: &Message, content: Content) {
        self.send(Channel::IoPub, &[], parent.child(content));
    }

    fn status(&self, parent: &Message, state: &str) {
        self.broadcast(
            parent,
            Content::Status(Status {
                execution_state: state.into(),
            }),
        );
    }

    /// Handles requests until the channel closes. After a failed execution with
    /// `stop_on_error`, the queue is read without waiting, so that what was already
    /// queued is aborted.
    pub(crate) fn run(mut self, requests: Receiver<Inbound>) {
        // The first time no request has come for a moment, the evaluator warms up (see
        // `Evaluator::warm_up`); a request that arrives meanwhile waits for at most that.
        let mut warmed = false;
        // A request taken from the queue while aborting that is not to be aborted.
        let mut next: Option<Inbound> = None;
        loop {
            let request = if let Some(request) = next.take() {
                request
            } else if warmed {
                match requests.recv() {
                    Ok(request) => request,
                    Err(_) => return,
                }
            } else {
                match requests.recv_timeout(WARM_UP_WHEN_IDLE) {
                    Ok(request) => request,
                    Err(RecvTimeoutError::Timeout) => {
                        self.evaluator.warm_up();
                        warmed = true;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            let Some(replied) = self.handle_guarded(&request) else {
                continue;
            };
            if !stop_on_error(&request.message) {
                continue;
            }
            while let Ok(queued) = requests.try_recv() {
                if queued.received > replied {
                    // Sent after the client could see the error: a new request.
                    next = Some(queued);
                    break;
                }
                if matches!(queued.message.content, Content::ExecuteRequest(_)) {
                    self.abort(&queued);
                } else {
                    self.handle_guarded(&queued);
                }
            }
        }
    }

    fn abort(&self, request: &Inbound) {
        self.answered();
        self.status(&request.message, "busy");
        let reply = Content::ExecuteReply(ExecuteReply::Aborted {
            execution_count: self.execution_count,
        });
        self.send(
            Channel::Shell,
            &request.identities,
            request.message.child(reply),
        );
        self.status(&request.message, "idle");
    }

    /// [`handle`](Self::handle), with a panic anywhere in it (ours, evcxr's, a library's)
    /// turned into an error reply: the kernel keeps serving, and its heartbeat never
    /// answers for a kernel that would not reply again.
    fn handle_guarded(&mut self, request: &Inbound) -> Option<Instant> {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(request)));
        let panic = match outcome {
            Ok(replied) => return replied,
            Err(panic) => panic,
        };
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        // The request's `current` must not stay set, or later output would go to it.
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        let message = &request.message;
        let reply = match &message.content {
            Content::ExecuteRequest(_) => {
                self.answered();
                let content = ErrorContent {
                    ename: "KernelError".into(),
                    evalue: format!("the kernel failed on this request and carries on: {what}"),
                    traceback: vec![format!("KernelError: {what}")],
                };
                self.broadcast(message, Content::Error(content.clone()));
                Content::ExecuteReply(ExecuteReply::Error {
                    execution_count: self.execution_count,
                    ename: content.ename,
                    evalue: content.evalue,
                    traceback: content.traceback,
                })
            }
            _ => Content::Unknown {
                msg_type: message.header.msg_type.replace("_request", "_reply"),
                content: json!({"status": "error", "ename": "KernelError", "evalue": what, "traceback": []}),
            },
        };
        let replied = Instant::now();
        self.send(Channel::Shell, &request.identities, message.child(reply));
        self.status(message, "idle");
        // Like any failed execution, a panicked one stops the queue behind it.
        matches!(message.content, Content::ExecuteRequest(_)).then_some(replied)
    }

    /// Handles one request; when it was an execution that failed, returns when its reply
    /// was sent.
    pub(crate) fn handle(&mut self, request: &Inbound) -> Option<Instant> {
        let message = &request.message;
        self.status(message, "busy");
        let mut failed = false;
        let reply = match &message.content {
            Content::KernelInfoRequest => Some(kernel_info()),
            Content::ExecuteRequest(execute) => {
                let (reply, error) = self.execute(request, execute);
                failed = error;
                Some(reply)
            }
            Content::IsCompleteRequest(req) => Some(Content::IsCompleteReply(
                match kernel_eval::completeness(&req.code) {
                    Completeness::Complete => IsCompleteReply {
                        status: "complete".into(),
                        indent: None,
                    },
                    Completeness::Incomplete(indent) => IsCompleteReply {
                        status: "incomplete".into(),
                        indent: Some(indent),
                    },
                    Completeness::Invalid => IsCompleteReply {
                        status: "invalid".into(),
                        indent: None,
                    },
                },
            )),
            Content::CompleteRequest(req) => {
                let cursor = byte_offset(&req.code, req.cursor_pos);
                let found = self.evaluator.complete(&req.code, cursor);
                Some(Content::CompleteReply(CompleteReply {
                    status: "ok".into(),
                    matches: found.matches,
                    cursor_start: char_offset(&req.code, found.start),
                    cursor_end: char_offset(&req.code, found.end),
                    metadata: Map::new(),
                }))
            }
            Content::InspectRequest(req) => {
                let cursor = byte_offset(&req.code, req.cursor_pos);
                let found = inspect::inspect(&req.code, cursor, &self.evaluator.variables());
                Some(Content::InspectReply(InspectReply {
                    status: "ok".into(),
                    found: found.is_some(),
                    data: found
                        .map(|text| {
                            Map::from_iter([("text/plain".to_owned(), Value::String(text))])
                        })
                        .unwrap_or_default(),
                    metadata: Map::new(),
                }))
            }
            Content::HistoryRequest(req) => Some(Content::HistoryReply(HistoryReply {
                status: "ok".into(),
                history: self.history(req),
            })),
            Content::CommInfoRequest(_) => Some(Content::CommInfoReply(CommInfoReply {
                status: "ok".into(),
                comms: Map::new(),
            })),
            // Comms are not supported: answer comm_open with comm_close so front ends
            // do not wait for a widget that will never come.
            Content::Unknown { msg_type, content } if msg_type == "comm_open" => {
                let id = content.get("comm_id").cloned().unwrap_or(Value::Null);
                self.send(
                    Channel::IoPub,
                    &[],
                    message.child(Content::Unknown {
                        msg_type: "comm_close".into(),
                        content: json!({"comm_id": id, "data": {}}),
                    }),
                );
                None
            }
            _ => None,
        };
        let replied = Instant::now();
        if let Some(reply) = reply {
            self.send(Channel::Shell, &request.identities, message.child(reply));
        }
        self.status(message, "idle");
        failed.then_some(replied)
    }

    fn execute(&mut self, request: &Inbound, execute: &ExecuteRequest) -> (Content, bool) {
        let message = &request.message;
        let counted = !execute.silent && execute.store_history;
        if counted {
            self.execution_count += 1;
        }
        let count = self.execution_count;
        if !execute.silent {
            self.broadcast(
                message,
                Content::ExecuteInput(ExecuteInput {
                    code: execute.code.clone(),
                    execution_count: count,
                }),
            );
        }
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            (!execute.silent).then(|| message.clone());
        let (outbound, replies) = (&self.outbound, &self.input_replies);
        let mode = &self.mode;
        let input = |prompt: &str, password: bool| -> String {
            // The workbench's aggregate queries are answered here, never by the front end.
            if let Some(query) = prompt.strip_prefix(AGGREGATE_PROMPT) {
                return aggregate(mode, query).to_string();
            }
            if let Some(hex) = prompt.strip_prefix(EXPORT_PROMPT) {
                return export(mode, hex).to_string();
            }
            if !execute.allow_stdin {
                return String::new();
            }
            let ask = message.child(Content::InputRequest(InputRequest {
                prompt: prompt.into(),
                password,
            }));
            let _ = outbound.send(Outbound {
                channel: Channel::Stdin,
                identities: request.identities.clone(),
                message: ask,
            });
            // The stdin task forwards the front end's input_reply here.
            replies.recv().unwrap_or_default()
        };
        // The session decides, and the audit records, before any of the cell runs.
        let started = Instant::now();
        let gate = match &self.mode {
            Mode::Session(governor) => governor.before_cell(&execute.code),
            Mode::SingleUser => Ok(()),
            Mode::Refused(reason) => Err(reason.clone()),
        };
        // An interrupt that came while this cell waited (the evaluator still starting)
        // stops it before it runs.
        let result = if let Err(reason) = gate {
            Err(EvalError::Refused(reason))
        } else if self.interrupts.pending.swap(false, Ordering::SeqCst) {
            Err(EvalError::Interrupted)
        } else {
            self.evaluator.evaluate(&execute.code, &input)
        };
        if let Mode::Session(governor) = &self.mode {
            let outcome = match &result {
                Ok(_) => "ok",
                Err(EvalError::Refused(_)) => "refused",
                Err(EvalError::Interrupted) => "interrupted",
                Err(EvalError::Panicked(_)) => "panicked",
                Err(EvalError::ChildEnded(_)) => "child-ended",
                Err(EvalError::Compilation(_)) => "compile-error",
                Err(_) => "error",
            };
            governor.after_cell(&execute.code, outcome, started.elapsed().as_millis());
        }
        self.answered();
        *self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        let (reply, output, failed) = match result {
            // `:help` goes to the front end's pager, as IPython's `?` does.
            Ok(outputs) if execute.code.trim() == ":help" => {
                let text = outputs
                    .mime_bundle
                    .get("text/plain")
                    .cloned()
                    .unwrap_or_default();
                let page = json!({"source": "page", "data": {"text/plain": text}, "start": 0});
                let reply = ExecuteReply::Ok {
                    execution_count: count,
                    user_expressions: Map::new(),
                    payload: vec![page],
                };
                (reply, None, false)
            }
            Ok(outputs) => {
                let text = outputs.mime_bundle.get("text/plain").cloned();
                // A unit value (a cell ending in a `for` loop or a block) carries no
                // information; like Python's None it is not shown.
                let unit = outputs.mime_bundle.len() == 1 && text.as_deref() == Some("()");
                if !execute.silent && !outputs.mime_bundle.is_empty() && !unit {
                    let data = crate::sanitise::bundle(
                        outputs
                            .mime_bundle
                            .into_iter()
                            .map(|(k, v)| (k, Value::String(v)))
                            .collect(),
                    );
                    self.broadcast(
                        message,
                        Content::ExecuteResult(ExecuteResult {
                            execution_count: count,
                            data,
                            metadata: Map::new(),
                        }),
                    );
                }
                let reply = ExecuteReply::Ok {
                    execution_count: count,
                    user_expressions: Map::new(),
                    payload: Vec::new(),
                };
                (reply, text, false)
            }
            Err(error) => {
                let content = error_content(&error);
                if !execute.silent {
                    self.broadcast(message, Content::Error(content.clone()));
                }
                let ErrorContent {
                    ename,
                    evalue,
                    traceback,
                } = content;
                (
                    ExecuteReply::Error {
                        execution_count: count,
                        ename,
                        evalue,
                        traceback,
                    },
                    None,
                    true,
                )
            }
        };
        if counted {
            self.history.push(Entry {
                line: count,
                input: execute.code.clone(),
                output,
            });
        }
        (Content::ExecuteReply(reply), failed)
    }

    fn history(&self, req: &HistoryRequest) -> Vec<Value> {
        let row = |e: &Entry| {
            if req.output {
                json!([
                    SESSION,
                    e.line,
                    [e.input, e.output.clone().unwrap_or_default()]
                ])
            } else {
                json!([SESSION, e.line, e.input])
            }
        };
        let tail = |entries: Vec<&Entry>, n: Option<usize>| -> Vec<Value> {
            let n = n.unwrap_or(entries.len()).min(entries.len());
            entries[entries.len() - n..]
                .iter()
                .map(|e| row(e))
                .collect()
        };
        match req.hist_access_type.as_str() {
            "tail" => tail(self.history.iter().collect(), req.n),
            "range" => {
                // Only our session exists; negative or missing bounds mean "from the start / to the end".
                if req.session.is_some_and(|s| s != SESSION && s != 0) {
                    return Vec::new();
                }
                let start = req.start.unwrap_or(0).max(0);
                let stop = req.stop.filter(|s| *s > 0).unwrap_or(i64::MAX);
                self.history
                    .iter()
                    .filter(|e| (start..stop).contains(&i64::from(e.line)))
                    .map(row)
                    .collect()
            }
            "search" => {
                let pattern = req.pattern.as_deref().unwrap_or("*");
                let mut found: Vec<&Entry> = self
                    .history
                    .iter()
                    .filter(|e| glob(pattern, &e.input))
                    .collect();
                if req.unique {
                    let mut seen = std::collections::HashSet::new();
                    // Keep the latest of each input, in order.
                    found.reverse();
                    found.retain(|e| seen.insert(e.input.clone()));
                    found.reverse();
                }
                tail(found, req.n)
            }
            _ => Vec::new(),
        }
    }
}

fn stop_on_error(message: &Message) -> bool {
    matches!(&message.content, Content::ExecuteRequest(r) if r.stop_on_error)
}

/// The iopub `error` for an evaluation failure: rustc's code as the name, the first
/// message line as the value, every diagnostic as the traceback.
pub(crate) fn error_content(error: &EvalError) -> ErrorContent {
    match error {
        EvalError::Compilation(diagnostics) => {
            let first = diagnostics.first();
            ErrorContent {
                ename: first.and_then(|d| d.code.clone()).map_or_else(
                    || "CompilationError".into(),
                    |code| format!("error[{code}]"),
                ),
                evalue: first
                    .and_then(|d| d.message.lines().next())
                    .unwrap_or("compilation failed")
                    .to_owned(),
                traceback: diagnostics.iter().map(|d| d.message.clone()).collect(),
            }
        }
        EvalError::Refused(why) => ErrorContent {
            ename: "RefusedCommand".into(),
            evalue: why.clone(),
            traceback: vec![why.clone()],
        },
        EvalError::Interrupted => ErrorContent {
            ename: "Interrupted".into(),
            evalue: "the cell was interrupted; the variables of earlier cells are kept".into(),
            traceback: vec!["Interrupted".into()],
        },
        EvalError::Panicked(message) => ErrorContent {
            ename: "panic".into(),
            evalue: message.clone(),
            traceback: vec![format!("the cell panicked: {message}")],
        },
        EvalError::Returned(lines) => {
            // The error itself is on the cell's stderr already; its last line names it.
            let evalue = lines
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| "the cell returned an error".into());
            ErrorContent {
                ename: "Error".into(),
                traceback: vec![evalue.clone()],
                evalue,
            }
        }
        EvalError::ChildEnded(why) => ErrorContent {
            ename: "EvaluationProcessEnded".into(),
            evalue: format!("the evaluation process ended ({why}); variables were lost"),
            traceback: vec![why.clone()],
        },
        other => ErrorContent {
            ename: "Error".into(),
            evalue: other.to_string(),
            traceback: vec![other.to_string()],
        },
    }
}

/// `*` and `?` glob matching over whole strings, as IPython's history search does.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Byte offset of code point `cursor` (Jupyter counts code points; Rust slices bytes).
fn byte_offset(code: &str, cursor: usize) -> usize {
    code.char_indices()
        .nth(cursor)
        .map_or(code.len(), |(i, _)| i)
}

/// Code point offset of byte offset `byte`.
fn char_offset(code: &str, byte: usize) -> usize {
    code[..byte.min(code.len())].chars().count()
}

#[cfg(test)]
mod tests;
