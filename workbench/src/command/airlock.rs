//! `workbench export request|review|show|release|verify|key`: the airlock's requests,
//! blind reviews and signed releases, every step decided by a named rule and audited.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use workbench::export::{self, Parameters, release};
use workbench_governance::airlock::{self, ExportRequest, Intent, Review, State, Vote};
use workbench_governance::committee;
use workbench_governance::consent::Forum;
use workbench_governance::embargo;
use workbench_governance::project::Tier;
use workbench_governance::store::{Change, Sqlite, Store, new_id};
use workbench_governance::{Decision, Rule};

use super::export::{
    KeyArgs, ReleaseArgs, ReportArgs, RequestArgs, ReviewArgs, ShowArgs, VerifyArgs,
};
use super::governance::{committee_members, known_project, known_user, member_users};

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Records a refusal and fails with it.
fn refuse(store: &mut Sqlite, mut event: Value, decision: &Decision) -> Result<ExitCode> {
    event["decision"] = serde_json::to_value(decision)?;
    store.record(event)?;
    bail!("{decision}");
}

/// The automatic checks of an object by its kind: a CSV table is checked cell by cell
/// and for identifiers, dates, free text and row-level data; anything else (a figure, a
/// notebook, a document) goes to the reviewers to be read whole.
fn automatic_checks(file: &Path, bytes: &[u8], parameters: &Parameters) -> Result<(String, Value)> {
    // JSON objects first (a notebook or a model summary could read as a ragged CSV),
    // then by content, not by name: a table called `t.txt` is still a table.
    if let Some((verdict, findings)) = export::notebook::check_notebook(bytes, parameters) {
        return Ok((verdict.as_str().to_owned(), serde_json::to_value(findings)?));
    }
    if let Some((verdict, findings)) = export::model::check_summary(bytes, parameters) {
        return Ok((verdict.as_str().to_owned(), serde_json::to_value(findings)?));
    }
    if as_table(bytes) {
        let counts = export::check::safe_table_counts(bytes);
        let checked = export::check_csv(bytes, counts.as_deref(), parameters)
            .with_context(|| format!("checking {}", file.display()))?;
        return Ok((
            checked.verdict.as_str().to_owned(),
            serde_json::to_value(&checked.findings)?,
        ));
    }
    Ok((
        "review".to_owned(),
        json!([{
            "check": "content", "rule": export::RULE, "verdict": "review", "cells": [],
            "message": "not a table the workbench can check cell by cell",
            "fix": "reviewers read it whole; a table goes through export::table first",
        }]),
    ))
}

/// The project's released CSV tables, for differencing: (request id, bytes). A frozen
/// object that changed is left out with a warning (the release itself still verifies).
pub(crate) fn released_tables(
    store: &Sqlite,
    dir: &Path,
    project: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for r in store.export_requests(project)? {
        if r.state != State::Released {
            continue;
        }
        match release::frozen(dir, &r.sha256) {
            Ok(bytes) => out.push((r.id, bytes)),
            Err(err) => eprintln!("warning: release {} left out of differencing: {err}", r.id),
        }
    }
    Ok(out)
}

/// Adds the differencing finding of `bytes` against the project's releases, if any.
fn add_differencing(
    store: &Sqlite,
    dir: &Path,
    project: &str,
    bytes: &[u8],
    parameters: &Parameters,
    verdict: &mut String,
    findings: &mut Value,
) -> Result<()> {
    let earlier = released_tables(store, dir, project)?;
    if let Some(found) = export::differencing(bytes, &earlier, None, parameters)? {
        *verdict = "fail".to_owned();
        if let Some(list) = findings.as_array_mut() {
            list.push(serde_json::to_value(&found)?);
        }
    }
    Ok(())
}

/// A request as the command line or a cell's kernel (through the service) makes it.
pub(crate) struct Submission<'a> {
    pub(crate) store: &'a Path,
    pub(crate) user: &'a str,
    pub(crate) project: &'a str,
    pub(crate) file_name: &'a str,
    pub(crate) bytes: &'a [u8],
    pub(crate) intent: Intent,
    pub(crate) justification: &'a str,
    pub(crate) cancer_types: &'a [String],
    pub(crate) replaces: Option<&'a str>,
    pub(crate) on: chrono::NaiveDate,
    /// The notebook session it comes from, if any.
    pub(crate) session: Option<&'a str>,
    /// The author's word that individuals might be re-identified from it (R38).
    pub(crate) reidentification_risk: bool,
}

pub(crate) fn request(args: &RequestArgs) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let out = submit(&Submission {
        store: &args.store,
        user: &args.user,
        project: &args.project,
        file_name: &file_name,
        bytes: &bytes,
        intent: Intent::parse(&args.intent).map_err(anyhow::Error::msg)?,
        justification: &args.justification,
        cancer_types: &args.cancer_types,
        replaces: args.replaces.as_deref(),
        on: args.on.unwrap_or_else(workbench::lake::today),
        session: args.session.as_deref(),
        reidentification_risk: args.reidentification_risk,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "request {}: automatic verdict {}; reviewers {}",
            out["request"].as_str().unwrap_or(""),
            out["verdict"].as_str().unwrap_or(""),
            out["reviewers"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides, checks, freezes and records a request; its id, sha256, verdict, findings,
/// state and reviewers.
pub(crate) fn submit(sub: &Submission<'_>) -> Result<Value> {
    let mut store = Sqlite::open(sub.store)?;
    let project = known_project(&store, sub.project)?;
    let author = known_user(&store, sub.user)?;
    let intent = sub.intent;
    let on = sub.on;
    let event = json!({"kind": "export-request-refused", "project": project.id,
        "user": author.name, "intent": intent, "file": sub.file_name, "session": sub.session});
    let refuse = |store: &mut Sqlite, d: &Decision| -> Result<Value> {
        refuse(store, event.clone(), d).map(|_| Value::Null)
    };
    if !project.members.contains(&author.name) {
        let d = Decision::deny(
            Rule::Member,
            format!("{} is not a member of project {}", author.name, project.id),
        );
        return refuse(&mut store, &d);
    }
    if let Some(d) = licence_lapsed(&project, on) {
        return refuse(&mut store, &d);
    }
    // A session named is the author's own in this project.
    if let Some(id) = sub.session {
        let own = store
            .session(id)?
            .is_some_and(|s| s.user == author.name && s.project == project.id);
        if !own {
            let d = Decision::deny(
                Rule::Session,
                format!(
                    "no session {id} of {} in project {}",
                    author.name, project.id
                ),
            );
            return refuse(&mut store, &d);
        }
    }
    let bytes = sub.bytes;
    anyhow::ensure!(
        workbench::durable::is_plain_name(sub.file_name, 200),
        "{:?}: name the object with letters, digits, '.', '_' and '-'",
        sub.file_name
    );
    let file_name = sub.file_name.to_owned();
    if [release::MANIFEST, release::SIGNATURE].contains(&file_name.as_str()) {
        let d = Decision::deny(
            Rule::Export,
            format!("{file_name} is the name of a release's own manifest: rename the object"),
        );
        return refuse(&mut store, &d);
    }
    // R36: a request says how the output serves the project's approved purpose.
    if sub.justification.trim().chars().count() < MIN_JUSTIFICATION {
        let d = Decision::deny(
            Rule::Purpose,
            format!(
                "say in at least {MIN_JUSTIFICATION} characters how the output serves project {}'s approved purpose ({})",
                project.id,
                project.purpose.as_str()
            ),
        );
        return refuse(&mut store, &d);
    }
    let (_, policy) = store.policy()?;
    let parameters = Parameters {
        threshold: u64::from(policy.min_cell_count),
        ..Parameters::default()
    };
    let (mut verdict, mut findings) = automatic_checks(Path::new(&file_name), bytes, &parameters)?;
    if as_table(bytes) {
        add_differencing(
            &store,
            sub.store,
            &project.id,
            bytes,
            &parameters,
            &mut verdict,
            &mut findings,
        )?;
    }
    // R36: an output draws only on the project's cancer types; R33: an overview project
    // takes out tables only.
    {
        let mut add = |check: &str, rule: Rule, cells: Value, message: String, fix: &str| {
            verdict = "fail".to_owned();
            if let Some(list) = findings.as_array_mut() {
                list.push(json!({"check": check, "rule": rule.id(), "verdict": "fail",
                    "cells": cells, "message": message, "fix": fix}));
            }
        };
        let stated: Vec<&String> = sub
            .cancer_types
            .iter()
            .filter(|t| !project.covers_cancer_type(t))
            .collect();
        if !stated.is_empty() {
            add(
                "scope",
                Rule::Scope,
                json!(stated),
                format!("cancer type(s) outside project {}'s licence", project.id),
                "take out only what the project is licensed for, or ask the committee to widen its scope",
            );
        }
        if !project.cancer_types.is_empty() && as_table(bytes) {
            let outside = labels_outside(&store, bytes, &project, on)?;
            if !outside.is_empty() {
                add(
                    "scope",
                    Rule::Scope,
                    json!(outside),
                    format!(
                        "the table names cancer type(s) outside project {}'s licence",
                        project.id
                    ),
                    "leave out the rows of cancer types the project is not licensed for",
                );
            }
        }
        if project.tier == Tier::Overview && !as_table(bytes) {
            add(
                "tier",
                Rule::Tier,
                json!([]),
                format!(
                    "project {} is of the overview tier: only tables of counts leave it",
                    project.id
                ),
                "take out a table made with export::table",
            );
        }
    }
    // R31: an output made in a session counts the patients of the session's view, cut
    // when the session started; one who has withdrawn since must not leave in it.
    if let Some(session) = sub.session {
        let withdrawn = withdrawn_since(&store, session)?;
        if withdrawn > 0 {
            verdict = "fail".to_owned();
            if let Some(list) = findings.as_array_mut() {
                list.push(json!({"check": "consent", "rule": Rule::ConsentWithdrawn.id(), "verdict": "fail",
                    "cells": [{"patients": withdrawn}],
                    "message": format!("{withdrawn} patient(s) of the session's view have withdrawn consent since the session started"),
                    "fix": "end the session, start a new one (its view leaves them out) and remake the output"}));
            }
        }
    }
    // R38: where individuals might be re-identified, a publication waits for the author's
    // report to the committee; the reviewers see the flag at once.
    let quasi = if as_table(bytes) {
        quasi_identifiers(bytes)
    } else {
        Vec::new()
    };
    if sub.reidentification_risk || quasi.len() >= 2 {
        if verdict == "pass" {
            verdict = "review".to_owned();
        }
        let why = if sub.reidentification_risk {
            "the author says individuals might be re-identified from it".to_owned()
        } else {
            format!(
                "its labels combine quasi-identifiers ({})",
                quasi.join(", ")
            )
        };
        if let Some(list) = findings.as_array_mut() {
            list.push(json!({"check": "reidentification", "rule": Rule::Reidentification.id(),
                "verdict": "review", "cells": quasi,
                "message": format!("{why}: a publication needs the author's report to the committee before its release"),
                "fix": "coarsen or drop a quasi-identifier, or report to the committee: workbench export report --request ID --user AUTHOR --text …"}));
        }
    }
    // R34: an industry publication waits until every cancer type it draws on is out of
    // embargo; a patent filing never waits.
    if project.forum == Forum::Industry && intent == Intent::Publication {
        let release = if sub.cancer_types.is_empty() {
            Decision::deny(
                Rule::Embargo,
                "an industry publication names the cancer types it draws on (--cancer-types), so that each one's embargo clock can be checked",
            )
        } else {
            let lake = store
                .setting("lake")?
                .context("the store has no lake: `workbench governance init --lake DIR`")?;
            let clocks = workbench::Lake::open(Path::new(&lake))?.embargo_clocks(
                &store.embargo_lengths()?,
                &policy,
                on,
            )?;
            let types: Vec<&str> = sub.cancer_types.iter().map(String::as_str).collect();
            embargo::decide_release(&clocks, &types, embargo::Release::Publication)
        };
        if !release.allowed {
            verdict = "fail".to_owned();
            if let Some(list) = findings.as_array_mut() {
                list.push(json!({"check": "embargo", "rule": release.rule.id(), "verdict": "fail",
                    "cells": [], "message": release.reason, "fix": "wait for the embargo to end, or file a patent first (R34)"}));
            }
        }
    }
    // Two reviewers free of conflicts, of both sexes where the committee allows, and a
    // third for a tie.
    let members = member_users(&store, &project)?;
    let committee = committee_members(&store)?;
    let composition = committee::composition(&committee);
    if !composition.allowed {
        return refuse(&mut store, &composition);
    }
    let candidates = committee::reviewers(
        &committee,
        committee::Request {
            author: Some(&author),
            project: &project,
            members: &members,
        },
    );
    let eligible: Vec<&committee::Candidate> =
        candidates.iter().filter(|c| c.decision.allowed).collect();
    if eligible.len() < 2 {
        let d = Decision::deny(
            Rule::Conflict,
            format!(
                "the committee has {} member(s) free of conflicts with this request; two are needed",
                eligible.len()
            ),
        );
        return refuse(&mut store, &d);
    }
    let first = eligible[0];
    let second = eligible
        .iter()
        .skip(1)
        .find(|c| c.sex.is_some() && c.sex != first.sex)
        .unwrap_or(&eligible[1]);
    let mut reviewers = vec![first.user.clone(), second.user.clone()];
    if let Some(third) = eligible.iter().find(|c| !reviewers.contains(&c.user)) {
        reviewers.push(third.user.clone());
    }
    if let Some(old) = sub.replaces {
        let earlier = store
            .export_request(old)?
            .with_context(|| format!("no export request {old}"))?;
        if earlier.author != author.name || earlier.project != project.id {
            let d = Decision::deny(
                Rule::Export,
                format!(
                    "request {old} is not {}'s in project {}",
                    author.name, project.id
                ),
            );
            return refuse(&mut store, &d);
        }
    }
    let sha256 = release::freeze(sub.store, bytes)?;
    let request = ExportRequest {
        id: new_id()?,
        project: project.id.clone(),
        author: author.name.clone(),
        file_name,
        sha256: sha256.clone(),
        bytes: bytes.len() as u64,
        intent,
        justification: sub.justification.to_owned(),
        cancer_types: sub.cancer_types.to_vec(),
        verdict: verdict.clone(),
        findings: findings.clone(),
        state: State::Submitted,
        created: now(),
        replaces: sub.replaces.map(str::to_owned),
        reviewers: reviewers.clone(),
    };
    let event = json!({"kind": "export-request", "request": request.id, "project": project.id,
        "user": author.name, "sha256": sha256, "intent": intent, "verdict": verdict,
        "reviewers": reviewers, "replaces": request.replaces, "session": sub.session,
        "rule": Rule::Export.id()});
    store.apply(&Change::ExportRequest(request.clone()), event)?;
    Ok(
        json!({"request": request.id, "sha256": sha256, "verdict": verdict,
        "findings": findings, "state": request.state, "reviewers": reviewers}),
    )
}

/// A cell's request, passed by its kernel through the governance service: the object
/// (hex) of the session's user in the session's project.
pub(crate) fn export_for_session(
    store: &Path,
    session: &workbench_governance::session::Session,
    request: &Value,
) -> std::result::Result<Value, String> {
    let text = |key: &str| request[key].as_str().unwrap_or_default();
    let hex = text("hex");
    if hex.len() as u64 > 2 * workbench_governance::service::MAX_EXPORT {
        return Err(format!(
            "{}: objects leave through the kernel up to {} MiB; ask for a larger one from the command line",
            Rule::Export.id(),
            workbench_governance::service::MAX_EXPORT >> 20
        ));
    }
    let bytes = workbench_governance::events::from_hex(hex)
        .ok_or_else(|| format!("{}: the object is not hex", Rule::Export.id()))?;
    let intent = Intent::parse(text("intent"))?;
    let cancer_types: Vec<String> = request["cancer_types"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    submit(&Submission {
        store,
        user: &session.user,
        project: &session.project,
        file_name: text("name"),
        bytes: &bytes,
        intent,
        justification: text("justification"),
        cancer_types: &cancer_types,
        replaces: None,
        on: workbench::lake::today(),
        session: Some(&session.id),
        reidentification_risk: false,
    })
    .map_err(|e| format!("{e:#}"))
}

pub(crate) fn review(args: &ReviewArgs) -> Result<ExitCode> {
    let vote = Vote::parse(&args.vote).map_err(anyhow::Error::msg)?;
    let out = cast_vote(
        &args.store,
        &args.request,
        &args.user,
        vote,
        &args.comment,
        "cli",
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} voted; request is {}",
            args.request,
            args.user,
            out["state"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides and records `reviewer`'s vote on request `id` (from the command line or the
/// review page, `via`): the committee's rules at the vote, the reviewers chosen, blind
/// order, the frozen object unchanged. The request's id, the vote, its state after and
/// the count of votes.
///
/// # Errors
///
/// The vote is refused (the error names the rule; the refusal is audited).
pub(crate) fn cast_vote(
    dir: &Path,
    id: &str,
    user: &str,
    vote: Vote,
    comment: &str,
    via: &str,
) -> Result<Value> {
    let mut store = Sqlite::open(dir)?;
    let request = store
        .export_request(id)?
        .with_context(|| format!("no export request {id}"))?;
    let reviewer = known_user(&store, user)?;
    let event = json!({"kind": "export-review-refused", "request": request.id,
        "user": reviewer.name, "vote": vote, "via": via});
    let refuse = |store: &mut Sqlite, event: Value, d: &Decision| -> Result<Value> {
        refuse(store, event, d).map(|_| Value::Null)
    };
    // The committee's rules hold at the vote too (a conflict declared since).
    let project = known_project(&store, &request.project)?;
    let author = known_user(&store, &request.author)?;
    let members = member_users(&store, &project)?;
    let committee = committee_members(&store)?;
    let eligible = match committee.iter().find(|m| m.user.name == reviewer.name) {
        Some(member) => committee::eligibility(
            member,
            committee::Request {
                author: Some(&author),
                project: &project,
                members: &members,
            },
        ),
        None => Decision::deny(
            Rule::Role,
            format!("{} is not a committee member", reviewer.name),
        ),
    };
    if !eligible.allowed {
        return refuse(&mut store, event, &eligible);
    }
    let reviews = store.export_reviews(&request.id)?;
    let may = airlock::may_vote(&request, &reviews, &reviewer.name, vote);
    if !may.allowed {
        return refuse(&mut store, event, &may);
    }
    // The object voted on is the one frozen: a changed spool file stops the vote.
    if let Err(err) = release::frozen(dir, &request.sha256) {
        let d = Decision::deny(Rule::Export, err.to_string());
        return refuse(&mut store, event, &d);
    }
    let mut votes: Vec<Vote> = reviews.iter().map(|r| r.vote).collect();
    votes.push(vote);
    let to = airlock::state_after(&votes);
    let review = Review {
        request: request.id.clone(),
        reviewer: reviewer.name.clone(),
        vote,
        comment: comment.to_owned(),
        at: now(),
    };
    let event = json!({"kind": "export-review", "request": request.id, "user": reviewer.name,
        "vote": vote, "state": to, "via": via, "rule": Rule::Export.id()});
    store.apply(
        &Change::ExportReview {
            review,
            from: request.state,
            to,
        },
        event,
    )?;
    Ok(json!({"request": request.id, "vote": vote, "state": to, "votes": votes.len()}))
}

pub(crate) fn show(args: &ShowArgs) -> Result<ExitCode> {
    let store = Sqlite::open(&args.store)?;
    let request = store
        .export_request(&args.request)?
        .with_context(|| format!("no export request {}", args.request))?;
    let viewer = known_user(&store, &args.user)?;
    let may = may_see(&viewer, &request);
    if !may.allowed {
        bail!("{may}");
    }
    let reviews = store.export_reviews(&request.id)?;
    let visible = airlock::visible_reviews(&reviews, &viewer.name, request.state);
    let report = report_of(&store, &request.id)?;
    let out =
        json!({"request": request, "votes": reviews.len(), "reviews": visible, "report": report});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Whether `viewer` may see `request`: its author, its chosen reviewers and admins only
/// (R39-export); nobody else learns what asks to leave.
pub(crate) fn may_see(
    viewer: &workbench_governance::people::User,
    request: &ExportRequest,
) -> Decision {
    let involved = viewer.name == request.author || request.reviewers.contains(&viewer.name);
    if involved || viewer.role == workbench_governance::people::Role::Admin {
        Decision::allow(
            Rule::Export,
            format!("{} may see request {}", viewer.name, request.id),
        )
    } else {
        Decision::deny(
            Rule::Export,
            format!(
                "{} is neither the author nor a reviewer of request {}",
                viewer.name, request.id
            ),
        )
    }
}

pub(crate) fn release(args: &ReleaseArgs) -> Result<ExitCode> {
    let mut store = Sqlite::open(&args.store)?;
    let request = store
        .export_request(&args.request)?
        .with_context(|| format!("no export request {}", args.request))?;
    let event = json!({"kind": "export-release-refused", "request": request.id});
    if request.state != State::Approved {
        let d = Decision::deny(
            Rule::Export,
            format!(
                "request {} is {}: only an approved request is released",
                request.id,
                request.state.as_str()
            ),
        );
        return refuse(&mut store, event, &d);
    }
    // The licence still stands on the day of the release (R36).
    let project = known_project(&store, &request.project)?;
    if let Some(d) = licence_lapsed(&project, workbench::lake::today()) {
        return refuse(&mut store, event, &d);
    }
    let flagged = request
        .findings
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["check"] == "reidentification"));
    let report = report_of(&store, &request.id)?;
    if flagged && request.intent == Intent::Publication && report.is_none() {
        let d = Decision::deny(
            Rule::Reidentification,
            format!(
                "request {} may let individuals be re-identified: its author reports to the committee first (workbench export report)",
                request.id
            ),
        );
        return refuse(&mut store, event, &d);
    }
    let bytes = match release::frozen(&args.store, &request.sha256) {
        Ok(bytes) => bytes,
        Err(err) => {
            let d = Decision::deny(Rule::Export, err.to_string());
            return refuse(&mut store, event, &d);
        }
    };
    let key = release::key(&args.store)?;
    let reviews = store.export_reviews(&request.id)?;
    let released_at = now();
    let manifest = json!({
        "format": "workbench-release/1",
        "request": request.id,
        "project": request.project,
        "author": request.author,
        "intent": request.intent,
        "justification": request.justification,
        "cancer_types": request.cancer_types,
        "requested": request.created,
        "released": released_at,
        "files": [{"name": request.file_name, "sha256": request.sha256, "bytes": bytes.len()}],
        "checks": {"verdict": request.verdict, "findings": request.findings},
        "reviews": reviews,
        "report": report,
        "rule": Rule::Export.id(),
        "key": release::public_hex(&key),
    });
    release::write(&args.out, &request.file_name, &bytes, &manifest, &key)?;
    let manifest_sha = workbench_governance::events::sha256_hex(
        &std::fs::read(args.out.join(release::MANIFEST)).context("reading the manifest back")?,
    );
    let event = json!({"kind": "export-release", "request": request.id, "project": request.project,
        "sha256": request.sha256, "manifest_sha256": manifest_sha, "rule": Rule::Export.id()});
    store.apply(
        &Change::ExportState {
            request: request.id.clone(),
            from: State::Approved,
            to: State::Released,
        },
        event,
    )?;
    // R33/R34: publications and notifications are notified to the project's forum.
    if matches!(
        request.intent,
        Intent::Publication | Intent::ForumNotification
    ) {
        let project = known_project(&store, &request.project)?;
        store.record(json!({"kind": "forum-notification",
            "forum": workbench_governance::project::forum_name(project.forum),
            "project": project.id, "request": request.id, "file": request.file_name,
            "intent": request.intent,
            "rule": if project.forum == Forum::Industry { "R34-overview" } else { "R33-overview" }}))?;
    }
    let out = json!({"request": request.id, "out": args.out.display().to_string(),
        "manifest_sha256": manifest_sha, "state": State::Released});
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("released {} into {}", request.id, args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let key = match (&args.key, &args.store) {
        (Some(key), _) => key.clone(),
        (None, Some(store)) => release::public_hex(&release::key(store)?),
        (None, None) => bail!("give --key HEX (the programme's published key) or --store"),
    };
    let manifest = release::verify(&args.dir, &key)
        .with_context(|| format!("verifying {}", args.dir.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"ok": true, "manifest": manifest}))?
        );
    } else {
        println!(
            "{}: signature and files verify (request {})",
            args.dir.display(),
            manifest["request"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn key(args: &KeyArgs) -> Result<ExitCode> {
    println!("{}", release::public_hex(&release::key(&args.store)?));
    Ok(ExitCode::SUCCESS)
}

/// The fewest characters a request's justification has (R36-purpose).
const MIN_JUSTIFICATION: usize = 20;

/// The labels of a CSV table that are cancer types registered in the store's lake but
/// outside `project`'s licence (none when the store has no lake).
fn labels_outside(
    store: &Sqlite,
    bytes: &[u8],
    project: &workbench_governance::project::Project,
    on: chrono::NaiveDate,
) -> Result<Vec<String>> {
    let Some(lake) = store.setting("lake")? else {
        return Ok(Vec::new());
    };
    let (_, policy) = store.policy()?;
    let known: std::collections::BTreeSet<String> = workbench::Lake::open(Path::new(&lake))?
        .embargo_clocks(&store.embargo_lengths()?, &policy, on)?
        .into_iter()
        .map(|c| c.cancer_type)
        .collect();
    let mut outside = std::collections::BTreeSet::new();
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    for record in reader.records().flatten() {
        for value in record.iter().map(str::trim) {
            if known.contains(value) && !project.covers_cancer_type(value) {
                outside.insert(value.to_owned());
            }
        }
    }
    Ok(outside.into_iter().collect())
}

/// The label columns of a CSV table that are quasi-identifiers (age, sex, place, year,
/// institution): two of them together narrow a table's cells to few people (R38).
fn quasi_identifiers(bytes: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let Ok(header) = reader.headers() else {
        return Vec::new();
    };
    const WORDS: [&str; 12] = [
        "age",
        "sex",
        "gender",
        "prefecture",
        "region",
        "area",
        "postcode",
        "zip",
        "hospital",
        "institution",
        "year",
        "birth",
    ];
    header
        .iter()
        .filter(|name| {
            let lower = name.trim().to_ascii_lowercase();
            lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| WORDS.contains(&w))
        })
        .map(|n| n.trim().to_owned())
        .collect()
}

/// The setting that holds a request's R38 report.
fn report_key(request: &str) -> String {
    format!("r38-report:{request}")
}

/// The author's report to the committee (R38), recorded with the request and in the
/// audit chain; a publication flagged for re-identification is released only after it.
pub(crate) fn report(args: &ReportArgs) -> Result<ExitCode> {
    let mut store = Sqlite::open(&args.store)?;
    let request = store
        .export_request(&args.request)?
        .with_context(|| format!("no export request {}", args.request))?;
    let event = json!({"kind": "export-report-refused", "request": request.id, "user": args.user});
    if request.author != args.user {
        let d = Decision::deny(
            Rule::Role,
            format!(
                "only the request's author ({}) reports on it to the committee",
                request.author
            ),
        );
        return refuse(&mut store, event, &d);
    }
    // Before the votes, so that the reviewers read it (R38).
    if request.state != State::Submitted {
        let d = Decision::deny(
            Rule::Export,
            format!(
                "request {} is {}: a report comes before the reviewers decide",
                request.id,
                request.state.as_str()
            ),
        );
        return refuse(&mut store, event, &d);
    }
    anyhow::ensure!(
        args.text.trim().chars().count() >= MIN_JUSTIFICATION,
        "--text: say in at least {MIN_JUSTIFICATION} characters who could be re-identified and what was done"
    );
    let value = json!({"user": args.user, "text": args.text, "at": now()}).to_string();
    store.apply(
        &Change::Setting {
            key: report_key(&request.id),
            value,
        },
        json!({"kind": "export-report", "request": request.id, "user": args.user,
            "text": args.text, "rule": Rule::Reidentification.id()}),
    )?;
    println!(
        "report on request {} recorded for the committee (R38-report)",
        request.id
    );
    Ok(ExitCode::SUCCESS)
}

/// The R38 report on a request, if its author filed one.
pub(crate) fn report_of(store: &Sqlite, request: &str) -> Result<Option<Value>> {
    Ok(store
        .setting(&report_key(request))?
        .and_then(|v| serde_json::from_str(&v).ok()))
}

/// How many patients of `session`'s view the store's lake now records as withdrawn
/// (R31). Read from the lake's own cases file, not through a use's view of it, so that
/// no other decision hides a withdrawal; 0 when the view or the lake holds no cases.
fn withdrawn_since(store: &Sqlite, session: &str) -> Result<usize> {
    use polars::prelude::{ParquetReader, SerReader};
    let Some(session) = store.session(session)? else {
        return Ok(0);
    };
    let Some(lake) = store.setting("lake")? else {
        return Ok(0);
    };
    let file = workbench::lake::Table::Cases.file();
    let view_cases = Path::new(&session.view).join(file);
    let lake_cases = workbench::Lake::open(Path::new(&lake))?.root().join(file);
    // A detailed view without its cases file, or a lake without one, cannot be compared:
    // refused rather than passed.
    if !lake_cases.is_file() {
        bail!(
            "{}: the lake's cases are missing (R31-withdrawn cannot be checked)",
            lake_cases.display()
        );
    }
    if !view_cases.is_file() {
        if Path::new(&session.view).is_dir() && session.basis.tables.iter().all(|t| t != "cases") {
            return Ok(0);
        }
        bail!(
            "{}: the session's view is gone (R31-withdrawn cannot be checked)",
            view_cases.display()
        );
    }
    let read = |path: &Path| -> Result<polars::prelude::DataFrame> {
        let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        ParquetReader::new(f)
            .finish()
            .with_context(|| format!("reading {}", path.display()))
    };
    let ids = |df: &polars::prelude::DataFrame, path: &Path| -> Result<Vec<Option<String>>> {
        let c = df
            .column("case_id")
            .and_then(|c| c.cast(&polars::prelude::DataType::String))
            .with_context(|| format!("{}: case_id", path.display()))?;
        let c = c
            .str()
            .with_context(|| format!("{}: case_id", path.display()))?;
        Ok((0..c.len()).map(|i| c.get(i).map(str::to_owned)).collect())
    };
    let view = read(&view_cases)?;
    let in_view: std::collections::HashSet<String> =
        ids(&view, &view_cases)?.into_iter().flatten().collect();
    let now = read(&lake_cases)?;
    let case_ids = ids(&now, &lake_cases)?;
    let withdrawn = now
        .column("consent_withdrawn_on")
        .with_context(|| format!("{}: consent_withdrawn_on", lake_cases.display()))?;
    Ok(case_ids
        .iter()
        .enumerate()
        .filter(|(i, id)| {
            id.as_ref().is_some_and(|id| in_view.contains(id))
                && withdrawn.get(*i).is_ok_and(|v| !v.is_null())
        })
        .count())
}

/// Whether an object is checked as a CSV table: read as one and not JSON (a notebook or
/// a model summary can read as a ragged CSV; it is checked, and held to its tier, as what
/// it is).
fn as_table(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_err() && export::check::is_table(bytes)
}

/// Why `project`'s licence no longer stands on `on` (revoked or expired, R36), if so: the
/// same test at the request and at the release.
fn licence_lapsed(
    project: &workbench_governance::project::Project,
    on: chrono::NaiveDate,
) -> Option<Decision> {
    if let Some(revoked) = project.revoked_on.filter(|r| *r <= on) {
        return Some(Decision::deny(
            Rule::Revoked,
            format!("project {} was revoked on {revoked}", project.id),
        ));
    }
    (on > project.expires).then(|| {
        Decision::deny(
            Rule::Expired,
            format!(
                "project {}'s licence expired on {}",
                project.id, project.expires
            ),
        )
    })
}
