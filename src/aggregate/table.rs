//! Reading an input into per-second counters: the reader's rows fed to the [`Aggregator`].
//!
//! This is where the reader and the aggregator meet, so neither names the other: [`read_with`]
//! takes rows from [`Rows`] one at a time, [`read_fast`] lets the fast reader count into an
//! aggregator, and [`read_path_with`] picks between them as [`crate::input`] describes. [`merge`]
//! adds up the tables of several shards of one stream.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use super::{Aggregator, Counts};
use crate::input::labels::Code;
use crate::input::source::GaveUp;
use crate::input::timestamp::Notation;
use crate::input::{
    self, BuildStats, ColumnNames, GZIP_MAGIC, Invalid, Inventory, Progress, ReadOptions, Rows,
    STDIN, Skipped, decompress, quote,
};

/// Everything read from one input.
#[derive(Debug, Clone)]
pub struct Table {
    /// The input's name as shown in messages: its path, or `<stdin>`.
    pub name: String,
    /// The timestamp notation (`None` when there were no data rows).
    pub notation: Option<Notation>,
    /// Data rows read.
    pub rows: u64,
    /// Builds by interned id.
    pub builds: Vec<BuildStats>,
    /// Codes by interned id.
    pub codes: Vec<Code>,
    /// Per-second counters, indexed by the interned ids.
    pub counts: Counts,
    /// Repeated header lines skipped.
    pub repeated_headers: u64,
    /// Invalid rows skipped (with `--skip-invalid`).
    pub skipped: Skipped,
    /// The unit column in use, if any: `counts` then holds units affected per second (each unit
    /// once per code, build and slot, [`super::units`]), and `raw` the events.
    pub unit_column: Option<String>,
    /// The fields the reader found by another exporter's name for them: `(seed name, column)`
    /// ([`crate::input::columns::ColumnNames::resolved`]), over every shard merged.
    pub chosen_columns: Vec<(&'static str, String)>,
    /// Per-second events, when `counts` holds units.
    pub raw: Option<Counts>,
    /// The units seen, when `counts` holds units: what an alarm's clients are recounted from.
    pub units: Option<super::units::Units>,
}

impl Table {
    /// The table of an input named `name`: what its reader learnt, and its counters.
    pub fn new(name: &str, inventory: Inventory, counts: Counts) -> Table {
        Table {
            name: name.to_string(),
            notation: inventory.notation,
            rows: inventory.rows,
            builds: inventory.builds,
            codes: inventory.codes,
            counts,
            repeated_headers: inventory.repeated_headers,
            skipped: inventory.skipped,
            unit_column: None,
            chosen_columns: inventory.chosen_columns,
            raw: None,
            units: None,
        }
    }

    /// The counters the detectors read events from: the raw events when `counts` holds units.
    pub fn events(&self) -> &Counts {
        self.raw.as_ref().unwrap_or(&self.counts)
    }
}

/// Reads the CSV or JSON lines file at `path` on the fast path ([`input::read_fast`]) into
/// per-second counters, or says why it gave up (the caller then reads the file on the reference path). `name` is used in
/// the table.
pub fn read_fast(
    path: &Path,
    name: &str,
    columns: &ColumnNames,
    progress: &Progress,
) -> Result<Table, GaveUp> {
    let mut aggregator = Aggregator::new();
    let inventory = input::read_fast(path, columns, progress, &mut aggregator)?;
    Ok(Table::new(name, inventory, aggregator.finish()))
}

/// Reads the file at `path` (`-` for standard input) into per-second counters.
pub fn read_path(path: &str) -> Result<Table> {
    read_path_with(path, &ReadOptions::default())
}

/// [`read_path`] with options: a progress bar on stderr (when the input is a file and stderr a
/// terminal), skipping invalid rows.
///
/// A plain regular file is read on the fast path, and again on the reference path if the fast
/// path gives up; compressed input, standard input and other streams on the reference path.
pub fn read_path_with(path: &str, options: &ReadOptions) -> Result<Table> {
    if path == STDIN {
        let stdin = BufReader::with_capacity(1 << 16, io::stdin());
        let reader = decompress(stdin).context("<stdin>: cannot read")?;
        return read_with(reader, "<stdin>", options);
    }
    let meta = std::fs::metadata(path).with_context(|| format!("{path}: cannot open"))?;
    if meta.is_dir() {
        bail!("{path}: is a directory, not a CSV file");
    }
    #[cfg(feature = "parquet")]
    if meta.is_file() && crate::input::parquet::is_parquet(Path::new(path)) {
        let rows = Rows::<io::Empty>::parquet(Path::new(path), path, &options.columns)?;
        return read_rows(rows, path, options);
    }
    let mut head = [0u8; 2];
    let gzip = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .is_ok_and(|n| n == 2 && head == GZIP_MAGIC);
    let progress = Progress::bytes(meta.len(), options.progress && meta.is_file());
    // The fast path does not count units: a named unit column goes to the reference path at
    // once, and the fast path gives up on a header with an auto-detected one.
    let named_unit = matches!(options.columns.unit, crate::input::UnitColumn::Named(_));
    if meta.is_file() && !gzip && !named_unit {
        match read_fast(Path::new(path), path, &options.columns, &progress) {
            Ok(table) => return Ok(table),
            Err(_) => progress.restart(),
        }
    }
    let file = File::open(Path::new(path)).with_context(|| format!("{path}: cannot open"))?;
    let file = BufReader::with_capacity(1 << 16, progress.reader(file));
    let reader = decompress(file).with_context(|| format!("{path}: cannot read"))?;
    read_with(reader, path, options)
}

/// Reads CSV from `reader`; `name` is used in messages.
pub fn read<R: Read>(reader: R, name: &str) -> Result<Table> {
    read_with(reader, name, &ReadOptions::default())
}

/// [`read`], skipping invalid rows as `options` say.
pub fn read_with<R: Read>(reader: R, name: &str, options: &ReadOptions) -> Result<Table> {
    read_rows(Rows::open(reader, name, &options.columns)?, name, options)
}

/// Reads the rows of an open reader into per-second counters, skipping invalid rows as `options`
/// say; `name` is used in messages.
fn read_rows<R: Read>(rows: Rows<R>, name: &str, options: &ReadOptions) -> Result<Table> {
    let mut rows = rows.skip_invalid(options.skipping());
    let mut aggregator = Aggregator::new();
    let mut raw = Aggregator::new();
    let mut units = super::units::Units::new(options.unit_slot_seconds);
    while let Some(row) = rows.next_row()? {
        let added = match row.unit {
            None => aggregator.add(row.second, row.build, row.code, row.count),
            // The events first: a row whose events do not fit must not mark its unit as seen.
            Some(unit) => raw.add(row.second, row.build, row.code, row.count).and_then(|()| {
                let first = units.first(unit, row.build, row.code, row.second);
                aggregator.add(row.second, row.build, row.code, u64::from(first))
            }),
        };
        if let Err(e) = added {
            let stamp =
                rows.notation.map_or_else(|| row.second.to_string(), |n| n.format(row.second));
            let e = anyhow!("{name}:{}: {e} ({})", row.line, quote(&stamp));
            if !options.skipping() {
                return Err(e);
            }
            rows.reject(&row, Invalid::OutOfRange, &e);
        }
        options.check_invalid(name, &rows.skipped, rows.rows, false)?;
    }
    options.check_invalid(name, &rows.skipped, rows.rows, true)?;
    let unit_column = rows.unit_column().map(str::to_string);
    let mut table = Table::new(name, rows.into_inventory(), aggregator.finish());
    if unit_column.is_some() {
        table.raw = Some(raw.finish());
        table.unit_column = unit_column;
        table.units = Some(units);
    }
    Ok(table)
}

/// Merges the tables of several inputs (shards of one stream) into one, as if their rows had been
/// read from a single input named `name`: builds and codes are matched by name and numbered in
/// order of first appearance across the shards, and the counters are added. Shards are taken one
/// at a time (the first error stops the merge), so only one is held besides the merged counters.
///
/// Shards with data rows must share a timestamp notation (RFC 3339 shards may differ in their UTC
/// offset; the first one's is kept for writing).
pub fn merge(shards: impl IntoIterator<Item = Result<Table>>, name: &str) -> Result<Table> {
    let mut merged = Table {
        name: name.to_string(),
        notation: None,
        rows: 0,
        builds: Vec::new(),
        codes: Vec::new(),
        counts: Aggregator::new().finish(),
        repeated_headers: 0,
        skipped: Skipped::default(),
        unit_column: None,
        chosen_columns: Vec::new(),
        raw: None,
        units: None,
    };
    let mut aggregator = Aggregator::new();
    let mut first_with_rows: Option<String> = None;
    let mut build_index: HashMap<String, usize> = HashMap::new();
    let mut code_index: HashMap<Code, usize> = HashMap::new();
    for shard in shards {
        let shard = shard?;
        if let Some(notation) = shard.notation {
            match (merged.notation, &first_with_rows) {
                (Some(ours), Some(first)) if ours.name() != notation.name() => bail!(
                    "{}: timestamps are {}, but {first} has {}: shards must share a notation",
                    shard.name,
                    notation.name(),
                    ours.name()
                ),
                (None, _) => {
                    merged.notation = Some(notation);
                    first_with_rows = Some(shard.name.clone());
                }
                _ => {}
            }
        }
        let build_ids: Vec<usize> = shard
            .builds
            .iter()
            .map(|build| {
                let next = merged.builds.len();
                let id = *build_index.entry(build.version.clone()).or_insert(next);
                if id == next {
                    merged.builds.push(BuildStats {
                        version: build.version.clone(),
                        rows: 0,
                        events: 0,
                    });
                }
                merged.builds[id].rows += build.rows;
                merged.builds[id].events = merged.builds[id].events.saturating_add(build.events);
                id
            })
            .collect();
        let code_ids: Vec<usize> = shard
            .codes
            .iter()
            .map(|code| {
                let next = merged.codes.len();
                let id = *code_index.entry(code.clone()).or_insert(next);
                if id == next {
                    merged.codes.push(code.clone());
                }
                id
            })
            .collect();
        aggregator
            .add_counts(&shard.counts, &build_ids, &code_ids)
            .map_err(|e| anyhow!("{}: {e:#} once merged with the inputs before it", shard.name))?;
        merged.rows += shard.rows;
        merged.repeated_headers += shard.repeated_headers;
        for chosen in shard.chosen_columns {
            if !merged.chosen_columns.contains(&chosen) {
                merged.chosen_columns.push(chosen);
            }
        }
    }
    merged.counts = aggregator.finish();
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::MaxInvalid;

    fn read_str(text: &str) -> Result<Table> {
        read(text.as_bytes(), "t.csv")
    }

    fn error(text: &str) -> String {
        format!("{:#}", read_str(text).unwrap_err())
    }

    #[test]
    fn reads_events_into_per_second_counters() {
        let t = read_str(
            "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:01,1.0,3\n0:00:02,2.0,-1\n",
        )
        .unwrap();
        assert_eq!(t.rows, 3);
        assert_eq!(t.notation, Some(Notation::Offset));
        assert_eq!(t.builds[0], BuildStats { version: "1.0".into(), rows: 2, events: 2 });
        assert_eq!(t.codes, vec![Code::Int(3), Code::Int(-1)]);
        assert_eq!(t.counts.get(0, 0, 1), 2);
        assert_eq!(t.counts.get(1, 1, 2), 1);
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_and_case() {
        let t = read_str(
            "\u{feff} error_code ,Host,COUNT,timestamp,build_version\r\n3,a,5,0:00:01,1.0\r\n\r\n  7 , b , 2 , 0:00:09 , 2.0 \r\n",
        )
        .unwrap();
        assert_eq!(t.rows, 2);
        assert_eq!(t.builds[0].events, 5);
        assert_eq!(t.builds[1].version, "2.0");
        assert_eq!(t.counts.get(1, 1, 9), 2);
    }

    #[test]
    fn a_missing_column_lists_the_columns_found() {
        let e = error("Timestamp,Tag,Error_Code\n0:00:01,1.0,3\n");
        assert_eq!(
            e,
            "t.csv:1: missing required column Build_Version (columns found: \"Timestamp\", \"Tag\", \"Error_Code\")"
        );
        // Another exporter's name for it is taken, and the table says so.
        let t = read_str("Timestamp,Build,Error_Code\n0:00:01,1.0,3\n").unwrap();
        assert_eq!(t.chosen_columns, [("Build_Version", "Build".to_string())]);
        assert_eq!(t.builds[0].version, "1.0");
    }

    #[test]
    fn bad_rows_name_the_line_and_the_value() {
        let head = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n";
        assert_eq!(
            error(&format!("{head}0:61:00,1.0,3\n")),
            "t.csv:3: minutes must be below 60 in an H:MM:SS timestamp (\"0:61:00\")"
        );
        assert_eq!(error(&format!("{head}0:00:02,,3\n")), "t.csv:3: empty Build_Version");
        assert_eq!(
            error(&format!("{head}0:00:02,1.0\n")),
            "t.csv:3: expected 3 fields as in the header, found 2 (\"0:00:02,1.0\")"
        );
        assert!(
            error(&format!("{head}1795860005,1.0,3\n"))
                .starts_with("t.csv:3: timestamp notation changed")
        );
        assert_eq!(
            error("Timestamp,Build_Version,Error_Code\nsoon,1.0,3\n"),
            "t.csv:2: unrecognised timestamp, expected H:MM:SS, RFC 3339 or Unix seconds (\"soon\")"
        );
    }

    #[test]
    fn bad_counts_are_named() {
        let head = "Timestamp,Build_Version,Error_Code,Count\n";
        assert_eq!(
            error(&format!("{head}0:00:01,1.0,3,-2\n")),
            "t.csv:2: Count must not be negative (\"-2\")"
        );
        assert_eq!(
            error(&format!("{head}0:00:01,1.0,3,lots\n")),
            "t.csv:2: Count is not a non-negative integer (\"lots\")"
        );
        assert_eq!(
            error(&format!("{head}0:00:01,1.0,3,99999999999999999999\n")),
            "t.csv:2: Count is too large (\"99999999999999999999\")"
        );
    }

    #[test]
    fn an_empty_input_is_an_error() {
        assert!(error("").starts_with("t.csv: empty input"));
    }

    #[test]
    fn repeated_headers_are_skipped_and_counted() {
        let t = read_str("Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\nTimestamp,Build_Version,Error_Code\n0:00:02,1.0,3\n")
            .unwrap();
        assert_eq!((t.rows, t.repeated_headers), (2, 1));
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(500);
        let quoted = quote(&long);
        assert!(quoted.len() < 100, "{quoted}");
        assert!(quoted.ends_with("(500 bytes)"));
    }

    #[test]
    fn invalid_utf8_is_named() {
        let mut bytes = b"Timestamp,Build_Version,Error_Code\n0:00:01,1.\xff,3\n".to_vec();
        bytes.push(b'\n');
        let e = format!("{:#}", read(&bytes[..], "t.csv").unwrap_err());
        assert!(e.starts_with("t.csv:2: Build_Version is not valid UTF-8"), "{e}");
    }

    const MIXED: &str = "Timestamp,Build_Version,Error_Code,Count\n\
        0:00:01,1.0,3,2\n\
        0:00:01,2.0,3\n\
        0:61:00,2.0,3,1\n\
        0:00:02,,3,1\n\
        0:00:02,2.0,3,-4\n\
        0:00:03,2.0,3,5\n\
        9999:00:00,2.0,3,1\n";

    fn skipping() -> ReadOptions {
        ReadOptions { skip_invalid: true, ..ReadOptions::default() }
    }

    #[test]
    fn invalid_rows_are_skipped_counted_by_reason_and_change_nothing_else() {
        let t = read_with(MIXED.as_bytes(), "m.csv", &skipping()).unwrap();
        let reasons: Vec<(&str, u64)> =
            t.skipped.by_reason.iter().map(|(r, (n, _))| (r.name(), *n)).collect();
        // 9999:00:00 is a valid offset but stretches the span past a year.
        assert_eq!(
            reasons,
            [
                ("field_count", 1),
                ("empty_field", 1),
                ("timestamp", 1),
                ("count", 1),
                ("out_of_range", 1)
            ]
        );
        assert_eq!(t.skipped.total(), 5);
        assert!(
            t.skipped.by_reason[&Invalid::Timestamp]
                .1
                .starts_with("m.csv:4: minutes must be below 60")
        );
        // The good rows, exactly as if the bad ones were not there.
        let good = "Timestamp,Build_Version,Error_Code,Count\n0:00:01,1.0,3,2\n0:00:03,2.0,3,5\n";
        let clean = read(good.as_bytes(), "g.csv").unwrap();
        assert_eq!(t.rows, clean.rows);
        assert_eq!(t.counts, clean.counts);
        assert_eq!(t.builds, clean.builds);
    }

    #[test]
    fn too_many_invalid_rows_are_an_error() {
        let at_most = |max| ReadOptions { max_invalid: Some(max), ..ReadOptions::default() };
        assert!(read_with(MIXED.as_bytes(), "m.csv", &at_most(MaxInvalid::Rows(5))).is_ok());
        let e = format!(
            "{:#}",
            read_with(MIXED.as_bytes(), "m.csv", &at_most(MaxInvalid::Rows(4))).unwrap_err()
        );
        assert!(e.starts_with("m.csv: 5 invalid rows, more than --max-invalid 4 allows: 1 field_count (first: m.csv:3:"), "{e}");
        // 5 invalid of 7 rows is 71%.
        assert!(read_with(MIXED.as_bytes(), "m.csv", &at_most(MaxInvalid::Fraction(0.75))).is_ok());
        let e = format!(
            "{:#}",
            read_with(MIXED.as_bytes(), "m.csv", &at_most(MaxInvalid::Fraction(0.5))).unwrap_err()
        );
        assert!(
            e.starts_with("m.csv: 5 invalid rows of 7, more than --max-invalid 0.5 allows"),
            "{e}"
        );
    }

    #[test]
    fn gzip_input_is_read_whatever_its_name() {
        use std::io::Write as _;
        let plain = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:02,2.0,4\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(plain.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let expected = read(plain.as_bytes(), "p.csv").unwrap();
        for name in ["events.csv.gz", "events.csv"] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let t = read_path(path.to_str().unwrap()).unwrap();
            assert_eq!(
                (t.rows, &t.counts, &t.codes),
                (expected.rows, &expected.counts, &expected.codes)
            );
        }
    }

    #[test]
    fn a_line_without_end_is_refused_in_bounded_memory() {
        // 4 MiB of one line, produced lazily: the reader must stop after about 1 MiB.
        let header = std::io::Cursor::new(b"Timestamp,Build_Version,Error_Code\n0:00:01,".to_vec());
        let endless = std::io::repeat(b'x').take(4 << 20);
        let e = format!("{:#}", read(header.chain(endless), "big.csv").unwrap_err());
        assert!(e.contains("big.csv"), "{e}");
        assert!(e.contains("line 2 is longer than 1048576 bytes without a newline"), "{e}");
    }
}
