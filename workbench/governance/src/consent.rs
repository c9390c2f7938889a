//! Consent: which cases a use of the data may see (R31, with R32 and R34).
//!
//! A patient's consent governs every use of their data (R31): withdrawal removes the case
//! from every use from its date; the research scope recorded as a Data Use Ontology (DUO)
//! code limits what the data may be used for; use by industry (R34) needs its own
//! consent; germline secondary findings (R15, R32) are shown only for patients who agreed
//! to receive them. The workbench asks [`decide`] for every case before any row of the
//! case reaches a result.

use std::collections::BTreeSet;

use crate::{Decision, Rule};
use chrono::NaiveDate;

/// The research a patient consented to, as a DUO primary category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// DUO:0000042 general research use.
    Gru,
    /// DUO:0000006 health, medical or biomedical research.
    Hmb,
    /// DUO:0000007 disease-specific research: the case's own cancer type.
    Ds,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Self::Gru, Self::Hmb, Self::Ds];

    /// The DUO short code (`GRU`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gru => "GRU",
            Self::Hmb => "HMB",
            Self::Ds => "DS",
        }
    }

    /// Parses a DUO short code.
    pub fn parse(code: &str) -> Option<Scope> {
        Self::ALL.into_iter().find(|s| s.as_str() == code)
    }
}

/// The forum a user belongs to (R33, R34).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forum {
    /// The academic forum: data acquirers and data analysts (R33).
    Academic,
    /// The industry forum (R34).
    Industry,
}

/// What a use of the data is for, in the terms consent scopes are written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Research {
    /// Research that is neither medical nor about a disease (methods, population
    /// history): only general-research consent covers it.
    General,
    /// Health, medical or biomedical research not tied to the cases' cancers.
    HealthMedical,
    /// Research on cancer. `types` lists the OncoTree codes studied, each already
    /// expanded to its subtree by the caller; `None` means every cancer type of the
    /// programme, which covers each case's own cancer.
    Cancer {
        /// Cancer types studied; `None` for all.
        types: Option<BTreeSet<String>>,
    },
}

/// A use of the data: who, for what, on which date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The user's forum.
    pub forum: Forum,
    /// What the research is.
    pub research: Research,
    /// The date of the use: consent withdrawn on or before it excludes the case.
    pub on: NaiveDate,
}

impl Use {
    /// An academic-forum overview of all data for cancer research (R33), on `on`: what a
    /// session without a project of its own sees.
    pub fn overview(on: NaiveDate) -> Use {
        Use {
            forum: Forum::Academic,
            research: Research::Cancer { types: None },
            on,
        }
    }
}

/// What the lake records about one case's consent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts<'a> {
    /// Date consent was given.
    pub given_on: Option<NaiveDate>,
    /// The DUO code as recorded (`GRU`, `HMB`, `DS`).
    pub scope: Option<&'a str>,
    /// Whether the patient agreed to use by industry.
    pub industry: Option<bool>,
    /// Whether the patient agreed to receive secondary findings.
    pub secondary_findings: Option<bool>,
    /// Date consent was withdrawn.
    pub withdrawn_on: Option<NaiveDate>,
    /// The case's cancer type (OncoTree code), for disease-specific consent.
    pub cancer_type: Option<&'a str>,
}

/// Whether `data_use` may see the case whose consent is `facts`.
///
/// Withdrawal comes first: a withdrawn case is never shown, whatever else is recorded.
pub fn decide(facts: &Facts<'_>, data_use: &Use) -> Decision {
    if let Some(withdrawn_on) = facts.withdrawn_on
        && withdrawn_on <= data_use.on
    {
        return Decision::deny(
            Rule::ConsentWithdrawn,
            format!("consent withdrawn on {withdrawn_on}"),
        );
    }
    match facts.given_on {
        None => return Decision::deny(Rule::ConsentMissing, "no consent recorded"),
        Some(given_on) if given_on > data_use.on => {
            return Decision::deny(
                Rule::ConsentMissing,
                format!("consent given on {given_on}, after {}", data_use.on),
            );
        }
        Some(_) => {}
    }
    let Some(scope) = facts.scope.and_then(Scope::parse) else {
        return Decision::deny(
            Rule::ConsentScope,
            format!(
                "consent scope {:?} is not a DUO code the programme uses (GRU, HMB, DS)",
                facts.scope.unwrap_or("")
            ),
        );
    };
    let covered = match (&data_use.research, scope) {
        (_, Scope::Gru) => true,
        (Research::General, _) => false,
        (Research::HealthMedical | Research::Cancer { .. }, Scope::Hmb) => true,
        (Research::HealthMedical, Scope::Ds) => false,
        (Research::Cancer { types: None }, Scope::Ds) => true,
        (Research::Cancer { types: Some(types) }, Scope::Ds) => {
            facts.cancer_type.is_some_and(|t| types.contains(t))
        }
    };
    if !covered {
        return Decision::deny(
            Rule::ConsentScope,
            format!(
                "consent scope {} does not cover {}",
                scope.as_str(),
                describe(&data_use.research)
            ),
        );
    }
    if data_use.forum == Forum::Industry && facts.industry != Some(true) {
        return Decision::deny(
            Rule::ConsentIndustry,
            "the patient did not consent to use by industry",
        );
    }
    Decision::allow(
        Rule::Consent,
        format!("consent ({}) covers the use", scope.as_str()),
    )
}

/// Whether `data_use` may see the case's germline secondary findings: the case must be
/// visible ([`decide`]) and the patient must have agreed to secondary findings (R32).
pub fn decide_secondary_findings(facts: &Facts<'_>, data_use: &Use) -> Decision {
    let case = decide(facts, data_use);
    if !case.allowed {
        return case;
    }
    if facts.secondary_findings == Some(true) {
        Decision::allow(
            Rule::SecondaryFindings,
            "the patient agreed to receive secondary findings",
        )
    } else {
        Decision::deny(
            Rule::SecondaryFindings,
            "the patient did not agree to receive secondary findings",
        )
    }
}

fn describe(research: &Research) -> String {
    match research {
        Research::General => "general (non-medical) research".to_owned(),
        Research::HealthMedical => "health or medical research beyond the case's cancer".to_owned(),
        Research::Cancer { types: None } => "research on every cancer type".to_owned(),
        Research::Cancer { types: Some(types) } => format!(
            "research on {} only",
            types.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    fn consented(scope: &'static str) -> Facts<'static> {
        Facts {
            given_on: Some(day("2024-01-10")),
            scope: Some(scope),
            industry: Some(true),
            secondary_findings: Some(true),
            withdrawn_on: None,
            cancer_type: Some("LUAD"),
        }
    }

    fn academic(research: Research) -> Use {
        Use {
            forum: Forum::Academic,
            research,
            on: day("2026-12-01"),
        }
    }

    #[test]
    fn consent_that_stands_allows_the_overview() {
        let decision = decide(&consented("HMB"), &Use::overview(day("2026-12-01")));
        assert!(decision.allowed);
        assert_eq!(decision.rule, Rule::Consent);
    }

    #[test]
    fn withdrawal_on_or_before_the_date_refuses_whatever_else_holds() {
        let mut facts = consented("GRU");
        facts.withdrawn_on = Some(day("2026-12-01"));
        let decision = decide(&facts, &Use::overview(day("2026-12-01")));
        assert!(!decision.allowed);
        assert_eq!(decision.rule.id(), "R31-withdrawn");
        assert!(decision.reason.contains("2026-12-01"));
        // A use dated before the withdrawal (reproducing an earlier analysis) still saw it.
        assert!(decide(&facts, &Use::overview(day("2026-11-30"))).allowed);
        // Withdrawal also hides secondary findings.
        assert_eq!(
            decide_secondary_findings(&facts, &Use::overview(day("2026-12-01"))).rule,
            Rule::ConsentWithdrawn
        );
    }

    #[test]
    fn missing_or_later_consent_refuses() {
        let mut facts = consented("GRU");
        facts.given_on = None;
        assert_eq!(
            decide(&facts, &Use::overview(day("2026-12-01"))).rule,
            Rule::ConsentMissing
        );
        facts.given_on = Some(day("2027-01-01"));
        let decision = decide(&facts, &Use::overview(day("2026-12-01")));
        assert!(!decision.allowed);
        assert_eq!(decision.rule.id(), "R31-no-consent");
    }

    #[test]
    fn scopes_cover_the_research_they_name() {
        let general = academic(Research::General);
        let medical = academic(Research::HealthMedical);
        let all_cancer = academic(Research::Cancer { types: None });
        let lung = academic(Research::Cancer {
            types: Some(["LUAD".to_owned(), "LUSC".to_owned()].into()),
        });
        let breast = academic(Research::Cancer {
            types: Some(["BRCA".to_owned()].into()),
        });
        let expect = [
            ("GRU", &general, true),
            ("HMB", &general, false),
            ("DS", &general, false),
            ("HMB", &medical, true),
            ("DS", &medical, false),
            ("DS", &all_cancer, true),
            ("DS", &lung, true),
            ("DS", &breast, false),
            ("HMB", &breast, true),
        ];
        for (scope, data_use, allowed) in expect {
            let decision = decide(&consented(scope), data_use);
            assert_eq!(decision.allowed, allowed, "{scope} for {data_use:?}");
            if !allowed {
                assert_eq!(decision.rule, Rule::ConsentScope);
            }
        }
    }

    #[test]
    fn an_unknown_scope_refuses() {
        let decision = decide(&consented("ANY"), &Use::overview(day("2026-12-01")));
        assert!(!decision.allowed);
        assert_eq!(decision.rule, Rule::ConsentScope);
        assert!(decision.reason.contains("\"ANY\""), "{}", decision.reason);
    }

    #[test]
    fn industry_needs_the_patients_industry_consent() {
        let industry = Use {
            forum: Forum::Industry,
            ..Use::overview(day("2026-12-01"))
        };
        for (recorded, allowed) in [(Some(true), true), (Some(false), false), (None, false)] {
            let mut facts = consented("GRU");
            facts.industry = recorded;
            let decision = decide(&facts, &industry);
            assert_eq!(decision.allowed, allowed, "industry consent {recorded:?}");
            if !allowed {
                assert_eq!(decision.rule.id(), "R31-industry");
            }
            // The academic forum does not need it.
            assert!(decide(&facts, &Use::overview(day("2026-12-01"))).allowed);
        }
    }

    #[test]
    fn secondary_findings_need_their_own_agreement() {
        let data_use = Use::overview(day("2026-12-01"));
        let mut facts = consented("GRU");
        assert!(decide_secondary_findings(&facts, &data_use).allowed);
        facts.secondary_findings = Some(false);
        let decision = decide_secondary_findings(&facts, &data_use);
        assert!(!decision.allowed);
        assert_eq!(decision.rule.id(), "R32-secondary-findings");
        facts.secondary_findings = None;
        assert!(!decide_secondary_findings(&facts, &data_use).allowed);
        // The case itself stays visible.
        assert!(decide(&facts, &data_use).allowed);
    }

    #[test]
    fn decisions_print_rule_and_reason() {
        let mut facts = consented("GRU");
        facts.withdrawn_on = Some(day("2025-05-05"));
        let text = decide(&facts, &Use::overview(day("2026-12-01"))).to_string();
        assert_eq!(
            text,
            "refused by R31-withdrawn: consent withdrawn on 2025-05-05"
        );
    }
}
