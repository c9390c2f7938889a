//! The public register of licensees (R39): who may use the data, for what, until when.

use chrono::NaiveDate;
use serde::Serialize;

use crate::project::{self, Approval, Project};

/// One licence in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Licensee institution.
    pub institution: String,
    /// Project title.
    pub project_title: String,
    /// Forum.
    pub forum: &'static str,
    /// Purpose.
    pub purpose: &'static str,
    /// Tier.
    pub tier: &'static str,
    /// Licensed from.
    #[serde(serialize_with = "crate::dates::iso")]
    pub from: NaiveDate,
    /// Licensed until.
    #[serde(serialize_with = "crate::dates::iso")]
    pub until: NaiveDate,
    /// Revoked on, if it was (R36: violators' names are published).
    #[serde(serialize_with = "crate::dates::iso_opt")]
    pub revoked_on: Option<NaiveDate>,
    /// Committee approvals and acquirers' agreements, with their dates.
    #[serde(serialize_with = "crate::dates::iso_pairs")]
    pub approvals: Vec<(String, NaiveDate)>,
}

/// The register of `projects`, each with its approvals, by institution then title.
pub fn entries(projects: &[(Project, Vec<Approval>)]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = projects
        .iter()
        .map(|(p, approvals)| Entry {
            institution: p.institution.clone(),
            project_title: p.title.clone(),
            forum: project::forum_name(p.forum),
            purpose: p.purpose.as_str(),
            tier: p.tier.as_str(),
            from: p.created_on,
            until: p.expires,
            revoked_on: p.revoked_on,
            approvals: approvals
                .iter()
                .map(|a| (a.grant.as_str().to_owned(), a.on))
                .collect(),
        })
        .collect();
    entries.sort_by(|a, b| {
        (&a.institution, &a.project_title).cmp(&(&b.institution, &b.project_title))
    });
    entries
}

/// The register as a self-contained HTML page (no script, no external resources).
pub fn html(entries: &[Entry], on: NaiveDate) -> String {
    let mut rows = String::new();
    for e in entries {
        let approvals = e
            .approvals
            .iter()
            .map(|(what, on)| format!("{} {on}", escape(what)))
            .collect::<Vec<_>>()
            .join("<br>");
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&e.institution),
            escape(&e.project_title),
            e.forum,
            e.purpose,
            e.tier,
            e.from,
            e.until,
            e.revoked_on.map_or_else(String::new, |d| d.to_string()),
            approvals
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Register of licensees</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px 8px;text-align:left}}</style>
</head><body>
<h1>Register of licensees</h1>
<p>Institutions licensed to use the programme's data (R39), as of {on}.</p>
<table><thead><tr><th>Institution</th><th>Project</th><th>Forum</th><th>Purpose</th><th>Tier</th><th>From</th><th>Until</th><th>Revoked</th><th>Approvals</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
"#
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
