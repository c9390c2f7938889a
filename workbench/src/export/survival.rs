//! Safe survival tables: Kaplan–Meier steps per group with their small risk sets handled
//! rather than the whole table refused. A step is shown only while at least the minimum
//! of patients is at risk (the curve is cut where the risk set first falls below it: past
//! that, each step is a handful of identifiable patients' event times), and a group of
//! fewer patients than the minimum is not shown at all.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::{DataFrame, DataType};
use serde::Serialize;

use super::{Finding, Parameters, Verdict, verdict_of};
use crate::survival::{KaplanMeier, Observation};

/// One step of a shown curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The group.
    pub group: String,
    /// The time.
    pub time: f64,
    /// Patients at risk just before it.
    pub at_risk: usize,
    /// Events at it.
    pub events: usize,
    /// Censored at it.
    pub censored: usize,
    /// Survival just after it.
    pub survival: f64,
}

/// A survival table with its checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafeSurvival {
    /// The automatic verdict.
    pub verdict: Verdict,
    /// The shown steps, group by group.
    pub rows: Vec<Row>,
    /// Per group: patients, steps shown, steps cut (risk set below the minimum).
    pub groups: Vec<serde_json::Value>,
    /// The findings (none once small risk sets and groups are handled).
    pub findings: Vec<Finding>,
    /// What was withheld, and why.
    pub notes: Vec<String>,
    /// What the checks were made with.
    pub parameters: Parameters,
}

/// Why a survival table could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A column is missing or of the wrong kind.
    #[error("column {column:?}: {why}")]
    Column {
        /// The column.
        column: String,
        /// Why.
        why: String,
    },
    /// A patient appears in more than one row.
    #[error("patient {0:?} has more than one row: a survival table has one row per patient")]
    Repeated(String),
    /// The estimator refused the data.
    #[error(transparent)]
    Survival(#[from] crate::survival::Error),
}

/// The survival table of `df`: `time` (a number), `event` (1/true: the event; 0/false:
/// censored), per `group` if given, one row per patient (`person`, if given, is checked
/// for that).
///
/// # Errors
///
/// A column is missing or mistyped, a patient is repeated, a time is negative.
pub fn build(
    df: &DataFrame,
    time: &str,
    event: &str,
    group: Option<&str>,
    person: Option<&str>,
    p: &Parameters,
) -> Result<SafeSurvival, Error> {
    let col = |name: &str, ty: &DataType| {
        df.column(name)
            .map_err(|_| Error::Column {
                column: name.to_owned(),
                why: "not in the data".into(),
            })?
            .strict_cast(ty)
            .map_err(|e| Error::Column {
                column: name.to_owned(),
                why: e.to_string(),
            })
    };
    let times = col(time, &DataType::Float64)?;
    let times = times.f64().map_err(|e| Error::Column {
        column: time.to_owned(),
        why: e.to_string(),
    })?;
    let events = col(event, &DataType::Float64)?;
    let events = events.f64().map_err(|e| Error::Column {
        column: event.to_owned(),
        why: e.to_string(),
    })?;
    let labels = group.map(|g| col(g, &DataType::String)).transpose()?;
    let labels = labels
        .as_ref()
        .map(|c| {
            c.str().map_err(|e| Error::Column {
                column: group.unwrap_or_default().to_owned(),
                why: e.to_string(),
            })
        })
        .transpose()?;
    let persons = person.map(|c| col(c, &DataType::String)).transpose()?;
    let persons = persons
        .as_ref()
        .map(|c| {
            c.str().map_err(|e| Error::Column {
                column: person.unwrap_or_default().to_owned(),
                why: e.to_string(),
            })
        })
        .transpose()?;
    let mut seen = BTreeSet::new();
    let mut by_group: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
    for i in 0..df.height() {
        let (Some(t), Some(e)) = (times.get(i), events.get(i)) else {
            continue;
        };
        if let Some(id) = persons.and_then(|p| p.get(i))
            && !seen.insert(id.to_owned())
        {
            return Err(Error::Repeated(id.to_owned()));
        }
        let label = labels.map_or(Some("all"), |l| l.get(i));
        let Some(label) = label else { continue };
        by_group
            .entry(label.to_owned())
            .or_default()
            .push(Observation {
                time: t,
                event: e != 0.0,
            });
    }
    let threshold = usize::try_from(p.threshold).unwrap_or(usize::MAX);
    let (mut rows, mut groups) = (Vec::new(), Vec::new());
    let (mut small_groups, mut cut_steps) = (Vec::new(), 0usize);
    for (label, observations) in &by_group {
        let curve = KaplanMeier::fit(label, observations)?;
        if curve.n < threshold {
            small_groups.push(serde_json::json!({"group": label, "patients": curve.n}));
            groups.push(serde_json::json!({"group": label, "patients": null, "shown": 0, "cut": curve.steps.len()}));
            continue;
        }
        let shown: Vec<Row> = curve
            .steps
            .iter()
            .take_while(|s| s.at_risk >= threshold)
            .map(|s| Row {
                group: label.clone(),
                time: s.time,
                at_risk: s.at_risk,
                events: s.events,
                censored: s.censored,
                survival: s.survival,
            })
            .collect();
        let cut = curve.steps.len() - shown.len();
        cut_steps += cut;
        groups.push(serde_json::json!({"group": label, "patients": curve.n, "shown": shown.len(), "cut": cut}));
        rows.extend(shown);
    }
    let mut notes = Vec::new();
    if cut_steps > 0 {
        notes.push(format!(
            "{cut_steps} step(s) with fewer than {} patients at risk not shown (each curve ends where its risk set first falls below that)",
            p.threshold
        ));
    }
    if !small_groups.is_empty() {
        notes.push(format!(
            "{} group(s) of fewer than {} patients not shown: {}",
            small_groups.len(),
            p.threshold,
            small_groups
                .iter()
                .map(|g| g["group"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // What is shown holds at least the minimum at every step: nothing left to flag.
    let findings: Vec<Finding> = Vec::new();
    let verdict = verdict_of(&findings);
    Ok(SafeSurvival {
        verdict,
        rows,
        groups,
        findings,
        notes,
        parameters: *p,
    })
}
