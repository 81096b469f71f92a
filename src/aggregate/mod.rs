//! The per-second aggregator: one counter per second per build x error code that has events.
//!
//! This is the seed's aggregation step: records `Timestamp, Build_Version, Error_Code` become, for
//! every second, a record of its non-zero counters (`["0:00:00" 0 0 1 2 ...]` without the zeros).
//! Builds and codes arrive as small interned ids; each (build, code) pair seen is a *series*.
//!
//! The counters are sparse, so memory and time grow with the (second, build, code) triples that
//! have events, never with seconds x builds x codes: a quiet second costs nothing, and a day of a
//! thousand codes holds what its events need. Seconds are kept in time order as a list of records,
//! each the (series, count) pairs of one second, sorted by series:
//!
//! - a row for the latest second joins its record (a per-series index finds its pair at once);
//! - a row for a later second closes that record and opens the next: rows in time order only
//!   append, 8 bytes per triple and 16 per second with events;
//! - a row for an earlier second is added in place when its triple exists (binary search), and
//!   otherwise kept aside in a hash map until [`Aggregator::finish`] merges it in; so rows in random
//!   order cost about 40 bytes per distinct triple until then, and give the same counts.
//!
//! The span from the earliest to the latest second is bounded by [`MAX_SPAN_SECONDS`], a year and a
//! day, which no comparison of two builds needs; it bounds the bins that follow (at the default
//! 100-second bins, at most 316 thousand per code).

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::{Result, bail};

use crate::input::CountSink;
use crate::input::labels::compare_versions;
use crate::input::timestamp::Notation;

pub mod table;

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

/// The seconds with events, in time order: `seconds[i] = (second, end)`, whose (series, count)
/// pairs are `entries[previous end..end]`, sorted by series.
#[derive(Debug, Default, Clone)]
struct Records {
    seconds: Vec<(i64, u32)>,
    entries: Vec<(SeriesId, u32)>,
}

impl Records {
    fn range(&self, index: usize) -> std::ops::Range<usize> {
        let start = if index == 0 { 0 } else { self.seconds[index - 1].1 as usize };
        start..self.seconds[index].1 as usize
    }

    /// Where the pair of `series` at `second` is in `entries`, if it is there.
    fn find(&self, second: i64, series: SeriesId) -> Option<usize> {
        let index = self.seconds.binary_search_by_key(&second, |&(s, _)| s).ok()?;
        let range = self.range(index);
        let at = self.entries[range.clone()].binary_search_by_key(&series, |&(s, _)| s).ok()?;
        Some(range.start + at)
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
    /// Per series: where its pair is in the open (latest) record, as `(second, index)`.
    at: Vec<(i64, u32)>,
    /// Per series: events so far.
    totals: Vec<u64>,
    records: Records,
    /// Whether the latest record's entries are still in arrival order.
    open_unsorted: bool,
    /// Triples for seconds before the latest record that it did not have yet.
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
    records: Records,
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

    fn count(&mut self, second: i64, series: SeriesId, count: u32) -> Result<()> {
        let latest = self.records.seconds.last().map(|&(s, _)| s);
        let slot = if latest == Some(second) {
            let (at_second, index) = self.at[series as usize];
            if at_second == second {
                &mut self.records.entries[index as usize].1
            } else {
                // The latest record has a pair already: it was opened with one.
                self.open_unsorted |=
                    self.records.entries.last().is_some_and(|&(last, _)| last > series);
                self.push_entry(second, series)
            }
        } else if latest.is_none_or(|latest| latest < second) {
            self.sort_open();
            let end = self.records.entries.len() as u32;
            self.records.seconds.push((second, end));
            self.push_entry(second, series)
        } else {
            self.sort_open();
            match self.records.find(second, series) {
                Some(at) => &mut self.records.entries[at].1,
                None => self.aside.entry((second, series)).or_insert(0),
            }
        };
        match slot.checked_add(count) {
            Some(sum) => *slot = sum,
            None => bail!(too_many_events()),
        }
        self.totals[series as usize] += u64::from(count);
        Ok(())
    }

    /// A new pair of `series` in the latest record, at 0.
    fn push_entry(&mut self, second: i64, series: SeriesId) -> &mut u32 {
        let index = self.records.entries.len();
        self.records.entries.push((series, 0));
        self.records.seconds.last_mut().expect("the latest record").1 += 1;
        self.at[series as usize] = (second, index as u32);
        &mut self.records.entries[index].1
    }

    /// Sorts the latest record's pairs by series, before another record is opened or searched.
    fn sort_open(&mut self) {
        if !std::mem::take(&mut self.open_unsorted) {
            return;
        }
        let last = self.records.seconds.len() - 1;
        let range = self.records.range(last);
        self.records.entries[range.clone()].sort_unstable_by_key(|&(s, _)| s);
        let second = self.records.seconds[last].0;
        for index in range {
            self.at[self.records.entries[index].0 as usize] = (second, index as u32);
        }
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
        for (second, entries) in counts.records() {
            for &(series, n) in entries {
                let (build, code) = counts.series[series as usize];
                self.add(second, build_ids[build], code_ids[code], u64::from(n))?;
            }
        }
        Ok(())
    }

    /// Finishes aggregation.
    pub fn finish(mut self) -> Counts {
        self.sort_open();
        if !self.aside.is_empty() {
            let mut aside: Vec<(i64, SeriesId, u32)> =
                self.aside.drain().map(|((second, series), n)| (second, series, n)).collect();
            aside.sort_unstable();
            let old = std::mem::take(&mut self.records);
            let mut merged = Records {
                seconds: Vec::with_capacity(old.seconds.len()),
                entries: Vec::with_capacity(old.entries.len() + aside.len()),
            };
            let mut aside = aside.into_iter().peekable();
            let push = |merged: &mut Records, second: i64, pair: (SeriesId, u32)| {
                if merged.seconds.last().is_none_or(|&(s, _)| s != second) {
                    merged.seconds.push((second, merged.entries.len() as u32));
                }
                merged.entries.push(pair);
                merged.seconds.last_mut().expect("just pushed").1 += 1;
            };
            for index in 0..old.seconds.len() {
                let second = old.seconds[index].0;
                while let Some(&(s, series, n)) = aside.peek()
                    && s < second
                {
                    push(&mut merged, s, (series, n));
                    aside.next();
                }
                let mut mine = old.entries[old.range(index)].iter().copied().peekable();
                loop {
                    let theirs = aside.peek().filter(|&&(s, _, _)| s == second);
                    match (mine.peek(), theirs) {
                        (Some(&a), Some(&(_, series, n))) => {
                            if a.0 < series {
                                push(&mut merged, second, a);
                                mine.next();
                            } else {
                                push(&mut merged, second, (series, n));
                                aside.next();
                            }
                        }
                        (Some(&a), None) => {
                            push(&mut merged, second, a);
                            mine.next();
                        }
                        (None, Some(&(_, series, n))) => {
                            push(&mut merged, second, (series, n));
                            aside.next();
                        }
                        (None, None) => break,
                    }
                }
            }
            for (s, series, n) in aside {
                push(&mut merged, s, (series, n));
            }
            self.records = merged;
        }
        Counts {
            first_second: self.span.map(|s| s.0),
            last_second: self.span.map(|s| s.1),
            series: self.series,
            ids: self.ids,
            totals: self.totals,
            records: self.records,
        }
    }
}

impl CountSink for Aggregator {
    fn add(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()> {
        Aggregator::add(self, second, build, code, count)
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
        self.records.find(second, series).map_or(0, |at| u64::from(self.records.entries[at].1))
    }

    /// Events of `code` from `build` per second from `first_second` to `last_second` inclusive:
    /// a dense copy, for tests and small spans.
    pub fn seconds(&self, build: usize, code: usize) -> Vec<u32> {
        let (Some(first), Some(_)) = (self.first_second, self.last_second) else {
            return Vec::new();
        };
        let mut dense = vec![0; self.span_seconds()];
        if let Some(series) = self.series_id(build, code) {
            for (second, entries) in self.records() {
                if let Ok(at) = entries.binary_search_by_key(&series, |&(s, _)| s) {
                    dense[(second - first) as usize] = entries[at].1;
                }
            }
        }
        dense
    }

    /// The seconds with events in time order, each with its (series, count) pairs sorted by
    /// series ([`Counts::series`] says which build and code a series is).
    pub fn records(&self) -> impl Iterator<Item = (i64, &[(u32, u32)])> + '_ {
        (0..self.records.seconds.len())
            .map(|i| (self.records.seconds[i].0, &self.records.entries[self.records.range(i)]))
    }

    /// The (build, code) of every series, by series id.
    pub fn series(&self) -> &[(usize, usize)] {
        &self.series
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
        let mut all = Vec::with_capacity(self.records.entries.len());
        for (second, entries) in self.records() {
            let start = all.len();
            all.extend(entries.iter().map(|&(series, n)| {
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
    for (second, entries) in counts.records() {
        row.clear();
        row.extend(entries.iter().map(|&(series, n)| {
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
