//! Checks of a finished table or file that asks to leave: small and empty counts, and
//! content that must never leave (case, sample and specimen ids, dates, free text,
//! row-level data).

use serde::Serialize;

use super::{Finding, Parameters, RULE, Verdict, fix, verdict_of, weight};

/// Rows from which a table whose labels are all distinct is taken for row-level data.
pub const ROW_LEVEL_ROWS: usize = 100;

/// Why a file could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CSV could not be read.
    #[error("CSV record {record}: {source}")]
    Csv {
        /// The record (1 is the header).
        record: u64,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// A column named as counts is not in the file.
    #[error("--counts {0:?}: no such column")]
    NoColumn(String),
}

/// A checked file: its verdict, findings and what was taken for counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckedFile {
    /// The automatic verdict.
    pub verdict: Verdict,
    /// The findings.
    pub findings: Vec<Finding>,
    /// Data rows.
    pub rows: usize,
    /// Column names.
    pub columns: Vec<String>,
    /// The columns checked as counts.
    pub counts: Vec<String>,
    /// What the checks were made with.
    pub parameters: Parameters,
}

/// Checks a finished table in CSV (`bytes`). Integer columns are counts unless `counts`
/// names which are.
///
/// # Errors
///
/// The CSV is malformed (the record is named), or `counts` names a missing column.
pub fn check_csv(
    bytes: &[u8],
    counts: Option<&[String]>,
    p: &Parameters,
) -> Result<CheckedFile, Error> {
    let Parsed {
        columns,
        rows,
        counts: count_columns,
    } = parse(bytes, counts)?;
    let mut flagged: Vec<(&'static str, serde_json::Value)> = Vec::new();
    let threshold = i64::try_from(p.threshold).unwrap_or(i64::MAX);
    for (r, row) in rows.iter().enumerate() {
        for &c in &count_columns {
            let Some(n) = number(&row[c]) else {
                // A blank or a marker (`*`, `<10`, `n/a`) among counts is a cell that was
                // suppressed or is missing: a reviewer checks it cannot be recovered.
                flagged.push((
                    "missing",
                    serde_json::json!({"row": r + 1, "column": columns[c], "value": row[c]}),
                ));
                continue;
            };
            let shown = if n.fract() == 0.0 && n.abs() < 9e15 {
                serde_json::json!(n as i64)
            } else {
                serde_json::json!(n)
            };
            let at = serde_json::json!({"row": r + 1, "column": columns[c], "value": shown});
            if n < threshold as f64 {
                flagged.push(("threshold", at.clone()));
            }
            if n == 0.0 && p.zeros_are_disclosive {
                flagged.push(("zero", at));
            }
        }
    }
    for (c, name) in columns.iter().enumerate() {
        if count_columns.contains(&c) {
            continue;
        }
        let values = || rows.iter().map(move |r| r[c].as_str());
        if is_identifier_name(name) || values().any(looks_like_identifier) {
            flagged.push(("identifier", serde_json::json!({"column": name})));
        }
        if values().any(looks_like_date) {
            flagged.push(("date", serde_json::json!({"column": name})));
        }
        if values().any(is_free_text) {
            flagged.push(("free-text", serde_json::json!({"column": name})));
        }
        if rows.len() >= ROW_LEVEL_ROWS {
            let distinct: std::collections::BTreeSet<&str> = values().collect();
            if distinct.len() == rows.len() {
                flagged.push(("row-level", serde_json::json!({"column": name})));
            }
        }
    }
    let mut findings: Vec<Finding> = Vec::new();
    for (check, at) in flagged {
        match findings.iter_mut().find(|f| f.check == check) {
            Some(f) => f.cells.push(at),
            None => findings.push(Finding {
                check,
                rule: RULE,
                verdict: weight(check),
                cells: vec![at],
                message: String::new(),
                fix: fix(check, p),
            }),
        }
    }
    for f in &mut findings {
        f.message = message(f.check, f.cells.len(), p);
    }
    Ok(CheckedFile {
        verdict: verdict_of(&findings),
        findings,
        rows: rows.len(),
        counts: count_columns.iter().map(|&c| columns[c].clone()).collect(),
        columns,
        parameters: *p,
    })
}

/// A CSV table: its columns, rows, and which columns hold counts.
struct Parsed {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    counts: Vec<usize>,
}

fn parse(bytes: &[u8], counts: Option<&[String]>) -> Result<Parsed, Error> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|source| Error::Csv { record: 1, source })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|source| Error::Csv {
            record: i as u64 + 2,
            source,
        })?;
        rows.push(record.iter().map(|v| v.trim().to_owned()).collect());
    }
    let counts: Vec<usize> = match counts {
        Some(names) => names
            .iter()
            .map(|n| {
                columns
                    .iter()
                    .position(|c| c == n)
                    .ok_or_else(|| Error::NoColumn(n.clone()))
            })
            .collect::<Result<_, _>>()?,
        // Any column holding a number is taken for counts (decimals too: `3.0` is a 3),
        // whatever else it holds: a marker such as `n/a` beside a small count must not
        // take the column out of the check. `--counts` says otherwise where labels are
        // numbers.
        None => (0..columns.len())
            .filter(|&c| rows.iter().any(|r| number(&r[c]).is_some()))
            .collect(),
    };
    Ok(Parsed {
        columns,
        rows,
        counts,
    })
}

/// Differencing against the project's earlier releases (`earlier`: request id and the
/// released CSV): a row of `bytes` with the same labels as a row of an earlier table
/// (same label columns), whose count in a column of the same name differs by less than
/// the threshold, tells the size of the small group between the two (R33-disclosure).
/// Earlier objects that are not such tables are skipped.
///
/// # Errors
///
/// `bytes` is not a readable CSV.
pub fn differencing(
    bytes: &[u8],
    earlier: &[(String, Vec<u8>)],
    counts: Option<&[String]>,
    p: &Parameters,
) -> Result<Option<Finding>, Error> {
    let new = parse(bytes, counts)?;
    let labels_of = |t: &Parsed| -> Vec<String> {
        (0..t.columns.len())
            .filter(|c| !t.counts.contains(c))
            .map(|c| t.columns[c].clone())
            .collect()
    };
    let new_labels = labels_of(&new);
    let threshold = p.threshold;
    let mut cells = Vec::new();
    for (request, old_bytes) in earlier {
        let Ok(old) = parse(old_bytes, None) else {
            continue;
        };
        let mut old_labels = labels_of(&old);
        let mut sorted_new = new_labels.clone();
        old_labels.sort();
        sorted_new.sort();
        if old_labels != sorted_new || new_labels.is_empty() {
            continue;
        }
        let key = |t: &Parsed, row: &[String]| -> Vec<String> {
            new_labels
                .iter()
                .map(|name| {
                    t.columns
                        .iter()
                        .position(|c| c == name)
                        .map_or_else(String::new, |c| row[c].clone())
                })
                .collect()
        };
        let old_rows: std::collections::HashMap<Vec<String>, &Vec<String>> =
            old.rows.iter().map(|r| (key(&old, r), r)).collect();
        for (r, row) in new.rows.iter().enumerate() {
            let Some(old_row) = old_rows.get(&key(&new, row)) else {
                continue;
            };
            for &c in &new.counts {
                let Some(oc) = old
                    .counts
                    .iter()
                    .copied()
                    .find(|&oc| old.columns[oc] == new.columns[c])
                else {
                    continue;
                };
                let (Ok(a), Ok(b)) = (row[c].parse::<i64>(), old_row[oc].parse::<i64>()) else {
                    continue;
                };
                // Without overflow, whatever numbers a hostile file holds.
                let d = a.abs_diff(b);
                if d > 0 && d < threshold {
                    cells.push(serde_json::json!({"row": r + 1, "column": new.columns[c],
                        "value": a, "earlier": b, "earlier_request": request, "difference": d}));
                }
            }
        }
    }
    Ok((!cells.is_empty()).then(|| Finding {
        check: "differencing",
        rule: RULE,
        verdict: Verdict::Fail,
        message: format!(
            "{} count(s) differ from an earlier release of the project by less than {}: the difference is a small group",
            cells.len(),
            p.threshold
        ),
        cells,
        fix: fix("differencing", p),
    }))
}

fn message(check: &str, n: usize, p: &Parameters) -> String {
    match check {
        "threshold" => format!("{n} count(s) below {}", p.threshold),
        "zero" => format!("{n} empty count(s)"),
        "identifier" => format!("{n} column(s) hold or name identifiers"),
        "date" => format!("{n} column(s) hold dates"),
        "free-text" => format!("{n} column(s) hold free text"),
        "row-level" => format!("{n} column(s) tell every row apart: row-level data"),
        "missing" => format!("{n} count cell(s) blank or not a number (suppressed or missing)"),
        _ => format!("{n} finding(s)"),
    }
}

/// A number as a table prints it (`3`, `3.0`, `1e1`), never NaN or infinite.
fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The count columns of a table in the form a cell's safe table leaves in (labels, then
/// `value` and `patients`): its patients are the counts, and its value the statistic
/// (a mean of 4.8 is no small count). `None` for any other table.
pub fn safe_table_counts(bytes: &[u8]) -> Option<Vec<String>> {
    let t = parse(bytes, None).ok()?;
    let n = t.columns.len();
    // Only where the patients are there to check; otherwise every numeric column is.
    let has_patients = t.rows.iter().any(|r| number(&r[n - 1]).is_some());
    (n >= 3 && t.columns[n - 2] == "value" && t.columns[n - 1] == "patients" && has_patients)
        .then(|| vec!["patients".to_owned()])
}

/// Whether `bytes` read as a table: CSV of at least two columns and one row, all rows as
/// wide as the header. Such an object is checked as a table whatever its name.
pub fn is_table(bytes: &[u8]) -> bool {
    parse(bytes, None).is_ok_and(|t| t.columns.len() >= 2 && !t.rows.is_empty())
}

/// A column name that says it holds identifiers (`case_id`, `SampleID`, `barcode`).
fn is_identifier_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id"
        || lower.ends_with("_id")
        || lower.ends_with("id") && name.ends_with("ID")
        || lower.contains("barcode")
        || lower == "mrn"
        || lower == "sample_name"
}

/// A value shaped like a case, sample or specimen id: letters, then dash-separated parts
/// of letters and digits holding at least four digits (`JCGP-000001-T1`,
/// `TCGA-AB-1234-01A`), where a category (`LUAD`, `stage II`) has none.
pub(crate) fn looks_like_identifier(value: &str) -> bool {
    let mut parts = value.split('-');
    let Some(head) = parts.next() else {
        return false;
    };
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty()
        || head.len() < 2
        || !head
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        || !head.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return false;
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    digits >= 4
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A full calendar date (`2026-05-11`, `2026/05/11`), which with a diagnosis or a birth
/// narrows a patient down.
pub(crate) fn looks_like_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && (b[4] == b'-' || b[4] == b'/')
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b[4]
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Prose rather than a category: long, or many words.
fn is_free_text(value: &str) -> bool {
    value.chars().count() > 80 || value.split_whitespace().count() >= 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_dates_are_told_from_categories() {
        for id in ["JCGP-000001", "JCGP-000001-T1", "TCGA-AB-1234-01A"] {
            assert!(looks_like_identifier(id), "{id}");
        }
        for category in ["LUAD", "stage II", "EGFR-L858R", "T1-N0", "HER2-positive"] {
            assert!(!looks_like_identifier(category), "{category}");
        }
        assert!(looks_like_date("2026-05-11") && !looks_like_date("2026-05"));
        assert!(is_identifier_name("case_id") && is_identifier_name("SampleID"));
        assert!(!is_identifier_name("cancer_type") && !is_identifier_name("valid"));
    }

    #[test]
    fn differencing_finds_a_small_gap_and_survives_extreme_numbers() {
        let p = Parameters::default();
        let earlier = vec![("r1".to_owned(), b"cancer_type,patients\nLUAD,30\n".to_vec())];
        let found = differencing(b"cancer_type,patients\nLUAD,33\n", &earlier, None, &p)
            .expect("checked")
            .expect("a finding");
        assert_eq!(found.cells[0]["difference"], 3);
        let extreme = vec![(
            "r2".to_owned(),
            b"cancer_type,patients\nLUAD,-9223372036854775808\n".to_vec(),
        )];
        let none = differencing(
            b"cancer_type,patients\nLUAD,9223372036854775807\n",
            &extreme,
            None,
            &p,
        )
        .expect("checked");
        assert!(none.is_none());
    }

    #[test]
    fn decimals_and_markers_do_not_take_a_small_count_out_of_the_check() {
        let p = Parameters::default();
        for csv in [
            &b"cancer_type,patients\nLUAD,3.0\nCOAD,40\n"[..],
            &b"cancer_type,patients\nLUAD,3\nX,n/a\n"[..],
        ] {
            let checked = check_csv(csv, None, &p).expect("checked");
            assert_eq!(checked.verdict, Verdict::Fail, "{checked:?}");
        }
        assert!(is_table(b"a,b\n1,2\n") && !is_table(b"free text\n"));
    }

    #[test]
    fn a_small_count_and_a_sample_column_fail() {
        let csv =
            b"cancer_type,sample_id,patients\nLUAD,JCGP-000001-T1,3\nCOAD,JCGP-000002-T1,40\n";
        let checked = check_csv(csv, None, &Parameters::default()).expect("checked");
        assert_eq!(checked.counts, ["patients"]);
        assert_eq!(checked.verdict, Verdict::Fail);
        let checks: Vec<&str> = checked.findings.iter().map(|f| f.check).collect();
        assert_eq!(checks, ["threshold", "identifier"]);
        let clean = check_csv(
            b"cancer_type,patients\nLUAD,30\nCOAD,40\n",
            None,
            &Parameters::default(),
        )
        .expect("checked");
        assert_eq!(clean.verdict, Verdict::Pass, "{clean:?}");
    }
}
