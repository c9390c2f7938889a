//! Checks of a notebook (`.ipynb`) that asks to leave: every output and markdown cell is
//! read for what must never leave (case, sample and specimen ids, dates), for safe tables
//! and models whose own checks failed, and for tables and figures the workbench did not
//! check, which the reviewers then read (R33-disclosure).
//!
//! A notebook carries what its cells printed, so it leaves only as its outputs allow: an
//! output is checked like a file. What no automatic check can judge (a number a cell
//! printed, a figure) goes to the reviewers with the output named.

use serde_json::{Value, json};

use super::check::{looks_like_date, looks_like_identifier};
use super::{Finding, Parameters, RULE, Verdict, fix, verdict_of, weight};

/// Rows from which a table shown in an output is taken for row-level data.
const ROW_LEVEL_ROWS: usize = super::check::ROW_LEVEL_ROWS;

/// Whether `bytes` are a Jupyter notebook (JSON with `cells` and `nbformat`).
pub fn is_notebook(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .is_ok_and(|v| v.get("cells").is_some_and(Value::is_array) && v.get("nbformat").is_some())
}

/// One place in a notebook something was found: cell, output (none for a markdown
/// cell's source) and what.
fn at(cell: usize, output: Option<usize>, value: &str) -> Value {
    let mut shown: String = value.chars().take(80).collect();
    if shown.len() < value.len() {
        shown.push('…');
    }
    json!({"cell": cell + 1, "output": output.map(|o| o + 1), "value": shown})
}

/// A notebook's text as JSON holds it: a string, or a list of lines.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// The text of HTML with its tags taken out (entities left: ids and dates have none).
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out
}

/// The words of a text an id or a date could be: split at anything but letters, digits,
/// `-` and `/`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/'))
        .map(|w| w.trim_matches(|c| c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
}

/// Flags the ids and dates among the words of `text`, found at `cell` and `output`.
fn scan(flagged: &mut Vec<(&'static str, Value)>, cell: usize, output: Option<usize>, text: &str) {
    for w in words(text) {
        if looks_like_identifier(w) {
            flagged.push(("identifier", at(cell, output, w)));
        } else if looks_like_date(w) {
            flagged.push(("date", at(cell, output, w)));
        }
    }
}

/// Calls `f` with every string of `value`, keys included.
fn walk(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| walk(v, f)),
        Value::Object(map) => {
            for (k, v) in map {
                f(k);
                walk(v, f);
            }
        }
        _ => {}
    }
}

/// Checks a notebook's outputs and markdown. `None` when `bytes` are not a notebook.
pub fn check_notebook(bytes: &[u8], p: &Parameters) -> Option<(Verdict, Vec<Finding>)> {
    let notebook: Value = serde_json::from_slice(bytes).ok()?;
    let cells = notebook.get("cells")?.as_array()?;
    notebook.get("nbformat")?;
    let mut flagged: Vec<(&'static str, Value)> = Vec::new();
    let mut reviewed: Vec<(&'static str, Value)> = Vec::new();
    let mut outputs = 0usize;
    for (c, cell) in cells.iter().enumerate() {
        let kind = cell.get("cell_type").and_then(Value::as_str).unwrap_or("");
        if kind == "markdown" {
            scan(
                &mut flagged,
                c,
                None,
                &text_of(cell.get("source").unwrap_or(&Value::Null)),
            );
            if cell
                .get("attachments")
                .is_some_and(|a| a.as_object().is_some_and(|o| !o.is_empty()))
            {
                reviewed.push(("figure", at(c, None, "attachment")));
            }
            continue;
        }
        for (o, output) in cell
            .get("outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            outputs += 1;
            let mut texts: Vec<String> = Vec::new();
            if let Some(t) = output.get("text") {
                texts.push(text_of(t));
            }
            if let Some(tb) = output.get("traceback") {
                texts.push(text_of(tb));
            }
            if let Some(data) = output.get("data").and_then(Value::as_object) {
                // A workbench safe table or model says so in its text (`count table:
                // pass`, `… (least squares)`); a cell can forge that, but the notebook is
                // read whole anyway: this only spares the reviewers a false alarm.
                let plain = data.get("text/plain").map(text_of).unwrap_or_default();
                let first = plain.lines().next().unwrap_or("");
                let ours = first.contains(" table: ")
                    || first.contains(" rows, ") && first.contains("verdict ");
                for (mime, value) in data {
                    let text = text_of(value);
                    match mime.as_str() {
                        "text/plain" | "text/markdown" | "text/latex" | "text/csv" => {
                            texts.push(text);
                        }
                        "text/html" => {
                            let rows = text.matches("<tr").count();
                            if text.contains("<table") {
                                if rows > ROW_LEVEL_ROWS {
                                    reviewed.push((
                                        "row-level",
                                        at(c, Some(o), &format!("{rows} table rows")),
                                    ));
                                }
                                if !ours {
                                    reviewed
                                        .push(("unchecked-table", at(c, Some(o), "an HTML table")));
                                }
                            }
                            texts.push(strip_tags(&text));
                        }
                        m if m.starts_with("image/") => {
                            reviewed.push(("figure", at(c, Some(o), m)));
                            if m == "image/svg+xml" {
                                texts.push(strip_tags(&text));
                            }
                        }
                        other => reviewed.push(("unchecked-output", at(c, Some(o), other))),
                    }
                }
            }
            for text in &texts {
                scan(&mut flagged, c, Some(o), text);
                // A safe table or model printed with a failing verdict.
                if text.lines().any(|l| {
                    let l = l.trim();
                    (l.contains(" table: fail") || l.ends_with("verdict fail")) && l.len() < 200
                }) {
                    flagged.push((
                        "unsafe-output",
                        at(c, Some(o), "a table or model whose checks failed"),
                    ));
                }
            }
        }
    }
    // Every other string of the notebook too (metadata, code and raw sources, error
    // values, keys no check knows): an id or a date anywhere in it fails.
    let mut seen: std::collections::HashSet<Value> =
        flagged.iter().map(|(_, v)| v["value"].clone()).collect();
    let mut rest: Vec<(&'static str, Value)> = Vec::new();
    walk(&notebook, &mut |text| {
        let mut found = Vec::new();
        scan(&mut found, 0, None, text);
        for (check, at) in found {
            if seen.insert(at["value"].clone()) {
                rest.push((
                    check,
                    json!({"cell": null, "output": null, "value": at["value"]}),
                ));
            }
        }
    });
    flagged.extend(rest);
    flagged.extend(reviewed);
    let mut findings: Vec<Finding> = Vec::new();
    for (check, cell) in flagged {
        match findings.iter_mut().find(|f| f.check == check) {
            Some(f) => {
                if !f.cells.contains(&cell) {
                    f.cells.push(cell);
                }
            }
            None => findings.push(Finding {
                check,
                rule: RULE,
                verdict: weight(check),
                cells: vec![cell],
                message: String::new(),
                fix: fix(check, p),
            }),
        }
    }
    for f in &mut findings {
        let n = f.cells.len();
        f.message = match f.check {
            "identifier" => format!("{n} id(s) of a case, sample or specimen in outputs or text"),
            "date" => format!("{n} calendar date(s) in outputs or text"),
            "unsafe-output" => {
                format!("{n} output(s) show a safe table or model whose checks failed")
            }
            "unchecked-table" => format!("{n} output(s) show a table the workbench did not check"),
            "figure" => format!("{n} figure(s): a reviewer reads what each shows"),
            "row-level" => format!("{n} output(s) show a table long enough to be row-level data"),
            "unchecked-output" => format!("{n} output(s) of a kind no check reads"),
            _ => format!("{n} finding(s)"),
        };
    }
    // A notebook is always read whole: what a cell printed is not a table we checked.
    findings.push(Finding {
        check: "notebook",
        rule: RULE,
        verdict: Verdict::Review,
        cells: Vec::new(),
        message: format!(
            "a notebook of {} cell(s) and {outputs} output(s), read whole by the reviewers",
            cells.len()
        ),
        fix: fix("notebook", p),
    });
    Some((verdict_of(&findings), findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notebook(outputs: Value, markdown: &str) -> Vec<u8> {
        json!({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": [markdown]},
                {"cell_type": "code", "metadata": {}, "source": "x", "execution_count": 1, "outputs": outputs},
            ]
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn ids_and_dates_in_outputs_fail_and_a_clean_notebook_goes_to_review() {
        let p = Parameters::default();
        let clean = notebook(
            json!([{"output_type": "stream", "name": "stdout", "text": ["LUAD 31 patients\n"]}]),
            "# Counts by stage II",
        );
        let (verdict, findings) = check_notebook(&clean, &p).expect("a notebook");
        assert_eq!(verdict, Verdict::Review, "{findings:?}");
        let leaky = notebook(
            json!([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                    "data": {"text/html": "<table><tr><td>JCGP-000123-T1</td></tr></table>", "text/plain": "diagnosed 2026-05-11"}}]),
            "see case JCGP-000777",
        );
        let (verdict, findings) = check_notebook(&leaky, &p).expect("a notebook");
        assert_eq!(verdict, Verdict::Fail);
        let ids = findings
            .iter()
            .find(|f| f.check == "identifier")
            .expect("ids");
        assert_eq!(ids.cells.len(), 2, "{ids:?}");
        assert!(findings.iter().any(|f| f.check == "date"));
        assert!(findings.iter().any(|f| f.check == "unchecked-table"));
        assert!(!is_notebook(b"a,b\n1,2\n"));
    }
}
