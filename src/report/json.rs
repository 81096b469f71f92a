//! The JSON report: one document for machines (CI gates, dashboards).
//!
//! The schema is versioned by `schema_version`; fields are only ever added, never renamed or
//! removed. README.md documents every field. Codes that are integers are JSON integers; an
//! infinite value (no baseline events in the window) is `null`.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Format, Report, ShareEstimate, Traffic};
use crate::clock::Clock;
use crate::detect::{Alert, Gate};
use crate::input::BuildStats;
use crate::input::labels::Code;

/// The schema version of the JSON report.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[derive(Serialize)]
struct Build<'a> {
    version: &'a str,
    rows: u64,
    events: u64,
}

impl<'a> From<&'a BuildStats> for Build<'a> {
    fn from(b: &'a BuildStats) -> Self {
        Build { version: &b.version, rows: b.rows, events: b.events }
    }
}

fn code_value(code: &Code) -> Value {
    match code {
        Code::Int(n) => json!(n),
        Code::Label(s) => json!(s),
    }
}

/// Adds the readable forms of `seconds` (`(field, second)`) to `value` when the input is Unix
/// seconds: `start_time` beside `start` and `start_s`. Other notations are readable as they are,
/// so their documents keep the fields they always had.
fn add_readable(value: &mut Value, clock: &Clock, seconds: &[(&str, Option<i64>)]) {
    if !clock.is_zoned() {
        return;
    }
    let fields = value.as_object_mut().expect("an object");
    for &(field, second) in seconds {
        fields.insert(format!("{field}_time"), json!(second.map(|s| clock.format(s))));
    }
}

/// One alert as JSON, its times in the input's notation and in seconds, and for Unix-seconds
/// input as people read them (`clock`).
pub fn alert_value(clock: &Clock, alert: &Alert) -> Value {
    let time = |s: i64| clock.notation.format(s);
    let e = &alert.episode;
    let mut value = json!({
        "code": code_value(&alert.code),
        "start": time(alert.episode.start_s),
        "stop": time(alert.episode.stop_s),
        "detected_at": time(alert.episode.detected_at_s),
        "start_s": alert.episode.start_s,
        "stop_s": alert.episode.stop_s,
        "windows_start": time(alert.episode.windows_start_s),
        "windows_stop": time(alert.episode.windows_stop_s),
        "windows_start_s": alert.episode.windows_start_s,
        "windows_stop_s": alert.episode.windows_stop_s,
        "detected_at_s": alert.episode.detected_at_s,
        "window_bins": alert.episode.window_bins,
        "value": if alert.episode.value.is_finite() { json!(alert.episode.value) } else { Value::Null },
        "new_code": alert.new_code,
        "threshold": alert.threshold,
        "canary_count": alert.episode.canary_count,
        "baseline_count": alert.episode.baseline_count,
        "canary_clients": alert.clients.map(|c| c.0),
        "baseline_clients": alert.clients.map(|c| c.1),
        "p_value": alert.episode.p_value,
        "dispersion": alert.episode.dispersion,
        "ratio_interval": alert.episode.ratio_interval.map(|(lo, hi)| {
            json!([lo, if hi.is_finite() { json!(hi) } else { Value::Null }])
        }),
    });
    add_readable(
        &mut value,
        clock,
        &[
            ("start", Some(e.start_s)),
            ("stop", Some(e.stop_s)),
            ("detected_at", Some(e.detected_at_s)),
            ("windows_start", Some(e.windows_start_s)),
            ("windows_stop", Some(e.windows_stop_s)),
        ],
    );
    value
}

/// One stretch's estimate: `estimated`, `interval`, `events`.
fn estimate_value(e: &ShareEstimate) -> Value {
    json!({
        "estimated": e.share,
        "interval": [e.interval.0, e.interval.1],
        "events": e.events,
    })
}

/// The traffic check (`summary.traffic`).
fn traffic_value(clock: &Clock, t: &Traffic) -> Value {
    let part = |(start, stop, e): (i64, i64, Option<ShareEstimate>)| {
        let mut value = json!({
            "start": clock.notation.format(start),
            "stop": clock.notation.format(stop),
            "start_s": start,
            "stop_s": stop,
        });
        add_readable(&mut value, clock, &[("start", Some(start)), ("stop", Some(stop))]);
        let fields = value.as_object_mut().expect("an object");
        let e = e.map_or_else(
            || json!({"estimated": null, "interval": null, "events": 0}),
            |e| estimate_value(&e),
        );
        fields.extend(e.as_object().expect("an object").clone());
        value
    };
    let mut value = json!({
        "declared": t.declared,
        "auto": t.declared.is_none(),
        "consistent": t.consistent(),
        "drifted": t.parts.is_some_and(|p| p.drifted()),
        "first_quarter": t.parts.map(|p| part(p.first)),
        "last_quarter": t.parts.map(|p| part(p.last)),
        "warnings": t.warnings(clock),
    });
    let fields = value.as_object_mut().expect("an object");
    fields.extend(estimate_value(&t.estimate).as_object().expect("an object").clone());
    value
}

/// The report as a JSON document: its fields, and its alerts, which are made into JSON values
/// one at a time as they are written. A report of many alerts (the seed's rule on a busy stream
/// has tens of thousands) is then never held as one tree of values, which took several times the
/// size of the text it prints.
pub struct Document<'a> {
    /// Every field but `alerts`, in key order.
    pub fields: serde_json::Map<String, Value>,
    report: &'a Report,
}

/// The key of the alerts among [`Document`]'s fields.
const ALERTS: &str = "alerts";

impl Serialize for Document<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let alerts = Alerts(self.report);
        let mut map = serializer.serialize_map(Some(self.fields.len() + 1))?;
        let mut alerts_written = false;
        // The keys in order, as a map of values would write them.
        for (key, value) in &self.fields {
            if !alerts_written && key.as_str() > ALERTS {
                map.serialize_entry(ALERTS, &alerts)?;
                alerts_written = true;
            }
            map.serialize_entry(key, value)?;
        }
        if !alerts_written {
            map.serialize_entry(ALERTS, &alerts)?;
        }
        map.end()
    }
}

/// The report's alerts as a JSON array, each made into a value only as it is written.
struct Alerts<'a>(&'a Report);

impl Serialize for Alerts<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let report = self.0;
        let mut seq = serializer.serialize_seq(Some(report.alerts.len()))?;
        for alert in &report.alerts {
            seq.serialize_element(&alert_value(&report.clock, alert))?;
        }
        seq.end()
    }
}

/// The report as a JSON document.
pub fn document(report: &Report) -> Document<'_> {
    let p = &report.parameters;
    let gate = report.gate.map(|g| match g {
        Gate::Budget { alpha, windows, tested, per_window_alpha } => json!({
            "false_alarms_per_hour": alpha,
            "windows": windows,
            "windows_tested": tested,
            "per_window_alpha": per_window_alpha,
        }),
        Gate::Sequential { alpha, bound, alternatives } => json!({
            "false_alarms_per_hour": alpha,
            "alarm_bound": bound,
            "alternatives": alternatives,
        }),
    });
    let mut time = json!({
        "notation": report.notation.name(),
        "first": report.span.map(|s| report.notation.format(s.0)),
        "last": report.span.map(|s| report.notation.format(s.1)),
        "first_s": report.span.map(|s| s.0),
        "last_s": report.span.map(|s| s.1),
    });
    add_readable(
        &mut time,
        &report.clock,
        &[("first", report.span.map(|s| s.0)), ("last", report.span.map(|s| s.1))],
    );
    if report.clock.is_zoned() {
        time["time_zone"] = json!(report.clock.zone_name);
    }
    let fields = json!({
        "schema_version": SCHEMA_VERSION,
        "verdict": report.verdict.name(),
        "input": report.input,
        "rows": report.rows,
        "unit_column": report.unit_column,
        "time": time,
        "builds": {
            "baseline": Build::from(&report.baseline),
            "canary": Build::from(&report.canary),
            "ignored": report.ignored_builds.iter().map(Build::from).collect::<Vec<_>>(),
            "chosen_by": report.chosen_by.name(),
        },
        "parameters": {
            "rule": p.rule,
            "bin_seconds": p.bin_seconds,
            "threshold": p.threshold,
            "threshold_bins": p.window_bins,
            "alpha": p.alpha,
            "traffic": p.traffic,
        },
        "summary": {
            "alerts": report.alerts.len(),
            "codes": report.codes,
            "bins": report.bins,
            "significance": gate,
            "coverage": report.power.coverage,
            "max_detectable": report.power.max_detectable,
            "detectable": report.power.codes.iter().map(|d| json!({
                "code": code_value(&d.code),
                "baseline_events": d.baseline_events,
                "min_detectable_ratio": d.min_detectable_ratio,
            })).collect::<Vec<_>>(),
            "alarms_dismissed_by_clients": report.dismissed_by_clients,
            "dispersion": report.dispersion.as_ref().map(|d| json!({
                "stream": d.stream,
                "codes": d.codes.iter().map(|(code, phi)| json!({
                    "code": code_value(code),
                    "dispersion": phi,
                })).collect::<Vec<_>>(),
            })),
            "skipped": {
                "repeated_headers": report.repeated_headers,
                "invalid_rows": report.skipped.total(),
                "invalid": report
                    .skipped
                    .by_reason
                    .iter()
                    .map(|(reason, (n, _))| (reason.name().to_string(), json!(n)))
                    .collect::<serde_json::Map<String, Value>>(),
            },
            "late_rows": report.late_rows,
            "unfinished_bytes": report.unfinished_bytes,
            "traffic": report.traffic.as_ref().map(|t| traffic_value(&report.clock, t)),
        },
        "heatmap": report.heatmap,
    });
    let Value::Object(fields) = fields else { unreachable!("a JSON object") };
    Document { fields, report }
}

impl Format for Json {
    fn render(&self, report: &Report) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&document(report))
            .expect("a JSON document always serializes");
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::text::tests::sample_report;

    #[test]
    fn alerts_carry_every_documented_field() {
        let v: Value = serde_json::from_slice(&Json.render(&sample_report())).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["rows"], 14000);
        assert_eq!(v["builds"]["canary"]["version"], "5.0007.610.011");
        assert_eq!(v["builds"]["chosen_by"], "version_order");
        assert_eq!(v["parameters"]["threshold_bins"], json!([5, 10]));
        let first = &v["alerts"][0];
        assert_eq!(first["code"], json!(3), "integer codes are JSON integers");
        assert_eq!(first["start"], "0:59:00");
        assert_eq!((first["start_s"].clone(), first["stop_s"].clone()), (json!(3540), json!(3580)));
        assert_eq!(first["detected_at_s"], 3580);
        assert_eq!(first["window_bins"], 5);
        assert_eq!(first["value"], 1.9000000000000004);
        assert_eq!(first["new_code"], false);
        assert_eq!(
            (first["canary_count"].clone(), first["baseline_count"].clone()),
            (json!(57), json!(30))
        );
        assert_eq!(first["p_value"], 3.2e-6);
        let second = &v["alerts"][1];
        assert_eq!(second["code"], "E_NEW");
        assert!(second["value"].is_null());
        assert_eq!(second["new_code"], true);
        assert_eq!(v["summary"]["alerts"], 2);
        assert_eq!(v["time"]["last"], "1:00:00");
    }
}
