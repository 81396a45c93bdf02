//! What could go wrong next, and what to do now: the hazards `audit`
//! names in a capture of clusters that may be perfectly healthy (each with
//! the verdict for the server versions seen), and the steps every report
//! ends with.

use super::evidence::Evidence;
use super::kinds::Generation;
use crate::events::NodeId;
use serde::{Serialize, Serializer};
use std::fmt;

named_enum! {
    /// What a hazard is about.
    HazardKind {
        /// A node failed or went silent, and peers still gossip it at its
        /// address (nobody ran `CLUSTER FORGET`): whoever gets that address
        /// next is dialled as that node.
        NeverForgotten => "never_forgotten",
        /// An address peers record for a node is not where the node
        /// listens: its connections were rewritten (a bridge, NAT or
        /// gateway address), so that address can mean another node
        /// elsewhere.
        TranslatedAddress => "translated_address",
        /// One address answered by different nodes (from different
        /// vantages, or over time).
        AmbiguousAddress => "ambiguous_address",
        /// One node id at two addresses (a cloned `nodes.conf`, or a node
        /// that moved and is still remembered at the old address).
        OneIdTwoAddresses => "one_id_two_addresses",
        /// Two masters serving slots with the same configEpoch at the end
        /// of the capture: the next failover or slot claim is ambiguous.
        EpochCollision => "epoch_collision",
    }
}

impl HazardKind {
    /// Its name as a `watch` event (`hazard_never_forgotten`: apart from
    /// the findings, whose `epoch_collision` is an event that happened).
    pub fn event_name(self) -> &'static str {
        match self {
            HazardKind::NeverForgotten => "hazard_never_forgotten",
            HazardKind::TranslatedAddress => "hazard_translated_address",
            HazardKind::AmbiguousAddress => "hazard_ambiguous_address",
            HazardKind::OneIdTwoAddresses => "hazard_one_id_two_addresses",
            HazardKind::EpochCollision => "hazard_epoch_collision",
        }
    }
}

named_enum! {
    /// What a hazard can do on the server versions seen in the capture.
    MergeVerdict {
        /// A node would handshake the address blindly (a MEET, adopting
        /// whoever answers): two clusters can become one.
        CanMerge => "can_merge",
        /// Peers would reject the node that answers (`noaddr`), or flap
        /// between two: confusion, no merge.
        OnlyConfuse => "only_confuse",
        /// Neither merges nor confuses membership (e.g. an epoch tie).
        Neither => "neither",
    }
}

named_enum! {
    /// How urgent a hazard is.
    HazardSeverity {
        /// Can merge clusters on the versions seen.
        High => "high",
        /// Confuses membership, or merges on other versions.
        Medium => "medium",
        Low => "low",
    }
}

/// One latent hazard, with its evidence and verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Hazard {
    pub kind: HazardKind,
    pub severity: HazardSeverity,
    /// When the capture first showed it.
    pub since_us: i64,
    pub nodes: Vec<NodeId>,
    pub addresses: Vec<String>,
    /// What the capture shows.
    pub summary: String,
    /// The server versions on which it can merge clusters, in general.
    pub applies_to: String,
    /// On the versions seen in the capture.
    pub verdict: MergeVerdict,
    /// Why that verdict (the versions and the dials observed).
    pub verdict_why: String,
    /// What closes it, with the commands.
    pub fix: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// The audit of a capture: the hazards, and the server generations seen.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Audit {
    pub hazards: Vec<Hazard>,
    /// The generations the nodes' bytes reveal, with how many nodes each.
    pub versions_seen: Vec<(Generation, usize)>,
    /// Things looked at and judged not to be hazards, said once each (a
    /// failed master replaced by its replica, awaited back).
    pub notes: Vec<String>,
}

/// One step of "What to do now".
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub what: String,
    /// Commands to run, as typed (`redis-cli -h … CLUSTER FORGET …`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

/// The end of every report: concrete steps for what was found, and what
/// cannot be undone.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WhatToDo {
    pub steps: Vec<Step>,
    /// What forgetting or reconfiguring cannot repair, and how to recover.
    pub cannot_undo: Vec<String>,
}
