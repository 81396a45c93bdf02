//! Values numbered in the order first met, so that the tables asked
//! about every message key and fill their entries by small numbers (the
//! analysis' per-learner tables), or send them as numbers (events between
//! threads, [`super::batch`]). Imports `events` node types.

use super::{IpText, NodeAddr, NodeId};
use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

/// Values numbered in the order first met (node ids and addresses in
/// gossip). The tables asked about every gossip entry (per learner) are
/// keyed and filled by numbers: small entries that stay in cache where entries
/// keyed by 40-byte ids, holding whole addresses, did not (at 100 nodes
/// they were most of the analysis' time).
#[derive(Clone, Debug)]
pub struct Numbered<T> {
    number: HashMap<T, u32>,
    list: Vec<T>,
}

impl<T> Default for Numbered<T> {
    fn default() -> Self {
        Numbered { number: HashMap::default(), list: Vec::new() }
    }
}

impl<T: Hash + Eq + Clone> Numbered<T> {
    pub fn number(&mut self, x: &T) -> u32 {
        if let Some(&i) = self.number.get(x) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(x.clone());
        self.number.insert(x.clone(), i);
        i
    }

    /// `x`'s number, if it has one.
    pub fn get(&self, x: &T) -> Option<u32> {
        self.number.get(x).copied()
    }

    pub fn of(&self, i: u32) -> &T {
        &self.list[i as usize]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The values numbered `from` and after, in number order.
    pub fn since(&self, from: usize) -> &[T] {
        &self.list[from.min(self.list.len())..]
    }

    /// Forgets every number (the next value is numbered 0).
    pub fn clear(&mut self) {
        self.number.clear();
        self.list.clear();
    }
}

/// Per node number, the number of the address last gossiped for it: most
/// gossip entries repeat it, so it is compared, not hashed.
#[derive(Clone, Debug, Default)]
pub struct LastAddr(Vec<u32>);

impl LastAddr {
    /// `node`'s number (numbered when new) and its last address's slot
    /// (`u32::MAX`: none yet).
    fn of(&mut self, nodes: &mut Numbered<NodeId>, node: &NodeId) -> (u32, &mut u32) {
        let n = nodes.number(node);
        let i = n as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, u32::MAX);
        }
        (n, &mut self.0[i])
    }

    /// A gossip entry's (node, address) numbers, numbering them when new.
    pub fn entry(
        &mut self,
        nodes: &mut Numbered<NodeId>,
        addrs: &mut Numbered<NodeAddr>,
        node: &NodeId,
        addr: &NodeAddr,
    ) -> (u32, u32) {
        let (n, last) = self.of(nodes, node);
        if *last == u32::MAX || addrs.of(*last) != addr {
            *last = addrs.number(addr);
        }
        (n, *last)
    }

    /// [`LastAddr::entry`] of a gossip entry as the wire has it: the
    /// address is compared with the node's last one as bytes, and made
    /// into a [`NodeAddr`] only when it differs.
    pub fn entry_wire(
        &mut self,
        nodes: &mut Numbered<NodeId>,
        addrs: &mut Numbered<NodeAddr>,
        node: &NodeId,
        ip: &[u8],
        ports: [u16; 3],
    ) -> (u32, u32) {
        let (n, last) = self.of(nodes, node);
        let same = *last != u32::MAX && {
            let a = addrs.of(*last);
            [a.port, a.cport, a.pport] == ports && a.ip.bytes() == ip && IpText::is_verbatim(ip)
        };
        if !same {
            let [port, cport, pport] = ports;
            *last = addrs.number(&NodeAddr { ip: IpText::from_wire(ip), port, cport, pport });
        }
        (n, *last)
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gossip entry from the wire gets the numbers its owned form gets,
    /// escaped bytes and changed ports included.
    #[test]
    fn a_wire_entry_is_numbered_as_its_owned_form() {
        let (mut nodes, mut addrs) = (Numbered::default(), Numbered::default());
        let (mut n2, mut a2) = (Numbered::default(), Numbered::default());
        let (mut wire, mut owned) = (LastAddr::default(), LastAddr::default());
        let ids = [NodeId([b'a'; 40]), NodeId([b'b'; 40])];
        let entries: [(&[u8], [u16; 3]); 7] = [
            (b"10.0.0.1", [7000, 17000, 0]),
            (b"10.0.0.1", [7000, 17000, 0]),
            (b"10.0.0.1", [7000, 17001, 0]),
            (b"a\\x00", [1, 2, 3]),
            (b"a\\x00", [1, 2, 3]),
            (b"a\x00", [1, 2, 3]),
            (b"a\x00", [1, 2, 3]),
        ];
        for (k, (ip, [port, cport, pport])) in entries.iter().enumerate() {
            let node = &ids[k % 2];
            let addr = NodeAddr { ip: IpText::from_wire(ip), port: *port, cport: *cport, pport: *pport };
            let got = wire.entry_wire(&mut nodes, &mut addrs, node, ip, [*port, *cport, *pport]);
            let want = owned.entry(&mut n2, &mut a2, node, &addr);
            assert_eq!(got, want, "entry {k}");
            assert_eq!(*addrs.of(got.1), addr, "entry {k}");
        }
    }

    #[test]
    fn a_value_keeps_the_number_it_was_first_given() {
        let mut n = Numbered::default();
        assert_eq!((n.number(&"a"), n.number(&"b"), n.number(&"a")), (0, 1, 0));
        assert_eq!((*n.of(0), *n.of(1)), ("a", "b"));
        assert_eq!((n.get(&"b"), n.get(&"c")), (Some(1), None));
        assert_eq!((n.len(), n.since(1), n.since(5)), (2, &["b"][..], &[][..]));
        n.clear();
        assert_eq!((n.number(&"b"), n.len()), (0, 1));
    }

    #[test]
    fn an_entry_keeps_its_node_s_last_address_and_numbers_a_new_one() {
        let (mut nodes, mut addrs, mut last) = (Numbered::default(), Numbered::default(), LastAddr::default());
        let a = |port| NodeAddr { ip: "10.0.0.1".into(), port, cport: port + 10000, pport: 0 };
        let (x, y) = (NodeId([b'x'; 40]), NodeId([b'y'; 40]));
        assert_eq!(last.entry(&mut nodes, &mut addrs, &x, &a(7000)), (0, 0));
        assert_eq!(last.entry(&mut nodes, &mut addrs, &y, &a(7000)), (1, 0));
        assert_eq!(last.entry(&mut nodes, &mut addrs, &x, &a(7001)), (0, 1));
        assert_eq!(last.entry(&mut nodes, &mut addrs, &y, &a(7001)), (1, 1));
        assert_eq!(last.entry(&mut nodes, &mut addrs, &x, &a(7000)), (0, 0));
    }
}
