//! The clients behind an alarm, recounted: a run with a unit column ([`crate::detect::Recount`]).
//!
//! The detectors are fed each client once per code, build and slot ([`crate::aggregate::units`]),
//! so a handful of clients whose error lasts for hours still add a count a slot. Before an alarm
//! stands, its clients are recounted over its evidence: from the first second of its window, or of
//! its run ([`Episode::windows_start_s`]), to the alarm's second ([`Episode::detected_at_s`]),
//! clipped to the rule's longest evidence ([`crate::detect::RuleConfig::evidence_s`]), each client
//! counts once whatever it sent; the canary's clients must then be an increase on their own: their
//! rate ratio to the baseline's (each build's clients over its traffic share) at least the
//! threshold, and significant in an exact one-sided binomial test at the traffic share, at the
//! level the alarm was held to ([`Episode::level`]). A rule that does not test (the seed's) is
//! not recounted.
//!
//! The test assumes only that clients, not events, take one build or the other independently at
//! the traffic odds, which is what a canary rollout does; bursts and lasting errors of a client
//! are inside one count. The check can only remove alarms, so each rule keeps its guarantee; an
//! alarm removed is as if it had not been raised (the code's next one is recounted in turn), and
//! the run reports how many were removed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::roles::Roles;
use crate::aggregate::units::Units;
use crate::detect::{Episode, Recount, RuleConfig};
use crate::stats;

/// Which code ids a detector's code index counts.
#[derive(Debug, Clone)]
pub enum Series {
    /// The index is the code id, the last one, `folded_from`, holding every code from it on (a
    /// live run, [`super::live`]).
    Codes {
        /// The first code id folded into one series.
        folded_from: usize,
    },
    /// The index is a row of compared codes, each row's ids (a batch run: the last row may hold
    /// the codes folded into one series).
    Rows(Vec<Vec<usize>>),
}

/// A run's recount of its alarms' clients.
#[derive(Debug)]
pub struct Clients {
    units: Rc<RefCell<Units>>,
    series: Series,
    roles: Roles,
    share: f64,
    threshold: f64,
    evidence_s: i64,
    dismissed: Cell<u64>,
}

impl Clients {
    /// A recount of the alarms of a detector fed `series`, over the units in `units`, for the
    /// builds of `roles`, with the share, threshold and longest evidence of `rule`.
    pub fn new(
        units: Rc<RefCell<Units>>,
        series: Series,
        roles: Roles,
        rule: &RuleConfig,
    ) -> Clients {
        let evidence_s = i64::try_from(rule.evidence_s().max(1)).unwrap_or(i64::MAX);
        Clients {
            units,
            series,
            roles,
            share: rule.canary_share,
            threshold: rule.threshold,
            evidence_s,
            dismissed: Cell::new(0),
        }
    }

    /// The alarms that did not stand so far.
    pub fn dismissed(&self) -> u64 {
        self.dismissed.get()
    }

    /// The distinct canary and baseline clients of the episode's code over its evidence.
    fn clients(&self, episode: &Episode) -> (u64, u64) {
        let mut units = self.units.borrow_mut();
        let ids: Vec<usize> = match &self.series {
            Series::Codes { folded_from } if episode.code >= *folded_from => {
                (*folded_from..=units.last_code().unwrap_or(0)).collect()
            }
            Series::Codes { .. } => vec![episode.code],
            Series::Rows(rows) => rows.get(episode.code).cloned().unwrap_or_default(),
        };
        let to = episode.detected_at_s;
        let from = episode.windows_start_s.max(to.saturating_sub(self.evidence_s - 1));
        let canary = units.distinct(&ids, self.roles.canary, from, to);
        let baseline = units.distinct(&ids, self.roles.baseline, from, to);
        (canary, baseline)
    }
}

impl Recount for Clients {
    fn stands(&self, episode: &Episode) -> bool {
        let Some(level) = episode.level else {
            return true;
        };
        let (canary, baseline) = self.clients(episode);
        let ratio = (canary as f64 / self.share) / (baseline as f64 / (1.0 - self.share));
        let stands = ratio >= self.threshold
            && stats::binomial_upper_tail(canary, canary + baseline, self.share) <= level;
        if !stands {
            self.dismissed.set(self.dismissed.get() + 1);
        }
        stands
    }
}
