//! Tests of lake validation (one per rule family) and of atomic creation.

use super::*;
use crate::synth;

fn valid() -> Dataset {
    synth::generate(&synth::Config::new(30, 9))
}

/// Validates `dataset` and returns the error's table, row, field and message.
fn invalid(dataset: &Dataset) -> (Table, usize, &'static str, String) {
    match dataset.validate() {
        Err(
            err @ Error::Invalid {
                table, row, field, ..
            },
        ) => (table, row, field, err.to_string()),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn valid_dataset_passes() {
    valid().validate().expect("synthetic data is valid");
}

#[test]
fn unknown_oncotree_code_names_row_and_suggests() {
    let mut d = valid();
    d.diagnoses[4].cancer_type = "LUADX".into();
    let (table, row, field, message) = invalid(&d);
    assert_eq!((table, row, field), (Table::Diagnoses, 5, "cancer_type"));
    assert!(
        message.contains("unknown OncoTree code \"LUADX\"") && message.contains("LUAD"),
        "{message}"
    );
    assert!(
        message.starts_with("table diagnoses, row 5, field cancer_type"),
        "{message}"
    );
}

#[test]
fn recist_outside_vocabulary() {
    let mut d = valid();
    let i = d
        .treatments
        .iter()
        .position(|t| t.best_response.is_some())
        .expect("a response");
    d.treatments[i].best_response = Some("MR".into());
    let (table, row, field, message) = invalid(&d);
    assert_eq!(
        (table, row, field),
        (Table::Treatments, i + 1, "best_response")
    );
    assert!(
        message.contains("RECIST") && message.contains("\"MR\""),
        "{message}"
    );
}

#[test]
fn ctcae_grade_outside_one_to_five() {
    for grade in [0, 6] {
        let mut d = valid();
        d.adverse_events.push(AdverseEvent {
            case_id: d.cases[0].case_id.clone(),
            line: Some(1),
            term: "Anemia".into(),
            grade,
            days_to_onset: None,
        });
        let (table, row, field, message) = invalid(&d);
        assert_eq!(
            (table, row, field),
            (Table::AdverseEvents, d.adverse_events.len(), "grade")
        );
        assert!(message.contains("CTCAE"), "{message}");
    }
}

#[test]
fn sample_of_missing_case() {
    let mut d = valid();
    d.samples[2].case_id = "JCGP-999999".into();
    let (table, row, field, message) = invalid(&d);
    assert_eq!((table, row, field), (Table::Samples, 3, "case_id"));
    assert!(
        message.contains("\"JCGP-999999\" does not exist in table cases"),
        "{message}"
    );
}

#[test]
fn variant_of_missing_sample() {
    let mut d = valid();
    d.somatic_variants[0].tumor_sample_barcode = "NOPE".into();
    let (table, _, field, _) = invalid(&d);
    assert_eq!(
        (table, field),
        (Table::SomaticVariants, "tumor_sample_barcode")
    );
}

#[test]
fn duplicate_keys() {
    let mut d = valid();
    let copy = d.samples[0].clone();
    d.samples.push(copy);
    let (table, row, field, message) = invalid(&d);
    assert_eq!(
        (table, row, field),
        (Table::Samples, d.samples.len(), "sample_id")
    );
    assert!(message.contains("duplicate key"), "{message}");
}

#[test]
fn registration_without_case_and_case_without_registration() {
    let mut d = valid();
    d.cases.pop();
    let (table, _, field, _) = invalid(&d);
    assert_eq!((table, field), (Table::Registrations, "case_id"));
    let mut d = valid();
    d.registrations.pop();
    let (table, _, field, _) = invalid(&d);
    assert_eq!((table, field), (Table::Cases, "case_id"));
}

#[test]
fn shapes_of_codes() {
    let mut d = valid();
    let i = d
        .diagnoses
        .iter()
        .position(|x| x.stage.is_some())
        .expect("a staged case");
    d.diagnoses[i].stage = Some("V".into());
    assert_eq!(invalid(&d).2, "stage");
    let mut d = valid();
    d.diagnoses[0].icdo3_morphology = Some("8140".into());
    assert_eq!(invalid(&d).2, "icdo3_morphology");
    let mut d = valid();
    d.diagnoses[0].icd10 = Some("34.1".into());
    assert_eq!(invalid(&d).2, "icd10");
    let mut d = valid();
    let i = d
        .diagnoses
        .iter()
        .position(|x| x.tnm_t.is_some())
        .expect("a staged case");
    d.diagnoses[i].tnm_t = Some("T9".into());
    assert_eq!(invalid(&d).2, "tnm_t");
    let mut d = valid();
    d.cases[0].consent_scope = Some("ANY".into());
    assert_eq!(invalid(&d).2, "consent_scope");
    let mut d = valid();
    d.somatic_variants[0].consequence = "missense".into();
    assert_eq!(invalid(&d).2, "consequence");
}

#[test]
fn numbers_must_be_finite_and_in_range() {
    let mut d = valid();
    d.somatic_variants[0].vaf = Some(f64::NAN);
    assert_eq!(invalid(&d).2, "vaf");
    let mut d = valid();
    d.somatic_variants[0].vaf = Some(1.5);
    assert_eq!(invalid(&d).2, "vaf");
    let mut d = valid();
    d.sequencing_qc[0].q30_bases = d.sequencing_qc[0].q20_bases + 1;
    assert_eq!(invalid(&d).2, "q30_bases");
    let mut d = valid();
    d.cases[0].age_at_diagnosis = Some(150);
    assert_eq!(invalid(&d).2, "age_at_diagnosis");
}

#[test]
fn germline_gene_must_be_on_the_acmg_list() {
    let mut d = valid();
    d.germline_variants.push(GermlineVariant {
        sample_id: d.samples[0].sample_id.clone(),
        hugo_symbol: "KRAS".into(),
        chromosome: "12".into(),
        start_position: 25245350,
        reference_allele: "C".into(),
        alternate_allele: "T".into(),
        hgvsp_short: None,
        zygosity: "heterozygous".into(),
        clinical_significance: "pathogenic".into(),
        acmg_sf_version: "3.2".into(),
    });
    let (table, _, field, message) = invalid(&d);
    assert_eq!((table, field), (Table::GermlineVariants, "hugo_symbol"));
    assert!(message.contains("ACMG"), "{message}");
}

#[test]
fn contradictions_are_refused() {
    let mut d = valid();
    let i = d
        .course
        .iter()
        .position(|c| c.vital_status == "alive")
        .expect("someone alive");
    d.course[i].days_to_death = Some(10);
    assert_eq!(invalid(&d).2, "days_to_death");
}

#[test]
fn invalid_dataset_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = valid();
    d.adverse_events.push(AdverseEvent {
        case_id: d.cases[0].case_id.clone(),
        line: None,
        term: "Anemia".into(),
        grade: 7,
        days_to_onset: None,
    });
    assert!(matches!(
        Lake::create(dir.path(), &d),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn written_lake_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Every patient consents to everything, so that consent withholds no row and the
    // round trip compares whole tables (withholding is `view`'s and the `consent` tests').
    let mut d = valid();
    for case in &mut d.cases {
        case.consent_withdrawn_on = None;
        case.consent_secondary_findings = Some(true);
    }
    let lake = Lake::create(dir.path(), &d).expect("create");
    assert!(matches!(
        Lake::create(dir.path(), &d),
        Err(Error::Exists { .. })
    ));
    let reopened = Lake::open(dir.path()).expect("open");
    for table in Table::ALL {
        let df = reopened.frame(table).expect("read");
        assert_eq!(df.height(), d.rows(table), "{}", table.name());
        assert!(
            df.equals_missing(&d.frame(table)),
            "{} differs after a round trip",
            table.name()
        );
    }
    assert_eq!(lake.root(), reopened.root());
    // Leftover staging directories never appear.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("lake")]);
}
