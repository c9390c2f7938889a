//! What a notebook cell has in scope after `use workbench::prelude::*;`.
//!
//! The workbench kernel runs that line before the first cell, so cells can use polars
//! (`df!`, lazy queries), the session's lake and rich display at once. Everything here
//! is a re-export; the items live in their domain modules.

pub use polars::prelude::*;

pub use crate::cohort::{self, Cohort, Criteria, Query};
pub use crate::display::{FrameDisplay, Html, Render, Svg, show};
pub use crate::export::{self, Agg};
pub use crate::lake::{Lake, Table};
pub use crate::session::{aggregate, lake, table};
pub use crate::survival::{self, KaplanMeier, Observation, Survival};
pub use crate::{analysis, clinical, figures, qc};
