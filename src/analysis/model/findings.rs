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
    /// `address_reuse`: what the capture shows at the address once the new
    /// node took it; `sender_mismatch`: what became of the answer (not in
    /// the JSON: the summary says it).
    #[serde(skip)]
    pub fate: Option<AddressFate>,
}

/// What the capture shows at a reused address once its new node answered
/// there: the evidence a "no merge" reason is told from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressFate {
    /// The servers adopted the new node there: a step of a merge chain.
    Adopted,
    /// A peer's handshake at the address (blind MEET, or PING then
    /// adoption) took the new node for the old one.
    HandshakeAdopted,
    /// Peers that still listed the old node dialled the address with PING
    /// and rejected the answer (old node marked noaddr); `known_before`:
    /// every such dialler knew the old node before it fell silent.
    Rejected { known_before: bool },
    /// Nobody gossiped the old node after the new one took the address:
    /// its last mention (by whom, when), if any was seen.
    Forgotten { last: Option<(NodeId, i64)> },
    /// `by` still gossiped the old node at the address until `until`,
    /// and nobody dialled it; `learners` first heard of the old node only
    /// after the new one took the address.
    StillGossiped { by: NodeId, until: i64, learners: Vec<NodeId> },
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
            fate: None,
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

/// An election: a replica's FAILOVER_AUTH_REQUESTs in one epoch, and the
/// masters' votes (FAILOVER_AUTH_ACK) that answered them.
#[derive(Clone, Debug, Serialize)]
pub struct Election {
    pub replica: NodeId,
    pub first_ts_us: i64,
    /// The epoch it asked in (the requests' currentEpoch).
    pub epoch: u64,
    /// The master it asked to replace.
    pub master: Option<NodeId>,
    /// Nodes its requests were seen reaching.
    pub asked: usize,
    /// Masters whose vote was seen.
    pub voters: Vec<NodeId>,
    pub evidence: Vec<Evidence>,
}

/// What the incident changed (setup-phase changes are not damage).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Damage {
    pub role_changes: Vec<RoleChange>,
    pub slot_moves: Vec<SlotMove>,
    /// Distinct slots that changed owner (a slot moved twice counts once).
    pub slots_changed_owner: u32,
    /// Owner changes summed over the moves (a slot moved twice counts twice).
    pub owner_changes: u64,
}

impl Damage {
    /// The damage of these changes, with its counts.
    pub fn of(role_changes: Vec<RoleChange>, slot_moves: Vec<SlotMove>) -> Self {
        let mut moved = vec![false; 16_384];
        let mut owner_changes = 0u64;
        for m in slot_moves.iter().filter(|m| m.from.is_some()) {
            owner_changes += u64::from(m.count);
            for &(a, b) in &m.slots {
                for slot in a..=b {
                    if let Some(x) = moved.get_mut(usize::from(slot)) {
                        *x = true;
                    }
                }
            }
        }
        let slots_changed_owner = moved.iter().filter(|&&x| x).count() as u32;
        Damage { role_changes, slot_moves, slots_changed_owner, owner_changes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(slots: SlotRanges, from: Option<u8>) -> SlotMove {
        let count = slots.iter().map(|(a, b)| u32::from(b - a) + 1).sum();
        SlotMove {
            ts_us: 0,
            slots,
            count,
            from: from.map(|c| NodeId([c; 40])),
            to: Some(NodeId([b'z'; 40])),
            evidence: Vec::new(),
            phase: Phase::Incident,
        }
    }

    #[test]
    fn a_slot_moved_twice_counts_once_as_a_slot_and_twice_as_a_change() {
        let moves = vec![mv(vec![(0, 9)], Some(b'a')), mv(vec![(5, 14)], Some(b'b')), mv(vec![(100, 199)], None)];
        let d = Damage::of(Vec::new(), moves);
        assert_eq!((d.slots_changed_owner, d.owner_changes), (15, 20));
        let edge = Damage::of(Vec::new(), vec![mv(vec![(16_383, 16_383)], Some(b'a'))]);
        assert_eq!((edge.slots_changed_owner, edge.owner_changes), (1, 1));
    }
}
