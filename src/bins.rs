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

use crate::aggregate::Counts;
use crate::input::labels::Code;

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

/// The interned ids of the codes with at least one event in either compared build, in code order:
/// the rows of [`Bins`].
pub fn code_order(counts: &Counts, codes: &[Code], baseline: usize, canary: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..codes.len())
        .filter(|&id| counts.total(baseline, id) + counts.total(canary, id) > 0)
        .collect();
    order.sort_by(|&a, &b| codes[a].cmp(&codes[b]));
    order
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
        let fold = |build: usize, code: usize| -> Vec<u64> {
            let mut bins = vec![0u64; n_bins];
            for (i, &c) in counts.seconds(build, code).iter().enumerate() {
                bins[i / bin_seconds as usize] += u64::from(c);
            }
            bins
        };
        let order = code_order(counts, codes, baseline, canary);
        Bins {
            first_second,
            last_second,
            bin_seconds,
            canary_share,
            codes: order.iter().map(|&id| codes[id].clone()).collect(),
            canary: order.iter().map(|&id| fold(canary, id)).collect(),
            baseline: order.iter().map(|&id| fold(baseline, id)).collect(),
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
    fn differential_buckets_are_traffic_normalized() {
        let (counts, codes) = sample();
        // Canary serves 10% of users: 3 canary events stand for 3 * 0.5 / 0.1 = 15 at an equal
        // split, 1 baseline event for 1 * 0.5 / 0.9.
        let bins = Bins::new(&counts, &codes, 0, 1, 5, 0.1);
        let expected = 15.0 - 0.5 / 0.9;
        assert!((bins.diff(1, 0) - expected).abs() < 1e-12);
    }
}
