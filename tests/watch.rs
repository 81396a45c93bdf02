//! `watch` tells, while reading, the events `analyze` reports for the same
//! captures: one for one (issue 11 item 3), the merge before the end of
//! the input when the capture goes on after it; an event a later look
//! revises gets a `REVISED` line, so what a reader ends with is what
//! `analyze` reports, with the same root cause (issue 26 item 1).

mod common;

use common::{file_inputs, plan_inputs, samples_dir, samples_with_captures};
use meetgraph::analysis::alerts::{Alert, AlertKind, RevisionKind, alerts};
use std::collections::BTreeMap;

/// What the comparison reads of an event: kind, time, severity, nodes,
/// addresses, and a merge's sentence (sides and root cause).
type Facts = (String, i64, String, Vec<String>, Vec<String>, String);

fn facts(x: &Alert) -> Facts {
    (
        x.kind.to_string(),
        x.ts_us,
        x.severity.to_string(),
        x.nodes.iter().map(|n| n.as_str().into_owned()).collect(),
        x.addresses.clone(),
        if x.kind == AlertKind::Merge { x.summary.clone() } else { String::new() },
    )
}

/// The events as told, revisions applied: what a reader of `watch` ends
/// with.
fn settle(told: &[Alert]) -> Vec<Facts> {
    let mut by_id: BTreeMap<(String, String, String, i64), Vec<Alert>> = BTreeMap::new();
    for x in told {
        let v = by_id.entry(x.identity()).or_default();
        match &x.revised {
            None => v.push(x.clone()),
            Some(r) => {
                let i = v
                    .iter()
                    .position(|t| t.ts_us == r.was_ts_us && t.kind == r.was_kind && t.summary == r.was_summary)
                    .unwrap_or_else(|| panic!("a revision of an event never told: {x:?}"));
                if r.what == RevisionKind::Withdrawn {
                    v.remove(i);
                } else {
                    v[i] = Alert { revised: None, ..x.clone() };
                }
            }
        }
    }
    let mut out: Vec<Facts> = by_id.values().flatten().map(facts).collect();
    out.sort();
    out
}

#[test]
fn watch_tells_what_analyze_reports_files_in_any_order() {
    let mut revisions = 0;
    for (name, files) in samples_with_captures() {
        let mut orders = vec![files.clone()];
        if files.len() > 1 {
            orders.push(files.iter().rev().cloned().collect());
        }
        for order in orders {
            let (mut a, cfg) = plan_inputs(&order);
            let analysis = meetgraph::run::analyze(&mut a, cfg);
            let mut want: Vec<Facts> = alerts(&analysis).iter().map(facts).collect();
            want.sort();
            let (mut w, cfg) = plan_inputs(&order);
            let mut told: Vec<Alert> = Vec::new();
            let mut looks = 0;
            // The CLI's default interval.
            let last = meetgraph::run::watch(&mut w, cfg, 250_000, |new, _| {
                looks += 1;
                told.extend(new.iter().cloned());
            });
            let names: Vec<String> = order.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
            let what = format!("{name} ({})", names.join(" "));
            assert_eq!(last.merges.len(), analysis.merges.len(), "{what}");
            let got = settle(&told);
            let extra: Vec<_> = got.iter().filter(|k| !want.contains(k)).collect();
            let missing: Vec<_> = want.iter().filter(|k| !got.contains(k)).collect();
            assert!(
                extra.is_empty() && missing.is_empty(),
                "{what}: told but not reported {extra:#?}; never told {missing:#?}"
            );
            assert_eq!(got.len(), want.len(), "{what}");
            revisions += told.iter().filter(|x| x.revised.is_some()).count();
            // The merge's root cause as told first is the final one.
            for m in told.iter().filter(|x| x.kind == AlertKind::Merge && x.revised.is_none()) {
                let fin = alerts(&analysis).into_iter().find(|x| x.kind == AlertKind::Merge && x.ts_us == m.ts_us);
                let fin = fin.unwrap_or_else(|| panic!("{what}: merge told, not reported"));
                assert_eq!(m.summary, fin.summary, "{what}: the merge told live has another root cause");
            }
            // A merge is told by a look made while the input still went on.
            if let Some(m) = analysis.merges.first() {
                let end = analysis.captures.iter().filter_map(|c| c.last_ts_us).max().unwrap();
                if end - m.ts_us > 5_000_000 {
                    assert!(looks > 1, "{what}: one look only");
                }
            }
        }
    }
    // Revisions are the exception (printed, so a reader sees them).
    eprintln!("{revisions} revision(s) over all samples");
}

/// The seed incident: `watch` on the three captures, in every order the
/// files can be given, tells the bridge-address collision (not a reuse:
/// node c never died) as the merge's root cause, as `analyze` does.
#[test]
fn the_seed_incident_is_told_with_the_root_cause_analyze_gives() {
    let dir = samples_dir().join("redis-3.0.7-docker-bridge");
    let f = |n: &str| dir.join(n).to_string_lossy().into_owned();
    for order in [["dc", "h1", "h2"], ["h1", "h2", "dc"], ["h2", "dc", "h1"]] {
        let mut args = vec!["watch".to_string()];
        for o in order {
            args.push("-r".into());
            args.push(f(&format!("{o}.pcap.gz")));
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(&args).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let merge = text.lines().find(|l| l.contains("INCIDENT  merge")).expect("a merge");
        assert!(merge.contains("the address means different nodes on different hosts"), "{order:?}: {merge}");
        assert!(!text.contains("address_reuse"), "{order:?}: {text}");
    }
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
