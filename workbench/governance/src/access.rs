//! Access decisions: may this user, in this project, read, aggregate or export this table
//! on this date (R33–R36)? And which cases may a tier show (R31, R35)?
//!
//! [`check`] walks the rules in a fixed order, the account first (R18), then the
//! project's licence (R36: member, forum, revocation, expiry, country, purpose, fee), then
//! the tier and what it needs (R33 agreements, R34 committee approval, R35 clinical
//! detail and public release, R34 embargo). The first rule that refuses decides; when none
//! does, the rule that allowed is named. [`case_visible`] is the row filter every tier
//! applies: consent first, then the tier's scope.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::consent::{self, Forum, Use};
use crate::embargo::{self, Clock, Release};
use crate::people::User;
use crate::project::{Approval, Grant, Project, Purpose, Tier};
use crate::{Decision, Policy, Rule};

/// What a user wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Row-level reading.
    Read,
    /// Aggregates (counts, frequencies, survival curves), disclosure-controlled.
    Aggregate,
    /// Taking a result out through the export channel.
    Export,
}

impl Action {
    /// Parses `read`, `aggregate` or `export`.
    pub fn parse(name: &str) -> Option<Action> {
        match name {
            "read" => Some(Self::Read),
            "aggregate" => Some(Self::Aggregate),
            "export" => Some(Self::Export),
            _ => None,
        }
    }
}

/// The request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// What.
    pub action: Action,
    /// The lake table.
    pub table: &'a str,
    /// The cancer type the request is limited to (`None`: all in the project's scope).
    pub cancer_type: Option<&'a str>,
    /// Whose cases (the data-acquiring institution); `None`: the rows the tier allows.
    pub acquirer: Option<&'a str>,
    /// The purpose the user states, if any; it must be the licensed one.
    pub purpose: Option<Purpose>,
    /// For exports: publication or patent.
    pub release: Release,
    /// The date of the decision.
    pub on: NaiveDate,
}

/// The facts a decision rests on.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The user.
    pub user: &'a User,
    /// The project (`None`: unknown project id).
    pub project: Option<&'a Project>,
    /// The project's approvals.
    pub approvals: &'a [Approval],
    /// The policy in force.
    pub policy: &'a Policy,
    /// The embargo clocks on the request's date, when the lake is known.
    pub clocks: Option<&'a [Clock]>,
}

/// The decision on `request` given `facts`.
pub fn check(facts: Facts<'_>, request: &Request<'_>) -> Decision {
    let user = facts.user;
    if user.disabled {
        return Decision::deny(Rule::Disabled, format!("{} is disabled", user.name));
    }
    if user.locked {
        return Decision::deny(
            Rule::LockedOut,
            format!("{} is locked after repeated failed logins", user.name),
        );
    }
    let Some(forum) = user.role.forum() else {
        return Decision::deny(
            Rule::Role,
            format!(
                "the {} role sees no data: committee members review requests, admins run the enclave",
                user.role.as_str()
            ),
        );
    };
    let Some(project) = facts.project else {
        return Decision::deny(Rule::Member, "no such project");
    };
    if let Some(refused) = licence(user, forum, project, facts.policy, request) {
        return refused;
    }
    match request.action {
        Action::Aggregate => aggregate(facts, forum, request),
        Action::Read => read(facts, forum, project, request),
        Action::Export => export(facts, forum, project, request),
    }
}

/// R36: the licence itself, whatever the action.
fn licence(
    user: &User,
    forum: Forum,
    project: &Project,
    policy: &Policy,
    request: &Request<'_>,
) -> Option<Decision> {
    let on = request.on;
    if !project.members.contains(&user.name) {
        return Some(Decision::deny(
            Rule::Member,
            format!("{} is not a member of project {}", user.name, project.id),
        ));
    }
    if forum != project.forum {
        return Some(Decision::deny(
            Rule::Forum,
            format!(
                "{} is an {} user and project {} belongs to the {} forum",
                user.name,
                user.role.as_str(),
                project.id,
                crate::project::forum_name(project.forum)
            ),
        ));
    }
    if let Some(revoked) = project.revoked_on
        && revoked <= on
    {
        return Some(Decision::deny(
            Rule::Revoked,
            format!("project {} was revoked on {revoked}", project.id),
        ));
    }
    if on > project.expires {
        return Some(Decision::deny(
            Rule::Expired,
            format!(
                "project {}'s licence expired on {}",
                project.id, project.expires
            ),
        ));
    }
    if !policy
        .equivalent_countries
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&project.country))
    {
        return Some(Decision::deny(
            Rule::Country,
            format!(
                "{} is in {}, which is neither Japan nor a country with equivalent personal-data protection",
                project.institution, project.country
            ),
        ));
    }
    if let Some(purpose) = request.purpose
        && purpose != project.purpose
    {
        return Some(Decision::deny(
            Rule::Purpose,
            format!(
                "project {} is licensed for {}, not {}",
                project.id,
                project.purpose.as_str(),
                purpose.as_str()
            ),
        ));
    }
    if forum == Forum::Industry && !project.paid_plan {
        return Some(Decision::deny(
            Rule::PaidPlan,
            format!(
                "project {} has no paid plan of the industry forum",
                project.id
            ),
        ));
    }
    if request.action != Action::Aggregate {
        if !project.covers_table(request.table) {
            return Some(Decision::deny(
                Rule::Scope,
                format!(
                    "table {} is outside project {}'s scope",
                    request.table, project.id
                ),
            ));
        }
        if let Some(cancer_type) = request.cancer_type
            && !project.covers_cancer_type(cancer_type)
        {
            return Some(Decision::deny(
                Rule::Scope,
                format!(
                    "cancer type {cancer_type} is outside project {}'s scope ({})",
                    project.id,
                    join(&project.cancer_types)
                ),
            ));
        }
    }
    None
}

/// Aggregates: the overview of all consented data (R33/R34), except that industry use of
/// detailed clinical data, aggregated or not, needs its own approval (R35).
fn aggregate(facts: Facts<'_>, forum: Forum, request: &Request<'_>) -> Decision {
    if forum == Forum::Industry
        && facts.policy.is_detailed_clinical(request.table)
        && !granted(facts.approvals, Grant::ClinicalDetail, request.on)
    {
        return Decision::deny(
            Rule::ClinicalDetail,
            format!(
                "{} is detailed clinical data: industry use, aggregated too, needs its own committee approval",
                request.table
            ),
        );
    }
    overview(forum, facts.policy)
}

fn overview(forum: Forum, policy: &Policy) -> Decision {
    let rule = match forum {
        Forum::Academic => Rule::AcademicOverview,
        Forum::Industry => Rule::IndustryOverview,
    };
    Decision::allow(
        rule,
        format!(
            "aggregates over all consented data; counts below {} are suppressed",
            policy.min_cell_count
        ),
    )
}

fn read(facts: Facts<'_>, forum: Forum, project: &Project, request: &Request<'_>) -> Decision {
    let policy = facts.policy;
    let clinical_detail = policy.is_detailed_clinical(request.table);
    match project.tier {
        Tier::Overview => Decision::deny(
            Rule::Tier,
            format!(
                "project {} has the overview tier: aggregates only, no rows",
                project.id
            ),
        ),
        Tier::Public => public(facts.clocks, project, request, clinical_detail),
        Tier::Detailed => match forum {
            Forum::Industry => {
                if !granted(facts.approvals, Grant::Detailed, request.on) {
                    return Decision::deny(
                        Rule::CommitteeApproval,
                        format!(
                            "industry detailed analysis needs the committee's approval, which project {} does not have",
                            project.id
                        ),
                    );
                }
                if clinical_detail && !granted(facts.approvals, Grant::ClinicalDetail, request.on) {
                    return Decision::deny(
                        Rule::ClinicalDetail,
                        format!(
                            "{} is detailed clinical data: industry use needs its own committee approval",
                            request.table
                        ),
                    );
                }
                Decision::allow(
                    Rule::CommitteeApproval,
                    format!(
                        "rows within project {}'s scope, approved by the committee",
                        project.id
                    ),
                )
            }
            Forum::Academic => academic_rows(facts, request),
        },
    }
}

/// R33: own cases, and other acquirers' cases with their agreement and a committee report.
/// "Own" is the user's institution, not the project's: an analyst from another hospital in
/// a project needs the project hospital's agreement like anyone else.
fn academic_rows(facts: Facts<'_>, request: &Request<'_>) -> Decision {
    let own = facts.user.institution.as_str();
    let agreed = agreeing_acquirers(facts.approvals, request.on);
    match request.acquirer {
        Some(acquirer) if acquirer == own => {
            Decision::allow(Rule::OwnData, format!("{acquirer}'s own cases"))
        }
        Some(acquirer) if agreed.contains(acquirer) => Decision::allow(
            Rule::AcquirerAgreement,
            format!("{acquirer} agreed, and the committee was sent the report"),
        ),
        Some(acquirer) => Decision::deny(
            Rule::AcquirerAgreement,
            format!(
                "{acquirer}'s cases need {acquirer}'s recorded agreement and a report to the committee"
            ),
        ),
        None => Decision::allow(
            Rule::OwnData,
            format!(
                "rows of {own}'s own cases{}",
                if agreed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " and of acquirers who agreed: {}",
                        agreed.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                }
            ),
        ),
    }
}

/// The acquirers whose cases an academic project may read in detail on `on`.
pub fn agreeing_acquirers(approvals: &[Approval], on: NaiveDate) -> BTreeSet<&str> {
    approvals
        .iter()
        .filter(|a| {
            a.grant == Grant::AcquirerAgreement && a.reported_to_committee && a.stands_on(on)
        })
        .map(|a| a.institution.as_str())
        .collect()
}

fn public(
    clocks: Option<&[Clock]>,
    project: &Project,
    request: &Request<'_>,
    clinical_detail: bool,
) -> Decision {
    if clinical_detail {
        return Decision::deny(
            Rule::ClinicalDetail,
            format!(
                "{} is detailed clinical data, which is never public",
                request.table
            ),
        );
    }
    let Some(clocks) = clocks else {
        return Decision::deny(
            Rule::Public,
            "the public release dates need the lake's registrations; none was given",
        );
    };
    let released = |cancer_type: &str| {
        clocks
            .iter()
            .find(|c| c.cancer_type == cancer_type)
            .and_then(|c| c.public_on)
            .is_some_and(|date| date <= request.on)
    };
    match request.cancer_type {
        Some(cancer_type) if released(cancer_type) => Decision::allow(
            Rule::Public,
            format!("{cancer_type} is past its public release date"),
        ),
        Some(cancer_type) => Decision::deny(
            Rule::Public,
            format!("{cancer_type} is not yet past its public release date"),
        ),
        None => Decision::allow(
            Rule::Public,
            format!(
                "rows of cancer types past their public release date in project {}'s scope",
                project.id
            ),
        ),
    }
}

/// Exports: what the result is made of must itself be allowed (rows of an acquirer by
/// `read`, aggregates otherwise), then R34's embargo holds industry publications back;
/// patents are never held.
fn export(facts: Facts<'_>, forum: Forum, project: &Project, request: &Request<'_>) -> Decision {
    let basis = if request.acquirer.is_some() {
        read(facts, forum, project, request)
    } else {
        aggregate(facts, forum, request)
    };
    if !basis.allowed {
        return basis;
    }
    if request.release == Release::Patent {
        return Decision::allow(
            Rule::Patent,
            "patent filings are never blocked by the embargo",
        );
    }
    if forum == Forum::Academic {
        return Decision::allow(
            Rule::AcademicOverview,
            "academic results may be published once the export channel's checks pass",
        );
    }
    let Some(clocks) = facts.clocks else {
        return Decision::deny(
            Rule::Embargo,
            "the embargo clock needs the lake's registrations; none was given",
        );
    };
    let types: Vec<&str> = match request.cancer_type {
        Some(c) => vec![c],
        None if project.cancer_types.is_empty() => {
            clocks.iter().map(|c| c.cancer_type.as_str()).collect()
        }
        None => project.cancer_types.iter().map(String::as_str).collect(),
    };
    embargo::decide_release(clocks, &types, request.release)
}

fn granted(approvals: &[Approval], grant: Grant, on: NaiveDate) -> bool {
    approvals
        .iter()
        .any(|a| a.grant == grant && a.stands_on(on))
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// One case as the tier filter sees it.
#[derive(Debug, Clone)]
pub struct Case<'a> {
    /// Consent facts.
    pub consent: consent::Facts<'a>,
    /// Cancer type.
    pub cancer_type: &'a str,
    /// The data-acquiring institution.
    pub acquirer: &'a str,
}

/// Who is looking, for the tier filter.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The user.
    pub user: &'a User,
    /// The project.
    pub project: &'a Project,
    /// The project's approvals.
    pub approvals: &'a [Approval],
    /// The clocks (for the public tier's release dates).
    pub clocks: &'a [Clock],
    /// The tier being viewed: a project's overview tier is also every project's.
    pub tier: Tier,
    /// The date.
    pub on: NaiveDate,
}

/// Whether a case may appear in `viewer`'s tier: consent (R31) in every tier, then the
/// tier's own scope (detailed: the project's cancer types and, for academic users, own or
/// agreeing acquirers; public: past the release date).
pub fn case_visible(case: &Case<'_>, viewer: Viewer<'_>) -> Decision {
    let Some(forum) = viewer.user.role.forum() else {
        return Decision::deny(
            Rule::Role,
            format!("the {} role sees no data", viewer.user.role.as_str()),
        );
    };
    let research = match viewer.tier {
        Tier::Overview => consent::Research::Cancer { types: None },
        _ => viewer.project.research(),
    };
    let consent = consent::decide(
        &case.consent,
        &Use {
            forum,
            research,
            on: viewer.on,
        },
    );
    if !consent.allowed {
        return consent;
    }
    match viewer.tier {
        Tier::Overview => consent,
        Tier::Detailed => {
            if !viewer.project.covers_cancer_type(case.cancer_type) {
                return Decision::deny(
                    Rule::Scope,
                    format!("{} is outside the project's cancer types", case.cancer_type),
                );
            }
            if forum == Forum::Industry && !granted(viewer.approvals, Grant::Detailed, viewer.on) {
                return Decision::deny(
                    Rule::CommitteeApproval,
                    "industry rows need the committee's approval",
                );
            }
            if forum == Forum::Academic
                && case.acquirer != viewer.user.institution
                && !agreeing_acquirers(viewer.approvals, viewer.on).contains(case.acquirer)
            {
                return Decision::deny(
                    Rule::AcquirerAgreement,
                    format!("{} has not agreed", case.acquirer),
                );
            }
            consent
        }
        Tier::Public => {
            let released = viewer
                .clocks
                .iter()
                .find(|c| c.cancer_type == case.cancer_type)
                .and_then(|c| c.public_on)
                .is_some_and(|d| d <= viewer.on);
            if !viewer.project.covers_cancer_type(case.cancer_type) || !released {
                return Decision::deny(
                    Rule::Public,
                    format!("{} is not public (or outside the scope)", case.cancer_type),
                );
            }
            consent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embargo::Status;
    use crate::people::Role;
    use proptest::prelude::*;

    const TYPES: [&str; 4] = ["LUAD", "BRCA", "PAAD", "SARC"];
    const HOSPITALS: [&str; 3] = ["Hospital A", "Hospital B", "Hospital C"];
    const SCOPES: [&str; 4] = ["GRU", "HMB", "DS", "XYZ"];

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 1).expect("date") + chrono::TimeDelta::days(n)
    }

    fn user(role: Role, institution: &str) -> User {
        User {
            name: "u".into(),
            role,
            institution: institution.into(),
            company: None,
            sex: None,
            disabled: false,
            failures: 0,
            locked: false,
            last_totp_step: None,
        }
    }

    fn project(types: &[&str], institution: &str) -> Project {
        Project {
            id: "p".into(),
            title: "p".into(),
            forum: Forum::Academic,
            purpose: Purpose::AcademicResearch,
            institution: institution.into(),
            country: "JP".into(),
            cancer_types: types.iter().map(|t| (*t).to_owned()).collect(),
            tables: BTreeSet::new(),
            tier: Tier::Detailed,
            created_on: day(0),
            expires: day(2000),
            paid_plan: true,
            revoked_on: None,
            members: ["u".to_owned()].into(),
        }
    }

    fn clock(cancer_type: &str, public_on: Option<NaiveDate>) -> Clock {
        Clock {
            cancer_type: cancer_type.into(),
            cases: 100,
            rare: false,
            trigger: 100,
            start: public_on,
            months: 24,
            shortened: false,
            end: public_on,
            public_on,
            status: Status::Ended,
        }
    }

    proptest! {
        /// No tier ever yields a withdrawn, unconsented or out-of-scope case.
        #[test]
        fn no_tier_shows_a_withdrawn_or_out_of_scope_case(
            given in proptest::option::of(0i64..800),
            withdrawn in proptest::option::of(0i64..800),
            scope in 0usize..4,
            industry_consent in proptest::option::of(any::<bool>()),
            case_type in 0usize..4,
            acquirer in 0usize..3,
            industry_user in any::<bool>(),
            tier in 0usize..3,
            project_types in proptest::collection::btree_set(0usize..4, 0..3),
            agreed in proptest::collection::btree_set(0usize..3, 0..3),
            released in proptest::collection::btree_set(0usize..4, 0..4),
            on in 0i64..800,
            user_hospital in 0usize..3,
            industry_approved in any::<bool>(),
        ) {
            let cancer_type = TYPES[case_type];
            let case = Case {
                consent: consent::Facts {
                    given_on: given.map(day),
                    scope: Some(SCOPES[scope]),
                    industry: industry_consent,
                    secondary_findings: None,
                    withdrawn_on: withdrawn.map(day),
                    cancer_type: Some(cancer_type),
                },
                cancer_type,
                acquirer: HOSPITALS[acquirer],
            };
            let role = if industry_user { Role::Industry } else { Role::Analyst };
            let viewer_user = user(role, HOSPITALS[user_hospital]);
            let types: Vec<&str> = project_types.iter().map(|&i| TYPES[i]).collect();
            let p = project(&types, "Hospital A");
            let mut approvals: Vec<Approval> = agreed
                .iter()
                .map(|&i| Approval {
                    project: "p".into(),
                    grant: Grant::AcquirerAgreement,
                    by: "acq".into(),
                    institution: HOSPITALS[i].into(),
                    on: day(0),
                    reported_to_committee: true,
                    revoked_on: None,
                })
                .collect();
            if industry_approved {
                approvals.push(Approval {
                    project: "p".into(),
                    grant: Grant::Detailed,
                    by: "committee".into(),
                    institution: "University".into(),
                    on: day(0),
                    reported_to_committee: false,
                    revoked_on: None,
                });
            }
            let clocks: Vec<Clock> = TYPES
                .iter()
                .enumerate()
                .map(|(i, t)| clock(t, released.contains(&i).then(|| day(100))))
                .collect();
            let tier = [Tier::Overview, Tier::Detailed, Tier::Public][tier];
            let on = day(on);
            let decision = case_visible(&case, Viewer {
                user: &viewer_user,
                project: &p,
                approvals: &approvals,
                clocks: &clocks,
                tier,
                on,
            });
            if decision.allowed {
                prop_assert!(withdrawn.map(day).is_none_or(|w| w > on), "withdrawn case shown: {decision}");
                prop_assert!(given.map(day).is_some_and(|g| g <= on), "unconsented case shown");
                prop_assert!(SCOPES[scope] != "XYZ");
                if industry_user {
                    prop_assert_eq!(industry_consent, Some(true));
                }
                if tier != Tier::Overview {
                    prop_assert!(types.is_empty() || types.contains(&cancer_type), "out of scope: {decision}");
                }
                if tier == Tier::Detailed && !industry_user {
                    prop_assert!(acquirer == user_hospital || agreed.contains(&acquirer), "another acquirer's case without agreement");
                }
                if tier == Tier::Detailed && industry_user {
                    prop_assert!(industry_approved, "industry rows without approval");
                }
                if tier == Tier::Public {
                    prop_assert!(released.contains(&case_type) && day(100) <= on, "unreleased case public");
                }
            } else {
                prop_assert!(!decision.reason.is_empty());
            }
        }
    }

    fn facts<'a>(u: &'a User, p: &'a Project, policy: &'a Policy) -> Facts<'a> {
        Facts {
            user: u,
            project: Some(p),
            approvals: &[],
            policy,
            clocks: None,
        }
    }

    fn request(action: Action, table: &str) -> Request<'_> {
        Request {
            action,
            table,
            cancer_type: None,
            acquirer: None,
            purpose: None,
            release: Release::Publication,
            on: day(10),
        }
    }

    #[test]
    fn the_public_tier_never_shows_detailed_clinical_data_and_needs_release_dates() {
        let policy = Policy::default();
        let u = user(Role::Analyst, "Hospital A");
        let mut p = project(&[], "Hospital A");
        p.tier = Tier::Public;
        let d = check(facts(&u, &p, &policy), &request(Action::Read, "treatments"));
        assert_eq!((d.allowed, d.rule), (false, Rule::ClinicalDetail));
        let d = check(facts(&u, &p, &policy), &request(Action::Read, "diagnoses"));
        assert_eq!(
            (d.allowed, d.rule),
            (false, Rule::Public),
            "fails closed without the lake"
        );
        let clocks = [clock("LUAD", Some(day(5))), clock("BRCA", Some(day(50)))];
        let mut f = facts(&u, &p, &policy);
        f.clocks = Some(&clocks);
        let mut r = request(Action::Read, "diagnoses");
        r.cancer_type = Some("LUAD");
        assert!(check(f, &r).allowed);
        r.cancer_type = Some("BRCA");
        assert_eq!(check(f, &r).rule, Rule::Public);
        assert!(!check(f, &r).allowed);
    }

    #[test]
    fn a_country_outside_the_equivalence_list_is_refused_whatever_else_holds() {
        let policy = Policy::default();
        let u = user(Role::Analyst, "Hospital A");
        let mut p = project(&[], "Hospital A");
        p.country = "US".into();
        let d = check(facts(&u, &p, &policy), &request(Action::Aggregate, "cases"));
        assert_eq!((d.allowed, d.rule), (false, Rule::Country));
    }
}
