//! The differential heatmap: error codes against time, coloured by how many more (or fewer)
//! errors the canary build has than the baseline, with the alert episodes outlined.
//!
//! # Layout
//!
//! From top to bottom: a title (input, canary vs baseline, bin size), a line saying how to read a
//! cell and how many alerts are outlined, then the grid. Each row is an error code, in
//! [`Bins::codes`] order, labelled on the left; each column is a time bin, and the x axis below
//! carries a handful of ticks at round times, labelled as the reports write times
//! ([`Clock::format`]: the input's own notation, Unix seconds as RFC 3339 in a time zone). To the right of the grid a colour bar shows the scale with numeric ticks
//! and says where it is clipped. Every alert episode is outlined in black (2 px) on its code's row
//! over the bins it spans, so the report's text can be checked by eye.
//!
//! # Scale
//!
//! A cell's value is [`Bins::diff`]: traffic-normalized canary events minus baseline events. The
//! scale is diverging and symmetric around zero: red where the canary has more, a light neutral
//! grey at zero, and green (the default [`Palette::RedGreen`], the seed's convention) or blue
//! ([`Palette::RedBlue`], safe for red-green colour blindness) where it has fewer. The colours
//! come from ColorBrewer's `RdBu` and `PiYG` schemes (the `colorous` crate), which share their
//! neutral midpoint. So that one outlier does not wash out everything else, the scale is clipped
//! at a robust extreme: the 99th percentile (nearest rank) of |value| over the non-zero cells, at
//! least 1, rounded up to a nice number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten);
//! cells beyond it get the extreme colours, and the colour bar says "clipped at ±N".
//!
//! # Size and merging
//!
//! Cells are 20 px square when there are few bins and codes; with more, they shrink (to one
//! pixel) to keep the grid about 1600 px wide and 1200 px tall. Past 1600 bins, adjacent bins
//! merge into one column (a nice number of them: 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60 or a
//! multiple of 60) and the cell shows the sum of their values; a viewer would scale a wider image
//! down anyway, blurring instead of summing. Codes merge into rows likewise, but only when they
//! would not fit at one pixel each. The subtitle says when cells are merged, and neither side of
//! the image exceeds 4096 px. Rendering time and memory are therefore bounded by the image, not by
//! the number of bins (apart from one pass that sums them): a day of 1-second bins (86 400 bins)
//! draws as 1 440 columns of 60 s.
//!
//! # Output
//!
//! [`write_heatmap`] writes SVG when the path ends in `.svg` and PNG otherwise, through a
//! temporary file in the same directory renamed into place, so a failed run never leaves a
//! truncated image. [`render_rgb`] and [`render_svg`] render to memory. Text is drawn with an
//! embedded font (a subset of DejaVu Sans, see `assets/fonts/`), so no system fonts or libraries
//! are needed, and the same input gives byte-identical files.

mod axis;
mod draw;
mod grid;
mod layout;
mod scale;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::style::FontStyle;

use crate::bins::Bins;
use crate::clock::Clock;
use crate::detect::Alert;

/// The embedded font: DejaVu Sans, cut down to Latin, Greek, Cyrillic and common signs.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Subset.ttf");

/// The family name text is drawn with (plotters' `FontFamily::SansSerif`).
const FONT_FAMILY: &str = "sans-serif";

/// Bytes per pixel of [`RgbImage::pixels`].
const RGB_BYTES: usize = 3;

/// Registers the embedded font with plotters, once per process.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
    });
    if ok { Ok(()) } else { bail!("the embedded font could not be loaded") }
}

/// The colours of the cells below zero (above zero they are always red).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Palette {
    /// Red where the canary has more errors, green where it has fewer (the seed's convention).
    #[default]
    RedGreen,
    /// Red where the canary has more errors, blue where it has fewer: safe for red-green colour
    /// blindness.
    RedBlue,
}

impl Palette {
    /// Every palette, the default first.
    pub const ALL: [Palette; 2] = [Palette::RedGreen, Palette::RedBlue];

    /// The palette's name on the command line: `red-green` or `red-blue`.
    pub fn name(self) -> &'static str {
        match self {
            Palette::RedGreen => "red-green",
            Palette::RedBlue => "red-blue",
        }
    }
}

impl fmt::Display for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A palette name that is not one of [`Palette::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPalette(pub String);

impl fmt::Display for UnknownPalette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Palette::ALL.iter().map(|p| p.name()).collect();
        write!(f, "unknown palette '{}' (expected one of: {})", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownPalette {}

impl FromStr for Palette {
    type Err = UnknownPalette;

    /// Parses a palette name, ignoring case: `red-green` or `red-blue`.
    fn from_str(s: &str) -> Result<Palette, UnknownPalette> {
        Palette::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPalette(s.to_string()))
    }
}

/// What the heatmap says about its input, besides the bins and alerts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapSpec<'a> {
    /// The input's name for the title (a file name, or `stdin`).
    pub title_input: &'a str,
    /// The baseline build's version.
    pub baseline: &'a str,
    /// The canary build's version.
    pub canary: &'a str,
    /// How the time axis writes seconds: the input's notation, Unix seconds as RFC 3339 in a
    /// zone.
    pub clock: &'a Clock,
    /// The colours below zero.
    pub palette: Palette,
    /// The counts' stream-wide dispersion, when it is large enough to say (bursts).
    pub dispersion: Option<f64>,
}

/// A rendered image: 8-bit RGB, row by row from the top, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes: red, green, blue of each pixel.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// The colour of the pixel at `x`, `y` (from the top left).
    ///
    /// # Panics
    ///
    /// If the pixel is outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(x < self.width && y < self.height, "pixel ({x}, {y}) is outside the image");
        let i = (y as usize * self.width as usize + x as usize) * RGB_BYTES;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
}

/// Renders the heatmap of `bins`, with `alerts` outlined, to an RGB image in memory.
pub fn render_rgb(bins: &Bins, alerts: &[Alert], spec: &HeatmapSpec) -> Result<RgbImage> {
    let plan = layout::plan(bins, alerts, spec)?;
    let (width, height) = (plan.width, plan.height);
    let mut pixels = vec![0u8; width as usize * height as usize * RGB_BYTES];
    {
        let mut backend = BitMapBackend::with_buffer(&mut pixels, (width, height));
        draw::draw(&mut backend, &plan, draw::BITMAP_TEXT_SHIFT).context("drawing the heatmap")?;
    }
    Ok(RgbImage { width, height, pixels })
}

/// Renders the heatmap of `bins`, with `alerts` outlined, to an SVG document.
pub fn render_svg(bins: &Bins, alerts: &[Alert], spec: &HeatmapSpec) -> Result<String> {
    let plan = layout::plan(bins, alerts, spec)?;
    let mut svg = String::new();
    {
        let mut backend = SVGBackend::with_string(&mut svg, (plan.width, plan.height));
        draw::draw(&mut backend, &plan, draw::SVG_TEXT_SHIFT).context("drawing the heatmap")?;
    }
    Ok(svg)
}

/// Writes the heatmap of `bins`, with `alerts` outlined, to `path`: SVG if the path ends in
/// `.svg` (any case), PNG otherwise.
///
/// The image goes to a temporary file in the same directory that is then renamed to `path`, so
/// `path` is either left as it was or replaced whole. Errors name the path.
pub fn write_heatmap(path: &Path, bins: &Bins, alerts: &[Alert], spec: &HeatmapSpec) -> Result<()> {
    write_atomically(path, bins, alerts, spec)
        .with_context(|| format!("writing heatmap {}", path.display()))
}

/// Whether `path` asks for SVG.
fn is_svg(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"))
}

/// What a heatmap file holds, before it is written.
enum Encoded {
    Svg(String),
    Png(RgbImage),
}

fn write_atomically(path: &Path, bins: &Bins, alerts: &[Alert], spec: &HeatmapSpec) -> Result<()> {
    let encoded = if is_svg(path) {
        Encoded::Svg(render_svg(bins, alerts, spec)?)
    } else {
        Encoded::Png(render_rgb(bins, alerts, spec)?)
    };
    let suffix = if matches!(encoded, Encoded::Svg(_)) { ".tmp.svg" } else { ".tmp.png" };
    crate::output::replace_file(path, suffix, |_, out| match &encoded {
        Encoded::Svg(text) => Ok(out.write_all(text.as_bytes())?),
        Encoded::Png(image) => write_png(out, image),
    })
}

/// Encodes `image` as PNG into `out` (a temporary file, a FIFO, a device: anything writable).
///
/// Deflate at level 1, with the default adaptive filter: on the heatmap of a day of 1000 codes
/// (1108 x 1133 px) it takes about a tenth of the time of the default level for a file about a
/// fifth larger (the default level's deflate was most of the heatmap's cost there), where png's
/// `Compression::Fast` would be faster still but twice as large.
fn write_png(out: impl Write, image: &RgbImage) -> Result<()> {
    let mut encoder = png::Encoder::new(out, image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_deflate_compression(png::DeflateCompression::Level(1));
    let mut writer = encoder.write_header().context("cannot write the PNG header")?;
    writer.write_image_data(&image.pixels).context("cannot write the PNG image")?;
    writer.finish().context("cannot write the PNG image")
}
