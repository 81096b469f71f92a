//! A small slice of the detection benchmark, as a test: quiet on null streams, right on strong
//! regressions, and correct under unequal traffic and empty baseline windows.

use serde_json::Value;

use crate::util::Errwatch;

/// Generates a stream in `run`'s directory and returns its truth.
fn generate(run: &Errwatch, name: &str, flags: &[&str]) -> Value {
    let truth = format!("{name}.truth.json");
    let out = run.clone_with(&["generate", "-o", name, "--truth", &truth]).args(flags).run();
    assert_eq!(out.code, 0, "{out:?}");
    serde_json::from_str(&std::fs::read_to_string(run.path(&truth)).unwrap()).unwrap()
}

/// `errwatch analyze NAME --format json --no-heatmap FLAGS...` with the seed's parameters.
fn analyze(run: &Errwatch, name: &str, flags: &[&str]) -> (i32, Value) {
    let out = run
        .clone_with(&["analyze", name, "--format", "json", "--no-heatmap"])
        .args(&["--bins", "100", "--threshold", "1.25", "--threshold-bins", "5,10"])
        .args(flags)
        .run();
    assert!(matches!(out.code, 0 | 1 | 3), "{out:?}");
    (out.code, serde_json::from_str(&out.stdout).unwrap())
}

/// The code at frequency rank `rank` (1 = most frequent) in a truth file.
fn code_of_rank(truth: &Value, rank: u64) -> i64 {
    truth["codes"].as_array().unwrap().iter().find(|c| c["rank"] == rank).unwrap()["code"]
        .as_i64()
        .unwrap()
}

#[test]
fn bursty_null_streams_are_measured_as_bursty_and_almost_never_alert() {
    // A fifth of the events in client bursts (geometric sizes, mean 16, over up to 30 s): the
    // truth's dispersion is about 7, and before the dispersion-aware tests these six streams
    // raised 37 alerts with the rolling rule. The benchmark measures about 0.1 false alarms per
    // bursty null hour, so six streams allow two per rule.
    let run = Errwatch::new(&[]);
    let mut alerts = [0, 0];
    for seed in 1..=6 {
        let seed = seed.to_string();
        let truth =
            generate(&run, "b.csv", &["--seed", &seed, "--rows", "14000", "--bursts", "0.2:16:30"]);
        let stated = truth["bursts"]["dispersion"].as_f64().unwrap();
        for (slot, rule) in ["rolling", "sequential"].into_iter().enumerate() {
            let (_, report) = analyze(&run, "b.csv", &["--rule", rule]);
            alerts[slot] += report["alerts"].as_array().unwrap().len();
            let measured = report["summary"]["dispersion"]["stream"].as_f64().unwrap();
            assert!(stated / 2.0 < measured && measured < stated * 2.0, "{measured} vs {stated}");
        }
    }
    assert!(alerts[0] <= 2 && alerts[1] <= 2, "rolling, sequential: {alerts:?}");
}

#[test]
fn a_bursty_stream_is_said_on_stderr_and_in_each_alert() {
    let run = Errwatch::new(&[]);
    generate(&run, "b.csv", &["--seed", "6", "--rows", "14000", "--bursts", "0.2:16:30"]);
    let out = run.clone_with(&["analyze", "b.csv", "--no-heatmap", "--format", "json"]).run();
    assert!(
        out.stderr.contains("b.csv: the error counts vary 6.5 times as much as independent events"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("most dispersed: 0 (29.5), -7 (23.5)"), "{}", out.stderr);
    assert!(!out.stderr.contains("of the traffic"), "{}", out.stderr);
    assert!(out.stderr.contains("name that column (--unit-column NAME)"), "{}", out.stderr);
    // A small canary: the warning says that bursts weigh more there.
    generate(
        &run,
        "s.csv",
        &["--seed", "6", "--rows", "14000", "--bursts", "0.2:16:30", "--traffic", "0.1"],
    );
    let out = run
        .clone_with(&["analyze", "s.csv", "--no-heatmap", "--format", "json", "--traffic", "0.1"])
        .run();
    assert!(
        out.stderr.contains("with the canary at 10% of the traffic, a burst that lands on it"),
        "{}",
        out.stderr
    );
    // Independent events: no warning, and a dispersion of 1 in the summary.
    generate(&run, "p.csv", &["--seed", "6", "--rows", "14000"]);
    let out = run.clone_with(&["analyze", "p.csv", "--no-heatmap", "--format", "json"]).run();
    assert!(!out.stderr.contains("vary"), "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let stream = report["summary"]["dispersion"]["stream"].as_f64().unwrap();
    assert!(stream < 1.2, "{stream}");
}

#[test]
fn null_streams_raise_no_alert() {
    let run = Errwatch::new(&[]);
    for seed in 1..=5 {
        let seed = seed.to_string();
        generate(&run, "null.csv", &["--seed", &seed, "--rows", "14000"]);
        let (code, report) = analyze(&run, "null.csv", &[]);
        assert_eq!((code, report["alerts"].as_array().unwrap().len()), (0, 0), "seed {seed}");
    }
}

#[test]
fn strong_regressions_are_found_on_the_right_code_within_two_bins_of_their_start() {
    let run = Errwatch::new(&[]);
    for (seed, rank, start) in [(1u64, 1u64, 600u64), (2, 2, 1500), (3, 3, 2222), (4, 1, 3000)] {
        let ranks = generate(&run, "ranks.csv", &["--seed", &seed.to_string(), "--rows", "0"]);
        let code = code_of_rank(&ranks, rank);
        // x5 for ten minutes.
        let inject = format!("--inject={code}:{start}-{}:x5", start + 599);
        generate(&run, "s.csv", &["--seed", &seed.to_string(), "--rows", "14000", &inject]);
        let (exit, report) = analyze(&run, "s.csv", &[]);
        assert_eq!(exit, 1, "seed {seed}: {report}");
        let alerts = report["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1, "seed {seed}: {alerts:?}");
        assert_eq!(alerts[0]["code"], code);
        let found = alerts[0]["start_s"].as_i64().unwrap();
        assert!((found - start as i64).abs() <= 200, "seed {seed}: start {found}, truth {start}");
        let detected_at = alerts[0]["detected_at_s"].as_i64().unwrap();
        assert!(detected_at >= start as i64, "detected before it began");
    }
}

#[test]
fn unequal_traffic_is_normalized() {
    let run = Errwatch::new(&[]);
    // The canary serves 90% of users: without --traffic it has nine times the errors of the
    // baseline everywhere and every busy code alerts; told the split, nothing does, but the 10%
    // baseline is too small for codes -8 and -4 (among those with 80% of its events) to have
    // shown x2.50 (x2.53 and x2.90): inconclusive.
    generate(&run, "skewed.csv", &["--seed", "5", "--rows", "14000", "--traffic", "0.9"]);
    let (code, report) = analyze(&run, "skewed.csv", &[]);
    assert_eq!(code, 1);
    assert!(report["alerts"].as_array().unwrap().len() > 5, "{report}");
    let (code, report) = analyze(&run, "skewed.csv", &["--traffic", "0.9"]);
    assert_eq!((code, report["alerts"].as_array().unwrap().len()), (3, 0), "{report}");
    assert_eq!(report["verdict"], "inconclusive");

    // A 10% canary with a x5 regression of the most frequent code is found.
    let ranks = generate(&run, "ranks.csv", &["--seed", "6", "--rows", "0"]);
    let frequent = code_of_rank(&ranks, 1);
    let inject = format!("--inject={frequent}:1200-1799:x5");
    generate(&run, "small.csv", &["--seed", "6", "--rows", "14000", "--traffic", "0.1", &inject]);
    let (code, report) = analyze(&run, "small.csv", &["--traffic", "0.1"]);
    assert_eq!(code, 1, "{report}");
    let alerts = report["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["code"], frequent);
    assert_eq!(report["parameters"]["traffic"], 0.1);
}

#[test]
fn a_new_code_and_an_empty_baseline_window_have_infinite_values() {
    let run = Errwatch::new(&[]);
    generate(
        &run,
        "s.csv",
        &["--seed", "8", "--rows", "14000", "--new-code", "E_DISK:1800-2399:x6"],
    );
    let (code, report) = analyze(&run, "s.csv", &[]);
    assert_eq!(code, 1);
    let alerts = report["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["code"], "E_DISK");
    assert!(alerts[0]["value"].is_null());
    assert_eq!(alerts[0]["new_code"], true);
    assert_eq!(alerts[0]["baseline_count"], 0);
}

#[test]
fn a_burst_where_the_baseline_window_is_empty_is_not_called_a_new_code() {
    // Code 4 occurs in both builds in the first minute only; later the canary alone has a burst.
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for s in 0..60 {
        csv.push_str(&format!("0:00:{s:02},1.0,4\n0:00:{s:02},2.0,4\n"));
    }
    for s in 0..40 {
        csv.push_str(&format!("0:{:02}:{:02},2.0,4\n", 10 + s / 60, s % 60));
    }
    csv.push_str("0:20:00,1.0,9\n0:20:00,2.0,9\n");
    let out = Errwatch::new(&[
        "analyze",
        "s.csv",
        "--bins",
        "60",
        "--threshold-bins",
        "2",
        "--no-heatmap",
    ])
    .file("s.csv", csv)
    .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("Value: inf (no baseline events in the window)"), "{}", out.stdout);
    assert!(out.stdout.contains("Start Timestamp: 0:10:00"), "{}", out.stdout);
}

#[test]
fn the_sequential_rule_finds_the_bundled_regressions_with_intervals() {
    let csv = crate::util::repo().join("data/ErrorStreamSetA.csv");
    let run = Errwatch::new(&[]);
    let (code, report) = analyze(&run, csv.to_str().unwrap(), &["--rule", "sequential"]);
    assert_eq!(code, 1, "{report}");
    let alerts = report["alerts"].as_array().unwrap();
    let codes: Vec<i64> = alerts.iter().map(|a| a["code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [13, 3], "{alerts:?}");
    // Truth: code 13 tripled over 900..=1799, code 3 over 3120..=3599.
    for (alert, (start, end)) in alerts.iter().zip([(900, 1799), (3120, 3599)]) {
        let found = alert["start_s"].as_i64().unwrap();
        assert!((found - start).abs() <= 120, "{alert}");
        assert!(alert["detected_at_s"].as_i64().unwrap() > start, "{alert}");
        assert!(alert["stop_s"].as_i64().unwrap() >= end - 120, "{alert}");
        assert!(alert["window_bins"].is_null() && alert["p_value"].is_null());
        let interval = alert["ratio_interval"].as_array().unwrap();
        let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
        let value = alert["value"].as_f64().unwrap();
        assert!(1.0 < lo && lo < value && value < hi, "{alert}");
        assert!(lo < 3.0 && 3.0 < hi, "the injected factor lies in the interval: {alert}");
    }
    let gate = &report["summary"]["significance"];
    assert_eq!(gate["false_alarms_per_hour"], 0.05);
    assert_eq!(gate["alarm_bound"], 72_000.0);
}

#[test]
fn the_sequential_rule_stays_quiet_on_null_streams() {
    let run = Errwatch::new(&[]);
    for seed in 1..=5 {
        let seed = seed.to_string();
        generate(&run, "null.csv", &["--seed", &seed, "--rows", "140000"]);
        let (code, report) = analyze(&run, "null.csv", &["--rule", "sequential"]);
        assert_eq!((code, report["alerts"].as_array().unwrap().len()), (0, 0), "seed {seed}");
    }
}
