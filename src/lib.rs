//! errwatch: did the new build make any error code worse?
//!
//! The pipeline, one module per stage:
//!
//! 1. [`input`] reads `Timestamp, Build_Version, Error_Code[, Count]` rows from CSV and interns
//!    builds and codes as small integer ids;
//! 2. [`aggregate`] folds them into per-second counters, one per build x code;
//! 3. [`bins`] groups seconds into bins and forms the differential buckets (canary minus baseline);
//! 4. [`detect`] runs an alert rule over the bins and merges firing windows into alert episodes;
//! 5. [`report`] writes the alerts as text or JSON, and [`render`] draws the heatmap.
//!
//! [`generate`] makes synthetic streams with ground truth; [`cli`] turns command-line arguments into
//! a validated configuration and runs the pipeline.

pub mod aggregate;
pub mod bins;
pub mod cli;
pub mod detect;
pub mod escape;
pub mod generate;
pub mod input;
pub mod live;
pub mod output;
pub mod render;
pub mod report;
pub mod signals;
pub mod stats;

pub use cli::{Outcome, run};
