//! Shared helpers for integration tests: run the real pipeline over sample
//! captures and collect what it found.
#![allow(dead_code)]

pub mod browser;

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

/// Names of the sample directories ending in `suffix` (e.g. every
/// `-loopback-merge`), sorted; at least `min` of them.
#[allow(dead_code)]
pub fn samples_ending(suffix: &str, min: usize) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    v.sort();
    assert!(v.len() >= min, "only {} samples ending in {suffix}: {v:?}", v.len());
    v
}

/// Whether a sample directory holds an encrypted bus (truth.json scenario
/// `tls-bus`): nothing in it decodes; tests/coverage.rs checks what
/// meetgraph says of it.
pub fn is_encrypted_sample(dir: &std::path::Path) -> bool {
    std::fs::read_to_string(dir.join("truth.json")).is_ok_and(|t| t.contains("\"scenario\": \"tls-bus\""))
}

/// The exit status `analyze` must give on a sample: 3 when the bus cannot
/// be read (encrypted), else 0.
pub fn expected_exit(dir: &std::path::Path) -> i32 {
    if is_encrypted_sample(dir) { 3 } else { 0 }
}

/// Every capture of every sample whose bus can be decoded.
pub fn sample_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(samples_dir()) else {
        return out;
    };
    for d in dirs.flatten() {
        if is_encrypted_sample(&d.path()) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(d.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".pcap")
                || name.ends_with(".pcap.gz")
                || name.ends_with(".pcapng")
                || name.ends_with(".pcapng.gz")
            {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
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
