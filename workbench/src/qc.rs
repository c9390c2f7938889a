//! Quality control of deliveries (R4, R5, R6, R11): FASTQ metrics that agree with fastp and
//! contract verdicts against the programme's thresholds.
//!
//! - [`fastq`]: streaming, bounded-memory metrics of plain, gzip or BGZF FASTQ (single or
//!   paired): reads, bases, Q20/Q30, GC, N, lengths, per-cycle quality, duplication.
//! - [`alignment`]: one pass over a BAM: counts as `samtools flagstat` gives them, bases
//!   after duplicate removal, insert sizes, and [`depth`] as mosdepth computes it.
//! - [`contract`]: the R4/R5 rules, configurable thresholds, a verdict per rule with the
//!   measured value, the threshold and the rule id.
//! - [`feedback`]: the R2 specimen SOP check per specimen and hospital, and sequencing QC
//!   trends per centre and month (R6).

pub mod alignment;
pub mod contract;
pub mod depth;
pub mod fastq;
pub mod feedback;
pub mod report;
