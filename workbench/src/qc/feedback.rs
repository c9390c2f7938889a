//! QC feedback over the lake (R2, R6): the specimen SOP check per specimen and per
//! hospital, and sequencing QC trends per sequencing centre and month.
//!
//! R2: tissue is snap-frozen within 30 minutes of collection; if that is impossible it is
//! kept at 4 °C and frozen within 3 hours. A specimen frozen later than 30 minutes without
//! 4 °C storage, or later than 3 hours at all, is a violation; a specimen whose times were
//! not recorded is reported as such, never as compliant.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::lake::{Lake, Table};
use crate::qc::contract::Contract;
use crate::query::{Error, Read, frame};

/// Specimen types the freezing SOP applies to (tissue; blood and bone marrow are not
/// snap-frozen).
pub const TISSUE: [&str; 2] = ["surgical", "biopsy"];

/// The R2 status of one specimen.
pub fn sop_status(
    specimen_type: &str,
    minutes_to_freeze: Option<f64>,
    kept_at_4c: Option<bool>,
) -> &'static str {
    if !TISSUE.contains(&specimen_type) {
        return "not applicable";
    }
    match (minutes_to_freeze, kept_at_4c) {
        (None, _) => "not recorded",
        (Some(m), _) if m <= 30.0 => "ok",
        (Some(m), _) if m > 180.0 => "violation",
        (Some(_), Some(true)) => "ok (kept at 4 °C)",
        (Some(_), Some(false)) => "violation",
        (Some(_), None) => "not recorded",
    }
}

/// One row per specimen: `specimen_id`, `case_id`, `hospital`, `specimen_type`,
/// `minutes_to_freeze`, `kept_at_4c`, `sop` (the R2 status; `not applicable` for blood and
/// bone marrow).
///
/// # Errors
///
/// The lake's error, naming table and column.
pub fn specimen_sop(lake: &Lake) -> Result<DataFrame, Error> {
    let t = Read::new(
        lake,
        Table::Specimens,
        &[
            "specimen_id",
            "case_id",
            "hospital",
            "specimen_type",
            "minutes_to_freeze",
            "kept_at_4c",
        ],
    )?;
    let (id, case, hospital, kind, minutes, cold) = (
        t.str("specimen_id")?,
        t.str("case_id")?,
        t.str("hospital")?,
        t.str("specimen_type")?,
        t.f64("minutes_to_freeze")?,
        t.bool("kept_at_4c")?,
    );
    let status: Vec<&str> = (0..t.height())
        .map(|i| sop_status(kind.get(i).unwrap_or(""), minutes.get(i), cold.get(i)))
        .collect();
    Ok(frame(vec![
        id.into_series().into_column(),
        case.into_series().into_column(),
        hospital.into_series().into_column(),
        kind.into_series().into_column(),
        minutes.into_series().into_column(),
        cold.into_series().into_column(),
        Column::new("sop".into(), status),
    ]))
}

/// Per hospital, over tissue specimens: `tissue_specimens`, `violations`, `not_recorded`,
/// `violation_rate` (of those with recorded times), most violations first.
///
/// # Errors
///
/// The lake's error.
pub fn sop_by_hospital(lake: &Lake) -> Result<DataFrame, Error> {
    let df = specimen_sop(lake)?;
    let hospital = df
        .column("hospital")
        .and_then(|c| c.str().cloned())
        .map_err(|source| Error::Column {
            table: "specimens",
            column: "hospital".into(),
            source,
        })?;
    let sop = df
        .column("sop")
        .and_then(|c| c.str().cloned())
        .map_err(|source| Error::Column {
            table: "specimens",
            column: "sop".into(),
            source,
        })?;
    let mut by: BTreeMap<&str, [u32; 3]> = BTreeMap::new();
    for i in 0..df.height() {
        if sop.get(i) == Some("not applicable") {
            continue;
        }
        let entry = by
            .entry(hospital.get(i).unwrap_or("(missing)"))
            .or_default();
        entry[0] += 1;
        match sop.get(i) {
            Some("violation") => entry[1] += 1,
            Some("not recorded") => entry[2] += 1,
            _ => {}
        }
    }
    let mut rows: Vec<(&str, [u32; 3])> = by.into_iter().collect();
    rows.sort_by(|a, b| b.1[1].cmp(&a.1[1]).then(a.0.cmp(b.0)));
    Ok(frame(vec![
        Column::new(
            "hospital".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "tissue_specimens".into(),
            rows.iter().map(|r| r.1[0]).collect::<Vec<_>>(),
        ),
        Column::new(
            "violations".into(),
            rows.iter().map(|r| r.1[1]).collect::<Vec<_>>(),
        ),
        Column::new(
            "not_recorded".into(),
            rows.iter().map(|r| r.1[2]).collect::<Vec<_>>(),
        ),
        Column::new(
            "violation_rate".into(),
            rows.iter()
                .map(|r| {
                    let recorded = r.1[0] - r.1[2];
                    (recorded > 0).then(|| f64::from(r.1[1]) / f64::from(recorded))
                })
                .collect::<Vec<_>>(),
        ),
    ]))
}

/// Sequencing QC per centre and delivery month (R6): `sequencing_centre`, `month`
/// (`YYYY-MM`), `samples`, `mean_q30_fraction`, `mean_q20_fraction`, `below_q30` and
/// `below_q20` (samples under the contract's thresholds), `mean_duplicate_fraction`,
/// `mean_depth`; ordered by centre and month.
///
/// # Errors
///
/// The lake's error.
pub fn trends(lake: &Lake, contract: &Contract) -> Result<DataFrame, Error> {
    let t = Read::new(
        lake,
        Table::SequencingQc,
        &[
            "sequencing_centre",
            "delivered_on",
            "total_bases",
            "q20_bases",
            "q30_bases",
            "duplicate_fraction",
            "mean_depth",
        ],
    )?;
    let (centre, day, bases, q20, q30, dup, depth) = (
        t.str("sequencing_centre")?,
        t.str("delivered_on")?,
        t.f64("total_bases")?,
        t.f64("q20_bases")?,
        t.f64("q30_bases")?,
        t.f64("duplicate_fraction")?,
        t.f64("mean_depth")?,
    );
    #[derive(Default)]
    struct Acc {
        samples: u32,
        q30: f64,
        q20: f64,
        below30: u32,
        below20: u32,
        dup: f64,
        depth: f64,
    }
    let mut by: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for i in 0..t.height() {
        let (Some(c), Some(d), Some(b)) = (centre.get(i), day.get(i), bases.get(i)) else {
            continue;
        };
        if b <= 0.0 {
            continue;
        }
        let month = d.get(..7).unwrap_or(d).to_owned();
        let a = by.entry((c.to_owned(), month)).or_default();
        let (f30, f20) = (q30.get(i).unwrap_or(0.0) / b, q20.get(i).unwrap_or(0.0) / b);
        a.samples += 1;
        a.q30 += f30;
        a.q20 += f20;
        a.below30 += u32::from(f30 < contract.min_q30_fraction);
        a.below20 += u32::from(f20 < contract.min_q20_fraction);
        a.dup += dup.get(i).unwrap_or(0.0);
        a.depth += depth.get(i).unwrap_or(0.0);
    }
    let n = |a: &Acc| f64::from(a.samples);
    Ok(frame(vec![
        Column::new(
            "sequencing_centre".into(),
            by.keys().map(|k| k.0.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "month".into(),
            by.keys().map(|k| k.1.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "samples".into(),
            by.values().map(|a| a.samples).collect::<Vec<_>>(),
        ),
        Column::new(
            "mean_q30_fraction".into(),
            by.values().map(|a| a.q30 / n(a)).collect::<Vec<_>>(),
        ),
        Column::new(
            "mean_q20_fraction".into(),
            by.values().map(|a| a.q20 / n(a)).collect::<Vec<_>>(),
        ),
        Column::new(
            "below_q30".into(),
            by.values().map(|a| a.below30).collect::<Vec<_>>(),
        ),
        Column::new(
            "below_q20".into(),
            by.values().map(|a| a.below20).collect::<Vec<_>>(),
        ),
        Column::new(
            "mean_duplicate_fraction".into(),
            by.values().map(|a| a.dup / n(a)).collect::<Vec<_>>(),
        ),
        Column::new(
            "mean_depth".into(),
            by.values().map(|a| a.depth / n(a)).collect::<Vec<_>>(),
        ),
    ]))
}

fn column_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, Error> {
    let column = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(|source| Error::Column {
            table: "qc",
            column: name.into(),
            source,
        })?;
    let values = column.f64().map_err(|source| Error::Column {
        table: "qc",
        column: name.into(),
        source,
    })?;
    Ok((0..values.len()).map(|i| values.get(i)).collect())
}

fn column_str(df: &DataFrame, name: &str) -> Result<Vec<String>, Error> {
    let values = df
        .column(name)
        .and_then(|c| c.str().cloned())
        .map_err(|source| Error::Column {
            table: "qc",
            column: name.into(),
            source,
        })?;
    Ok((0..values.len())
        .map(|i| values.get(i).unwrap_or("(missing)").to_owned())
        .collect())
}

/// The frame of [`trends`] as a chart: mean Q30 % per month, one line per sequencing
/// centre, with the contract's Q30 threshold marked.
///
/// # Errors
///
/// [`Error::Column`] if the frame lacks `sequencing_centre`, `month` or `mean_q30_fraction`.
pub fn trends_plot(df: &DataFrame, contract: &Contract) -> Result<crate::display::Svg, Error> {
    let centres = column_str(df, "sequencing_centre")?;
    let months = column_str(df, "month")?;
    let q30 = column_f64(df, "mean_q30_fraction")?;
    let mut axis: Vec<String> = months.clone();
    axis.sort();
    axis.dedup();
    let mut lines: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..centres.len() {
        let (Some(v), Ok(x)) = (q30[i], axis.binary_search(&months[i])) else {
            continue;
        };
        lines
            .entry(centres[i].as_str())
            .or_default()
            .push((x as f64, 100.0 * v));
    }
    let series: Vec<crate::qc::report::Series> = lines
        .into_iter()
        .map(|(centre, points)| crate::qc::report::Series {
            label: centre.to_owned(),
            points,
        })
        .collect();
    Ok(crate::qc::report::labelled_line_chart(
        "Mean Q30 per sequencing centre and month",
        "delivery month",
        "mean % of bases ≥ Q30",
        &series,
        &[100.0 * contract.min_q30_fraction],
        Some((50.0, 100.0)),
        &axis,
    ))
}

/// The frame of [`sop_by_hospital`] as bars: the share of tissue specimens with recorded
/// times that broke the R2 freezing SOP, per hospital.
///
/// # Errors
///
/// [`Error::Column`] if the frame lacks `hospital`, `violation_rate`, `violations` or
/// `not_recorded`.
pub fn sop_plot(df: &DataFrame) -> Result<crate::display::Svg, Error> {
    let hospitals = column_str(df, "hospital")?;
    let rate = column_f64(df, "violation_rate")?;
    let violations = column_f64(df, "violations")?;
    let missing = column_f64(df, "not_recorded")?;
    let mut items: Vec<(String, f64, String)> = (0..hospitals.len())
        .map(|i| {
            (
                hospitals[i].clone(),
                100.0 * rate[i].unwrap_or(0.0),
                format!(
                    "{:.0} violations, {:.0} not recorded",
                    violations[i].unwrap_or(0.0),
                    missing[i].unwrap_or(0.0)
                ),
            )
        })
        .collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(crate::chart::bars(
        "Specimen freezing SOP (R2) violations per hospital",
        "% of tissue specimens with recorded times",
        &items,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r2_rule_by_hand() {
        let s = "surgical";
        assert_eq!(sop_status(s, Some(30.0), None), "ok");
        assert_eq!(sop_status(s, Some(31.0), Some(true)), "ok (kept at 4 °C)");
        assert_eq!(sop_status(s, Some(31.0), Some(false)), "violation");
        assert_eq!(sop_status(s, Some(31.0), None), "not recorded");
        assert_eq!(
            sop_status("biopsy", Some(180.0), Some(true)),
            "ok (kept at 4 °C)"
        );
        assert_eq!(sop_status(s, Some(181.0), Some(true)), "violation");
        assert_eq!(sop_status(s, None, Some(true)), "not recorded");
        assert_eq!(sop_status("blood", None, None), "not applicable");
    }
}
