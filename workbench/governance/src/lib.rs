//! The programme's data-use policy (R18, R31–R39): pure decisions, their store and the
//! audit chain.
//!
//! Every access decision the workbench makes comes from here and names the rule that made
//! it: a [`Decision`] says whether something is allowed, which [`Rule`] decided, and why,
//! in words a researcher can act on. Decisions are pure functions of recorded facts and a
//! date ([`consent`], [`people::login`], [`access::check`], [`embargo`], [`committee`]), so
//! the same facts always give the same answer and a test can try every path. The facts
//! live in a [`store::Store`] (embedded: SQLite), every change and decision in the
//! hash-chained [`audit`] log. No polars: the workbench applies the decisions to the
//! lake's rows.

pub mod access;
pub mod airlock;
pub mod audit;
pub mod committee;
pub mod consent;
mod dates;
mod decision;
pub mod embargo;
pub mod events;
pub mod governor;
pub mod people;
pub mod policy;
pub mod project;
pub mod register;
pub mod service;
pub mod session;
pub mod store;
pub mod totp;

pub use decision::{Decision, Rule};
pub use policy::Policy;
