//! Address reuse: an address that belonged to a node that failed or left,
//! answered later by a different node (a dead pod's IP given to a new pod:
//! redis#6174, redis#7287, Tendis#293). Told apart from a collision between two
//! live nodes (a bridge or NAT address meaning different nodes on different
//! hosts) by what shows the old node gone: it fell silent before the new one
//! first answered there, and since it was last heard it closed its own
//! connections (a killed process), was declared FAIL, or its peers gossiped
//! it `fail?`. Silence alone is not enough (a live node is silent between
//! two messages, and everywhere the capture does not look), nor is a FAIL
//! alone (Valkey 8.1+ declares a node failed when another answers for it):
//! the same rule holds at the end of a capture and at any moment of it, so
//! `watch` tells a reuse only once the evidence is there. Says which node
//! died there, which took the address, from which cluster, and what the
//! servers made of it.

use crate::analysis::model::{
    AddressFate, DialKind, Evidence, Finding, FindingKind, Introduction, Join, Merge, NodeId, Via, bus_key,
};
use crate::analysis::trackers::knowledge::Knowledge;
use crate::analysis::trackers::liveness::Liveness;
use crate::analysis::trackers::nodes::Nodes;
use crate::clusterbus::NodeFlags;
use crate::time::format_utc_us;
use std::collections::BTreeMap;

/// A node's claim on an address: first time, answered there (not only
/// expected there), what said so, evidence.
pub struct AddressClaim {
    pub ts: i64,
    pub answered: bool,
    pub how: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// What the reuse verdict reads besides the claims.
pub struct ReuseContext<'a> {
    pub nodes: &'a Nodes,
    pub knowledge: &'a Knowledge,
    pub liveness: &'a Liveness,
    pub label_of: &'a BTreeMap<NodeId, String>,
    pub joins: &'a [Join],
    pub merges: &'a [Merge],
    pub intros: &'a [Introduction],
    /// The sender_mismatch findings.
    pub mismatches: Vec<Mismatch>,
}

/// A dial that met another node than the one it expected.
pub struct Mismatch {
    /// `ip:cport` dialled.
    pub address: String,
    pub dial: DialKind,
    pub answered: NodeId,
    /// The dialler knew the node it expected before that node fell silent
    /// (a known node, not one learned from gossip after it was gone).
    pub known_before: bool,
}

impl ReuseContext<'_> {
    /// The cluster a node started in, the one an operator's MEET put it
    /// in, or the one it joined.
    fn cluster(&self, n: &NodeId) -> String {
        if let Some(l) = self.label_of.get(n) {
            return format!("cluster {l}");
        }
        let met = self.intros.iter().filter(|i| i.via == Via::OperatorMeet).find_map(|i| {
            let other = if i.node == *n {
                i.learner
            } else if i.learner == *n {
                i.node
            } else {
                return None;
            };
            self.label_of.get(&other)
        });
        if let Some(l) = met {
            return format!("met into cluster {l}");
        }
        let joined =
            self.joins.iter().find(|j| j.node == *n).and_then(|j| j.joined.iter().find_map(|m| self.label_of.get(m)));
        match joined {
            Some(l) => format!("joined cluster {l}"),
            None => "no cluster seen".into(),
        }
    }
}

/// What shows `old` gone when another node took its address at `took`,
/// as words (`None`: nothing does). It was last heard before `took`, and
/// since then it closed its own connections, was declared FAIL, or its
/// peers gossiped it `fail?` or `fail`.
fn gone(old: &NodeId, took: i64, cx: &ReuseContext<'_>) -> Option<String> {
    let heard = cx.nodes.get(old).filter(|n| n.seen).map(|n| n.last_seen);
    if heard.is_some_and(|h| h >= took) {
        return None;
    }
    let since = |t: i64| heard.is_none_or(|h| t >= h);
    let failed = cx.knowledge.fail_stats(old).filter(|(_, last)| since(*last)).map(|_| {
        let first = cx.knowledge.failed_at(old).filter(|f| since(*f));
        format!(
            "declared FAIL at {}",
            format_utc_us(first.unwrap_or_else(|| cx.knowledge.fail_stats(old).map_or(0, |x| x.1)))
        )
    });
    let closed = heard.and(cx.liveness.closed_at(old)).filter(|c| since(*c)).map(|c| {
        format!(
            "silent since {} (it closed its own connections at {})",
            format_utc_us(heard.unwrap_or(c)),
            format_utc_us(c)
        )
    });
    let suspected = cx.liveness.suspicion(old).filter(|s| heard.is_none_or(|h| s.first_ts > h)).map(|s| {
        let silent = heard.map(|h| format!("silent since {}, ", format_utc_us(h))).unwrap_or_default();
        format!("{silent}called failing by {} at {}", s.by.short(), format_utc_us(s.first_ts))
    });
    failed.or(closed).or(suspected)
}

/// The `address_reuse` finding for `addr` (`ip:cport`), if its claims are
/// one node's followed by another's after the first was gone.
pub fn reuse(addr: &str, claims: &BTreeMap<NodeId, AddressClaim>, cx: &ReuseContext<'_>) -> Option<Finding> {
    let mut by_time: Vec<(&NodeId, &AddressClaim)> = claims.iter().collect();
    by_time.sort_by_key(|(n, c)| (c.ts, **n));
    let [(old, _), (new, new_claim)] = by_time.as_slice() else { return None };
    if !new_claim.answered {
        return None;
    }
    let took = new_claim.ts;
    let left = gone(old, took, cx)?;
    let ip_cport = addr;
    let adopted = cx.merges.iter().any(|m| {
        m.chain
            .iter()
            .any(|i| i.answered_by == Some(**new) && i.address.as_ref().map(bus_key).as_deref() == Some(ip_cport))
    });
    let at = |m: &&Mismatch| m.address == ip_cport && m.answered == **new;
    let blind =
        cx.mismatches.iter().filter(at).any(|m| matches!(m.dial, DialKind::BlindMeet | DialKind::AdoptedAfterPing));
    let rejecting: Vec<&Mismatch> = cx.mismatches.iter().filter(at).filter(|m| m.dial == DialKind::GossipAdd).collect();
    let rejected = !rejecting.is_empty();
    let known_before = rejecting.iter().all(|m| m.known_before);
    let fate = if adopted {
        AddressFate::Adopted
    } else if blind {
        AddressFate::HandshakeAdopted
    } else if rejected {
        AddressFate::Rejected { known_before }
    } else {
        gossip_after(old, new, ip_cport, took, cx)
    };
    let verdict = fate_text(&fate, old, new, addr);
    let evidence: Vec<Evidence> = claims.values().flat_map(|c| c.evidence.iter().take(2).cloned()).collect();
    Some(Finding {
        addresses: vec![addr.to_string()],
        fate: Some(fate),
        ..Finding::about(
            FindingKind::AddressReuse,
            took,
            vec![**old, **new],
            format!(
                "{addr} belonged to {} ({}), {left}; {} ({}) answers there since {}: {verdict}",
                old.short(),
                cx.cluster(old),
                new.short(),
                cx.cluster(new),
                format_utc_us(took)
            ),
            evidence,
        )
    })
}

/// Whether any node gossiped `old` at `addr` (`ip:cport`) once `new` had
/// taken it at `took`: the last to do so, and who first heard of `old`
/// only then (a node that would dial the address); else its last mention.
fn gossip_after(old: &NodeId, new: &NodeId, addr: &str, took: i64, cx: &ReuseContext<'_>) -> AddressFate {
    let mut last: Option<(NodeId, i64)> = None;
    let mut still: Option<(NodeId, i64)> = None;
    for n in cx.nodes.ids().filter(|n| n != old && n != new) {
        let Some(p) = cx.knowledge.peer_seen(&n, old) else { continue };
        if last.is_none_or(|(_, t)| p.ts > t) {
            last = Some((n, p.ts));
        }
        let there = bus_key(p.addr) == addr && p.flags & NodeFlags::NOADDR == 0;
        if there && p.ts >= took && still.is_none_or(|(_, t)| p.ts > t) {
            still = Some((n, p.ts));
        }
    }
    let Some((by, until)) = still else { return AddressFate::Forgotten { last } };
    let learners =
        cx.nodes.ids().filter(|l| l != old && cx.knowledge.heard_node(l, old).is_some_and(|h| h.ts >= took)).collect();
    AddressFate::StillGossiped { by, until, learners }
}

/// The verdict of a reuse finding, from what the capture shows.
fn fate_text(fate: &AddressFate, old: &NodeId, new: &NodeId, addr: &str) -> String {
    let (old, new) = (old.short(), new.short());
    match fate {
        AddressFate::Adopted => "the servers adopted the new node at the old node's address: this is how the clusters merged (see the merge chain)".into(),
        AddressFate::HandshakeAdopted => format!("a handshake at {addr} took {new} for {old} (see sender_mismatch)"),
        AddressFate::Rejected { known_before: true } => format!(
            "peers that knew {old} before it fell silent dialled it there as a known node (not a handshake) and rejected {new}'s answer (marking {old} noaddr), as every generation does: a near miss; a node that knew {old} only from gossip dials it with a blind handshake on Redis < 5.0.10/6.0.5"
        ),
        AddressFate::Rejected { known_before: false } => format!(
            "peers that still list {old} there dialled it and rejected {new}'s answer (marking {old} noaddr): a near miss on these servers; servers that handshake gossiped addresses blindly (Redis < 5.0.10/6.0.5) would have adopted it and merged the clusters"
        ),
        AddressFate::Forgotten { last: Some((by, ts)) } => format!(
            "no node gossiped {old} after that (last mentioned by {} at {}), and no node dialled the address expecting it",
            by.short(),
            format_utc_us(*ts)
        ),
        AddressFate::Forgotten { last: None } => {
            format!("no node gossiped {old} in the capture, and no node dialled the address expecting it")
        }
        AddressFate::StillGossiped { by, until, learners } => format!(
            "{} still gossiped {old} at {addr} until {}, but {} and no node dialled the address expecting {old} in the capture",
            by.short(),
            format_utc_us(*until),
            learners_text(learners, &old)
        ),
    }
}

/// Who first heard of the old node after its address was taken.
pub(super) fn learners_text(learners: &[NodeId], old: &str) -> String {
    match learners {
        [] => format!("every node it was gossiped to already knew {old} (no node learned of it after the reuse)"),
        l => format!(
            "{} learned of {old} only after the reuse",
            l.iter().map(NodeId::short).collect::<Vec<_>>().join(", ")
        ),
    }
}
