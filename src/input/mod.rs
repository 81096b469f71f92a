//! The reader: error-event CSV in, per-second counters out.
//!
//! The input is CSV with a header. Columns are found by name, case-insensitively and in any
//! order: `Timestamp`, `Build_Version`, `Error_Code`, and an optional `Count` (the row stands for
//! that many events, so pre-aggregated counts are accepted); other columns are ignored. Fields are
//! trimmed; CRLF line endings, a UTF-8 byte-order mark and blank lines are accepted. The timestamp
//! notation is detected from the first data row and then required of every row
//! ([`timestamp::Notation`]).
//!
//! Build versions and error codes are interned as small integer ids as they appear, so the
//! [`Aggregator`] keeps dense arrays. The first bad row ends the read with an error of the form
//! `FILE:LINE: what is wrong (the value)`. A copy of the header line in the middle of the data
//! (files concatenated with their headers) is skipped and counted, never silently.
//!
//! Two paths read the same format. [`read`] is the reference: the csv crate, one record at a time,
//! for any reader. A regular file is first tried on the fast path ([`fast`]), which parses chunks
//! of the file on every core and gives up on anything unusual (quotes, bad rows), in which case
//! the file is read again on the reference path; so errors are always the reference path's.

pub mod fast;
pub mod follow;
pub mod labels;
pub mod limit;
pub mod progress;
pub mod source;
pub mod timestamp;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::aggregate::{Aggregator, Counts};
use crate::escape::visible;
use labels::Code;
use limit::{Cuts, FieldLimit, MAX_FIELD_BYTES, MAX_TIMESTAMP_BYTES};
use timestamp::Notation;

/// The longest offending value quoted in an error message, in characters.
const MAX_QUOTED_CHARS: usize = 60;

/// The name `-` stands for standard input.
pub const STDIN: &str = "-";

/// One build version seen in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStats {
    /// The version string as written.
    pub version: String,
    /// Data rows naming this build.
    pub rows: u64,
    /// Events of this build (the sum of `Count`, or the rows when there is no `Count` column).
    pub events: u64,
}

/// The builds, lowest version first, with their row counts: `1.0 (2 rows), 2.0 (1 rows)`, for
/// messages that must say which builds were seen.
pub fn list_builds(builds: &[BuildStats]) -> String {
    let mut builds: Vec<&BuildStats> = builds.iter().collect();
    builds.sort_by(|a, b| labels::compare_versions(&a.version, &b.version));
    crate::escape::list_cut(
        builds.iter().map(|b| format!("{} ({} rows)", crate::escape::visible(&b.version), b.rows)),
    )
}

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
}

pub use progress::Progress;

/// Why a row is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invalid {
    /// Not as many fields as the header.
    FieldCount,
    /// A required field is empty.
    EmptyField,
    /// A field is not UTF-8.
    Utf8,
    /// A timestamp that cannot be read in the file's notation.
    Timestamp,
    /// A `Count` that is not a non-negative integer.
    Count,
    /// A timestamp or count out of the range errwatch can hold.
    OutOfRange,
    /// A field longer than [`limit::MAX_FIELD_BYTES`], or a timestamp longer than
    /// [`limit::MAX_TIMESTAMP_BYTES`].
    FieldLength,
}

impl Invalid {
    /// The reason's name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Invalid::FieldCount => "field_count",
            Invalid::EmptyField => "empty_field",
            Invalid::Utf8 => "invalid_utf8",
            Invalid::Timestamp => "timestamp",
            Invalid::Count => "count",
            Invalid::OutOfRange => "out_of_range",
            Invalid::FieldLength => "field_length",
        }
    }
}

/// The invalid rows skipped, by reason, with the first message of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Rows skipped per reason, with the message of the first.
    pub by_reason: std::collections::BTreeMap<Invalid, (u64, String)>,
}

impl Skipped {
    /// All rows skipped.
    pub fn total(&self) -> u64 {
        self.by_reason.values().map(|(n, _)| n).sum()
    }

    fn record(&mut self, reason: Invalid, message: &anyhow::Error) {
        let entry = self.by_reason.entry(reason).or_insert_with(|| (0, format!("{message:#}")));
        entry.0 += 1;
    }

    /// Adds another input's skipped rows.
    pub fn add(&mut self, other: &Skipped) {
        for (reason, (n, first)) in &other.by_reason {
            let entry = self.by_reason.entry(*reason).or_insert_with(|| (0, first.clone()));
            entry.0 += n;
        }
    }

    /// `2 timestamp (first: x.csv:17: ...), 1 empty_field (first: ...)`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .by_reason
            .iter()
            .map(|(reason, (n, first))| format!("{n} {} (first: {first})", reason.name()))
            .collect();
        parts.join(", ")
    }
}

/// How many invalid rows `--max-invalid` tolerates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxInvalid {
    /// At most this many.
    Rows(u64),
    /// At most this share of the rows read (valid and invalid), checked at the end.
    Fraction(f64),
}

impl std::fmt::Display for MaxInvalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxInvalid::Rows(n) => write!(f, "{n}"),
            MaxInvalid::Fraction(x) => write!(f, "{x}"),
        }
    }
}

/// How an input is read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadOptions {
    /// Draw a progress bar (when stderr is a terminal and the input a file).
    pub progress: bool,
    /// Skip invalid rows, counting them, instead of stopping at the first.
    pub skip_invalid: bool,
    /// Fail when more rows than this are invalid (implies skipping).
    pub max_invalid: Option<MaxInvalid>,
}

impl ReadOptions {
    /// Whether invalid rows are skipped.
    pub fn skipping(&self) -> bool {
        self.skip_invalid || self.max_invalid.is_some()
    }

    /// Fails when the skipped rows are too many for `--max-invalid`; `at_end` checks fractions.
    pub fn check_invalid(
        &self,
        name: &str,
        skipped: &Skipped,
        rows: u64,
        at_end: bool,
    ) -> Result<()> {
        let invalid = skipped.total();
        let too_many = match self.max_invalid {
            Some(MaxInvalid::Rows(n)) => invalid > n,
            Some(MaxInvalid::Fraction(share)) if at_end => {
                invalid as f64 > share * (rows + invalid) as f64
            }
            _ => false,
        };
        if too_many {
            bail!(
                "{}: {invalid} invalid rows{}, more than --max-invalid {} allows: {}",
                visible(name),
                if at_end { format!(" of {}", rows + invalid) } else { String::new() },
                self.max_invalid.expect("checked above"),
                skipped.describe()
            );
        }
        Ok(())
    }
}

/// The longest line read before concluding the input is not CSV: 1 MiB.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// Refuses lines longer than [`MAX_LINE_BYTES`], so a file without newlines (a binary, a
/// truncated upload) gives a clear error instead of being buffered whole.
pub struct LineLimit<R> {
    inner: R,
    since_newline: u64,
    line: u64,
}

impl<R: Read> LineLimit<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> LineLimit<R> {
        LineLimit { inner, since_newline: 0, line: 1 }
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut rest = &buf[..n];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.since_newline = 0;
            self.line += 1;
            rest = &rest[i + 1..];
        }
        self.since_newline += rest.len() as u64;
        if self.since_newline > MAX_LINE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "line {} is longer than {} bytes without a newline: not a CSV file?",
                    self.line, MAX_LINE_BYTES
                ),
            ));
        }
        Ok(n)
    }
}

/// The first two bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Reads gzip-compressed input transparently: whether it is compressed is seen from its first
/// bytes, whatever its name.
pub fn decompress<'a, R: BufRead + 'a>(mut reader: R) -> io::Result<Box<dyn Read + 'a>> {
    let head = reader.fill_buf()?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
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
    let shown = visible(path);
    let meta = std::fs::metadata(path).with_context(|| format!("{shown}: cannot open"))?;
    if meta.is_dir() {
        bail!("{shown}: is a directory, not a CSV file");
    }
    let mut head = [0u8; 2];
    let gzip = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .is_ok_and(|n| n == 2 && head == GZIP_MAGIC);
    let progress = Progress::bytes(meta.len(), options.progress && meta.is_file());
    if meta.is_file() && !gzip {
        match fast::read_file(Path::new(path), path, &progress) {
            Ok(table) => return Ok(table),
            Err(_) => progress.restart(),
        }
    }
    let file = File::open(Path::new(path)).with_context(|| format!("{shown}: cannot open"))?;
    let file = BufReader::with_capacity(1 << 16, progress.reader(file));
    let reader = decompress(file).with_context(|| format!("{shown}: cannot read"))?;
    read_with(reader, path, options)
}

/// Column positions found in the header.
struct Columns {
    timestamp: usize,
    build: usize,
    code: usize,
    count: Option<usize>,
    width: usize,
}

impl Columns {
    fn find(header: &csv::ByteRecord, name: &str) -> Result<Columns> {
        let names: Vec<String> =
            header.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
        let position = |wanted: &str| names.iter().position(|n| n.eq_ignore_ascii_case(wanted));
        let required = |wanted: &str| {
            position(wanted).ok_or_else(|| {
                anyhow!(
                    "{}:1: missing required column {wanted} (columns found: {})",
                    visible(name),
                    crate::escape::list_cut(
                        names.iter().map(|n| quote(n)).collect::<Vec<_>>().iter()
                    )
                )
            })
        };
        Ok(Columns {
            timestamp: required("Timestamp")?,
            build: required("Build_Version")?,
            code: required("Error_Code")?,
            count: position("Count"),
            width: names.len(),
        })
    }
}

/// Interns byte strings as dense ids in order of appearance.
#[derive(Default)]
struct Interner {
    ids: HashMap<Vec<u8>, usize>,
}

impl Interner {
    /// The id of `key`, and whether it is new.
    fn id(&mut self, key: &[u8]) -> (usize, bool) {
        if let Some(&id) = self.ids.get(key) {
            return (id, false);
        }
        let id = self.ids.len();
        self.ids.insert(key.to_vec(), id);
        (id, true)
    }
}

/// One data row, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The line it starts on.
    pub line: u64,
    /// Its second on the input's clock.
    pub second: i64,
    /// The interned id of its build.
    pub build: usize,
    /// The interned id of its error code.
    pub code: usize,
    /// The events it stands for (`Count`, or 1).
    pub count: u64,
}

/// Reads rows one at a time with the csv crate, as they arrive: the reference reader, and the one
/// that follows live streams.
pub struct Rows<R: Read> {
    name: String,
    /// The name as messages show it ([`visible`]).
    shown: String,
    csv: csv::Reader<BufReader<FieldLimit<LineLimit<R>>>>,
    /// Fields cut at the length limit, not yet matched with their records.
    cuts: Cuts,
    /// Records read, the header included (the csv crate's numbering of [`limit::Overlong`]).
    records: u64,
    /// Newlines the parser did not see (inside cut fields) before the current record.
    dropped_newlines: u64,
    header: csv::ByteRecord,
    columns: Columns,
    record: csv::ByteRecord,
    build_ids: Interner,
    code_ids: Interner,
    /// The timestamp notation, once the first data row has shown it.
    pub notation: Option<Notation>,
    /// Builds by interned id, with their rows and events so far.
    pub builds: Vec<BuildStats>,
    /// Codes by interned id.
    pub codes: Vec<Code>,
    /// Data rows read so far.
    pub rows: u64,
    /// Repeated header lines skipped so far.
    pub repeated_headers: u64,
    skip_invalid: bool,
    /// Invalid rows skipped so far.
    pub skipped: Skipped,
}

impl<R: Read> Rows<R> {
    /// Reads the header of CSV from `reader`; `name` is used in messages.
    pub fn new(reader: R, name: &str) -> Result<Rows<R>> {
        let shown = visible(name).into_owned();
        let cuts = Cuts::default();
        let limited = FieldLimit::new(LineLimit::new(reader), std::sync::Arc::clone(&cuts));
        let mut buffered = BufReader::with_capacity(1 << 16, limited);
        skip_bom(&mut buffered).with_context(|| format!("{shown}: cannot read"))?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(buffered);
        let header = match csv.byte_headers() {
            Ok(h) if h.is_empty() || (h.len() == 1 && h[0].is_empty()) => {
                bail!(
                    "{shown}: empty input: expected a header line with Timestamp, Build_Version, Error_Code"
                )
            }
            Ok(h) => h.clone(),
            Err(e) => return Err(csv_error(&shown, e)),
        };
        let header_cut = cuts.lock().unwrap_or_else(|p| p.into_inner()).front().cloned();
        if let Some(cut) = header_cut.filter(|c| c.record == 0) {
            bail!(
                "{shown}:1: header field {} is longer than {MAX_FIELD_BYTES} bytes ({})",
                cut.field + 1,
                quote_cut(&String::from_utf8_lossy(&header[cut.field]), cut.bytes)
            );
        }
        let columns = Columns::find(&header, name)?;
        Ok(Rows {
            name: name.to_string(),
            shown,
            csv,
            cuts,
            records: 0,
            dropped_newlines: 0,
            header,
            columns,
            record: csv::ByteRecord::new(),
            build_ids: Interner::default(),
            code_ids: Interner::default(),
            notation: None,
            builds: Vec::new(),
            codes: Vec::new(),
            rows: 0,
            repeated_headers: 0,
            skip_invalid: false,
            skipped: Skipped::default(),
        })
    }

    /// Skips invalid rows, counting them in [`Rows::skipped`], instead of failing on the first.
    pub fn skip_invalid(mut self, skip: bool) -> Rows<R> {
        self.skip_invalid = skip;
        self
    }

    /// Counts a row that [`Rows::next_row`] returned as invalid after all (a later stage refused
    /// it), taking it out of the totals.
    pub fn reject(&mut self, row: &Row, reason: Invalid, message: &anyhow::Error) {
        self.rows -= 1;
        let stats = &mut self.builds[row.build];
        stats.rows -= 1;
        stats.events = stats.events.saturating_sub(row.count);
        self.skipped.record(reason, message);
    }

    /// The input's name as used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next data row, `None` at the end of the input. With [`Rows::skip_invalid`], invalid
    /// rows are counted and passed over; otherwise the first ends the read with its error.
    pub fn next_row(&mut self) -> Result<Option<Row>> {
        loop {
            match self.parse_next() {
                Ok(Parsed::Row(row)) => return Ok(Some(row)),
                Ok(Parsed::End) => return Ok(None),
                Ok(Parsed::Skip) => continue,
                Err(Bad::Fatal(e)) => return Err(e),
                Err(Bad::Row(reason, e)) if self.skip_invalid => self.skipped.record(reason, &e),
                Err(Bad::Row(_, e)) => return Err(e),
            }
        }
    }

    fn parse_next(&mut self) -> std::result::Result<Parsed, Bad> {
        let name = &self.shown;
        match self.csv.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Ok(Parsed::End),
            Err(e) => return Err(Bad::Fatal(csv_error(name, e))),
        }
        self.records += 1;
        let record = &self.record;
        let columns = &self.columns;
        let line = record.position().map_or(0, |p| p.line()) + self.dropped_newlines;
        let at = |reason: Invalid, what: String| Bad::Row(reason, anyhow!("{name}:{line}: {what}"));
        let mut first_cut = None;
        {
            let mut cuts = self.cuts.lock().unwrap_or_else(|p| p.into_inner());
            while let Some(cut) = cuts.front().filter(|c| c.record <= self.records) {
                self.dropped_newlines += cut.dropped_newlines;
                if cut.record == self.records && first_cut.is_none() {
                    first_cut = Some(cut.clone());
                }
                cuts.pop_front();
            }
        }
        if let Some(cut) = first_cut {
            let column = self.header.get(cut.field).map_or_else(
                || format!("field {}", cut.field + 1),
                |h| visible(&String::from_utf8_lossy(h)).into_owned(),
            );
            let value = record.get(cut.field).map(String::from_utf8_lossy).unwrap_or_default();
            return Err(at(
                Invalid::FieldLength,
                format!(
                    "{column} is longer than {MAX_FIELD_BYTES} bytes ({})",
                    quote_cut(&value, cut.bytes)
                ),
            ));
        }
        if record.len() == 1 && record[0].is_empty() {
            return Ok(Parsed::Skip); // a line of spaces
        }
        if record.len() != columns.width {
            return Err(at(
                Invalid::FieldCount,
                format!(
                    "expected {} fields as in the header, found {} ({})",
                    columns.width,
                    record.len(),
                    quote(&join_fields(record))
                ),
            ));
        }
        if is_repeated_header(record, &self.header) {
            self.repeated_headers += 1;
            return Ok(Parsed::Skip);
        }
        let field = |index: usize, column: &str| -> std::result::Result<&str, Bad> {
            let bytes = &record[index];
            let text = std::str::from_utf8(bytes).map_err(|_| {
                at(
                    Invalid::Utf8,
                    format!(
                        "{column} is not valid UTF-8 ({})",
                        quote(&String::from_utf8_lossy(bytes))
                    ),
                )
            })?;
            if text.is_empty() {
                return Err(at(Invalid::EmptyField, format!("empty {column}")));
            }
            Ok(text)
        };

        let stamp = field(columns.timestamp, "Timestamp")?;
        if stamp.len() > MAX_TIMESTAMP_BYTES {
            return Err(at(
                Invalid::FieldLength,
                format!("Timestamp is longer than {MAX_TIMESTAMP_BYTES} bytes ({})", quote(stamp)),
            ));
        }
        let notation = match self.notation {
            Some(n) => n,
            None => Notation::detect(stamp).ok_or_else(|| {
                at(
                    Invalid::Timestamp,
                    format!(
                        "unrecognised timestamp, expected H:MM:SS, RFC 3339 or Unix seconds ({})",
                        quote(stamp)
                    ),
                )
            })?,
        };
        let second = notation
            .parse(stamp)
            .map_err(|e| at(Invalid::Timestamp, format!("{e} ({})", quote(stamp))))?;
        let version = field(columns.build, "Build_Version")?;
        let code_text = field(columns.code, "Error_Code")?;
        let count = match columns.count {
            None => 1,
            Some(index) => {
                let text = field(index, "Count")?;
                text.parse::<u64>().map_err(|_| {
                    let what = if text.starts_with('-') {
                        "Count must not be negative"
                    } else if text.bytes().all(|b| b.is_ascii_digit()) {
                        "Count is too large"
                    } else {
                        "Count is not a non-negative integer"
                    };
                    at(Invalid::Count, format!("{what} ({})", quote(text)))
                })?
            }
        };
        // Only a valid row fixes the notation and names builds and codes.
        self.notation = Some(notation);
        let (build, new_build) = self.build_ids.id(version.as_bytes());
        if new_build {
            self.builds.push(BuildStats { version: version.to_string(), rows: 0, events: 0 });
        }
        let (code, new_code) = self.code_ids.id(code_text.as_bytes());
        if new_code {
            self.codes.push(Code::parse(code_text));
        }
        let stats = &mut self.builds[build];
        stats.rows += 1;
        stats.events = stats.events.saturating_add(count);
        self.rows += 1;
        Ok(Parsed::Row(Row { line, second, build, code, count }))
    }
}

/// What reading one record gave.
enum Parsed {
    Row(Row),
    Skip,
    End,
}

/// Why a record gave no row.
enum Bad {
    /// The input cannot be read on: stop.
    Fatal(anyhow::Error),
    /// This row is invalid.
    Row(Invalid, anyhow::Error),
}

/// Reads CSV from `reader`; `name` is used in messages.
pub fn read<R: Read>(reader: R, name: &str) -> Result<Table> {
    read_with(reader, name, &ReadOptions::default())
}

/// [`read`], skipping invalid rows as `options` say.
pub fn read_with<R: Read>(reader: R, name: &str, options: &ReadOptions) -> Result<Table> {
    let mut rows = Rows::new(reader, name)?.skip_invalid(options.skipping());
    let mut aggregator = Aggregator::new();
    while let Some(row) = rows.next_row()? {
        if let Err(e) = aggregator.add(row.second, row.build, row.code, row.count) {
            let stamp =
                rows.notation.map_or_else(|| row.second.to_string(), |n| n.format(row.second));
            let e = anyhow!("{}:{}: {e} ({})", visible(name), row.line, quote(&stamp));
            if !options.skipping() {
                return Err(e);
            }
            rows.reject(&row, Invalid::OutOfRange, &e);
        }
        options.check_invalid(name, &rows.skipped, rows.rows, false)?;
    }
    options.check_invalid(name, &rows.skipped, rows.rows, true)?;
    Ok(Table {
        name: name.to_string(),
        notation: rows.notation,
        rows: rows.rows,
        builds: rows.builds,
        codes: rows.codes,
        counts: aggregator.finish(),
        repeated_headers: rows.repeated_headers,
        skipped: rows.skipped,
    })
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
                    "{}: timestamps are {}, but {} has {}: shards must share a notation",
                    visible(&shard.name),
                    notation.name(),
                    visible(first),
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
        aggregator.add_counts(&shard.counts, &build_ids, &code_ids).map_err(|e| {
            anyhow!("{}: {e:#} once merged with the inputs before it", visible(&shard.name))
        })?;
        merged.rows += shard.rows;
        merged.repeated_headers += shard.repeated_headers;
    }
    merged.counts = aggregator.finish();
    Ok(merged)
}

/// Skips a UTF-8 byte-order mark at the start of the input.
fn skip_bom<R: BufRead>(reader: &mut R) -> io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let mut seen = 0;
    // The mark may straddle reads on a pipe; look at up to three bytes.
    while seen < BOM.len() {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let take = (BOM.len() - seen).min(buf.len());
        if buf[..take] != BOM[seen..seen + take] {
            if seen > 0 {
                // A partial mark followed by something else is not a mark; it is also not valid
                // UTF-8 at the start of a CSV header, which the header check reports.
                return Err(io::Error::new(io::ErrorKind::InvalidData, "invalid byte-order mark"));
            }
            return Ok(());
        }
        reader.consume(take);
        seen += take;
    }
    Ok(())
}

fn join_fields(record: &csv::ByteRecord) -> String {
    let fields: Vec<_> = record.iter().map(String::from_utf8_lossy).collect();
    fields.join(",")
}

fn is_repeated_header(record: &csv::ByteRecord, header: &csv::ByteRecord) -> bool {
    record.iter().zip(header.iter()).all(|(a, b)| a.eq_ignore_ascii_case(b.trim_ascii()))
}

fn csv_error(name: &str, e: csv::Error) -> anyhow::Error {
    let line = e.position().map(|p| p.line());
    let what = match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => format!("malformed CSV: {e}"),
    };
    match line {
        Some(line) => anyhow!("{name}:{line}: {what}"),
        None => anyhow!("{name}: {what}"),
    }
}

/// Quotes the start of a field cut at the length limit, with the field's whole length.
fn quote_cut(head: &str, bytes: u64) -> String {
    let head: String = head.chars().take(MAX_QUOTED_CHARS).collect();
    format!("{head:?}... ({bytes} bytes)")
}

/// Quotes a value for an error message, shortened if long; control characters are escaped (Rust's
/// string escapes: `\u{1b}`, `\n`, `\u{202e}`), so a value can reach a terminal.
pub fn quote(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTED_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = error("Timestamp,Build,Error_Code\n0:00:01,1.0,3\n");
        assert_eq!(
            e,
            "t.csv:1: missing required column Build_Version (columns found: \"Timestamp\", \"Build\", \"Error_Code\")"
        );
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

    #[test]
    fn a_quoted_field_past_the_limit_is_an_error_naming_its_line_and_length() {
        let code = "E\n".repeat(3000);
        let text =
            format!("Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:02,1.0,\"{code}\"\n");
        let e = error(&text);
        assert_eq!(
            e,
            format!(
                "t.csv:3: Error_Code is longer than 4096 bytes ({:?}... (6002 bytes))",
                "E\n".repeat(30)
            )
        );
    }

    #[test]
    fn rows_after_a_cut_field_keep_their_line_numbers() {
        let code = "E\n".repeat(3000);
        let text = format!(
            "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,\"{code}\"\n0:00:02,1.0,3\n0:61:00,1.0,3\n"
        );
        let t = read_with(text.as_bytes(), "t.csv", &skipping()).unwrap();
        assert_eq!(t.rows, 1);
        let (n, first) = &t.skipped.by_reason[&Invalid::FieldLength];
        assert_eq!(*n, 1);
        assert!(first.starts_with("t.csv:2: Error_Code is longer than 4096 bytes"), "{first}");
        // The header, a row of 3001 lines, a good row: the bad timestamp is on line 3004.
        let (_, first) = &t.skipped.by_reason[&Invalid::Timestamp];
        assert!(first.starts_with("t.csv:3004: minutes must be below 60"), "{first}");
    }

    #[test]
    fn a_long_unquoted_field_or_timestamp_is_refused_on_both_paths() {
        let long = "x".repeat(5000);
        let text = format!("Timestamp,Build_Version,Error_Code\n0:00:01,1.0,{long}\n");
        assert!(error(&text).starts_with("t.csv:2: Error_Code is longer than 4096 bytes (\"xxx"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.csv");
        std::fs::write(&path, &text).unwrap();
        let e = format!("{:#}", read_path(path.to_str().unwrap()).unwrap_err());
        assert!(e.contains("long.csv:2: Error_Code is longer than 4096 bytes"), "{e}");
        let stamp = format!("0:00:01{}", "0".repeat(70));
        let e = error(&format!("Timestamp,Build_Version,Error_Code\n{stamp},1.0,3\n"));
        assert!(e.starts_with("t.csv:2: Timestamp is longer than 64 bytes"), "{e}");
    }

    #[test]
    fn messages_show_control_characters_in_names_and_values_escaped() {
        let name = "evil\u{1b}]0;title\u{7}.csv";
        let e = format!("{:#}", read("".as_bytes(), name).unwrap_err());
        assert!(e.starts_with("evil\\x1b]0;title\\x07.csv: empty input"), "{e}");
        let text = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:61:00,\"x\u{202e}\n::warning::x\",3\n";
        let e = format!("{:#}", read(text.as_bytes(), name).unwrap_err());
        assert!(!e.chars().any(|c| c.is_control() || c == '\u{202e}'), "{e:?}");
        let quoted = quote("a\u{1b}[2J\u{202e}\0\n::warning::x");
        assert!(!quoted.chars().any(|c| c.is_control() || c == '\u{202e}'), "{quoted:?}");
    }
}
