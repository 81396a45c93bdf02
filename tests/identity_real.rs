//! Identity incidents on real captures, checked against what the lab did
//! and what the servers recorded (truth.json, CLUSTER NODES over time):
//! a cloned nodes.conf is one `id_conflict` naming both addresses, dated
//! when the clone started; no other sample has one.

mod common;

use common::samples_dir;
use meetgraph::analysis::{Analysis, AnalysisConfig, FindingKind, NodeId, Severity};
use meetgraph::capture::CaptureFile;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use serde_json::Value;

fn analyze(dir: &str) -> (Analysis, Value) {
    let d = samples_dir().join(dir);
    let truth: Value = serde_json::from_str(&std::fs::read_to_string(d.join("truth.json")).unwrap()).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".pcap.gz"))
        .collect();
    files.sort();
    let mut inputs: Vec<Input> = files
        .iter()
        .enumerate()
        .map(|(i, f)| Input::new(CaptureFile::open(&d.join(f)).unwrap(), Pipeline::new(i, PipelineConfig::default())))
        .collect();
    let cfg = AnalysisConfig { vantages: files.clone(), until_us: None, ..Default::default() };
    (meetgraph::run::analyze(&mut inputs, cfg), truth)
}

#[test]
fn a_cloned_nodes_conf_is_an_id_conflict_on_every_server() {
    for dir in ["redis-7.0-cloned-identity", "valkey-9.1-cloned-identity", "redis-4.0.14-cloned-identity"] {
        let (a, t) = analyze(dir);
        let c = &t["conflict"];
        let id = NodeId::from_str_exact(c["id"].as_str().unwrap()).unwrap();
        let conflicts: Vec<_> = a.findings.iter().filter(|f| f.kind == FindingKind::IdConflict).collect();
        assert_eq!(conflicts.len(), 1, "{dir}: {conflicts:#?}");
        let f = conflicts[0];
        assert_eq!(f.nodes, vec![id], "{dir}");
        let want: Vec<String> = c["addresses"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().into()).collect();
        assert_eq!(f.addresses, want, "{dir}");
        let began = c["began_ms"].as_i64().unwrap() * 1000;
        assert!(
            f.ts_us >= began && f.ts_us - began < 2_000_000,
            "{dir}: dated {} for a clone started at {began}",
            f.ts_us
        );
        assert_eq!(f.severity, Severity::Incident);
        assert!(f.evidence.len() >= 2, "{dir}: {f:?}");
        // The servers' own view flapped between both addresses (what the
        // finding's effects describe).
        let timeline = std::fs::read_to_string(samples_dir().join(dir).join("nodes-timeline-7000.txt")).unwrap();
        let seen: std::collections::BTreeSet<&str> =
            timeline.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split(' ').nth(1)).collect();
        assert!(seen.len() == 2 || f.summary.contains("short-lived"), "{dir}: {seen:?} / {}", f.summary);
        assert!(a.merges.is_empty());
    }
}

#[test]
fn no_other_sample_has_an_id_conflict() {
    for e in std::fs::read_dir(samples_dir()).unwrap().flatten() {
        let dir = e.file_name().to_string_lossy().into_owned();
        if !e.path().is_dir() || dir.contains("cloned-identity") || !e.path().join("truth.json").exists() {
            continue;
        }
        let (a, _) = analyze(&dir);
        assert!(!a.findings.iter().any(|f| f.kind == FindingKind::IdConflict), "{dir}");
    }
}

/// A dead pod's IP given to a node of another cluster: an `address_reuse`
/// naming who died there and who took it, dated when the new node first
/// answered; when the servers merged, the chain starts with the adoption at
/// the reused address and the root cause says so.
#[test]
fn a_dead_nodes_reused_address_is_named_as_such() {
    for dir in [
        "redis-7.0-address-reuse",
        "redis-4.0.14-address-reuse",
        "redis-4.0.14-address-reuse-merge",
        "redis-7.0-overlay-reuse",
    ] {
        let (a, t) = analyze(dir);
        let r = &t["reuse"];
        let id = |k: &str| NodeId::from_str_exact(r[k].as_str().unwrap()).unwrap();
        let (dead, new) = (id("dead"), id("new"));
        let f = a
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::AddressReuse)
            .unwrap_or_else(|| panic!("{dir}: no address_reuse in {:#?}", a.findings));
        assert_eq!(f.nodes, vec![dead, new], "{dir}");
        assert_eq!(f.addresses, vec![r["address"].as_str().unwrap().to_string()], "{dir}");
        let reused = r["reused_ms"].as_i64().unwrap() * 1000;
        assert!(f.ts_us >= reused && f.ts_us - reused < 5_000_000, "{dir}: dated {} vs reuse at {reused}", f.ts_us);
        let fail = a.findings.iter().find(|f| f.kind == FindingKind::NodeFailed && f.nodes[0] == dead).expect("FAIL");
        let seen = r["fail_seen_ms"].as_i64().unwrap() * 1000;
        assert!((fail.ts_us - seen).abs() < 1_000_000, "{dir}: FAIL at {} vs seen by the lab at {seen}", fail.ts_us);
        assert!(f.summary.contains("met into cluster B"), "{dir}: {}", f.summary);
        assert!(!a.findings.iter().any(|f| f.kind == FindingKind::AddressCollision), "{dir}: also a collision");
        // The new node belonged to no cluster before the incident.
        assert!(a.clusters.iter().all(|c| !c.nodes.contains(&new)), "{dir}: {:?}", a.clusters);
        let merged = t["merged"].as_bool().unwrap();
        assert_eq!(!a.merges.is_empty(), merged, "{dir}: the servers merged = {merged}");
        if merged {
            let first = &a.merges[0].chain[0];
            assert_eq!(first.answered_by_other(), Some((new, dead)), "{dir}: {first:?}");
            let root = a.story.merges[0].root_cause.as_deref().unwrap_or_default();
            assert!(root.contains("address reuse"), "{dir}: {root}");
            assert!(f.summary.contains("this is how the clusters merged"), "{dir}");
        } else {
            assert!(f.summary.contains("near miss"), "{dir}: {}", f.summary);
        }
    }
}
