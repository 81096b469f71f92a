//! Tests of `errwatch aggregate`: count files, shards, and analysing counts instead of events.

use std::process::Command;
use std::sync::OnceLock;

use errwatch::generate::{self, Config, Injection, Kind};
use errwatch::input::timestamp::Notation;
use proptest::prelude::*;
use serde_json::Value;

use crate::util::Errwatch;

#[test]
fn events_become_non_zero_per_second_counts_in_time_build_and_code_order() {
    let events = "\
Timestamp,Build_Version,Error_Code
0:00:02,1.10,7
0:00:01,1.9,E_X
0:00:01,1.10,7
0:00:02,1.10,7
0:00:01,1.9,-3
0:00:05,1.9,-3
";
    let run = Errwatch::new(&["aggregate", "e.csv", "-o", "c.csv"]).file("e.csv", events);
    let out = run.run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        "errwatch: 5 count rows for 6 events from 6 rows of 1 input(s) written to c.csv\n"
    );
    // Builds in version order (1.9 < 1.10), integer codes before labels; no rows for empty
    // seconds.
    let expected = "\
Timestamp,Build_Version,Error_Code,Count
0:00:01,1.9,-3,1
0:00:01,1.9,E_X,1
0:00:01,1.10,7,1
0:00:02,1.10,7,2
0:00:05,1.9,-3,1
";
    let counts = std::fs::read_to_string(run.path("c.csv")).unwrap();
    assert_eq!(counts, expected);
}

#[test]
fn shards_and_count_files_are_merged_and_the_notation_is_kept() {
    let a = "Timestamp,Build_Version,Error_Code\n1795305601,2.0,3\n1795305601,2.0,3\n";
    let b = "timestamp,count,error_code,build_version\n1795305601,5,3,2.0\n1795305600,1,4,1.0\n";
    let out = Errwatch::new(&["aggregate", "a.csv", "b.csv", "--quiet"])
        .file("a.csv", a)
        .file("b.csv", b)
        .run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(
        out.stdout,
        "Timestamp,Build_Version,Error_Code,Count\n1795305600,1.0,4,1\n1795305601,2.0,3,7\n"
    );
}

#[test]
fn shards_in_different_notations_are_refused() {
    let a = "Timestamp,Build_Version,Error_Code\n0:00:01,2.0,3\n";
    let b = "Timestamp,Build_Version,Error_Code\n1795305601,2.0,3\n";
    let run = Errwatch::new(&["aggregate", "a.csv", "b.csv", "-o", "c.csv"])
        .file("a.csv", a)
        .file("b.csv", b);
    let out = run.run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(
            "b.csv: timestamps are Unix epoch seconds, but a.csv has H:MM:SS: shards must share a notation"
        ),
        "{}",
        out.stderr
    );
    assert!(!run.path("c.csv").exists(), "no partial output");
    assert_eq!(std::fs::read_dir(run.dir()).unwrap().count(), 2, "no temporary file left");
}

#[test]
fn a_bad_row_in_a_shard_is_reported_as_analyze_reports_it() {
    let out = Errwatch::new(&["aggregate", "a.csv"])
        .file("a.csv", "Timestamp,Build_Version,Error_Code\n0:00:01,2.0,3\n0:99:00,2.0,3\n")
        .run();
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "errwatch: a.csv:3: minutes must be below 60 in an H:MM:SS timestamp (\"0:99:00\")\n"
    );
}

/// A generated hour with a regression and a code new in the canary, in one notation.
fn stream(notation: Notation) -> &'static [u8] {
    static STREAMS: [OnceLock<Vec<u8>>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, start) = match notation {
        Notation::Offset => (0, 0),
        Notation::Rfc3339 { .. } => (1, generate::DEFAULT_EPOCH_START),
        Notation::Epoch => (2, generate::DEFAULT_EPOCH_START),
    };
    STREAMS[slot].get_or_init(|| {
        let config = Config {
            seed: 5,
            rows: 20_000,
            start,
            notation,
            injections: vec![
                Injection::parse(Kind::Regression, "3:0:20:00-0:29:59:x3").unwrap(),
                Injection::parse(Kind::NewCode, "E_NEW:0:40:00-0:50:00:x3").unwrap(),
            ],
            ..Config::default()
        };
        let mut out = Vec::new();
        generate::generate(config, &mut out).unwrap();
        out
    })
}

/// The parts of an analysis that must not depend on how the stream was aggregated.
fn verdict(out: &crate::util::Output) -> Value {
    assert!(out.code == 0 || out.code == 1, "{out:?}");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    serde_json::json!({
        "alerts": v["alerts"],
        "time": v["time"],
        "baseline_events": v["builds"]["baseline"]["events"],
        "canary_events": v["builds"]["canary"]["events"],
        "summary": {"codes": v["summary"]["codes"], "bins": v["summary"]["bins"]},
    })
}

const ANALYZE: [&str; 4] = ["--format", "json", "--no-heatmap", "--quiet"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Split a stream's rows at random into shards, aggregate each on its own, concatenate the
    /// count files (headers and all) and analyse them: the alerts are those of the whole stream.
    /// Aggregating all shards in one command gives the same.
    #[test]
    fn shards_aggregated_apart_give_the_alerts_of_the_whole(
        notation in prop::sample::select(vec![
            Notation::Offset, Notation::Rfc3339 { offset_seconds: 0 }, Notation::Epoch,
        ]),
        shards in 1usize..5,
        assignment in prop::collection::vec(any::<u8>(), 64),
    ) {
        let text = stream(notation);
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        let (header, rows) = lines.split_first().unwrap();
        let mut parts = vec![header.to_vec(); shards];
        for (i, row) in rows.iter().enumerate() {
            // Runs of rows go to one shard, as a fleet's collectors would split them.
            let shard = assignment[(i / 97) % assignment.len()] as usize % shards;
            parts[shard].extend_from_slice(row);
        }

        let whole = Errwatch::new(&["analyze", "all.csv"]).args(&ANALYZE).file("all.csv", text);
        let expected = verdict(&whole.run());

        let mut concatenated = Vec::new();
        let mut all_shards = vec!["aggregate".to_string()];
        for (i, part) in parts.iter().enumerate() {
            let name = format!("shard{i}.csv");
            let out = whole.clone_with(&["aggregate", &name, "-o", &format!("c{i}.csv"), "-q"])
                .file(&name, part)
                .run();
            prop_assert_eq!(out.code, 0, "{:?}", out);
            concatenated.extend(std::fs::read(whole.path(&format!("c{i}.csv"))).unwrap());
            all_shards.push(name);
        }
        let counts = whole.clone_with(&["analyze", "counts.csv"])
            .args(&ANALYZE)
            .file("counts.csv", &concatenated)
            .run();
        prop_assert_eq!(verdict(&counts), expected.clone());

        all_shards.extend(["-o".into(), "merged.csv".into(), "-q".into()]);
        let argv: Vec<&str> = all_shards.iter().map(String::as_str).collect();
        prop_assert_eq!(whole.clone_with(&argv).run().code, 0);
        let merged = whole.clone_with(&["analyze", "merged.csv"]).args(&ANALYZE).run();
        prop_assert_eq!(verdict(&merged), expected);
    }
}

/// The DuckDB query of README.md, run as written on a generated stream, gives a count file that
/// errwatch analyzes to the alerts of the raw stream.
///
/// Without `duckdb` on the PATH the test fails, so that it never passes without checking: under
/// CI (`CI` set, as `.ci/run` does, which also installs it) always, elsewhere unless
/// `ERRWATCH_TEST_SKIP_DUCKDB=1` says the skip is meant.
#[test]
fn the_readme_duckdb_query_gives_counts_errwatch_analyzes() {
    if !crate::util::duckdb_or_skip() {
        return;
    }
    let readme = std::fs::read_to_string(crate::util::repo().join("README.md")).unwrap();
    let query = sql_block_after(&readme, "DuckDB").expect("README.md has a DuckDB query");
    let run = Errwatch::new(&["analyze", "events.csv"])
        .args(&ANALYZE)
        .file("events.csv", stream(Notation::Offset));
    let expected = verdict(&run.run());
    let duckdb = Command::new("duckdb")
        .args(["-c", &query])
        .current_dir(run.dir())
        .output()
        .expect("run duckdb");
    assert!(duckdb.status.success(), "{}", String::from_utf8_lossy(&duckdb.stderr));
    let counts = run.clone_with(&["analyze", "counts.csv"]).args(&ANALYZE).run();
    assert_eq!(verdict(&counts), expected);
}

/// The first ```sql block after the first line that names `engine` in a heading.
fn sql_block_after(text: &str, engine: &str) -> Option<String> {
    let heading = text.lines().position(|l| l.starts_with('#') && l.contains(engine))?;
    let mut lines = text.lines().skip(heading).skip_while(|l| l.trim() != "```sql").skip(1);
    let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
    Some(block.join("\n"))
}
