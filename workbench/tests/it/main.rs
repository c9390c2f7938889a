//! Integration tests of the `workbench` library through its public API, as a notebook
//! cell uses it.
//!
//! Modules:
//! - `consent`: every curated entry point on a lake with withdrawn, industry-refusing and
//!   secondary-findings-refusing cases shows none of them where consent forbids (R31).

mod consent;
