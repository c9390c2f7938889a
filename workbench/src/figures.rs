//! Figures of cohort analyses, drawn with plotters as SVG: mutation-frequency bars, an
//! oncoprint, and distributions of a clinical field (stage, response…).
//!
//! Every figure has a title, axis titles with units and a legend where colours carry
//! meaning, and a plain-text alternative; [`Svg::save`] writes it to a file. Layout is done
//! in pixels on the drawing area (not a chart mesh) because bars and oncoprint cells are
//! categorical and need their labels beside them, not on a numeric axis.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use plotters::prelude::*;
use polars::prelude::*;

use crate::chart::{LEFT, ROW, TOP, WIDTH, bars, font};
use crate::cohort::Cohort;
use crate::display::Svg;
use crate::lake::Lake;
use crate::query::{Error, protein_altering, samples};

fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column, Error> {
    df.column(name).map_err(|source| Error::Column {
        table: "frame",
        column: name.to_owned(),
        source,
    })
}

fn casted(df: &DataFrame, name: &str, dtype: &DataType) -> Result<Column, Error> {
    column(df, name)?
        .cast(dtype)
        .map_err(|source| Error::Column {
            table: "frame",
            column: name.to_owned(),
            source,
        })
}

/// Bars of the `top` most frequently mutated genes of a
/// [`mutation_frequency`](crate::analysis::mutation_frequency) frame (ungrouped): the
/// percentage of profiled cases with a protein-altering call, annotated `k / n (p %)`.
///
/// # Errors
///
/// [`Error::Column`] when the frame lacks `gene`, `mutated`, `profiled` or `frequency`.
pub fn mutation_frequency(df: &DataFrame, top: usize) -> Result<Svg, Error> {
    let gene = casted(df, "gene", &DataType::String)?;
    let mutated = casted(df, "mutated", &DataType::UInt32)?;
    let profiled = casted(df, "profiled", &DataType::UInt32)?;
    let (gene, mutated, profiled) = (
        gene.str().map_err(polars_error("gene"))?,
        mutated.u32().map_err(polars_error("mutated"))?,
        profiled.u32().map_err(polars_error("profiled"))?,
    );
    let items: Vec<(String, f64, String)> = (0..df.height().min(top))
        .filter_map(|i| {
            let (g, k, n) = (gene.get(i)?, mutated.get(i)?, profiled.get(i)?);
            let pct = if n == 0 {
                0.0
            } else {
                100.0 * f64::from(k) / f64::from(n)
            };
            Some((g.to_owned(), pct, format!("{k} / {n} ({pct:.1} %)")))
        })
        .collect();
    Ok(bars(
        "Most frequently mutated genes (protein-altering calls)",
        "cases mutated, % of cases profiled",
        &items,
    ))
}

fn polars_error(column: &'static str) -> impl Fn(PolarsError) -> Error {
    move |source| Error::Column {
        table: "frame",
        column: column.to_owned(),
        source,
    }
}

/// Bars of a [`counts`](crate::analysis::counts) frame: cases per group of `field`.
///
/// # Errors
///
/// [`Error::Column`] when the frame lacks `group`, `cases` or `fraction`.
pub fn distribution(df: &DataFrame, field: &str) -> Result<Svg, Error> {
    let group = casted(df, "group", &DataType::String)?;
    let cases = casted(df, "cases", &DataType::UInt32)?;
    let fraction = casted(df, "fraction", &DataType::Float64)?;
    let (group, cases, fraction) = (
        group.str().map_err(polars_error("group"))?,
        cases.u32().map_err(polars_error("cases"))?,
        fraction.f64().map_err(polars_error("fraction"))?,
    );
    let mut items: Vec<(String, f64, String)> = (0..df.height())
        .filter_map(|i| {
            let (g, n, f) = (group.get(i)?, cases.get(i)?, fraction.get(i)?);
            Some((
                g.to_owned(),
                f64::from(n),
                format!("{n} ({:.1} %)", 100.0 * f),
            ))
        })
        .collect();
    // Ordinal fields read best in their own order (stage I before IV).
    if matches!(field, "stage" | "subtype" | "best_response") {
        items.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(bars(
        &format!("Cases by {}", field.replace('_', " ")),
        "cases",
        &items,
    ))
}

/// Colours of MAF classes in the oncoprint (close to maftools' defaults), with the
/// colour for a case with several classes in one gene.
const CLASS_COLOURS: &[(&str, RGBColor)] = &[
    ("Missense_Mutation", RGBColor(0x33, 0xa0, 0x2c)),
    ("Nonsense_Mutation", RGBColor(0xe3, 0x1a, 0x1c)),
    ("Frame_Shift_Del", RGBColor(0x1f, 0x78, 0xb4)),
    ("Frame_Shift_Ins", RGBColor(0x6a, 0x3d, 0x9a)),
    ("In_Frame_Del", RGBColor(0xff, 0xd9, 0x2f)),
    ("In_Frame_Ins", RGBColor(0xa6, 0x56, 0x28)),
    ("Splice_Site", RGBColor(0xff, 0x7f, 0x00)),
    ("Translation_Start_Site", RGBColor(0xf7, 0x81, 0xbf)),
    ("Nonstop_Mutation", RGBColor(0x99, 0x99, 0x99)),
    ("Multi_Hit", RGBColor(0x00, 0x00, 0x00)),
];

/// Cases an oncoprint draws at most; beyond, the least mutated are left out (and the
/// caption says so).
pub const ONCOPRINT_MAX_CASES: usize = 1500;

/// An oncoprint of `genes` (rows, in the order given) over the cohort's profiled cases
/// with at least one of them mutated (columns, sorted so that co-mutated cases group):
/// each cell coloured by the protein-altering class, `Multi_Hit` when a case has several
/// classes in the gene; row labels give the mutated percentage of profiled cases.
///
/// # Errors
///
/// [`Error::Request`] without genes, or the lake's error.
pub fn oncoprint(lake: &Lake, cohort: &Cohort, genes: &[String]) -> Result<Svg, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    if genes.is_empty() {
        return Err(Error::Request(
            "an oncoprint needs at least one gene".into(),
        ));
    }
    let members = crate::query::members(cohort);
    let samples = samples(lake, &members)?;
    let calls = protein_altering(lake, &samples)?;
    let row_of: HashMap<&str, usize> = genes
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    // (case → per gene row: the class, or Multi_Hit).
    let mut cells: BTreeMap<&str, Vec<Option<&str>>> = BTreeMap::new();
    for call in &calls {
        let Some(&row) = row_of.get(call.gene.as_str()) else {
            continue;
        };
        let cell = &mut cells
            .entry(call.case.as_str())
            .or_insert_with(|| vec![None; genes.len()])[row];
        *cell = match *cell {
            None => Some(call.class.as_str()),
            Some(c) if c == call.class => Some(c),
            Some(_) => Some("Multi_Hit"),
        };
    }
    let profiled = cohort
        .cases()
        .iter()
        .filter(|c| samples.profiled.contains(c.as_str()))
        .count();
    let mut columns: Vec<(&str, Vec<Option<&str>>)> = cells.into_iter().collect();
    // Memo sort: cases mutated in the first gene first, then the second, and so on.
    columns.sort_by(|a, b| {
        let key = |v: &Vec<Option<&str>>| v.iter().map(|c| c.is_none()).collect::<Vec<_>>();
        key(&a.1).cmp(&key(&b.1)).then(a.0.cmp(b.0))
    });
    let mutated = columns.len();
    let shown = mutated.min(ONCOPRINT_MAX_CASES);
    let per_gene: Vec<usize> = (0..genes.len())
        .map(|r| columns.iter().filter(|c| c.1[r].is_some()).count())
        .collect();
    let plot_width = WIDTH as i32 - LEFT - 20;
    let cell = (f64::from(plot_width) / shown.max(1) as f64).clamp(0.5, 14.0);
    let rows = genes.len() as i32;
    let legend_top = TOP + rows * ROW + 40;
    let height = (legend_top + 30 * CLASS_COLOURS.len().div_ceil(3) as i32 + 20) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let mut caption =
            format!("Oncoprint: {mutated} of {profiled} profiled cases mutated in these genes");
        if shown < mutated {
            let _ = write!(caption, " ({shown} shown)");
        }
        let _ = root.draw(&Text::new(caption, (12, 12), font(18)));
        let _ = root.draw(&Text::new(
            "rows: genes (% of profiled cases mutated); columns: cases".to_owned(),
            (12, 34),
            font(12),
        ));
        for (r, gene) in genes.iter().enumerate() {
            let y = TOP + r as i32 * ROW;
            let pct = if profiled == 0 {
                0.0
            } else {
                100.0 * per_gene[r] as f64 / profiled as f64
            };
            let _ = root.draw(&Text::new(
                format!("{gene} {pct:.0} %"),
                (12, y + 3),
                font(13),
            ));
            let _ = root.draw(&Rectangle::new(
                [(LEFT, y + 1), (LEFT + plot_width, y + ROW - 3)],
                RGBColor(0xee, 0xee, 0xee).filled(),
            ));
            for (c, (_, row)) in columns.iter().take(shown).enumerate() {
                let Some(class) = row[r] else { continue };
                let colour = CLASS_COLOURS
                    .iter()
                    .find(|(name, _)| *name == class)
                    .map_or(RGBColor(0x55, 0x55, 0x55), |(_, c)| *c);
                let x0 = LEFT + (c as f64 * cell) as i32;
                let x1 = (LEFT + ((c + 1) as f64 * cell) as i32).max(x0 + 1);
                let _ = root.draw(&Rectangle::new(
                    [(x0, y + 1), (x1, y + ROW - 3)],
                    colour.filled(),
                ));
            }
        }
        for (i, (name, colour)) in CLASS_COLOURS.iter().enumerate() {
            let (col, line) = ((i % 3) as i32, (i / 3) as i32);
            let (x, y) = (12 + col * 260, legend_top + line * 30);
            let _ = root.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], colour.filled()));
            let _ = root.draw(&Text::new(name.replace('_', " "), (x + 20, y), font(12)));
        }
        let _ = root.present();
    }
    let mut text = format!(
        "oncoprint of {} genes over {profiled} profiled cases\n",
        genes.len()
    );
    for (r, gene) in genes.iter().enumerate() {
        let _ = writeln!(text, "{gene}: {} mutated", per_gene[r]);
    }
    Ok(Svg { svg, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_title_labels_axis_and_notes() {
        let svg = bars(
            "Cases by stage",
            "cases",
            &[
                ("I".into(), 10.0, "10 (50.0 %)".into()),
                ("IV".into(), 10.0, "10 (50.0 %)".into()),
            ],
        );
        // plotters writes each text element's content on a line of its own.
        for needle in [
            "Cases by stage",
            "\nI\n",
            "\nIV\n",
            "10 (50.0 %)",
            "\ncases\n",
        ] {
            assert!(svg.svg.contains(needle), "{needle} missing");
        }
        assert!(svg.text.contains("IV: 10 (50.0 %)"));
    }
}
