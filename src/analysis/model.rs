//! The analysis result: plain data, serialisable, documented as the JSON
//! schema (`schema_version` 1; see README.md "analyze --json").

use serde::Serialize;

/// Version of the JSON schema below. Bump on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Where to see something in Wireshark: capture name and frame number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    pub capture: String,
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
    /// `ip:port@cport` for announced/gossiped/listening addresses, `ip` for
    /// packet sources.
    pub address: String,
    /// `listening` (answered there), `source` (its packets came from that IP),
    /// `announced` (myip), `gossiped` (others said so).
    pub how: String,
    pub vantage: String,
    pub first_ts_us: i64,
    pub frame: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    pub id: String,
    pub short: String,
    /// The address the node was first seen answering at (or best guess).
    pub best_address: String,
    pub addresses: Vec<AddressSeen>,
    /// What the bytes say about the server generation.
    pub generation: String,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    /// `master` / `replica` in the first and last header seen.
    pub role_first: String,
    pub role_last: String,
    pub replicaof_last: Option<String>,
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
    pub nodes: Vec<String>,
}

/// How a learner came to know a node.
#[derive(Clone, Debug, Serialize)]
pub struct Introduction {
    pub ts_us: i64,
    pub learner: String,
    pub node: String,
    /// `operator_meet` (CLUSTER MEET run on the learner: decoded from the
    /// data port, or inferred from a MEET to an address nobody gossiped to
    /// it), `meet` (a MEET received from the unknown node), `meet_gossip`
    /// (Valkey 8+: listed in the gossip of a MEET from an unknown sender),
    /// `gossip` (a gossip entry from a known node, `introducer`), `prior`
    /// (known before the capture: shown within 5 s of the learner's first
    /// message), `unobserved` (shown later, learned through traffic the
    /// capture does not contain).
    pub via: String,
    pub introducer: Option<String>,
    /// `ip:port@cport` the learner reached or recorded.
    pub address: Option<String>,
    /// The node that actually answered at `address`.
    pub answered_by: Option<String>,
    /// For `gossip`: the node id the gossip entry named (may differ from
    /// `answered_by`: the collision signature).
    pub gossip_named: Option<String>,
    /// For `operator_meet`: the command as sent, when captured.
    pub command: Option<String>,
    pub evidence: Vec<Evidence>,
}

/// A node joining a cluster (or two lone nodes forming one): not a merge.
#[derive(Clone, Debug, Serialize)]
pub struct Join {
    pub ts_us: i64,
    pub node: String,
    pub joined: Vec<String>,
    pub introduction: usize,
}

/// Two groups that were each already a cluster start to know each other.
#[derive(Clone, Debug, Serialize)]
pub struct Merge {
    pub ts_us: i64,
    pub sides: Vec<Vec<String>>,
    /// From patient zero to the joining link, in time order.
    pub chain: Vec<Introduction>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// `address_collision`, `nat_rewrite`, `sender_mismatch`,
    /// `handshake_flapping`, `slot_conflict`, `role_change`,
    /// `epoch_collision`, `epoch_bump`, `node_failed`, `failover`,
    /// `update_message`, `near_miss`.
    pub kind: String,
    pub ts_us: i64,
    pub nodes: Vec<String>,
    pub addresses: Vec<String>,
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

/// Slots that changed owner.
#[derive(Clone, Debug, Serialize)]
pub struct SlotMove {
    pub ts_us: i64,
    pub slots: String,
    pub count: u32,
    pub from: Option<String>,
    /// The master claiming them now (`null`: nobody yet).
    pub to: Option<String>,
    pub evidence: Vec<Evidence>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleChange {
    pub ts_us: i64,
    pub node: String,
    pub from: String,
    pub to: String,
    pub replicaof: Option<String>,
    pub evidence: Vec<Evidence>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Damage {
    pub role_changes: Vec<RoleChange>,
    pub slot_moves: Vec<SlotMove>,
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
}
