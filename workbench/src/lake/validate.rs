//! Validation of a whole dataset: vocabularies per field and keys between tables.

use std::collections::HashSet;
use std::fmt;

use crate::lake::{Dataset, Error, Table};
use crate::vocab::{self, AcmgSf, BestResponse, ConsentScope, OncoTree, Sex};

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A required text field is empty.
    Empty,
    /// A value is not in its vocabulary.
    Unknown {
        /// The vocabulary (`OncoTree code`, `RECIST 1.1 response`, …).
        vocabulary: &'static str,
        /// The value found.
        value: String,
        /// The closest valid values, if any are close.
        suggestions: Vec<String>,
    },
    /// A number is outside its range or not finite.
    OutOfRange {
        /// The value found.
        value: String,
        /// The accepted range.
        expected: &'static str,
    },
    /// A key appears twice.
    Duplicate {
        /// The repeated key.
        value: String,
    },
    /// A reference to a row that does not exist.
    Dangling {
        /// The referenced key.
        value: String,
        /// The table that should hold it.
        parent: Table,
    },
    /// Two fields of the row contradict each other.
    Inconsistent {
        /// Why.
        detail: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("expected a value, found an empty string"),
            Self::Unknown {
                vocabulary,
                value,
                suggestions,
            } => {
                write!(f, "unknown {vocabulary} {value:?}")?;
                if !suggestions.is_empty() {
                    write!(f, " (did you mean {}?)", suggestions.join(", "))?;
                }
                Ok(())
            }
            Self::OutOfRange { value, expected } => {
                write!(f, "{value} is out of range, expected {expected}")
            }
            Self::Duplicate { value } => write!(f, "duplicate key {value:?}"),
            Self::Dangling { value, parent } => {
                write!(f, "{value:?} does not exist in table {}", parent.name())
            }
            Self::Inconsistent { detail } => f.write_str(detail),
        }
    }
}

struct Rows {
    table: Table,
    row: usize,
}

impl Rows {
    fn fail(&self, field: &'static str, problem: Problem) -> Error {
        Error::Invalid {
            table: self.table,
            row: self.row,
            field,
            problem,
        }
    }

    fn nonempty(&self, field: &'static str, value: &str) -> Result<(), Error> {
        if value.trim().is_empty() {
            return Err(self.fail(field, Problem::Empty));
        }
        Ok(())
    }

    fn one_of(
        &self,
        field: &'static str,
        vocabulary: &'static str,
        value: &str,
        allowed: &[&str],
    ) -> Result<(), Error> {
        if allowed.contains(&value) {
            return Ok(());
        }
        Err(self.unknown(field, vocabulary, value, allowed.iter().copied()))
    }

    fn unknown<'a>(
        &self,
        field: &'static str,
        vocabulary: &'static str,
        value: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Error {
        let suggestions = vocab::closest(value, candidates)
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.fail(
            field,
            Problem::Unknown {
                vocabulary,
                value: value.to_owned(),
                suggestions,
            },
        )
    }

    fn shape(
        &self,
        field: &'static str,
        vocabulary: &'static str,
        value: &str,
        ok: bool,
    ) -> Result<(), Error> {
        if ok {
            return Ok(());
        }
        Err(self.fail(
            field,
            Problem::Unknown {
                vocabulary,
                value: value.to_owned(),
                suggestions: Vec::new(),
            },
        ))
    }

    fn range_i64(
        &self,
        field: &'static str,
        value: i64,
        low: i64,
        high: i64,
        expected: &'static str,
    ) -> Result<(), Error> {
        if (low..=high).contains(&value) {
            return Ok(());
        }
        Err(self.fail(
            field,
            Problem::OutOfRange {
                value: value.to_string(),
                expected,
            },
        ))
    }

    fn fraction(&self, field: &'static str, value: f64) -> Result<(), Error> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            return Ok(());
        }
        Err(self.fail(
            field,
            Problem::OutOfRange {
                value: value.to_string(),
                expected: "a finite fraction in 0–1",
            },
        ))
    }

    fn refers(
        &self,
        field: &'static str,
        value: &str,
        keys: &HashSet<&str>,
        parent: Table,
    ) -> Result<(), Error> {
        if keys.contains(value) {
            return Ok(());
        }
        Err(self.fail(
            field,
            Problem::Dangling {
                value: value.to_owned(),
                parent,
            },
        ))
    }

    fn recist(&self, field: &'static str, value: Option<&str>) -> Result<(), Error> {
        match value {
            Some(code) if BestResponse::parse(code).is_none() => Err(self.unknown(
                field,
                "RECIST 1.1 response (CR/PR/SD/PD/NE)",
                code,
                BestResponse::ALL.map(BestResponse::as_str),
            )),
            _ => Ok(()),
        }
    }

    fn oncotree(&self, field: &'static str, code: &str) -> Result<(), Error> {
        let tree = OncoTree::get();
        if tree.contains(code) {
            return Ok(());
        }
        Err(self.unknown(field, "OncoTree code", code, tree.codes()))
    }
}

/// Iterates `rows` with a 1-based row context for `table`.
fn each<T>(table: Table, rows: &[T]) -> impl Iterator<Item = (Rows, &T)> {
    rows.iter()
        .enumerate()
        .map(move |(i, r)| (Rows { table, row: i + 1 }, r))
}

fn unique_keys<'a, T>(
    table: Table,
    field: &'static str,
    rows: &'a [T],
    key: impl Fn(&'a T) -> &'a str,
) -> Result<HashSet<&'a str>, Error> {
    let mut keys = HashSet::with_capacity(rows.len());
    for (ctx, row) in each(table, rows) {
        let value = key(row);
        ctx.nonempty(field, value)?;
        if !keys.insert(value) {
            return Err(ctx.fail(
                field,
                Problem::Duplicate {
                    value: value.to_owned(),
                },
            ));
        }
    }
    Ok(keys)
}

pub(super) fn dataset(d: &Dataset) -> Result<(), Error> {
    let registered = unique_keys(Table::Registrations, "case_id", &d.registrations, |r| {
        &r.case_id
    })?;
    for (ctx, r) in each(Table::Registrations, &d.registrations) {
        ctx.nonempty("institution", &r.institution)?;
        ctx.oncotree("cancer_type", &r.cancer_type)?;
        ctx.nonempty("source", &r.source)?;
    }

    let cases = unique_keys(Table::Cases, "case_id", &d.cases, |c| &c.case_id)?;
    for (ctx, c) in each(Table::Cases, &d.cases) {
        ctx.refers("case_id", &c.case_id, &registered, Table::Registrations)?;
        if let Some(sex) = &c.sex
            && Sex::parse(sex).map(Sex::as_str) != Some(sex.as_str())
        {
            return Err(ctx.unknown("sex", "sex (GDC)", sex, ["female", "male"]));
        }
        if let Some(age) = c.age_at_diagnosis {
            ctx.range_i64("age_at_diagnosis", age.into(), 0, 120, "0–120 years")?;
        }
        if let Some(scope) = &c.consent_scope
            && ConsentScope::parse(scope).is_none()
        {
            return Err(ctx.unknown(
                "consent_scope",
                "DUO consent code",
                scope,
                ConsentScope::ALL.map(ConsentScope::as_str),
            ));
        }
        if let (Some(given), Some(withdrawn)) = (c.consent_date, c.consent_withdrawn_on)
            && withdrawn < given
        {
            return Err(ctx.fail(
                "consent_withdrawn_on",
                Problem::Inconsistent {
                    detail: format!("withdrawal {withdrawn} precedes consent {given}"),
                },
            ));
        }
        if let Some(status) = &c.smoking_status {
            ctx.one_of(
                "smoking_status",
                "smoking status",
                status,
                &["never", "former", "current"],
            )?;
        }
    }
    // Registration and case are one-to-one: a registration without its case would be
    // counted in embargo clocks but invisible to every analysis.
    for (ctx, r) in each(Table::Registrations, &d.registrations) {
        ctx.refers("case_id", &r.case_id, &cases, Table::Cases)?;
    }

    let specimens = unique_keys(Table::Specimens, "specimen_id", &d.specimens, |s| {
        &s.specimen_id
    })?;
    for (ctx, s) in each(Table::Specimens, &d.specimens) {
        ctx.refers("case_id", &s.case_id, &cases, Table::Cases)?;
        ctx.one_of(
            "specimen_type",
            "specimen type",
            &s.specimen_type,
            &["surgical", "biopsy", "blood", "bone_marrow"],
        )?;
        ctx.one_of(
            "tissue_type",
            "tissue type",
            &s.tissue_type,
            &["tumor", "normal"],
        )?;
        ctx.nonempty("hospital", &s.hospital)?;
        if let Some(minutes) = s.minutes_to_freeze {
            ctx.range_i64(
                "minutes_to_freeze",
                minutes.into(),
                0,
                7 * 24 * 60,
                "0–10080 minutes",
            )?;
        }
    }

    for (ctx, b) in each(Table::Background, &d.background) {
        ctx.refers("case_id", &b.case_id, &cases, Table::Cases)?;
        ctx.one_of(
            "kind",
            "background kind",
            &b.kind,
            &["medical_history", "comorbidity", "family_history"],
        )?;
        ctx.shape("icd10", "ICD-10 code", &b.icd10, vocab::is_icd10(&b.icd10))?;
        if b.kind == "family_history" && b.relationship.is_none() {
            return Err(ctx.fail(
                "relationship",
                Problem::Inconsistent {
                    detail: "family history needs the relative".into(),
                },
            ));
        }
    }

    unique_keys(Table::Diagnoses, "case_id", &d.diagnoses, |x| &x.case_id)?;
    for (ctx, x) in each(Table::Diagnoses, &d.diagnoses) {
        ctx.refers("case_id", &x.case_id, &cases, Table::Cases)?;
        ctx.oncotree("cancer_type", &x.cancer_type)?;
        if let Some(code) = &x.icd10 {
            ctx.shape("icd10", "ICD-10 code", code, vocab::is_icd10(code))?;
        }
        if let Some(code) = &x.icdo3_morphology {
            ctx.shape(
                "icdo3_morphology",
                "ICD-O-3 morphology (e.g. 8140/3)",
                code,
                vocab::is_icdo3_morphology(code),
            )?;
        }
        if let Some(code) = &x.icdo3_topography {
            ctx.shape(
                "icdo3_topography",
                "ICD-O-3 topography (e.g. C34.1)",
                code,
                vocab::is_icdo3_topography(code),
            )?;
        }
        for (field, axis, value) in [
            ("tnm_t", 'T', &x.tnm_t),
            ("tnm_n", 'N', &x.tnm_n),
            ("tnm_m", 'M', &x.tnm_m),
        ] {
            if let Some(v) = value {
                ctx.shape(
                    field,
                    "UICC TNM 8th category",
                    v,
                    vocab::is_tnm_category(axis, v),
                )?;
            }
        }
        if let Some(stage) = &x.stage {
            ctx.one_of("stage", "UICC TNM 8th stage", stage, vocab::UICC_STAGES)?;
        }
    }

    for (ctx, t) in each(Table::Treatments, &d.treatments) {
        ctx.refers("case_id", &t.case_id, &cases, Table::Cases)?;
        ctx.range_i64("line", t.line.into(), 1, 20, "1–20")?;
        ctx.nonempty("regimen", &t.regimen)?;
        ctx.nonempty("drugs", &t.drugs)?;
        ctx.recist("best_response", t.best_response.as_deref())?;
        if let Some(end) = t.days_to_end
            && end < t.days_to_start
        {
            return Err(ctx.fail(
                "days_to_end",
                Problem::Inconsistent {
                    detail: format!(
                        "ends on day {end}, before it starts on day {}",
                        t.days_to_start
                    ),
                },
            ));
        }
    }

    unique_keys(Table::Course, "case_id", &d.course, |x| &x.case_id)?;
    for (ctx, x) in each(Table::Course, &d.course) {
        ctx.refers("case_id", &x.case_id, &cases, Table::Cases)?;
        ctx.one_of(
            "vital_status",
            "vital status",
            &x.vital_status,
            &["alive", "dead"],
        )?;
        ctx.recist("best_overall_response", x.best_overall_response.as_deref())?;
        if x.vital_status == "alive" && x.days_to_death.is_some() {
            return Err(ctx.fail(
                "days_to_death",
                Problem::Inconsistent {
                    detail: "an alive case has a day of death".into(),
                },
            ));
        }
    }

    for (ctx, a) in each(Table::AdverseEvents, &d.adverse_events) {
        ctx.refers("case_id", &a.case_id, &cases, Table::Cases)?;
        ctx.nonempty("term", &a.term)?;
        ctx.range_i64("grade", a.grade.into(), 1, 5, "a CTCAE v5 grade 1–5")?;
    }

    let samples = unique_keys(Table::Samples, "sample_id", &d.samples, |s| &s.sample_id)?;
    for (ctx, s) in each(Table::Samples, &d.samples) {
        ctx.refers("case_id", &s.case_id, &cases, Table::Cases)?;
        if let Some(specimen) = &s.specimen_id {
            ctx.refers("specimen_id", specimen, &specimens, Table::Specimens)?;
        }
        ctx.one_of(
            "sample_type",
            "sample type",
            &s.sample_type,
            &["tumor", "normal", "rna"],
        )?;
        if let Some(assay) = &s.assay {
            ctx.one_of("assay", "assay", assay, &["WGS", "WXS", "RNA-Seq", "panel"])?;
        }
    }

    for (ctx, v) in each(Table::SomaticVariants, &d.somatic_variants) {
        ctx.refers(
            "tumor_sample_barcode",
            &v.tumor_sample_barcode,
            &samples,
            Table::Samples,
        )?;
        ctx.nonempty("hugo_symbol", &v.hugo_symbol)?;
        ctx.nonempty("chromosome", &v.chromosome)?;
        ctx.range_i64(
            "start_position",
            v.start_position,
            1,
            i64::from(u32::MAX),
            "a 1-based position",
        )?;
        if v.end_position < v.start_position {
            return Err(ctx.fail(
                "end_position",
                Problem::Inconsistent {
                    detail: format!(
                        "end {} is before start {}",
                        v.end_position, v.start_position
                    ),
                },
            ));
        }
        ctx.nonempty("reference_allele", &v.reference_allele)?;
        ctx.nonempty("tumor_seq_allele2", &v.tumor_seq_allele2)?;
        if !vocab::is_variant_classification(&v.variant_classification) {
            return Err(ctx.unknown(
                "variant_classification",
                "MAF Variant_Classification",
                &v.variant_classification,
                vocab::VARIANT_CLASSIFICATIONS.iter().copied(),
            ));
        }
        ctx.one_of(
            "variant_type",
            "MAF Variant_Type",
            &v.variant_type,
            &["SNP", "DNP", "TNP", "ONP", "INS", "DEL"],
        )?;
        if !vocab::is_so_consequence(&v.consequence) {
            return Err(ctx.unknown(
                "consequence",
                "Sequence Ontology consequence",
                &v.consequence,
                vocab::SO_CONSEQUENCES.iter().copied(),
            ));
        }
        if let Some(vaf) = v.vaf {
            ctx.fraction("vaf", vaf)?;
        }
        if let (Some(depth), Some(alt)) = (v.t_depth, v.t_alt_count)
            && alt > depth
        {
            return Err(ctx.fail(
                "t_alt_count",
                Problem::Inconsistent {
                    detail: format!("{alt} alt reads exceed depth {depth}"),
                },
            ));
        }
        ctx.nonempty("filter", &v.filter)?;
    }

    let acmg = AcmgSf::get();
    for (ctx, g) in each(Table::GermlineVariants, &d.germline_variants) {
        ctx.refers("sample_id", &g.sample_id, &samples, Table::Samples)?;
        match acmg.contains(&g.hugo_symbol, &g.acmg_sf_version) {
            None => {
                return Err(ctx.unknown(
                    "acmg_sf_version",
                    "ACMG SF list version",
                    &g.acmg_sf_version,
                    AcmgSf::VERSIONS,
                ));
            }
            Some(false) => {
                let genes = acmg.genes(&g.acmg_sf_version);
                return Err(ctx.unknown(
                    "hugo_symbol",
                    "ACMG secondary-findings gene",
                    &g.hugo_symbol,
                    genes,
                ));
            }
            Some(true) => {}
        }
        ctx.range_i64(
            "start_position",
            g.start_position,
            1,
            i64::from(u32::MAX),
            "a 1-based position",
        )?;
        ctx.one_of(
            "zygosity",
            "zygosity",
            &g.zygosity,
            &["heterozygous", "homozygous", "hemizygous"],
        )?;
        ctx.one_of(
            "clinical_significance",
            "clinical significance",
            &g.clinical_significance,
            &["pathogenic", "likely_pathogenic"],
        )?;
    }

    for (ctx, q) in each(Table::SequencingQc, &d.sequencing_qc) {
        ctx.refers("sample_id", &q.sample_id, &samples, Table::Samples)?;
        ctx.nonempty("sequencing_centre", &q.sequencing_centre)?;
        ctx.range_i64("total_reads", q.total_reads, 0, i64::MAX, "a count ≥0")?;
        ctx.range_i64(
            "q20_bases",
            q.q20_bases,
            0,
            q.total_bases,
            "0 to total_bases",
        )?;
        ctx.range_i64("q30_bases", q.q30_bases, 0, q.q20_bases, "0 to q20_bases")?;
        ctx.range_i64(
            "dedup_bases",
            q.dedup_bases,
            0,
            q.total_bases,
            "0 to total_bases",
        )?;
        ctx.fraction("duplicate_fraction", q.duplicate_fraction)?;
        ctx.fraction("mapped_fraction", q.mapped_fraction)?;
        if !(q.mean_depth.is_finite() && q.mean_depth >= 0.0) {
            return Err(ctx.fail(
                "mean_depth",
                Problem::OutOfRange {
                    value: q.mean_depth.to_string(),
                    expected: "a finite depth ≥0",
                },
            ));
        }
    }
    Ok(())
}
