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
/// addresses, and the sentence of a merge (sides and root cause) or of an
/// address's finding (rejected or adopted).
type Facts = (String, Option<i64>, String, Vec<String>, Vec<String>, String);

fn facts(x: &Alert) -> Facts {
    (
        x.kind.to_string(),
        x.ts_us,
        x.severity.to_string(),
        x.nodes.iter().map(|n| n.as_str().into_owned()).collect(),
        x.addresses.clone(),
        if x.kind.judged_in_summary() { x.summary.clone() } else { String::new() },
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
                if matches!(r.what, RevisionKind::Withdrawn | RevisionKind::Cleared) {
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
    let ts: Vec<i64> = lines.iter().filter_map(|v| v["ts_us"].as_i64()).collect();
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

/// `watch --json-events -` on `files` (run in `dir`): its events.
fn json_events(dir: &std::path::Path, files: &[&str]) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(dir)
        .args(["watch", "-r"])
        .args(files)
        .args(["--json-events", "-"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Hazards are events: the dead node still gossiped is told as a
/// `hazard_never_forgotten` warning with its verdict, and cleared once
/// the survivors ran CLUSTER FORGET (lab: `ADVICE=1`), dated after the
/// FORGET; in text, a `REVISED … cleared:` line.
#[test]
fn watch_tells_hazards_and_clears_them_when_they_end() {
    let dir = samples_dir().join("redis-4.0.14-address-reuse-forgotten");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    let dead = truth["reuse"]["dead"].as_str().unwrap();
    let forget_us = truth["advice"]["t_ms"].as_i64().unwrap() * 1000;
    let lines = json_events(&dir, &["br0.pcap.gz"]);
    let about: Vec<&serde_json::Value> =
        lines.iter().filter(|v| v["kind"] == "hazard_never_forgotten" && v["nodes"][0] == dead).collect();
    assert_eq!(about.len(), 2, "told, then cleared: {about:#?}");
    assert!(about[0]["revised"].is_null() && about[0]["severity"] == "warning", "{:#}", about[0]);
    assert_eq!(about[0]["verdict"], "only_confuse");
    assert!(about[0]["ts_us"].as_i64().unwrap() < forget_us);
    assert_eq!(about[1]["revised"]["what"], "cleared", "{:#}", about[1]);
    assert!(about[1]["ts_us"].as_i64().unwrap() > forget_us, "{:#}", about[1]);
    // The metrics read the same hazards.
    let files = vec![dir.join("br0.pcap.gz")];
    let (mut i, mut cfg) = file_inputs(&files);
    cfg.until_us = Some(forget_us - 1);
    let a = meetgraph::run::analyze(&mut i, cfg);
    let text = meetgraph::output::metrics::exposition(&a, &BTreeMap::new(), None);
    assert!(text.contains("meetgraph_hazards{kind=\"never_forgotten\",verdict=\"only_confuse\"} 1\n"), "{text}");
    let human = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(&dir)
        .args(["watch", "br0.pcap.gz"])
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.lines().any(|l| l.contains("REVISED   hazard_never_forgotten  cleared: ")), "{text}");
}

/// A capture without any bus message: `bus_unreadable` is dated at its
/// first packet (not 1970); with no packet at all, it has no time.
#[test]
fn bus_unreadable_is_dated_at_the_first_packet_or_not_at_all() {
    let dir = std::env::temp_dir().join(format!("mg-nobus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let payload = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut tcp = Vec::new();
    tcp.extend(40000u16.to_be_bytes());
    tcp.extend(80u16.to_be_bytes());
    tcp.extend(1u32.to_be_bytes());
    tcp.extend(0u32.to_be_bytes());
    tcp.extend([0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    tcp.extend(payload);
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
    let mut pkt = vec![0u8; 12];
    pkt.extend([0x08, 0x00]);
    pkt.extend(ip);
    pkt.extend(tcp);
    let mut header = 0xa1b2c3d4u32.to_le_bytes().to_vec();
    header.extend(2u16.to_le_bytes());
    header.extend(4u16.to_le_bytes());
    for w in [0u32, 0, 65535, 1] {
        header.extend(w.to_le_bytes());
    }
    let mut one = header.clone();
    for w in [1_796_425_200u32, 500_000, pkt.len() as u32, pkt.len() as u32] {
        one.extend(w.to_le_bytes());
    }
    one.extend(&pkt);
    std::fs::write(dir.join("web.pcap"), &one).unwrap();
    std::fs::write(dir.join("empty.pcap"), &header).unwrap();
    let ev = json_events(&dir, &["web.pcap"]);
    let b = ev.iter().find(|v| v["kind"] == "bus_unreadable").expect("bus_unreadable");
    assert_eq!(b["ts_us"].as_i64(), Some(1_796_425_200_500_000), "{b:#}");
    let ev = json_events(&dir, &["empty.pcap"]);
    let b = ev.iter().find(|v| v["kind"] == "bus_unreadable").expect("bus_unreadable");
    assert!(b["ts_us"].is_null(), "{b:#}");
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(&dir)
        .args(["watch", "empty.pcap"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("-  warning   bus_unreadable"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
