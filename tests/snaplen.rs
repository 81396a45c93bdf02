//! Short snaplen salvage on real incidents: every sample whose truth has
//! an operator's `CLUSTER MEET` is cut the way `editcap -s 300` (or
//! `tcpdump -s 300`) cuts it (each packet's first 300 bytes kept, its wire
//! length unchanged), and `meetgraph analyze --json` on the cut files must
//! still list every node of the truth (their ids are in the kept bytes),
//! date each operator MEET within 1 s (an introduction by MEET at that
//! time), exit 3 (the verdict rests on less than the whole bus) and name
//! the snaplen in the limits and in each capture.

mod common;

use common::{Pkt, read_all, samples_dir};
use flate2::write::GzEncoder;
use meetgraph::capture::{LinkType, PcapngWriter, RawPacket};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const SNAPLEN: usize = 300;

/// Samples whose truth has an operator's `CLUSTER MEET` (times on the
/// capture clock) and node ids.
fn meet_samples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|d| std::fs::read_to_string(d.join("truth.json")).is_ok_and(|t| t.contains("CLUSTER MEET")))
        .filter(|d| !common::is_encrypted_sample(d))
        .collect();
    out.sort();
    out
}

fn captures_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".pcap.gz") || n.ends_with(".pcapng.gz") || n.ends_with(".pcap") || n.ends_with(".pcapng")
        })
        .collect();
    v.sort();
    v
}

/// The capture as `editcap -s 300` writes it.
fn cut(src: &Path, dst: &Path) {
    let pkts: Vec<Pkt> = read_all(src);
    let gz = GzEncoder::new(std::fs::File::create(dst).unwrap(), flate2::Compression::fast());
    let mut w = PcapngWriter::new(std::io::BufWriter::new(gz)).unwrap();
    for (i, p) in pkts.iter().enumerate() {
        let data = &p.data[..p.data.len().min(SNAPLEN)];
        let raw = RawPacket { ts_us: p.ts_us, frame: i as u64 + 1, link: LinkType(p.link), orig_len: p.orig_len, data };
        w.write(&raw).unwrap();
    }
    w.flush().unwrap();
}

/// Every 40-character node id under the truth's `nodes`.
fn truth_ids(truth: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                out.insert(s.clone());
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(&truth["nodes"], &mut out);
    out
}

#[test]
fn cut_at_300_bytes_real_incidents_still_list_the_nodes_and_date_the_meets() {
    let samples = meet_samples();
    assert!(samples.len() >= 20, "samples with an operator MEET: {}", samples.len());
    let tmp = std::env::temp_dir().join(format!("mg-snaplen-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut failures = Vec::new();
    for dir in &samples {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let out_dir = tmp.join(&name);
        std::fs::create_dir_all(&out_dir).unwrap();
        let cut_files: Vec<PathBuf> = captures_of(dir)
            .iter()
            .map(|src| {
                let stem = src.file_name().unwrap().to_string_lossy().replace(".pcapng", "").replace(".pcap", "");
                let dst = out_dir.join(format!("{}.pcapng.gz", stem.trim_end_matches(".gz")));
                cut(src, &dst);
                dst
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .args(["analyze", "--no-progress", "--json", "-"])
            .args(&cut_files)
            .output()
            .unwrap();
        if out.status.code() != Some(3) {
            failures.push(format!("{name}: exit {:?}, not 3", out.status.code()));
        }
        let a: Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{name}: no JSON ({e})"));
                continue;
            }
        };
        let seen: BTreeSet<String> =
            a["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
        let missing: Vec<String> = truth_ids(&truth).into_iter().filter(|id| !seen.contains(id)).collect();
        if !missing.is_empty() {
            failures.push(format!("{name}: nodes not listed: {missing:?}"));
        }
        let meets: Vec<i64> = a["introductions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["via"].as_str().is_some_and(|v| v.contains("meet")))
            .map(|i| i["ts_us"].as_i64().unwrap())
            .collect();
        for e in truth["events"].as_array().unwrap() {
            let what = e["what"].as_str().unwrap_or_default();
            if !what.contains("CLUSTER MEET") {
                continue;
            }
            let t_us = e["t_ms"].as_i64().unwrap() * 1000;
            if !meets.iter().any(|m| (m - t_us).abs() <= 1_000_000) {
                failures
                    .push(format!("{name}: `{what}` not dated within 1 s (MEETs at {meets:?}, operator at {t_us})"));
            }
        }
        let limits = a["coverage"]["limits"].to_string();
        if !limits.contains(&format!("snaplen {SNAPLEN}")) {
            failures.push(format!("{name}: the limits do not name the snaplen: {limits}"));
        }
        for c in a["captures"].as_array().unwrap() {
            if c["snaplen"].as_u64() != Some(SNAPLEN as u64) || c["cut_packets"].as_u64().unwrap_or(0) == 0 {
                failures.push(format!("{name}: capture {} without its snaplen: {c}", c["vantage"]));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(failures.is_empty(), "{} sample(s) of {}:\n{}", failures.len(), samples.len(), failures.join("\n"));
}
