//! The fast path for JSON lines: flat objects scanned on every core without serde_json.
//!
//! Event streams written as JSON lines are mostly flat objects of short strings and numbers
//! (`{"ts":"0:00:01","version":"1.0","code":"E3"}`). This path reads those with a scanner of its
//! own and hands every other line to the reference reader's line parser ([`super::jsonl`] and
//! the field checks of [`super::Rows`]), which stays the judge: a line the scanner does not fully
//! understand (an escape in a string, a nested value or `true`/`false`/`null` under a wanted key,
//! a dotted key path, a wanted key twice, a number that is not plain digits, a timestamp the
//! parsers below do not take, a value with spaces around it, anything malformed) is parsed as the
//! reference parses it and counted when the reference accepts it. When the reference would refuse
//! a line, or its reading depends on lines before it (a number timestamp when the first line's
//! timestamp was a string, whose unit the first such number in the file fixes), the path gives up
//! on the whole file and the caller reads it again on the reference path. So errors, line numbers
//! and `--skip-invalid` counts are the reference path's alone, and the two paths agree on every
//! file this one accepts (a property test compares them).
//!
//! The algorithm is the CSV fast path's ([`super::fast`]), whose interning tables and per-second
//! counters it uses:
//!
//! 1. The first non-blank line is read on the reference path: it fixes the timestamp notation
//!    (and for a number timestamp its unit, seconds or milliseconds), and a unit key among its
//!    top-level keys sends the file to the reference path, which counts units.
//! 2. The file is cut into chunks of whole lines, one run of chunks per worker thread
//!    ([`super::source`]). Per line, `scan` walks the object once, checking the JSON grammar
//!    (strings without escapes or control characters, numbers as RFC 8259 writes them, the
//!    literals) and matching keys case-insensitively against the wanted ones; the wanted values
//!    come out as byte ranges, used in place. Timestamps in their common shapes are parsed
//!    without allocating (the CSV path's parsers), others by the reference parser.
//! 3. The workers' tables are merged as the CSV path merges them: builds and codes numbered by
//!    their first appearance in the file, the counters handed to the [`CountSink`] in time order.
//!
//! Gzip input and standard input are read on the reference path.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicU64;

use super::fast::{Counted, Stamps, WINDOW_BYTES, merge, parse_digits};
use super::jsonl::{self, FIELDS};
use super::limit::{MAX_FIELD_BYTES, MAX_TIMESTAMP_BYTES};
use super::progress::Progress;
use super::source::{self, GaveUp};
use super::timestamp::{EpochUnit, Notation};
use super::{ColumnNames, CountSink, Inventory, MAX_LINE_BYTES, UnitColumn};

/// Bytes read from the start of the file to find its first line.
const HEAD_BYTES: u64 = 64 << 10;

/// The fields the scanner looks for, in [`jsonl::FIELDS`] order: timestamp, build, code, count
/// (the unit is never read here).
const SCANNED: usize = 4;
const TIMESTAMP: usize = 0;
const BUILD: usize = 1;
const CODE: usize = 2;
const COUNT: usize = 3;

/// Reads the JSON lines file at `path` on the fast path, counting its events into `sink`, or says
/// why it gave up (the caller then reads the file on the reference path, into a fresh sink: this
/// one may hold part of the counts).
pub fn read_file<S: CountSink>(
    path: &Path,
    columns: &ColumnNames,
    progress: &Progress,
    sink: &mut S,
) -> Result<Inventory, GaveUp> {
    if let UnitColumn::Named(_) = columns.unit {
        return Err(GaveUp("a unit key (units are counted on the reference path)"));
    }
    let mut file = File::open(path).map_err(|_| GaveUp("cannot open"))?;
    let len = file.metadata().map_err(|_| GaveUp("cannot stat"))?.len();
    let mut head = Vec::new();
    (&mut file).take(HEAD_BYTES).read_to_end(&mut head).map_err(|_| GaveUp("cannot read"))?;
    let layout = Layout::find(&head, head.len() as u64 == len, columns)?;
    let threads = source::workers_for(len - layout.data_start);
    let workers = source::for_each_chunk(
        path,
        layout.data_start,
        len,
        threads,
        || Worker::new(&layout),
        progress,
        |w, at, lines| w.parse(at, lines),
    )?;
    let workers = workers.into_iter().map(|w| (w.counted, ())).collect();
    merge(layout.notation, workers, sink, |_, _, _, _| 0)
        .map(|inventory| Inventory { chosen_columns: layout.chosen.clone(), ..inventory })
}

/// A key the scanner looks for.
struct Wanted {
    /// The key, or for a dotted path its first key.
    key: Vec<u8>,
    /// Its field, in [`jsonl::FIELDS`] order.
    field: usize,
    /// Whether the path is this one key (a dotted path goes into a nested object, which the
    /// scanner leaves to the reference parser).
    flat: bool,
}

/// The keys the scanner looks for, of the key paths of the four fields.
fn wanted(paths: &[Vec<String>; FIELDS]) -> Vec<Wanted> {
    paths[..SCANNED]
        .iter()
        .enumerate()
        .map(|(field, path)| Wanted {
            key: path[0].as_bytes().to_vec(),
            field,
            flat: path.len() == 1,
        })
        .collect()
}

/// What the start of the file says about all of it.
struct Layout {
    names: ColumnNames,
    /// The fields found by another exporter's name: `(seed name, key path)`.
    chosen: Vec<(&'static str, String)>,
    /// The key paths, as the reference parser takes them.
    paths: [Vec<String>; FIELDS],
    wanted: Vec<Wanted>,
    /// Fixed by the first line.
    notation: Notation,
    /// The unit of number timestamps, when the first line's timestamp is a number.
    epoch_unit: Option<EpochUnit>,
    /// The first line's bytes before its timestamp's value (or the value's contents, for a
    /// string), when the scanner takes that line: `{"ts":"` for a line that starts with the
    /// timestamp. Lines that start so may take the short way ([`Worker::row_by_tail`]).
    prefix: Option<Vec<u8>>,
    /// File offset of the first byte after a byte-order mark.
    data_start: u64,
    /// Bytes of per-second counters the workers hold together, against [`MAX_COUNTER_BYTES`].
    counter_bytes: AtomicU64,
}

impl Layout {
    /// Reads the layout from the first bytes of the file; `whole` says they are the whole file.
    fn find(head: &[u8], whole: bool, names: &ColumnNames) -> Result<Layout, GaveUp> {
        let data_start = if head.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let mut rest = &head[data_start..];
        let first = loop {
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(newline) => (&rest[..newline], &rest[newline + 1..]),
                None if whole => (rest, &rest[rest.len()..]),
                None => return Err(GaveUp("no complete line at the start of the file")),
            };
            if let Some((start, end)) = jsonl::content(line) {
                break &line[start..end];
            }
            if next.is_empty() {
                return Err(GaveUp("no data line"));
            }
            rest = next;
        };
        let invalid = |_| GaveUp("an invalid first line");
        let text = jsonl::object_text(1, first).map_err(invalid)?;
        let (resolved, chosen) = names.resolved(&jsonl::key_paths(text));
        let names = &resolved;
        let paths = jsonl::split_paths(names);
        if names.unit == UnitColumn::Auto && jsonl::unit_key(text, names).is_some() {
            return Err(GaveUp("a unit key (units are counted on the reference path)"));
        }
        let line = jsonl::parse_line(1, text, &paths, None).map_err(invalid)?;
        let fields = super::json_fields(line, "", names, None, None)
            .map_err(|_| GaveUp("an invalid first line"))?;
        let wanted = wanted(&paths);
        let prefix = scan(first, &wanted)
            .and_then(|found| found[TIMESTAMP])
            .map(|stamp| first[..stamp.start].to_vec());
        Ok(Layout {
            chosen,
            names: names.clone(),
            wanted,
            prefix,
            paths,
            notation: fields.notation,
            epoch_unit: fields.epoch_unit,
            data_start: data_start as u64,
            counter_bytes: AtomicU64::new(0),
        })
    }
}

/// A wanted value found in a line: a string's contents (without its quotes) or a number's text,
/// as a byte range of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    start: usize,
    end: usize,
    string: bool,
}

/// The kind of a value the scanner walked over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Number,
    /// `true`, `false` or `null`.
    Literal,
}

/// Scans a line (trimmed, as [`jsonl::content`] cuts it) as one flat JSON object and returns the
/// wanted values it holds, or `None` when the line is anything else: not JSON, or JSON this
/// scanner leaves to the reference parser (see the module docs). A line it returns values for is
/// one the reference parser reads to the same values.
fn scan(line: &[u8], wanted: &[Wanted]) -> Option<[Option<Found>; SCANNED]> {
    let mut found = [None; SCANNED];
    if line.first() != Some(&b'{') {
        return None;
    }
    let mut at = skip_whitespace(line, 1);
    if line.get(at) == Some(&b'}') {
        return (at + 1 == line.len()).then_some(found);
    }
    loop {
        if line.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(line, at + 1)?;
        let key = &line[at + 1..key_end];
        at = skip_whitespace(line, key_end + 1);
        if line.get(at) != Some(&b':') {
            return None;
        }
        at = skip_whitespace(line, at + 1);
        let start = at;
        let (end, kind) = match *line.get(at)? {
            b'"' => (string_end(line, at + 1)? + 1, Kind::String),
            b'-' | b'0'..=b'9' => (number_end(line, at)?, Kind::Number),
            b't' if line[at..].starts_with(b"true") => (at + 4, Kind::Literal),
            b'f' if line[at..].starts_with(b"false") => (at + 5, Kind::Literal),
            b'n' if line[at..].starts_with(b"null") => (at + 4, Kind::Literal),
            _ => return None,
        };
        if let Some(field) = field_of(wanted, key)? {
            if kind == Kind::Literal || found[field].is_some() {
                return None;
            }
            let string = kind == Kind::String;
            let (start, end) = if string { (start + 1, end - 1) } else { (start, end) };
            found[field] = Some(Found { start, end, string });
        }
        at = skip_whitespace(line, end);
        match line.get(at) {
            Some(b',') => at = skip_whitespace(line, at + 1),
            Some(b'}') => return (at + 1 == line.len()).then_some(found),
            _ => return None,
        }
    }
}

/// The field a key is wanted for: `Some(None)` for a key not wanted, `None` for the first key of
/// a dotted path (its value is the reference parser's to walk).
#[inline]
fn field_of(wanted: &[Wanted], key: &[u8]) -> Option<Option<usize>> {
    let mut field = None;
    for w in wanted {
        if w.key.len() == key.len() && (w.key == key || w.key.eq_ignore_ascii_case(key)) {
            if !w.flat {
                return None;
            }
            field = Some(w.field);
        }
    }
    Some(field)
}

/// The index after JSON whitespace from `at` (JSON's four, not form feed).
#[inline]
fn skip_whitespace(line: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = line.get(at) {
        at += 1;
    }
    at
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `word` below `limit` (at most 0x80) set; a byte above such a byte
/// may also be marked, but never one below the lowest, which is all a search needs.
#[inline(always)]
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGHS
}

/// The index of the quote that closes a string whose contents start at `from`; `None` at an
/// escape or a control character (left to the reference parser, which unescapes or refuses them)
/// or at the end of the line.
///
/// Eight bytes at a time: a byte is a quote or a backslash when it is zero after an exclusive or
/// with one, and a control character when it is below 0x20 ([`bytes_below`]).
#[inline]
fn string_end(line: &[u8], mut at: usize) -> Option<usize> {
    while let Some(chunk) = line.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let stops = bytes_below(word ^ (ONES * u64::from(b'"')), 1)
            | bytes_below(word ^ (ONES * u64::from(b'\\')), 1)
            | bytes_below(word, 0x20);
        if stops != 0 {
            at += (stops.trailing_zeros() / 8) as usize;
            return (line[at] == b'"').then_some(at);
        }
        at += 8;
    }
    let end = at + line[at..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    (line[end] == b'"').then_some(end)
}

/// The index after a number starting at `at`, in RFC 8259's grammar
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or `None`.
#[inline]
fn number_end(line: &[u8], mut at: usize) -> Option<usize> {
    let digits = |line: &[u8], at: usize| {
        let n = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        (n > 0).then_some(at + n)
    };
    if line[at] == b'-' {
        at += 1;
    }
    at = match line.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits(line, at)?,
        _ => return None,
    };
    if line.get(at) == Some(&b'.') {
        at = digits(line, at + 1)?;
    }
    if let Some(b'e' | b'E') = line.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = line.get(at) {
            at += 1;
        }
        at = digits(line, at)?;
    }
    Some(at)
}

/// A label (build or code) as the reference path takes it, if it needs no trimming: non-empty,
/// within the field limit, without whitespace at its ends.
#[inline]
fn plain_label(text: &[u8]) -> bool {
    !text.is_empty()
        && text.len() as u64 <= MAX_FIELD_BYTES
        && !text[0].is_ascii_whitespace()
        && !text[text.len() - 1].is_ascii_whitespace()
}

/// A count as the reference path reads it (`u64`'s parser), if it needs no trimming.
#[inline]
fn plain_count(text: &[u8]) -> Option<u64> {
    if let Some(n) = parse_digits(text, 18) {
        return Some(n as u64);
    }
    if !plain_label(text) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Entries of the dense (build, code) to tally cell table past which new pairs are looked up in
/// the tally's own map instead: 4 MiB of `u32`s.
const MAX_CELL_ENTRIES: usize = 1 << 20;

/// No cell yet for this (build, code).
const NO_CELL: u32 = u32::MAX;

/// A scanned line's fields, checked: its second, the ranges of its build and code in the chunk,
/// and its count.
struct PlainRow {
    second: i64,
    build: (usize, usize),
    code: (usize, usize),
    count: u64,
}

/// What one worker thread has read.
struct Worker<'a> {
    layout: &'a Layout,
    counted: Counted,
    /// Per build id, per code id: its tally cell, or [`NO_CELL`].
    cells: Vec<Vec<u32>>,
    cell_entries: usize,
    stamps: Stamps,
    /// Whether the chunk being parsed is ASCII, so no line of it needs a UTF-8 check.
    ascii: bool,
    /// The rests of lines after their timestamp's value, for lines that start with
    /// [`Layout::prefix`], taken the long way so far, with what they say.
    tails: Tails,
}

impl<'a> Worker<'a> {
    fn new(layout: &'a Layout) -> Worker<'a> {
        Worker {
            layout,
            // As on the CSV path: a state's share of the budget, the sum checked per chunk.
            counted: Counted::new(WINDOW_BYTES),
            cells: Vec::new(),
            cell_entries: 0,
            stamps: Stamps::new(layout.notation),
            ascii: false,
            tails: Tails::new(),
        }
    }

    /// Parses a run of whole lines starting at file offset `offset`.
    fn parse(&mut self, offset: u64, lines: &[u8]) -> Result<(), GaveUp> {
        self.ascii = lines.is_ascii();
        let mut at = 0;
        for newline in memchr::memchr_iter(b'\n', lines) {
            self.line(offset, lines, at, newline)?;
            at = newline + 1;
        }
        if at < lines.len() {
            self.line(offset, lines, at, lines.len())?;
        }
        self.counted.account(&self.layout.counter_bytes)
    }

    /// Counts the line `lines[start..end]` (without its newline), the short way when the scanner
    /// takes it, else as the reference reads it.
    #[inline]
    fn line(&mut self, offset: u64, lines: &[u8], start: usize, end: usize) -> Result<(), GaveUp> {
        if (end - start) as u64 > MAX_LINE_BYTES {
            // The reference path refuses such lines (see `LineLimit`), depending on where its
            // reads fall: leave them to it.
            return Err(GaveUp("a line longer than the reference path reads"));
        }
        let Some((from, to)) = jsonl::content(&lines[start..end]) else {
            return Ok(()); // a blank line
        };
        let (start, end) = (start + from, start + to);
        let line = &lines[start..end];
        if !self.ascii && std::str::from_utf8(line).is_err() {
            return Err(GaveUp("a line that is not UTF-8"));
        }
        if let Some(counted) = self.row_by_tail(lines, start, end) {
            return counted;
        }
        let where_seen = offset + start as u64;
        if let Some(found) = scan(line, &self.layout.wanted)
            && let Some(row) = self.plain_row(lines, start, found)
        {
            let PlainRow { second, build, code, count } = row;
            let build = self.counted.build(lines, build, where_seen)?;
            let code = self.counted.code(lines, code, where_seen)?;
            let cell = self.count(second, build, code, count)?;
            if let (Some(prefix), Some(stamp)) = (&self.layout.prefix, found[TIMESTAMP])
                && stamp.start == prefix.len()
                && line.starts_with(prefix)
            {
                let tail = &line[stamp.end..];
                self.tails.insert(tail, Tail { cell: cell as u32, build: build as u32, count });
            }
            return Ok(());
        }
        self.row_as_reference(where_seen, line)
    }

    /// The short way for a line (trimmed, `lines[start..end]`) that starts with
    /// [`Layout::prefix`] and whose rest after the timestamp's value was taken the long way
    /// before: the same rest says the same build, code and count, the scan of the rest having
    /// checked it. Only the timestamp is read. `None` (having changed nothing) when the line
    /// must take the long way.
    #[inline]
    fn row_by_tail(
        &mut self,
        lines: &[u8],
        start: usize,
        end: usize,
    ) -> Option<Result<(), GaveUp>> {
        let line = &lines[start..end];
        let prefix = self.layout.prefix.as_deref()?;
        if !line.starts_with(prefix) {
            return None;
        }
        let at = prefix.len();
        // The value is a string when the prefix ends with its opening quote.
        let string = prefix.last() == Some(&b'"');
        let value_end = if string { string_end(line, at)? } else { number_end(line, at)? };
        let tail = self.tails.get(&line[value_end..])?;
        let stamp = &line[at..value_end];
        let second = if string { self.timestamp(stamp)? } else { self.number_timestamp(stamp)? };
        let (cell, build) = (tail.cell as usize, tail.build as usize);
        Some(self.counted.count(second, build, cell, tail.count))
    }

    /// The fields of a scanned line starting at `lines[start]`, when each is plain enough to
    /// take without the reference path's checks.
    #[inline]
    fn plain_row(
        &mut self,
        lines: &[u8],
        start: usize,
        found: [Option<Found>; SCANNED],
    ) -> Option<PlainRow> {
        let text = |f: Found| &lines[start + f.start..start + f.end];
        let stamp = found[TIMESTAMP]?;
        let second = if stamp.string {
            self.timestamp(text(stamp))?
        } else {
            self.number_timestamp(text(stamp))?
        };
        let label = |f: Option<Found>| {
            let f = f?;
            plain_label(text(f)).then_some((start + f.start, start + f.end))
        };
        let build = label(found[BUILD])?;
        let code = label(found[CODE])?;
        let count = match found[COUNT] {
            None if self.layout.names.count_required => return None,
            None => 1,
            Some(f) => plain_count(text(f))?,
        };
        Some(PlainRow { second, build, code, count })
    }

    /// The second of a string timestamp needing no trimming, in the file's notation; `None`
    /// when it is not one (the reference path then judges the line).
    #[inline]
    fn timestamp(&mut self, field: &[u8]) -> Option<i64> {
        self.stamps.fast(field).or_else(|| self.timestamp_as_reference(field))
    }

    /// The reference parser, for a timestamp that needs no trimming and is within the length
    /// limit; for an RFC 3339 `...Z` timestamp, its day is kept for the next rows.
    #[cold]
    fn timestamp_as_reference(&mut self, field: &[u8]) -> Option<i64> {
        if !plain_label(field) || field.len() > MAX_TIMESTAMP_BYTES {
            return None;
        }
        self.stamps.by_reference(field)
    }

    /// The second of a number timestamp of plain digits in the unit of the first line's; `None`
    /// for anything else (a fraction, an exponent, a sign, the other unit).
    #[inline]
    fn number_timestamp(&self, number: &[u8]) -> Option<i64> {
        match self.layout.epoch_unit? {
            // Up to 11 digits: below 10^11, so seconds.
            EpochUnit::Seconds => parse_digits(number, 11),
            // 12 digits (no leading zero in a JSON number) are at least 10^11, so milliseconds,
            // and 14 stay within MAX_ABS_SECOND.
            EpochUnit::Milliseconds if number.len() >= 12 => {
                parse_digits(number, 14).map(|ms| ms / 1000)
            }
            EpochUnit::Milliseconds => None,
        }
    }

    /// A line the scanner did not take, read by the reference path's line parser and checks:
    /// counted if they accept it, else the whole file is left to the reference path.
    #[cold]
    fn row_as_reference(&mut self, where_seen: u64, line: &[u8]) -> Result<(), GaveUp> {
        let invalid = |_| GaveUp("an invalid line (the reference path reports it)");
        let layout = self.layout;
        let text = jsonl::object_text(0, line).map_err(invalid)?;
        let values = jsonl::parse_line(0, text, &layout.paths, None).map_err(invalid)?;
        let fields =
            super::json_fields(values, "", &layout.names, Some(layout.notation), layout.epoch_unit)
                .map_err(|_| GaveUp("an invalid line (the reference path reports it)"))?;
        if fields.epoch_unit.is_some() && layout.epoch_unit.is_none() {
            return Err(GaveUp("a number timestamp after string ones (its unit is the file's)"));
        }
        let (version, code) = (fields.version.as_bytes(), fields.code.as_bytes());
        let build = self.counted.build(version, (0, version.len()), where_seen)?;
        let code = self.counted.code(code, (0, code.len()), where_seen)?;
        self.count(fields.second, build, code, fields.count).map(drop)
    }

    /// Counts a row of `count` events; returns its tally cell.
    #[inline]
    fn count(
        &mut self,
        second: i64,
        build: usize,
        code: usize,
        count: u64,
    ) -> Result<usize, GaveUp> {
        let cell = match self.cells.get(build).and_then(|codes| codes.get(code)) {
            Some(&cell) if cell != NO_CELL => cell as usize,
            _ => self.new_cell(build, code)?,
        };
        self.counted.count(second, build, cell, count)?;
        Ok(cell)
    }

    /// The tally cell of a (build, code) not in the dense table, put there while it is small.
    #[cold]
    fn new_cell(&mut self, build: usize, code: usize) -> Result<usize, GaveUp> {
        let cell = self.counted.tally.cell(build, code)?;
        if self.cells.len() <= build {
            self.cells.resize_with(build + 1, Vec::new);
        }
        let codes = &mut self.cells[build];
        if codes.len() <= code {
            let grown = (code + 1).next_power_of_two();
            if self.cell_entries + grown - codes.len() > MAX_CELL_ENTRIES {
                return Ok(cell);
            }
            self.cell_entries += grown - codes.len();
            codes.resize(grown, NO_CELL);
        }
        codes[code] = u32::try_from(cell).unwrap_or(NO_CELL);
        Ok(cell)
    }
}

/// What the rest of a line after its timestamp says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tail {
    cell: u32,
    build: u32,
    count: u64,
}

/// The most rests a worker remembers: a stream whose lines all differ (a request id in each)
/// stops adding to the table there, and its lines take the long way.
const MAX_TAILS: usize = 1 << 14;

/// The longest rest remembered, in bytes.
const MAX_TAIL_BYTES: usize = 256;

/// An empty slot of [`Tails`].
const NO_TAIL: u32 = u32::MAX;

/// Rests of lines and what they say: open addressing over a power-of-two table of ids, at most
/// half full, the rests' bytes side by side in one buffer.
struct Tails {
    slots: Vec<u32>,
    /// Each rest's range in `bytes` and what it says, by id.
    entries: Vec<(u32, u32, Tail)>,
    bytes: Vec<u8>,
}

impl Tails {
    fn new() -> Tails {
        Tails { slots: vec![NO_TAIL; 64], entries: Vec::new(), bytes: Vec::new() }
    }

    /// A hash of a rest: its words folded by rotating and exclusive or (so two rests of one
    /// length that differ in one word never fold alike), then mixed by one multiplication (the
    /// multiplier is 2^64 divided by the golden ratio), whose top bits pick the slot. A multiply
    /// per word would cost three times as much on the longest dependency chain of a line.
    #[inline]
    fn hash(tail: &[u8]) -> u64 {
        let mut folded = tail.len() as u64;
        let mut words = tail.chunks_exact(8);
        for word in &mut words {
            folded = folded.rotate_left(29) ^ u64::from_le_bytes(word.try_into().expect("eight"));
        }
        let mut last = [0u8; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        (folded.rotate_left(29) ^ u64::from_le_bytes(last)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// The slot of a hash in a table of `slots` slots: its top bits.
    #[inline]
    fn slot(hash: u64, slots: usize) -> usize {
        (hash >> (64 - slots.trailing_zeros())) as usize
    }

    /// What a rest seen before says.
    #[inline]
    fn get(&self, tail: &[u8]) -> Option<Tail> {
        if self.entries.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = Tails::slot(Tails::hash(tail), self.slots.len());
        loop {
            let id = self.slots[slot];
            if id == NO_TAIL {
                return None;
            }
            let (start, len, found) = self.entries[id as usize];
            if self.bytes[start as usize..(start + len) as usize] == *tail {
                return Some(found);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Remembers a rest not seen before, unless the table is full or the rest long.
    fn insert(&mut self, tail: &[u8], found: Tail) {
        if self.entries.len() >= MAX_TAILS
            || tail.len() > MAX_TAIL_BYTES
            || self.get(tail).is_some()
        {
            return;
        }
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(tail);
        self.entries.push((start, tail.len() as u32, found));
        if self.entries.len() * 2 > self.slots.len() {
            self.slots = vec![NO_TAIL; self.slots.len() * 2];
            for id in 0..self.entries.len() {
                self.place(id);
            }
        } else {
            self.place(self.entries.len() - 1);
        }
    }

    fn place(&mut self, id: usize) {
        let (start, len, _) = self.entries[id];
        let mask = self.slots.len() - 1;
        let hash = Tails::hash(&self.bytes[start as usize..(start + len) as usize]);
        let mut slot = Tails::slot(hash, self.slots.len());
        while self.slots[slot] != NO_TAIL {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = id as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ts: &str, build: &str, code: &str) -> ColumnNames {
        ColumnNames::new(Some(ts.into()), Some(build.into()), Some(code.into()), None).unwrap()
    }

    /// The wanted values of `line` as text, `#` before a number's, or `None` where the scanner
    /// leaves the line to the reference parser.
    fn scanned(line: &str, names: &ColumnNames) -> Option<Vec<Option<String>>> {
        let found = scan(line.as_bytes(), &wanted(&jsonl::split_paths(names)))?;
        Some(
            found
                .iter()
                .map(|f| {
                    f.map(|f| {
                        let text = &line[f.start..f.end];
                        if f.string { text.to_string() } else { format!("#{text}") }
                    })
                })
                .collect(),
        )
    }

    fn some(values: &[Option<&str>]) -> Option<Vec<Option<String>>> {
        Some(values.iter().map(|v| v.map(str::to_string)).collect())
    }

    #[test]
    fn flat_objects_give_their_wanted_values_in_place() {
        let n = names("ts", "version", "code");
        assert_eq!(
            scanned(r#"{"ts":"0:00:01","version":"1.0","code":"E3"}"#, &n),
            some(&[Some("0:00:01"), Some("1.0"), Some("E3"), None])
        );
        // Any order and case, whitespace between tokens, other keys of every kind skipped.
        assert_eq!(
            scanned(
                r#"{ "CODE" : 500 , "x":null,"y":true,"z":false,"w":-0.5e+3,"Version":1.10,"Count":"2", "TS": 1795860005 }"#,
                &n
            ),
            some(&[Some("#1795860005"), Some("#1.10"), Some("#500"), Some("2")])
        );
        assert_eq!(scanned("{}", &n), some(&[None, None, None, None]));
        assert_eq!(scanned("{\t}", &n), some(&[None, None, None, None]));
        assert_eq!(
            scanned(r#"{"ts":"","version":" 1 ","code":"é"}"#, &n),
            some(&[Some(""), Some(" 1 "), Some("é"), None])
        );
    }

    #[test]
    fn lines_the_scanner_does_not_fully_understand_are_left_to_the_reference_parser() {
        let n = names("ts", "version", "code");
        for line in [
            // Escapes, in a wanted value, an unwanted one or a key.
            r#"{"ts":"0:00:01","version":"1\u002e0","code":"E3"}"#,
            r#"{"ts":"0:00:01","note":"a \"quote\"","code":"E3"}"#,
            r#"{"t\u0073":"0:00:01"}"#,
            // Nested values anywhere, literals under a wanted key, a wanted key twice.
            r#"{"ts":"0:00:01","tags":["a"]}"#,
            r#"{"ts":"0:00:01","app":{"v":1}}"#,
            r#"{"ts":"0:00:01","code":null}"#,
            r#"{"ts":"0:00:01","version":true}"#,
            r#"{"ts":"0:00:01","TS":"0:00:02"}"#,
            // Malformed JSON of every kind.
            r#"{"ts":"0:00:01",}"#,
            r#"{"ts":"0:00:01""code":"1"}"#,
            r#"{"ts":"0:00:01"} x"#,
            r#"{"ts":"0:00:01"}}"#,
            r#"{"ts" "0:00:01"}"#,
            r#"{"ts":"0:00:01"#,
            r#"{"ts":01}"#,
            r#"{"ts":1.}"#,
            r#"{"ts":.5}"#,
            r#"{"ts":-}"#,
            r#"{"ts":1e}"#,
            r#"{"ts":+1}"#,
            r#"{"ts":tru}"#,
            r#"{"ts":True}"#,
            r#"{"ts":nullx}"#,
            r#"{ts:1}"#,
            "{\"ts\":\"a\tb\"}",
            "{\u{c}\"ts\":1}",
            "[1]",
            "{",
            "",
        ] {
            assert_eq!(scanned(line, &n), None, "{line}");
        }
        // A key that starts a dotted path leads into a nested object.
        let dotted = names("ts", "app.version", "code");
        assert_eq!(scanned(r#"{"ts":"0:00:01","app":"1"}"#, &dotted), None);
        assert_eq!(
            scanned(r#"{"ts":"0:00:01","application":"1"}"#, &dotted),
            some(&[Some("0:00:01"), None, None, None])
        );
    }

    #[test]
    fn strings_end_at_their_closing_quote_at_any_position() {
        for len in 0..40 {
            let mut text = vec![b'x'; len];
            text.extend_from_slice(b"\",\"y\\\"");
            assert_eq!(string_end(&text, 0), Some(len), "{len}");
            for stop in [b'\\', b'\n', 0x1f, 0] {
                let mut bad = text.clone();
                bad[len / 2] = stop;
                assert_eq!(string_end(&bad, 0), None, "{len} {stop}");
            }
        }
        assert_eq!(string_end("é\u{7f}ü\"".as_bytes(), 0), Some(5), "bytes from 0x7f on are text");
        assert_eq!(string_end(b"no end", 0), None);
    }

    #[test]
    fn numbers_end_where_the_grammar_says() {
        for (text, end) in [
            ("0", 1),
            ("-0", 2),
            ("12,", 2),
            ("1.25}", 4),
            ("1e5", 3),
            ("1E-05 ", 5),
            ("0.0e+0", 6),
        ] {
            assert_eq!(number_end(text.as_bytes(), 0), Some(end), "{text}");
        }
        for text in ["-", "-a", "1.", "1.e3", "1e", "1e+", "a"] {
            assert_eq!(number_end(text.as_bytes(), 0), None, "{text}");
        }
        // After a leading zero the number ends: `01` is then malformed (no separator follows).
        assert_eq!(number_end(b"01", 0), Some(1));
    }

    #[test]
    fn plain_values_are_those_the_reference_takes_untrimmed() {
        assert!(plain_label(b"5.0007.610.011"));
        assert!(!plain_label(b""));
        assert!(!plain_label(b" 1"));
        assert!(!plain_label(b"1\t"));
        assert!(!plain_label(&vec![b'x'; MAX_FIELD_BYTES as usize + 1]));
        assert_eq!(plain_count(b"7"), Some(7));
        assert_eq!(plain_count(b"+7"), Some(7));
        assert_eq!(plain_count(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(plain_count(b"18446744073709551616"), None);
        assert_eq!(plain_count(b"1.0"), None);
        assert_eq!(plain_count(b"-1"), None);
        assert_eq!(plain_count(b" 7"), None);
    }

    #[test]
    fn the_first_line_fixes_the_notation_and_a_unit_key_gives_up() {
        let n = names("ts", "v", "c");
        let layout =
            Layout::find(b"\xEF\xBB\xBF\n \n{\"ts\":1795860005000,\"v\":1,\"c\":2}\n", true, &n)
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(layout.data_start, 3);
        assert_eq!(layout.notation, Notation::Epoch);
        assert_eq!(layout.epoch_unit, Some(EpochUnit::Milliseconds));
        let layout = Layout::find(br#"{"ts":"2026-11-22T10:00:05+01:00","v":1,"c":2}"#, true, &n)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(layout.notation, Notation::Rfc3339 { offset_seconds: 3600 });
        assert_eq!(layout.epoch_unit, None);

        let line = br#"{"ts":"0:00:01","v":1,"c":2,"user_id":"u"}"#;
        assert!(Layout::find(line, true, &n).is_ok(), "units are off unless asked for");
        let auto = n.clone().with_unit(None).unwrap();
        assert_eq!(
            Layout::find(line, true, &auto).err(),
            Some(GaveUp("a unit key (units are counted on the reference path)"))
        );
        assert!(Layout::find(br#"{"ts":"0:00:01","v":1}"#, true, &n).is_err(), "no code");
        assert!(Layout::find(br#"{"ts":"0:00:01","v":1,"c":2}"#, false, &n).is_err());
        assert!(Layout::find(b"\n\n", true, &n).is_err());
    }
}
