//! The high-level configuration of an analysis: what the command line asked for, as the objects
//! the pipeline uses.
//!
//! [`crate::cli`] parses the flags and validates them into an [`AnalyzeConfig`]; nothing here
//! knows clap. Each parameter lives in one place: the detection parameters (the bin width, the
//! threshold, the windows, the false-alarm budget, the traffic split) are the detector's own
//! [`RuleConfig`], so every stage reads `config.rule.bin_seconds` and no copy can drift; the
//! colour of the text report is decided once, when the configuration is made.

use std::path::PathBuf;

use crate::detect::RuleConfig;
use crate::input::ReadOptions;
use crate::render::Palette;

/// A validated `analyze` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeConfig {
    /// Where the rows come from, and so whether the run is batch or live.
    pub source: Source,
    /// The alert rule and its parameters, the bin width among them.
    pub rule: RuleConfig,
    /// `--traffic auto`: a batch run replaces `rule.canary_share` by the share estimated from
    /// the data ([`super::traffic`]) before detection.
    pub traffic_auto: bool,
    /// The zone Unix-seconds timestamps are shown in (`--time-zone`, `TZ`, else UTC).
    pub time_zone: jiff::tz::TimeZone,
    /// Its name as given.
    pub time_zone_name: String,
    /// Baseline version, if named.
    pub baseline: Option<String>,
    /// Canary version, if named.
    pub canary: Option<String>,
    /// Output format.
    pub format: OutputFormat,
    /// Exit 0 even with alerts or an inconclusive run.
    pub exit_zero: bool,
    /// The share of the baseline's events whose codes must each reach `max_detectable` for a
    /// conclusive run.
    pub coverage: f64,
    /// The largest minimum detectable ratio a covered code may have in a conclusive run.
    pub max_detectable: f64,
    /// Colour the text report.
    pub color: bool,
    /// Where to write the heatmap, if at all.
    pub heatmap: Option<PathBuf>,
    /// The heatmap's palette.
    pub palette: Palette,
    /// How rows are read: progress bar, invalid rows.
    pub read: ReadOptions,
    /// Seconds a live stream waits for late rows before closing a second.
    pub lateness: u64,
}

/// Where an analysis reads its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A whole file (or `-`, standard input read to its end), read as a batch: every second is
    /// known when detection starts, in any row order.
    File(String),
    /// Standard input read live (`--follow -`), until its end or SIGINT/SIGTERM.
    Stdin,
    /// A file followed as it grows (`--follow`), read live until SIGINT/SIGTERM.
    Follow(String),
}

impl Source {
    /// Whether the rows are read live: seconds close behind a watermark as rows arrive.
    pub fn is_live(&self) -> bool {
        !matches!(self, Source::File(_))
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Alert blocks in the seed's format and a summary line.
    Text,
    /// One JSON document.
    Json,
    /// GitHub Actions workflow commands, and the Markdown summary appended to the step summary.
    Github,
    /// A Markdown summary.
    Markdown,
    /// JUnit XML.
    Junit,
    /// JSON Lines: alert events as they happen, then a summary.
    Jsonl,
}
