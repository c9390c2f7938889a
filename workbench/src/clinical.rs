//! Clinical joins: case → specimen → sample → variant, in wide and long form (R30, R33).
//!
//! Cardinalities are those of the lake: a case has one registration, one diagnosis of
//! the registered cancer and one course row, and any number of specimens, samples and
//! calls. The **wide** form has exactly one row per cohort case (samples and calls are
//! summarised in counts, so a patient with two tumour samples is not counted twice); the
//! **long** form has one row per case × sample × call, keeping cases without samples and
//! samples without calls as rows with nulls so that nothing disappears in a join.
//! Missing values stay null: a case without a recorded stage is not "stage unknown" text.

use std::collections::{BTreeMap, HashMap, HashSet};

use polars::prelude::*;

use crate::cohort::{CODING_MB, Cohort};
use crate::lake::{Lake, Table};
use crate::query::{Error, Read, frame, protein_altering, samples};

/// Per case, the first value of `column` in `table` (the registered diagnosis when a
/// case has several rows).
fn first_by_case(
    lake: &Lake,
    table: Table,
    columns: &[&str],
    members: &crate::hash::FastSet<&str>,
) -> Result<Firsts, Error> {
    let mut wanted = vec!["case_id"];
    wanted.extend_from_slice(columns);
    let t = Read::new(lake, table, &wanted)?;
    let ids = t.str("case_id")?;
    let values = columns
        .iter()
        .map(|c| t.str(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for i in 0..t.height() {
        let Some(id) = ids.get(i).filter(|id| members.contains(id)) else {
            continue;
        };
        out.entry(id.to_owned())
            .or_insert_with(|| values.iter().map(|v| v.get(i).map(str::to_owned)).collect());
    }
    Ok(Firsts(out))
}

struct Firsts(HashMap<String, Vec<Option<String>>>);

impl Firsts {
    fn get(&self, case: &str, index: usize) -> Option<&str> {
        self.0.get(case).and_then(|v| v[index].as_deref())
    }
}

/// One row per cohort case: registration, demographics, diagnosis, outcome, therapy and
/// a summary of the samples and calls.
///
/// Columns: `case_id`, `institution`, `cancer_type`, `subtype`, `stage`, `sex`,
/// `age_at_diagnosis`, `vital_status`, `os_days` (days to death, else to last follow-up),
/// `os_event` (death), `best_overall_response`, `lines_of_therapy`,
/// `grade3_adverse_event`, `samples`, `tumour_samples`, `mutation_profiled`,
/// `protein_altering` (calls over all the case's samples) and `tmb` (the highest of its
/// profiled samples; null when none was profiled).
///
/// # Errors
///
/// The lake's error, naming the table and column.
pub fn wide(lake: &Lake, cohort: &Cohort) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let members = crate::query::members(cohort);
    let registration = first_by_case(lake, Table::Registrations, &["institution"], &members)?;
    let diagnosis = first_by_case(
        lake,
        Table::Diagnoses,
        &["cancer_type", "subtype", "stage"],
        &members,
    )?;
    let case = first_by_case(lake, Table::Cases, &["sex", "age_at_diagnosis"], &members)?;
    let course = first_by_case(
        lake,
        Table::Course,
        &[
            "vital_status",
            "days_to_death",
            "days_to_last_follow_up",
            "best_overall_response",
        ],
        &members,
    )?;
    let treatments = Read::new(lake, Table::Treatments, &["case_id", "line"])?;
    let (t_ids, t_line) = (treatments.str("case_id")?, treatments.f64("line")?);
    let mut lines: HashMap<&str, f64> = HashMap::new();
    for i in 0..treatments.height() {
        if let (Some(c), Some(l)) = (t_ids.get(i), t_line.get(i)) {
            let e = lines.entry(c).or_insert(l);
            *e = e.max(l);
        }
    }
    let events = Read::new(lake, Table::AdverseEvents, &["case_id", "grade"])?;
    let (e_ids, e_grade) = (events.str("case_id")?, events.f64("grade")?);
    let severe: HashSet<&str> = (0..events.height())
        .filter(|&i| e_grade.get(i).is_some_and(|g| g >= 3.0))
        .filter_map(|i| e_ids.get(i))
        .collect();
    let sample_table = Read::new(lake, Table::Samples, &["case_id", "sample_type"])?;
    let (s_case, s_type) = (
        sample_table.str("case_id")?,
        sample_table.str("sample_type")?,
    );
    let mut sample_counts: HashMap<&str, (u32, u32)> = HashMap::new();
    for i in 0..sample_table.height() {
        if let Some(c) = s_case.get(i) {
            let e = sample_counts.entry(c).or_default();
            e.0 += 1;
            e.1 += u32::from(s_type.get(i).is_some_and(is_tumour));
        }
    }
    let samples = samples(lake, &members)?;
    let calls = protein_altering(lake, &samples)?;
    let mut per_sample: HashMap<&str, u32> = HashMap::new();
    let mut per_case: HashMap<&str, u32> = HashMap::new();
    for call in &calls {
        *per_sample.entry(call.sample.as_str()).or_default() += 1;
        *per_case.entry(call.case.as_str()).or_default() += 1;
    }
    let mut tmb: HashMap<&str, f64> = HashMap::new();
    for s in &samples.profiled_samples {
        let c = samples.case_of[s].as_str();
        let value = f64::from(per_sample.get(s.as_str()).copied().unwrap_or(0)) / CODING_MB;
        let e = tmb.entry(c).or_insert(value);
        *e = e.max(value);
    }

    let ids: Vec<&str> = cohort.cases().iter().map(String::as_str).collect();
    fn text<'a>(ids: &[&str], f: &'a Firsts, i: usize) -> Vec<Option<&'a str>> {
        ids.iter().map(|c| f.get(c, i)).collect()
    }
    fn number(ids: &[&str], f: &Firsts, i: usize) -> Vec<Option<i32>> {
        ids.iter()
            .map(|c| {
                f.get(c, i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .map(|v| v as i32)
            })
            .collect()
    }
    let dead: Vec<Option<bool>> = ids
        .iter()
        .map(|c| course.get(c, 0).map(|s| s == "dead"))
        .collect();
    let os_days: Vec<Option<i32>> = ids
        .iter()
        .zip(
            number(&ids, &course, 1)
                .into_iter()
                .zip(number(&ids, &course, 2)),
        )
        .zip(&dead)
        .map(|((_, (death, follow_up)), dead)| match dead {
            Some(true) => death,
            Some(false) => follow_up,
            None => None,
        })
        .collect();
    Ok(frame(vec![
        Column::new("case_id".into(), ids.clone()),
        Column::new("institution".into(), text(&ids, &registration, 0)),
        Column::new("cancer_type".into(), text(&ids, &diagnosis, 0)),
        Column::new("subtype".into(), text(&ids, &diagnosis, 1)),
        Column::new("stage".into(), text(&ids, &diagnosis, 2)),
        Column::new("sex".into(), text(&ids, &case, 0)),
        Column::new("age_at_diagnosis".into(), number(&ids, &case, 1)),
        Column::new("vital_status".into(), text(&ids, &course, 0)),
        Column::new("os_days".into(), os_days),
        Column::new("os_event".into(), dead),
        Column::new("best_overall_response".into(), text(&ids, &course, 3)),
        Column::new(
            "lines_of_therapy".into(),
            ids.iter()
                .map(|c| lines.get(c).map(|l| *l as i32))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "grade3_adverse_event".into(),
            ids.iter().map(|c| severe.contains(c)).collect::<Vec<_>>(),
        ),
        Column::new(
            "samples".into(),
            ids.iter()
                .map(|c| sample_counts.get(c).map_or(0, |n| n.0))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "tumour_samples".into(),
            ids.iter()
                .map(|c| sample_counts.get(c).map_or(0, |n| n.1))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "mutation_profiled".into(),
            ids.iter()
                .map(|c| samples.profiled.contains(*c))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "protein_altering".into(),
            ids.iter()
                .map(|c| {
                    samples
                        .profiled
                        .contains(*c)
                        .then(|| per_case.get(c).copied().unwrap_or(0))
                })
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "tmb".into(),
            ids.iter().map(|c| tmb.get(c).copied()).collect::<Vec<_>>(),
        ),
    ]))
}

/// Whether a sample type is a tumour (GDC `Primary Tumor`, `Metastatic`, cBioPortal
/// `Primary`…) rather than a normal or blood-derived normal.
fn is_tumour(sample_type: &str) -> bool {
    !sample_type.to_ascii_lowercase().contains("normal")
}

/// One row per cohort case × sample × somatic call (all classes, not only
/// protein-altering ones: filter on `variant_classification` as needed).
///
/// Columns: `case_id`, `cancer_type`, `stage`, `sample_id` (null for a case without a
/// sample), `sample_type`, `mutation_profiled`, `hugo_symbol`, `variant_classification`,
/// `hgvsp_short`, `vaf` (variant columns null for a sample without calls).
///
/// # Errors
///
/// The lake's error, naming the table and column.
pub fn long(lake: &Lake, cohort: &Cohort) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let members = crate::query::members(cohort);
    let diagnosis = first_by_case(lake, Table::Diagnoses, &["cancer_type", "stage"], &members)?;
    let sample_table = Read::new(
        lake,
        Table::Samples,
        &["sample_id", "case_id", "sample_type", "mutation_profiled"],
    )?;
    let (s_id, s_case, s_type, s_profiled) = (
        sample_table.str("sample_id")?,
        sample_table.str("case_id")?,
        sample_table.str("sample_type")?,
        sample_table.bool("mutation_profiled")?,
    );
    // Case → its samples, in the lake's order.
    let mut by_case: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..sample_table.height() {
        if let Some(c) = s_case.get(i).filter(|c| members.contains(c)) {
            by_case.entry(c).or_default().push(i);
        }
    }
    let variants = Read::new(
        lake,
        Table::SomaticVariants,
        &[
            "tumor_sample_barcode",
            "hugo_symbol",
            "variant_classification",
            "hgvsp_short",
            "vaf",
        ],
    )?;
    let (v_sample, v_gene, v_class, v_protein, v_vaf) = (
        variants.str("tumor_sample_barcode")?,
        variants.str("hugo_symbol")?,
        variants.str("variant_classification")?,
        variants.str("hgvsp_short")?,
        variants.f64("vaf")?,
    );
    let mut by_sample: HashMap<&str, Vec<usize>> = HashMap::new();
    for i in 0..variants.height() {
        if let Some(s) = v_sample.get(i) {
            by_sample.entry(s).or_default().push(i);
        }
    }
    #[derive(Default)]
    struct Rows<'a> {
        case: Vec<&'a str>,
        cancer: Vec<Option<&'a str>>,
        stage: Vec<Option<&'a str>>,
        sample: Vec<Option<&'a str>>,
        sample_type: Vec<Option<&'a str>>,
        profiled: Vec<Option<bool>>,
        gene: Vec<Option<&'a str>>,
        class: Vec<Option<&'a str>>,
        protein: Vec<Option<&'a str>>,
        vaf: Vec<Option<f64>>,
    }
    let mut rows = Rows::default();
    for case in cohort.cases() {
        let samples = by_case.get(case.as_str()).map_or(&[][..], Vec::as_slice);
        let mut push = |sample: Option<usize>, variant: Option<usize>| {
            rows.case.push(case);
            rows.cancer.push(diagnosis.get(case, 0));
            rows.stage.push(diagnosis.get(case, 1));
            rows.sample.push(sample.and_then(|i| s_id.get(i)));
            rows.sample_type.push(sample.and_then(|i| s_type.get(i)));
            rows.profiled.push(sample.and_then(|i| s_profiled.get(i)));
            rows.gene.push(variant.and_then(|v| v_gene.get(v)));
            rows.class.push(variant.and_then(|v| v_class.get(v)));
            rows.protein.push(variant.and_then(|v| v_protein.get(v)));
            rows.vaf.push(variant.and_then(|v| v_vaf.get(v)));
        };
        if samples.is_empty() {
            push(None, None);
        }
        for &s in samples {
            let calls = s_id
                .get(s)
                .and_then(|id| by_sample.get(id))
                .map_or(&[][..], Vec::as_slice);
            if calls.is_empty() {
                push(Some(s), None);
            }
            for &v in calls {
                push(Some(s), Some(v));
            }
        }
    }
    Ok(frame(vec![
        Column::new("case_id".into(), rows.case),
        Column::new("cancer_type".into(), rows.cancer),
        Column::new("stage".into(), rows.stage),
        Column::new("sample_id".into(), rows.sample),
        Column::new("sample_type".into(), rows.sample_type),
        Column::new("mutation_profiled".into(), rows.profiled),
        Column::new("hugo_symbol".into(), rows.gene),
        Column::new("variant_classification".into(), rows.class),
        Column::new("hgvsp_short".into(), rows.protein),
        Column::new("vaf".into(), rows.vaf),
    ]))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cohort::{Query, select};
    use crate::synth;
    use crate::vocab::is_protein_altering;

    /// A synthetic lake and its dataset: the records are the independent truth.
    fn lake() -> (tempfile::TempDir, Lake, crate::Dataset) {
        let dataset = synth::generate(&synth::Config::new(300, 4));
        let dir = tempfile::tempdir().expect("tempdir");
        let lake = Lake::create(dir.path(), &dataset).expect("lake");
        (dir, lake, dataset)
    }

    fn counts<'a>(keys: impl Iterator<Item = &'a str>) -> HashMap<&'a str, u32> {
        let mut out = HashMap::new();
        for k in keys {
            *out.entry(k).or_default() += 1;
        }
        out
    }

    #[test]
    fn wide_has_one_row_per_case_with_sample_and_call_counts() {
        let (_dir, lake, d) = lake();
        let cohort = select(&lake, &Query::default()).expect("cohort");
        let wide = wide(&lake, &cohort).expect("wide");
        assert_eq!(wide.height(), cohort.len());
        let ids = wide
            .column("case_id")
            .expect("ids")
            .str()
            .expect("str")
            .clone();
        let unique: HashSet<&str> = (0..ids.len()).filter_map(|i| ids.get(i)).collect();
        assert_eq!(unique.len(), cohort.len(), "no case twice");

        let samples_per_case = counts(d.samples.iter().map(|s| s.case_id.as_str()));
        let case_of: HashMap<&str, &str> = d
            .samples
            .iter()
            .map(|s| (s.sample_id.as_str(), s.case_id.as_str()))
            .collect();
        let calls_per_case = counts(
            d.somatic_variants
                .iter()
                .filter(|v| is_protein_altering(&v.variant_classification))
                .filter_map(|v| case_of.get(v.tumor_sample_barcode.as_str()).copied()),
        );
        let profiled: HashSet<&str> = d
            .samples
            .iter()
            .filter(|s| s.mutation_profiled == Some(true))
            .map(|s| s.case_id.as_str())
            .collect();
        let samples = wide
            .column("samples")
            .expect("samples")
            .u32()
            .expect("u32")
            .clone();
        let calls = wide
            .column("protein_altering")
            .expect("calls")
            .u32()
            .expect("u32")
            .clone();
        let mut multi_sample = 0;
        for i in 0..wide.height() {
            let case = ids.get(i).expect("id");
            let expected = samples_per_case.get(case).copied().unwrap_or(0);
            assert_eq!(samples.get(i), Some(expected), "{case}");
            multi_sample += usize::from(expected > 1);
            if profiled.contains(case) {
                assert_eq!(
                    calls.get(i),
                    Some(calls_per_case.get(case).copied().unwrap_or(0)),
                    "{case}"
                );
            } else {
                assert_eq!(calls.get(i), None, "{case}: unprofiled is null, not 0");
            }
        }
        assert!(
            multi_sample > 0,
            "the synthetic lake has multi-sample cases"
        );
    }

    #[test]
    fn long_keeps_every_case_sample_and_call() {
        let (_dir, lake, d) = lake();
        let cohort = select(&lake, &Query::default()).expect("cohort");
        let long = long(&lake, &cohort).expect("long");
        let members = crate::query::members(&cohort);
        let calls_per_sample = counts(
            d.somatic_variants
                .iter()
                .map(|v| v.tumor_sample_barcode.as_str()),
        );
        // A case contributes max(1, Σ over its samples of max(1, calls)) rows.
        let mut expected_rows = 0usize;
        let mut expected_calls = 0usize;
        for case in &members {
            let samples: Vec<&str> = d
                .samples
                .iter()
                .filter(|s| s.case_id == *case)
                .map(|s| s.sample_id.as_str())
                .collect();
            let rows: usize = samples
                .iter()
                .map(|s| calls_per_sample.get(s).map_or(1, |n| *n as usize))
                .sum();
            expected_rows += rows.max(1);
            expected_calls += samples
                .iter()
                .map(|s| calls_per_sample.get(s).map_or(0, |n| *n as usize))
                .sum::<usize>();
        }
        assert_eq!(long.height(), expected_rows);
        let genes = long.column("hugo_symbol").expect("genes");
        assert_eq!(genes.len() - genes.null_count(), expected_calls);
    }
}
