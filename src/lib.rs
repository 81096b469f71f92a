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
//! [`pipeline`] runs the stages in that order, for a whole file (a stream whose seconds are all
//! known) and for live input (a stream with a watermark) alike. [`cli`] turns command-line
//! arguments into the pipeline's validated configuration; [`generate`] makes synthetic streams
//! with ground truth. Imports run one way: cli -> pipeline -> report/render -> detect/bins ->
//! aggregate -> input.

pub mod aggregate;
pub mod bins;
pub mod cli;
pub mod clock;
pub mod detect;
pub mod escape;
pub mod generate;
pub mod input;
pub mod output;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod signals;
pub mod stats;

pub use cli::{Outcome, run};
