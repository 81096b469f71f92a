//! `errwatch analyze` on a live input: standard input as it arrives, or `--follow FILE`.
//!
//! Rows go through the csv-crate reader one at a time into the [`Live`] engine; each alert is
//! printed and flushed the moment it starts and again when it ends (text or `--format jsonl`; the
//! other formats report at the end). With a heatmap, the image is rewritten at most once a second
//! while bins close, through a temporary file and a rename, so a viewer never sees half an image.
//! The end of the input (EOF, or SIGINT/SIGTERM on a follow) closes the last bins and episodes;
//! the caller then writes the closing report as for a batch run.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use super::analyze::{AnalyzeConfig, OutputFormat, RunFacts, report, use_color};
use crate::bins::Bins;
use crate::detect::Alert;
use crate::input::follow::{Follow, stop_on_signals};
use crate::input::timestamp::Notation;
use crate::input::{Invalid, Rows, STDIN};
use crate::live::{Live, Update};
use crate::render::{self, HeatmapSpec};
use crate::report::jsonl;
use crate::report::text::{self, Text};
use crate::report::{Parameters, Report};

/// The shortest time between two rewrites of a live heatmap.
const HEATMAP_EVERY: Duration = Duration::from_secs(1);

/// Reads the live input to its end, printing alerts as they happen; returns the closing report
/// and the bins to draw.
pub fn run(config: &AnalyzeConfig) -> Result<(Report, Bins)> {
    if config.input == STDIN {
        let stdin = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
        let stdin = crate::input::decompress(stdin).context("<stdin>: cannot read")?;
        read_live(config, stdin, "<stdin>")
    } else {
        let file =
            File::open(&config.input).with_context(|| format!("{}: cannot open", config.input))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            anyhow::bail!("{}: is a directory, not a CSV file", config.input);
        }
        let stop = stop_on_signals()?;
        read_live(config, Follow::new(file, stop), &config.input)
    }
}

fn read_live<R: Read>(config: &AnalyzeConfig, reader: R, name: &str) -> Result<(Report, Bins)> {
    let mut rows = Rows::new(reader, name)?.skip_invalid(config.read.skipping());
    let mut live = Live::new(
        config.rule_config(),
        config.lateness,
        config.baseline.clone(),
        config.canary.clone(),
    );
    let mut printer = Printer::new(config, name);
    let mut last_heatmap: Option<Instant> = None;
    let mut heatmap_failed = false;
    while let Some(row) = rows.next_row()? {
        config.read.check_invalid(name, &rows.skipped, rows.rows, false)?;
        if !live.span_allows(row.second) {
            let stamp =
                rows.notation.map_or_else(|| row.second.to_string(), |n| n.format(row.second));
            let e = anyhow!(
                "{name}:{}: timestamp stretches the data over more than {} days at one-second \
                 resolution ({})",
                row.line,
                crate::aggregate::MAX_SPAN_SECONDS / 86_400,
                crate::input::quote(&stamp)
            );
            if !config.read.skipping() {
                return Err(e);
            }
            rows.reject(&row, Invalid::OutOfRange, &e);
            continue;
        }
        let updates = live
            .push(row.second, row.build, row.code, row.count, &rows.builds, &rows.codes)
            .map_err(|e| anyhow!("{name}:{}: {e:#}", row.line))?;
        printer.notation = rows.notation.unwrap_or(Notation::Offset);
        printer.print(&updates)?;
        if let Some(path) = &config.heatmap
            && last_heatmap.is_none_or(|at| at.elapsed() >= HEATMAP_EVERY)
            && live.roles().is_some()
        {
            last_heatmap = Some(Instant::now());
            let (alerts, bins) = live.result(&rows.codes);
            // The live picture is a convenience: a failure to draw it must not stop the analysis.
            // It is said once; the final heatmap, drawn at the end, fails the run as in batch.
            if let Err(e) = draw(config, path, name, &rows, &live, &bins, &alerts)
                && !heatmap_failed
            {
                heatmap_failed = true;
                eprintln!("errwatch: warning: {e:#}; the analysis goes on");
            }
        }
    }
    config.read.check_invalid(name, &rows.skipped, rows.rows, true)?;
    if rows.rows == 0 {
        anyhow::bail!("{name}: no data rows after the header");
    }
    let updates = live.finish(&rows.builds, &rows.codes).map_err(|e| anyhow!("{name}: {e:#}"))?;
    printer.notation = rows.notation.unwrap_or(Notation::Offset);
    printer.print(&updates)?;
    let roles = live.roles().cloned().expect("finish fixes the roles or fails");
    let (alerts, bins) = live.result(&rows.codes);
    let facts = RunFacts {
        input: name,
        notation: rows.notation,
        rows: rows.rows,
        builds: &rows.builds,
        baseline: roles.baseline,
        canary: roles.canary,
        span: live.span(),
        repeated_headers: rows.repeated_headers,
        late_rows: live.late_rows(),
        skipped: &rows.skipped,
    };
    Ok((report(config, &facts, &bins, alerts, live.gate()), bins))
}

/// Rewrites the live heatmap.
fn draw<R: Read>(
    config: &AnalyzeConfig,
    path: &Path,
    name: &str,
    rows: &Rows<R>,
    live: &Live,
    bins: &Bins,
    alerts: &[Alert],
) -> Result<()> {
    let roles = live.roles().expect("checked by the caller");
    let title_input = Path::new(name)
        .file_name()
        .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into());
    let spec = HeatmapSpec {
        title_input: &title_input,
        baseline: &rows.builds[roles.baseline].version,
        canary: &rows.builds[roles.canary].version,
        notation: rows.notation.unwrap_or(Notation::Offset),
        palette: config.palette,
    };
    render::write_heatmap(path, bins, alerts, &spec)
}

/// Prints alerts as they start and end.
struct Printer<'a> {
    config: &'a AnalyzeConfig,
    /// A report with no data, for the text format's alert blocks (they need the notation and
    /// the bin size).
    frame: Report,
    notation: Notation,
    color: bool,
}

impl<'a> Printer<'a> {
    fn new(config: &'a AnalyzeConfig, name: &str) -> Printer<'a> {
        let nobody = crate::input::BuildStats { version: String::new(), rows: 0, events: 0 };
        let frame = Report {
            input: name.to_string(),
            notation: Notation::Offset,
            rows: 0,
            baseline: nobody.clone(),
            canary: nobody,
            ignored_builds: Vec::new(),
            parameters: Parameters {
                rule: "",
                bin_seconds: config.bin_seconds,
                threshold: config.threshold,
                window_bins: config.window_bins.clone(),
                alpha: config.alpha,
                traffic: config.traffic,
            },
            span: None,
            bins: 0,
            codes: 0,
            compared_codes: Vec::new(),
            gate: None,
            alerts: Vec::new(),
            repeated_headers: 0,
            late_rows: 0,
            skipped: Default::default(),
            heatmap: None,
        };
        Printer { config, frame, notation: Notation::Offset, color: use_color(config.color) }
    }

    fn print(&mut self, updates: &[Update]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.frame.notation = self.notation;
        let mut out = Vec::new();
        for update in updates {
            match (self.config.format, update) {
                (OutputFormat::Jsonl, Update::Started(alert)) => {
                    out.extend(jsonl::event_line("alert_started", self.notation, alert));
                }
                (OutputFormat::Jsonl, Update::Ended(alert)) => {
                    out.extend(jsonl::event_line("alert_ended", self.notation, alert));
                }
                (OutputFormat::Text, Update::Started(alert)) => {
                    out.extend(
                        format!(
                            "Alert started: {} at {}, value {} (threshold {})\n\n",
                            crate::report::code_label(alert),
                            self.notation.format(alert.detected_at_s),
                            text::format_value(alert),
                            alert.threshold
                        )
                        .into_bytes(),
                    );
                }
                (OutputFormat::Text, Update::Ended(alert)) => {
                    out.extend(
                        Text { color: self.color }.alert_block(&self.frame, alert).into_bytes(),
                    );
                }
                _ => {}
            }
        }
        let mut stdout = io::stdout().lock();
        match stdout.write_all(&out).and_then(|()| stdout.flush()) {
            // Nobody is reading any more; the run still ends with its verdict.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.context("writing to stdout"),
        }
    }
}
