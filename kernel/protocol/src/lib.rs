//! The Jupyter messaging protocol (5.3): typed messages, HMAC-SHA256 signing and the
//! multipart wire format. Bytes in, types out: this crate opens no sockets, so every
//! rule of the protocol is tested on byte vectors.
//!
//! A message on the wire is `identities…, "<IDS|MSG>", signature, header,
//! parent_header, metadata, content, buffers…`; the signature is the hex HMAC of the
//! four JSON parts under the connection file's key.

pub mod message;
pub mod signature;
pub mod wire;

pub use message::{Content, Header, Message};
pub use signature::Key;
pub use wire::{Error, decode, encode};

/// The protocol version we implement.
pub const PROTOCOL_VERSION: &str = "5.3";
