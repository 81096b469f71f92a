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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::RuleConfig;
    use crate::input::ReadOptions;
    use crate::input::labels::Code;
    use crate::pipeline::{OutputFormat, Source};
    use crate::render::Palette;

    fn config(window_bins: Vec<usize>, coverage: f64) -> AnalyzeConfig {
        AnalyzeConfig {
            source: Source::File("in.csv".into()),
            rule: RuleConfig {
                rule: RuleKind::Rolling,
                threshold: 1.25,
                window_bins,
                alpha: 0.05,
                canary_share: 0.5,
                bin_seconds: 10,
            },
            traffic_auto: false,
            time_zone: jiff::tz::TimeZone::UTC,
            time_zone_name: "UTC".into(),
            baseline: None,
            canary: None,
            format: OutputFormat::Text,
            exit_zero: false,
            coverage,
            max_detectable: 2.5,
            color: false,
            heatmap: None,
            palette: Palette::RedGreen,
            read: ReadOptions::default(),
            lateness: 5,
        }
    }

    /// Ten 10-second bins (0 to 99 s) of three codes with 10, 60 and 30 baseline events, one a
    /// bin for code 1 and the rest in the first bin.
    fn bins() -> Bins {
        let in_first_bin = |total: u64| {
            let mut bins = vec![0; 10];
            bins[0] = total;
            bins
        };
        Bins {
            first_second: 0,
            last_second: 99,
            bin_seconds: 10,
            canary_share: 0.5,
            codes: vec![Code::Int(1), Code::Int(2), Code::Int(3)],
            canary: vec![vec![1; 10], in_first_bin(60), in_first_bin(30)],
            baseline: vec![vec![1; 10], in_first_bin(60), in_first_bin(30)],
        }
    }

    #[test]
    fn the_most_frequent_codes_covering_the_share_are_the_ones_held_to_the_bound() {
        // 60 + 30 of 100 events reach 80%; 60 alone reaches 60%.
        let power = power(&config(vec![10], 0.8), &bins(), None);
        let order: Vec<_> =
            power.codes.iter().map(|d| (d.code.clone(), d.baseline_events)).collect();
        assert_eq!(order, [(Code::Int(2), 60), (Code::Int(3), 30), (Code::Int(1), 10)]);
        assert_eq!(power.covered, 2);
        assert_eq!(super::power(&config(vec![10], 0.6), &bins(), None).covered, 1);
        assert_eq!(super::power(&config(vec![10], 1.0), &bins(), None).covered, 3);
    }

    #[test]
    fn a_code_is_tested_at_its_events_per_longest_fitting_window_and_an_average_level() {
        // The 10-bin window is the whole 100 s run, so it expects all of a code's events; its
        // level is 0.05 x 10 / 3600 / (3 codes x 2 lengths): 20 bins do not fit, but they share
        // the budget.
        let power = power(&config(vec![10, 20], 0.8), &bins(), None);
        let test = Test { threshold: 1.25, share: 0.5, level: 0.05 * 10.0 / 3600.0 / 6.0 };
        for d in &power.codes {
            assert_eq!(
                d.min_detectable_ratio,
                test.min_detectable_ratio(d.baseline_events as f64, 1.0),
                "{d:?}"
            );
        }
        // Halving the window halves the expected events: 5 bins of 10 s of 100 s.
        let half = super::power(&config(vec![5], 0.8), &bins(), None);
        let test = Test { level: 0.05 * 10.0 / 3600.0 / 3.0, ..test };
        assert_eq!(half.codes[0].min_detectable_ratio, test.min_detectable_ratio(30.0, 1.0));
    }

    #[test]
    fn no_window_that_fits_is_inconclusive_and_an_alert_is_a_regression() {
        let config = config(vec![20], 0.8);
        let power = power(&config, &bins(), None);
        assert!(power.codes.iter().all(|d| d.min_detectable_ratio.is_none()));
        assert_eq!(verdict(&config, 0, &power, &bins()), Verdict::Inconclusive);
        assert_eq!(verdict(&config, 1, &power, &bins()), Verdict::Regression);
    }

    #[test]
    fn dispersion_takes_the_codes_own_or_the_streams() {
        let dispersion = Dispersion { stream: 2.0, codes: vec![(Code::Int(2), 4.0)] };
        let power = power(&config(vec![10], 1.0), &bins(), Some(&dispersion));
        let test = Test { threshold: 1.25, share: 0.5, level: 0.05 * 10.0 / 3600.0 / 3.0 };
        let mdr = |code: i64| {
            power.codes.iter().find(|d| d.code == Code::Int(code)).unwrap().min_detectable_ratio
        };
        assert_eq!(mdr(2), test.min_detectable_ratio(60.0, 4.0));
        assert_eq!(mdr(3), test.min_detectable_ratio(30.0, 2.0));
    }
}
