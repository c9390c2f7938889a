//! The rows a use may see: every table read through [`Lake`] passes the consent decisions
//! of `workbench-governance` (R31, R32, R34) for the case the row belongs to.
//!
//! This is the one place where consent meets data. Cohorts, joins, analyses, figures,
//! QC feedback, `table()` in a cell and the CLI all read through [`Lake`], so a withdrawn
//! case, or a case whose consent does not cover the use, cannot reach any of them.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use polars::prelude::*;
use workbench_governance::Rule;
use workbench_governance::consent::{self, Facts, Use};

use crate::hash::{FastSet, strs};
use crate::lake::{Error, Lake, Table};

/// Which cases, and which of their samples, the lake's use may see.
#[derive(Debug, Default)]
pub(crate) struct Visible {
    /// Cases whose consent covers the use.
    pub(crate) cases: FastSet<String>,
    /// Samples of those cases.
    pub(crate) samples: FastSet<String>,
    /// Samples of visible cases whose patients agreed to secondary findings (R32).
    pub(crate) secondary_findings_samples: FastSet<String>,
    /// Cases withheld, per rule.
    pub(crate) withheld: BTreeMap<Rule, usize>,
}

/// The column that ties a table's rows to a case or sample, and which set it must be in.
#[derive(Debug, Clone, Copy)]
enum Key {
    Case(&'static str),
    Sample(&'static str),
    SecondaryFindingsSample(&'static str),
}

impl Key {
    fn of(table: Table) -> Key {
        match table {
            Table::Registrations
            | Table::Cases
            | Table::Specimens
            | Table::Background
            | Table::Diagnoses
            | Table::Treatments
            | Table::Course
            | Table::AdverseEvents
            | Table::Samples => Key::Case("case_id"),
            Table::SomaticVariants => Key::Sample("tumor_sample_barcode"),
            Table::SequencingQc => Key::Sample("sample_id"),
            Table::GermlineVariants => Key::SecondaryFindingsSample("sample_id"),
        }
    }

    fn column(self) -> &'static str {
        match self {
            Key::Case(c) | Key::Sample(c) | Key::SecondaryFindingsSample(c) => c,
        }
    }

    fn set(self, visible: &Visible) -> &FastSet<String> {
        match self {
            Key::Case(_) => &visible.cases,
            Key::Sample(_) => &visible.samples,
            Key::SecondaryFindingsSample(_) => &visible.secondary_findings_samples,
        }
    }
}

/// A lake's use and, once read, what it may see (shared by clones of the [`Lake`]).
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) data_use: Use,
    /// The lake is a session's data view, written by the trusted side with only the rows
    /// its session may see: every case in it is visible (see [`VIEW_FILE`]).
    pub(crate) prefiltered: bool,
    visible: OnceLock<Visible>,
}

impl View {
    pub(crate) fn new(data_use: Use, prefiltered: bool) -> View {
        View {
            data_use,
            prefiltered,
            visible: OnceLock::new(),
        }
    }

    fn decided(data_use: Use, visible: Visible) -> View {
        View {
            data_use,
            prefiltered: false,
            visible: OnceLock::from(visible),
        }
    }
}

/// The file that marks a lake directory as a session's data view (`session::start`
/// writes it last): its rows were chosen by the tier, scope and consent of the session.
pub const VIEW_FILE: &str = "view.json";

/// One case as a row filter sees it: its consent, cancer type and data acquirer.
#[derive(Debug, Clone)]
pub struct CaseFacts<'a> {
    /// The case.
    pub case_id: &'a str,
    /// What the lake records about its consent.
    pub consent: Facts<'a>,
    /// Registered cancer type (OncoTree), if registered.
    pub cancer_type: Option<&'a str>,
    /// Data-acquiring institution, if registered.
    pub acquirer: Option<&'a str>,
}

/// A row filter's answer for one case: may it be seen, and its germline secondary
/// findings too (R32)?
#[derive(Debug, Clone)]
pub struct CaseVerdict {
    /// The decision on the case.
    pub decision: workbench_governance::Decision,
    /// The case's germline secondary findings may be seen.
    pub secondary_findings: bool,
}

/// Today in the data centre's calendar: the date of a use that names none, and of
/// anything recorded "today" (an import's registration and consent).
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

impl Lake {
    /// What this lake's use may see: decided once per [`Lake`] (and its clones), on its
    /// first read. A lake is written whole and never changed (`Lake::create`), so the
    /// decision holds for its files; a withdrawal recorded later arrives in a new lake,
    /// which a session opens afresh (`session::table` opens the lake on every call).
    pub(crate) fn visible(&self) -> Result<&Visible, Error> {
        if let Some(visible) = self.view.visible.get() {
            return Ok(visible);
        }
        let visible = self.decide()?;
        // Two threads may decide at once; both get the same answer from the same files.
        Ok(self.view.visible.get_or_init(|| visible))
    }

    fn decide(&self) -> Result<Visible, Error> {
        if self.view.prefiltered {
            return self.decide_by(&|_: &CaseFacts<'_>| CaseVerdict {
                decision: workbench_governance::Decision::allow(
                    Rule::Session,
                    "the session's view holds only the rows its session may see",
                ),
                secondary_findings: true,
            });
        }
        let data_use = &self.view.data_use;
        self.decide_by(&|case: &CaseFacts<'_>| CaseVerdict {
            decision: consent::decide(&case.consent, data_use),
            secondary_findings: consent::decide_secondary_findings(&case.consent, data_use).allowed,
        })
    }

    /// The same lake showing only the cases `verdict` allows, whatever this lake's use:
    /// how the trusted side makes a session's view (`session::start`), with the tier's
    /// filter (`access::case_visible`) in `verdict`.
    ///
    /// # Errors
    ///
    /// I/O, Parquet or schema errors reading the consent and registration columns.
    pub fn restricted(
        &self,
        verdict: &dyn Fn(&CaseFacts<'_>) -> CaseVerdict,
    ) -> Result<Lake, Error> {
        let visible = self.decide_by(verdict)?;
        Ok(Lake {
            root: self.root.clone(),
            view: std::sync::Arc::new(View::decided(self.view.data_use.clone(), visible)),
        })
    }

    fn decide_by(&self, verdict: &dyn Fn(&CaseFacts<'_>) -> CaseVerdict) -> Result<Visible, Error> {
        let cases = self.read_all(
            Table::Cases,
            Some(&[
                "case_id",
                "consent_date",
                "consent_scope",
                "consent_industry",
                "consent_secondary_findings",
                "consent_withdrawn_on",
            ]),
        )?;
        let registrations = self.read_all(
            Table::Registrations,
            Some(&["case_id", "cancer_type", "institution"]),
        )?;
        let samples = self.read_all(Table::Samples, Some(&["sample_id", "case_id"]))?;

        let schema = |table: Table, detail: PolarsError| Error::Schema {
            table,
            path: self.path(table),
            detail: detail.to_string(),
        };
        let registered: crate::hash::FastMap<&str, (Option<&str>, Option<&str>)> = {
            let column = |name: &str| {
                str_column(&registrations, name).map_err(|e| schema(Table::Registrations, e))
            };
            let (ids, types, acquirers) = (
                column("case_id")?,
                column("cancer_type")?,
                column("institution")?,
            );
            strs(ids)
                .zip(strs(types).zip(strs(acquirers)))
                .filter_map(|(id, facts)| Some((id?, facts)))
                .collect()
        };
        let column = |name: &str| cases.column(name).map_err(|e| schema(Table::Cases, e));
        let ids = str_column(&cases, "case_id").map_err(|e| schema(Table::Cases, e))?;
        let scope = str_column(&cases, "consent_scope").map_err(|e| schema(Table::Cases, e))?;
        let given_on = dates(column("consent_date")?).map_err(|e| schema(Table::Cases, e))?;
        let withdrawn_on =
            dates(column("consent_withdrawn_on")?).map_err(|e| schema(Table::Cases, e))?;
        let industry = column("consent_industry")?
            .bool()
            .map_err(|e| schema(Table::Cases, e))?
            .clone();
        let findings = column("consent_secondary_findings")?
            .bool()
            .map_err(|e| schema(Table::Cases, e))?
            .clone();

        let mut visible = Visible::default();
        let mut findings_cases = FastSet::default();
        // A lake the workbench wrote has one row per case; one from elsewhere might not,
        // and then a refusing row wins over an allowing one.
        let mut refused: FastSet<&str> = FastSet::default();
        for (i, (id, scope)) in strs(ids).zip(strs(scope)).enumerate() {
            let Some(id) = id else { continue };
            let (cancer_type, acquirer) = registered.get(id).copied().unwrap_or_default();
            let case = CaseFacts {
                case_id: id,
                consent: Facts {
                    given_on: given_on[i],
                    scope,
                    industry: industry.get(i),
                    secondary_findings: findings.get(i),
                    withdrawn_on: withdrawn_on[i],
                    cancer_type,
                },
                cancer_type,
                acquirer,
            };
            let CaseVerdict {
                decision,
                secondary_findings,
            } = verdict(&case);
            if !decision.allowed {
                *visible.withheld.entry(decision.rule).or_default() += 1;
                refused.insert(id);
                continue;
            }
            if secondary_findings {
                findings_cases.insert(id.to_owned());
            }
            visible.cases.insert(id.to_owned());
        }
        visible.cases.retain(|c| !refused.contains(c.as_str()));
        findings_cases.retain(|c: &String| !refused.contains(c.as_str()));
        let sample_ids =
            str_column(&samples, "sample_id").map_err(|e| schema(Table::Samples, e))?;
        let case_ids = str_column(&samples, "case_id").map_err(|e| schema(Table::Samples, e))?;
        // A sample listed under a withheld case too is withheld.
        let mut refused_samples: FastSet<&str> = FastSet::default();
        for (sample, case) in strs(sample_ids).zip(strs(case_ids)) {
            let (Some(sample), Some(case)) = (sample, case) else {
                continue;
            };
            if visible.cases.contains(case) {
                visible.samples.insert(sample.to_owned());
                if findings_cases.contains(case) {
                    visible.secondary_findings_samples.insert(sample.to_owned());
                }
            } else {
                refused_samples.insert(sample);
            }
        }
        visible
            .samples
            .retain(|s| !refused_samples.contains(s.as_str()));
        visible
            .secondary_findings_samples
            .retain(|s| !refused_samples.contains(s.as_str()));
        Ok(visible)
    }

    /// The embargo clock of every registered cancer type on `on` (R34): every
    /// registration counts, withdrawn cases too, because the clock measures the
    /// programme's accrual and shows no case's data; a clock once started never moves.
    ///
    /// # Errors
    ///
    /// I/O, Parquet or schema errors naming the table and file.
    pub fn embargo_clocks(
        &self,
        lengths: &[workbench_governance::embargo::Length],
        policy: &workbench_governance::Policy,
        on: NaiveDate,
    ) -> Result<Vec<workbench_governance::embargo::Clock>, Error> {
        use workbench_governance::embargo;
        let registrations = self.read_all(
            Table::Registrations,
            Some(&["case_id", "cancer_type", "registered_on"]),
        )?;
        let cases = self.read_all(Table::Cases, Some(&["case_id", "rare_cancer"]))?;
        let schema = |table: Table, detail: PolarsError| Error::Schema {
            table,
            path: self.path(table),
            detail: detail.to_string(),
        };
        let rare: FastSet<&str> = {
            let ids = str_column(&cases, "case_id").map_err(|e| schema(Table::Cases, e))?;
            let flags = cases
                .column("rare_cancer")
                .and_then(|c| c.bool())
                .map_err(|e| schema(Table::Cases, e))?;
            strs(ids)
                .zip(flags.iter())
                .filter_map(|(id, rare)| (rare == Some(true)).then_some(id).flatten())
                .collect()
        };
        let r = |e| schema(Table::Registrations, e);
        let ids = str_column(&registrations, "case_id").map_err(r)?;
        let types = str_column(&registrations, "cancer_type").map_err(r)?;
        let registered = dates(registrations.column("registered_on").map_err(r)?).map_err(r)?;
        let rows = strs(ids).zip(strs(types)).zip(registered).filter_map(
            |((id, cancer_type), registered_on)| {
                Some(embargo::Registration {
                    cancer_type: cancer_type?,
                    registered_on: registered_on?,
                    rare: id.is_some_and(|id| rare.contains(id)),
                })
            },
        );
        Ok(embargo::clocks(rows, lengths, policy, on))
    }

    /// Keeps the rows of `df` (read from `table`, with its key column) that the use may
    /// see; drops the key column again unless the caller asked for it.
    pub(crate) fn keep_visible(
        &self,
        table: Table,
        df: DataFrame,
        key_requested: bool,
    ) -> Result<DataFrame, Error> {
        let key = Key::of(table);
        let schema = |detail: PolarsError| Error::Schema {
            table,
            path: self.path(table),
            detail: detail.to_string(),
        };
        // A session's view was filtered when it was written; its tables may not include
        // those the decision reads (a project scoped to a few tables).
        if self.view.prefiltered {
            return if key_requested {
                Ok(df)
            } else {
                df.drop(key.column()).map_err(schema)
            };
        }
        let visible = self.visible()?;
        let set = key.set(visible);
        let ids = str_column(&df, key.column()).map_err(schema)?;
        let mask: BooleanChunked = strs(ids)
            .map(|id| id.is_some_and(|id| set.contains(id)))
            .collect();
        let mut df = df.filter(&mask).map_err(schema)?;
        if !key_requested {
            df = df.drop(key.column()).map_err(schema)?;
        }
        Ok(df)
    }

    /// The key column `table`'s rows are filtered on.
    pub(crate) fn key_column(table: Table) -> &'static str {
        Key::of(table).column()
    }
}

fn str_column<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<&'a StringChunked> {
    df.column(name)?.str()
}

/// A date column as `NaiveDate`s (polars stores days since the epoch).
fn dates(column: &Column) -> PolarsResult<Vec<Option<NaiveDate>>> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date");
    Ok(column
        .date()?
        .physical()
        .iter()
        .map(|days| days.and_then(|d| epoch.checked_add_signed(chrono::Duration::days(d.into()))))
        .collect())
}
