//! The multipart wire format: routing identities, delimiter, signature, four JSON
//! parts, buffers.

use serde_json::{Map, Value};

use crate::message::{Content, Header, Message};
use crate::signature::Key;

/// The frame that separates routing identities from the message.
pub const DELIMITER: &[u8] = b"<IDS|MSG>";

/// Why incoming frames are not a message we may act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `<IDS|MSG>` frame.
    #[error("no <IDS|MSG> delimiter among {0} frames")]
    MissingDelimiter(usize),
    /// Fewer than signature + four JSON parts after the delimiter.
    #[error("expected signature and 4 JSON frames after the delimiter, got {0}")]
    TooFewFrames(usize),
    /// The HMAC does not match: the message must be dropped, never executed.
    #[error("invalid message signature")]
    BadSignature,
    /// A JSON part does not parse.
    #[error("invalid JSON in the {part}")]
    Json {
        /// `header`, `parent_header`, `metadata` or `content`.
        part: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The content does not match its `msg_type`.
    #[error("invalid content for {msg_type}")]
    Content {
        /// The message type.
        msg_type: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// A decoded message and the routing identities to answer it with.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// ZeroMQ routing identities (ROUTER sockets).
    pub identities: Vec<Vec<u8>>,
    /// The message.
    pub message: Message,
}

/// Decodes `frames`, verifying the signature before parsing anything else.
///
/// # Errors
///
/// A missing delimiter, too few frames, a bad signature, or malformed JSON.
pub fn decode<F: AsRef<[u8]>>(frames: &[F], key: &Key) -> Result<Received, Error> {
    let delimiter = frames
        .iter()
        .position(|f| f.as_ref() == DELIMITER)
        .ok_or(Error::MissingDelimiter(frames.len()))?;
    let rest = &frames[delimiter + 1..];
    if rest.len() < 5 {
        return Err(Error::TooFewFrames(rest.len()));
    }
    let parts = [
        rest[1].as_ref(),
        rest[2].as_ref(),
        rest[3].as_ref(),
        rest[4].as_ref(),
    ];
    // Check the signature first: nothing from an unsigned message is interpreted.
    if !key.verify(rest[0].as_ref(), parts) {
        return Err(Error::BadSignature);
    }
    let header: Header = serde_json::from_slice(parts[0]).map_err(|source| Error::Json {
        part: "header",
        source,
    })?;
    let parent: Value = serde_json::from_slice(parts[1]).map_err(|source| Error::Json {
        part: "parent_header",
        source,
    })?;
    // An empty object means "no parent".
    let parent_header = match parent {
        Value::Object(ref map) if map.is_empty() => None,
        other => Some(serde_json::from_value(other).map_err(|source| Error::Json {
            part: "parent_header",
            source,
        })?),
    };
    let metadata: Map<String, Value> =
        serde_json::from_slice(parts[2]).map_err(|source| Error::Json {
            part: "metadata",
            source,
        })?;
    let content_json: Value = serde_json::from_slice(parts[3]).map_err(|source| Error::Json {
        part: "content",
        source,
    })?;
    let content =
        Content::from_json(&header.msg_type, content_json).map_err(|source| Error::Content {
            msg_type: header.msg_type.clone(),
            source,
        })?;
    Ok(Received {
        identities: frames[..delimiter]
            .iter()
            .map(|f| f.as_ref().to_vec())
            .collect(),
        message: Message {
            header,
            parent_header,
            metadata,
            content,
            buffers: rest[5..].iter().map(|b| b.as_ref().to_vec()).collect(),
        },
    })
}

/// Encodes `message` for the wire, signed with `key`, behind `identities`.
pub fn encode(identities: &[Vec<u8>], message: &Message, key: &Key) -> Vec<Vec<u8>> {
    let header = serde_json::to_vec(&message.header).expect("headers serialise");
    let parent = match &message.parent_header {
        Some(parent) => serde_json::to_vec(parent).expect("headers serialise"),
        None => b"{}".to_vec(),
    };
    let metadata = serde_json::to_vec(&message.metadata).expect("maps serialise");
    let content = serde_json::to_vec(&message.content.to_json()).expect("JSON values serialise");
    let signature = key.sign([&header, &parent, &metadata, &content]);
    let mut frames = Vec::with_capacity(identities.len() + 6 + message.buffers.len());
    frames.extend(identities.iter().cloned());
    frames.push(DELIMITER.to_vec());
    frames.push(signature.into_bytes());
    frames.extend([header, parent, metadata, content]);
    frames.extend(message.buffers.iter().cloned());
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ExecuteRequest, Stream};

    fn key() -> Key {
        Key::new("a0b1c2", "hmac-sha256").expect("scheme")
    }

    fn request() -> Message {
        Message::new(
            Content::ExecuteRequest(ExecuteRequest {
                code: "println!(\"hi\");".into(),
                silent: false,
                store_history: true,
                user_expressions: Map::new(),
                allow_stdin: true,
                stop_on_error: true,
            }),
            "session-1",
        )
    }

    #[test]
    fn round_trip_keeps_identities_and_content() {
        let frames = encode(&[b"client-7".to_vec()], &request(), &key());
        let received = decode(&frames, &key()).expect("decodes");
        assert_eq!(received.identities, vec![b"client-7".to_vec()]);
        assert_eq!(
            received.message,
            request_with_header(&received.message.header)
        );
    }

    fn request_with_header(header: &Header) -> Message {
        let mut m = request();
        m.header = header.clone();
        m
    }

    #[test]
    fn bad_signature_is_rejected_before_parsing() {
        let mut frames = encode(&[], &request(), &key());
        let last = frames.len() - 1;
        frames[last] = br#"{"code":"std::process::exit(1)"}"#.to_vec();
        assert!(matches!(decode(&frames, &key()), Err(Error::BadSignature)));
        // Even garbage JSON is never parsed when the signature is wrong.
        frames[last] = b"not json".to_vec();
        assert!(matches!(decode(&frames, &key()), Err(Error::BadSignature)));
        let other = Key::new("other", "hmac-sha256").expect("scheme");
        assert!(matches!(
            decode(&encode(&[], &request(), &other), &key()),
            Err(Error::BadSignature)
        ));
    }

    #[test]
    fn framing_errors() {
        assert!(matches!(
            decode(&[b"x".to_vec()], &key()),
            Err(Error::MissingDelimiter(1))
        ));
        assert!(matches!(
            decode(&[DELIMITER.to_vec(), b"sig".to_vec()], &key()),
            Err(Error::TooFewFrames(1))
        ));
    }

    #[test]
    fn content_must_match_its_type() {
        let unsigned = Key::new("", "hmac-sha256").expect("scheme");
        let mut frames = encode(&[], &request(), &unsigned);
        let last = frames.len() - 1;
        frames[last] = br#"{"silent": true}"#.to_vec();
        assert!(matches!(
            decode(&frames, &unsigned),
            Err(Error::Content { .. })
        ));
    }

    #[test]
    fn replies_have_parent_and_buffers_survive() {
        let parent = request();
        let mut reply = parent.child(Content::Stream(Stream {
            name: "stdout".into(),
            text: "hi\n".into(),
        }));
        reply.buffers = vec![vec![1, 2, 3]];
        let frames = encode(&[], &reply, &key());
        assert_eq!(frames[0], DELIMITER);
        let decoded = decode(&frames, &key()).expect("decodes").message;
        assert_eq!(decoded.parent_header.as_ref(), Some(&parent.header));
        assert_eq!(decoded.buffers, vec![vec![1, 2, 3]]);
        // Frames: delimiter, signature, header, parent header, metadata, content.
        let request_frames = encode(&[], &parent, &key());
        let header_json: Value = serde_json::from_slice(&request_frames[2]).expect("json");
        assert_eq!(header_json["msg_type"], "execute_request");
        assert_eq!(
            request_frames[3], b"{}",
            "no parent encodes as an empty object"
        );
    }
}
