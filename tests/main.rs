//! End-to-end tests: drive the built `workbench` binary like a user and check its
//! output against independent readers (Python's csv/gzip for the sources, pyarrow
//! for the Parquet files), never against our own code.
//!
//! Modules:
//! - `support`: locating binaries, Python and the test data; running commands.
//! - `synth`: determinism and shape of the synthetic programme.
//! - `analysis`: cohorts, frequencies, survival and Fisher tests on TCGA-LAML against
//!   Python, lifelines and SciPy.
//! - `import`: MAF and cBioPortal imports against the real test files.
//! - `errors`: bad input refused with clear messages, nothing half-written.
//! - `governance`: every policy rule tried and refused by name, TOTP against pyotp, the
//!   embargo clock against pandas, the audit chain tampered with, decisions killed mid-way.
//! - `hostile`: huge lines, gzip bombs, huge declared sequences, huge BEDs, path names,
//!   writes killed half-way: bounded memory, clear errors, earlier state whole.
//! - `tidy`: crate arrows, module cycles, who prints, who writes the lake, `//!` lines.
//! - `qc`: FASTQ metrics against fastp, bad input, contract verdicts.
//! - `kernel`: the kernel under jupyter_kernel_test and jupyter_client.
//! - `enclave`: sessions and their views against pyarrow, a session's kernel escaping
//!   and audited.
//! - `export`: the airlock's automatic checks against ACRO, and the leaks ACRO lets
//!   through.

mod analysis;
mod depth;
mod enclave;
mod errors;
mod export;
mod governance;
mod hostile;
mod import;
mod kernel;
mod qc;
mod support;
mod synth;
mod tidy;
