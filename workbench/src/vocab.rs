//! Controlled vocabularies the lake validates against (DESIGN §3).
//!
//! The OncoTree tree and the ACMG secondary-findings gene list are embedded from
//! `datasets/vocab/` so that validation never depends on files outside the binary.
//! Smaller vocabularies (RECIST 1.1, CTCAE grades, UICC TNM 8th, Sequence Ontology
//! consequences, MAF variant classes, DUO consent codes) are written out here.

mod oncotree;
mod terms;

pub use oncotree::{OncoTree, OncoTreeNode};
pub use terms::{
    AcmgSf, BestResponse, SO_CONSEQUENCES, Sex, UICC_STAGES, VARIANT_CLASSIFICATIONS, closest,
    consequence_for_classification, in_stage_group, is_icd10, is_icdo3_morphology,
    is_icdo3_topography, is_protein_altering, is_so_consequence, is_tnm_category, is_uicc_stage,
    is_variant_classification, stage_group,
};
/// Consent scope as a GA4GH Data Use Ontology primary category (the policy's own type).
pub use workbench_governance::consent::Scope as ConsentScope;
