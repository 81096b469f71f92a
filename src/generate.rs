//! Synthetic error-event streams with ground truth.
//!
//! [`Generator`] writes a CSV stream `Timestamp,Build_Version,Error_Code` (header first, `\n` line
//! endings, rows in time order) together with a [`Truth`] that records what was put in it, so the
//! detector can be tested against known regressions.
//!
//! # Model
//!
//! - **Time** runs over the whole seconds `0..=duration_s` (offsets from the start; the end is
//!   inclusive, so one hour has 3601 distinct seconds), written in any [`Notation`].
//! - **Codes** are the integers of a range `LO..=HI`. Each gets a rank `k` (1 = most frequent) from a
//!   seeded Fisher-Yates permutation, and a base weight `round(W / k^s)` with `W` =
//!   [`BASE_WEIGHT`] and the rank exponent `s` ([`Config::code_exponent`], by default
//!   [`DEFAULT_CODE_EXPONENT`] = 1.5, so `round(W / (k * sqrt(k)))`): a Zipf-like mix, a few
//!   frequent codes and a long tail of rare ones, as in real error mixes; a smaller `s` gives a
//!   heavier tail. `s` is rounded to the nearest 1/1024 and `k^s` is computed from `k`, products
//!   and repeated square roots only ([`rank_power`]), never `powf`.
//! - **Builds** share the traffic: the last build is the canary and gets the `traffic` share of the
//!   users, the others (the first is the baseline) split the rest equally; with a single build it
//!   gets everything. Without injections every build has the same per-user rate for every code, so
//!   the builds' counts differ only by their traffic shares and by chance.
//! - **Injections** change the canary only, over an inclusive span of seconds: a
//!   [`Kind::Regression`] multiplies the code's rate by `factor`, a [`Kind::Improvement`] divides it
//!   by `factor`, and a [`Kind::NewCode`] adds a code that no other build has, at `factor` times the
//!   median base weight of the range's codes. Overlapping injections compose (factors multiply, new
//!   code rates add before the factors apply).
//!
//! The weight of a cell (second, build, code) is `round(base x share x factors)`, an integer. The
//! stream holds exactly `rows` events, each drawn independently with probability proportional to
//! its cell's weight: the counts are one multinomial draw. Hence the expected number of events of a
//! cell is `rows x weight / total weight`; [`Truth`] reports those expectations per hour.
//!
//! # Bursts
//!
//! With [`Config::bursts`] (`--bursts SHARE:MEAN[:SPREAD]`), `B = round(SHARE x rows)` of the rows
//! arrive as client bursts and the other `rows - B` as the independent events above, so `rows`
//! stays exact. A burst is the unit drawn: its anchor cell (second, build, code) is drawn with the
//! same weights as a single event (so without injections a burst lands on the canary at the
//! traffic odds, and a regression multiplies the canary's burst rate of its code by its factor,
//! as it does the single events'), its size `N` from [`BurstShape`] with mean `MEAN`, and all its
//! events are of that build and code, spread uniformly over a sub-span of `L` seconds, `L` uniform
//! in `1..=SPREAD`, that starts at the anchor second (moved earlier if it would pass the end).
//! The last burst is cut to what remains of `B`. The expected events of every cell are unchanged,
//! and so are the rates in [`Truth`].
//!
//! Counts of one code in one build over windows longer than `SPREAD` are then a compound Poisson
//! process mixed with a Poisson one: with a share `f` of the events in bursts of size `N`, their
//! variance-to-mean ratio (index of dispersion) is `D = (1 - f) + f x E[N^2] / E[N]`, since a
//! compound Poisson count with cluster sizes `N` has variance `rate x E[N^2]` and mean
//! `rate x E[N]`. [`BurstTruth::dispersion`] records it, computed from the size table actually
//! sampled (a geometric size with mean `m` has `E[N^2] / E[N] = 2m - 1`).
//!
//! That is [`BurstCodes::Mix`], the default: the bursts follow the code mix, so every code has
//! the same `D`. Real crash loops do not follow a code's ordinary rate, and a rare code may be
//! mostly bursts: with [`BurstCodes::Uniform`] (`--burst-codes uniform`) a burst keeps only the
//! second of the cell drawn for it, then draws its code uniformly among the `K` codes of the
//! range, then its build with odds proportional to that code's cells' weights at that second
//! (traffic share times the code's injection factors there). So without injections a burst lands
//! on the canary at the traffic odds, and a regression multiplies the canary's odds against the
//! baseline for its code's bursts by its factor, as for its single events; but every code has
//! `B / K` burst events whatever its rate and its injections (a regression moves its code's
//! bursts from the baseline to the canary rather than adding any), and a new code gets none. A
//! code whose cells all weigh 0 at that second (a weight rounded to nothing, in extreme
//! configurations) leaves the burst on the cell first drawn. The rates in [`Truth`] are then the
//! expectations of this draw: a cell's share of the `rows - B` events drawn by weight, plus its
//! share of its code's `B / K` burst events. Each code has its own index of dispersion,
//! `D_c = (S_c + U_c x E[N^2] / E[N]) / (S_c + U_c)`, with `S_c` its expected single events and
//! `U_c = B / K` its burst events: the rarer the code, the larger `D_c`, up to `E[N^2] / E[N]`.
//! [`BurstTruth::dispersion_by_code`] lists them, and [`BurstTruth::dispersion`] is then their
//! mean weighted by the codes' expected events.
//!
//! # Algorithm
//!
//! Time is cut into segments over which the set of active injections is constant. Each segment has
//! a cumulative integer table over the cells of one second, so the weight of one second of the
//! segment is the table's last entry, and the segments are laid end to end on one cumulative
//! axis. The first pass draws each of the `rows` events as one uniform integer below the total
//! weight (Lemire's multiply-and-reject method on the PRNG's raw 64-bit output, without modulo
//! bias), finds its segment by binary search, its second by one division, its cell by binary search
//! in the segment's table, and increments a dense `[second][cell]` counter array: memory grows
//! with seconds x cells, not with rows. The second pass walks the seconds in order, lists each
//! second's events, shuffles them with Fisher-Yates (same bounded draws) and writes them through a
//! large buffer, with the timestamp formatted once per second and the `,build,code` suffix of every
//! cell prepared once.
//!
//! # Determinism
//!
//! The PRNG is [`ChaCha8Rng`] seeded with `seed_from_u64`, and only its raw `next_u64` output is
//! used: that stream is fixed by the rand_chacha contract, on every platform. Weights are computed
//! with IEEE-754 `+ - * / sqrt` and rounding only, which are exact or correctly rounded everywhere
//! (no `ln`, `exp` or `powf` from a platform libm), and all sampling is integer arithmetic. The same
//! [`Config`] therefore gives the same bytes on every platform. The PRNG draws, in order: the rank
//! permutation, one bounded draw per single event, then per burst its anchor (with uniform burst
//! codes, then its code and, unless that code weighs nothing there, its build), size, sub-span
//! and one draw per event, then the shuffles of the seconds in time order. Without bursts and
//! with the default exponent the draws and weights are those of the first version, so the
//! bundled data sets still regenerate byte for byte; bursts that follow the code mix draw what
//! they drew before uniform burst codes existed. The burst-size tables are built with the same
//! operations (the Pareto tail index is 3/2 so that its powers are `t x sqrt(t)`).
//!
//! # Clients
//!
//! With [`Config::clients`] (`--clients N`) each row also names its client, in a fourth column
//! `client_id` ([`Clients`]): each build has its own clients, in proportion to its traffic share;
//! a burst's events all come from one client, drawn when the burst is; a single event's client is
//! drawn when its row is written. These draws come from a second ChaCha8 stream of the same seed
//! (stream 1), so they move none of the draws above: a stream with clients is, byte for byte, the
//! stream without them with each row's client appended.
//!
//! With [`Config::broken`] (`--broken-clients N[:PERIOD]`, with `--clients`) N of the clients
//! have an error that lasts: each sends one code every PERIOD seconds (default
//! [`DEFAULT_BROKEN_PERIOD_S`]) over the whole stream, from a random phase. Each one's build is
//! the canary at the traffic odds (else a baseline build, uniformly), its code is drawn
//! uniformly among the range's codes (so rare codes get them as often as busy ones), and its
//! client uniformly among its build's. These draws come from a third ChaCha8 stream of the seed
//! (stream 2); their events are part of `rows`, which the single events make up. They are no
//! regression: a broken install is one client however many events it sends, and the truth lists
//! them ([`BrokenTruth`]).

use std::fmt;
use std::io::{self, Write};
use std::ops::{Range, RangeInclusive};

use anyhow::{Result, bail, ensure};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::input::labels::Code;
use crate::input::timestamp::Notation;

/// The base weight `W` of the rank-1 code; the code at rank `k` gets `round(W / (k * sqrt(k)))`.
pub const BASE_WEIGHT: f64 = (1u64 << 30) as f64;

/// The default rank exponent of the code mix: the seed data's `k^-1.5`.
pub const DEFAULT_CODE_EXPONENT: f64 = 1.5;

/// The range of rank exponents accepted: above this, all but the first few codes round to weight
/// 1; below the lower end, the mix is nearly flat, which a smaller code range states better.
pub const CODE_EXPONENTS: RangeInclusive<f64> = 0.1..=4.0;

/// Rank exponents are rounded to a multiple of 1 / this (10 bits: [`rank_power`] takes up to ten
/// square roots).
pub const EXPONENT_STEPS: u32 = 1024;

/// The default spread of a burst, in seconds: a crash loop or retry storm of a client lasts tens
/// of seconds before it gives up or is restarted.
pub const DEFAULT_BURST_SPREAD_S: u64 = 30;

/// The largest mean burst size accepted (the size table has [`BURST_CAP_FACTOR`] times as many
/// entries).
pub const MAX_BURST_MEAN: f64 = 1000.0;

/// The largest burst is this many times the mean size: far in the tail for a geometric size
/// (probability about `e^-100`), a real cut for the Pareto one, whose second moment would
/// otherwise be infinite.
pub const BURST_CAP_FACTOR: f64 = 100.0;

/// The tail index of [`BurstShape::Pareto`]: `P(N >= k)` falls as `k^-1.5`, a heavy tail (finite
/// mean, infinite variance before the cap) in the 1.5..2 range seen in retry storms; 3/2 keeps the
/// table to square roots.
pub const PARETO_TAIL_INDEX: f64 = 1.5;

/// Size-table probabilities are scaled to integers of this many bits before sampling.
const SIZE_TABLE_BITS: u32 = 52;

/// The largest dense counter table (seconds x builds x codes) [`Generator::new`] accepts:
/// 2^28 counters of 4 bytes, 1 GiB.
pub const MAX_TABLE_CELLS: u64 = 1 << 28;

/// The largest code range, in codes.
pub const MAX_CODES: u64 = 1 << 16;

/// The most clients a stream may have (`--clients`).
pub const MAX_CLIENTS: u64 = 1 << 32;

/// The clients of a stream with a client column: each build has its own, `round(N x its traffic
/// share)` of them (at least one), numbered on after the builds before it and written `c0`,
/// `c1`, ... A single event's client is drawn uniformly among its build's; all the events of a
/// burst come from one client, drawn the same way. The draws come from a stream of their own
/// (the same seed, ChaCha stream 1), so a stream with clients is the stream without them, each
/// row with its client appended.
#[derive(Debug, Clone)]
struct Clients {
    /// The clients of each build, baseline first.
    per_build: Vec<u64>,
    /// The number of the first client of each build.
    first: Vec<u64>,
    rng: ChaCha8Rng,
}

impl Clients {
    fn new(total: u64, config: &Config) -> Clients {
        let builds = config.builds.len();
        let per_build: Vec<u64> = (0..builds)
            .map(|b| {
                let share = match (builds, b + 1 == builds) {
                    (1, _) => 1.0,
                    (_, true) => config.traffic,
                    (_, false) => (1.0 - config.traffic) / (builds - 1) as f64,
                };
                ((total as f64 * share).round() as u64).max(1)
            })
            .collect();
        let first = per_build
            .iter()
            .scan(0, |next, &n| {
                let first = *next;
                *next += n;
                Some(first)
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(1);
        Clients { per_build, first, rng }
    }

    /// A client of `build`, drawn uniformly.
    fn draw(&mut self, build: usize) -> u64 {
        self.first[build] + below(&mut self.rng, self.per_build[build])
    }
}

/// The default period of a broken client's events, in seconds.
pub const DEFAULT_BROKEN_PERIOD_S: u64 = 20;

/// Clients whose error lasts the whole stream ([`Config::broken`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken {
    /// How many clients.
    pub clients: u64,
    /// The seconds between two events of one of them (at least 1).
    pub period_s: u64,
}

impl Broken {
    /// Parses `N[:PERIOD]` (PERIOD in whole seconds, [`DEFAULT_BROKEN_PERIOD_S`] if absent).
    pub fn parse(spec: &str) -> Result<Broken, String> {
        let syntax = "expected N[:PERIOD], e.g. 4:20";
        let (n, period) = match spec.split_once(':') {
            Some((n, period)) => (n, Some(period)),
            None => (spec, None),
        };
        let whole = |what: &str, text: &str| {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{syntax}; {what} '{text}' is not a whole number"))
        };
        let clients = whole("N", n)?;
        let period_s = period.map_or(Ok(DEFAULT_BROKEN_PERIOD_S), |p| whole("PERIOD", p))?;
        if clients == 0 {
            return Err("N 0: at least one broken client".to_string());
        }
        if period_s == 0 {
            return Err(
                "PERIOD 0: a broken client's events are at least 1 second apart".to_string()
            );
        }
        Ok(Broken { clients, period_s })
    }
}

/// One broken client as drawn: its build (index), code (index in the codes), first second and
/// client number.
#[derive(Debug, Clone, Copy)]
struct BrokenClient {
    build: usize,
    code: usize,
    phase: u64,
    client: u64,
}

impl BrokenClient {
    /// The seconds of its events over `0..=duration_s`, `period_s` apart.
    fn seconds(&self, duration_s: u64, period_s: u64) -> impl Iterator<Item = u64> + use<> {
        (self.phase..=duration_s).step_by(period_s as usize)
    }
}

/// Draws the broken clients ([`Config::broken`]) from the seed's stream 2: per client its build
/// (the canary at the traffic odds, else a baseline build uniformly), its code (uniformly among
/// the `codes` of the range), its first second (uniformly within a period) and its client
/// (uniformly among its build's).
fn draw_broken(
    config: &Config,
    broken: Broken,
    clients: &Clients,
    codes: usize,
) -> Vec<BrokenClient> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    rng.set_stream(2);
    let builds = config.builds.len();
    // The canary's share as a fraction of 2^32, compared with a 32-bit draw.
    let canary_odds = (config.traffic * (1u64 << 32) as f64).round() as u64;
    (0..broken.clients)
        .map(|_| {
            let build = match builds {
                1 => 0,
                _ if below(&mut rng, 1 << 32) < canary_odds => builds - 1,
                _ => below(&mut rng, builds as u64 - 1) as usize,
            };
            let code = below(&mut rng, codes as u64) as usize;
            let phase = below(&mut rng, broken.period_s.min(config.duration_s + 1));
            let client = clients.first[build] + below(&mut rng, clients.per_build[build]);
            BrokenClient { build, code, phase, client }
        })
        .collect()
}

/// Unix second of `2026-11-22T00:00:00Z`, the default start of RFC 3339 and epoch streams.
pub const DEFAULT_EPOCH_START: i64 = 1_795_305_600;

/// The default builds: baseline first, canary last.
pub const DEFAULT_BUILDS: [&str; 2] = ["5.0007.510.011", "5.0007.610.011"];

/// Size of the output chunks handed to the writer.
const CHUNK: usize = 1 << 20;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Seed of the ChaCha8 PRNG.
    pub seed: u64,
    /// Exact number of event rows (0 writes the header only); at most `u32::MAX`.
    pub rows: u64,
    /// Length of the stream in seconds: offsets run over `0..=duration_s`.
    pub duration_s: u64,
    /// The clock value of offset 0, in seconds of `notation` (an offset for
    /// [`Notation::Offset`], a Unix second otherwise).
    pub start: i64,
    /// How timestamps are written.
    pub notation: Notation,
    /// Build versions, baseline first and canary last; one or more, distinct.
    pub builds: Vec<String>,
    /// The integer codes that every build emits.
    pub codes: RangeInclusive<i64>,
    /// The canary's share of the traffic, in `(0, 1)`; ignored with a single build.
    pub traffic: f64,
    /// What is injected into the canary.
    pub injections: Vec<Injection>,
    /// The rank exponent `s` of the code mix: rank `k` weighs `W / k^s` (rounded to a multiple of
    /// 1/[`EXPONENT_STEPS`] when used).
    pub code_exponent: f64,
    /// Client bursts, if any.
    pub bursts: Option<Bursts>,
    /// The number of clients, when each row names its client ([`Clients`]); `None` writes no
    /// client column.
    pub clients: Option<u64>,
    /// Clients whose error lasts the whole stream (with `clients`).
    pub broken: Option<Broken>,
}

impl Default for Config {
    /// The shape of the seed data: 14000 rows over one hour, two builds, codes -17..=15.
    fn default() -> Config {
        Config {
            seed: 1,
            rows: 14_000,
            duration_s: 3600,
            start: 0,
            notation: Notation::Offset,
            builds: DEFAULT_BUILDS.iter().map(|b| b.to_string()).collect(),
            codes: -17..=15,
            traffic: 0.5,
            injections: Vec::new(),
            code_exponent: DEFAULT_CODE_EXPONENT,
            bursts: None,
            clients: None,
            broken: None,
        }
    }
}

/// How burst sizes are distributed; both have the mean [`Bursts::mean`] and are cut at
/// [`BURST_CAP_FACTOR`] times it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurstShape {
    /// `P(N = k) = p (1 - p)^(k - 1)`, `p = 1 / mean`: a memoryless client that stops after each
    /// event with the same chance.
    Geometric,
    /// A discrete Lomax (Pareto type II) size: `P(N >= k) = (l / (l + k - 1))^1.5`, with the scale
    /// `l` found by bisection so that the mean (after the cap) is the one asked for. Most bursts
    /// are small and a few are huge.
    Pareto,
}

impl BurstShape {
    /// The name used by `--burst-shape` and the truth file.
    pub fn name(self) -> &'static str {
        match self {
            BurstShape::Geometric => "geometric",
            BurstShape::Pareto => "pareto",
        }
    }
}

/// Which codes the bursts go to ([`Bursts::codes`]; module docs, "Bursts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurstCodes {
    /// A burst's cell is drawn with the same weights as a single event: the bursts follow the
    /// code mix, and every code has about the same index of dispersion.
    #[default]
    Mix,
    /// A burst's code is drawn uniformly among the range's codes, whatever their rates: a rare
    /// code gets as many bursts as a busy one, so its events are mostly bursts.
    Uniform,
}

impl BurstCodes {
    /// The name used by `--burst-codes` and the truth file.
    pub fn name(self) -> &'static str {
        match self {
            BurstCodes::Mix => "mix",
            BurstCodes::Uniform => "uniform",
        }
    }

    /// Whether this is the default, [`BurstCodes::Mix`] (which the truth file leaves out).
    fn is_mix(&self) -> bool {
        *self == BurstCodes::Mix
    }
}

/// Client bursts: a share of the events arrive in bursts of one code on one build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bursts {
    /// The share of the rows that arrive in bursts, in `0..=1`.
    pub share: f64,
    /// The mean burst size in events, in `1..=MAX_BURST_MEAN`.
    pub mean: f64,
    /// The longest span of a burst, in seconds (at least 1: all in one second).
    pub spread_s: u64,
    /// The distribution of the sizes.
    pub shape: BurstShape,
    /// Which codes the bursts go to.
    pub codes: BurstCodes,
}

impl Bursts {
    /// Parses `SHARE:MEAN[:SPREAD]` (SPREAD in whole seconds, [`DEFAULT_BURST_SPREAD_S`] if
    /// absent), with a geometric shape that follows the code mix.
    pub fn parse(spec: &str) -> Result<Bursts, String> {
        let syntax = "expected SHARE:MEAN[:SPREAD], e.g. 0.2:16:30";
        let parts: Vec<&str> = spec.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(syntax.to_string());
        }
        let number = |what: &str, text: &str| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{syntax}; {what} '{text}' is not a number"))
        };
        let share = number("SHARE", parts[0])?;
        let mean = number("MEAN", parts[1])?;
        let spread_s = match parts.get(2) {
            None => DEFAULT_BURST_SPREAD_S,
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                format!("{syntax}; SPREAD '{text}' is not a whole number of seconds")
            })?,
        };
        let bursts =
            Bursts { share, mean, spread_s, shape: BurstShape::Geometric, codes: BurstCodes::Mix };
        bursts.check()?;
        Ok(bursts)
    }

    /// Checks the ranges of the parameters.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.share) {
            return Err(format!("SHARE {} is not between 0 and 1", self.share));
        }
        if !(1.0..=MAX_BURST_MEAN).contains(&self.mean) {
            return Err(format!("MEAN {} is not between 1 and {MAX_BURST_MEAN} events", self.mean));
        }
        if self.spread_s == 0 {
            return Err("SPREAD 0: a burst spans at least 1 second".to_string());
        }
        Ok(())
    }
}

/// The sampled distribution of burst sizes: `weights[k - 1]` is proportional to `P(N = k)`.
#[derive(Debug, Clone)]
struct SizeTable {
    /// Cumulative integer weights over sizes `1..=cap`.
    cum: Vec<u64>,
}

impl SizeTable {
    fn new(shape: BurstShape, mean: f64) -> SizeTable {
        let cap = ((mean * BURST_CAP_FACTOR).ceil() as usize).max(1);
        let probabilities = match shape {
            BurstShape::Geometric => {
                let stop = 1.0 / mean;
                let mut out = Vec::with_capacity(cap);
                let mut survive = 1.0;
                for k in 1..=cap {
                    out.push(if k == cap { survive } else { survive * stop });
                    survive *= 1.0 - stop;
                }
                out
            }
            BurstShape::Pareto => {
                // The capped mean sum_{k=1}^{cap} S(k) grows with the scale from 1 (scale 0) to
                // cap (infinite scale): bisect, in a fixed number of steps.
                let (mut low, mut high) = (0.0f64, mean * cap as f64);
                for _ in 0..200 {
                    let mid = 0.5 * (low + high);
                    if pareto_survival(mid, cap).iter().sum::<f64>() < mean {
                        low = mid;
                    } else {
                        high = mid;
                    }
                }
                let survival = pareto_survival(0.5 * (low + high), cap);
                (0..cap)
                    .map(|i| survival[i] - survival.get(i + 1).copied().unwrap_or(0.0))
                    .collect()
            }
        };
        let scale = (1u64 << SIZE_TABLE_BITS) as f64;
        let mut sum = 0u64;
        let cum = probabilities
            .iter()
            .map(|p| {
                sum += (p * scale).round() as u64;
                sum
            })
            .collect();
        SizeTable { cum }
    }

    /// `(E[N], E[N^2])` of the integer table as sampled.
    fn moments(&self) -> (f64, f64) {
        let total = *self.cum.last().unwrap_or(&0) as f64;
        let (mut first, mut second) = (0.0, 0.0);
        let mut previous = 0;
        for (i, &c) in self.cum.iter().enumerate() {
            let p = (c - previous) as f64 / total;
            previous = c;
            let k = (i + 1) as f64;
            first += p * k;
            second += p * k * k;
        }
        (first, second)
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> u64 {
        let u = below(rng, *self.cum.last().expect("a non-empty table"));
        self.cum.partition_point(|&c| c <= u) as u64 + 1
    }
}

/// `S(k) = P(N >= k) = t sqrt(t)`, `t = scale / (scale + k - 1)`, for `k` in `1..=cap`.
fn pareto_survival(scale: f64, cap: usize) -> Vec<f64> {
    (1..=cap)
        .map(|k| {
            let t = if k == 1 { 1.0 } else { scale / (scale + (k - 1) as f64) };
            t * t.sqrt()
        })
        .collect()
}

/// The kind of an [`Injection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The canary's rate of the code is multiplied by the factor.
    Regression,
    /// A code only the canary has, at the factor times the median base weight.
    NewCode,
    /// The canary's rate of the code is divided by the factor.
    Improvement,
}

impl Kind {
    /// The command-line flag that injects this kind.
    pub fn flag(self) -> &'static str {
        match self {
            Kind::Regression => "--inject",
            Kind::NewCode => "--new-code",
            Kind::Improvement => "--improve",
        }
    }

    /// The spec syntax of [`Injection::parse`] for this kind.
    pub fn syntax(self) -> &'static str {
        match self {
            Kind::NewCode => "CODE:START-END[:xFACTOR]",
            Kind::Regression | Kind::Improvement => "CODE:START-END:xFACTOR",
        }
    }
}

/// One change of the canary over an inclusive span of seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    /// What changes.
    pub kind: Kind,
    /// The code it applies to.
    pub code: Code,
    /// First second of the span, as an offset from the start.
    pub start_s: u64,
    /// Last second of the span (inclusive), as an offset from the start.
    pub end_s: u64,
    /// Multiplier of a regression, divisor of an improvement (both above 1), or the rate of a new
    /// code relative to the median base weight (above 0, 1 by default).
    pub factor: f64,
}

impl Injection {
    /// Parses a spec `CODE:START-END:xFACTOR` (for a new code `CODE:START-END[:xFACTOR]`).
    ///
    /// The code runs up to the first `:` (it may be negative, `-17`; a new code may also be a
    /// label without `,`, `"` or spaces). The factor follows the last `:`, with or without the `x`
    /// (a new code's optional factor needs the `x`, since `START-END` may end in `:SS`). The middle
    /// splits at `-` into START and END, each whole seconds (`3120`) or `H:MM:SS` (`0:52:00`),
    /// offsets from the start; END is inclusive.
    pub fn parse(kind: Kind, spec: &str) -> Result<Injection, String> {
        let syntax = kind.syntax();
        let (code, rest) =
            spec.split_once(':').ok_or_else(|| format!("expected {syntax}, found no ':'"))?;
        if code.is_empty() {
            return Err(format!("expected {syntax}, the code is empty"));
        }
        let code = Code::parse(code);
        if let Code::Label(label) = &code {
            if kind != Kind::NewCode {
                return Err(format!("the code '{label}' is not an integer"));
            }
            check_label(label)?;
        }
        let (span, factor) = match kind {
            Kind::NewCode => match rest.rsplit_once(':') {
                Some((span, f)) if f.starts_with(['x', 'X']) => (span, Some(&f[1..])),
                _ => (rest, None),
            },
            Kind::Regression | Kind::Improvement => {
                let (span, f) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| format!("expected {syntax}, the factor is missing"))?;
                (span, Some(f.strip_prefix(['x', 'X']).unwrap_or(f)))
            }
        };
        let (start, end) = span
            .split_once('-')
            .ok_or_else(|| format!("expected {syntax}, the span '{span}' has no '-'"))?;
        let start_s = parse_offset(start).map_err(|e| format!("START '{start}': {e}"))?;
        let end_s = parse_offset(end).map_err(|e| format!("END '{end}': {e}"))?;
        if start_s > end_s {
            return Err(format!("START '{start}' is after END '{end}'"));
        }
        let factor = match factor {
            None => 1.0,
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("the factor '{text}' is not a number"))?,
        };
        match kind {
            Kind::NewCode if factor <= 0.0 => {
                return Err(format!("the factor {factor} must be above 0"));
            }
            Kind::Regression if factor <= 1.0 => {
                return Err(format!(
                    "the factor {factor} must be above 1 (use --improve to lower a rate)"
                ));
            }
            Kind::Improvement if factor <= 1.0 => {
                return Err(format!(
                    "the factor {factor} must be above 1 (the canary's rate is divided by it)"
                ));
            }
            _ => {}
        }
        Ok(Injection { kind, code, start_s, end_s, factor })
    }
}

/// Parses an offset from the start: whole seconds or `H:MM:SS`.
pub fn parse_offset(text: &str) -> Result<u64, String> {
    if text.contains(':') {
        let second = Notation::Offset.parse(text).map_err(|e| e.reason)?;
        u64::try_from(second).map_err(|_| "negative offset".to_string())
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().map_err(|_| "too many seconds".to_string())
    } else {
        Err("expected whole seconds or H:MM:SS".to_string())
    }
}

/// Checks that a build name or code label can be written into a CSV field as is.
pub fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        Err("it is empty".to_string())
    } else if label.chars().any(|c| c == ',' || c == '"' || c.is_whitespace() || c.is_control()) {
        Err(format!("'{label}' contains a comma, a quote or white space"))
    } else {
        Ok(())
    }
}

impl Config {
    /// The timestamp notation's name in the truth file: `hms`, `rfc3339` or `epoch`.
    pub fn timestamps_name(&self) -> &'static str {
        match self.notation {
            Notation::Offset => "hms",
            Notation::Rfc3339 { .. } => "rfc3339",
            Notation::Epoch => "epoch",
        }
    }

    /// Checks one injection against the codes and the duration (not its syntax).
    pub fn check_injection(&self, injection: &Injection) -> Result<(), String> {
        if injection.end_s > self.duration_s {
            return Err(format!(
                "the span {}-{} ends after the duration ({} s)",
                injection.start_s, injection.end_s, self.duration_s
            ));
        }
        if injection.start_s > injection.end_s {
            return Err(format!("the span {}-{} is reversed", injection.start_s, injection.end_s));
        }
        let in_range = matches!(injection.code, Code::Int(c) if self.codes.contains(&c));
        match injection.kind {
            Kind::NewCode if in_range => Err(format!(
                "code {} is already in the codes {}..{}; use --inject for it",
                injection.code,
                self.codes.start(),
                self.codes.end()
            )),
            Kind::NewCode => match &injection.code {
                Code::Label(label) => check_label(label),
                Code::Int(_) => Ok(()),
            },
            Kind::Regression | Kind::Improvement => {
                let is_new = self
                    .injections
                    .iter()
                    .any(|i| i.kind == Kind::NewCode && i.code == injection.code);
                if in_range || is_new {
                    Ok(())
                } else {
                    Err(format!(
                        "code {} is not in the codes {}..{} nor a --new-code",
                        injection.code,
                        self.codes.start(),
                        self.codes.end()
                    ))
                }
            }
        }
        .and_then(|()| {
            let floor = if injection.kind == Kind::NewCode { 0.0 } else { 1.0 };
            if injection.factor.is_finite() && injection.factor > floor {
                Ok(())
            } else {
                Err(format!("the factor {} is not above {floor}", injection.factor))
            }
        })
    }

    /// Checks the whole configuration.
    pub fn validate(&self) -> Result<()> {
        ensure!(!self.builds.is_empty(), "at least one build is needed");
        for (i, build) in self.builds.iter().enumerate() {
            check_label(build).map_err(|e| anyhow::anyhow!("build name: {e}"))?;
            ensure!(!self.builds[..i].contains(build), "build '{build}' is listed twice");
        }
        ensure!(
            self.codes.start() <= self.codes.end(),
            "the code range {}..{} is empty",
            self.codes.start(),
            self.codes.end()
        );
        let codes = code_count(&self.codes);
        ensure!(codes <= MAX_CODES, "the code range holds {codes} codes, more than {MAX_CODES}");
        ensure!(
            self.builds.len() == 1 || (self.traffic > 0.0 && self.traffic < 1.0),
            "the canary's traffic share {} is not strictly between 0 and 1",
            self.traffic
        );
        ensure!(
            self.rows <= u64::from(u32::MAX),
            "{} rows is more than the {} supported",
            self.rows,
            u32::MAX
        );
        let end = i64::try_from(self.duration_s).ok().and_then(|d| self.start.checked_add(d));
        let representable = end.is_some_and(|end| {
            [self.start, end].iter().all(|&s| {
                (self.notation != Notation::Offset || s >= 0)
                    && self.notation.parse(&self.notation.format(s)) == Ok(s)
            })
        });
        ensure!(
            representable,
            "the stream from {} for {} s cannot be written as {} timestamps",
            self.start,
            self.duration_s,
            self.notation.name()
        );
        ensure!(
            CODE_EXPONENTS.contains(&self.code_exponent),
            "the rank exponent {} of the code mix is not between {} and {}",
            self.code_exponent,
            CODE_EXPONENTS.start(),
            CODE_EXPONENTS.end()
        );
        if let Some(bursts) = &self.bursts {
            bursts.check().map_err(|e| anyhow::anyhow!("bursts: {e}"))?;
        }
        if let Some(clients) = self.clients {
            ensure!(
                (1..=MAX_CLIENTS).contains(&clients),
                "{clients} clients is not between 1 and {MAX_CLIENTS}"
            );
        }
        if let Some(broken) = self.broken {
            let Some(clients) = self.clients else {
                bail!("broken clients need clients: name each row's client");
            };
            ensure!(
                broken.clients >= 1 && broken.clients <= clients,
                "{} broken clients is not between 1 and the {clients} clients",
                broken.clients
            );
            ensure!(broken.period_s >= 1, "a broken client's period is at least 1 second");
        }
        for injection in &self.injections {
            self.check_injection(injection).map_err(|e| {
                anyhow::anyhow!("{} {}: {e}", injection.kind.flag(), injection.code)
            })?;
        }
        Ok(())
    }
}

fn code_count(codes: &RangeInclusive<i64>) -> u64 {
    (i128::from(*codes.end()) - i128::from(*codes.start()) + 1).clamp(0, i128::from(u64::MAX))
        as u64
}

/// The ground truth of a generated stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The PRNG seed.
    pub seed: u64,
    /// The number of event rows.
    pub rows: u64,
    /// The duration in seconds; offsets run over `0..=duration_s`.
    pub duration_s: u64,
    /// The first timestamp, as written in the stream.
    pub start: String,
    /// The timestamp notation: `hms`, `rfc3339` or `epoch`.
    pub timestamps: String,
    /// All builds, baseline first and canary last.
    pub builds: Vec<String>,
    /// The baseline build (the first).
    pub baseline: String,
    /// The canary build (the last), the one that carries the injections.
    pub canary: String,
    /// The canary's share of the traffic (1 with a single build).
    pub traffic: f64,
    /// The rank exponent of the code mix as used (a multiple of 1/1024); absent for the default
    /// 1.5, so that the truth files of default streams keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_exponent: Option<f64>,
    /// The client bursts and the dispersion they imply; absent without bursts (dispersion 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bursts: Option<BurstTruth>,
    /// The number of clients of each build, baseline first, when the rows name their client;
    /// absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<u64>>,
    /// The clients whose error lasts the whole stream; absent without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_clients: Option<Vec<BrokenTruth>>,
    /// Every code of the range, in code order, with its rank and base rate.
    pub codes: Vec<CodeTruth>,
    /// Every injection, in the order given.
    pub injections: Vec<InjectionTruth>,
}

/// One client whose error lasts the whole stream, as generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokenTruth {
    /// Its label in the client column.
    pub client: String,
    /// Its build.
    pub build: String,
    /// The code it sends.
    #[serde(with = "code_serde")]
    pub code: Code,
    /// The seconds between its events.
    pub period_s: u64,
    /// Its first event's offset from the start, in seconds.
    pub first_s: u64,
    /// Its events in the stream.
    pub events: u64,
}

/// The client bursts of a stream, as generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurstTruth {
    /// The share of the rows in bursts, as asked.
    pub share: f64,
    /// The number of rows in bursts: `round(share x rows)`.
    pub burst_events: u64,
    /// The mean burst size asked for.
    pub mean_size: f64,
    /// `geometric` or `pareto`.
    pub shape: BurstShape,
    /// `uniform` when the bursts' codes are drawn uniformly; absent for `mix`, the default, so
    /// that the truth files of streams whose bursts follow the code mix keep their bytes.
    #[serde(default, skip_serializing_if = "BurstCodes::is_mix")]
    pub codes: BurstCodes,
    /// The tail index of a Pareto shape (`P(N >= k)` falls as `k^-tail_index`); absent for a
    /// geometric one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_index: Option<f64>,
    /// The largest burst size.
    pub max_size: u64,
    /// The longest span of a burst, in seconds.
    pub spread_s: u64,
    /// `E[N]` of the sizes as sampled (the cap moves it slightly from `mean_size`), rounded to
    /// 0.001.
    pub size_mean: f64,
    /// `E[N^2] / E[N]` of the sizes as sampled: the index of dispersion of a count made of
    /// bursts only, rounded to 0.001.
    pub size_second_moment_ratio: f64,
    /// The index of dispersion of one code's counts in one build over windows longer than
    /// `spread_s`, rounded to 0.001. When the bursts follow the code mix it is every code's:
    /// `(1 - share) + share x E[N^2] / E[N]`. When their codes are uniform it is the mean of
    /// the codes' [`CodeDispersion::dispersion`], each weighted by the code's expected events
    /// (single and burst).
    pub dispersion: f64,
    /// With uniform burst codes, each code's index of dispersion, in code order (the range's
    /// codes; a new code gets no bursts, so its index is 1); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispersion_by_code: Option<Vec<CodeDispersion>>,
}

/// One code's index of dispersion when the bursts' codes are uniform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeDispersion {
    /// The code.
    #[serde(with = "code_serde")]
    pub code: Code,
    /// The index of dispersion of its counts in one build over windows longer than the spread,
    /// `(S + U x E[N^2] / E[N]) / (S + U)`: `S` its expected single events over the stream at its
    /// base rate (outside any injection span, summed over the builds; the broken clients' events
    /// are not single events), `U = burst_events / K` its expected burst events among the `K`
    /// codes of the range; rounded to 0.001 (1 with no events).
    pub dispersion: f64,
}

/// The base rate of one code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeTruth {
    /// The code.
    #[serde(with = "code_serde")]
    pub code: Code,
    /// Its frequency rank, 1 for the most frequent.
    pub rank: u64,
    /// Expected events per hour of the code summed over all builds, outside any injection span
    /// (normalised by the total weight of the whole stream, injections included; with uniform
    /// burst codes, its single events' share of the rows outside the bursts plus its share of the
    /// bursts), rounded to 0.001.
    pub base_rate_per_hour: f64,
}

/// One injection as generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectionTruth {
    /// `regression`, `new_code` or `improvement`.
    pub kind: Kind,
    /// The code.
    #[serde(with = "code_serde")]
    pub code: Code,
    /// First second of the span, offset from the start.
    pub start_s: u64,
    /// Last second of the span (inclusive), offset from the start.
    pub end_s: u64,
    /// Multiplier (regression), divisor (improvement) or rate relative to the median base weight
    /// (new code).
    pub factor: f64,
    /// Expected events per hour of the code in the baseline build at `start_s`, rounded to 0.001.
    pub baseline_rate_per_hour: f64,
    /// Expected events per hour of the code in the canary build at `start_s` (with every injection
    /// active there), rounded to 0.001.
    pub canary_rate_per_hour: f64,
}

/// Serializes integer codes as JSON integers and labels as strings.
mod code_serde {
    use super::Code;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Int(i64),
        Label(String),
    }

    pub fn serialize<S: Serializer>(code: &Code, s: S) -> Result<S::Ok, S::Error> {
        match code {
            Code::Int(n) => Repr::Int(*n),
            Code::Label(l) => Repr::Label(l.clone()),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Int(n) => Code::Int(n),
            Repr::Label(l) => Code::parse(&l),
        })
    }
}

/// A span of seconds over which the set of active injections is constant.
#[derive(Debug, Clone)]
struct Segment {
    /// First second (offset).
    first: u64,
    /// Number of seconds.
    seconds: u64,
    /// Cumulative weights over the cells of one second: `cum[i]` is the sum of cells `0..=i`.
    cum: Vec<u64>,
    /// Weight of one second: the last entry of `cum`.
    per_second: u64,
    /// End of the segment on the stream's cumulative axis.
    cum_end: u64,
}

impl Segment {
    fn weight(&self, cell: usize) -> u64 {
        self.cum[cell] - if cell == 0 { 0 } else { self.cum[cell - 1] }
    }

    /// The weight of each cell in one second of the segment.
    fn weights(&self) -> Vec<u64> {
        (0..self.cum.len()).map(|cell| self.weight(cell)).collect()
    }
}

/// The cell of a burst whose codes are uniform ([`BurstCodes::Uniform`]), anchored in a second of
/// `segment`: its code drawn uniformly among the first `codes` (the range's), then its build with
/// odds proportional to that code's cells' weights in the segment. If that code's cells all weigh
/// 0 there (a weight rounded to nothing, in extreme configurations), no build can be drawn, and
/// the burst stays on `anchor`, the cell drawn with the usual weights.
fn uniform_burst_cell(
    segment: &Segment,
    codes: usize,
    builds: usize,
    anchor: usize,
    rng: &mut ChaCha8Rng,
) -> usize {
    let first = below(rng, codes as u64) as usize * builds;
    let before = if first == 0 { 0 } else { segment.cum[first - 1] };
    let weight = segment.cum[first + builds - 1] - before;
    if weight == 0 {
        return anchor;
    }
    let u = before + below(rng, weight);
    segment.cum.partition_point(|&c| c <= u)
}

/// One second's cell weights, as the truth's expected rates need them.
struct SecondWeights<'a> {
    /// The weight of each cell.
    cells: &'a [u64],
    /// Their sum.
    per_second: u64,
    /// How many of the range's codes weigh nothing in that second: with uniform burst codes,
    /// their bursts stay on the cells drawn with the usual weights.
    weightless: u64,
}

/// A configured generator: the weight tables and the PRNG, ready to write one stream.
pub struct Generator {
    config: Config,
    rng: ChaCha8Rng,
    /// All codes: the range in order, then the new codes in code order.
    codes: Vec<Code>,
    /// Rank of each range code (1 = most frequent).
    ranks: Vec<u64>,
    segments: Vec<Segment>,
    /// Weight of each cell in one second without any injection.
    plain: Vec<u64>,
    total: u64,
    /// The burst-size table, with bursts.
    sizes: Option<SizeTable>,
    /// The clients of each build, with a client column.
    clients: Option<Clients>,
    /// The broken clients, with [`Config::broken`].
    broken: Vec<BrokenClient>,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("config", &self.config)
            .field("segments", &self.segments.len())
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Weight of code rank `k` (1-based) with the default exponent: `round(W / (k * sqrt(k)))`, at
/// least 1.
pub fn base_weight(rank: u64) -> u64 {
    base_weight_with(rank, exponent_steps(DEFAULT_CODE_EXPONENT))
}

/// Weight of code rank `k` (1-based) with the exponent `steps / EXPONENT_STEPS`:
/// `round(W / k^s)`, at least 1.
pub fn base_weight_with(rank: u64, steps: u32) -> u64 {
    ((BASE_WEIGHT / rank_power(rank as f64, steps)).round() as u64).max(1)
}

/// A rank exponent as a whole number of 1/[`EXPONENT_STEPS`].
pub fn exponent_steps(exponent: f64) -> u32 {
    (exponent * f64::from(EXPONENT_STEPS)).round() as u32
}

/// `k^(steps / 1024)` from correctly rounded operations only, in a fixed order: `k` multiplied
/// by itself for the whole part, then by `k^(1/2^j)` (`j` square roots) for each set bit of the
/// fraction, from the half down. `steps = 1536` gives `k * sqrt(k)`, the seed's formula.
pub fn rank_power(k: f64, steps: u32) -> f64 {
    let mut power = 1.0;
    for _ in 0..steps / EXPONENT_STEPS {
        power *= k;
    }
    let fraction = steps % EXPONENT_STEPS;
    let mut root = k;
    let mut bit = EXPONENT_STEPS / 2;
    while bit > 0 {
        root = root.sqrt();
        if fraction & bit != 0 {
            power *= root;
        }
        bit /= 2;
    }
    power
}

/// A uniform integer in `0..n` (`n > 0`) from the raw output, by Lemire's method: no modulo bias.
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

impl Generator {
    /// Validates the configuration, draws the code ranks and builds the weight tables.
    pub fn new(config: Config) -> Result<Generator> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let range_len = code_count(&config.codes) as usize;
        let mut codes: Vec<Code> = config.codes.clone().map(Code::Int).collect();
        let mut new_codes: Vec<Code> = config
            .injections
            .iter()
            .filter(|i| i.kind == Kind::NewCode)
            .map(|i| i.code.clone())
            .collect();
        new_codes.sort();
        new_codes.dedup();
        codes.extend(new_codes);

        // Ranks: a seeded Fisher-Yates permutation of the range codes.
        let mut order: Vec<usize> = (0..range_len).collect();
        for i in (1..range_len).rev() {
            let j = below(&mut rng, i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let mut ranks = vec![0u64; range_len];
        for (position, &code) in order.iter().enumerate() {
            ranks[code] = position as u64 + 1;
        }
        let steps = exponent_steps(config.code_exponent);
        let base: Vec<f64> = ranks.iter().map(|&k| base_weight_with(k, steps) as f64).collect();
        let mut sorted: Vec<u64> = ranks.iter().map(|&k| base_weight_with(k, steps)).collect();
        sorted.sort_unstable();
        let median = sorted[(sorted.len() - 1) / 2] as f64;

        let builds = config.builds.len();
        let canary = builds - 1;
        let shares: Vec<f64> = if builds == 1 {
            vec![1.0]
        } else {
            (0..builds)
                .map(|b| {
                    if b == canary {
                        config.traffic
                    } else {
                        (1.0 - config.traffic) / (canary as f64)
                    }
                })
                .collect()
        };
        let cells = codes.len() * builds;
        let seconds = config.duration_s + 1;
        ensure!(
            seconds.checked_mul(cells as u64).is_some_and(|n| n <= MAX_TABLE_CELLS),
            "{seconds} seconds x {} builds x {} codes is more than the {MAX_TABLE_CELLS} counters \
             supported; shorten the duration or use fewer codes",
            builds,
            codes.len()
        );

        // The weights of one second given the active injections.
        let weights = |active: &[&Injection]| -> Result<Vec<u64>> {
            let mut out = Vec::with_capacity(cells);
            for (c, code) in codes.iter().enumerate() {
                for (b, &share) in shares.iter().enumerate() {
                    let mut w = if c < range_len { base[c] } else { 0.0 };
                    if b == canary {
                        for i in
                            active.iter().filter(|i| i.kind == Kind::NewCode && i.code == *code)
                        {
                            w += median * i.factor;
                        }
                        for i in active.iter().filter(|i| i.code == *code) {
                            match i.kind {
                                Kind::Regression => w *= i.factor,
                                Kind::Improvement => w /= i.factor,
                                Kind::NewCode => {}
                            }
                        }
                    }
                    let w = (w * share).round();
                    ensure!(w < 9.0e15, "a weight overflows: injection factors are too large");
                    out.push(w as u64);
                }
            }
            Ok(out)
        };
        let plain = weights(&[])?;

        let mut bounds = vec![0, seconds];
        for i in &config.injections {
            bounds.push(i.start_s);
            bounds.push(i.end_s + 1);
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut segments = Vec::with_capacity(bounds.len() - 1);
        let mut total: u64 = 0;
        let overflow =
            || anyhow::anyhow!("the total weight overflows: too many seconds or too large factors");
        for pair in bounds.windows(2) {
            let (first, end) = (pair[0], pair[1]);
            let active: Vec<&Injection> = config
                .injections
                .iter()
                .filter(|i| i.start_s <= first && end - 1 <= i.end_s)
                .collect();
            let mut cum = weights(&active)?;
            let mut sum: u64 = 0;
            for w in &mut cum {
                sum = sum.checked_add(*w).ok_or_else(overflow)?;
                *w = sum;
            }
            let span = sum.checked_mul(end - first).ok_or_else(overflow)?;
            total = total.checked_add(span).ok_or_else(overflow)?;
            segments.push(Segment {
                first,
                seconds: end - first,
                cum,
                per_second: sum,
                cum_end: total,
            });
        }
        if config.rows > 0 && total == 0 {
            bail!("every weight rounds to zero: no event can be drawn");
        }
        let sizes = config.bursts.map(|b| SizeTable::new(b.shape, b.mean));
        let clients = config.clients.map(|n| Clients::new(n, &config));
        let broken = match (config.broken, &clients) {
            (Some(broken), Some(clients)) => draw_broken(&config, broken, clients, range_len),
            _ => Vec::new(),
        };
        let generator =
            Generator { config, rng, codes, ranks, segments, plain, total, sizes, clients, broken };
        let room = generator.config.rows - generator.burst_events();
        ensure!(
            generator.broken_events() <= room,
            "the broken clients send {} events, more than the {room} rows left beside the bursts",
            generator.broken_events()
        );
        Ok(generator)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Expected events per hour of a weight per second.
    fn per_hour(&self, weight: u64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rate = self.config.rows as f64 * 3600.0 * weight as f64 / self.total as f64;
        (rate * 1000.0).round() / 1000.0
    }

    /// Whether the bursts' codes are drawn uniformly ([`BurstCodes::Uniform`]).
    fn uniform_bursts(&self) -> bool {
        self.config.bursts.is_some_and(|b| b.codes == BurstCodes::Uniform)
    }

    /// One second's cell weights with what the expected rates need of them.
    fn second_weights<'a>(&self, cells: &'a [u64]) -> SecondWeights<'a> {
        let builds = self.config.builds.len();
        let weightless = if self.uniform_bursts() {
            let codes = cells[..self.ranks.len() * builds].chunks_exact(builds);
            codes.filter(|code| code.iter().all(|&w| w == 0)).count() as u64
        } else {
            0
        };
        SecondWeights { cells, per_second: cells.iter().sum(), weightless }
    }

    /// Expected events per hour of `cells` (cells of one code) in a second of weights `second`,
    /// rounded to 0.001. The events drawn by weight give `rows x weight / total`; with uniform
    /// burst codes only the rows outside the bursts are drawn so, and each cell adds its share of
    /// its code's bursts anchored in that second: `B / K` bursts' events per code, in that second
    /// with chance `per_second / total`, on the cell with the odds of its weight among its
    /// code's (module docs, "Bursts").
    fn expected_per_hour(&self, second: &SecondWeights, cells: Range<usize>) -> f64 {
        let weight: u64 = second.cells[cells.clone()].iter().sum();
        if !self.uniform_bursts() || self.total == 0 {
            return self.per_hour(weight);
        }
        let builds = self.config.builds.len();
        let codes = self.ranks.len();
        let total = self.total as f64;
        let bursts = self.burst_events() as f64;
        let per_code = bursts / codes as f64;
        let code = cells.start / builds;
        let code_weight: u64 = second.cells[code * builds..(code + 1) * builds].iter().sum();
        let mut rate = (self.config.rows as f64 - bursts) * weight as f64 / total;
        if code < codes && code_weight > 0 {
            let anchored = per_code * second.per_second as f64 / total;
            rate += anchored * weight as f64 / code_weight as f64;
        }
        // The bursts of the codes that weigh nothing here stay where the usual weights put them.
        rate += per_code * second.weightless as f64 * weight as f64 / total;
        (rate * 3600.0 * 1000.0).round() / 1000.0
    }

    /// The ground truth of the stream this generator writes.
    pub fn truth(&self) -> Truth {
        let config = &self.config;
        let builds = config.builds.len();
        let plain = self.second_weights(&self.plain);
        let codes = self
            .ranks
            .iter()
            .enumerate()
            .map(|(c, &rank)| CodeTruth {
                code: self.codes[c].clone(),
                rank,
                base_rate_per_hour: self.expected_per_hour(&plain, c * builds..(c + 1) * builds),
            })
            .collect();
        let injections = config
            .injections
            .iter()
            .map(|i| {
                let c = self.codes.iter().position(|code| *code == i.code).unwrap_or(0);
                let weights = self.segments[self.segment_of_second(i.start_s)].weights();
                let second = self.second_weights(&weights);
                let (baseline, canary) = (c * builds, c * builds + builds - 1);
                InjectionTruth {
                    kind: i.kind,
                    code: i.code.clone(),
                    start_s: i.start_s,
                    end_s: i.end_s,
                    factor: i.factor,
                    baseline_rate_per_hour: self.expected_per_hour(&second, baseline..baseline + 1),
                    canary_rate_per_hour: self.expected_per_hour(&second, canary..canary + 1),
                }
            })
            .collect();
        Truth {
            seed: config.seed,
            rows: config.rows,
            duration_s: config.duration_s,
            start: config.notation.format(config.start),
            timestamps: config.timestamps_name().to_string(),
            builds: config.builds.clone(),
            baseline: config.builds[0].clone(),
            canary: config.builds[builds - 1].clone(),
            traffic: if builds == 1 { 1.0 } else { config.traffic },
            code_exponent: {
                let steps = exponent_steps(config.code_exponent);
                (steps != exponent_steps(DEFAULT_CODE_EXPONENT))
                    .then(|| f64::from(steps) / f64::from(EXPONENT_STEPS))
            },
            bursts: self.burst_truth(),
            clients: self.clients.as_ref().map(|c| c.per_build.clone()),
            broken_clients: self.broken_truth(),
            codes,
            injections,
        }
    }

    /// The number of rows the broken clients send.
    fn broken_events(&self) -> u64 {
        let (duration, period) = (self.config.duration_s, self.broken_period());
        self.broken.iter().map(|b| b.seconds(duration, period).count() as u64).sum()
    }

    fn broken_period(&self) -> u64 {
        self.config.broken.map_or(DEFAULT_BROKEN_PERIOD_S, |b| b.period_s)
    }

    fn broken_truth(&self) -> Option<Vec<BrokenTruth>> {
        self.config.broken?;
        let (duration, period) = (self.config.duration_s, self.broken_period());
        let truth = self.broken.iter().map(|b| BrokenTruth {
            client: format!("c{}", b.client),
            build: self.config.builds[b.build].clone(),
            code: self.codes[b.code].clone(),
            period_s: period,
            first_s: b.phase,
            events: b.seconds(duration, period).count() as u64,
        });
        Some(truth.collect())
    }

    /// The number of rows that arrive in bursts.
    fn burst_events(&self) -> u64 {
        self.config.bursts.map_or(0, |b| {
            ((b.share * self.config.rows as f64).round() as u64).min(self.config.rows)
        })
    }

    fn burst_truth(&self) -> Option<BurstTruth> {
        let (bursts, sizes) = (self.config.bursts?, self.sizes.as_ref()?);
        let (first, second) = sizes.moments();
        let ratio = second / first;
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        let mut dispersion = (1.0 - bursts.share) + bursts.share * ratio;
        let mut dispersion_by_code = None;
        if bursts.codes == BurstCodes::Uniform {
            let by_code = self.code_events(ratio);
            let events: f64 = by_code.iter().map(|&(events, _)| events).sum();
            dispersion = if events > 0.0 {
                by_code.iter().map(|&(events, d)| events * d).sum::<f64>() / events
            } else {
                1.0
            };
            let listed = by_code
                .iter()
                .zip(&self.codes)
                .map(|(&(_, d), code)| CodeDispersion { code: code.clone(), dispersion: round(d) });
            dispersion_by_code = Some(listed.collect());
        }
        Some(BurstTruth {
            share: bursts.share,
            burst_events: self.burst_events(),
            mean_size: bursts.mean,
            shape: bursts.shape,
            codes: bursts.codes,
            tail_index: (bursts.shape == BurstShape::Pareto).then_some(PARETO_TAIL_INDEX),
            max_size: sizes.cum.len() as u64,
            spread_s: bursts.spread_s,
            size_mean: round(first),
            size_second_moment_ratio: round(ratio),
            dispersion: round(dispersion),
            dispersion_by_code,
        })
    }

    /// With uniform burst codes, each range code's expected events over the stream (single and
    /// burst, at its base rate) and index of dispersion ([`CodeDispersion::dispersion`]), given
    /// the sizes' `E[N^2] / E[N]`.
    fn code_events(&self, size_ratio: f64) -> Vec<(f64, f64)> {
        let builds = self.config.builds.len();
        let codes = self.ranks.len();
        let bursts = self.burst_events();
        let singles = (self.config.rows - bursts - self.broken_events()) as f64;
        let seconds = (self.config.duration_s + 1) as f64;
        let burst_events = bursts as f64 / codes as f64;
        self.plain[..codes * builds]
            .chunks_exact(builds)
            .map(|code| {
                let weight: u64 = code.iter().sum();
                let single_events = match self.total {
                    0 => 0.0,
                    total => singles * seconds * weight as f64 / total as f64,
                };
                let events = single_events + burst_events;
                let dispersion = if events > 0.0 {
                    (single_events + burst_events * size_ratio) / events
                } else {
                    1.0
                };
                (events, dispersion)
            })
            .collect()
    }

    fn segment_of_second(&self, second: u64) -> usize {
        self.segments.partition_point(|s| s.first + s.seconds <= second)
    }

    /// The integer weight of one cell at a second (an offset): the code in the build with that
    /// index (0 is the baseline); 0 for an unknown code or a second past the end.
    pub fn weight(&self, second: u64, code: &Code, build: usize) -> u64 {
        let Some(c) = self.codes.iter().position(|x| x == code) else { return 0 };
        let Some(segment) = self.segments.get(self.segment_of_second(second)) else { return 0 };
        segment.weight(c * self.config.builds.len() + build)
    }

    /// The total weight of the stream: the sum of all cell weights over all seconds.
    pub fn total_weight(&self) -> u64 {
        self.total
    }

    /// Writes the stream (header and `rows` events) and flushes the writer.
    ///
    /// Output goes out in chunks of about 1 MiB, so the writer needs no buffer of its own.
    pub fn write<W: Write + ?Sized>(mut self, out: &mut W) -> io::Result<()> {
        out.write_all(match self.clients {
            Some(_) => b"Timestamp,Build_Version,Error_Code,client_id\n".as_slice(),
            None => b"Timestamp,Build_Version,Error_Code\n".as_slice(),
        })?;
        let builds = self.config.builds.len();
        let cells = self.codes.len() * builds;
        let seconds = self.config.duration_s + 1;
        let mut counts = vec![0u32; (seconds as usize) * cells];
        // First pass: one multinomial draw of the single events over (second, cell), then the
        // bursts, each anchored on a cell drawn the same way (with uniform burst codes, only its
        // second is kept).
        let burst_events = self.burst_events();
        let mut burst_clients: Vec<(u32, u32, u64)> = Vec::new();
        let segments = &self.segments;
        let total = self.total;
        let draw_cell = |rng: &mut ChaCha8Rng| {
            let u = below(rng, total);
            let segment = &segments[segments.partition_point(|s| s.cum_end <= u)];
            let r = u - (segment.cum_end - segment.per_second * segment.seconds);
            let second = segment.first + r / segment.per_second;
            let w = r % segment.per_second;
            (second, segment.cum.partition_point(|&c| c <= w), segment)
        };
        for _ in 0..self.config.rows - burst_events - self.broken_events() {
            let (second, cell, _) = draw_cell(&mut self.rng);
            counts[second as usize * cells + cell] += 1;
        }
        if let (Some(bursts), Some(sizes)) = (self.config.bursts, &self.sizes) {
            let range_codes = self.ranks.len();
            let mut left = burst_events;
            while left > 0 {
                let (anchor, cell, segment) = draw_cell(&mut self.rng);
                let cell = match bursts.codes {
                    BurstCodes::Mix => cell,
                    BurstCodes::Uniform => {
                        uniform_burst_cell(segment, range_codes, builds, cell, &mut self.rng)
                    }
                };
                let size = sizes.draw(&mut self.rng).min(left);
                let span = (1 + below(&mut self.rng, bursts.spread_s)).min(seconds);
                let first = anchor.min(seconds - span);
                let client = self.clients.as_mut().map(|c| c.draw(cell % builds));
                for _ in 0..size {
                    let second = first + below(&mut self.rng, span);
                    counts[second as usize * cells + cell] += 1;
                    if let Some(client) = client {
                        burst_clients.push((second as u32, cell as u32, client));
                    }
                }
                left -= size;
            }
        }
        let (duration, period) = (self.config.duration_s, self.broken_period());
        for broken in &self.broken {
            let cell = broken.code * builds + broken.build;
            for second in broken.seconds(duration, period) {
                counts[second as usize * cells + cell] += 1;
                burst_clients.push((second as u32, cell as u32, broken.client));
            }
        }
        // The clients of the bursts' and the broken clients' events, by second and cell (in the
        // order drawn within one).
        burst_clients.sort_by_key(|&(second, cell, _)| (second, cell));
        let mut burst_clients = burst_clients.into_iter().peekable();
        let mut in_second: Vec<(u32, u64)> = Vec::new();
        // Second pass: each second's events in a shuffled order.
        let suffixes: Vec<Vec<u8>> = (0..cells)
            .map(|cell| {
                format!(",{},{}\n", self.config.builds[cell % builds], self.codes[cell / builds])
                    .into_bytes()
            })
            .collect();
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
        let mut events: Vec<u32> = Vec::new();
        for (second, row) in counts.chunks_exact(cells).enumerate() {
            events.clear();
            for (cell, &n) in row.iter().enumerate() {
                events.extend(std::iter::repeat_n(cell as u32, n as usize));
            }
            if events.is_empty() {
                continue;
            }
            for i in (1..events.len()).rev() {
                let j = below(&mut self.rng, i as u64 + 1) as usize;
                events.swap(i, j);
            }
            let stamp = self.config.notation.format(self.config.start + second as i64);
            let stamp = stamp.as_bytes();
            in_second.clear();
            while let Some(&(_, cell, client)) =
                burst_clients.peek().filter(|&&(s, _, _)| s as usize == second)
            {
                in_second.push((cell, client));
                burst_clients.next();
            }
            for &cell in &events {
                buf.extend_from_slice(stamp);
                buf.extend_from_slice(&suffixes[cell as usize]);
                if let Some(clients) = &mut self.clients {
                    // A burst's event if one of this cell is left, else a single event.
                    let client = match in_second.iter().position(|&(c, _)| c == cell) {
                        Some(i) => in_second.swap_remove(i).1,
                        None => clients.draw(cell as usize % builds),
                    };
                    buf.pop();
                    writeln!(buf, ",c{client}")?;
                }
                if buf.len() >= CHUNK {
                    out.write_all(&buf)?;
                    buf.clear();
                }
            }
        }
        out.write_all(&buf)?;
        out.flush()
    }
}

/// Generates the stream of `config` into `out` and returns its ground truth.
pub fn generate<W: Write + ?Sized>(config: Config, out: &mut W) -> Result<Truth> {
    let generator = Generator::new(config)?;
    let truth = generator.truth();
    generator.write(out)?;
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inject(spec: &str) -> Result<Injection, String> {
        Injection::parse(Kind::Regression, spec)
    }

    #[test]
    fn parses_inject_specs() {
        let i = inject("3:0:52:00-0:59:59:x4").unwrap();
        assert_eq!(i.kind, Kind::Regression);
        assert_eq!(i.code, Code::Int(3));
        assert_eq!((i.start_s, i.end_s), (3120, 3599));
        assert_eq!(i.factor, 4.0);
        let i = inject("-17:600-1200:2.5").unwrap();
        assert_eq!(i.code, Code::Int(-17));
        assert_eq!((i.start_s, i.end_s, i.factor), (600, 1200, 2.5));
        let i = inject("-3:0:10:00-900:X3").unwrap();
        assert_eq!((i.code, i.start_s, i.end_s, i.factor), (Code::Int(-3), 600, 900, 3.0));
        let i = Injection::parse(Kind::Improvement, "5:0-1:00:00:x4").unwrap();
        assert_eq!((i.kind, i.start_s, i.end_s, i.factor), (Kind::Improvement, 0, 3600, 4.0));
    }

    #[test]
    fn parses_new_code_specs_with_and_without_a_factor() {
        let i = Injection::parse(Kind::NewCode, "21:0:35:00-0:50:00").unwrap();
        assert_eq!((i.code, i.start_s, i.end_s, i.factor), (Code::Int(21), 2100, 3000, 1.0));
        let i = Injection::parse(Kind::NewCode, "-40:100-200:x0.5").unwrap();
        assert_eq!((i.code, i.start_s, i.end_s, i.factor), (Code::Int(-40), 100, 200, 0.5));
        let i = Injection::parse(Kind::NewCode, "E_TIMEOUT:100-200").unwrap();
        assert_eq!(i.code, Code::Label("E_TIMEOUT".into()));
        assert!(Injection::parse(Kind::NewCode, "E,X:100-200").is_err());
        assert!(Injection::parse(Kind::NewCode, "9:100-200:x0").is_err());
    }

    #[test]
    fn rejects_malformed_specs() {
        for bad in [
            "3",
            ":0-10:x2",
            "3:0-10",
            "3:10-0:x2",
            "3:0:10-20:x2",
            "3:0-10:x",
            "3:0-10:xabc",
            "3:0-10:x0",
            "3:0-10:x-2",
            "3:0-10:x1",
            "3:0-10:xinf",
            "3:a-10:x2",
            "3:0:61:00-0:62:00:x2",
            "E_X:0-10:x2",
        ] {
            assert!(inject(bad).is_err(), "{bad} should not parse");
        }
        assert!(Injection::parse(Kind::Improvement, "3:0-10:x0.5").is_err());
    }

    #[test]
    fn base_weights_are_heavy_tailed() {
        assert_eq!(base_weight(1), 1 << 30);
        assert_eq!(base_weight(4), 1 << 27);
        assert_eq!(base_weight(9), ((1u64 << 30) as f64 / 27.0).round() as u64);
        for k in 1..100 {
            assert!(base_weight(k) > base_weight(k + 1));
        }
        // Rank 1 weighs as much as ranks 10..=33 together, roughly.
        let tail: u64 = (10..=33).map(base_weight).sum();
        assert!(tail < base_weight(1), "{tail}");
    }

    #[test]
    fn rank_powers_keep_the_seed_formula_and_follow_the_exponent() {
        // The default must be the first version's `k * sqrt(k)` to the last bit.
        for k in 1..=5000u64 {
            let k = k as f64;
            assert_eq!(rank_power(k, 1536).to_bits(), (k * k.sqrt()).to_bits(), "{k}");
        }
        assert_eq!(exponent_steps(1.5), 1536);
        assert_eq!(rank_power(7.0, 1024), 7.0);
        assert_eq!(rank_power(9.0, 2048), 81.0);
        assert_eq!(rank_power(16.0, 256), 2.0); // 16^(1/4)
        assert_eq!(rank_power(16.0, 768), 8.0); // 16^(3/4) = 4 x 2
        // 0.8 rounds to 819/1024; within 1e-12 of powf in relative terms.
        let steps = exponent_steps(0.8);
        assert_eq!(steps, 819);
        let exact = 10f64.powf(819.0 / 1024.0);
        assert!((rank_power(10.0, steps) / exact - 1.0).abs() < 1e-12);
        // Exponent 1: Zipf's law, rank 4 weighs a quarter of rank 1.
        assert_eq!(base_weight_with(4, 1024), 1 << 28);
    }

    #[test]
    fn a_smaller_exponent_gives_a_heavier_tail() {
        let tail = |steps| -> f64 {
            let all: u64 = (1..=33).map(|k| base_weight_with(k, steps)).sum();
            (6..=33).map(|k| base_weight_with(k, steps)).sum::<u64>() as f64 / all as f64
        };
        // Ranks 6..=33 hold 22.34% of the weight at 1.5 and 44.16% at 1.0 (sums of k^-s).
        assert!((tail(1536) - 0.2234).abs() < 1e-4, "{}", tail(1536));
        assert!((tail(1024) - 0.4416).abs() < 1e-4, "{}", tail(1024));
    }

    #[test]
    fn burst_sizes_have_the_asked_mean_and_the_stated_dispersion() {
        // Geometric with mean m: E[N^2] / E[N] = (2 - p) / p = 2m - 1.
        let table = SizeTable::new(BurstShape::Geometric, 16.0);
        assert_eq!(table.cum.len(), 1600);
        let (mean, second) = table.moments();
        assert!((mean - 16.0).abs() < 1e-6, "{mean}");
        assert!((second / mean - 31.0).abs() < 1e-6, "{}", second / mean);
        // Mean 1: every burst is a single event.
        let table = SizeTable::new(BurstShape::Geometric, 1.0);
        assert_eq!(table.moments(), (1.0, 1.0));
        // Pareto: the same mean, a far larger second moment.
        let table = SizeTable::new(BurstShape::Pareto, 16.0);
        let (mean, second) = table.moments();
        assert!((mean - 16.0).abs() < 1e-3, "{mean}");
        assert!(second / mean > 100.0, "{}", second / mean);
        // Survival of the Pareto table: S(k) = (l / (l + k - 1))^1.5, so S(k+1) / S(k) rises to 1.
        let p = |k: usize| table.cum[k] - table.cum[k - 1];
        assert!(p(1) > p(2) && p(2) > p(10) && p(10) > p(100));
        // Drawn sizes average to the mean.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let geometric = SizeTable::new(BurstShape::Geometric, 4.0);
        let draws: u64 = (0..40_000).map(|_| geometric.draw(&mut rng)).sum();
        // sd of the mean of 40000 geometric sizes of mean 4: sqrt(12 / 40000) = 0.017.
        assert!((draws as f64 / 40_000.0 - 4.0).abs() < 0.07, "{draws}");
    }

    #[test]
    fn bursts_keep_the_row_count_and_the_truth_states_them() {
        let bursts = Bursts {
            share: 0.3,
            mean: 8.0,
            spread_s: 10,
            shape: BurstShape::Geometric,
            codes: BurstCodes::Mix,
        };
        let config = Config { rows: 5000, bursts: Some(bursts), ..Config::default() };
        let mut out = Vec::new();
        let truth = generate(config, &mut out).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 5001);
        let bursts = truth.bursts.unwrap();
        assert_eq!(bursts.burst_events, 1500);
        // (1 - 0.3) + 0.3 x (2 x 8 - 1) = 5.2.
        assert_eq!(bursts.dispersion, 5.2);
        assert_eq!(bursts.max_size, 800);
        assert_eq!(bursts.tail_index, None);
    }

    #[test]
    fn a_uniform_burst_takes_its_build_by_its_codes_weights() {
        // Two codes on two builds: code 0 weighs 1 on the baseline and 3 on the canary, code 1
        // nothing. Half the bursts draw code 0 and split 1 to 3; the other half draw code 1,
        // which has no build to give, and stay on the anchor cell (here the canary's of code 0).
        let segment =
            Segment { first: 0, seconds: 1, cum: vec![1, 4, 4, 4], per_second: 4, cum_end: 4 };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut drawn = [0u32; 4];
        for _ in 0..4000 {
            drawn[uniform_burst_cell(&segment, 2, 2, 1, &mut rng)] += 1;
        }
        // Cell 0 expects 4000 / 8 = 500, sd 21.
        assert_eq!((drawn[2], drawn[3]), (0, 0));
        assert!((415..585).contains(&drawn[0]), "{drawn:?}");
    }

    #[test]
    fn uniform_burst_codes_keep_the_rates_summed_and_the_mean_dispersion() {
        let bursts = Bursts {
            share: 0.3,
            mean: 8.0,
            spread_s: 10,
            shape: BurstShape::Geometric,
            codes: BurstCodes::Uniform,
        };
        let config = Config { rows: 5000, bursts: Some(bursts), ..Config::default() };
        let mut out = Vec::new();
        let truth = generate(config, &mut out).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 5001);
        // The bursts move events between codes, not in or out: the base rates still add up to
        // the rows, 5000 over 3601 s, per hour (to the rounding of 33 rates).
        let sum: f64 = truth.codes.iter().map(|c| c.base_rate_per_hour).sum();
        assert!((sum - 5000.0 * 3600.0 / 3601.0).abs() < 0.02, "{sum}");
        // Without injections the codes' single events add up to the rows outside the bursts, so
        // their mean dispersion weighted by events is the mix's: 0.7 + 0.3 x 15 = 5.2.
        let bursts = truth.bursts.unwrap();
        assert_eq!(bursts.codes, BurstCodes::Uniform);
        assert_eq!(bursts.dispersion, 5.2);
        // Every code has 1500 / 33 burst events; the rarer, the fewer single ones beside them.
        let by_code = bursts.dispersion_by_code.unwrap();
        assert_eq!(by_code.len(), 33);
        let mut by_rank: Vec<(u64, f64)> =
            truth.codes.iter().zip(&by_code).map(|(c, d)| (c.rank, d.dispersion)).collect();
        by_rank.sort_by_key(|&(rank, _)| rank);
        assert!(by_rank.windows(2).all(|w| w[0].1 < w[1].1), "{by_rank:?}");
        assert!(by_rank[0].1 > 1.0 && by_rank[32].1 < 15.0, "{by_rank:?}");
    }

    #[test]
    fn ranks_are_a_permutation_and_weights_are_equal_for_both_builds() {
        let g = Generator::new(Config::default()).unwrap();
        let mut ranks = g.ranks.clone();
        ranks.sort_unstable();
        assert_eq!(ranks, (1..=33).collect::<Vec<u64>>());
        assert_eq!(g.segments.len(), 1);
        for code in -17..=15 {
            let code = Code::Int(code);
            let baseline = g.weight(0, &code, 0);
            assert!(baseline > 0);
            assert_eq!(baseline, g.weight(3600, &code, 1));
        }
        let per_second: u64 = g.plain.iter().sum();
        assert_eq!(g.total_weight(), per_second * 3601);
    }

    #[test]
    fn weight_tables_follow_the_injections() {
        let config = Config {
            traffic: 0.25,
            injections: vec![
                inject("3:100-199:x4").unwrap(),
                Injection::parse(Kind::Improvement, "3:150-299:x2").unwrap(),
                Injection::parse(Kind::NewCode, "40:200-300:x2").unwrap(),
            ],
            ..Config::default()
        };
        let g = Generator::new(config).unwrap();
        // Bounds 0, 100, 150, 200, 300, 301, 3601.
        let firsts: Vec<u64> = g.segments.iter().map(|s| s.first).collect();
        assert_eq!(firsts, [0, 100, 150, 200, 300, 301]);
        let three = Code::Int(3);
        let base = g.weight(0, &three, 0) + g.weight(0, &three, 1);
        assert_eq!(g.weight(0, &three, 1), (base as f64 * 0.25).round() as u64);
        assert_eq!(g.weight(0, &three, 0), (base as f64 * 0.75).round() as u64);
        let canary = |s| g.weight(s, &three, 1);
        let plain = canary(0) as f64;
        assert!((canary(100) as f64 / plain - 4.0).abs() < 1e-6);
        assert!((canary(199) as f64 / plain - 2.0).abs() < 1e-6);
        assert!((canary(250) as f64 / plain - 0.5).abs() < 1e-6);
        assert_eq!(canary(300), canary(0));
        for s in [0, 100, 150, 300] {
            assert_eq!(g.weight(s, &three, 0), g.weight(0, &three, 0));
        }
        let forty = Code::Int(40);
        assert_eq!(g.weight(199, &forty, 1), 0);
        assert!(g.weight(200, &forty, 1) > 0);
        assert_eq!(g.weight(250, &forty, 0), 0);
        assert_eq!(g.weight(301, &forty, 1), 0);
        let total: u64 = g.segments.iter().map(|s| s.per_second * s.seconds).sum();
        assert_eq!(total, g.total_weight());
        let truth = g.truth();
        assert_eq!(truth.codes.len(), 33);
        assert_eq!(truth.injections.len(), 3);
        assert!(
            truth.injections[0].canary_rate_per_hour > truth.injections[0].baseline_rate_per_hour
        );
    }

    #[test]
    fn bounded_draws_are_in_range_and_unbiased_enough() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut hits = [0u32; 3];
        for _ in 0..30_000 {
            hits[below(&mut rng, 3) as usize] += 1;
        }
        assert!(hits.iter().all(|&h| (9_500..10_500).contains(&h)), "{hits:?}");
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn writes_exact_rows_deterministically() {
        let config = Config { rows: 500, duration_s: 59, ..Config::default() };
        let mut a = Vec::new();
        let truth = generate(config.clone(), &mut a).unwrap();
        let mut b = Vec::new();
        generate(config, &mut b).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert_eq!(text.lines().count(), 501);
        assert_eq!(truth.rows, 500);
        let mut last = 0;
        for line in text.lines().skip(1) {
            let second = Notation::Offset.parse(line.split(',').next().unwrap()).unwrap();
            assert!(second >= last && second <= 59);
            last = second;
        }
    }

    #[test]
    fn zero_rows_writes_the_header_only() {
        let mut out = Vec::new();
        generate(Config { rows: 0, ..Config::default() }, &mut out).unwrap();
        assert_eq!(out, b"Timestamp,Build_Version,Error_Code\n");
    }

    #[test]
    fn invalid_configs_are_refused() {
        let bad = [
            Config { builds: vec![], ..Config::default() },
            Config { builds: vec!["a".into(), "a".into()], ..Config::default() },
            Config { codes: RangeInclusive::new(5, 4), ..Config::default() },
            Config { traffic: 1.0, ..Config::default() },
            Config { code_exponent: 0.0, ..Config::default() },
            Config {
                bursts: Some(Bursts {
                    share: 1.5,
                    mean: 4.0,
                    spread_s: 1,
                    shape: BurstShape::Geometric,
                    codes: BurstCodes::Uniform,
                }),
                ..Config::default()
            },
            Config { injections: vec![inject("3:3000-3601:x2").unwrap()], ..Config::default() },
            Config { injections: vec![inject("99:0-10:x2").unwrap()], ..Config::default() },
            Config {
                injections: vec![Injection::parse(Kind::NewCode, "3:0-10").unwrap()],
                ..Config::default()
            },
        ];
        for config in bad {
            assert!(Generator::new(config.clone()).is_err(), "{config:?}");
        }
    }
}
