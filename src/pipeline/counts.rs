//! `errwatch aggregate`: the aggregation step on its own.
//!
//! Reads one or more inputs (shards of one stream: raw events or count files alike), merges their
//! per-second counters and writes them as a count file (`Timestamp,Build_Version,Error_Code,Count`,
//! non-zero rows only), which `errwatch analyze` reads like the raw events. Aggregating shards
//! where they are and analysing the count files together gives the alerts of the whole stream.

use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::aggregate::{self, Table, Written};
use crate::input;

/// A validated `aggregate` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateConfig {
    /// The inputs, in order.
    pub inputs: Vec<String>,
    /// The output file, or `None` for stdout.
    pub output: Option<PathBuf>,
    /// Nothing on stderr but warnings and errors.
    pub quiet: bool,
    /// The columns (or JSON keys) of the four fields, in every input.
    pub columns: input::ColumnNames,
}

/// Runs `errwatch aggregate`.
pub fn run(config: &AggregateConfig) -> Result<()> {
    let shards = config.inputs.iter().map(|path| {
        let table = aggregate::read_path_with(
            path,
            &input::ReadOptions {
                progress: !config.quiet,
                columns: config.columns.clone(),
                ..Default::default()
            },
        )?;
        super::batch::say_chosen_columns(&table.name, &table.chosen_columns);
        if table.repeated_headers > 0 {
            eprintln!(
                "errwatch: warning: {}: skipped {} repeated header line(s)",
                crate::escape::visible(&table.name),
                table.repeated_headers
            );
        }
        Ok(table)
    });
    let merged = aggregate::merge(shards, &config.inputs.join(", "))?;
    let written = match &config.output {
        Some(path) => write_file(&merged, path)?,
        None => aggregate::write_counts(&merged, BufWriter::new(io::stdout().lock()))
            .context("writing the counts to stdout")?,
    };
    if !config.quiet {
        let to = config
            .output
            .as_ref()
            .map_or("stdout".into(), |p| crate::escape::visible(&p.to_string_lossy()).into_owned());
        eprintln!(
            "errwatch: {} count rows for {} events from {} rows of {} input(s) written to {to}",
            written.rows,
            written.events,
            merged.rows,
            config.inputs.len()
        );
    }
    Ok(())
}

/// Writes the counts to `path` through a temporary file, so a failed run never leaves a partial
/// count file behind.
fn write_file(table: &Table, path: &Path) -> Result<Written> {
    crate::output::replace_file(path, ".tmp", |_, out| {
        aggregate::write_counts(table, out).context("cannot write")
    })
    .with_context(|| format!("-o {}", crate::escape::visible(&path.to_string_lossy())))
}
