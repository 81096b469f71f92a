//! The reader: error events (CSV, JSON lines or Parquet) in, per-second counters out.
//!
//! An input is JSON lines when its name says so or its first non-blank byte is `{` ([`jsonl`]),
//! CSV otherwise; the fields are found by the names of [`ColumnNames`] (the seed's by default). A
//! Parquet file is opened by its path ([`Rows::parquet`], the `parquet` module, with the cargo
//! feature of that name), since the format needs seeking; the caller tells it by name or magic.
//! A stream that is none of these (Parquet on a pipe, a JSON array, binary data) is named as such
//! in the error rather than reported as a CSV file without its columns. The CSV input has a header. Columns are found by name, case-insensitively and in any
//! order: `Timestamp`, `Build_Version`, `Error_Code`, and an optional `Count` (the row stands for
//! that many events, so pre-aggregated counts are accepted); other columns are ignored. Fields are
//! trimmed; CRLF line endings, a UTF-8 byte-order mark and blank lines are accepted. The timestamp
//! notation is detected from the first data row and then required of every row
//! ([`timestamp::Notation`]).
//!
//! Build versions and error codes are interned as small integer ids as they appear, so the
//! aggregator keeps dense arrays. The first bad row ends the read with an error of the form
//! `FILE:LINE: what is wrong (the value)`. A copy of the header line in the middle of the data
//! (files concatenated with their headers) is skipped and counted, never silently.
//!
//! Two paths read the same format. [`Rows`] is the reference: the csv crate or serde_json, one
//! record at a time, for any reader. A plain regular file is first tried on the fast path of its
//! format ([`read_fast`]: [`fast`] for CSV, [`fast_jsonl`] for JSON lines), which parses chunks of
//! the file on every core and gives up on anything it cannot count exactly as the reference
//! would (quotes, bad rows), in which case the file is read again on the reference path; so errors
//! are always the reference path's.
//!
//! The reader knows nothing of the stages after it: [`Rows`] hands out one row at a time, and the
//! fast path hands its counts to a [`CountSink`] (the aggregator is one). The caller decides
//! where rows go.

pub mod columns;
pub mod fast;
pub mod fast_jsonl;
pub mod follow;
pub mod jsonl;
pub mod labels;
pub mod limit;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod progress;
pub mod records;
pub mod source;
pub mod stdin;
pub mod timestamp;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use anyhow::{Context, Result, anyhow, bail};

use crate::escape::visible;
pub use columns::{ColumnNames, UnitColumn};
use jsonl::{JsonLines, LineError, Value};
use labels::Code;
use limit::{Cuts, FieldLimit, MAX_FIELD_BYTES, MAX_TIMESTAMP_BYTES};
use timestamp::{EpochUnit, Notation};

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

/// What reading an input learnt besides its counts.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The timestamp notation (`None` when there were no data rows).
    pub notation: Option<Notation>,
    /// Data rows read.
    pub rows: u64,
    /// Builds by interned id.
    pub builds: Vec<BuildStats>,
    /// Codes by interned id.
    pub codes: Vec<Code>,
    /// Repeated header lines skipped.
    pub repeated_headers: u64,
    /// Invalid rows skipped (with `--skip-invalid`).
    pub skipped: Skipped,
    /// The fields found by another exporter's name for them: `(seed name, column)`
    /// ([`ColumnNames::resolved`]).
    pub chosen_columns: Vec<(&'static str, String)>,
}

/// Where a reader that counts (the fast path) puts its counts: the per-second aggregator is one.
/// A count of 0 still stretches the span and makes the ids known, as a row would.
pub trait CountSink {
    /// Adds `count` events of `code` from `build` at `second`; fails where the counters cannot
    /// hold it (a span past [`MAX_SPAN_SECONDS`], an overflowing counter).
    fn add(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()>;

    /// Adds a run of per-second records in time order whose series are `cells[series]` as
    /// (build, code) pairs, each already made known with a count of 0 at the run's first and last
    /// seconds; fails as [`CountSink::add`] does. The sink may keep the records as they are (the
    /// aggregator does, so the counts are held once); by default each pair is added in turn.
    fn add_records(&mut self, cells: &[(usize, usize)], records: records::Records) -> Result<()> {
        for (second, pairs) in records.iter() {
            for (cell, count) in pairs {
                let (build, code) = cells[cell as usize];
                self.add(second, build, code, u64::from(count))?;
            }
        }
        Ok(())
    }
}

/// The longest span, in seconds, that one input's timestamps may cover: a year and a day (the
/// per-second counters hold every second of it).
pub const MAX_SPAN_SECONDS: i64 = 366 * 86_400;

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
    /// A JSON line that is not one JSON object, or has a key twice.
    Json,
    /// A JSON line without a required key.
    MissingKey,
    /// A JSON value that is neither a string nor a number where a field was wanted.
    FieldType,
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
            Invalid::Json => "json",
            Invalid::MissingKey => "missing_key",
            Invalid::FieldType => "field_type",
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Draw a progress bar (when stderr is a terminal and the input a file).
    pub progress: bool,
    /// Skip invalid rows, counting them, instead of stopping at the first.
    pub skip_invalid: bool,
    /// Fail when more rows than this are invalid (implies skipping).
    pub max_invalid: Option<MaxInvalid>,
    /// The columns (or JSON keys) of the four fields, and of the unit.
    pub columns: ColumnNames,
    /// The slot, in seconds, within which a unit counts once per build and code (`--bins`).
    pub unit_slot_seconds: u64,
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
    format: &'static str,
}

impl<R: Read> LineLimit<R> {
    /// Wraps a reader of CSV.
    pub fn new(inner: R) -> LineLimit<R> {
        LineLimit { inner, since_newline: 0, line: 1, format: "a CSV file" }
    }

    /// Names the format expected, for the error (`a CSV file` unless told).
    pub fn expecting(mut self, format: &'static str) -> LineLimit<R> {
        self.format = format;
        self
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
                    "line {} is longer than {} bytes without a newline: not {}?",
                    self.line, MAX_LINE_BYTES, self.format
                ),
            ));
        }
        Ok(n)
    }
}

/// The first two bytes of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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

/// Column positions found in the header.
struct Columns {
    timestamp: usize,
    build: usize,
    code: usize,
    count: Option<usize>,
    /// The unit column's position and name as the header writes it.
    unit: Option<(usize, String)>,
    width: usize,
    /// The fields' names as the header writes them ([`ColumnNames::resolved`]).
    names: ColumnNames,
    /// The fields found by another exporter's name: `(seed name, column)`.
    chosen: Vec<(&'static str, String)>,
}

impl Columns {
    fn find(header: &csv::ByteRecord, name: &str, wanted: &ColumnNames) -> Result<Columns> {
        let names: Vec<String> =
            header.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
        let (wanted, chosen) = wanted.resolved(&names);
        let wanted = &wanted;
        let position = |wanted: &str| columns::position(&names, wanted);
        // A first line whose fields read as a timestamp is data: the header is missing.
        let headless = names.iter().any(|n| Notation::detect(n).is_some());
        let required = |wanted: &str| {
            position(wanted).ok_or_else(|| {
                anyhow!(
                    "{}:1: missing required column {} (columns found: {}){}",
                    visible(name),
                    visible(wanted),
                    crate::escape::list_cut(
                        names.iter().map(|n| quote(n)).collect::<Vec<_>>().iter()
                    ),
                    if headless {
                        "; the first line looks like a data row: the file needs a header line \
                         naming its columns (Timestamp,Build_Version,Error_Code)"
                    } else {
                        ""
                    }
                )
            })
        };
        let (timestamp, build, code) =
            (required(&wanted.timestamp)?, required(&wanted.build)?, required(&wanted.code)?);
        let count = if wanted.count_required {
            Some(required(&wanted.count)?)
        } else {
            position(&wanted.count)
        };
        let taken = [Some(timestamp), Some(build), Some(code), count];
        let unit = match &wanted.unit {
            UnitColumn::Off => None,
            UnitColumn::Named(unit) => Some(required(unit)?),
            UnitColumn::Auto => (0..names.len())
                .filter(|at| !taken.contains(&Some(*at)))
                .filter_map(|at| columns::unit_rank(&names[at]).map(|rank| (rank, at)))
                .min()
                .map(|(_, at)| at),
        };
        Ok(Columns {
            timestamp,
            build,
            code,
            count,
            unit: unit.map(|at| (at, names[at].clone())),
            width: names.len(),
            names: wanted.clone(),
            chosen,
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
    /// The hash of its unit's label ([`unit_hash`]), when the input has a unit column.
    pub unit: Option<u64>,
}

/// The hash a unit's label is known by: SipHash with fixed keys (std's `DefaultHasher`), so the
/// same label gives the same hash in every run and labels cannot be chosen to defeat a seeded
/// table. Two labels with one hash are counted as one unit: a collision can only merge two
/// clients, making a count lower, never higher.
pub fn unit_hash(label: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().hash_one(label)
}

/// The bytes read ahead to tell an input's format: up to its first non-blank byte, at most this
/// many.
const SNIFF_BYTES: usize = 64 << 10;

/// A reader that has read ahead to the first non-blank byte (after a byte-order mark), to tell
/// the format, and then hands on every byte, those read ahead first.
pub struct Sniffed<R> {
    head: Vec<u8>,
    at: usize,
    inner: R,
}

impl<R: Read> Sniffed<R> {
    /// Reads ahead from `inner`, blocking until a non-blank byte, the end, or 64 KiB of blanks.
    pub fn new(mut inner: R) -> io::Result<Sniffed<R>> {
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while first_content(&head).is_none() && head.len() < SNIFF_BYTES {
            match inner.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Sniffed { head, at: 0, inner })
    }

    /// Whether the input is JSON lines ([`is_json_lines`]).
    fn is_json_lines(&self, name: &str) -> bool {
        is_json_lines(name, &self.head)
    }

    /// The CSV field delimiter its header line uses: a comma, unless the line has none and has a
    /// tab, a semicolon or a bar (tab-separated values, or CSV as spreadsheets write it where a
    /// comma is the decimal mark), the first of those it has.
    fn delimiter(&self) -> u8 {
        let head = self.head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.head);
        let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
        let line = &head[start..];
        let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
        if line.contains(&b',') {
            return b',';
        }
        [b'\t', b';', b'|'].into_iter().find(|d| line.contains(d)).unwrap_or(b',')
    }

    /// What the input looks like when it is neither CSV nor JSON lines, for the error that says
    /// its columns are missing.
    fn not_csv(&self) -> Option<&'static str> {
        let start = &self.head[..self.head.len().min(1024)];
        if start.starts_with(b"PAR1") {
            Some(if cfg!(feature = "parquet") {
                "a Parquet file, which errwatch reads only from a file named on the command line \
                 and not with --follow (Parquet keeps its index at the end of the file): write it \
                 to a file and name that"
            } else {
                "a Parquet file, which this errwatch was built without (cargo feature parquet): \
                 export CSV or JSON lines from it (in DuckDB: COPY (FROM 'events.parquet') TO \
                 'events.csv')"
            })
        } else if first_content(start) == Some(b'[') {
            Some(
                "a JSON array, not CSV or JSON lines: write one object per line (jq -c '.[]' turns \
                 an array into JSON lines)",
            )
        } else if let Some((_, how)) = COMPRESSED.iter().find(|(magic, _)| start.starts_with(magic))
        {
            Some(how)
        } else if start.contains(&0) {
            Some("binary data, not CSV or JSON lines")
        } else {
            None
        }
    }
}

impl<R: Read> Read for Sniffed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.head.len() {
            let n = buf.len().min(self.head.len() - self.at);
            buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            if self.at == self.head.len() {
                self.head = Vec::new();
                self.at = 0;
            }
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// Magic bytes of the compressed formats errwatch does not decompress, for the error about them.
const COMPRESSED: [(&[u8], &str); 4] = [
    (b"PK\x03\x04", "a zip archive, not CSV or JSON lines: unzip it first"),
    (
        b"\x28\xb5\x2f\xfd",
        "zstd-compressed, which errwatch does not read: zstd -d it (gzip is read)",
    ),
    (b"\xfd7zXZ\x00", "xz-compressed, which errwatch does not read: xz -d it (gzip is read)"),
    (b"BZh", "bzip2-compressed, which errwatch does not read: bunzip2 it (gzip is read)"),
];

/// Whether an input named `name` whose first bytes are `head` is JSON lines: by its name (`.jsonl`
/// or `.ndjson`, `.gz` after it too), or by a first non-blank byte `{`.
fn is_json_lines(name: &str, head: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    stem.ends_with(".jsonl") || stem.ends_with(".ndjson") || first_content(head) == Some(b'{')
}

/// Reads the plain regular file at `path` on the fast path of its format, JSON lines
/// ([`fast_jsonl`]) or CSV ([`fast`]), counting its events into `sink`, or says why it gave up
/// (the caller then reads the file on the reference path, into a fresh sink). The format is told
/// as the reference path tells it, from the name and the first bytes.
pub fn read_fast<S: CountSink>(
    path: &std::path::Path,
    columns: &ColumnNames,
    progress: &Progress,
    sink: &mut S,
) -> std::result::Result<Inventory, source::GaveUp> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(SNIFF_BYTES as u64).read_to_end(&mut head))
        .map_err(|_| source::GaveUp("cannot read"))?;
    if is_json_lines(&path.to_string_lossy(), &head) {
        fast_jsonl::read_file(path, columns, progress, sink)
    } else {
        fast::read_file(path, columns, progress, sink)
    }
}

/// The first byte of `head` that is not blank, after a byte-order mark; `None` if there is none
/// yet.
fn first_content(head: &[u8]) -> Option<u8> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if head.len() < BOM.len() && BOM.starts_with(head) {
        return None;
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
    head.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Reads rows one at a time, as they arrive, from CSV (the csv crate) or JSON lines: the
/// reference reader, and the one that follows live streams.
pub struct Rows<R: Read> {
    /// The name as messages show it ([`visible`]).
    shown: String,
    format: Format<R>,
    /// The columns or keys of the four fields.
    names: ColumnNames,
    build_ids: Interner,
    code_ids: Interner,
    /// The timestamp notation, once the first data row has shown it.
    pub notation: Option<Notation>,
    /// The unit of JSON number timestamps, once the first has shown it.
    epoch_unit: Option<EpochUnit>,
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

/// The input's format, with its parser.
enum Format<R: Read> {
    Csv(Box<CsvRecords<R>>),
    Json(Box<JsonLines<BufReader<LineLimit<Sniffed<R>>>>>),
    /// A Parquet file, read from its path (the reader `R` is not used).
    #[cfg(feature = "parquet")]
    Parquet(Box<parquet::ParquetRows>),
}

/// CSV records with the csv crate, behind the line and field limits.
struct CsvRecords<R: Read> {
    csv: csv::Reader<BufReader<FieldLimit<LineLimit<Sniffed<R>>>>>,
    /// Fields cut at the length limit, not yet matched with their records.
    cuts: Cuts,
    /// Records read, the header included (the csv crate's numbering of [`limit::Overlong`]).
    records: u64,
    /// Newlines the parser did not see (inside cut fields) before the current record.
    dropped_newlines: u64,
    header: csv::ByteRecord,
    columns: Columns,
    record: csv::ByteRecord,
}

impl<R: Read> Rows<R> {
    /// Reads the header of CSV from `reader`, or sees JSON lines; `name` is used in messages. The
    /// fields are in the seed's columns ([`ColumnNames::default`]).
    pub fn new(reader: R, name: &str) -> Result<Rows<R>> {
        Rows::open(reader, name, &ColumnNames::default())
    }

    /// [`Rows::new`] with the fields in the columns (or JSON keys) `names` names.
    pub fn open(reader: R, name: &str, names: &ColumnNames) -> Result<Rows<R>> {
        let shown = visible(name).into_owned();
        let sniffed = Sniffed::new(reader).with_context(|| format!("{shown}: cannot read"))?;
        let format = if sniffed.is_json_lines(name) {
            let limited = LineLimit::new(sniffed).expecting("JSON lines");
            Format::Json(Box::new(JsonLines::new(
                BufReader::with_capacity(1 << 16, limited),
                names,
            )))
        } else {
            let not_csv = sniffed.not_csv();
            match CsvRecords::open(sniffed, name, &shown, names) {
                Ok(records) => Format::Csv(Box::new(records)),
                Err(e) => match not_csv {
                    Some(looks) => bail!("{shown}: {looks}"),
                    None => return Err(e),
                },
            }
        };
        let names = match &format {
            Format::Csv(csv) => csv.columns.names.clone(),
            _ => names.clone(),
        };
        Ok(Rows::with_format(shown, format, names))
    }

    /// Reads the Parquet file at `path` ([`parquet`]); `name` is used in messages, and the fields
    /// are in the columns `names` names.
    #[cfg(feature = "parquet")]
    pub fn parquet(path: &std::path::Path, name: &str, names: &ColumnNames) -> Result<Rows<R>> {
        let shown = visible(name).into_owned();
        let rows = parquet::ParquetRows::open(path, &shown, names)?;
        let names = rows.names().clone();
        Ok(Rows::with_format(shown, Format::Parquet(Box::new(rows)), names))
    }

    fn with_format(shown: String, format: Format<R>, names: ColumnNames) -> Rows<R> {
        Rows {
            shown,
            format,
            names,
            build_ids: Interner::default(),
            code_ids: Interner::default(),
            notation: None,
            epoch_unit: None,
            builds: Vec::new(),
            codes: Vec::new(),
            rows: 0,
            repeated_headers: 0,
            skip_invalid: false,
            skipped: Skipped::default(),
        }
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

    /// The unit column in use (CSV: as the header writes it; JSON lines: the key path), once the
    /// header (or the first JSON line) has shown it.
    pub fn unit_column(&self) -> Option<&str> {
        match &self.format {
            Format::Csv(csv) => csv.columns.unit.as_ref().map(|(_, name)| name.as_str()),
            Format::Json(json) => json.unit_path(),
            #[cfg(feature = "parquet")]
            Format::Parquet(rows) => rows.unit_column(),
        }
    }

    /// The fields found by another exporter's name for them, `(seed name, column as the header
    /// writes it)` ([`ColumnNames::resolved`]).
    pub fn chosen_columns(&self) -> &[(&'static str, String)] {
        match &self.format {
            Format::Csv(csv) => &csv.columns.chosen,
            #[cfg(feature = "parquet")]
            Format::Parquet(parquet) => parquet.chosen(),
            Format::Json(json) => json.chosen(),
        }
    }

    /// What the rows read so far said of the input, once they are all read.
    pub fn into_inventory(self) -> Inventory {
        Inventory {
            chosen_columns: self.chosen_columns().to_vec(),
            notation: self.notation,
            rows: self.rows,
            builds: self.builds,
            codes: self.codes,
            repeated_headers: self.repeated_headers,
            skipped: self.skipped,
        }
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
        let step = match &mut self.format {
            Format::Csv(csv) => {
                csv.next(&self.shown, &self.names, self.notation, &mut self.repeated_headers)?
            }
            Format::Json(json) => next_json(json, &self.shown, self.notation, self.epoch_unit)?,
            #[cfg(feature = "parquet")]
            Format::Parquet(rows) => {
                next_parquet(rows, &self.shown, &self.names, self.notation, self.epoch_unit)?
            }
        };
        let fields = match step {
            Step::Fields(fields) => fields,
            Step::Skip => return Ok(Parsed::Skip),
            Step::End => return Ok(Parsed::End),
        };
        // Only a valid row fixes the notation and names builds and codes.
        self.notation = Some(fields.notation);
        if fields.epoch_unit.is_some() {
            self.epoch_unit = fields.epoch_unit;
        }
        let (build, new_build) = self.build_ids.id(fields.version.as_bytes());
        if new_build {
            self.builds.push(BuildStats {
                version: fields.version.to_string(),
                rows: 0,
                events: 0,
            });
        }
        let (code, new_code) = self.code_ids.id(fields.code.as_bytes());
        if new_code {
            self.codes.push(Code::parse(&fields.code));
        }
        let stats = &mut self.builds[build];
        stats.rows += 1;
        stats.events = stats.events.saturating_add(fields.count);
        self.rows += 1;
        let (line, second, count, unit) = (fields.line, fields.second, fields.count, fields.unit);
        Ok(Parsed::Row(Row { line, second, build, code, count, unit }))
    }
}

/// A row's fields, checked, before its labels are interned.
struct Fields<'a> {
    line: u64,
    notation: Notation,
    /// The unit of a JSON number timestamp.
    epoch_unit: Option<EpochUnit>,
    second: i64,
    version: Cow<'a, str>,
    code: Cow<'a, str>,
    count: u64,
    unit: Option<u64>,
}

/// What reading one record of either format gave.
enum Step<'a> {
    Fields(Fields<'a>),
    Skip,
    End,
}

impl<R: Read> CsvRecords<R> {
    /// Reads the header; `name` is the input's name, `shown` the same made [`visible`].
    fn open(reader: Sniffed<R>, name: &str, shown: &str, names: &ColumnNames) -> Result<Self> {
        let cuts = Cuts::default();
        let delimiter = reader.delimiter();
        let limited = FieldLimit::new(LineLimit::new(reader), std::sync::Arc::clone(&cuts));
        let mut buffered = BufReader::with_capacity(1 << 16, limited);
        skip_bom(&mut buffered).with_context(|| format!("{shown}: cannot read"))?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(buffered);
        let header = match csv.byte_headers() {
            Ok(h) if h.is_empty() || (h.len() == 1 && h[0].is_empty()) => {
                bail!(
                    "{shown}: empty input: expected a header line with {}, {}, {}",
                    visible(&names.timestamp),
                    visible(&names.build),
                    visible(&names.code)
                )
            }
            Ok(h) => h.clone(),
            Err(e) => return Err(csv_error(shown, e)),
        };
        let header_cut = cuts.lock().unwrap_or_else(|p| p.into_inner()).front().cloned();
        if let Some(cut) = header_cut.filter(|c| c.record == 0) {
            bail!(
                "{shown}:1: header field {} is longer than {MAX_FIELD_BYTES} bytes ({})",
                cut.field + 1,
                quote_cut(&String::from_utf8_lossy(&header[cut.field]), cut.bytes)
            );
        }
        let columns = Columns::find(&header, name, names)?;
        Ok(CsvRecords {
            csv,
            cuts,
            records: 0,
            dropped_newlines: 0,
            header,
            columns,
            record: csv::ByteRecord::new(),
        })
    }

    /// The next record's fields, checked in column order: timestamp, build, code, count.
    fn next(
        &mut self,
        name: &str,
        names: &ColumnNames,
        notation: Option<Notation>,
        repeated_headers: &mut u64,
    ) -> std::result::Result<Step<'_>, Bad> {
        match self.csv.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Ok(Step::End),
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
            return Ok(Step::Skip); // a line of spaces
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
            *repeated_headers += 1;
            return Ok(Step::Skip);
        }
        let field = |index: usize, column: &str| -> std::result::Result<&str, Bad> {
            let text = utf8(&record[index], column, &at)?;
            if text.is_empty() {
                return Err(at(Invalid::EmptyField, format!("empty {}", visible(column))));
            }
            Ok(text)
        };

        let stamp = field(columns.timestamp, &names.timestamp)?;
        let (notation, second) =
            read_stamp(notation, &names.timestamp, stamp).map_err(|(r, what)| at(r, what))?;
        let version = field(columns.build, &names.build)?;
        let code = field(columns.code, &names.code)?;
        let count = match columns.count {
            None => 1,
            Some(index) => {
                let text = field(index, &names.count)?;
                parse_count(&names.count, text).map_err(|what| at(Invalid::Count, what))?
            }
        };
        let unit = match &columns.unit {
            None => None,
            Some((index, column)) => Some(unit_hash(field(*index, column)?.as_bytes())),
        };
        Ok(Step::Fields(Fields {
            line,
            notation,
            epoch_unit: None,
            second,
            version: Cow::Borrowed(version),
            code: Cow::Borrowed(code),
            count,
            unit,
        }))
    }
}

/// The next JSON line's fields, checked in the order CSV checks them.
fn next_json<'a, R: BufRead>(
    json: &'a mut JsonLines<R>,
    name: &str,
    notation: Option<Notation>,
    epoch_unit: Option<EpochUnit>,
) -> std::result::Result<Step<'a>, Bad> {
    let (line, names) = match json.next_line() {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(Step::End),
        Err(e) => return Err(line_error(name, e)),
    };
    json_fields(line, name, names, notation, epoch_unit).map(Step::Fields)
}

/// A JSON line's error as the reader reports it.
fn line_error(name: &str, e: LineError) -> Bad {
    match e {
        LineError::Fatal(e) => Bad::Fatal(anyhow!("{name}: cannot read: {e}")),
        LineError::Row(line, reason, what) => Bad::Row(reason, anyhow!("{name}:{line}: {what}")),
    }
}

/// A JSON line's values checked as fields, in the order CSV checks them, in the input's
/// `notation` and `epoch_unit` so far.
fn json_fields<'a>(
    line: jsonl::Line<'a>,
    name: &str,
    names: &ColumnNames,
    notation: Option<Notation>,
    epoch_unit: Option<EpochUnit>,
) -> std::result::Result<Fields<'a>, Bad> {
    let number = line.line;
    let text = line.text;
    let at = |reason: Invalid, what: String| Bad::Row(reason, anyhow!("{name}:{number}: {what}"));
    let missing = |path: &str| {
        let found = jsonl::key_paths(text);
        at(
            Invalid::MissingKey,
            format!(
                "missing key {} (keys found: {})",
                visible(path),
                crate::escape::list_cut(found.iter().map(|k| quote(k)))
            ),
        )
    };
    let unit_path = line.unit_path;
    let [stamp, version, code, count, unit] = line.values;
    let (notation, second, epoch_unit) = match stamp {
        None => return Err(missing(&names.timestamp)),
        Some(Value::Number(raw)) => {
            if raw.len() > MAX_TIMESTAMP_BYTES {
                return Err(at(
                    Invalid::FieldLength,
                    format!(
                        "{} is longer than {MAX_TIMESTAMP_BYTES} bytes ({})",
                        visible(&names.timestamp),
                        quote(raw)
                    ),
                ));
            }
            if let Some(ours) = notation.filter(|n| n.name() != Notation::Epoch.name()) {
                return Err(at(
                    Invalid::Timestamp,
                    format!(
                        "timestamp notation changed: expected {}, found a number ({})",
                        ours.name(),
                        quote(raw)
                    ),
                ));
            }
            let (second, unit) = timestamp::parse_epoch_number(raw)
                .map_err(|e| at(Invalid::Timestamp, format!("{e} ({})", quote(raw))))?;
            if let Some(first) = epoch_unit.filter(|&u| u != unit) {
                return Err(at(
                    Invalid::Timestamp,
                    format!(
                        "number timestamps changed unit: the first were Unix {}, this one is \
                         read as {} (numbers from 10^11 on are milliseconds) ({})",
                        first.name(),
                        unit.name(),
                        quote(raw)
                    ),
                ));
            }
            (Notation::Epoch, second, Some(unit))
        }
        Some(value) => {
            let stamp = json_text(value, &names.timestamp, &at)?;
            let (notation, second) =
                read_stamp(notation, &names.timestamp, &stamp).map_err(|(r, what)| at(r, what))?;
            (notation, second, None)
        }
    };
    let version = json_text(version.ok_or_else(|| missing(&names.build))?, &names.build, &at)?;
    let code = json_text(code.ok_or_else(|| missing(&names.code))?, &names.code, &at)?;
    let count = match count {
        None if names.count_required => return Err(missing(&names.count)),
        None => 1,
        Some(value) => {
            let text = json_text(value, &names.count, &at)?;
            parse_count(&names.count, &text).map_err(|what| at(Invalid::Count, what))?
        }
    };
    let unit = match (unit_path, unit) {
        (None, _) => None,
        (Some(path), None) => return Err(missing(path)),
        (Some(path), Some(value)) => Some(unit_hash(json_text(value, path, &at)?.as_bytes())),
    };
    Ok(Fields { line: number, notation, epoch_unit, second, version, code, count, unit })
}

/// The next Parquet row's fields, checked in the order CSV checks them.
#[cfg(feature = "parquet")]
fn next_parquet<'a>(
    rows: &'a mut parquet::ParquetRows,
    name: &str,
    names: &ColumnNames,
    notation: Option<Notation>,
    epoch_unit: Option<EpochUnit>,
) -> std::result::Result<Step<'a>, Bad> {
    use parquet::Cell;
    let (number, [stamp, version, code, count, unit], unit_name) = match rows.next_row() {
        Ok(Some(row)) => row,
        Ok(None) => return Ok(Step::End),
        Err(e) => return Err(Bad::Fatal(e)),
    };
    let at =
        |reason: Invalid, what: String| Bad::Row(reason, anyhow!("{name}: row {number}: {what}"));
    let null = |column: &str| at(Invalid::EmptyField, format!("empty {} (null)", visible(column)));
    // The open found every column but an optional count.
    let stamp = stamp.unwrap_or(Cell::Null);
    let (notation, second, epoch_unit) = match stamp {
        Cell::Null => return Err(null(&names.timestamp)),
        Cell::Instant(second) => {
            if second.unsigned_abs() > timestamp::MAX_ABS_SECOND as u64 {
                return Err(at(
                    Invalid::Timestamp,
                    format!("timestamp out of range (beyond year 9999) ({second} s)"),
                ));
            }
            (Notation::Rfc3339 { offset_seconds: 0 }, second, None)
        }
        Cell::Int(n) => {
            let raw = n.to_string();
            let (second, unit) = timestamp::parse_epoch_number(&raw)
                .map_err(|e| at(Invalid::Timestamp, format!("{e} ({})", quote(&raw))))?;
            if let Some(first) = epoch_unit.filter(|&u| u != unit) {
                return Err(at(
                    Invalid::Timestamp,
                    format!(
                        "integer timestamps changed unit: the first were Unix {}, this one is \
                         read as {} (integers from 10^11 on are milliseconds) ({})",
                        first.name(),
                        unit.name(),
                        quote(&raw)
                    ),
                ));
            }
            (Notation::Epoch, second, Some(unit))
        }
        Cell::TimeOfDay(second) => (Notation::Offset, second, None),
        Cell::Text(bytes) => {
            let stamp = parquet_text(bytes, &names.timestamp, &at)?;
            let (notation, second) =
                read_stamp(notation, &names.timestamp, &stamp).map_err(|(r, what)| at(r, what))?;
            (notation, second, None)
        }
    };
    let label = |cell: Option<Cell<'a>>, column: &str| match cell.unwrap_or(Cell::Null) {
        Cell::Null => Err(null(column)),
        Cell::Int(n) => Ok(Cow::Owned(n.to_string())),
        Cell::Text(bytes) => parquet_text(bytes, column, &at),
        // The open refuses a timestamp-typed column for any other field.
        Cell::Instant(_) | Cell::TimeOfDay(_) => Err(at(
            Invalid::FieldType,
            format!("{} is a timestamp, not a string or an integer", visible(column)),
        )),
    };
    let version = label(version, &names.build)?;
    let code = label(code, &names.code)?;
    let count = match count {
        None => 1,
        Some(Cell::Int(n)) => u64::try_from(n).map_err(|_| {
            at(Invalid::Count, format!("{} must not be negative ({n})", visible(&names.count)))
        })?,
        Some(cell) => {
            let text = label(Some(cell), &names.count)?;
            parse_count(&names.count, &text).map_err(|what| at(Invalid::Count, what))?
        }
    };
    let unit = match (unit, unit_name) {
        (Some(cell), Some(column)) => Some(unit_hash(label(Some(cell), column)?.as_bytes())),
        _ => None,
    };
    Ok(Step::Fields(Fields {
        line: number,
        notation,
        epoch_unit,
        second,
        version,
        code,
        count,
        unit,
    }))
}

/// A Parquet string as a field's text, trimmed and checked as CSV fields are.
#[cfg(feature = "parquet")]
fn parquet_text<'a>(
    bytes: &'a [u8],
    column: &str,
    at: &impl Fn(Invalid, String) -> Bad,
) -> std::result::Result<Cow<'a, str>, Bad> {
    let text = utf8(bytes, column, at)?;
    json_text(jsonl::Value::Text(Cow::Borrowed(text)), column, at)
}

/// A field's bytes as text, or the row error naming the column and showing the bytes.
fn utf8<'a>(
    bytes: &'a [u8],
    column: &str,
    at: &impl Fn(Invalid, String) -> Bad,
) -> std::result::Result<&'a str, Bad> {
    std::str::from_utf8(bytes).map_err(|_| {
        at(
            Invalid::Utf8,
            format!(
                "{} is not valid UTF-8 ({})",
                visible(column),
                quote(&String::from_utf8_lossy(bytes))
            ),
        )
    })
}

/// A JSON value as a field's text, trimmed as CSV fields are: a string, or a number as written.
fn json_text<'a>(
    value: Value<'a>,
    column: &str,
    at: &impl Fn(Invalid, String) -> Bad,
) -> std::result::Result<Cow<'a, str>, Bad> {
    // The column's name is made visible only for a message: this runs for every field.
    let text = match value {
        Value::Text(text) => text,
        Value::Number(raw) => Cow::Borrowed(raw),
        Value::Null => {
            return Err(at(Invalid::EmptyField, format!("empty {} (null)", visible(column))));
        }
        Value::Other(raw) => {
            return Err(at(
                Invalid::FieldType,
                format!("{} is not a string or a number ({})", visible(column), quote(raw)),
            ));
        }
    };
    if text.len() as u64 > MAX_FIELD_BYTES {
        return Err(at(
            Invalid::FieldLength,
            format!(
                "{} is longer than {MAX_FIELD_BYTES} bytes ({})",
                visible(column),
                quote_cut(&text, text.len() as u64)
            ),
        ));
    }
    let text = match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim_ascii()),
        Cow::Owned(text) if text.trim_ascii().len() == text.len() => Cow::Owned(text),
        Cow::Owned(text) => Cow::Owned(text.trim_ascii().to_string()),
    };
    if text.is_empty() {
        return Err(at(Invalid::EmptyField, format!("empty {}", visible(column))));
    }
    Ok(text)
}

/// A (trimmed, non-empty) timestamp field read in the input's notation, or in the one it shows
/// when it is the first: the notation and the second, or why not.
fn read_stamp(
    notation: Option<Notation>,
    column: &str,
    stamp: &str,
) -> std::result::Result<(Notation, i64), (Invalid, String)> {
    if stamp.len() > MAX_TIMESTAMP_BYTES {
        return Err((
            Invalid::FieldLength,
            format!(
                "{} is longer than {MAX_TIMESTAMP_BYTES} bytes ({})",
                visible(column),
                quote(stamp)
            ),
        ));
    }
    let notation = match notation {
        Some(n) => n,
        None => Notation::detect(stamp).ok_or_else(|| {
            (
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
        .map_err(|e| (Invalid::Timestamp, format!("{e} ({})", quote(stamp))))?;
    Ok((notation, second))
}

/// A count field: a non-negative integer.
fn parse_count(column: &str, text: &str) -> std::result::Result<u64, String> {
    text.parse::<u64>().map_err(|_| {
        let column = visible(column);
        let what = if text.starts_with('-') {
            format!("{column} must not be negative")
        } else if text.bytes().all(|b| b.is_ascii_digit()) {
            format!("{column} is too large")
        } else {
            format!("{column} is not a non-negative integer")
        };
        format!("{what} ({})", quote(text))
    })
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
