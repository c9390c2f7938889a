//! Bad input through the CLI: refused with file, row and field named; nothing half-written.

use crate::support::{datasets, files, workbench, workbench_ok};

#[test]
fn unknown_cancer_type_is_refused_with_suggestions() {
    let maf = datasets().join("clinical/maftools_tcga_laml/tcga_laml.maf.gz");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("x");
    let output = workbench(&[
        "import",
        "maf",
        maf.to_str().expect("utf-8"),
        "--cancer-type",
        "AMLL",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("\"AMLL\"") && stderr.contains("AML"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "a refused import must not leave a directory behind"
    );
}

#[test]
fn malformed_maf_row_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let maf = dir.path().join("bad.maf");
    std::fs::write(
        &maf,
        "#version 2.4\nHugo_Symbol\tChromosome\tStart_Position\tEnd_Position\tReference_Allele\tTumor_Seq_Allele2\tVariant_Classification\tTumor_Sample_Barcode\n\
         TP53\t17\t7675088\t7675088\tC\tT\tMissense_Mutation\tS1\nKRAS\t12\tabc\t25245350\tC\tT\tMissense_Mutation\tS1\n",
    )
    .expect("write");
    let out = dir.path().join("x");
    let output = workbench(&[
        "import",
        "maf",
        maf.to_str().expect("utf-8"),
        "--cancer-type",
        "LUAD",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.maf")
            && stderr.contains("line 4")
            && stderr.contains("Start_Position")
            && stderr.contains("\"abc\""),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn existing_lake_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("p");
    let out_str = out.to_str().expect("utf-8");
    workbench_ok(&[
        "synth",
        "--cases",
        "50",
        "--seed",
        "1",
        "--out",
        out_str,
        "--raw-cases",
        "0",
    ]);
    let before: Vec<Vec<u8>> = files(&out)
        .iter()
        .map(|p| std::fs::read(out.join(p)).expect("read"))
        .collect();
    let output = workbench(&["synth", "--cases", "60", "--seed", "2", "--out", out_str]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already holds a lake"));
    let after: Vec<Vec<u8>> = files(&out)
        .iter()
        .map(|p| std::fs::read(out.join(p)).expect("read"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn describe_without_a_lake_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = workbench(&[
        "lake",
        "describe",
        dir.path().to_str().expect("utf-8"),
        "--json",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no lake at"));
}
