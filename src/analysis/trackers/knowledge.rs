//! Knowledge from gossip: what each node heard about other nodes and addresses
//! (and from whom), where it expects a node because of that node's own PINGs,
//! each node's own view of its peers, FAIL and UPDATE messages (`node_failed`,
//! `update_message`).

pub use super::news::Heard;
use super::news::{AddrMap, Names, News};
use super::retention::KeptFindings;
use super::silence::{PeerQuiet, Silence};
use crate::analysis::model::{Evidence, Finding, FindingKind, Flapping, NodeId, add_flap};
use crate::clusterbus::NodeFlags;
use crate::events::numbered::{EntryNumbers, WireNumbers};
use crate::events::{BusMessage, Gossip, NodeAddr};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// A FAIL about the same node is reported again only after this long.
const FAIL_REPORT_INTERVAL_US: i64 = 60_000_000;

/// A peer as a node gossips it: its address (numbered), flags, when;
/// where it was first gossiped failed at that address (kept on the
/// change only: no cost per entry).
#[derive(Clone, Debug)]
struct Peer {
    ts: i64,
    addr: u32,
    flags: u16,
    /// Boxed: rare, and a learner's entry for a peer stays 64 bytes
    /// (read for every gossip entry: 96 bytes unboxed).
    failed_since: Option<Box<(i64, Evidence)>>,
    /// How unlikely the learner's silence about it has become.
    quiet: PeerQuiet,
    /// When the learner said it forgot this peer (a forgotten-node
    /// extension, Redis 7.0+ / Valkey).
    forgotten_at: Option<i64>,
}

impl Peer {
    fn new(ts: i64, addr: u32, flags: u16, quiet: PeerQuiet) -> Self {
        Peer { ts, addr, flags, failed_since: None, quiet, forgotten_at: None }
    }
}

/// How a node last gossiped a peer: address, flags, when, and since when
/// (with evidence) it has listed it failed at that address.
pub struct PeerSeen<'a> {
    pub addr: &'a NodeAddr,
    pub flags: u16,
    pub ts: i64,
    pub failed_since: Option<&'a (i64, Evidence)>,
}

/// A learner's view of its peers ([`Knowledge::peers_of`]).
pub struct PeersOf<'a> {
    knowledge: &'a Knowledge,
    learner: &'a Learner,
}

impl<'a> PeersOf<'a> {
    /// How the learner last gossiped the node numbered `n`
    /// ([`Knowledge::node_number`]; `None`: a node never numbered).
    pub fn seen(&self, n: Option<u32>) -> Option<PeerSeen<'a>> {
        let p = self.learner.peers.get(&n?)?;
        Some(PeerSeen {
            addr: self.knowledge.names.addrs.of(p.addr),
            flags: p.flags,
            ts: p.ts,
            failed_since: p.failed_since.as_deref(),
        })
    }
}

/// The numbers of a message's gossip entries, (node, address) each, in
/// the message's order ([`Knowledge::number`]; a buffer the caller
/// reuses).
pub type GossipNumbers = Vec<(u32, u32)>;

/// Per-learner memory.
#[derive(Clone, Debug, Default)]
struct Learner {
    /// Node number → (number of the address it was first heard at, index
    /// in `heard`).
    heard_node: HashMap<u32, (u32, u32)>,
    /// First news of each node, in the order heard.
    heard: Vec<News>,
    heard_addr: AddrMap,
    /// Addresses the learner moved a node to because of that node's own
    /// PINGs (TCP source address); used only to spot who answers there.
    expected_addr: AddrMap,
    /// The learner's own view of peers (from its gossip), by node number.
    peers: HashMap<u32, Peer>,
    /// Gossip entries it sent (all messages).
    entries_sent: u64,
    /// How its gossip sections went (for silences about its peers).
    silence: Silence,
}

#[derive(Clone, Debug, Default)]
pub struct Knowledge {
    /// Node ids and addresses numbered (news, peers and the learners'
    /// tables refer to them by number).
    names: Names,
    /// How gossip entries get their numbers.
    entries: EntryNumbers,
    /// By node number.
    learners: Vec<Learner>,
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
pub struct Moves {
    pub count: u64,
    /// (learner, from, to, ts, evidence) of the first few.
    pub first: Vec<(NodeId, String, String, i64, Evidence)>,
    /// When they happened, as episodes (bounded).
    pub episodes: Vec<Flapping>,
}

/// Address changes kept per node as examples.
const MOVE_EXAMPLES: usize = 4;

impl Knowledge {
    /// Numbers `gossip`'s entries into `out` (emptied first), for
    /// [`Knowledge::shown`] and [`Knowledge::hear`] of the same message
    /// (`wire`: the reading thread's numbers of them).
    pub fn number(&mut self, gossip: &[Gossip], wire: Option<WireNumbers<'_>>, out: &mut GossipNumbers) {
        self.entries.number(&mut self.names.nodes, &mut self.names.addrs, gossip, wire, out);
    }

    /// Whether `s`'s gossip skips the node it goes to ([`Silence::skips_receivers`]).
    pub fn skips_receivers(&self, s: &NodeId) -> bool {
        self.learner(s).is_some_and(|l| l.silence.skips_receivers())
    }

    /// `l`'s number, its memory made when new.
    fn learner_index(&mut self, l: NodeId) -> usize {
        let i = self.names.nodes.number(&l) as usize;
        if self.learners.len() <= i {
            self.learners.resize_with(i + 1, Learner::default);
        }
        i
    }

    fn learner(&self, l: &NodeId) -> Option<&Learner> {
        self.learners.get(self.names.nodes.get(l)? as usize)
    }

    /// Whether the capture has shown enough of `n`'s gossip that every
    /// node it knew was named about five times on average (gossip picks
    /// entries at random): a node it never named was not known to it.
    pub fn watched_long(&self, n: &NodeId) -> bool {
        self.learner(n).is_some_and(|l| l.entries_sent >= 5 * (l.peers.len().max(3) as u64))
    }

    /// What sender `s` shows it knows by sending `m` (its gossip numbered
    /// in `nums`): its gossip (recorded as its view of peers), its master,
    /// the FAIL or UPDATE subject. Puts the nodes shown in `shown`
    /// (emptied first: a buffer the caller reuses, so a message costs no
    /// allocation).
    #[allow(clippy::too_many_arguments)]
    pub fn shown(
        &mut self,
        ts: i64,
        s: NodeId,
        m: &BusMessage,
        nums: &[(u32, u32)],
        evd: &Evidence,
        findings: &mut KeptFindings,
        shown: &mut Vec<NodeId>,
        receiver: Option<NodeId>,
    ) {
        shown.clear();
        shown.extend(m.gossip.iter().filter(|g| g.flags & NodeFlags::NOADDR == 0).map(|g| g.node));
        shown.extend(m.replicaof);
        let i = self.learner_index(s);
        let l = &mut self.learners[i];
        l.entries_sent += m.gossip.len() as u64;
        l.silence.record(m, l.peers.len(), ts, receiver.filter(|r| *r != s));
        let now = l.silence.now();
        for &(n, _) in &m.forgotten {
            if let Some(p) = self.names.nodes.get(&n).and_then(|k| l.peers.get_mut(&k)) {
                p.forgotten_at.get_or_insert(ts);
            }
        }
        for (g, &(n, a)) in m.gossip.iter().zip(nums) {
            match l.peers.get_mut(&n) {
                Some(p) if p.addr == a => {
                    p.quiet.named(now);
                    p.forgotten_at = None;
                    let failed = g.flags & NodeFlags::FAIL != 0;
                    if !failed {
                        p.failed_since = None;
                    } else if p.failed_since.is_none() {
                        p.failed_since = Some(Box::new((ts, evd.clone())));
                    }
                    p.flags = g.flags;
                    p.ts = ts;
                }
                Some(p) => {
                    // A peer moved in s's view (real moves are rare; an id
                    // claimed from two addresses flaps).
                    let mv = self.moves.entry(g.node).or_default();
                    mv.count += 1;
                    add_flap(&mut mv.episodes, ts);
                    if mv.first.len() < MOVE_EXAMPLES {
                        mv.first.push((
                            s,
                            self.names.addrs.of(p.addr).to_string(),
                            g.addr.to_string(),
                            ts,
                            evd.clone(),
                        ));
                    }
                    *p = Peer::new(ts, a, g.flags, PeerQuiet::at(now));
                }
                None => {
                    l.peers.insert(n, Peer::new(ts, a, g.flags, PeerQuiet::at(now)));
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
        let i = self.learner_index(r);
        let (l, names) = (&mut self.learners[i], &mut self.names);
        if l.expected_addr.get(names, &addr.ip, addr.cport).is_none_or(|h| !names.is_about(h, &s)) {
            let a = names.addrs.number(&addr);
            let news = names.news(ts, s, s, a, evd);
            l.expected_addr.insert(names, news);
        }
    }

    /// `r` received gossip (numbered in `nums`) from a sender it knows:
    /// first news of each node and each address.
    pub fn hear(&mut self, r: NodeId, s: NodeId, gossip: &[Gossip], nums: &[(u32, u32)], ts: i64, evd: &Evidence) {
        let me = self.learner_index(r);
        let (l, names) = (&mut self.learners[me], &mut self.names);
        for (g, &(n, a)) in gossip.iter().zip(nums) {
            if n as usize == me || g.flags & NodeFlags::NOADDR != 0 {
                continue;
            }
            let first = l.heard_node.get(&n).copied();
            // The node's first address was news when first heard: no
            // address lookup for a node gossiped where it was first heard
            // (same IP and bus port).
            if let Some((fa, _)) = first {
                let f = names.addrs.of(fa);
                if fa == a || (f.cport == g.addr.cport && f.ip == g.addr.ip) {
                    continue;
                }
            }
            let new_node = first.is_none();
            let new_addr = l.heard_addr.get(names, &g.addr.ip, g.addr.cport).is_none();
            if new_node || new_addr {
                let news = names.news(ts, s, g.node, a, evd);
                if new_addr {
                    l.heard_addr.insert(names, news);
                }
                if new_node {
                    l.heard_node.insert(n, (a, l.heard.len() as u32));
                    l.heard.push(news);
                }
            }
        }
    }

    /// What `l` first heard about node `n`.
    pub fn heard_node(&self, l: &NodeId, n: &NodeId) -> Option<Heard> {
        let l = self.learner(l)?;
        let (_, i) = l.heard_node.get(&self.names.nodes.get(n)?)?;
        l.heard.get(*i as usize).map(|h| self.names.heard(h))
    }

    /// What `l` first heard was at `ip`, bus port `cport`.
    pub fn heard_addr(&self, l: &NodeId, ip: &str, cport: u16) -> Option<Heard> {
        self.learner(l)?.heard_addr.get(&self.names, ip, cport).map(|h| self.names.heard(h))
    }

    /// Which node `l` expects at `ip`, bus port `cport`, because of that
    /// node's PINGs.
    pub fn expected_addr(&self, l: &NodeId, ip: &str, cport: u16) -> Option<Heard> {
        self.learner(l)?.expected_addr.get(&self.names, ip, cport).map(|h| self.names.heard(h))
    }

    /// How `l` last gossiped `n`: address and flags.
    pub fn peer(&self, l: &NodeId, n: &NodeId) -> Option<(&NodeAddr, u16)> {
        let p = self.learner(l)?.peers.get(&self.names.nodes.get(n)?)?;
        Some((self.names.addrs.of(p.addr), p.flags))
    }

    /// How `l` last gossiped `n`, with when and since when failed.
    pub fn peer_seen(&self, l: &NodeId, n: &NodeId) -> Option<PeerSeen<'_>> {
        self.peers_of(l)?.seen(self.node_number(n))
    }

    /// `n`'s number here, for [`PeersOf::seen`] (every pair of nodes of a
    /// look asked: each id hashed once, not once per pair).
    pub fn node_number(&self, n: &NodeId) -> Option<u32> {
        self.names.nodes.get(n)
    }

    /// `l`'s own view of its peers, to ask about many nodes.
    pub fn peers_of(&self, l: &NodeId) -> Option<PeersOf<'_>> {
        Some(PeersOf { knowledge: self, learner: self.learner(l)? })
    }

    /// Whether `l` has stopped gossiping `n` by the end of what was seen
    /// of it: it said it forgot `n` (Redis 7.0+ / Valkey forgotten-node
    /// extension), or its messages since its last mention of `n` would
    /// have named `n` with near certainty had `n` still been in its table
    /// (gossip picks its entries at random among the peers it knows,
    /// [`Silence`]), by a margin over the longest silence about
    /// `n` it kept while it did know it (a node a server gossips rarely, as
    /// one with no link and no slots, keeps being listed). The time it
    /// stopped: the forgetting, else its last mention.
    ///
    /// `always_named`: whether the server would name `n` in every draw
    /// while it knew it (a node with slots: one with neither slots nor a
    /// link, as a dead replica, is skipped, so a long silence about it
    /// tells nothing; only a shrunken table does).
    pub fn stopped_gossiping(&self, l: &NodeId, n: &NodeId, always_named: bool) -> Option<i64> {
        let lr = self.learner(l)?;
        let p = lr.peers.get(&self.names.nodes.get(n)?)?;
        if let Some(t) = p.forgotten_at {
            return Some(t);
        }
        let named_since = lr.peers.values().filter(|q| q.ts > p.ts).count();
        lr.silence.gone_from_table(p.ts, &p.quiet, named_since, always_named).then_some(p.ts)
    }

    /// When `l` said it forgot `n` (forgotten-node extension), if it did
    /// and has not named it since.
    pub fn forgot(&self, l: &NodeId, n: &NodeId) -> Option<i64> {
        self.learner(l)?.peers.get(&self.names.nodes.get(n)?)?.forgotten_at
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
        let evd = Evidence { capture: "c", frame: 1 };
        let mut k = Knowledge::default();
        let hear = |k: &mut Knowledge, gossip: &[Gossip], ts| {
            let mut nums = GossipNumbers::new();
            k.number(gossip, None, &mut nums);
            k.hear(r, s, gossip, &nums, ts, &evd);
        };
        hear(&mut k, &[gossip(n, "10.0.0.1", 0), gossip(r, "10.0.0.9", 0)], 10);
        hear(&mut k, &[gossip(m, "10.0.0.1", 0), gossip(n, "10.0.0.2", NodeFlags::NOADDR)], 20);
        hear(&mut k, &[gossip(m, "10.0.0.3", 0)], 30);
        assert_eq!(k.heard_node(&r, &n).map(|h| h.ts), Some(10));
        assert_eq!(k.heard_addr(&r, "10.0.0.1", 17000).map(|h| h.node), Some(n), "first news of the address wins");
        assert_eq!(k.heard_node(&r, &m).map(|h| h.addr.ip.to_string()).as_deref(), Some("10.0.0.1"));
        assert!(k.heard_node(&r, &r).is_none(), "a node does not learn itself");
        assert!(k.heard_addr(&r, "10.0.0.2", 17000).is_none(), "noaddr entries teach nothing");
        assert_eq!(k.heard_node(&r, &m).map(|h| h.ts), Some(20), "a node's first news stays");
        assert_eq!(k.heard_addr(&r, "10.0.0.3", 17000).map(|h| (h.node, h.ts)), Some((m, 30)), "a new address is news");
    }
}
