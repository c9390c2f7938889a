//! Depth of coverage as mosdepth 0.3 computes it in its default mode (R4 depth targets).
//!
//! Every rule below is mosdepth's, so that our mean depth and breadth equal what the sites
//! already run:
//!
//! - records with any of the flags 0x704 (unmapped, secondary, QC-failed, duplicate) or a
//!   mapping quality below the threshold add nothing; supplementary records count;
//! - a record covers the reference bases of its M, = and X operations (D and N do not);
//! - mates of a properly paired, non-supplementary pair on one reference that overlap count
//!   once where they overlap (the lower mate is remembered by name until its mate arrives);
//!   when both mates have a single CIGAR operation, mosdepth removes the span from the
//!   second mate's start to the first mate's end, and so do we;
//! - statistics cover only the reference sequences that have at least one record, and BED
//!   regions count in the regional totals only on those sequences.
//!
//! Coverage is kept as start/end increments in one `i32` per reference position (as
//! mosdepth does), turned into depths once per reference sequence.

use std::collections::TryReserveError;
use std::io::{BufRead, Read as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::hash::FastMap;

/// Records with any of these flags add no depth: unmapped, secondary, QC-failed, duplicate.
pub const DEFAULT_EXCLUDE_FLAGS: u16 = 0x704;

/// Depths above this are counted in the histogram as this value (mosdepth's cap).
const HISTOGRAM_CAP: usize = 400_000;

/// What to count.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records with a lower mapping quality add no depth.
    pub min_mapq: u8,
    /// Records with any of these flags add no depth.
    pub exclude_flags: u16,
    /// Breadth is reported as the bases with at least each of these depths.
    pub thresholds: Vec<u32>,
    /// Regions (BED) for the regional statistics.
    pub bed: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_mapq: 0,
            exclude_flags: DEFAULT_EXCLUDE_FLAGS,
            thresholds: vec![1, 10, 20, 30],
            bed: None,
        }
    }
}

/// The most regions a BED file may hold: each region's depth and breadth are kept for the
/// report, about 200 bytes each, so this bounds that part of the memory at about 200 MB.
/// (An exome design has about 200,000 regions.)
pub const MAX_BED_REGIONS: usize = 1_000_000;

/// The longest BED line accepted, in bytes.
pub const MAX_BED_LINE: usize = 64 * 1024;

/// Why a BED file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BedError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `chrom<TAB>start<TAB>end[…]` with 0 ≤ start ≤ end.
    #[error("{}: line {line}: {reason}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// One BED region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Reference sequence name.
    pub chrom: String,
    /// 0-based start.
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
    /// The fourth column, if any.
    pub name: Option<String>,
}

/// Reads a BED file (plain or gzip): `track`, `browser` and `#` lines are skipped.
///
/// # Errors
///
/// [`BedError`] naming the file and line of a line that is not a region.
pub fn read_bed(path: &Path) -> Result<Vec<Region>, BedError> {
    let read_err = |source| BedError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = std::io::BufReader::new(std::fs::File::open(path).map_err(read_err)?);
    let gz = file
        .fill_buf()
        .map_err(read_err)?
        .starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn BufRead> = if gz {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            file,
        )))
    } else {
        Box::new(file)
    };
    let mut reader = reader;
    let mut regions = Vec::new();
    let mut buffer = Vec::new();
    for number in 1u64.. {
        let bad = |reason: String| BedError::Line {
            path: path.to_owned(),
            line: number,
            reason,
        };
        // A line is read only up to its limit, so a file without newlines (or a gzip bomb)
        // costs no more memory than one long line.
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_BED_LINE as u64 + 2)
            .read_until(b'\n', &mut buffer)
            .map_err(read_err)?;
        if read == 0 {
            break;
        }
        let content = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        if content.strip_suffix(b"\r").unwrap_or(content).len() > MAX_BED_LINE {
            return Err(bad(format!(
                "longer than {MAX_BED_LINE} bytes: not a BED line"
            )));
        }
        let Ok(line) = std::str::from_utf8(&buffer) else {
            return Err(bad("not UTF-8 text".to_owned()));
        };
        let text = line.trim_end();
        if text.is_empty()
            || text.starts_with('#')
            || text.starts_with("track")
            || text.starts_with("browser")
        {
            continue;
        }
        let fields: Vec<&str> = if text.contains('\t') {
            text.split('\t').collect()
        } else {
            text.split_whitespace().collect()
        };
        if fields.len() < 3 {
            return Err(bad(format!(
                "expected chrom, start and end, found {} field(s)",
                fields.len()
            )));
        }
        let number_field = |name: &str, value: &str| {
            value.parse::<u64>().map_err(|_| {
                bad(format!(
                    "{name} {value:?} is not a non-negative whole number"
                ))
            })
        };
        let start = number_field("start", fields[1])?;
        let end = number_field("end", fields[2])?;
        if start > end {
            return Err(bad(format!("start {start} is after end {end}")));
        }
        if regions.len() == MAX_BED_REGIONS {
            return Err(bad(format!(
                "more than {MAX_BED_REGIONS} regions: split the BED file (each region's depth is kept for the report)"
            )));
        }
        regions.push(Region {
            chrom: fields[0].to_owned(),
            start,
            end,
            name: fields.get(3).map(|s| (*s).to_owned()),
        });
    }
    Ok(regions)
}

/// Depth statistics of a stretch of reference (a sequence, all sequences, or regions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Reference positions.
    pub length: u64,
    /// Sum of the depth over those positions (mosdepth's "bases").
    pub bases: u64,
    /// `bases / length`.
    pub mean: f64,
    /// Lowest depth.
    pub min: u32,
    /// Highest depth.
    pub max: u32,
    /// Positions with at least each threshold's depth, keyed by the threshold.
    pub breadth: Vec<(u32, u64)>,
}

impl Summary {
    /// The fraction of positions with at least `threshold` depth, if it was counted.
    pub fn breadth_fraction(&self, threshold: u32) -> Option<f64> {
        let (_, n) = self.breadth.iter().find(|(t, _)| *t == threshold)?;
        (self.length > 0).then(|| *n as f64 / self.length as f64)
    }

    fn to_json(&self) -> serde_json::Value {
        let breadth: serde_json::Map<String, serde_json::Value> = self
            .breadth
            .iter()
            .map(|(t, n)| (t.to_string(), serde_json::json!(n)))
            .collect();
        let fraction: serde_json::Map<String, serde_json::Value> = self
            .breadth
            .iter()
            .map(|(t, _)| {
                (
                    t.to_string(),
                    serde_json::json!(self.breadth_fraction(*t).unwrap_or(0.0)),
                )
            })
            .collect();
        serde_json::json!({
            "length": self.length,
            "bases": self.bases,
            "mean": self.mean,
            "min": self.min,
            "max": self.max,
            "breadth": breadth,
            "breadth_fraction": fraction,
        })
    }
}

/// The depth of one reference sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceDepth {
    /// Its name in the BAM header.
    pub name: String,
    /// Its statistics.
    pub summary: Summary,
}

/// The depth of one BED region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionDepth {
    /// Reference sequence.
    pub chrom: String,
    /// 0-based start.
    pub start: u64,
    /// End (exclusive).
    pub end: u64,
    /// The BED name column.
    pub name: Option<String>,
    /// Mean depth (0 where the sequence has no record).
    pub mean: f64,
    /// Positions with at least each threshold's depth.
    pub breadth: Vec<(u32, u64)>,
}

/// Depth of coverage of one BAM file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Mapping quality threshold used.
    pub min_mapq: u8,
    /// Flags excluded.
    pub exclude_flags: u16,
    /// All sequences with records (mosdepth's "total").
    pub total: Summary,
    /// Each sequence with records, in header order.
    pub sequences: Vec<SequenceDepth>,
    /// Positions at each depth over `total` (index = depth, capped at 400,000).
    pub histogram: Vec<u64>,
    /// The BED file, if one was given.
    pub bed: Option<PathBuf>,
    /// All regions on sequences with records (mosdepth's "total_region").
    pub regions_total: Option<Summary>,
    /// Positions at each depth over the regions.
    pub regions_histogram: Vec<u64>,
    /// Each region, in BED order per sequence.
    pub regions: Vec<RegionDepth>,
    /// Things the caller should know (BED sequences missing from the header…).
    pub warnings: Vec<String>,
}

impl Stats {
    /// The mean depth the R4 rule judges: over the BED regions if given, else the genome.
    pub fn mean(&self) -> f64 {
        self.regions_total.as_ref().unwrap_or(&self.total).mean
    }

    /// `{"total": …, "sequences": […], "histogram": [[depth, positions]…], …}`.
    pub fn to_json(&self) -> serde_json::Value {
        let sparse = |h: &[u64]| -> Vec<[u64; 2]> {
            h.iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(d, n)| [d as u64, *n])
                .collect()
        };
        let sequences: Vec<serde_json::Value> = self
            .sequences
            .iter()
            .map(|s| {
                let mut v = s.summary.to_json();
                v["name"] = serde_json::json!(s.name);
                v
            })
            .collect();
        let mut value = serde_json::json!({
            "min_mapq": self.min_mapq,
            "exclude_flags": self.exclude_flags,
            "overlap_corrected": true,
            "mean": self.mean(),
            "total": self.total.to_json(),
            "sequences": sequences,
            "histogram": sparse(&self.histogram),
            "warnings": self.warnings,
        });
        if let Some(total) = &self.regions_total {
            value["regions"] = serde_json::json!({
                "bed": self.bed,
                "count": self.regions.len(),
                "total": total.to_json(),
                "histogram": sparse(&self.regions_histogram),
            });
        }
        value
    }
}

/// The fields of one BAM record that depth needs, decoded by the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alignment<'a> {
    pub(crate) tid: usize,
    /// 0-based.
    pub(crate) pos: u64,
    pub(crate) flags: u16,
    pub(crate) mapq: u8,
    pub(crate) mate_tid: Option<usize>,
    /// 0-based.
    pub(crate) mate_pos: Option<u64>,
    pub(crate) name: &'a [u8],
    /// Raw BAM CIGAR: little-endian u32 per operation, `len << 4 | op`.
    pub(crate) cigar: &'a [u8],
}

fn ops(cigar: &[u8]) -> impl Iterator<Item = (u8, u64)> + '_ {
    cigar.chunks_exact(4).map(|c| {
        let v = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        ((v & 0xf) as u8, u64::from(v >> 4))
    })
}

/// M, D, N, =, X.
fn consumes_reference(op: u8) -> bool {
    matches!(op, 0 | 2 | 3 | 7 | 8)
}

/// M, I, S, =, X.
fn consumes_query(op: u8) -> bool {
    matches!(op, 0 | 1 | 4 | 7 | 8)
}

/// htslib's `bam_endpos` for a mapped record: start plus the reference span, at least 1.
fn end_position(pos: u64, cigar: &[u8]) -> u64 {
    let span: u64 = ops(cigar)
        .filter(|(op, _)| consumes_reference(*op))
        .map(|(_, len)| len)
        .sum();
    pos + span.max(1)
}

/// The +1/−1 events of the covered blocks of one record (adjacent blocks merged, so an
/// insertion does not split a block but a deletion does).
fn start_ends(cigar: &[u8], start: u64, out: &mut Vec<(u64, i32)>) {
    let mut pos = start;
    let mut last_stop: Option<u64> = None;
    for (op, len) in ops(cigar) {
        if !consumes_reference(op) {
            continue;
        }
        if consumes_query(op) {
            if Some(pos) != last_stop {
                out.push((pos, 1));
                if let Some(stop) = last_stop {
                    out.push((stop, -1));
                }
            }
            last_stop = Some(pos + len);
        }
        pos += len;
    }
    if let Some(stop) = last_stop {
        out.push((stop, -1));
    }
}

/// A remembered lower mate of an overlapping pair.
struct Mate {
    start: u64,
    stop: u64,
    cigar: Vec<u8>,
}

/// Per-file depth accumulation; records arrive sorted by coordinate.
pub(crate) struct Depth {
    options: Options,
    names: Vec<String>,
    lengths: Vec<u64>,
    /// Regions per sequence id, sorted by start.
    regions: Vec<Vec<Region>>,
    current: Option<usize>,
    /// The current sequence's declared length.
    length: u64,
    /// Depth changes of the current sequence, allocated only as far as its records reach
    /// (then prefix-summed): a header that declares a huge sequence costs no memory.
    coverage: Vec<i32>,
    seen: FastMap<Vec<u8>, Mate>,
    events: Vec<(u64, i32)>,
    total: Accumulator,
    histogram: Vec<u64>,
    sequences: Vec<SequenceDepth>,
    regions_total: Accumulator,
    regions_histogram: Vec<u64>,
    region_results: Vec<RegionDepth>,
    done: Vec<bool>,
    warnings: Vec<String>,
}

/// Running sums for a [`Summary`].
#[derive(Clone)]
struct Accumulator {
    length: u64,
    bases: u64,
    min: u32,
    max: u32,
    breadth: Vec<u64>,
}

impl Accumulator {
    fn new(thresholds: usize) -> Self {
        Accumulator {
            length: 0,
            bases: 0,
            min: u32::MAX,
            max: 0,
            breadth: vec![0; thresholds],
        }
    }

    fn add(&mut self, other: &Accumulator) {
        self.length += other.length;
        self.bases += other.bases;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        for (a, b) in self.breadth.iter_mut().zip(&other.breadth) {
            *a += b;
        }
    }

    fn summary(&self, thresholds: &[u32]) -> Summary {
        Summary {
            length: self.length,
            bases: self.bases,
            mean: if self.length > 0 {
                self.bases as f64 / self.length as f64
            } else {
                0.0
            },
            min: if self.min == u32::MAX { 0 } else { self.min },
            max: self.max,
            breadth: thresholds
                .iter()
                .copied()
                .zip(self.breadth.clone())
                .collect(),
        }
    }
}

/// Sums, extremes and histogram of depths already prefix-summed.
fn measure_depths(depths: &[i32], thresholds: &[u32], histogram: &mut Vec<u64>) -> Accumulator {
    let mut acc = Accumulator::new(thresholds.len());
    acc.length = depths.len() as u64;
    let mut bases = 0u64;
    let (mut min, mut max) = (u32::MAX, 0u32);
    for &d in depths {
        // Negative depth cannot arise from valid records; count it as none.
        let d = d.max(0) as u32;
        bases += u64::from(d);
        min = min.min(d);
        max = max.max(d);
        let slot = (d as usize).min(HISTOGRAM_CAP);
        if slot >= histogram.len() {
            histogram.resize(slot + 1, 0);
        }
        histogram[slot] += 1;
    }
    acc.bases = bases;
    acc.min = min;
    acc.max = max;
    acc
}

/// Adds `zeros` positions of depth 0 (never reached by a record) to a stretch's sums.
fn pad_zeros(acc: &mut Accumulator, histogram: &mut Vec<u64>, zeros: u64) {
    if zeros == 0 {
        return;
    }
    acc.length += zeros;
    acc.min = 0;
    if histogram.is_empty() {
        histogram.push(0);
    }
    histogram[0] += zeros;
}

/// Positions with at least each threshold, from a histogram of one stretch.
fn breadth_from(histogram: &[u64], thresholds: &[u32]) -> Vec<u64> {
    thresholds
        .iter()
        .map(|t| histogram.iter().skip(*t as usize).sum())
        .collect()
}

impl Depth {
    /// `references` are the header's (name, length) in order.
    pub(crate) fn new(options: Options, references: Vec<(String, u64)>) -> Result<Self, BedError> {
        let mut thresholds = options.thresholds.clone();
        thresholds.sort_unstable();
        thresholds.dedup();
        let options = Options {
            thresholds,
            ..options
        };
        let (names, lengths): (Vec<String>, Vec<u64>) = references.into_iter().unzip();
        let mut regions = vec![Vec::new(); names.len()];
        let mut warnings = Vec::new();
        if let Some(bed) = &options.bed {
            let index: FastMap<&str, usize> = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), i))
                .collect();
            let mut missing: Vec<(String, usize)> = Vec::new();
            for region in read_bed(bed)? {
                match index.get(region.chrom.as_str()) {
                    Some(&tid) => regions[tid].push(region),
                    None => match missing.iter_mut().find(|(c, _)| *c == region.chrom) {
                        Some((_, n)) => *n += 1,
                        None => missing.push((region.chrom.clone(), 1)),
                    },
                }
            }
            for (chrom, n) in missing {
                warnings.push(format!(
                    "{}: {n} region(s) on {chrom}, which is not in the BAM header, are left out",
                    bed.display()
                ));
            }
            for list in &mut regions {
                list.sort_by_key(|r| r.start);
            }
        }
        let n = options.thresholds.len();
        Ok(Depth {
            done: vec![false; names.len()],
            options,
            names,
            lengths,
            regions,
            current: None,
            length: 0,
            coverage: Vec::new(),
            seen: FastMap::default(),
            events: Vec::new(),
            total: Accumulator::new(n),
            histogram: Vec::new(),
            sequences: Vec::new(),
            regions_total: Accumulator::new(n),
            regions_histogram: Vec::new(),
            region_results: Vec::new(),
            warnings,
        })
    }

    /// Adds one record with a reference sequence; records must come sorted by coordinate.
    ///
    /// # Errors
    ///
    /// The depth counters up to the record's end could not be allocated (a record, or
    /// a header, claiming a sequence longer than memory allows).
    pub(crate) fn push(&mut self, a: &Alignment<'_>) -> Result<(), TryReserveError> {
        if self.current != Some(a.tid) {
            self.finish_sequence();
            self.start_sequence(a.tid);
        }
        if a.mapq < self.options.min_mapq || a.flags & self.options.exclude_flags != 0 {
            return Ok(());
        }
        let len = self.length;
        // A record running past its sequence's end is clipped there rather than indexing out.
        let at = |p: u64| p.min(len) as usize;
        let stop = end_position(a.pos, a.cigar);
        self.reach(stop)?;
        const PROPER_PAIR: u16 = 0x2;
        const SUPPLEMENTARY: u16 = 0x800;
        if a.flags & PROPER_PAIR != 0 && a.flags & SUPPLEMENTARY == 0 {
            let same_reference = a.mate_tid == Some(a.tid);
            let mate_pos = a.mate_pos.unwrap_or(0);
            if same_reference
                && a.mate_pos.is_some()
                && stop > mate_pos
                && (a.pos < mate_pos || (a.pos == mate_pos && !self.seen.contains_key(a.name)))
            {
                self.seen.insert(
                    a.name.to_vec(),
                    Mate {
                        start: a.pos,
                        stop,
                        cigar: a.cigar.to_vec(),
                    },
                );
            } else if let Some(mate) = self.seen.remove(a.name) {
                self.reach(mate.stop)?;
                if a.cigar.len() == 4 && mate.cigar.len() == 4 {
                    self.coverage[at(a.pos)] -= 1;
                    self.coverage[at(mate.stop)] += 1;
                } else {
                    self.events.clear();
                    start_ends(a.cigar, a.pos, &mut self.events);
                    start_ends(&mate.cigar, mate.start, &mut self.events);
                    // Stable, as mosdepth's merge sort: this record's events first on ties.
                    self.events.sort_by_key(|e| e.0);
                    let mut pair_depth = 0;
                    let mut last = 0u64;
                    for &(pos, value) in &self.events {
                        if value == -1 && pair_depth == 2 {
                            self.coverage[at(last)] -= 1;
                            self.coverage[at(pos)] += 1;
                        }
                        pair_depth += value;
                        last = pos;
                    }
                }
            }
        }
        if a.cigar.len() == 4 && ops(a.cigar).all(|(op, _)| op == 0) {
            self.coverage[at(a.pos)] += 1;
            self.coverage[at(stop)] -= 1;
        } else {
            self.events.clear();
            start_ends(a.cigar, a.pos, &mut self.events);
            for &(pos, value) in &self.events {
                self.coverage[at(pos)] += value;
            }
        }
        Ok(())
    }

    fn start_sequence(&mut self, tid: usize) {
        self.current = Some(tid);
        self.length = self.lengths[tid];
        self.coverage.clear();
        self.seen.clear();
    }

    /// Makes position `p` (clipped to the sequence's end) addressable in `coverage`;
    /// an allocation that fails is an error, not an abort.
    fn reach(&mut self, p: u64) -> Result<(), TryReserveError> {
        let need = p.min(self.length) as usize + 1;
        if self.coverage.len() < need {
            self.coverage.try_reserve(need - self.coverage.len())?;
            self.coverage.resize(need, 0);
        }
        Ok(())
    }

    fn finish_sequence(&mut self) {
        let Some(tid) = self.current.take() else {
            return;
        };
        self.done[tid] = true;
        let thresholds = &self.options.thresholds;
        let mut running = 0i32;
        for c in self.coverage.iter_mut() {
            running += *c;
            *c = running;
        }
        // Positions past the last one a record reached have depth 0 (never allocated);
        // the entry at the sequence's end, if reached, is not a position.
        let length = self.length;
        let depths = &self.coverage[..self.coverage.len().min(length as usize)];
        let mut histogram = Vec::new();
        let mut acc = measure_depths(depths, thresholds, &mut histogram);
        pad_zeros(&mut acc, &mut histogram, length - depths.len() as u64);
        acc.breadth = breadth_from(&histogram, thresholds);
        self.total.add(&acc);
        add_histogram(&mut self.histogram, &histogram);
        self.sequences.push(SequenceDepth {
            name: self.names[tid].clone(),
            summary: acc.summary(thresholds),
        });
        for region in &self.regions[tid] {
            let start = region.start.min(length);
            let end = region.end.min(length);
            if region.end > length {
                self.warnings.push(format!(
                    "region {}:{}-{} runs past the end of {} ({length} bases); counted to the end",
                    region.chrom, region.start, region.end, region.chrom,
                ));
            }
            let reached = depths.len() as u64;
            let mut h = Vec::new();
            let mut acc = measure_depths(
                &depths[start.min(reached) as usize..end.min(reached) as usize],
                thresholds,
                &mut h,
            );
            pad_zeros(
                &mut acc,
                &mut h,
                (end - start) - (end.min(reached) - start.min(reached)),
            );
            acc.breadth = breadth_from(&h, thresholds);
            add_histogram(&mut self.regions_histogram, &h);
            // mosdepth divides by the region's full length, also past the sequence end.
            let full = region.end - region.start;
            self.region_results.push(RegionDepth {
                chrom: region.chrom.clone(),
                start: region.start,
                end: region.end,
                name: region.name.clone(),
                mean: if full > 0 {
                    acc.bases as f64 / full as f64
                } else {
                    0.0
                },
                breadth: thresholds
                    .iter()
                    .copied()
                    .zip(acc.breadth.clone())
                    .collect(),
            });
            self.regions_total.add(&acc);
        }
    }

    /// The statistics, once every record was pushed.
    pub(crate) fn finish(mut self) -> Stats {
        self.finish_sequence();
        let thresholds = self.options.thresholds.clone();
        // Regions on sequences without records: mean 0, outside the regional totals.
        for (tid, list) in self.regions.iter().enumerate() {
            if self.done[tid] {
                continue;
            }
            for region in list {
                self.region_results.push(RegionDepth {
                    chrom: region.chrom.clone(),
                    start: region.start,
                    end: region.end,
                    name: region.name.clone(),
                    mean: 0.0,
                    breadth: thresholds.iter().map(|t| (*t, 0)).collect(),
                });
            }
        }
        let bed = self.options.bed.clone();
        Stats {
            min_mapq: self.options.min_mapq,
            exclude_flags: self.options.exclude_flags,
            total: self.total.summary(&thresholds),
            sequences: self.sequences,
            histogram: self.histogram,
            regions_total: bed
                .as_ref()
                .map(|_| self.regions_total.summary(&thresholds)),
            bed,
            regions_histogram: self.regions_histogram,
            regions: self.region_results,
            warnings: self.warnings,
        }
    }
}

fn add_histogram(into: &mut Vec<u64>, from: &[u64]) {
    if from.len() > into.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cigar(ops: &[(u32, u32)]) -> Vec<u8> {
        ops.iter()
            .flat_map(|(len, op)| (len << 4 | op).to_le_bytes())
            .collect()
    }

    #[test]
    fn deletions_split_blocks_and_insertions_do_not() {
        let mut out = Vec::new();
        // 10M 2I 5M 3D 5M 4S
        start_ends(
            &cigar(&[(10, 0), (2, 1), (5, 0), (3, 2), (5, 0), (4, 4)]),
            100,
            &mut out,
        );
        assert_eq!(out, vec![(100, 1), (118, 1), (115, -1), (123, -1)]);
        assert_eq!(end_position(100, &cigar(&[(10, 0), (3, 2), (5, 0)])), 118);
        assert_eq!(end_position(7, &cigar(&[(5, 4)])), 8);
    }

    #[test]
    fn overlapping_mates_count_once() {
        let mut depth = Depth::new(Options::default(), vec![("c".into(), 100)]).unwrap();
        let m = cigar(&[(20, 0)]);
        let first = Alignment {
            tid: 0,
            pos: 10,
            flags: 0x1 | 0x2 | 0x40,
            mapq: 60,
            mate_tid: Some(0),
            mate_pos: Some(20),
            name: b"p",
            cigar: &m,
        };
        depth.push(&first).unwrap();
        depth
            .push(&Alignment {
                pos: 20,
                mate_pos: Some(10),
                flags: 0x1 | 0x2 | 0x80,
                ..first
            })
            .unwrap();
        let stats = depth.finish();
        // 10..40 covered once: 30 bases, not 40.
        assert_eq!(stats.total.bases, 30);
        assert_eq!(stats.total.max, 1);
        assert_eq!(stats.total.breadth[0], (1, 30));
    }

    #[test]
    fn a_sequence_declared_at_a_trillion_bases_costs_only_what_its_records_reach() {
        const LENGTH: u64 = 1_000_000_000_000;
        let options = Options {
            thresholds: vec![0, 1],
            ..Options::default()
        };
        let mut depth = Depth::new(options, vec![("huge".into(), LENGTH)]).unwrap();
        let m = cigar(&[(50, 0)]);
        depth
            .push(&Alignment {
                tid: 0,
                pos: 1_000,
                flags: 0,
                mapq: 60,
                mate_tid: None,
                mate_pos: None,
                name: b"r",
                cigar: &m,
            })
            .unwrap();
        // Memory: the depth changes up to the read's end, not a trillion entries.
        assert!(depth.coverage.len() <= 1_051, "{}", depth.coverage.len());
        let stats = depth.finish();
        assert_eq!(stats.total.length, LENGTH);
        assert_eq!(stats.total.bases, 50);
        assert_eq!((stats.total.min, stats.total.max), (0, 1));
        // Threshold 0 counts every position, reached or not.
        assert_eq!(stats.total.breadth, vec![(0, LENGTH), (1, 50)]);
        assert_eq!(stats.histogram, vec![LENGTH - 50, 50]);
    }

    #[test]
    fn regions_past_the_last_read_have_depth_zero() {
        let dir = tempfile::tempdir().unwrap();
        let bed = dir.path().join("r.bed");
        std::fs::write(&bed, "c\t0\t20\nc\t500\t600\nc\t900\t1100\n").unwrap();
        let options = Options {
            thresholds: vec![1],
            bed: Some(bed),
            ..Options::default()
        };
        let mut depth = Depth::new(options, vec![("c".into(), 1_000)]).unwrap();
        let m = cigar(&[(10, 0)]);
        depth
            .push(&Alignment {
                tid: 0,
                pos: 5,
                flags: 0,
                mapq: 60,
                mate_tid: None,
                mate_pos: None,
                name: b"r",
                cigar: &m,
            })
            .unwrap();
        let stats = depth.finish();
        let means: Vec<f64> = stats.regions.iter().map(|r| r.mean).collect();
        // mosdepth divides by the region's full length, also past the sequence's end.
        assert_eq!(means, vec![0.5, 0.0, 0.0]);
        let total = stats.regions_total.expect("regions");
        assert_eq!(total.length, 20 + 100 + 100);
        assert_eq!(total.bases, 10);
        assert!(
            stats
                .warnings
                .iter()
                .any(|w| w.contains("runs past the end"))
        );
    }

    #[test]
    fn bad_bed_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.bed");
        std::fs::write(&path, "track name=x\nchr1\t5\t10\nchr1\t20\n").unwrap();
        let err = read_bed(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("found 2 field"),
            "{err}"
        );
        std::fs::write(&path, "chr1\t50\t10\n").unwrap();
        assert!(
            read_bed(&path)
                .unwrap_err()
                .to_string()
                .contains("after end")
        );
        std::fs::write(&path, "chr1\t-5\t10\n").unwrap();
        assert!(read_bed(&path).unwrap_err().to_string().contains("\"-5\""));
    }
}
