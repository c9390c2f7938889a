//! Consent everywhere: no curated entry point shows a case its use may not see (R31, R32,
//! R34). The expectations come from the dataset in memory, not from the lake's readers.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use polars::prelude::*;
use workbench::cohort::{self, Cohort, Criteria, Query};
use workbench::governance::consent::{Forum, Use};
use workbench::qc::contract::Contract;
use workbench::{Dataset, Lake, analysis, clinical, figures, qc, session, survival, synth};

/// Withdrawn on a day before the test runs (and after every synthetic consent).
fn withdrawal_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("date")
}

/// A synthetic programme in which every 9th case has withdrawn, every 7th refused
/// industry use and every 5th refused secondary findings.
fn programme() -> (tempfile::TempDir, Dataset) {
    let mut dataset = synth::generate(&synth::Config::new(400, 11));
    for (i, case) in dataset.cases.iter_mut().enumerate() {
        if i % 9 == 4 {
            case.consent_withdrawn_on = Some(withdrawal_day());
        }
        if i % 7 == 3 {
            case.consent_industry = Some(false);
        }
        if i % 5 == 2 {
            case.consent_secondary_findings = Some(false);
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    Lake::create(dir.path(), &dataset).expect("lake");
    (dir, dataset)
}

/// Case ids a use may not see, and the samples of those cases, from the dataset itself.
struct Hidden {
    cases: BTreeSet<String>,
    samples: BTreeSet<String>,
}

fn hidden(dataset: &Dataset, refuses: impl Fn(&workbench::lake::Case) -> bool) -> Hidden {
    let cases: BTreeSet<String> = dataset
        .cases
        .iter()
        .filter(|c| refuses(c))
        .map(|c| c.case_id.clone())
        .collect();
    let samples = dataset
        .samples
        .iter()
        .filter(|s| cases.contains(&s.case_id))
        .map(|s| s.sample_id.clone())
        .collect();
    Hidden { cases, samples }
}

fn withdrawn(c: &workbench::lake::Case) -> bool {
    c.consent_withdrawn_on.is_some()
}

/// Fails when any string cell of `df` names a hidden case or sample.
fn assert_absent(what: &str, df: &DataFrame, hidden: &Hidden) {
    for column in df.columns() {
        let Ok(values) = column.str() else { continue };
        for value in values.iter().flatten() {
            assert!(
                !hidden.cases.contains(value) && !hidden.samples.contains(value),
                "{what}: column {} shows {value}, whose consent does not cover the use",
                column.name()
            );
        }
    }
}

fn sum_u32(df: &DataFrame, column: &str) -> u64 {
    df.column(column)
        .expect("column")
        .cast(&DataType::UInt64)
        .expect("integers")
        .u64()
        .expect("u64")
        .iter()
        .flatten()
        .sum()
}

#[test]
#[allow(unsafe_code)]
fn no_entry_point_shows_a_withdrawn_case() {
    let (dir, dataset) = programme();
    let hidden = hidden(&dataset, withdrawn);
    assert!(hidden.cases.len() >= 40, "{} withdrawn", hidden.cases.len());
    let visible = dataset.cases.len() - hidden.cases.len();
    let lake = Lake::open(dir.path()).expect("open");

    // Every table read, and the counts describe gives.
    for table in workbench::Table::ALL {
        let df = lake.frame(table).expect("frame");
        assert_absent(table.name(), &df, &hidden);
    }
    let cases = lake.frame(workbench::Table::Cases).expect("cases");
    assert_eq!(cases.height(), visible);
    let described = lake.describe().expect("describe");
    let rows = |name: &str| {
        described
            .iter()
            .find(|t| t.name == name)
            .expect("table")
            .rows
    };
    assert_eq!(rows("cases"), visible);
    assert_eq!(
        lake.withheld().expect("withheld").values().sum::<usize>(),
        hidden.cases.len()
    );

    // The notebook session's table().
    // SAFETY: no other thread of this test binary reads the environment meanwhile; the
    // only other test does not touch WORKBENCH_LAKE.
    unsafe { std::env::set_var(session::LAKE_VAR, dir.path()) };
    for table in workbench::Table::ALL {
        let df = session::table(table.name()).expect("session table");
        assert_absent("session::table", &df, &hidden);
    }

    // Cohorts: selected, hand-built from every id, and saved before the withdrawal.
    let everyone = cohort::select(&lake, &Query::default()).expect("select");
    assert_eq!(everyone.len(), visible);
    let luad = cohort::select(
        &lake,
        &Criteria {
            cancer_types: vec!["LUAD".into()],
            ..Default::default()
        }
        .into(),
    )
    .expect("LUAD");
    let all_ids = dataset.cases.iter().map(|c| c.case_id.clone());
    let hand_built = Cohort::from_cases(&lake, all_ids).expect("from cases");
    assert_eq!(hand_built.len(), visible);
    assert_eq!(hand_built.withheld(), hidden.cases.len());
    for c in [&everyone, &luad, &hand_built] {
        assert!(c.cases().iter().all(|id| !hidden.cases.contains(id)));
        assert_eq!(
            c.by_cancer_type().values().sum::<usize>(),
            c.len(),
            "cancer-type counts of the members only"
        );
    }

    // A cohort saved when everyone had consented, opened after the withdrawals.
    let mut before = dataset.clone();
    for case in &mut before.cases {
        case.consent_withdrawn_on = None;
    }
    let earlier = tempfile::tempdir().expect("tempdir");
    let earlier_lake = Lake::create(earlier.path(), &before).expect("earlier lake");
    let mut saved = cohort::select(&earlier_lake, &Query::default()).expect("earlier");
    assert_eq!(saved.len(), dataset.cases.len());
    let path = saved.save(earlier.path(), "everyone").expect("save");
    let reopened = Cohort::open(&lake, &path).expect("open saved");
    assert_eq!(reopened.len(), visible);
    assert_eq!(reopened.withheld(), hidden.cases.len());

    // Analyses given the stale cohort (made before the withdrawals) show none of them.
    let stale = &saved;
    let counts = analysis::counts(&lake, stale, "cancer_type").expect("counts");
    assert_eq!(sum_u32(&counts, "cases") as usize, visible);
    let labels = analysis::labels(&lake, stale, "stage").expect("labels");
    assert!(labels.keys().all(|c| !hidden.cases.contains(c)));
    let frequency = analysis::mutation_frequency(&lake, stale, None).expect("frequency");
    assert_absent("mutation_frequency", &frequency, &hidden);
    let profiled: BTreeSet<&str> = dataset
        .samples
        .iter()
        .filter(|s| s.mutation_profiled == Some(true) && !hidden.cases.contains(&s.case_id))
        .map(|s| s.case_id.as_str())
        .collect();
    let shown_profiled = frequency
        .column("profiled")
        .expect("profiled")
        .cast(&DataType::UInt64)
        .expect("u64")
        .u64()
        .expect("u64")
        .get(0)
        .expect("a gene");
    assert_eq!(shown_profiled as usize, profiled.len());
    let genes = analysis::top_genes(&lake, stale, 4).expect("top genes");
    let pairs = analysis::co_occurrence(&lake, stale, &genes).expect("pairs");
    let table_total = ["both", "a_only", "b_only", "neither"]
        .iter()
        .map(|c| sum_u32(&pairs.head(Some(1)), c))
        .sum::<u64>();
    assert_eq!(table_total as usize, profiled.len());
    let tmb = analysis::tmb(&lake, stale).expect("tmb");
    assert_absent("tmb", &tmb, &hidden);
    let groups = analysis::compare_groups(&lake, stale, "sex").expect("groups");
    assert_eq!(sum_u32(&groups, "cases") as usize, visible);
    let wide = clinical::wide(&lake, stale).expect("wide");
    assert_eq!(wide.height(), visible);
    assert_absent("clinical::wide", &wide, &hidden);
    let long = clinical::long(&lake, stale).expect("long");
    assert_absent("clinical::long", &long, &hidden);
    let os = survival::of_cohort(&lake, stale, None).expect("survival");
    let with_course = dataset
        .course
        .iter()
        .filter(|c| !hidden.cases.contains(&c.case_id))
        .count();
    assert!(
        os.curves[0].n <= with_course,
        "survival counts only visible cases"
    );
    let print = figures::oncoprint(&lake, stale, &genes).expect("oncoprint");
    for id in &hidden.cases {
        assert!(!print.svg.contains(id.as_str()), "oncoprint names {id}");
    }

    // QC feedback to hospitals and centres.
    let sop = qc::feedback::specimen_sop(&lake).expect("sop");
    assert_absent("specimen_sop", &sop, &hidden);
    assert!(sop.height() > 0);
    let by_hospital = qc::feedback::sop_by_hospital(&lake).expect("sop by hospital");
    let applicable = sop
        .column("sop")
        .expect("sop")
        .str()
        .expect("str")
        .iter()
        .filter(|s| *s != Some("not applicable"))
        .count();
    assert_eq!(
        sum_u32(&by_hospital, "tissue_specimens") as usize,
        applicable
    );
    let trends = qc::feedback::trends(&lake, &Contract::default()).expect("trends");
    let qc_visible = dataset
        .sequencing_qc
        .iter()
        .filter(|q| !hidden.samples.contains(&q.sample_id))
        .count();
    assert_eq!(sum_u32(&trends, "samples") as usize, qc_visible);

    // The session's lake, and the profiled cases behind every "not profiled" answer.
    let session_lake = session::lake().expect("session lake");
    let selected = cohort::select(&session_lake, &Query::default()).expect("select");
    assert_eq!(selected.len(), visible);
    let profiled_cases = cohort::profiled_cases(&lake).expect("profiled");
    assert_eq!(
        profiled_cases
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        profiled
    );

    // The values offered as hints in errors: no gene known only from a withdrawn case.
    let known = cohort::Known::of(&lake).expect("known");
    let somatic_visible: BTreeSet<&str> = dataset
        .somatic_variants
        .iter()
        .filter(|v| !hidden.samples.contains(&v.tumor_sample_barcode))
        .map(|v| v.hugo_symbol.as_str())
        .collect();
    let any_visible: BTreeSet<&str> = dataset
        .germline_variants
        .iter()
        .filter(|v| !hidden.samples.contains(&v.sample_id))
        .map(|v| v.hugo_symbol.as_str())
        .chain(somatic_visible.iter().copied())
        .collect();
    let only_hidden: Vec<&String> = known
        .genes
        .iter()
        .filter(|g| !any_visible.contains(g.as_str()))
        .collect();
    assert!(only_hidden.is_empty(), "hints name {only_hidden:?}");
    assert!(somatic_visible.iter().all(|g| known.genes.contains(*g)));

    // Gene criteria, groups and gene-split survival over the stale cohort.
    let gene = genes[0].clone();
    let mutated = cohort::select(
        &lake,
        &Criteria {
            genes: vec![gene.clone()],
            ..Default::default()
        }
        .into(),
    )
    .expect("mutated");
    assert!(!mutated.is_empty());
    assert!(mutated.cases().iter().all(|id| !hidden.cases.contains(id)));
    let by_stage = analysis::mutation_frequency(&lake, stale, Some("stage")).expect("by stage");
    assert_absent("mutation_frequency by stage", &by_stage, &hidden);
    // Survival over the stale cohort equals survival of the visible cohort in a lake where
    // nobody withdrew: the withdrawn cases are not counted, whatever the grouping.
    for by in [None, Some(format!("gene:{gene}")), Some("stage".to_owned())] {
        let here = survival::of_cohort(&lake, stale, by.as_deref()).expect("survival");
        let there = survival::of_cohort(&earlier_lake, &reopened, by.as_deref()).expect("survival");
        let sizes = |s: &survival::Survival| {
            s.curves
                .iter()
                .map(|c| (c.label.clone(), c.n))
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(&here), sizes(&there), "survival by {by:?}");
    }
}

#[test]
fn industry_and_secondary_findings_follow_their_own_consent() {
    let (dir, dataset) = programme();
    let today = chrono::Local::now().date_naive();
    let industry = Lake::open_for(
        dir.path(),
        Use {
            forum: Forum::Industry,
            ..Use::overview(today)
        },
    )
    .expect("open");
    let refused = hidden(&dataset, |c| {
        withdrawn(c) || c.consent_industry != Some(true)
    });
    for table in workbench::Table::ALL {
        assert_absent(
            table.name(),
            &industry.frame(table).expect("frame"),
            &refused,
        );
    }
    let everyone = cohort::select(&industry, &Query::default()).expect("select");
    assert_eq!(everyone.len(), dataset.cases.len() - refused.cases.len());
    let withheld = industry.withheld().expect("withheld");
    assert!(
        withheld.keys().any(|rule| rule.id() == "R31-industry"),
        "{withheld:?}"
    );

    // An academic cohort handed to an industry lake loses the refusing cases.
    let academic = Lake::open(dir.path()).expect("academic");
    let academic_everyone = cohort::select(&academic, &Query::default()).expect("select");
    let counts = analysis::counts(&industry, &academic_everyone, "sex").expect("counts");
    assert_eq!(sum_u32(&counts, "cases") as usize, everyone.len());

    // Germline secondary findings only of patients who agreed to receive them (R32).
    let no_findings = hidden(&dataset, |c| {
        withdrawn(c) || c.consent_secondary_findings != Some(true)
    });
    let germline = academic
        .frame(workbench::Table::GermlineVariants)
        .expect("germline");
    assert_absent("germline_variants", &germline, &no_findings);
    let expected = dataset
        .germline_variants
        .iter()
        .filter(|g| !no_findings.samples.contains(&g.sample_id))
        .count();
    assert_eq!(germline.height(), expected);
    assert!(
        dataset.germline_variants.len() > expected,
        "some findings are withheld"
    );
}
