//! The fast path of the reader: plain CSV files parsed on every core without the csv crate.
//!
//! Error streams are simple CSV: no quotes, a handful of short fields, the same few build versions
//! and codes over and over. This path is built for that layout and hands everything else to the
//! csv-crate path ([`super::Rows`]), which stays the reference: whenever this path meets anything
//! it does not handle exactly as the reference would (a quote, a lone `\r`, a malformed or
//! erroneous row, an unusual header), it gives up on the whole file and the caller reads it again
//! on the reference path. So bad input is reported by the reference path alone, with its messages
//! and line numbers, and the two paths agree on every file this one accepts (a test compares
//! them).
//!
//! The algorithm:
//!
//! 1. The header and the first data row are read from the start of the file: the columns are
//!    found as on the reference path and the timestamp notation is detected from the first row.
//! 2. The data is cut into chunks of whole lines, one run of consecutive chunks per worker thread
//!    ([`super::source`]); each run is parsed into counters of its own (a `Tally`, laid out for
//!    counting rows in time order), with its own small interning tables for builds and codes.
//!    In a stream ordered by time each run covers its own stretch of time, so the runs' counters
//!    together hold about one copy of the stream's; they have a memory budget
//!    (`MAX_COUNTER_BYTES`), past which (a long stream in random order) the path gives up.
//!    Timestamps in their common shapes are parsed in place without allocating (`H:MM:SS`, Unix
//!    seconds, and RFC 3339 `...Z` by caching the day of the last date seen), anything rarer by
//!    the reference parser.
//! 3. A line takes one of two ways. The long way splits it into fields (a word-at-a-time scan for
//!    `,`, `\n` and `\r`) and checks each field as the reference does. When the timestamp is the
//!    first column and there is no `Count`, the rest of the line after the timestamp's comma (say
//!    `5.0007.610.011,-12`) decides the build and the code; a worker remembers every rest it
//!    took the long way, so the short way is: parse the timestamp, find the newline, look the
//!    rest up whole (a hash of three words), count. The values repeat, so nearly every line takes
//!    the short way, and a rest seen before stands for fields already checked.
//! 4. The workers' tables are merged: each build and code gets the id of its first appearance in
//!    the file (the earliest file offset any worker saw it at), as the reference path numbers
//!    them, and the per-second counters are handed to the caller's [`CountSink`] (the aggregator),
//!    the merged span first, then each run's sealed records whole, which the aggregator takes over
//!    without a copy (a state seals its window into records as soon as it has read its last
//!    chunk, so only the states still reading hold a window).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::limit::MAX_FIELD_BYTES;
use super::progress::Progress;
use super::source::{self, GaveUp};
use super::{
    BuildStats, ColumnNames, Columns, CountSink, Inventory, MAX_LINE_BYTES, MAX_SPAN_SECONDS,
    is_repeated_header, labels::Code, records::Records, timestamp::Notation,
};

/// Bytes read from the start of the file to find the header and the first data row.
const HEAD_BYTES: u64 = 64 << 10;

/// Files with more columns than this take the reference path.
const MAX_COLUMNS: usize = 32;

/// The most memory the workers' per-second counters may take together: past it, the fast path
/// gives up and the reference path, which holds the counters once, reads the file.
///
/// Each state's dense counters are a window of at most [`WINDOW_BYTES`] over the seconds of the
/// rows it reads, sliding forward over rows in time order and sealing the seconds it leaves as
/// per-second records (4 bytes per non-zero counter, not counted here: the aggregator takes them
/// over as they are). A state that has read its last chunk frees its window.
/// Rows far out of order (a shuffled long stream) reach before a window, and the path gives up:
/// the reference path reads the file on one core into the sparse counters.
pub(super) const MAX_COUNTER_BYTES: u64 = 32 << 20;

/// The most memory one worker state's dense counters take: an eighth of [`MAX_COUNTER_BYTES`],
/// so that the states of several cores stay within it, and the windows of the states still
/// reading stay small beside the counters they seal. An hour of 66 build-code series (1.8 MB with
/// its cells rounded up) fits whole, in any row order; longer or wider streams slide the window.
pub(super) const WINDOW_BYTES: usize = MAX_COUNTER_BYTES as usize / 8;

/// Reads the CSV file at `path` on the fast path, counting its events into `sink`, or says why it
/// gave up (the caller then reads the file on the reference path, into a fresh sink: this one may
/// hold part of the counts).
pub fn read_file<S: CountSink>(
    path: &Path,
    columns: &ColumnNames,
    progress: &Progress,
    sink: &mut S,
) -> Result<Inventory, GaveUp> {
    let mut file = File::open(path).map_err(|_| GaveUp("cannot open"))?;
    let len = file.metadata().map_err(|_| GaveUp("cannot stat"))?.len();
    let mut head = Vec::new();
    (&mut file).take(HEAD_BYTES).read_to_end(&mut head).map_err(|_| GaveUp("cannot read"))?;
    let layout = Layout::find(&head, head.len() as u64 == len, columns)?;
    let threads = source::workers_for(len - layout.data_start);
    let workers = source::for_each_chunk_then(
        path,
        layout.data_start,
        len,
        threads,
        || Worker::new(&layout),
        progress,
        |w, at, lines| w.parse(at, lines),
        Worker::done,
    )?;
    let workers = workers.into_iter().map(|w| (w.counted, (w.tail_rows, w.repeated_headers)));
    merge(
        layout.notation,
        workers.collect(),
        sink,
        |counted, (tail_rows, repeated), build_map, builds| {
            // The rows counted the short way, one event each, by cell.
            for (&(build, _), &tail_rows) in counted.tally.cells.iter().zip(tail_rows) {
                let stats = &mut builds[build_map[build]];
                stats.rows += tail_rows;
                stats.events = stats.events.saturating_add(tail_rows);
            }
            *repeated
        },
    )
    .map(|inventory| Inventory { chosen_columns: layout.columns.chosen.clone(), ..inventory })
}

/// What the start of the file says about all of it.
struct Layout {
    /// The header's fields, trimmed (to recognise repeated header lines).
    header: csv::ByteRecord,
    columns: Columns,
    /// Detected from the first data row.
    notation: Notation,
    /// File offset of the first byte after the header line.
    data_start: u64,
    /// Bytes of per-second counters the workers hold together, against [`MAX_COUNTER_BYTES`].
    counter_bytes: AtomicU64,
}

impl Layout {
    /// Reads the layout from the first bytes of the file; `whole` says they are the whole file.
    fn find(head: &[u8], whole: bool, names: &ColumnNames) -> Result<Layout, GaveUp> {
        let bom = if head.starts_with(b"\xEF\xBB\xBF") {
            3
        } else if head.first() == Some(&0xEF) {
            return Err(GaveUp("a partial byte-order mark"));
        } else {
            0
        };
        let text = &head[bom..];
        let header_end = memchr::memchr(b'\n', text).ok_or(GaveUp("no complete header line"))?;
        let line = &text[..header_end];
        if line.contains(&b'"') || line.trim_ascii().is_empty() {
            return Err(GaveUp("an unusual header line"));
        }
        if line.iter().position(|&b| b == b'\r').is_some_and(|cr| cr + 1 != line.len()) {
            return Err(GaveUp("a carriage return inside the header line"));
        }
        let mut header = csv::ByteRecord::new();
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line);
        if !csv.read_byte_record(&mut header).unwrap_or(false) {
            return Err(GaveUp("an unreadable header line"));
        }
        header.trim();
        let columns = Columns::find(&header, "", names).map_err(|_| GaveUp("a missing column"))?;
        if columns.unit.is_some() {
            return Err(GaveUp("a unit column (units are counted on the reference path)"));
        }
        if columns.width > MAX_COLUMNS {
            return Err(GaveUp("too many columns"));
        }
        let data_start = bom + header_end + 1;

        // The first data row, skipping blank lines and repeated headers as the reference does.
        let mut fields = Fields::default();
        let mut at = data_start;
        loop {
            let Some(next) = fields.split(head, at)? else {
                return Err(GaveUp("no data row at the start of the file"));
            };
            if !whole && head[next - 1] != b'\n' {
                return Err(GaveUp("no complete data row at the start of the file"));
            }
            if fields.is_blank(head) {
                at = next;
                continue;
            }
            if fields.len != columns.width {
                return Err(GaveUp("a row of the wrong width"));
            }
            let row = fields.trimmed(head);
            if is_repeated(&row, &header) {
                at = next;
                continue;
            }
            let stamp = std::str::from_utf8(row[columns.timestamp])
                .map_err(|_| GaveUp("a timestamp that is not UTF-8"))?;
            let notation =
                Notation::detect(stamp).ok_or(GaveUp("an unrecognised first timestamp"))?;
            return Ok(Layout {
                header,
                columns,
                notation,
                data_start: data_start as u64,
                counter_bytes: AtomicU64::new(0),
            });
        }
    }
}

/// Whether a row's (trimmed) fields are a copy of the header.
fn is_repeated(row: &[&[u8]], header: &csv::ByteRecord) -> bool {
    is_repeated_header(&row.iter().copied().collect::<csv::ByteRecord>(), header)
}

/// The fields of one line, as byte ranges into the chunk.
struct Fields {
    ranges: [(usize, usize); MAX_COLUMNS],
    len: usize,
}

impl Default for Fields {
    fn default() -> Fields {
        Fields { ranges: [(0, 0); MAX_COLUMNS], len: 0 }
    }
}

impl Fields {
    /// Splits the line starting at `at` and returns where the next line starts, or `None` at the
    /// end of `bytes`. Gives up on a `\r` that does not end a line (the reference path takes it
    /// for a line break) and on more than [`MAX_COLUMNS`] fields.
    #[inline]
    fn split(&mut self, bytes: &[u8], at: usize) -> Result<Option<usize>, GaveUp> {
        if at >= bytes.len() {
            return Ok(None);
        }
        self.len = 0;
        let mut start = at;
        loop {
            let end = find_delimiter(bytes, start);
            if self.len == MAX_COLUMNS {
                return Err(GaveUp("too many fields"));
            }
            self.ranges[self.len] = (start, end);
            self.len += 1;
            match bytes.get(end) {
                None => return Ok(Some(end)),
                Some(b',') => start = end + 1,
                Some(b'\n') => return Ok(Some(end + 1)),
                _ => {
                    return match bytes.get(end + 1) {
                        Some(b'\n') => Ok(Some(end + 2)),
                        None => Ok(Some(end + 1)),
                        Some(_) => Err(GaveUp("a carriage return inside a line")),
                    };
                }
            }
        }
    }

    /// The `index`th field, trimmed of ASCII whitespace as the reference path trims.
    #[inline]
    fn get<'b>(&self, bytes: &'b [u8], index: usize) -> &'b [u8] {
        let (start, end) = self.ranges[index];
        bytes[start..end].trim_ascii()
    }

    /// A blank line, or one of spaces only: the reference path skips it.
    fn is_blank(&self, bytes: &[u8]) -> bool {
        self.len == 1 && self.get(bytes, 0).is_empty()
    }

    fn trimmed<'b>(&self, bytes: &'b [u8]) -> Vec<&'b [u8]> {
        (0..self.len).map(|i| self.get(bytes, i)).collect()
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The smallest byte that is never a delimiter candidate: `,` (0x2C), `\n` and `\r` are below it,
/// while digits, letters, `.`, `:` and `-` are not, so in an ordinary field no byte is a candidate.
const ABOVE_DELIMITERS: u64 = 0x2D;

/// The index of the first `,`, `\n` or `\r` at or after `at`, or `bytes.len()`.
///
/// Eight bytes at a time: `(word - 0x2D..) & !word & 0x80..` marks bytes below 0x2D (the lowest
/// mark is exact; marks above it may be spurious), so one subtraction finds the first candidate,
/// which is then checked (a space or a `+` is a candidate but no delimiter).
#[inline]
fn find_delimiter(bytes: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let below = word.wrapping_sub(ONES * ABOVE_DELIMITERS) & !word & HIGHS;
        if below == 0 {
            at += 8;
            continue;
        }
        let candidate = at + (below.trailing_zeros() / 8) as usize;
        if matches!(bytes[candidate], b',' | b'\n' | b'\r') {
            return candidate;
        }
        at = candidate + 1;
    }
    while at < bytes.len() && !matches!(bytes[at], b',' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// The high bit of every zero byte of `word` set; a byte above a zero byte may also be marked,
/// but never a byte below the lowest zero byte, which is all a search needs.
#[inline]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The index of the first `\n` at or after `at`, or `bytes.len()`.
#[inline]
fn find_newline(bytes: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = zero_bytes(word ^ (ONES * u64::from(b'\n')));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i)
}

/// Interns short byte strings as dense ids, in order of first appearance.
///
/// Open addressing over a power-of-two table; a key of up to [`SHORT_KEY`] bytes is held as three
/// words and its length (see [`Key`]), so a lookup is a hash of three words and a compare of four.
/// Longer keys go to a `HashMap`.
pub(super) struct Interner {
    slots: Vec<u32>,
    short: Vec<Key>,
    long: HashMap<Vec<u8>, usize>,
    /// Every key by id.
    pub(super) keys: Vec<Vec<u8>>,
}

const EMPTY_SLOT: u32 = u32::MAX;

/// The table starts with this many slots and keeps at least four per key, so a lookup rarely
/// probes a second slot.
const MIN_SLOTS: usize = 256;

/// The longest key held as words.
const SHORT_KEY: usize = 24;

/// A key of at most [`SHORT_KEY`] bytes as three words that together cover it (they overlap when
/// it is shorter; bytes past a key below eight bytes are zeroed) and its length: two keys are
/// equal exactly when their `Key`s are.
#[derive(Clone, Copy, Debug)]
struct Key([u64; 3], usize);

impl PartialEq for Key {
    // Word by word: a derived array compare loads the key as one vector, which stalls when its
    // words were just stored separately.
    #[inline(always)]
    fn eq(&self, other: &Key) -> bool {
        self.1 == other.1
            && self.0[0] == other.0[0]
            && self.0[1] == other.0[1]
            && self.0[2] == other.0[2]
    }
}

impl Eq for Key {}

/// Never equal to a [`Key`] made by [`Key::of`].
const NO_KEY: Key = Key([0; 3], usize::MAX);

impl Key {
    /// The key `bytes[start..end]`, which is at most [`SHORT_KEY`] bytes.
    #[inline(always)]
    fn of(bytes: &[u8], start: usize, end: usize) -> Key {
        let len = end - start;
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight"));
        if len > 16 {
            return Key([word(start), word(start + 8), word(end - 8)], len);
        }
        if len >= 8 {
            return Key([word(start), word(end - 8), 0], len);
        }
        let first = match bytes.get(start..start + 8) {
            // The bytes after the key are in the buffer: load eight and keep the key's.
            Some(eight) => {
                u64::from_le_bytes(eight.try_into().expect("eight")) & ((1u64 << (8 * len)) - 1)
            }
            None => {
                let mut padded = [0u8; 8];
                padded[..len].copy_from_slice(&bytes[start..end]);
                u64::from_le_bytes(padded)
            }
        };
        Key([first, 0, 0], len)
    }

    /// The slot of the key in a table of `slots` (a power of two) slots.
    #[inline(always)]
    fn slot(&self, slots: usize) -> usize {
        let [a, b, c] = self.0;
        // Fibonacci hashing: the multiplier is 2^64 divided by the golden ratio, and the top bits
        // of the product are the ones every input bit reaches.
        let mixed = (a ^ b.rotate_left(21) ^ c.rotate_left(42) ^ self.1 as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - slots.trailing_zeros())) as usize
    }
}

impl Interner {
    pub(super) fn new() -> Interner {
        Interner {
            slots: vec![EMPTY_SLOT; MIN_SLOTS],
            short: Vec::new(),
            long: HashMap::new(),
            keys: Vec::new(),
        }
    }

    /// The id of `bytes[start..end]`, if it was seen.
    #[inline(always)]
    pub(super) fn get(&self, bytes: &[u8], start: usize, end: usize) -> Option<usize> {
        if end - start > SHORT_KEY {
            return self.get_long(&bytes[start..end]);
        }
        let key = Key::of(bytes, start, end);
        let mask = self.slots.len() - 1;
        let mut slot = key.slot(self.slots.len());
        loop {
            let id = self.slots[slot];
            if id == EMPTY_SLOT {
                return None;
            }
            if self.short[id as usize] == key {
                return Some(id as usize);
            }
            slot = (slot + 1) & mask;
        }
    }

    #[cold]
    fn get_long(&self, key: &[u8]) -> Option<usize> {
        self.long.get(key).copied()
    }

    /// Adds a key not seen before and returns its id.
    pub(super) fn insert(&mut self, key: &[u8]) -> usize {
        let id = self.keys.len();
        self.keys.push(key.to_vec());
        if key.len() > SHORT_KEY {
            self.long.insert(key.to_vec(), id);
            self.short.push(NO_KEY);
            return id;
        }
        self.short.push(Key::of(key, 0, key.len()));
        if self.short.len() * 4 > self.slots.len() {
            self.slots = vec![EMPTY_SLOT; self.slots.len() * 2];
            for (id, key) in self.short.iter().enumerate() {
                if *key != NO_KEY {
                    place(&mut self.slots, key, id);
                }
            }
        } else {
            place(&mut self.slots, &self.short[id], id);
        }
        id
    }
}

fn place(slots: &mut [u32], key: &Key, id: usize) {
    let mask = slots.len() - 1;
    let mut slot = key.slot(slots.len());
    while slots[slot] != EMPTY_SLOT {
        slot = (slot + 1) & mask;
    }
    slots[slot] = id as u32;
}

/// What one worker thread has read.
struct Worker<'a> {
    layout: &'a Layout,
    counted: Counted,
    /// Per cell of the tally: rows counted the short way (one event each), added to their build's
    /// rows and events at the merge.
    tail_rows: Vec<u64>,
    repeated_headers: u64,
    stamps: Stamps,
    fields: Fields,
    /// Whether rows are `Timestamp,<the rest>` with no `Count`, so the rest of a line, as bytes,
    /// says which build and code it is: then [`Worker::tails`] remembers every rest seen.
    by_tail: bool,
    /// The rests of lines after the timestamp and its comma (without the `\n`) read so far.
    tails: Interner,
    /// The tally cell (build and code) of each rest, by its id in `tails`.
    tail_cells: Vec<usize>,
}

impl<'a> Worker<'a> {
    fn new(layout: &'a Layout) -> Worker<'a> {
        Worker {
            layout,
            // A state's share of the budget, checked before its counters grow (the window then
            // slides over rows in time order); the sum over states, of which a thread helping
            // with others' chunks makes more than one, is checked after each chunk.
            counted: Counted::new(WINDOW_BYTES),
            tail_rows: Vec::new(),
            repeated_headers: 0,
            stamps: Stamps::new(layout.notation),
            fields: Fields::default(),
            by_tail: layout.columns.timestamp == 0 && layout.columns.count.is_none(),
            tails: Interner::new(),
            tail_cells: Vec::new(),
        }
    }

    /// Parses a run of whole lines starting at file offset `offset`.
    ///
    /// Most lines take the short way ([`Worker::row_by_tail`]); the first line with a given build
    /// and code, and any line out of the ordinary, takes the long way: split into fields, each
    /// one checked ([`Worker::row`]).
    fn parse(&mut self, offset: u64, lines: &[u8]) -> Result<(), GaveUp> {
        if memchr::memchr(b'"', lines).is_some() {
            return Err(GaveUp("a quote"));
        }
        let mut at = 0;
        while at < lines.len() {
            if self.by_tail
                && let Some(next) = self.row_by_tail(lines, at)
            {
                at = next;
                continue;
            }
            let next = self.fields.split(lines, at)?.expect("a line starts before the end");
            self.row(offset, lines, at, next)?;
            at = next;
        }
        self.counted.account(&self.layout.counter_bytes)
    }

    /// Ends this state's reading: its counters are sealed and its window freed, and its share of
    /// the budget given back for the states still reading.
    fn done(&mut self) {
        self.counted.tally.seal_all();
        self.counted.release(&self.layout.counter_bytes);
    }

    /// The short way for a line `<timestamp>,<a rest seen before>`: the timestamp is parsed and
    /// the rest looked up whole. Returns where the next line starts, or `None` (having changed
    /// nothing) when the line must take the long way.
    #[inline]
    fn row_by_tail(&mut self, lines: &[u8], at: usize) -> Option<usize> {
        let comma = find_delimiter(lines, at);
        if lines.get(comma) != Some(&b',') {
            return None;
        }
        let second = self.fast_timestamp(&lines[at..comma])?;
        let newline = find_newline(lines, comma + 1);
        let cell = self.tail_cells[self.tails.get(lines, comma + 1, newline)?];
        self.counted.tally.add(second, cell, 1).ok()?;
        self.tail_rows[cell] += 1;
        Some(newline + 1)
    }

    /// The long way for the line from `line_start` to `next`, whose fields are in `self.fields`.
    fn row(
        &mut self,
        offset: u64,
        lines: &[u8],
        line_start: usize,
        next: usize,
    ) -> Result<(), GaveUp> {
        if (next - line_start) as u64 > MAX_LINE_BYTES {
            // The reference path refuses such lines (see `LineLimit`) or at least reads them
            // differently at its buffer boundaries: leave them to it.
            return Err(GaveUp("a line longer than the reference path reads"));
        }
        if self.fields.ranges[..self.fields.len]
            .iter()
            .any(|&(start, end)| (end - start) as u64 > MAX_FIELD_BYTES)
        {
            return Err(GaveUp("a field longer than the reference path reads"));
        }
        let columns = &self.layout.columns;
        if self.fields.len != columns.width {
            if self.fields.is_blank(lines) {
                return Ok(());
            }
            return Err(GaveUp("a row of the wrong width"));
        }
        let stamp = self.fields.get(lines, columns.timestamp);
        let Some(second) = self.timestamp(stamp) else {
            if is_repeated(&self.fields.trimmed(lines), &self.layout.header) {
                self.repeated_headers += 1;
                return Ok(());
            }
            return Err(GaveUp("a bad timestamp"));
        };
        let count = match columns.count {
            None => 1,
            Some(index) => parse_count(self.fields.get(lines, index))?,
        };
        let where_seen = offset + line_start as u64;
        let build = self.build(lines, columns.build, where_seen)?;
        let code = self.code(lines, columns.code, where_seen)?;
        let cell = self.counted.tally.cell(build, code)?;
        if cell == self.tail_rows.len() {
            self.tail_rows.push(0);
        }
        self.counted.count(second, build, cell, count)?;
        if self.by_tail {
            // The rest after the timestamp's comma, without the newline.
            let tail = self.fields.ranges[0].1 + 1;
            let end = if lines.get(next - 1) == Some(&b'\n') { next - 1 } else { next };
            if end - tail <= SHORT_KEY && self.tails.get(lines, tail, end).is_none() {
                self.tails.insert(&lines[tail..end]);
                self.tail_cells.push(cell);
            }
        }
        Ok(())
    }

    /// The second of a trimmed timestamp field, `None` if it is not one in the file's notation.
    #[inline]
    fn timestamp(&mut self, field: &[u8]) -> Option<i64> {
        self.fast_timestamp(field).or_else(|| self.timestamp_as_reference(field))
    }

    /// [`Worker::timestamp`] for the common shapes only: `None` may also mean "ask the
    /// reference parser".
    #[inline(always)]
    fn fast_timestamp(&self, field: &[u8]) -> Option<i64> {
        self.stamps.fast(field)
    }

    /// The reference parser ([`Stamps::by_reference`]).
    #[cold]
    fn timestamp_as_reference(&mut self, field: &[u8]) -> Option<i64> {
        self.stamps.by_reference(field)
    }

    /// The id of the build in field `index`, interning it at its first sight.
    #[inline]
    fn build(&mut self, lines: &[u8], index: usize, where_seen: u64) -> Result<usize, GaveUp> {
        let range = trimmed_range(lines, self.fields.ranges[index]);
        self.counted.build(lines, range, where_seen)
    }

    /// The id of the code in field `index`, interning it at its first sight.
    #[inline]
    fn code(&mut self, lines: &[u8], index: usize, where_seen: u64) -> Result<usize, GaveUp> {
        let range = trimmed_range(lines, self.fields.ranges[index]);
        self.counted.code(lines, range, where_seen)
    }
}

/// The id of `bytes[start..end]` in `interner`, and whether it is new: at its first sight it is
/// interned ([`intern`]) and `where_seen` is noted in `first`.
#[inline]
fn sight(
    interner: &mut Interner,
    first: &mut Vec<u64>,
    bytes: &[u8],
    (start, end): (usize, usize),
    where_seen: u64,
) -> Result<(usize, bool), GaveUp> {
    if let Some(id) = interner.get(bytes, start, end) {
        return Ok((id, false));
    }
    let id = intern(interner, &bytes[start..end])?;
    first.push(where_seen);
    Ok((id, true))
}

/// Interns a new build or code: non-empty UTF-8, as the reference path requires.
#[cold]
fn intern(interner: &mut Interner, key: &[u8]) -> Result<usize, GaveUp> {
    if key.is_empty() || std::str::from_utf8(key).is_err() {
        return Err(GaveUp("an empty or non-UTF-8 field"));
    }
    Ok(interner.insert(key))
}

/// A field's range with ASCII whitespace trimmed from both ends.
#[inline]
fn trimmed_range(bytes: &[u8], (mut start, mut end): (usize, usize)) -> (usize, usize) {
    while start < end && bytes[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    (start, end)
}

/// A non-negative integer count, as the reference reads it (`u64`'s parser, which takes a `+`).
#[inline]
fn parse_count(field: &[u8]) -> Result<u64, GaveUp> {
    parse_digits(field, 19)
        .map(|n| n as u64)
        .or_else(|| std::str::from_utf8(field).ok()?.parse().ok())
        .ok_or(GaveUp("a bad count"))
}

/// `field` as a decimal number of 1 to `max_digits` digits (at most 18 keeps it in an `i64`).
#[inline]
pub(super) fn parse_digits(field: &[u8], max_digits: usize) -> Option<i64> {
    if field.is_empty() || field.len() > max_digits {
        return None;
    }
    let mut n: u64 = 0;
    for &b in field {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + u64::from(digit);
    }
    i64::try_from(n).ok()
}

/// Two decimal digits.
#[inline]
fn two_digits(pair: &[u8]) -> Option<i64> {
    let (tens, ones) = (pair[0].wrapping_sub(b'0'), pair[1].wrapping_sub(b'0'));
    // `then`, not `then_some`: the product must not be computed for a byte that is no digit
    // (it overflows a u8; found by fuzzing the binary).
    (tens <= 9 && ones <= 9).then(|| i64::from(tens * 10 + ones))
}

/// `H:MM:SS` with 1 to 12 hour digits and no fraction; anything else is left to the reference
/// parser (which also names the errors).
#[inline]
fn parse_hms(field: &[u8]) -> Option<i64> {
    let n = field.len();
    if !(7..=14).contains(&n) || field[n - 6] != b':' || field[n - 3] != b':' {
        return None;
    }
    // Eight digits of hours stay within MAX_ABS_SECOND (see Epoch above).
    let hours = parse_digits(&field[..n - 6], 8)?;
    let minutes = two_digits(&field[n - 5..n - 3])?;
    let seconds = two_digits(&field[n - 2..])?;
    (minutes < 60 && seconds < 60).then_some(hours * 3600 + minutes * 60 + seconds)
}

/// `HH:MM:SS` of a day (no leap second), in seconds after midnight.
#[inline]
fn parse_time_of_day(time: &[u8]) -> Option<i64> {
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (hours, minutes, seconds) =
        (two_digits(&time[..2])?, two_digits(&time[3..5])?, two_digits(&time[6..])?);
    (hours < 24 && minutes < 60 && seconds < 60).then_some(hours * 3600 + minutes * 60 + seconds)
}

/// One worker's per-second counters, by cell (a build and code pair, numbered as the worker meets
/// it), second-major: the cells of one second lie side by side, so rows in time order keep to a
/// few cache lines and a count is one multiply-add away. [`Tally::add_to`] hands the counts to a
/// [`CountSink`] at the end, as per-second records in time order ([`super::records`]).
///
/// With a limit, the dense counters are a window over the latest seconds: when rows move past
/// it, its oldest seconds are sealed into a sparse list of their non-zero cells and the window
/// slides, so rows in time order take the window plus 4 bytes per (second, cell) with events,
/// however many cells there are. A row from before the window gives up (rows far out of order).
/// Cells grow geometrically, so many distinct codes cost linear time.
#[derive(Default)]
pub(super) struct Tally {
    /// Seconds before the window, in order, by cell ([`super::records`]).
    sealed: Records,
    /// The first second a row may be counted at without growing anything: the span's first
    /// second, or the window's when seconds before it are sealed.
    fast_from: i64,
    /// The second of the first row of `counts`.
    origin: i64,
    /// Seconds of room.
    room: usize,
    /// Cells of room per second.
    stride: usize,
    /// `counts[(second - origin) * stride + cell]`.
    pub(super) counts: Vec<u32>,
    /// The earliest and latest second counted (zero counts included), inside the room.
    pub(super) span: Option<(i64, i64)>,
    /// The build and code of each cell.
    pub(super) cells: Vec<(usize, usize)>,
    cell_ids: HashMap<(usize, usize), usize>,
    /// The most bytes the counters may take, if limited.
    limit: Option<usize>,
}

impl Tally {
    /// A tally whose counters take at most `limit` bytes.
    pub(super) fn with_limit(limit: usize) -> Tally {
        Tally { limit: Some(limit), ..Tally::default() }
    }

    /// The cell of a build and a code, made at first sight.
    pub(super) fn cell(&mut self, build: usize, code: usize) -> Result<usize, GaveUp> {
        if let Some(&cell) = self.cell_ids.get(&(build, code)) {
            return Ok(cell);
        }
        let cell = self.cells.len();
        if cell >= self.stride {
            // Doubling keeps many distinct codes linear; the window shrinks to stay in budget.
            let stride = (cell + 1).next_multiple_of(8).max(self.stride * 2);
            let room = self.room.min(self.max_room(stride)?);
            if room < self.room {
                let last = self.span.map_or(self.origin, |s| s.1);
                self.seal_before(last + 1 - room as i64);
            }
            self.relayout(self.origin, room, stride)?;
        }
        self.cells.push((build, code));
        self.cell_ids.insert((build, code), cell);
        Ok(cell)
    }

    /// Gives up when `room` seconds of `stride` cells would take more than the limit.
    fn check_limit(&self, room: usize, stride: usize) -> Result<(), GaveUp> {
        match self.limit {
            Some(limit) if room.saturating_mul(stride).saturating_mul(size_of::<u32>()) > limit => {
                Err(GaveUp("per-second counters over the memory budget"))
            }
            _ => Ok(()),
        }
    }

    /// Adds `count` events of `cell` at `second`; gives up where the reference path would fail
    /// (a span over [`MAX_SPAN_SECONDS`], a counter overflow).
    #[inline]
    pub(super) fn add(&mut self, second: i64, cell: usize, count: u64) -> Result<(), GaveUp> {
        if let Some((_, last)) = self.span
            && self.fast_from <= second
            && second <= last
        {
            let at = (second - self.origin) as usize * self.stride + cell;
            return bump(&mut self.counts[at], count);
        }
        self.add_growing(second, cell, count)
    }

    #[cold]
    fn add_growing(&mut self, second: i64, cell: usize, count: u64) -> Result<(), GaveUp> {
        let (first, last) = match self.span {
            None => (second, second),
            Some((first, last)) => (first.min(second), last.max(second)),
        };
        if last - first > MAX_SPAN_SECONDS {
            return Err(GaveUp("a span over the longest the counters cover"));
        }
        if self.room == 0 {
            let room = self.max_room(self.stride)?.min(64);
            self.relayout(second, room, self.stride)?;
        } else if second < self.origin && !self.sealed.is_empty() {
            return Err(GaveUp("per-second counters over the memory budget"));
        } else if second < self.origin {
            // Doubling the room toward the past keeps reverse-ordered input linear.
            let grow = ((self.origin - first) as usize).max(self.room);
            self.relayout(self.origin - grow as i64, self.room + grow, self.stride)?;
        } else if (last - self.origin) as usize >= self.room {
            // Toward the future the rows are appended: the vector's own growth moves nothing
            // it need not (a large one is remapped) and only the seconds added are zeroed, so
            // time-ordered input holds little more than its span.
            let mut room = (last - self.origin) as usize + 1 + FORWARD_SLACK_SECONDS;
            let max_room = self.max_room(self.stride)?;
            if room > max_room {
                // Slide: seal the older half of the window's worth before `last`.
                let keep = (max_room / 2).max(1);
                self.seal_before((last + 1 - keep as i64).max(self.origin));
                room = ((last - self.origin) as usize + 1 + FORWARD_SLACK_SECONDS).min(max_room);
            }
            self.check_limit(room, self.stride)?;
            if room > self.room {
                self.room = room;
                self.counts.resize(self.room * self.stride, 0);
            }
        }
        self.span = Some((first, last));
        self.fast_from = first.max(self.origin);
        let at = (second - self.origin) as usize * self.stride + cell;
        bump(&mut self.counts[at], count)
    }

    /// The most seconds of room `stride` cells may have within the limit (gives up under one).
    fn max_room(&self, stride: usize) -> Result<usize, GaveUp> {
        let Some(limit) = self.limit else {
            return Ok(usize::MAX / 2);
        };
        match limit / (stride.max(1) * size_of::<u32>()) {
            0 => Err(GaveUp("per-second counters over the memory budget")),
            room => Ok(room),
        }
    }

    /// Seals the window's seconds before `second` into the sparse list and moves the window to
    /// start there.
    fn seal_before(&mut self, second: i64) {
        if second <= self.origin || self.room == 0 {
            return;
        }
        let sealed_seconds = ((second - self.origin) as usize).min(self.room);
        self.seal_rows(sealed_seconds);
        let moved = sealed_seconds * self.stride;
        self.counts.copy_within(moved.., 0);
        let len = self.counts.len();
        self.counts[len - moved..].fill(0);
        // Past the whole window, the window starts afresh at `second`.
        self.origin = second;
        self.fast_from = self.fast_from.max(self.origin);
    }

    /// Seals the window's first `seconds` seconds (those in the span) into the sparse list.
    fn seal_rows(&mut self, seconds: usize) {
        let Some((first, last)) = self.span else {
            return;
        };
        for offset in 0..seconds {
            let at_second = self.origin + offset as i64;
            if at_second < first || at_second > last {
                continue;
            }
            let row = &self.counts[offset * self.stride..(offset + 1) * self.stride];
            let mut opened = false;
            // Most cells of a second are zero in a wide stream: skip them eight at a time.
            for (block, counts) in row.chunks(8).enumerate() {
                if counts.iter().fold(0, |any, &n| any | n) == 0 {
                    continue;
                }
                for (i, &n) in counts.iter().enumerate() {
                    if n > 0 {
                        if !opened {
                            self.sealed.open(at_second);
                            opened = true;
                        }
                        self.sealed.push((block * 8 + i) as u32, n);
                    }
                }
            }
        }
    }

    /// Seals every second counted and frees the window: the state has read its last row.
    fn seal_all(&mut self) {
        if self.room > 0 {
            self.seal_rows(self.room);
        }
        self.counts = Vec::new();
        self.room = 0;
    }

    /// Moves the counts into a room of `room` seconds from `origin` with `stride` cells each.
    fn relayout(&mut self, origin: i64, room: usize, stride: usize) -> Result<(), GaveUp> {
        self.check_limit(room, stride)?;
        // The seconds counted in the window (none before the first row).
        let (from, to) = self.span.map_or((1, 0), |(first, last)| (first.max(self.origin), last));
        let live = from..=to;
        if origin > self.origin || stride < self.stride {
            let mut counts = vec![0u32; room * stride];
            for second in live {
                let from = (second - self.origin) as usize * self.stride;
                let to = (second - origin) as usize * stride;
                counts[to..to + self.stride]
                    .copy_from_slice(&self.counts[from..from + self.stride]);
            }
            (self.origin, self.room, self.stride, self.counts) = (origin, room, stride, counts);
            return Ok(());
        }
        // The origin moves back and the rows widen, so every row moves up: moved in place, the
        // highest first, in a buffer allocated once at the limit (reserved as a reading buffer
        // is, `READING_BUFFER_RESERVE`). So the window is never allocated anew as it grows and
        // slides, which would leave the freed copies in the allocator's pools, out of the reach
        // of the stages after reading.
        if let Some(limit) = self.limit
            && self.counts.capacity() == 0
        {
            let bytes = limit.max(super::source::READING_BUFFER_RESERVE);
            self.counts.reserve_exact(bytes / size_of::<u32>());
        }
        let len = self.counts.len().max(room * stride);
        self.counts.resize(len, 0);
        let old_stride = self.stride;
        for second in live.rev() {
            let from = (second - self.origin) as usize * old_stride;
            let to = (second - origin) as usize * stride;
            if to != from {
                self.counts.copy_within(from..from + old_stride, to);
                // What is left of the row where it was is zeroed, as are its new cells.
                self.counts[from..(from + old_stride).min(to)].fill(0);
            }
            self.counts[to + old_stride..to + stride].fill(0);
        }
        self.counts.truncate(room * stride);
        (self.origin, self.room, self.stride) = (origin, room, stride);
        Ok(())
    }

    /// Hands the counts to `sink`, mapping this worker's build and code ids through `builds` and
    /// `codes`: the span and the ids first, then the sealed records whole.
    pub(super) fn add_to<S: CountSink>(
        mut self,
        sink: &mut S,
        builds: &[usize],
        codes: &[usize],
    ) -> Result<(), GaveUp> {
        let Some((first, last)) = self.span else {
            return Ok(());
        };
        self.seal_all();
        let out_of_range = |_| GaveUp("a merged span or counter out of range");
        let cells: Vec<(usize, usize)> =
            self.cells.iter().map(|&(build, code)| (builds[build], codes[code])).collect();
        for &(build, code) in &cells {
            // The span and the ids as the reference path leaves them, zero counts included.
            sink.add(first, build, code, 0).map_err(out_of_range)?;
            sink.add(last, build, code, 0).map_err(out_of_range)?;
        }
        sink.add_records(&cells, self.sealed).map_err(out_of_range)
    }
}

/// Seconds of room a [`Tally`] adds beyond the latest second when it grows toward the future.
const FORWARD_SLACK_SECONDS: usize = 256;

/// Adds `count` to one counter, giving up where it would overflow.
#[inline]
fn bump(counter: &mut u32, count: u64) -> Result<(), GaveUp> {
    match u32::try_from(count).ok().and_then(|c| counter.checked_add(c)) {
        Some(sum) => {
            *counter = sum;
            Ok(())
        }
        None => Err(GaveUp("a counter overflow")),
    }
}

/// One build's or code's first sighting by one worker.
struct Sighting {
    offset: u64,
    worker: usize,
    id: usize,
}

/// Numbers the builds (or codes) the workers saw by first appearance in the file: the names in
/// that order, and per worker the map from its ids to those numbers.
fn number<'w, W>(
    workers: &'w [W],
    first: impl Fn(&'w W) -> &'w [u64],
    keys: impl Fn(&'w W) -> &'w [Vec<u8>],
) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut sightings: Vec<Sighting> = workers
        .iter()
        .enumerate()
        .flat_map(|(worker, w)| {
            first(w).iter().enumerate().map(move |(id, &offset)| Sighting { offset, worker, id })
        })
        .collect();
    sightings.sort_by_key(|s| s.offset);
    let mut global: HashMap<&[u8], usize> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut maps: Vec<Vec<usize>> = workers.iter().map(|w| vec![0; first(w).len()]).collect();
    for s in sightings {
        let key = &keys(&workers[s.worker])[s.id][..];
        let next = global.len();
        let id = *global.entry(key).or_insert_with(|| {
            order.push(String::from_utf8_lossy(key).into_owned());
            next
        });
        maps[s.worker][s.id] = id;
    }
    (order, maps)
}

/// The timestamps of either fast reader: the common shapes of the file's notation read in place,
/// the rest by the reference parser, which also keeps, for an RFC 3339 `...Z` timestamp, its
/// date and the second of its midnight, so that the next rows of that day take the short way.
pub(super) struct Stamps {
    notation: Notation,
    /// RFC 3339: the `YYYY-MM-DDT` of the last date seen and the Unix second of its midnight.
    day: Option<([u8; 11], i64)>,
}

impl Stamps {
    /// No date seen yet, for timestamps in `notation`.
    pub(super) fn new(notation: Notation) -> Stamps {
        Stamps { notation, day: None }
    }

    /// The second of `field` for the common shapes only: `None` may also mean "ask the
    /// reference parser".
    #[inline(always)]
    pub(super) fn fast(&self, field: &[u8]) -> Option<i64> {
        match self.notation {
            Notation::Offset => parse_hms(field),
            // Up to fourteen digits: seconds below EPOCH_MILLIS_FROM, milliseconds from it on,
            // within MAX_ABS_SECOND either way; longer values go to the reference parser, which
            // refuses what is out of range.
            Notation::Epoch => parse_digits(field, 14)
                .map(|n| if n >= super::timestamp::EPOCH_MILLIS_FROM { n / 1000 } else { n }),
            // `...Z`, or no offset at all (read as UTC), on the day of the last date seen.
            Notation::Rfc3339 { .. } => self.day.and_then(|(date, midnight)| {
                (field.get(..11) == Some(&date[..])
                    && (field.len() == 19 || (field.len() == 20 && field[19] == b'Z')))
                    .then(|| parse_time_of_day(&field[11..19]))
                    .flatten()
                    .map(|time| midnight + time)
            }),
        }
    }

    /// The reference parser, and for an RFC 3339 `...Z` timestamp (or one without an offset), its
    /// day for the next rows.
    #[cold]
    pub(super) fn by_reference(&mut self, field: &[u8]) -> Option<i64> {
        let second = self.notation.parse(std::str::from_utf8(field).ok()?).ok()?;
        if let Notation::Rfc3339 { .. } = self.notation
            && (field.len() == 19 || (field.len() == 20 && field[19] == b'Z'))
            && matches!(field[10], b'T' | b' ')
            && let Some(time) = parse_time_of_day(&field[11..19])
        {
            let date = field[..11].try_into().expect("eleven bytes");
            self.day = Some((date, second - time));
        }
        Some(second)
    }
}

/// What a worker of either fast reader (CSV, JSON lines) counts, for [`merge`]: its builds and
/// codes by local id, each with the file offset of the line where it was first seen, its rows
/// and events per build, and its counters, with the bytes of them booked in the readers' budget.
pub(super) struct Counted {
    builds: Interner,
    build_first: Vec<u64>,
    build_rows: Vec<u64>,
    build_events: Vec<u64>,
    codes: Interner,
    code_first: Vec<u64>,
    pub(super) tally: Tally,
    /// Bytes of `tally` booked in the readers' total ([`Counted::account`]).
    booked: u64,
}

impl Counted {
    /// Nothing counted yet, the counters kept within `limit` bytes (a state's share of the
    /// budget).
    pub(super) fn new(limit: usize) -> Counted {
        Counted {
            builds: Interner::new(),
            build_first: Vec::new(),
            build_rows: Vec::new(),
            build_events: Vec::new(),
            codes: Interner::new(),
            code_first: Vec::new(),
            tally: Tally::with_limit(limit),
            booked: 0,
        }
    }

    /// The id of the build `bytes[range]`, interning it at its first sight, in the line at file
    /// offset `where_seen`.
    #[inline]
    pub(super) fn build(
        &mut self,
        bytes: &[u8],
        range: (usize, usize),
        where_seen: u64,
    ) -> Result<usize, GaveUp> {
        let (id, new) = sight(&mut self.builds, &mut self.build_first, bytes, range, where_seen)?;
        if new {
            self.build_rows.push(0);
            self.build_events.push(0);
        }
        Ok(id)
    }

    /// The id of the code `bytes[range]`, as [`Counted::build`].
    #[inline]
    pub(super) fn code(
        &mut self,
        bytes: &[u8],
        range: (usize, usize),
        where_seen: u64,
    ) -> Result<usize, GaveUp> {
        sight(&mut self.codes, &mut self.code_first, bytes, range, where_seen).map(|(id, _)| id)
    }

    /// Counts a row of `count` events of `build` at `second`, in the tally's cell `cell`.
    #[inline]
    pub(super) fn count(
        &mut self,
        second: i64,
        build: usize,
        cell: usize,
        count: u64,
    ) -> Result<(), GaveUp> {
        self.tally.add(second, cell, count)?;
        self.build_rows[build] += 1;
        self.build_events[build] = self.build_events[build].saturating_add(count);
        Ok(())
    }

    /// Books what the counters grew by in the readers' `total`, and gives up past
    /// [`MAX_COUNTER_BYTES`].
    pub(super) fn account(&mut self, total: &AtomicU64) -> Result<(), GaveUp> {
        let now = (self.tally.counts.len() * size_of::<u32>()) as u64;
        if now > self.booked {
            let more = now - self.booked;
            self.booked = now;
            if total.fetch_add(more, Ordering::Relaxed) + more > MAX_COUNTER_BYTES {
                return Err(GaveUp("per-second counters over the memory budget"));
            }
        }
        Ok(())
    }

    /// Gives the counters' booked bytes back to `total`, for a state that has read its last
    /// chunk.
    pub(super) fn release(&mut self, total: &AtomicU64) {
        total.fetch_sub(self.booked, Ordering::Relaxed);
        self.booked = 0;
    }
}

/// Numbers builds and codes by first appearance in the file and adds up the workers' counters
/// into `sink`. `extra` adds what a worker counted beside its builds' rows and events (given its
/// build map and the builds) and returns its repeated headers.
pub(super) fn merge<S: CountSink, X>(
    notation: Notation,
    workers: Vec<(Counted, X)>,
    sink: &mut S,
    mut extra: impl FnMut(&Counted, &X, &[usize], &mut [BuildStats]) -> u64,
) -> Result<Inventory, GaveUp> {
    let (versions, build_maps) = number(&workers, |w| &w.0.build_first, |w| &w.0.builds.keys);
    let (codes, code_maps) = number(&workers, |w| &w.0.code_first, |w| &w.0.codes.keys);

    let mut builds: Vec<BuildStats> =
        versions.into_iter().map(|version| BuildStats { version, rows: 0, events: 0 }).collect();
    // The merged span first, so that the sink sizes its counters once.
    let span =
        workers.iter().filter_map(|w| w.0.tally.span).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
    let any_cell = workers
        .iter()
        .zip(build_maps.iter().zip(&code_maps))
        .find_map(|(w, (b, c))| w.0.tally.cells.first().map(|&(build, code)| (b[build], c[code])));
    if let (Some((first, last)), Some((build, code))) = (span, any_cell) {
        for second in [first, last] {
            sink.add(second, build, code, 0).map_err(|_| GaveUp("a merged span out of range"))?;
        }
    }
    let mut repeated_headers = 0;
    // States in time order (a helping thread's state covers the back of another's run), so that
    // the sink, fed each state's records in time order, takes them over as they are.
    let mut states: Vec<_> = workers.into_iter().zip(build_maps.iter().zip(&code_maps)).collect();
    states.sort_by_key(|((w, _), _)| w.tally.span.map(|(first, _)| first));
    for ((w, x), (build_map, code_map)) in states {
        for (local, &global) in build_map.iter().enumerate() {
            builds[global].rows += w.build_rows[local];
            builds[global].events = builds[global].events.saturating_add(w.build_events[local]);
        }
        repeated_headers += extra(&w, &x, build_map, &mut builds);
        w.tally.add_to(sink, build_map, code_map)?;
    }
    let rows = builds.iter().map(|b| b.rows).sum();
    if rows == 0 {
        return Err(GaveUp("no data rows"));
    }
    Ok(Inventory {
        notation: Some(notation),
        rows,
        builds,
        codes: codes.iter().map(|c| Code::parse(c)).collect(),
        repeated_headers,
        skipped: super::Skipped::default(),
        chosen_columns: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_non_digits_are_not_a_number_and_do_not_overflow() {
        assert_eq!(two_digits(b"42"), Some(42));
        assert_eq!(two_digits(b"\xff0"), None);
        assert_eq!(two_digits(b"\xc8\xc8"), None);
    }

    #[test]
    fn delimiters_are_found_at_any_position() {
        let text = b"0:00:01,5.0007.610.011,-12\r\n";
        assert_eq!(find_delimiter(text, 0), 7);
        assert_eq!(find_delimiter(text, 8), 22);
        assert_eq!(find_delimiter(text, 23), 26);
        assert_eq!(find_delimiter(b"abc", 0), 3);
        for len in 0..40 {
            let mut line = vec![b'x'; len];
            line.push(b'\n');
            line.extend_from_slice(b",,,,,,,,,,");
            assert_eq!(find_delimiter(&line, 0), len);
        }
    }

    #[test]
    fn lines_split_into_fields_and_a_lone_carriage_return_gives_up() {
        let mut fields = Fields::default();
        let text = b"a, b ,c\r\n\nx";
        assert_eq!(fields.split(text, 0), Ok(Some(9)));
        assert_eq!(fields.trimmed(text), vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(fields.split(text, 9), Ok(Some(10)));
        assert!(fields.is_blank(text));
        assert_eq!(fields.split(text, 10), Ok(Some(11)));
        assert_eq!(fields.split(text, 11), Ok(None));
        assert!(fields.split(b"a\rb\n", 0).is_err());
    }

    #[test]
    fn the_interner_numbers_keys_in_order_and_tells_them_apart() {
        let mut interner = Interner::new();
        let keys: Vec<Vec<u8>> = (0..300)
            .map(|i: i32| match i % 3 {
                0 => i.to_string().into_bytes(),
                1 => format!("5.0007.{i}.011").into_bytes(),
                _ => format!("a label longer than sixteen bytes {i}").into_bytes(),
            })
            .collect();
        for (id, key) in keys.iter().enumerate() {
            assert_eq!(interner.get(key, 0, key.len()), None);
            assert_eq!(interner.insert(key), id);
        }
        for (id, key) in keys.iter().enumerate() {
            // With bytes after the key in the buffer, as inside a line.
            let mut line = key.clone();
            line.extend_from_slice(b",more bytes");
            assert_eq!(interner.get(&line, 0, key.len()), Some(id));
        }
        assert_eq!(interner.get(b"03", 0, 2), None);
    }

    /// Counts by (build, code, second), and the span a sink was stretched to (zero counts too).
    #[derive(Default)]
    struct Reference {
        counts: std::collections::BTreeMap<(usize, usize, i64), u64>,
        span: Option<(i64, i64)>,
    }

    impl CountSink for Reference {
        fn add(
            &mut self,
            second: i64,
            build: usize,
            code: usize,
            count: u64,
        ) -> anyhow::Result<()> {
            self.span =
                Some(self.span.map_or((second, second), |(f, l)| (f.min(second), l.max(second))));
            if count > 0 {
                *self.counts.entry((build, code, second)).or_default() += count;
            }
            Ok(())
        }
    }

    /// A tally handed to a sink gives the counts of the rows, whatever the order of the rows, the
    /// growth of the room both ways and of the cells.
    #[test]
    fn a_tally_counts_as_the_rows_say() {
        let mut state = 7u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let rows: Vec<(i64, usize, usize, u64)> = (0..5000)
            .map(|_| (next(4000) as i64 - 2000, next(3) as usize, next(40) as usize, next(3)))
            .collect();
        let (mut tally, mut reference) = (Tally::default(), Reference::default());
        for &(second, build, code, count) in &rows {
            let cell = tally.cell(build, code).unwrap();
            tally.add(second, cell, count).unwrap();
            reference.add(second, build, code, count).unwrap();
        }
        let mut merged = Reference::default();
        let ids: Vec<usize> = (0..40).collect();
        tally.add_to(&mut merged, &ids, &ids).unwrap();
        assert_eq!(merged.span, reference.span);
        assert_eq!(merged.counts, reference.counts);
    }

    /// With a small budget the window slides over rows in time order, sealing what it leaves,
    /// and many cells grow linearly; the counts handed on are the rows'.
    #[test]
    fn a_tally_over_budget_slides_its_window_over_rows_in_time_order() {
        let mut tally = Tally { limit: Some(64 << 10), ..Tally::default() };
        let mut reference = Reference::default();
        for second in (0..40_000i64).step_by(7) {
            for k in 0..3 {
                let (build, code) = ((second as usize + k) % 2, (second as usize * 31 + k) % 900);
                let cell = tally.cell(build, code).unwrap();
                tally.add(second, cell, 1 + k as u64).unwrap();
                reference.add(second, build, code, 1 + k as u64).unwrap();
            }
        }
        assert!(!tally.sealed.is_empty());
        assert!(tally.counts.len() * size_of::<u32>() <= 64 << 10);
        // A row from before the window gives up (the reference path then reads the file).
        let cell = tally.cell(0, 0).unwrap();
        assert_eq!(
            tally.add(0, cell, 1),
            Err(GaveUp("per-second counters over the memory budget"))
        );
        let mut merged = Reference::default();
        let ids: Vec<usize> = (0..900).collect();
        tally.add_to(&mut merged, &ids, &ids).unwrap();
        assert_eq!(merged.span, reference.span);
        assert_eq!(merged.counts, reference.counts);
    }

    #[test]
    fn a_tally_gives_up_where_the_counters_would_fail() {
        let mut tally = Tally::default();
        let cell = tally.cell(0, 0).unwrap();
        tally.add(0, cell, u64::from(u32::MAX)).unwrap();
        assert!(tally.add(0, cell, 1).is_err());
        assert!(tally.add(MAX_SPAN_SECONDS + 1, cell, 1).is_err());
        assert!(tally.add(-MAX_SPAN_SECONDS - 1, cell, 1).is_err());
    }

    #[test]
    fn timestamps_parse_as_the_reference_parses_them() {
        assert_eq!(parse_hms(b"0:00:00"), Some(0));
        assert_eq!(parse_hms(b"1:02:03"), Some(3723));
        assert_eq!(parse_hms(b"123:59:59"), Some(123 * 3600 + 3599));
        assert_eq!(parse_hms(b"0:60:00"), None);
        assert_eq!(parse_hms(b"0:00:60"), None);
        assert_eq!(parse_hms(b"0:0:00"), None);
        assert_eq!(parse_hms(b"0:00:01.5"), None, "fractions go to the reference parser");
        assert_eq!(parse_digits(b"1795305600", 18), Some(1_795_305_600));
        assert_eq!(parse_digits(b"-5", 18), None);
        assert_eq!(parse_time_of_day(b"23:59:59"), Some(86_399));
        assert_eq!(parse_time_of_day(b"24:00:00"), None);
        assert_eq!(parse_count(b"+7"), Ok(7));
        assert!(parse_count(b"-7").is_err());
        assert!(parse_count(b"99999999999999999999").is_err());
    }
}
