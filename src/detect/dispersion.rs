//! Overdispersion: how much more the counts of a code vary than independent events would.
//!
//! # Why
//! The rules' tests condition on the number of events `n` of a code in a window and treat each as
//! an independent coin, canary with probability `s` (the traffic share). Real error streams come in
//! bursts: one client in a crash loop sends tens of events of one code within seconds, and the
//! whole burst lands on one build. With bursts of sizes `m_j`, the canary-minus-expected count has
//! variance `s (1 - s) sum m_j^2` instead of `s (1 - s) n`: the binomial variance times
//! `phi = sum m_j^2 / sum m_j`, the index of dispersion. Quasi-likelihood (Wedderburn 1974;
//! McCullagh & Nelder, *Generalized Linear Models*, 9.2) keeps the binomial test and divides the
//! counts by `phi`: `n / phi` effective events, the same share.
//!
//! # The estimate
//! For each code, from the **baseline build only**, so that a regression in the canary (the very
//! thing the rules look for) can never inflate it: the index of dispersion at a short time scale
//! `tau` ([`SCALE_S`]), measured by second differences so that slow changes of rate cancel. At
//! every second `t`, `x_t`, `y_t` and `z_t` count the events in `(t - tau, t]`, `(t - 2 tau, t -
//! tau]` and `(t - 3 tau, t - 2 tau]`; with `e_t = y_t - (x_t + z_t) / 2`,
//!
//! ```text
//! phi_own = sum_t 2 e_t^2 / sum_t (x_t + y_t + z_t)
//! ```
//!
//! For independent events at a rate that is constant or changes linearly over `3 tau`,
//! `E e^2 = E y + (E x + E z) / 4`, so `phi_own` is near 1. A burst of `m` events within `tau`
//! seconds adds `2 (m^2 / 4 + m^2 + m^2 / 4) = 3 m^2` to the numerator and `3 m` to the denominator
//! for each of the `tau` seconds it spends in each window, so `phi_own` is near `sum m^2 / sum m`,
//! whatever the burst's alignment to the clock (every offset is averaged). A step in the baseline's
//! rate is seen only for the `3 tau` seconds around it, at a quarter of what a first difference
//! would see. The first `3 tau - 1` seconds of the stream are not counted: their windows would
//! cover seconds before the stream began.
//!
//! A rare code has too few events for its own estimate, and a busy one's is noisy (its relative
//! standard error is about `sqrt(2 / n)` with `n` independent stretches of `3 tau` seconds), so it
//! is shrunk toward the stream-wide estimate over all codes: with `n` the smaller of the code's
//! events and its stretches, `phi = w phi_own + (1 - w) phi_pool`, `w = n / (n + PRIOR_SAMPLES)`
//! ([`PRIOR_SAMPLES`]), and never below `phi_pool`. A code the baseline never had (new in the
//! canary) gets the stream-wide estimate. `phi` is floored at 1: the tests never become more
//! lenient than the independent-event test.
//!
//! # The local estimate
//! The long-run estimate learns a stream's bursts slowly (it is dominated by the few largest
//! bursts seen so far) and cannot know the burst that is inside the very window being tested.
//! [`Local`] measures the same second-difference index over **both** builds' events together, over
//! a stretch: a window of the rolling rule (when it is at least [`LOCAL_MIN_WINDOW_S`] long, so a
//! burst can be told from a change that lasts the window), or a run of the sequential rule. As it
//! depends only on the total events per second, never on how they split between the builds, the
//! conditional tests stay exact for independent events. It counts in full on a stream whose
//! long-run estimate is well above 1 and for sparse codes, and little for busy codes on a stream
//! of independent events, where it is noisy and where the onset of a regression (a step up)
//! would raise it ([`local_used`]).
//!
//! It is online: each rule asks for `phi` of what it has seen so far, so live and batch runs agree,
//! and memory per code is the baseline events of its last `3 tau` seconds. Quiet stretches are
//! skipped in closed form: between events the windows only change when an event crosses `tau`,
//! `2 tau` or `3 tau`, so the sums advance by one product per crossing.
//!
//! # What it assumes
//! That the baseline's bursts are like the canary's when nothing changed (the same clients, the
//! same failure modes), that bursts last less than about `tau` (a burst spread evenly over `2 tau`
//! is seen at about half its size), and that burstiness changes slowly over the stream. The
//! quasi-likelihood test is then approximately calibrated, not exactly: a window whose events are
//! mostly one huge burst has a heavier tail than `n / phi` independent events. On independent
//! events every estimate is near 1 and the tests are the exact tests they were.

use std::collections::VecDeque;

/// The time scale `tau` of the estimate, in seconds: bursts within a minute are counted whole,
/// longer ones in part. On simulated streams with a fifth of the events in bursts of geometric
/// size (mean 16) spread over up to 30 s (true `phi` = 7.0), `tau` = 30 s saw 5.3 and 60 s saw 6.1,
/// at a standard error on independent events of 0.12 and 0.17 per code-hour.
pub const SCALE_S: i64 = 60;

/// The seconds from a stream's start before the sequential rule confirms an alarm: five `tau`,
/// so that the long-run estimate has two minutes of its own (its first `3 tau` seconds are its
/// windows' warm-up). Before it nothing tells a client's burst from a regression; on the bursty
/// benchmark streams the alarms that remained fell at this boundary when it was `3 tau`.
pub const WARM_UP_S: i64 = 5 * SCALE_S;

/// The weight of the stream-wide estimate in a code's, in samples: a code's own estimate counts as
/// much as the pool's once it rests on this many (events, or independent stretches of `2 tau`
/// seconds, whichever are fewer). Its relative standard error is then about
/// `sqrt(2 / PRIOR_SAMPLES)` = 0.26 on independent events, so half-weighting it keeps a busy
/// Poisson code's estimate near 1.
pub const PRIOR_SAMPLES: f64 = 30.0;

/// The weight of 1 in the stream-wide estimate, in baseline events, so the first bursts of a
/// stream do not swing it.
pub const PRIOR_EVENTS: f64 = 100.0;

/// One code's events of the last `3 tau` seconds and its running sums.
#[derive(Debug, Clone, Default)]
struct Track {
    /// The time scale, in seconds.
    tau: i64,
    /// `(second, events)`, oldest first: the first `in_z` are in `z`, the next `in_y` in `y`, the
    /// rest in `x`.
    recent: VecDeque<(i64, u64)>,
    in_z: usize,
    in_y: usize,
    x: u64,
    y: u64,
    z: u64,
    /// The first second not yet added to the sums (its state is `x`, `y`, `z`).
    pending: Option<i64>,
    /// `sum 2 e^2` and `sum (x + y + z)` over the seconds added, `e = y - (x + z) / 2`.
    squares: f64,
    mass: f64,
    /// The first second with an event, and the events so far.
    first: i64,
    events: u64,
}

impl Track {
    fn new(tau: i64) -> Track {
        Track { tau, ..Track::default() }
    }

    /// Adds every second before `t` (from `from` on) to the sums and brings the state to second
    /// `t`.
    fn settle(&mut self, t: i64, from: i64) -> (f64, f64) {
        let before = (self.squares, self.mass);
        let Some(mut at) = self.pending else {
            return (0.0, 0.0);
        };
        while at < t {
            // The next second at which an event moves on: from x into y, y into z, or out.
            let (z_end, y_end) = (self.in_z, self.in_z + self.in_y);
            let crossing =
                |index: usize, after: i64| self.recent.get(index).map(|&(e, _)| e + after);
            let next = [
                crossing(y_end, self.tau),
                if self.in_y > 0 { crossing(z_end, 2 * self.tau) } else { None },
                if self.in_z > 0 { crossing(0, 3 * self.tau) } else { None },
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(i64::MAX);
            let end = next.min(t);
            let seconds = (end - at.max(from)).max(0) as f64;
            let e = self.y as f64 - (self.x + self.z) as f64 / 2.0;
            self.squares += 2.0 * e * e * seconds;
            self.mass += (self.x + self.y + self.z) as f64 * seconds;
            at = end;
            while self.in_z > 0 && self.recent[0].0 + 3 * self.tau <= at {
                let (_, n) = self.recent.pop_front().expect("in_z counts entries");
                self.z -= n;
                self.in_z -= 1;
            }
            while self.in_y > 0 && self.recent[self.in_z].0 + 2 * self.tau <= at {
                let n = self.recent[self.in_z].1;
                self.y -= n;
                self.z += n;
                self.in_y -= 1;
                self.in_z += 1;
            }
            while self.in_z + self.in_y < self.recent.len()
                && self.recent[self.in_z + self.in_y].0 + self.tau <= at
            {
                let n = self.recent[self.in_z + self.in_y].1;
                self.x -= n;
                self.y += n;
                self.in_y += 1;
            }
        }
        self.pending = Some(at);
        (self.squares - before.0, self.mass - before.1)
    }

    fn add(&mut self, t: i64, events: u64, from: i64) -> (f64, f64) {
        if self.pending.is_none() {
            self.pending = Some(t);
            self.first = t;
        }
        self.events += events;
        let delta = self.settle(t, from);
        match self.recent.back_mut() {
            Some(last) if last.0 == t => last.1 += events,
            _ => self.recent.push_back((t, events)),
        }
        self.x += events;
        delta
    }
}

/// The dispersion estimate of every code, fed one second at a time.
#[derive(Debug, Clone, Default)]
pub struct Dispersion {
    /// The stream's first second.
    origin: i64,
    /// The first second whose two windows lie within the stream: before it, `y` (or `x`) would
    /// cover seconds nobody saw, and the stream's start would look like a step up from nothing.
    from: i64,
    tracks: Vec<Track>,
    pool_squares: f64,
    pool_mass: f64,
}

impl Dispersion {
    /// An estimate for a stream whose first second is `origin`.
    pub fn new(origin: i64) -> Dispersion {
        Dispersion { origin, from: origin + 3 * SCALE_S - 1, ..Dispersion::default() }
    }

    /// Takes the baseline's `events` of `code` at second `t` (seconds in order). The canary's
    /// are never taken: a regression in the canary (a step up in its rate) must not raise the
    /// estimate that decides whether the regression is significant.
    pub fn add(&mut self, code: usize, t: i64, events: u64) {
        if events == 0 {
            return;
        }
        if self.tracks.len() <= code {
            self.tracks.resize_with(code + 1, || Track::new(SCALE_S));
        }
        let (squares, mass) = self.tracks[code].add(t, events, self.from);
        self.pool_squares += squares;
        self.pool_mass += mass;
    }

    /// The dispersion of `code` from everything before second `t` (at least the stream-wide
    /// estimate, and at least 1).
    pub fn phi(&mut self, code: usize, t: i64) -> f64 {
        let pool_before = self.pool();
        let Some(track) = self.tracks.get_mut(code).filter(|track| track.pending.is_some()) else {
            return pool_before;
        };
        let (s, m) = track.settle(t, self.from);
        self.pool_squares += s;
        self.pool_mass += m;
        let own = if track.mass > 0.0 { track.squares / track.mass } else { 1.0 };
        // The own estimate rests on its events or on its independent stretches of 3 tau seconds,
        // whichever are fewer (see the module docs).
        let stretches = (t - track.first.max(self.from)) as f64 / (3 * SCALE_S) as f64;
        let samples = (track.events as f64).min(stretches).max(0.0);
        let weight = samples / (samples + PRIOR_SAMPLES);
        let pool = self.pool();
        (weight * own + (1.0 - weight) * pool).max(pool)
    }

    /// The baseline's events of `code` per second, from the stream's first second to `t`.
    pub fn rate(&self, code: usize, t: i64) -> f64 {
        let events = self.tracks.get(code).map_or(0, |track| track.events);
        let elapsed = (t - self.origin).max(1);
        events as f64 / elapsed as f64
    }

    /// The estimates of every code the baseline has had, as of second `t`: `(code id, phi)`.
    pub fn all(&mut self, t: i64) -> Vec<(usize, f64)> {
        let seen: Vec<usize> =
            (0..self.tracks.len()).filter(|&code| self.tracks[code].pending.is_some()).collect();
        seen.into_iter().map(|code| (code, self.phi(code, t))).collect()
    }

    /// The stream-wide estimate over all codes so far (floored at 1), itself shrunk toward 1 by
    /// [`PRIOR_EVENTS`] events.
    pub fn pool(&self) -> f64 {
        let prior = PRIOR_EVENTS * 3.0 * SCALE_S as f64;
        ((self.pool_squares + prior) / (self.pool_mass + prior)).max(1.0)
    }
}

/// The time scale of the local estimate, in seconds: the long-run estimate's.
pub const LOCAL_SCALE_S: i64 = SCALE_S;

/// The shortest window whose local estimate the rolling rule uses, in seconds: six `tau`. Within
/// a shorter window a burst of `tau` and a change that lasts the window look alike.
pub const LOCAL_MIN_WINDOW_S: u64 = 6 * SCALE_S as u64;

/// The local dispersion of every code: the same second-difference estimate at [`LOCAL_SCALE_S`],
/// over the events of **both** builds together, measured over a stretch of time (a window, or a
/// sequential run). It sees the bursts inside the very counts a test is about to use, which the
/// long-run estimate of the baseline may not have met yet (a rare code's first burst). As it
/// depends only on the total events per second, never on how they split between the builds, the
/// conditional tests stay exact for independent events.
#[derive(Debug, Clone, Default)]
pub struct Local {
    from: i64,
    tracks: Vec<Track>,
}

impl Local {
    /// A local estimate for a stream whose first second is `origin`. Unlike the long-run
    /// estimate it counts from the first second: a burst in the stream's first minutes must be
    /// seen, and the stream's start looking like a step up matters little here (a busy code's
    /// local estimate has little weight where bursts are rare).
    pub fn new(origin: i64) -> Local {
        Local { from: origin, ..Local::default() }
    }

    /// Takes both builds' `events` of `code` at second `t` (seconds in order).
    pub fn add(&mut self, code: usize, t: i64, events: u64) {
        if events == 0 {
            return;
        }
        if self.tracks.len() <= code {
            self.tracks.resize_with(code + 1, || Track::new(LOCAL_SCALE_S));
        }
        self.tracks[code].add(t, events, self.from);
    }

    /// The running `(squares, mass)` of `code` over every second before `t`: the estimate over a
    /// stretch is the ratio of the differences of two of these.
    pub fn cumulative(&mut self, code: usize, t: i64) -> (f64, f64) {
        let Some(track) = self.tracks.get_mut(code) else {
            return (0.0, 0.0);
        };
        track.settle(t, self.from);
        (track.squares, track.mass)
    }
}

/// The dispersion `squares / mass` of a stretch, floored at 1 (1 for a stretch with no events).
pub fn ratio(squares: f64, mass: f64) -> f64 {
    if mass > 0.0 { (squares / mass).max(1.0) } else { 1.0 }
}

/// How much a local estimate counts (see [`local_used`]), for a code whose baseline has `rate`
/// events per second, on a stream whose long-run estimate is `pool`: at least `1 / (1 + rate x
/// tau)`, and at least `1 - 1 / pool`. (The baseline's rate, not both builds': on the bursty
/// benchmark streams the total rate, twice as large at an equal split, let through about three
/// times the sequential false alarms, at no gain on independent events.) Over a window of a few `tau`, a sparse code's events are mostly alone in their
/// `tau` (each counts exactly 1), so its local estimate is precise and a burst stands out; a busy
/// code's has only a few independent stretches and is noisy, and the onset of a regression adds
/// to it, so on a stream of independent events (`pool` near 1) it leans on the long-run estimate.
/// On a bursty stream the long-run estimate, dominated by the few largest bursts seen so far,
/// converges slowly, and the bursts inside the window are what a test must not mistake for an
/// increase: there the local estimate counts fully.
fn local_weight(rate: f64, pool: f64) -> f64 {
    let sparse = 1.0 / (1.0 + rate.max(0.0) * LOCAL_SCALE_S as f64);
    sparse.max(1.0 - 1.0 / pool.max(1.0))
}

/// The local estimate `raw` of a stretch as the rules use it, for a code whose baseline has
/// `rate` events per second, on a stream whose long-run estimate is `pool`: shrunk toward 1 by
/// [`local_weight`].
pub fn local_used(raw: f64, rate: f64, pool: f64) -> f64 {
    1.0 + local_weight(rate, pool) * (raw - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Draws;

    #[test]
    fn one_burst_counts_its_size_whatever_its_alignment() {
        // 16 events at one second: e = -8 while they are in x, 16 in y, -8 in z, tau seconds
        // each: the numerator tau x 2 (64 + 256 + 64) = 3 tau x 256, the denominator 3 tau x 16,
        // phi_own = 16.
        for at in [0, 7, 59, 60] {
            let mut track = Track::new(SCALE_S);
            track.add(at, 16, 0);
            track.settle(at + 1000, 0);
            assert_eq!(track.squares, 3.0 * SCALE_S as f64 * 256.0, "at {at}");
            assert_eq!(track.mass, 3.0 * SCALE_S as f64 * 16.0);
        }
    }

    #[test]
    fn quiet_stretches_are_added_in_closed_form() {
        // Events 1 at second 0 and 2 at second 30, tau = 60; (x, y, z) and 2 e^2 by stretch of 30
        // seconds: (1,0,0) 0.5; (3,0,0) 4.5; (2,1,0) 0; (0,3,0) 18; (0,2,1) 4.5; (0,0,3) 4.5;
        // (0,0,2) 2. squares = 30 x 34 = 1020; mass = 30 x (1 + 3 + 3 + 3 + 3 + 3 + 2) = 540.
        let mut track = Track::new(SCALE_S);
        track.add(0, 1, 0);
        track.add(30, 2, 0);
        track.settle(10_000, 0);
        assert_eq!((track.squares, track.mass), (1020.0, 540.0));
        // Settling is idempotent and the same second by second.
        let mut stepwise = Track::new(SCALE_S);
        stepwise.add(0, 1, 0);
        for t in 1..30 {
            stepwise.settle(t, 0);
        }
        stepwise.add(30, 2, 0);
        for t in 31..400 {
            stepwise.settle(t, 0);
        }
        stepwise.settle(10_000, 0);
        assert_eq!((stepwise.squares, stepwise.mass), (1020.0, 540.0));
        assert!(track.recent.is_empty() && track.x + track.y + track.z == 0);
    }

    #[test]
    fn seconds_before_both_windows_fit_in_the_stream_are_not_counted() {
        // A stream from second 100 with one baseline event every second: counted from second
        // 100 + 3 tau - 1 on, x = y = z = tau always, so the estimate is exactly 0 and the floor
        // gives 1; counting from the stream's start would have seen a step up from nothing.
        let mut d = Dispersion::new(100);
        for t in 100..1000 {
            d.add(0, t, 1);
        }
        d.phi(0, 1000);
        assert_eq!(d.tracks[0].squares, 0.0);
        assert_eq!(
            d.tracks[0].mass,
            (1000 - (100 + 3 * SCALE_S - 1)) as f64 * 3.0 * SCALE_S as f64
        );
        assert_eq!(d.phi(0, 1000), 1.0);
    }

    #[test]
    fn independent_events_have_a_dispersion_near_one() {
        // Ten hours: the own estimate's standard error is then about 0.05.
        let mut d = Dispersion::new(0);
        let mut draws = Draws(3);
        for t in 0..36_000 {
            d.add(0, t, draws.poisson(2.0));
            d.add(1, t, draws.poisson(0.05));
        }
        let track = &mut d.tracks[0];
        track.settle(36_000, d.from);
        let own = track.squares / track.mass;
        assert!((own - 1.0).abs() < 0.2, "{own}");
        assert!(d.phi(0, 36_000) < 1.2);
        assert!(d.phi(1, 36_000) < 1.2);
    }

    #[test]
    fn bursts_are_seen_and_a_step_barely_moves_the_estimate() {
        // A code whose events come as bursts of 10 at one second, 0.02 bursts a second, beside
        // 0.2 independent events a second: phi near (10^2 x 0.02 + 0.2) / (10 x 0.02 + 0.2) = 5.5.
        let mut d = Dispersion::new(0);
        let mut draws = Draws(11);
        for t in 0..36_000 {
            let burst = if draws.uniform() < 0.02 { 10 } else { 0 };
            d.add(0, t, burst + draws.poisson(0.2));
        }
        let phi = d.phi(0, 36_000);
        assert!((4.5..6.5).contains(&phi), "{phi}");
        // Independent events whose rate triples halfway: one step, seen for 2 tau seconds.
        let mut d = Dispersion::new(0);
        for t in 0..36_000 {
            d.add(0, t, draws.poisson(if t < 18_000 { 1.0 } else { 3.0 }));
        }
        let phi = d.phi(0, 36_000);
        assert!(phi < 1.3, "{phi}");
    }

    #[test]
    fn a_rare_or_new_code_borrows_the_streams_estimate() {
        let mut d = Dispersion::new(0);
        let mut draws = Draws(5);
        for t in 0..7200 {
            let burst = if draws.uniform() < 0.02 { 20 } else { 0 };
            d.add(0, t, burst);
        }
        d.add(1, 7000, 1);
        // Code 1 has one event of its own; code 2 none: both lean on the pool.
        let phi = d.phi(1, 7200);
        let pool = d.pool();
        assert!(pool > 10.0, "{pool}");
        assert!(phi > 0.9 * pool, "{phi} {pool}");
        assert_eq!(d.phi(2, 7200), pool);
    }
}
