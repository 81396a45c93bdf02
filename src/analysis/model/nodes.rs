//! Who the nodes were: one summary per node (addresses, generation, roles,
//! slots, epochs) and the clusters they formed before any merge.

use super::evidence::Evidence;
use super::kinds::{AddressSource, Generation, Role};
use crate::events::NodeId;
use serde::Serialize;

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
