//! Regressions from fuzzing (`fuzz/`, issue 15), each with the smallest
//! input that showed it: a real capture with a few bytes of one message
//! replaced. Peer-controlled text reaches every output escaped, losslessly.

mod common;

use common::samples_dir;
use flate2::read::GzDecoder;
use meetgraph::analysis::AnalysisConfig;
use meetgraph::analysis::timeline::build_timeline;
use meetgraph::capture::CaptureFile;
use meetgraph::clusterbus::Message;
use meetgraph::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig};
use meetgraph::output::dot::write_dot;
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::output::report::{ReportOptions, Style, write_report};
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use meetgraph::run::run_merged;
use std::io::Read;

/// The decompressed Redis 7.0 loopback merge and the offsets of its
/// messages (`RCmb` at the start of a V1 header).
fn sample() -> (Vec<u8>, Vec<usize>) {
    let path = samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz");
    let mut raw = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut raw).unwrap();
    let at: Vec<usize> =
        raw.windows(10).enumerate().filter(|(_, w)| &w[..4] == b"RCmb" && w[8..10] == [0, 1]).map(|(i, _)| i).collect();
    assert!(at.len() > 400, "{} messages", at.len());
    (raw, at)
}

fn input(raw: &[u8]) -> Input {
    let f = CaptureFile::from_reader("lo.pcap".into(), Box::new(std::io::Cursor::new(raw.to_vec()))).unwrap();
    Input::new(f, Pipeline::new(0, PipelineConfig::default()))
}

fn dump_text(raw: &[u8]) -> String {
    let names = vec!["lo.pcap".to_string()];
    let mut w = DumpWriter::new(Vec::new(), DumpFormat::Text, &names);
    run_merged(&mut [input(raw)], &mut w);
    String::from_utf8(w.into_inner().0).unwrap()
}

fn assert_no_control(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n' && *c != '\t') {
        panic!("{what}: control character {c:?} reached the output");
    }
}

/// Fuzz finding (pipeline target): `dump` printed an announced IP holding
/// `\r\n` as it was, so one message forged a second dump line.
#[test]
fn dump_escapes_control_characters_in_an_announced_ip() {
    let (mut raw, at) = sample();
    let m = at[200];
    raw[m + 2168..m + 2168 + 13].copy_from_slice(b"1.2.3.4\r\nfake");
    let text = dump_text(&raw);
    assert_no_control("dump", &text);
    assert!(text.contains("myip=1.2.3.4\\x0d\\x0afake"), "the IP is shown escaped");
}

/// Fuzz finding (analysis target): `dump` printed a node name holding a
/// terminal escape sequence (`ESC[31m`) as it was (UPDATE `update_node=`,
/// and any short id).
#[test]
fn dump_escapes_terminal_sequences_in_node_names() {
    let (mut raw, at) = sample();
    let m = at[150];
    raw[m + 40..m + 45].copy_from_slice(b"\x1b[31m");
    let text = dump_text(&raw);
    assert_no_control("dump", &text);
    assert!(text.contains("\\x1b[31m"), "the name is shown escaped");
}

/// The first report: three bytes of one message's sender name
/// replaced by bytes that are not UTF-8. `analyze` (report and DOT) shows
/// them as `\xNN` and still finds the merge.
#[test]
fn invalid_utf8_in_one_sender_name_is_escaped_and_the_merge_still_found() {
    let (mut raw, at) = sample();
    let m = at[at.len() / 2];
    raw[m + 42..m + 45].copy_from_slice(&[0xff, 0xfe, 0xc3]);
    let analyze = |raw: &[u8]| {
        let cfg = AnalysisConfig { vantages: vec!["lo.pcap".into()], ..Default::default() };
        meetgraph::run::analyze(&mut [input(raw)], cfg)
    };
    let clean = analyze(&sample().0);
    let a = analyze(&raw);
    // The forged name is a node of its own (one message); the real merge
    // is still reported, at the same moment.
    assert!(a.merges.iter().any(|x| x.ts_us == clean.merges[0].ts_us), "the merge is still found");
    let mut report = Vec::new();
    write_report(&mut report, &a, &ReportOptions { all: true }, Style::Plain).unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_no_control("report", &report);
    assert!(report.contains("\\xff\\xfe\\xc3"), "the bytes are shown, escaped:\n{report}");
    let mut dot = Vec::new();
    write_dot(&mut dot, &a, &build_timeline(&a, None, None)).unwrap();
    assert!(String::from_utf8(dot).unwrap().contains("\\\\xff"), "DOT escapes the backslash of the escape");
}

#[derive(Default)]
struct Framed(Vec<(u64, u32)>);

impl FrameSink for Framed {
    fn message(&mut self, info: &FrameInfo, m: &Message<'_>) {
        self.0.push((info.offset, m.totlen));
    }
    fn anomaly(&mut self, _: &FrameInfo, _: FrameAnomaly) {}
}

/// Fuzz finding (framer target): on a stream joined mid-way, a header past
/// the hunt limit was taken when its message arrived in one chunk and not
/// when its last byte came in the next one. The limit now holds for any
/// chunking.
#[test]
fn the_hunt_limit_holds_whatever_the_chunking() {
    let (raw, at) = sample();
    let m = at[100];
    let len = u32::from_be_bytes(raw[m + 4..m + 8].try_into().unwrap()) as usize;
    let cfg = FramerConfig { max_totlen: 1 << 20, hunt_limit: 3000 };
    for junk in [2900, 3704] {
        let mut stream = vec![0u8; junk];
        stream.extend_from_slice(&raw[m..m + len]);
        let mut whole = Framed::default();
        let mut fr = BusFramer::new(true);
        fr.feed(&cfg, 0, 1, 0, &stream, &mut whole);
        fr.finish(2, 0, &mut whole);
        let mut split = Framed::default();
        let mut fr = BusFramer::new(true);
        let cut = stream.len() - 1;
        fr.feed(&cfg, 0, 1, 0, &stream[..cut], &mut split);
        fr.feed(&cfg, cut as u64, 2, 0, &stream[cut..], &mut split);
        fr.finish(3, 0, &mut split);
        assert_eq!(whole.0, split.0, "{junk} bytes before the header");
        let expected = if junk <= 3000 { vec![(junk as u64, len as u32)] } else { vec![] };
        assert_eq!(whole.0, expected, "{junk} bytes before the header");
    }
}
