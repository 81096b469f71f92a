//! Live input: alerts before the input ends, JSON Lines, late rows, `--follow`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::util::Errwatch;

/// Rows of one second of a stream where code 7 has one event per build, and from second 100 on
/// the canary has six.
fn second_rows(second: u32) -> String {
    rows_changing_at(second, 100)
}

/// [`second_rows`] with the canary's code 7 rising at `change`.
fn rows_changing_at(second: u32, change: u32) -> String {
    let stamp = format!("{}:{:02}:{:02}", second / 3600, second / 60 % 60, second % 60);
    let canary = if second >= change { 6 } else { 1 };
    let mut rows = format!("{stamp},1.0,7\n{stamp},1.0,9\n{stamp},2.0,9\n");
    for _ in 0..canary {
        rows.push_str(&format!("{stamp},2.0,7\n"));
    }
    rows
}

#[test]
fn the_first_alert_arrives_before_the_producer_has_finished() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_errwatch"))
        .args([
            "analyze",
            "--follow",
            "-",
            "--bins",
            "10",
            "--threshold-bins",
            "3",
            "--format",
            "jsonl",
        ])
        .args(["--heatmap", "live.png"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (seen_alert, alert_seen) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let value: serde_json::Value = serde_json::from_str(&line).expect("each line is JSON");
            if value["type"] == "alert_started" {
                let _ = seen_alert.send(());
            }
            lines.push(value);
        }
        lines
    });
    // The producer writes 200 seconds of rows, then waits (up to a minute) until errwatch has
    // reported the alert before it writes the rest and closes the stream.
    stdin.write_all(b"Timestamp,Build_Version,Error_Code\n").unwrap();
    for second in 0..200 {
        stdin.write_all(second_rows(second).as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    let reported_early = alert_seen.recv_timeout(Duration::from_secs(60)).is_ok();
    assert!(dir.path().join("live.png").exists(), "the heatmap is drawn while the stream runs");
    for second in 200..300 {
        stdin.write_all(second_rows(second).as_bytes()).unwrap();
    }
    drop(stdin);
    let lines = reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(reported_early, "no alert before the end of the input: {lines:?}");
    assert_eq!(status.code(), Some(1));
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["alert_started", "alert_ended", "summary"], "{lines:?}");
    assert_eq!(lines[0]["code"], 7);
    // Bins of 10 s: the regression starts with bin 10; the first three-bin window holding it
    // ends with bin 10 at 0:01:49 at the earliest.
    assert!(lines[0]["detected_at_s"].as_i64().unwrap() >= 109, "{}", lines[0]);
    assert_eq!(lines[1]["start_s"], 100);
    assert_eq!(lines[2]["summary"]["alerts"], 1);
    assert_eq!(lines[2]["summary"]["late_rows"], 0);
}

#[test]
fn late_rows_are_counted_said_and_kept_in_the_totals() {
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for second in 0..60 {
        csv.push_str(&second_rows(second));
    }
    // Second 5 has long closed by second 59 with the default lateness of 5 s.
    csv.push_str("0:00:05,2.0,9\n0:00:05,2.0,9\n");
    csv.push_str(&second_rows(60));
    let out = Errwatch::new(&["analyze", "--follow", "-", "--format", "json", "--no-heatmap"])
        .stdin(csv.clone())
        .run();
    assert!(matches!(out.code, 0 | 1 | 3), "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["summary"]["late_rows"], 2);
    // Seconds 0..=60 have four rows each (no regression before second 100), plus the two late.
    assert_eq!(report["rows"], 61 * 4 + 2, "every row counted");
    assert_eq!(report["builds"]["canary"]["events"], 61 + 61 + 2);
    assert!(
        out.stderr.contains("2 row(s) arrived more than 5 s after later rows")
            && out.stderr.contains("this answer may differ from a batch run of the same rows"),
        "{}",
        out.stderr
    );
    // The text summary says so too.
    let text = Errwatch::new(&["analyze", "--follow", "-", "--no-heatmap"]).stdin(csv).run();
    let summary = text.stdout.lines().find(|l| l.starts_with("<stdin>: ")).unwrap_or_default();
    assert!(
        summary.contains("(2 late rows not in detection: the answer may differ from a batch run)"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_followed_file_is_read_until_sigterm() {
    let run = Errwatch::new(&[]);
    let path = run.path("grow.csv");
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for second in 0..150 {
        csv.push_str(&second_rows(second));
    }
    std::fs::write(&path, &csv).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_errwatch"))
        .args(["analyze", "--follow", path.to_str().unwrap(), "--bins", "10"])
        .args(["--threshold-bins", "3", "--no-heatmap"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (started, started_seen) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line.starts_with("Alert started") {
                let _ = started.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    // The file grows while errwatch follows it.
    std::thread::sleep(Duration::from_millis(300));
    let mut more = String::new();
    for second in 150..300 {
        more.push_str(&second_rows(second));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(more.as_bytes())
        .unwrap();
    let early = started_seen.recv_timeout(Duration::from_secs(60)).is_ok();
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let text = reader.join().unwrap();
    assert!(early, "{text}");
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("Alert: Mean Threshold Exceeded"), "{text}");
    // 100 seconds of 4 rows, then 200 of 3 + 6, all read.
    assert!(text.contains(": 2200 rows, canary 2.0 vs baseline 1.0"), "{text}");
    // The summary line, then the traffic line (code 7 is most of the events and doubled for two
    // thirds of the run, which the traffic check cannot tell from a larger canary).
    let summary = text.lines().rev().nth(1).unwrap();
    assert!(summary.ends_with("rule rolling: 1 alert, regression"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("traffic: canary share of events"), "{text}");
}

/// Issue 12: SIGINT and SIGTERM end `analyze -` as they end `--follow` (`tail -f app.csv |
/// errwatch analyze -`, then Ctrl-C): the rows read are analysed, the summary printed, the final
/// heatmap written, the exit code the alerts earned; a line its writer had not finished is left.
#[test]
fn a_signal_ends_stdin_with_the_summary_and_the_usual_exit_code() {
    for signal in ["-INT", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_errwatch"))
            .args(["analyze", "--follow", "-", "--bins", "10", "--threshold-bins", "3"])
            .args(["--heatmap", "live.png"])
            .current_dir(dir.path())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (started, started_seen) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if line.starts_with("Alert started") {
                    let _ = started.send(());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
        for second in 0..300 {
            csv.push_str(&second_rows(second));
        }
        // The writer is in the middle of a line when the run is stopped.
        csv.push_str("0:05:00,2.0");
        stdin.write_all(csv.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let early = started_seen.recv_timeout(Duration::from_secs(60)).is_ok();
        // The stream stays open: only the signal ends the run.
        std::thread::sleep(Duration::from_millis(300));
        let pid = child.id().to_string();
        assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
        let status = child.wait().unwrap();
        let text = reader.join().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        drop(stdin);
        assert!(early, "{signal}: {text}");
        assert_eq!(status.code(), Some(1), "{signal}: {text}{stderr}");
        assert!(text.contains("Alert: Mean Threshold Exceeded"), "{signal}: {text}");
        // 100 seconds of 4 rows, then 200 of 3 + 6, all read; the half line is not a row. The
        // summary line comes before the traffic line.
        let summary = text.lines().rev().nth(1).unwrap();
        assert!(text.lines().last().unwrap().starts_with("traffic: "), "{signal}: {text}");
        assert!(
            summary.starts_with(
                "<stdin>: 2200 rows (an unfinished last line of 11 bytes left unread), canary 2.0"
            ),
            "{summary}"
        );
        assert!(summary.ends_with("rule rolling: 1 alert, regression"), "{signal}: {summary}");
        // Then the traffic check's warnings: code 7 holds most events and doubled for two thirds
        // of the run, which reads as a larger canary share, and a drifting one.
        let (ours, traffic) = stderr.split_at(stderr.find("errwatch: heatmap").unwrap());
        assert_eq!(
            ours,
            "errwatch: warning: <stdin>: the last line was unfinished when the run was stopped \
             (11 bytes): left unread\n",
            "{signal}"
        );
        let traffic: Vec<&str> = traffic.lines().skip(1).collect();
        assert_eq!(traffic.len(), 2, "{signal}: {stderr}");
        assert!(traffic[0].starts_with("errwatch: warning: <stdin>: --traffic 0.5 is outside"));
        assert!(traffic[1].contains("drifted over the run"), "{signal}: {stderr}");
        assert!(dir.path().join("live.png").exists(), "{signal}: the final heatmap");
    }
}

#[test]
fn a_finished_export_on_stdin_gets_the_files_answer() {
    // Parts concatenated out of time order (as Spark writes them): the second half of the stream
    // first. Read live, its first rows close the early seconds and the rest arrive late; read to
    // its end (the default for stdin), it is the file.
    let mut early = String::new();
    let mut late = String::new();
    for second in 0..400 {
        let part = if second < 200 { &mut early } else { &mut late };
        part.push_str(&second_rows(second));
    }
    let csv = format!("Timestamp,Build_Version,Error_Code\n{late}{early}");
    let flags = ["--format", "json", "--no-heatmap", "--bins", "10", "--threshold-bins", "3"];
    let file = Errwatch::new(&["analyze", "s.csv"]).args(&flags).file("s.csv", csv.clone()).run();
    let stdin = Errwatch::new(&["analyze", "-"]).args(&flags).stdin(csv.clone()).run();
    let live = Errwatch::new(&["analyze", "--follow", "-"]).args(&flags).stdin(csv).run();
    let json = |out: &crate::util::Output| -> serde_json::Value {
        serde_json::from_str(&out.stdout).unwrap()
    };
    assert_eq!((file.code, stdin.code), (1, 1), "{stdin:?}");
    assert_eq!(json(&stdin)["alerts"], json(&file)["alerts"]);
    assert_eq!(json(&stdin)["summary"]["late_rows"], 0);
    // Live, the first half arrived after its seconds had closed: seconds 0..100 of 4 rows and
    // 100..200 of 3 + 6, 1300 rows.
    assert_eq!(json(&live)["summary"]["late_rows"], 1300, "{}", live.stdout);
}

#[test]
fn the_sequential_rule_alerts_live_as_in_batch() {
    // The change comes after the sequential rule's five-minute warm-up, while the dispersion
    // estimate learns the stream.
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for second in 0..700 {
        csv.push_str(&rows_changing_at(second, 400));
    }
    let flags = ["--rule", "sequential", "--format", "json", "--no-heatmap"];
    let live = Errwatch::new(&["analyze", "--follow", "-"]).args(&flags).stdin(csv.clone()).run();
    let batch = Errwatch::new(&["analyze", "s.csv"]).args(&flags).file("s.csv", csv).run();
    assert_eq!((live.code, batch.code), (1, 1), "{live:?}");
    let alerts = |out: &crate::util::Output| {
        let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        report["alerts"].clone()
    };
    assert_eq!(alerts(&live), alerts(&batch));
    let first = &alerts(&live)[0];
    assert_eq!(first["code"], 7);
    // Six canary events a second against one: known within seconds of the change at 400 s.
    let detected = first["detected_at_s"].as_i64().unwrap();
    assert!((400..415).contains(&detected), "{first}");
}

#[test]
fn an_unwritable_live_heatmap_does_not_stop_the_analysis() {
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    for second in 0..300 {
        csv.push_str(&second_rows(second));
    }
    let out = Errwatch::new(&["analyze", "--follow", "-", "--bins", "10", "--threshold-bins", "3"])
        .args(&["--heatmap", "missing/dir/live.png"])
        .stdin(csv)
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("Alert: Mean Threshold Exceeded"), "{}", out.stdout);
    assert!(out.stdout.contains("rule rolling: 1 alert"), "{}", out.stdout);
    let warnings = out.stderr.lines().filter(|l| l.contains("the analysis goes on")).count();
    assert_eq!(warnings, 1, "said once: {}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("errwatch: writing heatmap missing/dir/live.png")
    );
}
