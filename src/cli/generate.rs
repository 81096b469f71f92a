//! `errwatch generate`: arguments and their validation.
//!
//! [`validate`] turns the parsed flags into a [`generate::Config`], with an error naming the flag
//! and the value for anything wrong; [`run`] then writes the stream and, if asked, the truth file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};

use crate::generate::{
    self, BurstCodes, BurstShape, Bursts, CODE_EXPONENTS, Config, DEFAULT_CODE_EXPONENT,
    DEFAULT_EPOCH_START, Generator, Injection, Kind,
};
use crate::input::timestamp::Notation;

/// How `errwatch generate` writes timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimestampFormat {
    /// `H:MM:SS` offsets from the start of the capture (`0:59:40`).
    Hms,
    /// RFC 3339 instants (`2026-11-22T00:59:40Z`), in the UTC offset of `--start`.
    Rfc3339,
    /// Integer Unix epoch seconds (`1795309180`).
    Epoch,
}

/// How `errwatch generate --burst-shape` distributes burst sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BurstShapeArg {
    /// Geometric sizes: each event of a burst is its last with the same chance, 1 / MEAN
    Geometric,
    /// Heavy-tailed (Pareto, tail index 1.5) sizes with the same mean: most bursts small, a few
    /// huge (cut at 100 x MEAN)
    Pareto,
}

/// Which codes `errwatch generate --burst-codes` gives the bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BurstCodesArg {
    /// Bursts follow the code mix: a busy code gets many, a rare one few
    Mix,
    /// Each code gets an equal share of the bursts whatever its rate, so rare codes are mostly
    /// bursts
    Uniform,
}

/// Arguments of `errwatch generate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every rate is identical for all builds except where injected, and injections \
                  apply to the canary (the last build). START-END spans are offsets from the \
                  start, in seconds or H:MM:SS, END inclusive: --inject 3:0:52:00-0:59:59:x4 \
                  quadruples code 3 from 0:52:00 to 0:59:59. The same seed and flags give the \
                  same bytes on every platform."
)]
pub struct GenerateArgs {
    /// Seed of the ChaCha8 pseudo-random generator
    #[arg(long, env = "ERRWATCH_GENERATE_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Exact number of event rows (0 writes the header only)
    #[arg(long, env = "ERRWATCH_GENERATE_ROWS", default_value_t = 14_000)]
    pub rows: u64,

    /// Length of the stream, in seconds or H:MM:SS; timestamps run from the start to start +
    /// duration inclusive
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_DURATION",
        default_value = "3600",
        value_name = "SECONDS|H:MM:SS"
    )]
    pub duration: String,

    /// Build versions, comma-separated: the first is the baseline, the last the canary (one or
    /// more; list them in ascending version order, as errwatch analyze takes the lower as baseline)
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_BUILDS",
        value_delimiter = ',',
        default_value = "5.0007.510.011,5.0007.610.011",
        value_name = "BUILD,..."
    )]
    pub builds: Vec<String>,

    /// Integer error codes every build emits, inclusive; ranks (frequencies) are drawn from the
    /// seed, the code at rank k having a base rate proportional to k^-X (X: --code-exponent)
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_CODES",
        default_value = "-17..15",
        value_name = "LO..HI",
        allow_hyphen_values = true
    )]
    pub codes: String,

    /// The canary's share of the traffic, strictly between 0 and 1; the other builds split the
    /// rest equally
    #[arg(long, env = "ERRWATCH_GENERATE_TRAFFIC", default_value_t = 0.5, value_name = "SHARE")]
    pub traffic: f64,

    /// A regression in the canary: the code's rate times FACTOR (above 1) over START-END
    /// (repeatable, or comma-separated)
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_INJECT",
        value_delimiter = ',',
        value_name = "CODE:START-END:xFACTOR",
        allow_hyphen_values = true
    )]
    pub inject: Vec<String>,

    /// A code only the canary has, over START-END, at FACTOR (default 1) times the median base
    /// rate of --codes; the code must lie outside --codes and may be a label (repeatable, or
    /// comma-separated)
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_NEW_CODE",
        value_delimiter = ',',
        value_name = "CODE:START-END[:xFACTOR]",
        allow_hyphen_values = true
    )]
    pub new_code: Vec<String>,

    /// An improvement in the canary: the code's rate divided by FACTOR (above 1) over START-END
    /// (repeatable, or comma-separated)
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_IMPROVE",
        value_delimiter = ',',
        value_name = "CODE:START-END:xFACTOR",
        allow_hyphen_values = true
    )]
    pub improve: Vec<String>,

    /// The rank exponent X of the code mix: the code at rank k has a base rate proportional to
    /// k^-X; smaller is a heavier tail (1 is Zipf's law); rounded to a multiple of 1/1024
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_CODE_EXPONENT",
        default_value_t = DEFAULT_CODE_EXPONENT,
        value_name = "X",
        allow_hyphen_values = true
    )]
    pub code_exponent: f64,

    /// Client bursts: a SHARE (0 to 1) of the rows arrive in bursts of MEAN events on average,
    /// each of one code on one build, spread over up to SPREAD seconds (default 30); a burst lands
    /// on the canary at the traffic odds, and --inject scales the canary's bursts too
    #[arg(
        long,
        env = "ERRWATCH_GENERATE_BURSTS",
        value_name = "SHARE:MEAN[:SPREAD]",
        allow_hyphen_values = true
    )]
    pub bursts: Option<String>,

    /// The distribution of burst sizes (with --bursts) [default: geometric]
    #[arg(long, env = "ERRWATCH_GENERATE_BURST_SHAPE", value_enum, value_name = "SHAPE")]
    pub burst_shape: Option<BurstShapeArg>,

    /// Which codes the bursts go to (with --bursts) [default: mix]; with uniform, a burst's code is
    /// drawn uniformly among --codes and its build at the odds of that code's rate in each build
    /// at its second, so --inject tilts the code's bursts towards the canary, and the truth lists
    /// each code's dispersion
    #[arg(long, env = "ERRWATCH_GENERATE_BURST_CODES", value_enum, value_name = "CODES")]
    pub burst_codes: Option<BurstCodesArg>,

    /// Name each row's client in a fourth column, client_id: N clients split among the builds
    /// by traffic share; a single event comes from a client drawn at random among its build's,
    /// all the events of a burst from one
    #[arg(long, env = "ERRWATCH_GENERATE_CLIENTS", value_name = "N")]
    pub clients: Option<u64>,

    /// With --clients: N of the clients have an error that lasts, each sending one code every
    /// PERIOD seconds (default 20) over the whole stream; each on the canary at the traffic odds,
    /// its code drawn uniformly among --codes. Their events are part of --rows
    #[arg(long, env = "ERRWATCH_GENERATE_BROKEN_CLIENTS", value_name = "N[:PERIOD]")]
    pub broken_clients: Option<String>,

    /// Timestamp notation
    #[arg(long, env = "ERRWATCH_GENERATE_TIMESTAMPS", value_enum, default_value_t = TimestampFormat::Hms)]
    pub timestamps: TimestampFormat,

    /// Clock value of the first second, in the --timestamps notation [default: 0:00:00 for hms,
    /// 2026-11-22T00:00:00Z for rfc3339, 1795305600 for epoch]
    #[arg(long, env = "ERRWATCH_GENERATE_START", value_name = "TIME", allow_hyphen_values = true)]
    pub start: Option<String>,

    /// Write the stream here instead of standard output ('-' is standard output)
    #[arg(short = 'o', long, env = "ERRWATCH_GENERATE_OUTPUT", value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Write the ground truth here as JSON: the injections and every code's base rate
    #[arg(long, env = "ERRWATCH_GENERATE_TRUTH", value_name = "PATH")]
    pub truth: Option<PathBuf>,
}

/// Turns the flags into a generator configuration, naming the flag and value of any error.
pub fn validate(args: &GenerateArgs) -> Result<Config> {
    if !args.traffic.is_finite() || args.traffic <= 0.0 || args.traffic >= 1.0 {
        bail!("--traffic {}: the canary's share must be strictly between 0 and 1", args.traffic);
    }
    if args.rows > u64::from(u32::MAX) {
        bail!("--rows {}: at most {} rows are supported", args.rows, u32::MAX);
    }
    let duration_s = generate::parse_offset(args.duration.trim())
        .map_err(|e| anyhow!("--duration '{}': {e}", args.duration))?;
    let codes = parse_codes(&args.codes).map_err(|e| anyhow!("--codes '{}': {e}", args.codes))?;
    if args.builds.is_empty() {
        bail!("--builds: at least one build is needed");
    }
    for (i, build) in args.builds.iter().enumerate() {
        generate::check_label(build)
            .map_err(|e| anyhow!("--builds '{}': a build name {e}", args.builds.join(",")))?;
        if args.builds[..i].contains(build) {
            bail!("--builds '{}': build '{build}' is listed twice", args.builds.join(","));
        }
    }
    if !CODE_EXPONENTS.contains(&args.code_exponent) {
        bail!(
            "--code-exponent {}: the rank exponent must be between {} and {}",
            args.code_exponent,
            CODE_EXPONENTS.start(),
            CODE_EXPONENTS.end()
        );
    }
    let bursts = match (&args.bursts, args.burst_shape, args.burst_codes) {
        (None, None, None) => None,
        (None, Some(shape), _) => {
            bail!("--burst-shape {}: needs --bursts", shape_of(shape).name());
        }
        (None, None, Some(codes)) => {
            bail!("--burst-codes {}: needs --bursts", codes_of(codes).name());
        }
        (Some(spec), shape, codes) => {
            let mut bursts = Bursts::parse(spec).map_err(|e| anyhow!("--bursts '{spec}': {e}"))?;
            bursts.shape = shape.map_or(BurstShape::Geometric, shape_of);
            bursts.codes = codes.map_or(BurstCodes::Mix, codes_of);
            Some(bursts)
        }
    };
    if let Some(n) = args.clients
        && !(1..=generate::MAX_CLIENTS).contains(&n)
    {
        bail!(
            "--clients {n}: the number of clients must be between 1 and {}",
            generate::MAX_CLIENTS
        );
    }
    let broken = match &args.broken_clients {
        None => None,
        Some(spec) => {
            let broken = generate::Broken::parse(spec)
                .map_err(|e| anyhow!("--broken-clients '{spec}': {e}"))?;
            match args.clients {
                None => bail!("--broken-clients '{spec}': needs --clients"),
                Some(n) if broken.clients > n => bail!(
                    "--broken-clients '{spec}': {} broken clients, more than the {n} of --clients",
                    broken.clients
                ),
                Some(_) => Some(broken),
            }
        }
    };
    let (notation, start) = parse_start(args.timestamps, args.start.as_deref())?;
    let mut config = Config {
        seed: args.seed,
        rows: args.rows,
        duration_s,
        start,
        notation,
        builds: args.builds.clone(),
        codes,
        traffic: args.traffic,
        injections: Vec::new(),
        code_exponent: args.code_exponent,
        bursts,
        clients: args.clients,
        broken,
    };
    let mut parsed = Vec::new();
    for (kind, specs) in [
        (Kind::Regression, &args.inject),
        (Kind::NewCode, &args.new_code),
        (Kind::Improvement, &args.improve),
    ] {
        for spec in specs {
            let injection = Injection::parse(kind, spec)
                .map_err(|e| anyhow!("{} '{spec}': {e}", kind.flag()))?;
            parsed.push((spec, injection));
        }
    }
    // All injections are known before any is checked, so --inject may refer to a --new-code.
    config.injections = parsed.iter().map(|(_, i)| i.clone()).collect();
    for (spec, injection) in &parsed {
        config
            .check_injection(injection)
            .map_err(|e| anyhow!("{} '{spec}': {e}", injection.kind.flag()))?;
    }
    // What is left to check is whether the time span can be written in the notation.
    config.validate().with_context(|| {
        format!(
            "--start '{}' --duration '{}'",
            args.start.as_deref().unwrap_or_default(),
            args.duration
        )
    })?;
    Ok(config)
}

fn shape_of(shape: BurstShapeArg) -> BurstShape {
    match shape {
        BurstShapeArg::Geometric => BurstShape::Geometric,
        BurstShapeArg::Pareto => BurstShape::Pareto,
    }
}

fn codes_of(codes: BurstCodesArg) -> BurstCodes {
    match codes {
        BurstCodesArg::Mix => BurstCodes::Mix,
        BurstCodesArg::Uniform => BurstCodes::Uniform,
    }
}

/// Parses `LO..HI` (inclusive; either end may be negative).
fn parse_codes(text: &str) -> Result<std::ops::RangeInclusive<i64>, String> {
    let (lo, hi) = text.split_once("..").ok_or("expected LO..HI, e.g. -17..15")?;
    let number = |s: &str| s.trim().parse::<i64>().map_err(|_| format!("'{s}' is not an integer"));
    let (lo, hi) = (number(lo)?, number(hi.strip_prefix('=').unwrap_or(hi))?);
    if lo > hi {
        return Err(format!("LO {lo} is above HI {hi}"));
    }
    if (hi as i128) - (lo as i128) >= generate::MAX_CODES as i128 {
        return Err(format!("more than {} codes", generate::MAX_CODES));
    }
    Ok(lo..=hi)
}

/// The notation and the clock value of offset 0.
fn parse_start(format: TimestampFormat, start: Option<&str>) -> Result<(Notation, i64)> {
    let bad = |reason: String| anyhow!("--start '{}': {reason}", start.unwrap_or_default());
    Ok(match (format, start.map(str::trim)) {
        (TimestampFormat::Hms, None) => (Notation::Offset, 0),
        (TimestampFormat::Hms, Some(text)) => {
            (Notation::Offset, Notation::Offset.parse(text).map_err(|e| bad(e.reason))?)
        }
        (TimestampFormat::Epoch, None) => (Notation::Epoch, DEFAULT_EPOCH_START),
        (TimestampFormat::Epoch, Some(text)) => {
            (Notation::Epoch, Notation::Epoch.parse(text).map_err(|e| bad(e.reason))?)
        }
        (TimestampFormat::Rfc3339, None) => {
            (Notation::Rfc3339 { offset_seconds: 0 }, DEFAULT_EPOCH_START)
        }
        (TimestampFormat::Rfc3339, Some(text)) => match Notation::detect(text) {
            Some(notation @ Notation::Rfc3339 { .. }) => {
                (notation, notation.parse(text).map_err(|e| bad(e.reason))?)
            }
            _ => {
                return Err(
                    bad("expected an RFC 3339 instant such as 2026-11-22T00:00:00Z".into()),
                );
            }
        },
    })
}

/// Runs `errwatch generate`.
pub fn run(args: GenerateArgs) -> Result<()> {
    let config = validate(&args)?;
    let generator = Generator::new(config)?;
    let truth = generator.truth();
    match args.output.as_deref().filter(|p| *p != Path::new("-")) {
        Some(path) => {
            crate::output::replace_file(path, ".tmp", |_, out| Ok(generator.write(out)?))
                .with_context(|| format!("-o {}: cannot write the stream", path.display()))?;
        }
        None => {
            let mut out = io::stdout().lock();
            match generator.write(&mut out) {
                // The reader stopped early (e.g. `| head`): not an error of ours.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                other => other.context("cannot write the stream to standard output")?,
            }
        }
    }
    if let Some(path) = &args.truth {
        let mut json = serde_json::to_string_pretty(&truth)?;
        json.push('\n');
        crate::output::replace_file(path, ".tmp", |_, out| Ok(out.write_all(json.as_bytes())?))
            .with_context(|| format!("--truth {}: cannot write the file", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: GenerateArgs,
    }

    fn parse(flags: &[&str]) -> Result<Config> {
        let args =
            Wrapper::try_parse_from(std::iter::once("generate").chain(flags.iter().copied()))
                .map_err(|e| anyhow!("clap: {e}"))?
                .args;
        validate(&args)
    }

    fn error(flags: &[&str]) -> String {
        format!("{:#}", parse(flags).expect_err("should be refused"))
    }

    #[test]
    fn defaults_match_the_seed_data() {
        let config = parse(&[]).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn flags_reach_the_config() {
        let config = parse(&[
            "--seed",
            "7",
            "--rows",
            "10",
            "--duration",
            "0:10:00",
            "--builds",
            "a,b,c",
            "--codes",
            "-3..14",
            "--traffic",
            "0.2",
            "--inject",
            "3:0:01:00-120:x4",
            "--new-code",
            "-40:100-200",
            "--improve",
            "-3:0-0:00:30:2",
            "--timestamps",
            "epoch",
            "--start",
            "1000",
        ])
        .unwrap();
        assert_eq!(config.seed, 7);
        assert_eq!(config.rows, 10);
        assert_eq!(config.duration_s, 600);
        assert_eq!(config.builds, ["a", "b", "c"]);
        assert_eq!(config.codes, -3..=14);
        assert_eq!(config.traffic, 0.2);
        assert_eq!((config.notation, config.start), (Notation::Epoch, 1000));
        let kinds: Vec<(Kind, Code, u64, u64, f64)> = config
            .injections
            .iter()
            .map(|i| (i.kind, i.code.clone(), i.start_s, i.end_s, i.factor))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Regression, Code::Int(3), 60, 120, 4.0),
                (Kind::NewCode, Code::Int(-40), 100, 200, 1.0),
                (Kind::Improvement, Code::Int(-3), 0, 30, 2.0),
            ]
        );
    }

    #[test]
    fn start_defaults_follow_the_notation() {
        let config = parse(&["--timestamps", "rfc3339"]).unwrap();
        assert_eq!(config.start, DEFAULT_EPOCH_START);
        assert_eq!(config.notation.format(config.start), "2026-11-22T00:00:00Z");
        let config = parse(&["--timestamps", "rfc3339", "--start", "2026-11-22T10:00:00+01:00"]);
        let config = config.unwrap();
        assert_eq!(config.notation, Notation::Rfc3339 { offset_seconds: 3600 });
        assert_eq!(config.start, DEFAULT_EPOCH_START + 9 * 3600);
        assert_eq!(parse(&["--timestamps", "epoch"]).unwrap().start, DEFAULT_EPOCH_START);
        assert_eq!(parse(&["--start", "1:00:00"]).unwrap().start, 3600);
    }

    #[test]
    fn a_new_code_may_be_injected_further() {
        let config = parse(&["--new-code", "40:0-100:x2", "--inject", "40:50-60:x3"]).unwrap();
        assert_eq!(config.injections.len(), 2);
    }

    #[test]
    fn errors_name_the_flag_and_the_value() {
        for (flags, expected) in [
            (&["--traffic", "1"][..], "--traffic 1"),
            (&["--traffic", "0"], "--traffic 0"),
            (&["--codes", "5..-5"], "--codes '5..-5'"),
            (&["--codes", "a..b"], "--codes 'a..b'"),
            (&["--codes", "-17"], "--codes '-17'"),
            (&["--duration", "1h"], "--duration '1h'"),
            (&["--builds", "a,a"], "--builds 'a,a'"),
            (&["--builds", "a b"], "--builds 'a b'"),
            (&["--inject", "3:0-10"], "--inject '3:0-10'"),
            (&["--inject", "3:0-10:x0"], "--inject '3:0-10:x0'"),
            (&["--inject", "3:0-10:x-2"], "--inject '3:0-10:x-2'"),
            (&["--inject", "3:0-3601:x2"], "--inject '3:0-3601:x2'"),
            (&["--inject", "99:0-10:x2"], "--inject '99:0-10:x2'"),
            (&["--improve", "3:0-10:x0.5"], "--improve '3:0-10:x0.5'"),
            (&["--new-code", "3:0-10"], "--new-code '3:0-10'"),
            (&["--new-code", "40:0-1:00:01"], "--new-code '40:0-1:00:01'"),
            (&["--start", "yesterday"], "--start 'yesterday'"),
            (&["--timestamps", "rfc3339", "--start", "5"], "--start '5'"),
            (&["--rows", "5000000000"], "--rows 5000000000"),
            (&["--bursts", "0.2"], "--bursts '0.2'"),
            (&["--bursts", "1.5:16"], "--bursts '1.5:16': SHARE 1.5"),
            (&["--bursts", "-0.1:16"], "--bursts '-0.1:16': SHARE -0.1"),
            (&["--bursts", "0.2:0.5"], "--bursts '0.2:0.5': MEAN 0.5"),
            (&["--bursts", "0.2:abc"], "--bursts '0.2:abc'"),
            (&["--bursts", "0.2:16:0"], "--bursts '0.2:16:0': SPREAD 0"),
            (&["--bursts", "0.2:16:2.5"], "--bursts '0.2:16:2.5'"),
            (&["--bursts", "0.2:16:30:4"], "--bursts '0.2:16:30:4'"),
            (&["--bursts", "0.2:NaN"], "--bursts '0.2:NaN'"),
            (&["--bursts", "0.2:5000"], "--bursts '0.2:5000': MEAN 5000"),
            (&["--burst-shape", "pareto"], "--burst-shape pareto: needs --bursts"),
            (&["--burst-codes", "uniform"], "--burst-codes uniform: needs --bursts"),
            (&["--burst-codes", "mix"], "--burst-codes mix: needs --bursts"),
            (&["--bursts", "0.2:16", "--burst-codes", "zipf"], "--burst-codes"),
            (&["--code-exponent", "0"], "--code-exponent 0"),
            (&["--code-exponent", "9"], "--code-exponent 9"),
            (&["--code-exponent", "NaN"], "--code-exponent NaN"),
            (&["--code-exponent", "-1"], "--code-exponent -1"),
        ] {
            let message = error(flags);
            assert!(message.contains(expected), "{flags:?}: {message}");
        }
    }

    #[test]
    fn burst_and_exponent_flags_reach_the_config() {
        let config = parse(&["--bursts", "0.2:16", "--code-exponent", "1.0"]).unwrap();
        let geometric = Bursts {
            share: 0.2,
            mean: 16.0,
            spread_s: 30,
            shape: BurstShape::Geometric,
            codes: BurstCodes::Mix,
        };
        assert_eq!(config.bursts, Some(geometric));
        assert_eq!(config.code_exponent, 1.0);
        let config = parse(&["--bursts", "1:2.5:5", "--burst-shape", "pareto"]).unwrap();
        let pareto = Bursts {
            share: 1.0,
            mean: 2.5,
            spread_s: 5,
            shape: BurstShape::Pareto,
            codes: BurstCodes::Mix,
        };
        assert_eq!(config.bursts, Some(pareto));
        let config = parse(&["--bursts", "0.2:16:60", "--burst-codes", "uniform"]).unwrap();
        assert_eq!(config.bursts.map(|b| (b.codes, b.spread_s)), Some((BurstCodes::Uniform, 60)));
        let config = parse(&["--bursts", "0.2:16", "--burst-codes", "mix"]).unwrap();
        assert_eq!(config.bursts, Some(geometric));
        assert_eq!(parse(&["--bursts", "0:1:1"]).unwrap().bursts.map(|b| b.share), Some(0.0));
    }

    #[test]
    fn zero_rows_are_allowed() {
        assert_eq!(parse(&["--rows", "0"]).unwrap().rows, 0);
    }
}
