//! `errwatch analyze`: its arguments, validated into the pipeline's [`AnalyzeConfig`].
//!
//! Every flag is checked here, once, and turned into the object the pipeline uses (the rule's
//! [`RuleConfig`], the palette, the colour decision); [`crate::pipeline`] runs the analysis.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, ValueEnum};

use crate::detect::{RuleConfig, RuleKind};
use crate::input::{self, ColumnNames, MaxInvalid, ReadOptions};
use crate::pipeline::{AnalyzeConfig, OutputFormat, Source};
use crate::render::Palette;

/// Arguments of `errwatch analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The error events: CSV (`Timestamp,Build_Version,Error_Code[,Count]`) or JSON lines, plain or
    /// gzip, or a Parquet file; `-` reads stdin.
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
    /// The old build's version (default: the older of exactly two versions; other labels must be
    /// named).
    #[arg(long, env = "ERRWATCH_BASELINE", value_name = "VERSION")]
    pub baseline: Option<String>,
    /// The new build's version (default: the newer of exactly two versions).
    #[arg(long, env = "ERRWATCH_CANARY", value_name = "VERSION")]
    pub canary: Option<String>,
    /// The canary's share of users, in (0, 1); counts are normalized to an equal split. `auto`
    /// estimates it from the data (the weighted median of the codes' canary shares in each
    /// quarter of the run; not with --follow). Either way the estimate is reported, with a warning when the data contradict
    /// the share used.
    #[arg(
        long,
        env = "ERRWATCH_TRAFFIC",
        default_value = "0.5",
        value_name = "SHARE|auto",
        value_parser = parse_traffic,
        allow_negative_numbers = true
    )]
    pub traffic: TrafficArg,
    /// The time zone Unix-seconds timestamps are shown in, as RFC 3339: an IANA name
    /// (`Europe/Paris`), `UTC`, a fixed offset (`+05:30`) or a POSIX TZ string [default: the TZ
    /// variable, else UTC]. Other notations are shown as written.
    #[arg(long, env = "ERRWATCH_TIME_ZONE", value_name = "ZONE", allow_hyphen_values = true)]
    pub time_zone: Option<String>,
    /// Output format; `github` also appends the markdown summary to the file named by
    /// GITHUB_STEP_SUMMARY, when it is set.
    #[arg(long, env = "ERRWATCH_FORMAT", value_enum, default_value_t = FormatName::Text)]
    pub format: FormatName,
    /// Exit 0 even when alerts fire or the run is inconclusive (errors still exit 2). The
    /// variable takes true/false, 1/0, yes/no or on/off.
    #[arg(long, env = "ERRWATCH_EXIT_ZERO", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub exit_zero: bool,
    /// The share of the baseline's events, in (0, 1], whose codes (the most frequent first) must
    /// each have had a minimum detectable ratio of at most --max-detectable for the run to pass;
    /// otherwise it is inconclusive (exit 3).
    #[arg(
        long,
        env = "ERRWATCH_COVERAGE",
        default_value_t = 0.8,
        value_name = "SHARE",
        allow_negative_numbers = true
    )]
    pub coverage: f64,
    /// The largest minimum detectable ratio (the smallest canary/baseline ratio that would have
    /// fired, given a code's counts) a covered code may have in a run that passes; at least
    /// --threshold. Default: twice --threshold.
    #[arg(
        long,
        env = "ERRWATCH_MAX_DETECTABLE",
        value_name = "RATIO",
        allow_negative_numbers = true
    )]
    pub max_detectable: Option<f64>,
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
    /// Read INPUT live, reporting alerts as they happen: follow a file as it grows (like `tail
    /// -F`) until SIGINT or SIGTERM, or read `-` (stdin) as it arrives until its end or a signal.
    /// Without it, stdin is read to its end first and analyzed as a file is (any row order).
    #[arg(long, env = "ERRWATCH_FOLLOW", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub follow: bool,
    /// Live input: a second closes (and is evaluated) once a row this many seconds later has been
    /// seen; rows for closed seconds are counted as late.
    #[arg(long, env = "ERRWATCH_LATENESS", default_value_t = 5, value_name = "SECONDS")]
    pub lateness: u64,
    /// The column (CSV) or key path (JSON lines: `event.time` is the key `time` of the object
    /// under `event`) that holds the timestamp; matched case-insensitively [default: Timestamp,
    /// or in CSV and Parquet another exporter's name for it: time, ts, event_time, ...]
    #[arg(long, env = "ERRWATCH_TIMESTAMP_COLUMN", value_name = "NAME")]
    pub timestamp_column: Option<String>,
    /// The column or key path of the build version [default: Build_Version, or build, version,
    /// app_version, ...]
    #[arg(long, env = "ERRWATCH_BUILD_COLUMN", value_name = "NAME")]
    pub build_column: Option<String>,
    /// The column or key path of the error code [default: Error_Code, or code, error,
    /// error_type, ...]
    #[arg(long, env = "ERRWATCH_CODE_COLUMN", value_name = "NAME")]
    pub code_column: Option<String>,
    /// The column or key path of the number of events a row stands for; once named, it is
    /// required [default: a column named Count, when there is one].
    #[arg(long, env = "ERRWATCH_COUNT_COLUMN", value_name = "NAME")]
    pub count_column: Option<String>,
    /// The column or key path of the unit an event comes from (a client, user, device or
    /// session): each unit counts at most once per code, build and slot (--unit-slot), and
    /// alerts say how many were affected. `none` turns units off [default: the column named as the earliest
    /// of client_id, user_id, device_id, session_id, installation_id, install_id, account_id,
    /// customer_id, visitor_id, anonymous_id, distinct_id, user_pseudo_id, uid, client, user,
    /// device and session, comparing letters and digits only (ClientId and client-id are
    /// client_id), when there is one].
    #[arg(long, env = "ERRWATCH_UNIT_COLUMN", value_name = "NAME")]
    pub unit_column: Option<String>,
    /// With a unit column, the slot within which a unit counts once per code and build, in
    /// seconds [default: --bins]. A slot as long as the longest window counts a client whose
    /// error lasts for hours at most twice per window.
    #[arg(long, env = "ERRWATCH_UNIT_SLOT", value_name = "SECONDS")]
    pub unit_slot: Option<u64>,
}

/// `--traffic`: a share, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrafficArg {
    /// The canary's declared share of users.
    Share(f64),
    /// Estimate it from the data.
    Auto,
}

/// `--traffic`: `auto` or a number (its range is checked by [`AnalyzeArgs::validate`]).
pub fn parse_traffic(text: &str) -> std::result::Result<TrafficArg, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(TrafficArg::Auto);
    }
    text.parse::<f64>()
        .map(TrafficArg::Share)
        .map_err(|_| format!("expected a share in (0, 1) or `auto`, got {text:?}"))
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

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatName {
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

impl AnalyzeArgs {
    /// Checks every flag and builds the configuration.
    pub fn validate(self) -> Result<AnalyzeConfig> {
        if self.bins == 0 {
            bail!("--bins must be at least 1 second (got 0)");
        }
        let unit_slot_seconds = self.unit_slot.unwrap_or(self.bins);
        if unit_slot_seconds == 0 {
            bail!("--unit-slot must be at least 1 second (got 0)");
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
        let (canary_share, traffic_auto) = match self.traffic {
            TrafficArg::Share(share) if share > 0.0 && share < 1.0 => (share, false),
            TrafficArg::Share(share) => {
                bail!("--traffic must lie strictly between 0 and 1 (got {share})")
            }
            // Replaced by the estimate before detection; the even split until then.
            TrafficArg::Auto => (0.5, true),
        };
        if traffic_auto && self.follow {
            bail!(
                "--traffic auto needs the whole input to estimate the canary's share, and \
                 --follow analyzes rows as they arrive: give the share as a number (the summary \
                 still reports the share the data show, and warns when they contradict it)"
            );
        }
        if !(self.coverage > 0.0 && self.coverage <= 1.0) {
            bail!("--coverage must lie in (0, 1] (got {})", self.coverage);
        }
        let max_detectable = self.max_detectable.unwrap_or(2.0 * self.threshold);
        if !(max_detectable.is_finite() && max_detectable >= self.threshold) {
            bail!(
                "--max-detectable must be a finite ratio of at least --threshold {} (got {})",
                self.threshold,
                max_detectable
            );
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
        let columns = ColumnNames::new(
            self.timestamp_column,
            self.build_column,
            self.code_column,
            self.count_column,
        )?
        .with_unit(self.unit_column)?;
        let palette = match self.palette {
            PaletteName::RedGreen => Palette::RedGreen,
            PaletteName::RedBlue => Palette::RedBlue,
        };
        let source = if self.input == input::STDIN && self.follow {
            Source::Stdin
        } else if self.follow {
            Source::Follow(self.input)
        } else {
            Source::File(self.input)
        };
        let rule = RuleConfig {
            rule: match self.rule {
                RuleName::Rolling => RuleKind::Rolling,
                RuleName::MeanDiff => RuleKind::MeanDiff,
                RuleName::Sequential => RuleKind::Sequential,
            },
            threshold: self.threshold,
            window_bins,
            alpha: self.alpha,
            canary_share,
            bin_seconds: self.bins,
        };
        let format = match self.format {
            FormatName::Text => OutputFormat::Text,
            FormatName::Json => OutputFormat::Json,
            FormatName::Github => OutputFormat::Github,
            FormatName::Markdown => OutputFormat::Markdown,
            FormatName::Junit => OutputFormat::Junit,
            FormatName::Jsonl => OutputFormat::Jsonl,
        };
        let tz = std::env::var("TZ").ok();
        let (time_zone, time_zone_name) =
            crate::clock::zone(self.time_zone.as_deref(), tz.as_deref())?;
        Ok(AnalyzeConfig {
            time_zone,
            time_zone_name,
            heatmap,
            palette,
            source,
            rule,
            traffic_auto,
            baseline: self.baseline,
            canary: self.canary,
            format,
            exit_zero: self.exit_zero,
            coverage: self.coverage,
            max_detectable,
            color: use_color(self.color),
            read: ReadOptions {
                progress: !self.quiet,
                skip_invalid: self.skip_invalid,
                max_invalid: self.max_invalid,
                columns,
                unit_slot_seconds,
            },
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
        let c = parse(&[]).unwrap().rule;
        assert_eq!((c.bin_seconds, c.threshold, c.window_bins.clone()), (100, 1.25, vec![5, 10]));
        assert_eq!((c.alpha, c.canary_share, c.rule), (0.05, 0.5, RuleKind::Rolling));
        let c = parse(&[]).unwrap();
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
    fn the_input_names_its_source() {
        assert_eq!(parse(&[]).unwrap().source, Source::File("in.csv".into()));
        assert_eq!(parse(&["--follow"]).unwrap().source, Source::Follow("in.csv".into()));
        let stdin = |extra: &[&str]| {
            let mut argv = vec!["errwatch", "analyze", "-"];
            argv.extend_from_slice(extra);
            let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
            let crate::cli::Command::Analyze(args) = cli.command else { unreachable!() };
            args.validate().unwrap().source
        };
        // A finished export on stdin gets the file's answer; live reading is asked for.
        assert_eq!(stdin(&[]), Source::File("-".into()));
        assert_eq!(stdin(&["--follow"]), Source::Stdin);
        assert!(Source::Stdin.is_live());
        assert!(!parse(&[]).unwrap().source.is_live());
    }

    #[test]
    fn the_verdicts_bounds_default_to_most_events_and_twice_the_threshold() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.coverage, c.max_detectable), (0.8, 2.5));
        let c = parse(&["--threshold", "1.5"]).unwrap();
        assert_eq!(c.max_detectable, 3.0);
        let c = parse(&["--coverage", "1", "--max-detectable", "1.25"]).unwrap();
        assert_eq!((c.coverage, c.max_detectable), (1.0, 1.25));
    }

    #[test]
    fn the_verdicts_bounds_are_refused_outside_their_ranges() {
        for coverage in ["0", "-0.5", "1.01", "NaN"] {
            assert!(refused(&["--coverage", coverage]).contains("--coverage"), "{coverage}");
        }
        for ratio in ["1.2", "0", "-2", "inf", "NaN"] {
            assert!(refused(&["--max-detectable", ratio]).contains("--max-detectable"), "{ratio}");
        }
    }

    #[test]
    fn traffic_is_a_share_or_auto() {
        let c = parse(&["--traffic", "0.72"]).unwrap();
        assert_eq!((c.rule.canary_share, c.traffic_auto), (0.72, false));
        for auto in ["auto", "AUTO"] {
            let c = parse(&["--traffic", auto]).unwrap();
            assert_eq!((c.rule.canary_share, c.traffic_auto), (0.5, true));
        }
        assert!(!parse(&[]).unwrap().traffic_auto);
    }

    #[test]
    fn window_lengths_are_sorted_and_deduplicated() {
        assert_eq!(parse(&["--threshold-bins", "10,5,10"]).unwrap().rule.window_bins, vec![5, 10]);
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
        assert!(refused(&["--traffic", "half"]).contains("expected a share in (0, 1) or `auto`"));
        assert!(refused(&["--traffic", "auto", "--follow"]).contains("--traffic auto needs"));
        assert!(refused(&["--baseline", "1.0", "--canary", "1.0"]).contains("same build"));
    }

    #[test]
    fn the_column_flags_name_the_fields_and_default_to_the_seeds_columns() {
        // Without --unit-column, a unit column is auto-detected.
        let auto = ColumnNames::default().with_unit(None).unwrap();
        assert_eq!(parse(&[]).unwrap().read.columns, auto);
        let off = parse(&["--unit-column", "none"]).unwrap().read.columns;
        assert_eq!(off, ColumnNames::default());
        let columns = parse(&[
            "--timestamp-column",
            "ts",
            "--build-column",
            "app.version",
            "--code-column",
            "error.code",
            "--count-column",
            "n",
        ])
        .unwrap()
        .read
        .columns;
        assert_eq!(
            (columns.timestamp.as_str(), columns.build.as_str(), columns.code.as_str()),
            ("ts", "app.version", "error.code")
        );
        assert_eq!((columns.count.as_str(), columns.count_required), ("n", true));
    }

    #[test]
    fn column_flags_naming_nothing_or_one_column_twice_are_refused() {
        assert!(refused(&["--build-column", ""]).contains("--build-column"));
        assert!(refused(&["--code-column", "a..b"]).contains("dotted path"));
        let e = refused(&["--build-column", "error_code"]);
        assert!(e.contains("--build-column and --code-column name the same column"), "{e}");
    }

    #[test]
    fn the_ci_formats_and_colour_are_flags() {
        assert_eq!(parse(&["--format", "github"]).unwrap().format, OutputFormat::Github);
        assert_eq!(parse(&["--format", "markdown"]).unwrap().format, OutputFormat::Markdown);
        assert_eq!(parse(&["--format", "junit"]).unwrap().format, OutputFormat::Junit);
        assert!(!parse(&["--color", "never"]).unwrap().color);
        assert!(parse(&["--color", "always"]).unwrap().color);
        assert!(parse(&["--color", "sometimes"]).is_err());
        assert!(!use_color(ColorWhen::Never));
        assert!(use_color(ColorWhen::Always));
    }
}
