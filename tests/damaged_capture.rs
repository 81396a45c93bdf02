//! A real merge capture damaged every way a copy gets damaged (issue 15):
//! cut at every 997th byte, random bits flipped, random whole fields of
//! random messages overwritten with hostile values. The library never
//! panics, and whenever the merge's own packets are intact the merge is
//! still reported, at the same moment.

mod common;

use common::samples_dir;
use flate2::read::GzDecoder;
use meetgraph::analysis::{Analysis, AnalysisConfig};
use meetgraph::capture::CaptureFile;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use std::io::Read;
use std::ops::Range;

/// The capture bytes and, per frame (1-based), its record's byte range.
fn sample() -> (Vec<u8>, Vec<Range<usize>>) {
    let path = samples_dir().join("redis-6.2-loopback-merge/lo.pcap.gz");
    let mut raw = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut raw).unwrap();
    assert_eq!(&raw[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "a little-endian pcap");
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= raw.len() {
        let incl = u32::from_le_bytes(raw[at + 8..at + 12].try_into().unwrap()) as usize;
        records.push(at..at + 16 + incl);
        at += 16 + incl;
    }
    assert_eq!(at, raw.len());
    (raw, records)
}

fn analyze(bytes: Vec<u8>) -> Option<Analysis> {
    let f = CaptureFile::from_reader("lo.pcap".into(), Box::new(std::io::Cursor::new(bytes))).ok()?;
    let mut inputs = [Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
    Some(meetgraph::run::analyze(&mut inputs, AnalysisConfig::default()))
}

/// The merge of the undamaged capture: its time and the byte range of
/// every packet its chain cites.
fn the_merge(raw: &[u8], records: &[Range<usize>]) -> (i64, Vec<Range<usize>>) {
    let a = analyze(raw.to_vec()).unwrap();
    assert_eq!(a.merges.len(), 1);
    let m = &a.merges[0];
    let frames: Vec<Range<usize>> =
        m.chain.iter().flat_map(|i| i.evidence.iter()).map(|e| records[e.frame as usize - 1].clone()).collect();
    assert!(!frames.is_empty());
    (m.ts_us, frames)
}

fn merged_at(a: &Analysis, ts: i64) -> bool {
    a.merges.iter().any(|m| m.ts_us == ts)
}

/// A small deterministic generator (no dependency; the runs repeat).
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

#[test]
fn cut_at_every_997th_byte() {
    let (raw, records) = sample();
    let (ts, frames) = the_merge(&raw, &records);
    let merge_end = frames.iter().map(|r| r.end).max().unwrap();
    let mut cuts = 0;
    for cut in (0..raw.len()).step_by(997) {
        let a = analyze(raw[..cut].to_vec());
        if cut >= merge_end {
            let a = a.expect("a capture cut after the merge opens");
            assert!(merged_at(&a, ts), "cut at byte {cut} (merge ends at {merge_end}): merge not reported");
        }
        cuts += 1;
    }
    assert!(cuts > 1000, "{cuts} cuts");
}

/// Positions in packet data (not the pcap's own headers) outside the
/// merge's packets.
fn outside(records: &[Range<usize>], frames: &[Range<usize>], rng: &mut Rng) -> usize {
    loop {
        let r = &records[rng.below(records.len())];
        if r.len() <= 16 || frames.iter().any(|f| f.start == r.start) {
            continue;
        }
        return r.start + 16 + rng.below(r.len() - 16);
    }
}

#[test]
fn random_bit_flips() {
    let (raw, records) = sample();
    let (ts, frames) = the_merge(&raw, &records);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for copy in 0..120 {
        let mut d = raw.clone();
        // Half the copies may hit anything (pcap headers too); the others
        // leave the merge's packets and the record headers intact.
        let anywhere = copy % 2 == 0;
        let mut intact = true;
        for _ in 0..1 + rng.below(40) {
            let at = if anywhere { rng.below(d.len()) } else { outside(&records, &frames, &mut rng) };
            intact &= !frames.iter().any(|f| f.contains(&at))
                && !records.iter().any(|r| (r.start..r.start + 16).contains(&at));
            d[at] ^= 1 << rng.below(8);
        }
        let a = analyze(d);
        if intact {
            let a = a.expect("opens");
            assert!(merged_at(&a, ts), "copy {copy}: merge not reported");
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked} copies with the merge intact");
}

/// Offsets of the cluster-bus messages in the capture, with the record
/// each lies in.
fn messages(raw: &[u8], records: &[Range<usize>]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (k, r) in records.iter().enumerate() {
        let data = &raw[r.start + 16..r.end];
        let mut i = 0;
        while let Some(p) = data[i..].windows(4).position(|w| w == b"RCmb") {
            out.push((r.start + 16 + i + p, k));
            i += p + 4;
        }
    }
    out
}

#[test]
fn random_whole_fields_overwritten() {
    let (raw, records) = sample();
    let (ts, frames) = the_merge(&raw, &records);
    let msgs = messages(&raw, &records);
    assert!(msgs.len() > 300);
    // (offset, length) of V1 header fields: totlen, ver, port, type, count,
    // currentEpoch, configEpoch, offset, sender, slots, replicaof, myip,
    // extensions, pport, cport, flags, state, mflags, first gossip entry.
    let fields: [(usize, usize); 19] = [
        (4, 4),
        (8, 2),
        (10, 2),
        (12, 2),
        (14, 2),
        (16, 8),
        (24, 8),
        (32, 8),
        (40, 40),
        (80, 2048),
        (2128, 40),
        (2168, 46),
        (2214, 2),
        (2246, 2),
        (2248, 2),
        (2250, 2),
        (2252, 1),
        (2253, 3),
        (2256, 104),
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut checked = 0;
    for copy in 0..120 {
        let mut d = raw.clone();
        let mut intact = true;
        for _ in 0..1 + rng.below(6) {
            let (at, k) = msgs[rng.below(msgs.len())];
            let (off, len) = fields[rng.below(fields.len())];
            let end = (at + off + len).min(records[k].end);
            if at + off >= end {
                continue;
            }
            intact &= !frames.iter().any(|f| f.start == records[k].start);
            let fill = match rng.below(4) {
                0 => 0xff,
                1 => 0x00,
                2 => 0x1b,
                _ => rng.next() as u8,
            };
            for b in &mut d[at + off..end] {
                *b = if fill == 0x1b { rng.next() as u8 } else { fill };
            }
        }
        let a = analyze(d).expect("opens");
        if intact {
            assert!(merged_at(&a, ts), "copy {copy}: merge not reported");
            checked += 1;
        }
    }
    assert!(checked >= 50, "{checked} copies with the merge intact");
}
