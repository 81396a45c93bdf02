//! Shared helpers for integration tests: run the real pipeline over sample
//! captures and collect what it found.
#![allow(dead_code)]

pub mod browser;
pub mod lab;

use meetgraph::capture::CaptureFile;
use meetgraph::clusterbus::Message;
use meetgraph::pipeline::{Anomaly, BusSink, Input, MessageMeta, Pipeline, PipelineConfig};
use meetgraph::run::run_merged;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One message as the tests compare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seen {
    pub capture: usize,
    pub src: String,
    pub dst: String,
    pub msg_type: &'static str,
    pub sender: String,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub totlen: u32,
    pub ts_us: i64,
    pub frame: u64,
    pub first_frame: u64,
    pub offset: u64,
}

#[derive(Default)]
pub struct Collect {
    pub messages: Vec<Seen>,
    pub anomalies: Vec<Anomaly>,
}

impl BusSink for Collect {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let (sender, cur, cfg) = match &msg.header {
            Some(h) => (h.sender.as_str().into_owned(), h.current_epoch, h.config_epoch),
            None => (String::new(), 0, 0),
        };
        self.messages.push(Seen {
            capture: meta.capture,
            src: meta.src.to_string(),
            dst: meta.dst.to_string(),
            msg_type: msg.msg_type.name(),
            sender,
            current_epoch: cur,
            config_epoch: cfg,
            totlen: msg.totlen,
            ts_us: meta.ts_us,
            frame: meta.frame,
            first_frame: meta.first_frame,
            offset: meta.offset,
        });
    }

    fn anomaly(&mut self, anomaly: &Anomaly) {
        self.anomalies.push(anomaly.clone());
    }
}

impl Collect {
    /// Anomaly counts by kind.
    pub fn anomaly_kinds(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for a in &self.anomalies {
            *m.entry(a.kind.as_str()).or_default() += 1;
        }
        m
    }

    /// Message counts per (type, sender).
    pub fn by_type_sender(&self) -> BTreeMap<(String, String), usize> {
        let mut m = BTreeMap::new();
        for s in &self.messages {
            *m.entry((s.msg_type.to_string(), s.sender.clone())).or_default() += 1;
        }
        m
    }
}

pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Every sample directory (`samples/*/`), sorted. Panics when `samples/`
/// cannot be read or holds none, and when their number differs from the
/// folders `samples/README.md` lists: every helper and test that loops
/// over samples takes its count from here, so none can pass over an empty
/// or partial checkout.
pub fn sample_dirs() -> Vec<PathBuf> {
    let root = samples_dir();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", root.display())).path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("samples/README.md");
    let listed = readme.lines().filter(|l| l.starts_with("| `")).count();
    assert!(!v.is_empty(), "no sample directory in {}", root.display());
    assert_eq!(v.len(), listed, "sample directories vs folders listed in samples/README.md: {v:?}");
    v
}

/// The capture files of one sample directory, by name, sorted (at least
/// one: a sample without a capture is a broken sample).
pub fn captures_in(dir: &Path) -> Vec<String> {
    let mut caps: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).file_name().to_string_lossy().into_owned())
        .filter(|n| is_capture_name(n))
        .collect();
    caps.sort();
    assert!(!caps.is_empty(), "{}: no capture", dir.display());
    caps
}

fn is_capture_name(name: &str) -> bool {
    [".pcap", ".pcap.gz", ".pcapng", ".pcapng.gz"].iter().any(|s| name.ends_with(s))
}

/// Names of the sample directories ending in `suffix` (e.g. every
/// `-loopback-merge`), sorted; at least `min` of them.
#[allow(dead_code)]
pub fn samples_ending(suffix: &str, min: usize) -> Vec<String> {
    let v: Vec<String> = sample_dirs()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    assert!(v.len() >= min, "only {} samples ending in {suffix}: {v:?}", v.len());
    v
}

/// Whether a sample directory holds an encrypted bus (truth.json scenario
/// `tls-bus`): nothing in it decodes; tests/coverage.rs checks what
/// meetgraph says of it.
pub fn is_encrypted_sample(dir: &std::path::Path) -> bool {
    let t = std::fs::read_to_string(dir.join("truth.json")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    t.contains("\"scenario\": \"tls-bus\"")
}

/// The exit status `analyze` must give on a sample: 3 when the bus cannot
/// be read (encrypted), else 0.
pub fn expected_exit(dir: &std::path::Path) -> i32 {
    if is_encrypted_sample(dir) { 3 } else { 0 }
}

/// The sample directories whose bus can be decoded (every one but the
/// encrypted ones), at least one.
pub fn decodable_sample_dirs() -> Vec<PathBuf> {
    let v: Vec<PathBuf> = sample_dirs().into_iter().filter(|d| !is_encrypted_sample(d)).collect();
    assert!(!v.is_empty());
    v
}

/// Every capture of every sample whose bus can be decoded (each such
/// sample has at least one).
pub fn sample_captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        decodable_sample_dirs().iter().flat_map(|d| captures_in(d).into_iter().map(|c| d.join(c))).collect();
    out.sort();
    out
}

/// Every decodable sample directory with its capture files (paths,
/// sorted): one entry per directory of [`decodable_sample_dirs`].
pub fn sample_capture_sets() -> Vec<(PathBuf, Vec<PathBuf>)> {
    decodable_sample_dirs()
        .into_iter()
        .map(|d| {
            let files = captures_in(&d).into_iter().map(|c| d.join(c)).collect();
            (d, files)
        })
        .collect()
}

/// The names of the files in `dir`, sorted.
pub fn sorted_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Whether this run rewrites golden files (`UPDATE_GOLDEN` set). Never
/// under CI (`CI` set): that is refused, so a CI run cannot rewrite what
/// it checks.
pub fn updating_goldens() -> bool {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    assert!(
        !(update && std::env::var_os("CI").is_some()),
        "UPDATE_GOLDEN is set under CI (CI is set): goldens are only rewritten by hand"
    );
    update
}

/// With [`updating_goldens`]: writes `got` to `path` when it differs and
/// says so. The test collects these and fails at its end, so a run that
/// rewrote anything never passes (review the diff, then run again).
pub fn rewrite_golden(path: &Path, got: &str) -> Option<String> {
    if std::fs::read_to_string(path).is_ok_and(|want| want == got) {
        return None;
    }
    std::fs::write(path, got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(path.display().to_string())
}

/// Fails a golden test that rewrote files.
pub fn fail_if_rewritten(rewritten: &[String]) {
    assert!(
        rewritten.is_empty(),
        "UPDATE_GOLDEN rewrote {} golden file(s); review the diff and run again without it: {rewritten:#?}",
        rewritten.len()
    );
}

/// Runs the pipeline over `paths` together and collects everything.
pub fn run_files(paths: &[PathBuf]) -> (Collect, Vec<meetgraph::pipeline::CaptureStats>) {
    let mut inputs: Vec<Input> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = CaptureFile::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
            Input::new(f, Pipeline::new(i, PipelineConfig::default()))
        })
        .collect();
    let mut c = Collect::default();
    run_merged(&mut inputs, &mut c);
    for i in &inputs {
        assert!(i.error.is_none(), "{:?}", i.error);
    }
    let stats = inputs.iter().map(|i| i.pipeline.stats()).collect();
    (c, stats)
}

/// One input per capture file, each its own vantage named by its file name.
pub fn file_inputs(files: &[PathBuf]) -> (Vec<Input>, meetgraph::analysis::AnalysisConfig) {
    let inputs = files
        .iter()
        .enumerate()
        .map(|(i, p)| Input::new(CaptureFile::open(p).unwrap(), Pipeline::new(i, PipelineConfig::default())))
        .collect();
    let cfg = meetgraph::analysis::AnalysisConfig {
        vantages: files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect(),
        ..Default::default()
    };
    (inputs, cfg)
}

/// The analysis of `files` (one vantage each) read with `threads`, and
/// the capture statistics, as JSON (two ways of reading compared whole).
pub fn analysis_json(files: &[PathBuf], threads: meetgraph::run::Threads) -> serde_json::Value {
    let (mut inputs, cfg) = file_inputs(files);
    let (analyzer, stats) = meetgraph::run::analyze_inputs_with(&mut inputs, cfg, threads);
    let a = analyzer.finish();
    serde_json::json!({ "analysis": serde_json::to_value(&a).unwrap(), "stats": serde_json::to_value(&stats).unwrap() })
}

/// The analysis of a sample directory's `.pcap.gz` captures (in name
/// order, each its own vantage).
pub fn analyze_dir(dir: &Path) -> meetgraph::analysis::Analysis {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".pcap.gz"))
        .collect();
    files.sort();
    let (mut inputs, cfg) = file_inputs(&files);
    meetgraph::run::analyze(&mut inputs, cfg)
}

/// A captured packet, owned (to rewrite captures in tests).
#[derive(Clone)]
pub struct Pkt {
    pub ts_us: i64,
    pub link: u16,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// Every packet of a capture file.
pub fn read_all(path: &Path) -> Vec<Pkt> {
    let mut f = CaptureFile::open(path).unwrap();
    let mut out = Vec::new();
    while f.advance().unwrap() {
        let p = f.current().unwrap();
        out.push(Pkt { ts_us: p.ts_us, link: p.link.0, orig_len: p.orig_len, data: p.data.to_vec() });
    }
    out
}

/// Every sample with its capture files, sorted ([`sample_dirs`]: listed,
/// not named, every folder of `samples/README.md` present).
pub fn samples_with_captures() -> Vec<(String, Vec<PathBuf>)> {
    let out: Vec<(String, Vec<PathBuf>)> = sample_dirs()
        .into_iter()
        .map(|d| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
                .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
                .flatten()
                .map(|f| f.path())
                .filter(|p| p.to_string_lossy().contains(".pcap"))
                .collect();
            files.sort();
            (d.file_name().unwrap().to_string_lossy().into_owned(), files)
        })
        .filter(|(_, f)| !f.is_empty())
        .collect();
    assert!(out.len() >= 38, "only {} samples", out.len());
    out
}

/// Inputs as the binary opens them: a vantage plan (clocks aligned on the
/// first file given).
pub fn plan_inputs(files: &[PathBuf]) -> (Vec<meetgraph::pipeline::Input>, meetgraph::analysis::AnalysisConfig) {
    let sources: Vec<meetgraph::vantage::Source> = files
        .iter()
        .map(|p| meetgraph::vantage::Source {
            name: p.file_name().unwrap().to_string_lossy().into(),
            path: p.clone(),
            named: false,
        })
        .collect();
    let cfg = PipelineConfig::default();
    let plan = meetgraph::vantage::plan(&sources, None, &cfg).unwrap();
    meetgraph::run::open_plan(&plan, &cfg, &Default::default(), &Default::default()).unwrap()
}

/// Writes `pkts` as a pcapng file (the library's writer, as `-w` uses).
pub fn write_pcapng(path: &Path, pkts: &[Pkt]) {
    use meetgraph::capture::{LinkType, PcapngWriter, RawPacket};
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut w = PcapngWriter::new(std::io::BufWriter::new(file)).unwrap();
    for p in pkts {
        let raw = RawPacket { ts_us: p.ts_us, frame: 0, link: LinkType(p.link), orig_len: p.orig_len, data: &p.data };
        w.write(&raw).unwrap();
    }
    w.flush().unwrap();
}

/// A fresh directory under the system's temporary directory, unique to
/// this process and `what`.
pub fn scratch(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("meetgraph-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An Ethernet/IPv4/TCP frame (checksums zero: tshark does not check them
/// by default, meetgraph never does).
pub fn tcp_frame(src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0];
    p.extend_from_slice(&((40 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    p.extend_from_slice(&src.0);
    p.extend_from_slice(&dst.0);
    p.extend_from_slice(&src.1.to_be_bytes());
    p.extend_from_slice(&dst.1.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ack.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// A classic pcap: `header` (the 24-byte file header), then `(ts_us,
/// frame)` records sorted by time (µs, little-endian).
pub fn pcap_with(header: &[u8], mut packets: Vec<(i64, Vec<u8>)>) -> Vec<u8> {
    packets.sort_by_key(|p| p.0);
    let mut out = Vec::with_capacity(packets.iter().map(|p| p.1.len() + 16).sum::<usize>() + header.len());
    out.extend_from_slice(header);
    for (ts, d) in packets {
        out.extend_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(d.len() as u32).to_le_bytes());
        out.extend_from_slice(&(d.len() as u32).to_le_bytes());
        out.extend_from_slice(&d);
    }
    out
}
