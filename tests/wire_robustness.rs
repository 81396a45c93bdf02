//! Robustness of the wire layer on real captures: any chunking of a real
//! stream gives the same messages; a capture cut mid-way loses only the
//! messages whose bytes were cut; a dropped segment loses only the messages
//! it touches.

mod common;

use common::{Collect, Seen, samples_dir};
use meetgraph::capture::CaptureFile;
use meetgraph::clusterbus::Message;
use meetgraph::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig};
use meetgraph::decode::decode_packet;
use meetgraph::pipeline::{AnomalyKind, Pipeline, PipelineConfig};
use meetgraph::reassembly::{ChunkMeta, CloseReason, GapReason, Reassembler, ReassemblyConfig, StreamConsumer};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn merge_capture() -> PathBuf {
    samples_dir().join("redis-3.0.7-loopback-merge/lo.pcap.gz")
}

/// Runs the pipeline over the packets of `path` for which `keep(frame)`.
fn run_filtered(path: &std::path::Path, keep: impl Fn(u64) -> bool) -> Collect {
    let mut f = CaptureFile::open(path).unwrap();
    let mut p = Pipeline::new(0, PipelineConfig::default());
    let mut c = Collect::default();
    while f.advance().unwrap() {
        let pkt = f.current().unwrap();
        if keep(pkt.frame) {
            p.packet(&pkt, &mut c);
        }
    }
    p.finish(&mut c);
    c
}

/// Identity of a message independent of stream offsets.
fn key(s: &Seen) -> (String, String, u64, &'static str, String, u32) {
    (s.src.clone(), s.dst.clone(), s.frame, s.msg_type, s.sender.clone(), s.totlen)
}

#[derive(Default)]
struct Streams {
    bytes: BTreeMap<(u64, String), Vec<u8>>,
}

impl StreamConsumer for Streams {
    type State = ();
    fn data(&mut self, _: &mut (), m: &ChunkMeta, b: &[u8]) {
        assert!(!m.midstream, "the sample starts before the servers");
        self.bytes.entry((m.conn_id, m.src.to_string())).or_default().extend_from_slice(b);
    }
    fn gap(&mut self, _: &mut (), _: &ChunkMeta, _: u64, _: GapReason) {
        panic!("no gaps in this sample");
    }
    fn close(&mut self, _: &mut (), _: &ChunkMeta, _: CloseReason) {}
}

/// Every reassembled direction of the sample that starts with `RCmb`.
fn real_bus_streams() -> Vec<Vec<u8>> {
    let mut f = CaptureFile::open(&merge_capture()).unwrap();
    let mut r: Reassembler<()> = Reassembler::new(ReassemblyConfig::default());
    let mut s = Streams::default();
    while f.advance().unwrap() {
        let pkt = f.current().unwrap();
        if let Ok(Some(seg)) = decode_packet(&pkt) {
            r.feed(&seg, pkt.ts_us, pkt.frame, &mut s);
        }
    }
    r.finish(&mut s, 0);
    s.bytes.into_values().filter(|b| b.starts_with(b"RCmb")).collect()
}

#[derive(Default, Debug, PartialEq)]
struct Framed {
    messages: Vec<(u64, u16, String, u32)>,
    anomalies: Vec<String>,
}

impl FrameSink for Framed {
    fn message(&mut self, info: &FrameInfo, msg: &Message<'_>) {
        let sender = msg.sender().map(|s| s.as_str().into_owned()).unwrap_or_default();
        self.messages.push((info.offset, msg.msg_type.0, sender, msg.totlen));
    }
    fn anomaly(&mut self, _: &FrameInfo, a: FrameAnomaly) {
        self.anomalies.push(AnomalyKind::from(&a).to_string());
    }
}

fn frame_in_chunks(stream: &[u8], cuts: &[usize], midstream: bool) -> Framed {
    let cfg = FramerConfig::default();
    let mut fr = BusFramer::new(midstream);
    let mut out = Framed::default();
    let mut pos = 0usize;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    points.push(stream.len());
    for (i, &p) in points.iter().enumerate() {
        if p > pos {
            fr.feed(&cfg, pos as u64, i as u64, 0, &stream[pos..p], &mut out);
            pos = p;
        }
    }
    fr.finish(0, 0, &mut out);
    out
}

#[test]
fn byte_by_byte_equals_whole_stream() {
    let streams = real_bus_streams();
    assert!(streams.len() > 20);
    for s in streams.iter().take(6) {
        let whole = frame_in_chunks(s, &[], false);
        assert!(!whole.messages.is_empty());
        assert!(whole.anomalies.is_empty(), "{:?}", whole.anomalies);
        let cuts: Vec<usize> = (1..s.len()).collect();
        assert_eq!(frame_in_chunks(s, &cuts, false), whole);
        // Joined mid-way at 0 the hunt must find the same messages.
        assert_eq!(frame_in_chunks(s, &cuts, true).messages, whole.messages);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_chunking_gives_the_same_messages(
        which in 0usize..1000,
        cuts in proptest::collection::vec(any::<usize>(), 0..200),
        midstream in any::<bool>(),
    ) {
        let streams = real_bus_streams();
        let s = &streams[which % streams.len()];
        let whole = frame_in_chunks(s, &[], false);
        let got = frame_in_chunks(s, &cuts, midstream);
        prop_assert_eq!(got.messages, whole.messages);
        prop_assert!(got.anomalies.is_empty());
    }

    /// Starting the stream at an arbitrary byte (a capture joining a
    /// connection mid-message) loses only the message that byte is in.
    #[test]
    fn joining_mid_stream_loses_only_the_cut_message(which in 0usize..1000, start in any::<usize>()) {
        let streams = real_bus_streams();
        let s = &streams[which % streams.len()];
        let whole = frame_in_chunks(s, &[], false);
        let start = start % s.len();
        let got = frame_in_chunks(&s[start..], &[], true);
        let expected: Vec<_> = whole
            .messages
            .iter()
            .filter(|m| m.0 as usize >= start)
            .map(|m| (m.0 - start as u64, m.1, m.2.clone(), m.3))
            .collect();
        prop_assert_eq!(got.messages, expected);
    }
}

#[test]
fn capture_cut_at_any_packet_loses_only_messages_with_dropped_bytes() {
    let path = merge_capture();
    let full = run_filtered(&path, |_| true);
    let total_frames = full.messages.iter().map(|m| m.frame).max().unwrap();
    for cut in [50u64, 333, 1000, 1777, total_frames - 100] {
        let part = run_filtered(&path, |f| f > cut);
        let got: BTreeSet<_> = part.messages.iter().map(key).collect();
        let all: BTreeSet<_> = full.messages.iter().map(key).collect();
        assert!(got.is_subset(&all), "cut at {cut}: invented messages");
        // first_frame is not in `key`; recompute from the full run.
        for m in &full.messages {
            if m.first_frame > cut {
                assert!(got.contains(&key(m)), "cut at {cut}: lost {m:?}");
            }
        }
        assert!(part.anomalies.iter().all(|a| a.kind != AnomalyKind::BadSignature), "{:?}", part.anomalies);
    }
}

#[test]
fn one_dropped_segment_loses_only_the_messages_it_touches() {
    let path = merge_capture();
    let full = run_filtered(&path, |_| true);
    let bus_frames: BTreeSet<u64> = full.messages.iter().flat_map(|m| [m.first_frame, m.frame]).collect();
    let candidates: Vec<u64> = bus_frames.iter().copied().filter(|f| f % 37 == 0).take(12).collect();
    assert!(candidates.len() >= 5);
    for drop in candidates {
        let part = run_filtered(&path, |f| f != drop);
        let got: BTreeSet<_> = part.messages.iter().map(key).collect();
        for m in &full.messages {
            let touched = m.first_frame <= drop && drop <= m.frame;
            assert_eq!(got.contains(&key(m)), !touched, "drop {drop}: {m:?}");
        }
        let kinds = part.anomaly_kinds();
        assert!(kinds.contains_key("gap_not_captured"), "drop {drop}: gap not reported: {kinds:?}");
    }
}
