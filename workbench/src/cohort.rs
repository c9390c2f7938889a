//! Cohort selection: which cases meet clinical and genomic criteria (R17, R33, R34).
//!
//! A [`Criteria`] is a conjunction over the R30 item groups and the variant tables; a
//! [`Query`] ORs include groups and removes the cases of exclude groups. Cases whose
//! consent was withdrawn never enter a cohort (R31). "Mutated" means protein-altering
//! (maftools' `vc_nonSyn`, cBioPortal's default) unless silent and non-coding calls are
//! asked for. Criteria are checked before anything is read: an unknown OncoTree code,
//! stage, response or gene is an error that names the value and the closest valid ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::display::{Html, escape};
use crate::hash::{FastMap, strs};
use crate::lake::{self, Lake, Table};
use crate::vocab::{BestResponse, OncoTree, UICC_STAGES, closest, is_protein_altering};

/// Conditions a case must all meet; empty fields do not restrict.
///
/// The same fields are the criteria flags of the `workbench` command (`--cancer-type`,
/// `--gene`, …), so the command line and the API cannot drift apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default)]
pub struct Criteria {
    /// OncoTree codes; each includes its subtree (`NSCLC` takes `LUAD`).
    #[arg(long = "cancer-type", value_name = "ONCOTREE")]
    pub cancer_types: Vec<String>,
    /// UICC stage groups; a group without letter (`III`) takes its sub-groups (`IIIA`).
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    /// Histological or molecular subtypes as recorded in `diagnoses.subtype` (FAB `M4`).
    #[arg(long = "subtype")]
    pub subtypes: Vec<String>,
    /// `female` / `male` (GDC).
    #[arg(long)]
    pub sex: Option<String>,
    /// Youngest age at diagnosis, years.
    #[arg(long)]
    pub min_age: Option<i32>,
    /// Oldest age at diagnosis, years.
    #[arg(long)]
    pub max_age: Option<i32>,
    /// Registering institutions (data acquirers).
    #[arg(long = "institution")]
    pub institutions: Vec<String>,
    /// DUO consent scopes (`GRU`, `HMB`, `DS`).
    #[arg(long = "consent-scope")]
    pub consent_scopes: Vec<String>,
    /// R1 eligibility as recorded (consent, specimen, refractory and alive, or rare).
    #[arg(long)]
    pub eligible: Option<bool>,
    /// Genes with a somatic call (protein-altering unless `include_silent`).
    #[arg(long = "gene")]
    pub genes: Vec<String>,
    /// MAF variant classes the gene criterion counts instead of the protein-altering set.
    #[arg(long = "variant-class")]
    pub variant_classes: Vec<String>,
    /// SO consequences the gene criterion counts (`missense_variant`), besides the class rule.
    #[arg(long = "consequence")]
    pub consequences: Vec<String>,
    /// Count silent, intronic, UTR and intergenic calls as "mutated" too.
    #[arg(long)]
    pub include_silent: bool,
    /// Genes that must be wild type: profiled, and no counted call in the gene.
    #[arg(long = "wild-type")]
    pub wild_type_genes: Vec<String>,
    /// Has (true) or has not (false) any counted call; `false` needs a profiled sample.
    #[arg(long)]
    pub mutated: Option<bool>,
    /// Smallest tumour mutational burden (protein-altering calls per coding megabase,
    /// [`CODING_MB`]) of any profiled sample.
    #[arg(long)]
    pub min_tmb: Option<f64>,
    /// Largest tumour mutational burden of any profiled sample.
    #[arg(long)]
    pub max_tmb: Option<f64>,
    /// Smallest variant allele fraction of a counted call.
    #[arg(long)]
    pub min_vaf: Option<f64>,
    /// Genes with a germline secondary finding (ACMG SF).
    #[arg(long = "germline-gene")]
    pub germline_genes: Vec<String>,
    /// Drugs given (any line), as named in `treatments.drugs`.
    #[arg(long = "drug")]
    pub drugs: Vec<String>,
    /// Drug classes given (any line).
    #[arg(long = "drug-class")]
    pub drug_classes: Vec<String>,
    /// Restrict the drug criteria to this line of therapy.
    #[arg(long)]
    pub line: Option<i32>,
    /// Best overall responses (RECIST 1.1).
    #[arg(long = "best-response")]
    pub best_responses: Vec<String>,
    /// Has (true) or has not (false) had a CTCAE grade ≥3 adverse event.
    #[arg(long)]
    pub grade3_adverse_event: Option<bool>,
    /// `alive` / `dead`.
    #[arg(long)]
    pub vital_status: Option<String>,
}

/// Cases of any include group that are in no exclude group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Groups ORed together; no group means every case.
    pub include: Vec<Criteria>,
    /// Groups whose cases are removed.
    pub exclude: Vec<Criteria>,
}

impl From<Criteria> for Query {
    /// The cases meeting `criteria` (one include group, no exclusion).
    fn from(criteria: Criteria) -> Query {
        Query {
            include: vec![criteria],
            exclude: Vec::new(),
        }
    }
}

/// A selected cohort: only cases whose consent covers the lake's use (R31).
///
/// A cohort is made by [`select`], [`Cohort::from_cases`] or [`Cohort::open`], each of
/// which keeps only the cases the lake's use may see; every analysis checks its cohort
/// against its lake again ([`Cohort::visible_in`]), so a cohort made for another use, or
/// before a withdrawal, cannot bring a withheld case into a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// Its name, once saved.
    pub name: Option<String>,
    /// How it was selected.
    pub query: Query,
    /// Case ids, sorted.
    cases: Vec<String>,
    /// Cases per cancer type.
    by_cancer_type: BTreeMap<String, usize>,
    /// Members dropped when the cohort was last checked against a lake's consent.
    #[serde(skip)]
    withheld: usize,
}

/// Why a cohort cannot be selected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A criterion names a value that cannot exist.
    #[error("{field}: unknown value {value:?}{}", hint(suggestions))]
    UnknownValue {
        /// The criterion.
        field: &'static str,
        /// The value.
        value: String,
        /// Closest valid values.
        suggestions: Vec<String>,
    },
    /// A criterion is contradictory (minimum above maximum, VAF outside 0–1).
    #[error("{field}: {problem}")]
    Impossible {
        /// The criterion.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A cohort name that is not a plain name: it would write outside its directory.
    #[error(
        "cohort name {name:?}: use letters, digits, '.', '_' and '-' (at most 100, not starting with '.')"
    )]
    Name {
        /// The name given.
        name: String,
    },
    /// A saved cohort could not be read or written.
    #[error("cohort file {}: {detail}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The lake could not be read.
    #[error(transparent)]
    Lake(#[from] lake::Error),
    /// A table did not have the expected columns.
    #[error("table {table}: {source}")]
    Table {
        /// The table.
        table: &'static str,
        /// The cause.
        #[source]
        source: PolarsError,
    },
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

/// Reads `columns` of `table` (only those: Parquet is columnar).
fn read(lake: &Lake, table: Table, columns: &[&str]) -> Result<DataFrame, Error> {
    Ok(lake.columns(table, columns)?)
}

fn strings<'a>(df: &'a DataFrame, table: Table, column: &str) -> Result<&'a StringChunked, Error> {
    df.column(column)
        .and_then(|c| c.str())
        .map_err(|source| Error::Table {
            table: table.name(),
            source,
        })
}

/// The lake's tables, read once per selection with the columns criteria need.
struct Tables<'a> {
    lake: &'a Lake,
    // Keyed by the columns too: two readers of one table may need different columns.
    cache: HashMap<(Table, String), DataFrame>,
}

impl Tables<'_> {
    fn get(&mut self, table: Table, columns: &[&str]) -> Result<&DataFrame, Error> {
        let key = (table, columns.join(","));
        if !self.cache.contains_key(&key) {
            let df = read(self.lake, table, columns)?;
            self.cache.insert(key.clone(), df);
        }
        Ok(&self.cache[&key])
    }
}

type CaseSet = BTreeSet<String>;

/// The somatic-call columns every gene criterion reads.
const SOMATIC_COLUMNS: [&str; 3] = [
    "tumor_sample_barcode",
    "hugo_symbol",
    "variant_classification",
];

/// The coding territory TMB is expressed over, megabases: the GRCh38 consensus coding
/// exome (CCDS), as WGS programmes report "coding TMB" comparable to exome assays.
pub const CODING_MB: f64 = 38.0;

/// Values of the lake that criteria are checked against (genes and subtypes present).
#[derive(Debug, Default)]
pub struct Known {
    /// Genes with a somatic or germline call.
    pub genes: BTreeSet<String>,
    /// Subtypes recorded in `diagnoses.subtype`.
    pub subtypes: BTreeSet<String>,
}

impl Criteria {
    /// Checks every value against the vocabularies (and the genes present in the lake).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownValue`] or [`Error::Impossible`] naming the criterion and value.
    pub fn check(&self, known: &Known) -> Result<(), Error> {
        let known_genes = &known.genes;
        let tree = OncoTree::get();
        for code in &self.cancer_types {
            if !tree.contains(code) {
                return Err(unknown("cancer_type", code, tree.codes()));
            }
        }
        for stage in &self.stages {
            if !UICC_STAGES.contains(&stage.as_str()) {
                return Err(unknown("stage", stage, UICC_STAGES.iter().copied()));
            }
        }
        for response in &self.best_responses {
            if BestResponse::parse(response).is_none() {
                return Err(unknown(
                    "best_response",
                    response,
                    BestResponse::ALL.map(BestResponse::as_str),
                ));
            }
        }
        for subtype in &self.subtypes {
            if !known.subtypes.contains(subtype) {
                return Err(unknown(
                    "subtype",
                    subtype,
                    known.subtypes.iter().map(String::as_str),
                ));
            }
        }
        for class in &self.variant_classes {
            if !crate::vocab::is_variant_classification(class) {
                return Err(unknown(
                    "variant_class",
                    class,
                    crate::vocab::VARIANT_CLASSIFICATIONS.iter().copied(),
                ));
            }
        }
        for consequence in &self.consequences {
            if !crate::vocab::is_so_consequence(consequence) {
                return Err(unknown(
                    "consequence",
                    consequence,
                    crate::vocab::SO_CONSEQUENCES.iter().copied(),
                ));
            }
        }
        for (field, tmb) in [("min_tmb", self.min_tmb), ("max_tmb", self.max_tmb)] {
            if let Some(t) = tmb
                && !(t.is_finite() && t >= 0.0)
            {
                return Err(Error::Impossible {
                    field,
                    problem: format!("{t} is not a burden of zero or more mutations per Mb"),
                });
            }
        }
        if let (Some(min), Some(max)) = (self.min_tmb, self.max_tmb)
            && min > max
        {
            return Err(Error::Impossible {
                field: "tmb",
                problem: format!("minimum {min} is above maximum {max}"),
            });
        }
        if let Some(gene) = self.genes.iter().find(|g| self.wild_type_genes.contains(g)) {
            return Err(Error::Impossible {
                field: "gene",
                problem: format!("{gene} cannot be both mutated and wild type"),
            });
        }
        for gene in self
            .genes
            .iter()
            .chain(&self.germline_genes)
            .chain(&self.wild_type_genes)
        {
            if !known_genes.contains(gene) {
                return Err(unknown(
                    "gene",
                    gene,
                    known_genes.iter().map(String::as_str),
                ));
            }
        }
        if let Some(sex) = &self.sex
            && !["female", "male"].contains(&sex.as_str())
        {
            return Err(unknown("sex", sex, ["female", "male"]));
        }
        if let Some(status) = &self.vital_status
            && !["alive", "dead"].contains(&status.as_str())
        {
            return Err(unknown("vital_status", status, ["alive", "dead"]));
        }
        if let (Some(min), Some(max)) = (self.min_age, self.max_age)
            && min > max
        {
            return Err(Error::Impossible {
                field: "age",
                problem: format!("minimum {min} is above maximum {max}"),
            });
        }
        if let Some(vaf) = self.min_vaf
            && !(0.0..=1.0).contains(&vaf)
        {
            return Err(Error::Impossible {
                field: "min_vaf",
                problem: format!("{vaf} is not a fraction between 0 and 1"),
            });
        }
        Ok(())
    }

    fn cases(&self, tables: &mut Tables<'_>, universe: &CaseSet) -> Result<CaseSet, Error> {
        let mut set = universe.clone();
        let mut narrow = |found: CaseSet| set.retain(|c| found.contains(c));
        if !self.cancer_types.is_empty() || !self.stages.is_empty() || !self.subtypes.is_empty() {
            let tree = OncoTree::get();
            let types: BTreeSet<&str> = self
                .cancer_types
                .iter()
                .flat_map(|c| tree.subtree(c))
                .collect();
            let df = tables.get(
                Table::Diagnoses,
                &["case_id", "cancer_type", "stage", "subtype"],
            )?;
            let (ids, cancer, stage, subtype) = (
                strings(df, Table::Diagnoses, "case_id")?,
                strings(df, Table::Diagnoses, "cancer_type")?,
                strings(df, Table::Diagnoses, "stage")?,
                strings(df, Table::Diagnoses, "subtype")?,
            );
            let mut found = CaseSet::new();
            for i in 0..df.height() {
                let type_ok = types.is_empty() || cancer.get(i).is_some_and(|c| types.contains(c));
                let stage_ok = self.stages.is_empty()
                    || stage.get(i).is_some_and(|s| {
                        self.stages
                            .iter()
                            .any(|want| crate::vocab::in_stage_group(s, want))
                    });
                let subtype_ok = self.subtypes.is_empty()
                    || subtype
                        .get(i)
                        .is_some_and(|s| self.subtypes.iter().any(|want| want == s));
                if type_ok && stage_ok && subtype_ok {
                    found.extend(ids.get(i).map(str::to_owned));
                }
            }
            narrow(found);
        }
        if self.sex.is_some()
            || self.min_age.is_some()
            || self.max_age.is_some()
            || !self.consent_scopes.is_empty()
            || self.eligible.is_some()
        {
            let df = tables.get(
                Table::Cases,
                &[
                    "case_id",
                    "sex",
                    "age_at_diagnosis",
                    "consent_scope",
                    "consent_date",
                    "eligible_specimen",
                    "refractory",
                    "alive_at_analysis",
                    "rare_cancer",
                ],
            )?;
            let ids = strings(df, Table::Cases, "case_id")?;
            let sex = strings(df, Table::Cases, "sex")?;
            let scope = strings(df, Table::Cases, "consent_scope")?;
            let age = df
                .column("age_at_diagnosis")
                .and_then(|c| c.cast(&DataType::Int32))
                .map_err(|source| Error::Table {
                    table: "cases",
                    source,
                })?;
            let age = age.i32().map_err(|source| Error::Table {
                table: "cases",
                source,
            })?;
            let flag = |name: &str| -> Result<BooleanChunked, Error> {
                df.column(name)
                    .and_then(|c| c.bool().cloned())
                    .map_err(|source| Error::Table {
                        table: "cases",
                        source,
                    })
            };
            let consented =
                df.column("consent_date")
                    .map(|c| c.is_not_null())
                    .map_err(|source| Error::Table {
                        table: "cases",
                        source,
                    })?;
            let (specimen, refractory, alive, rare) = (
                flag("eligible_specimen")?,
                flag("refractory")?,
                flag("alive_at_analysis")?,
                flag("rare_cancer")?,
            );
            let mut found = CaseSet::new();
            for i in 0..df.height() {
                let ok = self.sex.as_deref().is_none_or(|s| sex.get(i) == Some(s))
                    && self
                        .min_age
                        .is_none_or(|min| age.get(i).is_some_and(|a| a >= min))
                    && self
                        .max_age
                        .is_none_or(|max| age.get(i).is_some_and(|a| a <= max))
                    && (self.consent_scopes.is_empty()
                        || scope
                            .get(i)
                            .is_some_and(|s| self.consent_scopes.iter().any(|w| w == s)))
                    && self.eligible.is_none_or(|want| {
                        // R1: consent and an adequate specimen; refractory and alive
                        // when analysis starts, except for rare cancers.
                        let is = consented.get(i).unwrap_or(false)
                            && specimen.get(i).unwrap_or(false)
                            && (rare.get(i).unwrap_or(false)
                                || (refractory.get(i).unwrap_or(false)
                                    && alive.get(i).unwrap_or(false)));
                        is == want
                    });
                if ok {
                    found.extend(ids.get(i).map(str::to_owned));
                }
            }
            narrow(found);
        }
        if !self.institutions.is_empty() {
            let df = tables.get(
                Table::Registrations,
                &["case_id", "institution", "cancer_type"],
            )?;
            let ids = strings(df, Table::Registrations, "case_id")?;
            let institution = strings(df, Table::Registrations, "institution")?;
            let found = (0..df.height())
                .filter(|&i| {
                    institution
                        .get(i)
                        .is_some_and(|v| self.institutions.iter().any(|w| w == v))
                })
                .filter_map(|i| ids.get(i).map(str::to_owned))
                .collect();
            narrow(found);
        }
        if self.uses_variants() {
            let calls = tables.calls(self)?;
            for gene in &self.genes {
                narrow(
                    calls
                        .by_gene
                        .get(gene.as_str())
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            for gene in &self.wild_type_genes {
                let mutated = calls.by_gene.get(gene.as_str());
                narrow(
                    calls
                        .profiled
                        .iter()
                        .filter(|c| mutated.is_none_or(|m| !m.contains(*c)))
                        .cloned()
                        .collect(),
                );
            }
            match self.mutated {
                Some(true) => narrow(calls.mutated()),
                Some(false) => {
                    let mutated = calls.mutated();
                    narrow(calls.profiled.difference(&mutated).cloned().collect());
                }
                None => {}
            }
            if self.min_tmb.is_some() || self.max_tmb.is_some() {
                let (min, max) = (
                    self.min_tmb.unwrap_or(0.0),
                    self.max_tmb.unwrap_or(f64::INFINITY),
                );
                narrow(
                    calls
                        .tmb
                        .iter()
                        .filter(|(_, t)| t.iter().any(|t| (min..=max).contains(t)))
                        .map(|(c, _)| c.clone())
                        .collect(),
                );
            }
        }
        if !self.germline_genes.is_empty() {
            let sample_case = sample_cases(tables)?;
            let df = tables.get(Table::GermlineVariants, &["sample_id", "hugo_symbol"])?;
            let sample = strings(df, Table::GermlineVariants, "sample_id")?;
            let gene = strings(df, Table::GermlineVariants, "hugo_symbol")?;
            let found = (0..df.height())
                .filter(|&i| {
                    gene.get(i)
                        .is_some_and(|g| self.germline_genes.iter().any(|w| w == g))
                })
                .filter_map(|i| sample.get(i).and_then(|s| sample_case.get(s)).cloned())
                .collect();
            narrow(found);
        }
        if !self.drugs.is_empty() || !self.drug_classes.is_empty() {
            let df = tables.get(
                Table::Treatments,
                &["case_id", "line", "drugs", "drug_class"],
            )?;
            let ids = strings(df, Table::Treatments, "case_id")?;
            let drugs = strings(df, Table::Treatments, "drugs")?;
            let class = strings(df, Table::Treatments, "drug_class")?;
            let line = df
                .column("line")
                .and_then(|c| c.i32())
                .map_err(|source| Error::Table {
                    table: "treatments",
                    source,
                })?;
            let found = (0..df.height())
                .filter(|&i| {
                    self.line.is_none_or(|l| line.get(i) == Some(l))
                        && (self.drugs.is_empty()
                            || drugs.get(i).is_some_and(|d| {
                                d.split(['+', ',', ';'])
                                    .map(str::trim)
                                    .any(|d| self.drugs.iter().any(|w| w.eq_ignore_ascii_case(d)))
                            }))
                        && (self.drug_classes.is_empty()
                            || class
                                .get(i)
                                .is_some_and(|c| self.drug_classes.iter().any(|w| w == c)))
                })
                .filter_map(|i| ids.get(i).map(str::to_owned))
                .collect();
            narrow(found);
        }
        if !self.best_responses.is_empty() || self.vital_status.is_some() {
            let df = tables.get(
                Table::Course,
                &["case_id", "vital_status", "best_overall_response"],
            )?;
            let ids = strings(df, Table::Course, "case_id")?;
            let status = strings(df, Table::Course, "vital_status")?;
            let response = strings(df, Table::Course, "best_overall_response")?;
            let found = (0..df.height())
                .filter(|&i| {
                    self.vital_status
                        .as_deref()
                        .is_none_or(|s| status.get(i) == Some(s))
                        && (self.best_responses.is_empty()
                            || response
                                .get(i)
                                .is_some_and(|r| self.best_responses.iter().any(|w| w == r)))
                })
                .filter_map(|i| ids.get(i).map(str::to_owned))
                .collect();
            narrow(found);
        }
        if let Some(want) = self.grade3_adverse_event {
            let df = tables.get(Table::AdverseEvents, &["case_id", "grade"])?;
            let ids = strings(df, Table::AdverseEvents, "case_id")?;
            let grade =
                df.column("grade")
                    .and_then(|c| c.i32())
                    .map_err(|source| Error::Table {
                        table: "adverse_events",
                        source,
                    })?;
            let with: CaseSet = (0..df.height())
                .filter(|&i| grade.get(i).is_some_and(|g| g >= 3))
                .filter_map(|i| ids.get(i).map(str::to_owned))
                .collect();
            set.retain(|c| with.contains(c) == want);
        }
        Ok(set)
    }
}

impl Criteria {
    /// Whether any criterion reads the somatic calls.
    fn uses_variants(&self) -> bool {
        !self.genes.is_empty()
            || !self.wild_type_genes.is_empty()
            || !self.variant_classes.is_empty()
            || !self.consequences.is_empty()
            || self.mutated.is_some()
            || self.min_tmb.is_some()
            || self.max_tmb.is_some()
    }

    /// Whether a call of class `class` with consequence `consequence` and allele fraction
    /// `vaf` counts as "mutated" under these criteria.
    fn counts(&self, class: &str, consequence: &str, vaf: Option<f64>) -> bool {
        let class_ok = if self.variant_classes.is_empty() {
            self.include_silent || is_protein_altering(class)
        } else {
            self.variant_classes.iter().any(|w| w == class)
        };
        let consequence_ok = self.consequences.is_empty()
            || consequence
                .split([',', '&'])
                .any(|term| self.consequences.iter().any(|w| w == term));
        let vaf_ok = self.min_vaf.is_none_or(|min| vaf.is_some_and(|v| v >= min));
        class_ok && consequence_ok && vaf_ok
    }
}

/// The somatic calls a criteria group counts, by case.
#[derive(Debug, Default)]
struct Calls {
    /// Cases with a counted call, per gene.
    by_gene: HashMap<String, CaseSet>,
    /// Cases with a sample profiled for mutations: the denominator.
    profiled: CaseSet,
    /// Per case, the TMB of each profiled sample (protein-altering calls per [`CODING_MB`]).
    tmb: BTreeMap<String, Vec<f64>>,
}

impl Calls {
    fn mutated(&self) -> CaseSet {
        self.by_gene.values().flatten().cloned().collect()
    }
}

impl Tables<'_> {
    /// Reads the samples and somatic calls and keeps what `criteria` count.
    fn calls(&mut self, criteria: &Criteria) -> Result<Calls, Error> {
        let samples = self
            .get(
                Table::Samples,
                &["sample_id", "case_id", "mutation_profiled"],
            )?
            .clone();
        let sample = strings(&samples, Table::Samples, "sample_id")?;
        let case = strings(&samples, Table::Samples, "case_id")?;
        let profiled_flag = samples
            .column("mutation_profiled")
            .and_then(|c| c.bool().cloned())
            .map_err(|source| Error::Table {
                table: "samples",
                source,
            })?;
        let mut calls = Calls::default();
        let mut sample_case: FastMap<&str, &str> = FastMap::default();
        let mut per_sample: FastMap<&str, usize> = FastMap::default();
        for i in 0..samples.height() {
            let (Some(s), Some(c)) = (sample.get(i), case.get(i)) else {
                continue;
            };
            sample_case.insert(s, c);
            if profiled_flag.get(i).unwrap_or(false) {
                calls.profiled.insert(c.to_owned());
                per_sample.insert(s, 0);
            }
        }
        // Only the genes asked for matter unless "any mutation" or TMB is: skipping the
        // other rows before any lookup keeps a gene query to one pass of comparisons.
        let all_genes = criteria.mutated.is_some();
        let tmb = criteria.min_tmb.is_some() || criteria.max_tmb.is_some();
        let wanted: Vec<&str> = criteria
            .genes
            .iter()
            .chain(&criteria.wild_type_genes)
            .map(String::as_str)
            .collect();
        // Consequence and VAF are decoded only when a criterion reads them.
        let mut columns = SOMATIC_COLUMNS.to_vec();
        if !criteria.consequences.is_empty() {
            columns.push("consequence");
        }
        if criteria.min_vaf.is_some() {
            columns.push("vaf");
        }
        let df = self.get(Table::SomaticVariants, &columns)?;
        let barcode = strings(df, Table::SomaticVariants, "tumor_sample_barcode")?;
        let gene = strings(df, Table::SomaticVariants, "hugo_symbol")?;
        let class = strings(df, Table::SomaticVariants, "variant_classification")?;
        let consequence = if criteria.consequences.is_empty() {
            None
        } else {
            Some(strings(df, Table::SomaticVariants, "consequence")?)
        };
        let vaf = if criteria.min_vaf.is_some() {
            Some(
                df.column("vaf")
                    .and_then(|c| c.f64())
                    .map_err(|source| Error::Table {
                        table: "somatic_variants",
                        source,
                    })?,
            )
        } else {
            None
        };
        let height = df.height();
        let consequences: Box<dyn Iterator<Item = Option<&str>>> = match consequence {
            Some(c) => Box::new(strs(c)),
            None => Box::new(std::iter::repeat_n(None, height)),
        };
        let vafs: Box<dyn Iterator<Item = Option<f64>>> = match vaf {
            Some(v) => Box::new(v.downcast_iter().flat_map(|a| a.iter().map(|v| v.copied()))),
            None => Box::new(std::iter::repeat_n(None, height)),
        };
        let mut by_gene: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        let rows = strs(gene)
            .zip(strs(barcode))
            .zip(strs(class))
            .zip(consequences)
            .zip(vafs);
        for ((((g, s), class), consequence), vaf) in rows {
            let Some(g) = g else { continue };
            let relevant = all_genes || wanted.contains(&g);
            if !relevant && !tmb {
                continue;
            }
            let Some(s) = s else { continue };
            let Some(&c) = sample_case.get(s) else {
                continue;
            };
            let class = class.unwrap_or("");
            if tmb
                && is_protein_altering(class)
                && let Some(n) = per_sample.get_mut(s)
            {
                *n += 1;
            }
            if relevant && criteria.counts(class, consequence.unwrap_or(""), vaf) {
                by_gene.entry(g).or_default().insert(c);
            }
        }
        calls.by_gene = by_gene
            .into_iter()
            .map(|(g, cases)| (g.to_owned(), cases.into_iter().map(str::to_owned).collect()))
            .collect();
        if tmb {
            for (s, n) in per_sample {
                calls
                    .tmb
                    .entry(sample_case[s].to_owned())
                    .or_default()
                    .push(n as f64 / CODING_MB);
            }
        }
        Ok(calls)
    }
}

fn unknown<'a>(
    field: &'static str,
    value: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Error {
    Error::UnknownValue {
        field,
        value: value.to_owned(),
        suggestions: closest(value, candidates)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }
}

/// The case of every sample (sample id to case id).
fn sample_cases(tables: &mut Tables<'_>) -> Result<HashMap<String, String>, Error> {
    let df = tables.get(
        Table::Samples,
        &["sample_id", "case_id", "mutation_profiled"],
    )?;
    let sample = strings(df, Table::Samples, "sample_id")?;
    let case = strings(df, Table::Samples, "case_id")?;
    Ok((0..df.height())
        .filter_map(|i| Some((sample.get(i)?.to_owned(), case.get(i)?.to_owned())))
        .collect())
}

/// The distinct values of a string column.
fn distinct(lake: &Lake, table: Table, column: &str) -> Result<BTreeSet<String>, Error> {
    let df = read(lake, table, &[column])?;
    let unique = df
        .column(column)
        .and_then(|c| c.unique())
        .map_err(|source| Error::Table {
            table: table.name(),
            source,
        })?;
    let unique = unique.str().map_err(|source| Error::Table {
        table: table.name(),
        source,
    })?;
    Ok((0..unique.len())
        .filter_map(|i| unique.get(i))
        .map(str::to_owned)
        .collect())
}

impl Known {
    /// The values `query` names when all are present in `lake` (one pass of comparisons
    /// over the gene and subtype columns); otherwise every value, for the suggestions.
    fn covering(tables: &mut Tables<'_>, query: &Query) -> Result<Known, Error> {
        let lake = tables.lake;
        let groups = || query.include.iter().chain(&query.exclude);
        let genes: BTreeSet<&str> = groups()
            .flat_map(|c| {
                c.genes
                    .iter()
                    .chain(&c.germline_genes)
                    .chain(&c.wild_type_genes)
            })
            .map(String::as_str)
            .collect();
        let subtypes: BTreeSet<&str> = groups()
            .flat_map(|c| &c.subtypes)
            .map(String::as_str)
            .collect();
        // The somatic genes are read with the columns the gene criteria read next, so
        // the selection finds them in its cache instead of decoding the column twice.
        let mut present = |table: Table, column: &str, wanted: &BTreeSet<&str>| {
            let mut found = BTreeSet::new();
            if wanted.is_empty() {
                return Ok(found);
            }
            let df = if table == Table::SomaticVariants {
                tables.get(table, &SOMATIC_COLUMNS)?
            } else {
                tables.get(table, &[column])?
            };
            let values = strings(df, table, column)?;
            for value in values.downcast_iter().flat_map(|a| a.iter().flatten()) {
                if let Some(w) = wanted.get(value) {
                    found.insert((*w).to_owned());
                    if found.len() == wanted.len() {
                        break;
                    }
                }
            }
            Ok::<_, Error>(found)
        };
        let mut found_genes = present(Table::SomaticVariants, "hugo_symbol", &genes)?;
        if found_genes.len() < genes.len() {
            found_genes.extend(present(Table::GermlineVariants, "hugo_symbol", &genes)?);
        }
        let found_subtypes = present(Table::Diagnoses, "subtype", &subtypes)?;
        if found_genes.len() < genes.len() || found_subtypes.len() < subtypes.len() {
            return Known::of(lake);
        }
        Ok(Known {
            genes: found_genes,
            subtypes: found_subtypes,
        })
    }

    /// The genes (somatic or germline calls) and subtypes present in `lake`.
    ///
    /// # Errors
    ///
    /// The lake's error.
    pub fn of(lake: &Lake) -> Result<Known, Error> {
        let mut genes = distinct(lake, Table::SomaticVariants, "hugo_symbol")?;
        genes.extend(distinct(lake, Table::GermlineVariants, "hugo_symbol")?);
        Ok(Known {
            genes,
            subtypes: distinct(lake, Table::Diagnoses, "subtype")?,
        })
    }
}

/// Selects the cases of `query` from `lake`.
///
/// # Errors
///
/// A criterion's [`Error::UnknownValue`] / [`Error::Impossible`] before anything else is
/// read, or the lake's error.
pub fn select(lake: &Lake, query: &Query) -> Result<Cohort, Error> {
    let mut tables = Tables {
        lake,
        cache: HashMap::new(),
    };
    let needs_known = query.include.iter().chain(&query.exclude).any(|c| {
        !c.genes.is_empty()
            || !c.germline_genes.is_empty()
            || !c.wild_type_genes.is_empty()
            || !c.subtypes.is_empty()
    });
    let known = if needs_known {
        Known::covering(&mut tables, query)?
    } else {
        Known::default()
    };
    for criteria in query.include.iter().chain(&query.exclude) {
        criteria.check(&known)?;
    }
    // The universe: every case the lake's use may see (the lake withholds the others).
    let df = tables.get(Table::Cases, &["case_id"])?.clone();
    let universe: CaseSet = strings(&df, Table::Cases, "case_id")?
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    let mut selected = if query.include.is_empty() {
        universe.clone()
    } else {
        let mut union = CaseSet::new();
        for criteria in &query.include {
            union.extend(criteria.cases(&mut tables, &universe)?);
        }
        union
    };
    for criteria in &query.exclude {
        let out = criteria.cases(&mut tables, &universe)?;
        selected.retain(|c| !out.contains(c));
    }
    let by_cancer_type = by_cancer_type(lake, &selected)?;
    Ok(Cohort {
        name: None,
        query: query.clone(),
        cases: selected.into_iter().collect(),
        by_cancer_type,
        withheld: 0,
    })
}

/// Refuses names that are not plain file names: a saved cohort stays in its directory.
fn check_name(name: &str) -> Result<(), Error> {
    if crate::durable::is_plain_name(name, 100) {
        Ok(())
    } else {
        Err(Error::Name {
            name: name.to_owned(),
        })
    }
}

/// Cases of `members` per registered cancer type.
fn by_cancer_type(lake: &Lake, members: &CaseSet) -> Result<BTreeMap<String, usize>, Error> {
    let registrations = read(lake, Table::Registrations, &["case_id", "cancer_type"])?;
    let ids = strings(&registrations, Table::Registrations, "case_id")?;
    let types = strings(&registrations, Table::Registrations, "cancer_type")?;
    let mut by_cancer_type = BTreeMap::new();
    for (id, cancer_type) in strs(ids).zip(strs(types)) {
        if id.is_some_and(|c| members.contains(c)) {
            *by_cancer_type
                .entry(cancer_type.unwrap_or("(missing)").to_owned())
                .or_insert(0) += 1;
        }
    }
    Ok(by_cancer_type)
}

impl Cohort {
    /// Number of cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether no case qualified.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Saves the cohort (query and members) as JSON under `name` in `dir`, atomically.
    ///
    /// # Errors
    ///
    /// [`Error::Name`] for a name that is not a plain file name (`../x`), [`Error::File`]
    /// when it cannot be written.
    pub fn save(&mut self, dir: &std::path::Path, name: &str) -> Result<PathBuf, Error> {
        check_name(name)?;
        let path = dir.join(format!("{name}.cohort.json"));
        let failed = |detail: String| Error::File {
            path: path.clone(),
            detail,
        };
        let mut saved = self.clone();
        saved.name = Some(name.to_owned());
        let text = serde_json::to_string_pretty(&saved).map_err(|e| failed(e.to_string()))?;
        crate::durable::write(&path, text.as_bytes()).map_err(|e| {
            let source = std::error::Error::source(&e).map(ToString::to_string);
            failed(format!("{e}: {}", source.unwrap_or_default()))
        })?;
        self.name = Some(name.to_owned());
        Ok(path)
    }

    /// Opens a saved cohort: the members it was saved with whose consent still covers
    /// `lake`'s use (a case withdrawn since is dropped, and counted in
    /// [`withheld`](Cohort::withheld)).
    ///
    /// # Errors
    ///
    /// [`Error::File`] when it cannot be read or parsed, or the lake's error.
    pub fn open(lake: &Lake, path: &std::path::Path) -> Result<Cohort, Error> {
        let failed = |detail: String| Error::File {
            path: path.to_owned(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let saved: Cohort = serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
        Ok(saved.visible_in(lake)?.into_owned())
    }

    /// A cohort of the given cases (a list from elsewhere): those the lake's use may see.
    ///
    /// # Errors
    ///
    /// The lake's error.
    pub fn from_cases(
        lake: &Lake,
        cases: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Cohort, Error> {
        let cases: CaseSet = cases.into_iter().map(Into::into).collect();
        Cohort {
            name: None,
            query: Query::default(),
            by_cancer_type: BTreeMap::new(),
            cases: cases.into_iter().collect(),
            withheld: 0,
        }
        .checked(lake)
    }

    /// The cohort as `lake`'s use may see it: itself when every member is visible, else
    /// a copy without the withheld members (R31). Every analysis calls this first.
    ///
    /// # Errors
    ///
    /// The lake's error.
    pub fn visible_in(&self, lake: &Lake) -> Result<std::borrow::Cow<'_, Cohort>, Error> {
        let visible = &lake.visible()?.cases;
        if self.cases.iter().all(|c| visible.contains(c)) {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        Ok(std::borrow::Cow::Owned(self.clone().checked(lake)?))
    }

    /// Keeps the visible members and recounts the cancer types.
    fn checked(mut self, lake: &Lake) -> Result<Cohort, Error> {
        let visible = &lake.visible()?.cases;
        let before = self.cases.len();
        self.cases.retain(|c| visible.contains(c));
        self.cases.sort();
        self.cases.dedup();
        self.withheld += before - self.cases.len();
        let members: CaseSet = self.cases.iter().cloned().collect();
        self.by_cancer_type = by_cancer_type(lake, &members)?;
        Ok(self)
    }

    /// Case ids, sorted.
    pub fn cases(&self) -> &[String] {
        &self.cases
    }

    /// Cases per registered cancer type.
    pub fn by_cancer_type(&self) -> &BTreeMap<String, usize> {
        &self.by_cancer_type
    }

    /// Members dropped because consent no longer covers the lake's use (a withdrawal
    /// since the cohort was saved, or a cohort made for another use).
    pub fn withheld(&self) -> usize {
        self.withheld
    }

    /// The summary card: size, cases per cancer type, criteria.
    pub fn card(&self) -> Html {
        let mut html = format!(
            "<div class=\"workbench-cohort\"><b>{}</b>: {} cases<table class=\"dataframe\">\
             <thead><tr><th>cancer type</th><th>cases</th></tr></thead><tbody>",
            escape(self.name.as_deref().unwrap_or("cohort")),
            self.len()
        );
        for (code, n) in &self.by_cancer_type {
            html.push_str(&format!("<tr><td>{}</td><td>{n}</td></tr>", escape(code)));
        }
        let criteria = serde_json::to_string(&self.query).unwrap_or_default();
        html.push_str(&format!(
            "</tbody></table><small>criteria: <code>{}</code></small></div>",
            escape(&criteria)
        ));
        Html {
            html,
            text: format!(
                "{}: {} cases ({} cancer types)",
                self.name.as_deref().unwrap_or("cohort"),
                self.len(),
                self.by_cancer_type.len()
            ),
        }
    }

    /// Shows the summary card as the cell's result (called by evcxr).
    pub fn evcxr_display(&self) {
        self.card().evcxr_display();
    }
}

/// Cases with at least one sample profiled for mutations (`samples.mutation_profiled`):
/// the denominator of every mutation frequency.
///
/// # Errors
///
/// The lake's error.
pub fn profiled_cases(lake: &Lake) -> Result<BTreeSet<String>, Error> {
    let df = read(lake, Table::Samples, &["case_id", "mutation_profiled"])?;
    let case = strings(&df, Table::Samples, "case_id")?;
    let profiled = df
        .column("mutation_profiled")
        .and_then(|c| c.bool().cloned())
        .map_err(|source| Error::Table {
            table: "samples",
            source,
        })?;
    Ok((0..df.height())
        .filter(|&i| profiled.get(i).unwrap_or(false))
        .filter_map(|i| case.get(i).map(str::to_owned))
        .collect())
}
