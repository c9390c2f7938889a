//! The sequencing contract (R4, R5): rules, configurable thresholds and per-sample verdicts.
//!
//! Each rule has a stable id (`R5-Q30`, `R5-Q20`, `R5-DEDUP`, `R4-DEPTH`, `R4-RNA-READS`), the
//! measured value, the threshold and a status. A rule whose measure is not available (no
//! BAM yet, say) is `not_measured`, never silently passed. Small-specimen contracts (R5's
//! "methods and data-volume conditions of their own") are a [`Contract`] read from JSON with
//! only the changed thresholds.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Thresholds of the contract; the defaults are R4 and R5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Contract {
    /// Smallest fraction of bases with QV ≥ 30 (R5: 0.75).
    pub min_q30_fraction: f64,
    /// Smallest fraction of bases with QV ≥ 20 (R5: 0.90).
    pub min_q20_fraction: f64,
    /// Smallest bases after duplicate removal of a normal, in Gbases (R5: 90).
    pub min_dedup_gbases_normal: f64,
    /// Smallest bases after duplicate removal of a tumour, in Gbases (R5: 360).
    pub min_dedup_gbases_tumour: f64,
    /// Smallest mean depth of a tumour WGS (R4: 120x).
    pub min_depth_tumour: f64,
    /// Smallest mean depth of a normal WGS (R4: 30x).
    pub min_depth_normal: f64,
    /// Smallest number of RNA-seq reads (R4: 20 million).
    pub min_rna_reads: f64,
}

impl Default for Contract {
    fn default() -> Self {
        Contract {
            min_q30_fraction: 0.75,
            min_q20_fraction: 0.90,
            min_dedup_gbases_normal: 90.0,
            min_dedup_gbases_tumour: 360.0,
            min_depth_tumour: 120.0,
            min_depth_normal: 30.0,
            min_rna_reads: 20_000_000.0,
        }
    }
}

/// Why a contract file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable or not a contract.
    #[error("contract {}: {detail}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A threshold that cannot be met or makes no sense.
    #[error("contract {}: {field} = {value} is not a valid threshold ({why})", path.display())]
    Threshold {
        /// The file.
        path: std::path::PathBuf,
        /// The field.
        field: &'static str,
        /// Its value.
        value: f64,
        /// The valid range.
        why: &'static str,
    },
}

impl Contract {
    /// Reads a contract from JSON; absent fields keep R4/R5's values.
    ///
    /// # Errors
    ///
    /// [`Error::File`] for an unreadable file, bad JSON or an unknown field;
    /// [`Error::Threshold`] for a negative, non-finite or above-1 fraction.
    pub fn from_file(path: &Path) -> Result<Contract, Error> {
        let failed = |detail: String| Error::File {
            path: path.to_owned(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let contract: Contract = serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
        for (field, value, fraction) in [
            ("min_q30_fraction", contract.min_q30_fraction, true),
            ("min_q20_fraction", contract.min_q20_fraction, true),
            (
                "min_dedup_gbases_normal",
                contract.min_dedup_gbases_normal,
                false,
            ),
            (
                "min_dedup_gbases_tumour",
                contract.min_dedup_gbases_tumour,
                false,
            ),
            ("min_depth_tumour", contract.min_depth_tumour, false),
            ("min_depth_normal", contract.min_depth_normal, false),
            ("min_rna_reads", contract.min_rna_reads, false),
        ] {
            let ok = value.is_finite() && value >= 0.0 && (!fraction || value <= 1.0);
            if !ok {
                return Err(Error::Threshold {
                    path: path.to_owned(),
                    field,
                    value,
                    why: if fraction {
                        "a fraction between 0 and 1"
                    } else {
                        "zero or more"
                    },
                });
            }
        }
        Ok(contract)
    }
}

/// What was sequenced: the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleKind {
    /// Tumour WGS.
    Tumour,
    /// Normal (germline) WGS.
    Normal,
    /// Tumour RNA-seq.
    Rna,
}

impl SampleKind {
    /// Parses `tumour`/`tumor`, `normal`, `rna`.
    pub fn parse(value: &str) -> Option<SampleKind> {
        match value.to_ascii_lowercase().as_str() {
            "tumour" | "tumor" => Some(SampleKind::Tumour),
            "normal" => Some(SampleKind::Normal),
            "rna" | "rna-seq" => Some(SampleKind::Rna),
            _ => None,
        }
    }
}

/// What was measured of a sample; absent values leave their rules unjudged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    /// Fraction of bases with QV ≥ 20 (FASTQ).
    pub q20_fraction: Option<f64>,
    /// Fraction of bases with QV ≥ 30 (FASTQ).
    pub q30_fraction: Option<f64>,
    /// Reads (RNA-seq: read 1 records, that is fragments).
    pub reads: Option<u64>,
    /// Bases after duplicate removal (BAM).
    pub dedup_bases: Option<u64>,
    /// Mean depth over the genome or target (BAM).
    pub mean_depth: Option<f64>,
}

/// The outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The measure meets the threshold.
    Pass,
    /// It does not.
    Fail,
    /// The measure is not available.
    NotMeasured,
}

impl Status {
    /// `pass`, `fail` or `not_measured`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotMeasured => "not_measured",
        }
    }
}

/// One rule judged for one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Stable rule id (`R5-Q30`…).
    pub rule: &'static str,
    /// The rule in words.
    pub description: &'static str,
    /// The measured value, in `unit`.
    pub measured: Option<f64>,
    /// The threshold (the measure must be at least this), in `unit`.
    pub threshold: f64,
    /// Unit of measure and threshold.
    pub unit: &'static str,
    /// Pass, fail or not measured.
    pub status: Status,
}

/// Judges every rule that applies to a `kind` of sample.
pub fn judge(contract: &Contract, kind: SampleKind, measures: &Measures) -> Vec<Verdict> {
    let rule = |rule, description, measured: Option<f64>, threshold, unit| Verdict {
        rule,
        description,
        measured,
        threshold,
        unit,
        status: match measured {
            None => Status::NotMeasured,
            Some(m) if m >= threshold => Status::Pass,
            Some(_) => Status::Fail,
        },
    };
    let mut out = vec![
        rule(
            "R5-Q30",
            "fraction of bases with QV >= 30",
            measures.q30_fraction,
            contract.min_q30_fraction,
            "fraction",
        ),
        rule(
            "R5-Q20",
            "fraction of bases with QV >= 20",
            measures.q20_fraction,
            contract.min_q20_fraction,
            "fraction",
        ),
    ];
    let gbases = measures.dedup_bases.map(|b| b as f64 / 1e9);
    match kind {
        SampleKind::Tumour => {
            out.push(rule(
                "R5-DEDUP",
                "bases after duplicate removal (tumour)",
                gbases,
                contract.min_dedup_gbases_tumour,
                "Gbases",
            ));
            out.push(rule(
                "R4-DEPTH",
                "mean depth (tumour WGS)",
                measures.mean_depth,
                contract.min_depth_tumour,
                "x",
            ));
        }
        SampleKind::Normal => {
            out.push(rule(
                "R5-DEDUP",
                "bases after duplicate removal (normal)",
                gbases,
                contract.min_dedup_gbases_normal,
                "Gbases",
            ));
            out.push(rule(
                "R4-DEPTH",
                "mean depth (normal WGS)",
                measures.mean_depth,
                contract.min_depth_normal,
                "x",
            ));
        }
        SampleKind::Rna => out.push(rule(
            "R4-RNA-READS",
            "RNA-seq reads",
            measures.reads.map(|r| r as f64),
            contract.min_rna_reads,
            "reads",
        )),
    }
    out
}

/// The sample's overall result: `Some(true)` when every rule passed, `Some(false)` when
/// any failed, `None` when none failed but some were not measured.
pub fn overall(verdicts: &[Verdict]) -> Option<bool> {
    if verdicts.iter().any(|v| v.status == Status::Fail) {
        Some(false)
    } else if verdicts.iter().all(|v| v.status == Status::Pass) {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(verdicts: &[Verdict], rule: &str) -> Status {
        verdicts
            .iter()
            .find(|v| v.rule == rule)
            .map(|v| v.status)
            .expect("rule")
    }

    #[test]
    fn thresholds_are_inclusive_and_unmeasured_rules_are_not_passed() {
        let c = Contract::default();
        let m = Measures {
            q30_fraction: Some(0.75),
            q20_fraction: Some(0.8999),
            ..Default::default()
        };
        let v = judge(&c, SampleKind::Tumour, &m);
        assert_eq!(status(&v, "R5-Q30"), Status::Pass, "exactly 75 % passes");
        assert_eq!(status(&v, "R5-Q20"), Status::Fail);
        assert_eq!(status(&v, "R5-DEDUP"), Status::NotMeasured);
        assert_eq!(overall(&v), Some(false));
        let m = Measures {
            q30_fraction: Some(0.9),
            q20_fraction: Some(0.95),
            ..Default::default()
        };
        assert_eq!(overall(&judge(&c, SampleKind::Normal, &m)), None);
    }

    #[test]
    fn tumour_and_normal_differ_in_volume_and_depth() {
        let c = Contract::default();
        let m = Measures {
            q30_fraction: Some(0.9),
            q20_fraction: Some(0.95),
            dedup_bases: Some(100_000_000_000),
            mean_depth: Some(33.0),
            reads: None,
        };
        assert_eq!(overall(&judge(&c, SampleKind::Normal, &m)), Some(true));
        let tumour = judge(&c, SampleKind::Tumour, &m);
        assert_eq!(status(&tumour, "R5-DEDUP"), Status::Fail);
        assert_eq!(status(&tumour, "R4-DEPTH"), Status::Fail);
        let rna = judge(
            &c,
            SampleKind::Rna,
            &Measures {
                reads: Some(19_999_999),
                ..m
            },
        );
        assert_eq!(status(&rna, "R4-RNA-READS"), Status::Fail);
    }

    #[test]
    fn contract_files_override_and_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let small = dir.path().join("small.json");
        std::fs::write(&small, r#"{"min_dedup_gbases_tumour": 120}"#).expect("write");
        let c = Contract::from_file(&small).expect("contract");
        assert_eq!(c.min_dedup_gbases_tumour, 120.0);
        assert_eq!(c.min_q30_fraction, 0.75, "others keep R5's values");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"min_q30_fraction": 75}"#).expect("write");
        let err = Contract::from_file(&bad).expect_err("75 is not a fraction");
        assert!(err.to_string().contains("min_q30_fraction = 75"), "{err}");
        let unknown = dir.path().join("unknown.json");
        std::fs::write(&unknown, r#"{"min_q40_fraction": 0.5}"#).expect("write");
        let err = Contract::from_file(&unknown).expect_err("unknown field");
        assert!(err.to_string().contains("min_q40_fraction"), "{err}");
    }
}
