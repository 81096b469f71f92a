//! Safe to point at anything (issue 12): output targets that are not regular files, modes,
//! interrupted writes, hostile labels in every format, overlong fields, closed pipes, rotation
//! under `--follow`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::Errwatch;

const EVENTS: &str = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:02,2.0,3\n";
const COUNTS: &str = "Timestamp,Build_Version,Error_Code,Count\n0:00:01,1.0,3,1\n0:00:02,2.0,3,1\n";

fn aggregate_to(target: &str) -> Errwatch {
    Errwatch::new(&["aggregate", "-q", "in.csv", "-o", target]).file("in.csv", EVENTS)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_errwatch"))
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([name, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill {name}");
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.contains(".tmp"))
        .collect()
}

#[test]
fn a_fifo_is_written_in_place_for_its_reader() {
    let run = aggregate_to("out.fifo");
    let fifo = run.path("out.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success(), "mkfifo");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = run.run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(reader.join().unwrap(), COUNTS);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert!(temporaries(run.dir()).is_empty());
}

#[test]
fn a_heatmap_into_a_fifo_reaches_its_reader_as_a_png() {
    let run = Errwatch::new(&["analyze", "e.csv", "--bins", "10", "--heatmap", "map.png"])
        .args(&NAMED)
        .file("e.csv", hostile_stream());
    let fifo = run.path("map.png");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success(), "mkfifo");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = run.run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let png = reader.join().unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let info = decoder.read_info().unwrap().info().clone();
    assert!(info.width > 100 && info.height > 100, "{}x{}", info.width, info.height);
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
}

#[test]
fn dev_stdout_is_written_in_place() {
    let out = aggregate_to("/dev/stdout").run();
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, COUNTS, ""));
}

#[test]
fn a_device_node_is_written_in_place_not_replaced() {
    let run = aggregate_to("null");
    let node = run.path("null");
    let made =
        Command::new("mknod").arg(&node).args(["c", "1", "3"]).stderr(Stdio::null()).status();
    if !made.is_ok_and(|s| s.success()) {
        // Only root may make device nodes. CI runs as root, so there the test never skips.
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        assert!(!ci, "mknod failed under CI: this test cannot be skipped there");
        println!("skipped: mknod needs root (this test runs as a user who cannot make /dev/null)");
        return;
    }
    let out = run.run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let meta = std::fs::symlink_metadata(&node).unwrap();
    assert!(meta.file_type().is_char_device(), "the device is still a device");
    assert!(temporaries(run.dir()).is_empty());
}

#[test]
fn a_symlink_stays_a_link_and_its_target_is_replaced_keeping_its_mode() {
    let run = aggregate_to("link.csv");
    std::fs::create_dir(run.path("real")).unwrap();
    let target = run.path("real/counts.csv");
    std::fs::write(&target, "old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real/counts.csv", run.path("link.csv")).unwrap();
    let out = run.run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    let link = std::fs::symlink_metadata(run.path("link.csv")).unwrap();
    assert!(link.file_type().is_symlink(), "the link is still a link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), COUNTS);
    assert_eq!(mode(&target), 0o640);
    assert!(temporaries(&run.path("real")).is_empty() && temporaries(run.dir()).is_empty());
}

#[test]
fn a_dangling_symlink_creates_its_target() {
    let run = aggregate_to("link.csv");
    std::os::unix::fs::symlink("made.csv", run.path("link.csv")).unwrap();
    let out = run.run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert!(std::fs::symlink_metadata(run.path("link.csv")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(run.path("made.csv")).unwrap(), COUNTS);
}

#[test]
fn an_existing_file_keeps_its_mode() {
    let run = aggregate_to("out.csv");
    std::fs::write(run.path("out.csv"), "old").unwrap();
    std::fs::set_permissions(run.path("out.csv"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run.run();
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(run.path("out.csv")).unwrap(), COUNTS);
    assert_eq!(mode(&run.path("out.csv")), 0o640);
}

#[test]
fn new_files_get_0666_less_the_umask() {
    for (umask, expected) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let run = Errwatch::new(&[]).file("in.csv", EVENTS);
        let out = Command::new("sh")
            .args(["-c", &format!("umask {umask}; exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_errwatch"))
            .args(["aggregate", "-q", "in.csv", "-o", "out.csv"])
            .current_dir(run.dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(mode(&run.path("out.csv")), expected, "umask {umask}");
        // The heatmap and the generator go through the same writer.
        let out = Command::new("sh")
            .args(["-c", &format!("umask {umask}; exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_errwatch"))
            .args(["generate", "--rows", "10", "-o", "g.csv"])
            .current_dir(run.dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(mode(&run.path("g.csv")), expected, "umask {umask}");
    }
}

#[test]
fn a_directory_is_a_clear_error() {
    let run = aggregate_to("sub");
    std::fs::create_dir(run.path("sub")).unwrap();
    let out = run.run();
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr, "errwatch: -o sub: is a directory\n");
}

#[test]
fn sigterm_during_generate_leaves_no_temporary_file_and_the_target_untouched() {
    let run = Errwatch::new(&[]).file("big.csv", "old");
    let mut child = binary()
        .args(["generate", "--rows", "200000000", "-o", "big.csv"])
        .current_dir(run.dir())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while temporaries(run.dir()).is_empty() {
        assert!(waited < 600, "no temporary file appeared");
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "128 + SIGTERM");
    assert_eq!(temporaries(run.dir()), Vec::<String>::new());
    assert_eq!(std::fs::read_to_string(run.path("big.csv")).unwrap(), "old");
}

/// Runs `args` with stdout piped, reads one line and closes the pipe; the exit code and stderr.
fn first_line_then_close(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = binary()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "{args:?} printed a line");
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn a_closed_pipe_ends_aggregate_completions_and_man_quietly() {
    let run =
        Errwatch::new(&["generate", "--rows", "400000", "--duration", "20000", "-o", "ev.csv"]);
    assert_eq!(run.run().code, 0);
    for args in [
        &["aggregate", "ev.csv"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["man"],
        &["man", "analyze"],
    ] {
        assert_eq!(first_line_then_close(run.dir(), args), (Some(0), String::new()), "{args:?}");
    }
}

#[test]
fn a_closed_pipe_ends_a_followed_run_at_once_with_its_verdict() {
    // `errwatch analyze --follow A.csv --format jsonl | head -1`: the first alert is printed, the
    // reader goes away, and the run (which would follow the file for ever) ends with exit 1.
    let csv = crate::util::repo().join("data/ErrorStreamSetA.csv");
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary()
        .args(["analyze", "--follow", csv.to_str().unwrap(), "--format", "jsonl", "--no-heatmap"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("alert_started"), "{line}");
    drop(stdout);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("still following 30 s after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
}

/// Labels that would act on a terminal, a workflow-command parser or an XML parser.
const HOSTILE_CODES: [&str; 6] = [
    "E\u{1b}[2J",
    "T\u{1b}]0;title\u{7}",
    "C\u{9b}31m",
    "N\u{0}x",
    "R\u{202e}evil",
    "W\n::warning::x",
];
const HOSTILE_CANARY: &str = "2.0\u{1b}]8;;http://x\u{7}";

/// A stream where every hostile code regresses in the hostile canary build.
fn hostile_stream() -> String {
    let mut csv = String::from("Timestamp,Build_Version,Error_Code\n");
    let quote = |s: &str| format!("\"{s}\"");
    for second in 0..300u32 {
        let stamp = format!("0:{:02}:{:02}", second / 60, second % 60);
        for code in HOSTILE_CODES {
            csv.push_str(&format!("{stamp},1.0,{}\n", quote(code)));
            let canary = if second >= 150 { 6 } else { 1 };
            for _ in 0..canary {
                csv.push_str(&format!("{stamp},{},{}\n", quote(HOSTILE_CANARY), quote(code)));
            }
        }
    }
    csv
}

const ANALYZE: [&str; 6] = ["analyze", "e\u{1b}[2J.csv", "--bins", "10", "--threshold-bins", "3"];

/// The hostile canary is no version, so the baseline is named.
const NAMED: [&str; 2] = ["--baseline", "1.0"];

/// Text a person reads: no control character but the line break, no bidi override, no line that
/// is a workflow command.
fn assert_inert(format: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
        .collect();
    assert!(bad.is_empty(), "{format}: {bad:?} in {text}");
    assert!(!text.lines().any(|l| l.starts_with("::")), "{format}: a command line in {text}");
}

/// `text` without the SGR colour sequences errwatch itself writes (`ESC [ digits ; m`).
fn without_colour(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let end = tail.find('m').expect("an SGR sequence ends in m");
        assert!(
            tail.starts_with('[') && tail[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "only colour sequences: {tail:?}"
        );
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn hostile_labels_are_inert_in_every_human_format() {
    let run = Errwatch::new(&ANALYZE).file("e\u{1b}[2J.csv", hostile_stream());
    for format in ["text", "markdown"] {
        let out =
            run.clone_with(&ANALYZE).args(&NAMED).args(&["--no-heatmap", "--format", format]).run();
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        assert_inert(format, &out.stdout);
        assert_inert(format, &out.stderr);
    }
    let out =
        run.clone_with(&ANALYZE).args(&NAMED).args(&["--no-heatmap", "--color", "always"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stdout.contains('\u{1b}'), "coloured");
    assert_inert("colour text", &without_colour(&out.stdout));
    assert!(out.stdout.contains("e\\x1b[2J.csv"), "the path shown escaped");
    for code in
        ["Error_Code_E\\x1b[2J", "Error_Code_W\\x0a::warning::x", "Error_Code_R\\u{202e}evil"]
    {
        assert!(out.stdout.contains(code), "{code} in {}", out.stdout);
    }
    assert!(out.stdout.contains("canary 2.0\\x1b]8;;http://x\\x07"), "{}", out.stdout);
    // Unnamed, the builds are refused, both shown escaped.
    let out = run.clone_with(&ANALYZE).args(&["--no-heatmap"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_inert("refusal", &out.stderr);
    assert!(
        out.stderr.contains("\"1.0\" and \"2.0\\x1b]8;;http://x\\x07\" are not both versions"),
        "{}",
        out.stderr
    );
}

#[test]
fn github_annotations_cannot_be_ended_or_started_by_a_label() {
    let run = Errwatch::new(&ANALYZE).file("e\u{1b}[2J.csv", hostile_stream());
    let out =
        run.clone_with(&ANALYZE).args(&NAMED).args(&["--no-heatmap", "--format", "github"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    for line in out.stdout.lines() {
        assert!(
            line.starts_with("::error title=")
                || line.starts_with("::warning title=errwatch%3A ")
                || line.starts_with("errwatch: "),
            "every line is ours: {line:?}"
        );
    }
    assert!(out.stdout.contains("W%0A::warning::x"), "{}", out.stdout);
    assert!(out.stdout.contains("title=errwatch%3A Error_Code_W%0A%3A%3Awarning%3A%3Ax"));
}

#[test]
fn junit_and_svg_stay_well_formed_and_json_keeps_the_exact_labels() {
    let run = Errwatch::new(&ANALYZE).file("e\u{1b}[2J.csv", hostile_stream());
    let out =
        run.clone_with(&ANALYZE).args(&NAMED).args(&["--no-heatmap", "--format", "junit"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = roxmltree::Document::parse(&out.stdout).expect("JUnit is well-formed XML");
    assert!(doc.descendants().filter(|n| n.has_tag_name("failure")).count() >= 6);

    let out = run
        .clone_with(&ANALYZE)
        .args(&NAMED)
        .args(&["--format", "json", "--heatmap", "h.svg"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["input"], "e\u{1b}[2J.csv");
    let codes: Vec<&str> =
        json["alerts"].as_array().unwrap().iter().filter_map(|a| a["code"].as_str()).collect();
    for code in HOSTILE_CODES {
        assert!(codes.contains(&code), "{code:?} exact in {codes:?}");
    }
    let svg = std::fs::read_to_string(run.path("h.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert_inert("svg", &text);
    assert!(text.contains("2.0\\x1b]8;;http://x\\x07 (canary)"), "{text}");

    let out = run
        .clone_with(&ANALYZE)
        .args(&NAMED)
        .args(&["--format", "json", "--heatmap", "h.png"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(std::fs::read(run.path("h.png")).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn messages_quoting_a_path_or_a_label_are_inert() {
    let out = Errwatch::new(&["aggregate", "x\u{1b}]0;t\u{7}.csv"]).run();
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("errwatch: x\\x1b]0;t\\x07.csv: cannot open"), "{}", out.stderr);
    let bad = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:61:00,\"2\u{202e}\n::warning::x\",3\n";
    let out = Errwatch::new(&["aggregate", "e\u{1b}[2J.csv"]).file("e\u{1b}[2J.csv", bad).run();
    assert_eq!(out.code, 2);
    assert_inert("stderr", &out.stderr);
    // The summary line and the repeated-header warning name the paths escaped.
    let twice = format!("{EVENTS}Timestamp,Build_Version,Error_Code\n");
    let out = Errwatch::new(&["aggregate", "e\u{1b}[2J.csv", "-o", "o\u{7}.csv"])
        .file("e\u{1b}[2J.csv", twice)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_inert("stderr", &out.stderr);
    assert!(out.stderr.contains("e\\x1b[2J.csv: skipped 1 repeated header"), "{}", out.stderr);
    assert!(out.stderr.contains("written to o\\x07.csv"), "{}", out.stderr);
    let out = Errwatch::new(&ANALYZE)
        .file("e\u{1b}[2J.csv", hostile_stream())
        .args(&["--baseline", "9.9"])
        .run();
    assert_eq!(out.code, 2);
    assert_inert("stderr", &out.stderr);
    assert!(out.stderr.contains("2.0\\x1b]8;;http://x\\x07"), "{}", out.stderr);
}

#[test]
fn a_200_mb_quoted_field_is_refused_at_the_limit() {
    let run = Errwatch::new(&["aggregate", "huge.csv"]);
    {
        let file = std::fs::File::create(run.path("huge.csv")).unwrap();
        let mut out = std::io::BufWriter::new(file);
        out.write_all(b"Timestamp,Build_Version,Error_Code\n0:00:01,1.0,3\n0:00:02,1.0,\"")
            .unwrap();
        let block = "E\n".repeat(1 << 19);
        for _ in 0..200 {
            out.write_all(block.as_bytes()).unwrap();
        }
        out.write_all(b"\"\n0:00:03,2.0,3\n").unwrap();
    }
    let out = run.run();
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "errwatch: huge.csv:3: Error_Code is longer than 4096 bytes ({:?}... (209715202 bytes))\n",
            "E\n".repeat(30)
        )
    );
    // Skipped, it is counted by its reason and the rows after it keep their line numbers.
    let bad = "Timestamp,Build_Version,Error_Code\n0:00:01,1.0,\"".to_string()
        + &"E\n".repeat(5000)
        + "\"\n0:00:02,1.0,3\n0:00:03,2.0,3\n0:61:00,2.0,3\n";
    let out =
        Errwatch::new(&["analyze", "b.csv", "--skip-invalid", "--format", "json", "--no-heatmap"])
            .file("b.csv", bad.clone())
            .run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["summary"]["skipped"]["invalid"]["field_length"], 1, "{json}");
    assert_eq!(json["rows"], 2, "{json}");
    let out = Errwatch::new(&["analyze", "b.csv", "--max-invalid", "1", "--no-heatmap"])
        .file("b.csv", bad)
        .run();
    assert_eq!(out.code, 2);
    let e = &out.stderr;
    assert!(e.contains("field_length (first: b.csv:2: Error_Code is longer than 4096"), "{e}");
    assert!(e.contains("(first: b.csv:5005: minutes must be below 60"), "{e}");
}

/// Rows of one second for the follow tests: one event per build.
fn rows(seconds: std::ops::Range<u32>) -> String {
    seconds
        .map(|s| {
            format!(
                "{0}:{1:02}:{2:02},1.0,7\n{0}:{1:02}:{2:02},2.0,7\n",
                s / 3600,
                s / 60 % 60,
                s % 60
            )
        })
        .collect()
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Long enough for a follow (polling every 100 ms) to have read what was written.
const SETTLE: Duration = Duration::from_millis(1500);

fn follow(path: &Path) -> Child {
    binary()
        .args(["analyze", "--follow", path.to_str().unwrap(), "--bins", "10", "--no-heatmap"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn interrupt(mut child: Child) -> (Option<i32>, String, String) {
    std::thread::sleep(SETTLE);
    signal(&child, "-INT");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (child.wait().unwrap().code(), stdout, stderr)
}

#[test]
fn follow_reads_on_after_copytruncate_and_counts_every_row() {
    let run = Errwatch::new(&[]);
    let path = run.path("app.csv");
    std::fs::write(&path, format!("Timestamp,Build_Version,Error_Code\n{}", rows(0..1500)))
        .unwrap();
    let child = follow(&path);
    std::thread::sleep(SETTLE);
    std::fs::copy(&path, run.path("app.csv.1")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    std::thread::sleep(SETTLE);
    append(&path, &rows(1500..2500));
    let (code, stdout, stderr) = interrupt(child);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(": 5000 rows, canary 2.0 vs baseline 1.0"), "{stdout}");
    assert!(
        stderr.contains("app.csv: file truncated, reading it again from the start"),
        "{stderr}"
    );
}

#[test]
fn follow_switches_to_the_new_file_after_a_rename_and_counts_every_row() {
    let run = Errwatch::new(&[]);
    let path = run.path("app.csv");
    std::fs::write(&path, format!("Timestamp,Build_Version,Error_Code\n{}", rows(0..1500)))
        .unwrap();
    let child = follow(&path);
    std::thread::sleep(SETTLE);
    append(&path, &rows(1500..1600));
    std::fs::rename(&path, run.path("app.csv.1")).unwrap();
    std::fs::write(&path, format!("Timestamp,Build_Version,Error_Code\n{}", rows(1600..2500)))
        .unwrap();
    std::thread::sleep(SETTLE);
    append(&path, &rows(2500..2600));
    let (code, stdout, stderr) = interrupt(child);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(": 5200 rows, canary 2.0 vs baseline 1.0"), "{stdout}");
    assert!(
        stderr.contains("app.csv: file replaced (rotated), following the new file"),
        "{stderr}"
    );
}

#[test]
fn a_signal_while_the_writer_is_mid_line_ends_the_follow_cleanly() {
    let run = Errwatch::new(&[]);
    let path = run.path("app.csv");
    std::fs::write(&path, format!("Timestamp,Build_Version,Error_Code\n{}", rows(0..500))).unwrap();
    let child = follow(&path);
    std::thread::sleep(SETTLE);
    append(&path, "0:08:20,2.0");
    let (code, stdout, stderr) = interrupt(child);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            ": 1000 rows (an unfinished last line of 11 bytes left unread), canary 2.0 vs baseline 1.0"
        ),
        "{stdout}"
    );
}
