//! The command line: clap's derive types, validated once into plain configurations.
//!
//! No clap type travels past this module: each subcommand's arguments are checked here and turned
//! into the configuration of the stage that runs it.

pub mod aggregate;
pub mod analyze;
pub mod generate;
pub mod meta;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Detect error-code regressions between a baseline and a canary build.
#[derive(Debug, Parser)]
#[command(
    name = "errwatch",
    version,
    about,
    long_about = None,
    after_help = "Every flag can also be set by an environment variable, shown in each \
                  subcommand's --help: ERRWATCH_<FLAG> for analyze (ERRWATCH_THRESHOLD, \
                  ERRWATCH_FORMAT, ...), ERRWATCH_<SUBCOMMAND>_<FLAG> for the others. A flag on \
                  the command line wins. Exit codes: 0 pass, 1 regression (alerts), 2 error, \
                  3 inconclusive (no alert, but the data could not have shown one); --exit-zero \
                  turns 1 and 3 into 0."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare a canary build with its baseline and report error codes that got worse.
    Analyze(analyze::AnalyzeArgs),
    /// Aggregate error events (or count files) into per-second counts, which analyze reads.
    Aggregate(aggregate::AggregateArgs),
    /// Write a synthetic error-event stream, with optional ground truth.
    Generate(generate::GenerateArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(meta::CompletionsArgs),
    /// Print a manual page (roff) to stdout: `errwatch man | man -l -`.
    Man(meta::ManArgs),
}

pub use crate::pipeline::Outcome;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Analyze(args) => crate::pipeline::run(&args.validate()?),
        Command::Aggregate(args) => {
            crate::pipeline::counts::run(&args.validate()?).map(|()| Outcome::Clean)
        }
        Command::Generate(args) => generate::run(args).map(|()| Outcome::Clean),
        Command::Completions(args) => meta::run_completions(args).map(|()| Outcome::Clean),
        Command::Man(args) => meta::run_man(args).map(|()| Outcome::Clean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{ArgAction, CommandFactory};

    /// CI pipelines configure errwatch through the environment: `ERRWATCH_<FLAG>` for analyze,
    /// `ERRWATCH_<SUBCOMMAND>_<FLAG>` for the others, so one variable never means two things.
    #[test]
    fn every_flag_has_an_environment_twin_named_by_the_convention() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            let prefix = match sub.get_name() {
                "analyze" => "ERRWATCH_".to_string(),
                name => format!("ERRWATCH_{}_", name.to_uppercase()),
            };
            for arg in sub.get_arguments() {
                if arg.is_positional()
                    || matches!(arg.get_action(), ArgAction::Help | ArgAction::Version)
                {
                    continue;
                }
                let long = arg.get_long().expect("every flag has a long name");
                let expected = format!("{prefix}{}", long.to_uppercase().replace('-', "_"));
                let env = arg.get_env().and_then(|e| e.to_str());
                assert_eq!(env, Some(expected.as_str()), "errwatch {} --{long}", sub.get_name());
            }
        }
    }
}
