//! The audit events the enclave and the export channel record (R18), built in one place
//! so that every writer uses the same fields.
//!
//! The governance commands write their own events (logins, changes, decisions); the
//! enclave records sessions, data views, executed cells and aggregate queries, the export
//! channel its requests and reviews, each through [`crate::store::Store::apply`] with
//! [`crate::store::Change::None`].

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Decision;

/// The sha256 of a cell's code, as lowercase hex: the audit keeps the hash, not the code.
pub fn code_sha256(code: &str) -> String {
    sha256_hex(code.as_bytes())
}

/// The sha256 of `bytes` as lowercase hex (cells' code, frozen export objects).
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// `bytes` as lowercase hex (hashes, signatures, objects passed through a text line).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of `text` read as hex; `None` when it is not (odd length, other characters).
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// A session opened or closed (`action`: `start` or `stop`).
pub fn session(user: &str, project: &str, session: &str, action: &str) -> Value {
    json!({"kind": "session", "action": action, "user": user, "project": project, "session": session})
}

/// A data view made for a session: the table and how many rows and cases it shows.
pub fn data_view(user: &str, project: &str, table: &str, rows: u64, cases: u64) -> Value {
    json!({"kind": "data-view", "user": user, "project": project, "table": table, "rows": rows, "cases": cases})
}

/// An executed cell: who, in which project, the hash of its code.
pub fn cell(user: &str, project: &str, session: &str, code: &str) -> Value {
    cell_hashed(user, project, session, &code_sha256(code), code.len())
}

/// [`cell`] from the hash and length of the code (what the governance service receives).
pub fn cell_hashed(user: &str, project: &str, session: &str, sha256: &str, bytes: usize) -> Value {
    json!({"kind": "cell", "user": user, "project": project, "session": session,
           "code_sha256": sha256, "code_bytes": bytes})
}

/// An aggregate query and the decision on it.
pub fn aggregate(user: &str, project: &str, what: &str, decision: &Decision) -> Value {
    json!({"kind": "aggregate", "user": user, "project": project, "what": what, "decision": decision})
}

/// An export request: the files' hashes and the decision of the automatic checks.
pub fn export_request(
    user: &str,
    project: &str,
    request: &str,
    files: &[(String, String)],
    decision: &Decision,
) -> Value {
    let files: Vec<Value> = files
        .iter()
        .map(|(name, sha256)| json!({"name": name, "sha256": sha256}))
        .collect();
    json!({"kind": "export-request", "user": user, "project": project, "request": request,
           "files": files, "decision": decision})
}

/// A committee member's review of an export request.
pub fn review(reviewer: &str, request: &str, decision: &Decision) -> Value {
    json!({"kind": "review", "reviewer": reviewer, "request": request, "decision": decision})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_recorded_by_the_sha256_of_their_code() {
        // FIPS 180-2's "abc" vector.
        assert_eq!(
            code_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let event = cell("ana", "p", "s1", "abc");
        assert_eq!(event["code_sha256"], code_sha256("abc"));
        assert!(
            event.get("code").is_none(),
            "the code itself is not in the chain"
        );
    }
}
