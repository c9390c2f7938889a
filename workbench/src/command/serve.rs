//! `workbench serve`: the airlock's review page (R18, R37–R39). Committee reviewers log in
//! with password and second factor, read a request's object with the automatic findings
//! marked on its cells, the project's approval and its earlier releases, and vote; the
//! same decisions, rules and audit as `workbench export review`.
//!
//! The page runs no script at all (its Content-Security-Policy has no `script-src`), so
//! nothing an object holds (an SVG's script, a notebook's HTML output) can run in a
//! reviewer's browser: objects are shown as escaped text, tables or `data:` images.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use serde_json::Value;
use tiny_http::{Header, Method, Request, Response};
use workbench::display::escape as esc;
use workbench_governance::airlock::{self, ExportRequest, State, Vote};
use workbench_governance::store::{Sqlite, Store};

use super::airlock::{cast_vote, may_see};
use super::governance::{authenticate, known_project, known_user};

/// A form body larger than this is refused (a vote's comment included).
const MAX_BODY: usize = 64 * 1024;
/// A table object shows at most this many rows on the page.
const MAX_ROWS: usize = 2_000;
/// A text object shows at most this many bytes on the page.
const MAX_TEXT: usize = 256 * 1024;
/// A web session ends this long after it started, however active.
const MAX_SESSION: Duration = Duration::from_secs(8 * 3600);
/// The session cookie's name.
const COOKIE: &str = "wb_review";

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The governance store.
    #[arg(long)]
    store: PathBuf,
    /// Address to listen on (port 0: any free port; the address taken is printed).
    #[arg(long, default_value = "127.0.0.1:8750")]
    listen: String,
    /// Minutes without a request after which a reviewer logs in again.
    #[arg(long, default_value_t = 15)]
    idle_minutes: u64,
    /// Mark the session cookie `Secure`: set it when TLS is terminated in front of the
    /// page (the data centre's proxy), as it should be anywhere but a test.
    #[arg(long)]
    secure_cookie: bool,
}

/// A logged-in reviewer's web session.
struct WebSession {
    user: String,
    /// Sent back in every form: a page of another origin cannot forge a vote.
    csrf: String,
    started: Instant,
    last: Instant,
}

struct App {
    store: PathBuf,
    sessions: Mutex<HashMap<String, WebSession>>,
    idle: Duration,
    secure_cookie: bool,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    // Fail at once on a store that does not open, not at the first login.
    Sqlite::open(&args.store)?;
    let server = tiny_http::Server::http(&args.listen)
        .map_err(|e| anyhow!("listening on {}: {e}", args.listen))?;
    let addr = server
        .server_addr()
        .to_ip()
        .context("the review page listens on an IP address")?;
    eprintln!(
        "review page at http://{addr}/ (store {})",
        args.store.display()
    );
    let app = Arc::new(App {
        store: args.store.clone(),
        sessions: Mutex::new(HashMap::new()),
        idle: Duration::from_secs(args.idle_minutes.max(1) * 60),
        secure_cookie: args.secure_cookie,
    });
    let server = Arc::new(server);
    // A few workers: a login's argon2 work does not hold up another reviewer's page.
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (server, app) = (Arc::clone(&server), Arc::clone(&app));
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    app.handle(request);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(ExitCode::SUCCESS)
}

/// A page or redirect before the common headers are added.
struct Reply {
    status: u16,
    body: String,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            body,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
        }
    }

    fn redirect(to: &str) -> Reply {
        Reply {
            status: 303,
            body: String::new(),
            content_type: "text/plain; charset=utf-8",
            headers: vec![("Location", to.to_owned())],
        }
    }
}

/// What a request carries that the pages need.
struct Incoming {
    method: Method,
    path: String,
    query: String,
    cookie: Option<String>,
    /// Whether a cross-origin browser sent it (Origin or Sec-Fetch-Site say so).
    cross_site: bool,
    form: BTreeMap<String, String>,
}

impl App {
    fn handle(&self, mut request: Request) {
        let reply = match self.read(&mut request) {
            Ok(incoming) => self.route(&incoming).unwrap_or_else(|err| {
                Reply::html(
                    500,
                    page(
                        "Error",
                        None,
                        &format!("<p class=\"error\">{}</p>", esc(&format!("{err:#}"))),
                    ),
                )
            }),
            Err(reply) => reply,
        };
        let mut response = Response::from_string(reply.body).with_status_code(reply.status);
        let mut headers: Vec<(&str, String)> = vec![
            ("Content-Type", reply.content_type.to_owned()),
            // No script, no frames, no third-party anything; images only as data: URIs.
            (
                "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'".to_owned(),
            ),
            ("X-Content-Type-Options", "nosniff".to_owned()),
            // `same-origin`, not `no-referrer`: the latter makes a browser send
            // `Origin: null` with the page's own forms, which the page refuses.
            ("Referrer-Policy", "same-origin".to_owned()),
            ("Cache-Control", "no-store".to_owned()),
            ("X-Frame-Options", "DENY".to_owned()),
        ];
        headers.extend(reply.headers);
        for (name, value) in headers {
            if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(h);
            }
        }
        let _ = request.respond(response);
    }

    fn read(&self, request: &mut Request) -> std::result::Result<Incoming, Reply> {
        fn header(request: &Request, name: &'static str) -> Option<String> {
            request
                .headers()
                .iter()
                .find(|h| h.field.equiv(name))
                .map(|h| h.value.as_str().to_owned())
        }
        let header = |name: &'static str| header(request, name);
        let cookie = header("Cookie").and_then(|c| {
            c.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == COOKIE).then(|| v.to_owned())
            })
        });
        let host = header("Host").unwrap_or_default();
        // A browser says where a request comes from (Sec-Fetch-Site; Origin, which is
        // "null" from a sandboxed frame or a data: page): only this page's own origin, or
        // the reviewer typing the address, may post.
        let cross_site = header("Sec-Fetch-Site")
            .is_some_and(|s| s != "same-origin" && s != "none")
            || header("Origin").is_some_and(|o| {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
                    != Some(host.as_str())
            });
        let (path, query) = match request.url().split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (request.url().to_owned(), String::new()),
        };
        let method = request.method().clone();
        let mut form = BTreeMap::new();
        if method == Method::Post {
            if request.body_length().is_some_and(|n| n > MAX_BODY) {
                return Err(Reply::html(
                    413,
                    page("Too large", None, "<p>The form is too large.</p>"),
                ));
            }
            let mut body = Vec::new();
            if request
                .as_reader()
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut body)
                .is_err()
                || body.len() > MAX_BODY
            {
                return Err(Reply::html(
                    413,
                    page("Too large", None, "<p>The form is too large.</p>"),
                ));
            }
            form = form_urlencoded::parse(&body).into_owned().collect();
        }
        Ok(Incoming {
            method,
            path,
            query,
            cookie,
            cross_site,
            form,
        })
    }

    fn route(&self, rq: &Incoming) -> Result<Reply> {
        let parts: Vec<&str> = rq.path.trim_matches('/').split('/').collect();
        // A form posted from another site is refused whoever is logged in.
        if rq.method == Method::Post && rq.cross_site {
            return Ok(Reply::html(
                403,
                page(
                    "Refused",
                    None,
                    "<p class=\"error\">A form from another site is refused.</p>",
                ),
            ));
        }
        match (&rq.method, parts.as_slice()) {
            (Method::Get, ["style.css"]) => Ok(Reply {
                status: 200,
                body: STYLE.to_owned(),
                content_type: "text/css; charset=utf-8",
                headers: Vec::new(),
            }),
            (Method::Get, ["login"]) => Ok(Reply::html(200, login_page(None))),
            (Method::Post, ["login"]) => self.login(rq),
            (Method::Post, ["logout"]) => {
                // Only the page's own form logs a reviewer out.
                if let Some((token, who)) = self.session(rq)
                    && constant_time_eq(
                        rq.form
                            .get("csrf")
                            .map(String::as_str)
                            .unwrap_or_default()
                            .as_bytes(),
                        who.csrf.as_bytes(),
                    )
                {
                    self.sessions().remove(&token);
                }
                let mut reply = Reply::redirect("/login");
                reply.headers.push((
                    "Set-Cookie",
                    format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"),
                ));
                Ok(reply)
            }
            (method, rest) => {
                let Some((_, who)) = self.session(rq) else {
                    return Ok(Reply::redirect("/login"));
                };
                match (method, rest) {
                    (Method::Get, [""]) => self.list(&who),
                    (Method::Get, ["requests", id]) => self.request_page(&who, id, &rq.query, None),
                    (Method::Post, ["requests", id, "vote"]) => self.vote(rq, &who, id),
                    _ => Ok(Reply::html(
                        404,
                        page("Not found", Some(&who), "<p>No such page.</p>"),
                    )),
                }
            }
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, WebSession>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The request's live session (token, reviewer and their CSRF token), if any: not
    /// idle too long, not too old, and its user still allowed in (not disabled, locked
    /// or removed since the login).
    fn session(&self, rq: &Incoming) -> Option<(String, Viewer)> {
        let token = rq.cookie.clone()?;
        let (user, csrf) = {
            let mut sessions = self.sessions();
            let now = Instant::now();
            sessions.retain(|_, s| now - s.last < self.idle && now - s.started < MAX_SESSION);
            let s = sessions.get_mut(&token)?;
            s.last = now;
            (s.user.clone(), s.csrf.clone())
        };
        let still = Sqlite::open(&self.store)
            .ok()
            .and_then(|store| store.user(&user).ok().flatten())
            .is_some_and(|u| !u.disabled && !u.locked);
        if !still {
            self.sessions().remove(&token);
            return None;
        }
        Some((token, Viewer { user, csrf }))
    }

    fn login(&self, rq: &Incoming) -> Result<Reply> {
        let field = |k: &str| rq.form.get(k).map(String::as_str).unwrap_or_default();
        let (user, password, code) = (field("user"), field("password"), field("code"));
        match authenticate(
            &self.store,
            user,
            password,
            Some(code).filter(|c| !c.is_empty()),
        ) {
            Ok(_) => {
                let token = format!(
                    "{}{}",
                    workbench_governance::store::new_id()?,
                    workbench_governance::store::new_id()?
                );
                let now = Instant::now();
                self.sessions().insert(
                    token.clone(),
                    WebSession {
                        user: user.to_owned(),
                        csrf: workbench_governance::store::new_id()?,
                        started: now,
                        last: now,
                    },
                );
                let mut reply = Reply::redirect("/");
                let secure = if self.secure_cookie { "; Secure" } else { "" };
                reply.headers.push((
                    "Set-Cookie",
                    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"),
                ));
                Ok(reply)
            }
            Err(err) => Ok(Reply::html(401, login_page(Some(&format!("{err:#}"))))),
        }
    }

    /// The requests the reviewer is chosen for, and those they made.
    fn list(&self, who: &Viewer) -> Result<Reply> {
        let store = Sqlite::open(&self.store)?;
        let viewer = known_user(&store, &who.user)?;
        let mut rows = String::new();
        let mut count = 0;
        for project in store.projects()? {
            for r in store.export_requests(&project.id)? {
                if !may_see(&viewer, &r).allowed {
                    continue;
                }
                count += 1;
                let reviews = store.export_reviews(&r.id)?;
                let role = if r.author == viewer.name {
                    "author"
                } else if r.reviewers.iter().position(|n| *n == viewer.name) == Some(2) {
                    "tie-breaker"
                } else if r.reviewers.contains(&viewer.name) {
                    "reviewer"
                } else {
                    "admin"
                };
                let voted = reviews.iter().any(|v| v.reviewer == viewer.name);
                rows.push_str(&format!(
                    "<tr><td><a class=\"request\" href=\"/requests/{id}\">{id}</a></td><td>{project}</td><td>{author}</td><td>{file}</td><td>{intent}</td><td class=\"verdict-{verdict}\">{verdict}</td><td class=\"state\">{state}</td><td>{role}{voted}</td><td>{created}</td></tr>",
                    id = esc(&r.id),
                    project = esc(&r.project),
                    author = esc(&r.author),
                    file = esc(&r.file_name),
                    intent = esc(intent_str(&r)),
                    verdict = esc(&r.verdict),
                    state = r.state.as_str(),
                    voted = if voted { " (voted)" } else { "" },
                    created = esc(&r.created),
                ));
            }
        }
        let body = if count == 0 {
            "<p>No export request is yours to review.</p>".to_owned()
        } else {
            format!(
                "<table class=\"list\"><thead><tr><th>Request</th><th>Project</th><th>Author</th><th>Object</th><th>Intent</th><th>Automatic verdict</th><th>State</th><th>You</th><th>Asked</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        };
        Ok(Reply::html(200, page("Export requests", Some(who), &body)))
    }

    fn request_page(
        &self,
        who: &Viewer,
        id: &str,
        query: &str,
        notice: Option<(bool, &str)>,
    ) -> Result<Reply> {
        let store = Sqlite::open(&self.store)?;
        let viewer = known_user(&store, &who.user)?;
        let not_found = || {
            Reply::html(
                404,
                page(
                    "Not found",
                    Some(who),
                    "<p>No such request, or not yours to see (R39-export).</p>",
                ),
            )
        };
        let Some(request) = store.export_request(id)? else {
            return Ok(not_found());
        };
        // Whether a request exists is not told to someone who may not see it.
        if !may_see(&viewer, &request).allowed {
            return Ok(not_found());
        }
        let project = known_project(&store, &request.project)?;
        let reviews = store.export_reviews(&request.id)?;
        let visible = airlock::visible_reviews(&reviews, &viewer.name, request.state);
        let mut body = String::new();
        if let Some((ok, text)) = notice {
            let class = if ok { "notice" } else { "error" };
            body.push_str(&format!(
                "<p class=\"{class}\" id=\"notice\">{}</p>",
                esc(text)
            ));
        } else if query.split('&').any(|kv| kv == "voted=1") {
            body.push_str(&format!(
                "<p class=\"notice\" id=\"notice\">Your vote is recorded: the request is {}.</p>",
                request.state.as_str()
            ));
        }
        body.push_str(&format!(
            "<section><dl class=\"facts\">\
             <dt>State</dt><dd id=\"state\">{state}</dd>\
             <dt>Author</dt><dd>{author}</dd>\
             <dt>Object</dt><dd>{file} ({bytes} bytes, sha256 <code>{sha}</code>)</dd>\
             <dt>Intent</dt><dd>{intent}</dd>\
             <dt>Cancer types</dt><dd>{types}</dd>\
             <dt>Justification</dt><dd>{why}</dd>\
             <dt>Asked</dt><dd>{created}</dd>\
             <dt>Replaces</dt><dd>{replaces}</dd>\
             <dt>Reviewers</dt><dd>{reviewers}</dd>\
             <dt>Automatic verdict</dt><dd id=\"verdict\" class=\"verdict-{verdict}\">{verdict}</dd></dl></section>",
            state = request.state.as_str(),
            author = esc(&request.author),
            file = esc(&request.file_name),
            bytes = request.bytes,
            sha = esc(&request.sha256),
            intent = esc(intent_str(&request)),
            types = if request.cancer_types.is_empty() {
                "none stated (an industry publication names them for its embargo clock)".to_owned()
            } else {
                esc(&request.cancer_types.join(", "))
            },
            why = esc(&request.justification),
            created = esc(&request.created),
            replaces = esc(request.replaces.as_deref().unwrap_or("—")),
            reviewers = esc(&request.reviewers.join(", ")),
            verdict = esc(&request.verdict),
        ));
        if let Some(report) = super::airlock::report_of(&store, &request.id)? {
            body.push_str(&format!(
                "<section><h2>Report to the committee (R38)</h2><p id=\"report\">{} ({}): {}</p></section>",
                esc(report["user"].as_str().unwrap_or_default()),
                esc(report["at"].as_str().unwrap_or_default()),
                esc(report["text"].as_str().unwrap_or_default())
            ));
        }
        body.push_str(&findings_html(&request.findings));
        body.push_str(&object_html(&self.store, &request));
        body.push_str(&project_html(&store, &project)?);
        body.push_str(&releases_html(&store, &request)?);
        // Reviews: blind until both have voted (R37).
        body.push_str("<section><h2>Reviews</h2>");
        if visible.is_empty() {
            body.push_str(&format!(
                "<p id=\"reviews\">{} vote(s) in; others' votes are hidden until both reviewers have voted.</p>",
                reviews.len()
            ));
        } else {
            body.push_str("<table id=\"reviews\"><thead><tr><th>Reviewer</th><th>Vote</th><th>Comment</th><th>At</th></tr></thead><tbody>");
            for r in &visible {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&r.reviewer),
                    vote_str(r.vote),
                    esc(&r.comment),
                    esc(&r.at)
                ));
            }
            body.push_str("</tbody></table>");
            if visible.len() < reviews.len() {
                body.push_str(&format!(
                    "<p>{} other vote(s) hidden until both reviewers have voted.</p>",
                    reviews.len() - visible.len()
                ));
            }
        }
        body.push_str("</section>");
        // The vote form, where this reviewer may vote now.
        let may = airlock::may_vote(&request, &reviews, &viewer.name, Vote::RequestChanges);
        if may.allowed {
            body.push_str(&format!(
                "<section><h2>Your vote</h2><form method=\"post\" action=\"/requests/{id}/vote\" id=\"vote_form\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <label><input type=\"radio\" name=\"vote\" value=\"approve\" id=\"vote_approve\"> Approve</label>\
                 <label><input type=\"radio\" name=\"vote\" value=\"request-changes\" id=\"vote_changes\"> Request changes</label>\
                 <label><input type=\"radio\" name=\"vote\" value=\"reject\" id=\"vote_reject\"> Reject</label>\
                 <p><label for=\"comment\">Comment</label><br><textarea name=\"comment\" id=\"comment\" rows=\"3\" cols=\"70\"></textarea></p>\
                 <button type=\"submit\" id=\"vote_submit\">Cast vote</button></form></section>",
                id = esc(&request.id),
                csrf = esc(&who.csrf),
            ));
        } else if request.reviewers.contains(&viewer.name) {
            body.push_str(&format!(
                "<p id=\"no_vote\">No vote from you: {}</p>",
                esc(&may.to_string())
            ));
        }
        if request.state == State::Approved {
            body.push_str("<p>Approved: the programme office releases it with <code>workbench export release</code>, signed with the enclave's key.</p>");
        }
        Ok(Reply::html(
            200,
            page(&format!("Request {}", request.id), Some(who), &body),
        ))
    }

    fn vote(&self, rq: &Incoming, who: &Viewer, id: &str) -> Result<Reply> {
        let field = |k: &str| rq.form.get(k).map(String::as_str).unwrap_or_default();
        if !constant_time_eq(field("csrf").as_bytes(), who.csrf.as_bytes()) {
            return Ok(Reply::html(
                403,
                page(
                    "Refused",
                    Some(who),
                    "<p class=\"error\">The form is stale or not from this page; open the request again.</p>",
                ),
            ));
        }
        let vote = match Vote::parse(field("vote")) {
            Ok(v) => v,
            Err(e) => return self.request_page(who, id, "", Some((false, &e))),
        };
        match cast_vote(&self.store, id, &who.user, vote, field("comment"), "web") {
            Ok(_) => Ok(Reply::redirect(&format!(
                "/requests/{}?voted=1",
                form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
            ))),
            Err(err) => {
                let mut reply =
                    self.request_page(who, id, "", Some((false, &format!("{err:#}"))))?;
                if reply.status == 200 {
                    reply.status = 403;
                }
                Ok(reply)
            }
        }
    }
}

/// Who is looking, as a page needs it.
struct Viewer {
    user: String,
    csrf: String,
}

fn intent_str(r: &ExportRequest) -> &'static str {
    match r.intent {
        airlock::Intent::InternalUse => "internal-use",
        airlock::Intent::Publication => "publication",
        airlock::Intent::PatentFiling => "patent-filing",
        airlock::Intent::ForumNotification => "forum-notification",
    }
}

fn vote_str(v: Vote) -> &'static str {
    match v {
        Vote::Approve => "approve",
        Vote::RequestChanges => "request-changes",
        Vote::Reject => "reject",
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn page(title: &str, who: Option<&Viewer>, body: &str) -> String {
    let user = match who {
        Some(v) => format!(
            "<form method=\"post\" action=\"/logout\" class=\"logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><span id=\"who\">{}</span> <button type=\"submit\">Log out</button></form><a href=\"/\">Requests</a>",
            esc(&v.csrf),
            esc(&v.user)
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · export review</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body><header><h1>Export airlock · review</h1>{user}</header><main><h2 class=\"title\">{t}</h2>{body}</main></body></html>",
        t = esc(title)
    )
}

fn login_page(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"login_error\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        "Log in",
        None,
        &format!(
            "{error}<form method=\"post\" action=\"/login\" id=\"login_form\">\
             <p><label for=\"user\">User</label><br><input name=\"user\" id=\"user\" autocomplete=\"username\" required></p>\
             <p><label for=\"password\">Password</label><br><input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></p>\
             <p><label for=\"code\">Authenticator code</label><br><input name=\"code\" id=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required></p>\
             <button type=\"submit\" id=\"login_submit\">Log in</button></form>"
        ),
    )
}

fn findings_html(findings: &Value) -> String {
    let list = findings.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return "<section><h2>Automatic findings</h2><p id=\"findings\">None.</p></section>"
            .to_owned();
    }
    let mut out = String::from(
        "<section><h2>Automatic findings</h2><table id=\"findings\"><thead><tr><th>Check</th><th>Rule</th><th>Verdict</th><th>Cells</th><th>Why</th><th>Fix</th></tr></thead><tbody>",
    );
    for f in list {
        let text = |k: &str| esc(f[k].as_str().unwrap_or_default());
        out.push_str(&format!(
            "<tr class=\"finding verdict-{v}\"><td class=\"check\">{c}</td><td>{r}</td><td>{v}</td><td>{n}</td><td>{m}</td><td>{x}</td></tr>",
            c = text("check"),
            r = text("rule"),
            v = text("verdict"),
            n = f["cells"].as_array().map_or(0, Vec::len),
            m = text("message"),
            x = text("fix"),
        ));
    }
    out.push_str("</tbody></table></section>");
    out
}

/// The checks flagging each cell (`row`, 1-based, and column) and each whole column.
type Flags = (
    BTreeMap<(u64, String), Vec<String>>,
    BTreeMap<String, Vec<String>>,
);

fn flags(findings: &Value) -> Flags {
    let (mut cells, mut columns): Flags = Default::default();
    for f in findings.as_array().map(Vec::as_slice).unwrap_or_default() {
        let check = f["check"].as_str().unwrap_or_default().to_owned();
        for at in f["cells"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let Some(column) = at["column"].as_str() else {
                continue;
            };
            match at["row"].as_u64() {
                Some(row) => cells
                    .entry((row, column.to_owned()))
                    .or_default()
                    .push(check.clone()),
                None => columns
                    .entry(column.to_owned())
                    .or_default()
                    .push(check.clone()),
            }
        }
    }
    (cells, columns)
}

/// The frozen object, rendered for reading: a table with its flagged cells marked, an
/// image as a `data:` image (an SVG's script never runs there), a notebook's cells and
/// outputs as text, other text escaped.
fn object_html(store: &Path, request: &ExportRequest) -> String {
    let bytes = match workbench::export::release::frozen(store, &request.sha256) {
        Ok(b) => b,
        Err(err) => {
            return format!(
                "<section><h2>Object</h2><p class=\"error\" id=\"object\">The frozen object cannot be shown: {} (R39-export: a changed object cannot be voted on or released).</p></section>",
                esc(&err.to_string())
            );
        }
    };
    // By content, as the checks decide, not by the name the author chose; what a picture
    // holds beside its pixels (an SVG's text, comments, metadata) is shown as source too.
    let json = serde_json::from_slice::<Value>(&bytes).is_ok();
    let svg = !json && std::str::from_utf8(&bytes).is_ok_and(|t| t.contains("<svg"));
    let inner = if workbench::export::notebook::is_notebook(&bytes) {
        format!(
            "{}<details><summary>The notebook's whole JSON</summary>{}</details>",
            notebook_html(&bytes),
            text_html(&String::from_utf8_lossy(&bytes))
        )
    } else if !json && workbench::export::check::is_table(&bytes) {
        table_html(&bytes, &request.findings)
    } else if svg {
        format!(
            "{}<details open><summary>Its source</summary>{}</details>",
            image_html("image/svg+xml", &bytes),
            text_html(&String::from_utf8_lossy(&bytes))
        )
    } else if bytes.starts_with(b"\x89PNG") {
        image_html("image/png", &bytes)
    } else {
        match std::str::from_utf8(&bytes) {
            Ok(text) => text_html(text),
            Err(_) => format!(
                "<p>A binary object of {} bytes: reviewers read it outside the page.</p>",
                bytes.len()
            ),
        }
    };
    format!("<section><h2>Object</h2><div id=\"object\">{inner}</div></section>")
}

fn text_html(text: &str) -> String {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < text.len() {
        format!("<p>… {} more bytes not shown.</p>", text.len() - end)
    } else {
        String::new()
    };
    format!("<pre>{}</pre>{more}", esc(&text[..end]))
}

fn image_html(mime: &str, bytes: &[u8]) -> String {
    format!(
        "<img alt=\"the object\" src=\"data:{mime};base64,{}\">",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn table_html(bytes: &[u8], findings: &Value) -> String {
    let (cells, columns) = flags(findings);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_owned()).collect(),
        Err(e) => {
            return format!(
                "<p class=\"error\">The table cannot be read: {}</p>",
                esc(&e.to_string())
            );
        }
    };
    let mut out = String::from("<table class=\"object\"><thead><tr><th>#</th>");
    for name in &header {
        match columns.get(name) {
            Some(checks) => out.push_str(&format!(
                "<th class=\"flagged\" data-rules=\"{r}\" title=\"{r}\">{n}</th>",
                r = esc(&checks.join(" ")),
                n = esc(name)
            )),
            None => out.push_str(&format!("<th>{}</th>", esc(name))),
        }
    }
    out.push_str("</tr></thead><tbody>");
    let mut shown = 0;
    let mut total = 0;
    for (i, record) in reader.records().enumerate() {
        total += 1;
        if shown >= MAX_ROWS {
            continue;
        }
        shown += 1;
        let row = i as u64 + 1;
        out.push_str(&format!("<tr><th>{row}</th>"));
        match record {
            Ok(record) => {
                for (c, value) in record.iter().enumerate() {
                    let column = header.get(c).cloned().unwrap_or_default();
                    match cells.get(&(row, column.clone())) {
                        Some(checks) => out.push_str(&format!(
                            "<td class=\"flagged\" data-row=\"{row}\" data-column=\"{col}\" data-rules=\"{r}\" title=\"{r}\">{v}</td>",
                            col = esc(&column),
                            r = esc(&checks.join(" ")),
                            v = esc(value.trim())
                        )),
                        None => out.push_str(&format!("<td>{}</td>", esc(value.trim()))),
                    }
                }
            }
            Err(e) => out.push_str(&format!(
                "<td class=\"error\" colspan=\"{}\">{}</td>",
                header.len().max(1),
                esc(&e.to_string())
            )),
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if total > shown {
        out.push_str(&format!("<p>{} more rows not shown.</p>", total - shown));
    }
    out
}

/// A notebook read as JSON: each cell's source, and its outputs as text or images. HTML
/// outputs are shown as their source: nothing of the notebook runs in the page.
fn notebook_html(bytes: &[u8]) -> String {
    let Ok(nb) = serde_json::from_slice::<Value>(bytes) else {
        return match std::str::from_utf8(bytes) {
            Ok(text) => format!(
                "<p class=\"error\">Not a readable notebook; shown as text.</p>{}",
                text_html(text)
            ),
            Err(_) => "<p class=\"error\">Not a readable notebook.</p>".to_owned(),
        };
    };
    let joined = |v: &Value| match v {
        Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect::<String>(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let mut out = String::new();
    for (i, cell) in nb["cells"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let kind = cell["cell_type"].as_str().unwrap_or("cell");
        out.push_str(&format!(
            "<div class=\"nb-cell\"><p class=\"nb-kind\">[{}] {}</p><pre class=\"nb-source\">{}</pre>",
            i + 1,
            esc(kind),
            esc(&joined(&cell["source"]))
        ));
        for output in cell["outputs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if output["output_type"] == "stream" {
                out.push_str(&format!(
                    "<pre class=\"nb-output\">{}</pre>",
                    esc(&joined(&output["text"]))
                ));
                continue;
            }
            if output["output_type"] == "error" {
                out.push_str(&format!(
                    "<pre class=\"nb-output\">{}: {}</pre>",
                    esc(output["ename"].as_str().unwrap_or_default()),
                    esc(output["evalue"].as_str().unwrap_or_default())
                ));
                continue;
            }
            let data = &output["data"];
            if let Some(png) = data["image/png"].as_str() {
                let clean: String = png.chars().filter(|c| !c.is_whitespace()).collect();
                if base64::engine::general_purpose::STANDARD
                    .decode(&clean)
                    .is_ok()
                {
                    out.push_str(&format!(
                        "<img alt=\"output\" src=\"data:image/png;base64,{clean}\">"
                    ));
                }
            } else if data.get("image/svg+xml").is_some() {
                out.push_str(&image_html(
                    "image/svg+xml",
                    joined(&data["image/svg+xml"]).as_bytes(),
                ));
            } else if data.get("text/plain").is_some() {
                out.push_str(&format!(
                    "<pre class=\"nb-output\">{}</pre>",
                    esc(&joined(&data["text/plain"]))
                ));
            } else if data.get("text/html").is_some() {
                out.push_str(&format!(
                    "<p class=\"nb-kind\">HTML output, shown as its source:</p><pre class=\"nb-output\">{}</pre>",
                    esc(&joined(&data["text/html"]))
                ));
            }
        }
        out.push_str("</div>");
    }
    out
}

fn project_html(
    store: &Sqlite,
    project: &workbench_governance::project::Project,
) -> Result<String> {
    let approvals = store.approvals(&project.id)?;
    let mut grants = String::new();
    for a in &approvals {
        grants.push_str(&format!(
            "<li>{} by {} ({}) on {}{}</li>",
            esc(a.grant.as_str()),
            esc(&a.by),
            esc(&a.institution),
            a.on,
            a.revoked_on
                .map(|r| format!(", revoked on {r}"))
                .unwrap_or_default()
        ));
    }
    if grants.is_empty() {
        grants.push_str("<li>none</li>");
    }
    let types: Vec<&str> = project.cancer_types.iter().map(String::as_str).collect();
    Ok(format!(
        "<section id=\"project\"><h2>Project {id}</h2><dl class=\"facts\">\
         <dt>Title</dt><dd>{title}</dd><dt>Forum</dt><dd>{forum}</dd><dt>Purpose</dt><dd>{purpose}</dd>\
         <dt>Tier</dt><dd>{tier}</dd><dt>Institution</dt><dd>{inst}</dd><dt>Cancer types</dt><dd>{types}</dd>\
         <dt>Approved</dt><dd>{created}, licence until {expires}{revoked}</dd><dt>Committee grants</dt><dd><ul>{grants}</ul></dd></dl></section>",
        id = esc(&project.id),
        title = esc(&project.title),
        forum = workbench_governance::project::forum_name(project.forum),
        purpose = project.purpose.as_str(),
        tier = project.tier.as_str(),
        inst = esc(&project.institution),
        types = esc(&types.join(", ")),
        created = project.created_on,
        expires = project.expires,
        revoked = project
            .revoked_on
            .map(|r| format!("; revoked on {r}"))
            .unwrap_or_default(),
    ))
}

/// The project's earlier releases: what a new object could be differenced against.
fn releases_html(store: &Sqlite, request: &ExportRequest) -> Result<String> {
    let mut rows = String::new();
    for r in store.export_requests(&request.project)? {
        if r.state != State::Released || r.id == request.id {
            continue;
        }
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&r.id),
            esc(&r.file_name),
            esc(intent_str(&r)),
            esc(r.sha256.get(..16).unwrap_or(&r.sha256)),
            esc(&r.created)
        ));
    }
    Ok(if rows.is_empty() {
        "<section><h2>Earlier releases of the project</h2><p id=\"releases\">None.</p></section>"
            .to_owned()
    } else {
        format!(
            "<section><h2>Earlier releases of the project</h2><table id=\"releases\"><thead><tr><th>Request</th><th>Object</th><th>Intent</th><th>sha256</th><th>Asked</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    })
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}\
header{background:#123c5a;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}\
header h1{font-size:1.2em;margin:0;flex:1}header a{color:#fff}\
.logout{display:inline}main{padding:1em 1.5em;max-width:78em}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}\
thead th{background:#eef2f5}td.flagged,th.flagged{background:#ffd5d0;outline:2px solid #c0392b}\
.verdict-fail{color:#a61b0f;font-weight:600}.verdict-review{color:#8a5a00;font-weight:600}.verdict-pass{color:#1d6b2f}\
.error{color:#a61b0f;font-weight:600}.notice{color:#1d6b2f;font-weight:600}\
dl.facts{display:grid;grid-template-columns:12em auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}\
pre{background:#f6f8fa;padding:.5em;overflow:auto;max-height:30em}img{max-width:100%;border:1px solid #ddd}\
section{margin-bottom:1.5em}.nb-kind{color:#555;margin:.3em 0}";
