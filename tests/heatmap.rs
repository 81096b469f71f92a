//! Tests of the heatmap as `errwatch analyze` writes it.

use crate::util::{Errwatch, repo};

fn data_set_a() -> String {
    repo().join("data/ErrorStreamSetA.csv").to_str().unwrap().to_string()
}

/// (width, height, RGB pixels) of a PNG file.
fn decode(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

#[test]
fn analyze_writes_the_heatmap_next_to_the_input_stem_by_default() {
    let run = Errwatch::new(&["analyze", &data_set_a(), "--format", "json"]);
    let out = run.run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "errwatch: heatmap written to ErrorStreamSetA.heatmap.png\n");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["heatmap"], "ErrorStreamSetA.heatmap.png");
    let (width, height, pixels) = decode(&run.path("ErrorStreamSetA.heatmap.png"));
    assert!((600..=4096).contains(&width) && (400..=4096).contains(&height), "{width}x{height}");
    // Text was drawn: the title band (top 30 rows) holds dark pixels.
    let title_band = &pixels[..(width * 30 * 3) as usize];
    let dark = title_band.chunks(3).filter(|p| p.iter().all(|&c| c < 100)).count();
    assert!(dark > 200, "only {dark} dark pixels in the title band");
}

#[test]
fn two_runs_write_identical_bytes() {
    let run = Errwatch::new(&["analyze", &data_set_a(), "--heatmap", "a.png"]);
    run.run();
    let first = std::fs::read(run.path("a.png")).unwrap();
    run.run();
    assert_eq!(first, std::fs::read(run.path("a.png")).unwrap());
}

#[test]
fn an_svg_path_writes_well_formed_svg_naming_the_codes() {
    let run =
        Errwatch::new(&["analyze", &data_set_a(), "--heatmap", "a.svg", "--palette", "red-blue"]);
    assert_eq!(run.run().code, 1);
    let svg = std::fs::read_to_string(run.path("a.svg")).unwrap();
    let document = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect();
    for code in -17..=15 {
        assert!(texts.contains(&code.to_string()), "no label for code {code}");
    }
}

#[test]
fn no_heatmap_writes_nothing() {
    let run = Errwatch::new(&["analyze", &data_set_a(), "--no-heatmap", "--format", "json"]);
    let out = run.run();
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "");
    assert_eq!(std::fs::read_dir(run.dir()).unwrap().count(), 0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(report["heatmap"].is_null());
}

#[test]
fn an_unwritable_heatmap_path_still_prints_the_analysis_and_exits_2() {
    let run = Errwatch::new(&["analyze", &data_set_a(), "--heatmap", "missing/dir/a.png"]);
    let out = run.run();
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("Error_Code_3"), "{}", out.stdout);
    assert!(
        out.stderr.starts_with("errwatch: writing heatmap missing/dir/a.png"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_day_at_one_second_bins_stays_within_the_cap() {
    let run = Errwatch::new(&[
        "generate",
        "--duration",
        "86400",
        "--rows",
        "100000",
        "--inject",
        "3:40000-40599:x6",
        "-o",
        "day.csv",
    ]);
    assert_eq!(run.run().code, 0);
    let analyze = Errwatch::new(&[
        "analyze",
        run.path("day.csv").to_str().unwrap(),
        "--bins",
        "1",
        "--heatmap",
        run.path("day.png").to_str().unwrap(),
    ]);
    let out = analyze.run();
    assert!(matches!(out.code, 0 | 1 | 3), "{out:?}");
    let (width, height, _) = decode(&run.path("day.png"));
    assert!(width <= 4096 && height <= 4096, "{width}x{height}");
}
