//! `workbench import`: MAF files and cBioPortal studies into a new lake.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use workbench::Lake;
use workbench::import::{ClinicalMap, cbioportal, maf};
use workbench::vocab::ConsentScope;

#[derive(Subcommand)]
pub(crate) enum Format {
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
        target: Target,
    },
    /// A cBioPortal study directory (meta_*.txt and data files).
    Cbioportal {
        /// The study directory.
        dir: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

/// What every import needs besides its source.
#[derive(clap::Args)]
pub(crate) struct Target {
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
    /// The source's data-use terms as a DUO consent scope (GRU, HMB or DS; TCGA's and
    /// cBioPortal's public studies are GRU), recorded as each case's consent. Without it
    /// no consent is recorded and every analysis withholds every case (R31).
    #[arg(long, value_parser = parse_scope)]
    consent_scope: Option<ConsentScope>,
    /// Output directory (must not hold a lake yet).
    #[arg(long)]
    out: PathBuf,
}

fn parse_scope(value: &str) -> Result<ConsentScope, String> {
    ConsentScope::parse(value).ok_or_else(|| format!("{value:?}: expected GRU, HMB or DS"))
}

pub(crate) fn run(format: Format) -> Result<()> {
    let (imported, out) = match format {
        Format::Maf {
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
            let options = maf::Options {
                clinical,
                map: columns,
                cancer_type: target.cancer_type,
                institution: target.institution,
                registered_on: target.registered_on.unwrap_or_else(workbench::lake::today),
                consent_scope: target.consent_scope,
                assay,
            };
            let imported = maf::read(&file, &options)
                .with_context(|| format!("importing MAF {}", file.display()))?;
            (imported, target.out)
        }
        Format::Cbioportal { dir, target } => {
            let options = cbioportal::Options {
                cancer_type: target.cancer_type,
                institution: target.institution,
                registered_on: target.registered_on.unwrap_or_else(workbench::lake::today),
                consent_scope: target.consent_scope,
            };
            let imported = cbioportal::read(&dir, &options)
                .with_context(|| format!("importing cBioPortal study {}", dir.display()))?;
            (imported, target.out)
        }
    };
    for warning in &imported.warnings {
        eprintln!("warning: {warning}");
    }
    if imported
        .dataset
        .cases
        .iter()
        .all(|c| c.consent_scope.is_none())
    {
        eprintln!(
            "warning: no consent recorded, so every analysis withholds every case (R31-no-consent); give --consent-scope with the source's data-use terms"
        );
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
