//! Stopping long library work when the notebook's user interrupts the cell.
//!
//! The workbench kernel sets [`flag`] from its SIGINT handler in the process that runs
//! notebook cells (and clears it when the next cell starts). Long loops of this library
//! (FASTQ and BAM/CRAM QC) look at it between blocks of records and return their
//! `Interrupted` error, so the cell stops within milliseconds and the session keeps its
//! variables. Outside the kernel nothing sets the flag, and the checks cost one atomic
//! load per block.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

static REQUESTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// The flag an interrupt sets (shared, so that a signal handler can hold it).
pub fn flag() -> Arc<AtomicBool> {
    Arc::clone(&REQUESTED)
}

/// Whether an interrupt was requested for the running cell.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// How many records a record-by-record loop reads between two looks at the flag.
pub(crate) const RECORDS_BETWEEN_CHECKS: u64 = 1 << 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_flag_shared_and_clear_outside_the_kernel() {
        // Only identity and the default: setting the process-wide flag here would stop
        // QC tests running in parallel threads of the same test process.
        assert!(Arc::ptr_eq(&flag(), &flag()));
        assert!(!requested());
    }
}
