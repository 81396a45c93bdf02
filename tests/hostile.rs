//! Hostile input never panics: random bytes into the parser, the framer,
//! the capture reader and the decoder, and real messages with random bytes
//! flipped.

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
        if let Ok(mut f) = CaptureFile::from_reader("fuzz".into(), Box::new(std::io::Cursor::new(data.clone()))) {
            while let Ok(true) = f.advance() {
                let _ = f.current();
            }
        }
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
