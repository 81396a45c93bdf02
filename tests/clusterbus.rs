//! The bus parser (and the owned form of its messages) on spec-derived
//! fixtures for what the real captures do not contain: light messages,
//! UPDATE, MODULE, PUBLISHSHARD, every extension type and dialect
//! collision, unknown types, malformed lengths.
//! (Real messages of every layout are covered by tests/wire_*.rs.)

use meetgraph::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig};
use meetgraph::clusterbus::{
    Body, BusError, ExtValue, Layout, Message, MessageType, Probe, parse_message, probe_header,
};
use meetgraph::pipeline::AnomalyKind;

const SENDER: &[u8; 40] = b"0123456789abcdef0123456789abcdef01234567";
const OTHER: &[u8; 40] = b"fedcba9876543210fedcba9876543210fedcba98";
/// The spec's example of a light PUBLISH ("hello" on channel "ch").
const LIGHT_PUBLISH: [u8; 31] = [
    0x52, 0x43, 0x6d, 0x62, 0, 0, 0, 0x1f, 0, 1, 0, 0, 0x80, 0x04, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5, b'c', b'h', b'h',
    b'e', b'l', b'l', b'o',
];

/// A V1 header (2256 bytes) for `wire_type`, body appended, totlen fixed up.
fn v1(wire_type: u16, count: u16, extensions: u16, mflags0: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 2256];
    m[..4].copy_from_slice(b"RCmb");
    m[8..10].copy_from_slice(&1u16.to_be_bytes());
    m[10..12].copy_from_slice(&7000u16.to_be_bytes());
    m[12..14].copy_from_slice(&wire_type.to_be_bytes());
    m[14..16].copy_from_slice(&count.to_be_bytes());
    m[16..24].copy_from_slice(&9u64.to_be_bytes());
    m[24..32].copy_from_slice(&4u64.to_be_bytes());
    m[40..80].copy_from_slice(SENDER);
    m[80] = 0b0000_0011; // slots 0, 1
    m[2168..2177].copy_from_slice(b"10.0.0.9\0");
    m[2214..2216].copy_from_slice(&extensions.to_be_bytes());
    m[2248..2250].copy_from_slice(&17000u16.to_be_bytes());
    m[2250..2252].copy_from_slice(&0x0011u16.to_be_bytes());
    m[2253] = mflags0;
    m.extend_from_slice(body);
    let t = m.len() as u32;
    m[4..8].copy_from_slice(&t.to_be_bytes());
    m
}

fn ext(ext_type: u16, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(8) * 8;
    let len = (8 + padded) as u32;
    let mut e = len.to_be_bytes().to_vec();
    e.extend_from_slice(&ext_type.to_be_bytes());
    e.extend_from_slice(&[0, 0]);
    e.extend_from_slice(body);
    e.resize(len as usize, 0);
    e
}

fn string(s: &str) -> Vec<u8> {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    b
}

#[test]
fn light_publish_matches_the_spec_example_bytes() {
    let bytes = LIGHT_PUBLISH.to_vec();
    let m = parse_message(&bytes).unwrap();
    assert_eq!((m.layout, m.msg_type, m.light, m.totlen), (Layout::Light, MessageType::PUBLISH, true, 31));
    assert!(m.header.is_none());
    match m.body {
        Body::Publish { channel, message } => assert_eq!((channel, message), (&b"ch"[..], &b"hello"[..])),
        other => panic!("{other:?}"),
    }
    assert!(matches!(probe_header(&bytes, 1 << 20), Probe::Plausible { totlen: 31, layout: Layout::Light }));
    // A light FAIL does not exist.
    let mut bad = bytes.clone();
    bad[13] = 0x03;
    assert_eq!(parse_message(&bad).unwrap_err(), BusError::BadLightHeader { wire_type: 0x8003 });
}

#[test]
fn update_module_publishshard_fail_and_header_only_types() {
    let mut upd = 77u64.to_be_bytes().to_vec();
    upd.extend_from_slice(OTHER);
    let mut slots = vec![0u8; 2048];
    slots[2047] = 0x80;
    upd.extend_from_slice(&slots);
    let bytes = v1(7, 0, 0, 0, &upd);
    let m = parse_message(&bytes).unwrap();
    match m.body {
        Body::Update { config_epoch, node, slots } => {
            assert_eq!(config_epoch, 77);
            assert_eq!(node.0, OTHER);
            assert_eq!(slots.ranges(), vec![(16383, 16383)]);
        }
        other => panic!("{other:?}"),
    }
    // MODULE: module_id in the sender's (little-endian) order.
    let mut module = 0x0102_0304_0506_0708u64.to_le_bytes().to_vec();
    module.extend_from_slice(&3u32.to_be_bytes());
    module.push(9);
    module.extend_from_slice(b"abc");
    let bytes = v1(9, 0, 0, 0, &module);
    match parse_message(&bytes).unwrap().body {
        Body::Module { module_id, module_type, payload } => {
            assert_eq!((module_id, module_type, payload), (0x0102_0304_0506_0708, 9, &b"abc"[..]))
        }
        other => panic!("{other:?}"),
    }
    let mut publish = 2u32.to_be_bytes().to_vec();
    publish.extend_from_slice(&1u32.to_be_bytes());
    publish.extend_from_slice(b"chx");
    let bytes = v1(10, 0, 0, 0, &publish);
    let m = parse_message(&bytes).unwrap();
    assert_eq!(m.msg_type.name(), "publishshard");
    assert!(matches!(m.body, Body::Publish { channel: b"ch", message: b"x" }));
    let bytes = v1(3, 0, 0, 0, OTHER);
    match parse_message(&bytes).unwrap().body {
        Body::Fail { node } => assert_eq!(node.0, OTHER),
        other => panic!("{other:?}"),
    }
    for t in [5u16, 6, 8] {
        let bytes = v1(t, 0, 0, 0, &[]);
        let m = parse_message(&bytes).unwrap();
        assert!(matches!(m.body, Body::Empty), "type {t}");
        let h = m.header.unwrap();
        assert_eq!((h.current_epoch, h.config_epoch, h.port, h.cport), (9, 4, 7000, 17000));
        assert_eq!(h.myip, Some(&b"10.0.0.9"[..]));
        assert_eq!(h.myslots.ranges(), vec![(0, 1)]);
    }
}

#[test]
fn exact_lengths_are_enforced() {
    let mut fail = v1(3, 0, 0, 0, OTHER);
    fail.push(0);
    let t = fail.len() as u32;
    fail[4..8].copy_from_slice(&t.to_be_bytes());
    assert!(matches!(parse_message(&fail), Err(BusError::LengthMismatch { expected: 2296, totlen: 2297, .. })));
    let mut ver2 = v1(0, 0, 0, 0, &[]);
    ver2[9] = 2;
    assert_eq!(parse_message(&ver2).unwrap_err(), BusError::UnsupportedVersion(2));
    // Extension bytes without the EXT_DATA flag: a real receiver drops it.
    let e = ext(0, &string("host"));
    assert!(matches!(parse_message(&v1(0, 0, 1, 0, &e)), Err(BusError::LengthMismatch { .. })));
}

#[test]
fn every_extension_type_and_dialect() {
    let mut forgotten = OTHER.to_vec();
    forgotten.extend_from_slice(&42u64.to_be_bytes());
    let mut port = 6379u16.to_be_bytes().to_vec();
    port.extend_from_slice(&[0; 6]);
    let exts: Vec<Vec<u8>> = vec![
        ext(0, &string("db-1.example")),
        ext(1, &string("human")),
        ext(2, &forgotten),
        ext(3, OTHER),
        ext(4, &string("192.0.2.7")),
        ext(5, &string("2001:db8::7")),
        ext(6, &port),
        ext(7, &port),
        ext(8, &string("zone-a")),
        ext(4, &[7u8; 40]), // Redis 8 internal secret: 40 bytes
        ext(99, b"future"),
    ];
    let body: Vec<u8> = exts.concat();
    let bytes = v1(0, 0, exts.len() as u16, 0x04, &body);
    let m = parse_message(&bytes).unwrap();
    let values: Vec<String> = m
        .extensions()
        .map(|e| match e.value {
            ExtValue::Hostname(h) => format!("hostname {}", String::from_utf8_lossy(h)),
            ExtValue::HumanNodename(h) => format!("human {}", String::from_utf8_lossy(h)),
            ExtValue::ForgottenNode { node, ttl } => format!("forgotten {} {ttl}", node.short()),
            ExtValue::ShardId(s) => format!("shard {}", s.short()),
            ExtValue::ClientIpv4(s) => format!("ipv4 {}", String::from_utf8_lossy(s)),
            ExtValue::ClientIpv6(s) => format!("ipv6 {}", String::from_utf8_lossy(s)),
            ExtValue::ClientPort(p) => format!("port {p}"),
            ExtValue::ClientTlsPort(p) => format!("tls {p}"),
            ExtValue::AvailabilityZone(z) => format!("az {}", String::from_utf8_lossy(z)),
            ExtValue::InternalSecret => "secret".into(),
            ExtValue::Unknown(b) => format!("unknown {} {}", e.ext_type, b.len()),
        })
        .collect();
    assert_eq!(
        values,
        vec![
            "hostname db-1.example",
            "human human",
            "forgotten fedcba98 42",
            "shard fedcba98",
            "ipv4 192.0.2.7",
            "ipv6 2001:db8::7",
            "port 6379",
            "tls 6379",
            "az zone-a",
            "secret",
            "unknown 99 8",
        ]
    );
    // Redis 7.2-rc numbering: type 1 of length 56 is a forgotten node, type
    // 2 of length 48 a shard id.
    let rc = [ext(1, &forgotten), ext(2, OTHER)].concat();
    let bytes = v1(1, 0, 2, 0x04, &rc);
    let m = parse_message(&bytes).unwrap();
    let kinds: Vec<bool> =
        m.extensions().map(|e| matches!(e.value, ExtValue::ForgottenNode { .. } | ExtValue::ShardId(_))).collect();
    assert_eq!(kinds, vec![true, true]);
}

#[test]
fn malformed_extensions_are_rejected() {
    let mut e = ext(0, &string("host"));
    e[3] = 13; // length not a multiple of 8
    assert!(matches!(parse_message(&v1(0, 0, 1, 0x04, &e)), Err(BusError::BadExtension { .. })));
    let mut e = ext(0, &string("host"));
    e[3] = 64; // longer than the message
    assert!(matches!(parse_message(&v1(0, 0, 1, 0x04, &e)), Err(BusError::BadExtension { .. })));
    // Two records announced, one present.
    let e = ext(0, &string("host"));
    assert!(matches!(parse_message(&v1(0, 0, 2, 0x04, &e)), Err(BusError::BadExtension { .. })));
}

#[derive(Default)]
struct Sink {
    types: Vec<u16>,
    anomalies: Vec<&'static str>,
}

impl FrameSink for Sink {
    fn message(&mut self, _: &FrameInfo, m: &Message<'_>) {
        self.types.push(m.msg_type.0);
    }
    fn anomaly(&mut self, _: &FrameInfo, a: FrameAnomaly) {
        self.anomalies.push(AnomalyKind::from(&a).as_str());
    }
}

#[test]
fn unknown_future_types_are_kept_raw_and_counted() {
    let unknown = v1(42, 0, 0, 0, b"future body");
    match parse_message(&unknown).unwrap().body {
        Body::Unknown { raw } => assert_eq!(raw, b"future body"),
        other => panic!("{other:?}"),
    }
    let stream = [v1(0, 0, 0, 0, &[]), unknown, v1(1, 0, 0, 0, &[])].concat();
    let mut s = Sink::default();
    let mut f = BusFramer::new(false);
    f.feed(&FramerConfig::default(), 0, 1, 0, &stream, &mut s);
    assert_eq!(s.types, vec![0, 42, 1]);
    assert_eq!(s.anomalies, vec!["unknown_type"]);
}

#[test]
fn framer_reports_bad_signature_and_resynchronises() {
    let good = v1(0, 0, 0, 0, &[]);
    let stream = [good.clone(), b"garbage!".to_vec(), good.clone(), good].concat();
    let mut s = Sink::default();
    let mut f = BusFramer::new(false);
    f.feed(&FramerConfig::default(), 0, 1, 0, &stream, &mut s);
    assert_eq!(s.types, vec![0, 0, 0]);
    assert_eq!(s.anomalies, vec!["bad_signature", "resync_skipped"]);
}

#[test]
fn oversized_messages_are_skipped_without_buffering() {
    let big = v1(4, 0, 0, 0, &[&3u32.to_be_bytes()[..], &5000u32.to_be_bytes(), b"abc", &[b'x'; 5000]].concat());
    let stream = [big, v1(0, 0, 0, 0, &[])].concat();
    let cfg = FramerConfig { max_totlen: 4096, ..FramerConfig::default() };
    let mut s = Sink::default();
    let mut f = BusFramer::new(false);
    for chunk in stream.chunks(1000) {
        f.feed(&cfg, 0, 1, 0, chunk, &mut s);
        assert!(f.buffered() < 4096, "buffered {}", f.buffered());
    }
    assert_eq!(s.types, vec![0]);
    assert_eq!(s.anomalies, vec!["oversized_message"]);
}

#[test]
fn a_whole_header_and_gossip_entry_decode_field_for_field() {
    use meetgraph::clusterbus::{GossipEntry, Header, NodeFlags, NodeName, SlotBitmap};
    let mut entry = vec![0u8; 104];
    entry[..40].copy_from_slice(OTHER);
    entry[40..44].copy_from_slice(&1_700_000_000u32.to_be_bytes());
    entry[44..48].copy_from_slice(&1_700_000_001u32.to_be_bytes());
    entry[48..57].copy_from_slice(b"10.0.0.10");
    entry[94..96].copy_from_slice(&7001u16.to_be_bytes());
    entry[96..98].copy_from_slice(&17001u16.to_be_bytes());
    entry[98..100].copy_from_slice(&0x0008u16.to_be_bytes());
    entry[100..102].copy_from_slice(&7101u16.to_be_bytes());
    let bytes = v1(0, 1, 0, 0, &entry);
    let m = parse_message(&bytes).unwrap();
    let mut slots = [0u8; 2048];
    slots[0] = 0b0000_0011;
    let want = Header {
        ver: 1,
        count: 1,
        current_epoch: 9,
        config_epoch: 4,
        offset: 0,
        sender: NodeName(SENDER),
        myslots: SlotBitmap(&slots),
        replicaof: None,
        myip: Some(b"10.0.0.9"),
        port: 7000,
        pport: 0,
        cport: 17000,
        cport_on_wire: true,
        extensions: 0,
        flags: NodeFlags(0x0011),
        state: 0,
        mflags: [0, 0, 0],
    };
    assert_eq!(m.header, Some(want));
    let entries: Vec<GossipEntry<'_>> = m.gossip().collect();
    assert_eq!(
        entries,
        vec![GossipEntry {
            node: NodeName(OTHER),
            ping_sent: 1_700_000_000,
            pong_received: 1_700_000_001,
            ip: b"10.0.0.10",
            port: 7001,
            cport: 17001,
            pport: 7101,
            flags: NodeFlags(0x0008),
        }]
    );
    assert_eq!((m.layout, m.msg_type, m.light, m.totlen), (Layout::V1, MessageType::PING, false, 2256 + 104));
}

#[test]
fn a_cut_header_names_the_offset() {
    let bytes = v1(0, 0, 0, 0, &[]);
    // A V1 message whose totlen claims only 1500 bytes: the header is cut.
    let mut cut = bytes[..1500].to_vec();
    cut[4..8].copy_from_slice(&1500u32.to_be_bytes());
    assert_eq!(parse_message(&cut).unwrap_err(), BusError::Truncated { offset: 0, needed: 2256, have: 1500 });
}

/// A recycled owned message holds exactly what a fresh conversion does,
/// whatever it held before, on the message kinds the samples lack: a
/// hostname extension (its buffer reused, escaped, then absent again), a
/// light message without a header after a full one, UPDATE, forgotten
/// nodes and shard ids.
#[test]
fn a_recycled_owned_message_forgets_what_the_previous_one_held() {
    use meetgraph::events::{BusMessage, fill_owned_message, to_owned_message};
    let light = LIGHT_PUBLISH.to_vec();
    let mut forgotten = OTHER.to_vec();
    forgotten.extend_from_slice(&42u64.to_be_bytes());
    let mut upd = 77u64.to_be_bytes().to_vec();
    upd.extend_from_slice(OTHER);
    upd.extend_from_slice(&[0xffu8; 2048]);
    let host = |name: &str| ext(0, &string(name));
    let all = [host("db-1.example"), ext(2, &forgotten), ext(3, OTHER)].concat();
    let messages = [
        v1(0, 0, 3, 0x04, &all),
        v1(1, 0, 1, 0x04, &host("a-much-longer-host-name.db.example.internal")),
        v1(0, 0, 1, 0x04, &host("h\u{1}\\")),
        v1(0, 0, 0, 0, &[]),
        light,
        v1(7, 0, 0, 0, &upd),
        v1(0, 0, 1, 0x04, &host("db-2")),
        v1(3, 0, 0, 0, OTHER),
    ];
    let mut reused = BusMessage::empty();
    let mut hostnames = Vec::new();
    for bytes in &messages {
        let m = parse_message(bytes).unwrap();
        fill_owned_message(&mut reused, &m);
        assert_eq!(reused, to_owned_message(&m));
        hostnames.push(reused.hostname.clone());
    }
    let expected = [
        Some("db-1.example"),
        Some("a-much-longer-host-name.db.example.internal"),
        Some("h\\x01\\\\"),
        None,
        None,
        None,
        Some("db-2"),
        None,
    ];
    assert_eq!(hostnames, expected.map(|h| h.map(String::from)));
}

/// Frames of each message a framer emits: (type, first_frame, frame).
#[derive(Default)]
struct Frames(Vec<(u16, u64, u64)>);

impl FrameSink for Frames {
    fn message(&mut self, info: &FrameInfo, m: &Message<'_>) {
        self.0.push((m.msg_type.0, info.first_frame, info.frame));
    }
    fn anomaly(&mut self, _: &FrameInfo, _: FrameAnomaly) {}
}

/// A stream joined mid-way: the messages recovered after the hunt are
/// dated by the packets that carried them, as in a stream followed from
/// its start (a found header is replayed packet by packet, not as one
/// chunk of the packet where the hunt began).
#[test]
fn a_stream_joined_midway_dates_each_message_by_its_own_packets() {
    let ping = v1(0, 3, 0, 0, &[0u8; 3 * 104]);
    let pong = v1(1, 2, 0, 0, &[0u8; 2 * 104]);
    // The tail of a message, then a PING and a PONG, cut in 180-byte packets.
    let stream = [vec![0xAAu8; 700], ping.clone(), pong.clone()].concat();
    let mut f = BusFramer::new(true);
    let mut got = Frames::default();
    for (k, chunk) in stream.chunks(180).enumerate() {
        let frame = 10 + k as u64;
        f.feed(&FramerConfig::default(), (k * 180) as u64, frame, frame as i64, chunk, &mut got);
    }
    let frame_of = |off: usize| 10 + (off / 180) as u64;
    let want = vec![
        (0, frame_of(700), frame_of(700 + ping.len() - 1)),
        (1, frame_of(700 + ping.len()), frame_of(700 + ping.len() + pong.len() - 1)),
    ];
    assert_eq!(got.0, want);
    // The same bytes in one chunk, and byte by byte, give the same messages.
    for size in [1, 7, stream.len()] {
        let mut f = BusFramer::new(true);
        let mut one = Frames::default();
        for (k, chunk) in stream.chunks(size).enumerate() {
            f.feed(&FramerConfig::default(), (k * size) as u64, 0, 0, chunk, &mut one);
        }
        assert_eq!(one.0.iter().map(|m| m.0).collect::<Vec<_>>(), vec![0, 1], "chunks of {size}");
    }
}

/// The same when the capture joined right at a message start: the hunt
/// holds the packets until the whole first message is in (a header alone
/// does not prove alignment), and that message is the last packet's, not
/// the first's (a capture that began mid-connection, re-cut in segments of
/// 1 to 1,500 bytes as on a LAN without offload).
#[test]
fn a_message_found_by_the_hunt_is_dated_by_the_packet_that_completed_it() {
    let ping = v1(0, 1, 0, 0, &[0u8; 104]);
    let pong = v1(1, 1, 0, 0, &[0u8; 104]);
    let stream = [ping.clone(), pong.clone()].concat();
    let sizes = [100usize, 9, 3, 100, 1, 9, 3, 3, 3, 100, 9, 1500, 520, 100, 4000];
    let mut f = BusFramer::new(true);
    let mut got = Frames::default();
    let (mut off, mut frame) = (0usize, 71u64);
    for s in sizes {
        let end = (off + s).min(stream.len());
        if off == end {
            break;
        }
        f.feed(&FramerConfig::default(), off as u64, frame, frame as i64, &stream[off..end], &mut got);
        (off, frame) = (end, frame + 1);
    }
    // The PING (2360 bytes) ends with the 13th packet (frame 83); the PONG
    // fills the next two.
    assert_eq!(got.0, vec![(0, 71, 83), (1, 84, 85)]);
}
