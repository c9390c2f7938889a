//! The governance service: the store's one door for kernels that run as unprivileged
//! session accounts (R18, R36).
//!
//! A session's kernel runs as the account `wb-USER` and must not read the store (password
//! hashes, second-factor secrets, every project's facts). It asks this service instead,
//! over a Unix socket, one JSON object per line: `{"op":"open","session":ID}` first, then
//! `{"op":"before","sha256":H,"bytes":N}` before each cell and
//! `{"op":"after","sha256":H,"outcome":O,"millis":M}` after it, and
//! `{"op":"aggregate","query":Q}` for an overview session's counts; every answer is
//! `{"ok":true,…}` or `{"ok":false,"reason":…}`. The kernel's account is taken from the
//! socket's peer credentials (`SO_PEERCRED`), not from anything it says: a connection may
//! serve only a session of the user whose account it runs as (or come from root or the
//! service's own account, which can read the store anyway). Each connection has its own
//! thread and its own store connection; SQLite's transactions order their writes.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::Rule;
use crate::governor::{Cell, Governed};
use crate::session::Session;

/// Session accounts are named this prefix and the user's name (`wb-ana`).
pub const ACCOUNT_PREFIX: &str = "wb-";

/// The longest request line read: requests carry hashes, never code; an export request
/// carries its object, at most [`MAX_EXPORT`] bytes as hex.
const MAX_LINE: u64 = 2 * MAX_EXPORT + 64 * 1024;

/// The largest object a cell may ask to take out through the kernel.
pub const MAX_EXPORT: u64 = 8 * 1024 * 1024;

/// The longest answer a kernel reads (an aggregate of many groups).
const MAX_ANSWER: u64 = 8 * 1024 * 1024;

/// Answers an overview session's aggregate query from data the kernel cannot read:
/// `(store, session, minimum count, query) → answer`, the disclosure rule applied. The
/// service runs in the `workbench` binary, which has the lake's reader; this crate has not.
pub type Aggregator = dyn Fn(&Path, &Session, u32, &Value) -> Result<Value, String> + Send + Sync;

/// Makes an export request for a session's user and project: `(store, session, request)
/// → answer`, where the request holds `name`, `hex` (the object), `intent` and
/// `justification`. It runs in the `workbench` binary (the checks, the spool), which
/// records the request or its refusal itself.
pub type Exporter = dyn Fn(&Path, &Session, &Value) -> Result<Value, String> + Send + Sync;

/// Binds the service's socket at `socket` (a stale one is replaced), reachable by every
/// local account: who may do what is decided per connection from its peer credentials.
///
/// # Errors
///
/// The socket cannot be made.
pub fn bind(socket: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// Serves connections on `listener` for the store in `store` until the process ends;
/// `aggregate` answers overview sessions' aggregate queries.
pub fn serve(
    listener: &UnixListener,
    store: &Path,
    aggregate: &std::sync::Arc<Aggregator>,
    export: &std::sync::Arc<Exporter>,
) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let store = store.to_owned();
        let aggregate = std::sync::Arc::clone(aggregate);
        let export = std::sync::Arc::clone(export);
        let spawned = std::thread::Builder::new()
            .name("governance-connection".into())
            .spawn(move || {
                if let Err(e) = handle(stream, &store, &*aggregate, &*export) {
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("workbench governance serve: a connection ended: {e}");
                    }
                }
            });
        if let Err(e) = spawned {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("workbench governance serve: no thread for a connection: {e}");
            }
        }
    }
}

fn handle(
    stream: UnixStream,
    store: &Path,
    aggregate: &Aggregator,
    export: &Exporter,
) -> std::io::Result<()> {
    let peer = peer_uid(&stream)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let Some(first) = read_message(&mut reader)? else {
        return Ok(());
    };
    let refuse = |writer: &mut UnixStream, reason: String| {
        send(writer, &json!({"ok": false, "reason": reason}))
    };
    let (Some("open"), Some(id)) = (first["op"].as_str(), first["session"].as_str()) else {
        return refuse(
            &mut writer,
            format!(
                "{}: the first request must be {{\"op\":\"open\",\"session\":ID}}",
                Rule::Session.id()
            ),
        );
    };
    let mut governed = match Governed::open(store, id) {
        Ok(g) => g,
        Err(reason) => return refuse(&mut writer, reason),
    };
    let user = governed.session().user.clone();
    if !may_serve(peer, &user) {
        let reason = format!(
            "{}: session {id} is {user}'s; a kernel running as uid {peer} ({}) may not serve it",
            Rule::Session.id(),
            account_name(peer).unwrap_or_else(|| "no account".into())
        );
        let s = governed.session();
        let event = json!({"kind": "session-refused", "user": s.user, "project": s.project,
                           "session": s.id, "peer_uid": peer, "reason": reason});
        if let Err(e) = governed.record(event) {
            return refuse(&mut writer, e);
        }
        return refuse(&mut writer, reason);
    }
    let s = governed.session();
    send(
        &mut writer,
        &json!({"ok": true, "session": s.id, "user": s.user, "project": s.project,
                "tier": s.tier, "view": s.view}),
    )?;
    while let Some(message) = read_message(&mut reader)? {
        if message["op"] == "export" {
            // Asked while the session stands only; the exporter records the request
            // (or its refusal) in the chain.
            let decision = governed.decide();
            let answer = if decision.allowed {
                export(store, governed.session(), &message["request"])
            } else {
                Err(decision.to_string())
            };
            match answer {
                Ok(answer) => send(&mut writer, &json!({"ok": true, "answer": answer}))?,
                Err(reason) => refuse(&mut writer, reason)?,
            }
            continue;
        }
        if message["op"] == "aggregate" {
            match answer_aggregate(&mut governed, store, aggregate, &message["query"]) {
                Ok(answer) => send(&mut writer, &json!({"ok": true, "answer": answer}))?,
                Err(reason) => refuse(&mut writer, reason)?,
            }
            continue;
        }
        let cell = Cell {
            sha256: message["sha256"].as_str().unwrap_or_default().to_owned(),
            bytes: message["bytes"]
                .as_u64()
                .and_then(|b| usize::try_from(b).ok())
                .unwrap_or(0),
        };
        let answer = if !cell.well_formed() {
            Err(format!(
                "{}: a request needs the sha256 of the cell's code",
                Rule::Audit.id()
            ))
        } else {
            match message["op"].as_str() {
                Some("before") => governed.before_cell(&cell),
                Some("after") => governed.after_cell(
                    &cell,
                    message["outcome"].as_str().unwrap_or("unknown"),
                    message["millis"].as_u64().unwrap_or(0),
                ),
                _ => Err(format!(
                    "{}: unknown request (before or after)",
                    Rule::Audit.id()
                )),
            }
        };
        match answer {
            Ok(()) => send(&mut writer, &json!({"ok": true}))?,
            Err(reason) => refuse(&mut writer, reason)?,
        }
    }
    Ok(())
}

/// An aggregate query of the session: asked only while the session stands, answered
/// under the policy's minimum count, and recorded (asked, answered or refused) before
/// the answer leaves.
fn answer_aggregate(
    governed: &mut Governed,
    store: &Path,
    aggregate: &Aggregator,
    query: &Value,
) -> Result<Value, String> {
    let decision = governed.decide();
    let result = if decision.allowed {
        governed
            .policy()
            .and_then(|policy| aggregate(store, governed.session(), policy.min_cell_count, query))
    } else {
        Err(decision.to_string())
    };
    let s = governed.session();
    let mut event = json!({"kind": "aggregate", "user": s.user, "project": s.project,
                           "session": s.id, "query": query, "rule": Rule::Disclosure.id()});
    match &result {
        Ok(answer) => {
            event["outcome"] = json!("answered");
            for key in ["threshold", "primary", "secondary"] {
                event[key] = answer[key].clone();
            }
            event["cells"] = json!(answer["rows"].as_array().map_or(0, Vec::len));
        }
        Err(reason) => {
            event["outcome"] = json!("refused");
            event["reason"] = json!(reason);
        }
    }
    governed.record(event)?;
    result
}

/// Whether a connection whose peer runs as `uid` may serve a session of `user`.
fn may_serve(uid: u32, user: &str) -> bool {
    uid == 0
        || uid == own_uid()
        || account_name(uid).is_some_and(|name| name == format!("{ACCOUNT_PREFIX}{user}"))
}

fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}

/// The uid of the process at the other end of `stream`, from the kernel.
fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>())
        .map_err(|_| std::io::Error::other("ucred size"))?;
    // SAFETY: the descriptor is a live Unix socket owned by `stream`; `cred` and `len`
    // are valid for writes of the size given.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            std::ptr::from_mut(&mut cred).cast(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// The local account of `uid`, from `/etc/passwd` (session accounts are local system
/// accounts made by the enclave, never directory-service ones).
fn account_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        (fields.next()?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

fn read_message(reader: &mut BufReader<UnixStream>) -> std::io::Result<Option<Value>> {
    let mut line = String::new();
    let n = reader.by_ref().take(MAX_LINE).read_line(&mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with('\n') {
        return Err(std::io::Error::other("a request longer than 64 KiB"));
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("a request that is not JSON: {e}")))
}

fn send(writer: &mut UnixStream, value: &Value) -> std::io::Result<()> {
    let mut line = value.to_string();
    line.push('\n');
    writer.write_all(line.as_bytes())
}

/// A session as the service opened it for a kernel.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The session id.
    pub session: String,
    /// Its user.
    pub user: String,
    /// Its project.
    pub project: String,
    /// Its view's directory.
    pub view: PathBuf,
}

/// A kernel's connection to the service, serving one session.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the service at `socket` and opens session `id`.
    ///
    /// # Errors
    ///
    /// The service cannot be reached or refuses the session (the reason names the rule).
    pub fn connect(socket: &Path, id: &str) -> Result<(Client, Opened), String> {
        let rule = Rule::Session.id();
        let stream = UnixStream::connect(socket).map_err(|e| {
            format!(
                "{rule}: the governance service at {} cannot be reached: {e}",
                socket.display()
            )
        })?;
        let reader = BufReader::new(
            stream
                .try_clone()
                .map_err(|e| format!("{rule}: governance service: {e}"))?,
        );
        let mut client = Client {
            reader,
            writer: stream,
        };
        let answer = client.ask(&json!({"op": "open", "session": id}))?;
        let text = |key: &str| answer[key].as_str().unwrap_or_default().to_owned();
        Ok((
            client,
            Opened {
                session: text("session"),
                user: text("user"),
                project: text("project"),
                view: PathBuf::from(text("view")),
            },
        ))
    }

    /// Whether `cell` may run (recorded by the service before it answers).
    ///
    /// # Errors
    ///
    /// The reason it may not.
    pub fn before_cell(&mut self, cell: &Cell) -> Result<(), String> {
        self.ask(&json!({"op": "before", "sha256": cell.sha256, "bytes": cell.bytes}))
            .map(drop)
    }

    /// Records how `cell` ended.
    ///
    /// # Errors
    ///
    /// The service could not record it.
    pub fn after_cell(&mut self, cell: &Cell, outcome: &str, millis: u64) -> Result<(), String> {
        self.ask(
            &json!({"op": "after", "sha256": cell.sha256, "bytes": cell.bytes,
                         "outcome": outcome, "millis": millis}),
        )
        .map(drop)
    }

    /// Asks an aggregate query (`{"table":…,"by":[…]}`) of the session; the answer has
    /// the disclosure rule applied (`workbench::overview::Answer`).
    ///
    /// # Errors
    ///
    /// The reason it was refused (recorded by the service).
    pub fn aggregate(&mut self, query: &Value) -> Result<Value, String> {
        self.ask(&json!({"op": "aggregate", "query": query}))
            .map(|mut a| a["answer"].take())
    }

    /// Asks for an object to leave (`{"name","hex","intent","justification"}`); the
    /// answer holds the request id and the automatic verdict.
    ///
    /// # Errors
    ///
    /// The reason it was refused (recorded by the service).
    pub fn export(&mut self, request: &Value) -> Result<Value, String> {
        self.ask(&json!({"op": "export", "request": request}))
            .map(|mut a| a["answer"].take())
    }

    fn ask(&mut self, request: &Value) -> Result<Value, String> {
        let gone = |e: std::io::Error| {
            format!(
                "{}: the governance service stopped answering: {e}",
                Rule::Audit.id()
            )
        };
        send(&mut self.writer, request).map_err(gone)?;
        let mut line = String::new();
        let n = self
            .reader
            .by_ref()
            .take(MAX_ANSWER)
            .read_line(&mut line)
            .map_err(gone)?;
        if n == 0 {
            return Err(gone(std::io::Error::other("connection closed")));
        }
        let answer: Value =
            serde_json::from_str(&line).map_err(|e| gone(std::io::Error::other(e.to_string())))?;
        if answer["ok"] == json!(true) {
            Ok(answer)
        } else {
            Err(answer["reason"]
                .as_str()
                .unwrap_or("refused by the governance service")
                .to_owned())
        }
    }
}
