//! One node's own cluster table as far as the capture shows it: the
//! `clusterNode` fields `CLUSTER NODES` prints (address, flags, master, ping
//! sent / pong received, configEpoch, link, and the slot table), with the
//! queries `view` asks and the table-level steps the rules in
//! `updates` / `gossip` use. What the capture cannot show (the node
//! timeout that turns a late PONG into `fail?`, failure reports older than the
//! capture, a handshake node's random name) comes from the node's own gossip
//! when it shows it.

use super::slot_table::SlotTable;
use crate::analysis::model::NodeId;
use crate::clusterbus::NodeFlags;
use crate::events::{BusMessage, NodeAddr};
use rustc_hash::FxHashMap as HashMap;
use std::collections::{BTreeMap, BTreeSet};

/// The flags `CLUSTER NODES` prints (every generation); the others are
/// internal or wire-only.
pub const PRINTED_FLAGS: u16 = NodeFlags::MASTER
    | NodeFlags::SLAVE
    | NodeFlags::PFAIL
    | NodeFlags::FAIL
    | NodeFlags::MYSELF
    | NodeFlags::HANDSHAKE
    | NodeFlags::NOADDR
    | NodeFlags::NOFAILOVER;

/// One node in a viewer's table.
#[derive(Clone, Debug, Default)]
pub struct TableEntry {
    /// `ip`, `port`, `cport` as stored (empty and 0 once noaddr).
    pub addr: Option<NodeAddr>,
    /// Printed flags (no `myself`).
    pub flags: u16,
    pub master: Option<NodeId>,
    /// wire: configEpoch, the largest seen from the node or in an UPDATE.
    pub config_epoch: u64,
    /// The largest configEpoch it sent as a master (a replica's headers
    /// carry its master's): its own, as it prints itself before 6.0.
    pub own_epoch: u64,
    /// ms since the epoch; 0 when no PING is waiting for its PONG.
    pub ping_sent_ms: i64,
    pub pong_recv_ms: i64,
    pub hostname: Option<String>,
    /// When the capture last showed a PING sent to it or its PONG (ms):
    /// the viewer's gossip built before that moment must not undo it.
    pub(super) direct_ms: i64,
    /// The last PING sent and PONG received the capture showed (ms).
    pub(super) ping_direct_ms: i64,
    pub(super) pong_direct_ms: i64,
    /// When it became noaddr (ms).
    pub(super) noaddr_ms: i64,
    /// When a rule last moved its address or made it noaddr (ms): the
    /// viewer's gossip built before that (a PONG is built before the
    /// packet it answers is applied) must not undo it.
    pub(super) moved_ms: i64,
    /// Entered the table from gossip, by id, and not dialled yet: the
    /// viewer's first dial tells whether it really adds such nodes
    /// ([`NodeTable::adds_by_id`]).
    pub(super) gossip_added: bool,
    /// Masters whose latest gossip said the node is failing.
    pub(super) reports: BTreeSet<NodeId>,
}

impl TableEntry {
    /// `fail?` at `at_ms`: the flag is set, or (clusterCron) a PING has
    /// waited longer than the node timeout (`timeout`, as the capture
    /// showed it). Cron skips a noaddr node, so its wait stops counting
    /// while it is noaddr; a `fail?` set before stays (only a PONG clears
    /// it).
    pub fn pfail_at(&self, at_ms: i64, timeout: Option<i64>) -> bool {
        let until = if self.flags & NodeFlags::NOADDR != 0 { self.noaddr_ms } else { at_ms };
        self.flags & NodeFlags::PFAIL != 0
            || (self.flags & NodeFlags::FAIL == 0
                && self.ping_sent_ms != 0
                && timeout.is_some_and(|t| until - self.ping_sent_ms > t))
    }
}

/// An outbound connection of the viewer (`node->link`).
#[derive(Clone, Debug)]
pub struct OutLink {
    /// The node it is the link of, once known.
    pub(super) node: Option<NodeId>,
    pub(super) dst: (String, u16),
    /// The link of a handshake node (a MEET it sent, or a node that
    /// MEETed it, §9a/§9b): the answer renames it, or, from a node it
    /// knows, ends it (§9d).
    pub(super) handshake: bool,
    /// Closed by the viewer after another node answered there (§9e);
    /// other captures' copies of it carry nothing more.
    pub(super) dead: bool,
}

/// One viewer's table.
#[derive(Clone, Debug, Default)]
pub struct NodeTable {
    pub(super) entries: BTreeMap<NodeId, TableEntry>,
    pub(super) slots: SlotTable,
    /// (capture, connection) → the viewer's outbound links now open.
    pub(super) links: HashMap<(usize, u64), OutLink>,
    /// The capture saw the viewer dial at least once.
    pub(super) dialled: bool,
    /// Last claim applied per sender (slots, epoch): repeats are skipped.
    pub(super) claims: HashMap<NodeId, (Vec<(u16, u16)>, u64)>,
    /// Its own IP, from the local address of the MEETs it received (§9b),
    /// unless it announces one.
    pub(super) my_ip: Option<String>,
    pub(super) announces: bool,
    /// Whether the viewer adds gossiped unknown nodes by id (`Some(true)`)
    /// or handshakes their address (`Some(false)`), when its first dial
    /// to such a node showed it (MEET or PING) and the bytes could not.
    pub(super) adds_by_id: Option<bool>,
    /// Handshake nodes a MEET from an unknown node made (random names, at
    /// the MEET's source and header ports): the viewer dials them with
    /// PING, and the answer renames them (§9b, §9d).
    pub(super) pending: Vec<Pending>,
    /// Where it serves clients (ip, data port), from its own messages: a
    /// `CLUSTER FORGET` sent there is its.
    pub(super) data_addrs: Vec<(String, u16)>,
    /// Nodes an operator made it forget (`CLUSTER FORGET`, or a peer's
    /// FORGOTTEN_NODE extension), with until when (ms) gossip may not
    /// bring them back (clusterBlacklistAddNode).
    pub(super) forgotten: HashMap<NodeId, i64>,
}

/// A handshake node a MEET made.
#[derive(Clone, Debug)]
pub struct Pending {
    pub(super) addr: NodeAddr,
    /// The node whose MEET made it (its name is not known to the viewer).
    pub(super) from: NodeId,
}

impl NodeTable {
    pub fn entry(&mut self, n: NodeId) -> &mut TableEntry {
        self.entries.entry(n).or_default()
    }

    pub fn get(&self, n: &NodeId) -> Option<&TableEntry> {
        self.entries.get(n)
    }

    /// The table a server started from a copy of this one's `nodes.conf`
    /// begins with at `now`: the nodes, their flags, slots and epochs, no
    /// connection; a nonzero PING or PONG time loads as `now`
    /// (clusterLoadConfig).
    pub fn copied(&self, now: i64) -> NodeTable {
        let mut entries = self.entries.clone();
        for e in entries.values_mut() {
            e.ping_sent_ms = if e.ping_sent_ms != 0 { now } else { 0 };
            e.pong_recv_ms = if e.pong_recv_ms != 0 { now } else { 0 };
        }
        NodeTable {
            entries,
            slots: self.slots.clone(),
            claims: self.claims.clone(),
            my_ip: self.my_ip.clone(),
            announces: self.announces,
            adds_by_id: self.adds_by_id,
            forgotten: self.forgotten.clone(),
            ..NodeTable::default()
        }
    }

    /// Whether the viewer has an outbound link to `n` (`connected`);
    /// `None` when the capture never saw the viewer dial anyone.
    pub fn connected(&self, n: &NodeId) -> Option<bool> {
        self.dialled.then(|| self.links.values().any(|l| l.node == Some(*n)))
    }

    /// Addresses the viewer is handshaking with (MEET sent, no answer yet).
    pub fn handshakes(&self) -> Vec<(String, u16)> {
        let mut v: Vec<_> =
            self.links.values().filter(|l| l.handshake && l.node.is_none()).map(|l| l.dst.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// The slots the table gives `n`; `None` when it never learned any
    /// owner.
    pub fn slots_of(&self, n: &NodeId) -> Option<Vec<(u16, u16)>> {
        self.slots.slots_of(n)
    }

    /// `clusterUpdateSlotsConfigWith`, with the epochs of this table.
    pub fn claim(&mut self, n: NodeId, epoch: u64, ranges: &[(u16, u16)]) {
        let entries = &self.entries;
        self.slots.claim(n, epoch, ranges, |o| entries.get(o).map_or(0, |e| e.config_epoch));
    }

    /// Every slot of `n` becomes unowned.
    pub fn release(&mut self, n: &NodeId) {
        self.claims.remove(n);
        self.slots.release(n);
    }

    /// A node's own claim in its header (masters only), skipped when it
    /// repeats the last one applied.
    pub fn header_claim(&mut self, n: NodeId, m: &BusMessage) {
        if m.replicaof.is_some() || m.flags & NodeFlags::MASTER == 0 || m.slots.is_empty() {
            return;
        }
        if self.claims.get(&n).is_some_and(|(s, e)| *s == m.slots && *e == m.config_epoch) {
            return;
        }
        self.claims.insert(n, (m.slots.clone(), m.config_epoch));
        self.claim(n, m.config_epoch, &m.slots);
    }

    /// Role, master, nofailover and configEpoch from a node's own header.
    /// A master that says it is a replica loses its slots (§9i).
    pub fn header_facts(&mut self, n: NodeId, m: &BusMessage) {
        let was_master = self.entries.get(&n).is_some_and(|e| e.flags & NodeFlags::MASTER != 0);
        if was_master && (m.replicaof.is_some() || m.flags & NodeFlags::SLAVE != 0) {
            self.release(&n);
        }
        let e = self.entry(n);
        e.config_epoch = e.config_epoch.max(m.config_epoch);
        let role = match m.replicaof {
            Some(_) => NodeFlags::SLAVE,
            None if m.flags & NodeFlags::SLAVE != 0 => NodeFlags::SLAVE,
            None => NodeFlags::MASTER,
        };
        e.flags = (e.flags & !(NodeFlags::MASTER | NodeFlags::SLAVE | NodeFlags::NOFAILOVER))
            | role
            | (m.flags & NodeFlags::NOFAILOVER);
        if m.replicaof.is_some() || role == NodeFlags::MASTER {
            e.master = m.replicaof;
        }
        if role == NodeFlags::MASTER {
            e.own_epoch = e.own_epoch.max(m.config_epoch);
        }
        if m.hostname.is_some() {
            e.hostname = m.hostname.clone();
        }
    }

    /// The node of the viewer's table at `ip:cport` (the link's node).
    /// Two nodes at one address (one moved there by its PINGs through a
    /// NAT): the new link is the one of the node that has none.
    pub fn node_at(&self, ip: &str, cport: u16) -> Option<NodeId> {
        let mut at = self
            .entries
            .iter()
            .filter(|(_, e)| e.addr.as_ref().is_some_and(|a| a.ip == ip && a.cport == cport))
            .map(|(id, _)| *id);
        let first = at.next()?;
        let linked = |n: &NodeId| self.links.values().any(|l| l.node == Some(*n));
        Some(std::iter::once(first).chain(at).find(|n| !linked(n)).unwrap_or(first))
    }

    /// A rule moved `n` to `addr` at `now` (clears noaddr; the viewer's
    /// link to it is closed when the address changed).
    pub fn move_to(&mut self, n: NodeId, addr: NodeAddr, now: i64) {
        let e = self.entry(n);
        let same = e.addr.as_ref().is_some_and(|x| x.ip == addr.ip && x.port == addr.port && x.cport == addr.cport);
        if same && e.flags & NodeFlags::NOADDR == 0 {
            return;
        }
        e.addr = Some(addr);
        e.flags &= !NodeFlags::NOADDR;
        e.moved_ms = now;
        if !same {
            self.links.retain(|_, l| l.node != Some(n));
        }
    }

    /// The viewer's first dial to a node it took from gossip: a MEET shows
    /// that it handshakes gossiped addresses (the nodes it took by id
    /// were never in its table: dropped, and this link is a handshake), a
    /// PING that it adds them by id. Returns the link's node.
    pub fn first_dial(&mut self, n: NodeId, meet: bool) -> Option<NodeId> {
        if !self.entries.get(&n).is_some_and(|e| e.gossip_added) {
            return Some(n);
        }
        self.adds_by_id = Some(!meet);
        if !meet {
            self.entries.values_mut().for_each(|e| e.gossip_added = false);
            return Some(n);
        }
        let linked: Vec<NodeId> = self.links.values().filter_map(|l| l.node).collect();
        self.entries.retain(|id, e| !e.gossip_added || linked.contains(id));
        None
    }

    /// `CLUSTER FORGET n` at `now` (clusterDelNode): the node leaves the
    /// table with its slots and links, and gossip does not bring it back
    /// for a minute.
    pub fn forget(&mut self, n: NodeId, now: i64) {
        const BLACKLIST_MS: i64 = 60_000;
        self.forget_until(n, now + BLACKLIST_MS);
    }

    /// `n` deleted, kept out of the table until `until` (ms).
    pub fn forget_until(&mut self, n: NodeId, until: i64) {
        self.entries.remove(&n);
        self.release(&n);
        self.links.retain(|_, l| l.node != Some(n));
        self.forgotten.insert(n, until);
    }

    /// Whether an operator made it forget `n` (`CLUSTER FORGET`).
    pub fn forgot(&self, n: &NodeId) -> bool {
        self.forgotten.contains_key(n)
    }

    /// Whether gossip may add `n` at `now`: not while it is forgotten
    /// (the FORGET blacklist, clusterBlacklistAddNode).
    pub fn blacklisted(&self, n: &NodeId, now: i64) -> bool {
        self.forgotten.get(n).is_some_and(|until| now < *until)
    }

    /// The handshake node a MEET made at `ip:cport`, taken out.
    pub fn take_pending(&mut self, ip: &str, cport: u16) -> Option<Pending> {
        let i = self.pending.iter().position(|p| p.addr.ip == ip && p.addr.cport == cport)?;
        Some(self.pending.remove(i))
    }

    /// The viewer's own IP as it learned it (the address a MEET reached).
    pub fn my_ip(&self) -> Option<&str> {
        self.my_ip.as_deref()
    }
}
