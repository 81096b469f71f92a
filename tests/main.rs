//! Integration tests: one binary, a module per area, a small harness in `util`.

mod util;

mod aggregate;
mod analyze;
mod ci;
mod detection;
mod errors;
mod fuzz;
mod generate;
mod heatmap;
mod inputs;
mod json_lines;
mod live;
#[cfg(feature = "parquet")]
mod parquet;
mod safety;
mod throughput;
mod times;
mod traffic;
mod units;
mod verdict;
