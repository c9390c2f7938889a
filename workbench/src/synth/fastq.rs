//! Tiny raw FASTQ pairs simulated from a 7 kb slice of GRCh38 (chr11, around HRAS).
//!
//! They give later QC and pipeline work real-format inputs: tumour and normal pairs
//! of the same case share germline SNPs, the tumour carries somatic SNVs at a VAF set
//! by its purity, and `truth.vcf` lists both so a caller's output can be checked.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

use crate::lake::Dataset;
use crate::synth::rng::Rng;
use crate::synth::{Config, Error};

static REFERENCE_FASTA: &str = include_str!("../../../datasets/reference/chr11_530001_537000.fa");

/// Contig name of the embedded reference slice.
pub const CONTIG: &str = "chr11_530001_537000";
/// GRCh38 chr11 position of the slice's first base, minus one.
const GRCH38_OFFSET: i64 = 530_000;
const READ_LENGTH: usize = 101;

/// A raw sample written by the synthetic programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSample {
    /// Case id.
    pub case_id: String,
    /// Sample id.
    pub sample_id: String,
    /// Read 1 file.
    pub r1: PathBuf,
    /// Read 2 file.
    pub r2: PathBuf,
    /// Read pairs.
    pub pairs: usize,
}

/// The embedded reference slice's bases.
pub fn reference() -> Vec<u8> {
    REFERENCE_FASTA
        .lines()
        .filter(|l| !l.starts_with('>'))
        .flat_map(|l| l.trim().bytes())
        .collect()
}

struct Snv {
    offset: usize,
    alternate: u8,
    somatic: bool,
}

fn other_base(rng: &mut Rng, base: u8) -> u8 {
    loop {
        let b = b"ACGT"[rng.index(4)];
        if b != base {
            return b;
        }
    }
}

fn complement(base: u8) -> u8 {
    match base {
        b'A' => b'T',
        b'C' => b'G',
        b'G' => b'C',
        b'T' => b'A',
        other => other,
    }
}

pub(crate) fn write_raw(
    config: &Config,
    dataset: &Dataset,
    raw: &Path,
) -> Result<Vec<RawSample>, Error> {
    let reference = reference();
    let mut written = Vec::new();
    // Cases with both tumour and normal delivered, in case order.
    let mut cases: Vec<&str> = Vec::new();
    for sample in &dataset.samples {
        if cases.len() >= config.raw_cases {
            break;
        }
        let delivered = |suffix: &str| {
            dataset.samples.iter().any(|s| {
                s.case_id == sample.case_id
                    && s.sample_id.ends_with(suffix)
                    && s.delivered_on.is_some()
            })
        };
        if !cases.contains(&sample.case_id.as_str()) && delivered("-T1") && delivered("-N1") {
            cases.push(&sample.case_id);
        }
    }
    for (case_idx, case_id) in cases.iter().enumerate() {
        let mut rng = Rng::new(config.seed, (1 << 40) + case_idx as u64);
        let mut snvs = Vec::new();
        for somatic in [false, false, false, true, true, true] {
            let offset = rng.range(200, reference.len() as i64 - 200) as usize;
            snvs.push(Snv {
                offset,
                alternate: other_base(&mut rng, reference[offset]),
                somatic,
            });
        }
        // HRAS G12V (GRCh38 chr11:534288 C>A) in the first raw tumour.
        if case_idx == 0 {
            snvs.push(Snv {
                offset: (534_288 - GRCH38_OFFSET - 1) as usize,
                alternate: b'A',
                somatic: true,
            });
        }
        snvs.sort_by_key(|s| s.offset);
        let purity = rng.normal(0.7, 0.1).clamp(0.4, 0.95);
        let dir = raw.join(case_id);
        fs::create_dir_all(&dir).map_err(|source| Error::Raw {
            path: dir.clone(),
            source,
        })?;
        write_truth(&dir.join("truth.vcf"), &reference, &snvs, purity)?;
        for (suffix, tumour) in [("T1", true), ("N1", false)] {
            let sample_id = format!("{case_id}-{suffix}");
            let sample_dir = dir.join(&sample_id);
            fs::create_dir_all(&sample_dir).map_err(|source| Error::Raw {
                path: sample_dir.clone(),
                source,
            })?;
            let r1 = sample_dir.join(format!("{sample_id}_R1.fastq.gz"));
            let r2 = sample_dir.join(format!("{sample_id}_R2.fastq.gz"));
            let mut reads = Rng::new(
                config.seed,
                (2 << 40) + (case_idx as u64) * 2 + u64::from(tumour),
            );
            simulate_pair(
                &mut reads,
                &reference,
                &snvs,
                if tumour { purity } else { 0.0 },
                &sample_id,
                config.raw_pairs,
                &r1,
                &r2,
            )?;
            written.push(RawSample {
                case_id: (*case_id).to_owned(),
                sample_id,
                r1,
                r2,
                pairs: config.raw_pairs,
            });
        }
    }
    Ok(written)
}

fn write_truth(path: &Path, reference: &[u8], snvs: &[Snv], purity: f64) -> Result<(), Error> {
    let io = |source| Error::Raw {
        path: path.to_owned(),
        source,
    };
    let mut text = String::new();
    text.push_str("##fileformat=VCFv4.3\n");
    text.push_str(&format!(
        "##contig=<ID={CONTIG},length={}>\n",
        reference.len()
    ));
    text.push_str(
        "##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description=\"Present only in the tumour\">\n",
    );
    text.push_str("##INFO=<ID=EXPECTED_VAF,Number=1,Type=Float,Description=\"Simulated allele fraction in the tumour\">\n");
    text.push_str(
        "##INFO=<ID=GRCH38_POS,Number=1,Type=Integer,Description=\"Position on GRCh38 chr11\">\n",
    );
    text.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
    for snv in snvs {
        let vaf = if snv.somatic { purity * 0.5 } else { 0.5 };
        text.push_str(&format!(
            "{CONTIG}\t{}\t.\t{}\t{}\t.\tPASS\t{}EXPECTED_VAF={vaf:.3};GRCH38_POS={}\n",
            snv.offset + 1,
            reference[snv.offset] as char,
            snv.alternate as char,
            if snv.somatic { "SOMATIC;" } else { "" },
            snv.offset as i64 + 1 + GRCH38_OFFSET,
        ));
    }
    fs::write(path, text).map_err(io)
}

fn gz_writer(path: &Path) -> Result<BufWriter<GzEncoder<File>>, Error> {
    let file = File::create(path).map_err(|source| Error::Raw {
        path: path.to_owned(),
        source,
    })?;
    // mtime 0 and no file name in the header keep the output byte-identical per seed.
    Ok(BufWriter::new(
        GzBuilder::new().mtime(0).write(file, Compression::new(6)),
    ))
}

/// Binned NovaSeq-style quality: mostly Q37, worse towards the read's end.
fn quality(rng: &mut Rng, cycle: usize) -> u8 {
    let tail = cycle as f64 / READ_LENGTH as f64;
    let x = rng.f64();
    if x < 0.002 {
        2
    } else if x < 0.02 + 0.04 * tail {
        12
    } else if x < 0.08 + 0.12 * tail {
        23
    } else {
        37
    }
}

#[allow(clippy::too_many_arguments)]
fn simulate_pair(
    rng: &mut Rng,
    reference: &[u8],
    snvs: &[Snv],
    purity: f64,
    sample_id: &str,
    pairs: usize,
    r1_path: &Path,
    r2_path: &Path,
) -> Result<(), Error> {
    let mut r1 = gz_writer(r1_path)?;
    let mut r2 = gz_writer(r2_path)?;
    let mut fragment = Vec::with_capacity(600);
    for pair in 0..pairs {
        let length = rng
            .normal(320.0, 40.0)
            .clamp(READ_LENGTH as f64 + 20.0, 550.0) as usize;
        let start = rng.index(reference.len() - length);
        let haplotype = rng.index(2);
        let tumour_cell = rng.chance(purity);
        fragment.clear();
        fragment.extend_from_slice(&reference[start..start + length]);
        for snv in snvs
            .iter()
            .filter(|s| (start..start + length).contains(&s.offset))
        {
            // Germline SNPs sit on haplotype 1; somatic SNVs on haplotype 0 of tumour cells.
            let present = if snv.somatic {
                tumour_cell && haplotype == 0
            } else {
                haplotype == 1
            };
            if present {
                fragment[snv.offset - start] = snv.alternate;
            }
        }
        if rng.chance(0.5) {
            fragment.reverse();
            fragment.iter_mut().for_each(|b| *b = complement(*b));
        }
        let forward: Vec<u8> = fragment[..READ_LENGTH].to_vec();
        let reverse: Vec<u8> = fragment[length - READ_LENGTH..]
            .iter()
            .rev()
            .map(|&b| complement(b))
            .collect();
        for (mate, bases, writer) in [(1, forward, &mut r1), (2, reverse, &mut r2)] {
            let mut seq = Vec::with_capacity(READ_LENGTH);
            let mut qual = Vec::with_capacity(READ_LENGTH);
            for (cycle, &base) in bases.iter().enumerate() {
                let q = quality(rng, cycle);
                let error = 10f64.powf(-f64::from(q) / 10.0);
                let called = if q == 2 {
                    b'N'
                } else if rng.chance(error) {
                    other_base(rng, base)
                } else {
                    base
                };
                seq.push(called);
                qual.push(q + 33);
            }
            let io = |source| Error::Raw {
                path: if mate == 1 {
                    r1_path.to_owned()
                } else {
                    r2_path.to_owned()
                },
                source,
            };
            writeln!(writer, "@{sample_id}:{pair} {mate}:N:0:1").map_err(io)?;
            writer.write_all(&seq).map_err(io)?;
            writer.write_all(b"\n+\n").map_err(io)?;
            writer.write_all(&qual).map_err(io)?;
            writer.write_all(b"\n").map_err(io)?;
        }
    }
    for (writer, path) in [(r1, r1_path), (r2, r2_path)] {
        let encoder = writer.into_inner().map_err(|e| Error::Raw {
            path: path.to_owned(),
            source: e.into_error(),
        })?;
        encoder.finish().map_err(|source| Error::Raw {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}
