//! GitHub Actions workflow commands: one `::error` annotation per alert, for the run's summary
//! page and the pull request.
//!
//! ```text
//! ::error title=errwatch%3A Error_Code_3 increased::Error_Code_3 increased from 0:59:00 to ...
//! errwatch: a.csv: 14000 rows, canary 5.0007.610.011 vs baseline 5.0007.510.011, ...: 2 alerts
//! ```
//!
//! GitHub shows at most [`MAX_ANNOTATIONS`] error annotations per step, so alerts past that are
//! written as plain log lines and a `::notice` says how many there are. Every other line starts
//! with `errwatch: `, so no input path can pass for a command.
//!
//! Escaping follows GitHub's toolkit (`@actions/core`, `command.ts`): in the message `%`, CR and
//! LF become `%25`, `%0D`, `%0A`; in properties (the title) also `:` and `,` become `%3A` and
//! `%2C`. A code label or build version from the input can then neither end the command early nor
//! start a new one.
//!
//! The Markdown step summary (`GITHUB_STEP_SUMMARY`) is written by the CLI, with
//! [`super::markdown::Markdown`]; this format stays pure.

use std::fmt::Write as _;

use super::one_line_labelled;
use super::text::{could_have_seen, detection_details, summary_line, traffic_line, verdict};
use super::{Format, Report, Verdict, exact_label};
use crate::detect::Alert;

/// Error annotations GitHub shows per step; more are dropped.
pub const MAX_ANNOTATIONS: usize = 10;

/// The GitHub Actions format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Github;

impl Format for Github {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut out = String::new();
        for (i, alert) in report.alerts.iter().enumerate() {
            let message = message(report, alert);
            if i < MAX_ANNOTATIONS {
                let title = format!("errwatch: {} increased", exact_label(&alert.code));
                let _ = writeln!(
                    out,
                    "::error title={}::{}",
                    escape_property(&title),
                    escape_data(&message)
                );
            } else {
                let _ = writeln!(out, "errwatch: {}", escape_data(&message));
            }
        }
        if let Some(rest) = report.alerts.len().checked_sub(MAX_ANNOTATIONS).filter(|&n| n > 0) {
            let _ = writeln!(
                out,
                "::notice title=errwatch::{}",
                escape_data(&format!(
                    "{rest} more alert(s) are in the log above but not annotated: GitHub shows at \
                     most {MAX_ANNOTATIONS} error annotations per step"
                ))
            );
        }
        if report.verdict == Verdict::Inconclusive {
            let why = could_have_seen(report, exact_label)
                .unwrap_or_else(|| "no window of the rule fit in the data".to_string());
            let _ = writeln!(
                out,
                "::warning title=errwatch%3A inconclusive::{}",
                escape_data(&format!(
                    "no alert, but the data could not have shown a regression: {why}"
                ))
            );
        }
        for warning in report.traffic.iter().flat_map(|t| t.warnings(&report.clock)) {
            let _ = writeln!(out, "::warning title=errwatch%3A traffic::{}", escape_data(&warning));
        }
        let summary = summary_line(report, &verdict(report));
        let _ = writeln!(out, "errwatch: {}", escape_data(&summary));
        if let Some(traffic) = traffic_line(report) {
            let _ = writeln!(out, "errwatch: {}", escape_data(&traffic));
        }
        out.into_bytes()
    }
}

/// One alert in one line: the code, the span, the value and the evidence, when it was known,
/// the builds.
fn message(report: &Report, alert: &Alert) -> String {
    format!(
        "{}; {}; canary {} vs baseline {}",
        one_line_labelled(report, alert, &exact_label(&alert.code)),
        detection_details(report, alert),
        report.canary.version,
        report.baseline.version
    )
}

/// A command's message, escaped as GitHub's toolkit does (`escapeData`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A command's property value, escaped as GitHub's toolkit does (`escapeProperty`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;
    use crate::report::text::tests::sample_report;

    fn render(report: &Report) -> String {
        String::from_utf8(Github.render(report)).unwrap()
    }

    #[test]
    fn one_error_per_alert_then_the_summary() {
        insta::assert_snapshot!(render(&sample_report()));
    }

    #[test]
    fn escaping_matches_the_toolkit() {
        assert_eq!(escape_data("50%\r\nx: a,b"), "50%25%0D%0Ax: a,b");
        assert_eq!(escape_property("50%\r\nx: a,b"), "50%25%0D%0Ax%3A a%2Cb");
        // `%` first, so an escape in the input is not taken for one of ours.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn a_label_cannot_end_the_title_or_start_a_command() {
        let mut report = sample_report();
        report.alerts[0].code = Code::Label("E:50%,x\n::warning::y".into());
        let out = render(&report);
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(out.lines().all(|l| l.starts_with("::error ") || l.starts_with("errwatch: ")));
        let first = out.lines().next().unwrap();
        assert!(
            first.starts_with(
                "::error title=errwatch%3A Error_Code_E%3A50%25%2Cx%0A%3A%3Awarning%3A%3Ay increased::"
            ),
            "{first}"
        );
        assert!(first.contains("::Error_Code_E:50%25,x%0A::warning::y increased from"), "{first}");
    }

    #[test]
    fn past_ten_alerts_the_rest_are_logged_and_counted() {
        let mut report = sample_report();
        let alert = report.alerts[0].clone();
        report.alerts = (0..13).map(|_| alert.clone()).collect();
        let out = render(&report);
        assert_eq!(out.lines().filter(|l| l.starts_with("::error ")).count(), 10);
        assert_eq!(out.lines().filter(|l| l.starts_with("errwatch: Error_Code_3")).count(), 3);
        let notice = out.lines().find(|l| l.starts_with("::notice ")).expect("a notice");
        assert!(notice.starts_with("::notice title=errwatch::3 more alert(s)"), "{notice}");
        assert!(out.ends_with(": 13 alerts, regression\n"), "{out}");
    }

    #[test]
    fn a_passing_run_is_one_log_line() {
        let mut report = sample_report();
        report.alerts.clear();
        report.verdict = Verdict::Pass;
        assert_eq!(
            render(&report),
            "errwatch: a.csv: 14000 rows, canary 5.0007.610.011 vs baseline 5.0007.510.011, 33 \
             codes in 37 bins of 100 s, rule rolling: no alerts, pass: could have seen x1.40 on \
             code 3, x2.10 on code 13 (at most x2.50 needed on the codes with 80%25 of baseline \
             events)\n"
        );
    }

    #[test]
    fn an_inconclusive_run_is_a_warning() {
        let mut report = sample_report();
        report.alerts.clear();
        report.verdict = Verdict::Inconclusive;
        report.power.covered = 3;
        let out = render(&report);
        let warning = out.lines().next().unwrap();
        assert_eq!(
            warning,
            "::warning title=errwatch%3A inconclusive::no alert, but the data could not have \
             shown a regression: could have seen x1.40 on Error_Code_3, x2.10 on Error_Code_13, \
             nothing on Error_Code_7 (at most x2.50 needed on the codes with 80%25 of baseline \
             events)"
        );
        assert!(out.lines().nth(1).unwrap().ends_with("no alerts, inconclusive: could have seen x1.40 on code 3, x2.10 on code 13, nothing on code 7 (at most x2.50 needed on the codes with 80%25 of baseline events)"), "{out}");
    }
}
