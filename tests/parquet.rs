//! Parquet input: files written by the parquet crate and by DuckDB give the alerts of the CSV of
//! the same events; nulls, missing columns, corrupt files and streams give clear errors.

use std::process::Command;
use std::sync::Arc;

use errwatch::generate::{self, Config, Injection, Kind};
use errwatch::input::timestamp::Notation;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type, Int96, Int96Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::SchemaDescriptor;

use crate::util::Errwatch;

const ANALYZE: [&str; 3] = ["--format", "json", "--no-heatmap"];

/// A stream with a regression and a new code, as CSV in `notation`.
fn stream(notation: Notation) -> String {
    let config = Config {
        seed: 11,
        rows: 20_000,
        start: generate::DEFAULT_EPOCH_START,
        notation,
        injections: vec![
            Injection::parse(Kind::Regression, "3:0:20:00-0:29:59:x3").unwrap(),
            Injection::parse(Kind::NewCode, "E_NEW:0:40:00-0:50:00:x3").unwrap(),
        ],
        ..Config::default()
    };
    let mut out = Vec::new();
    generate::generate(config, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The events of an epoch-seconds CSV stream: (second, build, code).
fn events() -> Vec<(i64, String, String)> {
    stream(Notation::Epoch)
        .lines()
        .skip(1)
        .map(|line| {
            let mut fields = line.split(',');
            let second = fields.next().unwrap().parse().unwrap();
            (second, fields.next().unwrap().to_string(), fields.next().unwrap().to_string())
        })
        .collect()
}

/// One column's values, as the writer takes them; `None` is a null.
enum Values {
    Int64(Vec<Option<i64>>),
    Int32(Vec<Option<i32>>),
    Text(Vec<Option<String>>),
    /// Spark's legacy timestamps: nanoseconds of the day and the Julian day.
    Int96(Vec<Option<Int96>>),
}

/// Writes a Parquet file of `schema` with `columns` in that order, in row groups of `group_rows`.
fn write_parquet(schema: &str, columns: &[Values], group_rows: usize) -> Vec<u8> {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let descr = SchemaDescriptor::new(Arc::clone(&schema));
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(group_rows))
            .build(),
    );
    let mut out = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut out, schema, props).unwrap();
    let rows = columns.first().map_or(0, |values| match values {
        Values::Int64(v) => v.len(),
        Values::Int32(v) => v.len(),
        Values::Text(v) => v.len(),
        Values::Int96(v) => v.len(),
    });
    for start in (0..rows).step_by(group_rows) {
        let end = (start + group_rows).min(rows);
        let mut group = writer.next_row_group().unwrap();
        for (index, values) in columns.iter().enumerate() {
            let mut column = group.next_column().unwrap().unwrap();
            let optional = descr.column(index).max_def_level() > 0;
            fn split<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
                (
                    v.iter().flatten().cloned().collect(),
                    v.iter().map(|x| x.is_some() as i16).collect(),
                )
            }
            match values {
                Values::Int64(v) => {
                    let (dense, def) = split(&v[start..end]);
                    let def = optional.then_some(&def[..]);
                    column.typed::<Int64Type>().write_batch(&dense, def, None).unwrap();
                }
                Values::Int32(v) => {
                    let (dense, def) = split(&v[start..end]);
                    let def = optional.then_some(&def[..]);
                    column.typed::<Int32Type>().write_batch(&dense, def, None).unwrap();
                }
                Values::Int96(v) => {
                    let (dense, def) = split(&v[start..end]);
                    let def = optional.then_some(&def[..]);
                    column.typed::<Int96Type>().write_batch(&dense, def, None).unwrap();
                }
                Values::Text(v) => {
                    let (dense, def) = split(&v[start..end]);
                    let dense: Vec<ByteArray> =
                        dense.into_iter().map(|s| ByteArray::from(s.into_bytes())).collect();
                    let def = optional.then_some(&def[..]);
                    column.typed::<ByteArrayType>().write_batch(&dense, def, None).unwrap();
                }
            }
            column.close().unwrap();
        }
        group.close().unwrap();
    }
    writer.close().unwrap();
    out
}

fn builds_and_codes(events: &[(i64, String, String)]) -> [Values; 2] {
    [
        Values::Text(events.iter().map(|e| Some(e.1.clone())).collect()),
        Values::Text(events.iter().map(|e| Some(e.2.clone())).collect()),
    ]
}

/// The analysis of the CSV and of the Parquet file, with the input's name taken out (the one
/// field that names the file), are the same; their exit code.
fn same_analysis(csv: &str, parquet: &[u8], extra: &[&str]) -> i32 {
    let run = Errwatch::new(&["analyze", "events.csv"])
        .args(&ANALYZE)
        .args(extra)
        .file("events.csv", csv)
        .file("events.parquet", parquet);
    let from_csv = run.run();
    let from_parquet =
        run.clone_with(&["analyze", "events.parquet"]).args(&ANALYZE).args(extra).run();
    assert_eq!(
        (from_parquet.code, &from_parquet.stderr),
        (from_csv.code, &from_csv.stderr.replace("events.csv", "events.parquet")),
        "{from_parquet:?}"
    );
    assert!(from_csv.stdout.contains("\"input\": \"events.csv\""), "{}", from_csv.stdout);
    assert_eq!(
        from_parquet.stdout.replace("\"input\": \"events.parquet\"", "\"input\": \"events.csv\""),
        from_csv.stdout
    );
    from_csv.code
}

#[test]
fn timestamp_columns_of_every_unit_give_the_alerts_of_the_csv() {
    let events = events();
    let csv = stream(Notation::Rfc3339 { offset_seconds: 0 });
    for (unit, per_second, utc) in [
        ("MILLIS", 1_000, "true"),
        ("MICROS", 1_000_000, "false"),
        ("NANOS", 1_000_000_000, "true"),
    ] {
        let schema = format!(
            "message events {{ required int64 Timestamp (TIMESTAMP({unit},{utc})); \
             required binary Build_Version (STRING); required binary Error_Code (STRING); }}"
        );
        // A fraction of a second is floored, as in the CSV notations.
        let stamps = events.iter().map(|e| Some(e.0 * per_second + per_second / 2)).collect();
        let [builds, codes] = builds_and_codes(&events);
        let parquet = write_parquet(&schema, &[Values::Int64(stamps), builds, codes], 7_000);
        assert_eq!(same_analysis(&csv, &parquet, &[]), 1, "the stream has a regression");
    }
}

/// `TIME` columns (what DuckDB makes of `H:MM:SS`) are offsets, seconds since midnight.
#[test]
fn time_of_day_columns_give_the_alerts_of_the_offset_csv() {
    let events = events();
    let offset = |second: i64| second - generate::DEFAULT_EPOCH_START;
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for (second, build, code) in &events {
        let s = offset(*second);
        csv.push_str(&format!("{}:{:02}:{:02},{build},{code}\n", s / 3600, s / 60 % 60, s % 60));
    }
    for (unit, per_second) in [("MILLIS", 1_000), ("MICROS", 1_000_000), ("NANOS", 1_000_000_000)] {
        let physical = if unit == "MILLIS" { "int32" } else { "int64" };
        let schema = format!(
            "message events {{ required {physical} Timestamp (TIME({unit},false)); \
             required binary Build_Version (STRING); required binary Error_Code (STRING); }}"
        );
        // A fraction of a second is floored, as in the CSV notations.
        let stamps = events.iter().map(|e| offset(e.0) * per_second + per_second / 2);
        let stamps = if unit == "MILLIS" {
            Values::Int32(stamps.map(|s| Some(i32::try_from(s).unwrap())).collect())
        } else {
            Values::Int64(stamps.map(Some).collect())
        };
        let [builds, codes] = builds_and_codes(&events);
        let parquet = write_parquet(&schema, &[stamps, builds, codes], 7_000);
        assert_eq!(same_analysis(&csv, &parquet, &[]), 1, "{unit}: the stream has a regression");
    }
}

#[test]
fn spark_int96_timestamps_give_the_alerts_of_the_csv() {
    const JULIAN_DAY_OF_EPOCH: i64 = 2_440_588;
    let events = events();
    let stamps = events
        .iter()
        .map(|e| {
            // Half a second into the second, which is floored.
            let nanos = e.0.rem_euclid(86_400) as u64 * 1_000_000_000 + 500_000_000;
            let day = (e.0.div_euclid(86_400) + JULIAN_DAY_OF_EPOCH) as u32;
            let mut value = Int96::new();
            value.set_data(nanos as u32, (nanos >> 32) as u32, day);
            Some(value)
        })
        .collect();
    let [builds, codes] = builds_and_codes(&events);
    let schema = "message spark_schema { optional int96 Timestamp; optional binary Build_Version \
                  (STRING); optional binary Error_Code (STRING); }";
    let parquet = write_parquet(schema, &[Values::Int96(stamps), builds, codes], 20_000);
    let csv = stream(Notation::Rfc3339 { offset_seconds: 0 });
    assert_eq!(same_analysis(&csv, &parquet, &[]), 1, "the stream has a regression");
}

#[test]
fn integer_and_string_timestamps_give_the_alerts_of_the_csv() {
    let events = events();
    let [builds, codes] = builds_and_codes(&events);
    let seconds = Values::Int64(events.iter().map(|e| Some(e.0)).collect());
    let schema = "message events { required int64 ts; required binary b (STRING); \
                  required binary c (STRING); }";
    let parquet = write_parquet(schema, &[seconds, builds, codes], 9_000);
    let columns = ["--timestamp-column", "TS", "--build-column", "b", "--code-column", "c"];
    let csv = stream(Notation::Epoch).replacen("Timestamp,Build_Version,Error_Code", "ts,b,c", 1);
    assert_eq!(same_analysis(&csv, &parquet, &columns), 1, "the stream has a regression");

    // Milliseconds, by the magnitude rule of JSON lines numbers.
    let [builds, codes] = builds_and_codes(&events);
    let millis = Values::Int64(events.iter().map(|e| Some(e.0 * 1000 + 999)).collect());
    let parquet = write_parquet(schema, &[millis, builds, codes], 9_000);
    assert_eq!(same_analysis(&csv, &parquet, &columns), 1, "the stream has a regression");

    let rfc3339 = stream(Notation::Rfc3339 { offset_seconds: 0 });
    let texts = rfc3339.lines().skip(1).map(|l| Some(l.split(',').next().unwrap().to_string()));
    let [builds, codes] = builds_and_codes(&events);
    let schema = "message events { required binary Timestamp (STRING); \
                  required binary Build_Version (STRING); required binary Error_Code (STRING); }";
    let parquet = write_parquet(schema, &[Values::Text(texts.collect()), builds, codes], 20_000);
    assert_eq!(same_analysis(&rfc3339, &parquet, &[]), 1, "the stream has a regression");
}

#[test]
fn integer_codes_and_a_count_column_give_the_alerts_of_the_csv() {
    // The events with integer codes, as INT32 in an optional column without nulls, and a count
    // of 1 or 2 per row in both files.
    let events: Vec<_> = events().into_iter().filter(|e| e.2.parse::<i32>().is_ok()).collect();
    let count = |row: usize| 1 + row.is_multiple_of(3) as i64;
    let mut csv = String::from("Timestamp,Build_Version,Error_Code,Count\n");
    for (row, (second, build, code)) in events.iter().enumerate() {
        csv.push_str(&format!("{second},{build},{code},{}\n", count(row)));
    }
    let schema = "message events { required int64 Timestamp; required binary Build_Version (UTF8); \
                  optional int32 Error_Code; required int64 Count (INTEGER(64,true)); }";
    let columns = [
        Values::Int64(events.iter().map(|e| Some(e.0)).collect()),
        Values::Text(events.iter().map(|e| Some(e.1.clone())).collect()),
        Values::Int32(events.iter().map(|e| Some(e.2.parse().unwrap())).collect()),
        Values::Int64((0..events.len()).map(|row| Some(count(row))).collect()),
    ];
    let code = same_analysis(&csv, &write_parquet(schema, &columns, 5_000), &[]);
    assert!(matches!(code, 0 | 1), "{code}");
}

/// A small file: three rows, the second with a null code.
fn with_a_null() -> Vec<u8> {
    let schema = "message events { required int64 Timestamp (TIMESTAMP(MILLIS,true)); \
                  required binary Build_Version (STRING); optional binary Error_Code (STRING); }";
    let columns = [
        Values::Int64(vec![
            Some(1_795_860_000_000),
            Some(1_795_860_001_000),
            Some(1_795_860_002_000),
        ]),
        Values::Text(vec![Some("1.0".into()), Some("2.0".into()), Some("2.0".into())]),
        Values::Text(vec![Some("500".into()), None, Some("E_X".into())]),
    ];
    write_parquet(schema, &columns, 2)
}

#[test]
fn a_null_names_the_file_the_row_and_the_column() {
    let out = Errwatch::new(&["analyze", "x.parquet", "--no-heatmap"])
        .file("x.parquet", with_a_null())
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert_eq!(out.stderr, "errwatch: x.parquet: row 2: empty Error_Code (null)\n");
}

#[test]
fn a_null_is_skipped_and_counted_with_skip_invalid() {
    let out = Errwatch::new(&["analyze", "x.parquet", "--skip-invalid"])
        .args(&ANALYZE)
        .file("x.parquet", with_a_null())
        .run();
    assert!(matches!(out.code, 0 | 1 | 3), "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["rows"], 2, "{out:?}");
    let skipped = &report["summary"]["skipped"];
    assert_eq!(skipped["invalid_rows"], 1, "{out:?}");
    assert_eq!(skipped["invalid"]["empty_field"], 1, "{out:?}");
}

#[test]
fn a_missing_column_lists_the_columns_found() {
    let out = Errwatch::new(&["analyze", "x.parquet", "--no-heatmap", "--code-column", "code"])
        .file("x.parquet", with_a_null())
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: x.parquet: missing required column code (columns found: \"Timestamp\", \
         \"Build_Version\", \"Error_Code\")\n"
    );
}

#[test]
fn a_column_of_another_type_is_named_with_its_type() {
    let schema = "message events { required double Timestamp; required binary Build_Version; \
                  required binary Error_Code; }";
    let parquet = write_parquet(schema, &[], 1);
    let out =
        Errwatch::new(&["analyze", "x.parquet", "--no-heatmap"]).file("x.parquet", parquet).run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: x.parquet: column Timestamp is of type DOUBLE: expected a TIMESTAMP, a TIME, \
         an integer or a string\n"
    );
}

/// Cut or damaged anywhere, a file gives one line naming it and exit 2, never a panic.
#[test]
fn a_truncated_or_corrupt_file_is_an_error_naming_it() {
    let whole = with_a_null();
    let mut damaged: Vec<Vec<u8>> =
        (0..whole.len()).step_by(7).map(|n| whole[..n].to_vec()).collect();
    for at in (4..whole.len() - 4).step_by(5) {
        let mut bytes = whole.clone();
        bytes[at] ^= 0x5a;
        damaged.push(bytes);
    }
    for bytes in damaged {
        let out = Errwatch::new(&["analyze", "x.parquet", "--no-heatmap", "--skip-invalid"])
            .file("x.parquet", &bytes)
            .run();
        if out.code == 2 {
            assert!(out.stderr.starts_with("errwatch: x.parquet: "), "{out:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        } else {
            // A flipped bit in a value the format cannot check (a label's byte) is data.
            assert!(matches!(out.code, 0 | 1 | 3), "{out:?}");
        }
        assert!(!out.stderr.contains("panicked"), "{out:?}");
    }
}

#[test]
fn a_parquet_stream_on_stdin_or_followed_says_to_name_a_file() {
    let out = Errwatch::new(&["analyze", "-", "--no-heatmap"]).stdin(with_a_null()).run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert!(
        out.stderr.starts_with(
            "errwatch: <stdin>: a Parquet file, which errwatch reads only from a file named on \
             the command line and not with --follow"
        ),
        "{out:?}"
    );
    let out = Errwatch::new(&["analyze", "--follow", "x.parquet", "--no-heatmap"])
        .file("x.parquet", with_a_null())
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert!(
        out.stderr.contains("a Parquet file, which errwatch reads only from a file"),
        "{out:?}"
    );
}

/// DuckDB's `COPY ... TO 'x.parquet'` (snappy, a TIMESTAMP column, its own row groups and
/// encodings) gives the alerts of the CSV it was made from.
///
/// Without `duckdb` on the PATH the test fails, so that it never passes without checking: under
/// CI (`CI` set) always, elsewhere unless `ERRWATCH_TEST_SKIP_DUCKDB=1` says the skip is meant.
#[test]
fn a_duckdb_parquet_export_gives_the_alerts_of_the_csv() {
    if !crate::util::duckdb_or_skip() {
        return;
    }
    let csv = stream(Notation::Rfc3339 { offset_seconds: 0 });
    let run = Errwatch::new(&["analyze", "events.csv"]).args(&ANALYZE).file("events.csv", &csv);
    let from_csv = run.run();
    assert_eq!(from_csv.code, 1, "{from_csv:?}");
    // Integer codes become INTEGER where DuckDB can cast them; the labels stay strings in a
    // second file, so both column types are read.
    for (file, code) in [
        ("labels.parquet", "Error_Code"),
        ("integers.parquet", "TRY_CAST(Error_Code AS INTEGER) AS Error_Code"),
    ] {
        let filter = if file == "integers.parquet" {
            "WHERE TRY_CAST(Error_Code AS INTEGER) IS NOT NULL"
        } else {
            ""
        };
        let query = format!(
            "COPY (SELECT CAST(Timestamp AS TIMESTAMP) AS Timestamp, Build_Version, {code} \
             FROM read_csv('events.csv', all_varchar = true) {filter}) TO '{file}' (FORMAT parquet)"
        );
        let duckdb =
            Command::new("duckdb").args(["-c", &query]).current_dir(run.dir()).output().unwrap();
        assert!(duckdb.status.success(), "{}", String::from_utf8_lossy(&duckdb.stderr));
        let from_parquet = run.clone_with(&["analyze", file]).args(&ANALYZE).run();
        if file == "labels.parquet" {
            assert_eq!(
                (from_parquet.code, from_parquet.stderr.as_str()),
                (1, ""),
                "{from_parquet:?}"
            );
            let renamed = from_parquet
                .stdout
                .replace(&format!("\"input\": \"{file}\""), "\"input\": \"events.csv\"");
            assert_eq!(renamed, from_csv.stdout);
        } else {
            // The same events less the labelled codes: the CSV of those gives the same alerts.
            let integers: String = csv
                .lines()
                .filter(|l| {
                    l.starts_with("Timestamp")
                        || l.rsplit(',').next().unwrap().parse::<i32>().is_ok()
                })
                .map(|l| format!("{l}\n"))
                .collect();
            let expected = run
                .clone_with(&["analyze", "integers.csv"])
                .args(&ANALYZE)
                .file("integers.csv", integers)
                .run();
            let renamed = from_parquet
                .stdout
                .replace(&format!("\"input\": \"{file}\""), "\"input\": \"integers.csv\"");
            assert_eq!((from_parquet.code, renamed), (expected.code, expected.stdout));
        }
    }
    // The bundled data copied as it is: DuckDB makes its H:MM:SS a TIME, read as the offsets.
    let bundled = crate::util::repo().join("data/ErrorStreamSetA.csv");
    let query = format!("COPY (FROM '{}') TO 'seed.parquet' (FORMAT parquet)", bundled.display());
    let duckdb =
        Command::new("duckdb").args(["-c", &query]).current_dir(run.dir()).output().unwrap();
    assert!(duckdb.status.success(), "{}", String::from_utf8_lossy(&duckdb.stderr));
    let from_csv = run.clone_with(&["analyze", &bundled.to_string_lossy()]).args(&ANALYZE).run();
    let from_parquet = run.clone_with(&["analyze", "seed.parquet"]).args(&ANALYZE).run();
    assert_eq!(from_csv.code, 1, "{from_csv:?}");
    let input = |out: &crate::util::Output| {
        let mut report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        report["input"] = serde_json::Value::Null;
        report
    };
    assert_eq!((from_parquet.code, input(&from_parquet)), (1, input(&from_csv)));
    assert_eq!(input(&from_parquet)["time"]["notation"], "H:MM:SS");
    // The other codecs read: the same report as the snappy file DuckDB writes by default.
    let snappy = run.clone_with(&["analyze", "labels.parquet"]).args(&ANALYZE).run();
    for codec in ["zstd", "gzip"] {
        let query = format!(
            "COPY (FROM 'labels.parquet') TO '{codec}.parquet' (FORMAT parquet, COMPRESSION '{codec}')"
        );
        let duckdb =
            Command::new("duckdb").args(["-c", &query]).current_dir(run.dir()).output().unwrap();
        assert!(duckdb.status.success(), "{}", String::from_utf8_lossy(&duckdb.stderr));
        let file = format!("{codec}.parquet");
        let out = run.clone_with(&["analyze", &file]).args(&ANALYZE).run();
        let renamed = out.stdout.replace(&file, "labels.parquet");
        assert_eq!((out.code, renamed), (snappy.code, snappy.stdout.clone()), "{codec}");
    }
    // A codec this build does not decode is named, with what to do.
    let query = "COPY (FROM 'labels.parquet') TO 'lz4.parquet' (FORMAT parquet, COMPRESSION 'lz4')";
    let duckdb =
        Command::new("duckdb").args(["-c", query]).current_dir(run.dir()).output().unwrap();
    assert!(duckdb.status.success(), "{}", String::from_utf8_lossy(&duckdb.stderr));
    let out = run.clone_with(&["analyze", "lz4.parquet", "--no-heatmap"]).run();
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
    assert!(
        out.stderr.starts_with(
            "errwatch: lz4.parquet: compressed with lz4, which errwatch does not decode (it reads \
             snappy, zstd and gzip)"
        ),
        "{out:?}"
    );
}

#[test]
fn a_unit_column_is_found_and_counted_as_in_the_csv() {
    // The stream's events, each from its own client, then one canary client in a crash loop: 300
    // events of code -5 over seconds 3000 to 3059. Counted by events, code -5 alerts; by clients
    // (a string column named user_id, found by its name, or integers named with --unit-column)
    // it is one client a slot and does not, and the report is the CSV's with the same column.
    let mut events = events();
    let (first, canary) = (events[0].0, events.iter().map(|e| e.1.clone()).max().unwrap());
    let mut units: Vec<i64> = (0..events.len() as i64).collect();
    for i in 0..300 {
        events.push((first + 3000 + i / 5, canary.clone(), "-5".to_string()));
        units.push(-1);
    }
    let mut csv = String::from("Timestamp,Build_Version,Error_Code,user_id\n");
    for ((second, build, code), unit) in events.iter().zip(&units) {
        csv.push_str(&format!("{second},{build},{code},u{unit}\n"));
    }
    let [builds, codes] = builds_and_codes(&events);
    let stamps = Values::Int64(events.iter().map(|e| Some(e.0)).collect());
    let schema = "message events { required int64 Timestamp; required binary Build_Version \
                  (UTF8); required binary Error_Code (UTF8); required binary user_id (UTF8); }";
    let labels = Values::Text(units.iter().map(|u| Some(format!("u{u}"))).collect());
    let parquet = write_parquet(schema, &[stamps, builds, codes, labels], 4096);
    same_analysis(&csv, &parquet, &[]);
    same_analysis(&csv, &parquet, &["--unit-column", "none"]);
    let alerts_of_minus_5 = |extra: &[&str]| {
        let out = Errwatch::new(&["analyze", "x.parquet"])
            .args(&ANALYZE)
            .args(extra)
            .file("x.parquet", &parquet)
            .run();
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let alerts = report["alerts"].as_array().unwrap().clone();
        (report["unit_column"].clone(), alerts.iter().filter(|a| a["code"] == -5).count())
    };
    assert_eq!(alerts_of_minus_5(&[]), (serde_json::json!("user_id"), 0));
    assert_eq!(alerts_of_minus_5(&["--unit-column", "none"]), (serde_json::Value::Null, 1));

    // Integers under another name: read when named, their label is their decimal text.
    let [builds, codes] = builds_and_codes(&events);
    let stamps = Values::Int64(events.iter().map(|e| Some(e.0)).collect());
    let schema = "message events { required int64 Timestamp; required binary Build_Version \
                  (UTF8); required binary Error_Code (UTF8); required int64 sender; }";
    let numbers = Values::Int64(units.iter().map(|&u| Some(u)).collect());
    let parquet = write_parquet(schema, &[stamps, builds, codes, numbers], 4096);
    let csv = csv.replacen("user_id", "sender", 1).replace(",u", ",");
    same_analysis(&csv, &parquet, &["--unit-column", "sender"]);
    let out = Errwatch::new(&["analyze", "x.parquet", "--no-heatmap", "--unit-column", "client"])
        .file("x.parquet", &parquet)
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("missing required column client"), "{}", out.stderr);
}
