//! [`BusMessage`]: one cluster-bus message, owned and compact (node ids
//! and addresses as fixed-size values, slots as ranges), with its
//! [`Gossip`] entries; and the fingerprint made from its fields.

use super::fingerprint::Fingerprint;
use super::node::{NodeAddr, NodeId};
use crate::clusterbus::MessageType;
use serde::Serialize;

/// Inclusive slot ranges, ascending.
pub type SlotRanges = Vec<(u16, u16)>;

/// A gossip entry, owned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gossip {
    pub node: NodeId,
    pub addr: NodeAddr,
    pub flags: u16,
    pub ping_sent: u32,
    pub pong_received: u32,
}

/// A cluster-bus message, owned and compact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BusMessage {
    #[serde(serialize_with = "type_name")]
    pub msg_type: MessageType,
    pub light: bool,
    /// wire: ver (0 for Redis 3.x, 1 otherwise)
    pub ver: u16,
    pub sender: Option<NodeId>,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub repl_offset: u64,
    /// Sender's own flags.
    pub flags: u16,
    /// Cluster state in the sender's view (0 ok, 1 fail).
    pub state: u8,
    pub mflags: u8,
    /// Slots claimed (the sender's, or its master's when a replica).
    pub slots: SlotRanges,
    pub replicaof: Option<NodeId>,
    /// Address the sender announces: `myip` (if set), ports from the header.
    pub announced: NodeAddr,
    pub gossip: Vec<Gossip>,
    pub hostname: Option<String>,
    pub shard_id: Option<NodeId>,
    pub forgotten: Vec<(NodeId, u64)>,
    /// Extension type numbers present, in order.
    pub ext_types: Vec<u16>,
    /// FAIL: the node declared failed.
    pub fail_node: Option<NodeId>,
    /// UPDATE: owner, its configEpoch, its slots.
    pub update: Option<(NodeId, u64, SlotRanges)>,
    pub totlen: u32,
    /// Only a prefix was captured (header and complete gossip entries).
    pub cut: bool,
    /// [`BusMessage::fingerprint`], when the reading thread made it
    /// (several captures: it is asked for every message then).
    #[serde(skip)]
    pub fingerprint: Option<u64>,
}

impl BusMessage {
    /// A message with nothing in it (to be filled by
    /// [`fill_owned_message`](super::fill_owned_message)).
    pub fn empty() -> BusMessage {
        BusMessage {
            msg_type: MessageType(0),
            light: false,
            ver: 1,
            sender: None,
            current_epoch: 0,
            config_epoch: 0,
            repl_offset: 0,
            flags: 0,
            state: 0,
            mflags: 0,
            slots: Vec::new(),
            replicaof: None,
            announced: NodeAddr::default(),
            gossip: Vec::new(),
            hostname: None,
            shard_id: None,
            forgotten: Vec::new(),
            ext_types: Vec::new(),
            fail_node: None,
            update: None,
            totlen: 0,
            cut: false,
            fingerprint: None,
        }
    }

    /// This message's fingerprint: the one the reading thread made, or
    /// made now.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint.unwrap_or_else(|| self.hash_content())
    }

    /// The fingerprint made from the fields.
    pub(crate) fn hash_content(&self) -> u64 {
        let epochs = (self.current_epoch, self.config_epoch);
        let mut f = Fingerprint::header(self.sender, self.msg_type.0, self.totlen, epochs, self.repl_offset);
        for g in &self.gossip {
            f.gossip(g.node, &g.addr, g.flags, g.ping_sent, g.pong_received);
        }
        f.finish()
    }
}

fn type_name<S: serde::Serializer>(t: &MessageType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}
