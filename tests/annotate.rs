//! `analyze --annotate OUT.pcapng` (issue 30, part 2): the annotated
//! capture read back with a pcapng reader of this file's own (not
//! meetgraph's), against the inputs read with meetgraph's reader, the
//! JSON analysis and `dump --format jsonl`:
//! - every input packet is in it once, with its bytes, lengths and link
//!   type, and its first comment names its original file and frame;
//! - times are in order and are the input's times minus the clock offset
//!   the analysis applied (an offset forced on one capture with editcap
//!   is measured, applied and seen in the output);
//! - each packet says, in capitals, every message `dump` says it
//!   completes (so each MEET's packet says MEET);
//! - each evidence packet of every merge chain step names the step
//!   ("chain step i/n") and its learner's short id, each finding's names
//!   the finding; the section comment is the story;
//! - tshark reads it without error and `frame.comment` filters find the
//!   chain;
//! - a rotated capture (editcap -c) and a pcapng with two interfaces keep
//!   their files, frames and interfaces; stdin, `-i` and the input itself
//!   as output are refused before any reading; a damaged input gives the
//!   packets before the damage and exit status 1.

mod common;

use common::samples_dir;
use meetgraph::capture::CaptureFile;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One interface block of the output.
#[derive(Debug, Clone)]
struct Idb {
    link: u16,
    snaplen: u32,
    name: Option<String>,
    description: Option<String>,
}

/// One packet of the output.
#[derive(Debug, Clone)]
struct Pkt {
    iface: u32,
    ts_us: i64,
    orig_len: u32,
    data: Vec<u8>,
    comments: Vec<String>,
}

#[derive(Debug, Default)]
struct Pcapng {
    section_comments: Vec<String>,
    interfaces: Vec<Idb>,
    packets: Vec<Pkt>,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Options from `at` to the end of the block body: (code, value).
fn options(b: &[u8]) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= b.len() {
        let (code, len) = (u16le(b, at), u16le(b, at + 2) as usize);
        if code == 0 {
            break;
        }
        out.push((code, String::from_utf8(b[at + 4..at + 4 + len].to_vec()).expect("UTF-8 option")));
        at += 4 + len.div_ceil(4) * 4;
    }
    out
}

/// A little-endian pcapng file with one section (what meetgraph writes).
fn parse_pcapng(b: &[u8]) -> Pcapng {
    let mut out = Pcapng::default();
    let mut at = 0;
    while at < b.len() {
        let (kind, len) = (u32le(b, at), u32le(b, at + 4) as usize);
        assert!(len >= 12 && len % 4 == 0 && at + len <= b.len(), "block at {at}: length {len}");
        assert_eq!(u32le(b, at + len - 4) as usize, len, "trailing length at {at}");
        let body = &b[at + 8..at + len - 4];
        match kind {
            0x0A0D_0D0A => {
                assert_eq!(at, 0, "one section");
                assert_eq!(u32le(body, 0), 0x1A2B_3C4D);
                out.section_comments =
                    options(&body[16..]).into_iter().filter(|(c, _)| *c == 1).map(|(_, v)| v).collect();
            }
            1 => {
                let opts = options(&body[8..]);
                let get = |code| opts.iter().find(|(c, _)| *c == code).map(|(_, v)| v.clone());
                assert!(!opts.iter().any(|(c, _)| *c == 9), "times in microseconds (no if_tsresol)");
                out.interfaces.push(Idb {
                    link: u16le(body, 0),
                    snaplen: u32le(body, 4),
                    name: get(2),
                    description: get(3),
                });
            }
            6 => {
                let iface = u32le(body, 0);
                assert!((iface as usize) < out.interfaces.len(), "packet on an interface declared before it");
                let ts = (u64::from(u32le(body, 4)) << 32) | u64::from(u32le(body, 8));
                let caplen = u32le(body, 12) as usize;
                let data = body[20..20 + caplen].to_vec();
                let comments = options(&body[20 + caplen.div_ceil(4) * 4..])
                    .into_iter()
                    .filter(|(c, _)| *c == 1)
                    .map(|(_, v)| v)
                    .collect();
                out.packets.push(Pkt { iface, ts_us: ts as i64, orig_len: u32le(body, 16), data, comments });
            }
            k => panic!("unexpected block type {k:#x}"),
        }
        at += len;
    }
    out
}

/// One input packet as meetgraph's reader gives it.
#[derive(Debug, Clone)]
struct Orig {
    ts_us: i64,
    link: u16,
    orig_len: u32,
    data: Vec<u8>,
    interface: Option<usize>,
}

/// Every packet of `path` (up to damage), by frame number.
fn read_input(path: &Path) -> BTreeMap<u64, Orig> {
    let mut f = CaptureFile::open(path).unwrap();
    let mut out = BTreeMap::new();
    while let Ok(true) = f.advance() {
        let p = f.current().unwrap();
        let interface = f.origin().unwrap().interface;
        out.insert(
            p.frame,
            Orig { ts_us: p.ts_us, link: p.link.0, orig_len: p.orig_len, data: p.data.to_vec(), interface },
        );
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn meetgraph(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(args).output().unwrap()
}

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("meetgraph-annotate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The annotated capture of `files`, the JSON analysis, the exit status.
struct Run {
    out: Pcapng,
    path: PathBuf,
    analysis: Value,
    status: Option<i32>,
}

fn annotate(dir: &Path, files: &[PathBuf], extra: &[&str]) -> Run {
    let path = dir.join("annotated.pcapng");
    let json = dir.join("analysis.json");
    let mut args: Vec<String> = vec!["analyze".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--annotate".into(), path.display().to_string(), "--json".into(), json.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = meetgraph(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{args:?}: {:?}\n{stderr}", o.status);
    assert!(!stderr.contains("left out"), "{args:?}: comments left out: {stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let out = parse_pcapng(&std::fs::read(&path).unwrap());
    let analysis = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    Run { out, path, analysis, status: o.status.code() }
}

/// A packet's comments with the lines that go on (`… `, `…`) joined back
/// to the line they continue: what meetgraph said of it.
fn notes(p: &Pkt) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &p.comments {
        match (c.strip_prefix("… "), c.strip_prefix('…'), out.last_mut()) {
            (Some(rest), _, Some(last)) => {
                last.push(' ');
                last.push_str(rest);
            }
            (None, Some(rest), Some(last)) => last.push_str(rest),
            _ => out.push(c.clone()),
        }
    }
    out
}

/// `file#frame` of a packet (its first comment).
fn origin(p: &Pkt) -> (String, u64) {
    let first = p.comments.first().expect("every packet has its origin comment");
    let (f, n) = first.rsplit_once('#').unwrap_or_else(|| panic!("origin comment {first:?}"));
    (f.to_string(), n.parse().unwrap())
}

const TYPES: [&str; 12] = [
    "PING",
    "PONG",
    "MEET",
    "FAIL",
    "PUBLISH",
    "FAILOVER_AUTH_REQUEST",
    "FAILOVER_AUTH_ACK",
    "UPDATE",
    "MFSTART",
    "MODULE",
    "PUBLISHSHARD",
    "UNKNOWN",
];

/// The type of a message comment (`MEET 23d64118 …` → MEET).
fn message_type(comment: &str) -> Option<&str> {
    let word = comment.split(' ').next()?;
    TYPES.contains(&word).then_some(word)
}

/// The packets by origin, each once.
fn by_origin(out: &Pcapng) -> BTreeMap<(String, u64), &Pkt> {
    let mut m = BTreeMap::new();
    for p in &out.packets {
        assert!(m.insert(origin(p), p).is_none(), "{:?} written twice", origin(p));
    }
    m
}

/// Every input packet once, bytes, lengths and link type kept; times in
/// order, each shifted by its capture's applied offset.
fn check_packets(run: &Run, files: &[PathBuf], shift_of: &dyn Fn(&str) -> i64) {
    let out = &run.out;
    let got = by_origin(out);
    let mut expected = 0;
    for f in files {
        let name = file_name(f);
        let shift = shift_of(&name);
        let input = read_input(f);
        expected += input.len();
        for (frame, o) in &input {
            let p = got.get(&(name.clone(), *frame)).unwrap_or_else(|| panic!("{name}#{frame} not written"));
            assert_eq!((&p.data, p.orig_len), (&o.data, o.orig_len), "{name}#{frame}: bytes");
            let idb = &out.interfaces[p.iface as usize];
            assert_eq!(idb.link, o.link, "{name}#{frame}: link type");
            assert!(idb.name.as_deref().is_some_and(|n| n.starts_with(&format!("{name}:"))), "{idb:?}");
            let which = o.interface.map_or("undeclared interface".into(), |i| format!("interface {i}"));
            assert!(
                idb.description.as_deref().is_some_and(|d| d.starts_with(&format!("{name} {which}"))),
                "{name}#{frame}: {idb:?}"
            );
            assert_eq!(p.ts_us, (o.ts_us - shift).max(0), "{name}#{frame}: time");
        }
    }
    assert_eq!(out.packets.len(), expected, "packet count: the inputs' sum");
    let long: Vec<&String> = out.packets.iter().flat_map(|p| &p.comments).filter(|c| c.len() > 200).collect();
    assert!(long.is_empty(), "comments longer than Wireshark shows: {long:?}");
    for w in out.packets.windows(2) {
        assert!(w[0].ts_us <= w[1].ts_us, "out of order: {:?} then {:?}", w[0].comments[0], w[1].comments[0]);
    }
}

/// Clock shift applied to each capture, from the JSON (vantage → µs).
fn shifts(a: &Value) -> BTreeMap<String, i64> {
    a["captures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let applied = c["clock"]["applied"].as_bool().unwrap_or(false);
            let shift = if applied { c["clock"]["offset_us"].as_i64().unwrap() } else { 0 };
            (c["vantage"].as_str().unwrap().to_string(), shift)
        })
        .collect()
}

/// Each packet names every message `dump` says it completes, in capitals,
/// and nothing else as a message; returns the MEETs seen.
fn check_messages(run: &Run, files: &[PathBuf]) -> usize {
    let mut args = vec!["dump".to_string(), "--format".into(), "jsonl".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = meetgraph(&args);
    let mut want: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["record"] == "message" {
            let key = (r["capture"].as_str().unwrap().to_string(), r["frame"].as_u64().unwrap());
            want.entry(key).or_default().push(r["type"].as_str().unwrap().to_uppercase());
        }
    }
    let mut got: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for p in &run.out.packets {
        let types: Vec<String> = notes(p).iter().filter_map(|c| message_type(c)).map(str::to_string).collect();
        if !types.is_empty() {
            got.insert(origin(p), types);
        }
    }
    for v in want.values_mut().chain(got.values_mut()) {
        v.sort();
    }
    let meets: Vec<_> = want.iter().filter(|(_, t)| t.iter().any(|x| x == "MEET")).map(|(k, _)| k).collect();
    for k in &meets {
        assert!(
            got.get(*k).is_some_and(|t| t.iter().any(|x| x == "MEET")),
            "{k:?}: a MEET without MEET in its comments"
        );
    }
    assert_eq!(got, want, "message comments per packet = dump's messages per frame");
    meets.len()
}

/// Each evidence packet of each merge chain step names the step and its
/// learner; each finding's names it; the section comment is the story.
/// Returns the packets with a chain step.
fn check_evidence(run: &Run) -> usize {
    let got = by_origin(&run.out);
    let a = &run.analysis;
    let comments = |e: &Value| -> &Pkt {
        let key = (e["capture"].as_str().unwrap().to_string(), e["frame"].as_u64().unwrap());
        got.get(&key).unwrap_or_else(|| panic!("evidence {key:?} not in the output"))
    };
    let mut chain_packets = BTreeSet::new();
    for m in a["merges"].as_array().unwrap() {
        let chain = m["chain"].as_array().unwrap();
        for (i, step) in chain.iter().enumerate() {
            let learner = &step["learner"].as_str().unwrap()[..8];
            let step_name = format!("chain step {}/{}", i + 1, chain.len());
            let evidence = step["evidence"].as_array().unwrap();
            for e in evidence {
                let c = notes(comments(e));
                assert!(
                    c.iter().any(|c| c.contains(&step_name) && c.contains(learner)),
                    "{e}: {step_name} of learner {learner} not named in {c:?}"
                );
                chain_packets.insert(e.to_string());
            }
        }
    }
    for f in a["findings"].as_array().unwrap() {
        let what = format!("finding {}", f["kind"].as_str().unwrap());
        let summary = f["summary"].as_str().unwrap();
        for e in f["evidence"].as_array().unwrap() {
            let c = notes(comments(e));
            assert!(c.iter().any(|c| c.starts_with(&what) && c.ends_with(summary)), "{e}: {what} not in {c:?}");
        }
    }
    let story: Vec<&str> = a["story"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(run.out.section_comments.first().map(String::as_str), Some(story.join("\n").as_str()));
    chain_packets.len()
}

/// tshark reads the whole file without complaint, and its
/// `frame.comment` filter finds the packets with a chain step.
fn check_tshark(run: &Run, chain_packets: usize) {
    let tshark = |filter: &str| {
        let o = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&run.path)
            .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
            .output()
            .expect("tshark (installed by .ci/run)");
        let err = String::from_utf8_lossy(&o.stderr);
        let err: Vec<&str> = err.lines().filter(|l| !l.starts_with("Running as user")).collect();
        assert!(o.status.success() && err.is_empty(), "tshark -Y {filter}: {:?} {err:?}", o.status);
        String::from_utf8(o.stdout).unwrap().lines().count()
    };
    assert_eq!(tshark("frame"), run.out.packets.len(), "tshark reads every packet");
    assert_eq!(tshark("frame.comment contains \"chain\""), chain_packets, "frame.comment finds the chain");
}

fn sample_files(sample: &str) -> Vec<PathBuf> {
    let dir = samples_dir().join(sample);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = file_name(p);
            n.ends_with(".pcap") || n.ends_with(".pcap.gz") || n.ends_with(".pcapng") || n.ends_with(".pcapng.gz")
        })
        .collect();
    files.sort();
    files
}

/// Every multi-capture sample and a few single ones, all checks.
#[test]
fn samples_annotated_completely() {
    let samples: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(samples_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| file_name(&e.path()))
            .filter(|s| sample_files(s).len() > 1)
            .collect();
        v.sort();
        v.extend(
            [
                "redis-3.0.7-loopback-merge",
                "valkey-9.1-loopback-merge",
                "redis-4.0.14-address-reuse",
                "redis-7.0-tls-bus",
            ]
            .map(String::from),
        );
        v
    };
    assert!(samples.len() >= 12, "{samples:?}");
    let mut chains = 0;
    for s in &samples {
        let files = sample_files(s);
        let dir = tmp_dir(s);
        let run = annotate(&dir, &files, &[]);
        let shift = shifts(&run.analysis);
        check_packets(&run, &files, &|name| shift.get(name).copied().unwrap_or(0));
        let meets = check_messages(&run, &files);
        assert!(meets > 0 || s.contains("tls"), "{s}: no MEET");
        let chain = check_evidence(&run);
        let merges = run.analysis["merges"].as_array().unwrap().len();
        assert!(merges == 0 || chain > 0, "{s}: a merge without chain evidence");
        chains += usize::from(chain > 0);
        check_tshark(&run, chain);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(chains >= 3, "merge chains annotated in {chains} samples only");
}

fn editcap(args: &[&str]) {
    let o = Command::new("editcap").args(args).output().expect("editcap (wireshark-common)");
    assert!(o.status.success(), "editcap {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// One capture's clock set 5 s ahead: the analysis measures the offset
/// and applies it, and the output's times are on the reference clock.
#[test]
fn a_capture_ahead_is_shifted_back() {
    let dir = tmp_dir("shift");
    let mut files = sample_files("redis-7.0-multihost-merge");
    let h2 = files.iter().position(|f| file_name(f) == "h2.pcap.gz").unwrap();
    let ahead = dir.join("h2-ahead.pcap");
    editcap(&["-F", "pcap", "-t", "5", files[h2].to_str().unwrap(), ahead.to_str().unwrap()]);
    files[h2] = ahead;
    let run = annotate(&dir, &files, &[]);
    let shift = shifts(&run.analysis);
    let applied = shift["h2-ahead.pcap"];
    assert!((applied - 5_000_000).abs() < 1_000, "offset applied: {applied} µs");
    check_packets(&run, &files, &|name| shift.get(name).copied().unwrap_or(0));
    check_evidence(&run);
    let comment = &run.out.section_comments[1];
    assert!(comment.contains("h2-ahead.pcap: offset +") && comment.contains("subtracted"), "{comment}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A capture rotated into pieces (editcap -c) is one vantage: its packets
/// name their piece and their frame there, and they carry the same
/// message comments as the whole file's (TCP streams go on across the
/// pieces).
#[test]
fn a_rotated_capture_keeps_its_files_and_frames() {
    let dir = tmp_dir("rotated");
    let whole = samples_dir().join("redis-7.0-nodes-exact/lo.pcap.gz");
    let whole_run = annotate(&tmp_dir("rotated-whole"), std::slice::from_ref(&whole), &[]);
    let plain = dir.join("lo.pcap");
    editcap(&["-F", "pcap", whole.to_str().unwrap(), plain.to_str().unwrap()]);
    let pieces_dir = dir.join("pieces");
    std::fs::create_dir_all(&pieces_dir).unwrap();
    editcap(&["-F", "pcap", "-c", "1200", plain.to_str().unwrap(), pieces_dir.join("lo.pcap").to_str().unwrap()]);
    let mut pieces: Vec<PathBuf> = std::fs::read_dir(&pieces_dir).unwrap().flatten().map(|e| e.path()).collect();
    pieces.sort();
    assert!(pieces.len() >= 3, "{pieces:?}");
    let run = annotate(&dir, &pieces, &[]);
    assert_eq!(run.analysis["captures"].as_array().unwrap().len(), 1, "one vantage");
    check_packets(&run, &pieces, &|_| 0);
    check_evidence(&run);
    // Piece k's frame f is frame 1200·k + f of the whole file.
    let piece_of: BTreeMap<String, u64> =
        pieces.iter().enumerate().map(|(k, p)| (file_name(p), 1200 * k as u64)).collect();
    let notes = |r: &Run, renumber: &dyn Fn(&(String, u64)) -> u64| -> BTreeMap<u64, Vec<String>> {
        r.out
            .packets
            .iter()
            .map(|p| (renumber(&origin(p)), notes(p).into_iter().filter(|c| message_type(c).is_some()).collect()))
            .collect()
    };
    let rotated = notes(&run, &|(f, n)| piece_of[f] + n);
    let whole_notes = notes(&whole_run, &|(_, n)| *n);
    assert_eq!(rotated, whole_notes);
    assert!(rotated.values().any(|v| v.iter().any(|c| c.starts_with("MEET "))));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A pcapng with two interfaces (two captures merged with mergecap -I
/// none): each keeps its own interface block, link type and snaplen.
#[test]
fn a_pcapng_with_two_interfaces_keeps_both() {
    let dir = tmp_dir("ifaces");
    let files = sample_files("redis-7.0-multihost-merge");
    let two = dir.join("h1h2.pcapng");
    let o = Command::new("mergecap")
        .args(["-I", "none", "-w"])
        .arg(&two)
        .args(files.iter().filter(|f| ["h1.pcap.gz", "h2.pcap.gz"].contains(&file_name(f).as_str())))
        .output()
        .expect("mergecap");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let inputs: Vec<PathBuf> = files
        .iter()
        .filter(|f| ["dc.pcap.gz", "h3.pcap.gz"].contains(&file_name(f).as_str()))
        .cloned()
        .chain([two.clone()])
        .collect();
    let ifaces: BTreeSet<Option<usize>> = read_input(&two).values().map(|o| o.interface).collect();
    assert_eq!(ifaces, BTreeSet::from([Some(0), Some(1)]));
    let run = annotate(&dir, &inputs, &[]);
    let shift = shifts(&run.analysis);
    check_packets(&run, &inputs, &|name| shift.get(name).copied().unwrap_or(0));
    let names: BTreeSet<&str> = run.out.interfaces.iter().filter_map(|i| i.name.as_deref()).collect();
    assert!(names.contains("h1h2.pcapng:if0") && names.contains("h1h2.pcapng:if1"), "{names:?}");
    assert!(run.out.interfaces.iter().all(|i| i.snaplen > 0), "snaplens kept");
    check_tshark(&run, check_evidence(&run));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What cannot be annotated is refused before anything is read or
/// written, with a message that says why and what to do.
#[test]
fn impossible_annotations_are_refused_clearly() {
    let dir = tmp_dir("refused");
    let lo = samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz");
    let out = dir.join("x.pcapng");
    let refused = |args: &[&str], says: &str| {
        let o = meetgraph(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!out.exists());
    };
    let (lo_s, out_s) = (lo.to_str().unwrap(), out.to_str().unwrap());
    refused(&["analyze", "-", "--annotate", out_s], "standard input (-) cannot be read twice");
    refused(&["analyze", lo_s, "--annotate", "-"], "give a path");
    refused(&["analyze", lo_s, "--annotate", lo_s], "that is an input");
    if cfg!(feature = "live") {
        refused(&["analyze", "-i", "lo", "--annotate", out_s], "save the live capture with -w FILE");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A truncated input: the packets before the damage are annotated, the
/// command ends with status 1.
#[test]
fn a_damaged_input_gives_the_packets_before_the_damage() {
    let dir = tmp_dir("damaged");
    let mut raw = Vec::new();
    use std::io::Read;
    flate2::read::GzDecoder::new(
        std::fs::File::open(samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz")).unwrap(),
    )
    .read_to_end(&mut raw)
    .unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &raw[..raw.len() * 2 / 3]).unwrap();
    let run = annotate(&dir, std::slice::from_ref(&cut), &[]);
    assert_eq!(run.status, Some(1));
    let readable = read_input(&cut).len();
    assert!(readable > 500, "{readable}");
    check_packets(&run, &[cut], &|_| 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `src`'s Ethernet/IPv4 pcap with every fifth bus segment (payload of 64
/// bytes or more, a port in 17000-17999) sent as two segments, its second
/// half first: reassembly queues the half that ends the message, and the
/// message completes in that (earlier) packet when the first half comes.
fn split_bus_segments(src: &Path, dst: &Path) -> usize {
    use meetgraph::capture::{LinkType, RawPacket};
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(src).unwrap()).read_to_end(&mut raw).unwrap();
    assert_eq!(&raw[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian µs pcap");
    assert_eq!(u32le(&raw, 20), 1, "Ethernet");
    let mut out = raw[..24].to_vec();
    let (mut at, mut seen, mut split) = (24, 0, 0);
    let record = |out: &mut Vec<u8>, hdr: &[u8], data: &[u8]| {
        out.extend_from_slice(&hdr[..8]);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    };
    while at + 16 <= raw.len() {
        let hdr = &raw[at..at + 16];
        let caplen = u32le(hdr, 8) as usize;
        let data = &raw[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        let pkt = RawPacket { ts_us: 0, frame: 0, link: LinkType::ETHERNET, orig_len: caplen as u32, data };
        let bus = |p: u16| (17000..18000).contains(&p);
        let seg = match meetgraph::decode::decode_packet(&pkt) {
            Ok(Some(s)) if s.payload.len() >= 64 && s.missing == 0 && (bus(s.src.port) || bus(s.dst.port)) => s,
            _ => {
                record(&mut out, hdr, data);
                continue;
            }
        };
        seen += 1;
        if seen % 5 != 0 || data[12..14] != [0x08, 0x00] {
            record(&mut out, hdr, data);
            continue;
        }
        split += 1;
        let ip = 14;
        let tcp = ip + usize::from(data[ip] & 0x0f) * 4;
        let payload_at = data.len() - seg.payload.len();
        let half = seg.payload.len() / 2;
        let piece = |from: usize, to: usize| {
            let mut p = data[..payload_at].to_vec();
            p.extend_from_slice(&seg.payload[from..to]);
            let ip_len = (p.len() - ip) as u16;
            p[ip + 2..ip + 4].copy_from_slice(&ip_len.to_be_bytes());
            p[tcp + 4..tcp + 8].copy_from_slice(&seg.seq.wrapping_add(from as u32).to_be_bytes());
            p
        };
        record(&mut out, hdr, &piece(half, seg.payload.len()));
        record(&mut out, hdr, &piece(0, half));
    }
    std::fs::write(dst, out).unwrap();
    split
}

/// Messages that complete in a packet reassembly held out of order are
/// said on that packet: it waits until its hole fills.
#[test]
fn a_message_completed_by_a_held_segment_is_said_on_it() {
    let dir = tmp_dir("held");
    let crafted = dir.join("halves-swapped.pcap");
    let split = split_bus_segments(&samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz"), &crafted);
    assert!(split > 50, "{split} segments split");
    // Those messages complete in a packet before the one with their first
    // byte: written at once, it would miss them.
    let o = meetgraph(&["dump", "--format", "jsonl", crafted.to_str().unwrap()]);
    let late = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"] == "message" && r["first_frame"].as_u64() > r["frame"].as_u64())
        .count();
    assert!(late > 50, "{late} messages complete in an earlier packet than their first byte's");
    let files = [crafted];
    let run = annotate(&dir, &files, &[]);
    check_packets(&run, &files, &|_| 0);
    check_messages(&run, &files);
    check_tshark(&run, check_evidence(&run));
    std::fs::remove_dir_all(&dir).unwrap();
}
