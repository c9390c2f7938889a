//! Typed reads of lake tables for analyses: columns that name their table in errors,
//! the samples and protein-altering calls of a cohort, and the group of each case.
//!
//! Analyses, clinical joins, figures and survival build on these; nothing here depends on
//! them, so the dependency arrows point one way (lake → cohort → query → analyses →
//! figures).

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use crate::cohort::{self, Cohort};
use crate::hash::{FastMap, FastSet, strs};
use crate::lake::{self, Lake, Table};
use crate::vocab::is_protein_altering;

/// Clinical fields cases can be grouped by (besides `gene:SYMBOL`).
pub const FIELDS: &[&str] = &[
    "cancer_type",
    "subtype",
    "stage",
    "sex",
    "consent_scope",
    "institution",
    "vital_status",
    "best_response",
];

/// Why an analysis cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The grouping field is not one we know.
    #[error("cannot group by {0:?}: use {fields}, or gene:SYMBOL", fields = FIELDS.join(", "))]
    UnknownField(String),
    /// The request cannot be answered (too few genes for pairs, say).
    #[error("{0}")]
    Request(String),
    /// The lake could not be read.
    #[error(transparent)]
    Lake(#[from] lake::Error),
    /// A table lacks a column or has it with another type.
    #[error("table {table}, column {column}: {source}")]
    Column {
        /// The table.
        table: &'static str,
        /// The column.
        column: String,
        /// The cause.
        #[source]
        source: PolarsError,
    },
    /// Selecting a helper cohort failed.
    #[error(transparent)]
    Cohort(#[from] cohort::Error),
}

/// One lake table, read whole, with typed column access that names table and column in
/// its errors.
pub(crate) struct Read {
    table: Table,
    df: DataFrame,
}

impl Read {
    /// Reads `columns` of `table` (only those).
    pub(crate) fn new(lake: &Lake, table: Table, columns: &[&str]) -> Result<Read, Error> {
        Ok(Read {
            table,
            df: lake.columns(table, columns)?,
        })
    }

    pub(crate) fn height(&self) -> usize {
        self.df.height()
    }

    fn typed(&self, column: &str, dtype: &DataType) -> Result<Column, Error> {
        self.df
            .column(column)
            .and_then(|c| c.cast(dtype))
            .map_err(|source| self.error(column, source))
    }

    fn error(&self, column: &str, source: PolarsError) -> Error {
        Error::Column {
            table: self.table.name(),
            column: column.to_owned(),
            source,
        }
    }

    pub(crate) fn str(&self, column: &str) -> Result<StringChunked, Error> {
        let c = self.typed(column, &DataType::String)?;
        c.str()
            .cloned()
            .map_err(|source| self.error(column, source))
    }

    pub(crate) fn f64(&self, column: &str) -> Result<Float64Chunked, Error> {
        let c = self.typed(column, &DataType::Float64)?;
        c.f64()
            .cloned()
            .map_err(|source| self.error(column, source))
    }

    pub(crate) fn bool(&self, column: &str) -> Result<BooleanChunked, Error> {
        let c = self.typed(column, &DataType::Boolean)?;
        c.bool()
            .cloned()
            .map_err(|source| self.error(column, source))
    }
}

/// Assembles a result frame; our own columns always have equal lengths.
pub(crate) fn frame(columns: Vec<Column>) -> DataFrame {
    let height = columns.first().map_or(0, Column::len);
    DataFrame::new(height, columns).expect("analysis columns have equal lengths and unique names")
}

/// Samples: which case each belongs to and which were profiled for mutations.
pub(crate) struct Samples {
    /// Sample id → case id.
    pub(crate) case_of: FastMap<String, String>,
    /// Cases with at least one profiled sample.
    pub(crate) profiled: BTreeSet<String>,
    /// Profiled sample ids.
    pub(crate) profiled_samples: BTreeSet<String>,
}

/// The samples of the cohort's cases (`members`): only those are kept, so the maps stay
/// small and later lookups for other samples miss at once.
pub(crate) fn samples(lake: &Lake, members: &FastSet<&str>) -> Result<Samples, Error> {
    let t = Read::new(
        lake,
        Table::Samples,
        &["sample_id", "case_id", "mutation_profiled"],
    )?;
    let (sample, case, flag) = (
        t.str("sample_id")?,
        t.str("case_id")?,
        t.bool("mutation_profiled")?,
    );
    let mut out = Samples {
        case_of: FastMap::default(),
        profiled: BTreeSet::new(),
        profiled_samples: BTreeSet::new(),
    };
    for i in 0..t.height() {
        let (Some(s), Some(c)) = (sample.get(i), case.get(i)) else {
            continue;
        };
        if !members.contains(c) {
            continue;
        }
        out.case_of.insert(s.to_owned(), c.to_owned());
        if flag.get(i).unwrap_or(false) {
            out.profiled.insert(c.to_owned());
            out.profiled_samples.insert(s.to_owned());
        }
    }
    Ok(out)
}

/// One protein-altering somatic call of a cohort case.
pub(crate) struct Call {
    pub(crate) case: String,
    pub(crate) sample: String,
    pub(crate) gene: String,
    pub(crate) class: String,
}

/// The protein-altering calls of the cohort's `samples`.
pub(crate) fn protein_altering(lake: &Lake, samples: &Samples) -> Result<Vec<Call>, Error> {
    let t = Read::new(
        lake,
        Table::SomaticVariants,
        &[
            "tumor_sample_barcode",
            "hugo_symbol",
            "variant_classification",
        ],
    )?;
    let (sample, gene, class) = (
        t.str("tumor_sample_barcode")?,
        t.str("hugo_symbol")?,
        t.str("variant_classification")?,
    );
    let mut out = Vec::new();
    for ((s, g), c) in strs(&sample).zip(strs(&gene)).zip(strs(&class)) {
        let (Some(s), Some(g), Some(c)) = (s, g, c) else {
            continue;
        };
        if !is_protein_altering(c) {
            continue;
        }
        let Some(case) = samples.case_of.get(s) else {
            continue;
        };
        out.push(Call {
            case: case.clone(),
            sample: s.to_owned(),
            gene: g.to_owned(),
            class: c.to_owned(),
        });
    }
    Ok(out)
}

pub(crate) fn members(cohort: &Cohort) -> FastSet<&str> {
    cohort.cases().iter().map(String::as_str).collect()
}

/// The group of each cohort case under `field` (see [`FIELDS`]; `gene:SYMBOL` gives
/// "SYMBOL mutated" / "SYMBOL wild type" among profiled cases only). Cases without a
/// value are absent from the map.
///
/// # Errors
///
/// [`Error::UnknownField`] for a field we do not know, or the lake's error.
pub fn labels(lake: &Lake, cohort: &Cohort, field: &str) -> Result<HashMap<String, String>, Error> {
    // Consent decides membership again: the cohort may predate a withdrawal (R31).
    let cohort = &*cohort.visible_in(lake)?;
    let pairs = |table: Table, column: &str| -> Result<HashMap<String, String>, Error> {
        let t = Read::new(lake, table, &["case_id", column])?;
        let (ids, values) = (t.str("case_id")?, t.str(column)?);
        Ok((0..t.height())
            .filter_map(|i| Some((ids.get(i)?.to_owned(), values.get(i)?.to_owned())))
            .collect())
    };
    let all = match field {
        "stage" => pairs(Table::Diagnoses, "stage")?
            .into_iter()
            .map(|(c, s)| (c, crate::vocab::stage_group(&s).to_owned()))
            .collect(),
        "cancer_type" | "subtype" => pairs(Table::Diagnoses, field)?,
        "sex" | "consent_scope" => pairs(Table::Cases, field)?,
        "institution" => pairs(Table::Registrations, "institution")?,
        "vital_status" => pairs(Table::Course, "vital_status")?,
        "best_response" => pairs(Table::Course, "best_overall_response")?,
        other => match other.strip_prefix("gene:") {
            Some(gene) => {
                let mutated = cohort::select(
                    lake,
                    &cohort::Query {
                        include: vec![cohort::Criteria {
                            genes: vec![gene.to_owned()],
                            ..Default::default()
                        }],
                        exclude: Vec::new(),
                    },
                )?;
                let mutated: HashSet<String> = mutated.cases().iter().cloned().collect();
                let profiled = cohort::profiled_cases(lake)?;
                profiled
                    .into_iter()
                    .map(|c| {
                        let label = if mutated.contains(&c) {
                            format!("{gene} mutated")
                        } else {
                            format!("{gene} wild type")
                        };
                        (c, label)
                    })
                    .collect()
            }
            None => return Err(Error::UnknownField(other.to_owned())),
        },
    };
    let members = members(cohort);
    Ok(all
        .into_iter()
        .filter(|(c, _)| members.contains(c.as_str()))
        .collect())
}
