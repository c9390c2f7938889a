//! The airlock's automatic checks (`workbench export table`, `export check`) against
//! ACRO 1.0.2 on tables we construct, and the leaks ACRO lets through, each tried.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{python, workbench};

/// `workbench export table … --json` on `csv` for `spec` (ACRO's case spec), with the
/// exit status.
fn table(csv: &Path, spec: &Value, person: Option<&str>, extra: &[&str]) -> (bool, Value) {
    let mut args: Vec<String> = vec![
        "export".into(),
        "table".into(),
        "--data".into(),
        csv.to_string_lossy().into_owned(),
        "--index".into(),
        spec["index"].as_str().expect("index").into(),
        "--agg".into(),
        spec["agg"].as_str().expect("agg").into(),
        "--json".into(),
    ];
    for key in ["columns", "values"] {
        if let Some(v) = spec[key].as_str() {
            args.push(format!("--{key}"));
            args.push(v.into());
        }
    }
    if let Some(p) = person {
        args.extend(["--person".into(), p.into()]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = workbench(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let parsed: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("workbench {args:?}: {e}\n{stderr}"));
    (out.status.success(), parsed)
}

fn cell<'a>(t: &'a Value, index: &str, column: &str) -> &'a Value {
    t["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["index"] == json!([index]) && c["column"] == column)
        .unwrap_or_else(|| panic!("no cell {index} × {column} in {t}"))
}

fn rules(cell: &Value) -> Vec<String> {
    let mut r: Vec<String> = cell["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|v| v.as_str().expect("rule").to_owned())
        .collect();
    r.sort();
    r
}

#[test]
fn threshold_dominance_and_p_ratio_agree_with_acro_cell_by_cell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = python("acro_tables.py", &[dir.path()]);
    let cases = report.as_array().expect("cases");
    assert_eq!(cases.len(), 7, "{report}");
    let mut compared = 0;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let csv = Path::new(case["csv"].as_str().expect("csv"));
        let (passed, ours) = table(csv, &case["spec"], Some("patient"), &[]);
        // ACRO's status and ours: every constructed case has a disclosive cell.
        assert_eq!(case["status"], "fail", "{name}: ACRO {case}");
        assert_eq!(ours["verdict"], "fail", "{name}: {ours}");
        assert!(!passed, "{name}: a failing table exits 1");
        // The same grid.
        assert_eq!(
            ours["cells"].as_array().expect("cells").len(),
            case["cells"].as_array().expect("cells").len(),
            "{name}"
        );
        for theirs in case["cells"].as_array().expect("cells") {
            let index = theirs["index"][0].as_str().expect("label");
            let column = theirs["column"].as_str().expect("column");
            let mine = rules(cell(&ours, index, column));
            let acro = rules(theirs);
            // Where ACRO checks a rule for this statistic, we flag exactly the cells it
            // flags (one row per patient here, no negative or missing value).
            let checked: &[&str] = match name {
                "count" | "median" | "min" | "max" => &["threshold", "zero"],
                "sum" | "mean" => &["threshold", "dominance", "p-ratio"],
                // ACRO's degrees-of-freedom mask is the number itself: every cell whose
                // dof is not 0 is marked and the one-patient cell (dof 0) is not. The
                // table's status is right; ours is checked against dof = patients − 1.
                "std" => &[],
                other => panic!("unknown case {other}"),
            };
            for rule in checked {
                assert_eq!(
                    mine.iter().any(|r| r == rule),
                    acro.iter().any(|r| r == rule),
                    "{name} {index} × {column}, {rule}: ours {mine:?}, ACRO {acro:?}"
                );
                compared += 1;
            }
            if name == "std" {
                let patients = cell(&ours, index, column)["contributors"]
                    .as_u64()
                    .expect("n");
                assert_eq!(
                    mine.iter().any(|r| r == "dof"),
                    patients.saturating_sub(1) < 10,
                    "{index} × {column}: {patients} patients, {mine:?}"
                );
            }
        }
    }
    assert!(compared > 100, "{compared} verdicts compared");
}

/// Writes `rows` (the first is the header) as CSV in `dir/name`.
fn csv(dir: &Path, name: &str, rows: &[Vec<String>]) -> std::path::PathBuf {
    let path = dir.join(name);
    let text: String = rows.iter().map(|r| r.join(",") + "\n").collect();
    std::fs::write(&path, text).expect("csv");
    path
}

/// ACRO's status and flagged cells for the one-way table of `values` by `index`.
fn acro_one(csv: &Path, index: &str, values: &str, agg: &str) -> Value {
    python(
        "acro_tables.py",
        &[
            Path::new("--one"),
            csv,
            Path::new(index),
            Path::new(values),
            Path::new(agg),
        ],
    )
}

#[test]
fn the_leaks_acro_lets_through_are_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Twenty patients of LUAD, one of STAD with twelve samples.
    let mut rows = vec![vec!["patient".into(), "cancer_type".into(), "vaf".into()]];
    for i in 0..20 {
        rows.push(vec![
            format!("P{i:03}"),
            "LUAD".into(),
            format!("0.{}", 10 + i),
        ]);
    }
    for s in 0..12 {
        rows.push(vec!["P999".into(), "STAD".into(), format!("0.{}", 30 + s)]);
    }
    let data = csv(dir.path(), "samples.csv", &rows);
    let spec = |agg: &str| json!({"index": "cancer_type", "values": "vaf", "agg": agg});
    for agg in ["count", "median", "min", "max", "mode", "mean"] {
        // Counted by patient: STAD is one contributor however many samples.
        let (passed, t) = table(&data, &spec(agg), Some("patient"), &[]);
        let stad = t["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .find(|c| c["index"] == json!(["STAD"]))
            .expect("STAD");
        assert_eq!(stad["contributors"], 1, "{agg}: {stad}");
        assert_eq!(stad["rows"], 12, "{agg}: {stad}");
        assert!(
            rules(stad).contains(&"threshold".to_owned()),
            "{agg}: {stad}"
        );
        assert!(!passed && t["verdict"] == "fail", "{agg}: {t}");
        // ACRO, counting rows, lets the same table through.
        let acro = acro_one(&data, "cancer_type", "vaf", agg);
        assert_eq!(acro["status"], "pass", "{agg}: ACRO {acro}");
        let luad = t["cells"]
            .as_array()
            .expect("cells")
            .iter()
            .find(|c| c["index"] == json!(["LUAD"]))
            .expect("LUAD");
        // A mode of twenty distinct values is one patient's value.
        if agg == "mode" {
            assert!(rules(luad).contains(&"threshold".to_owned()), "{luad}");
        } else {
            assert!(rules(luad).is_empty(), "{agg}: {luad}");
        }
    }
    // One negative value flags its cell and leaves dominance on elsewhere.
    let mut rows = vec![vec!["patient".into(), "group".into(), "dose".into()]];
    for i in 0..10 {
        let dose = if i == 0 { "100000" } else { "10" };
        rows.push(vec![format!("A{i}"), "a".into(), dose.into()]);
        let dose = if i == 0 { "-5" } else { "10" };
        rows.push(vec![format!("B{i}"), "b".into(), dose.into()]);
    }
    let data = csv(dir.path(), "doses.csv", &rows);
    let (_, t) = table(
        &data,
        &json!({"index": "group", "values": "dose", "agg": "sum"}),
        Some("patient"),
        &[],
    );
    let cells = t["cells"].as_array().expect("cells");
    assert!(rules(&cells[0]).contains(&"dominance".to_owned()), "{t}");
    assert_eq!(rules(&cells[1]), ["negative"], "{t}");
    // ACRO: the negative value turns dominance off for the whole table (status review),
    // and the dominated cell goes unmarked.
    let acro = acro_one(&data, "group", "dose", "sum");
    assert_eq!(acro["status"], "review", "{acro}");
    assert_eq!(acro["cells"]["a"], json!([]), "{acro}");
    // A table that is safe passes and exits 0.
    let mut rows = vec![vec!["patient".into(), "cancer_type".into()]];
    for i in 0..30 {
        let t = if i % 2 == 0 { "LUAD" } else { "COAD" };
        rows.push(vec![format!("P{i}"), t.into()]);
    }
    let data = csv(dir.path(), "safe.csv", &rows);
    let (passed, t) = table(
        &data,
        &json!({"index": "cancer_type", "agg": "count"}),
        Some("patient"),
        &["--margins"],
    );
    assert!(passed && t["verdict"] == "pass", "{t}");
    let total = t["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["index"] == json!(["All"]))
        .expect("margin");
    assert_eq!(total["value"], 30.0);
}

#[test]
fn a_finished_table_with_a_small_count_or_sample_ids_fails_its_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("csv");
        let out = workbench(&["export", "check", path.to_str().expect("utf-8"), "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        (out.status.success(), v)
    };
    let (passed, v) = check("small.csv", "cancer_type,patients\nLUAD,3\nCOAD,40\n");
    assert!(!passed && v["verdict"] == "fail", "{v}");
    assert_eq!(v["findings"][0]["check"], "threshold", "{v}");
    assert_eq!(v["findings"][0]["rule"], "R33-disclosure", "{v}");
    assert_eq!(v["findings"][0]["cells"][0]["value"], 3, "{v}");
    let (passed, v) = check(
        "ids.csv",
        "sample_id,cancer_type,patients\nJCGP-000001-T1,LUAD,30\nJCGP-000002-T1,COAD,40\n",
    );
    assert!(!passed, "{v}");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "identifier" && f["cells"][0]["column"] == "sample_id"),
        "{v}"
    );
    let (passed, v) = check("dates.csv", "diagnosed_on,patients\n2026-05-11,30\n");
    assert!(!passed && v["findings"][0]["check"] == "date", "{v}");
    let (passed, v) = check("safe.csv", "cancer_type,patients\nLUAD,30\nCOAD,40\n");
    assert!(passed && v["verdict"] == "pass", "{v}");
    // A malformed file names its record.
    let path = dir.path().join("ragged.csv");
    std::fs::write(&path, "a,b\n1,2\n3\n").expect("csv");
    let out = workbench(&["export", "check", path.to_str().expect("utf-8"), "--json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("record 3"), "{stderr}");
}

#[test]
fn a_suppressed_cell_cannot_be_recovered_from_a_total_as_acros_can() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = vec![vec!["patient".into(), "cancer_type".into(), "sex".into()]];
    let groups = [
        ("LUAD", "F", 30),
        ("LUAD", "M", 3),
        ("COAD", "F", 25),
        ("COAD", "M", 40),
        ("STAD", "F", 18),
        ("STAD", "M", 22),
    ];
    for (t, s, n) in groups {
        for _ in 0..n {
            rows.push(vec![format!("P{:04}", rows.len()), t.into(), s.into()]);
        }
    }
    let data = csv(dir.path(), "types.csv", &rows);
    let patients = (rows.len() - 1) as f64;
    // ACRO suppresses the 3 and recomputes the margins without it: the programme's
    // published number of patients minus ACRO's grand total gives the 3 back.
    let acro = python(
        "acro_tables.py",
        &[
            Path::new("--suppressed"),
            &data,
            Path::new("cancer_type"),
            Path::new("sex"),
        ],
    );
    assert_eq!(acro["LUAD"]["M"], Value::Null, "{acro}");
    let recovered = patients - acro["All"]["All"].as_f64().expect("total");
    assert_eq!(recovered, 3.0, "ACRO's table: {acro}");
    // Ours: the small cell and enough others so that no row or column holds a single
    // suppressed cell; the margins are the true totals; the safe table passes.
    let spec = json!({"index": "cancer_type", "columns": "sex", "agg": "count"});
    let (passed, t) = table(&data, &spec, Some("patient"), &["--margins", "--suppress"]);
    assert!(passed && t["verdict"] == "pass", "{t}");
    assert_eq!(cell(&t, "LUAD", "M")["suppressed"], "primary", "{t}");
    assert_eq!(cell(&t, "All", "All")["value"], patients, "{t}");
    let inner: Vec<&Value> = t["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["index"][0] != "All" && c["column"] != "All")
        .collect();
    for (key, pick) in [("index", 0usize), ("column", 1)] {
        let mut lines: std::collections::BTreeMap<String, usize> = Default::default();
        for c in &inner {
            // The line along the other dimension.
            let other = if pick == 0 {
                c["column"].to_string()
            } else {
                c["index"].to_string()
            };
            let hidden = usize::from(c["value"].is_null());
            *lines.entry(other).or_default() += hidden;
        }
        for (line, hidden) in lines {
            assert_ne!(
                hidden, 1,
                "{key} line {line} holds one suppressed cell: {t}"
            );
        }
    }
    let secondary = inner
        .iter()
        .filter(|c| c["suppressed"] == "secondary")
        .count();
    assert_eq!(t["changes"]["secondary"], secondary, "{t}");
    assert!(secondary >= 1, "{t}");
}

#[test]
fn a_survival_table_shows_its_curves_until_the_risk_set_is_small_where_acro_refuses_it_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 150 patients in group A, 6 in B; times and events from a fixed generator.
    let mut state: u64 = 20_261_204;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 33) as f64 / f64::from(1u32 << 31)
    };
    let mut rows = vec![vec![
        "patient".to_owned(),
        "group".to_owned(),
        "time".to_owned(),
        "event".to_owned(),
    ]];
    for (group, n) in [("A", 150), ("B", 6)] {
        for _ in 0..n {
            let time = (1.0 + next() * 60.0).round();
            let event = u8::from(next() < 0.7);
            rows.push(vec![
                format!("P{:04}", rows.len()),
                group.into(),
                format!("{time}"),
                event.to_string(),
            ]);
        }
    }
    let data = csv(dir.path(), "survival.csv", &rows);
    let out = workbench(&[
        "export",
        "survival",
        "--data",
        data.to_str().expect("utf-8"),
        "--time",
        "time",
        "--event",
        "event",
        "--group",
        "group",
        "--person",
        "patient",
        "--json",
    ]);
    let t: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(out.status.success() && t["verdict"] == "pass", "{t}");
    let shown = t["rows"].as_array().expect("rows");
    assert!(!shown.is_empty());
    // No step with fewer than ten at risk; group B not shown at all; A's tail cut.
    assert!(
        shown.iter().all(|r| r["at_risk"].as_u64() >= Some(10)),
        "{t}"
    );
    assert!(shown.iter().all(|r| r["group"] == "A"), "{t}");
    let a = &t["groups"][0];
    assert!(a["cut"].as_u64() > Some(0), "{t}");
    assert_eq!(t["groups"][1]["patients"], Value::Null, "{t}");
    // The shown survival is lifelines' at the same times; ACRO refuses the table whatever
    // its risk sets.
    let reference = python("acro_tables.py", &[Path::new("--survival"), &data]);
    assert_eq!(reference["acro_status"], "fail", "{reference}");
    for r in shown {
        let time = r["time"].as_f64().expect("time");
        let theirs = reference["km"]["A"][format!("{time:?}")]
            .as_f64()
            .unwrap_or_else(|| panic!("lifelines has no step at {time}: {reference}"));
        let ours = r["survival"].as_f64().expect("survival");
        assert!(
            (ours - theirs).abs() < 1e-12,
            "t={time}: ours {ours}, lifelines {theirs}"
        );
    }
}

/// `workbench export model … --json` on `csv`, with the exit status.
fn model(csv: &Path, y: &str, x: &str, person: Option<&str>) -> (bool, Value) {
    let mut args = vec![
        "export",
        "model",
        "--data",
        csv.to_str().expect("utf-8"),
        "--y",
        y,
        "--x",
        x,
        "--json",
    ];
    if let Some(p) = person {
        args.extend(["--person", p]);
    }
    let out = workbench(&args);
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "workbench {args:?}: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), parsed)
}

#[test]
fn model_summaries_agree_with_acro_and_statsmodels_and_count_degrees_of_freedom_in_patients() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Rows of distinct patients: age and a dose, an outcome with noise from a fixed
    // sequence (no random generator shared with Python is needed).
    let rows = |n: usize, patients: usize| -> Vec<Vec<String>> {
        let mut rows = vec![vec![
            "patient".into(),
            "age".into(),
            "dose".into(),
            "y".into(),
        ]];
        for i in 0..n {
            let age = 40.0 + (i * 7 % 31) as f64;
            let dose = 1.0 + (i * 3 % 11) as f64 / 2.0;
            let noise = ((i * 37 % 17) as f64 - 8.0) / 3.0;
            rows.push(vec![
                format!("P{}", i % patients),
                format!("{age}"),
                format!("{dose}"),
                format!("{}", 0.8 * age - 2.5 * dose + noise),
            ]);
        }
        rows
    };
    // 13 rows and 3 parameters leave 10 degrees of freedom: both pass; 12 leave 9: both
    // fail. Coefficients, standard errors and p-values are statsmodels'.
    for (n, verdict) in [(13, "pass"), (12, "fail"), (60, "pass")] {
        let data = csv(dir.path(), &format!("m{n}.csv"), &rows(n, n));
        let acro = python(
            "acro_models.py",
            &[&data, Path::new("y"), Path::new("age,dose")],
        );
        let (passed, ours) = model(&data, "y", "age,dose", Some("patient"));
        assert_eq!(acro["status"], verdict, "ACRO at {n} rows: {acro}");
        assert_eq!(ours["verdict"], verdict, "ours at {n} rows: {ours}");
        assert_eq!(passed, verdict == "pass");
        assert_eq!(ours["dof_resid"].as_f64(), acro["dof"].as_f64(), "{ours}");
        assert_eq!(ours["dof_rows"].as_f64(), acro["dof"].as_f64(), "{ours}");
        for term in ours["terms"].as_array().expect("terms") {
            let theirs = &acro["terms"][term["name"].as_str().expect("name")];
            for key in ["estimate", "std_error", "p_value"] {
                let (a, b) = (
                    term[key].as_f64().expect("ours"),
                    theirs[key].as_f64().expect("statsmodels"),
                );
                assert!(
                    (a - b).abs() <= 1e-7 * b.abs().max(1e-12),
                    "{n} rows, {} {key}: ours {a}, statsmodels {b}",
                    term["name"]
                );
            }
        }
    }
    // Stricter than ACRO: 40 rows of 8 patients pass ACRO (37 degrees of freedom in
    // rows) and fail ours (5 in patients).
    let repeated = csv(dir.path(), "repeated.csv", &rows(40, 8));
    let acro = python(
        "acro_models.py",
        &[&repeated, Path::new("y"), Path::new("age,dose")],
    );
    assert_eq!(acro["status"], "pass", "{acro}");
    let (passed, ours) = model(&repeated, "y", "age,dose", Some("patient"));
    assert!(!passed, "{ours}");
    assert_eq!(ours["dof_resid"], 5, "{ours}");
    assert!(
        ours["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["check"] == "dof"),
        "{ours}"
    );
    // Stricter than ACRO: an indicator marking 4 of 30 patients (its coefficient is
    // their mean's contrast with the rest) passes ACRO and fails ours.
    let mut marked = rows(30, 30);
    marked[0].push("smoker".into());
    for (i, row) in marked.iter_mut().skip(1).enumerate() {
        row.push(if i < 4 { "1".into() } else { "0".into() });
    }
    let marked = csv(dir.path(), "marked.csv", &marked);
    let acro = python(
        "acro_models.py",
        &[&marked, Path::new("y"), Path::new("age,smoker")],
    );
    assert_eq!(acro["status"], "pass", "{acro}");
    let (passed, ours) = model(&marked, "y", "age,smoker", Some("patient"));
    assert!(!passed, "{ours}");
    let found = ours["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "threshold")
        .unwrap_or_else(|| panic!("no threshold finding: {ours}"));
    assert_eq!(found["cells"][0]["term"], "smoker", "{ours}");
    assert_eq!(found["cells"][0]["patients_1"], 4, "{ours}");
    // A column that is not a number is named with its row.
    let bad = csv(
        dir.path(),
        "bad.csv",
        &[
            vec!["age".into(), "y".into()],
            vec!["40".into(), "1".into()],
            vec!["forty".into(), "2".into()],
        ],
    );
    let out = workbench(&[
        "export",
        "model",
        "--data",
        bad.to_str().expect("utf-8"),
        "--y",
        "y",
        "--x",
        "age",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"age\"") && stderr.contains("row 2"),
        "{stderr}"
    );
}
