//! Identity conflicts: one node id claimed by two live instances (a server
//! started from a copy of another's `nodes.conf`: a cloned VM or image).
//!
//! A single instance keeps one outbound link per peer address, from the
//! source IP its routing picks and with its own ports in every header. Two
//! instances with one id both dial the same peers: so two connections to
//! the same peer address, both carrying messages at the same time, from
//! different source IPs or with different header ports, are two
//! instances. The same connection seen twice (`-i any` before and after
//! NAT, or from two vantages) carries the *same* messages: a message seen
//! on both within a second makes them one instance. A node that moved
//! (restarted elsewhere) is not a conflict: its old connections fall
//! silent before the new ones speak. Imports: `clock` (message
//! fingerprints), `config`, `model`, `events`, `decode`.

use super::clock::fingerprint;
use super::config::AnalysisConfig;
use super::connections::Connections;
use super::gossip::Knowledge;
use super::model::{Evidence, Finding, FindingKind, NodeId};
use crate::decode::Endpoint;
use crate::events::{BusMessage, Link};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// The same message on two connections within this is one message seen
/// twice.
const SAME_MESSAGE_US: i64 = 1_000_000;
/// Messages a connection must carry, not seen elsewhere, to count as an
/// instance of its own.
const OWN_MESSAGES: u32 = 3;
/// Connections remembered per (node, peer address).
const CONNS_CAP: usize = 16;
/// Fingerprints remembered per node before old ones are dropped.
const RECENT_CAP: usize = 4096;

/// A connection: (capture, connection id).
type ConnKey = (usize, u64);

/// One instance as its connection shows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Instance {
    pub ip: IpAddr,
    pub port: u16,
    pub cport: u16,
}

impl Instance {
    /// `ip:port@cport`.
    pub fn address(&self) -> String {
        super::nodes::addr_string(&self.ip.to_string(), self.port, self.cport)
    }
}

#[derive(Clone, Debug)]
struct OutConn {
    key: (usize, u64),
    instance: Instance,
    first_ts: i64,
    last_ts: i64,
    own: u32,
    evidence: Evidence,
    aliases: Vec<(usize, u64)>,
}

/// Two instances of one id, alive at once.
#[derive(Clone, Debug)]
pub(super) struct Conflict {
    /// When the second instance was first seen alive beside the first.
    pub began: i64,
    pub last: i64,
    pub instances: BTreeMap<Instance, Evidence>,
    /// Peer addresses both dialled.
    pub peers: Vec<String>,
}

#[derive(Debug, Default)]
pub(super) struct Identities {
    out: HashMap<(NodeId, Endpoint), Vec<OutConn>>,
    /// node → fingerprint → (connection, ts) of its recent messages.
    recent: HashMap<NodeId, HashMap<u64, (ConnKey, i64)>>,
    conflicts: BTreeMap<NodeId, Conflict>,
}

impl Identities {
    /// A message from `s` on a connection it opened.
    pub fn sent(&mut self, cfg: &AnalysisConfig, ts: i64, frame: u64, link: &Link, s: NodeId, m: &BusMessage) {
        let key = (link.capture, link.conn_id);
        let fp = fingerprint(m);
        let recent = self.recent.entry(s).or_default();
        let twin = match recent.get(&fp) {
            Some(&(k, t)) if k != key && (ts - t).abs() < SAME_MESSAGE_US => Some(k),
            _ => None,
        };
        if twin.is_none() {
            if recent.len() >= RECENT_CAP {
                recent.retain(|_, (_, t)| ts - *t < SAME_MESSAGE_US);
            }
            recent.insert(fp, (key, ts));
        }
        let instance = Instance { ip: link.src.ip, port: m.announced.port, cport: m.announced.cport };
        let conns = self.out.entry((s, link.dst)).or_default();
        let idx = match conns.iter().position(|c| c.key == key) {
            Some(i) => i,
            None => {
                if conns.len() >= CONNS_CAP {
                    conns.remove(0);
                }
                conns.push(OutConn {
                    key,
                    instance,
                    first_ts: ts,
                    last_ts: ts,
                    own: 0,
                    evidence: cfg.evidence(link.capture, frame),
                    aliases: Vec::new(),
                });
                conns.len() - 1
            }
        };
        if let Some(t) = twin {
            for k in [t, key] {
                let other = if k == key { t } else { key };
                if let Some(c) = conns.iter_mut().find(|c| c.key == k)
                    && !c.aliases.contains(&other)
                {
                    c.aliases.push(other);
                }
            }
        } else {
            conns[idx].own += 1;
        }
        conns[idx].last_ts = ts;
        let me = conns[idx].clone();
        if me.own < OWN_MESSAGES {
            return;
        }
        for c in conns.iter() {
            let overlapping = c.first_ts.max(me.first_ts) < c.last_ts.min(me.last_ts);
            if c.key == me.key
                || c.own < OWN_MESSAGES
                || !overlapping
                || c.instance == me.instance
                || me.aliases.contains(&c.key)
                || c.aliases.contains(&me.key)
            {
                continue;
            }
            let began = c.first_ts.max(me.first_ts);
            let entry = self.conflicts.entry(s).or_insert_with(|| Conflict {
                began,
                last: ts,
                instances: BTreeMap::new(),
                peers: Vec::new(),
            });
            entry.began = entry.began.min(began);
            entry.last = entry.last.max(ts);
            entry.instances.entry(c.instance.clone()).or_insert_with(|| c.evidence.clone());
            entry.instances.entry(me.instance.clone()).or_insert_with(|| me.evidence.clone());
            let peer = format!("{}:{}", link.dst.ip, link.dst.port);
            if !entry.peers.contains(&peer) && entry.peers.len() < 8 {
                entry.peers.push(peer);
            }
        }
    }

    #[cfg(test)]
    fn conflicts(&self) -> &BTreeMap<NodeId, Conflict> {
        &self.conflicts
    }

    /// One `id_conflict` per id claimed by several live instances, with
    /// what followed: the id's address flapping in peers' views, short
    /// connections to its addresses, a FAIL.
    pub fn findings(&self, knowledge: &Knowledge, conns: &Connections, out: &mut Vec<Finding>) {
        for (s, c) in &self.conflicts {
            let addrs: Vec<String> = c.instances.keys().map(Instance::address).collect();
            let mut effects = Vec::new();
            if let Some(mv) = knowledge.moves(s).filter(|m| m.first.iter().any(|x| x.3 >= c.began)) {
                let (l, from, to, _, _) = &mv.first[0];
                effects.push(format!(
                    "its address changed {} time(s) in peers' views (e.g. {}: {from} → {to})",
                    mv.count,
                    l.short()
                ));
            }
            let short: usize = c.instances.keys().map(|i| conns.short_to(&format!("{}:{}", i.ip, i.cport))).sum();
            if short > 0 {
                effects.push(format!("{short} short-lived connection(s) to its addresses (links torn down)"));
            }
            if let Some(t) = knowledge.failed_at(s).filter(|t| *t >= c.began) {
                effects.push(format!("declared FAIL {:.1} s after the conflict began", (t - c.began) as f64 / 1e6));
            }
            let mut evidence: Vec<Evidence> = c.instances.values().cloned().collect();
            if let Some(mv) = knowledge.moves(s) {
                evidence.extend(mv.first.iter().filter(|x| x.3 >= c.began).take(2).map(|x| x.4.clone()));
            }
            out.push(Finding {
                addresses: addrs.clone(),
                ..Finding::about(
                    FindingKind::IdConflict,
                    c.began,
                    vec![*s],
                    format!(
                        "node id {} is claimed by {} live instances at once, at {} (both dialled {}): a server started from a copy of another's nodes.conf{}",
                        s.short(),
                        addrs.len(),
                        addrs.join(" and "),
                        c.peers.join(", "),
                        if effects.is_empty() { String::new() } else { format!("; {}", effects.join("; ")) }
                    ),
                    evidence,
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clusterbus::MessageType;
    use crate::events::{Gossip, NodeAddr};

    fn msg(s: NodeId, port: u16, n: u32) -> BusMessage {
        BusMessage {
            msg_type: MessageType::PING,
            light: false,
            ver: 1,
            sender: Some(s),
            current_epoch: 1,
            config_epoch: 1,
            repl_offset: 0,
            flags: 1,
            state: 0,
            mflags: 0,
            slots: vec![],
            replicaof: None,
            announced: NodeAddr { ip: String::new(), port, cport: port + 10000, pport: 0 },
            gossip: vec![Gossip {
                node: NodeId([b'g'; 40]),
                addr: NodeAddr::default(),
                flags: 0,
                ping_sent: n,
                pong_received: 0,
            }],
            hostname: None,
            shard_id: None,
            forgotten: vec![],
            ext_types: vec![],
            fail_node: None,
            update: None,
            totlen: 2256,
        }
    }

    fn link(conn: u64, src: &str, dst: &str) -> Link {
        Link {
            capture: 0,
            conn_id: conn,
            src: Endpoint { ip: src.parse().unwrap(), port: 40000 + conn as u16 },
            dst: Endpoint { ip: dst.parse().unwrap(), port: 17000 },
            from_initiator: Some(true),
        }
    }

    #[test]
    fn two_live_instances_dialling_one_peer_conflict() {
        let (cfg, s) = (AnalysisConfig::default(), NodeId([b's'; 40]));
        let mut id = Identities::default();
        for i in 0..5u32 {
            let t = i64::from(i) * 100_000;
            id.sent(&cfg, t, 1, &link(1, "10.0.0.1", "10.0.0.9"), s, &msg(s, 7000, i));
            id.sent(&cfg, t + 10, 2, &link(2, "10.0.0.2", "10.0.0.9"), s, &msg(s, 7000, 100 + i));
        }
        let c = &id.conflicts()[&s];
        assert_eq!(c.instances.len(), 2);
        assert_eq!(c.peers, vec!["10.0.0.9:17000".to_string()]);
    }

    #[test]
    fn the_same_messages_seen_twice_are_one_instance() {
        let (cfg, s) = (AnalysisConfig::default(), NodeId([b's'; 40]));
        let mut id = Identities::default();
        for i in 0..5u32 {
            let t = i64::from(i) * 100_000;
            id.sent(&cfg, t, 1, &link(1, "172.17.0.5", "10.0.0.9"), s, &msg(s, 7000, i));
            id.sent(&cfg, t + 10, 2, &link(2, "10.0.0.1", "10.0.0.9"), s, &msg(s, 7000, i));
        }
        assert!(id.conflicts().is_empty());
    }

    #[test]
    fn a_node_that_moved_is_not_a_conflict() {
        let (cfg, s) = (AnalysisConfig::default(), NodeId([b's'; 40]));
        let mut id = Identities::default();
        for i in 0..5u32 {
            id.sent(&cfg, i64::from(i) * 100_000, 1, &link(1, "10.0.0.1", "10.0.0.9"), s, &msg(s, 7000, i));
        }
        for i in 0..5u32 {
            let t = 10_000_000 + i64::from(i) * 100_000;
            id.sent(&cfg, t, 2, &link(2, "10.0.0.2", "10.0.0.9"), s, &msg(s, 7000, 100 + i));
        }
        assert!(id.conflicts().is_empty());
    }
}
