//! Tests of errwatch in CI: the github, markdown and junit formats (snapshots of each, on a stream
//! with two alerts, one of them on a code label that needs escaping), the step summary, the
//! environment-variable twins of the flags, colour, completions and the manual page.

use crate::util::{Errwatch, Output};

const BASELINE: &str = "2.4.0";
const CANARY: &str = "2.10.0";

/// A code label with the characters GitHub's workflow commands escape in properties (`:`, `,`,
/// `%`); the comma makes it a quoted CSV field.
const ODD_CODE: &str = "E:50%,x";

/// 20 bins of 10 s, as pre-aggregated counts at each bin's first second. Code 7 jumps from 2 to
/// 20 canary events per bin in bins 10 to 14, code `E:50%,x` from 2 to 16 in bins 3 to 7; code 9
/// stays at 2 and 2.
fn two_regressions() -> String {
    let mut csv = String::from("Timestamp,Build_Version,Error_Code,Count\n");
    for bin in 0..20 {
        let stamp = format!("0:{:02}:{:02}", bin * 10 / 60, bin * 10 % 60);
        let code7 = if (10..15).contains(&bin) { 20 } else { 2 };
        let odd = if (3..8).contains(&bin) { 16 } else { 2 };
        for (code, canary) in [("7", code7), ("\"E:50%,x\"", odd), ("9", 2)] {
            csv.push_str(&format!(
                "{stamp},{BASELINE},{code},2\n{stamp},{CANARY},{code},{canary}\n"
            ));
        }
    }
    csv
}

const FLAGS: [&str; 4] = ["--bins", "10", "--threshold-bins", "3"];

/// `errwatch analyze s.csv` on [`two_regressions`] with the test flags and `extra`.
fn analyze(extra: &[&str]) -> Errwatch {
    Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).args(extra).file("s.csv", two_regressions())
}

fn alerted(out: Output) -> String {
    assert_eq!(out.code, 1, "{out:?}");
    out.stdout
}

#[test]
fn github_annotates_each_alert_with_escaped_commands() {
    let stdout = alerted(analyze(&["--no-heatmap", "--format", "github"]).run());
    insta::assert_snapshot!("github", stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines[0].starts_with("::error title=errwatch%3A Error_Code_E%3A50%25%2Cx increased::"));
    assert!(lines[0].contains("::Error_Code_E:50%25,x increased from "), "{}", lines[0]);
    assert!(lines[1].starts_with("::error title=errwatch%3A Error_Code_7 increased::"));
    // Two of the three codes regressed for most of the run, and they hold most of the events:
    // the traffic check cannot tell that from a larger canary, and says so.
    assert!(lines[2].starts_with("::warning title=errwatch%3A traffic::--traffic 0.5 is outside"));
    assert!(lines[3].ends_with(": 2 alerts, regression"), "{}", lines[3]);
    assert!(
        lines[4].starts_with("errwatch: traffic: canary share of events 0.792"),
        "{}",
        lines[4]
    );
}

#[test]
fn markdown_summarizes_the_run() {
    let out = analyze(&["--heatmap", "h.svg", "--format", "markdown"]).run();
    insta::assert_snapshot!("markdown", alerted(out));
}

#[test]
fn junit_fails_the_codes_that_alerted() {
    let out = analyze(&["--no-heatmap", "--format", "junit"]).run();
    insta::assert_snapshot!("junit", alerted(out));
}

#[test]
fn text_and_json_on_the_same_stream() {
    let out = analyze(&["--no-heatmap"]).run();
    insta::assert_snapshot!("text", alerted(out));
    let out = analyze(&["--no-heatmap", "--format", "json"]).run();
    insta::assert_snapshot!("json", alerted(out));
}

#[test]
fn junit_has_the_elements_and_attributes_its_schema_requires() {
    let xml = alerted(analyze(&["--no-heatmap", "--format", "junit"]).run());
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite_list: Vec<_> = suites.children().filter(|n| n.is_element()).collect();
    assert_eq!(suite_list.len(), 1);
    let suite = suite_list[0];
    assert_eq!(suite.tag_name().name(), "testsuite");
    assert!(suite.attribute("name").is_some_and(|n| n.contains(CANARY)));
    for node in [suites, suite] {
        assert_eq!(node.attribute("tests"), Some("3"), "one case per code compared");
        assert_eq!(node.attribute("failures"), Some("2"));
        assert_eq!(node.attribute("errors"), Some("0"));
    }
    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 3);
    let mut failed = Vec::new();
    for case in &cases {
        let name = case.attribute("name").expect("testcase name");
        assert_eq!(case.attribute("classname"), Some("errwatch"));
        if let Some(failure) = case.children().find(|n| n.has_tag_name("failure")) {
            let message = failure.attribute("message").expect("failure message");
            assert!(message.starts_with(&format!("{name} increased from ")), "{message}");
            assert!(failure.text().is_some_and(|t| t.contains("p-value")));
            failed.push(name);
        }
    }
    assert_eq!(failed, ["Error_Code_7", &format!("Error_Code_{ODD_CODE}")]);
}

#[test]
fn github_appends_the_markdown_summary_to_the_step_summary() {
    let run = analyze(&["--no-heatmap", "--format", "github"])
        .file("summary.md", "## An earlier step\n\nIts summary stays.\n\n");
    let summary = run.path("summary.md");
    let run = run.env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let first = run.run();
    assert_eq!(first.code, 1, "{first:?}");
    assert!(first.stdout.starts_with("::error "), "the annotations still go to stdout");
    let markdown = alerted(analyze(&["--no-heatmap", "--format", "markdown"]).run());
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(written, format!("## An earlier step\n\nIts summary stays.\n\n{markdown}"));
    // A second run (another canary, say) appends again.
    run.run();
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.ends_with(&format!("{markdown}{markdown}")), "{written}");
}

#[test]
fn other_formats_leave_the_step_summary_alone() {
    let run = analyze(&["--no-heatmap", "--format", "markdown"]).file("summary.md", "kept\n");
    let summary = run.path("summary.md");
    let run = run.env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    let out = run.run();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), "kept\n");
}

#[test]
fn an_unwritable_step_summary_fails_the_run_after_the_report() {
    let run = analyze(&["--no-heatmap", "--format", "github"]);
    let dir = run.dir().to_str().unwrap().to_string();
    let out = run.env("GITHUB_STEP_SUMMARY", &dir).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.starts_with("::error "), "{out:?}");
    assert!(out.stderr.contains("GITHUB_STEP_SUMMARY") && out.stderr.contains(&dir), "{out:?}");
}

#[test]
fn exit_codes_gate_every_format() {
    for format in ["text", "json", "github", "markdown", "junit"] {
        let out = analyze(&["--no-heatmap", "--format", format]).run();
        assert_eq!(out.code, 1, "{format}: {out:?}");
        let out = analyze(&["--no-heatmap", "--format", format, "--exit-zero"]).run();
        assert_eq!(out.code, 0, "{format}: {out:?}");
    }
}

/// Every flag of `analyze` and `generate` with its environment-variable twin.
const ANALYZE_TWINS: [(&str, &str); 14] = [
    ("--bins", "ERRWATCH_BINS"),
    ("--threshold", "ERRWATCH_THRESHOLD"),
    ("--threshold-bins", "ERRWATCH_THRESHOLD_BINS"),
    ("--alpha", "ERRWATCH_ALPHA"),
    ("--rule", "ERRWATCH_RULE"),
    ("--baseline", "ERRWATCH_BASELINE"),
    ("--canary", "ERRWATCH_CANARY"),
    ("--traffic", "ERRWATCH_TRAFFIC"),
    ("--format", "ERRWATCH_FORMAT"),
    ("--exit-zero", "ERRWATCH_EXIT_ZERO"),
    ("--color", "ERRWATCH_COLOR"),
    ("--heatmap", "ERRWATCH_HEATMAP"),
    ("--no-heatmap", "ERRWATCH_NO_HEATMAP"),
    ("--palette", "ERRWATCH_PALETTE"),
];

const GENERATE_TWINS: [(&str, &str); 13] = [
    ("--seed", "ERRWATCH_GENERATE_SEED"),
    ("--rows", "ERRWATCH_GENERATE_ROWS"),
    ("--duration", "ERRWATCH_GENERATE_DURATION"),
    ("--builds", "ERRWATCH_GENERATE_BUILDS"),
    ("--codes", "ERRWATCH_GENERATE_CODES"),
    ("--traffic", "ERRWATCH_GENERATE_TRAFFIC"),
    ("--inject", "ERRWATCH_GENERATE_INJECT"),
    ("--new-code", "ERRWATCH_GENERATE_NEW_CODE"),
    ("--improve", "ERRWATCH_GENERATE_IMPROVE"),
    ("--timestamps", "ERRWATCH_GENERATE_TIMESTAMPS"),
    ("--start", "ERRWATCH_GENERATE_START"),
    ("--output", "ERRWATCH_GENERATE_OUTPUT"),
    ("--truth", "ERRWATCH_GENERATE_TRUTH"),
];

/// The help of a subcommand (`--help` or `-h`), cut into one piece per flag: the long flag and
/// the text up to the next flag.
fn help_by_flag(subcommand: &str, help: &str) -> Vec<(String, String)> {
    let out = Errwatch::new(&[subcommand, help]).run();
    assert_eq!(out.code, 0, "{out:?}");
    let mut pieces: Vec<(String, String)> = Vec::new();
    for line in out.stdout.lines() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if (2..=6).contains(&indent) && text.starts_with('-') {
            let flag = text.split_whitespace().find(|w| w.starts_with("--")).unwrap_or_default();
            pieces.push((flag.trim_end_matches(',').to_string(), String::new()));
        }
        if let Some((_, piece)) = pieces.last_mut() {
            piece.push_str(line);
            piece.push('\n');
        }
    }
    pieces
}

#[test]
fn help_lists_the_environment_twin_of_every_flag() {
    for (subcommand, twins) in [("analyze", &ANALYZE_TWINS[..]), ("generate", &GENERATE_TWINS[..])]
    {
        for help in ["--help", "-h"] {
            let pieces = help_by_flag(subcommand, help);
            for (flag, var) in twins {
                let (_, piece) = pieces
                    .iter()
                    .find(|(f, _)| f == flag)
                    .unwrap_or_else(|| panic!("{subcommand} {help}: no {flag}"));
                assert!(piece.contains(&format!("[env: {var}=]")), "{subcommand} {help}: {piece}");
            }
        }
    }
}

#[test]
fn environment_twins_set_the_flags_and_the_command_line_wins() {
    let csv = two_regressions();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut run = Errwatch::new(&["analyze", "s.csv"]).args(args).file("s.csv", &csv);
        for (k, v) in env {
            run = run.env(k, v);
        }
        run.run()
    };
    let env = [
        ("ERRWATCH_BINS", "10"),
        ("ERRWATCH_THRESHOLD_BINS", "3"),
        ("ERRWATCH_FORMAT", "json"),
        ("ERRWATCH_NO_HEATMAP", "true"),
    ];
    let out = run(&env, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["parameters"]["bin_seconds"], 10);
    assert_eq!(v["parameters"]["threshold_bins"], serde_json::json!([3]));
    assert!(v["heatmap"].is_null());
    assert_eq!(v["summary"]["alerts"], 2);

    let text = run(&env, &["--format", "text"]);
    assert!(text.stdout.starts_with("Alert: Mean Threshold Exceeded\n"), "{text:?}");

    for (value, code) in [("true", 0), ("1", 0), ("yes", 0), ("false", 1), ("0", 1), ("off", 1)] {
        let out = run(&[&env[..], &[("ERRWATCH_EXIT_ZERO", value)][..]].concat(), &[]);
        assert_eq!(out.code, code, "ERRWATCH_EXIT_ZERO={value}: {out:?}");
    }
    let out = run(&[&env[..], &[("ERRWATCH_EXIT_ZERO", "maybe")][..]].concat(), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("maybe"), "{out:?}");

    // ERRWATCH_NO_HEATMAP=false does not forbid --heatmap; =true with --heatmap is refused.
    let with_heatmap = ["--heatmap", "h.svg"];
    let out = run(&[&env[..3], &[("ERRWATCH_NO_HEATMAP", "false")][..]].concat(), &with_heatmap);
    assert_eq!(out.code, 1, "{out:?}");
    let out = run(&env, &with_heatmap);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--no-heatmap"), "{out:?}");
}

#[test]
fn generate_reads_its_twins_and_splits_lists_on_commas() {
    let by_flags = Errwatch::new(&[
        "generate",
        "--rows",
        "300",
        "--builds",
        "1.0,2.0",
        "--inject",
        "3:0-600:x4",
        "--inject",
        "5:1200-1800:x4",
    ])
    .run();
    let by_env = Errwatch::new(&["generate"])
        .env("ERRWATCH_GENERATE_ROWS", "300")
        .env("ERRWATCH_GENERATE_BUILDS", "1.0,2.0")
        .env("ERRWATCH_GENERATE_INJECT", "3:0-600:x4,5:1200-1800:x4")
        .run();
    assert_eq!(by_flags.code, 0, "{by_flags:?}");
    assert_eq!(by_env.stdout, by_flags.stdout);
}

const BOLD_RED: &str = "\u{1b}[1m\u{1b}[31m";

#[test]
fn colour_only_on_request_or_a_terminal() {
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut run = analyze(&[&["--no-heatmap"][..], args].concat());
        for (k, v) in env {
            run = run.env(k, v);
        }
        run.run().stdout
    };
    let plain = run(&[], &[]);
    assert!(!plain.contains('\u{1b}'), "a pipe is not a terminal: {plain}");
    let forced = run(&[("CLICOLOR_FORCE", "1")], &[]);
    assert!(forced.starts_with(&format!("{BOLD_RED}Alert: Mean Threshold Exceeded\u{1b}[0m\n")));
    assert_eq!(forced.replace(BOLD_RED, "").replace("\u{1b}[0m", ""), plain);
    assert_eq!(run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]), plain);
    assert_eq!(run(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]), plain);
    assert_eq!(run(&[("NO_COLOR", "1")], &["--color", "always"]), forced);
    assert_eq!(run(&[("ERRWATCH_COLOR", "always")], &[]), forced);
    for format in ["json", "github", "markdown", "junit"] {
        let out = run(&[("CLICOLOR_FORCE", "1")], &["--color", "always", "--format", format]);
        assert!(!out.contains('\u{1b}'), "{format} is never coloured: {out}");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = Errwatch::new(&["completions", shell]).run();
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("analyze") && out.stdout.contains("threshold-bins"), "{shell}");
    }
    let out = Errwatch::new(&["completions", "tcsh"]).run();
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn man_prints_roff_pages() {
    let out = Errwatch::new(&["man"]).run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\n.TH errwatch 1 "), "{}", out.stdout);
    assert!(out.stdout.contains("errwatch\\-analyze(1)"), "{}", out.stdout);
    let out = Errwatch::new(&["man", "analyze"]).run();
    assert!(out.stdout.contains("\n.TH errwatch-analyze 1  \"errwatch "), "{}", out.stdout);
    assert!(out.stdout.contains("\\fBERRWATCH_EXIT_ZERO\\fR environment variable"));
}
