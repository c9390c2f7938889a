//! Depth of coverage against mosdepth (Debian 0.3.3, default overlap-corrected mode) on every
//! test BAM and on random pairs made to hit mosdepth's edge cases; insert sizes against
//! samtools; unsorted and unindexed files refused.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{bams, datasets, samtools, workbench, workbench_ok};

const THRESHOLDS: [u64; 4] = [1, 10, 20, 30];

/// One row of `*.mosdepth.summary.txt`: length, bases, min, max.
type Row = [u64; 4];

/// What mosdepth says about a BAM.
struct Mosdepth {
    summary: BTreeMap<String, Row>,
    /// Positions with at least each threshold, over sequences with reads (from per-base).
    breadth: [u64; 4],
    /// With a BED: the summed `thresholds.bed.gz` columns.
    region_breadth: Option<[u64; 4]>,
}

fn zcat(path: &Path) -> String {
    let output = Command::new("gzip")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("gzip");
    assert!(output.status.success(), "gzip -dc {}", path.display());
    String::from_utf8(output.stdout).expect("utf-8")
}

fn mosdepth(bam: &Path, mapq: u8, bed: Option<&Path>, fasta: Option<&Path>) -> Mosdepth {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("m");
    let mut command = Command::new("mosdepth");
    command.args(["-Q", &mapq.to_string()]);
    if let Some(fasta) = fasta {
        command.arg("-f").arg(fasta);
    }
    if let Some(bed) = bed {
        command.arg("--by").arg(bed).args(["-T", "1,10,20,30"]);
    }
    let output = command
        .arg(&prefix)
        .arg(bam)
        .output()
        .expect("mosdepth runs (./x test installs it)");
    assert!(
        output.status.success(),
        "mosdepth {}: {}",
        bam.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let file = |suffix: &str| dir.path().join(format!("m.{suffix}"));
    let mut summary = BTreeMap::new();
    for line in std::fs::read_to_string(file("mosdepth.summary.txt"))
        .expect("summary")
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split('\t').collect();
        let n = |i: usize| f[i].parse::<u64>().expect("number");
        summary.insert(f[0].to_owned(), [n(1), n(2), n(4), n(5)]);
    }
    let mut breadth = [0u64; 4];
    for line in zcat(&file("per-base.bed.gz")).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if !summary.contains_key(f[0]) {
            continue;
        }
        let span = f[2].parse::<u64>().expect("end") - f[1].parse::<u64>().expect("start");
        let depth: u64 = f[3].parse().expect("depth");
        for (b, t) in breadth.iter_mut().zip(THRESHOLDS) {
            if depth >= t {
                *b += span;
            }
        }
    }
    let region_breadth = bed.map(|_| {
        let mut sums = [0u64; 4];
        for line in zcat(&file("thresholds.bed.gz")).lines().skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            for (i, s) in sums.iter_mut().enumerate() {
                *s += f[4 + i].parse::<u64>().expect("count");
            }
        }
        sums
    });
    Mosdepth {
        summary,
        breadth,
        region_breadth,
    }
}

fn ours(bam: &Path, mapq: u8, bed: Option<&Path>) -> Value {
    report(bam, mapq, bed, None)["depth"].clone()
}

fn report(bam: &Path, mapq: u8, bed: Option<&Path>, fasta: Option<&Path>) -> Value {
    let mapq = mapq.to_string();
    let mut args = vec!["qc", "bam", bam.to_str().expect("utf-8"), "--mapq", &mapq];
    if let Some(bed) = bed {
        args.extend(["--bed", bed.to_str().expect("utf-8")]);
    }
    if let Some(fasta) = fasta {
        args.extend(["--reference", fasta.to_str().expect("utf-8")]);
    }
    args.push("--json");
    serde_json::from_str(&workbench_ok(&args)).expect("JSON")
}

fn row(summary: &Value) -> Row {
    ["length", "bases", "min", "max"].map(|k| summary[k].as_u64().expect(k))
}

fn breadth(summary: &Value) -> [u64; 4] {
    THRESHOLDS.map(|t| summary["breadth"][t.to_string()].as_u64().expect("breadth"))
}

/// Our depth equals mosdepth's: every sequence's and the total's length, bases (sum of
/// depth), min and max, and the bases at ≥1/10/20/30x; with a BED, the regional totals.
fn assert_same(bam: &Path, mapq: u8, bed: Option<&Path>) {
    assert_same_with(bam, mapq, bed, None);
}

fn assert_same_with(bam: &Path, mapq: u8, bed: Option<&Path>, fasta: Option<&Path>) {
    let name = format!("{} (-Q {mapq})", bam.display());
    let theirs = mosdepth(bam, mapq, bed, fasta);
    let ours = report(bam, mapq, bed, fasta)["depth"].clone();
    assert_eq!(
        row(&ours["total"]),
        theirs.summary["total"],
        "{name}: total"
    );
    assert_eq!(breadth(&ours["total"]), theirs.breadth, "{name}: breadth");
    let sequences = ours["sequences"].as_array().expect("sequences");
    let their_sequences = theirs
        .summary
        .keys()
        .filter(|k| !k.starts_with("total") && !k.ends_with("_region"))
        .count();
    assert_eq!(sequences.len(), their_sequences, "{name}: sequences");
    for s in sequences {
        let chrom = s["name"].as_str().expect("name");
        assert_eq!(row(s), theirs.summary[chrom], "{name}: {chrom}");
    }
    if let Some(region_breadth) = theirs.region_breadth {
        let regions = &ours["regions"]["total"];
        assert_eq!(
            row(regions),
            theirs.summary["total_region"],
            "{name}: regions"
        );
        assert_eq!(breadth(regions), region_breadth, "{name}: region breadth");
    }
}

#[test]
fn depth_equals_mosdepth_on_every_test_bam() {
    let files = bams();
    assert!(files.len() >= 10, "{files:?}");
    for bam in &files {
        assert_same(bam, 0, None);
    }
    // mosdepth's own edge cases, with the totals its tests document.
    let tests = datasets().join("sequencing/mosdepth_tests");
    for (file, bases) in [
        ("overlapping-pairs.bam", 80),
        ("ovl.bam", 80),
        ("full-fragment-pairs.bam", 800),
    ] {
        assert_eq!(
            ours(&tests.join(file), 0, None)["total"]["bases"],
            bases,
            "{file}"
        );
    }
    // A mapping-quality threshold and a BED of windows across the HCC1143 slice.
    let dir = tempfile::tempdir().expect("tempdir");
    let bed = dir.path().join("windows.bed");
    let mut text = String::from("track name=windows\n");
    for start in (520_000..535_000).step_by(1_500) {
        let _ = writeln!(text, "chr11\t{start}\t{}\tw{start}", start + 1_700);
    }
    std::fs::write(&bed, text).expect("bed");
    let tumour = datasets().join("sequencing/derived/HCC1143.grch38tiny.markdup.bam");
    assert_same(&tumour, 20, None);
    assert_same(&tumour, 0, Some(&bed));
}

/// A small xorshift generator: the random pairs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random CIGAR with reference span and query length: soft clips, insertions, deletions,
/// skips and =/X blocks, or (often) a single M so mosdepth's one-operation paths run too.
fn random_cigar(rng: &mut Rng) -> (String, u64, u64) {
    if rng.chance(45) {
        let len = 30 + rng.below(70);
        return (format!("{len}M"), len, len);
    }
    let mut cigar = String::new();
    let (mut span, mut query) = (0, 0);
    if rng.chance(30) {
        let s = 1 + rng.below(15);
        let _ = write!(cigar, "{s}S");
        query += s;
    }
    let blocks = 1 + rng.below(4);
    for i in 0..blocks {
        if i > 0 {
            let len = 1 + rng.below(12);
            let op = ["I", "D", "N", "D"][rng.below(4) as usize];
            let _ = write!(cigar, "{len}{op}");
            if op == "I" {
                query += len;
            } else {
                span += len;
            }
        }
        let len = 5 + rng.below(40);
        let op = ["M", "M", "=", "X"][rng.below(4) as usize];
        let _ = write!(cigar, "{len}{op}");
        span += len;
        query += len;
    }
    if rng.chance(30) {
        let s = 1 + rng.below(15);
        let _ = write!(cigar, "{s}S");
        query += s;
    }
    (cigar, span, query)
}

/// A SAM file of random read pairs on two sequences (a third has none): overlapping,
/// contained, same-start and distant mates, improper pairs, mates on other sequences,
/// duplicates, QC failures, secondary and supplementary records, mapping qualities 0–60.
fn random_sam(seed: u64, pairs: usize) -> String {
    let mut rng = Rng(seed);
    let lengths = [("s1", 6_000u64), ("s2", 4_000), ("s3", 2_000)];
    let mut sam = String::from("@HD\tVN:1.6\tSO:unsorted\n");
    for (name, len) in lengths {
        let _ = writeln!(sam, "@SQ\tSN:{name}\tLN:{len}");
    }
    let seq = |n: u64, rng: &mut Rng| -> String {
        (0..n)
            .map(|_| b"ACGT"[rng.below(4) as usize] as char)
            .collect()
    };
    for i in 0..pairs {
        let chrom = if rng.chance(75) { 0 } else { 1 };
        let len = lengths[chrom].1;
        let (c1, span1, q1) = random_cigar(&mut rng);
        let (c2, span2, q2) = random_cigar(&mut rng);
        let pos1 = rng.below(len - 800);
        let pos2 = match rng.below(6) {
            0 => pos1,                               // same start
            1 => pos1 + rng.below(span1.max(2) / 2), // inside the first mate
            2 => pos1 + 150 + rng.below(200),        // apart
            3 => pos1.saturating_sub(rng.below(40)), // a little before
            _ => pos1 + rng.below(span1 + 10),       // overlapping or touching
        };
        let other_chrom = rng.chance(5);
        let chrom2 = if other_chrom { 1 - chrom } else { chrom };
        let pos2 = if other_chrom {
            rng.below(lengths[chrom2].1 - 800)
        } else {
            pos2
        };
        let proper = !other_chrom && rng.chance(85);
        let mut flag1 = 0x1 | 0x40 | 0x20;
        let mut flag2 = 0x1 | 0x80 | 0x10;
        if proper {
            flag1 |= 0x2;
            flag2 |= 0x2;
        }
        if rng.chance(6) {
            // Duplicates are marked on both mates, as markdup does.
            flag1 |= 0x400;
            flag2 |= 0x400;
        }
        if rng.chance(3) {
            flag1 |= 0x200;
        }
        let mapq1 = rng.below(61);
        let mapq2 = rng.below(61);
        let (end1, end2) = (pos1 + span1, pos2 + span2);
        let tlen = if other_chrom {
            0
        } else {
            end1.max(end2) as i64 - pos1.min(pos2) as i64
        };
        let (n1, n2) = (lengths[chrom].0, lengths[chrom2].0);
        let next = |a: usize, b: usize, name: &str| {
            if a == b {
                "=".to_owned()
            } else {
                name.to_owned()
            }
        };
        let _ = writeln!(
            sam,
            "p{i}\t{flag1}\t{n1}\t{}\t{mapq1}\t{c1}\t{}\t{}\t{tlen}\t{}\t*",
            pos1 + 1,
            next(chrom, chrom2, n2),
            pos2 + 1,
            seq(q1, &mut rng)
        );
        let _ = writeln!(
            sam,
            "p{i}\t{flag2}\t{n2}\t{}\t{mapq2}\t{c2}\t{}\t{}\t{}\t{}\t*",
            pos2 + 1,
            next(chrom2, chrom, n1),
            pos1 + 1,
            -tlen,
            seq(q2, &mut rng)
        );
        if rng.chance(8) {
            // A secondary or supplementary record of the first read.
            let extra = if rng.chance(50) { 0x100 } else { 0x800 } | (flag1 & 0x2) | 0x41;
            let (c, _, q) = random_cigar(&mut rng);
            let _ = writeln!(
                sam,
                "p{i}\t{extra}\t{n1}\t{}\t{}\t{c}\t=\t{}\t0\t{}\t*",
                rng.below(len - 400) + 1,
                rng.below(61),
                pos2 + 1,
                seq(q, &mut rng)
            );
        }
    }
    sam
}

/// Writes the random SAM, sorts and indexes it; returns the BAM and the unsorted BAM.
fn random_bam(dir: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let sam = dir.join(format!("r{seed}.sam"));
    std::fs::write(&sam, random_sam(seed, 1_500)).expect("sam");
    let bam = dir.join(format!("r{seed}.bam"));
    let unsorted = dir.join(format!("r{seed}.unsorted.bam"));
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    samtools(&["sort", "-o", &s(&bam), &s(&sam)]);
    samtools(&["index", &s(&bam)]);
    samtools(&["view", "-b", "-o", &s(&unsorted), &s(&sam)]);
    (bam, unsorted)
}

#[test]
fn depth_equals_mosdepth_on_random_pairs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bed = dir.path().join("regions.bed");
    // Regions on both sequences with reads, one on the sequence without reads, one on a
    // sequence missing from the header, and overlapping regions (counted twice, as mosdepth).
    std::fs::write(
        &bed,
        "s1\t0\t500\ns1\t300\t2500\tb\ns1\t4000\t5999\ns2\t100\t3900\ns3\t0\t1000\nchrZ\t1\t10\n",
    )
    .expect("bed");
    for seed in [7, 1_234_567, 987_654_321] {
        let (bam, _) = random_bam(dir.path(), seed);
        for mapq in [0, 20] {
            assert_same(&bam, mapq, None);
        }
        assert_same(&bam, 0, Some(&bed));
    }
    let (bam, _) = random_bam(dir.path(), 7);
    let output = workbench(&[
        "qc",
        "bam",
        bam.to_str().expect("utf-8"),
        "--bed",
        bed.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("chrZ, which is not in the BAM header"),
        "{stderr}"
    );
}

#[test]
fn insert_sizes_equal_samtools_view() {
    let bam = datasets().join("sequencing/derived/HCC1143.grch38tiny.markdup.bam");
    let output = Command::new("samtools")
        .args(["view", "-f", "0x81", "-F", "0xF0C"])
        .arg(&bam)
        .output()
        .expect("samtools view");
    let mut sizes: Vec<u64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[6] == "=")
        .map(|f| f[8].parse::<i64>().expect("TLEN").unsigned_abs())
        .filter(|s| *s > 0)
        .collect();
    sizes.sort_unstable();
    assert!(sizes.len() > 100, "{}", sizes.len());
    let report: Value = serde_json::from_str(&workbench_ok(&[
        "qc",
        "bam",
        bam.to_str().expect("utf-8"),
        "--no-depth",
        "--json",
    ]))
    .expect("JSON");
    let ours = &report["insert_size"];
    assert_eq!(ours["pairs"], sizes.len());
    assert_eq!(ours["median"], sizes[(sizes.len() - 1) / 2]);
    let mean = sizes.iter().sum::<u64>() as f64 / sizes.len() as f64;
    assert!((ours["mean"].as_f64().expect("mean") - mean).abs() < 1e-9);
    assert!(report["depth"].is_null(), "--no-depth measured depth");
}

#[test]
fn unsorted_or_unindexed_bam_is_refused_for_depth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bam, unsorted) = random_bam(dir.path(), 42);
    // With the sorted file's index beside it, the unsorted file gets past the index check
    // and is refused at its first record out of order.
    let mut index = unsorted.clone().into_os_string();
    index.push(".bai");
    std::fs::copy(dir.path().join("r42.bam.bai"), &index).expect("copy index");
    let output = workbench(&["qc", "bam", unsorted.to_str().expect("utf-8")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not sorted by coordinate")
            && stderr.contains("r42.unsorted.bam: record ")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
    let unindexed = dir.path().join("copy.bam");
    std::fs::copy(&bam, &unindexed).expect("copy");
    let output = workbench(&["qc", "bam", unindexed.to_str().expect("utf-8")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("copy.bam: no index") && !stderr.contains("panicked"),
        "{stderr}"
    );
    // An index of another file is refused too.
    let other = datasets().join("sequencing/derived/HCC1143.grch38tiny.markdup.bam.bai");
    std::fs::copy(other, dir.path().join("copy.bam.bai")).expect("copy index");
    let output = workbench(&["qc", "bam", unindexed.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("not the index of this file"),
        "{stderr}"
    );
    // Counts only need neither order nor index.
    for file in [&unsorted, &unindexed] {
        workbench_ok(&["qc", "bam", file.to_str().expect("utf-8"), "--no-depth"]);
    }
}

/// `samtools view -C` of `bam` against `fasta`, indexed.
fn to_cram(bam: &Path, fasta: &Path, out: &Path) {
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    samtools(&["view", "-C", "-T", &s(fasta), "-o", &s(out), &s(bam)]);
    samtools(&["index", &s(out)]);
}

#[test]
fn cram_gives_the_numbers_of_its_bam() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = datasets().join("sequencing");
    let tiny = data.join("icgc_argo_hcc1143/tiny-grch38-chr11-530001-537000.fa");
    let demo = data.join("strelka_demo/demo20.fa");
    for (bam, fasta) in [
        (data.join("derived/HCC1143.grch38tiny.markdup.bam"), &tiny),
        (
            data.join("derived/HCC1143_BL.grch38tiny.markdup.bam"),
            &tiny,
        ),
        (data.join("strelka_demo/NA12891_demo20.bam"), &demo),
    ] {
        let cram = dir.path().join("x.cram");
        to_cram(&bam, fasta, &cram);
        let mut from_bam = report(&bam, 0, None, None);
        let from_cram = report(&cram, 0, None, Some(fasta));
        from_bam["path"] = from_cram["path"].clone();
        assert_eq!(from_cram, from_bam, "{}", bam.display());
        assert_same_with(&cram, 0, None, Some(fasta));
    }
    // Random pairs with every CIGAR operation, on a random reference.
    let (bam, _) = random_bam(dir.path(), 99);
    let fasta = dir.path().join("random.fa");
    let mut rng = Rng(5);
    let mut text = String::new();
    for (name, len) in [("s1", 6_000), ("s2", 4_000), ("s3", 2_000)] {
        let _ = writeln!(text, ">{name}");
        let seq: String = (0..len)
            .map(|_| b"ACGT"[rng.below(4) as usize] as char)
            .collect();
        for line in seq.as_bytes().chunks(60) {
            let _ = writeln!(text, "{}", String::from_utf8_lossy(line));
        }
    }
    std::fs::write(&fasta, text).expect("fasta");
    samtools(&["faidx", fasta.to_str().expect("utf-8")]);
    let cram = dir.path().join("random.cram");
    to_cram(&bam, &fasta, &cram);
    for mapq in [0, 20] {
        assert_same_with(&cram, mapq, None, Some(&fasta));
    }
    // Without its reference a CRAM file is refused with the option to give.
    let output = workbench(&["qc", "bam", cram.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success()
            && stderr.contains("random.cram: a CRAM file")
            && stderr.contains("--reference"),
        "{stderr}"
    );
    let output = workbench(&[
        "qc",
        "bam",
        cram.to_str().expect("utf-8"),
        "--reference",
        dir.path().join("missing.fa").to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("missing.fa") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
