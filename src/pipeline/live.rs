//! A live run: rows as they arrive (standard input, or `--follow FILE`), seconds closed by a
//! watermark, alerts the moment they are known.
//!
//! A batch run reads a whole file, then replays its seconds in order through a [`Detector`]. A live
//! run cannot wait for the end: rows may still arrive for a recent second. The stream's
//! *watermark* is the latest second seen minus `--lateness`; every second up to the watermark is
//! closed and fed to the detector, which emits episodes as they start and end. On time-ordered
//! input a live run feeds the detector exactly the seconds a batch run would, so both give the
//! same episodes.
//!
//! A row for a second that is already closed is *late*: it cannot change a decision already
//! made, so the detector never sees it, but it is counted (and said), and it still counts in the
//! heatmap and the totals.
//!
//! The baseline and the canary are fixed as soon as they can be, by the batch run's own rule
//! ([`super::roles`]): from `--baseline`/`--canary`, or when the second build appears (the lower
//! version is the baseline). Until then seconds wait. A third build without names is an error, as
//! in a batch run, and so is a named build missing at the end of the input.
//!
//! Memory stays bounded on an unbounded stream: the detectors keep no more than their longest
//! window, the open seconds span at most the lateness, and the heatmap's columns fold in pairs
//! (doubling their length) whenever they exceed [`MAX_COLUMNS`].
//!
//! [`run`] reads the input through the csv-crate reader one row at a time into the [`Live`]
//! engine; each alert is printed and flushed the moment it starts and again when it ends (text or
//! `--format jsonl`; the other formats report at the end). With a heatmap, the image is rewritten
//! at most once a second while bins close, so a viewer follows the stream. The end of the input
//! (EOF, or SIGINT/SIGTERM) closes the last bins and episodes; the caller then writes the closing
//! report as for a batch run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::recount::{Clients, Series};
use super::roles::{Roles, choose_builds, choose_builds_so_far};
use super::{
    AnalyzeConfig, Detection, OutputFormat, RunFacts, Source, alerts, draw_heatmap, report,
};
use crate::aggregate;
use crate::aggregate::units::Units;
use crate::bins::{Bins, Grid, MAX_COMPARED_CODES, other_codes};
use crate::detect::{Alert, Detector, Episode, Event, RuleConfig, RuleKind};
use crate::escape::visible;
use crate::input::follow::{Follow, stop_on_signals};
use crate::input::labels::Code;
use crate::input::stdin::LiveStdin;
use crate::input::{BuildStats, Invalid, MAX_SPAN_SECONDS, Rows, list_builds};
use crate::report::Report;
use crate::report::jsonl;
use crate::report::text::{self, Text};

/// The most heatmap columns kept; past it, adjacent columns merge.
pub const MAX_COLUMNS: usize = 8192;

/// The longest a stream may show a single build before errwatch gives up waiting for the second
/// one, in seconds of stream time.
pub const MAX_WAIT_FOR_BUILDS_S: i64 = 3600;

/// The id a code is detected and drawn under: its own among the first
/// [`MAX_COMPARED_CODES`]` - 1` codes seen, or the last one, where the codes seen after them are
/// folded into one series ([`other_codes`]): a live stream of fresh codes holds one detector
/// state and one heatmap row per code only up to the cap.
fn slot(code: usize) -> usize {
    code.min(MAX_COMPARED_CODES - 1)
}

/// The labels of the ids [`slot`] gives.
fn labels(codes: &[Code]) -> std::borrow::Cow<'_, [Code]> {
    if codes.len() < MAX_COMPARED_CODES {
        return std::borrow::Cow::Borrowed(codes);
    }
    let mut labels = codes[..MAX_COMPARED_CODES - 1].to_vec();
    labels.push(other_codes(codes.len() - (MAX_COMPARED_CODES - 1)));
    std::borrow::Cow::Owned(labels)
}

/// What happened, for the caller to print.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// An alert episode started.
    Started(Alert),
    /// An alert episode ended.
    Ended(Alert),
}

/// The live engine.
pub struct Live {
    rule: RuleConfig,
    lateness: i64,
    baseline_name: Option<String>,
    canary_name: Option<String>,
    detector: Box<dyn Detector>,
    roles: Option<Roles>,
    first_second: Option<i64>,
    max_second: Option<i64>,
    /// The first second not yet fed to the detector (once feeding has begun).
    next_second: Option<i64>,
    /// Per open second: events by (build, code).
    open: BTreeMap<i64, BTreeMap<(usize, usize), u64>>,
    /// The heatmap's cells, one row per code id (slot), folding past [`MAX_COLUMNS`].
    grid: Grid,
    late_rows: u64,
    late_events: u64,
    ended: Vec<Episode>,
    /// Per code id: (canary, baseline) events fed or late, for "new code" and totals.
    totals: Vec<(u64, u64)>,
    /// With a unit column: the units seen, shared with the recount of alarms, and the slot
    /// before which they were last forgotten.
    units: Option<(Rc<RefCell<Units>>, i64)>,
    /// The recount of alarms by clients, once feeding has begun (with a unit column and a rule
    /// that tests).
    recount: Option<Rc<Clients>>,
}

impl Live {
    /// A live engine for `rule`, closing seconds `lateness` seconds behind the latest seen.
    pub fn new(
        rule: RuleConfig,
        lateness: u64,
        baseline: Option<String>,
        canary: Option<String>,
    ) -> Live {
        Live {
            detector: rule.detector(),
            grid: Grid::new(rule.bin_seconds, MAX_COLUMNS),
            rule,
            lateness: lateness as i64,
            baseline_name: baseline,
            canary_name: canary,
            roles: None,
            first_second: None,
            max_second: None,
            next_second: None,
            open: BTreeMap::new(),

            late_rows: 0,
            late_events: 0,
            ended: Vec::new(),
            totals: Vec::new(),
            units: None,
            recount: None,
        }
    }

    /// Says, at the first row with a unit, before anything is fed, that the rows are counted by
    /// client in slots of `slot_seconds`: the detector is fed clients affected, and its alarms
    /// are recounted by client ([`super::recount`]).
    pub fn count_clients(&mut self, slot_seconds: u64) {
        self.detector.counting_clients(slot_seconds);
        self.units = Some((Rc::new(RefCell::new(Units::new(slot_seconds))), i64::MIN));
    }

    /// Whether this is the first row of `unit` for `code` from `build` in the slot of `second`
    /// ([`Units::first`]); false before [`Live::count_clients`].
    pub fn first_of_unit(&mut self, unit: u64, build: usize, code: usize, second: i64) -> bool {
        self.units
            .as_ref()
            .is_some_and(|(units, _)| units.borrow_mut().first(unit, build, code, second))
    }

    /// Rows that arrived after their second had closed.
    pub fn late_rows(&self) -> u64 {
        self.late_rows
    }

    /// Whether a row at `second` keeps the stream within [`MAX_SPAN_SECONDS`]; [`Live::push`]
    /// refuses one that does not.
    pub fn span_allows(&self, second: i64) -> bool {
        let (first, last) = match (self.first_second, self.max_second) {
            (Some(f), Some(m)) => (f.min(second), m.max(second)),
            _ => (second, second),
        };
        last.checked_sub(first).is_some_and(|span| span <= MAX_SPAN_SECONDS)
    }

    /// Whether `count` more events of `code` from `build` at `second` fit in one second's counter,
    /// which holds what a file's per-second counter holds ([`crate::aggregate`]); [`Live::push`]
    /// refuses a row that does not fit. A closed second's counts are no longer kept, so a late row
    /// is only checked on its own.
    pub fn counter_allows(&self, second: i64, build: usize, code: usize, count: u64) -> bool {
        let before = self
            .open
            .get(&second)
            .and_then(|cells| cells.get(&(build, code)))
            .copied()
            .unwrap_or(0);
        before.checked_add(count).is_some_and(|n| n <= aggregate::MAX_EVENTS_PER_SECOND)
    }

    /// The roles, once known.
    pub fn roles(&self) -> Option<&Roles> {
        self.roles.as_ref()
    }

    /// Takes one row: `count` events of `code` from `build` at `second`. `builds` and `codes` name
    /// the ids seen so far. Returns what started or ended because the watermark moved.
    pub fn push(
        &mut self,
        second: i64,
        build: usize,
        code: usize,
        count: u64,
        builds: &[BuildStats],
        codes: &[Code],
    ) -> Result<Vec<Update>> {
        // Until both are named, a build's first row may change the answer (a third build is an
        // error); other rows cannot.
        let named = self.baseline_name.is_some() && self.canary_name.is_some();
        let first_of_its_build = builds.get(build).is_none_or(|b| b.rows <= 1);
        if self.roles.is_none() || (!named && first_of_its_build) {
            let roles = choose_builds_so_far(
                self.baseline_name.as_deref(),
                self.canary_name.as_deref(),
                builds,
            )?;
            self.roles = self.roles.or(roles);
        }
        if !self.span_allows(second) {
            bail!(aggregate::SPAN_TOO_LONG);
        }
        if !self.counter_allows(second, build, code, count) {
            bail!(aggregate::too_many_events());
        }
        self.first_second = Some(self.first_second.map_or(second, |f| f.min(second)));
        if self.next_second.is_some_and(|next| second < next) {
            self.late_rows += 1;
            self.late_events += count;
            self.count_in_columns(second, build, code, count);
            return Ok(Vec::new());
        }
        *self.open.entry(second).or_default().entry((build, code)).or_default() += count;
        self.max_second = Some(self.max_second.map_or(second, |m| m.max(second)));
        if self.roles.is_none()
            && self.first_second.is_some_and(|f| second - f > MAX_WAIT_FOR_BUILDS_S)
        {
            bail!(
                "cannot tell the baseline from the canary: only {} seen in the first hour; name \
                 both with --baseline and --canary",
                list_builds(builds)
            );
        }
        let watermark = second - self.lateness;
        Ok(self.advance(watermark, codes))
    }

    /// Ends the input: closes every open second and every episode.
    pub fn finish(&mut self, builds: &[BuildStats], codes: &[Code]) -> Result<Vec<Update>> {
        if self.roles.is_none() {
            self.roles = Some(choose_builds(
                self.baseline_name.as_deref(),
                self.canary_name.as_deref(),
                builds,
            )?);
        }
        let mut updates = match self.max_second {
            Some(max) => self.advance(max, codes),
            None => Vec::new(),
        };
        let mut events = Vec::new();
        self.detector.finish(&mut events);
        updates.extend(self.dress(events, codes));
        Ok(updates)
    }

    /// The episodes that ended, as alerts in heatmap order, with the bins to draw.
    pub fn result(&self, codes: &[Code]) -> (Vec<Alert>, Bins) {
        let bins = self.bins(codes);
        let labels = labels(codes);
        (alerts(self.ended.iter().cloned(), &labels, &bins, self.rule.threshold), bins)
    }

    /// The detector's account so far: its false-alarm accounting and the dispersion it used;
    /// `codes` names the interned code ids.
    pub fn detection(&mut self, codes: &[Code]) -> Detection {
        let mut detection = Detection::of(self.detector.as_mut(), &labels(codes));
        detection.dismissed_by_clients = self.recount.as_ref().map(|recount| recount.dismissed());
        detection
    }

    /// The first and last second seen.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.first_second.zip(self.max_second)
    }

    /// The heatmap's bins so far.
    pub fn bins(&self, codes: &[Code]) -> Bins {
        let codes = &labels(codes);
        let origin = self.grid.origin().unwrap_or(0);
        let mut rows: Vec<usize> =
            (0..codes.len()).filter(|&id| self.grid.has_events(id)).collect();
        rows.sort_by(|&a, &b| codes[a].cmp(&codes[b]));
        let (canary, baseline) = self.grid.clone().take_rows(&rows);
        Bins {
            first_second: origin,
            last_second: self.max_second.unwrap_or(origin),
            bin_seconds: self.grid.column_seconds(),
            canary_share: self.rule.canary_share,
            codes: rows.iter().map(|&id| codes[id].clone()).collect(),
            canary,
            baseline,
        }
    }

    /// An upper bound on the state kept, in counters: open seconds' rows plus heatmap cells.
    pub fn state_size(&self) -> usize {
        self.open.values().map(BTreeMap::len).sum::<usize>() + self.grid.cells()
    }

    /// Feeds every open second up to `watermark` (when the roles are known).
    fn advance(&mut self, watermark: i64, codes: &[Code]) -> Vec<Update> {
        let Some(roles) = self.roles else {
            return Vec::new();
        };
        let Some(&first_open) = self.open.keys().next() else {
            return Vec::new();
        };
        let mut next = *self.next_second.get_or_insert(first_open);
        let mut events = Vec::new();
        if next > watermark {
            return Vec::new();
        }
        if self.recount.is_none()
            && self.rule.rule != RuleKind::MeanDiff
            && let Some((units, _)) = &self.units
        {
            let series = Series::Codes { folded_from: MAX_COMPARED_CODES - 1 };
            let recount = Rc::new(Clients::new(units.clone(), series, roles, &self.rule));
            self.detector.recount_clients(recount.clone());
            self.recount = Some(recount);
        }
        // The open seconds up to the watermark close: those with rows are fed with their events,
        // the quiet ones between them only as the gaps between seconds fed; the watermark's own
        // second is fed (quiet, if no row had it) so the bins and statistics up to it close
        // exactly as when every second is fed.
        let still_open = self.open.split_off(&(watermark + 1));
        let closing = std::mem::replace(&mut self.open, still_open);
        let mut counts: Vec<(usize, u64, u64)> = Vec::new();
        for (second, cells) in closing {
            counts.clear();
            for ((build, code), n) in cells {
                self.count_in_columns(second, build, code, n);
                let (c, b) = match build {
                    b if b == roles.canary => (n, 0),
                    b if b == roles.baseline => (0, n),
                    _ => continue,
                };
                counts.push((slot(code), c, b));
            }
            // A code's two builds are two cells.
            super::one_entry_per_code(&mut counts);
            self.detector.push_events(second, &counts, &mut events);
            next = second + 1;
        }
        if next <= watermark {
            self.detector.push_events(watermark, &[], &mut events);
        }
        next = watermark + 1;
        self.next_second = Some(next);
        self.forget_units(next);
        self.dress(events, codes)
    }

    /// Forgets the units that neither a row still open nor a recount of an alarm at `next` or
    /// later can reach: the slots before the rule's longest evidence back from `next`.
    fn forget_units(&mut self, next: i64) {
        let evidence = i64::try_from(self.rule.evidence_s()).unwrap_or(i64::MAX);
        if let Some((units, forgotten)) = &mut self.units {
            let before = next.saturating_sub(evidence);
            let mut units = units.borrow_mut();
            if units.slot(before) > *forgotten {
                *forgotten = units.slot(before);
                units.forget_before(before);
            }
        }
    }

    /// Dresses the episodes that started or ended as alerts to print at once; their row is the
    /// code's id (the heatmap's rows are only known at the end, see [`Live::result`]).
    fn dress(&mut self, events: Vec<Event>, codes: &[Code]) -> Vec<Update> {
        let codes = &labels(codes);
        events
            .into_iter()
            .map(|event| {
                let (episode, ended) = match event {
                    Event::Started(e) => (e, false),
                    Event::Ended(e) => (e, true),
                };
                let (id, threshold) = (episode.code, self.rule.threshold);
                let new_code = self.totals.get(id).is_some_and(|t| t.1 == 0);
                if ended {
                    self.ended.push(episode.clone());
                }
                let alert = Alert::new(episode, codes[id].clone(), id, new_code, threshold);
                if ended { Update::Ended(alert) } else { Update::Started(alert) }
            })
            .collect()
    }

    /// Adds events to the heatmap columns and the totals (whatever their lateness).
    fn count_in_columns(&mut self, second: i64, build: usize, code: usize, n: u64) {
        let code = slot(code);
        let Some(roles) = &self.roles else { return };
        let canary = build == roles.canary;
        if !canary && build != roles.baseline {
            return;
        }
        if self.totals.len() <= code {
            self.totals.resize(code + 1, (0, 0));
        }
        if canary {
            self.totals[code].0 += n
        } else {
            self.totals[code].1 += n
        }
        self.grid.add(second, code, canary, n);
    }
}

/// The shortest time between two rewrites of a live heatmap.
const HEATMAP_EVERY: Duration = Duration::from_secs(1);

/// Reads the live input to its end, printing alerts as they happen; returns the closing report
/// and the bins to draw.
pub fn run(config: &AnalyzeConfig) -> Result<(Report, Bins)> {
    match &config.source {
        Source::Stdin => read_stdin(config),
        // A file handed to the live path is followed.
        Source::Follow(path) | Source::File(path) => read_followed(config, path),
    }
}

/// Standard input until its end or a signal.
fn read_stdin(config: &AnalyzeConfig) -> Result<(Report, Bins)> {
    let stdin = LiveStdin::spawn(stop_on_signals()?);
    let left_behind = stdin.left_behind();
    let mut result = read_live(config, stdin, "<stdin>");
    let left = left_behind.load(Ordering::SeqCst);
    if let Ok((report, _)) = &mut result {
        report.unfinished_bytes = left;
    }
    if left > 0 {
        eprintln!(
            "errwatch: warning: <stdin>: the last line was unfinished when the run was stopped \
             ({left} bytes): left unread"
        );
    }
    result
}

/// A file as it grows, until a signal; rotation (truncation, or a new file under the name) is
/// followed as `tail -F` does.
fn read_followed(config: &AnalyzeConfig, path: &str) -> Result<(Report, Bins)> {
    let shown = visible(path);
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        bail!("{shown}: is a directory, not a CSV file");
    }
    let follow = Follow::open(std::path::Path::new(path), stop_on_signals()?)
        .with_context(|| format!("{shown}: cannot open"))?;
    let tail = follow.tail();
    let mut result = read_live(config, follow, path);
    let left = tail.left_bytes();
    if let Ok((report, _)) = &mut result {
        report.unfinished_bytes = left;
    }
    if left > 0 {
        eprintln!(
            "errwatch: warning: {shown}: the last line was unfinished when the run was stopped \
             ({left} bytes): left unread"
        );
    }
    result
}

/// What the rows read so far say of the input, with the live engine's account.
fn facts<'a, R: Read>(name: &'a str, rows: &'a Rows<R>, live: &Live, roles: Roles) -> RunFacts<'a> {
    RunFacts {
        unit_column: rows.unit_column(),
        input: name,
        notation: rows.notation,
        rows: rows.rows,
        builds: &rows.builds,
        roles,
        span: live.span(),
        repeated_headers: rows.repeated_headers,
        late_rows: live.late_rows(),
        skipped: &rows.skipped,
    }
}

fn read_live<R: Read>(config: &AnalyzeConfig, reader: R, name: &str) -> Result<(Report, Bins)> {
    let mut rows =
        Rows::open(reader, name, &config.read.columns)?.skip_invalid(config.read.skipping());
    let mut live = Live::new(
        config.rule.clone(),
        config.lateness,
        config.baseline.clone(),
        config.canary.clone(),
    );
    let printer = Printer { config };
    // With a unit column the detector is fed units affected; both counters are kept for the
    // alerts' clients and events (memory grows with the rows, as a file's counters do), and the
    // units seen in slots no row and no recount can reach any more are forgotten.
    let (mut clients, mut raw) = (aggregate::Aggregator::new(), aggregate::Aggregator::new());
    let mut said_unit = false;
    let mut said_columns = false;
    let mut last_heatmap: Option<Instant> = None;
    let mut heatmap_failed = false;
    while let Some(row) = rows.next_row()? {
        // Once the header, or the first JSON line, has shown its names.
        if !std::mem::replace(&mut said_columns, true) {
            super::batch::say_chosen_columns(name, rows.chosen_columns());
        }
        // A row the counters cannot hold is refused, or skipped, as a file read refuses it.
        let refused = if !live.span_allows(row.second) {
            Some(aggregate::SPAN_TOO_LONG.to_string())
        } else if !live.counter_allows(row.second, row.build, row.code, row.count) {
            Some(aggregate::too_many_events())
        } else {
            None
        };
        if let Some(what) = &refused {
            let stamp =
                rows.notation.map_or_else(|| row.second.to_string(), |n| n.format(row.second));
            let e = anyhow!("{name}:{}: {what} ({})", row.line, crate::input::quote(&stamp));
            if !config.read.skipping() {
                return Err(e);
            }
            rows.reject(&row, Invalid::OutOfRange, &e);
        }
        config.read.check_invalid(name, &rows.skipped, rows.rows, false)?;
        if refused.is_some() {
            continue;
        }
        let count = match row.unit {
            None => row.count,
            Some(unit) => {
                if !said_unit && let Some(column) = rows.unit_column() {
                    said_unit = true;
                    super::batch::say_unit_column(name, column);
                    // The first row: nothing has been fed to the detector yet.
                    live.count_clients(config.read.unit_slot_seconds);
                }
                let first = live.first_of_unit(unit, row.build, row.code, row.second);
                let _ = raw.add(row.second, row.build, row.code, row.count);
                let _ = clients.add(row.second, row.build, row.code, u64::from(first));
                u64::from(first)
            }
        };
        let updates = live
            .push(row.second, row.build, row.code, count, &rows.builds, &rows.codes)
            .map_err(|e| anyhow!("{name}:{}: {e:#}", row.line))?;
        // Episodes only start or end once the roles are known.
        if !updates.is_empty()
            && let Some(&roles) = live.roles()
        {
            let so_far = report(
                config,
                &facts(name, &rows, &live, roles),
                None,
                vec![],
                Detection::default(),
            );
            printer.print(&so_far, &updates)?;
        }
        if let Some(path) = &config.heatmap
            && last_heatmap.is_none_or(|at| at.elapsed() >= HEATMAP_EVERY)
            && let Some(&roles) = live.roles()
        {
            last_heatmap = Some(Instant::now());
            let (alerts, bins) = live.result(&rows.codes);
            let so_far = report(
                config,
                &facts(name, &rows, &live, roles),
                Some(&bins),
                alerts,
                Detection::default(),
            );
            // The live picture is a convenience: a failure to draw it must not stop the analysis.
            // It is said once; the final heatmap, drawn at the end, fails the run as in batch.
            if let Err(e) = draw_heatmap(config, path, &so_far, &bins)
                && !heatmap_failed
            {
                heatmap_failed = true;
                eprintln!("errwatch: warning: {e:#}; the analysis goes on");
            }
        }
    }
    config.read.check_invalid(name, &rows.skipped, rows.rows, true)?;
    if rows.codes.len() >= MAX_COMPARED_CODES {
        eprintln!(
            "errwatch: warning: {}: {} distinct error codes, more than the {MAX_COMPARED_CODES} \
             compared one by one: the first {} seen are, and the other {} are compared together \
             as one series, \"{}\"",
            visible(name),
            rows.codes.len(),
            MAX_COMPARED_CODES - 1,
            rows.codes.len() - (MAX_COMPARED_CODES - 1),
            other_codes(rows.codes.len() - (MAX_COMPARED_CODES - 1)),
        );
    }
    let updates = live.finish(&rows.builds, &rows.codes).map_err(|e| anyhow!("{name}: {e:#}"))?;
    let roles = *live.roles().expect("finish fixes the roles or fails");
    let (mut alerts, bins) = live.result(&rows.codes);
    if rows.unit_column().is_some() {
        let (clients, raw) = (clients.finish(), raw.finish());
        let units = super::UnitCounts { clients: &clients, raw: &raw, codes: &rows.codes };
        units.dress(&mut alerts, &[], roles);
    }
    let report = report(
        config,
        &facts(name, &rows, &live, roles),
        Some(&bins),
        alerts,
        live.detection(&rows.codes),
    );
    printer.print(&report, &updates)?;
    Ok((report, bins))
}

/// Prints alerts as they start and end.
struct Printer<'a> {
    config: &'a AnalyzeConfig,
}

impl Printer<'_> {
    /// Prints `updates`; `report` is the run's report so far (the text format's alert blocks need
    /// its notation and bin size).
    fn print(&self, report: &Report, updates: &[Update]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut out = Vec::new();
        for update in updates {
            match (self.config.format, update) {
                (OutputFormat::Jsonl, Update::Started(alert)) => {
                    out.extend(jsonl::event_line("alert_started", &report.clock, alert));
                }
                (OutputFormat::Jsonl, Update::Ended(alert)) => {
                    out.extend(jsonl::event_line("alert_ended", &report.clock, alert));
                }
                (OutputFormat::Text, Update::Started(alert)) => {
                    out.extend(
                        format!(
                            "Alert started: {} at {}, value {} (threshold {})\n\n",
                            crate::report::code_label(alert),
                            report.clock.format(alert.episode.detected_at_s),
                            text::format_value(alert),
                            alert.threshold
                        )
                        .into_bytes(),
                    );
                }
                (OutputFormat::Text, Update::Ended(alert)) => {
                    out.extend(
                        Text { color: self.config.color }.alert_block(report, alert).into_bytes(),
                    );
                }
                _ => {}
            }
        }
        let mut stdout = io::stdout().lock();
        match stdout.write_all(&out).and_then(|()| stdout.flush()) {
            // Nobody is reading any more: the live input is stopped as a signal would stop it,
            // and the run ends at once with the verdict it has earned.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                crate::signals::request_stop();
                Ok(())
            }
            other => other.context("writing to stdout"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{RuleKind, SecondCounts, run_batch};

    fn rule(kind: RuleKind) -> RuleConfig {
        RuleConfig {
            rule: kind,
            threshold: 1.25,
            window_bins: vec![3, 6],
            alpha: 0.05,
            canary_share: 0.5,
            bin_seconds: 10,
        }
    }

    fn builds() -> Vec<BuildStats> {
        ["1.0", "2.0"]
            .iter()
            .map(|v| BuildStats { version: v.to_string(), rows: 1, events: 1 })
            .collect()
    }

    /// A small stream: (second, build, code, events), in time order.
    fn stream(seconds: i64, burst: std::ops::Range<i64>) -> Vec<(i64, usize, usize, u64)> {
        let mut rows = Vec::new();
        for s in 0..seconds {
            rows.push((s, 0, 0, 1));
            rows.push((s, 1, 0, if burst.contains(&s) { 4 } else { 1 }));
            if s % 7 == 0 {
                rows.push((s, 0, 1, 1));
                rows.push((s, 1, 1, 1));
            }
        }
        rows
    }

    fn live_alerts(
        kind: RuleKind,
        rows: &[(i64, usize, usize, u64)],
        lateness: u64,
    ) -> (Vec<Alert>, Vec<Update>) {
        let codes = vec![Code::Int(7), Code::Int(9)];
        let mut live = Live::new(rule(kind), lateness, None, None);
        let mut updates = Vec::new();
        for &(s, b, c, n) in rows {
            updates.extend(live.push(s, b, c, n, &builds(), &codes).unwrap());
        }
        updates.extend(live.finish(&builds(), &codes).unwrap());
        (live.result(&codes).0, updates)
    }

    /// What a batch run does: the stream's seconds from its first to its last, fed in order.
    fn batch_episodes(kind: RuleKind, rows: &[(i64, usize, usize, u64)]) -> Vec<Episode> {
        let first = rows.iter().map(|r| r.0).min().unwrap();
        let span = (rows.iter().map(|r| r.0).max().unwrap() - first) as usize + 1;
        let mut series = vec![(vec![0u32; span], vec![0u32; span]); 2];
        for &(s, b, c, n) in rows {
            let slot = if b == 1 { &mut series[c].0 } else { &mut series[c].1 };
            slot[(s - first) as usize] += n as u32;
        }
        let seconds: Vec<SecondCounts> =
            series.iter().map(|(c, b)| SecondCounts { canary: c, baseline: b }).collect();
        run_batch(rule(kind).detector().as_mut(), first, &seconds)
    }

    #[test]
    fn live_and_batch_runs_agree_on_time_ordered_input() {
        let rows = stream(600, 200..320);
        for kind in [RuleKind::Rolling, RuleKind::Sequential, RuleKind::MeanDiff] {
            let (alerts, _) = live_alerts(kind, &rows, 5);
            let batch = batch_episodes(kind, &rows);
            let spans: Vec<_> = alerts
                .iter()
                .map(|a| (a.episode.start_s, a.episode.stop_s, a.episode.detected_at_s))
                .collect();
            let expected: Vec<_> =
                batch.iter().map(|e| (e.start_s, e.stop_s, e.detected_at_s)).collect();
            assert_eq!(spans, expected, "{kind:?}");
            assert!(!spans.is_empty(), "{kind:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// On time-ordered input, live and batch runs give the same episodes, whatever the rule.
        #[test]
        fn live_equals_batch_on_random_streams(
            seconds in 60i64..400,
            burst_start in 0i64..300,
            burst_len in 0i64..200,
            factor in 1u64..8,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut state = seed | 1;
            let mut noise = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state % 3
            };
            let mut rows = Vec::new();
            for s in 0..seconds {
                let burst = (burst_start..burst_start + burst_len).contains(&s);
                rows.push((s, 0, 0, noise()));
                rows.push((s, 1, 0, noise() * if burst { factor } else { 1 }));
                rows.push((s, 0, 1, noise()));
                rows.push((s, 1, 1, noise()));
            }
            rows.retain(|r| r.3 > 0);
            proptest::prop_assume!(rows.iter().any(|r| r.1 == 0) && rows.iter().any(|r| r.1 == 1));
            for kind in [RuleKind::Rolling, RuleKind::Sequential, RuleKind::MeanDiff] {
                let (alerts, _) = live_alerts(kind, &rows, 3);
                let batch = batch_episodes(kind, &rows);
                let live: Vec<_> = alerts.iter().map(|a| (a.episode.start_s, a.episode.stop_s, a.episode.detected_at_s)).collect();
                let expected: Vec<_> = batch.iter().map(|e| (e.start_s, e.stop_s, e.detected_at_s)).collect();
                proptest::prop_assert_eq!(live, expected, "{:?}", kind);
            }
        }
    }

    #[test]
    fn an_alert_starts_before_the_input_ends() {
        let rows = stream(600, 200..320);
        let (_, updates) = live_alerts(RuleKind::Rolling, &rows, 5);
        let first = updates.iter().position(|u| matches!(u, Update::Started(_))).unwrap();
        let Update::Started(alert) = &updates[first] else { unreachable!() };
        assert!(alert.episode.detected_at_s < 320, "{alert:?}");
        assert!(matches!(updates.last(), Some(Update::Ended(_))));
    }

    #[test]
    fn late_rows_are_counted_and_kept_out_of_detection() {
        let codes = vec![Code::Int(7), Code::Int(9)];
        let mut live = Live::new(rule(RuleKind::Rolling), 5, None, None);
        for s in 0..100 {
            live.push(s, 0, 0, 1, &builds(), &codes).unwrap();
            live.push(s, 1, 0, 1, &builds(), &codes).unwrap();
        }
        // Second 10 closed long ago (the watermark is 99 - 5).
        live.push(10, 1, 1, 3, &builds(), &codes).unwrap();
        // Second 96 is still open.
        live.push(96, 1, 1, 2, &builds(), &codes).unwrap();
        live.finish(&builds(), &codes).unwrap();
        assert_eq!(live.late_rows(), 1);
        let bins = live.bins(&codes);
        // The late events still show in the heatmap and the totals.
        assert_eq!(
            bins.totals(bins.codes.iter().position(|c| *c == Code::Int(9)).unwrap()),
            (5, 0)
        );
    }

    #[test]
    fn state_stays_bounded_over_many_hours() {
        let codes = vec![Code::Int(7), Code::Int(9)];
        let mut rule = rule(RuleKind::Rolling);
        rule.bin_seconds = 1;
        let mut live = Live::new(rule, 5, None, None);
        let mut largest = 0;
        for s in 0..(48 * 3600) {
            live.push(s, 0, 0, 1, &builds(), &codes).unwrap();
            live.push(s, 1, 0, 1, &builds(), &codes).unwrap();
            if s % 3600 == 0 {
                largest = largest.max(live.state_size());
            }
        }
        // Two codes' columns folded to at most MAX_COLUMNS each, plus a few open seconds.
        assert!(largest <= 2 * (MAX_COLUMNS + 1) + 64, "{largest}");
        assert!(live.bins(&codes).len() <= MAX_COLUMNS + 1);
    }

    #[test]
    fn a_span_over_a_year_is_refused_before_anything_is_allocated() {
        let codes = vec![Code::Int(7)];
        let mut live = Live::new(rule(RuleKind::Rolling), 5, None, None);
        live.push(795_305_600, 0, 0, 1, &builds(), &codes).unwrap();
        let err = live.push(1_795_305_600, 1, 0, 1, &builds(), &codes).unwrap_err();
        assert!(format!("{err}").contains("more than 366 days"), "{err}");
        assert!(live.state_size() < 10);
    }

    #[test]
    fn codes_past_the_cap_share_one_series_live() {
        let n = MAX_COMPARED_CODES + 50;
        let codes: Vec<Code> = (0..n as i64).map(Code::Int).collect();
        let mut live = Live::new(rule(RuleKind::Rolling), 5, None, None);
        for code in 0..n {
            live.push(0, 0, code, 1, &builds(), &codes).unwrap();
            live.push(1, 1, code, 1, &builds(), &codes).unwrap();
        }
        live.finish(&builds(), &codes).unwrap();
        let bins = live.bins(&codes);
        assert_eq!(bins.codes.len(), MAX_COMPARED_CODES);
        assert_eq!(bins.codes.last(), Some(&other_codes(51)));
        assert_eq!(bins.totals(MAX_COMPARED_CODES - 1), (51, 51));
    }

    #[test]
    fn a_third_build_without_names_is_an_error() {
        let codes = vec![Code::Int(7)];
        let mut builds = builds();
        let mut live = Live::new(rule(RuleKind::Rolling), 5, None, None);
        live.push(0, 0, 0, 1, &builds, &codes).unwrap();
        live.push(0, 1, 0, 1, &builds, &codes).unwrap();
        builds.push(BuildStats { version: "3.0".into(), rows: 1, events: 1 });
        let err = live.push(1, 2, 0, 1, &builds, &codes).unwrap_err();
        assert!(format!("{err}").contains("3 builds seen"), "{err}");
    }
}
