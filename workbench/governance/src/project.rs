//! Projects and their approvals: purpose, forum, scope, tier, expiry (R33–R36).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::consent::{Forum, Research};

/// What a project is licensed for (R36), with its Data Use Ontology terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Academic research: health/medical research, not for profit.
    AcademicResearch,
    /// Drug development: health/medical research, commercial use.
    DrugDevelopment,
    /// Evidence-based prevention: health/medical research on preventing cancer.
    Prevention,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 3] = [
        Self::AcademicResearch,
        Self::DrugDevelopment,
        Self::Prevention,
    ];

    /// The name on the command line (`academic-research`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcademicResearch => "academic-research",
            Self::DrugDevelopment => "drug-development",
            Self::Prevention => "prevention",
        }
    }

    /// Parses a purpose name.
    pub fn parse(name: &str) -> Option<Purpose> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The DUO terms the purpose is recorded with: the permitted use (HMB) and, for
    /// academic research, the modifier that keeps it non-commercial (NCU).
    pub fn duo(self) -> &'static [&'static str] {
        match self {
            Self::AcademicResearch => &["DUO:0000006 HMB", "DUO:0000046 NCU"],
            Self::DrugDevelopment => &["DUO:0000006 HMB"],
            Self::Prevention => &["DUO:0000006 HMB"],
        }
    }
}

/// The tier a project's approval gives (R33–R35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Aggregates over all consented data, disclosure-controlled.
    Overview,
    /// Rows within the approved scope.
    Detailed,
    /// Genomic and basic clinical data of cancer types past their public release date.
    Public,
}

impl Tier {
    /// `overview`, `detailed` or `public`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Detailed => "detailed",
            Self::Public => "public",
        }
    }

    /// Parses a tier name.
    pub fn parse(name: &str) -> Option<Tier> {
        [Self::Overview, Self::Detailed, Self::Public]
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

/// A forum's name on the command line.
pub fn forum_name(forum: Forum) -> &'static str {
    match forum {
        Forum::Academic => "academic",
        Forum::Industry => "industry",
    }
}

/// Parses `academic` or `industry`.
pub fn parse_forum(name: &str) -> Option<Forum> {
    match name {
        "academic" => Some(Forum::Academic),
        "industry" => Some(Forum::Industry),
        _ => None,
    }
}

/// A project as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Project id.
    pub id: String,
    /// Title, for the public register (R39).
    pub title: String,
    /// Forum.
    pub forum: Forum,
    /// Licensed purpose.
    pub purpose: Purpose,
    /// Licensee institution.
    pub institution: String,
    /// The institution's country (ISO 3166 alpha-2).
    pub country: String,
    /// Cancer types in scope (OncoTree codes); empty: every type.
    pub cancer_types: BTreeSet<String>,
    /// Tables in scope; empty: every table.
    pub tables: BTreeSet<String>,
    /// The tier.
    pub tier: Tier,
    /// Registered on.
    pub created_on: NaiveDate,
    /// Last day of the licence.
    pub expires: NaiveDate,
    /// Industry forum: the fee is paid.
    pub paid_plan: bool,
    /// Revoked on, if it was.
    pub revoked_on: Option<NaiveDate>,
    /// Members' user names.
    pub members: BTreeSet<String>,
}

impl Project {
    /// The research, in consent's terms, this project's use of a case is.
    pub fn research(&self) -> Research {
        Research::Cancer {
            types: (!self.cancer_types.is_empty()).then(|| self.cancer_types.clone()),
        }
    }

    /// Whether the cancer type is in scope.
    pub fn covers_cancer_type(&self, cancer_type: &str) -> bool {
        self.cancer_types.is_empty() || self.cancer_types.contains(cancer_type)
    }

    /// Whether the table is in scope.
    pub fn covers_table(&self, table: &str) -> bool {
        self.tables.is_empty() || self.tables.contains(table)
    }
}

/// What an approval grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// Committee approval of detailed analysis (R34, industry).
    Detailed,
    /// Committee approval of industry use of detailed clinical data (R35).
    ClinicalDetail,
    /// A data acquirer's agreement to detailed analysis of its cases (R33).
    AcquirerAgreement,
}

impl Grant {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detailed => "detailed",
            Self::ClinicalDetail => "clinical-detail",
            Self::AcquirerAgreement => "acquirer-agreement",
        }
    }

    /// Parses a grant name.
    pub fn parse(name: &str) -> Option<Grant> {
        [
            Self::Detailed,
            Self::ClinicalDetail,
            Self::AcquirerAgreement,
        ]
        .into_iter()
        .find(|g| g.as_str() == name)
    }
}

/// A recorded approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// Project.
    pub project: String,
    /// What it grants.
    pub grant: Grant,
    /// Who decided (a committee member, or the agreeing acquirer).
    pub by: String,
    /// The approver's institution: for an agreement, the acquirer whose cases it opens.
    pub institution: String,
    /// Decided on.
    #[serde(serialize_with = "crate::dates::iso")]
    pub on: NaiveDate,
    /// For an acquirer's agreement: the committee was sent the report R33 requires.
    pub reported_to_committee: bool,
    /// Revoked on, if it was.
    #[serde(serialize_with = "crate::dates::iso_opt")]
    pub revoked_on: Option<NaiveDate>,
}

impl Approval {
    /// Whether the approval stands on `on`.
    pub fn stands_on(&self, on: NaiveDate) -> bool {
        self.on <= on && self.revoked_on.is_none_or(|r| r > on)
    }
}
