//! Node identities: what each node's own headers said (flags, epochs, slots,
//! ports, hostname), the addresses it was seen at per vantage, the source IPs
//! of its outgoing connections, and the server generation its bytes reveal.

use crate::analysis::config::AnalysisConfig;
use crate::analysis::model::{AddressSeen, AddressSource, Evidence, Generation, NodeSummary, Role, SeenAddress};
use crate::clusterbus::NodeFlags;
use crate::events::{BusMessage, IpText, Link, NodeAddr, NodeId};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What the bytes revealed about the server generation (a set of hints).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenHints(u8);

impl GenHints {
    const VER0: u8 = 1;
    const EXT: u8 = 2;
    const SHARD_ID: u8 = 4;
    const VALKEY8: u8 = 8;
    const VALKEY81: u8 = 16;
    const VALKEY90: u8 = 32;
    const PPORT: u8 = 64;
    /// Its gossip never names its receiver ([`Knowledge::skips_receivers`](super::knowledge::Knowledge::skips_receivers)).
    const SKIPS_RECEIVER: u8 = 128;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Hints in one message's header and extensions (Valkey flag bits
    /// 0x0800/0x1000/0x0400 and extension types ≥ 6 per the protocol notes
    /// §4.2–§4.3).
    fn of(m: &BusMessage) -> GenHints {
        let mut h = 0;
        for (cond, bit) in [
            (m.ver == 0, Self::VER0),
            (!m.ext_types.is_empty(), Self::EXT),
            (m.shard_id.is_some(), Self::SHARD_ID),
            (m.flags & 0x0800 != 0, Self::VALKEY8),
            (m.flags & 0x1000 != 0, Self::VALKEY81),
            // 0x0400 in the sender's own header: a real Valkey 9.0.0 sends it
            // (samples/valkey-9.0-loopback-merge), 8.0.1 does not; the spec
            // (§2, observed on 9.1.2) says 9.1: the bytes win.
            (m.flags & 0x0400 != 0 || m.ext_types.iter().any(|&t| t >= 6), Self::VALKEY90),
            (m.announced.pport != 0, Self::PPORT),
        ] {
            if cond {
                h |= bit;
            }
        }
        GenHints(h)
    }

    /// Valkey 8.0+ (light headers; adds nodes from a MEET's gossip).
    pub fn valkey8(self) -> bool {
        self.has(Self::VALKEY8)
    }

    pub fn generation(self) -> Generation {
        if self.has(Self::VER0) {
            Generation::Redis30
        } else if self.has(Self::VALKEY90) {
            Generation::Valkey90
        } else if self.has(Self::VALKEY81) {
            Generation::Valkey81
        } else if self.has(Self::VALKEY8) {
            Generation::Valkey80
        } else if self.has(Self::SHARD_ID) && self.has(Self::SKIPS_RECEIVER) {
            Generation::Redis74
        } else if self.has(Self::SHARD_ID) {
            Generation::Redis72
        } else if self.has(Self::EXT) {
            Generation::Redis70
        } else if self.has(Self::PPORT) {
            Generation::Redis622
        } else {
            Generation::Redis40
        }
    }
}

/// The role a node's flags state.
pub fn role_of(flags: u16) -> Role {
    if flags & NodeFlags::SLAVE != 0 {
        Role::Replica
    } else if flags & NodeFlags::MASTER != 0 {
        Role::Master
    } else {
        Role::Unknown
    }
}

/// A node's address as it states itself or answers at (no TLS port: the
/// analysis tells addresses apart by IP, port and bus port).
pub fn node_addr(ip: impl Into<IpText>, port: u16, cport: u16) -> NodeAddr {
    NodeAddr { ip: ip.into(), port, cport, pport: 0 }
}

/// What one node's headers said.
#[derive(Clone, Debug, Default)]
pub struct NodeState {
    pub first_seen: i64,
    pub last_seen: i64,
    pub flags_first: u16,
    pub flags_last: u16,
    pub hints: GenHints,
    pub replicaof: Option<NodeId>,
    pub slots_first: Option<Vec<(u16, u16)>>,
    pub slots_last: Vec<(u16, u16)>,
    pub cfg_first: Option<u64>,
    pub cfg_last: u64,
    pub hostname: Option<String>,
    /// Last header said the cluster state is OK.
    pub state_ok: bool,
    /// Some header said the cluster state is OK.
    pub ever_ok: bool,
    pub port: u16,
    pub cport: u16,
    /// (address, how, vantage) → (first ts, frame).
    pub addresses: BTreeMap<(SeenAddress, AddressSource, String), (i64, u64)>,
    /// IPs the node answered at (any vantage).
    pub listening: BTreeSet<String>,
    /// (capture, ip, port, opener?) endpoints already recorded: strings are
    /// built only the first time one is seen.
    seen_eps: HashSet<(usize, IpAddr, u16, bool)>,
    last_announced: IpText,
    pub seen: bool,
}

impl NodeState {
    /// A node serving slots of its own whose cluster state is OK.
    pub fn is_healthy_master(&self) -> bool {
        !self.slots_last.is_empty() && self.replicaof.is_none() && self.state_ok
    }

    /// The address the node states or answers at (the first by text; IP `?`
    /// when neither was seen).
    pub fn own_address(&self) -> NodeAddr {
        let first = self.addresses.keys().find_map(|(a, how, _)| match (a, how) {
            (SeenAddress::Node(a), AddressSource::Announced | AddressSource::Listening) => Some(a),
            _ => None,
        });
        first.cloned().unwrap_or_else(|| node_addr("?", self.port, self.cport))
    }
}

/// The header facts a message replaced (for epoch bumps and debouncing).
#[derive(Clone, Copy, Debug)]
pub struct PrevHeader {
    pub config_epoch: u64,
    /// A header of this node had been seen before.
    pub seen: bool,
}

/// Source IPs of a node's outgoing connections: (vantage, IP) → first
/// (ts, evidence).
pub type SourceIps = BTreeMap<(String, String), (i64, Evidence)>;

/// Every node seen, by id.
#[derive(Clone, Debug, Default)]
pub struct Nodes {
    /// Hashed (asked about several times per message); in id order only
    /// for [`Nodes::ids`] and [`Nodes::summaries`].
    map: HashMap<NodeId, NodeState>,
    /// node → (vantage, source IP) → first (ts, evidence).
    sources: BTreeMap<NodeId, SourceIps>,
}

/// One message as the node that sent it: when and where it was seen, and
/// which side of the connection the sender is (what the nodes, the
/// connections and the node tables need of every message).
pub struct Sent<'a> {
    pub ts: i64,
    pub frame: u64,
    pub link: &'a Link,
    pub sender: NodeId,
    /// The sender opened this connection.
    pub is_opener: bool,
}

impl Nodes {
    pub fn get(&self, id: &NodeId) -> Option<&NodeState> {
        self.map.get(id)
    }

    /// Test-only: `id`'s headers said its cluster was OK.
    #[cfg(test)]
    pub fn said_ok(&mut self, id: NodeId) {
        let n = self.map.entry(id).or_default();
        (n.state_ok, n.ever_ok) = (true, true);
    }

    /// Every node seen, in id order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        let mut ids: Vec<NodeId> = self.map.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
    }

    pub fn sources(&self) -> &BTreeMap<NodeId, SourceIps> {
        &self.sources
    }

    /// Records the sender's header; returns what it replaced.
    pub fn observe(&mut self, cfg: &AnalysisConfig, at: &Sent<'_>, m: &BusMessage) -> PrevHeader {
        let n = self.map.entry(at.sender).or_default();
        if !n.seen {
            n.seen = true;
            n.first_seen = at.ts;
        }
        n.last_seen = n.last_seen.max(at.ts);
        if m.head_only {
            // Only the first bytes of the header were captured: the sender
            // and its epochs are facts, its flags, slots and role are not.
            let prev = PrevHeader { config_epoch: n.cfg_last, seen: n.flags_last != 0 };
            n.cfg_last = m.config_epoch;
            if m.announced.port != 0 {
                n.port = m.announced.port;
            }
            // The answering side of a bus connection speaks from its bus
            // port; V0 derives the base port from it (cport = port + 10000).
            if !at.is_opener {
                n.cport = at.link.src.port;
                if m.ver == 0 {
                    n.port = at.link.src.port.saturating_sub(10000);
                }
            }
            seen_at(n, &mut self.sources, cfg, at, m);
            return prev;
        }
        n.port = m.announced.port;
        n.cport = m.announced.cport;
        if n.cfg_first.is_none() {
            n.cfg_first = Some(m.config_epoch);
            n.flags_first = m.flags;
            n.slots_first = Some(m.slots.clone());
        }
        let prev = PrevHeader { config_epoch: n.cfg_last, seen: n.flags_last != 0 };
        n.flags_last = m.flags;
        n.replicaof = m.replicaof;
        if n.slots_last != m.slots {
            n.slots_last = m.slots.clone();
        }
        n.cfg_last = m.config_epoch;
        n.state_ok = m.state == 0;
        n.ever_ok |= n.state_ok;
        if m.hostname.is_some() {
            n.hostname = m.hostname.clone();
        }
        n.hints.0 |= GenHints::of(m).0;
        seen_at(n, &mut self.sources, cfg, at, m);
        prev
    }

    /// `n`'s gossip never names the node it goes to (Redis 7.4+).
    pub fn skips_receiver(&mut self, n: &NodeId) {
        if let Some(s) = self.map.get_mut(n) {
            s.hints.0 |= GenHints::SKIPS_RECEIVER;
        }
    }

    /// One summary per node, labelled with its starting cluster.
    pub fn summaries(&self, label_of: &BTreeMap<NodeId, String>) -> Vec<NodeSummary> {
        let mut all: Vec<(&NodeId, &NodeState)> = self.map.iter().collect();
        all.sort_unstable_by_key(|(id, _)| **id);
        all.into_iter().map(|(id, s)| summary(id, s, label_of.get(id).cloned())).collect()
    }
}

fn summary(id: &NodeId, s: &NodeState, cluster: Option<String>) -> NodeSummary {
    let mut addresses: Vec<AddressSeen> = s
        .addresses
        .iter()
        .map(|((addr, how, v), (ts, f))| AddressSeen {
            address: addr.clone(),
            how: *how,
            vantage: v.clone(),
            first_ts_us: *ts,
            frame: *f,
        })
        .collect();
    addresses.sort_by(|x, y| (x.first_ts_us, &x.address).cmp(&(y.first_ts_us, &y.address)));
    let stated = |how| {
        addresses.iter().filter(|x| x.how == how).find_map(|x| match &x.address {
            SeenAddress::Node(a) => Some(a.clone()),
            SeenAddress::Ip(_) => None,
        })
    };
    let best = stated(AddressSource::Announced)
        .or_else(|| stated(AddressSource::Listening))
        .unwrap_or_else(|| node_addr("?", s.port, s.cport));
    NodeSummary {
        id: *id,
        short: id.short().into_owned(),
        best_address: best,
        addresses,
        generation: s.hints.generation(),
        first_seen_us: s.first_seen,
        last_seen_us: s.last_seen,
        role_first: role_of(s.flags_first),
        role_last: role_of(s.flags_last),
        roles: vec![role_of(s.flags_first)],
        failed_us: None,
        replicaof_last: s.replicaof,
        slots_first: serving(s.flags_first, s.slots_first.as_deref().unwrap_or_default()),
        slots_last: serving(s.flags_last, &s.slots_last),
        config_epoch_first: s.cfg_first.unwrap_or(0),
        config_epoch_last: s.cfg_last,
        hostname: s.hostname.clone(),
        cluster,
    }
}

/// The slots a header says its sender serves: a replica's header carries
/// its master's.
fn serving(flags: u16, slots: &[(u16, u16)]) -> Vec<(u16, u16)> {
    if role_of(flags) == Role::Replica { Vec::new() } else { slots.to_vec() }
}

/// The addresses the sender of `m` was seen at (TCP source, listening
/// port, announced address), the first time each.
fn seen_at(
    n: &mut NodeState,
    sources: &mut BTreeMap<NodeId, SourceIps>,
    cfg: &AnalysisConfig,
    at: &Sent<'_>,
    m: &BusMessage,
) {
    let (s, capture) = (at.sender, at.link.capture);
    let src = at.link.src;
    let fresh_ep = n.seen_eps.insert((capture, src.ip, if at.is_opener { 0 } else { src.port }, at.is_opener));
    let fresh_announced = !m.announced.ip.is_empty() && n.last_announced != m.announced.ip;
    if fresh_announced {
        n.last_announced = m.announced.ip.clone();
    }
    if !(fresh_ep || fresh_announced) {
        return;
    }
    let vantage = cfg.vantage(capture);
    let first = (at.ts, at.frame);
    if fresh_announced {
        let a = SeenAddress::Node(node_addr(m.announced.ip.clone(), m.announced.port, m.announced.cport));
        n.addresses.entry((a, AddressSource::Announced, vantage.clone())).or_insert(first);
    }
    let ip = IpText::from(src.ip);
    if fresh_ep && at.is_opener {
        n.addresses.entry((SeenAddress::Ip(ip.clone()), AddressSource::Source, vantage.clone())).or_insert(first);
        let evd = cfg.evidence(capture, at.frame);
        sources.entry(s).or_default().entry((vantage, ip.to_string())).or_insert((at.ts, evd));
    } else if fresh_ep {
        // A V0 header cut before its port: the port is the bus port - 10000.
        let port = if m.head_only && m.ver == 0 { src.port.saturating_sub(10000) } else { m.announced.port };
        let a = SeenAddress::Node(node_addr(ip.clone(), port, src.port));
        n.addresses.entry((a, AddressSource::Listening, vantage)).or_insert(first);
        n.listening.insert(ip.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_prefers_the_most_specific_hint() {
        assert_eq!(GenHints::default().generation(), Generation::Redis40);
        assert_eq!(GenHints(GenHints::EXT | GenHints::PPORT).generation(), Generation::Redis70);
        assert_eq!(GenHints(GenHints::EXT | GenHints::VALKEY8 | GenHints::VALKEY81).generation(), Generation::Valkey81);
        assert_eq!(GenHints(GenHints::VER0 | GenHints::EXT).generation(), Generation::Redis30);
        let skips = GenHints::EXT | GenHints::SHARD_ID | GenHints::SKIPS_RECEIVER;
        assert_eq!(GenHints(skips).generation(), Generation::Redis74);
        assert_eq!(GenHints(skips | GenHints::VALKEY8).generation(), Generation::Valkey80);
    }

    #[test]
    fn roles_from_flags() {
        assert_eq!(role_of(NodeFlags::MASTER | NodeFlags::MYSELF), Role::Master);
        assert_eq!(role_of(NodeFlags::SLAVE), Role::Replica);
        assert_eq!(role_of(0), Role::Unknown);
    }

    #[test]
    fn addresses_are_listed_in_the_order_of_their_text() {
        // "10.0.0.10:…" before "10.0.0.1:…" (':' > '0'), as the text sorts.
        let a = |ip: &str| SeenAddress::Node(node_addr(ip, 7000, 17000));
        let mut v = [a("10.0.0.1"), SeenAddress::Ip("10.0.0.2".into()), a("10.0.0.10"), a("::1")];
        v.sort();
        let text: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["10.0.0.10:7000@17000", "10.0.0.1:7000@17000", "10.0.0.2", "[::1]:7000@17000"]);
    }
}
