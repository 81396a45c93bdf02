//! Findings checked against what the servers themselves recorded (issue 14
//! item 4), not against meetgraph's earlier output: their message counters
//! (`cluster_stats_messages_*_sent` in `info-*.txt`), their final
//! `CLUSTER NODES` (`nodes-after-*.txt`), and the lab's own topology
//! (`truth.json`). The goldens stay as change detectors.

mod common;

use common::{is_encrypted_sample, samples_dir};
use meetgraph::analysis::{Analysis, FindingKind};
use meetgraph::capture::CaptureFile;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

struct Sample {
    name: String,
    dir: PathBuf,
    truth: Value,
    analysis: Analysis,
}

fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(samples_dir()).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        if !dir.join("truth.json").exists() || is_encrypted_sample(&dir) {
            continue;
        }
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let mut caps: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".pcap.gz"))
            .collect();
        caps.sort();
        let mut inputs: Vec<Input> = caps
            .iter()
            .enumerate()
            .map(|(i, p)| Input::new(CaptureFile::open(p).unwrap(), Pipeline::new(i, PipelineConfig::default())))
            .collect();
        let cfg = meetgraph::analysis::AnalysisConfig {
            vantages: caps.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect(),
            ..Default::default()
        };
        let analysis = meetgraph::run::analyze(&mut inputs, cfg);
        out.push(Sample { name: dir.file_name().unwrap().to_string_lossy().into_owned(), dir, truth, analysis });
    }
    assert!(out.len() >= 25, "{}", out.len());
    out
}

/// Sum over the nodes' `CLUSTER INFO` of one counter.
fn counter(dir: &Path, key: &str) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("info-") {
            for line in std::fs::read_to_string(e.path()).unwrap().lines() {
                if let Some(v) = line.strip_prefix(&format!("{key}:")) {
                    n += v.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    n
}

fn kinds(a: &Analysis, k: FindingKind) -> usize {
    a.findings.iter().filter(|f| f.kind == k).count()
}

/// Samples whose capture holds all the bus traffic the servers' counters
/// count (captures started with the servers; nothing sent outside them).
fn complete(s: &Sample) -> bool {
    s.analysis.coverage.complete && s.analysis.captures.iter().all(|c| c.messages > 0)
}

#[test]
fn update_and_fail_findings_follow_the_servers_counters() {
    let mut checked = 0;
    // Redis 3.0 has no per-type counters.
    for s in samples().iter().filter(|s| complete(s) && counter(&s.dir, "cluster_stats_messages_ping_sent") > 0) {
        checked += 1;
        let updates = counter(&s.dir, "cluster_stats_messages_update_sent");
        let fails = counter(&s.dir, "cluster_stats_messages_fail_sent");
        let u = kinds(&s.analysis, FindingKind::UpdateMessage);
        let f = kinds(&s.analysis, FindingKind::NodeFailed);
        // Every UPDATE a server sent is a finding, and none when none was
        // sent; the same for FAIL.
        assert_eq!(updates > 0, u > 0, "{}: servers sent {updates} UPDATE, meetgraph has {u} findings", s.name);
        assert_eq!(fails > 0, f > 0, "{}: servers sent {fails} FAIL, meetgraph has {f} node_failed", s.name);
    }
    assert!(checked >= 20, "{checked}");
}

/// `CLUSTER NODES` lines of a node's final view: id → (flags, configEpoch).
fn final_view(dir: &Path) -> Vec<BTreeMap<String, (String, u64)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("nodes-after-") {
            let view = std::fs::read_to_string(e.path())
                .unwrap()
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() >= 8).then(|| (f[0].to_string(), (f[2].to_string(), f[6].parse().unwrap_or(0))))
                })
                .collect();
            out.push(view);
        }
    }
    out
}

#[test]
fn epoch_findings_match_the_servers_final_epochs() {
    let mut checked = 0;
    for s in samples() {
        let views = final_view(&s.dir);
        for f in &s.analysis.findings {
            match f.kind {
                // "x configEpoch a → b": every final view that still has x
                // as a master shows at least b (epochs never go down).
                FindingKind::EpochBump => {
                    let to: u64 = f.summary.rsplit("→ ").next().unwrap().trim().parse().unwrap();
                    let id = f.nodes[0].as_str().to_string();
                    for v in &views {
                        if let Some((flags, e)) = v.get(&id)
                            && flags.contains("master")
                        {
                            assert!(*e >= to, "{}: {} ended at configEpoch {e} < {to}", s.name, &id[..8]);
                            checked += 1;
                        }
                    }
                }
                // Two masters with one configEpoch: the servers resolve it,
                // so at the end no two masters of one view share an epoch.
                FindingKind::EpochCollision => {
                    for v in &views {
                        let masters: Vec<u64> = v
                            .values()
                            .filter(|(fl, _)| fl.contains("master") && !fl.contains("fail") && !fl.contains("noaddr"))
                            .map(|(_, e)| *e)
                            .collect();
                        let distinct: BTreeSet<u64> = masters.iter().copied().collect();
                        if masters.len() > 1 {
                            assert_eq!(distinct.len(), masters.len(), "{}: final epochs {masters:?}", s.name);
                            checked += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(checked > 20, "{checked}");
}

#[test]
fn nat_rewrites_name_an_address_of_the_lab_topology() {
    let mut checked = 0;
    for s in samples() {
        // The hosts' own addresses, and the docker0 gateway every
        // docker-bridge host has (tests/lab/docker_bridge.sh: 172.17.0.1/16).
        let mut host_side: BTreeSet<String> = s.truth["hosts"]
            .as_object()
            .map(|h| h.values().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        if s.name.contains("docker-bridge") {
            host_side.insert("172.17.0.1".into());
        }
        for f in s.analysis.findings.iter().filter(|f| f.kind == FindingKind::NatRewrite) {
            let src = &f.addresses[0];
            assert!(
                host_side.contains(src),
                "{}: {} rewritten to {src}, not a host-side address {host_side:?}",
                s.name,
                f.summary
            );
            checked += 1;
        }
        if s.name.contains("loopback") {
            assert_eq!(kinds(&s.analysis, FindingKind::NatRewrite), 0, "{}: no NAT on loopback", s.name);
        }
    }
    assert!(checked >= 4, "{checked}");
}

/// The servers merged: a node of one named cluster lists a node of another
/// as a trusted member in its final `CLUSTER NODES`.
fn servers_merged(s: &Sample) -> bool {
    let cluster_of: BTreeMap<String, String> = s.truth["nodes"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| (n["id"].as_str().unwrap().to_string(), n["cluster"].as_str().unwrap_or("none").to_string()))
        .collect();
    final_view(&s.dir).iter().any(|v| {
        let me = v.iter().find(|(_, (f, _))| f.contains("myself")).and_then(|(id, _)| cluster_of.get(id));
        v.iter().any(|(id, (flags, _))| {
            let other = cluster_of.get(id);
            matches!((me, other), (Some(a), Some(b)) if a != b && a != "none" && b != "none")
                && !["handshake", "noaddr", "fail"].iter().any(|x| flags.contains(x))
        })
    })
}

#[test]
fn slot_conflicts_appear_exactly_when_two_clusters_serving_slots_merged() {
    let mut checked = 0;
    for s in samples() {
        let clusters: BTreeSet<&str> = s.truth["nodes"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|n| n["cluster"].as_str())
            .filter(|c| *c != "none")
            .collect();
        if clusters.len() < 2 || final_view(&s.dir).is_empty() {
            continue;
        }
        checked += 1;
        let merged = servers_merged(&s);
        let conflicts = kinds(&s.analysis, FindingKind::SlotConflict);
        // Both clusters served all 16384 slots: merged, every slot has two
        // claimants until the epochs settle it.
        assert_eq!(merged, conflicts > 0, "{}: servers merged: {merged}; slot conflicts: {conflicts}", s.name);
        assert_eq!(merged, !s.analysis.merges.is_empty(), "{}: merge", s.name);
    }
    assert!(checked >= 15, "{checked}");
}
