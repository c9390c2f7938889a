//! Imports of real formats into the lake: MAF (+ a clinical annotation table) and
//! cBioPortal study directories.
//!
//! Importers are lenient where the data stay usable (missing-value markers, a
//! mutation whose sample has no clinical row) and report each such case as a
//! warning; they refuse with the file, line and column where the data would be wrong.

pub mod cbioportal;
pub mod maf;
mod tsv;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::lake::{Case, Course, Dataset, Diagnosis, Registration, Sample};
use crate::vocab::OncoTree;

pub use maf::ClinicalMap;

/// An error importing a file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("reading {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A required column is missing.
    #[error("{}: missing column {column:?} (found: {})", path.display(), found.join(", "))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The columns the file has.
        found: Vec<String>,
    },
    /// A field holds a value that cannot be used.
    #[error("{}, line {line}, column {column}: {detail}, found {value:?}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Column name.
        column: String,
        /// The value.
        value: String,
        /// What was expected.
        detail: String,
    },
    /// The file as a whole is malformed.
    #[error("{}, line {line}: {detail}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line number, 0 for the file as a whole.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// The cancer type could not be determined or is not an OncoTree code.
    #[error("{detail}")]
    CancerType {
        /// What is wrong, with the suggested fix.
        detail: String,
    },
}

/// The result of an import: the tables and what was repaired or skipped on the way.
#[derive(Debug, Default)]
pub struct Imported {
    /// Tables to write into a lake.
    pub dataset: Dataset,
    /// One line per repaired or skipped item, with its file and line.
    pub warnings: Vec<String>,
}

/// TCGA project codes and the OncoTree code of the same disease, for files that name
/// their study the TCGA way (`tcga_laml.maf.gz`).
const TCGA_PROJECTS: &[(&str, &str)] = &[
    ("LAML", "AML"),
    ("BRCA", "BRCA"),
    ("LUAD", "LUAD"),
    ("LUSC", "LUSC"),
    ("COAD", "COAD"),
    ("READ", "READ"),
    ("PAAD", "PAAD"),
    ("PRAD", "PRAD"),
    ("STAD", "STAD"),
    ("SKCM", "SKCM"),
    ("GBM", "GB"),
    ("LGG", "DIFG"),
    ("OV", "HGSOC"),
    ("UCEC", "UCEC"),
    ("KIRC", "CCRCC"),
    ("KIRP", "PRCC"),
    ("KICH", "CHRCC"),
    ("LIHC", "HCC"),
    ("BLCA", "BLCA"),
    ("HNSC", "HNSC"),
    ("THCA", "THPA"),
    ("CESC", "CESC"),
    ("SARC", "SARCNOS"),
    ("ACC", "ACC"),
    ("THYM", "THYM"),
    ("UCS", "UCS"),
    ("UVM", "UM"),
    ("MESO", "PLMESO"),
    ("DLBC", "DLBCLNOS"),
    ("CHOL", "CHOL"),
];

/// Checks that `code` is an OncoTree code, suggesting the closest ones if not.
pub(crate) fn oncotree_code(code: &str, origin: &str) -> Result<String, Error> {
    let tree = OncoTree::get();
    let upper = code.trim().to_ascii_uppercase();
    if tree.contains(&upper) {
        return Ok(upper);
    }
    let suggestions = crate::vocab::closest(&upper, tree.codes());
    Err(Error::CancerType {
        detail: format!(
            "unknown OncoTree code {code:?} from {origin}{}",
            if suggestions.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", suggestions.join(", "))
            }
        ),
    })
}

/// Infers an OncoTree code from words in a name (`tcga_laml` → `AML`, `brca-es0` → `BRCA`).
pub(crate) fn infer_cancer_type(name: &str) -> Option<String> {
    let tree = OncoTree::get();
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_uppercase)
        .collect();
    for word in &words {
        if let Some((_, code)) = TCGA_PROJECTS.iter().find(|(project, _)| project == word) {
            return Some((*code).to_owned());
        }
    }
    words.into_iter().find(|w| tree.contains(w))
}

/// The TCGA patient barcode of a TCGA sample barcode (`TCGA-AB-2802-03A` →
/// `TCGA-AB-2802`); other ids are their own case.
pub(crate) fn case_of_sample(sample: &str) -> String {
    let parts: Vec<&str> = sample.split('-').collect();
    if parts.len() >= 3 && parts[0] == "TCGA" {
        parts[..3].join("-")
    } else {
        sample.to_owned()
    }
}

/// Collects cases and samples while an importer walks its files, keeping one row per
/// key and the order in which keys were first seen.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    pub(crate) imported: Imported,
    cases: HashMap<String, usize>,
    samples: HashMap<String, usize>,
    pub(crate) course: BTreeMap<String, Course>,
}

/// What an importer knows about a case.
pub(crate) struct CaseFacts {
    pub(crate) case_id: String,
    pub(crate) institution: String,
    pub(crate) cancer_type: String,
    pub(crate) registered_on: NaiveDate,
    pub(crate) consent_scope: Option<crate::vocab::ConsentScope>,
    pub(crate) source: String,
    pub(crate) sex: Option<String>,
    pub(crate) age_at_diagnosis: Option<i32>,
    pub(crate) subtype: Option<String>,
}

impl Assembler {
    /// Adds a case (registration, case and diagnosis rows) unless it exists.
    pub(crate) fn case(&mut self, facts: CaseFacts) {
        if self.cases.contains_key(&facts.case_id) {
            return;
        }
        let d = &mut self.imported.dataset;
        self.cases.insert(facts.case_id.clone(), d.cases.len());
        d.registrations.push(Registration {
            case_id: facts.case_id.clone(),
            institution: facts.institution,
            cancer_type: facts.cancer_type.clone(),
            registered_on: facts.registered_on,
            source: facts.source,
        });
        d.cases.push(Case {
            case_id: facts.case_id.clone(),
            sex: facts.sex,
            age_at_diagnosis: facts.age_at_diagnosis,
            // The source's data-use terms stand for each patient's consent, given when the
            // case is registered here.
            consent_date: facts.consent_scope.map(|_| facts.registered_on),
            consent_scope: facts.consent_scope.map(|s| s.as_str().to_owned()),
            consent_industry: None,
            consent_secondary_findings: None,
            consent_withdrawn_on: None,
            eligible_specimen: None,
            refractory: None,
            alive_at_analysis: None,
            rare_cancer: None,
            smoking_status: None,
        });
        d.diagnoses.push(Diagnosis {
            case_id: facts.case_id,
            cancer_type: facts.cancer_type,
            icd10: None,
            icdo3_morphology: None,
            icdo3_topography: None,
            tnm_t: None,
            tnm_n: None,
            tnm_m: None,
            stage: None,
            subtype: facts.subtype,
        });
    }

    /// Sets the case's diagnosis subtype if it has none yet.
    pub(crate) fn fill_subtype(&mut self, case_id: &str, subtype: &str) {
        if let Some(&i) = self.cases.get(case_id) {
            let diagnosis = &mut self.imported.dataset.diagnoses[i];
            if diagnosis.subtype.is_none() {
                diagnosis.subtype = Some(subtype.to_owned());
            }
        }
    }

    /// Whether the case exists.
    pub(crate) fn has_case(&self, case_id: &str) -> bool {
        self.cases.contains_key(case_id)
    }

    /// Whether the sample exists.
    pub(crate) fn has_sample(&self, sample_id: &str) -> bool {
        self.samples.contains_key(sample_id)
    }

    /// Adds a tumour sample of an existing case unless it exists.
    pub(crate) fn tumour_sample(
        &mut self,
        sample_id: &str,
        case_id: &str,
        assay: Option<String>,
        gene_panel: Option<String>,
        profiled: bool,
    ) {
        if self.samples.contains_key(sample_id) {
            return;
        }
        let d = &mut self.imported.dataset;
        self.samples.insert(sample_id.to_owned(), d.samples.len());
        d.samples.push(Sample {
            sample_id: sample_id.to_owned(),
            case_id: case_id.to_owned(),
            specimen_id: None,
            sample_type: "tumor".to_owned(),
            assay,
            gene_panel,
            mutation_profiled: Some(profiled),
            sequencing_centre: None,
            delivered_on: None,
        });
    }

    /// Marks a sample as profiled for mutations (it has calls in the lake).
    pub(crate) fn mark_profiled(&mut self, sample_id: &str) {
        if let Some(&i) = self.samples.get(sample_id) {
            self.imported.dataset.samples[i].mutation_profiled = Some(true);
        }
    }

    /// Finishes: moves the course rows (one per case, in case order) into the dataset;
    /// rows of patients that never became a case are dropped.
    pub(crate) fn finish(mut self) -> Imported {
        let order: Vec<String> = self
            .imported
            .dataset
            .cases
            .iter()
            .map(|c| c.case_id.clone())
            .collect();
        for case_id in order {
            if let Some(course) = self.course.remove(&case_id) {
                self.imported.dataset.course.push(course);
            }
        }
        self.imported
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcga_projects_map_to_real_oncotree_codes() {
        for (project, code) in TCGA_PROJECTS {
            assert!(OncoTree::get().contains(code), "{project} → {code}");
        }
    }

    #[test]
    fn cancer_type_inference() {
        assert_eq!(
            infer_cancer_type("tcga_laml.maf.gz").as_deref(),
            Some("AML")
        );
        assert_eq!(infer_cancer_type("brca-es0").as_deref(), Some("BRCA"));
        assert_eq!(infer_cancer_type("my_study").as_deref(), None);
    }

    #[test]
    fn unknown_oncotree_code_suggests_close_codes() {
        let err = oncotree_code("LUADX", "--cancer-type")
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("LUADX") && err.contains("LUAD"), "{err}");
        assert_eq!(oncotree_code("luad", "x").expect("known"), "LUAD");
    }

    #[test]
    fn tcga_sample_barcodes_map_to_patients() {
        assert_eq!(case_of_sample("TCGA-AB-2802"), "TCGA-AB-2802");
        assert_eq!(case_of_sample("TCGA-A1-A0SB-01"), "TCGA-A1-A0SB");
        assert_eq!(case_of_sample("TEST_SAMPLE_1"), "TEST_SAMPLE_1");
    }
}
