//! `errwatch analyze`: arguments, their validation into an [`AnalyzeConfig`], and the run.
//!
//! The run is the whole pipeline: read and aggregate, choose the builds, bin, detect, report.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, ValueEnum};

use super::Outcome;
use crate::aggregate::{self, Table};
use crate::bins::{Bins, code_order};
use crate::detect::{Alert, Gate, RuleConfig, RuleKind, SecondCounts, run_batch};
use crate::input::timestamp::Notation;
use crate::input::{
    self, BuildStats, MaxInvalid, ReadOptions, Skipped, labels::compare_versions, list_builds,
};
use crate::render::{self, HeatmapSpec, Palette};
use crate::report::jsonl::{self, Jsonl};
use crate::report::text::{self, Text};
use crate::report::{
    Format, Parameters, Report, github::Github, json::Json, junit::Junit, markdown::Markdown,
};

/// Arguments of `errwatch analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The error-event CSV (`Timestamp,Build_Version,Error_Code[,Count]`); `-` reads stdin.
    pub input: String,
    /// Seconds per time bin (5 makes [0:00:00 - 0:00:04] one bin).
    #[arg(long, env = "ERRWATCH_BINS", default_value_t = 100, value_name = "SECONDS")]
    pub bins: u64,
    /// The canary/baseline rate ratio at which a window fires (1.25 = 25% more errors); for
    /// `--rule mean-diff`, the mean differential bucket.
    #[arg(long, env = "ERRWATCH_THRESHOLD", default_value_t = 1.25, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Window lengths, in bins, over which rates are averaged (comma-separated).
    #[arg(
        long,
        env = "ERRWATCH_THRESHOLD_BINS",
        value_delimiter = ',',
        default_value = "5,10",
        value_name = "N,..."
    )]
    pub threshold_bins: Vec<usize>,
    /// False-alarm budget: expected false alarms per hour of stream (rolling and sequential).
    #[arg(long, env = "ERRWATCH_ALPHA", default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// The alert rule.
    #[arg(long, env = "ERRWATCH_RULE", value_enum, default_value_t = RuleName::Rolling)]
    pub rule: RuleName,
    /// The old build's version (default: the lower of exactly two builds).
    #[arg(long, env = "ERRWATCH_BASELINE", value_name = "VERSION")]
    pub baseline: Option<String>,
    /// The new build's version (default: the higher of exactly two builds).
    #[arg(long, env = "ERRWATCH_CANARY", value_name = "VERSION")]
    pub canary: Option<String>,
    /// The canary's share of users, in (0, 1); counts are normalized to an equal split.
    #[arg(
        long,
        env = "ERRWATCH_TRAFFIC",
        default_value_t = 0.5,
        value_name = "SHARE",
        allow_negative_numbers = true
    )]
    pub traffic: f64,
    /// Output format; `github` also appends the markdown summary to the file named by
    /// GITHUB_STEP_SUMMARY, when it is set.
    #[arg(long, env = "ERRWATCH_FORMAT", value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Exit 0 even when alerts fire (errors still exit 2). The variable takes true/false, 1/0,
    /// yes/no or on/off.
    #[arg(long, env = "ERRWATCH_EXIT_ZERO", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub exit_zero: bool,
    /// When to colour the text report: `auto` colours on a terminal unless NO_COLOR is set
    /// (CLICOLOR_FORCE colours anywhere); other formats are never coloured.
    #[arg(long, env = "ERRWATCH_COLOR", value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// Where to write the differential heatmap; a `.svg` ending writes SVG, anything else PNG
    /// [default: `<input stem>.heatmap.png` in the current directory, `errwatch.heatmap.png` for
    /// stdin].
    #[arg(long, env = "ERRWATCH_HEATMAP", value_name = "PATH")]
    pub heatmap: Option<PathBuf>,
    /// Do not draw the heatmap (the variable takes true/false, 1/0, yes/no or on/off).
    #[arg(long, env = "ERRWATCH_NO_HEATMAP", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub no_heatmap: bool,
    /// Heatmap colours: red where the canary has more errors, and green (the seed's convention) or
    /// blue (colour-blind safe) where it has fewer.
    #[arg(long, env = "ERRWATCH_PALETTE", value_enum, default_value_t = PaletteName::RedGreen)]
    pub palette: PaletteName,
    /// No progress bar while the input is read (it is only drawn when stderr is a terminal).
    #[arg(long, short, env = "ERRWATCH_QUIET", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub quiet: bool,
    /// Skip invalid rows, counting them by reason (stderr, the summary, JSON `summary.skipped`),
    /// instead of stopping at the first.
    #[arg(long, env = "ERRWATCH_SKIP_INVALID", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub skip_invalid: bool,
    /// With invalid rows skipped, fail (exit 2) when more than N rows, or more than this share of
    /// the rows (a number below 1, e.g. 0.01), are invalid; implies --skip-invalid.
    #[arg(
        long,
        env = "ERRWATCH_MAX_INVALID",
        value_name = "N|SHARE",
        value_parser = parse_max_invalid,
        allow_negative_numbers = true
    )]
    pub max_invalid: Option<MaxInvalid>,
    /// Follow INPUT as it grows (like `tail -f`), reporting alerts as they happen, until SIGINT or
    /// SIGTERM; `-` (stdin) is always read live.
    #[arg(long, env = "ERRWATCH_FOLLOW", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub follow: bool,
    /// Live input: a second closes (and is evaluated) once a row this many seconds later has been
    /// seen; rows for closed seconds are counted as late.
    #[arg(long, env = "ERRWATCH_LATENESS", default_value_t = 5, value_name = "SECONDS")]
    pub lateness: u64,
}

/// `--max-invalid`: a whole number of rows, or a share below 1.
pub fn parse_max_invalid(text: &str) -> std::result::Result<MaxInvalid, String> {
    if let Ok(n) = text.parse::<u64>() {
        return Ok(MaxInvalid::Rows(n));
    }
    match text.parse::<f64>() {
        Ok(share) if (0.0..1.0).contains(&share) => Ok(MaxInvalid::Fraction(share)),
        _ => Err(format!(
            "expected a number of rows (e.g. 100) or a share below 1 (e.g. 0.01), got {text:?}"
        )),
    }
}

/// Heatmap palettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PaletteName {
    /// Red for more errors in the canary, green for fewer.
    RedGreen,
    /// Red for more, blue for fewer: safe for red-green colour blindness.
    RedBlue,
}

/// The alert rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleName {
    /// Rate ratio over rolling windows, gated by an exact binomial test with a family-wise
    /// false-alarm bound.
    Rolling,
    /// The seed's rule: mean differential bucket over rolling windows, no test.
    MeanDiff,
    /// An anytime-valid sequential change detector on the one-second counts.
    Sequential,
}

impl RuleName {
    fn name(self) -> &'static str {
        match self {
            RuleName::Rolling => "rolling",
            RuleName::MeanDiff => "mean-diff",
            RuleName::Sequential => "sequential",
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Alert blocks in the seed's format and a summary line.
    Text,
    /// One JSON document.
    Json,
    /// GitHub Actions workflow commands: an `::error` annotation per alert.
    Github,
    /// A Markdown summary: the alerts, the builds, the parameters.
    Markdown,
    /// JUnit XML: one test case per error code, failed when it alerted.
    Junit,
    /// JSON Lines: `alert_started` and `alert_ended` objects as they happen, then a `summary`.
    Jsonl,
}

/// When to colour the text report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set; anywhere when CLICOLOR_FORCE is set.
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// A validated `analyze` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzeConfig {
    /// Input path, or `-`.
    pub input: String,
    /// Seconds per bin.
    pub bin_seconds: u64,
    /// The threshold.
    pub threshold: f64,
    /// Window lengths in bins, ascending and distinct.
    pub window_bins: Vec<usize>,
    /// Family-wise false-alarm bound.
    pub alpha: f64,
    /// The rule.
    pub rule: RuleName,
    /// Baseline version, if named.
    pub baseline: Option<String>,
    /// Canary version, if named.
    pub canary: Option<String>,
    /// The canary's share of traffic.
    pub traffic: f64,
    /// Output format.
    pub format: OutputFormat,
    /// Exit 0 even with alerts.
    pub exit_zero: bool,
    /// When to colour the text report.
    pub color: ColorWhen,
    /// Where to write the heatmap, if at all.
    pub heatmap: Option<PathBuf>,
    /// The heatmap's palette.
    pub palette: Palette,
    /// Draw no progress bar.
    pub quiet: bool,
    /// How rows are read: progress bar, invalid rows.
    pub read: ReadOptions,
    /// Read the input live: stdin, or a followed file.
    pub live: bool,
    /// Follow the input file as it grows.
    pub follow: bool,
    /// Seconds a live stream waits for late rows before closing a second.
    pub lateness: u64,
}

impl AnalyzeArgs {
    /// Checks every flag and builds the configuration.
    pub fn validate(self) -> Result<AnalyzeConfig> {
        if self.bins == 0 {
            bail!("--bins must be at least 1 second (got 0)");
        }
        if self.follow && self.input == input::STDIN {
            bail!("--follow needs a file: standard input is always read live");
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            bail!("--threshold must be a positive number (got {})", self.threshold);
        }
        let mut window_bins = self.threshold_bins;
        if window_bins.is_empty() {
            bail!("--threshold-bins needs at least one window length");
        }
        if window_bins.contains(&0) {
            bail!("--threshold-bins lengths must be at least 1 bin (got 0)");
        }
        window_bins.sort_unstable();
        window_bins.dedup();
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!("--alpha must lie strictly between 0 and 1 (got {})", self.alpha);
        }
        if !(self.traffic > 0.0 && self.traffic < 1.0) {
            bail!("--traffic must lie strictly between 0 and 1 (got {})", self.traffic);
        }
        if let (Some(b), Some(c)) = (&self.baseline, &self.canary)
            && b == c
        {
            bail!("--baseline and --canary name the same build ({b})");
        }
        // Checked here rather than by clap, which would also refuse ERRWATCH_NO_HEATMAP=false.
        if self.no_heatmap && self.heatmap.is_some() {
            bail!("--heatmap and --no-heatmap cannot be used together");
        }
        let heatmap = if self.no_heatmap {
            None
        } else {
            Some(self.heatmap.unwrap_or_else(|| default_heatmap_path(&self.input)))
        };
        let palette = match self.palette {
            PaletteName::RedGreen => Palette::RedGreen,
            PaletteName::RedBlue => Palette::RedBlue,
        };
        let live = self.follow || self.input == input::STDIN;
        Ok(AnalyzeConfig {
            heatmap,
            palette,
            input: self.input,
            bin_seconds: self.bins,
            threshold: self.threshold,
            window_bins,
            alpha: self.alpha,
            rule: self.rule,
            baseline: self.baseline,
            canary: self.canary,
            traffic: self.traffic,
            format: self.format,
            exit_zero: self.exit_zero,
            color: self.color,
            quiet: self.quiet,
            read: ReadOptions {
                progress: !self.quiet,
                skip_invalid: self.skip_invalid,
                max_invalid: self.max_invalid,
            },
            live,
            follow: self.follow,
            lateness: self.lateness,
        })
    }
}

/// `<input stem>.heatmap.png` in the current directory; `errwatch.heatmap.png` for stdin.
fn default_heatmap_path(input: &str) -> PathBuf {
    let stem = Path::new(input)
        .file_stem()
        .filter(|_| input != input::STDIN)
        .map_or_else(|| "errwatch".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}.heatmap.png"))
}

/// Runs `errwatch analyze`.
pub fn run(args: AnalyzeArgs) -> Result<Outcome> {
    let config = args.validate()?;
    let (mut report, bins) = if config.live {
        super::live::run(&config)?
    } else {
        let table = aggregate::read_path_with(&config.input, &config.read)?;
        analyze(&config, table)?
    };
    let mut heatmap_error = None;
    if let Some(path) = &config.heatmap {
        let title_input = Path::new(&report.input)
            .file_name()
            .map_or_else(|| report.input.clone(), |n| n.to_string_lossy().into_owned());
        let spec = HeatmapSpec {
            title_input: &title_input,
            baseline: &report.baseline.version,
            canary: &report.canary.version,
            notation: report.notation,
            palette: config.palette,
        };
        match render::write_heatmap(path, &bins, &report.alerts, &spec) {
            Ok(()) => {
                eprintln!("errwatch: heatmap written to {}", path.display());
                report.heatmap = Some(path.display().to_string());
            }
            // The analysis is still worth printing; the run fails after it.
            Err(e) => heatmap_error = Some(e),
        }
    }
    let bytes = match config.format {
        // A live run printed each alert as it ended; what is left is the closing line.
        OutputFormat::Text if config.live => {
            let verdict = text::verdict(report.alerts.len());
            format!("{}\n", text::summary_line(&report, &verdict)).into_bytes()
        }
        OutputFormat::Jsonl if config.live => jsonl::summary_line(&report),
        OutputFormat::Jsonl => Jsonl.render(&report),
        OutputFormat::Text => Text { color: use_color(config.color) }.render(&report),
        OutputFormat::Json => Json.render(&report),
        OutputFormat::Github => Github.render(&report),
        OutputFormat::Markdown => Markdown.render(&report),
        OutputFormat::Junit => Junit.render(&report),
    };
    if report.repeated_headers > 0 {
        eprintln!(
            "errwatch: warning: {}: skipped {} repeated header line(s)",
            report.input, report.repeated_headers
        );
    }
    if report.skipped.total() > 0 {
        eprintln!(
            "errwatch: warning: {}: skipped {} invalid row(s): {}",
            report.input,
            report.skipped.total(),
            report.skipped.describe()
        );
    }
    if report.late_rows > 0 {
        eprintln!(
            "errwatch: warning: {}: {} row(s) arrived more than {} s after later rows, when their \
             second had closed: counted in the totals and the heatmap, not in detection",
            report.input, report.late_rows, config.lateness
        );
    }
    let outcome =
        if report.alerts.is_empty() || config.exit_zero { Outcome::Clean } else { Outcome::Alerts };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
        // The reader went away (`| head`): the analysis is complete, so its verdict stands.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(anyhow::Error::new(e).context("writing the report to stdout")),
        Ok(()) => {}
    }
    let step_summary = step_summary_path(config.format, std::env::var_os(STEP_SUMMARY_VAR));
    if let Some(path) = step_summary {
        append_step_summary(&path, &Markdown.render(&report))?;
    }
    match heatmap_error {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// The file GitHub Actions renders as the step's summary page.
const STEP_SUMMARY_VAR: &str = "GITHUB_STEP_SUMMARY";

/// Where `--format github` appends its Markdown summary: the file GitHub names, if it does.
fn step_summary_path(format: OutputFormat, var: Option<std::ffi::OsString>) -> Option<PathBuf> {
    var.filter(|path| format == OutputFormat::Github && !path.is_empty()).map(PathBuf::from)
}

/// Appends to the step summary: other steps and tools write to the same file, so it is never
/// truncated.
fn append_step_summary(path: &Path, markdown: &[u8]) -> Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(markdown))
        .with_context(|| {
            format!("appending the summary to {} ({STEP_SUMMARY_VAR})", path.display())
        })
}

/// Whether the text report is coloured: `--color` decides, and `auto` follows the terminal and
/// the NO_COLOR / CLICOLOR_FORCE conventions (NO_COLOR wins when both are set).
pub fn use_color(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
        }
    }
}

impl AnalyzeConfig {
    /// The detection part of the configuration.
    pub fn rule_config(&self) -> RuleConfig {
        RuleConfig {
            rule: match self.rule {
                RuleName::Rolling => RuleKind::Rolling,
                RuleName::MeanDiff => RuleKind::MeanDiff,
                RuleName::Sequential => RuleKind::Sequential,
            },
            threshold: self.threshold,
            window_bins: self.window_bins.clone(),
            alpha: self.alpha,
            canary_share: self.traffic,
            bin_seconds: self.bin_seconds,
        }
    }
}

/// Runs the pipeline after reading: choose builds, bin, detect. Returns the report and the bins
/// (for the heatmap).
pub fn analyze(config: &AnalyzeConfig, table: Table) -> Result<(Report, Bins)> {
    let (baseline, canary) = choose_builds(config, &table)?;
    let bins = Bins::new(
        &table.counts,
        &table.codes,
        baseline,
        canary,
        config.bin_seconds,
        config.traffic,
    );
    let rule = config.rule_config();
    let seconds: Vec<SecondCounts> = code_order(&table.counts, &table.codes, baseline, canary)
        .into_iter()
        .map(|id| SecondCounts {
            canary: table.counts.seconds(canary, id),
            baseline: table.counts.seconds(baseline, id),
        })
        .collect();
    // Codes are fed in heatmap order, so a code's id is its row.
    let mut detector = rule.detector();
    let alerts: Vec<Alert> = run_batch(detector.as_mut(), bins.first_second, &seconds)
        .iter()
        .map(|episode| {
            let row = episode.code;
            let new_code = bins.totals(row).1 == 0;
            Alert::new(episode, bins.codes[row].clone(), row, new_code, config.threshold)
        })
        .collect();
    let gate = detector.gate();
    let facts = RunFacts {
        input: &table.name,
        notation: table.notation,
        rows: table.rows,
        builds: &table.builds,
        baseline,
        canary,
        span: table.counts.first_second.zip(table.counts.last_second),
        repeated_headers: table.repeated_headers,
        late_rows: 0,
        skipped: &table.skipped,
    };
    Ok((report(config, &facts, &bins, alerts, gate), bins))
}

/// What a run learnt of its input, batch or live.
pub struct RunFacts<'a> {
    /// The input's name.
    pub input: &'a str,
    /// Its timestamp notation, if it had rows.
    pub notation: Option<Notation>,
    /// Data rows read.
    pub rows: u64,
    /// Every build by id.
    pub builds: &'a [BuildStats],
    /// The baseline's id.
    pub baseline: usize,
    /// The canary's id.
    pub canary: usize,
    /// First and last second seen.
    pub span: Option<(i64, i64)>,
    /// Repeated header lines skipped.
    pub repeated_headers: u64,
    /// Rows that came after their second had closed (live runs).
    pub late_rows: u64,
    /// Invalid rows skipped.
    pub skipped: &'a Skipped,
}

/// The report of a run.
pub fn report(
    config: &AnalyzeConfig,
    facts: &RunFacts,
    bins: &Bins,
    alerts: Vec<Alert>,
    gate: Option<Gate>,
) -> Report {
    let ignored_builds = facts
        .builds
        .iter()
        .enumerate()
        .filter(|&(id, _)| id != facts.baseline && id != facts.canary)
        .map(|(_, b)| b.clone())
        .collect();
    Report {
        input: facts.input.to_string(),
        notation: facts.notation.unwrap_or(Notation::Offset),
        rows: facts.rows,
        baseline: facts.builds[facts.baseline].clone(),
        canary: facts.builds[facts.canary].clone(),
        ignored_builds,
        parameters: Parameters {
            rule: config.rule.name(),
            bin_seconds: config.bin_seconds,
            threshold: config.threshold,
            window_bins: config.window_bins.clone(),
            alpha: config.alpha,
            traffic: config.traffic,
        },
        span: facts.span,
        // Bins of --bins seconds over the span (a live heatmap may have merged its columns).
        bins: facts
            .span
            .map_or(0, |(first, last)| ((last - first) as u64 / config.bin_seconds) as usize + 1),
        codes: bins.codes.len(),
        compared_codes: bins.codes.clone(),
        gate,
        alerts,
        repeated_headers: facts.repeated_headers,
        late_rows: facts.late_rows,
        skipped: facts.skipped.clone(),
        heatmap: None,
    }
}

/// Picks the baseline and canary build ids.
fn choose_builds(config: &AnalyzeConfig, table: &Table) -> Result<(usize, usize)> {
    // A build whose every row was skipped as invalid was never really seen.
    let present: Vec<usize> =
        (0..table.builds.len()).filter(|&id| table.builds[id].rows > 0).collect();
    let seen = || {
        let builds: Vec<BuildStats> = present.iter().map(|&id| table.builds[id].clone()).collect();
        list_builds(&builds)
    };
    let find = |flag: &str, version: &str| {
        present.iter().copied().find(|&id| table.builds[id].version == version).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: {flag} {version} is not in the data; builds seen: {}",
                table.name,
                seen()
            )
        })
    };
    if table.rows == 0 {
        bail!("{}: no data rows after the header", table.name);
    }
    let named = (
        config.baseline.as_deref().map(|v| find("--baseline", v)).transpose()?,
        config.canary.as_deref().map(|v| find("--canary", v)).transpose()?,
    );
    match (named, present.as_slice()) {
        ((Some(b), Some(c)), _) => Ok((b, c)),
        ((Some(known), None) | (None, Some(known)), &[x, y]) => {
            let other = if known == x { y } else { x };
            Ok(if named.0.is_some() { (known, other) } else { (other, known) })
        }
        ((None, None), &[x, y]) => {
            let (a, b) = (&table.builds[x].version, &table.builds[y].version);
            Ok(if compare_versions(a, b).is_lt() { (x, y) } else { (y, x) })
        }
        _ => bail!(
            "{}: cannot tell the baseline from the canary: {} builds seen ({}); name both with --baseline and --canary",
            table.name,
            present.len(),
            seen()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(extra: &[&str]) -> Result<AnalyzeConfig> {
        let mut argv = vec!["errwatch", "analyze", "in.csv"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv)?.command {
            crate::cli::Command::Analyze(args) => args.validate(),
            _ => unreachable!("the analyze subcommand was given"),
        }
    }

    fn refused(extra: &[&str]) -> String {
        format!("{:#}", parse(extra).unwrap_err())
    }

    #[test]
    fn defaults_are_the_seeds_parameters() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.bin_seconds, c.threshold, c.window_bins.clone()), (100, 1.25, vec![5, 10]));
        assert_eq!((c.alpha, c.traffic, c.rule), (0.05, 0.5, RuleName::Rolling));
        assert_eq!(c.format, OutputFormat::Text);
        assert_eq!(c.heatmap, Some(PathBuf::from("in.heatmap.png")));
        assert_eq!(c.palette, Palette::RedGreen);
    }

    #[test]
    fn the_heatmap_path_follows_the_input_or_the_flags() {
        assert_eq!(
            default_heatmap_path("data/ErrorStreamSetA.csv"),
            PathBuf::from("ErrorStreamSetA.heatmap.png")
        );
        assert_eq!(default_heatmap_path("-"), PathBuf::from("errwatch.heatmap.png"));
        assert_eq!(parse(&["--no-heatmap"]).unwrap().heatmap, None);
        assert_eq!(parse(&["--heatmap", "x.svg"]).unwrap().heatmap, Some(PathBuf::from("x.svg")));
        assert_eq!(parse(&["--palette", "red-blue"]).unwrap().palette, Palette::RedBlue);
        assert!(parse(&["--heatmap", "x.png", "--no-heatmap"]).is_err());
    }

    #[test]
    fn window_lengths_are_sorted_and_deduplicated() {
        assert_eq!(parse(&["--threshold-bins", "10,5,10"]).unwrap().window_bins, vec![5, 10]);
    }

    #[test]
    fn each_bad_flag_is_refused_with_its_name() {
        assert!(refused(&["--bins", "0"]).contains("--bins"));
        assert!(refused(&["--threshold", "0"]).contains("--threshold"));
        assert!(refused(&["--threshold", "-1"]).contains("--threshold"));
        assert!(refused(&["--threshold", "NaN"]).contains("--threshold"));
        assert!(refused(&["--threshold-bins", "5,0"]).contains("--threshold-bins"));
        assert!(refused(&["--alpha", "1"]).contains("--alpha"));
        assert!(refused(&["--alpha", "0"]).contains("--alpha"));
        assert!(refused(&["--traffic", "1.5"]).contains("--traffic"));
        assert!(refused(&["--baseline", "1.0", "--canary", "1.0"]).contains("same build"));
    }

    fn table(builds: &[&str]) -> Table {
        let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
        for b in builds {
            csv.push_str(&format!("0:00:01,{b},3\n"));
        }
        aggregate::read(csv.as_bytes(), "t.csv").unwrap()
    }

    #[test]
    fn the_lower_of_two_versions_is_the_baseline() {
        let config = parse(&[]).unwrap();
        let t = table(&["5.0007.610.011", "5.0007.510.011"]);
        assert_eq!(choose_builds(&config, &t).unwrap(), (1, 0));
        let t = table(&["1.9", "1.10"]);
        assert_eq!(choose_builds(&config, &t).unwrap(), (0, 1));
    }

    #[test]
    fn builds_can_be_named_and_one_name_implies_the_other() {
        let t = table(&["1.9", "1.10", "2.0"]);
        let config = parse(&["--baseline", "2.0", "--canary", "1.9"]).unwrap();
        assert_eq!(choose_builds(&config, &t).unwrap(), (2, 0));
        let t = table(&["1.9", "1.10"]);
        let config = parse(&["--canary", "1.9"]).unwrap();
        assert_eq!(choose_builds(&config, &t).unwrap(), (1, 0));
    }

    #[test]
    fn other_build_counts_are_refused_with_the_builds_seen() {
        let config = parse(&[]).unwrap();
        let e = format!(
            "{:#}",
            choose_builds(&config, &table(&["2.0", "1.0", "1.0", "3.0"])).unwrap_err()
        );
        assert!(e.contains("3 builds seen (1.0 (2 rows), 2.0 (1 rows), 3.0 (1 rows))"), "{e}");
        let e = format!("{:#}", choose_builds(&config, &table(&["1.0"])).unwrap_err());
        assert!(e.contains("1 builds seen"), "{e}");
        let config = parse(&["--baseline", "9.9", "--canary", "1.0"]).unwrap();
        let e = format!("{:#}", choose_builds(&config, &table(&["1.0", "2.0"])).unwrap_err());
        assert!(e.contains("--baseline 9.9 is not in the data"), "{e}");
    }

    #[test]
    fn the_ci_formats_and_colour_are_flags() {
        assert_eq!(parse(&["--format", "github"]).unwrap().format, OutputFormat::Github);
        assert_eq!(parse(&["--format", "markdown"]).unwrap().format, OutputFormat::Markdown);
        assert_eq!(parse(&["--format", "junit"]).unwrap().format, OutputFormat::Junit);
        assert_eq!(parse(&[]).unwrap().color, ColorWhen::Auto);
        assert_eq!(parse(&["--color", "never"]).unwrap().color, ColorWhen::Never);
        assert_eq!(parse(&["--color", "always"]).unwrap().color, ColorWhen::Always);
        assert!(parse(&["--color", "sometimes"]).is_err());
        assert!(!use_color(ColorWhen::Never));
        assert!(use_color(ColorWhen::Always));
    }

    #[test]
    fn only_the_github_format_appends_a_step_summary() {
        let var = || Some(std::ffi::OsString::from("summary.md"));
        assert_eq!(step_summary_path(OutputFormat::Github, var()), Some("summary.md".into()));
        for other in [OutputFormat::Text, OutputFormat::Json, OutputFormat::Markdown] {
            assert_eq!(step_summary_path(other, var()), None);
        }
        assert_eq!(step_summary_path(OutputFormat::Github, Some("".into())), None);
        assert_eq!(step_summary_path(OutputFormat::Github, None), None);
    }
}
