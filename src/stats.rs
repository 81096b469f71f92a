//! Distribution tails behind the significance gate.
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
//! How the levels of the many windows are set, from a budget of false alarms per stream-hour,
//! is the rolling rule's business ([`crate::detect::rolling`]).

use statrs::distribution::{Binomial, DiscreteCDF};
use statrs::function::beta::beta_reg;

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

/// [`binomial_upper_tail`] for real `k` and `n` (quasi-likelihood's effective counts, which are
/// counts divided by a dispersion): `I_p(k, n - k + 1)`, the regularized incomplete beta function
/// that equals `P(X >= k)` at whole numbers.
pub fn binomial_upper_tail_real(k: f64, n: f64, p: f64) -> f64 {
    if k.is_nan() || k <= 0.0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    if !(p > 0.0 && p < 1.0) {
        return 1.0;
    }
    beta_reg(k, n - k + 1.0, p).clamp(0.0, 1.0)
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
    fn the_real_tail_meets_the_whole_one_at_whole_numbers_and_lies_between() {
        for (k, n) in [(3u64, 3u64), (8, 10), (40, 50), (99, 100), (2, 4)] {
            let whole = binomial_upper_tail(k, n, 0.5);
            assert!(close(binomial_upper_tail_real(k as f64, n as f64, 0.5), whole, 1e-9));
        }
        // 40 of 50 events divided by a dispersion of 2: 20 of 25, P(X >= 20 | 25, 1/2) =
        // (C(25,20) + C(25,21) + ... + 1) / 2^25 = 68406 / 33554432.
        assert!(close(binomial_upper_tail_real(20.0, 25.0, 0.5), 68406.0 / 33554432.0, 1e-9));
        let between = binomial_upper_tail_real(8.5, 10.5, 0.5);
        assert!(binomial_upper_tail(9, 11, 0.5) < between, "{between}");
        assert!(between < binomial_upper_tail(8, 10, 0.5), "{between}");
        assert_eq!(binomial_upper_tail_real(0.0, 5.0, 0.5), 1.0);
    }

    #[test]
    fn binomial_tail_keeps_relative_precision_far_in_the_tail() {
        // P(X >= 100 | n = 100, p = 1/2) = 2^-100.
        assert!(close(binomial_upper_tail(100, 100, 0.5), 0.5f64.powi(100), 1e-9));
        // P(X >= 99 | n = 100, p = 1/2) = 101 * 2^-100.
        assert!(close(binomial_upper_tail(99, 100, 0.5), 101.0 * 0.5f64.powi(100), 1e-9));
    }
}
