//! The default rule: rolling rate ratio with a significance gate.
//!
//! For each code and each window of `w` consecutive bins (every `w` in `--threshold-bins`, each
//! time a bin closes), with `C` canary and `B` baseline events in the window and the canary serving
//! a share `s` of traffic:
//!
//! - `value = (C / s) / (B / (1 - s))`, the ratio of the traffic-normalized mean counts per bin,
//!   so `--threshold 1.25` means "25% more errors in the new build" as in the seed; infinite when
//!   `B = 0` and `C > 0`;
//! - `p = P(X >= C)` for `X ~ Binomial(C + B, s)`: the exact one-sided test of "canary rate <=
//!   baseline rate" ([`crate::stats`]).
//!
//! A window fires when `value >= threshold` and `p <= level`, its level drawn from a false-alarm
//! budget of `alpha` per stream-hour:
//!
//! - every closing bin adds `alpha x (bin length / 3600) / (M x L)` to the savings of each
//!   (code, window length), where `M` is the number of codes seen so far and `L` the number of
//!   window lengths: per hour the additions over all codes and lengths total `alpha`;
//! - savings are capped at one hour's income, `alpha / (M x L)`, so a code that was quiet for
//!   days does not get a lenient test for its next few events;
//! - a window is tested at its savings when it has enough events to reach them at all (its
//!   smallest attainable p-value, `s^(C + B)`, is at most the savings; Tarone 1990), and testing
//!   spends them; a window that cannot reach them spends nothing and its savings carry over.
//!
//! Whether a window is tested depends only on its number of events, never on how they split
//! between the builds, and given those numbers every window's canary count is binomial under the
//! null. So each test's chance of a false fire is at most its level, and by the union bound the
//! expected number of false alarms per stream-hour is at most `alpha`: on a run of an hour or less,
//! the probability of any false alarm is at most `alpha`. Rare codes save up until a window has
//! the events to use the level; busy codes spend every bin.
//!
//! # Bursts
//! That guarantee assumes independent events. When events come in client bursts, each lands whole
//! on one build and the canary's count varies `phi` times the binomial variance
//! ([`super::dispersion`]). The window is then tested at its effective counts, `C / phi` of
//! `(C + B) / phi` (quasi-likelihood; the exact tail at real counts is the regularized incomplete
//! beta function), with `phi` the larger of the code's long-run estimate from the baseline and the
//! window's own local estimate (which stops counting once the stream is known to be calm,
//! [`super::dispersion::Dispersion::is_calm`]). Both are at least 1, so on independent events the
//! guarantee above is unchanged (with `phi >= 1` a test is only more conservative); on bursty
//! streams it holds approximately, as far as `phi` captures the bursts (the benchmark's bursty
//! families measure how far).

use super::Gate;
use super::dispersion::Scaling;
use super::windows::{BinRule, Fired, WindowSums, window_sum};
use crate::stats;

/// Seconds in the hour the budget is stated per.
const SECONDS_PER_HOUR: f64 = 3600.0;

/// The rolling ratio rule with its significance gate.
#[derive(Debug, Clone)]
pub struct Rolling {
    threshold: f64,
    alpha: f64,
    share: f64,
    lengths: usize,
    bin_seconds: u64,
    /// Budget saved for the next testable window, per code and window length: the code's
    /// lengths side by side, in the order of `window_bins`.
    savings: Vec<f64>,
    windows: u64,
    tested: u64,
    codes_seen: usize,
}

impl Rolling {
    /// The rule at `threshold` with a budget of `alpha` expected false alarms per stream-hour.
    pub fn new(threshold: f64, alpha: f64, share: f64, config: &super::RuleConfig) -> Rolling {
        let mut lengths = config.window_bins.clone();
        lengths.sort_unstable();
        lengths.dedup();
        Rolling {
            threshold,
            alpha,
            share,
            lengths: lengths.len().max(1),
            bin_seconds: config.bin_seconds,
            savings: Vec::new(),
            windows: 0,
            tested: 0,
            codes_seen: 0,
        }
    }
}

impl BinRule for Rolling {
    fn close_bin(
        &mut self,
        code: usize,
        bin: usize,
        history: &WindowSums,
        window_bins: &[usize],
        length_s: u64,
        codes_seen: usize,
        scaling: &[Scaling],
        fired: &mut Vec<Fired>,
    ) {
        self.codes_seen = codes_seen;
        let per_code = window_bins.len();
        if self.savings.len() < (code + 1) * per_code {
            self.savings.resize((code + 1) * per_code, 0.0);
        }
        let savings = &mut self.savings[code * per_code..(code + 1) * per_code];
        let income = self.alpha * (length_s as f64 / SECONDS_PER_HOUR)
            / (codes_seen.max(1) as f64 * self.lengths as f64);
        // Savings are capped at an hour's income, so a long quiet stretch never turns into a
        // lenient test of a window with a handful of events.
        let cap = self.alpha / (codes_seen.max(1) as f64 * self.lengths as f64);
        for (k, &w) in window_bins.iter().enumerate() {
            savings[k] = (savings[k] + income).min(cap);
            if bin + 1 < w {
                continue;
            }
            self.windows += 1;
            let (c, b) = window_sum(history, w);
            let level = savings[k];
            let scaling = scaling.get(k).copied().unwrap_or(Scaling::INDEPENDENT);
            // Quasi-likelihood: the test sees the counts divided by the dispersion.
            let (effective_c, effective) = scaling.effective(c, b);
            // The smallest attainable p-value, s^(effective events), must reach the level.
            if c + b == 0 || effective * self.share.ln() > level.ln() {
                continue;
            }
            self.tested += 1;
            savings[k] = 0.0;
            let value = if b == 0 {
                f64::INFINITY
            } else {
                (c as f64 / self.share) / (b as f64 / (1.0 - self.share))
            };
            if value < self.threshold {
                continue;
            }
            let p = if scaling.is_independent() {
                stats::binomial_upper_tail(c, c + b, self.share)
            } else {
                stats::binomial_upper_tail_real(effective_c, effective, self.share)
            };
            if p <= level {
                fired.push(Fired {
                    window_bins: w,
                    value,
                    canary_count: c,
                    baseline_count: b,
                    p_value: Some(p),
                    dispersion: scaling.largest(),
                });
            }
        }
    }

    fn gate(&self) -> Option<Gate> {
        Some(Gate::Budget {
            alpha: self.alpha,
            windows: self.windows,
            tested: self.tested,
            per_window_alpha: self.alpha * (self.bin_seconds as f64 / SECONDS_PER_HOUR)
                / (self.codes_seen.max(1) as f64 * self.lengths as f64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every window's counts taken as they are (independent events).
    const AS_COUNTED: [Scaling; 2] = [Scaling::INDEPENDENT; 2];
    use crate::detect::{Event, RuleConfig, RuleKind, SecondCounts, run_batch};

    fn config(window_bins: Vec<usize>, share: f64) -> RuleConfig {
        RuleConfig {
            rule: RuleKind::Rolling,
            threshold: 1.25,
            window_bins,
            alpha: 0.05,
            canary_share: share,
            bin_seconds: 3600,
        }
    }

    fn history(bins: &[(u64, u64)]) -> WindowSums {
        WindowSums::of(bins, bins.len())
    }

    #[test]
    fn a_significant_increase_over_the_threshold_fires_at_the_saved_level() {
        // Hour-long bins, one code, one window length: each closing bin adds 0.05 to the savings.
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        // 40 against 10: P(X >= 40 | 50, 1/2) = 1.19307e-5 <= 0.05.
        rule.close_bin(0, 0, &history(&[(40, 10)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].value, fired[0].canary_count, fired[0].baseline_count), (4.0, 40, 10));
        let p = fired[0].p_value.unwrap();
        assert!((p / 1.19307e-5 - 1.0).abs() < 1e-5, "{p}");
        assert!(matches!(rule.gate(), Some(Gate::Budget { windows: 1, tested: 1, .. })));
    }

    #[test]
    fn a_window_too_small_to_reach_its_savings_keeps_them() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        // Half-hour bins save 0.025 each. 5 events: the best p-value is 0.5^5 = 0.03125 > 0.025,
        // untested; the savings grow to 0.05.
        rule.close_bin(0, 0, &history(&[(5, 0)]), &[1], 1800, 1, &AS_COUNTED, &mut fired);
        assert!(fired.is_empty());
        assert_eq!(rule.savings[0], 0.025);
        // 5 canary events again: now 0.03125 <= 0.05 and P(X >= 5 | 5, 1/2) = 0.03125 fires.
        rule.close_bin(0, 1, &history(&[(5, 0), (5, 0)]), &[1], 1800, 1, &AS_COUNTED, &mut fired);
        assert_eq!(fired.len(), 1);
        assert_eq!(rule.savings[0], 0.0);
        assert!(matches!(rule.gate(), Some(Gate::Budget { windows: 2, tested: 1, .. })));
    }

    #[test]
    fn income_is_shared_by_codes_and_lengths_and_scaled_by_the_bin_length() {
        let config = config(vec![1, 2], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        // Four codes seen, two lengths, a 900-second bin: 0.05 x 0.25 / 8 each; the two-bin
        // window does not fit yet but still saves.
        rule.close_bin(2, 0, &history(&[(0, 0)]), &[1, 2], 900, 4, &AS_COUNTED, &mut fired);
        let income = 0.05 * 0.25 / 8.0;
        assert_eq!(rule.savings[4..6], [income, income]);
    }

    #[test]
    fn savings_stop_at_an_hours_income() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        // Ten quiet hour-long bins save no more than one hour's 0.05.
        for bin in 0..10 {
            rule.close_bin(0, bin, &history(&[(0, 0)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        }
        assert_eq!(rule.savings[0], 0.05);
        // So a single canary event (best p-value 0.5) is not even tested.
        rule.close_bin(0, 10, &history(&[(1, 0)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert!(fired.is_empty());
    }

    #[test]
    fn a_ratio_over_the_threshold_without_significance_does_not_fire() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        // 8 against 3: tested (0.5^11 <= 0.05) but P(X >= 8 | 11, 1/2) = 0.113.
        rule.close_bin(0, 0, &history(&[(8, 3)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert!(fired.is_empty());
    }

    #[test]
    fn a_significant_increase_under_the_threshold_does_not_fire() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        // 1200 versus 1000: very significant (z ~ 4.3) but only 20% more.
        rule.close_bin(0, 0, &history(&[(1200, 1000)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert!(fired.is_empty());
    }

    #[test]
    fn counts_are_normalized_by_the_traffic_split() {
        // A 10% canary: 30 against 100 is a normalized ratio of (30 / 0.1) / (100 / 0.9) = 2.7.
        let config = config(vec![1], 0.1);
        let mut rule = Rolling::new(1.25, 0.05, 0.1, &config);
        let mut fired = Vec::new();
        rule.close_bin(0, 0, &history(&[(30, 100)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert_eq!(fired.len(), 1);
        assert!((fired[0].value - 2.7).abs() < 1e-9);
        // The same counts at an equal split are a decrease and never fire.
        let config = self::config(vec![1], 0.5);
        let mut rule = Rolling::new(0.01, 0.5, 0.5, &config);
        fired.clear();
        rule.close_bin(0, 0, &history(&[(30, 100)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert!(fired.is_empty());
    }

    #[test]
    fn a_code_without_baseline_events_has_an_infinite_value() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let mut fired = Vec::new();
        rule.close_bin(0, 0, &history(&[(12, 0)]), &[1], 3600, 1, &AS_COUNTED, &mut fired);
        assert_eq!(fired.len(), 1);
        assert!(fired[0].value.is_infinite());
    }

    #[test]
    fn a_detector_reports_the_episode_start_and_end() {
        // 60-second bins; one code at one event per build per second, tripled in the canary
        // over seconds 1200..=2399; windows of 5 bins (longer than the dispersion's 3 tau, so
        // the step up is not mistaken for a burst).
        let mut config = config(vec![5], 0.5);
        config.bin_seconds = 60;
        let canary: Vec<u32> =
            (0..4000).map(|s| if (1200..2400).contains(&s) { 3 } else { 1 }).collect();
        let baseline = vec![1u32; 4000];
        let mut detector = config.detector();
        let mut events = Vec::new();
        for s in 0..4000 {
            detector.push_second(s, &[(u64::from(canary[s as usize]), 1)], &mut events);
        }
        detector.finish(&mut events);
        let started: Vec<_> = events.iter().filter(|e| matches!(e, Event::Started(_))).collect();
        assert_eq!(started.len(), 1, "{events:?}");
        let episodes = run_batch(
            config.detector().as_mut(),
            0,
            &[SecondCounts { canary: &canary, baseline: &baseline }],
        );
        assert_eq!(episodes.len(), 1);
        assert_eq!((episodes[0].start_s, episodes[0].stop_s), (1200, 2399));
    }
}
