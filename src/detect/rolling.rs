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
//! - every closing bin brings `alpha x (bin length / 3600)`, so over an hour the bins bring
//!   `alpha`, and the bin's budget is spent on the windows that end with it;
//! - a window with `n` events cannot produce a p-value below `s^n` (all `n` on the canary), so
//!   one that cannot reach its level is not tested and needs no share of the budget (Tarone
//!   1990): the budget is shared equally by the `k` windows, over all codes and lengths, that
//!   can reach `budget / k`, the smallest `k` for which no more than `k` can (`tarone_level`).
//!   Each of them is tested at `budget / k`; that is at least the plain Bonferroni share,
//!   `budget / (codes x lengths)`, and on a stream whose rare codes cannot reach it, several times
//!   it;
//! - nothing is carried from bin to bin, so a code that was quiet for days gets no more lenient a
//!   test for its next few events than any other window.
//!
//! Whether a window is tested depends only on the numbers of events of the bin's windows, never on
//! how they split between the builds, and given those numbers every window's canary count is
//! binomial under the null. So each test's chance of a false fire is at most its level, the levels
//! of a bin's tested windows add up to at most its budget, and by the union bound the expected
//! number of false alarms per stream-hour is at most `alpha`: on a run of an hour or less, the
//! probability of any false alarm is at most `alpha`.
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
use super::windows::{BinRule, Candidate, Fired, WindowSums, window_sum};
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
    /// The level each window of the closing bin is tested at, 0 for one not tested: per code
    /// and window length, the code's lengths side by side in the order of `window_bins`.
    levels: Vec<f64>,
    /// The smallest attainable p-value of each window of the closing bin, in the order
    /// [`BinRule::plan`] hands them over, and those that reach the bin's budget, sorted (scratch).
    reach: Vec<f64>,
    smallest: Vec<f64>,
    /// The budget the windows tested so far left unspent, carried to the next bin (capped).
    reserve: f64,
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
            levels: Vec::new(),
            reach: Vec::new(),
            smallest: Vec::new(),
            reserve: 0.0,
            windows: 0,
            tested: 0,
            codes_seen: 0,
        }
    }
}

/// The level at which the windows of a bin with `budget` are tested (Tarone 1990): with
/// `smallest` the smallest attainable p-values of its windows, `budget / k` for the smallest
/// `k >= 1` such that at most `k` of them are at most `budget / k`. Those windows are tested at
/// it, so their levels add up to at most `budget`. Reorders `smallest`.
fn tarone_level(budget: f64, smallest: &mut [f64]) -> f64 {
    smallest.sort_unstable_by(f64::total_cmp);
    let reaching = |k: usize| smallest.partition_point(|&p| p <= budget / k as f64);
    // `reaching` never grows with `k` and `k` does, so the smallest k is found by bisection
    // over 1..=n (at k = n, at most n windows reach anything).
    let (mut lo, mut hi) = (1, smallest.len().max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if reaching(mid) <= mid {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    budget / lo as f64
}

impl BinRule for Rolling {
    fn plan(&mut self, length_s: u64, codes_seen: usize, codes: usize, windows: &[Candidate]) {
        self.codes_seen = codes_seen;
        let pairs = codes_seen.max(1) as f64 * self.lengths as f64;
        let budget = self.alpha * (length_s as f64 / SECONDS_PER_HOUR) + self.reserve;
        let ln_share = self.share.ln();
        // The smallest p-value a window can give is s^(its effective events).
        self.reach.clear();
        self.reach.extend(windows.iter().map(|window| (window.effective * ln_share).exp()));
        // A window that cannot reach the whole budget can reach no share of it.
        self.smallest.clear();
        self.smallest.extend(self.reach.iter().copied().filter(|&p| p <= budget));
        let level = tarone_level(budget, &mut self.smallest);
        self.levels.clear();
        self.levels.resize(codes * self.lengths, 0.0);
        let mut spent = 0.0;
        for (window, _) in windows.iter().zip(&self.reach).filter(|&(_, &p)| p <= level) {
            self.levels[window.code * self.lengths + window.length] = level;
            spent += level;
        }
        // What is left carries over, up to an hour of one window's plain share, so a long quiet
        // stretch never turns into a lenient test of a window with a handful of events.
        self.reserve = (budget - spent).max(0.0).min(self.alpha / pairs);
    }

    fn close_bin(
        &mut self,
        code: usize,
        bin: usize,
        history: &WindowSums,
        window_bins: &[usize],
        scaling: &[Scaling],
        fired: &mut Vec<Fired>,
    ) {
        for (k, &w) in window_bins.iter().enumerate() {
            if bin + 1 < w {
                continue;
            }
            self.windows += 1;
            let level = self.levels.get(code * window_bins.len() + k).copied().unwrap_or(0.0);
            if level <= 0.0 {
                continue;
            }
            self.tested += 1;
            let (c, b) = window_sum(history, w);
            let scaling = scaling.get(k).copied().unwrap_or(Scaling::INDEPENDENT);
            // Quasi-likelihood: the test sees the counts divided by the dispersion.
            let (effective_c, effective) = scaling.effective(c, b);
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
                    level: Some(level),
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

    /// Closes bin `bin` of every code in `codes` (code `i` is `codes[i]`, every one seen), with
    /// its counts taken as they are: the plan over all of them, then each code's windows.
    fn close(
        rule: &mut Rolling,
        bin: usize,
        codes: &[WindowSums],
        window_bins: &[usize],
        length_s: u64,
    ) -> Vec<Fired> {
        let mut candidates = Vec::new();
        for (code, history) in codes.iter().enumerate() {
            for (length, &w) in window_bins.iter().enumerate() {
                let (c, b) = window_sum(history, w);
                if bin + 1 >= w && c + b > 0 {
                    let events = c + b;
                    candidates.push(Candidate { code, length, events, effective: events as f64 });
                }
            }
        }
        rule.plan(length_s, codes.len(), codes.len(), &candidates);
        let mut fired = Vec::new();
        for (code, history) in codes.iter().enumerate() {
            let scaling = &AS_COUNTED[..window_bins.len()];
            rule.close_bin(code, bin, history, window_bins, scaling, &mut fired);
        }
        fired
    }

    #[test]
    fn a_significant_increase_over_the_threshold_fires_at_the_bins_budget() {
        // An hour-long bin, one code, one window length: the window gets the bin's whole 0.05.
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        // 40 against 10: P(X >= 40 | 50, 1/2) = 1.19307e-5 <= 0.05.
        let fired = close(&mut rule, 0, &[history(&[(40, 10)])], &[1], 3600);
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].value, fired[0].canary_count, fired[0].baseline_count), (4.0, 40, 10));
        let p = fired[0].p_value.unwrap();
        assert!((p / 1.19307e-5 - 1.0).abs() < 1e-5, "{p}");
        assert!(matches!(rule.gate(), Some(Gate::Budget { windows: 1, tested: 1, .. })));
    }

    #[test]
    fn the_level_is_shared_by_the_windows_that_can_reach_it() {
        // Smallest attainable p-values of five windows, a budget of 0.01. k = 1: three reach
        // 0.01; k = 2: three reach 0.005; k = 3: two reach 0.00333, so the level is 0.01 / 3
        // and the two windows tested at it spend 0.00667 of the 0.01.
        let mut smallest = [0.02, 1e-4, 0.5, 4e-3, 2e-3];
        assert_eq!(tarone_level(0.01, &mut smallest), 0.01 / 3.0);
        // Every window reaches anything: the plain Bonferroni share.
        assert_eq!(tarone_level(0.01, &mut [1e-9; 4]), 0.01 / 4.0);
        // None reaches it, or there is none: the whole budget (nothing is tested at it).
        assert_eq!(tarone_level(0.01, &mut [0.5, 0.25]), 0.01);
        assert_eq!(tarone_level(0.01, &mut []), 0.01);
    }

    #[test]
    fn a_code_that_cannot_reach_significance_leaves_its_share_to_the_others() {
        // Two codes, one window length, an hour-long bin: 0.05. Code 1's two canary events can
        // give no p-value below 0.25, so code 0 is tested at the whole 0.05, not at the 0.025 a
        // share by codes would give: 26 against 14 is P(X >= 26 | 40, 1/2) = 0.0403452 and fires.
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let codes = [history(&[(26, 14)]), history(&[(2, 0)])];
        let fired = close(&mut rule, 0, &codes, &[1], 3600);
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert!((fired[0].p_value.unwrap() / 0.0403452 - 1.0).abs() < 1e-5);
        assert_eq!(rule.levels, [0.05, 0.0]);
        assert!(matches!(rule.gate(), Some(Gate::Budget { windows: 2, tested: 1, .. })));
        // When both can reach half of it, each is tested at half: 26 against 14 no longer fires.
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let codes = [history(&[(26, 14)]), history(&[(30, 0)])];
        let fired = close(&mut rule, 0, &codes, &[1], 3600);
        assert_eq!(rule.levels, [0.025, 0.025]);
        assert_eq!(fired.iter().map(|f| f.canary_count).collect::<Vec<_>>(), [30]);
    }

    #[test]
    fn unspent_budget_carries_over_up_to_an_hour_of_one_windows_share() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        // Half-hour bins bring 0.025 each. 5 events: the best p-value is 0.5^5 = 0.03125 > 0.025,
        // untested; the 0.025 carries over.
        assert!(close(&mut rule, 0, &[history(&[(5, 0)])], &[1], 1800).is_empty());
        assert_eq!(rule.reserve, 0.025);
        // 5 canary events again: 0.03125 <= 0.05 and P(X >= 5 | 5, 1/2) = 0.03125 fires; the
        // window spent all of it.
        let fired = close(&mut rule, 1, &[history(&[(5, 0), (5, 0)])], &[1], 1800);
        assert_eq!(fired.len(), 1);
        assert_eq!(rule.reserve, 0.0);
        // Ten quiet bins carry no more than an hour of the one window's share, 0.05.
        for bin in 2..12 {
            assert!(close(&mut rule, bin, &[history(&[(0, 0)])], &[1], 1800).is_empty());
        }
        assert_eq!(rule.reserve, 0.05);
        // So a single canary event (best p-value 0.5) is not even tested.
        assert!(close(&mut rule, 12, &[history(&[(1, 0)])], &[1], 1800).is_empty());
        assert!(matches!(rule.gate(), Some(Gate::Budget { windows: 13, tested: 1, .. })));
    }

    #[test]
    fn the_budget_is_scaled_by_the_bin_length_and_windows_that_do_not_fit_get_none() {
        let mut config = config(vec![1, 2], 0.5);
        config.bin_seconds = 900;
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        // A 900-second bin brings 0.05 x 0.25; four codes with events, but at the first bin only
        // the one-bin windows fit: four of them reach anything, so each gets a quarter.
        let codes = vec![history(&[(60, 60)]); 4];
        close(&mut rule, 0, &codes, &[1, 2], 900);
        let quarter = 0.05 * 0.25 / 4.0;
        assert_eq!(rule.levels, [quarter, 0.0, quarter, 0.0, quarter, 0.0, quarter, 0.0]);
        // The gate reports the plain share by codes and lengths, the least a tested window gets.
        let Some(Gate::Budget { per_window_alpha, .. }) = rule.gate() else { panic!() };
        assert_eq!(per_window_alpha, 0.05 * 0.25 / 8.0);
    }

    #[test]
    fn a_ratio_over_the_threshold_without_significance_does_not_fire() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        // 8 against 3: tested (0.5^11 <= 0.05) but P(X >= 8 | 11, 1/2) = 0.113.
        let fired = close(&mut rule, 0, &[history(&[(8, 3)])], &[1], 3600);
        assert!(fired.is_empty());
    }

    #[test]
    fn a_significant_increase_under_the_threshold_does_not_fire() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        // 1200 versus 1000: very significant (z ~ 4.3) but only 20% more.
        let fired = close(&mut rule, 0, &[history(&[(1200, 1000)])], &[1], 3600);
        assert!(fired.is_empty());
    }

    #[test]
    fn counts_are_normalized_by_the_traffic_split() {
        // A 10% canary: 30 against 100 is a normalized ratio of (30 / 0.1) / (100 / 0.9) = 2.7.
        let config = config(vec![1], 0.1);
        let mut rule = Rolling::new(1.25, 0.05, 0.1, &config);
        let fired = close(&mut rule, 0, &[history(&[(30, 100)])], &[1], 3600);
        assert_eq!(fired.len(), 1);
        assert!((fired[0].value - 2.7).abs() < 1e-9);
        // The same counts at an equal split are a decrease and never fire.
        let config = self::config(vec![1], 0.5);
        let mut rule = Rolling::new(0.01, 0.5, 0.5, &config);
        let fired = close(&mut rule, 0, &[history(&[(30, 100)])], &[1], 3600);
        assert!(fired.is_empty());
    }

    #[test]
    fn a_code_without_baseline_events_has_an_infinite_value() {
        let config = config(vec![1], 0.5);
        let mut rule = Rolling::new(1.25, 0.05, 0.5, &config);
        let fired = close(&mut rule, 0, &[history(&[(12, 0)])], &[1], 3600);
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
