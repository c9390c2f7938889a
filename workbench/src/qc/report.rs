//! Pieces shared by the QC reports: line charts (per-cycle quality, depth, breadth, insert
//! sizes, trends) and the standalone HTML page around a report.
//!
//! Reports are self-contained files (inline SVG, inline CSS, no script, no web font) so
//! they can be mailed to a hospital or sequencing centre and opened offline.

use plotters::prelude::*;

use crate::display::{Html, Svg, escape};

/// One line of a [`line_chart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points in data coordinates.
    pub points: Vec<(f64, f64)>,
}

/// A line chart: `title`, axis titles, lines coloured from plotters' palette, optional
/// horizontal guides (thresholds, in red), x from 0 to the data's extent, y from 0 to the
/// data's extent or over `y` (low, high).
pub fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    guides: &[f64],
    y: Option<(f64, f64)>,
) -> Svg {
    labelled_line_chart(title, x_desc, y_desc, series, guides, y, &[])
}

/// [`line_chart`] whose x positions 0, 1, 2… are named by `x_labels` (months, say).
pub fn labelled_line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    guides: &[f64],
    y: Option<(f64, f64)>,
    x_labels: &[String],
) -> Svg {
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let (y_low, y_top) = y.unwrap_or_else(|| {
        let top = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(guides.iter().copied())
            .fold(0.0f64, f64::max)
            * 1.08;
        (0.0, if top > 0.0 { top } else { 1.0 })
    });
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 360)).into_drawing_area();
        // Drawing into a String cannot fail on I/O; a failed element only loses itself.
        let _ = root.fill(&WHITE);
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, y_low..y_top)
        {
            let label = |x: &f64| {
                if (x - x.round()).abs() < 1e-9 && *x >= 0.0 {
                    x_labels.get(*x as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(x_desc).y_desc(y_desc);
            if !x_labels.is_empty() {
                mesh.x_labels(x_labels.len().min(12))
                    .x_label_formatter(&label);
            }
            let _ = mesh.draw();
            for level in guides {
                let _ = chart.draw_series(LineSeries::new(
                    [(0.0, *level), (x_max, *level)],
                    RED.mix(0.7).stroke_width(1),
                ));
            }
            for (i, s) in series.iter().enumerate() {
                let colour = Palette99::pick(i).to_rgba();
                if let Ok(drawn) = chart.draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                )) {
                    drawn.label(s.label.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                    });
                }
            }
            if series.len() > 1 {
                let _ = chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::LowerLeft)
                    .draw();
            }
        }
        let _ = root.present();
    }
    Svg {
        svg,
        text: title.to_owned(),
    }
}

/// A complete HTML page around a report fragment.
pub fn standalone(title: &str, body: &Html) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>\
         body{{font-family:sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}\
         th,td{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         th:first-child,td:first-child{{text-align:left}}\
         svg{{display:block;margin:1em 0}}</style></head>\
         <body><h1>{title}</h1>\n{}\n<p><small>workbench {}</small></p></body></html>\n",
        body.html,
        env!("CARGO_PKG_VERSION"),
        title = escape(title),
    )
}
