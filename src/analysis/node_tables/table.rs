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
    /// Masters whose latest gossip said the node is failing.
    pub(super) reports: BTreeSet<NodeId>,
}

/// An outbound connection of the viewer (`node->link`).
#[derive(Clone, Debug)]
pub struct OutLink {
    /// The node it is the link of, once known.
    pub(super) node: Option<NodeId>,
    pub(super) dst: (String, u16),
    /// Opened with MEET to an address no known node had: a handshake.
    pub(super) meet: bool,
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
}

impl NodeTable {
    pub fn entry(&mut self, n: NodeId) -> &mut TableEntry {
        self.entries.entry(n).or_default()
    }

    pub fn get(&self, n: &NodeId) -> Option<&TableEntry> {
        self.entries.get(n)
    }

    /// Whether the viewer has an outbound link to `n` (`connected`);
    /// `None` when the capture never saw the viewer dial anyone.
    pub fn connected(&self, n: &NodeId) -> Option<bool> {
        self.dialled.then(|| self.links.values().any(|l| l.node == Some(*n)))
    }

    /// Addresses the viewer is handshaking with (MEET sent, no answer yet).
    pub fn handshakes(&self) -> Vec<(String, u16)> {
        let mut v: Vec<_> = self.links.values().filter(|l| l.meet && l.node.is_none()).map(|l| l.dst.clone()).collect();
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

    /// The viewer's own IP as it learned it (the address a MEET reached).
    pub fn my_ip(&self) -> Option<&str> {
        self.my_ip.as_deref()
    }
}
