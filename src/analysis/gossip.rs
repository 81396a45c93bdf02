//! Knowledge from gossip: what each node heard about other nodes and
//! addresses (and from whom), where it expects a node because of that
//! node's own PINGs, each node's own view of its peers, FAIL and UPDATE
//! messages (`node_failed`, `update_message`). Imports: `model`, `events`,
//! `clusterbus` flags.

use super::model::{Evidence, Finding, FindingKind, NodeId};
use super::retention::Findings;
use crate::clusterbus::NodeFlags;
use crate::events::{BusMessage, Gossip, NodeAddr};
use hashbrown::HashTable;
use rustc_hash::{FxHashMap as HashMap, FxHasher};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// A FAIL about the same node is reported again only after this long.
const FAIL_REPORT_INTERVAL_US: i64 = 60_000_000;

/// What a learner heard about a node or an address.
#[derive(Clone, Debug)]
pub(super) struct Heard {
    pub ts: i64,
    pub introducer: NodeId,
    pub node: NodeId,
    pub addr: NodeAddr,
    pub evidence: Evidence,
}

/// A peer as a node gossips it: address, flags, when.
pub(super) type Peer = (NodeAddr, u16, i64);

/// News keyed by address (IP and bus port), which is the `addr` of what
/// was heard: one flat table of `Heard` values hashed on that address, so
/// an entry costs no key of its own and no table per bus port (a
/// loopback cluster gives every node its own bus port: a table each, per
/// learner, was most of the analysis' memory at 100 nodes). Looked up by
/// `&str`: a steady-state message costs no allocation.
#[derive(Clone, Default)]
struct AddrMap(HashTable<Heard>);

impl std::fmt::Debug for AddrMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

fn addr_hash(ip: &str, cport: u16) -> u64 {
    let mut h = FxHasher::default();
    cport.hash(&mut h);
    ip.hash(&mut h);
    h.finish()
}

impl AddrMap {
    fn get(&self, ip: &str, cport: u16) -> Option<&Heard> {
        self.0.find(addr_hash(ip, cport), |h| h.addr.cport == cport && h.addr.ip == ip)
    }

    /// Sets the news of `h.addr`, replacing what was there.
    fn insert(&mut self, h: Heard) {
        let (ip, cport) = (h.addr.ip.as_str(), h.addr.cport);
        let hash = addr_hash(ip, cport);
        match self.0.find_mut(hash, |o| o.addr.cport == cport && o.addr.ip == ip) {
            Some(o) => *o = h,
            None => {
                self.0.insert_unique(hash, h, |o| addr_hash(&o.addr.ip, o.addr.cport));
            }
        }
    }
}

/// Per-learner memory.
#[derive(Clone, Debug, Default)]
struct Learner {
    heard_node: HashMap<NodeId, Heard>,
    heard_addr: AddrMap,
    /// Addresses the learner moved a node to because of that node's own
    /// PINGs (TCP source address); used only to spot who answers there.
    expected_addr: AddrMap,
    /// The learner's own view of peers (from its gossip).
    peers: HashMap<NodeId, Peer>,
    /// Gossip entries it sent (all messages).
    entries_sent: u64,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Knowledge {
    learners: HashMap<NodeId, Learner>,
    /// First FAIL about each node.
    fail_times: BTreeMap<NodeId, i64>,
    failed_reported: BTreeMap<NodeId, i64>,
    /// (sender, owner) → (first ts, count, first evidence).
    updates: BTreeMap<(NodeId, NodeId), (i64, u64, Evidence, i64)>,
    /// FAIL messages about each node: (count, last ts).
    fails: BTreeMap<NodeId, (u64, i64)>,
    /// Node → how its address changed in others' views.
    moves: BTreeMap<NodeId, Moves>,
}

/// A node's address changing in its peers' gossip.
#[derive(Clone, Debug, Default)]
pub(super) struct Moves {
    pub count: u64,
    /// (learner, from, to, ts, evidence) of the first few.
    pub first: Vec<(NodeId, String, String, i64, Evidence)>,
}

/// Address changes kept per node as examples.
const MOVE_EXAMPLES: usize = 4;

impl Knowledge {
    /// What sender `s` shows it knows by sending `m`: its gossip (recorded
    /// as its view of peers), its master, the FAIL or UPDATE subject.
    /// Whether the capture has shown enough of `n`'s gossip that every
    /// node it knew was named about five times on average (gossip picks
    /// entries at random): a node it never named was not known to it.
    pub fn watched_long(&self, n: &NodeId) -> bool {
        self.learners.get(n).is_some_and(|l| l.entries_sent >= 5 * (l.peers.len().max(3) as u64))
    }

    /// Puts the nodes shown in `shown` (emptied first: a buffer the caller
    /// reuses, so a message costs no allocation).
    pub fn shown(
        &mut self,
        ts: i64,
        s: NodeId,
        m: &BusMessage,
        evd: &Evidence,
        findings: &mut Findings,
        shown: &mut Vec<NodeId>,
    ) {
        shown.clear();
        shown.extend(m.gossip.iter().filter(|g| g.flags & NodeFlags::NOADDR == 0).map(|g| g.node));
        shown.extend(m.replicaof);
        let l = self.learners.entry(s).or_default();
        l.entries_sent += m.gossip.len() as u64;
        for g in &m.gossip {
            match l.peers.get_mut(&g.node) {
                Some(p) if p.0 == g.addr => {
                    p.1 = g.flags;
                    p.2 = ts;
                }
                Some(p) => {
                    // A peer moved in s's view (real moves are rare; an id
                    // claimed from two addresses flaps).
                    let mv = self.moves.entry(g.node).or_default();
                    mv.count += 1;
                    if mv.first.len() < MOVE_EXAMPLES {
                        mv.first.push((s, p.0.to_string(), g.addr.to_string(), ts, evd.clone()));
                    }
                    *p = (g.addr.clone(), g.flags, ts);
                }
                None => {
                    l.peers.insert(g.node, (g.addr.clone(), g.flags, ts));
                }
            }
        }
        if let Some(f) = m.fail_node {
            shown.push(f);
            self.fail_times.entry(f).or_insert(ts);
            let n = self.fails.entry(f).or_insert((0, ts));
            n.0 += 1;
            n.1 = ts;
            let last = self.failed_reported.get(&f).copied();
            if last.is_none_or(|t| ts - t > FAIL_REPORT_INTERVAL_US) {
                self.failed_reported.insert(f, ts);
                findings.push(Finding::about(
                    FindingKind::NodeFailed,
                    ts,
                    vec![f, s],
                    format!("{} declared FAIL (first FAIL message from {})", f.short(), s.short()),
                    vec![evd.clone()],
                ));
            }
        }
        if let Some((owner, _, _)) = &m.update {
            shown.push(*owner);
            let u = self.updates.entry((s, *owner)).or_insert((ts, 0, evd.clone(), ts));
            u.1 += 1;
            u.3 = ts;
        }
    }

    /// A PING from `s` on its own connection moves `s`'s address in `r`'s
    /// table to `addr` (rule 9f): `r` will dial it expecting `s`. The
    /// latest node to claim an address wins, as in the server's table.
    pub fn expect_from_ping(&mut self, r: NodeId, s: NodeId, addr: NodeAddr, ts: i64, evd: &Evidence) {
        let l = self.learners.entry(r).or_default();
        if l.expected_addr.get(&addr.ip, addr.cport).is_none_or(|h| h.node != s) {
            l.expected_addr.insert(Heard { ts, introducer: s, node: s, addr, evidence: evd.clone() });
        }
    }

    /// `r` received gossip from a sender it knows: first news of each node
    /// and each address.
    pub fn hear(&mut self, r: NodeId, s: NodeId, gossip: &[Gossip], ts: i64, evd: &Evidence) {
        let l = self.learners.entry(r).or_default();
        for g in gossip {
            if g.node == r || g.flags & NodeFlags::NOADDR != 0 {
                continue;
            }
            let first = l.heard_node.get(&g.node);
            // The node's first address was news when first heard: no
            // address lookup for a node gossiped where it was first heard.
            if first.is_some_and(|h| h.addr.cport == g.addr.cport && h.addr.ip == g.addr.ip) {
                continue;
            }
            let new_node = first.is_none();
            let new_addr = l.heard_addr.get(&g.addr.ip, g.addr.cport).is_none();
            if new_node || new_addr {
                let h = Heard { ts, introducer: s, node: g.node, addr: g.addr.clone(), evidence: evd.clone() };
                if new_addr {
                    l.heard_addr.insert(h.clone());
                }
                if new_node {
                    l.heard_node.insert(g.node, h);
                }
            }
        }
    }

    /// What `l` first heard about node `n`.
    pub fn heard_node(&self, l: &NodeId, n: &NodeId) -> Option<&Heard> {
        self.learners.get(l)?.heard_node.get(n)
    }

    /// What `l` first heard was at `ip`, bus port `cport`.
    pub fn heard_addr(&self, l: &NodeId, ip: &str, cport: u16) -> Option<&Heard> {
        self.learners.get(l)?.heard_addr.get(ip, cport)
    }

    /// Which node `l` expects at `ip`, bus port `cport`, because of that
    /// node's PINGs.
    pub fn expected_addr(&self, l: &NodeId, ip: &str, cport: u16) -> Option<&Heard> {
        self.learners.get(l)?.expected_addr.get(ip, cport)
    }

    /// `l`'s own view of its peers.
    pub fn peers(&self, l: &NodeId) -> Option<&HashMap<NodeId, Peer>> {
        self.learners.get(l).map(|x| &x.peers)
    }

    /// A FAIL about `n` was seen.
    pub fn has_failed(&self, n: &NodeId) -> bool {
        self.fail_times.contains_key(n)
    }

    /// When the first FAIL about `n` was seen.
    pub fn failed_at(&self, n: &NodeId) -> Option<i64> {
        self.fail_times.get(n).copied()
    }

    /// FAIL messages about `n`: (count, last ts).
    pub fn fail_stats(&self, n: &NodeId) -> Option<(u64, i64)> {
        self.fails.get(n).copied()
    }

    /// How `n`'s address changed in its peers' views.
    pub fn moves(&self, n: &NodeId) -> Option<&Moves> {
        self.moves.get(n)
    }

    /// One `update_message` finding per (sender, owner).
    pub fn update_findings(&self, out: &mut Vec<Finding>) {
        for ((s, owner), (ts, n, evd, last)) in &self.updates {
            out.push(
                Finding::about(
                    FindingKind::UpdateMessage,
                    *ts,
                    vec![*s, *owner],
                    format!("{} sent {n} UPDATE message(s) describing {}", s.short(), owner.short()),
                    vec![evd.clone()],
                )
                .occurring(*n, *last),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn gossip(node: NodeId, ip: &str, flags: u16) -> Gossip {
        Gossip {
            node,
            addr: NodeAddr { ip: ip.into(), port: 7000, cport: 17000, pport: 0 },
            flags,
            ping_sent: 0,
            pong_received: 0,
        }
    }

    #[test]
    fn first_news_of_a_node_and_of_an_address_are_kept() {
        let (r, s, n, m) = (id(b'r'), id(b's'), id(b'n'), id(b'm'));
        let evd = Evidence { capture: "c".into(), frame: 1 };
        let mut k = Knowledge::default();
        k.hear(r, s, &[gossip(n, "10.0.0.1", 0), gossip(r, "10.0.0.9", 0)], 10, &evd);
        k.hear(r, s, &[gossip(m, "10.0.0.1", 0), gossip(n, "10.0.0.2", NodeFlags::NOADDR)], 20, &evd);
        assert_eq!(k.heard_node(&r, &n).map(|h| h.ts), Some(10));
        assert_eq!(k.heard_addr(&r, "10.0.0.1", 17000).map(|h| h.node), Some(n), "first news of the address wins");
        assert_eq!(k.heard_node(&r, &m).map(|h| h.addr.ip.as_str()), Some("10.0.0.1"));
        assert!(k.heard_node(&r, &r).is_none(), "a node does not learn itself");
        assert!(k.heard_addr(&r, "10.0.0.2", 17000).is_none(), "noaddr entries teach nothing");
    }
}
