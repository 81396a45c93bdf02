//! README "Resource bounds", the reading side, through the binary: each
//! bound with a flag is reached with it and not without it, and reaching
//! it is reported (anomaly, `--stats`) while the run goes on:
//! `--max-stream-buffer`, `--max-total-buffer`, `--max-message`,
//! `--max-connections` (`connections_evicted`, the incident's analysis
//! unchanged); and the bounds without a flag: a connection without packets
//! for 120 s is closed (`idle`), and TLS client→server pairs past 100 000
//! are counted (`coverage.encrypted_not_kept`).

mod common;

use common::tcp_frame as frame;
use common::{read_all, samples_dir, scratch};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SYN: u8 = 0x02;
const SYN_ACK: u8 = 0x12;
const PSH_ACK: u8 = 0x18;

/// A classic pcap (Ethernet, µs) of `(ts_us, frame)`, sorted by time.
fn write_pcap(path: &Path, packets: Vec<(i64, Vec<u8>)>) {
    let mut header = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    header.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]);
    std::fs::write(path, common::pcap_with(&header, packets)).unwrap();
}

/// The sample's packets (Ethernet), as `(ts_us, frame)`.
fn sample_packets() -> Vec<(i64, Vec<u8>)> {
    read_all(&samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz"))
        .into_iter()
        .map(|p| {
            assert_eq!(p.link, 1);
            (p.ts_us, p.data)
        })
        .collect()
}

fn meetgraph(dir: &Path, args: &[&str]) -> Output {
    meetgraph_exits(dir, args, 0)
}

fn meetgraph_exits(dir: &Path, args: &[&str], status: i32) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(dir).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(status), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `analyze`'s anomalies; `status`: 3 for a capture without bus.
fn anomalies_exits(dir: &Path, file: &str, flags: &[&str], status: i32) -> Value {
    let mut args = vec!["analyze", "--json", "-", file];
    args.extend(flags);
    let a: Value = serde_json::from_slice(&meetgraph_exits(dir, &args, status).stdout).unwrap();
    a["anomalies"].clone()
}

fn anomalies(dir: &Path, file: &str, flags: &[&str]) -> Value {
    anomalies_exits(dir, file, flags, 0)
}

/// A line of `dump -q --stats`.
fn stats_line(dir: &Path, file: &str, flags: &[&str], key: &str) -> String {
    let mut args = vec!["dump", "-q", "--stats", file];
    args.extend(flags);
    let out = String::from_utf8(meetgraph(dir, &args).stdout).unwrap();
    out.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key} in\n{out}")).to_string()
}

/// The number after `label` in `line`.
fn number_after(line: &str, label: &str) -> u64 {
    let rest = &line[line.find(label).unwrap_or_else(|| panic!("{label:?} in {line:?}")) + label.len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// One connection per `streams` whose first 1000 bytes were not captured
/// (and never acknowledged), then `segments` segments of 1000 bytes.
fn holes(streams: u8, segments: u32) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    for s in 0..streams {
        let (c, srv) = (([10, 1, 0, s], 40000), ([10, 2, 0, 1], 17000));
        let t = 1_700_000_000_000_000 + i64::from(s) * 1000;
        out.push((t, frame(c, srv, 1000, 0, SYN, &[])));
        out.push((t + 1, frame(srv, c, 5000, 1001, SYN_ACK, &[])));
        for k in 1..=segments {
            let payload = vec![b'x'; 1000];
            out.push((t + 2 + i64::from(k), frame(c, srv, 1001 + 1000 * k, 5001, PSH_ACK, &payload)));
        }
    }
    out
}

#[test]
fn the_stream_and_total_buffer_bounds_declare_holes_lost() {
    let tmp = scratch("buffers");
    // One stream, 30 kB behind its hole (no bus in it: `analyze` exits 3).
    write_pcap(&tmp.join("one.pcap"), holes(1, 30));
    let capped = anomalies_exits(&tmp, "one.pcap", &["--max-stream-buffer", "10000"], 3);
    let hits = capped["gap_cap_hit"].as_u64().unwrap_or(0);
    assert!(hits >= 1, "--max-stream-buffer 10000: {capped}");
    assert!(anomalies_exits(&tmp, "one.pcap", &[], 3)["gap_cap_hit"].is_null(), "1 MiB by default holds 30 kB");
    let peak = |flags: &[&str]| number_after(&stats_line(&tmp, "one.pcap", flags, "reassembly"), "peak buffered");
    assert!(peak(&["--max-stream-buffer", "10000"]) <= 11_000, "{}", peak(&["--max-stream-buffer", "10000"]));
    assert!(peak(&[]) >= 29_000);
    // Ten streams of 8 kB each: under the stream bound, over a total of
    // 40 kB.
    write_pcap(&tmp.join("ten.pcap"), holes(10, 8));
    // (the total is at least the stream bound, 1 MiB by default)
    let bounds = ["--max-stream-buffer", "10000", "--max-total-buffer", "40000"];
    let total = anomalies_exits(&tmp, "ten.pcap", &bounds, 3);
    assert!(total["gap_cap_hit"].as_u64().unwrap_or(0) >= 1, "--max-total-buffer 40000: {total}");
    assert!(anomalies_exits(&tmp, "ten.pcap", &bounds[..2], 3)["gap_cap_hit"].is_null(), "each stream under its bound");
    let peak10 = |flags: &[&str]| number_after(&stats_line(&tmp, "ten.pcap", flags, "reassembly"), "peak buffered");
    assert!(peak10(&bounds) <= 41_000, "{}", peak10(&bounds));
    assert!(peak10(&bounds[..2]) >= 79_000);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn max_message_skips_longer_messages_and_counts_them() {
    let dir = samples_dir().join("redis-7.0-loopback-merge");
    let jsonl = String::from_utf8(meetgraph(&dir, &["dump", "--format", "jsonl", "lo.pcap.gz"]).stdout).unwrap();
    let totlens: Vec<u64> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["record"] == "message")
        .map(|v| v["totlen"].as_u64().unwrap())
        .collect();
    let longer = totlens.iter().filter(|t| **t > 2400).count() as u64;
    assert!(longer > 0 && longer < totlens.len() as u64, "{longer} of {}", totlens.len());
    let a = anomalies(&dir, "lo.pcap.gz", &["--max-message", "2400"]);
    assert_eq!(a["oversized_message"].as_u64(), Some(longer), "{a}");
    let messages = |flags: &[&str]| number_after(&stats_line(&dir, "lo.pcap.gz", flags, "messages"), "messages");
    assert_eq!(messages(&["--max-message", "2400"]), totlens.len() as u64 - longer);
    assert_eq!(messages(&[]), totlens.len() as u64);
    assert!(anomalies(&dir, "lo.pcap.gz", &[]).as_object().unwrap().is_empty());
}

/// The analysis without what counts the capture itself, frame numbers
/// zeroed and the capture unnamed (the junk shifts frames).
fn verdict(a: &Value, name: &str) -> Value {
    let v = serde_json::json!([a["nodes"], a["clusters"], a["introductions"], a["merges"], a["joins"], a["story"]]);
    let text = serde_json::to_string(&v).unwrap().replace(name, "CAPTURE");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    fn zero(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.iter_mut().for_each(|(k, x)| if k == "frame" { *x = Value::from(0) } else { zero(x) })
            }
            Value::Array(a) => a.iter_mut().for_each(zero),
            _ => {}
        }
    }
    zero(&mut v);
    v
}

#[test]
fn max_connections_evicts_other_connections_first_and_the_incident_is_unchanged() {
    let tmp = scratch("max-connections");
    let mut packets = sample_packets();
    let (t0, t1) = (packets[0].0, packets[packets.len() - 1].0);
    // 400 connections that never close, opened across the incident.
    for i in 0..400u32 {
        let ts = t0 + (t1 - t0) * i64::from(i) / 400;
        let c = ([10, 50, (i / 250) as u8, (i % 250) as u8], 50000);
        let srv = ([10, 60, 0, 1], 6379);
        packets.push((ts, frame(c, srv, 1, 0, SYN, &[])));
        packets.push((ts + 1, frame(srv, c, 9, 2, SYN_ACK, &[])));
        packets.push((ts + 2, frame(c, srv, 2, 10, PSH_ACK, b"*1\r\n$4\r\nPING\r\n")));
    }
    write_pcap(&tmp.join("crowded.pcap"), packets);
    write_pcap(&tmp.join("clean.pcap"), sample_packets());
    let analyze = |file: &str, flags: &[&str]| -> Value {
        let mut args = vec!["analyze", "--json", "-", file];
        args.extend(flags);
        serde_json::from_slice(&meetgraph(&tmp, &args).stdout).unwrap()
    };
    let clean = analyze("clean.pcap", &[]);
    let bounded = analyze("crowded.pcap", &["--max-connections", "100"]);
    assert!(bounded["anomalies"]["connections_evicted"].as_u64() >= Some(1), "{}", bounded["anomalies"]);
    assert_eq!(verdict(&bounded, "crowded.pcap"), verdict(&clean, "clean.pcap"), "the bus connections are kept");
    let stats = stats_line(&tmp, "crowded.pcap", &["--max-connections", "100"], "reassembly");
    // 400 open, at most 100 tracked: most are closed early.
    assert!(number_after(&stats, "evicted at the connection bound") >= 300, "{stats}");
    let none = stats_line(&tmp, "crowded.pcap", &[], "reassembly");
    assert_eq!(number_after(&none, "evicted at the connection bound"), 0, "{none}");
    // The default bound holds them all.
    let free = analyze("crowded.pcap", &[]);
    assert!(free["anomalies"]["connections_evicted"].is_null(), "{}", free["anomalies"]);
    assert_eq!(verdict(&free, "crowded.pcap"), verdict(&clean, "clean.pcap"));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Stream ends by reason, with their times.
fn stream_ends(dir: &Path, file: &str) -> Vec<(String, i64)> {
    let out = String::from_utf8(meetgraph(dir, &["events", file]).stdout).unwrap();
    out.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["kind"]["event"] == "stream_end")
        .map(|v| (v["kind"]["reason"].as_str().unwrap().to_string(), v["ts_us"].as_i64().unwrap()))
        .collect()
}

#[test]
fn a_connection_without_packets_for_120_s_is_closed_as_idle() {
    let tmp = scratch("idle");
    let packets = sample_packets();
    let last = packets.iter().map(|p| p.0).max().unwrap();
    let probe = frame(([10, 70, 0, 1], 40000), ([10, 70, 0, 2], 80), 1, 0, SYN, &[]);
    for (name, after) in [("quiet125.pcap", 125_000_000), ("quiet100.pcap", 100_000_000)] {
        let mut p = packets.clone();
        p.push((last + after, probe.clone()));
        write_pcap(&tmp.join(name), p);
    }
    // 125 s after the last packet: the bus connections still open were
    // closed as idle by then, each 120 s after its own last packet.
    let ends = stream_ends(&tmp, "quiet125.pcap");
    let idle: Vec<i64> = ends.iter().filter(|e| e.0 == "idle").map(|e| e.1).collect();
    assert!(idle.len() >= 10, "{ends:?}");
    assert!(idle.iter().all(|t| *t > last + 20_000_000 && *t <= last + 125_000_000), "{idle:?} vs {last}");
    let stats = stats_line(&tmp, "quiet125.pcap", &[], "reassembly");
    assert!(number_after(&stats, "idle evictions") >= idle.len() as u64 / 2, "{stats}");
    // 100 s: none yet (the capture's end closes them otherwise).
    let ends = stream_ends(&tmp, "quiet100.pcap");
    assert!(ends.iter().all(|e| e.0 != "idle"), "{ends:?}");
    assert!(ends.iter().any(|e| e.0 != "fin" && e.0 != "rst"), "open at the end: {ends:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `pairs` TLS clients (one address each) sending a ClientHello to one
/// server.
fn tls_pairs(pairs: u32) -> Vec<(i64, Vec<u8>)> {
    let hello = [0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0];
    let mut out = Vec::with_capacity(pairs as usize * 3);
    for i in 0..pairs {
        let c = ([11, (i >> 16) as u8, (i >> 8) as u8, i as u8], 40000);
        let srv = ([10, 80, 0, 1], 443);
        let ts = 1_700_000_000_000_000 + i64::from(i) * 10;
        out.push((ts, frame(c, srv, 1, 0, SYN, &[])));
        out.push((ts + 1, frame(srv, c, 9, 2, SYN_ACK, &[])));
        out.push((ts + 2, frame(c, srv, 2, 10, PSH_ACK, &hello)));
    }
    out
}

#[test]
fn tls_pairs_past_100_000_are_counted_not_kept() {
    let tmp = scratch("tls-pairs");
    let report = |file: &str| {
        // No bus in these captures: exit 3 (README "Exit status").
        let out =
            Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(&tmp).args(["analyze", file]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    write_pcap(&tmp.join("over.pcap"), tls_pairs(100_007));
    let over = report("over.pcap");
    assert!(over.contains("\n7 more TLS pair(s) not kept (bound of 100000 pairs reached)\n"), "{over}");
    write_pcap(&tmp.join("under.pcap"), tls_pairs(99_990));
    let under = report("under.pcap");
    assert!(!under.contains("not kept"), "{under}");
    assert!(under.contains("99990 other TLS client→server pair(s), not bus"), "{under}");
    let _ = std::fs::remove_dir_all(&tmp);
}
