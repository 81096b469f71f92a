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
    ] {
        let mut full = vec!["generate"];
        full.extend_from_slice(args);
        let run = errwatch(&full, dir.path());
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}
