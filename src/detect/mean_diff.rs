//! The seed's rule, kept for comparison: a window fires while the mean of its differential
//! buckets (traffic-normalized canary minus baseline events per bin) is at least the threshold.
//!
//! It has no test and no false-alarm guarantee: on a busy code, ordinary Poisson noise moves the
//! mean difference past any small threshold many times an hour. `--rule mean-diff` exists so that
//! users can see what the significance gate of the default rule buys.

use super::Gate;
use super::windows::{BinRule, Fired, WindowSums, window_sum};

/// The mean-difference rule.
#[derive(Debug, Clone)]
pub struct MeanDiff {
    /// The mean differential bucket at which a window fires.
    pub threshold: f64,
    /// The canary's share of traffic.
    pub canary_share: f64,
}

impl BinRule for MeanDiff {
    fn close_bin(
        &mut self,
        _code: usize,
        bin: usize,
        history: &WindowSums,
        window_bins: &[usize],
        _scaling: &[super::dispersion::Scaling],
        fired: &mut Vec<Fired>,
    ) {
        for &w in window_bins {
            if bin + 1 < w {
                continue;
            }
            let (c, b) = window_sum(history, w);
            let diff =
                c as f64 * 0.5 / self.canary_share - b as f64 * 0.5 / (1.0 - self.canary_share);
            let mean = diff / w as f64;
            if mean >= self.threshold {
                fired.push(Fired {
                    window_bins: w,
                    value: mean,
                    canary_count: c,
                    baseline_count: b,
                    p_value: None,
                    level: None,
                    dispersion: 1.0,
                });
            }
        }
    }

    fn gate(&self) -> Option<Gate> {
        None
    }

    /// The seed's rule has no test for a dispersion to temper.
    fn uses_dispersion(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_where_the_mean_difference_reaches_the_threshold() {
        // Per-bin (canary, baseline): diffs 0, 2, 3, 1, -1; two-bin means 1.0, 2.5, 2.0, 0.0.
        let bins = [(1, 1), (3, 1), (4, 1), (2, 1), (0, 1)];
        let mut rule = MeanDiff { threshold: 1.25, canary_share: 0.5 };
        let mut fired_at = Vec::new();
        let mut history = WindowSums::new(bins.len());
        for (bin, &counts) in bins.iter().enumerate() {
            history.push(counts.0, counts.1);
            let mut fired = Vec::new();
            rule.close_bin(
                0,
                bin,
                &history,
                &[2],
                &[super::super::dispersion::Scaling::INDEPENDENT],
                &mut fired,
            );
            fired_at.extend(
                fired.into_iter().map(|f| (bin, f.value, f.canary_count, f.baseline_count)),
            );
        }
        assert_eq!(fired_at, vec![(2, 2.5, 7, 2), (3, 2.0, 6, 2)]);
        assert!(rule.gate().is_none());
    }
}
