//! Analyses of a cohort: counts by group, mutation frequencies, co-occurrence and mutual
//! exclusivity, tumour mutational burden and group comparisons (R33, R34).
//!
//! Every function takes the lake and a selected [`Cohort`] and returns a polars
//! `DataFrame`, so results display as tables in a notebook and feed further queries.
//! Mutation frequencies count protein-altering calls (maftools' `vc_nonSyn`) over the
//! cases *profiled* for mutations: a case without a sequenced sample is not "wild type".

use std::collections::{BTreeMap, HashMap, HashSet};

use polars::prelude::*;

use crate::cohort::{CODING_MB, Cohort};
use crate::lake::{Lake, Table};
use crate::query::{Read, frame, members, protein_altering, samples};

pub use crate::query::{Error, FIELDS, labels};

/// Cases per value of `field`: columns `group`, `cases`, `fraction` (of the cohort),
/// largest group first; cases without a value are counted as `(missing)`.
///
/// # Errors
///
/// As [`labels`].
pub fn counts(lake: &Lake, cohort: &Cohort, field: &str) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let labels = labels(lake, cohort, field)?;
    let mut by: BTreeMap<&str, u32> = BTreeMap::new();
    for case in cohort.cases() {
        let label = labels.get(case).map_or("(missing)", String::as_str);
        *by.entry(label).or_default() += 1;
    }
    let mut rows: Vec<(&str, u32)> = by.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let total = cohort.len().max(1) as f64;
    Ok(frame(vec![
        Column::new("group".into(), rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        Column::new("cases".into(), rows.iter().map(|r| r.1).collect::<Vec<_>>()),
        Column::new(
            "fraction".into(),
            rows.iter()
                .map(|r| f64::from(r.1) / total)
                .collect::<Vec<_>>(),
        ),
    ]))
}

/// Mutated cases per gene: columns `gene`, (`group` when `by` is given), `mutated`
/// (cases with a protein-altering call), `profiled` (cases with a sample profiled for
/// mutations: the denominator) and `frequency`. Genes are ordered by how many cohort
/// cases carry them; grouped, every gene mutated in the cohort has a row per group.
///
/// # Errors
///
/// As [`labels`], or the lake's error.
pub fn mutation_frequency(
    lake: &Lake,
    cohort: &Cohort,
    by: Option<&str>,
) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let members = members(cohort);
    let samples = samples(lake, &members)?;
    let calls = protein_altering(lake, &samples)?;
    let mut by_gene: HashMap<&str, HashSet<&str>> = HashMap::new();
    for call in &calls {
        by_gene
            .entry(call.gene.as_str())
            .or_default()
            .insert(call.case.as_str());
    }
    let mut genes: Vec<(&str, usize)> = by_gene.iter().map(|(g, c)| (*g, c.len())).collect();
    genes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let profiled: Vec<&str> = cohort
        .cases()
        .iter()
        .map(String::as_str)
        .filter(|c| samples.profiled.contains(*c))
        .collect();
    let groups: Vec<(String, HashSet<&str>)> = match by {
        None => vec![(String::new(), profiled.iter().copied().collect())],
        Some(field) => {
            let labels = labels(lake, cohort, field)?;
            let mut grouped: BTreeMap<String, HashSet<&str>> = BTreeMap::new();
            for case in &profiled {
                if let Some(label) = labels.get(*case) {
                    grouped.entry(label.clone()).or_default().insert(case);
                }
            }
            grouped.into_iter().collect()
        }
    };
    let (mut gene_col, mut group_col, mut mutated_col, mut profiled_col, mut freq_col) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (gene, _) in &genes {
        let carriers = &by_gene[gene];
        for (label, cases) in &groups {
            let mutated = cases.iter().filter(|c| carriers.contains(*c)).count() as u32;
            let denominator = cases.len() as u32;
            gene_col.push(*gene);
            group_col.push(label.as_str());
            mutated_col.push(mutated);
            profiled_col.push(denominator);
            freq_col.push(if denominator == 0 {
                None
            } else {
                Some(f64::from(mutated) / f64::from(denominator))
            });
        }
    }
    let mut columns = vec![Column::new("gene".into(), gene_col)];
    if by.is_some() {
        columns.push(Column::new("group".into(), group_col));
    }
    columns.extend([
        Column::new("mutated".into(), mutated_col),
        Column::new("profiled".into(), profiled_col),
        Column::new("frequency".into(), freq_col),
    ]);
    Ok(frame(columns))
}

/// The `n` genes mutated in most cases of the cohort, most frequent first (ties by name).
///
/// # Errors
///
/// The lake's error.
pub fn top_genes(lake: &Lake, cohort: &Cohort, n: usize) -> Result<Vec<String>, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let df = mutation_frequency(lake, cohort, None)?;
    let genes = df
        .column("gene")
        .and_then(|c| c.str().cloned())
        .map_err(|source| Error::Column {
            table: "mutation_frequency",
            column: "gene".into(),
            source,
        })?;
    Ok((0..genes.len())
        .filter_map(|i| genes.get(i))
        .take(n)
        .map(str::to_owned)
        .collect())
}

/// Pairwise co-occurrence and mutual exclusivity of `genes` among the cohort's profiled
/// cases, as maftools' `somaticInteractions`: per pair the 2×2 table (`both`, `a_only`,
/// `b_only`, `neither`), the sample odds ratio, the two-sided Fisher exact p-value and the
/// direction (`co-occurrence` when the odds ratio is above 1, else `exclusivity`).
///
/// # Errors
///
/// [`Error::Request`] with fewer than two genes, or the lake's error.
pub fn co_occurrence(lake: &Lake, cohort: &Cohort, genes: &[String]) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    if genes.len() < 2 {
        return Err(Error::Request(format!(
            "co-occurrence needs at least two genes, got {}",
            genes.len()
        )));
    }
    let members = members(cohort);
    let samples = samples(lake, &members)?;
    let calls = protein_altering(lake, &samples)?;
    let profiled: Vec<&str> = cohort
        .cases()
        .iter()
        .map(String::as_str)
        .filter(|c| samples.profiled.contains(*c))
        .collect();
    let mut carriers: HashMap<&str, HashSet<&str>> = HashMap::new();
    for call in &calls {
        carriers
            .entry(call.gene.as_str())
            .or_default()
            .insert(call.case.as_str());
    }
    let empty = HashSet::new();
    let mut rows = Vec::new();
    for (i, a) in genes.iter().enumerate() {
        for b in &genes[i + 1..] {
            let (ca, cb) = (
                carriers.get(a.as_str()).unwrap_or(&empty),
                carriers.get(b.as_str()).unwrap_or(&empty),
            );
            let mut table = [0u64; 4];
            for case in &profiled {
                let slot = match (ca.contains(case), cb.contains(case)) {
                    (true, true) => 0,
                    (true, false) => 1,
                    (false, true) => 2,
                    (false, false) => 3,
                };
                table[slot] += 1;
            }
            let test = fisher_exact(table);
            rows.push((a.as_str(), b.as_str(), table, test));
        }
    }
    Ok(frame(vec![
        Column::new(
            "gene_a".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "gene_b".into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "both".into(),
            rows.iter().map(|r| r.2[0]).collect::<Vec<_>>(),
        ),
        Column::new(
            "a_only".into(),
            rows.iter().map(|r| r.2[1]).collect::<Vec<_>>(),
        ),
        Column::new(
            "b_only".into(),
            rows.iter().map(|r| r.2[2]).collect::<Vec<_>>(),
        ),
        Column::new(
            "neither".into(),
            rows.iter().map(|r| r.2[3]).collect::<Vec<_>>(),
        ),
        Column::new(
            "odds_ratio".into(),
            rows.iter().map(|r| r.3.odds_ratio).collect::<Vec<_>>(),
        ),
        Column::new(
            "p_value".into(),
            rows.iter().map(|r| r.3.p_value).collect::<Vec<_>>(),
        ),
        Column::new(
            "relation".into(),
            rows.iter()
                .map(|r| {
                    if r.3.odds_ratio > 1.0 {
                        "co-occurrence"
                    } else {
                        "exclusivity"
                    }
                })
                .collect::<Vec<_>>(),
        ),
    ]))
}

/// The result of Fisher's exact test on a 2×2 table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fisher {
    /// Sample odds ratio `(a·d)/(b·c)` (infinite when `b·c` is 0 and `a·d` is not; NaN
    /// when both are 0).
    pub odds_ratio: f64,
    /// Two-sided p-value: the probability, with the margins fixed, of a table at most as
    /// likely as the one observed.
    pub p_value: f64,
}

/// Fisher's exact test of the table `[a, b, c, d]` (rows: A present/absent would read
/// `[[a, b], [c, d]]`). Two-sided as R's `fisher.test` and SciPy's `fisher_exact`:
/// tables whose probability is within a relative 1e-7 of the observed one count as
/// equally likely, so rounding does not drop ties.
pub fn fisher_exact(table: [u64; 4]) -> Fisher {
    let [a, b, c, d] = table;
    let (row1, col1, n) = (a + b, a + c, a + b + c + d);
    // ln k! for k ≤ n, summed exactly rather than through a gamma approximation.
    let mut ln_fact = vec![0.0f64; n as usize + 1];
    for k in 1..=n as usize {
        ln_fact[k] = ln_fact[k - 1] + (k as f64).ln();
    }
    let f = |k: u64| ln_fact[k as usize];
    let row2 = n - row1;
    let col2 = n - col1;
    // P(X = x) for the top-left cell under the hypergeometric law.
    let ln_p = |x: u64| {
        f(row1) + f(row2) + f(col1) + f(col2)
            - f(n)
            - f(x)
            - f(row1 - x)
            - f(col1 - x)
            - f(row2 + x - col1)
    };
    let low = col1.saturating_sub(row2);
    let high = row1.min(col1);
    let observed = ln_p(a);
    let mut p = 0.0;
    for x in low..=high {
        let lp = ln_p(x);
        if lp <= observed + 1e-7f64.ln_1p() {
            p += lp.exp();
        }
    }
    let (ad, bc) = ((a * d) as f64, (b * c) as f64);
    Fisher {
        odds_ratio: if bc == 0.0 {
            if ad == 0.0 { f64::NAN } else { f64::INFINITY }
        } else {
            ad / bc
        },
        p_value: p.min(1.0),
    }
}

/// Tumour mutational burden per profiled sample of the cohort: columns `case_id`,
/// `sample_id`, `protein_altering` (calls) and `tmb` (calls per coding megabase,
/// [`CODING_MB`]), highest first. Profiled samples without a call have TMB 0.
///
/// # Errors
///
/// The lake's error.
pub fn tmb(lake: &Lake, cohort: &Cohort) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let members = members(cohort);
    let samples = samples(lake, &members)?;
    let calls = protein_altering(lake, &samples)?;
    let mut per_sample: BTreeMap<&str, u32> = samples
        .profiled_samples
        .iter()
        .filter(|s| {
            samples
                .case_of
                .get(*s)
                .is_some_and(|c| members.contains(c.as_str()))
        })
        .map(|s| (s.as_str(), 0))
        .collect();
    for call in &calls {
        if let Some(n) = per_sample.get_mut(call.sample.as_str()) {
            *n += 1;
        }
    }
    let mut rows: Vec<(&str, &str, u32)> = per_sample
        .into_iter()
        .map(|(s, n)| (samples.case_of[s].as_str(), s, n))
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(b.1)));
    Ok(frame(vec![
        Column::new(
            "case_id".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "sample_id".into(),
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ),
        Column::new(
            "protein_altering".into(),
            rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        ),
        Column::new(
            "tmb".into(),
            rows.iter()
                .map(|r| f64::from(r.2) / CODING_MB)
                .collect::<Vec<_>>(),
        ),
    ]))
}

/// A comparison of the cohort's groups under `by`: per group the number of cases, the
/// median age at diagnosis, the fraction female, the fraction dead, and the Kaplan–Meier
/// median overall survival (days; null when not reached).
///
/// # Errors
///
/// As [`labels`], or the lake's error.
pub fn compare_groups(lake: &Lake, cohort: &Cohort, by: &str) -> Result<DataFrame, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let labels = labels(lake, cohort, by)?;
    let cases = Read::new(lake, Table::Cases, &["case_id", "sex", "age_at_diagnosis"])?;
    let (ids, sex, age) = (
        cases.str("case_id")?,
        cases.str("sex")?,
        cases.f64("age_at_diagnosis")?,
    );
    let course = Read::new(
        lake,
        Table::Course,
        &[
            "case_id",
            "vital_status",
            "days_to_death",
            "days_to_last_follow_up",
        ],
    )?;
    let (course_ids, status, death, follow_up) = (
        course.str("case_id")?,
        course.str("vital_status")?,
        course.f64("days_to_death")?,
        course.f64("days_to_last_follow_up")?,
    );
    #[derive(Default)]
    struct Group {
        cases: u32,
        ages: Vec<f64>,
        with_sex: u32,
        female: u32,
        with_status: u32,
        dead: u32,
        observations: Vec<crate::survival::Observation>,
    }
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for case in cohort.cases() {
        if let Some(label) = labels.get(case) {
            groups.entry(label).or_default().cases += 1;
        }
    }
    for i in 0..cases.height() {
        let Some(g) = ids
            .get(i)
            .and_then(|c| labels.get(c))
            .and_then(|l| groups.get_mut(l.as_str()))
        else {
            continue;
        };
        if let Some(a) = age.get(i) {
            g.ages.push(a);
        }
        if let Some(s) = sex.get(i) {
            g.with_sex += 1;
            g.female += u32::from(s == "female");
        }
    }
    for i in 0..course.height() {
        let Some(g) = course_ids
            .get(i)
            .and_then(|c| labels.get(c))
            .and_then(|l| groups.get_mut(l.as_str()))
        else {
            continue;
        };
        let Some(s) = status.get(i) else { continue };
        let dead = s == "dead";
        g.with_status += 1;
        g.dead += u32::from(dead);
        let time = if dead { death.get(i) } else { follow_up.get(i) };
        if let Some(time) = time.filter(|t| t.is_finite() && *t >= 0.0) {
            g.observations
                .push(crate::survival::Observation { time, event: dead });
        }
    }
    let ratio = |num: u32, den: u32| (den > 0).then(|| f64::from(num) / f64::from(den));
    let (mut label_col, mut cases_col, mut age_col, mut female_col, mut dead_col, mut os_col) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (label, g) in &mut groups {
        g.ages.sort_by(f64::total_cmp);
        label_col.push(*label);
        cases_col.push(g.cases);
        age_col.push(median(&g.ages));
        female_col.push(ratio(g.female, g.with_sex));
        dead_col.push(ratio(g.dead, g.with_status));
        os_col.push(
            crate::survival::KaplanMeier::fit(label, &g.observations)
                .ok()
                .and_then(|km| km.median()),
        );
    }
    Ok(frame(vec![
        Column::new("group".into(), label_col),
        Column::new("cases".into(), cases_col),
        Column::new("median_age".into(), age_col),
        Column::new("female".into(), female_col),
        Column::new("dead".into(), dead_col),
        Column::new("median_os_days".into(), os_col),
    ]))
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_matches_r_on_the_tea_tasting_table() {
        // R: fisher.test(matrix(c(3, 1, 1, 3), 2)) gives p = 0.4857 (two-sided).
        let test = fisher_exact([3, 1, 1, 3]);
        assert!((test.p_value - 0.485_714_285_714_285_7).abs() < 1e-12);
        assert_eq!(test.odds_ratio, 9.0);
    }

    #[test]
    fn fisher_on_extreme_and_empty_tables() {
        // All mass in one arrangement: p = 2 / C(20, 10) for a perfectly split table.
        let test = fisher_exact([10, 0, 0, 10]);
        let expected = 2.0 / 184_756.0;
        assert!((test.p_value - expected).abs() < 1e-15, "{}", test.p_value);
        assert!(test.odds_ratio.is_infinite());
        let empty = fisher_exact([0, 0, 0, 0]);
        assert_eq!(empty.p_value, 1.0);
        assert!(empty.odds_ratio.is_nan());
    }

    #[test]
    fn medians_and_stage_groups() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 10.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), Some(2.5));
        assert_eq!(crate::vocab::stage_group("IIIA"), "III");
        assert_eq!(crate::vocab::stage_group("IV"), "IV");
        assert_eq!(crate::vocab::stage_group("0"), "0");
    }
}
