//! What identifies one message whichever capture saw it: its header
//! fields and its gossip entries, addresses included (PING/PONG gossip
//! carries timestamps and a random choice of nodes, so equal fingerprints
//! mean the same message). One definition for the borrowed message (the
//! first pass over the files) and the owned one (the reading threads and
//! the analysis); a test checks they agree on every sample message.

use super::node::{IpText, NodeAddr, NodeId};
use crate::clusterbus::Message;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};

/// The fingerprint being made: header fields first, then each gossip entry.
pub(super) struct Fingerprint(FxHasher);

impl Fingerprint {
    pub(super) fn header(
        sender: Option<NodeId>,
        msg_type: u16,
        totlen: u32,
        epochs: (u64, u64),
        repl_offset: u64,
    ) -> Self {
        let mut h = FxHasher::default();
        sender.hash(&mut h);
        msg_type.hash(&mut h);
        totlen.hash(&mut h);
        epochs.0.hash(&mut h);
        epochs.1.hash(&mut h);
        repl_offset.hash(&mut h);
        Fingerprint(h)
    }

    /// One gossip entry: the node, its address, flags and times.
    pub(super) fn gossip(&mut self, node: NodeId, addr: &NodeAddr, flags: u16, ping_sent: u32, pong_received: u32) {
        let h = &mut self.0;
        node.hash(h);
        let ip = addr.ip.bytes();
        h.write_usize(ip.len());
        h.write(ip);
        let ports = [addr.port, addr.cport, addr.pport, flags].map(u64::from);
        h.write_u64(ports[0] << 48 | ports[1] << 32 | ports[2] << 16 | ports[3]);
        h.write_u64(u64::from(ping_sent) << 32 | u64::from(pong_received));
    }

    pub(super) fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// The fingerprint of a borrowed message: the same number as its owned
/// form's [`BusMessage::fingerprint`](super::BusMessage::fingerprint).
pub fn fingerprint(msg: &Message<'_>) -> u64 {
    let mut f = match &msg.header {
        Some(h) => Fingerprint::header(
            Some(NodeId::from_name(&h.sender)),
            msg.msg_type.0,
            msg.totlen,
            (h.current_epoch, h.config_epoch),
            h.offset,
        ),
        None => Fingerprint::header(None, msg.msg_type.0, msg.totlen, (0, 0), 0),
    };
    for g in msg.gossip() {
        let addr = NodeAddr { ip: IpText::from_wire(g.ip), port: g.port, cport: g.cport, pport: g.pport };
        f.gossip(NodeId::from_name(&g.node), &addr, g.flags.0, g.ping_sent, g.pong_received);
    }
    f.finish()
}
