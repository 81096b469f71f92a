//! The fast reader against the reference (csv-crate) reader: the same counts on every file the
//! fast path accepts, and on anything else it gives up and the reference path answers.

use std::fs::File;
use std::path::Path;
use std::process::Command;

use errwatch::aggregate::{self, Table};
use errwatch::generate::{self, Config};
use errwatch::input::Progress;
use errwatch::input::source::GaveUp;
use errwatch::input::timestamp::Notation;

use crate::util::Errwatch;

/// A generated stream of `rows` rows in `notation`, with a regression and a code new in the
/// canary (a label). From 100 000 rows on (2.6 MB), a stream spans several chunks of the fast
/// reader, so chunk boundaries and the merge of the workers' tables are exercised.
fn stream(notation: Notation, rows: u64) -> Vec<u8> {
    let start = match notation {
        Notation::Offset => 0,
        _ => generate::DEFAULT_EPOCH_START,
    };
    let config = Config {
        seed: 11,
        rows,
        start,
        notation,
        injections: vec![
            generate::Injection::parse(generate::Kind::Regression, "3:0:20:00-0:29:59:x3").unwrap(),
            generate::Injection::parse(generate::Kind::NewCode, "E_OOM:0:40:00-0:45:00:x2")
                .unwrap(),
        ],
        ..Config::default()
    };
    let mut out = Vec::new();
    generate::generate(config, &mut out).unwrap();
    out
}

const NOTATIONS: [Notation; 3] =
    [Notation::Offset, Notation::Rfc3339 { offset_seconds: 0 }, Notation::Epoch];

/// Lines of a file, without their line endings.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect()
}

fn join(lines: &[Vec<u8>], ending: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.extend_from_slice(ending);
    }
    out
}

/// A deterministic shuffle (xorshift), so a failure reproduces.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// Applies `edit` to every data line (the header stays first).
fn edit_rows(bytes: &[u8], edit: impl Fn(usize, &[u8]) -> Vec<u8>) -> Vec<u8> {
    let all = lines(bytes);
    let mut out = vec![all[0].to_vec()];
    out.extend(all[1..].iter().enumerate().map(|(i, l)| edit(i, l)));
    join(&out, b"\n")
}

/// Reads `bytes` (written to a file) on both paths; the fast one must not give up.
fn both(bytes: &[u8]) -> (Table, Table) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    std::fs::write(&path, bytes).unwrap();
    let fast = aggregate::read_fast(&path, "s.csv", &Default::default(), &Progress::hidden())
        .unwrap_or_else(|gave_up| panic!("the fast path gave up: {gave_up:?}"));
    (fast, reference(&path, "s.csv"))
}

/// `path` read on the reference path, named `name`.
fn reference(path: &Path, name: &str) -> Table {
    aggregate::read(File::open(path).unwrap(), name).unwrap()
}

/// Everything a table holds is equal: builds and codes in the same id order, every counter.
fn assert_same(fast: &Table, reference: &Table, what: &str) {
    assert_eq!(fast.name, reference.name, "{what}");
    assert_eq!(fast.notation, reference.notation, "{what}");
    assert_eq!(fast.rows, reference.rows, "{what}");
    assert_eq!(fast.builds, reference.builds, "{what}");
    assert_eq!(fast.codes, reference.codes, "{what}");
    assert_eq!(fast.repeated_headers, reference.repeated_headers, "{what}");
    let (a, b) = (&fast.counts, &reference.counts);
    assert_eq!((a.first_second, a.last_second), (b.first_second, b.last_second), "{what}");
    for build in 0..reference.builds.len() {
        for code in 0..reference.codes.len() {
            assert!(a.seconds(build, code) == b.seconds(build, code), "{what}: {build} {code}");
        }
    }
}

#[test]
fn both_paths_count_generated_streams_alike_in_every_notation() {
    for notation in NOTATIONS {
        let bytes = stream(notation, 150_000);
        let (fast, reference) = both(&bytes);
        assert_eq!(fast.rows, 150_000);
        assert_same(&fast, &reference, notation.name());
    }
}

#[test]
fn both_paths_agree_on_crlf_and_rows_in_random_order() {
    for notation in NOTATIONS {
        let bytes = stream(notation, 120_000);
        let all: Vec<Vec<u8>> = lines(&bytes).into_iter().map(<[u8]>::to_vec).collect();
        let (fast, reference) = both(&join(&all, b"\r\n"));
        assert_same(&fast, &reference, &format!("{} CRLF", notation.name()));

        let mut shuffled = all.clone();
        shuffle(&mut shuffled[1..], 7);
        let (fast, reference) = both(&join(&shuffled, b"\n"));
        assert_same(&fast, &reference, &format!("{} shuffled", notation.name()));
        // A code's first row moved, so the order of ids did too; the table still matches.
        assert_eq!(fast.rows, 120_000);
    }
}

#[test]
fn both_paths_agree_on_the_unusual_but_unquoted() {
    let bytes = stream(Notation::Offset, 100_000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "spaces and tabs around fields",
            edit_rows(&bytes, |i, l| {
                if i % 3 == 0 {
                    let text = String::from_utf8_lossy(l).replace(',', " ,\t");
                    format!("  {text} ").into_bytes()
                } else {
                    l.to_vec()
                }
            }),
        ),
        ("blank lines and a byte-order mark", {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            out.extend(edit_rows(&bytes, |i, l| {
                if i % 1000 == 0 { [b"\n   \n".as_slice(), l].concat() } else { l.to_vec() }
            }));
            out
        }),
        (
            "repeated headers from concatenated files",
            edit_rows(&bytes, |i, l| {
                if i % 25_000 == 24_999 {
                    [b"timestamp, Build_Version ,ERROR_CODE\n".as_slice(), l].concat()
                } else {
                    l.to_vec()
                }
            }),
        ),
        (
            "fractions of seconds",
            edit_rows(&bytes, |i, l| {
                let text = String::from_utf8_lossy(l);
                match (i % 7, text.split_once(',')) {
                    (0, Some((stamp, rest))) => format!("{stamp}.{i},{rest}").into_bytes(),
                    _ => l.to_vec(),
                }
            }),
        ),
        ("no newline at the end", bytes.strip_suffix(b"\n").unwrap().to_vec()),
        ("columns in another order, an extra one, a Count", {
            let mut out = b"Host,Count,Error_Code,Build_Version,Timestamp\n".to_vec();
            for (i, l) in lines(&bytes)[1..].iter().enumerate() {
                let text = String::from_utf8_lossy(l);
                let f: Vec<&str> = text.split(',').collect();
                out.extend(format!("h{},{},{},{},{}\n", i % 5, i % 4, f[2], f[1], f[0]).bytes());
            }
            out
        }),
    ];
    for (what, bytes) in cases {
        let (fast, reference) = both(&bytes);
        assert_same(&fast, &reference, what);
    }
}

#[test]
fn quoted_fields_take_the_reference_path_with_the_same_result() {
    let bytes = stream(Notation::Offset, 100_000);
    let quoted = edit_rows(&bytes, |i, l| {
        let text = String::from_utf8_lossy(l);
        match (i == 90_000, text.split_once(',')) {
            (true, Some((stamp, rest))) => format!("{stamp},\"{rest}\"").into_bytes(),
            _ => l.to_vec(),
        }
    });
    let quoted = String::from_utf8(quoted).unwrap();
    // The quoted field holds a comma: "build,code" is one field, so the row is short.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    std::fs::write(&path, &quoted).unwrap();
    assert_eq!(
        aggregate::read_fast(&path, "s.csv", &Default::default(), &Progress::hidden()).err(),
        Some(GaveUp("a quote"))
    );
    let err = format!("{:#}", aggregate::read_path(path.to_str().unwrap()).unwrap_err());
    assert!(err.contains("s.csv:90002: expected 3 fields as in the header, found 2"), "{err}");

    // Quotes around whole fields are read as the reference reads them.
    let fine = edit_rows(&bytes, |i, l| {
        let text = String::from_utf8_lossy(l);
        let f: Vec<&str> = text.split(',').collect();
        if i % 10 == 0 {
            format!("{},\"{}\",{}", f[0], f[1], f[2]).into_bytes()
        } else {
            l.to_vec()
        }
    });
    std::fs::write(&path, &fine).unwrap();
    let table = aggregate::read_path(path.to_str().unwrap()).unwrap();
    assert_same(&table, &reference(&path, path.to_str().unwrap()), "quoted builds");
    assert_eq!(table.rows, 100_000);
}

/// A bad row deep in a large file is reported as the reference path reports it: the same line and
/// message (the reference path reads standard input).
#[test]
fn a_bad_row_deep_in_a_large_file_names_the_reference_line() {
    let bytes = stream(Notation::Offset, 150_000);
    let broken = [
        ("0:61:00,5.0007.510.011,3", "minutes must be below 60 in an H:MM:SS timestamp"),
        ("0:10:00,,3", "empty Build_Version"),
        ("0:10:00,5.0007.510.011", "expected 3 fields as in the header, found 2"),
        ("1795860005,5.0007.510.011,3", "timestamp notation changed"),
        ("0:10:00,5.0007.510.011\r,3", "expected 3 fields as in the header, found 2"),
    ];
    for (row, message) in broken {
        let bad =
            edit_rows(
                &bytes,
                |i, l| if i == 130_000 { row.as_bytes().to_vec() } else { l.to_vec() },
            );
        let file = Errwatch::new(&["analyze", "s.csv", "--no-heatmap"]).file("s.csv", &bad).run();
        let piped = Errwatch::new(&["analyze", "-", "--no-heatmap"]).stdin(bad).run();
        assert_eq!(file.code, 2, "{row}: {file:?}");
        assert!(file.stderr.starts_with("errwatch: s.csv:130002: "), "{row}: {}", file.stderr);
        assert!(file.stderr.contains(message), "{row}: {}", file.stderr);
        assert_eq!(file.stderr.replace("s.csv", "<stdin>"), piped.stderr, "{row}");
    }
}

/// The progress bar is drawn on a terminal (here a pseudo-terminal made by `script`) and cleared
/// at the end; `--quiet` draws none, and neither is there one when stderr is not a terminal (the
/// other tests read stderr through a pipe and find only what they expect).
#[test]
fn the_progress_bar_shows_on_a_terminal_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.csv"), stream(Notation::Offset, 20_000)).unwrap();
    let on_a_terminal = |extra: &str| {
        let command =
            format!("{} analyze s.csv --no-heatmap {extra}", env!("CARGO_BIN_EXE_errwatch"));
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .output()
    };
    let Ok(shown) = on_a_terminal("") else {
        eprintln!("skipped: script (util-linux) not installed");
        return;
    };
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains(" / ") && shown.contains("left"), "{shown:?}");
    assert!(shown.contains("\u{1b}[2K"), "the bar is cleared: {shown:?}");
    let quiet = on_a_terminal("--quiet").unwrap();
    let quiet = String::from_utf8_lossy(&quiet.stdout);
    assert!(quiet.contains("20000 rows") && !quiet.contains("left"), "{quiet:?}");
}

/// A line over 1 MiB is the reference path's to judge (it refuses such lines): the fast path
/// gives up on it even where it would fit in a chunk.
#[test]
fn a_line_over_a_mebibyte_is_left_to_the_reference_path() {
    let mut text = b"Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n".to_vec();
    text.extend_from_slice(format!("0:00:02,{},3\n", "9".repeat(1 << 20)).as_bytes());
    text.extend_from_slice(b"0:00:03,1.0,3\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    std::fs::write(&path, &text).unwrap();
    assert!(
        aggregate::read_fast(&path, "s.csv", &Default::default(), &Progress::hidden()).is_err()
    );
    assert_eq!(
        aggregate::read_path(path.to_str().unwrap()).err().map(|e| format!("{e:#}")),
        aggregate::read(File::open(&path).unwrap(), path.to_str().unwrap())
            .err()
            .map(|e| format!("{e:#}"))
    );
}

/// The workers' per-second counters have a memory budget: a day in time order fits (each worker
/// counts its own stretch of the day), the same rows shuffled make every worker cover the whole
/// day, so the fast path gives up and the reference path, which holds the counters once, reads
/// the file; both ways give the reference table.
#[test]
fn a_long_stream_out_of_order_goes_to_the_reference_path_to_save_memory() {
    let config = Config { seed: 3, rows: 150_000, duration_s: 86_400, ..Config::default() };
    let mut bytes = Vec::new();
    generate::generate(config, &mut bytes).unwrap();
    let (fast, in_order) = both(&bytes);
    assert_same(&fast, &in_order, "a day in time order");

    let mut all: Vec<Vec<u8>> = lines(&bytes).into_iter().map(<[u8]>::to_vec).collect();
    shuffle(&mut all[1..], 5);
    let shuffled = join(&all, b"\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    std::fs::write(&path, &shuffled).unwrap();
    assert_eq!(
        aggregate::read_fast(&path, "s.csv", &Default::default(), &Progress::hidden()).err(),
        Some(GaveUp("per-second counters over the memory budget"))
    );
    let table = aggregate::read_path(path.to_str().unwrap()).unwrap();
    assert_same(&table, &reference(&path, path.to_str().unwrap()), "a day shuffled");
    assert_eq!(table.rows, 150_000);
}
