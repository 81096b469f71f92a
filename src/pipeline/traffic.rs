//! The traffic check: the canary's share of events, estimated from the data, against the declared
//! `--traffic`.
//!
//! Every comparison errwatch makes assumes the canary serves a known share `s` of the traffic: a
//! code with no change puts a share `s` of its events in the canary. When the declared share is
//! wrong, every code reads as changed by the same factor (`(q / s) / ((1 - q) / (1 - s))` for a
//! true share `q`), and a busy code's test finds that significant.
//!
//! **The estimate.** The run's bins are cut into four parts of (nearly) equal length (one part
//! with fewer than four bins), and each code in each part is a *cell*: with `C` canary and `B`
//! baseline events it has a canary share `p = C / (C + B)` and a weight of `n = C + B` events.
//! The estimate is the weighted median of the cells' shares: sort the cells by share and take the
//! share at which the running weight passes half of the total (the mean of the two shares on
//! either side when it lands exactly on half, as an ordinary median does). The traffic split is
//! the same for every code, while a regression is in some codes (and, when it starts or ends
//! during the run, some parts): one confined to cells holding less than half of the events moves
//! the estimate only as far as the next cell's share. That is why it is a median, and of cells
//! rather than codes: a busy code that regresses for part of the run still shows the true split in
//! the other parts.
//!
//! **The interval.** Each cell's share has a Wilson score interval at 95% (`z = 1.96`; Wilson
//! 1927), computed from `n / phi` events, `phi` being its code's measured dispersion (bursts
//! land whole on one build, so the split varies `phi` times more than independent events
//! would). The estimate's interval runs from the weighted median of the cells' lower ends to the
//! weighted median of their upper ends (same weights). It always holds the estimate (each cell's
//! interval holds its share, and a weighted median is monotone), a regression in a minority of
//! cells moves its ends no further than the estimate, and when every cell's share is `s` it
//! misses `s` only if cells holding more than half of the events each miss it on the same side,
//! each with a chance of 2.5%: at least 95% coverage, far more with many codes (conservative, as
//! a check against a wrong declaration should be). A declared share outside it is one the data
//! contradict.
//!
//! **A ramp.** The same estimate over the codes of the first part and of the last part; the share
//! drifted when their intervals do not overlap.
//!
//! **What it cannot see.** The estimate is the share of *events*: it equals the share of users
//! only when most codes did not change. A regression (or an improvement) in codes holding most of
//! the events, in particular in every code at once, moves the estimate with it and looks exactly
//! like a change of traffic; `--traffic auto` then hides it. A code holding more than half of
//! the events over most of the run decides the estimate alone.

use crate::bins::Bins;
use crate::report::{Dispersion, ShareEstimate, Traffic, TrafficParts};

/// The standard normal quantile of the cells' 95% Wilson intervals (two-sided).
pub const Z: f64 = 1.96;

/// One code's counts in a stretch of the run, and its dispersion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeCounts {
    /// Canary events.
    pub canary: u64,
    /// Baseline events.
    pub baseline: u64,
    /// The code's index of dispersion, at least 1.
    pub dispersion: f64,
}

impl CodeCounts {
    fn events(&self) -> u64 {
        self.canary + self.baseline
    }
}

/// The weighted median of the codes' canary shares; `None` without events.
pub fn weighted_median(codes: &[CodeCounts]) -> Option<f64> {
    median(
        codes
            .iter()
            .filter(|c| c.events() > 0)
            .map(|c| (c.canary as f64 / c.events() as f64, c.events()))
            .collect(),
    )
}

/// The weighted median of `(value, weight)` pairs: the value at which the running weight, in
/// value order, passes half of the total, or the midpoint of the two values on either side when
/// it lands exactly on half; `None` without weight.
fn median(mut values: Vec<(f64, u64)>) -> Option<f64> {
    values.retain(|v| v.1 > 0);
    let total: u64 = values.iter().map(|v| v.1).sum();
    if total == 0 {
        return None;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut running = 0u64;
    for (i, &(value, weight)) in values.iter().enumerate() {
        running += weight;
        if 2 * running > total {
            return Some(value);
        }
        if 2 * running == total {
            return Some((value + values[i + 1].0) / 2.0);
        }
    }
    unreachable!("the running weight reaches the total")
}

/// The Wilson score interval of a share `canary / events` from `events` independent events.
pub fn wilson(canary: f64, events: f64) -> (f64, f64) {
    let p = canary / events;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * events);
    let spread = Z * (p * (1.0 - p) / events + z2 / (4.0 * events * events)).sqrt();
    let scale = 1.0 + z2 / events;
    (((centre - spread) / scale).max(0.0), ((centre + spread) / scale).min(1.0))
}

/// The estimate's interval: the weighted medians of the codes' Wilson interval ends; `None`
/// without events.
pub fn interval(codes: &[CodeCounts]) -> Option<(f64, f64)> {
    let ends: Vec<(f64, f64, u64)> = codes
        .iter()
        .filter(|c| c.events() > 0)
        .map(|c| {
            let phi = c.dispersion.max(1.0);
            let (lo, hi) = wilson(c.canary as f64 / phi, c.events() as f64 / phi);
            (lo, hi, c.events())
        })
        .collect();
    let lo = median(ends.iter().map(|&(lo, _, w)| (lo, w)).collect())?;
    let hi = median(ends.iter().map(|&(_, hi, w)| (hi, w)).collect())?;
    Some((lo, hi))
}

/// The estimate over some codes' counts; `None` without events.
pub fn estimate(codes: &[CodeCounts]) -> Option<ShareEstimate> {
    Some(ShareEstimate {
        share: weighted_median(codes)?,
        interval: interval(codes)?,
        events: codes.iter().map(CodeCounts::events).sum(),
    })
}

/// Each code's counts in `bins` over the bins `range`, with its dispersion: its own long-run
/// estimate, else the stream's, else 1 (rules that do not measure it).
fn counts(
    bins: &Bins,
    range: std::ops::Range<usize>,
    dispersion: Option<&Dispersion>,
) -> Vec<CodeCounts> {
    (0..bins.codes.len())
        .map(|row| {
            let phi = dispersion.map_or(1.0, |d| {
                d.codes.iter().find(|(code, _)| *code == bins.codes[row]).map_or(d.stream, |c| c.1)
            });
            CodeCounts {
                canary: bins.canary[row][range.clone()].iter().sum(),
                baseline: bins.baseline[row][range.clone()].iter().sum(),
                dispersion: phi,
            }
        })
        .collect()
}

/// The parts of a run: its bins cut into this many stretches of (nearly) equal length; the
/// estimate's cells are the codes in each, and the first and the last are compared for a ramp.
const PARTS: usize = 4;

/// The bins of each part: `PARTS` contiguous ranges, or one range with fewer bins than that.
fn parts(bins: usize) -> Vec<std::ops::Range<usize>> {
    let parts = if bins >= PARTS { PARTS } else { 1 };
    (0..parts).map(|i| i * bins / parts..(i + 1) * bins / parts).collect()
}

/// The cells of the whole run: each code in each part.
fn cells(bins: &Bins, dispersion: Option<&Dispersion>) -> Vec<CodeCounts> {
    parts(bins.len()).into_iter().flat_map(|range| counts(bins, range, dispersion)).collect()
}

/// The canary's share of events over the whole of `bins`, for `--traffic auto`; `None` without
/// events. Dispersion does not move the median, so none is needed.
pub fn share_of(bins: &Bins) -> Option<f64> {
    weighted_median(&cells(bins, None))
}

/// The traffic check of a run over `bins`: `declared` is `None` with `--traffic auto`. `None`
/// without events.
pub fn check(
    bins: &Bins,
    declared: Option<f64>,
    dispersion: Option<&Dispersion>,
) -> Option<Traffic> {
    let estimate = estimate(&cells(bins, dispersion))?;
    let ranges = parts(bins.len());
    let parts = (ranges.len() > 1).then(|| {
        let part = |range: &std::ops::Range<usize>| {
            (
                bins.bin_start(range.start),
                bins.bin_end(range.end - 1),
                self::estimate(&counts(bins, range.clone(), dispersion)),
            )
        };
        TrafficParts { first: part(&ranges[0]), last: part(&ranges[ranges.len() - 1]) }
    });
    Some(Traffic { declared, estimate, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(canary: u64, baseline: u64) -> CodeCounts {
        CodeCounts { canary, baseline, dispersion: 1.0 }
    }

    #[test]
    fn the_median_is_the_share_where_the_running_weight_passes_half() {
        // Shares 0.2 (10 events), 0.6 (50), 0.9 (20): of 80, the running weight passes 40 at 0.6.
        assert_eq!(weighted_median(&[code(2, 8), code(30, 20), code(18, 2)]), Some(0.6));
        // Two codes of 100 events, at 0.3 and 0.7: exactly half below, so their midpoint.
        let median = weighted_median(&[code(70, 30), code(30, 70)]).unwrap();
        assert!((median - 0.5).abs() < 1e-12, "{median}");
        assert_eq!(weighted_median(&[code(0, 0)]), None);
        assert_eq!(weighted_median(&[]), None);
    }

    #[test]
    fn a_regression_in_a_minority_of_codes_does_not_move_the_median() {
        // Three codes at 0.5 with 100 events each; a fourth with 200 events tripled in the canary
        // (150 of 200) holds 40% of the events: the median stays at 0.5.
        let codes = [code(50, 50), code(50, 50), code(50, 50), code(150, 50)];
        assert_eq!(weighted_median(&codes), Some(0.5));
        // The canary's share of all events would have said 0.6.
        let all: u64 = codes.iter().map(|c| c.canary).sum();
        assert_eq!(all as f64 / 500.0, 0.6);
        // The ends' medians are those of the three unchanged codes: 300 of 500 events.
        assert_eq!(interval(&codes), Some(wilson(50.0, 100.0)));
    }

    #[test]
    fn the_wilson_interval_matches_a_hand_computation() {
        // 50 of 100: centre (0.5 + 1.9208 / 100) / 1.038416 = 0.5; spread 1.96 x sqrt(0.0025 +
        // 0.000096) / 1.038416 = 0.096170: (0.40383, 0.59617).
        let (lo, hi) = wilson(50.0, 100.0);
        assert!((lo - 0.40383).abs() < 1e-5 && (hi - 0.59617).abs() < 1e-5, "{lo} {hi}");
        // 72 of 100: centre (0.72 + 0.019208) / 1.038416 = 0.711861; spread 1.96 x sqrt(0.002016 +
        // 0.000096) / 1.038416 = 0.086743: (0.625118, 0.798604).
        let (lo, hi) = wilson(72.0, 100.0);
        assert!((lo - 0.625118).abs() < 2e-6 && (hi - 0.798604).abs() < 2e-6, "{lo} {hi}");
    }

    #[test]
    fn the_interval_is_the_weighted_medians_of_the_codes_interval_ends() {
        // 50 of 100 has (0.404, 0.596), 72 of 100 (0.625, 0.799), 10 of 20 (0.299, 0.701).
        // Lower ends in order: 0.299 (20), 0.404 (100), 0.625 (100): of 220, the running weight
        // passes 110 at 0.404. Upper ends: 0.596 (100), 0.701 (20), 0.799 (100): at 0.701.
        let codes = [code(50, 50), code(72, 28), code(10, 10)];
        let e = estimate(&codes).unwrap();
        assert_eq!(e.interval, (wilson(50.0, 100.0).0, wilson(10.0, 20.0).1));
        // Shares 0.5 (20 and 100 events) and 0.72: the median is 0.5.
        assert_eq!((e.share, e.events), (0.5, 220));
        assert!(e.allows(0.5) && e.allows(0.7) && !e.allows(0.4) && !e.allows(0.71));
    }

    #[test]
    fn dispersion_widens_the_codes_intervals() {
        let narrow = interval(&[code(500, 500)]).unwrap();
        let wide = interval(&[CodeCounts { canary: 500, baseline: 500, dispersion: 4.0 }]).unwrap();
        // Four times fewer events: about twice the half-width.
        assert_eq!(wide, wilson(125.0, 250.0));
        assert!(wide.1 - wide.0 > 1.9 * (narrow.1 - narrow.0));
        assert_eq!(interval(&[]), None);
    }

    fn bins(canary: Vec<Vec<u64>>, baseline: Vec<Vec<u64>>) -> Bins {
        let codes = (0..canary.len() as i64).map(crate::input::labels::Code::Int).collect();
        let n = canary[0].len() as i64;
        Bins {
            first_second: 0,
            last_second: n * 10 - 1,
            bin_seconds: 10,
            canary_share: 0.5,
            codes,
            canary,
            baseline,
        }
    }

    #[test]
    fn a_ramp_shows_in_the_first_and_last_quarters() {
        // Eight bins: the canary has 10 of 100 events a bin in the first two, 50 of 100 in the
        // last two.
        let canary = vec![vec![10, 10, 20, 30, 40, 40, 50, 50]];
        let baseline = vec![vec![90, 90, 80, 70, 60, 60, 50, 50]];
        let traffic = check(&bins(canary, baseline), Some(0.3), None).unwrap();
        // Four cells of 200 events, at 0.1, 0.25, 0.4 and 0.5: the running weight is exactly
        // half after 0.25, so the midpoint 0.325.
        assert!((traffic.estimate.share - 0.325).abs() < 1e-12, "{traffic:?}");
        let parts = traffic.parts.unwrap();
        assert_eq!((parts.first.0, parts.first.1), (0, 19));
        assert_eq!((parts.last.0, parts.last.1), (60, 79));
        assert_eq!(parts.first.2.unwrap().share, 0.1);
        assert_eq!(parts.last.2.unwrap().share, 0.5);
        assert!(parts.drifted());
        let warnings =
            traffic.warnings(&crate::clock::Clock::utc(crate::input::timestamp::Notation::Offset));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("from 0.100 (0:00:00 to 0:00:19) to 0.500 (0:01:00 to 0:01:19)")
        );
    }

    #[test]
    fn a_steady_share_does_not_drift_and_a_declared_one_outside_is_said() {
        let canary = vec![vec![72; 8], vec![36; 8]];
        let baseline = vec![vec![28; 8], vec![14; 8]];
        let b = bins(canary, baseline);
        let traffic = check(&b, Some(0.5), None).unwrap();
        assert_eq!(traffic.estimate.share, 0.72);
        assert!(!traffic.parts.unwrap().drifted());
        assert_eq!(traffic.consistent(), Some(false));
        let warnings =
            traffic.warnings(&crate::clock::Clock::utc(crate::input::timestamp::Notation::Offset));
        assert_eq!(warnings.len(), 1);
        // (0.72 / 0.5) / (0.28 / 0.5) = 2.571...
        assert!(
            warnings[0].starts_with(
                "--traffic 0.5 is outside what the data allow: the canary has 0.720 of the events"
            ),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("reads as x2.57"), "{}", warnings[0]);
        assert_eq!(check(&b, Some(0.72), None).unwrap().consistent(), Some(true));
        let auto = check(&b, None, None).unwrap();
        assert_eq!(
            (
                auto.consistent(),
                auto.warnings(&crate::clock::Clock::utc(crate::input::timestamp::Notation::Offset))
                    .len()
            ),
            (None, 0)
        );
        assert_eq!(share_of(&b), Some(0.72));
    }

    #[test]
    fn a_regression_over_a_minority_of_a_codes_time_does_not_move_the_median() {
        // Code 0 holds most events and has 2 + 2 a bin, but 20 canary events a bin in bins 8 to
        // 11 of 16 (its share of all its events is 104 / 136 = 0.765); code 1 has 2 + 2
        // throughout. In quarters of 4 bins, code 0's cells are 8 + 8, 8 + 8, 80 + 8 and 8 + 8
        // canary and baseline events, code 1's four 8 + 8: seven cells at 0.5 hold 112 of the
        // 200 events.
        let mut canary0 = vec![2; 16];
        canary0[8..12].fill(20);
        let traffic = check(
            &bins(vec![canary0, vec![2; 16]], vec![vec![2; 16], vec![2; 16]]),
            Some(0.5),
            None,
        )
        .unwrap();
        assert_eq!(traffic.estimate.share, 0.5);
        assert_eq!(traffic.consistent(), Some(true));
    }

    #[test]
    fn fewer_than_four_bins_have_no_parts() {
        let traffic = check(&bins(vec![vec![5, 5, 5]], vec![vec![5, 5, 5]]), Some(0.5), None);
        assert_eq!(traffic.unwrap().parts, None);
        assert_eq!(check(&bins(vec![vec![0; 4]], vec![vec![0; 4]]), Some(0.5), None), None);
    }
}
