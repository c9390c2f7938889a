//! Cell outputs made safe for the browser, in the kernel (the trusted side), whatever the
//! cell printed (R18): JupyterLab shows a live kernel's `text/html` and `image/svg+xml` as
//! trusted, so a `<script>` in them would run with the user's Jupyter credentials.
//!
//! Every rich bundle passes here before it reaches iopub: `text/html` and `image/svg+xml`
//! through an allow-list sanitiser (ammonia, html5ever's parser) that keeps exactly the
//! tags and attributes our own tables, reports and plotters figures use; `image/png` and
//! `image/jpeg` only as base64; `text/plain` and `application/json` as they are; every
//! other MIME type (`application/javascript`, `text/markdown`, which renders raw HTML,
//! vendor types) is withheld, and the bundle says so in its `text/plain`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use serde_json::{Map, Value};

/// SVG elements plotters writes (svg_backend, line_series, point series).
const SVG_TAGS: [&str; 8] = [
    "svg", "rect", "line", "polyline", "polygon", "circle", "text", "tspan",
];

/// HTML elements of our tables (`display`), cohort cards, survival tables, QC reports.
const HTML_TAGS: [&str; 19] = [
    "div", "span", "small", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "br", "b", "i",
    "em", "strong", "code", "pre", "p", "caption",
];

/// Elements removed with everything inside them (ammonia drops a disallowed tag but keeps
/// its text otherwise).
const DROPPED_WITH_CONTENT: [&str; 23] = [
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "noscript",
    "noembed",
    "noframes",
    "xmp",
    "plaintext",
    "textarea",
    "title",
    "template",
    "math",
    "form",
    "foreignObject",
    "foreignobject",
    "set",
    "animate",
    "animateMotion",
    "animatemotion",
    "animateTransform",
    "animatetransform",
];

const PAINT: [&str; 4] = ["opacity", "fill", "stroke", "stroke-width"];

fn svg_attributes() -> HashMap<&'static str, HashSet<&'static str>> {
    let with_paint = |extra: &[&'static str]| -> HashSet<&'static str> {
        extra.iter().chain(PAINT.iter()).copied().collect()
    };
    HashMap::from([
        (
            "svg",
            HashSet::from(["width", "height", "viewBox", "xmlns"]),
        ),
        ("rect", with_paint(&["x", "y", "width", "height"])),
        ("polyline", with_paint(&["points"])),
        ("polygon", with_paint(&["points"])),
        ("line", with_paint(&["x1", "y1", "x2", "y2"])),
        ("circle", with_paint(&["cx", "cy", "r"])),
        (
            "text",
            with_paint(&[
                "x",
                "y",
                "dx",
                "dy",
                "text-anchor",
                "dominant-baseline",
                "font-family",
                "font-size",
                "font-weight",
                "font-style",
                "transform",
            ]),
        ),
        ("tspan", with_paint(&["x", "y", "dx", "dy"])),
    ])
}

/// Attribute values by a grammar, not a deny-list: paint is a colour or `none`,
/// `transform` a rotation or translation by numbers, `xmlns` the SVG namespace; anything
/// else may hold no URL, function, entity or markup.
fn value_filter<'u>(_element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let numbers = |text: &str| {
        text.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | ',' | ' ' | 'e' | 'E'))
    };
    let ok = match attribute {
        "fill" | "stroke" => {
            value == "none"
                || (value.len() <= 9
                    && value.starts_with('#')
                    && value[1..].chars().all(|c| c.is_ascii_hexdigit()))
        }
        "transform" => ["rotate(", "translate("].iter().any(|f| {
            value
                .strip_prefix(f)
                .and_then(|rest| rest.strip_suffix(')'))
                .is_some_and(numbers)
        }),
        "xmlns" => value == "http://www.w3.org/2000/svg",
        _ => !value
            .chars()
            .any(|c| matches!(c, '(' | ':' | '\\' | ';' | '<' | '&')),
    };
    ok.then_some(Cow::Borrowed(value))
}

fn builder(html: bool) -> Builder<'static> {
    let mut tags: HashSet<&'static str> = SVG_TAGS.into_iter().collect();
    let mut attributes = svg_attributes();
    let mut builder = Builder::empty();
    if html {
        tags.extend(HTML_TAGS);
        attributes.insert("table", HashSet::from(["border"]));
        attributes.insert("td", HashSet::from(["colspan", "rowspan"]));
        attributes.insert("th", HashSet::from(["colspan", "rowspan"]));
        builder.allowed_classes(HashMap::from([
            (
                "div",
                HashSet::from(["workbench-frame", "workbench-qc", "workbench-cohort"]),
            ),
            ("table", HashSet::from(["dataframe"])),
        ]));
    }
    builder
        .tags(tags)
        .tag_attributes(attributes)
        .generic_attributes(HashSet::new())
        .url_schemes(HashSet::new())
        .url_relative(UrlRelative::Deny)
        .link_rel(None)
        .strip_comments(true)
        .clean_content_tags(DROPPED_WITH_CONTENT.into_iter().collect())
        .attribute_filter(value_filter);
    builder
}

static HTML: LazyLock<Builder<'static>> = LazyLock::new(|| builder(true));
static SVG: LazyLock<Builder<'static>> = LazyLock::new(|| builder(false));

/// `text/html` through the allow-list.
pub(crate) fn html(text: &str) -> String {
    HTML.clean(text).to_string()
}

/// `image/svg+xml` through the allow-list, as well-formed XML with one `<svg>` root, or
/// `None` when what is left is not (the bundle keeps its PNG and text then).
pub(crate) fn svg(text: &str) -> Option<String> {
    // ammonia serialises as HTML: a non-breaking space becomes `&nbsp;`, which XML lacks.
    let cleaned = SVG.clean(text).to_string().replace("&nbsp;", "&#160;");
    let document = roxmltree::Document::parse(&cleaned).ok()?;
    (document.root_element().tag_name().name() == "svg").then_some(cleaned)
}

/// Base64 text (what a PNG or JPEG output must be), whitespace allowed.
fn is_base64(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '\n' | '\r'))
}

/// A rich bundle made safe: see the module documentation.
pub(crate) fn bundle(data: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut withheld = Vec::new();
    for (mime, value) in data {
        let kept = match (mime.as_str(), &value) {
            ("text/plain" | "application/json", _) => Some(value),
            ("text/html", Value::String(text)) => Some(Value::String(html(text))),
            ("image/svg+xml", Value::String(text)) => svg(text).map(Value::String),
            ("image/png" | "image/jpeg", Value::String(text)) if is_base64(text) => Some(value),
            _ => None,
        };
        match kept {
            Some(value) => {
                out.insert(mime, value);
            }
            None => withheld.push(mime),
        }
    }
    if !withheld.is_empty() {
        let note = format!(
            "[output withheld by the enclave (R18): {}]",
            withheld.join(", ")
        );
        let text = match out.get("text/plain") {
            Some(Value::String(text)) => format!("{text}\n{note}"),
            _ => note,
        };
        out.insert("text/plain".into(), Value::String(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_urls_and_frames_go() {
        let hostile = r#"<div class="workbench-frame evil" onclick="x()"><script>document.title='x'</script>
            <img src="http://attacker/x.png"><a href="javascript:alert(1)">l</a>
            <iframe src="/api/terminals"></iframe><object data="x"></object><style>@import url(http://a)</style>
            <table class="dataframe" border="1"><tr><td style="background:url(http://a)">1</td></tr></table></div>"#;
        let clean = html(hostile);
        for gone in [
            "script",
            "onclick",
            "img",
            "http",
            "javascript",
            "iframe",
            "object",
            "style",
            "evil",
            "document.title",
            "@import",
        ] {
            assert!(!clean.contains(gone), "{gone} survived: {clean}");
        }
        assert!(
            clean.contains(r#"<div class="workbench-frame">"#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"<table class="dataframe" border="1">"#),
            "{clean}"
        );
        assert!(clean.contains("<td>1</td>"), "{clean}");
    }

    #[test]
    fn svg_keeps_plotters_figures_and_loses_the_rest() {
        let figure = r##"<svg width="640" height="480" viewBox="0 0 640 480" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="640" height="480" opacity="1" fill="#FFFFFF" stroke="none"/>
<polyline fill="none" opacity="1" stroke="#000000" stroke-width="1" points="10,10 20,20 "/>
<text x="5" y="240" dy="0.76em" text-anchor="middle" font-family="sans-serif" font-size="12" opacity="1" fill="#000000" transform="rotate(270, 5, 240)">Survival&#160;probability</text>
<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div></foreignObject>
<a><set attributeName="href" to="javascript:alert(1)"/><text>x</text></a>
<rect fill="url(http://attacker/p)" onload="x()" x="1" y="1" width="1" height="1"/>
</svg>"##;
        let clean = svg(figure).expect("well-formed");
        for kept in [
            r#"viewBox="0 0 640 480""#,
            r#"xmlns="http://www.w3.org/2000/svg""#,
            r#"transform="rotate(270, 5, 240)""#,
            "points=\"10,10 20,20 \"",
            "Survival",
        ] {
            assert!(clean.contains(kept), "{kept} lost: {clean}");
        }
        for gone in [
            "foreignObject",
            "script",
            "set",
            "javascript",
            "url(",
            "onload",
        ] {
            assert!(!clean.contains(gone), "{gone} survived: {clean}");
        }
    }

    #[test]
    fn unknown_and_script_types_are_withheld_and_said_so() {
        let data = serde_json::json!({
            "text/plain": "v",
            "application/javascript": "alert(1)",
            "text/markdown": "<script>x</script>",
            "image/png": "iVBORw0KGgo=",
            "image/jpeg": "not base64 <script>",
        });
        let Value::Object(data) = data else {
            unreachable!()
        };
        let out = bundle(data);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.contains_key("image/png"));
        let text = out["text/plain"].as_str().expect("text");
        assert!(
            text.starts_with("v\n[output withheld by the enclave (R18): "),
            "{text}"
        );
        assert!(text.contains("application/javascript") && text.contains("text/markdown"));
    }
}
