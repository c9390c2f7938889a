//! Cohort selection and analyses on TCGA-LAML, checked against maftools' data read by
//! Python, lifelines (Kaplan–Meier, log-rank) and SciPy (Fisher's exact test).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{import_laml, python, workbench, workbench_ok};

const GENES: [&str; 8] = [
    "FLT3", "DNMT3A", "NPM1", "IDH2", "IDH1", "TET2", "RUNX1", "TP53",
];

/// TCGA-LAML imported into a fresh lake, with the independent reference numbers.
struct Laml {
    _dir: tempfile::TempDir,
    lake: PathBuf,
    reference: Value,
}

fn laml() -> Laml {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = dir.path().join("laml");
    let (maf, annot) = import_laml(&lake);
    let mut args: Vec<&Path> = vec![&maf, &annot];
    args.extend(GENES.iter().map(Path::new));
    let reference = python("laml_reference.py", &args);
    Laml {
        _dir: dir,
        lake,
        reference,
    }
}

impl Laml {
    fn json(&self, command: &str, extra: &[&str]) -> Value {
        let mut args = vec![command, "--lake", self.lake.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        args.push("--json");
        serde_json::from_str(&workbench_ok(&args)).expect("JSON output")
    }
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs()) + 1e-12
}

#[test]
fn mutated_cases_per_gene_and_per_fab_class_match_the_maf() {
    let laml = laml();
    let reference = &laml.reference;
    for gene in GENES {
        let cohort = laml.json("cohort", &["--gene", gene]);
        let expected = strings(&reference["mutated"][gene]);
        assert_eq!(strings(&cohort["cases"]), expected, "{gene}");
        assert_eq!(cohort["n"], expected.len(), "{gene}");
    }
    // maftools' vignette: FLT3 is the most frequently mutated gene, in 52 samples.
    assert_eq!(
        reference["mutated"]["FLT3"].as_array().map(Vec::len),
        Some(52)
    );

    let frequencies = laml.json("mutations", &[]);
    let rows = frequencies.as_array().expect("rows");
    let expected_genes = reference["mutated"].as_object().expect("genes");
    assert_eq!(rows.len(), expected_genes.len(), "one row per mutated gene");
    assert_eq!(rows[0]["gene"], "FLT3", "most frequent first");
    for row in rows {
        let gene = row["gene"].as_str().expect("gene");
        let expected = expected_genes[gene].as_array().expect("samples").len();
        assert_eq!(row["mutated"], expected, "{gene}");
        assert_eq!(row["profiled"], reference["samples"], "{gene}");
    }

    let by_fab = laml.json("mutations", &["--by", "subtype"]);
    let mut nonzero = 0;
    for row in by_fab.as_array().expect("rows") {
        let (gene, fab) = (
            row["gene"].as_str().expect("gene"),
            row["group"].as_str().expect("group"),
        );
        assert_eq!(
            row["profiled"], reference["profiled_by_fab"][fab],
            "profiled cases of {fab}"
        );
        if row["mutated"] != 0 {
            nonzero += 1;
            assert_eq!(
                row["mutated"], reference["by_fab"][gene][fab],
                "{gene} in {fab}"
            );
        }
    }
    let expected_pairs: usize = reference["by_fab"]
        .as_object()
        .expect("genes")
        .values()
        .map(|by| by.as_object().expect("classes").len())
        .sum();
    assert_eq!(nonzero, expected_pairs, "every mutated gene × FAB class");
}

#[test]
fn samples_without_a_non_synonymous_call_and_include_exclude_groups() {
    let laml = laml();
    let reference = &laml.reference;
    let none = laml.json("cohort", &["--mutated", "false"]);
    assert_eq!(strings(&none["cases"]), strings(&reference["no_nonsyn"]));

    // (FLT3 or NPM1) and not DNMT3A, as a query file of include and exclude groups.
    let query = laml.lake.join("query.json");
    std::fs::write(
        &query,
        r#"{"include": [{"genes": ["FLT3"]}, {"genes": ["NPM1"]}],
            "exclude": [{"genes": ["DNMT3A"]}]}"#,
    )
    .expect("write query");
    let cohort = laml.json("cohort", &["--query", query.to_str().expect("utf-8")]);
    let m = |g: &str| strings(&reference["mutated"][g]);
    let expected: BTreeSet<String> = m("FLT3")
        .union(&m("NPM1"))
        .filter(|s| !m("DNMT3A").contains(*s))
        .cloned()
        .collect();
    assert_eq!(strings(&cohort["cases"]), expected);

    // A saved cohort keeps its members.
    let saved = laml.lake.join("saved");
    std::fs::create_dir(&saved).expect("mkdir");
    laml.json(
        "cohort",
        &[
            "--gene",
            "FLT3",
            "--save",
            "flt3",
            "--save-dir",
            saved.to_str().expect("utf-8"),
        ],
    );
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(saved.join("flt3.cohort.json")).expect("saved cohort"),
    )
    .expect("JSON");
    assert_eq!(strings(&file["cases"]), m("FLT3"));
    assert_eq!(file["name"], "flt3");
}

#[test]
fn survival_matches_lifelines() {
    let laml = laml();
    for by in ["all", "gene:FLT3", "subtype"] {
        let expected = &laml.reference["survival"][by];
        let ours = if by == "all" {
            laml.json("survival", &[])
        } else {
            laml.json("survival", &["--by", by])
        };
        let groups = ours["groups"].as_array().expect("groups");
        let expected_groups = expected["groups"].as_object().expect("groups");
        assert_eq!(groups.len(), expected_groups.len(), "{by}");
        for group in groups {
            let label = group["group"].as_str().expect("label");
            let want = &expected_groups[label];
            assert_eq!(group["n"], want["n"], "{by} {label}");
            assert_eq!(group["events"], want["events"], "{by} {label}");
            assert_eq!(group["median"], want["median"], "{by} {label} median");
            assert_eq!(group["median_ci"], want["median_ci"], "{by} {label} CI");
            let curve = want["survival"].as_object().expect("curve");
            let steps = group["km"].as_array().expect("km");
            for step in steps {
                let time = step["time"].as_f64().expect("time");
                if time == 0.0 {
                    continue;
                }
                let key = format!("{time:.1}");
                let expected = curve[&key].as_f64().expect("survival");
                let got = step["survival"].as_f64().expect("survival");
                assert!(
                    close(got, expected, 1e-9),
                    "{by} {label} S({time}) = {got}, lifelines {expected}"
                );
            }
            assert_eq!(
                steps.iter().filter(|s| s["time"] != 0.0).count(),
                curve.len(),
                "{by} {label}: same event and censoring times"
            );
        }
        if by != "all" {
            let test = &ours["log_rank"];
            let p = test["p_value"].as_f64().expect("p");
            let want = expected["p_value"].as_f64().expect("p");
            assert!(
                close(p, want, 1e-6),
                "{by}: log-rank p {p} vs lifelines {want}"
            );
            let stat = test["statistic"].as_f64().expect("statistic");
            let want = expected["statistic"].as_f64().expect("statistic");
            assert!(
                close(stat, want, 1e-9),
                "{by}: χ² {stat} vs lifelines {want}"
            );
        }
    }
}

#[test]
fn fisher_pairs_match_scipy() {
    let laml = laml();
    let genes = GENES.join(",");
    let pairs = laml.json("interactions", &["--genes", &genes]);
    let pairs = pairs.as_array().expect("pairs");
    let expected = laml.reference["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), GENES.len() * (GENES.len() - 1) / 2);
    assert_eq!(pairs.len(), expected.len());
    for (ours, want) in pairs.iter().zip(expected) {
        let name = format!("{} × {}", want["gene_a"], want["gene_b"]);
        for key in ["gene_a", "gene_b", "both", "a_only", "b_only", "neither"] {
            assert_eq!(ours[key], want[key], "{name}: {key}");
        }
        let (p, want_p) = (
            ours["p_value"].as_f64().expect("p"),
            want["p_value"].as_f64().expect("p"),
        );
        assert!(close(p, want_p, 1e-9), "{name}: p {p} vs SciPy {want_p}");
        match (ours["odds_ratio"].as_f64(), want["odds_ratio"].as_f64()) {
            (Some(a), Some(b)) => assert!(close(a, b, 1e-12), "{name}: OR {a} vs {b}"),
            (a, b) => assert_eq!(a, b, "{name}: infinite odds ratio"),
        }
    }
    // NPM1 and FLT3 co-occur in AML (Ley et al. 2013).
    let npm1 = pairs
        .iter()
        .find(|p| p["gene_a"] == "FLT3" && p["gene_b"] == "NPM1")
        .expect("pair");
    assert_eq!(npm1["relation"], "co-occurrence");
}

#[test]
fn figures_are_written_as_svg_with_labels() {
    let laml = laml();
    let dir = tempfile::tempdir().expect("tempdir");
    let (bars, print) = (dir.path().join("bars.svg"), dir.path().join("onco.svg"));
    laml.json(
        "mutations",
        &["--top", "10", "--svg", bars.to_str().expect("utf-8")],
    );
    laml.json(
        "interactions",
        &["--top", "6", "--oncoprint", print.to_str().expect("utf-8")],
    );
    let bars = std::fs::read_to_string(bars).expect("bars");
    assert!(bars.starts_with("<svg"), "an SVG document");
    for needle in ["FLT3", "52 / 200", "cases mutated, % of cases profiled"] {
        assert!(bars.contains(needle), "{needle} missing from the bars");
    }
    let print = std::fs::read_to_string(print).expect("oncoprint");
    for needle in ["Oncoprint", "FLT3 26 %", "Missense Mutation", "Multi Hit"] {
        assert!(
            print.contains(needle),
            "{needle} missing from the oncoprint"
        );
    }
}

#[test]
fn bad_criteria_name_the_value_and_suggest_the_closest() {
    let laml = laml();
    let lake = laml.lake.to_str().expect("utf-8");
    for (args, needles) in [
        (vec!["--gene", "FLT4"], vec!["FLT4", "did you mean", "FLT3"]),
        (vec!["--cancer-type", "LUADX"], vec!["LUADX", "LUAD"]),
        (vec!["--stage", "IIIE"], vec!["IIIE", "IIIA"]),
        (vec!["--subtype", "M9"], vec!["M9", "did you mean"]),
        (
            vec!["--variant-class", "Missense"],
            vec!["Missense", "Missense_Mutation"],
        ),
        (
            vec!["--min-age", "80", "--max-age", "20"],
            vec!["minimum 80 is above maximum 20"],
        ),
    ] {
        let mut full = vec!["cohort", "--lake", lake];
        full.extend(&args);
        let output = workbench(&full);
        assert!(!output.status.success(), "{args:?} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{args:?}: {needle:?} not in {stderr}"
            );
        }
    }
}
