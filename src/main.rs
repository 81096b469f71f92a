//! The `errwatch` binary: parse arguments, run, map the outcome to an exit code.
//!
//! Exit codes: 0 pass (no alert), 1 regression (at least one alert), 2 usage, input or I/O error,
//! 3 inconclusive (no alert, but the data could not have shown one). A closed stdout pipe
//! (`errwatch analyze ... | head`) ends the run quietly.

use std::process::ExitCode;

use clap::Parser;
use errwatch::cli::{Cli, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match errwatch::run(cli) {
        Ok(Outcome::Clean) => ExitCode::from(0),
        Ok(Outcome::Alerts) => ExitCode::from(1),
        Ok(Outcome::Inconclusive) => ExitCode::from(3),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(0),
        Err(err) => {
            // Messages escape the labels and paths they quote; this guards the rest.
            eprintln!("errwatch: {}", errwatch::escape::inert(&format!("{err:#}")));
            ExitCode::from(2)
        }
    }
}

/// Whether the run ended because stdout's reader went away, anywhere in the error chain: directly,
/// or as an I/O error wrapped in another (the csv writer's errors become `io::Error`s of kind
/// `Other` that hold the broken pipe inside).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(is_broken_pipe_io)
            || cause.downcast_ref::<csv::Error>().is_some_and(is_broken_pipe_csv)
    })
}

fn is_broken_pipe_io(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::BrokenPipe
        || io.get_ref().is_some_and(|inner| {
            inner.downcast_ref::<std::io::Error>().is_some_and(is_broken_pipe_io)
                || inner.downcast_ref::<csv::Error>().is_some_and(is_broken_pipe_csv)
        })
}

fn is_broken_pipe_csv(err: &csv::Error) -> bool {
    matches!(err.kind(), csv::ErrorKind::Io(io) if is_broken_pipe_io(io))
}
