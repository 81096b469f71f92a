//! Heatmap rendering time: `cargo bench --bench render` (add `-- --runs N`, default 5).
//!
//! Renders the heatmap of synthetic bins, PNG pixels ([`render_rgb`]) and SVG ([`render_svg`]),
//! at shapes from the seed's hour to a day of one-second bins and a thousand codes, where the
//! layout merges adjacent bins into columns and codes into rows. Counts are a background of 2
//! events per bin in both builds, with an hour-long regression at the middle of code 7, so every
//! cell has a colour to compute. It prints a markdown table of the median and the fastest of the
//! runs; BENCHMARKS.md keeps it with the command. This replaces a unit test that asserted a wall
//! time (which a loaded machine could fail, and a slow change would pass under a generous bound);
//! `render::tests::a_day_of_one_second_bins_stays_within_bounds` still checks the image.

use std::time::{Duration, Instant};

use errwatch::bins::Bins;
use errwatch::clock::Clock;
use errwatch::input::labels::Code;
use errwatch::input::timestamp::Notation;
use errwatch::render::{HeatmapSpec, Palette, render_rgb, render_svg};

/// The shapes: a name, codes, bins, seconds per bin.
const SHAPES: [(&str, usize, usize, u64); 4] = [
    ("1 h, 100 s bins, 33 codes (the seed's)", 33, 37, 100),
    ("1 h, 1 s bins, 33 codes", 33, 3_601, 1),
    ("1 day, 1 s bins, 33 codes", 33, 86_400, 1),
    ("1 day, 60 s bins, 1000 codes", 1_000, 1_440, 60),
];

fn bins(n_codes: usize, n_bins: usize, bin_seconds: u64) -> Bins {
    let mut canary = vec![vec![2u64; n_bins]; n_codes];
    let baseline = vec![vec![2u64; n_bins]; n_codes];
    let middle = n_bins / 2;
    let hour = (3_600 / bin_seconds as usize).clamp(1, n_bins - middle);
    for count in &mut canary[7][middle..middle + hour] {
        *count += 3;
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

fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn main() {
    let mut runs = 5;
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args.next().and_then(|n| n.parse::<usize>().ok()).expect("--runs N").max(1)
            }
            "--help" | "-h" => {
                println!("cargo bench --bench render -- [--runs 5]");
                return;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let spec = HeatmapSpec {
        title_input: "bench.csv",
        baseline: "5.0007.510.011",
        canary: "5.0007.610.011",
        clock: &Clock::utc(Notation::Offset),
        palette: Palette::RedGreen,
        dispersion: None,
    };
    println!("{runs} runs each\n");
    println!("| shape | PNG pixels: median | fastest | image | SVG: median | fastest | bytes |");
    println!("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
    for (name, codes, n_bins, bin_seconds) in SHAPES {
        let bins = bins(codes, n_bins, bin_seconds);
        let mut size = (0, 0);
        let (png_median, png_fastest) = time(runs, || {
            let image = render_rgb(&bins, &[], &spec).expect("render");
            size = (image.width, image.height);
        });
        let mut bytes = 0;
        let (svg_median, svg_fastest) = time(runs, || {
            bytes = render_svg(&bins, &[], &spec).expect("render").len();
        });
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {} x {} | {:.1} ms | {:.1} ms | {bytes} |",
            png_median.as_secs_f64() * 1e3,
            png_fastest.as_secs_f64() * 1e3,
            size.0,
            size.1,
            svg_median.as_secs_f64() * 1e3,
            svg_fastest.as_secs_f64() * 1e3,
        );
    }
}
