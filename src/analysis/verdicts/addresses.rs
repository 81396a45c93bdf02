//! The audit's address hazards: an address peers record for a node where
//! it does not listen, or that depends on the vantage (bridge, NAT,
//! MASQUERADE: the source address of its connections differs from host to
//! host), and one address meaning several nodes; the verdict from how the
//! nodes that would learn it from gossip dial it (protocol notes §9c, §10).

use super::dials::{AuditSources, Style, best, severity};
use crate::analysis::model::{
    AddressSource, Analysis, Audit, Evidence, FindingKind, Hazard, HazardKind, MergeVerdict, NodeId, NodeSummary,
    SeenAddress, capture_name,
};
use crate::clusterbus::NodeFlags;
use crate::events::NodeAddr;
use std::collections::{BTreeMap, BTreeSet};

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
pub(super) fn translated(a: &Analysis, src: &AuditSources<'_>, out: &mut Audit) {
    let listen_ip = |n: &NodeSummary| -> BTreeSet<String> {
        n.addresses
            .iter()
            .filter(|x| matches!(x.how, AddressSource::Listening | AddressSource::Announced))
            .filter_map(|x| match &x.address {
                SeenAddress::Node(na) => Some(na.ip.to_string()),
                SeenAddress::Ip(_) => None,
            })
            .collect()
    };
    // Each node's listening IPs, and how many nodes listen at each IP
    // (once per look: the node against every other node was quadratic).
    let listens: Vec<BTreeSet<String>> = a.nodes.iter().map(listen_ip).collect();
    let mut listeners: BTreeMap<&str, usize> = BTreeMap::new();
    for ip in listens.iter().flatten() {
        *listeners.entry(ip.as_str()).or_default() += 1;
    }
    // Every node's peers table and number, looked up once per look.
    let peers: Vec<_> = a.nodes.iter().map(|l| (l.id, src.knowledge.peers_of(&l.id))).collect();
    for (n, listening) in a.nodes.iter().zip(&listens) {
        // IPs where other nodes listen: a connection of n's arriving from
        // one of them was translated to that host's address.
        let other_listens = |ip: &str| listeners.get(ip).copied().unwrap_or(0) > usize::from(listening.contains(ip));
        let mut recorded: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
        // Each distinct address written once (most peers record one).
        let mut written: Vec<(&NodeAddr, String)> = Vec::new();
        let number = src.knowledge.node_number(&n.id);
        for (l, table) in &peers {
            let Some(p) = table.as_ref().and_then(|t| t.seen(number)) else { continue };
            if p.flags & NodeFlags::NOADDR != 0 {
                continue;
            }
            let text = match written.iter().find(|(w, _)| *w == p.addr) {
                Some((_, t)) => t,
                None => {
                    written.push((p.addr, p.addr.to_string()));
                    &written[written.len() - 1].1
                }
            };
            match recorded.get_mut(text.as_str()) {
                Some(by) => by.push(*l),
                None => {
                    recorded.insert(text.clone(), vec![*l]);
                }
            }
        }
        let sources: BTreeSet<String> =
            n.addresses.iter().filter(|x| x.how == AddressSource::Source).map(|x| x.address.to_string()).collect();
        for (addr, by) in recorded {
            let ip = addr.rsplit_once(':').map_or(addr.as_str(), |(ip, _)| ip);
            // Recorded where it only sends from, while it listens
            // elsewhere; or recorded at one of its source addresses while
            // elsewhere its connections arrive from another where it does
            // not listen (translated on the way: NAT, MASQUERADE).
            let only_sends = !listening.is_empty() && !listening.contains(ip);
            let vantages: BTreeSet<&str> = n
                .addresses
                .iter()
                .filter(|x| x.how == AddressSource::Listening)
                .filter(|x| matches!(&x.address, SeenAddress::Node(na) if na.ip == ip))
                .map(|x| x.vantage.as_str())
                .collect();
            if vantages.len() >= 2 {
                // Answering there from two vantages: routable.
                continue;
            }
            let translated_elsewhere = sources.iter().any(|y| y != ip && !listening.contains(y) && other_listens(y));
            if !sources.contains(ip) || !(only_sends || translated_elsewhere) {
                continue;
            }
            let elsewhere: Vec<String> = sources.iter().filter(|y| *y != ip).cloned().collect();
            let evidence: Vec<Evidence> = n
                .addresses
                .iter()
                .filter(|x| x.how == AddressSource::Source && x.address.to_string() == ip)
                .map(|x| Evidence { capture: capture_name(&x.vantage), frame: x.frame })
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
                fix: announce_fix(&n.id, &best(a, &n.id), std::slice::from_ref(&addr)),
                evidence,
            });
        }
    }
}

/// Announce settings for `n`, reached at `addr` in this capture; the
/// address to announce is the one its peers on every host reach it at,
/// which the capture cannot tell when an address depends on the vantage
/// (`seen`: the ones it was recorded at).
fn announce_fix(n: &NodeId, addr: &str, seen: &[String]) -> Vec<String> {
    let (ip, port) = super::advice::host_and_port(addr).unwrap_or_else(|| ("<ip>".into(), "<port>".into()));
    vec![
        format!(
            "Make {} announce the address its peers on every host reach it at (not {}): Redis 4.0+ / Valkey, in its config or with CONFIG SET, then restart it:",
            n.short(),
            seen.join(", ")
        ),
        format!("redis-cli -h {ip} -p {port} CONFIG SET cluster-announce-ip <its routable ip>"),
        format!("redis-cli -h {ip} -p {port} CONFIG SET cluster-announce-port {port}"),
        "and cluster-announce-bus-port when the bus port is mapped; on Redis 3.x (no announce settings) route the host network through the node's own interface (`ip route add <host network> dev <vlan interface>` inside the container) or do not mix host and bridge networking".into(),
    ]
}

/// One address meaning several nodes: collisions and reuses the findings
/// name, and addresses two nodes both state or answer at.
pub(super) fn ambiguous(a: &Analysis, src: &AuditSources<'_>, out: &mut Audit) {
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
                (
                    MergeVerdict::CanMerge,
                    "the servers adopted the node that took the address: the clusters merged".to_string(),
                )
            } else {
                (
                    MergeVerdict::OnlyConfuse,
                    "the servers rejected the node that took the address (noaddr): no merge".to_string(),
                )
            }
        });
        push_ambiguous(a, src, out, addr, f.nodes.clone(), (f.summary.clone(), f.evidence.clone(), f.ts_us), decided);
    }
    let mut by: BTreeMap<String, BTreeMap<NodeId, (i64, Evidence)>> = BTreeMap::new();
    for n in &a.nodes {
        for x in n.addresses.iter().filter(|x| matches!(x.how, AddressSource::Listening | AddressSource::Announced)) {
            if let SeenAddress::Node(na) = &x.address {
                let key = format!("{}:{}", na.ip, na.cport);
                by.entry(key)
                    .or_default()
                    .entry(n.id)
                    .or_insert((x.first_ts_us, Evidence { capture: capture_name(&x.vantage), frame: x.frame }));
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
    // A reused address (a verdict the servers gave): the old node is gone,
    // what is left to do is to make sure nobody lists it there any more.
    let fix = match (&decided, nodes.first()) {
        (Some(_), Some(old)) => vec![
            format!(
                "{addr} now belongs to another node; on every node, check whether {} is still listed (CLUSTER NODES) and CLUSTER FORGET it where it is, all within 60 s:",
                old.short()
            ),
            format!("redis-cli -h <node> -p <port> CLUSTER FORGET {}", old.as_str()),
        ],
        (None, Some(n)) => announce_fix(n, &best(a, n), &[addr.to_string()]),
        (_, None) => Vec::new(),
    };
    let (verdict, why) = decided.unwrap_or_else(|| live_address_verdict(a, src, &nodes));
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
