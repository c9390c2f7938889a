//! BAM QC: the counts of `samtools flagstat` and the bases after duplicate removal (R5).
//!
//! Records are counted exactly as samtools 1.16 counts them, separately for QC-passed and
//! QC-failed (flag 0x200) reads: secondary and supplementary records are counted but are
//! not primary; pairing, mapping of the mate and "different chromosome" are judged on
//! primary records only; a mapping quality of 255 (unavailable) counts as ≥ 5, as in
//! samtools. Bases after duplicate removal are the stored bases of primary, non-duplicate,
//! QC-passed records: the volume R5 sets at 90 (normal) and 360 (tumour) Gbases.
//!
//! The same pass measures insert sizes and, for a coordinate-sorted and indexed file, the
//! depth of coverage of [`super::depth`]. BGZF blocks are inflated on worker threads while
//! this thread decodes records, so the pass runs at the speed of decompression.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::depth::{self, Alignment, BedError, Depth};

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
    /// Depth needs an index next to the file (`samtools index`).
    #[error(
        "{}: no index (.bai or .csi) next to the file; depth needs a sorted, indexed BAM: run `samtools index {}`, or measure counts only",
        path.display(),
        path.display()
    )]
    MissingIndex {
        /// The BAM file.
        path: PathBuf,
    },
    /// The index cannot be read or is not of this file.
    #[error("{}: {reason}", index.display())]
    Index {
        /// The index file.
        index: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Depth needs records sorted by coordinate.
    #[error(
        "{}: record {record} ({here}) comes after {before}: the file is not sorted by coordinate; run `samtools sort`, or measure counts only",
        path.display()
    )]
    Unsorted {
        /// The BAM file.
        path: PathBuf,
        /// 1-based record number.
        record: u64,
        /// The record's position.
        here: String,
        /// The previous record's position.
        before: String,
    },
    /// The BED file of regions.
    #[error(transparent)]
    Bed(#[from] BedError),
    /// A CRAM file is decoded against its reference.
    #[error(
        "{}: a CRAM file; give its reference FASTA (with .fai) to decode it (--reference)",
        path.display()
    )]
    NeedsReference {
        /// The CRAM file.
        path: PathBuf,
    },
    /// The reference FASTA or its index cannot be read.
    #[error("{}: {source} (a FASTA with a .fai index from `samtools faidx`)", path.display())]
    Reference {
        /// The FASTA file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The depth counters a record needs could not be allocated: a record (or header)
    /// claims a sequence longer than memory allows (4 bytes per position up to the
    /// furthest one a record reaches).
    #[error(
        "{}: record {record} at {place} reaches further than memory allows for depth counters (4 bytes per position); measure counts only (--no-depth)",
        path.display()
    )]
    Memory {
        /// The BAM or CRAM file.
        path: PathBuf,
        /// 1-based record number.
        record: u64,
        /// The record's sequence and 1-based position.
        place: String,
    },
    /// The notebook cell was interrupted (see [`crate::interrupt`]).
    #[error("{}: interrupted after {records} records", path.display())]
    Interrupted {
        /// The file.
        path: PathBuf,
        /// Records read before the interrupt.
        records: u64,
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

/// Insert sizes of read pairs: |TLEN| of the last segment of each primary, QC-passed,
/// non-duplicate pair with both mates mapped to one reference sequence (TLEN ≠ 0), so each
/// pair counts once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InsertSizes {
    /// Pairs counted at each size up to 100,000 (index = size).
    pub histogram: Vec<u64>,
    /// Pairs longer than 100,000 (chimeric or structural); outside the summaries.
    pub longer: u64,
}

const INSERT_CAP: usize = 100_000;

impl InsertSizes {
    fn add(&mut self, size: u64) {
        let size = size as usize;
        if size > INSERT_CAP {
            self.longer += 1;
            return;
        }
        if size >= self.histogram.len() {
            self.histogram.resize(size + 1, 0);
        }
        self.histogram[size] += 1;
    }

    /// Pairs in the histogram.
    pub fn pairs(&self) -> u64 {
        self.histogram.iter().sum()
    }

    /// Mean size.
    pub fn mean(&self) -> Option<f64> {
        let n = self.pairs();
        (n > 0).then(|| {
            self.histogram
                .iter()
                .enumerate()
                .map(|(s, c)| s as f64 * *c as f64)
                .sum::<f64>()
                / n as f64
        })
    }

    /// Population standard deviation.
    pub fn sd(&self) -> Option<f64> {
        let n = self.pairs() as f64;
        let mean = self.mean()?;
        let ss: f64 = self
            .histogram
            .iter()
            .enumerate()
            .map(|(s, c)| (s as f64 - mean).powi(2) * *c as f64)
            .sum();
        Some((ss / n).sqrt())
    }

    /// The smallest size with at least `q` of the pairs at or below it (`q` in 0..=1).
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n = self.pairs();
        if n == 0 {
            return None;
        }
        let want = ((q * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (size, c) in self.histogram.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Some(size as u64);
            }
        }
        None
    }

    fn to_json(&self) -> serde_json::Value {
        let sparse: Vec<[u64; 2]> = self
            .histogram
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(s, c)| [s as u64, *c])
            .collect();
        serde_json::json!({
            "pairs": self.pairs(),
            "longer_than_100000": self.longer,
            "mean": self.mean(),
            "sd": self.sd(),
            "median": self.quantile(0.5),
            "p05": self.quantile(0.05),
            "p95": self.quantile(0.95),
            "histogram": sparse,
        })
    }
}

/// QC of one BAM file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
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
    /// Insert sizes of proper pairs.
    pub insert_sizes: InsertSizes,
    /// Depth of coverage, when asked for.
    pub depth: Option<depth::Stats>,
}

impl Stats {
    /// `{"schema": "workbench.qc.bam/1", …}` with the counts, bases, insert sizes and depth.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "schema": "workbench.qc.bam/1",
            "path": self.path,
            "flagstat": {"qc_passed": self.qc_passed, "qc_failed": self.qc_failed},
            "primary_bases": self.primary_bases,
            "dedup_bases": self.dedup_bases,
            "insert_size": self.insert_sizes.to_json(),
            "depth": self.depth.as_ref().map(depth::Stats::to_json),
        })
    }
}

/// Counts, bases and insert sizes of `path`, without depth (any order, no index needed).
///
/// # Errors
///
/// [`Error::Open`] for a missing or non-BAM file, [`Error::Record`] naming the record
/// that could not be decoded.
pub fn measure(path: &Path) -> Result<Stats, Error> {
    measure_with(path, None)
}

/// The index next to `path`: `X.bam.bai`, `X.bai`, `X.bam.csi` or `X.cram.crai`.
fn find_index(path: &Path) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    for ext in ["bai", "csi", "crai"] {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".{ext}"));
        candidates.push(PathBuf::from(s));
        candidates.push(path.with_extension(ext));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Checks that the index is readable and has the header's reference sequences.
fn check_index(path: &Path, references: usize) -> Result<(), Error> {
    let index = find_index(path).ok_or_else(|| Error::MissingIndex {
        path: path.to_owned(),
    })?;
    let bad = |reason: String| Error::Index {
        index: index.clone(),
        reason,
    };
    let unreadable = |e: std::io::Error| bad(format!("unreadable index: {e}"));
    let count = match index.extension().and_then(|e| e.to_str()) {
        Some("csi") => noodles_csi::fs::read(&index)
            .map_err(unreadable)?
            .reference_sequences()
            .len(),
        Some("crai") => {
            // A CRAM index lists slices, not sequences: every sequence it names must exist.
            let records = noodles_cram::crai::fs::read(&index).map_err(unreadable)?;
            let highest = records
                .iter()
                .filter_map(|r| r.reference_sequence_id())
                .max();
            match highest {
                Some(id) if id >= references => {
                    return Err(bad(format!(
                        "the index names reference sequence {id} and {} has {references}: it is not the index of this file",
                        path.display()
                    )));
                }
                _ => return Ok(()),
            }
        }
        _ => noodles_bam::bai::fs::read(&index)
            .map_err(unreadable)?
            .reference_sequences()
            .len(),
    };
    if count != references {
        return Err(bad(format!(
            "the index has {count} reference sequences and {} has {references}: it is not the index of this file (re-run `samtools index`)",
            path.display()
        )));
    }
    Ok(())
}

/// The fields of one record the pass needs, borrowed from a BAM record or a decoded CRAM
/// record.
struct View<'a> {
    flags: noodles_sam::alignment::record::Flags,
    tid: Option<usize>,
    mtid: Option<usize>,
    /// 0-based.
    pos: Option<u64>,
    /// 0-based.
    mate_pos: Option<u64>,
    mapq: Option<u8>,
    template_length: i32,
    sequence_length: usize,
    name: &'a [u8],
    /// Raw BAM CIGAR (`len << 4 | op`, little-endian).
    cigar: &'a [u8],
}

/// One pass over the records of a file.
struct Pass<'p> {
    path: &'p Path,
    references: Vec<(String, u64)>,
    stats: Stats,
    coverage: Option<Depth>,
    /// (reference id or "unplaced", 0-based position) of the previous record.
    previous: (usize, u64),
    records: u64,
}

impl<'p> Pass<'p> {
    fn new(
        path: &'p Path,
        references: Vec<(String, u64)>,
        depth: Option<&depth::Options>,
    ) -> Result<Self, Error> {
        let coverage = match depth {
            Some(options) => {
                check_index(path, references.len())?;
                Some(Depth::new(options.clone(), references.clone())?)
            }
            None => None,
        };
        Ok(Pass {
            path,
            references,
            stats: Stats {
                path: path.to_owned(),
                qc_passed: Flagstat::default(),
                qc_failed: Flagstat::default(),
                primary_bases: 0,
                dedup_bases: 0,
                insert_sizes: InsertSizes::default(),
                depth: None,
            },
            coverage,
            previous: (0, 0),
            records: 0,
        })
    }

    fn record_error(&self, source: std::io::Error) -> Error {
        Error::Record {
            path: self.path.to_owned(),
            record: self.records + 1,
            source,
        }
    }

    fn add(&mut self, v: &View<'_>) -> Result<(), Error> {
        self.records += 1;
        if self
            .records
            .is_multiple_of(crate::interrupt::RECORDS_BETWEEN_CHECKS)
            && crate::interrupt::requested()
        {
            return Err(Error::Interrupted {
                path: self.path.to_owned(),
                records: self.records,
            });
        }
        let flags = v.flags;
        let (tid, mtid) = (v.tid, v.mtid);
        let s = if flags.is_qc_fail() {
            &mut self.stats.qc_failed
        } else {
            &mut self.stats.qc_passed
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
                    if tid != mtid {
                        s.with_mate_mapped_to_a_different_chr += 1;
                        // samtools compares the raw byte: 255 (unavailable) counts as ≥ 5.
                        if v.mapq.unwrap_or(255) >= 5 {
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
            let bases = v.sequence_length as u64;
            self.stats.primary_bases += bases;
            if !flags.is_duplicate() {
                self.stats.dedup_bases += bases;
                if flags.is_segmented()
                    && flags.is_last_segment()
                    && mapped
                    && !flags.is_mate_unmapped()
                    && tid.is_some()
                    && tid == mtid
                    && v.template_length != 0
                {
                    self.stats
                        .insert_sizes
                        .add(u64::from(v.template_length.unsigned_abs()));
                }
            }
        }
        let Some(coverage) = self.coverage.as_mut() else {
            return Ok(());
        };
        let key = (tid.unwrap_or(usize::MAX), v.pos.unwrap_or(0));
        if key < self.previous {
            let place = |(t, p): (usize, u64)| match self.references.get(t) {
                Some((name, _)) => format!("{name}:{}", p + 1),
                None => "unplaced".to_owned(),
            };
            return Err(Error::Unsorted {
                path: self.path.to_owned(),
                record: self.records,
                here: place(key),
                before: place(self.previous),
            });
        }
        self.previous = key;
        if let (Some(tid), Some(pos)) = (tid, v.pos) {
            coverage
                .push(&Alignment {
                    tid,
                    pos,
                    flags: u16::from(flags),
                    mapq: v.mapq.unwrap_or(255),
                    mate_tid: mtid,
                    mate_pos: v.mate_pos,
                    name: v.name,
                    cigar: v.cigar,
                })
                .map_err(|_| Error::Memory {
                    path: self.path.to_owned(),
                    record: self.records,
                    place: format!(
                        "{}:{}",
                        self.references.get(tid).map_or("?", |r| r.0.as_str()),
                        pos + 1
                    ),
                })?;
        }
        Ok(())
    }

    fn finish(mut self) -> Stats {
        self.stats.depth = self.coverage.map(Depth::finish);
        self.stats
    }
}

fn references(header: &noodles_sam::Header) -> Vec<(String, u64)> {
    header
        .reference_sequences()
        .iter()
        .map(|(name, rs)| (name.to_string(), rs.length().get() as u64))
        .collect()
}

/// Whether the file starts with CRAM's magic number.
fn is_cram(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"CRAM"
}

/// Everything of [`measure`], and depth with `depth` options: the file must then be sorted
/// by coordinate and indexed.
///
/// # Errors
///
/// As [`measure`], and [`Error::MissingIndex`], [`Error::Index`], [`Error::Unsorted`] (with
/// the first record out of order) and [`Error::Bed`] when depth is asked for;
/// [`Error::NeedsReference`] for a CRAM file.
pub fn measure_with(path: &Path, depth: Option<&depth::Options>) -> Result<Stats, Error> {
    measure_alignments(path, None, depth)
}

/// The BAM half of [`measure_alignments`].
fn measure_bam(path: &Path, depth: Option<&depth::Options>) -> Result<Stats, Error> {
    let open = |source| Error::Open {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(open)?;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1);
    let inflater = noodles_bgzf::io::MultithreadedReader::with_worker_count(
        std::num::NonZero::new(workers).unwrap_or(std::num::NonZero::<usize>::MIN),
        file,
    );
    let mut reader = noodles_bam::io::Reader::from(inflater);
    let header = reader.read_header().map_err(open)?;
    let mut pass = Pass::new(path, references(&header), depth)?;
    let mut record = noodles_bam::Record::default();
    loop {
        if reader
            .read_record(&mut record)
            .map_err(|e| pass.record_error(e))?
            == 0
        {
            break;
        }
        let view = (|| -> std::io::Result<View<'_>> {
            let position = |p: Option<std::io::Result<noodles_core::Position>>| {
                p.transpose().map(|p| p.map(|p| p.get() as u64 - 1))
            };
            Ok(View {
                flags: record.flags(),
                tid: record.reference_sequence_id().transpose()?,
                mtid: record.mate_reference_sequence_id().transpose()?,
                pos: position(record.alignment_start())?,
                mate_pos: position(record.mate_alignment_start())?,
                mapq: record.mapping_quality().map(u8::from),
                template_length: record.template_length(),
                sequence_length: record.sequence().len(),
                name: record.name().map_or(&[][..], |n| n.as_ref()),
                cigar: record.cigar().as_bytes(),
            })
        })()
        .map_err(|e| pass.record_error(e))?;
        pass.add(&view)?;
    }
    Ok(pass.finish())
}

/// [`measure_with`] for a CRAM file, decoded against `reference` (FASTA with a `.fai`
/// index); BAM files are read as by [`measure_with`] and the reference is not needed.
///
/// # Errors
///
/// As [`measure_with`], and [`Error::Reference`] when the FASTA or its index cannot be read.
pub fn measure_alignments(
    path: &Path,
    reference: Option<&Path>,
    depth: Option<&depth::Options>,
) -> Result<Stats, Error> {
    if !is_cram(path) {
        return measure_bam(path, depth);
    }
    let Some(fasta) = reference else {
        return Err(Error::NeedsReference {
            path: path.to_owned(),
        });
    };
    let repository = noodles_fasta::io::indexed_reader::Builder::default()
        .build_from_path(fasta)
        .map(noodles_fasta::repository::adapters::IndexedReader::new)
        .map(noodles_fasta::Repository::new)
        .map_err(|source| Error::Reference {
            path: fasta.to_owned(),
            source,
        })?;
    let open = |source| Error::Open {
        path: path.to_owned(),
        source,
    };
    let mut reader = noodles_cram::io::reader::Builder::default()
        .set_reference_sequence_repository(repository)
        .build_from_path(path)
        .map_err(open)?;
    let header = reader.read_header().map_err(open)?;
    let mut pass = Pass::new(path, references(&header), depth)?;
    let mut cigar: Vec<u8> = Vec::new();
    let mut records = reader.records(&header);
    loop {
        let record = match records.next() {
            None => break,
            Some(result) => result.map_err(|e| pass.record_error(e))?,
        };
        cigar.clear();
        for op in record.cigar().as_ref() {
            let code: u32 = match op.kind() {
                noodles_sam::alignment::record::cigar::op::Kind::Match => 0,
                noodles_sam::alignment::record::cigar::op::Kind::Insertion => 1,
                noodles_sam::alignment::record::cigar::op::Kind::Deletion => 2,
                noodles_sam::alignment::record::cigar::op::Kind::Skip => 3,
                noodles_sam::alignment::record::cigar::op::Kind::SoftClip => 4,
                noodles_sam::alignment::record::cigar::op::Kind::HardClip => 5,
                noodles_sam::alignment::record::cigar::op::Kind::Pad => 6,
                noodles_sam::alignment::record::cigar::op::Kind::SequenceMatch => 7,
                noodles_sam::alignment::record::cigar::op::Kind::SequenceMismatch => 8,
            };
            let len = u32::try_from(op.len()).unwrap_or(u32::MAX >> 4);
            cigar.extend_from_slice(&(len << 4 | code).to_le_bytes());
        }
        let position = |p: Option<noodles_core::Position>| p.map(|p| p.get() as u64 - 1);
        pass.add(&View {
            flags: record.flags(),
            tid: record.reference_sequence_id(),
            mtid: record.mate_reference_sequence_id(),
            pos: position(record.alignment_start()),
            mate_pos: position(record.mate_alignment_start()),
            mapq: record.mapping_quality().map(u8::from),
            template_length: record.template_length(),
            sequence_length: record.sequence().len(),
            name: record.name().map_or(&[][..], |n| n.as_ref()),
            cigar: &cigar,
        })?;
    }
    Ok(pass.finish())
}

/// The depth below which `share` of the covered positions of `histogram` lie (the plots'
/// x extent; uncovered positions are left out so a small target in a large genome still
/// gets a readable axis).
fn depth_extent(histogram: &[u64], share: f64) -> usize {
    let total: u64 = histogram.iter().skip(1).sum();
    let mut seen = 0;
    for (depth, n) in histogram.iter().enumerate().skip(1) {
        seen += n;
        if seen as f64 >= share * total as f64 {
            return depth;
        }
    }
    histogram.len().saturating_sub(1)
}

impl depth::Stats {
    /// Percent of positions at each depth (genome, and BED regions if given).
    pub fn histogram_plot(&self) -> crate::display::Svg {
        let extent = (depth_extent(&self.histogram, 0.995) + 2).max(10);
        let series = self.per_depth(extent, |h, total, d| {
            100.0 * h.get(d).copied().unwrap_or(0) as f64 / total
        });
        super::report::line_chart(
            "Depth distribution",
            "depth",
            "% of positions",
            &series,
            &[],
            None,
        )
    }

    /// Percent of positions with at least each depth (breadth of coverage).
    pub fn breadth_plot(&self) -> crate::display::Svg {
        let extent = (depth_extent(&self.histogram, 0.995) + 2).max(32);
        let series = self.per_depth(extent, |h, total, d| {
            100.0 * h.iter().skip(d).sum::<u64>() as f64 / total
        });
        super::report::line_chart(
            "Breadth of coverage",
            "depth at least",
            "% of positions",
            &series,
            &[],
            Some((0.0, 100.0)),
        )
    }

    fn per_depth(
        &self,
        extent: usize,
        value: impl Fn(&[u64], f64, usize) -> f64,
    ) -> Vec<super::report::Series> {
        let mut out = Vec::new();
        let mut add = |label: &str, h: &[u64]| {
            let total = h.iter().sum::<u64>().max(1) as f64;
            out.push(super::report::Series {
                label: label.to_owned(),
                points: (0..=extent)
                    .map(|d| (d as f64, value(h, total, d)))
                    .collect(),
            });
        };
        add("genome", &self.histogram);
        if self.regions_total.is_some() {
            add("BED regions", &self.regions_histogram);
        }
        out
    }
}

impl InsertSizes {
    /// Pairs per insert size, up to the 99th percentile.
    pub fn plot(&self) -> crate::display::Svg {
        let extent = self.quantile(0.99).unwrap_or(0) as usize + 1;
        let points = (0..=extent)
            .map(|s| (s as f64, self.histogram.get(s).copied().unwrap_or(0) as f64))
            .collect();
        super::report::line_chart(
            "Insert sizes",
            "insert size (bp)",
            "pairs",
            &[super::report::Series {
                label: "pairs".into(),
                points,
            }],
            &[],
            None,
        )
    }
}

impl Stats {
    /// The report as HTML: counts, depth and breadth tables, then the depth, breadth and
    /// insert-size charts.
    pub fn html(&self) -> crate::display::Html {
        use crate::display::escape;
        use std::fmt::Write as _;
        let p = &self.qc_passed;
        let mut html = String::from("<div class=\"workbench-qc\">");
        let _ = write!(
            html,
            "<table class=\"dataframe\"><thead><tr><th>{}</th><th>QC-passed</th><th>QC-failed</th></tr></thead><tbody>",
            escape(&self.path.display().to_string())
        );
        let f = &self.qc_failed;
        for (name, a, b) in [
            ("records", p.total, f.total),
            ("primary", p.primary, f.primary),
            ("mapped", p.mapped, f.mapped),
            ("properly paired", p.properly_paired, f.properly_paired),
            ("duplicates", p.duplicates, f.duplicates),
            ("secondary", p.secondary, f.secondary),
            ("supplementary", p.supplementary, f.supplementary),
        ] {
            let _ = write!(html, "<tr><td>{name}</td><td>{a}</td><td>{b}</td></tr>");
        }
        let _ = write!(
            html,
            "</tbody></table><table class=\"dataframe\"><tbody>\
             <tr><td>bases (primary)</td><td>{}</td></tr>\
             <tr><td>bases after duplicate removal</td><td>{}</td></tr>",
            self.primary_bases, self.dedup_bases
        );
        let is = &self.insert_sizes;
        if let (Some(mean), Some(sd), Some(median)) = (is.mean(), is.sd(), is.quantile(0.5)) {
            let _ = write!(
                html,
                "<tr><td>insert size (pairs {})</td><td>median {median}, mean {mean:.1}, sd {sd:.1}</td></tr>",
                is.pairs()
            );
        }
        html.push_str("</tbody></table>");
        let mut text = format!(
            "{}: {} records, {} mapped, {} duplicates, {} bases after duplicate removal",
            self.path.display(),
            p.total + f.total,
            p.mapped,
            p.duplicates,
            self.dedup_bases
        );
        if let Some(depth) = &self.depth {
            let mut rows: Vec<(String, &depth::Summary)> =
                vec![("all sequences with reads".into(), &depth.total)];
            if let Some(r) = &depth.regions_total {
                rows.push((format!("BED regions ({})", depth.regions.len()), r));
            }
            if depth.sequences.len() <= 30 {
                rows.extend(depth.sequences.iter().map(|s| (s.name.clone(), &s.summary)));
            }
            html.push_str(
                "<table class=\"dataframe\"><thead><tr><th>depth</th><th>length</th><th>mean</th>\
                 <th>min</th><th>max</th>",
            );
            for (t, _) in &depth.total.breadth {
                let _ = write!(html, "<th>≥{t}x %</th>");
            }
            html.push_str("</tr></thead><tbody>");
            for (name, s) in &rows {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td>",
                    escape(name),
                    s.length,
                    s.mean,
                    s.min,
                    s.max
                );
                for (t, _) in &s.breadth {
                    let _ = write!(
                        html,
                        "<td>{:.2}</td>",
                        100.0 * s.breadth_fraction(*t).unwrap_or(0.0)
                    );
                }
                html.push_str("</tr>");
            }
            html.push_str("</tbody></table>");
            html.push_str(&depth.histogram_plot().svg);
            html.push_str(&depth.breadth_plot().svg);
            let _ = write!(text, "; mean depth {:.2}", depth.mean());
        }
        if is.pairs() > 0 {
            html.push_str(&is.plot().svg);
        }
        html.push_str("</div>");
        crate::display::Html { html, text }
    }

    /// MultiQC custom content (a `*_mqc.json` file's JSON): one table row for `sample`, so
    /// sites that run MultiQC see these numbers beside samtools' and mosdepth's.
    pub fn multiqc(&self, sample: &str) -> serde_json::Value {
        let p = &self.qc_passed;
        let percent = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        let mut row = serde_json::json!({
            "mapped_percent": percent(p.mapped, p.total),
            "properly_paired_percent": percent(p.properly_paired, p.paired_in_sequencing),
            "duplicate_percent": percent(p.primary_duplicates, p.primary),
            "dedup_gbases": self.dedup_bases as f64 / 1e9,
            "insert_size_median": self.insert_sizes.quantile(0.5),
        });
        let mut headers = serde_json::json!({
            "mapped_percent": {"title": "% Mapped", "min": 0, "max": 100, "suffix": "%"},
            "properly_paired_percent": {"title": "% Proper pairs", "min": 0, "max": 100, "suffix": "%"},
            "duplicate_percent": {"title": "% Dup", "min": 0, "max": 100, "suffix": "%"},
            "dedup_gbases": {"title": "Gbases (dedup)", "format": "{:,.2f}"},
            "insert_size_median": {"title": "Insert size", "format": "{:,.0f}"},
        });
        if let Some(depth) = &self.depth {
            let t = depth.regions_total.as_ref().unwrap_or(&depth.total);
            row["mean_depth"] = serde_json::json!(depth.mean());
            headers["mean_depth"] = serde_json::json!({"title": "Mean depth", "suffix": "X"});
            for (threshold, _) in &t.breadth {
                let key = format!("breadth_{threshold}x_percent");
                row[&key] =
                    serde_json::json!(100.0 * t.breadth_fraction(*threshold).unwrap_or(0.0));
                headers[&key] = serde_json::json!({
                    "title": format!("≥ {threshold}X"), "min": 0, "max": 100, "suffix": "%"
                });
            }
        }
        serde_json::json!({
            "id": "workbench_bam",
            "section_name": "Workbench BAM QC",
            "description": "Counts as samtools flagstat gives them, bases after duplicate removal, \
                            and depth as mosdepth computes it (workbench qc bam).",
            "plot_type": "table",
            "pconfig": {"id": "workbench_bam_table", "title": "Workbench: BAM QC"},
            "headers": headers,
            "data": {sample: row},
        })
    }

    /// The report as a standalone HTML page (what `workbench qc bam --html` writes).
    pub fn html_report(&self) -> String {
        super::report::standalone("BAM QC", &self.html())
    }

    /// Shows the report in a notebook (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        self.html().evcxr_display();
    }
}
