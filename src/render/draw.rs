//! Drawing a [`Plan`] on any plotters backend (bitmap or SVG).

use anyhow::Result;
use plotters::backend::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle, RGBColor};

use super::layout::{Align, BAR_TICK_LEN, Label, OUTLINE_WIDTH, Plan, Rect, TICK_LEN};

/// A backend's error, in words.
fn backend_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The page.
const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
/// Text.
const INK: RGBColor = RGBColor(34, 34, 34);
/// Frames and tick marks.
const FRAME: RGBColor = RGBColor(136, 136, 136);
/// Alert outlines.
const OUTLINE: RGBColor = RGBColor(0, 0, 0);

/// On bitmaps, plotters centres text on its layout box, which sits higher than the glyphs of
/// digits and capitals; moving the anchor down by this fraction of the font size centres them on
/// the line.
pub(super) const BITMAP_TEXT_SHIFT: f64 = 0.2;
/// SVG viewers centre text on the x-height (`dy="0.5ex"`), close enough as it is.
pub(super) const SVG_TEXT_SHIFT: f64 = 0.0;

/// Fills `rect` (exclusive ends) with `colour`.
fn fill<DB: DrawingBackend>(db: &mut DB, rect: Rect, colour: &RGBColor) -> Result<()> {
    if rect.x1 <= rect.x0 || rect.y1 <= rect.y0 {
        return Ok(());
    }
    db.draw_rect((rect.x0, rect.y0), (rect.x1, rect.y1), colour, true).map_err(backend_error)
}

/// A frame of `width` pixels around `rect`: `width / 2` (rounded down) outside, the rest inside.
fn frame<DB: DrawingBackend>(db: &mut DB, rect: Rect, width: i32, colour: &RGBColor) -> Result<()> {
    let r = grow(rect, width / 2);
    fill(db, Rect { y1: r.y0 + width, ..r }, colour)?;
    fill(db, Rect { y0: r.y1 - width, ..r }, colour)?;
    fill(db, Rect { x1: r.x0 + width, ..r }, colour)?;
    fill(db, Rect { x0: r.x1 - width, ..r }, colour)
}

/// Draws `label`, its anchor moved down by `shift` times the font size.
fn text<DB: DrawingBackend>(db: &mut DB, label: &Label, shift: f64) -> Result<()> {
    let h_pos = match label.align {
        Align::Left => HPos::Left,
        Align::Right => HPos::Right,
    };
    let style = FontDesc::new(FontFamily::SansSerif, label.size, FontStyle::Normal)
        .color(&INK)
        .pos(Pos::new(h_pos, VPos::Center));
    let y = label.y + (label.size * shift).round() as i32;
    db.draw_text(&label.text, &style, (label.x, y)).map_err(backend_error)
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// `rect` grown by `d` pixels on every side.
fn grow(rect: Rect, d: i32) -> Rect {
    Rect { x0: rect.x0 - d, y0: rect.y0 - d, x1: rect.x1 + d, y1: rect.y1 + d }
}

/// Draws `plan` on `db` and presents it; `text_shift` is [`BITMAP_TEXT_SHIFT`] or
/// [`SVG_TEXT_SHIFT`].
pub(super) fn draw<DB: DrawingBackend>(db: &mut DB, plan: &Plan, text_shift: f64) -> Result<()> {
    db.ensure_prepared().map_err(backend_error)?;
    let page = Rect { x0: 0, y0: 0, x1: plan.width as i32, y1: plan.height as i32 };
    fill(db, page, &BACKGROUND)?;

    if let Some(grid) = &plan.grid {
        // Cells, one rectangle per run of equal colour along a row (keeps SVGs small).
        for row in 0..grid.n_rows {
            let mut col = 0;
            while col < grid.n_cols {
                let colour = plan.scale.colour(grid.value(row, col));
                let mut end = col + 1;
                while end < grid.n_cols && plan.scale.colour(grid.value(row, end)) == colour {
                    end += 1;
                }
                let first = plan.cell(row, col);
                let last = plan.cell(row, end - 1);
                fill(db, Rect { x1: last.x1, ..first }, &rgb(colour))?;
                col = end;
            }
        }
        let grid_rect = plan.grid_rect();
        frame(db, grow(grid_rect, 1), 1, &FRAME)?;
        for &x in &plan.ticks {
            fill(
                db,
                Rect { x0: x, x1: x + 1, y0: grid_rect.y1, y1: grid_rect.y1 + TICK_LEN },
                &FRAME,
            )?;
        }
        for &outline in &plan.outlines {
            frame(db, outline, OUTLINE_WIDTH, &OUTLINE)?;
        }
    }

    // Colour bar: one line per pixel row, from +clip at the top to -clip at the bottom.
    let bar = plan.bar;
    let span = f64::from((bar.y1 - bar.y0 - 1).max(1));
    for y in bar.y0..bar.y1 {
        let value = plan.scale.clip * (1.0 - 2.0 * f64::from(y - bar.y0) / span);
        fill(db, Rect { y0: y, y1: y + 1, ..bar }, &rgb(plan.scale.colour(value)))?;
    }
    frame(db, grow(bar, 1), 1, &FRAME)?;
    for &y in &plan.bar_ticks {
        fill(db, Rect { x0: bar.x1, x1: bar.x1 + BAR_TICK_LEN, y0: y, y1: y + 1 }, &FRAME)?;
    }

    for label in &plan.labels {
        text(db, label, text_shift)?;
    }
    db.present().map_err(backend_error)
}
