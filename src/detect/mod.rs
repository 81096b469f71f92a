//! Detection: alert rules over the bins, and the merging of firing windows into alert episodes.
//!
//! A rule looks at each error code through windows of `window_bins` consecutive bins, for every
//! window length in `--threshold-bins`, and reports the windows that fire ([`FiringWindow`]). The
//! rules differ only in that decision:
//!
//! - [`rolling::Rolling`] (the default): the ratio of canary to baseline rates over the window
//!   reaches the threshold *and* a one-sided exact binomial test finds the increase significant at
//!   a level that bounds the chance of any false alert in the run by `alpha`;
//! - [`mean_diff::MeanDiff`]: the seed's literal rule, the mean differential bucket over the
//!   window reaches the threshold, with no test.
//!
//! Firing windows of one code that overlap or touch merge into one [`Alert`] episode
//! ([`merge_episodes`]): its windows run from the first second of its first window to the last
//! second of its last; it keeps the largest value with its counts and window length, and the
//! smallest p-value; it was detected at the last second of its earliest-ending window, the moment a
//! live system would have known. Because windows reach back before a change, the episode's start and
//! stop are estimated within the windows as the span where the increase lies (`increase_span`).

pub mod mean_diff;
pub mod rolling;
pub mod sequential;

use crate::bins::Bins;
use crate::input::labels::Code;

/// An alert rule.
pub trait Rule {
    /// The alert episodes and, for rules that test, how the false-alarm budget was spent.
    fn detect(&self, input: &RuleInput) -> Detection;
}

/// What a rule looks at.
#[derive(Debug, Clone)]
pub struct RuleInput<'a> {
    /// The binned counts.
    pub bins: &'a Bins,
    /// The one-second counts of each code, in the order of [`Bins::codes`], from
    /// [`Bins::first_second`] to [`Bins::last_second`].
    pub seconds: Vec<SecondCounts<'a>>,
}

/// One code's events per second.
#[derive(Debug, Clone, Copy)]
pub struct SecondCounts<'a> {
    /// Canary events per second.
    pub canary: &'a [u32],
    /// Baseline events per second.
    pub baseline: &'a [u32],
}

/// What a rule found.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The alert episodes, ordered by start.
    pub alerts: Vec<Alert>,
    /// How the false-alarm budget was spent, for rules that have one.
    pub gate: Option<Gate>,
}

/// How a rule spent its false-alarm budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gate {
    /// The rolling rule's exact tests under Tarone's correction.
    Tarone {
        /// The family-wise false-alarm probability bound for the whole run.
        alpha: f64,
        /// Windows looked at: codes x window lengths x positions.
        tests: u64,
        /// The divisor of Tarone's procedure: at most this many windows could reach the level.
        testable: u64,
        /// The per-window level, `alpha / testable`.
        per_test_level: f64,
        /// The fewest events a window needs before it can reach the level.
        min_events: u64,
    },
    /// The sequential rule's e-detector.
    Sequential {
        /// Expected false alarms per stream-hour.
        alpha: f64,
        /// The alarm bound on the mixture statistic, `3600 / alpha`.
        bound: f64,
        /// Alternatives in the mixture.
        alternatives: usize,
    },
}

/// A rule that decides window by window; its firing windows merge into episodes.
pub trait WindowRule {
    /// The windows that fire (in any order) and how the budget was spent.
    fn firing_windows(&self, bins: &Bins) -> (Vec<FiringWindow>, Option<Gate>);
    /// The threshold the windows were held to.
    fn threshold(&self) -> f64;
}

impl<T: WindowRule> Rule for T {
    fn detect(&self, input: &RuleInput) -> Detection {
        let (windows, gate) = self.firing_windows(input.bins);
        Detection { alerts: merge_episodes(input.bins, windows, self.threshold()), gate }
    }
}

/// One window (of one code) that met the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FiringWindow {
    /// Index into [`Bins::codes`].
    pub code: usize,
    /// First bin of the window.
    pub first_bin: usize,
    /// Last bin of the window (inclusive).
    pub last_bin: usize,
    /// The rule's value: the rate ratio (infinite when the baseline had no events) or the mean
    /// differential bucket.
    pub value: f64,
    /// Canary events in the window.
    pub canary_count: u64,
    /// Baseline events in the window.
    pub baseline_count: u64,
    /// The one-sided p-value, for rules that test.
    pub p_value: Option<f64>,
}

/// One alert episode: a span of time over which one error code's windows kept firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Index into [`Bins::codes`].
    pub code_index: usize,
    /// The error code.
    pub code: Code,
    /// First second of the increase: the first bin of the maximum-likelihood span of the increase
    /// within the firing windows.
    pub start_s: i64,
    /// Last second of the increase: the last bin of that span.
    pub stop_s: i64,
    /// First second of the first firing window.
    pub windows_start_s: i64,
    /// Last second of the last firing window.
    pub windows_stop_s: i64,
    /// Last second of the earliest-ending firing window.
    pub detected_at_s: i64,
    /// Length in bins of the window with the largest value (window rules only).
    pub window_bins: Option<usize>,
    /// The largest value over the episode (`f64::INFINITY` when the baseline had no events).
    pub value: f64,
    /// The code has no baseline events anywhere in the input: it is new in the canary build.
    pub new_code: bool,
    /// The threshold the value was compared with.
    pub threshold: f64,
    /// Canary events in the window with the largest value.
    pub canary_count: u64,
    /// Baseline events in the window with the largest value.
    pub baseline_count: u64,
    /// The smallest p-value over the episode, for rules that test window by window.
    pub p_value: Option<f64>,
    /// A confidence interval for the rate ratio, for rules that give one.
    pub ratio_interval: Option<(f64, f64)>,
}

/// Merges firing windows into alert episodes, ordered by start, then code order.
pub fn merge_episodes(bins: &Bins, mut windows: Vec<FiringWindow>, threshold: f64) -> Vec<Alert> {
    windows.sort_by_key(|w| (w.code, w.first_bin, w.last_bin));
    // (first bin, last bin, episode) of each episode.
    let mut episodes: Vec<(usize, usize, Alert)> = Vec::new();
    for window in windows {
        let window_bins = window.last_bin - window.first_bin + 1;
        if let Some((_, last_bin, episode)) = episodes.last_mut()
            && episode.code_index == window.code
            && window.first_bin <= *last_bin + 1
        {
            *last_bin = (*last_bin).max(window.last_bin);
            episode.detected_at_s = episode.detected_at_s.min(bins.bin_end(window.last_bin));
            if window.value > episode.value {
                episode.value = window.value;
                episode.window_bins = Some(window_bins);
                episode.canary_count = window.canary_count;
                episode.baseline_count = window.baseline_count;
            }
            episode.p_value = match (episode.p_value, window.p_value) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            continue;
        }
        let (_, baseline_total) = bins.totals(window.code);
        let episode = Alert {
            code_index: window.code,
            code: bins.codes[window.code].clone(),
            start_s: 0,
            stop_s: 0,
            windows_start_s: 0,
            windows_stop_s: 0,
            detected_at_s: bins.bin_end(window.last_bin),
            window_bins: Some(window_bins),
            value: window.value,
            new_code: baseline_total == 0,
            threshold,
            canary_count: window.canary_count,
            baseline_count: window.baseline_count,
            p_value: window.p_value,
            ratio_interval: None,
        };
        episodes.push((window.first_bin, window.last_bin, episode));
    }
    let mut alerts: Vec<Alert> = episodes
        .into_iter()
        .map(|(first_bin, last_bin, mut episode)| {
            episode.windows_start_s = bins.bin_start(first_bin);
            episode.windows_stop_s = bins.bin_end(last_bin);
            let (onset, end) = increase_span(bins, &episode, first_bin, last_bin);
            episode.start_s = bins.bin_start(onset);
            episode.stop_s = bins.bin_end(end);
            episode
        })
        .collect();
    alerts.sort_by_key(|a| (a.start_s, a.code_index));
    alerts
}

/// The bins, within an episode's firing windows `first_bin..=last_bin`, where the increase lies.
///
/// A firing window often reaches back before the change (a ten-bin window that fires two bins
/// after a regression began starts eight bins too early). Given the canary's share of events in the
/// episode's strongest window, `q`, against its traffic share `s`, each bin `b` scores the log
/// likelihood ratio `C_b ln(q / s) + B_b ln((1 - q) / (1 - s))` of "this bin has the increase"
/// against "it has not"; the maximum-scoring run of bins is the maximum-likelihood span of the
/// increase (the epidemic change-point estimate with a known effect size), found in linear time
/// by Kadane's maximum-subarray scan. `q` is smoothed by half an event so that a window without
/// baseline events does not forbid every bin that has one.
fn increase_span(
    bins: &Bins,
    episode: &Alert,
    first_bin: usize,
    last_bin: usize,
) -> (usize, usize) {
    let share = bins.canary_share;
    let (c, b) = (episode.canary_count as f64, episode.baseline_count as f64);
    let q = (c + 0.5) / (c + b + 1.0);
    if q <= share {
        return (first_bin, last_bin);
    }
    let (up, down) = ((q / share).ln(), ((1.0 - q) / (1.0 - share)).ln());
    let canary = &bins.canary[episode.code_index];
    let baseline = &bins.baseline[episode.code_index];
    let mut best = (f64::NEG_INFINITY, first_bin, last_bin);
    let (mut run, mut run_start) = (0.0, first_bin);
    for bin in first_bin..=last_bin {
        if run <= 0.0 {
            run = 0.0;
            run_start = bin;
        }
        run += canary[bin] as f64 * up + baseline[bin] as f64 * down;
        if run > best.0 {
            best = (run, run_start, bin);
        }
    }
    if best.0 > 0.0 { (best.1, best.2) } else { (first_bin, last_bin) }
}

/// Every window of every length in `window_lengths` that fits inside the bins, as
/// `(first_bin, last_bin)`; lengths longer than the data give no windows.
pub fn window_positions(
    n_bins: usize,
    window_lengths: &[usize],
) -> impl Iterator<Item = (usize, usize)> + '_ {
    window_lengths.iter().flat_map(move |&w| (w..=n_bins).map(move |end| (end - w, end - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(n: usize, bin_seconds: u64) -> Bins {
        Bins {
            first_second: 0,
            last_second: (n as u64 * bin_seconds) as i64 - 1,
            bin_seconds,
            canary_share: 0.5,
            codes: vec![Code::Int(1), Code::Int(2)],
            canary: vec![vec![1; n], vec![1; n]],
            baseline: vec![vec![1; n], vec![0; n]],
        }
    }

    fn window(code: usize, first_bin: usize, last_bin: usize, value: f64, p: f64) -> FiringWindow {
        FiringWindow {
            code,
            first_bin,
            last_bin,
            value,
            canary_count: (value * 10.0) as u64,
            baseline_count: 10,
            p_value: Some(p),
        }
    }

    #[test]
    fn overlapping_and_touching_windows_merge() {
        let bins = bins(20, 10);
        let windows = vec![
            window(0, 2, 6, 1.5, 0.01),
            window(0, 0, 4, 1.3, 0.02),
            window(0, 7, 11, 2.0, 0.03),  // touches [2, 6]
            window(0, 13, 17, 1.4, 0.04), // gap of one bin: a new episode
        ];
        let alerts = merge_episodes(&bins, windows, 1.25);
        assert_eq!(alerts.len(), 2);
        let first = &alerts[0];
        assert_eq!((first.windows_start_s, first.windows_stop_s), (0, 119));
        // Every bin has one event from each build: no bin looks like the increase, so the span
        // stays that of the windows.
        assert_eq!((first.start_s, first.stop_s), (0, 119));
        assert_eq!(first.detected_at_s, 49, "the earliest-ending window ends at bin 4");
        assert_eq!((first.value, first.canary_count, first.window_bins), (2.0, 20, Some(5)));
        assert_eq!(first.p_value, Some(0.01));
        assert!(!first.new_code);
        assert_eq!((alerts[1].start_s, alerts[1].stop_s), (130, 179));
    }

    #[test]
    fn the_span_of_the_increase_is_found_within_the_windows() {
        let mut bins = bins(12, 10);
        bins.canary[0] = vec![1, 1, 1, 1, 1, 9, 9, 9, 1, 1, 1, 1];
        // The window over bins 2-9 holds 32 canary and 8 baseline events: q = 32.5 / 41. A bin
        // with 1 and 1 scores ln(q / 0.5) + ln((1 - q) / 0.5) = -0.42, a bin with 9 and 1 scores
        // 9 ln(q / 0.5) + ln((1 - q) / 0.5) = 3.27: the increase is bins 5-7.
        let window = FiringWindow {
            code: 0,
            first_bin: 2,
            last_bin: 9,
            value: 4.0,
            canary_count: 32,
            baseline_count: 8,
            p_value: Some(1e-4),
        };
        let alerts = merge_episodes(&bins, vec![window], 1.25);
        assert_eq!((alerts[0].windows_start_s, alerts[0].windows_stop_s), (20, 99));
        assert_eq!((alerts[0].start_s, alerts[0].stop_s), (50, 79));
        assert_eq!(alerts[0].detected_at_s, 99);
    }

    #[test]
    fn windows_of_different_codes_stay_apart_and_new_codes_are_marked() {
        let bins = bins(20, 10);
        let alerts = merge_episodes(
            &bins,
            vec![window(1, 0, 4, f64::INFINITY, 0.001), window(0, 0, 4, 2.0, 0.01)],
            1.25,
        );
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].code, Code::Int(1));
        assert!(!alerts[0].new_code);
        assert_eq!(alerts[1].code, Code::Int(2));
        assert!(alerts[1].new_code);
        assert!(alerts[1].value.is_infinite());
    }

    #[test]
    fn window_positions_cover_every_fitting_window() {
        let positions: Vec<_> = window_positions(4, &[2, 5, 4]).collect();
        assert_eq!(positions, vec![(0, 1), (1, 2), (2, 3), (0, 3)]);
    }
}
