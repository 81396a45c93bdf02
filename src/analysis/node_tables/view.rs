//! "What node X believed at time T", as X's `CLUSTER NODES` would print it: one
//! line per node X knows, every field read from X's table as the capture shows
//! it (`table`), in the format of X's server generation. Falls back to the
//! nodes' own headers (and X's gossip) for what X's table never showed.

use super::table::{NodeTable, PRINTED_FLAGS};
use super::updates::NodeTables;
use crate::analysis::model::{Generation, Via};
use crate::analysis::model::{NodeId, SlotRanges, slots_as_text};
use crate::analysis::trackers::introductions::Introductions;
use crate::analysis::trackers::knowledge::Knowledge;
use crate::analysis::trackers::nodes::Nodes;
use crate::clusterbus::NodeFlags;
use serde::Serialize;

/// One line of a node's view, in `CLUSTER NODES` order of fields.
#[derive(Clone, Debug, Serialize)]
pub struct ViewLine {
    /// The node id (40 `?` for a handshake node: its random name never
    /// travels on the wire).
    pub id: String,
    /// `ip:port@cport[,hostname]` (`ip:port` on Redis 3.x), as printed.
    pub address: String,
    pub flags: String,
    pub master: String,
    /// ms since the epoch, 0 when none is pending.
    pub ping_sent_ms: i64,
    pub pong_recv_ms: i64,
    pub config_epoch: u64,
    /// `connected` or `disconnected`.
    pub link: &'static str,
    /// Slot ranges (serialised comma separated, `-` when none).
    #[serde(serialize_with = "slots_as_text")]
    pub slots: SlotRanges,
}

/// What one node believed at one time.
#[derive(Clone, Debug, Serialize)]
pub struct NodesView {
    pub node: NodeId,
    pub at_us: i64,
    pub lines: Vec<ViewLine>,
}

/// The rooms a view is read from.
pub struct ViewSources<'a> {
    pub nodes: &'a Nodes,
    pub knowledge: &'a Knowledge,
    pub intros: &'a Introductions,
    pub tables: &'a NodeTables,
}

/// How a server generation prints `CLUSTER NODES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dialect {
    /// `ip:port` (3.x) rather than `ip:port@cport`.
    no_cport: bool,
    /// A replica's configEpoch is its master's (6.0+); before, its own
    /// (the largest it ever sent, also as a master).
    master_epoch: bool,
}

impl Dialect {
    /// From the server version when given (`--server-version`), else from
    /// the bytes: Redis 4.0 to 6.2 look alike on the wire, taken as 6.x.
    fn of(generation: Generation, version: Option<(u32, u32)>) -> Dialect {
        match version {
            Some(v) => Dialect { no_cport: v < (4, 0), master_epoch: v >= (6, 0) },
            None => {
                Dialect { no_cport: generation == Generation::Redis30, master_epoch: generation != Generation::Redis30 }
            }
        }
    }
}

/// `ip:port@cport[,hostname]` as the generation prints it (no brackets
/// around IPv6: the servers print the bare address).
fn coordinates(d: Dialect, ip: &str, port: u16, cport: u16, hostname: Option<&str>) -> String {
    if d.no_cport {
        return format!("{ip}:{port}");
    }
    match hostname {
        Some(h) if !h.is_empty() => format!("{ip}:{port}@{cport},{h}"),
        _ => format!("{ip}:{port}@{cport}"),
    }
}

/// Slots of `n`: the viewer's slot table, else `n`'s own latest claim.
fn slots_of(nodes: &Nodes, table: Option<&NodeTable>, n: &NodeId) -> SlotRanges {
    if let Some(s) = table.and_then(|t| t.slots_of(n)) {
        return s;
    }
    match nodes.get(n) {
        Some(s) if s.flags_last & NodeFlags::SLAVE == 0 => s.slots_last.clone(),
        _ => SlotRanges::new(),
    }
}

/// The view of `node` (its instance serving `port`, or its latest) from
/// the state reached so far; `None` when no such instance was seen.
pub fn view(
    src: &ViewSources<'_>,
    node: &NodeId,
    port: Option<u16>,
    at_us: i64,
    version: Option<(u32, u32)>,
) -> Option<NodesView> {
    let me = src.nodes.get(node)?;
    let generation = Dialect::of(me.hints.generation(), version);
    let at_ms = at_us.div_euclid(1000);
    let instance = src.tables.instance(node, port)?;
    let table = src.tables.table(&instance);
    let entry = |n: &NodeId| table.and_then(|t| t.get(n));
    // A replica prints its master's configEpoch (6.0+; 3.x–5.0 the largest
    // the replica sent, the same value unless the master's changed).
    let epoch_of = |flags: u16, master: Option<NodeId>, own: u64| match master {
        Some(m) if flags & NodeFlags::SLAVE != 0 && generation.master_epoch => {
            entry(&m).map_or(own, |e| e.config_epoch)
        }
        _ => own,
    };
    let own = me.own_address();
    let my_ip = table.and_then(NodeTable::my_ip).map_or_else(|| own.ip.to_string(), str::to_string);
    let (my_port, my_cport) = if instance.port != 0 { (instance.port, instance.cport) } else { (me.port, own.cport) };
    let my_flags = entry(node).map_or(me.flags_last, |e| e.flags) & PRINTED_FLAGS | NodeFlags::MYSELF;
    let my_master = entry(node).and_then(|e| e.master).or(me.replicaof);
    let my_epoch = match entry(node) {
        Some(e) if !generation.master_epoch && my_flags & NodeFlags::SLAVE != 0 => e.own_epoch,
        Some(e) => e.config_epoch,
        None => me.cfg_last,
    };
    let mut lines = vec![ViewLine {
        id: node.as_str().into_owned(),
        address: coordinates(generation, &my_ip, my_port, my_cport, me.hostname.as_deref()),
        flags: NodeFlags(my_flags).names(),
        master: my_master.map_or("-".into(), |m| m.as_str().into_owned()),
        ping_sent_ms: 0,
        pong_recv_ms: entry(node).map_or(0, |e| e.pong_recv_ms),
        config_epoch: epoch_of(my_flags, my_master, my_epoch),
        link: "connected",
        slots: slots_of(src.nodes, table, node),
    }];
    for id in src.intros.known_by(node) {
        // Forgotten (CLUSTER FORGET) and not learned again; or learned in
        // the capture in a way its table follows (a MEET, gossip), and
        // not in the table: its server's rules did not keep it (a gossiped
        // address handshaken and answered by another node).
        let modelled =
            matches!(src.intros.via(*node, id), Some(Via::Meet | Via::Gossip | Via::MeetGossip | Via::OperatorMeet));
        if id == *node || (entry(&id).is_none() && table.is_some_and(|t| t.forgot(&id) || modelled)) {
            continue;
        }
        let header = src.nodes.get(&id);
        let line = match entry(&id) {
            Some(e) => {
                let hostname = e.hostname.as_deref().or(header.and_then(|h| h.hostname.as_deref()));
                let address = match &e.addr {
                    Some(a) => coordinates(generation, &a.ip, a.port, a.cport, hostname),
                    None => "?".into(),
                };
                let noaddr = e.flags & NodeFlags::NOADDR != 0;
                let pfail = if src.tables.timed_out(e, at_ms) { NodeFlags::PFAIL } else { 0 };
                let connected = table.and_then(|t| t.connected(&id)).unwrap_or(!noaddr);
                ViewLine {
                    id: id.as_str().into_owned(),
                    address,
                    flags: NodeFlags((e.flags | pfail) & PRINTED_FLAGS).names(),
                    master: e.master.map_or("-".into(), |m| m.as_str().into_owned()),
                    ping_sent_ms: e.ping_sent_ms,
                    pong_recv_ms: e.pong_recv_ms,
                    config_epoch: epoch_of(e.flags, e.master, e.config_epoch),
                    link: if connected { "connected" } else { "disconnected" },
                    slots: slots_of(src.nodes, table, &id),
                }
            }
            None => {
                // Nothing in the table: the node's own header and what the
                // viewer gossiped.
                let (address, gflags) = match src.knowledge.peer(node, &id) {
                    Some((a, f)) => (coordinates(generation, &a.ip, a.port, a.cport, None), f),
                    None => ("?".into(), 0),
                };
                let hflags = header.map_or(0, |h| h.flags_last);
                let f = if gflags != 0 { gflags } else { hflags };
                ViewLine {
                    id: id.as_str().into_owned(),
                    address,
                    flags: NodeFlags(f & PRINTED_FLAGS & !NodeFlags::MYSELF).names(),
                    master: header.and_then(|h| h.replicaof).map_or("-".into(), |m| m.as_str().into_owned()),
                    ping_sent_ms: 0,
                    pong_recv_ms: 0,
                    config_epoch: header.map_or(0, |h| h.cfg_last),
                    link: "connected",
                    slots: slots_of(src.nodes, table, &id),
                }
            }
        };
        lines.push(line);
    }
    for (ip, cport) in table.map(NodeTable::handshakes).unwrap_or_default() {
        lines.push(ViewLine {
            id: "?".repeat(40),
            address: coordinates(generation, &ip, cport.saturating_sub(10000), cport, None),
            flags: "handshake".into(),
            master: "-".into(),
            ping_sent_ms: 0,
            pong_recv_ms: 0,
            config_epoch: 0,
            link: "connected",
            slots: SlotRanges::new(),
        });
    }
    Some(NodesView { node: *node, at_us, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_follow_the_generation() {
        let v3 = Dialect::of(Generation::Redis30, None);
        let v4 = Dialect::of(Generation::Redis40, Some((4, 0)));
        assert_eq!(coordinates(v3, "10.0.0.1", 7000, 17000, None), "10.0.0.1:7000");
        assert_eq!(coordinates(v4, "10.0.0.1", 7000, 17000, None), "10.0.0.1:7000@17000");
        assert_eq!(coordinates(v4, "::1", 7000, 17000, Some("h1")), "::1:7000@17000,h1");
        assert_eq!(coordinates(v4, "", 0, 0, None), ":0@0");
        assert!(!v4.master_epoch && Dialect::of(Generation::Redis40, None).master_epoch);
        assert_eq!(Dialect::of(Generation::Redis40, Some((3, 2))), v3);
    }
}
