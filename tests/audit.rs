//! `meetgraph audit` on real captures cut just before their trigger: it
//! names the hazard the incident then used, with the verdict the servers
//! then gave ("can merge" exactly where they merged), and finds nothing on
//! healthy captures (exit 0). Every analyze report ends with "What to do
//! now".

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name)
}

/// The captures of a sample: the per-host ones when there are, else all.
fn captures(dir: &Path) -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".pcap.gz"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    all.sort();
    let hosts: Vec<String> =
        all.iter().filter(|p| p.ends_with("h1.pcap.gz") || p.ends_with("h2.pcap.gz")).cloned().collect();
    if hosts.is_empty() { all } else { hosts }
}

fn truth(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap()
}

/// `audit --json -` up to `until` (µs since the epoch): its exit status
/// and document.
fn audit(dir: &Path, until: Option<i64>) -> (i32, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetgraph"));
    cmd.arg("audit").args(captures(dir)).args(["--json", "-", "--no-progress"]);
    if let Some(u) = until {
        cmd.args(["--until", &u.to_string()]);
    }
    let out = cmd.output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{}: {e}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn hazards_of<'a>(doc: &'a Value, kind: &str) -> Vec<&'a Value> {
    doc["hazards"].as_array().unwrap().iter().filter(|h| h["kind"] == kind).collect()
}

/// The first moment another node answered where a peer expected someone
/// else: the trigger of a bridge-address incident.
fn first_collision_us(dir: &Path) -> i64 {
    let a: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected-analysis.json")).unwrap()).unwrap();
    a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "sender_mismatch" || f["kind"] == "address_collision")
        .filter_map(|f| f["first_ts_us"].as_i64())
        .min()
        .expect("a collision")
}

#[test]
fn before_the_reuse_the_dead_node_still_gossiped_is_named_with_the_servers_verdict() {
    for (name, merged) in [
        ("redis-4.0.14-address-reuse-merge", true),
        ("redis-4.0.14-address-reuse", false),
        ("redis-7.0-address-reuse", false),
        ("redis-7.0-overlay-reuse", false),
    ] {
        let dir = sample(name);
        let t = truth(&dir);
        assert_eq!(t["merged"].as_bool(), Some(merged), "{name}: truth");
        let reused_us = t["reuse"]["reused_ms"].as_i64().unwrap() * 1000;
        let dead = t["reuse"]["dead"].as_str().unwrap();
        let (code, doc) = audit(&dir, Some(reused_us - 1));
        assert_eq!(code, 3, "{name}: hazards exit 3");
        let h = hazards_of(&doc, "never_forgotten");
        let h = h.iter().find(|h| h["nodes"][0] == dead).unwrap_or_else(|| panic!("{name}: {doc:#}"));
        let want = if merged { "can_merge" } else { "only_confuse" };
        assert_eq!(h["verdict"], want, "{name}: {h:#}");
        assert!(h["evidence"].as_array().is_some_and(|e| !e.is_empty()), "{name}: evidence");
        assert!(h["fix"][1].as_str().unwrap().contains(&format!("CLUSTER FORGET {dead}")), "{name}: {h:#}");
        // The part before the trigger holds no merge verdict elsewhere.
        let can: Vec<&Value> =
            doc["hazards"].as_array().unwrap().iter().filter(|h| h["verdict"] == "can_merge").collect();
        assert_eq!(!can.is_empty(), merged, "{name}: can_merge exactly where the servers merged: {doc:#}");
    }
}

/// The survivors ran `CLUSTER FORGET` 6 s before the reuse (lab,
/// `ADVICE=1`; the servers stayed apart): cut before the reuse, the
/// survivors' gossip no longer holds the dead node, so it is no hazard;
/// cut before the FORGET, it still is.
#[test]
fn once_every_survivor_forgot_the_dead_node_it_is_no_hazard() {
    let name = "redis-4.0.14-address-reuse-forgotten";
    let dir = sample(name);
    let t = truth(&dir);
    assert_eq!(t["merged"].as_bool(), Some(false), "{name}: truth");
    let dead = t["reuse"]["dead"].as_str().unwrap();
    let (code, doc) = audit(&dir, Some(t["reuse"]["reused_ms"].as_i64().unwrap() * 1000 - 1));
    assert_eq!(code, 0, "{name}: {doc:#}");
    let notes: Vec<&str> = doc["notes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(notes.iter().any(|n| n.starts_with(&dead[..8]) && n.contains("forgotten")), "{name}: {notes:?}");
    let (code, doc) = audit(&dir, Some(t["advice"]["t_ms"].as_i64().unwrap() * 1000 - 1));
    assert_eq!(code, 3, "{name}: before the FORGET: {doc:#}");
    assert!(hazards_of(&doc, "never_forgotten").iter().any(|h| h["nodes"][0] == dead), "{name}: {doc:#}");
}

#[test]
fn before_the_bridge_collision_the_translated_address_is_named_with_the_servers_verdict() {
    for name in [
        "redis-3.0.7-docker-bridge",
        "redis-4.0.14-docker-bridge",
        "redis-6.2-docker-bridge",
        "redis-7.0-docker-bridge",
        "valkey-9.1-docker-bridge",
    ] {
        let dir = sample(name);
        let t = truth(&dir);
        // The shared captures' truth predates the `merged` field: they merged.
        let merged = t["merged"].as_bool().unwrap_or(true);
        let c = t["nodes"]["c"]["id"].as_str().unwrap();
        let (code, doc) = audit(&dir, Some(first_collision_us(&dir) - 2_000));
        assert_eq!(code, 3, "{name}");
        let hs = hazards_of(&doc, "translated_address");
        let h = hs
            .iter()
            .find(|h| h["nodes"][0] == c && h["addresses"][0].as_str().unwrap().starts_with("172.17.0.55:"))
            .unwrap_or_else(|| panic!("{name}: c's bridge address not named: {doc:#}"));
        let want = if merged { "can_merge" } else { "only_confuse" };
        assert_eq!(h["verdict"], want, "{name}: {h:#}");
        let can = doc["hazards"].as_array().unwrap().iter().any(|h| h["verdict"] == "can_merge");
        assert_eq!(can, merged, "{name}: {doc:#}");
    }
}

#[test]
fn healthy_captures_have_no_hazard() {
    for name in ["redis-7.0-failover", "valkey-9.1-failover", "redis-3.0.7-loopback-failover"] {
        let (code, doc) = audit(&sample(name), None);
        assert_eq!(code, 0, "{name}: {doc:#}");
        assert!(doc["hazards"].as_array().unwrap().is_empty(), "{name}: {doc:#}");
        assert!(!doc["notes"].as_array().unwrap().is_empty(), "{name}: the failed master awaited back is noted");
    }
    // Clusters before the operator's MEET: healthy.
    for name in ["redis-7.0-loopback-merge", "valkey-9.1-loopback-merge", "redis-3.0.7-loopback-merge"] {
        let dir = sample(name);
        let t = truth(&dir);
        let meet = t["meet_ms"].as_i64().or_else(|| {
            t["events"].as_array()?.iter().find(|e| e["what"].as_str().is_some_and(|w| w.contains("operator")))?["t_ms"].as_i64()
        });
        let (code, doc) = audit(&dir, meet.map(|m| m * 1000 - 1));
        assert_eq!(code, 0, "{name}: {doc:#}");
    }
}

/// While a failed master's replica may still take over, the failed
/// master listed by its peers is expected, not a hazard: cut every 250 ms
/// from the operator's kill to the end (what `watch` sees at each look).
#[test]
fn a_clean_failover_is_no_hazard_at_any_moment() {
    for name in ["redis-7.0-failover", "valkey-9.1-failover", "redis-3.0.7-loopback-failover"] {
        let dir = sample(name);
        let t = truth(&dir);
        let events = t["events"].as_array().unwrap();
        let kill =
            events.iter().find(|e| e["what"].as_str().unwrap().contains("kill")).unwrap()["t_ms"].as_i64().unwrap();
        // The failover of these labs ends within 10 s of the kill.
        let end = kill * 1000 + 12_000_000;
        let mut cut = kill * 1000;
        let mut cuts = 0;
        while cut <= end {
            let (code, doc) = audit(&dir, Some(cut));
            assert!(hazards_of(&doc, "never_forgotten").is_empty(), "{name} cut at {cut}: {doc:#}");
            assert_eq!(code, 0, "{name} cut at {cut}: {doc:#}");
            cut += 250_000;
            cuts += 1;
        }
        assert_eq!(cuts, 49, "{name}");
    }
}

#[test]
fn every_report_ends_with_what_to_do_now() {
    for (name, expect) in [
        ("redis-4.0.14-address-reuse-merge", "CLUSTER FORGET"),
        ("redis-3.0.7-docker-bridge", "cluster-announce-ip"),
        ("redis-7.0-failover", "CLUSTER FORGET"),
        ("redis-7.0-loopback-merge", "CLUSTER FORGET"),
    ] {
        let dir = sample(name);
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .arg("analyze")
            .args(captures(&dir))
            .arg("--no-progress")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let tail = text.rsplit("== What to do now").next().unwrap();
        assert!(text.contains("== What to do now"), "{name}");
        assert!(tail.contains(expect), "{name}: {tail}");
    }
    let merged = sample("redis-4.0.14-address-reuse-merge");
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .arg("analyze")
        .args(captures(&merged))
        .args(["--json", "-", "--no-progress"])
        .output()
        .unwrap();
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let undo = a["what_to_do_now"]["cannot_undo"].as_array().unwrap();
    assert!(undo.iter().any(|u| u.as_str().unwrap().contains("not split by forgetting")), "{undo:?}");
    assert!(undo.iter().any(|u| u.as_str().unwrap().contains("0-5460")), "which slots moved: {undo:?}");
}
