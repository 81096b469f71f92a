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

use std::fmt::Write as _;

use super::{Format, Report, code_label};

/// The text format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Format for Text {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut out = String::new();
        let time = |s: i64| report.notation.format(s);
        for alert in &report.alerts {
            let value = if alert.value.is_finite() {
                format!("{:.2}", alert.value)
            } else if alert.new_code {
                format!("inf (code {} is new in the canary build)", alert.code)
            } else {
                "inf (no baseline events in the window)".to_string()
            };
            let _ = writeln!(out, "Alert: Mean Threshold Exceeded");
            let _ = writeln!(out, "Start Timestamp: {}", time(alert.start_s));
            let _ = writeln!(out, "Stop Timestamp: {}", time(alert.stop_s));
            let _ = writeln!(out, "Error Code: {}", code_label(alert));
            let _ = writeln!(out, "Value: {value}");
            let _ = writeln!(out, "Threshold: {}", alert.threshold);
            match alert.window_bins {
                Some(window_bins) => writeln!(
                    out,
                    "    detected at {}; windows fired from {} to {}; strongest window {} bins x {} s",
                    time(alert.detected_at_s),
                    time(alert.windows_start_s),
                    time(alert.windows_stop_s),
                    window_bins,
                    report.parameters.bin_seconds
                ),
                None => writeln!(
                    out,
                    "    detected at {}; last alarm at {}",
                    time(alert.detected_at_s),
                    time(alert.windows_stop_s),
                ),
            }
            .expect("writing to a String cannot fail");
            let mut counts = format!(
                "    canary {} events, baseline {} events",
                alert.canary_count, alert.baseline_count
            );
            if let Some(p) = alert.p_value {
                let _ = write!(counts, ", p-value {}", format_p(p));
            }
            if let Some((lo, hi)) = alert.ratio_interval {
                let hi = if hi.is_finite() { format!("{hi:.2}") } else { "inf".to_string() };
                let _ = write!(counts, ", ratio between {lo:.2} and {hi}");
            }
            let _ = writeln!(out, "{counts}");
            out.push('\n');
        }
        let alerts = match report.alerts.len() {
            0 => "no alerts".to_string(),
            1 => "1 alert".to_string(),
            n => format!("{n} alerts"),
        };
        let _ = writeln!(
            out,
            "{}: {} rows, canary {} vs baseline {}, {} codes in {} bins of {} s, rule {}: {alerts}",
            report.input,
            report.rows,
            report.canary.version,
            report.baseline.version,
            report.codes,
            report.bins,
            report.parameters.bin_seconds,
            report.parameters.rule,
        );
        out.into_bytes()
    }
}

/// A p-value in two significant digits.
pub fn format_p(p: f64) -> String {
    if p >= 0.001 { format!("{p:.3}") } else { format!("{p:.1e}") }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::Alert;
    use crate::input::BuildStats;
    use crate::input::labels::Code;
    use crate::input::timestamp::Notation;
    use crate::report::Parameters;

    pub(crate) fn sample_report() -> Report {
        let build = |v: &str, rows| BuildStats { version: v.into(), rows, events: rows };
        Report {
            input: "a.csv".into(),
            notation: Notation::Offset,
            rows: 14000,
            baseline: build("5.0007.510.011", 6900),
            canary: build("5.0007.610.011", 7100),
            ignored_builds: vec![],
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
            gate: None,
            alerts: vec![
                Alert {
                    code_index: 20,
                    code: Code::Int(3),
                    start_s: 3540,
                    stop_s: 3580,
                    windows_start_s: 3100,
                    windows_stop_s: 3599,
                    detected_at_s: 3580,
                    window_bins: Some(5),
                    value: 1.9000000000000004,
                    new_code: false,
                    threshold: 1.25,
                    canary_count: 57,
                    baseline_count: 30,
                    p_value: Some(3.2e-6),
                    ratio_interval: None,
                },
                Alert {
                    code_index: 33,
                    code: Code::Label("E_NEW".into()),
                    start_s: 3000,
                    stop_s: 3599,
                    windows_start_s: 3000,
                    windows_stop_s: 3599,
                    detected_at_s: 3499,
                    window_bins: Some(5),
                    value: f64::INFINITY,
                    new_code: true,
                    threshold: 1.25,
                    canary_count: 40,
                    baseline_count: 0,
                    p_value: Some(9.1e-13),
                    ratio_interval: None,
                },
            ],
            repeated_headers: 0,
            heatmap: None,
        }
    }

    #[test]
    fn alerts_print_in_the_seed_format_with_details() {
        let text = String::from_utf8(Text.render(&sample_report())).unwrap();
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

a.csv: 14000 rows, canary 5.0007.610.011 vs baseline 5.0007.510.011, 33 codes in 37 bins of 100 s, rule rolling: 2 alerts
";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_clean_run_says_so() {
        let mut report = sample_report();
        report.alerts.clear();
        let text = String::from_utf8(Text.render(&report)).unwrap();
        assert!(text.ends_with("rule rolling: no alerts\n"), "{text}");
    }
}
