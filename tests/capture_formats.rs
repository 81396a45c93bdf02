//! The same real capture written as pcap (µs/ns, both byte orders),
//! pcapng (several sections and interfaces), gzip, and re-encapsulated as
//! Linux cooked v1/v2, raw IP, BSD null/loop and QinQ-tagged Ethernet
//! decodes to the same messages; damaged files yield
//! what precedes the damage and a clear error; the CLI exit codes.

mod common;

use common::{Pkt, Seen, read_all, run_files, samples_dir};
use flate2::write::GzEncoder;
use meetgraph::capture::{CaptureFile, LinkType};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Legacy pcap with a single link type.
fn write_pcap(pkts: &[Pkt], link: u16, nanos: bool, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let w32 =
        |o: &mut Vec<u8>, v: u32| o.extend_from_slice(&if big_endian { v.to_be_bytes() } else { v.to_le_bytes() });
    let w16 =
        |o: &mut Vec<u8>, v: u16| o.extend_from_slice(&if big_endian { v.to_be_bytes() } else { v.to_le_bytes() });
    w32(&mut out, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut out, 2);
    w16(&mut out, 4);
    w32(&mut out, 0);
    w32(&mut out, 0);
    w32(&mut out, 262_144);
    w32(&mut out, u32::from(link));
    for p in pkts {
        w32(&mut out, (p.ts_us / 1_000_000) as u32);
        let frac = (p.ts_us % 1_000_000) as u32;
        w32(&mut out, if nanos { frac * 1000 } else { frac });
        w32(&mut out, p.data.len() as u32);
        w32(&mut out, p.orig_len);
        out.extend_from_slice(&p.data);
    }
    out
}

fn ng_block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend(std::iter::repeat_n(0u8, pad));
    out.extend_from_slice(&len.to_le_bytes());
}

fn ng_section(out: &mut Vec<u8>) {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    ng_block(out, 0x0a0d_0d0a, &shb);
}

/// An interface with `if_tsresol` = `resol` (10^-resol s).
fn ng_interface(out: &mut Vec<u8>, link: u16, resol: u8) {
    let mut idb = Vec::new();
    idb.extend_from_slice(&link.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    idb.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&[resol, 0, 0, 0]);
    idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    ng_block(out, 1, &idb);
}

fn ng_packet(out: &mut Vec<u8>, iface: u32, resol: u8, p: &Pkt) {
    let units = (p.ts_us as u128) * 10u128.pow(u32::from(resol)) / 1_000_000;
    let mut epb = Vec::new();
    epb.extend_from_slice(&iface.to_le_bytes());
    epb.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
    epb.extend_from_slice(&(units as u32).to_le_bytes());
    epb.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
    epb.extend_from_slice(&p.orig_len.to_le_bytes());
    epb.extend_from_slice(&p.data);
    let pad = (4 - p.data.len() % 4) % 4;
    epb.extend(std::iter::repeat_n(0u8, pad));
    ng_block(out, 6, &epb);
}

/// pcapng: the packets spread over two sections; in each section a dummy
/// interface (other link type, other resolution) comes first.
fn write_pcapng(pkts: &[Pkt], link: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let half = pkts.len() / 2;
    for (s, chunk) in [&pkts[..half], &pkts[half..]].into_iter().enumerate() {
        ng_section(&mut out);
        ng_interface(&mut out, 101, 6);
        let resol = if s == 0 { 9 } else { 6 };
        ng_interface(&mut out, link, resol);
        for p in chunk {
            ng_packet(&mut out, 1, resol, p);
        }
    }
    out
}

/// Re-encapsulates an Ethernet frame as Linux cooked v1 or v2.
fn to_cooked(p: &Pkt, v2: bool) -> Pkt {
    let ethertype = [p.data[12], p.data[13]];
    let payload = &p.data[14..];
    let mut d = Vec::new();
    if v2 {
        d.extend_from_slice(&ethertype);
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&2u32.to_be_bytes()); // ifindex
        d.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
        d.push(0); // packet type: to us
        d.push(6);
        d.extend_from_slice(&p.data[6..12]);
        d.extend_from_slice(&[0, 0]);
    } else {
        d.extend_from_slice(&0u16.to_be_bytes());
        d.extend_from_slice(&1u16.to_be_bytes());
        d.extend_from_slice(&6u16.to_be_bytes());
        d.extend_from_slice(&p.data[6..12]);
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&ethertype);
    }
    d.extend_from_slice(payload);
    let orig_len = p.orig_len - 14 + d.len() as u32 - payload.len() as u32;
    Pkt { ts_us: p.ts_us, link: if v2 { 276 } else { 113 }, orig_len, data: d }
}

/// Re-encapsulates an Ethernet frame carrying IPv4 under another link type:
/// raw IP (101, 228), BSD null (0, host order) and OpenBSD loop (108), or
/// Ethernet with one (802.1Q) or two (802.1ad + 802.1Q) VLAN tags.
fn reencap(p: &Pkt, link: u16) -> Pkt {
    let ip = &p.data[14..];
    let mut d = Vec::new();
    match link {
        101 | 228 => {}
        0 => d.extend_from_slice(&2u32.to_le_bytes()),
        108 => d.extend_from_slice(&2u32.to_be_bytes()),
        1 => {
            // QinQ: S-tag 0x88a8 then C-tag 0x8100.
            d.extend_from_slice(&p.data[..12]);
            d.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
            d.extend_from_slice(&p.data[12..14]);
        }
        _ => unreachable!(),
    }
    d.extend_from_slice(ip);
    let orig_len = p.orig_len - 14 + d.len() as u32 - ip.len() as u32;
    Pkt { ts_us: p.ts_us, link: if link == 1 { 1 } else { link }, orig_len, data: d }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meetgraph-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Messages without the capture-format-specific parts.
fn messages(path: &Path) -> Vec<Seen> {
    let (c, _) = run_files(&[path.to_path_buf()]);
    assert!(c.anomalies.is_empty(), "{}: {:?}", path.display(), c.anomalies);
    c.messages
}

#[test]
fn every_format_decodes_to_the_same_messages() {
    let src = samples_dir().join("redis-3.0.7-docker-bridge/dc.pcap.gz");
    let pkts = read_all(&src);
    assert!(pkts.iter().all(|p| p.link == LinkType::ETHERNET.0));
    let reference = messages(&src);
    assert!(reference.len() > 1000);
    let sll1: Vec<Pkt> = pkts.iter().map(|p| to_cooked(p, false)).collect();
    let sll2: Vec<Pkt> = pkts.iter().map(|p| to_cooked(p, true)).collect();
    let ipv4_only = pkts.iter().all(|p| p.data[12..14] == [0x08, 0x00]);
    assert!(ipv4_only, "the sample is IPv4 over Ethernet");
    let raw: Vec<Pkt> = pkts.iter().map(|p| reencap(p, 101)).collect();
    let raw4: Vec<Pkt> = pkts.iter().map(|p| reencap(p, 228)).collect();
    let null: Vec<Pkt> = pkts.iter().map(|p| reencap(p, 0)).collect();
    let lo: Vec<Pkt> = pkts.iter().map(|p| reencap(p, 108)).collect();
    let qinq: Vec<Pkt> = pkts.iter().map(|p| reencap(p, 1)).collect();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("us-le.pcap", write_pcap(&pkts, 1, false, false)),
        ("ns-be.pcap", write_pcap(&pkts, 1, true, true)),
        ("two-sections.pcapng", write_pcapng(&pkts, 1)),
        ("sll1.pcap", write_pcap(&sll1, 113, false, false)),
        ("sll2.pcapng", write_pcapng(&sll2, 276)),
        ("raw.pcap", write_pcap(&raw, 101, false, false)),
        ("ipv4.pcap", write_pcap(&raw4, 228, false, false)),
        ("null.pcap", write_pcap(&null, 0, false, false)),
        ("loop.pcapng", write_pcapng(&lo, 108)),
        ("qinq.pcap", write_pcap(&qinq, 1, true, false)),
    ];
    for (name, bytes) in variants {
        for (suffix, data) in [("", bytes.clone()), (".gz", gzip(&bytes))] {
            let p = tmp(&format!("{name}{suffix}"));
            std::fs::write(&p, &data).unwrap();
            assert_eq!(messages(&p), reference, "{name}{suffix}");
        }
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meetgraph"))
}

#[test]
fn truncated_file_gives_what_precedes_and_a_one_line_error() {
    let src = samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz");
    let pkts = read_all(&src);
    let bytes = write_pcap(&pkts, 1, false, false);
    let cut = bytes.len() / 2 + 7;
    let p = tmp("cut.pcap");
    std::fs::write(&p, &bytes[..cut]).unwrap();
    let mut f = CaptureFile::open(&p).unwrap();
    let mut n = 0;
    let err = loop {
        match f.advance() {
            Ok(true) => n += 1,
            Ok(false) => panic!("truncation not detected"),
            Err(e) => break e,
        }
    };
    assert!(n > pkts.len() / 3 && n < pkts.len());
    let msg = err.to_string();
    assert!(msg.contains("cut.pcap") && msg.contains("truncated"), "{msg}");
    assert!(!f.advance().unwrap(), "after an error the file reads as ended");

    let out = bin().args(["dump", "--stats", "-q"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("truncated at byte offset"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("messages "), "{stdout}");

    // Corrupt bytes in the middle of a gzip stream: also a clear error.
    let mut gz = std::fs::read(&src).unwrap();
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let p = tmp("corrupt.pcap.gz");
    std::fs::write(&p, &gz).unwrap();
    let out = bin().args(["dump", "-q", "--stats"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt.pcap.gz"));
}

#[test]
fn cli_exit_codes_and_stdin() {
    let missing = bin().args(["dump", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.pcap"));

    let text = tmp("notes.txt");
    std::fs::write(&text, "hello, this is not a capture\n").unwrap();
    let out = bin().arg("dump").arg(&text).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));

    let out = bin().args(["dump", "--ports", "70000", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["dump", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let src = samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz");
    let from_file = bin().args(["dump", "--format", "jsonl"]).arg(&src).output().unwrap();
    assert_eq!(from_file.status.code(), Some(0));
    let from_stdin =
        bin().args(["dump", "--format", "jsonl", "-"]).stdin(std::fs::File::open(&src).unwrap()).output().unwrap();
    assert_eq!(from_stdin.status.code(), Some(0));
    // dump names a capture by its file name, as analyze does.
    let norm = |b: &[u8]| String::from_utf8_lossy(b).replace("lo.pcap.gz", "-");
    assert_eq!(norm(&from_file.stdout), norm(&from_stdin.stdout));
    // jsonl keys the issue requires
    let first_msg = String::from_utf8_lossy(&from_file.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["record"] == "message")
        .unwrap();
    for k in ["ts_us", "capture", "frame", "src", "dst", "type", "sender", "gossip"] {
        assert!(first_msg.get(k).is_some(), "missing {k}");
    }
    assert_eq!(first_msg["sender"].as_str().unwrap().len(), 40);
    assert!(first_msg["ts_us"].is_i64());
}

#[test]
fn ports_filter_restricts_streams() {
    let src = samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz");
    let count = |ports: &str| -> usize {
        let out = bin().args(["dump", "--no-anomalies", "--ports", ports]).arg(&src).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.contains(" COMMAND ")).count()
    };
    let all = count("1-65535");
    let one = count("17000");
    assert!(one > 0 && one < all, "{one} of {all}");
    assert_eq!(count("1-10"), 0);
}

#[test]
fn events_subcommand_prints_the_analysis_input_as_json_lines() {
    let src = samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz");
    let out = bin().arg("events").arg(&src).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: std::collections::BTreeSet<&str> = lines.iter().filter_map(|v| v["kind"]["event"].as_str()).collect();
    assert_eq!(kinds, ["command", "message", "stream_end"].into_iter().collect());
    // Every event points at a real frame (FIN frames for stream ends).
    assert!(lines.iter().all(|v| v["frame"].as_u64().unwrap() > 0));
    let meets = lines.iter().filter(|v| v["kind"]["msg_type"] == "meet").count();
    let (c, _) = common::run_files(&[src]);
    assert_eq!(meets, c.messages.iter().filter(|m| m.msg_type == "meet").count());
}

#[test]
fn packets_of_an_unsupported_link_type_are_named_on_stderr_and_skipped() {
    let src = samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz");
    let pkts = read_all(&src);
    // One pcapng, two interfaces: the real capture, and an 802.11 radio
    // interface carrying copies of every tenth packet.
    let mut bytes = Vec::new();
    ng_section(&mut bytes);
    ng_interface(&mut bytes, pkts[0].link, 6);
    ng_interface(&mut bytes, 127, 6);
    let mut radio = 0;
    for (i, p) in pkts.iter().enumerate() {
        ng_packet(&mut bytes, 0, 6, p);
        if i % 10 == 0 {
            ng_packet(&mut bytes, 1, 6, p);
            radio += 1;
        }
    }
    let p = tmp("radio.pcapng");
    std::fs::write(&p, &bytes).unwrap();
    let json = |path: &Path| {
        let out = bin().args(["analyze", "--json", "-"]).arg(path).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (mixed, stderr) = json(&p);
    assert!(stderr.contains(&format!("skipped {radio} packet(s) of link type IEEE802_11_RADIO (127)")), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(mixed["anomalies"]["unsupported_link"], radio);
    // The same story: frame numbers shift (the radio packets are frames
    // too) and the capture's name differs, nothing else.
    let (plain, _) = json(&src);
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    m.retain(|k, _| !["frame", "capture", "vantage", "evidence", "addresses"].contains(&k.as_str()));
                    m.values_mut().for_each(walk);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    };
    assert_eq!(plain["merges"].as_array().map(Vec::len), Some(1));
    for key in ["nodes", "introductions", "merges", "joins", "damage"] {
        assert_eq!(strip(&mixed[key]), strip(&plain[key]), "{key} changed by the skipped packets");
    }
    let out = bin().args(["dump", "-q", "--stats"]).arg(&p).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("IEEE802_11_RADIO"));
    assert_eq!(LinkType(127).to_string(), "IEEE802_11_RADIO (127)");
    assert_eq!(LinkType(4242).to_string(), "4242");
}
