//! Distribution tails and the multiple-testing correction behind the significance gate.
//!
//! # The test
//! Under the null hypothesis "the canary's error rate is at most the baseline's" (after
//! normalizing for the traffic split), and given that `n` events of a code fell in a window, the
//! number from the canary is at most as large as a `Binomial(n, s)` draw, where `s` is the canary's
//! share of traffic. This is the conditional (exact) test for comparing two Poisson rates
//! (Przyborowski & Wilenski 1940; Lehmann & Romano, *Testing Statistical Hypotheses*, 4.5): the
//! p-value of `c` canary events is the upper tail `P(X >= c)`, computed with the regularized
//! incomplete beta function (statrs).
//!
//! # The correction
//! Many windows are tested: every code, every window length, every position. To bound the
//! probability of *any* false alert in the run by `alpha` (the family-wise error rate), each test
//! runs at a level `alpha / K`. Plain Bonferroni takes `K` = the number of tests. Because the test
//! is discrete, a window with few events cannot reach a small p-value at all: its smallest
//! attainable p-value is `s^n` (every event from the canary). Tarone's modified Bonferroni
//! procedure (Tarone 1990, *Biometrics* 46:515-522) counts only the tests that could reach the
//! level: `K` is the smallest integer such that at most `K` tests have a smallest attainable
//! p-value `<= alpha / K`. Tests that cannot reach it cannot reject, so by the union bound the
//! family-wise error rate stays `<= K * alpha / K = alpha`. Conditional on each bin's total events,
//! every window's canary count is binomial under the null, so the bound holds whatever the rates,
//! the overlap of windows, or the dependence between them.

use statrs::distribution::{Binomial, DiscreteCDF};

/// `P(X >= k)` for `X ~ Binomial(n, p)`: the one-sided p-value of `k` successes out of `n`.
pub fn binomial_upper_tail(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    match Binomial::new(p, n) {
        Ok(binomial) => binomial.sf(k - 1).clamp(0.0, 1.0),
        // p is validated to lie in (0, 1) before any test runs; treat anything else as "no
        // evidence" rather than panicking.
        Err(_) => 1.0,
    }
}

/// The fewest events a window needs before its smallest attainable p-value, `share^n`, reaches
/// `level`; `None` when no number of events can (a level of 0 or below).
pub fn min_events_for_level(level: f64, share: f64) -> Option<u64> {
    if level.is_nan() || level <= 0.0 {
        return None;
    }
    if level >= 1.0 {
        return Some(1);
    }
    let n = (level.ln() / share.ln()).ceil();
    // Guard the edge where rounding puts share^n a hair above the level.
    let mut n = n.max(1.0) as u64;
    while share.powf(n as f64) > level {
        n += 1;
    }
    Some(n)
}

/// The outcome of Tarone's procedure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tarone {
    /// The number of tests the level is divided by.
    pub k: u64,
    /// The per-test level, `alpha / k`.
    pub level: f64,
    /// The fewest events a window needs to be testable at that level.
    pub min_events: u64,
}

/// Tarone's modified Bonferroni correction for tests whose smallest attainable p-value is
/// `share^n`, given each test's event count `n` (in any order; sorted in place).
///
/// Returns the smallest `K >= 1` such that at most `K` tests can reach `alpha / K`.
pub fn tarone(alpha: f64, share: f64, events: &mut [u64]) -> Tarone {
    events.sort_unstable();
    let testable_at = |k: u64| -> u64 {
        let level = alpha / k as f64;
        match min_events_for_level(level, share) {
            Some(min) => (events.len() - events.partition_point(|&n| n < min)) as u64,
            None => 0,
        }
    };
    // testable_at(k) falls as k grows, so the smallest k with testable_at(k) <= k is found by
    // bisection over [1, max(1, number of tests)].
    let (mut lo, mut hi) = (1u64, (events.len() as u64).max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if testable_at(mid) <= mid { hi = mid } else { lo = mid + 1 }
    }
    let level = alpha / lo as f64;
    Tarone { k: lo, level, min_events: min_events_for_level(level, share).unwrap_or(u64::MAX) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        ((a - b) / b).abs() < rel
    }

    #[test]
    fn binomial_tail_matches_hand_computed_values() {
        // P(X >= 3 | n = 3, p = 1/2) = 1/8.
        assert!(close(binomial_upper_tail(3, 3, 0.5), 0.125, 1e-12));
        // P(X >= 2 | n = 3, p = 1/2) = (3 + 1) / 8.
        assert!(close(binomial_upper_tail(2, 3, 0.5), 0.5, 1e-12));
        // P(X >= 8 | n = 10, p = 1/2) = (45 + 10 + 1) / 1024.
        assert!(close(binomial_upper_tail(8, 10, 0.5), 56.0 / 1024.0, 1e-12));
        // P(X >= 2 | n = 4, p = 0.1) = 1 - 0.9^4 - 4 * 0.1 * 0.9^3 = 0.0523.
        assert!(close(binomial_upper_tail(2, 4, 0.1), 0.0523, 1e-9));
        assert_eq!(binomial_upper_tail(0, 10, 0.5), 1.0);
        assert_eq!(binomial_upper_tail(11, 10, 0.5), 0.0);
    }

    #[test]
    fn binomial_tail_keeps_relative_precision_far_in_the_tail() {
        // P(X >= 100 | n = 100, p = 1/2) = 2^-100.
        assert!(close(binomial_upper_tail(100, 100, 0.5), 0.5f64.powi(100), 1e-9));
        // P(X >= 99 | n = 100, p = 1/2) = 101 * 2^-100.
        assert!(close(binomial_upper_tail(99, 100, 0.5), 101.0 * 0.5f64.powi(100), 1e-9));
    }

    #[test]
    fn min_events_is_the_first_count_whose_best_p_reaches_the_level() {
        // 0.5^5 = 0.03125 <= 0.05 < 0.5^4.
        assert_eq!(min_events_for_level(0.05, 0.5), Some(5));
        // 0.5^15 = 3.05e-5 > 2.5e-5 >= 0.5^16 = 1.53e-5.
        assert_eq!(min_events_for_level(2.5e-5, 0.5), Some(16));
        assert_eq!(min_events_for_level(0.0, 0.5), None);
    }

    #[test]
    fn tarone_counts_only_tests_that_can_reject() {
        // Ten tests with 100 events each and a thousand with 1 event: only the ten can reach
        // 0.05 / 10, so K = 10, where Bonferroni would divide by 1010.
        let mut events = vec![1u64; 1000];
        events.extend([100; 10]);
        let t = tarone(0.05, 0.5, &mut events);
        assert_eq!(t.k, 10);
        assert!(close(t.level, 0.005, 1e-12));
        assert_eq!(t.min_events, 8, "0.5^8 = 0.0039 <= 0.005 < 0.5^7");
    }

    #[test]
    fn tarone_is_bonferroni_when_every_test_can_reject() {
        let mut events = vec![1000u64; 50];
        assert_eq!(tarone(0.05, 0.5, &mut events).k, 50);
        assert_eq!(tarone(0.05, 0.5, &mut []).k, 1);
    }

    #[test]
    fn tarone_k_is_the_smallest_that_satisfies_its_condition() {
        // Event counts 1..=40: at K the tests with n >= log2(K / 0.05) are testable.
        let mut events: Vec<u64> = (1..=40).collect();
        let t = tarone(0.05, 0.5, &mut events);
        let testable = |k: u64| {
            let min = min_events_for_level(0.05 / k as f64, 0.5).unwrap();
            (1..=40u64).filter(|&n| n >= min).count() as u64
        };
        assert!(testable(t.k) <= t.k);
        assert!(testable(t.k - 1) > t.k - 1);
    }
}
