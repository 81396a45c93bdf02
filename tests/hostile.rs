//! Hostile input never panics: random bytes into the parser, the framer
//! and the decoder; random records (well formed or not, then overwritten)
//! behind valid pcap / pcapng headers, gzipped or not, into the capture
//! reader and the whole pipeline; real messages with random bytes flipped.

mod common;

use common::samples_dir;
use meetgraph::capture::{CaptureFile, LinkType, RawPacket};
use meetgraph::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig};
use meetgraph::clusterbus::{Message, parse_message, probe_header};
use meetgraph::decode::decode_packet;
use meetgraph::events::to_owned_message;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use meetgraph::run::run_merged;
use proptest::prelude::*;

struct Sink(u64);
impl FrameSink for Sink {
    fn message(&mut self, _: &FrameInfo, m: &Message<'_>) {
        self.0 += to_owned_message(m).gossip.len() as u64 + 1;
    }
    fn anomaly(&mut self, _: &FrameInfo, _: FrameAnomaly) {}
}

/// A real V0 PING and a real V1 PONG from the samples.
fn real_messages() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for s in ["redis-3.0.7-loopback-merge/lo.pcap.gz", "redis-4.0.14-docker-bridge/dc.pcap.gz"] {
        let mut f = CaptureFile::open(&samples_dir().join(s)).unwrap();
        while f.advance().unwrap() {
            let p = f.current().unwrap();
            if let Some(i) = p.data.windows(4).position(|w| w == b"RCmb") {
                let d = &p.data[i..];
                let t = u32::from_be_bytes([d[4], d[5], d[6], d[7]]) as usize;
                if d.len() >= t && u16::from_be_bytes([d[14], d[15]]) > 0 {
                    out.push(d[..t].to_vec());
                    break;
                }
            }
        }
    }
    assert_eq!(out.len(), 2);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..6000), link in 0u16..300) {
        let _ = parse_message(&data);
        let _ = probe_header(&data, 1 << 20);
        let mut fr = BusFramer::new(true);
        let mut s = Sink(0);
        fr.feed(&FramerConfig::default(), 0, 1, 0, &data, &mut s);
        fr.gap(&FramerConfig::default(), data.len() as u64, 1, 0, 10, &mut s);
        fr.feed(&FramerConfig::default(), data.len() as u64 + 10, 2, 0, &data, &mut s);
        let pkt = RawPacket { ts_us: 0, frame: 1, link: LinkType(link), orig_len: data.len() as u32 + 5, data: &data };
        let _ = decode_packet(&pkt);
    }

    /// The capture reader and everything after it: a valid file header
    /// (pcap either byte order, µs or ns; pcapng; either gzipped), then
    /// records that are well formed or not, then random bytes overwritten.
    /// The header always opens (so the reader is reached), a well-formed
    /// first record is always read, and nothing panics down to the
    /// analysis.
    #[test]
    fn random_records_behind_valid_headers_never_panic(
        format in 0u8..4,
        gzip in any::<bool>(),
        link in prop_oneof![Just(1u16), Just(113), Just(276), Just(101), Just(0), 0u16..300],
        records in proptest::collection::vec((any::<bool>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..300)), 1..40),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        let (mut bytes, header_len) = capture_header(format, link);
        for (well_formed, ts, data) in &records {
            if *well_formed {
                bytes.extend(capture_record(format, *ts, data));
            } else {
                bytes.extend_from_slice(data);
            }
        }
        let body = bytes.len() - header_len;
        for (at, v) in &flips {
            if body > 0 && records.len() > 1 {
                // Not in the first record (when well formed, it must read).
                let first = if records[0].0 { capture_record(format, records[0].1, &records[0].2).len() } else { 0 };
                if body > first {
                    let i = header_len + first + at % (body - first);
                    bytes[i] = *v;
                }
            }
        }
        let bytes = if gzip { gzipped(&bytes) } else { bytes };
        let open = || CaptureFile::from_reader("fuzz".into(), Box::new(std::io::Cursor::new(bytes.clone())));
        let mut f = open().map_err(|e| TestCaseError::fail(format!("a valid header must open: {e}")))?;
        let mut read = 0u32;
        while let Ok(true) = f.advance() {
            prop_assert!(f.current().is_some());
            read += 1;
        }
        if records[0].0 {
            prop_assert!(read >= 1, "the well-formed first record was not read");
        }
        let mut inputs = vec![Input::new(open().unwrap(), Pipeline::new(0, PipelineConfig::default()))];
        let mut c = common::Collect::default();
        run_merged(&mut inputs, &mut c);
    }

    #[test]
    fn mutated_real_messages_never_panic(which in 0usize..2, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12)) {
        let mut m = real_messages()[which].clone();
        for (at, v) in flips {
            let i = at % m.len();
            m[i] = v;
        }
        if let Ok(msg) = parse_message(&m) {
            let owned = to_owned_message(&msg);
            prop_assert!(owned.gossip.len() <= m.len() / 104);
        }
        let _ = probe_header(&m, 1 << 20);
    }

    /// A real pcap with random bytes overwritten: whatever happens, the
    /// pipeline returns.
    #[test]
    fn corrupted_capture_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..40)) {
        let mut raw = Vec::new();
        {
            use std::io::Read;
            let gz = std::fs::read(samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz")).unwrap();
            flate2::read::MultiGzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
        }
        raw.truncate(400_000);
        for (at, v) in flips {
            let i = 24 + at % (raw.len() - 24);
            raw[i] = v;
        }
        let f = CaptureFile::from_reader("corrupt".into(), Box::new(std::io::Cursor::new(raw))).unwrap();
        let mut inputs = vec![Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
        let mut c = common::Collect::default();
        run_merged(&mut inputs, &mut c);
    }
}

/// A file header: pcap little-endian µs, big-endian µs, little-endian ns,
/// or a pcapng section and interface block; its length.
fn capture_header(format: u8, link: u16) -> (Vec<u8>, usize) {
    let mut h = Vec::new();
    match format {
        0..=2 => {
            let magic: u32 = if format == 2 { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
            let be = format == 1;
            let put32 = |h: &mut Vec<u8>, v: u32| h.extend(if be { v.to_be_bytes() } else { v.to_le_bytes() });
            let put16 = |h: &mut Vec<u8>, v: u16| h.extend(if be { v.to_be_bytes() } else { v.to_le_bytes() });
            put32(&mut h, magic);
            put16(&mut h, 2);
            put16(&mut h, 4);
            put32(&mut h, 0);
            put32(&mut h, 0);
            put32(&mut h, 262_144);
            put32(&mut h, u32::from(link));
        }
        _ => {
            let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
            shb.extend(1u16.to_le_bytes());
            shb.extend(0u16.to_le_bytes());
            shb.extend((-1i64).to_le_bytes());
            h.extend(ng_block(0x0A0D_0D0A, &shb));
            let mut idb = link.to_le_bytes().to_vec();
            idb.extend([0, 0, 0, 0, 4, 0]);
            h.extend(ng_block(1, &idb));
        }
    }
    let n = h.len();
    (h, n)
}

/// One well-formed record of `data` in the header's format.
fn capture_record(format: u8, ts: u32, data: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    match format {
        0..=2 => {
            let be = format == 1;
            for v in [ts, ts % 1000, data.len() as u32, data.len() as u32 + 4] {
                r.extend(if be { v.to_be_bytes() } else { v.to_le_bytes() });
            }
            r.extend_from_slice(data);
        }
        _ => {
            let mut epb = Vec::new();
            for v in [0, 0, ts, data.len() as u32, data.len() as u32] {
                epb.extend(v.to_le_bytes());
            }
            epb.extend_from_slice(data);
            r.extend(ng_block(6, &epb));
        }
    }
    r
}

fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let len = 12 + body.len().div_ceil(4) * 4;
    let mut b = kind.to_le_bytes().to_vec();
    b.extend((len as u32).to_le_bytes());
    b.extend_from_slice(body);
    b.resize(len - 4, 0);
    b.extend((len as u32).to_le_bytes());
    b
}

fn gzipped(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}
