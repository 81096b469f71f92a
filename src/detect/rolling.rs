//! The default rule: rolling-mean ratio with a significance gate.
//!
//! For each code and each window of `w` consecutive bins (every `w` in `--threshold-bins`, every
//! position where the window fits), with `C` canary and `B` baseline events in the window and the
//! canary serving a share `s` of traffic:
//!
//! - `value = (C / s) / (B / (1 - s))`, the ratio of the traffic-normalized mean counts per bin,
//!   so `--threshold 1.25` means "25% more errors in the new build" as in the seed; infinite when
//!   `B = 0` and `C > 0`;
//! - `p = P(X >= C)` for `X ~ Binomial(C + B, s)`: the exact one-sided test of "canary rate <=
//!   baseline rate" ([`crate::stats`]).
//!
//! A window fires when `value >= threshold` and `p <= alpha / K`, with `K` from Tarone's modified
//! Bonferroni procedure over all the windows of the run, so the probability that any window of any
//! code fires while no code got worse is at most `alpha`.

use super::{FiringWindow, Gate, WindowRule, window_positions};
use crate::bins::Bins;
use crate::stats;

/// The rolling ratio rule with its significance gate.
#[derive(Debug, Clone)]
pub struct Rolling {
    /// The rate ratio at which a significant window fires.
    pub threshold: f64,
    /// Window lengths, in bins.
    pub window_bins: Vec<usize>,
    /// Family-wise false-alarm probability for the run.
    pub alpha: f64,
}

impl WindowRule for Rolling {
    fn threshold(&self) -> f64 {
        self.threshold
    }

    fn firing_windows(&self, bins: &Bins) -> (Vec<FiringWindow>, Option<Gate>) {
        let share = bins.canary_share;
        let prefix = |counts: &[u64]| -> Vec<u64> {
            std::iter::once(0)
                .chain(counts.iter().scan(0, |acc, &c| {
                    *acc += c;
                    Some(*acc)
                }))
                .collect()
        };
        let prefixes: Vec<(Vec<u64>, Vec<u64>)> = (0..bins.codes.len())
            .map(|code| (prefix(&bins.canary[code]), prefix(&bins.baseline[code])))
            .collect();
        let window_counts = |code: usize, first: usize, last: usize| {
            let (canary, baseline) = &prefixes[code];
            (canary[last + 1] - canary[first], baseline[last + 1] - baseline[first])
        };

        let mut events: Vec<u64> = Vec::new();
        for code in 0..bins.codes.len() {
            for (first, last) in window_positions(bins.len(), &self.window_bins) {
                let (c, b) = window_counts(code, first, last);
                events.push(c + b);
            }
        }
        let tests = events.len() as u64;
        let tarone = stats::tarone(self.alpha, share, &mut events);

        let mut windows = Vec::new();
        for code in 0..bins.codes.len() {
            for (first_bin, last_bin) in window_positions(bins.len(), &self.window_bins) {
                let (c, b) = window_counts(code, first_bin, last_bin);
                if c + b < tarone.min_events || c == 0 {
                    continue;
                }
                let value = if b == 0 {
                    f64::INFINITY
                } else {
                    (c as f64 / share) / (b as f64 / (1.0 - share))
                };
                if value < self.threshold {
                    continue;
                }
                let p = stats::binomial_upper_tail(c, c + b, share);
                if p <= tarone.level {
                    windows.push(FiringWindow {
                        code,
                        first_bin,
                        last_bin,
                        value,
                        canary_count: c,
                        baseline_count: b,
                        p_value: Some(p),
                    });
                }
            }
        }
        let gate = Gate::Tarone {
            alpha: self.alpha,
            tests,
            testable: tarone.k,
            per_test_level: tarone.level,
            min_events: tarone.min_events,
        };
        (windows, Some(gate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;

    struct Out {
        windows: Vec<FiringWindow>,
        gate: Option<Gate>,
    }

    trait Evaluate {
        fn evaluate(&self, bins: &Bins) -> Out;
    }

    impl<T: WindowRule> Evaluate for T {
        fn evaluate(&self, bins: &Bins) -> Out {
            let (windows, gate) = self.firing_windows(bins);
            Out { windows, gate }
        }
    }

    fn bins(canary: Vec<Vec<u64>>, baseline: Vec<Vec<u64>>, share: f64) -> Bins {
        let n = canary[0].len();
        Bins {
            first_second: 0,
            last_second: n as i64 * 10 - 1,
            bin_seconds: 10,
            canary_share: share,
            codes: (0..canary.len() as i64).map(Code::Int).collect(),
            canary,
            baseline,
        }
    }

    #[test]
    fn a_significant_increase_over_the_threshold_fires() {
        // One code, three one-bin windows: (C, B) = (10, 10), (40, 10), (12, 10).
        let b = bins(vec![vec![10, 40, 12]], vec![vec![10, 10, 10]], 0.5);
        let rule = Rolling { threshold: 1.25, window_bins: vec![1], alpha: 0.05 };
        let out = rule.evaluate(&b);
        let Some(Gate::Tarone { tests, testable, .. }) = out.gate else { panic!("{:?}", out.gate) };
        assert_eq!(tests, 3);
        // All three windows have >= 20 events, so all can reach 0.05 / 3: K = 3.
        assert_eq!(testable, 3);
        assert_eq!(out.windows.len(), 1);
        let w = &out.windows[0];
        assert_eq!((w.first_bin, w.value, w.canary_count, w.baseline_count), (1, 4.0, 40, 10));
        // P(X >= 40 | 50, 1/2) = sum_{k=40}^{50} C(50, k) / 2^50 = 1.19307e-5.
        let p = w.p_value.unwrap();
        assert!((p / 1.19307e-5 - 1.0).abs() < 1e-5, "{p}");
    }

    #[test]
    fn a_ratio_over_the_threshold_without_significance_does_not_fire() {
        // 3 versus 1: a ratio of 3, but P(X >= 3 | 4, 1/2) = 5/16.
        let b = bins(vec![vec![3]], vec![vec![1]], 0.5);
        let out = Rolling { threshold: 1.25, window_bins: vec![1], alpha: 0.05 }.evaluate(&b);
        assert!(out.windows.is_empty());
    }

    #[test]
    fn a_significant_increase_under_the_threshold_does_not_fire() {
        // 1200 versus 1000 is very significant (z ~ 4.3) but only 20% more.
        let b = bins(vec![vec![1200]], vec![vec![1000]], 0.5);
        let out = Rolling { threshold: 1.25, window_bins: vec![1], alpha: 0.05 }.evaluate(&b);
        assert!(out.windows.is_empty());
        let out = Rolling { threshold: 1.1, window_bins: vec![1], alpha: 0.05 }.evaluate(&b);
        assert_eq!(out.windows.len(), 1);
    }

    #[test]
    fn a_code_without_baseline_events_has_an_infinite_value() {
        let b = bins(vec![vec![0, 12]], vec![vec![0, 0]], 0.5);
        let out = Rolling { threshold: 1.25, window_bins: vec![1, 2], alpha: 0.05 }.evaluate(&b);
        // Windows: [0] (0 events), [1] (12), [0-1] (12): K = 2, level 0.025, 0.5^12 passes.
        assert!(matches!(out.gate, Some(Gate::Tarone { testable: 2, .. })), "{:?}", out.gate);
        assert_eq!(out.windows.len(), 2);
        assert!(out.windows.iter().all(|w| w.value.is_infinite()));
    }

    #[test]
    fn counts_are_normalized_by_the_traffic_split() {
        // The canary serves 10% of users: 30 canary against 100 baseline events is a normalized
        // ratio of (30 / 0.1) / (100 / 0.9) = 2.7, and P(X >= 30 | 130, 0.1) is tiny.
        let b = bins(vec![vec![30]], vec![vec![100]], 0.1);
        let out = Rolling { threshold: 1.25, window_bins: vec![1], alpha: 0.05 }.evaluate(&b);
        assert_eq!(out.windows.len(), 1);
        assert!((out.windows[0].value - 2.7).abs() < 1e-9);
        // The same counts at an equal split are a decrease and never fire.
        let b = bins(vec![vec![30]], vec![vec![100]], 0.5);
        assert!(
            Rolling { threshold: 1.25, window_bins: vec![1], alpha: 0.05 }
                .evaluate(&b)
                .windows
                .is_empty()
        );
    }

    #[test]
    fn a_decrease_never_fires() {
        let b = bins(vec![vec![0, 1, 2]], vec![vec![50, 60, 70]], 0.5);
        let out = Rolling { threshold: 0.01, window_bins: vec![1, 2, 3], alpha: 0.5 }.evaluate(&b);
        assert!(out.windows.is_empty());
    }
}
