//! The analysis on real captures, checked against each capture's
//! truth.json (what the operator did, which node was in which cluster).

mod common;

use common::samples_dir;
use meetgraph::analysis::{Analysis, AnalysisConfig, FindingKind, Introduction, NodeId, Role, Via};
use meetgraph::capture::CaptureFile;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn truth(dir: &str) -> Value {
    let t = std::fs::read_to_string(samples_dir().join(dir).join("truth.json")).unwrap();
    serde_json::from_str(&t).unwrap()
}

fn id(t: &Value, name: &str) -> NodeId {
    NodeId::from_str_exact(t["nodes"][name]["id"].as_str().unwrap()).unwrap()
}

fn cluster_of(t: &Value, c: &str) -> BTreeSet<NodeId> {
    t["nodes"]
        .as_object()
        .unwrap()
        .values()
        .filter(|n| n["cluster"] == c)
        .map(|n| NodeId::from_str_exact(n["id"].as_str().unwrap()).unwrap())
        .collect()
}

fn analyze_files(dir: &str, files: &[&str], skip_before_us: Option<i64>) -> Analysis {
    let paths: Vec<PathBuf> = files.iter().map(|f| samples_dir().join(dir).join(f)).collect();
    let mut inputs: Vec<Input> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| Input::new(CaptureFile::open(p).unwrap(), Pipeline::new(i, PipelineConfig::default())))
        .collect();
    let cfg = AnalysisConfig {
        vantages: files.iter().map(|s| s.to_string()).collect(),
        until_us: None,
        ..Default::default()
    };
    match skip_before_us {
        None => meetgraph::run::analyze(&mut inputs, cfg),
        Some(t) => {
            // Drop every packet before `t`: a capture started mid-way.
            let mut analyzer = meetgraph::analysis::Analyzer::new(cfg);
            {
                let mut sink = meetgraph::events::EventSink::new(|e| analyzer.push(e));
                for inp in inputs.iter_mut() {
                    while inp.file.advance().unwrap() {
                        let p = inp.file.current().unwrap();
                        if p.ts_us >= t {
                            inp.pipeline.packet(&p, &mut sink);
                        }
                    }
                    inp.pipeline.finish(&mut sink);
                }
            }
            analyzer.finish()
        }
    }
}

fn cluster_sets(a: &Analysis) -> BTreeSet<BTreeSet<NodeId>> {
    a.clusters.iter().map(|c| c.nodes.iter().cloned().collect()).collect()
}

fn assert_incident(a: &Analysis, t: &Value, full_view: bool) {
    let (c, d, a1, b1) = (id(t, "c"), id(t, "d"), id(t, "a1"), id(t, "b1"));
    let x = cluster_of(t, "X");
    let y = cluster_of(t, "Y");
    assert_eq!(a.merges.len(), 1, "{:#?}", a.merges);
    let m = &a.merges[0];
    let meet_us = t["meet_ms"].as_i64().unwrap() * 1000;
    assert!(m.ts_us >= meet_us - 1_000_000 && m.ts_us - meet_us < 5_000_000, "merge {} vs meet {}", m.ts_us, meet_us);
    // The sides are X (plus c, which joined it first) and Y (as far as seen).
    let sides: Vec<BTreeSet<NodeId>> = m.sides.iter().map(|s| s.iter().cloned().collect()).collect();
    let x_side = sides.iter().find(|s| s.contains(&a1)).expect("a side with a1");
    let y_side = sides.iter().find(|s| s.contains(&d)).expect("a side with d");
    assert!(x.is_subset(x_side) && x_side.contains(&c), "{x_side:?}");
    assert!(y_side.is_subset(&y) && y_side.contains(&d));
    // The hop that fused them: a1's gossip of c at 172.17.0.55, dialled
    // from h2 by b1 and answered by d.
    let hop =
        m.chain.iter().find(|i| i.via == Via::Gossip).unwrap_or_else(|| panic!("no gossip hop in {:#?}", m.chain));
    assert_eq!(hop.learner, b1);
    assert_eq!(hop.introducer, Some(a1));
    assert_eq!(hop.gossip_named, Some(c));
    assert_eq!(hop.answered_by, Some(d));
    assert_eq!(hop.address.as_ref().map(|a| a.ip.as_str()), Some("172.17.0.55"), "{hop:?}");
    if full_view {
        assert_eq!(cluster_sets(a), BTreeSet::from([x.clone(), y.clone()]));
        let first = &m.chain[0];
        assert_eq!((first.via, first.learner, first.node), (Via::OperatorMeet, c, a1));
        let second = &m.chain[1];
        assert_eq!((second.via, second.learner, second.node), (Via::Meet, a1, c));
        assert_eq!(second.address.as_ref().map(|a| a.ip.as_str()), Some("172.17.0.55"));
    }
    let col = a
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::AddressCollision && f.addresses.iter().any(|x| x.starts_with("172.17.0.55:")))
        .expect("address collision on 172.17.0.55");
    assert!(col.nodes.contains(&c) && col.nodes.contains(&d), "{col:?}");
    assert!(!col.evidence.is_empty());
    // Damage: masters turned into replicas, slots moved.
    assert!(a.damage.role_changes.iter().any(|r| r.from == Role::Master && r.to == Role::Replica));
    assert!(a.damage.slot_moves.iter().map(|m| m.count).sum::<u32>() > 0);
}

#[test]
fn redis_3_0_7_docker_bridge_all_captures() {
    let t = truth("redis-3.0.7-docker-bridge");
    let a = analyze_files("redis-3.0.7-docker-bridge", &["h1.pcap.gz", "h2.pcap.gz", "dc.pcap.gz"], None);
    assert_incident(&a, &t, true);
    // Clock offsets between the three vantages are estimated (same host clock here).
    assert!(!a.clock_offsets.is_empty());
    assert!(a.clock_offsets.iter().all(|o| o.offset_us.abs() < 5_000));
}

#[test]
fn redis_3_0_7_docker_bridge_host_h2_alone() {
    let t = truth("redis-3.0.7-docker-bridge");
    let a = analyze_files("redis-3.0.7-docker-bridge", &["h2.pcap.gz"], None);
    assert_incident(&a, &t, false);
}

#[test]
fn redis_3_0_7_docker_bridge_host_h1_alone() {
    // h1 cannot see the handshake on h2; it still sees c's MEET, the
    // collision (c answers 172.17.0.55 on h1, gossip places d there) and
    // one merge of X and Y.
    let t = truth("redis-3.0.7-docker-bridge");
    let a = analyze_files("redis-3.0.7-docker-bridge", &["h1.pcap.gz"], None);
    assert_eq!(a.merges.len(), 1);
    let (c, d, a1) = (id(&t, "c"), id(&t, "d"), id(&t, "a1"));
    assert!(a.introductions.iter().any(|i| i.via == Via::OperatorMeet && i.learner == c && i.node == a1));
    let col = a
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::AddressCollision && f.addresses[0].starts_with("172.17.0.55:"))
        .unwrap();
    assert!(col.nodes.contains(&c) && col.nodes.contains(&d));
}

#[test]
fn redis_4_0_14_docker_bridge_all_captures() {
    let t = truth("redis-4.0.14-docker-bridge");
    let a = analyze_files("redis-4.0.14-docker-bridge", &["h1.pcap.gz", "h2.pcap.gz", "dc.pcap.gz"], None);
    assert_incident(&a, &t, true);
}

#[test]
fn loopback_operator_merge_every_server() {
    for dir in common::samples_ending("-loopback-merge", 14) {
        let dir = dir.as_str();
        check_loopback_merge(dir);
    }
}

fn check_loopback_merge(dir: &str) {
    let t = truth(dir);
    let a = analyze_files(dir, &["lo.pcap.gz"], None);
    assert_eq!(cluster_sets(&a), BTreeSet::from([cluster_of(&t, "X"), cluster_of(&t, "Y")]), "{dir}");
    assert_eq!(a.merges.len(), 1, "{dir}");
    let m = &a.merges[0];
    let action = t["action_ms"].as_i64().unwrap() * 1000;
    assert!((m.ts_us - action).abs() < 1_000_000);
    let first = &m.chain[0];
    assert_eq!(first.via, Via::OperatorMeet);
    assert_eq!(first.learner, id(&t, "7001"));
    assert_eq!(first.node, id(&t, "7011"));
    assert_eq!(first.command.as_deref(), Some("cluster meet 127.0.0.1 7011"));
    // The command's frame is the first piece of evidence.
    assert!(first.evidence[0].frame < first.evidence[1].frame);
    let sides: BTreeSet<BTreeSet<NodeId>> = m.sides.iter().map(|s| s.iter().cloned().collect()).collect();
    assert_eq!(sides, BTreeSet::from([cluster_of(&t, "X"), cluster_of(&t, "Y")]));
}

#[test]
fn failover_is_not_a_merge_on_every_server() {
    for dir in ["redis-3.0.7-loopback-failover", "redis-7.0-failover", "valkey-9.1-failover"] {
        check_failover(dir);
    }
}

fn check_failover(dir: &str) {
    let t = truth(dir);
    let a = analyze_files(dir, &["lo.pcap.gz"], None);
    assert!(a.merges.is_empty());
    assert_eq!(a.clusters.len(), 1);
    let failed = id(&t, "7002");
    let promoted = id(&t, "7005");
    assert!(a.findings.iter().any(|f| f.kind == FindingKind::NodeFailed && f.nodes[0] == failed));
    let fo = a.findings.iter().find(|f| f.kind == FindingKind::Failover).expect("failover");
    assert_eq!(fo.nodes[0], promoted);
    assert_eq!(fo.nodes.get(1), Some(&failed));
    assert!(a.damage.slot_moves.iter().any(|m| m.from == Some(failed) && m.to == Some(promoted)));
}

/// Structural invariants every analysis must satisfy.
fn check_invariants(a: &Analysis) {
    for f in &a.findings {
        assert!(f.count >= 1 && f.first_ts_us == f.ts_us && f.last_ts_us >= f.first_ts_us, "{f:?}");
        assert!(!f.evidence.is_empty(), "{f:?}");
    }
    let mut seen = BTreeSet::new();
    for i in &a.introductions {
        assert!(seen.insert((i.learner, i.node)), "two first introductions for {i:?}");
        assert_ne!(i.learner, i.node);
        assert!(!i.evidence.is_empty(), "{i:?}");
    }
    for m in &a.merges {
        let mut links = BTreeSet::new();
        for i in &m.chain {
            assert!(links.insert((i.learner, i.node)), "cycle in chain {:#?}", m.chain);
        }
        let ts: Vec<i64> = m.chain.iter().map(|i| i.ts_us).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "chain not in time order: {ts:?}");
        assert_eq!(m.sides.len(), 2);
        let a0: BTreeSet<&NodeId> = m.sides[0].iter().collect();
        assert!(m.sides[1].iter().all(|n| !a0.contains(n)));
    }
    for n in &a.nodes {
        assert_eq!(n.id.as_str().len(), 40);
    }
}

#[test]
fn invariants_hold_on_every_sample() {
    for (dir, files) in [
        ("redis-3.0.7-docker-bridge", vec!["h1.pcap.gz", "h2.pcap.gz", "dc.pcap.gz"]),
        ("redis-4.0.14-docker-bridge", vec!["h1.pcap.gz", "h2.pcap.gz", "dc.pcap.gz"]),
        ("redis-3.0.7-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-3.0.7-loopback-failover", vec!["lo.pcap.gz"]),
        ("redis-6.2-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-7.0-loopback-merge", vec!["lo.pcap.gz"]),
        ("valkey-9.1-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-7.0-failover", vec!["lo.pcap.gz"]),
        ("valkey-9.1-failover", vec!["lo.pcap.gz"]),
        ("redis-6.2-docker-bridge", vec!["dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"]),
        ("redis-7.0-docker-bridge", vec!["dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"]),
        ("valkey-9.1-docker-bridge", vec!["dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"]),
        ("redis-3.2-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-5.0.9-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-5.0.14-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-6.0-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-7.2-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-7.4-loopback-merge", vec!["lo.pcap.gz"]),
        ("redis-8.0-loopback-merge", vec!["lo.pcap.gz"]),
        ("valkey-7.2-loopback-merge", vec!["lo.pcap.gz"]),
        ("valkey-8.0-loopback-merge", vec!["lo.pcap.gz"]),
        ("valkey-9.0-loopback-merge", vec!["lo.pcap.gz"]),
    ] {
        check_invariants(&analyze_files(dir, &files, None));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Cutting the capture to start anywhere keeps the invariants; cutting it
    /// before the operator's action keeps the merge and its chain.
    #[test]
    fn cut_captures_keep_invariants_and_later_merges(cut_ms in 0i64..8_000) {
        let t = truth("redis-3.0.7-loopback-merge");
        let full = analyze_files("redis-3.0.7-loopback-merge", &["lo.pcap.gz"], None);
        let start = full.captures[0].first_ts_us.unwrap();
        let cut = start + cut_ms * 1000;
        let part = analyze_files("redis-3.0.7-loopback-merge", &["lo.pcap.gz"], Some(cut));
        check_invariants(&part);
        let action = t["action_ms"].as_i64().unwrap() * 1000;
        let key = |i: &Introduction| (i.learner, i.node, i.via, i.ts_us);
        if cut < action - 1_000_000 {
            prop_assert_eq!(part.merges.len(), 1);
            let (pm, fm) = (&part.merges[0], &full.merges[0]);
            prop_assert_eq!(pm.ts_us, fm.ts_us);
            let ps: BTreeSet<Vec<NodeId>> = pm.sides.iter().cloned().collect();
            let fs: BTreeSet<Vec<NodeId>> = fm.sides.iter().cloned().collect();
            prop_assert_eq!(ps, fs);
            prop_assert_eq!(pm.chain.iter().map(key).collect::<Vec<_>>(), fm.chain.iter().map(key).collect::<Vec<_>>());
            // Everything the full capture saw happen after the cut (past the
            // 5 s in which knowledge counts as prior) is found the same way.
            let part_by_pair: BTreeMap<(NodeId, NodeId), Via> =
                part.introductions.iter().map(|i| ((i.learner, i.node), i.via)).collect();
            for i in full.introductions.iter().filter(|i| i.ts_us > cut + 5_000_000 && i.via != Via::Prior) {
                prop_assert_eq!(part_by_pair.get(&(i.learner, i.node)), Some(&i.via), "{:?}", i);
            }
        }
    }
}

/// Modern servers: the same misconfiguration collides without merging, and
/// the report says why.
#[test]
fn modern_docker_bridge_collides_without_merging() {
    for dir in ["redis-6.2-docker-bridge", "redis-7.0-docker-bridge", "valkey-9.1-docker-bridge"] {
        let t = truth(dir);
        assert_eq!(t["merged"], false, "{dir}: the lab saw a merge");
        let a = analyze_files(dir, &["dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"], None);
        assert!(a.merges.is_empty(), "{dir}: {:#?}", a.merges);
        assert_eq!(cluster_sets(&a), BTreeSet::from([cluster_of(&t, "X"), cluster_of(&t, "Y")]), "{dir}");
        let (c, d, a1) = (id(&t, "c"), id(&t, "d"), id(&t, "a1"));
        // c's address collides with d's bridge address (172.17.0.55) or, when
        // c's NAT'd PINGs reached b1 first, with a1's (the host's address):
        // which one the servers hit first is a race.
        let col = a
            .findings
            .iter()
            .find(|f| {
                f.kind == FindingKind::AddressCollision
                    && f.nodes.contains(&c)
                    && (f.nodes.contains(&d) || f.nodes.contains(&a1))
            })
            .unwrap_or_else(|| panic!("{dir}: no collision involving c: {:#?}", a.findings));
        if col.nodes.contains(&d) {
            assert!(col.addresses[0].starts_with("172.17.0.55:"), "{dir}: {col:?}");
        }
        assert!(a.story.near_misses.iter().any(|s| s.starts_with("NEAR MISS")), "{dir}: {:?}", a.story);
        assert!(
            a.story
                .no_merge
                .as_deref()
                .is_some_and(|s| s.contains("Redis before 5.0.10/6.0.5") && s.contains("blindly")),
            "{dir}: {:?}",
            a.story
        );
        // c was introduced to a1 by the operator's MEET (not captured inside
        // the container: inferred).
        assert!(a.introductions.iter().any(|i| i.via == Via::OperatorMeet && i.learner == c && i.node == id(&t, "a1")));
    }
}

/// A forgotten node's address reused by a node of another cluster: the
/// address collides over time, no merge on modern servers.
#[test]
fn forget_reuse_is_an_address_reuse() {
    for dir in ["redis-7.0-forget-reuse", "valkey-9.1-forget-reuse"] {
        check_forget_reuse(dir);
    }
}

fn check_forget_reuse(dir: &str) {
    let t = truth(dir);
    let a = analyze_files(dir, &["lo.pcap.gz"], None);
    assert_eq!(t["merged"], false);
    assert!(a.merges.is_empty());
    let (old, new) = (id(&t, "7003-old"), id(&t, "7003-new"));
    // The old node was killed before the new one took its address: a
    // reuse (old first, new second), dated when the new node first
    // answered there, after the kill.
    let reuse = a
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::AddressReuse && f.addresses[0] == "127.0.0.1:17003")
        .expect("address reuse on 127.0.0.1:17003");
    assert_eq!(reuse.nodes, vec![old, new], "{reuse:?}");
    let killed_ms = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["what"].as_str().unwrap().contains("fresh node"))
        .and_then(|e| e["t_ms"].as_i64())
        .expect("the lab's event for the fresh node");
    assert!(reuse.ts_us >= killed_ms * 1000 - 2_000_000, "{} vs {killed_ms}", reuse.ts_us);
    assert!(!a.findings.iter().any(|f| f.kind == FindingKind::AddressCollision), "a reuse is not also a collision");
    // Redis 7.0 has no FORGOTTEN_NODE extension: 7002 still dials the old
    // node's address and the new node answers. Valkey spreads the FORGET.
    let mismatch = a
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::SenderMismatch && f.nodes[0] == id(&t, "7002") && f.nodes[2] == new);
    assert_eq!(mismatch, dir.starts_with("redis-7.0"), "{dir}");
    check_invariants(&a);
}
