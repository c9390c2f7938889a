//! Dispatch tested in-process: a fake evaluator, channels instead of sockets.

use std::collections::BTreeMap;
use std::sync::mpsc;

use kernel_eval::{Completions, Diagnostic, Interrupter, Outputs};
use kernel_protocol::message::{
    CompleteRequest, ExecuteRequest, HistoryRequest, InputReply, InspectRequest, IsCompleteRequest,
};

use super::*;

/// Evaluates `N` as the number N, `print X` as stdout X, `ask P` as an input request,
/// and anything with `bad` as a compile error.
struct Fake {
    sink: kernel_eval::Sink,
}

impl Evaluator for Fake {
    fn evaluate(
        &mut self,
        code: &str,
        input: &dyn Fn(&str, bool) -> String,
    ) -> Result<Outputs, EvalError> {
        if code.contains("bad") {
            return Err(EvalError::Compilation(vec![Diagnostic {
                code: Some("E0308".into()),
                message: "mismatched types\nexpected i32".into(),
                rendered: "error[E0308]: mismatched types\nexpected i32".into(),
            }]));
        }
        if let Some(text) = code.strip_prefix("panic ") {
            panic!("{text}");
        }
        if let Some(text) = code.strip_prefix("print ") {
            (self.sink)(Output::Stdout(format!("{text}\n")));
            return Ok(Outputs::default());
        }
        if let Some(prompt) = code.strip_prefix("ask ") {
            let answer = input(prompt, false);
            return Ok(Outputs {
                mime_bundle: BTreeMap::from([("text/plain".into(), answer)]),
            });
        }
        Ok(Outputs {
            mime_bundle: BTreeMap::from([("text/plain".into(), code.to_owned())]),
        })
    }

    fn complete(&mut self, code: &str, cursor: usize) -> Completions {
        Completions {
            matches: vec![format!("{}_done", &code[..cursor])],
            start: 0,
            end: cursor,
        }
    }

    fn variables(&self) -> Vec<(String, String)> {
        vec![("x".into(), "i32".into())]
    }

    fn interrupter(&self) -> Interrupter {
        Interrupter::new(|| false)
    }
}

struct Harness {
    interrupts: Arc<Interrupts>,
    dispatcher: Dispatcher<Fake>,
    out: mpsc::Receiver<Outbound>,
    answers: mpsc::Sender<String>,
}

fn harness() -> Harness {
    let (tx, out) = mpsc::channel();
    let (answers, replies) = mpsc::channel();
    let current: Current = Arc::new(Mutex::new(None));
    let sink = output_sink(tx.clone(), Arc::clone(&current));
    let interrupts = Arc::new(Interrupts::default());
    Harness {
        interrupts: Arc::clone(&interrupts),
        dispatcher: Dispatcher::new(Fake { sink }, tx, replies, current, interrupts)
            .with_mode(Mode::SingleUser),
        out,
        answers,
    }
}

fn request(content: Content) -> Inbound {
    Inbound {
        identities: vec![b"peer".to_vec()],
        message: Message::new(content, "client-session"),
        received: Instant::now(),
    }
}

fn execute(code: &str) -> Inbound {
    request(Content::ExecuteRequest(ExecuteRequest {
        code: code.into(),
        silent: false,
        store_history: true,
        user_expressions: Map::new(),
        allow_stdin: true,
        stop_on_error: true,
    }))
}

impl Harness {
    fn run(&mut self, inbound: &Inbound) -> Vec<Outbound> {
        self.dispatcher.handle_guarded(inbound);
        self.out.try_iter().collect()
    }
}

#[test]
fn a_panic_on_the_kernel_thread_is_an_error_reply_and_the_kernel_carries_on() {
    let mut h = harness();
    let out = h.run(&execute("panic in the evaluator"));
    let content = reply(&out);
    assert_eq!(content["status"], "error", "{content}");
    assert_eq!(content["ename"], "KernelError", "{content}");
    assert!(
        content["evalue"]
            .as_str()
            .is_some_and(|e| e.contains("in the evaluator")),
        "{content}"
    );
    // The request ends idle, and the next one is served.
    let last = out.last().expect("messages");
    assert_eq!(last.message.header.msg_type, "status");
    let out = h.run(&execute("7"));
    assert_eq!(reply(&out)["status"], "ok");
}

#[test]
fn a_refused_mode_refuses_every_cell_saying_why() {
    let mut h = harness();
    h.dispatcher.mode = Mode::Refused("R18-session: no session".into());
    let out = h.run(&execute("1 + 1"));
    let content = reply(&out);
    assert_eq!(content["status"], "error", "{content}");
    assert!(
        content["evalue"]
            .as_str()
            .is_some_and(|e| e.contains("R18-session")),
        "{content}"
    );
}

/// The first message of type `msg_type` in `out`.
fn find<'a>(out: &'a [Outbound], msg_type: &str) -> &'a Outbound {
    out.iter()
        .find(|o| o.message.header.msg_type == msg_type)
        .unwrap_or_else(|| panic!("no {msg_type} in {:?}", types(out)))
}

/// The shell reply's content in `out`.
fn reply(out: &[Outbound]) -> Value {
    out.iter()
        .find(|o| o.channel == Channel::Shell)
        .expect("a shell reply")
        .message
        .content
        .to_json()
}

fn types(out: &[Outbound]) -> Vec<(Channel, String)> {
    out.iter()
        .map(|o| (o.channel, o.message.header.msg_type.clone()))
        .collect()
}

#[test]
fn execute_broadcasts_in_order_and_replies_ok() {
    let mut h = harness();
    let req = execute("print hello");
    let out = h.run(&req);
    assert_eq!(
        types(&out),
        vec![
            (Channel::IoPub, "status".into()),
            (Channel::IoPub, "execute_input".into()),
            (Channel::IoPub, "stream".into()),
            (Channel::Shell, "execute_reply".into()),
            (Channel::IoPub, "status".into()),
        ]
    );
    assert!(
        out.iter()
            .all(|o| o.message.parent_header.as_ref() == Some(&req.message.header))
    );
    assert_eq!(out[2].message.content.to_json()["text"], "hello\n");
    assert_eq!(out[3].identities, vec![b"peer".to_vec()]);
    assert_eq!(out[3].message.content.to_json()["status"], "ok");
    assert_eq!(out[3].message.content.to_json()["execution_count"], 1);
}

#[test]
fn values_become_execute_results_and_counts_start_at_one() {
    let mut h = harness();
    let out = h.run(&execute("42"));
    let result = find(&out, "execute_result");
    assert_eq!(result.message.content.to_json()["data"]["text/plain"], "42");
    assert_eq!(result.message.content.to_json()["execution_count"], 1);
    let out = h.run(&execute("43"));
    let reply = out
        .iter()
        .find(|o| o.channel == Channel::Shell)
        .expect("reply");
    assert_eq!(reply.message.content.to_json()["execution_count"], 2);
}

#[test]
fn compile_errors_fill_ename_evalue_traceback() {
    let mut h = harness();
    let out = h.run(&execute("bad"));
    let error = find(&out, "error");
    let reply = reply(&out);
    assert_eq!(reply["status"], "error");
    assert_eq!(reply["ename"], "error[E0308]");
    assert_eq!(reply["evalue"], "mismatched types");
    assert_eq!(reply["traceback"][0], "mismatched types\nexpected i32");
    assert_eq!(error.message.content.to_json()["ename"], reply["ename"]);
    // Exactly one output message besides status and execute_input, as jupyter_kernel_test wants.
    let outputs: Vec<_> = out
        .iter()
        .filter(|o| {
            o.channel == Channel::IoPub
                && !matches!(
                    o.message.header.msg_type.as_str(),
                    "status" | "execute_input"
                )
        })
        .collect();
    assert_eq!(outputs.len(), 1);
}

/// The shell replies of `Dispatcher::run` over `requests`, all queued before it starts.
fn shell_replies_of_run(requests: Vec<Inbound>) -> Vec<Value> {
    let Harness {
        dispatcher, out, ..
    } = harness();
    let (tx, rx) = mpsc::channel();
    for request in requests {
        tx.send(request).expect("send");
    }
    drop(tx);
    dispatcher.run(rx);
    out.try_iter()
        .filter(|o| o.channel == Channel::Shell)
        .map(|o| o.message.content.to_json())
        .collect()
}

#[test]
fn stop_on_error_aborts_queued_executions() {
    let replies = shell_replies_of_run(vec![
        execute("bad"),
        execute("1"),
        request(Content::KernelInfoRequest),
    ]);
    assert_eq!(replies[0]["status"], "error");
    assert_eq!(replies[1]["status"], "aborted");
    assert_eq!(replies[2]["status"], "ok");
    assert_eq!(replies[2]["implementation"], "workbench-kernel");
}

#[test]
fn stop_on_error_spares_requests_sent_after_the_error_reply() {
    // A client that reads the error and sends the next cell (nbclient with
    // allow_errors, a test suite) must get that cell run, however the threads interleave.
    let mut later = execute("1");
    later.received = Instant::now() + Duration::from_secs(3600);
    let replies = shell_replies_of_run(vec![execute("bad"), later]);
    assert_eq!(replies[0]["status"], "error");
    assert_eq!(replies[1]["status"], "ok");
}

#[test]
fn silent_executions_broadcast_nothing_and_do_not_count() {
    let mut h = harness();
    let mut req = execute("print quiet");
    if let Content::ExecuteRequest(e) = &mut req.message.content {
        e.silent = true;
    }
    let out = h.run(&req);
    assert_eq!(
        types(&out),
        vec![
            (Channel::IoPub, "status".into()),
            (Channel::Shell, "execute_reply".into()),
            (Channel::IoPub, "status".into())
        ]
    );
    assert_eq!(out[1].message.content.to_json()["execution_count"], 0);
}

#[test]
fn input_requests_go_to_stdin_and_wait_for_the_reply() {
    let mut h = harness();
    h.answers.send("Ada".into()).expect("queue the answer");
    let out = h.run(&execute("ask name?"));
    let ask = out
        .iter()
        .find(|o| o.channel == Channel::Stdin)
        .expect("input_request");
    assert_eq!(
        ask.message.content.to_json(),
        json!({"prompt": "name?", "password": false})
    );
    assert_eq!(ask.identities, vec![b"peer".to_vec()]);
    let result = find(&out, "execute_result");
    assert_eq!(
        result.message.content.to_json()["data"]["text/plain"],
        "Ada"
    );
    let _ = InputReply {
        value: String::new(),
    };
}

#[test]
fn is_complete_complete_inspect() {
    let mut h = harness();
    for (code, status) in [
        ("let x = 1;", "complete"),
        ("fn f() {", "incomplete"),
        ("fn f() }", "invalid"),
    ] {
        let out = h.run(&request(Content::IsCompleteRequest(IsCompleteRequest {
            code: code.into(),
        })));
        assert_eq!(out[1].message.content.to_json()["status"], status, "{code}");
    }
    // Cursor positions are code points: "é" is two bytes.
    let out = h.run(&request(Content::CompleteRequest(CompleteRequest {
        code: "éab".into(),
        cursor_pos: 3,
    })));
    let reply = out[1].message.content.to_json();
    assert_eq!(reply["matches"], json!(["éab_done"]));
    assert_eq!(
        (reply["cursor_start"].clone(), reply["cursor_end"].clone()),
        (json!(0), json!(3))
    );
    let out = h.run(&request(Content::InspectRequest(InspectRequest {
        code: "x + 1".into(),
        cursor_pos: 1,
        detail_level: 0,
    })));
    let reply = out[1].message.content.to_json();
    assert_eq!(reply["found"], true);
    assert_eq!(reply["data"]["text/plain"], "x: i32");
}

#[test]
fn history_tail_range_search() {
    let mut h = harness();
    for code in ["1", "2", "1", "3"] {
        h.run(&execute(code));
    }
    let ask = |h: &mut Harness, req: HistoryRequest| {
        h.run(&request(Content::HistoryRequest(req)))[1]
            .message
            .content
            .to_json()["history"]
            .clone()
    };
    let base = HistoryRequest {
        output: false,
        raw: true,
        hist_access_type: "tail".into(),
        session: None,
        start: None,
        stop: None,
        n: Some(2),
        pattern: None,
        unique: false,
    };
    assert_eq!(ask(&mut h, base.clone()), json!([[1, 3, "1"], [1, 4, "3"]]));
    let with_output = ask(
        &mut h,
        HistoryRequest {
            output: true,
            ..base.clone()
        },
    );
    assert_eq!(with_output[1], json!([1, 4, ["3", "3"]]));
    let range = ask(
        &mut h,
        HistoryRequest {
            hist_access_type: "range".into(),
            session: Some(1),
            start: Some(2),
            stop: Some(3),
            n: None,
            ..base.clone()
        },
    );
    assert_eq!(range, json!([[1, 2, "2"]]));
    let search = HistoryRequest {
        hist_access_type: "search".into(),
        pattern: Some("1*".into()),
        n: None,
        ..base
    };
    assert_eq!(
        ask(&mut h, search.clone()).as_array().expect("rows").len(),
        2
    );
    assert_eq!(
        ask(
            &mut h,
            HistoryRequest {
                unique: true,
                ..search
            }
        )
        .as_array()
        .expect("rows")
        .len(),
        1
    );
}

#[test]
fn comm_info_and_unknown_requests() {
    let mut h = harness();
    let out = h.run(&request(Content::CommInfoRequest(
        kernel_protocol::message::CommInfoRequest { target_name: None },
    )));
    assert_eq!(
        out[1].message.content.to_json(),
        json!({"status": "ok", "comms": {}})
    );
    let out = h.run(&request(Content::Unknown {
        msg_type: "comm_open".into(),
        content: json!({"comm_id": "c1", "target_name": "x", "data": {}}),
    }));
    assert!(out.iter().any(|o| o.message.header.msg_type == "comm_close"
        && o.message.content.to_json()["comm_id"] == "c1"));
}

#[test]
fn display_and_clear_markers_become_display_data_and_clear_output() {
    let mut h = harness();
    let out = h.run(&execute(
        "print WORKBENCH_DISPLAY {\"text/html\": \"<b>hi</b>\"}",
    ));
    let display = find(&out, "display_data");
    assert_eq!(
        display.message.content.to_json()["data"]["text/html"],
        "<b>hi</b>"
    );
    let out = h.run(&execute("print WORKBENCH_CLEAR_OUTPUT"));
    let clear = find(&out, "clear_output");
    assert_eq!(clear.message.content.to_json(), json!({"wait": false}));
    // A marker with broken JSON stays plain text rather than vanishing.
    let out = h.run(&execute("print WORKBENCH_DISPLAY {oops"));
    assert!(out.iter().any(|o| o.message.header.msg_type == "stream"));
}

#[test]
fn help_goes_to_the_pager() {
    let mut h = harness();
    let out = h.run(&execute(":help"));
    assert!(
        !out.iter()
            .any(|o| o.message.header.msg_type == "execute_result")
    );
    let reply = reply(&out);
    assert_eq!(reply["payload"][0]["source"], "page");
    assert_eq!(reply["payload"][0]["data"]["text/plain"], ":help");
}

#[test]
fn an_interrupt_while_a_cell_waits_stops_that_cell_only() {
    let mut h = harness();
    // No request in flight: a stray interrupt must not poison the next cell.
    h.interrupts.interrupt();
    let out = h.run(&execute("1"));
    assert!(
        out.iter()
            .any(|o| o.message.header.msg_type == "execute_result")
    );
    // A queued cell, the evaluator not running it yet: the interrupt stops it.
    h.interrupts.queued();
    h.interrupts.interrupt();
    let out = h.run(&execute("2"));
    let reply = reply(&out);
    assert_eq!(
        (reply["status"].as_str(), reply["ename"].as_str()),
        (Some("error"), Some("Interrupted"))
    );
    let out = h.run(&execute("3"));
    assert!(
        out.iter()
            .any(|o| o.message.header.msg_type == "execute_result")
    );
}

#[test]
fn unit_values_are_not_shown() {
    let mut h = harness();
    let out = h.run(&execute("()"));
    assert!(
        !out.iter()
            .any(|o| o.message.header.msg_type == "execute_result")
    );
    assert_eq!(reply(&out)["status"], "ok");
}

#[test]
fn glob_patterns() {
    assert!(glob("1*", "1 + 1") && glob("*x*", "let x") && glob("a?c", "abc") && glob("*", ""));
    assert!(!glob("1*", "21") && !glob("a?c", "ac"));
}

#[test]
fn runtime_errors_name_what_happened_and_what_is_kept() {
    let panic = error_content(&EvalError::Panicked("index out of bounds".into()));
    assert_eq!(
        (panic.ename.as_str(), panic.evalue.as_str()),
        ("panic", "index out of bounds")
    );
    let returned = error_content(&EvalError::Returned(vec![
        "debug line".into(),
        "unknown table \"x\"".into(),
        String::new(),
    ]));
    assert_eq!(returned.ename, "Error");
    assert_eq!(returned.evalue, "unknown table \"x\"");
    assert_eq!(returned.traceback, vec!["unknown table \"x\"".to_owned()]);
    let interrupted = error_content(&EvalError::Interrupted);
    assert!(interrupted.evalue.contains("earlier cells are kept"));
    let ended = error_content(&EvalError::ChildEnded("signal 9".into()));
    assert!(ended.evalue.contains("variables were lost"));
}
