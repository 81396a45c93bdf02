//! End-of-run findings, drawn from what the rooms gathered: address
//! collisions (one `ip:cport` answered by different nodes, or by another
//! node than the one gossip placed there), sender mismatches, NAT rewrites,
//! plus each room's own (flapping, UPDATE); and the order findings are
//! listed in. Imports: the rooms it reads (`connections`, `gossip`,
//! `handshakes`, `nodes`) and `model`.

use super::connections::Connections;
use super::gossip::Knowledge;
use super::handshakes::Handshakes;
use super::model::{Dial, Evidence, Finding, FindingKind, NodeId};
use super::nodes::Nodes;
use std::collections::{BTreeMap, BTreeSet};

/// Evidence kept per claimant of a colliding address.
const CLAIM_EVIDENCE_CAP: usize = 4;

/// Appends the end-of-run findings to `out` (streaming findings first)
/// and sorts them by time, kind and nodes.
pub(super) fn finish(
    mut out: Vec<Finding>,
    handshakes: &Handshakes,
    conns: &Connections,
    nodes: &Nodes,
    knowledge: &Knowledge,
) -> Vec<Finding> {
    address_collisions(handshakes, &mut out);
    sender_mismatches(handshakes, &mut out);
    conns.flapping_findings(&mut out);
    nat_rewrites(nodes, &mut out);
    knowledge.update_findings(&mut out);
    out.sort_by(|x, y| (x.ts_us, x.kind.as_str(), &x.nodes).cmp(&(y.ts_us, y.kind.as_str(), &y.nodes)));
    out
}

/// One `ip:cport` that means different nodes: answered by several (across
/// hosts or over time), or answered by another than gossip placed there.
fn address_collisions(h: &Handshakes, out: &mut Vec<Finding>) {
    type Claims = BTreeMap<NodeId, (i64, BTreeSet<String>, Vec<Evidence>)>;
    let mut claims: BTreeMap<String, Claims> = BTreeMap::new();
    for (addr, by) in h.answers() {
        for (n, (ts, vs, evd)) in by {
            let vs = vs.iter().map(|v| format!("answered, seen from {v}")).collect();
            claims.entry(addr.clone()).or_default().insert(*n, (*ts, vs, evd.clone()));
        }
    }
    for ((l, named, _, addr), m) in h.mismatches() {
        // `ip:port@cport` → `ip:cport`
        let Some((ipport, cport)) = addr.split_once('@') else { continue };
        let Some((ip, _)) = ipport.rsplit_once(':') else { continue };
        let e = claims.entry(format!("{ip}:{cport}")).or_default().entry(*named).or_insert((
            m.ts,
            BTreeSet::new(),
            Vec::new(),
        ));
        e.1.insert(format!("expected there by {}", l.short()));
        if e.2.len() < CLAIM_EVIDENCE_CAP {
            e.2.extend(m.evidence.iter().take(1).cloned());
        }
    }
    for (addr, by) in &claims {
        if by.len() < 2 {
            continue;
        }
        // The address began to mean two nodes when the second claim came.
        let mut times: Vec<i64> = by.values().map(|v| v.0).collect();
        times.sort_unstable();
        let began = times[1];
        let parts: Vec<String> = by
            .iter()
            .map(|(n, (_, how, _))| format!("{} ({})", n.short(), how.iter().cloned().collect::<Vec<_>>().join("; ")))
            .collect();
        out.push(Finding {
            addresses: vec![addr.clone()],
            ..Finding::about(
                FindingKind::AddressCollision,
                began,
                by.keys().copied().collect(),
                format!("{addr} means different nodes: {}", parts.join(", ")),
                by.values().flat_map(|v| v.2.iter().cloned()).collect(),
            )
        });
    }
}

fn sender_mismatches(h: &Handshakes, out: &mut Vec<Finding>) {
    for ((l, named, w, addr), m) in h.mismatches() {
        let began = match m.dial {
            Dial::BlindMeet => "MEET: a blind handshake (Redis < 5.0.10/6.0.5) that adopts whoever answers",
            Dial::GossipAdd => {
                "PING: the gossiped node was added by id (Redis 5.0.10+/6.0.5+, Valkey), so the answer is rejected"
            }
        };
        out.push(Finding {
            addresses: vec![addr.clone()],
            dial: Some(m.dial),
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
