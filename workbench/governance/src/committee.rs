//! The Data Access Review Committee (R37): its composition and who may review what.
//!
//! The committee must have members of both sexes. A reviewer of a request is never its
//! author, a member of the same project, from the same institution or company as the
//! author or a project member, or someone who declared a conflict with the institution,
//! company or project; [`reviewers`] says for every member why they are or are not
//! eligible, so that a selection can be explained.

use serde::Serialize;

use crate::people::{Role, Sex, User};
use crate::project::Project;
use crate::{Decision, Rule};

/// A declared conflict of interest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "name")]
pub enum Conflict {
    /// With an institution.
    Institution(String),
    /// With a company.
    Company(String),
    /// With a project.
    Project(String),
}

/// A committee member and their declared conflicts.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member.
    pub user: User,
    /// Declared conflicts.
    pub conflicts: Vec<Conflict>,
}

/// Whether the committee (its active members) has members of both sexes.
pub fn composition(members: &[Member]) -> Decision {
    let active: Vec<&Member> = members
        .iter()
        .filter(|m| m.user.role == Role::Committee && !m.user.disabled)
        .collect();
    let count = |sex: Sex| active.iter().filter(|m| m.user.sex == Some(sex)).count();
    let (female, male) = (count(Sex::Female), count(Sex::Male));
    if female == 0 || male == 0 {
        Decision::deny(
            Rule::BothSexes,
            format!(
                "the committee must have members of both sexes; it has {female} female and {male} male active member(s)"
            ),
        )
    } else {
        Decision::allow(
            Rule::BothSexes,
            format!("{female} female and {male} male active members"),
        )
    }
}

/// What a review is of: the author and the project it concerns, with the project's
/// members (their institutions and companies count too).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The user who asked (`None` for a project's licence, asked by its members).
    pub author: Option<&'a User>,
    /// The project.
    pub project: &'a Project,
    /// The project's members as users.
    pub members: &'a [User],
}

/// A committee member's eligibility for a request.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The member's user name.
    pub user: String,
    /// The member's sex.
    pub sex: Option<Sex>,
    /// Eligible or not, by which rule, and why.
    pub decision: Decision,
}

/// Every committee member with whether they may review `request`, and why not.
pub fn reviewers(members: &[Member], request: Request<'_>) -> Vec<Candidate> {
    members
        .iter()
        .filter(|m| m.user.role == Role::Committee)
        .map(|m| Candidate {
            user: m.user.name.clone(),
            sex: m.user.sex,
            decision: eligibility(m, request),
        })
        .collect()
}

/// Whether one member may review `request`.
pub fn eligibility(member: &Member, request: Request<'_>) -> Decision {
    let user = &member.user;
    let conflict = |why: String| Decision::deny(Rule::Conflict, why);
    if user.role != Role::Committee {
        return Decision::deny(
            Rule::Role,
            format!("{} is not a committee member", user.name),
        );
    }
    if user.disabled || user.locked {
        return Decision::deny(Rule::Role, format!("{} is disabled or locked", user.name));
    }
    let project = request.project;
    if request.author.is_some_and(|a| a.name == user.name) {
        return conflict(format!("{} is the author of the request", user.name));
    }
    if project.members.contains(&user.name) {
        return conflict(format!(
            "{} is a member of project {}",
            user.name, project.id
        ));
    }
    // The institutions and companies on the requesting side.
    let mut institutions: Vec<&str> = vec![project.institution.as_str()];
    let mut companies: Vec<&str> = Vec::new();
    for person in request.author.into_iter().chain(request.members) {
        institutions.push(&person.institution);
        companies.extend(person.company.as_deref());
    }
    // Names as people type them: "Hospital A " and "hospital a" are one institution.
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let among = |list: &[&str], name: &str| list.iter().any(|x| same(x, name));
    if among(&institutions, &user.institution) {
        return conflict(format!(
            "{} is from {}, the institution of the request",
            user.name, user.institution
        ));
    }
    if let Some(company) = user.company.as_deref()
        && among(&companies, company)
    {
        return conflict(format!(
            "{} is from {company}, the company of the request",
            user.name
        ));
    }
    for declared in &member.conflicts {
        let hit = match declared {
            Conflict::Institution(i) => among(&institutions, i),
            Conflict::Company(c) => among(&companies, c),
            Conflict::Project(p) => same(p, &project.id),
        };
        if hit {
            let (kind, name) = match declared {
                Conflict::Institution(n) => ("institution", n),
                Conflict::Company(n) => ("company", n),
                Conflict::Project(n) => ("project", n),
            };
            return conflict(format!(
                "{} declared a conflict with {kind} {name}",
                user.name
            ));
        }
    }
    Decision::allow(
        Rule::Conflict,
        format!("{} has no conflict with the request", user.name),
    )
}
