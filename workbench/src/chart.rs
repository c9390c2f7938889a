//! Chart primitives drawn with plotters as SVG: horizontal bars with a value axis, and the
//! layout (sizes, fonts, ticks) that the figures share.
//!
//! Analyses that draw themselves (QC feedback) and the cohort figures both draw through
//! these, so that no analysis depends on `figures`, which draws analyses.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::display::Svg;

/// Width of a figure, in pixels.
pub(crate) const WIDTH: u32 = 820;
/// Height of one bar or oncoprint row.
pub(crate) const ROW: i32 = 22;
/// Room above the first row (the title).
pub(crate) const TOP: i32 = 56;
/// Room left of the rows (their labels), at least.
pub(crate) const LEFT: i32 = 150;

/// The figures' font: generic sans-serif (DejaVu Sans where installed).
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

/// Round axis ticks from 0 to at least `max` (about five).
fn ticks(max: f64) -> Vec<f64> {
    if max <= 0.0 {
        return vec![0.0, 1.0];
    }
    let step = crate::display::nice_step(max, 5.0);
    let mut out = vec![0.0];
    while *out.last().unwrap_or(&0.0) < max {
        out.push(out.len() as f64 * step);
    }
    out
}

fn format_tick(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Horizontal bars, one per `(label, value, annotation)`, with a value axis titled
/// `axis` below them.
pub fn bars(title: &str, axis: &str, items: &[(String, f64, String)]) -> Svg {
    let n = items.len() as i32;
    let height = (TOP + n * ROW + 70).max(160) as u32;
    // Room for the longest label at about 7 px per character (13 px sans-serif).
    let longest = items.iter().map(|i| i.0.chars().count()).max().unwrap_or(0) as i32;
    let left = LEFT.max(24 + 7 * longest);
    let width = (WIDTH as i32).max(left + 520);
    let plot_width = width - left - 170;
    let max = items.iter().map(|i| i.1).fold(0.0f64, f64::max);
    let ticks = ticks(max);
    let top_tick = *ticks.last().unwrap_or(&1.0);
    let x = |v: f64| left + (v / top_tick * f64::from(plot_width)) as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width as u32, height)).into_drawing_area();
        // Drawing into a String cannot fail on I/O; an error would leave the figure
        // incomplete, which its text alternative still describes.
        let _ = root.fill(&WHITE);
        let _ = root.draw(&Text::new(title.to_owned(), (12, 12), font(18)));
        let bottom = TOP + n * ROW;
        for (i, (label, value, note)) in items.iter().enumerate() {
            let y = TOP + i as i32 * ROW;
            let _ = root.draw(&Text::new(label.clone(), (12, y + 3), font(13)));
            let _ = root.draw(&Rectangle::new(
                [(left, y + 2), (x(*value).max(left + 1), y + ROW - 4)],
                Palette99::pick(0).filled(),
            ));
            let _ = root.draw(&Text::new(note.clone(), (x(*value) + 6, y + 4), font(12)));
        }
        let _ = root.draw(&PathElement::new(
            vec![(left, TOP - 4), (left, bottom), (x(top_tick), bottom)],
            BLACK,
        ));
        for t in &ticks {
            let _ = root.draw(&PathElement::new(
                vec![(x(*t), bottom), (x(*t), bottom + 5)],
                BLACK,
            ));
            let _ = root.draw(&Text::new(
                format_tick(*t),
                (x(*t) - 8, bottom + 9),
                font(12),
            ));
        }
        let _ = root.draw(&Text::new(axis.to_owned(), (left, bottom + 32), font(14)));
        let _ = root.present();
    }
    let mut text = format!("{title}\n");
    for (label, _, note) in items {
        let _ = writeln!(text, "{label}: {note}");
    }
    Svg { svg, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_cover_the_maximum() {
        assert_eq!(ticks(27.0), vec![0.0, 10.0, 20.0, 30.0]);
        assert_eq!(ticks(0.0), vec![0.0, 1.0]);
        assert!(*ticks(51.3).last().expect("tick") >= 51.3);
    }
}
