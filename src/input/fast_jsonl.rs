//! The fast path for JSON lines files: the reference parser, on every core.
//!
//! A plain JSON lines file is cut into chunks of whole lines ([`super::source`]), as for CSV, and
//! each run of chunks is parsed by the reference line parser ([`super::next_json`]), so a line
//! means the same on both paths. Each run keeps its own interning tables and a per-second tally
//! keyed by (second, build, code); the runs are merged at the end, builds and codes numbered by
//! their first appearance in the file (the reference path's numbering), and the counts handed to
//! the caller's [`CountSink`]. Like the CSV fast path, this one gives up on anything that is not
//! plainly valid (a bad line, runs that disagree on the timestamp notation or the unit of number
//! timestamps, a tally over its memory budget), and the caller reads the file again on the
//! reference path, which reports what is wrong with its line.

use std::collections::HashMap;
use std::path::Path;

use super::jsonl::JsonLines;
use super::labels::Code;
use super::progress::Progress;
use super::source::{self, GaveUp};
use super::timestamp::{EpochUnit, Notation};
use super::{BuildStats, ColumnNames, CountSink, Inventory, Step, next_json};

/// The most (second, build, code) counters the runs may hold together before the path gives up:
/// a stream in time order holds about one copy of its counters (an hour of 66 series is 240
/// thousand); a long one in random order goes to the reference path, which holds them once.
const MAX_TALLY_ENTRIES: usize = 4 << 20;

/// The longest line this path reads, far below the reference path's limit (1 MiB) and far above
/// any event's line.
const MAX_LINE_BYTES_HERE: usize = 64 << 10;

/// Where a label was first seen: the chunk's file offset and the line's number in it.
type FirstSeen = (u64, u64);

/// One run's parse.
#[derive(Default)]
struct Run {
    notation: Option<Notation>,
    epoch_unit: Option<EpochUnit>,
    builds: HashMap<String, usize>,
    /// Per local build id: the label, where first seen, rows, events.
    build_list: Vec<(String, FirstSeen, u64, u64)>,
    codes: HashMap<String, usize>,
    code_list: Vec<(String, FirstSeen)>,
    tally: HashMap<(i64, usize, usize), u64>,
    rows: u64,
}

impl Run {
    fn parse(&mut self, names: &ColumnNames, offset: u64, lines: &[u8]) -> Result<(), GaveUp> {
        if offset > 0 && lines.starts_with(b"\xEF\xBB\xBF") {
            return Err(GaveUp("a byte-order mark after the start"));
        }
        // The reference path's line limit is checked as bytes arrive, so near the limit it may
        // refuse a line this path would read: leave long lines to it.
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', lines).chain([lines.len()]) {
            if newline - start > MAX_LINE_BYTES_HERE {
                return Err(GaveUp("a line longer than this path reads"));
            }
            start = newline + 1;
        }
        let mut json = JsonLines::new(lines, names);
        loop {
            let fields = match next_json(&mut json, "", names, self.notation, self.epoch_unit) {
                Ok(Step::Fields(fields)) => fields,
                Ok(Step::Skip) => continue,
                Ok(Step::End) => return Ok(()),
                Err(_) => return Err(GaveUp("a bad line")),
            };
            self.notation = Some(fields.notation);
            if fields.epoch_unit.is_some() {
                self.epoch_unit = fields.epoch_unit;
            }
            let seen = (offset, fields.line);
            let build = match self.builds.get(fields.version.as_ref()) {
                Some(&id) => id,
                None => {
                    let id = self.build_list.len();
                    self.builds.insert(fields.version.to_string(), id);
                    self.build_list.push((fields.version.to_string(), seen, 0, 0));
                    id
                }
            };
            let code = match self.codes.get(fields.code.as_ref()) {
                Some(&id) => id,
                None => {
                    let id = self.code_list.len();
                    self.codes.insert(fields.code.to_string(), id);
                    self.code_list.push((fields.code.to_string(), seen));
                    id
                }
            };
            let stats = &mut self.build_list[build];
            stats.2 += 1;
            stats.3 = stats.3.saturating_add(fields.count);
            let counter = self.tally.entry((fields.second, build, code)).or_insert(0);
            *counter = counter.checked_add(fields.count).ok_or(GaveUp("a counter overflow"))?;
            if self.tally.len() > MAX_TALLY_ENTRIES {
                return Err(GaveUp("per-second counters over the memory budget"));
            }
            self.rows += 1;
        }
    }
}

/// Reads the JSON lines file at `path` (`len` bytes) on every core, counting its events into
/// `sink`, or says why it gave up (the caller then reads the file on the reference path, into a
/// fresh sink).
pub fn read_file<S: CountSink>(
    path: &Path,
    len: u64,
    names: &ColumnNames,
    progress: &Progress,
    sink: &mut S,
) -> Result<Inventory, GaveUp> {
    let workers = source::workers_for(len);
    let runs =
        source::for_each_chunk(path, 0, len, workers, Run::default, progress, |run, at, lines| {
            run.parse(names, at, lines)
        })?;
    let tallied: usize = runs.iter().map(|r| r.tally.len()).sum();
    if tallied > MAX_TALLY_ENTRIES {
        return Err(GaveUp("per-second counters over the memory budget"));
    }
    let with_rows: Vec<&Run> = runs.iter().filter(|r| r.rows > 0).collect();
    // The file's first row is in the run that saw a label first; its notation is the file's.
    let first_run = with_rows
        .iter()
        .min_by_key(|r| r.build_list.iter().map(|b| b.1).min())
        .ok_or(GaveUp("no data rows"))?;
    let notation = first_run.notation.ok_or(GaveUp("no data rows"))?;
    let epoch_unit = with_rows.iter().find_map(|r| r.epoch_unit);
    for run in &with_rows {
        if run.notation.map(Notation::name) != Some(notation.name()) {
            return Err(GaveUp("runs in different timestamp notations"));
        }
        if run.epoch_unit.is_some() && run.epoch_unit != epoch_unit {
            return Err(GaveUp("number timestamps in different units"));
        }
    }

    // Global ids in order of first appearance in the file.
    let mut build_seen: Vec<(FirstSeen, &str)> = Vec::new();
    let mut code_seen: Vec<(FirstSeen, &str)> = Vec::new();
    for run in &with_rows {
        build_seen.extend(run.build_list.iter().map(|b| (b.1, b.0.as_str())));
        code_seen.extend(run.code_list.iter().map(|c| (c.1, c.0.as_str())));
    }
    let numbered = |mut seen: Vec<(FirstSeen, &str)>| {
        seen.sort();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut order = Vec::new();
        for (_, label) in seen {
            if !ids.contains_key(label) {
                ids.insert(label.to_string(), order.len());
                order.push(label.to_string());
            }
        }
        (ids, order)
    };
    let (build_ids, build_order) = numbered(build_seen);
    let (code_ids, code_order) = numbered(code_seen);
    let mut builds: Vec<BuildStats> =
        build_order.into_iter().map(|version| BuildStats { version, rows: 0, events: 0 }).collect();
    let codes: Vec<Code> = code_order.iter().map(|c| Code::parse(c)).collect();

    // The span first, so that the sink sizes its counters once.
    let seconds = with_rows.iter().flat_map(|r| r.tally.keys().map(|k| k.0));
    let (first, last) = seconds.fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let span = |_| GaveUp("a span or counter out of range");
    sink.add(first, 0, 0, 0).map_err(span)?;
    sink.add(last, 0, 0, 0).map_err(span)?;
    let mut rows = 0;
    for run in &with_rows {
        let to_build: Vec<usize> = run.build_list.iter().map(|b| build_ids[&b.0]).collect();
        let to_code: Vec<usize> = run.code_list.iter().map(|c| code_ids[&c.0]).collect();
        for (local, stats) in run.build_list.iter().enumerate() {
            let global = &mut builds[to_build[local]];
            global.rows += stats.2;
            global.events = global.events.saturating_add(stats.3);
        }
        for (&(second, build, code), &count) in &run.tally {
            sink.add(second, to_build[build], to_code[code], count).map_err(span)?;
        }
        rows += run.rows;
    }
    Ok(Inventory {
        notation: Some(notation),
        rows,
        builds,
        codes,
        repeated_headers: 0,
        skipped: Default::default(),
    })
}
