//! Say when the bus cannot be read: a real capture cut by a short snaplen,
//! and one holding only data-port (RESP) traffic, give the limits at the
//! top of the report, no "No merge" verdict, and exit status 3; whole
//! captures stay complete (exit 0).

mod common;

use common::samples_dir;
use flate2::read::GzDecoder;
use std::io::Read;
use std::process::{Command, Output};

/// The sample's classic pcap, decompressed.
fn sample_pcap(dir: &str, file: &str) -> Vec<u8> {
    let mut v = Vec::new();
    GzDecoder::new(std::fs::File::open(samples_dir().join(dir).join(file)).unwrap()).read_to_end(&mut v).unwrap();
    assert_eq!(&v[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "expects a little-endian µs pcap");
    v
}

/// Rewrites every record of a little-endian pcap with `keep(record)`
/// deciding whether to keep it and `snaplen` cutting its bytes (as
/// `tcpdump -s` would have).
fn rewrite(pcap: &[u8], snaplen: usize, keep: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    out[16..20].copy_from_slice(&(snaplen as u32).to_le_bytes());
    let mut i = 24;
    while i + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[i + 8..i + 12].try_into().unwrap()) as usize;
        let data = &pcap[i + 16..i + 16 + caplen];
        if keep(data) {
            let cut = caplen.min(snaplen);
            out.extend_from_slice(&pcap[i..i + 8]);
            out.extend_from_slice(&(cut as u32).to_le_bytes());
            out.extend_from_slice(&pcap[i + 12..i + 16]);
            out.extend_from_slice(&data[..cut]);
        }
        i += 16 + caplen;
    }
    out
}

fn analyze(name: &str, pcap: &[u8]) -> Output {
    let dir = std::env::temp_dir().join(format!("meetgraph-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, pcap).unwrap();
    Command::new(env!("CARGO_BIN_EXE_meetgraph")).arg("analyze").arg(&path).output().unwrap()
}

fn tcp_ports(frame: &[u8]) -> Option<(u16, u16)> {
    // Linux loopback captures of the lab are Ethernet (DLT 1): 14 + IPv4.
    let ip = frame.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let tcp = ip.get(ihl..ihl + 4)?;
    Some((u16::from_be_bytes([tcp[0], tcp[1]]), u16::from_be_bytes([tcp[2], tcp[3]])))
}

#[test]
fn a_short_snaplen_is_a_limit_not_a_verdict() {
    let pcap = sample_pcap("redis-7.0-loopback-merge", "lo.pcap.gz");
    let out = analyze("cut.pcap", &rewrite(&pcap, 1500, |_| true));
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(report.starts_with("== Limits of these captures"), "{report}");
    assert!(report.contains("snaplen") && report.contains("-s 0"), "{report}");
    assert!(!report.contains("No merge:"), "a confident verdict from a capture it could not read:\n{report}");
}

#[test]
fn no_bus_traffic_is_a_limit_not_a_verdict() {
    let pcap = sample_pcap("redis-7.0-loopback-merge", "lo.pcap.gz");
    let data_only = rewrite(&pcap, 262_144, |f| tcp_ports(f).is_some_and(|(a, b)| a < 10_000 || b < 10_000));
    let out = analyze("resp.pcap", &data_only);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{report}");
    assert!(report.contains("No cluster-bus message in the capture"), "{report}");
    assert!(report.contains("No verdict"), "{report}");
    assert!(!report.contains("No merge"), "{report}");
}

#[test]
fn a_whole_capture_is_complete() {
    let pcap = sample_pcap("redis-7.0-loopback-merge", "lo.pcap.gz");
    let out = analyze("whole.pcap", &rewrite(&pcap, 262_144, |_| true));
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("== Limits"));
}

/// Real TLS clusters (Redis 7.0 and 7.2): the bus is named encrypted, the
/// verdict is incomplete (exit 3), and the burst of new bus connections is
/// dated within 2 s after the operator's MEET that merged them.
#[test]
fn an_encrypted_bus_is_named_and_its_merge_still_dated() {
    for dir in ["redis-7.0-tls-bus", "redis-7.2-tls-bus"] {
        let d = samples_dir().join(dir);
        assert!(common::is_encrypted_sample(&d));
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("truth.json")).unwrap()).unwrap();
        assert_eq!(truth["merged"], true, "{dir}: the lab saw no merge");
        let meet = truth["action_ms"].as_i64().unwrap() * 1000;
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .current_dir(&d)
            .args(["analyze", "lo.pcap.gz", "--json", "-"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{dir}");
        let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let c = &a["coverage"];
        assert_eq!(c["complete"], false);
        assert!(c["limits"][0].as_str().unwrap().starts_with("The cluster bus is encrypted"), "{dir}: {c}");
        let bus: Vec<&str> = c["encrypted"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["likely_bus"].is_null())
            .map(|f| f["server"].as_str().unwrap())
            .collect();
        for p in [17000, 17001, 17002, 17010, 17011, 17012] {
            assert!(bus.contains(&format!("127.0.0.1:{p}").as_str()), "{dir}: bus port {p} not named: {bus:?}");
        }
        let burst = c["bursts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| !b["quiet_before_us"].is_null())
            .unwrap_or_else(|| panic!("{dir}: no burst after a quiet period: {c}"));
        let t = burst["ts_us"].as_i64().unwrap();
        assert!(t >= meet && t - meet < 2_000_000, "{dir}: burst at {t}, MEET at {meet}");
        let story: Vec<&str> = a["story"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        assert!(story.iter().any(|s| s.starts_with("ENCRYPTED:")), "{story:?}");
        assert!(!story.iter().any(|s| s.starts_with("No merge")), "{story:?}");
    }
}

/// A snaplen that keeps the 2256-byte header but cuts the gossip (as
/// `tcpdump -s 2400` on loopback or on GRO-merged segments): the cut
/// messages are read in part and the merge is still found, at the same
/// time as in the whole capture; the verdict is still marked incomplete.
#[test]
fn cut_messages_with_a_whole_header_are_read_in_part() {
    let pcap = sample_pcap("redis-7.0-loopback-merge", "lo.pcap.gz");
    let json = |name: &str, data: &[u8]| -> (Option<i32>, serde_json::Value) {
        let dir = std::env::temp_dir().join(format!("meetgraph-coverage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .arg("analyze")
            .arg(dir.join(name))
            .args(["--json", "-"])
            .output()
            .unwrap();
        (out.status.code(), serde_json::from_slice(&out.stdout).unwrap())
    };
    let (code, cut) = json("cut2400.pcap", &rewrite(&pcap, 2400, |_| true));
    let (_, whole) = json("whole2.pcap", &rewrite(&pcap, 262_144, |_| true));
    assert_eq!(code, Some(3));
    let c = &cut["coverage"];
    assert!(c["cut_messages"].as_u64().unwrap() > 100, "{c}");
    assert!(c["limits"][0].as_str().unwrap().contains("read in part"), "{c}");
    assert_eq!(cut["merges"].as_array().unwrap().len(), 1);
    assert_eq!(cut["merges"][0]["ts_us"], whole["merges"][0]["ts_us"]);
    assert_eq!(cut["clusters"], whole["clusters"]);
}

/// The same TLS capture joined 4 s late (its streams began before the
/// capture): the streams it joined mid-way make no burst of their own, and
/// their gaps are not bus messages lost; the MEET's burst is still dated.
#[test]
fn a_late_start_on_an_encrypted_bus_keeps_the_burst_and_no_false_limits() {
    let pcap = sample_pcap("redis-7.0-tls-bus", "lo.pcap.gz");
    let first = u32::from_le_bytes(pcap[24..28].try_into().unwrap());
    let mut late = pcap[..24].to_vec();
    let mut i = 24;
    while i + 16 <= pcap.len() {
        let sec = u32::from_le_bytes(pcap[i..i + 4].try_into().unwrap());
        let caplen = u32::from_le_bytes(pcap[i + 8..i + 12].try_into().unwrap()) as usize;
        if sec >= first + 4 {
            late.extend_from_slice(&pcap[i..i + 16 + caplen]);
        }
        i += 16 + caplen;
    }
    let out = analyze("tls-late.pcap", &late);
    assert_eq!(out.status.code(), Some(3));
    let report = String::from_utf8_lossy(&out.stdout);
    // The capture was taken with `-s 256` (the Captures section says so);
    // the TLS records it cut are not bus messages lost to the snaplen.
    let limits = report.split("== What happened").next().unwrap_or_default();
    assert!(!limits.contains("snaplen"), "{report}");
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(samples_dir().join("redis-7.0-tls-bus").join("truth.json")).unwrap(),
    )
    .unwrap();
    let meet = truth["action_ms"].as_i64().unwrap();
    let bursts: Vec<&str> = report.lines().filter(|l| l.starts_with("ENCRYPTED:")).collect();
    assert_eq!(bursts.len(), 1, "{report}");
    let secs = (meet / 1000) % 60;
    assert!(bursts[0].contains(&format!(":{secs:02}.")), "burst not at the MEET ({meet}): {}", bursts[0]);
}
