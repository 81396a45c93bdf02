//! The analysis result: plain data, serialisable, documented as the JSON
//! schema (`schema_version` 1; see README.md "analyze --json").
//!
//! Closed sets are enums (`Via`, `FindingKind`, `AddressSource`, `Role`,
//! `Generation`) serialised as the snake_case strings of the schema, so a
//! new kind is a compile error wherever it must be handled; logic never
//! reads display text. Node ids are [`NodeId`] (40 wire bytes, serialised
//! as the same 40-character string). Imports: `events` (for `NodeId`) only.

pub use super::kinds::*;
pub use crate::events::NodeId;
use serde::Serialize;

/// Version of the JSON schema below. Bump on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Where to see something in Wireshark: capture name and frame number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    /// Shared: the same few names are in every piece of evidence.
    pub capture: std::sync::Arc<str>,
    pub frame: u64,
}

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
    /// This capture's clock against the reference (several captures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<CaptureClock>,
}

/// A capture's clock: reference time = capture time − `offset_us`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaptureClock {
    pub offset_us: i64,
    pub uncertainty_us: i64,
    /// `reference`, `shared_messages`, `node_clock` or `none`.
    pub method: String,
    pub samples: u64,
    /// The offset was applied (it exceeds its uncertainty).
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

/// One address a node was seen at, and how.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AddressSeen {
    /// `ip:port@cport` for announced and listening addresses, `ip` for
    /// packet sources.
    pub address: String,
    pub how: AddressSource,
    pub vantage: String,
    pub first_ts_us: i64,
    pub frame: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    pub id: NodeId,
    pub short: String,
    /// The address the node was first seen answering at (or best guess).
    pub best_address: String,
    pub addresses: Vec<AddressSeen>,
    /// What the bytes say about the server generation.
    pub generation: Generation,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    /// Role in the first and last header seen.
    pub role_first: Role,
    pub role_last: Role,
    pub replicaof_last: Option<NodeId>,
    pub slots_first: String,
    pub slots_last: String,
    pub config_epoch_first: u64,
    pub config_epoch_last: u64,
    pub hostname: Option<String>,
    /// Label of the cluster the node belonged to at the start (`null`: none).
    pub cluster: Option<String>,
}

/// A group of nodes that knew each other before any merge.
#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    pub label: String,
    pub nodes: Vec<NodeId>,
    /// Members no captured link ties to the others: their membership is
    /// inferred from what a member already knew when first seen (gossip
    /// entries without `handshake`), not observed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inferred: Vec<InferredMember>,
}

/// A member of a cluster known by inference.
#[derive(Clone, Debug, Serialize)]
pub struct InferredMember {
    pub node: NodeId,
    /// `learner` already knew `knew` when first seen (one of them is
    /// `node`).
    pub learner: NodeId,
    pub knew: NodeId,
    pub evidence: Vec<Evidence>,
}

/// How a learner came to know a node.
#[derive(Clone, Debug, Serialize)]
pub struct Introduction {
    pub ts_us: i64,
    pub learner: NodeId,
    pub node: NodeId,
    pub via: Via,
    pub introducer: Option<NodeId>,
    /// `ip:port@cport` the learner reached or recorded.
    pub address: Option<String>,
    /// The node that actually answered at `address`.
    pub answered_by: Option<NodeId>,
    /// For `gossip`: the node id the gossip entry named (may differ from
    /// `answered_by`: the collision signature).
    pub gossip_named: Option<NodeId>,
    /// For `operator_meet`: the command as sent, when captured.
    pub command: Option<String>,
    pub evidence: Vec<Evidence>,
}

impl Introduction {
    /// A gossiped address where another node than the one named answered.
    pub fn answered_by_other(&self) -> Option<(NodeId, NodeId)> {
        match (self.answered_by, self.gossip_named) {
            (Some(w), Some(n)) if w != n => Some((w, n)),
            _ => None,
        }
    }
}

/// A node joining a cluster (or two lone nodes forming one): not a merge.
#[derive(Clone, Debug, Serialize)]
pub struct Join {
    pub ts_us: i64,
    pub node: NodeId,
    pub joined: Vec<NodeId>,
    pub introduction: usize,
}

/// Two groups that were each already a cluster start to know each other.
#[derive(Clone, Debug, Serialize)]
pub struct Merge {
    pub ts_us: i64,
    pub sides: Vec<Vec<NodeId>>,
    /// From patient zero to the joining link, in time order.
    pub chain: Vec<Introduction>,
    /// The link that fused the sides was captured. When not, `ts_us` is
    /// the first evidence that they had fused: the merge happened then at
    /// the latest.
    pub observed: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// When its evidence first became true (same as `first_ts_us`).
    pub ts_us: i64,
    pub first_ts_us: i64,
    /// The last occurrence seen.
    pub last_ts_us: i64,
    /// Occurrences (messages, connections, answers: per kind).
    pub count: u64,
    pub nodes: Vec<NodeId>,
    pub addresses: Vec<String>,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    pub severity: Severity,
    pub phase: Phase,
    /// `sender_mismatch`: how the dial began (not in the JSON: the summary
    /// says it).
    #[serde(skip)]
    pub dial: Option<Dial>,
}

impl Finding {
    /// The same finding, seen `count` times up to `last_ts_us`.
    pub fn occurring(self, count: u64, last_ts_us: i64) -> Self {
        Finding { count, last_ts_us: last_ts_us.max(self.ts_us), ..self }
    }

    /// A finding without addresses or dial detail (severity and phase are
    /// set when the analysis finishes).
    pub fn about(kind: FindingKind, ts_us: i64, nodes: Vec<NodeId>, summary: String, evidence: Vec<Evidence>) -> Self {
        Finding {
            kind,
            ts_us,
            first_ts_us: ts_us,
            last_ts_us: ts_us,
            count: 1,
            nodes,
            addresses: Vec::new(),
            summary,
            evidence,
            severity: Severity::Info,
            phase: Phase::Incident,
            dial: None,
        }
    }
}

/// Slots that changed owner.
#[derive(Clone, Debug, Serialize)]
pub struct SlotMove {
    pub ts_us: i64,
    pub slots: String,
    pub count: u32,
    pub from: Option<NodeId>,
    /// The master claiming them now (`null`: nobody yet).
    pub to: Option<NodeId>,
    pub evidence: Vec<Evidence>,
    pub phase: Phase,
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleChange {
    pub ts_us: i64,
    pub node: NodeId,
    pub from: Role,
    pub to: Role,
    pub replicaof: Option<NodeId>,
    pub evidence: Vec<Evidence>,
    pub phase: Phase,
}

/// What the incident changed (setup-phase changes are not damage).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Damage {
    pub role_changes: Vec<RoleChange>,
    pub slot_moves: Vec<SlotMove>,
}

/// TLS connections from one client IP to one server address: an encrypted
/// stream meetgraph cannot decode, with what its metadata shows.
#[derive(Clone, Debug, Serialize)]
pub struct EncryptedFlow {
    pub first_ts_us: i64,
    pub last_ts_us: i64,
    pub client: String,
    /// `ip:port` of the side that was dialled.
    pub server: String,
    /// Stream directions seen with TLS records.
    pub connections: u64,
    /// Their payload bytes (as captured: a short snaplen counts less).
    pub bytes: u64,
    /// Why this looks like cluster bus (`null`: it does not).
    pub likely_bus: Option<String>,
    /// The pair began to talk during the capture (not at its start).
    pub new_pair: bool,
    pub evidence: Vec<Evidence>,
}

/// New encrypted connections to bus ports close together in time.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionBurst {
    pub ts_us: i64,
    pub last_ts_us: i64,
    pub stream_directions: u64,
    /// Bus ports (`ip:port`) connected to.
    pub servers: Vec<String>,
    /// Time without any new bus connection before it (`null`: the first
    /// burst, or not after a quiet period).
    pub quiet_before_us: Option<i64>,
}

/// How much of the bus the captures let meetgraph read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Coverage {
    /// Cluster-bus messages decoded.
    pub messages: u64,
    /// Stream directions that carried bus messages / that did not.
    pub bus_streams: u64,
    pub other_streams: u64,
    /// Gaps in bus streams from the capture's snaplen.
    pub snaplen_gaps: u64,
    /// Messages read in part (only a prefix was captured).
    pub cut_messages: u64,
    pub encrypted: Vec<EncryptedFlow>,
    /// TLS client→server pairs past the bound on pairs kept (junk,
    /// scanners): counted, not listed.
    pub encrypted_not_kept: u64,
    pub bursts: Vec<ConnectionBurst>,
    /// False when the verdict rests on incomplete evidence (exit status 3).
    pub complete: bool,
    /// What the captures cannot show, and what to capture next time.
    pub limits: Vec<String>,
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
    pub damage: Damage,
    /// The story in a few sentences, root cause first.
    pub story: Vec<String>,
    pub anomalies: std::collections::BTreeMap<String, u64>,
    pub coverage: Coverage,
    /// What the analysis's bounds dropped (absent when nothing was).
    #[serde(skip_serializing_if = "Retention::is_empty")]
    pub retention: Retention,
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
        self.nodes.iter().map(|n| (n.id, n.best_address.clone())).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_by_other_needs_two_different_ids() {
        let (a, b) = (NodeId([b'a'; 40]), NodeId([b'b'; 40]));
        let mut i = Introduction {
            ts_us: 0,
            learner: a,
            node: b,
            via: Via::Gossip,
            introducer: None,
            address: None,
            answered_by: Some(a),
            gossip_named: Some(b),
            command: None,
            evidence: vec![],
        };
        assert_eq!(i.answered_by_other(), Some((a, b)));
        i.answered_by = Some(b);
        assert_eq!(i.answered_by_other(), None);
    }
}
