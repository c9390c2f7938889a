//! The async side: ZeroMQ sockets, one task each, and the bridge to the kernel thread.
//!
//! Shell requests go to the kernel thread in arrival order. Control (interrupt,
//! shutdown) is answered here, so it works while a cell runs. A message whose
//! signature does not verify is dropped and logged, never interpreted.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use kernel_eval::{Config, Evcxr};
use kernel_protocol::message::{Content, Shutdown, Status, StatusOnly};
use kernel_protocol::{Key, Message, decode, encode};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use zeromq::{PubSocket, RepSocket, RouterSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

use crate::connection::Info;
use crate::dispatch::{self, Channel, Dispatcher, Inbound, Interrupts, Outbound};

/// Logs to stderr, which the front end keeps in its log.
macro_rules! log {
    ($($arg:tt)*) => {{
        #[allow(clippy::print_stderr)]
        {
            eprintln!("workbench-kernel: {}", format!($($arg)*));
        }
    }};
}

fn to_zmq(frames: Vec<Vec<u8>>) -> ZmqMessage {
    ZmqMessage::try_from(frames.into_iter().map(Bytes::from).collect::<Vec<_>>())
        .expect("a message has frames")
}

fn frames(message: ZmqMessage) -> Vec<Bytes> {
    message.into_vec()
}

/// Signs and sends `message` to `identities`; a failed send is logged, since the peer
/// that should get it is gone and nobody else can be told.
async fn send_to<S: SocketSend>(
    socket: &mut S,
    identities: &[Vec<u8>],
    message: &Message,
    key: &Key,
    name: &str,
) {
    if let Err(err) = socket.send(to_zmq(encode(identities, message, key))).await {
        log!("{name} send failed: {err}");
    }
}

/// Runs the kernel until a shutdown request.
pub(crate) fn serve(
    info: Info,
    config: Config,
    session: kernel_eval::session::Dir,
    plan: crate::governor::Plan,
) -> Result<()> {
    // The governor's thread starts here, from the unconfined main thread (the kernel
    // thread confines itself and could not read the store).
    let mode = plan.start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(info, config, session.path().to_owned(), mode))
}

async fn bind<S: Socket>(socket: &mut S, info: &Info, port: u16, name: &str) -> Result<()> {
    let endpoint = info.endpoint(port);
    socket
        .bind(&endpoint)
        .await
        .with_context(|| format!("binding the {name} socket to {endpoint}"))?;
    Ok(())
}

async fn run(
    info: Info,
    config: Config,
    session_dir: std::path::PathBuf,
    mode: crate::governor::Mode,
) -> Result<()> {
    let key = Key::new(&info.key, &info.signature_scheme)?;
    let mut shell = RouterSocket::new();
    let mut control = RouterSocket::new();
    let mut stdin = RouterSocket::new();
    let mut iopub = PubSocket::new();
    let mut heartbeat = RepSocket::new();
    bind(&mut shell, &info, info.shell_port, "shell").await?;
    bind(&mut control, &info, info.control_port, "control").await?;
    bind(&mut stdin, &info, info.stdin_port, "stdin").await?;
    bind(&mut iopub, &info, info.iopub_port, "iopub").await?;
    bind(&mut heartbeat, &info, info.hb_port, "heartbeat").await?;

    let (outbound_tx, outbound_rx) = mpsc::channel::<Outbound>();
    let (requests_tx, requests_rx) = mpsc::channel::<Inbound>();
    let (answers_tx, answers_rx) = mpsc::channel::<String>();
    let (shell_out, shell_out_rx) = unbounded_channel::<Outbound>();
    let (iopub_out, iopub_out_rx) = unbounded_channel::<Outbound>();
    let (stdin_out, stdin_out_rx) = unbounded_channel::<Outbound>();

    // The kernel thread owns the evaluator. If evcxr cannot start, the kernel exits:
    // a kernel that cannot run cells must not pretend to.
    let current = Arc::new(Mutex::new(None));
    // Shared by control, SIGINT, the shell task (which counts queued executions) and
    // the kernel thread (which installs the evaluator's interrupter).
    let interrupts = Arc::new(Interrupts::default());
    {
        let outbound_tx = outbound_tx.clone();
        let interrupts = Arc::clone(&interrupts);
        std::thread::Builder::new()
            .name("kernel".into())
            .spawn(move || {
                let sink = dispatch::output_sink(outbound_tx.clone(), Arc::clone(&current));
                match Evcxr::start(&config, sink) {
                    Ok(evaluator) => {
                        Dispatcher::new(evaluator, outbound_tx, answers_rx, current, interrupts)
                            .with_mode(mode)
                            .run(requests_rx);
                    }
                    Err(err) => {
                        log!("cannot start the evaluator: {err:#}");
                        std::process::exit(1);
                    }
                }
            })?;
    }
    let kernel_info_iopub = iopub_out.clone();
    // Route the kernel thread's messages to the socket tasks.
    std::thread::Builder::new()
        .name("router".into())
        .spawn(move || {
            while let Ok(out) = outbound_rx.recv() {
                let target = match out.channel {
                    Channel::Shell => &shell_out,
                    Channel::IoPub => &iopub_out,
                    Channel::Stdin => &stdin_out,
                };
                let _ = target.send(out);
            }
        })?;

    let session = uuid_session();
    let starting = Message::new(
        Content::Status(Status {
            execution_state: "starting".into(),
        }),
        &session,
    );
    iopub
        .send(to_zmq(encode(&[], &starting, &key)))
        .await
        .context("publishing the starting status")?;

    let interrupt = {
        let interrupts = Arc::clone(&interrupts);
        Arc::new(move || interrupts.interrupt())
    };

    tokio::spawn(heartbeat_task(heartbeat));
    tokio::spawn(iopub_task(iopub, iopub_out_rx, key.clone()));
    tokio::spawn(stdin_task(stdin, stdin_out_rx, answers_tx, key.clone()));
    tokio::spawn(signal_task(Arc::clone(&interrupt)));
    tokio::spawn(shell_task(
        shell,
        shell_out_rx,
        requests_tx,
        kernel_info_iopub,
        Arc::clone(&interrupts),
        key.clone(),
    ));
    control_task(control, key, interrupt, session_dir).await
}

fn uuid_session() -> String {
    // A fresh header's msg_id is a v4 UUID: reuse it as the kernel's session id.
    kernel_protocol::Header::new("status", "", "kernel").msg_id
}

async fn heartbeat_task(mut socket: RepSocket) {
    while let Ok(ping) = socket.recv().await {
        if socket.send(ping).await.is_err() {
            break;
        }
    }
}

async fn iopub_task(mut socket: PubSocket, mut outgoing: UnboundedReceiver<Outbound>, key: Key) {
    while let Some(out) = outgoing.recv().await {
        send_to(&mut socket, &[], &out.message, &key, "iopub").await;
    }
}

async fn shell_task(
    mut socket: RouterSocket,
    mut outgoing: UnboundedReceiver<Outbound>,
    requests: mpsc::Sender<Inbound>,
    iopub: UnboundedSender<Outbound>,
    interrupts: Arc<Interrupts>,
    key: Key,
) {
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Ok(message) = received else { break };
                match decode(&frames(message), &key) {
                    // kernel_info is static: answer it here, at once, even while the
                    // evaluator is still starting, so front ends see a live kernel.
                    Ok(r) if matches!(r.message.content, Content::KernelInfoRequest) => {
                        let status = |state: &str| Outbound {
                            channel: Channel::IoPub,
                            identities: Vec::new(),
                            message: r.message.child(Content::Status(Status { execution_state: state.into() })),
                        };
                        let _ = iopub.send(status("busy"));
                        let reply = r.message.child(dispatch::kernel_info());
                        send_to(&mut socket, &r.identities, &reply, &key, "shell").await;
                        let _ = iopub.send(status("idle"));
                    }
                    Ok(r) => {
                        if matches!(r.message.content, Content::ExecuteRequest(_)) {
                            interrupts.queued();
                        }
                        if requests.send(Inbound { identities: r.identities, message: r.message, received: Instant::now() }).is_err() {
                            break;
                        }
                    }
                    Err(err) => log!("shell: dropped a message: {err}"),
                }
            }
            Some(out) = outgoing.recv() => send_to(&mut socket, &out.identities, &out.message, &key, "shell").await,
        }
    }
}

async fn stdin_task(
    mut socket: RouterSocket,
    mut outgoing: UnboundedReceiver<Outbound>,
    answers: mpsc::Sender<String>,
    key: Key,
) {
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Ok(message) = received else { break };
                match decode(&frames(message), &key) {
                    Ok(r) => {
                        if let Content::InputReply(reply) = r.message.content {
                            let _ = answers.send(reply.value);
                        }
                    }
                    Err(err) => log!("stdin: dropped a message: {err}"),
                }
            }
            Some(out) = outgoing.recv() => send_to(&mut socket, &out.identities, &out.message, &key, "stdin").await,
        }
    }
}

async fn signal_task(interrupt: Arc<impl Fn() + Send + Sync + 'static>) {
    // Front ends with interrupt_mode "signal" send SIGINT to the kernel process.
    let Ok(mut signals) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    else {
        return;
    };
    while signals.recv().await.is_some() {
        interrupt();
    }
}

async fn control_task(
    mut socket: RouterSocket,
    key: Key,
    interrupt: Arc<impl Fn() + Send + Sync + 'static>,
    session_dir: std::path::PathBuf,
) -> Result<()> {
    loop {
        let message = socket
            .recv()
            .await
            .context("receiving on the control socket")?;
        let received = match decode(&frames(message), &key) {
            Ok(r) => r,
            Err(err) => {
                log!("control: dropped a message: {err}");
                continue;
            }
        };
        let request = &received.message;
        let (reply, shutdown) = match &request.content {
            Content::InterruptRequest => {
                interrupt();
                (
                    Some(Content::InterruptReply(StatusOnly {
                        status: "ok".into(),
                    })),
                    false,
                )
            }
            Content::ShutdownRequest(s) => (
                Some(Content::ShutdownReply(Shutdown {
                    status: Some("ok".into()),
                    restart: s.restart,
                })),
                true,
            ),
            Content::KernelInfoRequest => (Some(dispatch::kernel_info()), false),
            _ => (None, false),
        };
        if let Some(reply) = reply {
            socket
                .send(to_zmq(encode(
                    &received.identities,
                    &request.child(reply),
                    &key,
                )))
                .await
                .context("replying on control")?;
        }
        if shutdown {
            // End the evaluation child with us; a restart starts a new kernel process.
            interrupt();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            // `exit` runs no destructors: remove the session's build here.
            let _ = std::fs::remove_dir_all(&session_dir);
            std::process::exit(0);
        }
    }
}
