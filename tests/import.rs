//! Imports of the real test files, checked against independent Python readers.

use crate::support::{datasets, describe, import_laml, python, workbench_ok};

fn compare(report: &serde_json::Value) {
    let (source, lake) = (&report["source"], &report["lake"]);
    for (key, expected) in source.as_object().expect("source numbers") {
        assert_eq!(
            &lake[key], expected,
            "{key}: lake differs from the source file"
        );
    }
}

#[test]
fn tcga_laml_maf_with_annotations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("laml");
    let (maf, annot) = import_laml(&out);
    let report = python("maf_import_check.py", &[&maf, &annot, &out.join("lake")]);
    compare(&report);
    // maftools' own summary of this data set (its vignette): 2207 variants; FLT3 and
    // DNMT3A are the most frequently mutated genes with 52 and 48 samples.
    assert_eq!(report["lake"]["variants"], 2207);
    assert_eq!(report["lake"]["mutated_samples_per_gene"]["FLT3"], 52);
    assert_eq!(report["lake"]["mutated_samples_per_gene"]["DNMT3A"], 48);
    // The annotation's `-Inf` follow-up times (R's marker for unknown) become missing.
    assert_eq!(report["lake"]["followup_missing"], 12);
    let described = describe(&out);
    let registrations = described["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "registrations")
        .expect("table");
    assert_eq!(registrations["rows"], report["source"]["cases"]);
}

#[test]
fn cbioportal_study_with_multi_sample_patients() {
    let study = datasets().join("clinical/cbioportal_study_es_0");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("es0");
    workbench_ok(&[
        "import",
        "cbioportal",
        study.to_str().expect("utf-8"),
        "--registered-on",
        "2026-01-15",
        "--consent-scope",
        "GRU",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let report = python("cbioportal_import_check.py", &[&study, &out.join("lake")]);
    compare(&report);
    assert!(
        report["source"]["multi_sample_cases"]
            .as_u64()
            .expect("count")
            >= 2
    );
    // 32 patients have OS_STATUS `[Not Available]`: they are cases without a course row.
    let (cases, course) = (&report["lake"]["cases"], &report["lake"]["course_rows"]);
    assert!(
        course.as_u64() < cases.as_u64(),
        "{course} course rows for {cases} cases"
    );
}

#[test]
fn column_map_reads_other_annotation_names() {
    let data = datasets().join("clinical/maftools_tcga_laml");
    let dir = tempfile::tempdir().expect("tempdir");
    // The same annotation with the cBioPortal-style names a site might use.
    let renamed = dir.path().join("annot.tsv");
    let text = std::fs::read_to_string(data.join("tcga_laml_annot.tsv")).expect("read");
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .replace("Overall_Survival_Status", "OS_STATUS")
        .replace("days_to_last_followup", "OS_DAYS");
    std::fs::write(
        &renamed,
        std::iter::once(header.as_str())
            .chain(lines)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("write");
    let out = dir.path().join("mapped");
    workbench_ok(&[
        "import",
        "maf",
        data.join("tcga_laml.maf.gz").to_str().expect("utf-8"),
        "--clinical",
        renamed.to_str().expect("utf-8"),
        "--map",
        "vital_status=OS_STATUS",
        "--map",
        "days_to_last_followup=OS_DAYS",
        "--cancer-type",
        "AML",
        "--registered-on",
        "2026-01-15",
        "--consent-scope",
        "GRU",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let report = python(
        "maf_import_check.py",
        &[
            &data.join("tcga_laml.maf.gz"),
            &data.join("tcga_laml_annot.tsv"),
            &out.join("lake"),
        ],
    );
    compare(&report);
}
