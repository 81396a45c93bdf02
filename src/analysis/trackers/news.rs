//! What learners heard, kept compact: each piece of news as numbers (the node,
//! who told it, the address, the capture), the tables those numbers index, and
//! news looked up by address. A learner holds news of every node and address it
//! heard of, so at hundreds of nodes this is most of the analysis' memory, and
//! looked up on every PING and gossip entry.

use crate::analysis::model::{Evidence, NodeId};
use crate::events::NodeAddr;
use crate::events::numbered::Numbered;
use hashbrown::HashTable;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};

/// What a learner heard about a node or an address.
#[derive(Clone, Debug)]
pub struct Heard {
    pub ts: i64,
    pub introducer: NodeId,
    pub node: NodeId,
    pub addr: NodeAddr,
    pub evidence: Evidence,
}

/// A [`Heard`] as kept (32 bytes, against 176): numbers from [`Names`].
#[derive(Clone, Copy, Debug)]
pub struct News {
    pub ts: i64,
    frame: u64,
    introducer: u32,
    pub node: u32,
    pub addr: u32,
    capture: u32,
}

/// The ids, addresses and capture names news refers to, numbered.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Every node id of gossip and news (the learners' tables are keyed
    /// by these numbers too).
    pub nodes: Numbered<NodeId>,
    pub addrs: Numbered<NodeAddr>,
    captures: Numbered<&'static str>,
}

impl Names {
    /// News heard at `ts` from `introducer` about `node` at the address
    /// numbered `addr`.
    pub fn news(&mut self, ts: i64, introducer: NodeId, node: NodeId, addr: u32, evd: &Evidence) -> News {
        News {
            ts,
            frame: evd.frame,
            introducer: self.nodes.number(&introducer),
            node: self.nodes.number(&node),
            addr,
            capture: self.captures.number(&evd.capture),
        }
    }

    /// `n` as it was heard.
    pub fn heard(&self, n: &News) -> Heard {
        Heard {
            ts: n.ts,
            introducer: *self.nodes.of(n.introducer),
            node: *self.nodes.of(n.node),
            addr: self.addrs.of(n.addr).clone(),
            evidence: Evidence { capture: self.captures.of(n.capture), frame: n.frame },
        }
    }

    /// Whether `n` is about node `id`.
    pub fn is_about(&self, n: &News, id: &NodeId) -> bool {
        self.nodes.of(n.node) == id
    }
}

/// News keyed by address (IP and bus port), which is the `addr` of what
/// was heard: one flat table of news hashed on that address, so an entry
/// costs no key of its own and no table per bus port (a loopback cluster
/// gives every node its own bus port: a table each, per learner, was most
/// of the analysis' memory at 100 nodes). Looked up by `&str`: a
/// steady-state message costs no allocation.
#[derive(Clone, Debug, Default)]
pub struct AddrMap(HashTable<News>);

fn addr_hash(ip: &str, cport: u16) -> u64 {
    let mut h = FxHasher::default();
    cport.hash(&mut h);
    ip.hash(&mut h);
    h.finish()
}

impl AddrMap {
    pub fn get(&self, names: &Names, ip: &str, cport: u16) -> Option<&News> {
        self.0.find(addr_hash(ip, cport), |n| {
            let a = names.addrs.of(n.addr);
            a.cport == cport && a.ip == ip
        })
    }

    /// Sets the news of `n.addr`, replacing what was there.
    pub fn insert(&mut self, names: &Names, n: News) {
        let a = names.addrs.of(n.addr);
        let (ip, cport) = (a.ip.as_str(), a.cport);
        let hash = addr_hash(ip, cport);
        let same = |o: &News| {
            let b = names.addrs.of(o.addr);
            b.cport == cport && b.ip == ip
        };
        match self.0.find_mut(hash, same) {
            Some(o) => *o = n,
            None => {
                self.0.insert_unique(hash, n, |o| {
                    let b = names.addrs.of(o.addr);
                    addr_hash(&b.ip, b.cport)
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str, port: u16, cport: u16) -> NodeAddr {
        NodeAddr { ip: ip.into(), port, cport, pport: 0 }
    }

    #[test]
    fn news_kept_as_numbers_reads_back_as_heard() {
        let mut names = Names::default();
        let (s, n) = (NodeId([b's'; 40]), NodeId([b'n'; 40]));
        let a = names.addrs.number(&addr("10.0.0.1", 7000, 17000));
        let evd = Evidence { capture: "h1.pcap", frame: 42 };
        let news = names.news(5, s, n, a, &evd);
        let h = names.heard(&news);
        assert_eq!(
            (h.ts, h.introducer, h.node, h.addr.to_string()),
            (5, s, n, addr("10.0.0.1", 7000, 17000).to_string())
        );
        assert_eq!((h.evidence.capture, h.evidence.frame), ("h1.pcap", 42));
        assert!(names.is_about(&news, &n) && !names.is_about(&news, &s));
    }

    #[test]
    fn news_by_address_is_keyed_by_ip_and_bus_port_only() {
        let mut names = Names::default();
        let evd = Evidence { capture: "c", frame: 1 };
        let (x, y) = (NodeId([b'x'; 40]), NodeId([b'y'; 40]));
        let mut m = AddrMap::default();
        let a1 = names.addrs.number(&addr("10.0.0.1", 7000, 17000));
        let a2 = names.addrs.number(&addr("10.0.0.1", 7001, 17000));
        let a3 = names.addrs.number(&addr("10.0.0.1", 7000, 17001));
        let first = names.news(1, x, x, a1, &evd);
        m.insert(&names, first);
        assert!(m.get(&names, "10.0.0.1", 17000).is_some_and(|h| names.is_about(h, &x)));
        assert!(m.get(&names, "10.0.0.1", 17001).is_none() && m.get(&names, "10.0.0.2", 17000).is_none());
        // Another data port, same IP and bus port: the same entry, replaced.
        let second = names.news(2, y, y, a2, &evd);
        m.insert(&names, second);
        assert!(m.get(&names, "10.0.0.1", 17000).is_some_and(|h| names.is_about(h, &y) && h.ts == 2));
        let third = names.news(3, x, x, a3, &evd);
        m.insert(&names, third);
        assert_eq!(m.0.len(), 2);
    }
}
