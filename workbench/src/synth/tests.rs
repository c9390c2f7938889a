//! Tests of the synthetic programme: determinism, validity and realism.

use std::collections::HashMap;

use super::*;
use crate::vocab::is_protein_altering;

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = generate(&Config::new(300, 7));
    let b = generate(&Config::new(300, 7));
    let c = generate(&Config::new(300, 8));
    assert_eq!(a, b);
    assert_ne!(a.registrations, c.registrations);
}

#[test]
fn more_cases_only_appends() {
    let small = generate(&Config::new(50, 3));
    let large = generate(&Config::new(80, 3));
    assert_eq!(small.registrations[..], large.registrations[..50]);
}

#[test]
fn generated_programme_passes_lake_validation() {
    let dataset = generate(&Config::new(2000, 11));
    dataset.validate().expect("synthetic data is valid");
    for table in crate::lake::Table::ALL {
        assert!(dataset.rows(table) > 0, "table {} is empty", table.name());
    }
}

#[test]
fn programme_is_realistic() {
    let dataset = generate(&Config::new(10_000, 1));
    let cancer_of: HashMap<&str, &str> = dataset
        .registrations
        .iter()
        .map(|r| (r.case_id.as_str(), r.cancer_type.as_str()))
        .collect();

    // Japanese lung adenocarcinoma: EGFR in about 45 % of tumours, exclusive with KRAS.
    let mut luad_tumours = HashMap::<&str, (bool, bool)>::new();
    for sample in dataset
        .samples
        .iter()
        .filter(|s| s.sample_id.ends_with("-T1") && s.delivered_on.is_some())
    {
        if cancer_of[sample.case_id.as_str()] == "LUAD" {
            luad_tumours.insert(&sample.sample_id, (false, false));
        }
    }
    for v in &dataset.somatic_variants {
        if let Some(flags) = luad_tumours.get_mut(v.tumor_sample_barcode.as_str())
            && is_protein_altering(&v.variant_classification)
        {
            flags.0 |= v.hugo_symbol == "EGFR";
            flags.1 |= v.hugo_symbol == "KRAS";
        }
    }
    let n = luad_tumours.len() as f64;
    let egfr = luad_tumours.values().filter(|f| f.0).count() as f64 / n;
    assert!(
        n > 500.0 && (0.38..0.56).contains(&egfr),
        "EGFR in LUAD {egfr} over {n}"
    );

    // Every common cancer type crosses 100 registrations, on different dates; at least
    // one rare cancer never does.
    let mut by_type: HashMap<&str, Vec<chrono::NaiveDate>> = HashMap::new();
    for r in &dataset.registrations {
        by_type
            .entry(r.cancer_type.as_str())
            .or_default()
            .push(r.registered_on);
    }
    let mut crossings = Vec::new();
    for dates in by_type.values_mut() {
        dates.sort();
        if dates.len() >= 100 {
            crossings.push(dates[99]);
        }
    }
    crossings.sort();
    crossings.dedup();
    assert!(crossings.len() >= 15, "{crossings:?}");
    assert!(by_type.values().any(|d| d.len() < 100));

    // Some specimens break the R2 freezing rule, most do not.
    let tissue: Vec<_> = dataset
        .specimens
        .iter()
        .filter_map(|s| Some((s.minutes_to_freeze?, s.kept_at_4c?)))
        .collect();
    let violations = tissue
        .iter()
        .filter(|(m, cold)| *m > 180 || (*m > 30 && !cold))
        .count() as f64
        / tissue.len() as f64;
    assert!(
        (0.01..0.15).contains(&violations),
        "R2 violations {violations}"
    );

    // Some tumours miss the R5 yield (360 Gbases after dedup), some miss Q30 ≥ 75 %.
    let tumour_qc: Vec<_> = dataset
        .sequencing_qc
        .iter()
        .filter(|q| q.sample_id.contains("-T"))
        .collect();
    let low_yield = tumour_qc
        .iter()
        .filter(|q| q.dedup_bases < 360_000_000_000)
        .count();
    let low_q30 = dataset
        .sequencing_qc
        .iter()
        .filter(|q| (q.q30_bases as f64) < 0.75 * q.total_bases as f64)
        .count();
    assert!(
        low_yield > 0 && low_yield < tumour_qc.len() / 2,
        "{low_yield}"
    );
    assert!(
        low_q30 > 0 && low_q30 < dataset.sequencing_qc.len() / 10,
        "{low_q30}"
    );

    // Withdrawals exist; grade ≥3 adverse events follow regimens.
    assert!(
        dataset
            .cases
            .iter()
            .any(|c| c.consent_withdrawn_on.is_some())
    );
    let folfirinox_cases: Vec<&str> = dataset
        .treatments
        .iter()
        .filter(|t| t.regimen == "FOLFIRINOX")
        .map(|t| t.case_id.as_str())
        .collect();
    let neutropenia = dataset
        .adverse_events
        .iter()
        .filter(|a| {
            a.term == "Neutrophil count decreased" && folfirinox_cases.contains(&a.case_id.as_str())
        })
        .count();
    assert!(
        neutropenia > folfirinox_cases.len() / 5,
        "{neutropenia} of {}",
        folfirinox_cases.len()
    );
}

#[test]
fn raw_reads_come_from_the_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(20, 5);
    config.raw_pairs = 200;
    let summary = write(&config, dir.path()).expect("write");
    assert_eq!(summary.raw.len(), 6);
    let reference = fastq::reference();
    let text = std::io::read_to_string(flate2::read::GzDecoder::new(
        std::fs::File::open(&summary.raw[1].r1).expect("open"),
    ))
    .expect("gzip");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 200 * 4);
    // Most reads match the reference exactly on one strand (errors and SNVs aside).
    let reverse: Vec<u8> = reference
        .iter()
        .rev()
        .map(|&b| fastq_complement(b))
        .collect();
    let found = lines
        .iter()
        .skip(1)
        .step_by(4)
        .filter(|seq| {
            let probe = &seq.as_bytes()[..30];
            reference.windows(30).any(|w| w == probe) || reverse.windows(30).any(|w| w == probe)
        })
        .count();
    assert!(found > 150, "{found}");
}

fn fastq_complement(b: u8) -> u8 {
    match b {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        _ => b'A',
    }
}
