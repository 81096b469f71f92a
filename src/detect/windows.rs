//! The window rules' common machinery: seconds folded into bins, windows closed as bins close,
//! and firing windows merged into episodes.
//!
//! The bins are the binner's ([`crate::bins::Binner`]): `bin_seconds` long from the first second
//! fed. When a bin closes (a second of a later bin arrives, or the input ends), every window of
//! every length in `--threshold-bins` that ends with it is handed to the [`BinRule`] for every code
//! seen so far, with the code's last bins as running sums ([`WindowSums`]), so a window costs the
//! same whatever its length: first all of them together, with their events and dispersions
//! ([`BinRule::plan`], where the rolling rule shares the bin's budget), then code by code. Seconds without events need not be fed: a window rule does nothing
//! with a quiet second but count it into its bin, so a gap between two seconds fed is quiet
//! seconds, and the bins it spans close when the later second arrives. Windows that fire extend the code's open episode when they overlap or touch it (their
//! first bin is at most one past its last); otherwise the open episode ends and a new one starts.
//! An episode also ends once no future window could touch it: `max window` bins after its last
//! firing bin.
//!
//! When an episode ends, its start and stop are estimated within its windows: given the canary's
//! share of events `q` in its strongest window against the traffic share `s`, each bin scores the
//! log likelihood ratio `C ln(q / s) + B ln((1 - q) / (1 - s))` of "this bin has the increase"
//! against "it has not"; the best-scoring run of bins (Kadane's maximum-subarray scan) is the
//! maximum-likelihood span of the increase given its size. `q` is smoothed by half an event, so a
//! window without baseline events does not forbid every bin that has one.

use std::collections::VecDeque;

use super::dispersion::{self, Dispersion, Local, Scaling};
use super::{Detector, DispersionSummary, Episode, Event, Gate, RuleConfig};
pub use crate::bins::WindowSums;
use crate::bins::{Binner, Closed};

/// One window that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The window's length in bins.
    pub window_bins: usize,
    /// The rule's value.
    pub value: f64,
    /// Canary events in the window.
    pub canary_count: u64,
    /// Baseline events in the window.
    pub baseline_count: u64,
    /// The one-sided p-value, for rules that test.
    pub p_value: Option<f64>,
    /// The level the test was held to, for rules that test.
    pub level: Option<f64>,
    /// The code's dispersion the test used (1 for independent events).
    pub dispersion: f64,
}

/// A window that ends with the closing bin and has events, as [`BinRule::plan`] sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The code's id.
    pub code: usize,
    /// The index of the window's length in `window_bins`.
    pub length: usize,
    /// Its events, both builds.
    pub events: u64,
    /// Its effective events: what its test sees once the counts are scaled by their dispersion
    /// ([`Scaling::effective`]); `events` for independent events.
    pub effective: f64,
}

/// The decision of a window rule.
pub trait BinRule {
    /// Called once when bin `bin` closes, before [`BinRule::close_bin`] is called for its codes,
    /// with every window that ends with it and holds events (codes in order), so that a rule can
    /// share the bin's budget among the windows that can use it. `length_s` is the closing bin's
    /// length, `codes_seen` the codes with any event so far and `codes` the number of code ids.
    fn plan(&mut self, _length_s: u64, _codes_seen: usize, _codes: usize, _windows: &[Candidate]) {}

    /// Called when bin `bin` closes, once for every code seen so far. `history` holds the code's
    /// (canary, baseline) events of the last closed bins, the closing one last (missing older bins
    /// had no events); `scaling[k]` is how the test of the window of length `window_bins[k]`
    /// scales its counts ([`super::dispersion`]). The bin's length and the codes seen are
    /// [`BinRule::plan`]'s. Windows that fire are appended to `fired`.
    fn close_bin(
        &mut self,
        code: usize,
        bin: usize,
        history: &WindowSums,
        window_bins: &[usize],
        scaling: &[Scaling],
        fired: &mut Vec<Fired>,
    );

    /// How the false-alarm budget was spent, for rules that have one.
    fn gate(&self) -> Option<Gate>;

    /// Whether the rule reads `scaling`: a rule that does not (it has no test to temper) is
    /// spared the dispersion estimates, which are most of the cost of the rules that do.
    fn uses_dispersion(&self) -> bool {
        true
    }
}

/// An episode still open.
#[derive(Debug, Clone)]
struct Open {
    first_bin: usize,
    last_bin: usize,
    /// Events of every bin from `first_bin` on.
    bins: Vec<(u64, u64)>,
    episode: Episode,
}

/// A window rule run online: seconds in, episodes out.
#[derive(Debug, Clone)]
pub struct Binned<R> {
    rule: R,
    bin_seconds: u64,
    window_bins: Vec<usize>,
    max_window: usize,
    canary_share: f64,
    /// The bins, and the events of the bin being filled.
    binner: Binner,
    /// Per code: the last `max_window` closed bins.
    history: Vec<WindowSums>,
    seen: Vec<bool>,
    codes_seen: usize,
    /// Per code, its open episode (boxed: few codes have one, and every code has a slot).
    open: Vec<Option<Box<Open>>>,
    fired: Vec<Fired>,
    /// Whether the rule reads the dispersion ([`BinRule::uses_dispersion`]); if not, the
    /// estimates below are never fed.
    uses_dispersion: bool,
    /// The baseline's long-run dispersion per code, fed with every second.
    dispersion: Dispersion,
    /// Both builds' local dispersion per code.
    local: Local,
    /// Per code, at the close of each of the last `max window` bins: the local estimate's
    /// running sums `(squares, mass)`.
    snapshots: Vec<VecDeque<(f64, f64)>>,
    /// How each window's test scales its counts, for every code at the closing bin: the code's
    /// window lengths side by side, in the order of `window_bins`.
    scalings: Vec<Scaling>,
    /// The windows of the closing bin that hold events ([`BinRule::plan`]).
    candidates: Vec<Candidate>,
    /// Recounts each new episode's first alarm by clients ([`super::Recount`]).
    recount: super::Recounter,
}

impl<R: BinRule> Binned<R> {
    /// Runs `rule` with the bins and windows of `config`.
    pub fn new(rule: R, config: &RuleConfig) -> Binned<R> {
        let mut window_bins = config.window_bins.clone();
        window_bins.sort_unstable();
        window_bins.dedup();
        Binned {
            uses_dispersion: rule.uses_dispersion(),
            rule,
            bin_seconds: config.bin_seconds.max(1),
            max_window: window_bins.last().copied().unwrap_or(1),
            window_bins,
            canary_share: config.canary_share,
            binner: Binner::new(config.bin_seconds),
            history: Vec::new(),
            seen: Vec::new(),
            codes_seen: 0,
            open: Vec::new(),
            fired: Vec::new(),
            dispersion: Dispersion::new(0),
            local: Local::new(0),
            snapshots: Vec::new(),
            scalings: Vec::new(),
            candidates: Vec::new(),
            recount: super::Recounter::default(),
        }
    }

    fn bin_start(&self, bin: usize) -> i64 {
        self.binner.bin_start(bin)
    }

    fn bin_end(&self, bin: usize) -> i64 {
        self.binner.bin_end(bin)
    }

    /// Closes bin `bin` for every code seen so far: first every code's windows are measured (their
    /// sums and dispersions) and handed to [`BinRule::plan`] together, then each code's are
    /// decided.
    fn close_bin(&mut self, Closed { bin, length_s }: Closed, events: &mut Vec<Event>) {
        let lengths = self.window_bins.len();
        let codes = self.binner.codes();
        self.candidates.clear();
        let mut all = std::mem::take(&mut self.scalings);
        all.clear();
        all.resize(codes * lengths, Scaling::INDEPENDENT);
        for code in 0..codes {
            let counts = self.binner.take(code);
            if !self.seen[code] {
                continue;
            }
            self.history[code].push(counts.0, counts.1);
            if let Some(open) = &mut self.open[code] {
                open.bins.push(counts);
            }
            let scalings = &mut all[code * lengths..(code + 1) * lengths];
            if self.uses_dispersion {
                self.measure_dispersion(code, bin, scalings);
            }
            for (length, &w) in self.window_bins.iter().enumerate() {
                let (c, b) = window_sum(&self.history[code], w);
                if bin + 1 < w || c + b == 0 {
                    continue;
                }
                let (_, effective) = scalings[length].effective(c, b);
                self.candidates.push(Candidate { code, length, events: c + b, effective });
            }
        }
        self.scalings = all;
        self.rule.plan(length_s, self.codes_seen, codes, &self.candidates);
        for code in 0..codes {
            if !self.seen[code] {
                continue;
            }
            let mut fired = std::mem::take(&mut self.fired);
            fired.clear();
            self.rule.close_bin(
                code,
                bin,
                &self.history[code],
                &self.window_bins,
                &self.scalings[code * lengths..(code + 1) * lengths],
                &mut fired,
            );
            if !fired.is_empty() {
                self.on_fired(code, bin, &fired, events);
            } else if self.open[code].as_ref().is_some_and(|o| bin >= o.last_bin + self.max_window)
            {
                self.end(code, events);
            }
            self.fired = fired;
        }
    }

    /// The dispersion of every window of `code` that ends with bin `bin`: the larger of the
    /// baseline's long-run estimate as of the window's end (the baseline only: a regression in
    /// the canary cannot raise it) and the window's own local estimate, as
    /// [`dispersion::local_used`] takes it, which is 1 on a stream known to be calm
    /// ([`Dispersion::is_calm`]). The long-run estimate includes the window's baseline events,
    /// so it is not independent of the window's split; it is at least 1, so a test at it is
    /// never more lenient than the exact test.
    fn measure_dispersion(&mut self, code: usize, bin: usize, scalings: &mut [Scaling]) {
        let end = self.bin_end(bin) + 1;
        let long_run = self.dispersion.phi(code, end);
        let (squares, mass) = self.local.cumulative(code, end);
        let rate = self.dispersion.rate(code, end);
        let pool = self.dispersion.pool();
        let burst_pool = self.dispersion.burst_pool();
        let calm = self.dispersion.is_calm();
        let surge = self.local.surge(code, end, rate, self.canary_share, burst_pool);
        let snapshots = &mut self.snapshots[code];
        for (&w, scaling) in self.window_bins.iter().zip(scalings) {
            // The snapshot at the close of the bin before the window, if there was one.
            let before = snapshots.len().checked_sub(w).map(|i| snapshots[i]);
            let (start_squares, start_mass) = before.unwrap_or((0.0, 0.0));
            // A window shorter than a few tau cannot tell a burst from a change inside it: there
            // the long-run estimate alone speaks.
            if (w as u64 * self.bin_seconds) < dispersion::LOCAL_MIN_WINDOW_S {
                *scaling = Scaling::uniform(long_run);
                continue;
            }
            // On a stream known to be calm, a window's clumps are a regression's onset.
            let local = if calm {
                1.0
            } else {
                let raw = dispersion::ratio(squares - start_squares, mass - start_mass);
                dispersion::local_used(raw, rate, pool)
            };
            let phi = long_run.max(local);
            let surge = if surge.phi > phi { surge } else { dispersion::Surge::NONE };
            *scaling = Scaling { phi, surge };
        }
        // The oldest leaves first, so the queue never outgrows its first allocation.
        if snapshots.len() == self.max_window {
            snapshots.pop_front();
        }
        snapshots.push_back((squares, mass));
    }

    fn on_fired(&mut self, code: usize, bin: usize, fired: &[Fired], events: &mut Vec<Event>) {
        let longest = fired.iter().map(|f| f.window_bins).max().expect("fired is not empty");
        let first_bin = bin + 1 - longest;
        let strongest = fired
            .iter()
            .max_by(|a, b| a.value.total_cmp(&b.value).then(b.window_bins.cmp(&a.window_bins)))
            .expect("fired is not empty");
        let smallest_p = fired.iter().filter_map(|f| f.p_value).min_by(f64::total_cmp);
        let bin_end = self.bin_end(bin);
        if let Some(open) = &mut self.open[code]
            && first_bin <= open.last_bin + 1
        {
            open.last_bin = bin;
            let episode = &mut open.episode;
            episode.windows_stop_s = bin_end;
            episode.dispersion = episode.dispersion.max(strongest.dispersion);
            if strongest.value > episode.value {
                episode.value = strongest.value;
                episode.window_bins = Some(strongest.window_bins);
                episode.canary_count = strongest.canary_count;
                episode.baseline_count = strongest.baseline_count;
            }
            episode.p_value = match (episode.p_value, smallest_p) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            return;
        }
        if self.open[code].is_some() {
            self.end(code, events);
        }
        // The episode's bins from its first window's first bin; bins before the code was first
        // seen had no events.
        let kept = self.history[code].last_bins(longest);
        let mut bins = vec![(0, 0); longest - kept.len()];
        bins.extend(kept);
        let windows_start_s = self.bin_start(first_bin);
        let episode = Episode {
            code,
            start_s: windows_start_s,
            stop_s: bin_end,
            windows_start_s,
            windows_stop_s: bin_end,
            detected_at_s: bin_end,
            window_bins: Some(strongest.window_bins),
            value: strongest.value,
            canary_count: strongest.canary_count,
            baseline_count: strongest.baseline_count,
            p_value: smallest_p,
            level: fired.iter().filter_map(|f| f.level).max_by(f64::total_cmp),
            ratio_interval: None,
            dispersion: strongest.dispersion,
        };
        // An alarm whose clients, recounted, are no evidence is as if it had not fired: the
        // next bin's windows may start the episode.
        if !self.recount.stands(&episode) {
            return;
        }
        events.push(Event::Started(episode.clone()));
        self.open[code] = Some(Box::new(Open { first_bin, last_bin: bin, bins, episode }));
    }

    fn end(&mut self, code: usize, events: &mut Vec<Event>) {
        let Some(mut open) = self.open[code].take() else {
            return;
        };
        open.bins.truncate(open.last_bin - open.first_bin + 1);
        let (onset, end) = increase_span(&open.bins, &open.episode, self.canary_share);
        open.episode.start_s = self.bin_start(open.first_bin + onset);
        open.episode.stop_s = self.bin_end(open.first_bin + end);
        events.push(Event::Ended(open.episode));
    }
}

impl<R: BinRule> Binned<R> {
    /// Starts second `second`: closes the bins before it.
    fn start_second(&mut self, second: i64, events: &mut Vec<Event>) {
        if self.binner.origin().is_none() {
            self.dispersion = self.dispersion.restarted(second);
            self.local = Local::new(second);
        }
        while let Some(closed) = self.binner.close_before(second) {
            self.close_bin(closed, events);
        }
    }

    /// Adds the events of one code at `second`.
    fn add(&mut self, code: usize, second: i64, canary: u64, baseline: u64) {
        if canary + baseline > 0 && !self.seen[code] {
            self.seen[code] = true;
            self.codes_seen += 1;
        }
        self.binner.add(code, canary, baseline);
        if self.uses_dispersion {
            self.dispersion.add(code, second, baseline);
            self.local.add(code, second, canary, baseline);
        }
    }
}

impl<R: BinRule> Detector for Binned<R> {
    fn push_second(&mut self, second: i64, counts: &[(u64, u64)], events: &mut Vec<Event>) {
        self.start_second(second, events);
        self.reserve_codes(counts.len());
        for (code, &(canary, baseline)) in counts.iter().enumerate() {
            self.add(code, second, canary, baseline);
        }
    }

    fn push_events(&mut self, second: i64, counts: &[(usize, u64, u64)], events: &mut Vec<Event>) {
        self.start_second(second, events);
        for &(code, canary, baseline) in counts {
            self.reserve_codes(code + 1);
            self.add(code, second, canary, baseline);
        }
    }

    fn reserve_codes(&mut self, codes: usize) {
        if codes > self.binner.codes() {
            self.binner.reserve_codes(codes);
            self.history.resize_with(codes, || WindowSums::new(self.max_window));
            self.seen.resize(codes, false);
            self.open.resize_with(codes, || None);
            // Room for every snapshot kept, up to a bound so that a very long window does not
            // reserve for codes that never need it.
            let room = self.max_window.min(1 << 10);
            self.snapshots.resize_with(codes, || VecDeque::with_capacity(room));
        }
    }

    fn counting_clients(&mut self, slot_seconds: u64) {
        self.dispersion.counting_clients(slot_seconds);
    }

    fn recount_clients(&mut self, recount: std::rc::Rc<dyn super::Recount>) {
        self.recount = super::Recounter(Some(recount));
    }

    fn finish(&mut self, events: &mut Vec<Event>) {
        let Some(closed) = self.binner.finish() else {
            return;
        };
        self.close_bin(closed, events);
        for code in 0..self.open.len() {
            self.end(code, events);
        }
    }

    fn gate(&self) -> Option<Gate> {
        self.rule.gate()
    }

    fn dispersion(&mut self) -> Option<DispersionSummary> {
        // A rule without a test for the dispersion to temper (the seed's) was not fed one.
        if !self.uses_dispersion {
            return None;
        }
        Some(DispersionSummary::of(&mut self.dispersion, self.binner.last_second() + 1))
    }
}

/// The run of bins (offsets into `bins`) where the increase lies; see the module docs.
fn increase_span(bins: &[(u64, u64)], episode: &Episode, share: f64) -> (usize, usize) {
    let whole = (0, bins.len().saturating_sub(1));
    let (c, b) = (episode.canary_count as f64, episode.baseline_count as f64);
    let q = (c + 0.5) / (c + b + 1.0);
    if q <= share {
        return whole;
    }
    let (up, down) = ((q / share).ln(), ((1.0 - q) / (1.0 - share)).ln());
    let mut best = (f64::NEG_INFINITY, whole.0, whole.1);
    let (mut run, mut run_start) = (0.0, 0);
    for (i, &(canary, baseline)) in bins.iter().enumerate() {
        if run <= 0.0 {
            run = 0.0;
            run_start = i;
        }
        run += canary as f64 * up + baseline as f64 * down;
        if run > best.0 {
            best = (run, run_start, i);
        }
    }
    if best.0 > 0.0 { (best.1, best.2) } else { whole }
}

/// Sums of the last `w` bins of a history.
pub fn window_sum(history: &WindowSums, w: usize) -> (u64, u64) {
    history.sum(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ended;
    use crate::detect::{RuleKind, SecondCounts, run_batch};

    /// Fires whenever the window's canary events reach `at_least`; value = canary events.
    struct FireAt {
        at_least: u64,
    }

    impl BinRule for FireAt {
        fn close_bin(
            &mut self,
            _code: usize,
            bin: usize,
            history: &WindowSums,
            window_bins: &[usize],
            _scaling: &[Scaling],
            fired: &mut Vec<Fired>,
        ) {
            for &w in window_bins {
                if bin + 1 < w {
                    continue;
                }
                let (c, b) = window_sum(history, w);
                if c >= self.at_least {
                    let value = c as f64 / (b.max(1)) as f64;
                    fired.push(Fired {
                        window_bins: w,
                        value,
                        canary_count: c,
                        baseline_count: b,
                        p_value: Some(1.0 / c as f64),
                        level: None,
                        dispersion: 1.0,
                    });
                }
            }
        }
        fn gate(&self) -> Option<Gate> {
            None
        }
    }

    fn config(window_bins: Vec<usize>) -> RuleConfig {
        RuleConfig {
            rule: RuleKind::MeanDiff,
            threshold: 1.0,
            window_bins,
            alpha: 0.05,
            canary_share: 0.5,
            bin_seconds: 10,
        }
    }

    /// Runs `FireAt` over per-bin canary counts (baseline 1 per bin), one event at each bin's
    /// first second.
    fn run(canary_per_bin: &[u32], window_bins: Vec<usize>, at_least: u64) -> Vec<Event> {
        let mut detector = Binned::new(FireAt { at_least }, &config(window_bins));
        let mut events = Vec::new();
        for (bin, &c) in canary_per_bin.iter().enumerate() {
            for s in 0..10 {
                let counts = if s == 0 { [(u64::from(c), 1)] } else { [(0, 0)] };
                detector.push_second(bin as i64 * 10 + s, &counts, &mut events);
            }
        }
        detector.finish(&mut events);
        events
    }

    #[test]
    fn touching_windows_merge_and_a_gap_starts_a_new_episode() {
        // One-bin windows fire on bins 2, 3 (touching) and 6 (a gap of two bins).
        let events = run(&[0, 0, 5, 5, 0, 0, 5, 0], vec![1], 5);
        let episodes = ended(&events);
        assert_eq!(episodes.len(), 2, "{events:?}");
        assert_eq!((episodes[0].windows_start_s, episodes[0].windows_stop_s), (20, 39));
        assert_eq!(episodes[0].detected_at_s, 29);
        assert_eq!((episodes[1].windows_start_s, episodes[1].windows_stop_s), (60, 69));
        // Started comes before Ended, one each.
        assert!(matches!(events[0], Event::Started(ref e) if e.detected_at_s == 29));
        assert_eq!(events.iter().filter(|e| matches!(e, Event::Started(_))).count(), 2);
    }

    #[test]
    fn an_episode_keeps_the_strongest_window_and_the_smallest_p() {
        // Two-bin windows: bins [1,2] hold 3 + 4 = 7, bins [2,3] hold 4 + 9 = 13.
        let events = run(&[0, 3, 4, 9, 0, 0, 0], vec![2], 6);
        let episodes = ended(&events);
        assert_eq!(episodes.len(), 1);
        let e = episodes[0];
        assert_eq!((e.canary_count, e.baseline_count, e.value), (13, 2, 6.5));
        assert_eq!(e.p_value, Some(1.0 / 13.0));
        assert_eq!((e.windows_start_s, e.windows_stop_s, e.detected_at_s), (10, 49, 29));
        assert_eq!(e.window_bins, Some(2));
    }

    #[test]
    fn the_span_of_the_increase_is_found_within_the_windows() {
        // Four-bin windows with 20 canary and 4 baseline events fire: q = 20.5 / 25. A bin with 1
        // and 1 scores ln(2q) + ln(2(1 - q)) < 0, one with 9 and 1 scores 9 ln(2q) +
        // ln(2(1 - q)) > 0: the increase is bins 3-4.
        let events = run(&[1, 1, 1, 9, 9, 1, 1, 1, 1, 1], vec![4], 20);
        let episodes = ended(&events);
        assert_eq!(episodes.len(), 1, "{events:?}");
        // Windows [1-4], [2-5] and [3-6] hold 20 canary events each.
        assert_eq!((episodes[0].windows_start_s, episodes[0].windows_stop_s), (10, 69));
        assert_eq!((episodes[0].start_s, episodes[0].stop_s), (30, 49));
    }

    #[test]
    fn the_last_bin_may_be_short_and_an_open_episode_ends_with_the_input() {
        let mut detector = Binned::new(FireAt { at_least: 3 }, &config(vec![1]));
        let mut events = Vec::new();
        detector.push_second(0, &[(0, 1)], &mut events);
        detector.push_second(10, &[(3, 0)], &mut events);
        detector.push_second(11, &[(0, 0)], &mut events);
        detector.push_second(12, &[(0, 0)], &mut events);
        detector.finish(&mut events);
        let episodes = ended(&events);
        assert_eq!(episodes.len(), 1);
        assert_eq!((episodes[0].windows_start_s, episodes[0].windows_stop_s), (10, 12));
    }

    #[test]
    fn batch_runs_feed_every_second_in_order() {
        let canary = [0u32, 0, 4, 0, 0];
        let baseline = [0u32, 1, 0, 0, 1];
        let mut config = config(vec![1]);
        config.bin_seconds = 1;
        let mut detector = Binned::new(FireAt { at_least: 4 }, &config);
        let episodes =
            run_batch(&mut detector, 100, &[SecondCounts { canary: &canary, baseline: &baseline }]);
        assert_eq!(episodes.len(), 1);
        assert_eq!((episodes[0].start_s, episodes[0].detected_at_s), (102, 102));
    }
}
