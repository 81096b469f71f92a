//! The per-second aggregator: one counter per second per build x error code.
//!
//! This is the seed's aggregation step: records `Timestamp, Build_Version, Error_Code` become, for
//! every second, a row of counters (`["0:00:00" 0 0 1 2 ...]`). Builds and codes arrive as small
//! interned ids, so the counters are dense arrays: `series[build][code][second - origin]`.
//!
//! Rows may arrive in any order. The time axis grows in both directions as seconds outside it
//! appear; growth toward the past doubles the room it adds so reverse-ordered input stays linear.
//! The span from the earliest to the latest second is bounded by [`MAX_SPAN_SECONDS`], so one
//! absurd timestamp is refused instead of allocating gigabytes.

use std::io::{self, Write};

use anyhow::{Result, bail};

use crate::input::CountSink;
use crate::input::labels::compare_versions;
use crate::input::timestamp::Notation;

pub mod table;

pub use crate::input::MAX_SPAN_SECONDS;
pub use table::{Table, merge, read, read_fast, read_path, read_path_with, read_with};

/// The most per-second counters (seconds x builds x codes) kept: 2^26, 256 MiB of them. An hour
/// of the seed's data needs 238 thousand, a week of it 40 million; a small file whose timestamps
/// lie months apart would otherwise claim gigabytes.
pub const MAX_COUNTERS: u64 = 1 << 26;

/// Why a row past [`MAX_SPAN_SECONDS`] from the others is refused (live runs say the same).
pub const SPAN_TOO_LONG: &str =
    "timestamp stretches the data over more than 366 days at one-second resolution";

/// The most events one counter (one second, build and code) holds.
pub const MAX_EVENTS_PER_SECOND: u64 = u32::MAX as u64;

/// Why a row that overflows its counter is refused (live runs say the same).
pub fn too_many_events() -> String {
    format!("more than {MAX_EVENTS_PER_SECOND} events in one second")
}

/// Per-second counters being filled.
#[derive(Debug, Default, Clone)]
pub struct Aggregator {
    /// Second at index 0 of every series.
    origin: i64,
    /// Length of every series (seconds of room, not all observed).
    room: usize,
    /// Earliest and latest second observed.
    span: Option<(i64, i64)>,
    /// `series[build][code][second - origin]`.
    series: Vec<Vec<Vec<u32>>>,
    codes: usize,
}

/// Finished per-second counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Earliest second observed on the input's clock (`None` when there were no events).
    pub first_second: Option<i64>,
    /// Latest second observed.
    pub last_second: Option<i64>,
    origin: i64,
    series: Vec<Vec<Vec<u32>>>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    /// Adds `count` events of `code` from `build` at `second`.
    ///
    /// Fails when the second would stretch the span past [`MAX_SPAN_SECONDS`] or a single counter
    /// would overflow; the caller adds the file and line.
    #[inline]
    pub fn add(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()> {
        // The common case on the fast path: a second inside the span and ids already seen.
        if let Some((first, last)) = self.span
            && first <= second
            && second <= last
            && let Some(series) = self.series.get_mut(build).and_then(|codes| codes.get_mut(code))
        {
            return bump(&mut series[(second - self.origin) as usize], count);
        }
        self.add_growing(second, build, code, count)
    }

    /// [`Aggregator::add`] when the span or the ids grow.
    fn add_growing(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()> {
        let (first, last) = match self.span {
            None => (second, second),
            Some((first, last)) => (first.min(second), last.max(second)),
        };
        if last.checked_sub(first).is_none_or(|span| span > MAX_SPAN_SECONDS) {
            bail!(SPAN_TOO_LONG);
        }
        let series = (self.series.len().max(build + 1) * self.codes.max(code + 1)) as u64;
        let seconds = (last - first) as u64 + 1;
        if seconds.saturating_mul(series) > MAX_COUNTERS {
            bail!(
                "the data would span {seconds} seconds x {series} build-code series at one-second \
                 resolution, {} counters, more than the {MAX_COUNTERS} errwatch keeps in memory \
                 (split the input by time, or a stray timestamp stretched it)",
                seconds.saturating_mul(series)
            );
        }
        self.span = Some((first, last));
        self.ensure_ids(build, code);
        let index = self.ensure_second(second, (MAX_COUNTERS / series) as usize);
        bump(&mut self.series[build][code][index], count)
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
        for (their_build, codes) in counts.series.iter().enumerate() {
            for (their_code, series) in codes.iter().enumerate() {
                let (build, code) = (build_ids[their_build], code_ids[their_code]);
                // Stretch the span and the ids through the ordinary path, then add in bulk.
                self.add(first, build, code, 0)?;
                self.add(last, build, code, 0)?;
                let start = (first - counts.origin) as usize;
                let end = (last - counts.origin) as usize + 1;
                let offset = (first - self.origin) as usize;
                let ours = &mut self.series[build][code][offset..offset + (end - start)];
                for (mine, &theirs) in ours.iter_mut().zip(&series[start..end]) {
                    bump(mine, u64::from(theirs))?;
                }
            }
        }
        Ok(())
    }

    /// Finishes aggregation.
    pub fn finish(self) -> Counts {
        Counts {
            first_second: self.span.map(|s| s.0),
            last_second: self.span.map(|s| s.1),
            origin: self.origin,
            series: self.series,
        }
    }

    fn ensure_ids(&mut self, build: usize, code: usize) {
        if code >= self.codes {
            self.codes = code + 1;
            for codes in &mut self.series {
                codes.resize_with(self.codes, || vec![0; self.room]);
            }
        }
        if build >= self.series.len() {
            let (codes, room) = (self.codes, self.room);
            self.series.resize_with(build + 1, || vec![vec![0; room]; codes]);
        }
    }

    /// Makes room for `second` and returns its index; growth past what is needed stops at
    /// `limit` seconds of room.
    fn ensure_second(&mut self, second: i64, limit: usize) -> usize {
        if self.room == 0 {
            self.origin = second;
        }
        if second < self.origin {
            let needed = (self.origin - second) as usize;
            let grow = needed.max(self.room).min(limit.saturating_sub(self.room)).max(needed);
            for series in self.series.iter_mut().flatten() {
                series.splice(0..0, std::iter::repeat_n(0, grow));
            }
            self.origin -= grow as i64;
            self.room += grow;
        }
        let index = (second - self.origin) as usize;
        if index >= self.room {
            let room = (self.room + self.room / 2).max(64).min(limit).max(index + 1);
            for series in self.series.iter_mut().flatten() {
                series.resize(room, 0);
            }
            self.room = room;
        }
        index
    }
}

impl CountSink for Aggregator {
    fn add(&mut self, second: i64, build: usize, code: usize, count: u64) -> Result<()> {
        Aggregator::add(self, second, build, code, count)
    }
}

/// Adds `count` to one counter, refusing to overflow it.
#[inline]
fn bump(counter: &mut u32, count: u64) -> Result<()> {
    match u32::try_from(count).ok().and_then(|c| counter.checked_add(c)) {
        Some(sum) => {
            *counter = sum;
            Ok(())
        }
        None => bail!(too_many_events()),
    }
}

impl Counts {
    /// Events of `code` from `build` at `second` (0 outside the observed span or for unknown ids).
    pub fn get(&self, build: usize, code: usize, second: i64) -> u64 {
        let Some(series) = self.series.get(build).and_then(|codes| codes.get(code)) else {
            return 0;
        };
        usize::try_from(second - self.origin)
            .ok()
            .and_then(|i| series.get(i))
            .map_or(0, |&c| u64::from(c))
    }

    /// Events of `code` from `build` per second from `first_second` to `last_second` inclusive.
    pub fn seconds(&self, build: usize, code: usize) -> &[u32] {
        let (Some(first), Some(last)) = (self.first_second, self.last_second) else {
            return &[];
        };
        match self.series.get(build).and_then(|codes| codes.get(code)) {
            Some(series) => {
                let start = (first - self.origin) as usize;
                let end = (last - self.origin) as usize + 1;
                &series[start..end]
            }
            None => &[],
        }
    }

    /// Total events of `code` from `build`.
    pub fn total(&self, build: usize, code: usize) -> u64 {
        self.seconds(build, code).iter().map(|&c| u64::from(c)).sum()
    }

    /// Number of seconds from the first to the last observed second, inclusive.
    pub fn span_seconds(&self) -> usize {
        match (self.first_second, self.last_second) {
            (Some(first), Some(last)) => (last - first) as usize + 1,
            _ => 0,
        }
    }
}

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
    let (Some(first), Some(last)) = (counts.first_second, counts.last_second) else {
        csv.flush()?;
        return Ok(written);
    };
    let notation = table.notation.unwrap_or(Notation::Offset);
    let mut builds: Vec<usize> = (0..table.builds.len()).collect();
    builds.sort_by(|&a, &b| compare_versions(&table.builds[a].version, &table.builds[b].version));
    let mut codes: Vec<usize> = (0..table.codes.len()).collect();
    codes.sort_by(|&a, &b| table.codes[a].cmp(&table.codes[b]));
    let code_names: Vec<String> = table.codes.iter().map(ToString::to_string).collect();
    // Per series, its counters from the first second on; empty series are left out.
    let series: Vec<(usize, usize, &[u32])> = builds
        .iter()
        .flat_map(|&b| codes.iter().map(move |&c| (b, c)))
        .map(|(b, c)| (b, c, counts.seconds(b, c)))
        .filter(|(_, _, seconds)| seconds.iter().any(|&n| n > 0))
        .collect();
    for offset in 0..=(last - first) as usize {
        let mut stamp: Option<String> = None;
        for &(b, c, seconds) in &series {
            let n = seconds[offset];
            if n == 0 {
                continue;
            }
            let stamp = stamp.get_or_insert_with(|| notation.format(first + offset as i64));
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
    fn counters_past_the_budget_are_refused() {
        // 2^26 counters: one series may span 2^26 seconds (776 days would pass the span limit
        // first), 64 series a little over a million seconds.
        let mut agg = Aggregator::new();
        for code in 0..32 {
            agg.add(0, 0, code, 1).unwrap();
            agg.add(0, 1, code, 1).unwrap();
        }
        assert!(agg.add((MAX_COUNTERS / 64) as i64 - 1, 0, 0, 1).is_ok());
        let err = agg.add((MAX_COUNTERS / 64) as i64, 0, 0, 1).unwrap_err();
        assert!(err.to_string().contains("64 build-code series"), "{err}");
        // Nothing was changed by the refused row.
        assert_eq!(agg.finish().last_second, Some((MAX_COUNTERS / 64) as i64 - 1));
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
