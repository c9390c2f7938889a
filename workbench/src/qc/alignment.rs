//! BAM QC: the counts of `samtools flagstat` and the bases after duplicate removal (R5).
//!
//! Records are counted exactly as samtools 1.16 counts them, separately for QC-passed and
//! QC-failed (flag 0x200) reads: secondary and supplementary records are counted but are
//! not primary; pairing, mapping of the mate and "different chromosome" are judged on
//! primary records only; a mapping quality of 255 (unavailable) counts as ≥ 5, as in
//! samtools. Bases after duplicate removal are the stored bases of primary, non-duplicate,
//! QC-passed records: the volume R5 sets at 90 (normal) and 360 (tumour) Gbases.
//! Depth and breadth (mosdepth's territory) are not built yet.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Why a BAM file cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, or its header read.
    #[error("{}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be decoded (a truncated or corrupt file).
    #[error("{}: record {record}: {source}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// 1-based record number.
        record: u64,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The flagstat counts of one QC class (passed or failed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flagstat {
    /// All records.
    pub total: u64,
    /// Neither secondary nor supplementary.
    pub primary: u64,
    /// Secondary alignments (0x100).
    pub secondary: u64,
    /// Supplementary alignments (0x800).
    pub supplementary: u64,
    /// Duplicates (0x400), any record.
    pub duplicates: u64,
    /// Primary duplicates.
    pub primary_duplicates: u64,
    /// Mapped records, any.
    pub mapped: u64,
    /// Mapped primary records.
    pub primary_mapped: u64,
    /// Primary records flagged paired (0x1).
    pub paired_in_sequencing: u64,
    /// Primary first segments.
    pub read1: u64,
    /// Primary last segments.
    pub read2: u64,
    /// Primary, mapped, properly paired (0x2).
    pub properly_paired: u64,
    /// Primary paired records with both mates mapped.
    pub with_itself_and_mate_mapped: u64,
    /// Primary paired records mapped whose mate is not.
    pub singletons: u64,
    /// Both mapped, mate on another reference sequence.
    pub with_mate_mapped_to_a_different_chr: u64,
    /// The same with mapping quality ≥ 5.
    pub with_mate_mapped_to_a_different_chr_mapq5: u64,
}

/// QC of one BAM file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BamStats {
    /// The file.
    pub path: PathBuf,
    /// Counts of QC-passed records.
    pub qc_passed: Flagstat,
    /// Counts of QC-failed records.
    pub qc_failed: Flagstat,
    /// Stored bases of primary, QC-passed records.
    pub primary_bases: u64,
    /// Stored bases of primary, non-duplicate, QC-passed records.
    pub dedup_bases: u64,
}

impl BamStats {
    /// `{"schema": "workbench.qc.bam/1", …}` with the counts and bases.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "schema": "workbench.qc.bam/1",
            "path": self.path,
            "flagstat": {"qc_passed": self.qc_passed, "qc_failed": self.qc_failed},
            "primary_bases": self.primary_bases,
            "dedup_bases": self.dedup_bases,
        })
    }
}

/// Reads every record of `path` and counts.
///
/// # Errors
///
/// [`Error::Open`] for a missing or non-BAM file, [`Error::Record`] naming the record
/// that could not be decoded.
pub fn measure(path: &Path) -> Result<BamStats, Error> {
    let open = |source| Error::Open {
        path: path.to_owned(),
        source,
    };
    let mut reader = noodles_bam::io::reader::Builder
        .build_from_path(path)
        .map_err(open)?;
    reader.read_header().map_err(open)?;
    let mut stats = BamStats {
        path: path.to_owned(),
        ..Default::default()
    };
    for (i, result) in reader.records().enumerate() {
        let failed = |source| Error::Record {
            path: path.to_owned(),
            record: i as u64 + 1,
            source,
        };
        let record = result.map_err(failed)?;
        let flags = record.flags();
        let s = if flags.is_qc_fail() {
            &mut stats.qc_failed
        } else {
            &mut stats.qc_passed
        };
        s.total += 1;
        let mapped = !flags.is_unmapped();
        let primary = !flags.is_secondary() && !flags.is_supplementary();
        if flags.is_secondary() {
            s.secondary += 1;
        } else if flags.is_supplementary() {
            s.supplementary += 1;
        } else {
            s.primary += 1;
            if flags.is_segmented() {
                s.paired_in_sequencing += 1;
                if flags.is_properly_segmented() && mapped {
                    s.properly_paired += 1;
                }
                if flags.is_first_segment() {
                    s.read1 += 1;
                }
                if flags.is_last_segment() {
                    s.read2 += 1;
                }
                if flags.is_mate_unmapped() && mapped {
                    s.singletons += 1;
                }
                if mapped && !flags.is_mate_unmapped() {
                    s.with_itself_and_mate_mapped += 1;
                    let tid = record.reference_sequence_id().transpose().map_err(failed)?;
                    let mtid = record
                        .mate_reference_sequence_id()
                        .transpose()
                        .map_err(failed)?;
                    if tid != mtid {
                        s.with_mate_mapped_to_a_different_chr += 1;
                        // samtools compares the raw byte: 255 (unavailable) counts as ≥ 5.
                        if record.mapping_quality().map_or(255, u8::from) >= 5 {
                            s.with_mate_mapped_to_a_different_chr_mapq5 += 1;
                        }
                    }
                }
            }
            if mapped {
                s.primary_mapped += 1;
            }
            if flags.is_duplicate() {
                s.primary_duplicates += 1;
            }
        }
        if mapped {
            s.mapped += 1;
        }
        if flags.is_duplicate() {
            s.duplicates += 1;
        }
        if primary && !flags.is_qc_fail() {
            let bases = record.sequence().len() as u64;
            stats.primary_bases += bases;
            if !flags.is_duplicate() {
                stats.dedup_bases += bases;
            }
        }
    }
    Ok(stats)
}
