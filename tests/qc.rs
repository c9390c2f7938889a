//! FASTQ QC against fastp on the real test files, bad input, and contract verdicts.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{bams, datasets, workbench, workbench_ok};

/// fastp's "before filtering" numbers for one sample (Debian's fastp, installed by ./x test).
fn fastp(files: &[PathBuf]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("fastp.json");
    let mut command = Command::new("fastp");
    command.arg("-i").arg(&files[0]);
    if let Some(r2) = files.get(1) {
        command.arg("-I").arg(r2);
    }
    let output = command
        .arg("-j")
        .arg(&json)
        .arg("-h")
        .arg(dir.path().join("fastp.html"))
        .args(["-w", "2"])
        .output()
        .expect("fastp runs (./x test installs it)");
    assert!(
        output.status.success(),
        "fastp failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(json).expect("fastp json")).expect("JSON")
}

fn ours(files: &[PathBuf]) -> Value {
    let mut args = vec!["qc", "fastq"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8")));
    args.push("--json");
    serde_json::from_str(&workbench_ok(&args)).expect("JSON")
}

fn samples() -> Vec<Vec<PathBuf>> {
    let data = datasets().join("sequencing");
    let pair = |a: &str, b: &str| vec![data.join(a), data.join(b)];
    vec![
        pair("fastp_testdata/R1.fq", "fastp_testdata/R2.fq"),
        pair("derived/HCC1143_R1.fq.gz", "derived/HCC1143_R2.fq.gz"),
        pair("derived/HCC1143_BL_R1.fq.gz", "derived/HCC1143_BL_R2.fq.gz"),
        pair(
            "icgc_argo_hcc1143/C0HVY.2_r1.fq.gz",
            "icgc_argo_hcc1143/C0HVY.2_r2.fq.gz",
        ),
        vec![data.join("derived/HCC1143_singletons.fq.gz")],
    ]
}

#[test]
fn fastq_numbers_equal_fastp_before_filtering() {
    for files in samples() {
        let name = files[0].display().to_string();
        let (reference, report) = (fastp(&files), ours(&files));
        let summary = &reference["summary"]["before_filtering"];
        let total = &report["total"];
        for (ours_key, fastp_key) in [
            ("reads", "total_reads"),
            ("bases", "total_bases"),
            ("q20_bases", "q20_bases"),
            ("q30_bases", "q30_bases"),
        ] {
            assert_eq!(total[ours_key], summary[fastp_key], "{name}: {ours_key}");
        }
        let gc = total["gc_content"].as_f64().expect("gc");
        let fastp_gc = summary["gc_content"].as_f64().expect("gc");
        assert!(
            (gc - fastp_gc).abs() < 1e-6,
            "{name}: GC {gc} vs fastp {fastp_gc}"
        );
        // Per read too: fastp reports read 1 and read 2 before filtering.
        for (i, key) in ["read1_before_filtering", "read2_before_filtering"]
            .iter()
            .enumerate()
            .take(files.len())
        {
            let (file, theirs) = (&report["files"][i], &reference[key]);
            for (ours_key, fastp_key) in [
                ("reads", "total_reads"),
                ("bases", "total_bases"),
                ("q20_bases", "q20_bases"),
                ("q30_bases", "q30_bases"),
            ] {
                assert_eq!(
                    file[ours_key], theirs[fastp_key],
                    "{name} {key}: {ours_key}"
                );
            }
        }
    }
    // fastp's own test file starts with a zero-length read: counted, not refused.
    let report = ours(&samples()[0]);
    assert_eq!(report["files"][0]["zero_length_reads"], 1);
}

fn fails_naming(path: &Path, needles: &[&str]) {
    let output = workbench(&["qc", "fastq", path.to_str().expect("utf-8"), "--json"]);
    assert!(!output.status.success(), "{} accepted", path.display());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn bad_fastq_is_refused_with_file_and_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = std::fs::read(datasets().join("sequencing/derived/HCC1143_R1.fq.gz")).expect("read");
    let truncated = dir.path().join("truncated.fq.gz");
    std::fs::write(&truncated, &real[..real.len() / 3]).expect("write");
    fails_naming(&truncated, &["truncated.fq.gz", "truncated or corrupt"]);
    for (name, text, needles) in [
        (
            "lengths.fq",
            "@a\nACGT\n+\nIIII\n@b\nACGT\n+\nIII\n",
            vec![
                "lengths.fq",
                "record 2 (line 8)",
                "4 bases but quality has 3",
            ],
        ),
        (
            "plus.fq",
            "@a\nACGT\n+\nIIII\n@b\nACGT\nIIII\n@c\nACGT\n+\nIIII\n",
            vec!["plus.fq", "record 2 (line 7)", "'+'"],
        ),
        (
            "range.fq",
            "@a\nACGT\n+\nII\u{1}I\n",
            vec!["range.fq", "record 1 (line 4)", "position 3"],
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        fails_naming(&path, &needles);
    }
}

#[test]
fn verdicts_name_rule_measure_and_threshold() {
    let files = &samples()[1];
    let mut args = vec!["qc", "fastq"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8")));
    args.extend(["--kind", "tumour", "--json"]);
    let report: Value = serde_json::from_str(&workbench_ok(&args)).expect("JSON");
    let verdicts = report["verdicts"].as_array().expect("verdicts");
    // The expectations come from fastp's numbers for the same pair, not from ours.
    let reference = &fastp(files)["summary"]["before_filtering"];
    let fastp_rate = |key: &str| reference[key].as_f64().expect("fastp rate");
    let (fastp_q30, fastp_q20) = (fastp_rate("q30_rate"), fastp_rate("q20_rate"));
    let q30 = verdicts
        .iter()
        .find(|v| v["rule"] == "R5-Q30")
        .expect("R5-Q30");
    assert_eq!(q30["threshold"], 0.75);
    // fastp prints its rates rounded; ours is the exact fraction.
    let measured = q30["measured"].as_f64().expect("measured");
    assert!(
        (measured - fastp_q30).abs() < 1e-4,
        "{measured} vs fastp {fastp_q30}"
    );
    let depth = verdicts
        .iter()
        .find(|v| v["rule"] == "R4-DEPTH")
        .expect("R4-DEPTH");
    assert_eq!(
        depth["status"], "not_measured",
        "no BAM: not passed silently"
    );
    // This real tumour pair misses R5 by fastp's count (Q30 74 %, Q20 86 %): a measured
    // failure decides, whatever the unmeasured BAM rules would say.
    assert!(
        fastp_q30 < 0.75 && fastp_q20 < 0.90,
        "fastp: Q30 {fastp_q30}, Q20 {fastp_q20}"
    );
    assert_eq!(q30["status"], "fail");
    assert_eq!(report["passed"], Value::Bool(false));

    // From a saved report plus BAM-level numbers; a small-specimen contract.
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("fastq.json");
    std::fs::write(&saved, serde_json::to_string(&report).expect("json")).expect("write");
    let contract = dir.path().join("small.json");
    std::fs::write(
        &contract,
        r#"{"min_dedup_gbases_tumour": 100, "min_depth_tumour": 40}"#,
    )
    .expect("write");
    let verdict = |extra: &[&str]| -> Value {
        let mut args = vec![
            "qc",
            "verdict",
            "--kind",
            "tumour",
            "--fastq-report",
            saved.to_str().expect("utf-8"),
            "--json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&workbench_ok(&args)).expect("JSON")
    };
    let strict = verdict(&["--dedup-bases", "150000000000", "--mean-depth", "50"]);
    let dedup = strict["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["rule"] == "R5-DEDUP")
        .expect("R5-DEDUP")
        .clone();
    assert_eq!(dedup["status"], "fail", "150 Gbases < 360 for a tumour");
    assert_eq!(dedup["measured"], 150.0);
    assert_eq!(strict["passed"], false);
    let small = verdict(&[
        "--dedup-bases",
        "150000000000",
        "--mean-depth",
        "50",
        "--contract",
        contract.to_str().expect("utf-8"),
    ]);
    // Depth and volume meet the small-specimen contract; Q30 and Q20 still fail (fastp).
    assert_eq!(small["passed"], false);
    let status = |rule: &str| {
        small["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .find(|v| v["rule"] == rule)
            .map(|v| v["status"].clone())
            .expect("rule")
    };
    assert_eq!(status("R5-DEDUP"), "pass", "150 ≥ 100 Gbases");
    assert_eq!(status("R4-DEPTH"), "pass", "50x ≥ 40x");
    assert_eq!(status("R5-Q20"), "fail");
}

#[test]
fn multiqc_reads_our_custom_content() {
    let files = &samples()[1];
    let dir = tempfile::tempdir().expect("tempdir");
    let content = dir.path().join("content");
    std::fs::create_dir(&content).expect("mkdir");
    let mut args = vec!["qc", "fastq"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8")));
    args.extend(["--multiqc", content.to_str().expect("utf-8"), "--json"]);
    let report: Value = serde_json::from_str(&workbench_ok(&args)).expect("JSON");
    assert!(content.join("HCC1143_workbench_fastq_mqc.json").is_file());
    let bam = datasets().join("sequencing/derived/HCC1143.grch38tiny.markdup.bam");
    let bam_report: Value = serde_json::from_str(&workbench_ok(&[
        "qc",
        "bam",
        bam.to_str().expect("utf-8"),
        "--multiqc",
        content.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("JSON");
    assert!(content.join("HCC1143_workbench_bam_mqc.json").is_file());
    let out = dir.path().join("multiqc");
    let status = Command::new(crate::support::python_path())
        .args([
            "-m",
            "multiqc",
            "--no-version-check",
            "--no-ai",
            "-q",
            "-f",
            "-o",
        ])
        .arg(&out)
        .arg(&content)
        .status()
        .expect("multiqc runs");
    assert!(status.success(), "multiqc failed");
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("multiqc_data/multiqc_data.json")).expect("data"),
    )
    .expect("JSON");
    let row = &data["report_saved_raw_data"]["multiqc_workbench_fastq_table"]["HCC1143"];
    assert_eq!(row["reads"], report["total"]["reads"]);
    let q30 = row["q30_percent"].as_f64().expect("q30");
    let ours = 100.0 * report["total"]["q30_rate"].as_f64().expect("rate");
    assert!((q30 - ours).abs() < 1e-9, "{q30} vs {ours}");
    let row = &data["report_saved_raw_data"]["multiqc_workbench_bam_table"]["HCC1143"];
    let depth = row["mean_depth"].as_f64().expect("mean depth");
    let ours = bam_report["depth"]["mean"].as_f64().expect("mean");
    assert!((depth - ours).abs() < 1e-9, "{depth} vs {ours}");
    let ours = 100.0
        * bam_report["depth"]["total"]["breadth_fraction"]["10"]
            .as_f64()
            .expect("≥10x");
    let theirs = row["breadth_10x_percent"].as_f64().expect("breadth");
    assert!((theirs - ours).abs() < 1e-9, "{theirs} vs {ours}");
}

#[test]
fn sop_check_and_trends_match_an_independent_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("synth");
    workbench_ok(&[
        "synth",
        "--cases",
        "1500",
        "--seed",
        "11",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let lake = out.join("lake");
    let reference = crate::support::python("qc_lake_check.py", &[&lake]);
    let run = |what: &str| -> Vec<Value> {
        let v: Value = serde_json::from_str(&workbench_ok(&[
            "qc",
            what,
            "--lake",
            lake.to_str().expect("utf-8"),
            "--json",
        ]))
        .expect("JSON");
        v.as_array().expect("rows").clone()
    };
    let sop = run("sop");
    let expected = reference["sop"].as_object().expect("hospitals");
    assert_eq!(sop.len(), expected.len());
    let mut violations = 0;
    for row in &sop {
        let want = &expected[row["hospital"].as_str().expect("hospital")];
        assert_eq!(row["tissue_specimens"], want[0], "{row}");
        assert_eq!(row["violations"], want[1], "{row}");
        assert_eq!(row["not_recorded"], want[2], "{row}");
        violations += row["violations"].as_u64().expect("n");
    }
    assert!(violations > 0, "the synthetic hospitals have R2 lapses");
    let trends = run("trends");
    let expected = reference["trends"].as_object().expect("groups");
    assert_eq!(trends.len(), expected.len());
    for row in &trends {
        let key = format!(
            "{}|{}",
            row["sequencing_centre"].as_str().expect("centre"),
            row["month"].as_str().expect("month")
        );
        let want = &expected[&key];
        assert_eq!(row["samples"], want[0], "{key}");
        assert_eq!(row["below_q30"], want[2], "{key}");
        for (ours, theirs) in [("mean_q30_fraction", 1), ("mean_depth", 3)] {
            let (a, b) = (
                row[ours].as_f64().expect("f64"),
                want[theirs].as_f64().expect("f64"),
            );
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{key} {ours}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn bam_counts_equal_samtools_flagstat() {
    let files = bams();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let name = file.display().to_string();
        let output = Command::new("samtools")
            .args(["flagstat", "-O", "json"])
            .arg(&file)
            .output()
            .expect("samtools runs (./x test installs it)");
        assert!(output.status.success(), "samtools flagstat {name}");
        let theirs: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let ours: Value = serde_json::from_str(&workbench_ok(&[
            "qc",
            "bam",
            file.to_str().expect("utf-8"),
            "--json",
        ]))
        .expect("JSON");
        for (class, key) in [
            ("QC-passed reads", "qc_passed"),
            ("QC-failed reads", "qc_failed"),
        ] {
            for (samtools_key, our_key) in [
                ("total", "total"),
                ("primary", "primary"),
                ("secondary", "secondary"),
                ("supplementary", "supplementary"),
                ("duplicates", "duplicates"),
                ("primary duplicates", "primary_duplicates"),
                ("mapped", "mapped"),
                ("primary mapped", "primary_mapped"),
                ("paired in sequencing", "paired_in_sequencing"),
                ("read1", "read1"),
                ("read2", "read2"),
                ("properly paired", "properly_paired"),
                ("with itself and mate mapped", "with_itself_and_mate_mapped"),
                ("singletons", "singletons"),
                (
                    "with mate mapped to a different chr",
                    "with_mate_mapped_to_a_different_chr",
                ),
                (
                    "with mate mapped to a different chr (mapQ >= 5)",
                    "with_mate_mapped_to_a_different_chr_mapq5",
                ),
            ] {
                assert_eq!(
                    ours["flagstat"][key][our_key], theirs[class][samtools_key],
                    "{name}: {class} {samtools_key}"
                );
            }
        }
        // Bases after duplicate removal: primary, QC-passed, non-duplicate records as
        // samtools decodes them (-F 0xF00), SEQ lengths summed here.
        let view = Command::new("samtools")
            .args(["view", "-F", "0xF00"])
            .arg(&file)
            .output()
            .expect("samtools view");
        let bases: u64 = String::from_utf8_lossy(&view.stdout)
            .lines()
            .map(|l| l.split('\t').nth(9).unwrap_or("*"))
            .map(|seq| if seq == "*" { 0 } else { seq.len() as u64 })
            .sum();
        assert_eq!(
            ours["dedup_bases"], bases,
            "{name}: bases after duplicate removal"
        );
    }
}

#[test]
fn verdict_reads_the_bam_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bam = datasets().join("sequencing/derived/HCC1143_BL.grch38tiny.markdup.bam");
    let report = workbench_ok(&["qc", "bam", bam.to_str().expect("utf-8"), "--json"]);
    let saved = dir.path().join("bam.json");
    std::fs::write(&saved, &report).expect("write");
    let report: Value = serde_json::from_str(&report).expect("JSON");
    let verdict: Value = serde_json::from_str(&workbench_ok(&[
        "qc",
        "verdict",
        "--kind",
        "normal",
        "--bam-report",
        saved.to_str().expect("utf-8"),
        "--json",
    ]))
    .expect("JSON");
    let dedup = verdict["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["rule"] == "R5-DEDUP")
        .expect("R5-DEDUP")
        .clone();
    // samtools counts the same bases: primary, QC-passed, not duplicate (-F 0xF00), each
    // record's stored sequence.
    let view = Command::new("samtools")
        .args(["view", "-F", "0xF00"])
        .arg(&bam)
        .output()
        .expect("samtools runs");
    assert!(view.status.success());
    let bases: u64 = String::from_utf8_lossy(&view.stdout)
        .lines()
        .map(|line| {
            let sequence = line.split('\t').nth(9).expect("SEQ");
            if sequence == "*" {
                0
            } else {
                sequence.len() as u64
            }
        })
        .sum();
    assert!(bases > 0);
    assert_eq!(report["dedup_bases"].as_u64(), Some(bases));
    assert_eq!(dedup["measured"].as_f64(), Some(bases as f64 / 1e9));
    assert_eq!(
        dedup["status"], "fail",
        "a tiny test BAM is far below 90 Gbases"
    );
    // A FASTQ report given as the BAM report is refused, naming the file.
    let fastq = dir.path().join("fastq.json");
    std::fs::write(&fastq, r#"{"schema": "workbench.qc.fastq/1"}"#).expect("write");
    let output = workbench(&[
        "qc",
        "verdict",
        "--kind",
        "normal",
        "--bam-report",
        fastq.to_str().expect("utf-8"),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("fastq.json"));
}

#[test]
fn bad_bam_is_refused_with_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = std::fs::read(datasets().join("sequencing/derived/HCC1143.grch38tiny.markdup.bam"))
        .expect("read");
    let cut = dir.path().join("cut.bam");
    std::fs::write(&cut, &real[..real.len() / 2]).expect("write");
    let not_bam = dir.path().join("reads.bam");
    std::fs::write(&not_bam, "@r\nACGT\n+\nIIII\n").expect("write");
    for path in [&cut, &not_bam, &dir.path().join("missing.bam")] {
        let output = workbench(&["qc", "bam", path.to_str().expect("utf-8")]);
        assert!(!output.status.success(), "{} accepted", path.display());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        let name = path.file_name().expect("name").to_string_lossy();
        assert!(stderr.contains(name.as_ref()), "{name} not in {stderr}");
    }
}

#[test]
fn reports_and_charts_are_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    // BAM: the standalone page holds the counts, the depth table and three charts.
    let bam = datasets().join("sequencing/derived/HCC1143.grch38tiny.markdup.bam");
    let report: Value = serde_json::from_str(&workbench_ok(&[
        "qc",
        "bam",
        bam.to_str().expect("utf-8"),
        "--html",
        &path("bam.html"),
        "--json",
    ]))
    .expect("JSON");
    let html = std::fs::read_to_string(path("bam.html")).expect("bam.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "depth, breadth, insert sizes"
    );
    for needle in [
        "Depth distribution",
        "Breadth of coverage",
        "Insert sizes",
        &report["flagstat"]["qc_passed"]["properly_paired"].to_string(),
        &format!(
            "{:.2}",
            report["depth"]["mean"].as_f64().expect("mean depth")
        ),
    ] {
        assert!(html.contains(needle), "{needle} not in the BAM report");
    }
    // FASTQ: the page holds the read count and the per-cycle chart.
    let files = &samples()[1];
    let fastq: Value = serde_json::from_str(&workbench_ok(&[
        "qc",
        "fastq",
        files[0].to_str().expect("utf-8"),
        files[1].to_str().expect("utf-8"),
        "--html",
        &path("fastq.html"),
        "--json",
    ]))
    .expect("JSON");
    let html = std::fs::read_to_string(path("fastq.html")).expect("fastq.html");
    assert!(html.contains("Mean quality per cycle") && html.contains("<svg"));
    assert!(html.contains(&fastq["total"]["reads"].to_string()));
    // Trends and SOP charts name every centre, month and hospital of their tables.
    workbench_ok(&[
        "synth",
        "--cases",
        "600",
        "--seed",
        "5",
        "--out",
        &path("synth"),
    ]);
    let lake = path("synth/lake");
    for (what, svg, keys) in [
        ("trends", "trends.svg", &["sequencing_centre", "month"][..]),
        ("sop", "sop.svg", &["hospital"][..]),
    ] {
        let rows: Value = serde_json::from_str(&workbench_ok(&[
            "qc",
            what,
            "--lake",
            &lake,
            "--svg",
            &path(svg),
            "--json",
        ]))
        .expect("JSON");
        let figure = std::fs::read_to_string(path(svg)).expect("svg");
        assert!(figure.starts_with("<svg"), "{what}");
        for row in rows.as_array().expect("rows") {
            for key in keys {
                let value = row[*key].as_str().expect("text");
                // Month labels are thinned to at most 12 on the axis; centres and
                // hospitals are all drawn.
                if *key != "month" {
                    assert!(figure.contains(value), "{what}: {value} not drawn");
                }
            }
        }
    }
}
