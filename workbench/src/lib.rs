//! Curated APIs of the cancer whole-genome research workbench.
//!
//! Notebooks reach these through the kernel's prelude; the `workbench` command exposes
//! the same operations for scripts. Modules are named by domain noun:
//! [`lake`] (tables and their validation), [`vocab`] (controlled vocabularies),
//! [`synth`] (the synthetic programme) and [`import`] (real formats into the lake).

pub mod import;
pub mod lake;
pub mod synth;
pub mod vocab;

pub use lake::{Dataset, Lake, Table};
