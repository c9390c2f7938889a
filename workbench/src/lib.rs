//! Curated APIs of the cancer whole-genome research workbench.
//!
//! Notebooks reach these through the kernel's prelude; the `workbench` command exposes
//! the same operations for scripts. Modules are named by domain noun:
//! [`lake`] (tables and their validation), [`cohort`] (case selection), [`vocab`] (controlled vocabularies),
//! [`synth`] (the synthetic programme), [`import`] (real formats into the lake),
//! [`display`] (rich notebook output), [`session`] (the data a notebook sees),
//! [`enclave`] (the trusted side of a session: its access decision and data view),
//! [`interrupt`] (stopping long work when a notebook cell is interrupted) and
//! [`survival`] (Kaplan–Meier, log-rank), [`analysis`] (frequencies, co-occurrence, TMB,
//! group comparisons), [`clinical`] (wide and long joins), [`figures`] (plots) and [`qc`]
//! (FASTQ metrics, contract verdicts).
//! [`prelude`] is what a notebook cell has in scope.

pub mod analysis;
pub mod chart;
pub mod clinical;
pub mod cohort;
pub mod display;
pub mod durable;
pub mod enclave;
pub mod export;
pub mod figures;
mod hash;
pub mod import;
pub mod interrupt;
pub mod lake;
pub mod overview;
pub mod prelude;
pub mod qc;
pub mod query;
pub mod session;
pub mod survival;
pub mod synth;
pub mod vocab;

pub use lake::{Dataset, Lake, Table};
/// The programme's data-use policy: consent decisions and the rules that make them.
pub use workbench_governance as governance;
