//! The binner: per-second counters folded into time bins and differential buckets.
//!
//! Bins are `bin_seconds` long and start at the stream's first second: with 5-second bins,
//! `[0:00:00 - 0:00:04]` is the first bin (the seed's convention). The last bin may be shorter;
//! both builds share every bin's exposure, so comparisons within a bin stay fair.
//!
//! For each error code and bin the binner keeps the canary's and the baseline's event counts. The
//! differential bucket (a heatmap cell) is the canary count minus the baseline count after
//! normalizing both to an equal traffic split: with the canary serving a share `s` of users,
//! `diff = C * 0.5 / s - B * 0.5 / (1 - s)`, which is the seed's plain `C - B` when `s = 0.5`.
//!
//! The binner is one stage with one rule for where a bin starts and ends: [`Binner`] folds closed
//! seconds into bins as they come, and hands each bin over when it closes. The window rules read
//! its closed bins ([`crate::detect::windows`]), keeping each code's last bins as running sums
//! ([`WindowSums`]) so that a window of any length costs the same; [`Bins`], the whole run's bins
//! for the heatmap and the report, is made by the same binner from the sparse per-second counters.

use std::collections::VecDeque;

use crate::aggregate::Counts;
use crate::input::labels::Code;

/// Folds seconds into bins of `bin_seconds` from the first second it is given, and says when each
/// bin closes: the first second of a later bin has arrived, or the input ended.
#[derive(Debug, Clone)]
pub struct Binner {
    bin_seconds: u64,
    /// The first second given: the first second of bin 0.
    origin: Option<i64>,
    /// The last second given.
    last_second: i64,
    /// The bin being filled.
    current: usize,
    /// Per code id: (canary, baseline) events of the bin being filled.
    filling: Vec<(u64, u64)>,
    finished: bool,
}

/// A bin that closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    /// Its index from the first bin.
    pub bin: usize,
    /// Its length in seconds (the last bin may be short).
    pub length_s: u64,
}

impl Binner {
    /// A binner of `bin_seconds`-second bins (at least 1).
    pub fn new(bin_seconds: u64) -> Binner {
        Binner {
            bin_seconds: bin_seconds.max(1),
            origin: None,
            last_second: 0,
            current: 0,
            filling: Vec::new(),
            finished: false,
        }
    }

    /// The first second given, once there is one.
    pub fn origin(&self) -> Option<i64> {
        self.origin
    }

    /// The last second given.
    pub fn last_second(&self) -> i64 {
        self.last_second
    }

    /// Seconds per bin.
    pub fn bin_seconds(&self) -> u64 {
        self.bin_seconds
    }

    /// First second of bin `bin`.
    pub fn bin_start(&self, bin: usize) -> i64 {
        self.origin.unwrap_or(0) + bin as i64 * self.bin_seconds as i64
    }

    /// Last second of bin `bin` (the last bin ends at the last second given).
    pub fn bin_end(&self, bin: usize) -> i64 {
        (self.bin_start(bin) + self.bin_seconds as i64 - 1).min(self.last_second)
    }

    /// Starts second `second` (seconds in order): the next bin that closes before it, if any; call
    /// until `None`, taking each closed bin's counts ([`Binner::take`]) before the next call, then
    /// add the second's events ([`Binner::add`]).
    pub fn close_before(&mut self, second: i64) -> Option<Closed> {
        self.origin.get_or_insert(second);
        let bin = self.bin_of(second);
        if self.current < bin {
            // The seconds up to this bin's end were all given (or quiet).
            let closed = self.current;
            self.current += 1;
            self.last_second = self.last_second.max(self.bin_start(self.current) - 1);
            return Some(Closed { bin: closed, length_s: self.bin_seconds });
        }
        self.last_second = second;
        None
    }

    /// The bin of `second` (at or after the first second given).
    pub fn bin_of(&self, second: i64) -> usize {
        ((second - self.origin.unwrap_or(second)) as u64 / self.bin_seconds) as usize
    }

    /// Adds events of `code` to the bin being filled (after [`Binner::close_before`]).
    pub fn add(&mut self, code: usize, canary: u64, baseline: u64) {
        if self.filling.len() <= code {
            self.filling.resize(code + 1, (0, 0));
        }
        let slot = &mut self.filling[code];
        *slot = (slot.0 + canary, slot.1 + baseline);
    }

    /// Makes room for code ids below `codes`.
    pub fn reserve_codes(&mut self, codes: usize) {
        if self.filling.len() < codes {
            self.filling.resize(codes, (0, 0));
        }
    }

    /// Code ids with room (every code given so far is below).
    pub fn codes(&self) -> usize {
        self.filling.len()
    }

    /// Takes the counts of `code` in the bin that just closed.
    pub fn take(&mut self, code: usize) -> (u64, u64) {
        self.filling.get_mut(code).map_or((0, 0), std::mem::take)
    }

    /// Ends the input: the last bin, once (none without any second).
    pub fn finish(&mut self) -> Option<Closed> {
        if self.finished {
            return None;
        }
        self.finished = true;
        self.origin?;
        let length_s = (self.last_second - self.bin_start(self.current) + 1) as u64;
        Some(Closed { bin: self.current, length_s })
    }
}

/// The heatmap's cells, filled as events arrive, in any order: per row (a compared code), the
/// canary's and the baseline's events per column of `column_seconds`, from an origin. Rows grow
/// as codes appear; an event before the origin grows the columns to the left (whole columns, so
/// the columns keep their boundaries); past `max_columns` columns, adjacent columns merge in
/// pairs and the columns double in length, so an endless stream's heatmap stays bounded. A
/// batch run sets the origin and the width up front and never folds; a live run folds.
#[derive(Debug, Clone)]
pub struct Grid {
    column_seconds: u64,
    max_columns: usize,
    origin: Option<i64>,
    canary: Vec<Vec<u64>>,
    baseline: Vec<Vec<u64>>,
}

impl Grid {
    /// An empty grid of `column_seconds`-second columns (at least 1) that folds past
    /// `max_columns`.
    pub fn new(column_seconds: u64, max_columns: usize) -> Grid {
        Grid {
            column_seconds: column_seconds.max(1),
            max_columns,
            origin: None,
            canary: Vec::new(),
            baseline: Vec::new(),
        }
    }

    /// A grid of `rows` rows of `columns` empty columns from `origin`, which never folds.
    pub fn sized(origin: i64, column_seconds: u64, rows: usize, columns: usize) -> Grid {
        Grid {
            column_seconds: column_seconds.max(1),
            max_columns: usize::MAX,
            origin: Some(origin),
            canary: vec![vec![0; columns]; rows],
            baseline: vec![vec![0; columns]; rows],
        }
    }

    /// The first second of the first column, once there is one.
    pub fn origin(&self) -> Option<i64> {
        self.origin
    }

    /// Seconds per column (doubled by every fold).
    pub fn column_seconds(&self) -> u64 {
        self.column_seconds
    }

    /// Cells held, over both builds' rows.
    pub fn cells(&self) -> usize {
        self.canary.iter().chain(&self.baseline).map(Vec::len).sum()
    }

    /// Adds `n` events of the canary (`canary`) or the baseline at `second` to row `row`.
    pub fn add(&mut self, second: i64, row: usize, canary: bool, n: u64) {
        let origin = *self.origin.get_or_insert(second);
        if second < origin {
            let columns = ((origin - second) as u64).div_ceil(self.column_seconds) as usize;
            for cells in self.canary.iter_mut().chain(&mut self.baseline) {
                cells.splice(0..0, std::iter::repeat_n(0, columns));
            }
            self.origin = Some(origin - (columns as u64 * self.column_seconds) as i64);
        }
        let column =
            ((second - self.origin.expect("set above")) as u64 / self.column_seconds) as usize;
        if self.canary.len() <= row {
            self.canary.resize_with(row + 1, Vec::new);
            self.baseline.resize_with(row + 1, Vec::new);
        }
        let cells = if canary { &mut self.canary[row] } else { &mut self.baseline[row] };
        if cells.len() <= column {
            cells.resize(column + 1, 0);
        }
        cells[column] += n;
        if column >= self.max_columns {
            self.fold();
        }
    }

    /// Merges adjacent columns in pairs, doubling their length.
    fn fold(&mut self) {
        for cells in self.canary.iter_mut().chain(&mut self.baseline) {
            *cells = cells.chunks(2).map(|pair| pair.iter().sum()).collect();
        }
        self.column_seconds *= 2;
    }

    /// Whether row `row` has any event.
    pub fn has_events(&self, row: usize) -> bool {
        let any = |rows: &[Vec<u64>]| rows.get(row).is_some_and(|r| r.iter().any(|&n| n > 0));
        any(&self.canary) || any(&self.baseline)
    }

    /// The rows `rows`, in that order, as `(canary, baseline)` rows all as wide as the widest.
    pub fn take_rows(&mut self, rows: &[usize]) -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
        let width = self.canary.iter().chain(&self.baseline).map(Vec::len).max().unwrap_or(0);
        let take = |cells: &mut Vec<Vec<u64>>, row: usize| {
            let mut out = cells.get_mut(row).map(std::mem::take).unwrap_or_default();
            out.resize(width, 0);
            out
        };
        let canary = rows.iter().map(|&row| take(&mut self.canary, row)).collect();
        let baseline = rows.iter().map(|&row| take(&mut self.baseline, row)).collect();
        (canary, baseline)
    }
}

/// One code's last closed bins as running sums: the events of any window of up to `longest`
/// bins ending with the last bin cost one subtraction, whatever its length.
#[derive(Debug, Clone, Default)]
pub struct WindowSums {
    /// Cumulative (canary, baseline) events at the end of each of the last `longest` bins, after
    /// the total before the oldest of them: `longest + 1` entries at most.
    cumulative: VecDeque<(u64, u64)>,
    longest: usize,
}

impl WindowSums {
    /// Sums over windows of at most `longest` bins.
    pub fn new(longest: usize) -> WindowSums {
        let mut cumulative = VecDeque::with_capacity(longest.min(1 << 16) + 1);
        cumulative.push_back((0, 0));
        WindowSums { cumulative, longest: longest.max(1) }
    }

    /// Sums of `bins`, oldest first (bins before them had no events).
    pub fn of(bins: &[(u64, u64)], longest: usize) -> WindowSums {
        let mut sums = WindowSums::new(longest);
        for &(canary, baseline) in bins {
            sums.push(canary, baseline);
        }
        sums
    }

    /// Adds the bin that closed.
    pub fn push(&mut self, canary: u64, baseline: u64) {
        let &(c, b) = self.cumulative.back().expect("never empty");
        // The oldest leaves first, so the queue never outgrows its first allocation.
        if self.cumulative.len() > self.longest {
            self.cumulative.pop_front();
        }
        self.cumulative.push_back((c + canary, b + baseline));
    }

    /// Bins pushed and kept (at most `longest`).
    pub fn len(&self) -> usize {
        self.cumulative.len() - 1
    }

    /// Whether no bin was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (canary, baseline) events of the last `w` bins (fewer when fewer were pushed).
    pub fn sum(&self, w: usize) -> (u64, u64) {
        let last = self.cumulative.len() - 1;
        let (c, b) = self.cumulative[last];
        let (c0, b0) = self.cumulative[last.saturating_sub(w)];
        (c - c0, b - b0)
    }

    /// The events of the last `n` bins kept, oldest first.
    pub fn last_bins(&self, n: usize) -> Vec<(u64, u64)> {
        let last = self.cumulative.len() - 1;
        let from = last.saturating_sub(n);
        (from..last)
            .map(|i| {
                let (c0, b0) = self.cumulative[i];
                let (c1, b1) = self.cumulative[i + 1];
                (c1 - c0, b1 - b0)
            })
            .collect()
    }
}

/// Binned counts of the two compared builds.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    /// First second of the first bin, on the input's clock.
    pub first_second: i64,
    /// Last observed second; the last bin ends here.
    pub last_second: i64,
    /// Seconds per bin.
    pub bin_seconds: u64,
    /// The canary's share of traffic, in (0, 1).
    pub canary_share: f64,
    /// The error codes with at least one event in either compared build, in code order.
    pub codes: Vec<Code>,
    /// `canary[code][bin]`: canary events.
    pub canary: Vec<Vec<u64>>,
    /// `baseline[code][bin]`: baseline events.
    pub baseline: Vec<Vec<u64>>,
}

/// The most error codes compared one by one. Each compared code holds a detector's state and a
/// heatmap row (about 2 KB plus 16 bytes a bin); a stream with more distinct codes (a client
/// sending a fresh code with every event) keeps the most frequent `MAX_COMPARED_CODES - 1` and
/// compares the rest together as one series, [`other_codes`], so a gate never dies of them.
pub const MAX_COMPARED_CODES: usize = 16_384;

/// The label of the series that the codes past [`MAX_COMPARED_CODES`] are folded into.
pub fn other_codes(folded: usize) -> Code {
    Code::Label(format!("other ({folded} codes)"))
}

/// The codes a run compares: the rows of [`Bins`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    /// The interned ids of the codes compared one by one, in code order.
    pub ids: Vec<usize>,
    /// The ids folded into the last row, [`other_codes`] (none but past [`MAX_COMPARED_CODES`]).
    pub folded: Vec<usize>,
}

impl Compared {
    /// The codes with at least one event in either compared build: all of them in code order,
    /// or past [`MAX_COMPARED_CODES`] the most frequent (ties by code) and the rest folded.
    pub fn new(counts: &Counts, codes: &[Code], baseline: usize, canary: usize) -> Compared {
        let mut ids = code_order(counts, codes, baseline, canary);
        let mut folded = Vec::new();
        if ids.len() > MAX_COMPARED_CODES {
            let events = |id: usize| counts.total(baseline, id) + counts.total(canary, id);
            ids.sort_by(|&a, &b| events(b).cmp(&events(a)).then(codes[a].cmp(&codes[b])));
            folded = ids.split_off(MAX_COMPARED_CODES - 1);
            ids.sort_by(|&a, &b| codes[a].cmp(&codes[b]));
            folded.sort_by(|&a, &b| codes[a].cmp(&codes[b]));
        }
        Compared { ids, folded }
    }

    /// The rows' codes: the compared codes, then [`other_codes`] if any were folded.
    pub fn labels(&self, codes: &[Code]) -> Vec<Code> {
        let mut labels: Vec<Code> = self.ids.iter().map(|&id| codes[id].clone()).collect();
        if !self.folded.is_empty() {
            labels.push(other_codes(self.folded.len()));
        }
        labels
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ids.len() + usize::from(!self.folded.is_empty())
    }
}

/// The interned ids of the codes with at least one event in either compared build, in code order.
pub fn code_order(counts: &Counts, codes: &[Code], baseline: usize, canary: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..codes.len())
        .filter(|&id| counts.total(baseline, id) + counts.total(canary, id) > 0)
        .collect();
    order.sort_by(|&a, &b| codes[a].cmp(&codes[b]));
    order
}

/// Per series of `counts` ([`Counts::series`]): its row among the compared codes and whether it
/// is the canary's, or `None` for series of other builds and codes.
pub fn compared_series(
    counts: &Counts,
    compared: &Compared,
    baseline: usize,
    canary: usize,
) -> Vec<Option<(usize, bool)>> {
    let mut row_of = std::collections::HashMap::with_capacity(compared.rows());
    for (row, &id) in compared.ids.iter().enumerate() {
        row_of.insert(id, row);
    }
    for &id in &compared.folded {
        row_of.insert(id, compared.ids.len());
    }
    counts
        .series()
        .iter()
        .map(|&(build, code)| {
            let row = *row_of.get(&code)?;
            match build {
                b if b == canary => Some((row, true)),
                b if b == baseline => Some((row, false)),
                _ => None,
            }
        })
        .collect()
}

impl Bins {
    /// Folds per-second counts into bins.
    ///
    /// `codes` names the code of each interned id; `baseline` and `canary` are build ids.
    pub fn new(
        counts: &Counts,
        codes: &[Code],
        baseline: usize,
        canary: usize,
        bin_seconds: u64,
        canary_share: f64,
    ) -> Bins {
        assert!(bin_seconds > 0, "bin_seconds is validated to be positive");
        let first_second = counts.first_second.unwrap_or(0);
        let last_second = counts.last_second.unwrap_or(first_second);
        let span = counts.span_seconds();
        let n_bins = if span == 0 { 0 } else { span.div_ceil(bin_seconds as usize) };
        let compared = Compared::new(counts, codes, baseline, canary);
        let rows = compared_series(counts, &compared, baseline, canary);
        let mut grid = Grid::sized(first_second, bin_seconds, compared.rows(), n_bins);
        for (second, pairs) in counts.by_second() {
            for (series, n) in pairs {
                if let Some((row, canary)) = rows[series as usize] {
                    grid.add(second, row, canary, u64::from(n));
                }
            }
        }
        let (canary, baseline) = grid.take_rows(&(0..compared.rows()).collect::<Vec<_>>());
        Bins {
            first_second,
            last_second,
            bin_seconds,
            canary_share,
            codes: compared.labels(codes),
            canary,
            baseline,
        }
    }

    /// Number of bins.
    pub fn len(&self) -> usize {
        self.canary.first().map_or(0, Vec::len)
    }

    /// Whether there are no bins (no events at all).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// First second of bin `bin`.
    pub fn bin_start(&self, bin: usize) -> i64 {
        self.first_second + bin as i64 * self.bin_seconds as i64
    }

    /// Last second of bin `bin` (the last bin ends at the last observed second).
    pub fn bin_end(&self, bin: usize) -> i64 {
        (self.bin_start(bin) + self.bin_seconds as i64 - 1).min(self.last_second)
    }

    /// Canary events scaled to an equal traffic split.
    pub fn canary_normalized(&self, events: u64) -> f64 {
        events as f64 * 0.5 / self.canary_share
    }

    /// Baseline events scaled to an equal traffic split.
    pub fn baseline_normalized(&self, events: u64) -> f64 {
        events as f64 * 0.5 / (1.0 - self.canary_share)
    }

    /// The differential bucket of `code` (index into [`Bins::codes`]) in `bin`: normalized canary
    /// minus normalized baseline events.
    pub fn diff(&self, code: usize, bin: usize) -> f64 {
        self.canary_normalized(self.canary[code][bin])
            - self.baseline_normalized(self.baseline[code][bin])
    }

    /// Total canary and baseline events of `code` over all bins.
    pub fn totals(&self, code: usize) -> (u64, u64) {
        (self.canary[code].iter().sum(), self.baseline[code].iter().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregator;

    #[test]
    fn a_grid_grows_to_the_left_in_whole_columns_and_folds_past_its_width() {
        // 10-second columns, at most 4 before folding.
        let mut grid = Grid::new(10, 4);
        grid.add(100, 0, true, 2); // column 0 from 100
        grid.add(125, 1, false, 3); // row 1, column 2
        // 85 is before the origin: one whole column (10 s) is not enough, two are; the origin
        // moves to 80 and everything shifts right by two columns.
        grid.add(85, 0, false, 1);
        assert_eq!(grid.origin(), Some(80));
        assert!(grid.has_events(0) && grid.has_events(1) && !grid.has_events(2));
        assert_eq!(
            grid.clone().take_rows(&[0, 1]),
            (
                vec![vec![0, 0, 2, 0, 0], vec![0, 0, 0, 0, 0]],
                vec![vec![1, 0, 0, 0, 0], vec![0, 0, 0, 0, 3]],
            )
        );
        // Growing to the left never folds; the next event past the four columns kept (130, column
        // 5) merges them in pairs into 20-second columns.
        assert_eq!(grid.column_seconds(), 10);
        grid.add(130, 1, true, 4);
        assert_eq!((grid.origin(), grid.column_seconds()), (Some(80), 20));
        let (canary, baseline) = grid.take_rows(&[1, 0]);
        assert_eq!(canary, vec![vec![0, 0, 4], vec![0, 2, 0]]);
        assert_eq!(baseline, vec![vec![0, 0, 3], vec![1, 0, 0]]);
    }

    fn sample() -> (Counts, Vec<Code>) {
        // Build 0 is the baseline, build 1 the canary; code ids 0 -> 7, 1 -> -2, 2 -> 9 (only in
        // a third build, so it gets no row).
        let mut agg = Aggregator::new();
        for (second, build, code, n) in
            [(0, 0, 0, 1), (4, 1, 0, 3), (5, 1, 0, 2), (9, 0, 1, 4), (11, 1, 1, 1), (3, 2, 2, 8)]
        {
            agg.add(second, build, code, n).unwrap();
        }
        (agg.finish(), vec![Code::Int(7), Code::Int(-2), Code::Int(9)])
    }

    #[test]
    fn seconds_fold_into_bins_from_the_first_second() {
        let (counts, codes) = sample();
        let bins = Bins::new(&counts, &codes, 0, 1, 5, 0.5);
        // Seconds 0..=11: bins [0-4], [5-9], [10-11].
        assert_eq!(bins.len(), 3);
        assert_eq!(bins.codes, vec![Code::Int(-2), Code::Int(7)]);
        assert_eq!(bins.canary, vec![vec![0, 0, 1], vec![3, 2, 0]]);
        assert_eq!(bins.baseline, vec![vec![0, 4, 0], vec![1, 0, 0]]);
        assert_eq!((bins.bin_start(2), bins.bin_end(2)), (10, 11));
        assert_eq!(bins.bin_end(0), 4);
        assert_eq!(bins.diff(0, 1), -4.0);
        assert_eq!(bins.diff(1, 0), 2.0);
        assert_eq!(bins.totals(1), (5, 1));
    }

    proptest::proptest! {
        /// Binning preserves every event of the two compared builds, whatever the bin size.
        #[test]
        fn binning_preserves_event_totals(
            rows in proptest::collection::vec((0i64..500, 0usize..2, 0usize..5, 1u64..5), 1..300),
            bin_seconds in 1u64..120,
        ) {
            let mut agg = Aggregator::new();
            for &(second, build, code, n) in &rows {
                agg.add(second, build, code, n).unwrap();
            }
            let counts = agg.finish();
            let codes: Vec<Code> = (0..5).map(Code::Int).collect();
            let bins = Bins::new(&counts, &codes, 0, 1, bin_seconds, 0.5);
            let span = counts.span_seconds() as u64;
            proptest::prop_assert_eq!(bins.len() as u64, span.div_ceil(bin_seconds));
            for (row, code) in bins.codes.iter().enumerate() {
                let Code::Int(id) = code else { unreachable!() };
                let id = *id as usize;
                proptest::prop_assert_eq!(bins.totals(row), (counts.total(1, id), counts.total(0, id)));
            }
            let binned: u64 = (0..bins.codes.len()).map(|r| bins.totals(r).0 + bins.totals(r).1).sum();
            proptest::prop_assert_eq!(binned, rows.iter().map(|r| r.3).sum::<u64>());
        }
    }

    #[test]
    fn codes_past_the_cap_fold_into_one_row_and_the_most_frequent_stay() {
        let mut agg = Aggregator::new();
        let codes: Vec<Code> = (0..MAX_COMPARED_CODES as i64 + 10).map(Code::Int).collect();
        for id in 0..codes.len() {
            // Code ids 0..10 have one event, the others two.
            let n = if id < 10 { 1 } else { 2 };
            agg.add(id as i64 % 7, 0, id, n).unwrap();
        }
        agg.add(3, 1, 5, 1).unwrap();
        let counts = agg.finish();
        let compared = Compared::new(&counts, &codes, 0, 1);
        assert_eq!(compared.rows(), MAX_COMPARED_CODES);
        // Code 5 has two events (one a build), so it ranks with the codes of two; of those, ties
        // go by code, so the two largest fold with the nine codes of one event.
        let last = codes.len() - 1;
        assert_eq!(compared.folded, vec![0, 1, 2, 3, 4, 6, 7, 8, 9, last - 1, last]);
        let bins = Bins::new(&counts, &codes, 0, 1, 10, 0.5);
        assert_eq!(bins.codes.len(), MAX_COMPARED_CODES);
        assert_eq!(bins.codes.last(), Some(&other_codes(11)));
        assert_eq!(bins.totals(MAX_COMPARED_CODES - 1), (0, 13));
        assert_eq!(bins.totals(0), (1, 1));
    }

    #[test]
    fn differential_buckets_are_traffic_normalized() {
        let (counts, codes) = sample();
        // Canary serves 10% of users: 3 canary events stand for 3 * 0.5 / 0.1 = 15 at an equal
        // split, 1 baseline event for 1 * 0.5 / 0.9.
        let bins = Bins::new(&counts, &codes, 0, 1, 5, 0.1);
        let expected = 15.0 - 0.5 / 0.9;
        assert!((bins.diff(1, 0) - expected).abs() < 1e-12);
    }
}
