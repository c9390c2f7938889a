//! Asking for an object to leave, from a notebook cell: the object is written into the
//! workspace's `.workbench-export/`, and the kernel (never the browser) reads it and
//! passes it to the governance service, which checks, freezes and records the request
//! as `workbench export request` does. The cell gets the request id and the automatic
//! verdict at once.
//!
//! What a cell computed is the cell's word: the automatic checks run again on the
//! trusted side over the object itself, and the committee reviews it.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::Deserialize;

use super::table::SafeTable;
use crate::display::Svg;

/// The prompt of an export request as the kernel recognises it (`kernel` dispatch):
/// `EXPORT_PROMPT HEX` with the request as hex-encoded JSON (evcxr ends a prompt at `:`).
pub const EXPORT_PROMPT: &str = "WORKBENCH_EXPORT";

/// The directory of the workspace that objects asking to leave are written to.
pub const EXPORT_DIR: &str = ".workbench-export";

/// Something a cell may ask to take out: its file name and bytes.
pub trait Exportable {
    /// The object as a file.
    ///
    /// # Errors
    ///
    /// It cannot be read or written out.
    fn export_file(&self) -> Result<(String, Vec<u8>), String>;
}

impl Exportable for SafeTable {
    /// The table as CSV: the index labels, the column label, the value and the patients
    /// behind it (both empty where suppressed), so that the trusted side checks patients.
    fn export_file(&self) -> Result<(String, Vec<u8>), String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = self.index.clone();
        header.extend(self.columns.clone());
        header.push("value".into());
        header.push("patients".into());
        w.write_record(&header).map_err(|e| e.to_string())?;
        for cell in &self.cells {
            let mut record = cell.index.clone();
            record.extend(
                self.columns
                    .as_ref()
                    .map(|_| cell.column.clone().unwrap_or_default()),
            );
            let hidden = cell.suppressed.is_some();
            let value = match cell.value {
                Some(v) if !hidden && v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
                Some(v) if !hidden => format!("{v}"),
                _ => String::new(),
            };
            record.push(value);
            record.push(if hidden {
                String::new()
            } else {
                cell.contributors.to_string()
            });
            w.write_record(&record).map_err(|e| e.to_string())?;
        }
        let bytes = w.into_inner().map_err(|e| e.to_string())?;
        let sha = workbench_governance::events::sha256_hex(&bytes);
        Ok((format!("table-{}.csv", &sha[..12]), bytes))
    }
}

impl Exportable for super::Model {
    /// The summary as JSON (terms, degrees of freedom, findings; nothing row-level),
    /// which the trusted side checks again.
    fn export_file(&self) -> Result<(String, Vec<u8>), String> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        let sha = workbench_governance::events::sha256_hex(&bytes);
        Ok((format!("model-{}.json", &sha[..12]), bytes))
    }
}

impl Exportable for Svg {
    fn export_file(&self) -> Result<(String, Vec<u8>), String> {
        let bytes = self.svg.clone().into_bytes();
        let sha = workbench_governance::events::sha256_hex(&bytes);
        Ok((format!("figure-{}.svg", &sha[..12]), bytes))
    }
}

impl Exportable for Path {
    /// A file of the workspace, by its own name.
    fn export_file(&self) -> Result<(String, Vec<u8>), String> {
        let name = self
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("{}: not a file", self.display()))?;
        let bytes = std::fs::read(self).map_err(|e| format!("{}: {e}", self.display()))?;
        Ok((name, bytes))
    }
}

/// What the airlock answered.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Requested {
    /// The request id.
    pub request: String,
    /// The object's sha256, as frozen.
    pub sha256: String,
    /// The automatic verdict (`pass`, `review`, `fail`).
    pub verdict: String,
    /// The automatic findings.
    pub findings: serde_json::Value,
    /// The chosen reviewers.
    pub reviewers: Vec<String>,
}

impl Requested {
    /// Shows the answer as the cell's result (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        let text = format!(
            "export request {}: automatic verdict {}; reviewers {}",
            self.request,
            self.verdict,
            self.reviewers.join(", ")
        );
        let html = format!("<p>{}</p>", crate::display::escape(&text));
        crate::display::Html { html, text }.evcxr_display();
    }
}

/// Asks for `object` to leave the enclave for `intent` (`internal-use`, `publication`,
/// `patent-filing`, `forum-notification`), with a `justification` for the reviewers.
///
/// # Errors
///
/// Not in a governed session's cell, the object cannot be written, or the airlock
/// refused the request (the reason names the rule).
pub fn request(
    object: &(impl Exportable + ?Sized),
    intent: &str,
    justification: &str,
) -> Result<Requested, String> {
    if std::env::var("EVCXR_IS_RUNTIME").as_deref() != Ok("1") {
        return Err("export requests are made by the enclave's kernel, in a notebook cell; elsewhere use `workbench export request`".into());
    }
    let workspace = std::env::var_os("WORKBENCH_WORKSPACE")
        .ok_or("the cell has no workspace (WORKBENCH_WORKSPACE)")?;
    let (name, bytes) = object.export_file()?;
    let dir = Path::new(&workspace).join(EXPORT_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::durable::write(&dir.join(&name), &bytes).map_err(|e| e.to_string())?;
    let ask = serde_json::json!({"name": name, "intent": intent, "justification": justification});
    let hex = workbench_governance::events::to_hex(ask.to_string().as_bytes());
    let mut out = std::io::stdout().lock();
    writeln!(out, "EVCXR_INPUT_REQUEST:{EXPORT_PROMPT} {hex}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("asking the kernel: {e}"))?;
    drop(out);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the kernel's answer: {e}"))?;
    let answer: serde_json::Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("the kernel's answer is not JSON: {e}"))?;
    if answer["ok"] != serde_json::json!(true) {
        return Err(answer["reason"]
            .as_str()
            .unwrap_or("refused by the kernel")
            .to_owned());
    }
    serde_json::from_value(answer["answer"].clone()).map_err(|e| format!("the answer: {e}"))
}
