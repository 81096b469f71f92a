//! The fast path for JSON lines against the reference (serde_json) reader: the same table (counts,
//! builds and codes in id order, skipped rows by reason, the error) on random files with unusual
//! and invalid lines, the fast path not giving up on any valid file, and the same alerts on a
//! generated stream with a regression.

use std::fs::File;

use errwatch::aggregate::{self, Table};
use errwatch::generate::{self, Config};
use errwatch::input::timestamp::Notation;
use errwatch::input::{ColumnNames, Progress, ReadOptions};
use proptest::prelude::*;
use serde_json::Value;

use crate::util::Errwatch;

/// How a generated file writes its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamps {
    Offset,
    Rfc3339,
    /// Numbers, Unix seconds.
    Seconds,
    /// Numbers, Unix milliseconds.
    Millis,
    /// Strings of Unix seconds.
    EpochText,
}

const STAMPS: [Stamps; 5] =
    [Stamps::Offset, Stamps::Rfc3339, Stamps::Seconds, Stamps::Millis, Stamps::EpochText];

/// 2026-11-22T23:00:00Z: a generated hour and more crosses a midnight.
const EPOCH: i64 = 1_795_906_800;

const BUILDS: [&str; 3] = ["1.0", "1.10", "2.0-rc.1"];
const CODES: [&str; 6] = ["500", "E_TIMEOUT", "404", "-3", "é-ü", "7"];

/// The timestamp of `second` as `stamps` writes it, a fraction of a second added when `fraction`.
fn stamp(stamps: Stamps, second: i64, fraction: bool, plus_one: bool) -> String {
    match stamps {
        Stamps::Offset => {
            let hms = format!("{}:{:02}:{:02}", second / 3600, second / 60 % 60, second % 60);
            format!("\"{hms}{}\"", if fraction { ".250" } else { "" })
        }
        Stamps::Rfc3339 => {
            let notation = Notation::Rfc3339 { offset_seconds: if plus_one { 3600 } else { 0 } };
            let text = notation.format(EPOCH + second);
            if fraction {
                let (time, zone) = text.split_at(19);
                format!("\"{time}.9{zone}\"")
            } else {
                format!("\"{text}\"")
            }
        }
        Stamps::Seconds if fraction => format!("{}.75", EPOCH + second),
        Stamps::Seconds if plus_one => format!("{}e-1", (EPOCH + second) * 10),
        Stamps::Seconds => (EPOCH + second).to_string(),
        Stamps::Millis => {
            format!("{}{}", (EPOCH + second) * 1000 + 123, if fraction { ".5" } else { "" })
        }
        Stamps::EpochText => format!("\"{}{}\"", EPOCH + second, if fraction { ".5" } else { "" }),
    }
}

/// One generated line: its second, build and code, how it is written (`style`, a bit per
/// variation) and whether (and how) it is invalid.
type Spec = (i64, usize, usize, u16, Option<u8>);

/// Writes one line (with its line ending) of a file whose timestamps `stamps` writes.
fn render(stamps: Stamps, (second, build, code, style, invalid): Spec, out: &mut String) {
    let bit = |n: u32| style & (1 << n) != 0;
    let ws = if bit(2) { " " } else { "" };
    let key = |name: &str, upper: bool| {
        if upper { format!("\"{}\"", name.to_uppercase()) } else { format!("\"{name}\"") }
    };
    let ts = stamp(stamps, second, bit(14), bit(15));
    let version = if bit(12) {
        // An escape the reference parser unescapes to the same label.
        format!("\"{}\"", BUILDS[build].replace('.', "\\u002e"))
    } else if bit(8) && build < 2 {
        BUILDS[build].to_string() // as a number
    } else if bit(13) {
        format!("\" {} \"", BUILDS[build])
    } else {
        format!("\"{}\"", BUILDS[build])
    };
    let code = if bit(7) && CODES[code].parse::<i64>().is_ok() {
        CODES[code].to_string()
    } else {
        format!("\"{}\"", CODES[code])
    };
    let mut members = vec![
        (key("ts", bit(1)), ts),
        (key("version", false), version),
        (key("code", bit(1) && bit(0)), code),
    ];
    if let Some(how) = invalid {
        match how % 8 {
            0 => members.truncate(2),
            1 => members[1].1 = "null".into(),
            2 => members[0].1 = "\"0:99:00\"".into(),
            3 => members.push(("\"TS\"".into(), "\"0:00:01\"".into())),
            4 => members.push(("\"count\"".into(), "-2".into())),
            5 => members[2].1 = "[5]".into(),
            _ => {}
        }
    }
    if bit(5) {
        let n = second % 4;
        members
            .push((key("count", bit(6)), if bit(6) { format!("\"{n}\"") } else { n.to_string() }));
    }
    if bit(3) {
        let note = if bit(11) { "\"a \\\"quoted\\\" note\"" } else { "\"a note\"" };
        members.insert(usize::from(bit(0)), ("\"note\"".into(), note.into()));
    }
    if bit(4) {
        let other = match second % 4 {
            0 => "null",
            1 => "true",
            2 => "-12.5e+3",
            _ => "false",
        };
        members.push(("\"other\"".into(), other.into()));
    }
    if bit(10) {
        members.push(("\"ctx\"".into(), "{\"code\":[1,{\"ts\":2}],\"s\":\"}\"}".into()));
    }
    if bit(0) {
        members.rotate_left(1);
    }
    let body: Vec<String> =
        members.iter().map(|(k, v)| format!("{ws}{k}{ws}:{ws}{v}{ws}")).collect();
    let line = format!("{{{}}}", body.join(","));
    match invalid.map(|how| how % 8) {
        Some(6) => out.push_str(&line[..line.len() - 1]), // malformed
        Some(7) => out.push_str("[1,2]"),
        _ => out.push_str(&line),
    }
    out.push_str(if bit(9) { "\r\n" } else { "\n" });
    if bit(9) && bit(10) {
        out.push_str("  \n");
    }
}

fn options(skip_invalid: bool) -> ReadOptions {
    let columns =
        ColumnNames::new(Some("ts".into()), Some("version".into()), Some("code".into()), None)
            .unwrap()
            .with_unit(None)
            .unwrap();
    ReadOptions { columns, skip_invalid, ..ReadOptions::default() }
}

/// Everything a table holds is equal: builds and codes in the same id order, every counter, the
/// rows skipped by reason with their first messages.
fn assert_same(fast: &Table, reference: &Table) -> Result<(), TestCaseError> {
    prop_assert_eq!(&fast.name, &reference.name);
    prop_assert_eq!(fast.notation, reference.notation);
    prop_assert_eq!(fast.rows, reference.rows);
    prop_assert_eq!(&fast.builds, &reference.builds);
    prop_assert_eq!(&fast.codes, &reference.codes);
    prop_assert_eq!(&fast.skipped, &reference.skipped);
    prop_assert_eq!(&fast.unit_column, &reference.unit_column);
    let (a, b) = (&fast.counts, &reference.counts);
    prop_assert_eq!((a.first_second, a.last_second), (b.first_second, b.last_second));
    for build in 0..reference.builds.len() {
        for code in 0..reference.codes.len() {
            prop_assert!(a.seconds(build, code) == b.seconds(build, code), "{} {}", build, code);
        }
    }
    Ok(())
}

/// Reads the file at `path` as a user's run does (the fast path first) and on the reference path
/// alone, and checks both give the same table, or the same error.
fn both_paths_agree(path: &std::path::Path, skip_invalid: bool) -> Result<(), TestCaseError> {
    let name = path.to_str().unwrap();
    let options = options(skip_invalid);
    let read = aggregate::read_path_with(name, &options);
    let reference = aggregate::read_with(File::open(path).unwrap(), name, &options);
    match (read, reference) {
        (Ok(read), Ok(reference)) => assert_same(&read, &reference),
        (Err(read), Err(reference)) => {
            prop_assert_eq!(format!("{read:#}"), format!("{reference:#}"));
            Ok(())
        }
        (read, reference) => Err(TestCaseError::fail(format!(
            "{:?} against {:?}",
            read.map(|t| t.rows),
            reference.map(|t| t.rows)
        ))),
    }
}

/// A line in one of the file's few styles, so that lines repeat after their timestamp as in a
/// real stream (the fast path's short way then takes them).
fn spec(styles: Vec<u16>) -> impl Strategy<Value = Spec> {
    (0i64..5400, 0..BUILDS.len(), 0..CODES.len(), any::<prop::sample::Index>(), any::<u8>())
        .prop_map(move |(second, build, code, style, invalid)| {
            // One line in sixteen is invalid, when the file has invalid lines.
            (second, build, code, *style.get(&styles), (invalid < 16).then_some(invalid))
        })
}

/// The style bits that send a line the long way every time (a nested value, escapes, spaces to
/// trim): each is set in a quarter of the styles, the others in half.
const LONG_WAY: u16 = 1 << 10 | 1 << 11 | 1 << 12 | 1 << 13;

/// A file's lines in a few styles.
fn specs() -> impl Strategy<Value = Vec<Spec>> {
    let style = (any::<u16>(), any::<u16>()).prop_map(|(a, b)| a & (b | !LONG_WAY));
    prop::collection::vec(style, 1..4)
        .prop_flat_map(|styles| prop::collection::vec(spec(styles), 1..150))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random files of flat and unusual lines: the fast path takes every valid one and counts it as
    /// the reference does; with invalid lines the errors, and the rows skipped by reason, are the
    /// reference path's.
    #[test]
    fn random_json_lines_read_alike_on_both_paths(
        stamps in prop::sample::select(STAMPS.to_vec()),
        mut specs in specs(),
        with_invalid in any::<bool>(),
        bom in any::<bool>(),
    ) {
        // The first line fixes the notation: plain, so that the fast path takes the file.
        specs[0].3 &= !(1 << 14 | 1 << 15 | 1 << 12 | 1 << 13);
        specs[0].4 = None;
        if !with_invalid {
            specs.iter_mut().for_each(|s| s.4 = None);
        }
        let mut text = String::from(if bom { "\u{feff}" } else { "" });
        for &spec in &specs {
            render(stamps, spec, &mut text);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, &text).unwrap();

        let valid = specs.iter().all(|s| s.4.is_none());
        if valid {
            let fast = aggregate::read_fast(&path, "events.jsonl", &options(false).columns, &Progress::hidden());
            prop_assert!(fast.is_ok(), "the fast path gave up: {:?}\n{}", fast.err(), text);
        }
        both_paths_agree(&path, false)?;
        both_paths_agree(&path, true)?;
    }
}

/// A generated stream with a regression, as JSON lines in `stamps`: over three chunks of the fast
/// reader (so several workers and the merge are exercised), every 997th line unusual (an escape,
/// a nested value, spaces), in the stream's order or shuffled.
fn generated(stamps: Stamps, shuffled: bool) -> String {
    let config = Config {
        seed: 3,
        rows: 110_000,
        injections: vec![
            generate::Injection::parse(generate::Kind::Regression, "3:0:20:00-0:29:59:x3").unwrap(),
        ],
        ..Config::default()
    };
    let mut csv = Vec::new();
    generate::generate(config, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let mut rows: Vec<(i64, String, String)> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let mut fields = line.split(',');
            let second = Notation::Offset.parse(fields.next().unwrap()).unwrap();
            (second, fields.next().unwrap().to_string(), fields.next().unwrap().to_string())
        })
        .collect();
    if shuffled {
        let mut state = 7u64;
        for i in (1..rows.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            rows.swap(i, (state % (i as u64 + 1)) as usize);
        }
    }
    let mut text = String::new();
    for (i, (second, build, code)) in rows.iter().enumerate() {
        let ts = stamp(stamps, *second, false, false);
        if i % 997 == 1 {
            let build = build.replace('.', "\\u002e");
            text.push_str(&format!(
                "{{ \"ctx\": {{\"a\": [1]}}, \"code\": {code}, \"version\": \"{build}\", \"ts\": {ts} }}\n"
            ));
        } else {
            text.push_str(&format!(
                "{{\"ts\":{ts},\"version\":\"{build}\",\"code\":\"{code}\"}}\n"
            ));
        }
    }
    text
}

#[test]
fn generated_streams_read_alike_on_both_paths_in_every_notation() {
    for stamps in STAMPS {
        for shuffled in [false, true] {
            let text = generated(stamps, shuffled);
            assert!(text.len() > 2 * (2 << 20), "three chunks or more");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.jsonl");
            std::fs::write(&path, &text).unwrap();
            let options = options(false);
            let fast =
                aggregate::read_fast(&path, "s.jsonl", &options.columns, &Progress::hidden())
                    .unwrap_or_else(|gave_up| {
                        panic!("{stamps:?}: the fast path gave up: {gave_up:?}")
                    });
            let reference =
                aggregate::read_with(File::open(&path).unwrap(), "s.jsonl", &options).unwrap();
            assert_eq!(fast.rows, 110_000);
            assert_same(&fast, &reference).unwrap_or_else(|e| panic!("{stamps:?} {shuffled}: {e}"));
        }
    }
}

/// The parts of an analysis that must not depend on the reader.
fn verdict(out: &crate::util::Output) -> Value {
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    serde_json::json!({
        "alerts": v["alerts"],
        "time": v["time"],
        "builds": v["builds"],
        "summary": v["summary"]["codes"],
    })
}

#[test]
fn a_file_on_the_fast_path_and_stdin_on_the_reference_path_give_the_same_alerts() {
    let text = generated(Stamps::Rfc3339, false);
    let flags = [
        "--timestamp-column",
        "ts",
        "--build-column",
        "version",
        "--code-column",
        "code",
        "--format",
        "json",
        "--no-heatmap",
        "--quiet",
    ];
    let file = Errwatch::new(&["analyze", "s.jsonl"]).args(&flags).file("s.jsonl", &text).run();
    let stdin = Errwatch::new(&["analyze", "-"]).args(&flags).stdin(text).run();
    let (file, stdin) = (verdict(&file), verdict(&stdin));
    assert!(file["alerts"].as_array().is_some_and(|a| !a.is_empty()), "{file}");
    assert_eq!(file, stdin);
}

#[test]
fn repeated_lines_count_their_events_whatever_way_they_are_read() {
    // The second and third lines repeat the first after its timestamp, the fourth has the count
    // as a string with spaces (the reference path's checks), the fifth an escape.
    let text = "\
{\"ts\":\"0:00:01\",\"version\":\"1.0\",\"code\":\"5\",\"count\":3}
{\"ts\":\"0:00:02\",\"version\":\"1.0\",\"code\":\"5\",\"count\":3}
{\"ts\":\"0:00:02\",\"version\":\"1.0\",\"code\":\"5\",\"count\":3}
{\"ts\":\"0:00:02\",\"version\":\"1.0\",\"code\":\"5\",\"count\":\" 2 \"}
{\"ts\":\"0:00:03\",\"version\":\"1\\u002e0\",\"code\":5,\"count\":0}
";
    let out = Errwatch::new(&["aggregate", "e.jsonl", "-q"])
        .args(&["--timestamp-column", "ts", "--build-column", "version", "--code-column", "code"])
        .file("e.jsonl", text)
        .run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(
        out.stdout,
        "Timestamp,Build_Version,Error_Code,Count\n0:00:01,1.0,5,3\n0:00:02,1.0,5,8\n"
    );
}
