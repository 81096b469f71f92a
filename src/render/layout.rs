//! The layout: where everything goes, computed once and drawn by any backend.

use crate::escape::visible;
use anyhow::{Result, anyhow};
use plotters::style::{FontDesc, FontFamily, FontStyle};

use super::axis::time_ticks;
use super::grid::{Grid, merge_factor};
use super::scale::{BAR_TICK_FRACTIONS, Scale, format_number};
use super::{HeatmapSpec, ensure_font};
use crate::bins::Bins;
use crate::detect::Alert;

/// Neither side of the image exceeds this many pixels.
pub(super) const MAX_SIDE: i32 = 4096;
/// Blank border around everything.
const MARGIN: i32 = 16;
/// The narrowest image (so the title has room even for a tiny grid).
const MIN_WIDTH: i32 = 640;
/// A long title may widen the image up to this.
const MAX_TITLE_WIDTH: i32 = 1400;

/// Font sizes (plotters' size: the font's ascent plus descent, in pixels).
pub(super) const TITLE_SIZE: f64 = 20.0;
/// The line under the title that says how to read the cells.
pub(super) const SUBTITLE_SIZE: f64 = 14.0;
/// Row labels, tick labels, captions.
pub(super) const LABEL_SIZE: f64 = 14.0;

/// Line pitches.
const TITLE_LINE: i32 = 28;
const SUBTITLE_LINE: i32 = 22;
const LABEL_LINE: i32 = 18;
/// Between the subtitle and the grid.
const HEADER_GAP: i32 = 10;

/// Largest cell width and height: a few bins or codes get big, easy cells.
const MAX_CELL: i32 = 20;
/// Cells shrink (down to one pixel) so that the grid stays about this wide; past it, bins merge.
const PREFERRED_GRID_WIDTH: i32 = 1600;
/// Cells shrink likewise to keep the grid about this tall, but codes merge into rows only when
/// they would not fit the image even at one pixel each.
const PREFERRED_GRID_HEIGHT: i32 = 1200;

/// Rows closer than this are labelled only every few rows.
const ROW_LABEL_PITCH: i32 = 15;
/// Between a row label and the grid.
const ROW_LABEL_GAP: i32 = 6;
/// Longer code labels are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 32;

/// Length of the x-axis tick marks.
pub(super) const TICK_LEN: i32 = 5;
/// Least horizontal room between two time labels.
const TICK_LABEL_GAP: i32 = 28;

/// Between the grid and the colour bar.
const BAR_GAP: i32 = 36;
/// Width of the colour bar.
pub(super) const BAR_WIDTH: i32 = 18;
/// Height range of the colour bar (it follows the grid's height within these).
const BAR_MIN_HEIGHT: i32 = 160;
const BAR_MAX_HEIGHT: i32 = 400;
/// Length of the colour bar's tick marks, and the gap to their labels.
pub(super) const BAR_TICK_LEN: i32 = 4;
const BAR_LABEL_GAP: i32 = 3;
/// Width set aside for the colour bar's labels while sizing the grid.
const BAR_COLUMN_RESERVE: i32 = 170;

/// What the image says when there are no cells.
const NOTHING_TO_DRAW: &str = "no error events from either build: nothing to draw";

/// Stroke width of an alert outline.
pub(super) const OUTLINE_WIDTH: i32 = 2;

/// A piece of text and where it goes: `x` is its left or right end (per `align`), `y` the middle
/// of the line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Label {
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub size: f64,
    pub align: Align,
}

/// Horizontal alignment of a [`Label`] on its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
}

/// An axis-aligned pixel rectangle, `x0..x1` by `y0..y1` (exclusive ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

/// Everything to draw, in pixels.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Plan {
    pub width: u32,
    pub height: u32,
    /// The cells; `None` when there is nothing to draw (no bins or no codes).
    pub grid: Option<Grid>,
    pub scale: Scale,
    /// Top-left corner of the grid.
    pub grid_x: i32,
    pub grid_y: i32,
    pub col_w: i32,
    pub row_h: i32,
    /// Cell spans of the alert episodes, outlined.
    pub outlines: Vec<Rect>,
    /// The x positions of the time ticks (their labels are in `labels`).
    pub ticks: Vec<i32>,
    /// The colour bar; its value runs from `+clip` at the top to `-clip` at the bottom.
    pub bar: Rect,
    /// The y positions of the colour bar's ticks.
    pub bar_ticks: Vec<i32>,
    /// Title, subtitle, row labels, tick labels and captions.
    pub labels: Vec<Label>,
}

impl Plan {
    /// The pixel rectangle of the grid cell at `row`, `col`.
    pub fn cell(&self, row: usize, col: usize) -> Rect {
        let x0 = self.grid_x + col as i32 * self.col_w;
        let y0 = self.grid_y + row as i32 * self.row_h;
        Rect { x0, y0, x1: x0 + self.col_w, y1: y0 + self.row_h }
    }

    /// The grid's rectangle (empty when there is no grid).
    pub fn grid_rect(&self) -> Rect {
        let (cols, rows) = self.grid.as_ref().map_or((0, 0), |g| (g.n_cols, g.n_rows));
        Rect {
            x0: self.grid_x,
            y0: self.grid_y,
            x1: self.grid_x + cols as i32 * self.col_w,
            y1: self.grid_y + rows as i32 * self.row_h,
        }
    }
}

/// Measures text in the embedded font.
fn text_width(text: &str, size: f64) -> Result<i32> {
    let font = FontDesc::new(FontFamily::SansSerif, size, FontStyle::Normal);
    let (w, _) = font.box_size(text).map_err(|e| anyhow!("measuring text: {e}"))?;
    Ok(w as i32)
}

/// `text` cut to at most `max_chars` characters, the cut marked with an ellipsis.
fn truncate_chars(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{kept}\u{2026}")
    }
}

/// `text` shortened (from the end, with an ellipsis) until it is at most `width` pixels wide.
fn fit_width(text: &str, size: f64, width: i32) -> Result<String> {
    if text_width(text, size)? <= width {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    // Binary search for the longest prefix that fits with the ellipsis.
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().chain(['\u{2026}'].iter()).collect();
        if text_width(&candidate, size)? <= width {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(chars[..lo].iter().chain(['\u{2026}'].iter()).collect())
}

/// Size of a cell side and how many items fit unmerged: cells shrink from [`MAX_CELL`] towards
/// one pixel to keep the side near `preferred`; past `budget` items merge at one pixel each.
fn cell_side(n: usize, preferred: i32, budget: i32) -> (i32, usize) {
    let n_px = i32::try_from(n).unwrap_or(i32::MAX).max(1);
    let side = (preferred / n_px).clamp(1, MAX_CELL);
    let max_items = if n_px.saturating_mul(side) <= budget { n } else { budget.max(1) as usize };
    (side, max_items)
}

/// Lays out the heatmap of `bins` with `alerts` outlined.
pub(super) fn plan(bins: &Bins, alerts: &[Alert], spec: &HeatmapSpec) -> Result<Plan> {
    ensure_font()?;
    let n_bins = bins.len();
    let n_codes = bins.codes.len();
    let mut labels = Vec::new();

    // Rows.
    let header = MARGIN + TITLE_LINE + SUBTITLE_LINE + HEADER_GAP;
    let footer = TICK_LEN + 2 * LABEL_LINE + MARGIN;
    let (row_h, max_rows) = cell_side(n_codes, PREFERRED_GRID_HEIGHT, MAX_SIDE - header - footer);
    let codes_per_row = merge_factor(n_codes, max_rows);
    let n_rows = n_codes.div_ceil(codes_per_row);
    // Row labels, measured first: the columns get the remaining width.
    let label_stride = (ROW_LABEL_PITCH as usize).div_ceil(row_h as usize);
    let mut row_labels = Vec::new();
    let mut label_w = 0;
    for row in (0..n_rows).step_by(label_stride) {
        // Codes come from the data: control characters are shown, never drawn (and never reach
        // the SVG, where most of them are not well-formed XML).
        let code = bins.codes[row * codes_per_row].to_string();
        let text = truncate_chars(&visible(&code), MAX_LABEL_CHARS);
        label_w = label_w.max(text_width(&text, LABEL_SIZE)?);
        row_labels.push((row, text));
    }

    // Columns.
    let grid_x = MARGIN + label_w + ROW_LABEL_GAP;
    let col_budget = MAX_SIDE - grid_x - BAR_GAP - BAR_COLUMN_RESERVE - MARGIN;
    // A wide grid gains nothing over merged columns (a viewer would scale it down anyway), so
    // columns merge past the preferred width, not only past the image's limit.
    let (col_w, max_cols) =
        cell_side(n_bins, PREFERRED_GRID_WIDTH, col_budget.min(PREFERRED_GRID_WIDTH));
    let bins_per_col = merge_factor(n_bins, max_cols);
    let n_cols = n_bins.div_ceil(bins_per_col);

    let grid = (n_bins > 0 && n_codes > 0).then(|| Grid::new(bins, bins_per_col, codes_per_row));
    let scale = Scale::robust(grid.as_ref().map_or(&[][..], |g| &g.values), spec.palette);
    let grid_y = header;
    let (grid_w, grid_h) = if grid.is_some() {
        (n_cols as i32 * col_w, n_rows as i32 * row_h)
    } else {
        (text_width(NOTHING_TO_DRAW, LABEL_SIZE)?, BAR_MIN_HEIGHT)
    };
    let grid_bottom = grid_y + grid_h;
    let axis_caption = if spec.clock.is_zoned() {
        format!("time ({})", spec.clock.zone_name)
    } else {
        format!("time ({})", spec.clock.notation.name())
    };
    let mut widest_time = 0;
    for second in [bins.first_second, bins.last_second] {
        widest_time = widest_time.max(text_width(&spec.clock.format(second), LABEL_SIZE)?);
    }
    // The grid's column of the image: wide enough for the axis caption and a time label.
    let axis_w = if grid.is_some() {
        grid_w.max(text_width(&axis_caption, LABEL_SIZE)?).max(widest_time)
    } else {
        grid_w
    };
    let axis_right = grid_x + axis_w;

    for (row, text) in row_labels {
        let y = grid_y + row as i32 * row_h + row_h / 2;
        labels.push(Label {
            text,
            x: grid_x - ROW_LABEL_GAP,
            y,
            size: LABEL_SIZE,
            align: Align::Right,
        });
    }

    // Time axis.
    let mut ticks = Vec::new();
    let seconds_per_col = (bins_per_col as f64) * bins.bin_seconds as f64;
    let x_of = |second: i64| {
        grid_x + ((second - bins.first_second) as f64 / seconds_per_col * f64::from(col_w)) as i32
    };
    let tick_label_y = grid_bottom + TICK_LEN + LABEL_LINE / 2;
    if grid.is_some() {
        let max_ticks = (grid_w / (widest_time + TICK_LABEL_GAP)).max(1) as usize;
        let mut previous_right = i32::MIN;
        let shift = spec.clock.offset_seconds(bins.first_second);
        for second in time_ticks(bins.first_second, bins.last_second, max_ticks, shift) {
            let x = x_of(second);
            let text = spec.clock.format(second);
            let w = text_width(&text, LABEL_SIZE)?;
            // Keep the label inside the image and out of the colour bar's column.
            let left = (x - w / 2).clamp(MARGIN, axis_right.max(MARGIN + w) - w);
            if left < previous_right.saturating_add(TICK_LABEL_GAP / 2) {
                continue;
            }
            previous_right = left + w;
            ticks.push(x);
            labels.push(Label {
                text,
                x: left,
                y: tick_label_y,
                size: LABEL_SIZE,
                align: Align::Left,
            });
        }
        let caption_w = text_width(&axis_caption, LABEL_SIZE)?;
        labels.push(Label {
            text: axis_caption,
            x: (grid_x + grid_w / 2 - caption_w / 2).clamp(MARGIN, axis_right - caption_w),
            y: tick_label_y + LABEL_LINE,
            size: LABEL_SIZE,
            align: Align::Left,
        });
    } else {
        labels.push(Label {
            text: NOTHING_TO_DRAW.to_string(),
            x: grid_x,
            y: grid_y + grid_h / 2,
            size: LABEL_SIZE,
            align: Align::Left,
        });
    }

    // Colour bar: caption, bar with ticks, clipping note.
    let bar_x = axis_right + BAR_GAP;
    let caption = "canary \u{2212} baseline".to_string();
    labels.push(Label {
        text: caption.clone(),
        x: bar_x,
        y: grid_y + LABEL_LINE / 2,
        size: LABEL_SIZE,
        align: Align::Left,
    });
    let bar_y = grid_y + LABEL_LINE + LABEL_LINE / 2;
    let bar_h = (grid_h - 2 * LABEL_LINE).clamp(BAR_MIN_HEIGHT, BAR_MAX_HEIGHT);
    let bar = Rect { x0: bar_x, y0: bar_y, x1: bar_x + BAR_WIDTH, y1: bar_y + bar_h };
    let mut bar_column_w = text_width(&caption, LABEL_SIZE)?;
    let mut bar_ticks = Vec::new();
    for fraction in BAR_TICK_FRACTIONS {
        let y = bar_y + ((1.0 - fraction) / 2.0 * f64::from(bar_h - 1)).round() as i32;
        let mut text = format_number(fraction * scale.clip, true);
        if fraction == 1.0 {
            text.push_str(" more in canary");
        } else if fraction == -1.0 {
            text.push_str(" fewer in canary");
        }
        let x = bar.x1 + BAR_TICK_LEN + BAR_LABEL_GAP;
        bar_column_w = bar_column_w.max(x - bar_x + text_width(&text, LABEL_SIZE)?);
        bar_ticks.push(y);
        labels.push(Label { text, x, y, size: LABEL_SIZE, align: Align::Left });
    }
    let clip_note = format!("clipped at \u{b1}{}", format_number(scale.clip, false));
    bar_column_w = bar_column_w.max(text_width(&clip_note, LABEL_SIZE)?);
    labels.push(Label {
        text: clip_note,
        x: bar_x,
        y: bar.y1 + LABEL_LINE,
        size: LABEL_SIZE,
        align: Align::Left,
    });
    let bar_bottom = bar.y1 + LABEL_LINE + LABEL_LINE / 2;

    // Image size, then the header texts fitted to it.
    let title = format!(
        "{}: {} (canary) vs {} (baseline), {} s bins",
        visible(spec.title_input),
        visible(spec.canary),
        visible(spec.baseline),
        bins.bin_seconds
    );
    let subtitle = subtitle(bins, alerts, bins_per_col, codes_per_row, spec.dispersion);
    let content_w = bar_x + bar_column_w + MARGIN;
    let title_w = text_width(&title, TITLE_SIZE)? + 2 * MARGIN;
    let width = content_w.max(MIN_WIDTH).max(title_w.min(MAX_TITLE_WIDTH)).min(MAX_SIDE);
    let height = (tick_label_y + LABEL_LINE + LABEL_LINE / 2).max(bar_bottom) + MARGIN;
    let height = height.min(MAX_SIDE);
    labels.push(Label {
        text: fit_width(&title, TITLE_SIZE, width - 2 * MARGIN)?,
        x: MARGIN,
        y: MARGIN + TITLE_LINE / 2,
        size: TITLE_SIZE,
        align: Align::Left,
    });
    labels.push(Label {
        text: fit_width(&subtitle, SUBTITLE_SIZE, width - 2 * MARGIN)?,
        x: MARGIN,
        y: MARGIN + TITLE_LINE + SUBTITLE_LINE / 2,
        size: SUBTITLE_SIZE,
        align: Align::Left,
    });

    // Alert outlines over the cells they span.
    let mut outlines = Vec::new();
    if let Some(grid) = &grid {
        let bin_of = |second: i64| {
            let bin = (second - bins.first_second).div_euclid(bins.bin_seconds as i64);
            bin.clamp(0, n_bins as i64 - 1) as usize
        };
        for alert in alerts.iter().filter(|a| a.code_index < n_codes) {
            let row = alert.code_index / grid.codes_per_row;
            let first_col = bin_of(alert.episode.start_s) / grid.bins_per_col;
            let last_col =
                bin_of(alert.episode.stop_s.max(alert.episode.start_s)) / grid.bins_per_col;
            let y0 = grid_y + row as i32 * row_h;
            outlines.push(Rect {
                x0: grid_x + first_col as i32 * col_w,
                y0,
                x1: grid_x + (last_col as i32 + 1) * col_w,
                y1: y0 + row_h,
            });
        }
    }

    Ok(Plan {
        width: width as u32,
        height: height as u32,
        grid,
        scale,
        grid_x,
        grid_y,
        col_w,
        row_h,
        outlines,
        ticks,
        bar,
        bar_ticks,
        labels,
    })
}

/// How to read the cells: what one cell sums, and how many alerts are outlined.
fn subtitle(
    bins: &Bins,
    alerts: &[Alert],
    bins_per_col: usize,
    codes_per_row: usize,
    dispersion: Option<f64>,
) -> String {
    let mut text = String::from("cell = canary \u{2212} baseline errors");
    if bins_per_col == 1 {
        text.push_str(" per bin");
    } else {
        let seconds = bins_per_col as u64 * bins.bin_seconds;
        text.push_str(&format!(" per {seconds} s ({bins_per_col} bins summed)"));
    }
    if (bins.canary_share - 0.5).abs() > f64::EPSILON {
        text.push_str(", traffic-normalized to equal shares");
    }
    if codes_per_row > 1 {
        text.push_str(&format!("; each row sums {codes_per_row} codes, labelled by the first"));
    }
    match alerts.len() {
        0 => text.push_str("; no alerts"),
        1 => text.push_str("; outlined: 1 alert episode"),
        n => text.push_str(&format!("; outlined: {n} alert episodes")),
    }
    if let Some(phi) = dispersion {
        text.push_str(&format!("; counts bursty (dispersion {phi:.1}): tested as fewer events"));
    }
    text
}
