//! Small controlled vocabularies: RECIST, UICC TNM 8th, ICD, SO, MAF classes, DUO, ACMG SF.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

static ACMG_SF_TSV: &str = include_str!("../../../datasets/vocab/acmg_sf_genes.tsv");

/// RECIST 1.1 best overall response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BestResponse {
    /// Complete response.
    Cr,
    /// Partial response.
    Pr,
    /// Stable disease.
    Sd,
    /// Progressive disease.
    Pd,
    /// Not evaluable.
    Ne,
}

impl BestResponse {
    /// Every RECIST 1.1 code, best first.
    pub const ALL: [BestResponse; 5] = [Self::Cr, Self::Pr, Self::Sd, Self::Pd, Self::Ne];

    /// The RECIST code (`CR`, `PR`, `SD`, `PD`, `NE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cr => "CR",
            Self::Pr => "PR",
            Self::Sd => "SD",
            Self::Pd => "PD",
            Self::Ne => "NE",
        }
    }

    /// Parses a RECIST code; `None` for anything outside CR/PR/SD/PD/NE.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl fmt::Display for BestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Administrative sex, spelled as the GDC dictionary does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `female`.
    Female,
    /// `male`.
    Male,
}

impl Sex {
    /// The GDC spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
        }
    }

    /// Parses the GDC spelling and common abbreviations (`F`, `M`, any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "female" | "f" => Some(Self::Female),
            "male" | "m" => Some(Self::Male),
            _ => None,
        }
    }
}

/// UICC TNM 8th edition stage groups (all sites together).
pub const UICC_STAGES: &[&str] = &[
    "0", "I", "IA", "IA1", "IA2", "IA3", "IB", "IB1", "IB2", "IC", "II", "IIA", "IIA1", "IIA2",
    "IIB", "IIC", "III", "IIIA", "IIIA1", "IIIA2", "IIIB", "IIIC", "IIIC1", "IIIC2", "IV", "IVA",
    "IVB", "IVC",
];

/// The main group of a UICC stage: its Roman numeral (`IIIA` → `III`, `IVB` → `IV`);
/// `0` and values without a numeral stay as they are.
///
/// Every grouping by stage (analyses, cohort criteria, notebooks) goes through here, so
/// `III` means the same cases everywhere.
pub fn stage_group(stage: &str) -> &str {
    let numeral = stage
        .find(|c: char| !matches!(c, 'I' | 'V'))
        .map_or(stage, |end| &stage[..end]);
    if numeral.is_empty() { stage } else { numeral }
}

/// Whether `stage` lies in the group `want`: the same stage, or a sub-group of a main
/// group given without letter (`IIIB` in `III`).
pub fn in_stage_group(stage: &str, want: &str) -> bool {
    stage == want || (want.chars().all(|c| matches!(c, 'I' | 'V')) && stage_group(stage) == want)
}

/// Whether `stage` is a UICC TNM 8th stage group.
pub fn is_uicc_stage(stage: &str) -> bool {
    UICC_STAGES.contains(&stage)
}

/// Whether `value` is a TNM category of the given axis (`'T'`, `'N'` or `'M'`), e.g.
/// `T2a`, `Tis`, `N1mi`, `M1c`, `TX`. Prefixes c/p/y and suffixes beyond a/b/c/d/mi are
/// not part of the stored vocabulary.
pub fn is_tnm_category(axis: char, value: &str) -> bool {
    let Some(rest) = value.strip_prefix(axis) else {
        return false;
    };
    match axis {
        'T' => matches!(rest, "X" | "0" | "is") || digit_with_suffix(rest, '1', '4'),
        'N' => rest == "X" || rest == "0" || rest == "1mi" || digit_with_suffix(rest, '1', '3'),
        'M' => rest == "0" || digit_with_suffix(rest, '1', '1'),
        _ => false,
    }
}

fn digit_with_suffix(rest: &str, low: char, high: char) -> bool {
    let mut chars = rest.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(low..=high).contains(&first) {
        return false;
    }
    matches!(chars.as_str(), "" | "a" | "b" | "c" | "d")
}

/// Whether `code` has the shape of an ICD-10 code (`C34`, `C34.1`, `E11.9`).
pub fn is_icd10(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.len() < 3 || !bytes[0].is_ascii_uppercase() {
        return false;
    }
    if !bytes[1].is_ascii_digit() || !(bytes[2].is_ascii_digit() || bytes[2] == b'A') {
        return false;
    }
    match &bytes[3..] {
        [] => true,
        [b'.', tail @ ..] => {
            (1..=2).contains(&tail.len()) && tail.iter().all(u8::is_ascii_alphanumeric)
        }
        _ => false,
    }
}

/// Whether `code` is an ICD-O-3 morphology code with behaviour (`8140/3`).
pub fn is_icdo3_morphology(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 6
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'/'
        && (b'0'..=b'3').contains(&bytes[5])
        || bytes.len() == 6 && bytes[..4].iter().all(u8::is_ascii_digit) && &bytes[4..] == b"/6"
}

/// Whether `code` is an ICD-O-3 topography code (`C34.1`).
pub fn is_icdo3_topography(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 5
        && bytes[0] == b'C'
        && bytes[1].is_ascii_digit()
        && bytes[2].is_ascii_digit()
        && bytes[3] == b'.'
        && bytes[4].is_ascii_digit()
}

/// Sequence Ontology consequence terms used by VEP, as MAF `Consequence` carries them.
pub const SO_CONSEQUENCES: &[&str] = &[
    "transcript_ablation",
    "splice_acceptor_variant",
    "splice_donor_variant",
    "stop_gained",
    "frameshift_variant",
    "stop_lost",
    "start_lost",
    "transcript_amplification",
    "feature_elongation",
    "feature_truncation",
    "inframe_insertion",
    "inframe_deletion",
    "missense_variant",
    "protein_altering_variant",
    "splice_donor_5th_base_variant",
    "splice_region_variant",
    "splice_donor_region_variant",
    "splice_polypyrimidine_tract_variant",
    "incomplete_terminal_codon_variant",
    "start_retained_variant",
    "stop_retained_variant",
    "synonymous_variant",
    "coding_sequence_variant",
    "mature_miRNA_variant",
    "5_prime_UTR_variant",
    "3_prime_UTR_variant",
    "non_coding_transcript_exon_variant",
    "intron_variant",
    "NMD_transcript_variant",
    "non_coding_transcript_variant",
    "coding_transcript_variant",
    "upstream_gene_variant",
    "downstream_gene_variant",
    "TFBS_ablation",
    "TFBS_amplification",
    "TF_binding_site_variant",
    "regulatory_region_ablation",
    "regulatory_region_amplification",
    "regulatory_region_variant",
    "intergenic_variant",
    "sequence_variant",
];

/// Whether every `,`- or `&`-separated term of `value` is a known SO consequence.
pub fn is_so_consequence(value: &str) -> bool {
    !value.is_empty()
        && value
            .split([',', '&'])
            .all(|term| SO_CONSEQUENCES.contains(&term))
}

/// MAF `Variant_Classification` values (GDC MAF specification).
pub const VARIANT_CLASSIFICATIONS: &[&str] = &[
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Missense_Mutation",
    "Nonsense_Mutation",
    "Silent",
    "Splice_Site",
    "Translation_Start_Site",
    "Nonstop_Mutation",
    "3'UTR",
    "3'Flank",
    "5'UTR",
    "5'Flank",
    "IGR",
    "Intron",
    "RNA",
    "Targeted_Region",
    "De_novo_Start_InFrame",
    "De_novo_Start_OutOfFrame",
    "Splice_Region",
    "Unknown",
];

/// Whether `value` is a MAF `Variant_Classification`.
pub fn is_variant_classification(value: &str) -> bool {
    VARIANT_CLASSIFICATIONS.contains(&value)
}

/// Whether a MAF class changes the protein, as maftools' default
/// `vc_nonSyn` and cBioPortal's "mutated" count it.
pub fn is_protein_altering(variant_classification: &str) -> bool {
    matches!(
        variant_classification,
        "Frame_Shift_Del"
            | "Frame_Shift_Ins"
            | "Splice_Site"
            | "Translation_Start_Site"
            | "Nonsense_Mutation"
            | "Nonstop_Mutation"
            | "In_Frame_Del"
            | "In_Frame_Ins"
            | "Missense_Mutation"
    )
}

/// The SO term that best matches a MAF class, for files without a `Consequence` column.
pub fn consequence_for_classification(variant_classification: &str) -> &'static str {
    match variant_classification {
        "Frame_Shift_Del" | "Frame_Shift_Ins" => "frameshift_variant",
        "In_Frame_Del" => "inframe_deletion",
        "In_Frame_Ins" => "inframe_insertion",
        "Missense_Mutation" => "missense_variant",
        "Nonsense_Mutation" => "stop_gained",
        "Nonstop_Mutation" => "stop_lost",
        "Silent" => "synonymous_variant",
        "Splice_Site" => "splice_donor_variant",
        "Splice_Region" => "splice_region_variant",
        "Translation_Start_Site" => "start_lost",
        "3'UTR" => "3_prime_UTR_variant",
        "5'UTR" => "5_prime_UTR_variant",
        "3'Flank" => "downstream_gene_variant",
        "5'Flank" => "upstream_gene_variant",
        "Intron" => "intron_variant",
        "IGR" => "intergenic_variant",
        "RNA" => "non_coding_transcript_exon_variant",
        _ => "sequence_variant",
    }
}

/// The ACMG secondary-findings gene list (v3.0–v3.3), embedded.
#[derive(Debug)]
pub struct AcmgSf {
    genes: HashMap<String, AcmgGene>,
}

#[derive(Debug)]
struct AcmgGene {
    // Index into VERSIONS of the first list that holds the gene.
    first_version: usize,
}

impl AcmgSf {
    /// List versions, oldest first.
    pub const VERSIONS: [&'static str; 4] = ["3.0", "3.1", "3.2", "3.3"];

    /// The embedded list, parsed once per process.
    pub fn get() -> &'static AcmgSf {
        static LIST: OnceLock<AcmgSf> = OnceLock::new();
        LIST.get_or_init(|| {
            let mut lines = ACMG_SF_TSV.lines().filter(|l| !l.starts_with('#'));
            let header: Vec<&str> = lines
                .next()
                .expect("embedded ACMG list has a header")
                .split('\t')
                .collect();
            let column = |name: &str| {
                header
                    .iter()
                    .position(|h| *h == name)
                    .expect("embedded ACMG list has the expected columns")
            };
            let (symbol, flags) = (
                column("gene_symbol"),
                [
                    column("in_v3_0"),
                    column("in_v3_1"),
                    column("in_v3_2"),
                    column("in_v3_3"),
                ],
            );
            let mut genes = HashMap::new();
            for line in lines {
                let fields: Vec<&str> = line.split('\t').collect();
                let first_version = flags
                    .iter()
                    .position(|&i| matches!(fields[i], "1" | "True" | "true" | "TRUE" | "yes"))
                    .expect("every embedded ACMG gene is on some list");
                genes.insert(fields[symbol].to_owned(), AcmgGene { first_version });
            }
            AcmgSf { genes }
        })
    }

    /// Whether `gene` is on list `version` (e.g. `"3.2"`); `None` for an unknown version.
    pub fn contains(&self, gene: &str, version: &str) -> Option<bool> {
        let wanted = Self::VERSIONS.iter().position(|v| *v == version)?;
        Some(
            self.genes
                .get(gene)
                .is_some_and(|g| g.first_version <= wanted),
        )
    }

    /// Genes on list `version`, sorted.
    pub fn genes(&self, version: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .genes
            .keys()
            .filter(|g| self.contains(g, version) == Some(true))
            .map(String::as_str)
            .collect();
        out.sort_unstable();
        out
    }
}

/// Up to three candidates closest to `value` by edit distance (case-insensitive), for
/// "did you mean" hints in error messages.
pub fn closest<'a>(value: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted = value.to_ascii_uppercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let upper = c.to_ascii_uppercase();
            // A value that is part of a longer term ("Missense" of "Missense_Mutation")
            // is a near miss even though many characters differ.
            let contained = wanted.len() >= 3 && upper.contains(&wanted);
            (
                if contained {
                    1
                } else {
                    edit_distance(&wanted, &upper)
                },
                c,
            )
        })
        .collect();
    scored.sort_unstable();
    let limit = (wanted.len() / 2).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recist_codes_round_trip_and_reject_others() {
        for r in BestResponse::ALL {
            assert_eq!(BestResponse::parse(r.as_str()), Some(r));
        }
        assert_eq!(BestResponse::parse("MR"), None);
        assert_eq!(BestResponse::parse("cr"), None);
    }

    #[test]
    fn tnm_categories() {
        for ok in [
            "TX", "T0", "Tis", "T1", "T2a", "T4b", "N0", "N1mi", "N3c", "M0", "M1c",
        ] {
            let axis = ok.chars().next().expect("non-empty");
            assert!(is_tnm_category(axis, ok), "{ok}");
        }
        for bad in ["T5", "T1e", "N4", "M2", "X1", "", "T"] {
            assert!(
                !is_tnm_category('T', bad)
                    && !is_tnm_category('N', bad)
                    && !is_tnm_category('M', bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn icd_shapes() {
        assert!(is_icd10("C34") && is_icd10("C34.1") && is_icd10("E11.65"));
        assert!(!is_icd10("34.1") && !is_icd10("C3") && !is_icd10("C34.") && !is_icd10("c34"));
        assert!(
            is_icdo3_morphology("8140/3")
                && !is_icdo3_morphology("8140")
                && !is_icdo3_morphology("8140/9")
        );
        assert!(is_icdo3_topography("C34.1") && !is_icdo3_topography("C341"));
    }

    #[test]
    fn consequences_and_classes() {
        assert!(is_so_consequence("missense_variant"));
        assert!(is_so_consequence("missense_variant,splice_region_variant"));
        assert!(!is_so_consequence("missense"));
        assert!(is_variant_classification("Missense_Mutation"));
        assert!(is_protein_altering("Splice_Site") && !is_protein_altering("Silent"));
        for class in VARIANT_CLASSIFICATIONS {
            assert!(is_so_consequence(consequence_for_classification(class)));
        }
    }

    #[test]
    fn acmg_list_versions() {
        let list = AcmgSf::get();
        assert_eq!(list.genes("3.0").len(), 73);
        assert_eq!(list.genes("3.1").len(), 78);
        assert_eq!(list.genes("3.2").len(), 81);
        assert_eq!(list.genes("3.3").len(), 84);
        assert_eq!(list.contains("BRCA1", "3.0"), Some(true));
        assert_eq!(list.contains("CALM1", "3.1"), Some(false));
        assert_eq!(list.contains("CALM1", "3.2"), Some(true));
        assert_eq!(list.contains("BRCA1", "9.9"), None);
    }

    #[test]
    fn closest_suggests_near_codes() {
        let codes = ["LUAD", "LUSC", "PAAD", "COAD"];
        assert_eq!(closest("LAUD", codes)[0], "LUAD");
        assert!(closest("ZZZZZZZZZZ", codes).is_empty());
    }
}
