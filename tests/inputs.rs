//! Inputs other than the seed's CSV (issue 16): other column names, JSON lines with nested keys,
//! gzip, standard input. The same events in every form give the same report, byte for byte; bad
//! JSON lines get the CSV error contract (`FILE:LINE: what (the value)`, exit 2), and
//! `--skip-invalid` counts them by reason.

use std::io::Write;

use crate::util::{Errwatch, Output};

/// A generated stream with a regression of code 3 in the canary, as CSV.
fn generated_csv() -> String {
    let out = Errwatch::new(&[
        "generate",
        "--rows",
        "6000",
        "--duration",
        "3600",
        "--inject",
        "3:900-2700:x4",
        "--seed",
        "7",
    ])
    .run();
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

/// The CSV's rows as (timestamp, build, code).
fn rows(csv: &str) -> Vec<(String, String, String)> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Timestamp,Build_Version,Error_Code"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 3, "{line}");
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `errwatch analyze events --format json` on `contents` under the name `events` (so that the
/// reports, which name the input, can be compared), with `flags`.
fn report(contents: &[u8], flags: &[&str]) -> Output {
    let out = Errwatch::new(&["analyze", "events", "--no-heatmap", "--format", "json"])
        .file("events", contents)
        .args(flags)
        .run();
    assert_eq!(out.stderr, "", "{out:?}");
    out
}

#[test]
fn the_same_events_as_csv_renamed_csv_and_json_lines_give_the_same_report() {
    let csv = generated_csv();
    let rows = rows(&csv);
    assert_eq!(rows.len(), 6000);
    // Other names, another order, a column to ignore.
    let mut renamed = String::from("host,Code,time,release\n");
    // Nested keys, numeric codes, keys in another order, a key to skip.
    let mut jsonl = String::new();
    for (ts, build, code) in &rows {
        renamed.push_str(&format!("h1,{code},{ts},{build}\n"));
        jsonl.push_str(&format!(
            "{{\"error\":{{\"code\":{code},\"msg\":\"boom, \\\"quoted\\\"\"}},\"host\":\"h1\",\
             \"ts\":\"{ts}\",\"app\":{{\"version\":\"{build}\"}}}}\n"
        ));
    }
    let json_keys = ["--timestamp-column", "ts", "--build-column", "app.version"];
    let json_keys = [&json_keys[..], &["--code-column", "error.code"]].concat();

    let expected = report(csv.as_bytes(), &[]);
    assert_eq!(expected.code, 1, "the injected regression alerts: {expected:?}");
    let json: serde_json::Value = serde_json::from_str(&expected.stdout).unwrap();
    assert_eq!(json["rows"], 6000);
    assert!(json["alerts"].as_array().is_some_and(|a| !a.is_empty()), "{json}");
    assert!(json["alerts"].as_array().unwrap().iter().all(|a| a["code"] == 3), "{json}");

    let renamed_flags =
        ["--timestamp-column", "TIME", "--build-column", "release", "--code-column", "code"];
    for (case, contents, flags) in [
        ("renamed CSV", renamed.as_bytes().to_vec(), &renamed_flags[..]),
        ("JSON lines", jsonl.as_bytes().to_vec(), &json_keys[..]),
        ("gzip JSON lines", gzip(jsonl.as_bytes()), &json_keys[..]),
        ("gzip CSV", gzip(csv.as_bytes()), &[][..]),
    ] {
        let out = report(&contents, flags);
        assert_eq!(out.code, expected.code, "{case}");
        assert!(out.stdout == expected.stdout, "{case}: the report differs:\n{}", out.stdout);
    }

    // Standard input, read to its end and read live, names itself `<stdin>` in both forms.
    for live in [&[][..], &["--follow"][..]] {
        let run = |contents: &str, flags: &[&str]| {
            Errwatch::new(&["analyze", "-", "--no-heatmap", "--format", "json"])
                .args(live)
                .args(flags)
                .stdin(contents)
                .run()
        };
        let from_csv = run(&csv, &[]);
        let from_json = run(&jsonl, &json_keys);
        assert_eq!((from_csv.code, from_json.code), (1, 1), "{live:?}: {from_json:?}");
        assert!(from_csv.stdout == from_json.stdout, "{live:?}: {}", from_json.stdout);
    }
}

#[test]
fn json_lines_are_known_by_their_extension_and_read_with_the_default_keys() {
    // The seed's names as keys, any case; numbers as builds and codes are labels as written.
    let jsonl = "{\"timestamp\":\"0:00:01\",\"build_version\":1.9,\"error_code\":500}\n\
                 {\"TIMESTAMP\":\"0:00:01\",\"Build_Version\":\"1.10\",\"Error_Code\":\"500\",\"count\":4}\n";
    let out = Errwatch::new(&["aggregate", "x.ndjson"]).file("x.ndjson", jsonl).run();
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Timestamp,Build_Version,Error_Code,Count\n0:00:01,1.9,500,1\n0:00:01,1.10,500,4\n"),
        "{out:?}"
    );
    // By name even when the first line is blank; a `.jsonl.gz` is decompressed first.
    let out = Errwatch::new(&["aggregate", "x.jsonl.gz", "-q"])
        .file("x.jsonl.gz", gzip(format!("\n{jsonl}").as_bytes()))
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("0:00:01,1.10,500,4\n"), "{out:?}");
}

#[test]
fn number_timestamps_are_seconds_below_1e11_and_milliseconds_from_it() {
    let line = |ts: &str| format!("{{\"t\":{ts},\"b\":\"1.0\",\"c\":\"E\"}}\n");
    let aggregate = |text: String| {
        Errwatch::new(&["aggregate", "-", "-q", "--timestamp-column", "t"])
            .args(&["--build-column", "b", "--code-column", "c"])
            .stdin(text)
            .run()
    };
    // 1795860005 s = 1795860005000 ms; fractions are truncated toward the past.
    let seconds = aggregate(line("1795860005") + &line("1795860005.9") + &line("1795860006"));
    let millis =
        aggregate(line("1795860005000") + &line("1795860005999") + &line("1795860006000.5"));
    let expected = "Timestamp,Build_Version,Error_Code,Count\n\
                    1795860005,1.0,E,2\n1795860006,1.0,E,1\n";
    assert_eq!((seconds.code, seconds.stdout.as_str()), (0, expected), "{seconds:?}");
    assert_eq!((millis.code, millis.stdout.as_str()), (0, expected), "{millis:?}");
    // A number of the other unit after the first is refused, not guessed.
    let mixed = aggregate(line("1795860005000") + &line("1795860006"));
    assert_eq!((mixed.code, mixed.stdout.as_str()), (2, ""), "{mixed:?}");
    assert_eq!(
        mixed.stderr,
        "errwatch: <stdin>:2: number timestamps changed unit: the first were Unix milliseconds, \
         this one is read as seconds (numbers from 10^11 on are milliseconds) (\"1795860006\")\n"
    );
    // Strings keep the CSV notations.
    let text = aggregate(line("\"0:00:01.250\"") + &line("\"0:00:02\""));
    assert!(text.stdout.ends_with("0:00:01,1.0,E,1\n0:00:02,1.0,E,1\n"), "{text:?}");
}

/// Without flags, other exporters' names for the fields are found (CSV, JSON lines with nested
/// keys, the fast path and the reference one, a live read), said once on stderr, and give the
/// report the seed's names give.
#[test]
fn other_exporters_column_names_are_found_said_and_give_the_same_report() {
    let csv = generated_csv();
    let rows = rows(&csv);
    let expected = report(csv.as_bytes(), &[]);
    assert_eq!(expected.code, 1, "{expected:?}");
    let mut renamed = String::from("host,error_type,event_time,app_version\n");
    let mut jsonl = String::new();
    for (ts, build, code) in &rows {
        renamed.push_str(&format!("h1,{code},{ts},{build}\n"));
        jsonl.push_str(&format!(
            "{{\"ts\":\"{ts}\",\"app\":{{\"version\":\"{build}\"}},\"error\":{{\"code\":{code}}}}}\n"
        ));
    }
    let said = |columns: &str| {
        format!(
            "errwatch: events: reading {columns} (name others with --timestamp-column, \
             --build-column, --code-column)\n"
        )
    };
    let csv_said = said(
        "Timestamp from \"event_time\", Build_Version from \"app_version\", Error_Code from \"error_type\"",
    );
    // `error.code` is the seed's Error_Code spelled as a path: nothing to say of it.
    let json_said = said("Timestamp from \"ts\", Build_Version from \"app.version\"");
    for (case, contents, stderr) in [
        ("CSV", renamed.as_bytes().to_vec(), &csv_said),
        ("gzip CSV (the reference reader)", gzip(renamed.as_bytes()), &csv_said),
        ("JSON lines", jsonl.as_bytes().to_vec(), &json_said),
        ("gzip JSON lines", gzip(jsonl.as_bytes()), &json_said),
    ] {
        let out = Errwatch::new(&["analyze", "events", "--no-heatmap", "--format", "json"])
            .file("events", contents)
            .run();
        assert_eq!(&out.stderr, stderr, "{case}");
        assert_eq!((out.code, &out.stdout), (expected.code, &expected.stdout), "{case}");
    }
    // A live read says it once, before its alerts.
    let out = Errwatch::new(&["analyze", "-", "--no-heatmap", "--follow", "--format", "jsonl"])
        .stdin(renamed.into_bytes())
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.matches("reading Timestamp from \"event_time\"").count(), 1, "{out:?}");
    // A flag wins over any guess, and a guess never takes a column a flag named.
    let out = Errwatch::new(&["analyze", "events", "--no-heatmap", "--timestamp-column", "when"])
        .file("events", "when,time,version,code\n0:00:01,x,1.0,3\n")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("reading Build_Version from \"version\", Error_Code from \"code\"")
    );
    assert!(out.stderr.contains("cannot tell the baseline from the canary"), "{out:?}");
}

/// Tab-, semicolon- and bar-separated files (told by a header line without commas) give the
/// report the CSV gives.
#[test]
fn tab_semicolon_and_bar_separated_files_give_the_same_report() {
    let csv = generated_csv();
    let expected = report(csv.as_bytes(), &[]);
    assert_eq!(expected.code, 1, "{expected:?}");
    for delimiter in ["\t", ";", "|"] {
        let out = report(csv.replace(',', delimiter).as_bytes(), &[]);
        assert_eq!((out.code, &out.stdout), (expected.code, &expected.stdout), "{delimiter:?}");
    }
    // A header with a comma is CSV, whatever else its names hold.
    let out = Errwatch::new(&["analyze", "x.csv", "--no-heatmap", "--baseline", "1.0"])
        .file("x.csv", "Timestamp,Build_Version,Error_Code;x\n0:00:01,1.0,3\n0:00:02,2.0,3\n")
        .run();
    assert!(out.stderr.contains("missing required column Error_Code"), "{out:?}");
}

/// The seed's columns spelled otherwise (`Build Version`, `error-code`, `TIMESTAMP`) are found by
/// their letters and digits, and give the report the seed's spelling gives.
#[test]
fn the_seeds_columns_spelled_otherwise_give_the_same_report() {
    let csv = generated_csv();
    let expected = report(csv.as_bytes(), &[]);
    assert_eq!(expected.code, 1, "{expected:?}");
    for header in ["TIMESTAMP,Build Version,error-code", "time_stamp,BuildVersion,ErrorCode"] {
        let respelled = csv.replacen("Timestamp,Build_Version,Error_Code", header, 1);
        let out = report(respelled.as_bytes(), &[]);
        assert_eq!((out.code, &out.stdout), (expected.code, &expected.stdout), "{header}");
    }
}

#[test]
fn a_missing_column_or_key_lists_what_was_found() {
    let csv = "when,version,code\n0:00:01,1.0,3\n";
    let out = Errwatch::new(&["analyze", "x.csv", "--no-heatmap", "--build-column", "version"])
        .file("x.csv", csv)
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: x.csv:1: missing required column Timestamp (columns found: \"when\", \
         \"version\", \"code\")\n"
    );
    // A named count column is required.
    let out = Errwatch::new(&["aggregate", "x.csv", "--timestamp-column", "when"])
        .file("x.csv", csv)
        .args(&["--build-column", "version", "--code-column", "code", "--count-column", "n"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("missing required column n (columns found:"), "{out:?}");

    let jsonl = "{\"ts\":\"0:00:01\",\"app\":{\"name\":\"web\",\"ver\":\"1.0\"},\"code\":3}\n";
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap", "--timestamp-column", "ts"])
        .file("x.jsonl", jsonl)
        .args(&["--build-column", "app.version", "--code-column", "code"])
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: x.jsonl:1: missing key app.version (keys found: \"app.name\", \"app.ver\", \
         \"code\", \"ts\")\n"
    );
}

#[test]
fn files_in_other_formats_are_named_instead_of_missing_a_column() {
    for (file, contents, says) in [
        (
            "x.parquet",
            &b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00"[..],
            if cfg!(feature = "parquet") {
                "not a readable Parquet file"
            } else {
                "a Parquet file, which this errwatch was built without"
            },
        ),
        ("x.json", b"[{\"ts\":1}]\n", "a JSON array"),
        ("x.bin", b"\x00\x01\x02\x03\xfe\xff", "binary data"),
    ] {
        let out = Errwatch::new(&["analyze", file, "--no-heatmap"]).file(file, contents).run();
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{file}: {out:?}");
        assert!(out.stderr.starts_with(&format!("errwatch: {file}: {says}")), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    }
}

#[test]
fn a_bad_json_line_names_the_file_the_line_and_the_value() {
    let good = "{\"Timestamp\":\"0:00:01\",\"Build_Version\":\"1.0\",\"Error_Code\":\"3\"}\n";
    for (bad, says) in [
        (
            "{\"Timestamp\":\"0:00:02\",\"Build_Version\":\"1.0\",\"Error_Code\":\"3\"",
            "x.jsonl:3: malformed JSON at column 61: EOF while parsing an object (\"{\\\"Timestamp\\\"",
        ),
        ("\"0:00:02,1.0,3\"", "x.jsonl:3: not a JSON object (\"\\\"0:00:02,1.0,3\\\"\")"),
        (
            "{\"Timestamp\":\"0:61:00\",\"Build_Version\":\"1.0\",\"Error_Code\":\"3\"}",
            "x.jsonl:3: minutes must be below 60 in an H:MM:SS timestamp (\"0:61:00\")",
        ),
        (
            "{\"Timestamp\":\"0:00:02\",\"Build_Version\":true,\"Error_Code\":\"3\"}",
            "x.jsonl:3: Build_Version is not a string or a number (\"true\")",
        ),
        (
            "{\"Timestamp\":\"0:00:02\",\"Build_Version\":\"1.0\",\"Error_Code\":null}",
            "x.jsonl:3: empty Error_Code (null)",
        ),
        (
            "{\"Timestamp\":\"0:00:02\",\"Build_Version\":\"1.0\",\"Error_Code\":\"3\",\"Count\":-2}",
            "x.jsonl:3: Count must not be negative (\"-2\")",
        ),
    ] {
        let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap"])
            .file("x.jsonl", format!("{good}\n{bad}\n{good}"))
            .run();
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{bad}: {out:?}");
        assert!(out.stderr.starts_with(&format!("errwatch: {says}")), "{bad}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    }
    // A line over the line limit ends the read, as in CSV.
    let long = format!("{good}{{\"x\":\"{}\"}}\n", "y".repeat(2 << 20));
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap"]).file("x.jsonl", long).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: x.jsonl: cannot read: line 2 is longer than 1048576 bytes without a newline: \
         not JSON lines?\n"
    );
    // A field over the field limit is refused with its length.
    let wide = format!(
        "{{\"Timestamp\":\"0:00:01\",\"Build_Version\":\"{}\",\"Error_Code\":\"3\"}}\n",
        "v".repeat(5000)
    );
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap"]).file("x.jsonl", wide).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("errwatch: x.jsonl:1: Build_Version is longer than 4096 bytes")
            && out.stderr.contains("(5000 bytes)"),
        "{out:?}"
    );
}

#[test]
fn skipped_json_lines_are_counted_by_reason() {
    let row = |ts: &str, build: &str| {
        format!("{{\"Timestamp\":\"{ts}\",\"Build_Version\":\"{build}\",\"Error_Code\":\"3\"}}\n")
    };
    let text = [
        row("0:00:01", "1.0"),
        "{\"Timestamp\":\"0:00:02\",\n".into(),
        "{\"Timestamp\":\"0:00:02\",\"Error_Code\":\"3\"}\n".into(),
        "{\"Timestamp\":\"0:00:02\",\"Build_Version\":[2],\"Error_Code\":\"3\"}\n".into(),
        row("0:00:03", "2.0"),
        row("soon", "2.0"),
        "{\"Timestamp\":1,\"TIMESTAMP\":2,\"Build_Version\":\"1.0\",\"Error_Code\":\"3\"}\n".into(),
    ]
    .concat();
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap", "--skip-invalid"])
        .file("x.jsonl", &text)
        .args(&["--format", "json"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        json["summary"]["skipped"],
        serde_json::json!({
            "invalid": {"json": 2, "missing_key": 1, "field_type": 1, "timestamp": 1},
            "invalid_rows": 5,
            "repeated_headers": 0
        })
    );
    assert_eq!(json["rows"], 2);
    assert!(out.stderr.starts_with("errwatch: warning: x.jsonl: skipped 5 invalid row(s): "));
    assert!(out.stderr.contains("1 missing_key (first: x.jsonl:3: missing key Build_Version"));
    assert!(out.stderr.contains(
        "2 json (first: x.jsonl:2: malformed JSON at column 23: EOF while parsing a value"
    ));
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap"])
        .file("x.jsonl", [row("0:00:01", "1.0"), text.lines().last().unwrap().into()].concat())
        .run();
    assert_eq!(out.stderr, "errwatch: x.jsonl:2: the key Timestamp appears twice in the object\n");
}

#[test]
fn hostile_labels_in_json_lines_are_escaped_in_the_text_report() {
    let row = |ts: &str, build: &str, code: &str| {
        format!("{{\"ts\":\"{ts}\",\"b\":\"{build}\",\"c\":\"{code}\"}}\n")
    };
    let text = [
        row("0:00:01", "1.0", "3"),
        row("0:00:02", "2.0\\u001b[2J", "3"),
        row("0:00:03", "1.0", "E\\u001b]0;pwned\\u0007"),
    ]
    .concat();
    // The canary is named: a version with an escape in it is not ordered by version.
    let canary = "2.0\u{1b}[2J";
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap", "--color", "never"])
        .file("x.jsonl", &text)
        .args(&["--canary", canary])
        .args(&["--timestamp-column", "ts", "--build-column", "b", "--code-column", "c"])
        .run();
    assert!(!out.stdout.contains('\u{1b}') && !out.stderr.contains('\u{1b}'), "{out:?}");
    assert!(out.stdout.contains("canary 2.0\\x1b[2J"), "{out:?}");
    // JSON carries the exact bytes.
    let out = Errwatch::new(&["analyze", "x.jsonl", "--no-heatmap", "--format", "json"])
        .file("x.jsonl", &text)
        .args(&["--canary", canary])
        .args(&["--timestamp-column", "ts", "--build-column", "b", "--code-column", "c"])
        .run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["builds"]["canary"]["version"], "2.0\u{1b}[2J", "{json}");
}

#[test]
fn the_column_flags_have_environment_twins() {
    let csv = "time,release,code\n0:00:01,1.0,3\n0:00:02,2.0,3\n";
    let out = Errwatch::new(&["aggregate", "x.csv", "-q"])
        .file("x.csv", csv)
        .env("ERRWATCH_AGGREGATE_TIMESTAMP_COLUMN", "time")
        .env("ERRWATCH_AGGREGATE_BUILD_COLUMN", "release")
        .env("ERRWATCH_AGGREGATE_CODE_COLUMN", "code")
        .run();
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "Timestamp,Build_Version,Error_Code,Count\n0:00:01,1.0,3,1\n0:00:02,2.0,3,1\n"),
        "{out:?}"
    );
    let out = Errwatch::new(&["analyze", "x.csv", "--no-heatmap", "--format", "json"])
        .file("x.csv", csv)
        .env("ERRWATCH_TIMESTAMP_COLUMN", "time")
        .env("ERRWATCH_BUILD_COLUMN", "release")
        .env("ERRWATCH_CODE_COLUMN", "code")
        .run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["rows"], 2, "{out:?}");
}
