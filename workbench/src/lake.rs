//! The programme data lake: typed tables stored as Parquet under `DIR/lake/`.
//!
//! A lake is written whole: [`Lake::create`] validates every table against the
//! vocabularies and the keys between tables, writes the files into a temporary
//! directory beside the target and renames it into place, so a reader never sees a
//! half-written lake and a failed write leaves nothing behind.

mod column;
mod record;
mod store;
mod validate;
mod view;

use std::path::PathBuf;

use polars::prelude::PolarsError;

pub use record::{
    AdverseEvent, Background, Case, Course, Diagnosis, GermlineVariant, Registration, Sample,
    SequencingQc, SomaticVariant, Specimen, Treatment,
};
pub use store::{ColumnInfo, Lake, TableInfo};
pub(crate) use store::{write_frame, write_tables};
pub use validate::Problem;
pub use view::{CaseFacts, CaseVerdict, VIEW_FILE, today};

/// A lake table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `registrations.parquet`: one row per registered case.
    Registrations,
    /// `clinical/cases.parquet`: R30 group 1.
    Cases,
    /// `clinical/specimens.parquet`: R30 group 2.
    Specimens,
    /// `clinical/background.parquet`: R30 group 3.
    Background,
    /// `clinical/diagnoses.parquet`: R30 group 4.
    Diagnoses,
    /// `clinical/treatments.parquet`: R30 group 5.
    Treatments,
    /// `clinical/course.parquet`: R30 group 6, outcome.
    Course,
    /// `clinical/adverse_events.parquet`: R30 group 6, grade ≥3 adverse events.
    AdverseEvents,
    /// `samples.parquet`: sequenced samples.
    Samples,
    /// `variants/somatic.parquet`: somatic variants.
    SomaticVariants,
    /// `variants/germline_sf.parquet`: germline secondary-finding variants.
    GermlineVariants,
    /// `qc/sequencing.parquet`: per-sample sequencing QC.
    SequencingQc,
}

impl Table {
    /// Every table, in dependency order (parents before children).
    pub const ALL: [Table; 12] = [
        Self::Registrations,
        Self::Cases,
        Self::Specimens,
        Self::Background,
        Self::Diagnoses,
        Self::Treatments,
        Self::Course,
        Self::AdverseEvents,
        Self::Samples,
        Self::SomaticVariants,
        Self::GermlineVariants,
        Self::SequencingQc,
    ];

    /// The table's name, as `lake describe` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Registrations => "registrations",
            Self::Cases => "cases",
            Self::Specimens => "specimens",
            Self::Background => "background",
            Self::Diagnoses => "diagnoses",
            Self::Treatments => "treatments",
            Self::Course => "course",
            Self::AdverseEvents => "adverse_events",
            Self::Samples => "samples",
            Self::SomaticVariants => "somatic_variants",
            Self::GermlineVariants => "germline_variants",
            Self::SequencingQc => "sequencing_qc",
        }
    }

    /// Path of the table's file relative to the lake root.
    pub fn file(self) -> &'static str {
        match self {
            Self::Registrations => "registrations.parquet",
            Self::Cases => "clinical/cases.parquet",
            Self::Specimens => "clinical/specimens.parquet",
            Self::Background => "clinical/background.parquet",
            Self::Diagnoses => "clinical/diagnoses.parquet",
            Self::Treatments => "clinical/treatments.parquet",
            Self::Course => "clinical/course.parquet",
            Self::AdverseEvents => "clinical/adverse_events.parquet",
            Self::Samples => "samples.parquet",
            Self::SomaticVariants => "variants/somatic.parquet",
            Self::GermlineVariants => "variants/germline_sf.parquet",
            Self::SequencingQc => "qc/sequencing.parquet",
        }
    }

    /// Looks a table up by its name.
    pub fn from_name(name: &str) -> Option<Table> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A record type stored in one lake table.
pub trait Record {
    /// The table that holds records of this type.
    const TABLE: Table;
}

/// Every table of a programme, in memory, ready to be validated and written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Registrations.
    pub registrations: Vec<Registration>,
    /// Cases (R30 group 1).
    pub cases: Vec<Case>,
    /// Specimens (R30 group 2).
    pub specimens: Vec<Specimen>,
    /// Background items (R30 group 3).
    pub background: Vec<Background>,
    /// Diagnoses (R30 group 4).
    pub diagnoses: Vec<Diagnosis>,
    /// Treatment lines (R30 group 5).
    pub treatments: Vec<Treatment>,
    /// Course (R30 group 6).
    pub course: Vec<Course>,
    /// Grade ≥3 adverse events (R30 group 6).
    pub adverse_events: Vec<AdverseEvent>,
    /// Samples.
    pub samples: Vec<Sample>,
    /// Somatic variants.
    pub somatic_variants: Vec<SomaticVariant>,
    /// Germline secondary-finding variants.
    pub germline_variants: Vec<GermlineVariant>,
    /// Sequencing QC.
    pub sequencing_qc: Vec<SequencingQc>,
}

impl Dataset {
    /// Number of rows of `table`.
    pub fn rows(&self, table: Table) -> usize {
        match table {
            Table::Registrations => self.registrations.len(),
            Table::Cases => self.cases.len(),
            Table::Specimens => self.specimens.len(),
            Table::Background => self.background.len(),
            Table::Diagnoses => self.diagnoses.len(),
            Table::Treatments => self.treatments.len(),
            Table::Course => self.course.len(),
            Table::AdverseEvents => self.adverse_events.len(),
            Table::Samples => self.samples.len(),
            Table::SomaticVariants => self.somatic_variants.len(),
            Table::GermlineVariants => self.germline_variants.len(),
            Table::SequencingQc => self.sequencing_qc.len(),
        }
    }

    /// `table` as a DataFrame.
    pub fn frame(&self, table: Table) -> polars::prelude::DataFrame {
        match table {
            Table::Registrations => Registration::to_frame(&self.registrations),
            Table::Cases => Case::to_frame(&self.cases),
            Table::Specimens => Specimen::to_frame(&self.specimens),
            Table::Background => Background::to_frame(&self.background),
            Table::Diagnoses => Diagnosis::to_frame(&self.diagnoses),
            Table::Treatments => Treatment::to_frame(&self.treatments),
            Table::Course => Course::to_frame(&self.course),
            Table::AdverseEvents => AdverseEvent::to_frame(&self.adverse_events),
            Table::Samples => Sample::to_frame(&self.samples),
            Table::SomaticVariants => SomaticVariant::to_frame(&self.somatic_variants),
            Table::GermlineVariants => GermlineVariant::to_frame(&self.germline_variants),
            Table::SequencingQc => SequencingQc::to_frame(&self.sequencing_qc),
        }
    }

    /// Checks every row against the vocabularies and the keys between tables.
    ///
    /// # Errors
    ///
    /// The first problem found, naming table, row (1-based) and field.
    pub fn validate(&self) -> Result<(), Error> {
        validate::dataset(self)
    }
}

/// An error reading, validating or writing a lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A row breaks a vocabulary or key rule.
    #[error("table {}, row {row}, field {field}: {problem}", table.name())]
    Invalid {
        /// The table.
        table: Table,
        /// 1-based row number within the table.
        row: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
    /// The target directory already holds a lake.
    #[error("{} already holds a lake; write to a new directory", path.display())]
    Exists {
        /// The existing lake root.
        path: PathBuf,
    },
    /// No lake at the given directory.
    #[error("no lake at {} (expected {}/lake/registrations.parquet)", path.display(), path.display())]
    NotFound {
        /// The directory.
        path: PathBuf,
    },
    /// A file system operation failed.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done (`creating`, `renaming`).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Staging or committing the lake's directory failed.
    #[error(transparent)]
    Durable(#[from] crate::durable::Error),
    /// Polars failed to write or read a table.
    #[error("{action} table {} at {}", table.name(), path.display())]
    Parquet {
        /// `writing` or `reading`.
        action: &'static str,
        /// The table.
        table: Table,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: PolarsError,
    },
    /// A table's file does not have the lake's schema.
    #[error("table {} at {}: {detail}", table.name(), path.display())]
    Schema {
        /// The table.
        table: Table,
        /// The file.
        path: PathBuf,
        /// What differs.
        detail: String,
    },
}

#[cfg(test)]
mod tests;
