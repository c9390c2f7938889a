//! The evaluation child's stdout relay: evcxr content blocks that a running cell prints
//! become display lines, shown when they are printed.
//!
//! Crates with evcxr support (plotters' `evcxr_figure`, images, tables) display a value by
//! printing `EVCXR_BEGIN_CONTENT <mime>` … `EVCXR_END_CONTENT` on stdout. evcxr's parent
//! keeps such blocks for the cell's result: nothing is shown until the cell ends, and a
//! second block of one MIME type replaces the first. The relay sits between the cell and
//! evcxr (a pipe on the child's fd 1, copied by two threads of the child) and, while an
//! instrumented cell runs (between its start and finish markers), turns each display into
//! one `WORKBENCH_DISPLAY {json}` line, which the kernel sends as `display_data` in order
//! with the cell's other output. The cell's value, which evcxr prints after the finish
//! marker, is left to evcxr: it stays the `execute_result`. Cells that are not
//! instrumented (with evcxr commands) keep evcxr's behaviour.
//!
//! One display is the blocks printed together: consecutive blocks of different MIME types
//! (a value shown as HTML and as text). A block of a MIME type the display already has,
//! any other line, or a pause in the output of 20 ms ends it.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::Duration;

use crossbeam_channel::RecvTimeoutError;

use crate::runtime::{FINISHED, PANICKED, STARTED, STOPPED};

/// The display line the kernel reads (`dispatch::DISPLAY_MARKER` in the kernel).
const DISPLAY: &str = "WORKBENCH_DISPLAY ";
const BEGIN: &str = "EVCXR_BEGIN_CONTENT ";
const END: &str = "EVCXR_END_CONTENT";
/// evcxr's own lines that end a block early (a panic inside a display) or a cell.
const PANIC: &str = "EVCXR_PANIC_NOTIFICATION";
const COMPLETE: &str = "EVCXR_EXECUTION_COMPLETE";

/// How long the output may pause before a display of several blocks is sent.
const PAUSE: Duration = Duration::from_millis(20);

/// Lines in flight between the two threads: a cell that prints faster than the kernel
/// reads waits, as it would on the pipe itself.
const IN_FLIGHT: usize = 1024;

/// Puts the relay between the child's stdout and evcxr. Called in the child after it has
/// confined itself, so that the relay's threads are confined too.
///
/// # Errors
///
/// The pipe, the duplicated descriptors or the threads could not be made; stdout is then
/// left as it was (displays arrive with the cell's result, as evcxr does it).
pub fn install() -> std::io::Result<()> {
    // Close-on-exec: processes a cell starts write to the pipe (fd 1), not past it.
    let out = std::fs::File::from(rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdout(), 3)?);
    let (reader, writer) = std::io::pipe()?;
    let (lines, received) = crossbeam_channel::bounded::<Vec<u8>>(IN_FLIGHT);
    std::thread::Builder::new()
        .name("stdout-read".into())
        .spawn(move || {
            let mut reader = std::io::BufReader::new(reader);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if lines.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        })?;
    std::thread::Builder::new()
        .name("stdout-relay".into())
        .spawn(move || {
            let mut out = out;
            let mut relay = Relay::default();
            loop {
                let written = match received.recv_timeout(PAUSE) {
                    Ok(line) => relay.line(&line),
                    Err(RecvTimeoutError::Timeout) => relay.pause(),
                    Err(RecvTimeoutError::Disconnected) => return,
                };
                for line in written {
                    // evcxr is gone if this fails; nothing is left to tell.
                    let _ = out.write_all(&line);
                }
            }
        })?;
    // Only now, with both threads running, does the cell's stdout go through them.
    rustix::stdio::dup2_stdout(&writer)?;
    Ok(())
}

/// The relay's state: where the cell is and the display being gathered.
#[derive(Debug, Default)]
struct Relay {
    /// An instrumented cell has started and not finished, stopped or panicked.
    in_cell: bool,
    /// The block being read: its MIME type and lines so far.
    block: Option<(String, Vec<u8>)>,
    /// Complete blocks of the display being gathered.
    display: BTreeMap<String, String>,
}

impl Relay {
    /// One line from the cell (with its newline, if it had one); the lines to pass on.
    fn line(&mut self, line: &[u8]) -> Vec<Vec<u8>> {
        let text = String::from_utf8_lossy(line);
        let bare = text.trim_end_matches(['\n', '\r']);
        let mut out = Vec::new();
        if let Some((mime, content)) = &mut self.block {
            if bare == END {
                let (mime, content) = (std::mem::take(mime), std::mem::take(content));
                self.block = None;
                let mut content = String::from_utf8_lossy(&content).into_owned();
                content.truncate(content.trim_end_matches('\n').len());
                self.display.insert(mime, content);
                return out;
            }
            if bare != PANIC && bare != COMPLETE {
                content.extend_from_slice(line);
                return out;
            }
            // A display cut short: what it had, as evcxr keeps it.
            let (mime, content) = (std::mem::take(mime), std::mem::take(content));
            self.block = None;
            self.display
                .insert(mime, String::from_utf8_lossy(&content).into_owned());
        }
        if self.in_cell
            && let Some(mime) = bare.strip_prefix(BEGIN)
            && !mime.is_empty()
            && !mime.contains(' ')
        {
            if self.display.contains_key(mime) {
                out.extend(self.pause());
            }
            self.block = Some((mime.to_owned(), Vec::new()));
            return out;
        }
        out.extend(self.pause());
        if bare.ends_with(STARTED) {
            self.in_cell = true;
        } else if bare.ends_with(FINISHED)
            || bare.ends_with(STOPPED)
            || bare.contains(PANICKED)
            || bare == COMPLETE
        {
            self.in_cell = false;
        }
        out.push(line.to_vec());
        out
    }

    /// The output paused (or something else comes): the display gathered so far, as
    /// one display line.
    fn pause(&mut self) -> Vec<Vec<u8>> {
        if self.display.is_empty() {
            return Vec::new();
        }
        let bundle: serde_json::Map<String, serde_json::Value> = std::mem::take(&mut self.display)
            .into_iter()
            .map(|(mime, content)| (mime, serde_json::Value::String(content)))
            .collect();
        let mut line = DISPLAY.as_bytes().to_vec();
        line.extend_from_slice(serde_json::Value::Object(bundle).to_string().as_bytes());
        line.push(b'\n');
        vec![line]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(relay: &mut Relay, lines: &[&str]) -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| relay.line(format!("{l}\n").as_bytes()))
            .map(|l| String::from_utf8(l).expect("utf-8"))
            .collect()
    }

    fn display(json: &str) -> String {
        format!("{DISPLAY}{json}\n")
    }

    #[test]
    fn blocks_while_a_cell_runs_become_displays_in_order() {
        let mut relay = Relay::default();
        let out = feed(
            &mut relay,
            &[
                STARTED,
                "EVCXR_BEGIN_CONTENT text/html",
                "<b>one</b>",
                "second line",
                END,
                "between",
                "EVCXR_BEGIN_CONTENT text/html",
                "<b>two</b>",
                END,
                "EVCXR_BEGIN_CONTENT text/html",
                "<b>three</b>",
                END,
                "EVCXR_BEGIN_CONTENT text/plain",
                "3",
                END,
            ],
        );
        assert_eq!(
            out,
            [
                format!("{STARTED}\n"),
                display(r#"{"text/html":"<b>one</b>\nsecond line"}"#),
                "between\n".into(),
                // The same MIME type again: a display of its own.
                display(r#"{"text/html":"<b>two</b>"}"#),
            ]
        );
        // Different MIME types back to back are one display, sent on a pause.
        let paused: Vec<String> = relay
            .pause()
            .into_iter()
            .map(|l| String::from_utf8(l).expect("utf-8"))
            .collect();
        assert_eq!(
            paused,
            [display(r#"{"text/html":"<b>three</b>","text/plain":"3"}"#)]
        );
        assert!(relay.pause().is_empty());
    }

    #[test]
    fn the_cells_value_and_uninstrumented_cells_are_left_to_evcxr() {
        let mut relay = Relay::default();
        let value = [
            "EVCXR_BEGIN_CONTENT text/plain",
            "42",
            END,
            "EVCXR_EXECUTION_COMPLETE",
        ];
        // Not instrumented: no start marker.
        let out = feed(&mut relay, &value);
        assert_eq!(out, value.map(|l| format!("{l}\n")));
        // The value comes after the finish marker.
        let out = feed(&mut relay, &[STARTED, &format!("partial{FINISHED}")]);
        assert_eq!(
            out,
            [format!("{STARTED}\n"), format!("partial{FINISHED}\n")]
        );
        let out = feed(&mut relay, &value);
        assert_eq!(out, value.map(|l| format!("{l}\n")));
    }

    #[test]
    fn a_display_cut_short_and_markers_end_the_display_first() {
        let mut relay = Relay::default();
        let out = feed(
            &mut relay,
            &[STARTED, "EVCXR_BEGIN_CONTENT image/svg+xml", "<svg>", PANIC],
        );
        assert_eq!(
            out,
            [
                format!("{STARTED}\n"),
                display(r#"{"image/svg+xml":"<svg>\n"}"#),
                format!("{PANIC}\n"),
            ]
        );
        let out = feed(
            &mut relay,
            &[STARTED, "EVCXR_BEGIN_CONTENT text/html", "x", END, STOPPED],
        );
        assert_eq!(
            out,
            [
                format!("{STARTED}\n"),
                display(r#"{"text/html":"x"}"#),
                format!("{STOPPED}\n"),
            ]
        );
        // After the stop the cell no longer runs: blocks pass through.
        let out = feed(&mut relay, &["EVCXR_BEGIN_CONTENT text/html"]);
        assert_eq!(out, ["EVCXR_BEGIN_CONTENT text/html\n"]);
    }
}
