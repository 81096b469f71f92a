//! A batch run: a stream whose seconds are all known.
//!
//! The input has been read whole into per-second counters ([`Table`]). Its builds are all known,
//! so the roles are chosen once; every second from the first to the last is closed, so the
//! detector is fed them in order, each code in heatmap order ([`run_batch`]), and the episodes it
//! ends are dressed and reported as a live run's are. With `--traffic auto` the canary's share
//! is estimated from the bins ([`super::traffic`]) before the detector is made.

use anyhow::{Result, anyhow};

use super::roles::choose_builds;
use super::traffic;
use super::{AnalyzeConfig, Detection, RunFacts, alerts, report};
use crate::aggregate::Table;
use crate::bins::{Bins, code_order};
use crate::detect::{SecondCounts, run_batch};
use crate::report::Report;

/// Runs the pipeline after reading: choose builds, bin, detect. Returns the report and the bins
/// (for the heatmap).
pub fn analyze(config: &AnalyzeConfig, table: Table) -> Result<(Report, Bins)> {
    let roles = choose_builds(config.baseline.as_deref(), config.canary.as_deref(), &table.builds)
        .map_err(|e| anyhow!("{}: {e:#}", table.name))?;
    let (baseline, canary) = (roles.baseline, roles.canary);
    let mut bins = Bins::new(
        &table.counts,
        &table.codes,
        baseline,
        canary,
        config.rule.bin_seconds,
        config.rule.canary_share,
    );
    let estimated;
    let config = if config.traffic_auto {
        let share = auto_share(&bins).map_err(|e| anyhow!("{}: {e}", table.name))?;
        bins.canary_share = share;
        let mut rule = config.rule.clone();
        rule.canary_share = share;
        estimated = AnalyzeConfig { rule, ..config.clone() };
        &estimated
    } else {
        config
    };
    let rule = &config.rule;
    let seconds: Vec<SecondCounts> = code_order(&table.counts, &table.codes, baseline, canary)
        .into_iter()
        .map(|id| SecondCounts {
            canary: table.counts.seconds(canary, id),
            baseline: table.counts.seconds(baseline, id),
        })
        .collect();
    // Codes are fed in heatmap order, so an episode's code id is its row in the bins.
    let mut detector = rule.detector();
    let episodes = run_batch(detector.as_mut(), bins.first_second, &seconds);
    let alerts = alerts(episodes, &bins.codes, &bins, rule.threshold);
    let facts = RunFacts {
        input: &table.name,
        notation: table.notation,
        rows: table.rows,
        builds: &table.builds,
        roles,
        span: table.counts.first_second.zip(table.counts.last_second),
        repeated_headers: table.repeated_headers,
        late_rows: 0,
        skipped: &table.skipped,
    };
    let detection = Detection::of(detector.as_mut(), &bins.codes);
    Ok((report(config, &facts, Some(&bins), alerts, detection), bins))
}

/// The share `--traffic auto` uses: the estimate over the whole run, which must leave both
/// builds some traffic.
fn auto_share(bins: &Bins) -> Result<f64> {
    match traffic::share_of(bins) {
        None => Err(anyhow!(
            "--traffic auto: the two builds have no events to estimate the canary's share from"
        )),
        Some(share) if share <= 0.0 || share >= 1.0 => Err(anyhow!(
            "--traffic auto: the codes holding most events come from one build only (canary \
             share {share}), so no traffic split can be estimated; give --traffic as a number"
        )),
        Some(share) => Ok(share),
    }
}
