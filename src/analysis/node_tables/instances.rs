//! Server instances: a node id and the ports it sends as. Two servers
//! started from one `nodes.conf` (a cloned VM or image) claim one id; each
//! keeps its own table (its own address, links, PING and PONG times), so
//! tables are kept per instance. The bytes tell the instance: a message's
//! header carries its sender's data and bus ports; a message reaching a
//! node reaches the instance that sent on that connection, or (on a
//! connection it accepted) the one listening at the destination port.
//! A new instance of a known id starts from the table of the id's
//! latest instance (the copied `nodes.conf`), without its connections.

use super::table::NodeTable;
use crate::analysis::model::NodeId;
use crate::analysis::trackers::nodes::Sent;
use crate::events::BusMessage;
use rustc_hash::FxHashMap as HashMap;

/// One server instance of a node id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instance {
    pub node: NodeId,
    /// Data port, bus port (0 and 0 while no message of it was seen).
    pub port: u16,
    pub cport: u16,
}

impl Instance {
    /// The instance that sent `m` as `n` (Redis 3.0 headers carry no bus
    /// port: the data port + 10000).
    pub fn of_sender(n: NodeId, m: &BusMessage) -> Instance {
        let cport = if m.ver == 0 { m.announced.port.wrapping_add(10000) } else { m.announced.cport };
        Instance { node: n, port: m.announced.port, cport }
    }

    /// A node that received before it sent anything: ports unknown.
    fn unresolved(n: NodeId) -> Instance {
        Instance { node: n, port: 0, cport: 0 }
    }

    fn resolved(&self) -> bool {
        self.port != 0 || self.cport != 0
    }
}

/// Which instance sent on which connection, and each id's instances.
#[derive(Clone, Debug, Default)]
pub struct Instances {
    /// (capture, connection, sent by the opener) → the instance.
    sides: HashMap<(usize, u64, bool), Instance>,
    /// Each id's instances, in the order first seen; the last one sent
    /// most recently.
    of: HashMap<NodeId, Vec<Instance>>,
    latest: HashMap<NodeId, Instance>,
}

impl Instances {
    /// The instance sending `m` on `on` (recorded as its side of the
    /// connection), and its table: a new instance takes over the table
    /// kept while its ports were unknown, or starts from a copy of the
    /// id's latest instance's table (its `nodes.conf`).
    pub fn sender<'t>(
        &mut self,
        viewers: &'t mut HashMap<Instance, NodeTable>,
        on: &Sent<'_>,
        m: &BusMessage,
    ) -> &'t mut NodeTable {
        let i = Instance::of_sender(on.sender, m);
        self.sides.insert((on.link.capture, on.link.conn_id, on.is_opener), i);
        let known = self.of.entry(i.node).or_default();
        if !known.contains(&i) {
            let unresolved = Instance::unresolved(i.node);
            let start = match viewers.remove(&unresolved) {
                Some(t) => t,
                None => self
                    .latest
                    .get(&i.node)
                    .and_then(|l| viewers.get(l))
                    .map(|t| t.copied(on.ts.div_euclid(1000)))
                    .unwrap_or_default(),
            };
            viewers.insert(i, start);
            known.push(i);
        }
        self.latest.insert(i.node, i);
        viewers.entry(i).or_default()
    }

    /// The instance of `r` that `on` (a message to `r`) reached: the one
    /// that sent on that connection, else on a connection `r` accepted
    /// the one listening at its destination port, else `r`'s latest.
    pub fn receiver(&self, on: &Sent<'_>, r: NodeId) -> Instance {
        if let Some(i) = self.sides.get(&(on.link.capture, on.link.conn_id, !on.is_opener)) {
            return *i;
        }
        let mine = self.of.get(&r).map(Vec::as_slice).unwrap_or_default();
        let listening = on.is_opener.then(|| mine.iter().find(|i| i.cport == on.link.dst.port)).flatten();
        listening.or_else(|| self.latest.get(&r)).copied().unwrap_or_else(|| Instance::unresolved(r))
    }

    /// The instance of `n` serving `port` (data or bus port), or with no
    /// port its latest; the ports-unknown one when it never sent.
    pub fn select(&self, n: &NodeId, port: Option<u16>) -> Option<Instance> {
        let mine = self.of.get(n).map(Vec::as_slice).unwrap_or_default();
        match port {
            Some(p) => mine.iter().find(|i| i.resolved() && (i.port == p || i.cport == p)).copied(),
            None => self.latest.get(n).copied().or(Some(Instance::unresolved(*n))),
        }
    }

    /// Every instance of `n` seen, in the order first seen.
    pub fn all(&self, n: &NodeId) -> &[Instance] {
        self.of.get(n).map(Vec::as_slice).unwrap_or_default()
    }
}
