//! The per-second aggregator: one counter per second per build x error code that has events.
//!
//! This is the seed's aggregation step: records `Timestamp, Build_Version, Error_Code` become, for
//! every second, a record of its non-zero counters (`["0:00:00" 0 0 1 2 ...]` without the zeros).
//! Builds and codes arrive as small interned ids; each (build, code) pair seen is a *series*.
//!
//! The counters are sparse, so memory and time grow with the (second, build, code) triples that
//! have events, never with seconds x builds x codes: a quiet second costs nothing, and a day of a
//! thousand codes holds what its events need. Seconds are kept in time order as records, each the
//! (series, count) pairs of one second sorted by series, in the compact layout of
//! [`crate::input::records`] (4 bytes a triple, 8 a second, in the common case):
//!
//! - a row for the latest second joins its record, which stays open (a per-series index finds
//!   its pair at once);
//! - a row for a later second closes that record and opens the next: rows in time order only
//!   append;
//! - a row for an earlier second is added in place when its triple exists and its word holds the
//!   sum, and otherwise kept aside in a hash map until [`Aggregator::finish`] merges it in; so rows
//!   in random order cost about 40 bytes per distinct triple until then, and give the same counts;
//! - the fast reader hands over whole runs of records ([`CountSink::add_records`]); a run after
//!   every second held is taken over as it is, renumbered in place, without a copy, so the
//!   counters of a time-ordered file are held once. The few seconds where two runs meet (a
//!   second cut by a chunk boundary) are merged.
//!
//! The span from the earliest to the latest second is bounded by [`MAX_SPAN_SECONDS`], a year and a
//! day, which no comparison of two builds needs; it bounds the bins that follow (at the default
//! 100-second bins, at most 316 thousand per code).

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::{Result, bail};

use crate::input::CountSink;
use crate::input::labels::compare_versions;
use crate::input::records::{Entries, Records};
use crate::input::timestamp::Notation;

pub mod table;
pub mod units;

pub use crate::input::MAX_SPAN_SECONDS;
pub use table::{Table, merge, read, read_fast, read_path, read_path_with, read_with};

/// Why a row past [`MAX_SPAN_SECONDS`] from the others is refused (live runs say the same).
pub const SPAN_TOO_LONG: &str =
    "timestamp stretches the data over more than 366 days at one-second resolution";

/// The most events one counter (one second, build and code) holds.
pub const MAX_EVENTS_PER_SECOND: u64 = u32::MAX as u64;

/// Why a row that overflows its counter is refused (live runs say the same).
pub fn too_many_events() -> String {
    format!("more than {MAX_EVENTS_PER_SECOND} events in one second")
}

/// A series id: one (build, code) pair.
type SeriesId = u32;

/// No series yet, in [`Aggregator::ids`].
const NO_SERIES: SeriesId = SeriesId::MAX;

/// The most records where a run handed over meets the records before it that are merged there
/// (a copy of that stretch, in the compact layout); past it (runs that overlap over a long
/// stretch, from rows far out of order) the run's pairs are added one by one.
const MAX_MERGED_RECORDS: usize = 1 << 16;

/// Records in time order, as runs that do not overlap in time (each held as it was made).
#[derive(Debug, Clone, Default)]
struct Segments(Vec<Records>);

impl Segments {
    fn last_second(&self) -> Option<i64> {
        self.0.last().and_then(Records::last_second)
    }

    /// The run and the index of the record of `second`, if there is one.
    fn locate(&self, second: i64) -> Option<(usize, usize)> {
        let run = self.0.partition_point(|r| r.first_second().is_some_and(|f| f <= second));
        let run = run.checked_sub(1)?;
        Some((run, self.0[run].index_of(second)?))
    }

    fn iter(&self) -> impl Iterator<Item = (i64, Entries<'_>)> + '_ {
        self.0.iter().flat_map(Records::iter)
    }
}

/// Per-second counters being filled.
#[derive(Debug, Default, Clone)]
pub struct Aggregator {
    /// Earliest and latest second observed (zero counts included).
    span: Option<(i64, i64)>,
    /// `ids[build][code]`: the series of a pair, or [`NO_SERIES`].
    ids: Vec<Vec<SeriesId>>,
    /// The (build, code) of each series.
    series: Vec<(usize, usize)>,
    /// Per series: where its pair is in the open record, as `(second, index into open_pairs)`.
    at: Vec<(i64, u32)>,
    /// Per series: events so far.
    totals: Vec<u64>,
    /// The closed records.
    segments: Segments,
    /// The open record's second: the latest second with events, not yet in `segments`.
    open: Option<i64>,
    /// The open record's pairs, in arrival order.
    open_pairs: Vec<(SeriesId, u32)>,
    /// Triples for seconds before the open record that their records did not hold.
    aside: HashMap<(i64, SeriesId), u32>,
}

/// Finished per-second counters: the non-zero (second, build, code) triples, in time order.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Earliest second observed on the input's clock (`None` when there were no events).
    pub first_second: Option<i64>,
    /// Latest second observed.
    pub last_second: Option<i64>,
    series: Vec<(usize, usize)>,
    ids: Vec<Vec<SeriesId>>,
    totals: Vec<u64>,
    segments: Segments,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    /// Adds `count` events of `code` from `build` at `second`.
    ///
    /// Fails when the second would stretch the span past [`MAX_SPAN_SECONDS`] or a single counter
    /// would overflow; the caller adds the file and line. A count of 0 still stretches the span.
    #[inline]
    pub fn add(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()> {
        let (first, last) = match self.span {
            None => (second, second),
            Some((first, last)) => (first.min(second), last.max(second)),
        };
        if last.checked_sub(first).is_none_or(|span| span > MAX_SPAN_SECONDS) {
            bail!(SPAN_TOO_LONG);
        }
        let Ok(count) = u32::try_from(count) else {
            bail!(too_many_events());
        };
        let series = self.series_of(build, code);
        if count > 0 {
            self.count(second, series, count)?;
        }
        self.span = Some((first, last));
        Ok(())
    }

    /// The series of a pair, made at first sight.
    fn series_of(&mut self, build: usize, code: usize) -> SeriesId {
        if let Some(&id) = self.ids.get(build).and_then(|codes| codes.get(code))
            && id != NO_SERIES
        {
            return id;
        }
        if self.ids.len() <= build {
            self.ids.resize_with(build + 1, Vec::new);
        }
        let codes = &mut self.ids[build];
        if codes.len() <= code {
            codes.resize(code + 1, NO_SERIES);
        }
        let id = self.series.len() as SeriesId;
        codes[code] = id;
        self.series.push((build, code));
        self.at.push((i64::MIN, 0));
        self.totals.push(0);
        id
    }

    /// The latest second with events.
    fn latest(&self) -> Option<i64> {
        self.open.or_else(|| self.segments.last_second())
    }

    fn count(&mut self, second: i64, series: SeriesId, count: u32) -> Result<()> {
        let latest = self.latest();
        if self.open == Some(second) {
            let (at_second, index) = self.at[series as usize];
            if at_second == second {
                let slot = &mut self.open_pairs[index as usize].1;
                match slot.checked_add(count) {
                    Some(sum) => *slot = sum,
                    None => bail!(too_many_events()),
                }
            } else {
                self.at[series as usize] = (second, self.open_pairs.len() as u32);
                self.open_pairs.push((series, count));
            }
        } else if latest.is_none_or(|latest| latest < second) {
            self.close_open();
            self.open = Some(second);
            self.at[series as usize] = (second, 0);
            self.open_pairs.push((series, count));
        } else {
            self.count_earlier(second, series, count)?;
        }
        self.totals[series as usize] += u64::from(count);
        Ok(())
    }

    /// Counts a triple of a second before the open record: in its record if that holds the sum,
    /// aside otherwise.
    fn count_earlier(&mut self, second: i64, series: SeriesId, count: u32) -> Result<()> {
        let located = self.segments.locate(second);
        let held = located.map_or(0, |(run, index)| self.segments.0[run].count(index, series));
        let aside = self.aside.get(&(second, series)).copied().unwrap_or(0);
        if u64::from(held) + u64::from(aside) + u64::from(count) > MAX_EVENTS_PER_SECOND {
            bail!(too_many_events());
        }
        if held > 0
            && let Some((run, index)) = located
            && self.segments.0[run].add_in_place(index, series, count) == Some(true)
        {
            return Ok(());
        }
        *self.aside.entry((second, series)).or_insert(0) += count;
        Ok(())
    }

    /// Closes the open record: its pairs sorted by series join the records.
    fn close_open(&mut self) {
        let Some(second) = self.open.take() else {
            return;
        };
        self.open_pairs.sort_unstable_by_key(|&(series, _)| series);
        if self.segments.0.is_empty() {
            self.segments.0.push(Records::new());
        }
        let records = self.segments.0.last_mut().expect("a run to add to");
        records.open(second);
        for &(series, count) in &self.open_pairs {
            records.push(series, count);
        }
        self.open_pairs.clear();
    }

    /// Takes over a run of records whose series are `cells[series]` as (build, code) pairs, as
    /// [`CountSink::add_records`] describes.
    fn take_records(&mut self, cells: &[(usize, usize)], records: Records) -> Result<()> {
        let (Some(first), Some(last)) = (records.first_second(), records.last_second()) else {
            return Ok(());
        };
        let map: Vec<SeriesId> =
            cells.iter().map(|&(build, code)| self.series_of(build, code)).collect();
        self.stretch(first)?;
        self.stretch(last)?;
        self.close_open();
        let mut records = records.renumbered(&map);
        if let Some(latest) = self.latest()
            && first <= latest
        {
            let theirs = records.before(latest + 1);
            let runs = self.segments.0.len();
            let ours = &self.segments.0[runs - 1];
            let ours_from = ours.before(first);
            let mergeable = (ours_from > 0 || runs == 1)
                && ours.len() - ours_from + theirs <= MAX_MERGED_RECORDS;
            if !mergeable {
                // Runs that overlap in time: pair by pair.
                for (second, pairs) in records.iter() {
                    for (series, count) in pairs {
                        self.count(second, series, count)?;
                    }
                }
                return Ok(());
            }
            // Both sides are in time order, each second's pairs by series: merged in one pass,
            // into the compact layout.
            let mut merged = Records::new();
            let (mut i, mut j) = (ours_from, 0);
            while i < ours.len() || j < theirs {
                let second = match (i < ours.len(), j < theirs) {
                    (true, true) => ours.second(i).min(records.second(j)),
                    (true, false) => ours.second(i),
                    _ => records.second(j),
                };
                let mine = (i < ours.len() && ours.second(i) == second).then(|| ours.entries(i));
                let other = (j < theirs && records.second(j) == second).then(|| records.entries(j));
                i += usize::from(mine.is_some());
                j += usize::from(other.is_some());
                merged.open(second);
                let mut mine = mine.into_iter().flatten().peekable();
                let mut other = other.into_iter().flatten().peekable();
                loop {
                    let pair = match (mine.peek().copied(), other.peek().copied()) {
                        (Some(a), Some(b)) if a.0 == b.0 => {
                            mine.next();
                            other.next();
                            match a.1.checked_add(b.1) {
                                Some(sum) => (a.0, sum),
                                None => bail!(too_many_events()),
                            }
                        }
                        (Some(a), Some(b)) if a.0 < b.0 => mine.next().expect("peeked"),
                        (Some(_), Some(_)) | (None, Some(_)) => other.next().expect("peeked"),
                        (Some(_), None) => mine.next().expect("peeked"),
                        (None, None) => break,
                    };
                    merged.push(pair.0, pair.1);
                }
            }
            for (_, pairs) in records.iter() {
                for (series, n) in pairs {
                    self.totals[series as usize] += u64::from(n);
                }
            }
            records.drop_front(theirs);
            let ours = self.segments.0.last_mut().expect("a run");
            ours.truncate(ours_from);
            for (second, pairs) in merged.iter() {
                ours.open(second);
                for (series, n) in pairs {
                    ours.push(series, n);
                }
            }
        } else {
            for (_, pairs) in records.iter() {
                for (series, n) in pairs {
                    self.totals[series as usize] += u64::from(n);
                }
            }
        }
        if !records.is_empty() {
            self.segments.0.push(records);
        }
        Ok(())
    }

    /// Stretches the span to `second`, as a row of no events would.
    fn stretch(&mut self, second: i64) -> Result<()> {
        let (first, last) = match self.span {
            None => (second, second),
            Some((first, last)) => (first.min(second), last.max(second)),
        };
        if last.checked_sub(first).is_none_or(|span| span > MAX_SPAN_SECONDS) {
            bail!(SPAN_TOO_LONG);
        }
        self.span = Some((first, last));
        Ok(())
    }

    /// Adds finished counters, whose ids map to this aggregator's through `build_ids` and
    /// `code_ids` (`build_ids[their id] = our id`): the merge of two aggregations, so shards and
    /// threads can aggregate separately. Fails like [`Aggregator::add`] on the merged span or a
    /// counter; the counts are then partly added.
    pub fn add_counts(
        &mut self,
        counts: &Counts,
        build_ids: &[usize],
        code_ids: &[usize],
    ) -> Result<()> {
        let (Some(first), Some(last)) = (counts.first_second, counts.last_second) else {
            return Ok(());
        };
        for &(build, code) in &counts.series {
            let (build, code) = (build_ids[build], code_ids[code]);
            self.add(first, build, code, 0)?;
            self.add(last, build, code, 0)?;
        }
        for (second, entries) in counts.by_second() {
            for (series, n) in entries {
                let (build, code) = counts.series[series as usize];
                self.add(second, build_ids[build], code_ids[code], u64::from(n))?;
            }
        }
        Ok(())
    }

    /// Finishes aggregation.
    pub fn finish(mut self) -> Counts {
        self.close_open();
        if !self.aside.is_empty() {
            let mut aside: Vec<(i64, SeriesId, u32)> =
                self.aside.drain().map(|((second, series), n)| (second, series, n)).collect();
            aside.sort_unstable();
            let old = std::mem::take(&mut self.segments);
            let mut merged = Records::new();
            let mut last_opened = None;
            let mut push = |merged: &mut Records, second: i64, series: SeriesId, n: u32| {
                if last_opened != Some(second) {
                    merged.open(second);
                    last_opened = Some(second);
                }
                merged.push(series, n);
            };
            let mut aside = aside.into_iter().peekable();
            for (second, entries) in old.iter() {
                while let Some(&(s, series, n)) = aside.peek()
                    && s < second
                {
                    push(&mut merged, s, series, n);
                    aside.next();
                }
                let mut mine = entries.peekable();
                loop {
                    let theirs = aside.peek().filter(|&&(s, _, _)| s == second).copied();
                    match (mine.peek().copied(), theirs) {
                        (Some((a, m)), Some((_, series, n))) => {
                            if a < series {
                                push(&mut merged, second, a, m);
                                mine.next();
                            } else if a == series {
                                // Checked not to overflow when it was set aside.
                                push(&mut merged, second, a, m + n);
                                mine.next();
                                aside.next();
                            } else {
                                push(&mut merged, second, series, n);
                                aside.next();
                            }
                        }
                        (Some((a, m)), None) => {
                            push(&mut merged, second, a, m);
                            mine.next();
                        }
                        (None, Some((_, series, n))) => {
                            push(&mut merged, second, series, n);
                            aside.next();
                        }
                        (None, None) => break,
                    }
                }
            }
            for (s, series, n) in aside {
                push(&mut merged, s, series, n);
            }
            self.segments = Segments(vec![merged]);
        }
        Counts {
            first_second: self.span.map(|s| s.0),
            last_second: self.span.map(|s| s.1),
            series: self.series,
            ids: self.ids,
            totals: self.totals,
            segments: self.segments,
        }
    }
}

impl CountSink for Aggregator {
    fn add(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()> {
        Aggregator::add(self, second, build, code, count)
    }

    fn add_records(&mut self, cells: &[(usize, usize)], records: Records) -> Result<()> {
        self.take_records(cells, records)
    }
}

impl Counts {
    fn series_id(&self, build: usize, code: usize) -> Option<SeriesId> {
        self.ids.get(build).and_then(|codes| codes.get(code)).copied().filter(|&id| id != NO_SERIES)
    }

    /// Events of `code` from `build` at `second` (0 outside the observed span or for unknown ids).
    pub fn get(&self, build: usize, code: usize, second: i64) -> u64 {
        let Some(series) = self.series_id(build, code) else {
            return 0;
        };
        self.segments
            .locate(second)
            .map_or(0, |(run, index)| u64::from(self.segments.0[run].count(index, series)))
    }

    /// Events of `code` from `build` per second from `first_second` to `last_second` inclusive:
    /// a dense copy, for tests and small spans.
    pub fn seconds(&self, build: usize, code: usize) -> Vec<u32> {
        let (Some(first), Some(_)) = (self.first_second, self.last_second) else {
            return Vec::new();
        };
        let mut dense = vec![0; self.span_seconds()];
        if let Some(series) = self.series_id(build, code) {
            for (second, mut entries) in self.by_second() {
                if let Some((_, n)) = entries.find(|&(s, _)| s == series) {
                    dense[(second - first) as usize] = n;
                }
            }
        }
        dense
    }

    /// The seconds with events in time order, each with its (series, count) pairs sorted by
    /// series ([`Counts::series`] says which build and code a series is), decoded into a vector
    /// each: for tests and small inputs ([`Counts::by_second`] decodes as it goes).
    pub fn records(&self) -> impl Iterator<Item = (i64, Vec<(u32, u32)>)> + '_ {
        self.by_second().map(|(second, entries)| (second, entries.collect()))
    }

    /// The seconds with events in time order, each with its (series, count) pairs sorted by
    /// series.
    pub fn by_second(&self) -> impl Iterator<Item = (i64, Entries<'_>)> + '_ {
        self.segments.iter()
    }

    /// The (build, code) of every series, by series id.
    pub fn series(&self) -> &[(usize, usize)] {
        &self.series
    }

    /// Events of `code` from `build` from `first` to `last` inclusive.
    pub fn sum(&self, build: usize, code: usize, first: i64, last: i64) -> u64 {
        let Some(series) = self.series_id(build, code) else {
            return 0;
        };
        self.segments
            .0
            .iter()
            .map(|records| {
                let (from, to) = (records.before(first), records.before(last.saturating_add(1)));
                (from..to).map(|index| u64::from(records.count(index, series))).sum::<u64>()
            })
            .sum()
    }

    /// Total events of `code` from `build`.
    pub fn total(&self, build: usize, code: usize) -> u64 {
        self.series_id(build, code).map_or(0, |id| self.totals[id as usize])
    }

    /// Number of seconds from the first to the last observed second, inclusive.
    pub fn span_seconds(&self) -> usize {
        match (self.first_second, self.last_second) {
            (Some(first), Some(last)) => (last - first) as usize + 1,
            _ => 0,
        }
    }

    /// The (second, build, code, count) triples in a canonical order, for comparing counters
    /// made along different roads (their series ids may differ).
    fn canonical(&self) -> Vec<(i64, usize, usize, u32)> {
        let mut all = Vec::new();
        for (second, entries) in self.by_second() {
            let start = all.len();
            all.extend(entries.map(|(series, n)| {
                let (build, code) = self.series[series as usize];
                (second, build, code, n)
            }));
            all[start..].sort_unstable();
        }
        all
    }
}

impl PartialEq for Counts {
    fn eq(&self, other: &Counts) -> bool {
        self.first_second == other.first_second
            && self.last_second == other.last_second
            && self.canonical() == other.canonical()
    }
}

impl Eq for Counts {}

/// The header of a count file.
pub const COUNTS_HEADER: [&str; 4] = ["Timestamp", "Build_Version", "Error_Code", "Count"];

/// What [`write_counts`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Count rows (one per second, build and code with at least one event).
    pub rows: u64,
    /// Events they stand for.
    pub events: u64,
}

/// Writes the per-second counters of `table` as a count file: CSV with the header
/// `Timestamp,Build_Version,Error_Code,Count` and one row per second, build and code with a
/// non-zero count, timestamps in the input's notation. Rows come in time order, then builds in
/// version order, then codes in code order, so the same counts give the same bytes. Reading the
/// file back gives the same counters.
pub fn write_counts<W: Write>(table: &Table, out: W) -> io::Result<Written> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(COUNTS_HEADER)?;
    let mut written = Written { rows: 0, events: 0 };
    let counts = &table.counts;
    let notation = table.notation.unwrap_or(Notation::Offset);
    let mut builds: Vec<usize> = (0..table.builds.len()).collect();
    builds.sort_by(|&a, &b| compare_versions(&table.builds[a].version, &table.builds[b].version));
    let mut codes: Vec<usize> = (0..table.codes.len()).collect();
    codes.sort_by(|&a, &b| table.codes[a].cmp(&table.codes[b]));
    let mut build_rank = vec![0; table.builds.len()];
    for (rank, &b) in builds.iter().enumerate() {
        build_rank[b] = rank;
    }
    let mut code_rank = vec![0; table.codes.len()];
    for (rank, &c) in codes.iter().enumerate() {
        code_rank[c] = rank;
    }
    let code_names: Vec<String> = table.codes.iter().map(ToString::to_string).collect();
    let mut row: Vec<(usize, usize, u32)> = Vec::new();
    for (second, entries) in counts.by_second() {
        row.clear();
        row.extend(entries.map(|(series, n)| {
            let (b, c) = counts.series()[series as usize];
            (b, c, n)
        }));
        row.sort_unstable_by_key(|&(b, c, _)| (build_rank[b], code_rank[c]));
        let stamp = notation.format(second);
        for &(b, c, n) in &row {
            let count = n.to_string();
            csv.write_record([
                stamp.as_bytes(),
                table.builds[b].version.as_bytes(),
                code_names[c].as_bytes(),
                count.as_bytes(),
            ])?;
            written.rows += 1;
            written.events += u64::from(n);
        }
    }
    csv.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::input::CountSink;
    use proptest::prelude::*;

    #[test]
    fn the_span_message_names_the_span_limit() {
        assert!(SPAN_TOO_LONG.contains(&format!("{} days", MAX_SPAN_SECONDS / 86_400)));
    }

    #[test]
    fn counts_land_in_their_second_build_and_code() {
        let mut agg = Aggregator::new();
        agg.add(10, 0, 0, 1).unwrap();
        agg.add(10, 0, 0, 2).unwrap();
        agg.add(12, 1, 2, 5).unwrap();
        agg.add(8, 1, 0, 1).unwrap();
        let counts = agg.finish();
        assert_eq!(counts.first_second, Some(8));
        assert_eq!(counts.last_second, Some(12));
        assert_eq!(counts.span_seconds(), 5);
        assert_eq!(counts.get(0, 0, 10), 3);
        assert_eq!(counts.get(1, 2, 12), 5);
        assert_eq!(counts.get(1, 0, 8), 1);
        assert_eq!(counts.get(0, 2, 12), 0);
        assert_eq!(counts.seconds(0, 0), &[0, 0, 3, 0, 0]);
        assert_eq!(counts.total(1, 0), 1);
    }

    #[test]
    fn a_span_over_a_year_is_refused() {
        let mut agg = Aggregator::new();
        agg.add(0, 0, 0, 1).unwrap();
        let err = agg.add(MAX_SPAN_SECONDS + 1, 0, 0, 1).unwrap_err();
        assert!(err.to_string().contains("366 days"), "{err}");
        assert!(agg.add(-MAX_SPAN_SECONDS - 1, 0, 0, 1).is_err());
    }

    #[test]
    fn many_series_over_a_long_span_are_kept_sparse() {
        // 2000 series over most of a year: dense counters would hold 63 billion; the sparse ones
        // hold the 4000 triples with events.
        let mut agg = Aggregator::new();
        for code in 0..1000 {
            for build in 0..2 {
                agg.add(0, build, code, 1).unwrap();
                agg.add(MAX_SPAN_SECONDS - 1, build, code, 2).unwrap();
            }
        }
        let counts = agg.finish();
        assert_eq!(counts.records().map(|(_, pairs)| pairs.len()).sum::<usize>(), 4000);
        assert_eq!(counts.get(1, 999, MAX_SPAN_SECONDS - 1), 2);
        assert_eq!(counts.total(0, 500), 3);
    }

    #[test]
    fn rows_out_of_order_join_their_seconds() {
        let mut agg = Aggregator::new();
        for (second, build, code, n) in
            [(5, 0, 0, 1), (5, 1, 2, 1), (5, 0, 1, 1), (9, 0, 0, 1), (5, 0, 0, 2), (3, 1, 0, 4)]
        {
            agg.add(second, build, code, n).unwrap();
        }
        agg.add(5, 1, 1, 7).unwrap();
        let counts = agg.finish();
        type Triples = Vec<(usize, usize, u32)>;
        let records: Vec<(i64, Triples)> = counts
            .records()
            .map(|(second, pairs)| {
                let triples = pairs
                    .iter()
                    .map(|&(s, n)| (counts.series()[s as usize], n))
                    .map(|((b, c), n)| (b, c, n));
                (second, triples.collect())
            })
            .collect();
        assert_eq!(
            records,
            vec![
                (3, vec![(1, 0, 4)]),
                (5, vec![(0, 0, 3), (1, 2, 1), (0, 1, 1), (1, 1, 7)]),
                (9, vec![(0, 0, 1)]),
            ]
        );
    }

    #[test]
    fn a_counter_overflow_is_an_error() {
        let mut agg = Aggregator::new();
        agg.add(0, 0, 0, u64::from(u32::MAX)).unwrap();
        assert!(agg.add(0, 0, 0, 1).is_err());
        assert!(agg.add(1, 0, 0, u64::MAX).is_err());
    }

    #[test]
    fn merged_counts_map_ids_and_stretch_the_span() {
        let mut ours = Aggregator::new();
        ours.add(10, 0, 0, 1).unwrap();
        let mut theirs = Aggregator::new();
        theirs.add(5, 0, 0, 2).unwrap();
        theirs.add(20, 1, 1, 3).unwrap();
        theirs.add(7, 0, 1, 0).unwrap();
        // Their build 0 is our build 1, their code 1 our code 2.
        ours.add_counts(&theirs.finish(), &[1, 0], &[0, 2]).unwrap();
        let counts = ours.finish();
        assert_eq!((counts.first_second, counts.last_second), (Some(5), Some(20)));
        assert_eq!(counts.get(0, 0, 10), 1);
        assert_eq!(counts.get(1, 0, 5), 2);
        assert_eq!(counts.get(0, 2, 20), 3);
        assert_eq!(counts.total(1, 2), 0);
    }

    #[test]
    fn a_merge_that_overflows_a_counter_is_an_error() {
        let mut ours = Aggregator::new();
        ours.add(0, 0, 0, u64::from(u32::MAX)).unwrap();
        let mut theirs = Aggregator::new();
        theirs.add(0, 0, 0, 1).unwrap();
        assert!(ours.add_counts(&theirs.finish(), &[0], &[0]).is_err());
    }

    /// Records of `rows` (second, cell, count) as a reader seals them: in time order, each second's
    /// cells ascending, the counts of a repeated (second, cell) added up.
    fn sealed(rows: &[(i64, u32, u32)]) -> Records {
        let mut merged = std::collections::BTreeMap::new();
        for &(second, cell, n) in rows {
            *merged.entry((second, cell)).or_insert(0) += n;
        }
        let mut records = Records::new();
        let mut previous = None;
        for ((second, cell), n) in merged {
            if previous != Some(second) {
                records.open(second);
                previous = Some(second);
            }
            records.push(cell, n);
        }
        records
    }

    #[test]
    fn runs_that_meet_at_a_second_are_taken_over_and_merged_there() {
        let cells = [(0, 0), (1, 0), (0, 1)];
        let first = [(1, 0, 2), (4, 2, 1), (7, 0, 1), (7, 1, 70_000)];
        let second = [(7, 0, 3), (7, 2, 1), (9, 1, 1)];
        let mut taken = Aggregator::new();
        let mut added = Aggregator::new();
        for run in [&first[..], &second[..]] {
            for &(second, cell, n) in run {
                let (build, code) = cells[cell as usize];
                added.add(second, build, code, u64::from(n)).unwrap();
            }
            for &(build, code) in &cells {
                taken.add(run[0].0, build, code, 0).unwrap();
            }
            taken.add_records(&cells, sealed(run)).unwrap();
        }
        let (taken, added) = (taken.finish(), added.finish());
        assert_eq!(taken, added);
        assert_eq!(taken.get(0, 0, 7), 4);
        assert_eq!(taken.get(1, 0, 7), 70_000);
        assert_eq!(taken.total(0, 1), 2);
        assert_eq!(taken.segments.0.len(), 2, "the second run is held as it was made");
    }

    proptest! {
        /// Rows split between two aggregators and merged give the counts of one aggregator.
        #[test]
        fn shards_merged_equal_the_whole(
            rows in prop::collection::vec((-50i64..50, 0usize..3, 0usize..4, 0u64..4), 1..200),
            split in any::<prop::sample::Index>(),
        ) {
            let at = split.index(rows.len() + 1);
            let mut whole = Aggregator::new();
            let (mut first, mut second) = (Aggregator::new(), Aggregator::new());
            for (i, &(s, b, c, n)) in rows.iter().enumerate() {
                whole.add(s, b, c, n).unwrap();
                // The second shard numbers builds and codes the other way round.
                if i < at { first.add(s, b, c, n) } else { second.add(s, 2 - b, 3 - c, n) }
                    .unwrap();
            }
            first.add_counts(&second.finish(), &[2, 1, 0], &[3, 2, 1, 0]).unwrap();
            let (merged, whole) = (first.finish(), whole.finish());
            prop_assert_eq!(merged.first_second, whole.first_second);
            prop_assert_eq!(merged.last_second, whole.last_second);
            for b in 0..3 {
                for c in 0..4 {
                    for s in -50..50 {
                        prop_assert_eq!(merged.get(b, c, s), whole.get(b, c, s));
                    }
                }
            }
        }

        /// Rows cut into runs of records, handed over in any order (runs that meet, overlap or
        /// come before the others), give the counts of adding the rows one by one.
        #[test]
        fn runs_of_records_taken_over_equal_rows_added(
            mut rows in prop::collection::vec((-50i64..50, 0u32..6, 1u32..4), 1..200),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            reversed in any::<bool>(),
        ) {
            let cells = [(0, 0), (1, 0), (0, 1), (1, 1), (2, 3), (0, 3)];
            rows.sort_by_key(|r| r.0);
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(rows.len() + 1)).collect();
            bounds.extend([0, rows.len()]);
            bounds.sort_unstable();
            let mut runs: Vec<&[(i64, u32, u32)]> =
                bounds.windows(2).map(|w| &rows[w[0]..w[1]]).filter(|r| !r.is_empty()).collect();
            if reversed {
                runs.reverse();
            }
            let (mut taken, mut added) = (Aggregator::new(), Aggregator::new());
            for &(second, cell, n) in &rows {
                let (build, code) = cells[cell as usize];
                added.add(second, build, code, u64::from(n)).unwrap();
            }
            for run in runs {
                let (first, last) = (run[0].0, run[run.len() - 1].0);
                for &(build, code) in &cells {
                    taken.add(first, build, code, 0).unwrap();
                    taken.add(last, build, code, 0).unwrap();
                }
                taken.add_records(&cells, sealed(run)).unwrap();
            }
            let (taken, added) = (taken.finish(), added.finish());
            prop_assert_eq!(&taken, &added);
            for &(build, code) in &cells {
                prop_assert_eq!(taken.total(build, code), added.total(build, code));
                prop_assert_eq!(taken.seconds(build, code), added.seconds(build, code));
            }
        }

        /// Totals are preserved and the order of rows does not matter.
        #[test]
        fn order_does_not_change_counts(
            rows in prop::collection::vec((-50i64..50, 0usize..3, 0usize..4, 1u64..4), 1..200),
            seed in any::<u64>(),
        ) {
            let mut forward = Aggregator::new();
            for &(s, b, c, n) in &rows {
                forward.add(s, b, c, n).unwrap();
            }
            let mut shuffled = rows.clone();
            // A cheap deterministic shuffle driven by the seed.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let mut backward = Aggregator::new();
            for &(s, b, c, n) in shuffled.iter().rev() {
                backward.add(s, b, c, n).unwrap();
            }
            let (forward, backward) = (forward.finish(), backward.finish());
            let total: u64 = rows.iter().map(|r| r.3).sum();
            let mut counted = 0;
            for b in 0..3 {
                for c in 0..4 {
                    prop_assert_eq!(forward.seconds(b, c), backward.seconds(b, c));
                    counted += forward.total(b, c);
                }
            }
            prop_assert_eq!(counted, total);
        }
    }
}
