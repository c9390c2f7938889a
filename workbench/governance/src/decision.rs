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
    /// R18: password and second factor accepted.
    Login,
    /// R18: unknown user or wrong password (one answer for both: no user enumeration).
    Credentials,
    /// R18: the second factor (TOTP) is missing, wrong or outside its window.
    SecondFactor,
    /// R18: a TOTP code already used once is refused (replay).
    TotpReplay,
    /// R18: too many failed logins; the account is locked until an admin unlocks it.
    LockedOut,
    /// R18: the account is disabled.
    Disabled,
    /// R18: the user's role does not permit the action.
    Role,
    /// R33: academic-forum overview (aggregates over all consented data).
    AcademicOverview,
    /// R33: detailed analysis of the acquirer's own cases.
    OwnData,
    /// R33: another acquirer's cases need that acquirer's agreement and a committee report.
    AcquirerAgreement,
    /// R34: industry-forum overview (aggregates over all consented data, paid).
    IndustryOverview,
    /// R34: industry detailed analysis needs committee approval.
    CommitteeApproval,
    /// R34: the industry forum's fee is not paid.
    PaidPlan,
    /// R34: publication waits for the cancer type's embargo to end.
    Embargo,
    /// R34: the embargo shortened below 24 months, by a recorded decision of acquirers and
    /// analysts.
    EmbargoShortened,
    /// R34: patent filings are never blocked by the embargo.
    Patent,
    /// R33/R34: the project's tier gives aggregates only.
    Tier,
    /// R35: the public tier: genomic and basic clinical data after the release date.
    Public,
    /// R35: industry use of detailed clinical data needs its own approval.
    ClinicalDetail,
    /// R36: use only for the approved purpose.
    Purpose,
    /// R36: only institutions in Japan or countries with equivalent protection.
    Country,
    /// R36: the request lies outside the project's approved data scope.
    Scope,
    /// R36: the user is not a member of the project.
    Member,
    /// R36: the user's forum is not the project's.
    Forum,
    /// R36: the approval has expired.
    Expired,
    /// R36: the approval was revoked.
    Revoked,
    /// R37: the committee must have members of both sexes.
    BothSexes,
    /// R37: a reviewer or approver must be free of conflicts with the request.
    Conflict,
    /// R37: policy parameters change only by a recorded decision.
    PolicyChange,
    /// R18: the audit chain is intact or not.
    Audit,
    /// R18, R36: a notebook session exists, is open, and what its data view was made on
    /// (membership, licence, approvals, agreements) still stands.
    Session,
    /// R33/R34: every number an aggregate returns counts at least the policy's minimum of
    /// patients; smaller ones (and the ones that would reveal them) are suppressed.
    Disclosure,
    /// R39: only an approved, unchanged object leaves, by a signed release; decided
    /// requests never change.
    Export,
    /// R38: a publication from which individuals might be re-identified leaves only after
    /// its author has reported it to the committee again.
    Reidentification,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 40] = [
        Self::Consent,
        Self::ConsentMissing,
        Self::ConsentWithdrawn,
        Self::ConsentScope,
        Self::ConsentIndustry,
        Self::SecondaryFindings,
        Self::Login,
        Self::Credentials,
        Self::SecondFactor,
        Self::TotpReplay,
        Self::LockedOut,
        Self::Disabled,
        Self::Role,
        Self::AcademicOverview,
        Self::OwnData,
        Self::AcquirerAgreement,
        Self::IndustryOverview,
        Self::CommitteeApproval,
        Self::PaidPlan,
        Self::Embargo,
        Self::EmbargoShortened,
        Self::Patent,
        Self::Tier,
        Self::Public,
        Self::ClinicalDetail,
        Self::Purpose,
        Self::Country,
        Self::Scope,
        Self::Member,
        Self::Forum,
        Self::Expired,
        Self::Revoked,
        Self::BothSexes,
        Self::Conflict,
        Self::PolicyChange,
        Self::Audit,
        Self::Session,
        Self::Disclosure,
        Self::Export,
        Self::Reidentification,
    ];

    /// The stable id (`R31-withdrawn`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Consent => "R31-consent",
            Self::ConsentMissing => "R31-no-consent",
            Self::ConsentWithdrawn => "R31-withdrawn",
            Self::ConsentScope => "R31-scope",
            Self::ConsentIndustry => "R31-industry",
            Self::SecondaryFindings => "R32-secondary-findings",
            Self::Login => "R18-login",
            Self::Credentials => "R18-credentials",
            Self::SecondFactor => "R18-second-factor",
            Self::TotpReplay => "R18-totp-replay",
            Self::LockedOut => "R18-locked-out",
            Self::Disabled => "R18-disabled",
            Self::Role => "R18-role",
            Self::AcademicOverview => "R33-overview",
            Self::OwnData => "R33-own-data",
            Self::AcquirerAgreement => "R33-acquirer-agreement",
            Self::IndustryOverview => "R34-overview",
            Self::CommitteeApproval => "R34-committee-approval",
            Self::PaidPlan => "R34-paid-plan",
            Self::Embargo => "R34-embargo",
            Self::EmbargoShortened => "R34-embargo-shortened",
            Self::Patent => "R34-patent",
            Self::Tier => "R33-tier",
            Self::Public => "R35-public",
            Self::ClinicalDetail => "R35-clinical-detail",
            Self::Purpose => "R36-purpose",
            Self::Country => "R36-country",
            Self::Scope => "R36-scope",
            Self::Member => "R36-member",
            Self::Forum => "R36-forum",
            Self::Expired => "R36-expired",
            Self::Revoked => "R36-revoked",
            Self::BothSexes => "R37-both-sexes",
            Self::Conflict => "R37-conflict",
            Self::PolicyChange => "R37-policy",
            Self::Audit => "R18-audit",
            Self::Session => "R18-session",
            Self::Disclosure => "R33-disclosure",
            Self::Export => "R39-export",
            Self::Reidentification => "R38-report",
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
