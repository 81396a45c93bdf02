//! Identity conflicts: one node id claimed by two live instances (a server
//! started from a copy of another's `nodes.conf`: a cloned VM or image).
//!
//! An instance shows itself by the source IP of the connections it opens and
//! the ports in every header it sends. Two instances of one id dial the same
//! peers, and their peers keep tearing down one's link for the other's, so
//! connections are short: the signal is two instances of one id sending to a
//! common peer address in overlapping periods. What is *not* a conflict: one
//! process seen twice (`-i any` before and after NAT, or from two vantages)
//! sends the *same* messages, so a message seen from both within a second makes
//! them aliases; a multi-homed node uses one source IP per peer, so its
//! "instances" share no peer; a node that moved (restarted elsewhere) falls
//! silent at the old address before the new one speaks.

use super::connections::Connections;
use super::knowledge::Knowledge;
use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{Evidence, Finding, FindingKind, IdConflict, InstanceSeen, NodeId};
use crate::decode::Endpoint;
use crate::events::{BusMessage, Link};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The same message seen twice within this is one message (one instance).
const SAME_MESSAGE_US: i64 = 1_000_000;
/// Messages an instance must send, not seen from another, to count.
const OWN_MESSAGES: u32 = 3;
/// Peer addresses remembered per instance.
const DSTS_CAP: usize = 32;
/// Messages seen from two instances that make them one process.
const ALIAS_TWINS: u32 = 2;
/// Fingerprints remembered per node before old ones are dropped.
const RECENT_CAP: usize = 192;

/// One instance as its messages show it: the source IP of its connections
/// and the ports in its header.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance {
    pub ip: IpAddr,
    pub port: u16,
    pub cport: u16,
}

impl Instance {
    /// `ip:port@cport`.
    pub fn address(&self) -> String {
        super::nodes::node_addr(self.ip, self.port, self.cport).to_string()
    }
}

#[derive(Clone, Debug)]
struct Seen {
    first_ts: i64,
    last_ts: i64,
    own: u32,
    evidence: Evidence,
    /// Peer addresses it dialled.
    dsts: Vec<Endpoint>,
}

/// Two instances of one id, alive at once.
#[derive(Clone, Debug)]
pub struct Conflict {
    /// When the second instance was first seen alive beside the first.
    pub began: i64,
    pub last: i64,
    pub instances: BTreeMap<Instance, Evidence>,
    /// Peer addresses both dialled.
    pub peers: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Identities {
    seen: HashMap<NodeId, Vec<(Instance, Seen)>>,
    /// node → fingerprint → (instance, ts) of its recent messages.
    recent: HashMap<NodeId, HashMap<u64, (Instance, i64)>>,
    /// Instances of a node that sent the same messages: one process seen
    /// through NAT or from two vantages.
    aliases: HashSet<(NodeId, Instance, Instance)>,
    twins: HashMap<(NodeId, Instance, Instance), u32>,
    conflicts: BTreeMap<NodeId, Conflict>,
}

impl Identities {
    /// A message from `s` on a connection it opened.
    pub fn sent(&mut self, cfg: &AnalysisConfig, ts: i64, frame: u64, link: &Link, s: NodeId, m: &BusMessage) {
        let me = Instance { ip: link.src.ip, port: m.announced.port, cport: m.announced.cport };
        // The message's content and the ports of the instance that sent it:
        // instances with the same state still differ by their ports.
        let fp = m.fingerprint() ^ (u64::from(m.announced.port) << 32 | u64::from(m.announced.cport)).rotate_left(17);
        let recent = self.recent.entry(s).or_default();
        let twin = match recent.get(&fp) {
            Some((other, t)) if *other != me && (ts - t).abs() < SAME_MESSAGE_US => Some(other.clone()),
            _ => None,
        };
        match &twin {
            Some(other) => {
                // Two messages seen from both: one process, seen twice.
                let n = self.twins.entry((s, me.clone(), other.clone())).or_default();
                *n += 1;
                if *n >= ALIAS_TWINS {
                    self.aliases.insert((s, me.clone(), other.clone()));
                    self.aliases.insert((s, other.clone(), me.clone()));
                }
            }
            None => {
                if recent.len() >= RECENT_CAP {
                    recent.retain(|_, (_, t)| ts - *t < SAME_MESSAGE_US);
                }
                recent.insert(fp, (me.clone(), ts));
            }
        }
        let all = self.seen.entry(s).or_default();
        let idx = match all.iter().position(|(i, _)| *i == me) {
            Some(i) => i,
            None => {
                let evidence = cfg.evidence(link.capture, frame);
                all.push((me.clone(), Seen { first_ts: ts, last_ts: ts, own: 0, evidence, dsts: Vec::new() }));
                all.len() - 1
            }
        };
        let mine = &mut all[idx].1;
        mine.last_ts = ts;
        if twin.is_none() {
            mine.own += 1;
        }
        if !mine.dsts.contains(&link.dst) && mine.dsts.len() < DSTS_CAP {
            mine.dsts.push(link.dst);
        }
        if all.len() < 2 || all[idx].1.own < OWN_MESSAGES {
            return;
        }
        let (me_seen, aliases) = (all[idx].1.clone(), &self.aliases);
        for (other, o) in all.iter().filter(|(i, _)| *i != me) {
            let overlapping = o.first_ts.max(me_seen.first_ts) < o.last_ts.min(me_seen.last_ts);
            let shared: Vec<&Endpoint> = o.dsts.iter().filter(|d| me_seen.dsts.contains(d)).collect();
            if o.own < OWN_MESSAGES
                || !overlapping
                || shared.is_empty()
                || aliases.contains(&(s, me.clone(), other.clone()))
            {
                continue;
            }
            let began = o.first_ts.max(me_seen.first_ts);
            let entry = self.conflicts.entry(s).or_insert_with(|| Conflict {
                began,
                last: ts,
                instances: BTreeMap::new(),
                peers: Vec::new(),
            });
            entry.began = entry.began.min(began);
            entry.last = entry.last.max(ts);
            entry.instances.entry(other.clone()).or_insert_with(|| o.evidence.clone());
            entry.instances.entry(me.clone()).or_insert_with(|| me_seen.evidence.clone());
            for d in shared {
                let peer = format!("{}:{}", d.ip, d.port);
                if !entry.peers.contains(&peer) && entry.peers.len() < 8 {
                    entry.peers.push(peer);
                }
            }
        }
    }

    #[cfg(test)]
    fn conflicts(&self) -> &BTreeMap<NodeId, Conflict> {
        &self.conflicts
    }

    /// Each conflict over time: its instances (first and last message
    /// each) and the flapping of its address in peers' views.
    pub fn over_time(&self, knowledge: &Knowledge) -> Vec<IdConflict> {
        let mut out = Vec::new();
        for (s, c) in &self.conflicts {
            let seen = self.seen.get(s).map(Vec::as_slice).unwrap_or_default();
            let mut instances: Vec<InstanceSeen> = c
                .instances
                .iter()
                .map(|(i, evidence)| {
                    let span = seen.iter().find(|(x, _)| x == i).map(|(_, o)| (o.first_ts, o.last_ts));
                    let (first_ts_us, last_ts_us) = span.unwrap_or((c.began, c.last));
                    InstanceSeen { address: i.address(), first_ts_us, last_ts_us, evidence: evidence.clone() }
                })
                .collect();
            instances.sort_by(|a, b| (a.first_ts_us, &a.address).cmp(&(b.first_ts_us, &b.address)));
            let moves = knowledge.moves(s);
            out.push(IdConflict {
                node: *s,
                began_us: c.began,
                instances,
                address_changes: moves.map_or(0, |m| m.count),
                flapping: moves.map(|m| m.episodes.clone()).unwrap_or_default(),
            });
        }
        out
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
                .occurring(c.instances.len() as u64, c.last)
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
            announced: NodeAddr { ip: Default::default(), port, cport: port + 10000, pport: 0 },
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
            cut: false,
            fingerprint: None,
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
    fn a_multi_homed_node_dialling_different_peers_is_one_instance() {
        let (cfg, s) = (AnalysisConfig::default(), NodeId([b's'; 40]));
        let mut id = Identities::default();
        for i in 0..5u32 {
            let t = i64::from(i) * 100_000;
            id.sent(&cfg, t, 1, &link(1, "172.17.0.1", "172.17.0.5"), s, &msg(s, 7000, i));
            id.sent(&cfg, t + 10, 2, &link(2, "10.0.0.1", "10.0.0.9"), s, &msg(s, 7000, 100 + i));
        }
        assert!(id.conflicts().is_empty());
    }

    #[test]
    fn a_clone_on_another_port_whose_links_are_torn_down_conflicts() {
        let (cfg, s) = (AnalysisConfig::default(), NodeId([b's'; 40]));
        let mut id = Identities::default();
        for i in 0..6u32 {
            let t = i64::from(i) * 100_000;
            // One message per connection: the peer frees the other's link.
            id.sent(&cfg, t, 1, &link(u64::from(2 * i), "127.0.0.1", "127.0.0.1"), s, &msg(s, 7002, i));
            id.sent(
                &cfg,
                t + 50_000,
                2,
                &link(u64::from(2 * i + 1), "127.0.0.1", "127.0.0.1"),
                s,
                &msg(s, 7005, 50 + i),
            );
        }
        let c = &id.conflicts()[&s];
        let addrs: Vec<String> = c.instances.keys().map(Instance::address).collect();
        assert_eq!(addrs, vec!["127.0.0.1:7002@17002".to_string(), "127.0.0.1:7005@17005".to_string()]);
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
