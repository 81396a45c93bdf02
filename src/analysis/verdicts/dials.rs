//! How a node dials an address it has only from gossip, for the audit's
//! verdicts: as the capture showed it (the first message of its dials of
//! gossiped addresses), else as its server generation does (protocol
//! notes §9c, Appendix A).

use crate::analysis::model::{Analysis, DialKind, Evidence, Generation, NodeId};
use crate::analysis::model::{HazardSeverity, MergeVerdict};
use crate::analysis::trackers::connections::Connections;
use crate::analysis::trackers::handshakes::Handshakes;
use crate::analysis::trackers::knowledge::Knowledge;

/// The dials the capture showed.
pub struct Dials<'a> {
    pub handshakes: &'a Handshakes,
}

/// How a node would dial a gossiped address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Seen: its dials of gossiped addresses began with MEET.
    SeenMeet,
    /// Seen: they began with PING (the node added by id).
    SeenPing,
    /// Redis 3.0/3.2: a blind handshake.
    Old,
    /// Bus ver 1 without newer marks: Redis 4.0 to 6.2.1; blind on 4.0,
    /// 5.0.0–5.0.9 and 6.0.0–6.0.4.
    Undecided,
    /// Valkey 8.1+, towards a node gone for longer than a handshake
    /// timeout: re-flagged MEET.
    ValkeyRemeet,
    /// Adds by id (Redis 6.2.2+, 7.x, Valkey 7.2/8.0, or Valkey 8.1+
    /// towards a live node).
    ById,
}

impl Style {
    /// Would adopt whoever answers.
    pub fn blind(self) -> bool {
        matches!(self, Style::SeenMeet | Style::Old | Style::Undecided)
    }

    /// Would, on some of the versions the bytes allow, or in some order of
    /// events: a Valkey 8.1+ node that had learned the dead node before its
    /// address was reused added it by id and marked it noaddr in the lab
    /// (8.1.1, 9.0.0, 9.1.2: no merge), while the protocol notes record
    /// 9.1.2 MEETing a gossip-learned node and merging.
    pub fn maybe_blind(self) -> bool {
        self.blind() || self == Style::ValkeyRemeet
    }

    pub fn describe(self) -> &'static str {
        match self {
            Style::SeenMeet => {
                "dials addresses it has from gossip with MEET, as the capture shows (its own dials, or those of nodes of its generation; a blind handshake that adopts whoever answers)"
            }
            Style::SeenPing => {
                "dials addresses it has from gossip with PING, as the capture shows (its own dials, or those of nodes of its generation; the node is added by id; another node answering is rejected)"
            }
            Style::Old => "runs Redis 3.0/3.2 (bus version 0), which handshakes gossiped addresses blindly with MEET",
            Style::Undecided => {
                "runs Redis 4.0–6.2.1 (bus version 1; the bytes cannot tell 4.0 from 5.0.10+ and the capture shows none of its gossip dials): blind MEET handshakes on 4.0, 5.0.0–5.0.9 and 6.0.0–6.0.4, noaddr on later ones"
            }
            Style::ValkeyRemeet => {
                "runs Valkey 8.1+, which re-sends MEET to a known node that has had no inbound link for a handshake timeout (the protocol notes record 9.1.2 merging that way; in the lab's reuse after the newcomer learned the dead node, 8.1.1, 9.0.0 and 9.1.2 marked it noaddr instead)"
            }
            Style::ById => {
                "adds gossiped nodes by id and dials with PING (Redis 5.0.10+/6.0.5+, 6.2.2+, 7.x, Valkey 7.2/8.0)"
            }
        }
    }
}

impl Dials<'_> {
    /// How `n` (of generation `g`) dials a gossiped address; `gone`: the
    /// node gossiped there has been unreachable for long.
    /// A node the capture shows no gossip dial of is taken to dial as the
    /// nodes of its generation in `a` that were seen doing it (PING if any
    /// did: the bytes cannot tell their versions apart, their dials can).
    pub fn style(&self, a: &Analysis, n: &NodeId, g: Generation, gone: bool) -> Style {
        let seen = self.handshakes.gossip_dial(n).map(|(k, _)| *k).or_else(|| {
            let same = a.nodes.iter().filter(|x| x.generation == g);
            let kinds: Vec<DialKind> =
                same.filter_map(|x| self.handshakes.gossip_dial(&x.id).map(|(k, _)| *k)).collect();
            if kinds.contains(&DialKind::GossipAdd) { Some(DialKind::GossipAdd) } else { kinds.first().copied() }
        });
        match (g, seen) {
            (Generation::Valkey81 | Generation::Valkey90, _) if gone => Style::ValkeyRemeet,
            (Generation::Valkey80 | Generation::Valkey81 | Generation::Valkey90, _) => Style::ById,
            (_, Some(DialKind::BlindMeet)) => Style::SeenMeet,
            // Every 3.x server handshakes an unknown gossiped address
            // (clusterProcessGossipSection, spec §9c); a PING seen towards
            // a gossiped address is a known node's link coming back, not
            // how it treats an unknown one (lab: Redis 3.2.13 merged).
            (Generation::Redis30, _) => Style::Old,
            (_, Some(_)) => Style::SeenPing,
            (Generation::Redis40, None) => Style::Undecided,
            (_, None) => Style::ById,
        }
    }

    /// The dial that showed `n`'s style.
    pub fn evidence(&self, n: &NodeId) -> Option<Evidence> {
        self.handshakes.gossip_dial(n).map(|(_, e)| e.clone())
    }
}

/// What the audit reads.
pub struct AuditSources<'a> {
    pub knowledge: &'a Knowledge,
    pub conns: &'a Connections,
    pub dials: Dials<'a>,
}

pub fn severity(v: MergeVerdict) -> HazardSeverity {
    match v {
        MergeVerdict::CanMerge => HazardSeverity::High,
        MergeVerdict::OnlyConfuse => HazardSeverity::Medium,
        MergeVerdict::Neither => HazardSeverity::Low,
    }
}

/// A node's best address as text (`?` when unknown).
pub fn best(a: &Analysis, n: &NodeId) -> String {
    a.nodes.iter().find(|x| x.id == *n).map_or_else(|| "?".into(), |x| x.best_address.to_string())
}
