//! cBioPortal study directories: `meta_*.txt` files naming their data files.
//!
//! Reads the study, patient and sample attributes, the mutation MAF, the gene-panel
//! matrix and the `cases_sequenced` list. Patients become cases, samples keep their
//! patient (multi-sample patients stay one case), `[Not Available]` and friends
//! become nulls, and overall survival in months becomes days.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::import::maf::{parse_vital_status, read_variants};
use crate::import::tsv::Table;
use crate::import::{self, Assembler, CaseFacts, Error, Imported};
use crate::lake::Course;
use crate::vocab::{OncoTree, Sex};

/// Average days per month, as cBioPortal's month values are computed (365.25 / 12).
const DAYS_PER_MONTH: f64 = 30.4375;

/// Options of a cBioPortal import.
#[derive(Debug, Clone)]
pub struct Options {
    /// OncoTree code for samples that name none; inferred from `type_of_cancer` when absent.
    pub cancer_type: Option<String>,
    /// Data-acquiring institution; the study id when absent.
    pub institution: Option<String>,
    /// The data-use terms of the source as a DUO consent scope (`GRU` for TCGA's and
    /// cBioPortal's public studies), recorded as every case's consent from its
    /// registration date; `None` records no consent, and consent then withholds every
    /// case (R31).
    pub consent_scope: Option<crate::vocab::ConsentScope>,
    /// Registration date of the imported cases.
    pub registered_on: NaiveDate,
}

/// A `key: value` meta file.
fn read_meta(path: &Path) -> Result<HashMap<String, String>, Error> {
    let text = fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(':').ok_or_else(|| Error::Format {
            path: path.to_owned(),
            line: i + 1,
            detail: format!("expected `key: value`, found {line:?}"),
        })?;
        out.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(out)
}

struct Study {
    id: String,
    type_of_cancer: String,
    patients: Option<PathBuf>,
    samples: PathBuf,
    mutations: Option<PathBuf>,
    gene_panels: Option<PathBuf>,
    sequenced: Option<HashSet<String>>,
}

fn scan(dir: &Path) -> Result<Study, Error> {
    let meta_study = dir.join("meta_study.txt");
    let study = read_meta(&meta_study)?;
    let field = |key: &str| {
        study.get(key).cloned().ok_or_else(|| Error::Format {
            path: meta_study.clone(),
            line: 0,
            detail: format!("missing {key}"),
        })
    };
    let id = field("cancer_study_identifier")?;
    let type_of_cancer = field("type_of_cancer")?;
    let (mut patients, mut samples, mut mutations, mut gene_panels) = (None, None, None, None);
    let entries = fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut metas: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("meta_") && n.ends_with(".txt"))
        })
        .collect();
    metas.sort();
    for meta_path in metas {
        let meta = read_meta(&meta_path)?;
        let (Some(kind), Some(datatype)) =
            (meta.get("genetic_alteration_type"), meta.get("datatype"))
        else {
            continue;
        };
        let data = meta.get("data_filename").map(|f| dir.join(f));
        match (kind.as_str(), datatype.as_str()) {
            ("CLINICAL", "PATIENT_ATTRIBUTES") => patients = data,
            ("CLINICAL", "SAMPLE_ATTRIBUTES") => samples = data,
            ("MUTATION_EXTENDED", "MAF") => mutations = data,
            ("GENE_PANEL_MATRIX", _) => gene_panels = data,
            _ => {}
        }
    }
    let samples = samples.ok_or_else(|| Error::Format {
        path: dir.to_owned(),
        line: 0,
        detail: "no meta file with datatype SAMPLE_ATTRIBUTES; a study needs its samples".into(),
    })?;
    let list = dir.join("case_lists").join("cases_sequenced.txt");
    let sequenced = if list.is_file() {
        let meta = read_meta(&list)?;
        meta.get("case_list_ids").map(|ids| {
            ids.split('\t')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    } else {
        None
    };
    Ok(Study {
        id,
        type_of_cancer,
        patients,
        samples,
        mutations,
        gene_panels,
        sequenced,
    })
}

/// Reads a cBioPortal study directory into lake tables.
///
/// # Errors
///
/// A missing `meta_study.txt` or sample file, malformed meta lines, unusable values
/// (naming file, line and column), and unknown cancer types.
pub fn read(dir: &Path, options: &Options) -> Result<Imported, Error> {
    let study = scan(dir)?;
    let default_type = match &options.cancer_type {
        Some(code) => Some(import::oncotree_code(code, "--cancer-type")?),
        None => import::oncotree_code(&study.type_of_cancer, "type_of_cancer")
            .ok()
            .or_else(|| import::infer_cancer_type(&study.type_of_cancer)),
    };
    let institution = options
        .institution
        .clone()
        .unwrap_or_else(|| study.id.clone());
    let mut asm = Assembler::default();

    // Patient attributes first: sex, age and survival, keyed by PATIENT_ID.
    let mut patient_rows: HashMap<String, (Option<String>, Option<i32>)> = HashMap::new();
    if let Some(path) = &study.patients {
        let table = Table::read(path)?;
        let id = table.require("PATIENT_ID")?;
        let (os_status, os_months) = (table.column("OS_STATUS"), table.column("OS_MONTHS"));
        let (dfs_status, dfs_months) = (table.column("DFS_STATUS"), table.column("DFS_MONTHS"));
        let (sex, age) = (table.any_column(&["SEX", "GENDER"]), table.column("AGE"));
        let mut unknown_status = 0;
        for row in &table.rows {
            let patient = table.text(row, id)?.to_owned();
            if patient_rows.contains_key(&patient) {
                return Err(table.field_error(row, id, &patient, "duplicate patient"));
            }
            let sex_value = match table.get(row, sex) {
                None => None,
                Some(v) => Some(
                    Sex::parse(v)
                        .ok_or_else(|| {
                            table.field_error(
                                row,
                                sex.expect("value implies column"),
                                v,
                                "expected Female or Male",
                            )
                        })?
                        .as_str()
                        .to_owned(),
                ),
            };
            let age_value = table.number(row, age)?.map(|a| a.round() as i32);
            patient_rows.insert(patient.clone(), (sex_value, age_value));
            let Some(status) = table.get(row, os_status) else {
                continue;
            };
            let Some(dead) = parse_vital_status(status) else {
                unknown_status += 1;
                continue;
            };
            let days = table
                .number(row, os_months)?
                .map(|m| (m * DAYS_PER_MONTH).round() as i32);
            let progressed = table
                .get(row, dfs_status)
                .and_then(|s| s.split_once(':'))
                .is_some_and(|(code, _)| code == "1");
            let progression = if progressed {
                table
                    .number(row, dfs_months)?
                    .map(|m| (m * DAYS_PER_MONTH).round() as i32)
            } else {
                None
            };
            asm.course.insert(
                patient.clone(),
                Course {
                    case_id: patient,
                    vital_status: if dead { "dead" } else { "alive" }.to_owned(),
                    days_to_last_follow_up: days,
                    days_to_death: if dead { days } else { None },
                    best_overall_response: None,
                    days_to_progression: progression,
                },
            );
        }
        asm.imported.warnings.extend(table.warnings());
        if unknown_status > 0 {
            asm.imported.warnings.push(format!("{}: {unknown_status} patients have an OS_STATUS that is neither living nor deceased; left without a course row", path.display()));
        }
    }

    let panels: HashMap<String, String> = match &study.gene_panels {
        Some(path) => {
            let table = Table::read(path)?;
            let (id, mutations) = (table.require("SAMPLE_ID")?, table.column("mutations"));
            table
                .rows
                .iter()
                .filter_map(|row| {
                    Some((
                        table.get(row, Some(id))?.to_owned(),
                        table.get(row, mutations)?.to_owned(),
                    ))
                })
                .collect()
        }
        None => HashMap::new(),
    };

    let samples = Table::read(&study.samples)?;
    let (sample_col, patient_col) = (
        samples.require("SAMPLE_ID")?,
        samples.require("PATIENT_ID")?,
    );
    let oncotree_col = samples.any_column(&["ONCOTREE_CODE", "CANCER_TYPE_DETAILED_CODE"]);
    let subtype_col = samples.column("SUBTYPE");
    let tree = OncoTree::get();
    let mut missing_patients = 0;
    for row in &samples.rows {
        let sample = samples.text(row, sample_col)?;
        let patient = samples.text(row, patient_col)?;
        if asm.has_sample(sample) {
            return Err(samples.field_error(row, sample_col, sample, "duplicate sample"));
        }
        if asm.has_case(patient) {
            // Subtype is a sample attribute in cBioPortal and a diagnosis field here: the
            // case takes the first of its samples that has one.
            if let Some(subtype) = samples.get(row, subtype_col) {
                asm.fill_subtype(patient, subtype);
            }
        } else {
            let cancer_type = match samples.get(row, oncotree_col) {
                Some(code) if tree.contains(&code.to_ascii_uppercase()) => code.to_ascii_uppercase(),
                Some(code) => {
                    return Err(samples.field_error(row, oncotree_col.expect("value implies column"), code, "expected an OncoTree code"));
                }
                None => default_type.clone().ok_or_else(|| Error::CancerType {
                    detail: format!(
                        "{}: type_of_cancer {:?} is not an OncoTree code and samples have no ONCOTREE_CODE; pass --cancer-type",
                        dir.display(),
                        study.type_of_cancer
                    ),
                })?,
            };
            let (sex, age) = patient_rows.get(patient).cloned().unwrap_or_else(|| {
                missing_patients += 1;
                (None, None)
            });
            asm.case(CaseFacts {
                case_id: patient.to_owned(),
                institution: institution.clone(),
                cancer_type,
                registered_on: options.registered_on,
                consent_scope: options.consent_scope,
                source: study.id.clone(),
                sex,
                age_at_diagnosis: age,
                subtype: samples.get(row, subtype_col).map(str::to_owned),
            });
        }
        // A sample counts as profiled when the study says it was sequenced; without a
        // case list, only samples with calls are (marked while reading the MAF).
        let profiled = study.sequenced.as_ref().is_some_and(|s| s.contains(sample));
        let panel = panels.get(sample).cloned();
        let assay = panel.as_deref().map(|p| {
            if p.eq_ignore_ascii_case("WES") || p.eq_ignore_ascii_case("WXS") {
                "WXS"
            } else {
                "panel"
            }
            .to_owned()
        });
        asm.tumour_sample(sample, patient, assay, panel, profiled);
    }
    if missing_patients > 0 {
        asm.imported.warnings.push(format!(
            "{}: {missing_patients} samples name a patient missing from the patient file",
            study.samples.display()
        ));
    }
    // Course rows of patients without samples are dropped by `finish`, which keeps one
    // per case: the sample file defines the cohort.

    if let Some(path) = &study.mutations {
        let maf = Table::read(path)?;
        let variants = read_variants(&maf, &mut asm)?;
        asm.imported.dataset.somatic_variants = variants;
    }
    Ok(asm.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            cancer_type: None,
            institution: None,
            registered_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            consent_scope: None,
        }
    }

    fn study(dir: &Path, samples: &str) {
        fs::write(
            dir.join("meta_study.txt"),
            "cancer_study_identifier: s1\ntype_of_cancer: luad\nname: S\n",
        )
        .expect("write");
        fs::write(dir.join("meta_clinical_samples.txt"), "cancer_study_identifier: s1\ngenetic_alteration_type: CLINICAL\ndatatype: SAMPLE_ATTRIBUTES\ndata_filename: data_clinical_samples.txt\n").expect("write");
        fs::write(dir.join("data_clinical_samples.txt"), samples).expect("write");
    }

    #[test]
    fn multi_sample_patients_are_one_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        study(
            dir.path(),
            "#a\tb\n#c\td\n#STRING\tSTRING\n#1\t1\nPATIENT_ID\tSAMPLE_ID\nP1\tP1-01\nP1\tP1-02\nP2\tP2-01\n",
        );
        let imported = read(dir.path(), &options()).expect("import");
        assert_eq!(imported.dataset.cases.len(), 2);
        assert_eq!(imported.dataset.samples.len(), 3);
        assert_eq!(imported.dataset.registrations[0].cancer_type, "LUAD");
        imported.dataset.validate().expect("valid");
    }

    #[test]
    fn bad_oncotree_code_names_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        study(
            dir.path(),
            "PATIENT_ID\tSAMPLE_ID\tONCOTREE_CODE\nP1\tP1-01\tNOTACODE\n",
        );
        let err = read(dir.path(), &options())
            .expect_err("bad code")
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("ONCOTREE_CODE") && err.contains("NOTACODE"),
            "{err}"
        );
    }

    #[test]
    fn missing_meta_study_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read(dir.path(), &options())
            .expect_err("no study")
            .to_string();
        assert!(err.contains("meta_study.txt"), "{err}");
    }
}
