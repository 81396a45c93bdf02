//! The whole result ([`Analysis`], `schema_version` 1; see README.md
//! "analyze --json"), the captures and their clocks, what the bounds
//! dropped.

use super::conflicts::IdConflict;
use super::coverage::Coverage;
use super::findings::{Damage, Election, Finding};
use super::hazards::{Audit, WhatToDo};
use super::introductions::{Introduction, Join, Merge};
use super::nodes::{Cluster, NodeSummary};
use super::story::Story;
use crate::decode::TunnelStats;
use crate::events::NodeId;
use crate::time::clocks::Alignment;
use serde::Serialize;

/// Version of the JSON schema below. Bump on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct CaptureInfo {
    pub index: usize,
    /// Vantage name (file name unless `--vantage NAME=FILE`).
    pub vantage: String,
    pub first_ts_us: Option<i64>,
    pub last_ts_us: Option<i64>,
    pub messages: u64,
    /// Node pairs whose bus link this capture saw (both ends identified).
    pub node_pairs_seen: usize,
    /// The files of a rotated capture, in reading order (evidence names
    /// the file and its own frame number).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// This capture's clock against the reference (several captures), as
    /// the vantage plan aligned it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<Alignment>,
    /// What the capture did to the packets: the snaplen, the tunnels.
    #[serde(flatten)]
    pub wire: CaptureWire,
}

/// What one capture's packets went through before meetgraph read them:
/// cut by a snaplen, carried in tunnels (told by the reading layers).
#[derive(Clone, Debug, Default, Serialize)]
pub struct CaptureWire {
    /// Packets captured shorter than on the wire.
    #[serde(skip_serializing_if = "is_zero")]
    pub cut_packets: u64,
    /// The snaplen that cut them (their longest captured length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snaplen: Option<u32>,
    /// What was decapsulated (kind, outer endpoints, VNI / key, packets)
    /// and what was named but not decoded.
    #[serde(skip_serializing_if = "TunnelStats::is_empty")]
    pub tunnels: TunnelStats,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Estimated clock offset of capture `b` relative to capture `a`, from
/// messages seen by both (positive: b's clock is ahead).
#[derive(Clone, Debug, Serialize)]
pub struct ClockOffset {
    pub a: String,
    pub b: String,
    pub offset_us: i64,
    pub samples: u64,
}

/// The whole result.
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    pub schema_version: u32,
    pub captures: Vec<CaptureInfo>,
    pub clock_offsets: Vec<ClockOffset>,
    pub nodes: Vec<NodeSummary>,
    pub clusters: Vec<Cluster>,
    pub introductions: Vec<Introduction>,
    pub joins: Vec<Join>,
    pub merges: Vec<Merge>,
    pub findings: Vec<Finding>,
    /// Each `id_conflict` over time (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_conflicts: Vec<IdConflict>,
    pub damage: Damage,
    /// Replicas' elections (failover attempts), in time order.
    pub elections: Vec<Election>,
    /// The story in a few sentences, root cause first.
    pub story: Story,
    pub anomalies: std::collections::BTreeMap<String, u64>,
    pub coverage: Coverage,
    /// What the analysis's bounds dropped (absent when nothing was).
    #[serde(skip_serializing_if = "Retention::is_empty")]
    pub retention: Retention,
    /// Latent hazards (`meetgraph audit`; its own JSON document).
    #[serde(skip)]
    pub audit: Audit,
    /// The steps the report ends with, for what was found.
    pub what_to_do_now: WhatToDo,
    /// When the first event of any capture happened (a message, a command,
    /// a connection's end, an anomaly): the captures' start when they
    /// hold no bus message.
    #[serde(skip)]
    pub first_event_us: Option<i64>,
}

/// Entries of one event list that were not kept (between the first and
/// the latest ones kept).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub count: u64,
    pub first_ts_us: i64,
    pub last_ts_us: i64,
}

/// What the analysis's bounds (`--max-events`, `--max-nodes`) dropped.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Retention {
    /// Entries kept per event list: the first half and the latest half.
    pub max_events: usize,
    /// Distinct node ids tracked.
    pub max_nodes: usize,
    /// Findings not kept, by kind.
    pub findings: std::collections::BTreeMap<String, Dropped>,
    pub role_changes: Dropped,
    pub slot_moves: Dropped,
    /// Messages whose sender was past the node bound.
    pub messages_ignored: u64,
    /// Gossip entries and other fields naming ids past the node bound.
    pub node_mentions_ignored: u64,
}

impl Retention {
    /// Nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
            && self.role_changes.count == 0
            && self.slot_moves.count == 0
            && self.messages_ignored == 0
            && self.node_mentions_ignored == 0
    }
}

impl Analysis {
    /// Best address of every node, for sentences.
    pub fn best_addresses(&self) -> std::collections::BTreeMap<NodeId, String> {
        self.nodes.iter().map(|n| (n.id, n.best_address.to_string())).collect()
    }

    /// First capture timestamp (the report's `+0s`): of the first decoded
    /// message, else of the first encrypted connection.
    pub fn t0_us(&self) -> Option<i64> {
        self.captures
            .iter()
            .filter_map(|c| c.first_ts_us)
            .min()
            .or_else(|| self.coverage.encrypted.iter().map(|f| f.first_ts_us).min())
    }
}
