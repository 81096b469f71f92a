//! Parquet: the four fields (and a unit) read column by column from a Parquet file, one row at a
//! time.
//!
//! A file is read as Parquet when its name ends in `.parquet` or its first bytes are the magic
//! `PAR1` ([`is_parquet`]). Parquet keeps its metadata at the end of the file, so it is read only
//! from a file that can be seeked: from standard input, or with `--follow`, the reader of
//! [`super::Rows`] names the format and says to write it to a file.
//!
//! The columns are found by the names of [`super::columns::ColumnNames`], case-insensitively, the
//! unit (`--unit-column`, or by default the earliest of [`super::columns::UNIT_CANDIDATES`] among
//! the columns no other field reads) as in CSV;
//! a column inside a group is named by its dotted path (`app.version`), as a JSON key path is.
//! A column that repeats (a list) is refused. What each column may hold:
//!
//! - the timestamp: a Parquet `TIMESTAMP` of any unit (milliseconds, microseconds, nanoseconds;
//!   adjusted to UTC or not, the instant is taken as UTC), Spark's legacy `INT96`, an integer
//!   (Unix seconds below 10^11, milliseconds from it on, as JSON lines numbers:
//!   [`super::timestamp::EPOCH_MILLIS_FROM`]) or a string in one of the CSV notations;
//! - the build, the code and the unit: a string, or an integer, whose label is its decimal text;
//! - the count: an integer, or a string holding one.
//!
//! The pages are decoded by the parquet crate's column readers, [`BATCH_ROWS`] rows of the four
//! columns at a time; other columns are never decoded. A null is a value like any other here:
//! [`super::Rows`] refuses it, as it refuses an empty CSV field. A file the crate cannot decode
//! (truncated, corrupt, a codec it was built without) ends the read with an error naming the file,
//! and a panic inside the crate on malformed data is caught and reported the same way.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use ::parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use ::parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use ::parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type, Int96, Int96Type};
use ::parquet::file::reader::FileReader;
use ::parquet::file::serialized_reader::SerializedFileReader;
use ::parquet::schema::types::ColumnDescPtr;
use anyhow::{Result, anyhow, bail};

use super::columns::{ColumnNames, UnitColumn, unit_rank};

/// The first (and last) four bytes of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// Rows decoded per column at a time: enough to make a call's cost small per row, few enough that
/// the four columns' buffers stay small.
pub const BATCH_ROWS: usize = 8192;

/// Whether the file at `path` is to be read as Parquet: by its name, or by its first four bytes.
pub fn is_parquet(path: &Path) -> bool {
    let named = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    named || {
        use std::io::Read;
        let mut head = [0u8; 4];
        File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == MAGIC
    }
}

/// One field's value in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// A null.
    Null,
    /// An integer (of a column without a timestamp type).
    Int(i128),
    /// A string's bytes (not yet checked to be UTF-8).
    Text(&'a [u8]),
    /// A timestamp-typed value, as Unix seconds (floored).
    Instant(i64),
    /// A time-of-day value (`TIME`, as DuckDB writes `H:MM:SS` offsets), as seconds since
    /// midnight (floored): an `H:MM:SS` offset.
    TimeOfDay(i64),
}

/// How a column's values become [`Cell`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Integers; `unsigned` when the bits are of an unsigned integer.
    Int { unsigned: bool },
    /// Strings (or bytes).
    Text,
    /// Timestamps in units of 1 / `per_second` seconds since the epoch.
    Instant { per_second: i64 },
    /// Spark's `INT96` timestamps.
    Int96,
    /// Times of day in units of 1 / `per_second` seconds since midnight.
    TimeOfDay { per_second: i64 },
}

/// A column's decoder and the values of its current batch.
enum Values {
    I32(ColumnReaderImpl<Int32Type>, Vec<i32>),
    I64(ColumnReaderImpl<Int64Type>, Vec<i64>),
    I96(ColumnReaderImpl<Int96Type>, Vec<Int96>),
    Bytes(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
}

/// One wanted column.
struct Column {
    /// Its index among the file's leaf columns.
    index: usize,
    descr: ColumnDescPtr,
    kind: Kind,
    /// The decoder of the current row group, with its batch.
    values: Option<Values>,
    /// The batch's definition levels (when the column is nullable).
    def_levels: Vec<i16>,
    /// The next value of the batch (non-null values are stored densely).
    next_value: usize,
}

/// Reads the four fields of a Parquet file, one row at a time.
pub struct ParquetRows {
    /// The file's name as messages show it.
    shown: String,
    reader: SerializedFileReader<File>,
    /// The columns, as [`FIELDS`] orders them; `None` for an absent (optional) count or unit.
    columns: [Option<Column>; FIELDS],
    /// The next row group to open.
    next_group: usize,
    /// Rows in the current batch, and the next of them.
    batch_rows: usize,
    at: usize,
    /// Rows handed out so far.
    row: u64,
    /// The fields' names as the file's columns write them ([`ColumnNames::resolved`]).
    names: ColumnNames,
    /// The fields found by another exporter's name: `(seed name, column)`.
    chosen: Vec<(&'static str, String)>,
    /// The unit column, when units are counted.
    unit_column: Option<String>,
}

/// The columns read: timestamp, build, code, count and unit, in that order.
const FIELDS: usize = 5;

/// The unit's place in [`FIELDS`].
const UNIT: usize = 4;

/// The types a column may have for each field, for the message refusing another.
const EXPECTED: [&str; FIELDS] = [
    "a TIMESTAMP, a TIME, an integer or a string",
    "a string or an integer",
    "a string or an integer",
    "an integer or a string",
    "a string or an integer",
];

impl ParquetRows {
    /// Opens the Parquet file at `path` and finds its columns; `shown` names it in messages.
    pub fn open(path: &Path, shown: &str, names: &ColumnNames) -> Result<ParquetRows> {
        let file = File::open(path).map_err(|e| anyhow!("{shown}: cannot open: {e}"))?;
        let reader = guarded(|| SerializedFileReader::new(file))
            .map_err(|e| anyhow!("{shown}: not a readable Parquet file: {e:#}"))?;
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let found: Vec<String> = schema.columns().iter().map(|c| c.path().string()).collect();
        let (resolved, chosen) = names.resolved(&found);
        let names = &resolved;
        let position = |wanted: &str| super::columns::position(&found, wanted);
        let missing = |wanted: &str| {
            anyhow!(
                "{shown}: missing required column {} (columns found: {})",
                super::visible(wanted),
                crate::escape::list_cut(found.iter().map(|n| super::quote(n)))
            )
        };
        let fields = [&names.timestamp, &names.build, &names.code, &names.count];
        let mut indices: [Option<usize>; FIELDS] = [None; FIELDS];
        for (field, name) in fields.iter().enumerate() {
            indices[field] = match position(name) {
                Some(index) => Some(index),
                None if field == 3 && !names.count_required => None,
                None => return Err(missing(name)),
            };
        }
        let unit = match &names.unit {
            UnitColumn::Off => None,
            UnitColumn::Named(unit) => Some(position(unit).ok_or_else(|| missing(unit))?),
            UnitColumn::Auto => (0..found.len())
                .filter(|at| !indices.contains(&Some(*at)))
                .filter_map(|at| unit_rank(&found[at]).map(|rank| (rank, at)))
                .min()
                .map(|(_, at)| at),
        };
        indices[UNIT] = unit;
        let unit_column = unit.map(|at| found[at].clone());
        let mut columns: [Option<Column>; FIELDS] = [None, None, None, None, None];
        for (field, (slot, index)) in columns.iter_mut().zip(indices).enumerate() {
            let Some(index) = index else { continue };
            let name = &found[index];
            let descr = schema.column(index);
            if descr.max_rep_level() > 0 {
                bail!(
                    "{shown}: column {} repeats (a list): expected {}",
                    super::visible(name),
                    EXPECTED[field]
                );
            }
            let kind = kind_of(&descr, field == 0).ok_or_else(|| {
                anyhow!(
                    "{shown}: column {} is of type {}: expected {}",
                    super::visible(name),
                    type_name(&descr),
                    EXPECTED[field]
                )
            })?;
            *slot = Some(Column {
                index,
                descr,
                kind,
                values: None,
                def_levels: Vec::new(),
                next_value: 0,
            });
        }
        Ok(ParquetRows {
            shown: shown.to_string(),
            reader,
            columns,
            next_group: 0,
            batch_rows: 0,
            at: 0,
            row: 0,
            names: resolved.clone(),
            chosen,
            unit_column,
        })
    }

    /// The unit column in use, as the file names it.
    pub fn unit_column(&self) -> Option<&str> {
        self.unit_column.as_deref()
    }

    /// The fields' names as the file's columns write them.
    pub fn names(&self) -> &ColumnNames {
        &self.names
    }

    /// The fields found by another exporter's name: `(seed name, column)`.
    pub fn chosen(&self) -> &[(&'static str, String)] {
        &self.chosen
    }

    /// The next row's number (from 1), its cells (`None` for an absent count or unit column) and
    /// the unit column's name, for messages about its cell; `None` at the end of the file.
    #[allow(clippy::type_complexity)]
    pub fn next_row(&mut self) -> Result<Option<(u64, [Option<Cell<'_>>; FIELDS], Option<&str>)>> {
        while self.at == self.batch_rows {
            if !self.next_batch()? {
                return Ok(None);
            }
        }
        let row = self.at;
        self.at += 1;
        self.row += 1;
        let mut slots: [Option<Option<usize>>; FIELDS] = [None; FIELDS];
        for (slot, column) in slots.iter_mut().zip(&mut self.columns) {
            if let Some(column) = column {
                let max = column.descr.max_def_level();
                *slot = Some(if max == 0 || column.def_levels[row] == max {
                    column.next_value += 1;
                    Some(column.next_value - 1)
                } else {
                    None
                });
            }
        }
        let mut cells: [Option<Cell<'_>>; FIELDS] = [None; FIELDS];
        for ((cell, slot), column) in cells.iter_mut().zip(slots).zip(&self.columns) {
            if let (Some(slot), Some(column)) = (slot, column) {
                *cell = Some(match slot {
                    None => Cell::Null,
                    Some(value) => column.cell(value).ok_or_else(|| {
                        anyhow!(
                            "{}: row {}: corrupt Parquet data (a value is missing)",
                            self.shown,
                            self.row
                        )
                    })?,
                });
            }
        }
        Ok(Some((self.row, cells, self.unit_column.as_deref())))
    }

    /// Decodes the next batch of rows, opening the next row group when this one is done; `false`
    /// at the end of the file.
    fn next_batch(&mut self) -> Result<bool> {
        let shown = self.shown.clone();
        let first_row = self.row + 1;
        loop {
            if self.columns.iter().flatten().all(|c| c.values.is_none()) {
                if self.next_group == self.reader.num_row_groups() {
                    return Ok(false);
                }
                let group = guarded(|| self.reader.get_row_group(self.next_group))
                    .map_err(|e| corrupt(&shown, first_row, &e))?;
                for column in self.columns.iter_mut().flatten() {
                    let reader = guarded(|| group.get_column_reader(column.index))
                        .map_err(|e| corrupt(&shown, first_row, &e))?;
                    column.values = Some(Values::new(reader));
                }
                self.next_group += 1;
            }
            let mut read = None;
            for column in self.columns.iter_mut().flatten() {
                let rows =
                    guarded(|| column.read_batch()).map_err(|e| corrupt(&shown, first_row, &e))?;
                if *read.get_or_insert(rows) != rows {
                    bail!(
                        "{shown}: row {first_row}: corrupt Parquet file (its columns hold \
                         different numbers of rows)"
                    );
                }
            }
            match read {
                // No column wanted at all is impossible: the timestamp always is.
                None | Some(0) => {
                    for column in self.columns.iter_mut().flatten() {
                        column.values = None;
                    }
                }
                Some(rows) => {
                    self.batch_rows = rows;
                    self.at = 0;
                    return Ok(true);
                }
            }
        }
    }
}

impl Values {
    fn new(reader: ColumnReader) -> Values {
        match reader {
            ColumnReader::Int32ColumnReader(r) => Values::I32(r, Vec::new()),
            ColumnReader::Int64ColumnReader(r) => Values::I64(r, Vec::new()),
            ColumnReader::Int96ColumnReader(r) => Values::I96(r, Vec::new()),
            ColumnReader::ByteArrayColumnReader(r) => Values::Bytes(r, Vec::new()),
            // kind_of accepts no other physical type.
            _ => unreachable!("a column of a type refused when the file was opened"),
        }
    }
}

impl Column {
    /// Decodes up to [`BATCH_ROWS`] rows of the column; the rows decoded (0 at the end of the row
    /// group).
    fn read_batch(&mut self) -> ::parquet::errors::Result<usize> {
        self.next_value = 0;
        self.def_levels.clear();
        let def = (self.descr.max_def_level() > 0).then_some(&mut self.def_levels);
        let (rows, _, _) = match self.values.as_mut().expect("a row group is open") {
            Values::I32(r, v) => {
                v.clear();
                r.read_records(BATCH_ROWS, def, None, v)?
            }
            Values::I64(r, v) => {
                v.clear();
                r.read_records(BATCH_ROWS, def, None, v)?
            }
            Values::I96(r, v) => {
                v.clear();
                r.read_records(BATCH_ROWS, def, None, v)?
            }
            Values::Bytes(r, v) => {
                v.clear();
                r.read_records(BATCH_ROWS, def, None, v)?
            }
        };
        if self.descr.max_def_level() > 0 && self.def_levels.len() < rows {
            return Err(::parquet::errors::ParquetError::General(
                "fewer definition levels than rows".into(),
            ));
        }
        Ok(rows)
    }

    /// The `value`th non-null value of the batch; `None` if the batch has fewer.
    fn cell(&self, value: usize) -> Option<Cell<'_>> {
        let values = self.values.as_ref()?;
        Some(match (values, self.kind) {
            (Values::I32(_, v), Kind::Int { unsigned }) => {
                let v = *v.get(value)?;
                Cell::Int(if unsigned { i128::from(v as u32) } else { i128::from(v) })
            }
            (Values::I64(_, v), Kind::Int { unsigned }) => {
                let v = *v.get(value)?;
                Cell::Int(if unsigned { i128::from(v as u64) } else { i128::from(v) })
            }
            (Values::I64(_, v), Kind::Instant { per_second }) => {
                Cell::Instant(v.get(value)?.div_euclid(per_second))
            }
            (Values::I96(_, v), Kind::Int96) => Cell::Instant(v.get(value)?.to_seconds()),
            (Values::I64(_, v), Kind::TimeOfDay { per_second }) => {
                Cell::TimeOfDay(v.get(value)?.div_euclid(per_second))
            }
            (Values::I32(_, v), Kind::TimeOfDay { per_second }) => {
                Cell::TimeOfDay(i64::from(*v.get(value)?).div_euclid(per_second))
            }
            (Values::Bytes(_, v), Kind::Text) => Cell::Text(v.get(value)?.data()),
            _ => return None,
        })
    }
}

/// How a column's values are read, if it has a type a field may have; `timestamp` admits the
/// timestamp types.
fn kind_of(descr: &ColumnDescPtr, timestamp: bool) -> Option<Kind> {
    let logical = descr.logical_type_ref();
    if let Some(per_second) = time_of_day(descr).filter(|_| timestamp) {
        return Some(Kind::TimeOfDay { per_second });
    }
    match descr.physical_type() {
        PhysicalType::INT64 if timestamp => {
            let per_second = match (logical, descr.converted_type()) {
                (Some(LogicalType::Timestamp(t)), _) => per_second(&t.unit),
                (_, ConvertedType::TIMESTAMP_MILLIS) => 1_000,
                (_, ConvertedType::TIMESTAMP_MICROS) => 1_000_000,
                _ => return integer(descr),
            };
            Some(Kind::Instant { per_second })
        }
        PhysicalType::INT96 if timestamp => Some(Kind::Int96),
        PhysicalType::INT32 | PhysicalType::INT64 => integer(descr),
        PhysicalType::BYTE_ARRAY => match logical {
            None | Some(LogicalType::String | LogicalType::Enum) => Some(Kind::Text),
            _ => None,
        },
        _ => None,
    }
}

/// A time unit's units per second.
fn per_second(unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::MILLIS => 1_000,
        TimeUnit::MICROS => 1_000_000,
        TimeUnit::NANOS => 1_000_000_000,
    }
}

/// Units per second of a `TIME` column (milliseconds in `INT32`, micro- or nanoseconds in
/// `INT64`), `None` for any other.
fn time_of_day(descr: &ColumnDescPtr) -> Option<i64> {
    let per_second = match (descr.logical_type_ref(), descr.converted_type()) {
        (Some(LogicalType::Time(t)), _) => per_second(&t.unit),
        (_, ConvertedType::TIME_MILLIS) => 1_000,
        (_, ConvertedType::TIME_MICROS) => 1_000_000,
        _ => return None,
    };
    let physical = if per_second == 1_000 { PhysicalType::INT32 } else { PhysicalType::INT64 };
    (descr.physical_type() == physical).then_some(per_second)
}

/// An integer column's kind: plain or signed/unsigned integers, not dates, times or decimals.
fn integer(descr: &ColumnDescPtr) -> Option<Kind> {
    match (descr.logical_type_ref(), descr.converted_type()) {
        (Some(LogicalType::Integer(int)), _) => Some(Kind::Int { unsigned: !int.is_signed }),
        (None, ConvertedType::NONE | ConvertedType::INT_8 | ConvertedType::INT_16)
        | (None, ConvertedType::INT_32 | ConvertedType::INT_64) => {
            Some(Kind::Int { unsigned: false })
        }
        (None, ConvertedType::UINT_8 | ConvertedType::UINT_16)
        | (None, ConvertedType::UINT_32 | ConvertedType::UINT_64) => {
            Some(Kind::Int { unsigned: true })
        }
        _ => None,
    }
}

/// A column's type as a message names it: its logical type if it has one, else its physical type.
fn type_name(descr: &ColumnDescPtr) -> String {
    match descr.logical_type_ref() {
        Some(logical) => format!("{logical:?} ({})", descr.physical_type()),
        None if descr.converted_type() != ConvertedType::NONE => {
            format!("{} ({})", descr.converted_type(), descr.physical_type())
        }
        None => descr.physical_type().to_string(),
    }
}

thread_local! {
    /// Whether this thread is inside a call into the parquet crate ([`guarded`]).
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a call into the parquet crate, turning a panic on malformed data into an error. The panic
/// hook is wrapped once so that such a panic prints nothing (the error says what happened); a
/// panic anywhere else is printed as before.
fn guarded<T>(call: impl FnOnce() -> ::parquet::errors::Result<T>) -> Result<T> {
    static QUIET_WHILE_DECODING: std::sync::Once = std::sync::Once::new();
    QUIET_WHILE_DECODING.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(|decoding| decoding.get()) {
                previous(info);
            }
        }));
    });
    DECODING.with(|decoding| decoding.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(call));
    DECODING.with(|decoding| decoding.set(false));
    match outcome {
        Ok(result) => result.map_err(anyhow::Error::from),
        Err(_) => Err(anyhow!("the Parquet decoder failed on malformed data")),
    }
}

/// The error for data the crate could not decode from row `row` on: a codec left out of this
/// build is named as such, anything else is corrupt data.
fn corrupt(shown: &str, row: u64, e: &anyhow::Error) -> anyhow::Error {
    let message = format!("{e:#}");
    match message.split_once("Disabled feature at compile time: ") {
        Some((_, codec)) => anyhow!(
            "{shown}: compressed with {codec}, which errwatch does not decode (it reads snappy, \
             zstd and gzip): rewrite the file with one of those (in DuckDB: COPY (FROM '{shown}') \
             TO 'events.parquet' (FORMAT parquet, COMPRESSION 'zstd'))"
        ),
        None => anyhow!("{shown}: row {row}: cannot decode the Parquet data: {message}"),
    }
}
