//! Power: the smallest increase a run could have detected in each code, behind the
//! `inconclusive` verdict.
//!
//! # The minimum detectable ratio
//! For a code with `B` baseline events over a run of `span` seconds, the best window is the
//! longest of `--threshold-bins` that fits in the run, `window` seconds long. An average window
//! then holds `b = B x window / span` baseline events. A canary at rate ratio `r` over the
//! baseline puts `c = r x b x s / (1 - s)` canary events in it (traffic share `s`). The minimum
//! detectable ratio (MDR) is the smallest `r >= threshold` at which such a window, its counts
//! divided by the code's dispersion `phi` (quasi-likelihood, as the tests do), is testable
//! (`s^((c + b) / phi) <= level`) and has `P(X >= c / phi) <= level` for
//! `X ~ Binomial((c + b) / phi, s)` ([`stats::binomial_upper_tail_real`]). The level is the one an
//! average window gets from the rule's budget (see [`level`]).
//!
//! It is found by bisection on `r` over `[threshold, MAX_RATIO]`: the p-value falls as `c` grows
//! with `b` fixed, so "fires" is monotone in `r`. A code for which even `MAX_RATIO` would not fire
//! (too few events, or no window fits in the run) has no bound (`None`).
//!
//! This is an approximation: real windows hold more or fewer events than the average, and a window
//! is tested at least at that level (more when other codes' windows cannot reach their share, or
//! budget is carried over from quiet bins), so the real power of the rule is somewhat better than
//! the MDR says. The sequential rule has no windows; its MDR uses the same computation at level
//! `alpha / (windows per hour x codes)`, a stand-in for its `ln(3600 / alpha)` bound that asks
//! about the same evidence.

use crate::stats;

/// The largest ratio the bisection tries: past it, a code is said to have no bound.
pub const MAX_RATIO: f64 = 1e6;

/// Relative precision of the bisection: far finer than the two decimals reports show.
const PRECISION: f64 = 1e-6;

/// Seconds in the hour the false-alarm budgets are stated per.
const SECONDS_PER_HOUR: f64 = 3600.0;

/// What the MDR of one code depends on besides its counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Power {
    /// The smallest ratio that counts as an increase (`--threshold`).
    pub threshold: f64,
    /// The canary's share of traffic, in (0, 1).
    pub share: f64,
    /// The significance level an average window is tested at.
    pub level: f64,
}

/// The per-window level an average window gets at least: the rolling rule's plain Bonferroni share
/// of one bin's budget for one code and window length, `alpha x (bin_seconds / 3600) / (codes x
/// lengths)` ([`super::rolling`]), or for the sequential rule `alpha / (windows per hour x codes)` with
/// windows of `window_seconds`.
pub fn level(
    rule: super::RuleKind,
    alpha: f64,
    bin_seconds: u64,
    window_seconds: u64,
    codes: usize,
    lengths: usize,
) -> f64 {
    let codes = codes.max(1) as f64;
    match rule {
        super::RuleKind::Sequential => alpha * (window_seconds as f64 / SECONDS_PER_HOUR) / codes,
        _ => alpha * (bin_seconds as f64 / SECONDS_PER_HOUR) / (codes * lengths.max(1) as f64),
    }
}

impl Power {
    /// The MDR of a window expecting `baseline` baseline events (real, an average) at dispersion
    /// `phi`: `None` when even [`MAX_RATIO`] would not fire.
    pub fn min_detectable_ratio(&self, baseline: f64, phi: f64) -> Option<f64> {
        let phi = phi.max(1.0);
        if !(baseline > 0.0 && baseline.is_finite()) {
            return None;
        }
        let fires = |ratio: f64| {
            let canary = ratio * baseline * self.share / (1.0 - self.share);
            let events = (canary + baseline) / phi;
            events * self.share.ln() <= self.level.ln()
                && stats::binomial_upper_tail_real(canary / phi, events, self.share) <= self.level
        };
        let (mut low, mut high) = (self.threshold, MAX_RATIO);
        if fires(low) {
            return Some(low);
        }
        if !fires(high) {
            return None;
        }
        while high - low > PRECISION * low {
            let mid = (low * high).sqrt();
            if fires(mid) { high = mid } else { low = mid }
        }
        Some(high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        ((a - b) / b).abs() < 1e-4
    }

    #[test]
    fn one_baseline_event_at_an_even_split_needs_four_canary_events() {
        // With b = 1 and s = 1/2, c = r and P(X >= c | n = c + 1) = I_(1/2)(c, 2) =
        // (1/2)^c (1 + c / 2): 0.3125 at c = 3, 0.1875 at c = 4. At level 0.1875 the MDR is 4.
        let power = Power { threshold: 1.25, share: 0.5, level: 0.1875 };
        let mdr = power.min_detectable_ratio(1.0, 1.0).unwrap();
        assert!(close(mdr, 4.0), "{mdr}");
    }

    #[test]
    fn dispersion_divides_the_counts() {
        // b = 2 at phi = 2 is b = 1 at phi = 1: the same MDR.
        let power = Power { threshold: 1.25, share: 0.5, level: 0.1875 };
        let mdr = power.min_detectable_ratio(2.0, 2.0).unwrap();
        assert!(close(mdr, 4.0), "{mdr}");
    }

    #[test]
    fn the_traffic_share_scales_the_canary_count() {
        // s = 1/3: c = r x b / 2, so b = 2 gives c = r, and P(X >= c | n = c + 2, 1/3)
        // = I_(1/3)(c, 3). At c = 2: 1 - P(X <= 1 | n = 4) = 1 - (16 + 32) / 81 = 33/81.
        let power = Power { threshold: 1.25, share: 1.0 / 3.0, level: 33.0 / 81.0 };
        let mdr = power.min_detectable_ratio(2.0, 1.0).unwrap();
        assert!(close(mdr, 2.0), "{mdr}");
    }

    #[test]
    fn many_events_detect_the_threshold_itself() {
        let power = Power { threshold: 1.25, share: 0.5, level: 1e-6 };
        assert_eq!(power.min_detectable_ratio(1e6, 1.0), Some(1.25));
    }

    #[test]
    fn too_few_events_have_no_bound() {
        let power = Power { threshold: 1.25, share: 0.5, level: 1e-6 };
        assert_eq!(power.min_detectable_ratio(0.0, 1.0), None);
        // b = 0.001 baseline events per window: r = 1e6 still gives ~1000 canary events, which
        // fire; b = 1e-7 gives 0.1, which cannot.
        assert!(power.min_detectable_ratio(1e-3, 1.0).is_some());
        assert_eq!(power.min_detectable_ratio(1e-7, 1.0), None);
    }

    #[test]
    fn the_level_is_the_rules_average_window_budget() {
        use crate::detect::RuleKind;
        // 0.05 x 100 / 3600 / (10 codes x 2 lengths).
        let rolling = level(RuleKind::Rolling, 0.05, 100, 1000, 10, 2);
        assert!(close(rolling, 0.05 / 36.0 / 20.0));
        // 0.05 / (3.6 windows of 1000 s per hour x 10 codes).
        let sequential = level(RuleKind::Sequential, 0.05, 100, 1000, 10, 2);
        assert!(close(sequential, 0.05 / 36.0));
    }
}
