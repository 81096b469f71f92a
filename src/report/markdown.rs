//! The Markdown summary: for CI systems that render Markdown (GitHub's step summary, GitLab job
//! reports, Buildkite annotations, pull-request comments).
//!
//! A heading with the verdict, a table of the alerts, the compared builds, the parameters, and
//! where the heatmap file was written. The heatmap is named, not linked or embedded: CI pages cannot
//! reach a file in the job's working directory, so the note says to upload it as an artifact.
//!
//! Everything that comes from the input (error codes, build versions, the input path) is written
//! as a code span, so no label can break a table or inject markup: a fence one backtick longer than
//! the longest run inside, line breaks as spaces, and in table cells `|` as `\|` (GitHub-flavoured
//! tables split cells on `|` even inside code spans). The output ends with a blank line, so
//! summaries appended one after another stay apart.

use std::fmt::Write as _;

use super::text::{alerts_phrase, could_have_seen, statistic, traffic_line};
use super::{Format, Report, Verdict, exact_label};
use crate::detect::Alert;
use crate::input::BuildStats;

/// The Markdown format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl Format for Markdown {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut out = String::new();
        let time = |s: i64| report.clock.format(s);
        let p = &report.parameters;
        let _ = writeln!(
            out,
            "## errwatch: {}, {}\n",
            alerts_phrase(report.alerts.len()),
            report.verdict.name()
        );
        let _ = writeln!(
            out,
            "Canary {} vs baseline {} in {}: {} rows, {} codes in {} bins of {} s, rule {}.\n",
            code_span(&report.canary.version),
            code_span(&report.baseline.version),
            code_span(&report.input),
            report.rows,
            report.codes,
            report.bins,
            p.bin_seconds,
            p.rule,
        );
        let verdict = match report.verdict {
            Verdict::Pass => "Pass",
            Verdict::Regression => "Regression",
            Verdict::Inconclusive => "Inconclusive",
        };
        let _ = match could_have_seen(report, |code| code_span(&code.to_string())) {
            Some(seen) if report.verdict != Verdict::Regression => {
                writeln!(out, "**{verdict}**: {seen}.\n")
            }
            _ => writeln!(out, "**{verdict}**.\n"),
        };
        if let Some(traffic) = traffic_line(report) {
            // "traffic: ..." as a sentence; nothing in it comes from the input.
            let _ = writeln!(out, "**Traffic**: {}.\n", traffic.trim_start_matches("traffic: "));
            for warning in report.traffic.iter().flat_map(|t| t.warnings(&report.clock)) {
                let _ = writeln!(out, "> **Warning**: {warning}.\n");
            }
        }
        if !report.alerts.is_empty() {
            out.push_str(
                "| error code | increase from | to | detected at | value | canary events | \
                 baseline events | evidence |\n",
            );
            out.push_str("| --- | --- | --- | --- | --- | ---: | ---: | --- |\n");
            for alert in &report.alerts {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    cell(&exact_label(&alert.code)),
                    time(alert.episode.start_s),
                    time(alert.episode.stop_s),
                    time(alert.episode.detected_at_s),
                    short_value(alert),
                    with_clients(alert.episode.canary_count, alert.clients.map(|c| c.0)),
                    with_clients(alert.episode.baseline_count, alert.clients.map(|c| c.1)),
                    statistic(alert).unwrap_or_default(),
                );
            }
            out.push('\n');
        }
        out.push_str("**Builds**\n\n| | version | rows | events |\n| --- | --- | ---: | ---: |\n");
        let mut build = |role: &str, b: &BuildStats| {
            let _ = writeln!(out, "| {role} | {} | {} | {} |", cell(&b.version), b.rows, b.events);
        };
        build("baseline", &report.baseline);
        build("canary", &report.canary);
        for ignored in &report.ignored_builds {
            build("ignored", ignored);
        }
        let windows = p.window_bins.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "\n**Parameters**\n\n\
             | rule | bin seconds | threshold | window bins | alpha | canary traffic |\n\
             | --- | ---: | ---: | --- | ---: | ---: |\n\
             | {} | {} | {} | {} | {} | {} |\n",
            p.rule, p.bin_seconds, p.threshold, windows, p.alpha, p.traffic,
        );
        match &report.heatmap {
            Some(path) => {
                let _ = writeln!(
                    out,
                    "The differential heatmap was written to {} in the job's working directory; \
                     upload it as an artifact to see it.\n",
                    code_span(path)
                );
            }
            None => out.push_str("No heatmap was drawn.\n\n"),
        }
        out.into_bytes()
    }
}

/// The value for a table cell: `1.90`, or `inf` with a short reason.
pub fn short_value(alert: &Alert) -> String {
    if alert.episode.value.is_finite() {
        format!("{:.2}", alert.episode.value)
    } else if alert.new_code {
        "inf (new code)".to_string()
    } else {
        "inf (no baseline events)".to_string()
    }
}

/// `text` as a code span that survives any content: a fence longer than any backtick run inside,
/// padded when the text starts or ends with a backtick; line breaks and other control characters
/// become spaces, as a span cannot hold them.
pub fn code_span(text: &str) -> String {
    // Control characters as spaces (a line break would end the table row), then whatever else
    // reorders or hides text shown escaped.
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let text = crate::escape::visible(&text);
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad =
        if text.starts_with('`') || text.ends_with('`') || text.is_empty() { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// [`code_span`] for a table cell, where `|` would end the cell.
fn cell(text: &str) -> String {
    code_span(text).replace('|', "\\|")
}

/// An event count, with its clients when a unit column was counted: `412 (37 clients)`.
fn with_clients(events: u64, clients: Option<u64>) -> String {
    match clients {
        None => events.to_string(),
        Some(clients) => format!("{events} ({clients} clients)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;
    use crate::report::text::tests::sample_report;

    fn render(report: &Report) -> String {
        String::from_utf8(Markdown.render(report)).unwrap()
    }

    #[test]
    fn the_summary_has_the_alerts_the_builds_the_parameters_and_the_heatmap() {
        let mut report = sample_report();
        report.heatmap = Some("a.heatmap.png".into());
        insta::assert_snapshot!(render(&report));
    }

    #[test]
    fn labels_cannot_break_the_table() {
        let mut report = sample_report();
        report.alerts[0].code = Code::Label("E|`x`\nnext".into());
        report.baseline.version = "1.0|``".into();
        let md = render(&report);
        assert!(md.contains("| ``Error_Code_E\\|`x` next`` | 0:59:00 |"), "{md}");
        assert!(md.contains("| baseline | ``` 1.0\\|`` ``` |"), "{md}");
        assert!(md.contains("vs baseline ``` 1.0|`` ``` in `a.csv`"), "{md}");
        // Every table row has the same number of unescaped cell separators as its header.
        for line in md.lines().filter(|l| l.starts_with("| error code") || l.starts_with("| `")) {
            assert_eq!(line.replace("\\|", "").matches('|').count(), 9, "{line}");
        }
    }

    #[test]
    fn a_clean_run_has_no_alert_table() {
        let mut report = sample_report();
        report.alerts.clear();
        report.verdict = Verdict::Inconclusive;
        report.power.covered = 3;
        let md = render(&report);
        assert!(md.starts_with("## errwatch: no alerts, inconclusive\n\n"), "{md}");
        assert!(
            md.contains(
                "\n**Inconclusive**: could have seen x1.40 on `3`, x2.10 on `13`, nothing on `7` \
                 (at most x2.50 needed on the codes with 80% of baseline events).\n\n"
            ),
            "{md}"
        );
        assert!(!md.contains("| error code"), "{md}");
        assert!(md.ends_with("No heatmap was drawn.\n\n"), "{md}");
    }

    #[test]
    fn code_spans_outlast_their_backticks() {
        assert_eq!(code_span("plain"), "`plain`");
        assert_eq!(code_span("a``b"), "```a``b```");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\r\nb"), "`a  b`");
    }
}
