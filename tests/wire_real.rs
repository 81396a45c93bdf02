//! The wire layer on real captures (samples/): zero unexpected anomalies,
//! and message counts per (type, sender) equal to an independent decoder:
//! tshark's own TCP reassembly ("follow tcp raw"), framed by `totlen`
//! (inside VXLAN too: `samples/*-overlay-reuse`).

mod common;

use common::{run_files, sample_captures};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Message counts per (type, sender) from tshark's reassembled streams.
fn tshark_counts(path: &Path) -> BTreeMap<(String, String), usize> {
    // flannel's VXLAN port (tshark decodes 4789 by itself).
    let vxlan = ["-d", "udp.port==8472,vxlan"];
    let streams = Command::new("tshark")
        .args(vxlan)
        .args(["-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "tcp.stream"])
        .output()
        .expect("tshark must be installed (Debian package tshark; .ci/run installs it)");
    assert!(streams.status.success(), "tshark failed on {}", path.display());
    let ids: std::collections::BTreeSet<u64> =
        String::from_utf8_lossy(&streams.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
    let mut cmd = Command::new("tshark");
    cmd.args(vxlan).args(["-n", "-q", "-r"]).arg(path);
    for id in &ids {
        cmd.args(["-z", &format!("follow,tcp,raw,{id}")]);
    }
    let out = cmd.output().expect("tshark");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut counts = BTreeMap::new();
    let mut dirs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let flush = |dirs: &mut [Vec<u8>; 2], counts: &mut BTreeMap<(String, String), usize>| {
        for d in dirs.iter_mut() {
            frame_independently(d, counts);
            d.clear();
        }
    };
    for line in text.lines() {
        if line.starts_with("=====") {
            flush(&mut dirs, &mut counts);
            continue;
        }
        let (dir, hex) = match line.strip_prefix('\t') {
            Some(h) => (1, h),
            None => (0, line),
        };
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || hex.len() % 2 != 0 {
            continue;
        }
        for i in (0..hex.len()).step_by(2) {
            dirs[dir].push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    flush(&mut dirs, &mut counts);
    counts
}

/// Type names are shared with meetgraph; the framing below is not.
fn type_name(t: u16) -> &'static str {
    meetgraph::clusterbus::MessageType(t & 0x7fff).name()
}

/// Frames a direction by `RCmb` + `totlen` only: starts at the first
/// signature whose `totlen` lands on another signature (or the end).
fn frame_independently(b: &[u8], counts: &mut BTreeMap<(String, String), usize>) {
    let sig_at = |i: usize| b.get(i..i + 4) == Some(b"RCmb".as_slice());
    let totlen_at = |i: usize| b.get(i + 4..i + 8).map(|t| u32::from_be_bytes(t.try_into().unwrap()) as usize);
    let mut i = 0;
    while i + 8 <= b.len() {
        let ok = sig_at(i)
            && totlen_at(i).is_some_and(|t| t >= 16 && (i + t == b.len() || sig_at(i + t) || i + t > b.len()));
        if !ok {
            i += 1;
            continue;
        }
        let t = totlen_at(i).unwrap();
        if i + t > b.len() {
            break;
        }
        let m = &b[i..i + t];
        let ty = u16::from_be_bytes([m[12], m[13]]);
        let sender = if ty & 0x8000 != 0 { String::new() } else { String::from_utf8_lossy(&m[40..80]).into_owned() };
        *counts.entry((type_name(ty).to_string(), sender)).or_default() += 1;
        i += t;
    }
}

#[test]
fn every_sample_capture_decodes_without_anomalies() {
    let caps = sample_captures();
    let dirs = common::decodable_sample_dirs().len();
    assert!(caps.len() >= dirs, "{} captures in {dirs} decodable samples", caps.len());
    for cap in caps {
        let (c, stats) = run_files(std::slice::from_ref(&cap));
        assert!(!c.messages.is_empty(), "{}: no messages", cap.display());
        assert!(stats[0].bus_streams > 0);
        assert_eq!(c.anomaly_kinds(), BTreeMap::new(), "{}: unexpected anomalies {:#?}", cap.display(), c.anomalies);
    }
}

#[test]
fn message_counts_match_tshark_reassembly() {
    let caps = sample_captures();
    let dirs = common::decodable_sample_dirs().len();
    assert!(caps.len() >= dirs, "{} captures in {dirs} decodable samples", caps.len());
    for cap in caps {
        let (c, _) = run_files(std::slice::from_ref(&cap));
        let ours = c.by_type_sender();
        assert!(!ours.is_empty(), "{}: no message", cap.display());
        let theirs = tshark_counts(&cap);
        assert_eq!(ours, theirs, "{}: meetgraph vs tshark per (type, sender)", cap.display());
    }
}

/// Per-node messages sent, as the servers counted them
/// (`cluster_stats_messages_sent` in CLUSTER INFO, read a moment before
/// the capture ended), against the messages meetgraph decoded per sender.
#[test]
fn per_sender_counts_agree_with_the_servers_own_counters() {
    for dir in common::samples_ending("-loopback-merge", 14) {
        let dir = dir.as_str();
        let d = common::samples_dir().join(dir);
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("truth.json")).unwrap()).unwrap();
        let (c, _) = run_files(&[d.join("lo.pcap.gz")]);
        let mut sent: BTreeMap<String, usize> = BTreeMap::new();
        for m in &c.messages {
            *sent.entry(m.sender.clone()).or_default() += 1;
        }
        for (port, node) in truth["nodes"].as_object().unwrap() {
            let info = std::fs::read_to_string(d.join(format!("info-{port}.txt"))).unwrap();
            let counted: usize = info
                .lines()
                .find_map(|l| l.trim().strip_prefix("cluster_stats_messages_sent:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{dir} {port}: no counter"));
            let ours = sent.get(node["id"].as_str().unwrap()).copied().unwrap_or(0);
            // The counters were read ~1 s before the capture stopped: a
            // handful of later messages (about one per peer) are expected.
            assert!(
                ours >= counted && ours <= counted + 30,
                "{dir} {port}: server counted {counted}, meetgraph saw {ours}"
            );
        }
    }
}
