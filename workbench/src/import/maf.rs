//! MAF files (GDC / TCGA / maftools) with an optional clinical annotation table.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::import::tsv::{Row, Table};
use crate::import::{self, Assembler, CaseFacts, Error, Imported};
use crate::lake::{Course, SomaticVariant};
use crate::vocab;

/// Which annotation columns hold which lake fields; `--map field=COLUMN` changes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicalMap {
    /// Sample barcode column.
    pub tumor_sample_barcode: String,
    /// Subtype column (diagnosis `subtype`).
    pub subtype: String,
    /// Time from diagnosis to last follow-up or death, in days.
    pub days_to_last_followup: String,
    /// Vital status: `1`/`dead`/`deceased` or `0`/`alive`/`living`.
    pub vital_status: String,
    /// Sex.
    pub sex: String,
    /// Age at diagnosis in years.
    pub age_at_diagnosis: String,
}

impl Default for ClinicalMap {
    /// maftools' annotation names (`tcga_laml_annot.tsv`).
    fn default() -> Self {
        ClinicalMap {
            tumor_sample_barcode: "Tumor_Sample_Barcode".into(),
            subtype: "FAB_classification".into(),
            days_to_last_followup: "days_to_last_followup".into(),
            vital_status: "Overall_Survival_Status".into(),
            sex: "gender".into(),
            age_at_diagnosis: "age_at_diagnosis".into(),
        }
    }
}

impl ClinicalMap {
    /// Applies one `field=COLUMN` override.
    ///
    /// # Errors
    ///
    /// A message naming the unknown field and the known ones.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (field, column) = assignment
            .split_once('=')
            .ok_or_else(|| format!("expected field=COLUMN, found {assignment:?}"))?;
        let slot = match field {
            "tumor_sample_barcode" => &mut self.tumor_sample_barcode,
            "subtype" => &mut self.subtype,
            "days_to_last_followup" => &mut self.days_to_last_followup,
            "vital_status" => &mut self.vital_status,
            "sex" => &mut self.sex,
            "age_at_diagnosis" => &mut self.age_at_diagnosis,
            other => {
                return Err(format!(
                    "unknown field {other:?}; expected one of tumor_sample_barcode, subtype, days_to_last_followup, vital_status, sex, age_at_diagnosis"
                ));
            }
        };
        *slot = column.to_owned();
        Ok(())
    }
}

/// Options of a MAF import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Clinical annotation table (maftools style).
    pub clinical: Option<PathBuf>,
    /// Its column names.
    pub map: ClinicalMap,
    /// OncoTree code of every case; inferred from the file name when absent.
    pub cancer_type: Option<String>,
    /// Data-acquiring institution; the MAF `Center` when absent.
    pub institution: Option<String>,
    /// The data-use terms of the source as a DUO consent scope (`GRU` for TCGA's and
    /// cBioPortal's public studies), recorded as every case's consent from its
    /// registration date; `None` records no consent, and consent then withholds every
    /// case (R31).
    pub consent_scope: Option<crate::vocab::ConsentScope>,
    /// Registration date of the imported cases.
    pub registered_on: NaiveDate,
    /// Assay of the samples (`WXS`, `WGS`, `panel`), if known.
    pub assay: Option<String>,
}

/// Reads a MAF (plain or gzip) and its optional annotation into lake tables.
///
/// # Errors
///
/// Unreadable files, missing required columns, values that cannot be used (naming
/// file, line and column), and an undeterminable cancer type.
pub fn read(path: &Path, options: &Options) -> Result<Imported, Error> {
    let maf = Table::read(path)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cancer_type = match &options.cancer_type {
        Some(code) => import::oncotree_code(code, "--cancer-type")?,
        None => import::infer_cancer_type(&file_name).ok_or_else(|| Error::CancerType {
            detail: format!(
                "cannot tell the cancer type of {}; pass --cancer-type with an OncoTree code",
                path.display()
            ),
        })?,
    };
    let center = maf.column("Center");
    let mut asm = Assembler::default();
    let facts = |case_id: &str, institution: Option<&str>| CaseFacts {
        case_id: case_id.to_owned(),
        institution: options
            .institution
            .clone()
            .or(institution.map(str::to_owned))
            .unwrap_or_else(|| file_name.clone()),
        cancer_type: cancer_type.clone(),
        registered_on: options.registered_on,
        consent_scope: options.consent_scope,
        source: file_name.clone(),
        sex: None,
        age_at_diagnosis: None,
        subtype: None,
    };

    // The annotation defines the cohort first, so samples without any mutation are
    // still cases with a profiled sample (maftools counts them the same way).
    if let Some(clinical) = &options.clinical {
        read_annotation(
            clinical,
            &options.map,
            &mut asm,
            &|case_id| facts(case_id, None),
            options.assay.clone(),
        )?;
    }

    let barcode = maf.require("Tumor_Sample_Barcode")?;
    let mut unannotated = 0usize;
    for row in &maf.rows {
        let sample = maf.text(row, barcode)?;
        let case_id = import::case_of_sample(sample);
        if !asm.has_case(&case_id) {
            if options.clinical.is_some() {
                unannotated += 1;
            }
            let institution = maf.get(row, center).map(str::to_owned);
            asm.case(facts(&case_id, institution.as_deref()));
        }
        asm.tumour_sample(sample, &case_id, options.assay.clone(), None, true);
    }
    if unannotated > 0 {
        asm.imported.warnings.push(format!(
            "{}: {unannotated} mutation rows belong to samples missing from the clinical table",
            path.display()
        ));
    }
    let variants = read_variants(&maf, &mut asm)?;
    asm.imported.dataset.somatic_variants = variants;
    Ok(asm.finish())
}

type Facts<'a> = dyn Fn(&str) -> CaseFacts + 'a;

fn read_annotation(
    path: &Path,
    map: &ClinicalMap,
    asm: &mut Assembler,
    facts: &Facts<'_>,
    assay: Option<String>,
) -> Result<(), Error> {
    let table = Table::read(path)?;
    let barcode = table.require(&map.tumor_sample_barcode)?;
    let subtype = table.column(&map.subtype);
    let days = table.column(&map.days_to_last_followup);
    let vital = table.column(&map.vital_status);
    let sex = table.column(&map.sex);
    let age = table.column(&map.age_at_diagnosis);
    for row in &table.rows {
        let sample = table.text(row, barcode)?;
        let case_id = import::case_of_sample(sample);
        if asm.has_sample(sample) {
            return Err(table.field_error(
                row,
                barcode,
                sample,
                "duplicate sample in the clinical table",
            ));
        }
        let mut f = facts(&case_id);
        f.subtype = table.get(row, subtype).map(str::to_owned);
        f.sex = match table.get(row, sex) {
            None => None,
            Some(value) => Some(
                vocab::Sex::parse(value)
                    .ok_or_else(|| {
                        table.field_error(
                            row,
                            sex.expect("value implies column"),
                            value,
                            "expected female or male",
                        )
                    })?
                    .as_str()
                    .to_owned(),
            ),
        };
        f.age_at_diagnosis = table.number(row, age)?.map(|a| a.round() as i32);
        asm.case(f);
        // Profiled until shown otherwise: maftools treats annotated samples as sequenced.
        asm.tumour_sample(sample, &case_id, assay.clone(), None, true);
        if let Some(course) = course_from(&table, row, &case_id, days, vital)? {
            asm.course.insert(case_id, course);
        }
    }
    asm.imported.warnings.extend(table.warnings());
    Ok(())
}

/// The course row for a case from a follow-up time and a vital status.
pub(crate) fn course_from(
    table: &Table,
    row: &Row,
    case_id: &str,
    days: Option<usize>,
    vital: Option<usize>,
) -> Result<Option<Course>, Error> {
    let Some(status) = table.get(row, vital) else {
        return Ok(None);
    };
    let dead = parse_vital_status(status).ok_or_else(|| {
        table.field_error(
            row,
            vital.expect("value implies column"),
            status,
            "expected 1/dead/deceased or 0/alive/living",
        )
    })?;
    let time = table.number(row, days)?;
    if let Some(t) = time
        && t < 0.0
    {
        return Err(table.field_error(
            row,
            days.expect("value implies column"),
            &t.to_string(),
            "expected days ≥0",
        ));
    }
    let time = time.map(|t| t.round() as i32);
    Ok(Some(Course {
        case_id: case_id.to_owned(),
        vital_status: if dead { "dead" } else { "alive" }.to_owned(),
        days_to_last_follow_up: time,
        days_to_death: if dead { time } else { None },
        best_overall_response: None,
        days_to_progression: None,
    }))
}

/// `true` for dead, `false` for alive; accepts the spellings of maftools, GDC and cBioPortal.
pub(crate) fn parse_vital_status(value: &str) -> Option<bool> {
    let lower = value.trim().to_ascii_lowercase();
    let word = lower.split_once(':').map_or(lower.as_str(), |(_, w)| w);
    match (lower.as_str(), word) {
        ("1", _) | (_, "dead" | "deceased") => Some(true),
        ("0", _) | (_, "alive" | "living") => Some(false),
        _ => None,
    }
}

/// Reads the variant rows of a MAF table. Rows of samples the assembler does not know
/// are skipped with a warning (cBioPortal would reject them).
pub(crate) fn read_variants(
    maf: &Table,
    asm: &mut Assembler,
) -> Result<Vec<SomaticVariant>, Error> {
    let barcode = maf.require("Tumor_Sample_Barcode")?;
    let gene = maf.require("Hugo_Symbol")?;
    let chromosome = maf.require("Chromosome")?;
    let start = maf.require("Start_Position")?;
    let end = maf.require("End_Position")?;
    let reference = maf.require("Reference_Allele")?;
    let allele2 = maf.require("Tumor_Seq_Allele2")?;
    let classification = maf.require("Variant_Classification")?;
    let allele1 = maf.column("Tumor_Seq_Allele1");
    let variant_type = maf.column("Variant_Type");
    let consequence = maf.column("Consequence");
    let protein = maf.any_column(&["HGVSp_Short", "Protein_Change", "Amino_Acid_Change"]);
    let normal = maf.column("Matched_Norm_Sample_Barcode");
    let depth = maf.column("t_depth");
    let alt_count = maf.column("t_alt_count");
    let vaf_percent = maf.column("i_TumorVAF_WU");
    let filter = maf.column("FILTER");

    let mut out = Vec::with_capacity(maf.rows.len());
    let mut unknown_samples = 0usize;
    let mut repaired_consequences = 0usize;
    for row in &maf.rows {
        let sample = maf.text(row, barcode)?;
        if !asm.has_sample(sample) {
            unknown_samples += 1;
            continue;
        }
        asm.mark_profiled(sample);
        let position = |column: usize| -> Result<i64, Error> {
            let value = maf.text(row, column)?;
            value
                .parse::<i64>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| maf.field_error(row, column, value, "expected a 1-based position"))
        };
        let (start_position, end_position) = (position(start)?, position(end)?);
        if end_position < start_position && maf.text(row, reference)? != "-" {
            return Err(maf.field_error(
                row,
                end,
                &end_position.to_string(),
                "end is before start",
            ));
        }
        let ref_allele = maf.text(row, reference)?;
        // Tumor_Seq_Allele2 is the alternate by convention; some files put it in
        // allele 1 and repeat the reference in allele 2.
        let mut alt = maf.text(row, allele2)?;
        if alt == ref_allele
            && let Some(a1) = maf.get(row, allele1)
            && a1 != ref_allele
        {
            alt = a1;
        }
        let class = maf.text(row, classification)?;
        if !vocab::is_variant_classification(class) {
            let near =
                vocab::closest(class, vocab::VARIANT_CLASSIFICATIONS.iter().copied()).join(", ");
            return Err(maf.field_error(
                row,
                classification,
                class,
                &format!("expected a MAF Variant_Classification (closest: {near})"),
            ));
        }
        let vtype = match maf.get(row, variant_type) {
            Some(v) if ["SNP", "DNP", "TNP", "ONP", "INS", "DEL"].contains(&v) => v.to_owned(),
            Some(v) => {
                return Err(maf.field_error(
                    row,
                    variant_type.expect("value implies column"),
                    v,
                    "expected SNP, DNP, TNP, ONP, INS or DEL",
                ));
            }
            None => derive_variant_type(ref_allele, alt).to_owned(),
        };
        let so = match maf.get(row, consequence) {
            Some(c) if vocab::is_so_consequence(c) => c.to_owned(),
            found => {
                if found.is_some() {
                    repaired_consequences += 1;
                }
                vocab::consequence_for_classification(class).to_owned()
            }
        };
        let hgvsp = maf.get(row, protein).map(|p| {
            if p.starts_with("p.") {
                p.to_owned()
            } else {
                format!("p.{p}")
            }
        });
        let t_depth = maf.number(row, depth)?.map(|d| d as i32);
        let t_alt = maf.number(row, alt_count)?.map(|d| d as i32);
        let vaf = match (t_depth, t_alt) {
            (Some(d), Some(a)) if d > 0 => Some(f64::from(a) / f64::from(d)),
            _ => maf.number(row, vaf_percent)?.map(|p| p / 100.0),
        };
        if let Some(v) = vaf
            && !(0.0..=1.0).contains(&v)
        {
            return Err(maf.field_error(
                row,
                vaf_percent.or(alt_count).unwrap_or(barcode),
                &v.to_string(),
                "allele fraction outside 0–1",
            ));
        }
        out.push(SomaticVariant {
            tumor_sample_barcode: sample.to_owned(),
            matched_norm_sample_barcode: maf.get(row, normal).map(str::to_owned),
            hugo_symbol: maf.text(row, gene)?.to_owned(),
            chromosome: maf
                .text(row, chromosome)?
                .trim_start_matches("chr")
                .to_owned(),
            start_position,
            end_position: end_position.max(start_position),
            reference_allele: ref_allele.to_owned(),
            tumor_seq_allele2: alt.to_owned(),
            variant_classification: class.to_owned(),
            variant_type: vtype,
            consequence: so,
            hgvsp_short: hgvsp,
            t_depth,
            t_alt_count: t_alt,
            vaf,
            filter: maf.get(row, filter).unwrap_or("PASS").to_owned(),
        });
    }
    asm.imported.warnings.extend(maf.warnings());
    if unknown_samples > 0 {
        asm.imported.warnings.push(format!(
            "{}: skipped {unknown_samples} mutation rows of samples not in the sample table",
            maf.path.display()
        ));
    }
    if repaired_consequences > 0 {
        asm.imported.warnings.push(format!(
            "{}: {repaired_consequences} rows had a Consequence outside Sequence Ontology; derived it from Variant_Classification",
            maf.path.display()
        ));
    }
    Ok(out)
}

fn derive_variant_type(reference: &str, alternate: &str) -> &'static str {
    if reference == "-" {
        "INS"
    } else if alternate == "-" {
        "DEL"
    } else if reference.len() == alternate.len() {
        match reference.len() {
            1 => "SNP",
            2 => "DNP",
            3 => "TNP",
            _ => "ONP",
        }
    } else if reference.len() > alternate.len() {
        "DEL"
    } else {
        "INS"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vital_status_spellings() {
        for dead in ["1", "dead", "Deceased", "1:DECEASED"] {
            assert_eq!(parse_vital_status(dead), Some(true), "{dead}");
        }
        for alive in ["0", "alive", "LIVING", "0:LIVING"] {
            assert_eq!(parse_vital_status(alive), Some(false), "{alive}");
        }
        assert_eq!(parse_vital_status("2"), None);
    }

    #[test]
    fn column_map_overrides() {
        let mut map = ClinicalMap::default();
        map.set("vital_status=OS_STATUS").expect("known field");
        assert_eq!(map.vital_status, "OS_STATUS");
        assert!(map.set("colour=X").expect_err("unknown").contains("colour"));
        assert!(map.set("novalue").is_err());
    }

    fn options() -> Options {
        Options {
            clinical: None,
            map: ClinicalMap::default(),
            cancer_type: Some("AML".into()),
            institution: None,
            registered_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
            consent_scope: None,
            assay: None,
        }
    }

    const HEADER: &str = "Hugo_Symbol\tChromosome\tStart_Position\tEnd_Position\tReference_Allele\tTumor_Seq_Allele2\tVariant_Classification\tTumor_Sample_Barcode\tt_depth\tt_alt_count\n";

    #[test]
    fn bad_variant_class_names_line_and_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.maf");
        std::fs::write(
            &path,
            format!("{HEADER}TP53\t17\t100\t100\tC\tT\tMissense\tS1\t10\t5\n"),
        )
        .expect("write");
        let err = read(&path, &options()).expect_err("bad class").to_string();
        assert!(
            err.contains("line 2")
                && err.contains("Variant_Classification")
                && err.contains("Missense_Mutation"),
            "{err}"
        );
    }

    #[test]
    fn missing_column_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.maf");
        std::fs::write(&path, "Hugo_Symbol\tTumor_Sample_Barcode\nTP53\tS1\n").expect("write");
        let err = read(&path, &options()).expect_err("missing").to_string();
        assert!(err.contains("Chromosome"), "{err}");
    }

    #[test]
    fn reads_variants_and_derives_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.maf");
        std::fs::write(&path, format!("{HEADER}TP53\tchr17\t100\t101\tCA\t-\tFrame_Shift_Del\tS1\t20\t5\nKRAS\t12\t5\t5\tC\tT\tSilent\tS1\tNA\t[Not Available]\n")).expect("write");
        let imported = read(&path, &options()).expect("import");
        let v = &imported.dataset.somatic_variants;
        assert_eq!(v.len(), 2);
        assert_eq!(
            (
                v[0].chromosome.as_str(),
                v[0].variant_type.as_str(),
                v[0].vaf
            ),
            ("17", "DEL", Some(0.25))
        );
        assert_eq!(
            (v[1].consequence.as_str(), v[1].vaf),
            ("synonymous_variant", None)
        );
        imported.dataset.validate().expect("valid lake");
    }
}
