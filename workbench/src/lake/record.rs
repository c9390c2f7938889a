//! The record types of every lake table (R30 item groups, samples, variants, QC).
//!
//! Times are days from the index date (diagnosis, day 0) as in the GDC model; calendar
//! dates appear only where governance needs them (registration, consent, withdrawal,
//! delivery). Field names follow the GDC dictionary, MAF or mCODE where one exists.

use chrono::NaiveDate;

use crate::lake::column::record;

record! {
    /// Registration of a case in the programme: the data acquirer and the embargo clock (R34).
    Registration => Registrations {
        /// Programme case id.
        case_id: String,
        /// Data-acquiring institution (hospital), the party whose agreement R33 needs.
        institution: String,
        /// OncoTree code of the registered cancer type.
        cancer_type: String,
        /// Date the case was registered; the 100th per cancer type starts the embargo.
        registered_on: NaiveDate,
        /// Where the record came from (`synthetic`, or the imported file or study).
        source: String,
    }
}

record! {
    /// R30 group 1: case basics, consent and R1 eligibility.
    Case => Cases {
        /// Programme case id.
        case_id: String,
        /// `female` or `male` (GDC); null when the source does not say.
        sex: Option<String>,
        /// Age in whole years at diagnosis.
        age_at_diagnosis: Option<i32>,
        /// Date informed consent was given.
        consent_date: Option<NaiveDate>,
        /// DUO primary category of the consent: `GRU`, `HMB` or `DS`.
        consent_scope: Option<String>,
        /// Whether the patient agreed to use by industry-forum members (R34).
        consent_industry: Option<bool>,
        /// Whether the patient wants secondary findings returned (R32).
        consent_secondary_findings: Option<bool>,
        /// Date consent was withdrawn; the case then leaves every view (R31).
        consent_withdrawn_on: Option<NaiveDate>,
        /// R1: enough specimen of adequate quality.
        eligible_specimen: Option<bool>,
        /// R1: refractory cancer with low chance of cure (rare cancers are exempt).
        refractory: Option<bool>,
        /// R1: alive and treatable when analysis starts.
        alive_at_analysis: Option<bool>,
        /// Whether the cancer type is a rare cancer under the programme's rule.
        rare_cancer: Option<bool>,
        /// GDC `tobacco_smoking_status`: `never`, `former`, `current`.
        smoking_status: Option<String>,
    }
}

record! {
    /// R30 group 2: a specimen and its handling (R2 freezing SOP).
    Specimen => Specimens {
        /// Specimen id.
        specimen_id: String,
        /// Case the specimen came from.
        case_id: String,
        /// `surgical`, `biopsy`, `blood` or `bone_marrow`.
        specimen_type: String,
        /// `tumor` or `normal`.
        tissue_type: String,
        /// Collecting hospital.
        hospital: String,
        /// Days from diagnosis to collection.
        days_to_collection: Option<i32>,
        /// Minutes from collection to snap-freezing in liquid nitrogen.
        minutes_to_freeze: Option<i32>,
        /// Whether the specimen was kept at 4 °C before freezing.
        kept_at_4c: Option<bool>,
    }
}

record! {
    /// R30 group 3: background, medical history, comorbidity and family history.
    Background => Background {
        /// Case id.
        case_id: String,
        /// `medical_history`, `comorbidity` or `family_history`.
        kind: String,
        /// ICD-10 code of the condition.
        icd10: String,
        /// Relative, for family history (`mother`, `father`, `sibling`, …).
        relationship: Option<String>,
    }
}

record! {
    /// R30 group 4: diagnosis.
    Diagnosis => Diagnoses {
        /// Case id.
        case_id: String,
        /// OncoTree code.
        cancer_type: String,
        /// ICD-10 code.
        icd10: Option<String>,
        /// ICD-O-3 morphology with behaviour (`8140/3`).
        icdo3_morphology: Option<String>,
        /// ICD-O-3 topography (`C34.1`).
        icdo3_topography: Option<String>,
        /// UICC TNM 8th T category.
        tnm_t: Option<String>,
        /// UICC TNM 8th N category.
        tnm_n: Option<String>,
        /// UICC TNM 8th M category.
        tnm_m: Option<String>,
        /// UICC TNM 8th stage group (`IIIA`); null for haematological cancers.
        stage: Option<String>,
        /// Histological or molecular subtype in the source's words (e.g. FAB `M4`).
        subtype: Option<String>,
    }
}

record! {
    /// R30 group 5: a line of drug therapy.
    Treatment => Treatments {
        /// Case id.
        case_id: String,
        /// Line of therapy, 1 for first line.
        line: i32,
        /// Regimen name (`FOLFIRINOX`).
        regimen: String,
        /// Drugs, `+`-separated, INN names.
        drugs: String,
        /// Drug class (`chemotherapy`, `EGFR TKI`, `anti-PD-1`, …).
        drug_class: String,
        /// Days from diagnosis to the start of the line.
        days_to_start: i32,
        /// Days from diagnosis to the end of the line; null if ongoing.
        days_to_end: Option<i32>,
        /// RECIST 1.1 best response to this line.
        best_response: Option<String>,
    }
}

record! {
    /// R30 group 6: course, outcome and follow-up.
    Course => Course {
        /// Case id.
        case_id: String,
        /// `alive` or `dead` (GDC `vital_status`).
        vital_status: String,
        /// Days from diagnosis to last contact.
        days_to_last_follow_up: Option<i32>,
        /// Days from diagnosis to death.
        days_to_death: Option<i32>,
        /// RECIST 1.1 best overall response across all lines.
        best_overall_response: Option<String>,
        /// Days from diagnosis to progression or recurrence.
        days_to_progression: Option<i32>,
    }
}

record! {
    /// R30 group 6: an adverse event of CTCAE v5 grade 3 or more.
    AdverseEvent => AdverseEvents {
        /// Case id.
        case_id: String,
        /// Line of therapy that caused it, if attributed.
        line: Option<i32>,
        /// CTCAE v5 term.
        term: String,
        /// CTCAE v5 grade (1–5; the programme collects 3 and above).
        grade: i32,
        /// Days from diagnosis to onset.
        days_to_onset: Option<i32>,
    }
}

record! {
    /// A sequenced sample: tumour DNA, normal DNA or tumour RNA.
    Sample => Samples {
        /// Sample id (MAF `Tumor_Sample_Barcode` for tumours).
        sample_id: String,
        /// Case id.
        case_id: String,
        /// Specimen the sample was extracted from.
        specimen_id: Option<String>,
        /// `tumor`, `normal` or `rna`.
        sample_type: String,
        /// `WGS`, `WXS`, `RNA-Seq` or `panel`; null if the source does not say.
        assay: Option<String>,
        /// Gene panel id, when the sample was profiled with a panel.
        gene_panel: Option<String>,
        /// Whether the sample's somatic mutations are in the lake (profiled and
        /// delivered); null for samples where somatic calling does not apply. A gene
        /// is "wild type" only in profiled samples.
        mutation_profiled: Option<bool>,
        /// Sequencing centre that delivered the data.
        sequencing_centre: Option<String>,
        /// Date the data were delivered.
        delivered_on: Option<NaiveDate>,
    }
}

record! {
    /// A somatic variant (MAF-like).
    SomaticVariant => SomaticVariants {
        /// MAF `Tumor_Sample_Barcode`.
        tumor_sample_barcode: String,
        /// MAF `Matched_Norm_Sample_Barcode`.
        matched_norm_sample_barcode: Option<String>,
        /// HGNC symbol.
        hugo_symbol: String,
        /// Chromosome without `chr` (`7`, `X`).
        chromosome: String,
        /// 1-based start.
        start_position: i64,
        /// 1-based end, inclusive.
        end_position: i64,
        /// Reference allele (`-` for insertions).
        reference_allele: String,
        /// Alternate allele (`-` for deletions).
        tumor_seq_allele2: String,
        /// MAF `Variant_Classification`.
        variant_classification: String,
        /// `SNP`, `DNP`, `TNP`, `ONP`, `INS` or `DEL`.
        variant_type: String,
        /// Sequence Ontology consequence.
        consequence: String,
        /// Short protein change (`p.L858R`).
        hgvsp_short: Option<String>,
        /// Tumour read depth.
        t_depth: Option<i32>,
        /// Tumour alt-allele read count.
        t_alt_count: Option<i32>,
        /// Variant allele fraction in the tumour (0–1).
        vaf: Option<f64>,
        /// Caller filter (`PASS` or the failed filters).
        filter: String,
    }
}

record! {
    /// A germline variant in an ACMG secondary-findings gene (R15, R32).
    GermlineVariant => GermlineVariants {
        /// Normal sample id.
        sample_id: String,
        /// HGNC symbol; must be on the ACMG SF list.
        hugo_symbol: String,
        /// Chromosome without `chr`.
        chromosome: String,
        /// 1-based position.
        start_position: i64,
        /// Reference allele.
        reference_allele: String,
        /// Alternate allele.
        alternate_allele: String,
        /// Short protein change.
        hgvsp_short: Option<String>,
        /// `heterozygous` or `homozygous`.
        zygosity: String,
        /// ClinVar-style class: `pathogenic` or `likely_pathogenic`.
        clinical_significance: String,
        /// ACMG SF list version the gene was judged under.
        acmg_sf_version: String,
    }
}

record! {
    /// Per-sample sequencing QC as delivered (R4, R5, R6, R11).
    SequencingQc => SequencingQc {
        /// Sample id.
        sample_id: String,
        /// Sequencing centre.
        sequencing_centre: String,
        /// Delivery date (for R6 trends by month).
        delivered_on: NaiveDate,
        /// Reads (pairs count as two).
        total_reads: i64,
        /// Bases sequenced.
        total_bases: i64,
        /// Bases with quality 20 or more.
        q20_bases: i64,
        /// Bases with quality 30 or more.
        q30_bases: i64,
        /// Fraction of reads that are duplicates.
        duplicate_fraction: f64,
        /// Bases left after duplicate removal (R5: ≥90 G normal, ≥360 G tumour).
        dedup_bases: i64,
        /// Fraction of reads aligned to the reference (R11).
        mapped_fraction: f64,
        /// Mean depth over the genome after duplicate removal.
        mean_depth: f64,
    }
}
