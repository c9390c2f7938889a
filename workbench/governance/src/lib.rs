//! The programme's data-use policy (R31–R39) as pure decisions.
//!
//! Every access decision the workbench makes comes from here and names the rule that made
//! it: a [`Decision`] says whether something is allowed, which [`Rule`] decided, and why,
//! in words a researcher can act on. Decisions are pure functions of recorded facts and a
//! date, so the same facts always give the same answer and a test can try every path.
//!
//! Today this crate holds [`consent`]: which cases a use may see (R31, R32, R34). It has
//! no polars and no I/O; the workbench applies its decisions to the lake's rows.

pub mod consent;
mod decision;

pub use decision::{Decision, Rule};
