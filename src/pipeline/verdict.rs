//! The verdict of a run: `regression` with an alert; otherwise `pass` when the data could have
//! shown an increase where it matters, `inconclusive` when they could not.
//!
//! "Where it matters" is the codes that make up most of the baseline's events: the most frequent
//! codes, taken in order until they cover `--coverage` of the baseline's events. Each must have a
//! minimum detectable ratio ([`crate::detect::power`]) at or below `--max-detectable`. The MDR of a
//! code is computed for the longest window of `--threshold-bins` that fits in the run, from the
//! code's baseline events scaled to that window and its measured dispersion.
//!
//! The mean-difference rule has no significance test, so no ratio it could detect: it passes when
//! at least one window fit in the run and lists no code.

use super::AnalyzeConfig;
use crate::bins::Bins;
use crate::detect::RuleKind;
use crate::detect::power::{self, Power as Test};
use crate::report::{Detectable, Dispersion, Power, Verdict};

/// Each compared code's MDR over `bins` (the run), most baseline events first, and how many of
/// them cover `config.coverage` of the baseline's events.
pub fn power(config: &AnalyzeConfig, bins: &Bins, dispersion: Option<&Dispersion>) -> Power {
    let rule = &config.rule;
    let mut codes: Vec<(usize, u64)> =
        (0..bins.codes.len()).map(|row| (row, bins.totals(row).1)).collect();
    // Bins are in code order, so a stable sort keeps ties in code order.
    codes.sort_by_key(|&(_, baseline)| std::cmp::Reverse(baseline));
    let total: u64 = codes.iter().map(|&(_, b)| b).sum();
    let mut covered = 0;
    let mut sum = 0u64;
    for &(_, baseline) in &codes {
        if total == 0 || sum as f64 >= config.coverage * total as f64 {
            break;
        }
        sum += baseline;
        covered += 1;
    }
    let mut power = Power {
        coverage: config.coverage,
        max_detectable: config.max_detectable,
        codes: Vec::new(),
        covered,
    };
    if rule.rule == RuleKind::MeanDiff {
        power.covered = 0;
        return power;
    }
    let span_seconds = (bins.last_second - bins.first_second + 1).max(1) as f64;
    // The longest window that fits in the run: longer ones are never tested.
    let window_bins = rule.window_bins.iter().copied().filter(|&w| w <= bins.len()).max();
    let mut lengths = rule.window_bins.clone();
    lengths.sort_unstable();
    lengths.dedup();
    let phi_of = |row: usize| {
        dispersion.map_or(1.0, |d| {
            d.codes
                .iter()
                .find(|(code, _)| *code == bins.codes[row])
                .map_or(d.stream, |&(_, phi)| phi)
        })
    };
    power.codes = codes
        .iter()
        .map(|&(row, baseline)| {
            let min_detectable_ratio = window_bins.and_then(|w| {
                let window_seconds = (w as u64 * rule.bin_seconds) as f64;
                let test = Test {
                    threshold: rule.threshold,
                    share: rule.canary_share,
                    level: power::level(
                        rule.rule,
                        rule.alpha,
                        rule.bin_seconds,
                        w as u64 * rule.bin_seconds,
                        bins.codes.len(),
                        lengths.len(),
                    ),
                };
                let per_window = baseline as f64 * window_seconds.min(span_seconds) / span_seconds;
                test.min_detectable_ratio(per_window, phi_of(row))
            });
            Detectable {
                code: bins.codes[row].clone(),
                baseline_events: baseline,
                min_detectable_ratio,
            }
        })
        .collect();
    power
}

/// The verdict of a run with `alerts` alerts and this `power` over `bins`.
pub fn verdict(config: &AnalyzeConfig, alerts: usize, power: &Power, bins: &Bins) -> Verdict {
    if alerts > 0 {
        Verdict::Regression
    } else if config.rule.rule == RuleKind::MeanDiff {
        let fits = config.rule.window_bins.iter().any(|&w| w <= bins.len());
        if fits && !bins.codes.is_empty() { Verdict::Pass } else { Verdict::Inconclusive }
    } else if power.conclusive() {
        Verdict::Pass
    } else {
        Verdict::Inconclusive
    }
}
