//! Tests of errwatch generate and the bundled data sets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use errwatch::input::timestamp::Notation;
use serde_json::Value;

/// The commands of data/README.md, verbatim.
const COMMAND_A: &str = "errwatch generate --seed 1 --rows 14000 --duration 1:00:00 --codes -17..15 --inject 3:0:52:00-0:59:59:x3 --inject 13:0:15:00-0:29:59:x3 --improve 12:0:30:00-0:44:59:x4 -o data/ErrorStreamSetA.csv --truth data/ErrorStreamSetA.truth.json";
const COMMAND_B: &str = "errwatch generate --seed 2 --rows 14000 --duration 1:00:00 --codes -3..13 --inject 10:0:10:00-0:24:59:x3 --new-code 14:0:40:00-0:54:59:x3 -o data/ErrorStreamSetB.csv --truth data/ErrorStreamSetB.truth.json";

const BASELINE: &str = "5.0007.510.011";
const CANARY: &str = "5.0007.610.011";

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn errwatch(args: &[&str], dir: &Path) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_errwatch"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run errwatch");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `errwatch generate ARGS` to standard output; panics unless it succeeds.
fn generate(args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut full = vec!["generate"];
    full.extend_from_slice(args);
    let run = errwatch(&full, dir.path());
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    run.stdout
}

/// `errwatch generate ARGS --truth T` to standard output; the stream and the parsed truth.
fn generate_with_truth(args: &[&str]) -> (Vec<u8>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.json");
    let mut full = vec!["generate", "--truth", truth.to_str().unwrap()];
    full.extend_from_slice(args);
    let run = errwatch(&full, dir.path());
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    let truth = serde_json::from_slice(&std::fs::read(truth).unwrap()).unwrap();
    (run.stdout, truth)
}

/// One data row.
#[derive(Debug)]
struct Row {
    timestamp: String,
    build: String,
    code: String,
}

fn rows(csv: &[u8]) -> Vec<Row> {
    let text = std::str::from_utf8(csv).expect("UTF-8");
    assert!(!text.contains('\r'), "\\n line endings only");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Timestamp,Build_Version,Error_Code"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 3, "{line}");
            Row { timestamp: fields[0].into(), build: fields[1].into(), code: fields[2].into() }
        })
        .collect()
}

/// The rank-1 code of a configuration (its ranks come from the seed and --codes alone).
fn code_of_rank(truth: &Value, rank: u64) -> i64 {
    truth["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rank"] == rank)
        .and_then(|c| c["code"].as_i64())
        .expect("a code of that rank")
}

/// Counts of `code` per build among rows whose H:MM:SS offset lies in `span`.
fn counts(rows: &[Row], code: &str, span: std::ops::RangeInclusive<i64>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for row in rows {
        let second = Notation::Offset.parse(&row.timestamp).unwrap();
        if row.code == code && span.contains(&second) {
            *out.entry(row.build.clone()).or_insert(0) += 1;
        }
    }
    out
}

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn bundled_data_sets_regenerate_byte_for_byte() {
    let root = project_root();
    let readme = std::fs::read_to_string(root.join("data/README.md")).unwrap();
    let out = tempfile::tempdir().unwrap();
    for (command, name, codes_range) in
        [(COMMAND_A, "ErrorStreamSetA", (-17, 15)), (COMMAND_B, "ErrorStreamSetB", (-3, 14))]
    {
        assert!(readme.contains(command), "data/README.md should show `{command}`");
        let csv_path = format!("data/{name}.csv");
        let truth_path = format!("data/{name}.truth.json");
        let fresh_csv = out.path().join(format!("{name}.csv"));
        let fresh_truth = out.path().join(format!("{name}.truth.json"));
        let args: Vec<&str> = command
            .split_whitespace()
            .skip(1)
            .map(|arg| {
                if arg == csv_path {
                    fresh_csv.to_str().unwrap()
                } else if arg == truth_path {
                    fresh_truth.to_str().unwrap()
                } else {
                    arg
                }
            })
            .collect();
        let run = errwatch(&args, &root);
        assert_eq!(run.code, 0, "{command}: {}", run.stderr);
        let bundled = std::fs::read(root.join(&csv_path)).unwrap();
        assert!(
            std::fs::read(&fresh_csv).unwrap() == bundled,
            "{csv_path} differs from `{command}`"
        );
        assert_eq!(
            std::fs::read_to_string(&fresh_truth).unwrap(),
            std::fs::read_to_string(root.join(&truth_path)).unwrap(),
            "{truth_path} differs from `{command}`"
        );

        // The shape the seed states of its data.
        let rows = rows(&bundled);
        assert_eq!(rows.len(), 14_000, "{name}");
        let seconds: Vec<i64> =
            rows.iter().map(|r| Notation::Offset.parse(&r.timestamp).unwrap()).collect();
        assert!(seconds.windows(2).all(|w| w[0] <= w[1]), "{name} is in time order");
        assert_eq!((seconds[0], *seconds.last().unwrap()), (0, 3600), "{name}");
        assert_eq!(
            (rows[0].timestamp.as_str(), rows[13_999].timestamp.as_str()),
            ("0:00:00", "1:00:00")
        );
        let builds: BTreeSet<&str> = rows.iter().map(|r| r.build.as_str()).collect();
        assert_eq!(builds, BTreeSet::from([BASELINE, CANARY]), "{name}");
        let codes: BTreeSet<i64> = rows.iter().map(|r| r.code.parse().unwrap()).collect();
        assert_eq!((*codes.first().unwrap(), *codes.last().unwrap()), codes_range, "{name}");
    }
}

#[test]
fn bundled_truth_files_describe_the_injections() {
    let root = project_root();
    let truth: Value = serde_json::from_slice(
        &std::fs::read(root.join("data/ErrorStreamSetA.truth.json")).unwrap(),
    )
    .unwrap();
    let first = &truth["injections"][0];
    assert_eq!(first["kind"], "regression");
    assert_eq!(first["code"], 3);
    assert_eq!((first["start_s"].as_u64(), first["end_s"].as_u64()), (Some(3120), Some(3599)));
    assert_eq!(first["factor"], 3.0);
    assert!(code_of_rank(&truth, 3) == 3, "code 3 is frequent in set A");

    // The regression of code 3 in set A is plain to see.
    let rows = rows(&std::fs::read(root.join("data/ErrorStreamSetA.csv")).unwrap());
    let span = counts(&rows, "3", 3120..=3599);
    assert!(span[CANARY] >= 2 * span[BASELINE], "{span:?}");

    let truth: Value = serde_json::from_slice(
        &std::fs::read(root.join("data/ErrorStreamSetB.truth.json")).unwrap(),
    )
    .unwrap();
    let kinds: Vec<&str> = truth["injections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["regression", "new_code"]);
}

#[test]
fn same_seed_and_flags_give_the_same_bytes() {
    let flags = ["--rows", "3000", "--seed", "42", "--inject", "-17:0:10:00-0:20:00:x5"];
    let a = generate(&flags);
    assert_eq!(a, generate(&flags));
    let mut other = flags;
    other[3] = "43";
    assert_ne!(a, generate(&other), "another seed gives another stream");
}

#[test]
fn file_output_equals_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let run = errwatch(&["generate", "--rows", "777", "-o", "out.csv"], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let file = std::fs::read(dir.path().join("out.csv")).unwrap();
    assert_eq!(file, generate(&["--rows", "777"]));
}

#[test]
fn row_count_is_exact() {
    for n in [0usize, 1, 2, 999, 14_001] {
        let n_text = n.to_string();
        let rows = rows(&generate(&["--rows", &n_text, "--duration", "600"]));
        assert_eq!(rows.len(), n);
    }
}

#[test]
fn timestamps_cover_the_duration_inclusive() {
    let rows = rows(&generate(&["--rows", "20000", "--duration", "0:05:00", "--start", "2:00:00"]));
    let seconds: BTreeSet<i64> =
        rows.iter().map(|r| Notation::Offset.parse(&r.timestamp).unwrap()).collect();
    // 66 events per second on average: every second of 2:00:00..=2:05:00 occurs.
    assert_eq!(seconds, (7200..=7500).collect());
}

#[test]
fn each_timestamp_notation_parses_back() {
    for (flags, notation, first, last) in [
        (&["--timestamps", "hms"][..], Notation::Offset, 0, 600),
        (&["--timestamps", "epoch"], Notation::Epoch, 1_795_305_600, 1_795_306_200),
        (
            &["--timestamps", "rfc3339"],
            Notation::Rfc3339 { offset_seconds: 0 },
            1_795_305_600,
            1_795_306_200,
        ),
        (
            &["--timestamps", "rfc3339", "--start", "2026-11-22T10:00:00+01:00"],
            Notation::Rfc3339 { offset_seconds: 3600 },
            1_795_305_600 + 9 * 3600,
            1_795_305_600 + 9 * 3600 + 600,
        ),
        (&["--timestamps", "epoch", "--start", "1000"], Notation::Epoch, 1000, 1600),
    ] {
        let mut args = vec!["--rows", "20000", "--duration", "600"];
        args.extend_from_slice(flags);
        let rows = rows(&generate(&args));
        let seconds: Vec<i64> = rows
            .iter()
            .map(|r| {
                assert_eq!(Notation::detect(&r.timestamp), Some(notation), "{}", r.timestamp);
                notation.parse(&r.timestamp).unwrap()
            })
            .collect();
        assert_eq!((seconds[0], *seconds.last().unwrap()), (first, last), "{flags:?}");
        assert!(seconds.windows(2).all(|w| w[0] <= w[1]));
    }
    let rows = rows(&generate(&[
        "--rows",
        "5",
        "--timestamps",
        "rfc3339",
        "--start",
        "2026-11-22T10:00:00+01:00",
    ]));
    assert!(
        rows.iter()
            .all(|r| r.timestamp.starts_with("2026-11-22T1") && r.timestamp.ends_with("+01:00"))
    );
}

#[test]
fn an_injection_raises_the_canary_in_its_span_only() {
    let (_, truth) = generate_with_truth(&["--seed", "9", "--rows", "0"]);
    let code = code_of_rank(&truth, 1).to_string();
    let spec = format!("{code}:0:20:00-0:29:59:x10");
    let (csv, truth) = generate_with_truth(&["--seed", "9", "--rows", "50000", "--inject", &spec]);
    let rows = rows(&csv);
    // About 50000 x 0.44 / 6 / 2 = 1800 baseline events of the rank-1 code in those 10 minutes.
    let inside = counts(&rows, &code, 1200..=1799);
    assert!(inside[BASELINE] > 500, "{inside:?}");
    assert!(inside[CANARY] >= 5 * inside[BASELINE], "{inside:?}");
    for span in [0..=1199, 1800..=3600] {
        let outside = counts(&rows, &code, span);
        let ratio = outside[CANARY] as f64 / outside[BASELINE] as f64;
        assert!((0.8..1.25).contains(&ratio), "{outside:?}");
    }
    let injection = &truth["injections"][0];
    assert_eq!(injection["kind"], "regression");
    assert_eq!(injection["code"].as_i64(), Some(code.parse().unwrap()));
    assert_eq!(
        (injection["start_s"].as_u64(), injection["end_s"].as_u64()),
        (Some(1200), Some(1799))
    );
    assert_eq!(injection["factor"], 10.0);
    let (b, c) = (
        injection["baseline_rate_per_hour"].as_f64().unwrap(),
        injection["canary_rate_per_hour"].as_f64().unwrap(),
    );
    assert!((c / b - 10.0).abs() < 1e-3, "{b} {c}");
}

#[test]
fn an_improvement_lowers_the_canary_in_its_span() {
    let (_, truth) = generate_with_truth(&["--seed", "4", "--rows", "0"]);
    let code = code_of_rank(&truth, 1).to_string();
    let spec = format!("{code}:600-1799:4");
    let (csv, truth) = generate_with_truth(&["--seed", "4", "--rows", "30000", "--improve", &spec]);
    let rows = rows(&csv);
    let inside = counts(&rows, &code, 600..=1799);
    assert!(2 * inside[CANARY] <= inside[BASELINE], "{inside:?}");
    assert!(inside[CANARY] > 0);
    let outside = counts(&rows, &code, 1800..=3600);
    let ratio = outside[CANARY] as f64 / outside[BASELINE] as f64;
    assert!((0.8..1.25).contains(&ratio), "{outside:?}");
    assert_eq!(truth["injections"][0]["kind"], "improvement");
    assert_eq!(truth["injections"][0]["factor"], 4.0);
}

#[test]
fn a_new_code_occurs_only_in_the_canary_within_its_span() {
    let (csv, truth) = generate_with_truth(&[
        "--rows",
        "60000",
        "--new-code",
        "99:0:10:00-0:19:59:x2",
        "--new-code",
        "E_NEW:3000-3600",
    ]);
    let rows = rows(&csv);
    for (code, span) in [("99", 600..=1199), ("E_NEW", 3000..=3600)] {
        let new: Vec<&Row> = rows.iter().filter(|r| r.code == code).collect();
        assert!(new.len() > 10, "{code}: {}", new.len());
        for row in new {
            assert_eq!(row.build, CANARY);
            assert!(span.contains(&Notation::Offset.parse(&row.timestamp).unwrap()), "{row:?}");
        }
    }
    let injections = truth["injections"].as_array().unwrap();
    assert_eq!(injections[0]["kind"], "new_code");
    assert_eq!(injections[0]["code"], 99);
    assert_eq!(injections[1]["code"], "E_NEW");
    assert_eq!(injections[0]["baseline_rate_per_hour"], 0.0);
    // The new code is not one of the base codes.
    assert!(truth["codes"].as_array().unwrap().iter().all(|c| c["code"] != 99));
}

#[test]
fn truth_has_every_field() {
    let (csv, truth) = generate_with_truth(&[
        "--seed",
        "5",
        "--rows",
        "1000",
        "--duration",
        "1800",
        "--codes=-2..3",
        "--traffic",
        "0.25",
        "--inject",
        "0:100-200:x2",
        "--timestamps",
        "epoch",
    ]);
    assert_eq!(rows(&csv).len(), 1000);
    for field in [
        "seed",
        "rows",
        "duration_s",
        "start",
        "timestamps",
        "builds",
        "baseline",
        "canary",
        "traffic",
        "codes",
        "injections",
    ] {
        assert!(truth.get(field).is_some(), "truth lacks {field}: {truth}");
    }
    assert_eq!(truth["seed"], 5);
    assert_eq!(truth["rows"], 1000);
    assert_eq!(truth["duration_s"], 1800);
    assert_eq!(truth["start"], "1795305600");
    assert_eq!(truth["timestamps"], "epoch");
    assert_eq!(truth["builds"], serde_json::json!([BASELINE, CANARY]));
    assert_eq!(
        (truth["baseline"].as_str(), truth["canary"].as_str()),
        (Some(BASELINE), Some(CANARY))
    );
    assert_eq!(truth["traffic"], 0.25);
    let codes = truth["codes"].as_array().unwrap();
    let listed: Vec<i64> = codes.iter().map(|c| c["code"].as_i64().unwrap()).collect();
    assert_eq!(listed, [-2, -1, 0, 1, 2, 3]);
    // Without injections, the base rates add up to all the rows: 1000 over 1801 s, per hour.
    let sum: f64 = codes.iter().map(|c| c["base_rate_per_hour"].as_f64().unwrap()).sum();
    assert!(sum < 1000.0 * 3600.0 / 1801.0 && sum > 1900.0, "{sum}");
    for field in ["kind", "code", "start_s", "end_s", "factor"] {
        assert!(truth["injections"][0].get(field).is_some(), "injection lacks {field}");
    }
}

#[test]
fn builds_split_the_traffic() {
    let csv = generate(&["--rows", "40000", "--builds", "1.0,1.1,1.2", "--traffic", "0.5"]);
    let mut per_build = BTreeMap::new();
    for row in rows(&csv) {
        *per_build.entry(row.build).or_insert(0u64) += 1;
    }
    assert_eq!(per_build.len(), 3);
    assert!((19_000..21_000).contains(&per_build["1.2"]), "{per_build:?}");
    assert!((9_300..10_700).contains(&per_build["1.0"]), "{per_build:?}");
    assert!((9_300..10_700).contains(&per_build["1.1"]), "{per_build:?}");

    let (csv, truth) =
        generate_with_truth(&["--rows", "100", "--builds", "only", "--inject", "3:0-10:x2"]);
    assert!(rows(&csv).iter().all(|r| r.build == "only"));
    assert_eq!(
        (truth["baseline"].as_str(), truth["canary"].as_str()),
        (Some("only"), Some("only"))
    );
}

#[test]
fn bad_flag_values_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (&["--inject", "3:0-10"][..], "--inject"),
        (&["--inject", "3:0-10:x0"], "--inject"),
        (&["--inject", "3:0:52:00-1:00:01:x2"], "--inject"),
        (&["--inject", "40:0-10:x2"], "--inject"),
        (&["--improve", "3:0-10:x-1"], "--improve"),
        (&["--new-code", "3:0-10"], "--new-code"),
        (&["--codes", "5..1"], "--codes"),
        (&["--codes", "1-5"], "--codes"),
        (&["--traffic", "1.5"], "--traffic"),
        (&["--traffic", "0"], "--traffic"),
        (&["--duration", "ten"], "--duration"),
        (&["--rows=-1"], "--rows"),
        (&["--seed", "x"], "--seed"),
        (&["--timestamps", "iso"], "--timestamps"),
        (&["--timestamps", "epoch", "--start", "0:00:00"], "--start"),
        (&["--builds", "a,a"], "--builds"),
        (&["--clients", "0"], "--clients 0"),
        (&["--clients=-3"], "--clients"),
        (&["--broken-clients", "2"], "--broken-clients '2': needs --clients"),
        (&["--clients", "40", "--broken-clients", "0"], "--broken-clients '0'"),
        (&["--clients", "40", "--broken-clients", "3:0"], "--broken-clients '3:0'"),
        (&["--clients", "40", "--broken-clients", "x"], "--broken-clients 'x'"),
        (&["--clients", "40", "--broken-clients", "41"], "--broken-clients '41'"),
        (&["--burst-codes", "uniform"], "--burst-codes uniform: needs --bursts"),
        (&["--bursts", "0.2:16", "--burst-codes", "zipf"], "--burst-codes"),
    ] {
        let mut full = vec!["generate"];
        full.extend_from_slice(args);
        let run = errwatch(&full, dir.path());
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

/// Per (code, build, second) event counts of an H:MM:SS stream.
fn cells(rows: &[Row]) -> BTreeMap<(String, String, i64), u64> {
    let mut out = BTreeMap::new();
    for row in rows {
        let second = Notation::Offset.parse(&row.timestamp).unwrap();
        *out.entry((row.code.clone(), row.build.clone(), second)).or_insert(0) += 1;
    }
    out
}

/// The share of the events that share their (code, build, second) with another event.
fn clustered_share(rows: &[Row]) -> f64 {
    let clustered: u64 = cells(rows).values().filter(|&&n| n >= 2).sum();
    clustered as f64 / rows.len() as f64
}

#[test]
fn bursts_cluster_their_events_in_the_asked_share() {
    // Ten hours of 4000 rows: single events of one code and build rarely share a second (the
    // busiest cell has 0.22 x 4000 / 36001 = 0.025 events a second, so about 11 of its events
    // share one by chance). With SPREAD 1 a burst's events all fall in its anchor second, so
    // every burst of two or more events is a cell with a count of two or more: geometric sizes of
    // mean 20 are single with chance 1/20, which hides 1/20 x 1/20 of the burst events, and the
    // clustered share is 0.5 x (1 - 1/400) = 0.499 plus the chance meetings (about 0.005).
    let base = ["--seed", "3", "--rows", "4000", "--duration", "36000"];
    let plain = rows(&generate(&base));
    let mut args = base.to_vec();
    args.extend(["--bursts", "0.5:20:1"]);
    let (csv, truth) = generate_with_truth(&args);
    let bursty = rows(&csv);
    assert_eq!(bursty.len(), 4000);
    assert!(clustered_share(&plain) < 0.01, "{}", clustered_share(&plain));
    let share = clustered_share(&bursty);
    assert!((0.485..0.515).contains(&share), "{share}");
    assert_eq!(truth["bursts"]["burst_events"], 2000);
    assert_eq!(truth["bursts"]["shape"], "geometric");
    assert_eq!(truth["bursts"]["spread_s"], 1);

    // A spread of 30 s: the events of a burst are no longer in one second, but many of a code and
    // build still fall within 30 s of each other. Count the events that have 9 more of their code
    // and build within the next 30 s: none in the plain stream (the busiest cell expects 0.75
    // events in 30 s; ten or more has a chance of about 1e-9 per event), many with bursts.
    let crowded = |rows: &[Row]| {
        let mut seconds: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
        for row in rows {
            let second = Notation::Offset.parse(&row.timestamp).unwrap();
            seconds.entry((&row.code, &row.build)).or_default().push(second);
        }
        seconds.values().map(|s| s.windows(10).filter(|w| w[9] - w[0] < 30).count()).sum::<usize>()
    };
    let mut args = base.to_vec();
    args.extend(["--bursts", "0.5:20:30"]);
    let spread = rows(&generate(&args));
    assert_eq!(crowded(&plain), 0);
    // 100 bursts; a geometric size of mean 20 is 10 or more with chance 0.95^9 = 0.63, and such a
    // burst of N events adds N - 9 windows: in all about 100 x 0.63 x 19 = 1200.
    assert!(crowded(&spread) > 600, "{}", crowded(&spread));
}

#[test]
fn null_bursts_land_on_the_canary_at_the_traffic_odds() {
    // 40000 rows, all in bursts of mean 8 and SPREAD 1: 5000 bursts, 7/8 of them of two or more
    // events, so about 4400 clustered cells. With traffic 0.2 each burst is the canary's with
    // chance 0.2: the canary's share of the clusters has a standard deviation of
    // sqrt(0.2 x 0.8 / 4400) = 0.006; the tolerance is 4 of them. (Bursts that meet in one cell
    // merge, rarely: 5000 bursts over 36001 s and 66 cells; with uniform burst codes each code
    // has 150 of them.) The same whether the bursts follow the code mix or not.
    for codes in ["mix", "uniform"] {
        let (csv, truth) = generate_with_truth(&[
            "--seed",
            "11",
            "--rows",
            "40000",
            "--duration",
            "36000",
            "--traffic",
            "0.2",
            "--bursts",
            "1:8:1",
            "--burst-codes",
            codes,
        ]);
        let rows = rows(&csv);
        let clusters: Vec<(String, String, i64)> =
            cells(&rows).into_iter().filter(|(_, n)| *n >= 2).map(|(k, _)| k).collect();
        assert!(clusters.len() > 4000, "{codes}: {}", clusters.len());
        let canary = clusters.iter().filter(|(_, build, _)| build == CANARY).count();
        let share = canary as f64 / clusters.len() as f64;
        assert!((share - 0.2).abs() < 0.024, "{codes}: {share} of {}", clusters.len());
        // Every event is in a burst: (1 - 1) + 1 x (2 x 8 - 1) = 15, for every code.
        assert_eq!(truth["bursts"]["dispersion"], 15.0);
        if codes == "uniform" {
            let by_code = truth["bursts"]["dispersion_by_code"].as_array().unwrap();
            assert_eq!(by_code.len(), 33);
            assert!(by_code.iter().all(|c| c["dispersion"] == 15.0), "{by_code:?}");
        }
    }
}

#[test]
fn bursty_counts_have_the_dispersion_the_truth_states() {
    // Variance over mean of one code's counts in one build, over 300 s windows (ten times the
    // spread), pooled over the five most frequent codes and both builds: 120 windows each. With
    // 0.2:16:30 the truth says (1 - 0.2) + 0.2 x 31 = 7; without bursts it is 1. A burst cut by a
    // window boundary (15 s of its 300 on average) lowers the figure by a few percent, and the
    // estimate from 1200 windows of a skewed count wanders by about 15%: accept 5 to 8.5, and
    // 0.8 to 1.2 for the Poisson stream.
    let base = ["--seed", "5", "--rows", "200000", "--duration", "36000"];
    let mut args = base.to_vec();
    args.extend(["--bursts", "0.2:16:30"]);
    let (csv, truth) = generate_with_truth(&args);
    assert_eq!(truth["bursts"]["dispersion"], 7.0);
    let top: Vec<String> = (1..=5).map(|rank| code_of_rank(&truth, rank).to_string()).collect();
    let dispersion = |rows: &[Row]| {
        let mut counts: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
        for row in rows.iter().filter(|r| top.contains(&r.code)) {
            let window = (Notation::Offset.parse(&row.timestamp).unwrap() / 300) as usize;
            let series = counts.entry((&row.code, &row.build)).or_insert_with(|| vec![0.0; 121]);
            series[window.min(119)] += 1.0;
        }
        let ratios: Vec<f64> = counts
            .values()
            .map(|series| {
                let series = &series[..120];
                let mean = series.iter().sum::<f64>() / 120.0;
                let var = series.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / 119.0;
                var / mean
            })
            .collect();
        assert_eq!(ratios.len(), 10);
        ratios.iter().sum::<f64>() / ratios.len() as f64
    };
    let bursty = dispersion(&rows(&csv));
    assert!((5.0..8.5).contains(&bursty), "{bursty}");
    let plain = dispersion(&rows(&generate(&base)));
    assert!((0.8..1.2).contains(&plain), "{plain}");
}

#[test]
fn a_regression_scales_the_canarys_bursts_too() {
    // All events in bursts; code of rank 1 regressed x5 over the second half. Its canary clusters
    // in the span outnumber the baseline's about 5 to 1 (traffic 0.5), and about 1 to 1 before.
    let (_, truth) = generate_with_truth(&["--seed", "8", "--rows", "0"]);
    let code = code_of_rank(&truth, 1).to_string();
    let spec = format!("{code}:18000-36000:x5");
    let csv = generate(&[
        "--seed",
        "8",
        "--rows",
        "20000",
        "--duration",
        "36000",
        "--bursts",
        "1:8:1",
        "--inject",
        &spec,
    ]);
    let rows = rows(&csv);
    let cells = cells(&rows);
    let clusters = |span: std::ops::Range<i64>, build: &str| {
        cells
            .iter()
            .filter(|((c, b, s), n)| *c == code && b == build && span.contains(s) && **n >= 2)
            .count() as f64
    };
    let before = clusters(0..18000, CANARY) / clusters(0..18000, BASELINE);
    let after = clusters(18000..36001, CANARY) / clusters(18000..36001, BASELINE);
    // About 300 baseline clusters per half: the ratios' standard errors are about 0.1 and 0.3.
    assert!((0.7..1.4).contains(&before), "{before}");
    assert!((3.8..6.5).contains(&after), "{after}");
}

/// Events per code among `rows`, and the canary's among them.
fn per_code(rows: &[Row]) -> BTreeMap<&str, (u64, u64)> {
    let mut out: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for row in rows {
        let entry = out.entry(row.code.as_str()).or_default();
        entry.0 += 1;
        entry.1 += u64::from(row.build == CANARY);
    }
    out
}

#[test]
fn uniform_burst_codes_give_every_code_an_equal_share_of_the_bursts() {
    // Every row a burst (SHARE 1) of one event (MEAN 1), so each row's code is one burst's: with
    // uniform codes each of the 33 codes gets Binomial(33000, 1/33) events, 1000 +- 31; within
    // 4.5 standard deviations (140) on all 33, where a uniform draw strays that far on one of
    // them with a chance of 2e-4. The canary's share of each code's is the traffic's, 0.2:
    // Binomial(1000, 0.2), 200 +- 13, within 4.5 of them (57). With the bursts following the
    // code mix, the code of rank 12 has 12^-1.5 / sum(k^-1.5, k = 1..33) = 1.06% of the rows
    // (sum 2.27), 350 events, and every rarer code fewer: none reaches 500.
    let args = ["--seed", "21", "--rows", "33000", "--duration", "36000", "--traffic", "0.2"];
    let mut uniform = args.to_vec();
    uniform.extend(["--bursts", "1:1:1", "--burst-codes", "uniform"]);
    let (csv, truth) = generate_with_truth(&uniform);
    let uniform_rows = rows(&csv);
    let counts = per_code(&uniform_rows);
    assert_eq!(counts.len(), 33);
    for (code, &(events, canary)) in &counts {
        assert!((860..=1140).contains(&events), "code {code}: {events}");
        let expected = 0.2 * events as f64;
        assert!((canary as f64 - expected).abs() <= 57.0, "code {code}: {canary} of {events}");
    }
    assert_eq!(truth["bursts"]["codes"], "uniform");
    // The truth's rates are those of the draw: 1000 events per code over 36001 s, per hour.
    for code in truth["codes"].as_array().unwrap() {
        assert_eq!(code["base_rate_per_hour"], 99.997, "{code}");
    }
    let mut mix = args.to_vec();
    mix.extend(["--bursts", "1:1:1"]);
    let (csv, truth) = generate_with_truth(&mix);
    let mix_rows = rows(&csv);
    let counts = per_code(&mix_rows);
    for rank in 12..=33 {
        let code = code_of_rank(&truth, rank).to_string();
        let events = counts.get(code.as_str()).map_or(0, |&(events, _)| events);
        assert!(events < 500, "rank {rank}, code {code}: {events}");
    }
}

#[test]
fn a_regression_tilts_its_codes_uniform_bursts_towards_the_canary() {
    // Every row a burst of one event, codes uniform: the rarest code gets 200000 / 33 = 6060
    // events, 3030 a half. Regressed x5 over the second half, its canary's odds against the
    // baseline go from 1 to 5: 505 baseline and 2525 canary events there, about 1515 each
    // before. The ratios' logarithms have standard deviations of sqrt(1/505 + 1/2525) = 0.049
    // and sqrt(2/1515) = 0.036; the tolerances are 4 of them. The code keeps its share of the
    // bursts: the regression moves them to the canary rather than adding any, so the truth's
    // canary and baseline rates in the span add up to the code's base rate, but for the 0.5% by
    // which a second of the span outweighs one outside it (4 x the canary's 0.12% of the weight),
    // so that a burst is anchored there a little more often.
    let (_, truth) = generate_with_truth(&["--seed", "8", "--rows", "0"]);
    let rarest = code_of_rank(&truth, 33);
    let code = rarest.to_string();
    let spec = format!("{code}:18000-36000:x5");
    let (csv, truth) = generate_with_truth(&[
        "--seed",
        "8",
        "--rows",
        "200000",
        "--duration",
        "36000",
        "--bursts",
        "1:1:1",
        "--burst-codes",
        "uniform",
        "--inject",
        &spec,
    ]);
    let rows = rows(&csv);
    let events = |span| {
        let counts = counts(&rows, &code, span);
        counts[CANARY] as f64 / counts[BASELINE] as f64
    };
    let (before, after) = (events(0..=17999), events(18000..=36000));
    assert!((0.86..1.16).contains(&before), "{before}");
    assert!((4.1..6.1).contains(&after), "{after}");
    let injection = &truth["injections"][0];
    let (b, c) = (
        injection["baseline_rate_per_hour"].as_f64().unwrap(),
        injection["canary_rate_per_hour"].as_f64().unwrap(),
    );
    assert!((c / b - 5.0).abs() < 1e-3, "{b} {c}");
    let base = truth["codes"].as_array().unwrap().iter().find(|c| c["code"] == rarest);
    let base = base.unwrap()["base_rate_per_hour"].as_f64().unwrap();
    assert!(((b + c) / base - 1.0).abs() < 0.01, "{b} + {c} against {base}");
}

#[test]
fn uniform_burst_codes_truth_states_each_codes_dispersion() {
    // Three codes, 1000 rows, 300 of them in geometric bursts of mean 4 (E[N^2] / E[N] =
    // 2 x 4 - 1 = 7). The 700 single events follow the mix k^-1.5: shares 1, 0.35355 and 0.19245
    // over their sum 1.54600, so S = 452.78, 160.08 and 87.14 events by rank; every code has
    // U = 300 / 3 = 100 burst events. D = (S + 7 U) / (S + U) = 1152.78 / 552.78 = 2.085,
    // 860.08 / 260.08 = 3.307 and 787.14 / 187.14 = 4.206. The stream's is their mean weighted
    // by S + U: (700 + 7 x 300) / 1000 = 2.8, as with the mix. The rates per hour are
    // (S + U) x 3600 / 3601: 552.627, 260.010 and 187.086 (with the mix, 646.649, 228.625 and
    // 124.448).
    let args = ["--seed", "3", "--rows", "1000", "--codes", "1..3", "--bursts", "0.3:4:10"];
    let mut uniform = args.to_vec();
    uniform.extend(["--burst-codes", "uniform"]);
    let (csv, truth) = generate_with_truth(&uniform);
    assert_eq!(rows(&csv).len(), 1000);
    let bursts = &truth["bursts"];
    assert_eq!(bursts["codes"], "uniform");
    assert_eq!(bursts["size_second_moment_ratio"], 7.0);
    assert_eq!(bursts["dispersion"], 2.8);
    let by_code = bursts["dispersion_by_code"].as_array().unwrap();
    let listed: Vec<&Value> = by_code.iter().map(|c| &c["code"]).collect();
    assert_eq!(listed, [1, 2, 3]);
    for (rank, dispersion, rate) in [(1, 2.085, 552.627), (2, 3.307, 260.010), (3, 4.206, 187.086)]
    {
        let code = code_of_rank(&truth, rank);
        let entry = by_code.iter().find(|c| c["code"] == code).unwrap();
        assert_eq!(entry["dispersion"], dispersion, "rank {rank}");
        let codes = truth["codes"].as_array().unwrap();
        let listed = codes.iter().find(|c| c["code"] == code).unwrap();
        assert_eq!(listed["base_rate_per_hour"], rate, "rank {rank}");
    }
    let (_, mix) = generate_with_truth(&args);
    assert_eq!(mix["bursts"]["dispersion"], 2.8);
    assert!(mix["bursts"].get("dispersion_by_code").is_none());
    let mix_rate = |rank| {
        let code = code_of_rank(&mix, rank);
        let codes = mix["codes"].as_array().unwrap();
        codes.iter().find(|c| c["code"] == code).unwrap()["base_rate_per_hour"].clone()
    };
    assert_eq!([mix_rate(1), mix_rate(2), mix_rate(3)], [646.649, 228.625, 124.448]);
}

#[test]
fn uniform_burst_codes_give_the_same_bytes_for_the_same_seed() {
    let flags = [
        "--seed",
        "42",
        "--rows",
        "5000",
        "--bursts",
        "0.3:8:60",
        "--burst-codes",
        "uniform",
        "--inject",
        "-17:0:10:00-0:20:00:x5",
        "--clients",
        "200",
    ];
    let a = generate(&flags);
    assert_eq!(a, generate(&flags));
    let mut mix = flags;
    mix[7] = "mix";
    assert_ne!(a, generate(&mix), "the burst codes change the stream");
    let mut other = flags;
    other[1] = "43";
    assert_ne!(a, generate(&other), "another seed gives another stream");
}

#[test]
fn the_pareto_shape_has_the_same_mean_and_a_heavier_tail() {
    let (csv, truth) = generate_with_truth(&[
        "--rows",
        "20000",
        "--duration",
        "36000",
        "--bursts",
        "1:16:1",
        "--burst-shape",
        "pareto",
    ]);
    let bursts = &truth["bursts"];
    assert_eq!(bursts["shape"], "pareto");
    assert_eq!(bursts["tail_index"], 1.5);
    assert_eq!(bursts["max_size"], 1600);
    assert!((bursts["size_mean"].as_f64().unwrap() - 16.0).abs() < 0.01, "{bursts}");
    // A geometric size of mean 16 has E[N^2] / E[N] = 31; the Pareto one far more.
    assert!(bursts["dispersion"].as_f64().unwrap() > 100.0, "{bursts}");
    let sizes: Vec<u64> = cells(&rows(&csv)).into_values().collect();
    // A burst of more than 200 events has chance about 1e-70 with a geometric size of mean 16,
    // and appears among the 1250 Pareto bursts (its chance there is about 2% each).
    assert!(sizes.iter().any(|&n| n > 200), "{:?}", sizes.iter().max());
    // Most bursts are smaller than the mean.
    let small = sizes.iter().filter(|&&n| n < 16).count();
    assert!(small * 2 > sizes.len(), "{small} of {}", sizes.len());
}

#[test]
fn without_bursts_or_with_share_0_the_stream_is_the_default_one() {
    let default = generate(&["--rows", "3000"]);
    assert_eq!(default, generate(&["--rows", "3000", "--bursts", "0:16"]));
    assert_eq!(default, generate(&["--rows", "3000", "--bursts", "0:16", "--burst-codes=uniform"]));
    assert_eq!(default, generate(&["--rows", "3000", "--code-exponent", "1.5"]));
    let (_, truth) = generate_with_truth(&["--rows", "30"]);
    assert!(truth.get("bursts").is_none() && truth.get("code_exponent").is_none(), "{truth}");
    // `--burst-codes mix` is the default: the same stream, and a truth without the new fields.
    let bursty = ["--rows", "3000", "--bursts", "0.3:6:20"];
    let (csv, truth) = generate_with_truth(&bursty);
    let mut mix = bursty.to_vec();
    mix.extend(["--burst-codes", "mix"]);
    assert_eq!(csv, generate(&mix));
    let bursts = &truth["bursts"];
    assert!(
        bursts.get("codes").is_none() && bursts.get("dispersion_by_code").is_none(),
        "{bursts}"
    );
}

/// FNV-1a, 64 bits (Fowler, Noll, Vo): a fixed checksum, the same on every platform.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn bursty_streams_and_other_exponents_keep_their_bytes() {
    // The platform-independence contract covers the new options too: these checksums were taken
    // when they were written, and a change of the draws or of the arithmetic moves them. Change
    // them only on purpose, saying so in the commit.
    let base = ["--seed", "4", "--rows", "5000", "--duration", "600", "--bursts", "0.3:6:20"];
    for (extra, checksum) in [
        (["--burst-shape", "geometric", "--code-exponent", "0.8"], 0xd6ba_37a9_426a_00f0),
        (["--burst-shape", "pareto", "--code-exponent", "0.8"], 0xa27d_c51c_1f83_3d4a),
        (["--clients", "300", "--code-exponent", "1.5"], 0xe3b3_b0e9_e208_11ea),
        (["--burst-codes", "uniform", "--clients", "300"], 0x7c7d_eaae_813c_02f8),
    ] {
        let args: Vec<&str> = base.iter().chain(&extra).copied().collect();
        assert_eq!(fnv1a(&generate(&args)), checksum, "{extra:?}");
    }
}

#[test]
fn the_code_exponent_changes_the_mix() {
    // At exponent 1, rank k weighs 1/k of rank 1: rank 1 has 2 times rank 2's rate and 4 times
    // rank 4's (8 times at the default 1.5).
    let args = ["--seed", "6", "--rows", "100000", "--code-exponent", "1"];
    let (csv, truth) = generate_with_truth(&args);
    assert_eq!(truth["code_exponent"], 1.0);
    let rate = |rank| {
        let code = code_of_rank(&truth, rank);
        truth["codes"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()
            ["base_rate_per_hour"]
            .as_f64()
            .unwrap()
    };
    assert!((rate(1) / rate(2) - 2.0).abs() < 1e-4, "{}", rate(1) / rate(2));
    assert!((rate(1) / rate(4) - 4.0).abs() < 1e-4, "{}", rate(1) / rate(4));
    // The rows follow: rank 1 has 100000 / H(33) = 24600 events (H(33) = 4.06), rank 4 6150.
    let rows = rows(&csv);
    let events = |rank| {
        let code = code_of_rank(&truth, rank).to_string();
        rows.iter().filter(|r| r.code == code).count() as f64
    };
    let ratio = events(1) / events(4);
    assert!((3.8..4.2).contains(&ratio), "{ratio}");
    let (_, default) = generate_with_truth(&["--seed", "6", "--rows", "100000"]);
    let default_rate = |rank| {
        let code = code_of_rank(&default, rank);
        default["codes"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()
            ["base_rate_per_hour"]
            .as_f64()
            .unwrap()
    };
    assert!((default_rate(1) / default_rate(4) - 8.0).abs() < 1e-3);
}

/// The rows of a stream with a client column: (second, build, code, client).
fn client_rows(csv: &[u8]) -> Vec<(i64, String, String, String)> {
    let text = std::str::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Timestamp,Build_Version,Error_Code,client_id"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 4, "{line}");
            let second = Notation::Offset.parse(f[0]).unwrap();
            (second, f[1].to_string(), f[2].to_string(), f[3].to_string())
        })
        .collect()
}

#[test]
fn clients_belong_to_one_build_and_a_burst_to_one_client() {
    // All events in bursts (SHARE 1) of mean 8 over up to 20 s, among a million clients: two
    // bursts share a client with a chance of about 1 in 2000 (2000 bursts, each drawing one of
    // the 500,000 clients of its build), so every client's events are one burst: one build, one
    // code, within 20 s.
    let args = ["--seed", "8", "--rows", "16000", "--bursts", "1:8:20", "--clients", "1000000"];
    let (csv, truth) = generate_with_truth(&args);
    assert_eq!(truth["clients"], serde_json::json!([500000, 500000]));
    let rows = client_rows(&csv);
    assert_eq!(rows.len(), 16000);
    let mut by_client: BTreeMap<&str, Vec<&(i64, String, String, String)>> = BTreeMap::new();
    for row in &rows {
        by_client.entry(&row.3).or_default().push(row);
    }
    // Each build's clients are its own range: c0..c499999 the baseline's, the rest the canary's.
    let baseline = &truth["baseline"];
    for (client, events) in &by_client {
        let number: u64 = client.strip_prefix('c').unwrap().parse().unwrap();
        let build = &events[0].1;
        assert_eq!(number < 500_000, baseline == build.as_str(), "{client} {build}");
    }
    let one_burst = by_client
        .values()
        .filter(|events| {
            let (first, last) = (events[0].0, events[events.len() - 1].0);
            events.iter().all(|e| e.1 == events[0].1 && e.2 == events[0].2) && last - first < 20
        })
        .count();
    assert!(one_burst + 2 >= by_client.len(), "{one_burst} of {}", by_client.len());
    // Bursts of mean 8: about 2000 clients for 16000 events.
    assert!((1700..2300).contains(&by_client.len()), "{}", by_client.len());

    // Without bursts, single events among a million clients are almost all from distinct ones
    // (16000 draws among 500,000 per build: about 256 repeats).
    let (csv, _) = generate_with_truth(&["--seed", "8", "--rows", "16000", "--clients", "1000000"]);
    let rows = client_rows(&csv);
    let distinct: BTreeSet<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    assert!(distinct.len() > 15_600, "{}", distinct.len());
}

#[test]
fn broken_clients_send_one_code_every_period_over_the_whole_stream() {
    // Six broken clients among 40, every 30 s over a 600 s stream: each sends its one code from
    // its one build at first_s, first_s + 30, ... up to 600, which is 20 or 21 events (21 when
    // it starts at 0); the rows stay exact, and the truth lists them.
    let args = [
        "--seed",
        "12",
        "--rows",
        "2000",
        "--duration",
        "600",
        "--clients",
        "40",
        "--broken-clients",
        "6:30",
    ];
    let (csv, truth) = generate_with_truth(&args);
    let rows = client_rows(&csv);
    assert_eq!(rows.len(), 2000);
    let broken = truth["broken_clients"].as_array().unwrap();
    assert_eq!(broken.len(), 6);
    let mut sent = 0;
    for b in broken {
        let first = b["first_s"].as_i64().unwrap();
        assert!((0..30).contains(&first), "{b}");
        let expected: Vec<i64> = (first..=600).step_by(30).collect();
        assert_eq!(b["events"].as_u64().unwrap(), expected.len() as u64, "{b}");
        assert_eq!(b["period_s"], 30);
        // Its rows of its code and build: at least those seconds (the client may also have
        // drawn single events, of any code).
        let code = b["code"].to_string();
        let (client, build) = (b["client"].as_str().unwrap(), b["build"].as_str().unwrap());
        let seconds: BTreeSet<i64> = rows
            .iter()
            .filter(|r| r.3 == client && r.2 == code && r.1 == build)
            .map(|r| r.0)
            .collect();
        assert!(expected.iter().all(|s| seconds.contains(s)), "{b}: {seconds:?}");
        // Its build is its client's: the baseline's clients are c0 to c19.
        let number: u64 = client.strip_prefix('c').unwrap().parse().unwrap();
        assert_eq!(number < 20, build == truth["baseline"].as_str().unwrap(), "{b}");
        sent += expected.len();
    }
    assert!(sent >= 120, "{sent}");
    // Without the flag the stream is another draw, but the same shape.
    let (plain, plain_truth) = generate_with_truth(&args[..8]);
    assert!(plain_truth.get("broken_clients").is_none());
    assert_eq!(client_rows(&plain).len(), 2000);
}

#[test]
fn a_client_column_changes_no_other_byte_of_the_stream() {
    // The clients are drawn from a random stream of their own, so the rows are those of the
    // stream without them, each with its client appended; a 10% canary gets 10% of the clients.
    let args = ["--seed", "9", "--rows", "3000", "--traffic", "0.1", "--bursts", "0.3:6:40"];
    let plain = String::from_utf8(generate(&args)).unwrap();
    let mut with = args.to_vec();
    with.extend(["--clients", "50"]);
    let (csv, truth) = generate_with_truth(&with);
    assert_eq!(truth["clients"], serde_json::json!([45, 5]));
    let text = String::from_utf8(csv).unwrap();
    let stripped: Vec<String> =
        text.lines().skip(1).map(|line| line.rsplit_once(',').unwrap().0.to_string()).collect();
    let plain: Vec<&str> = plain.lines().skip(1).collect();
    assert_eq!(stripped, plain);
}

#[test]
fn a_client_column_makes_a_crash_loop_of_minutes_harmless() {
    // Bursts of geometric size (mean 16) over up to five minutes, no regression: counted by
    // events, the dispersion estimate learns bursts of minutes too late and this stream raises
    // two false alarms; counted by clients (each once per code, build and bin), none.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("loops.csv");
    let csv = csv.to_str().unwrap();
    let made = errwatch(
        &["generate", "--seed", "1007", "--bursts", "0.2:16:300", "--clients", "20000", "-o", csv],
        dir.path(),
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let analyze = |extra: &[&str]| {
        let mut args = vec!["analyze", csv, "--no-heatmap", "--format", "json"];
        args.extend_from_slice(extra);
        let run = errwatch(&args, dir.path());
        let report: Value = serde_json::from_slice(&run.stdout).unwrap();
        (run.code, report)
    };
    let (code, by_events) = analyze(&["--unit-column", "none"]);
    assert_eq!((code, by_events["alerts"].as_array().unwrap().len()), (1, 2));
    let (code, by_clients) = analyze(&[]);
    assert_eq!(by_clients["unit_column"], "client_id");
    assert_eq!((code, by_clients["alerts"].as_array().unwrap().len()), (0, 0));
}

#[test]
fn bad_burst_values_exit_2_naming_the_flag_and_the_value() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (&["--bursts", "0.2:0.5"][..], "--bursts '0.2:0.5': MEAN 0.5 is not between 1 and 1000"),
        (&["--bursts", "2:16"], "--bursts '2:16': SHARE 2 is not between 0 and 1"),
        (&["--bursts", "0.2"], "--bursts '0.2': expected SHARE:MEAN[:SPREAD]"),
        (&["--bursts", "0.2:16:0"], "--bursts '0.2:16:0': SPREAD 0"),
        (
            &["--bursts", "a:16"],
            "--bursts 'a:16': expected SHARE:MEAN[:SPREAD], e.g. 0.2:16:30; SHARE 'a'",
        ),
        (&["--burst-shape", "pareto"], "--burst-shape pareto: needs --bursts"),
        (&["--bursts", "0.2:16", "--burst-shape", "zipf"], "--burst-shape"),
        (&["--code-exponent", "0.05"], "--code-exponent 0.05: the rank exponent must be between"),
    ] {
        let mut full = vec!["generate"];
        full.extend_from_slice(args);
        let run = errwatch(&full, dir.path());
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
    // The environment twins are read and refused the same way.
    for (variable, value, expected) in [
        ("ERRWATCH_GENERATE_BURSTS", "0.2:x", "--bursts '0.2:x'"),
        ("ERRWATCH_GENERATE_BURST_CODES", "uniform", "--burst-codes uniform: needs --bursts"),
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_errwatch"))
            .args(["generate", "--rows", "10"])
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(expected), "{variable}: {stderr}");
    }
}

mod properties {
    use errwatch::generate::{BurstCodes, BurstShape, Bursts, Config, generate};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Bursts never change the row count, the time order or the span, and the truth counts
        /// the burst rows exactly.
        #[test]
        fn bursts_preserve_the_exact_row_count(
            rows in 0u64..3000,
            share in 0.0f64..=1.0,
            mean in 1.0f64..60.0,
            spread_s in 1u64..120,
            duration_s in 0u64..400,
            pareto in any::<bool>(),
            uniform in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let shape = if pareto { BurstShape::Pareto } else { BurstShape::Geometric };
            let codes = if uniform { BurstCodes::Uniform } else { BurstCodes::Mix };
            let bursts = Bursts { share, mean, spread_s, shape, codes };
            let config = Config { seed, rows, duration_s, bursts: Some(bursts), ..Config::default() };
            let mut out = Vec::new();
            let truth = generate(config, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let seconds: Vec<i64> = text
                .lines()
                .skip(1)
                .map(|l| errwatch::input::timestamp::Notation::Offset.parse(l.split(',').next().unwrap()).unwrap())
                .collect();
            prop_assert_eq!(seconds.len() as u64, rows);
            prop_assert!(seconds.windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(seconds.iter().all(|&s| (0..=duration_s as i64).contains(&s)));
            let burst_events = truth.bursts.unwrap().burst_events;
            prop_assert_eq!(burst_events, (share * rows as f64).round() as u64);
        }
    }
}
