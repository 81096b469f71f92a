//! A batch run: a stream whose seconds are all known.
//!
//! The input has been read whole into per-second counters ([`Table`]). Its builds are all known,
//! so the roles are chosen once; every second from the first to the last is closed, so the
//! detector is fed in time order the seconds with events, each with its codes in heatmap order
//! ([`run_events`]; the seconds between are quiet), and the episodes it ends are dressed and
//! reported as a live run's are. With `--traffic auto` the canary's share is estimated from the
//! bins ([`super::traffic`]) before the detector is made.

use anyhow::{Result, anyhow};

use std::cell::RefCell;
use std::rc::Rc;

use super::recount::{Clients, Series};
use super::roles::choose_builds;
use super::traffic;
use super::{AnalyzeConfig, Detection, RunFacts, alerts, report};
use crate::aggregate::Table;
use crate::bins::{Bins, Compared, MAX_COMPARED_CODES, compared_series};
use crate::detect::run_events;
use crate::report::Report;

/// Runs the pipeline after reading: choose builds, bin, detect. Returns the report and the bins
/// (for the heatmap).
pub fn analyze(config: &AnalyzeConfig, mut table: Table) -> Result<(Report, Bins)> {
    say_chosen_columns(&table.name, &table.chosen_columns);
    if let Some(column) = &table.unit_column {
        say_unit_column(&table.name, column);
    }
    let roles = choose_builds(config.baseline.as_deref(), config.canary.as_deref(), &table.builds)
        .map_err(|e| anyhow!("{}: {e:#}", table.name))?;
    let (baseline, canary) = (roles.baseline, roles.canary);
    let make_bins = |canary_share| {
        Bins::new(
            &table.counts,
            &table.codes,
            baseline,
            canary,
            config.rule.bin_seconds,
            canary_share,
        )
    };
    // With `--traffic auto` the detector needs the bins' estimate of the share first; otherwise
    // the bins (for the heatmap and the report) are made on a second thread while it runs.
    let estimated;
    let (ready_bins, config) = if config.traffic_auto {
        let mut bins = make_bins(config.rule.canary_share);
        let share = auto_share(&bins).map_err(|e| anyhow!("{}: {e}", table.name))?;
        bins.canary_share = share;
        let mut rule = config.rule.clone();
        rule.canary_share = share;
        estimated = AnalyzeConfig { rule, ..config.clone() };
        (Some(bins), &estimated)
    } else {
        (None, config)
    };
    let rule = &config.rule;
    // Codes are fed in heatmap order, so an episode's code id is its row in the bins; only the
    // seconds with events are fed.
    let compared = Compared::new(&table.counts, &table.codes, baseline, canary);
    if !compared.folded.is_empty() {
        let events: u64 = compared
            .folded
            .iter()
            .map(|&id| table.counts.total(baseline, id) + table.counts.total(canary, id))
            .sum();
        eprintln!(
            "errwatch: warning: {}: {} distinct error codes, more than the {MAX_COMPARED_CODES} \
             compared one by one: the {} most frequent are, and the other {} ({events} events) \
             are compared together as one series, \"{}\"",
            crate::escape::visible(&table.name),
            compared.ids.len() + compared.folded.len(),
            compared.ids.len(),
            compared.folded.len(),
            crate::bins::other_codes(compared.folded.len()),
        );
    }
    let rows = compared_series(&table.counts, &compared, baseline, canary);
    let mut detector = rule.detector();
    detector.reserve_codes(compared.rows());
    if table.unit_column.is_some() {
        detector.counting_clients(config.read.unit_slot_seconds);
    }
    // The seed's rule has no test for the clients to pass.
    let tests = rule.rule != crate::detect::RuleKind::MeanDiff;
    let recount = table.units.take().filter(|_| tests).map(|units| {
        let mut rows: Vec<Vec<usize>> = compared.ids.iter().map(|&id| vec![id]).collect();
        if !compared.folded.is_empty() {
            rows.push(compared.folded.clone());
        }
        let units = Rc::new(RefCell::new(units));
        Rc::new(Clients::new(units, Series::Rows(rows), roles, rule))
    });
    if let Some(recount) = &recount {
        detector.recount_clients(recount.clone());
    }
    let mut records = table.counts.by_second();
    let next_second = |counts: &mut Vec<(usize, u64, u64)>| {
        let (second, pairs) = records.next()?;
        counts.clear();
        for (series, n) in pairs {
            if let Some((row, is_canary)) = rows[series as usize] {
                let n = u64::from(n);
                counts.push(if is_canary { (row, n, 0) } else { (row, 0, n) });
            }
        }
        // A code's two builds are two series.
        super::one_entry_per_code(counts);
        Some(second)
    };
    // The bins' span: from the first second with events to the last (none: second 0).
    let first_second = table.counts.first_second.unwrap_or(0);
    let span = (first_second, table.counts.last_second.unwrap_or(first_second));
    let (bins, episodes) = std::thread::scope(|scope| {
        let binning = ready_bins.is_none().then(|| scope.spawn(|| make_bins(rule.canary_share)));
        let episodes = run_events(detector.as_mut(), span, next_second);
        let bins = match binning {
            Some(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => ready_bins.expect("made before the detector"),
        };
        (bins, episodes)
    });
    let mut alerts = alerts(episodes, &bins.codes, &bins, rule.threshold);
    if let Some(raw) = &table.raw {
        let units = super::UnitCounts { clients: &table.counts, raw, codes: &table.codes };
        units.dress(&mut alerts, &compared.folded, roles);
    }
    let facts = RunFacts {
        input: &table.name,
        unit_column: table.unit_column.as_deref(),
        notation: table.notation,
        rows: table.rows,
        builds: &table.builds,
        roles,
        span: table.counts.first_second.zip(table.counts.last_second),
        repeated_headers: table.repeated_headers,
        late_rows: 0,
        skipped: &table.skipped,
    };
    let mut detection = Detection::of(detector.as_mut(), &bins.codes);
    detection.dismissed_by_clients = recount.map(|recount| recount.dismissed());
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

/// Says, once, which fields were found by another exporter's name for them (nothing when none
/// was), so that a guess is never silent.
pub fn say_chosen_columns(input: &str, chosen: &[(&'static str, String)]) {
    if chosen.is_empty() {
        return;
    }
    let columns: Vec<String> = chosen
        .iter()
        .map(|(field, column)| format!("{field} from \"{}\"", crate::escape::visible(column)))
        .collect();
    eprintln!(
        "errwatch: {}: reading {} (name others with --timestamp-column, --build-column, \
         --code-column)",
        crate::escape::visible(input),
        columns.join(", ")
    );
}

/// Says, once, which column the clients affected are counted by.
pub fn say_unit_column(input: &str, column: &str) {
    eprintln!(
        "errwatch: {}: counting affected clients by column {}",
        crate::escape::visible(input),
        crate::escape::visible(column)
    );
}
