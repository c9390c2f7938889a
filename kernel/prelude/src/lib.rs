//! The workbench library as notebook cells see it: the same items, linked as a `dylib`.
//!
//! Sessions add this crate as `workbench` (`:dep workbench = { package = "workbench-prelude", … }`),
//! so cells write `use workbench::prelude::*;` as anywhere else. Being a Rust `dylib`, it
//! carries polars and every other dependency in one shared object: each cell's own library
//! then holds only the cell's code and links to this one dynamically.

pub use workbench::*;
