//! Detection: alert rules fed one second at a time, emitting alert episodes as they start and end.
//!
//! Every rule is an online [`Detector`]: it is fed the one-second counts of the codes in time
//! order and says when an alert episode starts and when it ends ([`Event`]). The pipeline feeds
//! only the seconds with events, and in them only the codes with events
//! ([`Detector::push_events`]), so the cost grows with the events, not with seconds x codes; feeding
//! every second of every code ([`Detector::push_second`]) is the reference it equals, kept for the
//! rules' tests. A batch run over a file replays its seconds in order ([`run_events`]) through the
//! same detector that a live stream feeds as its seconds close, so on time-ordered input both give
//! the same episodes, by construction.
//!
//! The rules:
//!
//! - [`rolling`] (the default): over windows of `w` bins (every `w` in `--threshold-bins`), the
//!   canary/baseline rate ratio reaches the threshold *and* a one-sided exact binomial test finds
//!   the increase significant at a level drawn from a false-alarm budget of `alpha` per
//!   stream-hour;
//! - [`mean_diff`]: the seed's literal rule, the mean differential bucket over the window reaches
//!   the threshold, with no test;
//! - [`sequential`]: an anytime-valid change detector on the one-second counts.
//!
//! The two window rules share [`windows::Binned`], which folds seconds into bins and merges firing
//! windows of one code that overlap or touch into one episode: its windows run from the first
//! second of its first window to the last second of its last; it keeps the largest value with its
//! counts and window length, and the smallest p-value; it was detected at the last second of its
//! first firing window, the moment a live system would have known. Because windows reach back
//! before a change, the episode's start and stop are estimated within the windows as the span where
//! the increase lies.

pub mod dispersion;
pub mod mean_diff;
pub mod power;
pub mod rolling;
pub mod sequential;
pub mod windows;

use std::rc::Rc;

use crate::input::labels::Code;

/// An online alert rule.
pub trait Detector {
    /// Feeds one second: `counts[code] = (canary, baseline)` events, indexed by code id (ids are
    /// dense and stable; the slice grows as codes appear). Seconds come in order, each once, with
    /// no gaps (a quiet second is all zeros). Episodes that start or end are appended to `events`.
    fn push_second(&mut self, second: i64, counts: &[(u64, u64)], events: &mut Vec<Event>);

    /// Feeds one second given only the codes with events: `counts` holds `(code id, canary,
    /// baseline)`, ids ascending, and every second after the last one fed and before this one had
    /// no events. The episodes are those of feeding every second with [`Detector::push_second`],
    /// at a cost that grows with the events rather than with seconds x codes: the window rules do
    /// nothing with a quiet second but count it, and the sequential rule skips quiet stretches in
    /// closed form. A detector is fed one way or the other, not both.
    fn push_events(&mut self, second: i64, counts: &[(usize, u64, u64)], events: &mut Vec<Event>);

    /// Makes room for the state of code ids below `codes` before any is fed, when they are
    /// known up front (a batch run knows them all): the per-code state is then allocated once at
    /// its size, where growing it code by code would leave it up to twice as large.
    fn reserve_codes(&mut self, codes: usize);

    /// Says, before any second is fed, that the counts are affected clients, each at most once
    /// per code, build and slot of `slot_seconds` ([`dispersion::Dispersion::counting_clients`]).
    fn counting_clients(&mut self, _slot_seconds: u64) {}

    /// Has every alarm recounted by clients before it stands ([`Recount`]): a run with a unit
    /// column.
    fn recount_clients(&mut self, recount: Rc<dyn Recount>);

    /// Ends the input: closes what is still open and appends the last events.
    fn finish(&mut self, events: &mut Vec<Event>);

    /// How the false-alarm budget was spent so far, for rules that have one.
    fn gate(&self) -> Option<Gate>;

    /// The dispersion of the counts as estimated so far, for rules that use it.
    fn dispersion(&mut self) -> Option<DispersionSummary>;
}

/// The long-run dispersion of the counts at the end of a run ([`dispersion`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DispersionSummary {
    /// The stream-wide estimate.
    pub stream: f64,
    /// Each code's estimate, by code id, for the codes the baseline had.
    pub codes: Vec<(usize, f64)>,
}

impl DispersionSummary {
    fn of(estimate: &mut dispersion::Dispersion, at: i64) -> DispersionSummary {
        DispersionSummary { codes: estimate.all(at), stream: estimate.pool() }
    }
}

/// A change in an alert episode.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An episode's first alarm: what was known at that second.
    Started(Episode),
    /// An episode is over: its final account.
    Ended(Episode),
}

/// One alert episode of one code, as a detector sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The code's id.
    pub code: usize,
    /// First second of the increase: for window rules, the first bin of the maximum-likelihood
    /// span of the increase within the firing windows; for the sequential rule, the located change.
    pub start_s: i64,
    /// Last second of the increase.
    pub stop_s: i64,
    /// First second of the first firing window (or of the located change).
    pub windows_start_s: i64,
    /// Last second of the last firing window (or the last alarm).
    pub windows_stop_s: i64,
    /// The second the episode was first known.
    pub detected_at_s: i64,
    /// Length in bins of the window with the largest value (window rules only).
    pub window_bins: Option<usize>,
    /// The largest value: a rate ratio (infinite without baseline events) or a mean difference.
    pub value: f64,
    /// Canary events behind the value.
    pub canary_count: u64,
    /// Baseline events behind the value.
    pub baseline_count: u64,
    /// The smallest p-value, for rules that test window by window.
    pub p_value: Option<f64>,
    /// The level the test behind the episode's first alarm was held to, for rules that test: the
    /// rolling rule's level for the windows of the closing bin, the sequential rule's `W / A`
    /// (its run's likelihood ratio had to reach the bound `A` over the start weight `W`).
    pub level: Option<f64>,
    /// A confidence interval for the rate ratio, for rules that give one.
    pub ratio_interval: Option<(f64, f64)>,
    /// The largest dispersion of the code's counts the tests used over the episode (1 for
    /// independent events; see [`dispersion`]).
    pub dispersion: f64,
}

/// How a rule spent its false-alarm budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gate {
    /// The rolling rule's exact tests, each at a level drawn from the hourly budget.
    Budget {
        /// Expected false alarms per stream-hour.
        alpha: f64,
        /// Windows closed: codes x window lengths x positions.
        windows: u64,
        /// Windows tested: those with enough events to reach their share of the bin's budget.
        tested: u64,
        /// The plain Bonferroni share of one window of one code per bin, with the codes seen at
        /// the end: the least a tested window is tested at.
        per_window_alpha: f64,
    },
    /// The sequential rule's e-detector.
    Sequential {
        /// Expected false alarms per stream-hour.
        alpha: f64,
        /// The alarm bound on the mixture statistic, `3600 / alpha`.
        bound: f64,
        /// Alternatives in the mixture.
        alternatives: usize,
    },
}

/// The rule and its parameters, free of command-line types.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    /// Which rule.
    pub rule: RuleKind,
    /// The threshold.
    pub threshold: f64,
    /// Window lengths in bins (window rules).
    pub window_bins: Vec<usize>,
    /// The false-alarm budget.
    pub alpha: f64,
    /// The canary's share of traffic.
    pub canary_share: f64,
    /// Seconds per bin.
    pub bin_seconds: u64,
}

/// The rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// [`rolling`].
    Rolling,
    /// [`mean_diff`].
    MeanDiff,
    /// [`sequential`].
    Sequential,
}

impl RuleKind {
    /// The rule's name on the command line (`--rule`).
    pub fn name(self) -> &'static str {
        match self {
            RuleKind::Rolling => "rolling",
            RuleKind::MeanDiff => "mean-diff",
            RuleKind::Sequential => "sequential",
        }
    }
}

impl RuleConfig {
    /// The longest span, in seconds, over which an alarm's clients are recounted ([`Recount`]):
    /// the longest window, for the window rules; the start weight's horizon, for the sequential
    /// rule, whose runs can reach further back than the weight they gather.
    pub fn evidence_s(&self) -> u64 {
        match self.rule {
            RuleKind::Rolling | RuleKind::MeanDiff => {
                let longest = self.window_bins.iter().copied().max().unwrap_or(1) as u64;
                longest.saturating_mul(self.bin_seconds)
            }
            RuleKind::Sequential => sequential::HORIZON_S,
        }
    }

    /// A fresh detector for this configuration.
    pub fn detector(&self) -> Box<dyn Detector> {
        match self.rule {
            RuleKind::Rolling => Box::new(windows::Binned::new(
                rolling::Rolling::new(self.threshold, self.alpha, self.canary_share, self),
                self,
            )),
            RuleKind::MeanDiff => Box::new(windows::Binned::new(
                mean_diff::MeanDiff { threshold: self.threshold, canary_share: self.canary_share },
                self,
            )),
            RuleKind::Sequential => Box::new(sequential::SequentialDetector::new(
                &sequential::Sequential { threshold: self.threshold, alpha: self.alpha },
                self.canary_share,
            )),
        }
    }
}

/// Feeds every second of `seconds` (per code, canary and baseline events per second, all of one
/// length, starting at `first_second`) to `detector` and returns the ended episodes, ordered by
/// start and then code.
pub fn run_batch(
    detector: &mut dyn Detector,
    first_second: i64,
    seconds: &[SecondCounts],
) -> Vec<Episode> {
    let span = seconds.iter().map(|s| s.canary.len().max(s.baseline.len())).max().unwrap_or(0);
    let mut counts = vec![(0u64, 0u64); seconds.len()];
    let mut events = Vec::new();
    let mut episodes = Vec::new();
    let mut keep_ended = |events: &mut Vec<Event>| {
        episodes.extend(events.drain(..).filter_map(|e| match e {
            Event::Ended(episode) => Some(episode),
            Event::Started(_) => None,
        }));
    };
    for i in 0..span {
        for (slot, series) in counts.iter_mut().zip(seconds) {
            // A series may be shorter (a build with no events of any kind): no events then.
            let at = |s: &[u32]| u64::from(s.get(i).copied().unwrap_or(0));
            *slot = (at(series.canary), at(series.baseline));
        }
        detector.push_second(first_second + i as i64, &counts, &mut events);
        keep_ended(&mut events);
    }
    detector.finish(&mut events);
    keep_ended(&mut events);
    episodes.sort_by_key(|e| (e.start_s, e.code));
    episodes
}

/// Feeds a stream of seconds with events to `detector` ([`Detector::push_events`]): the stream
/// runs from `first_second` to `last_second`; `next_second` fills in each second with events in
/// order, returning it (`None` at the end; the seconds it skips are quiet); the ended episodes are
/// returned ordered by start and then code.
pub fn run_events(
    detector: &mut dyn Detector,
    (first_second, last_second): (i64, i64),
    mut next_second: impl FnMut(&mut Vec<(usize, u64, u64)>) -> Option<i64>,
) -> Vec<Episode> {
    let mut events = Vec::new();
    let mut episodes = Vec::new();
    let mut keep_ended = |events: &mut Vec<Event>| {
        episodes.extend(events.drain(..).filter_map(|e| match e {
            Event::Ended(episode) => Some(episode),
            Event::Started(_) => None,
        }));
    };
    // The stream's first second starts the bins and the clock, with events or without.
    let mut next = first_second;
    let mut counts = Vec::new();
    while let Some(second) = next_second(&mut counts) {
        if next == first_second && first_second < second {
            detector.push_events(first_second, &[], &mut events);
        }
        detector.push_events(second, &counts, &mut events);
        keep_ended(&mut events);
        next = second + 1;
    }
    if next <= last_second {
        detector.push_events(last_second, &[], &mut events);
    }
    detector.finish(&mut events);
    keep_ended(&mut events);
    episodes.sort_by_key(|e| (e.start_s, e.code));
    episodes
}

/// The clients behind an alarm, recounted (a run with a unit column, README "Users affected").
///
/// The counts a detector is fed hold each client once per code, build and slot, so one client
/// whose error lasts for hours still counts once a slot, and a handful of such clients can make an
/// alarm. Before an alarm stands, the detector asks [`Recount::stands`]: over the alarm's evidence
/// (the first alarm's window, or its run, from [`Episode::windows_start_s`] to
/// [`Episode::detected_at_s`], at most [`RuleConfig::evidence_s`] long) each client counts once,
/// and the canary's clients must reach the threshold and be significant on their own, at the level
/// the alarm was held to ([`Episode::level`]). If clients take one build or the other independently, at the
/// traffic odds, that split is an exact binomial whatever each client sends. The check can only
/// remove alarms, so every rule keeps its guarantee; an alarm that does not stand is as if it had
/// not been raised, and the code's next one is recounted in turn.
pub trait Recount {
    /// Whether the episode's first alarm stands once its clients are recounted. Asked at the
    /// second of the alarm, with every row up to that second counted: the same answer in a batch
    /// and a live run.
    fn stands(&self, episode: &Episode) -> bool;
}

/// A detector's [`Recount`], if it was given one: shared, as the pipeline keeps counting the
/// clients it reads from.
#[derive(Clone, Default)]
struct Recounter(Option<Rc<dyn Recount>>);

impl Recounter {
    /// Whether the episode's first alarm stands: always, without a recount.
    fn stands(&self, episode: &Episode) -> bool {
        self.0.as_ref().is_none_or(|recount| recount.stands(episode))
    }
}

impl std::fmt::Debug for Recounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Recounter(clients)" } else { "Recounter(none)" })
    }
}

/// One code's events per second.
#[derive(Debug, Clone, Copy)]
pub struct SecondCounts<'a> {
    /// Canary events per second.
    pub canary: &'a [u32],
    /// Baseline events per second.
    pub baseline: &'a [u32],
}

/// One alert episode, ready to report: a span of time over which one error code got worse. The
/// detector's [`Episode`] says when and how strongly; the alert adds what a report needs to say
/// which code it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The episode as the detector ended it (or, live, as it stood when it started). Its `code`
    /// is the id the detector was fed; [`Alert::code`] is the code itself.
    pub episode: Episode,
    /// Row of the code in the heatmap (index into [`crate::bins::Bins::codes`]).
    pub code_index: usize,
    /// The error code.
    pub code: Code,
    /// The code has no baseline events in the input (so far): it is new in the canary build.
    pub new_code: bool,
    /// The threshold the episode's value was compared with.
    pub threshold: f64,
    /// With a unit column, the (canary, baseline) units affected over the alert's span, counted
    /// as the detectors counted them (each unit once per slot); the episode's counts are then the
    /// events over the same span. `None` without a unit column.
    pub clients: Option<(u64, u64)>,
}

impl Alert {
    /// Dresses an episode with its code's label and heatmap row.
    pub fn new(
        episode: Episode,
        code: Code,
        code_index: usize,
        new_code: bool,
        threshold: f64,
    ) -> Alert {
        Alert { episode, code_index, code, new_code, threshold, clients: None }
    }
}

/// SplitMix64 and Knuth's Poisson sampler, for the detectors' simulation tests.
#[cfg(test)]
pub(crate) struct Draws(pub(crate) u64);

#[cfg(test)]
impl Draws {
    /// A uniform draw in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Poisson draw of mean `mean` (Knuth's product of uniforms; small means only).
    pub(crate) fn poisson(&mut self, mean: f64) -> u64 {
        let limit = (-mean).exp();
        let (mut k, mut p) = (0, self.uniform());
        while p > limit {
            k += 1;
            p *= self.uniform();
        }
        k
    }
}

/// The episodes that ended, among `events` (for tests).
#[cfg(test)]
pub(crate) fn ended(events: &[Event]) -> Vec<&Episode> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Ended(e) => Some(e),
            Event::Started(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random stream of `seconds` seconds and `rates.len()` codes, dense: `stream[t][code] =
    /// (canary, baseline)`. Codes are quiet most seconds; code 0's canary is `factor` times its
    /// rate over `increase`, and now and then a code gets a burst.
    fn stream(
        draws: &mut Draws,
        seconds: usize,
        rates: &[f64],
        increase: std::ops::Range<usize>,
        factor: f64,
    ) -> Vec<Vec<(u64, u64)>> {
        (0..seconds)
            .map(|t| {
                rates
                    .iter()
                    .enumerate()
                    .map(|(code, &rate)| {
                        let up = if code == 0 && increase.contains(&t) { factor } else { 1.0 };
                        let burst = if draws.uniform() < 0.002 { 12 } else { 0 };
                        let (c, b) = (draws.poisson(rate * up), draws.poisson(rate));
                        if draws.uniform() < 0.5 { (c + burst, b) } else { (c, b + burst) }
                    })
                    .collect()
            })
            .collect()
    }

    fn config(rule: RuleKind, bin_seconds: u64, window_bins: Vec<usize>) -> RuleConfig {
        RuleConfig {
            rule,
            threshold: 1.25,
            window_bins,
            alpha: 0.5,
            canary_share: 0.5,
            bin_seconds,
        }
    }

    /// Every event a detector emits, with its account at the end.
    type Run = (Vec<Event>, Option<Gate>, Option<DispersionSummary>);

    /// A run with its episodes' levels to nine significant digits: the sequential rule's level is
    /// its start weight, which skipping quiet seconds in closed form adds up in another order.
    fn rounded((mut events, gate, dispersion): Run) -> Run {
        for event in &mut events {
            let (Event::Started(episode) | Event::Ended(episode)) = event;
            episode.level = episode.level.map(|l| format!("{l:.9e}").parse().expect("a number"));
        }
        (events, gate, dispersion)
    }

    /// The reference: every second fed, every code in it.
    fn dense(config: &RuleConfig, first: i64, stream: &[Vec<(u64, u64)>]) -> Run {
        let mut detector = config.detector();
        let mut events = Vec::new();
        for (t, counts) in stream.iter().enumerate() {
            detector.push_second(first + t as i64, counts, &mut events);
        }
        detector.finish(&mut events);
        rounded((events, detector.gate(), detector.dispersion()))
    }

    /// Only the seconds with events fed, only the codes with events in them.
    fn sparse(config: &RuleConfig, first: i64, stream: &[Vec<(u64, u64)>]) -> Run {
        let mut detector = config.detector();
        let mut events = Vec::new();
        let last = first + stream.len() as i64 - 1;
        let mut fed = false;
        for (t, counts) in stream.iter().enumerate() {
            let second = first + t as i64;
            let with_events: Vec<(usize, u64, u64)> = counts
                .iter()
                .enumerate()
                .filter(|&(_, &(c, b))| c + b > 0)
                .map(|(code, &(c, b))| (code, c, b))
                .collect();
            // The first and last seconds bound the stream (and its bins), events or not.
            if !with_events.is_empty() || second == first || second == last {
                detector.push_events(second, &with_events, &mut events);
                fed = true;
            }
        }
        assert!(fed);
        detector.finish(&mut events);
        rounded((events, detector.gate(), detector.dispersion()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Feeding only the seconds with events, each rule emits exactly the events (and ends
        /// with exactly the account) of feeding every second of every code.
        #[test]
        fn feeding_only_seconds_with_events_equals_feeding_every_second(
            seed in proptest::prelude::any::<u64>(),
            seconds in 200usize..2500,
            busy in 0.0f64..0.3,
            increase_start in 0usize..1500,
            increase_len in 0usize..900,
            factor in 1.0f64..12.0,
            bin_seconds in 1u64..120,
            first in -5000i64..5000,
        ) {
            let mut draws = Draws(seed);
            let rates = [busy, 0.02, 0.001, busy / 3.0];
            let increase = increase_start..increase_start + increase_len;
            let stream = stream(&mut draws, seconds, &rates, increase, factor);
            for rule in [RuleKind::Rolling, RuleKind::MeanDiff, RuleKind::Sequential] {
                let config = config(rule, bin_seconds, vec![1, 3, 8]);
                let (reference, fast) = (dense(&config, first, &stream), sparse(&config, first, &stream));
                proptest::prop_assert_eq!(&fast, &reference, "{:?}", rule);
            }
        }
    }

    #[test]
    fn a_strong_increase_alarms_alike_fed_densely_or_sparsely() {
        // The property above, on a stream where every rule alarms (so that it compares alarms).
        let mut draws = Draws(42);
        let stream = stream(&mut draws, 3600, &[0.2, 0.05, 0.01], 1200..1800, 6.0);
        for rule in [RuleKind::Rolling, RuleKind::MeanDiff, RuleKind::Sequential] {
            let config = config(rule, 60, vec![5, 10]);
            let reference = dense(&config, 0, &stream);
            assert!(
                reference.0.iter().any(|e| matches!(e, Event::Ended(_))),
                "{rule:?}: {:?}",
                reference.0
            );
            assert_eq!(sparse(&config, 0, &stream), reference, "{rule:?}");
        }
    }
}
