//! Typed Jupyter messages: header, parent header, metadata, content.
//!
//! Content types mirror the specification's names (`execute_request` ↔
//! [`Content::ExecuteRequest`]). Types we do not handle are kept as
//! [`Content::Unknown`] so that they can be logged and answered, never lost.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::PROTOCOL_VERSION;

/// A message header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Unique id of the message.
    pub msg_id: String,
    /// Session id of the sender.
    pub session: String,
    /// User name of the sender.
    pub username: String,
    /// ISO 8601 time of creation.
    pub date: String,
    /// Message type (`execute_request`, …).
    pub msg_type: String,
    /// Protocol version.
    pub version: String,
}

impl Header {
    /// A new header of `msg_type` for `session`, dated now.
    pub fn new(msg_type: &str, session: &str, username: &str) -> Header {
        Header {
            msg_id: uuid::Uuid::new_v4().to_string(),
            session: session.to_owned(),
            username: username.to_owned(),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            msg_type: msg_type.to_owned(),
            version: PROTOCOL_VERSION.to_owned(),
        }
    }
}

/// A whole message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// This message's header.
    pub header: Header,
    /// The header of the message this one answers, if any.
    pub parent_header: Option<Header>,
    /// Free-form metadata.
    pub metadata: Map<String, Value>,
    /// The typed content.
    pub content: Content,
    /// Binary buffers after the content.
    pub buffers: Vec<Vec<u8>>,
}

impl Message {
    /// A message with no parent (e.g. the kernel's first `status: starting`).
    pub fn new(content: Content, session: &str) -> Message {
        Message {
            header: Header::new(content.msg_type(), session, "kernel"),
            parent_header: None,
            metadata: Map::new(),
            content,
            buffers: Vec::new(),
        }
    }

    /// A message answering (or caused by) `self`: same session, `self` as parent.
    pub fn child(&self, content: Content) -> Message {
        Message {
            header: Header::new(
                content.msg_type(),
                &self.header.session,
                &self.header.username,
            ),
            parent_header: Some(self.header.clone()),
            metadata: Map::new(),
            content,
            buffers: Vec::new(),
        }
    }
}

/// A MIME bundle: MIME type → representation.
pub type MimeBundle = Map<String, Value>;

/// `kernel_info_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelInfoReply {
    /// Always `ok`.
    pub status: String,
    /// Protocol version implemented.
    pub protocol_version: String,
    /// Kernel implementation name.
    pub implementation: String,
    /// Kernel implementation version.
    pub implementation_version: String,
    /// Language details.
    pub language_info: LanguageInfo,
    /// Banner shown by consoles.
    pub banner: String,
    /// Help links for the front end's menu.
    pub help_links: Vec<HelpLink>,
    /// Whether the kernel supports the debugger protocol.
    pub debugger: bool,
}

/// `language_info` of `kernel_info_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageInfo {
    /// Language name.
    pub name: String,
    /// Language version.
    pub version: String,
    /// MIME type of source files.
    pub mimetype: String,
    /// File extension with the dot.
    pub file_extension: String,
    /// Pygments lexer.
    pub pygments_lexer: String,
    /// CodeMirror mode.
    pub codemirror_mode: String,
}

/// A help link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpLink {
    /// Link text.
    pub text: String,
    /// Target URL.
    pub url: String,
}

fn yes() -> bool {
    true
}

/// `execute_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteRequest {
    /// Source code.
    pub code: String,
    /// Run without broadcasting output or counting.
    #[serde(default)]
    pub silent: bool,
    /// Record in history (forced off when silent).
    #[serde(default = "yes")]
    pub store_history: bool,
    /// Expressions to evaluate after the code.
    #[serde(default)]
    pub user_expressions: Map<String, Value>,
    /// Whether the front end can answer `input_request`.
    #[serde(default = "yes")]
    pub allow_stdin: bool,
    /// Abort queued executions after an error.
    #[serde(default = "yes")]
    pub stop_on_error: bool,
}

/// `execute_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ExecuteReply {
    /// Success.
    Ok {
        /// The cell's execution count.
        execution_count: u32,
        /// Results of `user_expressions`.
        user_expressions: Map<String, Value>,
        /// Deprecated payloads (always empty).
        payload: Vec<Value>,
    },
    /// Failure, with the same fields as the iopub `error`.
    Error {
        /// The cell's execution count.
        execution_count: u32,
        /// Exception name.
        ename: String,
        /// Exception value.
        evalue: String,
        /// Traceback lines.
        traceback: Vec<String>,
    },
    /// Not run because an earlier cell failed with `stop_on_error`.
    Aborted {
        /// The execution count at the time.
        execution_count: u32,
    },
}

/// iopub `execute_input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteInput {
    /// Source code.
    pub code: String,
    /// Execution count.
    pub execution_count: u32,
}

/// iopub `execute_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteResult {
    /// Execution count.
    pub execution_count: u32,
    /// Representations.
    pub data: MimeBundle,
    /// Metadata per MIME type.
    pub metadata: Map<String, Value>,
}

/// iopub `display_data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisplayData {
    /// Representations.
    pub data: MimeBundle,
    /// Metadata per MIME type.
    pub metadata: Map<String, Value>,
    /// Transient data such as `display_id`.
    #[serde(default)]
    pub transient: Map<String, Value>,
}

/// iopub `stream`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// `stdout` or `stderr`.
    pub name: String,
    /// Text.
    pub text: String,
}

/// iopub `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorContent {
    /// Exception name.
    pub ename: String,
    /// Exception value.
    pub evalue: String,
    /// Traceback lines (ANSI colours allowed).
    pub traceback: Vec<String>,
}

/// iopub `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `starting`, `busy` or `idle`.
    pub execution_state: String,
}

/// iopub `clear_output`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearOutput {
    /// Wait for new output before clearing.
    pub wait: bool,
}

/// `is_complete_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsCompleteRequest {
    /// Source code.
    pub code: String,
}

/// `is_complete_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsCompleteReply {
    /// `complete`, `incomplete`, `invalid` or `unknown`.
    pub status: String,
    /// Indentation for the next line, when incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indent: Option<String>,
}

/// `complete_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// Source code.
    pub code: String,
    /// Cursor position in Unicode code points.
    pub cursor_pos: usize,
}

/// `complete_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteReply {
    /// Always `ok`.
    pub status: String,
    /// Completions.
    pub matches: Vec<String>,
    /// Start of the replaced range.
    pub cursor_start: usize,
    /// End of the replaced range.
    pub cursor_end: usize,
    /// Extra information.
    pub metadata: Map<String, Value>,
}

/// `inspect_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectRequest {
    /// Source code.
    pub code: String,
    /// Cursor position in Unicode code points.
    pub cursor_pos: usize,
    /// 0 or 1.
    #[serde(default)]
    pub detail_level: u8,
}

/// `inspect_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectReply {
    /// Always `ok`.
    pub status: String,
    /// Whether something was found.
    pub found: bool,
    /// Representations of what was found.
    pub data: MimeBundle,
    /// Metadata.
    pub metadata: Map<String, Value>,
}

/// `history_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRequest {
    /// Include outputs.
    #[serde(default)]
    pub output: bool,
    /// Raw input.
    #[serde(default)]
    pub raw: bool,
    /// `range`, `tail` or `search`.
    pub hist_access_type: String,
    /// Session number for `range`.
    #[serde(default)]
    pub session: Option<i64>,
    /// First line for `range`.
    #[serde(default)]
    pub start: Option<i64>,
    /// Line after the last for `range`.
    #[serde(default)]
    pub stop: Option<i64>,
    /// Count for `tail` and `search`.
    #[serde(default)]
    pub n: Option<usize>,
    /// Glob pattern for `search`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Drop duplicates for `search`.
    #[serde(default)]
    pub unique: bool,
}

/// `history_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryReply {
    /// Always `ok`.
    pub status: String,
    /// `(session, line_number, input)` or `(session, line_number, (input, output))`.
    pub history: Vec<Value>,
}

/// `comm_info_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommInfoRequest {
    /// Only comms with this target.
    #[serde(default)]
    pub target_name: Option<String>,
}

/// `comm_info_reply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommInfoReply {
    /// Always `ok`.
    pub status: String,
    /// Open comms by id.
    pub comms: Map<String, Value>,
}

/// `shutdown_request` and `shutdown_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    /// `ok` in replies; absent in requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Restart after shutting down.
    pub restart: bool,
}

/// `interrupt_reply` and other replies with only a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusOnly {
    /// `ok` or `error`.
    pub status: String,
}

/// stdin `input_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRequest {
    /// Prompt text.
    pub prompt: String,
    /// Hide the typed text.
    pub password: bool,
}

/// stdin `input_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputReply {
    /// The typed text.
    pub value: String,
}

/// The content of a message, typed by its `msg_type`.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// `kernel_info_request`.
    KernelInfoRequest,
    /// `kernel_info_reply`.
    KernelInfoReply(Box<KernelInfoReply>),
    /// `execute_request`.
    ExecuteRequest(ExecuteRequest),
    /// `execute_reply`.
    ExecuteReply(ExecuteReply),
    /// `execute_input`.
    ExecuteInput(ExecuteInput),
    /// `execute_result`.
    ExecuteResult(ExecuteResult),
    /// `display_data`.
    DisplayData(DisplayData),
    /// `stream`.
    Stream(Stream),
    /// `error`.
    Error(ErrorContent),
    /// `status`.
    Status(Status),
    /// `clear_output`.
    ClearOutput(ClearOutput),
    /// `is_complete_request`.
    IsCompleteRequest(IsCompleteRequest),
    /// `is_complete_reply`.
    IsCompleteReply(IsCompleteReply),
    /// `complete_request`.
    CompleteRequest(CompleteRequest),
    /// `complete_reply`.
    CompleteReply(CompleteReply),
    /// `inspect_request`.
    InspectRequest(InspectRequest),
    /// `inspect_reply`.
    InspectReply(InspectReply),
    /// `history_request`.
    HistoryRequest(HistoryRequest),
    /// `history_reply`.
    HistoryReply(HistoryReply),
    /// `comm_info_request`.
    CommInfoRequest(CommInfoRequest),
    /// `comm_info_reply`.
    CommInfoReply(CommInfoReply),
    /// `interrupt_request`.
    InterruptRequest,
    /// `interrupt_reply`.
    InterruptReply(StatusOnly),
    /// `shutdown_request`.
    ShutdownRequest(Shutdown),
    /// `shutdown_reply`.
    ShutdownReply(Shutdown),
    /// `input_request`.
    InputRequest(InputRequest),
    /// `input_reply`.
    InputReply(InputReply),
    /// Any other type, kept as JSON.
    Unknown {
        /// The message type.
        msg_type: String,
        /// The content.
        content: Value,
    },
}

macro_rules! content_table {
    ($( $name:literal => $variant:ident $( ( $ty:ty ) )? ),+ $(,)?) => {
        impl Content {
            /// The message type of this content.
            pub fn msg_type(&self) -> &str {
                match self {
                    $( content_table!(@pattern $variant $( $ty )?) => $name, )+
                    Content::Unknown { msg_type, .. } => msg_type,
                }
            }

            /// Parses the content of a message of type `msg_type`.
            ///
            /// # Errors
            ///
            /// The JSON does not have the fields the type requires.
            pub fn from_json(msg_type: &str, value: Value) -> Result<Content, serde_json::Error> {
                Ok(match msg_type {
                    $( $name => content_table!(@parse value $variant $( $ty )?), )+
                    other => Content::Unknown { msg_type: other.to_owned(), content: value },
                })
            }

            /// The content as JSON.
            pub fn to_json(&self) -> Value {
                match self {
                    $( content_table!(@bind inner $variant $( $ty )?) => content_table!(@json inner $( $ty )?), )+
                    Content::Unknown { content, .. } => content.clone(),
                }
            }
        }
    };
    (@pattern $variant:ident $ty:ty) => { Content::$variant(_) };
    (@pattern $variant:ident) => { Content::$variant };
    (@parse $value:ident $variant:ident $ty:ty) => { Content::$variant(serde_json::from_value::<$ty>($value)?.into()) };
    (@parse $value:ident $variant:ident) => { Content::$variant };
    (@bind $inner:ident $variant:ident $ty:ty) => { Content::$variant($inner) };
    (@bind $inner:ident $variant:ident) => { Content::$variant };
    (@json $inner:ident $ty:ty) => { serde_json::to_value($inner).expect("protocol types serialise") };
    (@json $inner:ident) => { Value::Object(Map::new()) };
}

content_table! {
    "kernel_info_request" => KernelInfoRequest,
    "kernel_info_reply" => KernelInfoReply(KernelInfoReply),
    "execute_request" => ExecuteRequest(ExecuteRequest),
    "execute_reply" => ExecuteReply(ExecuteReply),
    "execute_input" => ExecuteInput(ExecuteInput),
    "execute_result" => ExecuteResult(ExecuteResult),
    "display_data" => DisplayData(DisplayData),
    "stream" => Stream(Stream),
    "error" => Error(ErrorContent),
    "status" => Status(Status),
    "clear_output" => ClearOutput(ClearOutput),
    "is_complete_request" => IsCompleteRequest(IsCompleteRequest),
    "is_complete_reply" => IsCompleteReply(IsCompleteReply),
    "complete_request" => CompleteRequest(CompleteRequest),
    "complete_reply" => CompleteReply(CompleteReply),
    "inspect_request" => InspectRequest(InspectRequest),
    "inspect_reply" => InspectReply(InspectReply),
    "history_request" => HistoryRequest(HistoryRequest),
    "history_reply" => HistoryReply(HistoryReply),
    "comm_info_request" => CommInfoRequest(CommInfoRequest),
    "comm_info_reply" => CommInfoReply(CommInfoReply),
    "interrupt_request" => InterruptRequest,
    "interrupt_reply" => InterruptReply(StatusOnly),
    "shutdown_request" => ShutdownRequest(Shutdown),
    "shutdown_reply" => ShutdownReply(Shutdown),
    "input_request" => InputRequest(InputRequest),
    "input_reply" => InputReply(InputReply),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn execute_request_defaults_follow_the_spec() {
        let content = Content::from_json("execute_request", json!({"code": "1+1"})).expect("valid");
        let Content::ExecuteRequest(request) = content else {
            panic!("typed as execute_request");
        };
        assert!(
            !request.silent
                && request.store_history
                && request.allow_stdin
                && request.stop_on_error
        );
    }

    #[test]
    fn execute_reply_serialises_with_status_tag() {
        let ok = Content::ExecuteReply(ExecuteReply::Ok {
            execution_count: 1,
            user_expressions: Map::new(),
            payload: vec![],
        });
        assert_eq!(
            ok.to_json(),
            json!({"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []})
        );
        let error = Content::ExecuteReply(ExecuteReply::Error {
            execution_count: 2,
            ename: "E0308".into(),
            evalue: "mismatched types".into(),
            traceback: vec!["error[E0308]: mismatched types".into()],
        });
        assert_eq!(error.to_json()["status"], "error");
        assert_eq!(error.to_json()["ename"], "E0308");
        assert_eq!(error.msg_type(), "execute_reply");
    }

    #[test]
    fn unknown_types_are_kept() {
        let content = Content::from_json("debug_request", json!({"seq": 1})).expect("kept");
        assert_eq!(content.msg_type(), "debug_request");
        assert_eq!(content.to_json(), json!({"seq": 1}));
    }

    #[test]
    fn empty_requests_round_trip() {
        for msg_type in ["kernel_info_request", "interrupt_request"] {
            let content = Content::from_json(msg_type, json!({})).expect("valid");
            assert_eq!(content.msg_type(), msg_type);
            assert_eq!(content.to_json(), json!({}));
        }
    }

    #[test]
    fn missing_required_field_is_an_error() {
        assert!(Content::from_json("complete_request", json!({"code": "x"})).is_err());
    }

    #[test]
    fn child_messages_carry_the_parent() {
        let request = Message::new(Content::KernelInfoRequest, "s1");
        let reply = request.child(Content::InterruptReply(StatusOnly {
            status: "ok".into(),
        }));
        assert_eq!(reply.parent_header.as_ref(), Some(&request.header));
        assert_eq!(reply.header.session, "s1");
        assert_eq!(reply.header.msg_type, "interrupt_reply");
        assert_ne!(reply.header.msg_id, request.header.msg_id);
    }
}
