//! "What node X believed at time T", in the `CLUSTER NODES` order of
//! fields: X's own header, the peers as X gossips them, the nodes X knows.
//! Imports: the rooms it reads (`gossip`, `introductions`, `nodes`),
//! `model`, `clusterbus` flags.

use super::gossip::Knowledge;
use super::introductions::Introductions;
use super::model::NodeId;
use super::nodes::Nodes;
use crate::clusterbus::NodeFlags;
use crate::clusterbus::types::format_slot_ranges;
use serde::Serialize;

/// One line of a node's view, in `CLUSTER NODES` order of fields.
#[derive(Clone, Debug, Serialize)]
pub struct ViewLine {
    pub id: NodeId,
    pub address: String,
    pub flags: String,
    pub master: String,
    pub config_epoch: u64,
    pub slots: String,
}

/// What one node believed at one time.
#[derive(Clone, Debug, Serialize)]
pub struct NodesView {
    pub node: NodeId,
    pub at_us: i64,
    pub lines: Vec<ViewLine>,
}

/// The rooms a view is read from.
pub(super) struct Sources<'a> {
    pub nodes: &'a Nodes,
    pub knowledge: &'a Knowledge,
    pub intros: &'a Introductions,
}

/// (slots, configEpoch, master, flags) from a node's latest header.
fn header_of(nodes: &Nodes, id: &NodeId) -> (String, u64, String, u16) {
    match nodes.get(id) {
        Some(s) => (
            if s.flags_last & NodeFlags::SLAVE != 0 { "-".into() } else { format_slot_ranges(&s.slots_last) },
            s.cfg_last,
            s.replicaof.map_or("-".into(), |r| r.as_str().into_owned()),
            s.flags_last,
        ),
        None => ("-".into(), 0, "-".into(), 0),
    }
}

/// The view of `node` from the state reached so far.
pub(super) fn view(src: &Sources<'_>, node: &NodeId, at_us: i64) -> Option<NodesView> {
    let me = src.nodes.get(node)?.own_address();
    let (slots, config_epoch, master, flags) = header_of(src.nodes, node);
    let mut lines = vec![ViewLine {
        id: *node,
        address: me,
        flags: NodeFlags(flags | NodeFlags::MYSELF).names(),
        master,
        config_epoch,
        slots,
    }];
    let peers = src.knowledge.peers(node);
    for id in src.intros.known_by(node) {
        if id == *node {
            continue;
        }
        let (addr, gflags) = match peers.and_then(|p| p.get(&id)) {
            Some((a, f, _)) => (a.to_string(), *f),
            None => ("?".into(), 0),
        };
        let (slots, config_epoch, master, hflags) = header_of(src.nodes, &id);
        let f = if gflags != 0 { gflags } else { hflags & !NodeFlags::MYSELF };
        lines.push(ViewLine {
            id,
            address: addr,
            flags: NodeFlags(f & !NodeFlags::MYSELF).names(),
            master,
            config_epoch,
            slots,
        });
    }
    Some(NodesView { node: *node, at_us, lines })
}
