//! The analysis result: plain data, serialisable, documented as the JSON
//! schema (`schema_version` 1; see README.md "analyze --json").
//!
//! Closed sets are enums (`Via`, `FindingKind`, `AddressSource`, `Role`,
//! `Generation`) serialised as the snake_case strings of the schema, so a
//! new kind is a compile error wherever it must be handled; logic never
//! reads display text. Node ids are [`NodeId`] (40 wire bytes, serialised
//! as the same 40-character string). Imports: `events` (for `NodeId`) only.

pub use crate::events::NodeId;
use serde::{Serialize, Serializer};
use std::fmt;

/// Version of the JSON schema below. Bump on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Where to see something in Wireshark: capture name and frame number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    pub capture: String,
    pub frame: u64,
}

/// Implements `as_str`, `Display` and the schema's string for a closed set.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The schema's name of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// How a learner came to know a node.
    Via {
        /// CLUSTER MEET run on the learner: decoded from the data port, or
        /// inferred from a MEET to an address nobody gossiped to it.
        OperatorMeet => "operator_meet",
        /// A MEET received from the unknown node.
        Meet => "meet",
        /// Valkey 8+: listed in the gossip of a MEET from an unknown sender.
        MeetGossip => "meet_gossip",
        /// A gossip entry from a known node (the introducer).
        Gossip => "gossip",
        /// Known before the capture: shown within 5 s of the learner's first
        /// message.
        Prior => "prior",
        /// Shown later, learned through traffic the capture does not contain.
        Unobserved => "unobserved",
    }
}

impl Via {
    /// Introductions the capture did not see happen.
    pub fn is_hearsay(self) -> bool {
        matches!(self, Via::Prior | Via::Unobserved)
    }
}

named_enum! {
    /// What a finding is about.
    FindingKind {
        AddressCollision => "address_collision",
        NatRewrite => "nat_rewrite",
        SenderMismatch => "sender_mismatch",
        HandshakeFlapping => "handshake_flapping",
        SlotConflict => "slot_conflict",
        RoleChange => "role_change",
        EpochCollision => "epoch_collision",
        EpochBump => "epoch_bump",
        NodeFailed => "node_failed",
        Failover => "failover",
        UpdateMessage => "update_message",
    }
}

named_enum! {
    /// How an address of a node was seen. Declared in the alphabetical order
    /// of the names: address lists are ordered by it.
    AddressSource {
        /// `myip` in the node's own header.
        Announced => "announced",
        /// The node answered a connection there.
        Listening => "listening",
        /// The node's packets came from that IP.
        Source => "source",
    }
}

named_enum! {
    /// A node's role as its header says.
    Role {
        Master => "master",
        Replica => "replica",
        Unknown => "unknown",
    }
}

/// How the dial that met the wrong node began (a `sender_mismatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dial {
    /// MEET: a blind handshake (Redis < 5.0.10/6.0.5) that adopts whoever
    /// answers.
    BlindMeet,
    /// PING: the gossiped node was added by id (Redis 5.0.10+/6.0.5+,
    /// Valkey), so the answer is rejected.
    GossipAdd,
}

named_enum! {
    /// The server generation the bytes reveal (most specific first).
    Generation {
        /// Bus version 0.
        Redis30 => "Redis 3.0/3.2 (bus ver 0)",
        Valkey91 => "Valkey 9.1+",
        Valkey81 => "Valkey 8.1+",
        Valkey80 => "Valkey 8.0",
        /// Shard-id extension.
        Redis72 => "Redis 7.2+ or Valkey 7.2",
        /// Ping extensions.
        Redis70 => "Redis 7.0+",
        /// Announced TLS/plaintext port.
        Redis622 => "Redis 6.2.2+",
        Redis40 => "Redis 4.0 – 7.x (bus ver 1)",
    }
}

impl Generation {
    /// Servers that handshake gossiped addresses with a blind MEET
    /// (adopting whoever answers) as far as the bytes can tell.
    pub fn handshakes_blindly(self) -> bool {
        self == Generation::Redis30
    }
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
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub ts_us: i64,
    pub nodes: Vec<NodeId>,
    pub addresses: Vec<String>,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// `sender_mismatch`: how the dial began (not in the JSON: the summary
    /// says it).
    #[serde(skip)]
    pub dial: Option<Dial>,
}

impl Finding {
    /// A finding without addresses or dial detail.
    pub fn about(kind: FindingKind, ts_us: i64, nodes: Vec<NodeId>, summary: String, evidence: Vec<Evidence>) -> Self {
        Finding { kind, ts_us, nodes, addresses: Vec::new(), summary, evidence, dial: None }
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
}

#[derive(Clone, Debug, Serialize)]
pub struct RoleChange {
    pub ts_us: i64,
    pub node: NodeId,
    pub from: Role,
    pub to: Role,
    pub replicaof: Option<NodeId>,
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

impl Analysis {
    /// Best address of every node, for sentences.
    pub fn best_addresses(&self) -> std::collections::BTreeMap<NodeId, String> {
        self.nodes.iter().map(|n| (n.id, n.best_address.clone())).collect()
    }

    /// First capture timestamp (the report's `+0s`).
    pub fn t0_us(&self) -> Option<i64> {
        self.captures.iter().filter_map(|c| c.first_ts_us).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_serialise_as_the_schema_strings() {
        assert_eq!(serde_json::to_string(&Via::OperatorMeet).unwrap(), "\"operator_meet\"");
        assert_eq!(serde_json::to_string(&FindingKind::HandshakeFlapping).unwrap(), "\"handshake_flapping\"");
        assert_eq!(serde_json::to_string(&Generation::Redis40).unwrap(), "\"Redis 4.0 – 7.x (bus ver 1)\"");
        for v in Via::ALL {
            assert_eq!(v.to_string(), v.as_str());
        }
    }

    #[test]
    fn address_sources_order_like_their_names() {
        let mut by_name: Vec<AddressSource> = AddressSource::ALL.to_vec();
        by_name.sort_by_key(|s| s.as_str());
        assert_eq!(by_name, AddressSource::ALL);
        let mut by_ord = AddressSource::ALL.to_vec();
        by_ord.sort();
        assert_eq!(by_ord, AddressSource::ALL);
    }

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
