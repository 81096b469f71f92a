//! JSON Lines (`--format jsonl`): one JSON object per line, written and flushed as things happen,
//! for `jq` and log pipelines to follow live.
//!
//! Each line has a `type`:
//!
//! - `alert_started`: an episode's first alarm, with the alert fields of the JSON report as known
//!   at that moment (its span so far, the value that fired);
//! - `alert_ended`: the episode's final account, with the same fields;
//! - `summary`: at the end of the input, the whole JSON report (its `alerts` are the ended
//!   episodes) with `type` added.

use serde_json::{Value, json};

use super::json::{alert_value, document};
use super::{Format, Report};
use crate::clock::Clock;
use crate::detect::Alert;

/// One event line: `{"type": KIND, ...alert fields}` and a newline.
pub fn event_line(kind: &str, clock: &Clock, alert: &Alert) -> Vec<u8> {
    let mut value = alert_value(clock, alert);
    if let Value::Object(fields) = &mut value {
        fields.insert("type".into(), json!(kind));
    }
    line(&value)
}

/// The closing `summary` line.
pub fn summary_line(report: &Report) -> Vec<u8> {
    let mut document = document(report);
    document.fields.insert("type".into(), json!("summary"));
    let mut out = serde_json::to_vec(&document).expect("a JSON document always serializes");
    out.push(b'\n');
    out
}

fn line(value: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec(value).expect("a serde_json::Value always serializes");
    out.push(b'\n');
    out
}

/// A batch run in JSON Lines: every episode's start and end in the order a live run would have
/// written them (by the second they were known), then the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Jsonl;

impl Format for Jsonl {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut events: Vec<(i64, u8, &Alert)> = Vec::new();
        for alert in &report.alerts {
            events.push((alert.episode.detected_at_s, 0, alert));
            events.push((alert.episode.windows_stop_s.max(alert.episode.stop_s), 1, alert));
        }
        events.sort_by_key(|&(at, order, alert)| (at, order, alert.code_index));
        let mut out = Vec::new();
        for (_, order, alert) in events {
            let kind = if order == 0 { "alert_started" } else { "alert_ended" };
            out.extend(event_line(kind, &report.clock, alert));
        }
        out.extend(summary_line(report));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::text::tests::sample_report;

    #[test]
    fn every_line_is_a_json_object_with_a_type() {
        let bytes = Jsonl.render(&sample_report());
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
        // The sample's alerts are known at 0:59:40 (code 3) and 0:58:19 (E_NEW).
        assert_eq!(
            kinds,
            ["alert_started", "alert_started", "alert_ended", "alert_ended", "summary"]
        );
        assert_eq!(lines[0]["code"], "E_NEW");
        assert_eq!(lines[1]["code"], 3);
        assert_eq!(lines[1]["detected_at"], "0:59:40");
        assert_eq!(lines[4]["summary"]["alerts"], 2);
        assert_eq!(lines[4]["schema_version"], 1);
    }
}
