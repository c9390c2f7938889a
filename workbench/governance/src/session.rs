//! Notebook sessions (R18, R36): one user working in one project, the data view made for
//! it, and whether what that view was made on still holds when the next cell runs.
//!
//! A view is materialised once, at the session's start, from the facts of that moment:
//! the project's tier and tables, the committee's grants, the acquirers who agreed. The
//! kernel asks [`still_allowed`] before every cell, so an expired licence, a removed
//! membership, a revocation or a withdrawn agreement ends the session's access at its
//! next cell instead of at its next start.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::access::{self, Action, Facts, Request};
use crate::embargo::Release;
use crate::project::{Approval, Grant, Project, Tier};
use crate::{Decision, Rule};

/// What a session's view was made on: if any of it stops standing, so does the view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// The tables in the view (none for the overview tier).
    pub tables: Vec<String>,
    /// Acquirers whose agreement let the view show their cases (academic, detailed).
    pub acquirers: BTreeSet<String>,
    /// Committee grants the view rests on (`detailed`, `clinical-detail`).
    pub grants: BTreeSet<String>,
}

impl Basis {
    /// The basis of a view of `tables` of `project` on `on`, given its approvals.
    pub fn of(
        project: &Project,
        approvals: &[Approval],
        tables: Vec<String>,
        on: NaiveDate,
    ) -> Basis {
        let acquirers = match project.tier {
            Tier::Detailed => access::agreeing_acquirers(approvals, on)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Tier::Overview | Tier::Public => BTreeSet::new(),
        };
        let grants = [Grant::Detailed, Grant::ClinicalDetail]
            .into_iter()
            .filter(|g| approvals.iter().any(|a| a.grant == *g && a.stands_on(on)))
            .map(|g| g.as_str().to_owned())
            .collect();
        Basis {
            tables,
            acquirers,
            grants,
        }
    }
}

/// A session as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// Its id (32 hex digits, random).
    pub id: String,
    /// The user.
    pub user: String,
    /// The project.
    pub project: String,
    /// The project's tier when the view was made.
    pub tier: Tier,
    /// The view's directory.
    pub view: String,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// When it ended, if it has.
    pub ended: Option<String>,
    /// What the view was made on.
    pub basis: Basis,
}

/// Whether `session` may run a cell on `on`, given the facts of now (`facts.user` and
/// `facts.project` as the store has them today): the session is open and its user's,
/// the account and the licence pass [`access::check`], and nothing the view was made on
/// has gone. The first rule that refuses decides.
pub fn still_allowed(facts: Facts<'_>, session: &Session, on: NaiveDate) -> Decision {
    if let Some(ended) = &session.ended {
        return Decision::deny(
            Rule::Session,
            format!("session {} ended at {ended}", session.id),
        );
    }
    if facts.user.name != session.user {
        return Decision::deny(
            Rule::Session,
            format!("session {} is not {}'s", session.id, facts.user.name),
        );
    }
    // The account and the licence (R18, R36), whatever the tier: an aggregate request
    // asks exactly those and nothing about one table.
    let licence = access::check(
        facts,
        &Request {
            action: Action::Aggregate,
            table: "",
            cancer_type: None,
            acquirer: None,
            purpose: None,
            release: Release::Publication,
            on,
        },
    );
    if !licence.allowed {
        return licence;
    }
    let Some(project) = facts.project else {
        return Decision::deny(Rule::Member, "no such project");
    };
    if project.id != session.project {
        return Decision::deny(
            Rule::Session,
            format!(
                "session {} belongs to project {}",
                session.id, session.project
            ),
        );
    }
    if project.tier != session.tier {
        return Decision::deny(
            Rule::Session,
            format!(
                "project {}'s tier changed from {} to {}; start a new session",
                project.id,
                session.tier.as_str(),
                project.tier.as_str()
            ),
        );
    }
    if let Some(table) = session
        .basis
        .tables
        .iter()
        .find(|t| !project.covers_table(t))
    {
        return Decision::deny(
            Rule::Scope,
            format!(
                "table {table} is no longer in project {}'s scope",
                project.id
            ),
        );
    }
    let now = Basis::of(project, facts.approvals, Vec::new(), on);
    if let Some(acquirer) = session.basis.acquirers.difference(&now.acquirers).next() {
        return Decision::deny(
            Rule::AcquirerAgreement,
            format!(
                "the view shows {acquirer}'s cases by an agreement that no longer stands; start a new session"
            ),
        );
    }
    if let Some(grant) = session.basis.grants.difference(&now.grants).next() {
        let rule = if grant == Grant::ClinicalDetail.as_str() {
            Rule::ClinicalDetail
        } else {
            Rule::CommitteeApproval
        };
        return Decision::deny(
            rule,
            format!("the committee's {grant} approval the view rests on no longer stands"),
        );
    }
    Decision::allow(
        Rule::Session,
        format!(
            "session {} of {} in project {} stands",
            session.id, session.user, session.project
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use crate::consent::Forum;
    use crate::people::{Role, User};
    use crate::project::Purpose;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, n).expect("date")
    }

    fn user() -> User {
        User {
            name: "ana".into(),
            role: Role::Analyst,
            institution: "Hospital A".into(),
            company: None,
            sex: None,
            disabled: false,
            failures: 0,
            locked: false,
            last_totp_step: None,
        }
    }

    fn project() -> Project {
        Project {
            id: "p1".into(),
            title: "t".into(),
            forum: Forum::Academic,
            purpose: Purpose::AcademicResearch,
            institution: "Hospital A".into(),
            country: "JP".into(),
            cancer_types: BTreeSet::from(["LUAD".to_owned()]),
            tables: BTreeSet::new(),
            tier: Tier::Detailed,
            created_on: day(1),
            expires: day(20),
            paid_plan: false,
            revoked_on: None,
            members: BTreeSet::from(["ana".to_owned()]),
        }
    }

    fn agreement(on: NaiveDate, revoked_on: Option<NaiveDate>) -> Approval {
        Approval {
            project: "p1".into(),
            grant: Grant::AcquirerAgreement,
            by: "bo".into(),
            institution: "Hospital B".into(),
            on,
            reported_to_committee: true,
            revoked_on,
        }
    }

    fn session(basis: Basis) -> Session {
        Session {
            id: "s1".into(),
            user: "ana".into(),
            project: "p1".into(),
            tier: Tier::Detailed,
            view: "/v".into(),
            started: "2026-01-02T00:00:00Z".into(),
            ended: None,
            basis,
        }
    }

    fn decide(project: &Project, approvals: &[Approval], session: &Session, on: u32) -> Decision {
        let user = user();
        let policy = Policy::default();
        still_allowed(
            Facts {
                user: &user,
                project: Some(project),
                approvals,
                policy: &policy,
                clocks: None,
            },
            session,
            day(on),
        )
    }

    #[test]
    fn a_standing_session_is_allowed_and_names_its_rule() {
        let approvals = [agreement(day(1), None)];
        let basis = Basis::of(&project(), &approvals, vec!["diagnoses".into()], day(2));
        assert_eq!(basis.acquirers, BTreeSet::from(["Hospital B".to_owned()]));
        let decision = decide(&project(), &approvals, &session(basis), 3);
        assert!(decision.allowed, "{decision}");
        assert_eq!(decision.rule, Rule::Session);
    }

    #[test]
    fn what_the_view_was_made_on_going_away_ends_access() {
        let approvals = [agreement(day(1), None)];
        let basis = Basis::of(&project(), &approvals, vec!["diagnoses".into()], day(2));
        let s = session(basis);
        // The licence expires.
        assert_eq!(decide(&project(), &approvals, &s, 21).rule, Rule::Expired);
        // The membership goes.
        let mut removed = project();
        removed.members.clear();
        assert_eq!(decide(&removed, &approvals, &s, 3).rule, Rule::Member);
        // The acquirer's agreement is revoked.
        let revoked = [agreement(day(1), Some(day(3)))];
        let decision = decide(&project(), &revoked, &s, 3);
        assert!(!decision.allowed);
        assert_eq!(decision.rule, Rule::AcquirerAgreement);
        // The tier changes.
        let mut overview = project();
        overview.tier = Tier::Overview;
        assert_eq!(decide(&overview, &approvals, &s, 3).rule, Rule::Session);
        // The session ended.
        let mut ended = s.clone();
        ended.ended = Some("2026-01-03T00:00:00Z".into());
        let decision = decide(&project(), &approvals, &ended, 3);
        assert!(!decision.allowed);
        assert_eq!(decision.rule, Rule::Session);
    }
}
