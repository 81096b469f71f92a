//! The three verdicts and their exit codes: a regression (1), a pass (0), and a run whose data
//! could not have shown a regression (inconclusive, 3).

use crate::util::{Errwatch, repo};

/// The analyze flags every test here uses.
const QUIET: [&str; 2] = ["--no-heatmap", "-q"];

/// The JSON report of an `analyze` run of `csv` named `s.csv`, with its exit code.
fn json(csv: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "json"])
        .args(&QUIET)
        .args(extra)
        .file("s.csv", csv)
        .run();
    assert_eq!(out.stderr, "", "{out:?}");
    (out.code, serde_json::from_str(&out.stdout).expect("one JSON document"))
}

/// `errwatch generate ARGS` to a string.
fn generate(args: &[&str]) -> String {
    let out = Errwatch::new(&["generate"]).args(args).run();
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

#[test]
fn a_two_minute_export_is_inconclusive_and_exits_3() {
    // 120 s are two 100-second bins: no window of 5 or 10 bins fits, so no code has a bound.
    let csv = generate(&["--rows", "500", "--duration", "120"]);
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&QUIET).file("s.csv", &csv).run();
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stderr, "");
    // The summary line, before the traffic line.
    let last = out.stdout.lines().rev().nth(1).unwrap();
    assert!(
        last.contains(": no alerts, inconclusive: could have seen nothing on code 12,"),
        "{last}"
    );
    assert!(
        last.ends_with("(at most x2.50 needed on the codes with 80% of baseline events)"),
        "{last}"
    );
    let (code, v) = json(&csv, &[]);
    assert_eq!(code, 3);
    assert_eq!(v["verdict"], "inconclusive");
    assert_eq!(v["summary"]["significance"]["windows_tested"], 0);
    assert_eq!(
        (v["summary"]["coverage"].clone(), v["summary"]["max_detectable"].clone()),
        (0.8.into(), 2.5.into())
    );
    let detectable = v["summary"]["detectable"].as_array().unwrap();
    assert_eq!(detectable.len(), v["summary"]["codes"].as_u64().unwrap() as usize);
    assert!(detectable.iter().all(|d| d["min_detectable_ratio"].is_null()), "{detectable:?}");
}

#[test]
fn exit_zero_turns_inconclusive_into_0() {
    let csv = generate(&["--rows", "500", "--duration", "120"]);
    for flags in [&["--exit-zero"][..], &[]] {
        let mut run =
            Errwatch::new(&["analyze", "s.csv"]).args(&QUIET).args(flags).file("s.csv", &csv);
        if flags.is_empty() {
            run = run.env("ERRWATCH_EXIT_ZERO", "true");
        }
        let out = run.run();
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("no alerts, inconclusive"), "{}", out.stdout);
    }
}

#[test]
fn bundled_set_a_is_a_regression_and_exits_1() {
    let path = repo().join("data/ErrorStreamSetA.csv");
    let out =
        Errwatch::new(&["analyze", path.to_str().unwrap(), "--format", "json"]).args(&QUIET).run();
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "regression");
    // Its busiest code (12, 3170 baseline events: 881 per 1000-second window) could have shown
    // the threshold itself; code 3 (645 events) the x1.50 of its injected regressions.
    let detectable = v["summary"]["detectable"].as_array().unwrap();
    assert_eq!(detectable[0]["code"], 12);
    assert_eq!(detectable[0]["baseline_events"], 3170);
    assert_eq!(detectable[0]["min_detectable_ratio"], 1.25);
    let code_3 = detectable.iter().find(|d| d["code"] == 3).unwrap();
    let mdr = code_3["min_detectable_ratio"].as_f64().unwrap();
    assert!((1.45..1.55).contains(&mdr), "{mdr}");
}

#[test]
fn a_long_null_stream_passes_and_exits_0() {
    let csv = generate(&["--seed", "1", "--rows", "140000"]);
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&QUIET).file("s.csv", &csv).run();
    assert_eq!(out.code, 0, "{out:?}");
    // The summary line, before the traffic line.
    let last = out.stdout.lines().rev().nth(1).unwrap();
    assert!(last.contains(": no alerts, pass: could have seen x1.25 on code 12, "), "{last}");
    let (code, v) = json(&csv, &[]);
    assert_eq!(code, 0);
    assert_eq!(v["verdict"], "pass");
    // The six codes with 80% of the baseline's events could each have shown at most x1.26.
    let detectable = v["summary"]["detectable"].as_array().unwrap();
    for d in &detectable[..6] {
        let mdr = d["min_detectable_ratio"].as_f64().unwrap();
        assert!((1.25..1.27).contains(&mdr), "{d}");
    }
}

#[test]
fn a_stricter_bound_makes_the_null_stream_inconclusive() {
    let csv = generate(&["--seed", "1", "--rows", "140000"]);
    // Every code could have shown x2.50 (the rarest, -11 and -15 with 181 and 176 baseline
    // events, x2.06 and x2.03), but not x2.
    let (code, v) = json(&csv, &["--coverage", "1"]);
    assert_eq!((code, v["verdict"].clone()), (0, "pass".into()));
    let (code, v) = json(&csv, &["--coverage", "1", "--max-detectable", "2"]);
    assert_eq!((code, v["verdict"].clone()), (3, "inconclusive".into()));
    // Code -10, the sixth, could have shown x1.26, not the threshold itself.
    let (code, v) = json(&csv, &["--max-detectable", "1.25"]);
    assert_eq!((code, v["verdict"].clone()), (3, "inconclusive".into()));
    let (code, _) = json(&csv, &["--max-detectable", "1.25", "--exit-zero"]);
    assert_eq!(code, 0);
}

#[test]
fn junit_skips_the_codes_an_inconclusive_run_could_not_judge() {
    let csv = generate(&["--rows", "500", "--duration", "120"]);
    let out = Errwatch::new(&["analyze", "s.csv", "--format", "junit"])
        .args(&QUIET)
        .file("s.csv", &csv)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stdout.contains(
            "<testcase name=\"Error_Code_12\" classname=\"errwatch\">\n      <skipped \
             message=\"inconclusive: could have seen nothing; x2.50 needed on the codes with 80% \
             of baseline events\"/>"
        ),
        "{}",
        out.stdout
    );
    let github = Errwatch::new(&["analyze", "s.csv", "--format", "github"])
        .args(&QUIET)
        .file("s.csv", &csv)
        .run();
    assert_eq!(github.code, 3);
    assert!(
        github.stdout.starts_with("::warning title=errwatch%3A inconclusive::"),
        "{}",
        github.stdout
    );
}
