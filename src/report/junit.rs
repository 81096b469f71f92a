//! JUnit XML: one test case per error code compared, failed when the code alerted, for the test
//! widgets of CI systems (GitLab's test report, Jenkins, Azure Pipelines, GitHub test reporters).
//!
//! ```xml
//! <testsuites name="errwatch" tests="33" failures="2" errors="0">
//!   <testsuite name="errwatch: canary 5.0007.610.011 vs baseline 5.0007.510.011" tests="33" ...>
//!     <testcase name="Error_Code_3" classname="errwatch">
//!       <failure message="Error_Code_3 increased from 0:59:00 to 0:59:40: value 1.90, ..."
//!                type="regression">Alert: Mean Threshold Exceeded ...</failure>
//!     </testcase>
//! ```
//!
//! The elements and attributes the JUnit schema requires are always there (`testsuites`;
//! `testsuite` with `name`, `tests`, `failures`, `errors`; `testcase` with `name` and `classname`;
//! `failure` with `message`). A code with several episodes is one failed case whose message counts
//! them and whose body holds every alert block in the text format. There are no timings or
//! timestamps, so the same input gives the same bytes.
//!
//! Text from the input is escaped for XML 1.0: `& < > " '` as entities, line breaks and tabs in
//! attributes as character references (so they survive attribute normalization), and the control
//! characters XML 1.0 cannot carry at all as U+FFFD.

use std::fmt::Write as _;

use super::text::alert_body;
use super::{Format, Report, Verdict, exact_label, one_line};
use crate::detect::Alert;
use crate::input::labels::Code;

/// The JUnit format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit;

/// Every test case's `classname`: the tool, so CI widgets group the codes together.
const CLASSNAME: &str = "errwatch";

impl Format for Junit {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut codes = report.compared_codes.clone();
        // An alert's code is always among those compared; this keeps every alert reported even
        // if a caller builds a report where it is not.
        for alert in &report.alerts {
            if !codes.contains(&alert.code) {
                codes.push(alert.code.clone());
            }
        }
        let failures = codes.iter().filter(|c| report.alerts.iter().any(|a| &a.code == *c)).count();
        let skips = skips(report, &codes);
        let suite = format!(
            "errwatch: canary {} vs baseline {}",
            report.canary.version, report.baseline.version
        );
        let p = &report.parameters;
        let windows = p.window_bins.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let properties = [
            ("input", report.input.clone()),
            ("baseline", report.baseline.version.clone()),
            ("canary", report.canary.version.clone()),
            ("rule", p.rule.to_string()),
            ("bin_seconds", p.bin_seconds.to_string()),
            ("threshold", p.threshold.to_string()),
            ("threshold_bins", windows),
            ("alpha", p.alpha.to_string()),
            ("traffic", p.traffic.to_string()),
            ("verdict", report.verdict.name().to_string()),
        ]
        .into_iter()
        .chain(traffic_properties(report))
        .chain(report.heatmap.clone().map(|path| ("heatmap", path)));

        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let counts = format!("tests=\"{}\" failures=\"{failures}\" errors=\"0\"", codes.len());
        let _ = writeln!(out, "<testsuites name=\"errwatch\" {counts}>");
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" {counts} skipped=\"{}\">",
            attr(&suite),
            skips.len()
        );
        out.push_str("    <properties>\n");
        for (name, value) in properties {
            let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", attr(&value));
        }
        out.push_str("    </properties>\n");
        for code in &codes {
            let name = attr(&exact_label(code));
            let alerts: Vec<&Alert> = report.alerts.iter().filter(|a| &a.code == code).collect();
            let Some(first) = alerts.first() else {
                match skips.iter().find(|(c, _)| c == code) {
                    Some((_, why)) => {
                        let _ = writeln!(
                            out,
                            "    <testcase name=\"{name}\" classname=\"{CLASSNAME}\">\n      \
                             <skipped message=\"{}\"/>\n    </testcase>",
                            attr(why)
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "    <testcase name=\"{name}\" classname=\"{CLASSNAME}\"/>"
                        );
                    }
                }
                continue;
            };
            let mut message = one_line(report, first);
            if alerts.len() > 1 {
                let _ = write!(message, " (and {} more episode(s))", alerts.len() - 1);
            }
            let body = alerts
                .iter()
                .map(|a| format!("Alert: Mean Threshold Exceeded\n{}", alert_body(report, a)))
                .collect::<Vec<_>>()
                .join("\n");
            let _ = writeln!(out, "    <testcase name=\"{name}\" classname=\"{CLASSNAME}\">");
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"regression\">{}</failure>",
                attr(&message),
                text(&body)
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out.into_bytes()
    }
}

/// The cases an inconclusive run skips, with why: each code covering most baseline events whose
/// minimum detectable ratio is past the bound (or every code, when none was covered). A pass or a
/// regression skips none.
fn skips(report: &Report, codes: &[Code]) -> Vec<(Code, String)> {
    if report.verdict != Verdict::Inconclusive {
        return Vec::new();
    }
    let power = &report.power;
    let needed = format!(
        "x{:.2} needed on the codes with {}% of baseline events",
        power.max_detectable,
        power.coverage * 100.0
    );
    let weak: Vec<(Code, String)> = power
        .covered()
        .iter()
        .filter(|d| d.min_detectable_ratio.is_none_or(|r| r > power.max_detectable))
        .map(|d| {
            let seen = d.min_detectable_ratio.map_or("nothing".into(), |r| format!("only x{r:.2}"));
            (d.code.clone(), format!("inconclusive: could have seen {seen}; {needed}"))
        })
        .collect();
    if !weak.is_empty() {
        return weak;
    }
    codes
        .iter()
        .filter(|c| !report.alerts.iter().any(|a| &a.code == *c))
        .map(|c| (c.clone(), "inconclusive: no window of the rule fit in the data".to_string()))
        .collect()
}

/// The traffic check as properties: the estimate, its interval, whether the declared share is
/// consistent, and each warning.
fn traffic_properties(report: &Report) -> Vec<(&'static str, String)> {
    let Some(traffic) = &report.traffic else { return Vec::new() };
    let e = &traffic.estimate;
    let mut properties = vec![("traffic_estimated", e.share.to_string())];
    properties.push(("traffic_interval", format!("{},{}", e.interval.0, e.interval.1)));
    if let Some(consistent) = traffic.consistent() {
        properties.push(("traffic_consistent", consistent.to_string()));
    }
    properties.extend(traffic.warnings(&report.clock).into_iter().map(|w| ("traffic_warning", w)));
    properties
}

/// Whether XML 1.0 can carry the character at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Character data: markup characters as entities.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// An attribute value in double quotes: also quotes, and whitespace that attribute-value
/// normalization would turn into spaces.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in text(s).chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;
    use crate::report::text::tests::sample_report;

    fn small_report() -> Report {
        let mut report = sample_report();
        report.compared_codes = vec![Code::Int(-2), Code::Int(3), Code::Label("E_NEW".into())];
        report.codes = 3;
        report
    }

    fn render(report: &Report) -> String {
        String::from_utf8(Junit.render(report)).unwrap()
    }

    #[test]
    fn one_case_per_code_failed_when_it_alerted() {
        insta::assert_snapshot!(render(&small_report()));
    }

    #[test]
    fn an_inconclusive_run_skips_the_codes_it_could_not_have_judged() {
        let mut report = small_report();
        report.alerts.clear();
        report.verdict = Verdict::Inconclusive;
        report.compared_codes = vec![Code::Int(3), Code::Int(7), Code::Int(13)];
        report.power.covered = 3;
        let xml = render(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).unwrap();
        assert_eq!(suite.attribute("skipped"), Some("1"), "{xml}");
        let skipped: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("skipped"))
            .map(|n| (n.parent().unwrap().attribute("name").unwrap(), n.attribute("message")))
            .collect();
        assert_eq!(
            skipped,
            [(
                "Error_Code_7",
                Some(
                    "inconclusive: could have seen nothing; x2.50 needed on the codes with 80% \
                     of baseline events"
                )
            )]
        );
    }

    #[test]
    fn the_schema_s_required_parts_are_there() {
        let xml = render(&small_report());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let suite = root.children().find(|n| n.has_tag_name("testsuite")).unwrap();
        assert_eq!(suite.attribute("tests"), Some("3"));
        assert_eq!(suite.attribute("failures"), Some("2"));
        let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
        let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
        assert_eq!(names, ["Error_Code_-2", "Error_Code_3", "Error_Code_E_NEW"]);
        assert!(cases.iter().all(|c| c.attribute("classname") == Some("errwatch")));
        let failure = cases[1].children().find(|n| n.has_tag_name("failure")).unwrap();
        assert_eq!(
            failure.attribute("message"),
            Some(
                "Error_Code_3 increased from 0:59:00 to 0:59:40: value 1.90, threshold 1.25; \
                 canary 57 events, baseline 30 events, p-value 3.2e-6"
            )
        );
        assert!(failure.text().unwrap().starts_with("Alert: Mean Threshold Exceeded\n"));
        assert!(cases[0].children().all(|n| !n.is_element()), "a quiet code passes");
    }

    #[test]
    fn labels_survive_as_written() {
        let mut report = small_report();
        let odd = "E<&>\"'\n\t\u{1}x";
        report.alerts[0].code = Code::Label(odd.into());
        report.compared_codes[1] = Code::Label(odd.into());
        let xml = render(&report);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let case = doc.descendants().filter(|n| n.has_tag_name("testcase")).nth(1).unwrap();
        assert_eq!(case.attribute("name"), Some("Error_Code_E<&>\"'\n\t\u{FFFD}x"));
    }

    #[test]
    fn several_episodes_of_one_code_are_one_failure() {
        let mut report = small_report();
        let again = report.alerts[0].clone();
        report.alerts.push(again);
        let xml = render(&report);
        assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
        assert!(xml.contains("p-value 3.2e-6 (and 1 more episode(s))\""), "{xml}");
        assert_eq!(xml.matches("Alert: Mean Threshold Exceeded").count(), 3, "{xml}");
    }
}
