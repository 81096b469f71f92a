//! The human-readable report: one block per alert in the seed's format, indented detail lines,
//! and a closing summary line.
//!
//! ```text
//! Alert: Mean Threshold Exceeded
//! Start Timestamp: 0:59:00
//! Stop Timestamp: 0:59:40
//! Error Code: Error_Code_3
//! Value: 1.90
//! Threshold: 1.25
//!     detected at 0:59:40; windows fired from 0:51:40 to 0:59:59; strongest window 5 bins x 100 s
//!     canary 57 events, baseline 30 events, p-value 3.2e-6
//! ```
//!
//! With colour on (the CLI decides: a terminal, `NO_COLOR`, `CLICOLOR_FORCE`, `--color`), the
//! `Alert:` header lines and the closing verdict are styled with ANSI escapes; with it off the
//! bytes are plain, and the same as they always were.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{Format, Report, Verdict, code_label, share};
use crate::detect::Alert;
use crate::escape::visible;
use crate::input::labels::Code;

/// The text format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text {
    /// Style the alert headers and the verdict with ANSI escapes.
    pub color: bool,
}

/// An alert's header line and a run with alerts: bold red.
const ALERT_STYLE: Style = Style::new().bold().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
/// A run that passed: green.
const CLEAN_STYLE: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
/// An inconclusive run: yellow.
const INCONCLUSIVE_STYLE: Style =
    Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));

impl Text {
    /// `text` in `style` when colour is on, else as is.
    fn styled(&self, style: Style, text: &str) -> String {
        if self.color { format!("{style}{text}{style:#}") } else { text.to_string() }
    }
}

impl Text {
    /// One alert's block, header line included, and the blank line after it.
    pub fn alert_block(&self, report: &Report, alert: &Alert) -> String {
        format!(
            "{}\n{}\n",
            self.styled(ALERT_STYLE, "Alert: Mean Threshold Exceeded"),
            alert_body(report, alert)
        )
    }
}

impl Format for Text {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut out = String::new();
        for alert in &report.alerts {
            out.push_str(&self.alert_block(report, alert));
        }
        let style = match report.verdict {
            Verdict::Pass => CLEAN_STYLE,
            Verdict::Regression => ALERT_STYLE,
            Verdict::Inconclusive => INCONCLUSIVE_STYLE,
        };
        let verdict = self.styled(style, &verdict(report));
        let _ = writeln!(out, "{}", summary_line(report, &verdict));
        if let Some(traffic) = traffic_line(report) {
            let _ = writeln!(out, "{traffic}");
        }
        out.into_bytes()
    }
}

/// The closing line: the input, the builds, the shape of the data, the rule and the verdict.
pub fn summary_line(report: &Report, verdict: &str) -> String {
    let mut notes = Vec::new();
    if report.skipped.total() > 0 {
        notes.push(format!("{} invalid skipped", report.skipped.total()));
    }
    if report.unfinished_bytes > 0 {
        notes.push(format!(
            "an unfinished last line of {} bytes left unread",
            report.unfinished_bytes
        ));
    }
    if report.late_rows > 0 {
        notes.push(format!(
            "{} late rows not in detection: the answer may differ from a batch run",
            report.late_rows
        ));
    }
    let invalid = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
    format!(
        "{}: {} rows{invalid}, canary {} vs baseline {}, {} codes in {} bins of {} s, rule {}: {verdict}",
        visible(&report.input),
        report.rows,
        visible(&report.canary.version),
        visible(&report.baseline.version),
        report.codes,
        report.bins,
        report.parameters.bin_seconds,
        report.parameters.rule,
    )
}

/// The traffic check in one line, after the summary line: `traffic: canary share of events
/// 0.503 (0.497 to 0.509), consistent with --traffic 0.5`; `None` without events.
pub fn traffic_line(report: &Report) -> Option<String> {
    let traffic = report.traffic.as_ref()?;
    let e = &traffic.estimate;
    let interval = format!("{} to {}", share(e.interval.0), share(e.interval.1));
    let declared = match traffic.declared {
        None => "used (--traffic auto)".to_string(),
        Some(declared) if e.allows(declared) => format!("consistent with --traffic {declared}"),
        Some(declared) => format!("--traffic {declared} is outside what the data allow"),
    };
    let mut line =
        format!("traffic: canary share of events {} ({interval}), {declared}", share(e.share));
    if let Some(parts) = traffic.parts.filter(|p| p.drifted())
        && let (Some(first), Some(last)) = (parts.first.2, parts.last.2)
    {
        let _ = write!(
            line,
            "; drifted from {} in the first quarter of the run to {} in the last",
            share(first.share),
            share(last.share)
        );
    }
    Some(line)
}

/// The verdict in words, after the alerts: `2 alerts, regression`; `no alerts, pass: could have
/// seen x1.25 on code 3, x1.40 on code 13 (at most x2.50 needed on the codes with 80% of baseline
/// events)`; likewise `no alerts, inconclusive: ...`.
pub fn verdict(report: &Report) -> String {
    let alerts = alerts_phrase(report.alerts.len());
    let name = report.verdict.name();
    match could_have_seen(report, |code| format!("code {}", visible(&code.to_string()))) {
        Some(seen) if report.verdict != Verdict::Regression => format!("{alerts}, {name}: {seen}"),
        _ => format!("{alerts}, {name}"),
    }
}

/// What the codes covering most baseline events could have shown, each code named by `name`:
/// `could have seen x1.25 on code 3, nothing on code 7 (at most x2.50 needed on the codes with
/// 80% of baseline events)`; `None` when no code was covered (no events, or a rule without a
/// test).
pub fn could_have_seen(report: &Report, name: impl Fn(&Code) -> String) -> Option<String> {
    let covered = report.power.covered();
    if covered.is_empty() {
        return None;
    }
    let seen = crate::escape::list_cut(covered.iter().map(|d| match d.min_detectable_ratio {
        Some(ratio) => format!("x{ratio:.2} on {}", name(&d.code)),
        None => format!("nothing on {}", name(&d.code)),
    }));
    Some(format!(
        "could have seen {seen} (at most x{:.2} needed on the codes with {}% of baseline events)",
        report.power.max_detectable,
        report.power.coverage * 100.0
    ))
}

/// The alerts in words: `no alerts`, `1 alert`, `3 alerts`.
pub fn alerts_phrase(alerts: usize) -> String {
    match alerts {
        0 => "no alerts".to_string(),
        1 => "1 alert".to_string(),
        n => format!("{n} alerts"),
    }
}

/// An alert's value in words: `1.90`, or `inf` with the reason.
pub fn format_value(alert: &Alert) -> String {
    if alert.episode.value.is_finite() {
        format!("{:.2}", alert.episode.value)
    } else if alert.new_code {
        format!("inf (code {} is new in the canary build)", visible(&alert.code.to_string()))
    } else {
        "inf (no baseline events in the window)".to_string()
    }
}

/// An alert block after its header line: the seed's fields, then the indented details.
pub fn alert_body(report: &Report, alert: &Alert) -> String {
    let mut out = String::new();
    let time = |s: i64| report.clock.format(s);
    let _ = writeln!(out, "Start Timestamp: {}", time(alert.episode.start_s));
    let _ = writeln!(out, "Stop Timestamp: {}", time(alert.episode.stop_s));
    let _ = writeln!(out, "Error Code: {}", code_label(alert));
    let _ = writeln!(out, "Value: {}", format_value(alert));
    let _ = writeln!(out, "Threshold: {}", alert.threshold);
    let _ = writeln!(out, "    {}", detection_details(report, alert));
    let _ = writeln!(out, "    {}", evidence(alert));
    out
}

/// When the alert was known and which windows fired: `detected at 0:59:40; windows fired from
/// 0:51:40 to 0:59:59; strongest window 5 bins x 100 s`.
pub fn detection_details(report: &Report, alert: &Alert) -> String {
    let time = |s: i64| report.clock.format(s);
    match alert.episode.window_bins {
        Some(window_bins) => format!(
            "detected at {}; windows fired from {} to {}; strongest window {} bins x {} s",
            time(alert.episode.detected_at_s),
            time(alert.episode.windows_start_s),
            time(alert.episode.windows_stop_s),
            window_bins,
            report.parameters.bin_seconds
        ),
        None => format!(
            "detected at {}; last alarm at {}",
            time(alert.episode.detected_at_s),
            time(alert.episode.windows_stop_s),
        ),
    }
}

/// The counts behind the value and the test's verdict: `canary 57 events, baseline 30 events,
/// p-value 3.2e-6` (or the sequential rule's `ratio between LO and HI`).
pub fn evidence(alert: &Alert) -> String {
    let mut counts = match alert.clients {
        None => format!(
            "canary {} events, baseline {} events",
            alert.episode.canary_count, alert.episode.baseline_count
        ),
        Some((canary, baseline)) => format!(
            "canary {} events from {canary} clients, baseline {} events from {baseline} clients",
            alert.episode.canary_count, alert.episode.baseline_count
        ),
    };
    if let Some(statistic) = statistic(alert) {
        let _ = write!(counts, ", {statistic}");
    }
    if alert.episode.dispersion >= super::LARGE_DISPERSION {
        let _ = write!(
            counts,
            " (counts tested as if {:.1} times fewer: bursts)",
            alert.episode.dispersion
        );
    }
    counts
}

/// The test's verdict alone: `p-value 3.2e-6`, `ratio between 1.40 and 3.10`, or nothing for a
/// rule without a test.
pub fn statistic(alert: &Alert) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(p) = alert.episode.p_value {
        parts.push(format!("p-value {}", format_p(p)));
    }
    if let Some((lo, hi)) = alert.episode.ratio_interval {
        let hi = if hi.is_finite() { format!("{hi:.2}") } else { "inf".to_string() };
        parts.push(format!("ratio between {lo:.2} and {hi}"));
    }
    if parts.is_empty() { None } else { Some(parts.join(", ")) }
}

/// A p-value in two significant digits.
pub fn format_p(p: f64) -> String {
    if p >= 0.001 { format!("{p:.3}") } else { format!("{p:.1e}") }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::{Alert, Episode};
    use crate::input::BuildStats;
    use crate::input::timestamp::Notation;
    use crate::report::{Detectable, Parameters, Power};

    pub(crate) fn sample_report() -> Report {
        let build = |v: &str, rows| BuildStats { version: v.into(), rows, events: rows };
        Report {
            input: "a.csv".into(),
            notation: Notation::Offset,
            clock: crate::clock::Clock::utc(Notation::Offset),
            rows: 14000,
            unit_column: None,
            dismissed_by_clients: None,
            baseline: build("5.0007.510.011", 6900),
            canary: build("5.0007.610.011", 7100),
            ignored_builds: vec![],
            chosen_by: crate::report::ChosenBy::VersionOrder,
            parameters: Parameters {
                rule: "rolling",
                bin_seconds: 100,
                threshold: 1.25,
                window_bins: vec![5, 10],
                alpha: 0.05,
                traffic: 0.5,
            },
            span: Some((0, 3600)),
            bins: 37,
            codes: 33,
            compared_codes: (-17..=14)
                .map(Code::Int)
                .chain(std::iter::once(Code::Label("E_NEW".into())))
                .collect(),
            gate: None,
            alerts: vec![
                Alert {
                    episode: Episode {
                        code: 20,
                        start_s: 3540,
                        stop_s: 3580,
                        windows_start_s: 3100,
                        windows_stop_s: 3599,
                        detected_at_s: 3580,
                        window_bins: Some(5),
                        value: 1.9000000000000004,
                        canary_count: 57,
                        baseline_count: 30,
                        p_value: Some(3.2e-6),
                        level: None,
                        ratio_interval: None,
                        dispersion: 1.0,
                    },
                    code_index: 20,
                    code: Code::Int(3),
                    new_code: false,
                    threshold: 1.25,
                    clients: None,
                },
                Alert {
                    episode: Episode {
                        code: 33,
                        start_s: 3000,
                        stop_s: 3599,
                        windows_start_s: 3000,
                        windows_stop_s: 3599,
                        detected_at_s: 3499,
                        window_bins: Some(5),
                        value: f64::INFINITY,
                        canary_count: 40,
                        baseline_count: 0,
                        p_value: Some(9.1e-13),
                        level: None,
                        ratio_interval: None,
                        dispersion: 1.0,
                    },
                    code_index: 33,
                    code: Code::Label("E_NEW".into()),
                    new_code: true,
                    threshold: 1.25,
                    clients: None,
                },
            ],
            repeated_headers: 0,
            late_rows: 0,
            skipped: Default::default(),
            heatmap: None,
            dispersion: None,
            unfinished_bytes: 0,
            verdict: Verdict::Regression,
            traffic: None,
            power: Power {
                coverage: 0.8,
                max_detectable: 2.5,
                codes: vec![
                    Detectable {
                        code: Code::Int(3),
                        baseline_events: 500,
                        min_detectable_ratio: Some(1.4),
                    },
                    Detectable {
                        code: Code::Int(13),
                        baseline_events: 300,
                        min_detectable_ratio: Some(2.1),
                    },
                    Detectable {
                        code: Code::Int(7),
                        baseline_events: 10,
                        min_detectable_ratio: None,
                    },
                ],
                covered: 2,
            },
        }
    }

    #[test]
    fn alerts_print_in_the_seed_format_with_details() {
        let text = String::from_utf8(Text::default().render(&sample_report())).unwrap();
        let expected = "\
Alert: Mean Threshold Exceeded
Start Timestamp: 0:59:00
Stop Timestamp: 0:59:40
Error Code: Error_Code_3
Value: 1.90
Threshold: 1.25
    detected at 0:59:40; windows fired from 0:51:40 to 0:59:59; strongest window 5 bins x 100 s
    canary 57 events, baseline 30 events, p-value 3.2e-6

Alert: Mean Threshold Exceeded
Start Timestamp: 0:50:00
Stop Timestamp: 0:59:59
Error Code: Error_Code_E_NEW
Value: inf (code E_NEW is new in the canary build)
Threshold: 1.25
    detected at 0:58:19; windows fired from 0:50:00 to 0:59:59; strongest window 5 bins x 100 s
    canary 40 events, baseline 0 events, p-value 9.1e-13

a.csv: 14000 rows, canary 5.0007.610.011 vs baseline 5.0007.510.011, 33 codes in 37 bins of 100 s, rule rolling: 2 alerts, regression
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_clean_run_says_so() {
        let mut report = sample_report();
        report.alerts.clear();
        report.verdict = Verdict::Pass;
        let text = String::from_utf8(Text::default().render(&report)).unwrap();
        assert!(
            text.ends_with(
                "rule rolling: no alerts, pass: could have seen x1.40 on code 3, x2.10 on code 13 \
                 (at most x2.50 needed on the codes with 80% of baseline events)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_inconclusive_run_says_what_it_could_have_seen() {
        let mut report = sample_report();
        report.alerts.clear();
        report.verdict = Verdict::Inconclusive;
        report.power.covered = 3;
        let text = String::from_utf8(Text::default().render(&report)).unwrap();
        assert!(
            text.ends_with(
                "rule rolling: no alerts, inconclusive: could have seen x1.40 on code 3, x2.10 on \
                 code 13, nothing on code 7 (at most x2.50 needed on the codes with 80% of \
                 baseline events)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn colour_styles_the_headers_and_the_verdict_and_nothing_else() {
        let plain = String::from_utf8(Text::default().render(&sample_report())).unwrap();
        let colored = String::from_utf8(Text { color: true }.render(&sample_report())).unwrap();
        assert_eq!(anstream::adapter::strip_str(&colored).to_string(), plain);
        let bold_red = "\u{1b}[1m\u{1b}[31m";
        assert_eq!(
            colored
                .matches(&format!("{bold_red}Alert: Mean Threshold Exceeded\u{1b}[0m\n"))
                .count(),
            2
        );
        assert!(
            colored.contains(&format!("{bold_red}2 alerts, regression\u{1b}[0m\n")),
            "{colored:?}"
        );
        assert!(!plain.contains('\u{1b}'));
    }
}
