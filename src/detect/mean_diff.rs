//! The seed's rule, kept for comparison: a window fires while the mean of its differential
//! buckets (traffic-normalized canary minus baseline events per bin) is at least the threshold.
//!
//! It has no test and no false-alarm guarantee: on a busy code, ordinary Poisson noise moves the
//! mean difference past any small threshold many times an hour. `--rule mean-diff` exists so that
//! users can see what the significance gate of the default rule buys.

use super::{FiringWindow, Gate, WindowRule, window_positions};
use crate::bins::Bins;

/// The mean-difference rule.
#[derive(Debug, Clone)]
pub struct MeanDiff {
    /// The mean differential bucket at which a window fires.
    pub threshold: f64,
    /// Window lengths, in bins.
    pub window_bins: Vec<usize>,
}

impl WindowRule for MeanDiff {
    fn threshold(&self) -> f64 {
        self.threshold
    }

    fn firing_windows(&self, bins: &Bins) -> (Vec<FiringWindow>, Option<Gate>) {
        let mut windows = Vec::new();
        for code in 0..bins.codes.len() {
            let (canary, baseline) = (&bins.canary[code], &bins.baseline[code]);
            for (first_bin, last_bin) in window_positions(bins.len(), &self.window_bins) {
                let c: u64 = canary[first_bin..=last_bin].iter().sum();
                let b: u64 = baseline[first_bin..=last_bin].iter().sum();
                let bins_in_window = (last_bin - first_bin + 1) as f64;
                let mean =
                    (bins.canary_normalized(c) - bins.baseline_normalized(b)) / bins_in_window;
                if mean >= self.threshold {
                    windows.push(FiringWindow {
                        code,
                        first_bin,
                        last_bin,
                        value: mean,
                        canary_count: c,
                        baseline_count: b,
                        p_value: None,
                    });
                }
            }
        }
        (windows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;

    #[test]
    fn fires_where_the_mean_difference_reaches_the_threshold() {
        let bins = Bins {
            first_second: 0,
            last_second: 49,
            bin_seconds: 10,
            canary_share: 0.5,
            codes: vec![Code::Int(3)],
            canary: vec![vec![1, 3, 4, 2, 0]],
            baseline: vec![vec![1, 1, 1, 1, 1]],
        };
        let rule = MeanDiff { threshold: 1.25, window_bins: vec![2] };
        let (windows, gate) = rule.firing_windows(&bins);
        // Diffs 0, 2, 3, 1, -1; two-bin means 1.0, 2.5, 2.0, 0.0.
        let fired: Vec<(usize, f64)> = windows.iter().map(|w| (w.first_bin, w.value)).collect();
        assert_eq!(fired, vec![(1, 2.5), (2, 2.0)]);
        assert_eq!((windows[0].canary_count, windows[0].baseline_count), (7, 2));
        assert!(gate.is_none());
    }
}
