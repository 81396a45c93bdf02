//! The analysis's bounds (`--max-events`, `--max-nodes`) on real
//! captures: each event list keeps its first and latest entries and counts
//! the rest with their span; node ids past the bound are ignored and
//! counted; the report and the JSON say what was dropped; the merge is
//! still told.

mod common;

use common::samples_dir;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

fn analyze(args: &[&str]) -> (Value, String) {
    let cap = samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz");
    let json = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .args(["analyze", "--json", "-"])
        .args(args)
        .arg(&cap)
        .output()
        .unwrap();
    let text = Command::new(env!("CARGO_BIN_EXE_meetgraph")).arg("analyze").args(args).arg(&cap).output().unwrap();
    // Reaching a bound is reported, not a failure: both runs exit 0.
    for (what, o) in [("--json -", &json), ("report", &text)] {
        assert_eq!(o.status.code(), Some(0), "{what} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    (serde_json::from_slice(&json.stdout).unwrap(), String::from_utf8_lossy(&text.stdout).into_owned())
}

fn by_kind(v: &Value) -> BTreeMap<String, Vec<i64>> {
    let mut m: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for f in v["findings"].as_array().unwrap() {
        m.entry(f["kind"].as_str().unwrap().to_string()).or_default().push(f["ts_us"].as_i64().unwrap());
    }
    m
}

#[test]
fn event_lists_keep_their_first_and_latest_entries_and_count_the_rest() {
    let (all, _) = analyze(&[]);
    assert!(all.get("retention").is_none(), "nothing dropped, nothing said");
    let (kept, report) = analyze(&["--max-events", "2"]);
    let (full, cut) = (by_kind(&all), by_kind(&kept));
    let mut dropped_somewhere = false;
    for (kind, ts) in &full {
        let k = &cut[kind];
        if ts.len() <= 2 {
            assert_eq!(k, ts, "{kind}: under the bound, all kept");
            assert!(kept["retention"]["findings"].get(kind).is_none());
            continue;
        }
        dropped_somewhere = true;
        assert_eq!(k, &vec![ts[0], ts[ts.len() - 1]], "{kind}: the first and the latest");
        let d = &kept["retention"]["findings"][kind];
        assert_eq!(d["count"].as_u64(), Some(ts.len() as u64 - 2), "{kind}");
        assert_eq!(d["first_ts_us"].as_i64(), Some(ts[1]), "{kind}");
        assert_eq!(d["last_ts_us"].as_i64(), Some(ts[ts.len() - 2]), "{kind}");
        assert!(report.contains(&format!("{kind} findings: {} between", ts.len() - 2)), "{report}");
    }
    assert!(dropped_somewhere, "the sample no longer reaches the bound: pick a smaller one");
    for list in ["role_changes", "slot_moves"] {
        let (a, b) = (all["damage"][list].as_array().unwrap(), kept["damage"][list].as_array().unwrap());
        assert!(b.len() <= 2 && b.len() < a.len(), "{list}: {} of {}", b.len(), a.len());
        assert!(b.iter().all(|x| a.contains(x)), "{list}: kept entries are real ones");
        assert!(kept["retention"][list]["count"].as_u64().unwrap() >= (a.len() - b.len()) as u64);
    }
    // What the incident is about is not an event list: still told whole.
    for key in ["merges", "joins", "introductions", "nodes", "clusters"] {
        assert_eq!(kept[key], all[key], "{key}");
    }
    let story = |v: &Value| v["story"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    let (s_all, s_kept): (Vec<String>, Vec<String>) = (story(&all), story(&kept));
    assert_eq!(s_all[..3], s_kept[..3]);
    let damage = s_kept.iter().find(|l| l.starts_with("Damage:")).unwrap();
    assert!(damage.contains("At least:") && damage.contains("were not kept"), "{damage}");
    assert!(report.contains("== Bounds reached"), "{report}");
}

#[test]
fn node_ids_past_the_bound_are_ignored_and_counted() {
    let (all, _) = analyze(&[]);
    assert_eq!(all["nodes"].as_array().unwrap().len(), 6);
    let (few, report) = analyze(&["--max-nodes", "3"]);
    let nodes = few["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty() && nodes.len() <= 3, "{}", nodes.len());
    let r = &few["retention"];
    assert!(r["messages_ignored"].as_u64().unwrap() > 0, "{r}");
    assert!(r["node_mentions_ignored"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["max_nodes"].as_u64(), Some(3));
    let tracked: Vec<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    for i in few["introductions"].as_array().unwrap() {
        for who in ["learner", "node"] {
            assert!(tracked.contains(&i[who].as_str().unwrap()), "{i}");
        }
    }
    assert!(report.contains("node ids past the first 3 tracked"), "{report}");
}
