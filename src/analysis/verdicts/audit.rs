//! The audit: latent hazards in a capture of clusters that may be
//! perfectly healthy (`meetgraph audit`), each with its evidence, the
//! versions it can merge clusters on, and the verdict for the versions
//! seen (protocol notes §9c, §9e, §9i, §10): a node failed or gone but
//! still gossiped at its address, an address peers record for a node
//! where it does not listen (bridge, NAT), one address meaning several
//! nodes, one id at two addresses, masters tied on configEpoch.
//!
//! Who would dial a gossiped address, and how, decides the verdict: a
//! blind MEET (Redis < 5.0.10/6.0.5, and Valkey 8.1+ towards a node that
//! has had no inbound link for a handshake timeout) adopts whoever
//! answers; a PING from a node added by id (Redis 5.0.10+/6.0.5+, 6.2+,
//! 7.x, Valkey 8.0) rejects it (`noaddr`). The capture's own dials of
//! gossiped addresses say which a node does; its generation says it when
//! the capture shows none.

use super::addresses;
use super::dials::{AuditSources, Style, best, severity};
use crate::analysis::model::{
    Analysis, Audit, Evidence, Finding, FindingKind, Generation, Hazard, HazardKind, HazardSeverity, MergeVerdict,
    NodeId, NodeSummary, Role,
};
use crate::clusterbus::NodeFlags;
use crate::time::format_utc_us;
use std::collections::BTreeMap;

/// A node silent this long while peers still list it (no FAIL seen) is
/// gone.
const SILENT_GONE_US: i64 = 30_000_000;
/// Masters tied on configEpoch count only if both spoke this close to
/// the end of the capture.
const LIVE_AT_END_US: i64 = 5_000_000;

/// The audit of a finished analysis (its trackers still at hand).
pub fn audit(a: &Analysis, src: &AuditSources<'_>) -> Audit {
    let mut out = Audit { versions_seen: versions_seen(a), ..Audit::default() };
    never_forgotten(a, src, &mut out);
    addresses::translated(a, src, &mut out);
    addresses::ambiguous(a, src, &mut out);
    one_id_two_addresses(a, &mut out);
    epoch_ties(a, &mut out);
    out.hazards.sort_by_key(|x| (x.severity, x.since_us, x.kind));
    out
}

fn versions_seen(a: &Analysis) -> Vec<(Generation, usize)> {
    let mut by: BTreeMap<Generation, usize> = BTreeMap::new();
    for n in &a.nodes {
        *by.entry(n.generation).or_default() += 1;
    }
    by.into_iter().collect()
}

fn forget_commands(n: &NodeId, on: &[String]) -> Vec<String> {
    on.iter().map(|addr| format!("redis-cli -h {} CLUSTER FORGET {}", host_port(addr), n.as_str())).collect()
}

/// `ip:port@cport` → `ip -p port` for redis-cli.
fn host_port(addr: &str) -> String {
    match super::advice::host_and_port(addr) {
        Some((ip, port)) => format!("{ip} -p {port}"),
        None => addr.split('@').next().unwrap_or(addr).to_string(),
    }
}

const REUSE_APPLIES: &str = "blind gossip handshakes: Redis 3.0–4.0, 5.0.0–5.0.9, 6.0.0–6.0.4 (a node that learned the address only from gossip MEETs it); Valkey 8.1+ may (it re-sends MEET to a known node with no inbound link for a handshake timeout; recorded merging on 9.1.2, while 8.1.1, 9.0.0 and 9.1.2 marked the node noaddr in the lab's scale-first reuse). Redis 5.0.10+/6.0.5+, 6.2, 7.x, 8 and Valkey 7.2/8.0 mark the old node noaddr instead";

/// A node failed (or silent) whose peers still gossip it at its address.
/// A failed master whose live replica may still take over: the audited
/// window ends within the failover's time (the replicas' election starts
/// after a delay of up to a few seconds and waits up to twice the node
/// timeout for votes; the node timeout is read as the silence before the
/// FAIL). Its short id.
fn failover_awaited(a: &Analysis, n: &NodeSummary, failed: Option<i64>, end: i64) -> Option<String> {
    let f = failed?;
    let timeout = (f - n.last_seen_us).max(1_000_000);
    let replica = a.nodes.iter().find(|r| r.replicaof_last == Some(n.id) && r.last_seen_us > n.last_seen_us)?;
    (end <= f + 2 * timeout + 5_000_000).then(|| replica.id.short().into_owned())
}

fn never_forgotten(a: &Analysis, src: &AuditSources<'_>, out: &mut Audit) {
    let end = a.nodes.iter().map(|n| n.last_seen_us).max().unwrap_or(0);
    for n in &a.nodes {
        let failed = src.knowledge.failed_at(&n.id);
        let gone_at = n.last_seen_us;
        let gone = match failed {
            // Back after its FAIL: not gone.
            Some(f) => gone_at <= f + 1_000_000,
            None => end - gone_at > SILENT_GONE_US,
        };
        if !gone {
            continue;
        }
        // A peer that dialled the node's address and met another node
        // there marks it noaddr and keeps it, unnamed: only a forgetting
        // it said means forgotten.
        let met_another =
            |l: &NodeId| src.dials.handshakes.mismatches().keys().any(|(d, exp, _, _)| d == l && *exp == n.id);
        let has_slots = !n.slots_last.is_empty();
        let mut listers: Vec<(NodeId, String, Option<Evidence>)> = Vec::new();
        let mut stopped: Vec<(NodeId, i64)> = Vec::new();
        for l in &a.nodes {
            if l.id == n.id || l.last_seen_us <= gone_at {
                continue;
            }
            let Some(p) = src.knowledge.peer_seen(&l.id, &n.id) else { continue };
            if p.flags & NodeFlags::NOADDR != 0 || p.ts <= gone_at || p.addr.ip.to_string().is_empty() {
                continue;
            }
            let stop = if met_another(&l.id) {
                src.knowledge.forgot(&l.id, &n.id)
            } else {
                src.knowledge.stopped_gossiping(&l.id, &n.id, has_slots)
            };
            if let Some(t) = stop {
                stopped.push((l.id, t));
                continue;
            }
            listers.push((l.id, p.addr.to_string(), p.failed_since.map(|(_, e)| e.clone())));
        }
        if listers.is_empty() {
            if let Some(last) = stopped.iter().map(|(_, t)| *t).max() {
                out.notes.push(format!(
                    "{} is gone and forgotten: {} stopped gossiping it (last mention {}; their gossip since would have named it had they still known it): no node lists it any more",
                    n.id.short(),
                    stopped.iter().map(|(l, _)| l.short().into_owned()).collect::<Vec<_>>().join(", "),
                    format_utc_us(last)
                ));
            }
            continue;
        }
        let replaced = a.findings.iter().any(|f| f.kind == FindingKind::Failover && f.nodes.get(1) == Some(&n.id));
        let addr = listers[0].1.clone();
        if let Some(r) = failover_awaited(a, n, failed, end) {
            out.notes.push(format!(
                "{} failed and its replica {r} is still replicating it: a failover is expected (within twice the node timeout of the FAIL); {} peer(s) list it at {addr} meanwhile. If no replica takes over, this becomes a hazard.",
                n.id.short(),
                listers.len()
            ));
            continue;
        }
        if replaced {
            out.notes.push(format!(
                "{} failed and its replica took over; {} peer(s) still list it at {addr}: expected while it is awaited back. If it will not come back, CLUSTER FORGET it on every node within 60 s (see what `analyze` says to do).",
                n.id.short(),
                listers.len()
            ));
            continue;
        }
        // Nodes that know it only from gossip, heard after it was gone.
        let newcomers: Vec<NodeId> = a
            .nodes
            .iter()
            .filter(|l| l.id != n.id && !src.conns.link_seen_before(l.id, n.id, None))
            .filter(|l| src.knowledge.heard_node(&l.id, &n.id).is_some_and(|h| h.ts > gone_at))
            .map(|l| l.id)
            .collect();
        let styles: Vec<(NodeId, Style)> =
            newcomers.iter().map(|l| (*l, src.dials.style(a, l, gen_of(a, l), true))).collect();
        let blind: Vec<&(NodeId, Style)> = styles.iter().filter(|(_, s)| s.blind()).collect();
        let (verdict, why) = if let Some((l, s)) = blind.first() {
            (
                MergeVerdict::CanMerge,
                format!(
                    "{} learned {} only from gossip after it was gone and {}: whoever answers at {addr} next is adopted, and the clusters merge",
                    l.short(),
                    n.id.short(),
                    s.describe()
                ),
            )
        } else {
            let later = a
                .nodes
                .iter()
                .filter(|l| l.id != n.id)
                .any(|l| src.dials.style(a, &l.id, l.generation, true).maybe_blind());
            let mut why = format!(
                "the {} peer(s) that knew {} dial it with PING and mark it noaddr when another node answers at {addr}: confusion, no merge",
                listers.len(),
                n.id.short()
            );
            if !styles.is_empty() {
                why.push_str(&format!("; {} newcomer(s) learned it from gossip and add nodes by id", styles.len()));
            }
            if later {
                why.push_str(
                    "; but a node that joins later learns it only from gossip and, on these servers, would MEET the address blindly: then it can merge",
                );
            }
            (MergeVerdict::OnlyConfuse, why)
        };
        let mut evidence: Vec<Evidence> = a
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::NodeFailed && f.nodes.first() == Some(&n.id))
            .flat_map(|f| f.evidence.iter().cloned())
            .take(1)
            .collect();
        evidence.extend(listers.iter().filter_map(|(_, _, e)| e.clone()).take(2));
        for (l, _) in &blind {
            evidence.extend(src.knowledge.heard_node(l, &n.id).map(|h| h.evidence));
            evidence.extend(src.dials.evidence(l));
        }
        let left = match failed {
            Some(f) => format!("declared FAIL at {}", format_utc_us(f)),
            None => format!("silent since {}", format_utc_us(gone_at)),
        };
        let on: Vec<String> = listers.iter().map(|(l, _, _)| best(a, l)).collect();
        let mut fix = vec![format!(
            "CLUSTER FORGET {} on every node that still lists it ({}), all within 60 s (the blacklist TTL), then wait at least cluster-node-timeout before its address is given to anything else (a node that is still handshaking that address adopts whoever answers there, forgotten or not; measured in the lab on Redis 4.0.14):",
            n.id.as_str(),
            listers.iter().map(|(l, _, _)| l.short().into_owned()).collect::<Vec<_>>().join(", ")
        )];
        fix.extend(forget_commands(&n.id, &on));
        out.hazards.push(Hazard {
            kind: HazardKind::NeverForgotten,
            severity: severity(verdict),
            since_us: failed.unwrap_or(gone_at),
            nodes: std::iter::once(n.id).chain(listers.iter().map(|(l, _, _)| *l)).collect(),
            addresses: vec![addr.clone()],
            summary: format!(
                "{} ({}) is gone ({left}) but {} still gossip it at {addr}: nobody ran CLUSTER FORGET",
                n.id.short(),
                a.nodes
                    .iter()
                    .find(|x| x.id == n.id)
                    .and_then(|x| x.cluster.as_deref())
                    .map_or("no cluster".into(), |c| format!("cluster {c}")),
                listers.iter().map(|(l, _, _)| l.short().into_owned()).collect::<Vec<_>>().join(", ")
            ),
            applies_to: REUSE_APPLIES.into(),
            verdict,
            verdict_why: why,
            fix,
            evidence,
        });
    }
}

fn gen_of(a: &Analysis, n: &NodeId) -> Generation {
    a.nodes.iter().find(|x| x.id == *n).map_or(Generation::Redis40, |x| x.generation)
}

/// One id at two addresses: the id conflicts the findings name.
fn one_id_two_addresses(a: &Analysis, out: &mut Audit) {
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::IdConflict) {
        let Some(n) = f.nodes.first() else { continue };
        out.hazards.push(Hazard {
            kind: HazardKind::OneIdTwoAddresses,
            severity: HazardSeverity::Medium,
            since_us: f.ts_us,
            nodes: f.nodes.clone(),
            addresses: f.addresses.clone(),
            summary: f.summary.clone(),
            applies_to: "every version: peers move the id between the two addresses with each PING (§9f); links flap".into(),
            verdict: MergeVerdict::OnlyConfuse,
            verdict_why: "both instances claim one id: peers flap between their addresses (and may adopt the clone's), replication and failover follow whichever answered last; no second cluster is joined".into(),
            fix: vec![
                format!("Stop one of the two instances of {}, delete its nodes.conf, start it fresh and CLUSTER MEET it (a copied nodes.conf is the usual cause):", n.short()),
                "redis-cli -h <clone ip> -p <port> SHUTDOWN NOSAVE ; rm <clone dir>/nodes.conf".into(),
            ],
            evidence: f.evidence.clone(),
        });
    }
}

/// Masters serving slots that still share a configEpoch at the end.
fn epoch_ties(a: &Analysis, out: &mut Audit) {
    let end = a.nodes.iter().map(|n| n.last_seen_us).max().unwrap_or(0);
    // Epochs are compared within one cluster (two clusters each count
    // their own).
    let mut by: BTreeMap<(&str, u64), Vec<&crate::analysis::model::NodeSummary>> = BTreeMap::new();
    for n in a
        .nodes
        .iter()
        .filter(|n| n.role_last == Role::Master && !n.slots_last.is_empty() && end - n.last_seen_us <= LIVE_AT_END_US)
    {
        let Some(c) = n.cluster.as_deref() else { continue };
        by.entry((c, n.config_epoch_last)).or_default().push(n);
    }
    // A tie among nodes just met is being resolved (the lower id bumps
    // within a second or so): only one that outlived that counts.
    let settled = |ns: &Vec<&crate::analysis::model::NodeSummary>| {
        ns.len() > 1 && ns.iter().all(|n| end - n.first_seen_us > LIVE_AT_END_US)
    };
    for ((_, epoch), ns) in by.into_iter().filter(|(_, ns)| settled(ns)) {
        let evidence = unresolved_evidence(a, &ns);
        out.hazards.push(Hazard {
            kind: HazardKind::EpochCollision,
            severity: HazardSeverity::Low,
            since_us: ns.iter().map(|n| n.first_seen_us).max().unwrap_or(0),
            nodes: ns.iter().map(|n| n.id).collect(),
            addresses: ns.iter().map(|n| n.best_address.to_string()).collect(),
            summary: format!(
                "masters {} serve slots with the same configEpoch {epoch} at the end of the capture: the collision was not resolved",
                ns.iter().map(|n| n.short.as_str()).collect::<Vec<_>>().join(", ")
            ),
            applies_to: "every version (the lower id should bump its epoch, §9i; if it does not, a slot claim between them is not decided)".into(),
            verdict: MergeVerdict::Neither,
            verdict_why: "an epoch tie decides no membership; it makes the next failover or slot claim between these masters ambiguous".into(),
            fix: vec![
                "Give one of them a new epoch (on a master of the tie):".into(),
                format!("redis-cli -h {} CLUSTER BUMPEPOCH", host_port(&ns[0].best_address.to_string())),
            ],
            evidence,
        });
    }
}

fn unresolved_evidence(a: &Analysis, ns: &[&crate::analysis::model::NodeSummary]) -> Vec<Evidence> {
    a.findings
        .iter()
        .filter(|f: &&Finding| f.kind == FindingKind::EpochCollision && ns.iter().any(|n| f.nodes.contains(&n.id)))
        .flat_map(|f| f.evidence.iter().cloned())
        .take(2)
        .collect()
}
