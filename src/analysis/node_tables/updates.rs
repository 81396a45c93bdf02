//! The rules that keep each node's table (`table`) as the servers do: what
//! a node's own message shows (its header, the PING it sent on its link, its
//! gossip, a FAIL it broadcast) and what a message that reached it changes
//! (answers on its links and sender mismatches §9d/§9e, address moves §9f,
//! roles and slot claims §9i, PONG times, FAIL and UPDATE, heard gossip), plus
//! links closing.

use super::gossip;
use super::instances::{Instance, Instances};
use super::rules::Rules;
use super::table::{NodeTable, OutLink, Pending, TableEntry};
use crate::analysis::model::NodeId;
use crate::analysis::trackers::nodes::Sent;
use crate::clusterbus::{MessageType, NodeFlags};
use crate::events::{BusMessage, Link, NodeAddr};
use rustc_hash::FxHashMap as HashMap;

/// Every viewer's table (one per server instance).
#[derive(Clone, Debug, Default)]
pub struct NodeTables {
    viewers: HashMap<Instance, NodeTable>,
    instances: Instances,
    /// The messages each node took the gossip of (receiver, fingerprint)
    /// and when (ms): several captures' copies of one message are one
    /// message to the server (a second copy would take a pong time from
    /// gossip about a node the first copy added).
    heard: HashMap<(NodeId, u64), i64>,
    /// The node timeout as the capture shows it: the shortest time from a
    /// PING to the first gossip of its viewer calling the node `fail?`.
    timeout_ms: Option<i64>,
}

/// How far apart two captures' copies of one message can be (ms), and
/// how many messages are remembered before older ones are dropped.
const COPY_SPAN_MS: i64 = 10_000;
const HEARD_KEPT: usize = 1 << 14;

/// ms from µs.
fn ms(ts_us: i64) -> i64 {
    ts_us.div_euclid(1000)
}

impl NodeTables {
    pub fn table(&self, v: &Instance) -> Option<&NodeTable> {
        self.viewers.get(v)
    }

    /// The instance of `n` serving `port` (data or bus), or its latest.
    pub fn instance(&self, n: &NodeId, port: Option<u16>) -> Option<Instance> {
        self.instances.select(n, port)
    }

    /// Every instance of `n` the capture showed.
    pub fn instances_of(&self, n: &NodeId) -> &[Instance] {
        self.instances.all(n)
    }

    /// Whether `e` is `fail?` at `at_ms` ([`TableEntry::pfail_at`] with
    /// the node timeout the capture showed).
    pub fn timed_out(&self, e: &TableEntry, at_ms: i64) -> bool {
        e.pfail_at(at_ms, self.timeout_ms)
    }

    /// What `v`'s own message shows about its table: its own header, the
    /// PING it sent on its link, its gossip, a FAIL it broadcast.
    pub fn sent(&mut self, on: &Sent<'_>, m: &BusMessage, rules: Rules) {
        let v = on.sender;
        let now = ms(on.ts);
        let t = self.instances.sender(&mut self.viewers, on, m);
        t.announces |= !m.announced.ip.is_empty();
        let data = (on.link.src.ip.to_string(), m.announced.port);
        if !t.data_addrs.contains(&data) && t.data_addrs.len() < 8 {
            t.data_addrs.push(data);
        }
        t.header_facts(v, m);
        t.header_claim(v, m);
        // The gossip shows the table the node dialled with: taken before
        // the new link is given its node.
        let key = (on.link.capture, on.link.conn_id);
        let pinged = (on.is_opener && m.msg_type == MessageType::PING)
            .then(|| {
                t.links.get(&key).map_or_else(|| t.node_at(&on.link.dst.ip.to_string(), on.link.dst.port), |l| l.node)
            })
            .flatten();
        self.timeout_ms = gossip::own_gossip(t, v, m, now, self.timeout_ms, pinged);
        if !on.is_opener && m.msg_type == MessageType::PONG {
            // It answered its own handshake (it MEETs an address that is
            // its own): the handshake node is deleted with its link.
            if let Some(l) = t.links.get_mut(&key).filter(|l| l.handshake && l.node.is_none()) {
                (l.handshake, l.dead) = (false, true);
            }
        }
        if on.is_opener {
            t.dialled = true;
            if !t.links.contains_key(&key) {
                let dst = (on.link.dst.ip.to_string(), on.link.dst.port);
                let is_meet = m.msg_type == MessageType::MEET;
                let node = t.node_at(&dst.0, dst.1).and_then(|n| t.first_dial(n, is_meet));
                let node = node.filter(|_| !(is_meet && rules.meet_is_handshake));
                let pending = t.pending.iter().any(|p| p.addr.ip == dst.0.as_str() && p.addr.cport == dst.1);
                let handshake = node.is_none() && (is_meet || pending);
                t.links.insert(key, OutLink { node, dst, handshake, dead: false });
            }
            if m.msg_type == MessageType::PING
                && let Some(n) = t.links.get(&key).and_then(|l| l.node)
            {
                let e = t.entry(n);
                if e.ping_sent_ms == 0 {
                    e.ping_sent_ms = now;
                    e.direct_ms = now;
                    e.ping_direct_ms = now;
                }
            }
        }
        if let Some(f) = m.fail_node
            && f != v
        {
            let e = t.entry(f);
            e.flags = (e.flags & !NodeFlags::PFAIL) | NodeFlags::FAIL;
        }
    }

    /// `m` from `s` reached `r`: what `r`'s table makes of it. `known`:
    /// `r` knew `s` (servers take nothing but a MEET or an answer on their
    /// own link from a node they do not know).
    pub fn received(&mut self, on: &Sent<'_>, r: NodeId, m: &BusMessage, known: bool, rules: Rules) {
        let s = on.sender;
        let now = ms(on.ts);
        let t = self.viewers.entry(self.instances.receiver(on, r)).or_default();
        let key = (on.link.capture, on.link.conn_id);
        let src_ip = if m.announced.ip.is_empty() {
            crate::events::IpText::from(on.link.src.ip)
        } else {
            m.announced.ip.clone()
        };
        let is_pong = m.msg_type == MessageType::PONG;
        let ping_like = matches!(m.msg_type, MessageType::PING | MessageType::PONG | MessageType::MEET);
        if t.links.get(&key).is_some_and(|l| l.dead) {
            return;
        }
        if !on.is_opener {
            // A link opened before the capture: the answer names its node.
            if let std::collections::hash_map::Entry::Vacant(v) = t.links.entry(key) {
                let dst = (on.link.src.ip.to_string(), on.link.src.port);
                v.insert(OutLink { node: Some(s), dst, handshake: false, dead: false });
                t.dialled = true;
            }
            // On r's own link: the answer names the link's node (§9d), or
            // another node answered there (§9e: noaddr, link closed).
            match t.links.get(&key).map(|l| (l.node, l.handshake, l.dst.clone())) {
                Some((None, true, (ip, cport))) if ping_like => {
                    let made = t.take_pending(&ip, cport);
                    if t.entries.contains_key(&s) {
                        // A handshake answered by a node it knows (§9d 1,
                        // nodeUpdateAddressIfNeeded): that node takes the
                        // address it answered at, and the handshake node is
                        // deleted with this link; nothing else of the packet.
                        let a = NodeAddr {
                            ip: src_ip.clone(),
                            port: m.announced.port,
                            cport: if m.ver == 0 { m.announced.port.wrapping_add(10000) } else { m.announced.cport },
                            pport: m.announced.pport,
                        };
                        t.move_to(s, a, now);
                        if let Some(l) = t.links.get_mut(&key) {
                            (l.handshake, l.dead) = (false, true);
                        }
                        return;
                    }
                    // clusterRenameNode: the handshake node, at its own
                    // address, takes the answer's name.
                    if let Some(l) = t.links.get_mut(&key) {
                        (l.node, l.handshake) = (Some(s), false);
                    }
                    let addr = made.map_or_else(
                        || NodeAddr {
                            ip: on.link.src.ip.into(),
                            port: m.announced.port,
                            cport: on.link.src.port,
                            pport: m.announced.pport,
                        },
                        |p| p.addr,
                    );
                    t.entry(s).addr = Some(addr);
                }
                Some((None, false, _)) => {
                    if let Some(l) = t.links.get_mut(&key) {
                        l.node = Some(s);
                    }
                    let dst = on.link.src;
                    let e = t.entry(s);
                    if e.addr.is_none() {
                        e.addr = Some(NodeAddr {
                            ip: dst.ip.into(),
                            port: m.announced.port,
                            cport: dst.port,
                            pport: m.announced.pport,
                        });
                    }
                }
                Some((Some(n), _, _)) if n != s && ping_like => {
                    let e = t.entry(n);
                    if rules.sender_is_links_node && !m.head_only {
                        e.config_epoch = e.config_epoch.max(m.config_epoch);
                    }
                    e.addr = Some(NodeAddr::default());
                    e.flags |= NodeFlags::NOADDR;
                    e.noaddr_ms = now;
                    e.moved_ms = now;
                    // Its link is closed (every capture's copy of it).
                    for l in t.links.values_mut().filter(|l| l.node == Some(n)) {
                        (l.node, l.handshake, l.dead) = (None, false, true);
                    }
                    return;
                }
                _ => {}
            }
        }
        if m.msg_type == MessageType::MEET && !t.announces {
            t.my_ip = Some(on.link.dst.ip.to_string());
        }
        let in_table = t.entries.contains_key(&s);
        if !in_table && m.msg_type == MessageType::MEET && on.is_opener {
            // A MEET from a node it does not know makes a handshake node
            // at the MEET's source and header ports (§9b); the node enters
            // the table when its answer on the viewer's link renames it.
            let cport = if m.ver == 0 { m.announced.port.wrapping_add(10000) } else { m.announced.cport };
            let addr = NodeAddr { ip: src_ip.clone(), port: m.announced.port, cport, pport: m.announced.pport };
            if !t.pending.iter().any(|p| p.addr.ip == addr.ip && p.addr.cport == cport) {
                t.pending.push(Pending { addr, from: s });
            }
        }
        let answer = !on.is_opener && t.links.get(&key).is_some_and(|l| l.node == Some(s));
        // Known: in the table, or (a table older than the capture) known
        // before, unless it is still only a handshake node here.
        let known = in_table || (known && !t.pending.iter().any(|p| p.from == s) && !t.forgotten.contains_key(&s));
        if !known && !answer {
            return;
        }
        t.header_facts(s, m);
        t.header_claim(s, m);
        // A PING on the sender's own link moves it to the TCP source (or
        // myip) and the header ports (§9f).
        if m.msg_type == MessageType::PING && on.is_opener {
            let a = NodeAddr { ip: src_ip, port: m.announced.port, cport: m.announced.cport, pport: m.announced.pport };
            t.move_to(s, a, now);
        }
        if is_pong && !on.is_opener && t.links.get(&key).is_some_and(|l| l.node == Some(s)) {
            // Only a failed node's PONG asks whether it owns slots: the
            // answer scans the slot table.
            let failed = t.entries.get(&s).is_some_and(|e| e.flags & NodeFlags::FAIL != 0);
            let slotless = failed && !t.slots.owns_any(&s);
            let e = t.entry(s);
            e.pong_recv_ms = now;
            e.ping_sent_ms = 0;
            e.direct_ms = now;
            e.pong_direct_ms = now;
            // Answered: a later PING time the gossip shows is another one.
            e.ping_direct_ms = 0;
            if e.flags & NodeFlags::PFAIL != 0 {
                e.flags &= !NodeFlags::PFAIL;
            } else if e.flags & NodeFlags::FAIL != 0 && (e.flags & NodeFlags::SLAVE != 0 || slotless) {
                e.flags &= !NodeFlags::FAIL;
            }
        }
        // A FAIL about a node it does not know is ignored.
        if let Some(f) = m.fail_node
            && f != r
            && let Some(e) = t.entries.get_mut(&f)
        {
            e.flags = (e.flags & !NodeFlags::PFAIL) | NodeFlags::FAIL;
        }
        if let Some((n, epoch, slots)) = &m.update
            && t.entries.get(n).is_some_and(|e| e.config_epoch < *epoch)
        {
            t.claim(*n, *epoch, slots);
            let e = t.entry(*n);
            e.config_epoch = *epoch;
            if e.flags & NodeFlags::SLAVE != 0 {
                e.flags = (e.flags & !NodeFlags::SLAVE) | NodeFlags::MASTER;
                e.master = None;
            }
        }
        if self.heard.insert((r, m.fingerprint()), now).is_none() {
            gossip::heard(t, r, s, m, now, self.timeout_ms, rules);
        }
        // A peer's FORGOTTEN_NODE extension (Redis 7.2+, Valkey): the node
        // is deleted and kept out for the extension's TTL, unless it is
        // the receiver or its master (clusterProcessPingExt).
        let my_master = t.get(&r).and_then(|e| e.master);
        for (n, ttl) in &m.forgotten {
            if *n != r && Some(*n) != my_master && t.entries.contains_key(n) {
                let ttl_ms = i64::try_from(*ttl).unwrap_or(i64::MAX).saturating_mul(1000);
                t.forget_until(*n, now.saturating_add(ttl_ms));
            }
        }
        if self.heard.len() > HEARD_KEPT {
            self.heard.retain(|_, t| now - *t < COPY_SPAN_MS);
        }
    }

    /// A command a client sent to `link.dst` (a data port): `CLUSTER
    /// FORGET <id>` removes the node from that server's table.
    pub fn command(&mut self, ts: i64, link: &Link, args: &[String]) {
        let [cluster, forget, id] = args else { return };
        if !cluster.eq_ignore_ascii_case("cluster") || !forget.eq_ignore_ascii_case("forget") {
            return;
        }
        let Some(n) = self
            .viewers
            .values()
            .find_map(|t| t.entries.keys().find(|k| k.to_string().eq_ignore_ascii_case(id)).copied())
        else {
            return;
        };
        let at = (link.dst.ip.to_string(), link.dst.port);
        for t in self.viewers.values_mut().filter(|t| t.data_addrs.contains(&at)) {
            t.forget(n, ms(ts));
        }
    }

    /// One direction of a connection ended: the link is gone.
    pub fn closed(&mut self, link: &Link) {
        for t in self.viewers.values_mut() {
            t.links.remove(&(link.capture, link.conn_id));
        }
    }
}
