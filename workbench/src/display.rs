//! Rich display of workbench values in a notebook: HTML tables for DataFrames, SVG figures.
//!
//! Two routes reach the front end, both understood by the workbench kernel:
//! - a cell whose last expression has an `evcxr_display` method prints an evcxr content
//!   block (`EVCXR_BEGIN_CONTENT mime … EVCXR_END_CONTENT`) that becomes the cell's
//!   `execute_result`; our own types ([`Html`], [`Svg`]) have such inherent methods, and
//!   polars' `DataFrame` gets one through the [`FrameDisplay`] trait;
//! - [`show`] prints one `WORKBENCH_DISPLAY {json}` line that the kernel turns into a
//!   `display_data` message, so a cell can show several things as it runs.
//!
//! Rendering is pure (`to_html`, `bundle`): it is tested without a kernel. Figures carry a
//! PNG copy beside the SVG ([`raster`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polars::prelude::{AnyValue, DataFrame};

pub mod raster;

/// Rows shown before a DataFrame is truncated (head and tail halves), as polars' own
/// HTML representation does.
pub const MAX_ROWS: usize = 10;

/// Columns shown before a DataFrame is truncated (left and right halves).
pub const MAX_COLUMNS: usize = 16;

/// A MIME bundle: representations of one value keyed by MIME type.
pub type Bundle = BTreeMap<&'static str, String>;

/// Something the notebook can show richly.
pub trait Render {
    /// The value's representations; always holds `text/plain`.
    fn bundle(&self) -> Bundle;
}

/// A fragment of HTML with a plain-text alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html {
    /// The HTML markup.
    pub html: String,
    /// What a text-only front end shows.
    pub text: String,
}

/// An SVG image with a plain-text alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg {
    /// The SVG document.
    pub svg: String,
    /// What a text-only front end shows (the figure's title).
    pub text: String,
}

impl Render for Html {
    fn bundle(&self) -> Bundle {
        Bundle::from([
            ("text/html", self.html.clone()),
            ("text/plain", self.text.clone()),
        ])
    }
}

impl Render for Svg {
    /// SVG, its PNG copy (base64) and the title. Without a PNG copy (no fonts on the
    /// machine) the figure still shows as SVG; the reason is written to stderr once.
    fn bundle(&self) -> Bundle {
        let mut bundle = Bundle::from([
            ("image/svg+xml", self.svg.clone()),
            ("text/plain", self.text.clone()),
        ]);
        match raster::png_base64(&self.svg) {
            Ok(png) => {
                bundle.insert("image/png", png);
            }
            Err(error) => warn_once(&error),
        }
        bundle
    }
}

/// Tells once per process why figures lack their PNG copy: the cause (fonts, usually) is
/// the same for every figure.
fn warn_once(error: &raster::Error) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("warning: figures are shown without a PNG copy: {error}");
        }
    });
}

impl Render for DataFrame {
    fn bundle(&self) -> Bundle {
        Bundle::from([
            ("text/html", to_html(self)),
            ("text/plain", self.to_string()),
        ])
    }
}

impl Html {
    /// Shows the HTML as the cell's result (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        print_content(&self.bundle());
    }
}

impl Svg {
    /// Shows the image as the cell's result (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        print_content(&self.bundle());
    }

    /// Writes the SVG document to `path`, whole or not at all ([`crate::durable`]).
    ///
    /// # Errors
    ///
    /// The failed step and path; an earlier file at `path` is kept.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), crate::durable::Error> {
        crate::durable::write(path.as_ref(), self.svg.as_bytes())
    }

    /// Writes the figure as a PNG file to `path`, whole or not at all.
    ///
    /// # Errors
    ///
    /// The rasterising error (no fonts, usually) or the failed write.
    pub fn save_png(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let png = self.png()?;
        crate::durable::write(path.as_ref(), &png)?;
        Ok(())
    }

    /// The figure as PNG bytes, one pixel per SVG unit.
    ///
    /// # Errors
    ///
    /// [`raster::Error`] (no fonts on the machine, usually).
    pub fn png(&self) -> Result<Vec<u8>, raster::Error> {
        raster::png(&self.svg)
    }
}

/// Gives polars' `DataFrame` an HTML table as a cell result.
///
/// A trait is the only way to add a method to a foreign type; it is implemented for
/// `DataFrame` alone, so for every other value the method is simply absent and evcxr
/// falls back to `Debug`, as it does without the prelude.
pub trait FrameDisplay {
    /// Shows the frame as the cell's result (called by evcxr for a cell's last value).
    fn evcxr_display(&self);
}

impl FrameDisplay for DataFrame {
    fn evcxr_display(&self) {
        print_content(&self.bundle());
    }
}

/// Shows `value` below the running cell now (a Jupyter `display_data` message).
pub fn show(value: &impl Render) {
    let bundle = value.bundle();
    let json = serde_json::to_string(&bundle).expect("a map of strings serialises");
    // One line per display: the kernel reads the child's stdout line by line, and JSON
    // escapes every newline inside the bundle.
    #[allow(clippy::print_stdout)]
    {
        println!("WORKBENCH_DISPLAY {json}");
    }
}

/// Prints an evcxr content block per MIME type.
fn print_content(bundle: &Bundle) {
    let mut out = String::new();
    for (mime, content) in bundle {
        let _ = write!(
            out,
            "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n"
        );
    }
    #[allow(clippy::print_stdout)]
    {
        print!("{out}");
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
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

/// Indices shown out of `n`, at most `max`: the first and last halves, with `None`
/// where the elided middle goes.
fn shown(n: usize, max: usize) -> Vec<Option<usize>> {
    if n <= max {
        return (0..n).map(Some).collect();
    }
    let head = max.div_ceil(2);
    let tail = max / 2;
    (0..head)
        .map(Some)
        .chain(std::iter::once(None))
        .chain((n - tail..n).map(Some))
        .collect()
}

fn cell_text(value: &AnyValue<'_>) -> String {
    match value {
        AnyValue::Null => "null".to_owned(),
        // Strings without the quotes polars' Display adds.
        AnyValue::String(s) => (*s).to_owned(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// An HTML table of `df`: its shape, column names with data types, and at most
/// [`MAX_ROWS`] rows and [`MAX_COLUMNS`] columns (head and tail, `…` between).
pub fn to_html(df: &DataFrame) -> String {
    let (height, width) = df.shape();
    let rows = shown(height, MAX_ROWS);
    let columns = shown(width, MAX_COLUMNS);
    let mut html = String::new();
    let _ = write!(
        html,
        "<div class=\"workbench-frame\"><small>shape: ({height}, {width})</small>\
         <table class=\"dataframe\" border=\"1\"><thead><tr>"
    );
    for column in &columns {
        match column {
            Some(i) => {
                let c = &df.columns()[*i];
                let _ = write!(
                    html,
                    "<th>{}<br><small>{}</small></th>",
                    escape(c.name()),
                    escape(&c.dtype().to_string())
                );
            }
            None => html.push_str("<th>…</th>"),
        }
    }
    html.push_str("</tr></thead><tbody>");
    for row in &rows {
        html.push_str("<tr>");
        for column in &columns {
            match (row, column) {
                (Some(r), Some(c)) => {
                    let text = df.columns()[*c]
                        .get(*r)
                        .map(|v| cell_text(&v))
                        .unwrap_or_default();
                    let _ = write!(html, "<td>{}</td>", escape(&text));
                }
                _ => html.push_str("<td>…</td>"),
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
    html
}

/// A round step (1, 2, 2.5 or 5 times a power of ten) that cuts `max` into about `parts`.
pub(crate) fn nice_step(max: f64, parts: f64) -> f64 {
    let raw = max / parts;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn small_frames_are_shown_whole_with_types() {
        let df = df!("gene" => ["TP53", "<b>"], "n" => [3i64, 4]).expect("frame");
        let html = to_html(&df);
        assert!(html.contains("shape: (2, 2)"), "{html}");
        assert!(
            html.contains("<th>gene<br><small>str</small></th>"),
            "{html}"
        );
        assert!(html.contains("<td>TP53</td>"), "{html}");
        assert!(html.contains("<td>&lt;b&gt;</td>"), "{html}");
        assert!(!html.contains('…'));
        let bundle = df.bundle();
        assert!(bundle["text/plain"].contains("TP53"));
    }

    #[test]
    fn long_and_wide_frames_are_truncated_head_and_tail() {
        let n = 1000i64;
        let mut columns: Vec<Column> = Vec::new();
        for c in 0..20 {
            columns.push(Column::new(
                format!("c{c}").into(),
                (0..n).map(|i| i * 100 + c).collect::<Vec<_>>(),
            ));
        }
        let df = DataFrame::new(n as usize, columns).expect("frame");
        let html = to_html(&df);
        assert!(html.contains("shape: (1000, 20)"));
        // Rows 0..5 and 995..1000 of column c0, nothing in between.
        assert!(html.contains("<td>400</td>") && html.contains("<td>99900</td>"));
        assert!(!html.contains("<td>500</td>"));
        // Columns c0..c7 and c12..c19.
        assert!(html.contains("<th>c7<br>") && html.contains("<th>c12<br>"));
        assert!(!html.contains("<th>c8<br>"));
        assert_eq!(html.matches("<tr>").count(), 1 + 11);
    }

    #[test]
    fn empty_frames_render() {
        let df = DataFrame::empty();
        assert!(to_html(&df).contains("shape: (0, 0)"));
    }

    #[test]
    fn figures_carry_a_png_copy_of_their_svg() {
        use base64::Engine as _;
        let figure = crate::chart::bars(
            "cases per site",
            "cases",
            &[
                ("lung".into(), 12.0, "12".into()),
                ("liver".into(), 7.0, "7".into()),
            ],
        );
        let bundle = figure.bundle();
        assert_eq!(bundle["image/svg+xml"], figure.svg);
        let png = base64::engine::general_purpose::STANDARD
            .decode(&bundle["image/png"])
            .expect("base64");
        assert_eq!(png, figure.png().expect("renders"));
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).expect("a PNG");
        let tree = resvg::usvg::Tree::from_str(&figure.svg, &Default::default()).expect("svg");
        assert_eq!(
            (pixmap.width(), pixmap.height()),
            (
                tree.size().to_int_size().width(),
                tree.size().to_int_size().height()
            )
        );
    }

    #[test]
    fn shown_indices() {
        assert_eq!(shown(3, 10), vec![Some(0), Some(1), Some(2)]);
        assert_eq!(
            shown(5, 3),
            vec![Some(0), Some(1), None, Some(4)],
            "two head, one tail"
        );
    }
}
