//! `workbench qc`: FASTQ and BAM/CRAM metrics, contract verdicts, SOP and trends.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use workbench::Lake;

use super::{plain_name, print_frame, write_file};

#[derive(Subcommand)]
pub(crate) enum Action {
    /// FASTQ metrics of one sample (R1, or R1 and R2): reads, bases, Q20/Q30, GC, N,
    /// lengths, per-cycle quality, duplication. Plain, gzip or BGZF.
    Fastq(FastqArgs),
    /// BAM or CRAM counts as `samtools flagstat` gives them, bases after duplicate removal,
    /// insert sizes, and depth of coverage as mosdepth computes it (sorted, indexed file).
    Bam(BamArgs),
    /// The R2 specimen SOP check over a lake: per hospital (or per specimen with --specimens).
    Sop(SopArgs),
    /// Sequencing QC per sequencing centre and delivery month (R6).
    Trends(TrendsArgs),
    /// Judge a sample against the contract from its measures (a FASTQ report and/or
    /// BAM-level numbers); rules without a measure are reported as not measured.
    Verdict(VerdictArgs),
}

#[derive(clap::Args)]
pub(crate) struct FastqArgs {
    /// Read 1 (or the single-end file).
    r1: PathBuf,
    /// Read 2 of a pair.
    r2: Option<PathBuf>,
    /// Also judge the contract rules for this kind of sample: tumour, normal or rna.
    #[arg(long)]
    kind: Option<String>,
    /// Contract thresholds (JSON; absent fields keep R4/R5's values).
    #[arg(long)]
    contract: Option<PathBuf>,
    /// Write MultiQC custom content (NAME_workbench_fastq_mqc.json) into this directory.
    #[arg(long)]
    multiqc: Option<PathBuf>,
    /// The sample's name in reports (default: from the read-1 file name).
    #[arg(long)]
    sample: Option<String>,
    /// Write a standalone HTML report (metrics table, per-cycle quality chart).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Print the JSON report (schema workbench.qc.fastq/1).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct BamArgs {
    /// The BAM or CRAM file.
    file: PathBuf,
    /// Regions (BED, plain or gzip) for regional depth and breadth.
    #[arg(long)]
    bed: Option<PathBuf>,
    /// Reads below this mapping quality add no depth (mosdepth -Q).
    #[arg(long, default_value_t = 0)]
    mapq: u8,
    /// Breadth thresholds: bases with at least each depth.
    #[arg(long, value_delimiter = ',', default_value = "1,10,20,30")]
    thresholds: Vec<u32>,
    /// The reference FASTA (with .fai) a CRAM file is decoded against.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Counts, bases and insert sizes only: no depth (any order, no index needed).
    #[arg(long, conflicts_with = "bed")]
    no_depth: bool,
    /// Write a standalone HTML report (depth histogram, breadth, insert sizes).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write MultiQC custom content (NAME_workbench_bam_mqc.json) into this directory.
    #[arg(long)]
    multiqc: Option<PathBuf>,
    /// The sample's name in reports (default: the file name up to its first dot).
    #[arg(long)]
    sample: Option<String>,
    /// Print JSON (schema workbench.qc.bam/1).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct SopArgs {
    /// The directory holding `lake/` (or the lake itself).
    #[arg(long)]
    lake: PathBuf,
    /// One row per specimen instead of per hospital.
    #[arg(long)]
    specimens: bool,
    /// Also write the per-hospital violation rates as an SVG chart.
    #[arg(long, conflicts_with = "specimens")]
    svg: Option<PathBuf>,
    /// Print JSON rows.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct TrendsArgs {
    /// The directory holding `lake/` (or the lake itself).
    #[arg(long)]
    lake: PathBuf,
    /// Contract thresholds for the below-threshold counts.
    #[arg(long)]
    contract: Option<PathBuf>,
    /// Also write mean Q30 per centre and month as an SVG chart.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Print JSON rows.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct VerdictArgs {
    /// tumour, normal or rna.
    #[arg(long)]
    kind: String,
    /// A report written by `workbench qc fastq --json`.
    #[arg(long)]
    fastq_report: Option<PathBuf>,
    /// A report written by `workbench qc bam --json` (bases after duplicate removal).
    #[arg(long)]
    bam_report: Option<PathBuf>,
    /// Reads (RNA-seq), when not taken from the FASTQ report.
    #[arg(long)]
    reads: Option<u64>,
    /// Bases after duplicate removal.
    #[arg(long)]
    dedup_bases: Option<u64>,
    /// Mean depth.
    #[arg(long)]
    mean_depth: Option<f64>,
    /// Contract thresholds (JSON; absent fields keep R4/R5's values).
    #[arg(long)]
    contract: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(action: Action) -> Result<()> {
    match action {
        Action::Fastq(args) => fastq(args),
        Action::Bam(args) => bam(args),
        Action::Verdict(args) => verdict(args),
        Action::Sop(args) => sop(args),
        Action::Trends(args) => trends(args),
    }
}

fn fastq(args: FastqArgs) -> Result<()> {
    let FastqArgs {
        r1,
        r2,
        kind,
        contract,
        multiqc,
        sample,
        html,
        json,
    } = args;
    let kind = kind.as_deref().map(parse_kind).transpose()?;
    let contract = load_contract(contract.as_deref())?;
    let mut paths = vec![r1];
    paths.extend(r2);
    let started = Instant::now();
    let report = workbench::qc::fastq::measure_sample(&paths)?;
    let total = report.total();
    if let Some(path) = &html {
        write_file(path, report.html_report().as_bytes())?;
    }
    if let Some(dir) = &multiqc {
        let sample = match sample {
            Some(name) => plain_name("--sample", &name)?,
            None => plain_name(
                "the sample name from the read-1 file (set --sample)",
                &workbench::qc::fastq::sample_name(&paths[0]),
            )?,
        };
        let path = dir.join(format!("{sample}_workbench_fastq_mqc.json"));
        let text = serde_json::to_string_pretty(&report.multiqc(&sample))?;
        write_file(&path, text.as_bytes())?;
    }
    let verdicts = kind.map(|kind| {
        let measures = workbench::qc::contract::Measures {
            q20_fraction: Some(total.q20_rate()),
            q30_fraction: Some(total.q30_rate()),
            reads: Some(report.files[0].reads),
            ..Default::default()
        };
        workbench::qc::contract::judge(&contract, kind, &measures)
    });
    if json {
        let mut value = report.to_json();
        if let Some(verdicts) = &verdicts {
            value["verdicts"] = serde_json::to_value(verdicts)?;
            value["passed"] = serde_json::to_value(workbench::qc::contract::overall(verdicts))?;
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for f in &report.files {
            println!(
                "{}: {} reads, {} bases, Q20 {:.2} %, Q30 {:.2} %, GC {:.2} %, N {:.4} %, length {}–{}, duplication {:.2} %",
                f.path.display(),
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
        }
        if let Some(verdicts) = &verdicts {
            print_verdicts(verdicts);
        }
        eprintln!("measured in {:.2} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn bam(args: BamArgs) -> Result<()> {
    let BamArgs {
        file,
        bed,
        mapq,
        thresholds,
        reference,
        no_depth,
        html,
        multiqc,
        sample,
        json,
    } = args;
    let options = workbench::qc::depth::Options {
        min_mapq: mapq,
        thresholds,
        bed,
        ..Default::default()
    };
    let stats = workbench::qc::alignment::measure_alignments(
        &file,
        reference.as_deref(),
        (!no_depth).then_some(&options),
    )?;
    if let Some(depth) = &stats.depth {
        for warning in &depth.warnings {
            eprintln!("warning: {warning}");
        }
    }
    if let Some(path) = &html {
        write_file(path, stats.html_report().as_bytes())?;
    }
    if let Some(dir) = &multiqc {
        let sample = match sample {
            Some(name) => plain_name("--sample", &name)?,
            None => {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                let stem = name.split('.').next().unwrap_or_default().to_owned();
                plain_name("the sample name from the file name (set --sample)", &stem)?
            }
        };
        let path = dir.join(format!("{sample}_workbench_bam_mqc.json"));
        let text = serde_json::to_string_pretty(&stats.multiqc(&sample))?;
        write_file(&path, text.as_bytes())?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&stats.to_json())?);
    } else {
        let p = &stats.qc_passed;
        println!(
            "{}: {} records ({} QC-failed), {} mapped, {} properly paired, {} duplicates, {} bases after duplicate removal",
            file.display(),
            p.total + stats.qc_failed.total,
            stats.qc_failed.total,
            p.mapped,
            p.properly_paired,
            p.duplicates,
            stats.dedup_bases
        );
        if let Some(depth) = &stats.depth {
            let t = depth.regions_total.as_ref().unwrap_or(&depth.total);
            let breadth: Vec<String> = t
                .breadth
                .iter()
                .map(|(x, n)| format!("≥{x}x {:.2}%", 100.0 * *n as f64 / t.length.max(1) as f64))
                .collect();
            println!(
                "depth{}: mean {:.2} over {} bases; {}",
                if depth.bed.is_some() {
                    " (BED regions)"
                } else {
                    ""
                },
                t.mean,
                t.length,
                breadth.join(", ")
            );
        }
    }
    Ok(())
}

fn verdict(args: VerdictArgs) -> Result<()> {
    let VerdictArgs {
        kind,
        fastq_report,
        bam_report,
        reads,
        dedup_bases,
        mean_depth,
        contract,
        json,
    } = args;
    let kind = parse_kind(&kind)?;
    let contract = load_contract(contract.as_deref())?;
    let mut measures = workbench::qc::contract::Measures {
        reads,
        dedup_bases,
        mean_depth,
        ..Default::default()
    };
    if let Some(path) = &fastq_report {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        if report["schema"] != "workbench.qc.fastq/1" {
            bail!(
                "{}: not a FASTQ report of `workbench qc fastq --json` (schema {})",
                path.display(),
                report["schema"]
            );
        }
        let field = |key: &str| {
            report["total"][key]
                .as_f64()
                .with_context(|| format!("{}: total.{key} missing", path.display()))
        };
        measures.q20_fraction = Some(field("q20_rate")?);
        measures.q30_fraction = Some(field("q30_rate")?);
        if measures.reads.is_none() {
            measures.reads = report["files"][0]["reads"].as_u64();
        }
    }
    if let Some(path) = &bam_report {
        if measures.dedup_bases.is_some() {
            bail!(
                "--bam-report and --dedup-bases both give the bases after duplicate removal: keep one"
            );
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        if report["schema"] != "workbench.qc.bam/1" {
            bail!(
                "{}: not a BAM report of `workbench qc bam --json` (schema {})",
                path.display(),
                report["schema"]
            );
        }
        measures.dedup_bases = Some(
            report["dedup_bases"]
                .as_u64()
                .with_context(|| format!("{}: dedup_bases missing", path.display()))?,
        );
        if measures.mean_depth.is_none() {
            measures.mean_depth = report["depth"]["mean"].as_f64();
        }
    }
    let verdicts = workbench::qc::contract::judge(&contract, kind, &measures);
    if json {
        let value = serde_json::json!({
            "kind": kind,
            "contract": contract,
            "verdicts": verdicts,
            "passed": workbench::qc::contract::overall(&verdicts),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_verdicts(&verdicts);
    }
    Ok(())
}

fn sop(args: SopArgs) -> Result<()> {
    let SopArgs {
        lake,
        specimens,
        svg,
        json,
    } = args;
    let lake = Lake::open(&lake)?;
    let df = if specimens {
        workbench::qc::feedback::specimen_sop(&lake)?
    } else {
        workbench::qc::feedback::sop_by_hospital(&lake)?
    };
    if let Some(path) = &svg {
        let figure = workbench::qc::feedback::sop_plot(&df)?;
        write_file(path, figure.svg.as_bytes())?;
    }
    print_frame(&df, json)
}

fn trends(args: TrendsArgs) -> Result<()> {
    let TrendsArgs {
        lake,
        contract,
        svg,
        json,
    } = args;
    let lake = Lake::open(&lake)?;
    let contract = load_contract(contract.as_deref())?;
    let df = workbench::qc::feedback::trends(&lake, &contract)?;
    if let Some(path) = &svg {
        let figure = workbench::qc::feedback::trends_plot(&df, &contract)?;
        write_file(path, figure.svg.as_bytes())?;
    }
    print_frame(&df, json)
}

fn parse_kind(value: &str) -> Result<workbench::qc::contract::SampleKind> {
    workbench::qc::contract::SampleKind::parse(value)
        .with_context(|| format!("--kind {value:?}: expected tumour, normal or rna"))
}

fn load_contract(path: Option<&std::path::Path>) -> Result<workbench::qc::contract::Contract> {
    Ok(match path {
        Some(p) => workbench::qc::contract::Contract::from_file(p)?,
        None => workbench::qc::contract::Contract::default(),
    })
}

fn print_verdicts(verdicts: &[workbench::qc::contract::Verdict]) {
    for v in verdicts {
        let measured = v
            .measured
            .map_or_else(|| "not measured".to_owned(), |m| format!("{m:.4}"));
        println!(
            "{:<13} {:<14} {measured:>14} (threshold {} {}) {}",
            v.rule,
            v.status.as_str(),
            v.threshold,
            v.unit,
            v.description
        );
    }
    let overall = match workbench::qc::contract::overall(verdicts) {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "INCOMPLETE (some rules not measured)",
    };
    println!("overall: {overall}");
}
