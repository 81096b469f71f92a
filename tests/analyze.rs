//! Tests of `errwatch analyze` on small fixture streams.

use crate::util::Errwatch;

const BASELINE: &str = "2.4.0";
const CANARY: &str = "2.10.0";

/// Per code, a function from bin to (baseline events, canary events).
type CodeCounts<'a> = (&'a str, &'a dyn Fn(usize) -> (usize, usize));

/// A stream of `bins` 10-second bins; `codes` gives, per code, a function from bin to
/// (baseline events, canary events). Events of a bin are stamped at its first second, H:MM:SS.
fn stream(bins: usize, codes: &[CodeCounts]) -> String {
    stream_with(bins, codes, |s| format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60))
}

fn stream_with(bins: usize, codes: &[CodeCounts], stamp: impl Fn(usize) -> String) -> String {
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for bin in 0..bins {
        for (code, counts) in codes {
            let (baseline, canary) = counts(bin);
            for _ in 0..baseline {
                csv.push_str(&format!("{},{BASELINE},{code}\n", stamp(bin * 10)));
            }
            for _ in 0..canary {
                csv.push_str(&format!("{},{CANARY},{code}\n", stamp(bin * 10)));
            }
        }
    }
    csv
}

/// Code 7 jumps from 2 to 20 canary events per bin in bins 10 to 14; code 9 stays at 2 and 2.
fn regression() -> String {
    stream(
        20,
        &[("7", &|bin| (2, if (10..15).contains(&bin) { 20 } else { 2 })), ("9", &|_| (2, 2))],
    )
}

const FLAGS: [&str; 5] = ["--bins", "10", "--threshold-bins", "3", "--no-heatmap"];

#[test]
fn a_regression_prints_the_seed_alert_block_and_exits_1() {
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", regression()).run();
    assert_eq!(out.code, 1, "{out:?}");
    // Each closing 10-second bin brings 0.05 x 10 / 3600 = 1.39e-4 to the budget, and what its
    // tests leave carries over. A window of 12 events (2 + 2 a bin) can reach 0.5^12 = 2.44e-4 at
    // best, so both codes' are tested together every fourth bin (5.56e-4 carried, 2.78e-4 each).
    // Bins 8-10 (C = 24, B = 6) are tested at 2.08e-4 (4.17e-4 carried: code 9's window reaches
    // all of it but not half, so two share it and only code 7's can use its half) and miss
    // (P(X >= 24 | 30, 1/2) = 7.15e-4); bins 9-11 (C = 42, B = 6, P = 5.04e-8) fire at 1.74e-4,
    // and so do the windows up to bins 13-15; bins 14-16 (24 against 6 again) do not. The largest
    // value is bins 10-12 and its neighbours at 60 / 6 = 10. Within the windows (bins 9-15), the
    // span of the increase is bins 10-14: with
    // q = 60.5 / 67 each of them scores 20 ln(2q) + 2 ln(2(1 - q)) > 0 and every other bin
    // 2 ln(2q) + 2 ln(2(1 - q)) < 0. The traffic check's cells are the codes in quarters of 5
    // bins: seven at 10 + 10 events and code 7's third at 100 + 10, so the median share is 0.5,
    // and its interval that of 10 of 20 events (Wilson, 0.2993 to 0.7007).
    let expected = "\
Alert: Mean Threshold Exceeded
Start Timestamp: 0:01:40
Stop Timestamp: 0:02:29
Error Code: Error_Code_7
Value: 10.00
Threshold: 1.25
    detected at 0:01:59; windows fired from 0:01:30 to 0:02:39; strongest window 3 bins x 10 s
    canary 60 events, baseline 6 events, p-value 1.4e-12

s.csv: 250 rows, canary 2.10.0 vs baseline 2.4.0, 2 codes in 20 bins of 10 s, rule rolling: 1 alert, regression
traffic: canary share of events 0.500 (0.299 to 0.701), consistent with --traffic 0.5
";
    assert_eq!(out.stdout, expected);
    assert_eq!(out.stderr, "");
}

#[test]
fn a_steady_stream_too_short_to_judge_exits_3() {
    // 40 and 30 baseline events over 200 s: a 30-second window expects 6 and 4.5, too few to
    // show x2.50 at the window's level.
    let csv = stream(20, &[("7", &|_| (2, 2)), ("9", &|bin| (3, bin % 4))]);
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", csv).run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stdout.contains("rule rolling: no alerts, inconclusive: could have seen x"),
        "{}",
        out.stdout
    );
}

#[test]
fn exit_zero_reports_without_failing() {
    let out = Errwatch::new(&["analyze", "s.csv", "--exit-zero"])
        .args(&FLAGS)
        .file("s.csv", regression())
        .run();
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Error_Code_7"));
}

#[test]
fn json_reports_every_alert_field() {
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
        .args(&FLAGS)
        .file("s.csv", regression())
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["input"], "s.csv");
    assert_eq!(v["rows"], 2 * 20 + (2 * 15 + 20 * 5) + 2 * 40);
    assert_eq!(v["builds"]["baseline"]["version"], BASELINE);
    assert_eq!(v["builds"]["canary"]["events"], 2 * 20 + 18 * 5 + 2 * 20);
    // 2 codes x 18 windows closed. Tested: both codes' windows of 12 at bins 3 and 7 (the budget
    // carried over four bins reaches 0.5^12 shared by two), code 7's at bins 10 to 16, where the
    // regression gives it 30 or more events (code 9's window reaches the budget but not half of
    // it, so two share it and only code 7's is tested). The last bin is one second long: the
    // budget carried into it reaches 0.5^12 but not shared by two.
    assert_eq!(v["summary"]["significance"]["windows"], 36);
    assert_eq!(v["summary"]["significance"]["windows_tested"], 11);
    assert_eq!(v["summary"]["significance"]["false_alarms_per_hour"], 0.05);
    let alert = &v["alerts"][0];
    assert_eq!(alert["code"], 7);
    assert_eq!(
        (alert["start"].as_str(), alert["stop"].as_str()),
        (Some("0:01:40"), Some("0:02:29"))
    );
    assert_eq!((alert["start_s"].as_i64(), alert["stop_s"].as_i64()), (Some(100), Some(149)));
    assert_eq!(
        (alert["windows_start"].as_str(), alert["windows_stop"].as_str()),
        (Some("0:01:30"), Some("0:02:39"))
    );
    assert_eq!(
        (alert["windows_start_s"].as_i64(), alert["windows_stop_s"].as_i64()),
        (Some(90), Some(159))
    );
    assert_eq!(alert["detected_at_s"], 119);
    assert_eq!(alert["window_bins"], 3);
    assert_eq!(alert["value"], 10.0);
    assert_eq!(
        (alert["canary_count"].as_u64(), alert["baseline_count"].as_u64()),
        (Some(60), Some(6))
    );
    let p = alert["p_value"].as_f64().unwrap();
    // P(X >= 60 | 66, 1/2) = sum_{k=60}^{66} C(66, k) / 2^66.
    assert!((p / 1.362_901_6e-12 - 1.0).abs() < 1e-6, "{p}");
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
}

#[test]
fn a_code_new_in_the_canary_has_no_finite_value() {
    let csv =
        stream(20, &[("7", &|_| (2, 2)), ("E_NEW", &|bin| (0, if bin >= 15 { 6 } else { 0 }))]);
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
        .args(&FLAGS)
        .file("s.csv", csv)
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let alert = &v["alerts"][0];
    assert_eq!(alert["code"], "E_NEW");
    assert!(alert["value"].is_null());
    assert_eq!(alert["new_code"], true);
    assert_eq!(alert["baseline_count"], 0);
}

#[test]
fn rows_in_any_order_and_any_notation_give_the_same_alerts() {
    let reference =
        Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", regression()).run();
    // Reverse the data rows.
    let text = regression();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    let reversed = lines.join("\r\n");
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", reversed).run();
    assert_eq!(out.stdout, reference.stdout);

    let codes: [CodeCounts; 2] =
        [("7", &|bin| (2, if (10..15).contains(&bin) { 20 } else { 2 })), ("9", &|_| (2, 2))];
    let epoch = stream_with(20, &codes, |s| (1_795_860_000 + s).to_string());
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
        .args(&FLAGS)
        .file("s.csv", epoch)
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["alerts"][0]["start"], "1795860100");
    assert_eq!(v["alerts"][0]["start_s"], 1_795_860_100i64);

    let rfc =
        stream_with(20, &codes, |s| format!("2026-11-22T11:{:02}:{:02}+01:00", s / 60, s % 60));
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
        .args(&FLAGS)
        .file("s.csv", rfc)
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["alerts"][0]["start"], "2026-11-22T11:01:40+01:00");
    assert_eq!(v["alerts"][0]["stop"], "2026-11-22T11:02:29+01:00");
}

#[test]
fn pre_aggregated_counts_equal_raw_events() {
    let raw = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", regression()).run();
    let mut counted = String::from("count,timestamp,error_code,build_version\n");
    for bin in 0..20 {
        let stamp = format!("0:{:02}:{:02}", bin * 10 / 60, bin * 10 % 60);
        let canary7 = if (10..15).contains(&bin) { 20 } else { 2 };
        counted.push_str(&format!("{canary7},{stamp},7,{CANARY}\n2,{stamp},7,{BASELINE}\n"));
        counted.push_str(&format!("2,{stamp},9,{CANARY}\n2,{stamp},9,{BASELINE}\n"));
    }
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", counted).run();
    assert_eq!(out.code, 1);
    // The alert blocks match; the summary line counts rows, which differ.
    let blocks = |s: &str| s.rsplit_once("\n\n").map(|(b, _)| b.to_string()).unwrap();
    assert_eq!(blocks(&out.stdout), blocks(&raw.stdout));
}

#[test]
fn stdin_is_read_with_a_dash() {
    let out = Errwatch::new(&["analyze", "-"]).args(&FLAGS).stdin(regression()).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("<stdin>: 250 rows"), "{}", out.stdout);
}

#[test]
fn the_seeds_rule_fires_on_noise_that_the_gate_ignores() {
    // Code 5 alternates between 6/3 and 3/6 per bin: pure noise around equal rates. Three-bin
    // means of the differential reach +1 every other window, so mean-diff with threshold 1 fires.
    let csv = stream(20, &[("5", &|bin| if bin % 2 == 0 { (3, 6) } else { (6, 3) })]);
    let flags = ["--bins", "10", "--threshold-bins", "3", "--threshold", "1"];
    let seed = Errwatch::new(&["analyze", "s.csv", "--rule", "mean-diff"])
        .args(&flags)
        .file("s.csv", csv.clone())
        .run();
    assert_eq!(seed.code, 1, "{seed:?}");
    assert!(seed.stdout.contains("Value: 1.00"), "{}", seed.stdout);
    let gated = Errwatch::new(&["analyze", "s.csv"]).args(&flags).file("s.csv", csv).run();
    assert_eq!(gated.code, 3, "{gated:?}"); // no alert; too few events to pass
}

#[test]
fn a_bad_row_names_the_file_and_line_and_exits_2() {
    let csv = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:02,2.0,3\n1:61:00,2.0,3\n";
    let out = Errwatch::new(&["analyze", "bad.csv"]).file("bad.csv", csv).run();
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "errwatch: bad.csv:4: minutes must be below 60 in an H:MM:SS timestamp (\"1:61:00\")\n"
    );
}

#[test]
fn three_builds_without_names_exit_2_listing_the_builds() {
    let csv = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:02,2.0,3\n0:00:03,3.0,3\n0:00:04,3.0,3\n";
    let out = Errwatch::new(&["analyze", "b.csv"]).file("b.csv", csv).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("3 builds seen (1.0 (1 rows), 2.0 (1 rows), 3.0 (2 rows))"),
        "{}",
        out.stderr
    );
    let named = Errwatch::new(&[
        "analyze",
        "b.csv",
        "--baseline",
        "1.0",
        "--canary",
        "3.0",
        "--format",
        "json",
    ])
    .file("b.csv", csv)
    .run();
    assert_eq!(named.code, 3, "{named:?}");
    let v: serde_json::Value = serde_json::from_str(&named.stdout).unwrap();
    assert_eq!(v["builds"]["ignored"][0]["version"], "2.0");
}

/// [`regression`] with the baseline named `old` and the canary `new`.
fn regression_between(old: &str, new: &str) -> String {
    regression()
        .replace(&format!(",{BASELINE},"), &format!(",{old},"))
        .replace(&format!(",{CANARY},"), &format!(",{new},"))
}

/// Text order put `3f9a2c1` before `b71e0d4`, so the old build became the canary and the
/// regression read as an improvement: 0 alerts, exit 0.
#[test]
fn git_sha_builds_are_never_ordered_as_text() {
    let csv = regression_between("b71e0d4", "3f9a2c1");
    let refused = "cannot tell which build is newer: \"b71e0d4\" and \"3f9a2c1\" are not both \
                   versions; name the new one with --canary (or the old one with --baseline)\n";
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", csv.clone()).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, format!("errwatch: s.csv: {refused}"));
    let live = Errwatch::new(&["analyze", "--follow", "-"]).args(&FLAGS).stdin(csv.clone()).run();
    assert_eq!(live.code, 2, "{live:?}");
    assert_eq!(live.stdout, "");
    assert!(live.stderr.ends_with(refused), "{}", live.stderr);

    for (flag, build, chosen_by) in
        [("--canary", "3f9a2c1", "named_canary"), ("--baseline", "b71e0d4", "named_baseline")]
    {
        let out = Errwatch::new(&["analyze", "s.csv", flag, build, "--format", "json"])
            .args(&FLAGS)
            .file("s.csv", csv.clone())
            .run();
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stderr, "");
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["builds"]["canary"]["version"], "3f9a2c1");
        assert_eq!(v["builds"]["baseline"]["version"], "b71e0d4");
        assert_eq!(v["builds"]["chosen_by"], chosen_by);
        assert_eq!(v["alerts"][0]["code"], 7);
        assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    }
}

/// `v2.0.0-rc1` was taken as newer than `v2.0.0`: a pre-release comes before its release.
#[test]
fn a_release_candidate_is_older_than_its_release() {
    let csv = regression_between("v2.0.0-rc1", "v2.0.0");
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
        .args(&FLAGS)
        .file("s.csv", csv)
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["builds"]["baseline"]["version"], "v2.0.0-rc1");
    assert_eq!(v["builds"]["canary"]["version"], "v2.0.0");
    assert_eq!(v["builds"]["chosen_by"], "version_order");
    assert_eq!(v["alerts"][0]["code"], 7);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
}

/// Builds labelled by their role (`baseline`/`canary`, `old`/`new`) take it, in batch and live
/// runs: the regression of the canary is found, not read as the baseline's improvement.
#[test]
fn builds_labelled_by_their_role_take_it() {
    for (baseline, canary) in [("baseline", "canary"), ("Old", "New"), ("stable", "3f9a2c1")] {
        let csv = regression_between(baseline, canary);
        let batch = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
            .args(&FLAGS)
            .file("s.csv", csv.clone())
            .run();
        let live = Errwatch::new(&["analyze", "--follow", "-", "--format", "json"])
            .args(&FLAGS)
            .stdin(csv)
            .run();
        for out in [batch, live] {
            assert_eq!(out.code, 1, "{out:?}");
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(v["builds"]["baseline"]["version"], baseline);
            assert_eq!(v["builds"]["canary"]["version"], canary);
            assert_eq!(v["builds"]["chosen_by"], "role_names");
            assert_eq!(v["alerts"][0]["code"], 7);
        }
    }
}

#[test]
fn names_and_equal_versions_are_refused_naming_both() {
    let out = Errwatch::new(&["analyze", "s.csv"])
        .args(&FLAGS)
        .file("s.csv", regression_between("blue", "green"))
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: s.csv: cannot tell which build is newer: \"blue\" and \"green\" are not both \
         versions; name the new one with --canary (or the old one with --baseline)\n"
    );
    let out = Errwatch::new(&["analyze", "s.csv"])
        .args(&FLAGS)
        .file("s.csv", regression_between("1.2.3+a", "1.2.3+b"))
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("\"1.2.3+a\" and \"1.2.3+b\" are the same version written differently"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_files_directories_and_bad_flags_exit_2() {
    let out = Errwatch::new(&["analyze", "nope.csv"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("errwatch: nope.csv: cannot open"), "{}", out.stderr);
    let out = Errwatch::new(&["analyze", "."]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is a directory"), "{}", out.stderr);
    let out = Errwatch::new(&["analyze", "s.csv", "--bins", "0"]).file("s.csv", regression()).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--bins"), "{}", out.stderr);
    let out = Errwatch::new(&["analyze", "s.csv", "--no-such-flag"]).run();
    assert_eq!(out.code, 2);
}

#[test]
fn a_closed_stdout_keeps_the_verdict() {
    // `errwatch analyze ... | true`: the reader is gone before the report is written.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.csv"), regression()).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_errwatch"))
        .args(["analyze", "s.csv"])
        .args(FLAGS)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Runs the seed's parameters on a bundled data set and checks the alerts against its truth file:
/// every injected regression or new code alerts on its code over a span that overlaps the
/// injection, and nothing else alerts.
fn bundled_set_alerts_match_truth(name: &str, bins: &str) {
    let repo = crate::util::repo();
    let csv = repo.join("data").join(format!("{name}.csv"));
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("data").join(format!("{name}.truth.json"))).unwrap(),
    )
    .unwrap();
    let out = Errwatch::new(&["analyze", csv.to_str().unwrap(), "--format", "json"])
        .args(&["--bins", bins, "--threshold", "1.25", "--threshold-bins", "5,10"])
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let alerts = report["alerts"].as_array().unwrap();
    let worse: Vec<&serde_json::Value> = truth["injections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] != "improvement")
        .collect();
    assert!(!worse.is_empty());
    let overlaps = |alert: &serde_json::Value, injection: &serde_json::Value| {
        alert["code"] == injection["code"]
            && alert["start_s"].as_i64() <= injection["end_s"].as_i64()
            && injection["start_s"].as_i64() <= alert["stop_s"].as_i64()
    };
    for injection in &worse {
        assert!(alerts.iter().any(|a| overlaps(a, injection)), "{name}: missed {injection}");
    }
    for alert in alerts {
        assert!(worse.iter().any(|i| overlaps(alert, i)), "{name}: false alert {alert}");
    }
}

#[test]
fn bundled_set_a_alerts_on_its_injected_regressions_only() {
    bundled_set_alerts_match_truth("ErrorStreamSetA", "100");
}

#[test]
fn bundled_set_b_alerts_on_its_injected_regressions_only() {
    bundled_set_alerts_match_truth("ErrorStreamSetB", "30");
}

/// Past the cap on codes compared one by one, the rarest codes are compared together as one
/// series, said on stderr and in the report's codes: a stream of fresh codes does not stop the
/// gate, nor does it hold a detector per code.
#[test]
fn codes_past_the_cap_are_folded_into_one_series_and_said() {
    let cap = errwatch::bins::MAX_COMPARED_CODES;
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for s in 0..600 {
        csv.push_str(&format!(
            "0:{:02}:{:02},{BASELINE},7\n0:{:02}:{:02},{CANARY},7\n",
            s / 60,
            s % 60,
            s / 60,
            s % 60
        ));
    }
    for i in 0..cap + 100 {
        csv.push_str(&format!("0:00:05,{BASELINE},fresh-{i}\n"));
    }
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json", "--no-heatmap"])
        .file("s.csv", csv)
        .run();
    assert!([0, 1, 3].contains(&out.code), "{}", out.stderr);
    let folded = cap + 100 + 1 - (cap - 1);
    assert!(
        out.stderr.contains(&format!(
            "{} distinct error codes, more than the {cap} compared one by one: the {} most \
             frequent are, and the other {folded} ({folded} events) are compared together as one \
             series, \"other ({folded} codes)\"",
            cap + 101,
            cap - 1
        )),
        "{}",
        out.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["summary"]["codes"], cap, "{}", report["summary"]);
}

/// Two events a year apart are a stream like any other: the counters hold its events, not its
/// seconds.
#[test]
fn events_a_year_apart_are_accepted() {
    let year = 365 * 86_400;
    let csv = format!(
        "Timestamp,Build_Version,Error_Code\n1700000000,{BASELINE},7\n1700000000,{CANARY},7\n\
         {},{BASELINE},7\n{},{CANARY},9\n",
        1_700_000_000 + year,
        1_700_000_000 + year
    );
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"]).file("s.csv", csv).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "inconclusive", "{report}");
}
