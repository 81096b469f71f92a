//! `errwatch aggregate`: its arguments, validated into the pipeline's [`AggregateConfig`]
//! ([`crate::pipeline::counts`] runs it).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::ArgAction;
use clap::Args;
use clap::builder::BoolishValueParser;

use crate::escape::visible;
use crate::input::{self, ColumnNames};
use crate::pipeline::counts::AggregateConfig;

/// Arguments of `errwatch aggregate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Inputs are event files (Timestamp,Build_Version,Error_Code, in CSV or JSON \
                  lines) or count files with a Count column, in one timestamp notation. Their counts are added per second, \
                  build and code; the output keeps the notation and holds non-zero rows only, in \
                  time order. errwatch analyze reads it like the raw events."
)]
pub struct AggregateArgs {
    /// Input files (CSV or JSON lines, plain or gzip, or Parquet), shards of one stream; `-` reads
    /// stdin (once).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Where to write the counts [default: stdout].
    #[arg(short, long, env = "ERRWATCH_AGGREGATE_OUTPUT", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// No progress bar and no summary line on stderr.
    #[arg(
        long,
        short,
        env = "ERRWATCH_AGGREGATE_QUIET",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub quiet: bool,
    /// The column (CSV) or key path (JSON lines: `event.time` is the key `time` of the object
    /// under `event`) that holds the timestamp; matched case-insensitively [default: Timestamp,
    /// or in CSV and Parquet another exporter's name for it: time, ts, event_time, ...]
    #[arg(long, env = "ERRWATCH_AGGREGATE_TIMESTAMP_COLUMN", value_name = "NAME")]
    pub timestamp_column: Option<String>,
    /// The column or key path of the build version [default: Build_Version, or build, version,
    /// app_version, ...]
    #[arg(long, env = "ERRWATCH_AGGREGATE_BUILD_COLUMN", value_name = "NAME")]
    pub build_column: Option<String>,
    /// The column or key path of the error code [default: Error_Code, or code, error,
    /// error_type, ...]
    #[arg(long, env = "ERRWATCH_AGGREGATE_CODE_COLUMN", value_name = "NAME")]
    pub code_column: Option<String>,
    /// The column or key path of the number of events a row stands for; once named, it is
    /// required [default: a column named Count, when there is one].
    #[arg(long, env = "ERRWATCH_AGGREGATE_COUNT_COLUMN", value_name = "NAME")]
    pub count_column: Option<String>,
}

impl AggregateArgs {
    /// Checks the arguments.
    pub fn validate(self) -> Result<AggregateConfig> {
        if self.inputs.iter().filter(|i| *i == input::STDIN).count() > 1 {
            bail!("standard input (-) can be read only once");
        }
        let output = self.output.filter(|p| p != Path::new("-"));
        if let Some(out) = &output
            && let Some(same) = self.inputs.iter().find(|i| Path::new(i) == out)
        {
            bail!(
                "-o {}: is also an input ({}); write the counts elsewhere",
                visible(&out.to_string_lossy()),
                visible(same)
            );
        }
        let columns = ColumnNames::new(
            self.timestamp_column,
            self.build_column,
            self.code_column,
            self.count_column,
        )?;
        Ok(AggregateConfig { inputs: self.inputs, output, quiet: self.quiet, columns })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> Result<AggregateConfig> {
        let mut full = vec!["errwatch", "aggregate"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full)?.command {
            crate::cli::Command::Aggregate(args) => args.validate(),
            _ => unreachable!("the aggregate subcommand was given"),
        }
    }

    #[test]
    fn inputs_are_required_and_the_output_defaults_to_stdout() {
        assert!(parse(&[]).is_err());
        let config = parse(&["a.csv", "b.csv"]).unwrap();
        assert_eq!(config.inputs, ["a.csv", "b.csv"]);
        assert_eq!((config.output, config.quiet), (None, false));
        assert_eq!(parse(&["a.csv", "-o", "-"]).unwrap().output, None);
        let config = parse(&["a.csv", "-o", "c.csv", "--quiet"]).unwrap();
        assert_eq!((config.output, config.quiet), (Some(PathBuf::from("c.csv")), true));
    }

    #[test]
    fn the_column_flags_are_validated_as_for_analyze() {
        assert_eq!(parse(&["a.csv"]).unwrap().columns, ColumnNames::default());
        let config = parse(&["a.jsonl", "--timestamp-column", "event.time"]).unwrap();
        assert_eq!(config.columns.timestamp, "event.time");
        let e = format!("{:#}", parse(&["a.csv", "--count-column", "Timestamp"]).unwrap_err());
        assert!(e.contains("--timestamp-column and --count-column"), "{e}");
    }

    #[test]
    fn stdin_twice_or_an_input_as_output_is_refused() {
        let e = format!("{:#}", parse(&["-", "a.csv", "-"]).unwrap_err());
        assert!(e.contains("only once"), "{e}");
        let e = format!("{:#}", parse(&["a.csv", "-o", "a.csv"]).unwrap_err());
        assert!(e.contains("is also an input"), "{e}");
    }
}
