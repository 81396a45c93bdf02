//! The rules that keep each node's table (`table`) as the servers do: what
//! a node's own message shows (its header, the PING it sent on its link, its
//! gossip, a FAIL it broadcast) and what a message that reached it changes
//! (answers on its links and sender mismatches §9d/§9e, address moves §9f,
//! roles and slot claims §9i, PONG times, FAIL and UPDATE, heard gossip), plus
//! links closing.

use super::gossip;
use super::table::{NodeTable, OutLink, TableEntry};
use crate::analysis::model::NodeId;
use crate::analysis::trackers::nodes::Sent;
use crate::clusterbus::{MessageType, NodeFlags};
use crate::events::{BusMessage, Link, NodeAddr};
use rustc_hash::FxHashMap as HashMap;

/// Every viewer's table.
#[derive(Clone, Debug, Default)]
pub struct NodeTables {
    viewers: HashMap<NodeId, NodeTable>,
    /// The node timeout as the capture shows it: the shortest time from a
    /// PING to the first gossip of its viewer calling the node `fail?`.
    timeout_ms: Option<i64>,
}

/// ms from µs.
fn ms(ts_us: i64) -> i64 {
    ts_us.div_euclid(1000)
}

impl NodeTables {
    pub fn table(&self, v: &NodeId) -> Option<&NodeTable> {
        self.viewers.get(v)
    }

    /// Whether `e` is `fail?` at `at_ms`: its viewer said so, or a PING has
    /// waited longer than the node timeout the capture showed.
    /// (Timeouts stop once a node is noaddr: its PING is then no longer
    /// watched.)
    pub fn timed_out(&self, e: &TableEntry, at_ms: i64) -> bool {
        let until = if e.flags & NodeFlags::NOADDR != 0 { e.noaddr_ms } else { at_ms };
        e.flags & NodeFlags::PFAIL != 0
            || (e.flags & NodeFlags::FAIL == 0
                && e.ping_sent_ms != 0
                && self.timeout_ms.is_some_and(|t| until - e.ping_sent_ms > t))
    }

    /// What `v`'s own message shows about its table: its own header, the
    /// PING it sent on its link, its gossip, a FAIL it broadcast.
    pub fn sent(&mut self, on: &Sent<'_>, m: &BusMessage) {
        let v = on.sender;
        let now = ms(on.ts);
        let t = self.viewers.entry(v).or_default();
        t.announces |= !m.announced.ip.is_empty();
        t.header_facts(v, m);
        t.header_claim(v, m);
        if on.is_opener {
            t.dialled = true;
            let key = (on.link.capture, on.link.conn_id);
            if !t.links.contains_key(&key) {
                let dst = (on.link.dst.ip.to_string(), on.link.dst.port);
                let node = t.node_at(&dst.0, dst.1);
                let meet = m.msg_type == MessageType::MEET && node.is_none();
                t.links.insert(key, OutLink { node, dst, meet, dead: false });
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
        self.timeout_ms = gossip::own_gossip(t, v, m, now, self.timeout_ms);
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
    pub fn received(&mut self, on: &Sent<'_>, r: NodeId, m: &BusMessage, known: bool) {
        let s = on.sender;
        let now = ms(on.ts);
        let t = self.viewers.entry(r).or_default();
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
                v.insert(OutLink { node: Some(s), dst, meet: false, dead: false });
                t.dialled = true;
            }
            // On r's own link: the answer names the link's node (§9d), or
            // another node answered there (§9e: noaddr, link closed).
            match t.links.get(&key).map(|l| l.node) {
                Some(None) => {
                    if let Some(l) = t.links.get_mut(&key) {
                        l.node = Some(s);
                        l.meet = false;
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
                Some(Some(n)) if n != s && ping_like => {
                    let e = t.entry(n);
                    e.addr = Some(NodeAddr::default());
                    e.flags |= NodeFlags::NOADDR;
                    e.noaddr_ms = now;
                    // Its link is closed (every capture's copy of it).
                    for l in t.links.values_mut().filter(|l| l.node == Some(n)) {
                        (l.node, l.meet, l.dead) = (None, false, true);
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
            let e = t.entry(s);
            e.addr = Some(NodeAddr {
                ip: src_ip.clone(),
                port: m.announced.port,
                cport: m.announced.cport,
                pport: m.announced.pport,
            });
        }
        let answer = !on.is_opener && t.links.get(&key).is_some_and(|l| l.node == Some(s));
        if !known && !answer {
            return;
        }
        t.header_facts(s, m);
        t.header_claim(s, m);
        // A PING on the sender's own link moves it to the TCP source (or
        // myip) and the header ports (§9f).
        if m.msg_type == MessageType::PING && on.is_opener {
            let a = NodeAddr { ip: src_ip, port: m.announced.port, cport: m.announced.cport, pport: m.announced.pport };
            let e = t.entry(s);
            if e.addr.as_ref().is_none_or(|x| x.ip != a.ip || x.port != a.port || x.cport != a.cport) {
                e.addr = Some(a);
                e.flags &= !NodeFlags::NOADDR;
                t.links.retain(|_, l| l.node != Some(s));
            }
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
        if let Some(f) = m.fail_node
            && f != r
        {
            let e = t.entry(f);
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
        gossip::heard(t, r, s, m, now);
    }

    /// One direction of a connection ended: the link is gone.
    pub fn closed(&mut self, link: &Link) {
        for t in self.viewers.values_mut() {
            t.links.remove(&(link.capture, link.conn_id));
        }
    }
}
