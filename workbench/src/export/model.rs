//! Model summaries that may leave: ordinary least squares fitted in the enclave, with the
//! residual degrees of freedom counted in **patients** (R33-disclosure).
//!
//! ACRO checks a model's residual degrees of freedom as the rows less the parameters, so
//! one patient's repeated rows buy degrees of freedom; here the disclosure check counts
//! distinct patients less the parameters (the statistics themselves, standard errors and
//! p-values, use the rows, as statsmodels does). A 0/1 indicator term is also checked:
//! its coefficient is a contrast between the patients it marks and the rest, so each side
//! needs the minimum of patients, which ACRO does not ask.

use std::collections::HashSet;

use polars::prelude::{DataFrame, DataType};
use serde::{Deserialize, Serialize};

use super::{Finding, Parameters, RULE, Verdict, fix, verdict_of, weight};

/// The `kind` a model summary's JSON carries, by which the airlock knows it.
pub const KIND: &str = "workbench-model-summary";

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A column is not in the data.
    #[error("no column {0:?} in the data")]
    NoColumn(String),
    /// A column is not numeric.
    #[error(
        "column {0:?} is not numeric ({1}); a model takes numbers (code categories as 0/1 columns)"
    )]
    NotNumeric(String, String),
    /// Fewer complete rows than parameters.
    #[error("{rows} complete row(s) for {parameters} parameter(s): the model cannot be fitted")]
    TooFewRows {
        /// Complete rows.
        rows: usize,
        /// Parameters, the intercept included.
        parameters: usize,
    },
    /// The predictors are collinear.
    #[error("the predictors are collinear (term {0:?} is a combination of the others)")]
    Collinear(String),
    /// polars failed reading a column.
    #[error(transparent)]
    Polars(#[from] polars::error::PolarsError),
}

/// One term of a fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Nothing rides along in a summary that the checks do not read.
#[serde(deny_unknown_fields)]
pub struct Term {
    /// `const` for the intercept, else the predictor's column.
    pub name: String,
    /// The coefficient.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Its t statistic.
    pub t: f64,
    /// Its two-sided p-value (Student's t with the rows' residual degrees of freedom).
    pub p_value: f64,
}

/// A fitted model's summary, what the checks found, and nothing row-level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Nothing rides along in a summary that the checks do not read.
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Always [`KIND`].
    pub kind: String,
    /// `ols`.
    pub model: String,
    /// The outcome column.
    pub outcome: String,
    /// The terms, the intercept first.
    pub terms: Vec<Term>,
    /// Complete rows used.
    pub rows: usize,
    /// Distinct patients behind them.
    pub patients: usize,
    /// Rows left out for a missing value.
    pub dropped: usize,
    /// Rows less parameters (statsmodels' `df_resid`).
    pub dof_rows: i64,
    /// Patients less parameters: what the disclosure check uses.
    pub dof_resid: i64,
    /// R².
    pub r_squared: f64,
    /// The automatic verdict.
    pub verdict: Verdict,
    /// The findings.
    pub findings: Vec<FindingRecord>,
}

/// A finding as stored in a model summary (owned, so the summary reads back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Nothing rides along in a summary that the checks do not read.
#[serde(deny_unknown_fields)]
pub struct FindingRecord {
    /// The check.
    pub check: String,
    /// The rule.
    pub rule: String,
    /// Its weight.
    pub verdict: Verdict,
    /// The terms concerned.
    pub cells: Vec<serde_json::Value>,
    /// Why.
    pub message: String,
    /// How to make it safe.
    pub fix: String,
}

impl FindingRecord {
    /// The finding in one line: verdict, check, rule, why and the fix.
    pub fn line(&self) -> String {
        format!(
            "{} {} ({}): {}; fix: {}",
            self.verdict.as_str(),
            self.check,
            self.rule,
            self.message,
            self.fix
        )
    }
}

impl From<Finding> for FindingRecord {
    fn from(f: Finding) -> FindingRecord {
        FindingRecord {
            check: f.check.to_owned(),
            rule: f.rule.to_owned(),
            verdict: f.verdict,
            cells: f.cells,
            message: f.message,
            fix: f.fix,
        }
    }
}

impl Model {
    /// The summary as HTML and text: the terms, the degrees of freedom, the verdict and
    /// its findings.
    pub fn to_html(&self) -> crate::display::Html {
        use crate::display::escape;
        use std::fmt::Write as _;
        let mut html = format!(
            "<table class=\"workbench-model\"><caption>{} (least squares): {} rows, {} patients, residual dof {} in patients ({} in rows), R² {:.4}; verdict <b>{}</b></caption><thead><tr><th>term</th><th>estimate</th><th>std. error</th><th>t</th><th>p</th></tr></thead><tbody>",
            escape(&self.outcome),
            self.rows,
            self.patients,
            self.dof_resid,
            self.dof_rows,
            self.r_squared,
            self.verdict.as_str()
        );
        let mut text = format!(
            "{} ~ {} rows, {} patients, residual dof {} (rows {}); verdict {}\n",
            self.outcome,
            self.rows,
            self.patients,
            self.dof_resid,
            self.dof_rows,
            self.verdict.as_str()
        );
        for t in &self.terms {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{:.6}</td><td>{:.6}</td><td>{:.3}</td><td>{:.4}</td></tr>",
                escape(&t.name),
                t.estimate,
                t.std_error,
                t.t,
                t.p_value
            );
            let _ = writeln!(
                text,
                "{}\t{:.6}\t{:.6}\t{:.3}\t{:.4}",
                t.name, t.estimate, t.std_error, t.t, t.p_value
            );
        }
        html.push_str("</tbody></table>");
        for f in &self.findings {
            let line = f.line();
            let _ = write!(html, "<p>{}</p>", escape(&line));
            let _ = writeln!(text, "{line}");
        }
        crate::display::Html { html, text }
    }

    /// Shows the summary as a cell's result (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display();
    }
}

/// Fits `outcome ~ const + predictors` by least squares over the rows of `df` with no
/// missing value in them, and checks it: residual degrees of freedom in patients
/// (`person` names each row's patient; without it every row is one), and each 0/1
/// indicator's patients on both sides.
///
/// # Errors
///
/// A column is missing or not numeric, too few complete rows, or collinear predictors.
pub fn ols(
    df: &DataFrame,
    outcome: &str,
    predictors: &[&str],
    person: Option<&str>,
    p: &Parameters,
) -> Result<Model, Error> {
    let numeric = |name: &str| -> Result<Vec<Option<f64>>, Error> {
        let column = df
            .column(name)
            .map_err(|_| Error::NoColumn(name.to_owned()))?;
        if *column.dtype() == DataType::String {
            // CSV read as text: numbers parsed here, naming the first that is not one.
            let text = column.str()?;
            return (0..text.len())
                .map(|r| (r, text.get(r)))
                .map(|(r, v)| match v {
                    None => Ok(None),
                    Some(text) => text
                        .trim()
                        .parse::<f64>()
                        .map(|x| Some(x).filter(|x| x.is_finite()))
                        .map_err(|_| {
                            Error::NotNumeric(name.to_owned(), format!("row {}: {text:?}", r + 1))
                        }),
                })
                .collect();
        }
        if !column.dtype().is_primitive_numeric() && *column.dtype() != DataType::Boolean {
            return Err(Error::NotNumeric(
                name.to_owned(),
                column.dtype().to_string(),
            ));
        }
        let cast = column.cast(&DataType::Float64)?;
        let numbers = cast.f64()?;
        Ok((0..numbers.len())
            .map(|i| numbers.get(i).filter(|x| x.is_finite()))
            .collect())
    };
    let y_all = numeric(outcome)?;
    let x_all: Vec<Vec<Option<f64>>> = predictors
        .iter()
        .map(|n| numeric(n))
        .collect::<Result<_, _>>()?;
    let persons: Option<Vec<Option<String>>> = match person {
        Some(name) => {
            let column = df
                .column(name)
                .map_err(|_| Error::NoColumn(name.to_owned()))?
                .cast(&DataType::String)?;
            let text = column.str()?;
            Some(
                (0..text.len())
                    .map(|i| text.get(i).map(str::to_owned))
                    .collect(),
            )
        }
        None => None,
    };
    // Complete rows only (statsmodels' missing="drop"); the count left out is reported.
    let complete: Vec<usize> = (0..df.height())
        .filter(|&r| {
            y_all[r].is_some()
                && x_all.iter().all(|x| x[r].is_some())
                && persons.as_ref().is_none_or(|ps| ps[r].is_some())
        })
        .collect();
    let dropped = df.height() - complete.len();
    let k = predictors.len() + 1;
    let n = complete.len();
    if n < k {
        return Err(Error::TooFewRows {
            rows: n,
            parameters: k,
        });
    }
    let y: Vec<f64> = complete
        .iter()
        .map(|&r| y_all[r].unwrap_or_default())
        .collect();
    // Column-major design matrix, the intercept first.
    let mut x: Vec<Vec<f64>> = vec![vec![1.0; n]];
    for column in &x_all {
        x.push(
            complete
                .iter()
                .map(|&r| column[r].unwrap_or_default())
                .collect(),
        );
    }
    let names: Vec<String> = std::iter::once("const".to_owned())
        .chain(predictors.iter().map(|s| (*s).to_owned()))
        .collect();
    let fit = least_squares(&x, &y).map_err(|j| Error::Collinear(names[j].clone()))?;
    let patient_of = |i: usize| -> String {
        match &persons {
            Some(ps) => ps[complete[i]].clone().unwrap_or_default(),
            None => i.to_string(),
        }
    };
    let patients = (0..n).map(patient_of).collect::<HashSet<_>>().len();
    let dof_rows = n as i64 - k as i64;
    let dof_resid = patients as i64 - k as i64;
    let mean = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let sigma2 = if dof_rows > 0 {
        fit.rss / dof_rows as f64
    } else {
        f64::NAN
    };
    let terms: Vec<Term> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let estimate = fit.beta[j];
            let std_error = (sigma2 * fit.xtx_inv_diag[j]).sqrt();
            let t = estimate / std_error;
            let p_value = if dof_rows > 0 && t.is_finite() {
                2.0 * student_t_sf(t.abs(), dof_rows as f64)
            } else {
                f64::NAN
            };
            Term {
                name: name.clone(),
                estimate,
                std_error,
                t,
                p_value,
            }
        })
        .collect();
    let mut findings: Vec<Finding> = Vec::new();
    let push =
        |findings: &mut Vec<Finding>, check: &'static str, cell, message: String| match findings
            .iter_mut()
            .find(|f| f.check == check)
        {
            Some(f) => f.cells.push(cell),
            None => findings.push(Finding {
                check,
                rule: RULE,
                verdict: weight(check),
                cells: vec![cell],
                message,
                fix: fix(check, p),
            }),
        };
    if dof_resid < i64::try_from(p.dof).unwrap_or(i64::MAX) {
        push(
            &mut findings,
            "dof",
            serde_json::json!({"term": "model", "dof_resid": dof_resid, "dof_rows": dof_rows}),
            format!(
                "{dof_resid} residual degree(s) of freedom counted in patients ({patients} patients, {k} parameters); at least {} needed",
                p.dof
            ),
        );
    }
    let threshold = usize::try_from(p.threshold).unwrap_or(usize::MAX);
    for (j, name) in predictors.iter().enumerate() {
        let column = &x[j + 1];
        if !column.iter().all(|v| *v == 0.0 || *v == 1.0) {
            continue;
        }
        let side = |value: f64| {
            (0..n)
                .filter(|&i| column[i] == value)
                .map(patient_of)
                .collect::<HashSet<_>>()
                .len()
        };
        let (ones, zeros) = (side(1.0), side(0.0));
        if ones < threshold || zeros < threshold {
            push(
                &mut findings,
                "threshold",
                serde_json::json!({"term": name, "patients_1": ones, "patients_0": zeros}),
                format!(
                    "an indicator term contrasts fewer than {} patients",
                    p.threshold
                ),
            );
        }
    }
    if dropped > 0 {
        push(
            &mut findings,
            "missing",
            serde_json::json!({"term": "model", "rows_dropped": dropped}),
            format!("{dropped} row(s) with a missing value were left out"),
        );
    }
    Ok(Model {
        kind: KIND.to_owned(),
        model: "ols".to_owned(),
        outcome: outcome.to_owned(),
        terms,
        rows: n,
        patients,
        dropped,
        dof_rows,
        dof_resid,
        r_squared: if tss > 0.0 {
            1.0 - fit.rss / tss
        } else {
            f64::NAN
        },
        verdict: verdict_of(&findings),
        findings: findings.into_iter().map(FindingRecord::from).collect(),
    })
}

/// Checks a model summary as the airlock receives it (the JSON a cell's [`Model`] is
/// written as): the residual degrees of freedom in patients, and its own findings kept.
/// `None` when `bytes` is not a model summary.
pub fn check_summary(bytes: &[u8], p: &Parameters) -> Option<(Verdict, Vec<FindingRecord>)> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if value.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
        return None;
    }
    let Ok(model) = serde_json::from_value::<Model>(value) else {
        // Says it is a summary but is not one: read whole, and failed until it is.
        let f = FindingRecord {
            check: "content".into(),
            rule: RULE.into(),
            verdict: Verdict::Fail,
            cells: Vec::new(),
            message: "a model summary that does not read as one".into(),
            fix: "make the summary with export::ols and request it unchanged".into(),
        };
        return Some((Verdict::Fail, vec![f]));
    };
    let mut findings = model.findings.clone();
    // Names are the only text a summary carries: no id or date among them.
    for name in std::iter::once(&model.outcome).chain(model.terms.iter().map(|t| &t.name)) {
        if super::check::looks_like_identifier(name) || super::check::looks_like_date(name) {
            findings.push(FindingRecord {
                check: "identifier".into(),
                rule: RULE.into(),
                verdict: Verdict::Fail,
                cells: vec![serde_json::json!({"term": name})],
                message: "a model's outcome or term is named by an id or a date".into(),
                fix: fix("identifier", p),
            });
        }
    }
    // The cell's word is re-checked where it can be: the degrees of freedom against the
    // policy's minimum.
    let threshold = i64::try_from(p.dof).unwrap_or(i64::MAX);
    let dof_short = model.dof_resid < threshold
        || model.patients as i64 - model.terms.len() as i64 != model.dof_resid;
    if dof_short && !findings.iter().any(|f| f.check == "dof") {
        findings.push(FindingRecord {
            check: "dof".into(),
            rule: RULE.into(),
            verdict: Verdict::Fail,
            cells: vec![serde_json::json!({"term": "model", "dof_resid": model.dof_resid})],
            message: format!(
                "{} residual degree(s) of freedom in patients; at least {} needed",
                model.dof_resid, p.dof
            ),
            fix: fix("dof", p),
        });
    }
    let verdict = findings
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    Some((verdict, findings))
}

/// A least-squares fit: coefficients, residual sum of squares and the diagonal of
/// (XᵀX)⁻¹ for the standard errors.
struct Fit {
    beta: Vec<f64>,
    rss: f64,
    xtx_inv_diag: Vec<f64>,
}

/// Householder QR of the column-major `x` (n × k), which keeps the conditioning of X
/// rather than squaring it as the normal equations do. `Err(j)`: column `j` is a
/// combination of the earlier ones.
fn least_squares(x: &[Vec<f64>], y: &[f64]) -> Result<Fit, usize> {
    let k = x.len();
    let n = y.len();
    let mut a: Vec<Vec<f64>> = x.to_vec();
    let mut b = y.to_vec();
    let scale: Vec<f64> = a
        .iter()
        .map(|c| {
            c.iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt()
                .max(f64::MIN_POSITIVE)
        })
        .collect();
    for j in 0..k {
        let norm = a[j][j..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm <= 1e-10 * scale[j] {
            return Err(j);
        }
        let alpha = if a[j][j] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = a[j][j..].to_vec();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|e| e * e).sum();
        if vv > 0.0 {
            for col in a.iter_mut().skip(j) {
                let dot: f64 = v.iter().zip(&col[j..]).map(|(p, q)| p * q).sum();
                let f = 2.0 * dot / vv;
                for (e, p) in col[j..].iter_mut().zip(&v) {
                    *e -= f * p;
                }
            }
            let dot: f64 = v.iter().zip(&b[j..]).map(|(p, q)| p * q).sum();
            let f = 2.0 * dot / vv;
            for (e, p) in b[j..].iter_mut().zip(&v) {
                *e -= f * p;
            }
        }
    }
    // R is a[j][i] for i ≤ j (column j, row i); back-substitute R β = Qᵀy.
    let mut beta = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|j| a[j][i] * beta[j]).sum();
        beta[i] = (b[i] - s) / a[i][i];
    }
    let rss: f64 = b[k..n].iter().map(|v| v * v).sum();
    // (XᵀX)⁻¹ = R⁻¹R⁻ᵀ: its diagonal is the squared norms of R⁻¹'s rows, summed here
    // column by column (column c of R⁻¹ solves R x = e_c).
    let mut xtx_inv_diag = vec![0.0; k];
    for c in 0..k {
        let mut col = vec![0.0; k];
        for i in (0..=c).rev() {
            let e = if i == c { 1.0 } else { 0.0 };
            let s: f64 = (i + 1..=c).map(|j| a[j][i] * col[j]).sum();
            col[i] = (e - s) / a[i][i];
        }
        for (d, v) in xtx_inv_diag.iter_mut().zip(&col) {
            *d += v * v;
        }
    }
    Ok(Fit {
        beta,
        rss,
        xtx_inv_diag,
    })
}

/// Student's t upper tail P(T > t) with `dof` degrees of freedom.
fn student_t_sf(t: f64, dof: f64) -> f64 {
    0.5 * regularized_beta(dof / (dof + t * t), dof / 2.0, 0.5)
}

/// The regularised incomplete beta function I_x(a, b), by its continued fraction (Lentz's
/// method), on the side of x where it converges fast.
fn regularized_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = crate::survival::ln_gamma(a + b)
        - crate::survival::ln_gamma(a)
        - crate::survival::ln_gamma(b)
        + a * x.ln()
        + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let step = |num: f64, c: &mut f64, d: &mut f64| {
            *d = 1.0 + num * *d;
            if d.abs() < TINY {
                *d = TINY;
            }
            *c = 1.0 + num / *c;
            if c.abs() < TINY {
                *c = TINY;
            }
            *d = 1.0 / *d;
            *c * *d
        };
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        h *= step(even, &mut c, &mut d);
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        let delta = step(odd, &mut c, &mut d);
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{Column, DataFrame};

    #[test]
    fn a_line_is_fitted_exactly_and_its_tail_probabilities_are_students() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| 2.0 + 3.0 * v + if *v as i64 % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let df = DataFrame::new(
            20,
            vec![Column::new("x".into(), x), Column::new("y".into(), y)],
        )
        .expect("frame");
        let m = ols(&df, "y", &["x"], None, &Parameters::default()).expect("fit");
        assert!((m.terms[1].estimate - 3.0).abs() < 0.01, "{m:?}");
        assert_eq!((m.rows, m.dof_rows, m.verdict), (20, 18, Verdict::Pass));
        // t = 2.101 is the 0.975 quantile of Student's t with 18 degrees of freedom.
        assert!((2.0 * student_t_sf(2.100_922, 18.0) - 0.05).abs() < 1e-5);
        assert!((student_t_sf(0.0, 5.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn repeated_rows_of_a_patient_buy_no_degrees_of_freedom() {
        // 30 rows, but 6 patients: 30 − 2 for the rows, 6 − 2 for the check.
        let x: Vec<f64> = (0..30).map(|i| f64::from(i % 7)).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v * 1.5 + (i % 3) as f64)
            .collect();
        let who: Vec<String> = (0..30).map(|i| format!("P{}", i % 6)).collect();
        let df = DataFrame::new(
            30,
            vec![
                Column::new("x".into(), x),
                Column::new("y".into(), y),
                Column::new("patient".into(), who),
            ],
        )
        .expect("frame");
        let m = ols(&df, "y", &["x"], Some("patient"), &Parameters::default()).expect("fit");
        assert_eq!((m.dof_rows, m.dof_resid, m.verdict), (28, 4, Verdict::Fail));
        let (verdict, _) = check_summary(
            &serde_json::to_vec(&m).expect("json"),
            &Parameters::default(),
        )
        .expect("a summary");
        assert_eq!(verdict, Verdict::Fail);
        // A summary whose degrees of freedom were edited to pass is still caught.
        let mut edited = m.clone();
        edited.findings.clear();
        edited.dof_resid = 40;
        let (verdict, findings) = check_summary(
            &serde_json::to_vec(&edited).expect("json"),
            &Parameters::default(),
        )
        .expect("a summary");
        assert_eq!(verdict, Verdict::Fail, "{findings:?}");
    }
}
