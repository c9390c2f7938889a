//! The export airlock's automatic disclosure checks (R33, R37–R39): safe tables made in the
//! enclave from row-level data, with what each check needs kept beside every cell, and
//! the checks of finished tables and files that ask to leave.
//!
//! As in ACRO, a table is made by the workbench, not handed over: dominance and p-ratio
//! need each cell's contributions, and contributors are **patients**, not rows (a patient
//! with three samples is one contributor). The checks and their parameters are ACRO's
//! (minimum count 10, dominance N = 2 and K = 0.9, p-ratio 0.1, residual degrees of
//! freedom 10, zeros disclosive), made stricter where ACRO lets disclosure through:
//! every statistic needs the minimum of patients (ACRO counts rows, and gives a mode no
//! minimum), the mode needs that many patients sharing it, a negative value flags its own
//! cell instead of switching dominance off for the whole table (dominance is computed on
//! the size of each patient's contribution), and missing values are always reported.

pub mod ask;
pub mod check;
pub mod model;
pub mod notebook;
pub mod release;
pub mod suppress;
pub mod survival;
pub mod table;

use serde::Serialize;

pub use ask::{Exportable, Requested, request};
pub use check::{CheckedFile, check_csv, differencing};
pub use model::{Model, ols};
pub use suppress::{Changes, suppress};
pub use table::{Agg, Cell, SafeTable, Spec, build};

/// The rule every disclosure finding is made under.
pub const RULE: &str = "R33-disclosure";

/// The disclosure-control parameters (ACRO's `default.yaml` names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Parameters {
    /// Fewest patients a cell may count (`safe_threshold`).
    pub threshold: u64,
    /// How many of the largest contributions the dominance rule adds up (`safe_nk_n`).
    pub dominance_n: usize,
    /// Share of a cell's total those may reach (`safe_nk_k`).
    pub dominance_k: f64,
    /// Least share of the largest contribution the rest must make up (`safe_pratio_p`).
    pub p_ratio: f64,
    /// Fewest residual degrees of freedom (`safe_dof_threshold`).
    pub dof: u64,
    /// Whether an empty cell of a frequency table discloses (`zeros_are_disclosive`).
    pub zeros_are_disclosive: bool,
}

impl Default for Parameters {
    fn default() -> Parameters {
        Parameters {
            threshold: 10,
            dominance_n: 2,
            dominance_k: 0.9,
            p_ratio: 0.1,
            dof: 10,
            zeros_are_disclosive: true,
        }
    }
}

/// The automatic verdict on an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing found.
    Pass,
    /// Findings a reviewer must look at (missing or negative values, free text).
    Review,
    /// Findings that stop the output (small or dominated cells, identifiers, dates).
    Fail,
}

impl Verdict {
    /// The word used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Review => "review",
            Verdict::Fail => "fail",
        }
    }
}

/// One check's finding over an output: which check, the cells or columns it concerns,
/// why, and how to make the output safe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The check (`threshold`, `zero`, `dominance`, `p-ratio`, `dof`, `missing`,
    /// `negative`, `identifier`, `date`, `free-text`, `row-level`).
    pub check: &'static str,
    /// The rule it is made under.
    pub rule: &'static str,
    /// What the finding means for the output.
    pub verdict: Verdict,
    /// The cells concerned (`index` labels and `column`), if any.
    pub cells: Vec<serde_json::Value>,
    /// Why, for a person.
    pub message: String,
    /// How to make the output safe.
    pub fix: String,
}

/// The verdict of a set of findings: the strictest.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    findings
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Verdict::Pass)
}

/// How a check's flags weigh: small, empty or dominated cells and too few degrees of
/// freedom stop an output; missing and negative values need a reviewer's eye.
pub(crate) fn weight(check: &str) -> Verdict {
    match check {
        "missing" | "negative" | "free-text" | "row-level" | "notebook" | "figure"
        | "unchecked-table" | "unchecked-output" => Verdict::Review,
        _ => Verdict::Fail,
    }
}

/// The fix a check's finding suggests, with the parameters in it.
pub(crate) fn fix(check: &str, p: &Parameters) -> String {
    match check {
        "threshold" => format!(
            "suppress these cells (with secondary suppression) or merge categories until every cell counts at least {} patients",
            p.threshold
        ),
        "zero" => "suppress the empty cells or merge categories: an empty cell tells that nobody in the group has the attribute".into(),
        "dominance" => format!(
            "the {} largest patients make up {:.0}% or more of the cell: suppress it or widen its group",
            p.dominance_n,
            p.dominance_k * 100.0
        ),
        "p-ratio" => format!(
            "the other patients add up to less than {:.0}% of the largest: suppress the cell or widen its group",
            p.p_ratio * 100.0
        ),
        "dof" => format!(
            "fewer than {} residual degrees of freedom: fit fewer parameters or use more patients",
            p.dof
        ),
        "missing" => "state how missing or suppressed values were handled (left out of the statistic, or suppressed so that margins and other cells cannot recover them)".into(),
        "negative" => "negative values: dominance was judged on the size of each patient's contribution; a reviewer checks the cell".into(),
        "notebook" => "reviewers read every cell and output; clear outputs that need not leave".into(),
        "figure" => "reviewers read what the figure shows; a figure of small groups is remade from a safe table".into(),
        "unchecked-table" => "show tables made with export::table (their cells are checked), or clear the output".into(),
        "unchecked-output" => "clear outputs of kinds the airlock cannot read".into(),
        "unsafe-output" => "clear the output, or remake the table or model until its checks pass (make_safe)".into(),
        "identifier" => "remove the identifier column: no case, sample or specimen id leaves the enclave".into(),
        "date" => "replace dates by coarser periods (year, or months since diagnosis)".into(),
        "free-text" => "remove free text, or have a reviewer read every value".into(),
        "row-level" => "export an aggregate table (`export::table`) instead of rows".into(),
        "differencing" => format!(
            "suppress or round these counts (differences from earlier releases must be 0 or at least {})",
            p.threshold
        ),
        _ => String::new(),
    }
}

/// A least-squares model summary as a cell asks for it: `export::model(&df, "os_months",
/// &["age", "smoker"])`, with each row's patient in `case_id` when `df` has one (the
/// residual degrees of freedom are counted in patients) and the default parameters.
///
/// # Errors
///
/// As [`model::ols`].
pub fn model(
    df: &polars::prelude::DataFrame,
    outcome: &str,
    predictors: &[&str],
) -> Result<Model, model::Error> {
    let person = df
        .get_column_names()
        .iter()
        .any(|n| n.as_str() == "case_id")
        .then_some("case_id");
    ols(df, outcome, predictors, person, &Parameters::default())
}

/// A safe table as a cell asks for it: `export::table(&df, &["cancer_type"])`, then
/// `.person("case_id")`, `.columns("stage")`, `.values("vaf", Agg::Mean)`, `.margins()`,
/// and `.make()?` (or `.make_safe(None)?` to suppress before asking).
#[derive(Debug, Clone)]
pub struct TableRequest<'a> {
    df: &'a polars::prelude::DataFrame,
    spec: Spec,
    parameters: Parameters,
}

/// Starts a safe table of `df` by the `index` columns (a frequency table until
/// `.values` says otherwise). The person column defaults to `case_id` when `df` has one:
/// contributors are patients.
pub fn table<'a>(df: &'a polars::prelude::DataFrame, index: &[&str]) -> TableRequest<'a> {
    let person = df
        .get_column_names()
        .iter()
        .any(|n| n.as_str() == "case_id")
        .then(|| "case_id".to_owned());
    TableRequest {
        df,
        spec: Spec {
            index: index.iter().map(|s| (*s).to_owned()).collect(),
            columns: None,
            values: None,
            agg: Agg::Count,
            margins: false,
            person,
        },
        parameters: Parameters::default(),
    }
}

impl TableRequest<'_> {
    /// The column naming each row's patient.
    #[must_use]
    pub fn person(mut self, column: &str) -> Self {
        self.spec.person = Some(column.to_owned());
        self
    }

    /// The column whose labels make the table's columns.
    #[must_use]
    pub fn columns(mut self, column: &str) -> Self {
        self.spec.columns = Some(column.to_owned());
        self
    }

    /// The statistic of `column` in each cell.
    #[must_use]
    pub fn values(mut self, column: &str, agg: Agg) -> Self {
        self.spec.values = Some(column.to_owned());
        self.spec.agg = agg;
        self
    }

    /// Totals per row and column, from the rows.
    #[must_use]
    pub fn margins(mut self) -> Self {
        self.spec.margins = true;
        self
    }

    /// Another minimum of patients per cell (the policy's may be stricter).
    #[must_use]
    pub fn threshold(mut self, patients: u64) -> Self {
        self.parameters.threshold = patients;
        self
    }

    /// The table, checked.
    ///
    /// # Errors
    ///
    /// A column is missing or not numeric, or the table would be too fine.
    pub fn make(&self) -> Result<SafeTable, table::Error> {
        build(self.df, &self.spec, &self.parameters)
    }

    /// The table, checked, with failing cells suppressed (and those that would give them
    /// back), rounded to `round` if given.
    ///
    /// # Errors
    ///
    /// As [`TableRequest::make`].
    pub fn make_safe(&self, round: Option<u64>) -> Result<SafeTable, table::Error> {
        let table = self.make()?;
        Ok(suppress(&table, round, &self.parameters).0)
    }
}
