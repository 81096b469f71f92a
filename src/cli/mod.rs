//! The command line: clap's derive types, validated once into plain configurations.
//!
//! No clap type travels past this module: each subcommand's arguments are checked here and turned
//! into the configuration of the stage that runs it.

pub mod aggregate;
pub mod analyze;
pub mod generate;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Detect error-code regressions between a baseline and a canary build.
#[derive(Debug, Parser)]
#[command(name = "errwatch", version, about, long_about = None)]
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
}

/// How a successful run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit code 0).
    Clean,
    /// At least one alert (exit code 1 unless `--exit-zero`).
    Alerts,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Aggregate(args) => aggregate::run(args).map(|()| Outcome::Clean),
        Command::Generate(args) => generate::run(args).map(|()| Outcome::Clean),
    }
}
