//! What the analysis is told from outside: the capture (vantage) names, the
//! time to stop at, the bounds on what it keeps, and how a (capture, frame)
//! becomes [`Evidence`].

use super::model::{Alignment, Evidence, capture_name};
use std::sync::OnceLock;

/// Default events kept per list (findings of one kind, role changes, slot
/// moves): the first 500 and the latest 500.
pub const DEFAULT_MAX_EVENTS: usize = 1_000;
/// Default node ids tracked (Redis Cluster supports up to 1,000 nodes).
pub const DEFAULT_MAX_NODES: usize = 10_000;

/// The analysis's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Entries kept per event list (at least 2).
    pub max_events: usize,
    /// Distinct node ids tracked.
    pub max_nodes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds { max_events: DEFAULT_MAX_EVENTS, max_nodes: DEFAULT_MAX_NODES }
    }
}

/// Analysis options.
#[derive(Clone, Debug, Default)]
pub struct AnalysisConfig {
    /// Capture (vantage) names, by input index.
    pub vantages: Vec<String>,
    /// Ignore events after this time (for "what did X believe at T").
    pub until_us: Option<i64>,
    /// Per capture of several files (a rotated capture): (frames before
    /// the file, file name), in reading order. Empty: one file.
    pub files: Vec<Vec<(u64, String)>>,
    /// Per capture: its clock against the reference (several captures).
    pub clocks: Vec<Option<Alignment>>,
    /// What the analysis keeps at most.
    pub bounds: Bounds,
    /// Keep each node's own cluster table as the servers would (what
    /// `Analyzer::view_of` and `meetgraph nodes` print). Off by default:
    /// nothing else reads them, and keeping them is a fifth of the work.
    pub node_views: bool,
    /// For node views: the server version (major, minor) whose table
    /// rules to follow where the bytes cannot tell (Redis 4.0 to 6.2 look
    /// alike on the wire); `None`: from the bytes.
    pub server_version: Option<(u32, u32)>,
    /// The capture and file names as shared strings, made at the first
    /// [`AnalysisConfig::evidence`] (set `vantages` and `files` before):
    /// evidence is made several times per message and kept by the
    /// thousand, and a shared name costs neither an allocation nor a copy.
    pub names: SharedNames,
}

/// See [`AnalysisConfig::names`].
#[derive(Clone, Debug, Default)]
pub struct SharedNames(OnceLock<EvidenceNames>);

#[derive(Clone, Debug)]
struct EvidenceNames {
    /// Per capture: its vantage name.
    vantages: Vec<&'static str>,
    /// Per capture: (frames before the file, file name) when it has
    /// several files.
    files: Vec<Vec<(u64, &'static str)>>,
}

impl AnalysisConfig {
    /// The vantage name of capture `capture` (`#N` when unnamed).
    pub fn vantage(&self, capture: usize) -> String {
        self.vantages.get(capture).cloned().unwrap_or_else(|| format!("#{capture}"))
    }

    /// Where to see frame `frame` of capture `capture`.
    pub fn evidence(&self, capture: usize, frame: u64) -> Evidence {
        let names = self.names.0.get_or_init(|| EvidenceNames {
            vantages: (0..self.vantages.len()).map(|c| capture_name(&self.vantage(c))).collect(),
            files: self.files.iter().map(|f| f.iter().map(|(b, n)| (*b, capture_name(n))).collect()).collect(),
        });
        match names.files.get(capture).filter(|f| f.len() > 1) {
            Some(files) => {
                let i = files.partition_point(|(b, _)| *b < frame).saturating_sub(1);
                let (base, name) = &files[i];
                Evidence { capture: name, frame: frame - base }
            }
            None => match names.vantages.get(capture) {
                Some(name) => Evidence { capture: name, frame },
                None => Evidence { capture: capture_name(&self.vantage(capture)), frame },
            },
        }
    }

    /// The files of capture `capture` when it has several.
    pub fn files_of(&self, capture: usize) -> Vec<String> {
        match self.files.get(capture) {
            Some(f) if f.len() > 1 => f.iter().map(|(_, n)| n.clone()).collect(),
            _ => Vec::new(),
        }
    }
}
