//! Safe tables: frequency and magnitude tables made from row-level data, each cell kept
//! with its contributors (patients), the size of each patient's contribution, and its
//! missing and negative values, and checked cell by cell.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::{DataFrame, DataType};
use serde::Serialize;

use super::{Finding, Parameters, RULE, Verdict, fix, verdict_of, weight};

/// Most cells a table may have: a finer table is row-level data by another name.
pub const MAX_CELLS: usize = 100_000;

/// The label of margin rows and columns (as pandas and ACRO write it).
pub const MARGIN: &str = "All";

/// The statistic of a table's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    /// Rows per cell (a frequency table).
    Count,
    /// Sum of the values.
    Sum,
    /// Mean of the values.
    Mean,
    /// Median of the values.
    Median,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Most frequent value (the smallest of equally frequent ones).
    Mode,
    /// Sample standard deviation (n − 1).
    Std,
}

impl std::str::FromStr for Agg {
    type Err = String;
    fn from_str(s: &str) -> Result<Agg, String> {
        Ok(match s {
            "count" => Agg::Count,
            "sum" => Agg::Sum,
            "mean" => Agg::Mean,
            "median" => Agg::Median,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "mode" => Agg::Mode,
            "std" => Agg::Std,
            other => {
                return Err(format!(
                    "unknown statistic {other:?}: count, sum, mean, median, min, max, mode or std"
                ));
            }
        })
    }
}

/// What table to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The columns whose labels make the rows.
    pub index: Vec<String>,
    /// The column whose labels make the columns, if any.
    pub columns: Option<String>,
    /// The column the statistic is of (needed for every statistic but `Count`).
    pub values: Option<String>,
    /// The statistic.
    pub agg: Agg,
    /// Add totals (`All`) per row and per column, computed from the rows.
    pub margins: bool,
    /// The column naming each row's patient; without it every row is a patient.
    pub person: Option<String>,
}

/// Why a table could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A column the spec names is not in the data.
    #[error("column {0:?} is not in the data")]
    MissingColumn(String),
    /// The values column holds something that is not a number.
    #[error("column {column:?}: {source}")]
    Column {
        /// The column.
        column: String,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// The spec is incomplete.
    #[error("{0}")]
    Spec(String),
    /// More cells than [`MAX_CELLS`].
    #[error("the table would have {0} cells, more than {MAX_CELLS}: group more coarsely")]
    TooManyCells(usize),
}

/// One cell: its labels, its statistic and what the checks found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// The row labels, one per index column.
    pub index: Vec<String>,
    /// The column label (none without `columns`).
    pub column: Option<String>,
    /// The statistic (none for an empty cell of a magnitude table, or a standard
    /// deviation of one value).
    pub value: Option<f64>,
    /// Distinct patients in the cell.
    pub contributors: usize,
    /// Rows in the cell.
    pub rows: usize,
    /// The checks that flagged it.
    pub rules: Vec<&'static str>,
    /// `primary` or `secondary` once suppressed (see `suppress`); its value is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<&'static str>,
}

/// A table with its checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafeTable {
    /// The automatic verdict.
    pub verdict: Verdict,
    /// The statistic.
    pub agg: Agg,
    /// The index columns.
    pub index: Vec<String>,
    /// The column whose labels make the columns.
    pub columns: Option<String>,
    /// The cells, row by row.
    pub cells: Vec<Cell>,
    /// The findings, one per check that flagged something.
    pub findings: Vec<Finding>,
    /// What the table was made with.
    pub parameters: Parameters,
    /// Remarks on how it was made (rows left out, contributors counted as rows).
    pub notes: Vec<String>,
}

impl SafeTable {
    /// The table as HTML: one row per index label, flagged cells marked with their
    /// checks, suppressed cells shown as such; the verdict and findings below.
    pub fn to_html(&self) -> crate::display::Html {
        use crate::display::escape;
        use std::fmt::Write as _;
        let mut columns: Vec<Option<String>> = Vec::new();
        for c in &self.cells {
            if !columns.contains(&c.column) {
                columns.push(c.column.clone());
            }
        }
        // Only what the kernel's sanitiser keeps: no style or title attributes, so a flagged
        // cell says its checks in words.
        let mut html = String::from("<table class=\"dataframe\"><thead><tr>");
        let mut text = format!("{} table: {}\n", self.agg_name(), self.verdict.as_str());
        for name in &self.index {
            let _ = write!(html, "<th>{}</th>", escape(name));
        }
        for c in &columns {
            let _ = write!(
                html,
                "<th>{}</th>",
                escape(c.as_deref().unwrap_or(self.agg_name()))
            );
        }
        html.push_str("</tr></thead><tbody>");
        let width = columns.len().max(1);
        for row in self.cells.chunks(width) {
            html.push_str("<tr>");
            for label in &row[0].index {
                let _ = write!(html, "<th>{}</th>", escape(label));
            }
            let mut line = row[0].index.join(" / ");
            for cell in row {
                let shown = match (cell.suppressed, cell.value) {
                    (Some(how), _) => format!("suppressed ({how})"),
                    (None, Some(v)) => format_value(v),
                    (None, None) => "–".to_owned(),
                };
                let flags = cell.rules.join(", ");
                if flags.is_empty() {
                    let _ = write!(html, "<td>{}</td>", escape(&shown));
                } else {
                    let _ = write!(
                        html,
                        "<td><b>{}</b> <small>(flagged: {})</small></td>",
                        escape(&shown),
                        escape(&flags)
                    );
                }
                let _ = write!(
                    line,
                    "\t{shown}{}",
                    if flags.is_empty() {
                        String::new()
                    } else {
                        format!(" [{flags}]")
                    }
                );
            }
            html.push_str("</tr>");
            text.push_str(&line);
            text.push('\n');
        }
        let _ = write!(
            html,
            "</tbody></table><p>Verdict: <b>{}</b></p><ul>",
            self.verdict.as_str()
        );
        for f in &self.findings {
            let _ = write!(
                html,
                "<li>{} ({}): {}; {}</li>",
                escape(f.check),
                escape(f.rule),
                escape(&f.message),
                escape(&f.fix)
            );
            let _ = writeln!(
                text,
                "{} {}: {}; {}",
                f.verdict.as_str(),
                f.check,
                f.message,
                f.fix
            );
        }
        html.push_str("</ul>");
        crate::display::Html { html, text }
    }

    fn agg_name(&self) -> &'static str {
        match self.agg {
            Agg::Count => "count",
            Agg::Sum => "sum",
            Agg::Mean => "mean",
            Agg::Median => "median",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Mode => "mode",
            Agg::Std => "std",
        }
    }

    /// Shows the table as the cell's result (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display();
    }
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

impl crate::display::Render for SafeTable {
    fn bundle(&self) -> crate::display::Bundle {
        self.to_html().bundle()
    }
}

/// What one cell holds while rows are read.
#[derive(Debug, Default)]
struct Acc {
    rows: usize,
    // Per patient: the sum of their values.
    persons: HashMap<String, f64>,
    values: Vec<f64>,
    // For a mode: the patients holding each value (by its bits).
    holders: HashMap<u64, BTreeSet<String>>,
    missing: usize,
    negative: usize,
}

/// Makes the table `spec` asks for from `df` and checks every cell.
///
/// # Errors
///
/// A column is missing or not of the kind needed, or the table would be too fine.
pub fn build(df: &DataFrame, spec: &Spec, parameters: &Parameters) -> Result<SafeTable, Error> {
    if spec.index.is_empty() {
        return Err(Error::Spec(
            "a table needs at least one index column".into(),
        ));
    }
    if spec.agg != Agg::Count && spec.values.is_none() {
        return Err(Error::Spec(format!(
            "the {:?} of which column? give the values column",
            spec.agg
        )));
    }
    let labels = |name: &str| -> Result<Vec<Option<String>>, Error> {
        let column = df
            .column(name)
            .map_err(|_| Error::MissingColumn(name.to_owned()))?;
        let text = column
            .cast(&DataType::String)
            .map_err(|source| Error::Column {
                column: name.to_owned(),
                source,
            })?;
        let text = text.str().map_err(|source| Error::Column {
            column: name.to_owned(),
            source,
        })?;
        Ok((0..text.len())
            .map(|i| text.get(i).map(str::to_owned))
            .collect())
    };
    let index: Vec<Vec<Option<String>>> = spec
        .index
        .iter()
        .map(|c| labels(c))
        .collect::<Result<_, _>>()?;
    let columns = spec.columns.as_deref().map(labels).transpose()?;
    let persons = spec.person.as_deref().map(labels).transpose()?;
    let values: Option<Vec<Option<f64>>> = match spec.values.as_deref() {
        None => None,
        Some(name) => {
            let column = df
                .column(name)
                .map_err(|_| Error::MissingColumn(name.to_owned()))?;
            let numbers =
                column
                    .strict_cast(&DataType::Float64)
                    .map_err(|source| Error::Column {
                        column: name.to_owned(),
                        source,
                    })?;
            let numbers = numbers.f64().map_err(|source| Error::Column {
                column: name.to_owned(),
                source,
            })?;
            Some(
                (0..numbers.len())
                    .map(|i| numbers.get(i).filter(|x| !x.is_nan()))
                    .collect(),
            )
        }
    };
    let mut notes = Vec::new();
    if spec.person.is_none() {
        notes.push("no person column: every row counted as one patient".to_owned());
    }
    let mut cells: BTreeMap<(Vec<String>, Option<String>), Acc> = BTreeMap::new();
    let mut rows_seen: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut columns_seen: BTreeSet<String> = BTreeSet::new();
    let (mut unlabelled, mut no_person) = (0usize, 0usize);
    let all_index = vec![MARGIN.to_owned(); spec.index.len()];
    for row in 0..df.height() {
        let Some(labels) = index
            .iter()
            .map(|c| c[row].clone())
            .collect::<Option<Vec<String>>>()
        else {
            unlabelled += 1;
            continue;
        };
        let column = match &columns {
            Some(c) => match &c[row] {
                Some(label) => Some(label.clone()),
                None => {
                    unlabelled += 1;
                    continue;
                }
            },
            None => None,
        };
        let person = match &persons {
            Some(p) => match &p[row] {
                Some(id) => id.clone(),
                None => {
                    no_person += 1;
                    continue;
                }
            },
            None => format!("row {row}"),
        };
        let value = values.as_ref().map(|v| v[row]);
        if spec.margins && (labels.iter().any(|l| l == MARGIN) || column.as_deref() == Some(MARGIN))
        {
            return Err(Error::Spec(format!(
                "a label is {MARGIN:?}, the name of the margins: rename it or make the table without margins"
            )));
        }
        rows_seen.insert(labels.clone());
        if let Some(c) = &column {
            columns_seen.insert(c.clone());
        }
        let mut keys = vec![(labels.clone(), column.clone())];
        if spec.margins {
            if column.is_some() {
                keys.push((labels.clone(), Some(MARGIN.to_owned())));
                keys.push((all_index.clone(), column.clone()));
                keys.push((all_index.clone(), Some(MARGIN.to_owned())));
            } else {
                keys.push((all_index.clone(), None));
            }
        }
        for key in keys {
            let acc = cells.entry(key).or_default();
            acc.rows += 1;
            let contribution = acc.persons.entry(person.clone()).or_default();
            match value {
                Some(Some(v)) => {
                    *contribution += v;
                    acc.values.push(v);
                    if spec.agg == Agg::Mode {
                        acc.holders
                            .entry(v.to_bits())
                            .or_default()
                            .insert(person.clone());
                    }
                    if v < 0.0 {
                        acc.negative += 1;
                    }
                }
                Some(None) => acc.missing += 1,
                None => {}
            }
        }
    }
    if unlabelled > 0 {
        notes.push(format!(
            "{unlabelled} row(s) without a label in an index or column left out"
        ));
    }
    if no_person > 0 {
        notes.push(format!(
            "{no_person} row(s) without a person left out (a row of nobody cannot be counted)"
        ));
    }
    // The grid: every row seen with every column seen (as a cross-tabulation shows it),
    // and the margins.
    let mut row_keys: Vec<Vec<String>> = rows_seen.into_iter().collect();
    let mut column_keys: Vec<Option<String>> = if spec.columns.is_some() {
        columns_seen.into_iter().map(Some).collect()
    } else {
        vec![None]
    };
    if spec.margins {
        row_keys.push(all_index);
        if spec.columns.is_some() {
            column_keys.push(Some(MARGIN.to_owned()));
        }
    }
    let size = row_keys.len() * column_keys.len();
    if size > MAX_CELLS {
        return Err(Error::TooManyCells(size));
    }
    let empty = Acc::default();
    let mut out = Vec::with_capacity(size);
    for labels in &row_keys {
        for column in &column_keys {
            let acc = cells
                .get(&(labels.clone(), column.clone()))
                .unwrap_or(&empty);
            out.push(cell(labels, column, acc, spec.agg, parameters));
        }
    }
    let findings = findings(&out, parameters);
    Ok(SafeTable {
        verdict: verdict_of(&findings),
        agg: spec.agg,
        index: spec.index.clone(),
        columns: spec.columns.clone(),
        cells: out,
        findings,
        parameters: *parameters,
        notes,
    })
}

/// A cell's statistic and flags.
fn cell(labels: &[String], column: &Option<String>, acc: &Acc, agg: Agg, p: &Parameters) -> Cell {
    let mut sorted = acc.values.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let sum: f64 = sorted.iter().sum();
    let mode = mode(&sorted);
    let value = match agg {
        Agg::Count => Some(acc.rows as f64),
        _ if n == 0 => None,
        Agg::Sum => Some(sum),
        Agg::Mean => Some(sum / n as f64),
        Agg::Median => Some(if n % 2 == 1 {
            sorted[n / 2]
        } else {
            f64::midpoint(sorted[n / 2 - 1], sorted[n / 2])
        }),
        Agg::Min => sorted.first().copied(),
        Agg::Max => sorted.last().copied(),
        Agg::Mode => mode,
        Agg::Std if n < 2 => None,
        Agg::Std => {
            let mean = sum / n as f64;
            let ss: f64 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
            Some((ss / (n - 1) as f64).sqrt())
        }
    };
    let contributors = acc.persons.len();
    let threshold = usize::try_from(p.threshold).unwrap_or(usize::MAX);
    let mut rules = Vec::new();
    if contributors < threshold {
        rules.push("threshold");
    } else if agg == Agg::Mode && mode_patients(acc, mode) < threshold {
        // The mode is a value patients hold: fewer than the minimum holding it tells it
        // of them.
        rules.push("threshold");
    }
    if acc.rows == 0 && p.zeros_are_disclosive {
        rules.push("zero");
    }
    if matches!(agg, Agg::Sum | Agg::Mean) {
        // Dominance on each patient's contribution's size: negative values neither hide a
        // dominant patient nor switch the check off.
        let mut contributions: Vec<f64> = acc.persons.values().map(|v| v.abs()).collect();
        contributions.sort_by(|a, b| b.total_cmp(a));
        let total: f64 = contributions.iter().sum();
        if total > 0.0 {
            let top: f64 = contributions.iter().take(p.dominance_n).sum();
            if top / total >= p.dominance_k {
                rules.push("dominance");
            }
            let largest = contributions[0];
            let rest = total - contributions.iter().take(2).sum::<f64>();
            if largest > 0.0 && rest / largest < p.p_ratio {
                rules.push("p-ratio");
            }
        }
    }
    if agg == Agg::Std && (contributors as u64).saturating_sub(1) < p.dof {
        rules.push("dof");
    }
    if acc.missing > 0 {
        rules.push("missing");
    }
    if acc.negative > 0 {
        rules.push("negative");
    }
    Cell {
        index: labels.to_vec(),
        column: column.clone(),
        value,
        contributors,
        rows: acc.rows,
        rules,
        suppressed: None,
    }
}

/// The most frequent value of sorted `values` (the smallest of equally frequent ones).
fn mode(sorted: &[f64]) -> Option<f64> {
    let mut best: (Option<f64>, usize) = (None, 0);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].total_cmp(&sorted[i]).is_eq() {
            j += 1;
        }
        if j - i > best.1 {
            best = (Some(sorted[i]), j - i);
        }
        i = j;
    }
    best.0
}

/// Patients holding the modal value.
fn mode_patients(acc: &Acc, mode: Option<f64>) -> usize {
    mode.and_then(|m| acc.holders.get(&m.to_bits()))
        .map_or(0, BTreeSet::len)
}

/// One finding per check that flagged cells.
pub(crate) fn findings(cells: &[Cell], p: &Parameters) -> Vec<Finding> {
    let mut by_check: BTreeMap<&'static str, Vec<&Cell>> = BTreeMap::new();
    for cell in cells {
        for rule in &cell.rules {
            by_check.entry(rule).or_default().push(cell);
        }
    }
    by_check
        .into_iter()
        .map(|(check, flagged)| Finding {
            check,
            rule: RULE,
            verdict: weight(check),
            message: format!("{} cell(s) flagged by the {check} check", flagged.len()),
            cells: flagged
                .iter()
                .map(|c| serde_json::json!({"index": c.index, "column": c.column}))
                .collect(),
            fix: fix(check, p),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::Column;

    fn frame(ty: &[&str], patient: &[&str], value: &[f64]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            Column::new("cancer_type".into(), ty),
            Column::new("patient".into(), patient),
            Column::new("value".into(), value),
        ])
        .expect("frame")
    }

    fn spec(agg: Agg, person: bool) -> Spec {
        Spec {
            index: vec!["cancer_type".into()],
            columns: None,
            values: (agg != Agg::Count).then(|| "value".into()),
            agg,
            margins: false,
            person: person.then(|| "patient".into()),
        }
    }

    #[test]
    fn one_patients_many_rows_are_one_contributor() {
        let patients: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
        let mut ids: Vec<&str> = patients.iter().map(String::as_str).collect();
        let mut types = vec!["A"; 12];
        let mut values: Vec<f64> = (0..12).map(f64::from).collect();
        // Type B: one patient with twelve samples.
        ids.extend(std::iter::repeat_n("solo", 12));
        types.extend(std::iter::repeat_n("B", 12));
        values.extend((0..12).map(f64::from));
        let df = frame(&types, &ids, &values);
        let p = Parameters::default();
        for agg in [Agg::Count, Agg::Median, Agg::Min, Agg::Max, Agg::Mode] {
            let t = build(&df, &spec(agg, true), &p).expect("table");
            let b = t.cells.iter().find(|c| c.index == ["B"]).expect("B");
            assert_eq!((b.rows, b.contributors), (12, 1));
            assert!(b.rules.contains(&"threshold"), "{agg:?}: {b:?}");
            assert_eq!(t.verdict, Verdict::Fail);
            // Without the person column the same rows pass the count (as ACRO's would).
            let rows = build(&df, &spec(agg, false), &p).expect("table");
            let b = rows.cells.iter().find(|c| c.index == ["B"]).expect("B");
            assert_eq!(b.contributors, 12);
        }
    }

    #[test]
    fn a_negative_value_flags_its_cell_and_dominance_still_holds_elsewhere() {
        let mut types = vec!["A"; 10];
        types.extend(vec!["B"; 10]);
        let ids: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        // A: one patient holds almost everything; B: one negative value, evenly spread.
        let mut values = vec![1000.0];
        values.extend(vec![1.0; 9]);
        values.extend(vec![-5.0]);
        values.extend(vec![10.0; 9]);
        let t = build(
            &frame(&types, &ids, &values),
            &spec(Agg::Sum, true),
            &Parameters::default(),
        )
        .expect("table");
        let a = &t.cells[0];
        let b = &t.cells[1];
        assert!(
            a.rules.contains(&"dominance") && a.rules.contains(&"p-ratio"),
            "{a:?}"
        );
        assert_eq!(b.rules, vec!["negative"], "{b:?}");
    }

    #[test]
    fn the_html_marks_flagged_and_suppressed_cells_in_words() {
        let df = frame(&["A", "A", "B"], &["p1", "p2", "p3"], &[1.0, 2.0, 3.0]);
        let t = build(&df, &spec(Agg::Count, true), &Parameters::default()).expect("table");
        let html = t.to_html();
        assert!(
            html.html
                .contains("<b>2</b> <small>(flagged: threshold)</small>"),
            "{}",
            html.html
        );
        assert!(html.text.contains("fail threshold"), "{}", html.text);
        let (safe, _) = crate::export::suppress(&t, None, &Parameters::default());
        assert!(safe.to_html().html.contains("suppressed (primary)"));
    }

    #[test]
    fn margins_come_from_the_rows_and_empty_cells_are_zero() {
        let df = DataFrame::new_infer_height(vec![
            Column::new("t".into(), ["A", "A", "B"]),
            Column::new("s".into(), ["x", "y", "x"]),
        ])
        .expect("frame");
        let t = build(
            &df,
            &Spec {
                index: vec!["t".into()],
                columns: Some("s".into()),
                values: None,
                agg: Agg::Count,
                margins: true,
                person: None,
            },
            &Parameters::default(),
        )
        .expect("table");
        let get = |i: &str, c: &str| {
            t.cells
                .iter()
                .find(|x| x.index == [i] && x.column.as_deref() == Some(c))
                .expect("cell")
        };
        assert_eq!(get("B", "y").value, Some(0.0));
        assert!(get("B", "y").rules.contains(&"zero"));
        assert_eq!(get("All", "All").value, Some(3.0));
        assert_eq!(get("A", "All").value, Some(2.0));
        assert_eq!(t.cells.len(), 9);
    }
}
