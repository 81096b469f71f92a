//! Reports: the alerts and the run's facts, written as bytes in one of the output formats.
//!
//! Each format lives in its own file behind [`Format`], whose one method turns a [`Report`] into
//! bytes. Formats are pure, so they are unit-tested on hand-built reports. Timestamps are written
//! in the input's own notation.

pub mod github;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod text;

use crate::clock::Clock;
use crate::detect::{Alert, Gate};
use crate::input::labels::Code;
use crate::input::timestamp::Notation;
use crate::input::{BuildStats, Skipped};

/// Everything a report says about one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The input's name: its path, or `<stdin>`.
    pub input: String,
    /// The input's timestamp notation.
    pub notation: Notation,
    /// How seconds are written for people (Unix seconds as RFC 3339 in a zone).
    pub clock: Clock,
    /// Data rows read.
    pub rows: u64,
    /// The unit column counted (clients affected), if any.
    pub unit_column: Option<String>,
    /// The baseline (old) build.
    pub baseline: BuildStats,
    /// The canary (new) build.
    pub canary: BuildStats,
    /// Builds in the input that were not compared.
    pub ignored_builds: Vec<BuildStats>,
    /// How the baseline and the canary were told apart.
    pub chosen_by: ChosenBy,
    /// The parameters of the detection.
    pub parameters: Parameters,
    /// First and last second observed.
    pub span: Option<(i64, i64)>,
    /// Number of time bins.
    pub bins: usize,
    /// Number of error codes compared.
    pub codes: usize,
    /// The error codes compared, in code order (one JUnit test case each).
    pub compared_codes: Vec<Code>,
    /// The significance gate's accounting, for rules that test.
    pub gate: Option<Gate>,
    /// The alert episodes, ordered by start.
    pub alerts: Vec<Alert>,
    /// Repeated header lines skipped.
    pub repeated_headers: u64,
    /// Rows of a live stream that arrived after their second had closed: counted in the totals and
    /// the heatmap, not seen by the detector.
    pub late_rows: u64,
    /// Invalid rows skipped, by reason (with `--skip-invalid`).
    pub skipped: Skipped,
    /// Where the heatmap was written, if it was.
    pub heatmap: Option<String>,
    /// The counts' dispersion the tests used, for rules that use it.
    pub dispersion: Option<Dispersion>,
    /// With a unit column and a rule that tests, the alarms that did not stand once each client
    /// counted once over their evidence.
    pub dismissed_by_clients: Option<u64>,
    /// A live run stopped by a signal: the bytes of its last line, still unfinished then, which
    /// were left unread (not an invalid row: the writer had not finished it).
    pub unfinished_bytes: u64,
    /// What the run says: pass, regression or inconclusive.
    pub verdict: Verdict,
    /// What the run could have seen, code by code.
    pub power: Power,
    /// The canary's share of events as the data show it, against the declared one; `None`
    /// before a live run has bins, or without events of the compared builds.
    pub traffic: Option<Traffic>,
}

/// The traffic check: the canary's share estimated from the data (see `pipeline::traffic`)
/// against `--traffic`.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    /// The share declared with `--traffic`; `None` with `--traffic auto`.
    pub declared: Option<f64>,
    /// The estimate over the whole run.
    pub estimate: ShareEstimate,
    /// The estimates over the first and the last quarter of the run, when it has four bins or
    /// more.
    pub parts: Option<TrafficParts>,
}

/// The canary's share of events in one stretch of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShareEstimate {
    /// The weighted median of the cells' canary shares (see `pipeline::traffic`).
    pub share: f64,
    /// The shares the data allow: the weighted medians of the cells' 95% interval ends.
    pub interval: (f64, f64),
    /// Events of both builds behind the estimate.
    pub events: u64,
}

impl ShareEstimate {
    /// Whether `share` lies in the interval.
    pub fn allows(&self, share: f64) -> bool {
        self.interval.0 <= share && share <= self.interval.1
    }
}

/// The share at the start and at the end of a run, to see a ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficParts {
    /// The first quarter of the bins: its first and last second, and the estimate (`None`
    /// without events).
    pub first: (i64, i64, Option<ShareEstimate>),
    /// The last quarter of the bins, likewise.
    pub last: (i64, i64, Option<ShareEstimate>),
}

impl TrafficParts {
    /// Whether the share moved between the two parts: their intervals do not overlap.
    pub fn drifted(&self) -> bool {
        match (self.first.2.map(|e| e.interval), self.last.2.map(|e| e.interval)) {
            (Some((lo1, hi1)), Some((lo2, hi2))) => hi1 < lo2 || hi2 < lo1,
            _ => false,
        }
    }
}

impl Traffic {
    /// Whether the declared share is one the data allow; `None` with `--traffic auto`.
    pub fn consistent(&self) -> Option<bool> {
        self.declared.map(|share| self.estimate.allows(share))
    }

    /// What is wrong with the traffic split, one sentence each: the declared share outside what
    /// the data allow, a share that drifted over the run.
    pub fn warnings(&self, clock: &Clock) -> Vec<String> {
        let mut out = Vec::new();
        let e = &self.estimate;
        if let Some(declared) = self.declared.filter(|&d| !e.allows(d)) {
            // A code with no change reads as this ratio when the split is wrong.
            let bias = (e.share / declared) / ((1.0 - e.share) / (1.0 - declared));
            out.push(format!(
                "--traffic {declared} is outside what the data allow: the canary has {} of the \
                 events ({} to {}; the median over codes and quarters of the run), so a code \
                 with no change reads as x{bias:.2}; pass --traffic {} (or --traffic auto) if \
                 that is the split",
                share(e.share),
                share(e.interval.0),
                share(e.interval.1),
                share(e.share),
            ));
        }
        if let Some(parts) = self.parts.filter(TrafficParts::drifted) {
            let (Some(first), Some(last)) = (parts.first.2, parts.last.2) else {
                return out;
            };
            out.push(format!(
                "the canary's share of events drifted over the run, from {} ({} to {}) to {} \
                 ({} to {}): a ramp? --traffic is one share for the whole run, so alerts and \
                 passes may be wrong; analyze the parts separately",
                share(first.share),
                clock.format(parts.first.0),
                clock.format(parts.first.1),
                share(last.share),
                clock.format(parts.last.0),
                clock.format(parts.last.1),
            ));
        }
        out
    }
}

/// A share in three decimals: `0.720`.
pub fn share(share: f64) -> String {
    format!("{share:.3}")
}

/// A run's verdict, for people and for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No alert, and the data could have shown an increase where it matters.
    Pass,
    /// At least one alert.
    Regression,
    /// No alert, but the data could not have shown an increase of the bound's size in the codes
    /// that make up most of the baseline's events.
    Inconclusive,
}

impl Verdict {
    /// The verdict's name in every format: `pass`, `regression`, `inconclusive`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Regression => "regression",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The run's power: each code's minimum detectable ratio (see `detect::power`) and the bound the
/// verdict held the main codes to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Power {
    /// The share of baseline events whose codes must each reach the bound (`--coverage`).
    pub coverage: f64,
    /// The bound on their minimum detectable ratio (`--max-detectable`).
    pub max_detectable: f64,
    /// Every compared code, most baseline events first (ties in code order).
    pub codes: Vec<Detectable>,
    /// How many of the first `codes` make up `coverage` of the baseline's events.
    pub covered: usize,
}

/// What one code could have shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Detectable {
    /// The code.
    pub code: Code,
    /// Its baseline events over the run.
    pub baseline_events: u64,
    /// The smallest canary/baseline ratio that would have fired; `None` when none up to
    /// `detect::power::MAX_RATIO` would (too few events, or no window fits in the run).
    pub min_detectable_ratio: Option<f64>,
}

impl Power {
    /// The codes that make up `coverage` of the baseline's events.
    pub fn covered(&self) -> &[Detectable] {
        &self.codes[..self.covered]
    }

    /// Whether every covered code could have shown an increase of `max_detectable`: false when
    /// there is nothing to cover.
    pub fn conclusive(&self) -> bool {
        self.covered > 0
            && self
                .covered()
                .iter()
                .all(|d| d.min_detectable_ratio.is_some_and(|r| r <= self.max_detectable))
    }
}

/// How the baseline and the canary were told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// `--baseline` and `--canary` both.
    Named,
    /// `--baseline`, the canary being the other of two builds.
    NamedBaseline,
    /// `--canary`, the baseline being the other of two builds.
    NamedCanary,
    /// Neither: the older of two versions is the baseline.
    VersionOrder,
    /// Neither: a label that says its role (`baseline`, `canary`, `old`, `new`, ...).
    RoleNames,
}

impl ChosenBy {
    /// Its name in the JSON report (`builds.chosen_by`).
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Named => "named",
            ChosenBy::NamedBaseline => "named_baseline",
            ChosenBy::NamedCanary => "named_canary",
            ChosenBy::VersionOrder => "version_order",
            ChosenBy::RoleNames => "role_names",
        }
    }
}

/// The dispersion of the counts at the end of a run: 1 for independent events, more when they
/// come in bursts (see `detect::dispersion`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dispersion {
    /// The stream-wide estimate.
    pub stream: f64,
    /// Each compared code's own, in code order.
    pub codes: Vec<(Code, f64)>,
}

/// A dispersion from which errwatch warns that the independent-event assumption is bent: twice
/// the variance of independent events.
pub const LARGE_DISPERSION: f64 = 2.0;

impl Dispersion {
    /// The codes at or past [`LARGE_DISPERSION`] by their own counts (more than the stream-wide
    /// estimate, which every code gets at least), largest first.
    pub fn large(&self) -> Vec<(Code, f64)> {
        let mut large: Vec<(Code, f64)> = self
            .codes
            .iter()
            .filter(|(_, phi)| *phi >= LARGE_DISPERSION && *phi > self.stream)
            .cloned()
            .collect();
        large.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        large
    }

    /// Whether the stream or a code is past [`LARGE_DISPERSION`].
    pub fn is_large(&self) -> bool {
        self.stream >= LARGE_DISPERSION || !self.large().is_empty()
    }
}

/// The detection parameters, as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    /// The rule's name on the command line.
    pub rule: &'static str,
    /// Seconds per bin.
    pub bin_seconds: u64,
    /// The threshold.
    pub threshold: f64,
    /// Window lengths, in bins.
    pub window_bins: Vec<usize>,
    /// Family-wise false-alarm bound, for rules that test.
    pub alpha: f64,
    /// The canary's share of traffic.
    pub traffic: f64,
}

/// An output format.
pub trait Format {
    /// Renders a report.
    fn render(&self, report: &Report) -> Vec<u8>;
}

/// An alert in one line: `Error_Code_3 increased from 0:50:00 to 1:00:00: value 2.76, threshold
/// 1.25; canary 243 events, baseline 88 events, p-value 3.1e-18`. The code is shown escaped
/// ([`label`]).
pub fn one_line(report: &Report, alert: &Alert) -> String {
    one_line_labelled(report, alert, &code_label(alert))
}

/// [`one_line`] with the code's label as the caller shows it (the github format escapes the
/// exact label its own way).
pub fn one_line_labelled(report: &Report, alert: &Alert, label: &str) -> String {
    let time = |s: i64| report.clock.format(s);
    format!(
        "{} increased from {} to {}: value {}, threshold {}; {}",
        label,
        time(alert.episode.start_s),
        time(alert.episode.stop_s),
        text::format_value(alert),
        alert.threshold,
        text::evidence(alert),
    )
}

/// The seed's label for an error code: `Error_Code_3`.
pub fn code_label(alert: &Alert) -> String {
    label(&alert.code)
}

/// The seed's label for any code, alerting or not: `Error_Code_3`, control characters in the code
/// shown escaped ([`crate::escape::visible`]): every human-facing format uses it.
pub fn label(code: &Code) -> String {
    format!("Error_Code_{}", crate::escape::visible(&code.to_string()))
}

/// The label with the code's exact text, for formats that escape it their own way (github).
pub fn exact_label(code: &Code) -> String {
    format!("Error_Code_{code}")
}
