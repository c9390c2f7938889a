//! Generation of one synthetic case across every table.

use chrono::{Days, NaiveDate};

use crate::lake::{
    AdverseEvent, Background, Case, Course, Dataset, Diagnosis, GermlineVariant, Registration,
    Sample, SequencingQc, SomaticVariant, Specimen, Treatment,
};
use crate::synth::Config;
use crate::synth::catalogue::{
    self, CANCER_TYPES, CENTRES, COMORBIDITIES, CancerType, Driver, GENES, GERMLINE, HOSPITALS,
};
use crate::synth::rng::Rng;
use crate::vocab::{self, BestResponse};

const AMINO_ACIDS: &[u8] = b"ACDEFGHIKLMNPQRSTVWY";
const BASES: [&str; 4] = ["A", "C", "G", "T"];
/// Haploid human genome length used to turn bases into mean depth.
const GENOME_BASES: f64 = 3.1e9;

/// Programme case id of case `index` (0-based).
pub(crate) fn case_id(index: usize) -> String {
    format!("JCGP-{:06}", index + 1)
}

fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
            .expect("synthetic dates stay in range")
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
            .expect("synthetic dates stay in range")
    }
}

/// Registration day as an offset from the start: enrolment ramps up over the
/// programme's first year (density rising linearly to three times the initial rate).
fn registration_offset(rng: &mut Rng, span_days: i64) -> i64 {
    // Inverse CDF of density (1 + 2t) on [0, 1]: t = (-1 + sqrt(1 + 8u)) / 2.
    let u = rng.f64();
    let t = (-1.0 + (1.0 + 8.0 * u).sqrt()) / 2.0;
    ((t * span_days as f64) as i64).min(span_days)
}

pub(crate) fn generate(config: &Config, index: usize, out: &mut Dataset) {
    let mut rng = Rng::new(config.seed, index as u64);
    let case_id = case_id(index);
    let cancer = &CANCER_TYPES[rng.weighted(CANCER_TYPES.iter().map(|c| c.share))];

    // Rare cancers concentrate at the national centres; everything else follows size.
    let hospital_idx = if cancer.rare && rng.chance(0.5) {
        rng.index(2)
    } else {
        rng.weighted(HOSPITALS.iter().map(|h| h.1))
    };
    let (hospital, _, sop_lapse_rate) = HOSPITALS[hospital_idx];
    let span = (config.cutoff - config.start).num_days();
    let registered_on = add_days(config.start, registration_offset(&mut rng, span));
    // Refractory cases reach the programme after standard therapy: diagnosis precedes
    // registration by months to years.
    let lag = rng
        .lognormal(if cancer.rare { 150.0 } else { 330.0 }, 0.6)
        .clamp(20.0, 3000.0) as i64;
    let diagnosed_on = add_days(registered_on, -lag);
    let cutoff_day = (config.cutoff - diagnosed_on).num_days();

    let sex = if rng.chance(cancer.male_fraction) {
        vocab::Sex::Male
    } else {
        vocab::Sex::Female
    };
    let age = rng.normal(cancer.age_mean, 11.0).round().clamp(18.0, 95.0) as i32;

    out.registrations.push(Registration {
        case_id: case_id.clone(),
        institution: hospital.to_owned(),
        cancer_type: cancer.code.to_owned(),
        registered_on,
        source: "synthetic".to_owned(),
    });

    // Somatic drivers decide prognosis and therapy, so draw them first.
    let drivers = draw_drivers(&mut rng, cancer);

    let stage = cancer.staged.then(|| draw_stage(&mut rng));
    let mut hazard = stage
        .as_ref()
        .map_or(1.0, |(group, ..)| stage_hazard(group));
    hazard *= drivers.iter().map(|d| d.hazard).product::<f64>();
    hazard *= (0.02 * f64::from(age - 60)).exp();
    let median_days = cancer.median_os_months * 30.44 / hazard;
    // Cases are alive at registration (R1), so survival is drawn beyond the lag; the
    // exponential's lack of memory makes that a plain shift. A few die before analysis.
    let alive_at_analysis = !rng.chance(0.01);
    let death_day = if alive_at_analysis {
        lag + rng.exponential_median(median_days).max(1.0) as i64
    } else {
        lag + rng.range(1, 40)
    };

    let scope = match rng.weighted([0.72, 0.20, 0.08]) {
        0 => "GRU",
        1 => "HMB",
        _ => "DS",
    };
    let consent_date = add_days(registered_on, -rng.range(0, 21));
    let withdrawn = rng.chance(0.015).then(|| {
        let days_left = (config.cutoff - registered_on).num_days().max(1);
        add_days(registered_on, rng.range(1, days_left))
    });
    let smoking = smoking_status(&mut rng, cancer, sex);
    out.cases.push(Case {
        case_id: case_id.clone(),
        sex: Some(sex.as_str().to_owned()),
        age_at_diagnosis: Some(age),
        consent_date: Some(consent_date),
        consent_scope: Some(scope.to_owned()),
        consent_industry: Some(rng.chance(0.86)),
        consent_secondary_findings: Some(rng.chance(0.78)),
        consent_withdrawn_on: withdrawn,
        eligible_specimen: Some(!rng.chance(0.02)),
        refractory: Some(if cancer.rare { rng.chance(0.6) } else { true }),
        alive_at_analysis: Some(alive_at_analysis),
        rare_cancer: Some(cancer.rare),
        smoking_status: smoking.map(str::to_owned),
    });

    push_background(&mut rng, out, &case_id, cancer, age);

    let (tnm_t, tnm_n, tnm_m, stage_group) = match stage {
        Some((group, t, n, m)) => (Some(t), Some(n), Some(m), Some(group)),
        None => (None, None, None, None),
    };
    out.diagnoses.push(Diagnosis {
        case_id: case_id.clone(),
        cancer_type: cancer.code.to_owned(),
        icd10: Some(cancer.icd10.to_owned()),
        icdo3_morphology: Some(cancer.morphology.to_owned()),
        icdo3_topography: Some(cancer.topography.to_owned()),
        tnm_t,
        tnm_n,
        tnm_m,
        stage: stage_group,
        subtype: (!cancer.subtypes.is_empty()).then(|| rng.pick(cancer.subtypes).to_string()),
    });

    let last_day = death_day.min(cutoff_day);
    let death_day = push_treatments(
        &mut rng, out, &case_id, cancer, &drivers, death_day, last_day,
    );
    let dead = death_day <= cutoff_day;
    let last_day = death_day.min(cutoff_day);
    let best = out
        .treatments
        .iter()
        .rev()
        .take_while(|t| t.case_id == case_id)
        .filter_map(|t| t.best_response.as_deref().and_then(BestResponse::parse))
        .min();
    let progression = rng.exponential_median(median_days * 0.45) as i64;
    out.course.push(Course {
        case_id: case_id.clone(),
        vital_status: if dead { "dead" } else { "alive" }.to_owned(),
        days_to_last_follow_up: Some(last_day as i32),
        days_to_death: dead.then_some(death_day as i32),
        best_overall_response: best.map(|b| b.as_str().to_owned()),
        days_to_progression: (progression < last_day).then_some(progression as i32),
    });

    // Specimens are collected shortly before registration for sequencing.
    let collection_day = (lag - rng.range(0, 30)).max(0);
    let heme = matches!(cancer.code, "AML" | "PCM");
    let tumour_specimen = format!("{case_id}-SP1");
    let (minutes, kept_at_4c) = if heme {
        (None, None)
    } else {
        freezing(&mut rng, sop_lapse_rate)
    };
    out.specimens.push(Specimen {
        specimen_id: tumour_specimen.clone(),
        case_id: case_id.clone(),
        specimen_type: if heme {
            "bone_marrow"
        } else if rng.chance(0.55) {
            "surgical"
        } else {
            "biopsy"
        }
        .to_owned(),
        tissue_type: "tumor".to_owned(),
        hospital: hospital.to_owned(),
        days_to_collection: Some(collection_day as i32),
        minutes_to_freeze: minutes,
        kept_at_4c,
    });
    let normal_specimen = format!("{case_id}-SP2");
    out.specimens.push(Specimen {
        specimen_id: normal_specimen.clone(),
        case_id: case_id.clone(),
        specimen_type: "blood".to_owned(),
        tissue_type: "normal".to_owned(),
        hospital: hospital.to_owned(),
        days_to_collection: Some(collection_day as i32),
        minutes_to_freeze: None,
        kept_at_4c: None,
    });

    let centre = rng.weighted(CENTRES.iter().map(|c| c.1));
    let collected_on = add_days(diagnosed_on, collection_day);
    let mut kinds = vec![
        ("T1", "tumor", "WGS", &tumour_specimen),
        ("N1", "normal", "WGS", &normal_specimen),
    ];
    if rng.chance(0.75) {
        kinds.push(("R1", "rna", "RNA-Seq", &tumour_specimen));
    }
    // A few cases have a second tumour sample (another region or a relapse): the
    // multi-sample patients that joins must handle.
    if rng.chance(0.03) {
        kinds.push(("T2", "tumor", "WGS", &tumour_specimen));
    }
    let purity = rng.normal(0.6, 0.15).clamp(0.2, 0.95);
    for (suffix, sample_type, assay, specimen) in kinds {
        let sample_id = format!("{case_id}-{suffix}");
        let delivered_on = add_days(collected_on, rng.range(14, 60));
        let delivered = delivered_on <= config.cutoff;
        out.samples.push(Sample {
            sample_id: sample_id.clone(),
            case_id: case_id.clone(),
            specimen_id: Some(specimen.clone()),
            sample_type: sample_type.to_owned(),
            assay: Some(assay.to_owned()),
            gene_panel: None,
            mutation_profiled: (sample_type == "tumor").then_some(delivered),
            sequencing_centre: Some(CENTRES[centre].0.to_owned()),
            delivered_on: delivered.then_some(delivered_on),
        });
        if !delivered {
            continue;
        }
        let qc = sequencing_qc(&mut rng, &sample_id, sample_type, centre, delivered_on);
        let depth = qc.mean_depth;
        out.sequencing_qc.push(qc);
        match sample_type {
            "tumor" => push_somatic(
                &mut rng,
                out,
                &sample_id,
                &format!("{case_id}-N1"),
                cancer,
                &drivers,
                purity,
                depth,
            ),
            "normal" => push_germline(&mut rng, out, &sample_id, cancer),
            _ => {}
        }
    }
}

fn draw_drivers(rng: &mut Rng, cancer: &'static CancerType) -> Vec<&'static Driver> {
    let mut chosen: Vec<&Driver> = Vec::new();
    // Mutually exclusive groups: at most one driver per group, drawn by frequency.
    let mut groups: Vec<u8> = cancer
        .drivers
        .iter()
        .map(|d| d.group)
        .filter(|&g| g != 0)
        .collect();
    groups.dedup();
    for group in groups {
        let members: Vec<&Driver> = cancer.drivers.iter().filter(|d| d.group == group).collect();
        let total: f64 = members.iter().map(|d| d.frequency).sum();
        if rng.chance(total.min(1.0)) {
            chosen.push(members[rng.weighted(members.iter().map(|d| d.frequency))]);
        }
    }
    for driver in cancer.drivers.iter().filter(|d| d.group == 0) {
        if rng.chance(driver.frequency) {
            chosen.push(driver);
        }
    }
    chosen
}

fn draw_stage(rng: &mut Rng) -> (String, String, String, String) {
    // Stage at diagnosis of refractory cases: mostly advanced.
    let group = rng.weighted([0.08, 0.14, 0.30, 0.48]);
    let (stage, t, n, m) = match group {
        0 => (
            *rng.pick(&["IA", "IB"]),
            *rng.pick(&["T1a", "T1b", "T2a"]),
            "N0",
            "M0",
        ),
        1 => (
            *rng.pick(&["IIA", "IIB"]),
            *rng.pick(&["T2", "T2b", "T3"]),
            *rng.pick(&["N0", "N1"]),
            "M0",
        ),
        2 => (
            *rng.pick(&["IIIA", "IIIB", "IIIC"]),
            *rng.pick(&["T3", "T4", "T4a"]),
            *rng.pick(&["N1", "N2", "N3"]),
            "M0",
        ),
        _ => (
            *rng.pick(&["IV", "IVA", "IVB"]),
            *rng.pick(&["T2", "T3", "T4"]),
            *rng.pick(&["N0", "N1", "N2"]),
            *rng.pick(&["M1", "M1a", "M1b", "M1c"]),
        ),
    };
    (stage.to_owned(), t.to_owned(), n.to_owned(), m.to_owned())
}

fn stage_hazard(stage: &str) -> f64 {
    match vocab::stage_group(stage) {
        "I" => 0.2,
        "II" => 0.35,
        "III" => 0.6,
        _ => 1.0,
    }
}

fn smoking_status(rng: &mut Rng, cancer: &CancerType, sex: vocab::Sex) -> Option<&'static str> {
    let ever = match cancer.code {
        "LUSC" | "SCLC" | "ESCC" => 0.9,
        "LUAD" | "BLCA" | "HCC" => 0.55,
        _ => 0.35,
    } * if sex == vocab::Sex::Male { 1.0 } else { 0.4 };
    if rng.chance(0.05) {
        return None;
    }
    Some(if !rng.chance(ever) {
        "never"
    } else if rng.chance(0.6) {
        "former"
    } else {
        "current"
    })
}

fn push_background(rng: &mut Rng, out: &mut Dataset, case_id: &str, cancer: &CancerType, age: i32) {
    let decades = f64::from((age - 50).max(0)) / 10.0;
    for (code, base, per_decade) in COMORBIDITIES {
        if rng.chance(base + per_decade * decades) {
            out.background.push(Background {
                case_id: case_id.to_owned(),
                kind: "comorbidity".into(),
                icd10: (*code).into(),
                relationship: None,
            });
        }
    }
    if cancer.code == "HCC" && rng.chance(0.6) {
        let code = if rng.chance(0.5) { "B18.1" } else { "B18.2" };
        out.background.push(Background {
            case_id: case_id.to_owned(),
            kind: "medical_history".into(),
            icd10: code.into(),
            relationship: None,
        });
    }
    if rng.chance(0.05) {
        out.background.push(Background {
            case_id: case_id.to_owned(),
            kind: "medical_history".into(),
            icd10: "C18.9".into(),
            relationship: None,
        });
    }
    if rng.chance(0.25) {
        let relative = *rng.pick(&["mother", "father", "sibling", "child", "grandparent"]);
        let code = if rng.chance(0.5) {
            cancer.icd10
        } else {
            *rng.pick(&["C16.9", "C18.9", "C34.9", "C50.9", "C22.0"])
        };
        out.background.push(Background {
            case_id: case_id.to_owned(),
            kind: "family_history".into(),
            icd10: code.into(),
            relationship: Some(relative.into()),
        });
    }
}

/// Adds the case's lines of therapy and adverse events; returns the day of death,
/// earlier than `death_day` if a grade 5 event occurred.
fn push_treatments(
    rng: &mut Rng,
    out: &mut Dataset,
    case_id: &str,
    cancer: &CancerType,
    drivers: &[&Driver],
    mut death_day: i64,
    last_day: i64,
) -> i64 {
    let carries = |gene: &str| drivers.iter().any(|d| d.gene == gene);
    let mut day = rng.range(14, 60);
    for line in 1..=4 {
        if day >= last_day.min(death_day) {
            break;
        }
        let options = if line == 1 {
            cancer.first_line
        } else {
            cancer.later_lines
        };
        // Targeted regimens go to carriers; others get the first untargeted option.
        let regimen = options
            .iter()
            .map(|name| catalogue::regimen_named(name))
            .find(|r| r.target.is_none_or(|(gene, _)| carries(gene)))
            .unwrap_or_else(|| {
                catalogue::regimen_named(options[(line as usize - 1) % options.len()])
            });
        let rate = match regimen.target {
            Some((gene, targeted)) if carries(gene) => targeted,
            _ => regimen.response_rate,
        };
        let response = if !cancer.recist {
            None
        } else if rng.chance(0.06) {
            Some(BestResponse::Ne)
        } else if rng.chance(rate) {
            Some(if rng.chance(0.12) {
                BestResponse::Cr
            } else {
                BestResponse::Pr
            })
        } else if rng.chance(0.5) {
            Some(BestResponse::Sd)
        } else {
            Some(BestResponse::Pd)
        };
        let mean_duration = match response {
            Some(BestResponse::Cr | BestResponse::Pr) => 260.0,
            Some(BestResponse::Sd) | None => 160.0,
            _ => 70.0,
        };
        let duration = (rng.exponential_median(mean_duration * 0.69) as i64).max(14);
        let end = day + duration;
        for (term, p) in regimen.adverse_events {
            if rng.chance(*p) {
                let onset = day + rng.range(7, duration.clamp(7, 120));
                let grade = match rng.weighted([0.80, 0.185, 0.015]) {
                    0 => 3,
                    1 => 4,
                    _ => 5,
                };
                if grade == 5 && onset < death_day.min(last_day + 1) {
                    death_day = onset;
                }
                if onset <= last_day.min(death_day) {
                    out.adverse_events.push(AdverseEvent {
                        case_id: case_id.to_owned(),
                        line: Some(line),
                        term: (*term).into(),
                        grade,
                        days_to_onset: Some(onset as i32),
                    });
                }
            }
        }
        let stop = last_day.min(death_day);
        out.treatments.push(Treatment {
            case_id: case_id.to_owned(),
            line,
            regimen: regimen.name.to_owned(),
            drugs: regimen.name.to_owned(),
            drug_class: regimen.drug_class.to_owned(),
            days_to_start: day as i32,
            days_to_end: (end <= stop)
                .then_some(end as i32)
                .or((death_day <= last_day).then_some(stop as i32)),
            best_response: response.map(|r| r.as_str().to_owned()),
        });
        if end > stop {
            break;
        }
        day = end + rng.range(7, 35);
    }
    death_day
}

fn freezing(rng: &mut Rng, lapse_rate: f64) -> (Option<i32>, Option<bool>) {
    // R2: snap-freeze within 30 min, or keep at 4 °C and freeze within 3 h.
    if !rng.chance(lapse_rate * 2.0) {
        return (Some(rng.range(5, 30) as i32), Some(false));
    }
    if rng.chance(0.5) {
        (Some(rng.range(31, 180) as i32), Some(true))
    } else if rng.chance(0.5) {
        (Some(rng.range(31, 150) as i32), Some(false))
    } else {
        (Some(rng.range(181, 420) as i32), Some(true))
    }
}

fn sequencing_qc(
    rng: &mut Rng,
    sample_id: &str,
    sample_type: &str,
    centre: usize,
    delivered_on: NaiveDate,
) -> SequencingQc {
    let (name, _, q30_mean, yield_factor) = CENTRES[centre];
    // A reagent batch problem at one centre in early 2026 lowers quality: the kind of
    // trend R6 feedback exists to catch.
    let bad_batch = centre == 2 && delivered_on.format("%Y-%m").to_string().as_str() == "2026-02";
    let q30 = (rng.normal(q30_mean, 0.03) - if bad_batch { 0.12 } else { 0.0 }).clamp(0.55, 0.97);
    let q20 = (q30 + rng.normal(0.055, 0.01)).clamp(q30, 0.995);
    let (dedup_gb, read_length, dup_mean) = match sample_type {
        "tumor" => (rng.normal(400.0 * yield_factor, 40.0), 150.0, 0.10),
        "normal" => (rng.normal(100.0 * yield_factor, 11.0), 150.0, 0.08),
        _ => (rng.normal(7.0, 2.0), 100.0, 0.30),
    };
    let duplicate_fraction = rng.normal(dup_mean, 0.03).clamp(0.01, 0.6);
    let dedup_bases = (dedup_gb.max(0.5) * 1e9) as i64;
    let total_bases = (dedup_bases as f64 / (1.0 - duplicate_fraction)) as i64;
    let total_reads = (total_bases as f64 / read_length) as i64;
    let mapped_fraction = if sample_type == "rna" {
        rng.normal(0.93, 0.02)
    } else {
        rng.normal(0.994, 0.003)
    }
    .clamp(0.5, 1.0);
    SequencingQc {
        sample_id: sample_id.to_owned(),
        sequencing_centre: name.to_owned(),
        delivered_on,
        total_reads,
        total_bases,
        q20_bases: (total_bases as f64 * q20) as i64,
        q30_bases: (total_bases as f64 * q30) as i64,
        duplicate_fraction,
        dedup_bases,
        mapped_fraction,
        mean_depth: if sample_type == "rna" {
            0.0
        } else {
            dedup_bases as f64 * mapped_fraction / GENOME_BASES
        },
    }
}

fn protein_change(rng: &mut Rng, class: &str) -> Option<String> {
    let aa = |rng: &mut Rng| AMINO_ACIDS[rng.index(AMINO_ACIDS.len())] as char;
    let pos = rng.range(2, 1800);
    let from = aa(rng);
    Some(match class {
        "Missense_Mutation" => {
            let mut to = aa(rng);
            while to == from {
                to = aa(rng);
            }
            format!("p.{from}{pos}{to}")
        }
        "Silent" => format!("p.{from}{pos}="),
        "Nonsense_Mutation" => format!("p.{from}{pos}*"),
        "Frame_Shift_Del" | "Frame_Shift_Ins" => format!("p.{from}{pos}fs"),
        "In_Frame_Del" => format!("p.{from}{pos}del"),
        "Splice_Site" => format!("p.X{pos}_splice"),
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn push_variant(
    rng: &mut Rng,
    out: &mut Dataset,
    tumour: &str,
    normal: &str,
    gene: &str,
    class: &str,
    site: Option<(&str, i64, &str, &str, &str)>,
    purity: f64,
    depth: f64,
) {
    let (chromosome, start, reference, alternate, protein) = match site {
        Some((chromosome, position, reference, alternate, protein)) => (
            chromosome.to_owned(),
            position,
            reference.to_owned(),
            alternate.to_owned(),
            Some(protein.to_owned()),
        ),
        None => {
            let (chromosome, low, high) = catalogue::gene_locus(gene);
            let position = rng.range(low, high);
            let reference = *rng.pick(&BASES);
            let alternate = loop {
                let b = *rng.pick(&BASES);
                if b != reference {
                    break b;
                }
            };
            let (reference, alternate) = match class {
                "Frame_Shift_Del" | "In_Frame_Del" => {
                    (format!("{reference}{alternate}"), "-".to_owned())
                }
                "Frame_Shift_Ins" => ("-".to_owned(), alternate.to_owned()),
                _ => (reference.to_owned(), alternate.to_owned()),
            };
            (
                chromosome.to_owned(),
                position,
                reference,
                alternate,
                protein_change(rng, class),
            )
        }
    };
    let end = if reference == "-" {
        start + 1
    } else {
        start + reference.len() as i64 - 1
    };
    let variant_type = if reference == "-" {
        "INS"
    } else if alternate == "-" {
        "DEL"
    } else {
        match reference.len() {
            1 => "SNP",
            2 => "DNP",
            3 => "TNP",
            _ => "ONP",
        }
    };
    let t_depth = rng
        .normal(depth.max(10.0), depth.max(10.0).sqrt() * 1.5)
        .round()
        .max(8.0) as i32;
    let vaf_true = (purity * 0.5 * rng.normal(1.0, 0.25)).clamp(0.03, 0.98);
    let t_alt_count = ((f64::from(t_depth) * vaf_true).round() as i32).clamp(2, t_depth);
    out.somatic_variants.push(SomaticVariant {
        tumor_sample_barcode: tumour.to_owned(),
        matched_norm_sample_barcode: Some(normal.to_owned()),
        hugo_symbol: gene.to_owned(),
        chromosome,
        start_position: start,
        end_position: end,
        reference_allele: reference,
        tumor_seq_allele2: alternate,
        variant_classification: class.to_owned(),
        variant_type: variant_type.to_owned(),
        consequence: vocab::consequence_for_classification(class).to_owned(),
        hgvsp_short: protein,
        t_depth: Some(t_depth),
        t_alt_count: Some(t_alt_count),
        vaf: Some(f64::from(t_alt_count) / f64::from(t_depth)),
        filter: if rng.chance(0.04) {
            "panel_of_normals"
        } else {
            "PASS"
        }
        .to_owned(),
    });
}

#[allow(clippy::too_many_arguments)]
fn push_somatic(
    rng: &mut Rng,
    out: &mut Dataset,
    tumour: &str,
    normal: &str,
    cancer: &CancerType,
    drivers: &[&Driver],
    purity: f64,
    depth: f64,
) {
    for driver in drivers {
        if driver.hotspots.is_empty() || rng.chance(0.15) {
            // Tumour suppressors and non-hotspot alleles: truncating or missense anywhere.
            let class = *rng.pick(&[
                "Nonsense_Mutation",
                "Frame_Shift_Del",
                "Frame_Shift_Ins",
                "Missense_Mutation",
                "Splice_Site",
            ]);
            push_variant(
                rng,
                out,
                tumour,
                normal,
                driver.gene,
                class,
                None,
                purity,
                depth,
            );
        } else {
            let h = rng.pick(driver.hotspots);
            push_variant(
                rng,
                out,
                tumour,
                normal,
                driver.gene,
                h.class,
                Some((
                    h.chromosome,
                    h.position,
                    h.reference,
                    h.alternate,
                    h.protein,
                )),
                purity,
                depth,
            );
            debug_assert!(vocab::is_protein_altering(h.class));
        }
    }
    let passengers = rng.lognormal(cancer.median_variants, 0.7).round() as usize;
    const CLASSES: &[(&str, f64)] = &[
        ("Missense_Mutation", 0.52),
        ("Silent", 0.20),
        ("Nonsense_Mutation", 0.04),
        ("Frame_Shift_Del", 0.025),
        ("Frame_Shift_Ins", 0.015),
        ("Splice_Site", 0.025),
        ("In_Frame_Del", 0.01),
        ("Intron", 0.08),
        ("3'UTR", 0.05),
        ("5'UTR", 0.015),
        ("IGR", 0.02),
    ];
    for _ in 0..passengers {
        // Long genes (TTN, MUC16, CSMD3) collect most passengers, as in real cohorts;
        // cancer genes get the background rate, a few per hundred tumours.
        let gene = if rng.chance(0.97) {
            *rng.pick(catalogue::PASSENGER_GENES)
        } else {
            rng.pick(GENES).0
        };
        let class = CLASSES[rng.weighted(CLASSES.iter().map(|c| c.1))].0;
        push_variant(rng, out, tumour, normal, gene, class, None, purity, depth);
    }
}

fn push_germline(rng: &mut Rng, out: &mut Dataset, normal: &str, cancer: &CancerType) {
    for (gene, code, rate) in GERMLINE {
        if (*code == cancer.code || *code == "*") && rng.chance(*rate) {
            let (chromosome, low, high) = catalogue::gene_locus(gene);
            let position = rng.range(low, high);
            let reference = *rng.pick(&BASES);
            out.germline_variants.push(GermlineVariant {
                sample_id: normal.to_owned(),
                hugo_symbol: (*gene).to_owned(),
                chromosome: chromosome.to_owned(),
                start_position: position,
                reference_allele: reference.to_owned(),
                alternate_allele: if reference == "A" { "G" } else { "A" }.to_owned(),
                hgvsp_short: protein_change(rng, "Nonsense_Mutation"),
                zygosity: "heterozygous".to_owned(),
                clinical_significance: if rng.chance(0.7) {
                    "pathogenic"
                } else {
                    "likely_pathogenic"
                }
                .to_owned(),
                acmg_sf_version: "3.2".to_owned(),
            });
            // One secondary finding per case is the realistic rate; stop after it.
            break;
        }
    }
}
