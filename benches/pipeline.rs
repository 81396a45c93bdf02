//! Throughput of the wire layer on a real capture (the Redis 3.0.7
//! incident, host h1, `tcpdump -i any`), decompressed into memory before
//! timing:
//! - `parse_message`: the nom parser alone over every message;
//! - `framer`: framing + parsing of the reassembled streams;
//! - `pipeline_stats`: capture reader → decode → reassembly → framer →
//!   parser → statistics (what `dump --stats -q` does);
//! - `pipeline_dump_text`: the same plus formatting every message line;
//! - `analyze`: the pipeline feeding the analysis (what `analyze` does).
//!
//! Run: `cargo bench --bench pipeline`. Throughput is in capture bytes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::read::MultiGzDecoder;
use meetgraph::capture::CaptureFile;
use meetgraph::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig};
use meetgraph::clusterbus::{Message, parse_message};
use meetgraph::decode::decode_packet;
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::pipeline::{Anomaly, BusSink, Input, MessageMeta, Pipeline, PipelineConfig};
use meetgraph::reassembly::{ChunkMeta, CloseReason, GapReason, Reassembler, ReassemblyConfig, StreamConsumer};
use meetgraph::run::run_merged;
use std::hint::black_box;
use std::io::Read;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/redis-3.0.7-docker-bridge/h1.pcap.gz");

fn load() -> &'static [u8] {
    let gz = std::fs::read(SAMPLE).expect("sample");
    let mut raw = Vec::new();
    MultiGzDecoder::new(&gz[..]).read_to_end(&mut raw).expect("gunzip");
    Box::leak(raw.into_boxed_slice())
}

#[derive(Default)]
struct Streams(std::collections::BTreeMap<(u64, String), Vec<u8>>);

impl StreamConsumer for Streams {
    type State = ();
    fn data(&mut self, _: &mut (), m: &ChunkMeta, b: &[u8]) {
        self.0.entry((m.conn_id, m.src.to_string())).or_default().extend_from_slice(b);
    }
    fn gap(&mut self, _: &mut (), _: &ChunkMeta, _: u64, _: GapReason) {}
    fn close(&mut self, _: &mut (), _: &ChunkMeta, _: CloseReason) {}
}

fn bus_streams(raw: &'static [u8]) -> Vec<Vec<u8>> {
    let mut f = CaptureFile::from_reader("bench".into(), Box::new(raw)).expect("capture");
    let mut r: Reassembler<()> = Reassembler::new(ReassemblyConfig::default());
    let mut s = Streams::default();
    while f.advance().expect("read") {
        let pkt = f.current().expect("packet");
        if let Ok(Some(seg)) = decode_packet(&pkt) {
            r.feed(&seg, pkt.ts_us, pkt.frame, &mut s);
        }
    }
    r.finish(&mut s, 0);
    s.0.into_values().filter(|b| b.starts_with(b"RCmb")).collect()
}

#[derive(Default)]
struct Count(u64);

impl FrameSink for Count {
    fn message(&mut self, _: &FrameInfo, m: &Message<'_>) {
        self.0 += u64::from(m.totlen);
    }
    fn anomaly(&mut self, _: &FrameInfo, _: FrameAnomaly) {}
}

impl BusSink for Count {
    fn message(&mut self, _: &MessageMeta, m: &Message<'_>) {
        self.0 += m.header.as_ref().map_or(0, |h| h.current_epoch) + 1;
    }
    fn anomaly(&mut self, _: &Anomaly) {}
}

fn split_messages(streams: &[Vec<u8>]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for s in streams {
        let mut i = 0;
        while i + 8 <= s.len() {
            let t = u32::from_be_bytes([s[i + 4], s[i + 5], s[i + 6], s[i + 7]]) as usize;
            if t < 16 || i + t > s.len() {
                break;
            }
            out.push(&s[i..i + t]);
            i += t;
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let raw = load();
    let streams: &'static [Vec<u8>] = Box::leak(bus_streams(raw).into_boxed_slice());
    let messages = split_messages(streams);
    let msg_bytes: u64 = messages.iter().map(|m| m.len() as u64).sum();
    let stream_bytes: u64 = streams.iter().map(|s| s.len() as u64).sum();

    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Bytes(msg_bytes));
    g.bench_function("parse_message", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for m in &messages {
                if let Ok(p) = parse_message(m) {
                    n += u64::from(p.totlen) + p.gossip().count() as u64;
                }
            }
            black_box(n)
        })
    });
    g.throughput(Throughput::Bytes(stream_bytes));
    g.bench_function("framer", |b| {
        let cfg = FramerConfig::default();
        b.iter(|| {
            let mut count = Count::default();
            for s in streams {
                let mut f = BusFramer::new(false);
                // Feed in 1448-byte chunks, like TCP segments.
                let mut off = 0;
                for chunk in s.chunks(1448) {
                    f.feed(&cfg, off, 1, 0, chunk, &mut count);
                    off += chunk.len() as u64;
                }
            }
            black_box(count.0)
        })
    });
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("pipeline_stats", |b| {
        b.iter(|| {
            let f = CaptureFile::from_reader("bench".into(), Box::new(raw)).expect("capture");
            let mut inputs = vec![Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
            let mut count = Count::default();
            run_merged(&mut inputs, &mut count);
            black_box((count.0, inputs[0].pipeline.stats().messages))
        })
    });
    g.bench_function("pipeline_dump_text", |b| {
        let names = vec!["h1.pcap".to_string()];
        b.iter(|| {
            let f = CaptureFile::from_reader("bench".into(), Box::new(raw)).expect("capture");
            let mut inputs = vec![Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
            let mut w = DumpWriter::new(std::io::sink(), DumpFormat::Text, &names);
            run_merged(&mut inputs, &mut w);
            black_box(inputs[0].pipeline.stats().messages)
        })
    });
    g.bench_function("analyze", |b| {
        b.iter(|| {
            let f = CaptureFile::from_reader("bench".into(), Box::new(raw)).expect("capture");
            let mut inputs = vec![Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
            let cfg = meetgraph::analysis::AnalysisConfig {
                vantages: vec!["h1".into()],
                until_us: None,
                ..Default::default()
            };
            black_box(meetgraph::run::analyze(&mut inputs, cfg).introductions.len())
        })
    });
    g.finish();
}

criterion_group!(wire, benches);
criterion_main!(wire);
