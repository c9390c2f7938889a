//! Decisions and the rules that make them.

use serde::Serialize;

/// A rule of the programme's policy. Its [`id`](Rule::id) is stable: audit records,
/// error messages and tests cite it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Rule {
    /// R31: consent stands and covers the use.
    Consent,
    /// R31: no consent is recorded (or it was given after the date of the use).
    ConsentMissing,
    /// R31: consent was withdrawn; the case leaves every use from that date.
    ConsentWithdrawn,
    /// R31: the consent's research scope (DUO) does not cover the use's purpose.
    ConsentScope,
    /// R31, R34: the patient did not consent to use by industry.
    ConsentIndustry,
    /// R15, R32: germline secondary findings only of patients who consented to them.
    SecondaryFindings,
}

impl Rule {
    /// The stable id (`R31-withdrawn`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Consent => "R31-consent",
            Self::ConsentMissing => "R31-no-consent",
            Self::ConsentWithdrawn => "R31-withdrawn",
            Self::ConsentScope => "R31-scope",
            Self::ConsentIndustry => "R31-industry",
            Self::SecondaryFindings => "R32-secondary-findings",
        }
    }
}

impl From<Rule> for &'static str {
    fn from(rule: Rule) -> &'static str {
        rule.id()
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// What the policy decided, by which rule, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The rule that decided.
    pub rule: Rule,
    /// Why, for a person.
    pub reason: String,
}

impl Decision {
    /// An allowing decision.
    pub fn allow(rule: Rule, reason: impl Into<String>) -> Decision {
        Decision {
            allowed: true,
            rule,
            reason: reason.into(),
        }
    }

    /// A refusing decision.
    pub fn deny(rule: Rule, reason: impl Into<String>) -> Decision {
        Decision {
            allowed: false,
            rule,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "refused" };
        write!(f, "{verdict} by {}: {}", self.rule, self.reason)
    }
}
