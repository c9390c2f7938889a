//! The `workbench` command: synthetic programme, imports and lake inspection.

// A command-line tool reports on stdout (results) and stderr (progress, warnings).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use polars::prelude::{AnyValue, BooleanChunked, DataFrame};
use workbench::import::{self, CbioportalOptions, ClinicalMap, MafOptions};
use workbench::{Lake, synth};

mod kernelspec;
mod up;

#[derive(Parser)]
#[command(
    name = "workbench",
    version,
    about = "Research workbench of the cancer whole-genome programme"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a synthetic programme (deterministic per seed) into DIR/lake and DIR/raw.
    Synth {
        /// Number of cases.
        #[arg(long, default_value_t = 1000)]
        cases: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output directory (must not hold a lake yet).
        #[arg(long)]
        out: PathBuf,
        /// Cases that also get tiny raw FASTQ pairs.
        #[arg(long, default_value_t = 3)]
        raw_cases: usize,
    },
    /// Import real-format data into a new lake.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Inspect a lake.
    Lake {
        #[command(subcommand)]
        action: LakeAction,
    },
    /// Prepare a local synthetic enclave and open JupyterLab with the workbench kernel.
    Up {
        /// Port for JupyterLab on 127.0.0.1.
        #[arg(long, default_value_t = 8888)]
        port: u16,
        /// Cases in the synthetic demo enclave (made once).
        #[arg(long, default_value_t = 10_000)]
        cases: usize,
    },
    /// Select a cohort: print its size and case ids (`--json`: keys `n`, `cases`).
    Cohort {
        #[command(flatten)]
        select: Select,
        /// Save the cohort (criteria and members) as NAME.cohort.json in --save-dir.
        #[arg(long)]
        save: Option<String>,
        /// Where saved cohorts live (default: the lake's directory).
        #[arg(long)]
        save_dir: Option<PathBuf>,
    },
    /// Kaplan–Meier overall survival of a cohort, per group, with the log-rank test.
    Survival {
        #[command(flatten)]
        select: Select,
        /// Group by a field of the cases: stage (group I–IV), cancer_type, sex,
        /// institution, vital_status, or `gene:SYMBOL` (mutated vs not).
        #[arg(long)]
        by: Option<String>,
    },
    /// The cohort's clinical join: one row per case (wide) or per case × sample × call
    /// (`--long`), written as Parquet (or printed as JSON rows with --json).
    Join {
        #[command(flatten)]
        select: Select,
        /// One row per case × sample × somatic call instead of one per case.
        #[arg(long)]
        long: bool,
        /// Write the frame as Parquet (atomically: a temporary file, then a rename).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Mutated cases per gene among a cohort's profiled cases (protein-altering calls).
    Mutations {
        #[command(flatten)]
        select: Select,
        /// Per group of a field (subtype, stage, cancer_type, sex, …).
        #[arg(long)]
        by: Option<String>,
        /// Show only the most frequently mutated genes (default: all).
        #[arg(long)]
        top: Option<usize>,
        /// Write the frequency bars (ungrouped) as an SVG figure.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// Co-occurrence and mutual exclusivity of gene pairs (Fisher's exact test).
    Interactions {
        #[command(flatten)]
        select: Select,
        /// Genes to test pairwise (comma-separated); default: the --top most mutated.
        #[arg(long = "genes", id = "pair_genes", value_delimiter = ',')]
        pair_genes: Vec<String>,
        /// How many of the most frequently mutated genes to test without --genes.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Write an oncoprint of the genes as an SVG figure.
        #[arg(long)]
        oncoprint: Option<PathBuf>,
    },
    /// Quality control of deliveries: FASTQ metrics and contract verdicts (R4, R5).
    Qc {
        #[command(subcommand)]
        action: QcAction,
    },
    /// Manage the Jupyter kernelspec of the workbench kernel.
    Kernel {
        #[command(subcommand)]
        action: KernelAction,
    },
}

#[derive(Subcommand)]
enum QcAction {
    /// FASTQ metrics of one sample (R1, or R1 and R2): reads, bases, Q20/Q30, GC, N,
    /// lengths, per-cycle quality, duplication. Plain, gzip or BGZF.
    Fastq {
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
    },
    /// BAM or CRAM counts as `samtools flagstat` gives them, bases after duplicate removal,
    /// insert sizes, and depth of coverage as mosdepth computes it (sorted, indexed file).
    Bam {
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
    },
    /// The R2 specimen SOP check over a lake: per hospital (or per specimen with --specimens).
    Sop {
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
    },
    /// Sequencing QC per sequencing centre and delivery month (R6).
    Trends {
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
    },
    /// Judge a sample against the contract from its measures (a FASTQ report and/or
    /// BAM-level numbers); rules without a measure are reported as not measured.
    Verdict {
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
    },
}

#[derive(Subcommand)]
enum KernelAction {
    /// Write the kernelspec (`kernels/workbench/kernel.json`) so Jupyter finds the kernel.
    Install {
        /// Install for the current user (~/.local/share/jupyter); the default.
        #[arg(long, conflicts_with = "prefix")]
        user: bool,
        /// Install under PREFIX/share/jupyter (e.g. a virtualenv).
        #[arg(long)]
        prefix: Option<PathBuf>,
        /// Skip the workbench prelude: cells get plain Rust, no template is built.
        #[arg(long)]
        no_prelude: bool,
    },
}

#[derive(Subcommand)]
enum ImportFormat {
    /// A MAF file (plain or gzip) with an optional maftools-style clinical table.
    Maf {
        /// The MAF file.
        file: PathBuf,
        /// Clinical annotation TSV (Tumor_Sample_Barcode, FAB_classification, …).
        #[arg(long)]
        clinical: Option<PathBuf>,
        /// Column mapping for the clinical table, `field=COLUMN` (repeatable), e.g.
        /// `vital_status=OS_STATUS`.
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        /// Assay of the samples: WGS, WXS or panel.
        #[arg(long)]
        assay: Option<String>,
        #[command(flatten)]
        target: ImportTarget,
    },
    /// A cBioPortal study directory (meta_*.txt and data files).
    Cbioportal {
        /// The study directory.
        dir: PathBuf,
        #[command(flatten)]
        target: ImportTarget,
    },
}

/// What every import needs besides its source.
#[derive(Args)]
struct ImportTarget {
    /// OncoTree code of the cases (default: from the source: a code per sample, the
    /// study's type_of_cancer, or a TCGA project in the file name).
    #[arg(long)]
    cancer_type: Option<String>,
    /// Data-acquiring institution (default: the MAF Center column or the study id).
    #[arg(long)]
    institution: Option<String>,
    /// Registration date, YYYY-MM-DD (default: today).
    #[arg(long)]
    registered_on: Option<NaiveDate>,
    /// Output directory (must not hold a lake yet).
    #[arg(long)]
    out: PathBuf,
}

/// The lake and the criteria of a cohort (one include group; all must hold).
#[derive(Args)]
struct Select {
    /// The directory holding `lake/` (or the lake itself).
    #[arg(long)]
    lake: PathBuf,
    /// OncoTree code, with its subtree (repeatable).
    #[arg(long = "cancer-type")]
    cancer_types: Vec<String>,
    /// UICC stage group (repeatable); `III` includes IIIA–IIIC.
    #[arg(long = "stage")]
    stages: Vec<String>,
    /// Subtype as recorded in diagnoses.subtype, e.g. a FAB class (repeatable).
    #[arg(long = "subtype")]
    subtypes: Vec<String>,
    /// female or male.
    #[arg(long)]
    sex: Option<String>,
    /// Youngest age at diagnosis.
    #[arg(long)]
    min_age: Option<i32>,
    /// Oldest age at diagnosis.
    #[arg(long)]
    max_age: Option<i32>,
    /// Registering institution (repeatable).
    #[arg(long = "institution")]
    institutions: Vec<String>,
    /// Gene with a protein-altering somatic call (repeatable: all required).
    #[arg(long = "gene")]
    genes: Vec<String>,
    /// Count silent and non-coding calls as mutated too.
    #[arg(long)]
    include_silent: bool,
    /// MAF variant class the gene criterion counts instead of the protein-altering set
    /// (repeatable).
    #[arg(long = "variant-class")]
    variant_classes: Vec<String>,
    /// SO consequence a counted call must have (repeatable).
    #[arg(long = "consequence")]
    consequences: Vec<String>,
    /// Gene that must be wild type among profiled cases (repeatable).
    #[arg(long = "wild-type")]
    wild_type_genes: Vec<String>,
    /// Only cases with (true) or without (false, profiled only) any counted call.
    #[arg(long)]
    mutated: Option<bool>,
    /// Smallest TMB (protein-altering calls per coding Mb) of a profiled sample.
    #[arg(long)]
    min_tmb: Option<f64>,
    /// Largest TMB of a profiled sample.
    #[arg(long)]
    max_tmb: Option<f64>,
    /// A query file (JSON: {"include": [criteria…], "exclude": [criteria…]}) for
    /// include/exclude groups; not combined with the criteria flags.
    #[arg(long)]
    query: Option<PathBuf>,
    /// Smallest VAF of a counted call.
    #[arg(long)]
    min_vaf: Option<f64>,
    /// Gene with a germline secondary finding (repeatable).
    #[arg(long = "germline-gene")]
    germline_genes: Vec<String>,
    /// Drug given (repeatable).
    #[arg(long = "drug")]
    drugs: Vec<String>,
    /// Drug class given (repeatable).
    #[arg(long = "drug-class")]
    drug_classes: Vec<String>,
    /// Line of therapy the drug criteria refer to.
    #[arg(long)]
    line: Option<i32>,
    /// Best overall response, RECIST 1.1 (repeatable).
    #[arg(long = "best-response")]
    best_responses: Vec<String>,
    /// alive or dead.
    #[arg(long)]
    vital_status: Option<String>,
    /// Only cases with (true) or without (false) a grade ≥3 adverse event.
    #[arg(long)]
    grade3_adverse_event: Option<bool>,
    /// Only cases eligible (true) or not (false) under R1.
    #[arg(long)]
    eligible: Option<bool>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl Select {
    fn query(&self) -> Result<workbench::cohort::Query> {
        let criteria = workbench::cohort::Criteria {
            cancer_types: self.cancer_types.clone(),
            stages: self.stages.clone(),
            subtypes: self.subtypes.clone(),
            variant_classes: self.variant_classes.clone(),
            consequences: self.consequences.clone(),
            wild_type_genes: self.wild_type_genes.clone(),
            mutated: self.mutated,
            min_tmb: self.min_tmb,
            max_tmb: self.max_tmb,
            sex: self.sex.clone(),
            min_age: self.min_age,
            max_age: self.max_age,
            institutions: self.institutions.clone(),
            genes: self.genes.clone(),
            include_silent: self.include_silent,
            min_vaf: self.min_vaf,
            germline_genes: self.germline_genes.clone(),
            drugs: self.drugs.clone(),
            drug_classes: self.drug_classes.clone(),
            line: self.line,
            best_responses: self.best_responses.clone(),
            vital_status: self.vital_status.clone(),
            grade3_adverse_event: self.grade3_adverse_event,
            eligible: self.eligible,
            ..Default::default()
        };
        if let Some(path) = &self.query {
            if criteria != workbench::cohort::Criteria::default() {
                bail!(
                    "--query {} and criteria flags cannot be combined: put the criteria in the file",
                    path.display()
                );
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the query file {}", path.display()))?;
            return serde_json::from_str(&text)
                .with_context(|| format!("query file {}: not a cohort query", path.display()));
        }
        Ok(workbench::cohort::Query {
            include: vec![criteria],
            exclude: Vec::new(),
        })
    }

    fn cohort(&self) -> Result<(Lake, workbench::cohort::Cohort)> {
        let lake = Lake::open(&self.lake)?;
        let cohort =
            workbench::cohort::select(&lake, &self.query()?).context("selecting the cohort")?;
        Ok((lake, cohort))
    }
}

#[derive(Subcommand)]
enum LakeAction {
    /// Print every table's name, row count and columns.
    Describe {
        /// The directory holding `lake/` (or the lake itself).
        dir: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Print the whole cause chain: the outer context says what we were doing,
            // the inner causes say which file, row and field.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Synth {
            cases,
            seed,
            out,
            raw_cases,
        } => {
            let started = Instant::now();
            eprintln!(
                "generating {cases} synthetic cases (seed {seed}) into {}",
                out.display()
            );
            let mut config = synth::Config::new(cases, seed);
            config.raw_cases = raw_cases;
            let summary = synth::write(&config, &out).context("writing the synthetic programme")?;
            for (table, rows) in &summary.rows {
                eprintln!("  {:<18} {rows:>9} rows", table.name());
            }
            eprintln!("  raw FASTQ pairs    {:>9} samples", summary.raw.len());
            eprintln!(
                "done in {:.2} s: {}",
                started.elapsed().as_secs_f64(),
                summary.lake.root().display()
            );
            Ok(())
        }
        Command::Import { format } => {
            let (imported, out) = match format {
                ImportFormat::Maf {
                    file,
                    clinical,
                    map,
                    assay,
                    target,
                } => {
                    let mut columns = ClinicalMap::default();
                    for assignment in &map {
                        columns
                            .set(assignment)
                            .map_err(anyhow::Error::msg)
                            .context("--map")?;
                    }
                    let options = MafOptions {
                        clinical,
                        map: columns,
                        cancer_type: target.cancer_type,
                        institution: target.institution,
                        registered_on: target.registered_on.unwrap_or_else(today),
                        assay,
                    };
                    (
                        import::read_maf(&file, &options)
                            .with_context(|| format!("importing MAF {}", file.display()))?,
                        target.out,
                    )
                }
                ImportFormat::Cbioportal { dir, target } => {
                    let options = CbioportalOptions {
                        cancer_type: target.cancer_type,
                        institution: target.institution,
                        registered_on: target.registered_on.unwrap_or_else(today),
                    };
                    (
                        import::read_cbioportal(&dir, &options).with_context(|| {
                            format!("importing cBioPortal study {}", dir.display())
                        })?,
                        target.out,
                    )
                }
            };
            for warning in &imported.warnings {
                eprintln!("warning: {warning}");
            }
            let lake = Lake::create(&out, &imported.dataset).context("writing the lake")?;
            let d = &imported.dataset;
            eprintln!(
                "imported {} cases, {} samples, {} somatic variants into {}",
                d.cases.len(),
                d.samples.len(),
                d.somatic_variants.len(),
                lake.root().display()
            );
            Ok(())
        }
        Command::Up { port, cases } => {
            let root = workspace_root()?;
            up::up(&up::Layout { root }, port, cases)
        }
        Command::Kernel {
            action:
                KernelAction::Install {
                    user: _,
                    prefix,
                    no_prelude,
                },
        } => {
            let data_dir = match prefix {
                Some(prefix) => prefix.join("share/jupyter"),
                None => match std::env::var_os("XDG_DATA_HOME") {
                    Some(data) => PathBuf::from(data).join("jupyter"),
                    None => PathBuf::from(
                        std::env::var_os("HOME").context("HOME is not set; pass --prefix")?,
                    )
                    .join(".local/share/jupyter"),
                },
            };
            let kernel = std::env::current_exe()
                .context("locating the workbench binary")?
                .with_file_name("workbench-kernel");
            anyhow::ensure!(
                kernel.is_file(),
                "{} not found; build it with `cargo build --workspace --bins`",
                kernel.display()
            );
            let prelude = if no_prelude {
                None
            } else {
                let root = workspace_root()?;
                let prelude = kernelspec::Prelude::of_workspace(&root);
                eprintln!(
                    "preparing the workbench prelude in {} (first time: several minutes)",
                    prelude.template.display()
                );
                prelude.prepare(&kernel)?;
                Some(prelude)
            };
            let dir = kernelspec::install(&data_dir, &kernel, prelude.as_ref())
                .context("installing the kernelspec")?;
            eprintln!(
                "installed kernelspec {} in {}",
                kernelspec::NAME,
                dir.display()
            );
            Ok(())
        }
        Command::Cohort {
            select,
            save,
            save_dir,
        } => {
            let (_, mut cohort) = select.cohort()?;
            if let Some(name) = save {
                let dir = save_dir.unwrap_or_else(|| select.lake.clone());
                let path = cohort.save(&dir, &name)?;
                eprintln!("saved {}", path.display());
            }
            if select.json {
                let value = serde_json::json!({
                    "n": cohort.len(),
                    "cases": cohort.cases,
                    "by_cancer_type": cohort.by_cancer_type,
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("{} cases", cohort.len());
                for (code, n) in &cohort.by_cancer_type {
                    println!("  {code:<10} {n:>7}");
                }
            }
            Ok(())
        }
        Command::Survival { select, by } => {
            let (lake, cohort) = select.cohort()?;
            let survival = workbench::survival::of_cohort(&lake, &cohort, by.as_deref())
                .context("estimating survival")?;
            if select.json {
                println!("{}", serde_json::to_string_pretty(&survival.to_json())?);
            } else {
                println!("{}", survival.table().text);
            }
            Ok(())
        }
        Command::Join { select, long, out } => {
            let (lake, cohort) = select.cohort()?;
            let mut df = if long {
                workbench::clinical::long(&lake, &cohort)
            } else {
                workbench::clinical::wide(&lake, &cohort)
            }
            .context("joining the clinical tables")?;
            match out {
                Some(path) => {
                    write_parquet(&mut df, &path)?;
                    eprintln!(
                        "wrote {} rows × {} columns to {}",
                        df.height(),
                        df.width(),
                        path.display()
                    );
                    Ok(())
                }
                None => print_frame(&df, select.json),
            }
        }
        Command::Mutations {
            select,
            by,
            top,
            svg,
        } => {
            let (lake, cohort) = select.cohort()?;
            let mut df = workbench::analysis::mutation_frequency(&lake, &cohort, by.as_deref())
                .context("counting mutated cases")?;
            if let Some(path) = &svg {
                let ungrouped = if by.is_some() {
                    workbench::analysis::mutation_frequency(&lake, &cohort, None)?
                } else {
                    df.clone()
                };
                workbench::figures::mutation_frequency(&ungrouped, top.unwrap_or(20))?
                    .save(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            if let Some(top) = top {
                let keep = workbench::analysis::top_genes(&lake, &cohort, top)?;
                let genes = df.column("gene")?.str()?.clone();
                let mask: BooleanChunked = (0..genes.len())
                    .map(|i| Some(genes.get(i).is_some_and(|g| keep.iter().any(|k| k == g))))
                    .collect();
                df = df.filter(&mask)?;
            }
            print_frame(&df, select.json)
        }
        Command::Interactions {
            select,
            pair_genes: genes,
            top,
            oncoprint,
        } => {
            let (lake, cohort) = select.cohort()?;
            let genes = if genes.is_empty() {
                workbench::analysis::top_genes(&lake, &cohort, top)?
            } else {
                genes
            };
            if let Some(path) = &oncoprint {
                workbench::figures::oncoprint(&lake, &cohort, &genes)?
                    .save(path)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            let df = workbench::analysis::co_occurrence(&lake, &cohort, &genes)
                .context("testing gene pairs")?;
            print_frame(&df, select.json)
        }
        Command::Qc {
            action:
                QcAction::Fastq {
                    r1,
                    r2,
                    kind,
                    contract,
                    multiqc,
                    sample,
                    html,
                    json,
                },
        } => {
            let kind = kind.as_deref().map(parse_kind).transpose()?;
            let contract = load_contract(contract.as_deref())?;
            let mut paths = vec![r1];
            paths.extend(r2);
            let started = Instant::now();
            let report = workbench::qc::fastq::measure_sample(&paths)?;
            let total = report.total();
            if let Some(path) = &html {
                write_atomically(path, report.html_report().as_bytes())?;
            }
            if let Some(dir) = &multiqc {
                let sample = sample.unwrap_or_else(|| workbench::qc::fastq::sample_name(&paths[0]));
                let path = dir.join(format!("{sample}_workbench_fastq_mqc.json"));
                let text = serde_json::to_string_pretty(&report.multiqc(&sample))?;
                write_atomically(&path, text.as_bytes())?;
                eprintln!("wrote {}", path.display());
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
                    value["passed"] =
                        serde_json::to_value(workbench::qc::contract::overall(verdicts))?;
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
        Command::Qc {
            action:
                QcAction::Verdict {
                    kind,
                    fastq_report,
                    bam_report,
                    reads,
                    dedup_bases,
                    mean_depth,
                    contract,
                    json,
                },
        } => {
            let kind = parse_kind(&kind)?;
            let contract = load_contract(contract.as_deref())?;
            let mut measures = workbench::qc::contract::Measures {
                reads,
                dedup_bases,
                mean_depth,
                ..Default::default()
            };
            if let Some(path) = &fastq_report {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let report: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{}: not JSON", path.display()))?;
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
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let report: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{}: not JSON", path.display()))?;
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
        Command::Qc {
            action:
                QcAction::Bam {
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
                },
        } => {
            let options = workbench::qc::depth::DepthOptions {
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
                write_atomically(path, stats.html_report().as_bytes())?;
            }
            if let Some(dir) = &multiqc {
                let sample = sample.unwrap_or_else(|| {
                    let name = file.file_name().unwrap_or_default().to_string_lossy();
                    name.split('.').next().unwrap_or_default().to_owned()
                });
                let path = dir.join(format!("{sample}_workbench_bam_mqc.json"));
                let text = serde_json::to_string_pretty(&stats.multiqc(&sample))?;
                write_atomically(&path, text.as_bytes())?;
                eprintln!("wrote {}", path.display());
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
                        .map(|(x, n)| {
                            format!("≥{x}x {:.2}%", 100.0 * *n as f64 / t.length.max(1) as f64)
                        })
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
        Command::Qc {
            action:
                QcAction::Sop {
                    lake,
                    specimens,
                    svg,
                    json,
                },
        } => {
            let lake = Lake::open(&lake)?;
            let df = if specimens {
                workbench::qc::feedback::specimen_sop(&lake)?
            } else {
                workbench::qc::feedback::sop_by_hospital(&lake)?
            };
            if let Some(path) = &svg {
                let figure = workbench::qc::feedback::sop_plot(&df)?;
                write_atomically(path, figure.svg.as_bytes())?;
            }
            print_frame(&df, json)
        }
        Command::Qc {
            action:
                QcAction::Trends {
                    lake,
                    contract,
                    svg,
                    json,
                },
        } => {
            let lake = Lake::open(&lake)?;
            let contract = load_contract(contract.as_deref())?;
            let df = workbench::qc::feedback::trends(&lake, &contract)?;
            if let Some(path) = &svg {
                let figure = workbench::qc::feedback::trends_plot(&df, &contract)?;
                write_atomically(path, figure.svg.as_bytes())?;
            }
            print_frame(&df, json)
        }
        Command::Lake {
            action: LakeAction::Describe { dir, json },
        } => {
            let lake = Lake::open(&dir)?;
            let tables = lake.describe()?;
            if json {
                let value = serde_json::json!({ "root": lake.root(), "tables": tables });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("lake at {}", lake.root().display());
                for table in &tables {
                    println!("{:<18} {:>9} rows  {}", table.name, table.rows, table.file);
                    for column in &table.columns {
                        println!("    {:<28} {}", column.name, column.dtype);
                    }
                }
            }
            Ok(())
        }
    }
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

/// Writes `path` through a temporary file in the same directory, filled by `fill`, so a
/// reader never sees half a file and an existing file survives a failed write.
fn write_through_staging(
    path: &std::path::Path,
    fill: impl FnOnce(std::fs::File) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let staging = dir.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::File::create(&staging)
        .with_context(|| format!("creating {}", staging.display()))
        .and_then(|file| fill(file).with_context(|| format!("writing {}", staging.display())))
        .and_then(|()| {
            std::fs::rename(&staging, path)
                .with_context(|| format!("renaming {} to {}", staging.display(), path.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    result
}

/// Writes `bytes` to `path` atomically (see [`write_through_staging`]).
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    write_through_staging(path, |mut file| {
        use std::io::Write as _;
        Ok(file.write_all(bytes)?)
    })
}

/// Writes `df` to `path` as Parquet atomically (see [`write_through_staging`]).
fn write_parquet(df: &mut DataFrame, path: &std::path::Path) -> Result<()> {
    write_through_staging(path, |file| {
        polars::prelude::ParquetWriter::new(file).finish(df)?;
        Ok(())
    })
}

/// Prints a result frame: JSON rows (`--json`) or polars' table.
fn print_frame(df: &DataFrame, json: bool) -> Result<()> {
    if json {
        let mut rows = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let mut row = serde_json::Map::new();
            for column in df.columns() {
                let value = column.get(i)?;
                let json = match value {
                    AnyValue::Null => serde_json::Value::Null,
                    AnyValue::Boolean(b) => b.into(),
                    AnyValue::String(s) => s.into(),
                    AnyValue::StringOwned(s) => s.as_str().into(),
                    AnyValue::UInt32(v) => v.into(),
                    AnyValue::UInt64(v) => v.into(),
                    AnyValue::Int32(v) => v.into(),
                    AnyValue::Int64(v) => v.into(),
                    // JSON has no infinity: an infinite odds ratio is written as null.
                    AnyValue::Float64(v) => serde_json::Number::from_f64(v)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number),
                    other => other.to_string().into(),
                };
                row.insert(column.name().to_string(), json);
            }
            rows.push(serde_json::Value::Object(row));
        }
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{df}");
    }
    Ok(())
}

/// The workbench checkout: the one we are run from, else the one holding our binary.
fn workspace_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    up::find_root(&cwd)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| up::find_root(&exe))
        })
        .context(
            "run this inside the workbench checkout (its notebooks/ and workbench/ are needed)",
        )
}
