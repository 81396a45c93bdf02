//! End-of-run findings, drawn from what the trackers gathered: address collisions
//! (one `ip:cport` answered by different nodes, or by another node than the one
//! gossip placed there) or reuses, sender mismatches, NAT rewrites, plus each
//! tracker's own (flapping, UPDATE, id conflicts); and the order findings are
//! listed in.

use super::reuse::{self, AddressClaim};
use crate::analysis::model::{AddressFate, DialKind, Finding, FindingKind, Introduction, Join, Merge, NodeId, bus_key};
use crate::analysis::trackers::connections::Connections;
use crate::analysis::trackers::handshakes::Handshakes;
use crate::analysis::trackers::identities::Identities;
use crate::analysis::trackers::knowledge::Knowledge;
use crate::analysis::trackers::liveness::Liveness;
use crate::analysis::trackers::nodes::Nodes;
use std::collections::BTreeMap;

/// Evidence kept per claimant of a colliding address.
const CLAIM_EVIDENCE_CAP: usize = 4;

/// What the end-of-run findings read.
pub struct FindingSources<'a> {
    pub handshakes: &'a Handshakes,
    pub conns: &'a Connections,
    pub nodes: &'a Nodes,
    pub knowledge: &'a Knowledge,
    pub liveness: &'a Liveness,
    pub identities: &'a Identities,
    pub label_of: &'a BTreeMap<NodeId, String>,
    pub joins: &'a [Join],
    pub merges: &'a [Merge],
    pub intros: &'a [Introduction],
}

/// Appends the end-of-run findings to `out` (streaming findings first)
/// and sorts them by time, kind and nodes.
pub fn end_of_run(mut out: Vec<Finding>, src: &FindingSources<'_>) -> Vec<Finding> {
    address_collisions(src, &mut out);
    sender_mismatches(src, &mut out);
    src.conns.flapping_findings(&mut out);
    nat_rewrites(src.nodes, &mut out);
    src.knowledge.update_findings(&mut out);
    src.identities.findings(src.knowledge, src.conns, &mut out);
    for f in out.iter_mut().filter(|f| f.kind == FindingKind::NodeFailed) {
        if let Some((n, last)) = f.nodes.first().and_then(|n| src.knowledge.fail_stats(n)) {
            f.count = n;
            f.last_ts_us = last.max(f.ts_us);
        }
    }
    out.sort_by(|x, y| (x.ts_us, x.kind.as_str(), &x.nodes).cmp(&(y.ts_us, y.kind.as_str(), &y.nodes)));
    out
}

/// One `ip:cport` that means different nodes: answered by several (across
/// hosts or over time), or answered by another than gossip placed there.
/// When one node's claims came after the other had gone (failed or
/// silent), it is an `address_reuse` instead.
fn address_collisions(src: &FindingSources<'_>, out: &mut Vec<Finding>) {
    let h = src.handshakes;
    let mut claims: BTreeMap<String, BTreeMap<NodeId, AddressClaim>> = BTreeMap::new();
    for (addr, by) in h.answers() {
        for (n, (ts, vs, evd)) in by {
            let how = vs.iter().map(|v| format!("answered, seen from {v}")).collect();
            claims
                .entry(addr.clone())
                .or_default()
                .insert(*n, AddressClaim { ts: *ts, answered: true, how, evidence: evd.clone() });
        }
    }
    let mut mismatches = Vec::new();
    for ((l, named, w, _), m) in h.mismatches() {
        let key = bus_key(&m.address);
        let known_before = knew_before(src.conns, src.nodes, src.knowledge, (*l, *named), m.ts);
        mismatches.push(reuse::Mismatch { address: key.clone(), dial: m.dial, answered: *w, known_before });
        let e = claims.entry(key).or_default().entry(*named).or_insert(AddressClaim {
            ts: m.ts,
            answered: false,
            how: Vec::new(),
            evidence: Vec::new(),
        });
        // Dated by its first evidence: expected there before it answered.
        e.ts = e.ts.min(m.ts);
        let how = format!("expected there by {}", l.short());
        if !e.how.contains(&how) {
            e.how.push(how);
            e.how.sort();
        }
        if e.evidence.len() < CLAIM_EVIDENCE_CAP {
            e.evidence.extend(m.evidence.iter().take(1).cloned());
        }
    }
    let cx = reuse::ReuseContext {
        nodes: src.nodes,
        knowledge: src.knowledge,
        liveness: src.liveness,
        label_of: src.label_of,
        joins: src.joins,
        merges: src.merges,
        intros: src.intros,
        mismatches,
    };
    for (addr, by) in &claims {
        if by.len() < 2 {
            continue;
        }
        if let Some(f) = reuse::reuse(addr, by, &cx) {
            out.push(f);
            continue;
        }
        // The address began to mean two nodes when the second claim came.
        let mut times: Vec<i64> = by.values().map(|c| c.ts).collect();
        times.sort_unstable();
        let parts: Vec<String> = by.iter().map(|(n, c)| format!("{} ({})", n.short(), c.how.join("; "))).collect();
        out.push(Finding {
            addresses: vec![addr.clone()],
            ..Finding::about(
                FindingKind::AddressCollision,
                times[1],
                by.keys().copied().collect(),
                format!("{addr} means different nodes: {}", parts.join(", ")),
                by.values().flat_map(|c| c.evidence.iter().cloned()).collect(),
            )
            .occurring(by.len() as u64, times[times.len() - 1])
        });
    }
}

/// Whether dialler `l` knew `named` before `named` fell silent: a link
/// between them was seen before `ts`, or, when `named` fell silent before
/// `ts`, `l` first knew of it while it was still heard (a member of a full
/// mesh links to every node it knows): it dialled a known node, not one
/// learned from gossip after it was gone.
fn knew_before(
    conns: &Connections,
    nodes: &Nodes,
    knowledge: &Knowledge,
    (l, named): (NodeId, NodeId),
    ts: i64,
) -> bool {
    let alive_until = nodes.get(&named).filter(|n| n.seen && n.last_seen < ts).map(|n| n.last_seen);
    let heard = knowledge.heard_node(&l, &named).map(|h| h.ts);
    conns.link_seen_before(l, named, Some(ts)) || heard.zip(alive_until).is_some_and(|(h, a)| h < a)
}

fn sender_mismatches(src: &FindingSources<'_>, out: &mut Vec<Finding>) {
    for ((l, named, w, addr), m) in src.handshakes.mismatches() {
        let known_before = knew_before(src.conns, src.nodes, src.knowledge, (*l, *named), m.ts);
        let began = match m.dial {
            DialKind::BlindMeet => "MEET: a blind handshake (Redis < 5.0.10/6.0.5) that adopts whoever answers",
            DialKind::GossipAdd if known_before => {
                "PING to a node it already knew (a link with it was seen, or it knew it while it was alive), not a handshake: every generation rejects another node answering there and marks the one it expected noaddr"
            }
            DialKind::GossipAdd => {
                "PING: the gossiped node was added by id (Redis 5.0.10+/6.0.5+, Valkey), so the answer is rejected"
            }
            DialKind::AdoptedAfterPing => {
                "PING, and the dialler then showed it knew the node that answered: a handshake (its MEET lost, retried as PING) adopted it"
            }
        };
        let fate = match m.dial {
            DialKind::GossipAdd => AddressFate::Rejected { known_before },
            DialKind::BlindMeet | DialKind::AdoptedAfterPing => AddressFate::HandshakeAdopted,
        };
        out.push(Finding {
            addresses: vec![addr.clone()],
            dial: Some(m.dial),
            fate: Some(fate),
            ..Finding::about(
                FindingKind::SenderMismatch,
                m.ts,
                vec![*l, *named, *w],
                format!(
                    "{} dialled {addr} expecting {} (from gossip or its PINGs' source address) but {} answered; the dial began with {began}",
                    l.short(),
                    named.short(),
                    w.short(),
                ),
                m.evidence.clone(),
            )
            .occurring(m.count, m.last_ts)
        });
    }
}

/// A node whose connections come from an IP it does not listen at.
fn nat_rewrites(nodes: &Nodes, out: &mut Vec<Finding>) {
    for (n, srcs) in nodes.sources() {
        let Some(listening) = nodes.get(n).map(|s| &s.listening).filter(|l| !l.is_empty()) else { continue };
        for ((v, ip), (ts, evd)) in srcs {
            if listening.contains(ip) {
                continue;
            }
            let bridge = ip.starts_with("172.17.");
            out.push(Finding {
                addresses: vec![ip.clone()],
                ..Finding::about(
                    FindingKind::NatRewrite,
                    *ts,
                    vec![*n],
                    format!(
                        "{} reached peers from {ip} (seen from {v}) but listens at {}{}",
                        n.short(),
                        listening.iter().map(String::as_str).collect::<Vec<_>>().join(", "),
                        if bridge { " — a Docker bridge address, meaningful only on its own host" } else { "" }
                    ),
                    vec![evd.clone()],
                )
            });
        }
    }
}
