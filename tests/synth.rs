//! The synthetic programme through the CLI: determinism and what `lake describe` says.

use crate::support::{describe, files, python, workbench_ok};

#[test]
fn same_seed_gives_byte_identical_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (out, seed) in [(&a, "42"), (&b, "42"), (&c, "43")] {
        workbench_ok(&[
            "synth",
            "--cases",
            "400",
            "--seed",
            seed,
            "--out",
            out.to_str().expect("utf-8"),
        ]);
    }
    let listed = files(&a);
    assert_eq!(listed, files(&b));
    assert!(listed.iter().any(|p| p.ends_with("registrations.parquet")));
    assert!(
        listed
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "gz"))
    );
    for path in &listed {
        let (x, y) = (
            std::fs::read(a.join(path)).expect("read"),
            std::fs::read(b.join(path)).expect("read"),
        );
        assert!(
            x == y,
            "{} differs between two runs with the same seed",
            path.display()
        );
    }
    let registrations = "lake/registrations.parquet";
    assert_ne!(
        std::fs::read(a.join(registrations)).expect("read"),
        std::fs::read(c.join(registrations)).expect("read"),
        "a different seed must give different data"
    );
}

#[test]
fn describe_matches_an_independent_parquet_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("p");
    workbench_ok(&[
        "synth",
        "--cases",
        "300",
        "--seed",
        "5",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let described = describe(&out);
    let independent = python("parquet_shapes.py", &[&out.join("lake")]);
    let tables = described["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), 12);
    for table in tables {
        let file = table["file"].as_str().expect("file");
        let truth = &independent[file];
        // describe counts the rows consent lets the use see.
        assert_eq!(table["rows"], truth["visible_rows"], "{file}");
        let names: Vec<&str> = table["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        let truth_names: Vec<&str> = truth["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c.as_str().expect("name"))
            .collect();
        assert_eq!(names, truth_names, "{file}");
    }
    let registrations = tables
        .iter()
        .find(|t| t["name"] == "registrations")
        .expect("registrations");
    // 300 registered; the few the synthetic programme withdrew are withheld (R31).
    let stored = &independent["registrations.parquet"];
    assert_eq!(stored["rows"], 300);
    assert!(
        registrations["rows"].as_u64() < Some(300),
        "{registrations}"
    );
    let columns: Vec<&str> = registrations["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    for required in ["case_id", "institution", "cancer_type", "registered_on"] {
        assert!(columns.contains(&required), "{required}");
    }
    let date = registrations["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "registered_on")
        .expect("column");
    assert_eq!(date["dtype"], "date");
    // Keys between tables hold in the written files, checked by pyarrow.
    let keys = python("lake_keys.py", &[&out.join("lake")]);
    assert_eq!(keys["dangling"], serde_json::json!({}), "{keys}");
}
