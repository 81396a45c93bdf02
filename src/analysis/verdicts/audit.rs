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

use super::dials::{Dials, Style};
use crate::analysis::model::{
    Analysis, Audit, Evidence, Finding, FindingKind, Generation, Hazard, HazardKind, HazardSeverity, MergeVerdict,
    NodeId, Role, SeenAddress, AddressSource,
};
use crate::analysis::trackers::connections::Connections;
use crate::analysis::trackers::knowledge::Knowledge;
use crate::clusterbus::NodeFlags;
use crate::time::format_utc_us;
use std::collections::{BTreeMap, BTreeSet};

/// A node silent this long while peers still list it (no FAIL seen) is
/// gone.
const SILENT_GONE_US: i64 = 30_000_000;
/// Masters tied on configEpoch count only if both spoke this close to
/// the end of the capture.
const LIVE_AT_END_US: i64 = 5_000_000;

/// What the audit reads.
pub struct AuditSources<'a> {
    pub knowledge: &'a Knowledge,
    pub conns: &'a Connections,
    pub dials: Dials<'a>,
}

/// The audit of a finished analysis (its trackers still at hand).
pub fn audit(a: &Analysis, src: &AuditSources<'_>) -> Audit {
    let mut out = Audit { versions_seen: versions_seen(a), ..Audit::default() };
    never_forgotten(a, src, &mut out);
    translated(a, src, &mut out);
    ambiguous(a, src, &mut out);
    one_id_two_addresses(a, &mut out);
    epoch_ties(a, &mut out);
    out.hazards.sort_by(|x, y| (x.severity, x.since_us, x.kind).cmp(&(y.severity, y.since_us, y.kind)));
    out
}

fn versions_seen(a: &Analysis) -> Vec<(Generation, usize)> {
    let mut by: BTreeMap<Generation, usize> = BTreeMap::new();
    for n in &a.nodes {
        *by.entry(n.generation).or_default() += 1;
    }
    by.into_iter().collect()
}

fn severity(v: MergeVerdict) -> HazardSeverity {
    match v {
        MergeVerdict::CanMerge => HazardSeverity::High,
        MergeVerdict::OnlyConfuse => HazardSeverity::Medium,
        MergeVerdict::Neither => HazardSeverity::Low,
    }
}

fn forget_commands(n: &NodeId, on: &[String]) -> Vec<String> {
    on.iter().map(|addr| format!("redis-cli -h {} CLUSTER FORGET {}", host_port(addr), n.as_str())).collect()
}

/// `ip:port@cport` → `ip -p port` for redis-cli.
fn host_port(addr: &str) -> String {
    let a = addr.split('@').next().unwrap_or(addr);
    match a.rsplit_once(':') {
        Some((ip, port)) => format!("{ip} -p {port}"),
        None => a.to_string(),
    }
}

const REUSE_APPLIES: &str = "blind gossip handshakes: Redis 3.0–4.0, 5.0.0–5.0.9, 6.0.0–6.0.4 (a node that learned the address only from gossip MEETs it); Valkey 8.1+ (MEET to a gossiped node with no inbound link for a handshake timeout). Redis 5.0.10+/6.0.5+, 6.2, 7.x, 8 and Valkey 7.2/8.0 mark the old node noaddr instead";

/// A node failed (or silent) whose peers still gossip it at its address.
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
        let mut listers: Vec<(NodeId, String, Option<Evidence>)> = Vec::new();
        for l in &a.nodes {
            if l.id == n.id || l.last_seen_us <= gone_at {
                continue;
            }
            let Some(p) = src.knowledge.peer_seen(&l.id, &n.id) else { continue };
            if p.flags & NodeFlags::NOADDR != 0 || p.ts <= gone_at || p.addr.ip.to_string().is_empty() {
                continue;
            }
            listers.push((l.id, p.addr.to_string(), p.failed_since.map(|(_, e)| e.clone())));
        }
        if listers.is_empty() {
            continue;
        }
        let replaced = a.findings.iter().any(|f| f.kind == FindingKind::Failover && f.nodes.get(1) == Some(&n.id));
        let addr = listers[0].1.clone();
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
            let later = a.nodes.iter().filter(|l| l.id != n.id).any(|l| src.dials.style(a, &l.id, l.generation, true).maybe_blind());
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
            "CLUSTER FORGET {} on every node that still lists it ({}), all within 60 s (the blacklist TTL), before its address is given to anything else:",
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
                a.nodes.iter().find(|x| x.id == n.id).and_then(|x| x.cluster.as_deref()).map_or("no cluster".into(), |c| format!("cluster {c}")),
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

fn best(a: &Analysis, n: &NodeId) -> String {
    a.nodes.iter().find(|x| x.id == *n).map_or_else(|| "?".into(), |x| x.best_address.to_string())
}

/// The verdict for a live node's address that can mean another node
/// elsewhere: how the nodes that would learn it from gossip dial it.
fn live_address_verdict(a: &Analysis, src: &AuditSources<'_>, about: &[NodeId]) -> (MergeVerdict, String) {
    let dialers: Vec<(NodeId, Style)> = a
        .nodes
        .iter()
        .filter(|n| !about.contains(&n.id))
        .map(|n| (n.id, src.dials.style(a, &n.id, n.generation, false)))
        .collect();
    if let Some((n, s)) = dialers.iter().find(|(_, s)| s.blind()) {
        return (
            MergeVerdict::CanMerge,
            format!(
                "{} {}: a node that learns this address from gossip on a host where another node answers there adopts that node, and the clusters merge",
                n.short(),
                s.describe()
            ),
        );
    }
    (
        MergeVerdict::OnlyConfuse,
        "the nodes seen add gossiped nodes by id and dial with PING: a node that answers there in place of the gossiped one is rejected (noaddr, and on Valkey 8.1+ a FAIL), with flapping links, but not adopted".into(),
    )
}

const LIVE_APPLIES: &str = "blind gossip handshakes: Redis 3.0–4.0, 5.0.0–5.0.9, 6.0.0–6.0.4 merge; Redis 5.0.10+/6.0.5+, 6.2, 7.x, 8 and Valkey only mark the node noaddr (flapping)";

/// An address peers record for a node where the node does not listen,
/// learned from the source address of its connections (a MEET's or a
/// PING's, rules §9b/§9f): a bridge, NAT or gateway address.
fn translated(a: &Analysis, src: &AuditSources<'_>, out: &mut Audit) {
    let listen_ip = |n: &crate::analysis::model::NodeSummary| -> BTreeSet<String> {
        n.addresses
            .iter()
            .filter(|x| matches!(x.how, AddressSource::Listening | AddressSource::Announced))
            .filter_map(|x| match &x.address {
                SeenAddress::Node(na) => Some(na.ip.to_string()),
                SeenAddress::Ip(_) => None,
            })
            .collect()
    };
    for n in &a.nodes {
        // IPs where other nodes listen: a connection of n's arriving from
        // one of them was translated to that host's address.
        let others: BTreeSet<String> = a.nodes.iter().filter(|m| m.id != n.id).flat_map(listen_ip).collect();
        let listening: BTreeSet<String> = n
            .addresses
            .iter()
            .filter(|x| matches!(x.how, AddressSource::Listening | AddressSource::Announced))
            .filter_map(|x| match &x.address {
                SeenAddress::Node(na) => Some(na.ip.to_string()),
                SeenAddress::Ip(_) => None,
            })
            .collect();
        let mut recorded: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
        for l in &a.nodes {
            let Some(p) = src.knowledge.peer_seen(&l.id, &n.id) else { continue };
            if p.flags & NodeFlags::NOADDR != 0 {
                continue;
            }
            recorded.entry(p.addr.to_string()).or_default().push(l.id);
        }
        for (addr, by) in recorded {
            let ip = addr.rsplit_once(':').map_or(addr.as_str(), |(ip, _)| ip);
            let sources: BTreeSet<String> = n
                .addresses
                .iter()
                .filter(|x| x.how == AddressSource::Source)
                .map(|x| x.address.to_string())
                .collect();
            // Recorded where it only sends from, while it listens
            // elsewhere; or recorded at one of its source addresses while
            // elsewhere its connections arrive from another where it does
            // not listen (translated on the way: NAT, MASQUERADE).
            let only_sends = !listening.is_empty() && !listening.contains(ip);
            let translated_elsewhere =
                sources.iter().any(|y| y != ip && !listening.contains(y) && others.contains(y));
            if !sources.contains(ip) || !(only_sends || translated_elsewhere) {
                continue;
            }
            let elsewhere: Vec<String> = sources.iter().filter(|y| *y != ip).cloned().collect();
            let evidence: Vec<Evidence> = n
                .addresses
                .iter()
                .filter(|x| x.how == AddressSource::Source && x.address.to_string() == ip)
                .map(|x| Evidence { capture: x.vantage.as_str().into(), frame: x.frame })
                .take(2)
                .collect();
            let (verdict, why) = live_address_verdict(a, src, &[n.id]);
            out.hazards.push(Hazard {
                kind: HazardKind::TranslatedAddress,
                severity: severity(verdict),
                since_us: n.first_seen_us,
                nodes: std::iter::once(n.id).chain(by.iter().copied()).collect(),
                addresses: vec![addr.clone()],
                summary: format!(
                    "{} record {} at {addr}, the source address of its connections there, but it listens at {} and its connections also arrive from {}: the address depends on where it is seen from (a bridge, NAT or gateway address), and on another host it can be another node",
                    by.iter().map(|l| l.short().into_owned()).collect::<Vec<_>>().join(", "),
                    n.id.short(),
                    if listening.is_empty() { "?".into() } else { listening.iter().cloned().collect::<Vec<_>>().join(", ") },
                    if elsewhere.is_empty() { "nowhere else".into() } else { elsewhere.join(", ") }
                ),
                applies_to: LIVE_APPLIES.into(),
                verdict,
                verdict_why: why,
                fix: announce_fix(&n.id, &best(a, &n.id)),
                evidence,
            });
        }
    }
}

fn announce_fix(n: &NodeId, addr: &str) -> Vec<String> {
    let (ip, port) = match addr.split('@').next().and_then(|x| x.rsplit_once(':')) {
        Some((ip, port)) => (ip.to_string(), port.to_string()),
        None => ("<routable ip>".into(), "<port>".into()),
    };
    vec![
        format!(
            "Make {} announce its routable address (Redis 4.0+ / Valkey), then restart it or run the CONFIG SET on it:",
            n.short()
        ),
        format!("redis-cli -h {ip} -p {port} CONFIG SET cluster-announce-ip {ip}"),
        format!("redis-cli -h {ip} -p {port} CONFIG SET cluster-announce-port {port}"),
        "and cluster-announce-bus-port when the bus port is mapped; on Redis 3.x (no announce settings) route the host network through the node's own interface (`ip route add <host network> dev <vlan interface>` inside the container) or do not mix host and bridge networking".into(),
    ]
}

/// One address meaning several nodes: collisions and reuses the findings
/// name, and addresses two nodes both state or answer at.
fn ambiguous(a: &Analysis, src: &AuditSources<'_>, out: &mut Audit) {
    let mut done: BTreeSet<String> = BTreeSet::new();
    for f in a.findings.iter().filter(|f| matches!(f.kind, FindingKind::AddressCollision | FindingKind::AddressReuse)) {
        let Some(addr) = f.addresses.first() else { continue };
        done.insert(addr.clone());
        // A reused address: the servers already gave their verdict (the
        // finding says whether they adopted the new node).
        let decided = (f.kind == FindingKind::AddressReuse).then(|| {
            let adopted = a.merges.iter().any(|m| {
                m.chain.iter().any(|i| i.address.as_ref().map(crate::analysis::model::bus_key).as_ref() == Some(addr))
            });
            if adopted {
                (MergeVerdict::CanMerge, "the servers adopted the node that took the address: the clusters merged".to_string())
            } else {
                (MergeVerdict::OnlyConfuse, "the servers rejected the node that took the address (noaddr): no merge".to_string())
            }
        });
        push_ambiguous(a, src, out, addr, f.nodes.clone(), (f.summary.clone(), f.evidence.clone(), f.ts_us), decided);
    }
    let mut by: BTreeMap<String, BTreeMap<NodeId, (i64, Evidence)>> = BTreeMap::new();
    for n in &a.nodes {
        for x in n.addresses.iter().filter(|x| matches!(x.how, AddressSource::Listening | AddressSource::Announced)) {
            if let SeenAddress::Node(na) = &x.address {
                let key = format!("{}:{}", na.ip, na.cport);
                by.entry(key).or_default().entry(n.id).or_insert((
                    x.first_ts_us,
                    Evidence { capture: x.vantage.as_str().into(), frame: x.frame },
                ));
            }
        }
    }
    for (addr, nodes) in by {
        if nodes.len() < 2 || done.contains(&addr) {
            continue;
        }
        let ids: Vec<NodeId> = nodes.keys().copied().collect();
        let since = nodes.values().map(|(t, _)| *t).max().unwrap_or(0);
        let evidence = nodes.values().map(|(_, e)| e.clone()).collect();
        let summary = format!(
            "{addr} is where {} all state or answer (seen from different vantages or at different times)",
            ids.iter().map(|i| i.short().into_owned()).collect::<Vec<_>>().join(", ")
        );
        push_ambiguous(a, src, out, &addr, ids, (summary, evidence, since), None);
    }
}

/// What an ambiguous address's hazard says: summary, evidence, since.
type Said = (String, Vec<Evidence>, i64);

fn push_ambiguous(
    a: &Analysis,
    src: &AuditSources<'_>,
    out: &mut Audit,
    addr: &str,
    nodes: Vec<NodeId>,
    (summary, evidence, since_us): Said,
    decided: Option<(MergeVerdict, String)>,
) {
    let (verdict, why) = decided.unwrap_or_else(|| live_address_verdict(a, src, &nodes));
    let fix = nodes.first().map(|n| announce_fix(n, &best(a, n))).unwrap_or_default();
    out.hazards.push(Hazard {
        kind: HazardKind::AmbiguousAddress,
        severity: severity(verdict),
        since_us,
        nodes,
        addresses: vec![addr.to_string()],
        summary,
        applies_to: LIVE_APPLIES.into(),
        verdict,
        verdict_why: why,
        fix,
        evidence,
    });
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
    for n in a.nodes.iter().filter(|n| {
        n.role_last == Role::Master && !n.slots_last.is_empty() && end - n.last_seen_us <= LIVE_AT_END_US
    }) {
        let Some(c) = n.cluster.as_deref() else { continue };
        by.entry((c, n.config_epoch_last)).or_default().push(n);
    }
    for ((_, epoch), ns) in by.into_iter().filter(|(_, ns)| ns.len() > 1) {
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
