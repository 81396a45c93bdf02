//! Values numbered in the order first met, so that the tables asked
//! about every message key and fill their entries by small numbers (the
//! analysis' per-learner tables), or send them as numbers (events between
//! threads, `run::batch`). Imports `events` node types.

use super::{Gossip, IpText, NodeAddr, NodeId};
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

/// A message's gossip entries as the reading thread that packed it
/// numbered them: (node, address) per entry, in that thread's numbering
/// `source` (a numbering that started over is a new source). The analysis
/// turns them into its own numbers by table (one load per entry) instead
/// of hashing every entry's id and address again.
#[derive(Clone, Copy, Debug)]
pub struct WireNumbers<'a> {
    pub source: WireSource,
    pub gossip: &'a [(u32, u32)],
}

/// A reading thread's numbering: which stream, and how many times its
/// numbering started over.
#[derive(Clone, Copy, Debug)]
pub struct WireSource {
    pub stream: u64,
    pub generation: u64,
}

/// How a gossip entry gets its (node, address) numbers: by the reading
/// thread's numbers of it when given (`WireTables`), else by its node's
/// last address ([`LastAddr`]). Either way the same numbers.
#[derive(Clone, Debug, Default)]
pub struct EntryNumbers {
    last: LastAddr,
    wire: WireTables,
}

impl EntryNumbers {
    /// The numbers of `gossip`'s entries into `out` (emptied first).
    pub fn number(
        &mut self,
        nodes: &mut Numbered<NodeId>,
        addrs: &mut Numbered<NodeAddr>,
        gossip: &[Gossip],
        wire: Option<WireNumbers<'_>>,
        out: &mut Vec<(u32, u32)>,
    ) {
        out.clear();
        match wire.filter(|w| w.gossip.len() == gossip.len()) {
            Some(w) => self.wire.number(w, gossip, nodes, addrs, out),
            None => out.extend(gossip.iter().map(|g| self.last.entry(nodes, addrs, &g.node, &g.addr))),
        }
    }
}

/// Something kept per reading thread's numbering: one `T` per stream,
/// made anew when its numbering starts over.
#[derive(Clone, Debug, Default)]
pub struct PerSource<T>(HashMap<u64, (u64, T)>);

impl<T: Default> PerSource<T> {
    /// The `T` of `source`'s numbering.
    pub fn of(&mut self, source: WireSource) -> &mut T {
        let (generation, t) = self.0.entry(source.stream).or_default();
        if *generation != source.generation {
            (*generation, *t) = (source.generation, T::default());
        }
        t
    }
}

/// The reading threads' numberings as another numbering's numbers: per
/// stream, a table from each of its node and address numbers to ours,
/// filled as they are first met (a stream that started over starts a new
/// table). Numbers are given in the order [`LastAddr::entry`] gives them,
/// so both ways number alike.
#[derive(Clone, Debug, Default)]
struct WireTables(PerSource<WireTable>);

#[derive(Clone, Debug, Default)]
struct WireTable {
    nodes: Vec<u32>,
    addrs: Vec<u32>,
}

impl WireTables {
    /// Our numbers of `gossip`'s entries into `out` (appended), `w`
    /// numbering the same entries.
    fn number(
        &mut self,
        w: WireNumbers<'_>,
        gossip: &[Gossip],
        nodes: &mut Numbered<NodeId>,
        addrs: &mut Numbered<NodeAddr>,
        out: &mut Vec<(u32, u32)>,
    ) {
        let t = self.0.of(w.source);
        for (g, &(n, a)) in gossip.iter().zip(w.gossip) {
            let n = translate(&mut t.nodes, n, || nodes.number(&g.node));
            let a = translate(&mut t.addrs, a, || addrs.number(&g.addr));
            out.push((n, a));
        }
    }
}

/// `table[i]`, made by `ours` the first time.
fn translate(table: &mut Vec<u32>, i: u32, ours: impl FnOnce() -> u32) -> u32 {
    let i = i as usize;
    if table.len() <= i {
        table.resize(i + 1, u32::MAX);
    }
    if table[i] == u32::MAX {
        table[i] = ours();
    }
    table[i]
}

/// Node ids numbered as [`Numbered`] does, through a direct-mapped table
/// of recent ones in front (an id's first word picks its way; ids are
/// random): a sender or gossip entry met before costs one 40-byte
/// compare, not a hash probe (the reading thread numbers about five ids
/// a message).
#[derive(Clone, Debug)]
pub struct NodeNumbers {
    numbered: Numbered<NodeId>,
    recent: Box<[(NodeId, u32); RECENT]>,
}

/// Ways of [`NodeNumbers`]' table (a power of two).
const RECENT: usize = 1024;
/// A way that holds no id yet.
const NO_ID: (NodeId, u32) = (NodeId([0; 40]), u32::MAX);

impl Default for NodeNumbers {
    fn default() -> Self {
        NodeNumbers { numbered: Numbered::default(), recent: Box::new([NO_ID; RECENT]) }
    }
}

impl NodeNumbers {
    pub fn number(&mut self, id: &NodeId) -> u32 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&id.0[..8]);
        // The top bits of the first word, mixed: one of the RECENT ways.
        let way =
            (u64::from_ne_bytes(w).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT.trailing_zeros())) as usize;
        let entry = &mut self.recent[way];
        if entry.1 != u32::MAX && entry.0 == *id {
            return entry.1;
        }
        let n = self.numbered.number(id);
        *entry = (*id, n);
        n
    }

    pub fn len(&self) -> usize {
        self.numbered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbered.is_empty()
    }

    /// The ids numbered `from` and after, in number order.
    pub fn since(&self, from: usize) -> &[NodeId] {
        self.numbered.since(from)
    }

    pub fn clear(&mut self) {
        self.numbered.clear();
        self.recent.fill(NO_ID);
    }
}

/// Per node number, the number of the address last gossiped for it: most
/// gossip entries repeat it, so it is compared, not hashed.
#[derive(Clone, Debug, Default)]
pub struct LastAddr(Vec<u32>);

impl LastAddr {
    /// Node number `n`'s last address's slot (`u32::MAX`: none yet).
    fn last(&mut self, n: u32) -> &mut u32 {
        let i = n as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, u32::MAX);
        }
        &mut self.0[i]
    }

    /// A gossip entry's (node, address) numbers, numbering them when new.
    pub fn entry(
        &mut self,
        nodes: &mut Numbered<NodeId>,
        addrs: &mut Numbered<NodeAddr>,
        node: &NodeId,
        addr: &NodeAddr,
    ) -> (u32, u32) {
        let n = nodes.number(node);
        (n, self.addr_of(n, addrs, addr))
    }

    /// [`LastAddr::entry`]'s address number, of a gossip entry of node
    /// number `n` as the wire has it: the address is compared with the
    /// node's last one as bytes, and made into a [`NodeAddr`] only when it
    /// differs.
    pub fn addr_wire(&mut self, n: u32, addrs: &mut Numbered<NodeAddr>, ip: &[u8], ports: [u16; 3]) -> u32 {
        let last = self.last(n);
        let same = *last != u32::MAX && {
            let a = addrs.of(*last);
            [a.port, a.cport, a.pport] == ports && a.ip.bytes() == ip && IpText::is_verbatim(ip)
        };
        if !same {
            let [port, cport, pport] = ports;
            *last = addrs.number(&NodeAddr { ip: IpText::from_wire(ip), port, cport, pport });
        }
        *last
    }

    /// The number of `addr`, the address last seen for node number `n`
    /// (numbered when new).
    pub fn addr_of(&mut self, n: u32, addrs: &mut Numbered<NodeAddr>, addr: &NodeAddr) -> u32 {
        let last = self.last(n);
        if *last == u32::MAX || addrs.of(*last) != addr {
            *last = addrs.number(addr);
        }
        *last
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
            let n = nodes.number(node);
            let got = (n, wire.addr_wire(n, &mut addrs, ip, [*port, *cport, *pport]));
            let want = owned.entry(&mut n2, &mut a2, node, &addr);
            assert_eq!(got, want, "entry {k}");
            assert_eq!(*addrs.of(got.1), addr, "entry {k}");
        }
    }

    /// Entries numbered through a reading thread's numbers (which start
    /// over now and then) get the numbers they get without them, in the
    /// same order.
    #[test]
    fn wire_numbers_give_the_numbers_of_the_entries_themselves() {
        let ids: Vec<NodeId> = (0..7u8).map(|i| NodeId([b'a' + i; 40])).collect();
        let addr = |k: usize| NodeAddr {
            ip: format!("10.0.0.{}", k % 3).as_str().into(),
            port: 7000,
            cport: 17000 + (k % 5) as u16,
            pport: 0,
        };
        let (mut wired, mut plain) = (EntryNumbers::default(), EntryNumbers::default());
        let (mut wn, mut wa, mut pn, mut pa) =
            (Numbered::default(), Numbered::default(), Numbered::default(), Numbered::default());
        // The reading thread's side.
        let (mut rn, mut ra, mut rl) = (Numbered::default(), Numbered::default(), LastAddr::default());
        let mut source = WireSource { stream: 9, generation: 0 };
        let (mut got, mut want, mut wire) = (Vec::new(), Vec::new(), Vec::new());
        for m in 0..40usize {
            if m % 11 == 10 {
                (rn, ra, rl) = (Numbered::default(), Numbered::default(), LastAddr::default());
                source.generation += 1;
            }
            let gossip: Vec<Gossip> = (0..3)
                .map(|j| {
                    let k = (m * 5 + j * 3) % 13;
                    Gossip { node: ids[k % 7], addr: addr(k), flags: 0, ping_sent: 0, pong_received: 0 }
                })
                .collect();
            wire.clear();
            wire.extend(gossip.iter().map(|g| rl.entry(&mut rn, &mut ra, &g.node, &g.addr)));
            wired.number(&mut wn, &mut wa, &gossip, Some(WireNumbers { source, gossip: &wire }), &mut got);
            plain.number(&mut pn, &mut pa, &gossip, None, &mut want);
            assert_eq!(got, want, "message {m}");
        }
        assert_eq!((wn.since(0), wa.since(0)), (pn.since(0), pa.since(0)));
        assert!(source.generation >= 3 && wa.len() > 5);
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

    /// Ids numbered through the table of recent ones get the numbers a
    /// plain numbering gives, ids that share a way (more ids than ways)
    /// and a start over included.
    #[test]
    fn recent_ids_are_numbered_as_a_plain_numbering_does() {
        let (mut cached, mut plain) = (NodeNumbers::default(), Numbered::default());
        let id = |k: usize| {
            let mut b = [b'0'; 40];
            b[..8].copy_from_slice(&((k % 1500) as u64 * 0x0101).to_le_bytes());
            b[39] = b'a' + (k % 7) as u8;
            NodeId(b)
        };
        for k in 0..20_000 {
            if k == 12_345 {
                cached.clear();
                plain.clear();
            }
            let x = id(k * 7919 % 10_000);
            assert_eq!(cached.number(&x), plain.number(&x), "id {k}");
        }
        assert_eq!(cached.since(0), plain.since(0));
    }
}
