//! Fuzzing with property tests (issue 7): whatever the bytes, errwatch answers `Ok` or `Err`,
//! never a panic, and refuses what would take unbounded memory.
//!
//! cargo-fuzz needs a nightly compiler, so the fuzz targets are proptest properties run in
//! process: arbitrary bytes into the reader ([`errwatch::input::read`]: strict, skipping invalid
//! rows, and behind gzip detection), and random mutations of small valid files (byte flips,
//! insertions of bytes and of tokens that matter to the parser, deletions, duplicated and swapped
//! lines, truncations) through the whole batch pipeline: read, [`analyze`] (builds, bins,
//! detection, report) under varied flags, every report format, and the heatmap ([`render_rgb`]).
//! A panic anywhere fails the property, and proptest shrinks the input to a small one. An error
//! is not a pass by itself: the reader's and the pipeline's errors must name the input (as
//! `errwatch: fuzz.csv: ...`), the live engine's must say something. And since an in-process run
//! cannot see what a user sees, one property runs the binary itself on the mutated files, as a
//! file (the fast reader, whose worker threads' panics are caught and fall back silently but for
//! the panic message) and on standard input (the live path): the exit code must be 0, 1 or 2,
//! stderr must hold no panic, and an exit 2 must say `errwatch: ...`. Its twin with builds named
//! on standard input found the live `--baseline` panic of issue 13 before its fix.
//!
//! JSON lines (issue 16) get the same three properties: arbitrary bytes after a `{` into the
//! readers and the pipeline, mutations of small valid JSON-lines streams through the pipeline
//! (strict and skipping), and the binary on them as a file and on standard input.
//!
//! Each property runs [`DEFAULT_CASES`] cases, quick enough for every `cargo test`;
//! `PROPTEST_CASES` sets the count, so a long run is one command:
//!
//! ```sh
//! PROPTEST_CASES=200000 cargo test --release --test integration fuzz
//! ```
//!
//! Numbers inserted by the mutations stay below 10^18 in magnitude: timestamps at the ends of
//! `i64` overflow today (see `errors::timestamps_at_the_ends_of_i64_are_refused`), and
//! [`extreme_timestamps_never_panic`] is the property that waits for that fix. Two more wait
//! for fixes of what they found: the skipping reader
//! ([`fuzz_the_skipping_pipeline_never_panics_on_mutated_files`]) and the live engine
//! ([`live_engine_never_panics`]), which needs a span limit.

use anyhow::Context;
use clap::Parser;
use errwatch::aggregate::{self, Table};
use errwatch::cli::{Cli, Command};
use errwatch::input::{self, ReadOptions, Rows};
use errwatch::pipeline::live::Live;
use errwatch::pipeline::{AnalyzeConfig, analyze};
use errwatch::render::{HeatmapSpec, Palette, render_rgb};
use errwatch::report::{
    Format, github::Github, json::Json, jsonl::Jsonl, junit::Junit, markdown::Markdown, text::Text,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use std::io::Write;
use std::process::Stdio;

/// Cases per property when `PROPTEST_CASES` is not set: a few seconds in all in a debug build.
const DEFAULT_CASES: u32 = 256;

/// Cases of the properties that start a process per case (two, debug build): about 10 s.
const BINARY_CASES: u32 = 48;

/// The name inputs are read under, as it appears in messages.
const NAME: &str = "fuzz.csv";

fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

/// `errwatch analyze x.csv --no-heatmap FLAGS...`, validated as the binary would.
fn analyze_config(flags: &[&str]) -> AnalyzeConfig {
    let argv = ["errwatch", "analyze", "x.csv", "--no-heatmap"].iter().chain(flags);
    match Cli::try_parse_from(argv).expect("the flags parse").command {
        Command::Analyze(args) => args.validate().expect("the flags are valid"),
        _ => unreachable!("the analyze subcommand was given"),
    }
}

/// Flags that change which code paths the pipeline takes: bin sizes from one second to an hour,
/// every rule, single and several windows, unequal traffic and `--traffic auto`, named builds.
fn flags() -> impl Strategy<Value = Vec<&'static str>> {
    (
        prop::sample::select(vec!["1", "7", "100", "3600"]),
        prop::sample::select(vec!["rolling", "mean-diff", "sequential"]),
        prop::sample::select(vec!["1", "3", "5,10"]),
        prop::sample::select(vec!["0.5", "0.1", "0.97", "auto"]),
        prop_oneof![
            4 => Just(&[][..]),
            // Mutations invent builds; naming both compares two of many.
            3 => Just(&["--baseline", "1.9", "--canary", "1.10"][..]),
            1 => Just(&["--baseline", "1.9"][..]),
            1 => Just(&["--canary", "1.10"][..]),
            1 => Just(&["--baseline", "1.10", "--canary", "2.0-rc.1"][..]),
        ],
    )
        .prop_map(|(bins, rule, windows, traffic, builds)| {
            let mut flags = vec!["--bins", bins, "--rule", rule, "--threshold-bins", windows];
            flags.extend(["--traffic", traffic]);
            flags.extend(builds);
            flags
        })
}

/// The strict reader, as `errwatch analyze` reads a file.
fn read(bytes: &[u8]) -> anyhow::Result<Table> {
    aggregate::read(bytes, NAME)
}

/// The reader with `--skip-invalid`.
fn read_skipping(bytes: &[u8]) -> anyhow::Result<Table> {
    aggregate::read_with(bytes, NAME, &ReadOptions { skip_invalid: true, ..ReadOptions::default() })
}

/// The reader behind gzip detection, as for a `.gz` file or compressed stdin.
fn read_decompressed(bytes: &[u8]) -> anyhow::Result<Table> {
    let reader = input::decompress(bytes).context("fuzz.csv: cannot read")?;
    aggregate::read(reader, NAME)
}

/// Reads `bytes` with `read`, and if they are a table, runs everything after the reader on it:
/// builds, bins, detection, every report format, the heatmap.
fn pipeline(
    bytes: &[u8],
    read: fn(&[u8]) -> anyhow::Result<Table>,
    flags: &[&str],
) -> anyhow::Result<()> {
    let table = read(bytes)?;
    let config = analyze_config(flags);
    let (report, bins) = analyze(&config, table)?;
    for format in [&Text { color: true } as &dyn Format, &Json, &Jsonl, &Github, &Markdown, &Junit]
    {
        format.render(&report);
    }
    let spec = HeatmapSpec {
        title_input: NAME,
        baseline: &report.baseline.version,
        canary: &report.canary.version,
        clock: &report.clock,
        palette: Palette::RedBlue,
        dispersion: report.dispersion.as_ref().map(|d| d.stream),
    };
    render_rgb(&bins, &report.alerts, &spec)?;
    Ok(())
}

/// An error of the reader or the pipeline names the input first, as `errwatch: fuzz.csv: ...`.
fn names_the_input(e: &anyhow::Error) -> Result<(), TestCaseError> {
    let message = format!("{e:#}");
    prop_assert!(message.starts_with(NAME), "an error names the input: {}", message);
    Ok(())
}

/// An error that is not about the input's bytes still says something.
fn says_something(e: &anyhow::Error) -> Result<(), TestCaseError> {
    let message = format!("{e:#}");
    prop_assert!(!message.trim().is_empty(), "an empty error message");
    Ok(())
}

/// Runs the `errwatch` binary, `analyze FILE` (the fast reader's worker threads) and/or `analyze -`
/// with the bytes on standard input (the live path; `inputs` lists which, `true` for stdin), and
/// checks what a user would see:
/// exit code 0, 1 or 2 (101 is a panic, a signal has none), no panic message on stderr (a worker
/// thread's panic is caught by the fast reader, which then falls back to the other path, but the
/// panic hook has printed it), and on exit code 2 one line `errwatch: ...`.
fn binary_answers(bytes: &[u8], flags: &[&str], inputs: &[bool]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join(NAME);
    std::fs::write(&file, bytes).expect("write the input");
    for &from_stdin in inputs {
        let input = if from_stdin { "-" } else { NAME };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_errwatch"))
            .args(["analyze", input, "--no-heatmap"])
            .args(flags)
            .current_dir(dir.path())
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(if from_stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start errwatch");
        if let Some(mut pipe) = child.stdin.take() {
            // A run that refuses the input early may close its end: that is its answer.
            let _ = pipe.write_all(bytes);
        }
        let out = child.wait_with_output().expect("wait for errwatch");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        prop_assert!(
            matches!(code, Some(0..=3)),
            "errwatch analyze {} {:?}: exit {:?}\n{}",
            input,
            flags,
            code,
            stderr
        );
        prop_assert!(
            !stderr.contains("panicked"),
            "errwatch analyze {} {:?}: {}",
            input,
            flags,
            stderr
        );
        if code == Some(2) {
            prop_assert!(stderr.starts_with("errwatch: "), "{}", stderr);
        }
    }
    Ok(())
}

/// One row of a valid stream: second offset, build, code, count.
type Row = (u32, usize, usize, u32);

const BUILDS: [&str; 3] = ["1.9", "1.10", "2.0-rc.1"];
const CODES: [&str; 5] = ["-3", "0", "7", "E_OOM", "12"];

/// A small valid stream in one of the three notations, with or without a `Count` column, and
/// with the liberties the reader allows (CRLF, a byte-order mark, spaces, quotes, column order).
fn valid_csv() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((0u32..900, 0usize..2, 0usize..CODES.len(), 0u32..4), 2..60),
        0usize..3,
        any::<bool>(),
        any::<[bool; 5]>(),
        prop::option::weighted(0.2, (0u32..900, 0usize..CODES.len())),
    )
        .prop_map(|(rows, notation, counts, [crlf, bom, spaces, quotes, reorder], third)| {
            let mut rows: Vec<Row> = rows;
            if let Some((second, code)) = third {
                rows.push((second, 2, code, 1));
            }
            write_csv(&rows, notation, counts, crlf, bom, spaces, quotes, reorder)
        })
}

/// A second of a stream in notation 0 (H:MM:SS), 1 (Unix seconds) or 2 (RFC 3339).
fn stamp(notation: usize, second: u32) -> String {
    match notation {
        0 => format!("{}:{:02}:{:02}", second / 3600, second / 60 % 60, second % 60),
        1 => format!("{}", 1_795_305_600 + second),
        _ => format!("2026-11-22T10:{:02}:{:02}+01:00", second / 60 % 60, second % 60),
    }
}

#[allow(clippy::too_many_arguments)]
fn write_csv(
    rows: &[Row],
    notation: usize,
    counts: bool,
    crlf: bool,
    bom: bool,
    spaces: bool,
    quotes: bool,
    reorder: bool,
) -> Vec<u8> {
    let end = if crlf { "\r\n" } else { "\n" };
    let pad = if spaces { " " } else { "" };
    let quote = if quotes { "\"" } else { "" };
    let mut columns = vec!["Timestamp", "Build_Version", "Error_Code"];
    if counts {
        columns.push("Count");
    }
    if reorder {
        columns.rotate_left(1);
    }
    let mut csv = String::new();
    if bom {
        csv.push('\u{feff}');
    }
    csv.push_str(&columns.join(","));
    csv.push_str(end);
    for &(second, build, code, count) in rows {
        let fields: Vec<String> = columns
            .iter()
            .map(|&column| match column {
                "Timestamp" => stamp(notation, second),
                "Build_Version" => format!("{quote}{}{pad}{quote}", BUILDS[build]),
                "Error_Code" => CODES[code].to_string(),
                _ => count.to_string(),
            })
            // Quotes must open the field: outside them, spaces would be part of it.
            .map(|field| match field.strip_prefix('"') {
                Some(quoted) => format!("\"{pad}{quoted}"),
                None => format!("{pad}{field}{pad}"),
            })
            .collect();
        csv.push_str(&fields.join(","));
        csv.push_str(end);
    }
    csv.into_bytes()
}

/// One change to a file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at a position.
    Flip(Index, u8),
    /// Insert bytes at a position.
    Insert(Index, Vec<u8>),
    /// Delete up to this many bytes from a position.
    Delete(Index, usize),
    /// Repeat a line right after itself.
    DuplicateLine(Index),
    /// Exchange two lines.
    SwapLines(Index, Index),
    /// Cut the file at a position.
    Truncate(Index),
}

/// Bytes that mean something to the reader: separators, quotes, line ends, notation marks, signs,
/// non-UTF-8, header names, and numbers up to 18 digits (timestamps far apart, counts beyond a
/// second's 32-bit counter).
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..4),
        prop::sample::select(vec![
            &b","[..],
            b"\n",
            b"\r\n",
            b"\r",
            b"\"",
            b"\"\"",
            b":",
            b"-",
            b".",
            b"T",
            b"Z",
            b"+",
            b" ",
            b"\t",
            b"\0",
            b"\xff",
            b"\xef\xbb\xbf",
            b"\xe2\x82",
            b"Timestamp,Build_Version,Error_Code\n",
            b"Count",
            b"1970-01-01T00:00:00Z",
            b"9999-12-31T23:59:59Z",
            b"4294967296",
            b"18446744073709551616",
            b"8784:00:00",
            b"31622401",
        ])
        .prop_map(<[u8]>::to_vec),
        "-?[0-9]{1,18}".prop_map(String::into_bytes),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        4 => (any::<Index>(), token()).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        2 => (any::<Index>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// The byte ranges of the lines of `bytes`, newlines included.
fn lines(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut start = 0;
    let mut ranges: Vec<_> = bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(i, _)| {
            let range = start..i + 1;
            start = i + 1;
            range
        })
        .collect();
    if start < bytes.len() {
        ranges.push(start..bytes.len());
    }
    ranges
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    // Positions in 0..=len, so an insertion may land at the very end.
    let at = |i: &Index, len: usize| i.index(len + 1);
    match mutation {
        Mutation::Flip(i, byte) if !bytes.is_empty() => {
            let n = bytes.len();
            bytes[i.index(n)] = *byte;
        }
        Mutation::Insert(i, inserted) => {
            let at = at(i, bytes.len());
            bytes.splice(at..at, inserted.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = at(i, bytes.len());
            bytes.drain(at..(at + n).min(bytes.len()));
        }
        Mutation::DuplicateLine(i) => {
            let lines = lines(bytes);
            if !lines.is_empty() {
                let line = lines[i.index(lines.len())].clone();
                let copy = bytes[line.clone()].to_vec();
                bytes.splice(line.end..line.end, copy);
            }
        }
        Mutation::SwapLines(a, b) => {
            let lines = lines(bytes);
            if !lines.is_empty() {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                let mut order: Vec<usize> = (0..lines.len()).collect();
                order.swap(a, b);
                *bytes = order.iter().flat_map(|&l| bytes[lines[l].clone()].to_vec()).collect();
            }
        }
        Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
        Mutation::Flip(..) => {}
    }
}

/// `csv` with `mutations` applied in turn, to the rows only when `spare_header` (the header is
/// one line of many, and a broken header stops everything at line 1).
fn mutate(csv: Vec<u8>, mutations: &[Mutation], spare_header: bool) -> Vec<u8> {
    let header_end = if spare_header { lines(&csv).first().map_or(0, |l| l.end) } else { 0 };
    let mut body = csv[header_end..].to_vec();
    for mutation in mutations {
        apply(&mut body, mutation);
    }
    [&csv[..header_end], &body[..]].concat()
}

/// The first line of `bytes` and the lines after it that the reader accepts on their own: most
/// mutated files stop at their first bad row, and the rows that survive carry the mutations (odd
/// labels, shifted timestamps, large counts) into the stages after the reader.
fn valid_rows(bytes: &[u8]) -> Vec<u8> {
    let lines = lines(bytes);
    let Some((header, rows)) = lines.split_first() else {
        return Vec::new();
    };
    let mut header = bytes[header.clone()].to_vec();
    if !header.ends_with(b"\n") {
        header.push(b'\n');
    }
    let mut kept = header.clone();
    for row in rows {
        let alone = [&header[..], &bytes[row.clone()]].concat();
        if read(&alone).is_ok() {
            kept.extend_from_slice(&bytes[row.clone()]);
        }
    }
    kept
}

/// Arbitrary bytes, bare or after a valid header (or else nearly every case would stop at the
/// header), some from an alphabet of CSV-ish bytes so that rows get parsed.
fn arbitrary_input() -> impl Strategy<Value = Vec<u8>> {
    let header = || {
        prop::sample::select(vec![
            &b""[..],
            b"Timestamp,Build_Version,Error_Code\n",
            b"Timestamp,Build_Version,Error_Code,Count\n",
        ])
    };
    let csvish = prop::sample::select(b"0123456789:,-.\"\n\r TZ+1.9E_x\xff".to_vec());
    prop_oneof![
        (header(), prop::collection::vec(any::<u8>(), 0..400)),
        (header(), prop::collection::vec(csvish, 0..400)),
        // A gzip member's magic bytes and compression method, then anything.
        (Just(&b"\x1f\x8b\x08"[..]), prop::collection::vec(any::<u8>(), 0..400)),
    ]
    .prop_map(|(header, body)| [header, &body[..]].concat())
}

proptest! {
    #![proptest_config(config(DEFAULT_CASES))]

    /// (a) The reader answers any bytes with a table or an error.
    #[test]
    fn fuzz_the_reader_never_panics_on_arbitrary_bytes(bytes in arbitrary_input()) {
        for read in [read, read_decompressed] {
            if let Ok(table) = read(&bytes) {
                // What was read is internally consistent.
                let rows: u64 = table.builds.iter().map(|b| b.rows).sum();
                prop_assert_eq!(rows, table.rows);
            }
            if let Err(e) = pipeline(&bytes, read, &[]) {
                names_the_input(&e)?;
            }
        }
    }

    /// (b) Mutated valid files go through the whole pipeline without a panic, whatever the flags;
    /// errors name the input.
    #[test]
    fn fuzz_the_pipeline_never_panics_on_mutated_files(
        csv in valid_csv(),
        mutations in prop::collection::vec(mutation(), 1..8),
        spare_header in prop::bool::weighted(0.75),
        flags in flags(),
    ) {
        let bytes = mutate(csv, &mutations, spare_header);
        for input in [&bytes, &valid_rows(&bytes)] {
            if let Err(e) = pipeline(input, read, &flags) {
                let message = format!("{e:#}");
                prop_assert!(message.starts_with(NAME), "an error names the input: {}", message);
            }
        }
    }

    /// The unmutated files are valid: the mutations start from something errwatch accepts.
    #[test]
    fn fuzz_the_valid_files_are_read(csv in valid_csv()) {
        let table = read(&csv);
        prop_assert!(table.is_ok(), "{:?}", table.err());
        for build in table.unwrap().builds {
            prop_assert!(BUILDS.contains(&build.version.as_str()), "{:?}", build);
        }
    }

    /// Bounded memory: a timestamp more than a year from the rest, or a count beyond a second's
    /// counter, is an error naming its line, not an allocation.
    #[test]
    fn fuzz_far_timestamps_and_huge_counts_are_refused(
        rows in prop::collection::vec((0u32..900, 0usize..2, 0usize..CODES.len(), 1u32..4), 1..30),
        notation in 0usize..3,
        line in any::<Index>(),
        far in any::<bool>(),
        count in prop::sample::select(vec!["4294967296", "18446744073709551615", "18446744073709551616"]),
        huge_count in any::<bool>(),
    ) {
        // Per notation, one second past 366 days after the stream, and 1970 against 2026.
        let far = [
            ["8785:00:00", "99999:59:59"],
            ["1827014401", "0"],
            ["2027-11-24T10:00:00+01:00", "1970-01-01T00:00:00Z"],
        ][notation][usize::from(far)];
        let mut csv = write_csv(&rows, notation, huge_count, false, false, false, false, false);
        let row = if huge_count {
            format!("{},1.9,7,{count}\n", stamp(notation, rows[0].0))
        } else {
            format!("{far},1.9,7\n")
        };
        // At the start of any line after the header, or at the end.
        let lines = lines(&csv);
        let line = 1 + line.index(lines.len());
        let offset = lines.get(line).map_or(csv.len(), |l| l.start);
        csv.splice(offset..offset, row.clone().into_bytes());
        let result = read(&csv);
        prop_assert!(result.is_err(), "{:?} at line {} was accepted", row, line + 1);
        let message = format!("{:#}", result.unwrap_err());
        prop_assert!(message.starts_with(&format!("{NAME}:")), "{}", message);
    }
}

proptest! {
    #![proptest_config(config(BINARY_CASES))]

    /// (c) The binary, fed mutated files as a file and on standard input, exits 0, 1, 2 or 3 and
    /// prints no panic, whatever the flags. (Standard input with a build named by flag is the
    /// next property's.)
    #[test]
    fn fuzz_the_binary_exits_0_1_2_or_3_on_mutated_files(
        csv in valid_csv(),
        mutations in prop::collection::vec(mutation(), 1..8),
        spare_header in prop::bool::weighted(0.75),
        flags in flags(),
    ) {
        let bytes = mutate(csv, &mutations, spare_header);
        let names_a_build = flags.iter().any(|f| *f == "--baseline" || *f == "--canary");
        binary_answers(&bytes, &flags, if names_a_build { &[false] } else { &[false, true] })?;
    }

    /// (c) on standard input with `--baseline` or `--canary` naming a build. It found the panic
    /// of issue 13 ("finish fixes the roles or fails", exit 101, when the named build was not in
    /// the data), fixed since.
    #[test]
    fn fuzz_the_binary_on_stdin_with_named_builds_exits_0_1_2_or_3(
        csv in valid_csv(),
        mutations in prop::collection::vec(mutation(), 1..8),
        spare_header in prop::bool::weighted(0.75),
        flags in flags(),
    ) {
        let bytes = mutate(csv, &mutations, spare_header);
        binary_answers(&bytes, &flags, &[true])?;
    }
}

proptest! {
    #![proptest_config(config(DEFAULT_CASES))]

    /// (b) with `--skip-invalid`.
    #[test]
    fn fuzz_the_skipping_pipeline_never_panics_on_mutated_files(
        csv in valid_csv(),
        mutations in prop::collection::vec(mutation(), 1..8),
        spare_header in prop::bool::weighted(0.75),
        flags in flags(),
    ) {
        let bytes = mutate(csv, &mutations, spare_header);
        if let Err(e) = pipeline(&bytes, read_skipping, &flags) {
            let message = format!("{e:#}");
            prop_assert!(message.starts_with(NAME), "an error names the input: {}", message);
        }
    }

    /// Timestamps near the ends of `i64`.
    #[test]
    fn extreme_timestamps_never_panic(
        values in prop::collection::vec(
            prop_oneof![
                Just(i64::MAX), Just(i64::MIN), Just(i64::MAX - 1), Just(i64::MIN + 1),
                (i64::MAX - 1_000_000)..=i64::MAX, i64::MIN..(i64::MIN + 1_000_000), any::<i64>(),
            ],
            1..4,
        ),
        flags in flags(),
    ) {
        let header = b"Timestamp,Build_Version,Error_Code\n";
        let mut bytes = header.to_vec();
        for (i, value) in values.iter().enumerate() {
            bytes.extend(format!("{value},{},7\n", BUILDS[i % 2]).into_bytes());
        }
        if let Err(e) = pipeline(&bytes, read, &flags) {
            names_the_input(&e)?;
        }
    }

    /// The live engine, fed the rows of mutated files one at a time, as standard input is.
    #[test]
    fn live_engine_never_panics(
        csv in valid_csv(),
        mutations in prop::collection::vec(mutation(), 1..8),
        spare_header in prop::bool::weighted(0.75),
        flags in flags(),
        lateness in 0u64..10,
    ) {
        let bytes = mutate(csv, &mutations, spare_header);
        let config = analyze_config(&flags);
        // Every error ends the run as it ends `errwatch analyze -`, and must say what it is
        // about: the reader's errors name the input, the engine's are non-empty sentences.
        let mut rows = match Rows::new(&bytes[..], NAME) {
            Ok(rows) => rows,
            Err(e) => return names_the_input(&e),
        };
        let mut live =
            Live::new(config.rule.clone(), lateness, config.baseline.clone(), config.canary.clone());
        loop {
            match rows.next_row() {
                Ok(Some(row)) => {
                    let pushed =
                        live.push(row.second, row.build, row.code, row.count, &rows.builds, &rows.codes);
                    if let Err(e) = pushed {
                        return says_something(&e);
                    }
                }
                Ok(None) => break,
                Err(e) => return names_the_input(&e),
            }
        }
        match live.finish(&rows.builds, &rows.codes) {
            Ok(_) => {
                let _ = live.result(&rows.codes);
            }
            Err(e) => says_something(&e)?,
        }
    }
}

/// A small valid stream as JSON lines (issue 16) with the seed's key names, in one of four
/// timestamp forms (an `H:MM:SS` string, RFC 3339, numbers in seconds or in milliseconds), codes as
/// strings or numbers, with or without `Count`, with keys to skip (nested ones too).
fn valid_jsonl() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((0u32..900, 0usize..2, 0usize..CODES.len(), 0u32..4), 1..40),
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rows, form, numeric_codes, with_count)| {
            let mut out = Vec::new();
            for (second, build, code, count) in rows {
                let stamp = match form {
                    0 => {
                        format!("\"{}:{:02}:{:02}\"", second / 3600, second / 60 % 60, second % 60)
                    }
                    1 => format!("\"2026-11-22T10:{:02}:{:02}Z\"", second / 60 % 60, second % 60),
                    2 => format!("{}", 1_795_860_000 + u64::from(second)),
                    _ => format!("{}", (1_795_860_000 + u64::from(second)) * 1000 + 999),
                };
                let code = match CODES[code].parse::<i64>() {
                    Ok(n) if numeric_codes => n.to_string(),
                    _ => format!("\"{}\"", CODES[code]),
                };
                let count = if with_count { format!(",\"Count\":{count}") } else { String::new() };
                out.extend(
                    format!(
                        "{{\"meta\":{{\"host\":\"a\",\"tags\":[1,{{}}]}},\"Timestamp\":{stamp},\
                         \"Build_Version\":\"{}\",\"Error_Code\":{code}{count}}}\n",
                        BUILDS[build]
                    )
                    .into_bytes(),
                );
            }
            out
        })
}

/// Arbitrary bytes that start as a JSON object, from an alphabet of JSON tokens' bytes.
fn arbitrary_jsonl() -> impl Strategy<Value = Vec<u8>> {
    let jsonish = prop::sample::select(b"{}[]\":,0123456789.-eE+ \n\\u0aTtnul\xff\x1b".to_vec());
    prop_oneof![prop::collection::vec(jsonish, 0..400), prop::collection::vec(any::<u8>(), 0..400),]
        .prop_map(|body| [&b"{"[..], &body[..]].concat())
}

proptest! {
    #![proptest_config(config(DEFAULT_CASES))]

    /// (a) for JSON lines: any bytes after a `{` get a table or an error naming the input, from the
    /// strict, the skipping and the decompressing reader, and through the pipeline.
    #[test]
    fn fuzz_the_reader_never_panics_on_arbitrary_json_lines(bytes in arbitrary_jsonl()) {
        for read in [read, read_skipping, read_decompressed] {
            if let Ok(table) = read(&bytes) {
                let rows: u64 = table.builds.iter().map(|b| b.rows).sum();
                prop_assert_eq!(rows, table.rows);
            }
            if let Err(e) = pipeline(&bytes, read, &[]) {
                names_the_input(&e)?;
            }
        }
    }

    /// The unmutated JSON lines are valid, so the mutations start from something accepted.
    #[test]
    fn fuzz_the_valid_json_lines_are_read(jsonl in valid_jsonl()) {
        let table = read(&jsonl);
        prop_assert!(table.is_ok(), "{:?}", table.err());
    }

    /// (b) for JSON lines: mutated files through the whole pipeline, strict and skipping.
    #[test]
    fn fuzz_the_pipeline_never_panics_on_mutated_json_lines(
        jsonl in valid_jsonl(),
        mutations in prop::collection::vec(mutation(), 1..8),
        flags in flags(),
    ) {
        let bytes = mutate(jsonl, &mutations, false);
        for read in [read, read_skipping] {
            if let Err(e) = pipeline(&bytes, read, &flags) {
                names_the_input(&e)?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config(BINARY_CASES / 2))]

    /// (c) for JSON lines: the binary exits 0, 1, 2 or 3 without a panic, on a file and on
    /// standard input.
    #[test]
    fn fuzz_the_binary_exits_0_1_2_or_3_on_mutated_json_lines(
        jsonl in valid_jsonl(),
        mutations in prop::collection::vec(mutation(), 1..8),
        skip in any::<bool>(),
    ) {
        let bytes = mutate(jsonl, &mutations, false);
        let flags: &[&str] = if skip { &["--skip-invalid"] } else { &[] };
        binary_answers(&bytes, flags, &[false, true])?;
    }
}
