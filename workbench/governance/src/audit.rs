//! The audit chain (R18): `DIR/audit.jsonl`, append-only, each record chained to the one
//! before by a keyed hash.
//!
//! A record is one JSON line `{"seq":…,"id":…,"time":…,"prev":…,"event":{…},"mac":…}`:
//! `seq` counts from 1, `prev` is the previous record's `mac` (64 zeros for the first),
//! and `mac` is HMAC-SHA256, under the store's key (`DIR/audit.key`, readable by the
//! governance service only), of the line's bytes up to `"mac"` closed by `}`. Changing a
//! byte breaks that line's mac; removing, swapping or inserting lines breaks `seq` or
//! `prev`; a line written by hand cannot carry a valid mac without the key; cutting
//! lines off the end is caught against the head the store keeps in SQLite.
//!
//! Writers take an exclusive `flock` on `DIR/audit.lock`, so concurrent processes append
//! one whole line at a time, each `fsync`ed before the writer goes on.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The chain's file name in the store directory.
pub const FILE: &str = "audit.jsonl";
/// The key's file name in the store directory.
pub const KEY: &str = "audit.key";
const LOCK: &str = "audit.lock";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The longest record read back (events are small; a longer line is damage).
const MAX_RECORD: u64 = 1 << 20;
/// `,"mac":"` + 64 hex digits + `"}`.
const MAC_SUFFIX_LEN: usize = 8 + 64 + 2;

/// Errors of the chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file is not what `init` wrote.
    #[error("{0}: the audit key must be 32 bytes written by `workbench governance init`")]
    Key(PathBuf),
    /// The last record cannot be read back, so nothing can be chained to it.
    #[error("{path}: the last record is damaged ({why}); run `workbench audit verify`")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The chain of one store directory.
#[derive(Clone)]
pub struct Chain {
    dir: PathBuf,
    key: [u8; 32],
}

/// The last record of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its sequence number.
    pub seq: u64,
    /// Its mac.
    pub mac: String,
    /// Its id.
    pub id: String,
}

impl Chain {
    /// Writes a new random key (mode 0600) into `dir`; fails if one exists.
    pub fn create_key(dir: &Path) -> Result<(), Error> {
        let path = dir.join(KEY);
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(&key).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        Ok(())
    }

    /// Opens the chain of `dir` (its key must exist).
    pub fn open(dir: &Path) -> Result<Chain, Error> {
        let path = dir.join(KEY);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| Error::Key(path.clone()))?;
        Ok(Chain {
            dir: dir.to_owned(),
            key,
        })
    }

    /// The chain file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Takes the writers' lock; it is released when the guard drops.
    pub fn lock(&self) -> Result<Guard<'_>, Error> {
        let path = self.dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(&path)(e.into()))?;
        Ok(Guard {
            chain: self,
            _lock: lock,
        })
    }

    fn mac(&self, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("any key");
        mac.update(body);
        hex(&mac.finalize().into_bytes())
    }
}

/// The writers' lock, held: appends go through it.
pub struct Guard<'a> {
    chain: &'a Chain,
    _lock: File,
}

#[derive(Serialize)]
struct Body<'a, E: Serialize> {
    seq: u64,
    id: &'a str,
    time: &'a str,
    prev: &'a str,
    event: &'a E,
}

impl Guard<'_> {
    /// The last whole record. With `cut_partial` (the store has an event whose append
    /// was never acknowledged), a partial last line, which only a writer killed mid-write
    /// leaves, is cut off first; without it, a partial line is damage.
    pub fn head(&mut self, cut_partial: bool) -> Result<Option<Head>, Error> {
        let path = self.chain.path();
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let mut len = file.metadata().map_err(io(&path))?.len();
        // Read backwards until the start of the last whole line is in view.
        let mut chunk = 4096u64;
        loop {
            if len == 0 {
                return Ok(None);
            }
            let from = len.saturating_sub(chunk);
            file.seek(SeekFrom::Start(from)).map_err(io(&path))?;
            let mut tail = Vec::new();
            (&mut file)
                .take(len - from)
                .read_to_end(&mut tail)
                .map_err(io(&path))?;
            if chunk > MAX_RECORD {
                return Err(Error::Damaged {
                    path: path.clone(),
                    why: format!("the last record is longer than {MAX_RECORD} bytes"),
                });
            }
            if tail.last() != Some(&b'\n') {
                if !cut_partial {
                    return Err(Error::Damaged {
                        path: path.clone(),
                        why: "the last line has no end, and no write was pending".into(),
                    });
                }
                // A partial last line: cut it off, then look again.
                match tail.iter().rposition(|&b| b == b'\n') {
                    Some(end) => len = from + end as u64 + 1,
                    None if from == 0 => len = 0,
                    None => {
                        chunk *= 2;
                        continue;
                    }
                }
                file.set_len(len).map_err(io(&path))?;
                file.sync_all().map_err(io(&path))?;
                continue;
            }
            let body = &tail[..tail.len() - 1];
            let start = match body.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None if from == 0 => 0,
                None => {
                    chunk *= 2;
                    continue;
                }
            };
            return parse_head(&body[start..])
                .map(Some)
                .map_err(|why| Error::Damaged {
                    path: path.clone(),
                    why,
                });
        }
    }

    /// Appends `event` with `id` and `time` after `head`, `fsync`s, and returns the new
    /// head.
    pub fn append<E: Serialize>(
        &mut self,
        head: Option<&Head>,
        id: &str,
        time: &str,
        event: &E,
    ) -> Result<Head, Error> {
        let path = self.chain.path();
        let seq = head.map_or(1, |h| h.seq + 1);
        let prev = head.map_or(GENESIS, |h| h.mac.as_str());
        let body = serde_json::to_vec(&Body {
            seq,
            id,
            time,
            prev,
            event,
        })
        .map_err(|e| io(&path)(e.into()))?;
        let mac = self.chain.mac(&body);
        let mut line = body;
        line.pop(); // the closing brace, put back after the mac
        line.extend_from_slice(format!(",\"mac\":\"{mac}\"}}\n").as_bytes());
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        if created {
            // The new file's name must survive a crash as well as its bytes.
            File::open(&self.chain.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.chain.dir))?;
        }
        // One write: a crash leaves a whole line or a partial one that `head` cuts off.
        file.write_all(&line).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        Ok(Head {
            seq,
            mac,
            id: id.to_owned(),
        })
    }
}

fn parse_head(line: &[u8]) -> Result<Head, String> {
    #[derive(serde::Deserialize)]
    struct Fields {
        seq: u64,
        id: String,
        mac: String,
    }
    let fields: Fields = serde_json::from_slice(line).map_err(|e| format!("not a record: {e}"))?;
    Ok(Head {
        seq: fields.seq,
        mac: fields.mac,
        id: fields.id,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether the whole chain holds.
    pub ok: bool,
    /// The first line that breaks it (1-based).
    pub first_bad_line: Option<u64>,
    /// Records read.
    pub records: u64,
    /// What is wrong, when not ok.
    pub reason: Option<String>,
}

/// Verifies the chain line by line, and its length against `head` (the last record the
/// store knows was written; the chain may be longer, never shorter). With `pending` (the
/// store holds an event whose append was not acknowledged), a partial last line is the
/// trace of a writer killed mid-write, not damage. Reads the file, changes nothing.
pub fn verify(chain: &Chain, head: Option<&Head>, pending: bool) -> Result<Report, Error> {
    let path = chain.path();
    let file = match File::open(&path) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&path)(e)),
    };
    let bad = |line: u64, records: u64, why: String| Report {
        ok: false,
        first_bad_line: Some(line),
        records,
        reason: Some(why),
    };
    let mut prev = GENESIS.to_owned();
    let mut head_mac: Option<String> = None;
    let mut n = 0u64;
    if let Some(file) = file {
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_RECORD + 1)
                .read_until(b'\n', &mut line)
                .map_err(io(&path))?;
            if read == 0 {
                break;
            }
            let line_no = n + 1;
            if line.last() != Some(&b'\n') {
                if line.len() as u64 > MAX_RECORD {
                    return Ok(bad(line_no, n, format!("longer than {MAX_RECORD} bytes")));
                }
                if pending {
                    // A killed writer's unacknowledged line; the next writer cuts it.
                    break;
                }
                return Ok(bad(line_no, n, "the last line has no end".into()));
            }
            line.pop();
            if let Err(why) = check_line(chain, &line, line_no, &prev) {
                return Ok(bad(line_no, n, why));
            }
            prev = String::from_utf8_lossy(&line[line.len() - MAC_SUFFIX_LEN + 8..line.len() - 2])
                .into_owned();
            if head.is_some_and(|h| h.seq == line_no) {
                head_mac = Some(prev.clone());
            }
            n = line_no;
        }
    }
    if let Some(head) = head {
        if head.seq > n {
            return Ok(bad(
                n + 1,
                n,
                format!(
                    "the store recorded {} records and the chain holds {n}: records were removed from its end",
                    head.seq
                ),
            ));
        }
        if head_mac.as_deref() != Some(head.mac.as_str()) {
            return Ok(bad(
                head.seq,
                n,
                "the record the store recorded as written is not this one".into(),
            ));
        }
    }
    Ok(Report {
        ok: true,
        first_bad_line: None,
        records: n,
        reason: None,
    })
}

/// Checks one line (without its newline): its mac, its number and its link to `prev`.
fn check_line(chain: &Chain, line: &[u8], line_no: u64, prev: &str) -> Result<(), String> {
    let Some(split) = line.len().checked_sub(MAC_SUFFIX_LEN) else {
        return Err("too short to be a record".into());
    };
    let (body, suffix) = line.split_at(split);
    let Some(mac) = suffix
        .strip_prefix(b",\"mac\":\"")
        .and_then(|s| s.strip_suffix(b"\"}"))
    else {
        return Err("the record does not end with its mac".into());
    };
    let mut body = body.to_vec();
    body.push(b'}');
    if chain.mac(&body).as_bytes() != mac {
        return Err("the record's mac does not match its bytes".into());
    }
    #[derive(serde::Deserialize)]
    struct Fields {
        seq: u64,
        prev: String,
    }
    let fields: Fields = serde_json::from_slice(&body).map_err(|e| format!("not a record: {e}"))?;
    if fields.seq != line_no {
        return Err(format!(
            "sequence number {} where {line_no} belongs",
            fields.seq
        ));
    }
    if fields.prev != prev {
        return Err("not chained to the record before it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_with(n: u64) -> (tempfile::TempDir, Chain, Head) {
        let dir = tempfile::tempdir().expect("tempdir");
        Chain::create_key(dir.path()).expect("key");
        let chain = Chain::open(dir.path()).expect("open");
        let mut head = None;
        {
            let mut guard = chain.lock().expect("lock");
            for i in 0..n {
                let event = serde_json::json!({"kind": "test", "i": i});
                head = Some(
                    guard
                        .append(
                            head.as_ref(),
                            &format!("id-{i}"),
                            "2026-12-03T00:00:00Z",
                            &event,
                        )
                        .expect("append"),
                );
            }
        }
        (dir, chain, head.expect("records"))
    }

    fn lines(chain: &Chain) -> Vec<String> {
        std::fs::read_to_string(chain.path())
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write(chain: &Chain, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(chain.path(), text).expect("write");
    }

    #[test]
    fn an_untouched_chain_verifies_and_its_head_reads_back() {
        let (_dir, chain, head) = chain_with(5);
        let report = verify(&chain, Some(&head), false).expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.records, 5);
        assert_eq!(
            chain.lock().expect("lock").head(false).expect("head"),
            Some(head)
        );
    }

    #[test]
    fn a_partial_last_line_is_cut_before_the_next_append() {
        let (_dir, chain, head) = chain_with(3);
        let mut file = OpenOptions::new()
            .append(true)
            .open(chain.path())
            .expect("open");
        file.write_all(b"{\"seq\":4,\"id\":\"x\"").expect("write");
        assert_eq!(
            verify(&chain, Some(&head), false)
                .expect("v")
                .first_bad_line,
            Some(4)
        );
        assert!(
            verify(&chain, Some(&head), true).expect("v").ok,
            "a pending write explains it"
        );
        let mut guard = chain.lock().expect("lock");
        assert!(
            guard.head(false).is_err(),
            "no pending write: damage, not cut"
        );
        assert_eq!(guard.head(true).expect("head"), Some(head));
        drop(guard);
        assert!(verify(&chain, None, false).expect("v").ok);
    }

    #[test]
    fn every_kind_of_tampering_names_its_line() {
        let (_dir, chain, head) = chain_with(6);
        let original = lines(&chain);

        // One byte changed.
        let mut changed = original.clone();
        changed[2] = changed[2].replacen("\"i\":2", "\"i\":7", 1);
        write(&chain, &changed);
        assert_eq!(
            verify(&chain, Some(&head), false)
                .expect("v")
                .first_bad_line,
            Some(3)
        );

        // A line removed in the middle, and at the end.
        let mut removed = original.clone();
        removed.remove(3);
        write(&chain, &removed);
        assert_eq!(
            verify(&chain, Some(&head), false)
                .expect("v")
                .first_bad_line,
            Some(4)
        );
        write(&chain, &original[..5]);
        assert_eq!(
            verify(&chain, Some(&head), false)
                .expect("v")
                .first_bad_line,
            Some(6)
        );

        // Two lines swapped.
        let mut swapped = original.clone();
        swapped.swap(1, 2);
        write(&chain, &swapped);
        assert_eq!(
            verify(&chain, Some(&head), false)
                .expect("v")
                .first_bad_line,
            Some(2)
        );

        // A line appended by hand, copying the format with a plain sha256.
        let mut appended = original.clone();
        let last_mac = &original[5][original[5].len() - 66..original[5].len() - 2];
        appended.push(format!(
            "{{\"seq\":7,\"id\":\"forged\",\"time\":\"2026-12-03T00:00:00Z\",\"prev\":\"{last_mac}\",\"event\":{{}},\"mac\":\"{}\"}}",
            "ab".repeat(32)
        ));
        write(&chain, &appended);
        assert_eq!(
            verify(&chain, Some(&head), false)
                .expect("v")
                .first_bad_line,
            Some(7)
        );

        write(&chain, &original);
        assert!(verify(&chain, Some(&head), false).expect("v").ok);
    }

    #[test]
    fn concurrent_writers_make_one_chain() {
        let (_dir, chain, _) = chain_with(1);
        std::thread::scope(|s| {
            for t in 0..4 {
                let chain = chain.clone();
                s.spawn(move || {
                    for i in 0..25 {
                        let mut guard = chain.lock().expect("lock");
                        let head = guard.head(false).expect("head");
                        guard
                            .append(
                                head.as_ref(),
                                &format!("{t}-{i}"),
                                "t",
                                &serde_json::json!({}),
                            )
                            .expect("append");
                    }
                });
            }
        });
        let report = verify(&chain, None, false).expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!(report.records, 101);
    }
}
