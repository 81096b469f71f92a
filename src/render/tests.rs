//! Tests of the rendered heatmap: PNGs decoded back, checked by pixel.

use std::path::Path;

use super::layout::{self, MAX_SIDE, Plan};
use super::*;
use crate::clock::Clock;
use crate::detect::Episode;
use crate::input::labels::Code;
use crate::input::timestamp::Notation;

/// How far a cell's dominant channel must exceed the others.
const MARGIN: u8 = 40;
/// How far a neutral cell may stray from the neutral grey, per channel.
const NEUTRAL_TOLERANCE: i32 = 12;
/// The scale's neutral midpoint (ColorBrewer's `#f7f7f7`).
const NEUTRAL: [u8; 3] = [0xf7, 0xf7, 0xf7];

const REGRESSED_CODE: usize = 3;
const IMPROVED_CODE: usize = 5;
const REGRESSION_BINS: std::ops::Range<usize> = 10..15;
const IMPROVEMENT_BINS: std::ops::Range<usize> = 20..26;

/// `n_codes` codes over `n_bins` bins with equal background traffic in both builds, a regression
/// (canary +10 per bin) injected on [`REGRESSED_CODE`] and an improvement (baseline +10) on
/// [`IMPROVED_CODE`].
fn sample_bins(n_codes: usize, n_bins: usize, bin_seconds: u64) -> Bins {
    let mut canary = vec![vec![2u64; n_bins]; n_codes];
    let mut baseline = vec![vec![2u64; n_bins]; n_codes];
    if n_codes > REGRESSED_CODE.max(IMPROVED_CODE) {
        for bin in REGRESSION_BINS.filter(|&b| b < n_bins) {
            canary[REGRESSED_CODE][bin] += 10;
        }
        for bin in IMPROVEMENT_BINS.filter(|&b| b < n_bins) {
            baseline[IMPROVED_CODE][bin] += 10;
        }
    }
    Bins {
        first_second: 0,
        last_second: (n_bins as u64 * bin_seconds) as i64 - 1,
        bin_seconds,
        canary_share: 0.5,
        codes: (0..n_codes).map(|i| Code::Int(i as i64 * 3 - 5)).collect(),
        canary,
        baseline,
    }
}

/// The alert of the injected regression.
fn regression_alert(bins: &Bins) -> Alert {
    Alert {
        episode: Episode {
            code: REGRESSED_CODE,
            start_s: bins.bin_start(REGRESSION_BINS.start),
            stop_s: bins.bin_end(REGRESSION_BINS.end - 1),
            windows_start_s: bins.bin_start(REGRESSION_BINS.start),
            windows_stop_s: bins.bin_end(REGRESSION_BINS.end - 1),
            detected_at_s: bins.bin_end(REGRESSION_BINS.start + 2),
            window_bins: Some(3),
            value: 6.0,
            canary_count: 36,
            baseline_count: 6,
            p_value: Some(1e-6),
            level: None,
            ratio_interval: None,
            dispersion: 1.0,
        },
        code_index: REGRESSED_CODE,
        code: bins.codes[REGRESSED_CODE].clone(),
        new_code: false,
        threshold: 1.25,
        clients: None,
    }
}

/// `H:MM:SS` input's clock.
static OFFSET_CLOCK: Clock =
    Clock { notation: Notation::Offset, zone: jiff::tz::TimeZone::UTC, zone_name: String::new() };

fn spec(palette: Palette) -> HeatmapSpec<'static> {
    HeatmapSpec {
        title_input: "ErrorStreamSetA.csv",
        baseline: "5.0007.510.011",
        canary: "5.0007.610.011",
        clock: &OFFSET_CLOCK,
        palette,
        dispersion: None,
    }
}

/// Decodes an 8-bit RGB PNG.
fn decode_png(bytes: &[u8]) -> RgbImage {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut pixels).expect("a PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    pixels.truncate(info.buffer_size());
    RgbImage { width: info.width, height: info.height, pixels }
}

fn write_and_decode(
    dir: &Path,
    name: &str,
    bins: &Bins,
    alerts: &[Alert],
    spec: &HeatmapSpec,
) -> RgbImage {
    let path = dir.join(name);
    write_heatmap(&path, bins, alerts, spec).unwrap();
    decode_png(&std::fs::read(&path).unwrap())
}

/// The colour at the centre of a cell.
fn cell_colour(image: &RgbImage, plan: &Plan, row: usize, col: usize) -> [u8; 3] {
    let cell = plan.cell(row, col);
    image.pixel(((cell.x0 + cell.x1) / 2) as u32, ((cell.y0 + cell.y1) / 2) as u32)
}

fn is_neutral(c: [u8; 3]) -> bool {
    c.iter().zip(NEUTRAL).all(|(&a, b)| (i32::from(a) - i32::from(b)).abs() <= NEUTRAL_TOLERANCE)
}

#[test]
fn the_seed_sized_png_shows_regressions_red_improvements_green_and_zero_neutral() {
    let dir = tempfile::tempdir().unwrap();
    let bins = sample_bins(33, 37, 100);
    let alerts = [regression_alert(&bins)];
    let spec = spec(Palette::RedGreen);
    let image = write_and_decode(dir.path(), "heatmap.png", &bins, &alerts, &spec);
    let plan = layout::plan(&bins, &alerts, &spec).unwrap();
    assert_eq!((image.width, image.height), (plan.width, plan.height));
    // Seed-sized data gets full-size cells and a compact image.
    assert_eq!((plan.col_w, plan.row_h), (20, 20));
    assert!(image.width <= 1400 && image.height <= 1000, "{}x{}", image.width, image.height);
    let grid = plan.grid.as_ref().unwrap();
    assert_eq!((grid.n_cols, grid.n_rows), (37, 33));

    for bin in REGRESSION_BINS {
        let [r, g, b] = cell_colour(&image, &plan, REGRESSED_CODE, bin);
        assert!(
            r > g.saturating_add(MARGIN) && r > b.saturating_add(MARGIN),
            "regression {r},{g},{b}"
        );
    }
    for bin in IMPROVEMENT_BINS {
        let [r, g, b] = cell_colour(&image, &plan, IMPROVED_CODE, bin);
        assert!(
            g > r.saturating_add(MARGIN) && g > b.saturating_add(MARGIN),
            "improvement {r},{g},{b}"
        );
    }
    for (row, col) in [(0, 0), (REGRESSED_CODE, 5), (IMPROVED_CODE, 30), (32, 36)] {
        let c = cell_colour(&image, &plan, row, col);
        assert!(is_neutral(c), "cell ({row}, {col}) should be neutral, is {c:?}");
    }
}

#[test]
fn the_red_blue_palette_shows_improvements_blue() {
    let bins = sample_bins(8, 30, 60);
    let spec = spec(Palette::RedBlue);
    let image = render_rgb(&bins, &[], &spec).unwrap();
    let plan = layout::plan(&bins, &[], &spec).unwrap();
    let [r, g, b] = cell_colour(&image, &plan, IMPROVED_CODE, IMPROVEMENT_BINS.start);
    assert!(
        b > r.saturating_add(MARGIN) && b > g.saturating_add(MARGIN),
        "improvement {r},{g},{b}"
    );
    let [r, g, b] = cell_colour(&image, &plan, REGRESSED_CODE, REGRESSION_BINS.start);
    assert!(r > g.saturating_add(MARGIN) && r > b.saturating_add(MARGIN), "regression {r},{g},{b}");
}

#[test]
fn alert_episodes_are_outlined_in_black() {
    let bins = sample_bins(10, 37, 100);
    let alerts = [regression_alert(&bins)];
    let spec = spec(Palette::RedGreen);
    let image = render_rgb(&bins, &alerts, &spec).unwrap();
    let plan = layout::plan(&bins, &alerts, &spec).unwrap();
    assert_eq!(plan.outlines.len(), 1);
    let first = plan.cell(REGRESSED_CODE, REGRESSION_BINS.start);
    let last = plan.cell(REGRESSED_CODE, REGRESSION_BINS.end - 1);
    assert_eq!(plan.outlines[0], layout::Rect { x1: last.x1, ..first });
    let mid_x = ((first.x0 + last.x1) / 2) as u32;
    // The top and bottom edges and the left and right sides are black...
    assert_eq!(image.pixel(mid_x, first.y0 as u32), [0, 0, 0]);
    assert_eq!(image.pixel(mid_x, (first.y1 - 1) as u32), [0, 0, 0]);
    let mid_y = ((first.y0 + first.y1) / 2) as u32;
    assert_eq!(image.pixel(first.x0 as u32, mid_y), [0, 0, 0]);
    assert_eq!(image.pixel((last.x1 - 1) as u32, mid_y), [0, 0, 0]);
    // ...and the cells inside keep their colour.
    let [r, g, _] = cell_colour(&image, &plan, REGRESSED_CODE, REGRESSION_BINS.start + 2);
    assert!(r > g.saturating_add(MARGIN));
    // Unalerted rows have no outline.
    let other = plan.cell(IMPROVED_CODE, IMPROVEMENT_BINS.start);
    assert_ne!(image.pixel(((other.x0 + other.x1) / 2) as u32, other.y0 as u32), [0, 0, 0]);
}

#[test]
fn a_day_of_one_second_bins_stays_within_bounds() {
    let n_bins = 86_400;
    let mut bins = sample_bins(33, n_bins, 1);
    // An hour-long regression at noon on code 7 (merged columns sum it).
    let noon = 43_200;
    for count in &mut bins.canary[7][noon..noon + 3_600] {
        *count += 1;
    }
    let alerts = [regression_alert(&bins)];
    let spec = spec(Palette::RedGreen);
    // How long it takes is measured by `cargo bench --bench render` (BENCHMARKS.md), not here.
    let image = render_rgb(&bins, &alerts, &spec).unwrap();
    assert!(image.width <= MAX_SIDE as u32 && image.height <= MAX_SIDE as u32);
    assert_eq!(image.pixels.len(), image.width as usize * image.height as usize * 3);
    let plan = layout::plan(&bins, &alerts, &spec).unwrap();
    let grid = plan.grid.as_ref().unwrap();
    // Adjacent bins merged into columns; every code keeps its row.
    assert!(grid.bins_per_col > 1);
    assert!(grid.n_cols * grid.bins_per_col >= n_bins);
    assert_eq!((grid.n_rows, grid.codes_per_row), (33, 1));
    assert!(grid.n_cols as u32 <= image.width);
    // The merged columns of the regression sum its bins: red.
    let [r, g, b] = cell_colour(&image, &plan, 7, (noon + 1_800) / grid.bins_per_col);
    assert!(r > g.saturating_add(MARGIN) && r > b.saturating_add(MARGIN), "{r},{g},{b}");
}

#[test]
fn thousands_of_codes_merge_into_rows() {
    let bins = sample_bins(9_000, 4, 10);
    let spec = spec(Palette::RedGreen);
    let image = render_rgb(&bins, &[], &spec).unwrap();
    assert!(image.height <= MAX_SIDE as u32);
    let plan = layout::plan(&bins, &[], &spec).unwrap();
    let grid = plan.grid.as_ref().unwrap();
    assert!(grid.codes_per_row > 1);
    assert!(grid.n_rows * grid.codes_per_row >= 9_000);
}

#[test]
fn the_same_input_gives_byte_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let bins = sample_bins(33, 37, 100);
    let alerts = [regression_alert(&bins)];
    let spec = spec(Palette::RedGreen);
    let mut files = Vec::new();
    for name in ["a.png", "b.png", "a.svg", "b.svg"] {
        let path = dir.path().join(name);
        write_heatmap(&path, &bins, &alerts, &spec).unwrap();
        files.push(std::fs::read(&path).unwrap());
    }
    assert!(files[0] == files[1], "PNG output differs between runs");
    assert!(files[2] == files[3], "SVG output differs between runs");
    assert!(files[0].starts_with(b"\x89PNG"));
    // Only the two images are left: no temporary files.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
}

#[test]
fn svg_output_is_an_svg_document_with_the_title() {
    let dir = tempfile::tempdir().unwrap();
    let bins = sample_bins(12, 37, 100);
    let alerts = [regression_alert(&bins)];
    let path = dir.path().join("heatmap.SVG");
    write_heatmap(&path, &bins, &alerts, &spec(Palette::RedGreen)).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(
        "ErrorStreamSetA.csv: 5.0007.610.011 (canary) vs 5.0007.510.011 (baseline), 100 s bins"
    ));
    assert!(svg.contains("clipped at \u{b1}"));
    assert!(svg.contains(">\n0:10:00\n</text>"), "time labels in the input's notation");
    assert_eq!(svg.matches("<svg").count(), 1);
}

#[test]
fn time_labels_use_the_input_notation() {
    let mut bins = sample_bins(4, 60, 60);
    bins.first_second = 1_795_860_000;
    bins.last_second = bins.first_second + 3_599;
    let clock = Clock::utc(Notation::Rfc3339 { offset_seconds: 3_600 });
    let spec = HeatmapSpec { clock: &clock, ..spec(Palette::RedGreen) };
    let svg = render_svg(&bins, &[], &spec).unwrap();
    assert!(svg.contains("2026-11-28T"), "RFC 3339 labels");
    assert!(svg.contains("+01:00"), "in the input's offset");
    assert!(svg.contains("time (RFC 3339)"));
}

#[test]
fn unix_seconds_are_labelled_in_the_zone_on_its_round_hours() {
    // A day of Unix seconds from 2026-12-01T00:00:00Z, in India (+05:30): the ticks fall on
    // round local hours, so at :30 past a UTC hour, and are written in local time.
    let mut bins = sample_bins(4, 24, 3600);
    bins.first_second = 1_796_083_200;
    bins.last_second = bins.first_second + 86_399;
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(19_800).unwrap());
    let clock = Clock::new(Notation::Epoch, zone, "+05:30");
    let spec = HeatmapSpec { clock: &clock, ..spec(Palette::RedGreen) };
    let svg = render_svg(&bins, &[], &spec).unwrap();
    assert!(svg.contains(">\n2026-12-01T12:00:00+05:30\n</text>"), "{svg}");
    assert!(svg.contains("time (+05:30)"));
    assert!(!svg.contains("1796083200"), "no raw epoch label");
}

#[test]
fn the_scale_is_clipped_at_a_robust_extreme_and_says_so() {
    let mut bins = sample_bins(33, 37, 100);
    // Background noise of one event in a third of the cells, and one huge outlier: the outlier
    // does not set the scale, the injected changes of 10 do.
    for (code, row) in bins.canary.iter_mut().enumerate() {
        for (bin, count) in row.iter_mut().enumerate() {
            if (code + bin) % 3 == 0 {
                *count += 1;
            }
        }
    }
    bins.canary[0][1] += 10_000;
    let spec = spec(Palette::RedGreen);
    let plan = layout::plan(&bins, &[], &spec).unwrap();
    assert_eq!(plan.scale.clip, 10.0);
    assert!(plan.labels.iter().any(|l| l.text == "clipped at \u{b1}10"));
    assert!(plan.labels.iter().any(|l| l.text == "+10 more in canary"));
    assert!(plan.labels.iter().any(|l| l.text == "\u{2212}10 fewer in canary"));
}

#[test]
fn codes_label_their_rows_in_code_order() {
    let bins = sample_bins(6, 10, 100);
    let plan = layout::plan(&bins, &[], &spec(Palette::RedGreen)).unwrap();
    let row_labels: Vec<&str> = plan
        .labels
        .iter()
        .filter(|l| l.align == layout::Align::Right)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(row_labels, ["-5", "-2", "1", "4", "7", "10"]);
}

#[test]
fn empty_bins_render_a_note_instead_of_a_grid() {
    let bins = Bins {
        first_second: 0,
        last_second: 0,
        bin_seconds: 10,
        canary_share: 0.5,
        codes: vec![],
        canary: vec![],
        baseline: vec![],
    };
    let image = render_rgb(&bins, &[], &spec(Palette::RedGreen)).unwrap();
    assert!(image.width > 0 && image.height > 0);
    let svg = render_svg(&bins, &[], &spec(Palette::RedGreen)).unwrap();
    assert!(svg.contains("nothing to draw"));
}

#[test]
fn an_unwritable_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bins = sample_bins(4, 10, 100);
    let path = dir.path().join("no-such-dir").join("heatmap.png");
    let err = write_heatmap(&path, &bins, &[], &spec(Palette::RedGreen)).unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains(&format!("writing heatmap {}", path.display())), "{message}");
    // A directory in the way: nothing is replaced and no temporary file is left behind.
    let blocked = dir.path().join("taken.png");
    std::fs::create_dir(&blocked).unwrap();
    let err = write_heatmap(&blocked, &bins, &[], &spec(Palette::RedGreen)).unwrap_err();
    assert!(format!("{err:#}").contains("taken.png"));
    assert!(blocked.is_dir());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_existing_file_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heatmap.png");
    std::fs::write(&path, b"previous").unwrap();
    let bins = sample_bins(4, 10, 100);
    write_heatmap(&path, &bins, &[], &spec(Palette::RedGreen)).unwrap();
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"), "replaced whole");
}

#[test]
fn palettes_parse_by_name() {
    assert_eq!("red-green".parse::<Palette>(), Ok(Palette::RedGreen));
    assert_eq!("Red-Blue".parse::<Palette>(), Ok(Palette::RedBlue));
    assert_eq!(Palette::default(), Palette::RedGreen);
    let err = "viridis".parse::<Palette>().unwrap_err();
    assert_eq!(err.to_string(), "unknown palette 'viridis' (expected one of: red-green, red-blue)");
}
