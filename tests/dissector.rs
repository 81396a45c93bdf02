//! The Wireshark dissector (`wireshark/rcmb.lua`, issue 30) against
//! meetgraph's own parser, through tshark (installed by `.ci/run`):
//! - on every capture of every sample, tshark with the dissector lists
//!   exactly the messages `meetgraph dump` lists: same frame, type and
//!   sender for each (light messages have no sender; the TLS samples have
//!   no message on either side); the samples hold both desegmentation
//!   cases (several messages in one segment, one message over several);
//! - a sample whose every TCP payload is cut into many small segments
//!   still gives the same messages on both sides;
//! - crafted messages of every layout, type and extension decode to the
//!   expected fields and are counted like meetgraph counts them; malformed
//!   ones are flagged as expert info (and meetgraph drops them);
//! - damaged and hostile captures (cut, bits flipped, fields overwritten,
//!   short snaplen, reassembly off, junk that starts like the bus) never
//!   make the script raise a Lua error or a malformed-packet exception.

mod common;

use common::tcp_frame as frame;
use common::{is_encrypted_sample, samples_dir};
use flate2::read::GzDecoder;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const TYPE_NAMES: [&str; 11] = [
    "ping",
    "pong",
    "meet",
    "fail",
    "publish",
    "failover_auth_request",
    "failover_auth_ack",
    "update",
    "mfstart",
    "module",
    "publishshard",
];

/// One message as both sides list it: the frame that completes it, its
/// type name (meetgraph's names) and its sender ("" for light messages).
type Msg = (u64, String, String);

/// The dissector as `meetgraph dissector` prints it (what a user installs),
/// written once to a temporary file; it must be the shipped file.
fn lua_script() -> String {
    static PRINTED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let path = PRINTED.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).arg("dissector").output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let shipped = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("wireshark/rcmb.lua")).unwrap();
        assert!(out.stdout == shipped, "`meetgraph dissector` prints wireshark/rcmb.lua");
        let p = std::env::temp_dir().join(format!("meetgraph-rcmb-{}.lua", std::process::id()));
        std::fs::write(&p, &out.stdout).unwrap();
        p
    });
    format!("lua_script:{}", path.display())
}

fn type_name(n: &str) -> String {
    n.parse::<usize>().ok().and_then(|i| TYPE_NAMES.get(i)).unwrap_or(&"unknown").to_string()
}

/// What tshark with the dissector shows of a capture.
#[derive(Default)]
struct Seen {
    messages: Vec<Msg>,
    /// Frames where TCP reassembled a PDU, with its segment count.
    reassembled: BTreeMap<u64, u32>,
    /// Lua errors, malformed-packet exceptions, internal dissector errors
    /// (the frame and what tshark said), and Lua messages on stderr.
    errors: Vec<String>,
    /// Per frame, the rcmb expert infos (abbreviation suffixes) present.
    experts: BTreeMap<u64, BTreeSet<String>>,
    /// Frames whose senders could not be paired with their messages (a
    /// sender holding the `|` that separates values: hostile bytes only).
    misaligned: usize,
}

const EXPERTS: [&str; 11] = [
    "length_mismatch",
    "impossible_length",
    "unknown_version",
    "bad_extension",
    "extension_length",
    "bad_light_header",
    "unknown_type",
    "truncated",
    "bad_signature",
    "resync",
    "internal",
];

/// Runs tshark with the dissector over `path` (`extra`: more options).
fn tshark(path: &Path, extra: &[&str]) -> Seen {
    let mut cmd = Command::new("tshark");
    // Flannel's VXLAN port is not Wireshark's default (4789): decode it as
    // a user of the overlay sample would (wireshark/README.md says so).
    cmd.args(["-n", "-d", "udp.port==8472,vxlan", "-r"]).arg(path).args(["-X", &lua_script()]).args(extra);
    cmd.args(["-Y", "rcmb || _ws.lua.error || _ws.malformed", "-T", "fields", "-E", "aggregator=|"]);
    let base = ["frame.number", "rcmb.layout", "rcmb.type", "rcmb.sender", "tcp.segment.count"];
    let checks = ["_ws.lua.error", "_ws.malformed", "frame.protocols", "_ws.expert.message"];
    for f in base.iter().chain(checks.iter()) {
        cmd.args(["-e", f]);
    }
    for x in EXPERTS {
        cmd.args(["-e", &format!("rcmb.expert.{x}")]);
    }
    let out = cmd.output().expect("tshark runs (install it: apt-get install tshark; .ci/run does)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut seen = Seen::default();
    for l in stderr.lines().filter(|l| l.contains("Lua") || l.contains("rcmb")) {
        seen.errors.push(format!("stderr: {l}"));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c.len(), base.len() + checks.len() + EXPERTS.len(), "{line}");
        let frame: u64 = c[0].parse().unwrap();
        let list = |s: &str| -> Vec<String> {
            if s.is_empty() { Vec::new() } else { s.split('|').map(str::to_string).collect() }
        };
        let (layouts, types, senders) = (list(c[1]), list(c[2]), list(c[3]));
        assert_eq!(layouts.len(), types.len(), "one layout and one type per message: {line}");
        // Layout 2 is the light header: no sender field.
        if senders.len() != layouts.iter().filter(|l| *l != "2").count() {
            seen.misaligned += 1;
        }
        let mut senders = senders.into_iter();
        for (layout, t) in layouts.iter().zip(&types) {
            let sender = if layout == "2" { String::new() } else { senders.next().unwrap_or_default() };
            seen.messages.push((frame, type_name(t), sender));
        }
        if let Some(n) = list(c[4]).iter().filter_map(|s| s.parse().ok()).max() {
            seen.reassembled.insert(frame, n);
        }
        // A Lua error anywhere; an exception (malformed packet) in a frame
        // the dissector took part in (a damaged capture can make other
        // dissectors throw: a flipped IP protocol byte reaches RSVP's).
        let ours = c[7].split(':').any(|p| p == "rcmb");
        if !c[5].is_empty() || (!c[6].is_empty() && ours) {
            seen.errors.push(format!("frame {frame}: {}", c[8]));
        }
        let present: BTreeSet<String> = EXPERTS
            .iter()
            .zip(&c[base.len() + checks.len()..])
            .filter(|(_, v)| !v.is_empty())
            .map(|(x, _)| x.to_string())
            .collect();
        if present.contains("internal") {
            seen.errors.push(format!("frame {frame}: internal dissector error: {}", c[8]));
        }
        if !present.is_empty() {
            seen.experts.entry(frame).or_default().extend(present);
        }
    }
    seen
}

/// `meetgraph dump --format jsonl` of one capture: its messages, and the
/// first frame of each (the frame carrying its first byte).
fn dump(path: &Path) -> (Vec<Msg>, Vec<u64>) {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .args(["dump", "--format", "jsonl", "--no-progress"])
        .arg(path)
        .output()
        .unwrap();
    let mut msgs = Vec::new();
    let mut first = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["record"] != "message" {
            continue;
        }
        let sender = v["sender"].as_str().unwrap_or_default().to_string();
        msgs.push((v["frame"].as_u64().unwrap(), v["type"].as_str().unwrap().to_string(), sender));
        first.push(v["first_frame"].as_u64().unwrap());
    }
    (msgs, first)
}

fn sorted(mut v: Vec<Msg>) -> Vec<Msg> {
    v.sort();
    v
}

/// Every capture file of every sample directory (TLS ones included).
fn every_sample_capture() -> (usize, Vec<PathBuf>) {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(samples_dir()).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut files = Vec::new();
    for d in &dirs {
        let before = files.len();
        for f in std::fs::read_dir(d).unwrap().flatten() {
            let n = f.file_name().to_string_lossy().into_owned();
            if [".pcap", ".pcap.gz", ".pcapng", ".pcapng.gz"].iter().any(|x| n.ends_with(x)) {
                files.push(f.path());
            }
        }
        assert!(files.len() > before, "{} holds no capture", d.display());
    }
    files.sort();
    (dirs.len(), files)
}

/// Runs `f` over `items` on a few threads (tshark is single-threaded).
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> = items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    *results[i].lock().unwrap() = Some(f(item));
                }
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().unwrap().unwrap()).collect()
}

#[test]
fn tshark_sees_exactly_the_messages_meetgraph_dump_sees_in_every_sample() {
    let (dirs, files) = every_sample_capture();
    assert!(dirs >= 30 && files.len() >= dirs, "{dirs} sample directories, {} captures", files.len());
    let results = parallel(&files, |f| (tshark(f, &[]), dump(f)));
    let (mut total, mut multi, mut split) = (0usize, 0usize, 0usize);
    for (path, (seen, (msgs, first))) in files.iter().zip(results) {
        let name = path.strip_prefix(samples_dir()).unwrap().display().to_string();
        assert!(seen.errors.is_empty(), "{name}: {:?}", seen.errors);
        assert_eq!(seen.misaligned, 0, "{name}");
        let encrypted = is_encrypted_sample(path.parent().unwrap());
        assert_eq!(msgs.is_empty(), encrypted, "{name}: {} messages from meetgraph", msgs.len());
        let (t, m) = (sorted(seen.messages.clone()), sorted(msgs.clone()));
        if t != m {
            let only_t: Vec<_> = t.iter().filter(|x| !m.contains(x)).take(5).collect();
            let only_m: Vec<_> = m.iter().filter(|x| !t.contains(x)).take(5).collect();
            panic!(
                "{name}: tshark {} messages, meetgraph {}\n tshark only: {only_t:?}\n meetgraph only: {only_m:?}",
                t.len(),
                m.len()
            );
        }
        // No rcmb expert info on real captures: every message is whole and
        // well formed.
        assert!(seen.experts.is_empty(), "{name}: {:?}", seen.experts);
        total += m.len();
        let mut per_frame: BTreeMap<u64, usize> = BTreeMap::new();
        for (frame, _, _) in &m {
            *per_frame.entry(*frame).or_default() += 1;
        }
        multi += per_frame.values().filter(|&&n| n > 1).count();
        for ((frame, _, _), first) in msgs.iter().zip(&first) {
            if first < frame {
                // A message over several segments: tshark reassembled it and
                // shows it in the frame that completed it, as meetgraph does.
                let n = seen.reassembled.get(frame).copied().unwrap_or(0);
                assert!(n >= 2, "{name}: frames {first}-{frame} hold one message, tshark reassembled {n} segments");
                split += 1;
            }
        }
    }
    assert!(total > 30_000, "{total} messages");
    assert!(multi >= 100, "{multi} frames with several messages");
    assert!(split >= 1, "{split} messages over several segments");
}

// ---------------------------------------------------------------------------
// Captures: reading and writing little-endian µs pcaps, Ethernet/IPv4/TCP.
// ---------------------------------------------------------------------------

/// A pcap's 24-byte header and its records (16-byte record header, data).
struct Pcap {
    header: Vec<u8>,
    records: Vec<([u8; 16], Vec<u8>)>,
}

impl Pcap {
    fn read_sample(rel: &str) -> Pcap {
        let mut raw = Vec::new();
        GzDecoder::new(std::fs::File::open(samples_dir().join(rel)).unwrap()).read_to_end(&mut raw).unwrap();
        Pcap::parse(raw)
    }

    fn parse(raw: Vec<u8>) -> Pcap {
        assert_eq!(&raw[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "a little-endian µs pcap");
        let mut records = Vec::new();
        let mut at = 24;
        while at + 16 <= raw.len() {
            let incl = u32::from_le_bytes(raw[at + 8..at + 12].try_into().unwrap()) as usize;
            records.push((raw[at..at + 16].try_into().unwrap(), raw[at + 16..at + 16 + incl].to_vec()));
            at += 16 + incl;
        }
        Pcap { header: raw[..24].to_vec(), records }
    }

    /// The link type; the tests that rewrite frames need Ethernet (1).
    fn ethernet(self) -> Pcap {
        assert_eq!(u32::from_le_bytes(self.header[20..24].try_into().unwrap()), 1, "Ethernet");
        self
    }

    fn new() -> Pcap {
        let mut header = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        header.extend_from_slice(&262_144u32.to_le_bytes());
        header.extend_from_slice(&1u32.to_le_bytes());
        Pcap { header, records: Vec::new() }
    }

    fn push(&mut self, data: Vec<u8>) {
        let n = self.records.len() as u32;
        let mut h = [0u8; 16];
        h[..4].copy_from_slice(&1_800_000_000u32.to_le_bytes());
        h[4..8].copy_from_slice(&(n * 1000).to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        self.records.push((h, data));
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for (h, d) in &self.records {
            out.extend_from_slice(h);
            out.extend_from_slice(d);
        }
        out
    }
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meetgraph-dissector-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Where the TCP payload of an Ethernet/IPv4 frame starts, and its TCP
/// sequence number offset in the frame.
fn tcp_payload(frame: &[u8]) -> Option<(usize, usize)> {
    if frame.get(12..14)? != [8, 0] {
        return None;
    }
    let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
    let tcp = 14 + ihl;
    if *frame.get(23)? != 6 {
        return None;
    }
    let doff = usize::from(frame.get(tcp + 12)? >> 4) * 4;
    let start = tcp + doff;
    (start <= frame.len()).then_some((start, tcp + 4))
}

/// A deterministic generator (the runs repeat).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The sample with every TCP payload cut into segments of 1 to 1,500
/// bytes (sequence numbers adjusted), so that most messages span several
/// segments and segment starts fall anywhere in a message.
fn resegmented(rel: &str, seed: u64) -> Vec<u8> {
    let src = Pcap::read_sample(rel).ethernet();
    let mut rng = Rng(seed);
    let mut out = Pcap { header: src.header.clone(), records: Vec::new() };
    for (h, d) in src.records {
        let Some((start, seq_at)) = tcp_payload(&d).filter(|(s, _)| d.len() - s > 1) else {
            out.records.push((h, d));
            continue;
        };
        let seq = u32::from_be_bytes(d[seq_at..seq_at + 4].try_into().unwrap());
        let payload = &d[start..];
        let mut at = 0;
        while at < payload.len() {
            let n = [1, 3, 9, 100, 700, 1500][rng.below(6)].min(payload.len() - at);
            let mut f = d[..start].to_vec();
            f.extend_from_slice(&payload[at..at + n]);
            let ip_len = (f.len() - 14) as u16;
            f[16..18].copy_from_slice(&ip_len.to_be_bytes());
            f[seq_at..seq_at + 4].copy_from_slice(&seq.wrapping_add(at as u32).to_be_bytes());
            let mut rh = h;
            rh[8..12].copy_from_slice(&(f.len() as u32).to_le_bytes());
            rh[12..16].copy_from_slice(&(f.len() as u32).to_le_bytes());
            out.records.push((rh, f));
            at += n;
        }
    }
    out.bytes()
}

#[test]
fn messages_cut_into_many_segments_are_reassembled_like_meetgraph_does() {
    for (rel, seed) in [("redis-7.0-loopback-merge/lo.pcap.gz", 7), ("redis-3.0.7-loopback-merge/lo.pcap.gz", 3)] {
        let path = temp_file(&format!("reseg-{}.pcap", rel.split('/').next().unwrap()), &resegmented(rel, seed));
        let seen = tshark(&path, &[]);
        let (msgs, first) = dump(&path);
        assert!(seen.errors.is_empty(), "{rel}: {:?}", seen.errors);
        assert!(seen.experts.is_empty(), "{rel}: {:?}", seen.experts);
        let (whole, _) = dump(&samples_dir().join(rel));
        assert_eq!(msgs.len(), whole.len(), "{rel}: meetgraph lost messages to the cutting");
        assert_eq!(sorted(seen.messages), sorted(msgs.clone()), "{rel}");
        let split = first.iter().zip(&msgs).filter(|(f, m)| **f < m.0).count();
        assert!(split * 2 > msgs.len(), "{rel}: only {split} of {} messages span segments", msgs.len());
    }
}

/// The capture without its first `skip` packets: every connection open at
/// that point is joined mid-way.
fn joined_late(pcap: Pcap, skip: usize) -> Vec<u8> {
    Pcap { header: pcap.header, records: pcap.records.into_iter().skip(skip).collect() }.bytes()
}

#[test]
fn captures_joined_mid_stream_give_the_same_messages() {
    // Packet-aligned: bus servers write whole messages, so a capture that
    // starts late still starts its connections on message boundaries (the
    // heuristic's case). Same frame, type and sender for every message.
    for rel in ["redis-7.0-loopback-merge/lo.pcap.gz", "redis-3.0.7-docker-bridge/h1.pcap.gz"] {
        let p = Pcap::read_sample(rel);
        let skip = p.records.len() / 2;
        let path = temp_file(&format!("late-{}.pcap", rel.replace('/', "-")), &joined_late(p, skip));
        let seen = tshark(&path, &[]);
        let (msgs, _) = dump(&path);
        assert!(seen.errors.is_empty(), "{rel}: {:?}", seen.errors);
        assert!(msgs.len() > 200, "{rel}: {} messages", msgs.len());
        assert_eq!(sorted(seen.messages), sorted(msgs), "{rel}");
    }
    // Segments of 1 to 1,500 bytes: connections are joined inside messages
    // and message starts fall anywhere; both find every message after the
    // first start. Frames are not compared here: meetgraph dates the
    // messages it frames out of its resynchronisation window at the
    // window's first packet (first_frame == frame), tshark at the packet
    // that completes them.
    let cut = Pcap::parse(resegmented("redis-7.0-loopback-merge/lo.pcap.gz", 7));
    let skip = cut.records.len() / 3;
    let path = temp_file("late-reseg.pcap", &joined_late(cut, skip));
    let seen = tshark(&path, &[]);
    let (msgs, _) = dump(&path);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    let kinds = |v: &[Msg]| -> BTreeMap<(String, String), usize> {
        let mut m = BTreeMap::new();
        for (_, t, s) in v {
            *m.entry((t.clone(), s.clone())).or_default() += 1;
        }
        m
    };
    assert!(msgs.len() > 300, "{} messages", msgs.len());
    assert_eq!(kinds(&seen.messages), kinds(&msgs));
    let experts: BTreeSet<String> = seen.experts.values().flatten().cloned().collect();
    assert!(experts.contains("resync"), "{experts:?}");
}

// ---------------------------------------------------------------------------
// Crafted messages (the spec's layouts, §2-§5 of the protocol notes)
// ---------------------------------------------------------------------------

const S1: &[u8; 40] = b"1111111111aaaaaaaaaa1111111111aaaaaaaaaa";
const S0: &[u8; 40] = b"0000000000bbbbbbbbbb0000000000bbbbbbbbbb";
const OTHER: &[u8; 40] = b"fedcba9876543210fedcba9876543210fedcba98";
const SHARD: &[u8; 40] = b"5555555555cccccccccc5555555555cccccccccc";

/// Header fields a crafted V1 message may change.
struct V1 {
    wire_type: u16,
    sender: [u8; 40],
    count: u16,
    extensions: u16,
    mflags0: u8,
    replicaof: Option<[u8; 40]>,
    myip: &'static str,
    pport: u16,
    flags: u16,
    ver: u16,
}

impl V1 {
    fn of(wire_type: u16) -> V1 {
        V1 {
            wire_type,
            sender: *S1,
            count: 0,
            extensions: 0,
            mflags0: 0,
            replicaof: None,
            myip: "",
            pport: 0,
            flags: 0x0011,
            ver: 1,
        }
    }

    fn build(&self, body: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; 2256];
        m[..4].copy_from_slice(b"RCmb");
        m[8..10].copy_from_slice(&self.ver.to_be_bytes());
        m[10..12].copy_from_slice(&7001u16.to_be_bytes());
        m[12..14].copy_from_slice(&self.wire_type.to_be_bytes());
        m[14..16].copy_from_slice(&self.count.to_be_bytes());
        m[16..24].copy_from_slice(&9u64.to_be_bytes());
        m[24..32].copy_from_slice(&4u64.to_be_bytes());
        m[32..40].copy_from_slice(&123_456u64.to_be_bytes());
        m[40..80].copy_from_slice(&self.sender);
        m[80..2128].copy_from_slice(&slots(&[(0, 99), (200, 200)]));
        if let Some(r) = self.replicaof {
            m[2128..2168].copy_from_slice(&r);
        }
        m[2168..2168 + self.myip.len()].copy_from_slice(self.myip.as_bytes());
        m[2214..2216].copy_from_slice(&self.extensions.to_be_bytes());
        m[2246..2248].copy_from_slice(&self.pport.to_be_bytes());
        m[2248..2250].copy_from_slice(&17001u16.to_be_bytes());
        m[2250..2252].copy_from_slice(&self.flags.to_be_bytes());
        m[2253] = self.mflags0;
        m.extend_from_slice(body);
        let t = m.len() as u32;
        m[4..8].copy_from_slice(&t.to_be_bytes());
        m
    }
}

/// A V0 (Redis 3.x) message.
fn v0(wire_type: u16, count: u16, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 2208];
    m[..4].copy_from_slice(b"RCmb");
    m[12..14].copy_from_slice(&wire_type.to_be_bytes());
    m[14..16].copy_from_slice(&count.to_be_bytes());
    m[16..24].copy_from_slice(&5u64.to_be_bytes());
    m[24..32].copy_from_slice(&2u64.to_be_bytes());
    m[40..80].copy_from_slice(S0);
    m[80..2128].copy_from_slice(&slots(&[(5461, 10922)]));
    m[2200..2202].copy_from_slice(&7000u16.to_be_bytes());
    m[2202..2204].copy_from_slice(&0x0011u16.to_be_bytes());
    m.extend_from_slice(body);
    let t = m.len() as u32;
    m[4..8].copy_from_slice(&t.to_be_bytes());
    m
}

/// A light-header message (Valkey 8+, §5).
fn light(wire_type: u16, body: &[u8]) -> Vec<u8> {
    let mut m = b"RCmb".to_vec();
    m.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0]);
    m.extend_from_slice(&wire_type.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(body);
    m
}

fn slots(ranges: &[(u16, u16)]) -> [u8; 2048] {
    let mut b = [0u8; 2048];
    for &(lo, hi) in ranges {
        for s in lo..=hi {
            b[usize::from(s / 8)] |= 1 << (s % 8);
        }
    }
    b
}

/// A 104-byte gossip entry: V1 (cport at 96, flags at 98, pport at 100)
/// or V0 (flags at 96).
fn gossip(name: &[u8; 40], ip: &str, port: u16, flags: u16, v0: bool) -> Vec<u8> {
    let mut e = vec![0u8; 104];
    e[..40].copy_from_slice(name);
    e[44..48].copy_from_slice(&1_800_000_000u32.to_be_bytes());
    e[48..48 + ip.len()].copy_from_slice(ip.as_bytes());
    e[94..96].copy_from_slice(&port.to_be_bytes());
    if v0 {
        e[96..98].copy_from_slice(&flags.to_be_bytes());
    } else {
        e[96..98].copy_from_slice(&(port + 10000).to_be_bytes());
        e[98..100].copy_from_slice(&flags.to_be_bytes());
        e[100..102].copy_from_slice(&(port + 400).to_be_bytes());
    }
    e
}

/// An extension record (§4.2), body zero-padded to 8 bytes.
fn ext(ext_type: u16, body: &[u8]) -> Vec<u8> {
    let len = 8 + body.len().div_ceil(8) * 8;
    let mut e = (len as u32).to_be_bytes().to_vec();
    e.extend_from_slice(&ext_type.to_be_bytes());
    e.extend_from_slice(&[0, 0]);
    e.extend_from_slice(body);
    e.resize(len, 0);
    e
}

fn cstr(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}

fn publish_body(channel: &str, message: &str) -> Vec<u8> {
    let mut b = (channel.len() as u32).to_be_bytes().to_vec();
    b.extend_from_slice(&(message.len() as u32).to_be_bytes());
    b.extend_from_slice(channel.as_bytes());
    b.extend_from_slice(message.as_bytes());
    b
}

/// MODULE body: module_id in the sender's (x86: little-endian) order.
fn module_body(name: &str, module_type: u8, payload: &[u8]) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = 0u64;
    for c in name.bytes() {
        id = id * 64 + ABC.iter().position(|&x| x == c).unwrap() as u64;
    }
    let mut b = (id * 1024).to_le_bytes().to_vec();
    b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    b.push(module_type);
    b.extend_from_slice(payload);
    b
}

/// A TCP connection in a crafted capture.
struct Flow {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    cseq: u32,
    sseq: u32,
}

impl Flow {
    /// A connection from 10.0.0.1:`cport` to 10.0.0.2:`sport`, with its
    /// handshake when `syn`.
    fn open(cap: &mut Pcap, cport: u16, sport: u16, syn: bool) -> Flow {
        let f = Flow { client: ([10, 0, 0, 1], cport), server: ([10, 0, 0, 2], sport), cseq: 1001, sseq: 5001 };
        if syn {
            cap.push(frame(f.client, f.server, 1000, 0, 0x02, &[]));
            cap.push(frame(f.server, f.client, 5000, 1001, 0x12, &[]));
            cap.push(frame(f.client, f.server, 1001, 5001, 0x10, &[]));
        }
        f
    }

    /// One segment from the client (or from the server) with `payload`.
    fn send(&mut self, cap: &mut Pcap, from_client: bool, payload: &[u8]) {
        let (src, dst, seq, ack) = if from_client {
            (self.client, self.server, &mut self.cseq, self.sseq)
        } else {
            (self.server, self.client, &mut self.sseq, self.cseq)
        };
        cap.push(frame(src, dst, *seq, ack, 0x18, payload));
        *seq = seq.wrapping_add(payload.len() as u32);
    }
}

/// Valid messages of every kind: each layout, every type, every extension
/// type (both numberings, and the Redis 8 / Valkey collision), a replica's
/// header, and what the spec shows of the light header.
fn valid_messages() -> Vec<Vec<u8>> {
    let mut meet = V1::of(2);
    meet.count = 2;
    meet.mflags0 = 0x04;
    let exts: Vec<Vec<u8>> = vec![
        ext(0, &cstr("host-a")),
        ext(1, &cstr("human-a")),
        ext(4, &cstr("10.1.2.3")),
        ext(5, &cstr("fd00::1")),
        ext(6, &7001u16.to_be_bytes()),
        ext(7, &7101u16.to_be_bytes()),
        ext(8, &cstr("az-1")),
        ext(2, &[&OTHER[..], &42u64.to_be_bytes()].concat()),
        ext(3, SHARD),
    ];
    meet.extensions = exts.len() as u16;
    let mut body = gossip(OTHER, "10.0.0.7", 7003, 0x0001, false);
    body.extend(gossip(SHARD, "10.0.0.8", 7004, 0x0402, false));
    body.extend(exts.concat());
    let meet = meet.build(&body);

    // Redis 7.2-rc numbering (1 = forgotten node, 2 = shard id).
    let mut ping = V1::of(0);
    ping.mflags0 = 0x04;
    ping.extensions = 2;
    let ping = ping.build(&[ext(1, &[&OTHER[..], &7u64.to_be_bytes()].concat()), ext(2, SHARD)].concat());

    // Redis 8's internal secret (type 4, 40 bytes), an unknown extension
    // type, and a hostname of 64 KiB (valid, but flagged).
    let mut pong = V1::of(1);
    pong.mflags0 = 0x04;
    pong.extensions = 3;
    pong.replicaof = Some(*OTHER);
    pong.flags = 0x0012;
    pong.myip = "10.0.0.9";
    pong.pport = 7443;
    let big = "h".repeat(65_600);
    let pong = pong.build(&[ext(4, &[7u8; 40]), ext(42, b"opaque"), ext(0, &cstr(&big))].concat());

    let mut update = 77u64.to_be_bytes().to_vec();
    update.extend_from_slice(OTHER);
    update.extend_from_slice(&slots(&[(0, 99), (200, 200)]));

    vec![
        meet,
        ping,
        pong,
        V1::of(3).build(OTHER),
        V1::of(4).build(&publish_body("ch", "hello")),
        V1::of(10).build(&publish_body("sch", "msg")),
        V1::of(5).build(&[]),
        V1::of(6).build(&[]),
        V1::of(7).build(&update),
        V1::of(8).build(&[]),
        V1::of(9).build(&module_body("abcdefghi", 3, b"xyz")),
        V1::of(11).build(b"12345678"),
        // The spec's light PUBLISH "ch"/"hello" (31 bytes), then light
        // PUBLISHSHARD and MODULE.
        light(0x8004, &publish_body("ch", "hello")),
        light(0x800a, &publish_body("lsch", "light")),
        light(0x8009, &module_body("Modulenam", 1, b"")),
        v0(0, 1, &gossip(OTHER, "10.0.0.7", 7003, 0x0001, true)),
        v0(3, 0, OTHER),
        v0(7, 0, &update),
        v0(4, 0, &publish_body("v0ch", "")),
    ]
}

/// The valid messages over four connections: one on a registered bus
/// port (some segments holding several messages, one message split over
/// several segments), one on a port nobody registers (the heuristic), two
/// joined mid-stream (no handshake, the first segment starts inside a
/// message), on a registered port and on another.
fn valid_capture() -> Vec<u8> {
    let msgs = valid_messages();
    assert_eq!(
        &msgs[12][..],
        b"RCmb\x00\x00\x00\x1f\x00\x01\x00\x00\x80\x04\x00\x00\x00\x00\x00\x02\x00\x00\x00\x05chhello"
    );
    let mut cap = Pcap::new();
    let mut a = Flow::open(&mut cap, 40001, 17001, true);
    a.send(&mut cap, true, &msgs[0]);
    let two = [&msgs[1][..], &msgs[3][..], &msgs[4][..]].concat();
    a.send(&mut cap, true, &two);
    // The 68 KB PONG over several segments, the first one 5 bytes long.
    let p = &msgs[2];
    a.send(&mut cap, false, &p[..5]);
    a.send(&mut cap, false, &p[5..3000]);
    for chunk in p[3000..].chunks(30_000) {
        a.send(&mut cap, false, chunk);
    }
    for m in &msgs[5..12] {
        a.send(&mut cap, true, m);
    }
    a.send(&mut cap, false, &msgs[12..15].concat());
    let mut b = Flow::open(&mut cap, 40002, 27001, true);
    for m in &msgs[15..] {
        b.send(&mut cap, true, m);
    }
    b.send(&mut cap, false, &msgs[4]);
    let mut c = Flow::open(&mut cap, 40003, 17002, false);
    let tail = &msgs[1][msgs[1].len() - 50..];
    c.send(&mut cap, true, &[tail, &msgs[5][..]].concat());
    // Joined mid-way on a port nobody registers: the heuristic finds the
    // plausible header after the tail.
    let mut d = Flow::open(&mut cap, 40004, 27002, false);
    d.send(&mut cap, true, &[tail, &msgs[6][..]].concat());
    cap.bytes()
}

/// Every value tshark gives for `fields` over the capture.
fn field_values(path: &Path, fields: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args(["-X", &lua_script(), "-Y", "rcmb", "-T", "fields", "-E", "aggregator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        for (f, v) in fields.iter().zip(line.split('\t')) {
            for x in v.split('|').filter(|x| !x.is_empty()) {
                // Booleans print as 1/0 (tshark 4.0) or True/False.
                let x = match x {
                    "True" => "1",
                    "False" => "0",
                    x => x,
                };
                m.entry(f.to_string()).or_default().insert(x.to_string());
            }
        }
    }
    m
}

#[test]
fn crafted_messages_of_every_kind_decode_and_count_like_meetgraph() {
    let path = temp_file("valid.pcap", &valid_capture());
    let seen = tshark(&path, &[]);
    let (msgs, _) = dump(&path);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    assert_eq!(seen.misaligned, 0);
    assert_eq!(msgs.len(), valid_messages().len() + 3, "meetgraph: {msgs:?}");
    assert_eq!(sorted(seen.messages), sorted(msgs));
    // Expert info only where due: the 64 KiB extension, the unknown type,
    // the bytes before the mid-stream connections' first messages.
    let experts: BTreeSet<String> = seen.experts.values().flatten().cloned().collect();
    let expected: BTreeSet<String> =
        ["extension_length", "unknown_type", "resync"].iter().map(|s| s.to_string()).collect();
    assert_eq!(experts, expected);

    let s1 = String::from_utf8_lossy(S1).into_owned();
    let other = String::from_utf8_lossy(OTHER).into_owned();
    let shard = String::from_utf8_lossy(SHARD).into_owned();
    let want: &[(&str, &[&str])] = &[
        ("rcmb.ver", &["0", "1"]),
        ("rcmb.layout", &["0", "1", "2"]),
        ("rcmb.light", &["1"]),
        ("rcmb.type", &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]),
        ("rcmb.sender", &[&s1, &String::from_utf8_lossy(S0)]),
        ("rcmb.current_epoch", &["9", "5"]),
        ("rcmb.config_epoch", &["4", "2"]),
        ("rcmb.offset", &["123456"]),
        ("rcmb.slots", &["0-99,200", "5461-10922"]),
        ("rcmb.slot_count", &["101", "5462"]),
        ("rcmb.replicaof", &[&other]),
        ("rcmb.myip", &["10.0.0.9"]),
        ("rcmb.port", &["7001", "7000"]),
        ("rcmb.pport", &["7443"]),
        ("rcmb.cport", &["17001", "17000"]),
        ("rcmb.flags.master", &["1", "0"]),
        ("rcmb.flags.slave", &["1", "0"]),
        ("rcmb.flags.myself", &["1"]),
        ("rcmb.state", &["0"]),
        ("rcmb.mflags.ext_data", &["1", "0"]),
        ("rcmb.extensions", &["9", "2", "3"]),
        ("rcmb.gossip.name", &[&other, &shard]),
        ("rcmb.gossip.ip", &["10.0.0.7", "10.0.0.8"]),
        ("rcmb.gossip.port", &["7003", "7004"]),
        ("rcmb.gossip.cport", &["17003", "17004"]),
        ("rcmb.gossip.pport", &["7403", "7404"]),
        ("rcmb.gossip.flags.ext_supported", &["1", "0"]),
        ("rcmb.ext.hostname", &["host-a"]),
        ("rcmb.ext.human_nodename", &["human-a"]),
        ("rcmb.ext.client_ipv4", &["10.1.2.3"]),
        ("rcmb.ext.client_ipv6", &["fd00::1"]),
        ("rcmb.ext.client_port", &["7001"]),
        ("rcmb.ext.client_tls_port", &["7101"]),
        ("rcmb.ext.availability_zone", &["az-1"]),
        ("rcmb.ext.forgotten.name", &[&other]),
        ("rcmb.ext.forgotten.ttl", &["42", "7"]),
        ("rcmb.ext.shard_id", &[&shard]),
        ("rcmb.fail.name", &[&other]),
        ("rcmb.publish.channel", &["ch", "sch", "lsch", "v0ch"]),
        ("rcmb.publish.message", &["hello", "msg", "light"]),
        ("rcmb.update.config_epoch", &["77"]),
        ("rcmb.update.name", &[&other]),
        ("rcmb.update.slots", &["0-99,200"]),
        ("rcmb.module.name", &["abcdefghi", "Modulenam"]),
        ("rcmb.module.type", &["3", "1"]),
        ("rcmb.module.len", &["3", "0"]),
    ];
    let fields: Vec<&str> = want.iter().map(|(f, _)| *f).chain(["rcmb.ext.type", "rcmb.ext.internal_secret"]).collect();
    let got = field_values(&path, &fields);
    for (f, values) in want {
        let have = got.get(*f).cloned().unwrap_or_default();
        let values: BTreeSet<String> = values.iter().map(|s| s.to_string()).collect();
        assert!(values.is_subset(&have), "{f}: want {values:?}, tshark gives {have:?}");
    }
    let types = &got["rcmb.ext.type"];
    for t in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "42"] {
        assert!(types.contains(t), "extension type {t}: {types:?}");
    }
    assert!(got.contains_key("rcmb.ext.internal_secret"), "Redis 8 internal secret not recognised");
    // The secret itself is never shown as a value.
    assert!(!got.values().flatten().any(|v| v.contains("07070707")), "the internal secret leaked");
}

/// Malformed messages, one connection each, with the expert info each must
/// raise. Meetgraph drops every one of them (a real receiver would too).
fn malformed_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut cases = Vec::new();
    let mut three = V1::of(0);
    three.count = 3;
    cases.push(("length_mismatch", three.build(&gossip(OTHER, "10.0.0.7", 7003, 1, false).repeat(2))));
    cases.push(("length_mismatch", V1::of(3).build(&OTHER[..39])));
    let mut bad_pub = publish_body("ch", "hello");
    bad_pub[7] = 9;
    cases.push(("length_mismatch", V1::of(4).build(&bad_pub)));
    cases.push(("length_mismatch", V1::of(8).build(b"12345678")));
    cases.push(("length_mismatch", V1::of(7).build(&[0u8; 100])));
    let mut bad_mod = module_body("abcdefghi", 3, b"xyz");
    bad_mod[11] = 200;
    cases.push(("length_mismatch", V1::of(9).build(&bad_mod)));
    // Extension bytes without the EXT_DATA flag.
    let mut noflag = V1::of(0);
    noflag.extensions = 1;
    cases.push(("length_mismatch", noflag.build(&ext(3, SHARD))));
    let mut e = V1::of(1);
    e.mflags0 = 0x04;
    e.extensions = 1;
    let mut odd = ext(0, &cstr("abcdefghijk"));
    odd[3] = 12;
    cases.push(("bad_extension", e.build(&odd)));
    let mut long = ext(3, SHARD);
    long[2] = 1;
    cases.push(("bad_extension", e.build(&long)));
    cases.push(("bad_extension", e.build(&[])));
    cases.push(("bad_extension", e.build(&[ext(3, SHARD), vec![0u8; 16]].concat())));
    let mut v2 = V1::of(0);
    v2.ver = 2;
    cases.push(("unknown_version", v2.build(&[])));
    cases.push(("bad_light_header", light(0x8003, OTHER)));
    cases.push(("length_mismatch", light(0x8004, &[0, 0, 0, 9, 0, 0, 0, 0, 1])));
    let mut short_hdr = V1::of(0).build(&[]);
    short_hdr[4..8].copy_from_slice(&100u32.to_be_bytes());
    short_hdr.truncate(100);
    cases.push(("length_mismatch", short_hdr));
    cases.push(("impossible_length", b"RCmb\x00\x00\x00\x08".to_vec()));
    cases.push(("impossible_length", b"RCmb\x7f\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00".to_vec()));
    // A valid FAIL followed by bytes that are not a message.
    cases.push(("bad_signature", [V1::of(3).build(OTHER), b"HELLO, not a message at all".to_vec()].concat()));
    cases
}

#[test]
fn malformed_messages_are_expert_info_never_a_lua_error() {
    let cases = malformed_cases();
    let mut cap = Pcap::new();
    let mut frames = Vec::new();
    for (i, (_, bytes)) in cases.iter().enumerate() {
        let mut f = Flow::open(&mut cap, 41000 + i as u16, 17003, true);
        f.send(&mut cap, true, bytes);
        frames.push(cap.records.len() as u64);
    }
    let path = temp_file("malformed.pcap", &cap.bytes());
    let seen = tshark(&path, &[]);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    for ((want, _), frame) in cases.iter().zip(&frames) {
        let got = seen.experts.get(frame).cloned().unwrap_or_default();
        assert!(got.contains(*want), "frame {frame}: want {want}, got {got:?}");
    }
    // meetgraph counts none of them but the FAIL before the junk.
    let (msgs, _) = dump(&path);
    let types: Vec<&str> = msgs.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(types, ["fail"], "{msgs:?}");
}

// ---------------------------------------------------------------------------
// Damaged and hostile captures (the manglings of tests/damaged_capture.rs,
// tests/hostile.rs, tests/junk_invariance.rs and tests/coverage.rs)
// ---------------------------------------------------------------------------

/// Offsets of `RCmb` inside packet data of the sample.
fn message_offsets(raw: &[u8], records: &[(usize, usize)]) -> Vec<usize> {
    let mut out = Vec::new();
    for &(start, end) in records {
        let data = &raw[start..end];
        let mut i = 0;
        while let Some(p) = data[i..].windows(4).position(|w| w == b"RCmb") {
            out.push(start + i + p);
            i += p + 4;
        }
    }
    out
}

/// The damaged copies: the sample cut at several bytes, with bits flipped
/// (anywhere, pcap headers included), and with spans of the headers of
/// random messages overwritten with hostile values.
fn damaged_copies() -> Vec<(String, Vec<u8>)> {
    let p = Pcap::read_sample("redis-6.2-loopback-merge/lo.pcap.gz");
    let raw = p.bytes();
    let mut records = Vec::new();
    let mut at = 24;
    for (_, d) in &p.records {
        records.push((at + 16, at + 16 + d.len()));
        at += 16 + d.len();
    }
    let msgs = message_offsets(&raw, &records);
    assert!(msgs.len() > 300);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for k in 1..=6 {
        let cut = raw.len() * k / 7 + rng.below(997);
        out.push((format!("cut-{cut}"), raw[..cut].to_vec()));
    }
    for copy in 0..6 {
        let mut d = raw.clone();
        for _ in 0..200 {
            let at = 24 + rng.below(d.len() - 24);
            d[at] ^= 1 << rng.below(8);
        }
        out.push((format!("flips-{copy}"), d));
    }
    // Spans of 1 to 64 bytes at random offsets of the header and first
    // gossip entry of random messages (every field: totlen, ver, type,
    // count, lengths, flags...), overwritten with hostile values.
    for copy in 0..8 {
        let mut d = raw.clone();
        for _ in 0..60 {
            let m = msgs[rng.below(msgs.len())];
            let (off, len) = (4 + rng.below(2356), 1 + rng.below(64));
            let end = records.iter().find(|r| r.0 <= m && m < r.1).map_or(m, |r| r.1);
            let (from, to) = (m + off, (m + off + len).min(end));
            let fill = [0xff, 0x00, 0x1b, 0x80][rng.below(4)];
            for b in &mut d[from..to.max(from)] {
                *b = if fill == 0x1b { rng.next() as u8 } else { fill };
            }
        }
        out.push((format!("fields-{copy}"), d));
    }
    out
}

/// Connections carrying junk that looks like the bus: random bytes after
/// `RCmb` and a random totlen/version/type, real messages with random
/// bytes overwritten, lone signatures, and non-bus traffic on bus ports.
fn hostile_capture() -> Vec<u8> {
    let real = Pcap::read_sample("redis-7.0-loopback-merge/lo.pcap.gz").ethernet();
    let mut samples: Vec<Vec<u8>> = Vec::new();
    for (_, d) in &real.records {
        if let Some((s, _)) = tcp_payload(d)
            && d[s..].starts_with(b"RCmb")
            && samples.len() < 20
        {
            samples.push(d[s..].to_vec());
        }
    }
    assert_eq!(samples.len(), 20);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut cap = Pcap::new();
    for i in 0..400u16 {
        let port = [17000, 17005, 16379, 6379, 27000, 40000 + i][rng.below(6)];
        let mut f = Flow::open(&mut cap, 30000 + i, port, i % 3 != 0);
        for _ in 0..1 + rng.below(4) {
            let payload: Vec<u8> = match rng.below(5) {
                0 => {
                    let mut h = b"RCmb".to_vec();
                    let totlen = [16u32, 17, 31, 2207, 2208, 2256, 2257, 5000, 70_000, u32::MAX][rng.below(10)];
                    h.extend_from_slice(&totlen.to_be_bytes());
                    h.extend_from_slice(&(rng.below(3) as u16).to_be_bytes());
                    h.extend((0..rng.below(3000)).map(|_| rng.next() as u8));
                    h
                }
                1 | 2 => {
                    let mut m = samples[rng.below(samples.len())].clone();
                    for _ in 0..1 + rng.below(12) {
                        let at = rng.below(m.len());
                        m[at] = rng.next() as u8;
                    }
                    let cut = rng.below(m.len() + 1);
                    if rng.below(2) == 0 { m[..cut].to_vec() } else { m }
                }
                3 => b"RCm".to_vec(),
                _ => (0..1 + rng.below(500)).map(|_| rng.next() as u8).collect(),
            };
            f.send(&mut cap, rng.below(2) == 0, &payload);
        }
    }
    cap.bytes()
}

/// A copy of the sample as `tcpdump -s 1500` would have written it.
fn snaplen_copy(rel: &str, snaplen: usize) -> Vec<u8> {
    let mut p = Pcap::read_sample(rel);
    p.header[16..20].copy_from_slice(&(snaplen as u32).to_le_bytes());
    for (h, d) in &mut p.records {
        d.truncate(snaplen);
        h[8..12].copy_from_slice(&(d.len() as u32).to_le_bytes());
    }
    p.bytes()
}

#[test]
fn damaged_and_hostile_captures_never_raise_a_lua_error() {
    let mut jobs: Vec<(String, PathBuf, Vec<&str>)> = Vec::new();
    for (name, bytes) in damaged_copies() {
        jobs.push((name.clone(), temp_file(&format!("{name}.pcap"), &bytes), vec![]));
    }
    jobs.push(("hostile".into(), temp_file("hostile.pcap", &hostile_capture()), vec![]));
    jobs.push((
        "snaplen".into(),
        temp_file("snap.pcap", &snaplen_copy("redis-7.0-loopback-merge/lo.pcap.gz", 1500)),
        vec![],
    ));
    let sample = samples_dir().join("valkey-9.1-loopback-merge/lo.pcap.gz");
    jobs.push(("no-reassembly".into(), sample, vec!["-o", "tcp.desegment_tcp_streams:FALSE"]));
    let reseg = temp_file("reseg-noreasm.pcap", &resegmented("redis-7.0-loopback-merge/lo.pcap.gz", 11));
    jobs.push(("resegmented, no reassembly".into(), reseg, vec!["-o", "tcp.desegment_tcp_streams:FALSE"]));
    let results = parallel(&jobs, |(_, path, extra)| tshark(path, extra));
    let mut dissected = 0;
    let mut experts = BTreeSet::new();
    for ((name, _, _), seen) in jobs.iter().zip(results) {
        assert!(seen.errors.is_empty(), "{name}: {:?}", &seen.errors[..seen.errors.len().min(5)]);
        dissected += seen.messages.len();
        experts.extend(seen.experts.values().flatten().cloned());
    }
    assert!(dissected > 5000, "{dissected} messages dissected");
    // The damage reached the checks: malformed, impossible, truncated and
    // resynchronised messages were all seen.
    for x in ["length_mismatch", "impossible_length", "truncated", "resync", "bad_signature", "unknown_version"] {
        assert!(experts.contains(x), "no {x} among {experts:?}");
    }
}
