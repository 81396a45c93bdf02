//! `watch` tells, while reading, the events `analyze` reports for the same
//! captures: one for one (issue 11 item 3), the merge before the end of
//! the input when the capture goes on after it.

mod common;

use common::{file_inputs, sample_capture_sets, samples_dir};
use meetgraph::analysis::alerts::{AlertKind, alerts};

#[test]
fn watch_tells_what_analyze_reports_one_for_one() {
    // Every sample whose bus decodes (tests/coverage.rs: the encrypted ones).
    let sets = sample_capture_sets();
    let mut checked = 0;
    for (dir, files) in &sets {
        checked += 1;
        let (mut a, cfg) = file_inputs(files);
        let analysis = meetgraph::run::analyze(&mut a, cfg);
        let want: Vec<String> =
            alerts(&analysis).iter().map(|x| format!("{} {} {}", x.ts_us, x.kind, x.summary)).collect();
        let (mut w, cfg) = file_inputs(files);
        let mut told: Vec<(AlertKind, String, i64)> = Vec::new();
        // Calls of `on_new` (every look, then the end) and the call that
        // told the merge.
        let (mut calls, mut merge_told_at) = (0, None);
        let last = meetgraph::run::watch(&mut w, cfg, 1_000_000, |new, _| {
            calls += 1;
            if merge_told_at.is_none() && new.iter().any(|x| x.kind == AlertKind::Merge) {
                merge_told_at = Some(calls);
            }
            told.extend(new.iter().map(|x| x.key()));
        });
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(last.merges.len(), analysis.merges.len(), "{name}");
        // What was told is what analyze reports, one for one.
        let mut told_sorted = told.clone();
        told_sorted.sort();
        let mut want_keys: Vec<(AlertKind, String, i64)> = alerts(&analysis).iter().map(|x| x.key()).collect();
        want_keys.sort();
        let extra: Vec<_> = told_sorted.iter().filter(|k| !want_keys.contains(k)).collect();
        let missing: Vec<_> = want_keys.iter().filter(|k| !told_sorted.contains(k)).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{name}: told but not reported {extra:#?}; never told {missing:#?}"
        );
        assert_eq!(told.len(), want.len(), "{name}");
        // A merge is told by a look made while the input still went on.
        if let Some(m) = analysis.merges.first() {
            let end = analysis.captures.iter().filter_map(|c| c.last_ts_us).max().unwrap();
            if end - m.ts_us > 5_000_000 {
                assert!(merge_told_at.is_some_and(|c| c < calls), "{name}: the merge told only at the end");
            }
        }
    }
    assert_eq!(checked, sets.len());
}

#[test]
fn watch_replays_files_as_json_events() {
    let dir = samples_dir().join("redis-7.0-loopback-merge");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(&dir)
        .args(["watch", "-r", "lo.pcap.gz", "--json-events", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let merge = lines.iter().find(|v| v["kind"] == "merge").expect("a merge event");
    assert_eq!(merge["severity"], "incident");
    assert_eq!(merge["sides"].as_array().unwrap().len(), 2);
    assert!(!merge["chain"].as_array().unwrap().is_empty());
    assert!(merge["evidence"][0]["frame"].as_u64().unwrap() > 0);
    let ts: Vec<i64> = lines.iter().map(|v| v["ts_us"].as_i64().unwrap()).collect();
    assert!(lines.iter().all(|v| v["summary"].is_string() && v["nodes"].is_array()));
    assert!(ts.len() > 5);
    // Lines for people: no colour when not on a terminal.
    let human = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(&dir)
        .args(["watch", "lo.pcap.gz"])
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.lines().any(|l| l.contains("INCIDENT  merge")), "{text}");
    assert!(!text.contains('\x1b'));
}

#[test]
fn metrics_exposition_counts_what_was_seen() {
    let files = vec![samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz")];
    let (mut i, cfg) = file_inputs(&files);
    let a = meetgraph::run::analyze(&mut i, cfg);
    let mut by_kind = std::collections::BTreeMap::new();
    for x in alerts(&a) {
        *by_kind.entry(x.kind).or_insert(0u64) += 1;
    }
    let text = meetgraph::output::metrics::exposition(&a, &by_kind, Some(0));
    assert!(text.contains("meetgraph_libpcap_drops 0\n"), "{text}");
    assert!(text.contains("meetgraph_merges 1\n"), "{text}");
    assert!(text.contains("meetgraph_nodes 6\n"), "{text}");
    assert!(text.contains("meetgraph_cluster_nodes{cluster=\"A\"} 3\n"), "{text}");
    assert!(text.contains("meetgraph_events_total{kind=\"merge\"} 1\n"), "{text}");
    // Every sample line is NAME{labels} VALUE or NAME VALUE.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = l.rsplit_once(' ').unwrap();
        assert!(name.starts_with("meetgraph_") && value.parse::<u64>().is_ok(), "{l}");
    }
}

#[cfg(feature = "live")]
#[test]
fn watch_serves_metrics_while_capturing() {
    use std::io::{Read, Write};
    let port = 19475 + (std::process::id() % 500) as u16;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .args(["watch", "-i", "lo", "-f", "tcp port 1", "--duration", "3", "--metrics", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let got = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut s = String::new();
        c.read_to_string(&mut s)?;
        Ok(s)
    });
    let _ = child.wait();
    let got = got.unwrap();
    assert!(got.starts_with("HTTP/1.1 200 OK") && got.contains("text/plain; version=0.0.4"), "{got}");
}
