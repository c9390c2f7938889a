//! The session's governance inside the kernel (R18, R36): whether the next cell may run,
//! and the audit record of every cell, written by the kernel, never by user code.
//!
//! The store is read and written on a thread of its own, started before the kernel thread
//! confines itself: the build layer (which the kernel thread and everything it starts
//! inherit) cannot read the store, by design, so the thread that runs cells asks this one.
//! Any failure to decide or to record refuses the cell: nothing runs unaudited.

use std::path::PathBuf;
use std::sync::mpsc::{Sender, channel};

use workbench_governance::governor::{Cell, Governed};
use workbench_governance::service::Client;

/// Environment of the kernel: the governance store of its session (a kernel that may
/// read the store: tests, an operator's checks).
pub(crate) const STORE_VAR: &str = "WORKBENCH_STORE";
/// Environment of the kernel: the socket of the governance service, for a kernel that
/// runs as a session account and may not read the store (the enclave's JupyterHub).
pub(crate) const GOVERNOR_VAR: &str = "WORKBENCH_GOVERNOR";
/// Environment of the kernel: the session it serves.
pub(crate) const SESSION_VAR: &str = "WORKBENCH_SESSION";
/// Environment of the kernel: `1` runs cells without a session (a trainer's own machine:
/// `workbench up --single-user`); nothing else does.
pub(crate) const SINGLE_USER_VAR: &str = "WORKBENCH_SINGLE_USER";

/// How a kernel serves cells.
pub(crate) enum Mode {
    /// A governed session: every cell asks and is audited.
    Session(Governor),
    /// No session, by explicit choice ([`SINGLE_USER_VAR`]).
    SingleUser,
    /// No valid session: every cell is refused with this reason.
    Refused(String),
}

/// Where the session's decisions are made.
enum Backend {
    /// In this process, from the store.
    Store(Box<Governed>),
    /// By the governance service.
    Service(Client),
}

impl Backend {
    fn before_cell(&mut self, cell: &Cell) -> Result<(), String> {
        match self {
            Backend::Store(g) => g.before_cell(cell),
            Backend::Service(c) => c.before_cell(cell),
        }
    }
    fn after_cell(&mut self, cell: &Cell, outcome: &str, millis: u64) -> Result<(), String> {
        match self {
            Backend::Store(g) => g.after_cell(cell, outcome, millis),
            Backend::Service(c) => c.after_cell(cell, outcome, millis),
        }
    }
    fn export(&mut self, request: &serde_json::Value) -> Result<serde_json::Value, String> {
        match self {
            // The spool and the checks are the service's (run as the store's owner).
            Backend::Store(_) => Err(format!(
                "R39-export: export requests go through the governance service; start the kernel with {GOVERNOR_VAR}"
            )),
            Backend::Service(c) => c.export(request),
        }
    }

    fn aggregate(&mut self, query: &serde_json::Value) -> Result<serde_json::Value, String> {
        match self {
            // The basis of an overview session's counts is read by the service only
            // (`workbench::overview`); a kernel on the store directly has no reader of it.
            Backend::Store(_) => Err(format!(
                "R33-disclosure: aggregate queries are answered by the governance service; start the kernel with {GOVERNOR_VAR}"
            )),
            Backend::Service(c) => c.aggregate(query),
        }
    }
}

/// A session found valid at start, whose thread is not started yet: the kernel sets its
/// environment (the view) first, while it has no other thread.
pub(crate) struct Opened {
    /// The session's view.
    pub(crate) view: PathBuf,
    backend: Backend,
}

impl Opened {
    /// Starts the thread that answers the kernel thread.
    ///
    /// # Errors
    ///
    /// The thread cannot be started.
    pub(crate) fn start(self) -> Result<Governor, String> {
        let (asks, requests) = channel::<Ask>();
        let Opened { backend, .. } = self;
        std::thread::Builder::new()
            .name("governor".into())
            .spawn(move || serve(backend, &requests))
            .map_err(|e| format!("R18-session: starting the governor thread: {e}"))?;
        Ok(Governor { asks })
    }
}

/// What the environment asks for, before any thread exists.
pub(crate) enum Plan {
    /// A session that stands (boxed: it holds the store's connection).
    Session(Box<Opened>),
    /// Single-user mode.
    SingleUser,
    /// Every cell refused, with this reason.
    Refused(String),
}

impl Plan {
    /// The mode the kernel thread serves in (the session's thread started).
    pub(crate) fn start(self) -> Mode {
        match self {
            Plan::Session(opened) => match opened.start() {
                Ok(governor) => Mode::Session(governor),
                Err(reason) => Mode::Refused(reason),
            },
            Plan::SingleUser => Mode::SingleUser,
            Plan::Refused(reason) => Mode::Refused(reason),
        }
    }
}

enum Ask {
    Before {
        code: String,
        reply: Sender<Result<(), String>>,
    },
    After {
        code: String,
        outcome: &'static str,
        millis: u128,
    },
    Aggregate {
        query: serde_json::Value,
        reply: Sender<Result<serde_json::Value, String>>,
    },
    Export {
        request: serde_json::Value,
        reply: Sender<Result<serde_json::Value, String>>,
    },
}

/// The handle the kernel thread asks through.
#[derive(Clone)]
pub(crate) struct Governor {
    asks: Sender<Ask>,
}

/// The mode the environment asks for: a session when [`SESSION_VAR`] names one that
/// stands, through the service at [`GOVERNOR_VAR`] or the store at [`STORE_VAR`] (one of
/// the two); single-user mode only when [`SINGLE_USER_VAR`] is `1`; refusal otherwise.
pub(crate) fn from_env() -> Plan {
    let store = std::env::var_os(STORE_VAR).map(PathBuf::from);
    let service = std::env::var_os(GOVERNOR_VAR).map(PathBuf::from);
    let session = std::env::var(SESSION_VAR).ok();
    let opened = match (store, service, session) {
        (Some(store), None, Some(id)) => Governed::open(&store, &id).map(|g| Opened {
            view: PathBuf::from(&g.session().view),
            backend: Backend::Store(Box::new(g)),
        }),
        (None, Some(socket), Some(id)) => Client::connect(&socket, &id).map(|(c, o)| Opened {
            view: o.view,
            backend: Backend::Service(c),
        }),
        (None, None, None) if std::env::var(SINGLE_USER_VAR).is_ok_and(|v| v == "1") => {
            return Plan::SingleUser;
        }
        (None, None, None) => Err(format!(
            "R18-session: this kernel serves no session: it runs cells only when the enclave starts it with {SESSION_VAR} and {GOVERNOR_VAR} or {STORE_VAR} (or, on a trainer's own machine, with {SINGLE_USER_VAR}=1)"
        )),
        _ => Err(format!(
            "R18-session: {SESSION_VAR} goes with exactly one of {GOVERNOR_VAR} and {STORE_VAR}"
        )),
    };
    match opened {
        Ok(opened) => Plan::Session(Box::new(opened)),
        Err(reason) => Plan::Refused(reason),
    }
}

impl Governor {
    /// Whether the next cell, `code`, may run; the answer is recorded in the audit
    /// chain before this returns.
    pub(crate) fn before_cell(&self, code: &str) -> Result<(), String> {
        let (reply, answer) = channel();
        self.asks
            .send(Ask::Before {
                code: code.to_owned(),
                reply,
            })
            .map_err(|_| "R18-audit: the governor has stopped; no cell runs".to_owned())?;
        answer
            .recv()
            .unwrap_or_else(|_| Err("R18-audit: the governor has stopped; no cell runs".into()))
    }

    /// Asks an aggregate query of the session (`{"table":…,"by":[…]}`): answered, with
    /// the disclosure rule applied and the query audited, by the governance service.
    pub(crate) fn aggregate(&self, query: serde_json::Value) -> Result<serde_json::Value, String> {
        let (reply, answer) = channel();
        self.asks
            .send(Ask::Aggregate { query, reply })
            .map_err(|_| "R18-audit: the governor has stopped".to_owned())?;
        answer
            .recv()
            .unwrap_or_else(|_| Err("R18-audit: the governor has stopped".into()))
    }

    /// Asks for an object to leave (`{"name","hex","intent","justification"}`): checked,
    /// frozen and recorded by the governance service.
    pub(crate) fn export(&self, request: serde_json::Value) -> Result<serde_json::Value, String> {
        let (reply, answer) = channel();
        self.asks
            .send(Ask::Export { request, reply })
            .map_err(|_| "R18-audit: the governor has stopped".to_owned())?;
        answer
            .recv()
            .unwrap_or_else(|_| Err("R18-audit: the governor has stopped".into()))
    }

    /// Records how the cell ended.
    pub(crate) fn after_cell(&self, code: &str, outcome: &'static str, millis: u128) {
        let _ = self.asks.send(Ask::After {
            code: code.to_owned(),
            outcome,
            millis,
        });
    }
}

fn serve(mut backend: Backend, requests: &std::sync::mpsc::Receiver<Ask>) {
    while let Ok(ask) = requests.recv() {
        match ask {
            Ask::Before { code, reply } => {
                let _ = reply.send(backend.before_cell(&Cell::of(&code)));
            }
            Ask::Aggregate { query, reply } => {
                let _ = reply.send(backend.aggregate(&query));
            }
            Ask::Export { request, reply } => {
                let _ = reply.send(backend.export(&request));
            }
            Ask::After {
                code,
                outcome,
                millis,
            } => {
                let millis = u64::try_from(millis).unwrap_or(u64::MAX);
                if let Err(e) = backend.after_cell(&Cell::of(&code), outcome, millis) {
                    // The front end shows the kernel's stderr in its log.
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("workbench-kernel: {e}");
                    }
                }
            }
        }
    }
}
