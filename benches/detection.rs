//! Detection-quality benchmark: false alarms, recall and delay against ground truth.
//!
//! Run with `cargo bench --bench detection` (add `-- --help` for the knobs). For each scale (the
//! seed's 14000 rows an hour, and ten times that) it generates hour-long streams with
//! `errwatch generate` at fixed seeds:
//!
//! - null streams: no regression (half of them carry an improvement, which must not alert);
//! - injected streams: three random regressions each (factor log-uniform in x1.5..x10, duration
//!   uniform in 1..20 minutes, on a frequent code (rank 1-5) or a rarer one (rank 6 and up)), and in
//!   every other stream a code new in the canary;
//!
//! then runs `errwatch analyze --format json` with each rule and scores the alerts against the
//! truth files:
//!
//! - a regression is *detectable* when its expected excess over the injected span is at least 4 x
//!   the square root of the expected total events of its code in that span;
//! - it is *detected* when an alert on its code overlaps its span; the delay is `detected_at_s`
//!   minus the injected start;
//! - a *false alarm* is an alert episode that overlaps no injected regression or new code of its
//!   code; they are counted per null stream-hour (and separately on the injected streams).
//!
//! Stream families (`--families`, all by default), each at every scale:
//!
//! - `poisson`: `errwatch generate`'s default mix (rank exponent 1.5), independent events;
//! - `heavy`: a heavier-tailed code mix, `--code-exponent 1.0` (Zipf's law);
//! - `bursty-geo`: a fifth of the events in client bursts of geometric size, mean 16, over up to
//!   30 s (`--bursts 0.2:16:30`), on the null streams as on the injected ones;
//! - `bursty-pareto`: the same with heavy-tailed (Pareto, tail index 1.5) burst sizes of the same
//!   mean (`--burst-shape pareto`), so the figures are not tuned to one burst shape;
//! - `bursty-long`: geometric bursts spread over up to five minutes (`--bursts 0.2:16:300`), a
//!   client in a crash loop for minutes: longer than the dispersion's short time scale.
//! - `bursty-mixed`: every stream its own burst mix and code mix, drawn from its seed
//!   ([`mixed_flags`]): a share of bursty events from 5% to 50%, a mean burst size from 3 to 64,
//!   a spread from 5 s to 5 minutes, geometric or Pareto sizes, a rank exponent from 0.8 to 1.8.
//!   No constant of the rules was chosen on it, so it stands in for streams the rules were never
//!   tuned to.
//! - `bursty-long-clients`, `bursty-pareto-clients` and `bursty-mixed-clients`: `bursty-long`,
//!   `bursty-pareto` and `bursty-mixed`, the same streams, with a `client_id` column (`--clients
//!   20000`: each burst from one client, single events from clients drawn at random), which `errwatch analyze` finds by its name and counts by: each
//!   client once per code, build and bin ("Users affected" in README.md). The detectable
//!   regressions are judged as on the streams without clients (by the events' dispersion), and
//!   the reference row still counts events, as a test that knows nothing of clients would.
//! - `broken-clients`: independent events with a `client_id` column (`--clients 20000`) and four
//!   broken installs (`--broken-clients 4:20`): each a client sending one code, drawn uniformly
//!   among the codes, every 20 s for the whole hour, on the canary at the traffic odds. They are
//!   no regression, so an alert on their code is a false alarm unless it overlaps an injection.
//! - `bursty-uniform`: bursts that do not follow the code mix (`--bursts 0.2:16:30 --burst-codes
//!   uniform`): `bursty-geo`'s bursts, but every code gets the same share of them whatever its
//!   rate, so rare codes are mostly bursts (as a crash loop is, which follows no code's ordinary
//!   rate) and each code has its own dispersion; `bursty-uniform-clients` is the same streams
//!   with a `client_id` column (`--clients 20000`), as the other `-clients` families.
//!
//! On bursty streams a count's variance is `D` times its mean (`D`, the index of dispersion, is in
//! the truth file: `(1 - f) + f x E[N^2] / E[N]` for a share `f` of events in bursts of size `N`),
//! so *detectable* there means an expected excess of at least 4 x `sqrt(D x expected total)`.
//! Where the bursts' codes are uniform, each code has its own `D` (the truth's
//! `dispersion_by_code`), and a regression is judged by its code's.
//!
//! Beside the rules, each family gets a *reference* row: the plain exact binomial test with
//! Bonferroni, computed here from the generated CSV. It cuts the hour into bins of 100 s, slides
//! windows of 5 and 10 bins one bin at a time, and fires a window when the canary's rate ratio
//! (`(C / s) / (B / (1 - s))`, `s` the canary's traffic share) is at least the threshold 1.25 and
//! the one-sided exact p-value `P(X >= C | C + B, s)` is at most `alpha / m`, `m` = codes x
//! window lengths x positions in the hour. Firing windows of a code that overlap or touch merge
//! into one episode, detected at the end of its first firing window. It is scored as the rules
//! are. The oracle CUSUM rows assume independent events, so they are given for the Poisson
//! families only.
//!
//! Streams are generated and analysed on `--jobs` threads (2 by default). It prints one markdown
//! table; BENCHMARKS.md keeps it with the command that made it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use statrs::distribution::{Binomial, DiscreteCDF};

const EXE: &str = env!("CARGO_BIN_EXE_errwatch");

/// The seed's parameters, the targets are stated at these.
const ANALYZE_FLAGS: [&str; 8] =
    ["--bins", "100", "--threshold", "1.25", "--threshold-bins", "5,10", "--alpha", "0.05"];

/// A regression counts as detectable at this many standard deviations of excess over its span.
const DETECTABLE_SIGMAS: f64 = 4.0;

/// The reference test's parameters, the same as [`ANALYZE_FLAGS`]: bins of 100 s, windows of 5
/// and 10 bins, rate-ratio threshold 1.25, 0.05 expected false alarms per stream-hour.
const REFERENCE_BIN_S: u64 = 100;
const REFERENCE_WINDOW_BINS: [u64; 2] = [5, 10];
const REFERENCE_THRESHOLD: f64 = 1.25;
const ALPHA: f64 = 0.05;

/// Stream counts of `--quick`: enough to see a broken figure, not to quote one.
const QUICK_STREAMS: (u64, u64) = (40, 20);

/// The stream families: name and the `errwatch generate` flags that make them.
const FAMILIES: [(&str, &[&str]); 12] = [
    ("poisson", &[]),
    ("heavy", &["--code-exponent", "1.0"]),
    ("bursty-geo", &["--bursts", "0.2:16:30"]),
    ("bursty-pareto", &["--bursts", "0.2:16:30", "--burst-shape", "pareto"]),
    ("bursty-long", &["--bursts", "0.2:16:300"]),
    ("bursty-mixed", &[]),
    ("bursty-long-clients", &["--bursts", "0.2:16:300", "--clients", "20000"]),
    (
        "bursty-pareto-clients",
        &["--bursts", "0.2:16:30", "--burst-shape", "pareto", "--clients", "20000"],
    ),
    ("bursty-mixed-clients", &["--clients", "20000"]),
    ("broken-clients", &["--clients", "20000", "--broken-clients", "4:20"]),
    ("bursty-uniform", &["--bursts", "0.2:16:30", "--burst-codes", "uniform"]),
    (
        "bursty-uniform-clients",
        &["--bursts", "0.2:16:30", "--burst-codes", "uniform", "--clients", "20000"],
    ),
];

/// The bands of burst spread (seconds, inclusive) that the `bursty-mixed` rows are also given
/// for: bursts within the dispersion's short time scale, within two of it, and longer.
const SPREAD_BANDS: [(&str, u64, u64); 3] =
    [("spread <= 60 s", 0, 60), ("spread 61-120 s", 61, 120), ("spread > 120 s", 121, u64::MAX)];

/// Whether a stream's bursts are spread over a span within `band` ([`SPREAD_BANDS`]).
fn in_band(truth: &Value, (_, lo, hi): (&str, u64, u64)) -> bool {
    truth["bursts"]["spread_s"].as_u64().is_some_and(|spread| (lo..=hi).contains(&spread))
}

/// The `errwatch generate` flags of a `bursty-mixed` stream, drawn from its seed and scale: the
/// share of events in bursts uniform in 5%..50%, the mean burst size and the spread log-uniform
/// in 3..64 events and 5..300 s, the burst sizes geometric or Pareto at even odds, and the rank
/// exponent of the code mix uniform in 0.8..1.8.
fn mixed_flags(seed: u64, rows: u64) -> Vec<String> {
    let mut draw = SplitMix(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ rows ^ 0x6D69_7865_6421);
    let share = 0.05 + 0.45 * draw.uniform();
    let mean = 3.0 * (64.0f64 / 3.0).powf(draw.uniform());
    let spread = (5.0 * (300.0f64 / 5.0).powf(draw.uniform())).round();
    let shape = if draw.below(2) == 0 { "geometric" } else { "pareto" };
    let exponent = 0.8 + draw.uniform();
    strings(&[
        "--bursts",
        &format!("{share:.3}:{mean:.1}:{spread}"),
        "--burst-shape",
        shape,
        "--code-exponent",
        &format!("{exponent:.3}"),
    ])
}

struct Options {
    null_streams: u64,
    injected_streams: u64,
    scales: Vec<u64>,
    traffic: Vec<String>,
    rules: Vec<String>,
    families: Vec<String>,
    jobs: usize,
    extra: Vec<String>,
    verbose: bool,
}

fn options() -> Options {
    let mut o = Options {
        null_streams: 200,
        injected_streams: 100,
        scales: vec![14_000, 140_000],
        traffic: vec!["0.5".into()],
        rules: vec!["rolling".into(), "sequential".into(), "mean-diff".into()],
        families: FAMILIES.iter().map(|(name, _)| name.to_string()).collect(),
        jobs: 2,
        extra: Vec::new(),
        verbose: false,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match arg.as_str() {
            "--null" => o.null_streams = value().parse().expect("--null N"),
            "--injected" => o.injected_streams = value().parse().expect("--injected N"),
            "--scales" => o.scales = value().split(',').map(|s| s.parse().unwrap()).collect(),
            "--rules" => o.rules = value().split(',').map(String::from).collect(),
            "--traffic" => o.traffic = value().split(',').map(String::from).collect(),
            "--verbose" => o.verbose = true,
            "--quick" => (o.null_streams, o.injected_streams) = QUICK_STREAMS,
            "--jobs" => o.jobs = value().parse::<usize>().expect("--jobs N").max(1),
            "--families" => {
                o.families = value().split(',').map(String::from).collect();
                for family in &o.families {
                    assert!(
                        FAMILIES.iter().any(|(name, _)| name == family),
                        "unknown family {family}: expected some of poisson,heavy,bursty-geo,\
                         bursty-pareto,bursty-long,bursty-mixed,bursty-long-clients,\
                         bursty-pareto-clients,bursty-mixed-clients,broken-clients,bursty-uniform,\
                         bursty-uniform-clients"
                    );
                }
            }
            "--extra" => o.extra = value().split_whitespace().map(String::from).collect(),
            "--help" | "-h" => {
                println!(
                    "cargo bench --bench detection -- [--null N] [--injected N] [--quick] \
                     [--families poisson,heavy,bursty-geo,bursty-pareto,bursty-long,bursty-mixed,...] \
                     [--scales 14000,140000] [--traffic 0.5,0.1] \
                     [--rules rolling,sequential,mean-diff] [--jobs 2] \
                     [--extra 'ANALYZE FLAGS'] [--verbose]\n\
                     --quick: {} null and {} injected streams per family and scale \
                     (default 200 and 100)",
                    QUICK_STREAMS.0, QUICK_STREAMS.1
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

/// SplitMix64: the benchmark's own parameter draws, independent of the generator's PRNG.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn run(args: &[String]) -> (i32, String) {
    let out = Command::new(EXE).args(args).output().expect("run errwatch");
    let code = out.status.code().unwrap_or(-1);
    if code == 2 {
        panic!("errwatch {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    (code, String::from_utf8(out.stdout).expect("UTF-8 output"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The codes of a seed's stream by frequency rank (index 0 is rank 1).
fn codes_by_rank(seed: u64, dir: &Path) -> Vec<i64> {
    let truth_path = dir.join(format!("ranks-{seed}.json"));
    run(&strings(&[
        "generate",
        "--seed",
        &seed.to_string(),
        "--rows",
        "0",
        "-o",
        dir.join(format!("ranks-{seed}.csv")).to_str().unwrap(),
        "--truth",
        truth_path.to_str().unwrap(),
    ]));
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(truth_path).unwrap()).unwrap();
    let mut codes: Vec<(u64, i64)> = truth["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["rank"].as_u64().unwrap(), c["code"].as_i64().unwrap()))
        .collect();
    codes.sort();
    codes.into_iter().map(|(_, code)| code).collect()
}

/// Generates one stream and returns (csv path, truth).
fn make_stream(
    seed: u64,
    rows: u64,
    traffic: &str,
    family: (&str, &[&str]),
    injected: bool,
    dir: &Path,
) -> (PathBuf, Value) {
    let mut draw = SplitMix(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ rows);
    let ranks = codes_by_rank(seed, dir);
    let mut flags = Vec::new();
    let mut used = Vec::new();
    let mut pick_code = |draw: &mut SplitMix, frequent: bool| loop {
        let rank = if frequent { draw.below(5) } else { 5 + draw.below(ranks.len() as u64 - 5) };
        let code = ranks[rank as usize];
        if !used.contains(&code) {
            used.push(code);
            return code;
        }
    };
    if injected {
        for i in 0..3 {
            let frequent = i % 2 == 0 || draw.below(2) == 0;
            let code = pick_code(&mut draw, frequent);
            let factor = 1.5 * (10.0f64 / 1.5).powf(draw.uniform());
            let duration = 60 + draw.below(20 * 60 - 60 + 1);
            let start = draw.below(3600 - duration);
            flags.push(format!("--inject={code}:{start}-{}:x{factor:.2}", start + duration - 1));
        }
        if seed.is_multiple_of(2) {
            let duration = 60 + draw.below(20 * 60 - 60 + 1);
            let start = draw.below(3600 - duration);
            let factor = 0.25 + 2.0 * draw.uniform();
            flags.push(format!("--new-code=99:{start}-{}:x{factor:.2}", start + duration - 1));
        }
    } else if seed.is_multiple_of(2) {
        let frequent = draw.below(2) == 0;
        let code = pick_code(&mut draw, frequent);
        let factor = 1.5 * (10.0f64 / 1.5).powf(draw.uniform());
        let duration = 60 + draw.below(20 * 60 - 60 + 1);
        let start = draw.below(3600 - duration);
        flags.push(format!("--improve={code}:{start}-{}:x{factor:.2}", start + duration - 1));
    }
    let (name, family_flags) = family;
    let csv = dir.join(format!("s{seed}-{rows}-{traffic}-{name}.csv"));
    let truth = dir.join(format!("s{seed}-{rows}-{traffic}-{name}.truth.json"));
    let mut args = strings(&["generate", "--seed", &seed.to_string(), "--rows", &rows.to_string()]);
    args.extend(strings(&["--traffic", traffic]));
    args.extend(strings(family_flags));
    if name.starts_with("bursty-mixed") {
        args.extend(mixed_flags(seed, rows));
    }
    args.extend(flags);
    args.extend(strings(&["-o", csv.to_str().unwrap(), "--truth", truth.to_str().unwrap()]));
    run(&args);
    let truth = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
    (csv, truth)
}

#[derive(Default)]
struct Score {
    null_hours: u64,
    null_false_alarms: u64,
    injected_hours: u64,
    injected_false_alarms: u64,
    detectable: u64,
    detected: u64,
    delays: Vec<i64>,
    /// Delay of each detected detectable regression, keyed by (stream, injection).
    keyed_delays: BTreeMap<(usize, usize), i64>,
    all_regressions: u64,
    all_detected: u64,
}

fn overlaps(alert: &Value, injection: &Value) -> bool {
    alert["code"] == injection["code"]
        && alert["start_s"].as_i64() <= injection["end_s"].as_i64()
        && injection["start_s"].as_i64() <= alert["stop_s"].as_i64()
}

fn score_stream(score: &mut Score, stream: usize, report: &Value, truth: &Value, null: bool) {
    let alerts = report["alerts"].as_array().unwrap();
    let worse: Vec<&Value> = truth["injections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] != "improvement")
        .collect();
    let false_alarms = alerts.iter().filter(|a| !worse.iter().any(|i| overlaps(a, i))).count();
    if null {
        score.null_hours += 1;
        score.null_false_alarms += false_alarms as u64;
    } else {
        score.injected_hours += 1;
        score.injected_false_alarms += false_alarms as u64;
    }
    for (index, injection) in worse.into_iter().enumerate() {
        let detectable = is_detectable(truth, injection);
        let hit = alerts
            .iter()
            .filter(|a| overlaps(a, injection))
            .map(|a| a["detected_at_s"].as_i64().unwrap())
            .min();
        score.all_regressions += 1;
        score.all_detected += u64::from(hit.is_some());
        if detectable {
            score.detectable += 1;
            if let Some(detected_at) = hit {
                score.detected += 1;
                let delay = detected_at - injection["start_s"].as_i64().unwrap();
                score.delays.push(delay);
                score.keyed_delays.insert((stream, index), delay);
            }
        }
    }
}

/// The index of dispersion of the counts of the injection's code: 1 without bursts; the stream's
/// when the bursts follow the code mix; the code's own when their codes are uniform (1 for a
/// code the list leaves out, a new code, which gets no bursts).
fn dispersion(truth: &Value, injection: &Value) -> f64 {
    let bursts = &truth["bursts"];
    match bursts["dispersion_by_code"].as_array() {
        Some(by_code) => by_code
            .iter()
            .find(|c| c["code"] == injection["code"])
            .map_or(1.0, |c| c["dispersion"].as_f64().unwrap()),
        None => bursts["dispersion"].as_f64().unwrap_or(1.0),
    }
}

/// Whether a regression's expected excess over its span reaches [`DETECTABLE_SIGMAS`] standard
/// deviations of its code's expected events there: `sqrt(D x expected total)`, `D` the index of
/// dispersion of its code (1 for independent events).
fn is_detectable(truth: &Value, injection: &Value) -> bool {
    let hours = (injection["end_s"].as_f64().unwrap() - injection["start_s"].as_f64().unwrap()
        + 1.0)
        / 3600.0;
    let share = truth["traffic"].as_f64().unwrap();
    let canary = injection["canary_rate_per_hour"].as_f64().unwrap() * hours;
    let baseline = injection["baseline_rate_per_hour"].as_f64().unwrap() * hours;
    // The canary's expected events beyond what its traffic share alone would give.
    let excess = canary - baseline * share / (1.0 - share);
    excess >= DETECTABLE_SIGMAS * (dispersion(truth, injection) * (canary + baseline)).sqrt()
}

/// Per-second (canary, baseline) events of every code of an `H:MM:SS` stream.
fn per_second_counts(csv: &Path, truth: &Value) -> HashMap<String, Vec<(u32, u32)>> {
    let seconds = truth["duration_s"].as_u64().unwrap() as usize + 1;
    let canary = truth["canary"].as_str().unwrap();
    let text = std::fs::read_to_string(csv).unwrap();
    let mut counts: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split(',');
        let (stamp, build, code) =
            (fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap());
        let mut hms = stamp.split(':').map(|p| p.parse::<usize>().unwrap());
        let second = hms.next().unwrap() * 3600 + hms.next().unwrap() * 60 + hms.next().unwrap();
        let slot =
            &mut counts.entry(code.to_string()).or_insert_with(|| vec![(0, 0); seconds])[second];
        if build == canary { slot.0 += 1 } else { slot.1 += 1 }
    }
    counts
}

/// The oracle: a CUSUM (Page 1954) that knows the injected factor, on the injected code's
/// one-second counts from the start of the stream, with the threshold that gives it the same
/// false-alarm budget per stream-hour as the sequential rule (Lorden: a CUSUM with threshold
/// `ln A` has an average run length of at least `A` seconds; `A = 3600 x codes / alpha`). Returns
/// its delay from the injected start, and the information bound `ln A / KL`, where KL is the
/// expected log likelihood ratio per second after the change.
fn oracle(
    counts: &HashMap<String, Vec<(u32, u32)>>,
    truth: &Value,
    injection: &Value,
    alpha: f64,
) -> (Option<i64>, f64) {
    let share = truth["traffic"].as_f64().unwrap();
    let codes = counts.len().max(truth["codes"].as_array().unwrap().len()) as f64;
    let ln_bound = (3600.0 * codes / alpha).ln();
    let canary_rate = injection["canary_rate_per_hour"].as_f64().unwrap() / 3600.0;
    let baseline_rate = injection["baseline_rate_per_hour"].as_f64().unwrap() / 3600.0;
    // The canary's share of the code's events during the injection.
    let theta = canary_rate / (canary_rate + baseline_rate);
    let up = (theta / share).ln();
    let down = if theta < 1.0 { ((1.0 - theta) / (1.0 - share)).ln() } else { f64::NEG_INFINITY };
    let kl = canary_rate * up + if baseline_rate > 0.0 { baseline_rate * down } else { 0.0 };
    let start = injection["start_s"].as_i64().unwrap();
    let end = injection["end_s"].as_i64().unwrap();
    let code = match &injection["code"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut w = 0.0f64;
    let mut delay = None;
    for (second, &(c, b)) in counts.get(&code).map_or(&[][..], |v| &v[..]).iter().enumerate() {
        let llr = f64::from(c) * up + if b > 0 { f64::from(b) * down } else { 0.0 };
        w = (w + llr).max(0.0);
        let second = second as i64;
        if second >= start && w >= ln_bound {
            if second <= end + 600 {
                delay = Some(second - start);
            }
            break;
        }
    }
    (delay, ln_bound / kl)
}

/// Prints the detectable regressions a rule missed, with their size in standard deviations.
fn report_misses(rule: &str, report: &Value, truth: &Value) {
    let alerts = report["alerts"].as_array().unwrap();
    for injection in truth["injections"].as_array().unwrap() {
        if injection["kind"] == "improvement" || !is_detectable(truth, injection) {
            continue;
        }
        if alerts.iter().any(|a| overlaps(a, injection)) {
            continue;
        }
        let hours = (injection["end_s"].as_f64().unwrap() - injection["start_s"].as_f64().unwrap()
            + 1.0)
            / 3600.0;
        let canary = injection["canary_rate_per_hour"].as_f64().unwrap() * hours;
        let baseline = injection["baseline_rate_per_hour"].as_f64().unwrap() * hours;
        eprintln!(
            "{rule} missed seed {} code {} {}-{} x{} canary {canary:.1} baseline {baseline:.1} \
             z {:.2}",
            truth["seed"],
            injection["code"],
            injection["start_s"],
            injection["end_s"],
            injection["factor"],
            (canary - baseline) / (dispersion(truth, injection) * (canary + baseline)).sqrt()
        );
    }
}

/// The reference: the plain exact binomial test with Bonferroni over codes x window lengths x
/// positions (module docs). Returns its alert episodes in the shape of the JSON report's alerts
/// (`code`, `start_s`, `stop_s`, `detected_at_s`; stop inclusive).
fn reference_alerts(counts: &HashMap<String, Vec<(u32, u32)>>, truth: &Value) -> Vec<Value> {
    let share = truth["traffic"].as_f64().unwrap();
    let last_second = truth["duration_s"].as_u64().unwrap();
    let bins = (last_second + 1).div_ceil(REFERENCE_BIN_S);
    let positions: u64 = REFERENCE_WINDOW_BINS.iter().map(|&l| bins.saturating_sub(l) + 1).sum();
    let level = ALPHA / (counts.len() as u64 * positions) as f64;
    let mut alerts = Vec::new();
    for (code, seconds) in counts {
        // Prefix sums of (canary, baseline) per bin.
        let mut prefix = vec![(0u64, 0u64); bins as usize + 1];
        for (second, &(c, b)) in seconds.iter().enumerate() {
            let bin = second / REFERENCE_BIN_S as usize + 1;
            prefix[bin].0 += u64::from(c);
            prefix[bin].1 += u64::from(b);
        }
        for bin in 1..prefix.len() {
            prefix[bin].0 += prefix[bin - 1].0;
            prefix[bin].1 += prefix[bin - 1].1;
        }
        // Firing windows as (first bin, end bin exclusive).
        let mut firing: Vec<(u64, u64)> = Vec::new();
        for &length in &REFERENCE_WINDOW_BINS {
            for first in 0..=bins.saturating_sub(length) {
                let end = (first + length).min(bins);
                let canary = prefix[end as usize].0 - prefix[first as usize].0;
                let baseline = prefix[end as usize].1 - prefix[first as usize].1;
                if canary == 0 {
                    continue;
                }
                let ratio_ok =
                    canary as f64 * (1.0 - share) >= REFERENCE_THRESHOLD * baseline as f64 * share;
                if ratio_ok && upper_tail(canary, canary + baseline, share) <= level {
                    firing.push((first, end));
                }
            }
        }
        firing.sort_unstable();
        let mut episodes: Vec<(u64, u64, u64)> = Vec::new(); // first, end, earliest end
        for (first, end) in firing {
            match episodes.last_mut() {
                Some(episode) if first <= episode.1 => {
                    episode.1 = episode.1.max(end);
                    episode.2 = episode.2.min(end);
                }
                _ => episodes.push((first, end, end)),
            }
        }
        let code_value =
            code.parse::<i64>().map_or_else(|_| Value::from(code.clone()), Value::from);
        let second_of = |end_bin: u64| (end_bin * REFERENCE_BIN_S - 1).min(last_second);
        for (first, end, earliest) in episodes {
            alerts.push(serde_json::json!({
                "code": code_value,
                "start_s": first * REFERENCE_BIN_S,
                "stop_s": second_of(end),
                "detected_at_s": second_of(earliest),
            }));
        }
    }
    alerts
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`, `k >= 1`.
fn upper_tail(k: u64, n: u64, p: f64) -> f64 {
    Binomial::new(p, n).expect("a valid binomial").sf(k - 1)
}

/// `f` over `items` on `jobs` threads, results in the order of the items.
fn parallel_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(items.len()).max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a worker")).collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// One generated stream with what the benchmark derives from it once.
struct Stream {
    csv: PathBuf,
    truth: Value,
    null: bool,
    reference: Value,
    /// Per worse injection (by index among the non-improvements) that is detectable: the oracle's
    /// delay and the information bound.
    oracle: Vec<(usize, Option<i64>, f64)>,
}

fn delay_text(values: &mut [i64]) -> String {
    median(values).map_or("-".to_string(), |d| d.to_string())
}

/// Prints one table row of a scored rule.
fn print_row(
    prefix: &str,
    name: &str,
    score: &mut Score,
    oracle: Option<&BTreeMap<(usize, usize), i64>>,
) {
    let delay = delay_text(&mut score.delays);
    let ratio = oracle.map_or("-".to_string(), |oracle_delays| {
        let mut ratios: Vec<f64> = score
            .keyed_delays
            .iter()
            .filter_map(|(key, &d)| {
                let o = *oracle_delays.get(key)?;
                Some((d.max(1) as f64) / (o.max(1) as f64))
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios.get(ratios.len() / 2).map_or("-".to_string(), |r| format!("{r:.2}"))
    });
    println!(
        "| {prefix} | {name} | {} | {:.3} ({}) | {:.3} ({}) | {} | {:.1}% ({}/{}) | {:.1}% | {delay} | {ratio} |",
        score.null_hours,
        score.null_false_alarms as f64 / score.null_hours.max(1) as f64,
        score.null_false_alarms,
        score.injected_false_alarms as f64 / score.injected_hours.max(1) as f64,
        score.injected_false_alarms,
        score.detectable,
        100.0 * score.detected as f64 / score.detectable.max(1) as f64,
        score.detected,
        score.detectable,
        100.0 * score.all_detected as f64 / score.all_regressions.max(1) as f64,
    );
}

/// The rows of `name` over the streams of each [`SPREAD_BANDS`] band alone.
fn print_bands(prefix: &str, name: &str, streams: &[Stream], reports: &[&Value]) {
    for band in SPREAD_BANDS {
        let mut score = Score::default();
        for (stream, (s, report)) in streams.iter().zip(reports).enumerate() {
            if in_band(&s.truth, band) {
                score_stream(&mut score, stream, report, &s.truth, s.null);
            }
        }
        print_row(prefix, &format!("{name}, {}", band.0), &mut score, None);
    }
}

fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[values.len() / 2])
}

fn main() {
    let o = options();
    let dir = tempfile::tempdir().expect("temporary directory");
    println!(
        "streams per family and scale: {} null, {} injected; analyze flags: {} {}\n",
        o.null_streams,
        o.injected_streams,
        ANALYZE_FLAGS.join(" "),
        o.extra.join(" ")
    );
    println!(
        "| family | rows/hour | traffic | rule | null hours | false alarms / null hour \
         | false alarms / injected hour | detectable | recall (detectable) | recall (all) \
         | median delay (s) | median delay / oracle's |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let families = FAMILIES.iter().filter(|(name, _)| o.families.iter().any(|f| f == name));
    for &(family, family_flags) in families {
        let poisson = !family.starts_with("bursty");
        for (&rows, traffic) in o.scales.iter().flat_map(|r| o.traffic.iter().map(move |t| (r, t)))
        {
            let seeds: Vec<(u64, bool)> = (1..=o.null_streams)
                .map(|seed| (seed, false))
                .chain((1..=o.injected_streams).map(|i| (10_000 + i, true)))
                .collect();
            let streams: Vec<Stream> = parallel_map(&seeds, o.jobs, |&(seed, injected)| {
                let (csv, truth) =
                    make_stream(seed, rows, traffic, (family, family_flags), injected, dir.path());
                let counts = per_second_counts(&csv, &truth);
                let reference = serde_json::json!({ "alerts": reference_alerts(&counts, &truth) });
                let mut oracle_results = Vec::new();
                if poisson && injected {
                    let worse = truth["injections"].as_array().unwrap().iter();
                    let worse = worse.filter(|i| i["kind"] != "improvement");
                    for (index, injection) in worse.enumerate() {
                        if is_detectable(&truth, injection) {
                            let (delay, bound) = oracle(&counts, &truth, injection, ALPHA);
                            oracle_results.push((index, delay, bound));
                        }
                    }
                }
                Stream { csv, truth, null: !injected, reference, oracle: oracle_results }
            });
            let prefix = format!("{family} | {rows} | {traffic}");
            // The oracle CUSUM and the information bound, on the detectable regressions.
            let mut oracle_delays = BTreeMap::new();
            if poisson {
                let (mut bounds, mut oracle_found, mut detectable) = (Vec::new(), 0, 0);
                for (stream, s) in streams.iter().enumerate() {
                    for &(index, delay, bound) in &s.oracle {
                        detectable += 1;
                        bounds.push(bound.round() as i64);
                        if let Some(delay) = delay {
                            oracle_found += 1;
                            oracle_delays.insert((stream, index), delay);
                        }
                    }
                }
                let mut delays: Vec<i64> = oracle_delays.values().copied().collect();
                println!(
                    "| {prefix} | oracle CUSUM | - | - | - | {detectable} | {:.1}% ({oracle_found}/{detectable}) | - | {} | 1.00 |",
                    100.0 * oracle_found as f64 / detectable.max(1) as f64,
                    delay_text(&mut delays),
                );
                println!(
                    "| {prefix} | ln(A) / KL | - | - | - | {detectable} | - | - | {} | - |",
                    delay_text(&mut bounds),
                );
            }
            let oracle_delays = poisson.then_some(&oracle_delays);
            let mut score = Score::default();
            for (stream, s) in streams.iter().enumerate() {
                score_stream(&mut score, stream, &s.reference, &s.truth, s.null);
                if o.verbose {
                    report_misses("reference", &s.reference, &s.truth);
                }
            }
            print_row(&prefix, "reference (binomial + Bonferroni)", &mut score, oracle_delays);
            let banded = family.starts_with("bursty-mixed");
            if banded {
                let reports: Vec<&Value> = streams.iter().map(|s| &s.reference).collect();
                print_bands(&prefix, "reference (binomial + Bonferroni)", &streams, &reports);
            }
            for rule in &o.rules {
                let reports: Vec<Value> = parallel_map(&streams, o.jobs, |s| {
                    let mut args =
                        strings(&["analyze", s.csv.to_str().unwrap(), "--format", "json"]);
                    args.extend(strings(&ANALYZE_FLAGS));
                    args.extend(strings(&["--traffic", traffic]));
                    args.extend(strings(&["--rule", rule, "--no-heatmap"]));
                    args.extend(o.extra.iter().cloned());
                    let (_, stdout) = run(&args);
                    serde_json::from_str(&stdout).expect("JSON report")
                });
                let mut score = Score::default();
                for (stream, (s, report)) in streams.iter().zip(&reports).enumerate() {
                    score_stream(&mut score, stream, report, &s.truth, s.null);
                    if o.verbose {
                        report_misses(rule, report, &s.truth);
                    }
                }
                print_row(&prefix, rule, &mut score, oracle_delays);
                if banded {
                    print_bands(&prefix, rule, &streams, &reports.iter().collect::<Vec<_>>());
                }
            }
            for s in &streams {
                let _ = std::fs::remove_file(&s.csv);
            }
        }
    }
}
