//! Who the nodes were: one summary per node (addresses, generation, roles,
//! slots, epochs) and the clusters they formed before any merge.

use super::evidence::Evidence;
use super::kinds::{AddressSource, Generation, Role};
use super::text::{as_text, slots_as_text};
use crate::events::{IpText, NodeAddr, NodeId, SlotRanges};
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// Where a node was seen: the address it states or answers at, or the
/// source IP of the connections it opens.
#[derive(Clone, Debug)]
pub enum SeenAddress {
    /// `ip:port@cport`: announced, or answering there.
    Node(NodeAddr),
    /// The source IP of its connections.
    Ip(IpText),
}

impl fmt::Display for SeenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeenAddress::Node(a) => a.fmt(f),
            SeenAddress::Ip(ip) => ip.fmt(f),
        }
    }
}

impl PartialEq for SeenAddress {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for SeenAddress {}

impl PartialOrd for SeenAddress {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for SeenAddress {
    /// By text, as addresses are listed (and the first one of a node
    /// chosen).
    fn cmp(&self, o: &Self) -> Ordering {
        self.to_string().cmp(&o.to_string())
    }
}

/// One address a node was seen at, and how.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AddressSeen {
    #[serde(serialize_with = "as_text")]
    pub address: SeenAddress,
    pub how: AddressSource,
    pub vantage: String,
    pub first_ts_us: i64,
    pub frame: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    pub id: NodeId,
    pub short: String,
    /// The address the node states, else the one it was seen answering at
    /// (IP `?` when neither was seen).
    #[serde(serialize_with = "as_text")]
    pub best_address: NodeAddr,
    pub addresses: Vec<AddressSeen>,
    /// What the bytes say about the server generation.
    pub generation: Generation,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    /// Role in the first and last header seen.
    pub role_first: Role,
    pub role_last: Role,
    pub replicaof_last: Option<NodeId>,
    #[serde(serialize_with = "slots_as_text")]
    pub slots_first: SlotRanges,
    #[serde(serialize_with = "slots_as_text")]
    pub slots_last: SlotRanges,
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
