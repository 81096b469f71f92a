//! Units affected: a unit column makes each client count once per code, build and slot.

use std::collections::HashSet;

use proptest::prelude::*;

use crate::util::Errwatch;

/// One row: second, build, unit, code.
type Event = (i64, &'static str, String, u32);

const FLAGS: [&str; 3] = ["--no-heatmap", "--format", "json"];

/// Background traffic: code 7 on both builds every 4 s, each event from a client seen once.
fn background(rows: &mut Vec<Event>) {
    for s in (0..1800).step_by(4) {
        rows.push((s, "1.0", format!("b{s}"), 7));
        rows.push((s + 1, "2.0", format!("c{s}"), 7));
    }
}

fn csv(rows: &[(i64, &str, String, u32)], unit_header: &str) -> String {
    let mut out = format!("Timestamp,Build_Version,Error_Code,{unit_header}\n");
    for (s, build, unit, code) in rows {
        out.push_str(&format!("{s},{build},{code},{unit}\n"));
    }
    out
}

/// One canary client in a crash loop: 200 events of code 7 within seconds 900 to 949.
fn crash_loop() -> Vec<Event> {
    let mut rows = Vec::new();
    background(&mut rows);
    for i in 0..200 {
        rows.push((900 + i / 4, "2.0", "looping".to_string(), 7));
    }
    rows
}

fn json(out: &crate::util::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn one_client_in_a_crash_loop_alerts_only_without_the_unit_column() {
    let input = csv(&crash_loop(), "client_id");
    let off = Errwatch::new(&["analyze", "s.csv", "--unit-column", "none"])
        .args(&FLAGS)
        .file("s.csv", &input)
        .run();
    assert_eq!(off.code, 1, "{off:?}");
    let v = json(&off);
    assert_eq!(v["unit_column"], serde_json::Value::Null);
    assert_eq!(v["alerts"][0]["canary_clients"], serde_json::Value::Null);
    assert!(v["alerts"][0]["canary_count"].as_u64().unwrap() >= 200, "{v}");

    let on = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", &input).run();
    assert_ne!(on.code, 1, "{on:?}");
    assert!(
        on.stderr.contains("errwatch: s.csv: counting affected clients by column client_id"),
        "{on:?}"
    );
    let v = json(&on);
    assert_eq!(v["unit_column"], "client_id");
    assert_eq!(v["alerts"].as_array().unwrap().len(), 0, "{v}");
    // The events stay counted: 450 background events a build, and the loop's 200.
    assert_eq!(v["builds"]["canary"]["events"], 450 + 200);
    assert_eq!(v["builds"]["baseline"]["events"], 450);
}

/// Code 9: every client sends 3 events in one second; background every 10 s on both builds, and
/// from second 1200 to 1499 two new canary clients a second.
fn many_clients() -> (Vec<Event>, Vec<(i64, String)>) {
    let mut rows = Vec::new();
    background(&mut rows);
    let mut canary = Vec::new();
    let mut add = |rows: &mut Vec<_>, s: i64, build: &'static str, unit: String| {
        for _ in 0..3 {
            rows.push((s, build, unit.clone(), 9));
        }
        if build == "2.0" {
            canary.push((s, unit));
        }
    };
    for s in (0..1800).step_by(10) {
        add(&mut rows, s, "1.0", format!("nb{s}"));
        add(&mut rows, s + 2, "2.0", format!("nc{s}"));
    }
    for s in 1200..1500 {
        add(&mut rows, s, "2.0", format!("r{s}a"));
        add(&mut rows, s, "2.0", format!("r{s}b"));
    }
    (rows, canary)
}

#[test]
fn a_regression_of_many_clients_alerts_with_and_without_units_and_counts_its_clients() {
    let (rows, canary) = many_clients();
    let input = csv(&rows, "user_id");
    let off = Errwatch::new(&["analyze", "s.csv", "--unit-column", "none"])
        .args(&FLAGS)
        .file("s.csv", &input)
        .run();
    assert_eq!(off.code, 1, "{off:?}");
    let on = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", &input).run();
    assert_eq!(on.code, 1, "{on:?}");
    let v = json(&on);
    assert_eq!(v["unit_column"], "user_id");
    let alert = &v["alerts"][0];
    assert_eq!(alert["code"], 9, "{v}");
    let (start, stop) = (alert["start_s"].as_i64().unwrap(), alert["stop_s"].as_i64().unwrap());
    // Each client sends once, in one second: its clients over the span are its distinct clients.
    let distinct: HashSet<&String> =
        canary.iter().filter(|(s, _)| (start..=stop).contains(s)).map(|(_, u)| u).collect();
    assert_eq!(alert["canary_clients"].as_u64().unwrap(), distinct.len() as u64, "{alert}");
    assert_eq!(alert["canary_count"].as_u64().unwrap(), 3 * distinct.len() as u64, "{alert}");
    let baseline = alert["baseline_clients"].as_u64().unwrap();
    assert_eq!(alert["baseline_count"].as_u64().unwrap(), 3 * baseline, "{alert}");
}

#[test]
fn a_client_counts_once_per_slot_and_build_in_any_row_order() {
    // Client u: twice in slot 0 and once in slot 1 of the canary, once in the baseline; with
    // --bins 100 it is 2 canary units and 1 baseline unit, whatever the order of the rows.
    let rows = "Timestamp,Build_Version,Error_Code,Count,session\n\
                0:00:10,2.0,7,5,u\n0:00:50,2.0,7,1,u\n0:01:50,2.0,7,1,u\n0:00:20,1.0,7,4,u\n";
    let mut lines: Vec<&str> = rows.lines().collect();
    let header = lines.remove(0);
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]] {
        let shuffled: String = std::iter::once(header)
            .chain(order.iter().map(|&i| lines[i]))
            .collect::<Vec<_>>()
            .join("\n");
        let analyzed = Errwatch::new(&["analyze", "s.csv", "--bins", "100", "--format", "json"])
            .args(&["--no-heatmap", "--exit-zero"])
            .file("s.csv", &shuffled)
            .run();
        assert_eq!(analyzed.code, 0, "{analyzed:?}");
        let v = json(&analyzed);
        assert_eq!(v["unit_column"], "session");
        // Events stay events: 5 + 1 + 1 in the canary, 4 in the baseline.
        assert_eq!(v["builds"]["canary"]["events"], 7);
        assert_eq!(v["builds"]["baseline"]["events"], 4);
        // What detection saw: 2 canary clients-in-a-slot and 1 baseline, so 3 in all and a
        // canary share of 2/3 (the traffic check counts what the tests count).
        let traffic = &v["summary"]["traffic"];
        assert_eq!(traffic["events"], 3, "{v}");
        assert!((traffic["estimated"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12, "{v}");
        assert_eq!(v["summary"]["detectable"][0]["baseline_events"], 1, "{v}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any order of the rows gives the alerts of the rows in time order, client counts included
    /// (here each client's events share one second; README says where in a slot a client counts
    /// when they do not).
    #[test]
    fn shuffled_rows_count_the_same_clients(seed in any::<u64>()) {
        let (mut rows, _) = many_clients();
        let in_order = Errwatch::new(&["analyze", "s.csv"])
            .args(&FLAGS)
            .file("s.csv", csv(&rows, "user_id"))
            .run();
        // A Fisher-Yates shuffle driven by a small linear congruential generator from the seed.
        let mut state = seed | 1;
        for i in (1..rows.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            rows.swap(i, (state >> 33) as usize % (i + 1));
        }
        let shuffled = Errwatch::new(&["analyze", "s.csv"])
            .args(&FLAGS)
            .file("s.csv", csv(&rows, "user_id"))
            .run();
        prop_assert_eq!(in_order.code, 1);
        prop_assert_eq!(shuffled.code, in_order.code);
        let (a, b) = (json(&in_order), json(&shuffled));
        prop_assert!(a["alerts"][0]["canary_clients"].as_u64().unwrap() > 0);
        prop_assert_eq!(&a["alerts"], &b["alerts"]);
        prop_assert_eq!(&a["summary"]["traffic"], &b["summary"]["traffic"]);
    }
}

#[test]
fn unit_columns_are_auto_detected_named_turned_off_and_refused_when_missing() {
    let (rows, _) = many_clients();
    for header in ["CLIENT_ID", "device_id", "installation_id", "Session"] {
        let out = Errwatch::new(&["analyze", "s.csv"])
            .args(&FLAGS)
            .file("s.csv", csv(&rows, header))
            .run();
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(json(&out)["unit_column"], header, "{header}");
    }
    let named = Errwatch::new(&["analyze", "s.csv", "--unit-column", "who"])
        .args(&FLAGS)
        .file("s.csv", csv(&rows, "who"))
        .run();
    assert_eq!(json(&named)["unit_column"], "who");
    let env = Errwatch::new(&["analyze", "s.csv"])
        .args(&FLAGS)
        .env("ERRWATCH_UNIT_COLUMN", "who")
        .file("s.csv", csv(&rows, "who"))
        .run();
    assert_eq!(json(&env)["unit_column"], "who");
    let unnamed =
        Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", csv(&rows, "who")).run();
    assert_eq!(json(&unnamed)["unit_column"], serde_json::Value::Null);
    let missing = Errwatch::new(&["analyze", "s.csv", "--unit-column", "account"])
        .args(&FLAGS)
        .file("s.csv", csv(&rows, "who"))
        .run();
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(
        missing.stderr.contains("s.csv:1: missing required column account (columns found: "),
        "{missing:?}"
    );
    let empty = Errwatch::new(&["analyze", "s.csv"])
        .args(&FLAGS)
        .file("s.csv", "Timestamp,Build_Version,Error_Code,user\n0:00:01,1.0,7,\n")
        .run();
    assert_eq!(empty.code, 2, "{empty:?}");
    assert!(empty.stderr.contains("s.csv:2: empty user"), "{empty:?}");
}

#[test]
fn a_unit_column_is_found_however_its_header_spells_it() {
    for header in ["ClientId", "client-id", "Client ID", "DEVICE_ID", "uid", "Install_Id"] {
        let input = csv(&crash_loop(), header);
        let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", &input).run();
        let v = json(&out);
        assert_eq!(v["unit_column"], header, "{out:?}");
        assert_eq!(v["alerts"].as_array().unwrap().len(), 0, "{header}: {v}");
    }
    // The earliest candidate wins wherever it stands in the header.
    let both = "Timestamp,session,Build_Version,Error_Code,User_Id\n0:00:01,s1,1.0,7,u1\n\
                0:00:02,s2,2.0,7,u2\n";
    let out = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", both).run();
    assert_eq!(json(&out)["unit_column"], "User_Id", "{out:?}");
    // A column another field reads is never the unit.
    let code_is_user = "Timestamp,Build_Version,user\n0:00:01,1.0,7\n0:00:02,2.0,7\n";
    let out = Errwatch::new(&["analyze", "s.csv", "--code-column", "user"])
        .args(&FLAGS)
        .file("s.csv", code_is_user)
        .run();
    assert_eq!(json(&out)["unit_column"], serde_json::Value::Null, "{out:?}");
    // In JSON lines a nested key path is a name too.
    let mut lines = String::new();
    for (s, build, unit, code) in crash_loop() {
        lines.push_str(&format!(
            "{{\"Timestamp\":{s},\"Build_Version\":\"{build}\",\"Error_Code\":{code},\"client\":{{\"id\":\"{unit}\"}}}}\n"
        ));
    }
    let out = Errwatch::new(&["analyze", "s.jsonl"]).args(&FLAGS).file("s.jsonl", &lines).run();
    let v = json(&out);
    assert_eq!(v["unit_column"], "client.id", "{out:?}");
    assert_eq!(v["alerts"].as_array().unwrap().len(), 0, "{v}");
}

#[test]
fn json_lines_and_live_runs_count_units_as_a_batch_csv_run_does() {
    let (rows, _) = many_clients();
    let mut sorted = rows.clone();
    sorted.sort_by_key(|r| r.0);
    let csv_input = csv(&sorted, "user_id");
    let mut jsonl = String::new();
    for (s, build, unit, code) in &sorted {
        jsonl.push_str(&format!(
            "{{\"Timestamp\":{s},\"Build_Version\":\"{build}\",\"Error_Code\":{code},\"user_id\":\"{unit}\"}}\n"
        ));
    }
    let alerts = |v: &serde_json::Value| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["code"].clone(), a["canary_clients"].clone(), a["canary_count"].clone()))
            .collect::<Vec<_>>()
    };
    let batch = Errwatch::new(&["analyze", "s.csv"]).args(&FLAGS).file("s.csv", &csv_input).run();
    let lines = Errwatch::new(&["analyze", "s.jsonl"]).args(&FLAGS).file("s.jsonl", &jsonl).run();
    let live = Errwatch::new(&["analyze", "-", "--follow"]).args(&FLAGS).stdin(csv_input).run();
    let batch = json(&batch);
    assert!(!alerts(&batch).is_empty());
    assert_eq!(alerts(&json(&lines)), alerts(&batch));
    assert_eq!(json(&lines)["unit_column"], "user_id");
    let live = json(&live);
    assert_eq!(alerts(&live), alerts(&batch));
}

#[test]
fn with_slots_of_a_minute_a_clump_of_clients_is_never_weighed_as_one_clients_burst() {
    // Bursts over up to five minutes, each from one of 20,000 clients, and the busiest code of
    // seed 1003 (-17) doubled in the canary from 0:10:00. Counting clients once per slot of
    // 100 s, no clump can be one client's burst, so the stream is calm from its start and the
    // regression's first minute counts in full: the sequential rule alarms at 0:11:37. With
    // slots of 30 s a client in a crash loop can still be a clump, the guards stay until the
    // stream is known calm, and the alarm waits for evidence beyond the regression's densest
    // minute: 0:12:23 (where 100 s slots also alarmed before they made a stream calm, 0:12:24).
    let stream = Errwatch::new(&[
        "generate",
        "--seed",
        "1003",
        "--bursts",
        "0.2:16:300",
        "--clients",
        "20000",
        "--inject=-17:600-1500:x2",
    ])
    .run();
    assert_eq!(stream.code, 0, "{stream:?}");
    let detected = |bins: &str| {
        let out = Errwatch::new(&["analyze", "s.csv", "--rule", "sequential", "--bins", bins])
            .args(&FLAGS)
            .file("s.csv", &stream.stdout)
            .run();
        let v = json(&out);
        assert_eq!(v["unit_column"], "client_id");
        let alerts = v["alerts"].as_array().unwrap();
        assert_eq!((alerts.len(), &alerts[0]["code"]), (1, &serde_json::json!(-17)), "{v}");
        alerts[0]["detected_at_s"].as_i64().unwrap()
    };
    assert_eq!(detected("100"), 697);
    assert_eq!(detected("30"), 743);
}

/// An hour in which code 2 comes from a new client of each build every 400 s and code 1 (the
/// background) from a new client of each build every 2 s; on top, the canary sends code 2 every
/// 20 s, from one broken install (`many` false) or each time from a new client (`many` true).
fn lasting_error(many: bool) -> String {
    let mut rows: Vec<Event> = Vec::new();
    for s in (0..3600).step_by(2) {
        rows.push((s, "1.0", format!("b{s}"), 1));
        rows.push((s + 1, "2.0", format!("c{s}"), 1));
    }
    for s in (0..3600).step_by(400) {
        rows.push((s + 7, "1.0", format!("b2-{s}"), 2));
        rows.push((s + 207, "2.0", format!("c2-{s}"), 2));
    }
    for s in (0..3600).step_by(20) {
        let client = if many { format!("new-{s}") } else { "broken".to_string() };
        rows.push((s, "2.0", client, 2));
    }
    rows.sort_by_key(|r| r.0);
    csv(&rows, "client_id")
}

#[test]
fn one_clients_lasting_error_is_recounted_away_and_many_clients_errors_are_not() {
    // Counted once per 100 s slot, the broken install is 36 counts of code 2 on the canary
    // against 9 on the baseline over the hour, and the sequential rule, which gathers evidence
    // over the hour, alarms on it; recounted over the alarm's run, each client once, it is one
    // canary client more than the baseline's few, no evidence, and the alarm does not stand (nor
    // any later one). The same hour with the canary's events from 180 new clients alerts under
    // both rules, and no alarm is dismissed. A slot as long as the longest window (1000 s) also
    // keeps the broken install from alerting. Live runs recount as batch runs do.
    let run = |input: &str, rule: &str, extra: &[&str]| {
        let out = Errwatch::new(&["analyze", "s.csv", "--rule", rule])
            .args(&FLAGS)
            .args(extra)
            .file("s.csv", input)
            .run();
        let v = json(&out);
        assert_eq!(v["unit_column"], "client_id", "{v}");
        let live = Errwatch::new(&["analyze", "-", "--follow", "--rule", rule])
            .args(&FLAGS)
            .args(extra)
            .stdin(input.to_string())
            .run();
        let live = json(&live);
        assert_eq!(live["alerts"], v["alerts"], "live and batch: {rule} {extra:?}");
        let dismissed = &v["summary"]["alarms_dismissed_by_clients"];
        assert_eq!(&live["summary"]["alarms_dismissed_by_clients"], dismissed);
        let codes: Vec<_> =
            v["alerts"].as_array().unwrap().iter().map(|a| a["code"].clone()).collect();
        (codes, dismissed.as_u64().expect("a count with a unit column"))
    };
    let (broken, many) = (lasting_error(false), lasting_error(true));
    let (codes, dismissed) = run(&broken, "sequential", &[]);
    assert_eq!(codes, Vec::<serde_json::Value>::new());
    assert!(dismissed >= 1, "the sequential alarm on code 2 was raised and recounted away");
    assert_eq!(run(&broken, "rolling", &[]).0, Vec::<serde_json::Value>::new());
    assert_eq!(run(&broken, "sequential", &["--unit-slot", "1000"]), (vec![], 0));
    for rule in ["sequential", "rolling"] {
        assert_eq!(run(&many, rule, &[]), (vec![serde_json::json!(2)], 0), "{rule}");
    }
    // The seed's rule has no test to recount.
    let mean_diff = Errwatch::new(&["analyze", "s.csv", "--rule", "mean-diff"])
        .args(&FLAGS)
        .file("s.csv", &broken)
        .run();
    assert!(json(&mean_diff)["summary"]["alarms_dismissed_by_clients"].is_null());
    let input = broken;
    let refused = Errwatch::new(&["analyze", "s.csv", "--unit-slot", "0"])
        .args(&FLAGS)
        .file("s.csv", &input)
        .run();
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--unit-slot must be at least 1 second"), "{refused:?}");
}
