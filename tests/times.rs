//! Readable times: Unix-seconds input is shown as RFC 3339 (UTC, `--time-zone` or `TZ`) in the
//! human formats and the heatmap, JSON keeps the seconds and adds the readable form, and other
//! notations are shown as written.

use serde_json::Value;

use crate::util::Errwatch;

/// 2026-12-01T15:52:16Z: 20788 days after 1970-01-01, then 15 x 3600 + 52 x 60 + 16 seconds.
const START: i64 = 1_796_140_336;

/// The regression of `analyze.rs` (code 7 from 2 to 20 canary events a bin in bins 10 to 14 of 20
/// 10-second bins, code 9 steady), each bin's events at its first second, stamped by `stamp`.
fn regression(stamp: impl Fn(i64) -> String) -> String {
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for bin in 0..20 {
        let canary_7 = if (10..15).contains(&bin) { 20 } else { 2 };
        for (code, baseline, canary) in [(7, 2, canary_7), (9, 2, 2)] {
            let second = stamp(bin * 10);
            csv.push_str(&format!("{second},2.4.0,{code}\n").repeat(baseline));
            csv.push_str(&format!("{second},2.10.0,{code}\n").repeat(canary));
        }
    }
    csv
}

fn epoch() -> String {
    regression(|offset| (START + offset).to_string())
}

fn hms() -> String {
    regression(|s| format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60))
}

const FLAGS: [&str; 4] = ["--bins", "10", "--threshold-bins", "3"];

/// `errwatch analyze s.csv` on `csv` with the fixture's flags and `extra`.
fn analyze(csv: &str, extra: &[&str]) -> crate::util::Output {
    Errwatch::new(&["analyze", "s.csv", "--no-heatmap"])
        .args(&FLAGS)
        .args(extra)
        .file("s.csv", csv)
        .run()
}

// The alert of `analyze.rs`, 0:01:40 to 0:02:29, detected at 0:01:59, windows from 0:01:30 to
// 0:02:39, is START + 100 s etc.: 15:53:56 to 15:54:45, detected at 15:54:15, windows from
// 15:53:46 to 15:54:55 UTC.
const TEXT_UTC: &str = "\
Alert: Mean Threshold Exceeded
Start Timestamp: 2026-12-01T15:53:56Z
Stop Timestamp: 2026-12-01T15:54:45Z
Error Code: Error_Code_7
Value: 10.00
Threshold: 1.25
    detected at 2026-12-01T15:54:15Z; windows fired from 2026-12-01T15:53:46Z to 2026-12-01T15:54:55Z; strongest window 3 bins x 10 s
    canary 60 events, baseline 6 events, p-value 1.4e-12

s.csv: 250 rows, canary 2.10.0 vs baseline 2.4.0, 2 codes in 20 bins of 10 s, rule rolling: 1 alert, regression
traffic: canary share of events 0.500 (0.299 to 0.701), consistent with --traffic 0.5
";

#[test]
fn unix_seconds_are_shown_as_rfc3339_utc_in_the_text_report() {
    let out = analyze(&epoch(), &[]);
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (1, TEXT_UTC, ""));
    // TZ set to the empty string is UTC too.
    let out = Errwatch::new(&["analyze", "s.csv", "--no-heatmap"])
        .args(&FLAGS)
        .env("TZ", "")
        .file("s.csv", epoch())
        .run();
    assert_eq!(out.stdout, TEXT_UTC);
}

#[test]
fn the_time_zone_comes_from_the_flag_its_variable_or_tz() {
    // Paris is UTC+1 in December.
    let paris = TEXT_UTC.replace("T15:5", "T16:5").replace("Z", "+01:00");
    let out = analyze(&epoch(), &["--time-zone", "Europe/Paris"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, paris.as_str()), "{}", out.stderr);
    // A POSIX TZ string needs no time zone database.
    let run = |var: &str, value: &str| {
        Errwatch::new(&["analyze", "s.csv", "--no-heatmap"])
            .args(&FLAGS)
            .env(var, value)
            .file("s.csv", epoch())
            .run()
            .stdout
    };
    assert_eq!(run("TZ", "CET-1CEST,M3.5.0,M10.5.0/3"), paris);
    assert_eq!(run("ERRWATCH_TIME_ZONE", "+01:00"), paris);
    // The flag wins over TZ.
    let out = Errwatch::new(&["analyze", "s.csv", "--no-heatmap", "--time-zone", "UTC"])
        .args(&FLAGS)
        .env("TZ", "Asia/Tokyo")
        .file("s.csv", epoch())
        .run();
    assert_eq!(out.stdout, TEXT_UTC);
    // India: +05:30, so 15:53:56Z is 21:23:56.
    let india = analyze(&epoch(), &["--time-zone", "+05:30"]).stdout;
    assert!(india.contains("Start Timestamp: 2026-12-01T21:23:56+05:30\n"), "{india}");
}

#[test]
fn an_invalid_time_zone_is_an_error_naming_it() {
    for (flag, env, says) in [
        (Some("Mars/Olympus"), None, "errwatch: --time-zone \"Mars/Olympus\": unknown time zone: "),
        (Some("+25:00"), None, "errwatch: --time-zone \"+25:00\": unknown time zone: "),
        (None, Some("Atlantis"), "errwatch: TZ=\"Atlantis\": unknown time zone: "),
    ] {
        let mut run = Errwatch::new(&["analyze", "s.csv", "--no-heatmap"]).file("s.csv", epoch());
        if let Some(zone) = flag {
            run = run.args(&["--time-zone", zone]);
        }
        if let Some(tz) = env {
            run = run.env("TZ", tz);
        }
        let out = run.run();
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
        assert!(out.stderr.starts_with(says), "{out:?}");
        assert!(out.stderr.contains("an IANA name such as Europe/Paris"), "{out:?}");
    }
}

#[test]
fn offsets_are_shown_as_written_whatever_the_zone() {
    let plain = analyze(&hms(), &[]);
    assert!(plain.stdout.contains("Start Timestamp: 0:01:40\n"), "{plain:?}");
    for extra in [&["--time-zone", "Europe/Paris"][..], &["--time-zone", "-08:00"]] {
        assert_eq!(analyze(&hms(), extra).stdout, plain.stdout, "{extra:?}");
    }
    let json: Value = serde_json::from_str(&analyze(&hms(), &["--format", "json"]).stdout).unwrap();
    let alert = &json["alerts"][0];
    // `start` is readable as it is: no `start_time`, and the document is as it always was.
    assert_eq!((&alert["start"], &alert.get("start_time")), (&"0:01:40".into(), &None));
    assert_eq!(json["time"].get("time_zone"), None);
    assert_eq!(json["time"].get("first_time"), None);
}

#[test]
fn json_keeps_the_seconds_and_adds_the_readable_times() {
    let out = analyze(&epoch(), &["--format", "json", "--time-zone", "-08:00"]);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    let alert = &json["alerts"][0];
    // The fields in the input's notation and in seconds are as they were.
    assert_eq!(alert["start"], (START + 100).to_string());
    assert_eq!(alert["start_s"], START + 100);
    assert_eq!(alert["start_time"], "2026-12-01T07:53:56-08:00");
    assert_eq!(alert["stop_time"], "2026-12-01T07:54:45-08:00");
    assert_eq!(alert["detected_at_time"], "2026-12-01T07:54:15-08:00");
    assert_eq!(alert["windows_start_time"], "2026-12-01T07:53:46-08:00");
    assert_eq!(alert["windows_stop_time"], "2026-12-01T07:54:55-08:00");
    let time = &json["time"];
    assert_eq!(time["notation"], "Unix epoch seconds");
    assert_eq!((&time["first_s"], &time["last_s"]), (&START.into(), &(START + 190).into()));
    assert_eq!(time["first_time"], "2026-12-01T07:52:16-08:00");
    assert_eq!(time["last_time"], "2026-12-01T07:55:26-08:00");
    assert_eq!(time["time_zone"], "-08:00");
    let quarter = &json["summary"]["traffic"]["first_quarter"];
    assert_eq!(quarter["start_time"], "2026-12-01T07:52:16-08:00");
    // JSON Lines' alert events carry them too.
    let out = analyze(&epoch(), &["--format", "jsonl"]);
    let first: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["type"], &first["start_time"]),
        (&"alert_started".into(), &"2026-12-01T15:53:56Z".into())
    );
}

#[test]
fn the_ci_formats_show_readable_times() {
    let markdown = analyze(&epoch(), &["--format", "markdown"]).stdout;
    assert!(
        markdown.contains(
            "| `Error_Code_7` | 2026-12-01T15:53:56Z | 2026-12-01T15:54:45Z | 2026-12-01T15:54:15Z | 10.00 |"
        ),
        "{markdown}"
    );
    let github = analyze(&epoch(), &["--format", "github"]).stdout;
    assert!(
        github.starts_with(
            "::error title=errwatch%3A Error_Code_7 increased::Error_Code_7 increased from \
             2026-12-01T15:53:56Z to 2026-12-01T15:54:45Z: value 10.00"
        ),
        "{github}"
    );
    assert!(github.contains("; detected at 2026-12-01T15:54:15Z; windows fired from "), "{github}");
    let junit = analyze(&epoch(), &["--format", "junit"]).stdout;
    assert!(junit.contains("Start Timestamp: 2026-12-01T15:53:56Z"), "{junit}");
}

#[test]
fn a_live_run_announces_alerts_in_readable_times() {
    let out = Errwatch::new(&["analyze", "-", "--follow", "--no-heatmap"])
        .args(&FLAGS)
        .stdin(epoch())
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with("Alert started: Error_Code_7 at 2026-12-01T15:54:15Z"),
        "{out:?}"
    );
    assert!(out.stdout.contains("Start Timestamp: 2026-12-01T15:53:56Z\n"), "{out:?}");
}

#[test]
fn the_heatmap_axis_is_labelled_in_readable_times() {
    let run =
        Errwatch::new(&["analyze", "s.csv", "--heatmap", "h.svg", "--time-zone", "Asia/Kolkata"])
            .args(&FLAGS)
            .file("s.csv", epoch());
    let out = run.run();
    assert_eq!(out.code, 1, "{out:?}");
    let svg = std::fs::read_to_string(run.path("h.svg")).unwrap();
    // 200 s from 21:22:16 local (+05:30); the labels are long, so the 20 columns have room for
    // one, at a round five minutes: 21:25:00.
    assert!(svg.contains(">\n2026-12-01T21:25:00+05:30\n</text>"), "{svg}");
    assert!(svg.contains("time (Asia/Kolkata)"), "the caption names the zone");
    assert!(!svg.contains(&START.to_string()), "no raw epoch label");
}

/// The alert's times from the stream's first second, its counts, and the first second itself.
fn relative_alert(out: &crate::util::Output) -> (Vec<i64>, u64, u64, i64) {
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let first = v["time"]["first_s"].as_i64().unwrap();
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{out:?}");
    let a = &alerts[0];
    let times = ["start_s", "stop_s", "detected_at_s", "windows_start_s", "windows_stop_s"]
        .map(|key| a[key].as_i64().unwrap() - first);
    (
        times.to_vec(),
        a["canary_count"].as_u64().unwrap(),
        a["baseline_count"].as_u64().unwrap(),
        first,
    )
}

#[test]
fn python_pandas_and_millisecond_timestamps_read_as_the_same_stream() {
    let json = ["--format", "json"];
    let (times, canary, baseline, first) = relative_alert(&analyze(&hms(), &json));
    assert_eq!((canary, baseline, first), (60, 6, 0));
    // START is 2026-12-01T15:52:16Z.
    let civil = |sep: char| {
        move |offset: i64| {
            let s = 15 * 3600 + 52 * 60 + 16 + offset;
            format!("2026-12-01{sep}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
    };
    let streams = [
        // Python's str(timedelta): a day and the time, quoted for its comma.
        (
            regression(|s| format!("\"1 day, {}:{:02}:{:02}\"", s / 3600, s / 60 % 60, s % 60)),
            86_400,
        ),
        // pandas and str(datetime): a space and no offset, read as UTC.
        (regression(civil(' ')), START),
        (regression(civil('T')), START),
        // Unix milliseconds, with a fraction of a second.
        (regression(|s| ((START + s) * 1000 + 250).to_string()), START),
    ];
    for (csv, start) in streams {
        let out = analyze(&csv, &json);
        assert_eq!(relative_alert(&out), (times.clone(), canary, baseline, start), "{out:?}");
    }
}
