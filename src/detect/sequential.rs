//! `--rule sequential`: an anytime-valid change detector on the one-second counts.
//!
//! # The statistic
//! Given that an event of code `c` happened, which build it came from is a coin: the canary with
//! probability `theta`, which under the null "the canary's rate is at most the baseline's" is at
//! most the canary's traffic share `s` (Lindon & Malek 2022, "Anytime-valid inference for
//! multinomial count data"; Lindon, Sanden & Shirikian 2022, "Rapid regression detection in software
//! deployments through sequential testing"). For an alternative `theta_j > s`, one second with `C`
//! canary and `B` baseline events has the likelihood ratio
//! `L_j = (theta_j / s)^C ((1 - theta_j) / (1 - s))^B`, whose expectation is at most 1 under the
//! null (it is exactly 1 at `theta = s` and falls as `theta` falls).
//!
//! A regression can start at any second, so each code runs a Shiryaev-Roberts e-detector (Shin,
//! Ramdas & Rinaldo 2023, "E-detectors: a nonparametric framework for sequential change
//! detection") per alternative, `R_j(t) = (w(t) + R_j(t - 1)) L_j(t)`, mixed over a grid of
//! alternatives with equal weights: `R(t) = mean_j R_j(t)`. The alternatives are the rate ratios
//! `rho_j = threshold x 1.5^k` (k = 0..[`GRID_POINTS`]), `theta_j = rho_j s / (rho_j s + 1 - s)`, so
//! only increases of at least the threshold carry evidence.
//!
//! # The guarantee
//! The weights `w(t)` decide where a change may start and what each start costs. A third of the
//! budget goes to a start every second, a third to a start every minute (60 times the weight) and
//! a third to a start every ten minutes ([`STARTS`]): they add up to one per second. That is
//! divided by `M(t)`, the number of codes seen up to second `t`: each second's budget is shared by
//! the codes known by then, and a code first seen late starts with its share from that second on. Under the null `R(t) - sum_{u <= t} w(u)` is a supermartingale, so if an
//! alarm resets `R` to 0, the expected number of alarms of a code by second `T` is at most
//! `sum_{u <= T} w(u) / A` (Doob's maximal inequality with optional stopping). Summed over the codes,
//! the expected number of false alarms is at most `T / A`, as the weights of all codes add up to at
//! most `T` by second `T`. With `A = 3600 / alpha`:
//! **at most `alpha` expected false alarms per stream-hour, over all codes**, in batch and streaming
//! alike, valid at every moment (the test may be looked at every second).
//!
//! # Bursts
//! Client bursts make one second's (or one minute's) events one draw, not many. Each second's log
//! likelihood ratio is divided by the code's long-run dispersion `phi_t` from the seconds before
//! ([`super::dispersion`]): `L^(1 / phi_t)` with `phi_t >= 1` known in advance still has
//! expectation at most 1 for independent events (Jensen), and exactly 1 for a burst of `phi_t`
//! events that lands whole, so the guarantee above stands for independent events and holds
//! approximately for bursts up to `phi_t`. A burst is only known once it has happened, so an alarm
//! is also checked against the run behind it: its counts divided by the run's own local
//! dispersion, and its densest minute, when it holds more events than the code's rate explains,
//! divided by that minute's events (exact for a single burst), must still carry the evidence the
//! bound asks. A check can only remove alarms, so the guarantee stands; without bursts it passes
//! whenever the statistic crossed. No alarm is confirmed in the first
//! [`super::dispersion::WARM_UP_S`] seconds, before the estimate has seen anything. Quiet seconds
//! add start weight only up to [`HORIZON_S`] seconds' worth, so a code quiet for days does not
//! cross the bound on a handful of events.
//!
//! # Quiet seconds
//! A second without events of a code carries no evidence about it: its likelihood ratio is 1, its
//! CUSUMs stay, its counts stay; it only adds its start weight to the statistic (up to the
//! horizon's cap) and to the weight gathered since the last alarm. So a code's quiet stretch is
//! added in one step when its next event comes: the stretch's start weights summed (whole
//! periods counted per spacing, split where the number of codes seen changed), `R_j` grown by
//! them up to the cap as second by second. The rounding differs from adding second by second in
//! the last bits only. The one thing a quiet second can do is confirm an alarm whose checks
//! depend on time (the warm-up, the start weight gathered, the code's rate): that needs the rate
//! ratio since the strongest CUSUM's start at the threshold and the mixture, each statistic
//! grown to at most the cap, at the bound, and a code in that state is fed every second, quiet or
//! not, until it is no longer in it; every other code skips its quiet seconds.
//!
//! # Arithmetic
//! Each `R_j` is kept as a plain number, not as its logarithm: a second's update is then one
//! addition and one multiplication by `e^{llr_j}` per alternative, and the mixture a sum. So that
//! no value overflows whatever the evidence, a statistic past `2^512` carries a power of two of
//! its own ([`Statistics`]); below that it is the number itself. Small values need no such care:
//! one below `2^-53` times the start weight is lost in the next second's addition whether it is
//! kept or not.
//!
//! # Episodes
//! An alarm at second `t` counts only if the estimated rate ratio since the change reaches the
//! threshold. The change is located by a CUSUM per alternative (Page 1954): the strongest CUSUM's
//! last reset is the start of the increase; the episode stays open while that CUSUM stays above
//! zero and ends at its peak, the estimated end of the increase. The value is the rate ratio over
//! `[start, stop]`, with a confidence interval from the uniform-prior beta-binomial mixture
//! (Robbins 1970) at level `alpha`. As the start is chosen from the data, the interval describes
//! that span rather than a pre-declared one.

use statrs::function::beta::ln_beta;

use super::dispersion::{Dispersion, Local};
use super::{Detector, DispersionSummary, Episode, Event, Gate};

/// Seconds in the hour that the false-alarm budget is stated per.
pub const SECONDS_PER_HOUR: f64 = 3600.0;

/// Alternatives in the mixture: rate ratios from the threshold up by factors of 1.5, so the grid
/// spans threshold x 1 to threshold x 1.5^11 (about x86): enough for "x1.25" to "new code".
pub const GRID_POINTS: usize = 12;

/// The spacing of the grid of rate ratios.
pub const GRID_STEP: f64 = 1.5;

/// Where a change may start, and the share of the budget each spacing gets: `(every, share)`. A
/// start every second detects a sudden strong change within seconds; starts every minute and every
/// ten minutes carry 60 and 600 times the weight each, which buys 4.1 and 6.4 nats of evidence for
/// the slow, faint changes of rare codes, at the price of a few null seconds before the change.
/// The shares sum to 1, so the budget per second is unchanged.
pub const STARTS: [(u64, f64); 3] = [(1, 1.0 / 3.0), (60, 1.0 / 3.0), (600, 1.0 / 3.0)];

/// The most start weight quiet seconds give one code's statistic, in seconds of starts: an hour's
/// worth. A code quiet for days would otherwise gather days of start weight, so that a handful of
/// canary events could cross the bound; a quiet second adds no weight past this (evidence still
/// grows the statistic). Letting weight go only lowers the statistic, so the guarantee stands.
pub const HORIZON_S: u64 = 3600;

/// The sequential rule's parameters.
#[derive(Debug, Clone)]
pub struct Sequential {
    /// The rate ratio the estimate must reach, and the smallest alternative in the mixture.
    pub threshold: f64,
    /// Expected false alarms per stream-hour.
    pub alpha: f64,
}

/// One alternative of the mixture.
#[derive(Debug, Clone, Copy)]
struct Alternative {
    /// `ln(theta / s)`: the log likelihood ratio of one canary event.
    up: f64,
    /// `ln((1 - theta) / (1 - s))`: of one baseline event.
    down: f64,
}

/// An episode being built.
#[derive(Debug, Clone)]
struct Open {
    /// The alternative whose CUSUM located the change.
    alternative: usize,
    start_s: i64,
    detected_at_s: i64,
    last_alarm_s: i64,
    /// Cumulative (canary, baseline) events just before `start_s`.
    before_start: (u64, u64),
    peak: f64,
    peak_s: i64,
    /// Cumulative events up to and including `peak_s`.
    at_peak: (u64, u64),
    /// The largest dispersion used while the episode was open.
    dispersion: f64,
    /// The level of its first alarm's test ([`Episode::level`]).
    level: f64,
}

/// Where a CUSUM's run began: its first second, the cumulative (canary, baseline) events before
/// it, and the local dispersion's running sums then.
type RunStart = (i64, (u64, u64), (f64, f64));

/// The Shiryaev-Roberts statistics `R_j` of one code, one per alternative (the first `n` of
/// [`GRID_POINTS`] slots are used, `n` the alternatives of the grid): `R_j = value_j 2^scale_j`.
/// The scale is 0 (and `value_j` is `R_j`) until `R_j` reaches `2^`[`SCALE_STEP`]; then whole
/// steps of that power move from the value into the scale, and back when it falls, so a value
/// with a scale lies within `2^-SCALE_STEP` and `2^SCALE_STEP` and every product stays finite.
#[derive(Debug, Clone)]
struct Statistics {
    value: [f64; GRID_POINTS],
    scale: [i32; GRID_POINTS],
    /// Whether some `scale_j` is not 0: only then is the slower, general update needed.
    scaled: bool,
}

/// The power of two by which a statistic's value and its scale trade ([`Statistics`]).
const SCALE_STEP: i32 = 512;

/// The largest log likelihood ratio a second may have in the plain update: `e^LLR_MAX` times a
/// value below `2^SCALE_STEP` stays below `2^1023`, the largest power of two a float holds.
const LLR_MAX: f64 = 350.0;

/// `2^k`, exactly: 0 below the smallest float and infinite above the largest.
fn pow2(k: i32) -> f64 {
    if k > 1023 {
        f64::INFINITY
    } else if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else if k >= -1074 {
        f64::from_bits(1 << (k + 1074))
    } else {
        0.0
    }
}

/// `e^x` for `x <= 709`, to within two units in the last place (the library's is within one),
/// and 0 below `e^-708`, where the library's would be subnormal. In plain arithmetic, so that the
/// twelve of a second are computed side by side: `x = k ln 2 + r` with `|r| <= ln 2 / 2`, `e^r`
/// by its Taylor series to `r^13` (the rest is below 0.05 units in the last place), times `2^k`
/// built from its bits (Cody & Waite 1980, *Software Manual for the Elementary Functions*, ch. 6;
/// the split of `ln 2` is fdlibm's).
fn exp(x: f64) -> f64 {
    // Adding 1.5 x 2^52 rounds to an integer, which is then the low bits of the sum's mantissa.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    /// `1 / k!` for k = 13 down to 0.
    const TAYLOR: [f64; 14] = [
        1.605_904_383_682_161_3e-10,
        2.087_675_698_786_81e-9,
        2.505_210_838_544_172e-8,
        2.755_731_922_398_589e-7,
        2.755_731_922_398_589_3e-6,
        2.480_158_730_158_73e-5,
        1.984_126_984_126_984e-4,
        1.388_888_888_888_889e-3,
        8.333_333_333_333_333e-3,
        4.166_666_666_666_666_4e-2,
        1.666_666_666_666_666_6e-1,
        0.5,
        1.0,
        1.0,
    ];
    let rounded = x * std::f64::consts::LOG2_E + ROUND;
    let k = rounded - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let series = TAYLOR.iter().fold(0.0, |sum, &c| sum * r + c);
    let k_bits = rounded.to_bits().wrapping_sub(ROUND.to_bits());
    let power = f64::from_bits(k_bits.wrapping_add(1023) << 52);
    if x < -708.0 { 0.0 } else { series * power }
}

impl Statistics {
    const ZERO: Statistics =
        Statistics { value: [0.0; GRID_POINTS], scale: [0; GRID_POINTS], scaled: false };

    /// `R_j` as a float (infinite past the largest).
    fn get(&self, j: usize) -> f64 {
        if self.scaled { self.value[j] * pow2(self.scale[j]) } else { self.value[j] }
    }

    /// `ln R_j`.
    #[cfg(test)]
    fn ln(&self, j: usize) -> f64 {
        self.value[j].ln() + f64::from(self.scale[j]) * std::f64::consts::LN_2
    }

    /// The mixture `mean_j R_j` over the first `n`.
    fn mean(&self, n: usize) -> f64 {
        (0..n).map(|j| self.get(j)).sum::<f64>() / n as f64
    }

    /// The largest `R_j` of the first `n`.
    fn largest(&self, n: usize) -> f64 {
        (0..n).map(|j| self.get(j)).fold(f64::NEG_INFINITY, f64::max)
    }

    /// One second's update of the first `n` statistics: each grows by the start `weight`, then,
    /// on a second with events, is multiplied by `e^{llr_j}`; on a quiet one (`llr` all 0) it
    /// grows only up to `cap` (and stays where it is if it was past it).
    fn update(&mut self, n: usize, weight: f64, cap: f64, quiet: bool, llr: &[f64; GRID_POINTS]) {
        if self.scaled || llr[..n].iter().any(|&x| x > LLR_MAX) {
            return self.update_scaled(n, weight, cap, quiet, llr);
        }
        let values = &mut self.value[..n];
        if quiet {
            for value in values.iter_mut() {
                let grown = weight + *value;
                *value = if grown > cap { value.max(cap) } else { grown };
            }
        } else {
            for (value, &x) in values.iter_mut().zip(llr) {
                *value = (weight + *value) * exp(x);
            }
        }
        if values.iter().any(|&value| value >= pow2(SCALE_STEP)) {
            self.rescale(n);
        }
    }

    /// [`Statistics::update`] when a scale is or may become needed.
    fn update_scaled(
        &mut self,
        n: usize,
        weight: f64,
        cap: f64,
        quiet: bool,
        llr: &[f64; GRID_POINTS],
    ) {
        let step = f64::from(SCALE_STEP) * std::f64::consts::LN_2;
        for (j, &llr) in llr.iter().enumerate().take(n) {
            let unit = pow2(-self.scale[j]);
            let grown = weight * unit + self.value[j];
            if quiet {
                let cap = cap * unit;
                self.value[j] = if grown > cap { self.value[j].max(cap) } else { grown };
                continue;
            }
            // Whole steps of the factor go into the scale (or come out of it), so that the rest
            // is finite and no value with a scale falls below the floats.
            let mut x = llr;
            while x > LLR_MAX {
                x -= step;
                self.scale[j] += SCALE_STEP;
            }
            while x < -LLR_MAX && self.scale[j] > 0 {
                x += step;
                self.scale[j] -= SCALE_STEP;
            }
            self.value[j] = grown * exp(x);
        }
        self.rescale(n);
    }

    /// Moves whole steps between each value and its scale until the value is below
    /// `2^SCALE_STEP` and, with a scale, at least `2^-SCALE_STEP`.
    fn rescale(&mut self, n: usize) {
        for j in 0..n {
            let (value, scale) = (&mut self.value[j], &mut self.scale[j]);
            while *value >= pow2(SCALE_STEP) {
                *value *= pow2(-SCALE_STEP);
                *scale += SCALE_STEP;
            }
            if *value == 0.0 {
                *scale = 0;
            }
            while *scale > 0 && *value < pow2(-SCALE_STEP) {
                *value *= pow2(SCALE_STEP);
                *scale -= SCALE_STEP;
            }
        }
        self.scaled = self.scale[..n].iter().any(|&scale| scale != 0);
    }

    /// Grows the first `n` statistics by the start weight of a stretch of quiet seconds,
    /// `weight`, each at most to `cap` (staying where it is if it was past it).
    fn grow(&mut self, n: usize, weight: f64, cap: f64) {
        if self.scaled {
            for j in 0..n {
                let unit = pow2(-self.scale[j]);
                let (weight, cap) = (weight * unit, cap * unit);
                let grown = weight + self.value[j];
                self.value[j] = if grown > cap { self.value[j].max(cap) } else { grown };
            }
            return;
        }
        for value in &mut self.value[..n] {
            let grown = weight + *value;
            *value = if grown > cap { value.max(cap) } else { grown };
        }
    }
}

/// The detector state of one code.
#[derive(Debug, Clone)]
struct CodeState {
    seen: bool,
    /// `R_j`.
    statistics: Statistics,
    /// CUSUM statistic per alternative (the first `n` of [`GRID_POINTS`], as in
    /// [`Statistics`]). Held in the state itself, as the statistics are, so that a second's
    /// update of a code reads one stretch of memory rather than several.
    cusum: [f64; GRID_POINTS],
    /// First second of each CUSUM's current run, and the cumulative events before it.
    /// (Also the local dispersion's running sums then, to measure it over the run.)
    cusum_start: [RunStart; GRID_POINTS],
    /// The start weight added since the last alarm.
    added: f64,
    /// `(second, canary, baseline)` of the seconds with events in the last
    /// [`super::dispersion::LOCAL_MIN_WINDOW_S`] seconds, where the surge check looks.
    recent: std::collections::VecDeque<(i64, u64, u64)>,
    /// The second of `recent`'s oldest entry ([`i64::MAX`] when it is empty): whether one is
    /// due to leave is known without reading the queue.
    recent_oldest: i64,
    /// Cumulative (canary, baseline) events so far.
    total: (u64, u64),
    open: Option<Open>,
    /// The last second whose update this state has had.
    fed_to: i64,
}

/// The streaming state of the sequential rule over all codes: feed it one second at a time.
#[derive(Debug, Clone)]
pub struct SequentialDetector {
    threshold: f64,
    alpha: f64,
    share: f64,
    ln_bound: f64,
    /// `e^(ln_bound - 1e-3 - 1e-6)`: a statistic below it is far from the bound
    /// ([`SequentialDetector::may_alarm_while_quiet`]) without taking its logarithm.
    quiet_far_below: f64,
    alternatives: Vec<Alternative>,
    codes: Vec<CodeState>,
    codes_seen: usize,
    /// `(second, codes seen)` from each second at which the number of codes seen changed.
    seen_from: Vec<(i64, usize)>,
    /// The start weight of each whole stretch of `seen_from` but the last, shared by the codes
    /// seen in it: what a code quiet over the whole stretch gains.
    stretch_weight: Vec<f64>,
    /// The codes whose statistic could alarm on a second without their events (fed every
    /// second while so); every other code skips its quiet seconds in closed form.
    hot: std::collections::BTreeSet<usize>,
    /// The codes a second feeds, kept to be reused from second to second.
    todo: Vec<(usize, (u64, u64))>,
    /// The first second fed, from which the start spacings count, and the last.
    origin: Option<i64>,
    last_second: Option<i64>,
    finished: bool,
    /// The baseline's long-run dispersion per code.
    dispersion: Dispersion,
    /// Both builds' recent local dispersion per code.
    local: Local,
    /// Recounts each new episode's first alarm by clients ([`super::Recount`]).
    recount: super::Recounter,
    /// Treat events as independent (dispersion 1): for the tests of the recursion itself.
    #[cfg(test)]
    independent: bool,
}

impl SequentialDetector {
    /// A detector with the canary serving `share` of the traffic.
    pub fn new(rule: &Sequential, share: f64) -> SequentialDetector {
        let alternatives = (0..GRID_POINTS)
            .map(|k| {
                let rho = rule.threshold * GRID_STEP.powi(k as i32);
                let theta = rho * share / (rho * share + 1.0 - share);
                Alternative { up: (theta / share).ln(), down: ((1.0 - theta) / (1.0 - share)).ln() }
            })
            .collect::<Vec<_>>();
        SequentialDetector {
            threshold: rule.threshold,
            alpha: rule.alpha,
            share,
            ln_bound: (SECONDS_PER_HOUR / rule.alpha).ln(),
            quiet_far_below: ((SECONDS_PER_HOUR / rule.alpha).ln() - 1e-3 - 1e-6).exp(),
            alternatives,
            codes: Vec::new(),
            codes_seen: 0,
            seen_from: Vec::new(),
            stretch_weight: Vec::new(),
            hot: std::collections::BTreeSet::new(),
            todo: Vec::new(),
            origin: None,
            last_second: None,
            finished: false,
            dispersion: Dispersion::new(0),
            local: Local::new(0),
            recount: super::Recounter::default(),
            #[cfg(test)]
            independent: false,
        }
    }

    /// The alarm bound `A` on the mixture statistic.
    pub fn bound(&self) -> f64 {
        SECONDS_PER_HOUR / self.alpha
    }

    fn new_code_state(&self) -> CodeState {
        CodeState {
            seen: false,
            statistics: Statistics::ZERO,
            cusum: [0.0; GRID_POINTS],
            cusum_start: [(0, (0, 0), (0.0, 0.0)); GRID_POINTS],
            added: 0.0,
            recent: std::collections::VecDeque::new(),
            recent_oldest: i64::MAX,
            total: (0, 0),
            open: None,
            fed_to: i64::MIN,
        }
    }

    fn episode(&self, code: usize, open: &Open, at: (u64, u64), stop_s: i64) -> Episode {
        let canary_count = at.0 - open.before_start.0;
        let baseline_count = at.1 - open.before_start.1;
        Episode {
            code,
            start_s: open.start_s,
            stop_s: stop_s.max(open.start_s),
            windows_start_s: open.start_s,
            windows_stop_s: open.last_alarm_s,
            detected_at_s: open.detected_at_s,
            window_bins: None,
            value: ratio(canary_count, baseline_count, self.share),
            canary_count,
            baseline_count,
            p_value: None,
            level: Some(open.level),
            ratio_interval: Some(ratio_interval(
                canary_count,
                baseline_count,
                self.share,
                self.alpha,
            )),
            dispersion: open.dispersion,
        }
    }
}

impl SequentialDetector {
    /// The statistic of `code` at `second`, with `c` canary and `b` baseline events: the rule's
    /// recursion, alarm checks and episode bookkeeping for one second of one code seen so far.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        code: usize,
        second: i64,
        (c, b): (u64, u64),
        origin: i64,
        weight: f64,
        cap: f64,
        events: &mut Vec<Event>,
    ) {
        let threshold = self.threshold;
        let share = self.share;
        let state = &mut self.codes[code];
        state.fed_to = second;
        // The long-run dispersion from the seconds before this one, and the recent local one
        // with this second's total: neither depends on how this second's events split
        // between the builds. Then this second's baseline events join the long-run estimate.
        #[cfg(test)]
        let quiet_or_independent = c + b == 0 || self.independent;
        #[cfg(not(test))]
        let quiet_or_independent = c + b == 0;
        let dispersion = if !quiet_or_independent {
            self.local.add(code, second, c, b);
            self.dispersion.phi(code, second)
        } else {
            1.0
        };
        self.dispersion.add(code, second, b);
        let before = state.total;
        state.total = (before.0 + c, before.1 + b);
        state.added += weight;
        if c + b > 0 {
            state.recent.push_back((second, c, b));
            state.recent_oldest = state.recent_oldest.min(second);
        }
        let keep = super::dispersion::LOCAL_MIN_WINDOW_S as i64;
        if state.recent_oldest <= second - keep {
            while state.recent.front().is_some_and(|&(t, _, _)| t <= second - keep) {
                state.recent.pop_front();
            }
            state.recent_oldest = state.recent.front().map_or(i64::MAX, |&(t, _, _)| t);
        }
        let n = self.alternatives.len();
        let mut llr = [0.0; GRID_POINTS];
        for (llr, alt) in llr.iter_mut().zip(&self.alternatives) {
            *llr = c as f64 * alt.up + b as f64 * alt.down;
        }
        // Dividing by 1 changes nothing, and most seconds of a calm stream are at 1.
        if dispersion != 1.0 {
            for llr in &mut llr {
                *llr /= dispersion;
            }
        }
        // A quiet second adds start weight only up to the horizon's worth.
        state.statistics.update(n, weight, cap, c + b == 0, &llr);
        let mut local_before = None;
        for (j, &llr) in llr[..n].iter().enumerate() {
            if state.cusum[j] <= 0.0 {
                let local =
                    *local_before.get_or_insert_with(|| self.local.cumulative(code, second));
                state.cusum_start[j] = (second, before, local);
                state.cusum[j] = 0.0;
            }
            state.cusum[j] = (state.cusum[j] + llr).max(0.0);
        }
        // Follow an open episode's CUSUM: a new peak moves the estimated end; a return to
        // zero closes the episode.
        if let Some(open) = &mut state.open {
            open.dispersion = open.dispersion.max(dispersion);
            let w = state.cusum[open.alternative];
            if w > open.peak {
                open.peak = w;
                open.peak_s = second;
                open.at_peak = state.total;
            }
            if w <= 0.0 {
                let open = state.open.take().expect("checked above");
                let episode = self.episode(code, &open, open.at_peak, open.peak_s);
                events.push(Event::Ended(episode));
            }
        }
        let bound = self.bound();
        let state = &mut self.codes[code];
        if state.statistics.mean(n) < bound {
            return;
        }
        // The strongest CUSUM locates the change; the rate ratio since then must reach the
        // threshold.
        let alternative = (0..n)
            .max_by(|&x, &y| state.cusum[x].total_cmp(&state.cusum[y]))
            .expect("the grid is not empty");
        let (start_s, before_start, local_at_start) = state.cusum_start[alternative];
        let (span_c, span_b) = (state.total.0 - before_start.0, state.total.1 - before_start.1);
        if ratio(span_c, span_b, share) < threshold {
            return;
        }
        // Warm-up: until the long-run dispersion has its first stretch of 3 tau seconds,
        // nothing tells a burst from a regression, so no alarm is confirmed.
        if second - origin < super::dispersion::WARM_UP_S {
            return;
        }
        // Bursts inside the run that the per-second dispersion had not seen yet (a burst is
        // only known once it has happened). Two checks, each of which can only remove an
        // alarm, so the guarantee stands:
        // - the run's counts divided by the dispersion measured over the run itself;
        // - a surge, the densest `SURGE_S` seconds of the run's last few minutes when they hold
        //   more events than the code's rate explains, counts as if it could be one client's
        //   burst: its evidence is divided by its number of events, which is exactly valid
        //   for a single burst that lands whole.
        // The evidence must still reach the bound given the start weight gathered. Without
        // bursts or surges this holds whenever the statistic crossed (`R <= W e^(max
        // CUSUM)`), so it costs nothing on independent events at a steady rate; a strong
        // regression's first minute is a surge, so its alarm waits for evidence beyond it.
        // On a stream known to be calm neither check applies: there the run's clumps and its
        // surge are the regression's onset ([`super::dispersion::Dispersion::is_calm`]).
        let calm = self.dispersion.is_calm();
        let (squares, mass) = self.local.cumulative(code, second + 1);
        let over_run =
            super::dispersion::ratio(squares - local_at_start.0, mass - local_at_start.1);
        let rate = self.dispersion.rate(code, second);
        let over_run = if calm {
            dispersion
        } else {
            dispersion.max(super::dispersion::local_used(over_run, rate, self.dispersion.pool()))
        };
        // The block covers at most the run's seconds: a run a second old whose one second
        // holds a minute's worth of events is a surge.
        let covered = (second - start_s + 1).clamp(1, super::dispersion::SURGE_S);
        let expected = super::dispersion::both_builds(rate, self.share) * covered as f64;
        let (block_c, block_b) = super::dispersion::densest(&state.recent, start_s, second + 1);
        let block = (block_c + block_b) as f64;
        let surge = super::dispersion::is_surge(block_c + block_b, expected);
        {
            // As with any local estimate, a busy code on a stream without bursts leans on the
            // long run: there a surge is a regression's onset.
            let block_phi = if surge && !calm {
                over_run.max(super::dispersion::local_used(block, rate, self.dispersion.pool()))
            } else {
                over_run
            };
            let evidence = self
                .alternatives
                .iter()
                .map(|alt| {
                    let rest =
                        (span_c - block_c) as f64 * alt.up + (span_b - block_b) as f64 * alt.down;
                    let last = block_c as f64 * alt.up + block_b as f64 * alt.down;
                    rest / over_run + last / block_phi
                })
                .fold(f64::NEG_INFINITY, f64::max);
            if evidence < self.ln_bound - state.added.ln() {
                return;
            }
        }
        // The level of the test: the run's likelihood ratio had to reach `A / W`.
        let level = (state.added / bound).min(1.0);
        state.statistics = Statistics::ZERO;
        state.added = 0.0;
        if let Some(open) = &mut state.open {
            open.last_alarm_s = second;
            return;
        }
        let open = Open {
            alternative,
            start_s,
            detected_at_s: second,
            last_alarm_s: second,
            before_start,
            peak: state.cusum[alternative],
            peak_s: second,
            at_peak: state.total,
            dispersion,
            level,
        };
        let total = state.total;
        let episode = self.episode(code, &open, total, second);
        // An alarm whose clients, recounted, are no evidence is as if it had not been raised;
        // its statistic starts again from nothing, as after any alarm.
        if self.recount.stands(&episode) {
            self.codes[code].open = Some(open);
            events.push(Event::Started(episode));
        }
    }
}

impl SequentialDetector {
    /// Marks the codes with events at `second` as seen, making room for their ids.
    fn see(&mut self, second: i64, counts: impl Iterator<Item = (usize, u64, u64)>) {
        for (code, c, b) in counts {
            while self.codes.len() <= code {
                let state = self.new_code_state();
                self.codes.push(state);
            }
            let state = &mut self.codes[code];
            if (c > 0 || b > 0) && !state.seen {
                state.seen = true;
                state.fed_to = second - 1;
                self.codes_seen += 1;
            }
        }
        if self.codes_seen > 0 && self.seen_from.last().is_none_or(|&(_, m)| m != self.codes_seen) {
            // The stretch before ends here; there was one only once the stream had begun.
            if let (Some(&(start, seen)), Some(origin)) = (self.seen_from.last(), self.origin) {
                let weight = start_weight(start - origin + 1, second - 1 - origin + 1);
                self.stretch_weight.push(weight / seen as f64);
            }
            self.seen_from.push((second, self.codes_seen));
        }
    }

    /// The start weight of second `second` (shared by the codes seen) and the most start weight
    /// a statistic may hold then.
    fn weights(&self, second: i64, origin: i64) -> (f64, f64) {
        // Starts every `every` seconds fall on the last second of each period, so that the
        // weights added up to any second never exceed one per second.
        let elapsed = (second - origin) as u64 + 1;
        let weight: f64 = STARTS
            .iter()
            .filter(|&&(every, _)| elapsed.is_multiple_of(every))
            .map(|&(every, share)| every as f64 * share)
            .sum();
        let seen = self.codes_seen as f64;
        (weight / seen, HORIZON_S as f64 / seen)
    }

    /// Brings `code` to the second before `second` over seconds without its events, in closed
    /// form (see the module docs): a quiet second multiplies by no likelihood ratio, leaves the
    /// CUSUMs and the counts as they are, and adds its start weight to the statistic (up to the
    /// horizon's cap) and to the weight gathered since the last alarm; so a stretch adds the sum
    /// of its weights, split where the number of codes seen changed. The code must be one whose
    /// statistic cannot alarm over the stretch ([`SequentialDetector::may_alarm_while_quiet`]).
    fn catch_up(&mut self, code: usize, second: i64) {
        let (from, to) = (self.codes[code].fed_to + 1, second - 1);
        let Some(origin) = self.origin.filter(|_| from <= to) else {
            return;
        };
        // Most stretches lie within the last count of codes seen: no search then.
        let mut segment = match self.seen_from.last() {
            Some(&(start, _)) if start <= from => self.seen_from.len() - 1,
            _ => self.seen_from.partition_point(|&(s, _)| s <= from).max(1) - 1,
        };
        let mut at = from;
        let n = self.alternatives.len();
        while at <= to {
            let (start, seen) = self.seen_from[segment];
            let next = self.seen_from.get(segment + 1).map(|&(s, _)| s);
            let end = next.map_or(to, |s| (s - 1).min(to));
            let weight = if at == start && next == Some(end + 1) {
                self.stretch_weight[segment]
            } else {
                start_weight(at - origin + 1, end - origin + 1) / seen as f64
            };
            let cap = HORIZON_S as f64 / seen as f64;
            let state = &mut self.codes[code];
            state.statistics.grow(n, weight, cap);
            state.added += weight;
            at = end + 1;
            segment += 1;
        }
        self.codes[code].fed_to = to;
    }

    /// Whether the statistic of `code` could alarm on a second without its events before its
    /// next event: only if the rate ratio since the strongest CUSUM's start reaches the threshold
    /// (quiet seconds change neither) and the mixture, each statistic grown at most to the cap on
    /// start weight, reaches the bound. Such a code is fed every second until it no longer could.
    fn may_alarm_while_quiet(&self, code: usize) -> bool {
        let state = &self.codes[code];
        let cap = HORIZON_S as f64 / self.codes_seen.max(1) as f64;
        let n = self.alternatives.len();
        // The mixture is at most its largest term: far below the bound, no need to sum (nor to
        // look for the change).
        let largest = state.statistics.largest(n).max(cap);
        if largest < self.quiet_far_below || largest.ln() < self.ln_bound - 1e-3 {
            return false;
        }
        let alternative = (0..self.alternatives.len())
            .max_by(|&x, &y| state.cusum[x].total_cmp(&state.cusum[y]))
            .expect("the grid is not empty");
        // A CUSUM at zero restarts at the quiet second itself, with no events since.
        let (span_c, span_b) = if state.cusum[alternative] > 0.0 {
            let (_, before, _) = state.cusum_start[alternative];
            (state.total.0 - before.0, state.total.1 - before.1)
        } else {
            (0, 0)
        };
        if ratio(span_c, span_b, self.share) < self.threshold {
            return false;
        }
        let grown = (0..n).map(|j| state.statistics.get(j).max(cap)).sum::<f64>() / n as f64;
        // A margin far above rounding, so that only codes far from the bound are skipped.
        grown.ln() >= self.ln_bound - 1e-6
    }

    fn update_hot(&mut self, code: usize) {
        if self.may_alarm_while_quiet(code) {
            self.hot.insert(code);
        } else {
            self.hot.remove(&code);
        }
    }
}

impl SequentialDetector {
    /// Makes `second` the last one fed and returns the stream's first second, starting the
    /// dispersion estimates at the first.
    fn enter(&mut self, second: i64) -> i64 {
        self.last_second = Some(second);
        *self.origin.get_or_insert_with(|| {
            self.dispersion = self.dispersion.restarted(second);
            self.local = Local::new(second);
            second
        })
    }
}

impl Detector for SequentialDetector {
    fn push_second(&mut self, second: i64, counts: &[(u64, u64)], events: &mut Vec<Event>) {
        self.see(second, counts.iter().enumerate().map(|(code, &(c, b))| (code, c, b)));
        if self.codes_seen == 0 {
            return;
        }
        let origin = self.enter(second);
        let (weight, cap) = self.weights(second, origin);
        for (code, &counts) in counts.iter().enumerate() {
            if self.codes[code].seen {
                self.catch_up(code, second);
                self.step(code, second, counts, origin, weight, cap, events);
            }
        }
    }

    fn push_events(&mut self, second: i64, counts: &[(usize, u64, u64)], events: &mut Vec<Event>) {
        // The quiet seconds since the last one fed, for the codes that could alarm on them.
        if let (Some(last), Some(origin)) = (self.last_second, self.origin) {
            let mut quiet = last + 1;
            while quiet < second && !self.hot.is_empty() {
                let (weight, cap) = self.weights(quiet, origin);
                let hot: Vec<usize> = self.hot.iter().copied().collect();
                for code in hot {
                    self.step(code, quiet, (0, 0), origin, weight, cap, events);
                    self.update_hot(code);
                }
                quiet += 1;
            }
        }
        self.see(second, counts.iter().copied());
        if self.codes_seen == 0 {
            return;
        }
        let origin = self.enter(second);
        let (weight, cap) = self.weights(second, origin);
        // The codes with events and the hot ones, in code order as a dense feed would take them
        // (`counts` is in code order already).
        let mut todo = std::mem::take(&mut self.todo);
        todo.clear();
        todo.extend(
            counts
                .iter()
                .filter(|&&(code, _, _)| self.codes[code].seen)
                .map(|&(code, c, b)| (code, (c, b))),
        );
        let with_events = todo.len();
        for &code in &self.hot {
            if counts.binary_search_by_key(&code, |&(c, _, _)| c).is_err() {
                todo.push((code, (0, 0)));
            }
        }
        if todo.len() > with_events {
            todo.sort_unstable_by_key(|&(code, _)| code);
        }
        for &(code, counts) in &todo {
            self.catch_up(code, second);
            self.step(code, second, counts, origin, weight, cap, events);
            self.update_hot(code);
        }
        self.todo = todo;
    }

    fn reserve_codes(&mut self, codes: usize) {
        self.codes.reserve_exact(codes.saturating_sub(self.codes.len()));
    }

    fn counting_clients(&mut self, slot_seconds: u64) {
        self.dispersion.counting_clients(slot_seconds);
    }

    fn recount_clients(&mut self, recount: std::rc::Rc<dyn super::Recount>) {
        self.recount = super::Recounter(Some(recount));
    }

    fn finish(&mut self, events: &mut Vec<Event>) {
        if self.finished {
            return;
        }
        self.finished = true;
        for code in 0..self.codes.len() {
            if let Some(open) = self.codes[code].open.take() {
                events.push(Event::Ended(self.episode(code, &open, open.at_peak, open.peak_s)));
            }
        }
    }

    fn gate(&self) -> Option<Gate> {
        Some(Gate::Sequential {
            alpha: self.alpha,
            bound: self.bound(),
            alternatives: self.alternatives.len(),
        })
    }

    fn dispersion(&mut self) -> Option<DispersionSummary> {
        let at = self.last_second? + 1;
        Some(DispersionSummary::of(&mut self.dispersion, at))
    }
}

/// The traffic-normalized rate ratio; infinite without baseline events.
pub fn ratio(canary: u64, baseline: u64, share: f64) -> f64 {
    if baseline == 0 {
        if canary == 0 { 0.0 } else { f64::INFINITY }
    } else {
        (canary as f64 / share) / (baseline as f64 / (1.0 - share))
    }
}

/// The start weight of the seconds whose elapsed seconds since the stream's start (counting the
/// first as 1) run from `first` to `last`: the sum of the weights [`STARTS`] gives each second.
fn start_weight(first: i64, last: i64) -> f64 {
    STARTS
        .iter()
        .map(|&(every, share)| {
            let every_i = every as i64;
            let starts = last.div_euclid(every_i) - (first - 1).div_euclid(every_i);
            starts as f64 * every as f64 * share
        })
        .sum()
}

/// A confidence interval for the traffic-normalized rate ratio from `canary` and `baseline`
/// events: the `theta` for which the uniform-prior beta-binomial mixture against `theta` stays
/// below `1 / alpha` (Robbins 1970), mapped to ratios.
pub fn ratio_interval(canary: u64, baseline: u64, share: f64, alpha: f64) -> (f64, f64) {
    let (c, b) = (canary as f64, baseline as f64);
    // theta is inside when c ln theta + b ln(1 - theta) > ln Beta(c + 1, b + 1) + ln alpha.
    let floor = ln_beta(c + 1.0, b + 1.0) + alpha.ln();
    let loglik = |theta: f64| c * theta.ln() + b * (1.0 - theta).ln();
    let peak = c / (c + b).max(1.0);
    let solve = |mut outside: f64, mut inside: f64| {
        for _ in 0..200 {
            let mid = 0.5 * (outside + inside);
            if loglik(mid) > floor { inside = mid } else { outside = mid }
        }
        inside
    };
    let lo = if canary == 0 { 0.0 } else { solve(0.0, peak) };
    let hi = if baseline == 0 { 1.0 } else { solve(1.0, peak) };
    let to_ratio = |theta: f64| {
        if theta >= 1.0 { f64::INFINITY } else { theta * (1.0 - share) / (share * (1.0 - theta)) }
    };
    (to_ratio(lo), to_ratio(hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Draws;
    use crate::detect::ended;

    #[test]
    fn the_statistic_follows_the_shiryaev_roberts_recursion() {
        // One alternative at ratio 3, s = 1/2: theta = 3/4, a canary event multiplies by 1.5, a
        // baseline event by 0.5. One code; in the first seconds only the every-second start adds
        // weight, w = 1/3: R1 = (1/3) 1.5^2 = 0.75, R2 = (1/3 + 0.75) 0.5 = 0.541666...,
        // R3 = (1/3 + 0.541666...) 1.5 = 1.3125.
        let rule = Sequential { threshold: 3.0, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        d.alternatives.truncate(1);
        d.independent = true;
        for ((second, counts), expected) in [(0, (2, 0)), (1, (0, 1)), (2, (1, 0))]
            .into_iter()
            .zip([0.75, 0.541_666_666_666_666_6, 1.3125])
        {
            d.push_second(second, &[counts], &mut events);
            assert!((d.codes[0].statistics.get(0) - expected).abs() < 1e-12);
        }
        // The CUSUM: 2 ln 1.5 = 0.811, then + ln 0.5 = 0.118, then + ln 1.5 = 0.523.
        assert!((d.codes[0].cusum[0] - (2.25f64 * 0.5 * 1.5).ln()).abs() < 1e-12);
    }

    #[test]
    fn the_weight_is_shared_by_the_codes_seen_so_far() {
        let rule = Sequential { threshold: 3.0, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        d.alternatives.truncate(1);
        d.independent = true;
        d.push_second(0, &[(1, 0), (0, 0)], &mut events);
        // Only code 0 is known: w = 1/3, R = 1/3 x 1.5 = 0.5.
        assert!((d.codes[0].statistics.get(0) - 0.5).abs() < 1e-12);
        d.push_second(1, &[(0, 0), (1, 0)], &mut events);
        // Two codes known: w = 1/6. Code 0: (1/6 + 0.5) x 1; code 1: (1/6 + 0) x 1.5 = 0.25.
        assert!((d.codes[0].statistics.get(0) - (1.0 / 6.0 + 0.5)).abs() < 1e-12);
        assert!((d.codes[1].statistics.get(0) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn starts_every_minute_and_ten_minutes_add_their_weight_at_the_end_of_each_period() {
        let rule = Sequential { threshold: 3.0, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        d.alternatives.truncate(1);
        d.independent = true;
        // Second 0: one event from each build, L = 1.5 x 0.5 = 0.75: R = 1/3 x 0.75 = 0.25. Then
        // quiet seconds (L = 1) add 1/3 each, and the 60th second adds 60 x 1/3 = 20 more.
        d.push_second(0, &[(1, 1)], &mut events);
        for second in 1..59 {
            d.push_second(second, &[(0, 0)], &mut events);
        }
        let before = 0.25 + 58.0 / 3.0;
        assert!((d.codes[0].statistics.get(0) - before).abs() < 1e-9);
        d.push_second(59, &[(0, 0)], &mut events);
        assert!((d.codes[0].statistics.get(0) - (before + 1.0 / 3.0 + 20.0)).abs() < 1e-9);
        // By second 600 the weights add up to 600 x 1/3 + 10 x 20 + 200 = 600: one per second.
        for second in 60..600 {
            d.push_second(second, &[(0, 0)], &mut events);
        }
        assert!((d.codes[0].statistics.get(0) - (600.0 - 1.0 / 3.0 + 0.25)).abs() < 1e-9);
    }

    #[test]
    fn a_code_quiet_for_two_days_does_not_alarm_on_a_handful_of_events() {
        // One event per build at the start, two quiet days, then three canary events in one
        // second. Without the horizon the statistic would hold two days of start weight, 172800,
        // and three events at the strongest alternative (ratio 1.25 x 1.5^11, a canary event
        // worth theta / s = 1.977) would multiply it by 7.7, past the bound of 72000. With it,
        // an hour's worth: 3600 x 7.7 = 27800 stays below.
        let rule = Sequential { threshold: 1.25, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        d.push_second(0, &[(1, 1)], &mut events);
        for second in 1..172_800 {
            d.push_second(second, &[(0, 0)], &mut events);
        }
        let held = d.codes[0].statistics.mean(d.alternatives.len()).ln();
        assert!(held <= (HORIZON_S as f64).ln() + 1e-9, "{}", held.exp());
        d.push_second(172_800, &[(3, 0)], &mut events);
        d.finish(&mut events);
        assert!(ended(&events).is_empty(), "{events:?}");
    }

    #[test]
    fn statistics_far_past_a_floats_range_follow_the_recursion_in_logs() {
        // Warm-up seconds (no alarm is confirmed) with thousands of canary events carry the
        // statistics to e^5000 and more; then baseline events bring them back. The values must
        // follow ln R = ln(w + R) + llr, computed here in logs, on the way up and down.
        let rule = Sequential { threshold: 1.25, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        d.independent = true;
        let n = d.alternatives.len();
        let mut expected = vec![f64::NEG_INFINITY; n];
        let log_add = |a: f64, b: f64| {
            let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
            if lo == f64::NEG_INFINITY { hi } else { hi + (lo - hi).exp().ln_1p() }
        };
        let counts = [(3000, 0), (8000, 10), (0, 900), (1, 4000), (0, 3000), (2, 1), (0, 5)];
        let mut largest = f64::NEG_INFINITY;
        for (second, &(c, b)) in counts.iter().cycle().take(40).enumerate() {
            d.push_second(second as i64, &[(c, b)], &mut events);
            let ln_weight = (1.0f64 / 3.0).ln();
            for (j, alt) in d.alternatives.iter().enumerate() {
                let llr = c as f64 * alt.up + b as f64 * alt.down;
                expected[j] = log_add(ln_weight, expected[j]) + llr;
                let ours = d.codes[0].statistics.ln(j);
                // Values below the start weight by e^-40 are lost in the next addition.
                if expected[j] > ln_weight - 40.0 {
                    let tolerance = 1e-12 * expected[j].abs().max(1.0);
                    assert!((ours - expected[j]).abs() < tolerance, "{second} {j}: {ours}");
                }
                largest = largest.max(expected[j]);
            }
        }
        assert!(largest > 5000.0, "{largest}");
        assert!(d.codes[0].statistics.mean(n).is_infinite());
        assert!(ended(&events).is_empty() && events.is_empty());
    }

    #[test]
    fn the_exponential_is_the_librarys_to_two_units_in_the_last_place() {
        let mut draws = Draws(9);
        for _ in 0..200_000 {
            let x = -708.0 + 1058.0 * draws.uniform();
            let (ours, library) = (exp(x), x.exp());
            let ulps = (ours.to_bits() as i64 - library.to_bits() as i64).abs();
            assert!(ulps <= 2, "e^{x}: {ours} against {library}");
        }
        for x in [0.0, 1.0, -1.0, 350.0, -707.9, 1e-300, -1e-300] {
            let ulps = (exp(x).to_bits() as i64 - x.exp().to_bits() as i64).abs();
            assert!(ulps <= 2, "e^{x}");
        }
        assert_eq!(exp(-708.5), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn the_bound_is_an_hour_of_seconds_over_alpha() {
        let d = SequentialDetector::new(&Sequential { threshold: 1.25, alpha: 0.05 }, 0.5);
        assert!((d.bound() - 72_000.0).abs() < 1e-6);
    }

    #[test]
    fn a_strong_increase_alarms_and_the_episode_spans_it() {
        // One code: one event per build per second for 600 s, then five canary events a second
        // for 120 s, then back.
        let rule = Sequential { threshold: 1.25, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        for t in 0..1200 {
            let c = if (600..720).contains(&t) { 5 } else { 1 };
            d.push_second(t, &[(c, 1)], &mut events);
        }
        d.finish(&mut events);
        let episodes = ended(&events);
        assert_eq!(episodes.len(), 1, "{episodes:?}");
        let e = &episodes[0];
        assert!((600..=602).contains(&e.start_s), "{e:?}");
        assert!((600..630).contains(&e.detected_at_s), "{e:?}");
        assert!((715..=722).contains(&e.stop_s), "{e:?}");
    }

    #[test]
    fn no_alarm_without_an_increase() {
        let rule = Sequential { threshold: 1.25, alpha: 0.05 };
        let mut events = Vec::new();
        let mut d = SequentialDetector::new(&rule, 0.5);
        for t in 0..3600 {
            d.push_second(t, &[(3, 3), (0, 5)], &mut events);
        }
        d.finish(&mut events);
        assert!(ended(&events).is_empty());
    }

    /// Under the null, the share of short streams with any alarm stays within the budget: at most
    /// `alpha x minutes / 60` expected false alarms each, whose mean bounds the share.
    #[test]
    fn under_the_null_the_false_alarm_rate_stays_within_alpha_per_hour() {
        // alpha = 0.5 per hour makes the check sensitive: over 10-minute streams the bound on the
        // share of streams with an alarm is 0.5 x 10 / 60 = 1/12. 600 streams: the standard
        // error of a share of 1/12 is 0.011; allow three of them.
        let rule = Sequential { threshold: 1.25, alpha: 0.5 };
        let rates = [2.0, 0.5, 0.05, 0.01];
        let (streams, seconds) = (600, 600);
        let mut draws = Draws(7);
        let mut alarmed = 0;
        for _ in 0..streams {
            let mut events = Vec::new();
            let mut d = SequentialDetector::new(&rule, 0.5);
            let mut counts = vec![(0, 0); rates.len()];
            for t in 0..seconds {
                for (slot, &rate) in counts.iter_mut().zip(&rates) {
                    *slot = (draws.poisson(rate), draws.poisson(rate));
                }
                d.push_second(t, &counts, &mut events);
            }
            d.finish(&mut events);
            alarmed += usize::from(!ended(&events).is_empty());
        }
        let share = alarmed as f64 / streams as f64;
        let bound = 0.5 * 10.0 / 60.0;
        assert!(share <= bound + 3.0 * (bound * (1.0 - bound) / streams as f64).sqrt(), "{share}");
    }

    #[test]
    fn the_ratio_interval_covers_the_estimate_and_narrows_with_data() {
        let (lo, hi) = ratio_interval(30, 10, 0.5, 0.05);
        assert!(lo < 3.0 && 3.0 < hi, "{lo} {hi}");
        assert!(lo > 1.0, "30 against 10 excludes equal rates: {lo}");
        let (lo2, hi2) = ratio_interval(300, 100, 0.5, 0.05);
        assert!(lo < lo2 && hi2 < hi);
        let (lo, hi) = ratio_interval(12, 0, 0.5, 0.05);
        assert!(lo > 1.0 && hi.is_infinite());
        // The boundary satisfies its defining equation: c ln t + b ln(1 - t) = ln B + ln alpha.
        let theta = lo2 / (lo2 + 1.0); // s = 1/2: rho = theta / (1 - theta)
        let lhs = 300.0 * theta.ln() + 100.0 * (1.0 - theta).ln();
        let rhs = ln_beta(301.0, 101.0) + 0.05f64.ln();
        assert!((lhs - rhs).abs() < 1e-6, "{lhs} {rhs}");
    }
}
