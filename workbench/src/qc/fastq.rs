//! FASTQ quality metrics, streaming: plain, gzip and BGZF (multi-member gzip) input.
//!
//! Each file is read by two threads: one decompresses into large blocks, the caller's
//! thread splits records and counts. A pair is read as two such pipelines at once. Memory is
//! bounded: a few blocks in flight, per-cycle arrays as long as the longest read, and a
//! duplication sketch of at most [`DUP_SKETCH_CAPACITY`] entries.
//!
//! Counting follows fastp's "before filtering" summary, so the numbers compare exactly:
//! Phred+33 qualities, a base is Q20 when its quality is ≥ 20 and Q30 when ≥ 30, GC is
//! `G`/`C` in either case over all bases. Records are checked as they pass: a header
//! without `@`, a missing `+` line, sequence and quality of different lengths, quality
//! characters outside `!`..`~`, or a truncated gzip stream are errors naming the file, the
//! record and its line. Zero-length reads are valid (fastp's own test data has one) and
//! counted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Bytes per decompressed block handed from the reader thread to the parser.
const BLOCK: usize = 4 << 20;

/// The longest line (and so read) measured, in bytes. Per-cycle sums grow with the longest
/// read (24 bytes per cycle), and an unfinished record is carried between blocks, so this
/// bounds both: with the blocks in flight and the duplication sketch, one file's
/// measurement stays under about 100 MB whatever the input (docs/qc.md).
pub const MAX_LINE: usize = 1 << 20;

/// Most distinct sequence hashes the duplication sketch keeps before it samples harder.
pub const DUP_SKETCH_CAPACITY: usize = 1 << 20;

/// Why a FASTQ file cannot be measured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The compressed stream ended early or is corrupt.
    #[error("{}: compressed data is truncated or corrupt after record {records}: {source}", path.display())]
    Compressed {
        /// The file.
        path: PathBuf,
        /// Complete records read before the failure.
        records: u64,
        /// The decompressor's error.
        #[source]
        source: io::Error,
    },
    /// A record is malformed.
    #[error("{}: record {record} (line {line}): {problem}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// 1-based record number.
        record: u64,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// The two files of a pair hold different numbers of records.
    #[error(
        "paired files differ: {} has {reads1} records, {} has {reads2}",
        r1.display(),
        r2.display()
    )]
    PairMismatch {
        /// Read 1 file.
        r1: PathBuf,
        /// Its records.
        reads1: u64,
        /// Read 2 file.
        r2: PathBuf,
        /// Its records.
        reads2: u64,
    },
    /// The notebook cell was interrupted (see [`crate::interrupt`]).
    #[error("{}: interrupted after {records} records", path.display())]
    Interrupted {
        /// The file.
        path: PathBuf,
        /// Complete records read before the interrupt.
        records: u64,
    },
}

/// Metrics of one FASTQ file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// The file measured.
    pub path: PathBuf,
    /// Records.
    pub reads: u64,
    /// Bases (sum of read lengths).
    pub bases: u64,
    /// Bases with quality ≥ 20.
    pub q20_bases: u64,
    /// Bases with quality ≥ 30.
    pub q30_bases: u64,
    /// `G` and `C` bases.
    pub gc_bases: u64,
    /// `N` bases.
    pub n_bases: u64,
    /// Records with an empty sequence.
    pub zero_length_reads: u64,
    /// Shortest read (0 when there is no read).
    pub min_length: u64,
    /// Longest read.
    pub max_length: u64,
    /// Reads per length: `length_counts[l]` reads of length `l`.
    pub length_counts: Vec<u64>,
    /// Sum of qualities per cycle (position in the read, from 0).
    pub cycle_quality_sum: Vec<u64>,
    /// Bases per cycle.
    pub cycle_bases: Vec<u64>,
    /// Duplicate fraction estimated from a hash sample of sequences.
    pub duplication_rate: f64,
}

impl Stats {
    /// Fraction of bases with quality ≥ 20 (0 without bases).
    pub fn q20_rate(&self) -> f64 {
        ratio(self.q20_bases, self.bases)
    }

    /// Fraction of bases with quality ≥ 30.
    pub fn q30_rate(&self) -> f64 {
        ratio(self.q30_bases, self.bases)
    }

    /// Fraction of G and C among all bases.
    pub fn gc_content(&self) -> f64 {
        ratio(self.gc_bases, self.bases)
    }

    /// Fraction of N among all bases.
    pub fn n_rate(&self) -> f64 {
        ratio(self.n_bases, self.bases)
    }

    /// Mean read length.
    pub fn mean_length(&self) -> f64 {
        ratio(self.bases, self.reads)
    }

    /// Mean quality at each cycle.
    pub fn cycle_mean_quality(&self) -> Vec<f64> {
        self.cycle_quality_sum
            .iter()
            .zip(&self.cycle_bases)
            .map(|(s, n)| ratio(*s, *n))
            .collect()
    }

    /// The report in the documented JSON schema (`docs/qc.md`).
    pub fn to_json(&self) -> serde_json::Value {
        let lengths: Vec<[u64; 2]> = self
            .length_counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(l, n)| [l as u64, *n])
            .collect();
        serde_json::json!({
            "path": self.path,
            "reads": self.reads,
            "bases": self.bases,
            "q20_bases": self.q20_bases,
            "q30_bases": self.q30_bases,
            "q20_rate": self.q20_rate(),
            "q30_rate": self.q30_rate(),
            "gc_bases": self.gc_bases,
            "gc_content": self.gc_content(),
            "n_bases": self.n_bases,
            "n_rate": self.n_rate(),
            "zero_length_reads": self.zero_length_reads,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "mean_length": self.mean_length(),
            "length_histogram": lengths,
            "cycle_mean_quality": self.cycle_mean_quality(),
            "duplication_rate": self.duplication_rate,
        })
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// A QC report of one sample's FASTQ files (one, or a pair).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Per file, in the order given.
    pub files: Vec<Stats>,
}

impl Report {
    /// The sums over all files (fastp's "before filtering" summary of a pair).
    pub fn total(&self) -> Stats {
        let mut total = Stats::default();
        for f in &self.files {
            total.reads += f.reads;
            total.bases += f.bases;
            total.q20_bases += f.q20_bases;
            total.q30_bases += f.q30_bases;
            total.gc_bases += f.gc_bases;
            total.n_bases += f.n_bases;
            total.zero_length_reads += f.zero_length_reads;
            add_into(&mut total.length_counts, &f.length_counts);
            add_into(&mut total.cycle_quality_sum, &f.cycle_quality_sum);
            add_into(&mut total.cycle_bases, &f.cycle_bases);
        }
        total.min_length = self.files.iter().map(|f| f.min_length).min().unwrap_or(0);
        total.max_length = self.files.iter().map(|f| f.max_length).max().unwrap_or(0);
        // Reads-weighted mean of the files' rates (each file sampled on its own).
        let weighted: f64 = self
            .files
            .iter()
            .map(|f| f.duplication_rate * f.reads as f64)
            .sum();
        total.duplication_rate = if total.reads == 0 {
            0.0
        } else {
            weighted / total.reads as f64
        };
        total
    }

    /// `{"schema": "workbench.qc.fastq/1", "files": [...], "total": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut total = self.total().to_json();
        if let Some(map) = total.as_object_mut() {
            map.remove("path");
        }
        serde_json::json!({
            "schema": "workbench.qc.fastq/1",
            "files": self.files.iter().map(Stats::to_json).collect::<Vec<_>>(),
            "total": total,
        })
    }
}

fn add_into(total: &mut Vec<u64>, part: &[u64]) {
    if total.len() < part.len() {
        total.resize(part.len(), 0);
    }
    for (t, p) in total.iter_mut().zip(part) {
        *t += p;
    }
}

/// Measures one file.
///
/// # Errors
///
/// [`Error`] naming the file and, for a malformed record, its number and line.
pub fn measure(path: &Path) -> Result<Stats, Error> {
    let (blocks, recycle, gzip) = spawn_reader(path)?;
    let mut parser = Parser::new(path);
    parser.compressed = gzip;
    for block in blocks {
        // Dropping the channel on the way out ends the reader thread.
        if crate::interrupt::requested() {
            return Err(Error::Interrupted {
                path: path.to_owned(),
                records: parser.stats.reads,
            });
        }
        match block {
            Ok(bytes) => {
                parser.feed(&bytes)?;
                // Handing the block back spares the reader a fresh 4 MiB allocation (and
                // its page faults) per block: about a fifth of the time above inflating.
                let _ = recycle.send(bytes);
            }
            Err(source) => {
                return Err(if parser.compressed {
                    Error::Compressed {
                        path: path.to_owned(),
                        records: parser.stats.reads,
                        source,
                    }
                } else {
                    Error::Io {
                        path: path.to_owned(),
                        source,
                    }
                });
            }
        }
    }
    parser.finish()
}

/// Measures FASTQ text already in memory (plain, not compressed), fed to the parser in
/// blocks of `block` bytes: the same record splitting as for files, for tests and for
/// data that never touched a disk. `name` stands for the file in errors.
///
/// # Errors
///
/// As [`measure`], for a malformed record.
pub fn measure_bytes(name: &Path, data: &[u8], block: usize) -> Result<Stats, Error> {
    let mut parser = Parser::new(name);
    for chunk in data.chunks(block.max(1)) {
        parser.feed(chunk)?;
    }
    parser.finish()
}

/// Measures a sample's files: one (single-end) or two (a pair, read at the same time; both
/// must hold the same number of records).
///
/// # Errors
///
/// The first file's error, or [`Error::PairMismatch`].
pub fn measure_sample(paths: &[PathBuf]) -> Result<Report, Error> {
    let files = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .map(|p| scope.spawn(move || measure(p)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    if let [r1, r2] = files.as_slice()
        && r1.reads != r2.reads
    {
        return Err(Error::PairMismatch {
            r1: r1.path.clone(),
            reads1: r1.reads,
            r2: r2.path.clone(),
            reads2: r2.reads,
        });
    }
    Ok(Report { files })
}

type Blocks = crossbeam_channel::Receiver<io::Result<Vec<u8>>>;

/// Opens `path` and starts the thread that decompresses it into blocks; returns the
/// blocks, where to hand used blocks back for reuse, and whether the data are gzip (magic
/// `1f 8b`).
fn spawn_reader(path: &Path) -> Result<(Blocks, crossbeam_channel::Sender<Vec<u8>>, bool), Error> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut file = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 2];
    let peeked = peek(&mut file, &mut magic).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let head = magic[..peeked].to_vec();
    let gzip = head == [0x1f, 0x8b];
    let (sender, receiver) = crossbeam_channel::bounded(4);
    let (recycle, recycled) = crossbeam_channel::unbounded::<Vec<u8>>();
    std::thread::Builder::new()
        .name("fastq-reader".into())
        .spawn(move || {
            let chained = io::Cursor::new(head).chain(file);
            let mut input: Box<dyn Read> = if gzip {
                // MultiGzDecoder reads every member: BGZF and concatenated gzip files.
                Box::new(flate2::read::MultiGzDecoder::new(chained))
            } else {
                Box::new(chained)
            };
            loop {
                let mut block = recycled.try_recv().unwrap_or_default();
                block.resize(BLOCK, 0);
                let mut filled = 0;
                let result = loop {
                    match input.read(&mut block[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == block.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                block.truncate(filled);
                let last = filled < BLOCK;
                if filled > 0 && sender.send(Ok(block)).is_err() {
                    return;
                }
                if let Err(e) = result {
                    let _ = sender.send(Err(e));
                    return;
                }
                if last {
                    return;
                }
            }
        })
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok((receiver, recycle, gzip))
}

/// Reads up to `buf.len()` bytes without losing them (they are chained back in front).
fn peek(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Splits records out of blocks and counts them.
struct Parser {
    path: PathBuf,
    stats: Stats,
    carry: Vec<u8>,
    line: u64,
    compressed: bool,
    sketch: DupSketch,
}

impl Parser {
    fn new(path: &Path) -> Parser {
        Parser {
            path: path.to_owned(),
            stats: Stats {
                path: path.to_owned(),
                min_length: u64::MAX,
                ..Default::default()
            },
            carry: Vec::new(),
            line: 0,
            compressed: false,
            sketch: DupSketch::default(),
        }
    }

    fn feed(&mut self, block: &[u8]) -> Result<(), Error> {
        if self.carry.is_empty() {
            let used = self.records(block, false)?;
            self.carry.extend_from_slice(&block[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(block);
            let used = self.records(&joined, false)?;
            joined.drain(..used);
            self.carry = joined;
        }
        self.check_carry()
    }

    /// The unfinished record carried to the next block stays bounded: four lines of at
    /// most [`MAX_LINE`] bytes. A longer line (a file without newlines, a gzip bomb of
    /// one byte repeated) is an error naming its record and line, found before its
    /// bytes pile up.
    fn check_carry(&self) -> Result<(), Error> {
        let mut line = self.line + 1;
        let mut rest = self.carry.as_slice();
        loop {
            let end = memchr::memchr(b'\n', rest);
            let line_bytes = &rest[..end.unwrap_or(rest.len())];
            // As `records` measures it: without a CRLF's carriage return.
            let length = trim_cr(line_bytes).len();
            if length > MAX_LINE {
                return Err(self.error(
                    self.stats.reads + 1 + (line - self.line - 1) / 4,
                    line,
                    &format!(
                        "a line longer than {MAX_LINE} bytes: not a FASTQ of sequencing reads (reads of up to {MAX_LINE} bases are measured)"
                    ),
                ));
            }
            match end {
                Some(i) => {
                    rest = &rest[i + 1..];
                    line += 1;
                }
                None => return Ok(()),
            }
        }
    }

    fn finish(mut self) -> Result<Stats, Error> {
        if !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            let used = self.records(&carry, true)?;
            let rest = &carry[used..];
            if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                return Err(self.error(
                    self.stats.reads + 1,
                    self.line + 1,
                    "the file ends inside a record",
                ));
            }
        }
        if self.stats.reads == 0 {
            self.stats.min_length = 0;
        }
        self.stats.duplication_rate = self.sketch.rate();
        Ok(self.stats)
    }

    fn error(&self, record: u64, line: u64, problem: &str) -> Error {
        Error::Record {
            path: self.path.clone(),
            record,
            line,
            problem: problem.to_owned(),
        }
    }

    /// Consumes the complete records at the start of `data`; returns the bytes used. At
    /// the end of the input (`last`), a final line without newline completes a record.
    fn records(&mut self, data: &[u8], last: bool) -> Result<usize, Error> {
        let mut pos = 0;
        loop {
            let mut lines: [&[u8]; 4] = [&[]; 4];
            let mut cursor = pos;
            let mut complete = true;
            for slot in &mut lines {
                match memchr::memchr(b'\n', &data[cursor..]) {
                    Some(i) => {
                        *slot = trim_cr(&data[cursor..cursor + i]);
                        cursor += i + 1;
                    }
                    None if last && cursor < data.len() => {
                        *slot = trim_cr(&data[cursor..]);
                        cursor = data.len();
                    }
                    None => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                // Blank lines after the last record are tolerated.
                if last && data[pos..].iter().all(u8::is_ascii_whitespace) {
                    return Ok(data.len());
                }
                return Ok(pos);
            }
            let [header, seq, plus, qual] = lines;
            let record = self.stats.reads + 1;
            let first_line = self.line + 1;
            if header.is_empty() && last && data[pos..].iter().all(u8::is_ascii_whitespace) {
                return Ok(data.len());
            }
            if header.first() != Some(&b'@') {
                return Err(self.error(record, first_line, "header line does not start with '@'"));
            }
            if plus.first() != Some(&b'+') {
                return Err(self.error(
                    record,
                    first_line + 2,
                    "separator line does not start with '+' (a missing '+' line?)",
                ));
            }
            // Every line is held to the limit here as in `check_carry`, so the verdict does
            // not depend on where a block boundary falls.
            if let Some(i) = lines.iter().position(|l| l.len() > MAX_LINE) {
                return Err(self.error(
                    record,
                    first_line + i as u64,
                    &format!(
                        "a line of {} bytes: longer than the {MAX_LINE} bases measured per read",
                        lines[i].len()
                    ),
                ));
            }
            if seq.len() != qual.len() {
                return Err(self.error(
                    record,
                    first_line + 3,
                    &format!(
                        "sequence has {} bases but quality has {} characters",
                        seq.len(),
                        qual.len()
                    ),
                ));
            }
            self.count(seq, qual)
                .map_err(|(offset, byte)| {
                    self.error(
                        record,
                        first_line + 3,
                        &format!(
                            "quality character {:?} (byte {byte}) at position {} is outside '!'..'~' (Phred+33)",
                            char::from(byte),
                            offset + 1
                        ),
                    )
                })?;
            self.line += 4;
            pos = cursor;
        }
    }

    /// Adds one record; `Err((offset, byte))` for a quality character out of range.
    fn count(&mut self, seq: &[u8], qual: &[u8]) -> Result<(), (usize, u8)> {
        let (mut lowest, mut highest) = (u8::MAX, 0u8);
        let (mut q20, mut q30) = (0u64, 0u64);
        let len = qual.len();
        let s = &mut self.stats;
        if s.cycle_bases.len() < len {
            s.cycle_bases.resize(len, 0);
            s.cycle_quality_sum.resize(len, 0);
        }
        // Separate simple passes over the bytes: each one vectorises (the combined loop with
        // an indexed per-cycle sum did not), which roughly halves the time per base.
        for &q in qual {
            lowest = lowest.min(q);
            highest = highest.max(q);
        }
        for &q in qual {
            q20 += u64::from(q >= 33 + 20);
            q30 += u64::from(q >= 33 + 30);
        }
        for (sum, &q) in s.cycle_quality_sum[..len].iter_mut().zip(qual) {
            *sum += u64::from(q.wrapping_sub(33));
        }
        if len > 0 && (lowest < b'!' || highest > b'~') {
            let offset = qual
                .iter()
                .position(|q| !(b'!'..=b'~').contains(q))
                .unwrap_or(0);
            // Undo this record's per-cycle sums: the error stops the run, but a caller
            // that catches it must not see half a record.
            for (i, &q) in qual.iter().enumerate() {
                s.cycle_quality_sum[i] -= u64::from(q.wrapping_sub(33));
            }
            return Err((offset, qual[offset]));
        }
        for c in &mut s.cycle_bases[..len] {
            *c += 1;
        }
        let (mut gc, mut n) = (0u64, 0u64);
        for &b in seq {
            // Upper-casing by clearing bit 5 maps only g/c/n onto G/C/N among bytes that can
            // be compared here, and keeps the loop free of table lookups (vectorises).
            let upper = b & !0x20;
            gc += u64::from(upper == b'G' || upper == b'C');
            n += u64::from(upper == b'N');
        }
        s.reads += 1;
        s.bases += len as u64;
        s.q20_bases += q20;
        s.q30_bases += q30;
        s.gc_bases += gc;
        s.n_bases += n;
        s.zero_length_reads += u64::from(len == 0);
        s.min_length = s.min_length.min(len as u64);
        s.max_length = s.max_length.max(len as u64);
        if s.length_counts.len() <= len {
            s.length_counts.resize(len + 1, 0);
        }
        s.length_counts[len] += 1;
        self.sketch.add(hash(seq));
        Ok(())
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A 64-bit hash of a sequence (8 bytes at a time, multiply and xor-shift mixing).
fn hash(seq: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seq.len() as u64 ^ K;
    let mut chunks = seq.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(K);
        h ^= h >> 32;
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^= h >> 29;
    h.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
}

/// Duplicate fraction from a hash sample: a sequence is kept when the low `level` bits of
/// its hash are zero, so all copies of a sequence are in or out together and the sample's
/// duplicate fraction estimates the file's. The sample halves whenever it exceeds
/// [`DUP_SKETCH_CAPACITY`] distinct sequences, which bounds memory.
#[derive(Debug, Default)]
struct DupSketch {
    level: u32,
    counts: HashMap<u64, u32>,
}

impl DupSketch {
    fn add(&mut self, h: u64) {
        let mask = (1u64 << self.level) - 1;
        if h & mask != 0 {
            return;
        }
        *self.counts.entry(h).or_default() += 1;
        if self.counts.len() > DUP_SKETCH_CAPACITY {
            self.level += 1;
            let mask = (1u64 << self.level) - 1;
            self.counts.retain(|h, _| h & mask == 0);
        }
    }

    fn rate(&self) -> f64 {
        let sampled: u64 = self.counts.values().map(|c| u64::from(*c)).sum();
        let distinct = self.counts.len() as u64;
        ratio(sampled - distinct, sampled)
    }
}

impl Report {
    /// The per-cycle mean quality of every file as a line chart (Phred scale, with the Q20
    /// and Q30 levels marked).
    pub fn quality_plot(&self) -> crate::display::Svg {
        let series: Vec<super::report::Series> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| super::report::Series {
                label: f
                    .path
                    .file_name()
                    .map_or_else(|| format!("file {}", i + 1), |n| n.to_string_lossy().into()),
                points: f
                    .cycle_mean_quality()
                    .into_iter()
                    .enumerate()
                    .map(|(c, q)| (c as f64 + 1.0, q))
                    .collect(),
            })
            .collect();
        super::report::line_chart(
            "Mean quality per cycle",
            "cycle (position in read, from 1)",
            "mean quality (Phred)",
            &series,
            &[20.0, 30.0],
            Some((0.0, 42.0)),
        )
    }

    /// The report as a standalone HTML page (what `workbench qc fastq --html` writes).
    pub fn html_report(&self) -> String {
        super::report::standalone("FASTQ QC", &self.html())
    }

    /// The report as HTML: a table of the main metrics per file and in total, then the
    /// per-cycle quality chart.
    pub fn html(&self) -> crate::display::Html {
        use crate::display::escape;
        use std::fmt::Write as _;
        let mut rows: Vec<(String, Stats)> = self
            .files
            .iter()
            .map(|f| (f.path.display().to_string(), f.clone()))
            .collect();
        if self.files.len() > 1 {
            rows.push(("total".to_owned(), self.total()));
        }
        let mut html = String::from(
            "<div class=\"workbench-qc\"><table class=\"dataframe\"><thead><tr><th>file</th>\
             <th>reads</th><th>bases</th><th>Q20 %</th><th>Q30 %</th><th>GC %</th><th>N %</th>\
             <th>length</th><th>duplication %</th></tr></thead><tbody>",
        );
        let mut text = String::new();
        for (name, f) in &rows {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
                 <td>{:.4}</td><td>{}–{}</td><td>{:.2}</td></tr>",
                escape(name),
                f.reads,
                f.bases,
                100.0 * f.q20_rate(),
                100.0 * f.q30_rate(),
                100.0 * f.gc_content(),
                100.0 * f.n_rate(),
                f.min_length,
                f.max_length,
                100.0 * f.duplication_rate
            );
            let _ = writeln!(
                text,
                "{name}: {} reads, {} bases, Q30 {:.2} %",
                f.reads,
                f.bases,
                100.0 * f.q30_rate()
            );
        }
        html.push_str("</tbody></table>");
        html.push_str(&self.quality_plot().svg);
        html.push_str("</div>");
        crate::display::Html { html, text }
    }

    /// Shows the report in a notebook (called by evcxr for a cell's last value).
    pub fn evcxr_display(&self) {
        self.html().evcxr_display();
    }
}

impl Report {
    /// MultiQC custom content (a `*_mqc.json` file's JSON): one table row for `sample`
    /// with the totals, so sites that run MultiQC see our metrics beside their tools'.
    pub fn multiqc(&self, sample: &str) -> serde_json::Value {
        let t = self.total();
        serde_json::json!({
            "id": "workbench_fastq",
            "section_name": "Workbench FASTQ QC",
            "description": "Reads, bases and quality of the delivered FASTQ (workbench qc fastq; \
                            Q20/Q30 counted as fastp does before filtering).",
            "plot_type": "table",
            "pconfig": {"id": "workbench_fastq_table", "title": "Workbench: FASTQ QC"},
            "headers": {
                "reads": {"title": "Reads", "format": "{:,.0f}"},
                "bases": {"title": "Bases", "format": "{:,.0f}"},
                "q20_percent": {"title": "% Q20", "min": 0, "max": 100, "suffix": "%"},
                "q30_percent": {"title": "% Q30", "min": 0, "max": 100, "suffix": "%"},
                "gc_percent": {"title": "% GC", "min": 0, "max": 100, "suffix": "%"},
                "duplication_percent": {"title": "% Dup", "min": 0, "max": 100, "suffix": "%"},
            },
            "data": {
                sample: {
                    "reads": t.reads,
                    "bases": t.bases,
                    "q20_percent": 100.0 * t.q20_rate(),
                    "q30_percent": 100.0 * t.q30_rate(),
                    "gc_percent": 100.0 * t.gc_content(),
                    "duplication_percent": 100.0 * t.duplication_rate,
                }
            }
        })
    }
}

/// A sample name from a read-1 file name: `HCC1143_R1.fq.gz` → `HCC1143`.
pub fn sample_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut stem = name.as_str();
    for suffix in [".gz", ".bgz", ".fq", ".fastq", ".txt"] {
        stem = stem.strip_suffix(suffix).unwrap_or(stem);
    }
    for suffix in ["_R1_001", "_R1", "_r1", "_1", ".R1", ".1"] {
        if let Some(s) = stem.strip_suffix(suffix) {
            return s.to_owned();
        }
    }
    stem.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn counts_by_hand() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Qualities: '5' = 20, '?' = 30, '+' = 10, 'I' = 40.
        let path = write(
            dir.path(),
            "a.fq",
            "@r1\nACGN\n+\n5?+I\n@r2\n\n+\n\n@r3\nGG\n+r3\nII\n",
        );
        let s = measure(&path).expect("measure");
        assert_eq!((s.reads, s.bases), (3, 6));
        assert_eq!((s.q20_bases, s.q30_bases), (5, 4));
        assert_eq!((s.gc_bases, s.n_bases), (4, 1));
        assert_eq!(s.zero_length_reads, 1);
        assert_eq!((s.min_length, s.max_length), (0, 4));
        assert_eq!(s.length_counts, vec![1, 0, 1, 0, 1]);
        assert_eq!(s.cycle_bases, vec![2, 2, 1, 1]);
        assert_eq!(s.cycle_mean_quality(), vec![30.0, 35.0, 10.0, 40.0]);
    }

    #[test]
    fn gzip_and_blocks_give_the_same_numbers() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!(
                "@read{i}\nACGTACGTNN{}\n+\nIIIII55555{}\n",
                "A".repeat(i % 7),
                "?".repeat(i % 7)
            ));
        }
        let plain = write(dir.path(), "p.fq", &text);
        // Two gzip members, as BGZF writes them.
        let gz = dir.path().join("p.fq.gz");
        let mut out = File::create(&gz).expect("create");
        let (a, b) = text.split_at(text.len() / 2);
        for part in [a, b] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).expect("gzip");
            out.write_all(&e.finish().expect("gzip")).expect("write");
        }
        drop(out);
        let (p, g) = (measure(&plain).expect("plain"), measure(&gz).expect("gz"));
        assert_eq!(p.reads, 50_000);
        assert_eq!(
            (p.bases, p.q20_bases, p.q30_bases, p.gc_bases, p.n_bases),
            (g.bases, g.q20_bases, g.q30_bases, g.gc_bases, g.n_bases)
        );
        assert_eq!(p.cycle_quality_sum, g.cycle_quality_sum);
    }

    #[test]
    fn malformed_records_name_record_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            (
                "@a\nAC\n+\nII\n@b\nACG\n+\nII\n",
                2,
                8,
                "3 bases but quality has 2",
            ),
            ("@a\nAC\n+\nII\n@b\nAC\nII\n@c\n", 2, 7, "'+'"),
            ("@a\nAC\n+\nI\u{7f}\n", 1, 4, "outside"),
            ("@a\nAC\n+\nI \n", 1, 4, "outside"),
            ("a\nAC\n+\nII\n", 1, 1, "'@'"),
            ("@a\nAC\n+\nII\n@b\nAC\n", 2, 5, "ends inside a record"),
        ];
        for (i, (text, record, line, needle)) in cases.into_iter().enumerate() {
            let path = write(dir.path(), &format!("bad{i}.fq"), text);
            match measure(&path) {
                Err(Error::Record {
                    record: r,
                    line: l,
                    problem,
                    ..
                }) => {
                    assert_eq!((r, l), (record, line), "case {i}: {problem}");
                    assert!(problem.contains(needle), "case {i}: {problem}");
                }
                other => panic!("case {i}: expected a record error, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_line_longer_than_the_limit_is_an_error_before_it_piles_up() {
        // Fed in small blocks: the unfinished line is refused once it passes the limit.
        let mut data = b"@r1\nACGT\n+\nIIII\n@r2\n".to_vec();
        data.extend(std::iter::repeat_n(b'A', MAX_LINE + 1));
        let err = measure_bytes(Path::new("long.fq"), &data, 64 * 1024).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Record {
                    record: 2,
                    line: 6,
                    ..
                }
            ),
            "{err}"
        );
        // A whole record inside one block: the read itself is refused.
        let mut data = b"@r1\n".to_vec();
        data.extend(std::iter::repeat_n(b'A', MAX_LINE + 1));
        data.extend(b"\n+\n");
        data.extend(std::iter::repeat_n(b'I', MAX_LINE + 1));
        data.push(b'\n');
        let err = measure_bytes(Path::new("long.fq"), &data, 8 << 20).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Record {
                    record: 1,
                    line: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("longer than the 1048576 bases"),
            "{err}"
        );
    }

    #[test]
    fn truncated_gzip_is_an_error_not_a_short_count() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "@r\nACGT\n+\nIIII\n".repeat(10_000);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).expect("gzip");
        let bytes = e.finish().expect("gzip");
        let path = dir.path().join("cut.fq.gz");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
        let err = measure(&path).expect_err("truncated");
        assert!(matches!(err, Error::Compressed { .. }), "{err}");
        assert!(err.to_string().contains("cut.fq.gz"), "{err}");
    }

    #[test]
    fn pairs_must_match_and_duplicates_are_estimated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r1 = write(dir.path(), "r1.fq", &"@r\nACGT\n+\nIIII\n".repeat(4));
        let r2 = write(dir.path(), "r2.fq", &"@r\nACGT\n+\nIIII\n".repeat(3));
        let err = measure_sample(&[r1.clone(), r2]).expect_err("mismatch");
        assert!(matches!(
            err,
            Error::PairMismatch {
                reads1: 4,
                reads2: 3,
                ..
            }
        ));
        // Four copies of one sequence: three duplicates.
        let report = measure_sample(&[r1]).expect("single");
        assert!((report.files[0].duplication_rate - 0.75).abs() < 1e-12);
    }

    /// Fuzzing on the stable toolchain (cargo-fuzz needs nightly, which this machine cannot
    /// fetch): thousands of random byte edits of a real FASTQ, fed in random block sizes,
    /// must give a count or an error, never a panic; and block size never changes a count.
    #[test]
    fn random_edits_never_panic() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../datasets/sequencing/fastp_testdata/R2.fq");
        let original = std::fs::read(&path).expect("datasets/sequencing/fastp_testdata/R2.fq");
        let whole = measure_bytes(&path, &original, usize::MAX).expect("valid");
        assert_eq!(whole.reads, 9, "fastp's R2 test file");
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let interesting = [b'@', b'+', b'\n', b'\r', b'!', b'~', 0, 0xff, b'N', b' '];
        for round in 0..3000 {
            let mut data = original.clone();
            for _ in 0..(1 + next() % 4) {
                let at = (next() % data.len() as u64) as usize;
                match next() % 4 {
                    0 => data[at] = interesting[(next() % interesting.len() as u64) as usize],
                    1 => {
                        data.remove(at);
                    }
                    2 => data.insert(
                        at,
                        interesting[(next() % interesting.len() as u64) as usize],
                    ),
                    _ => data.truncate(at),
                }
                if data.is_empty() {
                    break;
                }
            }
            let block = 1 + (next() % 97) as usize;
            let _ = measure_bytes(&path, &data, block);
            if round % 100 == 0 {
                let split = measure_bytes(&path, &original, block).expect("valid");
                assert_eq!(split, whole, "block size {block} changed the counts");
            }
        }
    }

    #[test]
    fn sketch_bounds_memory_and_keeps_the_rate() {
        let mut sketch = DupSketch::default();
        // 3M distinct sequences, each seen twice: rate 0.5.
        for i in 0..3_000_000u64 {
            let h = hash(&i.to_le_bytes());
            sketch.add(h);
            sketch.add(h);
        }
        assert!(sketch.counts.len() <= DUP_SKETCH_CAPACITY);
        assert!(sketch.level >= 1);
        assert!((sketch.rate() - 0.5).abs() < 1e-9, "{}", sketch.rate());
    }
}
