//! The pipeline of `errwatch analyze`: rows -> closed seconds -> detector -> episodes -> report
//! and heatmap.
//!
//! Batch and live runs are the same stages fed by different sources. A batch file is a stream
//! whose seconds are all known: it is read whole into per-second counters ([`crate::aggregate`])
//! and its seconds replayed through the detector ([`batch`]). A live input (standard input, or a
//! file followed as it grows) is a stream with a watermark: a second closes once a row far enough
//! ahead of it has been seen, and closed seconds go through the same detector as they close
//! ([`live`]). Everything else is written once, here, and used by both:
//!
//! - which build is the baseline and which the canary ([`roles::choose_builds`]);
//! - how an episode becomes an alert, with its code's label and heatmap row ([`alerts`]);
//! - the report ([`report`]), the heatmap ([`draw_heatmap`]) and what is printed ([`run`]).
//!
//! [`counts`] runs the aggregation step on its own (`errwatch aggregate`).
//!
//! The configuration ([`AnalyzeConfig`]) owns the objects it configures: the detector's own
//! [`crate::detect::RuleConfig`] holds the bin width and the other detection parameters.

pub mod batch;
pub mod config;
pub mod counts;
pub mod live;
pub mod recount;
pub mod roles;
pub mod traffic;
pub mod verdict;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use batch::analyze;
pub use config::{AnalyzeConfig, OutputFormat, Source};

use crate::aggregate;
use crate::bins::Bins;
use crate::clock::Clock;
use crate::detect::{Alert, Detector, Episode, Gate};
use crate::escape::visible;
use crate::input::labels::Code;
use crate::input::timestamp::Notation;
use crate::input::{BuildStats, Skipped};
use crate::render::{self, HeatmapSpec};
use crate::report::jsonl::{self, Jsonl};
use crate::report::text::{self, Text};
use crate::report::{
    Dispersion, Format, Parameters, Power, Report, Verdict, github::Github, json::Json,
    junit::Junit, markdown::Markdown,
};
use roles::Roles;

/// How a successful run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report, or a pass (exit code 0).
    Clean,
    /// At least one alert (exit code 1 unless `--exit-zero`).
    Alerts,
    /// No alert, but the data could not have shown one (exit code 3 unless `--exit-zero`).
    Inconclusive,
}

/// Runs `errwatch analyze`: reads the input as a batch or live, then writes the heatmap and the
/// report.
pub fn run(config: &AnalyzeConfig) -> Result<Outcome> {
    let (mut report, bins) = match &config.source {
        Source::File(path) => analyze(config, aggregate::read_path_with(path, &config.read)?)?,
        Source::Stdin | Source::Follow(_) => live::run(config)?,
    };
    let live = config.source.is_live();
    let mut heatmap_error = None;
    if let Some(path) = &config.heatmap {
        match draw_heatmap(config, path, &report, &bins) {
            Ok(()) => {
                eprintln!("errwatch: heatmap written to {}", visible(&path.to_string_lossy()));
                report.heatmap = Some(path.display().to_string());
            }
            // The analysis is still worth printing; the run fails after it.
            Err(e) => heatmap_error = Some(e),
        }
    }
    let bytes = match config.format {
        // A live run printed each alert as it ended; what is left is the closing line.
        OutputFormat::Text if live => {
            let verdict = text::verdict(&report);
            let mut out = format!("{}\n", text::summary_line(&report, &verdict));
            if let Some(traffic) = text::traffic_line(&report) {
                out.push_str(&traffic);
                out.push('\n');
            }
            out.into_bytes()
        }
        OutputFormat::Jsonl if live => jsonl::summary_line(&report),
        OutputFormat::Jsonl => Jsonl.render(&report),
        OutputFormat::Text => Text { color: config.color }.render(&report),
        OutputFormat::Json => Json.render(&report),
        OutputFormat::Github => Github.render(&report),
        OutputFormat::Markdown => Markdown.render(&report),
        OutputFormat::Junit => Junit.render(&report),
    };
    if report.repeated_headers > 0 {
        eprintln!(
            "errwatch: warning: {}: skipped {} repeated header line(s)",
            visible(&report.input),
            report.repeated_headers
        );
    }
    if report.skipped.total() > 0 {
        eprintln!(
            "errwatch: warning: {}: skipped {} invalid row(s): {}",
            visible(&report.input),
            report.skipped.total(),
            report.skipped.describe()
        );
    }
    if report.late_rows > 0 {
        eprintln!(
            "errwatch: warning: {}: {} row(s) arrived more than {} s after later rows, when their \
             second had closed: counted in the totals and the heatmap, not in detection, so this \
             answer may differ from a batch run of the same rows (raise --lateness, or analyze \
             the finished file)",
            visible(&report.input),
            report.late_rows,
            config.lateness
        );
    }
    for warning in report.traffic.iter().flat_map(|t| t.warnings(&report.clock)) {
        eprintln!("errwatch: warning: {}: {warning}", visible(&report.input));
    }
    if let Some(dispersion) = report.dispersion.as_ref().filter(|d| d.is_large()) {
        let codes = dispersion.large();
        let listed = crate::escape::list_cut(
            codes.iter().map(|(code, phi)| format!("{} ({phi:.1})", visible(&code.to_string()))),
        );
        eprintln!(
            "errwatch: warning: {}: the error counts vary {:.1} times as much as independent \
             events would (client bursts, retry storms); the tests count them as that many times \
             fewer events, and their false-alarm guarantee is approximate here{}{}{}",
            visible(&report.input),
            dispersion.stream,
            if codes.is_empty() { String::new() } else { format!("; most dispersed: {listed}") },
            small_share_clause(report.parameters.traffic),
            if report.unit_column.is_none() { UNIT_HINT } else { "" }
        );
    }
    let outcome = match report.verdict {
        _ if config.exit_zero => Outcome::Clean,
        Verdict::Pass => Outcome::Clean,
        Verdict::Regression => Outcome::Alerts,
        Verdict::Inconclusive => Outcome::Inconclusive,
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
        // The reader went away (`| head`): the analysis is complete, so its verdict stands.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(anyhow::Error::new(e).context("writing the report to stdout")),
        Ok(()) => {}
    }
    let step_summary = step_summary_path(config.format, std::env::var_os(STEP_SUMMARY_VAR));
    if let Some(path) = step_summary {
        append_step_summary(&path, &Markdown.render(&report))?;
    }
    match heatmap_error {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// What the bursty warning adds when events are counted, not clients: on the benchmark's bursty
/// streams a client column keeps every family within the budget, bursts of minutes and a 10%
/// canary included (BENCHMARKS.md, seventh round).
const UNIT_HINT: &str = "; if the rows say which client, user or session sent them, name that \
    column (--unit-column NAME): each client then counts once per code, build and bin, and bursts \
    cannot pass for a regression";

/// The canary share below which the bursty warning says that bursts weigh more: from there the
/// binomial's skew, `1 - 2 s`, is over a third of its largest (README, "What an alert means").
const SMALL_SHARE: f64 = 1.0 / 3.0;

/// What the bursty warning adds for a canary at traffic share `share`: a burst that lands on a
/// small canary stands out more than quasi-likelihood allows for (on the benchmark's bursty
/// streams at a share of 0.1, up to eight times the false alarms of the budget).
fn small_share_clause(share: f64) -> String {
    if share < SMALL_SHARE {
        format!(
            "; with the canary at {:.0}% of the traffic, a burst that lands on it stands out \
             more than the tests allow for, so expect more false alarms than --alpha says",
            share * 100.0
        )
    } else {
        String::new()
    }
}

/// What a run learnt of its input, batch or live.
pub struct RunFacts<'a> {
    /// The input's name.
    pub input: &'a str,
    /// Its timestamp notation, if it had rows.
    pub notation: Option<Notation>,
    /// Data rows read.
    pub rows: u64,
    /// The unit column counted, if any.
    pub unit_column: Option<&'a str>,
    /// Every build by id.
    pub builds: &'a [BuildStats],
    /// The baseline and the canary.
    pub roles: Roles,
    /// First and last second seen.
    pub span: Option<(i64, i64)>,
    /// Repeated header lines skipped.
    pub repeated_headers: u64,
    /// Rows that came after their second had closed (live runs).
    pub late_rows: u64,
    /// Invalid rows skipped.
    pub skipped: &'a Skipped,
}

/// The report of a run: its facts, its bins (the heatmap's rows are the codes compared; `None`
/// before a live run has any), its alerts, the rule's false-alarm accounting and the verdict.
pub fn report(
    config: &AnalyzeConfig,
    facts: &RunFacts,
    bins: Option<&Bins>,
    alerts: Vec<Alert>,
    detection: Detection,
) -> Report {
    let compared_codes = bins.map_or(&[][..], |bins| &bins.codes[..]);
    let power = bins.map_or_else(Power::default, |bins| {
        verdict::power(config, bins, detection.dispersion.as_ref())
    });
    let verdict = bins
        .map_or(Verdict::Inconclusive, |bins| verdict::verdict(config, alerts.len(), &power, bins));
    let declared = (!config.traffic_auto).then_some(config.rule.canary_share);
    let traffic =
        bins.and_then(|bins| traffic::check(bins, declared, detection.dispersion.as_ref()));
    let Roles { baseline, canary, chosen_by } = facts.roles;
    let ignored_builds = facts
        .builds
        .iter()
        .enumerate()
        .filter(|&(id, _)| id != baseline && id != canary)
        .map(|(_, b)| b.clone())
        .collect();
    let rule = &config.rule;
    Report {
        input: facts.input.to_string(),
        notation: facts.notation.unwrap_or(Notation::Offset),
        clock: Clock::new(
            facts.notation.unwrap_or(Notation::Offset),
            config.time_zone.clone(),
            &config.time_zone_name,
        ),
        rows: facts.rows,
        unit_column: facts.unit_column.map(str::to_string),
        baseline: facts.builds[baseline].clone(),
        canary: facts.builds[canary].clone(),
        ignored_builds,
        chosen_by,
        parameters: Parameters {
            rule: rule.rule.name(),
            bin_seconds: rule.bin_seconds,
            threshold: rule.threshold,
            window_bins: rule.window_bins.clone(),
            alpha: rule.alpha,
            traffic: rule.canary_share,
        },
        span: facts.span,
        // Bins of --bins seconds over the span (a live heatmap may have merged its columns).
        bins: facts
            .span
            .map_or(0, |(first, last)| ((last - first) as u64 / rule.bin_seconds) as usize + 1),
        codes: compared_codes.len(),
        compared_codes: compared_codes.to_vec(),
        gate: detection.gate,
        dispersion: detection.dispersion,
        dismissed_by_clients: detection.dismissed_by_clients,
        unfinished_bytes: 0,
        alerts,
        repeated_headers: facts.repeated_headers,
        late_rows: facts.late_rows,
        skipped: facts.skipped.clone(),
        heatmap: None,
        verdict,
        power,
        traffic,
    }
}

/// What the detector says of the run besides its episodes.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// Its false-alarm accounting.
    pub gate: Option<Gate>,
    /// The counts' dispersion it used.
    pub dispersion: Option<Dispersion>,
    /// With a unit column, the alarms that did not stand once their clients were recounted
    /// ([`recount`]).
    pub dismissed_by_clients: Option<u64>,
}

impl Detection {
    /// Reads a detector's account; `labels[id]` names its code ids. Codes are listed in code
    /// order.
    pub fn of(detector: &mut dyn Detector, labels: &[Code]) -> Detection {
        let dispersion = detector.dispersion().map(|summary| {
            let mut codes: Vec<(Code, f64)> = summary
                .codes
                .into_iter()
                .filter_map(|(id, phi)| labels.get(id).map(|code| (code.clone(), phi)))
                .collect();
            codes.sort_by(|a, b| a.0.cmp(&b.0));
            Dispersion { stream: summary.stream, codes }
        });
        Detection { gate: detector.gate(), dispersion, dismissed_by_clients: None }
    }
}

/// Dresses ended episodes as the report's alerts: `labels[episode.code]` is the code of an
/// episode, and its row is that code's row in `bins` (the heatmap); a code is new when the
/// baseline has no events of it. Alerts are ordered by start, then row.
pub fn alerts(
    episodes: impl IntoIterator<Item = Episode>,
    labels: &[Code],
    bins: &Bins,
    threshold: f64,
) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = episodes
        .into_iter()
        .map(|episode| {
            let code = labels[episode.code].clone();
            let row = bins.codes.iter().position(|c| *c == code);
            let new_code = row.is_some_and(|row| bins.totals(row).1 == 0);
            Alert::new(episode, code, row.unwrap_or(0), new_code, threshold)
        })
        .collect();
    alerts.sort_by_key(|a| (a.episode.start_s, a.code_index));
    alerts
}

/// The counters of a run with a unit column: clients affected and events, per second.
pub struct UnitCounts<'a> {
    /// Units affected per second (each once per code, build and slot).
    pub clients: &'a aggregate::Counts,
    /// Events per second.
    pub raw: &'a aggregate::Counts,
    /// The codes by id.
    pub codes: &'a [Code],
}

impl UnitCounts<'_> {
    /// Gives each alert its clients affected and its events over its span, start to stop; an
    /// alert of a code not among `codes` is of the `folded` codes compared as one series.
    pub fn dress(&self, alerts: &mut [Alert], folded: &[usize], roles: Roles) {
        for alert in alerts {
            let ids = match self.codes.iter().position(|c| *c == alert.code) {
                Some(id) => vec![id],
                None => folded.to_vec(),
            };
            let (start, stop) = (alert.episode.start_s, alert.episode.stop_s);
            let over = |counts: &aggregate::Counts, build: usize| -> u64 {
                ids.iter().map(|&id| counts.sum(build, id, start, stop)).sum()
            };
            alert.clients =
                Some((over(self.clients, roles.canary), over(self.clients, roles.baseline)));
            alert.episode.canary_count = over(self.raw, roles.canary);
            alert.episode.baseline_count = over(self.raw, roles.baseline);
        }
    }
}

/// Draws the heatmap of a report (its alerts outlined) to `path`.
pub fn draw_heatmap(
    config: &AnalyzeConfig,
    path: &Path,
    report: &Report,
    bins: &Bins,
) -> Result<()> {
    let title_input = Path::new(&report.input)
        .file_name()
        .map_or_else(|| report.input.clone(), |n| n.to_string_lossy().into_owned());
    let spec = HeatmapSpec {
        title_input: &title_input,
        baseline: &report.baseline.version,
        canary: &report.canary.version,
        clock: &report.clock,
        palette: config.palette,
        dispersion: report.dispersion.as_ref().filter(|d| d.is_large()).map(|d| d.stream),
    };
    render::write_heatmap(path, bins, &report.alerts, &spec)
}

/// The file GitHub Actions renders as the step's summary page.
const STEP_SUMMARY_VAR: &str = "GITHUB_STEP_SUMMARY";

/// Where `--format github` appends its Markdown summary: the file GitHub names, if it does.
fn step_summary_path(format: OutputFormat, var: Option<std::ffi::OsString>) -> Option<PathBuf> {
    var.filter(|path| format == OutputFormat::Github && !path.is_empty()).map(PathBuf::from)
}

/// Appends to the step summary: other steps and tools write to the same file, so it is never
/// truncated.
fn append_step_summary(path: &Path, markdown: &[u8]) -> Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(markdown))
        .with_context(|| {
            format!("appending the summary to {} ({STEP_SUMMARY_VAR})", path.display())
        })
}

/// Merges `(code, canary, baseline)` entries of one second into one per code, codes ascending,
/// as the detectors take them.
fn one_entry_per_code(counts: &mut Vec<(usize, u64, u64)>) {
    counts.sort_unstable_by_key(|&(code, _, _)| code);
    counts.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            (kept.1, kept.2) = (kept.1 + later.1, kept.2 + later.2);
        }
        same
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_github_format_appends_a_step_summary() {
        let var = || Some(std::ffi::OsString::from("summary.md"));
        assert_eq!(step_summary_path(OutputFormat::Github, var()), Some("summary.md".into()));
        for other in [OutputFormat::Text, OutputFormat::Json, OutputFormat::Markdown] {
            assert_eq!(step_summary_path(other, var()), None);
        }
        assert_eq!(step_summary_path(OutputFormat::Github, Some("".into())), None);
        assert_eq!(step_summary_path(OutputFormat::Github, None), None);
    }
}
