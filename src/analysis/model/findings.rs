//! What the analysis found: findings (with their severity and phase) and
//! the damage (role changes and slot moves of the incident).

use super::evidence::Evidence;
use super::kinds::{DialKind, FindingKind, Phase, Role, Severity};
use super::text::slots_as_text;
use crate::events::{NodeId, SlotRanges};
use serde::Serialize;

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
    pub dial: Option<DialKind>,
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
    #[serde(serialize_with = "slots_as_text")]
    pub slots: SlotRanges,
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
